//! # foaf-ldk-liquidity: BOLT #14 and LSPS in one LDK custom-message slot
//!
//! An LDK node that already speaks LSPS (`lightning-liquidity`'s `LiquidityManager`: LSPS0
//! discovery, LSPS2 JIT channels) has given `PeerManager`'s one custom-message slot to it. This
//! example shows the recipe of docs/interop.md with that slot shared:
//!
//! - [`FoafAndLsps`], made by `lightning-custom-message`'s `composite_custom_message_handler!`:
//!   message types 347/349 go to foaf-ldk's `FoafHandle`, 37913 (LSPS0's transport message,
//!   bLIP-50) to the `LiquidityManager`. The types are disjoint, so each message has exactly one
//!   reader (checked by `message_types_do_not_clash`); `init` features are the union (BOLT #14's
//!   bit 215, LSPS's 729).
//! - The send-only slot stays as the recipe has it: `SendOnlyPair` of the `ChainMonitor` and the
//!   BOLT #14 handle (foaf-ldk-net's node builds it that way for every node), so the V01/V08
//!   disconnects still happen.
//! - [`MemoryStore`]: the key-value store `LiquidityManager` needs (LDK's `KVStoreSync`), here in
//!   memory.
//!
//! [`lsp_network`] builds three real LDK nodes on foaf-ldk-net's in-process network (a chain we
//! build, BOLT #8 over in-memory sockets): a client, an LSP (LSPS2 service), and a peer of the
//! LSP. `cargo run --manifest-path examples/ldk-liquidity/Cargo.toml` runs the exchanges and
//! prints them; the tests check them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod store;

use std::sync::Arc;
use std::time::Duration;

use foaf_ldk::{Clock, RoutingConfig};
use foaf_ldk_net::chain::Mempool;
use foaf_ldk_net::node::{CustomSlot, NetChannelManager, NetFoafHandle};
use foaf_ldk_net::{ChannelSpec, NetError, Network, NextHop, TwoHopPayment};
use foaf_policy::Offer;
use foaf_wire::{Flow, QueryFoafBalances, ReplyFoafBalances};
use lightning::bitcoin::secp256k1::PublicKey;
use lightning::events::Event;
use lightning::ln::channelmanager::PaymentId;
use lightning::sign::KeysManager;
use lightning_custom_message::composite_custom_message_handler;
use lightning_liquidity::events::LiquidityEvent;
use lightning_liquidity::lsps0::event::LSPS0ClientEvent;
use lightning_liquidity::lsps0::ser::{LSPSDateTime, LSPS_MESSAGE_TYPE_ID};
use lightning_liquidity::lsps2::client::LSPS2ClientConfig;
use lightning_liquidity::lsps2::event::{LSPS2ClientEvent, LSPS2ServiceEvent};
use lightning_liquidity::lsps2::msgs::{LSPS2OpeningFeeParams, LSPS2RawOpeningFeeParams};
use lightning_liquidity::lsps2::service::LSPS2ServiceConfig;
use lightning_liquidity::utils::time::TimeProvider;
use lightning_liquidity::{LiquidityClientConfig, LiquidityManagerSync, LiquidityServiceConfig};

pub use store::MemoryStore;

/// The harness clock as LSPS's time source (the fee menu's `valid_until`), so the whole run
/// reads one clock.
pub struct HarnessTime(pub Clock);

impl TimeProvider for HarnessTime {
    fn duration_since_epoch(&self) -> Duration {
        (self.0)().since_epoch()
    }
}

/// `lightning-liquidity`'s handler on a harness node.
pub type Liquidity = LiquidityManagerSync<
    Arc<KeysManager>,
    Arc<KeysManager>,
    Arc<NetChannelManager>,
    Arc<MemoryStore>,
    Arc<HarnessTime>,
    Arc<Mempool>,
>;

