//! R-REB-6 on the LDK hop (docs/bolt14.md §4.2): "A hop MAY additionally require that it offered
//! this move … and then MUST NOT forward more than it offered." B answers one query of A's
//! (B can push `OFFER_AMT` out on B–C); then A sends fee-free HTLCs A→B→C through B's intercept
//! alias for B–C, as a rebalance's hop would see them. B's `FoafRouting` asks B's state machine
//! which offer of B's covers each (`FoafRouting::with_own_offers`, wired by the harness).
//!
//! `broken_r_reb_6_is_caught` switches on foaf-peer's `RReb6MoreThanOffered` at B and asserts
//! that the check then fails.

use foaf_ldk::{RoutingConfig, RoutingEvent};
use foaf_ldk_net::{triangle_network_with, Network};
use foaf_peer::{Config, Fault};
use foaf_policy::FeeFreeRefusal;
use foaf_wire::Flow;

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;
/// What A asks B about and B offers: 5 % of a channel, msat.
const OFFER_AMT: u64 = 50_000_000;

/// The triangle with B requiring its own offer (or not), B's state machine possibly broken, and
/// B's one offer made: its answer to A's Push query.
fn network(b_requires_offer: bool, b_fault: Option<Fault>) -> Network {
    let mut routing = vec![RoutingConfig::new(); 5];
    routing[B].hop.require_offer = b_requires_offer;
    let mut foaf = vec![Config::default(); 5];
    foaf[B].fault = b_fault;
    let mut net = triangle_network_with(routing, foaf).expect("network up");
    let b = net.nodes[B].id();
    net.nodes[A]
        .ldk
        .foaf
        .query(&b, Flow::Push, OFFER_AMT)
        .unwrap();
    net.pump().unwrap();
    let offered = net.nodes[A].ldk.foaf.offers();
    assert!(
        offered
            .iter()
            .any(|o| o.peer == b && o.amt_msat == OFFER_AMT && o.flow == Flow::Push),
        "B made no offer: {offered:?}"
    );
    net
}

/// A pays C `amt_msat` through B's alias for B–C at zero fee; true when it arrived.
fn fee_free_through_b(net: &mut Network, amt_msat: u64) -> bool {
    let id = net
        .start_payment_via_alias(A, B, C, amt_msat, Some(0))
        .unwrap();
    net.pump().unwrap();
    net.payment_outcome(A, id).expect("the payment ended")
}

/// How often B refused a fee-free HTLC for want of an offer of its own.
fn refused_without_offer(net: &Network) -> usize {
    net.nodes[B].count_routing(|e| {
        matches!(
            e,
            RoutingEvent::HopRefused {
                refusal: Some(FeeFreeRefusal::NoFreshOffer),
                ..
            }
        )
    })
}

#[test]
fn r_reb_6_hop_forwards_what_it_offered_and_not_more() {
    // R: R-REB-6: B requires its own offer. One msat above what B offered is refused
    // (NoFreshOffer); exactly the offer is forwarded; after that the offer is used up, and a
    // further HTLC on the same move is refused: B never forwards more than it offered.
    let mut net = network(true, None);
    assert!(
        !fee_free_through_b(&mut net, OFFER_AMT + 1),
        "above the offer"
    );
    assert_eq!(refused_without_offer(&net), 1);
    assert!(fee_free_through_b(&mut net, OFFER_AMT), "within the offer");
    assert_eq!(
        net.nodes[B].count_routing(|e| matches!(e, RoutingEvent::HopForwarded { .. })),
        1
    );
    assert!(!fee_free_through_b(&mut net, 1_000), "the offer is used up");
    assert_eq!(refused_without_offer(&net), 2);
}

#[test]
fn r_reb_6_is_off_by_default() {
    // R: R-REB-6 is a MAY, off by default (HopConfig::require_offer): the hop judges the same
    // HTLC above its offer by R-REB-5 alone and forwards it.
    let mut net = network(false, None);
    assert!(fee_free_through_b(&mut net, OFFER_AMT + 1));
    assert_eq!(refused_without_offer(&net), 0);
}

// ----- the same check with the rule broken: it must fail -----------------------------------

#[test]
fn broken_r_reb_6_is_caught() {
    // RReb6MoreThanOffered at B: B's state machine finds its offer for any amount, so the HTLC
    // above the offer is forwarded.
    let mut net = network(true, Some(Fault::RReb6MoreThanOffered));
    assert!(
        fee_free_through_b(&mut net, OFFER_AMT + 1),
        "the fault had no effect"
    );
}
