//! Command-line interface of `rookery-bench`: global target options and one subcommand
//! per scenario.

use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::BenchError;
use crate::report::Report;
use crate::scenario::{churn, connect, idle, rooms};
use crate::target::{Auth, Target, Transport};

/// XMPP load generator: measures any XMPP server on loopback.
#[derive(Debug, Parser)]
#[command(name = "rookery-bench", version)]
pub struct Cli {
    /// Loopback address of the server's c2s listener.
    #[arg(long, default_value = "127.0.0.1", global = true)]
    pub host: String,
    /// c2s port.
    #[arg(long, default_value_t = 5222, global = true)]
    pub port: u16,
    /// XMPP domain to log in to.
    #[arg(long, default_value = "localhost", global = true)]
    pub domain: String,
    /// MUC service domain.
    #[arg(long, default_value = "conference.localhost", global = true)]
    pub muc_domain: String,
    /// SASL mechanism (PLAIN uses accounts user{i}/pw{i}, i from 1).
    #[arg(long, value_enum, default_value_t = AuthArg::Anonymous, global = true)]
    pub auth: AuthArg,
    /// Free-form label copied into the JSON output (e.g. the server's name).
    #[arg(long, default_value = "", global = true)]
    pub label: String,
    /// Server pid, for resident memory from /proc/<pid>/status.
    #[arg(long, global = true)]
    pub pid: Option<u32>,
    /// WebSocket URL for the ws scenario (ws://127.0.0.1:PORT/PATH).
    #[arg(long, global = true)]
    pub ws_url: Option<String>,
    /// Upper bound in seconds for any single wait (one login, one join, the drain after sending).
    #[arg(long, default_value_t = 30.0, global = true)]
    pub timeout: f64,
    /// Tokio worker threads (default: one per core).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// Scenario to run.
    #[command(subcommand)]
    pub scenario: Scenario,
}

/// SASL mechanism on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AuthArg {
    /// SASL ANONYMOUS.
    Anonymous,
    /// SASL PLAIN with user{i}/pw{i}.
    Plain,
}

