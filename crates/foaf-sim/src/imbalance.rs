//! The `imbalance` experiment (arXiv 1912.09555): seeded initial balances, metrics, rounds of
//! rebalancing with each strategy, metrics again.

use std::collections::BTreeMap;
use std::time::Instant;

use rayon::prelude::*;

use crate::balances::{Balances, InitialBalance};
use crate::cycles::{CycleConfig, CycleSearch, RoundStats};
use crate::foaf::{FoafConfig, FoafNetwork};
use crate::graph::Graph;
use crate::metrics::{median_f64, node_ginis, target_ratios, Routes, RoutingStats};
use crate::seed::seed_for;

/// A rebalancing strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strategy {
    /// Cycles of length ≤ 4 found with full knowledge of the graph.
    Cycles4,
    /// Cycles of length ≤ 5 found with full knowledge of the graph.
    Cycles5,
    /// Cycles found by exchanging BOLT #14 messages with peers (friend-of-a-friend knowledge).
    Foaf,
}

impl Strategy {
    /// All strategies, in report order.
    pub const ALL: [Strategy; 3] = [Strategy::Cycles4, Strategy::Cycles5, Strategy::Foaf];

    /// The name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Cycles4 => "cycles4",
            Strategy::Cycles5 => "cycles5",
            Strategy::Foaf => "foaf",
        }
    }
}

/// Which part of the graph the experiment runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// The largest connected component (the graph as loaded).
    Connected,
    /// The paper's: after the initial balances are drawn, the largest strongly connected
    /// component of the arcs that hold funds (code/vs/prepareLightningNetwork.py), so every
    /// node can both send and receive.
    FundedScc,
}

/// Parameters of the experiment.
#[derive(Debug, Clone)]
pub struct ImbalanceConfig {
    /// Strategies to run.
    pub strategies: Vec<Strategy>,
    /// Initial balance distributions to start from.
    pub initial: Vec<InitialBalance>,
    /// Master seed.
    pub seed: u64,
    /// Rebalancing rounds per strategy (stops early when a round does nothing).
    pub rounds: usize,
    /// Evaluate all ordered pairs (`None`) or the pairs from a seeded sample of sources.
    pub sample_sources: Option<usize>,
    /// Which component.
    pub component: Component,
    /// The test payment of the success rate, msat (the paper's: 1 sat).
    pub amount_msat: u64,
    /// Cycle search settings for `cycles4` / `cycles5`.
    pub cycles4: CycleConfig,
    /// See `cycles4`.
    pub cycles5: CycleConfig,
    /// FOAF settings.
    pub foaf: FoafConfig,
    /// Draw progress bars on stderr.
    pub progress: bool,
}

impl Default for ImbalanceConfig {
    fn default() -> Self {
        ImbalanceConfig {
            strategies: Strategy::ALL.to_vec(),
            initial: vec![InitialBalance::CoinFlip, InitialBalance::Uniform],
            seed: 1,
            rounds: 10,
            sample_sources: None,
            component: Component::Connected,
            amount_msat: 1000,
            cycles4: CycleConfig::cycles4(),
            cycles5: CycleConfig::cycles5(),
            foaf: FoafConfig::default(),
            progress: false,
        }
    }
}

/// Metrics of one balance state.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Network imbalance G (mean node Gini).
    pub imbalance: f64,
    /// Median node Gini.
    pub median_gini: f64,
    /// Every node's Gini coefficient (for the CDF plot).
    pub ginis: Vec<f64>,
    /// Routing metrics.
    pub routing: RoutingStats,
}

/// The state after a round.
#[derive(Debug, Clone, Copy)]
pub struct CurvePoint {
    /// Round number (0 = before rebalancing).
    pub round: usize,
    /// Cumulative rebalancing figures.
    pub totals: RoundStats,
    /// Network imbalance G.
    pub imbalance: f64,
    /// Success rate.
    pub success_rate: f64,
}

