//! What the node asks its caller to do: the effects every input returns.

use core::fmt;

/// Why the node failed a connection, refused a request or ignored a message. A closed set:
/// each has a stable snake_case word ([`Reason::as_str`]) used by the pipe protocol and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No active channel with the peer (S02 when sending, V01 when receiving).
    NoChannel,
    /// The transport to the peer is down: nothing can be sent.
    NotConnected,
    /// A reply with more than 1000 scids (V02).
    TooManyScids,
    /// A reply timestamp too far ahead of our clock (V03).
    TimestampInFuture,
    /// The message failed to decode (V08).
    Malformed,
    /// A sliding-window limit (S05 on our sends, V07 on received queries, a full defer queue).
    RateLimited,
    /// A `chain_hash` we do not serve (V06).
    UnknownChain,
    /// A `flow_value` other than 0 or 1 (W05).
    InvalidFlowValue,
    /// A message of an unknown even type (BOLT #1: fail the connection).
    UnknownEvenType,
    /// A message of an unknown odd type (BOLT #1: ignore).
    UnknownOddType,
    /// The request is not supported (only with a fault injected).
    Unsupported,
    /// The message could not be encoded (cannot happen with our own limits; kept typed).
    EncodeFailed,
}

impl Reason {
    /// The stable snake_case word.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoChannel => "no_channel",
            Reason::NotConnected => "not_connected",
            Reason::TooManyScids => "too_many_scids",
            Reason::TimestampInFuture => "timestamp_in_future",
            Reason::Malformed => "malformed",
            Reason::RateLimited => "rate_limited",
            Reason::UnknownChain => "unknown_chain",
            Reason::InvalidFlowValue => "invalid_flow_value",
            Reason::UnknownEvenType => "unknown_even_type",
            Reason::UnknownOddType => "unknown_odd_type",
            Reason::Unsupported => "unsupported",
            Reason::EncodeFailed => "encode_failed",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request of the caller that the node can refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    /// [`crate::Node::query`]: send a `query_foaf_balances`.
    Query,
    /// [`crate::Node::offer`]: send an unsolicited `reply_foaf_balances` (A09).
    Offer,
}

impl Request {
    /// `"query"` or `"offer"` (the pipe protocol's op names).
    pub fn as_str(self) -> &'static str {
        match self {
            Request::Query => "query",
            Request::Offer => "offer",
        }
    }
}

/// One thing the caller must do (or may log), in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect<P> {
    /// Send these bytes (a whole BOLT #1 message) to the peer.
    Send {
        /// The recipient.
        peer: P,
        /// The message.
        bytes: Vec<u8>,
    },
    /// Fail the connection to the peer.
    Disconnect {
        /// The peer.
        peer: P,
        /// Why.
        reason: Reason,
    },
    /// A [`Request`] was refused; nothing was sent.
    Refused {
        /// The request.
        op: Request,
        /// The peer it was for.
        peer: P,
        /// Why.
        reason: Reason,
    },
    /// A received message was deliberately not acted on (connection kept).
    Ignored {
        /// The sender.
        peer: P,
        /// Why.
        reason: Reason,
    },
    /// An answer to a query is held back by the S05 limit; it goes out on a later `tick`.
    Deferred {
        /// The peer the answer is for.
        peer: P,
    },
    /// Free text for a log.
    Log(String),
}
