//! R-CM-1–R-CM-4 (docs/bolt14.md §3, channel management): what a node offers follows its target
//! ratio ν exactly, and whom it queries to collect offers (v2 op `collect_offers`). The planner, hop and JIT rules (R-REB-*, R-JIT-*) act on HTLCs and plans,
//! which only pipe protocol v2 carries: their vectors are in `forwarding.rs`.

use super::{std_node, AMT, STD_PEERS};
use crate::build::*;
use crate::vector::Vector;

pub(crate) fn scenarios() -> Vec<Vector> {
    vec![
        r_cm_1_closing_channels_do_not_count_toward_nu(),
        r_cm_2_target_is_never_passed_exact_boundary(),
        r_cm_3_sources_push_and_sinks_take(),
        r_cm_4_collect_offers_from_sources_and_sinks(),
    ]
}

/// The `collect_offers` step: exactly the queries [`reference_collect`] lists for `node`, minus
/// those S05 holds back (`sent` counts the queries each peer got in the current window), at
/// `level` for the flow and "a part" checks (pinned: a tenth exactly).
fn collect_step(
    s: &mut Scenario,
    node: &Node,
    sent: &mut std::collections::BTreeMap<String, usize>,
    level: Option<crate::requirements::Level>,
    note: &str,
) {
    let mut expect = Vec::new();
    for q in reference_collect(node) {
        let n = sent.entry(q.peer.clone()).or_default();
        if *n < 4 {
            *n += 1;
            expect.push(collect_query(&q, "R-CM-4", level));
        }
    }
    s.step_note(collect_offers_op(), expect, note);
}

fn r_cm_4_collect_offers_from_sources_and_sinks() -> Vector {
    use crate::requirements::Level::Pinned;
    // ν = .5: carol .9 is a source (surplus 400,000 sat), dave .1 a sink (deficit 400,000),
    // alice and bob at ν neither.
    let mut node = std_node();
    let want = reference_collect(&node);
    assert_eq!(
        want.iter()
            .map(|q| (q.peer.as_str(), q.flow, q.amt))
            .collect::<Vec<_>>(),
        vec![("carol", 1, 40_000_000), ("dave", 0, 40_000_000)]
    );
    let mut s = Scenario::new(
        "r_cm_4_collect_offers_from_sources_and_sinks",
        &["R-CM-4"],
        "Asked to collect offers, a node queries each source peer (zeta > nu) with flow_value 1 \
         and each sink (zeta < nu) with flow_value 0, for a part of the deviation (pinned: a \
         tenth, rounded down; the 8 largest deviations per flow), and no peer at nu; it does not \
         query a peer again within 30 s while nothing changed; it does after its balances \
         changed and once 30 s passed, within the S05 limit of 4 queries per peer per 10 s.",
    );
    s.optional_op("collect_offers").start(&node, STD_PEERS);
    let mut sent = std::collections::BTreeMap::new();
    collect_step(
        &mut s,
        &node,
        &mut sent,
        None,
        "carol is a source, dave a sink",
    );
    s.step_note(
        collect_offers_op(),
        vec![],
        "nothing changed and the peers were asked less than 30 s ago: no query again",
    );
    // carol .9 -> .8: nu = .475, so alice and bob (.5) become sources too.
    node.channels[2].local = CAP / 10 * 8;
    s.checking("R-CM-4")
        .step(set_channel(&node.channels[2]), vec![]);
    collect_step(
        &mut s,
        &node,
        &mut sent,
        Some(Pinned),
        "our balances changed: every source and sink is asked again",
    );
    s.step(tick(T0 + 601), vec![]);
    sent.clear();
    collect_step(
        &mut s,
        &node,
        &mut sent,
        Some(Pinned),
        "601 s later (more than 30 s): asked again",
    );
    // Four more changes within the same second: the 5th query to a peer within 10 s is S05's.
    for (i, local) in [7, 8, 7, 8].into_iter().enumerate() {
        if i == 3 {
            s.checking("S05");
        }
        node.channels[2].local = CAP / 10 * local;
        s.step(set_channel(&node.channels[2]), vec![]);
        collect_step(
            &mut s,
            &node,
            &mut sent,
            Some(Pinned),
            "balances changed again; at most 4 queries per peer within 10 s (S05)",
        );
    }
    s.invariant(super::sending::rate("carol", "query"));
    s.build()
}

fn r_cm_1_closing_channels_do_not_count_toward_nu() -> Vector {
    // Active: alice .5, bob .3, carol .4 (the querier): ν = 1.2/3 = .4. gus is closing with
    // 8,000,000 sat all local; counted, ν would be 9.2/11 ≈ .84 and alice could not push.
    let node = Node::new(vec![
        Chan::new(scid(760_000, 1, 0), "alice", CAP, CAP / 2),
        Chan::new(scid(760_000, 2, 0), "bob", CAP, CAP / 10 * 3),
        Chan::new(scid(760_000, 3, 0), "carol", CAP, CAP / 10 * 4),
        Chan::new(scid(760_000, 4, 0), "gus", 8 * CAP, 8 * CAP).closing(),
    ]);
    let peers = ["alice", "bob", "carol", "gus"];
    // 100k sat: alice .5 → .4 and bob .3 → .4 both reach ν exactly.
    let push = assert_eligible(&[node.scid_of("alice")], &node, &peers, "carol", 1, AMT);
    let take = assert_eligible(&[node.scid_of("bob")], &node, &peers, "carol", 0, AMT);
    let mut s = Scenario::new(
        "r_cm_1_closing_channels_do_not_count_toward_nu",
        &["R-CM-1"],
        "nu = sum local / sum capacity over active channels only: a closing channel's balance \
         does not count (counted, it would raise nu from 0.4 to 0.84 and change both replies).",
    );
    s.start(&node, &peers)
        .ask("carol", 1, AMT, push)
        .ask("carol", 0, AMT, take);
    s.build()
}

