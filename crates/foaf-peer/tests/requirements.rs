//! One check per requirement (S01–S05, A01–A10, V01–V08, M01–M02, W01/W02/W05), each a
//! function `fn(Option<Fault>) -> Result<(), String>` that looks only at what a conformance
//! runner sees (sent bytes, disconnects, refusals, stored offers).
//!
//! Each named test runs its check on a correct node and must pass; `every_fault_is_caught`
//! runs, for every [`Fault`], the checks of the requirement the fault breaks and demands that
//! at least one fails. So every check is shown able to fail, and every fault to be observable.

use std::time::Duration;

use foaf_peer::{Config, Effect, Fault, Node, Reason, Request, Timestamp};
use foaf_policy::{imbalance, target_ratio, Channel, ChannelState, Obfuscation};
use foaf_wire::{
    ChainHash, Flow, Message, QueryFoafBalances, ReplyFoafBalances, ShortChannelId, TlvStream,
};

type Check = fn(Option<Fault>) -> Result<(), String>;

/// The harness's start, in the wire's whole seconds and as the node's clock.
const T0: u64 = 1_700_000_000;
const T0_AT: Timestamp = Timestamp::from_secs(T0);

fn scid(s: &str) -> ShortChannelId {
    s.parse().unwrap()
}

fn ch(s: &str, peer: &str, cap: u64, local: u64, announced: bool) -> Channel<String> {
    Channel {
        scid: scid(s),
        peer: peer.into(),
        capacity_msat: cap,
        local_msat: local,
        announced,
        state: ChannelState::Normal,
    }
}

/// The standard node: ν = (500 + 900 + 100 + 900) / 4000 = 0.6.
/// alice 1x1x1 at .5, bob 1x2x1 at .9, carol 1x3x1 at .1, dave 1x4x1 at .9 (unannounced);
/// erin connected without a channel. Graph: 500x1x0 … 500x20x0 and our announced channels.
struct H {
    node: Node<String>,
    now: Timestamp,
}

impl H {
    fn new(fault: Option<Fault>) -> Self {
        Self::with(Config {
            fault,
            ..Config::default()
        })
    }

    fn with(config: Config) -> Self {
        Self::with_seed(config, 1)
    }

    fn with_seed(config: Config, seed: u64) -> Self {
        let mut node = Node::new(config, seed);
        let mut graph: Vec<ShortChannelId> = (1..=20)
            .map(|i| ShortChannelId::new(500, i, 0).unwrap())
            .collect();
        graph.extend(["1x1x1", "1x2x1", "1x3x1"].map(scid));
        node.set_graph(graph);
        node.set_channels(
            [
                ch("1x1x1", "alice", 1000, 500, true),
                ch("1x2x1", "bob", 1000, 900, true),
                ch("1x3x1", "carol", 1000, 100, true),
                ch("1x4x1", "dave", 1000, 900, false),
            ],
            T0_AT,
        );
        for p in ["alice", "bob", "carol", "dave", "erin"] {
            node.connect(p.into(), T0_AT);
        }
        Self { node, now: T0_AT }
    }

    fn chain(&self) -> ChainHash {
        self.node.config().chain_hash
    }

    fn recv(&mut self, peer: &str, msg: Message) -> Vec<Effect<String>> {
        let bytes = msg.encode().unwrap();
        self.node.receive(&peer.to_string(), &bytes, self.now)
    }

    fn recv_query(&mut self, peer: &str, flow: u8, amt: u64) -> Vec<Effect<String>> {
        let q = query_msg(self.chain(), flow, amt);
        self.recv(peer, q)
    }

    fn recv_reply(
        &mut self,
        peer: &str,
        flow: u8,
        ts: u64,
        amt: u64,
        scids: Vec<ShortChannelId>,
    ) -> Vec<Effect<String>> {
        let r = reply_msg(self.chain(), flow, ts, amt, scids);
        self.recv(peer, r)
    }

    fn query(&mut self, peer: &str, flow: Flow, amt: u64) -> Vec<Effect<String>> {
        self.node.query(&peer.to_string(), flow, amt, self.now)
    }

    fn offer(&mut self, peer: &str, flow: Flow, amt: u64) -> Vec<Effect<String>> {
        self.node.offer(&peer.to_string(), flow, amt, self.now)
    }

    /// The clock moves on by `dt` seconds.
    fn tick(&mut self, dt: u64) -> Vec<Effect<String>> {
        self.tick_ms(dt * 1000)
    }

    /// The clock moves on by `dt_ms` milliseconds.
    fn tick_ms(&mut self, dt_ms: u64) -> Vec<Effect<String>> {
        self.now = self.now.saturating_add(Duration::from_millis(dt_ms));
        self.node.tick(self.now)
    }

    /// The reply to a query from `peer`, which must be answered at once.
    fn answer(&mut self, peer: &str, flow: u8, amt: u64) -> Result<ReplyFoafBalances, String> {
        let e = self.recv_query(peer, flow, amt);
        match replies(&e).as_slice() {
            [r] => Ok(r.clone()),
            other => Err(format!("expected one reply, got {other:?} from {e:?}")),
        }
    }
}

/// Two harnesses 0.934 s past a whole second, for windows exact below the second (issue #17):
/// one at T0, one 11 s before u64::MAX whole seconds (the largest time the pipe can name).
fn sub_second_harnesses(f: Option<Fault>) -> [H; 2] {
    [false, true].map(|at_end_of_time| {
        let mut h = H::new(f);
        if at_end_of_time {
            h.now = Timestamp::from_secs(u64::MAX - 11);
        }
        h.tick_ms(934);
        h
    })
}

fn query_msg(chain: ChainHash, flow: u8, amt: u64) -> Message {
    Message::Query(QueryFoafBalances {
        chain_hash: chain,
        flow_value: flow,
        amt_to_rebalance: amt,
        tlvs: TlvStream::new(),
    })
}

fn reply_msg(chain: ChainHash, flow: u8, ts: u64, amt: u64, scids: Vec<ShortChannelId>) -> Message {
    Message::Reply(ReplyFoafBalances {
        chain_hash: chain,
        flow_value: flow,
        timestamp: ts,
        amt_to_rebalance: amt,
        short_channel_ids: scids,
        tlvs: TlvStream::new(),
    })
}

