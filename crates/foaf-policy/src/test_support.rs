//! Fixtures shared by this crate's unit tests.

use foaf_wire::{Flow, ShortChannelId};

use crate::channel_set::ChannelSet;
use crate::model::{Channel, ChannelState};
use crate::reply::ReplyRequest;

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

/// Runs `f` on a query from `querier` (`flow`, `amt` msat) to a node with channels `chans`,
/// every peer connected.
pub(crate) fn with_request<R>(
    chans: &[Channel<String>],
    querier: &str,
    flow: Flow,
    amt: u64,
    f: impl FnOnce(&ReplyRequest<'_, String>) -> R,
) -> R {
    let mut set = ChannelSet::new(chans.to_vec());
    set.set_all_connected(true);
    let querier = querier.to_string();
    f(&ReplyRequest {
        channels: &set,
        querier: &querier,
        flow,
        amt_msat: amt,
    })
}
