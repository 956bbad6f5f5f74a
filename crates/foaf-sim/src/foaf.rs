//! FOAF rebalancing: every simulated node is a real [`foaf_peer::Node`]; nodes find their
//! rebalancing partners only by exchanging encoded `query_foaf_balances` /
//! `reply_foaf_balances` messages with their peers, and plan with the node's own glue to the
//! `foaf-policy` planner ([`Node::plan_rebalances`], [`Node::jit_decide`]). Every hop of a
//! planned cycle other than the initiator runs the policy's hop check
//! ([`foaf_policy::check_fee_free_forward`], as [`HopChannels::check`] on channels it keeps
//! prepared between checks) before it forwards at zero fee.
//!
//! One proactive round, for each node in a seeded order (the *initiator* u):
//! 1. u's channels in its `Node` are brought up to date with the simulated balances;
//! 2. u's node decides whom to query: [`Node::collect_offers`], the schedule docs/bolt14.md
//!    R-CM-4 pins (the 8 sources with the largest surplus with flow Push and the 8 sinks with
//!    the largest deficit with flow Receive, for a tenth of the deviation raised to the
//!    planner's floor, not again within 30 s unless u's channels changed; rounds are 60 s
//!    apart, so every round asks again). The simulation does not choose for it;
//! 3. the bytes go through the peers' `Node::receive`; the replies (the peers' pinned default
//!    reply policy, A01) come back through u's `Node::receive`, which stores them as offers
//!    (V04/V05) — every rule a real node enforces applies, including the S05/V07 rate limits
//!    on the simulated clock;
//! 4. offers arrived, so u plans ([`Node::plan_rebalances`], R-CM-4's "plan after offers
//!    arrive") and executes each cycle hop by hop; a hop that refuses, or lacks the balance,
//!    fails the whole cycle (nothing moves). A node that sent no query (nothing due) has no
//!    new offers and its channels did not change: it does not plan.
//!
//! A node only learns the public scids it needs (V05): once its node has chosen whom to
//! query, it is given the channels of those peers (all a reply may name, A10), and forgets
//! them, and the offers with them, after planning. That keeps memory at one node's
//! neighbourhood instead of every node's (on the 2021 graph Σ deg² is 13 M scids). Forgetting
//! the offers changes nothing a node would do under R-CM-4: it asks its peers again at its
//! next collection, whose replies replace the offers it forgot, and plans only when offers
//! arrive.

use std::collections::{BTreeMap, VecDeque};

use foaf_peer::{Config as PeerConfig, Effect, Node, Timestamp};
use foaf_policy::{
    ChannelGraph, CircularRebalance, FeeFreeForward, FeeFreeRefusal, ForwardAwarePolicy,
    HopChannels, HopConfig, HopRule, HtlcToForward, JitConfig, JitDecision, PlannerConfig,
};
use foaf_wire::{Flow, ShortChannelId};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::balances::Balances;
use crate::cycles::RoundStats;
use crate::graph::Graph;
use crate::seed::seed_for;

/// FOAF settings. Whom a node queries in a proactive round, and for how much, is its node's
/// (`peer.collect`, R-CM-4); these are the simulation's own knobs and JIT's.
#[derive(Debug, Clone)]
pub struct FoafConfig {
    /// Peers a JIT refill also asks for offers (flow Push), besides the next peer: those it
    /// holds most too much with. 4.
    pub jit_sources: usize,
    /// Smallest surplus worth a JIT query to a source peer, msat.
    pub min_amount_msat: u64,
    /// Collections and plans per turn of an initiator: after a plan moved its balances, the
    /// node collects again (its changed channels make every source and sink due, R-CM-4) and
    /// plans on the new offers, up to this many times in all. 1: one collection per turn.
    pub plans_per_turn: usize,
    /// Simulated seconds between two proactive rounds.
    pub round_secs: u64,
    /// Simulated clock at the start (unix seconds).
    pub start_time: u64,
    /// The node configuration (rate limits etc.): the defaults a real node has.
    pub peer: PeerConfig,
    /// The planner's settings.
    pub planner: PlannerConfig,
    /// Each hop's zero-fee forwarding check.
    pub hop: HopConfig,
    /// JIT settings.
    pub jit: JitConfig,
    /// Which reply policy every node runs.
    pub reply_policy: ReplyPolicyChoice,
    /// The middle hop X of a 4-cycle made no offer and gave no intercept alias: the
    /// initiator routes it on its real channel and pays its fee (docs/bolt14.md §4.2.1), so X
    /// forwards as an ordinary payment (liquidity only, no R-REB-5 check, no budget). Off:
    /// X also runs the zero-fee check, as if it forwarded for free. Fees are not simulated.
    pub paid_middle_hop: bool,
}

