//! One LDK node of the harness: keys, `ChainMonitor`, `ChannelManager`, `NetworkGraph` with
//! gossip, and a `PeerManager` whose custom-message slot holds foaf-ldk's BOLT #14 handler, or
//! a composite handler that holds it next to other handlers ([`LdkNode::with_custom_handler`]:
//! an app that also speaks LSPS, examples/ldk-liquidity).

use std::sync::{Arc, RwLock};

use foaf_ldk::{
    AdapterConfig, Clock, EventSink, FoafHandle, FoafHandler, LdkChannels, SendOnlyPair,
};
use foaf_peer::{Config, Node};
use lightning::chain::chaininterface::{ConfirmationTarget, FeeEstimator};
use lightning::chain::chainmonitor::{ChainMonitor, Persist};
use lightning::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate};
use lightning::chain::{ChannelMonitorUpdateStatus, Filter};
use lightning::ln::channelmanager::{ChainParameters, ChannelManager, SimpleArcChannelManager};
use lightning::ln::peer_handler::{
    CustomMessageHandler, IgnoringMessageHandler, MessageHandler, PeerManager,
};
use lightning::onion_message::messenger::DefaultMessageRouter;
use lightning::routing::gossip::{NetworkGraph, P2PGossipSync};
use lightning::routing::router::DefaultRouter;
use lightning::routing::scoring::{
    ProbabilisticScorer, ProbabilisticScoringDecayParameters, ProbabilisticScoringFeeParameters,
};
use lightning::routing::utxo::UtxoLookup;
use lightning::sign::{EntropySource, InMemorySigner, KeysManager, NodeSigner};
use lightning::util::config::{HTLCInterceptionFlags, UserConfig};
use lightning::util::logger::{Level, Logger, Record};
use lightning::util::persist::MonitorName;

use crate::chain::Mempool;
use crate::pipe::Pipe;

/// LDK's log, at or above a level, on stderr (silent by default).
pub struct NetLogger {
    /// The node's name, prefixed to each line.
    pub name: String,
    /// The lowest level printed; `None` prints nothing.
    pub level: Option<Level>,
}

impl Logger for NetLogger {
    fn log(&self, record: Record) {
        if self.level.is_some_and(|min| record.level >= min) {
            eprintln!("{} ldk {:<5} {}", self.name, record.level, record.args);
        }
    }
}

/// A constant fee rate: nothing here depends on fees, only on commitments being valid.
pub struct FixedFee;

impl FeeEstimator for FixedFee {
    fn get_est_sat_per_1000_weight(&self, _: ConfirmationTarget) -> u32 {
        253
    }
}

/// Monitors are kept in memory only: the harness never restarts a node.
pub struct MemoryPersister;

impl Persist<InMemorySigner> for MemoryPersister {
    fn persist_new_channel(
        &self,
        _: MonitorName,
        _: &ChannelMonitor<InMemorySigner>,
    ) -> ChannelMonitorUpdateStatus {
        ChannelMonitorUpdateStatus::Completed
    }
    fn update_persisted_channel(
        &self,
        _: MonitorName,
        _: Option<&ChannelMonitorUpdate>,
        _: &ChannelMonitor<InMemorySigner>,
    ) -> ChannelMonitorUpdateStatus {
        ChannelMonitorUpdateStatus::Completed
    }
    fn archive_persisted_channel(&self, _: MonitorName) {}
}

/// The `ChainMonitor` of a harness node.
pub type NetChainMonitor = ChainMonitor<
    InMemorySigner,
    Arc<dyn Filter + Send + Sync>,
    Arc<Mempool>,
    Arc<FixedFee>,
    Arc<NetLogger>,
    Arc<MemoryPersister>,
    Arc<KeysManager>,
>;
/// The `ChannelManager` of a harness node.
pub type NetChannelManager = SimpleArcChannelManager<NetChainMonitor, Mempool, FixedFee, NetLogger>;
/// The public graph as a node knows it.
pub type NetGraph = NetworkGraph<Arc<NetLogger>>;
/// Gossip: announcements update the graph (no UTXO check: the chain is ours).
pub type NetGossip =
    P2PGossipSync<Arc<NetGraph>, Arc<dyn UtxoLookup + Send + Sync>, Arc<NetLogger>>;
