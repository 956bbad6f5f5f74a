//! JIT routing on real LDK channels (docs/bolt14.md §5): D pays C 300 000 sat through A, whose
//! channel to C holds only 100 000 sat on A's side. With FOAF offers A holds the HTLC, refills
//! A–C by a fee-free rebalance A→B→C→A and forwards; without, or past the deadline, the HTLC
//! fails with `temporary_channel_failure` exactly as without JIT.
//!
//! The `broken_*` tests switch on a foaf-ldk `RoutingFault` that breaks the rule and assert
//! that the check then fails.

use foaf_ldk::{JitRelease, RoutingConfig, RoutingEvent, RoutingFault};
use foaf_ldk_net::{triangle_network, Network};
use lightning::events::{Event, HTLCHandlingFailureReason};
use lightning::ln::onion_utils::LocalHTLCFailureReason;

const AMT: u64 = 300_000_000;
const OFFER_AMT: u64 = 400_000_000;
const A: usize = 0;
const C: usize = 2;
const D: usize = 3;

fn network(a_fault: Option<RoutingFault>) -> Network {
    let mut cfgs = vec![RoutingConfig::new(); 5];
    cfgs[A].fault = a_fault;
    triangle_network(cfgs).expect("network up")
}

fn sums(net: &Network) -> Vec<u64> {
    net.channel_views()
        .iter()
        .map(|v| v.a_msat + v.b_msat)
        .collect()
}

/// True when A failed an HTLC back as `temporary_channel_failure`: LDK 0.3 reports the local
/// reason, and these are the ones it sends as that code (UPDATE|7, `LocalHTLCFailureReason::
/// failure_code`, which is not public).
fn a_failed_temporary(net: &Network) -> bool {
    use LocalHTLCFailureReason as R;
    net.nodes[A].count_events(|e| {
        matches!(
            e,
            Event::HTLCHandlingFailed {
                failure_reason: Some(HTLCHandlingFailureReason::Local {
                    reason: R::TemporaryChannelFailure
                        | R::DustLimitHolder
                        | R::DustLimitCounterparty
                        | R::FeeSpikeBuffer
                        | R::ChannelNotReady
                        | R::HTLCMinimum
                        | R::HTLCMaximum
                        | R::PeerOffline
                        | R::ChannelBalanceOverdrawn
                }),
                ..
            }
        )
    }) > 0
}

#[test]
fn jit_refills_and_forwards_when_the_refill_settles_in_time() {
    // R: R-JIT-1, R-JIT-2, R-JIT-6: held, refilled by a fee-free cycle, forwarded unchanged.
    let mut net = network(None);
    net.exchange_offers(OFFER_AMT).unwrap();
    let before = sums(&net);
    let id = net.start_payment_via_alias(D, A, C, AMT, None).unwrap();
    net.pump().unwrap();
    assert_eq!(net.payment_outcome(D, id), Some(true));
    assert_eq!(
        net.nodes[A].count_routing(|e| matches!(e, RoutingEvent::JitHeld { .. })),
        1
    );
    assert_eq!(
        net.nodes[A].count_routing(|e| matches!(
            e,
            RoutingEvent::JitForwarded {
                after_refill: true,
                ..
            }
        )),
        1
    );
    // The refill is ⌈1.25 × shortfall⌉-sized and fee-free (R-JIT-2): A paid no fee for it.
    let refill = net.nodes[A]
        .routing_events
        .lock()
        .unwrap()
        .iter()
        .find_map(|e| match e {
            RoutingEvent::RebalanceSent {
                rebalance,
                fees_msat,
                jit: true,
                ..
            } => Some((rebalance.amount_msat, *fees_msat)),
            _ => None,
        })
        .unwrap();
    assert_eq!(refill.1, 0);
    assert!(
        refill.0 >= AMT - 100_000_000,
        "refill {} below the shortfall",
        refill.0
    );
    // R: conservation on every channel.
    assert_eq!(sums(&net), before);
}

