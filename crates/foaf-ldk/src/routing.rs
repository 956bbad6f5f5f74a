//! Fee-free rebalancing and JIT routing on a live LDK node (docs/bolt14.md §4, §5): the one
//! object an LDK application wires into its event handler.
//!
//! [`FoafRouting`] does three jobs, every decision taken by foaf-policy's functions:
//!
//! - **initiator** ([`FoafRouting::rebalance_step`]): `plan_rebalances` on the node's channels,
//!   the offers its peers made and the graph; the first step becomes a circular payment to
//!   ourselves ([`circular_route`]) with a fresh preimage. On failure the erring channel's
//!   offers are set aside for [`RoutingConfig::exclude_secs`] and the next call re-plans (R-REB-8).
//! - **hop** (on `Event::HTLCIntercepted` for one of our aliases): an HTLC that pays less than
//!   the outgoing channel's fee is forwarded at zero fee only when `check_fee_free_forward`
//!   (R-REB-5…R-REB-7) says so; otherwise it is failed as for an unknown channel.
//! - **JIT** (an intercepted HTLC that pays the fee but finds the channel short): `jit_decide`;
//!   the HTLC is held, the refill rebalance runs, and the HTLC is forwarded unchanged once the
//!   refill settled before the deadline (R-JIT-6) or handed to LDK's ordinary forwarding at the
//!   deadline or on failure, which fails it with `temporary_channel_failure` (R-JIT-5).
//!
//! Where the hooks are (LDK 0.3, `UserConfig::htlc_interception_flags`):
//! `HTLCInterceptionFlags::ToPublicChannels` hands us every ordinary forward to one of our
//! public channels, after LDK checked its fee and CLTV delta: the JIT path. A zero-fee HTLC on a
//! real short channel id never gets that far (LDK fails it `fee_insufficient` first), so a hop
//! publishes one alias per channel to its peers (the `intercept_aliases` record of
//! `reply_foaf_balances`, docs/bolt14.md §4.2.1), and `ToInterceptSCIDs` hands us HTLCs for
//! those: the zero-fee path (and JIT for a payer who named the alias). docs/ldk-harness.md
//! explains the choice.
//!
//! Time is a [`foaf_peer::Timestamp`] (nanoseconds): the hold deadline, the R-REB-7 budget
//! window and the R-REB-8 exclusion are exact, not rounded to the second.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use foaf_peer::Timestamp;
use foaf_policy::{
    check_fee_free_forward, jit_decide, plan_rebalances, Channel, ChannelGraph, CircularRebalance,
    FeeFreeForward, FeeFreeRefusal, HopConfig, HtlcToForward, JitConfig, JitDecision, JitFailure,
    Offer, PlannerConfig,
};
use foaf_wire::{
    decode_intercept_aliases, encode_intercept_aliases, InterceptAlias, Message, ShortChannelId,
    TlvStream,
};
use lightning::bitcoin::secp256k1::PublicKey;
use lightning::events::{Event, PaymentPurpose};
use lightning::ln::channel_state::ChannelDetails;
use lightning::ln::channelmanager::{AChannelManager, InterceptId, PaymentId};
use lightning::ln::outbound_payment::RecipientOnionFields;
use lightning::routing::gossip::NetworkGraph;
use lightning::types::payment::PaymentHash;
use lightning::util::logger::Logger;

use crate::circular::{circular_route, CircularRouteError};
use crate::handler::{Clock, FoafEvent};
use crate::source::channel_from_details;
use crate::state_machine::FeeFreeMove;

/// Test-only ways to break one rule, so the tests can show they catch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoutingFault {
    /// The hop forwards every zero-fee HTLC without asking `check_fee_free_forward` (R-REB-5).
    HopForwardsEverything,
    /// A zero-fee HTLC the hop cannot forward goes to JIT like a paying one (R-JIT-3).
    JitOnFeeFree,
    /// A held HTLC is forwarded even when its refill settled after the deadline (R-JIT-4).
    IgnoreDeadline,
    /// The initiator sends a quarter of its planned amount around the cycle backwards: a step
    /// `plan_rebalances` would never propose, which raises its G (R-REB-4).
    ReverseCycle,
    /// JIT starts however close the outgoing HTLC is to its expiry (R-JIT-4's 18 blocks).
    JitNearExpiry,
    /// Held HTLCs' deadlines are counted in whole seconds, as before `Timestamp` (R-JIT-4).
    WholeSecondDeadline,
    /// A second HTLC to a peer starts its own refill while one is in flight (R-JIT-3).
    ManyJitsPerPeer,
}

