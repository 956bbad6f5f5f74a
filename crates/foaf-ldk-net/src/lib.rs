//! # foaf-ldk-net: a real Lightning network of LDK nodes in one process
//!
//! Each node is a real LDK `ChannelManager` + `ChainMonitor` + `PeerManager` (BOLT #2, #4, #7,
//! #8 as LDK implements them), with foaf-ldk's BOLT #14 handler in its custom-message slot and
//! foaf-ldk's [`FoafRouting`] wired into its event handling. What a deployment gets from
//! bitcoind and TCP, this crate supplies in memory:
//!
//! - the chain ([`chain`]): blocks we build from the transactions the nodes broadcast, fed to
//!   every node in order;
//! - the sockets ([`pipe`]): byte queues between `PeerManager`s, moved by [`Network::pump`].
//!
//! Everything is driven from one thread, step by step, so a run is deterministic and a test can
//! stop the world between two messages (for example to move the clock past a JIT deadline
//! before a refill completes). docs/ldk-harness.md says why this rather than LDK's functional
//! test utilities.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod chain;
pub mod node;
pub mod pipe;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use foaf_ldk::{Clock, FoafEvent, FoafRouting, OwnOffers, RoutingConfig, RoutingEvent};
use foaf_policy::{imbalance, Channel};
use foaf_wire::{Flow, ShortChannelId};
use lightning::bitcoin::absolute::LockTime;
use lightning::bitcoin::hashes::Hash;
use lightning::bitcoin::secp256k1::PublicKey;
use lightning::bitcoin::transaction::Version;
use lightning::bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness,
};
use lightning::chain::Listen;
use lightning::events::{Event, EventsProvider};
use lightning::ln::channelmanager::PaymentId;
use lightning::ln::peer_handler::CustomMessageHandler;
use lightning::util::logger::Level;

use crate::chain::{Chain, Mempool};
use crate::node::{
    foaf_only, harness_user_config, CustomSlot, LdkNode, NetChannelManager, NetFoafHandle,
    NetGraph, NodeParams,
};
use crate::pipe::Pipe;

/// The routing object of a harness node.
pub type NetRouting = FoafRouting<Arc<NetChannelManager>, Arc<NetGraph>>;

/// A clock the harness moves by hand (nanoseconds since the epoch), shared by every node.
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// Starts at `secs`.
    pub fn new(secs: u64) -> Self {
        Self(Arc::new(AtomicU64::new(secs.saturating_mul(1_000_000_000))))
    }
    /// Now, whole seconds.
    pub fn now(&self) -> u64 {
        self.timestamp().as_secs()
    }
    /// Now, exactly.
    pub fn timestamp(&self) -> foaf_peer::Timestamp {
        foaf_peer::Timestamp::from_unix(std::time::Duration::from_nanos(
            self.0.load(Ordering::SeqCst),
        ))
    }
    /// Moves forward `secs` seconds.
    pub fn advance(&self, secs: u64) {
        self.advance_by(std::time::Duration::from_secs(secs));
    }
    /// Moves forward by `d` (to the nanosecond; saturates at u64::MAX ns, year 2554).
    pub fn advance_by(&self, d: std::time::Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(ns))
            });
    }
    /// As a foaf-ldk clock.
    pub fn clock(&self) -> Clock {
        let me = self.clone();
        Arc::new(move || me.timestamp())
    }
}

/// A node of the network: LDK's objects, its routing and what happened to it. `CMH` is the
/// handler in its custom-message slot ([`LdkNode::with_custom_handler`]).
pub struct NetNode<CMH = NetFoafHandle>
where
    CMH: CustomMessageHandler + Clone,
{
    /// LDK and BOLT #14.
    pub ldk: LdkNode<CMH>,
    /// Fee-free rebalancing and JIT.
    pub routing: Arc<NetRouting>,
    /// Every LDK event the node produced, in order.
    pub events: Arc<Mutex<Vec<Event>>>,
    /// Every routing event.
    pub routing_events: Arc<Mutex<Vec<RoutingEvent>>>,
}

