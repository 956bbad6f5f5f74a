//! A reply policy that offers only the moves this node would itself carry at zero fee.
//!
//! The pinned default (A01) lists a channel when moving the queried amount over it brings
//! *that* channel toward our target ratio ν. The rebalance that follows also uses our channel
//! with the querier: it comes in on it (flow Push: querier → us → listed peer) or leaves on it
//! (flow Receive: listed peer → us → querier), and our zero-fee hop check (R-REB-5) looks at
//! both legs and at our imbalance G. In simulations most cycles planned from default replies
//! die at such a hop (docs/simulation.md, "Why FOAF trails"). [`ForwardAwarePolicy`] keeps
//! from the default's eligible list only the channels for which the whole move passes the
//! test the hop will apply, so the querier plans with moves we would carry.
//!
//! A01 asks for "the channels on which it is willing to rebalance"; this policy lists exactly
//! those, so it is a conformant choice an operator can plug into `foaf-peer`'s node. It is not
//! the pinned default: conformance vectors expect the default's list. The hop check stays the
//! authority when the HTLC arrives (balances may have moved; the budget is not known here).

use foaf_wire::{Flow, ShortChannelId};
use rand_chacha::ChaCha20Rng;

use crate::hop_check::HopConfig;
use crate::imbalance::{merged_by_peer, Spread};
use crate::model::PeerKey;
use crate::reply::{eligible, sample_uniform, Grouping, ReplyPlan, ReplyPolicy, ReplyRequest};

/// The default's eligibility, filtered by our own zero-fee forwarding test (module docs).
/// No obfuscation: an added ineligible channel is one we would not forward over.
#[derive(Debug, Clone)]
pub struct ForwardAwarePolicy {
    /// M02 grouping for eligibility (default: per peer).
    pub grouping: Grouping,
    /// Most scids listed (A06).
    pub max_scids: usize,
    /// The hop rules to anticipate: `require_gini_drop` as our hop applies it.
    pub hop: HopConfig,
}

impl Default for ForwardAwarePolicy {
    fn default() -> Self {
        Self {
            grouping: Grouping::PerPeer,
            max_scids: foaf_wire::MAX_REPLY_SCIDS,
            hop: HopConfig::default(),
        }
    }
}

impl ForwardAwarePolicy {
    /// The eligible channels we would forward the queried move over.
    pub fn willing<P: PeerKey>(&self, req: &ReplyRequest<'_, P>) -> Vec<ShortChannelId> {
        let chans = req.channels.channels();
        let rows = merged_by_peer(chans);
        let find = |p: &P| rows.binary_search_by(|r| r.0.cmp(p)).ok().map(|i| rows[i]);
        let Some(q) = find(req.querier) else {
            return Vec::new(); // no channel with the querier: no leg to forward on
        };
        // The HTLC uses one channel with the querier: the best one for the direction.
        let (most_local, most_room) = chans
            .iter()
            .filter(|c| c.peer == *req.querier && c.is_active())
            .map(|c| {
                let l = c.local_msat.min(c.capacity_msat);
                (l, c.capacity_msat - l)
            })
            .fold((0, 0), |(a, b), (l, r)| (a.max(l), b.max(r)));
        let (sl, sc) = rows.iter().fold((0u128, 0u128), |(l, k), r| {
            (l + u128::from(r.1), k + u128::from(r.2))
        });
        let amt = req.amt_msat;
        let zeta = |l: u64, c: u64| l as f64 / c as f64;
        // The querier's leg: our side of it must be able to carry the amount in the direction
        // of the move (the hop rule decides the rest, with the listed peer's leg, below).
        let (q_after, q_ok) = match req.flow {
            Flow::Push => (q.1.saturating_add(amt), most_room >= amt),
            Flow::Receive => (q.1.saturating_sub(amt), most_local >= amt),
        };
        if !q_ok {
            return Vec::new();
        }
        let spread = Spread::new(&rows.iter().map(|r| zeta(r.1, r.2)).collect::<Vec<_>>());
        let g0 = spread.gini();
        eligible(req, self.grouping)
            .into_iter()
            .filter(|&s| {
                // Eligible channels are listable ones: the set's scid index finds them.
                let Some(c) = req.channels.listable_channel(s) else {
                    return false;
                };
                let Some(p) = find(&c.peer) else {
                    return false;
                };
                let p_after = match req.flow {
                    // We push on to the listed peer: our side of that channel must hold amt.
                    Flow::Push => {
                        if c.local_msat.min(c.capacity_msat) < amt {
                            return false;
                        }
                        p.1.saturating_sub(amt)
                    }
                    // We take it in from the listed peer: its side must hold amt.
                    Flow::Receive => {
                        let l = c.local_msat.min(c.capacity_msat);
                        if c.capacity_msat - l < amt {
                            return false;
                        }
                        p.1.saturating_add(amt)
                    }
                };
                // The hop rule on the whole move: out on the listed peer and in from the
                // querier (Push), or out to the querier and in from the listed peer (Receive).
                let (out, inc) = match req.flow {
                    Flow::Push => ((p.1, p.2), (q.1, q.2)),
                    Flow::Receive => ((q.1, q.2), (p.1, p.2)),
                };
                self.hop.rule.allows(out, inc, amt, (sl, sc))
                    && (!self.hop.require_gini_drop
                        || spread.gini_after(
                            (zeta(q.1, q.2), zeta(q_after, q.2)),
                            (zeta(p.1, p.2), zeta(p_after, p.2)),
                        ) < g0)
            })
            .collect()
    }
}

