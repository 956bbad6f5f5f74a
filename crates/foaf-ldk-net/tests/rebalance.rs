//! Fee-free circular rebalancing executed over real LDK channels (docs/bolt14.md §4): the
//! initiator pays itself around a planned cycle, every hop decides on the live HTLC with
//! foaf-policy's `check_fee_free_forward`.
//!
//! Each test states the rule it guards. The `broken_*` tests switch on a foaf-ldk
//! `RoutingFault` that breaks the rule and assert that the same check then fails.

use foaf_ldk::{RoutingConfig, RoutingEvent, RoutingFault};
use foaf_ldk_net::{triangle_network, ChannelView, Network};
use foaf_policy::{FeeFreeRefusal, Offer};
use foaf_wire::Flow;

const OFFER_AMT: u64 = 200_000_000;

fn network(faults: [Option<RoutingFault>; 5]) -> Network {
    let cfgs = faults
        .iter()
        .map(|f| RoutingConfig {
            fault: *f,
            ..RoutingConfig::new()
        })
        .collect();
    triangle_network(cfgs).expect("network up")
}

fn sums(views: &[ChannelView]) -> Vec<(foaf_wire::ShortChannelId, u64)> {
    views
        .iter()
        .map(|v| (v.scid, v.a_msat + v.b_msat))
        .collect()
}

/// Runs A's rebalances until the planner has nothing; checks conservation and the G drop per
/// step. Returns the number of settled steps.
fn rebalance_until_done(net: &mut Network) -> Result<usize, String> {
    net.exchange_offers(OFFER_AMT).map_err(|e| e.0)?;
    let mut settled = 0;
    for _ in 0..8 {
        let before = net.channel_views();
        let g_before = net.nodes[0].gini();
        let Some(id) = net.rebalance_once(0).map_err(|e| e.0)? else {
            break;
        };
        let after = net.channel_views();
        // R: conservation: per channel, the two balances add up to the same before and after.
        if sums(&before) != sums(&after) {
            return Err(format!("funds not conserved: {before:?} -> {after:?}"));
        }
        let ok = net.nodes[0].count_routing(
            |e| matches!(e, RoutingEvent::RebalanceSettled { payment_id } if *payment_id == id),
        ) == 1;
        if !ok {
            // A failed step must leave every balance untouched.
            if before != after {
                return Err("a failed rebalance moved funds".into());
            }
            continue;
        }
        settled += 1;
        // R: R-REB-4: the initiator's G strictly drops with every executed step.
        let g_after = net.nodes[0].gini();
        if g_after >= g_before {
            return Err(format!("G did not drop: {g_before} -> {g_after}"));
        }
        // R: R-REB-5: a hop's balance changes only by the zero-fee moves it accepted: every
        // channel that changed is on the cycle and moved by exactly the step's amount.
        let moved: Vec<_> = before
            .iter()
            .zip(&after)
            .filter(|(b, a)| b != a)
            .map(|(b, a)| (b.scid, a.a_msat.abs_diff(b.a_msat)))
            .collect();
        let sent = net.nodes[0]
            .routing_events
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find_map(|e| match e {
                RoutingEvent::RebalanceSent {
                    payment_id,
                    rebalance,
                    ..
                } if *payment_id == id => Some(rebalance.clone()),
                _ => None,
            })
            .ok_or("no RebalanceSent")?;
        let mut expect: Vec<_> = sent
            .hops
            .iter()
            .map(|h| (h.scid, sent.amount_msat))
            .collect();
        expect.sort();
        let mut moved_sorted = moved.clone();
        moved_sorted.sort();
        if moved_sorted != expect {
            return Err(format!("moved {moved:?}, planned {expect:?}"));
        }
    }
    Ok(settled)
}

#[test]
fn planned_rebalances_execute_as_zero_fee_circular_payments() {
    // R: R-REB-8, R-REB-5, R-REB-4: A's plan is paid around the A→B→C→A triangle on real LDK
    // channels; B and C forward at zero fee because their own check says yes; funds are
    // conserved on every channel and A's G drops with every step.
    let mut net = network([None; 5]);
    let g0 = net.nodes[0].gini();
    let total = |net: &Network, i: usize| -> u64 {
        net.nodes[i].channels().iter().map(|c| c.local_msat).sum()
    };
    let a_total = total(&net, 0);
    let settled = rebalance_until_done(&mut net).unwrap();
    assert!(settled >= 1, "no rebalance executed");
    assert!(net.nodes[0].gini() < g0);
    for hop in [1, 2] {
        assert!(
            net.nodes[hop].count_routing(|e| matches!(e, RoutingEvent::HopForwarded { .. }))
                >= settled
        );
    }
    // Zero fee: A paid nothing, so its total balance is what it was.
    assert_eq!(total(&net, 0), a_total);
}