impl<CMH> NetNode<CMH>
where
    CMH: CustomMessageHandler + Clone,
{
    /// The node id.
    pub fn id(&self) -> PublicKey {
        self.ldk.id()
    }

    /// Our channels as foaf-policy sees them.
    pub fn channels(&self) -> Vec<Channel<PublicKey>> {
        self.ldk
            .channel_manager
            .list_channels()
            .iter()
            .filter_map(foaf_ldk::channel_from_details)
            .collect()
    }

    /// Our channel with `peer` (the lowest scid, if several).
    pub fn channel_with(&self, peer: &PublicKey) -> Option<Channel<PublicKey>> {
        self.channels().into_iter().find(|c| c.peer == *peer)
    }

    /// Our imbalance G (M01) on LDK's live balances.
    pub fn gini(&self) -> f64 {
        imbalance(&self.channels())
    }

    /// The LDK events so far matching `f`.
    pub fn count_events(&self, f: impl Fn(&Event) -> bool) -> usize {
        self.events
            .lock()
            .map(|e| e.iter().filter(|x| f(x)).count())
            .unwrap_or(0)
    }

    /// The routing events so far matching `f`.
    pub fn count_routing(&self, f: impl Fn(&RoutingEvent) -> bool) -> usize {
        self.routing_events
            .lock()
            .map(|e| e.iter().filter(|x| f(x)).count())
            .unwrap_or(0)
    }

    /// The first routing event so far for which `f` gives a value, and that value.
    pub fn find_routing<T>(&self, f: impl FnMut(&RoutingEvent) -> Option<T>) -> Option<T> {
        self.routing_events
            .lock()
            .ok()
            .and_then(|e| e.iter().find_map(f))
    }
}

/// One channel to open: `a` funds `capacity_sat` and pushes `push_msat` to `b`.
#[derive(Debug, Clone, Copy)]
pub struct ChannelSpec {
    /// Funder (index into the nodes).
    pub a: usize,
    /// Other side.
    pub b: usize,
    /// Capacity.
    pub capacity_sat: u64,
    /// What `b` starts with.
    pub push_msat: u64,
}

/// A channel as both ends see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelView {
    /// The channel.
    pub scid: ShortChannelId,
    /// One end (lower index).
    pub a: usize,
    /// The other end.
    pub b: usize,
    /// `a`'s balance (foaf-ldk's measure: spendable plus its reserve).
    pub a_msat: u64,
    /// `b`'s balance.
    pub b_msat: u64,
}

foaf_ldk::message_error! {
    /// Why the network could not be built or an operation failed.
    NetError
}

struct Link {
    a: usize,
    b: usize,
    a_end: Pipe,
    b_end: Pipe,
}

/// The network: nodes, connections, chain, clock. `CMH` is every node's custom-message handler
/// ([`Network::with_custom_handlers`]).
pub struct Network<CMH = NetFoafHandle>
where
    CMH: CustomMessageHandler + Clone,
{
    /// The nodes, in the order they were made.
    pub nodes: Vec<NetNode<CMH>>,
    links: Vec<Link>,
    chain: Chain,
    mempool: Arc<Mempool>,
    /// The clock every node reads.
    pub clock: ManualClock,
    next_funding: u64,
    /// Channels opened, by the order of [`Network::open_channels`]'s specs.
    pub specs: Vec<ChannelSpec>,
}

/// Most rounds [`Network::pump`] runs before it reports the network did not settle.
const MAX_ROUNDS: usize = 10_000;

impl Network {
    /// `n` nodes (seeded 1..=n), every one with `routing` and the given LDK log level. The
    /// clock starts at the real time and then moves only when told to.
    pub fn new(n: usize, routing: &RoutingConfig, ldk_log: Option<Level>) -> Self {
        Self::with_configs(vec![routing.clone(); n], ldk_log)
    }

