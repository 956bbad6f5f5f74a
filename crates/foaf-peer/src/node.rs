//! The node: state and every input method.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use foaf_policy::{
    enforce_reply_invariants, Channel, ChannelSet, DefaultPolicy, Grouping, Offer, PeerKey,
    ReplyPolicy, ReplyRequest,
};
use foaf_wire::{
    ChainHash, DecodeError, DecodeErrorKind, Flow, Message, MessageTypes, QueryFoafBalances,
    ReplyFoafBalances, ShortChannelId, TlvStream, Warning, MAX_REPLY_SCIDS,
};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::config::Config;
use crate::effect::{Effect, Reason, Request};
use crate::fault::{self, Fault};
use crate::offered::OffersMade;
use crate::time::Timestamp;
use crate::window::Window;

/// BOLT #1 `warning` message type (re-exported for the node's users).
pub use foaf_wire::WARNING_TYPE;

/// A stored offer's amount and timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stored {
    amt_msat: u64,
    timestamp: u64,
}

/// A query we accepted but could not answer yet (S05).
#[derive(Debug, Clone, Copy)]
struct Pending {
    flow: Flow,
    amt_msat: u64,
}

/// Everything we keep per peer. Its size is bounded: see [`Footprint`].
#[derive(Debug)]
struct PeerState {
    connected: bool,
    /// Our channels with the peer that are `Normal` (S02, V01).
    active_channels: usize,
    /// Our channels with the peer, any state.
    channels: usize,
    sent_queries: Window,
    sent_replies: Window,
    received_queries: Window,
    deferred: VecDeque<Pending>,
    /// When a collection (R-CM-4) last queried the peer, and [`Node`]'s channel generation
    /// then.
    last_collected: Option<(Timestamp, u64)>,
    /// Offers per scid (u64 form), one slot per flow (`[Receive, Push]`): V04's
    /// (peer, scid, flow_value) key.
    offers: FxHashMap<u64, [Option<Stored>; 2]>,
}

impl PeerState {
    fn new(max: usize) -> Self {
        Self {
            connected: false,
            active_channels: 0,
            channels: 0,
            sent_queries: Window::new(max),
            sent_replies: Window::new(max),
            received_queries: Window::new(max),
            deferred: VecDeque::new(),
            last_collected: None,
            offers: FxHashMap::default(),
        }
    }

    /// Nothing worth keeping: no channel, no connection, no offers, and no send or query
    /// recent enough to still count against a rate limit (forgetting it would let a peer that
    /// reconnects get more than S05/V07 allow).
    fn is_idle(&self, now: Timestamp, window: Duration) -> bool {
        !self.connected
            && self.channels == 0
            && self.offers.is_empty()
            && self.sent_queries.is_stale(now, window)
            && self.sent_replies.is_stale(now, window)
            && self.received_queries.is_stale(now, window)
    }
}

/// How much the node holds for one peer. The bound, whatever the peer sends:
/// `offer_slots ≤ 2 × known_scids` (one per scid and flow of our known graph, V04/V05),
/// `deferred ≤ max_deferred_replies`, `window_entries ≤ 3 × rate_limit.max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Stored offers (scid × flow).
    pub offer_slots: usize,
    /// Scids with at least one stored offer (hash-map entries).
    pub offer_entries: usize,
    /// Deferred answers.
    pub deferred: usize,
    /// Timestamps held by the three rate-limit windows.
    pub window_entries: usize,
}

/// A sans-IO BOLT #14 node (crate docs).
pub struct Node<P: PeerKey> {
    config: Config,
    // Send: foaf-ldk drives the node from LDK's (Tokio) threads behind a mutex.
    policy: Box<dyn ReplyPolicy<P> + Send>,
    rng: ChaCha20Rng,
    now: Timestamp,
    /// Known public channels (V05), as u64.
    graph: FxHashSet<u64>,
    /// Our channels by scid.
    channels: BTreeMap<ShortChannelId, Channel<P>>,
    /// The same, grouped by peer with connectivity, for the policy.
    set: ChannelSet<P>,
    /// Scids of our announced channels (A08, A10; also known for V05).
    own_announced: FxHashSet<u64>,
    /// The same, sorted (for the reply guard's merge walk).
    own_announced_sorted: Vec<u64>,
    /// Per-peer state. A hash map for O(1) lookups on the hot path (every received message);
    /// every output that iterates it sorts first, so its order never leaks.
    peers: FxHashMap<P, PeerState>,
    /// Extension records the transport attaches to every reply we send (foaf-ldk: the
    /// `intercept_aliases` record, docs/bolt14.md §4.2.1). Empty by default.
    reply_tlvs: TlvStream,
    /// The offers we made, per own channel and flow (R-REB-6; at most 2 × our channels).
    offers_made: OffersMade,
    /// Bumped whenever one of our channels changes (R-CM-4: query again when balances moved).
    channels_generation: u64,
}

