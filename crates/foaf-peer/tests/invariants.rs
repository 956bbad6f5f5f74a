//! Property tests: whatever the peers send and the operator asks, in any order,
//! - no outgoing reply lists a channel that is not our own and announced (A08, A10), nor more
//!   than 1000 scids (A06);
//! - nothing but a `warning` is sent to a peer without an active channel (S02);
//! - never more than 4 queries or 4 replies to one peer in any 10 s window (S05);
//! - what the node holds per peer stays within its bound (2 offers per known scid, 4 deferred
//!   answers, 12 window timestamps).

use std::collections::BTreeMap;

use foaf_peer::{Config, Effect, Node, Timestamp};
use foaf_policy::{Channel, ChannelState, Obfuscation};
use foaf_wire::{
    ChainHash, Message, QueryFoafBalances, ReplyFoafBalances, ShortChannelId, TlvStream,
};
use proptest::prelude::*;

const PEERS: [&str; 5] = ["p0", "p1", "p2", "p3", "p4"];

#[derive(Debug, Clone)]
enum Op {
    RecvQuery {
        peer: usize,
        flow: u8,
        amt: u64,
        other_chain: bool,
    },
    RecvReply {
        peer: usize,
        flow: u8,
        ts_offset: i64,
        scids: Vec<u64>,
        many: bool,
    },
    RecvJunk {
        peer: usize,
        bytes: Vec<u8>,
    },
    Query {
        peer: usize,
        push: bool,
        amt: u64,
    },
    Offer {
        peer: usize,
        push: bool,
        amt: u64,
    },
    /// The same request or query `n` times at once (rate-limit pressure).
    Burst {
        peer: usize,
        kind: u8,
        n: usize,
    },
    Tick(u64),
    Connect(usize),
    Disconnect(usize),
    SetChannel {
        idx: usize,
        peer: usize,
        local_pct: u64,
        announced: bool,
        closing: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let peer = 0..PEERS.len();
    prop_oneof![
        4 => (peer.clone(), 0u8..3, 0u64..2_000_000, proptest::bool::weighted(0.1)).prop_map(
            |(peer, flow, amt, other_chain)| Op::RecvQuery { peer, flow, amt, other_chain }
        ),
        4 => (
            peer.clone(),
            0u8..3,
            -1000i64..1000,
            proptest::collection::vec(0u64..80, 0..30),
            proptest::bool::weighted(0.05)
        )
            .prop_map(|(peer, flow, ts_offset, scids, many)| Op::RecvReply {
                peer, flow, ts_offset, scids, many
            }),
        1 => (peer.clone(), proptest::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(peer, bytes)| Op::RecvJunk { peer, bytes }),
        3 => (peer.clone(), any::<bool>(), 0u64..2_000_000)
            .prop_map(|(peer, push, amt)| Op::Query { peer, push, amt }),
        3 => (peer.clone(), any::<bool>(), 0u64..2_000_000)
            .prop_map(|(peer, push, amt)| Op::Offer { peer, push, amt }),
        3 => (peer.clone(), 0u8..3, 1usize..8).prop_map(|(peer, kind, n)| Op::Burst { peer, kind, n }),
        // Milliseconds: the windows are checked to the ms, not in whole seconds.
        3 => (0u64..12_000).prop_map(Op::Tick),
        2 => peer.clone().prop_map(Op::Connect),
        1 => peer.clone().prop_map(Op::Disconnect),
        2 => (0usize..12, peer, 0u64..=100, proptest::bool::weighted(0.8), proptest::bool::weighted(0.15))
            .prop_map(|(idx, peer, local_pct, announced, closing)| Op::SetChannel {
                idx, peer, local_pct, announced, closing
            }),
    ]
}

fn scid(n: u64) -> ShortChannelId {
    ShortChannelId::new(100 + n as u32, 1, 0).unwrap()
}

/// Graph: scids 0..60 (our channels use 0..12); replies may name 60..80, which are unknown.
fn known_graph() -> Vec<ShortChannelId> {
    (0..60).map(scid).collect()
}

struct Tracker {
    /// (peer, is_reply) → send times (ms).
    sends: BTreeMap<(String, bool), Vec<u64>>,
}

fn check_effects(
    node: &Node<String>,
    effects: &[Effect<String>],
    now_ms: u64,
    tracker: &mut Tracker,
) -> Result<(), TestCaseError> {
    let own_announced: Vec<ShortChannelId> = node
        .channels()
        .filter(|c| c.announced)
        .map(|c| c.scid)
        .collect();
    for e in effects {
        let Effect::Send { peer, bytes } = e else {
            continue;
        };
        if bytes[..2] == [0, 1] {
            continue; // BOLT #1 warning before a disconnect (V08)
        }
        prop_assert!(
            node.has_active_channel(peer),
            "S02: sent to {peer} without a channel"
        );
        let msg = Message::decode(bytes).expect("we send what we can decode");
        let is_reply = match msg {
            Message::Reply(r) => {
                prop_assert!(r.short_channel_ids.len() <= 1000, "A06");
                for s in &r.short_channel_ids {
                    prop_assert!(
                        own_announced.contains(s),
                        "A08/A10: {s} is not ours+announced"
                    );
                }
                true
            }
            Message::Query(_) => false,
            Message::Unknown(u) => return Err(TestCaseError::fail(format!("sent {u:?}"))),
        };
        let times = tracker.sends.entry((peer.clone(), is_reply)).or_default();
        times.push(now_ms);
        let in_window = times.iter().filter(|&&t| t + 10_000 > now_ms).count();
        prop_assert!(
            in_window <= 4,
            "S05: {in_window} sends to {peer} within 10 s"
        );
    }
    let known = node.known_scids();
    for p in PEERS {
        if let Some(f) = node.footprint(&p.to_string()) {
            prop_assert!(
                f.offer_slots <= 2 * known,
                "memory: {f:?} for {known} known"
            );
            prop_assert!(f.offer_entries <= known);
            prop_assert!(f.deferred <= 4 && f.window_entries <= 12, "{f:?}");
        }
    }
    Ok(())
}

fn run(ops: Vec<Op>, seed: u64, obfuscate: bool) -> Result<(), TestCaseError> {
    let config = Config {
        obfuscation: obfuscate.then_some(Obfuscation {
            max_omit: 3,
            max_add: 3,
        }),
        ..Config::default()
    };
    let chain = config.chain_hash;
    let mut node: Node<String> = Node::new(config, seed);
    node.set_graph(known_graph());
    let mut now_ms = 1_000_000_000u64;
    let now = Timestamp::from_millis(now_ms);
    let mut tracker = Tracker {
        sends: BTreeMap::new(),
    };
    // Start with 6 channels, all connected.
    for i in 0..6 {
        let e = node.set_channel(
            Channel {
                scid: scid(i as u64),
                peer: PEERS[i % PEERS.len()].to_string(),
                capacity_msat: 1_000_000,
                local_msat: 150_000 * i as u64,
                announced: i != 3,
                state: ChannelState::Normal,
            },
            now,
        );
        check_effects(&node, &e, now_ms, &mut tracker)?;
    }
    for p in PEERS {
        node.connect(p.to_string(), now);
    }
    for op in ops {
        let now = Timestamp::from_millis(now_ms);
        let effects = match op {
            Op::RecvQuery {
                peer,
                flow,
                amt,
                other_chain,
            } => {
                let m = Message::Query(QueryFoafBalances {
                    chain_hash: if other_chain {
                        ChainHash::SIGNET
                    } else {
                        chain
                    },
                    flow_value: flow,
                    amt_to_rebalance: amt,
                    tlvs: TlvStream::new(),
                });
                node.receive(&PEERS[peer].to_string(), &m.encode().unwrap(), now)
            }
            Op::RecvReply {
                peer,
                flow,
                ts_offset,
                scids,
                many,
            } => {
                let mut ids: Vec<ShortChannelId> = scids.into_iter().map(scid).collect();
                if many {
                    ids = (0..1001).map(|i| scid(i % 80)).collect();
                }
                let m = Message::Reply(ReplyFoafBalances {
                    chain_hash: chain,
                    flow_value: flow,
                    timestamp: now.as_secs().saturating_add_signed(ts_offset),
                    amt_to_rebalance: 1000,
                    short_channel_ids: ids,
                    tlvs: TlvStream::new(),
                });
                node.receive(&PEERS[peer].to_string(), &m.encode().unwrap(), now)
            }
            Op::RecvJunk { peer, bytes } => node.receive(&PEERS[peer].to_string(), &bytes, now),
            Op::Query { peer, push, amt } => {
                let flow = if push {
                    foaf_wire::Flow::Push
                } else {
                    foaf_wire::Flow::Receive
                };
                node.query(&PEERS[peer].to_string(), flow, amt, now)
            }
            Op::Offer { peer, push, amt } => {
                let flow = if push {
                    foaf_wire::Flow::Push
                } else {
                    foaf_wire::Flow::Receive
                };
                node.offer(&PEERS[peer].to_string(), flow, amt, now)
            }
            Op::Burst { peer, kind, n } => {
                let p = PEERS[peer].to_string();
                let mut all = Vec::new();
                for _ in 0..n {
                    all.extend(match kind {
                        0 => node.query(&p, foaf_wire::Flow::Push, 1000, now),
                        1 => node.offer(&p, foaf_wire::Flow::Push, 1000, now),
                        _ => {
                            let m = Message::Query(QueryFoafBalances {
                                chain_hash: chain,
                                flow_value: 1,
                                amt_to_rebalance: 1000,
                                tlvs: TlvStream::new(),
                            });
                            node.receive(&p, &m.encode().unwrap(), now)
                        }
                    });
                }
                all
            }
            Op::Tick(dt) => {
                now_ms += dt;
                node.tick(Timestamp::from_millis(now_ms))
            }
            Op::Connect(p) => node.connect(PEERS[p].to_string(), now),
            Op::Disconnect(p) => node.disconnect(&PEERS[p].to_string(), now),
            Op::SetChannel {
                idx,
                peer,
                local_pct,
                announced,
                closing,
            } => node.set_channel(
                Channel {
                    scid: scid(idx as u64),
                    peer: PEERS[peer].to_string(),
                    capacity_msat: 1_000_000,
                    local_msat: local_pct * 10_000,
                    announced,
                    state: if closing {
                        ChannelState::Closing
                    } else {
                        ChannelState::Normal
                    },
                },
                now,
            ),
        };
        check_effects(&node, &effects, now_ms, &mut tracker)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    // R: A06, A08, A10, S02, S05, V04, V05 (memory bound)
    #[test]
    fn invariants_hold_for_any_op_sequence(
        ops in proptest::collection::vec(op(), 1..120),
        seed in any::<u64>(),
        obfuscate in any::<bool>(),
    ) {
        run(ops, seed, obfuscate)?;
    }

    /// A hostile peer sending replies naming any scids at all cannot grow our memory beyond
    /// 2 offers per known scid.
    // R: V05, V04 (memory bound)
    #[test]
    fn memory_bounded_whatever_a_peer_sends(
        batches in proptest::collection::vec(
            (proptest::collection::vec(any::<u64>(), 0..1000), 0u8..2, any::<u32>()), 1..20),
    ) {
        let mut node: Node<String> = Node::new(Config::default(), 0);
        let graph = known_graph();
        node.set_graph(graph.clone());
        node.set_channel(Channel {
            scid: scid(0), peer: "h".into(), capacity_msat: 10, local_msat: 5,
            announced: true, state: ChannelState::Normal,
        }, Timestamp::EPOCH);
        for (i, (raw, flow, ts)) in batches.into_iter().enumerate() {
            // Half of each batch from the graph, half anything.
            let ids: Vec<ShortChannelId> = raw.iter().enumerate().map(|(j, &r)| {
                if j % 2 == 0 { graph[(r % 60) as usize] } else { ShortChannelId::from_u64(r) }
            }).collect();
            let m = Message::Reply(ReplyFoafBalances {
                chain_hash: ChainHash::BITCOIN, flow_value: flow, timestamp: u64::from(ts % 1000),
                amt_to_rebalance: i as u64, short_channel_ids: ids, tlvs: TlvStream::new(),
            });
            let e = node.receive(&"h".to_string(), &m.encode().unwrap(), Timestamp::from_secs(1000));
            let kept = e.iter().all(|e| !matches!(e, Effect::Disconnect { .. }));
            prop_assert!(kept, "disconnected: {:?}", e);
            let f = node.footprint(&"h".to_string()).unwrap();
            prop_assert!(f.offer_slots <= 2 * node.known_scids());
        }
        prop_assert!(node.offers().iter().all(|o| node.is_known(o.scid)));
    }
}
