//! `foaf sim`.

use crate::CliError;

/// Arguments of `foaf sim`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Result<(), CliError> {
    Err(CliError::Failed("sim: not built yet".into()))
}
