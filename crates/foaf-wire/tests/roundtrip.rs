//! Property tests: encoding is canonical for every type of the crate.
//!
//! For each type, both directions: `decode(encode(v)) == v` for generated values, and
//! `encode(decode(b)) == b` whenever generated (or mutated) bytes decode at all, so there is
//! exactly one encoding of each value and the decoder accepts no other.

use foaf_wire::bigsize::{
    bigsize_len, decode_bigsize, decode_truncated_uint, write_bigsize, write_truncated_uint,
};
use foaf_wire::json::{from_json, to_json};
use foaf_wire::{
    ChainHash, Flow, Message, MessageTypes, QueryFoafBalances, Reader, ReplyFoafBalances,
    ShortChannelId, TlvStream, UnknownMessage,
};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

fn chain_hash() -> impl Strategy<Value = ChainHash> {
    prop_oneof![
        Just(ChainHash::BITCOIN),
        Just(ChainHash::REGTEST),
        any::<[u8; 32]>().prop_map(ChainHash),
    ]
}

fn scid() -> impl Strategy<Value = ShortChannelId> {
    any::<u64>().prop_map(ShortChannelId::from_u64)
}

/// Type values spread over all four BigSize widths.
fn tlv_type() -> impl Strategy<Value = u64> {
    prop_oneof![
        0..0xfdu64,
        0xfd..0x1_0000u64,
        0x1_0000..0x1_0000_0000u64,
        any::<u64>()
    ]
}

/// Any stream (even types included): for `TlvStream` on its own.
fn tlv_stream() -> impl Strategy<Value = TlvStream> {
    btree_map(tlv_type(), vec(any::<u8>(), 0..40), 0..6)
        .prop_map(|m| m.into_iter().collect::<TlvStream>())
}

/// A message extension: odd types only, as even ones are unknown and would not decode (W03).
fn extension() -> impl Strategy<Value = TlvStream> {
    btree_map(
        tlv_type().prop_map(|t| t | 1),
        vec(any::<u8>(), 0..40),
        0..4,
    )
    .prop_map(|m| m.into_iter().collect::<TlvStream>())
}

fn query() -> impl Strategy<Value = QueryFoafBalances> {
    (chain_hash(), any::<u8>(), any::<u64>(), extension()).prop_map(|(c, f, a, tlvs)| {
        QueryFoafBalances {
            chain_hash: c,
            flow_value: f,
            amt_to_rebalance: a,
            tlvs,
        }
    })
}

fn reply() -> impl Strategy<Value = ReplyFoafBalances> {
    (
        chain_hash(),
        any::<u8>(),
        any::<u64>(),
        any::<u64>(),
        vec(scid(), 0..40),
        extension(),
    )
        .prop_map(|(c, f, t, a, ids, tlvs)| ReplyFoafBalances {
            chain_hash: c,
            flow_value: f,
            timestamp: t,
            amt_to_rebalance: a,
            short_channel_ids: ids,
            tlvs,
        })
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        query().prop_map(Message::Query),
        reply().prop_map(Message::Reply),
        (
            any::<u16>().prop_filter("not ours", |t| *t != 347 && *t != 349),
            vec(any::<u8>(), 0..80)
        )
            .prop_map(|(msg_type, payload)| Message::Unknown(UnknownMessage { msg_type, payload })),
    ]
}

