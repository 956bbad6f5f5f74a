//! W01–W06: the two messages on the wire, framing, decode errors, `flow_value`, feature bits.

use super::{std_node, AMT, STD_PEERS};
use crate::build::*;
use crate::vector::{OfferEntry, Pattern, ReplyCheck, ScidCheck, Vector};

pub(crate) fn scenarios() -> Vec<Vector> {
    vec![
        w01_query_sent_exact(),
        w01_query_received_is_parsed(),
        w02_reply_sent_exact(),
        w02_reply_received_is_parsed(),
        w03_odd_tlv_is_skipped(),
        w03_even_tlv_is_a_decode_error(),
        w03_truncated_fields(),
        w03_len_past_the_payload(),
        w03_malformed_tlv_stream(),
        w01_amounts_use_all_64_bits(),
        w04_scid_layout(),
        w05_query_with_bad_flow_value_ignored(),
        w05_reply_with_bad_flow_value_ignored(),
        w06_feature_bits(),
    ]
}

/// A foreign public channel (in the graph, not ours).
pub(crate) fn foreign(n: u32) -> foaf_wire::ShortChannelId {
    scid(650_000, n, 1)
}

fn with_tlv(mut msg: Vec<u8>, tlv: &[u8]) -> Vec<u8> {
    msg.extend_from_slice(tlv);
    msg
}

/// The reply a query from `peer` to [`std_node`] gets, checked loosely: right chain, flow and
/// time, at least the amount, and only our own announced channels.
fn any_reply(node: &Node, now: u64, flow: u8, amt: u64) -> crate::vector::ReplyCheck {
    reply_check(node.chain, flow, now, amt, subset_of(node.announced()))
}

fn w01_query_sent_exact() -> Vector {
    let node = std_node();
    let mut s = Scenario::new(
        "w01_query_sent_exact",
        &["W01"],
        "A query op produces type 347 with chain_hash, flow_value and u64 amt_to_rebalance, \
         byte for byte (fully determined: obfuscation off).",
    );
    s.start(&node, STD_PEERS)
        .step(
            query("alice", 1, AMT),
            vec![sends("alice", &query_msg(CHAIN, 1, AMT))],
        )
        .step(
            query("bob", 0, 0x0102_0304_0506_0708),
            vec![sends("bob", &query_msg(CHAIN, 0, 0x0102_0304_0506_0708))],
        );
    s.build()
}

fn w01_query_received_is_parsed() -> Vector {
    let node = std_node();
    let mut s = Scenario::new(
        "w01_query_received_is_parsed",
        &["W01"],
        "A well-formed query (type 347) is decoded: the reply echoes its flow_value and uses at \
         least its amount.",
    );
    s.start(&node, STD_PEERS)
        .step(
            recv("alice", &query_msg(CHAIN, 1, AMT)),
            vec![sends_reply("alice", any_reply(&node, T0, 1, AMT))],
        )
        .step(
            recv("bob", &query_msg(CHAIN, 0, 12_345_678)),
            vec![sends_reply("bob", any_reply(&node, T0, 0, 12_345_678))],
        );
    s.build()
}

fn w02_reply_sent_exact() -> Vector {
    let mut node = std_node();
    // carol's channel gets the BOLT #7 example id, so the bytes check the scid layout too.
    node.channels[2].scid = scid(539_268, 845, 1);
    let carol = node.channels[2].scid;
    assert_eligible(&[carol], &node, STD_PEERS, "alice", 1, AMT);
    let mut s = Scenario::new(
        "w02_reply_sent_exact",
        &["W02"],
        "The reply to a query is type 349: chain_hash, flow_value, u64 timestamp, u64 amt, u16 \
         len, len scids, byte for byte (one eligible channel, obfuscation off).",
    );
    s.start(&node, STD_PEERS).step(
        recv("alice", &query_msg(CHAIN, 1, AMT)),
        vec![sends("alice", &reply_msg(CHAIN, 1, T0, AMT, &[carol]))],
    );
    s.build()
}

