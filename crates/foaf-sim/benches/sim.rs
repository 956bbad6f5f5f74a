//! The simulator's core loops on a seeded 1,000-node scale-free graph:
//! - evaluating the all-pairs success rate from precomputed cheapest-path trees, against the
//!   peer approach of recomputing the cheapest paths (one Dijkstra per source) each time;
//! - building the cheapest-path trees of a graph where half the nodes are pendant (one
//!   neighbour, as in the 2021 mainnet graph), against a plain Dijkstra per source that
//!   queues every node (the former implementation, kept here; the same trees);
//! - one round of the cycles ≤ 5 strategy from coin-flip balances;
//! - one FOAF round (every node queries, answers, plans and executes through real
//!   `foaf_peer::Node`s) from coin-flip balances;
//! - three paper-code steps of `cycles5` (the paper's own algorithm), against the plain
//!   enumeration that tries every cycle as `nx.all_simple_paths` lists them (same results).
//!
//! `cargo bench -p foaf-sim --bench sim`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use foaf_sim::cycles::{CycleConfig, CycleSearch};
use foaf_sim::foaf::{FoafConfig, FoafNetwork};
use foaf_sim::graph::GraphChannel;
use foaf_sim::metrics::{plain_dijkstra, target_ratios, Routes};
use foaf_sim::{Balances, Graph, InitialBalance};
use foaf_wire::ShortChannelId;
use rayon::prelude::*;

/// A 1,000-node scale-free core with 1,000 pendant nodes hung on it (one channel each).
fn with_pendants() -> Graph {
    let core = Graph::barabasi_albert(1000, 4, 1);
    let mut ids = core.node_ids.clone();
    let mut channels = core.channels.clone();
    for i in 0..1000u32 {
        let leaf = ids.len() as u32;
        ids.push(format!("pendant-{i}"));
        channels.push(GraphChannel {
            a: (i * 7919) % 1000,
            b: leaf,
            scid: ShortChannelId::from_u64((3u64 << 40) | u64::from(i)),
            capacity_msat: 1_000_000_000,
            base_fee_msat: [u64::from(i % 3) * 500, 1000],
            fee_ppm: [1, 1],
            parts: 1,
        });
    }
    Graph::from_channels(ids, channels)
}

/// The former tree builder: Dijkstra from every source (in parallel, as `Routes::compute`),
/// every node queued; the parent arcs in settling order.
fn plain_trees(g: &Graph) -> Vec<Vec<u32>> {
    (0..g.node_count() as u32)
        .into_par_iter()
        .map(|src| plain_dijkstra(g, src).1)
        .collect()
}

fn trees(c: &mut Criterion) {
    let g = with_pendants();
    let mut group = c.benchmark_group("cheapest_path_trees_2000_nodes_half_pendant");
    group.sample_size(10);
    group.bench_function("Routes::compute", |bench| {
        bench.iter(|| Routes::compute(black_box(&g), None))
    });
    group.bench_function("plain Dijkstra per source (former, peer)", |bench| {
        bench.iter(|| plain_trees(black_box(&g)))
    });
    group.finish();
}

fn paper_code(c: &mut Criterion) {
    let g = Graph::barabasi_albert(1000, 4, 1);
    let st = foaf_sim::paper::prepare(&g, 1, Some(50));
    let p = foaf_sim::paper::PaperParams {
        rounds: 3,
        ..foaf_sim::paper::PaperStrategy::Cycles5.params()
    };
    let mut group = c.benchmark_group("paper_code_cycles5_3_steps_1000_nodes");
    group.sample_size(10);
    group.bench_function("fast", |bench| {
        bench.iter(|| foaf_sim::paper::run(&st, &p, |_| {}))
    });
    group.bench_function("plain enumeration (reference)", |bench| {
        bench.iter(|| foaf_sim::paper::run_reference(&st, &p, |_| {}))
    });
    group.finish();
}

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

criterion_group!(benches, bench, paper_code, trees);
criterion_main!(benches);