    /// One node per routing configuration.
    pub fn with_configs(routing: Vec<RoutingConfig>, ldk_log: Option<Level>) -> Self {
        let foaf = vec![foaf_peer::Config::default(); routing.len()];
        Self::with_node_configs(routing, foaf, ldk_log)
    }

    /// One node per (routing, BOLT #14 state machine) configuration pair.
    pub fn with_node_configs(
        routing: Vec<RoutingConfig>,
        foaf: Vec<foaf_peer::Config>,
        ldk_log: Option<Level>,
    ) -> Self {
        let Ok(net) = Self::with_custom_handlers(routing, foaf, ldk_log, |_, s| foaf_only(s));
        net
    }
}

impl<CMH> Network<CMH>
where
    CMH: CustomMessageHandler + Clone,
{
    /// [`Network::with_node_configs`] where node `i`'s custom-message slot holds
    /// `custom(i, slot)`: for an application that composes BOLT #14 with other custom messages
    /// (examples/ldk-liquidity puts `lightning-liquidity`'s LSPS handler next to it). Fails
    /// with the first error `custom` returns.
    pub fn with_custom_handlers<E>(
        routing: Vec<RoutingConfig>,
        foaf: Vec<foaf_peer::Config>,
        ldk_log: Option<Level>,
        custom: impl Fn(usize, CustomSlot<'_>) -> Result<CMH, E>,
    ) -> Result<Self, E> {
        // The real time: LDK's NetworkGraph refuses channel_updates dated weeks away from its
        // own (system) clock, and the block times stamp them.
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1_800_000_000, |d| d.as_secs());
        let clock = ManualClock::new(start);
        let chain = Chain::new(u32::try_from(start).unwrap_or(u32::MAX));
        let mempool = Arc::new(Mempool::default());
        let user_config = harness_user_config();
        let names = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L"];
        let nodes = routing
            .into_iter()
            .zip(foaf)
            .enumerate()
            .map(|(i, (rc, foaf_config))| {
                let name = names
                    .get(i)
                    .map_or_else(|| format!("N{i}"), |s| s.to_string());
                let mut seed = [0u8; 32];
                seed[0] = 0xf0;
                seed[1..9].copy_from_slice(&(i as u64 + 1).to_be_bytes());
                // The routing object learns peers' aliases from the BOLT #14 events; it does
                // not exist yet when the handler is built, hence the late-bound slot.
                let slot: Arc<Mutex<Option<Arc<NetRouting>>>> = Arc::default();
                let slot_in = Arc::clone(&slot);
                let params = NodeParams {
                    name,
                    seed,
                    mempool: Arc::clone(&mempool),
                    best_block: chain.tip(),
                    clock: clock.clock(),
                    events: Arc::new(move |e: &FoafEvent| {
                        if let Some(r) = slot_in.lock().ok().and_then(|s| s.clone()) {
                            r.on_foaf_event(e);
                        }
                    }),
                    foaf_config,
                    ldk_log,
                    user_config: &user_config,
                };
                let ldk = LdkNode::with_custom_handler(params, |slot| custom(i, slot))?;
                let routing_events: Arc<Mutex<Vec<RoutingEvent>>> = Arc::default();
                let sink = Arc::clone(&routing_events);
                // The hop judges R-REB-6 by the offers this node's state machine sent.
                let own_offers: Arc<dyn OwnOffers> = ldk.foaf.0.clone();
                let routing = Arc::new(
                    FoafRouting::new(
                        Arc::clone(&ldk.channel_manager),
                        Arc::clone(&ldk.graph),
                        rc,
                        clock.clock(),
                        Arc::new(move |e: &RoutingEvent| {
                            if let Ok(mut v) = sink.lock() {
                                v.push(e.clone());
                            }
                        }),
                    )
                    .with_own_offers(own_offers),
                );
                if let Ok(mut s) = slot.lock() {
                    *s = Some(Arc::clone(&routing));
                }
                Ok(NetNode {
                    ldk,
                    routing,
                    events: Arc::default(),
                    routing_events,
                })
            })
            .collect::<Result<_, E>>()?;
        Ok(Self {
            nodes,
            links: Vec::new(),
            chain,
            mempool,
            clock,
            next_funding: 1,
            specs: Vec::new(),
        })
    }

    /// Connects `a` to `b` (BOLT #8 handshake and `init`, in memory).
    pub fn connect(&mut self, a: usize, b: usize) -> Result<(), NetError> {
        let (a_end, b_end) = Pipe::pair();
        let b_id = self.nodes[b].id();
        let act_one = self.nodes[a]
            .ldk
            .peer_manager
            .new_outbound_connection(b_id, a_end.clone(), None)
            .map_err(|e| NetError(format!("connect {a}->{b}: {e:?}")))?;
        a_end.write(&act_one);
        self.nodes[b]
            .ldk
            .peer_manager
            .new_inbound_connection(b_end.clone(), None)
            .map_err(|e| NetError(format!("accept {a}->{b}: {e:?}")))?;
        self.links.push(Link { a, b, a_end, b_end });
        self.pump()
    }

    /// Moves bytes and events until nothing moves (bounded; an error if it never settles).
    pub fn pump(&mut self) -> Result<(), NetError> {
        for _ in 0..MAX_ROUNDS {
            if !self.step()? {
                return Ok(());
            }
        }
        Err(NetError(format!(
            "the network did not settle in {MAX_ROUNDS} rounds"
        )))
    }

    /// One round: deliver every queued byte, let every node process its events. True when
    /// anything happened.
    pub fn step(&mut self) -> Result<bool, NetError> {
        let mut moved = false;
        for n in &self.nodes {
            n.ldk.peer_manager.process_events();
        }
        for l in &mut self.links {
            for dir in 0..2 {
                let (to, bytes) = if dir == 0 {
                    (l.b, l.a_end.take_written())
                } else {
                    (l.a, l.b_end.take_written())
                };
                let to_end = if dir == 0 { &mut l.b_end } else { &mut l.a_end };
                if bytes.is_empty() || to_end.is_closed() {
                    continue;
                }
                moved = true;
                if self.nodes[to]
                    .ldk
                    .peer_manager
                    .read_event(to_end, &bytes)
                    .is_err()
                {
                    to_end.disconnect_socket_both();
                }
            }
        }
        for i in 0..self.nodes.len() {
            moved |= self.handle_events(i)?;
        }
        Ok(moved)
    }

    fn handle_events(&mut self, i: usize) -> Result<bool, NetError> {
        let node = &self.nodes[i];
        let cm = &node.ldk.channel_manager;
        let mut moved = false;
        if cm.needs_pending_htlc_processing() {
            cm.process_pending_htlc_forwards();
            moved = true;
        }
        let got_cell: std::cell::RefCell<Vec<Event>> = std::cell::RefCell::default();
        let collect = |e: Event| {
            got_cell.borrow_mut().push(e);
            Ok(())
        };
        cm.process_pending_events(&collect);
        node.ldk.chain_monitor.process_pending_events(&collect);
        let got = got_cell.into_inner();
        if got.is_empty() {
            return Ok(moved);
        }
        let offers = node.ldk.foaf.offers();
        for e in &got {
            if node.routing.handle_event(e, &offers) {
                continue;
            }
            match e {
                // LDK 0.3 asks the application about every inbound channel; the harness
                // accepts all (its nodes open only the channels a test specified).
                Event::OpenChannelRequest {
                    temporary_channel_id,
                    counterparty_node_id,
                    ..
                } => {
                    cm.accept_inbound_channel(temporary_channel_id, counterparty_node_id, 0, None)
                        .map_err(|e| NetError(format!("accept channel: {e:?}")))?;
                }
                Event::FundingGenerationReady {
                    temporary_channel_id,
                    counterparty_node_id,
                    channel_value_satoshis,
                    output_script,
                    ..
                } => {
                    let tx = funding_tx(self.next_funding, *channel_value_satoshis, output_script);
                    self.next_funding += 1;
                    cm.funding_transaction_generated(
                        *temporary_channel_id,
                        *counterparty_node_id,
                        tx,
                    )
                    .map_err(|e| NetError(format!("funding: {e:?}")))?;
                }
                Event::PaymentClaimable { purpose, .. } => {
                    if let Some(p) = purpose.preimage() {
                        cm.claim_funds(p);
                    }
                }
                _ => {}
            }
        }
        if let Ok(mut v) = node.events.lock() {
            v.extend(got);
        }
        Ok(true)
    }

    /// Mines `n` blocks (the first with everything broadcast so far) and tells every node.
    pub fn mine(&mut self, n: u32) -> Result<(), NetError> {
        for k in 0..n {
            let txs = if k == 0 {
                self.mempool.drain()
            } else {
                Vec::new()
            };
            let (block, height) = self.chain.next_block(txs);
            for node in &self.nodes {
                node.ldk.channel_manager.block_connected(&block, height);
                node.ldk.chain_monitor.block_connected(&block, height);
            }
        }
        self.pump()
    }

    /// Opens the channels, mines until they are announced, and exchanges gossip.
    pub fn open_channels(&mut self, specs: &[ChannelSpec]) -> Result<(), NetError> {
        for (k, s) in specs.iter().enumerate() {
            if !self
                .links
                .iter()
                .any(|l| (l.a, l.b) == (s.a, s.b) || (l.a, l.b) == (s.b, s.a))
            {
                self.connect(s.a, s.b)?;
            }
            let b_id = self.nodes[s.b].id();
            self.nodes[s.a]
                .ldk
                .channel_manager
                .create_channel(b_id, s.capacity_sat, s.push_msat, k as u128, None, None)
                .map_err(|e| NetError(format!("open {}->{}: {e:?}", s.a, s.b)))?;
            self.pump()?;
        }
        self.specs.extend_from_slice(specs);
        // Funding confirms at 1 block; BOLT #7 announcements need 6 confirmations.
        self.mine(1)?;
        self.mine(6)?;
        for n in &self.nodes {
            n.ldk.channel_manager.timer_tick_occurred();
            n.ldk.peer_manager.timer_tick_occurred();
        }
        self.pump()?;
        self.refresh_aliases();
        let want = specs.len();
        for (i, n) in self.nodes.iter().enumerate() {
            let known = n.ldk.graph.read_only().channels().len();
            if known < want {
                return Err(NetError(format!(
                    "node {i} knows {known} of {want} channels after announcement"
                )));
            }
        }
        Ok(())
    }

    /// Every node gives its channels intercept aliases and attaches them to its replies.
    pub fn refresh_aliases(&self) {
        for n in &self.nodes {
            n.ldk.foaf.set_reply_tlvs(n.routing.refresh_aliases());
            n.ldk.foaf.refresh();
        }
    }

    /// True while `a` has a live BOLT #8 connection to `b`.
    pub fn is_connected(&self, a: usize, b: usize) -> bool {
        self.nodes[a]
            .ldk
            .peer_manager
            .peer_by_node_id(&self.nodes[b].id())
            .is_some()
    }

    /// Every channel with both ends' balances, sorted by scid.
    pub fn channel_views(&self) -> Vec<ChannelView> {
        let mut out: Vec<ChannelView> = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            for c in n.channels() {
                let Some(j) = self.nodes.iter().position(|m| m.id() == c.peer) else {
                    continue;
                };
                if i > j {
                    continue;
                }
                let other = self.nodes[j]
                    .channels()
                    .into_iter()
                    .find(|x| x.scid == c.scid)
                    .map_or(0, |x| x.local_msat);
                out.push(ChannelView {
                    scid: c.scid,
                    a: i,
                    b: j,
                    a_msat: c.local_msat,
                    b_msat: other,
                });
            }
        }
        out.sort_by_key(|v| v.scid);
        out
    }

    /// Every node queries every peer (Push and Receive) and the answers are delivered: after
    /// this each node holds its peers' fresh offers and aliases.
    pub fn exchange_offers(&mut self, amt_msat: u64) -> Result<(), NetError> {
        self.refresh_aliases();
        let mut asks = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let mut peers: Vec<PublicKey> = n.channels().iter().map(|c| c.peer).collect();
            peers.sort();
            peers.dedup();
            for p in peers {
                asks.push((i, p));
            }
        }
        for (i, p) in asks {
            for flow in [Flow::Push, Flow::Receive] {
                // A refusal (rate limit) only means fewer offers.
                let _ = self.nodes[i].ldk.foaf.query(&p, flow, amt_msat);
            }
            self.pump()?;
        }
        Ok(())
    }

    /// Runs `rebalance_step` on node `i` and pumps until it settled or failed. Returns the
    /// payment id, or `None` when the planner had nothing.
    pub fn rebalance_once(&mut self, i: usize) -> Result<Option<PaymentId>, NetError> {
        self.nodes[i].ldk.foaf.refresh();
        let offers = self.nodes[i].ldk.foaf.offers();
        let sent = self.nodes[i]
            .routing
            .rebalance_step(&offers)
            .map_err(|e| NetError(format!("rebalance: {e}")))?;
        self.pump()?;
        Ok(sent)
    }

    /// Sends a payment of `amt_msat` from `from` to `to` over LDK's own router; pumps until it
    /// is done. True when it arrived.
    pub fn pay(&mut self, from: usize, to: usize, amt_msat: u64) -> Result<bool, NetError> {
        let payee = self.nodes[to].id();
        let (hash, secret, _) = self.nodes[to]
            .ldk
            .channel_manager
            .create_inbound_payment(Some(amt_msat), 600, None, None)
            .map_err(|()| NetError("create_inbound_payment".into()))?;
        let id = PaymentId(hash.0);
        let params = lightning::routing::router::RouteParameters::from_payment_params_and_value(
            lightning::routing::router::PaymentParameters::from_node_id(payee, 42),
            amt_msat,
        );
        let sent = self.nodes[from].ldk.channel_manager.send_payment(
            hash,
            lightning::ln::outbound_payment::RecipientOnionFields::secret_only(secret, amt_msat),
            id,
            params,
            lightning::ln::outbound_payment::Retry::Attempts(0),
        );
        if sent.is_err() {
            return Ok(false);
        }
        self.pump()?;
        Ok(self.nodes[from].count_events(
            |e| matches!(e, Event::PaymentSent { payment_id: Some(p), .. } if *p == id),
        ) > 0)
    }
}

