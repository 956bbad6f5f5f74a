//! `foaf sim sweep` and `foaf sim merge`: the hop-rule ablation as independent shards a batch
//! scheduler can run, and their merge into tables and plots (thin over `foaf_sim::sweep`;
//! docs/simulation.md, "Ablation: the hop rule").

use std::path::PathBuf;

use foaf_sim::sweep::{self, Grid, Knowledge, Setting, Shard, ShardWriter};
use foaf_sim::{Graph, LoadOptions};

use crate::CliError;

/// Arguments of `foaf sim sweep`.
#[derive(clap::Args)]
pub struct SweepArgs {
    /// This shard of the grid, K/N (1 <= K <= N): runs number K-1, K-1+N, K-1+2N, … of the
    /// grid's fixed order. Slurm: --shard $SLURM_ARRAY_TASK_ID/N with --array=1-N.
    #[arg(long, default_value = "1/1", value_name = "K/N")]
    shard: String,
    /// A Core Lightning `listchannels` JSON dump (plain or .gz). Default: the shipped 2021
    /// graph. Channels announced in both directions only, as the paper's preparation.
    #[arg(long, value_name = "FILE", conflicts_with = "synthetic")]
    graph: Option<PathBuf>,
    /// A seeded Barabási–Albert graph of N nodes instead (quick trials).
    #[arg(long, value_name = "N")]
    synthetic: Option<usize>,
    /// Knowledge axis: full (whole-graph cycles ≤ 4), foaf (real messages).
    #[arg(long, value_delimiter = ',', default_value = "full,foaf")]
    knowledge: Vec<String>,
    /// Hop rule axis (R-REB-5 (b)): sender, both-sides, gini-only (foaf only).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "sender,both-sides,gini-only"
    )]
    rules: Vec<String>,
    /// G test axis (R-REB-5 (c)): on, off.
    #[arg(long, value_delimiter = ',', default_value = "on,off")]
    gini_test: Vec<String>,
    /// Amount axis: share of the cycle's smallest room (full) or of the deviation queried
    /// (foaf), each in (0, 1].
    #[arg(long, value_delimiter = ',', default_value = "1,0.5,0.1")]
    amounts: Vec<f64>,
    /// Floor axis: smallest rebalance, sat.
    #[arg(long, value_delimiter = ',', default_value = "1000,1")]
    floors: Vec<u64>,
    /// Effort axis: rounds.
    #[arg(long, value_delimiter = ',', default_value = "10")]
    rounds: Vec<usize>,
    /// Effort axis: cycles per channel and round (full knowledge only).
    #[arg(long, value_delimiter = ',', default_value = "50")]
    max_cycles: Vec<usize>,
    /// Seeds (balances, orders, sampling).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5")]
    seeds: Vec<u64>,
    /// Evaluate the pairs of N seeded sources instead of all pairs (faster, with an interval).
    #[arg(long, value_name = "N")]
    sample_sources: Option<usize>,
    /// Directory for this shard's sweep-K-of-N.csv and sweep-K-of-N-rounds.csv.
    #[arg(long, default_value = "sweep-out", value_name = "DIR")]
    out: PathBuf,
    /// Print this shard's runs and exit, running nothing.
    #[arg(long)]
    list: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// Arguments of `foaf sim merge`.
#[derive(clap::Args)]
pub struct MergeArgs {
    /// Directories holding sweep-K-of-N.csv files (every shard of one grid).
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Where ablation.csv, ablation.md and the plots go (created if missing).
    #[arg(long, default_value = "sweep-out", value_name = "DIR")]
    out: PathBuf,
    /// Merge even if some runs of the grid are missing (they are listed on stderr).
    #[arg(long)]
    allow_missing: bool,
    /// Do not draw PNG/SVG plots.
    #[arg(long)]
    no_plots: bool,
}

fn on_off(s: &str) -> Result<bool, CliError> {
    match s {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err(CliError::BadInput(format!(
            "--gini-test takes on,off, got {s:?}"
        ))),
    }
}

fn grid(a: &SweepArgs) -> Result<Grid, CliError> {
    let bad = |what: &str, s: &str| CliError::BadInput(format!("unknown {what} {s:?}"));
    let g = Grid {
        knowledge: a
            .knowledge
            .iter()
            .map(|s| Knowledge::parse(s).ok_or_else(|| bad("knowledge (full, foaf)", s)))
            .collect::<Result<_, _>>()?,
        rules: a
            .rules
            .iter()
            .map(|s| {
                sweep::parse_rule(s).ok_or_else(|| bad("rule (sender, both-sides, gini-only)", s))
            })
            .collect::<Result<_, _>>()?,
        gini_tests: a
            .gini_test
            .iter()
            .map(|s| on_off(s))
            .collect::<Result<_, _>>()?,
        amounts: a.amounts.clone(),
        floors_sat: a.floors.clone(),
        rounds: a.rounds.clone(),
        max_cycles: a.max_cycles.clone(),
        seeds: a.seeds.clone(),
    };
    g.validate()
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    Ok(g)
}

