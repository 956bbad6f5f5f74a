//! The simulator's core loops on a seeded 1,000-node scale-free graph:
//! - evaluating the all-pairs success rate from precomputed cheapest-path trees, against the
//!   peer approach of recomputing the cheapest paths (one Dijkstra per source) each time;
//! - one round of the cycles ≤ 5 strategy from coin-flip balances;
//! - one FOAF round (every node queries, answers, plans and executes through real
//!   `foaf_peer::Node`s) from coin-flip balances.
//!
//! `cargo bench -p foaf-sim --bench sim`

use criterion::{criterion_group, criterion_main, Criterion};
use foaf_sim::cycles::{CycleConfig, CycleSearch};
use foaf_sim::foaf::{FoafConfig, FoafNetwork};
use foaf_sim::metrics::{target_ratios, Routes};
use foaf_sim::{Balances, Graph, InitialBalance};

fn bench(c: &mut Criterion) {
    let g = Graph::barabasi_albert(1000, 4, 1);
    let b = Balances::initial(&g, InitialBalance::CoinFlip, 1);
    let routes = Routes::compute(&g, None);
    let mut group = c.benchmark_group("success_rate_all_pairs_1000_nodes");
    group.sample_size(10);
    group.bench_function("precomputed_trees", |bench| {
        bench.iter(|| routes.success_rate(&g, &b, 1000))
    });
    group.bench_function("dijkstra_per_source (peer)", |bench| {
        bench.iter(|| Routes::compute(&g, None).success_rate(&g, &b, 1000))
    });
    group.finish();

    let nu = target_ratios(&g, &b);
    let mut group = c.benchmark_group("cycles5_round_1000_nodes");
    group.sample_size(10);
    group.bench_function("round", |bench| {
        bench.iter_batched(
            || b.clone(),
            |mut bb| CycleSearch::new(&g, nu.clone(), CycleConfig::cycles5()).round(&mut bb, 1),
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("foaf_round_1000_nodes");
    group.sample_size(10);
    group.bench_function("round", |bench| {
        bench.iter_batched(
            || {
                let bb = b.clone();
                let net = FoafNetwork::new(&g, &bb, FoafConfig::default(), 1);
                (bb, net)
            },
            |(mut bb, mut net)| net.round(&mut bb),
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
