//! The custom message LDK hands us: one of our two types, as raw bytes plus foaf-wire's decoding.
//!
//! LDK's `CustomMessageReader` does not tell the reader which peer sent the bytes, so a message
//! that fails to decode is *not* rejected here: it is carried to the handler (which knows the
//! peer) as a [`FoafMessage`] whose [`decoded`](FoafMessage::decoded) is an error, where the
//! state machine fails the connection (V08) and the failure is logged against the right peer.

use foaf_wire::{DecodeError, Message, MessageTypes};
use lightning::io;
use lightning::ln::wire::Type;
use lightning::util::ser::{Writeable, Writer};

/// A `query_foaf_balances` or `reply_foaf_balances` as it crosses LDK's `PeerManager`.
#[derive(Debug, Clone)]
pub struct FoafMessage {
    /// The whole BOLT #1 message: 2-byte type, payload, TLV stream.
    pub bytes: Vec<u8>,
    /// What foaf-wire made of `bytes`.
    pub decoded: Result<Message, DecodeError>,
}

impl FoafMessage {
    /// Wraps a whole message (type included) and decodes it with `types`.
    pub fn from_bytes(bytes: Vec<u8>, types: MessageTypes) -> Self {
        let decoded = Message::decode_with(&bytes, types);
        Self { bytes, decoded }
    }

    /// The BOLT #1 type (0 when fewer than two bytes, which LDK never hands us).
    pub fn msg_type(&self) -> u16 {
        match self.bytes.as_slice() {
            [a, b, ..] => u16::from_be_bytes([*a, *b]),
            _ => 0,
        }
    }
}

impl Writeable for FoafMessage {
    /// LDK writes the type itself (from [`Type::type_id`]) and then this: the payload.
    fn write<W: Writer>(&self, writer: &mut W) -> Result<(), io::Error> {
        writer.write_all(self.bytes.get(2..).unwrap_or_default())
    }
}

impl Type for FoafMessage {
    fn type_id(&self) -> u16 {
        self.msg_type()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foaf_wire::{ChainHash, QueryFoafBalances, TlvStream};

    #[test]
    fn ldk_framing_round_trips_our_bytes() {
        // R: W01, W03: what LDK puts on the wire (type_id then write) is exactly foaf-wire's encoding.
        let q = Message::Query(QueryFoafBalances {
            chain_hash: ChainHash::REGTEST,
            flow_value: 1,
            amt_to_rebalance: 42_000,
            tlvs: TlvStream::new(),
        });
        let bytes = q.encode().unwrap();
        let m = FoafMessage::from_bytes(bytes.clone(), MessageTypes::default());
        assert_eq!(m.decoded.as_ref().unwrap(), &q);
        let mut out = m.type_id().to_be_bytes().to_vec();
        out.extend(m.encode());
        assert_eq!(out, bytes);
    }

    #[test]
    fn truncated_message_carries_its_error() {
        // R: V08: the error travels to the handler instead of being dropped.
        let m = FoafMessage::from_bytes(vec![0x01, 0x5d, 0, 1], MessageTypes::default());
        assert_eq!(m.msg_type(), 349);
        assert_eq!(m.decoded.unwrap_err().code(), "truncated");
    }
}
