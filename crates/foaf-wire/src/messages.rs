//! The two BOLT #14 messages, and BOLT #1 message framing (W01–W03).
//!
//! Each message is one struct whose wire order is declared once, in the `wire_message!`
//! invocation below; decoding and encoding are both generated from that declaration.

use crate::chain::ChainHash;
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::reader::Reader;
use crate::scid::ShortChannelId;
use crate::tlv::TlvStream;

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
        let count = usize::from(r.u16()?);
        // Checked against the bytes left before allocating: a hostile `len` costs nothing.
        let bytes = r.take(count * 8)?;
        let (ids, _) = bytes.as_chunks::<8>();
        Ok(ids.iter().map(|b| ShortChannelId::from_bytes(*b)).collect())
    }
    fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let count = u16::try_from(self.len())
            .map_err(|_| EncodeError::TooManyScids { count: self.len() })?;
        out.extend_from_slice(&count.to_be_bytes());
        for id in self {
            out.extend_from_slice(&id.to_bytes());
        }
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
                if msg_type == QueryFoafBalances::DEFAULT_TYPE
                    || msg_type == ReplyFoafBalances::DEFAULT_TYPE
                {
                    msg_type = msg_type.wrapping_add(2);
                }
                Message::Unknown(UnknownMessage {
                    msg_type,
                    payload: u.arbitrary()?,
                })
            }
        })
    }
}
