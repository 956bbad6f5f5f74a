//! # foaf-policy: what a BOLT #14 node decides, as pure functions
//!
//! Which of our channels we offer in a `reply_foaf_balances` (eligibility, uniform sampling,
//! obfuscation), the imbalance measure (Gini coefficient of relative channel balances) and the
//! target ratio ν from Pickhardt & Nowostawski (arXiv 1912.09555), the fee-free circular
//! rebalancing planner and the JIT routing decision. No I/O, no clock, no hidden randomness:
//! everything a function needs comes in as arguments, so `foaf-peer`, the simulator and the
//! CLI all share one implementation.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "json")]
pub mod channel_json;
pub mod channel_set;
pub mod forward_aware;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod graph;
pub mod hop_check;
pub mod imbalance;
pub mod jit;
pub mod model;
pub mod planner;
pub mod reply;

pub use channel_set::{ChannelSet, Group};
pub use forward_aware::ForwardAwarePolicy;
pub use graph::ChannelGraph;
pub use hop_check::{
    check_fee_free_forward, FeeFreeForward, FeeFreeRefusal, HopChannels, HopConfig, HopRule,
};
pub use imbalance::{gini, imbalance, relative_balances, target_ratio, Spread};
pub use jit::{jit_decide, HtlcToForward, JitConfig, JitDecision, JitFailure};
pub use model::{Channel, ChannelState, Offer, PeerKey};
pub use planner::{
    apply_rebalance, plan_rebalances, CircularRebalance, Hop, OutCap, PlannerConfig,
};
pub use reply::{
    enforce_reply_invariants, DefaultPolicy, Grouping, Obfuscation, ReplyPlan, ReplyPolicy,
    ReplyRequest,
};

#[cfg(test)]
mod test_support;
