//! # foaf-sim: does balance sharing make the Lightning Network route better?
//!
//! A simulator that lets anyone check and extend the claim BOLT #14 rests on: Pickhardt &
//! Nowostawski (arXiv 1912.09555) report that when nodes rebalance proactively along short
//! cycles toward one relative balance, the share of node pairs whose cheapest path can carry a
//! payment rises from 11.2 % to 98.3 %. This crate loads a real channel graph (Core Lightning
//! `listchannels`, plain or gzip; the 2021 mainnet graph ships with it) or generates a
//! scale-free one, assigns seeded balances, and runs two experiments:
//!
//! - [`imbalance`]: the paper's experiment. Metrics before and after rebalancing with the
//!   paper's cycle strategies and with FOAF, where nodes find partners only by exchanging real
//!   `query_foaf_balances`/`reply_foaf_balances` bytes through `foaf-peer` nodes and the
//!   `foaf-policy` planner;
//! - [`payments`]: a seeded payment stream with no rebalancing, FOAF proactive rebalancing,
//!   JIT routing, and both.
//!
//! [`report`] prints tables and writes CSV and PNG/SVG plots. Everything is deterministic for a
//! seed: RNGs are `ChaCha20Rng`, maps are ordered, parallel work is merged in index order.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod balances;
pub mod cycles;
pub mod foaf;
pub mod graph;
pub mod imbalance;
pub mod metrics;
pub mod paper;
pub mod paper_input;
pub mod payments;
pub mod privacy;
pub mod progress;
pub mod report;
pub mod seed;
pub mod sweep;

pub use balances::{Balances, InitialBalance};
pub use graph::{Graph, GraphError, LoadOptions};
