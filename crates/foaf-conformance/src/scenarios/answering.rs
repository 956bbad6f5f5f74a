//! A01–A10: how a query is answered (the pinned default policy), and unsolicited offers.

use super::wire::foreign;
use super::{std_node, AMT, STD_PEERS};
use crate::build::*;
use crate::vector::{Invariant, ReplyCheck, ScidCheck, Vector};
use foaf_wire::ShortChannelId;

pub(crate) fn scenarios() -> Vec<Vector> {
    vec![
        a01_push_reply_lists_exactly_the_eligible(),
        a01_receive_reply_lists_exactly_the_eligible(),
        a01_querier_channels_left_out(),
        a02_reply_amount_at_least_the_query(),
        a03_reply_timestamp_is_the_clock(),
        a04_only_operational_channels(),
        a05_obfuscation_is_seeded_and_bounded(),
        a06_never_more_than_1000_scids(),
        a06_exactly_1000_eligible_all_listed(),
        a07_sample_is_uniform_and_seeded(),
        a08_unannounced_never_offered(),
        a08_obfuscation_never_adds_unannounced(),
        a09_unsolicited_offer(),
        a10_received_offers_never_forwarded(),
    ]
}

/// ν = 0.5 over seven channels of capacity CAP; ζ: alice .5, p1 .9, p2 .7, p3 .55, p4 .6,
/// p5 .15, p6 .1.
fn policy_node() -> (Node, Vec<&'static str>) {
    let z = |n: u64| CAP / 100 * n;
    let node = Node::new(vec![
        Chan::new(scid(710_000, 1, 0), "alice", CAP, z(50)),
        Chan::new(scid(710_000, 2, 0), "p1", CAP, z(90)),
        Chan::new(scid(710_000, 3, 0), "p2", CAP, z(70)),
        Chan::new(scid(710_000, 4, 0), "p3", CAP, z(55)),
        Chan::new(scid(710_000, 5, 0), "p4", CAP, z(60)),
        Chan::new(scid(710_000, 6, 0), "p5", CAP, z(15)),
        Chan::new(scid(710_000, 7, 0), "p6", CAP, z(10)),
    ]);
    (node, vec!["alice", "p1", "p2", "p3", "p4", "p5", "p6"])
}

fn a01_push_reply_lists_exactly_the_eligible() -> Vector {
    let (node, peers) = policy_node();
    let s_ = |p: &str| node.scid_of(p);
    // 100k sat out of 1M: p1 .9→.8, p2 .7→.6 and p4 .6→.5 (reaching ν exactly) qualify;
    // p3 .55→.45 would overshoot ν; p5, p6 are below ν.
    let want = assert_eligible(
        &[s_("p1"), s_("p2"), s_("p4")],
        &node,
        &peers,
        "alice",
        1,
        AMT,
    );
    let mut s = Scenario::new(
        "a01_push_reply_lists_exactly_the_eligible",
        &["A01"],
        "flow_value 1: the reply lists exactly the channels that pushing amt out brings toward, \
         and not past, nu = 0.5 (reaching nu exactly qualifies); obfuscation is off so the set \
         is exact.",
    );
    s.start(&node, &peers).step(
        recv("alice", &query_msg(CHAIN, 1, AMT)),
        vec![policy_reply(&node, &peers, "alice", 1, want, "A01")],
    );
    s.build()
}