/// Run `foaf sim sweep`.
pub fn sweep(a: SweepArgs) -> Result<(), CliError> {
    let shard = Shard::parse(&a.shard).map_err(|e| CliError::BadInput(e.to_string()))?;
    let grid = grid(&a)?;
    let runs = shard.select(&grid.runs());
    if a.list {
        return crate::output::to_stdout(|w| {
            for r in &runs {
                writeln!(w, "{}", r.describe())?;
            }
            Ok(())
        });
    }
    // Check the output directory before any long work.
    std::fs::create_dir_all(&a.out)
        .map_err(|e| CliError::Failed(format!("{}: {e}", a.out.display())))?;
    let opts = LoadOptions {
        require_both_directions: true,
        ..LoadOptions::default()
    };
    let (graph, label) = if let Some(n) = a.synthetic {
        if n < 2 {
            return Err(CliError::BadInput(
                "--synthetic needs at least 2 nodes".into(),
            ));
        }
        (Graph::barabasi_albert(n, 4, 1), format!("synthetic:{n}"))
    } else if let Some(p) = &a.graph {
        (
            Graph::load_file(p, opts).map_err(|e| CliError::BadInput(e.to_string()))?,
            p.display().to_string(),
        )
    } else {
        (
            Graph::load_default(opts).map_err(|e| CliError::Failed(e.to_string()))?,
            "default".to_string(),
        )
    };
    let setting = Setting {
        graph_label: label,
        sample_sources: a.sample_sources,
    };
    let fail = |e: foaf_sim::report::ReportError| CliError::Failed(e.to_string());
    let mut w = ShardWriter::create(&a.out, shard, &grid, &setting).map_err(fail)?;
    if !a.quiet {
        eprintln!(
            "shard {}/{}: {} of {} runs, grid {}",
            shard.k,
            shard.n,
            runs.len(),
            grid.runs().len(),
            grid.fingerprint()
        );
    }
    let t0 = std::time::Instant::now();
    for (i, r) in runs.iter().enumerate() {
        let res = sweep::run_one(&graph, &setting, r);
        w.write(&res).map_err(fail)?;
        if !a.quiet {
            let p = &r.point;
            eprintln!(
                "[{}/{}] run {} {} {}{} amount {} floor {} seed {}: {:.1}% ({:.0} s, {:.0} s total)",
                i + 1,
                runs.len(),
                r.index,
                p.knowledge.name(),
                p.rule.name(),
                if p.gini_test { "+G" } else { "" },
                p.amount,
                p.floor_sat,
                r.seed,
                res.result.after.routing.success_rate * 100.0,
                res.result.seconds,
                t0.elapsed().as_secs_f64()
            );
        }
    }
    if !a.quiet {
        for p in w.paths() {
            eprintln!("wrote {}", p.display());
        }
    }
    Ok(())
}

/// Run `foaf sim merge`.
pub fn merge(a: MergeArgs) -> Result<(), CliError> {
    let fail = |e: foaf_sim::report::ReportError| CliError::Failed(e.to_string());
    let files = sweep::shard_files(&a.dirs).map_err(fail)?;
    let m = sweep::merge(&files).map_err(|e| CliError::BadInput(e.to_string()))?;
    if !m.missing.is_empty() {
        let shown: Vec<String> = m.missing.iter().take(20).map(|i| i.to_string()).collect();
        eprintln!(
            "{} of {} runs missing (run indices {}{})",
            m.missing.len(),
            m.runs + m.missing.len(),
            shown.join(", "),
            if m.missing.len() > 20 { ", …" } else { "" }
        );
        if !a.allow_missing {
            return Err(CliError::BadInput(
                "incomplete sweep: run the missing shards, or pass --allow-missing".into(),
            ));
        }
    }
    std::fs::create_dir_all(&a.out)
        .map_err(|e| CliError::Failed(format!("{}: {e}", a.out.display())))?;
    let files_out = sweep::write_merged(&m, &a.out, !a.no_plots).map_err(fail)?;
    let text = sweep::markdown(&m);
    crate::output::to_stdout(|w| w.write_all(text.as_bytes()))?;
    eprintln!(
        "{} runs from {} files, grid {}",
        m.runs,
        files.len(),
        m.grid
    );
    for f in files_out {
        eprintln!("wrote {}", f.display());
    }
    Ok(())
}
