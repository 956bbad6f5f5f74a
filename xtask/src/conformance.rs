//! `cargo xtask conformance`: the conformance runner of `foaf conformance`
//! ([`foaf_conformance::cli`]: same flags, same report), with our own `foaf pipe` (built on
//! demand) as the default implementation. `--release` builds it in release mode.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use foaf_conformance::cli::{self, DefaultImpl};

use crate::vectors::workspace_root;

/// Arguments of `cargo xtask conformance`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: cli::RunArgs,
    /// Build and test `foaf` in release mode (slower build, faster run).
    #[arg(long)]
    release: bool,
}

/// Builds `foaf` and returns the path of the binary.
pub fn build_foaf(release: bool) -> Result<PathBuf, String> {
    let root = workspace_root();
    let mut args = vec!["build", "--quiet", "-p", "foaf"];
    if release {
        args.push("--release");
    }
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(&args)
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run cargo build: {e}"))?;
    if !status.success() {
        return Err("cargo build -p foaf failed".into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let profile = if release { "release" } else { "debug" };
    Ok(target
        .join(profile)
        .join(format!("foaf{}", std::env::consts::EXE_SUFFIX)))
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let default = if args.run.implementation.is_none() && args.run.needs_implementation() {
        let foaf = build_foaf(args.release)?;
        let profile = if args.release { "release" } else { "debug" };
        Some(DefaultImpl {
            command: format!("{} pipe", shell_quote(&foaf.display().to_string())),
            label: format!("foaf pipe (our own, target/{profile}/foaf)"),
        })
    } else {
        None
    };
    // A failed write of the report, or bad input, ends the run with its own status.
    Ok(cli::run(&args.run, default).unwrap_or_else(|e| e.exit("xtask")))
}

/// Quotes a path for the command line split by `RunOptions::from_command_line`.
pub fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
