//! `foaf plan`: a node's imbalance, target ratio ν and proposed fee-free circular rebalances
//! (docs/bolt14.md §3–§5), and with `--jit SCID:AMOUNT` the JIT decision for one HTLC.
//!
//! Input: one JSON object (a file, or `-` for stdin), the same value shapes as the conformance
//! pipe protocol (docs/conformance-pipe.md):
//!
//! ```json
//! { "node": "me", "now": 1700000000,
//!   "channels": [{"scid": "800000x1x0", "peer": "alice", "capacity": 1000000,
//!                 "local": 900000, "announced": true, "state": "normal"}],
//!   "offers":   [{"peer": "alice", "scid": "800100x7x1", "flow_value": 1,
//!                 "amt": 400000, "timestamp": 1699999900}],
//!   "graph":    [{"scid": "800100x7x1", "node_1": "alice", "node_2": "bob"}] }
//! ```
//!
//! `node` and `channels` are required; `offers` and `graph` may be left out (empty), and so may
//! `now` when `--now` is given. `graph` lists the endpoints of the channels the offers name (our
//! own channels are added from `channels`). A channel object has the one shape of
//! `foaf_policy::channel_json` (`announced` defaults to false, `state` to "normal").
//! Output: a table, or one JSON object with `--json`. Bad input: exit status 2, one line.

use std::io::Read;

use foaf_policy::channel_json::channel_from_json;
use foaf_policy::{
    imbalance, jit_decide, plan_rebalances, relative_balances, target_ratio, Channel, ChannelGraph,
    CircularRebalance, HtlcToForward, JitConfig, JitDecision, JitFailure, Offer, PlannerConfig,
};
use foaf_wire::{Flow, ShortChannelId};
use serde_json::{json, Map, Value};

use crate::CliError;

/// Arguments of `foaf plan`.
#[derive(clap::Args)]
pub struct Args {
    /// The node as JSON (file path), or `-` (the default) for stdin.
    #[arg(default_value = "-")]
    pub file: String,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also decide JIT routing for an HTLC of AMOUNT msat to forward on our channel SCID.
    #[arg(long, value_name = "SCID:AMOUNT")]
    pub jit: Option<String>,
    /// Blocks left to the HTLC's outgoing cltv_expiry (for --jit; JIT needs at least 18).
    #[arg(long, default_value_t = 144)]
    pub blocks: u32,
    /// The current time, unix seconds (default: the file's `now`).
    #[arg(long)]
    pub now: Option<u64>,
    /// Most rebalances in the plan.
    #[arg(long, default_value_t = PlannerConfig::default().max_rebalances)]
    pub max_rebalances: usize,
}

/// The node as read from the JSON input.
struct NodeFile {
    me: String,
    now: Option<u64>,
    channels: Vec<Channel<String>>,
    offers: Vec<Offer<String>>,
    graph: ChannelGraph<String>,
}

fn bad(path: &str, what: &str) -> CliError {
    CliError::BadInput(format!("{path}: {what}"))
}

/// `path.key`, or `key` at the top level.
fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn field<'a>(obj: &'a Map<String, Value>, path: &str, key: &str) -> Result<&'a Value, CliError> {
    obj.get(key).ok_or_else(|| bad(&join(path, key), "missing"))
}

fn str_field(obj: &Map<String, Value>, path: &str, key: &str) -> Result<String, CliError> {
    field(obj, path, key)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| bad(&join(path, key), "expected a string"))
}

fn u64_field(obj: &Map<String, Value>, path: &str, key: &str) -> Result<u64, CliError> {
    field(obj, path, key)?
        .as_u64()
        .ok_or_else(|| bad(&join(path, key), "expected an integer ≥ 0"))
}

fn scid_field(obj: &Map<String, Value>, path: &str, key: &str) -> Result<ShortChannelId, CliError> {
    let s = str_field(obj, path, key)?;
    s.parse()
        .map_err(|e| bad(&join(path, key), &format!("{s:?}: {e}")))
}

/// A JSON object with the path it was found at (for error messages).
type Located<'a> = (String, &'a Map<String, Value>);

/// The list at `key`: required (missing is an error naming it) or optional (missing is empty).
fn list<'a>(
    root: &'a Map<String, Value>,
    key: &str,
    required: bool,
) -> Result<&'a [Value], CliError> {
    match root.get(key) {
        None if required => Err(bad(key, "missing (a list is required)")),
        None => Ok(&[]),
        Some(v) => v
            .as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| bad(key, "expected a list")),
    }
}

/// The optional list of objects at `key`, each with its path.
fn objects<'a>(root: &'a Map<String, Value>, key: &str) -> Result<Vec<Located<'a>>, CliError> {
    list(root, key, false)?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let path = format!("{key}[{i}]");
            v.as_object()
                .map(|o| (path.clone(), o))
                .ok_or_else(|| bad(&path, "expected an object"))
        })
        .collect()
}

