//! Snapshots (insta, in `tests/snapshots/`) of the canonical example messages: their hex, one
//! line per field so a reviewer can check the layout against W01/W02, and their pinned JSON.
//! A change to either rendering shows up as a snapshot diff to be reviewed, never silently.

use foaf_wire::json::to_json;
use foaf_wire::{
    ChainHash, Message, QueryFoafBalances, ReplyFoafBalances, ShortChannelId, TlvStream,
    UnknownMessage,
};

fn odd_tlv() -> TlvStream {
    let mut tlvs = TlvStream::new();
    tlvs.insert(1, b"foaf".to_vec());
    tlvs
}

fn query(tlvs: TlvStream) -> Message {
    Message::Query(QueryFoafBalances {
        chain_hash: ChainHash::BITCOIN,
        flow_value: 1,
        amt_to_rebalance: 100_000_000,
        tlvs,
    })
}

fn reply(tlvs: TlvStream) -> Message {
    let ids: Vec<ShortChannelId> = ["539268x845x1", "600000x1234x0", "700123x7x3"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    Message::Reply(ReplyFoafBalances {
        chain_hash: ChainHash::BITCOIN,
        flow_value: 0,
        timestamp: 1_700_000_000,
        amt_to_rebalance: 100_000_000,
        short_channel_ids: ids,
        tlvs,
    })
}

/// The hex split at field boundaries, each line labelled, then the JSON. Also checks that the
/// bytes decode back to the message (W03 canonical framing).
fn render(m: &Message, fields: &[(&str, usize)]) -> String {
    let bytes = m.encode().unwrap();
    assert_eq!(&Message::decode(&bytes).unwrap(), m);
    let mut out = format!("hex: {}\n\n", hex::encode(&bytes));
    let mut at = 0;
    for &(name, len) in fields {
        out += &format!("{name:>18}: {}\n", hex::encode(&bytes[at..at + len]));
        at += len;
    }
    if at < bytes.len() {
        let rest = if matches!(m, Message::Unknown(_)) {
            "payload"
        } else {
            "tlv stream"
        };
        out += &format!("{rest:>18}: {}\n", hex::encode(&bytes[at..]));
    }
    out += "\n";
    out += &serde_json::to_string_pretty(&to_json(m)).unwrap();
    out
}

const QUERY_FIELDS: [(&str, usize); 4] = [
    ("type", 2),
    ("chain_hash", 32),
    ("flow_value", 1),
    ("amt_to_rebalance", 8),
];

const REPLY_FIELDS: [(&str, usize); 7] = [
    ("type", 2),
    ("chain_hash", 32),
    ("flow_value", 1),
    ("timestamp", 8),
    ("amt_to_rebalance", 8),
    ("len", 2),
    ("short_channel_ids", 24),
];

// R: W01
#[test]
fn query_mainnet() {
    insta::assert_snapshot!(render(&query(TlvStream::new()), &QUERY_FIELDS));
}

// R: W01, W03 (odd TLV extension kept)
#[test]
fn query_mainnet_with_odd_tlv() {
    insta::assert_snapshot!(render(&query(odd_tlv()), &QUERY_FIELDS));
}

// R: W02, W04
#[test]
fn reply_mainnet_three_scids() {
    insta::assert_snapshot!(render(&reply(TlvStream::new()), &REPLY_FIELDS));
}

// R: W02, W03, W04
#[test]
fn reply_mainnet_three_scids_with_odd_tlv() {
    insta::assert_snapshot!(render(&reply(odd_tlv()), &REPLY_FIELDS));
}

// R: W03: an unknown type (BOLT #1 `init`, Appendix C) is rendered with its number and payload.
#[test]
fn unknown_message() {
    let m = Message::Unknown(UnknownMessage {
        msg_type: 16,
        payload: hex::decode("00000000c9012acb0104").unwrap(),
    });
    insta::assert_snapshot!(render(&m, &[("type", 2)]));
}
