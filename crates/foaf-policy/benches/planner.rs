//! Planner and JIT cost on synthetic nodes, as a ratio to one imbalance (Gini) evaluation of the
//! same node, the named peer in the same run. `cargo bench -p foaf-policy --bench planner`.
//! Figures: docs/performance.md, section "Rebalancing planner and JIT".

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use foaf_policy::{
    imbalance, jit_decide, plan_rebalances, Channel, ChannelGraph, ChannelState, HtlcToForward,
    JitConfig, Offer, PlannerConfig,
};
use foaf_wire::{Flow, ShortChannelId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

const NOW: u64 = 1_000_000;

/// A node with `peers` peers (one channel each, random balance), `peers` strangers, and
/// `8 × peers` foreign channels among them, each offered once by an endpoint that is our peer.
fn node(peers: u32, seed: u64) -> (Vec<Channel<u32>>, Vec<Offer<u32>>, ChannelGraph<u32>) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut graph = ChannelGraph::new();
    let mut chans = Vec::new();
    for p in 1..=peers {
        let cap = rng.gen_range(1..=20u64) * 1_000_000;
        let s = ShortChannelId::from_u64(u64::from(p));
        graph.insert(s, 0, p);
        chans.push(Channel {
            scid: s,
            peer: p,
            capacity_msat: cap,
            local_msat: rng.gen_range(0..=cap),
            announced: true,
            state: ChannelState::Normal,
        });
    }
    let mut offers = Vec::new();
    for i in 0..8 * peers {
        let a = rng.gen_range(1..=peers);
        let b = rng.gen_range(1..=2 * peers);
        if a == b {
            continue;
        }
        let s = ShortChannelId::from_u64(1_000_000 + u64::from(i));
        graph.insert(s, a, b);
        offers.push(Offer {
            peer: a,
            scid: s,
            flow: if rng.gen_bool(0.5) {
                Flow::Push
            } else {
                Flow::Receive
            },
            amt_msat: rng.gen_range(1..=10u64) * 1_000_000,
            timestamp: NOW - rng.gen_range(0..300),
        });
    }
    (chans, offers, graph)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("planner");
    g.sample_size(20);
    for peers in [20u32, 100] {
        let (chans, offers, graph) = node(peers, 7);
        g.bench_with_input(
            BenchmarkId::new("imbalance (peer)", peers),
            &peers,
            |b, _| b.iter(|| imbalance(black_box(&chans))),
        );
        let cfg = PlannerConfig::default();
        let plan = plan_rebalances(&0, &chans, &offers, &graph, NOW, &cfg);
        eprintln!(
            "{peers} peers, {} offers: plan of {} rebalances, G {:.4} -> {:.4}",
            offers.len(),
            plan.len(),
            imbalance(&chans),
            plan.last().map_or(imbalance(&chans), |r| r.imbalance_after)
        );
        g.bench_with_input(
            BenchmarkId::new("plan_rebalances", peers),
            &peers,
            |b, _| b.iter(|| plan_rebalances(&0, black_box(&chans), &offers, &graph, NOW, &cfg)),
        );
        let out = chans.iter().min_by_key(|c| c.local_msat).unwrap();
        let htlc = HtlcToForward {
            out_scid: out.scid,
            amount_msat: out.local_msat + out.capacity_msat / 10,
            blocks_to_expiry: 144,
            fee_free: false,
        };
        let jcfg = JitConfig::default();
        g.bench_with_input(BenchmarkId::new("jit_decide", peers), &peers, |b, _| {
            b.iter(|| jit_decide(&0, black_box(&chans), &offers, &graph, NOW, &htlc, &jcfg))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
