//! `foaf demo`: BOLT #14 moving real money on a network of real LDK nodes, in one process and
//! without a blockchain daemon (crates/foaf-ldk-net, docs/ldk-harness.md).
//!
//! 1. Five LDK nodes A–E open six announced channels; A–B–C form a triangle whose channels all
//!    sit 90/10 the same way round.
//! 2. The nodes exchange offers (`query_foaf_balances`/`reply_foaf_balances` over BOLT #8).
//! 3. Every node runs its planner; each step is paid as a zero-fee circular payment, and every
//!    hop decides on the live HTLC (R-REB-5). Printed: each rebalance, its route, amount, fees
//!    and the hops' decisions; balances and G per node before and after.
//! 4. The same stream of payments (seeded) runs on a copy of the network without rebalancing
//!    and on the rebalanced one: success rates.
//! 5. A JIT forward: D pays C through A over the public channel A–C (an ordinary forward, the
//!    onion names A–C's real short channel id), whose side of A–C is short; without offers it
//!    fails with `temporary_channel_failure`, with them A holds it, refills A–C and forwards.
//!
//! Progress on stderr, the summary on stdout (tables, or one JSON object with `--json`).

use foaf_ldk::{RoutingConfig, RoutingEvent};
use foaf_ldk_net::{triangle_network, Network, NextHop, TwoHopPayment};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::CliError;

/// `println!` into the demo's text table, written to stdout at once (crate::output).
macro_rules! outln {
    ($t:ident, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($t, $($arg)*);
    }};
}

/// Arguments of `foaf demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Payments in the stream run with and without FOAF.
    #[arg(long, default_value_t = 40)]
    pub payments: usize,
    /// Seed of the payment stream (payer, payee, amount).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Amount offered per query, satoshi (`amt_to_rebalance`).
    #[arg(long, default_value_t = 400_000)]
    pub offer_sat: u64,
}

const NAMES: [&str; 5] = ["A", "B", "C", "D", "E"];
/// Payments between two rebalancing rounds in the stream with FOAF.
const REBALANCE_EVERY: usize = 10;

fn progress(msg: &str) {
    eprintln!("foaf demo: {msg}");
}

fn failed(e: impl core::fmt::Display) -> CliError {
    CliError::Failed(format!("the LDK network: {e}"))
}

fn build() -> Result<Network, CliError> {
    triangle_network(vec![RoutingConfig::new(); NAMES.len()]).map_err(failed)
}

fn name_of(net: &Network, id: &foaf_ldk::PublicKey) -> String {
    net.nodes
        .iter()
        .position(|n| n.id() == *id)
        .map_or_else(|| id.to_string(), |i| NAMES[i].to_string())
}

/// One executed (or attempted) rebalance, for the table and the JSON.
struct Executed {
    initiator: usize,
    route: String,
    scids: Vec<String>,
    amount_msat: u64,
    fees_msat: u64,
    settled: bool,
    decisions: Vec<String>,
    g_before: f64,
    g_after: f64,
}

fn routing_len(net: &Network, i: usize) -> usize {
    net.nodes[i].routing_events.lock().map_or(0, |v| v.len())
}

/// Every node plans and pays its rebalances, in turns, until no node has one left (at most
/// `rounds` rounds of fresh offers).
fn rebalance_all(
    net: &mut Network,
    offer_msat: u64,
    rounds: usize,
) -> Result<Vec<Executed>, CliError> {
    let mut done = Vec::new();
    for round in 0..rounds {
        progress(&format!("round {}: exchanging offers", round + 1));
        net.exchange_offers(offer_msat).map_err(failed)?;
        let mut any = false;
        for i in 0..net.nodes.len() {
            for _ in 0..4 {
                let marks: Vec<usize> = (0..net.nodes.len()).map(|j| routing_len(net, j)).collect();
                let g_before = net.nodes[i].gini();
                let Some(id) = net.rebalance_once(i).map_err(failed)? else {
                    break;
                };
                any = true;
                let mut e = Executed {
                    initiator: i,
                    route: String::new(),
                    scids: Vec::new(),
                    amount_msat: 0,
                    fees_msat: 0,
                    settled: false,
                    decisions: Vec::new(),
                    g_before,
                    g_after: net.nodes[i].gini(),
                };
                for (j, n) in net.nodes.iter().enumerate() {
                    let evs = n
                        .routing_events
                        .lock()
                        .map(|v| v[marks[j]..].to_vec())
                        .unwrap_or_default();
                    for ev in evs {
                        match ev {
                            RoutingEvent::RebalanceSent {
                                payment_id,
                                rebalance,
                                fees_msat,
                                ..
                            } if payment_id == id => {
                                let mut names = vec![name_of(net, &net.nodes[i].id())];
                                names.extend(rebalance.hops.iter().map(|h| name_of(net, &h.to)));
                                e.route = names.join("→");
                                e.scids =
                                    rebalance.hops.iter().map(|h| h.scid.to_string()).collect();
                                e.amount_msat = rebalance.amount_msat;
                                e.fees_msat = fees_msat;
                            }
                            RoutingEvent::RebalanceSettled { payment_id } if payment_id == id => {
                                e.settled = true;
                            }
                            RoutingEvent::HopForwarded { .. } => {
                                e.decisions.push(format!("{} forwards", NAMES[j]))
                            }
                            RoutingEvent::HopRefused { refusal, .. } => e.decisions.push(format!(
                                "{} refuses ({})",
                                NAMES[j],
                                refusal.map_or("invalid".to_string(), |r| format!("{r:?}"))
                            )),
                            _ => {}
                        }
                    }
                }
                progress(&format!(
                    "{} {} {} sat: {}",
                    e.route,
                    if e.settled { "settled" } else { "failed" },
                    e.amount_msat / 1000,
                    e.decisions.join(", ")
                ));
                done.push(e);
            }
        }
        if !any {
            break;
        }
        // Past the rate-limit window, so the next round's queries are answered.
        net.clock.advance(120);
    }
    Ok(done)
}

