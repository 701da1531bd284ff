//! A session's outgoing queue in the trivial server: a vector behind a mutex plus a
//! wakeup. The writer takes everything queued at once (one write per wakeup), and an idle
//! session's queue holds no allocation at all.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::hub::Out;

/// Outgoing queue of one session, shared by everyone who sends to it.
#[derive(Debug, Default)]
pub struct Mailbox {
    queue: Mutex<Vec<Out>>,
    notify: Notify,
    closed: AtomicBool,
}

impl Mailbox {
    /// A new, empty mailbox.
    pub fn new() -> Arc<Self> {
        Arc::new(Mailbox::default())
    }

    /// Queues `out`; returns false (dropping it) once the session is gone.
    pub fn send(&self, out: Out) -> bool {
        if self.closed.load(Ordering::Acquire) {
            return false;
        }
        match self.queue.lock() {
            Ok(mut q) => q.push(out),
            Err(_) => return false,
        }
        self.notify.notify_one();
        true
    }

    /// Waits until something is queued and takes all of it; `None` once closed and empty.
    pub async fn recv_all(&self) -> Option<Vec<Out>> {
        loop {
            if let Ok(mut q) = self.queue.lock()
                && !q.is_empty()
            {
                return Some(std::mem::take(&mut *q));
            }
            if self.closed.load(Ordering::Acquire) {
                return None;
            }
            self.notify.notified().await;
        }
    }

    /// Marks the session gone: later sends are dropped and the writer stops when drained.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.notify.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn takes_everything_queued_then_ends_after_close() {
        let m = Mailbox::new();
        assert!(m.send(Out::Bytes(b"a".to_vec())));
        assert!(m.send(Out::Bytes(b"b".to_vec())));
        assert_eq!(m.recv_all().await.map(|v| v.len()), Some(2));
        m.close();
        assert!(!m.send(Out::Bytes(b"c".to_vec())));
        assert!(m.recv_all().await.is_none());
    }
}
