//! Plain configuration types: the flush policy and time-to-live.

use std::time::Duration;

/// How `flush()` and writes relate to durability.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlushPolicy {
    /// Writes land in the page cache; `flush()` makes everything written so far durable,
    /// and concurrent `flush()` calls share one device sync. A lone `flush()` never waits
    /// for company.
    #[default]
    OnEachFlush,
    /// Like `OnEachFlush`, and when several threads flush at once the leader of a group
    /// waits up to 100 µs for the others to join, so bursts of concurrent flushes share
    /// fewer syncs. (In emdb 1.0 the two were identical.)
    Group,
    /// Every insert, remove and batch is durable when it returns (one `O_DSYNC` write on
    /// Linux); `flush()` has nothing left to do.
    WriteThrough,
}

impl FlushPolicy {
    pub(crate) fn sync_policy(self) -> emdb_journal::SyncPolicy {
        match self {
            FlushPolicy::OnEachFlush => emdb_journal::SyncPolicy::OnSync,
            FlushPolicy::Group => emdb_journal::SyncPolicy::Grouped,
            FlushPolicy::WriteThrough => emdb_journal::SyncPolicy::WriteThrough,
        }
    }
}

/// How long a record lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ttl {
    /// The builder's `default_ttl`, or forever when none is set.
    Default,
    /// Forever.
    Never,
    /// This long from the write (`After(Duration::ZERO)` is expired at once).
    After(Duration),
}

/// Milliseconds since the Unix epoch, now, by the system clock.
fn system_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The clock one database judges expiry by: the system clock, or (feature `test-clock`)
/// a [`TestClock`] handed to [`crate::EmdbBuilder::clock`]. Without the feature it is
/// empty and [`Clock::now_ms`] is the system clock read, no more.
#[derive(Debug, Clone, Default)]
pub(crate) struct Clock {
    #[cfg(feature = "test-clock")]
    test: Option<TestClock>,
}

impl Clock {
    /// A clock that reads `test` instead of the system clock.
    #[cfg(feature = "test-clock")]
    pub(crate) fn test(test: TestClock) -> Clock {
        Clock { test: Some(test) }
    }

    /// Milliseconds since the Unix epoch, now.
    #[inline]
    pub(crate) fn now_ms(&self) -> u64 {
        #[cfg(feature = "test-clock")]
        if let Some(test) = &self.test {
            return test.now_ms();
        }
        system_now_ms()
    }

    /// Whether the record at `loc` has expired; the clock is read only for records that
    /// carry an expiry (a point read of a record without one makes no system call).
    #[inline]
    pub(crate) fn expired(&self, loc: &emdb_index::Location) -> bool {
        loc.expires_at != 0 && loc.is_expired(self.now_ms())
    }
}

/// A clock that tests set and advance by hand, so that what expires when does not depend
/// on how fast the machine runs (feature `test-clock`, absent from release builds).
///
/// Hand it to [`crate::EmdbBuilder::clock`]: every expiry decision of that database (the
/// expiry a write gets, the checks of `get`, the iterators and cursors, `ttl`, `persist`,
/// sweeps, the sweep of an open, compaction's choice of what to copy) reads it instead of
/// the system clock. Clones share one time, so a test keeps a clone and moves it while
/// the database runs. It starts at the system clock's time when made (so expiries look
/// like real ones), and moves only when told to.
///
/// ```
/// # fn main() -> Result<(), emdb_core::Error> {
/// use std::time::Duration;
/// use emdb_core::{Emdb, TestClock, Ttl};
/// let clock = TestClock::new();
/// let db = Emdb::builder().clock(clock.clone()).build()?;
/// db.insert_with_ttl("k", "v", Ttl::After(Duration::from_secs(60)))?;
/// clock.advance(Duration::from_secs(59));
/// assert!(db.get("k")?.is_some());
/// clock.advance(Duration::from_secs(1));
/// assert!(db.get("k")?.is_none());
/// # Ok(()) }
/// ```
#[cfg(feature = "test-clock")]
#[derive(Debug, Clone)]
pub struct TestClock {
    ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

#[cfg(feature = "test-clock")]
impl Default for TestClock {
    fn default() -> Self {
        TestClock::new()
    }
}

#[cfg(feature = "test-clock")]
impl TestClock {
    /// A clock reading the system clock's time now, standing still.
    #[must_use]
    pub fn new() -> TestClock {
        TestClock::at(system_now_ms())
    }