fn a01_receive_reply_lists_exactly_the_eligible() -> Vector {
    let (node, peers) = policy_node();
    let s_ = |p: &str| node.scid_of(p);
    let want = assert_eligible(&[s_("p5"), s_("p6")], &node, &peers, "alice", 0, AMT);
    // 400k sat in: p6 .1→.5 reaches ν; p5 .15→.55 would overshoot.
    let big = CAP / 10 * 4;
    let want_big = assert_eligible(&[s_("p6")], &node, &peers, "alice", 0, big);
    let mut s = Scenario::new(
        "a01_receive_reply_lists_exactly_the_eligible",
        &["A01"],
        "flow_value 0: the reply lists exactly the channels that taking amt in brings toward, \
         and not past, nu; a larger amount leaves out the channel it would overshoot.",
    );
    s.start(&node, &peers)
        .step(
            recv("alice", &query_msg(CHAIN, 0, AMT)),
            vec![policy_reply(&node, &peers, "alice", 0, want, "A01")],
        )
        .step(
            recv("alice", &query_msg(CHAIN, 0, big)),
            vec![policy_reply(&node, &peers, "alice", 0, want_big, "A01")],
        );
    s.build()
}

fn a01_querier_channels_left_out() -> Vector {
    let (node, peers) = policy_node();
    let s_ = |p: &str| node.scid_of(p);
    let want = assert_eligible(&[s_("p2"), s_("p4")], &node, &peers, "p1", 1, AMT);
    let want0 = assert_eligible(&[s_("p5")], &node, &peers, "p6", 0, AMT);
    let mut s = Scenario::new(
        "a01_querier_channels_left_out",
        &["A01"],
        "The querying peer's own channel is never in the reply, even when it qualifies.",
    );
    s.start(&node, &peers)
        .step(
            recv("p1", &query_msg(CHAIN, 1, AMT)),
            vec![policy_reply(&node, &peers, "p1", 1, want, "A01")],
        )
        .step(
            recv("p6", &query_msg(CHAIN, 0, AMT)),
            vec![policy_reply(&node, &peers, "p6", 0, want0, "A01")],
        );
    s.build()
}

fn a02_reply_amount_at_least_the_query() -> Vector {
    let node = std_node();
    let carol = strs(&[node.scid_of("carol")]);
    let mut s = Scenario::new(
        "a02_reply_amount_at_least_the_query",
        &["A02"],
        "The reply's amt_to_rebalance is at least the query's (the default: the same).",
    );
    s.start(&node, STD_PEERS);
    for (peer, amt) in [("alice", 1u64), ("bob", 77_777_777), ("dave", AMT)] {
        s.step(
            recv(peer, &query_msg(CHAIN, 1, amt)),
            vec![sends_reply(
                peer,
                reply_check(CHAIN, 1, T0, amt, equals(carol.clone())),
            )],
        );
    }
    s.build()
}

fn a03_reply_timestamp_is_the_clock() -> Vector {
    let node = std_node();
    let carol = strs(&[node.scid_of("carol")]);
    let mut s = Scenario::new(
        "a03_reply_timestamp_is_the_clock",
        &["A03"],
        "The reply's timestamp is the node's clock when it is sent (the runner's `now`).",
    );
    s.start(&node, STD_PEERS);
    for t in [T0, T0 + 1234, T0 + 86_400] {
        s.step(tick(t), vec![]).ask("alice", 1, AMT, carol.clone());
    }
    s.build()
}

