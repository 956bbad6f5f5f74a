//! BOLT #14 and LSPS in one custom-message slot of real LDK nodes (foaf-ldk-net's network).

use std::sync::Arc;

use foaf_ldk_liquidity::{
    exchange, liquidity, lsp_network, pay_through_jit_channel, FoafOrLspsMessage, JitOpen,
    MemoryStore, CLIENT, JIT_PAYMENT_MSAT, LSP, PEER, QUERY_AMT_MSAT,
};
use foaf_ldk_net::chain::Mempool;
use foaf_ldk_net::node::CustomSlot;
use foaf_wire::Flow;
use lightning::ln::wire::CustomMessageReader;
use lightning_liquidity::lsps0::ser::LSPS_MESSAGE_TYPE_ID;

fn stores() -> [Arc<MemoryStore>; 3] {
    [(); 3].map(|()| Arc::new(MemoryStore::new()))
}

// Issue #14 item 5: an LDK app whose custom-message slot holds LSPS keeps it and adds BOLT #14.
// R: A01 (the LSP's reply offers its channel to the peer, not the one with the querier) and
// R: W01/W02 (347/349 reach foaf-ldk), next to LSPS0/LSPS2 on type 37913, on one connection.
#[test]
fn bolt14_and_lsps_answers_cross_one_connection() {
    let mut net = lsp_network(&stores()).unwrap();
    let t = exchange(&mut net).unwrap();
    let (client, lsp) = (net.nodes[CLIENT].id(), net.nodes[LSP].id());
    assert_eq!(t.client_peers_before, vec![lsp]);
    assert_eq!(t.client_peers_after, vec![lsp], "the connection was kept");

    // LSPS0: the LSP serves LSPS2 (and says so).
    assert_eq!(t.lsps0_protocols, Some(vec![2]));
    // LSPS2: the LSP's application saw both requests; the menu and the intercept SCID came back.
    assert_eq!(t.lsp_answered, vec![(client, "get_info"), (client, "buy")]);
    let menu = t.lsps2_menu.expect("no LSPS2 fee menu reached the client");
    assert_eq!(menu.len(), 1);
    assert_eq!(menu[0].min_fee_msat, 10_000);
    assert_eq!(menu[0].proportional, 1_000);
    assert!(t.lsps2_intercept_scid.is_some(), "no LSPS2 buy answer");

    // BOLT #14: exactly the LSP's channel to the peer, in the direction and amount asked.
    let peer = net.nodes[PEER].id();
    let to_peer = net.nodes[LSP].channel_with(&peer).unwrap().scid;
    assert_eq!(t.foaf_offers.len(), 1, "{:?}", t.foaf_offers);
    let offer = &t.foaf_offers[0];
    assert_eq!(
        (offer.peer, offer.scid, offer.flow, offer.amt_msat),
        (lsp, to_peer, Flow::Push, QUERY_AMT_MSAT)
    );
}

// The composite gives each type to one handler: 347/349 to BOLT #14, 37913 to LSPS, anything
// else to neither (LDK then treats it as an unknown message, BOLT #1).
#[test]
fn message_types_do_not_clash() {
    assert!(![347, 349].contains(&LSPS_MESSAGE_TYPE_ID));
    let net = lsp_network(&stores()).unwrap();
    let slot = &net.nodes[CLIENT].ldk.custom;
    let query = foaf_wire::QueryFoafBalances::DEFAULT_TYPE;
    let reply = foaf_wire::ReplyFoafBalances::DEFAULT_TYPE;
    for t in [query, reply] {
        let got = slot.read(t, &mut &[0u8; 4][..]).unwrap();
        assert!(matches!(got, Some(FoafOrLspsMessage::Foaf(_))), "type {t}");
    }
    let lsps = br#"{"jsonrpc":"2.0","id":"x","method":"lsps0.list_protocols","params":{}}"#;
    let got = slot.read(LSPS_MESSAGE_TYPE_ID, &mut &lsps[..]).unwrap();
    assert!(matches!(got, Some(FoafOrLspsMessage::Lsps(_))));
    assert!(slot.read(33_333, &mut &[0u8; 4][..]).unwrap().is_none());
}

// LiquidityManager keeps its state in the KV store it is given: the JIT channel the client
// bought (LSPS2 `buy`) is still known to a LiquidityManager started anew on the LSP's store
// (what a restart of the LSP does), and unknown to one started on an empty store.
#[test]
fn jit_channel_survives_a_restart_through_the_store() {
    let stores = stores();
    let mut net = lsp_network(&stores).unwrap();
    let t = exchange(&mut net).unwrap();
    let scid = t.lsps2_intercept_scid.expect("no LSPS2 buy answer");
    assert!(net.nodes[LSP].ldk.custom.lsps.persist().unwrap());

    let node = &net.nodes[LSP].ldk;
    let clock = net.clock.clock();
    let mempool = Arc::new(Mempool::default());
    let restart = |store: &Arc<MemoryStore>| {
        let slot = CustomSlot {
            keys: &node.keys,
            channel_manager: &node.channel_manager,
            mempool: &mempool,
            clock: &clock,
            foaf: &node.foaf,
        };
        liquidity(&slot, LSP, Arc::clone(store)).unwrap()
    };
    let client = net.nodes[CLIENT].id();
    // The LSP's application named the JIT channel by its intercept SCID (`serve_lsps2`).
    let user_channel_id = u128::from(scid);
    let fresh = restart(&Arc::new(MemoryStore::new()));
    let err = fresh
        .lsps2_service_handler()
        .unwrap()
        .channel_open_abandoned(&client, user_channel_id);
    assert!(err.is_err(), "an empty store knows no JIT channel");
    let restarted = restart(&stores[LSP]);
    restarted
        .lsps2_service_handler()
        .unwrap()
        .channel_open_abandoned(&client, user_channel_id)
        .expect("the restarted LSP lost the JIT channel the client bought");
}

// LSPS2 on the LDK hop that also runs FoafRouting: an HTLC to the LSP's intercept SCID is not
// FOAF's (not one of its BOLT #14 aliases), so FoafRouting leaves it held for the app, and
// LSPS2 asks for the JIT channel with the fee of the menu entry bought (docs/interop.md
// recipe, step 4: `handle_event` returns false for other intercept SCIDs).
#[test]
fn foaf_routing_leaves_an_lsps2_intercept_to_the_lsp() {
    let mut net = lsp_network(&stores()).unwrap();
    let t = exchange(&mut net).unwrap();
    let scid = t.lsps2_intercept_scid.expect("no LSPS2 buy answer");
    let (payment, open) = pay_through_jit_channel(&mut net, scid).unwrap();
    let open = open.expect("LSPS2 asked for no channel");
    // Opening fee: max(min_fee 10 000 msat, 1 000 ppm of 50 000 000 msat) = 50 000 msat.
    assert_eq!(
        open,
        JitOpen {
            client: net.nodes[CLIENT].id(),
            amt_to_forward_msat: JIT_PAYMENT_MSAT - 50_000,
            opening_fee_msat: 50_000,
            intercept_scid: scid,
        }
    );
    // The LSP still holds the HTLC for the channel it is to open: nothing failed it back.
    assert_eq!(
        net.payment_outcome(PEER, payment),
        None,
        "the HTLC was failed before the JIT channel opened"
    );
    assert_eq!(
        net.nodes[LSP].count_routing(|_| true),
        0,
        "FoafRouting acted on an HTLC that was not FOAF's"
    );
}
