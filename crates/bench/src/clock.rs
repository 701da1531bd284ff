//! A process-wide monotonic clock in microseconds, for timestamps carried in message bodies.

use std::sync::OnceLock;
use std::time::Instant;

static BASE: OnceLock<Instant> = OnceLock::new();

/// Microseconds since the first call in this process (monotonic).
pub fn now_us() -> u64 {
    let base = *BASE.get_or_init(Instant::now);
    base.elapsed().as_micros() as u64
}

/// The [`Instant`] corresponding to a [`now_us`] reading.
pub fn instant_of(us: u64) -> Instant {
    let base = *BASE.get_or_init(Instant::now);
    base + std::time::Duration::from_micros(us)
}
