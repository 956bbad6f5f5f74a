//! The paper's own input preparation, as an alternative to merging parallel channels (M02),
//! and the block filter that dates a graph: what `foaf sim paper-code --parallel-channels
//! paper` and `--funded-by-block` run.
//!
//! `code/vs/prepareLightningNetwork.py` (the paper's repository) builds its directed graph from
//! a `listchannels` dump so, and [`PaperPairs`] with it:
//!
//! 1. A node *pair* takes part when one of its channels has exactly two records in the dump
//!    (`sid_cnt[sid] == 2`: both directions announced). Parallel channels become one pair.
//! 2. A coin flip per pair picks the funded direction s→d (`direction`).
//! 3. The funded direction's capacity (= its balance) and fees are those of *one* record s→d
//!    of the pair, of any of its channels (also one announced in one direction only): every
//!    record s→d goes into a Python `set` of tuples and `nx.DiGraph.add_edge` keeps the last
//!    one the set yields, i.e. an arbitrary one; here a seeded uniform pick among the
//!    distinct (capacity, base fee, fee rate) tuples.
//! 4. The largest strongly connected component of the funded directions is kept.
//! 5. The other direction d→s gets balance 0 and the capacity and fees of the *first* record
//!    d→s in the dump (`find_channel`), whichever channel that is.
//!
//! So a pair with parallel channels of different sizes has two capacities. `simulation.py`
//! computes ζ = balance / capacity per direction with that direction's own capacity, ν_u over
//! them and the liquidity `int(capacity·(ζ − ν))` with it, while the funds in the pair stay the
//! funded capacity (each move adds to one side what it takes from the other): a side's ζ may
//! exceed 1 or never reach it. [`PaperPairs::prepare`] hands those per-direction capacities to
//! [`crate::paper`] in the [`PaperStart`].

use std::collections::{BTreeMap, HashMap};

use foaf_wire::ShortChannelId;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

use crate::balances::Balances;
use crate::graph::{DumpRecord, Graph, GraphChannel, GraphError};
use crate::imbalance::funded_scc;
use crate::paper::PaperStart;
use crate::seed::seed_for;

/// The records of channels funded at or before block `block` (the block height of the short
/// channel id: the block that confirmed the funding transaction), in the dump's order.
pub fn funded_by_block(records: Vec<DumpRecord>, block: u32) -> Vec<DumpRecord> {
    records
        .into_iter()
        .filter(|r| r.scid.block() <= block)
        .collect()
}

/// One direction's record: (capacity sat, base fee msat, fee rate ppm).
type Policy = (u64, u64, u64);

/// One node pair as the paper's preparation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pair {
    /// Endpoints by index, `a < b` (node ids sorted, as the script's `if s > d: swap`).
    a: u32,
    b: u32,
    /// The smallest scid among the pair's channels announced both ways (names the pair).
    scid: ShortChannelId,
    /// Channels of the pair in the dump.
    parts: u32,
    /// Per direction (0: a→b, 1: b→a): the distinct records, in first-seen order (the set
    /// the funded side's record is drawn from).
    distinct: [Vec<Policy>; 2],
    /// Per direction: the first record in the dump (the unfunded side's record).
    first: [Policy; 2],
}

/// A dump read as the paper's preparation reads it, before its coin flips.
#[derive(Debug, Clone)]
pub struct PaperPairs {
    node_ids: Vec<String>,
    pairs: Vec<Pair>,
}

