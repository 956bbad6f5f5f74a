//! The wire codec against its named peers, in the same run (issue 2, performance section):
//!
//! - `foaf`: decode/encode a `reply_foaf_balances` with 1000 `short_channel_id`s (8053 bytes);
//! - `ldk`: LDK's `QueryShortChannelIds` with the same 1000 ids (8035 bytes), the closest
//!   message LDK has (chain hash, a u16 length, a list of scids);
//! - `memcpy`: a plain copy of the same number of bytes as our message into a preallocated
//!   buffer (the physical limit), and `to_vec`, the same copy into a fresh allocation (what
//!   any decoder to owned values must at least do).
//!
//! Throughput is in bytes of each message, so the GB/s figures compare directly.
//! Run: `nice cargo bench -p foaf-wire --bench wire_codec`. Figures: docs/performance.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use foaf_wire::{ChainHash, Message, ReplyFoafBalances, ShortChannelId, TlvStream};
use lightning::ln::msgs::QueryShortChannelIds;
use lightning::util::ser::{LengthReadable, Writeable};

const N: usize = 1000;

fn scids() -> Vec<ShortChannelId> {
    (0..N as u32)
        .map(|i| ShortChannelId::new(539_268 + i, 845 + i, (i % 4) as u16).unwrap())
        .collect()
}

fn ours() -> Message {
    Message::Reply(ReplyFoafBalances {
        chain_hash: ChainHash::BITCOIN,
        flow_value: 1,
        timestamp: 1_700_000_000,
        amt_to_rebalance: 100_000_000,
        short_channel_ids: scids(),
        tlvs: TlvStream::new(),
    })
}

fn ldk() -> QueryShortChannelIds {
    QueryShortChannelIds {
        chain_hash: lightning::bitcoin::constants::ChainHash::BITCOIN,
        short_channel_ids: scids().iter().map(|s| s.to_u64()).collect(),
    }
}

fn config() -> Criterion {
    // A 2-core machine shared with other jobs: enough samples for stable medians, short enough
    // not to monopolise it.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

fn decode(c: &mut Criterion) {
    let our_bytes = ours().encode().unwrap();
    let ldk_bytes = ldk().encode();
    let mut g = c.benchmark_group("decode_1000_scids");

    g.throughput(Throughput::Bytes(our_bytes.len() as u64));
    g.bench_function("foaf_reply_foaf_balances", |b| {
        b.iter(|| Message::decode(black_box(&our_bytes)).unwrap())
    });
    let mut dst = vec![0u8; our_bytes.len()];
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&our_bytes));
            black_box(&mut dst);
        })
    });
    g.bench_function("to_vec", |b| b.iter(|| black_box(&our_bytes).to_vec()));

    g.throughput(Throughput::Bytes(ldk_bytes.len() as u64));
    g.bench_function("ldk_query_short_channel_ids", |b| {
        b.iter(|| {
            QueryShortChannelIds::read_from_fixed_length_buffer(&mut black_box(&ldk_bytes[..]))
                .unwrap()
        })
    });
    g.finish();
}

fn encode(c: &mut Criterion) {
    let our_msg = ours();
    let ldk_msg = ldk();
    let mut g = c.benchmark_group("encode_1000_scids");

    g.throughput(Throughput::Bytes(our_msg.encode().unwrap().len() as u64));
    g.bench_function("foaf_reply_foaf_balances", |b| {
        b.iter(|| black_box(&our_msg).encode().unwrap())
    });

    g.throughput(Throughput::Bytes(ldk_msg.encode().len() as u64));
    g.bench_function("ldk_query_short_channel_ids", |b| {
        b.iter(|| black_box(&ldk_msg).encode())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = decode, encode
}
criterion_main!(benches);
