//! What FOAF costs on the money path, on the in-process LDK network (five real LDK nodes,
//! BOLT #8 over in-memory pipes, one thread):
//!
//! - `jit_forward/balance_there` (the peer compared against): D pays C 300 000 sat through A's
//!   alias for A–C while A already holds enough on A–C (a plain intercepted forward);
//! - `jit_forward/held_and_refilled`: the same payment when A holds only 100 000 sat: A holds the
//!   HTLC, runs the refill rebalance A→B→C→A, then forwards. The ratio of the two medians is the
//!   latency JIT adds;
//! - `rebalance/one_step`: one planned rebalance of A, from `rebalance_step` to settled: its
//!   inverse is the rebalances per second one initiator executes.
//!
//! Each iteration runs on a fresh network (built outside the timed part), so every sample sees
//! the same balances.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use foaf_ldk::RoutingConfig;
use foaf_ldk_net::{triangle_network, Network};

const AMT: u64 = 300_000_000;

fn fresh(refilled_first: bool) -> Network {
    let mut net = triangle_network(vec![RoutingConfig::new(); 5]).expect("network");
    net.exchange_offers(400_000_000).expect("offers");
    if refilled_first {
        // A's rebalance moves A–C to 366 666 sat on A's side: the payment then needs no JIT.
        net.rebalance_once(0).expect("rebalance");
        net.exchange_offers(400_000_000).expect("offers");
    }
    net
}

fn pay(net: &mut Network) {
    let id = net
        .start_payment_via_alias(3, 0, 2, AMT, None)
        .expect("payment");
    net.pump().expect("pump");
    assert_eq!(net.payment_outcome(3, id), Some(true));
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("jit_forward");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("balance_there", |b| {
        b.iter_batched(|| fresh(true), |mut n| pay(&mut n), BatchSize::PerIteration)
    });
    g.bench_function("held_and_refilled", |b| {
        b.iter_batched(
            || fresh(false),
            |mut n| pay(&mut n),
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("rebalance");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("one_step", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut n = fresh(false);
                let t = Instant::now();
                let id = n.rebalance_once(0).expect("rebalance");
                total += t.elapsed();
                assert!(id.is_some());
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
