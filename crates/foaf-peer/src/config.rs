//! The node's configuration, with the pinned defaults.

use foaf_policy::Obfuscation;
use foaf_wire::{ChainHash, MessageTypes};

use crate::collect::Collect;
use crate::fault::Fault;

/// A sliding-window limit: at most `max` events in any `window_secs` (S05, V07).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Events allowed per window (default 4).
    pub max: usize,
    /// Window length in seconds (default 10).
    pub window_secs: u64,
}

impl RateLimit {
    /// The window length.
    pub fn window(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.window_secs)
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            max: 4,
            window_secs: 10,
        }
    }
}

/// Everything a node operator (or the conformance runner) can set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The chain we serve (S01, V06). Default: bitcoin.
    pub chain_hash: ChainHash,
    /// A reply timestamp more than this many seconds ahead of our clock fails the connection
    /// (V03). Default 600.
    pub future_tolerance_secs: u64,
    /// Limit on queries we send, replies we send, and queries we answer, per peer (S05, V07).
    pub rate_limit: RateLimit,
    /// Drop a peer's offers when it disconnects (default true: an offer can only be acted on
    /// over a live connection, and the peer will re-offer after reconnecting).
    pub drop_offers_on_disconnect: bool,
    /// A05 obfuscation of our replies; `None` (default, conformance mode) is off.
    pub obfuscation: Option<Obfuscation>,
    /// Message types of the two messages (default 347/349).
    pub message_types: MessageTypes,
    /// Answers held back by S05 per peer, at most (default 4; the excess is dropped).
    pub max_deferred_replies: usize,
    /// Send a BOLT #1 `warning` before failing a connection for a malformed message (V08).
    pub warn_before_disconnect: bool,
    /// How [`crate::Node::collect_offers`] queries (R-CM-4): the 8 largest sources and sinks,
    /// a tenth of each deviation, not again within 30 s unless our channels changed.
    pub collect: Collect,
    /// A deliberately broken rule, for testing conformance suites. `None` in production.
    pub fault: Option<Fault>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            chain_hash: ChainHash::BITCOIN,
            future_tolerance_secs: 600,
            rate_limit: RateLimit::default(),
            drop_offers_on_disconnect: true,
            obfuscation: None,
            message_types: MessageTypes::default(),
            max_deferred_replies: 4,
            warn_before_disconnect: true,
            collect: Collect::default(),
            fault: None,
        }
    }
}
