//! The two BOLT #14 messages, and BOLT #1 message framing (W01–W03).
//!
//! Each message is one struct whose wire order is declared once, in the `wire_message!`
//! invocation below; decoding and encoding are both generated from that declaration.

use crate::chain::ChainHash;
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::reader::Reader;
use crate::scid::ShortChannelId;
use crate::tlv::TlvStream;
use zerocopy::{FromBytes, IntoBytes};

/// BOLT #1's largest message (type included), set by the transport's u16 length.
pub const MAX_MESSAGE_LEN: usize = 65_535;

/// Most `short_channel_id`s a reply may carry (A06, V02).
pub const MAX_REPLY_SCIDS: usize = 1000;

/// A field with a fixed wire encoding.
pub trait WireField: Sized {
    /// Reads the field.
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
    /// Appends the field.
    fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError>;
    /// Encoded length in bytes.
    fn encoded_len(&self) -> usize;
}

impl WireField for u8 {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u8()
    }
    fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(*self);
        Ok(())
    }
    fn encoded_len(&self) -> usize {
        1
    }
}

impl WireField for u64 {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u64()
    }
    fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.to_be_bytes());
        Ok(())
    }
    fn encoded_len(&self) -> usize {
        8
    }
}

impl WireField for ChainHash {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array().map(ChainHash)
    }
    fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.0);
        Ok(())
    }
    fn encoded_len(&self) -> usize {
        32
    }
}

/// `u16 len` followed by `len * short_channel_id` (W02).
impl WireField for Vec<ShortChannelId> {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let count = usize::from(r.u16().map_err(|e| e.in_field("len"))?);
        // Checked against the bytes left before allocating: a hostile `len` costs nothing (W03).
        let start = r.offset();
        let bytes = r
            .take(count * 8)
            .map_err(|e| e.in_field("short_channel_ids"))?;
        // The ids are kept in wire byte order, so the list is one copy (one allocation of
        // exactly `count` ids). `bytes.len()` is `8 * count`, so the cast cannot fail; the
        // error arm only keeps the decoder free of panicking paths.
        let ids = <[ShortChannelId]>::ref_from_bytes(bytes).map_err(|_| {
            DecodeError::new(
                start,
                DecodeErrorKind::Truncated {
                    field: "short_channel_ids",
                    needed: count * 8,
                    available: bytes.len(),
                },
            )
        })?;
        Ok(ids.to_vec())
    }
    fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let count = u16::try_from(self.len())
            .map_err(|_| EncodeError::TooManyScids { count: self.len() })?;
        out.extend_from_slice(&count.to_be_bytes());
        // One copy of the whole list, for the same reason.
        out.extend_from_slice(self.as_slice().as_bytes());
        Ok(())
    }
    fn encoded_len(&self) -> usize {
        2 + 8 * self.len()
    }
}

/// Declares a message struct, its fields in wire order, and its decoder and encoder.
macro_rules! wire_message {
    (
        $(#[$meta:meta])*
        pub struct $name:ident = $default_type:literal {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// The message's TLV extension stream (unknown odd records, kept verbatim).
            pub tlvs: TlvStream,
        }

        impl $name {
            /// The message type this project uses by default.
            pub const DEFAULT_TYPE: u16 = $default_type;

            /// Decodes the payload (everything after the 2-byte type). Fields are read in
            /// declaration order; whatever follows them is the TLV extension stream (W03).
            pub fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                $( let $field = <$ty as WireField>::read(r).map_err(|e| e.in_field(stringify!($field)))?; )*
                // No extension type is defined for BOLT #14 messages, so every even one is unknown.
                let tlvs = TlvStream::read(r, |_| false)?;
                Ok(Self { $($field,)* tlvs })
            }

            /// Appends the payload (without the type).
            pub fn write_payload(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
                $( WireField::write(&self.$field, out)?; )*
                self.tlvs.write(out);
                Ok(())
            }

            /// Payload length in bytes (without the type).
            pub fn payload_len(&self) -> usize {
                0 $( + WireField::encoded_len(&self.$field) )* + self.tlvs.encoded_len()
            }
        }

        #[cfg(feature = "arbitrary")]
        impl<'a> arbitrary::Arbitrary<'a> for $name {
            fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
                Ok(Self { $($field: u.arbitrary()?,)* tlvs: u.arbitrary()? })
            }
        }
    };
}