fn a04_only_operational_channels() -> Vector {
    // erin and frank: tiny channels (1000 sat) at ζ .9, so whether ν counts them does not
    // matter; the amount is small enough for them to carry.
    let mut node = std_node();
    let small = 1_000_000;
    node.channels.push(Chan::new(
        scid(700_000, 5, 0),
        "erin",
        small,
        small / 10 * 9,
    ));
    node.channels
        .push(Chan::new(scid(700_000, 6, 0), "frank", small, small / 10 * 9).closing());
    let amt = 100_000;
    let (carol, erin) = (node.scid_of("carol"), node.scid_of("erin"));
    let up = ["alice", "bob", "carol", "dave", "frank"];
    let only_carol = assert_eligible(&[carol], &node, &up, "alice", 1, amt);
    let up2 = ["alice", "bob", "carol", "dave", "frank", "erin"];
    let both = assert_eligible(&[carol, erin], &node, &up2, "alice", 1, amt);
    let mut s = Scenario::new(
        "a04_only_operational_channels",
        &["A04"],
        "Only operational channels are offered: never frank's (closing), erin's only while \
         erin is connected and the channel is not closing.",
    );
    s.invariant(super::sending::rate("alice", "reply"))
        .start(&node, &up);
    let mut t = T0;
    // A04's own check: never a channel that is not operational at that moment (whatever the
    // policy); the exact set is the reference policy's (A01, pinned).
    let mut ask =
        |s: &mut Scenario, want: &Vec<String>, not_operational: &[ShortChannelId], note: &str| {
            s.step(tick(t), vec![]);
            let scids = ScidCheck {
                equals: Some(want.clone()),
                disjoint_from: strs(not_operational),
                ..ScidCheck::default()
            };
            let check = reply_check(CHAIN, 1, t, amt, scids);
            s.step_note(
                recv("alice", &query_msg(CHAIN, 1, amt)),
                vec![sends_reply("alice", check)],
                note,
            );
            t += 10;
        };
    let frank = node.scid_of("frank");
    ask(
        &mut s,
        &only_carol,
        &[frank, erin],
        "erin disconnected, frank closing",
    );
    s.step(connect("erin"), vec![]);
    ask(&mut s, &both, &[frank], "erin connected");
    s.step(disconnect("erin"), vec![]);
    ask(
        &mut s,
        &only_carol,
        &[frank, erin],
        "erin disconnected again",
    );
    s.step(connect("erin"), vec![]).step(
        set_channel(&Chan::new(erin, "erin", small, small / 10 * 9).closing()),
        vec![],
    );
    ask(
        &mut s,
        &only_carol,
        &[frank, erin],
        "erin connected, its channel closing",
    );
    s.build()
}

fn a05_obfuscation_is_seeded_and_bounded() -> Vector {
    let mut node = std_node();
    node.obfuscate = true;
    node.seed = 42;
    let small = 1_000_000;
    node.channels
        .push(Chan::new(scid(700_000, 7, 0), "ursula", small, small / 10 * 9).unannounced());
    node.foreign_graph = vec![foreign(1), foreign(2), foreign(3)];
    let peers = ["alice", "bob", "carol", "dave", "ursula"];
    let mut s = Scenario::new(
        "a05_obfuscation_is_seeded_and_bounded",
        &["A05", "A08", "A10"],
        "With obfuscation on, a reply may omit or add channels, but only our own announced \
         ones (never ursula's unannounced channel, never a foreign one), at most 1000, and the \
         same seed gives the same reply.",
    );
    s.set("ours_announced", node.announced())
        .set("unannounced", strs(&[node.scid_of("ursula")]))
        .set("foreign", strs(&node.foreign_graph));
    // One check per id: bounded and only our own announced channels (A05), never ursula's
    // unannounced one (A08), never a foreign one (A10). The amount is left free: obfuscation
    // may move it too.
    let only = |scids: ScidCheck| ReplyCheck {
        scids,
        ..ReplyCheck::default()
    };
    let reply = |flow| {
        let bounded = ReplyCheck {
            chain_hash: Some(CHAIN.to_string()),
            flow_value: Some(flow),
            timestamp: Some(T0),
            scids: ScidCheck {
                subset_of: Some(vec!["$ours_announced".into()]),
                max_len: Some(1000),
                ..ScidCheck::default()
            },
            ..ReplyCheck::default()
        };
        let no_unannounced = only(ScidCheck {
            disjoint_from: vec!["$unannounced".into()],
            ..ScidCheck::default()
        });
        let no_foreign = only(ScidCheck {
            disjoint_from: vec!["$foreign".into()],
            ..ScidCheck::default()
        });
        // A reply still goes out (its list may even be empty): never answering at all would
        // make the determinism check below vacuous. The A08 and A10 checks come first so that
        // a listed unannounced or foreign channel is reported against its own id.
        let p = also(
            also(
                sends_reply("alice", no_unannounced),
                "A10",
                None,
                no_foreign,
            ),
            "A05",
            None,
            bounded,
        );
        vec![checks(p, "A08")]
    };
    s.start(&node, &peers);
    let first = s.next_index();
    s.step(recv("alice", &query_msg(CHAIN, 1, 100_000)), reply(1))
        .step(recv("alice", &query_msg(CHAIN, 0, 100_000)), reply(0));
    s.start(&node, &peers)
        .step_same_as(
            recv("alice", &query_msg(CHAIN, 1, 100_000)),
            reply(1),
            first,
            "same seed, same state: same reply",
        )
        .step_same_as(
            recv("alice", &query_msg(CHAIN, 0, 100_000)),
            reply(0),
            first + 1,
            "same seed, same state: same reply",
        );
    // Off (the conformance default): the reply is exactly the policy's set, nothing omitted or
    // added (pinned: A05's "off in conformance mode").
    let mut off = node.clone();
    off.obfuscate = false;
    let want = assert_eligible(&[off.scid_of("carol")], &off, &peers, "alice", 1, 100_000);
    s.start(&off, &peers).step_note(
        recv("alice", &query_msg(CHAIN, 1, 100_000)),
        vec![sends_reply(
            "alice",
            reply_check(CHAIN, 1, T0, 100_000, equals(want)),
        )],
        "obfuscation off: exactly the eligible channels",
    );
    s.build()
}

