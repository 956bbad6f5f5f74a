//! The `intercept_aliases` record of `reply_foaf_balances` (docs/bolt14.md §4.2.1): for some of
//! the replier's channels, a short channel id the recipient may name in an onion instead of the
//! real one, so that the replier sees the HTLC before its fee rule does and can forward it at
//! zero fee under R-REB-5.
//!
//! Value: `n × (short_channel_id, u64 alias)`, 16 bytes each, in strictly increasing
//! `short_channel_id` order.

use crate::error::{DecodeError, DecodeErrorKind};
use crate::scid::ShortChannelId;

/// The TLV type of the record in `reply_foaf_balances`'s stream (odd: optional).
pub const INTERCEPT_ALIASES_TLV: u64 = 1;

/// One (real channel, alias) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InterceptAlias {
    /// The replier's real channel.
    pub scid: ShortChannelId,
    /// The short channel id to put in the onion instead (an LDK intercept SCID, for example).
    pub alias: u64,
}

/// The record's value for `pairs` (sorted and deduplicated by scid here; for one scid the first
/// pair given wins).
pub fn encode_intercept_aliases(pairs: &[InterceptAlias]) -> Vec<u8> {
    let mut sorted = pairs.to_vec();
    sorted.sort_by_key(|p| p.scid);
    sorted.dedup_by_key(|p| p.scid);
    let mut out = Vec::with_capacity(16 * sorted.len());
    for p in sorted {
        out.extend_from_slice(&p.scid.to_bytes());
        out.extend_from_slice(&p.alias.to_be_bytes());
    }
    out
}

/// Decodes the record's value: a length that is not a multiple of 16, or scids not strictly
/// increasing, is [`DecodeErrorKind::InvalidTlvValue`]. The result holds at most
/// `value.len() / 16` pairs (no allocation beyond the input's size).
pub fn decode_intercept_aliases(value: &[u8]) -> Result<Vec<InterceptAlias>, DecodeError> {
    let invalid = |offset: usize| {
        DecodeError::new(
            offset,
            DecodeErrorKind::InvalidTlvValue {
                tlv_type: INTERCEPT_ALIASES_TLV,
            },
        )
    };
    if !value.len().is_multiple_of(16) {
        return Err(invalid(value.len() - value.len() % 16));
    }
    let mut out: Vec<InterceptAlias> = Vec::with_capacity(value.len() / 16);
    for (i, chunk) in value.chunks_exact(16).enumerate() {
        let (s, a) = chunk.split_at(8);
        let scid = ShortChannelId::from_u64(u64::from_be_bytes(s.try_into().unwrap_or([0; 8])));
        let alias = u64::from_be_bytes(a.try_into().unwrap_or([0; 8]));
        if out.last().is_some_and(|p| p.scid >= scid) {
            return Err(invalid(i * 16));
        }
        out.push(InterceptAlias { scid, alias });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(scid: &str, alias: u64) -> InterceptAlias {
        InterceptAlias {
            scid: scid.parse().unwrap(),
            alias,
        }
    }

    #[test]
    fn round_trip_sorted_and_deduplicated() {
        let v = encode_intercept_aliases(&[pair("2x2x2", 7), pair("1x1x1", 9), pair("2x2x2", 8)]);
        assert_eq!(v.len(), 32);
        assert_eq!(
            decode_intercept_aliases(&v).unwrap(),
            vec![pair("1x1x1", 9), pair("2x2x2", 7)]
        );
        assert!(decode_intercept_aliases(&[]).unwrap().is_empty());
    }

    #[test]
    fn bad_values_are_typed_errors() {
        let v = encode_intercept_aliases(&[pair("1x1x1", 9), pair("2x2x2", 7)]);
        let e = decode_intercept_aliases(&v[..17]).unwrap_err();
        assert_eq!(e.code(), "invalid_tlv_value");
        // Out of order: second pair first.
        let mut swapped = v[16..].to_vec();
        swapped.extend_from_slice(&v[..16]);
        assert_eq!(
            decode_intercept_aliases(&swapped).unwrap_err().code(),
            "invalid_tlv_value"
        );
    }
}
