//! LDK's custom-message traits on top of a [`FoafCore`].
//!
//! | LDK calls | we do |
//! |---|---|
//! | `CustomMessageReader::read` (our two types) | copy the bytes into a [`FoafMessage`] (bounded); other types are not ours (`Ok(None)`) |
//! | `handle_custom_message` | decode once, hand the result to the core (`Input::Receive`); the core's sends are queued, its disconnects become LDK `HandleError` events |
//! | `peer_connected` / `peer_disconnected` | `Input::Connect` / `Input::Disconnect` |
//! | `get_and_clear_pending_msg` | hand the queued sends to LDK (and log each one) |
//! | `provided_init_features` | our experimental feature bit (W06), if configured |
//!
//! The core's [`Effect`]s are carried out as they are: the core alone decides what fails a
//! connection (V01, V08, ...), the handler only does it. A disconnect asked for by the core is emitted as a `HandleError` with
//! `DisconnectPeerWithWarning` through LDK's send-only handler slot, so `PeerManager` writes a
//! BOLT #1 `warning` (best effort) before closing the socket (V08 "send a warning first where the
//! transport allows"). Returning `Err` from `handle_custom_message` would close the connection too,
//! but LDK drops the warning on that path. Until `PeerManager` processes the event, further
//! messages from that peer are ignored, so nothing is answered on a failed connection.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use foaf_peer::{Effect, Request, Timestamp};
use foaf_policy::{Channel, ChannelState, Offer};
use foaf_wire::{DecodeError, Flow, Message, MessageTypes, ShortChannelId};
use lightning::bitcoin::secp256k1::PublicKey;
use lightning::io;
use lightning::ln::msgs::SendOnlyMessageHandler;
use lightning::ln::msgs::{
    self, BaseMessageHandler, ErrorAction, Init, LightningError, MessageSendEvent, WarningMessage,
};
use lightning::ln::peer_handler::CustomMessageHandler;
use lightning::ln::types::ChannelId;
use lightning::ln::wire::CustomMessageReader;
use lightning::types::features::{InitFeatures, NodeFeatures};
use lightning::util::ser::LengthLimitedRead;

use crate::message::FoafMessage;
use crate::quiet::IgnoredLog;
use crate::routing::OwnOffers;
use crate::source::ChannelSource;
use crate::state_machine::{FeeFreeMove, FoafCore, Input};

/// Sets the odd bit of `bit`'s pair: LDK takes bits below 256 as BOLT #9 bits and from 256 up as
/// custom (bLIP 2) bits, through two different setters. (A macro: LDK's feature contexts are
/// sealed, so no generic function can name them.)
macro_rules! set_optional {
    ($f:expr, $bit:expr) => {
        if $bit < 256 {
            $f.set_optional_feature_bit($bit)
        } else {
            $f.set_optional_custom_bit($bit)
        }
    };
}
/// The default `option_balance_sharing` feature bit (optional, odd) we advertise.
///
/// The draft asks for 20/21, but BOLT #9 assigns those to `option_anchor_outputs` (W06).
/// `docs/bolt14.md` §2.1 pins an experimental pair, 214/215, until one is assigned; we set the
/// odd bit only. Configurable: see [`AdapterConfig::feature_bit`].
pub const DEFAULT_FEATURE_BIT: usize = foaf_wire::features::OPTION_BALANCE_SHARING_ODD_BIT as usize;

/// At most this many sends wait for LDK at once; more are dropped and logged. The core's own
/// rate limits (S05) keep the real number far below; this only bounds a misbehaving core.
pub const MAX_OUTBOX: usize = 10_000;

/// How the adapter talks to peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterConfig {
    /// The message types (347/349 by default; custom-range types where a deployment needs them).
    pub types: MessageTypes,
    /// The optional feature bit advertised in `init` and `node_announcement` (odd; the even bit
    /// below it is the "required" form, never set by us). `None` advertises nothing.
    pub feature_bit: Option<usize>,
    /// Send nothing to a peer whose `init` sets neither bit of the pair (`docs/bolt14.md` §2.1:
    /// "MUST NOT send either message to a peer that did not set one of the pair"). Default true;
    /// has no effect when `feature_bit` is `None`.
    pub require_peer_feature: bool,
}