impl<P: PeerKey> Node<P> {
    /// A node with the default reply policy (A05 obfuscation from `config.obfuscation`).
    pub fn new(config: Config, seed: u64) -> Self {
        let mut policy = DefaultPolicy::new();
        policy.obfuscation = config.obfuscation;
        match config.fault {
            Some(Fault::M02ParallelSeparately) => policy.grouping = Grouping::PerChannel,
            Some(Fault::A06Over1000Scids) | Some(Fault::A07FirstNotUniform) => {
                policy.max_scids = usize::MAX
            }
            _ => {}
        }
        Self::with_policy(config, seed, Box::new(policy))
    }

    /// A node with an operator's own reply policy. The node still enforces A06, A08 and A10
    /// on whatever it returns.
    pub fn with_policy(config: Config, seed: u64, policy: Box<dyn ReplyPolicy<P> + Send>) -> Self {
        Self {
            config,
            policy,
            rng: ChaCha20Rng::seed_from_u64(seed),
            now: Timestamp::EPOCH,
            graph: FxHashSet::default(),
            channels: BTreeMap::new(),
            set: ChannelSet::default(),
            own_announced: FxHashSet::default(),
            own_announced_sorted: Vec::new(),
            peers: FxHashMap::default(),
            reply_tlvs: TlvStream::new(),
            offers_made: OffersMade::default(),
            channels_generation: 0,
        }
    }