/// The scenarios.
#[derive(Debug, Subcommand)]
pub enum Scenario {
    /// N logins (stream, SASL, restart, bind) with bounded concurrency: conns/s, latency.
    Connect {
        /// Number of logins.
        #[arg(long, default_value_t = 2000)]
        connections: usize,
        /// Logins in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Hold N bound connections: server memory per connection (needs --pid).
    Idle {
        /// Connections to hold.
        #[arg(long, default_value_t = 2000)]
        connections: usize,
        /// Logins in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Milliseconds to wait after the last login before reading memory.
        #[arg(long, default_value_t = 1000)]
        settle_ms: u64,
    },
    /// N occupants join one room, then each sends M groupchat messages.
    Muc(RoomArgs),
    /// Many small rooms at once (default 500 rooms x 5 occupants).
    Rooms {
        /// Number of rooms.
        #[arg(long, default_value_t = 500)]
        rooms: usize,
        /// Occupants per room.
        #[arg(long, default_value_t = 5)]
        occupants: usize,
        /// Message options.
        #[command(flatten)]
        msg: MessageArgs,
    },
    /// The muc scenario over WebSocket (RFC 7395, sub-protocol xmpp; needs --ws-url).
    Ws(RoomArgs),
    /// Waves of connect/auth/join/leave/disconnect cycles: conns/s and RSS per wave.
    Churn {
        /// Number of waves.
        #[arg(long, default_value_t = 20)]
        waves: usize,
        /// Cycles per wave.
        #[arg(long, default_value_t = 1000)]
        per_wave: usize,
        /// Cycles in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Rooms the cycles spread over.
        #[arg(long, default_value_t = 10)]
        rooms: usize,
        /// Milliseconds to wait after each wave before reading memory.
        #[arg(long, default_value_t = 200)]
        settle_ms: u64,
    },
}

/// Options of the one-room scenarios.
#[derive(Debug, Args)]
pub struct RoomArgs {
    /// Occupants in the room.
    #[arg(long, default_value_t = 200)]
    pub occupants: usize,
    /// Message options.
    #[command(flatten)]
    pub msg: MessageArgs,
}

/// Options shared by the room scenarios.
#[derive(Debug, Args)]
pub struct MessageArgs {
    /// Groupchat messages each occupant sends.
    #[arg(long, default_value_t = 20)]
    pub messages: u64,
    /// Total messages per second across all senders (open loop); omit to send saturated.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Saturated mode: own messages in flight per sender before waiting for the echo (0 = unlimited).
    #[arg(long, default_value_t = 0)]
    pub window: u64,
    /// Logins in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Joins in flight at once (after each room's first occupant).
    #[arg(long, default_value_t = 1)]
    pub join_concurrency: usize,
}

impl Cli {
    /// The target described by the global options, checked to be on loopback.
    pub fn target(&self) -> Result<Target, BenchError> {
        if !(self.timeout.is_finite() && self.timeout > 0.0) {
            return Err(BenchError::Config("--timeout must be positive".into()));
        }
        let t = Target {
            host: self.host.clone(),
            port: self.port,
            domain: self.domain.clone(),
            muc_domain: self.muc_domain.clone(),
            auth: match self.auth {
                AuthArg::Anonymous => Auth::Anonymous,
                AuthArg::Plain => Auth::Plain,
            },
            ws_url: self.ws_url.clone(),
            timeout: Duration::from_secs_f64(self.timeout),
        };
        t.check_loopback()?;
        Ok(t)
    }
}

fn room_params(
    rooms: usize,
    occupants: usize,
    m: &MessageArgs,
    pid: Option<u32>,
    transport: Transport,
) -> rooms::RoomsParams {
    rooms::RoomsParams {
        rooms,
        occupants,
        messages: m.messages,
        rate: m.rate.filter(|r| *r > 0.0),
        window: m.window,
        concurrency: m.concurrency,
        join_concurrency: m.join_concurrency,
        pid,
        transport,
    }
}

/// Runs the chosen scenario and returns its report.
pub async fn run(cli: &Cli, target: Target) -> Result<Report, BenchError> {
    let target = Arc::new(target);
    let report = match &cli.scenario {
        Scenario::Connect {
            connections,
            concurrency,
        } => {
            connect::run(
                target,
                &connect::ConnectParams {
                    connections: *connections,
                    concurrency: *concurrency,
                },
            )
            .await
        }
        Scenario::Idle {
            connections,
            concurrency,
            settle_ms,
        } => {
            let p = idle::IdleParams {
                connections: *connections,
                concurrency: *concurrency,
                pid: cli.pid,
                settle: Duration::from_millis(*settle_ms),
            };
            idle::run(target, &p).await
        }
        Scenario::Muc(a) => {
            rooms::run(
                target,
                &room_params(1, a.occupants, &a.msg, cli.pid, Transport::Tcp),
                "muc",
            )
            .await
        }
        Scenario::Rooms {
            rooms: n,
            occupants,
            msg,
        } => {
            rooms::run(
                target,
                &room_params(*n, *occupants, msg, cli.pid, Transport::Tcp),
                "rooms",
            )
            .await
        }
        Scenario::Ws(a) => {
            if target.ws_url.is_none() {
                return Err(BenchError::Config("the ws scenario needs --ws-url".into()));
            }
            rooms::run(
                target,
                &room_params(1, a.occupants, &a.msg, cli.pid, Transport::Ws),
                "ws",
            )
            .await
        }
        Scenario::Churn {
            waves,
            per_wave,
            concurrency,
            rooms: n,
            settle_ms,
        } => {
            let p = churn::ChurnParams {
                waves: *waves,
                per_wave: *per_wave,
                concurrency: *concurrency,
                rooms: *n,
                pid: cli.pid,
                settle: Duration::from_millis(*settle_ms),
            };
            churn::run(target, &p).await
        }
    };
    Ok(report)
}
