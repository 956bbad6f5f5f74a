//! A planned circular rebalance as an LDK [`Route`]: LDK's router never routes to ourselves, so
//! the initiator builds the route from the cycle and its `NetworkGraph` and hands it to
//! `ChannelManager::send_payment_with_route` (R-REB-8).
//!
//! Every hop that gave us an intercept alias for the channel it forwards on (the
//! `intercept_aliases` record, docs/bolt14.md §4.2.1) is asked to forward at zero fee: the onion
//! names the alias, so the hop's LDK hands the HTLC to its foaf-ldk interceptor before LDK's fee
//! rule would refuse it. A hop that gave none (the middle hop X of a 4-cycle, who is not our
//! peer) is routed over the real channel and paid the fee its `channel_update` asks.

use core::ops::Deref;

use foaf_policy::CircularRebalance;
use foaf_wire::ShortChannelId;
use lightning::bitcoin::secp256k1::PublicKey;
use lightning::routing::gossip::{NetworkGraph, NodeId};
use lightning::routing::router::{Path, Route, RouteHop};
use lightning::types::features::{ChannelFeatures, NodeFeatures};
use lightning::util::logger::Logger;

/// CLTV delta we ask for at the final hop (ourselves): BOLT #2's recommended minimum plus room
/// for the blocks a payment may take in flight.
pub const FINAL_CLTV_EXPIRY_DELTA: u32 = 42;

/// Why a cycle could not be turned into a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CircularRouteError {
    /// The plan has fewer than two hops, or does not start and end at `me`.
    NotACycle,
    /// A channel of the cycle is not in our graph, or not between the hop's two nodes.
    UnknownChannel(ShortChannelId),
    /// A channel has no `channel_update` for the direction the cycle uses (or it is disabled).
    NoUpdate(ShortChannelId),
    /// A fee or amount overflowed.
    Overflow,
}

impl core::fmt::Display for CircularRouteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotACycle => f.write_str("not a cycle from us back to us"),
            Self::UnknownChannel(s) => write!(f, "channel {s} is not in the graph"),
            Self::NoUpdate(s) => write!(f, "channel {s} has no usable channel_update"),
            Self::Overflow => f.write_str("amount overflow"),
        }
    }
}

impl std::error::Error for CircularRouteError {}

/// The relay terms of `scid` in the direction leaving `from`: (fee base, fee ppm, cltv delta).
fn relay_terms<L: Deref>(
    graph: &NetworkGraph<L>,
    scid: ShortChannelId,
    from: &PublicKey,
    to: &PublicKey,
) -> Result<(u64, u64, u32), CircularRouteError>
where
    L::Target: Logger,
{
    let ro = graph.read_only();
    let info = ro
        .channel(scid.to_u64())
        .ok_or(CircularRouteError::UnknownChannel(scid))?;
    let (f, t) = (NodeId::from_pubkey(from), NodeId::from_pubkey(to));
    let update = if info.node_one == f && info.node_two == t {
        info.one_to_two.as_ref()
    } else if info.node_two == f && info.node_one == t {
        info.two_to_one.as_ref()
    } else {
        return Err(CircularRouteError::UnknownChannel(scid));
    };
    let u = update
        .filter(|u| u.enabled)
        .ok_or(CircularRouteError::NoUpdate(scid))?;
    Ok((
        u64::from(u.fees.base_msat),
        u64::from(u.fees.proportional_millionths),
        u32::from(u.cltv_expiry_delta),
    ))
}

/// Builds the route of `r` for `me`. `alias_of(hop, scid)` is the alias `hop` gave us for its
/// channel `scid`, if any. Amounts: each hop forwards at zero fee when it has an alias for its
/// outgoing channel, else it is paid its advertised fee; so the initiator pays at most the fees
/// of alias-less hops (0 for a 3-cycle) and receives exactly `r.amount_msat`.
pub fn circular_route<L: Deref>(
    me: &PublicKey,
    r: &CircularRebalance<PublicKey>,
    graph: &NetworkGraph<L>,
    alias_of: impl Fn(&PublicKey, ShortChannelId) -> Option<u64>,
) -> Result<Route, CircularRouteError>
where
    L::Target: Logger,
{
    let hops = &r.hops;
    let (Some(first), Some(last)) = (hops.first(), hops.last()) else {
        return Err(CircularRouteError::NotACycle);
    };
    if hops.len() < 2 || first.from != *me || last.to != *me {
        return Err(CircularRouteError::NotACycle);
    }
    // Per hop i (the node hops[i].to, reached over hops[i].scid): the fee it takes and the CLTV
    // delta it adds for forwarding over hops[i + 1].scid; the last hop is us.
    let n = hops.len();
    let mut fee = vec![0u64; n];
    let mut cltv = vec![0u32; n];
    let mut scid_in_onion = vec![0u64; n];
    scid_in_onion[0] = first.scid.to_u64();
    // Walk backwards: the amount a hop forwards is what the hops after it need.
    let mut amount_after = r.amount_msat;
    fee[n - 1] = r.amount_msat;
    cltv[n - 1] = FINAL_CLTV_EXPIRY_DELTA;
    for i in (0..n - 1).rev() {
        let next = &hops[i + 1];
        let (base, ppm, delta) = relay_terms(graph, next.scid, &next.from, &next.to)?;
        cltv[i] = delta;
        match alias_of(&next.from, next.scid) {
            Some(alias) => {
                fee[i] = 0;
                scid_in_onion[i + 1] = alias;
            }
            None => {
                let prop = u128::from(amount_after) * u128::from(ppm) / 1_000_000;
                fee[i] = base
                    .checked_add(u64::try_from(prop).map_err(|_| CircularRouteError::Overflow)?)
                    .ok_or(CircularRouteError::Overflow)?;
                scid_in_onion[i + 1] = next.scid.to_u64();
            }
        }
        amount_after = amount_after
            .checked_add(fee[i])
            .ok_or(CircularRouteError::Overflow)?;
    }
    let route_hops = hops
        .iter()
        .enumerate()
        .map(|(i, h)| RouteHop {
            pubkey: h.to,
            node_features: NodeFeatures::empty(),
            short_channel_id: scid_in_onion[i],
            channel_features: ChannelFeatures::empty(),
            fee_msat: fee[i],
            cltv_expiry_delta: cltv[i],
            maybe_announced_channel: true,
        })
        .collect();
    Ok(Route {
        paths: vec![Path {
            hops: route_hops,
            blinded_tail: None,
        }],
        route_params: None,
    })
}
