//! Pipe protocol v2 (docs/conformance-pipe.md, "Protocol v2"): HTLCs a hop is asked to forward,
//! the JIT rebalances it asks for and their results, and the public graph's endpoints. The
//! decisions are foaf-policy's: [`foaf_policy::check_fee_free_forward`] for a zero-fee HTLC
//! (R-REB-5–7; R-REB-6 with the offers the node made, `Node::offered_at`),
//! [`foaf_peer::Node::jit_decide`] for a paid one (R-JIT-1–5); this module only
//! keeps the state the protocol needs between ops (held HTLCs, the fee-free budget used per
//! upstream peer and window) and renders the answers.

use std::collections::{BTreeMap, VecDeque};

use foaf_peer::{Fault, Node, Timestamp};
use foaf_policy::{
    check_fee_free_forward, ChannelGraph, FeeFreeForward, FeeFreeRefusal, HopConfig, HtlcToForward,
    JitConfig, JitDecision, JitFailure, PlannerConfig,
};
use foaf_wire::ShortChannelId;
use serde_json::{json, Value};

/// Our own node's name in the [`ChannelGraph`] the planner and JIT search (peers are named by
/// the runner; the empty string is not a legal peer name in any vector).
pub const ME: &str = "";

/// The `htlc` op: a forward we are asked to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtlcOp {
    /// The runner's name for this HTLC (echoed in every effect about it).
    pub id: String,
    /// Our channel it arrives on.
    pub in_scid: ShortChannelId,
    /// Our channel the onion names for the next hop.
    pub out_scid: ShortChannelId,
    /// `amt_to_forward`, msat.
    pub amt: u64,
    /// The fee it leaves us is below our `channel_update`'s: a fee-free rebalance (§4.2).
    pub fee_free: bool,
    /// Blocks from now to the outgoing `cltv_expiry` (R-JIT-4).
    pub blocks_to_expiry: u32,
}

/// A held HTLC (R-JIT-4): forwarded on `forward_on` when its rebalance succeeds in time.
#[derive(Debug, Clone)]
struct Held {
    forward_on: ShortChannelId,
    until: u64,
}

/// The forwarding side of a session.
#[derive(Default)]
pub struct Forwarding {
    /// Endpoints of public channels (`graph_edges`); our own are added at each decision.
    edges: Vec<(ShortChannelId, String, String)>,
    held: BTreeMap<String, Held>,
    /// Fee-free volume forwarded per upstream peer: (unix seconds, msat), oldest first.
    budget: BTreeMap<String, VecDeque<(u64, u64)>>,
    hop: HopConfig,
    jit: JitConfig,
}

fn fail(id: &str, code: &str) -> Value {
    json!({"effect": "fail", "id": id, "code": code})
}

fn forward(id: &str, scid: ShortChannelId) -> Value {
    json!({"effect": "forward", "id": id, "scid": scid.to_string()})
}

impl Forwarding {
    /// `graph_edges`: replaces the known endpoints of public channels.
    pub fn set_edges(&mut self, edges: Vec<(ShortChannelId, String, String)>) {
        self.edges = edges;
    }

    fn graph(&self, node: &Node<String>) -> ChannelGraph<String> {
        let mut g: ChannelGraph<String> = self.edges.iter().cloned().collect();
        for c in node.channels() {
            g.insert(c.scid, ME.to_string(), c.peer.clone());
        }
        g
    }

    /// Fee-free volume forwarded for `peer` within the budget window ending at `now`.
    fn budget_used(&mut self, peer: &str, now: u64) -> u64 {
        let window = self.hop.budget_window_secs;
        let q = self.budget.entry(peer.to_string()).or_default();
        while q
            .front()
            .is_some_and(|(t, _)| t.saturating_add(window) <= now)
        {
            q.pop_front();
        }
        q.iter().map(|(_, a)| *a).sum()
    }

    /// The `require_offer` op: R-REB-6 on or off (off after `init`, as by default).
    pub fn require_offer(&mut self, on: bool) {
        self.hop.require_offer = on;
    }