impl Default for AdapterConfig {
    fn default() -> Self {
        Self {
            types: MessageTypes::default(),
            feature_bit: Some(DEFAULT_FEATURE_BIT),
            require_peer_feature: true,
        }
    }
}

/// Something that happened on the BOLT #14 side of a connection, for logs and tests.
#[derive(Debug, Clone)]
pub enum FoafEvent {
    /// A peer finished the handshake and `init`.
    PeerConnected {
        /// The peer.
        peer: PublicKey,
        /// True when it connected to us.
        inbound: bool,
        /// True when its `init` sets our feature bit (either parity).
        supports_foaf: bool,
    },
    /// A peer went away.
    PeerDisconnected {
        /// The peer.
        peer: PublicKey,
    },
    /// A message of one of our types arrived.
    Received {
        /// The sender.
        peer: PublicKey,
        /// The BOLT #1 type.
        msg_type: u16,
        /// The decoded message, or why it did not decode.
        decoded: Result<Message, DecodeError>,
    },
    /// A message was handed to LDK for sending.
    Sent {
        /// The recipient.
        peer: PublicKey,
        /// The whole BOLT #1 message as the state machine encoded it. The adapter never decodes
        /// what it sends; a log that shows the content decodes it ([`FoafEvent::sent_message`]).
        bytes: Vec<u8>,
    },
    /// We are failing the connection to a peer.
    Disconnecting {
        /// The peer.
        peer: PublicKey,
        /// Why.
        reason: String,
    },
    /// A local request (query or offer) was refused; nothing was sent.
    Refused {
        /// The operation (`query` or `offer`).
        op: &'static str,
        /// The peer it was for.
        peer: PublicKey,
        /// Why.
        reason: String,
    },
    /// Free text from the state machine or the adapter.
    Log(String),
}

impl FoafEvent {
    /// For [`FoafEvent::Sent`], the message decoded with `types` (for display); `None` otherwise.
    pub fn sent_message(&self, types: MessageTypes) -> Option<Result<Message, DecodeError>> {
        match self {
            FoafEvent::Sent { bytes, .. } => Some(Message::decode_with(bytes, types)),
            _ => None,
        }
    }
}

/// Receives every [`FoafEvent`]; must be quick (it runs on LDK's threads).
pub type EventSink = Arc<dyn Fn(&FoafEvent) + Send + Sync>;
/// Returns the current time (the system clock, except in tests), finer than the second: the
/// node's S05/V07 windows are exact, so whole seconds would let a fifth message through 9 s
/// after the first.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The system clock (to the nanosecond where the OS gives it), read at the edge only.
pub fn system_clock() -> Clock {
    Arc::new(|| Timestamp::from_system_time(std::time::SystemTime::now()))
}

/// What the core must be told to go from `old` to `new` (both sorted by scid): every channel
/// new or changed, and every vanished one set to `Closing` (no longer active). One merge walk,
/// O(n): a refresh runs every tick, and a large routing node has thousands of channels (a
/// lookup per channel made each refresh quadratic, issue #17).
fn channel_changes(
    old: &[Channel<PublicKey>],
    new: &[Channel<PublicKey>],
) -> Vec<Channel<PublicKey>> {
    let mut changes = Vec::new();
    let (mut i, mut j) = (0, 0);
    loop {
        match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) if o.scid == n.scid => {
                if o != n {
                    changes.push(n.clone());
                }
                i += 1;
                j += 1;
            }
            (Some(o), Some(n)) if o.scid > n.scid => {
                changes.push(n.clone());
                j += 1;
            }
            (None, Some(n)) => {
                changes.push(n.clone());
                j += 1;
            }
            (Some(o), _) => {
                if o.state != ChannelState::Closing {
                    let mut gone = o.clone();
                    gone.state = ChannelState::Closing;
                    changes.push(gone);
                }
                i += 1;
            }
            (None, None) => break,
        }
    }
    changes
}

