//! `short_channel_id` (BOLT #7): 3 bytes block height, 3 bytes transaction index, 2 bytes output
//! index, big-endian; written `BLOCKxTXxOUT` in text and JSON (W04).

use core::fmt;
use core::str::FromStr;

/// A BOLT #7 short channel id.
///
/// Held in wire byte order (big-endian), so decoding a list of them is a plain copy; the order
/// of the bytes is also the numeric order, so `Ord` sorts by block, then tx, then output.
/// The zerocopy derives check at compile time that any 8 bytes are a valid value with
/// alignment 1, which lets a `&[u8]` be viewed as `&[ShortChannelId]` (and back) without
/// `unsafe` in this crate.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    zerocopy::FromBytes,
    zerocopy::IntoBytes,
    zerocopy::Immutable,
    zerocopy::KnownLayout,
    zerocopy::Unaligned,
)]
#[repr(transparent)]
pub struct ShortChannelId([u8; 8]);

// Byte order is numeric order (big-endian), so comparing the u64 gives the same order as
// comparing the bytes: one `bswap` and a compare instead of a slice compare, which matters
// in the planner's and simulator's maps keyed by scid.
impl Ord for ShortChannelId {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.to_u64().cmp(&other.to_u64())
    }
}

impl PartialOrd for ShortChannelId {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Largest block height or transaction index (24 bits).
pub const MAX_24_BIT: u32 = 0x00ff_ffff;

impl ShortChannelId {
    /// From the three parts; `None` when block or tx index exceeds 24 bits.
    pub fn new(block: u32, tx_index: u32, output: u16) -> Option<Self> {
        if block > MAX_24_BIT || tx_index > MAX_24_BIT {
            return None;
        }
        Some(Self::from_u64(
            (u64::from(block) << 40) | (u64::from(tx_index) << 16) | u64::from(output),
        ))
    }

    /// From the BOLT #7 u64 form (every u64 is a valid id).
    pub const fn from_u64(v: u64) -> Self {
        Self(v.to_be_bytes())
    }

    /// The BOLT #7 u64 form.
    pub const fn to_u64(self) -> u64 {
        u64::from_be_bytes(self.0)
    }

    /// From the 8 wire bytes.
    pub const fn from_bytes(b: [u8; 8]) -> Self {
        Self(b)
    }

    /// The 8 wire bytes.
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0
    }

    /// Block height of the funding transaction.
    pub const fn block(self) -> u32 {
        (self.to_u64() >> 40) as u32
    }

    /// Index of the funding transaction in its block.
    pub const fn tx_index(self) -> u32 {
        ((self.to_u64() >> 16) & 0xff_ffff) as u32
    }

    /// Output index of the funding output.
    pub const fn output(self) -> u16 {
        self.to_u64() as u16
    }
}

impl fmt::Display for ShortChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.block(), self.tx_index(), self.output())
    }
}

impl fmt::Debug for ShortChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShortChannelId({self})")
    }
}

/// Why a `BLOCKxTXxOUT` string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseScidError {
    /// Not three `x`-separated parts.
    Shape,
    /// A part is not a decimal number (leading `+`, spaces and empty parts included).
    NotANumber,
    /// Block or tx index above 2^24 − 1, or output above 65535.
    OutOfRange,
}

impl fmt::Display for ParseScidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseScidError::Shape => "short_channel_id must be BLOCKxTXxOUT",
            ParseScidError::NotANumber => "short_channel_id parts must be decimal numbers",
            ParseScidError::OutOfRange => {
                "short_channel_id part out of range (block, tx < 2^24; output < 2^16)"
            }
        })
    }
}

impl std::error::Error for ParseScidError {}

impl FromStr for ShortChannelId {
    type Err = ParseScidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split('x');
        let (Some(b), Some(t), Some(o), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ParseScidError::Shape);
        };
        let num = |p: &str| -> Result<u64, ParseScidError> {
            if p.is_empty() || p.len() > 20 || !p.bytes().all(|c| c.is_ascii_digit()) {
                return Err(ParseScidError::NotANumber);
            }
            p.parse::<u64>().map_err(|_| ParseScidError::OutOfRange)
        };
        let (b, t, o) = (num(b)?, num(t)?, num(o)?);
        if b > u64::from(MAX_24_BIT) || t > u64::from(MAX_24_BIT) || o > u64::from(u16::MAX) {
            return Err(ParseScidError::OutOfRange);
        }
        Ok(Self::from_u64((b << 40) | (t << 16) | o))
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for ShortChannelId {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Self(u.arbitrary()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // R: W04
    #[test]
    fn accepts_bolt7_example() {
        let s: ShortChannelId = "539268x845x1".parse().unwrap();
        assert_eq!(s.to_u64(), 592931436542885889);
        assert_eq!(
            s.to_bytes(),
            [0x08, 0x3a, 0x84, 0x00, 0x03, 0x4d, 0x00, 0x01]
        );
        assert_eq!((s.block(), s.tx_index(), s.output()), (539268, 845, 1));
        assert_eq!(s.to_string(), "539268x845x1");
    }

    // R: W04
    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "", "1x2", "1x2x3x4", "ax2x3", "1x2x", "+1x2x3", " 1x2x3", "1x-2x3",
        ] {
            assert!(bad.parse::<ShortChannelId>().is_err(), "{bad:?}");
        }
        assert_eq!(
            "16777216x0x0".parse::<ShortChannelId>(),
            Err(ParseScidError::OutOfRange)
        );
        assert_eq!(
            "0x16777216x0".parse::<ShortChannelId>(),
            Err(ParseScidError::OutOfRange)
        );
        assert_eq!(
            "0x0x65536".parse::<ShortChannelId>(),
            Err(ParseScidError::OutOfRange)
        );
        assert_eq!(
            "99999999999999999999999x0x0".parse::<ShortChannelId>(),
            Err(ParseScidError::NotANumber)
        );
        assert!(ShortChannelId::new(MAX_24_BIT + 1, 0, 0).is_none());
    }

    #[test]
    fn orders_numerically() {
        let a = ShortChannelId::from_u64(0x00ff);
        let b = ShortChannelId::from_u64(0x0100);
        assert!(a < b);
    }

    proptest::proptest! {
        // The hand-written Ord must agree with the byte order (wire order) and with
        // (block, tx, output): replies are sorted by it.
        // R: W04
        #[test]
        fn ord_is_byte_order_and_numeric_order(a: [u8; 8], b: [u8; 8]) {
            let (x, y) = (ShortChannelId::from_bytes(a), ShortChannelId::from_bytes(b));
            proptest::prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            proptest::prop_assert_eq!(
                x.cmp(&y),
                (x.block(), x.tx_index(), x.output()).cmp(&(y.block(), y.tx_index(), y.output()))
            );
            proptest::prop_assert_eq!(x.partial_cmp(&y), Some(x.cmp(&y)));
        }
    }
}
