//! # foaf-ldk: BOLT #14 over a real Lightning transport, with LDK
//!
//! LDK (`lightning` 0.3) hands every message type it does not handle itself to a
//! `CustomMessageReader`/`CustomMessageHandler`. This crate implements those traits on top of the
//! sans-IO BOLT #14 node: incoming `query_foaf_balances`/`reply_foaf_balances` are decoded once
//! by `foaf-wire` and fed to the state machine, whose effects become LDK sends and disconnects.
//!
//! - [`FoafHandler`]: the custom message handler, for any LDK application's `PeerManager`.
//! - [`ChannelSource`]: where our channels and the public graph come from; implemented for LDK's
//!   `ChannelManager` + `NetworkGraph` ([`LdkChannels`]) and for a fixed list ([`StaticChannels`]).
//! - [`FoafHandle`], [`SendOnlyPair`]: the handler as a cloneable handle, and sharing the
//!   send-only slot with `ChainMonitor`, for apps whose slots are taken ([`compose`]).
//! - [`FoafRouting`]: fee-free circular rebalancing (initiator and hop) and JIT routing on a
//!   live `ChannelManager`, one object for the app's event handler ([`routing`]).
//! - [`FoafNode`]: a standalone BOLT #8 node (`PeerManager` over `lightning-net-tokio`) that
//!   speaks only BOLT #14; the engine of `foaf node`.
//!
//! The feature bit advertised in `init` (W06) and the two message types are configurable
//! ([`AdapterConfig`]); see `docs/interop.md` for the defaults and why.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod circular;
pub mod compose;
pub mod conn_limit;
pub mod handler;
pub mod message;
pub mod message_error;
pub mod no_channels;
pub mod quiet;
pub mod routing;
pub mod runtime;
pub mod source;
pub mod state_machine;

pub use circular::{circular_route, CircularRouteError, FINAL_CLTV_EXPIRY_DELTA};
pub use compose::{FoafHandle, SendOnlyPair};
pub use conn_limit::ConnectionLimits;
pub use foaf_peer::Effect;
pub use handler::{
    check_feature_bit, has_feature_pair, init_features, system_clock, AdapterConfig, Clock,
    EventSink, FoafEvent, FoafHandler, DEFAULT_FEATURE_BIT,
};
pub use lightning::bitcoin::secp256k1::PublicKey;
pub use lightning::util::logger::Level as LdkLevel;
pub use message::FoafMessage;
pub use no_channels::NoChannels;
pub use routing::{
    FoafRouting, JitRelease, OwnOffers, RoutingConfig, RoutingEvent, RoutingFault, RoutingSink,
};
pub use runtime::{FoafNode, FoafPeerManager, NodeConfig, StderrLogger};
pub use source::{
    channel_from_details, graph_scids, parse_node_id, ChannelSource, LdkChannels, SourceError,
    StaticChannels,
};
pub use state_machine::{FeeFreeMove, FoafCore, Input};
