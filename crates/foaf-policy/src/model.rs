//! The data every policy function works on: our channels and the offers peers made us.

use core::fmt::Debug;
use core::hash::Hash;

use foaf_wire::{Flow, ShortChannelId};

/// What identifies a peer: a name in the pipe protocol, a node id over LDK, an index in the
/// simulator. Anything cheap to clone, comparable and hashable will do.
pub trait PeerKey: Clone + Eq + Ord + Hash + Debug {}
impl<T: Clone + Eq + Ord + Hash + Debug> PeerKey for T {}

/// The life-cycle state of one of our channels, as far as BOLT #14 cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelState {
    /// Established and usable.
    Normal,
    /// Being closed (mutual or unilateral): not active, never offered.
    Closing,
}

/// One of our channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel<P> {
    /// Its short channel id.
    pub scid: ShortChannelId,
    /// The peer at the other end.
    pub peer: P,
    /// Capacity in millisatoshi.
    pub capacity_msat: u64,
    /// Our balance in millisatoshi (the peer's is `capacity_msat - local_msat`).
    pub local_msat: u64,
    /// Announced to the network (public) or not. Unannounced channels are never offered (A08).
    pub announced: bool,
    /// Normal or closing.
    pub state: ChannelState,
}

impl<P> Channel<P> {
    /// The peer's balance in millisatoshi.
    pub fn remote_msat(&self) -> u64 {
        self.capacity_msat.saturating_sub(self.local_msat)
    }

    /// True when the channel is established and not closing ("active", S02/V01).
    pub fn is_active(&self) -> bool {
        self.state == ChannelState::Normal
    }
}

/// A rebalancing offer a peer made us in a `reply_foaf_balances`: on its channel `scid` it
/// would move `amt_msat` in direction `flow` (Push: it forwards the amount out along `scid`;
/// Receive: it takes the amount in along `scid`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Offer<P> {
    /// The peer that made the offer (our direct peer, the "friend").
    pub peer: P,
    /// The peer's channel the offer is for (to a "friend of a friend").
    pub scid: ShortChannelId,
    /// The direction, from the offering peer's point of view.
    pub flow: Flow,
    /// The amount offered, in millisatoshi.
    pub amt_msat: u64,
    /// The reply's timestamp (unix seconds).
    pub timestamp: u64,
}