struct State<C> {
    core: C,
    /// The last snapshot pushed into the core, to send only changes.
    channels: Vec<Channel<PublicKey>>,
    graph: Vec<ShortChannelId>,
    outbox: VecDeque<(PublicKey, FoafMessage)>,
    errors: Vec<MessageSendEvent>,
    /// Peers we are failing: their further messages are ignored until LDK closes the socket.
    failing: BTreeSet<PublicKey>,
    /// Connected peers whose `init` sets our feature pair (those we may send to, §2.1).
    speaks_foaf: BTreeSet<PublicKey>,
    /// Bounds the log of ignored messages (crate::quiet).
    ignored: IgnoredLog,
}

/// The LDK custom message handler for BOLT #14. Put one `Arc` of it in both the
/// `custom_message_handler` and the `send_only_message_handler` slots of `MessageHandler`.
pub struct FoafHandler<C, S> {
    state: Mutex<State<C>>,
    source: S,
    config: AdapterConfig,
    clock: Clock,
    events: EventSink,
}

impl<C: FoafCore, S: ChannelSource> FoafHandler<C, S> {
    /// A handler over `core`, loading channels and graph from `source` right away.
    pub fn new(core: C, source: S, config: AdapterConfig, clock: Clock, events: EventSink) -> Self {
        let h = Self {
            state: Mutex::new(State {
                core,
                channels: Vec::new(),
                graph: Vec::new(),
                outbox: VecDeque::new(),
                errors: Vec::new(),
                failing: BTreeSet::new(),
                speaks_foaf: BTreeSet::new(),
                ignored: IgnoredLog::default(),
            }),
            source,
            config,
            clock,
            events,
        };
        h.refresh();
        h
    }

    /// The adapter's configuration.
    pub fn config(&self) -> &AdapterConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, State<C>> {
        // A panic elsewhere while holding the lock leaves consistent-enough state for logging.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn emit(&self, e: FoafEvent) {
        (self.events)(&e);
    }

    /// Re-reads the channel source and tells the core what changed. A channel that vanished
    /// from the source is set to `Closing` (no longer active).
    pub fn refresh(&self) {
        let now = (self.clock)();
        let mut channels = self.source.channels();
        channels.sort_by_key(|c| c.scid);
        let graph = self.source.graph();
        let mut st = self.lock();
        let actions = channel_changes(&st.channels, &channels);
        let mut out = Vec::new();
        if graph != st.graph {
            st.core.set_graph(graph.clone());
            st.graph = graph;
        }
        out.extend(st.core.handle(Input::SetChannels(actions), now));
        st.channels = channels;
        let _ = self.apply(&mut st, out);
    }

    /// Advances the core's clock (deferred sends may go out) after refreshing the channels.
    pub fn tick(&self) {
        self.refresh();
        let now = (self.clock)();
        let mut st = self.lock();
        for summary in st.ignored.close_due(now) {
            self.emit(FoafEvent::Log(summary));
        }
        let out = st.core.handle(Input::Tick, now);
        let _ = self.apply(&mut st, out);
    }

    /// True when the feature gate lets us send to `peer`.
    fn may_send(&self, st: &State<C>, peer: &PublicKey) -> bool {
        !(self.config.require_peer_feature && self.config.feature_bit.is_some())
            || st.speaks_foaf.contains(peer)
    }

    /// Asks the core to send a `query_foaf_balances`; `Err(reason)` when it refused.
    pub fn query(&self, peer: &PublicKey, flow: Flow, amt_msat: u64) -> Result<(), String> {
        self.request(Request::Query, peer, flow, amt_msat)
    }

    /// Asks the core to send an unsolicited `reply_foaf_balances` (A09).
    pub fn offer(&self, peer: &PublicKey, flow: Flow, amt_msat: u64) -> Result<(), String> {
        self.request(Request::Offer, peer, flow, amt_msat)
    }