/// BOLT #14's two message types (foaf-ldk's defaults, `AdapterConfig::types`).
const FOAF_QUERY: u16 = QueryFoafBalances::DEFAULT_TYPE;
const FOAF_REPLY: u16 = ReplyFoafBalances::DEFAULT_TYPE;

composite_custom_message_handler!(
    pub struct FoafAndLsps {
        pub foaf: NetFoafHandle,
        pub lsps: Liquidity,
    }

    pub enum FoafOrLspsMessage {
        Foaf(FOAF_QUERY | FOAF_REPLY),
        Lsps(LSPS_MESSAGE_TYPE_ID),
    }
);

/// The custom-message slot of every node of [`lsp_network`].
pub type Slot = Arc<FoafAndLsps>;

/// Node roles in [`lsp_network`].
pub const CLIENT: usize = 0;
/// The LSP: LSPS2 service.
pub const LSP: usize = 1;
/// Another channel peer of the LSP (its channel is what the LSP offers in BOLT #14).
pub const PEER: usize = 2;

/// The LSP's LSPS2 promise secret (signs the fee menus it hands out).
const PROMISE_SECRET: [u8; 32] = [0x5a; 32];

/// What each node serves and uses of LSPS: the LSP the LSPS2 service (advertised: feature bit
/// 729), the client the LSPS2 client; the third node neither (LSPS0 discovery only).
fn liquidity_configs(
    i: usize,
) -> (
    Option<LiquidityServiceConfig>,
    Option<LiquidityClientConfig>,
) {
    let service = LiquidityServiceConfig {
        lsps1_service_config: None,
        lsps2_service_config: Some(LSPS2ServiceConfig {
            promise_secret: PROMISE_SECRET,
        }),
        lsps5_service_config: None,
        advertise_service: true,
    };
    let client = LiquidityClientConfig {
        lsps1_client_config: None,
        lsps2_client_config: Some(LSPS2ClientConfig {}),
        lsps5_client_config: None,
    };
    match i {
        LSP => (Some(service), None),
        CLIENT => (None, Some(client)),
        _ => (None, None),
    }
}

/// A `LiquidityManager` for a harness node, persisting into `store`.
pub fn liquidity(
    slot: &CustomSlot<'_>,
    i: usize,
    store: Arc<MemoryStore>,
) -> Result<Liquidity, NetError> {
    let (service, client) = liquidity_configs(i);
    LiquidityManagerSync::new_with_custom_time_provider(
        Arc::clone(slot.keys),
        Arc::clone(slot.keys),
        Arc::clone(slot.channel_manager),
        store,
        Arc::clone(slot.mempool),
        service,
        client,
        Arc::new(HarnessTime(Arc::clone(slot.clock))),
    )
    .map_err(|e| NetError(format!("LiquidityManager of node {i}: {e}")))
}

/// Capacity of each channel of [`lsp_network`], satoshi.
pub const CAPACITY_SAT: u64 = 1_000_000;

/// Three LDK nodes, every one with [`FoafAndLsps`] in its custom-message slot and its own
/// [`MemoryStore`] (`stores[i]`): the client and the LSP share a channel (the LSP holds 10 %),
/// the LSP and the peer another (the LSP holds 90 %), so BOLT #14's default policy has the LSP
/// offer to push on its channel to the peer (A01: toward its target ratio).
pub fn lsp_network(stores: &[Arc<MemoryStore>; 3]) -> Result<Network<Slot>, NetError> {
    let mut net = Network::with_custom_handlers(
        vec![RoutingConfig::new(); 3],
        vec![foaf_peer::Config::default(); 3],
        None,
        |i, slot| {
            Ok(Arc::new(FoafAndLsps {
                foaf: slot.foaf.clone(),
                lsps: liquidity(&slot, i, Arc::clone(&stores[i]))?,
            }))
        },
    )?;
    let tenth = CAPACITY_SAT * 100; // 10 % of the capacity, msat
    net.open_channels(&[
        ChannelSpec {
            a: LSP,
            b: CLIENT,
            capacity_sat: CAPACITY_SAT,
            push_msat: 9 * tenth,
        },
        ChannelSpec {
            a: LSP,
            b: PEER,
            capacity_sat: CAPACITY_SAT,
            push_msat: tenth,
        },
    ])?;
    Ok(net)
}

