//! A BOLT #8 node that speaks only BOLT #14: LDK's `PeerManager` over `lightning-net-tokio`, with
//! [`FoafHandler`] in the custom-message slot and no channel logic (channel messages get LDK's
//! `ErroringMessageHandler` answer through [`NoChannels`], whose `init` claims no channel
//! features and names our chain in `networks`; our channels come from a [`ChannelSource`]).
//! Inbound connections are capped per IP and in total ([`ConnectionLimits`]).
//!
//! Used by `foaf node` and by the loopback tests; an LDK application that already runs its own
//! `PeerManager` uses [`FoafHandler`] directly instead.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use foaf_policy::Offer;
use foaf_wire::Flow;
use lightning::bitcoin::secp256k1::PublicKey;
use lightning::ln::peer_handler::{IgnoringMessageHandler, MessageHandler, PeerManager};
use lightning::sign::{EntropySource, KeysManager, NodeSigner, Recipient};
use lightning::util::logger::{Level, Logger, Record};
use lightning_net_tokio::SocketDescriptor;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::conn_limit::{ConnectionCounter, ConnectionLimits};
use crate::handler::{check_feature_bit, AdapterConfig, Clock, EventSink, FoafHandler};
use crate::no_channels::NoChannels;
use crate::source::ChannelSource;
use crate::state_machine::FoafCore;

/// LDK's log lines at or above a level, on stderr (off by default: our own log is the product).
pub struct StderrLogger(pub Option<Level>);

impl Logger for StderrLogger {
    fn log(&self, record: Record) {
        if let Some(min) = self.0 {
            if record.level >= min {
                eprintln!("ldk {:<5} {}", record.level, record.args);
            }
        }
    }
}

/// The `PeerManager` type of a [`FoafNode`].
pub type FoafPeerManager<C, S> = PeerManager<
    SocketDescriptor,
    Arc<NoChannels>,
    IgnoringMessageHandler,
    IgnoringMessageHandler,
    Arc<StderrLogger>,
    Arc<FoafHandler<C, S>>,
    Arc<KeysManager>,
    Arc<FoafHandler<C, S>>,
>;

/// How to run a [`FoafNode`].
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Where to accept connections (`None`: outbound only). Port 0 picks a free port.
    pub listen: Option<SocketAddr>,
    /// The node secret's seed (32 bytes): the same seed gives the same node id.
    pub seed: [u8; 32],
    /// Message types and feature bit.
    pub adapter: AdapterConfig,
    /// How often the core's clock ticks and the channel source is re-read.
    pub tick_interval: Duration,
    /// LDK's own log level on stderr (`None`: silent).
    pub ldk_log: Option<Level>,
    /// The chain we serve, as sent in `init`'s `networks` (default: bitcoin).
    pub chain_hash: foaf_wire::ChainHash,
    /// Caps on inbound connections.
    pub limits: ConnectionLimits,
}

impl NodeConfig {
    /// Defaults: listen nowhere, one-second ticks, LDK silent.
    pub fn new(seed: [u8; 32]) -> Self {
        Self {
            listen: None,
            seed,
            adapter: AdapterConfig::default(),
            tick_interval: Duration::from_secs(1),
            ldk_log: None,
            chain_hash: foaf_wire::ChainHash::BITCOIN,
            limits: ConnectionLimits::default(),
        }
    }
}

