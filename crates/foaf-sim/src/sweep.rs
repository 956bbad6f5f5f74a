//! Parameter sweeps that outgrow one machine: a grid of independent runs of the `imbalance`
//! experiment, cut into shards a batch scheduler runs unchanged (`--shard K/N`), and the merge
//! of the shards' CSV files into tables and plots (docs/simulation.md, "Ablation: the hop
//! rule").
//!
//! The grid is the cartesian product of its axes (knowledge × hop rule × G test × amount ×
//! floor × rounds × cycle budget × seed) in a fixed order, so every shard enumerates the same
//! list and takes every N-th run: shard K of N runs the runs whose index ≡ K − 1 (mod N). Each
//! shard writes its own `sweep-K-of-N.csv` (one row per run: every parameter, the seed, the
//! results) and `sweep-K-of-N-rounds.csv` (per round). Every row carries the grid's
//! fingerprint and size, so [`merge`] refuses to mix grids and names the runs that are missing.
//!
//! Combinations that mean nothing are left out of the grid rather than run twice: a
//! whole-graph search cannot follow [`HopRule::GiniOnly`] (no arc filter), and the cycle budget
//! is a parameter of the full-knowledge search only (FOAF runs record 0).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use foaf_policy::HopRule;

use crate::balances::InitialBalance;
use crate::graph::Graph;
use crate::imbalance::{self, Component, ImbalanceConfig, Strategy, StrategyRun};
use crate::report::{self, Figure, ReportError, Series};

/// Who finds the cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Knowledge {
    /// A search of the whole graph (cycles ≤ 4 channels), every node following the hop rule.
    Full,
    /// FOAF: real query/reply messages between peers, the planner, the hop check.
    Foaf,
}

impl Knowledge {
    /// Name in CSV files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Knowledge::Full => "full",
            Knowledge::Foaf => "foaf",
        }
    }

    /// Parses [`Knowledge::name`].
    pub fn parse(s: &str) -> Option<Self> {
        [Knowledge::Full, Knowledge::Foaf]
            .into_iter()
            .find(|k| k.name() == s)
    }
}

/// Parses [`HopRule::name`].
pub fn parse_rule(s: &str) -> Option<HopRule> {
    HopRule::ALL.into_iter().find(|r| r.name() == s)
}

/// One configuration of the grid, without the seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Who finds the cycles.
    pub knowledge: Knowledge,
    /// The balance rule of every hop and initiator (R-REB-5 (b)).
    pub rule: HopRule,
    /// Whether every node's G must strictly drop (R-REB-5 (c)); the FOAF initiator always
    /// tests it (R-REB-4).
    pub gini_test: bool,
    /// The share moved: of the smallest room on a cycle (full), of the deviation queried (FOAF).
    pub amount: f64,
    /// Smallest rebalance, sat.
    pub floor_sat: u64,
    /// Rounds.
    pub rounds: usize,
    /// Cycles per channel and round (full knowledge; 0 for FOAF).
    pub max_cycles: usize,
}

impl Point {
    /// The grouping key of [`merge`]: every parameter, formatted as in the CSV.
    fn key(&self) -> [String; 7] {
        [
            self.knowledge.name().to_string(),
            self.rule.name().to_string(),
            self.gini_test.to_string(),
            format_amount(self.amount),
            self.floor_sat.to_string(),
            self.rounds.to_string(),
            self.max_cycles.to_string(),
        ]
    }
}

fn format_amount(a: f64) -> String {
    format!("{a}")
}

/// One run: a point and a seed, with its index in the grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Run {
    /// Position in [`Grid::runs`].
    pub index: usize,
    /// The configuration.
    pub point: Point,
    /// The seed (balances, orders, sampling).
    pub seed: u64,
}

impl Run {
    /// One line naming the run: its index, every parameter, the seed (`--list`).
    pub fn describe(&self) -> String {
        let [k, r, g, a, f, n, c] = self.point.key();
        format!(
            "{} {k} {r} gini_test={g} amount={a} floor={f} rounds={n} max_cycles={c} seed={}",
            self.index, self.seed
        )
    }
}

