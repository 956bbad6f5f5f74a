//! `foaf pipe`.

use crate::CliError;

/// Arguments of `foaf pipe`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Result<(), CliError> {
    Err(CliError::Failed("pipe: not built yet".into()))
}