impl FoafConfig {
    /// Every hop and every initiator follows `rule` (R-REB-5 (b), R-REB-1); hops also demand
    /// that their G strictly drops when `gini_drop` (R-REB-5 (c); the initiator always does,
    /// R-REB-4).
    pub fn set_rule(&mut self, rule: HopRule, gini_drop: bool) {
        self.hop.rule = rule;
        self.hop.require_gini_drop = gini_drop;
        self.planner.rule = rule;
    }
}

/// The reply policy the simulated nodes run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyPolicyChoice {
    /// The pinned default (A01): a channel is listed when the move brings it toward ν.
    #[default]
    Default,
    /// [`foaf_policy::ForwardAwarePolicy`]: only moves the node's own zero-fee hop check would
    /// accept, the querier's channel included.
    ForwardAware,
}

impl Default for FoafConfig {
    fn default() -> Self {
        FoafConfig {
            jit_sources: 4,
            min_amount_msat: 1_000_000,
            plans_per_turn: 1,
            round_secs: 60,
            start_time: 1_618_531_200, // 2021-04-16, the snapshot's day
            // A collection asks at least the planner's floor (R-CM-4).
            peer: PeerConfig {
                collect: foaf_peer::Collect {
                    min_amount_msat: 1_000_000,
                    ..foaf_peer::Collect::default()
                },
                ..PeerConfig::default()
            },
            planner: PlannerConfig {
                min_amount_msat: 1_000_000,
                ..PlannerConfig::default()
            },
            hop: HopConfig::default(),
            jit: JitConfig::default(),
            reply_policy: ReplyPolicyChoice::Default,
            paid_middle_hop: true,
        }
    }
}

/// Counters beyond [`RoundStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FoafCounters {
    /// Queries the nodes refused to send (S02/S05).
    pub refused: u64,
    /// Answers deferred by S05.
    pub deferred: u64,
    /// Messages a node ignored (V06/V07/W05…).
    pub ignored: u64,
    /// Connections failed (should stay 0: every node is honest).
    pub disconnects: u64,
}

/// Why a planned rebalance did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// A hop's zero-fee check refused it (R-REB-5…7).
    Refused(FeeFreeRefusal),
    /// A channel of the plan is unknown, or lacked the balance when it ran.
    Broken,
}

impl RoundStats {
    fn count(&mut self, outcome: Result<u64, Failure>) {
        match outcome {
            Ok(amount) => {
                self.operations += 1;
                self.volume_msat += u128::from(amount);
            }
            Err(f) => {
                self.failed += 1;
                match f {
                    Failure::Refused(FeeFreeRefusal::NoImprovement) => self.refused_gini += 1,
                    Failure::Refused(FeeFreeRefusal::AwayFromTarget) => self.refused_target += 1,
                    _ => {}
                }
            }
        }
    }
}

/// The simulated FOAF network: one `foaf_peer::Node` per graph node.
pub struct FoafNetwork<'g> {
    g: &'g Graph,
    cfg: FoafConfig,
    nodes: Vec<Node<u32>>,
    graph: ChannelGraph<u32>,
    scid_to_channel: BTreeMap<u64, u32>,
    /// Per arc, the balance its tail's `Node` last saw.
    seen: Vec<u64>,
    /// Which balances of a node may differ from `seen`, so that [`FoafNetwork::sync`] (run
    /// for every message a hub answers) compares only those instead of all its channels:
    /// per node, all of them (set for every node when a round or a JIT refill receives the
    /// balances, which the caller may have moved), and the arcs leaving it that a cycle
    /// [`FoafNetwork::execute`] ran used (the only funds the network moves itself). Both are
    /// cleared by the node's sync.
    stale_all: Vec<bool>,
    moved: Vec<Vec<u32>>,
    now: u64,
    round: u64,
    seed: u64,
    /// Fee-free volume per (hop, upstream peer) in the current budget window.
    budget: BTreeMap<(u32, u32), (u64, u64)>,
    /// The hop checks' prepared channels per node ([`HopViews`]).
    hop_views: HopViews,
    /// Extra counters.
    pub counters: FoafCounters,
}

