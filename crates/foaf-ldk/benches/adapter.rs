//! What the LDK adapter costs on top of the state machine it drives.
//!
//! One received `query_foaf_balances` answered with a `reply_foaf_balances`, from a node with 50
//! connected channel peers:
//! - `node_receive`: `foaf_peer::Node::receive` on the bytes (the peer: the state machine alone);
//! - `handler_read_handle_drain`: what `PeerManager` does with the same bytes through
//!   [`FoafHandler`]: `CustomMessageReader::read`, `handle_custom_message`,
//!   `get_and_clear_pending_msg` (the one decode, lock, state machine, queue, log events).
//!
//! The clock moves 11 s per iteration in both, so the V07 window never holds an answer back.
//! The ratio of the two is the figure reported in docs/performance.md.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use foaf_ldk::{init_features, AdapterConfig, FoafEvent, FoafHandler, PublicKey, StaticChannels};
use foaf_peer::{Config, Node, Timestamp};
use foaf_policy::{Channel, ChannelState};
use foaf_wire::{ChainHash, Message, QueryFoafBalances, ShortChannelId, TlvStream};
use lightning::bitcoin::secp256k1::{Secp256k1, SecretKey};
use lightning::ln::msgs::Init;
use lightning::ln::peer_handler::CustomMessageHandler;
use lightning::ln::wire::CustomMessageReader;

const PEERS: u32 = 50;

fn pk(i: u32) -> PublicKey {
    let mut b = [1u8; 32];
    b[..4].copy_from_slice(&i.to_be_bytes());
    PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&b).unwrap())
}

fn channels() -> Vec<Channel<PublicKey>> {
    (0..PEERS)
        .map(|i| Channel {
            scid: ShortChannelId::new(700_000, i, 0).unwrap(),
            peer: pk(i),
            capacity_msat: 10_000_000,
            local_msat: 1_000_000 + u64::from(i) * 160_000,
            announced: true,
            state: ChannelState::Normal,
        })
        .collect()
}

fn query() -> Vec<u8> {
    Message::Query(QueryFoafBalances {
        chain_hash: ChainHash::BITCOIN,
        flow_value: 1,
        amt_to_rebalance: 100_000,
        tlvs: TlvStream::new(),
    })
    .encode()
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let bytes = query();
    let querier = pk(0);
    let mut g = c.benchmark_group("received_query_answered");

    let mut node: Node<PublicKey> = Node::new(Config::default(), 1);
    let mut now = Timestamp::from_secs(1_800_000_000);
    for ch in channels() {
        node.connect(ch.peer, now);
        node.set_channel(ch, now);
    }
    assert!(matches!(
        node.receive(&querier, &bytes, now).first(),
        Some(foaf_peer::Effect::Send { .. })
    ));
    g.bench_function("node_receive", |b| {
        b.iter(|| {
            now = now.saturating_add(std::time::Duration::from_secs(11));
            black_box(node.receive(&querier, black_box(&bytes), now))
        })
    });

    let t = Arc::new(AtomicU64::new(1_800_000_000));
    let clock = t.clone();
    let handler = FoafHandler::new(
        Node::<PublicKey>::new(Config::default(), 1),
        StaticChannels {
            channels: channels(),
            graph: vec![],
        },
        AdapterConfig::default(),
        Arc::new(move || Timestamp::from_secs(clock.load(Ordering::Relaxed))),
        Arc::new(|e: &FoafEvent| {
            black_box(e);
        }),
    );
    let init = Init {
        features: init_features(AdapterConfig::default().feature_bit),
        networks: None,
        remote_network_address: None,
    };
    for i in 0..PEERS {
        handler.peer_connected(pk(i), &init, true).unwrap();
    }
    let once = || {
        let mut r: &[u8] = &bytes[2..];
        let msg = handler.read(347, &mut r).unwrap().unwrap();
        handler.handle_custom_message(msg, querier).unwrap();
        handler.get_and_clear_pending_msg()
    };
    assert_eq!(once().len(), 1, "the query is answered");
    g.bench_function("handler_read_handle_drain", |b| {
        b.iter(|| {
            t.fetch_add(11, Ordering::Relaxed);
            black_box(once())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