    /// A request of the application: refused at once when the feature gate closes the peer
    /// (§2.1, before the core sees it), otherwise the core's to decide.
    fn request(
        &self,
        request: Request,
        peer: &PublicKey,
        flow: Flow,
        amt_msat: u64,
    ) -> Result<(), String> {
        let now = (self.clock)();
        let mut st = self.lock();
        if !self.may_send(&st, peer) {
            let reason = "feature_not_advertised".to_string();
            self.emit(FoafEvent::Refused {
                op: request.as_str(),
                peer: *peer,
                reason: reason.clone(),
            });
            return Err(reason);
        }
        let input = Input::Request {
            request,
            peer,
            flow,
            amt_msat,
        };
        let out = st.core.handle(input, now);
        self.apply(&mut st, out)
    }

    /// Extension records attached to every reply from now on (e.g. the `intercept_aliases`
    /// record from [`crate::FoafRouting::refresh_aliases`]).
    pub fn set_reply_tlvs(&self, tlvs: foaf_wire::TlvStream) {
        self.lock().core.set_reply_tlvs(tlvs);
    }

    /// The offers we hold (from replies peers sent us).
    pub fn offers(&self) -> Vec<Offer<PublicKey>> {
        self.lock().core.offers()
    }
}

/// The hop's view of the offers this node made (R-REB-6), from the state machine that sent
/// them: [`crate::FoafRouting::with_own_offers`].
impl<C: FoafCore, S: ChannelSource> OwnOffers for FoafHandler<C, S> {
    fn offered_at(&self, m: FeeFreeMove) -> Option<u64> {
        self.lock().core.offered_at(m)
    }
    fn note_forwarded(&self, m: FeeFreeMove) {
        self.lock().core.note_fee_free_forward(m)
    }
}

impl<C: FoafCore, S: ChannelSource> FoafHandler<C, S> {
    /// Carries out the core's effects; returns the first refusal, if any.
    fn apply(&self, st: &mut State<C>, effects: Vec<Effect<PublicKey>>) -> Result<(), String> {
        let mut result = Ok(());
        for e in effects {
            match e {
                Effect::Send { peer, bytes } => self.queue(st, peer, bytes),
                Effect::Disconnect { peer, reason } => {
                    self.fail_connection(st, peer, reason.as_str().to_string())
                }
                Effect::Refused { op, peer, reason } => {
                    let reason = reason.as_str().to_string();
                    self.emit(FoafEvent::Refused {
                        op: op.as_str(),
                        peer,
                        reason: reason.clone(),
                    });
                    if result.is_ok() {
                        result = Err(reason);
                    }
                }
                Effect::Ignored { peer, reason } => self.emit(FoafEvent::Log(format!(
                    "ignored a message from {peer}: {reason}"
                ))),
                Effect::Deferred { peer } => self.emit(FoafEvent::Log(format!(
                    "answer to {peer} deferred by the S05 limit"
                ))),
                Effect::Log(text) => self.emit(FoafEvent::Log(text)),
            }
        }
        result
    }

    /// Queues a send for LDK, unless the peer is being failed or the feature gate closes it.
    fn queue(&self, st: &mut State<C>, peer: PublicKey, bytes: Vec<u8>) {
        if st.failing.contains(&peer) {
            return;
        }
        if !self.may_send(st, &peer) {
            // Typically the answer to a query from a peer that did not advertise the feature:
            // bolt14.md §2.1 forbids sending it.
            self.emit(FoafEvent::Log(format!(
                "not sent to {peer}: its init does not advertise option_balance_sharing"
            )));
            return;
        }
        if st.outbox.len() >= MAX_OUTBOX {
            self.emit(FoafEvent::Log(format!(
                "outbox full ({MAX_OUTBOX}): dropped a message to {peer}"
            )));
            return;
        }
        st.outbox.push_back((peer, FoafMessage::new(bytes)));
    }

