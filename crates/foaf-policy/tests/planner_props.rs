//! Properties of the rebalancing planner and the JIT decision on random small nodes, checked
//! against independent reference code written from docs/bolt14.md (not from planner.rs).

use std::collections::BTreeMap;

use foaf_policy::{
    apply_rebalance, imbalance, jit_decide, plan_rebalances, Channel, ChannelGraph, ChannelState,
    CircularRebalance, HopRule, HtlcToForward, JitConfig, JitDecision, JitFailure, Offer,
    PlannerConfig,
};
use foaf_wire::{Flow, ShortChannelId};
use proptest::prelude::*;

const ME: u32 = 0;
const NOW: u64 = 10_000;

fn scid(n: u64) -> ShortChannelId {
    ShortChannelId::from_u64(n)
}

/// A random node: our channels (peers 1..=k, sometimes two to one peer), foreign channels among
/// peers and strangers (100..), offers from our peers on those channels.
#[derive(Debug, Clone)]
struct Node {
    chans: Vec<Channel<u32>>,
    graph: ChannelGraph<u32>,
    offers: Vec<Offer<u32>>,
}

fn node() -> impl Strategy<Value = Node> {
    (2u32..6, 0u32..3).prop_flat_map(|(k, strangers)| {
        let others: Vec<u32> = (1..=k).chain(100..100 + strangers).collect();
        let own = prop::collection::vec(
            (1..=k, 1u64..=10, 0u64..=100, any::<bool>()),
            k as usize..(2 * k as usize + 2),
        );
        let n = others.len();
        let foreign = prop::collection::vec((0..n, 0..n), 0..(3 * n));
        let offers = prop::collection::vec(
            (
                0usize..64,
                any::<bool>(),
                any::<bool>(),
                0u64..=1_200,
                0u64..1_400,
            ),
            0..24,
        );
        (Just(others), own, foreign, offers).prop_map(|(others, own, foreign, offers)| {
            let mut chans = Vec::new();
            let mut graph = ChannelGraph::new();
            let mut next = 1u64;
            for (peer, cap, pct, closing) in own {
                let cap = cap * 100_000;
                let s = scid(next);
                next += 1;
                chans.push(Channel {
                    scid: s,
                    peer,
                    capacity_msat: cap,
                    local_msat: cap * pct / 100,
                    announced: true,
                    // A few closing channels: they must be ignored.
                    state: if closing && pct % 7 == 0 {
                        ChannelState::Closing
                    } else {
                        ChannelState::Normal
                    },
                });
                graph.insert(s, ME, peer);
            }
            let mut foreign_ids = Vec::new();
            for (a, b) in foreign {
                if a != b {
                    let s = scid(1000 + next);
                    next += 1;
                    graph.insert(s, others[a], others[b]);
                    foreign_ids.push((s, others[a], others[b]));
                }
            }
            let mut offs = Vec::new();
            if !foreign_ids.is_empty() {
                for (i, which_end, push, amt, age) in offers {
                    let (s, a, b) = foreign_ids[i % foreign_ids.len()];
                    let peer = if which_end { a } else { b };
                    offs.push(Offer {
                        peer,
                        scid: s,
                        flow: if push { Flow::Push } else { Flow::Receive },
                        amt_msat: amt * 1_000,
                        // Mostly fresh; some stale (> 600 s old) or future-dated.
                        timestamp: NOW + 700 - age,
                    });
                }
            }
            Node {
                chans,
                graph,
                offers: offs,
            }
        })
    })
}

