//! §4 and §5 over pipe protocol v2 (docs/conformance-pipe.md, "Protocol v2"): what a hop does
//! with an HTLC it is asked to forward at zero fee (R-REB-5–R-REB-7, R-REB-9), the initiator's
//! plans and what it does when one fails (R-REB-1–R-REB-4, R-REB-8), and JIT routing
//! (R-JIT-1–R-JIT-7). Every vector needs the v2 op `htlc`: a v1 implementation answers it
//! `unsupported` and gets n/a. The node never changes its balances on its own: the runner would
//! report a settled HTLC with `set_channel`, so repeated HTLCs see the same balances.

use super::wire::foreign;
use super::{AMT, STD_PEERS};
use crate::build::*;
use crate::vector::{PlanCheck, PlanEntry, Vector};
use foaf_wire::ShortChannelId;

pub(crate) fn scenarios() -> Vec<Vector> {
    vec![
        r_reb_5_zero_fee_forward_only_toward_nu(),
        r_reb_7_fee_free_budget_per_upstream_peer(),
        r_jit_1_forward_on_a_parallel_channel(),
        r_jit_holds_rebalances_and_forwards(),
        r_reb_plan_from_offers(),
        r_reb_6_hop_forwards_only_what_it_offered(),
        r_reb_8_failed_rebalance_drops_the_erring_offers(),
    ]
}

/// A zero-fee HTLC `id` in on `from`, out on `to`, failed as without BOLT #14
/// (`fee_insufficient`), `note` saying why.
fn refused(
    s: &mut Scenario,
    id: &str,
    from: ShortChannelId,
    to: ShortChannelId,
    amt: u64,
    note: &str,
) {
    s.step_note(
        htlc(id, from, to, amt, true, 100),
        vec![fails(id, Some("fee_insufficient"))],
        note,
    );
}

/// A zero-fee HTLC `id` in on `from`, forwarded on `to`: a permission (§4.2), so checked as
/// our policy (pinned) for `req`.
fn forwarded(
    s: &mut Scenario,
    id: &str,
    from: ShortChannelId,
    to: ShortChannelId,
    amt: u64,
    req: &str,
    note: Option<&str>,
) {
    let (op, expect) = (
        htlc(id, from, to, amt, true, 100),
        vec![pinned(forwards(id, to), req)],
    );
    match note {
        Some(n) => s.step_note(op, expect, n),
        None => s.step(op, expect),
    };
}

/// ν = 0.5: alice .9 (source), bob .1 (sink), carol and dave .5.
fn hop_node() -> Node {
    Node::new(vec![
        Chan::new(scid(780_000, 1, 0), "alice", CAP, CAP / 10 * 9),
        Chan::new(scid(780_000, 2, 0), "bob", CAP, CAP / 10),
        Chan::new(scid(780_000, 3, 0), "carol", CAP, CAP / 2),
        Chan::new(scid(780_000, 4, 0), "dave", CAP, CAP / 2),
        Chan::new(scid(780_000, 5, 0), "alice", CAP, CAP / 10 * 9),
    ])
}

fn r_reb_5_zero_fee_forward_only_toward_nu() -> Vector {
    let node = hop_node();
    let (a, b, c) = (
        node.scid_of("alice"),
        node.scid_of("bob"),
        node.scid_of("carol"),
    );
    let a2 = scid(780_000, 5, 0);
    let mut s = Scenario::new(
        "r_reb_5_zero_fee_forward_only_toward_nu",
        &["R-REB-5"],
        "A zero-fee HTLC in from bob (.1) and out to alice (merged .9) moves both toward nu = .5 \
         and lowers G: forwarded (our policy: forwarding is a permission). The reverse, one \
         that would take alice past nu, and one between two channels of the same peer are \
         failed with fee_insufficient, as without BOLT #14; one in from carol (at nu) is \
         forwarded under the sender rule, the incoming side being free.",
    );
    s.optional_op("htlc").start(&node, STD_PEERS);
    // Forwarding at zero fee is a permission (§4.2: "MAY ... only if"), so a forward is our
    // policy's choice (pinned); failing what the rule forbids is the MUST.
    forwarded(&mut s, "h1", b, a, AMT, "R-REB-5", None);
    refused(
        &mut s,
        "h2",
        a,
        b,
        AMT,
        "alice .9 -> 1.0 and bob .1 -> 0: away from nu",
    );
    refused(
        &mut s,
        "h3",
        b,
        a,
        CAP / 100 * 85,
        "850,000 sat out of alice's merged 1.8/2.0 would take her to .475, past nu",
    );
    refused(
        &mut s,
        "h4",
        a2,
        a,
        AMT,
        "both channels go to alice: merged (M02) the move changes nothing",
    );
    forwarded(
        &mut s,
        "h5",
        c,
        a,
        AMT,
        "R-REB-5",
        Some(
            "the sender rule (bolt14.md 4.2): alice sheds surplus and stays above nu, carol's \
             incoming side is free (.5 -> .6), G drops",
        ),
    );
    s.build()
}

