//! The peer state machine on a node of today's network size: 100 peers, 500 channels, a known
//! graph of 80,000 public channels. Targets (issue 3), one core:
//! - a received 1000-scid reply stored in ≤ 50 µs (lookups included);
//! - a query answered (policy, sampling, encoding) at ≥ 200,000 per second;
//! - hostile junk (malformed bytes, rate-limit busters) rejected at ≥ 5,000,000 per second.
//!
//! Each is measured next to a named peer in the same run, for a ratio that does not depend on
//! the machine: the wire decode of the same message alone, the wire encode of the same reply
//! alone, and 1000 inserts into a fresh `FxHashMap<u64, _>`.
//!
//! Run: `cargo bench -p foaf-peer --bench node`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use foaf_peer::{Config, Node, Timestamp};
use foaf_policy::{Channel, ChannelState};
use foaf_wire::{
    ChainHash, Message, QueryFoafBalances, ReplyFoafBalances, ShortChannelId, TlvStream,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rustc_hash::FxHashMap;

/// A node id as LDK has it (33-byte compressed public key).
type NodeId = [u8; 33];

const PEERS: usize = 100;
const CHANNELS: usize = 500;
const GRAPH: u32 = 80_000;
const T0: u64 = 1_700_000_000;
const T0_AT: Timestamp = Timestamp::from_secs(T0);

fn node_id(i: usize) -> NodeId {
    let mut id = [0u8; 33];
    id[0] = 2;
    id[1..9].copy_from_slice(&(i as u64).to_be_bytes());
    id
}

fn graph_scid(i: u32) -> ShortChannelId {
    ShortChannelId::new(500_000 + i / 1000, i % 1000, 0).unwrap()
}

fn setup() -> Node<NodeId> {
    let mut node = Node::new(Config::default(), 7);
    node.set_graph((0..GRAPH).map(graph_scid));
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let chans: Vec<Channel<NodeId>> = (0..CHANNELS)
        .map(|i| {
            let cap = rng.gen_range(1_000_000..100_000_000u64) * 1000;
            Channel {
                scid: ShortChannelId::new(400_000 + i as u32, 1, 0).unwrap(),
                peer: node_id(i % PEERS),
                capacity_msat: cap,
                local_msat: rng.gen_range(0..=cap),
                announced: i % 10 != 0,
                state: ChannelState::Normal,
            }
        })
        .collect();
    node.set_channels(chans, T0_AT);
    for i in 0..PEERS {
        node.connect(node_id(i), T0_AT);
    }
    node
}

fn reply_bytes(ts: u64, first: u32) -> Vec<u8> {
    Message::Reply(ReplyFoafBalances {
        chain_hash: ChainHash::BITCOIN,
        flow_value: 1,
        timestamp: ts,
        amt_to_rebalance: 100_000,
        short_channel_ids: (first..first + 1000)
            .map(|i| graph_scid(i * 79 % GRAPH))
            .collect(),
        tlvs: TlvStream::new(),
    })
    .encode()
    .unwrap()
}

fn query_bytes(flow: u8) -> Vec<u8> {
    Message::Query(QueryFoafBalances {
        chain_hash: ChainHash::BITCOIN,
        flow_value: flow,
        amt_to_rebalance: 50_000_000,
        tlvs: TlvStream::new(),
    })
    .encode()
    .unwrap()
}

fn store_reply(c: &mut Criterion) {
    let mut g = c.benchmark_group("store_reply_1000");
    g.throughput(Throughput::Elements(1000));
    let bytes = reply_bytes(T0, 0);
    let peer = node_id(3);

    // Fresh: the peer holds no offers (cleared by a disconnect outside the timed part, the map
    // keeps its capacity), 1000 new entries.
    let mut node = setup();
    g.bench_function("node_receive_fresh", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                node.disconnect(&peer, T0_AT);
                node.connect(peer, T0_AT);
                let start = Instant::now();
                black_box(node.receive(&peer, black_box(&bytes), T0_AT));
                total += start.elapsed();
            }
            total
        })
    });
    // Update: the same 1000 (peer, scid, flow) already held; an equal timestamp replaces.
    let mut node = setup();
    node.receive(&peer, &bytes, T0_AT);
    g.bench_function("node_receive_update", |b| {
        b.iter(|| black_box(node.receive(&peer, black_box(&bytes), T0_AT)))
    });
    // Peers: the wire decode of the same reply alone, and 1000 inserts into a fresh FxHashMap.
    g.bench_function("peer_wire_decode_alone", |b| {
        b.iter(|| black_box(Message::decode(black_box(&bytes)).unwrap()))
    });
    let keys: Vec<u64> = (0..1000u32)
        .map(|i| graph_scid(i * 79 % GRAPH).to_u64())
        .collect();
    // Like the node's per-peer map after a disconnect: cleared, capacity kept.
    let mut m = FxHashMap::<u64, [Option<(u64, u64)>; 2]>::default();
    g.bench_function("peer_fxhashmap_insert_1000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                m.clear();
                let start = Instant::now();
                for &k in &keys {
                    m.entry(black_box(k)).or_insert([None, None])[1] = Some((100_000, T0));
                }
                total += start.elapsed();
                black_box(&m);
            }
            total
        })
    });
    g.finish();
}

