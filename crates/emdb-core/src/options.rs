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

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Whether the record at `loc` has expired; the clock is read only for records that carry
/// an expiry (a point read of a record without one makes no system call).
pub(crate) fn expired_now(loc: &emdb_index::Location) -> bool {
    loc.expires_at != 0 && loc.is_expired(now_ms())
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
}
