//! V01–V08: what a node does with what it receives, including hostile input.

use foaf_wire::ChainHash;

use super::sending::rate;
use super::wire::foreign;
use super::{std_node, AMT, STD_PEERS};
use crate::build::*;
use crate::vector::{OfferEntry, Pattern, Vector};

pub(crate) fn scenarios() -> Vec<Vector> {
    vec![
        v01_query_from_peer_without_channel(),
        v01_reply_from_peer_without_channel(),
        v01_peer_whose_channel_is_closing(),
        v01_unannounced_channel_is_a_channel(),
        v02_reply_with_1001_scids_fails_the_connection(),
        v03_timestamp_too_far_in_the_future(),
        v03_timestamps_in_the_past_are_kept(),
        v04_newest_timestamp_wins(),
        v05_unknown_scids_discarded(),
        v06_unknown_chain_ignored(),
        v07_excess_queries_not_answered(),
        v07_window_slides(),
        v07_window_slides_from_each_query(),
        v07_reconnect_keeps_the_limit(),
        v07_flood_past_the_rate_limit(),
        v08_garbage_fails_the_connection(),
        interleaved_peers(),
    ]
}

fn answered(s: &mut Scenario, node: &Node, peer: &str, want: &[foaf_wire::ShortChannelId]) {
    let now = s.now();
    s.step_note(
        recv(peer, &query_msg(node.chain, 1, AMT)),
        vec![sends_reply(
            peer,
            reply_check(node.chain, 1, now, AMT, equals(strs(want))),
        )],
        "the connection is kept and served",
    );
}

fn none() -> Pattern {
    holds(Vec::<OfferEntry>::new())
}

fn v01_query_from_peer_without_channel() -> Vector {
    let node = std_node();
    let carol = node.scid_of("carol");
    let mut s = Scenario::new(
        "v01_query_from_peer_without_channel",
        &["V01"],
        "eve, connected but without a channel, sends a query: the connection is failed and \
         nothing is answered; other peers are still served.",
    );
    s.start(&node, &["alice", "bob", "carol", "dave", "eve"])
        .step(
            recv("eve", &query_msg(CHAIN, 1, AMT)),
            vec![disconnects("eve")],
        );
    answered(&mut s, &node, "alice", &[carol]);
    s.build()
}

fn v01_reply_from_peer_without_channel() -> Vector {
    let mut node = std_node();
    node.foreign_graph = vec![foreign(1)];
    let mut s = Scenario::new(
        "v01_reply_from_peer_without_channel",
        &["V01"],
        "eve, connected but without a channel, sends a reply: the connection is failed.",
    );
    s.start(&node, &["alice", "eve"]).step(
        recv("eve", &reply_msg(CHAIN, 1, T0, AMT, &[foreign(1)])),
        vec![disconnects("eve")],
    );
    s.build()
}

fn v01_unannounced_channel_is_a_channel() -> Vector {
    // ursula's only channel is unannounced but normal: an active channel all the same.
    let mut node = std_node();
    node.foreign_graph = vec![foreign(1)];
    node.channels
        .push(Chan::new(scid(700_000, 7, 0), "ursula", CAP, CAP / 2).unannounced());
    let carol = node.scid_of("carol");
    let mut s = Scenario::new(
        "v01_unannounced_channel_is_a_channel",
        &["V01"],
        "ursula's only channel with us is unannounced but normal: it is an active channel, so \
         her query is answered and her reply held, and the connection is kept (V01 fails only \
         peers without an active channel).",
    );
    s.start(&node, &["alice", "bob", "carol", "dave", "ursula"]);
    answered(&mut s, &node, "ursula", &[carol]);
    s.offer_from("ursula", 1, T0, AMT, &[foreign(1)])
        .holding(vec![entry("ursula", foreign(1), 1, AMT, T0)]);
    s.build()
}