/// The axes of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Knowledge axis.
    pub knowledge: Vec<Knowledge>,
    /// Hop rules.
    pub rules: Vec<HopRule>,
    /// G test on/off.
    pub gini_tests: Vec<bool>,
    /// Amount shares, each in (0, 1].
    pub amounts: Vec<f64>,
    /// Floors, sat.
    pub floors_sat: Vec<u64>,
    /// Round counts.
    pub rounds: Vec<usize>,
    /// Cycle budgets (full knowledge).
    pub max_cycles: Vec<usize>,
    /// Seeds.
    pub seeds: Vec<u64>,
}

impl Default for Grid {
    /// The ablation of docs/bolt14.md §4.2.1: 2 × 3 × 2 × 3 × 2 × 1 × 1 points (less the
    /// meaningless ones) × 5 seeds.
    fn default() -> Self {
        Grid {
            knowledge: vec![Knowledge::Full, Knowledge::Foaf],
            rules: HopRule::ALL.to_vec(),
            gini_tests: vec![true, false],
            amounts: vec![1.0, 0.5, 0.1],
            floors_sat: vec![1000, 1],
            rounds: vec![10],
            max_cycles: vec![50],
            seeds: vec![1, 2, 3, 4, 5],
        }
    }
}

/// A grid that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridError(pub String);

impl std::fmt::Display for GridError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GridError {}

impl Grid {
    /// Checks the axes: none empty, amounts in (0, 1], rounds ≥ 1.
    pub fn validate(&self) -> Result<(), GridError> {
        let empty = [
            ("knowledge", self.knowledge.is_empty()),
            ("rules", self.rules.is_empty()),
            ("gini tests", self.gini_tests.is_empty()),
            ("amounts", self.amounts.is_empty()),
            ("floors", self.floors_sat.is_empty()),
            ("rounds", self.rounds.is_empty()),
            ("max cycles", self.max_cycles.is_empty()),
            ("seeds", self.seeds.is_empty()),
        ];
        if let Some((name, _)) = empty.iter().find(|e| e.1) {
            return Err(GridError(format!("the {name} axis is empty")));
        }
        if let Some(a) = self.amounts.iter().find(|a| !(**a > 0.0 && **a <= 1.0)) {
            return Err(GridError(format!("amount {a} is not in (0, 1]")));
        }
        if self.rounds.contains(&0) {
            return Err(GridError("rounds must be at least 1".into()));
        }
        if self.runs().is_empty() {
            return Err(GridError(
                "no run left: gini-only needs --knowledge foaf".into(),
            ));
        }
        Ok(())
    }

