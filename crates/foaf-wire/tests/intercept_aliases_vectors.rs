//! vectors/wire/intercept_aliases.json: the `intercept_aliases` record of `reply_foaf_balances`
//! (docs/bolt14.md §4.2.1), decoded and re-encoded.

use foaf_wire::{
    decode_intercept_aliases, encode_intercept_aliases, InterceptAlias, Message,
    INTERCEPT_ALIASES_TLV,
};
use serde_json::Value;

fn load() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/wire/intercept_aliases.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn aliases(v: &Value) -> Vec<InterceptAlias> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| InterceptAlias {
            scid: p["scid"].as_str().unwrap().parse().unwrap(),
            alias: p["alias"].as_u64().unwrap(),
        })
        .collect()
}

#[test]
fn valid_vectors_decode_and_re_encode() {
    let doc = load();
    for v in doc["valid"].as_array().unwrap() {
        let want = aliases(&v["intercept_aliases"]);
        let value = if let Some(m) = v["message"].as_str() {
            let bytes = hex::decode(m).unwrap();
            let Message::Reply(r) = Message::decode(&bytes).unwrap() else {
                panic!("{}: not a reply", v["name"]);
            };
            let scids: Vec<String> = r.short_channel_ids.iter().map(|s| s.to_string()).collect();
            assert_eq!(serde_json::json!(scids), v["short_channel_ids"]);
            // The whole message re-encodes to the same bytes (record kept as an odd TLV).
            assert_eq!(Message::Reply(r.clone()).encode().unwrap(), bytes);
            r.tlvs.get(INTERCEPT_ALIASES_TLV).unwrap().to_vec()
        } else {
            hex::decode(v["value"].as_str().unwrap()).unwrap()
        };
        assert_eq!(
            decode_intercept_aliases(&value).unwrap(),
            want,
            "{}",
            v["name"]
        );
        assert_eq!(encode_intercept_aliases(&want), value, "{}", v["name"]);
    }
}

#[test]
fn invalid_vectors_are_refused_with_their_error() {
    let doc = load();
    for v in doc["invalid"].as_array().unwrap() {
        let value = hex::decode(v["value"].as_str().unwrap()).unwrap();
        let e = decode_intercept_aliases(&value).unwrap_err();
        assert_eq!(e.code(), v["error"].as_str().unwrap(), "{}", v["name"]);
    }
}
