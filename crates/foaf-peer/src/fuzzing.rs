//! Fuzz-target logic for the node state machine (built with the `fuzzing` feature).
//!
//! [`node_sequence`] reads an arbitrary sequence of inputs (connect, disconnect, raw bytes,
//! well-formed queries and replies, ticks, our own queries and offers, channel and graph updates,
//! several peers) with `arbitrary`, drives a [`Node`], and checks after every input, against a
//! shadow model kept by the harness (not the node's own bookkeeping):
//!
//! - every reply we send lists at most 1000 distinct scids (A06), each one of *our* channels
//!   that is announced (A08, A10: never an unannounced or a foreign scid); with obfuscation off
//!   also only `Normal` channels whose peer is connected (A04) and never the recipient's (A01);
//! - never more than 4 queries, nor 4 replies, to one peer in any 10 s (S05), and never more than
//!   4 received queries of one peer answered or deferred in any 10 s (V07);
//! - query/reply sends only to a connected peer with an active channel (S02), with our chain
//!   hash, a `flow_value` of 0 or 1, and a reply timestamp equal to the clock (A03);
//! - memory: per peer at most 2 offer slots per known scid, `max_deferred_replies` deferred
//!   answers and `3 × 4` window timestamps ([`crate::Footprint`]); every offer held is for a
//!   known scid (V05) from a peer with an active channel;
//! - a malformed message or an over-long reply fails the connection (V08, V02);
//! - determinism: a second node with the same seed fed the same inputs returns the same effects.
//!
//! The cargo-fuzz binary `fuzz/fuzz_targets/peer_node.rs` is a one-liner over this function,
//! and the crate's tests replay `fuzz/seeds/peer_node/` through it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use arbitrary::{Arbitrary, Unstructured};
use foaf_policy::{Channel, ChannelState, Obfuscation};
use foaf_wire::{
    ChainHash, Flow, Message, QueryFoafBalances, ReplyFoafBalances, ShortChannelId, TlvStream,
    MAX_REPLY_SCIDS,
};

use crate::{Config, Effect, Node, Reason, Timestamp};

pub use foaf_wire::fuzzing::{replay_seeds, Target};

/// Every target of this crate, by the name of its cargo-fuzz binary.
pub const TARGETS: &[Target] = &[("peer_node", node_sequence)];

/// The rate limit the spec states (S05, V07): 4 per kind per peer in any 10 s.
const LIMIT: usize = 4;
/// The window in milliseconds: the harness's clock runs in ms, so windows are checked to the ms.
const WINDOW_MS: u64 = 10_000;
/// Ordinary peers are 0..PEERS; the bulk input adds many more from BULK_PEER on.
const PEERS: u16 = 4;
const BULK_PEER: u16 = 1000;
/// Our channels and the public graph are drawn from small pools so inputs hit the same ids.
const OWN_SLOTS: u8 = 24;
const GRAPH_SLOTS: u32 = 32;

fn own_scid(slot: u8) -> ShortChannelId {
    ShortChannelId::new(700_000 + u32::from(slot % OWN_SLOTS), 1, 0).expect("24-bit")
}

fn graph_scid(slot: u32) -> ShortChannelId {
    ShortChannelId::new(600_000 + slot % GRAPH_SLOTS, 2, 1).expect("24-bit")
}

fn bulk_scid(i: u16) -> ShortChannelId {
    ShortChannelId::new(800_000 + u32::from(i), 3, 0).expect("24-bit")
}

/// Which chain a received message names.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum ChainChoice {
    Ours,
    Testnet,
    Other([u8; 4]),
}

impl ChainChoice {
    fn hash(self) -> ChainHash {
        match self {
            ChainChoice::Ours => ChainHash::BITCOIN,
            ChainChoice::Testnet => ChainHash::TESTNET3,
            ChainChoice::Other(b) => {
                let mut h = [0u8; 32];
                h[..4].copy_from_slice(&b);
                ChainHash(h)
            }
        }
    }
}

/// A scid a hostile reply may list.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum ScidChoice {
    /// One of ours.
    Own(u8),
    /// In the public graph (when the graph currently holds it).
    Graph(u32),
    /// Anything.
    Foreign(u64),
}