/// Reference: which offers allow moving funds from `from` to `to` over foreign `s`, by the
/// rules of R-REB-3 (newest per (peer, scid, flow); fresh; offering peer is our peer and an
/// endpoint; channel not ours). Returns the smallest offered amount, or None if not offered.
fn offered_cap(n: &Node, from: u32, to: u32, s: ShortChannelId) -> Option<u64> {
    let our_peers: Vec<u32> = n
        .chans
        .iter()
        .filter(|c| c.state == ChannelState::Normal && c.capacity_msat > 0)
        .map(|c| c.peer)
        .collect();
    let (a, b) = n.graph.endpoints(s)?;
    if *a == ME || *b == ME || !([*a, *b] == [from, to] || [*b, *a] == [from, to]) {
        return None;
    }
    let mut newest: BTreeMap<(u32, Flow), (u64, u64)> = BTreeMap::new();
    for o in n.offers.iter().filter(|o| o.scid == s) {
        let e = newest.entry((o.peer, o.flow)).or_insert((0, 0));
        if o.timestamp >= e.0 {
            *e = (o.timestamp, o.amt_msat);
        }
    }
    let fresh = |ts: u64| NOW.saturating_sub(ts) <= 600 && ts <= NOW + 600;
    [(from, Flow::Push), (to, Flow::Receive)]
        .into_iter()
        .filter(|(p, _)| our_peers.contains(p))
        .filter_map(|k| newest.get(&k))
        .filter(|(ts, amt)| fresh(*ts) && *amt > 0)
        .map(|(_, amt)| *amt)
        .min()
}

/// Reference merged totals (M02) and Σ over active channels.
fn totals(chans: &[Channel<u32>]) -> (BTreeMap<u32, (u128, u128)>, u128, u128) {
    let mut t: BTreeMap<u32, (u128, u128)> = BTreeMap::new();
    for c in chans
        .iter()
        .filter(|c| c.state == ChannelState::Normal && c.capacity_msat > 0)
    {
        let e = t.entry(c.peer).or_default();
        e.0 += u128::from(c.local_msat);
        e.1 += u128::from(c.capacity_msat);
    }
    let sl = t.values().map(|x| x.0).sum();
    let sc = t.values().map(|x| x.1).sum();
    (t, sl, sc)
}