/// Our channels and the public graph, as the BOLT #14 state machine sees them.
pub type NetSource = LdkChannels<Arc<NetChannelManager>, Arc<NetGraph>>;
/// The BOLT #14 handler of a harness node.
pub type NetFoaf = FoafHandler<Node<lightning::bitcoin::secp256k1::PublicKey>, NetSource>;
/// The BOLT #14 handler as an LDK application shares it (foaf-ldk's recipe).
pub type NetFoafHandle = FoafHandle<Node<lightning::bitcoin::secp256k1::PublicKey>, NetSource>;
/// The send-only slot, shared by the `ChainMonitor` and the BOLT #14 handler, as any LDK
/// application that adds BOLT #14 has it (docs/interop.md).
pub type NetSendOnly = SendOnlyPair<Arc<NetChainMonitor>, NetFoafHandle>;
/// The `PeerManager` of a harness node; `CMH` is what sits in its custom-message slot.
pub type NetPeerManager<CMH = NetFoafHandle> = PeerManager<
    Pipe,
    Arc<NetChannelManager>,
    Arc<NetGossip>,
    IgnoringMessageHandler,
    Arc<NetLogger>,
    CMH,
    Arc<KeysManager>,
    Arc<NetSendOnly>,
>;

/// What an application's custom-message handler may be built from
/// ([`LdkNode::with_custom_handler`]).
pub struct CustomSlot<'a> {
    /// The node's keys (entropy and node signer).
    pub keys: &'a Arc<KeysManager>,
    /// The node's channel manager.
    pub channel_manager: &'a Arc<NetChannelManager>,
    /// Where the node's broadcasts go.
    pub mempool: &'a Arc<Mempool>,
    /// The clock every node of the harness reads.
    pub clock: &'a Clock,
    /// The node's BOLT #14 handler (a clone of it belongs in the composite).
    pub foaf: &'a NetFoafHandle,
}

/// One node's objects; `CMH` is its custom-message handler ([`NetFoafHandle`] by default).
pub struct LdkNode<CMH = NetFoafHandle>
where
    CMH: CustomMessageHandler + Clone,
{
    /// Name for logs ("A", "B", ...).
    pub name: String,
    /// Keys.
    pub keys: Arc<KeysManager>,
    /// Monitors.
    pub chain_monitor: Arc<NetChainMonitor>,
    /// Channels and payments.
    pub channel_manager: Arc<NetChannelManager>,
    /// The public graph.
    pub graph: Arc<NetGraph>,
    /// BOLT #14.
    pub foaf: NetFoafHandle,
    /// The handler in the `PeerManager`'s custom-message slot (the app keeps this clone).
    pub custom: CMH,
    /// The transport.
    pub peer_manager: Arc<NetPeerManager<CMH>>,
    /// LDK's log.
    pub logger: Arc<NetLogger>,
}

/// What a node needs to start.
pub struct NodeParams<'a> {
    /// Name for logs.
    pub name: String,
    /// Seed of the node's keys.
    pub seed: [u8; 32],
    /// Where its broadcasts go.
    pub mempool: Arc<Mempool>,
    /// The chain's tip now.
    pub best_block: lightning::chain::BlockLocator,
    /// The clock (LDK's start time in whole seconds, and the BOLT #14 clock).
    pub clock: Clock,
    /// BOLT #14 events.
    pub events: EventSink,
    /// BOLT #14 state machine configuration.
    pub foaf_config: Config,
    /// LDK's log level.
    pub ldk_log: Option<Level>,
    /// The LDK configuration.
    pub user_config: &'a UserConfig,
}

/// The LDK configuration every harness node runs with: announced channels, HTLCs up to the
/// whole channel in flight, HTLCs intercepted when addressed to an intercept SCID (the zero-fee
/// hook, docs/bolt14.md §4.2.1) or bound for a public channel of ours (the JIT hook, §5), no
/// anchors (they would need on-chain reserves we do not model).
pub fn harness_user_config() -> UserConfig {
    let mut c = UserConfig::default();
    c.channel_handshake_config.announce_for_forwarding = true;
    c.channel_handshake_config
        .announced_channel_max_inbound_htlc_value_in_flight_percentage = 100;
    c.channel_handshake_config
        .negotiate_anchors_zero_fee_htlc_tx = false;
    c.channel_handshake_config.minimum_depth = 1;
    c.channel_handshake_limits
        .force_announced_channel_preference = false;
    c.htlc_interception_flags = HTLCInterceptionFlags::ToInterceptSCIDs as u8
        | HTLCInterceptionFlags::ToPublicChannels as u8;
    c
}

/// The default custom-message slot: the BOLT #14 handler alone.
pub fn foaf_only(slot: CustomSlot<'_>) -> Result<NetFoafHandle, core::convert::Infallible> {
    Ok(slot.foaf.clone())
}

impl LdkNode {
    /// Builds a node whose custom-message slot holds the BOLT #14 handler alone.
    pub fn new(p: NodeParams<'_>) -> Self {
        let Ok(node) = Self::with_custom_handler(p, foaf_only);
        node
    }
}

