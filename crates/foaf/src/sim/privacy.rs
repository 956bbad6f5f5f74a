//! `foaf sim privacy`: what replies reveal about a remote channel's balance, obfuscation on and
//! off, against a probing attacker with the same number of messages (thin over
//! `foaf_sim::privacy`).

use foaf_sim::privacy::PrivacyConfig;
use foaf_sim::{report, Balances};

use super::{load, out_dir, written, GraphArgs, InitArg};
use crate::CliError;

/// Arguments of `foaf sim privacy`.
#[derive(clap::Args)]
pub(super) struct PrivacyArgs {
    #[command(flatten)]
    graph: GraphArgs,
    /// (observer, node, channel) triples sampled.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    targets: usize,
    /// Messages per attacker.
    #[arg(long, default_value_t = 30, value_name = "N")]
    messages: usize,
    /// Initial balances (a coin flip puts every channel at 0 or its capacity, which a single
    /// bit reveals, so the default spreads them uniformly).
    #[arg(long, value_enum, default_value_t = InitArg::Uniform)]
    initial: InitArg,
}

pub(super) fn run(a: PrivacyArgs) -> Result<(), CliError> {
    if a.targets == 0 || a.messages == 0 {
        return Err(CliError::BadInput(
            "--targets and --messages need at least 1".into(),
        ));
    }
    out_dir(&a.graph.out)?;
    let g = load(&a.graph)?;
    let b = Balances::initial(&g, a.initial.into(), a.graph.seed);
    let cfg = PrivacyConfig {
        targets: a.targets,
        messages: a.messages,
        seed: a.graph.seed,
    };
    let curves = foaf_sim::privacy::run(&g, &b, &cfg);
    let text = report::privacy_table(&curves);
    crate::output::to_stdout(|w| w.write_all(text.as_bytes()))?;
    let files = report::privacy_outputs(&curves, &a.graph.out, !a.graph.no_plots)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    if !a.graph.quiet {
        written(&files);
    }
    Ok(())
}
