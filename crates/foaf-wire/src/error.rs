//! The one error type of the decoder.
//!
//! Kept small and closed (as in rust-lightning's `DecodeError`) so that a peer state machine
//! can map every decode failure to one action in one `match`. Every error carries the byte
//! offset, from the start of the buffer handed to the decoder, where the problem was found.

use core::fmt;

/// What was wrong with the bytes, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset from the start of the decoded buffer at which the problem was found.
    pub offset: usize,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

/// The closed set of reasons a decode can fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// A field needs more bytes than are left (W03).
    Truncated {
        /// The field being read (`"type"`, `"chain_hash"`, `"short_channel_ids"`, `"tlv length"`, …).
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A BigSize was not minimally encoded (BOLT #1).
    NonCanonicalBigSize,
    /// A truncated integer (`tu16`/`tu32`/`tu64`) had a leading zero byte or was too long.
    NonMinimalTruncatedInt,
    /// TLV record types were not strictly increasing (duplicates included).
    TlvTypeNotIncreasing {
        /// Type of the record before.
        previous: u64,
        /// Type of the offending record.
        found: u64,
    },
    /// An unknown TLV record with an even type ("it's OK to be odd") (W03).
    UnknownEvenTlvType {
        /// The record's type.
        tlv_type: u64,
    },
    /// A known TLV record whose value has the wrong length or content.
    InvalidTlvValue {
        /// The record's type.
        tlv_type: u64,
    },
    /// A message longer than BOLT #1's 65535-byte limit.
    MessageTooLong {
        /// Its length.
        length: usize,
    },
}

impl DecodeError {
    /// An error of `kind` at `offset`.
    pub fn new(offset: usize, kind: DecodeErrorKind) -> Self {
        Self { offset, kind }
    }

    /// A stable snake_case word for the error, for logs, the pipe protocol and tests.
    pub fn code(&self) -> &'static str {
        match self.kind {
            DecodeErrorKind::Truncated { .. } => "truncated",
            DecodeErrorKind::NonCanonicalBigSize => "non_canonical_bigsize",
            DecodeErrorKind::NonMinimalTruncatedInt => "non_minimal_truncated_int",
            DecodeErrorKind::TlvTypeNotIncreasing { .. } => "tlv_type_not_increasing",
            DecodeErrorKind::UnknownEvenTlvType { .. } => "unknown_even_tlv_type",
            DecodeErrorKind::InvalidTlvValue { .. } => "invalid_tlv_value",
            DecodeErrorKind::MessageTooLong { .. } => "message_too_long",
        }
    }

    /// Names the field a truncation happened in, if none was named yet.
    pub(crate) fn in_field(mut self, name: &'static str) -> Self {
        if let DecodeErrorKind::Truncated { field, .. } = &mut self.kind {
            if field.is_empty() {
                *field = name;
            }
        }
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            DecodeErrorKind::Truncated {
                field,
                needed,
                available,
            } => {
                let field = if field.is_empty() { "field" } else { field };
                write!(
                    f,
                    "truncated {field}: needs {needed} bytes, {available} left"
                )?;
            }
            DecodeErrorKind::NonCanonicalBigSize => f.write_str("BigSize not minimally encoded")?,
            DecodeErrorKind::NonMinimalTruncatedInt => {
                f.write_str("truncated integer not minimally encoded")?
            }
            DecodeErrorKind::TlvTypeNotIncreasing { previous, found } => write!(
                f,
                "TLV type {found} after {previous}: types must strictly increase"
            )?,
            DecodeErrorKind::UnknownEvenTlvType { tlv_type } => {
                write!(f, "unknown even TLV type {tlv_type}")?
            }
            DecodeErrorKind::InvalidTlvValue { tlv_type } => {
                write!(f, "invalid value for TLV type {tlv_type}")?
            }
            DecodeErrorKind::MessageTooLong { length } => write!(
                f,
                "message of {length} bytes exceeds the BOLT #1 maximum of 65535"
            )?,
        }
        write!(f, " at offset {}", self.offset)
    }
}

impl std::error::Error for DecodeError {}

/// Why a value could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// More `short_channel_id`s than a `u16` length can count.
    TooManyScids {
        /// How many there were.
        count: usize,
    },
    /// The encoded message would exceed BOLT #1's 65535 bytes.
    MessageTooLong {
        /// Its length.
        length: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooManyScids { count } => {
                write!(f, "{count} short_channel_ids do not fit a u16 length")
            }
            EncodeError::MessageTooLong { length } => write!(
                f,
                "encoded message of {length} bytes exceeds the BOLT #1 maximum of 65535"
            ),
        }
    }
}

impl std::error::Error for EncodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind has a stable code and renders as one line ending in its offset (the CLI and
    /// the conformance pipe print it as is).
    #[test]
    fn every_kind_has_code_and_one_line_display() {
        let kinds = [
            (
                DecodeErrorKind::Truncated {
                    field: "len",
                    needed: 2,
                    available: 1,
                },
                "truncated",
            ),
            (
                DecodeErrorKind::NonCanonicalBigSize,
                "non_canonical_bigsize",
            ),
            (
                DecodeErrorKind::NonMinimalTruncatedInt,
                "non_minimal_truncated_int",
            ),
            (
                DecodeErrorKind::TlvTypeNotIncreasing {
                    previous: 3,
                    found: 1,
                },
                "tlv_type_not_increasing",
            ),
            (
                DecodeErrorKind::UnknownEvenTlvType { tlv_type: 2 },
                "unknown_even_tlv_type",
            ),
            (
                DecodeErrorKind::InvalidTlvValue { tlv_type: 4 },
                "invalid_tlv_value",
            ),
            (
                DecodeErrorKind::MessageTooLong { length: 70_000 },
                "message_too_long",
            ),
        ];
        for (kind, code) in kinds {
            let e = DecodeError::new(51, kind);
            assert_eq!(e.code(), code);
            let text = e.to_string();
            assert!(text.ends_with(" at offset 51"), "{text}");
            assert!(!text.contains('\n'));
        }
        let unnamed = DecodeError::new(
            0,
            DecodeErrorKind::Truncated {
                field: "",
                needed: 1,
                available: 0,
            },
        );
        assert_eq!(
            unnamed.in_field("type").to_string(),
            "truncated type: needs 1 bytes, 0 left at offset 0"
        );
    }
}
