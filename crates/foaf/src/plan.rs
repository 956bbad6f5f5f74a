//! `foaf plan`.

use crate::CliError;

/// Arguments of `foaf plan`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Result<(), CliError> {
    Err(CliError::Failed("plan: not built yet".into()))
}