/// A running node. Dropping it without [`FoafNode::shutdown`] aborts its tasks too.
pub struct FoafNode<C: FoafCore + 'static, S: ChannelSource + 'static> {
    peer_manager: Arc<FoafPeerManager<C, S>>,
    handler: Arc<FoafHandler<C, S>>,
    node_id: PublicKey,
    local_addr: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

/// LDK's `PeerManager` wants a timer tick about every ten seconds (pings, stale peers).
const LDK_TIMER: Duration = Duration::from_secs(10);

impl<C: FoafCore + 'static, S: ChannelSource + 'static> FoafNode<C, S> {
    /// Starts the node: keys from the seed, the `PeerManager`, the listener (if any) and the
    /// ticker. Must be called inside a multi-threaded Tokio runtime.
    pub async fn start(
        config: NodeConfig,
        core: C,
        source: S,
        clock: Clock,
        events: EventSink,
    ) -> Result<Self, String> {
        if let Some(bit) = config.adapter.feature_bit {
            check_feature_bit(bit)?;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        // The start time only salts KeysManager's entropy source (ephemeral keys); the node key
        // itself depends on the seed alone.
        let keys = Arc::new(KeysManager::new(
            &config.seed,
            now.as_secs(),
            now.subsec_nanos(),
            true,
        ));
        let node_id = keys
            .get_node_id(Recipient::Node)
            .map_err(|()| "cannot derive the node id".to_string())?;
        let handler = Arc::new(FoafHandler::new(
            core,
            source,
            config.adapter.clone(),
            clock,
            events,
        ));
        let peer_manager = Arc::new(PeerManager::new(
            MessageHandler {
                chan_handler: Arc::new(NoChannels::new(config.chain_hash.0)),
                route_handler: IgnoringMessageHandler {},
                onion_message_handler: IgnoringMessageHandler {},
                custom_message_handler: Arc::clone(&handler),
                send_only_message_handler: Arc::clone(&handler),
            },
            now.as_secs() as u32,
            &keys.get_secure_random_bytes(),
            Arc::new(StderrLogger(config.ldk_log)),
            Arc::clone(&keys),
        ));

        let mut tasks = Vec::new();
        let mut local_addr = None;
        if let Some(addr) = config.listen {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            local_addr = listener.local_addr().ok();
            let pm = Arc::clone(&peer_manager);
            let open = Arc::new(ConnectionCounter::default());
            let limits = config.limits;
            tasks.push(tokio::spawn(async move {
                loop {
                    let Ok((stream, remote)) = listener.accept().await else {
                        // E.g. out of file descriptors: back off instead of spinning.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    // Over a cap: closed at once, before LDK spends a handshake on it.
                    let Some(slot) = open.admit(remote.ip(), limits) else {
                        continue;
                    };
                    let Ok(stream) = stream.into_std() else {
                        continue;
                    };
                    let conn = lightning_net_tokio::setup_inbound(Arc::clone(&pm), stream);
                    tokio::spawn(async move {
                        conn.await;
                        // The connection ended: its slot is free.
                        drop(slot);
                    });
                }
            }));
        }

        let pm = Arc::clone(&peer_manager);
        let h = Arc::clone(&handler);
        let every = config.tick_interval;
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            let mut ldk_timer = tokio::time::interval(LDK_TIMER);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        h.tick();
                        pm.process_events();
                    }
                    _ = ldk_timer.tick() => pm.timer_tick_occurred(),
                }
            }
        }));

        Ok(Self {
            peer_manager,
            handler,
            node_id,
            local_addr,
            tasks,
        })
    }

    /// Our node id.
    pub fn node_id(&self) -> PublicKey {
        self.node_id
    }

    /// The address we listen on, if any (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// The BOLT #14 handler (offers, config).
    pub fn handler(&self) -> &Arc<FoafHandler<C, S>> {
        &self.handler
    }

    /// True once `peer` has completed the handshake and `init`.
    pub fn is_connected(&self, peer: &PublicKey) -> bool {
        self.peer_manager.peer_by_node_id(peer).is_some()
    }

    /// Connects to `peer` at `addr` and waits (up to `timeout`) until `init` is exchanged.
    pub async fn connect(
        &self,
        peer: PublicKey,
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<(), String> {
        let fut = lightning_net_tokio::connect_outbound(Arc::clone(&self.peer_manager), peer, addr)
            .await
            .ok_or_else(|| format!("cannot connect to {addr}"))?;
        tokio::spawn(fut);
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.is_connected(&peer) {
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "no BOLT #8 handshake and init with {peer}@{addr} within {timeout:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Sends a `query_foaf_balances` to `peer` now; `Err(reason)` when the core refused.
    pub fn query(&self, peer: &PublicKey, flow: Flow, amt_msat: u64) -> Result<(), String> {
        let r = self.handler.query(peer, flow, amt_msat);
        self.peer_manager.process_events();
        r
    }

    /// Sends an unsolicited `reply_foaf_balances` to `peer` now (A09).
    pub fn offer(&self, peer: &PublicKey, flow: Flow, amt_msat: u64) -> Result<(), String> {
        let r = self.handler.offer(peer, flow, amt_msat);
        self.peer_manager.process_events();
        r
    }

    /// The offers we hold.
    pub fn offers(&self) -> Vec<Offer<PublicKey>> {
        self.handler.offers()
    }

    /// Runs the ticker body once now (tests use this instead of waiting for the interval).
    pub fn tick_now(&self) {
        self.handler.tick();
        self.peer_manager.process_events();
    }

    /// The underlying `PeerManager`, for anything not wrapped here.
    pub fn peer_manager(&self) -> &Arc<FoafPeerManager<C, S>> {
        &self.peer_manager
    }

    /// Stops accepting, stops the ticker and closes every connection.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        self.peer_manager.disconnect_all_peers();
    }
}

impl<C: FoafCore + 'static, S: ChannelSource + 'static> Drop for FoafNode<C, S> {
    fn drop(&mut self) {
        self.stop();
    }
}
