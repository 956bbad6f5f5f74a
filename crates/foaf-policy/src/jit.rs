//! The JIT routing decision (docs/bolt14.md, "JIT routing", R-JIT-1…R-JIT-7).
//!
//! A node asked to forward an HTLC over a channel without enough outbound liquidity may, before
//! failing it, hold it and run one circular rebalance built from FOAF offers that refills the
//! channel (Pickhardt, lightning-dev, March 2019; arXiv 2004.00333 §7). [`jit_decide`] says
//! what to do:
//!
//! - [`JitDecision::Forward`]: some channel to the next peer already has the liquidity
//!   (parallel channels count as one peer, M02, so any of them may carry it, as BOLT #4's
//!   non-strict forwarding allows);
//! - [`JitDecision::Rebalance`]: hold the HTLC until `hold_until` at the latest, run the
//!   rebalance, then forward on `forward_on`; on failure or timeout fail the HTLC with
//!   `temporary_channel_failure` as without JIT (R-JIT-5);
//! - [`JitDecision::Fail`]: fail it now.
//!
//! The amount is the shortfall times 1.25 (Core Lightning's `jitrebalance` plugin), capped so
//! that, once the HTLC has left, the next peer's channels are not above our target ν; it is at
//! least the shortfall. The source is one of our channels above target, never taken past it
//! (the same rule as the proactive planner, so JIT never undoes it); the cycle has the shapes
//! and the offer rules of the planner (R-REB-2, R-REB-3). An HTLC that is itself a fee-free
//! rebalance never triggers JIT (R-JIT-3): this is what rules out the recursive JIT deadlock
//! raised by ZmnSCPxj in the March 2019 thread.

use foaf_wire::ShortChannelId;

use crate::graph::ChannelGraph;
use crate::model::{Channel, Offer, PeerKey};
use crate::planner::{CircularRebalance, PlannerConfig, State};

/// Knobs of the JIT decision. `Default` gives the values docs/bolt14.md pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitConfig {
    /// Rebalance this percentage of the shortfall (room for the next HTLC). 125 (CLN).
    pub overshoot_percent: u64,
    /// Longest hold, seconds (R-JIT-4). 60 (CLN's `jitrebalance-try-timeout`).
    pub hold_timeout_secs: u64,
    /// No JIT when the HTLC's outgoing `cltv_expiry` is fewer than this many blocks away
    /// (R-JIT-4). 18 (BOLT #2's smallest recommended `min_final_cltv_expiry_delta`).
    pub min_blocks_to_expiry: u32,
    /// Offer freshness and minimum amount, shared with the planner.
    pub planner: PlannerConfig,
}

impl Default for JitConfig {
    fn default() -> Self {
        Self {
            overshoot_percent: 125,
            hold_timeout_secs: 60,
            min_blocks_to_expiry: 18,
            planner: PlannerConfig::default(),
        }
    }
}

/// An HTLC we are asked to forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtlcToForward {
    /// The outgoing channel the onion names.
    pub out_scid: ShortChannelId,
    /// The amount to forward (`amt_to_forward`), millisatoshi.
    pub amount_msat: u64,
    /// Blocks from the current height to the outgoing `cltv_expiry`.
    pub blocks_to_expiry: u32,
    /// True when the HTLC reached us as a fee-free rebalance (ours or someone else's): such an
    /// HTLC never triggers JIT (R-JIT-3).
    pub fee_free: bool,
}

/// Why JIT gives up: fail the HTLC with `temporary_channel_failure` (R-JIT-5), except for
/// [`JitFailure::UnknownChannel`] (`unknown_next_peer`, as BOLT #4 says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JitFailure {
    /// The outgoing channel is not one of our active channels.
    UnknownChannel,
    /// The HTLC is a fee-free rebalance: no JIT on top of it (R-JIT-3).
    NoRecursion,
    /// Too close to its `cltv_expiry` to hold (R-JIT-4).
    TooCloseToExpiry,
    /// No channel to the next peer could ever hold the amount.
    ExceedsCapacity,
    /// No offered cycle can move the shortfall (R-JIT-2).
    NoCycle,
}

