//! S01–S05: what a node may send, to whom, and how often.

use foaf_wire::ChainHash;

use super::{std_node, AMT, STD_PEERS};
use crate::build::*;
use crate::vector::{Invariant, QueryCheck, Vector};

pub(crate) fn scenarios() -> Vec<Vector> {
    vec![
        s01_chain_hash_is_our_chain(),
        s02_no_active_channel_refused(),
        s02_nothing_sent_to_a_disconnected_peer(),
        s03_query_flow_value(),
        s04_query_amount_at_least_intended(),
        s05_at_most_4_queries_per_10s(),
        s05_window_slides(),
        s05_window_slides_from_each_send(),
        s05_reconnect_keeps_the_limit(),
        s05_at_most_4_replies_per_10s(),
        s05_answers_count_toward_the_reply_limit(),
        s05_limits_are_per_peer(),
    ]
}

fn qcheck(chain: ChainHash, flow: u8, amt: u64) -> QueryCheck {
    QueryCheck {
        chain_hash: Some(chain.to_string()),
        flow_value: Some(flow),
        amt_min: Some(amt),
        amt_max: None,
    }
}

pub(crate) fn rate(peer: &str, kind: &str) -> Invariant {
    Invariant::RateLimit {
        id: String::new(),
        peer: peer.into(),
        kind: kind.into(),
        max: 4,
        window: 10,
    }
}

fn s01_chain_hash_is_our_chain() -> Vector {
    let mut node = std_node();
    node.chain = ChainHash::TESTNET4;
    let ch = node.chain;
    let carol = node.scid_of("carol");
    let mut s = Scenario::new(
        "s01_chain_hash_is_our_chain",
        &["S01"],
        "On a node serving testnet4, queries, offers and answers all carry testnet4's genesis \
         hash (not mainnet's).",
    );
    s.start(&node, STD_PEERS)
        .step(
            query("alice", 1, AMT),
            vec![sends_query("alice", qcheck(ch, 1, AMT))],
        )
        .step(
            offer("bob", 1, AMT),
            vec![sends_reply(
                "bob",
                reply_check(ch, 1, T0, AMT, subset_of(node.announced())),
            )],
        )
        .step(
            recv("dave", &query_msg(ch, 1, AMT)),
            vec![sends_reply(
                "dave",
                reply_check(ch, 1, T0, AMT, equals(strs(&[carol]))),
            )],
        );
    s.build()
}

fn s02_no_active_channel_refused() -> Vector {
    let mut node = std_node();
    node.channels
        .push(Chan::new(scid(700_000, 5, 0), "frank", CAP, CAP / 2).closing());
    let peers = ["alice", "bob", "carol", "dave", "eve", "frank"];
    let new_eve = Chan::new(scid(700_100, 1, 0), "eve", CAP, CAP / 2);
    let closing_alice = Chan::new(node.scid_of("alice"), "alice", CAP, CAP / 2).closing();
    let mut s = Scenario::new(
        "s02_no_active_channel_refused",
        &["S02"],
        "query and offer ops towards a connected peer with no channel (eve) or only a closing \
         one (frank) are refused and nothing is sent; once eve has a channel, and after \
         alice's closes, the answers flip.",
    );
    s.start(&node, &peers)
        .step(query("eve", 1, AMT), vec![refuses("query")])
        .step(offer("eve", 1, AMT), vec![refuses("offer")])
        .step(query("frank", 0, AMT), vec![refuses("query")])
        .step(offer("frank", 0, AMT), vec![refuses("offer")])
        .step(set_channel(&new_eve), vec![])
        .step(
            query("eve", 1, AMT),
            vec![sends("eve", &query_msg(CHAIN, 1, AMT))],
        )
        .step(set_channel(&closing_alice), vec![])
        .step(query("alice", 1, AMT), vec![refuses("query")])
        .step(offer("alice", 1, AMT), vec![refuses("offer")]);
    s.build()
}

fn s02_nothing_sent_to_a_disconnected_peer() -> Vector {
    let node = std_node();
    let mut s = Scenario::new(
        "s02_nothing_sent_to_a_disconnected_peer",
        &["S02"],
        "With the transport to bob down, query and offer ops towards bob send nothing \
         (refusing is allowed); a message arriving from bob may be ignored or taken as the \
         transport being back up.",
    );
    s.start(&node, STD_PEERS)
        .step(disconnect("bob"), vec![])
        .step(query("bob", 1, AMT), vec![optional(refuses("query"))])
        .step(offer("bob", 1, AMT), vec![optional(refuses("offer"))])
        .step_note(
            recv("bob", &query_msg(CHAIN, 1, AMT)),
            vec![
                optional(disconnects("bob")),
                optional(sends_reply(
                    "bob",
                    reply_check(CHAIN, 1, T0, AMT, equals(strs(&[node.scid_of("carol")]))),
                )),
            ],
            "a message arriving may be ignored, or taken as proof the transport is back up \
             and answered as usual",
        )
        .step(connect("bob"), vec![])
        .step(
            query("bob", 1, AMT),
            vec![sends("bob", &query_msg(CHAIN, 1, AMT))],
        );
    s.build()
}