impl ScidChoice {
    fn scid(self) -> ShortChannelId {
        match self {
            ScidChoice::Own(s) => own_scid(s),
            ScidChoice::Graph(s) => graph_scid(s),
            ScidChoice::Foreign(v) => ShortChannelId::from_u64(v),
        }
    }
}

/// One input to the node.
#[derive(Arbitrary, Debug, Clone)]
enum Input {
    Connect(u16),
    Disconnect(u16),
    /// Any bytes as a message.
    RecvRaw(u16, Vec<u8>),
    RecvQuery {
        peer: u16,
        chain: ChainChoice,
        flow_value: u8,
        amt: u64,
        odd_tlv: Option<Vec<u8>>,
    },
    RecvReply {
        peer: u16,
        chain: ChainChoice,
        flow_value: u8,
        /// Seconds relative to the node's clock (the future tolerance is 600).
        ts_offset: i16,
        amt: u64,
        scids: Vec<ScidChoice>,
        /// Pad the reply with this many more scids (to reach and pass 1000: V02).
        pad: u16,
    },
    Tick,
    Query(u16, bool, u64),
    Offer(u16, bool, u64),
    SetChannel {
        slot: u8,
        peer: u16,
        capacity: u32,
        local_permille: u16,
        announced: bool,
        closing: bool,
    },
    /// The public graph becomes the pool scids whose bit is set.
    SetGraph(u32),
}

/// An input and how much time passes before it (seconds or a multiple of 37 ms).
#[derive(Arbitrary, Debug, Clone)]
struct Step {
    dt: u8,
    input: Input,
}

/// Node options the fuzzer chooses.
#[derive(Arbitrary, Debug, Clone, Copy)]
struct Options {
    seed: u64,
    obfuscate: bool,
    keep_offers_on_disconnect: bool,
    no_warning: bool,
    max_deferred: u8,
    /// [`BULK_MAGIC`]: start with 1001–1100 more announced channels, each with its own
    /// connected peer, so replies must be sampled down to 1000 (A06, A07).
    bulk: u8,
}

/// Gates the bulk start: it costs a 1100-channel load and larger replies, so only inputs that
/// ask for it pay for it (libFuzzer's comparison tracing finds the value at once).
const BULK_MAGIC: u8 = 0xb5;

/// The harness's own model of what the node was told.
#[derive(Default)]
struct Shadow {
    channels: BTreeMap<ShortChannelId, Channel<u16>>,
    connected: BTreeSet<u16>,
    /// Times (ms) of our last sends per (peer, is_reply), for S05.
    sends: BTreeMap<(u16, bool), VecDeque<u64>>,
    /// Times (ms) received queries were answered or deferred, per peer, for V07.
    answered: BTreeMap<u16, VecDeque<u64>>,
}

impl Shadow {
    fn has_active_channel(&self, peer: u16) -> bool {
        self.channels
            .values()
            .any(|c| c.peer == peer && c.state == ChannelState::Normal)
    }
}

/// Records an event at `now` (ms) and asserts no `LIMIT + 1` events fall in one `WINDOW_MS`.
fn record_in_window(times: &mut VecDeque<u64>, now: u64, what: &str) {
    times.push_back(now);
    if times.len() > LIMIT {
        let first = times.pop_front().expect("more than LIMIT");
        assert!(
            now >= first + WINDOW_MS,
            "{what}: {} events within {} ms (first at {first}, last at {now})",
            LIMIT + 1,
            now - first
        );
    }
}

/// The peer-node state machine target (module docs).
pub fn node_sequence(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(options) = Options::arbitrary(&mut u) else {
        return;
    };
    let Ok(steps) = Vec::<Step>::arbitrary_take_rest(u) else {
        return;
    };
    let config = Config {
        obfuscation: options.obfuscate.then(Obfuscation::default),
        drop_offers_on_disconnect: !options.keep_offers_on_disconnect,
        warn_before_disconnect: !options.no_warning,
        max_deferred_replies: usize::from(options.max_deferred % 8),
        ..Config::default()
    };
    let bulk = (options.bulk == BULK_MAGIC).then(|| {
        (
            1001 + (options.seed % 100) as u16,
            (options.seed >> 8) as u16 % 1001,
        )
    });
    drive(&config, options.seed, bulk, steps);
}

