//! # foaf-wire: bytes ⇄ typed BOLT #14 messages
//!
//! The wire layer of the `foaf` reference implementation of BOLT #14 (friend-of-a-friend
//! balance sharing): BOLT #1 framing, BigSize, TLV streams, BOLT #7 `short_channel_id`, chain
//! hashes, and the two messages `query_foaf_balances` (347) and `reply_foaf_balances` (349,
//! pinned by this project).
//!
//! Guarantees, each tested and fuzzed:
//! - decoding never panics and never allocates from a length field before checking it against
//!   the bytes left (allocation is bounded by the input's length);
//! - every failure is a [`DecodeError`] naming what was wrong and the byte offset;
//! - encoding is canonical: `decode(encode(m)) == m` and `encode(decode(b)) == b` for valid `b`.
//!
//! ```
//! use foaf_wire::{ChainHash, Message, QueryFoafBalances, TlvStream};
//! let q = Message::Query(QueryFoafBalances {
//!     chain_hash: ChainHash::BITCOIN,
//!     flow_value: 1,
//!     amt_to_rebalance: 100_000,
//!     tlvs: TlvStream::new(),
//! });
//! let bytes = q.encode().unwrap();
//! assert_eq!(&bytes[..2], &[0x01, 0x5b]); // type 347
//! assert_eq!(Message::decode(&bytes).unwrap(), q);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod alias;
pub mod bigsize;
pub mod chain;
pub mod error;
pub mod features;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
#[cfg(feature = "json")]
pub mod json;
pub mod messages;
pub mod reader;
pub mod scid;
pub mod tlv;
pub mod warning;

pub use alias::{
    decode_intercept_aliases, encode_intercept_aliases, InterceptAlias, INTERCEPT_ALIASES_TLV,
};
pub use chain::ChainHash;
pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use messages::{
    Flow, Message, MessageTypes, QueryFoafBalances, ReplyFoafBalances, UnknownMessage,
    MAX_MESSAGE_LEN, MAX_REPLY_SCIDS,
};
pub use reader::Reader;
pub use scid::ShortChannelId;
pub use tlv::TlvStream;
pub use warning::{Warning, WARNING_TYPE};
