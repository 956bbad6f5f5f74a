//! The node's notion of time: a point in Unix time, finer than the second.
//!
//! The rate limits of S05 and V07 are "at most 4 in any sliding 10 s window": counted in whole
//! seconds, four events at t = 276.934 s and a fifth at 286.020 s (9.086 s later) would all fall
//! in different-looking windows and be allowed. Every transport therefore hands the node its
//! clock at millisecond precision or finer, and the node compares times exactly.
//!
//! A [`Timestamp`] is a [`Duration`] since the Unix epoch, so it covers every whole second a
//! `u64` can name (the pipe protocol's `now` is any `u64` of seconds) with nanoseconds to spare,
//! and all arithmetic on it is checked: no time is too large to rate-limit.

use std::fmt;
use std::time::{Duration, SystemTime};

/// A point in time: the time since the Unix epoch (1970-01-01 00:00:00 UTC).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(Duration);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(Duration::ZERO);

    /// `secs` whole seconds after the epoch (the whole `u64` range).
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    /// `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Self(Duration::from_millis(millis))
    }

    /// `since_epoch` after the epoch.
    pub const fn from_unix(since_epoch: Duration) -> Self {
        Self(since_epoch)
    }

    /// A system clock reading; one before the epoch is the epoch.
    pub fn from_system_time(t: SystemTime) -> Self {
        Self(t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default())
    }

    /// The time since the epoch.
    pub const fn since_epoch(self) -> Duration {
        self.0
    }

    /// Whole seconds since the epoch, rounded down: the unit of the wire's reply `timestamp`.
    pub const fn as_secs(self) -> u64 {
        self.0.as_secs()
    }

    /// How long after `earlier` this is; `None` when `earlier` is later.
    pub fn checked_since(self, earlier: Timestamp) -> Option<Duration> {
        self.0.checked_sub(earlier.0)
    }

    /// This time plus `d`, or the latest representable time.
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(d))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        Self::from_system_time(t)
    }
}

/// Unix seconds (`1700000276`), with the fraction when there is one: to the millisecond
/// (`1700000276.934`), or to the nanosecond when finer than that.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (secs, nanos) = (self.0.as_secs(), self.0.subsec_nanos());
        if nanos == 0 {
            write!(f, "{secs}")
        } else if nanos.is_multiple_of(1_000_000) {
            write!(f, "{secs}.{:03}", nanos / 1_000_000)
        } else {
            write!(f, "{secs}.{nanos:09}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_u64_range_of_seconds_and_millis() {
        let top = Timestamp::from_secs(u64::MAX);
        assert_eq!(top.as_secs(), u64::MAX);
        assert!(Timestamp::from_millis(u64::MAX) < top);
        assert_eq!(
            Timestamp::from_millis(1_700_000_276_934).as_secs(),
            1_700_000_276
        );
        assert_eq!(
            Timestamp::from_millis(1_700_000_276_934).to_string(),
            "1700000276.934"
        );
        assert_eq!(Timestamp::from_millis(5_000).to_string(), "5");
        assert_eq!(Timestamp::from_millis(5_040).to_string(), "5.040");
        assert_eq!(
            Timestamp::from_unix(Duration::new(5, 1)).to_string(),
            "5.000000001"
        );
        assert_eq!(
            top.saturating_add(Duration::from_secs(1)),
            Timestamp::from_unix(Duration::MAX)
        );
        assert_eq!(Timestamp::EPOCH.checked_since(top), None);
    }
}
