//! The offers this node made (docs/bolt14.md §4.2, R-REB-6): a hop that requires its own
//! fresh offer before forwarding a rebalance at zero fee, and then forwards no more than it
//! offered, needs to remember what its replies said.
//!
//! One entry per (own channel, flow): the newest reply naming the channel with that
//! `flow_value` replaces the older one, and what was forwarded under the older one no longer
//! counts (a new reply is a new statement of what the node is willing to move now, on its
//! balances now). What is forwarded under an entry adds up against its amount: two HTLCs of
//! the whole offered amount do not both pass.
//!
//! Memory: only our own channels are recorded (a reply lists nothing else, A10), so the ledger
//! holds at most 2 × our channels entries, whatever peers send or ask; entries of a channel we
//! no longer have are dropped when the channel list changes ([`OffersMade::retain_channels`]).

use foaf_wire::{Flow, ShortChannelId};
use rustc_hash::FxHashMap;

/// One offer we made for one of our channels in one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferMade {
    /// The reply's `timestamp` (unix seconds).
    pub timestamp: u64,
    /// The reply's `amt_to_rebalance`, msat.
    pub amt_msat: u64,
    /// Fee-free volume forwarded under this offer so far, msat.
    pub used_msat: u64,
}

impl OfferMade {
    /// What may still be forwarded under it.
    pub fn remaining_msat(&self) -> u64 {
        self.amt_msat.saturating_sub(self.used_msat)
    }
}

/// The newest offer we made per (own channel, flow). Bounded: module docs.
///
/// A hash map: every reply we send records each channel it lists (a hub's reply lists
/// hundreds), and nothing here depends on the entries' order.
#[derive(Debug, Clone, Default)]
pub struct OffersMade {
    entries: FxHashMap<(u64, u8), OfferMade>,
}

/// Which of our offers covers a move: Push on the channel it leaves on, or Receive on the one
/// it arrives on (R-REB-6).
fn keys(in_scid: ShortChannelId, out_scid: ShortChannelId) -> [(u64, u8); 2] {
    [
        (out_scid.to_u64(), Flow::Push as u8),
        (in_scid.to_u64(), Flow::Receive as u8),
    ]
}

impl OffersMade {
    /// We sent a reply (`flow`, `amt_msat`, `timestamp`) listing `scids`; `is_ours` says which
    /// of them are our channels (only those are recorded). A reply older than the entry it
    /// would replace is ignored (a clock never goes back, but a caller's might).
    pub fn record(
        &mut self,
        flow: Flow,
        amt_msat: u64,
        timestamp: u64,
        scids: &[ShortChannelId],
        is_ours: impl Fn(ShortChannelId) -> bool,
    ) {
        let made = OfferMade {
            timestamp,
            amt_msat,
            used_msat: 0,
        };
        for &s in scids.iter().filter(|s| is_ours(**s)) {
            let e = self.entries.entry((s.to_u64(), flow as u8)).or_insert(made);
            if e.timestamp <= timestamp {
                *e = made;
            }
        }
    }

    /// The newest offer covering a move in on `in_scid` and out on `out_scid` that still has
    /// `amount_msat` left (R-REB-6: "MUST NOT forward more than it offered"); `None` when no
    /// offer covers it, or none has room for it. Freshness is the hop check's (`HopConfig::
    /// max_offer_age_secs`): pass the timestamp as `FeeFreeForward::offered_at`.
    pub fn covering(
        &self,
        in_scid: ShortChannelId,
        out_scid: ShortChannelId,
        amount_msat: u64,
    ) -> Option<OfferMade> {
        keys(in_scid, out_scid)
            .iter()
            .filter_map(|k| self.entries.get(k))
            .filter(|o| o.remaining_msat() >= amount_msat)
            .max_by_key(|o| o.timestamp)
            .copied()
    }

    /// A fee-free HTLC of `amount_msat` was forwarded in on `in_scid`, out on `out_scid`: count
    /// it against the offer [`OffersMade::covering`] names for it (no effect when none does).
    pub fn use_offer(
        &mut self,
        in_scid: ShortChannelId,
        out_scid: ShortChannelId,
        amount_msat: u64,
    ) {
        let Some(best) = self.covering(in_scid, out_scid, amount_msat) else {
            return;
        };
        if let Some(e) = keys(in_scid, out_scid)
            .iter()
            .find(|k| self.entries.get(k) == Some(&best))
            .and_then(|k| self.entries.get_mut(k))
        {
            e.used_msat = e.used_msat.saturating_add(amount_msat);
        }
    }

    /// Keeps only the entries of channels `is_ours` accepts (our channel list changed).
    pub fn retain_channels(&mut self, is_ours: impl Fn(ShortChannelId) -> bool) {
        self.entries
            .retain(|(s, _), _| is_ours(ShortChannelId::from_u64(*s)));
    }

    /// Number of entries (the memory bound: at most 2 × our channels).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> ShortChannelId {
        ShortChannelId::from_u64(n)
    }

    // R: R-REB-6 — a Push offer on the outgoing channel or a Receive offer on the incoming
    // one covers a move; what is forwarded adds up against the amount; a new offer replaces.
    #[test]
    fn offers_cover_moves_up_to_their_amount() {
        let mut m = OffersMade::default();
        let ours = |x: ShortChannelId| x.to_u64() < 10;
        m.record(Flow::Push, 100, 50, &[s(1), s(2), s(99)], ours);
        assert_eq!(m.len(), 2, "the foreign scid 99 is not recorded");
        assert_eq!(m.covering(s(3), s(1), 100).map(|o| o.timestamp), Some(50));
        assert_eq!(m.covering(s(3), s(1), 101), None, "more than offered");
        assert_eq!(
            m.covering(s(1), s(3), 1),
            None,
            "Push covers the outgoing side only"
        );
        m.use_offer(s(3), s(1), 60);
        assert_eq!(m.covering(s(3), s(1), 41), None, "60 of 100 used");
        assert!(m.covering(s(3), s(1), 40).is_some());
        assert!(m.covering(s(3), s(2), 100).is_some(), "per channel");
        // Receive on the incoming channel covers too.
        m.record(Flow::Receive, 500, 70, &[s(3)], ours);
        assert_eq!(m.covering(s(3), s(1), 500).map(|o| o.timestamp), Some(70));
        // A newer offer replaces and resets; an older one is ignored.
        m.record(Flow::Push, 80, 90, &[s(1)], ours);
        m.record(Flow::Push, 1000, 10, &[s(1)], ours);
        let e = m.covering(s(4), s(1), 80).unwrap();
        assert_eq!((e.timestamp, e.amt_msat, e.used_msat), (90, 80, 0));
        m.retain_channels(|x| x != s(1));
        assert_eq!(m.covering(s(4), s(1), 1), None);
        assert_eq!(m.len(), 2);
    }
}
