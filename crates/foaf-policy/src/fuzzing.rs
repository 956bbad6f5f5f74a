//! Fuzz-target logic for the rebalancing planner and the zero-fee hop check (built with the
//! `fuzzing` feature).
//!
//! [`planner_and_hop`] reads, with `arbitrary`, a node (our channels to a few peers, parallel
//! and closing ones included, balances and capacities over the whole u64 range), a public graph
//! among our peers and strangers, offers (stale, future-dated, zero and huge amounts included),
//! a hop rule, a clock and a list of zero-fee forwards, then checks against oracle code written
//! here from docs/bolt14.md (not from the planner):
//!
//! - every planned rebalance is a 3- or 4-hop cycle from us back to us through two different
//!   peers of ours, one amount on every hop, fee 0 (R-REB-2); every foreign hop is covered by a
//!   fresh, newest offer of a peer of ours that is an endpoint, in the offered direction, and the
//!   amounts of a plan add up to at most the smallest offer covering each use (R-REB-3, a 0 offer
//!   forbids); the amount fits the concrete channels and leaves the peer we send to at or above
//!   ν (or, with [`OutCap::Balance`], that peer started above ν), a sink we return from at or
//!   below it unless the sink cap is off, as the rule asks (R-REB-1); G strictly drops at every
//!   step (R-REB-4);
//! - a forward the hop check accepts passes every condition of R-REB-5 (two peers, liquidity,
//!   the rule's balance condition, exact; G strictly drops) and of R-REB-7 (budget); and one the
//!   oracle finds clearly acceptable (G drops by more than rounding) is accepted;
//! - nothing panics or overflows, whatever the sizes (sums of u64 balances pass 2⁶⁴).
//!
//! The cargo-fuzz binary `fuzz/fuzz_targets/planner_hop.rs` is a one-liner over this function;
//! the crate's tests replay `fuzz/seeds/planner_hop/` through it.

use std::collections::BTreeMap;

use arbitrary::Unstructured;
use foaf_wire::{Flow, ShortChannelId};

use crate::graph::ChannelGraph;
use crate::hop_check::{check_fee_free_forward, FeeFreeForward, HopConfig, HopRule};
use crate::imbalance::imbalance;
use crate::model::{Channel, ChannelState, Offer};
use crate::planner::{apply_rebalance, plan_rebalances, CircularRebalance, OutCap, PlannerConfig};

pub use foaf_wire::fuzzing::{replay_seeds, Target};

/// Every target of this crate, by the name of its cargo-fuzz binary.
pub const TARGETS: &[Target] = &[("planner_hop", planner_and_hop)];

const ME: u32 = 0;
const NOW: u64 = 1_000_000;

fn scid(n: u64) -> ShortChannelId {
    ShortChannelId::from_u64(n)
}

/// A zero-fee forward to check: indices into our channels, an amount, the budget used.
#[derive(Debug)]
struct ForwardIn {
    into: u8,
    out: u8,
    amount: u64,
    used: u64,
}

struct Node {
    rule: HopRule,
    gini_test: bool,
    /// The initiator's caps (R-REB-1): read last, so an input that ends before them (every
    /// seed older than them) gets the old ones, surplus and sink cap.
    out_cap: OutCap,
    sink_cap: bool,
    chans: Vec<Channel<u32>>,
    graph: ChannelGraph<u32>,
    offers: Vec<Offer<u32>>,
    foreign: Vec<(ShortChannelId, u32, u32)>,
    forwards: Vec<ForwardIn>,
}