/// What a run did, for the harness's own tests (that inputs reach the interesting paths).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Queries we sent.
    pub queries_sent: usize,
    /// Replies we sent (answers and offers).
    pub replies_sent: usize,
    /// Most scids in one reply.
    pub max_reply_scids: usize,
    /// Requests refused (S02, S05).
    pub refused: usize,
    /// Received messages ignored (V06, V07, W05, odd types).
    pub ignored: usize,
    /// Connections failed.
    pub disconnects: usize,
    /// Answers deferred (S05).
    pub deferred: usize,
}

/// Feeds `steps` to a node with `config` and `seed` (and to its twin), after `bulk` channels
/// `(count, local_permille)` when given, checking every invariant of the module docs after each
/// step; panics on the first one broken.
fn drive(config: &Config, seed: u64, bulk: Option<(u16, u16)>, steps: Vec<Step>) -> Stats {
    let config = config.clone();
    let mut stats = Stats::default();
    let mut node: Node<u16> = Node::new(config.clone(), seed);
    let mut twin: Node<u16> = Node::new(config.clone(), seed);
    let mut shadow = Shadow::default();
    // Unix milliseconds.
    let mut now: u64 = 1_700_000_000_000;
    let mut graph: Vec<ShortChannelId> = Vec::new();
    if let Some((count, permille)) = bulk {
        // One `set_channels` call: loading them one by one is O(channels²).
        let chans: Vec<Channel<u16>> = (0..count).map(|i| bulk_channel(i, permille)).collect();
        for ch in &chans {
            shadow.connected.insert(ch.peer);
            shadow.channels.insert(ch.scid, ch.clone());
        }
        for n in [&mut node, &mut twin] {
            n.set_channels(chans.iter().cloned(), Timestamp::from_millis(now));
            for ch in &chans {
                n.connect(ch.peer, Timestamp::from_millis(now));
            }
        }
    }
    for step in steps {
        // Mostly small steps, so the 10 s windows are crowded, some below the second (so the
        // windows are checked to the millisecond); sometimes a long pause.
        now += match step.dt {
            0..=119 => u64::from(step.dt % 4) * 1000,
            d @ 120..=199 => u64::from(d - 120) * 37,
            d => u64::from(d - 190) * 3000,
        };
        let is_receive = matches!(
            step.input,
            Input::RecvRaw(..) | Input::RecvQuery { .. } | Input::RecvReply { .. }
        );
        let mut reply_too_long = false;
        let mut receiving_peer = None;
        let run = |node: &mut Node<u16>, input: &Input, graph: &mut Vec<ShortChannelId>| {
            apply(node, input, now, graph)
        };
        // Update the shadow for what the harness tells the node.
        match &step.input {
            Input::Connect(p) => {
                shadow.connected.insert(*p % PEERS);
            }
            Input::Disconnect(p) => {
                shadow.connected.remove(&(*p % PEERS));
            }
            Input::SetChannel { .. } => {
                let ch = channel_of(&step.input);
                shadow.channels.insert(ch.scid, ch);
            }
            Input::RecvRaw(p, _) => receiving_peer = Some(*p % PEERS),
            Input::RecvQuery { peer, .. } => receiving_peer = Some(*peer % PEERS),
            Input::RecvReply {
                peer, scids, pad, ..
            } => {
                receiving_peer = Some(*peer % PEERS);
                let count = scids.len() + usize::from(*pad % 1200);
                // (A reply too big for BOLT #1 is never built, so never received.)
                reply_too_long = count > MAX_REPLY_SCIDS && 83 + 8 * count <= 65_535;
            }
            _ => {}
        }
        let mut twin_graph = graph.clone();
        let effects = run(&mut node, &step.input, &mut graph);
        let twin_effects = run(&mut twin, &step.input, &mut twin_graph);
        assert_eq!(
            effects, twin_effects,
            "same seed, same inputs, other effects"
        );
        node.assert_consistent();

        if let Some(p) = receiving_peer {
            // A message proves the transport is up (the node marks the peer connected).
            shadow.connected.insert(p);
        }
        let mut disconnected = false;
        for e in &effects {
            match e {
                Effect::Send { peer, bytes } => {
                    match check_send(&mut shadow, &config, *peer, bytes, now, is_receive) {
                        Some(0) => stats.queries_sent += 1,
                        Some(n) => {
                            stats.replies_sent += 1;
                            stats.max_reply_scids = stats.max_reply_scids.max(n - 1);
                        }
                        None => {}
                    }
                }
                Effect::Refused { .. } => stats.refused += 1,
                Effect::Ignored { .. } => stats.ignored += 1,
                Effect::Deferred { peer } => {
                    stats.deferred += 1;
                    assert!(is_receive, "a deferral outside a receive");
                    let times = shadow.answered.entry(*peer).or_default();
                    record_in_window(times, now, "V07 answered queries");
                }
                Effect::Disconnect { peer, reason } => {
                    stats.disconnects += 1;
                    disconnected = true;
                    shadow.connected.remove(peer);
                    if *reason == Reason::TooManyScids {
                        assert!(reply_too_long, "TooManyScids for a short reply");
                    }
                }
                _ => {}
            }
        }
        if reply_too_long {
            // V02 (or V01 first, when there is no channel): the connection is failed.
            assert!(
                disconnected,
                "a reply with over 1000 scids kept the connection (V02)"
            );
        }
        if let Input::RecvRaw(_, bytes) = &step.input {
            if Message::decode(bytes).is_err() {
                assert!(
                    disconnected,
                    "a malformed message kept the connection (V08)"
                );
            }
        }
        check_memory(&node, &shadow, &config);
    }
    stats
}