/// The hostile peer B: it offers A its channel B–C for Push, 100 000 sat, after a payment left
/// B with 20 % of B–C, below B's target (so B's own rule says no).
fn network_with_a_lying_b(
    hop_fault: Option<RoutingFault>,
) -> (Network, Vec<Offer<foaf_ldk::PublicKey>>) {
    let mut net = network([None, hop_fault, hop_fault, None, None]);
    net.exchange_offers(OFFER_AMT).unwrap();
    // B pays C 700 000 sat directly (fee-paying, LDK's router): B–C is now 20/80 at B.
    assert!(net.pay(1, 2, 700_000_000).unwrap(), "setup payment");
    let b = net.nodes[1].id();
    let bc = net
        .channel_views()
        .into_iter()
        .find(|v| (v.a, v.b) == (1, 2))
        .unwrap()
        .scid;
    let now = net.clock.now();
    let lie = vec![Offer {
        peer: b,
        scid: bc,
        flow: Flow::Push,
        amt_msat: 100_000_000,
        timestamp: now,
    }];
    (net, lie)
}

#[test]
fn a_hop_whose_rule_says_no_fails_the_htlc_and_keeps_its_balance() {
    // R: R-REB-5 (hop side), R-REB-8: B's offer is a lie; A plans and pays the cycle; B's
    // check refuses the move (it would take B–C further below B's target), the HTLC fails, and
    // nobody's balance moves: the lie cost A one failed HTLC. A then sets B–C's offers aside.
    let (mut net, lie) = network_with_a_lying_b(None);
    let before = net.channel_views();
    net.nodes[0].ldk.foaf.refresh();
    let id = net.nodes[0].routing.rebalance_step(&lie).unwrap();
    assert!(id.is_some(), "A planned the lie");
    net.pump().unwrap();
    assert_eq!(
        net.channel_views(),
        before,
        "a refused rebalance moved funds"
    );
    assert_eq!(
        net.nodes[1].count_routing(|e| matches!(
            e,
            RoutingEvent::HopRefused {
                refusal: Some(FeeFreeRefusal::AwayFromTarget | FeeFreeRefusal::Liquidity),
                ..
            }
        )),
        1
    );
    assert_eq!(
        net.nodes[0].count_routing(|e| matches!(e, RoutingEvent::RebalanceFailed { .. })),
        1
    );
    // R-REB-8: the erring channel's offers are set aside: the same lie plans nothing now.
    assert_eq!(net.nodes[0].routing.rebalance_step(&lie).unwrap(), None);
}

#[test]
fn offers_for_channels_the_peer_does_not_own_cost_nothing() {
    // R: R-REB-3: B offers D's and E's channels (not B's): A plans nothing and sends nothing.
    let mut net = network([None; 5]);
    net.exchange_offers(OFFER_AMT).unwrap();
    let b = net.nodes[1].id();
    let now = net.clock.now();
    let foreign: Vec<_> = net
        .channel_views()
        .into_iter()
        .filter(|v| v.a != 1 && v.b != 1)
        .map(|v| Offer {
            peer: b,
            scid: v.scid,
            flow: Flow::Push,
            amt_msat: 300_000_000,
            timestamp: now,
        })
        .collect();
    let before = net.channel_views();
    net.nodes[0].ldk.foaf.refresh();
    assert_eq!(net.nodes[0].routing.rebalance_step(&foreign).unwrap(), None);
    net.pump().unwrap();
    assert_eq!(net.channel_views(), before);
}

// ----- the same checks with the rule broken: each must fail --------------------------------

#[test]
fn broken_hop_check_is_caught() {
    // HopForwardsEverything at B (and at C, which would refuse the move too): B forwards the
    // lie's HTLC, so its balance moves and the refusal check above fails.
    let (mut net, lie) = network_with_a_lying_b(Some(RoutingFault::HopForwardsEverything));
    let before = net.channel_views();
    net.nodes[0].ldk.foaf.refresh();
    net.nodes[0].routing.rebalance_step(&lie).unwrap();
    net.pump().unwrap();
    assert_ne!(net.channel_views(), before, "the fault had no effect");
    assert_eq!(
        net.nodes[1].count_routing(|e| matches!(e, RoutingEvent::HopRefused { .. })),
        0
    );
}

