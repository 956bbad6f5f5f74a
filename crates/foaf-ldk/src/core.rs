//! The sans-IO node the adapter drives, seen through one small trait.
//!
//! [`FoafCore`] is the method-call interface of `foaf_peer::Node` (every input carries `now`,
//! every output is a value), with node ids as peer keys. The adapter only translates: LDK events
//! in, [`Action`]s out. Keeping the trait lets the transport tests drive the adapter with a
//! scripted core as well as with the real state machine.

use foaf_policy::{Channel, Offer};
use foaf_wire::{Flow, ShortChannelId};
use lightning::bitcoin::secp256k1::PublicKey;

/// What the state machine wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this whole BOLT #1 message (type included) to the peer.
    Send {
        /// The peer.
        peer: PublicKey,
        /// The message bytes.
        bytes: Vec<u8>,
    },
    /// Fail the connection to the peer.
    Disconnect {
        /// The peer.
        peer: PublicKey,
        /// Short snake_case reason (`no_channel`, `malformed`, ...).
        reason: String,
    },
    /// An operation we were asked to do was refused (nothing was sent).
    Refused {
        /// Short snake_case reason (`no_channel`, `rate_limited`, ...).
        reason: String,
    },
    /// Free text for the log.
    Log(String),
}

/// A sans-IO BOLT #14 node keyed by LDK node ids. Times are unix seconds.
pub trait FoafCore: Send {
    /// The transport to `peer` came up.
    fn connect(&mut self, peer: PublicKey, now: u64) -> Vec<Action>;
    /// The transport to `peer` went down.
    fn disconnect(&mut self, peer: &PublicKey, now: u64) -> Vec<Action>;
    /// A whole BOLT #1 message of one of our types arrived from `peer`.
    fn receive(&mut self, peer: &PublicKey, bytes: &[u8], now: u64) -> Vec<Action>;
    /// Send a `query_foaf_balances` to `peer`.
    fn query(&mut self, peer: &PublicKey, flow: Flow, amt_msat: u64, now: u64) -> Vec<Action>;
    /// Send an unsolicited `reply_foaf_balances` to `peer` (A09).
    fn offer(&mut self, peer: &PublicKey, flow: Flow, amt_msat: u64, now: u64) -> Vec<Action>;
    /// The clock moved; deferred sends may go out.
    fn tick(&mut self, now: u64) -> Vec<Action>;
    /// Add or replace one of our channels.
    fn set_channel(&mut self, channel: Channel<PublicKey>, now: u64) -> Vec<Action>;
    /// Replace the known public graph.
    fn set_graph(&mut self, scids: Vec<ShortChannelId>);
    /// The offers peers made us that we currently hold.
    fn offers(&self) -> Vec<Offer<PublicKey>>;
}