/// Applies one input to a node and returns its effects.
fn apply(
    node: &mut Node<u16>,
    input: &Input,
    now_ms: u64,
    graph: &mut Vec<ShortChannelId>,
) -> Vec<Effect<u16>> {
    let now = Timestamp::from_millis(now_ms);
    match input {
        Input::Connect(p) => node.connect(p % PEERS, now),
        Input::Disconnect(p) => node.disconnect(&(p % PEERS), now),
        Input::RecvRaw(p, bytes) => node.receive(&(p % PEERS), bytes, now),
        Input::RecvQuery {
            peer,
            chain,
            flow_value,
            amt,
            odd_tlv,
        } => {
            let mut tlvs = TlvStream::new();
            if let Some(v) = odd_tlv {
                tlvs.insert(101, v.clone());
            }
            let msg = Message::Query(QueryFoafBalances {
                chain_hash: chain.hash(),
                flow_value: flow_value % 3,
                amt_to_rebalance: *amt,
                tlvs,
            });
            match msg.encode() {
                Ok(bytes) => node.receive(&(peer % PEERS), &bytes, now),
                Err(_) => Vec::new(),
            }
        }
        Input::RecvReply {
            peer,
            chain,
            flow_value,
            ts_offset,
            amt,
            scids,
            pad,
        } => {
            let mut ids: Vec<ShortChannelId> = scids.iter().map(|s| s.scid()).collect();
            ids.extend((0..*pad % 1200).map(|i| graph_scid(u32::from(i))));
            let msg = Message::Reply(ReplyFoafBalances {
                chain_hash: chain.hash(),
                flow_value: flow_value % 3,
                timestamp: now.as_secs().saturating_add_signed(i64::from(*ts_offset)),
                amt_to_rebalance: *amt,
                short_channel_ids: ids,
                tlvs: TlvStream::new(),
            });
            match msg.encode() {
                Ok(bytes) => node.receive(&(peer % PEERS), &bytes, now),
                Err(_) => Vec::new(),
            }
        }
        Input::Tick => node.tick(now),
        Input::Query(p, push, amt) => node.query(&(p % PEERS), flow(*push), *amt, now),
        Input::Offer(p, push, amt) => node.offer(&(p % PEERS), flow(*push), *amt, now),
        Input::SetChannel { .. } => node.set_channel(channel_of(input), now),
        Input::SetGraph(mask) => {
            *graph = (0..GRAPH_SLOTS)
                .filter(|i| mask & (1 << i) != 0)
                .map(graph_scid)
                .collect();
            node.set_graph(graph.iter().copied());
            Vec::new()
        }
    }
}

fn flow(push: bool) -> Flow {
    if push {
        Flow::Push
    } else {
        Flow::Receive
    }
}

