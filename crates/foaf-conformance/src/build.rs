//! Helpers for authoring scenarios: ops, messages built from field values with `foaf-wire`,
//! patterns, and an independent reference of the pinned reply policy (A01, M01, M02) used to
//! cross-check the hand-written expected sets.

use std::collections::{BTreeMap, BTreeSet};

use foaf_wire::{
    ChainHash, Message, QueryFoafBalances, ReplyFoafBalances, ShortChannelId, TlvStream,
};
use serde_json::{json, Value};

use crate::requirements::Level;
use crate::vector::{
    Check, Invariant, OfferEntry, Pattern, QueryCheck, ReplyCheck, SameEffects, ScidCheck, Step,
    Vector, FORMAT_VERSION, GENERATED,
};

/// The default clock of every scenario (unix seconds).
pub const T0: u64 = 1_700_000_000;
/// The chain most scenarios serve: regtest, so an implementation that hard-codes mainnet fails.
pub const CHAIN: ChainHash = ChainHash::REGTEST;
/// 1,000,000 sat in msat: the default channel capacity.
pub const CAP: u64 = 1_000_000_000;

/// A short channel id from its parts.
pub fn scid(block: u32, tx: u32, out: u16) -> ShortChannelId {
    ShortChannelId::new(block, tx, out).expect("scid parts in range")
}

/// One of our channels, as the pipe protocol describes it.
#[derive(Debug, Clone)]
pub struct Chan {
    /// Its id.
    pub scid: ShortChannelId,
    /// The peer.
    pub peer: String,
    /// Capacity, msat.
    pub capacity: u64,
    /// Our balance, msat.
    pub local: u64,
    /// Announced (public).
    pub announced: bool,
    /// Closing instead of normal.
    pub closing: bool,
}

impl Chan {
    /// An announced, normal channel.
    pub fn new(scid: ShortChannelId, peer: &str, capacity: u64, local: u64) -> Self {
        Chan {
            scid,
            peer: peer.into(),
            capacity,
            local,
            announced: true,
            closing: false,
        }
    }
    /// The same channel, unannounced.
    pub fn unannounced(mut self) -> Self {
        self.announced = false;
        self
    }
    /// The same channel, closing.
    pub fn closing(mut self) -> Self {
        self.closing = true;
        self
    }
    /// The pipe-protocol channel object.
    pub fn to_json(&self) -> Value {
        json!({
            "scid": self.scid.to_string(),
            "peer": self.peer,
            "capacity": self.capacity,
            "local": self.local,
            "announced": self.announced,
            "state": if self.closing { "closing" } else { "normal" },
        })
    }
}

/// Everything an `init` op carries.
#[derive(Debug, Clone)]
pub struct Node {
    /// Chain served.
    pub chain: ChainHash,
    /// Clock.
    pub now: u64,
    /// Seed for sampling and obfuscation.
    pub seed: u64,
    /// Obfuscation (A05) on or off.
    pub obfuscate: bool,
    /// Known public channels besides our own announced ones.
    pub foreign_graph: Vec<ShortChannelId>,
    /// Our channels.
    pub channels: Vec<Chan>,
}

impl Node {
    /// A node on [`CHAIN`] at [`T0`], seed 1, obfuscation off, with these channels.
    pub fn new(channels: Vec<Chan>) -> Self {
        Node {
            chain: CHAIN,
            now: T0,
            seed: 1,
            obfuscate: false,
            foreign_graph: Vec::new(),
            channels,
        }
    }
    /// The public graph: our announced channels and the foreign ones, sorted.
    pub fn graph(&self) -> Vec<ShortChannelId> {
        let set: BTreeSet<ShortChannelId> = self
            .channels
            .iter()
            .filter(|c| c.announced)
            .map(|c| c.scid)
            .chain(self.foreign_graph.iter().copied())
            .collect();
        set.into_iter().collect()
    }
    /// The `init` op.
    pub fn init_op(&self) -> Value {
        let graph: Vec<String> = self.graph().iter().map(|s| s.to_string()).collect();
        let channels: Vec<Value> = self.channels.iter().map(Chan::to_json).collect();
        json!({
            "op": "init",
            "chain_hash": self.chain.to_string(),
            "now": self.now,
            "seed": self.seed,
            "config": {"obfuscate": self.obfuscate},
            "graph": graph,
            "channels": channels,
        })
    }
    /// The scid of our (first) channel with `peer`.
    pub fn scid_of(&self, peer: &str) -> ShortChannelId {
        self.channels
            .iter()
            .find(|c| c.peer == peer)
            .map(|c| c.scid)
            .unwrap_or_else(|| panic!("no channel with {peer}"))
    }
    /// Our announced channels, as strings.
    pub fn announced(&self) -> Vec<String> {
        self.channels
            .iter()
            .filter(|c| c.announced)
            .map(|c| c.scid.to_string())
            .collect()
    }
}