wire_message! {
    /// `query_foaf_balances` (type 347, W01): ask a peer on which of its channels it would
    /// rebalance `amt_to_rebalance` in the direction of `flow_value`.
    pub struct QueryFoafBalances = 347 {
        /// Genesis hash of the chain the channels are on (S01).
        pub chain_hash: ChainHash,
        /// 1: the sender intends to push funds to the recipient; 0: it wants to receive (S03).
        pub flow_value: u8,
        /// Millisatoshi the sender intends to rebalance, or more (S04).
        pub amt_to_rebalance: u64,
    }
}

wire_message! {
    /// `reply_foaf_balances` (type 349, pinned, W02): the channels on which the sender offers to
    /// rebalance `amt_to_rebalance` in the direction of `flow_value`.
    pub struct ReplyFoafBalances = 349 {
        /// Genesis hash of the chain the channels are on (S01).
        pub chain_hash: ChainHash,
        /// 1: the sender offers to forward the amount along these channels; 0: to receive it.
        pub flow_value: u8,
        /// Wall-clock unix seconds when the offer was made (A03).
        pub timestamp: u64,
        /// Millisatoshi offered (A02).
        pub amt_to_rebalance: u64,
        /// The sender's channels the offer is for (at most 1000 are allowed, A06/V02).
        pub short_channel_ids: Vec<ShortChannelId>,
    }
}

/// The direction of a rebalance as carried in `flow_value` (W05: only 0 and 1 are valid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flow {
    /// `flow_value` 0: the sender wants to receive funds.
    Receive = 0,
    /// `flow_value` 1: the sender wants to push funds.
    Push = 1,
}

impl Flow {
    /// The flow for a `flow_value` byte, `None` when it is neither 0 nor 1.
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(Flow::Receive),
            1 => Some(Flow::Push),
            _ => None,
        }
    }

    /// The opposite direction.
    pub fn reverse(self) -> Self {
        match self {
            Flow::Receive => Flow::Push,
            Flow::Push => Flow::Receive,
        }
    }
}

/// A message type this crate does not interpret, carried through untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMessage {
    /// The BOLT #1 type.
    pub msg_type: u16,
    /// Everything after the type.
    pub payload: Vec<u8>,
}

/// The message types used for the two messages. 347/349 by default; a deployment that must use
/// the custom range (≥ 32768) can choose others (see `docs/interop.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageTypes {
    /// Type of `query_foaf_balances`.
    pub query: u16,
    /// Type of `reply_foaf_balances`.
    pub reply: u16,
}

impl Default for MessageTypes {
    fn default() -> Self {
        Self {
            query: QueryFoafBalances::DEFAULT_TYPE,
            reply: ReplyFoafBalances::DEFAULT_TYPE,
        }
    }
}

/// A BOLT #1 message: one of ours, or any other type carried through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `query_foaf_balances`.
    Query(QueryFoafBalances),
    /// `reply_foaf_balances`.
    Reply(ReplyFoafBalances),
    /// Any other type.
    Unknown(UnknownMessage),
}