/// A node with `n` channels at ζ .9 to peers n0000…, the querier `q0`…`q{queriers-1}` at ζ .5
/// and a sink channel at ζ 0 sized so that ν = .5 exactly. Returns the node, the peers, and
/// the push-eligible set for any querier.
fn many_channels(n: u32, queriers: u32) -> (Node, Vec<String>, Vec<String>) {
    let mut chans = Vec::new();
    let mut peers = Vec::new();
    for i in 0..queriers {
        chans.push(Chan::new(
            scid(720_000, i, 0),
            &format!("q{i}"),
            CAP,
            CAP / 2,
        ));
        peers.push(format!("q{i}"));
    }
    let mut eligible = Vec::new();
    for i in 0..n {
        let id = scid(730_000 + i / 100, i % 100, 0);
        chans.push(Chan::new(id, &format!("n{i:04}"), CAP, CAP / 10 * 9));
        peers.push(format!("n{i:04}"));
        eligible.push(id);
    }
    // Σ local = .9 n + .5 q (in CAP); sink capacity X: (.9n + .5q) / (n + q + X) = .5
    // ⇒ X = .8 n (in CAP).
    let sink = u64::from(n) * CAP / 10 * 8;
    chans.push(Chan::new(scid(720_999, 0, 0), "zed", sink, 0));
    peers.push("zed".into());
    let node = Node::new(chans);
    let refs: Vec<&str> = peers.iter().map(String::as_str).collect();
    let want = assert_eligible(&eligible, &node, &refs, "q0", 1, AMT);
    (node, peers, want)
}

fn a06_never_more_than_1000_scids() -> Vector {
    let (node, peers, eligible) = many_channels(1001, 1);
    let refs: Vec<&str> = peers.iter().map(String::as_str).collect();
    let mut s = Scenario::new(
        "a06_never_more_than_1000_scids",
        &["A06"],
        "1001 channels qualify: the reply carries at most 1000 of them, and nothing else.",
    );
    s.set("eligible", eligible).start(&node, &refs).step(
        recv("q0", &query_msg(CHAIN, 1, AMT)),
        vec![sends_reply(
            "q0",
            reply_check(
                CHAIN,
                1,
                T0,
                AMT,
                ScidCheck {
                    subset_of: Some(vec!["$eligible".into()]),
                    max_len: Some(1000),
                    ..ScidCheck::default()
                },
            ),
        )],
    );
    s.build()
}