fn answer_query(c: &mut Criterion) {
    let mut g = c.benchmark_group("answer_query");
    g.throughput(Throughput::Elements(1));
    let mut node = setup();
    let q = [query_bytes(1), query_bytes(0)];
    // Each query comes from the next peer, 10 s after the previous one: no rate limit is hit,
    // and every query is answered now (policy over 500 channels, sampling, encoding).
    let mut i = 0usize;
    let mut now = T0_AT;
    let sample = node.receive(&node_id(1), &q[0], now);
    assert!(matches!(&sample[..], [foaf_peer::Effect::Send { .. }]));
    g.bench_function("node_receive_query", |b| {
        b.iter(|| {
            i += 1;
            now = now.saturating_add(std::time::Duration::from_secs(10));
            black_box(node.receive(&node_id(i % PEERS), black_box(&q[i % 2]), now))
        })
    });
    // Peer: encoding the same reply alone (the first answer above, as sent).
    let foaf_peer::Effect::Send { bytes, .. } = &sample[0] else {
        unreachable!()
    };
    let reply = Message::decode(bytes).unwrap();
    if let Message::Reply(r) = &reply {
        eprintln!(
            "answer_query: a reply lists {} scids",
            r.short_channel_ids.len()
        );
    }
    g.bench_function("peer_wire_encode_reply_alone", |b| {
        b.iter(|| black_box(black_box(&reply).encode().unwrap()))
    });
    g.finish();
}

fn reject_junk(c: &mut Criterion) {
    let mut g = c.benchmark_group("reject_junk");
    g.throughput(Throughput::Elements(1));
    let mut node = setup();
    let peer = node_id(5);
    // Malformed: a truncated query → warning + disconnect (V08).
    let junk = [0x01u8, 0x5b, 0x00, 0x01];
    g.bench_function("node_receive_malformed", |b| {
        b.iter(|| black_box(node.receive(&peer, black_box(&junk), T0_AT)))
    });
    // Rate-limit buster: valid queries beyond 4 per 10 s (V07: not answered).
    let q = query_bytes(1);
    for _ in 0..4 {
        node.receive(&peer, &q, T0_AT);
    }
    g.bench_function("node_receive_query_over_limit", |b| {
        b.iter(|| black_box(node.receive(&peer, black_box(&q), T0_AT)))
    });
    // Peer: the wire decode of the malformed bytes alone.
    g.bench_function("peer_wire_decode_malformed_alone", |b| {
        b.iter(|| black_box(Message::decode(black_box(&junk)).is_err()))
    });
    g.finish();
}

criterion_group!(benches, store_reply, answer_query, reject_junk);
criterion_main!(benches);