fn r_reb_7_fee_free_budget_per_upstream_peer() -> Vector {
    let node = hop_node();
    let (a, b) = (node.scid_of("alice"), node.scid_of("bob"));
    let amt = CAP / 10 * 3; // 300,000 sat: bob .1 -> .4, alice's merged .9 -> .75
    let mut s = Scenario::new(
        "r_reb_7_fee_free_budget_per_upstream_peer",
        &["R-REB-7"],
        "The fee-free volume forwarded for one upstream peer is bounded per window (default: \
         the merged capacity of our channels with it, 1,000,000 sat, per 3600 s): three 300,000 \
         sat HTLCs from bob go through, the fourth is failed; an hour later bob's budget is \
         back.",
    );
    s.optional_op("htlc").start(&node, STD_PEERS);
    for i in 0..3 {
        let id = format!("b{i}");
        s.step(
            htlc(&id, b, a, amt, true, 100),
            vec![pinned(forwards(&id, a), "R-REB-7")],
        );
    }
    s.step_note(
        htlc("b3", b, a, amt, true, 100),
        vec![fails("b3", None)],
        "1,200,000 sat within the hour: over bob's budget",
    )
    .step(tick(T0 + 3600), vec![])
    .step(
        htlc("b4", b, a, amt, true, 100),
        vec![pinned(forwards("b4", a), "R-REB-7")],
    );
    s.build()
}

fn r_jit_1_forward_on_a_parallel_channel() -> Vector {
    // bob has two channels: the named one holds 10,000 sat, the other 300,000.
    let node = Node::new(vec![
        Chan::new(scid(781_000, 1, 0), "alice", CAP, CAP / 2),
        Chan::new(scid(781_000, 2, 0), "bob", CAP / 2, CAP / 100),
        Chan::new(scid(781_000, 3, 0), "bob", CAP / 2, CAP / 10 * 3),
    ]);
    let (a, b1, b2) = (
        node.scid_of("alice"),
        scid(781_000, 2, 0),
        scid(781_000, 3, 0),
    );
    let mut s = Scenario::new(
        "r_jit_1_forward_on_a_parallel_channel",
        &["R-JIT-1"],
        "A paid HTLC of 100,000 sat names bob's channel holding 10,000 sat; the other channel to \
         bob holds 300,000: it is forwarded on that one (non-strict forwarding), no JIT.",
    );
    s.optional_op("htlc")
        .start(&node, &["alice", "bob"])
        .step(htlc("p1", a, b1, AMT, false, 100), vec![forwards("p1", b2)]);
    s.build()
}

/// ν = .5: alice .9 (source), bob .1 (the next hop, short of liquidity), carol .5. alice
/// offers the public channel alice–bob (`foreign(40)`) for pushing, so a 3-cycle
/// us → alice → bob → us can refill our channel with bob.
fn jit_node() -> (Node, foaf_wire::ShortChannelId) {
    let f = foreign(40);
    let mut node = Node::new(vec![
        Chan::new(scid(782_000, 1, 0), "alice", CAP, CAP / 10 * 9),
        Chan::new(scid(782_000, 2, 0), "bob", CAP, CAP / 10),
        Chan::new(scid(782_000, 3, 0), "carol", CAP, CAP / 2),
    ]);
    node.foreign_graph = vec![f];
    (node, f)
}

