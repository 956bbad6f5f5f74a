//! BigSize (BOLT #1): a big-endian variable-length unsigned integer that must be minimally
//! encoded, and the truncated integers `tu16`/`tu32`/`tu64` used inside TLV records.

use crate::error::{DecodeError, DecodeErrorKind};
use crate::reader::Reader;

/// Reads a BigSize, rejecting non-minimal encodings.
pub fn read_bigsize(r: &mut Reader<'_>) -> Result<u64, DecodeError> {
    let start = r.offset();
    let non_canonical = || DecodeError::new(start, DecodeErrorKind::NonCanonicalBigSize);
    match r.u8()? {
        0xff => {
            let v = r.u64()?;
            if v < 0x1_0000_0000 {
                return Err(non_canonical());
            }
            Ok(v)
        }
        0xfe => {
            let v = r.u32()?;
            if v < 0x1_0000 {
                return Err(non_canonical());
            }
            Ok(u64::from(v))
        }
        0xfd => {
            let v = r.u16()?;
            if v < 0xfd {
                return Err(non_canonical());
            }
            Ok(u64::from(v))
        }
        small => Ok(u64::from(small)),
    }
}

/// Decodes a BigSize that must fill `bytes` exactly.
pub fn decode_bigsize(bytes: &[u8]) -> Result<u64, DecodeError> {
    let mut r = Reader::new(bytes);
    let v = read_bigsize(&mut r).map_err(|e| e.in_field("bigsize"))?;
    if !r.is_empty() {
        return Err(r.error(DecodeErrorKind::NonCanonicalBigSize));
    }
    Ok(v)
}

/// Number of bytes the minimal BigSize encoding of `v` takes.
pub fn bigsize_len(v: u64) -> usize {
    match v {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// Appends the minimal BigSize encoding of `v`.
pub fn write_bigsize(v: u64, out: &mut Vec<u8>) {
    match bigsize_len(v) {
        1 => out.push(v as u8),
        3 => {
            out.push(0xfd);
            out.extend_from_slice(&(v as u16).to_be_bytes());
        }
        5 => {
            out.push(0xfe);
            out.extend_from_slice(&(v as u32).to_be_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
}

/// Decodes a truncated unsigned integer (`tu16`/`tu32`/`tu64`: `max_len` 2, 4 or 8) that fills
/// `bytes`: big-endian, no leading zero byte, at most `max_len` bytes. `base` is the offset of
/// `bytes` for error reports.
pub fn decode_truncated_uint(
    bytes: &[u8],
    max_len: usize,
    base: usize,
) -> Result<u64, DecodeError> {
    if bytes.len() > max_len || bytes.first() == Some(&0) {
        return Err(DecodeError::new(
            base,
            DecodeErrorKind::NonMinimalTruncatedInt,
        ));
    }
    Ok(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Appends the minimal truncated encoding of `v` (no leading zero bytes; 0 is empty).
pub fn write_truncated_uint(v: u64, out: &mut Vec<u8>) {
    let skip = (v.leading_zeros() / 8) as usize;
    out.extend_from_slice(&v.to_be_bytes()[skip..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_each_width_boundary() {
        for v in [
            0u64,
            0xfc,
            0xfd,
            0xffff,
            0x1_0000,
            0xffff_ffff,
            0x1_0000_0000,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            write_bigsize(v, &mut out);
            assert_eq!(out.len(), bigsize_len(v));
            assert_eq!(decode_bigsize(&out), Ok(v));
        }
    }

    #[test]
    fn rejects_non_canonical_with_offset_of_prefix() {
        let mut r = Reader::with_base(&[0xfd, 0x00, 0xfc], 5);
        let e = read_bigsize(&mut r).unwrap_err();
        assert_eq!(e, DecodeError::new(5, DecodeErrorKind::NonCanonicalBigSize));
    }

    #[test]
    fn rejects_non_minimal_truncated_ints() {
        assert!(decode_truncated_uint(&[0, 1], 8, 0).is_err());
        assert!(decode_truncated_uint(&[1, 0, 0], 2, 0).is_err());
        // The error points at the value, whose offset the caller passes in.
        assert_eq!(
            decode_truncated_uint(&[0], 8, 17),
            Err(DecodeError::new(
                17,
                DecodeErrorKind::NonMinimalTruncatedInt
            ))
        );
        assert_eq!(decode_truncated_uint(&[0xff; 8], 8, 0), Ok(u64::MAX));
        assert!(decode_truncated_uint(&[0xff; 9], 8, 0).is_err());
        assert_eq!(decode_truncated_uint(&[], 8, 0), Ok(0));
        assert_eq!(decode_truncated_uint(&[1, 0], 2, 0), Ok(256));
        let mut out = Vec::new();
        write_truncated_uint(256, &mut out);
        assert_eq!(out, [1, 0]);
    }
}