/// How a two-hop payment's onion names the forwarding node's channel to the payee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextHop {
    /// The forwarding node's intercept alias for it (docs/bolt14.md §4.2.1): the route hint a
    /// payee gives for JIT on its last hop, and what a rebalance names.
    Alias,
    /// Its real short channel id: an ordinary forward over a public channel.
    Public,
    /// This SCID, which the forwarding node understands otherwise: e.g. an intercept SCID an
    /// LSP handed out for a JIT channel (LSPS2, examples/ldk-liquidity). Fee and CLTV delta as
    /// for the forwarding node's channel to the payee.
    Scid(u64),
}

/// A payment `from` → `via` → `to` with its onion written by hand.
#[derive(Debug, Clone, Copy)]
pub struct TwoHopPayment {
    /// Payer.
    pub from: usize,
    /// The forwarding node (a peer of both).
    pub via: usize,
    /// Payee.
    pub to: usize,
    /// What the payee gets.
    pub amt_msat: u64,
    /// How `via`'s outgoing channel is named.
    pub next: NextHop,
    /// `via`'s fee: its advertised one when `None` (0: a fee-free HTLC, as a rebalance's).
    pub fee_msat: Option<u64>,
    /// The payee's `cltv_expiry_delta`: blocks from now to the outgoing HTLC's expiry.
    pub final_cltv_delta: u32,
}