fn w02_reply_received_is_parsed() -> Vector {
    let mut node = std_node();
    node.foreign_graph = vec![foreign(1), foreign(2), foreign(3)];
    let mut s = Scenario::new(
        "w02_reply_received_is_parsed",
        &["W02"],
        "A reply from a peer is decoded field by field: its offers are held with the peer, \
         scid, flow_value, amount and timestamp it carried.",
    );
    let ids = [foreign(1), foreign(3)];
    s.start(&node, STD_PEERS)
        .offer_from("alice", 1, T0 - 5, 7_000_000, &ids)
        .holding(vec![
            entry("alice", ids[0], 1, 7_000_000, T0 - 5),
            entry("alice", ids[1], 1, 7_000_000, T0 - 5),
        ]);
    s.build()
}

fn w03_odd_tlv_is_skipped() -> Vector {
    let mut node = std_node();
    node.foreign_graph = vec![foreign(1)];
    let mut s = Scenario::new(
        "w03_odd_tlv_is_skipped",
        &["W03"],
        "Unknown odd TLV records after either message are skipped: the query is answered and \
         the reply is stored as if they were absent.",
    );
    s.start(&node, STD_PEERS)
        .step(
            recv(
                "alice",
                &with_tlv(query_msg(CHAIN, 1, AMT), &[0x01, 0x02, 0xab, 0xcd]),
            ),
            vec![sends_reply("alice", any_reply(&node, T0, 1, AMT))],
        )
        .step(
            recv(
                "bob",
                &with_tlv(
                    reply_msg(CHAIN, 0, T0, 5_000, &[foreign(1)]),
                    &[0x03, 0x00, 0xfd, 0x01, 0x01, 0x01, 0x00],
                ),
            ),
            vec![],
        )
        .holding(vec![entry("bob", foreign(1), 0, 5_000, T0)]);
    s.build()
}

/// After a peer is failed, another peer is still served.
fn still_serves(s: &mut Scenario, node: &Node, peer: &str) {
    let now = s.now();
    s.step_note(
        recv(peer, &query_msg(CHAIN, 1, AMT)),
        vec![sends_reply(peer, any_reply(node, now, 1, AMT))],
        "other peers are unaffected",
    );
}

fn w03_even_tlv_is_a_decode_error() -> Vector {
    let node = std_node();
    let mut s = Scenario::new(
        "w03_even_tlv_is_a_decode_error",
        &["W03"],
        "An unknown even TLV type after a message makes it undecodable: the connection is \
         failed (a warning may go first) and nothing is answered.",
    );
    s.start(&node, STD_PEERS)
        .step(
            recv(
                "alice",
                &with_tlv(query_msg(CHAIN, 1, AMT), &[0x02, 0x01, 0x00]),
            ),
            vec![disconnects("alice")],
        )
        .step(
            recv(
                "bob",
                &with_tlv(reply_msg(CHAIN, 1, T0, AMT, &[]), &[0x04, 0x00]),
            ),
            vec![disconnects("bob")],
        );
    still_serves(&mut s, &node, "carol");
    s.build()
}

fn w03_truncated_fields() -> Vector {
    let node = std_node();
    let q = query_msg(CHAIN, 1, AMT);
    let r = reply_msg(CHAIN, 1, T0, AMT, &[scid(1, 2, 3)]);
    let mut s = Scenario::new(
        "w03_truncated_fields",
        &["W03"],
        "Messages cut inside a field (amt, chain_hash, timestamp, the scid list) are decode \
         errors: each sender's connection is failed.",
    );
    s.start(&node, STD_PEERS)
        .step_note(
            recv("alice", &q[..q.len() - 1]),
            vec![disconnects("alice")],
            "query without amt's last byte",
        )
        .step_note(
            recv("bob", &q[..2 + 20]),
            vec![disconnects("bob")],
            "query cut inside chain_hash",
        )
        .step_note(
            recv("carol", &r[..2 + 32 + 1 + 4]),
            vec![disconnects("carol")],
            "reply cut inside timestamp",
        )
        .step_note(
            recv("dave", &r[..r.len() - 3]),
            vec![disconnects("dave")],
            "reply cut inside its scid",
        );
    s.build()
}

