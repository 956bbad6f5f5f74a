//! The chain the nodes follow: blocks we build ourselves from the transactions they broadcast.
//!
//! LDK is chain-agnostic: it is told about blocks (`Listen::block_connected`) and hands
//! transactions to a `BroadcasterInterface`. No proof of work, no script validation: the
//! funding transactions spend made-up segwit inputs (LDK only asks that they carry a witness),
//! which is all a channel needs to open, confirm and be announced.

use std::sync::Mutex;

use lightning::bitcoin::block::{Header, Version};
use lightning::bitcoin::hash_types::TxMerkleNode;
use lightning::bitcoin::hashes::Hash;
use lightning::bitcoin::{Block, BlockHash, CompactTarget, Transaction};
use lightning::chain::chaininterface::{BroadcasterInterface, TransactionType};
use lightning::chain::BlockLocator;

/// Transactions broadcast by any node and not yet in a block.
#[derive(Default)]
pub struct Mempool {
    txs: Mutex<Vec<Transaction>>,
}

impl Mempool {
    /// Takes everything waiting (deduplicated by txid: both channel parties broadcast).
    pub fn drain(&self) -> Vec<Transaction> {
        let mut txs = std::mem::take(&mut *self.txs.lock().unwrap_or_else(|e| e.into_inner()));
        let mut seen = std::collections::BTreeSet::new();
        txs.retain(|t| seen.insert(t.compute_txid()));
        txs
    }
}

impl BroadcasterInterface for Mempool {
    fn broadcast_transactions(&self, txs: &[(&Transaction, TransactionType)]) {
        self.txs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(txs.iter().map(|(t, _)| (*t).clone()));
    }
}

/// The height the chain starts at. LDK draws the fake short channel ids it gives channels
/// (`outbound_scid_alias`) and intercepts from block heights at least a month (4320 blocks)
/// below the tip; below that every one of them has the same height and one of 2500 transaction
/// indexes, and two channels of a node collide (LDK then panics: "SCIDs should never collide")
/// about once in 250 networks of the tests' size. Starting well above a month makes the space
/// millions wide. LDK checks only that each block names its predecessor, not the height.
pub const START_HEIGHT: u32 = 100_000;

/// A regtest chain: genesis plus the blocks [`Chain::next_block`] made.
pub struct Chain {
    tip: BlockLocator,
    /// Block time of the tip (unix seconds); moves one second per block.
    time: u32,
}

impl Chain {
    /// A chain on regtest's genesis block, numbered as if it stood at [`START_HEIGHT`].
    pub fn new(start_time: u32) -> Self {
        let genesis = BlockLocator::from_network(lightning::bitcoin::Network::Regtest);
        Self {
            tip: BlockLocator::new(genesis.block_hash, START_HEIGHT),
            time: start_time,
        }
    }

    /// The tip.
    pub fn tip(&self) -> BlockLocator {
        self.tip
    }

    /// Builds the next block on the tip with `txs` and makes it the tip; returns it and its
    /// height.
    pub fn next_block(&mut self, txs: Vec<Transaction>) -> (Block, u32) {
        self.time += 1;
        let header = Header {
            version: Version::TWO,
            prev_blockhash: self.tip.block_hash,
            merkle_root: TxMerkleNode::all_zeros(),
            time: self.time,
            bits: CompactTarget::from_consensus(0x207f_ffff),
            nonce: self.tip.height,
        };
        let block = Block {
            header,
            txdata: txs,
        };
        let height = self.tip.height + 1;
        self.tip.advance(block.block_hash());
        (block, height)
    }

    /// The hash of the tip.
    pub fn tip_hash(&self) -> BlockHash {
        self.tip.block_hash
    }
}
