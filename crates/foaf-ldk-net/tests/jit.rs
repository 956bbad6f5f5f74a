//! JIT routing on real LDK channels (docs/bolt14.md §5): D pays C 300 000 sat through A, whose
//! channel to C holds only 100 000 sat on A's side. With FOAF offers A holds the HTLC, refills
//! A–C by a fee-free rebalance A→B→C→A and forwards; without, or past the deadline, the HTLC
//! fails with `temporary_channel_failure` exactly as without JIT. Each check runs for both ways
//! the onion can name A–C: its real short channel id (an ordinary public forward, intercepted
//! under LDK 0.3's `HTLCInterceptionFlags::ToPublicChannels`) and A's intercept alias.
//!
//! The `broken_*` tests switch on a foaf-ldk `RoutingFault` that breaks the rule and assert
//! that the check then fails.

use std::time::Duration;

use foaf_ldk::{JitRelease, RoutingConfig, RoutingEvent, RoutingFault};
use foaf_ldk_net::{triangle_network, Network, NextHop, TwoHopPayment};
use foaf_policy::JitFailure;
use lightning::events::{Event, HTLCHandlingFailureReason};
use lightning::ln::channelmanager::PaymentId;
use lightning::ln::onion_utils::LocalHTLCFailureReason;

const AMT: u64 = 300_000_000;
const OFFER_AMT: u64 = 400_000_000;
const A: usize = 0;
const C: usize = 2;
const D: usize = 3;
const BOTH: [NextHop; 2] = [NextHop::Public, NextHop::Alias];

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

/// D → A → C of [`AMT`], the onion naming A–C as `next`, paying A its fee.
fn pay_d_to_c(net: &mut Network, next: NextHop) -> PaymentId {
    net.start_two_hop_payment(TwoHopPayment::new(D, A, C, AMT, next))
        .unwrap()
}

/// A's side of A–C.
fn a_local_to_c(net: &Network) -> u64 {
    let c = net.nodes[C].id();
    net.nodes[A]
        .channels()
        .iter()
        .find(|ch| ch.peer == c)
        .map(|ch| ch.local_msat)
        .unwrap()
}

#[test]
fn jit_refills_and_forwards_when_the_refill_settles_in_time() {
    for next in BOTH {
        jit_refills_and_forwards(next);
    }
}