fn w03_len_past_the_payload() -> Vector {
    let node = std_node();
    let mut s = Scenario::new(
        "w03_len_past_the_payload",
        &["W03"],
        "A reply whose u16 len promises more scids than the payload holds is a decode error \
         (and must not make the receiver allocate or wait for the rest).",
    );
    let mut three_of_two = reply_msg(CHAIN, 1, T0, AMT, &[scid(1, 1, 1), scid(2, 2, 2)]);
    three_of_two[2 + 32 + 1 + 8 + 8 + 1] = 3;
    let mut max_len = reply_msg(CHAIN, 1, T0, AMT, &[scid(1, 1, 1)]);
    max_len[2 + 32 + 1 + 8 + 8] = 0xff;
    max_len[2 + 32 + 1 + 8 + 8 + 1] = 0xff;
    s.start(&node, STD_PEERS)
        .step_note(
            recv("alice", &three_of_two),
            vec![disconnects("alice")],
            "len 3, two scids",
        )
        .step_note(
            recv("bob", &max_len),
            vec![disconnects("bob")],
            "len 65535, one scid",
        );
    still_serves(&mut s, &node, "carol");
    s.build()
}

fn w03_malformed_tlv_stream() -> Vector {
    let node = std_node();
    let q = || query_msg(CHAIN, 1, AMT);
    let mut s = Scenario::new(
        "w03_malformed_tlv_stream",
        &["W03"],
        "A malformed TLV stream after a message (types not increasing, a length past the end, \
         a non-minimal BigSize) is a decode error: the connection is failed.",
    );
    s.start(&node, STD_PEERS)
        .step_note(
            recv("alice", &with_tlv(q(), &[0x03, 0x00, 0x01, 0x00])),
            vec![disconnects("alice")],
            "types 3 then 1",
        )
        .step_note(
            recv("bob", &with_tlv(q(), &[0x01, 0x05, 0xaa])),
            vec![disconnects("bob")],
            "length 5 with 1 byte left",
        )
        .step_note(
            recv("carol", &with_tlv(q(), &[0xfd, 0x00, 0x01, 0x00])),
            vec![disconnects("carol")],
            "type 1 as a 3-byte BigSize",
        );
    still_serves(&mut s, &node, "dave");
    s.build()
}

fn w01_amounts_use_all_64_bits() -> Vector {
    let mut node = std_node();
    node.foreign_graph = vec![foreign(1)];
    let carol = node.scid_of("carol");
    let top = 1u64 << 63;
    let mut s = Scenario::new(
        "w01_amounts_use_all_64_bits",
        &["W01"],
        "amt_to_rebalance is a u64: queries asking 2^63 and 2^64-1 msat are legal (nothing can \
         move that much, so the answer is an empty reply or none), the connection is kept, a \
         reply offering 2^64-1 is held as it is, and the next query is answered.",
    );
    let none = |amt: u64| {
        vec![optional(sends_reply(
            "alice",
            ReplyCheck {
                flow_value: Some(1),
                amt_min: Some(amt),
                scids: ScidCheck {
                    max_len: Some(0),
                    ..ScidCheck::default()
                },
                ..ReplyCheck::default()
            },
        ))]
    };
    s.start(&node, STD_PEERS)
        .step(recv("alice", &query_msg(CHAIN, 1, top)), none(top))
        .step(
            recv("alice", &query_msg(CHAIN, 1, u64::MAX)),
            none(u64::MAX),
        )
        .offer_from("bob", 0, T0, u64::MAX, &[foreign(1)])
        .holding(vec![entry("bob", foreign(1), 0, u64::MAX, T0)])
        .step_note(
            recv("alice", &query_msg(CHAIN, 1, AMT)),
            vec![sends_reply(
                "alice",
                reply_check(CHAIN, 1, T0, AMT, equals(strs(&[carol]))),
            )],
            "the connection is kept and served",
        );
    s.build()
}