impl<'g> FoafNetwork<'g> {
    /// Every node gets a `Node` with its channels, connected to all its peers.
    pub fn new(g: &'g Graph, b: &Balances, cfg: FoafConfig, seed: u64) -> Self {
        let graph: ChannelGraph<u32> = g.channels.iter().map(|c| (c.scid, c.a, c.b)).collect();
        let scid_to_channel = g
            .channels
            .iter()
            .enumerate()
            .map(|(i, c)| (c.scid.to_u64(), i as u32))
            .collect();
        let now = cfg.start_time;
        let nodes = (0..g.node_count() as u32)
            .map(|u| {
                let node_seed = seed_for(seed, 20, u as u64);
                let mut n = match cfg.reply_policy {
                    ReplyPolicyChoice::Default => Node::new(cfg.peer.clone(), node_seed),
                    ReplyPolicyChoice::ForwardAware => Node::with_policy(
                        cfg.peer.clone(),
                        node_seed,
                        Box::new(ForwardAwarePolicy {
                            hop: cfg.hop.clone(),
                            ..ForwardAwarePolicy::default()
                        }),
                    ),
                };
                n.set_channels(b.node_channels(g, u), Timestamp::from_secs(now));
                for a in g.arcs(u) {
                    n.connect(a.head, Timestamp::from_secs(now));
                }
                n
            })
            .collect();
        let seen = (0..g.channel_count() as u32 * 2)
            .map(|arc| b.arc_balance(g, arc))
            .collect();
        FoafNetwork {
            g,
            cfg,
            nodes,
            graph,
            scid_to_channel,
            seen,
            stale_all: vec![false; g.node_count()],
            moved: vec![Vec::new(); g.node_count()],
            now,
            round: 0,
            seed,
            budget: BTreeMap::new(),
            hop_views: HopViews::new(g.node_count()),
            counters: FoafCounters::default(),
        }
    }

    /// The simulated clock (whole unix seconds: every simulated event happens on a second).
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The simulated clock as the nodes' time. Exact: the simulation's events happen at whole
    /// seconds, so the nodes' sliding windows see the simulated times as they are.
    fn at(&self) -> Timestamp {
        Timestamp::from_secs(self.now)
    }

    /// Move the simulated clock forward (the payment stream advances it).
    pub fn advance(&mut self, secs: u64) {
        self.now += secs;
    }

    /// The caller hands in balances it may have moved since the last call (an entry point:
    /// a round, a JIT refill): every node syncs all of its channels, and every prepared hop
    /// view is dropped. The two caches are invalidated together, here only.
    fn balances_may_have_moved(&mut self) {
        self.hop_views.clear();
        self.stale_all.fill(true);
    }

    /// Bring node `u`'s channels up to date with the simulated balances (only what changed).
    fn sync(&mut self, b: &Balances, u: u32) {
        let g = self.g;
        let mut arcs = std::mem::take(&mut self.moved[u as usize]);
        if std::mem::take(&mut self.stale_all[u as usize]) {
            arcs.clear();
            arcs.extend(g.arcs(u).iter().map(|a| a.id));
        } else {
            // The graph lists a node's arcs by id: sorted, these come in the same order.
            arcs.sort_unstable();
            arcs.dedup();
        }
        let mut changed = Vec::new();
        for &arc in &arcs {
            let bal = b.arc_balance(g, arc);
            if self.seen[arc as usize] != bal {
                self.seen[arc as usize] = bal;
                let c = &g.channels[(arc / 2) as usize];
                changed.push(foaf_policy::Channel {
                    scid: c.scid,
                    peer: g.head(arc),
                    capacity_msat: c.capacity_msat,
                    local_msat: bal,
                    announced: true,
                    state: foaf_policy::ChannelState::Normal,
                });
            }
        }
        arcs.clear();
        self.moved[u as usize] = arcs; // keeps its allocation
        if !changed.is_empty() {
            let now = self.at();
            self.nodes[u as usize].set_channels(changed, now);
        }
    }

