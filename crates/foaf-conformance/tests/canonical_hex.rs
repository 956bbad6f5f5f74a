//! The canonical messages the vectors are built from, checked against hex written out by hand
//! from the field layout (not produced by any encoder).

use foaf_conformance::build::{query_msg, reply_msg, scid, CHAIN, T0};
use foaf_conformance::scenarios;
use foaf_conformance::vector::Pattern;
use foaf_wire::ChainHash;

/// regtest genesis hash in wire order.
const REGTEST: &str = "06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f";

fn hand(parts: &[&str]) -> String {
    parts.concat()
}

// R: W01
#[test]
fn query_matches_hand_written_hex() {
    let want = hand(&[
        "015b",             // type 347
        REGTEST,            // chain_hash
        "01",               // flow_value 1
        "0000000005f5e100", // amt_to_rebalance 100,000,000 msat
    ]);
    assert_eq!(hex::encode(query_msg(CHAIN, 1, 100_000_000)), want);
    let want0 = hand(&[
        "015b",
        "6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000", // mainnet
        "00",
        "0102030405060708",
    ]);
    assert_eq!(
        hex::encode(query_msg(ChainHash::BITCOIN, 0, 0x0102_0304_0506_0708)),
        want0
    );
}

// R: W02, W04
#[test]
fn reply_matches_hand_written_hex() {
    let want = hand(&[
        "015d",             // type 349
        REGTEST,            // chain_hash
        "01",               // flow_value
        "000000006553f100", // timestamp 1,700,000,000
        "0000000005f5e100", // amt 100,000,000
        "0002",             // len 2
        "083a8400034d0001", // 539268x845x1: block 0x083a84, tx 0x00034d, output 0x0001
        "ffffffffffffffff", // 16777215x16777215x65535
    ]);
    let ids = [scid(539_268, 845, 1), scid(0xff_ffff, 0xff_ffff, 0xffff)];
    assert_eq!(
        hex::encode(reply_msg(CHAIN, 1, T0, 100_000_000, &ids)),
        want
    );
    let empty = hand(&[
        "015d",
        REGTEST,
        "00",
        "0000000000000000",
        "0000000000000001",
        "0000",
    ]);
    assert_eq!(hex::encode(reply_msg(CHAIN, 0, 0, 1, &[])), empty);
}

// R: W01, W02, W04
#[test]
fn exact_vectors_carry_the_hand_written_bytes() {
    let all = scenarios::all();
    let exact = |name: &str| -> Vec<String> {
        let v = all.iter().find(|v| v.name == name).expect("vector exists");
        v.steps
            .iter()
            .flat_map(|s| s.expect.iter())
            .filter_map(|p| match p {
                Pattern::Send { msg: Some(m), .. } => Some(m.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        exact("w01_query_sent_exact")[0],
        hand(&["015b", REGTEST, "01", "0000000005f5e100"])
    );
    // type 349, regtest, flow 1, timestamp T0, 100,000 sat, one scid.
    let reply_with = |scid: &str| {
        hand(&[
            "015d",
            REGTEST,
            "01",
            "000000006553f100",
            "0000000005f5e100",
            "0001",
            scid,
        ])
    };
    assert_eq!(
        exact("w02_reply_sent_exact"),
        vec![reply_with("083a8400034d0001")]
    );
    assert_eq!(
        exact("w04_scid_layout"),
        vec![reply_with("ffffffffffffffff")]
    );
}