impl PaperPairs {
    /// Group the dump's records into node pairs (records with zero capacity or a loop are
    /// skipped: the script would divide by that capacity).
    pub fn from_records(records: &[DumpRecord]) -> Result<Self, GraphError> {
        let records: Vec<&DumpRecord> = records
            .iter()
            .filter(|r| r.satoshis > 0 && r.source != r.destination)
            .collect();
        let mut per_scid: HashMap<u64, u32> = HashMap::new();
        for r in &records {
            *per_scid.entry(r.scid.to_u64()).or_default() += 1;
        }
        #[derive(Default)]
        struct Building {
            scids: Vec<u64>,
            both_ways: Option<u64>,
            distinct: [Vec<Policy>; 2],
            first: [Option<Policy>; 2],
        }
        let mut by_pair: BTreeMap<(&str, &str), Building> = BTreeMap::new();
        for r in &records {
            let (lo, hi, dir) = if r.source < r.destination {
                (r.source.as_str(), r.destination.as_str(), 0)
            } else {
                (r.destination.as_str(), r.source.as_str(), 1)
            };
            let p = by_pair.entry((lo, hi)).or_default();
            let scid = r.scid.to_u64();
            if !p.scids.contains(&scid) {
                p.scids.push(scid);
            }
            if per_scid[&scid] == 2 {
                p.both_ways = Some(p.both_ways.map_or(scid, |s| s.min(scid)));
            }
            let pol = (r.satoshis, r.base_fee_msat, r.fee_ppm);
            if !p.distinct[dir].contains(&pol) {
                p.distinct[dir].push(pol);
            }
            p.first[dir].get_or_insert(pol);
        }
        by_pair.retain(|_, p| p.both_ways.is_some());
        let mut names: BTreeMap<&str, u32> = BTreeMap::new();
        for (lo, hi) in by_pair.keys() {
            names.insert(lo, 0);
            names.insert(hi, 0);
        }
        for (i, v) in names.values_mut().enumerate() {
            *v = i as u32;
        }
        let pairs: Vec<Pair> = by_pair
            .into_iter()
            .map(|((lo, hi), p)| {
                // A scid with two records has one in each direction (listchannels lists a
                // channel once per direction), so both directions have a first record.
                let [Some(f0), Some(f1)] = p.first else {
                    return Err(GraphError::Field(format!(
                        "short_channel_id {} has two records in one direction",
                        ShortChannelId::from_u64(p.both_ways.unwrap_or(0))
                    )));
                };
                Ok(Pair {
                    a: names[lo],
                    b: names[hi],
                    scid: ShortChannelId::from_u64(p.both_ways.unwrap_or(0)),
                    parts: p.scids.len() as u32,
                    distinct: p.distinct,
                    first: [f0, f1],
                })
            })
            .collect::<Result<_, _>>()?;
        if pairs.is_empty() {
            return Err(GraphError::Empty);
        }
        Ok(PaperPairs {
            node_ids: names.keys().map(|s| s.to_string()).collect(),
            pairs,
        })
    }

    /// Node pairs taking part.
    pub fn pair_count(&self) -> usize {
        self.pairs.len()
    }

    /// Of those, pairs with more than one channel in the dump.
    pub fn parallel_pair_count(&self) -> usize {
        self.pairs.iter().filter(|p| p.parts > 1).count()
    }

    /// Nodes taking part.
    pub fn node_count(&self) -> usize {
        self.node_ids.len()
    }

    /// [`Self::prepare`] for every seed (concurrently), in the seeds' order.
    pub fn prepare_seeds(&self, seeds: &[u64], sample_sources: Option<usize>) -> Vec<PaperStart> {
        seeds
            .par_iter()
            .map(|&s| self.prepare(s, sample_sources))
            .collect()
    }

