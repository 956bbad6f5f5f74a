//! Medians and 99th percentiles of FOAF's money path (criterion reports neither per-iteration
//! percentiles nor p99): a measured run, `harness = false`, printing one table.
//!
//! ```sh
//! nice cargo bench -p foaf-ldk-net --bench money_p99            # 200 samples of each
//! nice cargo bench -p foaf-ldk-net --bench money_p99 -- 500     # more
//! ```
//!
//! On the in-process network of five real LDK nodes (crates/foaf-ldk-net; every sample on a
//! fresh network, built outside the timed part), D pays C 300 000 sat through A over the public
//! channel A–C (an ordinary forward, intercepted under `ToPublicChannels`):
//!
//! - `forward, balance there` (the peer): A already holds enough on A–C;
//! - `forward, JIT`: A holds 100 000 sat on A–C: it holds the HTLC, refills A–C by a fee-free
//!   rebalance A→B→C→A and forwards. Both are timed from sending to settled (`Network::pump`
//!   returns); their ratio is what JIT adds;
//! - `hold (held → forwarded)`: within the JIT case, from A holding the HTLC to A forwarding it;
//! - `rebalance step`: A's `rebalance_step` from planning to settled; rebalances per second for
//!   one initiator is the number of samples over their total time.
//!
//! Progress on stderr, the table on stdout.

use std::time::{Duration, Instant};

use foaf_ldk::{RoutingConfig, RoutingEvent};
use foaf_ldk_net::{triangle_network, Network, NextHop, TwoHopPayment};

const AMT: u64 = 300_000_000;
const OFFER: u64 = 400_000_000;
const A: usize = 0;
const C: usize = 2;
const D: usize = 3;

fn fresh(refilled_first: bool) -> Network {
    let mut net = triangle_network(vec![RoutingConfig::new(); 5]).expect("network");
    net.exchange_offers(OFFER).expect("offers");
    if refilled_first {
        // A's rebalance moves A–C to 366 666 sat on A's side: the payment then needs no JIT.
        net.rebalance_once(A).expect("rebalance");
        net.exchange_offers(OFFER).expect("offers");
    }
    net
}

/// The payment, timed from sending to settled; with the hold's share when A held it.
fn pay(net: &mut Network) -> (Duration, Option<Duration>) {
    let t0 = Instant::now();
    let id = net
        .start_two_hop_payment(TwoHopPayment::new(D, A, C, AMT, NextHop::Public))
        .expect("payment");
    let mut hold = None;
    // Without a hold the network settles first (an error here, and the payment is done).
    if net
        .step_until(|n| n.nodes[A].routing.held_count() == 1)
        .is_ok()
    {
        let held = Instant::now();
        net.step_until(|n| {
            n.nodes[A].count_routing(|e| {
                matches!(
                    e,
                    RoutingEvent::JitForwarded {
                        after_refill: true,
                        ..
                    }
                )
            }) == 1
        })
        .expect("forwarded after the refill");
        hold = Some(held.elapsed());
    }
    net.pump().expect("pump");
    let total = t0.elapsed();
    assert_eq!(net.payment_outcome(D, id), Some(true), "payment failed");
    (total, hold)
}

struct Stats {
    median: Duration,
    p99: Duration,
    mean: Duration,
}

/// Nearest-rank percentiles of `v` (sorted here).
fn stats(v: &mut [Duration]) -> Stats {
    v.sort();
    let rank = |p: f64| {
        let k = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[k - 1]
    };
    let total: Duration = v.iter().sum();
    Stats {
        median: rank(0.5),
        p99: rank(0.99),
        mean: total / u32::try_from(v.len()).unwrap_or(u32::MAX),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    // `cargo bench` passes `--bench`; the first number among the arguments is the sample count.
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let (mut plain, mut jit, mut hold, mut step) = (vec![], vec![], vec![], vec![]);
    for k in 0..n {
        if k % 20 == 0 {
            eprintln!("money_p99: sample {k}/{n}");
        }
        let (t, h) = pay(&mut fresh(true));
        assert!(h.is_none(), "the balance-there payment was held");
        plain.push(t);
        let (t, h) = pay(&mut fresh(false));
        jit.push(t);
        hold.push(h.expect("the JIT payment was not held"));
        let mut net = fresh(false);
        let t0 = Instant::now();
        let id = net.rebalance_once(A).expect("rebalance");
        step.push(t0.elapsed());
        assert!(id.is_some(), "nothing planned");
    }
    let (p, j, h, s) = (
        stats(&mut plain),
        stats(&mut jit),
        stats(&mut hold),
        stats(&mut step),
    );
    println!("{n} samples each (release build, one thread, five LDK nodes)");
    println!("| measurement | median | p99 | mean |");
    println!("|---|---|---|---|");
    for (name, x) in [
        ("forward, balance there (peer)", &p),
        ("forward, JIT (held, refilled, forwarded)", &j),
        ("hold (held → forwarded)", &h),
        ("rebalance step (plan, pay A→B→C→A, settle)", &s),
    ] {
        println!(
            "| {name} | {} | {} | {} |",
            ms(x.median),
            ms(x.p99),
            ms(x.mean)
        );
    }
    println!(
        "| ratio JIT / balance there | {:.2} | {:.2} | |",
        j.median.as_secs_f64() / p.median.as_secs_f64(),
        j.p99.as_secs_f64() / p.p99.as_secs_f64()
    );
    println!(
        "rebalances per second, one initiator: {:.1} (samples / their total time)",
        1.0 / s.mean.as_secs_f64()
    );
}
