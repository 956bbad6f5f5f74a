//! TLV streams (BOLT #1): a sequence of `(BigSize type, BigSize length, value)` records with
//! strictly increasing types. Unknown even types are errors ("it's OK to be odd"); unknown odd
//! types are kept so that re-encoding reproduces the input byte for byte.

use std::collections::BTreeMap;

use crate::bigsize::{read_bigsize, write_bigsize};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::reader::Reader;

/// A decoded TLV stream. Records are held by type in a `BTreeMap`, so a stream built in code is
/// always encoded in the canonical (strictly increasing) order and can hold no duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TlvStream {
    records: BTreeMap<u64, Vec<u8>>,
}

impl TlvStream {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads records until the reader is empty. `is_known(type)` says which types the caller
    /// understands: an unknown even type is an error. The caller validates known values.
    pub fn read(r: &mut Reader<'_>, is_known: impl Fn(u64) -> bool) -> Result<Self, DecodeError> {
        let mut records = BTreeMap::new();
        let mut previous: Option<u64> = None;
        while !r.is_empty() {
            let type_offset = r.offset();
            let tlv_type = read_bigsize(r).map_err(|e| e.in_field("tlv type"))?;
            let length = read_bigsize(r).map_err(|e| e.in_field("tlv length"))?;
            // Checks in BOLT #1's order: minimal encodings (above), then ordering, then the
            // length against the bytes left, so the error names the first rule broken.
            if let Some(previous) = previous {
                if tlv_type <= previous {
                    return Err(DecodeError::new(
                        type_offset,
                        DecodeErrorKind::TlvTypeNotIncreasing {
                            previous,
                            found: tlv_type,
                        },
                    ));
                }
            }
            // The length is checked against the bytes left before anything is allocated.
            let value_len = usize::try_from(length).unwrap_or(usize::MAX);
            let value = r.take(value_len).map_err(|e| e.in_field("tlv value"))?;
            if tlv_type % 2 == 0 && !is_known(tlv_type) {
                return Err(DecodeError::new(
                    type_offset,
                    DecodeErrorKind::UnknownEvenTlvType { tlv_type },
                ));
            }
            previous = Some(tlv_type);
            records.insert(tlv_type, value.to_vec());
        }
        Ok(Self { records })
    }

    /// Decodes a whole buffer as a stream in which no type is known.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::read(&mut Reader::new(bytes), |_| false)
    }

    /// Appends the canonical encoding.
    pub fn write(&self, out: &mut Vec<u8>) {
        for (&tlv_type, value) in &self.records {
            write_bigsize(tlv_type, out);
            write_bigsize(value.len() as u64, out);
            out.extend_from_slice(value);
        }
    }

    /// The encoded length in bytes.
    pub fn encoded_len(&self) -> usize {
        use crate::bigsize::bigsize_len;
        self.records
            .iter()
            .map(|(&t, v)| bigsize_len(t) + bigsize_len(v.len() as u64) + v.len())
            .sum()
    }

    /// The value of record `tlv_type`, if present.
    pub fn get(&self, tlv_type: u64) -> Option<&[u8]> {
        self.records.get(&tlv_type).map(Vec::as_slice)
    }

    /// Sets record `tlv_type`, replacing any value it had.
    pub fn insert(&mut self, tlv_type: u64, value: Vec<u8>) -> Option<Vec<u8>> {
        self.records.insert(tlv_type, value)
    }

    /// Records in increasing type order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> + '_ {
        self.records.iter().map(|(&t, v)| (t, v.as_slice()))
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when there are no records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

impl FromIterator<(u64, Vec<u8>)> for TlvStream {
    fn from_iter<I: IntoIterator<Item = (u64, Vec<u8>)>>(iter: I) -> Self {
        Self {
            records: iter.into_iter().collect(),
        }
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for TlvStream {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        // Only odd types: a message with an even extension type would not decode.
        let records: Vec<(u64, Vec<u8>)> = u.arbitrary()?;
        Ok(records.into_iter().map(|(t, v)| (t | 1, v)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_unknown_odd_and_keeps_it() {
        let s = TlvStream::decode(&hex("2100fd020100")).unwrap();
        assert_eq!(s.iter().map(|(t, _)| t).collect::<Vec<_>>(), [0x21, 0x201]);
        let mut out = Vec::new();
        s.write(&mut out);
        assert_eq!(out, hex("2100fd020100"));
        assert_eq!(s.encoded_len(), out.len());
    }

    #[test]
    fn rejects_unknown_even_at_its_offset() {
        let e = TlvStream::decode(&hex("01001200")).unwrap_err();
        assert_eq!(e.offset, 2);
        assert_eq!(
            e.kind,
            DecodeErrorKind::UnknownEvenTlvType { tlv_type: 0x12 }
        );
    }

    #[test]
    fn rejects_duplicate_and_decreasing_types() {
        let e = TlvStream::decode(&hex("1f001f012a")).unwrap_err();
        assert_eq!(
            e.kind,
            DecodeErrorKind::TlvTypeNotIncreasing {
                previous: 0x1f,
                found: 0x1f
            }
        );
        assert!(TlvStream::decode(&hex("1f000f012a")).is_err());
    }

    #[test]
    fn rejects_length_past_end_without_allocating() {
        // Length 2^64-1 on a 10-byte stream: must fail on the bytes left, not try to allocate.
        let e = TlvStream::decode(&hex("01ffffffffffffffffff")).unwrap_err();
        assert!(matches!(
            e.kind,
            DecodeErrorKind::Truncated {
                field: "tlv value",
                ..
            }
        ));
    }

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }
}