/// The payment the client wants a JIT channel for (LSPS2 `buy`), msat.
pub const JIT_PAYMENT_MSAT: u64 = 50_000_000;

/// The `cltv_expiry_delta` the LSP asks for on the JIT channel's intercept hop: LDK's default,
/// that of the LSP's channels (the harness writes the payer's onion with the delta of the LSP's
/// channel to the client, `NextHop::Scid`).
pub const JIT_CLTV_EXPIRY_DELTA: u32 = 72;

/// The LSP's application: answers every pending LSPS2 request. `get_info` gets one fee menu
/// entry valid for an hour (an LSP's policy decides these numbers; these are an example's),
/// `buy` an intercept SCID of the LSP's `ChannelManager` (the client puts it in its invoice's
/// route hint; an HTLC to it opens the JIT channel). Returns the requests answered as
/// `(client, method)`.
pub fn serve_lsps2(net: &Network<Slot>) -> Result<Vec<(PublicKey, &'static str)>, NetError> {
    let node = &net.nodes[LSP].ldk;
    let lsps = &node.custom.lsps;
    let service = lsps
        .lsps2_service_handler()
        .ok_or_else(|| NetError("the LSP has no LSPS2 service".into()))?;
    let failed = |e| NetError(format!("LSPS2 service: {e:?}"));
    let mut answered = Vec::new();
    for event in lsps.get_and_clear_pending_events() {
        match event {
            LiquidityEvent::LSPS2Service(LSPS2ServiceEvent::GetInfo {
                request_id,
                counterparty_node_id,
                ..
            }) => {
                let valid_until = Duration::from_secs(net.clock.now() + 3600);
                let menu = vec![LSPS2RawOpeningFeeParams {
                    min_fee_msat: 10_000,
                    proportional: 1_000,
                    valid_until: LSPSDateTime::new_from_duration_since_epoch(valid_until),
                    min_lifetime: 144,
                    max_client_to_self_delay: 2016,
                    min_payment_size_msat: 1_000_000,
                    max_payment_size_msat: 100_000_000,
                }];
                service
                    .opening_fee_params_generated(&counterparty_node_id, request_id, menu)
                    .map_err(failed)?;
                answered.push((counterparty_node_id, "get_info"));
            }
            LiquidityEvent::LSPS2Service(LSPS2ServiceEvent::BuyRequest {
                request_id,
                counterparty_node_id,
                ..
            }) => {
                let scid = node.channel_manager.get_intercept_scid();
                service
                    .invoice_parameters_generated(
                        &counterparty_node_id,
                        request_id,
                        scid,
                        JIT_CLTV_EXPIRY_DELTA,
                        false,
                        u128::from(scid),
                    )
                    .map_err(failed)?;
                answered.push((counterparty_node_id, "buy"));
            }
            _ => {}
        }
    }
    Ok(answered)
}

/// How much the client asks the LSP about in BOLT #14 (msat): 10 % of a channel.
pub const QUERY_AMT_MSAT: u64 = CAPACITY_SAT * 100;