/// Reads a node densely from the input (small counts, ids from small pools), so that random
/// bytes already reach plans and accepted forwards; `huge` lets sizes span the whole u64 range.
fn build(u: &mut Unstructured<'_>) -> arbitrary::Result<Node> {
    let rule = HopRule::ALL[u.choose_index(HopRule::ALL.len())?];
    let gini_test = !u.ratio(1, 8)?;
    let huge = u.ratio(1, 8)?;
    let peers: u32 = u.int_in_range(2..=5)?;
    let extra: u32 = u.int_in_range(0..=3)?;
    let mut chans = Vec::new();
    let mut graph = ChannelGraph::new();
    for i in 0..peers + extra {
        let peer = if i < peers {
            1 + i
        } else {
            u.int_in_range(1..=peers)?
        };
        let capacity = if huge {
            u.int_in_range(1..=u64::MAX)?
        } else {
            u.int_in_range(1..=10_000_000)?
        };
        let share: u16 = u.arbitrary()?;
        let local = (u128::from(capacity) * u128::from(share) / u128::from(u16::MAX)) as u64;
        let s = scid(1 + u64::from(i));
        chans.push(Channel {
            scid: s,
            peer,
            capacity_msat: capacity,
            local_msat: local,
            announced: true,
            state: if u.ratio(1, 10)? {
                ChannelState::Closing
            } else {
                ChannelState::Normal
            },
        });
        graph.insert(s, ME, peer);
    }
    // Foreign nodes: our peers 1..=peers and two strangers.
    let others = peers + 2;
    let mut foreign = Vec::new();
    for i in 0..u.int_in_range(1..=10u64)? {
        let (a, b) = (u.int_in_range(1..=others)?, u.int_in_range(1..=others)?);
        if a != b {
            let s = scid(100 + i);
            graph.insert(s, a, b);
            foreign.push((s, a, b));
        }
    }
    let mut offers = Vec::new();
    for _ in 0..u.int_in_range(0..=12)? {
        if foreign.is_empty() {
            break;
        }
        let (s, a, b) = foreign[u.choose_index(foreign.len())?];
        // Mostly an endpoint; sometimes anyone, which must be ignored.
        let peer = match u.int_in_range(0..=3)? {
            0 | 1 => a,
            2 => b,
            _ => u.int_in_range(1..=others)?,
        };
        let amount = if huge {
            u.arbitrary()?
        } else if u.ratio(1, 8)? {
            0
        } else {
            u.int_in_range(1..=20_000_000)?
        };
        // Within ±700 s: mostly fresh, some stale or too far ahead (600 s, R-REB-3).
        let age: i64 = u.int_in_range(-700..=700)?;
        offers.push(Offer {
            peer,
            scid: s,
            flow: if u.arbitrary()? {
                Flow::Push
            } else {
                Flow::Receive
            },
            amt_msat: amount,
            timestamp: NOW.saturating_add_signed(age),
        });
    }
    let mut forwards = Vec::new();
    for _ in 0..u.int_in_range(0..=8)? {
        forwards.push(ForwardIn {
            into: u.arbitrary()?,
            out: u.arbitrary()?,
            amount: u.arbitrary()?,
            used: u.arbitrary()?,
        });
    }
    let out_cap = if u.arbitrary()? {
        OutCap::Balance
    } else {
        OutCap::Surplus
    };
    let sink_cap = !u.arbitrary::<bool>()?;
    Ok(Node {
        rule,
        gini_test,
        out_cap,
        sink_cap,
        chans,
        graph,
        offers,
        foreign,
        forwards,
    })
}

/// Per peer (Σ local, Σ capacity) over active channels with capacity (M02), and the sums.
fn merged(chans: &[Channel<u32>]) -> (BTreeMap<u32, (u128, u128)>, u128, u128) {
    let mut m: BTreeMap<u32, (u128, u128)> = BTreeMap::new();
    for c in chans
        .iter()
        .filter(|c| c.state == ChannelState::Normal && c.capacity_msat > 0)
    {
        let e = m.entry(c.peer).or_default();
        e.0 += u128::from(c.local_msat.min(c.capacity_msat));
        e.1 += u128::from(c.capacity_msat);
    }
    let (l, k) = m.values().fold((0, 0), |(l, k), v| (l + v.0, k + v.1));
    (m, l, k)
}

/// The offers the planner may use: newest per (peer, scid, flow), fresh, from a peer of ours
/// that is an endpoint; per directed use, the smallest amount covering it.
fn offer_caps(n: &Node, peers: &BTreeMap<u32, (u128, u128)>) -> BTreeMap<(u32, u32, u64), u64> {
    let mut newest: BTreeMap<(u32, u64, bool), &Offer<u32>> = BTreeMap::new();
    for o in &n.offers {
        let k = (o.peer, o.scid.to_u64(), o.flow == Flow::Push);
        if newest.get(&k).is_none_or(|p| o.timestamp >= p.timestamp) {
            newest.insert(k, o);
        }
    }
    let cfg = PlannerConfig::default();
    let mut caps: BTreeMap<(u32, u32, u64), u64> = BTreeMap::new();
    for o in newest.values() {
        let fresh = NOW.saturating_sub(o.timestamp) <= cfg.max_offer_age_secs
            && o.timestamp <= NOW + cfg.max_future_secs;
        let Some(&(_, a, b)) = n.foreign.iter().rev().find(|f| f.0 == o.scid) else {
            continue;
        };
        if !fresh || !peers.contains_key(&o.peer) || (o.peer != a && o.peer != b) {
            continue;
        }
        let other = if o.peer == a { b } else { a };
        let (from, to) = match o.flow {
            Flow::Push => (o.peer, other),
            Flow::Receive => (other, o.peer),
        };
        let e = caps.entry((from, to, o.scid.to_u64())).or_insert(u64::MAX);
        *e = (*e).min(o.amt_msat);
    }
    caps
}

