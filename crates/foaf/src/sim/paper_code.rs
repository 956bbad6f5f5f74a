//! `foaf sim paper-code`: the paper's four strategies as its own code runs them, over seeds
//! (thin over `foaf_sim::paper`).

use std::sync::Mutex;

use clap::ValueEnum;
use foaf_sim::paper::{self, HopRule, PaperStrategy};
use foaf_sim::paper_input::{funded_by_block, PaperPairs};
use foaf_sim::{report, Graph, LoadOptions};

use super::{load, out_dir, written, GraphArgs};
use crate::CliError;

/// Arguments of `foaf sim paper-code`.
#[derive(clap::Args)]
pub(super) struct PaperCodeArgs {
    #[command(flatten)]
    graph: GraphArgs,
    /// Strategies to run (the paper's runs: cycles4 = fees_3_5000_strict, cycles5 =
    /// fees_4_5000, foaf = fees_3_5000, mpp = fees_3_5000_mpp).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [PaperStrategyArg::Cycles4, PaperStrategyArg::Cycles5, PaperStrategyArg::Foaf, PaperStrategyArg::Mpp])]
    strategies: Vec<PaperStrategyArg>,
    /// Number of seeds: --seed, --seed + 1, … (each draws its own coin flips and orders).
    #[arg(long, default_value_t = 5, value_name = "N")]
    seeds: u64,
    /// Steps per run (the paper: 150); a run stops early after a step that moved nothing.
    #[arg(long, default_value_t = 150)]
    rounds: usize,
    /// Cycles enumerated per flow arc and step (the paper's code: `cnt > 5000` -> 5001).
    #[arg(long, default_value_t = 5001, value_name = "N")]
    cycles_per_channel: usize,
    /// Smallest amount that moves, sat (the paper's code: 1).
    #[arg(long, default_value_t = 1, value_name = "SAT")]
    floor_sat: u64,
    /// Which hops must agree: the paper's senders only, or receivers too (R-REB-5 (b)).
    #[arg(long, value_enum, default_value_t = HopRuleArg::SenderOnly)]
    hop_rule: HopRuleArg,
    /// Evaluate routing from a seeded sample of N sources instead of all ordered pairs.
    #[arg(long, value_name = "N")]
    sample_sources: Option<usize>,
    /// Experiment: give every channel direction a 1,000 msat base fee (the default that most
    /// of the paper's 2019 graph still had), so cheapest paths become fewest-hop paths.
    #[arg(long)]
    equal_base_fees: bool,
    /// How parallel channels between two nodes enter: `merge` sums them into one channel
    /// (M02); `paper` keeps them as the paper's prepareLightningNetwork.py does: one capacity
    /// per direction, the funded side's from one of the pair's channels (drawn by the seed),
    /// the other side's from the dump's first record in its direction.
    #[arg(long, value_enum, default_value_t = ParallelArg::Merge, conflicts_with_all = ["no_merge", "synthetic"])]
    parallel_channels: ParallelArg,
    /// Keep only channels funded at or before block BLOCK (the block height in the short
    /// channel id), e.g. 600000 (mined 2019-10-19) for the channels of the paper's October
    /// 2019 snapshot that are still in the dump. Needs real short channel ids (the shipped
    /// 2021 graph has them; the 2024 snapshot's are synthetic).
    #[arg(long, value_name = "BLOCK", conflicts_with = "synthetic")]
    funded_by_block: Option<u32>,
    /// Run cycles5 with foaf's amount (the initiator's chosen channel not capped at its
    /// surplus) instead of capping every arc: the paper's `fees_4_5000` run was made after
    /// its code had turned non-strict, and its name lacks the `_strict` of cycles4's run.
    #[arg(long)]
    cycles5_loose: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ParallelArg {
    /// Merge parallel channels into one, capacities summed (M02)
    Merge,
    /// One capacity per direction, as the paper's preparation keeps them
    Paper,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PaperStrategyArg {
    /// Cycles of <= 4 channels, every arc capped at its surplus
    Cycles4,
    /// Cycles of <= 5 channels, every arc capped (see --cycles5-loose)
    Cycles5,
    /// Cycles of <= 4 channels, the initiator's chosen channel not capped
    Foaf,
    /// As foaf, a tenth of the amount
    Mpp,
}

#[derive(Clone, Copy, ValueEnum)]
enum HopRuleArg {
    /// Every hop sends from a channel above its target (the paper's code)
    SenderOnly,
    /// Receivers must also be below their target on the receiving channel
    SenderAndReceiver,
}

impl std::fmt::Display for PaperStrategyArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            self.to_possible_value()
                .expect("no skipped values")
                .get_name(),
        )
    }
}

impl std::fmt::Display for HopRuleArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            self.to_possible_value()
                .expect("no skipped values")
                .get_name(),
        )
    }
}