    /// Fails the connection to `peer` the way LDK can: a `HandleError` event asking
    /// `PeerManager` to send a warning and close (module docs). Anything still queued for the
    /// peer is dropped (including a `warning` the core queued itself: LDK sends its own).
    fn fail_connection(&self, st: &mut State<C>, peer: PublicKey, reason: String) {
        if !st.failing.insert(peer) {
            return;
        }
        self.emit(FoafEvent::Disconnecting {
            peer,
            reason: reason.clone(),
        });
        st.outbox.retain(|(p, _)| *p != peer);
        st.errors.push(MessageSendEvent::HandleError {
            node_id: peer,
            action: ErrorAction::DisconnectPeerWithWarning {
                msg: WarningMessage {
                    channel_id: ChannelId::new_zero(),
                    data: format!("BOLT #14: {reason}"),
                },
            },
        });
    }
}

impl<C: FoafCore, S: ChannelSource> CustomMessageReader for FoafHandler<C, S> {
    type CustomMessage = FoafMessage;

    fn read<R: LengthLimitedRead>(
        &self,
        message_type: u16,
        buffer: &mut R,
    ) -> Result<Option<FoafMessage>, msgs::DecodeError> {
        let types = self.config.types;
        if message_type != types.query && message_type != types.reply {
            return Ok(None);
        }
        // Bounded: LDK hands us one decrypted BOLT #8 message, at most 65535 bytes.
        let len = usize::try_from(buffer.remaining_bytes())
            .ok()
            .filter(|&n| n <= foaf_wire::MAX_MESSAGE_LEN)
            .ok_or(msgs::DecodeError::BadLengthDescriptor)?;
        let mut bytes = Vec::with_capacity(2 + len);
        bytes.extend_from_slice(&message_type.to_be_bytes());
        bytes.resize(2 + len, 0);
        io::Read::read_exact(buffer, &mut bytes[2..]).map_err(|_| msgs::DecodeError::ShortRead)?;
        Ok(Some(FoafMessage::new(bytes)))
    }
}