#[test]
fn broken_amount_is_caught() {
    // ReverseCycle at A (and hops that forward anything): A's G no longer drops per step.
    let mut net = network([
        Some(RoutingFault::ReverseCycle),
        Some(RoutingFault::HopForwardsEverything),
        Some(RoutingFault::HopForwardsEverything),
        None,
        None,
    ]);
    let res = rebalance_until_done(&mut net);
    let err = res.unwrap_err();
    assert!(err.contains("G did not drop"), "{err}");
}

#[test]
fn hostile_aliases_cost_the_initiator_only_a_failed_htlc() {
    // R: R-REB-8 and docs/bolt14.md §4.2.1: B's aliases are lies. One names a channel that is
    // not B's (C–E): it is dropped on receipt. One replaces B's alias for B–C with garbage: A's
    // rebalance names it, B's LDK does not know it and fails the HTLC; no balance moves.
    let mut net = network([None; 5]);
    net.exchange_offers(OFFER_AMT).unwrap();
    let b = net.nodes[1].id();
    let views = net.channel_views();
    let scid = |x: usize, y: usize| views.iter().find(|v| (v.a, v.b) == (x, y)).unwrap().scid;
    let (bc, ce) = (scid(1, 2), scid(2, 4));
    assert!(
        net.nodes[0].routing.peer_alias(&b, bc).is_some(),
        "B's real alias arrived"
    );
    let lie = [
        foaf_wire::InterceptAlias {
            scid: bc,
            alias: 0x0102_0304_0506_0708,
        },
        foaf_wire::InterceptAlias {
            scid: ce,
            alias: 42,
        },
    ];
    net.nodes[0].routing.learn_peer_aliases(&b, &lie);
    assert_eq!(
        net.nodes[0].routing.peer_alias(&b, ce),
        None,
        "kept an alias for C–E"
    );
    let before = net.channel_views();
    let id = net.rebalance_once(0).unwrap();
    assert!(id.is_some());
    assert_eq!(
        net.channel_views(),
        before,
        "a failed rebalance moved funds"
    );
    assert_eq!(
        net.nodes[0].count_routing(|e| matches!(e, RoutingEvent::RebalanceFailed { .. })),
        1
    );
}

#[test]
fn a_four_cycle_pays_only_the_middle_hop_its_fee() {
    // R: R-REB-2 (length 4), docs/bolt14.md §4.2.1: U→P→X→Q→U. P and Q (U's peers, who gave
    // aliases) forward at zero fee; X, who is not U's peer and made no offer, is routed over
    // its real channel and paid its advertised fee, and that fee is all U pays.
    use foaf_ldk_net::ChannelSpec;
    let mut net = Network::new(4, &RoutingConfig::new(), None);
    let spec = |a, b| ChannelSpec {
        a,
        b,
        capacity_sat: 1_000_000,
        push_msat: 100_000_000,
    };
    // U=0, P=1, X=2, Q=3: each channel 90/10 at its funder, round the square.
    net.open_channels(&[spec(0, 1), spec(1, 2), spec(2, 3), spec(3, 0)])
        .unwrap();
    net.exchange_offers(OFFER_AMT).unwrap();
    let before = net.channel_views();
    let u_total =
        |net: &Network| -> u64 { net.nodes[0].channels().iter().map(|c| c.local_msat).sum() };
    let u0 = u_total(&net);
    let g0 = net.nodes[0].gini();
    let id = net
        .rebalance_once(0)
        .unwrap()
        .expect("a 4-cycle was planned");
    let (rebalance, fees) = net.nodes[0]
        .find_routing(|e| match e {
            RoutingEvent::RebalanceSent {
                payment_id,
                rebalance,
                fees_msat,
                ..
            } if *payment_id == id => Some((rebalance.clone(), *fees_msat)),
            _ => None,
        })
        .unwrap();
    assert_eq!(rebalance.hops.len(), 4);
    assert_eq!(
        net.nodes[0].count_routing(|e| matches!(e, RoutingEvent::RebalanceSettled { .. })),
        1
    );
    assert!(fees > 0, "X was not paid");
    assert_eq!(u0 - u_total(&net), fees, "U paid more than X's fee");
    assert!(net.nodes[0].gini() < g0);
    // Funds conserved on every channel; X's own balance grew by exactly its fee.
    assert_eq!(sums(&before), sums(&net.channel_views()));
    for hop in [1, 3] {
        assert_eq!(
            net.nodes[hop].count_routing(|e| matches!(e, RoutingEvent::HopForwarded { .. })),
            1
        );
    }
}