fn r_jit_holds_rebalances_and_forwards() -> Vector {
    let (node, f) = jit_node();
    let (a, b, c) = (
        node.scid_of("alice"),
        node.scid_of("bob"),
        node.scid_of("carol"),
    );
    let peers = ["alice", "bob", "carol"];
    // 200,000 sat to bob, who holds 100,000: shortfall 100,000 sat. Our policy asks
    // ⌈1.25 × shortfall⌉ = 125,000 sat (no cap binds: alice's surplus 400,000, bob's target
    // room 600,000, the offer 1,000,000).
    let amt = CAP / 10 * 2;
    let shortfall = amt - CAP / 10;
    let r = 125_000_000;
    let cycle = [a, f, b];
    let hold = |id: &str| {
        vec![
            checks(holds_htlc(id, T0 + 60), "R-JIT-4"),
            checks(
                rebalances(id, shortfall, Some(("R-JIT-2", r, &cycle))),
                "R-JIT-2",
            ),
        ]
    };
    let mut s = Scenario::new(
        "r_jit_holds_rebalances_and_forwards",
        &[
            "R-JIT-2", "R-JIT-4", "R-JIT-6", "R-JIT-5", "R-JIT-7", "R-JIT-3", "R-REB-9",
        ],
        "A paid HTLC to bob that bob's channel cannot carry is held (at most 60 s) while a \
         fee-free rebalance over alice's offered cycle refills it (at least the shortfall; our \
         policy: 1.25 times it), then forwarded unchanged; a failed rebalance, the deadline, \
         fewer than 18 blocks or no cycle fail it with temporary_channel_failure, as without \
         JIT; a zero-fee HTLC never triggers JIT.",
    );
    s.optional_op("htlc")
        .checking("R-JIT-2")
        .start(&node, &peers)
        .step(graph_edges(&[(f, "alice", "bob")]), vec![])
        .offer_from("alice", 1, T0, CAP, &[f])
        .step(htlc("j1", c, b, amt, false, 100), hold("j1"))
        .checking("R-JIT-6")
        .step(rebalance_result("j1", true), vec![forwards("j1", b)])
        .checking("R-JIT-5")
        .step(htlc("j2", c, b, amt, false, 100), hold("j2"))
        .step(
            rebalance_result("j2", false),
            vec![fails("j2", Some("temporary_channel_failure"))],
        )
        .checking("R-JIT-4")
        .step(htlc("j3", c, b, amt, false, 100), hold("j3"))
        .step(tick(T0 + 30), vec![])
        .step_note(
            tick(T0 + 61),
            vec![fails("j3", Some("temporary_channel_failure"))],
            "61 s after the HTLC arrived: past the 60 s hold",
        )
        .step_note(
            htlc("j4", c, b, amt, false, 17),
            vec![fails("j4", Some("temporary_channel_failure"))],
            "17 blocks to expiry: too close to hold",
        )
        .checking("R-JIT-7")
        .step_note(
            htlc("j5", c, b, CAP / 10 * 12, false, 100),
            vec![fails("j5", Some("temporary_channel_failure"))],
            "more than the channel holds at all: the failure a node without JIT gives",
        )
        .checking("R-JIT-3")
        .step_note(
            htlc("j6", c, b, amt, true, 100),
            vec![fails("j6", None)],
            "a zero-fee HTLC bob's channel cannot carry: failed, no JIT",
        )
        .checking("R-REB-9")
        .step_note(
            htlc("j7", a, b, amt, true, 100),
            vec![fails("j7", None)],
            "another zero-fee HTLC, in from alice: failed, no JIT",
        );
    s.build()
}