impl Message {
    /// Decodes a whole message (2-byte type, payload, optional TLV stream) with the default types.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_with(bytes, MessageTypes::default())
    }

    /// Decodes a whole message with the given message types.
    pub fn decode_with(bytes: &[u8], types: MessageTypes) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(DecodeError::new(
                MAX_MESSAGE_LEN,
                DecodeErrorKind::MessageTooLong {
                    length: bytes.len(),
                },
            ));
        }
        let mut r = Reader::new(bytes);
        let msg_type = r.u16().map_err(|e| e.in_field("type"))?;
        if msg_type == types.query {
            QueryFoafBalances::read_payload(&mut r).map(Message::Query)
        } else if msg_type == types.reply {
            ReplyFoafBalances::read_payload(&mut r).map(Message::Reply)
        } else {
            Ok(Message::Unknown(UnknownMessage {
                msg_type,
                payload: r.rest().to_vec(),
            }))
        }
    }

    /// Encodes with the default types.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        self.encode_with(MessageTypes::default())
    }

    /// Encodes with the given message types.
    pub fn encode_with(&self, types: MessageTypes) -> Result<Vec<u8>, EncodeError> {
        let length = 2 + match self {
            Message::Query(m) => m.payload_len(),
            Message::Reply(m) => m.payload_len(),
            Message::Unknown(m) => m.payload.len(),
        };
        if length > MAX_MESSAGE_LEN {
            return Err(EncodeError::MessageTooLong { length });
        }
        let mut out = Vec::with_capacity(length);
        out.extend_from_slice(&self.msg_type(types).to_be_bytes());
        match self {
            Message::Query(m) => m.write_payload(&mut out)?,
            Message::Reply(m) => m.write_payload(&mut out)?,
            Message::Unknown(m) => out.extend_from_slice(&m.payload),
        }
        Ok(out)
    }

    /// The message's BOLT #1 type under `types`.
    pub fn msg_type(&self, types: MessageTypes) -> u16 {
        match self {
            Message::Query(_) => types.query,
            Message::Reply(_) => types.reply,
            Message::Unknown(m) => m.msg_type,
        }
    }
}

impl From<QueryFoafBalances> for Message {
    fn from(m: QueryFoafBalances) -> Self {
        Message::Query(m)
    }
}

