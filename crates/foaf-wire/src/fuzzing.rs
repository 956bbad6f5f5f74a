//! Fuzz-target logic for the wire layer (built with the `fuzzing` feature).
//!
//! The cargo-fuzz binaries under `fuzz/fuzz_targets/` are one-liners calling these functions,
//! and this crate's tests replay the committed seeds in `fuzz/seeds/<target>/` through the same
//! functions, so a target is exercised by `cargo test` too and a finding kept as a seed stays a
//! regression test (the rustls arrangement).
//!
//! Every function takes the raw fuzzer input and panics only when an invariant the crate
//! promises is broken: a decoder panicking, accepting bytes it cannot reproduce exactly
//! (`encode(decode(b)) == b`), decoding to a value that re-encodes to something else, reporting
//! an error offset outside the input, or holding more decoded items than the bytes could carry.

use arbitrary::{Arbitrary, Unstructured};

use crate::bigsize::{
    bigsize_len, decode_bigsize, decode_truncated_uint, read_bigsize, write_bigsize,
    write_truncated_uint,
};
use crate::error::DecodeError;
use crate::messages::{Message, MessageTypes, QueryFoafBalances, ReplyFoafBalances};
use crate::reader::Reader;
use crate::tlv::TlvStream;

/// A named fuzz target: its name (the cargo-fuzz binary and seed directory) and its logic.
pub type Target = (&'static str, fn(&[u8]));

/// Every target of this crate, by the name of its cargo-fuzz binary.
pub const TARGETS: &[Target] = &[
    ("wire_bigsize", bigsize),
    ("wire_tlv_stream", tlv_stream),
    ("wire_query", query),
    ("wire_reply", reply),
    ("wire_message", message),
    ("wire_roundtrip", roundtrip),
    ("wire_roundtrip_structured", roundtrip_structured),
    #[cfg(feature = "json")]
    ("wire_json", json),
];

/// An error must point inside (or just past the end of) the buffer it was found in, and its
/// `Display` must not panic.
fn check_error(e: &DecodeError, len: usize) {
    assert!(
        e.offset <= len,
        "error offset {} outside a {len}-byte input: {e:?}",
        e.offset
    );
    let _ = e.to_string();
    let _ = e.code();
}

/// BigSize and the truncated integers: a decoded value re-encodes to exactly the input bytes,
/// and a streamed read consumes exactly `bigsize_len` bytes.
pub fn bigsize(data: &[u8]) {
    match decode_bigsize(data) {
        Ok(v) => {
            let mut out = Vec::new();
            write_bigsize(v, &mut out);
            assert_eq!(out, data, "BigSize {v} accepted from non-canonical bytes");
            assert_eq!(bigsize_len(v), data.len());
        }
        Err(e) => check_error(&e, data.len()),
    }
    let mut r = Reader::new(data);
    match read_bigsize(&mut r) {
        Ok(v) => assert_eq!(
            r.offset(),
            bigsize_len(v),
            "read_bigsize consumed wrong length"
        ),
        Err(e) => check_error(&e, data.len()),
    }
    for max_len in [2, 4, 8] {
        let bytes = &data[..data.len().min(9)];
        if let Ok(v) = decode_truncated_uint(bytes, max_len, 0) {
            let mut out = Vec::new();
            write_truncated_uint(v, &mut out);
            assert_eq!(
                out,
                bytes,
                "tu{} {v} accepted from non-minimal bytes",
                max_len * 8
            );
        }
    }
}

/// A TLV stream, under a "known types" rule chosen by the first byte: a decoded stream has
/// strictly increasing types, no unknown even type, and re-encodes to exactly the input.
pub fn tlv_stream(data: &[u8]) {
    let Some((&mode, stream)) = data.split_first() else {
        return;
    };
    // 0: nothing is known (the rule for BOLT #14 messages); otherwise types divisible by
    // `mode` are known, which lets even types through and exercises the other branch.
    let is_known = |t: u64| mode != 0 && t.is_multiple_of(u64::from(mode));
    match TlvStream::read(&mut Reader::new(stream), is_known) {
        Ok(s) => {
            let mut out = Vec::new();
            s.write(&mut out);
            assert_eq!(out, stream, "TLV stream does not re-encode to its input");
            assert_eq!(s.encoded_len(), stream.len());
            let types: Vec<u64> = s.iter().map(|(t, _)| t).collect();
            assert!(types.windows(2).all(|w| w[0] < w[1]));
            assert!(types.iter().all(|&t| t % 2 == 1 || is_known(t)));
            // Each record costs at least two bytes, so the record count is bounded by the input.
            assert!(s.len() <= stream.len() / 2);
        }
        Err(e) => check_error(&e, stream.len()),
    }
}

/// The `query_foaf_balances` payload decoder alone.
pub fn query(data: &[u8]) {
    match QueryFoafBalances::read_payload(&mut Reader::new(data)) {
        Ok(m) => {
            let mut out = Vec::new();
            m.write_payload(&mut out).expect("a decoded query encodes");
            assert_eq!(out, data, "query does not re-encode to its input");
            assert_eq!(m.payload_len(), data.len());
        }
        Err(e) => check_error(&e, data.len()),
    }
}

/// The `reply_foaf_balances` payload decoder alone.
pub fn reply(data: &[u8]) {
    match ReplyFoafBalances::read_payload(&mut Reader::new(data)) {
        Ok(m) => {
            // Allocation is bounded by the input: 8 bytes per scid actually present.
            assert!(m.short_channel_ids.len() * 8 <= data.len());
            let mut out = Vec::new();
            m.write_payload(&mut out).expect("a decoded reply encodes");
            assert_eq!(out, data, "reply does not re-encode to its input");
            assert_eq!(m.payload_len(), data.len());
        }
        Err(e) => check_error(&e, data.len()),
    }
}

/// The `Message` dispatcher, with the default types and with types chosen by the input (a
/// deployment may move the messages into the custom range).
pub fn message(data: &[u8]) {
    decode_then_check(data, MessageTypes::default());
    if data.len() >= 4 {
        let types = MessageTypes {
            query: u16::from_be_bytes([data[0], data[1]]),
            reply: u16::from_be_bytes([data[2], data[3]]),
        };
        if types.query != types.reply {
            decode_then_check(&data[4..], types);
        }
    }
}

fn decode_then_check(data: &[u8], types: MessageTypes) {
    match Message::decode_with(data, types) {
        Ok(m) => {
            let out = m.encode_with(types).expect("a decoded message encodes");
            assert_eq!(out, data, "message does not re-encode to its input");
            assert_eq!(m.msg_type(types), u16::from_be_bytes([data[0], data[1]]));
        }
        Err(e) => check_error(&e, data.len()),
    }
}

/// decode → encode → decode: for any accepted input, the second decode is identical to the
/// first and the encoding is the input byte for byte.
pub fn roundtrip(data: &[u8]) {
    let Ok(first) = Message::decode(data) else {
        return;
    };
    let bytes = first.encode().expect("a decoded message encodes");
    assert_eq!(bytes, data, "encode(decode(b)) != b");
    let second = Message::decode(&bytes).expect("an encoded message decodes");
    assert_eq!(first, second, "decode(encode(decode(b))) != decode(b)");
}

/// encode → decode from a structured message (`Arbitrary`): every message the encoder accepts
/// decodes back to itself, and the encoder refuses exactly the messages over the BOLT #1 size.
pub fn roundtrip_structured(data: &[u8]) {
    let Ok(msg) = Message::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let size = 2 + match &msg {
        Message::Query(m) => m.payload_len(),
        Message::Reply(m) => m.payload_len(),
        Message::Unknown(m) => m.payload.len(),
    };
    match msg.encode() {
        Ok(bytes) => {
            assert_eq!(bytes.len(), size);
            let back = Message::decode(&bytes).expect("an encoded message decodes");
            assert_eq!(back, msg, "decode(encode(m)) != m");
        }
        Err(e) => assert!(
            size > crate::MAX_MESSAGE_LEN,
            "{size}-byte message refused: {e}"
        ),
    }
    #[cfg(feature = "json")]
    {
        let v = crate::json::to_json(&msg);
        let back = crate::json::from_json(&v).expect("rendered JSON parses");
        assert_eq!(back, msg, "from_json(to_json(m)) != m");
    }
}

/// The strict JSON parser (used by the CLI, the vectors and the pipe protocol) and the
/// `short_channel_id`/chain-hash text forms: whatever parses renders back to the same value.
#[cfg(feature = "json")]
pub fn json(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(scid) = text.parse::<crate::ShortChannelId>() {
        let again: crate::ShortChannelId = scid.to_string().parse().expect("scid text parses");
        assert_eq!(again, scid);
    }
    if let Ok(h) = text.parse::<crate::ChainHash>() {
        assert_eq!(h.to_string().parse::<crate::ChainHash>(), Ok(h));
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    if let Ok(msg) = crate::json::from_json(&value) {
        let rendered = crate::json::to_json(&msg);
        let back = crate::json::from_json(&rendered).expect("rendered JSON parses");
        assert_eq!(back, msg, "from_json(to_json(m)) != m");
        // The wire encoder must refuse cleanly (never panic) whatever JSON described.
        if let Ok(bytes) = msg.encode() {
            if let Ok(decoded) = Message::decode(&bytes) {
                assert_eq!(decoded.encode().as_ref(), Ok(&bytes));
            }
        }
    }
}

/// Runs every file of `root/<name>/` through its target and returns how many ran; panics
/// naming each input that broke an invariant. Shared with the other crates' seed replay tests.
pub fn replay_seeds(root: &std::path::Path, targets: &[Target]) -> usize {
    let mut replayed = 0;
    let mut failures = Vec::new();
    for (name, target) in targets {
        let dir = root.join(name);
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("seed directory {}: {e}", dir.display()))
            .map(|entry| entry.expect("readable seed directory").path())
            .collect();
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).expect("readable seed");
            if std::panic::catch_unwind(|| target(&data)).is_err() {
                failures.push(path.display().to_string());
            }
            replayed += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "seeds breaking an invariant: {failures:#?}"
    );
    replayed
}

/// [`replay_seeds`] over the repository's committed corpus (`fuzz/seeds/`): every crate's
/// seed regression test calls this with its own targets. Panics when no seed ran (a moved or
/// empty corpus must not pass silently).
pub fn replay_committed_seeds(targets: &[Target]) -> usize {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/seeds");
    let n = replay_seeds(std::path::Path::new(root), targets);
    assert!(n >= 1, "no seeds replayed from {root}");
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replays every committed seed of every target (`fuzz/seeds/<target>/*`): the corpus
    /// regression test, and what keeps each fuzzing finding fixed.
    #[test]
    fn replay_committed_seeds() {
        let replayed = super::replay_committed_seeds(TARGETS);
        assert!(replayed >= TARGETS.len(), "only {replayed} seeds replayed");
    }

    #[test]
    fn targets_survive_trivial_inputs() {
        for (_, target) in TARGETS {
            target(&[]);
            target(&[0]);
            target(&[0xff; 64]);
            target(&[0x01, 0x5b]);
            target(&[0x01, 0x5d, 0, 0, 0, 0]);
        }
    }
}
