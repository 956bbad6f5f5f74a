//! The sans-IO node the adapter drives, seen through one small trait.
//!
//! [`FoafCore`] is the method-call interface of `foaf_peer::Node` (every input carries `now`,
//! every output is a list of [`Effect`]s), with LDK node ids as peer keys. The adapter only
//! translates: LDK callbacks in, the node's own effects out, carried out as they are. Keeping the
//! trait lets the transport tests drive the adapter with a scripted core as well as with the real
//! state machine.

use foaf_peer::{Effect, Node, Timestamp};
use foaf_policy::{Channel, Offer};
use foaf_wire::{DecodeError, Flow, Message, ShortChannelId, TlvStream};
use lightning::bitcoin::secp256k1::PublicKey;

/// A sans-IO BOLT #14 node keyed by LDK node ids.
pub trait FoafCore: Send {
    /// The transport to `peer` came up.
    fn connect(&mut self, peer: PublicKey, now: Timestamp) -> Vec<Effect<PublicKey>>;
    /// The transport to `peer` went down.
    fn disconnect(&mut self, peer: &PublicKey, now: Timestamp) -> Vec<Effect<PublicKey>>;
    /// A message of one of our types arrived from `peer`, already decoded by the adapter (once);
    /// a decode error is the core's to judge (V08).
    fn receive(
        &mut self,
        peer: &PublicKey,
        decoded: Result<Message, DecodeError>,
        now: Timestamp,
    ) -> Vec<Effect<PublicKey>>;
    /// Send a `query_foaf_balances` to `peer`.
    fn query(
        &mut self,
        peer: &PublicKey,
        flow: Flow,
        amt_msat: u64,
        now: Timestamp,
    ) -> Vec<Effect<PublicKey>>;
    /// Send an unsolicited `reply_foaf_balances` to `peer` (A09).
    fn offer(
        &mut self,
        peer: &PublicKey,
        flow: Flow,
        amt_msat: u64,
        now: Timestamp,
    ) -> Vec<Effect<PublicKey>>;
    /// The clock moved; deferred sends may go out.
    fn tick(&mut self, now: Timestamp) -> Vec<Effect<PublicKey>>;
    /// Add or replace one of our channels.
    fn set_channel(
        &mut self,
        channel: Channel<PublicKey>,
        now: Timestamp,
    ) -> Vec<Effect<PublicKey>>;
    /// Add or replace many channels at once. The node rebuilds its indexes once for the batch;
    /// one `set_channel` per channel would rebuild them per channel (quadratic: 11 s to start
    /// `foaf node` with 1001 channels, debug build).
    fn set_channels(
        &mut self,
        channels: Vec<Channel<PublicKey>>,
        now: Timestamp,
    ) -> Vec<Effect<PublicKey>> {
        channels
            .into_iter()
            .flat_map(|c| self.set_channel(c, now))
            .collect()
    }
    /// Replace the known public graph.
    fn set_graph(&mut self, scids: Vec<ShortChannelId>);
    /// The offers peers made us that we currently hold.
    fn offers(&self) -> Vec<Offer<PublicKey>>;
    /// Extension records to attach to every reply (default: not supported, ignored).
    fn set_reply_tlvs(&mut self, _tlvs: TlvStream) {}
}

impl FoafCore for Node<PublicKey> {
    fn connect(&mut self, peer: PublicKey, now: Timestamp) -> Vec<Effect<PublicKey>> {
        Node::connect(self, peer, now)
    }
    fn disconnect(&mut self, peer: &PublicKey, now: Timestamp) -> Vec<Effect<PublicKey>> {
        Node::disconnect(self, peer, now)
    }
    fn receive(
        &mut self,
        peer: &PublicKey,
        decoded: Result<Message, DecodeError>,
        now: Timestamp,
    ) -> Vec<Effect<PublicKey>> {
        Node::receive_decoded(self, peer, decoded, now)
    }
    fn query(
        &mut self,
        peer: &PublicKey,
        flow: Flow,
        amt_msat: u64,
        now: Timestamp,
    ) -> Vec<Effect<PublicKey>> {
        Node::query(self, peer, flow, amt_msat, now)
    }
    fn offer(
        &mut self,
        peer: &PublicKey,
        flow: Flow,
        amt_msat: u64,
        now: Timestamp,
    ) -> Vec<Effect<PublicKey>> {
        Node::offer(self, peer, flow, amt_msat, now)
    }
    fn tick(&mut self, now: Timestamp) -> Vec<Effect<PublicKey>> {
        Node::tick(self, now)
    }
    fn set_channel(
        &mut self,
        channel: Channel<PublicKey>,
        now: Timestamp,
    ) -> Vec<Effect<PublicKey>> {
        Node::set_channel(self, channel, now)
    }
    fn set_channels(
        &mut self,
        channels: Vec<Channel<PublicKey>>,
        now: Timestamp,
    ) -> Vec<Effect<PublicKey>> {
        Node::set_channels(self, channels, now)
    }
    fn set_graph(&mut self, scids: Vec<ShortChannelId>) {
        Node::set_graph(self, scids)
    }
    fn offers(&self) -> Vec<Offer<PublicKey>> {
        Node::offers(self)
    }
    fn set_reply_tlvs(&mut self, tlvs: TlvStream) {
        Node::set_reply_tlvs(self, tlvs)
    }
}