fn v01_peer_whose_channel_is_closing() -> Vector {
    let mut node = std_node();
    node.channels
        .push(Chan::new(scid(700_000, 5, 0), "frank", CAP, CAP / 2).closing());
    let alice = node.scid_of("alice");
    let mut s = Scenario::new(
        "v01_peer_whose_channel_is_closing",
        &["V01"],
        "A channel that is closing is not active: a query from frank (closing channel), and \
         one from alice after her channel starts closing, fail the connection.",
    );
    s.start(&node, &["alice", "bob", "carol", "dave", "frank"])
        .step(
            recv("frank", &query_msg(CHAIN, 0, AMT)),
            vec![disconnects("frank")],
        )
        .step(
            set_channel(&Chan::new(alice, "alice", CAP, CAP / 2).closing()),
            vec![],
        )
        .step(
            recv("alice", &query_msg(CHAIN, 1, AMT)),
            vec![disconnects("alice")],
        );
    s.build()
}

fn v02_reply_with_1001_scids_fails_the_connection() -> Vector {
    let mut node = std_node();
    let ids: Vec<_> = (0..1001)
        .map(|i| scid(600_000 + i / 500, i % 500, 0))
        .collect();
    node.foreign_graph = ids.clone();
    let carol = node.scid_of("carol");
    let mut s = Scenario::new(
        "v02_reply_with_1001_scids_fails_the_connection",
        &["V02"],
        "A reply with 1000 scids is accepted; one with 1001 fails the connection.",
    );
    s.start(&node, STD_PEERS)
        .offer_from("alice", 1, T0, AMT, &ids[..1000])
        .step(
            recv("bob", &reply_msg(CHAIN, 1, T0, AMT, &ids)),
            vec![disconnects("bob")],
        );
    answered(&mut s, &node, "alice", &[carol]);
    s.build()
}

fn v03_timestamp_too_far_in_the_future() -> Vector {
    let mut node = std_node();
    node.foreign_graph = vec![foreign(1), foreign(2), foreign(3), foreign(4)];
    let mut s = Scenario::new(
        "v03_timestamp_too_far_in_the_future",
        &["V03"],
        "A reply stamped 600 s ahead of the clock is accepted; 601 s ahead fails the \
         connection; the limit follows the clock.",
    );
    let f = foreign;
    s.start(&node, STD_PEERS)
        .offer_from("alice", 1, T0 + 600, AMT, &[f(1)])
        .step(
            recv("bob", &reply_msg(CHAIN, 1, T0 + 601, AMT, &[f(2)])),
            vec![disconnects("bob")],
        )
        .step(tick(T0 + 100), vec![])
        .offer_from("carol", 0, T0 + 700, AMT, &[f(3)])
        .step(
            recv("dave", &reply_msg(CHAIN, 0, u64::MAX, AMT, &[f(4)])),
            vec![disconnects("dave")],
        )
        .step(
            offers_op(),
            vec![Pattern::Offers {
                id: String::new(),
                level: None,
                offers: vec![
                    entry("alice", f(1), 1, AMT, T0 + 600),
                    entry("carol", f(3), 0, AMT, T0 + 700),
                ],
                // Failing the connection is what is pinned; whether the failed message's
                // data is kept is not.
                may_include: vec![
                    entry("bob", f(2), 1, AMT, T0 + 601),
                    entry("dave", f(4), 0, AMT, u64::MAX),
                ],
            }],
        );
    s.build()
}

fn v03_timestamps_in_the_past_are_kept() -> Vector {
    let mut node = std_node();
    node.foreign_graph = vec![foreign(1), foreign(2)];
    let mut s = Scenario::new(
        "v03_timestamps_in_the_past_are_kept",
        &["V03", "V04"],
        "Replies stamped in the past (a day ago, or 0) do not fail the connection; the day-old \
         one is the newest for its channel and is held (the one at 0 may be).",
    );
    s.start(&node, STD_PEERS)
        .offer_from("alice", 1, T0 - 86_400, AMT, &[foreign(1)])
        .offer_from("alice", 1, 0, AMT, &[foreign(2)])
        .checking("V04")
        .step(
            offers_op(),
            vec![Pattern::Offers {
                id: String::new(),
                level: None,
                offers: vec![entry("alice", foreign(1), 1, AMT, T0 - 86_400)],
                may_include: vec![entry("alice", foreign(2), 1, AMT, 0)],
            }],
        )
        .checking("V03");
    answered(&mut s, &node, "alice", &[node.scid_of("carol")]);
    s.build()
}

