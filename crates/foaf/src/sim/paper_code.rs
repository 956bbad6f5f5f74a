//! `foaf sim paper-code`: the paper's four strategies as its own code runs them, over seeds
//! (thin over `foaf_sim::paper`).

use std::sync::Mutex;

use clap::ValueEnum;
use foaf_sim::paper::{self, HopRule, PaperStrategy};
use foaf_sim::report;

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
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PaperStrategyArg {
    /// Cycles of <= 4 channels, every arc capped at its surplus
    Cycles4,
    /// Cycles of <= 5 channels, every arc capped
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
    let mut g = load(&a.graph)?;
    if a.equal_base_fees {
        for c in &mut g.channels {
            c.base_fee_msat = [1000, 1000];
        }
    }
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
                ..st.params()
            }
        })
        .collect();
    let seeds: Vec<u64> = (0..a.seeds).map(|i| a.graph.seed.wrapping_add(i)).collect();
    let quiet = a.graph.quiet;
    if !quiet {
        eprintln!(
            "graph: {} nodes, {} channels (both directions announced); {} runs of up to {} steps",
            g.node_count(),
            g.channel_count(),
            seeds.len() * params.len(),
            a.rounds
        );
    }
    let done = Mutex::new(0usize);
    let total = seeds.len() * params.len() * a.rounds;
    let t = paper::run_table(&g, &seeds, &params, a.sample_sources, |seed, p, r| {
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
    });
    let text = report::paper_table(&t);
    crate::output::to_stdout(|w| w.write_all(text.as_bytes()))?;
    let fail = |e: report::ReportError| CliError::Failed(e.to_string());
    let mut files = report::paper_csv(&t, &a.graph.out).map_err(fail)?;
    if !a.graph.no_plots {
        files.extend(report::paper_plots(&t, &a.graph.out).map_err(fail)?);
    }
    if !quiet {
        written(&files);
    }
    Ok(())
}