impl<P: PeerKey> ReplyPolicy<P> for ForwardAwarePolicy {
    fn reply(&self, req: &ReplyRequest<'_, P>, rng: &mut ChaCha20Rng) -> ReplyPlan {
        ReplyPlan {
            amt_msat: req.amt_msat,
            scids: sample_uniform(self.willing(req), self.max_scids, rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hop_check::{check_fee_free_forward, FeeFreeForward, HopRule};
    use crate::reply::DefaultPolicy;
    use crate::test_support::{ch, with_request};
    use crate::Channel;
    use rand::SeedableRng;

    fn ask(
        chans: &[Channel<String>],
        querier: &str,
        flow: Flow,
        amt: u64,
        rule: HopRule,
    ) -> (Vec<ShortChannelId>, Vec<ShortChannelId>) {
        with_request(chans, querier, flow, amt, |req| {
            let mut rng = ChaCha20Rng::seed_from_u64(1);
            let default = DefaultPolicy::new().reply(req, &mut rng).scids;
            let aware = ForwardAwarePolicy {
                hop: HopConfig {
                    rule,
                    ..HopConfig::default()
                },
                ..ForwardAwarePolicy::default()
            }
            .reply(req, &mut rng)
            .scids;
            (default, aware)
        })
    }

    /// Every channel it lists passes the hop check for the whole move; every eligible channel
    /// it leaves out fails it. So the querier plans with exactly what we would forward.
    // R: A01, R-REB-5
    #[test]
    fn lists_exactly_the_moves_the_hop_check_accepts() {
        // ν = 5_000 / 10_000 = 0.5. The querier "q" sits below ν (room to come in), "r" above.
        let chans = vec![
            ch("q", 1, 2_000, 200),
            ch("r", 2, 2_000, 1_800),
            ch("a", 3, 1_000, 900),
            ch("b", 4, 1_000, 950),
            ch("c", 5, 1_000, 100),
            ch("d", 6, 2_000, 1_000),
            ch("e", 7, 1_000, 50),
        ];
        let mut checked = 0;
        for (querier, flow) in [
            ("q", Flow::Push),
            ("r", Flow::Receive),
            ("q", Flow::Receive),
            ("r", Flow::Push),
        ] {
            for (amt, rule) in [50, 200, 400]
                .into_iter()
                .flat_map(|a| HopRule::ALL.map(|r| (a, r)))
            {
                let (default, aware) = ask(&chans, querier, flow, amt, rule);
                let q_scid = chans.iter().find(|c| c.peer == querier).unwrap().scid;
                for s in &default {
                    let fwd = match flow {
                        Flow::Push => (q_scid, *s),
                        Flow::Receive => (*s, q_scid),
                    };
                    let ok = check_fee_free_forward(
                        &chans,
                        &FeeFreeForward {
                            in_scid: fwd.0,
                            out_scid: fwd.1,
                            amount_msat: amt,
                            offered_at: None,
                            budget_used_msat: 0,
                        },
                        0,
                        &HopConfig {
                            rule,
                            ..HopConfig::default()
                        },
                    )
                    .is_ok();
                    assert_eq!(
                        aware.contains(s),
                        ok,
                        "{querier} {flow:?} {amt} {rule:?} {s}"
                    );
                    checked += 1;
                }
                assert!(aware.iter().all(|s| default.contains(s)));
            }
        }
        assert!(checked > 10, "{checked}");
    }

    /// Under the both-sides rule, when the querier's own leg would move away from ν, nothing
    /// is listed, though the default lists channels. Under the pinned sender rule the incoming
    /// leg is free and only G decides.
    // R: A01, R-REB-5
    #[test]
    fn the_querier_leg_follows_the_hop_rule() {
        let chans = vec![
            ch("q", 1, 2_000, 1_500), // ν = 0.6, q at 0.75: taking more in from q goes away
            ch("a", 2, 1_000, 900),
            ch("c", 3, 1_000, 0),
        ];
        let (default, aware) = ask(&chans, "q", Flow::Push, 100, HopRule::BothSides);
        assert!(!default.is_empty());
        assert!(aware.is_empty());
        // Sender rule: ζ (0.75, 0.9, 0) → (0.8, 0.8, 0): G 0.364 → 0.333, a is listed.
        let (default, aware) = ask(&chans, "q", Flow::Push, 100, HopRule::Sender);
        assert_eq!(aware, default);
        assert!(!aware.is_empty());
    }
}