/// Steps until A holds the HTLC, then moves the clock past the deadline and ticks A before the
/// refill can complete.
fn hold_then_miss_the_deadline(net: &mut Network) -> lightning::ln::channelmanager::PaymentId {
    net.exchange_offers(OFFER_AMT).unwrap();
    let id = net.start_payment_via_alias(D, A, C, AMT, None).unwrap();
    net.step_until(|n| n.nodes[A].routing.held_count() == 1)
        .unwrap();
    net.clock.advance(61);
    net.nodes[A].routing.tick();
    net.pump().unwrap();
    id
}

#[test]
fn jit_fails_with_temporary_channel_failure_when_the_deadline_passes() {
    // R: R-JIT-4, R-JIT-5: the refill had not settled 60 s after the hold: the HTLC fails as
    // without JIT, and the refill completing later only moved A's own funds.
    let mut net = network(None);
    let before = sums(&net);
    let id = hold_then_miss_the_deadline(&mut net);
    assert_eq!(net.payment_outcome(D, id), Some(false));
    assert!(a_failed_temporary(&net));
    assert_eq!(
        net.nodes[A].count_routing(|e| matches!(
            e,
            RoutingEvent::JitReleased {
                reason: JitRelease::Deadline,
                ..
            }
        )),
        1
    );
    assert_eq!(sums(&net), before);
}

#[test]
fn without_offers_the_forward_fails_as_without_jit() {
    // R: R-JIT-5, R-JIT-7: no cycle: the same temporary_channel_failure as a node without JIT.
    let mut net = network(None);
    let id = net.start_payment_via_alias(D, A, C, AMT, None).unwrap();
    net.pump().unwrap();
    assert_eq!(net.payment_outcome(D, id), Some(false));
    assert!(a_failed_temporary(&net));
    assert_eq!(
        net.nodes[A].count_routing(|e| matches!(e, RoutingEvent::RebalanceSent { .. })),
        0
    );
}

#[test]
fn jit_never_starts_for_a_fee_free_htlc() {
    // R: R-JIT-3, R-REB-9: a zero-fee HTLC (as a rebalance's) asks A to forward 300 000 sat over
    // A–C, where A has 100 000: A refuses it (its hop check says no liquidity) and starts no
    // refill, although offers for one are there.
    let mut net = network(None);
    assert!(fee_free_htlc_through_a_starts_no_jit(&mut net));
}

/// D sends 300 000 sat through A's alias for A–C paying A no fee; true when the HTLC failed,
/// A refused it as a hop and started no rebalance of its own.
fn fee_free_htlc_through_a_starts_no_jit(net: &mut Network) -> bool {
    net.exchange_offers(OFFER_AMT).unwrap();
    let id = net.start_payment_via_alias(D, A, C, AMT, Some(0)).unwrap();
    net.pump().unwrap();
    let a_refills = net.nodes[A].count_routing(|e| matches!(e, RoutingEvent::RebalanceSent { .. }));
    let a_refused = net.nodes[A].count_routing(|e| {
        matches!(
            e,
            RoutingEvent::HopRefused {
                refusal: Some(foaf_policy::FeeFreeRefusal::Liquidity),
                ..
            }
        )
    });
    net.payment_outcome(D, id) == Some(false) && a_refills == 0 && a_refused == 1
}

// ----- the same checks with the rule broken: each must fail --------------------------------

#[test]
fn broken_deadline_is_caught() {
    // IgnoreDeadline at A: the held HTLC waits for its refill and is forwarded late.
    let mut net = network(Some(RoutingFault::IgnoreDeadline));
    let id = hold_then_miss_the_deadline(&mut net);
    assert_eq!(
        net.payment_outcome(D, id),
        Some(true),
        "the fault had no effect"
    );
}

#[test]
fn broken_no_recursion_is_caught() {
    // JitOnFeeFree at A: the fee-free HTLC starts a refill.
    let mut net = network(Some(RoutingFault::JitOnFeeFree));
    assert!(!fee_free_htlc_through_a_starts_no_jit(&mut net));
}