/// Checks one rebalance against the rules, with `used` the amounts already planned per
/// directed foreign use. Panics with the broken rule.
fn check_rebalance(
    n: &Node,
    chans: &[Channel<u32>],
    r: &CircularRebalance<u32>,
    used: &mut BTreeMap<(u32, u32, ShortChannelId), u64>,
) {
    // R: R-REB-2 (shapes), R-REB-5 (zero fees)
    assert!(r.hops.len() == 3 || r.hops.len() == 4, "{r:?}");
    assert_eq!(r.hops[0].from, ME);
    assert_eq!(r.hops.last().unwrap().to, ME);
    for w in r.hops.windows(2) {
        assert_eq!(w[0].to, w[1].from);
    }
    assert!(r
        .hops
        .iter()
        .all(|h| h.fee_msat == 0 && h.amount_msat == r.amount_msat));
    assert_ne!(r.out_peer(), r.in_peer(), "M02: same peer both ends");
    let own = |s: ShortChannelId, peer: u32| {
        chans
            .iter()
            .any(|c| c.scid == s && c.peer == peer && c.state == ChannelState::Normal)
    };
    assert!(own(r.out_scid(), *r.out_peer()));
    assert!(own(r.in_scid(), *r.in_peer()));
    // R: R-REB-3: every other hop offered, never past the offer (cumulatively).
    for h in &r.hops[1..r.hops.len() - 1] {
        let cap = offered_cap(n, h.from, h.to, h.scid)
            .unwrap_or_else(|| panic!("unoffered channel used: {h:?}"));
        let u = used.entry((h.from, h.to, h.scid)).or_default();
        *u += h.amount_msat;
        assert!(*u <= cap, "amount past the offer: {u} > {cap}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Applying the plan strictly lowers G; every step does; the initiator's legs keep the
    /// hop rule (the peer left to stays at or above its target, except under gini-only; the
    /// peer returned from stays at or below it under both-sides); no unoffered channel, no
    /// amount past an offer.
    // R: M01, M02, R-REB-1, R-REB-3, R-REB-4, R-REB-5
    #[test]
    fn plan_strictly_lowers_gini_and_respects_offers(n in node(), rule in 0usize..3) {
        let rule = HopRule::ALL[rule];
        let cfg = PlannerConfig { rule, ..PlannerConfig::default() };
        let plan = plan_rebalances(&ME, &n.chans, &n.offers, &n.graph, NOW, &cfg);
        let mut chans = n.chans.clone();
        let g_start = imbalance(&chans);
        let (_, sl, sc) = totals(&chans);
        let mut used = BTreeMap::new();
        for r in &plan {
            check_rebalance(&n, &chans, r, &mut used);
            let g0 = imbalance(&chans);
            prop_assert!((r.imbalance_before - g0).abs() < 1e-9);
            // Liquidity on the concrete channels.
            let out = chans.iter().find(|c| c.scid == r.out_scid()).unwrap();
            prop_assert!(out.local_msat >= r.amount_msat);
            let inn = chans.iter().find(|c| c.scid == r.in_scid()).unwrap();
            prop_assert!(inn.capacity_msat - inn.local_msat >= r.amount_msat);
            apply_rebalance(&mut chans, r);
            let g1 = imbalance(&chans);
            prop_assert!(g1 < g0, "G did not drop: {g0} -> {g1}");
            prop_assert!((r.imbalance_after - g1).abs() < 1e-9);
            // R-REB-1: ν unchanged, out peer still ≥ target, in peer still ≤ target (exact),
            // as far as the rule asks.
            let (t, sl2, sc2) = totals(&chans);
            prop_assert_eq!((sl, sc), (sl2, sc2));
            let (ol, oc) = t[r.out_peer()];
            if rule != HopRule::GiniOnly {
                prop_assert!(ol * sc >= sl * oc, "out peer pushed below target");
            }
            let (il, ic) = t[r.in_peer()];
            if rule == HopRule::BothSides {
                prop_assert!(il * sc <= sl * ic, "in peer pushed above target");
            }
        }
        if !plan.is_empty() {
            prop_assert!(imbalance(&chans) < g_start);
        }
    }

    /// JIT finds a cycle exactly when one exists (brute force over all 3- and 4-cycles).
    // R: R-JIT-1, R-JIT-2, R-REB-2, R-REB-3, M02
    #[test]
    fn jit_finds_a_cycle_whenever_one_exists(
        n in node(),
        pick in 0usize..16,
        amt_pct in 1u64..=120,
    ) {
        let active: Vec<&Channel<u32>> = n.chans.iter()
            .filter(|c| c.state == ChannelState::Normal)
            .collect();
        prop_assume!(!active.is_empty());
        let out = active[pick % active.len()];
        let amount = out.capacity_msat * amt_pct / 100;
        let htlc = HtlcToForward {
            out_scid: out.scid,
            amount_msat: amount,
            blocks_to_expiry: 100,
            fee_free: false,
        };
        let cfg = JitConfig::default();
        let d = jit_decide(&ME, &n.chans, &n.offers, &n.graph, NOW, &htlc, &cfg);
        let b = out.peer;
        let b_chans: Vec<&&Channel<u32>> = active.iter().filter(|c| c.peer == b).collect();
        // R-JIT-1 / M02: any channel to the peer with enough local balance carries it.
        if b_chans.iter().any(|c| c.local_msat >= amount) {
            let JitDecision::Forward { scid } = d else {
                return Err(TestCaseError::fail(format!("expected Forward, got {d:?}")));
            };
            let c = b_chans.iter().find(|c| c.scid == scid).unwrap();
            prop_assert!(c.local_msat >= amount);
            return Ok(());
        }
        // Reference: the channel to refill is the one with most local among those that can
        // hold the amount (ties: smaller scid).
        let Some(x) = b_chans.iter()
            .filter(|c| c.capacity_msat >= amount)
            .min_by_key(|c| (u64::MAX - c.local_msat, c.scid))
        else {
            prop_assert_eq!(d, JitDecision::Fail(JitFailure::ExceedsCapacity));
            return Ok(());
        };
        let s = amount - x.local_msat;
        let (t, sl, sc) = totals(&n.chans);
        let surplus_ok = |a: u32| {
            let (l, c) = t[&a];
            l * sc >= sl * c + u128::from(s) * sc
        };
        // Brute force over every (source channel, foreign path) of the two shapes.
        let mut exists = false;
        for c1 in &active {
            let a = c1.peer;
            if a == b || c1.local_msat < s || !surplus_ok(a) {
                continue;
            }
            for (s1, e1a, e1b) in n.graph.iter() {
                for (from, y) in [(*e1a, *e1b), (*e1b, *e1a)] {
                    if from != a || y == ME {
                        continue;
                    }
                    let Some(cap1) = offered_cap(&n, a, y, s1) else { continue };
                    if cap1 < s {
                        continue;
                    }
                    if y == b {
                        exists = true;
                        continue;
                    }
                    for (s2, e2a, e2b) in n.graph.iter() {
                        let ok_ends = (*e2a == y && *e2b == b) || (*e2b == y && *e2a == b);
                        if !ok_ends || y == a || s2 == s1 {
                            continue;
                        }
                        if offered_cap(&n, y, b, s2).is_some_and(|c2| c2 >= s) {
                            exists = true;
                        }
                    }
                }
            }
        }
        match d {
            JitDecision::Rebalance { rebalance, forward_on, shortfall_msat, hold_until } => {
                prop_assert!(exists, "JIT found a cycle brute force did not");
                prop_assert_eq!(forward_on, x.scid);
                prop_assert_eq!(shortfall_msat, s);
                prop_assert_eq!(hold_until, NOW + 60);
                prop_assert_eq!(rebalance.in_scid(), x.scid);
                prop_assert!(rebalance.amount_msat >= s);
                // 1.25× the shortfall at most (R-JIT-2).
                prop_assert!(u128::from(rebalance.amount_msat) * 100 <= u128::from(s) * 125 + 99);
                let mut used = BTreeMap::new();
                check_rebalance(&n, &n.chans, &rebalance, &mut used);
                // The source is not taken below its target (R-REB-1).
                let (l, c) = t[rebalance.out_peer()];
                prop_assert!((l - u128::from(rebalance.amount_msat)) * sc >= sl * c);
            }
            JitDecision::Fail(JitFailure::NoCycle) => {
                prop_assert!(!exists, "a cycle exists but JIT found none");
            }
            other => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
        }
    }
}

/// The random nodes above must exercise the interesting cases, or the properties prove little:
/// over a fixed sample, some plans are non-empty, use 4-cycles, and JIT both succeeds and fails.
#[test]
fn generator_covers_the_interesting_cases() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut plans, mut four, mut steps, mut jit_ok, mut jit_none) = (0, 0, 0, 0, 0);
    for _ in 0..500 {
        let n = node().new_tree(&mut runner).unwrap().current();
        let plan = plan_rebalances(
            &ME,
            &n.chans,
            &n.offers,
            &n.graph,
            NOW,
            &PlannerConfig::default(),
        );
        plans += usize::from(!plan.is_empty());
        steps += plan.len();
        four += plan.iter().filter(|r| r.hops.len() == 4).count();
        for c in n.chans.iter().filter(|c| c.state == ChannelState::Normal) {
            let htlc = HtlcToForward {
                out_scid: c.scid,
                amount_msat: c.local_msat + c.capacity_msat / 4,
                blocks_to_expiry: 100,
                fee_free: false,
            };
            match jit_decide(
                &ME,
                &n.chans,
                &n.offers,
                &n.graph,
                NOW,
                &htlc,
                &JitConfig::default(),
            ) {
                JitDecision::Rebalance { .. } => jit_ok += 1,
                JitDecision::Fail(JitFailure::NoCycle) => jit_none += 1,
                _ => {}
            }
        }
    }
    eprintln!(
        "plans {plans}, steps {steps}, 4-cycles {four}, jit ok {jit_ok}, jit none {jit_none}"
    );
    assert!(plans >= 50 && four >= 10 && steps > plans && jit_ok >= 30 && jit_none >= 30);
}