fn v04_newest_timestamp_wins() -> Vector {
    let mut node = std_node();
    node.foreign_graph = vec![foreign(1), foreign(2)];
    let (f1, f2) = (foreign(1), foreign(2));
    let mut s = Scenario::new(
        "v04_newest_timestamp_wins",
        &["V04"],
        "Per (peer, scid, flow_value) the newest reply is held: an older one is discarded, one \
         with an equal timestamp replaces it, another flow or another peer is a separate entry.",
    );
    s.start(&node, STD_PEERS)
        .offer_from("alice", 1, T0, 5_000_000, &[f1, f2])
        .holding(vec![
            entry("alice", f1, 1, 5_000_000, T0),
            entry("alice", f2, 1, 5_000_000, T0),
        ])
        .step_note(
            recv("alice", &reply_msg(CHAIN, 1, T0 - 10, 7_000_000, &[f1])),
            vec![],
            "older: discarded",
        )
        .holding(vec![
            entry("alice", f1, 1, 5_000_000, T0),
            entry("alice", f2, 1, 5_000_000, T0),
        ])
        .step_note(
            recv("alice", &reply_msg(CHAIN, 1, T0, 9_000_000, &[f1])),
            vec![],
            "equal timestamp: replaces",
        )
        .offer_from("alice", 0, T0 - 100, 3_000_000, &[f1])
        .offer_from("bob", 1, T0 - 50, 1_000_000, &[f1])
        .step(tick(T0 + 10), vec![])
        .offer_from("alice", 1, T0 + 5, 2_000_000, &[f2])
        .holding(vec![
            entry("alice", f1, 1, 9_000_000, T0),
            entry("alice", f2, 1, 2_000_000, T0 + 5),
            entry("alice", f1, 0, 3_000_000, T0 - 100),
            entry("bob", f1, 1, 1_000_000, T0 - 50),
        ]);
    s.build()
}

fn v05_unknown_scids_discarded() -> Vector {
    let mut node = std_node();
    let small = 1_000_000;
    node.channels
        .push(Chan::new(scid(700_000, 7, 0), "ursula", small, small / 2).unannounced());
    node.foreign_graph = vec![foreign(1)];
    let unknown = scid(654_321, 1, 1);
    let ursula = node.scid_of("ursula");
    let mut s = Scenario::new(
        "v05_unknown_scids_discarded",
        &["V05"],
        "scids that are not in our channel graph (an unknown one, and our own unannounced \
         channel, which is not public) are discarded; known ones are held.",
    );
    s.start(&node, &["alice", "bob", "carol", "dave", "ursula"])
        .offer_from("alice", 1, T0, AMT, &[foreign(1), unknown, ursula])
        .offer_from("bob", 0, T0, AMT, &[unknown])
        .holding(vec![entry("alice", foreign(1), 1, AMT, T0)]);
    s.build()
}

fn v06_unknown_chain_ignored() -> Vector {
    let mut node = std_node();
    node.foreign_graph = vec![foreign(1)];
    let other = ChainHash([0x11; 32]);
    let mut s = Scenario::new(
        "v06_unknown_chain_ignored",
        &["V06"],
        "Messages for a chain we do not serve (mainnet and an unknown hash, on a regtest node) \
         are ignored: no reply, nothing held, connection kept.",
    );
    s.start(&node, STD_PEERS)
        .step(
            recv("alice", &query_msg(ChainHash::BITCOIN, 1, AMT)),
            vec![],
        )
        .step(recv("alice", &query_msg(other, 0, AMT)), vec![])
        .step(
            recv(
                "alice",
                &reply_msg(ChainHash::BITCOIN, 1, T0, AMT, &[foreign(1)]),
            ),
            vec![],
        )
        .step(offers_op(), vec![none()]);
    answered(&mut s, &node, "alice", &[node.scid_of("carol")]);
    s.build()
}