    /// Deliver effects until no message is left in flight; count them.
    fn pump(&mut self, b: &Balances, from: u32, effects: Vec<Effect<u32>>, stats: &mut RoundStats) {
        let mut queue: VecDeque<(u32, Effect<u32>)> =
            effects.into_iter().map(|e| (from, e)).collect();
        while let Some((src, e)) = queue.pop_front() {
            match e {
                Effect::Send { peer, bytes } => {
                    stats.messages += 1;
                    stats.message_bytes += bytes.len() as u64;
                    // The recipient answers from its current balances.
                    self.sync(b, peer);
                    let now = self.at();
                    let out = self.nodes[peer as usize].receive(&src, &bytes, now);
                    queue.extend(out.into_iter().map(|e| (peer, e)));
                }
                Effect::Refused { .. } => self.counters.refused += 1,
                Effect::Deferred { .. } => self.counters.deferred += 1,
                Effect::Ignored { .. } => self.counters.ignored += 1,
                Effect::Disconnect { .. } => self.counters.disconnects += 1,
                Effect::Log(_) => {}
            }
        }
    }

    /// Tell `u`'s node the public channels of `peers` (what their replies may name, V05).
    fn learn_neighbourhood(&mut self, u: u32, peers: &[u32]) {
        let g = self.g;
        let mut scids: Vec<ShortChannelId> = Vec::new();
        for &p in peers {
            scids.extend(
                g.arcs(p)
                    .iter()
                    .map(|a| g.channels[(a.id / 2) as usize].scid),
            );
        }
        self.nodes[u as usize].set_graph(scids);
    }

    /// Execute a planned cycle hop by hop: every hop but the initiator checks the zero-fee
    /// forward; any refusal or missing balance fails the whole cycle. Ok: the amount moved.
    fn execute(&mut self, b: &mut Balances, r: &CircularRebalance<u32>) -> Result<u64, Failure> {
        let g = self.g;
        let mut arcs = Vec::with_capacity(r.hops.len());
        for h in &r.hops {
            let Some(&ci) = self.scid_to_channel.get(&h.scid.to_u64()) else {
                return Err(Failure::Broken);
            };
            let c = &g.channels[ci as usize];
            let arc = if (c.a, c.b) == (h.from, h.to) {
                ci * 2
            } else if (c.b, c.a) == (h.from, h.to) {
                ci * 2 + 1
            } else {
                return Err(Failure::Broken);
            };
            arcs.push(arc);
        }
        let amt = r.amount_msat;
        let window = self.cfg.hop.budget_window_secs.max(1);
        // The hops that forward at zero fee: every one but the initiator and, when it is paid,
        // a 4-cycle's middle hop.
        let paid = |i: usize| self.cfg.paid_middle_hop && r.hops.len() == 4 && i == 2;
        for i in (1..r.hops.len()).filter(|&i| !paid(i)) {
            let x = r.hops[i].from;
            let upstream = r.hops[i - 1].from;
            let used = match self.budget.get(&(x, upstream)) {
                Some(&(start, used)) if self.now < start + window => used,
                _ => 0,
            };
            let fwd = FeeFreeForward {
                in_scid: r.hops[i - 1].scid,
                out_scid: r.hops[i].scid,
                amount_msat: amt,
                offered_at: None,
                budget_used_msat: used,
            };
            self.hop_views
                .get(g, b, x)
                .check(&fwd, self.now, &self.cfg.hop)
                .map_err(Failure::Refused)?;
        }
        if b.send_along(g, &arcs, amt).is_err() {
            return Err(Failure::Broken);
        }
        // Every node on the cycle forwarded: in on the hop before, out on its own (the
        // initiator's "hop before" is the last one, back to it).
        for (i, h) in r.hops.iter().enumerate() {
            let before = &r.hops[(i + r.hops.len() - 1) % r.hops.len()];
            self.hop_views.forwarded(h.from, before.scid, h.scid, amt);
        }
        for &arc in &arcs {
            self.moved[g.tail(arc) as usize].push(arc);
            self.moved[g.head(arc) as usize].push(arc ^ 1);
        }
        for i in (1..r.hops.len()).filter(|&i| !paid(i)) {
            let key = (r.hops[i].from, r.hops[i - 1].from);
            let now = self.now;
            let e = self.budget.entry(key).or_insert((now, 0));
            if now >= e.0 + window {
                *e = (now, 0);
            }
            e.1 += amt;
        }
        Ok(amt)
    }