impl TwoHopPayment {
    /// `from` → `via` → `to`, `amt_msat`, over `next`, paying `via` its fee, with
    /// [`foaf_ldk::FINAL_CLTV_EXPIRY_DELTA`].
    pub fn new(from: usize, via: usize, to: usize, amt_msat: u64, next: NextHop) -> Self {
        Self {
            from,
            via,
            to,
            amt_msat,
            next,
            fee_msat: None,
            final_cltv_delta: foaf_ldk::FINAL_CLTV_EXPIRY_DELTA,
        }
    }
}

impl<CMH> Network<CMH>
where
    CMH: CustomMessageHandler + Clone,
{
    /// Starts a payment of `amt_msat` from `from` to `to` through their common peer `via`,
    /// naming `via`'s intercept alias for its channel to `to` in the onion (the route hint a
    /// payee gives when it wants JIT on its last hop, docs/ldk-harness.md). Pays `via` its
    /// advertised fee, or `fee_msat` when given (0: a fee-free HTLC, as a rebalance's). Does
    /// not pump: the caller steps the network.
    pub fn start_payment_via_alias(
        &mut self,
        from: usize,
        via: usize,
        to: usize,
        amt_msat: u64,
        fee_msat: Option<u64>,
    ) -> Result<PaymentId, NetError> {
        self.start_two_hop_payment(TwoHopPayment {
            fee_msat,
            ..TwoHopPayment::new(from, via, to, amt_msat, NextHop::Alias)
        })
    }

    /// Starts the payment `p` (see [`TwoHopPayment`]). Does not pump.
    pub fn start_two_hop_payment(&mut self, p: TwoHopPayment) -> Result<PaymentId, NetError> {
        let TwoHopPayment {
            from,
            via,
            to,
            amt_msat,
            next,
            fee_msat,
            final_cltv_delta,
        } = p;
        let (via_id, to_id) = (self.nodes[via].id(), self.nodes[to].id());
        let first = self.nodes[from]
            .channel_with(&via_id)
            .ok_or_else(|| NetError("no channel to the forwarding node".into()))?;
        let last = self.nodes[via]
            .channel_with(&to_id)
            .ok_or_else(|| NetError("no channel from the forwarding node to the payee".into()))?;
        let next_scid = match next {
            NextHop::Alias => self.nodes[via]
                .routing
                .alias_for(last.scid)
                .ok_or_else(|| {
                    NetError("the forwarding node has no alias for the channel".into())
                })?,
            NextHop::Public => last.scid.to_u64(),
            NextHop::Scid(scid) => scid,
        };
        let cfg = self.nodes[via]
            .ldk
            .channel_manager
            .list_channels()
            .into_iter()
            .find(|d| d.short_channel_id == Some(last.scid.to_u64()))
            .and_then(|d| d.config)
            .ok_or_else(|| NetError("no channel config".into()))?;
        let fee = fee_msat.unwrap_or_else(|| {
            u64::from(cfg.forwarding_fee_base_msat)
                + u64::from(cfg.forwarding_fee_proportional_millionths) * amt_msat / 1_000_000
        });
        let (hash, secret, _) = self.nodes[to]
            .ldk
            .channel_manager
            .create_inbound_payment(Some(amt_msat), 600, None, None)
            .map_err(|()| NetError("create_inbound_payment".into()))?;
        let hop = |pubkey, scid, fee_msat, cltv| lightning::routing::router::RouteHop {
            pubkey,
            node_features: lightning::types::features::NodeFeatures::empty(),
            short_channel_id: scid,
            channel_features: lightning::types::features::ChannelFeatures::empty(),
            fee_msat,
            cltv_expiry_delta: cltv,
            maybe_announced_channel: true,
        };
        let route = lightning::routing::router::Route {
            paths: vec![lightning::routing::router::Path {
                hops: vec![
                    hop(
                        via_id,
                        first.scid.to_u64(),
                        fee,
                        u32::from(cfg.cltv_expiry_delta),
                    ),
                    hop(to_id, next_scid, amt_msat, final_cltv_delta),
                ],
                blinded_tail: None,
            }],
            route_params: None,
        };
        let id = PaymentId(hash.0);
        self.nodes[from]
            .ldk
            .channel_manager
            .send_payment_with_route(
                route,
                hash,
                lightning::ln::outbound_payment::RecipientOnionFields::secret_only(
                    secret, amt_msat,
                ),
                id,
            )
            .map_err(|e| NetError(format!("send: {e:?}")))?;
        Ok(id)
    }

    /// `Some(true)` once `from` saw the payment succeed, `Some(false)` once it failed.
    pub fn payment_outcome(&self, from: usize, id: PaymentId) -> Option<bool> {
        let n = &self.nodes[from];
        if n.count_events(
            |e| matches!(e, Event::PaymentSent { payment_id: Some(p), .. } if *p == id),
        ) > 0
        {
            return Some(true);
        }
        if n.count_events(
            |e| matches!(e, Event::PaymentFailed { payment_id, .. } if *payment_id == id),
        ) > 0
        {
            return Some(false);
        }
        None
    }

    /// Steps until `done` holds (bounded).
    pub fn step_until(&mut self, done: impl Fn(&Self) -> bool) -> Result<(), NetError> {
        for _ in 0..MAX_ROUNDS {
            if done(self) {
                return Ok(());
            }
            if !self.step()? && !done(self) {
                return Err(NetError(
                    "the network settled before the condition held".into(),
                ));
            }
        }
        Err(NetError("condition not reached".into()))
    }
}

