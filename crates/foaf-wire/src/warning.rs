//! BOLT #1 `warning` (type 1): `channel_id` (32 bytes), `u16 len`, `len` bytes of `data`.
//! A BOLT #14 node sends one before failing a connection (V08, where the transport allows),
//! with all-zero `channel_id` ("all channels") and a short ASCII reason as data.

use crate::error::DecodeError;
use crate::reader::Reader;

/// The BOLT #1 `warning` message type.
pub const WARNING_TYPE: u16 = 1;

/// A BOLT #1 `warning`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The channel concerned; all zero for the connection as a whole.
    pub channel_id: [u8; 32],
    /// Free text (BOLT #1: SHOULD be printable ASCII).
    pub data: Vec<u8>,
}

impl Warning {
    /// A warning about the whole connection: all-zero `channel_id`, `text` as data (cut to the
    /// most a BOLT #1 message can carry).
    pub fn for_connection(text: &str) -> Self {
        let max = usize::from(u16::MAX) - 36;
        let bytes = text.as_bytes();
        Self {
            channel_id: [0; 32],
            data: bytes[..bytes.len().min(max)].to_vec(),
        }
    }

    /// The whole message: type, `channel_id`, `len`, data.
    pub fn encode(&self) -> Vec<u8> {
        let len = self.data.len().min(usize::from(u16::MAX) - 36);
        let mut out = Vec::with_capacity(36 + len);
        out.extend_from_slice(&WARNING_TYPE.to_be_bytes());
        out.extend_from_slice(&self.channel_id);
        out.extend_from_slice(&(len as u16).to_be_bytes());
        out.extend_from_slice(&self.data[..len]);
        out
    }

    /// Decodes a whole message (type included): `Ok(None)` when it is another message type.
    /// Bytes after `data` would be a BOLT #1 extension TLV stream, which a warning does not
    /// define: they are ignored.
    pub fn decode(bytes: &[u8]) -> Result<Option<Self>, DecodeError> {
        let mut r = Reader::new(bytes);
        if r.u16()? != WARNING_TYPE {
            return Ok(None);
        }
        let channel_id = r.array::<32>()?;
        let len = r.u16()?;
        let data = r.take(usize::from(len))?.to_vec();
        Ok(Some(Self { channel_id, data }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrips_and_has_the_bolt1_layout() {
        let w = Warning::for_connection("malformed");
        let bytes = w.encode();
        assert_eq!(&bytes[..2], &[0, 1]);
        assert_eq!(&bytes[2..34], &[0u8; 32]);
        assert_eq!(&bytes[34..36], &[0, 9]);
        assert_eq!(&bytes[36..], b"malformed");
        assert_eq!(Warning::decode(&bytes).unwrap(), Some(w));
    }

    #[test]
    fn rejects_truncated_and_other_types() {
        let bytes = Warning::for_connection("x").encode();
        assert!(Warning::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut other = bytes.clone();
        other[1] = 17;
        assert_eq!(Warning::decode(&other), Ok(None));
    }

    #[test]
    fn caps_the_data_at_the_message_limit() {
        let long = "a".repeat(70_000);
        let bytes = Warning::for_connection(&long).encode();
        assert_eq!(bytes.len(), usize::from(u16::MAX));
    }
}