/// The shape every V07 vector shares: on the standard node alice queries (Push, [`AMT`]); an
/// answer lists carol's channel, the excess of the limit gets no answer at all.
struct AliceQueries {
    s: Scenario,
    node: Node,
}

impl AliceQueries {
    fn new(name: &str, requirements: &[&str], description: &str) -> Self {
        AliceQueries {
            s: Scenario::new(name, requirements, description),
            node: std_node(),
        }
    }
    /// `init` and every standard peer connected.
    fn start(&mut self) -> &mut Self {
        self.s.start(&self.node, STD_PEERS);
        self
    }
    /// `n` queries from alice (or `peer`), each answered.
    fn answered_by(&mut self, peer: &str, n: usize) -> &mut Self {
        let carol = self.node.scid_of("carol");
        for _ in 0..n {
            answered(&mut self.s, &self.node, peer, &[carol]);
        }
        self
    }
    fn answered(&mut self, n: usize) -> &mut Self {
        self.answered_by("alice", n)
    }
    /// A query from alice that is not answered, with a note saying why when given.
    fn unanswered(&mut self, note: Option<&str>) -> &mut Self {
        let op = recv("alice", &query_msg(CHAIN, 1, AMT));
        match note {
            Some(n) => self.s.step_note(op, vec![], n),
            None => self.s.step(op, vec![]),
        };
        self
    }
    fn tick(&mut self, t: u64) -> &mut Self {
        self.s.step(tick(t), vec![]);
        self
    }
    fn build(&mut self) -> Vector {
        self.s.build()
    }
}

fn v07_excess_queries_not_answered() -> Vector {
    let mut a = AliceQueries::new(
        "v07_excess_queries_not_answered",
        &["V07"],
        "Five queries from alice at once: four answered, the fifth not (not later either); one \
         5 s later is not answered; 16 s later (no 10 s window holds five) she is answered.",
    );
    a.s.invariant(rate("alice", "reply"));
    a.start()
        .answered(4)
        .unanswered(None)
        .tick(T0 + 5)
        .unanswered(None)
        .tick(T0 + 16)
        .answered(1)
        .build()
}

fn v07_window_slides() -> Vector {
    let mut a = AliceQueries::new(
        "v07_window_slides",
        &["V07"],
        "Four queries at t+9, one at t+11: five within 10 s, so the fifth is not answered (a \
         fixed 10 s bucket would answer it); at t+25 alice is answered again.",
    );
    a.s.invariant(rate("alice", "reply"));
    a.start()
        .tick(T0 + 9)
        .answered(4)
        .tick(T0 + 11)
        .unanswered(None)
        .tick(T0 + 25)
        .answered(1)
        .build()
}

fn v07_window_slides_from_each_query() -> Vector {
    AliceQueries::new(
        "v07_window_slides_from_each_query",
        &["V07"],
        "Queries at t, t+5, t+5, t+5: at t+10 only the one at t has left the window, so one more \
         query is answered and the next is not (a window restarting 10 s after its first query \
         would answer four at t+10).",
    )
    .start()
    .answered(1)
    .tick(T0 + 5)
    .answered(3)
    .tick(T0 + 10)
    .answered(1)
    .unanswered(Some("five queries within [t+5, t+15): not answered"))
    .tick(T0 + 15)
    .answered(1)
    .build()
}

fn v07_reconnect_keeps_the_limit() -> Vector {
    let mut a = AliceQueries::new(
        "v07_reconnect_keeps_the_limit",
        &["V07"],
        "alice sends four queries, disconnects and reconnects in the same second: her fifth \
         query is still over the limit (reconnecting must not reset it); 10 s later she is \
         answered again.",
    );
    a.start().answered(4);
    a.s.step(disconnect("alice"), vec![])
        .step(connect("alice"), vec![]);
    a.unanswered(Some(
        "the fifth query within 10 s, after a reconnect: not answered",
    ))
    .tick(T0 + 10)
    .answered(1)
    .build()
}