fn a06_exactly_1000_eligible_all_listed() -> Vector {
    let (node, peers, eligible) = many_channels(1000, 1);
    let refs: Vec<&str> = peers.iter().map(String::as_str).collect();
    let mut s = Scenario::new(
        "a06_exactly_1000_eligible_all_listed",
        &["A06", "A01"],
        "Exactly 1000 channels qualify: all 1000 are listed (the limit is inclusive).",
    );
    s.set("eligible", eligible)
        .start(&node, &refs)
        .ask("q0", 1, AMT, vec!["$eligible".into()]);
    s.build()
}

fn a07_sample_is_uniform_and_seeded() -> Vector {
    let (node, peers, eligible) = many_channels(1100, 2);
    let refs: Vec<&str> = peers.iter().map(String::as_str).collect();
    let mut s = Scenario::new(
        "a07_sample_is_uniform_and_seeded",
        &["A07", "A06"],
        "1100 channels qualify: each of 8 replies carries at most 1000 of them; together they \
         reach every one (a uniform sample of 1000 misses a given channel 8 times in a row with \
         probability 11^-8), and the same seed gives the same first reply.",
    );
    let check = ScidCheck {
        subset_of: Some(vec!["$eligible".into()]),
        max_len: Some(1000),
        ..ScidCheck::default()
    };
    s.set("eligible", eligible)
        .invariant(Invariant::RepliesCover {
            id: String::new(),
            scids: vec!["$eligible".into()],
        })
        .checking("A06")
        .start(&node, &refs);
    let first = s.next_index();
    for _ in 0..4 {
        for q in ["q0", "q1"] {
            s.step(
                recv(q, &query_msg(CHAIN, 1, AMT)),
                vec![sends_reply(
                    q,
                    reply_check(CHAIN, 1, T0, AMT, check.clone()),
                )],
            );
        }
    }
    s.start(&node, &refs).checking("A07").step_same_as(
        recv("q0", &query_msg(CHAIN, 1, AMT)),
        vec![sends_reply(
            "q0",
            reply_check(CHAIN, 1, T0, AMT, check.clone()),
        )],
        first,
        "same seed: same sample",
    );
    s.build()
}

fn a08_unannounced_never_offered() -> Vector {
    let mut node = std_node();
    let small = 1_000_000;
    node.channels
        .push(Chan::new(scid(700_000, 7, 0), "ursula", small, small / 10 * 9).unannounced());
    let peers = ["alice", "bob", "carol", "dave", "ursula"];
    let amt = 100_000;
    let carol = node.scid_of("carol");
    let want = assert_eligible(&[carol], &node, &peers, "alice", 1, amt);
    let mut s = Scenario::new(
        "a08_unannounced_never_offered",
        &["A08"],
        "ursula's channel would qualify but is unannounced: it is in no reply and no offer.",
    );
    s.set("unannounced", strs(&[node.scid_of("ursula")]));
    let no_ursula = ScidCheck {
        subset_of: Some(want.clone()),
        disjoint_from: vec!["$unannounced".into()],
        ..ScidCheck::default()
    };
    s.start(&node, &peers)
        .ask("alice", 1, amt, want.clone())
        .step(
            offer("bob", 1, amt),
            vec![sends_reply(
                "bob",
                reply_check(CHAIN, 1, T0, amt, no_ursula),
            )],
        );
    s.build()
}

