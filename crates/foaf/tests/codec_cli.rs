//! Drives the real `foaf` binary: `foaf decode` / `foaf encode` round trips, and the bad-input
//! contract (exit status 2, exactly one line on stderr, nothing on stdout).

mod common;

use common::foaf;

use foaf_wire::{ChainHash, Message, QueryFoafBalances, ReplyFoafBalances, TlvStream};

/// Runs a command that must succeed, returning its stdout without the final newline.
fn ok(args: &[&str], stdin: Option<&str>) -> String {
    let out = foaf(args, stdin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.matches('\n').count(), 1, "one line: {stdout:?}");
    stdout.trim_end().to_owned()
}

/// Runs a command that must fail as bad input, returning its one stderr line.
fn bad(args: &[&str], stdin: Option<&str>) -> String {
    let out = foaf(args, stdin);
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?}: stdout {:?}", out.stdout);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
    assert!(stderr.ends_with('\n'));
    stderr.trim_end().to_owned()
}

fn messages() -> Vec<Message> {
    let mut tlvs = TlvStream::new();
    tlvs.insert(1, vec![0x2a]);
    tlvs.insert(0xfd01, vec![]);
    vec![
        Message::Query(QueryFoafBalances {
            chain_hash: ChainHash::BITCOIN,
            flow_value: 1,
            amt_to_rebalance: 100_000,
            tlvs: TlvStream::new(),
        }),
        Message::Reply(ReplyFoafBalances {
            chain_hash: ChainHash::TESTNET4,
            flow_value: 0,
            timestamp: 1_700_000_000,
            amt_to_rebalance: u64::MAX,
            short_channel_ids: ["539268x845x1", "0x0x550", "16777215x16777215x65535"]
                .iter()
                .map(|s| s.parse().unwrap())
                .collect(),
            tlvs,
        }),
        Message::Unknown(foaf_wire::UnknownMessage {
            msg_type: 16,
            payload: vec![0, 0, 0, 0, 0xc9, 0x01, 0x2a],
        }),
    ]
}

// R: W01, W02, W04: real messages survive hex -> JSON -> hex through the binary, and the JSON
// is the pinned rendering.
#[test]
fn decode_encode_round_trip() {
    for m in messages() {
        let hex = hex::encode(m.encode().unwrap());
        let json = ok(&["decode", &hex], None);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value, foaf_wire::json::to_json(&m));
        assert_eq!(ok(&["encode", &json], None), hex);
        // The same through stdin, with `0x` and line breaks around the hex.
        let wrapped = format!("0x{}\n{}\n", &hex[..10], &hex[10..]);
        assert_eq!(ok(&["decode", "-"], Some(&wrapped)), json);
        assert_eq!(ok(&["encode"], Some(&json)), hex);
        // --pretty: same value over several lines.
        let pretty = foaf(&["decode", "--pretty", &hex], None);
        assert!(pretty.status.success());
        let pretty_value: serde_json::Value = serde_json::from_slice(&pretty.stdout).unwrap();
        assert_eq!(pretty_value, value);
    }
}

// R: W02: the reply's JSON shape as pinned in issue 2 / docs/wire.md.
#[test]
fn decode_prints_pinned_json_shape() {
    let hex = hex::encode(messages()[1].encode().unwrap());
    assert_eq!(
        ok(&["decode", &hex], None),
        r#"{"type":"reply_foaf_balances","chain_hash":"43f08bdab050e35b567c864b91f47f50ae725ae2de53bcfbbaf284da00000000","flow_value":0,"timestamp":1700000000,"amt_to_rebalance":18446744073709551615,"short_channel_ids":["539268x845x1","0x0x550","16777215x16777215x65535"],"tlvs":{"1":"2a","64769":""}}"#
    );
}

#[test]
fn custom_types_option() {
    let m = &messages()[1];
    let json = serde_json::to_string(&foaf_wire::json::to_json(m)).unwrap();
    let hex = ok(&["encode", "--types", "32801,32803", &json], None);
    assert!(hex.starts_with("8023"), "{hex}");
    assert_eq!(ok(&["decode", "--types", "32801,32803", &hex], None), json);
    // Without the option the same bytes are an unknown type, carried through.
    let unknown = ok(&["decode", &hex], None);
    assert!(
        unknown.starts_with(r#"{"type":32803,"payload":""#),
        "{unknown}"
    );
    let line = bad(&["decode", "--types", "5", &hex], None);
    assert!(
        line.starts_with("foaf: --types: expected QUERY,REPLY"),
        "{line}"
    );
}

// R: W03: bytes that do not decode: exit 2, one stderr line naming the problem and offset.
#[test]
fn decode_rejects_bad_messages_with_offset() {
    let reply = hex::encode(messages()[1].encode().unwrap());
    // Truncated in the middle of the scids.
    let cut = &reply[..reply.len() - 40];
    let line = bad(&["decode", cut], None);
    assert!(line.contains("truncated"), "{line}");
    assert!(line.ends_with("at offset 53"), "{line}");
    // `len` past the end of the payload.
    let mut long = reply.clone();
    long.replace_range(102..106, "ffff");
    let line = bad(&["decode", &long], None);
    assert!(
        line.contains("short_channel_ids") && line.ends_with("at offset 53"),
        "{line}"
    );
    // Unknown even TLV type in the extension.
    let query = hex::encode(messages()[0].encode().unwrap());
    let line = bad(&["decode", &format!("{query}0200")], None);
    assert_eq!(
        line,
        "foaf: cannot decode: unknown even TLV type 2 at offset 43"
    );
    // Not hex at all, and nothing.
    let line = bad(&["decode", "015bxx"], None);
    assert!(
        line.contains("bad hex") && line.contains("byte offset 2"),
        "{line}"
    );
    bad(&["decode"], Some(""));
}

#[test]
fn encode_rejects_bad_json() {
    let line = bad(&["encode", "{"], None);
    assert!(line.starts_with("foaf: invalid JSON"), "{line}");
    let line = bad(
        &[
            "encode",
            r#"{"type":"query_foaf_balances","chain_hash":"bitcoin","flow_value":1,"amt_to_rebalance":1,"amount":2}"#,
        ],
        None,
    );
    assert_eq!(line, r#"foaf: bad message: unknown field "amount""#);
    let line = bad(
        &[
            "encode",
            r#"{"type":"reply_foaf_balances","chain_hash":"bitcoin","flow_value":1,"timestamp":0,"amt_to_rebalance":1,"short_channel_ids":["1x2"]}"#,
        ],
        None,
    );
    assert!(line.contains(r#""short_channel_ids"[0]"#), "{line}");
}