impl<CMH> LdkNode<CMH>
where
    CMH: CustomMessageHandler + Clone,
{
    /// Builds a node whose custom-message slot holds what `custom` makes, e.g. a
    /// `composite_custom_message_handler!` struct holding a clone of `slot.foaf`, or fails with
    /// `custom`'s error. The BOLT #14 handler keeps its place in the send-only slot either way
    /// (V01, V08 disconnects).
    pub fn with_custom_handler<E>(
        p: NodeParams<'_>,
        custom: impl FnOnce(CustomSlot<'_>) -> Result<CMH, E>,
    ) -> Result<Self, E> {
        let now = (p.clock)().as_secs();
        let logger = Arc::new(NetLogger {
            name: p.name.clone(),
            level: p.ldk_log,
        });
        let keys = Arc::new(KeysManager::new(&p.seed, now, 0, true));
        let fee = Arc::new(FixedFee);
        let chain_monitor = Arc::new(ChainMonitor::new(
            None,
            Arc::clone(&p.mempool),
            Arc::clone(&logger),
            Arc::clone(&fee),
            Arc::new(MemoryPersister),
            Arc::clone(&keys),
            keys.get_peer_storage_key(),
            // Monitor updates run inline: the harness persists nothing, so nothing to defer.
            false,
        ));
        let graph = Arc::new(NetworkGraph::new(
            lightning::bitcoin::Network::Regtest,
            Arc::clone(&logger),
        ));
        let scorer = Arc::new(RwLock::new(ProbabilisticScorer::new(
            ProbabilisticScoringDecayParameters::default(),
            Arc::clone(&graph),
            Arc::clone(&logger),
        )));
        let router = Arc::new(DefaultRouter::new(
            Arc::clone(&graph),
            Arc::clone(&logger),
            Arc::clone(&keys),
            scorer,
            ProbabilisticScoringFeeParameters::default(),
        ));
        let message_router = Arc::new(DefaultMessageRouter::new(
            Arc::clone(&graph),
            Arc::clone(&keys),
        ));
        let channel_manager = Arc::new(ChannelManager::new(
            fee,
            Arc::clone(&chain_monitor),
            Arc::clone(&p.mempool),
            router,
            message_router,
            Arc::clone(&logger),
            Arc::clone(&keys),
            Arc::clone(&keys),
            Arc::clone(&keys),
            p.user_config.clone(),
            ChainParameters {
                network: lightning::bitcoin::Network::Regtest,
                best_block: p.best_block,
            },
            now as u32,
        ));
        let gossip = Arc::new(P2PGossipSync::new(
            Arc::clone(&graph),
            None::<Arc<dyn UtxoLookup + Send + Sync>>,
            Arc::clone(&logger),
        ));
        let foaf_config = Config {
            chain_hash: foaf_wire::ChainHash::REGTEST,
            // LDK sends the BOLT #1 warning itself when it fails a connection.
            warn_before_disconnect: false,
            ..p.foaf_config
        };
        let seed64 = u64::from_le_bytes(p.seed[..8].try_into().unwrap_or([0; 8]));
        let foaf = FoafHandle(Arc::new(FoafHandler::new(
            Node::new(foaf_config, seed64),
            LdkChannels {
                channel_manager: Arc::clone(&channel_manager),
                network_graph: Arc::clone(&graph),
            },
            AdapterConfig::default(),
            Arc::clone(&p.clock),
            p.events,
        )));
        let custom = custom(CustomSlot {
            keys: &keys,
            channel_manager: &channel_manager,
            mempool: &p.mempool,
            clock: &p.clock,
            foaf: &foaf,
        })?;
        let peer_manager = Arc::new(PeerManager::new(
            MessageHandler {
                chan_handler: Arc::clone(&channel_manager),
                route_handler: gossip,
                onion_message_handler: IgnoringMessageHandler {},
                custom_message_handler: custom.clone(),
                send_only_message_handler: Arc::new(SendOnlyPair {
                    first: Arc::clone(&chain_monitor),
                    second: foaf.clone(),
                }),
            },
            now as u32,
            &keys.get_secure_random_bytes(),
            Arc::clone(&logger),
            Arc::clone(&keys),
        ));
        Ok(Self {
            name: p.name,
            keys,
            chain_monitor,
            channel_manager,
            graph,
            foaf,
            custom,
            peer_manager,
            logger,
        })
    }

    /// The node id.
    pub fn id(&self) -> lightning::bitcoin::secp256k1::PublicKey {
        self.channel_manager.get_our_node_id()
    }
}