fn channel_of(input: &Input) -> Channel<u16> {
    let Input::SetChannel {
        slot,
        peer,
        capacity,
        local_permille,
        announced,
        closing,
    } = *input
    else {
        unreachable!("called for SetChannel only")
    };
    let capacity_msat = u64::from(capacity) * 1000;
    Channel {
        scid: own_scid(slot),
        peer: peer % PEERS,
        capacity_msat,
        local_msat: capacity_msat / 1000 * u64::from(local_permille % 1001),
        announced,
        state: if closing {
            ChannelState::Closing
        } else {
            ChannelState::Normal
        },
    }
}

fn bulk_channel(i: u16, local_permille: u16) -> Channel<u16> {
    let capacity_msat = 10_000_000_000;
    // Spread the balances so that some groups sit on each side of the target ratio; 1000 and
    // up: all full, so that every bulk channel can push (over 1000 eligible, A07).
    let permille = if local_permille >= 1000 {
        1000
    } else {
        (u64::from(local_permille) + u64::from(i) * 37) % 1001
    };
    Channel {
        scid: bulk_scid(i),
        peer: BULK_PEER + i,
        capacity_msat,
        local_msat: capacity_msat / 1000 * permille,
        announced: true,
        state: ChannelState::Normal,
    }
}

/// Checks one message we send (S01–S05, A03, A04, A06, A08, A10, V07). Returns `None` for a
/// warning, `Some(0)` for a query, `Some(1 + n)` for a reply listing `n` scids.
fn check_send(
    shadow: &mut Shadow,
    config: &Config,
    peer: u16,
    bytes: &[u8],
    now: u64,
    is_receive: bool,
) -> Option<usize> {
    let msg = Message::decode(bytes).expect("everything we send decodes");
    let kind = match &msg {
        Message::Unknown(u) => {
            // Only the BOLT #1 warning before a V08 disconnect.
            assert_eq!(
                u.msg_type,
                crate::node::WARNING_TYPE,
                "we sent type {}",
                u.msg_type
            );
            assert!(config.warn_before_disconnect, "a warning with warnings off");
            assert!(is_receive, "a warning outside a receive");
            return None;
        }
        Message::Query(q) => {
            assert_eq!(q.chain_hash, config.chain_hash, "S01");
            assert!(q.flow_value <= 1, "query flow_value {}", q.flow_value);
            0
        }
        Message::Reply(r) => {
            assert_eq!(r.chain_hash, config.chain_hash, "S01");
            assert!(r.flow_value <= 1, "reply flow_value {}", r.flow_value);
            assert_eq!(
                r.timestamp,
                now / 1000,
                "A03: the reply's timestamp is the clock"
            );
            assert!(
                r.short_channel_ids.len() <= MAX_REPLY_SCIDS,
                "A06: {} scids",
                r.short_channel_ids.len()
            );
            let distinct: BTreeSet<_> = r.short_channel_ids.iter().collect();
            assert_eq!(distinct.len(), r.short_channel_ids.len(), "duplicate scids");
            for scid in &r.short_channel_ids {
                let ch = shadow
                    .channels
                    .get(scid)
                    .unwrap_or_else(|| panic!("A10: foreign scid {scid} in a reply"));
                assert!(ch.announced, "A08: unannounced {scid} in a reply");
                if config.obfuscation.is_none() {
                    assert_eq!(
                        ch.state,
                        ChannelState::Normal,
                        "A04: {scid} not operational"
                    );
                    assert!(
                        shadow.connected.contains(&ch.peer),
                        "A04: {scid}'s peer is down"
                    );
                    assert_ne!(ch.peer, peer, "A01: the recipient's own channel {scid}");
                }
            }
            if is_receive {
                let times = shadow.answered.entry(peer).or_default();
                record_in_window(times, now, "V07 answered queries");
            }
            1 + r.short_channel_ids.len()
        }
    };
    let is_reply = kind > 0;
    assert!(
        shadow.connected.contains(&peer),
        "S02: send to a disconnected peer"
    );
    assert!(
        shadow.has_active_channel(peer),
        "S02: send to a peer without an active channel"
    );
    let times = shadow.sends.entry((peer, is_reply)).or_default();
    let what = if is_reply {
        "S05 replies sent"
    } else {
        "S05 queries sent"
    };
    record_in_window(times, now, what);
    Some(kind)
}

