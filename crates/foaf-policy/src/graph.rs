//! The public channel graph as far as BOLT #14 needs it: the two endpoints of each channel,
//! from BOLT #7 gossip. The initiator's planner (`planner.rs`) closes cycles through channels
//! it knows only by the `short_channel_id` an offer named; the JIT decision, the node, the
//! simulator and the CLI build one from their own sources.

use foaf_wire::ShortChannelId;
use rustc_hash::FxHashMap;

use crate::model::PeerKey;

/// The endpoints of public channels, from BOLT #7 gossip: what the planner needs to close a
/// cycle through channels it only knows by `short_channel_id` from an offer.
///
/// A hash map by scid: every plan looks up each offer's channel (thousands per plan in the
/// simulator, against a whole network's graph); [`ChannelGraph::iter`] sorts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelGraph<P> {
    channels: FxHashMap<u64, (P, P)>,
}

impl<P: PeerKey> Default for ChannelGraph<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: PeerKey> ChannelGraph<P> {
    /// An empty graph.
    pub fn new() -> Self {
        Self {
            channels: FxHashMap::default(),
        }
    }

    /// Adds (or replaces) channel `scid` between `a` and `b`. A channel from a node to itself
    /// cannot exist and is ignored.
    pub fn insert(&mut self, scid: ShortChannelId, a: P, b: P) {
        if a != b {
            self.channels.insert(scid.to_u64(), (a, b));
        }
    }

    /// The two endpoints of `scid`, if known.
    pub fn endpoints(&self, scid: ShortChannelId) -> Option<(&P, &P)> {
        self.channels.get(&scid.to_u64()).map(|(a, b)| (a, b))
    }

    /// Number of channels.
    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// True when no channel is known.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// All channels, in `short_channel_id` order.
    pub fn iter(&self) -> impl Iterator<Item = (ShortChannelId, &P, &P)> {
        let mut all: Vec<(ShortChannelId, &P, &P)> = self
            .channels
            .iter()
            .map(|(s, (a, b))| (ShortChannelId::from_u64(*s), a, b))
            .collect();
        all.sort_unstable_by_key(|e| e.0);
        all.into_iter()
    }
}

impl<P: PeerKey> FromIterator<(ShortChannelId, P, P)> for ChannelGraph<P> {
    fn from_iter<I: IntoIterator<Item = (ShortChannelId, P, P)>>(iter: I) -> Self {
        let mut g = Self::new();
        for (s, a, b) in iter {
            g.insert(s, a, b);
        }
        g
    }
}
