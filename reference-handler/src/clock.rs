//! Time as the PHP handler sees it: `time()`, whole Unix seconds.
//!
//! Every place where the PHP SDK calls `time()` (the `expires` value written, the expiry check in `read`,
//! the Scan filter of garbage collection, the lock-wait deadline) goes through a [`Clock`] here, so tests
//! can move time instead of waiting for it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of whole Unix seconds, PHP's `time()`.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current Unix time in whole seconds, truncated like PHP's `time()`.
    fn now_unix(&self) -> i64;
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        system_now()
    }
}

fn system_now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        // A clock before 1970 is a broken host; PHP would return a negative time() too.
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// A clock that stands still at a settable second.
///
/// Good for request-shape tests (every `expires` is exactly `T+L`). Do not use it with a locking handler
/// that has to wait for a lock: the whole-second deadline of the lock loop never arrives on a frozen
/// clock. Use [`OffsetClock`] there.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock frozen at `now`.
    pub fn new(now: i64) -> Self {
        Self {
            now: Arc::new(AtomicI64::new(now)),
        }
    }

    /// A clock frozen at the current system second.
    pub fn at_system_now() -> Self {
        Self::new(system_now())
    }

    /// Moves the clock to `now`.
    pub fn set(&self, now: i64) {
        self.now.store(now, Ordering::SeqCst);
    }

    /// Moves the clock by `secs` (may be negative).
    pub fn advance(&self, secs: i64) {
        self.now.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

/// The system clock shifted by a settable number of seconds.
///
/// Time keeps flowing (so lock-wait deadlines arrive), while tests can jump past an expiry at once.
#[derive(Debug, Clone, Default)]
pub struct OffsetClock {
    offset: Arc<AtomicI64>,
}

impl OffsetClock {
    /// The system clock plus `offset` seconds.
    pub fn new(offset: i64) -> Self {
        Self {
            offset: Arc::new(AtomicI64::new(offset)),
        }
    }

    /// Replaces the offset.
    pub fn set_offset(&self, offset: i64) {
        self.offset.store(offset, Ordering::SeqCst);
    }

    /// Adds `secs` to the offset.
    pub fn advance(&self, secs: i64) {
        self.offset.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now_unix(&self) -> i64 {
        system_now() + self.offset.load(Ordering::SeqCst)
    }
}

/// A shared clock, the form the handler stores.
pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(1000);
        assert_eq!(c.now_unix(), 1000);
        c.advance(5);
        assert_eq!(c.now_unix(), 1005);
        c.set(7);
        assert_eq!(c.now_unix(), 7);
    }

    #[test]
    fn offset_clock_follows_system_time() {
        let c = OffsetClock::new(3600);
        let d = c.now_unix() - SystemClock.now_unix();
        assert!((3599..=3601).contains(&d), "offset {d}");
        c.advance(-3600);
        assert!((c.now_unix() - SystemClock.now_unix()).abs() <= 1);
    }
}