impl From<ReplyFoafBalances> for Message {
    fn from(m: ReplyFoafBalances) -> Self {
        Message::Reply(m)
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Message {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.int_in_range(0..=2)? {
            0 => Message::Query(u.arbitrary()?),
            1 => Message::Reply(u.arbitrary()?),
            _ => {
                let mut msg_type: u16 = u.arbitrary()?;
                // An `Unknown` must not carry a type the decoder interprets, or it would come
                // back as a query/reply. Flipping the top bit maps 347/349 to 33115/33117,
                // never onto the other one (adding 2 once turned 345 into 347: fuzz finding).
                if msg_type == QueryFoafBalances::DEFAULT_TYPE
                    || msg_type == ReplyFoafBalances::DEFAULT_TYPE
                {
                    msg_type ^= 0x8000;
                }
                Message::Unknown(UnknownMessage {
                    msg_type,
                    payload: u.arbitrary()?,
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scid(s: &str) -> ShortChannelId {
        s.parse().unwrap()
    }

    fn query() -> QueryFoafBalances {
        QueryFoafBalances {
            chain_hash: ChainHash::BITCOIN,
            flow_value: 1,
            amt_to_rebalance: 100_000,
            tlvs: TlvStream::new(),
        }
    }

    fn reply(n: usize) -> ReplyFoafBalances {
        ReplyFoafBalances {
            chain_hash: ChainHash::BITCOIN,
            flow_value: 0,
            timestamp: 1_700_000_000,
            amt_to_rebalance: 250_000,
            short_channel_ids: (0..n as u64)
                .map(|i| ShortChannelId::new(539_268 + i as u32, 845, 1).unwrap())
                .collect(),
            tlvs: TlvStream::new(),
        }
    }

    /// (field, start offset, end offset) of each field of a query (W01).
    const QUERY_LAYOUT: [(&str, usize, usize); 4] = [
        ("type", 0, 2),
        ("chain_hash", 2, 34),
        ("flow_value", 34, 35),
        ("amt_to_rebalance", 35, 43),
    ];

    /// (field, start offset, end offset) of each field of a reply with 3 scids (W02).
    const REPLY3_LAYOUT: [(&str, usize, usize); 7] = [
        ("type", 0, 2),
        ("chain_hash", 2, 34),
        ("flow_value", 34, 35),
        ("timestamp", 35, 43),
        ("amt_to_rebalance", 43, 51),
        ("len", 51, 53),
        ("short_channel_ids", 53, 77),
    ];

    fn assert_truncations(bytes: &[u8], layout: &[(&str, usize, usize)]) {
        assert_eq!(bytes.len(), layout.last().unwrap().2);
        for &(field, start, end) in layout {
            for cut in start..end {
                let e = Message::decode(&bytes[..cut]).unwrap_err();
                assert_eq!(e.offset, start, "cut at {cut}");
                match e.kind {
                    DecodeErrorKind::Truncated {
                        field: f,
                        needed,
                        available,
                    } => {
                        assert_eq!(f, field, "cut at {cut}");
                        assert_eq!(available, cut - start, "cut at {cut}");
                        assert!(needed > available);
                    }
                    other => panic!("cut at {cut}: {other:?}"),
                }
            }
        }
    }

    // R: W01, W03
    #[test]
    fn rejects_truncated_query_in_each_field_at_its_offset() {
        let bytes = Message::Query(query()).encode().unwrap();
        assert_eq!(&bytes[..2], &347u16.to_be_bytes());
        assert_truncations(&bytes, &QUERY_LAYOUT);
        assert_eq!(Message::decode(&bytes), Ok(Message::Query(query())));
    }

    // R: W02, W03
    #[test]
    fn rejects_truncated_reply_in_each_field_at_its_offset() {
        let bytes = Message::Reply(reply(3)).encode().unwrap();
        assert_eq!(&bytes[..2], &349u16.to_be_bytes());
        assert_truncations(&bytes, &REPLY3_LAYOUT);
        assert_eq!(Message::decode(&bytes), Ok(Message::Reply(reply(3))));
    }

    // R: W03: `len` pointing past the end of the payload is a decode error, found before any
    // allocation for the 65535 ids it claims.
    #[test]
    fn rejects_len_past_payload_end() {
        let mut bytes = Message::Reply(reply(3)).encode().unwrap();
        bytes[51..53].copy_from_slice(&u16::MAX.to_be_bytes());
        let e = Message::decode(&bytes).unwrap_err();
        assert_eq!(
            e,
            DecodeError::new(
                53,
                DecodeErrorKind::Truncated {
                    field: "short_channel_ids",
                    needed: 8 * 65535,
                    available: 24
                }
            )
        );
        assert_eq!(
            e.to_string(),
            "truncated short_channel_ids: needs 524280 bytes, 24 left at offset 53"
        );
    }

    // R: W02: the 1000-id limit (A06/V02) is a rule for peers, not for the codec, which decodes
    // any count that fits the message.
    #[test]
    fn accepts_more_than_1000_scids() {
        let most = (MAX_MESSAGE_LEN - 53) / 8;
        for n in [MAX_REPLY_SCIDS, MAX_REPLY_SCIDS + 1, most] {
            let m = Message::Reply(reply(n));
            let bytes = m.encode().unwrap();
            assert_eq!(bytes.len(), 53 + 8 * n);
            assert_eq!(Message::decode(&bytes), Ok(m));
        }
        assert_eq!(
            Message::Reply(reply(most + 1)).encode(),
            Err(EncodeError::MessageTooLong {
                length: 53 + 8 * (most + 1)
            })
        );
    }

    // R: W03: unknown odd extension records are kept and re-encoded byte for byte.
    #[test]
    fn accepts_unknown_odd_tlv_in_extension() {
        let mut bytes = Message::Query(query()).encode().unwrap();
        bytes.extend_from_slice(&[0x01, 0x02, 0xab, 0xcd, 0xfd, 0x01, 0x01, 0x00]);
        let m = Message::decode(&bytes).unwrap();
        let Message::Query(q) = &m else { panic!() };
        assert_eq!(q.tlvs.get(1), Some(&[0xab, 0xcd][..]));
        assert_eq!(q.tlvs.get(0x101), Some(&[][..]));
        assert_eq!(m.encode().unwrap(), bytes);
    }

    // R: W03
    #[test]
    fn rejects_unknown_even_tlv_in_extension() {
        let mut bytes = Message::Reply(reply(3)).encode().unwrap();
        bytes.extend_from_slice(&[0x01, 0x00, 0x02, 0x00]);
        assert_eq!(
            Message::decode(&bytes),
            Err(DecodeError::new(
                79,
                DecodeErrorKind::UnknownEvenTlvType { tlv_type: 2 }
            ))
        );
    }

    // R: W03: a malformed extension stream (records out of order) is a decode error.
    #[test]
    fn rejects_non_increasing_tlv_types_in_extension() {
        let mut bytes = Message::Query(query()).encode().unwrap();
        bytes.extend_from_slice(&[0x05, 0x00, 0x03, 0x00]);
        assert_eq!(
            Message::decode(&bytes),
            Err(DecodeError::new(
                45,
                DecodeErrorKind::TlvTypeNotIncreasing {
                    previous: 5,
                    found: 3
                }
            ))
        );
    }

    // R: W03: a non-minimal BigSize in the extension stream.
    #[test]
    fn rejects_non_canonical_bigsize_in_extension() {
        let mut bytes = Message::Query(query()).encode().unwrap();
        bytes.extend_from_slice(&[0x01, 0x00, 0xfd, 0x00, 0x03, 0x00]);
        assert_eq!(
            Message::decode(&bytes),
            Err(DecodeError::new(45, DecodeErrorKind::NonCanonicalBigSize))
        );
    }

    // R: W03
    #[test]
    fn rejects_truncated_tlv_value_in_extension() {
        let mut bytes = Message::Query(query()).encode().unwrap();
        bytes.extend_from_slice(&[0x01, 0x05, 0xaa]);
        let e = Message::decode(&bytes).unwrap_err();
        assert_eq!(e.offset, 45);
        assert_eq!(
            e.kind,
            DecodeErrorKind::Truncated {
                field: "tlv value",
                needed: 5,
                available: 1
            }
        );
    }

    // R: W03 (BOLT #1 framing: a message is at most 65535 bytes)
    #[test]
    fn rejects_message_too_long() {
        let bytes = vec![0u8; MAX_MESSAGE_LEN + 1];
        assert_eq!(
            Message::decode(&bytes),
            Err(DecodeError::new(
                MAX_MESSAGE_LEN,
                DecodeErrorKind::MessageTooLong {
                    length: MAX_MESSAGE_LEN + 1
                }
            ))
        );
        assert!(Message::decode(&bytes[..MAX_MESSAGE_LEN]).is_ok());
    }

    // R: W03: types other than ours pass through untouched.
    #[test]
    fn accepts_unknown_message_type_verbatim() {
        let bytes = [0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0xca, 0x01];
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(
            m,
            Message::Unknown(UnknownMessage {
                msg_type: 16,
                payload: bytes[2..].to_vec()
            })
        );
        assert_eq!(m.encode().unwrap(), bytes);
    }

    // Custom message types (a deployment in the ≥ 32768 range).
    #[test]
    fn accepts_custom_message_types() {
        let types = MessageTypes {
            query: 32_801,
            reply: 32_803,
        };
        let m = Message::Reply(reply(2));
        let bytes = m.encode_with(types).unwrap();
        assert_eq!(&bytes[..2], &32_803u16.to_be_bytes());
        assert_eq!(Message::decode_with(&bytes, types), Ok(m));
        // Under the default types the same bytes are an unknown message.
        assert!(matches!(
            Message::decode(&bytes),
            Ok(Message::Unknown(UnknownMessage {
                msg_type: 32_803,
                ..
            }))
        ));
    }

    // R: W04
    #[test]
    fn encodes_scids_in_bolt7_byte_order() {
        let mut r = reply(0);
        r.short_channel_ids = vec![scid("539268x845x1")];
        let bytes = Message::Reply(r).encode().unwrap();
        assert_eq!(
            &bytes[51..],
            &[0x00, 0x01, 0x08, 0x3a, 0x84, 0x00, 0x03, 0x4d, 0x00, 0x01]
        );
    }
}