/// Capacity of every channel of [`triangle_network`], satoshi.
pub const TRIANGLE_CAPACITY_SAT: u64 = 1_000_000;

/// The network the tests and `foaf demo` use: five nodes A–E. A, B and C form a triangle whose
/// every channel sits 90/10 in the same rotational direction (A–B at A, B–C at B, C–A at C), so
/// one circular payment A→B→C→A lowers everybody's imbalance; D (a payer) has a channel to A
/// holding 90 % on D's side; B–D and C–E are balanced.
pub fn triangle_network(routing: Vec<RoutingConfig>) -> Result<Network, NetError> {
    let foaf = vec![foaf_peer::Config::default(); routing.len()];
    triangle_network_with(routing, foaf)
}

/// [`triangle_network`] with each node's BOLT #14 state machine configured.
pub fn triangle_network_with(
    routing: Vec<RoutingConfig>,
    foaf: Vec<foaf_peer::Config>,
) -> Result<Network, NetError> {
    let mut net = Network::with_node_configs(routing, foaf, None);
    let cap = TRIANGLE_CAPACITY_SAT;
    let tenth = cap * 100; // 10 % of the capacity, in msat
    let spec = |a, b, push_msat| ChannelSpec {
        a,
        b,
        capacity_sat: cap,
        push_msat,
    };
    net.open_channels(&[
        spec(0, 1, tenth),
        spec(1, 2, tenth),
        spec(2, 0, tenth),
        spec(3, 0, tenth),
        spec(1, 3, 5 * tenth),
        spec(2, 4, 5 * tenth),
    ])?;
    Ok(net)
}

/// A funding transaction paying `output_script`, spending a made-up segwit input (LDK only
/// checks that inputs carry a witness).
fn funding_tx(n: u64, value_sat: u64, output_script: &ScriptBuf) -> Transaction {
    let mut txid = [0u8; 32];
    txid[..8].copy_from_slice(&n.to_be_bytes());
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint {
                txid: Txid::from_byte_array(txid),
                vout: 0,
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::from_slice(&[[1u8; 72].as_slice()]),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(value_sat),
            script_pubkey: output_script.clone(),
        }],
    }
}
