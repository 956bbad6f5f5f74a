//! `cargo xtask fuzz`.

use std::process::ExitCode;

/// Arguments of `cargo xtask fuzz`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Result<ExitCode, String> {
    Err("fuzz: not built yet".into())
}