    /// The source peers a JIT refill at `u` asks (flow Push): up to `max` of those `u` holds
    /// most too much with, by at least `min_amount_msat`; none unless `u` also holds too
    /// little with some peer by that much (as the simulation always chose them).
    fn jit_sources(&self, b: &Balances, u: u32, max: usize) -> Vec<u32> {
        let g = self.g;
        let chans = b.node_channels(g, u);
        let Some(nu) = foaf_policy::target_ratio(&chans) else {
            return Vec::new();
        };
        let mut push = Vec::new();
        let mut sink = false;
        for a in g.arcs(u) {
            let cap = g.channels[(a.id / 2) as usize].capacity_msat;
            let bal = b.arc_balance(g, a.id);
            let target = (nu * cap as f64) as u64;
            if bal > target && bal - target >= self.cfg.min_amount_msat {
                push.push((bal - target, a.head));
            } else if target > bal && target - bal >= self.cfg.min_amount_msat {
                sink = true;
            }
        }
        if !sink {
            return Vec::new();
        }
        push.sort_unstable_by(|x, y| y.cmp(x));
        push.into_iter().take(max).map(|(_, p)| p).collect()
    }

    /// Send `u`'s queries and deliver everything until quiet.
    fn exchange(
        &mut self,
        b: &Balances,
        u: u32,
        queries: &[(u32, Flow, u64)],
        stats: &mut RoundStats,
    ) {
        let peers: Vec<u32> = queries.iter().map(|q| q.0).collect();
        self.learn_neighbourhood(u, &peers);
        for &(p, flow, amt) in queries {
            let now = self.at();
            let eff = self.nodes[u as usize].query(&p, flow, amt, now);
            self.pump(b, u, eff, stats);
        }
    }