/// The offers this node made, as the hop needs them for R-REB-6 ("a hop MAY require that it
/// offered this move … and then MUST NOT forward more than it offered", docs/bolt14.md §4.2).
/// Implemented by [`crate::FoafHandler`]: its state machine records every reply it sends.
pub trait OwnOffers: Send + Sync {
    /// The timestamp (unix seconds) of our reply that offered `fee_free_move`, with its whole
    /// amount not yet forwarded; `None` when no offer of ours covers it.
    fn offered_at(&self, fee_free_move: FeeFreeMove) -> Option<u64>;
    /// We forwarded `fee_free_move`: it counts against the offer.
    fn note_forwarded(&self, fee_free_move: FeeFreeMove);
}

/// Knobs. `Default` gives docs/bolt14.md's values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoutingConfig {
    /// The initiator's planner (R-REB-1…R-REB-4).
    pub planner: PlannerConfig,
    /// The hop's check (R-REB-5…R-REB-7). `hop.require_offer` (R-REB-6, off by default) needs
    /// the offers we made: [`FoafRouting::with_own_offers`]; without them every fee-free HTLC
    /// is refused (`NoFreshOffer`).
    pub hop: HopConfig,
    /// JIT (R-JIT-1…R-JIT-7).
    pub jit: JitConfig,
    /// How long the offers of a channel that failed a rebalance are set aside (R-REB-8).
    /// Default 600 s (the offers' own lifetime).
    pub exclude_secs: u64,
    /// A rule broken on purpose (tests only).
    pub fault: Option<RoutingFault>,
}

impl RoutingConfig {
    /// The defaults (`exclude_secs` = 600).
    pub fn new() -> Self {
        Self {
            exclude_secs: 600,
            ..Self::default()
        }
    }
}

/// What happened, for logs, the demo and tests.
#[derive(Debug, Clone, PartialEq)]
pub enum RoutingEvent {
    /// We sent a circular rebalance.
    RebalanceSent {
        /// Its payment id.
        payment_id: PaymentId,
        /// The plan step.
        rebalance: CircularRebalance<PublicKey>,
        /// Fees we pay (to alias-less hops), millisatoshi.
        fees_msat: u64,
        /// True for a JIT refill.
        jit: bool,
    },
    /// Our rebalance settled (the preimage came back).
    RebalanceSettled {
        /// Its payment id.
        payment_id: PaymentId,
    },
    /// Our rebalance failed.
    RebalanceFailed {
        /// Its payment id.
        payment_id: PaymentId,
        /// The channel that refused, as far as the error says (real scid).
        erring_scid: Option<ShortChannelId>,
    },
    /// As a hop, we forwarded a zero-fee HTLC (R-REB-5 held).
    HopForwarded {
        /// In on.
        in_scid: ShortChannelId,
        /// Out on.
        out_scid: ShortChannelId,
        /// Amount.
        amount_msat: u64,
    },
    /// As a hop, we refused a zero-fee HTLC.
    HopRefused {
        /// In on (if found).
        in_scid: Option<ShortChannelId>,
        /// Out on.
        out_scid: ShortChannelId,
        /// Amount.
        amount_msat: u64,
        /// Why (`None`: not a valid request, e.g. it pays out more than it brings in).
        refusal: Option<FeeFreeRefusal>,
    },
    /// A paying HTLC found its channel short: held while a refill runs.
    JitHeld {
        /// The HTLC.
        intercept_id: InterceptId,
        /// The refill's payment.
        payment_id: PaymentId,
        /// When it is released whatever happened (`jit_timeout` after it arrived).
        hold_until: Timestamp,
    },
    /// A paying HTLC was forwarded (at once, or after its refill).
    JitForwarded {
        /// The HTLC.
        intercept_id: InterceptId,
        /// The channel.
        scid: ShortChannelId,
        /// True when a refill ran first.
        after_refill: bool,
    },
    /// A paying HTLC was released to LDK's ordinary forwarding without a refill (which fails it
    /// with `temporary_channel_failure` when the balance is still missing).
    JitReleased {
        /// The HTLC.
        intercept_id: InterceptId,
        /// Why.
        reason: JitRelease,
    },
}

/// Why a held (or never held) paying HTLC was released without a refill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JitRelease {
    /// `jit_decide` said fail.
    Decided(JitFailure),
    /// The refill failed.
    RefillFailed,
    /// The deadline passed first (R-JIT-4).
    Deadline,
    /// Sending the refill failed locally.
    SendFailed,
    /// A refill for an HTLC to the same peer is already in flight (R-JIT-3: at most one).
    Busy,
}

/// Receives every [`RoutingEvent`].
pub type RoutingSink = Arc<dyn Fn(&RoutingEvent) + Send + Sync>;

#[derive(Debug, Clone)]
struct InFlight {
    hash: PaymentHash,
    /// The short channel id each hop's onion names (an alias or the real one), with the real one.
    onion_scids: Vec<(u64, ShortChannelId)>,
    jit: Option<InterceptId>,
}

