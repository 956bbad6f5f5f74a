//! Every scenario, one function each, grouped by the requirement family they test.
//!
//! To add scenarios for new requirement ids (e.g. `R-JIT-…`): add a module here with a
//! `pub fn scenarios() -> Vec<Vector>`, and list it in [`MODULES`]. Names must be unique;
//! `cargo xtask vectors` then writes one file per scenario.

use crate::build::{scid, Chan, Node, CAP};
use crate::vector::Vector;

mod answering;
mod forwarding;
mod management;
mod rebalancing;
mod receiving;
mod sending;
mod wire;

/// Each module's list of scenarios.
pub const MODULES: &[fn() -> Vec<Vector>] = &[
    wire::scenarios,
    sending::scenarios,
    answering::scenarios,
    receiving::scenarios,
    management::scenarios,
    rebalancing::scenarios,
    forwarding::scenarios,
];

/// Every scenario, in module order. Panics on a duplicate name (a programming error).
pub fn all() -> Vec<Vector> {
    let vectors: Vec<Vector> = MODULES.iter().flat_map(|m| m()).collect();
    let mut names = std::collections::BTreeSet::new();
    for v in &vectors {
        assert!(
            names.insert(v.name.clone()),
            "duplicate scenario name {}",
            v.name
        );
    }
    vectors
}

/// The node most scenarios start from, on regtest at `T0`, ν = 0.5:
/// alice and bob at ζ 0.5 (never eligible), carol at ζ 0.9 (can push), dave at ζ 0.1 (can take).
pub(crate) fn std_node() -> Node {
    Node::new(vec![
        Chan::new(scid(700_000, 1, 0), "alice", CAP, CAP / 2),
        Chan::new(scid(700_000, 2, 0), "bob", CAP, CAP / 2),
        Chan::new(scid(700_000, 3, 0), "carol", CAP, CAP / 10 * 9),
        Chan::new(scid(700_000, 4, 0), "dave", CAP, CAP / 10),
    ])
}

/// Every peer of [`std_node`].
pub(crate) const STD_PEERS: &[&str] = &["alice", "bob", "carol", "dave"];

/// A rebalancing amount every eligible channel of [`std_node`] can take (100,000 sat).
pub(crate) const AMT: u64 = 100_000_000;
