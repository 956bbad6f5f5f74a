//! M01–M02: the node aims for one relative balance (ν), and parallel channels count as one.

use super::AMT;
use crate::build::*;
use crate::vector::{ScidCheck, Vector};

pub(crate) fn scenarios() -> Vec<Vector> {
    vec![
        m01_relative_not_absolute_balance(),
        m02_parallel_channels_count_as_one(),
    ]
}

fn m01_relative_not_absolute_balance() -> Vector {
    // ν = (700 + 500 + 500 + 400) / 7000 = 0.3. p1 is 50/50 in absolute terms but above ν;
    // p3 holds less than half but is still above ν; p2 is far below.
    let m = CAP / 1000; // 1,000 sat in msat
    let node = Node::new(vec![
        Chan::new(scid(740_000, 1, 0), "alice", 1000 * m, 700 * m),
        Chan::new(scid(740_000, 2, 0), "p1", 1000 * m, 500 * m),
        Chan::new(scid(740_000, 3, 0), "p2", 4000 * m, 500 * m),
        Chan::new(scid(740_000, 4, 0), "p3", 1000 * m, 400 * m),
    ]);
    let peers = ["alice", "p1", "p2", "p3"];
    let id = |p: &str| node.scid_of(p);
    let push = assert_eligible(&[id("p1"), id("p3")], &node, &peers, "alice", 1, AMT);
    let take = assert_eligible(&[id("p2")], &node, &peers, "alice", 0, AMT);
    // p2 gets 2,000,000 sat local: ν = 3600/7000 ≈ .514; only p3 (.4 → .5) can take amt in.
    let mut after = node.clone();
    after.channels[2].local = 2000 * m;
    let take_after = assert_eligible(&[id("p3")], &after, &peers, "alice", 0, AMT);
    let push_after = assert_eligible(&[], &after, &peers, "alice", 1, AMT);
    assert!(push_after.is_empty());
    let mut s = Scenario::new(
        "m01_relative_not_absolute_balance",
        &["M01"],
        "Channels are judged by relative balance against nu = sum local / sum capacity, not by \
         absolute balance: a 50/50 channel above nu is offered for pushing, a 40/60 one above \
         nu too; nu follows balance changes (set_channel).",
    );
    s.start(&node, &peers)
        .ask("alice", 1, AMT, push)
        .ask("alice", 0, AMT, take)
        .step(set_channel(&after.channels[2]), vec![])
        .ask("alice", 0, AMT, take_after)
        .step_note(
            recv("alice", &query_msg(CHAIN, 1, AMT)),
            vec![optional(sends_reply(
                "alice",
                reply_check(CHAIN, 1, T0, AMT, equals(vec![])),
            ))],
            "nothing qualifies: an empty reply or none",
        );
    s.build()
}

fn m02_parallel_channels_count_as_one() -> Vector {
    // bob: two channels at ζ 1 and 0, together exactly at ν = .5: neither qualifies, though
    // each alone would. erin: .9 and .3, together .6: the pair qualifies for pushing, though
    // .3 alone would qualify for taking in. ν = (.5+1+0+.9+.1+.9+.3+.3)/8 = .5.
    let z = |n: u64| CAP / 10 * n;
    let node = Node::new(vec![
        Chan::new(scid(750_000, 1, 0), "alice", CAP, z(5)),
        Chan::new(scid(750_000, 2, 0), "bob", CAP, z(10)),
        Chan::new(scid(750_000, 2, 1), "bob", CAP, 0),
        Chan::new(scid(750_000, 3, 0), "carol", CAP, z(9)),
        Chan::new(scid(750_000, 4, 0), "dave", CAP, z(1)),
        Chan::new(scid(750_000, 5, 0), "erin", CAP, z(9)),
        Chan::new(scid(750_000, 5, 1), "erin", CAP, z(3)),
        Chan::new(scid(750_000, 6, 0), "gus", CAP, z(3)),
    ]);
    let peers = ["alice", "bob", "carol", "dave", "erin", "gus"];
    let s_ = |p: &str, i: usize| {
        node.channels
            .iter()
            .filter(|c| c.peer == p)
            .nth(i)
            .unwrap()
            .scid
    };
    let push = assert_eligible(
        &[s_("carol", 0), s_("erin", 0), s_("erin", 1)],
        &node,
        &peers,
        "alice",
        1,
        AMT,
    );
    let take = assert_eligible(
        &[s_("dave", 0), s_("gus", 0)],
        &node,
        &peers,
        "alice",
        0,
        AMT,
    );
    let mut s = Scenario::new(
        "m02_parallel_channels_count_as_one",
        &["M02"],
        "Two channels with one peer are judged as one channel: bob's pair (1.0 and 0.0, together \
         at nu) never qualifies; erin's pair (.9 and .3, together .6) qualifies for pushing, \
         not for taking in. Which of a qualifying pair's channels are listed is the node's \
         choice (at least one).",
    );
    s.set("erin", strs(&[s_("erin", 0), s_("erin", 1)]))
        .set("bob", strs(&[s_("bob", 0), s_("bob", 1)]));
    let push_check = ScidCheck {
        subset_of: Some(push),
        includes: strs(&[s_("carol", 0)]),
        intersects_each: vec!["$erin".into()],
        disjoint_from: vec!["$bob".into()],
        ..ScidCheck::default()
    };
    s.start(&node, &peers)
        .step(
            recv("alice", &query_msg(CHAIN, 1, AMT)),
            vec![sends_reply(
                "alice",
                reply_check(CHAIN, 1, T0, AMT, push_check),
            )],
        )
        .ask("alice", 0, AMT, take);
    s.build()
}
