//! The sliding-window rate limit of S05 and V07.

use std::collections::VecDeque;
use std::time::Duration;

use crate::time::Timestamp;

/// At most `max` events in any half-open window `[t, t + window)`: a new event at `now` is
/// allowed when fewer than `max` of the recorded events happened less than `window` before
/// `now` (an event exactly `window` earlier no longer counts). Times are compared exactly, at
/// the precision they are given (S05/V07 say "any sliding 10 s window", not "any 10 calendar
/// seconds"), and with checked arithmetic over the whole [`Timestamp`] range: no time is late
/// enough to switch the limit off. Holds at most `max` timestamps.
#[derive(Debug, Clone)]
pub struct Window {
    times: VecDeque<Timestamp>,
}

/// Whether an event at `t` still counts at `now`: it happened less than `window` ago. An event
/// recorded "after" `now` (the caller's clock went backwards) counts.
fn counts(t: Timestamp, now: Timestamp, window: Duration) -> bool {
    now.checked_since(t).is_none_or(|age| age < window)
}

impl Window {
    /// An empty window for at most `max` events.
    pub fn new(max: usize) -> Self {
        Self {
            times: VecDeque::with_capacity(max),
        }
    }

    /// Whether an event at `now` would be allowed, without recording it.
    pub fn would_allow(&self, now: Timestamp, max: usize, window: Duration) -> bool {
        self.times
            .iter()
            .filter(|&&t| counts(t, now, window))
            .count()
            < max
    }

    /// Records an event at `now` if allowed; returns whether it was. `now` never goes backwards
    /// (the node clamps its clock).
    pub fn allow(&mut self, now: Timestamp, max: usize, window: Duration) -> bool {
        while self.times.front().is_some_and(|&t| !counts(t, now, window)) {
            self.times.pop_front();
        }
        if self.times.len() < max {
            self.times.push_back(now);
            true
        } else {
            false
        }
    }

    /// Whether no recorded event still counts at `now` (the window can be forgotten without
    /// allowing anything it would refuse).
    pub fn is_stale(&self, now: Timestamp, window: Duration) -> bool {
        self.times.back().is_none_or(|&t| !counts(t, now, window))
    }

    /// The oldest recorded event still held (for the fixed-window fault).
    pub fn oldest(&self) -> Option<Timestamp> {
        self.times.front().copied()
    }

    /// Recorded timestamps (at most `max`).
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// No recorded timestamps.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN_S: Duration = Duration::from_secs(10);

    fn ms(t: u64) -> Timestamp {
        Timestamp::from_millis(t)
    }

    // R: S05, V07 — the boundary: the fifth event is allowed exactly 10 s after the first.
    #[test]
    fn four_per_ten_seconds_sliding() {
        let mut w = Window::new(4);
        for t in [0, 1, 2, 3] {
            assert!(w.allow(Timestamp::from_secs(t), 4, TEN_S));
        }
        assert!(!w.allow(Timestamp::from_secs(9), 4, TEN_S));
        assert!(w.allow(Timestamp::from_secs(10), 4, TEN_S));
        assert!(!w.allow(Timestamp::from_secs(10), 4, TEN_S));
        assert!(w.allow(Timestamp::from_secs(11), 4, TEN_S));
        assert!(w.len() <= 4);
    }

    // R: S05, V07 — issue #17's probe: four events at …276.934 s and a fifth 9.086 s later
    // fall in one 10 s window (whole seconds would see 276 and 286, 10 s apart). The fifth is
    // refused until exactly 10 s after the first, to the millisecond.
    #[test]
    fn sub_second_window_is_exact() {
        let first = 1_700_000_276_934;
        let mut w = Window::new(4);
        for i in 0..4 {
            assert!(w.allow(ms(first + i), 4, TEN_S));
        }
        assert!(!w.would_allow(ms(1_700_000_286_020), 4, TEN_S));
        assert!(!w.allow(ms(1_700_000_286_020), 4, TEN_S));
        assert!(!w.allow(ms(first + 9_999), 4, TEN_S));
        assert!(!w.is_stale(ms(first + 10_002), TEN_S));
        assert!(w.allow(ms(first + 10_000), 4, TEN_S));
        assert!(!w.allow(ms(first + 10_000), 4, TEN_S));
        assert!(w.allow(ms(first + 10_001), 4, TEN_S));
        // Nanoseconds count too: one below the boundary is still inside.
        let mut w = Window::new(1);
        assert!(w.allow(Timestamp::from_unix(Duration::new(5, 0)), 1, TEN_S));
        let just_inside = Timestamp::from_unix(Duration::new(14, 999_999_999));
        assert!(!w.allow(just_inside, 1, TEN_S));
        assert!(w.allow(Timestamp::from_secs(15), 1, TEN_S));
    }

    // R: S05, V07 — issue #17 item 14: at the top of the range (u64::MAX seconds, the pipe's
    // largest `now`) the limit still holds; a saturating `t + window` made every event stale.
    #[test]
    fn limit_holds_at_the_end_of_time() {
        let top = Timestamp::from_secs(u64::MAX);
        let last = Timestamp::from_unix(Duration::MAX);
        let mut w = Window::new(4);
        for _ in 0..4 {
            assert!(w.allow(top, 4, TEN_S));
        }
        assert!(!w.would_allow(top, 4, TEN_S));
        assert!(!w.allow(top, 4, TEN_S));
        assert!(!w.is_stale(top, TEN_S));
        assert!(!w.allow(last, 4, TEN_S), "under one second later");
        // The longest window the pipe can configure (u64::MAX s): an event at 1 s counts until
        // after the last representable time, one at 0 s stops counting at u64::MAX s exactly.
        let long = Duration::from_secs(u64::MAX);
        let mut w = Window::new(1);
        assert!(w.allow(Timestamp::from_secs(1), 1, long));
        assert!(!w.allow(top, 1, long));
        assert!(!w.allow(last, 1, long));
        let mut w = Window::new(1);
        assert!(w.allow(Timestamp::EPOCH, 1, long));
        assert!(!w.allow(Timestamp::from_secs(u64::MAX - 1), 1, long));
        assert!(w.allow(top, 1, long));
    }
}