    /// `u`'s node collects offers (R-CM-4: it decides whom to query); `u` learns the public
    /// channels of the peers it queries (V05) and the messages are delivered until quiet.
    /// Returns whether any query went out (offers may have arrived).
    fn collect(&mut self, b: &Balances, u: u32, stats: &mut RoundStats) -> bool {
        let now = self.at();
        let effects = self.nodes[u as usize].collect_offers(now);
        let peers: Vec<u32> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send { peer, .. } => Some(*peer),
                _ => None,
            })
            .collect();
        // `collect_offers` documents its effects as a `Send` per query sent and a `Log` per
        // query its S01–S05 checks refused (docs/state-machine.md), so a `Log` here is a
        // refusal; the assertion catches a future effect kind that would break this count.
        debug_assert!(effects
            .iter()
            .all(|e| matches!(e, Effect::Send { .. } | Effect::Log(_))));
        self.counters.refused += effects
            .iter()
            .filter(|e| matches!(e, Effect::Log(_)))
            .count() as u64;
        if peers.is_empty() {
            return false;
        }
        self.learn_neighbourhood(u, &peers);
        self.pump(b, u, effects, stats);
        true
    }

    /// One proactive round (see the module docs).
    pub fn round(&mut self, b: &mut Balances) -> RoundStats {
        self.round += 1;
        if self.round > 1 {
            self.now += self.cfg.round_secs;
        }
        let g = self.g;
        let mut order: Vec<u32> = (0..g.node_count() as u32).collect();
        order.shuffle(&mut ChaCha20Rng::seed_from_u64(seed_for(
            self.seed, 21, self.round,
        )));
        let mut stats = RoundStats::default();
        self.balances_may_have_moved();
        for u in order {
            for _ in 0..self.cfg.plans_per_turn.max(1) {
                self.sync(b, u);
                if !self.collect(b, u, &mut stats) {
                    break;
                }
                let plan = self.nodes[u as usize].plan_rebalances(
                    &u,
                    &self.graph,
                    self.at(),
                    &self.cfg.planner,
                );
                let mut moved = false;
                for r in &plan {
                    let outcome = self.execute(b, r);
                    moved |= outcome.is_ok();
                    stats.count(outcome);
                }
                // Forget the neighbourhood (and the offers with it): memory stays bounded.
                self.nodes[u as usize].set_graph([]);
                if !moved {
                    break;
                }
            }
            self.sync(b, u);
        }
        stats
    }

    /// JIT routing: the tail of `arc` lacks `amt` to forward an HTLC. It asks the next peer
    /// (flow Receive) and its peers above target (flow Push) for offers, then follows
    /// [`Node::jit_decide`]. Returns the cost; `operations` is 1 when a rebalance ran.
    pub fn jit(&mut self, b: &mut Balances, arc: u32, amt: u64) -> RoundStats {
        let g = self.g;
        let (x, y) = (g.tail(arc), g.head(arc));
        let mut stats = RoundStats::default();
        self.balances_may_have_moved();
        self.sync(b, x);
        let balance = b.arc_balance(g, arc);
        let shortfall = amt.saturating_sub(balance);
        if shortfall == 0 {
            return stats;
        }
        let ask = shortfall.saturating_mul(self.cfg.jit.overshoot_percent) / 100;
        let mut queries = vec![(y, Flow::Receive, ask)];
        queries.extend(
            self.jit_sources(b, x, self.cfg.jit_sources)
                .into_iter()
                .filter(|&p| p != y)
                .map(|p| (p, Flow::Push, ask)),
        );
        self.exchange(b, x, &queries, &mut stats);
        let htlc = HtlcToForward {
            out_scid: g.channels[(arc / 2) as usize].scid,
            amount_msat: amt,
            blocks_to_expiry: 144,
            fee_free: false,
        };
        let d = self.nodes[x as usize].jit_decide(&x, &self.graph, self.at(), &htlc, &self.cfg.jit);
        if let JitDecision::Rebalance { rebalance, .. } = d {
            let outcome = self.execute(b, &rebalance);
            stats.count(outcome);
        }
        self.sync(b, x);
        self.nodes[x as usize].set_graph([]);
        stats
    }
}

/// Per node, its channels as its zero-fee hop check reads them ([`HopChannels`]: merged per
/// peer, ζ sorted), kept between checks. Planned cycles run through a few hubs again and
/// again, while preparing a hub's channels sorts all of them. An entry must always equal what
/// preparing the node's channels afresh from the balances gives: [`FoafNetwork::execute`],
/// the only place the network moves funds, applies every completed cycle to the entries of
/// its nodes ([`HopViews::forwarded`]), and every entry point that receives the balances (a
/// round, a JIT refill) starts with [`HopViews::clear`], since the caller may have moved funds
/// in between. The check is the same function on equal input, so the verdicts are those of
/// preparing afresh for every check.
struct HopViews {
    views: Vec<Option<HopChannels<u32>>>,
    /// The nodes with an entry, so that clearing does not walk every node (an entry is only
    /// ever emptied by clearing, so no node is listed twice).
    filled: Vec<u32>,
}

impl HopViews {
    fn new(nodes: usize) -> Self {
        HopViews {
            views: (0..nodes).map(|_| None).collect(),
            filled: Vec::new(),
        }
    }

    /// Node `u`'s prepared channels, made from `b` unless held.
    fn get(&mut self, g: &Graph, b: &Balances, u: u32) -> &HopChannels<u32> {
        let slot = &mut self.views[u as usize];
        if slot.is_none() {
            self.filled.push(u);
        }
        slot.get_or_insert_with(|| HopChannels::new(&b.node_channels(g, u)))
    }

    /// Node `u` forwarded `amt`, in on `in_scid` and out on `out_scid`: its entry, if any,
    /// follows ([`HopChannels::forwarded`]: afterwards equal to one prepared afresh).
    fn forwarded(&mut self, u: u32, in_scid: ShortChannelId, out_scid: ShortChannelId, amt: u64) {
        if let Some(v) = &mut self.views[u as usize] {
            v.forwarded(in_scid, out_scid, amt);
        }
    }