/// The memory bound of [`crate::Footprint`] and the offers' validity (V04, V05).
fn check_memory(node: &Node<u16>, shadow: &Shadow, config: &Config) {
    let known = node.known_scids();
    // R-REB-6: the offers we made are per own channel and flow, whatever peers ask.
    let own = node.channels().count();
    assert!(
        node.offers_made().len() <= 2 * own,
        "{} offers made recorded for {own} channels",
        node.offers_made().len()
    );
    let peers = PEERS as usize + shadow.channels.len();
    assert!(
        node.peer_count() <= peers,
        "{} peers held",
        node.peer_count()
    );
    for p in (0..PEERS).chain(shadow.channels.values().map(|c| c.peer)) {
        let Some(f) = node.footprint(&p) else {
            continue;
        };
        assert!(
            f.offer_slots <= 2 * known,
            "peer {p}: {} offer slots, {known} known scids",
            f.offer_slots
        );
        assert!(f.offer_entries <= known);
        assert!(
            f.deferred <= config.max_deferred_replies,
            "peer {p}: {} deferred",
            f.deferred
        );
        assert!(
            f.window_entries <= 3 * LIMIT,
            "peer {p}: {} window entries",
            f.window_entries
        );
    }
    for offer in node.offers() {
        assert!(
            node.is_known(offer.scid),
            "V05: offer for unknown {}",
            offer.scid
        );
        assert!(
            shadow.has_active_channel(offer.peer),
            "offer held from peer {} without an active channel",
            offer.peer
        );
        if config.drop_offers_on_disconnect {
            assert!(
                shadow.connected.contains(&offer.peer),
                "offer held from disconnected peer {}",
                offer.peer
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replays the committed seeds of `fuzz/seeds/peer_node/` (findings stay fixed).
    #[test]
    fn replay_committed_seeds() {
        foaf_wire::fuzzing::replay_committed_seeds(TARGETS);
    }

    fn step(dt: u8, input: Input) -> Step {
        Step { dt, input }
    }

    fn set_channel(slot: u8, peer: u16, local_permille: u16, announced: bool) -> Step {
        step(
            0,
            Input::SetChannel {
                slot,
                peer,
                capacity: 1_000_000,
                local_permille,
                announced,
                closing: false,
            },
        )
    }

    fn query(peer: u16) -> Step {
        step(
            0,
            Input::RecvQuery {
                peer,
                chain: ChainChoice::Ours,
                flow_value: 1,
                amt: 1_000,
                odd_tlv: None,
            },
        )
    }

    /// Channels with three peers (one unannounced), all connected; then `extra`.
    fn scenario(extra: Vec<Step>) -> Vec<Step> {
        let mut steps = vec![
            set_channel(0, 0, 500, true),
            set_channel(1, 1, 900, true),
            set_channel(2, 2, 950, false),
            set_channel(3, 3, 100, true),
            step(0, Input::SetGraph(0b1111)),
        ];
        steps.extend((0..4).map(|p| step(0, Input::Connect(p))));
        steps.extend(extra);
        steps
    }

    fn checked(config: Config, steps: Vec<Step>) -> Stats {
        drive(&config, 7, None, steps)
    }

    /// The harness reaches every path it checks: sends of both kinds, S05 refusals and
    /// deferrals, V07 ignores, V02/V08 disconnects, and a sampled 1000-scid reply (A06/A07).
    #[test]
    fn harness_reaches_every_checked_path() {
        let mut extra = Vec::new();
        // S05: five queries to peer 1 in one second; the fifth is refused.
        extra.extend((0..5).map(|_| step(0, Input::Query(1, true, 10_000))));
        // Offers to peer 0 use up 3 of its 4 reply slots; then six queries from it at once:
        // one answered, three deferred (S05), two not answered (V07).
        extra.extend((0..3).map(|_| step(0, Input::Offer(0, true, 10_000))));
        extra.extend((0..6).map(|_| query(0)));
        // Time passes: deferred answers go out.
        extra.push(step(240, Input::Tick));
        // A stored offer, then a reply with too many scids (V02), then garbage (V08).
        let known = vec![
            ScidChoice::Graph(1),
            ScidChoice::Own(3),
            ScidChoice::Foreign(5),
        ];
        let reply = |pad| Input::RecvReply {
            peer: 1,
            chain: ChainChoice::Ours,
            flow_value: 0,
            ts_offset: 0,
            amt: 5,
            scids: known.clone(),
            pad,
        };
        extra.push(step(1, reply(0)));
        extra.push(step(1, reply(1000)));
        extra.push(step(1, Input::RecvRaw(2, vec![0x01, 0x5b, 0x00])));
        let stats = checked(Config::default(), scenario(extra.clone()));
        assert!(stats.queries_sent == 4 && stats.refused >= 1, "{stats:?}");
        assert!(stats.replies_sent >= 5 && stats.deferred >= 1, "{stats:?}");
        assert!(stats.ignored >= 1 && stats.disconnects >= 2, "{stats:?}");
        // Many eligible channels: an answer must be sampled down to 1000 (A06, A07).
        let bulk = drive(&Config::default(), 7, Some((1100, 1000)), scenario(extra));
        assert_eq!(bulk.max_reply_scids, MAX_REPLY_SCIDS, "{bulk:?}");
    }

    /// Found by fuzzing (seed `regress-v05-offer-kept-for-unannounced-channel`): an offer held
    /// for one of our announced channels outlived the channel becoming unannounced, leaving an
    /// offer for a scid outside the known set (V05) and the footprint over its stated bound.
    #[test]
    fn regression_v05_offer_dropped_when_our_channel_is_unannounced() {
        let reply = push_offer_from_peer_1(vec![ScidChoice::Own(3)]);
        let unannounce = set_channel(3, 3, 100, false);
        checked(Config::default(), scenario(vec![reply, unannounce]));
    }

    /// Peer 1 offers to push 1 msat on `scids`, stamped with our clock, on our chain.
    fn push_offer_from_peer_1(scids: Vec<ScidChoice>) -> Step {
        step(
            0,
            Input::RecvReply {
                peer: 1,
                chain: ChainChoice::Ours,
                flow_value: 1,
                ts_offset: 0,
                amt: 1,
                scids,
                pad: 0,
            },
        )
    }

    fn with_fault(fault: crate::Fault) -> Config {
        Config {
            fault: Some(fault),
            ..Config::default()
        }
    }

    // The checks can fail: each deliberately broken rule is caught.

    #[test]
    #[should_panic(expected = "S05 queries sent")]
    fn catches_s05_no_send_rate_limit() {
        let extra = (0..5).map(|_| step(0, Input::Query(1, true, 10))).collect();
        checked(
            with_fault(crate::Fault::S05NoSendRateLimit),
            scenario(extra),
        );
    }

    #[test]
    #[should_panic(expected = "V07 answered queries")]
    fn catches_v07_answer_every_query() {
        let mut config = with_fault(crate::Fault::V07AnswerEveryQuery);
        config.max_deferred_replies = 8;
        checked(config, scenario((0..6).map(|_| query(1)).collect()));
    }

    #[test]
    #[should_panic(expected = "A08")]
    fn catches_a08_unannounced_channel() {
        // Peer 2's channel is unannounced and far above the target ratio: eligible to push.
        let extra = vec![step(0, Input::Offer(0, true, 1_000))];
        checked(
            with_fault(crate::Fault::A08IncludeUnannounced),
            scenario(extra),
        );
    }

    #[test]
    #[should_panic(expected = "V05")]
    fn catches_v05_unknown_scid_kept() {
        let extra = vec![push_offer_from_peer_1(vec![ScidChoice::Foreign(42)])];
        checked(
            with_fault(crate::Fault::V05KeepUnknownScids),
            scenario(extra),
        );
    }

    #[test]
    #[should_panic(expected = "V08")]
    fn catches_v08_malformed_ignored() {
        let extra = vec![step(0, Input::RecvRaw(1, vec![0x01, 0x5d, 0xff]))];
        checked(
            with_fault(crate::Fault::V08IgnoreMalformed),
            scenario(extra),
        );
    }

    /// Pseudo-random inputs never break an invariant of the correct node.
    #[test]
    fn random_inputs_hold_every_invariant() {
        let mut data = Vec::new();
        // Deterministic xorshift bytes: the harness must not panic on any of them.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..60 {
            for _ in 0..4096 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                data.push(x as u8);
            }
            node_sequence(&data);
            data.clear();
        }
    }
}