fn r_reb_plan_from_offers() -> Vector {
    // us–alice full, us–bob empty (ν = .5); alice offers the public channel alice–bob for
    // pushing. The one useful cycle is us → alice → bob → us; the largest amount R-REB-1 allows
    // is alice's surplus = bob's deficit = 500,000 sat, which brings G to 0.
    let f = foreign(41);
    let mut node = Node::new(vec![
        Chan::new(scid(783_000, 1, 0), "alice", CAP, CAP),
        Chan::new(scid(783_000, 2, 0), "bob", CAP, 0),
    ]);
    node.foreign_graph = vec![f];
    let (a, b) = (node.scid_of("alice"), node.scid_of("bob"));
    let peers = ["alice", "bob"];
    let checks = |cap: u64, amt: u64| {
        let c = |id: &str| PlanCheck {
            id: id.into(),
            ..PlanCheck::default()
        };
        vec![
            PlanCheck {
                amt_max: Some(CAP / 2),
                ..c("R-REB-1")
            },
            PlanCheck {
                ours: Some(strs(&[a, b])),
                ..c("R-REB-2")
            },
            PlanCheck {
                offered: Some(vec![(f.to_string(), cap)]),
                ..c("R-REB-3")
            },
            PlanCheck {
                level: Some(crate::requirements::Level::Pinned),
                exact: Some(vec![PlanEntry {
                    amt,
                    hops: strs(&[a, f, b]),
                }]),
                ..c("R-REB-4")
            },
        ]
    };
    let mut s = Scenario::new(
        "r_reb_plan_from_offers",
        &["R-REB-4", "R-REB-1", "R-REB-2", "R-REB-3"],
        "With alice's offer for alice-bob, the initiator plans the cycle us -> alice -> bob -> us \
         within alice's surplus and bob's deficit (R-REB-1), as a 3-hop cycle on our channels \
         (R-REB-2), within the offer (R-REB-3); our policy picks the amount that lowers G most, \
         500,000 sat (R-REB-4, pinned). A 200,000 sat offer caps the plan; once the offer is \
         older than 600 s nothing is planned.",
    );
    s.optional_op("plan").start(&node, &peers);
    s.step(graph_edges(&[(f, "alice", "bob")]), vec![])
        .offer_from("alice", 1, T0, 2 * CAP, &[f])
        .step(plan_op(), vec![plans(checks(2 * CAP, CAP / 2))]);
    let small = CAP / 5;
    s.start(&node, &peers)
        .step(graph_edges(&[(f, "alice", "bob")]), vec![])
        .offer_from("alice", 1, T0, small, &[f])
        .step_note(
            plan_op(),
            vec![plans(checks(small, small))],
            "the 200,000 sat offer caps the cycle, in total",
        )
        .checking("R-REB-3")
        .step(tick(T0 + 601), vec![])
        .step_note(
            plan_op(),
            vec![plans(vec![PlanCheck {
                id: "R-REB-3".into(),
                count_max: Some(0),
                ..PlanCheck::default()
            }])],
            "the offer is 601 s old: stale, nothing to plan with",
        );
    s.build()
}

fn r_reb_6_hop_forwards_only_what_it_offered() -> Vector {
    let node = hop_node();
    let (a, b) = (node.scid_of("alice"), node.scid_of("bob"));
    let mut s = Scenario::new(
        "r_reb_6_hop_forwards_only_what_it_offered",
        &["R-REB-6"],
        "With R-REB-6 on (op require_offer), a hop forwards a zero-fee HTLC only as far as it \
         offered the move within the last 600 s: a reply naming the outgoing channel as Push or \
         the incoming one as Receive, and in total no more than the offer's amount. Before any \
         offer, beyond it, and once it is 601 s old, the HTLC is failed as without BOLT #14; \
         within it, forwarded (our policy).",
    );
    s.optional_op("require_offer").start(&node, STD_PEERS);
    let half = AMT / 2;
    // Offering to push AMT out to bob's side lists alice's channels (merged .9, a source).
    let push_offer = sends_reply(
        "bob",
        reply_check(
            CHAIN,
            1,
            T0,
            AMT,
            subset_of(vec![a.to_string(), scid(780_000, 5, 0).to_string()]),
        ),
    );
    let take_offer = sends_reply(
        "alice",
        reply_check(CHAIN, 0, T0, AMT, subset_of(vec![b.to_string()])),
    );
    s.step(require_offer_op(true), vec![]);
    refused(
        &mut s,
        "o1",
        b,
        a,
        half,
        "a move R-REB-5 allows, but we offered nothing yet",
    );
    s.step_note(
        offer("bob", 1, AMT),
        vec![pinned(push_offer, "R-REB-6")],
        "we offer to push 100,000 sat out on alice's channels",
    );
    refused(&mut s, "o2", b, a, AMT + 1, "one msat more than the offer");
    forwarded(&mut s, "o3", b, a, half, "R-REB-6", None);
    refused(
        &mut s,
        "o4",
        b,
        a,
        half + 1,
        "50,000 sat of the offer are used: 50,000 sat and 1 msat more would pass it in total",
    );
    s.step_note(
        offer("alice", 0, AMT),
        vec![pinned(take_offer, "R-REB-6")],
        "we offer to take 100,000 sat in on bob's channel",
    );
    forwarded(
        &mut s,
        "o5",
        b,
        a,
        half + 1,
        "R-REB-6",
        Some("the Receive offer for the incoming channel covers it"),
    );
    s.step(tick(T0 + 601), vec![]);
    refused(&mut s, "o6", b, a, 1_000, "both offers are 601 s old");
    s.build()
}