    /// A clock reading `ms` (milliseconds since the Unix epoch), standing still.
    #[must_use]
    pub fn at(ms: u64) -> TestClock {
        TestClock {
            ms: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(ms)),
        }
    }

    /// The time it reads, in milliseconds since the Unix epoch.
    #[must_use]
    pub fn now_ms(&self) -> u64 {
        self.ms.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Sets the time to `ms` (milliseconds since the Unix epoch); it may go backwards.
    pub fn set(&self, ms: u64) {
        self.ms.store(ms, std::sync::atomic::Ordering::SeqCst);
    }

    /// Moves the time on by `by` (saturating at `u64::MAX` milliseconds).
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let _ = self.ms.fetch_update(
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
            |ms| Some(ms.saturating_add(by)),
        );
    }
}

/// The absolute expiry (Unix ms, 0 = never) of a write with `ttl` under `default`.
///
/// `After(d)` is `now + d`; `After(ZERO)` becomes `now`, which is already expired (the
/// record is written, and hidden). An expiry that does not fit is `None` (TtlOverflow).
#[cfg_attr(not(feature = "ttl"), allow(dead_code, reason = "TTL writes only"))]
pub(crate) fn expiry(ttl: Ttl, default: Option<Duration>, now: u64) -> Option<u64> {
    let after = match ttl {
        Ttl::Never => return Some(0),
        Ttl::Default => match default {
            None => return Some(0),
            Some(d) => d,
        },
        Ttl::After(d) => d,
    };
    let ms = u64::try_from(after.as_millis()).ok()?;
    // `now` is never 0 in practice; keep 0 meaning "never" even at the epoch.
    now.checked_add(ms).map(|at| at.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_arithmetic() {
        let d = Some(Duration::from_secs(10));
        assert_eq!(expiry(Ttl::Never, d, 1000), Some(0));
        assert_eq!(expiry(Ttl::Default, None, 1000), Some(0));
        assert_eq!(expiry(Ttl::Default, d, 1000), Some(11_000));
        assert_eq!(expiry(Ttl::After(Duration::ZERO), d, 1000), Some(1000));
        assert_eq!(expiry(Ttl::After(Duration::from_millis(5)), None, 1000), Some(1005));
        assert_eq!(expiry(Ttl::After(Duration::MAX), None, 1000), None);
        assert_eq!(expiry(Ttl::After(Duration::from_millis(u64::MAX)), None, 1000), None);
    }

    #[cfg(feature = "test-clock")]
    #[test]
    fn a_test_clock_moves_only_when_told_and_clones_share_it() {
        let clock = TestClock::at(1_000);
        let engine = Clock::test(clock.clone());
        assert_eq!(engine.now_ms(), 1_000);
        clock.advance(Duration::from_millis(250));
        assert_eq!(engine.now_ms(), 1_250);
        clock.set(5);
        assert_eq!(engine.now_ms(), 5, "set may go backwards");
        clock.advance(Duration::MAX);
        assert_eq!(clock.now_ms(), u64::MAX, "advance saturates");
        let loc = emdb_index::Location::new(0, 1).expiring_at(10);
        clock.set(9);
        assert!(!engine.expired(&loc));
        clock.set(10);
        assert!(engine.expired(&loc));
        assert!(
            !engine.expired(&emdb_index::Location::new(0, 1)),
            "no expiry, never expired"
        );
    }
}
