//! The sliding-window rate limit of S05 and V07.

use std::collections::VecDeque;

/// At most `max` events in any half-open window `[t, t + window_secs)`: a new event at `now` is
/// allowed when fewer than `max` of the recorded events happened after `now - window_secs`
/// (an event exactly `window_secs` earlier no longer counts). Holds at most `max` timestamps.
#[derive(Debug, Clone)]
pub struct Window {
    times: VecDeque<u64>,
}

impl Window {
    /// An empty window for at most `max` events.
    pub fn new(max: usize) -> Self {
        Self {
            times: VecDeque::with_capacity(max),
        }
    }

    /// Whether an event at `now` would be allowed, without recording it.
    pub fn would_allow(&self, now: u64, max: usize, window_secs: u64) -> bool {
        self.times
            .iter()
            .filter(|&&t| t.saturating_add(window_secs) > now)
            .count()
            < max
    }

    /// Records an event at `now` if allowed; returns whether it was. `now` never goes backwards
    /// (the node clamps its clock).
    pub fn allow(&mut self, now: u64, max: usize, window_secs: u64) -> bool {
        while self
            .times
            .front()
            .is_some_and(|&t| t.saturating_add(window_secs) <= now)
        {
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
    pub fn is_stale(&self, now: u64, window_secs: u64) -> bool {
        self.times
            .back()
            .is_none_or(|&t| t.saturating_add(window_secs) <= now)
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

    // R: S05, V07 — the boundary: the fifth event is allowed exactly 10 s after the first.
    #[test]
    fn four_per_ten_seconds_sliding() {
        let mut w = Window::new(4);
        for t in [0, 1, 2, 3] {
            assert!(w.allow(t, 4, 10));
        }
        assert!(!w.allow(9, 4, 10));
        assert!(w.allow(10, 4, 10));
        assert!(!w.allow(10, 4, 10));
        assert!(w.allow(11, 4, 10));
        assert!(w.len() <= 4);
    }
}