fn r_reb_8_failed_rebalance_drops_the_erring_offers() -> Vector {
    use crate::requirements::Level::Pinned;
    // ν = .5: alice 1.0 (a source, surplus 500,000 sat), bob and carol 0 (sinks, deficit
    // 500,000 sat each), dave 1.0 (a source nobody offers a way from). alice offers both her
    // public channels, alice–bob and alice–carol, for pushing: either cycle brings alice to
    // ν, and the scid order picks alice–bob first.
    let (f1, f2) = (foreign(42), foreign(43));
    let mut node = Node::new(vec![
        Chan::new(scid(784_000, 1, 0), "alice", CAP, CAP),
        Chan::new(scid(784_000, 2, 0), "bob", CAP, 0),
        Chan::new(scid(784_000, 3, 0), "carol", CAP, 0),
        Chan::new(scid(784_000, 4, 0), "dave", CAP, CAP),
    ]);
    node.foreign_graph = vec![f1, f2];
    let (a, b, c) = (
        node.scid_of("alice"),
        node.scid_of("bob"),
        node.scid_of("carol"),
    );
    let peers = ["alice", "bob", "carol", "dave"];
    let edges = graph_edges(&[(f1, "alice", "bob"), (f2, "alice", "carol")]);
    let half = CAP / 2;
    // Only the `offered` channels between our two (at `level`), and our policy's exact plan
    // (pinned).
    let plan_check = |level, offered: &[ShortChannelId], exact: PlanEntry| {
        vec![
            PlanCheck {
                id: "R-REB-8".into(),
                level,
                offered: Some(offered.iter().map(|s| (s.to_string(), 2 * CAP)).collect()),
                ..PlanCheck::default()
            },
            PlanCheck {
                id: "R-REB-8".into(),
                level: Some(Pinned),
                exact: Some(vec![exact]),
                ..PlanCheck::default()
            },
        ]
    };
    let via = |f: ShortChannelId, last: ShortChannelId| PlanEntry {
        amt: half,
        hops: strs(&[a, f, last]),
    };
    let mut s = Scenario::new(
        "r_reb_8_failed_rebalance_drops_the_erring_offers",
        &["R-REB-8"],
        "The initiator's planned rebalance over alice-bob fails with the error naming alice-bob: \
         the offers for that channel are dropped and the next plan goes around it (over \
         alice-carol only); once alice offers alice-bob again, it is planned with again.",
    );
    s.optional_op("plan").start(&node, &peers);
    s.step(edges, vec![])
        .offer_from("alice", 1, T0, 2 * CAP, &[f1, f2])
        .step_note(
            plan_op(),
            vec![plans(plan_check(Some(Pinned), &[f1, f2], via(f1, b)))],
            "our policy plans the cycle over alice-bob",
        )
        .step(planned_rebalance_failed(&[a, f1, b], f1), vec![])
        .step_note(
            plan_op(),
            vec![plans(plan_check(None, &[f2], via(f2, c)))],
            "alice-bob erred: re-planned without it",
        )
        .step(tick(T0 + 1), vec![])
        .offer_from("alice", 1, T0 + 1, 2 * CAP, &[f1])
        .step_note(
            plan_op(),
            vec![plans(plan_check(Some(Pinned), &[f1, f2], via(f1, b)))],
            "a new offer for alice-bob: usable again",
        );
    s.build()
}
