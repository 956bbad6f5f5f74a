//! # foaf-peer: a sans-IO BOLT #14 node
//!
//! Holds our channels, the known public graph, the connected peers and per-peer state; every
//! input is a method call with the current time passed in, and every effect (send, disconnect,
//! refuse, ignore, defer, log) is returned as a value, in order. No threads, sockets or system
//! clock inside; randomness comes from an injected seed (the quinn-proto pattern), so the same
//! inputs always give the same effects.
//!
//! ```
//! use foaf_peer::{Config, Effect, Node, Timestamp};
//! use foaf_policy::{Channel, ChannelState};
//! use foaf_wire::{Flow, ShortChannelId};
//!
//! let mut node: Node<&str> = Node::new(Config::default(), 42);
//! node.set_graph([ShortChannelId::from_u64(7)]);
//! node.set_channel(Channel { scid: ShortChannelId::from_u64(1), peer: "alice",
//!     capacity_msat: 1_000_000, local_msat: 500_000, announced: true,
//!     state: ChannelState::Normal }, Timestamp::EPOCH);
//! node.connect("alice", Timestamp::EPOCH);
//! let effects = node.query(&"alice", Flow::Push, 10_000, Timestamp::from_millis(1_500));
//! assert!(matches!(&effects[..], [Effect::Send { peer: "alice", .. }]));
//! ```
//!
//! ## The API
//! - [`Node::new`]`(config, seed)` / [`Node::with_policy`] (an operator's own
//!   [`foaf_policy::ReplyPolicy`]);
//! - state: [`Node::set_graph`] (known public scids, V05), [`Node::set_channel`] (add/replace by
//!   scid), [`Node::connect`], [`Node::disconnect`];
//! - inputs: [`Node::receive`] (a whole BOLT #1 message), [`Node::tick`] (the clock moved);
//! - requests: [`Node::query`], [`Node::offer`] (unsolicited reply, A09),
//!   [`Node::collect_offers`] (query the largest sources and sinks, R-CM-4);
//! - rebalancing (R-REB-*, R-JIT-*): [`Node::plan_rebalances`], [`Node::rebalance_failed`]
//!   (R-REB-8), [`Node::jit_decide`];
//! - reads: [`Node::offers`] (sorted), [`Node::channels`], [`Node::footprint`];
//! - the offers we made, for a hop that requires them (R-REB-6): [`Node::offered_at`],
//!   [`Node::note_fee_free_forward`], [`Node::offers_made`].
//!
//! Every input returns `Vec<`[`Effect`]`>`. Time is a [`Timestamp`] (Unix time, finer than the
//! second: the rate windows are exact, not counted in whole seconds); time given to the node
//! never goes backwards: it uses the largest `now` seen so far.
//!
//! ## Rules, in the order they are checked (docs/state-machine.md has the full table)
//! Received message: decode failure → `warning` + disconnect (V08, one `match` over
//! [`foaf_wire::DecodeErrorKind`]); unknown odd type → ignored, unknown even type →
//! disconnect (BOLT #1); no active channel → disconnect (V01); reply with > 1000 scids →
//! disconnect (V02); reply timestamp > now + 600 s → disconnect (V03); other chain → ignored
//! (V06); `flow_value` ∉ {0, 1} → ignored (W05); query beyond 4 per 10 s → ignored (V07);
//! reply scids not in the graph → discarded (V05); stored per (peer, scid, flow), newest wins,
//! equal replaces (V04).
//!
//! Sending: no connection or no active channel → refused (S02); more than 4 queries or 4
//! replies per peer in any 10 s → the request is refused, an answer to a query is deferred
//! to a later [`Node::tick`] (queue bounded by `max_deferred_replies`, S05).
//!
//! ## Memory
//! Per peer: at most 2 offers per known scid (V04/V05), `max_deferred_replies` deferred
//! answers and `3 × rate_limit.max` timestamps ([`Footprint`]), whatever the peer sends.
//! Node-wide: at most 2 offers made per own channel ([`OffersMade`], R-REB-6).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod collect;
pub mod config;
pub mod effect;
pub mod fault;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod node;
pub mod offered;
pub mod rebalance;
pub mod time;
pub mod window;

pub use collect::{collection_queries, Collect};
pub use config::{Config, RateLimit};
pub use effect::{Effect, Reason, Request};
pub use fault::{Fault, UnknownFault};
pub use node::{Footprint, Node};
pub use offered::{OfferMade, OffersMade};
pub use time::Timestamp;