    /// The `htlc` op.
    pub fn htlc(&mut self, node: &mut Node<String>, h: HtlcOp, now: Timestamp) -> Vec<Value> {
        let fault = node.config().fault;
        let secs = now.as_secs();
        let channels: Vec<_> = node.channels().cloned().collect();
        let upstream = channels
            .iter()
            .find(|c| c.scid == h.in_scid)
            .map(|c| c.peer.clone());
        // A zero-fee HTLC gets the hop check, never JIT (R-REB-9, R-JIT-3); the faults that
        // break those two send it through JIT instead.
        let jit_for_fee_free = matches!(
            fault,
            Some(Fault::RReb9JitForFeeFree | Fault::RJit3JitForFeeFree)
        );
        if h.fee_free && !jit_for_fee_free {
            let used = match (&upstream, fault) {
                (_, Some(Fault::RReb7NoBudget)) | (None, _) => 0,
                (Some(p), _) => self.budget_used(p, secs),
            };
            let fwd = FeeFreeForward {
                in_scid: h.in_scid,
                out_scid: h.out_scid,
                amount_msat: h.amt,
                // R-REB-6: the offer we made for this move, when the hop requires one.
                offered_at: self
                    .hop
                    .require_offer
                    .then(|| node.offered_at(h.in_scid, h.out_scid, h.amt))
                    .flatten(),
                budget_used_msat: used,
            };
            let verdict = match check_fee_free_forward(&channels, &fwd, secs, &self.hop) {
                Err(FeeFreeRefusal::AwayFromTarget | FeeFreeRefusal::NoImprovement)
                    if fault == Some(Fault::RReb5ForwardAnyZeroFee) =>
                {
                    Ok(())
                }
                v => v,
            };
            return match verdict {
                Ok(()) => {
                    if let Some(p) = upstream {
                        self.budget.entry(p).or_default().push_back((secs, h.amt));
                    }
                    if self.hop.require_offer {
                        node.note_fee_free_forward(h.in_scid, h.out_scid, h.amt);
                    }
                    vec![forward(&h.id, h.out_scid)]
                }
                Err(FeeFreeRefusal::UnknownChannel) => vec![fail(&h.id, "unknown_next_peer")],
                // The ordinary failure of an HTLC that does not pay our fee (R-REB-5).
                Err(_) => vec![fail(&h.id, "fee_insufficient")],
            };
        }
        let htlc = HtlcToForward {
            out_scid: h.out_scid,
            amount_msat: h.amt,
            blocks_to_expiry: h.blocks_to_expiry,
            fee_free: false,
        };
        let graph = self.graph(node);
        match node.jit_decide(&ME.to_string(), &graph, now, &htlc, &self.jit) {
            JitDecision::Forward { scid } => {
                if fault == Some(Fault::RJit1FailWhenParallelCould) && scid != h.out_scid {
                    return vec![fail(&h.id, "temporary_channel_failure")];
                }
                vec![forward(&h.id, scid)]
            }
            JitDecision::Rebalance {
                rebalance,
                forward_on,
                shortfall_msat,
                hold_until,
            } => {
                let amt = if fault == Some(Fault::RJit2BelowShortfall) {
                    shortfall_msat.saturating_sub(1)
                } else {
                    rebalance.amount_msat
                };
                self.held.insert(
                    h.id.clone(),
                    Held {
                        forward_on,
                        until: hold_until,
                    },
                );
                let hops: Vec<String> = rebalance.scids().iter().map(|s| s.to_string()).collect();
                vec![
                    json!({"effect": "hold", "id": h.id, "until": hold_until}),
                    json!({"effect": "rebalance", "id": h.id, "amt": amt, "hops": hops}),
                ]
            }
            JitDecision::Fail(JitFailure::UnknownChannel) => vec![fail(&h.id, "unknown_next_peer")],
            JitDecision::Fail(_) if fault == Some(Fault::RJit7DistinctFailure) => {
                vec![fail(&h.id, "temporary_node_failure")]
            }
            JitDecision::Fail(_) => vec![fail(&h.id, "temporary_channel_failure")],
        }
    }

    /// The `plan` op: the circular rebalances we would start now from the offers we hold
    /// (`Node::plan_rebalances`, R-REB-1–R-REB-4), each on the state after the previous one.
    pub fn plan(&self, node: &Node<String>, now: Timestamp) -> Vec<Value> {
        let fault = node.config().fault;
        let mut cfg = PlannerConfig::default();
        if fault == Some(Fault::RReb3StaleOffers) {
            cfg.max_offer_age_secs = u64::MAX;
        }
        let plan = node.plan_rebalances(&ME.to_string(), &self.graph(node), now, &cfg);
        let rebalances: Vec<Value> = plan
            .iter()
            .map(|r| {
                let mut hops: Vec<String> = r.scids().iter().map(|s| s.to_string()).collect();
                let mut amt = r.amount_msat;
                match fault {
                    Some(Fault::RReb1PastSurplus) => amt = amt.saturating_mul(2),
                    Some(Fault::RReb2OpenCycle) => {
                        hops.pop();
                    }
                    Some(Fault::RReb4HalfTheBest) => amt /= 2,
                    _ => {}
                }
                json!({"amt": amt, "hops": hops})
            })
            .collect();
        vec![json!({"effect": "plan", "rebalances": rebalances})]
    }

    /// The `rebalance_result` op: the JIT rebalance for held HTLC `id` settled (`ok`) or failed.
    pub fn rebalance_result(&mut self, fault: Option<Fault>, id: &str, ok: bool) -> Vec<Value> {
        let Some(held) = self.held.remove(id) else {
            return vec![json!({"effect": "log", "text": format!("no held HTLC {id:?}")})];
        };
        match (ok, fault) {
            (true, Some(Fault::RJit6FailAfterSuccess)) => {
                vec![fail(id, "temporary_channel_failure")]
            }
            (true, _) => vec![forward(id, held.forward_on)],
            (false, Some(Fault::RJit5WrongFailureCode)) => vec![fail(id, "unknown_next_peer")],
            (false, _) => vec![fail(id, "temporary_channel_failure")],
        }
    }

    /// The clock moved: held HTLCs past their deadline fail (R-JIT-4, R-JIT-5), in id order.
    pub fn tick(&mut self, fault: Option<Fault>, now: Timestamp) -> Vec<Value> {
        if fault == Some(Fault::RJit4IgnoreDeadline) {
            return Vec::new();
        }
        let secs = now.as_secs();
        let due: Vec<String> = self
            .held
            .iter()
            .filter(|(_, h)| secs > h.until)
            .map(|(id, _)| id.clone())
            .collect();
        due.iter()
            .map(|id| {
                self.held.remove(id);
                fail(id, "temporary_channel_failure")
            })
            .collect()
    }
}
