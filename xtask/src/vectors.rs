//! `cargo xtask vectors`.

use std::process::ExitCode;

/// Arguments of `cargo xtask vectors`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Result<ExitCode, String> {
    Err("vectors: not built yet".into())
}
