//! FOAF rebalancing (temporary: replaced by the foaf-peer based implementation).
use crate::balances::Balances;
use crate::cycles::RoundStats;
use crate::graph::Graph;

/// FOAF settings.
#[derive(Debug, Clone, Default)]
pub struct FoafConfig {}

/// The simulated FOAF network.
pub struct FoafNetwork<'g> {
    _g: &'g Graph,
}

impl<'g> FoafNetwork<'g> {
    /// New network.
    pub fn new(g: &'g Graph, _b: &Balances, _cfg: FoafConfig, _seed: u64) -> Self {
        FoafNetwork { _g: g }
    }
    /// JIT.
    pub fn jit(&mut self, _b: &mut Balances, _arc: u32, _amt: u64) -> RoundStats {
        RoundStats::default()
    }
    /// One round.
    pub fn round(&mut self, _b: &mut Balances) -> RoundStats {
        RoundStats::default()
    }
}
