//! The custom message LDK carries for us: one of our two types, as the raw BOLT #1 bytes.
//!
//! Nothing is decoded here. LDK's `CustomMessageReader` does not tell the reader which peer sent
//! the bytes, so decoding (and judging a decode error, V08) waits for `handle_custom_message`,
//! which knows the peer: the handler decodes a received message exactly once and hands the result
//! to the state machine. What we send is already encoded by the state machine and is never
//! decoded again.

use lightning::io;
use lightning::ln::wire::Type;
use lightning::util::ser::{Writeable, Writer};

/// A `query_foaf_balances` or `reply_foaf_balances` as it crosses LDK's `PeerManager`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoafMessage {
    /// The whole BOLT #1 message: 2-byte type, payload, TLV stream.
    pub bytes: Vec<u8>,
}

impl FoafMessage {
    /// Wraps a whole message (type included).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self { bytes }
    }

    /// The BOLT #1 type (0 when fewer than two bytes, which neither LDK nor the node produces).
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
    use foaf_wire::{ChainHash, Message, QueryFoafBalances, TlvStream};

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
        let m = FoafMessage::new(bytes.clone());
        let mut out = m.type_id().to_be_bytes().to_vec();
        out.extend(m.encode());
        assert_eq!(out, bytes);
    }

    #[test]
    fn type_of_a_short_message_is_zero() {
        assert_eq!(FoafMessage::new(vec![0x01, 0x5d, 0, 1]).msg_type(), 349);
        assert_eq!(FoafMessage::new(vec![1]).msg_type(), 0);
    }
}