impl<C: FoafCore, S: ChannelSource> CustomMessageHandler for FoafHandler<C, S> {
    fn handle_custom_message(
        &self,
        msg: FoafMessage,
        sender_node_id: PublicKey,
    ) -> Result<(), LightningError> {
        let now = (self.clock)();
        let mut st = self.lock();
        if st.failing.contains(&sender_node_id) {
            return Ok(());
        }
        // The one decode of this message: the log gets a copy, the core the value (and with an
        // error, the V08 decision).
        let decoded = Message::decode_with(&msg.bytes, self.config.types);
        let out = st
            .core
            .handle(Input::Receive(&sender_node_id, decoded.clone()), now);
        // A message the core only ignored is logged in full once per peer and window, the
        // rest counted (crate::quiet): a flood must not become disk use.
        if let [Effect::Ignored { reason, .. }] = out.as_slice() {
            let verdict = st.ignored.ignored(sender_node_id, reason.as_str(), now);
            if let Some(summary) = verdict.summary {
                self.emit(FoafEvent::Log(summary));
            }
            if !verdict.log_in_full {
                return Ok(());
            }
        }
        self.emit(FoafEvent::Received {
            peer: sender_node_id,
            msg_type: msg.msg_type(),
            decoded,
        });
        let _ = self.apply(&mut st, out);
        Ok(())
    }

    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, FoafMessage)> {
        let out: Vec<_> = self.lock().outbox.drain(..).collect();
        for (peer, m) in &out {
            self.emit(FoafEvent::Sent {
                peer: *peer,
                bytes: m.bytes.clone(),
            });
        }
        out
    }

    fn peer_disconnected(&self, their_node_id: PublicKey) {
        let now = (self.clock)();
        let mut st = self.lock();
        st.failing.remove(&their_node_id);
        st.speaks_foaf.remove(&their_node_id);
        st.outbox.retain(|(p, _)| *p != their_node_id);
        if let Some(summary) = st.ignored.close(&their_node_id, now) {
            self.emit(FoafEvent::Log(summary));
        }
        let out = st.core.handle(Input::Disconnect(&their_node_id), now);
        let _ = self.apply(&mut st, out);
        // A disconnect the core asks for now has nothing left to close.
        st.failing.remove(&their_node_id);
        st.errors.retain(|e| {
            !matches!(e, MessageSendEvent::HandleError { node_id, .. } if *node_id == their_node_id)
        });
        drop(st);
        self.emit(FoafEvent::PeerDisconnected {
            peer: their_node_id,
        });
    }

    fn peer_connected(
        &self,
        their_node_id: PublicKey,
        msg: &Init,
        inbound: bool,
    ) -> Result<(), ()> {
        let supports_foaf = self
            .config
            .feature_bit
            .is_some_and(|bit| has_feature_pair(&msg.features, bit));
        let now = (self.clock)();
        let mut st = self.lock();
        st.failing.remove(&their_node_id);
        if supports_foaf {
            st.speaks_foaf.insert(their_node_id);
        } else {
            st.speaks_foaf.remove(&their_node_id);
        }
        // Every peer counts as connected for A04 (its channels are operational), whether or not
        // it speaks BOLT #14; the feature gate only stops what we send it.
        let out = st.core.handle(Input::Connect(their_node_id), now);
        // Logged once the core knows the peer: whoever reads "connected" and then acts on it
        // (another peer's query relying on A04, a script) finds the state machine up to date.
        self.emit(FoafEvent::PeerConnected {
            peer: their_node_id,
            inbound,
            supports_foaf,
        });
        let _ = self.apply(&mut st, out);
        Ok(())
    }

    fn provided_node_features(&self) -> NodeFeatures {
        let mut f = NodeFeatures::empty();
        if let Some(bit) = self.config.feature_bit {
            // The config is checked at startup (check_feature_bit), so this cannot fail.
            let _ = set_optional!(f, bit);
        }
        f
    }

    fn provided_init_features(&self, _their_node_id: PublicKey) -> InitFeatures {
        init_features(self.config.feature_bit)
    }
}

/// The `init` features we advertise for `feature_bit` (empty for `None`).
pub fn init_features(feature_bit: Option<usize>) -> InitFeatures {
    let mut f = InitFeatures::empty();
    if let Some(bit) = feature_bit {
        let _ = set_optional!(f, bit);
    }
    f
}

/// Checks that `bit` can be advertised: a pair LDK does not itself use (either parity names the
/// pair; we always set the odd, optional, bit). Below 256 that excludes every BOLT #9 bit LDK
/// knows, e.g. 20/21 (`option_anchor_outputs`); from 256 up, custom (bLIP 2) bits LDK knows.
pub fn check_feature_bit(bit: usize) -> Result<(), String> {
    let mut f = InitFeatures::empty();
    let unknown = set_optional!(f, bit).is_ok() && f.supports_unknown_bits();
    if unknown && bit < 65_536 {
        Ok(())
    } else {
        Err(format!(
            "feature bit {bit} is not usable: LDK already assigns its pair (or it is out of range)"
        ))
    }
}

/// True when `features` sets either bit of the pair containing `bit`.
pub fn has_feature_pair(features: &InitFeatures, bit: usize) -> bool {
    let flags = features.le_flags();
    let even = bit & !1;
    [even, even + 1].iter().any(|&b| {
        flags
            .get(b / 8)
            .is_some_and(|byte| byte & (1 << (b % 8)) != 0)
    })
}

impl<C: FoafCore, S: ChannelSource> BaseMessageHandler for FoafHandler<C, S> {
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        std::mem::take(&mut self.lock().errors)
    }
    // Connection bookkeeping happens in the CustomMessageHandler methods above; LDK calls both.
    fn peer_disconnected(&self, _their_node_id: PublicKey) {}
    fn peer_connected(
        &self,
        _their_node_id: PublicKey,
        _msg: &Init,
        _inbound: bool,
    ) -> Result<(), ()> {
        Ok(())
    }
    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }
    fn provided_init_features(&self, _their_node_id: PublicKey) -> InitFeatures {
        InitFeatures::empty()
    }
}