/// What to do with an HTLC whose outgoing channel may lack liquidity.
#[derive(Debug, Clone, PartialEq)]
pub enum JitDecision<P> {
    /// Forward now on `scid` (a channel to the same peer with enough local balance).
    Forward {
        /// The channel to use.
        scid: ShortChannelId,
    },
    /// Hold the HTLC, run `rebalance`, then forward on `forward_on`; give up at `hold_until`.
    Rebalance {
        /// The circular rebalance to run (zero fees; its last hop arrives on `forward_on`).
        rebalance: CircularRebalance<P>,
        /// The channel to forward on once it completes.
        forward_on: ShortChannelId,
        /// What was missing on `forward_on`, millisatoshi.
        shortfall_msat: u64,
        /// Unix seconds after which the HTLC is failed whatever happened (R-JIT-4).
        hold_until: u64,
    },
    /// Fail the HTLC now.
    Fail(JitFailure),
}

/// Decides how to serve `htlc` (R-JIT-1…R-JIT-5). Inputs as for
/// [`plan_rebalances`](crate::planner::plan_rebalances); `now` is unix seconds.
pub fn jit_decide<P: PeerKey>(
    me: &P,
    channels: &[Channel<P>],
    offers: &[Offer<P>],
    graph: &ChannelGraph<P>,
    now: u64,
    htlc: &HtlcToForward,
    cfg: &JitConfig,
) -> JitDecision<P> {
    let Some(next) = channels
        .iter()
        .find(|c| c.scid == htlc.out_scid && c.is_active() && c.peer != *me)
        .map(|c| c.peer.clone())
    else {
        return JitDecision::Fail(JitFailure::UnknownChannel);
    };
    let Some(st) = State::new((me, channels, offers, graph, now), &cfg.planner) else {
        return JitDecision::Fail(JitFailure::UnknownChannel);
    };
    let amount = htlc.amount_msat;
    let peer_chans = st.chans.get(&next).cloned().unwrap_or_default();
    // R-JIT-1: only when no channel to the peer can carry it (the named one first).
    if let Some(&(s, _, _)) = peer_chans
        .iter()
        .filter(|(_, l, _)| *l >= amount)
        .min_by_key(|(s, l, _)| (*s != htlc.out_scid, u64::MAX - l, *s))
    {
        return JitDecision::Forward { scid: s };
    }
    if htlc.fee_free {
        return JitDecision::Fail(JitFailure::NoRecursion);
    }
    if htlc.blocks_to_expiry < cfg.min_blocks_to_expiry {
        return JitDecision::Fail(JitFailure::TooCloseToExpiry);
    }
    // Refill the channel to the peer that needs the least (most local; ties: smaller scid)
    // among those that can hold the amount at all.
    let Some(&(x_scid, x_local, x_cap)) = peer_chans
        .iter()
        .filter(|(_, _, c)| *c >= amount)
        .min_by_key(|(s, l, _)| (u64::MAX - l, *s))
    else {
        return JitDecision::Fail(JitFailure::ExceedsCapacity);
    };
    let shortfall = amount - x_local;
    let (peer_local, peer_cap) = st.totals[&next];
    // After the rebalance r and the forward, the peer's merged local is peer_local + r − amount;
    // keep it at or below ν·cap (R-JIT-2), but never rebalance less than the shortfall.
    let room = i128::from(
        crate::imbalance::mul_div_floor(st.sum_local, u128::from(peer_cap), st.sum_cap)
            .unwrap_or(peer_cap),
    ) - i128::from(peer_local)
        + i128::from(amount);
    let target_cap = u64::try_from(room.max(0)).unwrap_or(u64::MAX);
    let wanted =
        u64::try_from((u128::from(shortfall) * u128::from(cfg.overshoot_percent)).div_ceil(100))
            .unwrap_or(u64::MAX)
            .min(target_cap)
            .min(x_cap - x_local)
            .max(shortfall);

    // (amount, hops, scids, rebalance)
    let mut best: Option<(u64, usize, Vec<ShortChannelId>, CircularRebalance<P>)> = None;
    let g0 = st.gini();
    for src in st.totals.keys() {
        if *src == next {
            continue;
        }
        let surplus = st.surplus(src);
        let Some((src_scid, src_liq)) = st.best_out_channel(src) else {
            continue;
        };
        let own = surplus.min(src_liq).min(wanted);
        if own < shortfall {
            continue;
        }
        for path in st.foreign_paths(src, &next) {
            let amt = own.min(path.cap);
            if amt < shortfall {
                continue;
            }
            let hops = st.hops(src, src_scid, &path, &next, x_scid, amt);
            let scids: Vec<_> = hops.iter().map(|h| h.scid).collect();
            let better = match &best {
                None => true,
                Some((ba, bl, bs, _)) => amt
                    .cmp(ba)
                    .reverse()
                    .then(hops.len().cmp(bl))
                    .then_with(|| scids.cmp(bs))
                    .is_lt(),
            };
            if better {
                let reb = CircularRebalance {
                    imbalance_before: g0,
                    imbalance_after: g0, // set below, once, for the chosen one
                    hops,
                    amount_msat: amt,
                };
                best = Some((amt, reb.hops.len(), scids, reb));
            }
        }
    }
    match best {
        Some((_, _, _, mut rebalance)) => JitDecision::Rebalance {
            rebalance: {
                rebalance.imbalance_after =
                    st.gini_after(rebalance.out_peer(), &next, rebalance.amount_msat);
                rebalance
            },
            forward_on: x_scid,
            shortfall_msat: shortfall,
            hold_until: now.saturating_add(cfg.hold_timeout_secs),
        },
        None => JitDecision::Fail(JitFailure::NoCycle),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{ch, scid};
    use foaf_wire::Flow;

    fn offer(peer: &str, n: u64, flow: Flow, amt: u64) -> Offer<String> {
        Offer {
            peer: peer.into(),
            scid: scid(n),
            flow,
            amt_msat: amt,
            timestamp: 100,
        }
    }

    /// `jit_decide` as node "me" at time 100 with the default JIT config.
    fn decide(
        chans: &[Channel<String>],
        offers: &[Offer<String>],
        graph: &ChannelGraph<String>,
        h: &HtlcToForward,
    ) -> JitDecision<String> {
        jit_decide(
            &"me".into(),
            chans,
            offers,
            graph,
            100,
            h,
            &Default::default(),
        )
    }

    fn setup() -> (Vec<Channel<String>>, ChannelGraph<String>) {
        // us–a: a lot local (source); us–b: little local (the HTLC's outgoing channel).
        let chans = vec![
            ch("a", 1, 1_000_000, 900_000),
            ch("b", 2, 1_000_000, 100_000),
        ];
        let graph: ChannelGraph<String> = [
            (scid(1), "me".to_string(), "a".to_string()),
            (scid(2), "me".to_string(), "b".to_string()),
            (scid(3), "a".to_string(), "b".to_string()),
        ]
        .into_iter()
        .collect();
        (chans, graph)
    }

    fn htlc(amount: u64) -> HtlcToForward {
        HtlcToForward {
            out_scid: scid(2),
            amount_msat: amount,
            blocks_to_expiry: 40,
            fee_free: false,
        }
    }

    // R: R-JIT-1
    #[test]
    fn enough_liquidity_forwards_at_once() {
        let (chans, graph) = setup();
        let d = decide(&chans, &[], &graph, &htlc(100_000));
        assert_eq!(d, JitDecision::Forward { scid: scid(2) });
    }

    // R: R-JIT-2
    #[test]
    fn shortfall_times_five_quarters_over_an_offered_cycle() {
        let (chans, graph) = setup();
        let offers = [offer("a", 3, Flow::Push, 1_000_000)];
        let d = decide(&chans, &offers, &graph, &htlc(300_000));
        let JitDecision::Rebalance {
            rebalance,
            forward_on,
            shortfall_msat,
            hold_until,
        } = d
        else {
            panic!("{d:?}");
        };
        assert_eq!(shortfall_msat, 200_000);
        assert_eq!(rebalance.amount_msat, 250_000);
        assert_eq!(rebalance.scids(), vec![scid(1), scid(3), scid(2)]);
        assert_eq!(forward_on, scid(2));
        assert_eq!(hold_until, 160); // R-JIT-4: 60 s
    }

    // R: R-JIT-2
    #[test]
    fn offer_smaller_than_shortfall_means_no_cycle() {
        let (chans, graph) = setup();
        let offers = [offer("a", 3, Flow::Push, 199_999)];
        let d = decide(&chans, &offers, &graph, &htlc(300_000));
        assert_eq!(d, JitDecision::Fail(JitFailure::NoCycle));
        // Between the shortfall and 1.25× it: the offer caps the amount.
        let offers = [offer("a", 3, Flow::Push, 210_000)];
        let d = decide(&chans, &offers, &graph, &htlc(300_000));
        let JitDecision::Rebalance { rebalance, .. } = d else {
            panic!()
        };
        assert_eq!(rebalance.amount_msat, 210_000);
    }

    // R: R-JIT-3
    #[test]
    fn fee_free_htlcs_never_trigger_jit() {
        let (chans, graph) = setup();
        let offers = [offer("a", 3, Flow::Push, 1_000_000)];
        let h = HtlcToForward {
            fee_free: true,
            ..htlc(300_000)
        };
        let d = decide(&chans, &offers, &graph, &h);
        assert_eq!(d, JitDecision::Fail(JitFailure::NoRecursion));
    }

    // R: R-JIT-4
    #[test]
    fn too_close_to_expiry() {
        let (chans, graph) = setup();
        let offers = [offer("a", 3, Flow::Push, 1_000_000)];
        let h = HtlcToForward {
            blocks_to_expiry: 17,
            ..htlc(300_000)
        };
        let d = decide(&chans, &offers, &graph, &h);
        assert_eq!(d, JitDecision::Fail(JitFailure::TooCloseToExpiry));
    }

    // R: R-JIT-2, R-REB-1
    #[test]
    fn source_never_goes_below_its_target() {
        // ν = 0.5; a has 900k of 1M: surplus 400k. Shortfall 450k > 400k: no JIT.
        let chans = vec![
            ch("a", 1, 1_000_000, 900_000),
            ch("b", 2, 1_000_000, 100_000),
        ];
        let (_, graph) = setup();
        let offers = [offer("a", 3, Flow::Push, 10_000_000)];
        let d = decide(&chans, &offers, &graph, &htlc(550_000));
        assert_eq!(d, JitDecision::Fail(JitFailure::NoCycle));
        let d = decide(&chans, &offers, &graph, &htlc(500_000));
        let JitDecision::Rebalance { rebalance, .. } = d else {
            panic!()
        };
        assert_eq!(rebalance.amount_msat, 400_000); // capped by a's surplus, ≥ shortfall
    }

    // R: M02
    #[test]
    fn parallel_channel_to_the_same_peer_forwards() {
        let (mut chans, graph) = setup();
        chans.push(ch("b", 4, 1_000_000, 600_000));
        let d = decide(&chans, &[], &graph, &htlc(300_000));
        assert_eq!(d, JitDecision::Forward { scid: scid(4) });
    }

    #[test]
    fn unknown_channel() {
        let (chans, graph) = setup();
        let h = HtlcToForward {
            out_scid: scid(99),
            ..htlc(1)
        };
        let d = decide(&chans, &[], &graph, &h);
        assert_eq!(d, JitDecision::Fail(JitFailure::UnknownChannel));
    }
}