#[derive(Debug, Clone)]
struct Held {
    scid: ShortChannelId,
    channel: lightning::ln::types::ChannelId,
    peer: PublicKey,
    amount_msat: u64,
    hold_until: Timestamp,
}

/// An `Event::HTLCIntercepted` we handle.
struct Intercepted {
    id: InterceptId,
    /// Our real channel it is to go out on.
    out_scid: ShortChannelId,
    /// The onion named our alias for it (else the real scid: an ordinary public forward).
    via_alias: bool,
    payment_hash: PaymentHash,
    inbound_msat: u64,
    outbound_msat: u64,
    /// The outgoing HTLC's `cltv_expiry` (LDK 0.3 gives it).
    outgoing_expiry: Option<u32>,
}

#[derive(Default)]
struct State {
    /// Our aliases: alias → our real channel.
    my_aliases: BTreeMap<u64, ShortChannelId>,
    /// Peers' aliases: (peer, its channel) → alias.
    peer_aliases: BTreeMap<(PublicKey, ShortChannelId), u64>,
    /// Zero-fee volume forwarded per upstream peer: (peer, when, msat), oldest first.
    budget: VecDeque<(PublicKey, Timestamp, u64)>,
    in_flight: HashMap<PaymentId, InFlight>,
    held: HashMap<InterceptId, Held>,
    /// Channels whose offers are set aside until the given time (R-REB-8).
    excluded: BTreeMap<ShortChannelId, Timestamp>,
}

/// Most zero-fee forwards remembered for the R-REB-7 budget; older ones beyond it are forgotten
/// first (each is an HTLC we carried, so the real number is far smaller).
const MAX_BUDGET_ENTRIES: usize = 100_000;
/// Most aliases learned from one peer (a reply carries at most 4096 pairs).
const MAX_PEER_ALIASES: usize = 4096;

/// Fee-free rebalancing and JIT for one LDK node (module docs).
pub struct FoafRouting<CM: Deref, G: Deref>
where
    CM::Target: AChannelManager,
{
    channel_manager: CM,
    graph: G,
    config: RoutingConfig,
    clock: Clock,
    events: RoutingSink,
    state: Mutex<State>,
    /// The offers we made (R-REB-6), when the application gave them.
    own_offers: Option<Arc<dyn OwnOffers>>,
}

/// A channel as the policy sees it, with what LDK needs to forward over it.
struct Live {
    channel: Channel<PublicKey>,
    details: ChannelDetails,
}