impl<C: FoafCore, S: ChannelSource> SendOnlyMessageHandler for FoafHandler<C, S> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quadratic diff `refresh` used before, as the reference.
    fn naive_changes(
        old: &[Channel<PublicKey>],
        new: &[Channel<PublicKey>],
    ) -> Vec<Channel<PublicKey>> {
        let mut out = Vec::new();
        for o in old {
            if !new.iter().any(|c| c.scid == o.scid) && o.state != ChannelState::Closing {
                let mut gone = o.clone();
                gone.state = ChannelState::Closing;
                out.push(gone);
            }
        }
        out.extend(new.iter().filter(|c| !old.contains(c)).cloned());
        out.sort_by_key(|c| c.scid);
        out
    }

    // Issue #17 item 12: the linear diff tells the core exactly what the quadratic one did:
    // new and changed channels, vanished ones as Closing (once).
    #[test]
    fn channel_changes_equal_the_reference() {
        use lightning::bitcoin::secp256k1::{Secp256k1, SecretKey};
        let peer = PublicKey::from_secret_key(
            &Secp256k1::new(),
            &SecretKey::from_slice(&[7; 32]).unwrap(),
        );
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut set = |n: u64| {
            let mut v: Vec<Channel<PublicKey>> = (0..n)
                .filter_map(|_| {
                    let r = next();
                    (r % 3 != 0).then(|| Channel {
                        scid: ShortChannelId::from_u64(r % 40),
                        peer,
                        capacity_msat: 1000,
                        local_msat: (r >> 8) % 3,
                        announced: true,
                        state: if (r >> 16) % 4 == 0 {
                            ChannelState::Closing
                        } else {
                            ChannelState::Normal
                        },
                    })
                })
                .collect();
            v.sort_by_key(|c| c.scid);
            v.dedup_by_key(|c| c.scid);
            v
        };
        let mut changed = 0;
        for _ in 0..500 {
            let (old, new) = (set(30), set(30));
            let got = channel_changes(&old, &new);
            assert_eq!(got, naive_changes(&old, &new), "{old:?} -> {new:?}");
            changed += got.len();
        }
        assert!(changed > 1000, "the inputs differ enough to test something");
        assert!(channel_changes(&[], &[]).is_empty());
    }

    #[test]
    fn w06_default_bit_is_the_pinned_experimental_pair_advertised_optional() {
        // R: W06: not 20/21 (option_anchor_outputs), a custom-range pair, odd = optional.
        // R: W06 as pinned in docs/bolt14.md §2.1: 214/215, odd bit set.
        const { assert!(DEFAULT_FEATURE_BIT == 215) };
        check_feature_bit(DEFAULT_FEATURE_BIT).unwrap();
        let f = init_features(Some(DEFAULT_FEATURE_BIT));
        assert!(has_feature_pair(&f, DEFAULT_FEATURE_BIT));
        assert!(!f.requires_unknown_bits(), "we never require the bit");
        assert!(f.supports_unknown_bits());
        assert!(!has_feature_pair(&init_features(None), DEFAULT_FEATURE_BIT));
    }

    #[test]
    fn w06_bits_ldk_already_assigns_are_refused() {
        // R: W06: 20/21 are option_anchor_outputs, which LDK knows; so is 14/15 (payment_secret).
        assert!(check_feature_bit(21).is_err());
        assert!(check_feature_bit(20).is_err());
        assert!(check_feature_bit(15).is_err());
        check_feature_bit(1001).unwrap();
        check_feature_bit(214).unwrap();
        // Either parity names the pair; an even request still sets the odd bit.
        let f = init_features(Some(1000));
        assert!(has_feature_pair(&f, 1001) && !f.requires_unknown_bits());
    }
}
