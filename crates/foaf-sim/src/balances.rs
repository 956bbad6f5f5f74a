//! Channel balances: who holds how much of each channel, their seeded initial distributions,
//! and the two operations that move funds (a payment along a path, a circular rebalance).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use foaf_policy::{Channel, ChannelState};

use crate::graph::Graph;

/// How the capacity of each channel is split between its two ends at the start. Snapshots do
/// not reveal balances (data/README.md), so this is an assumption of every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialBalance {
    /// The paper's: a coin flip decides which end opened the channel; it holds the whole
    /// capacity.
    CoinFlip,
    /// The local share of one end is uniform in [0, capacity].
    Uniform,
    /// Both ends hold half (a perfectly balanced start, as a reference).
    Half,
}

impl InitialBalance {
    /// The name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            InitialBalance::CoinFlip => "coinflip",
            InitialBalance::Uniform => "uniform",
            InitialBalance::Half => "half",
        }
    }
}

/// The balance of every channel: `local_a[c]` is what end `a` of channel `c` holds (msat);
/// end `b` holds `capacity - local_a`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balances {
    /// End a's balance per channel, in millisatoshi.
    pub local_a: Vec<u64>,
}

/// Why a move of funds was refused: some hop lacked the balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insufficient {
    /// The first arc that could not carry the amount.
    pub arc: u32,
}

impl Balances {
    /// Seeded initial balances.
    pub fn initial(g: &Graph, dist: InitialBalance, seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let local_a = g
            .channels
            .iter()
            .map(|c| match dist {
                InitialBalance::CoinFlip => {
                    if rng.gen_bool(0.5) {
                        c.capacity_msat
                    } else {
                        0
                    }
                }
                InitialBalance::Uniform => rng.gen_range(0..=c.capacity_msat),
                InitialBalance::Half => c.capacity_msat / 2,
            })
            .collect();
        Balances { local_a }
    }

    /// What the tail of `arc` holds on its channel (what it can send along the arc).
    #[inline]
    pub fn arc_balance(&self, g: &Graph, arc: u32) -> u64 {
        let c = (arc / 2) as usize;
        if arc.is_multiple_of(2) {
            self.local_a[c]
        } else {
            g.channels[c].capacity_msat - self.local_a[c]
        }
    }

    /// Move `amt` along `arc` (tail pays head). The caller checked the balance.
    #[inline]
    fn shift(&mut self, arc: u32, amt: u64) {
        let c = (arc / 2) as usize;
        if arc.is_multiple_of(2) {
            self.local_a[c] -= amt;
        } else {
            self.local_a[c] += amt;
        }
    }

    /// Send `amt` along the arcs of a path (or a cycle), all or nothing: every hop must hold
    /// the amount first (an HTLC either settles everywhere or nowhere). Fees are not moved:
    /// the simulator measures liquidity, not earnings.
    pub fn send_along(&mut self, g: &Graph, arcs: &[u32], amt: u64) -> Result<(), Insufficient> {
        if let Some(&arc) = arcs.iter().find(|&&a| self.arc_balance(g, a) < amt) {
            return Err(Insufficient { arc });
        }
        for &a in arcs {
            self.shift(a, amt);
        }
        Ok(())
    }

    /// The total funds of every node (Σ of its local balances): constant under circular
    /// rebalancing.
    pub fn node_funds(&self, g: &Graph) -> Vec<u128> {
        (0..g.node_count() as u32)
            .map(|u| {
                g.arcs(u)
                    .iter()
                    .map(|a| self.arc_balance(g, a.id) as u128)
                    .sum()
            })
            .collect()
    }

    /// Node `u`'s channels in the policy crate's model (peer = node index), so the policy's
    /// own imbalance functions measure them.
    pub fn node_channels(&self, g: &Graph, u: u32) -> Vec<Channel<u32>> {
        g.arcs(u)
            .iter()
            .map(|a| {
                let c = &g.channels[(a.id / 2) as usize];
                Channel {
                    scid: c.scid,
                    peer: a.head,
                    capacity_msat: c.capacity_msat,
                    local_msat: self.arc_balance(g, a.id),
                    announced: true,
                    state: ChannelState::Normal,
                }
            })
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::graph::GraphChannel;
    use foaf_wire::ShortChannelId;

    pub(crate) fn triangle() -> Graph {
        let ch = |a, b, i, cap| GraphChannel {
            a,
            b,
            scid: ShortChannelId::from_u64(i),
            capacity_msat: cap,
            base_fee_msat: [0, 0],
            fee_ppm: [0, 0],
            parts: 1,
        };
        Graph::from_channels(
            vec!["x".into(), "y".into(), "z".into()],
            vec![ch(0, 1, 1, 100), ch(1, 2, 2, 100), ch(0, 2, 3, 100)],
        )
    }

    #[test]
    fn initial_distributions_are_seeded_and_within_capacity() {
        let g = Graph::barabasi_albert(200, 2, 1);
        for d in [
            InitialBalance::CoinFlip,
            InitialBalance::Uniform,
            InitialBalance::Half,
        ] {
            let b = Balances::initial(&g, d, 5);
            assert_eq!(b, Balances::initial(&g, d, 5));
            for (c, l) in g.channels.iter().zip(&b.local_a) {
                assert!(*l <= c.capacity_msat);
                if d == InitialBalance::CoinFlip {
                    assert!(*l == 0 || *l == c.capacity_msat);
                }
            }
        }
        let cf = Balances::initial(&g, InitialBalance::CoinFlip, 5);
        let full = cf.local_a.iter().filter(|&&l| l > 0).count();
        // A fair coin: about half the channels go to end a.
        assert!(full > g.channel_count() * 2 / 5 && full < g.channel_count() * 3 / 5);
    }

    #[test]
    fn a_cycle_rebalance_conserves_every_nodes_funds() {
        let g = triangle();
        let mut b = Balances {
            local_a: vec![100, 100, 0],
        };
        let before = b.node_funds(&g);
        // x -> y -> z -> x: arcs 0 (ch0 a->b), 2 (ch1 a->b), 5 (ch2 b->a)
        b.send_along(&g, &[0, 2, 5], 40).unwrap();
        assert_eq!(b.node_funds(&g), before);
        assert_eq!(b.local_a, vec![60, 60, 40]);
        // Not enough on the first hop any more for 61: nothing moves.
        let snapshot = b.clone();
        assert_eq!(
            b.send_along(&g, &[0, 2, 5], 61),
            Err(Insufficient { arc: 0 })
        );
        assert_eq!(b, snapshot);
    }
}