/// The same seeded stream of payments; with `rebalance` (the offer amount), every node runs a
/// round of rebalancing every [`REBALANCE_EVERY`] payments, as a FOAF node would between
/// payments. Returns how many arrived.
fn payment_stream(
    net: &mut Network,
    n: usize,
    seed: u64,
    rebalance: Option<u64>,
) -> Result<usize, CliError> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ok = 0;
    for k in 0..n {
        if let Some(offer_msat) = rebalance {
            if k > 0 && k % REBALANCE_EVERY == 0 {
                rebalance_all(net, offer_msat, 1)?;
            }
        }
        let from = rng.gen_range(0..NAMES.len());
        let mut to = rng.gen_range(0..NAMES.len() - 1);
        if to >= from {
            to += 1;
        }
        let amt_sat = rng.gen_range(50_000..=400_000u64);
        if net.pay(from, to, amt_sat * 1000).map_err(failed)? {
            ok += 1;
        }
    }
    Ok(ok)
}

/// D pays C 300 000 sat through A over the public channel A–C (A's side: 100 000). Returns
/// whether it arrived and A's refill amount, if one ran.
fn jit_forward(
    net: &mut Network,
    with_offers: bool,
    offer_msat: u64,
) -> Result<(bool, Option<u64>), CliError> {
    if with_offers {
        net.exchange_offers(offer_msat).map_err(failed)?;
    }
    let id = net
        .start_two_hop_payment(TwoHopPayment::new(3, 0, 2, 300_000_000, NextHop::Public))
        .map_err(failed)?;
    net.pump().map_err(failed)?;
    let refill = net.nodes[0].routing_events.lock().ok().and_then(|v| {
        v.iter().find_map(|e| match e {
            RoutingEvent::RebalanceSent {
                rebalance,
                jit: true,
                ..
            } => Some(rebalance.amount_msat),
            _ => None,
        })
    });
    Ok((net.payment_outcome(3, id) == Some(true), refill))
}