/// What crossed the client–LSP connection in [`exchange`], as the client's application sees it.
#[derive(Debug, Clone)]
pub struct Transcript {
    /// The LSP's node id.
    pub lsp: PublicKey,
    /// The client's connected peers before the exchange.
    pub client_peers_before: Vec<PublicKey>,
    /// The client's connected peers after it.
    pub client_peers_after: Vec<PublicKey>,
    /// LSPS0 `list_protocols`: the protocols the LSP said it serves.
    pub lsps0_protocols: Option<Vec<u16>>,
    /// BOLT #14: the offers the client holds from the LSP's `reply_foaf_balances`.
    pub foaf_offers: Vec<Offer<PublicKey>>,
    /// LSPS2: the requests the LSP's application answered, `(client, method)`.
    pub lsp_answered: Vec<(PublicKey, &'static str)>,
    /// LSPS2 `get_info`: the fee menu the client received.
    pub lsps2_menu: Option<Vec<LSPS2OpeningFeeParams>>,
    /// LSPS2 `buy`: the intercept SCID the client received for its invoice's route hint.
    pub lsps2_intercept_scid: Option<u64>,
}

fn peers(net: &Network<Slot>, i: usize) -> Vec<PublicKey> {
    let mut v: Vec<PublicKey> = net.nodes[i]
        .ldk
        .peer_manager
        .list_peers()
        .into_iter()
        .map(|p| p.counterparty_node_id)
        .collect();
    v.sort();
    v
}

/// The client sends, at once, an LSPS0 `list_protocols`, a BOLT #14 `query_foaf_balances` and an
/// LSPS2 `get_info` to the LSP, then buys a JIT channel from the first fee menu entry (LSPS2
/// `buy`); the LSP's application answers both LSPS2 requests ([`serve_lsps2`]). Everything is
/// delivered over the one BOLT #8 connection the harness made between the two (it never
/// reconnects, so a connection dropped on the way would show in `client_peers_after`).
pub fn exchange(net: &mut Network<Slot>) -> Result<Transcript, NetError> {
    let lsp = net.nodes[LSP].id();
    let mut t = Transcript {
        lsp,
        client_peers_before: peers(net, CLIENT),
        client_peers_after: Vec::new(),
        lsps0_protocols: None,
        foaf_offers: Vec::new(),
        lsp_answered: Vec::new(),
        lsps2_menu: None,
        lsps2_intercept_scid: None,
    };
    {
        let client = &net.nodes[CLIENT].ldk.custom;
        client.lsps.lsps0_client_handler().list_protocols(&lsp);
        client
            .foaf
            .query(&lsp, Flow::Push, QUERY_AMT_MSAT)
            .map_err(|e| NetError(format!("query_foaf_balances refused: {e}")))?;
        client
            .lsps
            .lsps2_client_handler()
            .ok_or_else(|| NetError("the client has no LSPS2 client".into()))?
            .request_opening_params(lsp, None);
    }
    // Two rounds: `buy` needs `get_info`'s answer.
    for _ in 0..2 {
        net.pump()?;
        t.lsp_answered.extend(serve_lsps2(net)?);
        net.pump()?;
        client_events(net, &mut t)?;
    }
    t.foaf_offers = net.nodes[CLIENT]
        .ldk
        .foaf
        .offers()
        .into_iter()
        .filter(|o| o.peer == lsp)
        .collect();
    t.client_peers_after = peers(net, CLIENT);
    Ok(t)
}

/// The client's application: records the LSP's answers; buys from the first fee menu entry.
fn client_events(net: &Network<Slot>, t: &mut Transcript) -> Result<(), NetError> {
    let lsps = &net.nodes[CLIENT].ldk.custom.lsps;
    for event in lsps.get_and_clear_pending_events() {
        match event {
            LiquidityEvent::LSPS0Client(LSPS0ClientEvent::ListProtocolsResponse {
                counterparty_node_id,
                protocols,
            }) if counterparty_node_id == t.lsp => t.lsps0_protocols = Some(protocols),
            LiquidityEvent::LSPS2Client(LSPS2ClientEvent::OpeningParametersReady {
                counterparty_node_id,
                opening_fee_params_menu,
                ..
            }) if counterparty_node_id == t.lsp => {
                if let (Some(c), Some(first)) =
                    (lsps.lsps2_client_handler(), opening_fee_params_menu.first())
                {
                    c.select_opening_params(t.lsp, Some(JIT_PAYMENT_MSAT), first.clone())
                        .map_err(|e| NetError(format!("LSPS2 buy: {e:?}")))?;
                }
                t.lsps2_menu = Some(opening_fee_params_menu);
            }
            LiquidityEvent::LSPS2Client(LSPS2ClientEvent::InvoiceParametersReady {
                counterparty_node_id,
                intercept_scid,
                ..
            }) if counterparty_node_id == t.lsp => t.lsps2_intercept_scid = Some(intercept_scid),
            _ => {}
        }
    }
    Ok(())
}

/// What the LSP's LSPS2 service asked for when the JIT payment arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitOpen {
    /// The client the channel is for.
    pub client: PublicKey,
    /// What the LSP forwards once the channel is open (the payment less the opening fee).
    pub amt_to_forward_msat: u64,
    /// The opening fee, from the menu entry the client bought.
    pub opening_fee_msat: u64,
    /// The intercept SCID the payment named.
    pub intercept_scid: u64,
}