fn s03_query_flow_value() -> Vector {
    let node = std_node();
    let mut s = Scenario::new(
        "s03_query_flow_value",
        &["S03"],
        "A query op's direction is carried as asked: flow_value 1 (we push), 0 (we receive).",
    );
    s.start(&node, STD_PEERS)
        .step(
            query("alice", 1, AMT),
            vec![sends_query("alice", qcheck(CHAIN, 1, AMT))],
        )
        .step(
            query("alice", 0, AMT),
            vec![sends_query("alice", qcheck(CHAIN, 0, AMT))],
        )
        .step(
            query("bob", 0, 5),
            vec![sends_query("bob", qcheck(CHAIN, 0, 5))],
        );
    s.build()
}

fn s04_query_amount_at_least_intended() -> Vector {
    let node = std_node();
    let mut s = Scenario::new(
        "s04_query_amount_at_least_intended",
        &["S04"],
        "A query's amt_to_rebalance is at least the amount asked for (higher is allowed).",
    );
    s.start(&node, STD_PEERS)
        .step(
            query("alice", 1, 1),
            vec![sends_query("alice", qcheck(CHAIN, 1, 1))],
        )
        .step(
            query("alice", 1, 123_456_789),
            vec![sends_query("alice", qcheck(CHAIN, 1, 123_456_789))],
        )
        .step(
            query("bob", 0, u64::MAX),
            vec![sends_query("bob", qcheck(CHAIN, 0, u64::MAX))],
        );
    s.build()
}

fn s05_at_most_4_queries_per_10s() -> Vector {
    let node = std_node();
    let mut s = Scenario::new(
        "s05_at_most_4_queries_per_10s",
        &["S05"],
        "Five query ops to alice at one instant: four go out, the fifth (and one 5 s later) \
         is refused or deferred, never sent inside the 10 s window.",
    );
    s.invariant(rate("alice", "query")).start(&node, STD_PEERS);
    for _ in 0..4 {
        s.step(
            query("alice", 1, AMT),
            vec![sends_query("alice", qcheck(CHAIN, 1, AMT))],
        );
    }
    s.step(query("alice", 1, AMT), vec![optional(refuses("query"))])
        .step(tick(T0 + 5), vec![])
        .step(query("alice", 1, AMT), vec![optional(refuses("query"))])
        .step_note(
            tick(T0 + 10),
            vec![
                optional(sends_query("alice", qcheck(CHAIN, 1, AMT))),
                optional(sends_query("alice", qcheck(CHAIN, 1, AMT))),
            ],
            "deferred queries may go out now",
        )
        .step(
            tick(T0 + 30),
            vec![
                optional(sends_query("alice", qcheck(CHAIN, 1, AMT))),
                optional(sends_query("alice", qcheck(CHAIN, 1, AMT))),
            ],
        );
    s.build()
}

fn s05_window_slides() -> Vector {
    let node = std_node();
    let mut s = Scenario::new(
        "s05_window_slides",
        &["S05"],
        "Four queries at t+9 and one at t+11: the window slides (a fixed 10 s bucket would \
         let the fifth out at t+11).",
    );
    s.invariant(rate("alice", "query"))
        .start(&node, STD_PEERS)
        .step(tick(T0 + 9), vec![]);
    for _ in 0..4 {
        s.step(
            query("alice", 0, AMT),
            vec![sends_query("alice", qcheck(CHAIN, 0, AMT))],
        );
    }
    s.step(tick(T0 + 11), vec![])
        .step(query("alice", 0, AMT), vec![optional(refuses("query"))])
        .step(
            tick(T0 + 19),
            vec![optional(sends_query("alice", qcheck(CHAIN, 0, AMT)))],
        );
    s.build()
}

