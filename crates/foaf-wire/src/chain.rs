//! `chain_hash` (BOLT #0): the genesis block hash of the chain a message is about (S01), as the
//! 32 bytes appear on the wire (the internal byte order, i.e. reversed from block explorers).

use core::fmt;
use core::str::FromStr;

/// A chain hash in wire byte order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ChainHash(pub [u8; 32]);

/// Parses a 64-digit hex literal at compile time.
const fn hex32(s: &str) -> [u8; 32] {
    let b = s.as_bytes();
    assert!(b.len() == 64);
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not lowercase hex"),
    }
}

impl ChainHash {
    /// Bitcoin mainnet (genesis 000000000019d6…e26f).
    pub const BITCOIN: Self = Self(hex32(
        "6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000",
    ));
    /// Bitcoin testnet3 (genesis 000000000933ea…4943).
    pub const TESTNET3: Self = Self(hex32(
        "43497fd7f826957108f4a30fd9cec3aeba79972084e90ead01ea330900000000",
    ));
    /// Bitcoin testnet4 (genesis 00000000da84f2…f043).
    pub const TESTNET4: Self = Self(hex32(
        "43f08bdab050e35b567c864b91f47f50ae725ae2de53bcfbbaf284da00000000",
    ));
    /// Bitcoin signet (genesis 00000008819873…1ef6).
    pub const SIGNET: Self = Self(hex32(
        "f61eee3b63a380a477a063af32b2bbc97c9ff9f01f2c4225e973988108000000",
    ));
    /// Bitcoin regtest (genesis 0f9188f13cb7b2…2206).
    pub const REGTEST: Self = Self(hex32(
        "06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f",
    ));

    /// Every named chain with its name.
    pub const KNOWN: [(&'static str, ChainHash); 5] = [
        ("bitcoin", Self::BITCOIN),
        ("testnet", Self::TESTNET3),
        ("testnet4", Self::TESTNET4),
        ("signet", Self::SIGNET),
        ("regtest", Self::REGTEST),
    ];

    /// The chain's name, if it is one of [`ChainHash::KNOWN`].
    pub fn name(&self) -> Option<&'static str> {
        Self::KNOWN.iter().find(|(_, h)| h == self).map(|(n, _)| *n)
    }

    /// The chain hash for a name in [`ChainHash::KNOWN`] (`"bitcoin"`, `"testnet"`, …).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::KNOWN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, h)| *h)
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "ChainHash({n})"),
            None => write!(f, "ChainHash({self})"),
        }
    }
}

/// A chain hash string that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseChainHashError;

impl fmt::Display for ParseChainHashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("chain_hash must be 64 hex digits")
    }
}

impl std::error::Error for ParseChainHashError {}

impl FromStr for ChainHash {
    type Err = ParseChainHashError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        if b.len() != 64 {
            return Err(ParseChainHashError);
        }
        let mut out = [0u8; 32];
        for (i, pair) in b.chunks_exact(2).enumerate() {
            let digit = |c: u8| (c as char).to_digit(16).ok_or(ParseChainHashError);
            out[i] = ((digit(pair[0])? << 4) | digit(pair[1])?) as u8;
        }
        Ok(Self(out))
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for ChainHash {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Self(u.arbitrary()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The genesis hashes as block explorers print them (reversed byte order).
    #[test]
    fn known_hashes_are_the_reversed_genesis_hashes() {
        let explorer = [
            (
                "bitcoin",
                "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
            ),
            (
                "testnet",
                "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
            ),
            (
                "testnet4",
                "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043",
            ),
            (
                "signet",
                "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
            ),
            (
                "regtest",
                "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
            ),
        ];
        for (name, shown) in explorer {
            let mut h: ChainHash = shown.parse().unwrap();
            h.0.reverse();
            assert_eq!(ChainHash::from_name(name), Some(h), "{name}");
            assert_eq!(h.name(), Some(name));
        }
    }

    #[test]
    fn rejects_bad_hex() {
        assert!("00".parse::<ChainHash>().is_err());
        assert!("zz".repeat(32).parse::<ChainHash>().is_err());
        let s = ChainHash::BITCOIN.to_string();
        assert_eq!(s.parse::<ChainHash>(), Ok(ChainHash::BITCOIN));
    }
}