/// One strategy's run from one initial distribution.
#[derive(Debug, Clone)]
pub struct StrategyRun {
    /// The strategy.
    pub strategy: Strategy,
    /// Metrics after the last round.
    pub after: Snapshot,
    /// Per-round progress.
    pub curve: Vec<CurvePoint>,
    /// Totals over all rounds.
    pub totals: RoundStats,
    /// Wall-clock seconds spent rebalancing (not measuring).
    pub seconds: f64,
}

/// Everything measured from one initial distribution.
#[derive(Debug, Clone)]
pub struct DistributionRun {
    /// The initial distribution.
    pub initial: InitialBalance,
    /// Nodes and channels of the graph the run used.
    pub nodes: usize,
    /// Channels (merged).
    pub channels: usize,
    /// Metrics before rebalancing.
    pub before: Snapshot,
    /// One run per strategy.
    pub runs: Vec<StrategyRun>,
}

/// The whole experiment's result.
#[derive(Debug, Clone)]
pub struct ImbalanceResult {
    /// One entry per initial distribution.
    pub distributions: Vec<DistributionRun>,
    /// Seconds spent on everything.
    pub seconds: f64,
}

/// Keep only the largest strongly connected component of the arcs that hold funds.
pub fn funded_scc(g: &Graph, b: &Balances) -> (Graph, Balances) {
    // Iterative Kosaraju on the arcs with a positive balance.
    let n = g.node_count();
    let funded = |arc: u32| b.arc_balance(g, arc) > 0;
    let mut seen = vec![false; n];
    let mut finish: Vec<u32> = Vec::with_capacity(n);
    for s in 0..n as u32 {
        if seen[s as usize] {
            continue;
        }
        seen[s as usize] = true;
        let mut stack = vec![(s, 0usize)];
        while let Some(&mut (u, ref mut i)) = stack.last_mut() {
            let arcs = g.arcs(u);
            if *i < arcs.len() {
                let a = arcs[*i];
                *i += 1;
                if funded(a.id) && !seen[a.head as usize] {
                    seen[a.head as usize] = true;
                    stack.push((a.head, 0));
                }
            } else {
                finish.push(u);
                stack.pop();
            }
        }
    }
    // Second pass on the reverse graph (v -> u is funded: arc id^1 seen from u), in reverse
    // finishing order: each flood is one strongly connected component.
    let (comp, best) = g.flood_components(finish.iter().rev().copied(), |arc| funded(arc ^ 1));
    let keep: Vec<bool> = comp.iter().map(|&c| c == best).collect();
    let (sub, origin) = g.subgraph(&keep);
    let local_a = origin.iter().map(|&c| b.local_a[c as usize]).collect();
    (sub, Balances { local_a })
}

/// Measure a balance state.
pub fn snapshot(g: &Graph, b: &Balances, routes: &Routes, amount_msat: u64) -> Snapshot {
    let ginis = node_ginis(g, b);
    Snapshot {
        imbalance: crate::metrics::mean(&ginis),
        median_gini: median_f64(&ginis),
        routing: routes.evaluate(g, b, amount_msat),
        ginis,
    }
}

/// A distribution's starting point, shared by every strategy run from it.
struct Start {
    initial: InitialBalance,
    g: Graph,
    b0: Balances,
    /// The routes of a funded-SCC component (`None`: the shared ones of the connected graph).
    own_routes: Option<Routes>,
    before: Snapshot,
    nu: Vec<f64>,
}

/// The routes a distribution's runs are measured on: its own (funded SCC), else the shared
/// ones of the connected graph.
fn routes_of<'a>(own: Option<&'a Routes>, shared: Option<&'a Routes>) -> &'a Routes {
    own.or(shared)
        .expect("routes exist for either component choice")
}

