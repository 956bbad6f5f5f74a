//! Fuzz-target logic for the pipe protocol (built with the `fuzzing` feature).
//!
//! [`session`] feeds the input, line by line, to [`parse_op`] and to a fresh [`Session`] (the
//! same path as `foaf pipe`), and checks what the protocol pins for every line, whatever it
//! holds: no panic; exactly one `{"effect":"done"}`, last; every effect a JSON object with a
//! known `effect` word that serialises to one line; a malformed line answered by one `log` and
//! `done` and reported as a typed error; `send` effects carry hex that decodes as a BOLT #1
//! message. The cargo-fuzz binary `fuzz/fuzz_targets/pipe_session.rs` is a one-liner over it,
//! and the crate's tests replay `fuzz/seeds/pipe_session/` through it.

use serde_json::Value;

use crate::{parse_op, Session};

pub use foaf_wire::fuzzing::{replay_seeds, Target};

/// Every target of this crate, by the name of its cargo-fuzz binary.
pub const TARGETS: &[Target] = &[("pipe_session", session)];

/// The effect words of the protocol (docs/conformance-pipe.md): v1, the project's extension
/// `features` (the W06 `features` op) and v2's `plan`, `forward`, `fail`, `hold`, `rebalance`.
const EFFECTS: &[&str] = &[
    "features",
    "plan",
    "forward",
    "fail",
    "hold",
    "rebalance",
    "send",
    "disconnect",
    "refused",
    "offers",
    "log",
    "unsupported",
    "done",
];

/// The pipe-session target (module docs).
pub fn session(data: &[u8]) {
    // `foaf pipe` reads lines; a line that is not UTF-8 is a malformed op handled before the
    // session, so the target takes the UTF-8 part.
    let text = match core::str::from_utf8(data) {
        Ok(t) => t,
        Err(e) => core::str::from_utf8(&data[..e.valid_up_to()]).expect("valid prefix"),
    };
    let mut s = Session::new(None);
    for line in text.lines() {
        let parsed = parse_op(line);
        if let Err(e) = &parsed {
            let _ = e.to_string();
        }
        let out = s.handle_line(line);
        assert_eq!(
            out.error.is_some(),
            parsed.is_err(),
            "handle_line and parse_op disagree"
        );
        let (last, rest) = out.effects.split_last().expect("at least `done`");
        assert_eq!(last, &serde_json::json!({"effect": "done"}), "`done` last");
        for effect in rest {
            let word = effect
                .get("effect")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("effect without a word: {effect}"));
            assert!(EFFECTS.contains(&word), "unknown effect {word:?}");
            assert_ne!(word, "done", "a second `done`");
            let line = serde_json::to_string(effect).expect("effects serialise");
            assert!(!line.contains('\n'), "an effect spanning lines");
            if word == "send" {
                let msg = effect["msg"].as_str().expect("send.msg is a string");
                let bytes = hex::decode(msg).expect("send.msg is hex");
                assert!(bytes.len() >= 2 && bytes.len() <= foaf_wire::MAX_MESSAGE_LEN);
            }
        }
        if out.error.is_some() {
            assert_eq!(
                out.effects.len(),
                2,
                "a malformed line gets `log` then `done`"
            );
            assert_eq!(out.effects[0]["effect"], "log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replays the committed seeds of `fuzz/seeds/pipe_session/` (findings stay fixed).
    #[test]
    fn replay_committed_seeds() {
        foaf_wire::fuzzing::replay_committed_seeds(TARGETS);
    }

    /// A valid session goes through every op, and the checks above hold for it.
    #[test]
    fn valid_session_passes_the_checks() {
        let lines = [
            r#"{"op":"init","chain_hash":"bitcoin","now":1000,"seed":1,"config":{},"graph":["9x9x9"],"channels":[{"scid":"1x1x1","peer":"a","capacity":1000000,"local":900000,"announced":true,"state":"normal"},{"scid":"2x1x1","peer":"b","capacity":1000000,"local":100000,"announced":true,"state":"normal"}]}"#,
            r#"{"op":"connect","peer":"a"}"#,
            r#"{"op":"connect","peer":"b"}"#,
            r#"{"op":"query","peer":"a","flow_value":1,"amt":1000}"#,
            r#"{"op":"offer","peer":"b","flow_value":1,"amt":1000}"#,
            r#"{"op":"recv","peer":"a","msg":"015b"}"#,
            r#"{"op":"tick","now":2000}"#,
            r#"{"op":"offers"}"#,
            r#"{"op":"dance"}"#,
            "not json",
        ];
        session(lines.join("\n").as_bytes());
    }
}
