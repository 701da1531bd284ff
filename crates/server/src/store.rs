//! The embedded database (SQLite): accounts as SCRAM salted credentials (never passwords)
//! and, for MUC, persistent room records.
//!
//! One connection behind a `std::sync::Mutex`: every call is a short, local query and the
//! lock is never held across an `.await`.

use std::path::Path;
use std::sync::Mutex;

use rookery_sasl::{ScramCredentials, ScramHash};
use rusqlite::{Connection, OptionalExtension, params};

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The data directory could not be created.
    #[error("cannot create data directory {0}: {1}")]
    Dir(String, std::io::Error),
    /// The password is unusable.
    #[error("invalid password: {0}")]
    Password(String),
    /// A poisoned lock (a previous panic while holding it).
    #[error("store lock poisoned")]
    Poisoned,
}

/// The account and room store.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

fn hash_col(hash: ScramHash) -> &'static str {
    match hash {
        ScramHash::Sha1 => "sha1",
        ScramHash::Sha256 => "sha256",
    }
}

impl Store {
    /// Opens (creating if needed) `<data_dir>/rookery.sqlite`.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Dir(data_dir.display().to_string(), e))?;
        let conn = Connection::open(data_dir.join("rookery.sqlite"))?;
        Self::init(conn)
    }

    /// An in-memory store (`storage = "memory"` and tests).
    pub fn in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store, StoreError> {
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             CREATE TABLE IF NOT EXISTS accounts (
                 host TEXT NOT NULL,
                 username TEXT NOT NULL,
                 hash TEXT NOT NULL,
                 salt BLOB NOT NULL,
                 iterations INTEGER NOT NULL,
                 stored_key BLOB NOT NULL,
                 server_key BLOB NOT NULL,
                 PRIMARY KEY (host, username, hash)
             );
             CREATE TABLE IF NOT EXISTS rooms (
                 service TEXT NOT NULL,
                 room TEXT NOT NULL,
                 record TEXT NOT NULL,
                 PRIMARY KEY (service, room)
             );",
        )?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    /// Creates or replaces an account, storing SCRAM-SHA-1 and SCRAM-SHA-256 credentials.
    pub fn set_password(
        &self,
        host: &str,
        username: &str,
        password: &str,
        iterations: u32,
    ) -> Result<(), StoreError> {
        let mut rows = Vec::new();
        for hash in [ScramHash::Sha1, ScramHash::Sha256] {
            let creds =
                ScramCredentials::derive(hash, password, &rookery_sasl::random_salt(), iterations)
                    .map_err(|e| StoreError::Password(e.to_string()))?;
            rows.push((hash, creds));
        }
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        for (hash, c) in rows {
            tx.execute(
                "INSERT OR REPLACE INTO accounts (host, username, hash, salt, iterations, stored_key, server_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![host, username, hash_col(hash), c.salt, c.iterations, c.stored_key, c.server_key],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Removes an account; returns whether it existed.
    pub fn remove(&self, host: &str, username: &str) -> Result<bool, StoreError> {
        let n = self.conn()?.execute(
            "DELETE FROM accounts WHERE host = ?1 AND username = ?2",
            params![host, username],
        )?;
        Ok(n > 0)
    }

    /// True when the account exists.
    pub fn exists(&self, host: &str, username: &str) -> Result<bool, StoreError> {
        let n: i64 = self.conn()?.query_row(
            "SELECT COUNT(*) FROM accounts WHERE host = ?1 AND username = ?2",
            params![host, username],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// The stored credentials for one hash.
    pub fn credentials(
        &self,
        host: &str,
        username: &str,
        hash: ScramHash,
    ) -> Result<Option<ScramCredentials>, StoreError> {
        let row = self
            .conn()?
            .query_row(
                "SELECT salt, iterations, stored_key, server_key FROM accounts
                 WHERE host = ?1 AND username = ?2 AND hash = ?3",
                params![host, username, hash_col(hash)],
                |r| {
                    Ok(ScramCredentials {
                        salt: r.get(0)?,
                        iterations: r.get(1)?,
                        stored_key: r.get(2)?,
                        server_key: r.get(3)?,
                    })
                },
            )
            .optional()?;
        Ok(row)
    }

    /// Saves a persistent room record (opaque text, owned by the MUC code).
    pub fn save_room(&self, service: &str, room: &str, record: &str) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT OR REPLACE INTO rooms (service, room, record) VALUES (?1, ?2, ?3)",
            params![service, room, record],
        )?;
        Ok(())
    }

    /// Forgets a room record.
    pub fn delete_room(&self, service: &str, room: &str) -> Result<(), StoreError> {
        self.conn()?.execute(
            "DELETE FROM rooms WHERE service = ?1 AND room = ?2",
            params![service, room],
        )?;
        Ok(())
    }

    /// Every stored room of a service, as `(room, record)`.
    pub fn rooms(&self, service: &str) -> Result<Vec<(String, String)>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare("SELECT room, record FROM rooms WHERE service = ?1")?;
        let rows = stmt
            .query_map(params![service], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_round_trip_without_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.set_password("localhost", "alice", "secret", 4096)
            .unwrap();
        assert!(s.exists("localhost", "alice").unwrap());
        let c = s
            .credentials("localhost", "alice", ScramHash::Sha256)
            .unwrap()
            .unwrap();
        assert!(c.verify_password(ScramHash::Sha256, "secret"));
        assert!(!c.verify_password(ScramHash::Sha256, "wrong"));
        let raw = std::fs::read(dir.path().join("rookery.sqlite")).unwrap();
        assert!(!raw.windows(6).any(|w| w == b"secret"));
        assert!(s.remove("localhost", "alice").unwrap());
        assert!(!s.exists("localhost", "alice").unwrap());
    }
}