/// Run the experiment on `graph`.
///
/// The (distribution, strategy) runs are independent, so they run concurrently (rayon), the
/// longest first (`foaf` is sequential inside: nodes act one after another on shared
/// balances); results are gathered in a fixed order, so the output does not depend on thread
/// timing. Each strategy's `seconds` is the wall time of its rounds while sharing the machine.
pub fn run(graph: &Graph, cfg: &ImbalanceConfig) -> ImbalanceResult {
    let t0 = Instant::now();
    // The cheapest paths depend on the graph only: with the connected component they are
    // shared by every distribution.
    let shared_routes = (cfg.component == Component::Connected).then(|| routes_for(graph, cfg));
    let starts: Vec<Start> = cfg
        .initial
        .iter()
        .enumerate()
        .map(|(di, &initial)| {
            let b0 = Balances::initial(graph, initial, seed_for(cfg.seed, 1, di as u64));
            let (g, b0, own_routes) = match cfg.component {
                Component::Connected => (graph.clone(), b0, None),
                Component::FundedScc => {
                    let (g, b) = funded_scc(graph, &b0);
                    let r = routes_for(&g, cfg);
                    (g, b, Some(r))
                }
            };
            let routes = routes_of(own_routes.as_ref(), shared_routes.as_ref());
            let before = snapshot(&g, &b0, routes, cfg.amount_msat);
            let nu = target_ratios(&g, &b0);
            Start {
                initial,
                g,
                b0,
                own_routes,
                before,
                nu,
            }
        })
        .collect();
    let bars = crate::progress::Bars::new(cfg.progress);
    let mut jobs: Vec<(usize, usize)> = (0..starts.len())
        .flat_map(|di| (0..cfg.strategies.len()).map(move |si| (di, si)))
        .collect();
    // Longest first: FOAF runs dominate, start them before the cycle searches.
    jobs.sort_by_key(|&(di, si)| (cfg.strategies[si] != Strategy::Foaf, di, si));
    let bars_for: Vec<_> = jobs
        .iter()
        .map(|&(di, si)| {
            bars.bar(
                cfg.rounds as u64,
                &format!(
                    "{} from {}",
                    cfg.strategies[si].name(),
                    starts[di].initial.name()
                ),
            )
        })
        .collect();
    let done: Vec<((usize, usize), StrategyRun)> = jobs
        .par_iter()
        .zip(bars_for.par_iter())
        .with_max_len(1)
        .map(|(&(di, si), pb)| {
            let st = &starts[di];
            let routes = routes_of(st.own_routes.as_ref(), shared_routes.as_ref());
            let run = run_strategy(st, routes, cfg.strategies[si], cfg, pb);
            ((di, si), run)
        })
        .collect();
    let mut by_job: BTreeMap<(usize, usize), StrategyRun> = done.into_iter().collect();
    let distributions = starts
        .into_iter()
        .enumerate()
        .map(|(di, st)| DistributionRun {
            initial: st.initial,
            nodes: st.g.node_count(),
            channels: st.g.channel_count(),
            before: st.before,
            runs: (0..cfg.strategies.len())
                .map(|si| by_job.remove(&(di, si)).expect("every job ran"))
                .collect(),
        })
        .collect();
    ImbalanceResult {
        distributions,
        seconds: t0.elapsed().as_secs_f64(),
    }
}

