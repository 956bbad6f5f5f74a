//! `foaf sim`: network simulations on a channel graph (thin over `foaf-sim`).

use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};
use foaf_policy::{HopRule, OutCap};
use foaf_sim::foaf::{FoafConfig, ReplyPolicyChoice};
use foaf_sim::imbalance::{Component, ImbalanceConfig, Strategy};
use foaf_sim::payments::{Mode, PaymentsConfig};
use foaf_sim::{report, Graph, InitialBalance, LoadOptions};

use crate::CliError;

mod paper_code;
mod privacy;

/// Arguments of `foaf sim`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    experiment: Experiment,
}

#[derive(Subcommand)]
enum Experiment {
    /// Reproduce arXiv 1912.09555: metrics before/after proactive rebalancing with cycles of
    /// length ≤ 4, ≤ 5, and FOAF (nodes exchanging real query/reply_foaf_balances messages).
    Imbalance(ImbalanceArgs),
    /// A seeded payment stream compared under: no rebalancing, FOAF proactive rebalancing, JIT
    /// routing, and both.
    Payments(PaymentsArgs),
    /// The paper's own simulation code (cycles4, cycles5, foaf, mpp: sender-only cycles, its
    /// amounts, 5,001 cycles per channel, a 1-sat floor, 150 steps) over several seeds, with
    /// 95% intervals next to the paper's figures.
    PaperCode(paper_code::PaperCodeArgs),
    /// What replies reveal of a remote channel's balance, obfuscation on and off, against a
    /// probing attacker spending the same number of messages.
    Privacy(privacy::PrivacyArgs),
    /// The hop-rule ablation as a grid of independent runs (knowledge × rule × G test ×
    /// amount × floor × effort × seed); --shard K/N runs one shard and writes its own CSV.
    Sweep(crate::sweep::SweepArgs),
    /// Merge the CSV files of a sweep's shards into ablation.csv, ablation.md and plots.
    Merge(crate::sweep::MergeArgs),
}

/// Where the graph comes from (shared by both experiments).
#[derive(clap::Args)]
struct GraphArgs {
    /// A Core Lightning `listchannels` JSON dump (plain or .gz). Default: the shipped mainnet
    /// graph of 2021-04-16 (data/topo-20210416.json.gz, built into the binary).
    #[arg(long, value_name = "FILE", conflicts_with = "synthetic")]
    graph: Option<PathBuf>,
    /// Use a seeded Barabási–Albert scale-free graph of N nodes instead (scale tests).
    #[arg(long, value_name = "N")]
    synthetic: Option<usize>,
    /// Channels each new node opens in the synthetic graph.
    #[arg(long, default_value_t = 4, value_name = "M")]
    synthetic_m: usize,
    /// Keep parallel channels between two nodes apart instead of merging them (M02 merges).
    #[arg(long)]
    no_merge: bool,
    /// Keep only channels announced in both directions (the paper's preparation); by default a
    /// one-direction channel uses its one fee policy both ways.
    #[arg(long)]
    both_directions: bool,
    /// Seed of every random choice (balances, orders, payments, sampling).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Directory for CSV files and plots (created if missing).
    #[arg(long, default_value = "sim-out", value_name = "DIR")]
    out: PathBuf,
    /// Do not draw PNG/SVG plots.
    #[arg(long)]
    no_plots: bool,
    /// Hide the progress bars.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum InitArg {
    /// The paper's: the whole capacity to one end, by a coin flip.
    Coinflip,
    /// One end's share uniform in [0, capacity].
    Uniform,
    /// Half each (balanced start).
    Half,
}