/// Reference of the pinned default reply policy (A01 with M01, M02, A04, A08): the scids a
/// reply with `flow` and `amt` to `querier` lists when `connected` peers are up. Written
/// independently of `foaf-policy`, in exact integer arithmetic, to cross-check hand-written
/// expectations. `nu_over` chooses which channels ν is computed over; scenarios are built so
/// that every reasonable choice gives the same answer, and assert it.
pub fn reference_eligible(
    node: &Node,
    connected: &[&str],
    querier: &str,
    flow: u8,
    amt: u64,
    nu_over: NuOver,
) -> BTreeSet<ShortChannelId> {
    let operational = |c: &Chan| !c.closing && c.announced && connected.contains(&c.peer.as_str());
    let counted = |c: &Chan| {
        !c.closing
            && match nu_over {
                NuOver::Active => true,
                NuOver::Operational => operational(c),
            }
    };
    let (lt, ct) = node
        .channels
        .iter()
        .filter(|c| counted(c))
        .fold((0u128, 0u128), |(l, k), c| {
            (l + u128::from(c.local), k + u128::from(c.capacity))
        });
    let mut groups: BTreeMap<&str, (u128, u128, Vec<ShortChannelId>)> = BTreeMap::new();
    for c in node
        .channels
        .iter()
        .filter(|c| operational(c) && c.peer != querier)
    {
        let g = groups.entry(&c.peer).or_default();
        g.0 += u128::from(c.local);
        g.1 += u128::from(c.capacity);
        g.2.push(c.scid);
    }
    let amt = u128::from(amt);
    let mut out = BTreeSet::new();
    for (l, k, ids) in groups.into_values() {
        let ok = if flow == 1 {
            // Push amt out: ζ > ν and (l − amt)/k ≥ ν.
            l * ct > lt * k && l >= amt && (l - amt) * ct >= lt * k
        } else {
            // Take amt in: ζ < ν and (l + amt)/k ≤ ν.
            l * ct < lt * k && l + amt <= k && (l + amt) * ct <= lt * k
        };
        if ok {
            out.extend(ids);
        }
    }
    out
}

/// Which channels ν = Σ local / Σ capacity is computed over, in [`reference_eligible`].
#[derive(Debug, Clone, Copy)]
pub enum NuOver {
    /// Every channel not closing.
    Active,
    /// Only announced channels with a connected peer.
    Operational,
}

/// Asserts a hand-written expected set equals the reference policy's, whichever channels ν is
/// computed over (a scenario must not depend on that choice), and returns it as strings.
pub fn assert_eligible(
    hand: &[ShortChannelId],
    node: &Node,
    connected: &[&str],
    querier: &str,
    flow: u8,
    amt: u64,
) -> Vec<String> {
    let reference = |nu| reference_eligible(node, connected, querier, flow, amt, nu);
    let active = reference(NuOver::Active);
    assert_eq!(
        active,
        reference(NuOver::Operational),
        "scenario is sensitive to which channels ν counts"
    );
    let hand_set: BTreeSet<ShortChannelId> = hand.iter().copied().collect();
    assert_eq!(
        hand_set, active,
        "hand-written eligible set disagrees with the reference policy"
    );
    strs(hand)
}