/// Rounds of one strategy from one distribution's start, with the metrics after each.
fn run_strategy(
    st: &Start,
    routes: &Routes,
    strategy: Strategy,
    cfg: &ImbalanceConfig,
    pb: &indicatif::ProgressBar,
) -> StrategyRun {
    let (g, before) = (&st.g, &st.before);
    let mut b = st.b0.clone();
    let mut totals = RoundStats::default();
    let mut curve = vec![CurvePoint {
        round: 0,
        totals,
        imbalance: before.imbalance,
        success_rate: before.routing.success_rate,
    }];
    let mut seconds = 0.0;
    let mut cycle_search;
    let mut foaf_net;
    enum Engine<'a, 'g> {
        Cycles(&'a mut CycleSearch<'g>),
        Foaf(&'a mut FoafNetwork<'g>),
    }
    let mut engine = match strategy {
        Strategy::Cycles4 | Strategy::Cycles5 => {
            let c = if strategy == Strategy::Cycles4 {
                cfg.cycles4
            } else {
                cfg.cycles5
            };
            cycle_search = CycleSearch::new(g, st.nu.clone(), c);
            Engine::Cycles(&mut cycle_search)
        }
        Strategy::Foaf => {
            foaf_net = FoafNetwork::new(g, &b, cfg.foaf.clone(), seed_for(cfg.seed, 2, 0));
            Engine::Foaf(&mut foaf_net)
        }
    };
    for round in 1..=cfg.rounds {
        let t = Instant::now();
        let rs = match &mut engine {
            Engine::Cycles(c) => c.round(&mut b, seed_for(cfg.seed, 3, round as u64)),
            Engine::Foaf(f) => f.round(&mut b),
        };
        seconds += t.elapsed().as_secs_f64();
        totals.add(&rs);
        let ginis = node_ginis(g, &b);
        curve.push(CurvePoint {
            round,
            totals,
            imbalance: crate::metrics::mean(&ginis),
            success_rate: routes.success_rate(g, &b, cfg.amount_msat),
        });
        pb.inc(1);
        if rs.operations == 0 {
            break;
        }
    }
    pb.finish();
    StrategyRun {
        strategy,
        after: snapshot(g, &b, routes, cfg.amount_msat),
        curve,
        totals,
        seconds,
    }
}

fn routes_for(g: &Graph, cfg: &ImbalanceConfig) -> Routes {
    let sources = cfg
        .sample_sources
        .filter(|&k| k < g.node_count())
        .map(|k| Routes::sample_sources(g, k, seed_for(cfg.seed, 4, 0)));
    Routes::compute(g, sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_cfg() -> ImbalanceConfig {
        ImbalanceConfig {
            rounds: 4,
            ..ImbalanceConfig::default()
        }
    }

    #[test]
    fn the_experiment_is_deterministic_for_a_seed_and_improves_the_network() {
        let g = Graph::barabasi_albert(150, 3, 5);
        let a = run(&g, &small_cfg());
        let b = run(&g, &small_cfg());
        for (x, y) in a.distributions.iter().zip(&b.distributions) {
            assert_eq!(x.before.ginis, y.before.ginis);
            for (r, s) in x.runs.iter().zip(&y.runs) {
                assert_eq!(r.after.ginis, s.after.ginis);
                assert_eq!(r.after.routing, s.after.routing);
                assert_eq!(r.totals, s.totals);
            }
        }
        let cf = &a.distributions[0];
        assert_eq!(cf.initial, InitialBalance::CoinFlip);
        for r in &cf.runs {
            assert!(r.totals.operations > 0, "{:?}", r.strategy);
            assert!(r.after.imbalance < cf.before.imbalance, "{:?}", r.strategy);
            assert!(
                r.after.routing.success_rate > cf.before.routing.success_rate,
                "{:?}",
                r.strategy
            );
        }
        let other = run(
            &g,
            &ImbalanceConfig {
                seed: 2,
                ..small_cfg()
            },
        );
        assert_ne!(other.distributions[0].before.ginis, cf.before.ginis);
    }

    #[test]
    fn funded_scc_lets_every_node_send_and_receive() {
        let g = Graph::barabasi_albert(300, 2, 8);
        let b = Balances::initial(&g, InitialBalance::CoinFlip, 1);
        let (s, sb) = funded_scc(&g, &b);
        assert!(s.node_count() > 10 && s.node_count() < g.node_count());
        for u in 0..s.node_count() as u32 {
            let out = s.arcs(u).iter().any(|a| sb.arc_balance(&s, a.id) > 0);
            let inn = s.arcs(u).iter().any(|a| sb.arc_balance(&s, a.id ^ 1) > 0);
            assert!(out && inn, "node {u}");
        }
    }
}