fn s05_window_slides_from_each_send() -> Vector {
    let node = std_node();
    let mut s = Scenario::new(
        "s05_window_slides_from_each_send",
        &["S05"],
        "Queries to alice at t, t+5, t+5, t+5: at t+10 only the one at t has left the window, \
         so one more goes out and the next is refused or deferred (a window restarting 10 s \
         after its first send would let four out at t+10).",
    );
    s.invariant(rate("alice", "query")).start(&node, STD_PEERS);
    let sent = || vec![sends_query("alice", qcheck(CHAIN, 1, AMT))];
    s.step(query("alice", 1, AMT), sent())
        .step(tick(T0 + 5), vec![]);
    for _ in 0..3 {
        s.step(query("alice", 1, AMT), sent());
    }
    s.step(tick(T0 + 10), vec![])
        .step(query("alice", 1, AMT), sent())
        .step_note(
            query("alice", 1, AMT),
            vec![optional(refuses("query"))],
            "a fifth query within [t+5, t+15)",
        );
    s.build()
}

fn s05_reconnect_keeps_the_limit() -> Vector {
    let node = std_node();
    let mut s = Scenario::new(
        "s05_reconnect_keeps_the_limit",
        &["S05"],
        "Four queries to alice, then alice disconnects and reconnects in the same second: a \
         fifth query is still over the limit (a reconnect does not reset it).",
    );
    s.invariant(rate("alice", "query")).start(&node, STD_PEERS);
    for _ in 0..4 {
        s.step(
            query("alice", 0, AMT),
            vec![sends_query("alice", qcheck(CHAIN, 0, AMT))],
        );
    }
    s.step(disconnect("alice"), vec![])
        .step(connect("alice"), vec![])
        .step_note(
            query("alice", 0, AMT),
            vec![optional(refuses("query"))],
            "the fifth within 10 s, after a reconnect",
        );
    s.build()
}

fn s05_at_most_4_replies_per_10s() -> Vector {
    let node = std_node();
    let carol = strs(&[node.scid_of("carol")]);
    let mut s = Scenario::new(
        "s05_at_most_4_replies_per_10s",
        &["S05"],
        "Four offer ops to alice go out, the fifth is refused or deferred; four queries to \
         alice in the same window still go out (the limit is per kind).",
    );
    s.invariant(rate("alice", "reply"))
        .invariant(rate("alice", "query"))
        .start(&node, STD_PEERS);
    for _ in 0..4 {
        s.step(
            offer("alice", 1, AMT),
            vec![sends_reply(
                "alice",
                reply_check(CHAIN, 1, T0, AMT, subset_of(carol.clone())),
            )],
        );
    }
    s.step(offer("alice", 1, AMT), vec![optional(refuses("offer"))]);
    for _ in 0..4 {
        s.step(
            query("alice", 1, AMT),
            vec![sends_query("alice", qcheck(CHAIN, 1, AMT))],
        );
    }
    s.step(
        tick(T0 + 10),
        vec![optional(sends_reply(
            "alice",
            reply_check(CHAIN, 1, T0 + 10, AMT, subset_of(carol.clone())),
        ))],
    );
    s.build()
}

fn s05_answers_count_toward_the_reply_limit() -> Vector {
    let node = std_node();
    let carol = strs(&[node.scid_of("carol")]);
    let mut s = Scenario::new(
        "s05_answers_count_toward_the_reply_limit",
        &["S05"],
        "After answering four queries from alice, an offer op to alice in the same window is \
         a fifth reply: refused or deferred.",
    );
    s.invariant(rate("alice", "reply")).start(&node, STD_PEERS);
    for _ in 0..4 {
        s.ask("alice", 1, AMT, carol.clone());
    }
    s.step(offer("alice", 1, AMT), vec![optional(refuses("offer"))])
        .step(
            tick(T0 + 10),
            vec![optional(sends_reply(
                "alice",
                reply_check(CHAIN, 1, T0 + 10, AMT, subset_of(carol.clone())),
            ))],
        );
    s.build()
}

fn s05_limits_are_per_peer() -> Vector {
    let node = std_node();
    let mut s = Scenario::new(
        "s05_limits_are_per_peer",
        &["S05"],
        "Four queries each to alice and bob, interleaved in one instant, all go out: the limit \
         is per peer.",
    );
    s.invariant(rate("alice", "query"))
        .invariant(rate("bob", "query"))
        .start(&node, STD_PEERS);
    for i in 0..4u64 {
        s.step(
            query("alice", 1, AMT + i),
            vec![sends_query("alice", qcheck(CHAIN, 1, AMT + i))],
        )
        .step(
            query("bob", 0, AMT + i),
            vec![sends_query("bob", qcheck(CHAIN, 0, AMT + i))],
        );
    }
    s.step(query("bob", 0, AMT), vec![optional(refuses("query"))]);
    s.build()
}