/// Scids as strings.
pub fn strs(ids: &[ShortChannelId]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

// ---- messages ----

/// `query_foaf_balances` bytes.
pub fn query_msg(chain: ChainHash, flow: u8, amt: u64) -> Vec<u8> {
    Message::Query(QueryFoafBalances {
        chain_hash: chain,
        flow_value: flow,
        amt_to_rebalance: amt,
        tlvs: TlvStream::new(),
    })
    .encode()
    .expect("query encodes")
}

/// `reply_foaf_balances` bytes.
pub fn reply_msg(chain: ChainHash, flow: u8, ts: u64, amt: u64, ids: &[ShortChannelId]) -> Vec<u8> {
    Message::Reply(ReplyFoafBalances {
        chain_hash: chain,
        flow_value: flow,
        timestamp: ts,
        amt_to_rebalance: amt,
        short_channel_ids: ids.to_vec(),
        tlvs: TlvStream::new(),
    })
    .encode()
    .expect("reply encodes")
}

// ---- ops ----

/// `connect`.
pub fn connect(peer: &str) -> Value {
    json!({"op": "connect", "peer": peer})
}
/// `disconnect`.
pub fn disconnect(peer: &str) -> Value {
    json!({"op": "disconnect", "peer": peer})
}
/// `recv`.
pub fn recv(peer: &str, msg: &[u8]) -> Value {
    json!({"op": "recv", "peer": peer, "msg": hex::encode(msg)})
}
/// `tick`.
pub fn tick(now: u64) -> Value {
    json!({"op": "tick", "now": now})
}
/// `query`.
pub fn query(peer: &str, flow: u8, amt: u64) -> Value {
    json!({"op": "query", "peer": peer, "flow_value": flow, "amt": amt})
}
/// `offer`.
pub fn offer(peer: &str, flow: u8, amt: u64) -> Value {
    json!({"op": "offer", "peer": peer, "flow_value": flow, "amt": amt})
}
/// `set_channel`.
pub fn set_channel(c: &Chan) -> Value {
    json!({"op": "set_channel", "channel": c.to_json()})
}
/// `offers`.
pub fn offers_op() -> Value {
    json!({"op": "offers"})
}

// ---- patterns ----

/// A send to `peer` whose message passes exactly one of `msg`, `query`, `reply`.
fn send_pattern(
    peer: &str,
    msg: Option<String>,
    query: Option<QueryCheck>,
    reply: Option<ReplyCheck>,
) -> Pattern {
    Pattern::Send {
        id: String::new(),
        level: None,
        also: Vec::new(),
        peer: peer.into(),
        msg,
        query,
        reply: reply.map(Box::new),
        optional: false,
    }
}
/// A send of exactly these bytes.
pub fn sends(peer: &str, msg: &[u8]) -> Pattern {
    send_pattern(peer, Some(hex::encode(msg)), None, None)
}
/// A send of a reply passing `check`.
pub fn sends_reply(peer: &str, check: ReplyCheck) -> Pattern {
    send_pattern(peer, None, None, Some(check))
}
/// A send of a query passing `check`.
pub fn sends_query(peer: &str, check: QueryCheck) -> Pattern {
    send_pattern(peer, None, Some(check), None)
}
/// The same pattern, optional.
pub fn optional(mut p: Pattern) -> Pattern {
    match &mut p {
        Pattern::Send { optional, .. }
        | Pattern::Disconnect { optional, .. }
        | Pattern::Refused { optional, .. } => *optional = true,
        _ => panic!("only send, disconnect and refused patterns can be optional"),
    }
    p
}
/// The same pattern, checking requirement `id` (instead of the scenario's current one).
pub fn checks(mut p: Pattern, id: &str) -> Pattern {
    p.set_id(id, None);
    p
}

/// The same pattern, checking `id` at level *pinned*: what our reference policy fixes where the
/// draft leaves room.
pub fn pinned(mut p: Pattern, id: &str) -> Pattern {
    p.set_id(id, Some(Level::Pinned));
    p
}

/// The same send pattern with a further check on the message it matched, reported against
/// `id` (at `level`, when given).
pub fn also(mut p: Pattern, id: &str, level: Option<Level>, reply: ReplyCheck) -> Pattern {
    match &mut p {
        Pattern::Send { also, .. } => also.push(Check {
            id: id.into(),
            level,
            msg: None,
            query: None,
            reply: Some(Box::new(reply)),
        }),
        _ => panic!("`also` checks apply to send patterns only"),
    }
    p
}

/// Ids whose point is the exact scid set a reply lists (channel management, and A05's "no
/// obfuscation when off"): an exact-set check in their vectors is theirs; anywhere else it is
/// A01's.
const EXACT_SET_IDS: &[&str] = &["A01", "A05", "M01", "M02", "R-CM-1", "R-CM-2", "R-CM-3"];

/// An exact scid set in a reply pattern is what our reference policy lists, a choice the draft
/// leaves open: it moves into an `also` check at level *pinned* (against the pattern's id for
/// the channel-management ids, else A01), so that an implementation with another legal policy
/// fails only pinned checks, never the MUST or SHOULD the pattern is about.
fn split_exact_set(p: &mut Pattern) {
    let Pattern::Send {
        id,
        reply: Some(r),
        also,
        ..
    } = p
    else {
        return;
    };
    let Some(set) = r.scids.equals.take() else {
        return;
    };
    let target = if EXACT_SET_IDS.contains(&id.as_str()) {
        id.clone()
    } else {
        "A01".to_string()
    };
    also.push(Check {
        id: target,
        level: Some(Level::Pinned),
        msg: None,
        query: None,
        reply: Some(Box::new(ReplyCheck {
            scids: ScidCheck {
                equals: Some(set),
                ..ScidCheck::default()
            },
            ..ReplyCheck::default()
        })),
    });
}

/// The answer to `querier`'s query (`flow`, `amt`) checked as A01 asks, whatever the policy:
/// at A01's own level the `flow_value` echoes the query's and the scids are only our own
/// announced channels whose peer is connected and that are not closing, never the querier's,
/// at most 1000; at level *pinned* (as `pinned_id`) the set is exactly `exact`, what our
/// reference policy lists.
pub fn policy_reply(
    node: &Node,
    connected: &[&str],
    querier: &str,
    flow: u8,
    exact: Vec<String>,
    pinned_id: &str,
) -> Pattern {
    let allowed: Vec<String> = node
        .channels
        .iter()
        .filter(|c| c.announced && !c.closing && c.peer != querier)
        .filter(|c| connected.contains(&c.peer.as_str()))
        .map(|c| c.scid.to_string())
        .collect();
    let draft = ReplyCheck {
        flow_value: Some(flow),
        scids: ScidCheck {
            subset_of: Some(allowed),
            max_len: Some(1000),
            ..ScidCheck::default()
        },
        ..ReplyCheck::default()
    };
    let exact = ReplyCheck {
        scids: equals(exact),
        ..ReplyCheck::default()
    };
    also(
        checks(sends_reply(querier, draft), "A01"),
        pinned_id,
        Some(Level::Pinned),
        exact,
    )
}

/// A disconnect of `peer`.
pub fn disconnects(peer: &str) -> Pattern {
    Pattern::Disconnect {
        id: String::new(),
        level: None,
        peer: peer.into(),
        optional: false,
    }
}
/// A refusal of `op`.
pub fn refuses(op: &str) -> Pattern {
    Pattern::Refused {
        id: String::new(),
        level: None,
        op: op.into(),
        optional: false,
    }
}
/// The offers held equal `offers`.
pub fn holds(offers: Vec<OfferEntry>) -> Pattern {
    Pattern::Offers {
        id: String::new(),
        level: None,
        offers,
        may_include: Vec::new(),
    }
}
/// One offer entry.
pub fn entry(peer: &str, id: ShortChannelId, flow: u8, amt: u64, ts: u64) -> OfferEntry {
    OfferEntry {
        peer: peer.into(),
        scid: id.to_string(),
        flow_value: flow,
        amt,
        timestamp: ts,
    }
}

/// A reply check with chain, flow, timestamp and amount set (amount at least `amt`, A02).
pub fn reply_check(chain: ChainHash, flow: u8, ts: u64, amt: u64, scids: ScidCheck) -> ReplyCheck {
    ReplyCheck {
        chain_hash: Some(chain.to_string()),
        flow_value: Some(flow),
        timestamp: Some(ts),
        amt_min: Some(amt),
        amt_max: None,
        scids,
    }
}

/// Scid check: the set equals `ids`.
pub fn equals(ids: Vec<String>) -> ScidCheck {
    ScidCheck {
        equals: Some(ids),
        ..ScidCheck::default()
    }
}

/// Scid check: a subset of `ids`.
pub fn subset_of(ids: Vec<String>) -> ScidCheck {
    ScidCheck {
        subset_of: Some(ids),
        ..ScidCheck::default()
    }
}

// ---- scenarios ----

/// A vector under construction.
pub struct Scenario {
    v: Vector,
    now: u64,
    /// The id the next steps' expectations check unless a pattern names its own.
    id: String,
}

impl Scenario {
    /// A new scenario testing `requirements`.
    pub fn new(name: &str, requirements: &[&str], description: &str) -> Self {
        Scenario {
            v: Vector {
                generated: GENERATED.into(),
                format: FORMAT_VERSION,
                name: name.into(),
                requirements: requirements.iter().map(|s| s.to_string()).collect(),
                description: description.into(),
                optional_op: None,
                sets: BTreeMap::new(),
                invariants: Vec::new(),
                steps: Vec::new(),
            },
            now: 0,
            id: requirements
                .first()
                .expect("a scenario tests something")
                .to_string(),
        }
    }
    /// Expectations of the following steps check `id` (unless a pattern names its own).
    pub fn checking(&mut self, id: &str) -> &mut Self {
        self.id = id.to_owned();
        self
    }
    /// The id the following steps check.
    pub fn current_id(&self) -> &str {
        &self.id
    }
    /// The clock as of the last `init`/`tick` step.
    pub fn now(&self) -> u64 {
        self.now
    }
    /// Adds a named scid set.
    pub fn set(&mut self, name: &str, ids: Vec<String>) -> &mut Self {
        self.v.sets.insert(name.into(), ids);
        self
    }
    /// Adds an invariant (one naming no id checks the scenario's current one).
    pub fn invariant(&mut self, mut inv: Invariant) -> &mut Self {
        match &mut inv {
            Invariant::RateLimit { id, .. } | Invariant::RepliesCover { id, .. } => {
                if id.is_empty() {
                    *id = self.id.clone();
                }
            }
        }
        self.v.invariants.push(inv);
        self
    }
    /// Marks the vector as applying only to implementations that support `op`.
    pub fn optional_op(&mut self, op: &str) -> &mut Self {
        self.v.optional_op = Some(op.into());
        self
    }
    /// Adds a step.
    pub fn step(&mut self, op: Value, expect: Vec<Pattern>) -> &mut Self {
        self.push(op, expect, None)
    }
    /// Adds a step with a note saying why.
    pub fn step_note(&mut self, op: Value, expect: Vec<Pattern>, note: &str) -> &mut Self {
        self.push(op, expect, Some(note))
    }
    /// Adds a step whose effects must also equal those of step `index`.
    pub fn step_same_as(
        &mut self,
        op: Value,
        expect: Vec<Pattern>,
        index: usize,
        note: &str,
    ) -> &mut Self {
        self.push(op, expect, Some(note));
        let id = self.id.clone();
        self.v
            .steps
            .last_mut()
            .expect("just pushed")
            .same_effects_as = Some(SameEffects { step: index, id });
        self
    }
    /// `peer` queries us (`flow`, `amt`, on [`CHAIN`]) and we answer with a reply stamped with
    /// the clock, at least `amt`, listing exactly `want` (the query-and-expect step most
    /// vectors repeat).
    pub fn ask(&mut self, peer: &str, flow: u8, amt: u64, want: Vec<String>) -> &mut Self {
        let check = reply_check(CHAIN, flow, self.now, amt, equals(want));
        self.step(
            recv(peer, &query_msg(CHAIN, flow, amt)),
            vec![sends_reply(peer, check)],
        )
    }
    /// `peer` sends us a reply on [`CHAIN`] (`flow`, `ts`, `amt`, `ids`) that has no effect:
    /// an offer to hold, or to discard (the step every offer-holding vector starts from).
    pub fn offer_from(
        &mut self,
        peer: &str,
        flow: u8,
        ts: u64,
        amt: u64,
        ids: &[ShortChannelId],
    ) -> &mut Self {
        self.step(recv(peer, &reply_msg(CHAIN, flow, ts, amt, ids)), vec![])
    }
    /// The offers we hold are exactly `offers`.
    pub fn holding(&mut self, offers: Vec<OfferEntry>) -> &mut Self {
        self.step(offers_op(), vec![holds(offers)])
    }
    /// Index of the next step.
    pub fn next_index(&self) -> usize {
        self.v.steps.len()
    }
    fn push(&mut self, op: Value, mut expect: Vec<Pattern>, note: Option<&str>) -> &mut Self {
        if let Some(t) = op.get("now").and_then(Value::as_u64) {
            self.now = t;
        }
        for p in &mut expect {
            if p.id().is_empty() {
                let level = p.level();
                p.set_id(&self.id, level);
            }
            split_exact_set(p);
        }
        let all_pinned =
            !expect.is_empty() && expect.iter().all(|p| p.level() == Some(Level::Pinned));
        self.v.steps.push(Step {
            op,
            id: self.id.clone(),
            level: all_pinned.then_some(Level::Pinned),
            expect,
            same_effects_as: None,
            note: note.map(str::to_owned),
        });
        self
    }
    /// `init` with `node`, then `connect` for each of `peers` (no effects expected).
    pub fn start(&mut self, node: &Node, peers: &[&str]) -> &mut Self {
        self.step(node.init_op(), vec![]);
        for p in peers {
            self.step(connect(p), vec![]);
        }
        self
    }
    /// The finished vector: its `requirements` are the declared ids followed by any other id
    /// an expectation checks (A01 for exact reply sets). Panics (a scenario bug) when a
    /// declared id is checked by no expectation.
    pub fn build(&mut self) -> Vector {
        let used = self.v.expectation_ids();
        for id in &self.v.requirements {
            assert!(
                used.contains(id),
                "{}: declares {id} but no expectation checks it",
                self.v.name
            );
        }
        for id in used {
            if !self.v.requirements.contains(&id) {
                self.v.requirements.push(id);
            }
        }
        self.v.clone()
    }
}

// ---- pipe protocol v2: forwarding (§4–§5) ----

/// v2 `htlc`: `id` arrives on `in_scid` to leave on `out_scid` with `amt`; `fee_free` when it
/// pays us less than our fee (a rebalance).
pub fn htlc(
    id: &str,
    in_scid: ShortChannelId,
    out_scid: ShortChannelId,
    amt: u64,
    fee_free: bool,
    blocks_to_expiry: u32,
) -> Value {
    json!({"op": "htlc", "id": id, "in_scid": in_scid.to_string(), "out_scid": out_scid.to_string(),
           "amt": amt, "fee_free": fee_free, "blocks_to_expiry": blocks_to_expiry})
}
/// v2 `rebalance_result`.
pub fn rebalance_result(id: &str, ok: bool) -> Value {
    json!({"op": "rebalance_result", "id": id, "ok": ok})
}
/// v2 `graph_edges`: endpoints of public channels.
pub fn graph_edges(edges: &[(ShortChannelId, &str, &str)]) -> Value {
    let e: Vec<Value> = edges
        .iter()
        .map(|(s, a, b)| json!({"scid": s.to_string(), "a": a, "b": b}))
        .collect();
    json!({"op": "graph_edges", "edges": e})
}
/// The HTLC is forwarded on `scid`.
pub fn forwards(htlc: &str, scid: ShortChannelId) -> Pattern {
    Pattern::Forward {
        id: String::new(),
        level: None,
        htlc: htlc.into(),
        scid: Some(scid.to_string()),
    }
}
/// The HTLC is failed with `code` (any code when `None`).
pub fn fails(htlc: &str, code: Option<&str>) -> Pattern {
    Pattern::Fail {
        id: String::new(),
        level: None,
        htlc: htlc.into(),
        code: code.map(str::to_owned),
    }
}
/// The HTLC is held, until `until_max` at the latest.
pub fn holds_htlc(htlc: &str, until_max: u64) -> Pattern {
    Pattern::Hold {
        id: String::new(),
        level: None,
        htlc: htlc.into(),
        until_max,
    }
}
/// A JIT rebalance for `htlc` of at least `amt_min`; `exact` (id, amount, hops) is our
/// reference policy's choice, checked at level pinned.
pub fn rebalances(
    htlc: &str,
    amt_min: u64,
    exact: Option<(&str, u64, &[ShortChannelId])>,
) -> Pattern {
    Pattern::Rebalance {
        id: String::new(),
        level: None,
        htlc: htlc.into(),
        amt_min,
        exact: exact.map(|(id, amt, hops)| crate::vector::RebalanceExact {
            id: id.into(),
            level: Some(Level::Pinned),
            amt,
            hops: strs(hops),
        }),
    }
}

/// v2 `plan`.
pub fn plan_op() -> Value {
    json!({"op": "plan"})
}

/// A `plan` answer checked by `checks`, each against its own id (the pattern itself checks
/// `R-REB-4`'s "a plan is reported").
pub fn plans(checks: Vec<crate::vector::PlanCheck>) -> Pattern {
    Pattern::Plan {
        id: String::new(),
        level: None,
        checks,
    }
}

/// v2 `rebalance_result` for one of the rebalances a `plan` answer listed (`hops`), failed
/// at `erring` (R-REB-8).
pub fn planned_rebalance_failed(hops: &[ShortChannelId], erring: ShortChannelId) -> Value {
    json!({"op": "rebalance_result", "hops": strs(hops), "ok": false,
           "erring_scid": erring.to_string()})
}

/// v2 `require_offer` (R-REB-6 on or off).
pub fn require_offer_op(on: bool) -> Value {
    json!({"op": "require_offer", "on": on})
}

/// v2 `collect_offers` (R-CM-4).
pub fn collect_offers_op() -> Value {
    json!({"op": "collect_offers"})
}

/// One query R-CM-4 asks for: `peer`, `flow_value`, the deviation from target and a tenth of
/// it (msat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectQuery {
    /// The peer.
    pub peer: String,
    /// 1 for a source (push), 0 for a sink (take).
    pub flow: u8,
    /// Its surplus `L − ⌈ν·K⌉` or deficit `⌊ν·K⌋ − L`.
    pub deviation: u64,
    /// A tenth of it, rounded down, at least 1 msat (the project's pinned amount).
    pub amt: u64,
}