fn parse_node(text: &str) -> Result<NodeFile, CliError> {
    let root: Value =
        serde_json::from_str(text).map_err(|e| CliError::BadInput(format!("not JSON: {e}")))?;
    let root = root
        .as_object()
        .ok_or_else(|| CliError::BadInput("expected a JSON object".into()))?;
    let me = str_field(root, "", "node")?;
    let now = match root.get("now") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| bad("now", "expected an integer ≥ 0"))?,
        ),
    };
    let mut graph = ChannelGraph::new();
    let mut channels = Vec::new();
    for (path, v) in list(root, "channels", true)?.iter().enumerate() {
        let path = format!("channels[{path}]");
        let c = channel_from_json(v, |s| Ok(s.to_owned()))
            .map_err(|e| bad(&join(&path, e.field), &format!("expected {}", e.expected)))?;
        if c.peer == me {
            return Err(bad(&format!("{path}.peer"), "a channel to ourselves"));
        }
        let scid = c.scid;
        if channels.iter().any(|c: &Channel<String>| c.scid == scid) {
            return Err(bad(&format!("{path}.scid"), "listed twice"));
        }
        graph.insert(scid, me.clone(), c.peer.clone());
        channels.push(c);
    }
    for (path, o) in objects(root, "graph")? {
        let scid = scid_field(o, &path, "scid")?;
        let a = str_field(o, &path, "node_1")?;
        let b = str_field(o, &path, "node_2")?;
        if a == b {
            return Err(bad(&path, "node_1 and node_2 are the same node"));
        }
        if graph.endpoints(scid).is_some() {
            return Err(bad(
                &format!("{path}.scid"),
                "already known (our channel or listed twice)",
            ));
        }
        graph.insert(scid, a, b);
    }
    let mut offers = Vec::new();
    for (path, o) in objects(root, "offers")? {
        let flow_value = u64_field(o, &path, "flow_value")?;
        let flow = u8::try_from(flow_value)
            .ok()
            .and_then(Flow::from_byte)
            .ok_or_else(|| bad(&format!("{path}.flow_value"), "expected 0 or 1 (W05)"))?;
        offers.push(Offer {
            peer: str_field(o, &path, "peer")?,
            scid: scid_field(o, &path, "scid")?,
            flow,
            amt_msat: u64_field(o, &path, "amt")?,
            timestamp: u64_field(o, &path, "timestamp")?,
        });
    }
    Ok(NodeFile {
        me,
        now,
        channels,
        offers,
        graph,
    })
}

fn parse_jit(s: &str, blocks: u32) -> Result<HtlcToForward, CliError> {
    let (scid, amt) = s
        .split_once(':')
        .ok_or_else(|| bad("--jit", &format!("expected SCID:AMOUNT, got {s:?}")))?;
    Ok(HtlcToForward {
        out_scid: scid
            .parse()
            .map_err(|e| bad("--jit", &format!("{scid:?}: {e}")))?,
        amount_msat: amt
            .parse()
            .map_err(|_| bad("--jit", &format!("amount {amt:?} is not a number of msat")))?,
        blocks_to_expiry: blocks,
        fee_free: false,
    })
}

fn rebalance_json(r: &CircularRebalance<String>) -> Value {
    json!({
        "amount": r.amount_msat,
        "imbalance_before": r.imbalance_before,
        "imbalance_after": r.imbalance_after,
        "hops": r.hops.iter().map(|h| json!({
            "scid": h.scid.to_string(),
            "from": h.from,
            "to": h.to,
            "amount": h.amount_msat,
            "fee": h.fee_msat,
        })).collect::<Vec<_>>(),
    })
}

fn failure_name(f: JitFailure) -> (&'static str, &'static str) {
    match f {
        JitFailure::UnknownChannel => ("unknown_channel", "unknown_next_peer"),
        JitFailure::NoRecursion => ("no_recursion", "temporary_channel_failure"),
        JitFailure::TooCloseToExpiry => ("too_close_to_expiry", "temporary_channel_failure"),
        JitFailure::ExceedsCapacity => ("exceeds_capacity", "temporary_channel_failure"),
        JitFailure::NoCycle => ("no_cycle", "temporary_channel_failure"),
    }
}

fn jit_json(d: &JitDecision<String>) -> Value {
    match d {
        JitDecision::Forward { scid } => json!({"decision": "forward", "scid": scid.to_string()}),
        JitDecision::Rebalance {
            rebalance,
            forward_on,
            shortfall_msat,
            hold_until,
        } => json!({
            "decision": "rebalance",
            "forward_on": forward_on.to_string(),
            "shortfall": shortfall_msat,
            "hold_until": hold_until,
            "rebalance": rebalance_json(rebalance),
        }),
        JitDecision::Fail(f) => {
            let (reason, code) = failure_name(*f);
            json!({"decision": "fail", "reason": reason, "failure": code})
        }
    }
}