fn w04_scid_layout() -> Vector {
    let mut node = std_node();
    let max = scid(0xff_ffff, 0xff_ffff, 0xffff);
    node.channels[2].scid = max;
    node.foreign_graph = vec![scid(1, 2, 3)];
    assert_eligible(&[max], &node, STD_PEERS, "alice", 1, AMT);
    let mut s = Scenario::new(
        "w04_scid_layout",
        &["W04"],
        "short_channel_id is 3 bytes block, 3 bytes tx index, 2 bytes output: the largest \
         id goes out as ffffffffffffffff and 0000010000020003 comes in as 1x2x3.",
    );
    s.start(&node, STD_PEERS)
        .step(
            recv("alice", &query_msg(CHAIN, 1, AMT)),
            vec![sends("alice", &reply_msg(CHAIN, 1, T0, AMT, &[max]))],
        )
        .offer_from("bob", 0, T0, 1, &[scid(1, 2, 3)])
        .holding(vec![entry("bob", scid(1, 2, 3), 0, 1, T0)]);
    s.build()
}

fn w05_query_with_bad_flow_value_ignored() -> Vector {
    let node = std_node();
    let mut s = Scenario::new(
        "w05_query_with_bad_flow_value_ignored",
        &["W05"],
        "A query whose flow_value is neither 0 nor 1 is ignored: no reply, connection kept.",
    );
    s.start(&node, STD_PEERS)
        .step(recv("alice", &query_msg(CHAIN, 2, AMT)), vec![])
        .step(recv("alice", &query_msg(CHAIN, 255, AMT)), vec![]);
    still_serves(&mut s, &node, "alice");
    s.build()
}

fn w05_reply_with_bad_flow_value_ignored() -> Vector {
    let mut node = std_node();
    node.foreign_graph = vec![foreign(1)];
    let mut s = Scenario::new(
        "w05_reply_with_bad_flow_value_ignored",
        &["W05"],
        "A reply whose flow_value is neither 0 nor 1 is ignored: nothing stored, connection kept.",
    );
    s.start(&node, STD_PEERS)
        .offer_from("alice", 2, T0, AMT, &[foreign(1)])
        .holding(Vec::<OfferEntry>::new());
    still_serves(&mut s, &node, "alice");
    s.build()
}

/// Feature bits assigned in BOLT #9 (as of 2025), which `option_balance_sharing` must avoid;
/// 20/21, the draft's choice, is `option_anchor_outputs`.
pub(crate) const BOLT9_TAKEN: &[u16] = &[
    0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
    27, 28, 29, 34, 35, 38, 39, 44, 45, 46, 47, 48, 49, 50, 51, 60, 61,
];

fn w06_feature_bits() -> Vector {
    let node = std_node();
    let mut s = Scenario::new(
        "w06_feature_bits",
        &["W06"],
        "Project op `features`: the implementation reports its init features and the even bit \
         of its option_balance_sharing pair, which must be set (either bit of the pair) and not \
         a pair BOLT #9 assigns (20/21 is option_anchor_outputs). Implementations without the \
         op answer `unsupported`: not applicable.",
    );
    s.optional_op("features");
    s.start(&node, &[]).step(
        serde_json::json!({"op": "features"}),
        vec![Pattern::Features {
            id: String::new(),
            level: None,
            taken_bits: BOLT9_TAKEN.to_vec(),
        }],
    );
    s.build()
}