fn sent(e: &[Effect<String>]) -> Vec<(String, Vec<u8>)> {
    e.iter()
        .filter_map(|e| match e {
            Effect::Send { peer, bytes } => Some((peer.clone(), bytes.clone())),
            _ => None,
        })
        .collect()
}

/// Messages sent, decoded with the default types (a wrong type shows up as `Unknown`).
fn sent_msgs(e: &[Effect<String>]) -> Vec<Message> {
    sent(e)
        .into_iter()
        .map(|(_, b)| Message::decode(&b).unwrap())
        .collect()
}

fn replies(e: &[Effect<String>]) -> Vec<ReplyFoafBalances> {
    sent_msgs(e)
        .into_iter()
        .filter_map(|m| match m {
            Message::Reply(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn disconnects(e: &[Effect<String>]) -> Vec<Reason> {
    e.iter()
        .filter_map(|e| match e {
            Effect::Disconnect { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

fn refused(e: &[Effect<String>]) -> Option<Reason> {
    e.iter().find_map(|e| match e {
        Effect::Refused { reason, .. } => Some(*reason),
        _ => None,
    })
}

fn ensure(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

fn ids(r: &ReplyFoafBalances) -> Vec<String> {
    r.short_channel_ids.iter().map(|s| s.to_string()).collect()
}

// ----- checks ----------------------------------------------------------------------------------

fn check_w01(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let e = h.query("alice", Flow::Push, 1000);
    let s = sent(&e);
    ensure(s.len() == 1 && s[0].1[..2] == [0x01, 0x5b], || {
        format!("query not sent as type 347: {e:?}")
    })?;
    ensure(
        matches!(Message::decode(&s[0].1), Ok(Message::Query(_))),
        || "query does not decode".into(),
    )
}

fn check_w02(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let e = h.offer("alice", Flow::Push, 100);
    let s = sent(&e);
    ensure(s.len() == 1 && s[0].1[..2] == [0x01, 0x5d], || {
        format!("reply not sent as type 349: {e:?}")
    })
}

fn check_w05(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    for bad in [2u8, 255] {
        let e = h.recv_query("alice", bad, 100);
        ensure(sent(&e).is_empty() && disconnects(&e).is_empty(), || {
            format!("query with flow_value {bad} not ignored: {e:?}")
        })?;
        let e = h.recv_reply("bob", bad, h.now.as_secs(), 100, vec![scid("500x1x0")]);
        ensure(disconnects(&e).is_empty(), || format!("{e:?}"))?;
        ensure(h.node.offers().is_empty(), || {
            format!("reply with flow_value {bad} stored")
        })?;
    }
    Ok(())
}

fn check_s01(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let mut e = h.query("alice", Flow::Push, 1000);
    e.extend(h.offer("alice", Flow::Push, 100));
    e.extend(h.recv_query("alice", 1, 100));
    let msgs = sent_msgs(&e);
    ensure(msgs.len() == 3, || format!("{e:?}"))?;
    for m in msgs {
        let chain = match &m {
            Message::Query(q) => q.chain_hash,
            Message::Reply(r) => r.chain_hash,
            Message::Unknown(_) => return Err("unknown message sent".into()),
        };
        ensure(chain == ChainHash::BITCOIN, || {
            format!("wrong chain in {m:?}")
        })?;
    }
    Ok(())
}

fn check_s02(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    for op in [Request::Query, Request::Offer] {
        let e = match op {
            Request::Query => h.query("erin", Flow::Push, 100),
            Request::Offer => h.offer("erin", Flow::Push, 100),
        };
        ensure(
            sent(&e).is_empty() && refused(&e) == Some(Reason::NoChannel),
            || format!("{op:?} to erin (no channel) not refused: {e:?}"),
        )?;
    }
    // A closing channel is not active.
    h.node.set_channel(
        Channel {
            state: ChannelState::Closing,
            ..ch("1x1x1", "alice", 1000, 500, true)
        },
        h.now,
    );
    let e = h.query("alice", Flow::Push, 100);
    ensure(refused(&e) == Some(Reason::NoChannel), || format!("{e:?}"))
}

fn check_s03(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    for (flow, byte) in [(Flow::Push, 1u8), (Flow::Receive, 0)] {
        let e = h.query("alice", flow, 100);
        match sent_msgs(&e).as_slice() {
            [Message::Query(q)] if q.flow_value == byte => {}
            other => return Err(format!("{flow:?}: expected flow_value {byte}: {other:?}")),
        }
    }
    Ok(())
}

fn check_s04(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let e = h.query("alice", Flow::Push, 12_345);
    match sent_msgs(&e).as_slice() {
        [Message::Query(q)] if q.amt_to_rebalance >= 12_345 => Ok(()),
        other => Err(format!("amount below the intended one: {other:?}")),
    }
}

fn check_s05(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    // Queries: 4 go, the 5th and 6th are refused, at +9 s still refused, at +10 s one more goes.
    let mut n = 0;
    for _ in 0..6 {
        let e = h.query("alice", Flow::Push, 100);
        n += sent(&e).len();
        if sent(&e).is_empty() {
            ensure(refused(&e) == Some(Reason::RateLimited), || {
                format!("{e:?}")
            })?;
        }
    }
    ensure(n == 4, || format!("{n} queries sent in one second"))?;
    h.tick(9);
    ensure(sent(&h.query("alice", Flow::Push, 100)).is_empty(), || {
        "5th query within 10 s".into()
    })?;
    h.tick(1);
    ensure(sent(&h.query("alice", Flow::Push, 100)).len() == 1, || {
        "query refused 10 s after the first".into()
    })?;
    // Replies: 4 offers use up the window; an answer to a query waits for a tick.
    let mut h = H::new(f);
    let n: usize = (0..4)
        .map(|_| sent(&h.offer("alice", Flow::Push, 100)).len())
        .sum();
    ensure(n == 4, || format!("{n} of 4 offers sent"))?;
    ensure(sent(&h.offer("alice", Flow::Push, 100)).is_empty(), || {
        "5th offer within 10 s".into()
    })?;
    ensure(sent(&h.recv_query("alice", 1, 100)).is_empty(), || {
        "answer sent past the reply limit".into()
    })?;
    ensure(sent(&h.tick(9)).is_empty(), || "answer sent early".into())?;
    ensure(replies(&h.tick(1)).len() == 1, || {
        "deferred answer not sent once the window allows".into()
    })?;
    // The window is exact below the second (issue #17: 4 sends at …0.934 s and a 5th 9.086 s
    // later must not all go; whole seconds would see 0 and 10).
    for mut h in sub_second_harnesses(f) {
        let n: usize = (0..5)
            .map(|_| sent(&h.query("alice", Flow::Push, 100)).len())
            .sum();
        ensure(n == 4, || format!("{n} queries sent at one instant"))?;
        h.tick_ms(9_086);
        ensure(sent(&h.query("alice", Flow::Push, 100)).is_empty(), || {
            format!("5th query 9.086 s after the first (clock {})", h.now)
        })?;
        h.tick_ms(913);
        ensure(sent(&h.query("alice", Flow::Push, 100)).is_empty(), || {
            format!("5th query 9.999 s after the first (clock {})", h.now)
        })?;
        h.tick_ms(1);
        ensure(sent(&h.query("alice", Flow::Push, 100)).len() == 1, || {
            format!(
                "query refused exactly 10 s after the first (clock {})",
                h.now
            )
        })?;
    }
    Ok(())
}

fn check_a01(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    // ν = 0.6. Push 100: bob .9 → .8 qualifies; carol (.1) would move away; alice is the querier.
    let r = h.answer("alice", 1, 100)?;
    ensure(r.flow_value == 1 && ids(&r) == ["1x2x1"], || {
        format!("Push: {r:?}")
    })?;
    // Push 301 would take bob past ν (.599).
    let r = h.answer("alice", 1, 301)?;
    ensure(r.short_channel_ids.is_empty(), || format!("past ν: {r:?}"))?;
    // Receive 100 asked by bob: alice .5 → .6 and carol .1 → .2.
    let r = h.answer("bob", 0, 100)?;
    ensure(r.flow_value == 0 && ids(&r) == ["1x1x1", "1x3x1"], || {
        format!("Receive: {r:?}")
    })?;
    // The querier's channel is left out even when it qualifies.
    let r = h.answer("carol", 0, 100)?;
    ensure(ids(&r) == ["1x1x1"], || format!("querier carol: {r:?}"))
}

fn check_a02(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let r = h.answer("alice", 1, 100)?;
    ensure(r.amt_to_rebalance == 100, || format!("amount {r:?}"))
}

fn check_a03(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    h.tick(42);
    let r = h.answer("alice", 1, 100)?;
    ensure(r.timestamp == T0 + 42, || {
        format!("timestamp {}", r.timestamp)
    })
}

fn check_a04(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    h.node.disconnect(&"bob".to_string(), h.now);
    let r = h.answer("alice", 1, 100)?;
    ensure(r.short_channel_ids.is_empty(), || {
        format!("channel with a disconnected peer offered: {r:?}")
    })?;
    h.node.connect("bob".into(), h.now);
    h.node.set_channel(
        Channel {
            state: ChannelState::Closing,
            ..ch("1x2x1", "bob", 1000, 900, true)
        },
        h.now,
    );
    let r = h.answer("alice", 1, 100)?;
    ensure(r.short_channel_ids.is_empty(), || {
        format!("closing channel offered: {r:?}")
    })
}

fn check_a05(f: Option<Fault>) -> Result<(), String> {
    // Off (conformance mode): exactly the eligible set.
    let mut h = H::new(f);
    let r = h.answer("alice", 1, 100)?;
    ensure(ids(&r) == ["1x2x1"], || format!("obfuscation off: {r:?}"))?;
    // On: bounded, seeded, and never unannounced or foreign channels.
    let config = Config {
        obfuscation: Some(Obfuscation {
            max_omit: 1,
            max_add: 1,
        }),
        fault: f,
        ..Config::default()
    };
    let mut differs = false;
    for seed in 0..20 {
        let mut h = H::with_seed(config.clone(), seed);
        let r = h.answer("alice", 1, 100)?;
        let got = ids(&r);
        ensure(got.len() <= 2, || format!("unbounded: {got:?}"))?;
        ensure(
            got.iter()
                .all(|s| ["1x1x1", "1x2x1", "1x3x1"].contains(&s.as_str())),
            || format!("not our announced channels: {got:?}"),
        )?;
        differs |= got != ["1x2x1"];
        let again = H::with_seed(config.clone(), seed).answer("alice", 1, 100)?;
        ensure(again == r, || "not deterministic for a seed".into())?;
    }
    ensure(differs, || "obfuscation on never changed a reply".into())
}

/// 1200 peers p0000… each with one channel at .9, and "q" holding a large empty channel
/// (ν ≈ 0.096): for a Push query from q, all 1200 qualify.
fn big(f: Option<Fault>, seed: u64) -> Node<String> {
    let mut node = Node::new(
        Config {
            fault: f,
            ..Config::default()
        },
        seed,
    );
    let mut chans: Vec<Channel<String>> = (0..1200u32)
        .map(|i| Channel {
            scid: ShortChannelId::new(10 + i, 1, 0).unwrap(),
            peer: format!("p{i:04}"),
            capacity_msat: 1000,
            local_msat: 900,
            announced: true,
            state: ChannelState::Normal,
        })
        .collect();
    chans.push(ch("5000x1x0", "q", 10_000_000, 0, true));
    for c in &chans {
        node.connect(c.peer.clone(), T0_AT);
    }
    node.set_channels(chans, T0_AT);
    node
}

fn big_answer(node: &mut Node<String>) -> Result<Vec<ShortChannelId>, String> {
    let q = query_msg(ChainHash::BITCOIN, 1, 100).encode().unwrap();
    let e = node.receive(&"q".to_string(), &q, T0_AT);
    match replies(&e).as_slice() {
        [r] => Ok(r.short_channel_ids.clone()),
        _ => Err(format!("no single reply: {e:?}")),
    }
}

fn check_a06(f: Option<Fault>) -> Result<(), String> {
    let got = big_answer(&mut big(f, 1))?;
    ensure(got.len() <= 1000, || {
        format!("{} scids in a reply", got.len())
    })
}

fn check_a07(f: Option<Fault>) -> Result<(), String> {
    let all: Vec<ShortChannelId> = (0..1200u32)
        .map(|i| ShortChannelId::new(10 + i, 1, 0).unwrap())
        .collect();
    let mut samples = Vec::new();
    for seed in 0..4 {
        let got = big_answer(&mut big(f, seed))?;
        ensure(got.len() == 1000, || {
            format!("sampled {} not 1000", got.len())
        })?;
        ensure(got.iter().all(|s| all.contains(s)), || {
            "foreign scid".into()
        })?;
        samples.push(got);
    }
    ensure(samples.windows(2).any(|w| w[0] != w[1]), || {
        "the same 1000 for every seed: not a random sample".into()
    })?;
    // The 200 highest scids must be drawn about as often as the rest (≈ 5/6 each).
    let high = samples
        .iter()
        .flatten()
        .filter(|s| all[1000..].contains(s))
        .count();
    ensure((500..=830).contains(&high), || {
        format!("top-200 drawn {high} times in 4 samples (uniform: ≈ 667)")
    })
}

fn check_a08(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    // dave's unannounced channel sits at .9 like bob's: it qualifies by balance alone.
    for (peer, flow) in [("alice", 1), ("bob", 1), ("carol", 1)] {
        let r = h.answer(peer, flow, 100)?;
        ensure(!ids(&r).contains(&"1x4x1".to_string()), || {
            format!("unannounced channel offered: {r:?}")
        })?;
    }
    let e = h.offer("alice", Flow::Push, 100);
    ensure(
        replies(&e)
            .iter()
            .all(|r| !r.short_channel_ids.contains(&scid("1x4x1"))),
        || "unannounced channel offered unsolicited".into(),
    )
}

fn check_a09(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let e = h.offer("alice", Flow::Push, 100);
    match replies(&e).as_slice() {
        [r] if ids(r) == ["1x2x1"] && r.flow_value == 1 => Ok(()),
        _ => Err(format!("unsolicited offer not sent: {e:?}")),
    }
}

fn check_a10(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let learned = vec![scid("500x1x0"), scid("500x2x0")];
    h.recv_reply("bob", 1, h.now.as_secs(), 100, learned.clone());
    ensure(h.node.offers().len() == 2, || {
        "bob's offers not stored".into()
    })?;
    for (peer, flow) in [("alice", 1), ("alice", 0), ("carol", 1)] {
        let r = h.answer(peer, flow, 100)?;
        ensure(
            r.short_channel_ids.iter().all(|s| !learned.contains(s)),
            || format!("forwarded what bob told us: {r:?}"),
        )?;
    }
    Ok(())
}

fn check_v01(f: Option<Fault>) -> Result<(), String> {
    for msg in [
        query_msg(ChainHash::BITCOIN, 1, 100),
        reply_msg(ChainHash::BITCOIN, 1, T0, 100, vec![scid("500x1x0")]),
    ] {
        let mut h = H::new(f);
        let e = h.recv("erin", msg.clone());
        ensure(disconnects(&e) == [Reason::NoChannel], || {
            format!("no disconnect for {msg:?}: {e:?}")
        })?;
        ensure(sent(&e).is_empty() && h.node.offers().is_empty(), || {
            "acted on a message from a peer without a channel".into()
        })?;
    }
    Ok(())
}

fn check_v02(f: Option<Fault>) -> Result<(), String> {
    let graph: Vec<ShortChannelId> = (0..1001)
        .map(|i| ShortChannelId::new(700, i, 0).unwrap())
        .collect();
    let mut h = H::new(f);
    h.node.set_graph(graph.clone());
    let e = h.recv_reply("bob", 1, h.now.as_secs(), 100, graph[..1000].to_vec());
    ensure(disconnects(&e).is_empty(), || {
        format!("1000 rejected: {e:?}")
    })?;
    let e = h.recv_reply("alice", 1, h.now.as_secs(), 100, graph.clone());
    ensure(disconnects(&e) == [Reason::TooManyScids], || {
        format!("1001 scids accepted: {e:?}")
    })?;
    ensure(h.node.offers().iter().all(|o| o.peer == "bob"), || {
        "stored some of a 1001-scid reply".into()
    })
}

fn check_v03(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let e = h.recv_reply("bob", 1, h.now.as_secs() + 600, 100, vec![scid("500x1x0")]);
    ensure(disconnects(&e).is_empty(), || {
        format!("+600 s rejected: {e:?}")
    })?;
    let e = h.recv_reply(
        "alice",
        1,
        h.now.as_secs() + 601,
        100,
        vec![scid("500x2x0")],
    );
    ensure(disconnects(&e) == [Reason::TimestampInFuture], || {
        format!("+601 s accepted: {e:?}")
    })?;
    ensure(h.node.offers().iter().all(|o| o.peer == "bob"), || {
        "stored a future reply".into()
    })
}

fn check_v04(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let s = vec![scid("500x1x0")];
    let amt_now = |h: &H| {
        h.node
            .offers()
            .iter()
            .map(|o| (o.amt_msat, o.timestamp))
            .collect::<Vec<_>>()
    };
    h.recv_reply("bob", 1, T0 - 10, 100, s.clone());
    h.recv_reply("bob", 1, T0, 200, s.clone());
    ensure(amt_now(&h) == [(200, T0)], || {
        format!("newer lost: {:?}", amt_now(&h))
    })?;
    h.recv_reply("bob", 1, T0 - 5, 300, s.clone());
    ensure(amt_now(&h) == [(200, T0)], || {
        format!("older replaced newer: {:?}", amt_now(&h))
    })?;
    h.recv_reply("bob", 1, T0, 400, s.clone());
    ensure(amt_now(&h) == [(400, T0)], || {
        format!("equal timestamp did not replace: {:?}", amt_now(&h))
    })?;
    // Per flow and per peer: independent slots.
    h.recv_reply("bob", 0, T0 - 100, 7, s.clone());
    h.recv_reply("carol", 1, T0 - 100, 8, s.clone());
    ensure(h.node.offers().len() == 3, || {
        format!("{:?}", h.node.offers())
    })
}

fn check_v05(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    h.recv_reply("bob", 1, T0, 100, vec![scid("500x1x0"), scid("9x9x9")]);
    let got: Vec<String> = h.node.offers().iter().map(|o| o.scid.to_string()).collect();
    ensure(got == ["500x1x0"], || format!("stored {got:?}"))
}

fn check_v06(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let e = h.recv("alice", query_msg(ChainHash::TESTNET3, 1, 100));
    ensure(sent(&e).is_empty() && disconnects(&e).is_empty(), || {
        format!("other-chain query: {e:?}")
    })?;
    let e = h.recv(
        "bob",
        reply_msg(ChainHash::TESTNET3, 1, T0, 100, vec![scid("500x1x0")]),
    );
    ensure(
        disconnects(&e).is_empty() && h.node.offers().is_empty(),
        || format!("other-chain reply: {e:?}"),
    )?;
    // The connection is kept: the next good query is answered.
    h.answer("alice", 1, 100).map(|_| ())
}

fn check_v07(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let mut answered = 0;
    for _ in 0..6 {
        let e = h.recv_query("alice", 1, 100);
        ensure(disconnects(&e).is_empty(), || format!("{e:?}"))?;
        answered += replies(&e).len();
    }
    // The excess is never answered, not even later.
    answered += replies(&h.tick(10)).len();
    ensure(answered == 4, || {
        format!("{answered} answers to 6 queries in 1 s")
    })?;
    // A new window: answered again.
    ensure(replies(&h.recv_query("alice", 1, 100)).len() == 1, || {
        "query in the next window not answered".into()
    })?;
    // Exact below the second, and up to the largest time the pipe can name (issue #17).
    for mut h in sub_second_harnesses(f) {
        let answered: usize = (0..4)
            .map(|_| replies(&h.recv_query("alice", 1, 100)).len())
            .sum();
        ensure(answered == 4, || {
            format!("{answered} of 4 queries answered")
        })?;
        h.tick_ms(9_086);
        let late = h.recv_query("alice", 1, 100);
        let late_answers = replies(&late).len() + replies(&h.tick(0)).len();
        ensure(late_answers == 0, || {
            format!(
                "5th query 9.086 s after the first answered (clock {})",
                h.now
            )
        })?;
        h.tick_ms(914);
        ensure(replies(&h.recv_query("alice", 1, 100)).len() == 1, || {
            format!("query 10 s after the first not answered (clock {})", h.now)
        })?;
    }
    Ok(())
}

fn check_v08(f: Option<Fault>) -> Result<(), String> {
    for bytes in [
        vec![0x01, 0x5b, 0x00], // truncated query
        vec![0x01],             // truncated type
        {
            // reply whose len runs past the end
            let mut b = reply_msg(ChainHash::BITCOIN, 1, T0, 1, vec![])
                .encode()
                .unwrap();
            let n = b.len();
            b[n - 1] = 5;
            b
        },
        {
            // unknown even TLV type 2
            let mut b = query_msg(ChainHash::BITCOIN, 1, 1).encode().unwrap();
            b.extend([2, 0]);
            b
        },
    ] {
        let mut h = H::new(f);
        let e = h.node.receive(&"alice".to_string(), &bytes, h.now);
        let first_is_warning =
            matches!(e.first(), Some(Effect::Send { bytes, .. }) if bytes[..2] == [0, 1]);
        ensure(
            first_is_warning && disconnects(&e) == [Reason::Malformed],
            || format!("{bytes:02x?}: expected warning then disconnect: {e:?}"),
        )?;
    }
    Ok(())
}

fn check_m01(_: Option<Fault>) -> Result<(), String> {
    let h = H::new(None);
    let chans: Vec<Channel<String>> = h.node.channels().cloned().collect();
    let nu = target_ratio(&chans).unwrap();
    ensure((nu - 0.6).abs() < 1e-12, || format!("ν = {nu}"))?;
    // ζ = (.5, .9, .1, .9): Gini = Σᵢⱼ|ζi−ζj| / (2 n² mean) = 5.6 / (2·16·0.6)
    let g = imbalance(&chans);
    ensure((g - 5.6 / 19.2).abs() < 1e-12, || format!("G = {g}"))?;
    // Doing what a reply offers lowers the imbalance: bob pushes 100 out, carol takes 100 in.
    let mut after = chans.clone();
    after[1].local_msat -= 100;
    after[2].local_msat += 100;
    ensure(imbalance(&after) < g, || {
        "the offered move did not help".into()
    })
}

fn check_m02(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    // erin gets two channels at .95 and .25: merged (1200/2000 = .6) she is at ν, nothing to
    // offer, although the first alone would qualify for Push.
    h.node.set_channels(
        [
            ch("1x5x1", "erin", 1000, 950, true),
            ch("1x6x1", "erin", 1000, 250, true),
        ],
        h.now,
    );
    let r = h.answer("alice", 1, 100)?;
    ensure(
        !ids(&r).iter().any(|s| s == "1x5x1" || s == "1x6x1"),
        || format!("parallel channels judged alone: {r:?}"),
    )?;
    // frank's two channels at .9 and .8 (merged .85): the group qualifies, both are listed.
    h.node.set_channels(
        [
            ch("1x7x1", "frank", 1000, 900, true),
            ch("1x8x1", "frank", 1000, 800, true),
        ],
        h.now,
    );
    h.node.connect("frank".into(), h.now);
    let r = h.answer("alice", 1, 100)?;
    let listed: Vec<String> = ids(&r)
        .into_iter()
        .filter(|s| s == "1x7x1" || s == "1x8x1")
        .collect();
    ensure(listed == ["1x7x1", "1x8x1"], || format!("frank: {r:?}"))
}

// ---- Checks for the faults of issues #15 and #17 (one rule each; see fault.rs) ----

/// W01: `amt_to_rebalance` is a u64: 2^63 and 2^64−1 are legal, the connection is kept.
fn check_w01_full_range(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    for amt in [1u64 << 63, u64::MAX] {
        let e = h.recv_query("alice", 1, amt);
        ensure(disconnects(&e).is_empty(), || format!("amt {amt}: {e:?}"))?;
    }
    Ok(())
}

/// W03: an unknown odd TLV type is skipped: the query is answered.
fn check_w03(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let mut b = query_msg(h.chain(), 1, 100).encode().unwrap();
    b.extend([1, 1, 0]); // type 1, length 1, value 0
    let e = h.node.receive(&"alice".to_string(), &b, h.now);
    ensure(disconnects(&e).is_empty() && replies(&e).len() == 1, || {
        format!("odd TLV not skipped: {e:?}")
    })
}

/// W04: a received scid is read as the BOLT #7 u64 (block, tx, output).
fn check_w04(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    h.recv_reply("bob", 1, h.now.as_secs(), 100, vec![scid("500x7x0")]);
    let got: Vec<String> = h.node.offers().iter().map(|o| o.scid.to_string()).collect();
    ensure(got == ["500x7x0"], || format!("offers held for {got:?}"))
}

/// S05: the window slides from each send, and a reconnect does not reset it.
fn check_s05_slides_and_survives_reconnect(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let mut n = sent(&h.query("alice", Flow::Push, 100)).len();
    h.tick(5);
    for _ in 0..3 {
        n += sent(&h.query("alice", Flow::Push, 100)).len();
    }
    h.tick(5);
    n += sent(&h.query("alice", Flow::Push, 100)).len();
    let fifth = sent(&h.query("alice", Flow::Push, 100)).len();
    ensure(n == 5 && fifth == 0, || {
        format!("{n} sent, then {fifth} more within [t+5, t+15)")
    })?;
    let mut h = H::new(f);
    for _ in 0..4 {
        h.query("alice", Flow::Push, 100);
    }
    h.node.disconnect(&"alice".to_string(), h.now);
    h.node.connect("alice".to_string(), h.now);
    ensure(sent(&h.query("alice", Flow::Push, 100)).is_empty(), || {
        "a reconnect reset the query limit".into()
    })
}

/// V07: the window slides from each query, and a reconnect does not reset it.
fn check_v07_slides_and_survives_reconnect(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let mut n = replies(&h.recv_query("alice", 1, 100)).len();
    h.tick(5);
    for _ in 0..3 {
        n += replies(&h.recv_query("alice", 1, 100)).len();
    }
    h.tick(5);
    n += replies(&h.recv_query("alice", 1, 100)).len();
    // The fifth is not answered, neither now nor on a later tick (not merely deferred).
    let fifth = replies(&h.recv_query("alice", 1, 100)).len() + replies(&h.tick(5)).len();
    ensure(n == 5 && fifth == 0, || {
        format!("{n} answered, then {fifth} more within [t+5, t+15)")
    })?;
    let mut h = H::new(f);
    for _ in 0..4 {
        h.recv_query("alice", 1, 100);
    }
    h.node.disconnect(&"alice".to_string(), h.now);
    h.node.connect("alice".to_string(), h.now);
    let fifth = replies(&h.recv_query("alice", 1, 100)).len() + replies(&h.tick(10)).len();
    ensure(fifth == 0, || {
        "a reconnect reset the limit on received queries".into()
    })
}

/// A08 under A05: obfuscation never adds dave's unannounced channel.
fn check_a08_obfuscated(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::with(Config {
        fault: f,
        obfuscation: Some(Obfuscation::default()),
        ..Config::default()
    });
    for (peer, flow) in [("alice", 1), ("alice", 0), ("bob", 1), ("carol", 0)] {
        let r = h.answer(peer, flow, 100)?;
        ensure(!ids(&r).contains(&"1x4x1".to_string()), || {
            format!("unannounced channel added by obfuscation: {r:?}")
        })?;
    }
    Ok(())
}

/// V01: dave's only channel is unannounced but normal: an active channel, so his query is
/// answered and the connection kept.
fn check_v01_unannounced_counts(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let e = h.recv_query("dave", 1, 100);
    ensure(disconnects(&e).is_empty() && replies(&e).len() == 1, || {
        format!("dave (unannounced channel) not served: {e:?}")
    })
}

/// H with one more channel to erin.
fn with_erin(f: Option<Fault>, cap: u64, local: u64) -> H {
    let mut h = H::new(f);
    h.node
        .set_channels([ch("1x5x1", "erin", cap, local, true)], h.now);
    h
}

/// M01: the target is the node's own ν, not 50/50. erin at .55 with ν = 2950/5000 = .59 is a
/// sink (below ν) although above one half.
fn check_m01_target_is_nu(f: Option<Fault>) -> Result<(), String> {
    let mut h = with_erin(f, 1000, 550);
    let r = h.answer("alice", 0, 10)?;
    ensure(ids(&r).contains(&"1x5x1".to_string()), || {
        format!("erin (.55 < nu .59) not offered to take in: {r:?}")
    })
}

/// R-CM-1: a closing channel does not count toward ν: with gus's closing 10,000/10,000 counted
/// ν would be .89 and bob (.9 → .8) could not push 100.
fn check_r_cm_1(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let mut gus = ch("1x6x1", "gus", 10_000, 10_000, true);
    gus.state = ChannelState::Closing;
    h.node.set_channels([gus], h.now);
    let r = h.answer("alice", 1, 100)?;
    ensure(ids(&r) == ["1x2x1"], || {
        format!("push reply {r:?}, want bob's")
    })
}

/// R-CM-2: never past ν: bob (900/1000, ν .6) can push 300 but not 301.
fn check_r_cm_2(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let r = h.answer("alice", 1, 300)?;
    ensure(ids(&r) == ["1x2x1"], || format!("300: {r:?}"))?;
    let e = h.recv_query("alice", 1, 301);
    ensure(
        replies(&e).iter().all(|r| r.short_channel_ids.is_empty()),
        || format!("301 would pass nu: {e:?}"),
    )
}

/// R-CM-3: a peer exactly at ν is neither a source nor a sink (amount 0 asks only that).
fn check_r_cm_3(f: Option<Fault>) -> Result<(), String> {
    // erin at .6 keeps ν = 3000/5000 = .6 exactly.
    let mut h = with_erin(f, 1000, 600);
    for flow in [1, 0] {
        let r = h.answer("alice", flow, 0)?;
        ensure(!ids(&r).contains(&"1x5x1".to_string()), || {
            format!("erin, at nu, offered for flow {flow}: {r:?}")
        })?;
    }
    Ok(())
}

/// Collecting offers (R-CM-4): every source queried with flow 1, every sink with flow 0, each
/// for a tenth of its deviation; not again while nothing changed and the offers are fresh.
fn check_r_cm_4(f: Option<Fault>) -> Result<(), String> {
    let mut h = H::new(f);
    let queries = |e: &[Effect<String>]| -> Vec<(String, u8, u64)> {
        sent(e)
            .into_iter()
            .filter_map(|(p, b)| match Message::decode(&b) {
                Ok(Message::Query(q)) => Some((p, q.flow_value, q.amt_to_rebalance)),
                _ => None,
            })
            .collect()
    };
    // ν = .6 over 4000: alice .5 (deficit 100), bob .9 (surplus 300), carol .1 (deficit 500),
    // dave .9 (surplus 300, unannounced: a channel all the same); erin has no channel.
    let want: Vec<(String, u8, u64)> = [
        ("alice", 0, 10),
        ("bob", 1, 30),
        ("carol", 0, 50),
        ("dave", 1, 30),
    ]
    .into_iter()
    .map(|(p, fl, a)| (p.to_string(), fl, a))
    .collect();
    let now = h.now;
    let first = queries(&h.node.collect_offers(now));
    ensure(first == want, || format!("first collection: {first:?}"))?;
    let again = queries(&h.node.collect_offers(now));
    ensure(again.is_empty(), || {
        format!("queried again at once: {again:?}")
    })?;
    h.tick(601);
    let stale = queries(&h.node.collect_offers(h.now));
    ensure(stale == want, || format!("after 601 s: {stale:?}"))
}

const CHECKS: &[(&str, Check)] = &[
    ("W01", check_w01),
    ("W02", check_w02),
    ("W05", check_w05),
    ("S01", check_s01),
    ("S02", check_s02),
    ("S03", check_s03),
    ("S04", check_s04),
    ("S05", check_s05),
    ("A01", check_a01),
    ("A02", check_a02),
    ("A03", check_a03),
    ("A04", check_a04),
    ("A05", check_a05),
    ("A06", check_a06),
    ("A07", check_a07),
    ("A08", check_a08),
    ("A09", check_a09),
    ("A10", check_a10),
    ("V01", check_v01),
    ("V02", check_v02),
    ("V03", check_v03),
    ("V04", check_v04),
    ("V05", check_v05),
    ("V06", check_v06),
    ("V07", check_v07),
    ("V08", check_v08),
    ("M01", check_m01),
    ("M02", check_m02),
    ("W01", check_w01_full_range),
    ("W03", check_w03),
    ("W04", check_w04),
    ("S05", check_s05_slides_and_survives_reconnect),
    ("V07", check_v07_slides_and_survives_reconnect),
    ("A08", check_a08_obfuscated),
    ("V01", check_v01_unannounced_counts),
    ("M01", check_m01_target_is_nu),
    ("R-CM-1", check_r_cm_1),
    ("R-CM-2", check_r_cm_2),
    ("R-CM-3", check_r_cm_3),
    ("R-CM-4", check_r_cm_4),
];

macro_rules! named {
    ($($name:ident => $check:ident;)*) => {
        $( #[test] fn $name() { $check(None).unwrap(); } )*
    };
}

// R: each test's name starts with the requirement id it checks.
named! {
    w01_query_is_type_347 => check_w01;
    w02_reply_is_type_349 => check_w02;
    w05_flow_value_not_0_or_1_is_ignored => check_w05;
    s01_chain_hash_is_our_chain => check_s01;
    s02_no_send_without_active_channel => check_s02;
    s03_query_flow_value_matches_intent => check_s03;
    s04_query_amount_at_least_intended => check_s04;
    s05_at_most_4_queries_and_4_replies_per_10s => check_s05;
    a01_reply_lists_channels_moving_toward_target => check_a01;
    a02_reply_uses_query_amount => check_a02;
    a03_reply_timestamp_is_our_clock => check_a03;
    a04_only_operational_channels => check_a04;
    a05_obfuscation_off_exact_on_bounded => check_a05;
    a06_never_more_than_1000_scids => check_a06;
    a07_more_than_1000_eligible_sampled_uniformly => check_a07;
    a08_never_unannounced_channels => check_a08;
    a09_unsolicited_offer_is_sent => check_a09;
    a10_learned_offers_are_never_forwarded => check_a10;
    v01_message_without_channel_fails_connection => check_v01;
    v02_reply_with_1001_scids_fails_connection => check_v02;
    v03_timestamp_over_600s_ahead_fails_connection => check_v03;
    v04_newest_offer_wins_equal_replaces => check_v04;
    v05_unknown_scids_discarded => check_v05;
    v06_other_chain_ignored_connection_kept => check_v06;
    v07_excess_queries_not_answered => check_v07;
    v08_malformed_message_warning_then_disconnect => check_v08;
    m01_imbalance_is_gini_and_offers_reduce_it => check_m01;
    m02_parallel_channels_count_as_one => check_m02;
    w01_amount_uses_all_64_bits => check_w01_full_range;
    w03_odd_tlv_is_skipped => check_w03;
    w04_scid_is_the_bolt7_u64 => check_w04;
    s05_window_slides_and_survives_a_reconnect => check_s05_slides_and_survives_reconnect;
    v07_window_slides_and_survives_a_reconnect => check_v07_slides_and_survives_reconnect;
    a08_obfuscation_never_adds_unannounced => check_a08_obfuscated;
    v01_unannounced_channel_is_a_channel => check_v01_unannounced_counts;
    m01_target_is_the_nodes_own_nu => check_m01_target_is_nu;
    r_cm_1_closing_channels_do_not_count => check_r_cm_1;
    r_cm_2_never_past_the_target => check_r_cm_2;
    r_cm_3_at_target_neither_source_nor_sink => check_r_cm_3;
    r_cm_4_collect_queries_sources_and_sinks_once => check_r_cm_4;
}

/// Every fault breaks its requirement observably: some check of that requirement fails.
#[test]
fn every_fault_is_caught() {
    // W06's and §4–§5's faults change what foaf-pipe's own ops report (`features`, `htlc`), not
    // the node: the conformance vectors catch them (crates/foaf/tests/conformance_suite.rs).
    for fault in Fault::ALL.iter().filter(|f| f.is_node_fault()) {
        let checks: Vec<_> = CHECKS
            .iter()
            .filter(|(id, _)| *id == fault.requirement())
            .collect();
        assert!(
            !checks.is_empty(),
            "{fault}: no check for {}",
            fault.requirement()
        );
        let caught = checks.iter().any(|(_, c)| c(Some(*fault)).is_err());
        assert!(
            caught,
            "fault {fault} is not caught by the {} checks",
            fault.requirement()
        );
    }
}

/// A closed channel drops the peer's offers; so does a disconnect (default config).
#[test]
fn offers_dropped_on_close_and_disconnect() {
    let mut h = H::new(None);
    h.recv_reply("bob", 1, T0, 100, vec![scid("500x1x0")]);
    h.recv_reply("carol", 1, T0, 100, vec![scid("500x2x0")]);
    assert_eq!(h.node.offers().len(), 2);
    h.node.set_channel(
        Channel {
            state: ChannelState::Closing,
            ..ch("1x2x1", "bob", 1000, 900, true)
        },
        h.now,
    );
    assert_eq!(h.node.offers().len(), 1);
    h.node.disconnect(&"carol".to_string(), h.now);
    assert!(h.node.offers().is_empty());
    // Kept over a disconnect when configured so.
    let mut h = H::with(Config {
        drop_offers_on_disconnect: false,
        ..Config::default()
    });
    h.recv_reply("carol", 1, T0, 100, vec![scid("500x2x0")]);
    h.node.disconnect(&"carol".to_string(), h.now);
    assert_eq!(h.node.offers().len(), 1);
}

/// BOLT #1: an unknown odd message type is ignored, an unknown even one fails the connection.
#[test]
fn unknown_message_types_follow_bolt1() {
    let mut h = H::new(None);
    let e = h
        .node
        .receive(&"alice".to_string(), &[0x80, 0x01, 1, 2], h.now);
    assert!(disconnects(&e).is_empty() && sent(&e).is_empty());
    let e = h
        .node
        .receive(&"alice".to_string(), &[0x80, 0x02, 1, 2], h.now);
    assert_eq!(disconnects(&e), [Reason::UnknownEvenType]);
}

/// Same seed, same inputs: same effects (sampling included).
#[test]
fn deterministic_for_a_seed() {
    let a = big_answer(&mut big(None, 9)).unwrap();
    let b = big_answer(&mut big(None, 9)).unwrap();
    assert_eq!(a, b);
}

/// Found by the invariant proptest: a peer whose state was forgotten (channel moved away,
/// disconnected) must not get a fresh S05 window when it comes back within 10 s.
// R: S05
#[test]
fn s05_limit_survives_losing_and_regaining_the_channel() {
    let mut h = H::new(None);
    assert_eq!(sent(&h.offer("carol", Flow::Push, 1)).len(), 1);
    h.node
        .set_channel(ch("1x3x1", "alice", 1000, 100, true), h.now);
    h.node.disconnect(&"carol".to_string(), h.now);
    h.node
        .set_channel(ch("1x3x1", "carol", 1000, 100, true), h.now);
    h.node.connect("carol".into(), h.now);
    let n: usize = (0..4)
        .map(|_| sent(&h.offer("carol", Flow::Push, 1)).len())
        .sum();
    assert_eq!(n, 3, "5 replies to carol within 10 s");
}

/// A balance-only `set_channels` (payments, rebalances) takes a fast in-place path; a node
/// updated that way must answer every query exactly as a node built with those balances.
// R: A01, M02
#[test]
fn balance_updates_in_place_answer_like_a_fresh_node() {
    let mut moved = H::new(None);
    let balances = [
        ("1x1x1", "alice", 950),
        ("1x2x1", "bob", 50),
        ("1x3x1", "carol", 100),
    ];
    moved
        .node
        .set_channels(balances.map(|(s, p, l)| ch(s, p, 1000, l, true)), T0_AT);
    let mut fresh = H::new(None);
    let mut all: Vec<Channel<String>> = balances.map(|(s, p, l)| ch(s, p, 1000, l, true)).to_vec();
    all.push(ch("1x4x1", "dave", 1000, 900, false));
    // A channel that does not count (closing) makes this update structural: `fresh` takes
    // the slow path and regroups everything from the new balances.
    all.push(Channel {
        state: ChannelState::Closing,
        ..ch("9x9x9", "frank", 1000, 0, true)
    });
    fresh.node.set_channels(all, T0_AT);
    // The comparison is not vacuous: the moved balances change what is listed.
    let mut unmoved = H::new(None);
    let mut differs = false;
    let mut answered = 0;
    for (i, querier) in ["alice", "bob", "carol", "dave"].into_iter().enumerate() {
        for flow in [0u8, 1] {
            for amt in [10, 300, 800] {
                moved.now = moved
                    .now
                    .saturating_add(Duration::from_secs(11 * (i as u64 + 1)));
                fresh.now = moved.now;
                let a = moved.recv_query(querier, flow, amt);
                let b = fresh.recv_query(querier, flow, amt);
                assert_eq!(a, b, "{querier} flow {flow} amt {amt}");
                unmoved.now = moved.now;
                differs |= unmoved.recv_query(querier, flow, amt) != a;
                answered += a
                    .iter()
                    .filter(|e| matches!(e, Effect::Send { .. }))
                    .count();
            }
        }
    }
    assert!(answered > 0 && differs);
}