fn check_plan(n: &Node, plan: &[CircularRebalance<u32>]) {
    let rule = n.rule;
    let (peers, sl, sc) = merged(&n.chans);
    let caps = offer_caps(n, &peers);
    let mut used: BTreeMap<(u32, u32, u64), u128> = BTreeMap::new();
    let mut chans = n.chans.clone();
    for r in plan {
        let len = r.hops.len();
        assert!(len == 3 || len == 4, "R-REB-2: {len} hops");
        assert!(r
            .hops
            .iter()
            .all(|h| h.fee_msat == 0 && h.amount_msat == r.amount_msat));
        assert!(r.amount_msat >= PlannerConfig::default().min_amount_msat);
        let (out, inp) = (r.hops[0].to, r.hops[len - 1].from);
        assert_eq!((r.hops[0].from, r.hops[len - 1].to), (ME, ME));
        assert!(out != inp && out != ME && inp != ME, "R-REB-2: {r:?}");
        assert!(r.hops.windows(2).all(|w| w[0].to == w[1].from));
        if len == 4 {
            let x = r.hops[1].to;
            assert!(x != ME && x != out && x != inp, "R-REB-2: {r:?}");
        }
        for h in &r.hops[1..len - 1] {
            let k = (h.from, h.to, h.scid.to_u64());
            let cap = *caps
                .get(&k)
                .unwrap_or_else(|| panic!("R-REB-3: unoffered use {h:?}"));
            let u = used.entry(k).or_default();
            *u += u128::from(h.amount_msat);
            assert!(*u <= u128::from(cap), "R-REB-3: {u} past the offer {cap}");
        }
        // R-REB-1 on the concrete channels and the merged peers (exact, u128 suffices for the
        // small sizes; with huge ones only the channel liquidity is checked here).
        let find = |s: ShortChannelId| chans.iter().find(|c| c.scid == s).expect("our channel");
        let (co, ci) = (find(r.out_scid()), find(r.in_scid()));
        assert!(co.peer == out && ci.peer == inp);
        assert!(co.local_msat >= r.amount_msat, "R-REB-1: out liquidity");
        assert!(
            ci.capacity_msat - ci.local_msat >= r.amount_msat,
            "R-REB-1: in room"
        );
        let (now_peers, _, _) = merged(&chans);
        let amt = u128::from(r.amount_msat);
        if sc < 1 << 64 {
            let (ol, ok) = now_peers[&out];
            let (il, ik) = now_peers[&inp];
            match (rule, n.out_cap) {
                (HopRule::GiniOnly, _) => {}
                (_, OutCap::Surplus) => assert!(
                    (ol - amt) * sc >= sl * ok,
                    "R-REB-1: out peer pushed below ν"
                ),
                // A source: a surplus L − ⌈ν·K⌉ of at least 1 msat (R-CM-3).
                (_, OutCap::Balance) => assert!(
                    ol >= 1 && (ol - 1) * sc >= sl * ok,
                    "R-REB-1: out peer not above ν"
                ),
            }
            // A sink has a deficit ⌊ν·K − L⌋ of at least 1 msat (R-CM-3).
            let sink = (il + 1) * sc <= sl * ik;
            if rule == HopRule::BothSides || (rule == HopRule::Sender && sink && n.sink_cap) {
                assert!((il + amt) * sc <= sl * ik, "R-REB-1: in peer pushed past ν");
            }
            if rule == HopRule::BothSides {
                assert!(sink, "both-sides: the in peer is a sink");
            }
        }
        let g0 = imbalance(&chans);
        apply_rebalance(&mut chans, r);
        let g1 = imbalance(&chans);
        assert!(r.imbalance_after < r.imbalance_before, "R-REB-4: {r:?}");
        // Past 2⁶⁴ msat per node (more than all bitcoin) the planner's sums saturate: only
        // "no panic" is asked there.
        if sc < 1 << 64 {
            assert!(g1 < g0 + 1e-9, "R-REB-4: G {g0} -> {g1}");
        }
    }
}