impl From<InitArg> for InitialBalance {
    fn from(a: InitArg) -> Self {
        match a {
            InitArg::Coinflip => InitialBalance::CoinFlip,
            InitArg::Uniform => InitialBalance::Uniform,
            InitArg::Half => InitialBalance::Half,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum StrategyArg {
    /// Cycles of length ≤ 4, full graph knowledge.
    Cycles4,
    /// Cycles of length ≤ 5, full graph knowledge.
    Cycles5,
    /// Partners found only through query/reply_foaf_balances between peers.
    Foaf,
}

#[derive(Clone, Copy, ValueEnum)]
enum ComponentArg {
    /// The largest connected component of the graph.
    Connected,
    /// The paper's: the largest strongly connected component of the funded directions, after
    /// the initial balances are drawn.
    FundedScc,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    None,
    Foaf,
    Jit,
    Both,
}

/// Arguments of `foaf sim imbalance`.
#[derive(clap::Args)]
struct ImbalanceArgs {
    #[command(flatten)]
    graph: GraphArgs,
    /// Strategies to run.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [StrategyArg::Cycles4, StrategyArg::Cycles5, StrategyArg::Foaf])]
    strategies: Vec<StrategyArg>,
    /// Initial balance distributions.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [InitArg::Coinflip, InitArg::Uniform])]
    initial: Vec<InitArg>,
    /// Which part of the graph to simulate.
    #[arg(long, value_enum, default_value_t = ComponentArg::Connected)]
    component: ComponentArg,
    /// Rebalancing rounds per strategy (stops early when a round does nothing).
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    /// Evaluate the pairs from a seeded sample of N sources (with a 95% confidence interval)
    /// instead of all ordered pairs.
    #[arg(long, value_name = "N")]
    sample_sources: Option<usize>,
    /// Cycles tried per channel and round by cycles4/cycles5 (the paper: up to 5000).
    #[arg(long, default_value_t = 50)]
    max_cycles: usize,
    /// Run cycles4/cycles5 under the paper code's rule: only senders must be above target, no
    /// node's G is tested (receivers may overshoot). By default they run the former both-sides
    /// rule without the G test (fast); with --hop-rule they follow that rule with the G test at
    /// every node (unless --lenient-hops), like FOAF.
    #[arg(long)]
    non_strict: bool,
    /// The paper's setup in one flag: --component funded-scc --both-directions --initial
    /// coinflip, and --non-strict unless --hop-rule is given (then cycles4/cycles5 follow that
    /// rule, the G test included, like FOAF; FOAF always keeps the protocol's rules).
    #[arg(long)]
    paper: bool,
    /// cycles4/cycles5 move this share of the smallest room on a cycle, in (0, 1] (the
    /// paper's multi-path runs: 0.1).
    #[arg(long, default_value_t = 1.0, value_name = "F")]
    cycle_amount: f64,
    #[command(flatten)]
    foaf: FoafArgs,
}

/// How the simulated FOAF nodes behave (both experiments).
#[derive(clap::Args)]
struct FoafArgs {
    /// The reply policy every node runs: the pinned default (A01), or forward-aware (list only
    /// moves the node's own zero-fee hop check would accept, its channel with the querier
    /// included).
    #[arg(long, value_enum, default_value_t = ReplyPolicyArg::Default)]
    reply_policy: ReplyPolicyArg,
    /// Experiment, not conformant: hops forward a rebalance that passes --hop-rule without
    /// also demanding that their imbalance G strictly drops (R-REB-5 (c)); the cycle
    /// strategies skip the G test too. Measures what that rule costs.
    #[arg(long)]
    lenient_hops: bool,
    /// The balance rule of R-REB-5 (b) for every hop and initiator (docs/bolt14.md §4.2):
    /// `sender` (pinned: the outgoing side sheds surplus, the incoming side is free),
    /// `both-sides` (the rule before it: the incoming side must also move toward its target)
    /// or `gini-only` (experiment: only the G test; foaf only).
    #[arg(long, value_enum)]
    hop_rule: Option<HopRuleArg>,
    /// The query amount as a share of the peer's deviation from target, in (0, 1]: the node
    /// asks for ⌊deviation × F⌋ rounded to a divisor, ⌊deviation / round(1/F)⌋
    /// (docs/bolt14.md R-CM-4 pins a tenth).
    #[arg(long, value_name = "F")]
    query_fraction: Option<f64>,
    /// Collections and plans per initiator's turn: after a plan moved its balances the node
    /// queries its sources and sinks again and plans on the new offers, up to N times.
    #[arg(long, value_name = "N")]
    plans_per_turn: Option<usize>,
    /// Most rebalances in one plan (R-REB-4; default 32).
    #[arg(long, value_name = "N")]
    max_rebalances: Option<usize>,
    /// Queries a collection sends at most (R-CM-4): half to the sources with the largest
    /// surplus (flow Push), half to the sinks with the largest deficit (flow Receive).
    /// Default: the node's.
    #[arg(long, value_name = "N")]
    max_queries: Option<usize>,
    /// The smallest query a collection sends, in satoshis (R-CM-4): a tenth below it is
    /// raised to it, a peer deviating by less is not asked. Default: the planner's floor
    /// (1,000 sat).
    #[arg(long, value_name = "SAT")]
    min_query_sat: Option<u64>,
    /// Seconds before a collection queries a peer again when nothing changed (R-CM-4;
    /// default 600).
    #[arg(long, value_name = "SECS")]
    requery_after: Option<u64>,
    /// What the initiator may send on its own first channel (R-REB-1): `surplus` (never below
    /// its target) or `balance` (the peer must start above target; any amount that lowers G).
    /// The cycle strategies follow it for their first channel too.
    #[arg(long, value_enum)]
    initiator_out_cap: Option<OutCapArg>,
    /// Experiment: the initiator may take a peer it comes back from past its target (no sink
    /// cap on the returning leg, R-REB-1).
    #[arg(long)]
    no_sink_cap: bool,
    /// The middle hop of a 4-cycle is routed on its real channel and paid its fee
    /// (docs/bolt14.md §4.2.1, R-REB-2; the default) instead of running the zero-fee check;
    /// cycles4 under --hop-rule follows it (the paper code's rule has no paid hop).
    #[arg(long, conflicts_with = "fee_free_middle_hop")]
    paid_middle_hop: bool,
    /// Experiment (the simulation before 2026-12-01): the middle hop of a 4-cycle forwards at
    /// zero fee and runs the hop check like A and B.
    #[arg(long)]
    fee_free_middle_hop: bool,
}

/// `foaf_policy::OutCap`.
#[derive(Clone, Copy, ValueEnum)]
enum OutCapArg {
    /// At most the surplus of the peer the rebalance leaves to
    Surplus,
    /// At most our balance with it, once it is above target
    Balance,
}

impl From<OutCapArg> for OutCap {
    fn from(a: OutCapArg) -> Self {
        match a {
            OutCapArg::Surplus => OutCap::Surplus,
            OutCapArg::Balance => OutCap::Balance,
        }
    }
}

/// R-REB-5 (b) variants (`foaf_policy::HopRule`).
#[derive(Clone, Copy, ValueEnum)]
enum HopRuleArg {
    /// Outgoing peer above target and not taken below it; incoming side free (pinned)
    Sender,
    /// Both peers toward their target, neither past it
    BothSides,
    /// No balance condition, only the G test (experiment)
    GiniOnly,
}

impl From<HopRuleArg> for HopRule {
    fn from(a: HopRuleArg) -> Self {
        match a {
            HopRuleArg::Sender => HopRule::Sender,
            HopRuleArg::BothSides => HopRule::BothSides,
            HopRuleArg::GiniOnly => HopRule::GiniOnly,
        }
    }
}

impl FoafArgs {
    fn apply(&self, cfg: &mut FoafConfig) -> Result<(), CliError> {
        let rule = self.hop_rule.map_or(HopRule::default(), HopRule::from);
        cfg.set_rule(rule, !self.lenient_hops);
        if let Some(f) = self.query_fraction {
            if !(f > 0.0 && f <= 1.0) {
                return Err(CliError::BadInput(format!(
                    "--query-fraction wants a share in (0, 1], got {f}"
                )));
            }
            cfg.peer.collect.divisor = (1.0 / f).round().max(1.0) as u64;
        }
        if let Some(n) = self.plans_per_turn {
            if n == 0 {
                return Err(CliError::BadInput(
                    "--plans-per-turn needs at least 1".into(),
                ));
            }
            cfg.plans_per_turn = n;
        }
        if let Some(n) = self.max_queries {
            if n < 2 {
                return Err(CliError::BadInput(
                    "--max-queries needs at least 2 (one Push, one Receive)".into(),
                ));
            }
            cfg.peer.collect.max_per_flow = n / 2;
        }
        if let Some(sat) = self.min_query_sat {
            cfg.peer.collect.min_amount_msat = sat.saturating_mul(1000);
        }
        if let Some(secs) = self.requery_after {
            cfg.peer.collect.requery_after_secs = secs;
        }
        if let Some(n) = self.max_rebalances {
            if n == 0 {
                return Err(CliError::BadInput(
                    "--max-rebalances needs at least 1".into(),
                ));
            }
            cfg.planner.max_rebalances = n;
        }
        if let Some(c) = self.initiator_out_cap {
            cfg.planner.out_cap = c.into();
        }
        cfg.planner.sink_cap = !self.no_sink_cap;
        if self.paid_middle_hop || self.fee_free_middle_hop {
            cfg.paid_middle_hop = self.paid_middle_hop;
        }
        cfg.reply_policy = match self.reply_policy {
            ReplyPolicyArg::Default => ReplyPolicyChoice::Default,
            ReplyPolicyArg::ForwardAware => ReplyPolicyChoice::ForwardAware,
        };
        Ok(())
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ReplyPolicyArg {
    /// The pinned default policy (A01)
    Default,
    /// Only moves this node would forward at zero fee
    ForwardAware,
}

/// Arguments of `foaf sim payments`.
#[derive(clap::Args)]
struct PaymentsArgs {
    #[command(flatten)]
    graph: GraphArgs,
    /// Number of payments.
    #[arg(long, default_value_t = 5000)]
    payments: usize,
    /// Smallest payment in sat (sizes are log-uniform between --min-sat and --max-sat).
    #[arg(long, default_value_t = 1_000)]
    min_sat: u64,
    /// Largest payment in sat.
    #[arg(long, default_value_t = 1_000_000)]
    max_sat: u64,
    /// Route attempts per payment (the sender excludes the failing channel each time).
    #[arg(long, default_value_t = 5)]
    attempts: usize,
    /// Payments between two proactive FOAF rounds.
    #[arg(long, default_value_t = 500)]
    rebalance_every: usize,
    /// Initial balance distribution.
    #[arg(long, value_enum, default_value_t = InitArg::Uniform)]
    initial: InitArg,
    /// Modes to compare.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [ModeArg::None, ModeArg::Foaf, ModeArg::Jit, ModeArg::Both])]
    modes: Vec<ModeArg>,
    #[command(flatten)]
    foaf: FoafArgs,
}

impl std::fmt::Display for StrategyArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            self.to_possible_value()
                .expect("no skipped values")
                .get_name(),
        )
    }
}
impl std::fmt::Display for InitArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            self.to_possible_value()
                .expect("no skipped values")
                .get_name(),
        )
    }
}
impl std::fmt::Display for ComponentArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            self.to_possible_value()
                .expect("no skipped values")
                .get_name(),
        )
    }
}
impl std::fmt::Display for ModeArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            self.to_possible_value()
                .expect("no skipped values")
                .get_name(),
        )
    }
}

