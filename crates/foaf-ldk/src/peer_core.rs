//! [`FoafCore`] for the real state machine, `foaf_peer::Node`, keyed by LDK node ids.

use foaf_peer::{Effect, Node};
use foaf_policy::{Channel, Offer};
use foaf_wire::{Flow, ShortChannelId};
use lightning::bitcoin::secp256k1::PublicKey;

use crate::core::{Action, FoafCore};

fn actions(effects: Vec<Effect<PublicKey>>) -> Vec<Action> {
    effects
        .into_iter()
        .map(|e| match e {
            Effect::Send { peer, bytes } => Action::Send { peer, bytes },
            Effect::Disconnect { peer, reason } => Action::Disconnect {
                peer,
                reason: reason.as_str().to_string(),
            },
            Effect::Refused { reason, .. } => Action::Refused {
                reason: reason.as_str().to_string(),
            },
            Effect::Ignored { peer, reason } => {
                Action::Log(format!("ignored a message from {peer}: {reason}"))
            }
            Effect::Deferred { peer } => {
                Action::Log(format!("answer to {peer} deferred by the S05 limit"))
            }
            Effect::Log(text) => Action::Log(text),
        })
        .collect()
}

impl FoafCore for Node<PublicKey> {
    fn connect(&mut self, peer: PublicKey, now: u64) -> Vec<Action> {
        actions(Node::connect(self, peer, now))
    }
    fn disconnect(&mut self, peer: &PublicKey, now: u64) -> Vec<Action> {
        actions(Node::disconnect(self, peer, now))
    }
    fn receive(&mut self, peer: &PublicKey, bytes: &[u8], now: u64) -> Vec<Action> {
        actions(Node::receive(self, peer, bytes, now))
    }
    fn query(&mut self, peer: &PublicKey, flow: Flow, amt_msat: u64, now: u64) -> Vec<Action> {
        actions(Node::query(self, peer, flow, amt_msat, now))
    }
    fn offer(&mut self, peer: &PublicKey, flow: Flow, amt_msat: u64, now: u64) -> Vec<Action> {
        actions(Node::offer(self, peer, flow, amt_msat, now))
    }
    fn tick(&mut self, now: u64) -> Vec<Action> {
        actions(Node::tick(self, now))
    }
    fn set_channel(&mut self, channel: Channel<PublicKey>, now: u64) -> Vec<Action> {
        actions(Node::set_channel(self, channel, now))
    }
    fn set_graph(&mut self, scids: Vec<ShortChannelId>) {
        Node::set_graph(self, scids)
    }
    fn offers(&self) -> Vec<Offer<PublicKey>> {
        Node::offers(self)
    }
}
