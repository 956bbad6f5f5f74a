//! Bounds the log of messages the state machine ignores.
//!
//! A peer flooding us (rate-limited queries, other chains, bad `flow_value`s) had every message
//! logged twice (the message and why it was ignored, ≈ 395 B): 100,000 queries made 40 MB of log
//! (issue #17). Per peer, the first ignored message of a 10 s window is logged in full; the rest
//! of the window is counted and summed up in one line when the window is over (at the next tick
//! or ignored message after it, or when the peer disconnects). So the log grows by at most about
//! three lines per flooding peer per window, whatever the rate, and the state per peer is one
//! small record, kept only while its window is open.

use std::collections::BTreeMap;
use std::time::Duration;

use foaf_peer::Timestamp;
use lightning::bitcoin::secp256k1::PublicKey;

/// How long after a peer's first logged ignored message the others are only counted.
pub const QUIET_WINDOW: Duration = Duration::from_secs(10);

/// What to do with one ignored message.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Log the message and why it was ignored.
    pub log_in_full: bool,
    /// A summary of the peer's previous window, to log first.
    pub summary: Option<String>,
}

#[derive(Debug)]
struct Window {
    since: Timestamp,
    /// Ignored and not logged, per reason.
    counted: BTreeMap<&'static str, u64>,
}

impl Window {
    fn summary(&self, peer: &PublicKey, now: Timestamp) -> Option<String> {
        let total: u64 = self.counted.values().sum();
        if total == 0 {
            return None;
        }
        let reasons: Vec<String> = self
            .counted
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        let secs = now
            .checked_since(self.since)
            .unwrap_or_default()
            .as_secs_f64();
        Some(format!(
            "ignored {total} more messages from {peer} in {secs:.1} s, not logged one by one ({})",
            reasons.join(", ")
        ))
    }
}

/// Per-peer windows of ignored messages (module docs).
#[derive(Debug, Default)]
pub struct IgnoredLog {
    windows: BTreeMap<PublicKey, Window>,
}

impl IgnoredLog {
    /// A message from `peer` was ignored at `now` for `reason`.
    pub fn ignored(&mut self, peer: PublicKey, reason: &'static str, now: Timestamp) -> Verdict {
        match self.windows.get_mut(&peer) {
            Some(w)
                if now
                    .checked_since(w.since)
                    .is_none_or(|age| age < QUIET_WINDOW) =>
            {
                *w.counted.entry(reason).or_default() += 1;
                Verdict {
                    log_in_full: false,
                    summary: None,
                }
            }
            Some(w) => {
                let summary = w.summary(&peer, now);
                *w = Window {
                    since: now,
                    counted: BTreeMap::new(),
                };
                Verdict {
                    log_in_full: true,
                    summary,
                }
            }
            None => {
                self.windows.insert(
                    peer,
                    Window {
                        since: now,
                        counted: BTreeMap::new(),
                    },
                );
                Verdict {
                    log_in_full: true,
                    summary: None,
                }
            }
        }
    }

    /// Closes every window that is over at `now`; returns their summaries.
    pub fn close_due(&mut self, now: Timestamp) -> Vec<String> {
        let mut out = Vec::new();
        self.windows.retain(|peer, w| {
            let open = now
                .checked_since(w.since)
                .is_none_or(|age| age < QUIET_WINDOW);
            if !open {
                out.extend(w.summary(peer, now));
            }
            open
        });
        out
    }

    /// Closes `peer`'s window (it disconnected); returns its summary.
    pub fn close(&mut self, peer: &PublicKey, now: Timestamp) -> Option<String> {
        self.windows.remove(peer).and_then(|w| w.summary(peer, now))
    }

    /// Peers with an open window.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// No open window.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightning::bitcoin::secp256k1::{Secp256k1, SecretKey};

    fn peer(b: u8) -> PublicKey {
        PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[b; 32]).unwrap())
    }

    // Issue #17 item 15: a flood is one full line and one summary per window, not one per message.
    #[test]
    fn a_flood_is_one_full_line_and_one_summary_per_window() {
        let (p, q) = (peer(1), peer(2));
        let mut log = IgnoredLog::default();
        let t0 = Timestamp::from_millis(1_700_000_000_000);
        let at = |ms: u64| t0.saturating_add(Duration::from_millis(ms));
        assert!(log.ignored(p, "rate_limited", t0).log_in_full);
        let mut full = 0;
        for i in 1..10_000 {
            full += usize::from(log.ignored(p, "rate_limited", at(i)).log_in_full);
        }
        assert_eq!(full, 0, "the rest of the window is only counted");
        // Another peer has its own window.
        assert!(log.ignored(q, "unknown_chain", at(5)).log_in_full);
        let v = log.ignored(p, "invalid_flow_value", at(10_000));
        assert!(v.log_in_full, "a new window");
        let s = v.summary.expect("the old window is summed up");
        assert!(
            s.contains("ignored 9999 more") && s.contains("rate_limited 9999"),
            "{s}"
        );
        // q sent nothing more: its window closes without a summary.
        assert!(log.close_due(at(10_005)).is_empty());
        assert_eq!(log.len(), 1);
        log.ignored(p, "rate_limited", at(10_001));
        let s = log.close(&p, at(10_002)).unwrap();
        assert!(
            s.contains("ignored 1 more") && s.contains("rate_limited 1"),
            "{s}"
        );
        assert!(log.is_empty());
    }
}
