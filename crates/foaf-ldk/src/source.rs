//! Where our channels and the public channel graph come from.
//!
//! The state machine only needs a snapshot: our channels (balances, announced, state) and the set
//! of public `short_channel_id`s (V05). [`ChannelSource`] is that snapshot; it is implemented for
//! a fixed list ([`StaticChannels`], for tests, demos and `foaf node`) and for a running LDK node
//! ([`LdkChannels`]: its `ChannelManager` and `NetworkGraph`).

use core::ops::Deref;

use foaf_policy::{Channel, ChannelState};
use foaf_wire::ShortChannelId;
use lightning::bitcoin::secp256k1::PublicKey;
use lightning::ln::channel_state::{ChannelDetails, ChannelShutdownState};
use lightning::ln::channelmanager::AChannelManager;
use lightning::routing::gossip::NetworkGraph;
use lightning::util::logger::Logger;
use serde_json::Value;

/// A snapshot of our channels and of the public graph.
pub trait ChannelSource: Send + Sync {
    /// Our channels, every one with a `short_channel_id` (others are not yet usable).
    fn channels(&self) -> Vec<Channel<PublicKey>>;
    /// The public channels we know of (V05: reply entries outside it are discarded).
    fn graph(&self) -> Vec<ShortChannelId>;
}

/// A fixed list of channels and a fixed graph: no blockchain needed.
#[derive(Debug, Clone, Default)]
pub struct StaticChannels {
    /// Our channels.
    pub channels: Vec<Channel<PublicKey>>,
    /// The public graph (our announced channels are added to it by [`ChannelSource::graph`]).
    pub graph: Vec<ShortChannelId>,
}

impl ChannelSource for StaticChannels {
    fn channels(&self) -> Vec<Channel<PublicKey>> {
        self.channels.clone()
    }

    fn graph(&self) -> Vec<ShortChannelId> {
        let mut g = self.graph.clone();
        g.extend(self.channels.iter().filter(|c| c.announced).map(|c| c.scid));
        g.sort_unstable();
        g.dedup();
        g
    }
}

crate::message_error! {
    /// Why a channel list or graph file could not be read.
    SourceError
}

impl StaticChannels {
    /// Parses a JSON list of channel objects in the one shape of
    /// [`foaf_policy::channel_json`] (the pipe protocol's), the peer a node id:
    /// `{"scid":"BxTxO","peer":"<33-byte node id hex>","capacity":msat,"local":msat,
    /// "announced":bool,"state":"normal"|"closing"}`.
    pub fn channels_from_json(value: &Value) -> Result<Vec<Channel<PublicKey>>, SourceError> {
        list_from_json(value, "channels", "a JSON list of channel objects", |v| {
            foaf_policy::channel_json::channel_from_json(v, parse_node_id)
                .map_err(|e| e.to_string())
        })
    }

    /// Parses a JSON list of `"BxTxO"` strings.
    pub fn graph_from_json(value: &Value) -> Result<Vec<ShortChannelId>, SourceError> {
        list_from_json(value, "graph", "a JSON list of \"BxTxO\" strings", |v| {
            let s = v.as_str().ok_or("expected a string")?;
            s.parse().map_err(|e| format!("{s:?}: {e}"))
        })
    }
}

/// Parses a JSON list item by item; an error names the list (`what`) and the item's index.
fn list_from_json<T>(
    value: &Value,
    what: &str,
    expected: &str,
    item: impl Fn(&Value) -> Result<T, String>,
) -> Result<Vec<T>, SourceError> {
    let list = value
        .as_array()
        .ok_or_else(|| SourceError(format!("{what}: expected {expected}")))?;
    list.iter()
        .enumerate()
        .map(|(i, v)| item(v).map_err(|e| SourceError(format!("{what}[{i}]: {e}"))))
        .collect()
}

/// Parses a node id: 33 bytes, compressed secp256k1 point, hex.
pub fn parse_node_id(s: &str) -> Result<PublicKey, String> {
    let bytes = hex::decode(s).map_err(|e| format!("node id {s:?} is not hex: {e}"))?;
    PublicKey::from_slice(&bytes)
        .map_err(|_| format!("node id {s:?} is not a 33-byte compressed public key"))
}

/// Our channels from LDK's `ChannelManager`, the graph from its `NetworkGraph`.
pub struct LdkChannels<CM: Deref, G: Deref> {
    /// The channel manager (any `ChannelManager` behind an `Arc` or reference).
    pub channel_manager: CM,
    /// The gossip-fed network graph.
    pub network_graph: G,
}