    /// Seed `seed`'s start, as the script prepares it: coin flips per pair, the funded side's
    /// record drawn, the funded strongly connected component kept, per-direction capacities.
    /// `sample_sources` as in [`crate::paper::prepare`].
    pub fn prepare(&self, seed: u64, sample_sources: Option<usize>) -> PaperStart {
        let mut coin = ChaCha20Rng::seed_from_u64(seed_for(seed, 1, 0));
        let mut pick = ChaCha20Rng::seed_from_u64(seed_for(seed, 6, 0));
        let mut channels = Vec::with_capacity(self.pairs.len());
        let mut local_a = Vec::with_capacity(self.pairs.len());
        let mut caps: HashMap<u64, [u64; 2]> = HashMap::with_capacity(self.pairs.len());
        for p in &self.pairs {
            let funded = if coin.gen_bool(0.5) { 0 } else { 1 };
            let choices = &p.distinct[funded];
            let fund = choices[pick.gen_range(0..choices.len())];
            let other = p.first[1 - funded];
            let mut pol = [fund, fund];
            pol[1 - funded] = other;
            let cap = fund.0.saturating_mul(1000);
            channels.push(GraphChannel {
                a: p.a,
                b: p.b,
                scid: p.scid,
                capacity_msat: cap,
                base_fee_msat: [pol[0].1, pol[1].1],
                fee_ppm: [pol[0].2, pol[1].2],
                parts: p.parts,
            });
            local_a.push(if funded == 0 { cap } else { 0 });
            caps.insert(
                p.scid.to_u64(),
                [pol[0].0.saturating_mul(1000), pol[1].0.saturating_mul(1000)],
            );
        }
        let g = Graph::from_channels(self.node_ids.clone(), channels);
        let (sub, b) = funded_scc(&g, &Balances { local_a });
        // Pairs have distinct scids: carry each one's two capacities into the component.
        let arc_caps: Vec<u64> = sub
            .channels
            .iter()
            .flat_map(|c| caps[&c.scid.to_u64()])
            .collect();
        PaperStart::with_arc_capacities(sub, b, arc_caps, seed, sample_sources)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::LoadOptions;
    use crate::paper::{run, PaperParams, PaperStrategy};

    fn rec(s: &str, d: &str, scid: &str, sat: u64, base: u64) -> DumpRecord {
        DumpRecord {
            source: s.into(),
            destination: d.into(),
            scid: scid.parse().unwrap(),
            satoshis: sat,
            base_fee_msat: base,
            fee_ppm: 1,
        }
    }

    /// A triangle x, y, z (both directions each) where x–y also has a second, smaller
    /// channel, announced both ways, listed first for y→x.
    fn triangle_with_parallel() -> Vec<DumpRecord> {
        vec![
            rec("y", "x", "2x1x0", 100, 7), // the first y→x record: the small channel
            rec("x", "y", "1x1x0", 1000, 1),
            rec("y", "x", "1x1x0", 1000, 2),
            rec("x", "y", "2x1x0", 100, 8),
            rec("y", "z", "1x2x0", 1000, 1),
            rec("z", "y", "1x2x0", 1000, 1),
            rec("z", "x", "1x3x0", 1000, 1),
            rec("x", "z", "1x3x0", 1000, 1),
        ]
    }

    /// Seeds whose funded component is the whole triangle (a directed 3-cycle by coin).
    fn whole_triangles(pp: &PaperPairs) -> Vec<PaperStart> {
        (1..=200)
            .map(|s| pp.prepare(s, None))
            .filter(|st| st.graph.node_count() == 3)
            .collect()
    }

    // The paper's preparation (prepareLightningNetwork.py): the unfunded side takes the first
    // record of its direction, the funded side one of its own: a pair with parallel channels
    // can hold two capacities, and the funds in it are the funded side's.
    #[test]
    fn the_papers_preparation_keeps_one_capacity_per_direction() {
        let pp = PaperPairs::from_records(&triangle_with_parallel()).unwrap();
        assert_eq!((pp.pair_count(), pp.parallel_pair_count()), (3, 1));
        let starts = whole_triangles(&pp);
        assert!(starts.len() > 20, "{}", starts.len());
        let mut two_caps = 0;
        let mut funded_sizes = std::collections::BTreeSet::new();
        for st in &starts {
            let g = &st.graph;
            // x–y is channel 0 (pairs in node-id order: x-y, x-z, y-z).
            assert_eq!((g.channels[0].a, g.channels[0].b), (0, 1));
            let (xy, yx) = (st.arc_capacity_msat(0), st.arc_capacity_msat(1));
            let funded = if st.balances.local_a[0] > 0 { 0 } else { 1 };
            if funded == 0 {
                // y→x unfunded: the first y→x record is the 100-sat channel, fee 7.
                assert_eq!((yx, g.channels[0].base_fee_msat[1]), (100_000, 7));
            } else {
                // x→y unfunded: the first x→y record is the 1,000-sat channel, fee 1.
                assert_eq!((xy, g.channels[0].base_fee_msat[0]), (1_000_000, 1));
            }
            let fund_cap = [xy, yx][funded];
            funded_sizes.insert(fund_cap);
            // The funded side holds its own capacity, and the pair's funds are that, not a sum.
            assert_eq!(st.balances.arc_balance(g, funded as u32), fund_cap);
            assert_eq!(g.channels[0].capacity_msat, fund_cap);
            assert_eq!(g.channels[0].parts, 2);
            two_caps += usize::from(xy != yx);
        }
        assert!(two_caps > 0);
        // The funded side's record is drawn from both parallel channels.
        assert_eq!(
            funded_sizes.into_iter().collect::<Vec<_>>(),
            vec![100_000, 1_000_000]
        );
        // Merging (M02) sums the parallel capacities instead.
        let merged = Graph::from_records(
            triangle_with_parallel(),
            LoadOptions {
                require_both_directions: true,
                ..LoadOptions::default()
            },
        )
        .unwrap();
        assert_eq!(merged.channels[0].capacity_msat, 1_100_000);
    }

    // simulation.py: ζ and ν per direction with that direction's own capacity; a side may hold
    // more than its capacity; runs conserve funds.
    #[test]
    fn per_direction_capacities_reach_the_simulation() {
        let pp = PaperPairs::from_records(&triangle_with_parallel()).unwrap();
        let st = whole_triangles(&pp)
            .into_iter()
            .find(|st| st.balances.local_a[0] == 1_000_000 && st.arc_capacity_msat(1) == 100_000)
            .expect("some seed funds x→y with the big channel");
        let g = &st.graph;
        for u in 0..3u32 {
            let funds: u64 = g
                .arcs(u)
                .iter()
                .map(|a| st.balances.arc_balance(g, a.id))
                .sum();
            let caps: u64 = g.arcs(u).iter().map(|a| st.arc_capacity_msat(a.id)).sum();
            assert!((st.nu[u as usize] - funds as f64 / caps as f64).abs() < 1e-12);
        }
        // y's view of x–y counts 100 sat, so ν_y is not what a shared capacity gives.
        let y_caps: u64 = g.arcs(1).iter().map(|a| st.arc_capacity_msat(a.id)).sum();
        assert_eq!(y_caps, 100_000 + 1_000_000);
        let p = PaperParams {
            rounds: 3,
            ..PaperStrategy::Foaf.params()
        };
        let r1 = run(&st, &p, |_| {});
        let r2 = run(&st, &p, |_| {});
        assert_eq!(r1.final_balances, r2.final_balances);
        assert_eq!(r1.final_balances.node_funds(g), st.balances.node_funds(g));
        assert!(r1.rounds[0].operations > 0);
        // The Ginis use the per-direction ζ: y's side of x–y may exceed 1.
        let zeta_yx = r1.final_balances.arc_balance(g, 1) as f64 / 100_000.0;
        let ginis = st.node_ginis(&r1.final_balances);
        let y_zetas: Vec<f64> = g
            .arcs(1)
            .iter()
            .map(|a| {
                r1.final_balances.arc_balance(g, a.id) as f64 / st.arc_capacity_msat(a.id) as f64
            })
            .collect();
        assert!(
            (ginis[1] - foaf_policy::gini(&y_zetas)).abs() < 1e-12,
            "{zeta_yx}"
        );
    }

    // R: the block filter keeps a channel funded at the limit and drops the next block's.
    #[test]
    fn the_block_filter_keeps_channels_up_to_and_including_the_block() {
        let recs = vec![
            rec("a", "b", "599999x5x0", 10, 1),
            rec("a", "c", "600000x0x1", 10, 1),
            rec("b", "c", "600001x0x0", 10, 1),
        ];
        let kept: Vec<String> = funded_by_block(recs, 600_000)
            .iter()
            .map(|r| r.scid.to_string())
            .collect();
        assert_eq!(kept, ["599999x5x0", "600000x0x1"]);
    }

    #[test]
    fn no_pair_announced_both_ways_is_an_error() {
        let one_way = vec![rec("a", "b", "1x1x0", 10, 1), rec("b", "c", "1x2x0", 10, 1)];
        assert!(matches!(
            PaperPairs::from_records(&one_way),
            Err(GraphError::Empty)
        ));
    }
}
