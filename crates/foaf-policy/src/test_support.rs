//! Fixtures shared by this crate's unit tests.

use foaf_wire::ShortChannelId;

use crate::model::{Channel, ChannelState};

/// The short channel id whose u64 form is `n`.
pub(crate) fn scid(n: u64) -> ShortChannelId {
    ShortChannelId::from_u64(n)
}

/// An announced, normal channel `n` to `peer` with `cap` capacity and `local` on our side.
pub(crate) fn ch(peer: &str, n: u64, cap: u64, local: u64) -> Channel<String> {
    Channel {
        scid: scid(n),
        peer: peer.into(),
        capacity_msat: cap,
        local_msat: local,
        announced: true,
        state: ChannelState::Normal,
    }
}