fn load(a: &GraphArgs) -> Result<Graph, CliError> {
    let opts = LoadOptions {
        merge_parallel: !a.no_merge,
        require_both_directions: a.both_directions,
        ..LoadOptions::default()
    };
    let g = if let Some(n) = a.synthetic {
        if n < 2 {
            return Err(CliError::BadInput(
                "--synthetic needs at least 2 nodes".into(),
            ));
        }
        // A Barabási–Albert graph has no parallel channels: nothing to merge.
        Graph::barabasi_albert(n, a.synthetic_m, a.seed)
    } else if let Some(path) = &a.graph {
        Graph::load_file(path, opts).map_err(|e| CliError::BadInput(e.to_string()))?
    } else {
        Graph::load_default(opts).map_err(|e| CliError::Failed(e.to_string()))?
    };
    if g.node_count() < 2 {
        return Err(CliError::BadInput(
            "the graph has fewer than 2 nodes".into(),
        ));
    }
    Ok(g)
}

/// Create the output directory and check it takes files: called before a run, so a bad
/// `--out` fails in a second, not after the whole simulation.
fn out_dir(p: &Path) -> Result<(), CliError> {
    let bad = |e: std::io::Error| CliError::BadInput(format!("--out {}: {e}", p.display()));
    std::fs::create_dir_all(p).map_err(bad)?;
    let probe = p.join(format!(".foaf-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(bad)?;
    std::fs::remove_file(&probe).map_err(bad)
}

/// `--sample-sources 0` would measure nothing (a 0 % success rate that means nothing).
fn check_sample(n: Option<usize>) -> Result<(), CliError> {
    if n == Some(0) {
        return Err(CliError::BadInput(
            "--sample-sources needs at least 1 source".into(),
        ));
    }
    Ok(())
}

fn written(files: &[PathBuf]) {
    for f in files {
        eprintln!("wrote {}", f.display());
    }
}

/// Run `foaf sim …`.
pub fn run(args: Args) -> Result<(), CliError> {
    match args.experiment {
        Experiment::Imbalance(a) => imbalance(a),
        Experiment::Payments(a) => payments(a),
        Experiment::PaperCode(a) => paper_code::run(a),
        Experiment::Privacy(a) => privacy::run(a),
        Experiment::Sweep(a) => crate::sweep::sweep(a),
        Experiment::Merge(a) => crate::sweep::merge(a),
    }
}

fn imbalance(mut a: ImbalanceArgs) -> Result<(), CliError> {
    if a.paper {
        a.component = ComponentArg::FundedScc;
        a.graph.both_directions = true;
        a.initial = vec![InitArg::Coinflip];
        a.non_strict = a.non_strict || a.foaf.hop_rule.is_none();
    }
    if !(a.cycle_amount > 0.0 && a.cycle_amount <= 1.0) {
        return Err(CliError::BadInput(format!(
            "--cycle-amount wants a share in (0, 1], got {}",
            a.cycle_amount
        )));
    }
    check_sample(a.sample_sources)?;
    out_dir(&a.graph.out)?;
    let g = load(&a.graph)?;
    let mut cfg = ImbalanceConfig {
        strategies: a
            .strategies
            .iter()
            .map(|s| match s {
                StrategyArg::Cycles4 => Strategy::Cycles4,
                StrategyArg::Cycles5 => Strategy::Cycles5,
                StrategyArg::Foaf => Strategy::Foaf,
            })
            .collect(),
        initial: a.initial.iter().map(|&i| i.into()).collect(),
        seed: a.graph.seed,
        rounds: a.rounds,
        sample_sources: a.sample_sources,
        component: match a.component {
            ComponentArg::Connected => Component::Connected,
            ComponentArg::FundedScc => Component::FundedScc,
        },
        progress: !a.graph.quiet,
        ..ImbalanceConfig::default()
    };
    cfg.strategies.dedup();
    cfg.cycles4.max_cycles_per_channel = a.max_cycles;
    cfg.cycles5.max_cycles_per_channel = a.max_cycles;
    for c in [&mut cfg.cycles4, &mut cfg.cycles5] {
        if a.non_strict {
            c.paper_rule();
        } else if let Some(rule) = a.foaf.hop_rule {
            if !c.follow(rule.into(), !a.foaf.lenient_hops)
                && cfg.strategies.iter().any(|s| *s != Strategy::Foaf)
            {
                return Err(CliError::BadInput(
                    "--hop-rule gini-only runs with --strategies foaf only (a whole-graph cycle \
                 search needs the sender filter)"
                        .into(),
                ));
            }
        }
    }
    a.foaf.apply(&mut cfg.foaf)?;
    // Under a protocol hop rule the cycle strategies are "full knowledge, the same rule":
    // the initiator's first leg and a 4-cycle's middle hop as FOAF's.
    let protocol = a.foaf.hop_rule.is_some() && !a.non_strict;
    for c in [&mut cfg.cycles4, &mut cfg.cycles5] {
        c.amount_divisor = (1.0 / a.cycle_amount).round().max(1.0) as u64;
        if protocol || a.foaf.initiator_out_cap.is_some() {
            c.cap_first = cfg.foaf.planner.out_cap == OutCap::Surplus;
        }
        // The paper code's rule has no paid hop: every arc on its cycles sheds surplus.
        if protocol {
            c.paid_middle_hop = cfg.foaf.paid_middle_hop;
        }
    }
    if !a.graph.quiet {
        eprintln!(
            "graph: {} nodes, {} channels, {:.2} BTC",
            g.node_count(),
            g.channel_count(),
            g.total_capacity_msat() as f64 / 1e11
        );
    }
    let r = foaf_sim::imbalance::run(&g, &cfg);
    let table = format!(
        "{}total time {:.1} s (seed {})\n",
        report::imbalance_table(&r),
        r.seconds,
        cfg.seed
    );
    finish(
        &a.graph,
        &table,
        |dir| report::imbalance_csv(&r, dir),
        |dir| report::imbalance_plots(&r, dir),
    )
}

/// Prints a run's table, then writes its CSV files and (unless `--no-plots`) its plots to
/// `--out`, listing them on stderr (unless `--quiet`). A closed stdout still leaves the run's
/// files to write.
fn finish(
    a: &GraphArgs,
    table: &str,
    csv: impl FnOnce(&Path) -> Result<Vec<PathBuf>, report::ReportError>,
    plots: impl FnOnce(&Path) -> Result<Vec<PathBuf>, report::ReportError>,
) -> Result<(), CliError> {
    crate::output::to_stdout(|out| out.write_all(table.as_bytes()))?;
    let fail = |e: report::ReportError| CliError::Failed(e.to_string());
    let mut files = csv(&a.out).map_err(fail)?;
    if !a.no_plots {
        files.extend(plots(&a.out).map_err(fail)?);
    }
    if !a.quiet {
        written(&files);
    }
    Ok(())
}

fn payments(a: PaymentsArgs) -> Result<(), CliError> {
    if a.min_sat == 0 || a.max_sat < a.min_sat {
        return Err(CliError::BadInput("need 0 < --min-sat <= --max-sat".into()));
    }
    out_dir(&a.graph.out)?;
    let g = load(&a.graph)?;
    let mut cfg = PaymentsConfig {
        count: a.payments,
        min_sat: a.min_sat,
        max_sat: a.max_sat,
        seed: a.graph.seed,
        attempts: a.attempts.max(1),
        rebalance_every: a.rebalance_every.max(1),
        initial: a.initial.into(),
        modes: a
            .modes
            .iter()
            .map(|m| match m {
                ModeArg::None => Mode::None,
                ModeArg::Foaf => Mode::Foaf,
                ModeArg::Jit => Mode::Jit,
                ModeArg::Both => Mode::Both,
            })
            .collect(),
        progress: !a.graph.quiet,
        ..PaymentsConfig::default()
    };
    a.foaf.apply(&mut cfg.foaf)?;
    let r = foaf_sim::payments::run(&g, &cfg);
    let table = format!("{}seed {}\n", report::payments_table(&r), cfg.seed);
    finish(
        &a.graph,
        &table,
        |dir| report::payments_csv(&r, dir),
        |dir| report::payments_plots(&r, dir),
    )
}