/// `foaf demo`.
pub fn run(args: Args) -> Result<(), CliError> {
    if args.offer_sat == 0 || args.offer_sat > 1_000_000 {
        return Err(CliError::BadInput(format!(
            "--offer-sat {}: expected 1..=1000000 (the channels hold 1 000 000 sat)",
            args.offer_sat
        )));
    }
    let offer_msat = args.offer_sat * 1000;
    progress("building five LDK nodes and six announced channels (regtest chain in memory)");
    let mut net = build()?;
    let g_before: Vec<f64> = net.nodes.iter().map(|n| n.gini()).collect();
    let balances_before = net.channel_views();
    let executed = rebalance_all(&mut net, offer_msat, 4)?;
    let g_after: Vec<f64> = net.nodes.iter().map(|n| n.gini()).collect();
    let balances_after = net.channel_views();
    let conserved = balances_before
        .iter()
        .zip(&balances_after)
        .all(|(b, a)| b.a_msat + b.b_msat == a.a_msat + a.b_msat);

    progress(&format!(
        "{} payments on a network without FOAF",
        args.payments
    ));
    let mut plain = build()?;
    let ok_plain = payment_stream(&mut plain, args.payments, args.seed, None)?;
    progress(&format!(
        "{} payments on the rebalanced network",
        args.payments
    ));
    let ok_foaf = payment_stream(&mut net, args.payments, args.seed, Some(offer_msat))?;

    progress("JIT forward without offers");
    let (jit_plain, _) = jit_forward(&mut build()?, false, offer_msat)?;
    progress("JIT forward with offers");
    let (jit_foaf, refill) = jit_forward(&mut build()?, true, offer_msat)?;

    if args.json {
        let nodes: Vec<Value> = (0..NAMES.len())
            .map(|i| json!({"node": NAMES[i], "g_before": g_before[i], "g_after": g_after[i]}))
            .collect();
        let chans = |v: &[foaf_ldk_net::ChannelView]| -> Vec<Value> {
            v.iter()
                .map(|c| {
                    json!({"scid": c.scid.to_string(), "a": NAMES[c.a], "b": NAMES[c.b],
                                "a_msat": c.a_msat, "b_msat": c.b_msat})
                })
                .collect()
        };
        let rebalances: Vec<Value> = executed
            .iter()
            .map(|e| {
                json!({"initiator": NAMES[e.initiator], "route": e.route, "scids": e.scids,
                            "amount_msat": e.amount_msat, "fees_msat": e.fees_msat,
                            "settled": e.settled, "hops": e.decisions,
                            "g_before": e.g_before, "g_after": e.g_after})
            })
            .collect();
        let out = json!({
            "nodes": nodes,
            "channels_before": chans(&balances_before),
            "channels_after": chans(&balances_after),
            "funds_conserved": conserved,
            "rebalances": rebalances,
            "payments": {"sent": args.payments, "seed": args.seed,
                         "succeeded_without_foaf": ok_plain, "succeeded_with_foaf": ok_foaf},
            "jit_forward": {"amount_msat": 300_000_000u64, "path": "D→A→C", "next_hop": "public scid",
                            "without_foaf": if jit_plain { "forwarded" } else { "failed" },
                            "with_foaf": if jit_foaf { "forwarded" } else { "failed" },
                            "refill_msat": refill},
        });
        return crate::output::print_line(&out.to_string());
    }
    // The whole table is written at once: a closed stdout is a normal end (output.rs).
    let mut t = String::new();
    outln!(t, "node  G before  G after");
    for i in 0..NAMES.len() {
        outln!(
            t,
            "{:<4}  {:>8.3}  {:>7.3}",
            NAMES[i],
            g_before[i],
            g_after[i]
        );
    }
    t.push('\n');
    outln!(t, "channel      ends  before (sat)        after (sat)");
    for (b, a) in balances_before.iter().zip(&balances_after) {
        outln!(
            t,
            "{:<11}  {}–{}  {:>8} / {:<8}  {:>8} / {:<8}",
            b.scid.to_string(),
            NAMES[b.a],
            NAMES[b.b],
            b.a_msat / 1000,
            b.b_msat / 1000,
            a.a_msat / 1000,
            a.b_msat / 1000
        );
    }
    outln!(
        t,
        "funds conserved on every channel: {}",
        if conserved { "yes" } else { "NO" }
    );
    t.push('\n');
    outln!(
        t,
        "rebalance  route       amount (sat)  fees  result   G       hops"
    );
    for (k, e) in executed.iter().enumerate() {
        outln!(
            t,
            "{:<9}  {:<10}  {:>12}  {:>4}  {:<7}  {:.3}→{:.3}  {}",
            k + 1,
            e.route,
            e.amount_msat / 1000,
            e.fees_msat / 1000,
            if e.settled { "settled" } else { "failed" },
            e.g_before,
            e.g_after,
            e.decisions.join(", ")
        );
    }
    t.push('\n');
    outln!(t,
        "payments ({} seeded, 50 000–400 000 sat; with FOAF, rebalancing every {REBALANCE_EVERY}): without FOAF {}/{} arrived, with FOAF {}/{}",
        args.payments, ok_plain, args.payments, ok_foaf, args.payments
    );
    outln!(
        t,
        "JIT forward D→A→C 300 000 sat over the public channel A–C (A holds 100 000): without FOAF {}, with FOAF {}{}",
        if jit_plain {
            "forwarded"
        } else {
            "failed (temporary_channel_failure)"
        },
        if jit_foaf { "forwarded" } else { "failed" },
        refill.map_or(String::new(), |r| format!(
            " after a {} sat fee-free refill",
            r / 1000
        ))
    );
    crate::output::to_stdout(|w| w.write_all(t.as_bytes()))
}
