//! `foaf node` start-up and refresh at the size of a large routing node: 20,000 channels over
//! 5,000 peers (issue #17: start-up was quadratic in the channel count: 2k channels 2.5 s, 10k
//! 75 s, 20k not started in 80 s).
//!
//! - `node_set_channels`: `foaf_peer::Node::set_channels` with all of them (the peer: the state
//!   machine alone, one index rebuild);
//! - `adapter_start`: `FoafHandler::new`, which reads the source and hands the core every
//!   channel (what `foaf node` does before it listens);
//! - `adapter_refresh_one_changed`: a refresh (every tick, once a second) after one balance
//!   moved: diffing 20k channels against the last snapshot, one balance-only update.
//!
//! `cargo bench -p foaf-ldk --bench startup`; the figures are in docs/performance.md.

use std::sync::{Arc, Mutex};

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use foaf_ldk::{AdapterConfig, ChannelSource, FoafEvent, FoafHandler, PublicKey};
use foaf_peer::{Config, Node, Timestamp};
use foaf_policy::{Channel, ChannelState};
use foaf_wire::ShortChannelId;
use lightning::bitcoin::secp256k1::{Secp256k1, SecretKey};

const CHANNELS: u32 = 20_000;
const PEERS: u32 = 5_000;

fn channels() -> Vec<Channel<PublicKey>> {
    let secp = Secp256k1::new();
    let peers: Vec<PublicKey> = (0..PEERS)
        .map(|i| {
            let mut b = [1u8; 32];
            b[..4].copy_from_slice(&i.to_be_bytes());
            PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&b).unwrap())
        })
        .collect();
    (0..CHANNELS)
        .map(|i| Channel {
            scid: ShortChannelId::new(700_000 + i / 1000, i % 1000, 0).unwrap(),
            peer: peers[(i % PEERS) as usize],
            capacity_msat: 10_000_000,
            local_msat: 1_000_000 + u64::from(i % 50) * 160_000,
            announced: i % 7 != 0,
            state: ChannelState::Normal,
        })
        .collect()
}

/// A source whose balances the benchmark moves.
struct Moving(Arc<Mutex<Vec<Channel<PublicKey>>>>);

impl ChannelSource for Moving {
    fn channels(&self) -> Vec<Channel<PublicKey>> {
        self.0.lock().unwrap().clone()
    }
    fn graph(&self) -> Vec<ShortChannelId> {
        Vec::new()
    }
}

type Source = Arc<Mutex<Vec<Channel<PublicKey>>>>;

fn handler(chans: &[Channel<PublicKey>]) -> (FoafHandler<Node<PublicKey>, Moving>, Source) {
    let source: Source = Arc::new(Mutex::new(chans.to_vec()));
    let h = FoafHandler::new(
        Node::new(Config::default(), 1),
        Moving(Arc::clone(&source)),
        AdapterConfig::default(),
        Arc::new(|| Timestamp::from_secs(1_800_000_000)),
        Arc::new(|e: &FoafEvent| {
            black_box(e);
        }),
    );
    (h, source)
}

fn bench(c: &mut Criterion) {
    let chans = channels();
    let mut g = c.benchmark_group("startup_20k_channels");
    g.sample_size(10);
    g.bench_function("node_set_channels", |b| {
        b.iter_batched(
            || (Node::<PublicKey>::new(Config::default(), 1), chans.clone()),
            |(mut node, chans)| {
                black_box(node.set_channels(chans, Timestamp::from_secs(1_800_000_000)));
                node
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("adapter_start", |b| b.iter(|| black_box(handler(&chans))));
    let (h, source) = handler(&chans);
    let mut i = 0usize;
    g.bench_function("adapter_refresh_one_changed", |b| {
        b.iter(|| {
            {
                let mut src = source.lock().unwrap();
                i = (i + 7919) % src.len();
                let ch = &mut src[i];
                ch.local_msat = ch.capacity_msat - ch.local_msat;
            }
            h.refresh();
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