pub(super) fn run(mut a: PaperCodeArgs) -> Result<(), CliError> {
    if a.seeds == 0 {
        return Err(CliError::BadInput("--seeds needs at least 1".into()));
    }
    super::check_sample(a.sample_sources)?;
    // Fail before a long run, not after it.
    out_dir(&a.graph.out)?;
    // The paper's preparation keeps channels seen in both directions.
    a.graph.both_directions = true;
    let input = load_input(&a)?;
    let mut strategies = a.strategies.clone();
    strategies.dedup();
    let params: Vec<paper::PaperParams> = strategies
        .iter()
        .map(|s| {
            let st = match s {
                PaperStrategyArg::Cycles4 => PaperStrategy::Cycles4,
                PaperStrategyArg::Cycles5 => PaperStrategy::Cycles5,
                PaperStrategyArg::Foaf => PaperStrategy::Foaf,
                PaperStrategyArg::Mpp => PaperStrategy::Mpp,
            };
            paper::PaperParams {
                rounds: a.rounds,
                cycles_per_channel: a.cycles_per_channel,
                floor_msat: a.floor_sat.saturating_mul(1000).max(1),
                hop_rule: match a.hop_rule {
                    HopRuleArg::SenderOnly => HopRule::SenderOnly,
                    HopRuleArg::SenderAndReceiver => HopRule::SenderAndReceiver,
                },
                strict: st.params().strict && !(a.cycles5_loose && st == PaperStrategy::Cycles5),
                ..st.params()
            }
        })
        .collect();
    let seeds: Vec<u64> = (0..a.seeds).map(|i| a.graph.seed.wrapping_add(i)).collect();
    let quiet = a.graph.quiet;
    let mut described = input.describe(a.funded_by_block);
    if a.cycles5_loose {
        described.push_str("; cycles5 with foaf's amount (the chosen channel not capped)");
    }
    if !quiet {
        eprintln!(
            "{described}; {} runs of up to {} steps",
            seeds.len() * params.len(),
            a.rounds
        );
    }
    let done = Mutex::new(0usize);
    let total = seeds.len() * params.len() * a.rounds;
    let on_round = |seed: u64, p: &paper::PaperParams, r: &paper::PaperRound| {
        if quiet {
            return;
        }
        let mut d = done.lock().unwrap_or_else(|e| e.into_inner());
        *d += 1;
        let success = r
            .success_rate
            .map(|s| format!(", success {:.1}%", s * 100.0))
            .unwrap_or_default();
        eprintln!(
            "[{:>5}/{total}] seed {seed} {:<7} step {:>3}: G {:.3}{success}, {} ops",
            *d,
            p.strategy.name(),
            r.round,
            r.imbalance,
            r.cumulative_operations
        );
    };
    let t = match &input {
        Input::Merged(g) => paper::run_table(g, &seeds, &params, a.sample_sources, on_round),
        Input::Pairs(pp) => paper::run_table_from(
            pp.prepare_seeds(&seeds, a.sample_sources),
            &params,
            on_round,
        ),
    };
    let text = format!("input: {described}\n{}", report::paper_table(&t));
    crate::output::to_stdout(|w| w.write_all(text.as_bytes()))?;
    let fail = |e: report::ReportError| CliError::Failed(e.to_string());
    let mut files = report::paper_csv(&t, &a.graph.out).map_err(fail)?;
    // The CSVs carry the run parameters; what the input was goes beside them.
    let note = a.graph.out.join("paper_input.txt");
    std::fs::write(&note, format!("{described}\n"))
        .map_err(|e| CliError::Failed(format!("{}: {e}", note.display())))?;
    files.push(note);
    if !a.graph.no_plots {
        files.extend(report::paper_plots(&t, &a.graph.out).map_err(fail)?);
    }
    if !quiet {
        written(&files);
    }
    Ok(())
}

/// What the runs start from: a merged graph, or the paper's pairs (drawn per seed).
enum Input {
    Merged(Graph),
    Pairs(PaperPairs),
}

impl Input {
    fn describe(&self, block: Option<u32>) -> String {
        let by_block = block
            .map(|b| format!(", channels funded by block {b}"))
            .unwrap_or_default();
        match self {
            Input::Merged(g) => format!(
                "graph: {} nodes, {} channels (both directions announced, parallel channels \
                 merged{by_block})",
                g.node_count(),
                g.channel_count()
            ),
            Input::Pairs(pp) => format!(
                "graph: {} nodes, {} node pairs, {} of them with parallel channels (both \
                 directions announced, parallel channels as the paper's preparation keeps them: \
                 one capacity per direction{by_block})",
                pp.node_count(),
                pp.pair_count(),
                pp.parallel_pair_count()
            ),
        }
    }
}

/// Load the input the flags ask for. Filters and the paper's preparation work on the dump's
/// records (in its order); a synthetic graph or no such option takes the shared loader.
fn load_input(a: &PaperCodeArgs) -> Result<Input, CliError> {
    let paper_pairs = a.parallel_channels == ParallelArg::Paper;
    if a.graph.synthetic.is_some() || (!paper_pairs && a.funded_by_block.is_none()) {
        let mut g = load(&a.graph)?;
        if a.equal_base_fees {
            for c in &mut g.channels {
                c.base_fee_msat = [1000, 1000];
            }
        }
        return Ok(Input::Merged(g));
    }
    let bytes = match &a.graph.graph {
        Some(path) => std::fs::read(path)
            .map_err(|e| CliError::BadInput(format!("--graph {}: {e}", path.display())))?,
        None => foaf_sim::graph::DEFAULT_GRAPH_GZ.to_vec(),
    };
    let bad = |e: foaf_sim::GraphError| CliError::BadInput(e.to_string());
    let mut records = Graph::dump_records(&bytes).map_err(bad)?;
    if let Some(b) = a.funded_by_block {
        records = funded_by_block(records, b);
    }
    if a.equal_base_fees {
        for r in &mut records {
            r.base_fee_msat = 1000;
        }
    }
    let input = if paper_pairs {
        Input::Pairs(PaperPairs::from_records(&records).map_err(bad)?)
    } else {
        Input::Merged(
            Graph::from_records(
                records,
                LoadOptions {
                    merge_parallel: !a.graph.no_merge,
                    require_both_directions: true,
                    ..LoadOptions::default()
                },
            )
            .map_err(bad)?,
        )
    };
    let nodes = match &input {
        Input::Merged(g) => g.node_count(),
        Input::Pairs(pp) => pp.node_count(),
    };
    if nodes < 2 {
        return Err(CliError::BadInput(
            "the graph has fewer than 2 nodes".into(),
        ));
    }
    Ok(input)
}
