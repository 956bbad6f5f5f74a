//! The channel-message slot of a node that opens no channels: LDK's `ErroringMessageHandler`
//! (every channel message is answered with an error) with what such a node should say in its
//! `init` (issue #17: `foaf node` advertised LDK's channel feature bits and no `networks`).
//!
//! - Features: none of its own. `ErroringMessageHandler` claims a dozen channel features
//!   (data_loss_protect, static_remote_key, payment_secret, basic_mpp, wumbo, dual_fund, …) so
//!   that peers requiring them still talk to it, although it rejects every channel. BOLT #1 lets
//!   a node set only what it supports; the BOLT #9 features a peer could insist on are ASSUMED
//!   today (a peer may take them as set), and a BOLT #14 node needs none of them. Our `init`
//!   holds the `option_balance_sharing` bit (from the custom-message slot) and nothing else.
//! - `networks`: the chain we serve BOLT #14 for (docs/bolt14.md §2.1 has the reason). BOLT #1
//!   says to list the chains a node gossips or opens channels for; this node does neither, but
//!   every message it exchanges names one chain, and a peer with no chain in common MAY (LDK
//!   does) fail the connection at `init` instead of after its first query.

use lightning::bitcoin::constants::ChainHash;
use lightning::bitcoin::secp256k1::PublicKey;
use lightning::ln::msgs::{self, BaseMessageHandler, ChannelMessageHandler, MessageSendEvent};
use lightning::ln::peer_handler::ErroringMessageHandler;
use lightning::ln::types::ChannelId;
use lightning::types::features::{InitFeatures, NodeFeatures};

/// [`ErroringMessageHandler`] with no feature bits and `networks` = our chain (module docs).
pub struct NoChannels {
    inner: ErroringMessageHandler,
    chain: ChainHash,
}

impl NoChannels {
    /// For a node serving `chain` (the 32-byte chain hash, as in BOLT #14 messages).
    pub fn new(chain: [u8; 32]) -> Self {
        Self {
            inner: ErroringMessageHandler::new(),
            chain: ChainHash::from(chain),
        }
    }
}

impl BaseMessageHandler for NoChannels {
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        BaseMessageHandler::get_and_clear_pending_msg_events(&self.inner)
    }
    fn peer_disconnected(&self, their_node_id: PublicKey) {
        BaseMessageHandler::peer_disconnected(&self.inner, their_node_id)
    }
    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }
    fn provided_init_features(&self, _their_node_id: PublicKey) -> InitFeatures {
        InitFeatures::empty()
    }
    fn peer_connected(
        &self,
        their_node_id: PublicKey,
        msg: &msgs::Init,
        inbound: bool,
    ) -> Result<(), ()> {
        BaseMessageHandler::peer_connected(&self.inner, their_node_id, msg, inbound)
    }
}

/// Every channel message goes to `ErroringMessageHandler` (an error back to the peer).
macro_rules! to_inner {
    ($($name:ident($ty:ty);)*) => {
        $(fn $name(&self, their_node_id: PublicKey, msg: $ty) {
            ChannelMessageHandler::$name(&self.inner, their_node_id, msg)
        })*
    };
}

impl ChannelMessageHandler for NoChannels {
    // LDK's channel messages, grouped by BOLT #2 phase (the compiler names any a new LDK
    // release adds).
    to_inner! {
        // Establishment, v1 and v2 (dual funding).
        handle_open_channel(&msgs::OpenChannel); handle_accept_channel(&msgs::AcceptChannel);
        handle_open_channel_v2(&msgs::OpenChannelV2);
        handle_accept_channel_v2(&msgs::AcceptChannelV2);
        handle_funding_created(&msgs::FundingCreated); handle_funding_signed(&msgs::FundingSigned);
        handle_channel_ready(&msgs::ChannelReady);
        // Interactive transaction construction (v2 funding, splicing).
        handle_tx_add_input(&msgs::TxAddInput); handle_tx_add_output(&msgs::TxAddOutput);
        handle_tx_remove_input(&msgs::TxRemoveInput);
        handle_tx_remove_output(&msgs::TxRemoveOutput);
        handle_tx_complete(&msgs::TxComplete); handle_tx_signatures(&msgs::TxSignatures);
        handle_tx_init_rbf(&msgs::TxInitRbf); handle_tx_ack_rbf(&msgs::TxAckRbf);
        handle_tx_abort(&msgs::TxAbort);
        // Quiescence and splicing.
        handle_stfu(&msgs::Stfu); handle_splice_init(&msgs::SpliceInit);
        handle_splice_ack(&msgs::SpliceAck); handle_splice_locked(&msgs::SpliceLocked);
        // Normal operation: HTLCs, commitments, fees.
        handle_update_add_htlc(&msgs::UpdateAddHTLC);
        handle_update_fulfill_htlc(msgs::UpdateFulfillHTLC);
        handle_update_fail_htlc(&msgs::UpdateFailHTLC);
        handle_update_fail_malformed_htlc(&msgs::UpdateFailMalformedHTLC);
        handle_commitment_signed(&msgs::CommitmentSigned);
        handle_revoke_and_ack(&msgs::RevokeAndACK);
        handle_update_fee(&msgs::UpdateFee);
        // Closing.
        handle_shutdown(&msgs::Shutdown); handle_closing_signed(&msgs::ClosingSigned);
        // Reconnection, announcement, peer storage, errors.
        handle_channel_reestablish(&msgs::ChannelReestablish);
        handle_announcement_signatures(&msgs::AnnouncementSignatures);
        handle_channel_update(&msgs::ChannelUpdate);
        handle_peer_storage(msgs::PeerStorage);
        handle_peer_storage_retrieval(msgs::PeerStorageRetrieval);
        handle_error(&msgs::ErrorMessage);
    }
    fn handle_commitment_signed_batch(
        &self,
        their_node_id: PublicKey,
        channel_id: ChannelId,
        batch: Vec<msgs::CommitmentSigned>,
    ) {
        ChannelMessageHandler::handle_commitment_signed_batch(
            &self.inner,
            their_node_id,
            channel_id,
            batch,
        )
    }
    fn get_chain_hashes(&self) -> Option<Vec<ChainHash>> {
        Some(vec![self.chain])
    }
    fn message_received(&self) {
        ChannelMessageHandler::message_received(&self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Issue #17 item 10: no channel feature bits, `networks` = the chain we serve.
    #[test]
    fn no_channel_features_and_our_chain_as_networks() {
        let signet = foaf_wire::ChainHash::SIGNET.0;
        let h = NoChannels::new(signet);
        let any = PublicKey::from_slice(&[2; 33]).unwrap_or_else(|_| {
            use lightning::bitcoin::secp256k1::{Secp256k1, SecretKey};
            PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[3; 32]).unwrap())
        });
        assert_eq!(h.provided_init_features(any), InitFeatures::empty());
        assert_eq!(h.provided_node_features(), NodeFeatures::empty());
        assert_eq!(h.get_chain_hashes(), Some(vec![ChainHash::from(signet)]));
        // LDK's own handler, which this one replaces in `foaf node`, sets channel features.
        assert_ne!(
            BaseMessageHandler::provided_init_features(&ErroringMessageHandler::new(), any),
            InitFeatures::empty()
        );
    }
}