fn jit_refills_and_forwards(next: NextHop) {
    // R: R-JIT-1, R-JIT-2, R-JIT-6: held, refilled by a fee-free cycle, forwarded unchanged.
    let mut net = network(None);
    net.exchange_offers(OFFER_AMT).unwrap();
    let before = sums(&net);
    let shortfall = AMT - a_local_to_c(&net);
    let id = pay_d_to_c(&mut net, next);
    net.pump().unwrap();
    assert_eq!(net.payment_outcome(D, id), Some(true), "{next:?}");
    // The hook: on the public path LDK handed A the HTLC for the real scid (no alias named).
    let c = net.nodes[C].id();
    let a_c = net.nodes[A].channel_with(&c).unwrap().scid.to_u64();
    let intercepted_real = net.nodes[A].count_events(|e| {
        matches!(e, Event::HTLCIntercepted { requested_next_hop_scid, .. }
            if *requested_next_hop_scid == a_c)
    });
    assert_eq!(intercepted_real, usize::from(next == NextHop::Public));
    // R: R-JIT-6: C got exactly what D sent it, D paid A's advertised fee and no more.
    assert_eq!(
        net.nodes[C].count_events(
            |e| matches!(e, Event::PaymentClaimed { amount_msat, .. } if *amount_msat == AMT)
        ),
        1
    );
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
        .find_routing(|e| match e {
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
    // R: R-JIT-2: ⌈1.25 × shortfall⌉ (no cap binds here: B's surplus and C's target allow it).
    assert_eq!(refill.0, (shortfall * 125).div_ceil(100), "{next:?}");
    // R: conservation on every channel.
    assert_eq!(sums(&net), before);
}

/// Exchanges offers, starts D → A → C and steps until A holds the HTLC.
fn hold(net: &mut Network, next: NextHop) -> PaymentId {
    net.exchange_offers(OFFER_AMT).unwrap();
    let id = pay_d_to_c(net, next);
    net.step_until(|n| n.nodes[A].routing.held_count() == 1)
        .unwrap();
    id
}

/// Steps until A holds the HTLC, then moves the clock past the deadline and ticks A before the
/// refill can complete.
fn hold_then_miss_the_deadline(net: &mut Network, next: NextHop) -> PaymentId {
    let id = hold(net, next);
    net.clock.advance(61);
    net.nodes[A].routing.tick();
    net.pump().unwrap();
    id
}

#[test]
fn jit_fails_with_temporary_channel_failure_when_the_deadline_passes() {
    for next in BOTH {
        jit_misses_the_deadline(next);
    }
}

fn jit_misses_the_deadline(next: NextHop) {
    // R: R-JIT-4, R-JIT-5: the refill had not settled 60 s after the hold: the HTLC fails as
    // without JIT, and the refill completing later only moved A's own funds.
    let mut net = network(None);
    let before = sums(&net);
    let id = hold_then_miss_the_deadline(&mut net, next);
    assert_eq!(net.payment_outcome(D, id), Some(false), "{next:?}");
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
    for next in BOTH {
        let mut net = network(None);
        let id = pay_d_to_c(&mut net, next);
        net.pump().unwrap();
        assert_eq!(net.payment_outcome(D, id), Some(false), "{next:?}");
        assert!(a_failed_temporary(&net));
        assert_eq!(
            net.nodes[A].count_routing(|e| matches!(e, RoutingEvent::RebalanceSent { .. })),
            0
        );
    }
}

/// D → A → C over the public channel with the payee's `cltv_expiry_delta` = `final_delta`, after
/// the offers that would make JIT succeed. Returns (A held it, A released it as too close to
/// expiry without a refill, the payment failed with A answering `temporary_channel_failure`).
fn near_expiry(a_fault: Option<RoutingFault>, final_delta: u32) -> (bool, bool, bool) {
    let mut net = network(a_fault);
    net.exchange_offers(OFFER_AMT).unwrap();
    let id = net
        .start_two_hop_payment(TwoHopPayment {
            final_cltv_delta: final_delta,
            ..TwoHopPayment::new(D, A, C, AMT, NextHop::Public)
        })
        .unwrap();
    net.pump().unwrap();
    let held = net.nodes[A].count_routing(|e| matches!(e, RoutingEvent::JitHeld { .. })) > 0;
    let too_close = net.nodes[A].count_routing(|e| {
        matches!(
            e,
            RoutingEvent::JitReleased {
                reason: JitRelease::Decided(JitFailure::TooCloseToExpiry),
                ..
            }
        )
    }) == 1;
    let failed = net.payment_outcome(D, id) == Some(false) && a_failed_temporary(&net);
    (held, too_close, failed)
}

#[test]
fn jit_is_not_started_within_18_blocks_of_expiry() {
    // R: R-JIT-4: LDK's sender puts the final HTLC's expiry at (its height + 1) + delta, so
    // delta 16 leaves A 17 blocks: no JIT, the ordinary answer (R-JIT-5). Delta 17 leaves 18
    // blocks, the bound itself: A holds it.
    let (held, too_close, failed) = near_expiry(None, 16);
    assert!(
        !held && too_close && failed,
        "17 blocks: {held} {too_close} {failed}"
    );
    let (held, too_close, _) = near_expiry(None, 17);
    assert!(held && !too_close, "18 blocks: {held} {too_close}");
}

#[test]
fn a_zero_fee_forward_on_a_real_scid_is_refused_before_interception() {
    // docs/bolt14.md §4.2.1 (why the aliases stay with LDK 0.3): with `ToPublicChannels` on, an
    // HTLC paying A no fee over A–C's real scid is failed `fee_insufficient` by LDK and never
    // reaches A's application: no `HTLCIntercepted`, no hop decision.
    let mut net = network(None);
    net.exchange_offers(OFFER_AMT).unwrap();
    let id = net
        .start_two_hop_payment(TwoHopPayment {
            fee_msat: Some(0),
            ..TwoHopPayment::new(D, A, C, 50_000_000, NextHop::Public)
        })
        .unwrap();
    net.pump().unwrap();
    assert_eq!(net.payment_outcome(D, id), Some(false));
    assert!(
        net.nodes[A].count_events(|e| matches!(
            e,
            Event::HTLCHandlingFailed {
                failure_reason: Some(HTLCHandlingFailureReason::Local {
                    reason: LocalHTLCFailureReason::FeeInsufficient
                }),
                ..
            }
        )) == 1
    );
    assert_eq!(
        net.nodes[A].count_events(|e| matches!(e, Event::HTLCIntercepted { .. })),
        0
    );
    assert_eq!(
        net.nodes[A].count_routing(|e| matches!(e, RoutingEvent::HopRefused { .. })),
        0
    );
}

/// Holds the HTLC with the clock 0.7 s past a whole second, moves it 60.2 s on (0.2 s past
/// the deadline, still inside the same whole second as the deadline) and ticks A. True when A
/// released the HTLC then (and D saw the payment fail).
fn released_just_past_the_deadline(a_fault: Option<RoutingFault>) -> bool {
    let mut net = network(a_fault);
    net.clock.advance_by(Duration::from_millis(700));
    let id = hold(&mut net, NextHop::Public);
    net.clock.advance_by(Duration::from_millis(60_200));
    net.nodes[A].routing.tick();
    let released = net.nodes[A].count_routing(|e| {
        matches!(
            e,
            RoutingEvent::JitReleased {
                reason: JitRelease::Deadline,
                ..
            }
        )
    }) == 1;
    net.pump().unwrap();
    released && net.payment_outcome(D, id) == Some(false)
}

#[test]
fn the_hold_deadline_is_exact_below_the_second() {
    // R: R-JIT-4: not held longer than 60 s, to the nanosecond (`foaf_peer::Timestamp`).
    assert!(released_just_past_the_deadline(None));
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
    let id = hold_then_miss_the_deadline(&mut net, NextHop::Public);
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

/// Two HTLCs D → A → C (public channel) sent together, both needing JIT. Returns (A's holds,
/// A's refills sent, payments that arrived).
fn two_at_once(a_fault: Option<RoutingFault>) -> (usize, usize, usize) {
    let mut net = network(a_fault);
    net.exchange_offers(OFFER_AMT).unwrap();
    let ids = [
        pay_d_to_c(&mut net, NextHop::Public),
        pay_d_to_c(&mut net, NextHop::Public),
    ];
    net.pump().unwrap();
    let holds = net.nodes[A].count_routing(|e| matches!(e, RoutingEvent::JitHeld { .. }));
    let refills =
        net.nodes[A].count_routing(|e| matches!(e, RoutingEvent::RebalanceSent { jit: true, .. }));
    let arrived = ids
        .iter()
        .filter(|id| net.payment_outcome(D, **id) == Some(true))
        .count();
    (holds, refills, arrived)
}

#[test]
fn one_refill_in_flight_per_outgoing_peer() {
    // R: R-JIT-3 (SHOULD): the second HTLC to C while A's refill for the first is in flight
    // is not held for a second refill; it gets the answer without JIT.
    let (holds, refills, arrived) = two_at_once(None);
    assert_eq!((holds, refills), (1, 1));
    // The held one is forwarded after its refill; the other met A–C still short and failed.
    assert_eq!(arrived, 1);
}

#[test]
fn broken_one_refill_per_peer_is_caught() {
    // ManyJitsPerPeer at A: both HTLCs start refills.
    let (holds, refills, _) = two_at_once(Some(RoutingFault::ManyJitsPerPeer));
    assert_ne!((holds, refills), (1, 1), "the fault had no effect");
}

#[test]
fn broken_expiry_bound_is_caught() {
    // JitNearExpiry at A: 17 blocks before expiry, A holds the HTLC for a refill anyway.
    let (held, too_close, _) = near_expiry(Some(RoutingFault::JitNearExpiry), 16);
    assert!(held && !too_close, "the fault had no effect");
}

#[test]
fn broken_exact_deadline_is_caught() {
    // WholeSecondDeadline at A: 60.2 s after the hold, A still holds the HTLC.
    assert!(!released_just_past_the_deadline(Some(
        RoutingFault::WholeSecondDeadline
    )));
}