    /// Any balance may have changed.
    fn clear(&mut self) {
        for u in self.filled.drain(..) {
            self.views[u as usize] = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::GraphChannel;
    use crate::metrics::{mean, node_ginis};

    /// A channel of 10,000,000 msat between nodes `a` and `b`, scid `i`, no fees.
    fn ch(a: u32, b: u32, i: u64) -> GraphChannel {
        GraphChannel {
            a,
            b,
            scid: ShortChannelId::from_u64(i),
            capacity_msat: 10_000_000,
            base_fee_msat: [0, 0],
            fee_ppm: [0, 0],
            parts: 1,
        }
    }

    #[test]
    fn a_triangle_rebalances_through_real_messages() {
        let g = crate::balances::tests::triangle();
        // Capacities of 100 msat are below any sensible minimum: scale up.
        let mut g = g;
        for c in &mut g.channels {
            c.capacity_msat = 10_000_000;
        }
        let mut b = Balances {
            local_a: vec![10_000_000, 10_000_000, 0],
        };
        let funds = b.node_funds(&g);
        let mut cfg = FoafConfig::default();
        // Ask for the whole deviation: one round must balance the triangle.
        cfg.peer.collect.divisor = 1;
        let mut net = FoafNetwork::new(&g, &b, cfg, 1);
        let st = net.round(&mut b);
        assert!(st.operations >= 1, "{st:?} {:?}", net.counters);
        // Each query is answered: messages come in pairs.
        assert!(st.messages >= 2 && st.messages.is_multiple_of(2), "{st:?}");
        assert_eq!(b.node_funds(&g), funds);
        assert_eq!(mean(&node_ginis(&g, &b)), 0.0, "{:?}", b.local_a);
        assert_eq!(net.counters.disconnects, 0);
    }

    /// u → A → X → B → u where X's move sheds nothing (X–B at ζ 0.2, below X's ν 0.35): as a
    /// zero-fee forward X refuses it (R-REB-5 (b)); paid its fee, as docs/bolt14.md §4.2.1
    /// routes the middle hop of a 4-cycle, X forwards it like any payment. A and B, which
    /// forward at zero fee, check it either way.
    // R: R-REB-5, R-REB-2
    #[test]
    fn a_paid_middle_hop_forwards_what_it_would_refuse_for_free() {
        use foaf_policy::Hop;
        let g = Graph::from_channels(
            ["u", "a", "x", "b"].map(String::from).to_vec(),
            vec![ch(0, 1, 1), ch(1, 2, 2), ch(2, 3, 3), ch(0, 3, 4)],
        );
        // u holds all of u–A, A half of A–X, X 2M of X–B, B all of B–u.
        let b0 = Balances {
            local_a: vec![10_000_000, 5_000_000, 2_000_000, 0],
        };
        let amt = 1_000_000;
        let hop = |scid, from, to| Hop {
            scid: ShortChannelId::from_u64(scid),
            from,
            to,
            amount_msat: amt,
            fee_msat: 0,
        };
        let r = CircularRebalance {
            hops: vec![hop(1, 0, 1), hop(2, 1, 2), hop(3, 2, 3), hop(4, 3, 0)],
            amount_msat: amt,
            imbalance_before: 0.0,
            imbalance_after: 0.0,
        };
        for paid in [false, true] {
            let mut b = b0.clone();
            let cfg = FoafConfig {
                paid_middle_hop: paid,
                ..FoafConfig::default()
            };
            let mut net = FoafNetwork::new(&g, &b, cfg, 1);
            let got = net.execute(&mut b, &r);
            if paid {
                assert_eq!(got, Ok(amt));
                assert_eq!(b.local_a, vec![9_000_000, 4_000_000, 1_000_000, 1_000_000]);
            } else {
                assert_eq!(got, Err(Failure::Refused(FeeFreeRefusal::AwayFromTarget)));
                assert_eq!(b, b0, "a refused cycle moves nothing");
            }
            assert_eq!(b.node_funds(&g), b0.node_funds(&g));
        }
    }

    /// Whom a node queries is its node's choice (`Node::collect_offers`): on a path a–b–c no
    /// cycle exists, so nothing moves. With the pinned schedule b asks its source and its sink
    /// again every round (60 s apart, more than the 30 s it waits); a node configured to wait
    /// 600 s asks in round 1, then nobody until round 12 (more than 600 s later); with the
    /// node's `RCm4RequeryFresh` fault it asks again in round 2: the simulation does not
    /// decide this itself.
    // R: R-CM-4
    #[test]
    fn rounds_query_as_the_node_collects() {
        let g = Graph::from_channels(
            ["a", "b", "c"].map(String::from).to_vec(),
            vec![ch(0, 1, 1), ch(1, 2, 2)],
        );
        // a holds 1M of a–b (so b 9M), b holds 1M of b–c.
        let b0 = Balances {
            local_a: vec![1_000_000, 1_000_000],
        };
        let messages = |requery_after_secs, fault| {
            let mut b = b0.clone();
            let mut cfg = FoafConfig::default();
            cfg.peer.collect.requery_after_secs = requery_after_secs;
            cfg.peer.fault = fault;
            let mut net = FoafNetwork::new(&g, &b, cfg, 1);
            let per_round: Vec<u64> = (0..12).map(|_| net.round(&mut b).messages).collect();
            assert_eq!(b, b0, "no cycle: nothing moves");
            per_round
        };
        // b is a source toward a (ζ .9 > ν .5) and a sink toward c (ζ .1): two queries, two
        // replies; a and c have one channel each (at ν): nothing to ask.
        let pinned = messages(30, None);
        assert!(pinned.iter().all(|&n| n == 4), "{pinned:?}");
        let m = messages(600, None);
        assert_eq!(m[0], 4, "{m:?}");
        assert!(
            m[1..11].iter().all(|&n| n == 0),
            "asked within 600 s: {m:?}"
        );
        assert_eq!(m[11], 4, "more than 600 s later: {m:?}");
        let faulty = messages(600, Some(foaf_peer::Fault::RCm4RequeryFresh));
        assert_eq!(faulty[1], 4, "{faulty:?}");
    }

    #[test]
    fn foaf_rounds_lower_imbalance_and_conserve_funds() {
        let g = Graph::barabasi_albert(200, 3, 2);
        let mut b = Balances::initial(&g, crate::balances::InitialBalance::CoinFlip, 4);
        let funds = b.node_funds(&g);
        let before = mean(&node_ginis(&g, &b));
        let mut net = FoafNetwork::new(&g, &b, FoafConfig::default(), 3);
        let mut total = RoundStats::default();
        for _ in 0..3 {
            total.add(&net.round(&mut b));
        }
        assert!(total.operations > 0 && total.messages > 0, "{total:?}");
        assert_eq!(b.node_funds(&g), funds);
        assert!(mean(&node_ginis(&g, &b)) < before);
        assert_eq!(net.counters.disconnects, 0);
    }

    /// Planned rebalances that a hop refuses are counted by reason; with `require_gini_drop`
    /// off no hop refuses for G, and the forward-aware policy wastes fewer plans.
    // R: R-REB-5
    #[test]
    fn refused_plans_are_counted_by_reason() {
        let g = Graph::barabasi_albert(200, 3, 2);
        let b0 = Balances::initial(&g, crate::balances::InitialBalance::CoinFlip, 4);
        let run = |cfg: FoafConfig| {
            let mut b = b0.clone();
            let mut net = FoafNetwork::new(&g, &b, cfg, 3);
            let mut total = RoundStats::default();
            for _ in 0..3 {
                total.add(&net.round(&mut b));
            }
            total
        };
        let strict = run(FoafConfig::default());
        assert!(strict.failed > 0 && strict.refused_gini > 0, "{strict:?}");
        assert!(strict.failed >= strict.refused_gini + strict.refused_target);
        let mut lenient_cfg = FoafConfig::default();
        lenient_cfg.hop.require_gini_drop = false;
        let lenient = run(lenient_cfg);
        assert_eq!(lenient.refused_gini, 0, "{lenient:?}");
        assert!(lenient.operations > 0);
        let aware = run(FoafConfig {
            reply_policy: ReplyPolicyChoice::ForwardAware,
            ..FoafConfig::default()
        });
        assert!(
            aware.operations > 0 && aware.failed < strict.failed,
            "{aware:?} {strict:?}"
        );
    }
}