fn route(r: &CircularRebalance<String>) -> String {
    let mut s = r.hops[0].from.clone();
    for h in &r.hops {
        s.push_str(&format!(" -[{}]-> {}", h.scid, h.to));
    }
    s
}

pub fn run(args: Args) -> Result<(), CliError> {
    let text = if args.file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::BadInput(format!("reading stdin: {e}")))?;
        s
    } else {
        std::fs::read_to_string(&args.file)
            .map_err(|e| CliError::BadInput(format!("{}: {e}", args.file)))?
    };
    let node = parse_node(&text)?;
    let now = args
        .now
        .or(node.now)
        .ok_or_else(|| CliError::BadInput("no time: give \"now\" in the file or --now".into()))?;
    let htlc = args
        .jit
        .as_deref()
        .map(|s| parse_jit(s, args.blocks))
        .transpose()?;

    let cfg = PlannerConfig {
        max_rebalances: args.max_rebalances,
        ..PlannerConfig::default()
    };
    let plan = plan_rebalances(
        &node.me,
        &node.channels,
        &node.offers,
        &node.graph,
        now,
        &cfg,
    );
    let nu = target_ratio(&node.channels);
    let g = imbalance(&node.channels);
    let mut after = node.channels.clone();
    for r in &plan {
        foaf_policy::apply_rebalance(&mut after, r);
    }
    let g_after = imbalance(&after);
    let zeta = relative_balances(&node.channels);
    let totals = foaf_policy::imbalance::per_peer_totals(&node.channels, |c| {
        c.is_active() && c.capacity_msat > 0
    });
    let role = |z: f64| match nu {
        Some(nu) if z > nu => "source",
        Some(nu) if z < nu => "sink",
        _ => "on target",
    };
    let jit = htlc.map(|h| {
        (
            h.clone(),
            jit_decide(
                &node.me,
                &node.channels,
                &node.offers,
                &node.graph,
                now,
                &h,
                &JitConfig::default(),
            ),
        )
    });

    if args.json {
        let mut out = json!({
            "node": node.me,
            "now": now,
            "nu": nu,
            "imbalance": g,
            "peers": zeta.iter().map(|(p, z)| {
                let (l, k) = totals[p];
                json!({"peer": p, "local": l, "capacity": k, "zeta": z, "role": role(*z)})
            }).collect::<Vec<_>>(),
            "plan": plan.iter().map(rebalance_json).collect::<Vec<_>>(),
            "imbalance_after_plan": g_after,
        });
        if let Some((_, d)) = &jit {
            out["jit"] = jit_json(d);
        }
        return crate::output::print_line(&out.to_string());
    }

    crate::output::to_stdout(|out| {
        let nu_s = nu.map_or("-".to_owned(), |v| format!("{v:.6}"));
        writeln!(
            out,
            "node {}: {} peers, {} channels, now {now}; ν = {nu_s}, imbalance G = {g:.6}",
            node.me,
            zeta.len(),
            node.channels.len()
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "{:<12} {:>14} {:>14} {:>9}  role",
            "peer", "local_msat", "capacity_msat", "ζ"
        )?;
        for (p, z) in &zeta {
            let (l, k) = totals[p];
            writeln!(out, "{p:<12} {l:>14} {k:>14} {z:>9.6}  {}", role(*z))?;
        }
        writeln!(out)?;
        if plan.is_empty() {
            writeln!(out, "plan: no rebalance lowers G with the offers held")?;
        } else {
            writeln!(
                out,
                "plan: {} rebalance(s), G {g:.6} -> {g_after:.6} (zero fees)",
                plan.len()
            )?;
            writeln!(
                out,
                "{:>3} {:>12} {:>9}  route",
                "#", "amount_msat", "G after"
            )?;
            for (i, r) in plan.iter().enumerate() {
                writeln!(
                    out,
                    "{:>3} {:>12} {:>9.6}  {}",
                    i + 1,
                    r.amount_msat,
                    r.imbalance_after,
                    route(r)
                )?;
            }
        }
        if let Some((h, d)) = jit {
            writeln!(out)?;
            write!(
                out,
                "jit: HTLC of {} msat on {}: ",
                h.amount_msat, h.out_scid
            )?;
            match d {
                JitDecision::Forward { scid } => writeln!(out, "forward now on {scid}")?,
                JitDecision::Rebalance {
                    rebalance,
                    forward_on,
                    shortfall_msat,
                    hold_until,
                } => writeln!(
    out,
                    "shortfall {shortfall_msat} msat; hold until {hold_until}, rebalance {} msat {}, then forward on {forward_on}",
                    rebalance.amount_msat,
                    route(&rebalance)
                )?,
                JitDecision::Fail(f) => {
                    let (reason, code) = failure_name(f);
                    writeln!(out, "fail with {code} ({reason})")?;
                }
            }
        }
        Ok(())
    })
}