    /// Every run, in the fixed order every shard agrees on (seed innermost).
    pub fn runs(&self) -> Vec<Run> {
        let mut out = Vec::new();
        for &knowledge in &self.knowledge {
            for &rule in &self.rules {
                if knowledge == Knowledge::Full && rule == HopRule::GiniOnly {
                    continue;
                }
                for &gini_test in &self.gini_tests {
                    for &amount in &self.amounts {
                        for &floor_sat in &self.floors_sat {
                            for &rounds in &self.rounds {
                                let budgets: &[usize] = match knowledge {
                                    Knowledge::Full => &self.max_cycles,
                                    Knowledge::Foaf => &[0],
                                };
                                for &max_cycles in budgets {
                                    for &seed in &self.seeds {
                                        out.push(Run {
                                            index: out.len(),
                                            point: Point {
                                                knowledge,
                                                rule,
                                                gini_test,
                                                amount,
                                                floor_sat,
                                                rounds,
                                                max_cycles,
                                            },
                                            seed,
                                        });
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// A short fingerprint of the grid (FNV-1a of its canonical text), written on every row so
    /// that shards of different grids are never merged.
    pub fn fingerprint(&self) -> String {
        let text = format!(
            "k={:?};r={:?};g={:?};a={:?};f={:?};n={:?};c={:?};s={:?}",
            self.knowledge,
            self.rules.iter().map(|r| r.name()).collect::<Vec<_>>(),
            self.gini_tests,
            self.amounts,
            self.floors_sat,
            self.rounds,
            self.max_cycles,
            self.seeds
        );
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

/// Which shard of how many: `K/N` with 1 ≤ K ≤ N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, 1-based.
    pub k: usize,
    /// Shard count.
    pub n: usize,
}

impl Shard {
    /// The whole grid.
    pub const ALL: Shard = Shard { k: 1, n: 1 };

    /// Parses `K/N`.
    pub fn parse(s: &str) -> Result<Self, GridError> {
        let bad = || GridError(format!("--shard wants K/N with 1 <= K <= N, got {s:?}"));
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (usize, usize) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }

    /// The runs of this shard: every N-th, starting at K − 1.
    pub fn select(&self, runs: &[Run]) -> Vec<Run> {
        runs.iter()
            .filter(|r| r.index % self.n == self.k - 1)
            .copied()
            .collect()
    }

    /// The file stem of this shard's outputs.
    pub fn stem(&self) -> String {
        format!("sweep-{}-of-{}", self.k, self.n)
    }
}

/// What the runs share.
#[derive(Debug, Clone)]
pub struct Setting {
    /// A label for the graph, written on every row (a file name, "default", "synthetic:N").
    pub graph_label: String,
    /// Evaluate the pairs of a seeded sample of sources instead of all pairs.
    pub sample_sources: Option<usize>,
}

/// One finished run.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The run.
    pub run: Run,
    /// Nodes and channels of the funded component it ran on.
    pub nodes: usize,
    /// Channels.
    pub channels: usize,
    /// Success before rebalancing.
    pub success_before: f64,
    /// The strategy's run (metrics after, per-round curve, totals).
    pub result: StrategyRun,
}

/// The experiment configuration of one run: the paper's setting (funded strongly connected
/// component after coin-flip balances), one strategy.
pub fn config_for(run: &Run, setting: &Setting) -> ImbalanceConfig {
    let p = &run.point;
    let mut cfg = ImbalanceConfig {
        strategies: vec![match p.knowledge {
            Knowledge::Full => Strategy::Cycles4,
            Knowledge::Foaf => Strategy::Foaf,
        }],
        initial: vec![InitialBalance::CoinFlip],
        seed: run.seed,
        rounds: p.rounds,
        sample_sources: setting.sample_sources,
        component: Component::FundedScc,
        ..ImbalanceConfig::default()
    };
    let floor = p.floor_sat.saturating_mul(1000);
    let c = &mut cfg.cycles4;
    // A rule a search cannot follow never reaches here (the grid leaves it out).
    let _ = c.follow(p.rule, p.gini_test);
    c.amount_divisor = (1.0 / p.amount).round().max(1.0) as u64;
    c.min_amount_msat = floor;
    c.max_cycles_per_channel = p.max_cycles.max(1);
    c.paid_middle_hop = cfg.foaf.paid_middle_hop;
    let f = &mut cfg.foaf;
    f.set_rule(p.rule, p.gini_test);
    f.peer.collect.divisor = (1.0 / p.amount).round().max(1.0) as u64;
    f.min_amount_msat = floor;
    f.peer.collect.min_amount_msat = floor;
    f.planner.min_amount_msat = floor;
    cfg
}

/// Runs one point of the grid on `graph`.
pub fn run_one(graph: &Graph, setting: &Setting, run: &Run) -> RunResult {
    let cfg = config_for(run, setting);
    let mut r = imbalance::run(graph, &cfg);
    let d = r.distributions.remove(0);
    RunResult {
        run: *run,
        nodes: d.nodes,
        channels: d.channels,
        success_before: d.before.routing.success_rate,
        result: d.runs.into_iter().next().expect("one strategy ran"),
    }
}

/// The columns of a shard's summary CSV.
pub const SUMMARY_HEADER: &str = "run,runs_total,grid,knowledge,rule,gini_test,amount,floor_sat,\
rounds,max_cycles,seed,graph,nodes,channels,success_before,success,ci_low,ci_high,\
median_payable_sat,median_gini,imbalance,operations,failed,refused_gini,refused_target,\
messages,message_bytes,moved_btc,seconds";

/// The columns of a shard's per-round CSV.
pub const ROUNDS_HEADER: &str =
    "run,grid,seed,round,operations,messages,message_bytes,moved_btc,imbalance,success";

/// Writes shard outputs as runs finish (one line per run, flushed, so a killed job keeps what
/// it finished).
pub struct ShardWriter {
    summary: std::io::BufWriter<std::fs::File>,
    rounds: std::io::BufWriter<std::fs::File>,
    paths: [PathBuf; 2],
    grid: String,
    runs_total: usize,
    graph_label: String,
}

impl ShardWriter {
    /// Creates `<stem>.csv` and `<stem>-rounds.csv` in `dir` with their headers.
    pub fn create(
        dir: &Path,
        shard: Shard,
        grid: &Grid,
        setting: &Setting,
    ) -> Result<Self, ReportError> {
        let paths = [
            dir.join(format!("{}.csv", shard.stem())),
            dir.join(format!("{}-rounds.csv", shard.stem())),
        ];
        let create = |p: &Path| {
            std::fs::File::create(p)
                .map(std::io::BufWriter::new)
                .map_err(report::err(p))
        };
        let mut summary = create(&paths[0])?;
        let mut rounds = create(&paths[1])?;
        writeln!(summary, "{SUMMARY_HEADER}").map_err(report::err(&paths[0]))?;
        writeln!(rounds, "{ROUNDS_HEADER}").map_err(report::err(&paths[1]))?;
        Ok(ShardWriter {
            summary,
            rounds,
            paths,
            grid: grid.fingerprint(),
            runs_total: grid.runs().len(),
            graph_label: setting.graph_label.replace(',', ";"),
        })
    }

    /// The two files.
    pub fn paths(&self) -> &[PathBuf; 2] {
        &self.paths
    }

    /// Appends one run.
    pub fn write(&mut self, r: &RunResult) -> Result<(), ReportError> {
        let p = &r.run.point;
        let a = &r.result.after;
        let t = &r.result.totals;
        let (lo, hi) = a
            .routing
            .ci95
            .unwrap_or((a.routing.success_rate, a.routing.success_rate));
        let [k, rule, g, amount, floor, rounds, cycles] = p.key();
        writeln!(
            self.summary,
            "{},{},{},{k},{rule},{g},{amount},{floor},{rounds},{cycles},{},{},{},{},{:.6},{:.6},{:.6},{:.6},{},{:.6},{:.6},{},{},{},{},{},{},{:.6},{:.3}",
            r.run.index,
            self.runs_total,
            self.grid,
            r.run.seed,
            self.graph_label,
            r.nodes,
            r.channels,
            r.success_before,
            a.routing.success_rate,
            lo,
            hi,
            a.routing.median_payable_msat / 1000,
            a.median_gini,
            a.imbalance,
            t.operations,
            t.failed,
            t.refused_gini,
            t.refused_target,
            t.messages,
            t.message_bytes,
            t.volume_msat as f64 / 1e11,
            r.result.seconds,
        )
        .map_err(report::err(&self.paths[0]))?;
        for c in &r.result.curve {
            writeln!(
                self.rounds,
                "{},{},{},{},{},{},{},{:.6},{:.6},{:.6}",
                r.run.index,
                self.grid,
                r.run.seed,
                c.round,
                c.totals.operations,
                c.totals.messages,
                c.totals.message_bytes,
                c.totals.volume_msat as f64 / 1e11,
                c.imbalance,
                c.success_rate,
            )
            .map_err(report::err(&self.paths[1]))?;
        }
        self.summary.flush().map_err(report::err(&self.paths[0]))?;
        self.rounds.flush().map_err(report::err(&self.paths[1]))
    }
}

/// One configuration's results over its seeds.
#[derive(Debug, Clone)]
pub struct Aggregate {
    /// The parameters (knowledge, rule, G test, amount, floor, rounds, max cycles).
    pub key: [String; 7],
    /// Seeds merged.
    pub seeds: usize,
    /// Mean success after.
    pub success: f64,
    /// 95 % interval of the mean over seeds (Student's t); equal to the mean for one seed.
    pub ci95: (f64, f64),
    /// Mean success before.
    pub success_before: f64,
    /// Means of: median payable (sat), median node G, network G, operations, messages,
    /// seconds.
    pub median_payable_sat: f64,
    /// See `median_payable_sat`.
    pub median_gini: f64,
    /// See `median_payable_sat`.
    pub imbalance: f64,
    /// See `median_payable_sat`.
    pub operations: f64,
    /// See `median_payable_sat`.
    pub messages: f64,
    /// Mean bytes of those messages.
    pub message_bytes: f64,
    /// See `median_payable_sat`.
    pub seconds: f64,
    /// Per round, the mean over seeds of (cumulative operations, G).
    pub curve: Vec<(f64, f64)>,
}

impl Aggregate {
    /// `spent` (mean messages or bytes) per percentage point of success gained; `None`
    /// without a gain or without messages (full knowledge sends none).
    pub fn per_point(&self, spent: f64) -> Option<f64> {
        let gained = (self.success - self.success_before) * 100.0;
        (spent > 0.0 && gained > 0.0).then(|| spent / gained)
    }
}

/// What [`merge`] produced.
#[derive(Debug, Clone)]
pub struct Merged {
    /// One entry per configuration, in grid order.
    pub rows: Vec<Aggregate>,
    /// Runs merged.
    pub runs: usize,
    /// Runs the grid has but no shard file holds (by index).
    pub missing: Vec<usize>,
    /// The grid's fingerprint.
    pub grid: String,
}

/// Mean and 95 % interval of the mean over seeds ([`crate::metrics::mean_ci95`]).
pub fn mean_ci(v: &[f64]) -> (f64, (f64, f64)) {
    let (m, lo, hi) = crate::metrics::mean_ci95(v);
    (m, (lo, hi))
}

/// Reads a CSV written by [`ShardWriter`] into rows of named fields.
fn read_csv(path: &Path, header: &str) -> Result<Vec<BTreeMap<String, String>>, ReportError> {
    let text = std::fs::read_to_string(path).map_err(report::err(path))?;
    let mut lines = text.lines();
    let head = lines.next().unwrap_or_default();
    if head != header {
        return Err(ReportError(format!(
            "{}: not a sweep file of this version (header {head:?})",
            path.display()
        )));
    }
    let names: Vec<&str> = header.split(',').collect();
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != names.len() {
            // A job killed mid-line leaves a short last line: report it, do not guess.
            return Err(ReportError(format!(
                "{}:{}: {} fields, expected {}",
                path.display(),
                i + 2,
                cells.len(),
                names.len()
            )));
        }
        rows.push(
            names
                .iter()
                .zip(cells)
                .map(|(n, c)| (n.to_string(), c.to_string()))
                .collect(),
        );
    }
    Ok(rows)
}

fn num(row: &BTreeMap<String, String>, key: &str, path: &Path) -> Result<f64, ReportError> {
    row.get(key)
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| ReportError(format!("{}: bad {key} in {row:?}", path.display())))
}

/// The shard files (`sweep-*-of-*.csv`, not the per-round ones) in `dirs`, sorted.
pub fn shard_files(dirs: &[PathBuf]) -> Result<Vec<PathBuf>, ReportError> {
    let mut out = Vec::new();
    for d in dirs {
        for e in std::fs::read_dir(d).map_err(report::err(d))? {
            let p = e.map_err(report::err(d))?.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.starts_with("sweep-")
                && name.ends_with(".csv")
                && !name.ends_with("-rounds.csv")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Merges shard files: checks they come from one grid, drops duplicate runs (the same run in
/// two files, e.g. a re-run shard), aggregates each configuration over its seeds.
pub fn merge(files: &[PathBuf]) -> Result<Merged, ReportError> {
    if files.is_empty() {
        return Err(ReportError("no sweep-K-of-N.csv files found".into()));
    }
    let mut grid: Option<(String, usize)> = None;
    let mut by_run: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
    let mut curves: BTreeMap<usize, Vec<(f64, f64)>> = BTreeMap::new();
    for f in files {
        for row in read_csv(f, SUMMARY_HEADER)? {
            let g = row["grid"].clone();
            let total = num(&row, "runs_total", f)? as usize;
            match &grid {
                None => grid = Some((g, total)),
                Some((g0, _)) if *g0 != g => {
                    return Err(ReportError(format!(
                        "{}: grid {g} differs from {g0}: shards of different sweeps",
                        f.display()
                    )))
                }
                _ => {}
            }
            let i = num(&row, "run", f)? as usize;
            by_run.entry(i).or_insert(row);
        }
        let rounds = f.with_file_name(format!(
            "{}-rounds.csv",
            f.file_stem().and_then(|s| s.to_str()).unwrap_or_default()
        ));
        if rounds.exists() {
            for row in read_csv(&rounds, ROUNDS_HEADER)? {
                let i = num(&row, "run", &rounds)? as usize;
                let pt = (
                    num(&row, "operations", &rounds)?,
                    num(&row, "imbalance", &rounds)?,
                );
                let round = num(&row, "round", &rounds)? as usize;
                let c = curves.entry(i).or_default();
                if c.len() == round {
                    c.push(pt);
                }
            }
        }
    }
    let (grid, total) = grid.ok_or_else(|| ReportError("the sweep files hold no runs".into()))?;
    let missing: Vec<usize> = (0..total).filter(|i| !by_run.contains_key(i)).collect();
    // Group by every parameter but the seed, in grid (run index) order.
    let names = [
        "knowledge",
        "rule",
        "gini_test",
        "amount",
        "floor_sat",
        "rounds",
        "max_cycles",
    ];
    let mut groups: Vec<([String; 7], Vec<usize>)> = Vec::new();
    for (i, row) in &by_run {
        let key: [String; 7] = names.map(|n| row[n].clone());
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push(*i),
            None => groups.push((key, vec![*i])),
        }
    }
    let p = &files[0];
    let mut rows = Vec::new();
    for (key, runs) in groups {
        let col = |name: &str| -> Result<Vec<f64>, ReportError> {
            runs.iter().map(|i| num(&by_run[i], name, p)).collect()
        };
        let mean = |name: &str| -> Result<f64, ReportError> { Ok(mean_ci(&col(name)?).0) };
        let (success, (lo, hi)) = mean_ci(&col("success")?);
        // A share: an interval from few seeds can reach past [0, 1]; clip it there.
        let ci95 = (lo.max(0.0), hi.min(1.0));
        let longest = runs
            .iter()
            .filter_map(|i| curves.get(i).map(Vec::len))
            .max()
            .unwrap_or(0);
        // A run that stopped early (nothing moved) stays at its last point.
        let curve = (0..longest)
            .map(|k| {
                let pts: Vec<(f64, f64)> = runs
                    .iter()
                    .filter_map(|i| curves.get(i))
                    .filter_map(|c| c.get(k).or(c.last()).copied())
                    .collect();
                let n = pts.len().max(1) as f64;
                (
                    pts.iter().map(|p| p.0).sum::<f64>() / n,
                    pts.iter().map(|p| p.1).sum::<f64>() / n,
                )
            })
            .collect();
        rows.push(Aggregate {
            key,
            seeds: runs.len(),
            success,
            ci95,
            success_before: mean("success_before")?,
            median_payable_sat: mean("median_payable_sat")?,
            median_gini: mean("median_gini")?,
            imbalance: mean("imbalance")?,
            operations: mean("operations")?,
            messages: mean("messages")?,
            message_bytes: mean("message_bytes")?,
            seconds: mean("seconds")?,
            curve,
        });
    }
    Ok(Merged {
        rows,
        runs: by_run.len(),
        missing,
        grid,
    })
}

fn label(key: &[String; 7]) -> String {
    let [k, rule, g, amount, floor, rounds, cycles] = key;
    let g = if g == "true" { "+G" } else { "" };
    let budget = if k == "full" {
        format!(", {cycles} cyc/ch")
    } else {
        String::new()
    };
    format!("{k} {rule}{g}, amt {amount}, floor {floor} sat, {rounds} rds{budget}")
}

/// The merged table as Markdown (what docs/simulation.md shows).
pub fn markdown(m: &Merged) -> String {
    let mut out = String::from(
        "| knowledge | hop rule | G test | amount | floor [sat] | rounds | cycles/ch | seeds | success (95 % CI) | median payable [sat] | median G | G | operations | messages |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in &m.rows {
        let [k, rule, g, amount, floor, rounds, cycles] = &r.key;
        let cycles = if k == "foaf" { "—" } else { cycles.as_str() };
        let ci = if r.seeds > 1 {
            format!(
                "{:.1} % [{:.1}, {:.1}]",
                r.success * 100.0,
                r.ci95.0 * 100.0,
                r.ci95.1 * 100.0
            )
        } else {
            format!("{:.1} %", r.success * 100.0)
        };
        out.push_str(&format!(
            "| {k} | {rule} | {} | {amount} | {floor} | {rounds} | {cycles} | {} | {ci} | {:.0} | {:.3} | {:.3} | {:.0} | {:.0} |\n",
            if g == "true" { "yes" } else { "no" },
            r.seeds,
            r.median_payable_sat,
            r.median_gini,
            r.imbalance,
            r.operations,
            r.messages,
        ));
    }
    out
}

/// Writes `ablation.csv`, `ablation.md` and the plots `ablation_success.{png,svg}` (success
/// with its interval per configuration) and `ablation_g_vs_operations.{png,svg}` (G against
/// log10(1 + cumulative operations), one line per configuration), and for the configurations
/// that send messages (FOAF) `ablation_messages_per_point` and `ablation_bytes_per_point`
/// (what one point of success gained cost) into `dir`.
pub fn write_merged(m: &Merged, dir: &Path, plots: bool) -> Result<Vec<PathBuf>, ReportError> {
    let csv = dir.join("ablation.csv");
    let mut w = std::fs::File::create(&csv)
        .map(std::io::BufWriter::new)
        .map_err(report::err(&csv))?;
    let io = report::err(&csv);
    (|| -> std::io::Result<()> {
        writeln!(w, "knowledge,rule,gini_test,amount,floor_sat,rounds,max_cycles,seeds,success,ci_low,ci_high,success_before,median_payable_sat,median_gini,imbalance,operations,messages,seconds,message_bytes,messages_per_point,bytes_per_point")?;
        for r in &m.rows {
            let per = |spent: f64| {
                r.per_point(spent)
                    .map(|x| format!("{x:.1}"))
                    .unwrap_or_default()
            };
            writeln!(
                w,
                "{},{},{:.6},{:.6},{:.6},{:.6},{:.0},{:.6},{:.6},{:.0},{:.0},{:.3},{:.0},{},{}",
                r.key.join(","),
                r.seeds,
                r.success,
                r.ci95.0,
                r.ci95.1,
                r.success_before,
                r.median_payable_sat,
                r.median_gini,
                r.imbalance,
                r.operations,
                r.messages,
                r.seconds,
                r.message_bytes,
                per(r.messages),
                per(r.message_bytes),
            )?;
        }
        w.flush()
    })()
    .map_err(io)?;
    let md = dir.join("ablation.md");
    std::fs::write(&md, markdown(m)).map_err(report::err(&md))?;
    let mut files = vec![csv, md];
    if plots && !m.rows.is_empty() {
        // Success per configuration: a dot at the mean and a vertical interval, configurations
        // along x in table order (the legend names them).
        let series: Vec<Series> = m
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Series::line(
                    format!("{}: {}", i + 1, label(&r.key)),
                    vec![(i as f64 + 1.0, r.ci95.0), (i as f64 + 1.0, r.ci95.1)],
                )
            })
            .collect();
        Figure::new(
            "ablation_success",
            "Success after rebalancing, 95 % interval over seeds",
        )
        .x("configuration (legend)", 0.0..(m.rows.len() as f64 + 1.0))
        .y("success rate", 0.0..1.0)
        .plot(dir, &series, &mut files)?;
        let series: Vec<Series> = m
            .rows
            .iter()
            .map(|r| {
                Series::line(
                    label(&r.key),
                    r.curve
                        .iter()
                        .map(|&(ops, g)| ((1.0 + ops).log10(), g))
                        .collect(),
                )
            })
            .collect();
        let max_x = m
            .rows
            .iter()
            .flat_map(|r| r.curve.iter().map(|&(ops, _)| (1.0 + ops).log10()))
            .fold(1.0f64, f64::max);
        Figure::new(
            "ablation_g_vs_operations",
            "Network imbalance G against rebalancing operations",
        )
        .x("log10(1 + cumulative operations)", 0.0..max_x.ceil())
        .y("G (mean node Gini)", 0.0..0.6)
        .plot(dir, &series, &mut files)?;
        // The price of FOAF's knowledge: per configuration that sends messages, what one point
        // of success cost, against the points gained.
        for (what, bytes, unit) in [
            ("messages", false, "messages per point"),
            ("bytes", true, "bytes per point"),
        ] {
            let series: Vec<Series> = m
                .rows
                .iter()
                .filter_map(|r| {
                    let spent = if bytes { r.message_bytes } else { r.messages };
                    let per = r.per_point(spent)?;
                    let gained = (r.success - r.success_before) * 100.0;
                    Some(Series::markers(label(&r.key), vec![(gained, per)]))
                })
                .collect();
            if series.is_empty() {
                continue;
            }
            Figure::new(
                format!("ablation_{what}_per_point"),
                format!("FOAF {what} per success point gained, per configuration"),
            )
            .x(
                "success gained (percentage points)",
                0.0..report::largest(&series, |p| p.0).ceil(),
            )
            .y(unit, 0.0..report::largest(&series, |p| p.1) * 1.1)
            .plot(dir, &series, &mut files)?;
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Grid {
        Grid {
            knowledge: vec![Knowledge::Full, Knowledge::Foaf],
            rules: vec![HopRule::Sender, HopRule::GiniOnly],
            gini_tests: vec![true],
            amounts: vec![1.0, 0.5],
            floors_sat: vec![1],
            rounds: vec![2],
            max_cycles: vec![5, 50],
            seeds: vec![1, 2],
        }
    }

    /// The grid leaves out what cannot run, the shards partition it, and every shard sees the
    /// same list.
    #[test]
    fn shards_partition_the_grid() {
        let g = tiny();
        let runs = g.runs();
        // full: sender only (gini-only has no search), 2 amounts × 2 budgets × 2 seeds = 8;
        // foaf: 2 rules × 2 amounts × 2 seeds = 8.
        assert_eq!(runs.len(), 16);
        assert!(runs
            .iter()
            .all(|r| !(r.point.knowledge == Knowledge::Full && r.point.rule == HopRule::GiniOnly)));
        assert!(runs
            .iter()
            .filter(|r| r.point.knowledge == Knowledge::Foaf)
            .all(|r| r.point.max_cycles == 0));
        for n in 1..=5 {
            let mut seen: Vec<usize> = (1..=n)
                .flat_map(|k| Shard { k, n }.select(&runs))
                .map(|r| r.index)
                .collect();
            seen.sort();
            assert_eq!(seen, (0..runs.len()).collect::<Vec<_>>(), "{n} shards");
        }
        assert_eq!(Shard::parse("2/3"), Ok(Shard { k: 2, n: 3 }));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        let mut other = tiny();
        other.seeds.push(3);
        assert_ne!(g.fingerprint(), other.fingerprint());
        assert_eq!(g.fingerprint(), tiny().fingerprint());
    }

    /// Two shards run separately on a small synthetic graph, then merged: the merged table
    /// has every configuration once with all its seeds; a missing shard is reported; a file of
    /// another grid is refused.
    #[test]
    fn shards_merge_into_one_table() {
        let graph = Graph::barabasi_albert(80, 3, 5);
        let setting = Setting {
            graph_label: "synthetic:80".into(),
            sample_sources: None,
        };
        let mut grid = tiny();
        grid.rules = vec![HopRule::Sender];
        grid.max_cycles = vec![5];
        let dir = std::env::temp_dir().join(format!("foaf-sweep-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let runs = grid.runs();
        assert_eq!(runs.len(), 8);
        for k in 1..=2 {
            let shard = Shard { k, n: 2 };
            let mut w = ShardWriter::create(&dir, shard, &grid, &setting).unwrap();
            for r in shard.select(&runs) {
                w.write(&run_one(&graph, &setting, &r)).unwrap();
            }
        }
        let files = shard_files(std::slice::from_ref(&dir)).unwrap();
        assert_eq!(files.len(), 2);
        let m = merge(&files).unwrap();
        assert_eq!((m.runs, m.missing.len()), (8, 0));
        assert_eq!(m.rows.len(), 4);
        assert!(m.rows.iter().all(|r| r.seeds == 2 && !r.curve.is_empty()));
        assert!(m.rows.iter().all(|r| r.success >= r.success_before - 1e-9));
        let out = write_merged(&m, &dir, false).unwrap();
        let md = std::fs::read_to_string(&out[1]).unwrap();
        assert_eq!(md.lines().count(), 2 + 4, "{md}");
        // Only the first shard: half the runs are missing, by index.
        let m1 = merge(&files[..1]).unwrap();
        assert_eq!(m1.missing, vec![1, 3, 5, 7]);
        // A shard of another grid is refused.
        let mut other = grid.clone();
        other.seeds = vec![9];
        let odir = dir.join("other");
        std::fs::create_dir_all(&odir).unwrap();
        let mut w = ShardWriter::create(&odir, Shard::ALL, &other, &setting).unwrap();
        w.write(&run_one(&graph, &setting, &other.runs()[0]))
            .unwrap();
        drop(w);
        let mut mixed = files.clone();
        mixed.extend(shard_files(&[odir]).unwrap());
        assert!(merge(&mixed).unwrap_err().0.contains("different sweeps"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
