//! Wiring foaf-ldk into an LDK application that already has handlers in every slot.
//!
//! - [`FoafHandle`]: a cloneable handle on one shared [`FoafHandler`]. It dereferences to the
//!   handler, so LDK 0.3's blanket impls (`CustomMessageHandler`, `CustomMessageReader`,
//!   `BaseMessageHandler` and `SendOnlyMessageHandler` for every `Deref` to one) make it, like
//!   a plain `Arc<FoafHandler>`, a handler in its own right: put one clone inside another
//!   handler (e.g. a struct made by `lightning-custom-message`'s
//!   `composite_custom_message_handler!`, next to `lightning-liquidity`'s `LiquidityManager`)
//!   and keep the other to query and offer with. (LDK 0.2 had no such impls; the handle then
//!   implemented each trait itself.)
//! - [`SendOnlyPair`]: two send-only handlers as one, for `MessageHandler`'s single
//!   `send_only_message_handler` slot. LDK applications give that slot to their `ChainMonitor`
//!   (peer storage); the BOLT #14 handler needs it too, to fail connections with a warning
//!   (V01, V08). Without the pair, an app that keeps `ChainMonitor` there silently loses every
//!   disconnect the state machine asks for.
//!
//! docs/interop.md ("LDK: integration recipe") shows the whole wiring.

use core::ops::Deref;
use std::sync::Arc;

use lightning::bitcoin::secp256k1::PublicKey;
use lightning::ln::msgs::{BaseMessageHandler, Init, MessageSendEvent, SendOnlyMessageHandler};
use lightning::types::features::{InitFeatures, NodeFeatures};

use crate::handler::FoafHandler;

/// A cloneable handle on a shared [`FoafHandler`] (module docs).
pub struct FoafHandle<C, S>(pub Arc<FoafHandler<C, S>>);

impl<C, S> Clone for FoafHandle<C, S> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<C, S> Deref for FoafHandle<C, S> {
    type Target = FoafHandler<C, S>;
    fn deref(&self) -> &FoafHandler<C, S> {
        &self.0
    }
}

/// Two send-only handlers in the one `send_only_message_handler` slot (module docs): events
/// are drained from both (first's first), connection callbacks go to both, features are the
/// union.
pub struct SendOnlyPair<A, B> {
    /// E.g. the application's `ChainMonitor`.
    pub first: A,
    /// E.g. a [`FoafHandle`].
    pub second: B,
}

impl<A: Deref, B: Deref> BaseMessageHandler for SendOnlyPair<A, B>
where
    A::Target: SendOnlyMessageHandler,
    B::Target: SendOnlyMessageHandler,
{
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        let mut v = self.first.get_and_clear_pending_msg_events();
        v.extend(self.second.get_and_clear_pending_msg_events());
        v
    }
    fn peer_disconnected(&self, their_node_id: PublicKey) {
        self.first.peer_disconnected(their_node_id);
        self.second.peer_disconnected(their_node_id);
    }
    fn provided_node_features(&self) -> NodeFeatures {
        self.first.provided_node_features() | self.second.provided_node_features()
    }
    fn provided_init_features(&self, their_node_id: PublicKey) -> InitFeatures {
        self.first.provided_init_features(their_node_id)
            | self.second.provided_init_features(their_node_id)
    }
    fn peer_connected(
        &self,
        their_node_id: PublicKey,
        msg: &Init,
        inbound: bool,
    ) -> Result<(), ()> {
        // Both hear of the peer even if the first refuses it, as LDK does for its own slots;
        // the connection fails if either refuses.
        let a = self.first.peer_connected(their_node_id, msg, inbound);
        let b = self.second.peer_connected(their_node_id, msg, inbound);
        a.and(b)
    }
}

impl<A: Deref, B: Deref> SendOnlyMessageHandler for SendOnlyPair<A, B>
where
    A::Target: SendOnlyMessageHandler,
    B::Target: SendOnlyMessageHandler,
{
}