/// Checks one forward; true when the hop check accepted it.
fn check_forward(n: &Node, cfg: &HopConfig, f: &ForwardIn) -> bool {
    if n.chans.is_empty() {
        return false;
    }
    let pick = |i: u8| &n.chans[usize::from(i) % n.chans.len()];
    let (cin, cout) = (pick(f.into), pick(f.out));
    // Half the inputs within the outgoing balance, so the balance rules are reached.
    let amount = match cout.local_msat.checked_add(1) {
        Some(m) if f.amount % 2 == 1 => f.amount % m,
        _ => f.amount,
    };
    let fwd = FeeFreeForward {
        in_scid: cin.scid,
        out_scid: cout.scid,
        amount_msat: amount,
        offered_at: None,
        budget_used_msat: f.used % 4_000_000,
    };
    let got = check_fee_free_forward(&n.chans, &fwd, NOW, cfg);
    let active = |c: &Channel<u32>| c.state == ChannelState::Normal && c.capacity_msat > 0;
    let (peers, sl, sc) = merged(&n.chans);
    // The oracle's verdict on every condition it can decide exactly.
    let basic = active(cin)
        && active(cout)
        && cin.peer != cout.peer
        && cout.local_msat.min(cout.capacity_msat) >= amount
        && cin.capacity_msat - cin.local_msat.min(cin.capacity_msat) >= amount;
    if got.is_ok() {
        assert!(basic, "R-REB-5 (a), liquidity: {fwd:?}");
    }
    if !basic || sc >= 1 << 64 {
        return got.is_ok();
    }
    let amt = u128::from(amount);
    let (ol, ok) = peers[&cout.peer];
    let (il, ik) = peers[&cin.peer];
    let out_ok = (ol - amt) * sc >= sl * ok;
    let in_ok = (il + amt) * sc <= sl * ik;
    let rule_ok = match cfg.rule {
        HopRule::Sender => out_ok,
        HopRule::BothSides => out_ok && in_ok,
        HopRule::GiniOnly => true,
    };
    let budget_ok = u128::from(fwd.budget_used_msat) + amt
        <= ik * u128::from(cfg.budget_percent_of_capacity) / 100;
    let mut after = n.chans.clone();
    for c in &mut after {
        if c.scid == cout.scid {
            c.local_msat -= amount;
        }
        if c.scid == cin.scid {
            c.local_msat += amount;
        }
    }
    let (g0, g1) = (imbalance(&n.chans), imbalance(&after));
    if got.is_ok() {
        assert!(rule_ok, "R-REB-5 (b) {:?}: {fwd:?}", cfg.rule);
        assert!(budget_ok, "R-REB-7: {fwd:?}");
        if cfg.require_gini_drop {
            assert!(g1 < g0 + 1e-9, "R-REB-5 (c): G {g0} -> {g1}");
        }
    } else if rule_ok && budget_ok && (!cfg.require_gini_drop || g1 < g0 - 1e-9) {
        panic!("refused a forward every rule allows: {fwd:?} {got:?}");
    }
    got.is_ok()
}

/// The fuzz target (module docs).
pub fn planner_and_hop(data: &[u8]) {
    run(data);
}

/// The target's work; returns (rebalances planned, forwards accepted), which the tests use to
/// check that inputs reach the interesting states.
fn run(data: &[u8]) -> (usize, usize) {
    let Ok(n) = build(&mut Unstructured::new(data)) else {
        return (0, 0);
    };
    let cfg = PlannerConfig {
        rule: n.rule,
        out_cap: n.out_cap,
        sink_cap: n.sink_cap,
        ..PlannerConfig::default()
    };
    let plan = plan_rebalances(&ME, &n.chans, &n.offers, &n.graph, NOW, &cfg);
    check_plan(&n, &plan);
    let hop = HopConfig {
        rule: n.rule,
        require_gini_drop: n.gini_test,
        ..HopConfig::default()
    };
    let accepted = n
        .forwards
        .iter()
        .filter(|f| check_forward(&n, &hop, f))
        .count();
    (plan.len(), accepted)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replays every committed seed (`fuzz/seeds/planner_hop/*`) and a batch of pseudo-random
    /// inputs: the corpus regression test, and a smoke run of the target in `cargo test`.
    #[test]
    fn seeds_and_random_inputs_hold_every_invariant() {
        foaf_wire::fuzzing::replay_committed_seeds(TARGETS);
        use rand::{RngCore, SeedableRng};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(14);
        let mut buf = vec![0u8; 600];
        let (mut planned, mut accepted) = (0, 0);
        for _ in 0..3000 {
            rng.fill_bytes(&mut buf);
            let (p, a) = run(&buf);
            planned += p;
            accepted += a;
        }
        // The inputs reach plans and accepted forwards, so the checks above are exercised.
        assert!(planned >= 100 && accepted >= 100, "{planned} {accepted}");
    }
}