    /// Sets the extension records attached to every reply from now on (odd types only, or
    /// peers that do not know them fail the connection). A reply that would exceed BOLT #1's
    /// size limit with them is not sent (logged), as for any encode failure.
    pub fn set_reply_tlvs(&mut self, tlvs: TlvStream) {
        self.reply_tlvs = tlvs;
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The node's clock: the largest `now` it was given (time never goes backwards).
    pub fn now(&self) -> Timestamp {
        self.now
    }

    fn advance(&mut self, now: Timestamp) -> Timestamp {
        self.now = self.now.max(now);
        self.now
    }

    /// [`Node::now`] after moving the clock to `now` (never backwards), for the node's other
    /// modules.
    pub(crate) fn advance_clock(&mut self, now: Timestamp) -> Timestamp {
        self.advance(now)
    }

    /// A counter bumped by every change of our channels (R-CM-4).
    pub(crate) fn channels_generation(&self) -> u64 {
        self.channels_generation
    }

    /// When a collection last queried `peer` (R-CM-4), with the channel generation then.
    pub(crate) fn last_collected(&self, peer: &P) -> Option<(Timestamp, u64)> {
        self.peers.get(peer).and_then(|st| st.last_collected)
    }

    pub(crate) fn set_last_collected(&mut self, peer: &P, at: Timestamp, generation: u64) {
        if let Some(st) = self.peers.get_mut(peer) {
            st.last_collected = Some((at, generation));
        }
    }

    fn fault(&self, f: Fault) -> bool {
        self.config.fault == Some(f)
    }

    // ----- state setters -------------------------------------------------------------------

    /// Replaces the known public channel graph (V05). Stored offers for scids no longer known
    /// are dropped, keeping the memory bound.
    pub fn set_graph(&mut self, scids: impl IntoIterator<Item = ShortChannelId>) {
        self.graph = scids.into_iter().map(ShortChannelId::to_u64).collect();
        let (graph, own) = (&self.graph, &self.own_announced);
        if self.config.fault != Some(Fault::V05KeepUnknownScids) {
            for st in self.peers.values_mut() {
                st.offers
                    .retain(|s, _| graph.contains(s) || own.contains(s));
            }
        }
    }

    /// Number of known scids: the graph and our own announced channels (the V05 set).
    pub fn known_scids(&self) -> usize {
        self.graph.len()
            + self
                .own_announced
                .iter()
                .filter(|s| !self.graph.contains(s))
                .count()
    }

    /// Whether `scid` is in the V05 set (graph or our own announced channels).
    pub fn is_known(&self, scid: ShortChannelId) -> bool {
        let s = scid.to_u64();
        self.graph.contains(&s) || self.own_announced.contains(&s)
    }

    /// Adds or replaces (same scid) one of our channels. When a peer is left with no active
    /// channel (its channel closed), its offers and deferred answers are dropped.
    pub fn set_channel(&mut self, ch: Channel<P>, now: Timestamp) -> Vec<Effect<P>> {
        self.set_channels([ch], now)
    }

    /// [`Node::set_channel`] for many channels at once (one rebuild of the indexes).
    pub fn set_channels(
        &mut self,
        chans: impl IntoIterator<Item = Channel<P>>,
        now: Timestamp,
    ) -> Vec<Effect<P>> {
        self.advance(now);
        let chans: Vec<Channel<P>> = chans.into_iter().collect();
        if chans
            .iter()
            .any(|ch| self.channels.get(&ch.scid) != Some(ch))
        {
            self.channels_generation += 1;
        }
        let mut touched = std::collections::BTreeSet::new();
        // Only balances moved (the common case: payments, rebalances): update in place.
        // Anything else (a new or closed channel, a new peer, announcement, capacity or state)
        // rebuilds the grouped set and the V05 set from scratch.
        let balance_only = chans.iter().all(|ch| {
            self.channels.get(&ch.scid).is_some_and(|old| {
                (&old.peer, old.capacity_msat, old.announced, old.state)
                    == (&ch.peer, ch.capacity_msat, ch.announced, ch.state)
            })
        });
        if balance_only {
            for ch in chans {
                let updated = self.set.set_local(&ch.peer, ch.scid, ch.local_msat);
                debug_assert!(updated, "every channel of ours is in the set");
                touched.insert(ch.peer.clone());
                self.channels.insert(ch.scid, ch);
            }
        } else {
            self.rebuild_channels(chans, &mut touched);
        }
        let mut effects = Vec::new();
        for peer in touched {
            let (active, all) = match self.set.group_of(&peer) {
                Some(g) => {
                    let members = self.set.members(&self.set.groups()[g]);
                    let counts = |c: &&Channel<P>| {
                        c.is_active()
                            && (c.announced
                                || self.config.fault != Some(Fault::V01UnannouncedIsNoChannel))
                    };
                    (members.iter().filter(counts).count(), members.len())
                }
                None => (0, 0),
            };
            let max = self.config.rate_limit.max;
            let st = self
                .peers
                .entry(peer.clone())
                .or_insert_with(|| PeerState::new(max));
            st.active_channels = active;
            st.channels = all;
            if active == 0 && (!st.offers.is_empty() || !st.deferred.is_empty()) {
                st.offers.clear();
                st.deferred.clear();
                effects.push(Effect::Log(format!(
                    "{peer:?} has no active channel left: its offers are dropped"
                )));
            }
            if st.is_idle(self.now, self.config.rate_limit.window()) {
                self.peers.remove(&peer);
            }
        }
        effects
    }

    /// The slow path of [`Node::set_channels`]: apply `chans`, then regroup every channel and
    /// rebuild the V05 set of our announced channels.
    fn rebuild_channels(
        &mut self,
        chans: Vec<Channel<P>>,
        touched: &mut std::collections::BTreeSet<P>,
    ) {
        for ch in chans {
            if let Some(old) = self.channels.get(&ch.scid) {
                touched.insert(old.peer.clone());
            }
            touched.insert(ch.peer.clone());
            self.channels.insert(ch.scid, ch);
        }
        self.set = ChannelSet::new(self.channels.values().cloned().collect());
        let channels = &self.channels;
        self.offers_made
            .retain_channels(|s| channels.contains_key(&s));
        for peer in self
            .peers
            .iter()
            .filter(|(_, st)| st.connected)
            .map(|(p, _)| p)
        {
            self.set.set_connected(peer, true);
        }
        // `channels` is a BTreeMap by scid, whose order is the u64 order: already sorted.
        self.own_announced_sorted = self
            .channels
            .values()
            .filter(|c| c.announced)
            .map(|c| c.scid.to_u64())
            .collect();
        let was_announced = std::mem::replace(
            &mut self.own_announced,
            self.own_announced_sorted.iter().copied().collect(),
        );
        // V05: a channel of ours that is no longer announced leaves the known set, so offers
        // held for it are dropped, as `set_graph` does (found by fuzzing: peer_node).
        let shrank = was_announced
            .iter()
            .any(|s| !self.own_announced.contains(s) && !self.graph.contains(s));
        if shrank && self.config.fault != Some(Fault::V05KeepUnknownScids) {
            let (graph, own) = (&self.graph, &self.own_announced);
            for st in self.peers.values_mut() {
                st.offers
                    .retain(|s, _| graph.contains(s) || own.contains(s));
            }
        }
    }

    /// Panics unless the grouped channel set the reply policy reads equals one rebuilt from
    /// our channels: the balance-only fast path of [`Node::set_channels`] must never drift.
    /// For the fuzz targets (O(n) per call).
    #[cfg(feature = "fuzzing")]
    pub fn assert_consistent(&self) {
        let mut fresh = ChannelSet::new(self.channels.values().cloned().collect());
        for (peer, st) in &self.peers {
            if st.connected {
                fresh.set_connected(peer, true);
            }
        }
        assert_eq!(self.set.channels(), fresh.channels(), "channel set drifted");
        assert_eq!(self.set.groups(), fresh.groups(), "group totals drifted");
        assert_eq!(self.set.nu(), fresh.nu(), "ν drifted");
    }

    /// Our channels, by scid.
    pub fn channels(&self) -> impl Iterator<Item = &Channel<P>> {
        self.channels.values()
    }

    /// The transport to `peer` came up.
    pub fn connect(&mut self, peer: P, now: Timestamp) -> Vec<Effect<P>> {
        self.advance(now);
        self.set.set_connected(&peer, true);
        let max = self.config.rate_limit.max;
        self.peers
            .entry(peer)
            .or_insert_with(|| PeerState::new(max))
            .connected = true;
        Vec::new()
    }

    /// The transport to `peer` went down: deferred answers are dropped, and its offers too
    /// when `config.drop_offers_on_disconnect`.
    pub fn disconnect(&mut self, peer: &P, now: Timestamp) -> Vec<Effect<P>> {
        self.advance(now);
        self.mark_disconnected(peer);
        Vec::new()
    }

    fn mark_disconnected(&mut self, peer: &P) {
        let drop_offers = self.config.drop_offers_on_disconnect;
        let max = self.config.rate_limit.max;
        let (forget_sends, forget_queries) = (
            self.fault(Fault::S05ReconnectResets),
            self.fault(Fault::V07ReconnectResets),
        );
        if let Some(st) = self.peers.get_mut(peer) {
            if forget_sends {
                st.sent_queries = Window::new(max);
                st.sent_replies = Window::new(max);
            }
            if forget_queries {
                st.received_queries = Window::new(max);
            }
            if st.connected {
                self.set.set_connected(peer, false);
            }
            st.connected = false;
            st.deferred.clear();
            if drop_offers {
                st.offers.clear();
            }
            if st.is_idle(self.now, self.config.rate_limit.window()) {
                self.peers.remove(peer);
            }
        }
    }

    /// Whether the transport to `peer` is up.
    pub fn is_connected(&self, peer: &P) -> bool {
        self.peers.get(peer).is_some_and(|s| s.connected)
    }

    /// Whether we have an active (`Normal`) channel with `peer` (S02, V01).
    pub fn has_active_channel(&self, peer: &P) -> bool {
        self.peers.get(peer).is_some_and(|s| s.active_channels > 0)
    }

    // ----- offers ----------------------------------------------------------------------------

    /// Every offer we hold, sorted by (peer, scid, flow).
    pub fn offers(&self) -> Vec<Offer<P>> {
        let mut out = Vec::new();
        let mut peers: Vec<(&P, &PeerState)> = self.peers.iter().collect();
        peers.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (peer, st) in peers {
            let mut scids: Vec<(&u64, &[Option<Stored>; 2])> = st.offers.iter().collect();
            scids.sort_unstable_by_key(|(s, _)| **s);
            for (scid, slots) in scids {
                for (flow, slot) in [Flow::Receive, Flow::Push].into_iter().zip(slots) {
                    if let Some(s) = slot {
                        out.push(Offer {
                            peer: peer.clone(),
                            scid: ShortChannelId::from_u64(*scid),
                            flow,
                            amt_msat: s.amt_msat,
                            timestamp: s.timestamp,
                        });
                    }
                }
            }
        }
        out
    }

    /// Drops every offer any peer made for `scid`; returns how many (R-REB-8,
    /// [`Node::rebalance_failed`]).
    pub(crate) fn drop_offers_for(&mut self, scid: ShortChannelId) -> usize {
        let s = scid.to_u64();
        self.peers
            .values_mut()
            .filter_map(|st| st.offers.remove(&s))
            .map(|slots| slots.iter().flatten().count())
            .sum()
    }

    /// How much we hold for `peer` (`None`: nothing at all).
    pub fn footprint(&self, peer: &P) -> Option<Footprint> {
        self.peers.get(peer).map(|st| Footprint {
            offer_slots: st.offers.values().map(|s| s.iter().flatten().count()).sum(),
            offer_entries: st.offers.len(),
            deferred: st.deferred.len(),
            window_entries: st.sent_queries.len()
                + st.sent_replies.len()
                + st.received_queries.len(),
        })
    }

    /// Number of peers we hold state for.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    // ----- receiving -------------------------------------------------------------------------

    /// A whole BOLT #1 message arrived from `peer`. A message proves the transport is up, so a
    /// peer not marked connected becomes connected.
    pub fn receive(&mut self, peer: &P, bytes: &[u8], now: Timestamp) -> Vec<Effect<P>> {
        let decoded = Message::decode_with(bytes, self.config.message_types);
        self.receive_decoded(peer, decoded, now)
    }

    /// [`Node::receive`] for a transport that already decoded the bytes (with this node's
    /// `message_types`), so they are decoded once: foaf-ldk decodes in its LDK handler, which
    /// logs the result against the peer. A decode error is judged here, as for raw bytes (V08).
    pub fn receive_decoded(
        &mut self,
        peer: &P,
        decoded: Result<Message, DecodeError>,
        now: Timestamp,
    ) -> Vec<Effect<P>> {
        let now = self.advance(now);
        let msg = match decoded {
            Ok(m) => m,
            Err(e) => return self.on_malformed(peer, &e),
        };
        if self.fault(Fault::W03RejectOddTlv) && fault::has_tlvs(&msg) {
            return self.fail(peer, Reason::Malformed);
        }
        self.ensure_connected(peer);
        match msg {
            Message::Query(q) => self.on_query(peer, q, now),
            Message::Reply(r) => self.on_reply(peer, r, now),
            // BOLT #1: "it's OK to be odd": unknown odd types are ignored, unknown even types
            // fail the connection. A deployment's transport handles BOLT #1's own messages
            // (init, ping, ...) and hands us only what it does not know.
            Message::Unknown(u) if u.msg_type % 2 == 1 => vec![Effect::Ignored {
                peer: peer.clone(),
                reason: Reason::UnknownOddType,
            }],
            Message::Unknown(_) => self.fail(peer, Reason::UnknownEvenType),
        }
    }

    fn ensure_connected(&mut self, peer: &P) {
        if let Some(st) = self.peers.get_mut(peer) {
            if st.connected {
                return;
            }
            st.connected = true;
        } else {
            let mut st = PeerState::new(self.config.rate_limit.max);
            st.connected = true;
            self.peers.insert(peer.clone(), st);
        }
        self.set.set_connected(peer, true);
    }

    /// V08: every decode failure is one action, decided in this one `match`.
    fn on_malformed(&mut self, peer: &P, e: &DecodeError) -> Vec<Effect<P>> {
        let fail = match e.kind {
            DecodeErrorKind::Truncated { .. }
            | DecodeErrorKind::NonCanonicalBigSize
            | DecodeErrorKind::NonMinimalTruncatedInt
            | DecodeErrorKind::TlvTypeNotIncreasing { .. }
            | DecodeErrorKind::UnknownEvenTlvType { .. }
            | DecodeErrorKind::InvalidTlvValue { .. }
            | DecodeErrorKind::MessageTooLong { .. } => !self.fault(Fault::V08IgnoreMalformed),
        };
        if !fail {
            return vec![Effect::Ignored {
                peer: peer.clone(),
                reason: Reason::Malformed,
            }];
        }
        let warn = self.config.warn_before_disconnect;
        let mut effects = Vec::with_capacity(2);
        if warn {
            effects.push(Effect::Send {
                peer: peer.clone(),
                bytes: Warning::for_connection(e.code()).encode(),
            });
        }
        effects.push(Effect::Disconnect {
            peer: peer.clone(),
            reason: Reason::Malformed,
        });
        self.mark_disconnected(peer);
        effects
    }

    fn fail(&mut self, peer: &P, reason: Reason) -> Vec<Effect<P>> {
        self.mark_disconnected(peer);
        vec![Effect::Disconnect {
            peer: peer.clone(),
            reason,
        }]
    }

    fn ignored(peer: &P, reason: Reason) -> Vec<Effect<P>> {
        vec![Effect::Ignored {
            peer: peer.clone(),
            reason,
        }]
    }

    /// The flow of a received message (W05), `None` to ignore it.
    fn received_flow(&self, flow_value: u8) -> Option<Flow> {
        match Flow::from_byte(flow_value) {
            Some(f) => Some(f),
            None if self.fault(Fault::W05AcceptBadFlowValue) => Some(Flow::Push),
            None => None,
        }
    }

    fn on_query(&mut self, peer: &P, q: QueryFoafBalances, now: Timestamp) -> Vec<Effect<P>> {
        let rl = self.config.rate_limit;
        let accept_any = self.fault(Fault::V01AcceptWithoutChannel);
        let answer_all = self.fault(Fault::V07AnswerEveryQuery);
        let unlimited = self.fault(Fault::S05NoSendRateLimit);
        let any_chain = self.fault(Fault::V06AnswerOtherChain);
        let fixed = self.fault(Fault::V07FixedWindow);
        let fixed_sends = self.fault(Fault::S05FixedWindow);
        if self.fault(Fault::W01LargeAmountMalformed) && q.amt_to_rebalance > i64::MAX as u64 {
            return self.fail(peer, Reason::Malformed);
        }
        let flow = self.received_flow(q.flow_value);
        // One lookup for the whole hot path (receive made sure the entry exists).
        // V01
        if !self.has_active_channel(peer) && !accept_any {
            return self.fail(peer, Reason::NoChannel);
        }
        let Some(st) = self.peers.get_mut(peer) else {
            return Vec::new();
        };
        // V06
        if q.chain_hash != self.config.chain_hash && !any_chain {
            return Self::ignored(peer, Reason::UnknownChain);
        }
        // W05
        let Some(flow) = flow else {
            return Self::ignored(peer, Reason::InvalidFlowValue);
        };
        // V07: at most `max` queries answered per window; the excess is not answered.
        if fixed {
            fault::restart_fixed_window(&mut st.received_queries, now, rl.max, rl.window());
        }
        if fixed_sends {
            fault::restart_fixed_window(&mut st.sent_replies, now, rl.max, rl.window());
        }
        if !st.received_queries.allow(now, rl.max, rl.window()) && !answer_all {
            return Self::ignored(peer, Reason::RateLimited);
        }
        let pending = Pending {
            flow,
            amt_msat: q.amt_to_rebalance,
        };
        // S05 on our replies: answer now, or defer to a later tick.
        if unlimited || st.sent_replies.allow(now, rl.max, rl.window()) {
            return self.send_reply(peer, pending, now);
        }
        if st.deferred.len() < self.config.max_deferred_replies {
            st.deferred.push_back(pending);
            vec![Effect::Deferred { peer: peer.clone() }]
        } else {
            Self::ignored(peer, Reason::RateLimited)
        }
    }

    fn on_reply(&mut self, peer: &P, mut r: ReplyFoafBalances, now: Timestamp) -> Vec<Effect<P>> {
        if self.fault(Fault::W04ReversedScidBytes) {
            for s in &mut r.short_channel_ids {
                *s = ShortChannelId::from_u64(s.to_u64().swap_bytes());
            }
        }
        // V01
        if !self.has_active_channel(peer) && !self.fault(Fault::V01AcceptWithoutChannel) {
            return self.fail(peer, Reason::NoChannel);
        }
        // V02
        if r.short_channel_ids.len() > MAX_REPLY_SCIDS && !self.fault(Fault::V02AcceptOver1000) {
            return self.fail(peer, Reason::TooManyScids);
        }
        // V03
        // Compared exactly: whole seconds on the wire against our sub-second clock.
        let latest = now.saturating_add(Duration::from_secs(self.config.future_tolerance_secs));
        if Timestamp::from_secs(r.timestamp) > latest
            && !self.fault(Fault::V03AcceptFutureTimestamp)
        {
            return self.fail(peer, Reason::TimestampInFuture);
        }
        // V06
        if r.chain_hash != self.config.chain_hash && !self.fault(Fault::V06AnswerOtherChain) {
            return Self::ignored(peer, Reason::UnknownChain);
        }
        // W05
        let Some(flow) = self.received_flow(r.flow_value) else {
            return Self::ignored(peer, Reason::InvalidFlowValue);
        };
        let keep_unknown = self.fault(Fault::V05KeepUnknownScids);
        let older_wins = self.fault(Fault::V04OlderWins);
        let new = Stored {
            amt_msat: r.amt_to_rebalance,
            timestamp: r.timestamp,
        };
        let slot = flow as usize;
        let Some(st) = self.peers.get_mut(peer) else {
            return Vec::new();
        };
        for scid in &r.short_channel_ids {
            let s = scid.to_u64();
            // V05: unknown scids are discarded.
            let known = self.graph.contains(&s) || self.own_announced.contains(&s);
            if !known && !keep_unknown {
                continue;
            }
            let entry = &mut st.offers.entry(s).or_insert([None, None])[slot];
            // V04: per (peer, scid, flow) the newest wins; an equal timestamp replaces.
            let replace = match entry {
                None => true,
                Some(old) if older_wins => new.timestamp <= old.timestamp,
                Some(old) => new.timestamp >= old.timestamp,
            };
            if replace {
                *entry = Some(new);
            }
        }
        Vec::new()
    }

    // ----- sending ---------------------------------------------------------------------------

    /// Checks S02 (and the transport) for a send to `peer`.
    /// May we send a message of kind `what` to `peer` now: connected, an active channel (S02),
    /// and room in that kind's S05 window (the window records the send when it allows it).
    fn admit_send(&mut self, peer: &P, what: Request, now: Timestamp) -> Result<(), Reason> {
        self.can_send(peer)?;
        if self.fault(Fault::S05NoSendRateLimit) {
            return Ok(());
        }
        let fixed = self.fault(Fault::S05FixedWindow);
        let rl = self.config.rate_limit;
        let st = self.peers.get_mut(peer).expect("checked by can_send");
        let window = match what {
            Request::Query => &mut st.sent_queries,
            Request::Offer => &mut st.sent_replies,
        };
        if fixed {
            fault::restart_fixed_window(window, now, rl.max, rl.window());
        }
        if window.allow(now, rl.max, rl.window()) {
            Ok(())
        } else {
            Err(Reason::RateLimited)
        }
    }

    fn can_send(&self, peer: &P) -> Result<(), Reason> {
        let Some(st) = self.peers.get(peer) else {
            return Err(Reason::NotConnected);
        };
        if !st.connected {
            return Err(Reason::NotConnected);
        }
        if st.active_channels == 0 && !self.fault(Fault::S02SendWithoutChannel) {
            return Err(Reason::NoChannel);
        }
        Ok(())
    }

    fn chain_for_send(&self) -> ChainHash {
        let mut h = self.config.chain_hash;
        if self.fault(Fault::S01WrongChainHash) {
            h.0[0] ^= 0xff;
        }
        h
    }

    fn types_for_send(&self) -> MessageTypes {
        let mut t = self.config.message_types;
        match self.config.fault {
            Some(Fault::W01WrongQueryType) => t.query = 32769,
            Some(Fault::W02WrongReplyType) => t.reply = 32771,
            _ => {}
        }
        t
    }

    /// Asks us to send a `query_foaf_balances` (S01–S05): `flow` Push means we intend to push
    /// funds to `peer` over our channel with it (S03); `amt_msat` the intended amount (S04).
    pub fn query(&mut self, peer: &P, flow: Flow, amt_msat: u64, now: Timestamp) -> Vec<Effect<P>> {
        let now = self.advance(now);
        let refuse = |reason| {
            vec![Effect::Refused {
                op: Request::Query,
                peer: peer.clone(),
                reason,
            }]
        };
        if let Err(reason) = self.admit_send(peer, Request::Query, now) {
            return refuse(reason);
        }
        let flow = if self.fault(Fault::S03InvertedQueryFlow) {
            flow.reverse()
        } else {
            flow
        };
        let amt_msat = if self.fault(Fault::S04QueryAmountTooLow) {
            amt_msat.saturating_sub(1)
        } else {
            amt_msat
        };
        let msg = Message::Query(QueryFoafBalances {
            chain_hash: self.chain_for_send(),
            flow_value: flow as u8,
            amt_to_rebalance: amt_msat,
            tlvs: TlvStream::new(),
        });
        match msg.encode_with(self.types_for_send()) {
            Ok(bytes) => vec![Effect::Send {
                peer: peer.clone(),
                bytes,
            }],
            Err(_) => refuse(Reason::EncodeFailed),
        }
    }

    /// Asks us to send an unsolicited `reply_foaf_balances` (A09) offering to move `amt_msat`
    /// in direction `flow` (chosen like an answer to a query from `peer` with that flow).
    pub fn offer(&mut self, peer: &P, flow: Flow, amt_msat: u64, now: Timestamp) -> Vec<Effect<P>> {
        let now = self.advance(now);
        let refuse = |reason| {
            vec![Effect::Refused {
                op: Request::Offer,
                peer: peer.clone(),
                reason,
            }]
        };
        if self.fault(Fault::A09RefuseUnsolicited) {
            return refuse(Reason::Unsupported);
        }
        if let Err(reason) = self.admit_send(peer, Request::Offer, now) {
            return refuse(reason);
        }
        self.send_reply(peer, Pending { flow, amt_msat }, now)
    }

    /// The clock moved to `now`: deferred answers go out as far as S05 allows, peers in order.
    pub fn tick(&mut self, now: Timestamp) -> Vec<Effect<P>> {
        let now = self.advance(now);
        let rl = self.config.rate_limit;
        let mut due: Vec<(P, Pending)> = Vec::new();
        // Peers with deferred answers, in peer order (determinism).
        let mut waiting: Vec<&P> = self
            .peers
            .iter()
            .filter(|(_, st)| !st.deferred.is_empty())
            .map(|(p, _)| p)
            .collect();
        waiting.sort_unstable();
        let waiting: Vec<P> = waiting.into_iter().cloned().collect();
        for peer in waiting {
            let st = self.peers.get_mut(&peer).expect("listed above");
            while !st.deferred.is_empty() {
                if !(st.connected && st.active_channels > 0) {
                    st.deferred.clear();
                    break;
                }
                if !st.sent_replies.allow(now, rl.max, rl.window()) {
                    break;
                }
                let p = st.deferred.pop_front().expect("not empty");
                due.push((peer.clone(), p));
            }
        }
        // Forget peers with nothing left worth keeping.
        self.peers.retain(|_, st| !st.is_idle(now, rl.window()));
        let mut effects = Vec::new();
        for (peer, p) in due {
            effects.extend(self.send_reply(&peer, p, now));
        }
        effects
    }

    /// Builds and sends a reply to `peer` (the S05 slot is already taken).
    fn send_reply(&mut self, peer: &P, p: Pending, now: Timestamp) -> Vec<Effect<P>> {
        let fault = self.config.fault;
        let scids = self.reply_scids(peer, p.flow, p.amt_msat);
        let amt = if fault == Some(Fault::A02LowerAmount) {
            p.amt_msat / 2
        } else {
            p.amt_msat
        };
        // The wire carries whole seconds.
        let timestamp = if fault == Some(Fault::A03ZeroTimestamp) {
            0
        } else {
            now.as_secs()
        };
        let msg = Message::Reply(ReplyFoafBalances {
            chain_hash: self.chain_for_send(),
            flow_value: p.flow as u8,
            timestamp,
            amt_to_rebalance: amt,
            short_channel_ids: scids,
            tlvs: self.reply_tlvs.clone(),
        });
        match msg.encode_with(self.types_for_send()) {
            Ok(bytes) => {
                // R-REB-6: remember what we offered, as sent.
                if let Message::Reply(r) = &msg {
                    // Our announced channels (a hash set, a subset of `channels`) first:
                    // they are what a reply lists.
                    let (own, channels) = (&self.own_announced, &self.channels);
                    self.offers_made
                        .record(p.flow, amt, timestamp, &r.short_channel_ids, |s| {
                            own.contains(&s.to_u64()) || channels.contains_key(&s)
                        });
                }
                vec![Effect::Send {
                    peer: peer.clone(),
                    bytes,
                }]
            }
            Err(e) => vec![Effect::Log(format!("reply to {peer:?} not sent: {e}"))],
        }
    }

    // ----- offers we made (R-REB-6) ----------------------------------------------------------

    /// When we offered the move of a fee-free HTLC in on `in_scid` and out on `out_scid` (a
    /// reply naming `out_scid` as Push or `in_scid` as Receive) with at least `amount_msat` of
    /// it not yet forwarded: that reply's timestamp (unix seconds), for
    /// [`foaf_policy::FeeFreeForward::offered_at`]; `None` when no offer we made covers it.
    /// The hop check (`HopConfig::require_offer`, off by default) then judges freshness.
    /// After forwarding such an HTLC, call [`Node::note_fee_free_forward`] so that what is
    /// forwarded adds up against the offer (R-REB-6: "MUST NOT forward more than it offered").
    pub fn offered_at(
        &self,
        in_scid: ShortChannelId,
        out_scid: ShortChannelId,
        amount_msat: u64,
    ) -> Option<u64> {
        let amount = if self.fault(Fault::RReb6MoreThanOffered) {
            0
        } else {
            amount_msat
        };
        self.offers_made
            .covering(in_scid, out_scid, amount)
            .map(|o| o.timestamp)
    }

    /// We forwarded a fee-free HTLC of `amount_msat` in on `in_scid`, out on `out_scid`: it
    /// counts against the offer [`Node::offered_at`] named for it (R-REB-6).
    pub fn note_fee_free_forward(
        &mut self,
        in_scid: ShortChannelId,
        out_scid: ShortChannelId,
        amount_msat: u64,
    ) {
        self.offers_made.use_offer(in_scid, out_scid, amount_msat);
    }

    /// The offers we made (R-REB-6), one per own channel and flow.
    pub fn offers_made(&self) -> &OffersMade {
        &self.offers_made
    }

    /// The scids of a reply to `peer`: the policy's choice, then the A06/A08/A10 guard.
    fn reply_scids(&mut self, peer: &P, flow: Flow, amt_msat: u64) -> Vec<ShortChannelId> {
        let fault = self.config.fault;
        let peers = &self.peers;
        let connected = |p: &P| peers.get(p).is_some_and(|st| st.connected);
        let altered = fault::reply_view(fault, self.channels.values().cloned(), connected);
        let req = ReplyRequest {
            channels: altered.as_ref().unwrap_or(&self.set),
            querier: peer,
            flow: if self.fault(Fault::A01WrongDirection) {
                flow.reverse()
            } else {
                flow
            },
            amt_msat,
        };
        let mut scids = match fault::faulty_eligible(fault, &req) {
            Some(s) => s,
            None => self.policy.reply(&req, &mut self.rng).scids,
        };
        if self.config.obfuscation.is_some() {
            fault::obfuscate_with_unannounced(fault, &mut scids, self.set.channels());
        }
        let learned = || {
            let others = self.peers.iter().filter(|(p, _)| *p != peer);
            others
                .flat_map(|(_, st)| st.offers.keys().copied())
                .collect()
        };
        let own = &self.own_announced;
        let is_own = |s: u64| own.contains(&s);
        fault::tamper_reply(fault, &mut scids, self.set.channels(), learned, is_own);
        if fault::bypasses_reply_guard(fault) {
            scids.sort_unstable();
            scids.dedup();
            return scids;
        }
        enforce_reply_invariants(scids, &self.own_announced_sorted, &mut self.rng)
    }
}