/// The peer pays the client [`JIT_PAYMENT_MSAT`] through the LSP, naming the intercept SCID
/// of the client's `buy` in the onion (as the client's invoice route hint says; zero fee and
/// the LSP's `cltv_expiry_delta`, LSPS2). The LSP's event handling runs as the recipe orders it:
/// `FoafRouting::handle_event` first (the harness does that for every event; an intercept SCID
/// that is not one of its BOLT #14 aliases is not FOAF's), then every `HTLCIntercepted` goes to
/// LSPS2's `htlc_intercepted`. Returns the payment's id and the channel opening LSPS2 then asks
/// the LSP for (the HTLC stays held until the LSP opens the channel, which the example does not
/// do: the payer's payment stays pending).
pub fn pay_through_jit_channel(
    net: &mut Network<Slot>,
    intercept_scid: u64,
) -> Result<(PaymentId, Option<JitOpen>), NetError> {
    let id = net.start_two_hop_payment(TwoHopPayment {
        fee_msat: Some(0),
        ..TwoHopPayment::new(
            PEER,
            LSP,
            CLIENT,
            JIT_PAYMENT_MSAT,
            NextHop::Scid(intercept_scid),
        )
    })?;
    net.pump()?;
    let node = &net.nodes[LSP];
    let intercepted: Vec<Event> = {
        let mut events = node
            .events
            .lock()
            .map_err(|_| NetError("event log poisoned".into()))?;
        let (taken, kept) = events
            .drain(..)
            .partition(|e| matches!(e, Event::HTLCIntercepted { .. }));
        *events = kept;
        taken
    };
    let lsps = &node.ldk.custom.lsps;
    let service = lsps
        .lsps2_service_handler()
        .ok_or_else(|| NetError("the LSP has no LSPS2 service".into()))?;
    for e in intercepted {
        if let Event::HTLCIntercepted {
            intercept_id,
            requested_next_hop_scid,
            payment_hash,
            inbound_amount_msat,
            expected_outbound_amount_msat,
            ..
        } = e
        {
            service
                .htlc_intercepted(
                    requested_next_hop_scid,
                    intercept_id,
                    expected_outbound_amount_msat,
                    payment_hash,
                    inbound_amount_msat,
                )
                .map_err(|e| NetError(format!("LSPS2 htlc_intercepted: {e:?}")))?;
        }
    }
    let open = lsps
        .get_and_clear_pending_events()
        .into_iter()
        .find_map(|e| match e {
            LiquidityEvent::LSPS2Service(LSPS2ServiceEvent::OpenChannel {
                their_network_key,
                amt_to_forward_msat,
                opening_fee_msat,
                intercept_scid,
                ..
            }) => Some(JitOpen {
                client: their_network_key,
                amt_to_forward_msat,
                opening_fee_msat,
                intercept_scid,
            }),
            _ => None,
        });
    Ok((id, open))
}
