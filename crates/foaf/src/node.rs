//! `foaf node`.

use crate::CliError;

/// Arguments of `foaf node`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Result<(), CliError> {
    Err(CliError::Failed("node: not built yet".into()))
}