fn v07_flood_past_the_rate_limit() -> Vector {
    let mut a = AliceQueries::new(
        "v07_flood_past_the_rate_limit",
        &["V07", "S05"],
        "alice floods 60 queries in one instant: exactly four answers, no disconnect; bob is \
         still answered; after the window alice is answered again.",
    );
    a.s.checking("S05")
        .invariant(rate("alice", "reply"))
        .checking("V07");
    a.start().answered(4);
    for i in 0..56u64 {
        a.s.step(
            recv("alice", &query_msg(CHAIN, (i % 2) as u8, AMT + i)),
            vec![],
        );
    }
    a.answered_by("bob", 1).tick(T0 + 20).answered(1).build()
}

fn v08_garbage_fails_the_connection() -> Vector {
    let node = std_node();
    let carol = node.scid_of("carol");
    let mut s = Scenario::new(
        "v08_garbage_fails_the_connection",
        &["V08"],
        "After good traffic, a 3-byte type-347 message and a 10-byte type-349 message fail \
         their senders' connections (a warning may go first); others are unaffected.",
    );
    s.start(&node, STD_PEERS);
    answered(&mut s, &node, "alice", &[carol]);
    s.step(
        recv("alice", &[0x01, 0x5b, 0xff]),
        vec![disconnects("alice")],
    )
    .step(
        recv("bob", &[0x01, 0x5d, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
        vec![disconnects("bob")],
    );
    answered(&mut s, &node, "dave", &[carol]);
    s.build()
}

fn interleaved_peers() -> Vector {
    let mut node = std_node();
    node.foreign_graph = vec![foreign(1)];
    node.channels
        .push(Chan::new(scid(700_000, 8, 0), "gus", CAP, CAP / 2));
    let carol = node.scid_of("carol");
    let dave = node.scid_of("dave");
    let mut s = Scenario::new(
        "interleaved_peers",
        &["V01", "V07", "V08", "S05"],
        "alice, bob, gus and eve (no channel) interleave queries, replies, junk and floods; \
         each peer is treated on its own: eve and the junk sender are failed, the flooder is \
         limited, the others are answered and their offers held.",
    );
    s.checking("S05")
        .invariant(rate("alice", "reply"))
        .invariant(rate("bob", "reply"))
        .checking("V01")
        .start(&node, &["alice", "bob", "carol", "dave", "eve", "gus"]);
    let ask = |peer: &str, flow: u8, want| {
        sends_reply(
            peer,
            reply_check(CHAIN, flow, T0, AMT, equals(strs(&[want]))),
        )
    };
    for _ in 0..2 {
        s.step(
            recv("alice", &query_msg(CHAIN, 1, AMT)),
            vec![ask("alice", 1, carol)],
        )
        .step(
            recv("bob", &query_msg(CHAIN, 0, AMT)),
            vec![ask("bob", 0, dave)],
        );
    }
    s.step(
        recv("eve", &query_msg(CHAIN, 1, AMT)),
        vec![disconnects("eve")],
    )
    .step(
        recv("alice", &query_msg(CHAIN, 1, AMT)),
        vec![ask("alice", 1, carol)],
    )
    .step(
        recv("gus", &[0x01, 0x5b, 0x00]),
        vec![checks(disconnects("gus"), "V08")],
    )
    .step(
        recv("alice", &query_msg(CHAIN, 1, AMT)),
        vec![ask("alice", 1, carol)],
    )
    .checking("V07")
    .step_note(
        recv("alice", &query_msg(CHAIN, 1, AMT)),
        vec![],
        "alice's fifth query in the window is not answered",
    )
    .checking("V01")
    .offer_from("bob", 1, T0, 42, &[foreign(1)])
    .step(
        recv("bob", &query_msg(CHAIN, 0, AMT)),
        vec![ask("bob", 0, dave)],
    )
    .checking("V07")
    .step(recv("alice", &query_msg(CHAIN, 0, AMT)), vec![])
    .checking("V01")
    .holding(vec![entry("bob", foreign(1), 1, 42, T0)]);
    s.build()
}