/// Reference of R-CM-4 (docs/bolt14.md §3.2), written independently of `foaf-peer`: for the
/// 8 sources with the largest surplus and the 8 sinks with the largest deficit among the
/// peers of `node` with non-closing channels (merged, M02), against ν over the same channels
/// (ties in peer order), the query a collection sends, in peer order; none for a peer at ν.
/// The amount is a tenth, raised to 1 msat. Exact integer arithmetic (u128 is enough for
/// scenario sizes).
pub fn reference_collect(node: &Node) -> Vec<CollectQuery> {
    let mut peers: BTreeMap<&str, (u128, u128)> = BTreeMap::new();
    for c in node
        .channels
        .iter()
        .filter(|c| !c.closing && c.capacity > 0)
    {
        let e = peers.entry(&c.peer).or_default();
        e.0 += u128::from(c.local);
        e.1 += u128::from(c.capacity);
    }
    let (sl, sk) = peers
        .values()
        .fold((0u128, 0u128), |(a, b), (l, k)| (a + l, b + k));
    let mut out = Vec::new();
    for (peer, (l, k)) in peers {
        let target_floor = sl * k / sk;
        let (flow, deviation) = match (l * sk).cmp(&(sl * k)) {
            std::cmp::Ordering::Equal => continue,
            std::cmp::Ordering::Greater => (1, l - (sl * k).div_ceil(sk)),
            std::cmp::Ordering::Less => (0, target_floor - l),
        };
        let deviation = u64::try_from(deviation).expect("scenario sizes");
        // A tenth, raised to the node's floor (1 msat by default) when the deviation allows.
        let amt = (deviation / 10).max(1);
        if deviation >= amt {
            out.push(CollectQuery {
                peer: peer.to_string(),
                flow,
                deviation,
                amt,
            });
        }
    }
    // At most 8 per flow, the largest deviations first (a stable sort keeps peer order).
    let mut ranked: Vec<&CollectQuery> = out.iter().collect();
    ranked.sort_by_key(|q| std::cmp::Reverse(q.deviation));
    let mut kept: Vec<String> = Vec::new();
    for flow in [0u8, 1] {
        kept.extend(
            ranked
                .iter()
                .filter(|q| q.flow == flow)
                .take(8)
                .map(|q| q.peer.clone()),
        );
    }
    out.retain(|q| kept.contains(&q.peer));
    out
}

/// The query a collection sends for `q`: at `level` (the scenario's id's own when `None`)
/// `flow_value` as R-CM-4 asks and a part of the deviation, not all of it; at level pinned,
/// exactly a tenth.
pub fn collect_query(q: &CollectQuery, id: &str, level: Option<Level>) -> Pattern {
    let part = QueryCheck {
        chain_hash: Some(CHAIN.to_string()),
        flow_value: Some(q.flow),
        amt_min: Some(1),
        amt_max: Some(q.deviation.saturating_sub(1)),
    };
    let mut p = sends_query(&q.peer, part);
    p.set_id(id, level);
    if let Pattern::Send { also, .. } = &mut p {
        also.push(Check {
            id: id.into(),
            level: Some(Level::Pinned),
            msg: None,
            query: Some(QueryCheck {
                amt_min: Some(q.amt),
                amt_max: Some(q.amt),
                ..QueryCheck::default()
            }),
            reply: None,
        });
    }
    p
}