fn r_cm_2_target_is_never_passed_exact_boundary() -> Vector {
    // ν = 1/3 exactly (Σ local CAP over Σ capacity 3·CAP), not representable in binary: carol's
    // room to push is ⌊CAP − CAP/3⌋ = 666,666,666 msat, bob's room to take ⌊CAP/3⌋ = 333,333,333.
    let node = Node::new(vec![
        Chan::new(scid(770_000, 1, 0), "alice", CAP, 0),
        Chan::new(scid(770_000, 2, 0), "bob", CAP, 0),
        Chan::new(scid(770_000, 3, 0), "carol", CAP, CAP),
    ]);
    let peers = ["alice", "bob", "carol"];
    let push_max = CAP - CAP / 3 - 1; // 666,666,666
    let take_max = CAP / 3; // 333,333,333
    assert_eq!((push_max, take_max), (666_666_666, 333_333_333));
    let push = assert_eligible(
        &[node.scid_of("carol")],
        &node,
        &peers,
        "alice",
        1,
        push_max,
    );
    assert_eligible(&[], &node, &peers, "alice", 1, push_max + 1);
    let take = assert_eligible(&[node.scid_of("bob")], &node, &peers, "alice", 0, take_max);
    assert_eligible(&[], &node, &peers, "alice", 0, take_max + 1);
    let mut s = Scenario::new(
        "r_cm_2_target_is_never_passed_exact_boundary",
        &["R-CM-2"],
        "A channel is offered for amt only if the move leaves it on its side of nu = 1/3, \
         computed exactly: carol can push 666,666,666 msat but not one more, bob can take \
         333,333,333 but not one more (alice, the querier, is never listed).",
    );
    let none = |flow: u8, amt: u64| {
        vec![optional(sends_reply(
            "alice",
            reply_check(CHAIN, flow, T0, amt, equals(vec![])),
        ))]
    };
    s.start(&node, &peers)
        .ask("alice", 1, push_max, push)
        .step_note(
            recv("alice", &query_msg(CHAIN, 1, push_max + 1)),
            none(1, push_max + 1),
            "one msat more would take carol below nu: an empty reply or none",
        )
        .ask("alice", 0, take_max, take)
        .step_note(
            recv("alice", &query_msg(CHAIN, 0, take_max + 1)),
            none(0, take_max + 1),
            "one msat more would take bob above nu: an empty reply or none",
        );
    s.build()
}

fn r_cm_3_sources_push_and_sinks_take() -> Vector {
    // std_node: ν = .5, carol .9 (source), dave .1 (sink). Payments then swap them (ν stays .5).
    let node = std_node();
    let push = assert_eligible(&[node.scid_of("carol")], &node, STD_PEERS, "alice", 1, AMT);
    let take = assert_eligible(&[node.scid_of("dave")], &node, STD_PEERS, "alice", 0, AMT);
    let mut after = node.clone();
    after.channels[2].local = CAP / 10;
    after.channels[3].local = CAP / 10 * 9;
    let push2 = assert_eligible(&[after.scid_of("dave")], &after, STD_PEERS, "alice", 1, AMT);
    let take2 = assert_eligible(
        &[after.scid_of("carol")],
        &after,
        STD_PEERS,
        "alice",
        0,
        AMT,
    );
    // Amount 0, asked by bob: only the strict test ζ > ν (ζ < ν) decides, so alice, exactly at
    // ν, is neither a source nor a sink.
    let push0 = assert_eligible(&[node.scid_of("carol")], &node, STD_PEERS, "bob", 1, 0);
    let take0 = assert_eligible(&[node.scid_of("dave")], &node, STD_PEERS, "bob", 0, 0);
    let mut s = Scenario::new(
        "r_cm_3_sources_push_and_sinks_take",
        &["R-CM-3"],
        "Peers above nu are sources (offered for pushing), peers below are sinks (offered for \
         taking in), a peer exactly at nu is neither (even for amount 0); when payments swap \
         carol and dave's balances, their roles swap.",
    );
    s.start(&node, STD_PEERS)
        .ask("bob", 1, 0, push0)
        .ask("bob", 0, 0, take0)
        .ask("alice", 1, AMT, push)
        .ask("alice", 0, AMT, take)
        .step(set_channel(&after.channels[2]), vec![])
        .step(set_channel(&after.channels[3]), vec![])
        .ask("alice", 1, AMT, push2)
        .ask("alice", 0, AMT, take2);
    s.build()
}