proptest! {
    // R: W03 (BOLT #1 BigSize)
    #[test]
    fn bigsize_value_round_trip(v in any::<u64>()) {
        let mut out = Vec::new();
        write_bigsize(v, &mut out);
        prop_assert_eq!(out.len(), bigsize_len(v));
        prop_assert_eq!(decode_bigsize(&out), Ok(v));
    }

    // R: W03: only minimal encodings decode.
    #[test]
    fn bigsize_bytes_round_trip(b in prop_oneof![
        vec(any::<u8>(), 0..10),
        (prop_oneof![Just(0xfdu8), Just(0xfe), Just(0xff)], vec(any::<u8>(), 0..9))
            .prop_map(|(p, rest)| [vec![p], rest].concat()),
    ]) {
        if let Ok(v) = decode_bigsize(&b) {
            let mut out = Vec::new();
            write_bigsize(v, &mut out);
            prop_assert_eq!(out, b);
        }
    }

    #[test]
    fn truncated_uint_round_trip(v in any::<u64>(), b in vec(any::<u8>(), 0..9)) {
        let mut out = Vec::new();
        write_truncated_uint(v, &mut out);
        prop_assert_eq!(decode_truncated_uint(&out, 8, 0), Ok(v));
        let max = if v <= u64::from(u32::MAX) { 4 } else { 8 };
        prop_assert_eq!(decode_truncated_uint(&out, max, 0), Ok(v));
        if let Ok(w) = decode_truncated_uint(&b, 8, 0) {
            let mut out = Vec::new();
            write_truncated_uint(w, &mut out);
            prop_assert_eq!(out, b);
        }
    }

    // R: W03
    #[test]
    fn tlv_stream_round_trip(s in tlv_stream()) {
        let mut out = Vec::new();
        s.write(&mut out);
        prop_assert_eq!(out.len(), s.encoded_len());
        let back = TlvStream::read(&mut Reader::new(&out), |_| true).unwrap();
        prop_assert_eq!(back, s);
    }

    // R: W03: mutated streams either fail or are re-encoded to exactly their bytes.
    #[test]
    fn tlv_stream_bytes_round_trip(s in tlv_stream(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut b = Vec::new();
        s.write(&mut b);
        if !b.is_empty() {
            let i = at.index(b.len());
            b[i] = byte;
        }
        if let Ok(back) = TlvStream::read(&mut Reader::new(&b), |_| true) {
            let mut out = Vec::new();
            back.write(&mut out);
            prop_assert_eq!(out, b);
        }
    }

    // R: W04
    #[test]
    fn scid_text_and_bytes_round_trip(id in scid()) {
        prop_assert_eq!(id.to_string().parse::<ShortChannelId>(), Ok(id));
        prop_assert_eq!(ShortChannelId::from_bytes(id.to_bytes()), id);
        prop_assert_eq!(ShortChannelId::from_u64(id.to_u64()), id);
        prop_assert_eq!(ShortChannelId::new(id.block(), id.tx_index(), id.output()), Some(id));
        prop_assert_eq!(id.to_bytes(), id.to_u64().to_be_bytes());
    }

    // R: W04: every in-range BLOCKxTXxOUT parses to its parts and prints back identically.
    #[test]
    fn scid_parts_round_trip(b in 0u32..=0xff_ffff, t in 0u32..=0xff_ffff, o in any::<u16>()) {
        let text = format!("{b}x{t}x{o}");
        let id: ShortChannelId = text.parse().unwrap();
        prop_assert_eq!((id.block(), id.tx_index(), id.output()), (b, t, o));
        prop_assert_eq!(id.to_string(), text);
    }

    // R: W05: exactly 0 and 1 are flows; the byte round-trips.
    #[test]
    fn flow_round_trip(b in any::<u8>()) {
        match Flow::from_byte(b) {
            Some(f) => {
                prop_assert!(b <= 1);
                prop_assert_eq!(f as u8, b);
                prop_assert_eq!(f.reverse().reverse(), f);
                prop_assert_ne!(f.reverse(), f);
            }
            None => prop_assert!(b > 1),
        }
    }

    #[test]
    fn chain_hash_round_trip(h in chain_hash()) {
        prop_assert_eq!(h.to_string().parse::<ChainHash>(), Ok(h));
    }

    // R: W01
    #[test]
    fn query_round_trip(q in query()) {
        let m = Message::Query(q);
        let bytes = m.encode().unwrap();
        prop_assert_eq!(&bytes[..2], &347u16.to_be_bytes());
        prop_assert_eq!(Message::decode(&bytes), Ok(m));
    }

    // R: W02
    #[test]
    fn reply_round_trip(r in reply()) {
        let m = Message::Reply(r);
        let bytes = m.encode().unwrap();
        prop_assert_eq!(&bytes[..2], &349u16.to_be_bytes());
        prop_assert_eq!(Message::decode(&bytes), Ok(m));
    }

    // R: W01–W03: every message, default and custom types.
    #[test]
    fn message_round_trip(m in message(), custom in any::<bool>()) {
        let types = if custom {
            MessageTypes { query: 32_801, reply: 32_803 }
        } else {
            MessageTypes::default()
        };
        // An unknown message that happens to carry one of the custom types is ours there.
        if let Message::Unknown(u) = &m {
            prop_assume!(u.msg_type != types.query && u.msg_type != types.reply);
        }
        let bytes = m.encode_with(types).unwrap();
        prop_assert_eq!(Message::decode_with(&bytes, types), Ok(m));
    }

    // R: W03: bytes near valid messages (one byte changed, or cut short) either fail to decode
    // or are the canonical encoding of what they decode to.
    #[test]
    fn message_bytes_round_trip(
        m in message(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut b = m.encode().unwrap();
        let i = at.index(b.len());
        b[i] = byte;
        let b = &b[..=cut.index(b.len())];
        if let Ok(back) = Message::decode(b) {
            prop_assert_eq!(back.encode().unwrap(), b);
        }
    }

    // Arbitrary bytes never panic, and decode only to their own canonical form.
    #[test]
    fn arbitrary_bytes_round_trip(t in prop_oneof![Just(347u16), Just(349), any::<u16>()], rest in vec(any::<u8>(), 0..120)) {
        let b = [t.to_be_bytes().as_slice(), &rest].concat();
        if let Ok(m) = Message::decode(&b) {
            prop_assert_eq!(m.encode().unwrap(), b);
        }
    }

    // The pinned JSON rendering loses nothing (W04: scids as BLOCKxTXxOUT).
    #[test]
    fn json_round_trip(m in message()) {
        let v = to_json(&m);
        prop_assert_eq!(from_json(&v), Ok(m.clone()));
        let text = serde_json::to_string(&v).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(from_json(&parsed), Ok(m));
    }
}