fn a08_obfuscation_never_adds_unannounced() -> Vector {
    // Every channel obfuscation could add is unannounced (ten of them, to u0…u9, tiny and at
    // ζ .9): any channel added to carol's is a breach of A08. Two seeds, eight replies each.
    let mut node = std_node();
    node.obfuscate = true;
    let small = 1_000_000;
    let mut hidden = Vec::new();
    for i in 0..10u32 {
        let c =
            Chan::new(scid(700_200, i, 0), &format!("u{i}"), small, small / 10 * 9).unannounced();
        hidden.push(c.scid);
        node.channels.push(c);
    }
    // Only carol can push; alice, bob and dave are announced but ineligible, and the querier's
    // own channel is left out, so an honest obfuscator may add bob's or dave's (or alice's).
    let mut peers: Vec<String> = STD_PEERS.iter().map(|p| p.to_string()).collect();
    peers.extend((0..10).map(|i| format!("u{i}")));
    let refs: Vec<&str> = peers.iter().map(String::as_str).collect();
    let mut s = Scenario::new(
        "a08_obfuscation_never_adds_unannounced",
        &["A08"],
        "With obfuscation on and ten unannounced channels at hand, sixteen replies under two \
         seeds never list an unannounced channel (A08 holds under A05 too).",
    );
    s.set("unannounced", strs(&hidden));
    let check = ScidCheck {
        disjoint_from: vec!["$unannounced".into()],
        ..ScidCheck::default()
    };
    for seed in [7u64, 8] {
        node.seed = seed;
        s.start(&node, &refs);
        for querier in ["alice", "bob"] {
            for flow in [1u8, 0, 1, 0] {
                s.step(
                    recv(querier, &query_msg(CHAIN, flow, 100_000)),
                    vec![sends_reply(
                        querier,
                        ReplyCheck {
                            scids: check.clone(),
                            ..ReplyCheck::default()
                        },
                    )],
                );
            }
        }
    }
    s.build()
}

fn a09_unsolicited_offer() -> Vector {
    let node = std_node();
    let carol = node.scid_of("carol");
    let dave = node.scid_of("dave");
    let push = assert_eligible(&[carol], &node, STD_PEERS, "alice", 1, AMT);
    let take = assert_eligible(&[dave], &node, STD_PEERS, "bob", 0, AMT);
    let offered = |ids: Vec<String>| ScidCheck {
        subset_of: Some(ids),
        min_len: Some(1),
        ..ScidCheck::default()
    };
    let mut s = Scenario::new(
        "a09_unsolicited_offer",
        &["A09"],
        "An offer op sends an unsolicited reply_foaf_balances: our chain, the asked direction \
         and amount, the clock, and some of the channels the policy would list for that peer.",
    );
    s.start(&node, STD_PEERS)
        .step(
            offer("alice", 1, AMT),
            vec![sends_reply(
                "alice",
                reply_check(CHAIN, 1, T0, AMT, offered(push)),
            )],
        )
        .step(
            offer("bob", 0, AMT),
            vec![sends_reply(
                "bob",
                reply_check(CHAIN, 0, T0, AMT, offered(take)),
            )],
        );
    s.build()
}

fn a10_received_offers_never_forwarded() -> Vector {
    let mut node = std_node();
    node.foreign_graph = vec![foreign(1), foreign(2)];
    let carol = node.scid_of("carol");
    let dave = node.scid_of("dave");
    let mut s = Scenario::new(
        "a10_received_offers_never_forwarded",
        &["A10"],
        "alice's offers (foreign channels) are held but never passed on: receiving them sends \
         nothing to anyone, and bob's answers list only our own channels.",
    );
    s.set("foreign", strs(&node.foreign_graph));
    let ours = |id| ScidCheck {
        equals: Some(strs(&[id])),
        disjoint_from: vec!["$foreign".into()],
        ..ScidCheck::default()
    };
    s.start(&node, STD_PEERS)
        .offer_from("alice", 1, T0, AMT, &[foreign(1), foreign(2)])
        .offer_from("alice", 0, T0, AMT, &[foreign(1), foreign(2)])
        .step(
            recv("bob", &query_msg(CHAIN, 1, AMT)),
            vec![sends_reply(
                "bob",
                reply_check(CHAIN, 1, T0, AMT, ours(carol)),
            )],
        )
        .step(
            recv("bob", &query_msg(CHAIN, 0, AMT)),
            vec![sends_reply(
                "bob",
                reply_check(CHAIN, 0, T0, AMT, ours(dave)),
            )],
        );
    s.build()
}