impl<CM: Deref, G: Deref<Target = NetworkGraph<L>>, L: Deref> FoafRouting<CM, G>
where
    CM::Target: AChannelManager,
    L::Target: Logger,
{
    /// Routing for the node behind `channel_manager`, whose public graph is `graph`.
    pub fn new(
        channel_manager: CM,
        graph: G,
        config: RoutingConfig,
        clock: Clock,
        events: RoutingSink,
    ) -> Self {
        Self {
            channel_manager,
            graph,
            config,
            clock,
            events,
            state: Mutex::new(State::default()),
            own_offers: None,
        }
    }

    /// The hop learns what this node offered (R-REB-6): each fee-free HTLC is judged with the
    /// timestamp of the offer that covers it, and what is forwarded is counted against that
    /// offer. Pass the node's [`crate::FoafHandler`] (e.g. `foaf.0.clone()` of a
    /// [`crate::FoafHandle`]). Matters to the verdict only with `hop.require_offer`.
    pub fn with_own_offers(mut self, own: Arc<dyn OwnOffers>) -> Self {
        self.own_offers = Some(own);
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn emit(&self, e: RoutingEvent) {
        (self.events)(&e);
    }

    fn fault(&self, f: RoutingFault) -> bool {
        self.config.fault == Some(f)
    }

    fn now(&self) -> Timestamp {
        (self.clock)()
    }

    fn me(&self) -> PublicKey {
        self.channel_manager.get_cm().get_our_node_id()
    }

    fn live_channels(&self) -> Vec<Live> {
        self.channel_manager
            .get_cm()
            .list_channels()
            .into_iter()
            .filter_map(|d| {
                channel_from_details(&d).map(|channel| Live {
                    channel,
                    details: d,
                })
            })
            .collect()
    }

    /// The channel graph foaf-policy plans on: every channel of our LDK graph.
    fn policy_graph(&self) -> ChannelGraph<PublicKey> {
        let mut g = ChannelGraph::new();
        let ro = self.graph.read_only();
        for (scid, info) in ro.channels().unordered_iter() {
            if let (Ok(a), Ok(b)) = (info.node_one.as_pubkey(), info.node_two.as_pubkey()) {
                g.insert(ShortChannelId::from_u64(*scid), a, b);
            }
        }
        g
    }

    /// Gives every one of our channels an alias (new channels get a fresh intercept SCID, gone
    /// ones lose theirs) and returns the `intercept_aliases` record to attach to our replies
    /// (`FoafHandler::set_reply_tlvs`).
    pub fn refresh_aliases(&self) -> TlvStream {
        let channels = self.live_channels();
        let mut st = self.lock();
        st.my_aliases
            .retain(|_, s| channels.iter().any(|c| c.channel.scid == *s));
        for c in &channels {
            if !st.my_aliases.values().any(|s| *s == c.channel.scid) {
                let alias = self.channel_manager.get_cm().get_intercept_scid();
                st.my_aliases.insert(alias, c.channel.scid);
            }
        }
        let pairs: Vec<InterceptAlias> = st
            .my_aliases
            .iter()
            .map(|(alias, scid)| InterceptAlias {
                scid: *scid,
                alias: *alias,
            })
            .collect();
        let mut tlvs = TlvStream::new();
        if !pairs.is_empty() {
            tlvs.insert(
                foaf_wire::INTERCEPT_ALIASES_TLV,
                encode_intercept_aliases(&pairs),
            );
        }
        tlvs
    }

    /// Our alias for our channel `scid` (for a payee's route hint, JIT on the last hop).
    pub fn alias_for(&self, scid: ShortChannelId) -> Option<u64> {
        self.lock()
            .my_aliases
            .iter()
            .find(|(_, s)| **s == scid)
            .map(|(a, _)| *a)
    }

    /// Stores the aliases `peer` gave us (replacing its earlier ones). Pairs for channels that
    /// are not `peer`'s in our graph are dropped: a peer can only ask to be paid through its
    /// own channels.
    pub fn learn_peer_aliases(&self, peer: &PublicKey, pairs: &[InterceptAlias]) {
        let node = lightning::routing::gossip::NodeId::from_pubkey(peer);
        let ro = self.graph.read_only();
        let own: Vec<(ShortChannelId, u64)> = pairs
            .iter()
            .filter(|p| {
                ro.channel(p.scid.to_u64())
                    .is_some_and(|c| c.node_one == node || c.node_two == node)
            })
            .take(MAX_PEER_ALIASES)
            .map(|p| (p.scid, p.alias))
            .collect();
        drop(ro);
        let mut st = self.lock();
        st.peer_aliases.retain(|(p, _), _| p != peer);
        for (scid, alias) in own {
            st.peer_aliases.insert((*peer, scid), alias);
        }
    }

    /// The alias `peer` gave us for its channel `scid`, if we hold one.
    pub fn peer_alias(&self, peer: &PublicKey, scid: ShortChannelId) -> Option<u64> {
        self.lock().peer_aliases.get(&(*peer, scid)).copied()
    }

    /// Forgets `peer`'s aliases (it disconnected).
    pub fn forget_peer(&self, peer: &PublicKey) {
        self.lock().peer_aliases.retain(|(p, _), _| p != peer);
    }

    /// Learns from the BOLT #14 handler's events: a reply's `intercept_aliases` record (a
    /// malformed record is ignored, as if absent: the reply itself stays valid), a peer gone.
    /// Call it from the handler's `EventSink`.
    pub fn on_foaf_event(&self, e: &FoafEvent) {
        match e {
            FoafEvent::Received {
                peer,
                decoded: Ok(Message::Reply(r)),
                ..
            } => {
                if let Some(v) = r.tlvs.get(foaf_wire::INTERCEPT_ALIASES_TLV) {
                    if let Ok(pairs) = decode_intercept_aliases(v) {
                        self.learn_peer_aliases(peer, &pairs);
                    }
                }
            }
            FoafEvent::PeerDisconnected { peer } => self.forget_peer(peer),
            _ => {}
        }
    }

    /// The offers to plan with: `offers` minus those for channels set aside (R-REB-8).
    fn usable_offers(&self, offers: &[Offer<PublicKey>], now: Timestamp) -> Vec<Offer<PublicKey>> {
        let mut st = self.lock();
        st.excluded.retain(|_, until| *until > now);
        offers
            .iter()
            .filter(|o| !st.excluded.contains_key(&o.scid))
            .cloned()
            .collect()
    }

    /// Plans with `offers` (from `FoafHandler::offers`) and sends the first step, if any and if
    /// no rebalance of ours is in flight. Returns the payment id sent.
    pub fn rebalance_step(
        &self,
        offers: &[Offer<PublicKey>],
    ) -> Result<Option<PaymentId>, CircularRouteError> {
        if !self.lock().in_flight.is_empty() {
            return Ok(None);
        }
        let now = self.now();
        let me = self.me();
        let channels: Vec<Channel<PublicKey>> = self
            .live_channels()
            .into_iter()
            .map(|l| l.channel)
            .collect();
        let offers = self.usable_offers(offers, now);
        let graph = self.policy_graph();
        // foaf-policy counts offers' ages in whole seconds (an offer's lifetime is 600 s).
        let plan = plan_rebalances(
            &me,
            &channels,
            &offers,
            &graph,
            now.as_secs(),
            &self.config.planner,
        );
        let Some(mut step) = plan.into_iter().next() else {
            return Ok(None);
        };
        if self.fault(RoutingFault::ReverseCycle) {
            step.amount_msat /= 4;
            step.hops.reverse();
            for h in &mut step.hops {
                core::mem::swap(&mut h.from, &mut h.to);
                h.amount_msat = step.amount_msat;
            }
        }
        self.send_rebalance(step, None).map(Some)
    }

    fn send_rebalance(
        &self,
        r: CircularRebalance<PublicKey>,
        jit: Option<InterceptId>,
    ) -> Result<PaymentId, CircularRouteError> {
        let me = self.me();
        let aliases = self.lock().peer_aliases.clone();
        let route = circular_route(&me, &r, &self.graph, |hop, scid| {
            aliases.get(&(*hop, scid)).copied()
        })?;
        let fees_msat = route.paths[0].fee_msat();
        let onion_scids = route.paths[0]
            .hops
            .iter()
            .zip(&r.hops)
            .map(|(rh, h)| (rh.short_channel_id, h.scid))
            .collect();
        let cm = self.channel_manager.get_cm();
        let (hash, secret, _) = cm
            .create_inbound_payment(Some(r.amount_msat), 600, None, None)
            .map_err(|()| CircularRouteError::Overflow)?;
        // The hash is of a fresh random preimage: unique, so it names the payment too.
        let payment_id = PaymentId(hash.0);
        self.lock().in_flight.insert(
            payment_id,
            InFlight {
                hash,
                onion_scids,
                jit,
            },
        );
        if cm
            .send_payment_with_route(
                route,
                hash,
                RecipientOnionFields::secret_only(secret, r.amount_msat),
                payment_id,
            )
            .is_err()
        {
            self.lock().in_flight.remove(&payment_id);
            return Err(CircularRouteError::NotACycle);
        }
        self.emit(RoutingEvent::RebalanceSent {
            payment_id,
            rebalance: r,
            fees_msat,
            jit: jit.is_some(),
        });
        Ok(payment_id)
    }

    /// True while a rebalance of ours is in flight.
    pub fn is_rebalancing(&self) -> bool {
        !self.lock().in_flight.is_empty()
    }

    /// Handles the events that are ours: intercepted HTLCs for our aliases, and the payment
    /// events of our own rebalances (claiming them). Returns true when the event was ours; the
    /// application handles the rest as before. `offers` are the offers we hold (for JIT).
    pub fn handle_event(&self, event: &Event, offers: &[Offer<PublicKey>]) -> bool {
        match event {
            Event::HTLCIntercepted {
                intercept_id,
                requested_next_hop_scid,
                payment_hash,
                inbound_amount_msat,
                expected_outbound_amount_msat,
                outgoing_htlc_expiry_block_height,
            } => {
                let alias = self.lock().my_aliases.get(requested_next_hop_scid).copied();
                let (out_scid, via_alias) = match alias {
                    Some(scid) => (scid, true),
                    // An ordinary forward to one of our public channels
                    // (`HTLCInterceptionFlags::ToPublicChannels`): LDK already checked that it
                    // pays the channel's fee. Anything else (another app's intercept SCIDs,
                    // private channels) is the application's.
                    None if self.is_our_public_channel(*requested_next_hop_scid) => {
                        (ShortChannelId::from_u64(*requested_next_hop_scid), false)
                    }
                    None => return false,
                };
                self.on_intercepted(
                    Intercepted {
                        id: *intercept_id,
                        out_scid,
                        via_alias,
                        payment_hash: *payment_hash,
                        inbound_msat: *inbound_amount_msat,
                        outbound_msat: *expected_outbound_amount_msat,
                        outgoing_expiry: *outgoing_htlc_expiry_block_height,
                    },
                    offers,
                );
                true
            }
            Event::PaymentClaimable {
                payment_hash,
                purpose,
                ..
            } => {
                let ours = self
                    .lock()
                    .in_flight
                    .values()
                    .any(|f| f.hash == *payment_hash);
                if !ours {
                    return false;
                }
                if let PaymentPurpose::Bolt11InvoicePayment {
                    payment_preimage: Some(p),
                    ..
                } = purpose
                {
                    self.channel_manager.get_cm().claim_funds(*p);
                }
                true
            }
            Event::PaymentClaimed { payment_hash, .. } => self
                .lock()
                .in_flight
                .values()
                .any(|f| f.hash == *payment_hash),
            Event::PaymentSent {
                payment_id: Some(id),
                ..
            } => {
                let Some(f) = self.lock().in_flight.remove(id) else {
                    return false;
                };
                self.emit(RoutingEvent::RebalanceSettled { payment_id: *id });
                if let Some(iid) = f.jit {
                    self.refill_settled(iid);
                }
                true
            }
            Event::PaymentPathFailed {
                payment_id: Some(id),
                short_channel_id,
                ..
            } => {
                let st = self.lock();
                let Some(f) = st.in_flight.get(id) else {
                    return false;
                };
                // LDK names the channel after the node that failed; the offer that led us
                // there is usually on the channel into that node, so both are set aside
                // (R-REB-8: "drop the offers for the erring channel").
                let at = short_channel_id
                    .and_then(|s| f.onion_scids.iter().position(|(onion, _)| *onion == s));
                let erring: Vec<ShortChannelId> = at
                    .map(|k| {
                        f.onion_scids[k.saturating_sub(1)..=k]
                            .iter()
                            .map(|(_, real)| *real)
                            .collect()
                    })
                    .unwrap_or_default();
                drop(st);
                let until = self
                    .now()
                    .saturating_add(Duration::from_secs(self.config.exclude_secs));
                let mut st = self.lock();
                for s in erring {
                    st.excluded.insert(s, until);
                }
                true
            }
            Event::PaymentFailed { payment_id, .. } => {
                let Some(f) = self.lock().in_flight.remove(payment_id) else {
                    return false;
                };
                let erring = f
                    .onion_scids
                    .iter()
                    .map(|(_, real)| *real)
                    .find(|s| self.lock().excluded.contains_key(s));
                self.emit(RoutingEvent::RebalanceFailed {
                    payment_id: *payment_id,
                    erring_scid: erring,
                });
                if let Some(iid) = f.jit {
                    self.release(iid, JitRelease::RefillFailed);
                }
                true
            }
            Event::PaymentPathSuccessful { payment_id, .. } => {
                self.lock().in_flight.contains_key(payment_id)
            }
            _ => false,
        }
    }

    /// The clock moved: releases held HTLCs whose deadline passed (R-JIT-4).
    pub fn tick(&self) {
        let now = self.now();
        if self.fault(RoutingFault::IgnoreDeadline) {
            return;
        }
        let due: Vec<InterceptId> = self
            .lock()
            .held
            .iter()
            .filter(|(_, h)| self.past(now, h.hold_until))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.release(id, JitRelease::Deadline);
        }
    }

    /// Number of HTLCs held for a refill.
    pub fn held_count(&self) -> usize {
        self.lock().held.len()
    }

    /// True when `now` is past `deadline` (exactly; in whole seconds under the
    /// `WholeSecondDeadline` fault, which the tests use to show exactness matters).
    fn past(&self, now: Timestamp, deadline: Timestamp) -> bool {
        if self.fault(RoutingFault::WholeSecondDeadline) {
            now.as_secs() > deadline.as_secs()
        } else {
            now > deadline
        }
    }

    /// True when `scid` is one of our channels and announced (the forwards LDK hands us under
    /// `HTLCInterceptionFlags::ToPublicChannels`).
    fn is_our_public_channel(&self, scid: u64) -> bool {
        self.channel_manager
            .get_cm()
            .list_channels()
            .iter()
            .any(|d| d.short_channel_id == Some(scid) && d.is_announced)
    }

    fn on_intercepted(&self, htlc: Intercepted, offers: &[Offer<PublicKey>]) {
        let Intercepted {
            id,
            out_scid,
            via_alias,
            payment_hash,
            inbound_msat: inbound,
            outbound_msat: outbound,
            outgoing_expiry,
        } = htlc;
        let payment_hash = &payment_hash;
        let cm = self.channel_manager.get_cm();
        let live = self.live_channels();
        let Some(out) = live.iter().find(|l| l.channel.scid == out_scid) else {
            let _ = cm.fail_intercepted_htlc(id);
            return;
        };
        // The incoming channel: the one holding an HTLC with this hash and amount.
        let incoming = live.iter().find(|l| {
            l.details
                .pending_inbound_htlcs
                .iter()
                .any(|h| h.payment_hash == *payment_hash && h.amount_msat == inbound)
        });
        // R-JIT-4 counts the blocks left before the outgoing HTLC's expiry: LDK 0.3 says it.
        // For an event from an older LDK (`None`), a lower bound: the incoming expiry minus our
        // delta (LDK checked the onion asks no more).
        let outgoing_expiry = outgoing_expiry.unwrap_or_else(|| {
            let delta = out
                .details
                .config
                .map_or(0, |c| u32::from(c.cltv_expiry_delta));
            incoming
                .and_then(|l| {
                    l.details
                        .pending_inbound_htlcs
                        .iter()
                        .find(|h| h.payment_hash == *payment_hash && h.amount_msat == inbound)
                        .map(|h| h.cltv_expiry)
                })
                .map_or(0, |c| c.saturating_sub(delta))
        });
        let required_fee = out.details.config.map_or(0, |c| {
            u64::from(c.forwarding_fee_base_msat)
                + u64::from(c.forwarding_fee_proportional_millionths) * outbound / 1_000_000
        });
        // Never pay out more than came in: a forward conserves funds or is refused.
        let Some(fee) = inbound.checked_sub(outbound).filter(|_| incoming.is_some()) else {
            let _ = cm.fail_intercepted_htlc(id);
            self.emit(RoutingEvent::HopRefused {
                in_scid: incoming.map(|l| l.channel.scid),
                out_scid,
                amount_msat: outbound,
                refusal: None,
            });
            return;
        };
        let incoming = incoming
            .map(|l| l.channel.clone())
            .unwrap_or_else(|| out.channel.clone());
        let channels: Vec<Channel<PublicKey>> = live.iter().map(|l| l.channel.clone()).collect();
        // An HTLC that pays the channel's fee is an ordinary forward (JIT may serve it); one
        // that pays less is a fee-free rebalance, which never starts JIT (R-JIT-3, R-REB-9).
        // On a real scid LDK has checked the fee already (it fails an underpaying HTLC there
        // before interception), so only an alias can bring a fee-free one.
        let paying = !via_alias || fee >= required_fee;
        let broken_jit =
            self.fault(RoutingFault::JitOnFeeFree) && out.channel.local_msat < outbound;
        if paying || broken_jit {
            self.on_paying(id, out, &channels, outbound, outgoing_expiry, offers);
        } else {
            self.on_fee_free(id, &incoming, out, &channels, outbound);
        }
    }

    fn on_fee_free(
        &self,
        id: InterceptId,
        incoming: &Channel<PublicKey>,
        out: &Live,
        channels: &[Channel<PublicKey>],
        amount: u64,
    ) {
        let now = self.now();
        let window = Duration::from_secs(self.config.hop.budget_window_secs);
        let used: u64 = {
            let mut st = self.lock();
            while st
                .budget
                .front()
                .is_some_and(|(_, t, _)| now.checked_since(*t).is_some_and(|age| age >= window))
            {
                st.budget.pop_front();
            }
            st.budget
                .iter()
                .filter(|(p, _, _)| *p == incoming.peer)
                .map(|(_, _, a)| *a)
                .sum()
        };
        let fee_free_move = FeeFreeMove {
            in_scid: incoming.scid,
            out_scid: out.channel.scid,
            amount_msat: amount,
        };
        let fwd = FeeFreeForward {
            in_scid: incoming.scid,
            out_scid: out.channel.scid,
            amount_msat: amount,
            offered_at: self
                .own_offers
                .as_ref()
                .and_then(|own| own.offered_at(fee_free_move)),
            budget_used_msat: used,
        };
        let verdict = if self.fault(RoutingFault::HopForwardsEverything) {
            Ok(())
        } else {
            // `now` matters to foaf-policy only for R-REB-6's offer age (whole seconds).
            check_fee_free_forward(channels, &fwd, now.as_secs(), &self.config.hop)
        };
        let cm = self.channel_manager.get_cm();
        match verdict {
            Ok(()) => {
                let sent = cm.forward_intercepted_htlc(
                    id,
                    &out.details.channel_id,
                    out.channel.peer,
                    amount,
                );
                if sent.is_ok() {
                    let mut st = self.lock();
                    if st.budget.len() >= MAX_BUDGET_ENTRIES {
                        st.budget.pop_front();
                    }
                    st.budget.push_back((incoming.peer, now, amount));
                    drop(st);
                    if let Some(own) = &self.own_offers {
                        own.note_forwarded(fee_free_move);
                    }
                    self.emit(RoutingEvent::HopForwarded {
                        in_scid: incoming.scid,
                        out_scid: out.channel.scid,
                        amount_msat: amount,
                    });
                }
            }
            Err(refusal) => {
                let _ = cm.fail_intercepted_htlc(id);
                self.emit(RoutingEvent::HopRefused {
                    in_scid: Some(incoming.scid),
                    out_scid: out.channel.scid,
                    amount_msat: amount,
                    refusal: Some(refusal),
                });
            }
        }
    }

    fn on_paying(
        &self,
        id: InterceptId,
        out: &Live,
        channels: &[Channel<PublicKey>],
        amount: u64,
        outgoing_expiry: u32,
        offers: &[Offer<PublicKey>],
    ) {
        let now = self.now();
        let cm = self.channel_manager.get_cm();
        let height = cm.current_best_block().height;
        let blocks_to_expiry = if self.fault(RoutingFault::JitNearExpiry) {
            u32::MAX
        } else {
            outgoing_expiry.saturating_sub(height)
        };
        let htlc = HtlcToForward {
            out_scid: out.channel.scid,
            amount_msat: amount,
            blocks_to_expiry,
            fee_free: false,
        };
        let me = self.me();
        let offers = self.usable_offers(offers, now);
        let graph = self.policy_graph();
        let decision = jit_decide(
            &me,
            channels,
            &offers,
            &graph,
            now.as_secs(),
            &htlc,
            &self.config.jit,
        );
        match decision {
            JitDecision::Forward { scid } => {
                let target = self
                    .live_channels()
                    .into_iter()
                    .find(|l| l.channel.scid == scid);
                if let Some(t) = target {
                    let _ = cm.forward_intercepted_htlc(
                        id,
                        &t.details.channel_id,
                        t.channel.peer,
                        amount,
                    );
                    self.emit(RoutingEvent::JitForwarded {
                        intercept_id: id,
                        scid,
                        after_refill: false,
                    });
                }
            }
            JitDecision::Rebalance {
                rebalance,
                forward_on,
                ..
            } => {
                // R-JIT-4: `jit_timeout` from now, exactly (foaf-policy's `hold_until` is in
                // whole seconds).
                let hold_until =
                    now.saturating_add(Duration::from_secs(self.config.jit.hold_timeout_secs));
                let Some(t) = self
                    .live_channels()
                    .into_iter()
                    .find(|l| l.channel.scid == forward_on)
                else {
                    self.forward_or_fail(id, out, amount, JitRelease::SendFailed);
                    return;
                };
                // R-JIT-3: at most one refill in flight per outgoing peer; a second HTLC gets
                // the answer it would get without JIT.
                let busy = self.lock().held.values().any(|h| h.peer == t.channel.peer);
                if busy && !self.fault(RoutingFault::ManyJitsPerPeer) {
                    self.forward_or_fail(id, out, amount, JitRelease::Busy);
                    return;
                }
                let held = Held {
                    scid: forward_on,
                    channel: t.details.channel_id,
                    peer: t.channel.peer,
                    amount_msat: amount,
                    hold_until,
                };
                match self.send_rebalance(rebalance, Some(id)) {
                    Ok(pid) => {
                        self.lock().held.insert(id, held);
                        self.emit(RoutingEvent::JitHeld {
                            intercept_id: id,
                            payment_id: pid,
                            hold_until,
                        });
                    }
                    Err(_) => self.forward_or_fail(id, out, amount, JitRelease::SendFailed),
                }
            }
            JitDecision::Fail(JitFailure::UnknownChannel) => {
                let _ = cm.fail_intercepted_htlc(id);
                self.emit(RoutingEvent::JitReleased {
                    intercept_id: id,
                    reason: JitRelease::Decided(JitFailure::UnknownChannel),
                });
            }
            JitDecision::Fail(f) => self.forward_or_fail(id, out, amount, JitRelease::Decided(f)),
        }
    }

    /// Hands the HTLC to LDK's ordinary forwarding on its channel: it goes out if the balance is
    /// there, else LDK fails it with `temporary_channel_failure` and the channel's update,
    /// exactly the answer without JIT (R-JIT-5, R-JIT-7).
    fn forward_or_fail(&self, id: InterceptId, out: &Live, amount: u64, reason: JitRelease) {
        let _ = self.channel_manager.get_cm().forward_intercepted_htlc(
            id,
            &out.details.channel_id,
            out.channel.peer,
            amount,
        );
        self.emit(RoutingEvent::JitReleased {
            intercept_id: id,
            reason,
        });
    }

    fn release(&self, id: InterceptId, reason: JitRelease) {
        let Some(h) = self.lock().held.remove(&id) else {
            return;
        };
        let _ = self.channel_manager.get_cm().forward_intercepted_htlc(
            id,
            &h.channel,
            h.peer,
            h.amount_msat,
        );
        self.emit(RoutingEvent::JitReleased {
            intercept_id: id,
            reason,
        });
    }

    /// The refill of a held HTLC settled: forward it unchanged (R-JIT-6), unless the deadline
    /// passed without a [`FoafRouting::tick`] releasing it; then it is failed now.
    fn refill_settled(&self, id: InterceptId) {
        let now = self.now();
        let Some(h) = self.lock().held.remove(&id) else {
            return;
        };
        let cm = self.channel_manager.get_cm();
        if self.past(now, h.hold_until) && !self.fault(RoutingFault::IgnoreDeadline) {
            // LDK (0.2 and 0.3) can fail an intercepted HTLC only as `unknown_next_peer`;
            // calling `tick` often releases it at the deadline instead, as
            // `temporary_channel_failure` (module docs).
            let _ = cm.fail_intercepted_htlc(id);
            self.emit(RoutingEvent::JitReleased {
                intercept_id: id,
                reason: JitRelease::Deadline,
            });
            return;
        }
        let _ = cm.forward_intercepted_htlc(id, &h.channel, h.peer, h.amount_msat);
        self.emit(RoutingEvent::JitForwarded {
            intercept_id: id,
            scid: h.scid,
            after_refill: true,
        });
    }
}