impl<CM, G, L> ChannelSource for LdkChannels<CM, G>
where
    CM: Deref + Send + Sync,
    CM::Target: AChannelManager,
    G: Deref<Target = NetworkGraph<L>> + Send + Sync,
    L: Deref,
    L::Target: Logger,
{
    fn channels(&self) -> Vec<Channel<PublicKey>> {
        self.channel_manager
            .get_cm()
            .list_channels()
            .iter()
            .filter_map(channel_from_details)
            .collect()
    }

    fn graph(&self) -> Vec<ShortChannelId> {
        graph_scids(&self.network_graph)
    }
}

/// Every channel in an LDK `NetworkGraph`, sorted.
pub fn graph_scids<L: Deref>(graph: &NetworkGraph<L>) -> Vec<ShortChannelId>
where
    L::Target: Logger,
{
    let mut g: Vec<ShortChannelId> = graph
        .read_only()
        .channels()
        .unordered_keys()
        .map(|&id| ShortChannelId::from_u64(id))
        .collect();
    g.sort_unstable();
    g
}

/// One LDK channel as the state machine sees it; `None` while it has no `short_channel_id`
/// (funding not confirmed) or is not yet ready, since such a channel cannot be rebalanced over.
///
/// Our balance is what we could send (`outbound_capacity_msat`) plus the reserve we must keep
/// (`unspendable_punishment_reserve`), capped at the capacity: the closest to "our side of the
/// channel" `ChannelDetails` offers. A channel that is shutting down is `Closing` (A04).
pub fn channel_from_details(d: &ChannelDetails) -> Option<Channel<PublicKey>> {
    let scid = d.short_channel_id?;
    if !d.is_channel_ready {
        return None;
    }
    let capacity_msat = d.channel_value_satoshis.saturating_mul(1000);
    let reserve_msat = d
        .unspendable_punishment_reserve
        .unwrap_or(0)
        .saturating_mul(1000);
    let local_msat = d
        .outbound_capacity_msat
        .saturating_add(reserve_msat)
        .min(capacity_msat);
    let shutting_down = !matches!(
        d.channel_shutdown_state,
        None | Some(ChannelShutdownState::NotShuttingDown)
    );
    Some(Channel {
        scid: ShortChannelId::from_u64(scid),
        peer: d.counterparty.node_id,
        capacity_msat,
        local_msat,
        announced: d.is_announced,
        state: if shutting_down {
            ChannelState::Closing
        } else {
            ChannelState::Normal
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightning::bitcoin::secp256k1::{Secp256k1, SecretKey};
    use lightning::ln::channel_state::ChannelCounterparty;
    use lightning::ln::types::ChannelId;
    use lightning::types::features::InitFeatures;
    use serde_json::json;

    fn pk(i: u8) -> PublicKey {
        PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[i; 32]).unwrap())
    }

    fn details(scid: Option<u64>) -> ChannelDetails {
        ChannelDetails {
            channel_id: ChannelId::new_zero(),
            counterparty: ChannelCounterparty {
                node_id: pk(7),
                features: InitFeatures::empty(),
                unspendable_punishment_reserve: 1_000,
                forwarding_info: None,
                outbound_htlc_minimum_msat: None,
                outbound_htlc_maximum_msat: None,
            },
            funding_txo: None,
            channel_type: None,
            short_channel_id: scid,
            outbound_scid_alias: None,
            inbound_scid_alias: None,
            channel_value_satoshis: 100_000,
            unspendable_punishment_reserve: Some(1_000),
            user_channel_id: 0,
            feerate_sat_per_1000_weight: None,
            outbound_capacity_msat: 59_000_000,
            next_outbound_htlc_limit_msat: 59_000_000,
            next_outbound_htlc_minimum_msat: 1,
            inbound_capacity_msat: 39_000_000,
            confirmations_required: None,
            confirmations: None,
            force_close_spend_delay: None,
            is_outbound: true,
            is_channel_ready: true,
            channel_shutdown_state: Some(ChannelShutdownState::NotShuttingDown),
            is_usable: true,
            is_announced: true,
            inbound_htlc_minimum_msat: None,
            inbound_htlc_maximum_msat: None,
            config: None,
            pending_inbound_htlcs: Vec::new(),
            pending_outbound_htlcs: Vec::new(),
            funding_redeem_script: None,
            next_splice_out_maximum_sat: 0,
            current_dust_exposure_msat: None,
            splice_details: None,
        }
    }

    #[test]
    fn ldk_channel_maps_balance_capacity_and_peer() {
        let scid = ShortChannelId::new(800_000, 5, 1).unwrap();
        let c = channel_from_details(&details(Some(scid.to_u64()))).unwrap();
        assert_eq!(c.scid, scid);
        assert_eq!(c.peer, pk(7));
        assert_eq!(c.capacity_msat, 100_000_000);
        // Spendable plus our reserve: 59_000 + 1_000 sat.
        assert_eq!(c.local_msat, 60_000_000);
        assert!(c.announced);
        assert_eq!(c.state, ChannelState::Normal);
    }

    #[test]
    fn ldk_channel_without_scid_or_not_ready_is_skipped() {
        // R: A04: only operational channels are offered; these cannot be.
        assert!(channel_from_details(&details(None)).is_none());
        let mut d = details(Some(1 << 40));
        d.is_channel_ready = false;
        assert!(channel_from_details(&d).is_none());
    }

    #[test]
    fn ldk_channel_shutting_down_is_closing_and_private_is_unannounced() {
        // R: A04, A08
        let mut d = details(Some(1 << 40));
        d.channel_shutdown_state = Some(ChannelShutdownState::ShutdownInitiated);
        d.is_announced = false;
        let c = channel_from_details(&d).unwrap();
        assert_eq!(c.state, ChannelState::Closing);
        assert!(!c.announced);
    }

    #[test]
    fn network_graph_channels_are_the_graph() {
        // R: V05: the graph the state machine checks reply scids against is LDK's.
        use lightning::bitcoin::Network;
        use lightning::routing::gossip::NodeId;
        use lightning::types::features::ChannelFeatures;
        let logger = crate::runtime::StderrLogger(None);
        let g = NetworkGraph::new(Network::Regtest, &logger);
        for (i, scid) in [(1u8, 9u64 << 40), (2, 3 << 40)] {
            g.add_channel_from_partial_announcement(
                scid,
                Some(1000),
                0,
                ChannelFeatures::empty(),
                NodeId::from_pubkey(&pk(i)),
                NodeId::from_pubkey(&pk(i + 10)),
            )
            .unwrap();
        }
        assert_eq!(
            graph_scids(&g),
            vec![
                ShortChannelId::from_u64(3 << 40),
                ShortChannelId::from_u64(9 << 40)
            ]
        );
    }

    #[test]
    fn static_channels_parse_the_pipe_protocol_shape() {
        let v = json!([{"scid": "700000x1x0", "peer": pk(3).to_string(), "capacity": 1000,
                        "local": 400, "announced": false, "state": "closing"}]);
        let chans = StaticChannels::channels_from_json(&v).unwrap();
        assert_eq!(chans[0].scid.to_string(), "700000x1x0");
        assert_eq!(chans[0].peer, pk(3));
        assert_eq!((chans[0].capacity_msat, chans[0].local_msat), (1000, 400));
        assert_eq!(chans[0].state, ChannelState::Closing);
        let src = StaticChannels {
            channels: chans,
            graph: vec!["1x1x1".parse().unwrap()],
        };
        // Unannounced channels stay out of the public graph.
        assert_eq!(src.graph(), vec!["1x1x1".parse().unwrap()]);
    }

    #[test]
    fn static_channels_reject_bad_input_with_the_field_named() {
        let ok = json!({"scid": "1x1x1", "peer": pk(3).to_string(), "capacity": 10,
                        "local": 4, "announced": true, "state": "normal"});
        let bad = |k: &str, v: Value| {
            let mut o = ok.clone();
            o[k] = v;
            StaticChannels::channels_from_json(&json!([o]))
                .unwrap_err()
                .to_string()
        };
        assert!(bad("scid", json!("1x1")).contains("\"scid\""));
        assert!(bad("peer", json!("02ab")).contains("node id"));
        assert!(bad("local", json!(11)).contains("at most capacity"));
        assert!(bad("state", json!("open")).contains("\"state\""));
        assert!(bad("capacity", json!(-1)).contains("\"capacity\""));
        assert!(StaticChannels::graph_from_json(&json!(["1x2"])).is_err());
    }
}
