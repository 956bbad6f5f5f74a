//! The sans-IO node the adapter drives, seen through one small trait.
//!
//! [`FoafCore`] is the method-call interface of `foaf_peer::Node` with LDK node ids as peer
//! keys: every input ([`Input`]) comes with `now`, every output is a list of [`Effect`]s. The
//! adapter only translates: LDK callbacks in, the node's own effects out, carried out as they
//! are. The inputs are one enum rather than one trait method each so that the trait stays the
//! size of the interface (a core implements one `handle`), and the transport tests can drive
//! the adapter with a scripted core that reacts to the one input it cares about as easily as
//! with the real state machine.

use foaf_peer::{Effect, Node, Request, Timestamp};
use foaf_policy::{Channel, Offer};
use foaf_wire::{DecodeError, Flow, Message, ShortChannelId, TlvStream};
use lightning::bitcoin::secp256k1::PublicKey;

/// One input to the state machine (all that changes its state, except the graph and the reply
/// records, which produce no effects).
#[derive(Debug)]
pub enum Input<'a> {
    /// The transport to the peer came up.
    Connect(PublicKey),
    /// The transport to the peer went down.
    Disconnect(&'a PublicKey),
    /// A message of one of our types arrived from the peer, already decoded by the adapter
    /// (once); a decode error is the core's to judge (V08).
    Receive(&'a PublicKey, Result<Message, DecodeError>),
    /// The application asks to send a `query_foaf_balances` ([`Request::Query`]) or an
    /// unsolicited `reply_foaf_balances` ([`Request::Offer`], A09) to the peer.
    Request {
        /// Which message.
        request: Request,
        /// To whom.
        peer: &'a PublicKey,
        /// Its `flow_value`.
        flow: Flow,
        /// Its `amt_to_rebalance`, msat.
        amt_msat: u64,
    },
    /// The clock moved; deferred sends may go out.
    Tick,
    /// Add or replace these channels of ours, as one batch: the node rebuilds its indexes once
    /// (one channel at a time rebuilt them per channel, quadratic: 11 s to start `foaf node`
    /// with 1001 channels, debug build).
    SetChannels(Vec<Channel<PublicKey>>),
}

/// A fee-free move through this node as a hop: in on one of our channels, out on another
/// (R-REB-6 asks whether we offered it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeFreeMove {
    /// Our channel the HTLC arrives on.
    pub in_scid: ShortChannelId,
    /// Our channel it leaves on.
    pub out_scid: ShortChannelId,
    /// The amount, msat.
    pub amount_msat: u64,
}

/// A sans-IO BOLT #14 node keyed by LDK node ids.
pub trait FoafCore: Send {
    /// Feeds one input at time `now`; returns what the adapter must do.
    fn handle(&mut self, input: Input<'_>, now: Timestamp) -> Vec<Effect<PublicKey>>;
    /// Replace the known public graph.
    fn set_graph(&mut self, scids: Vec<ShortChannelId>);
    /// The offers peers made us that we currently hold.
    fn offers(&self) -> Vec<Offer<PublicKey>>;
    /// Extension records to attach to every reply (default: not supported, ignored).
    fn set_reply_tlvs(&mut self, _tlvs: TlvStream) {}
    /// When we offered `_move` (a reply we sent naming it, with that much of it not yet
    /// forwarded): the reply's timestamp, unix seconds (R-REB-6). Default: the core keeps no
    /// record (`None`).
    fn offered_at(&self, _move: FeeFreeMove) -> Option<u64> {
        None
    }
    /// We forwarded `_move`: it counts against the offer (R-REB-6). Default: no record.
    fn note_fee_free_forward(&mut self, _move: FeeFreeMove) {}
}

impl FoafCore for Node<PublicKey> {
    fn handle(&mut self, input: Input<'_>, now: Timestamp) -> Vec<Effect<PublicKey>> {
        match input {
            Input::Connect(peer) => self.connect(peer, now),
            Input::Disconnect(peer) => self.disconnect(peer, now),
            Input::Receive(peer, decoded) => self.receive_decoded(peer, decoded, now),
            Input::Request {
                request,
                peer,
                flow,
                amt_msat,
            } => match request {
                Request::Query => self.query(peer, flow, amt_msat, now),
                Request::Offer => self.offer(peer, flow, amt_msat, now),
            },
            Input::Tick => self.tick(now),
            Input::SetChannels(channels) => self.set_channels(channels, now),
        }
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
    fn offered_at(&self, m: FeeFreeMove) -> Option<u64> {
        Node::offered_at(self, m.in_scid, m.out_scid, m.amount_msat)
    }
    fn note_fee_free_forward(&mut self, m: FeeFreeMove) {
        Node::note_fee_free_forward(self, m.in_scid, m.out_scid, m.amount_msat)
    }
}
