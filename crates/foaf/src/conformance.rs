//! `foaf conformance`: the BOLT #14 conformance suite with its vectors built into this binary
//! (`--vectors DIR` reads others), against any implementation that speaks the pipe protocol;
//! by default against this binary's own `foaf pipe`. The runner and its flags are
//! `foaf_conformance::cli`, shared with `cargo xtask conformance`.

use std::process::ExitCode;

use foaf_conformance::cli::{self, DefaultImpl};

/// Arguments of `foaf conformance` (the runner's own).
pub type Args = cli::RunArgs;

/// Runs the suite; the exit code is the runner's (0 met, 1 not met, 2 bad input; a closed
/// stdout 0, another write error 1).
pub fn run(args: Args) -> ExitCode {
    let default = std::env::current_exe().ok().map(|exe| {
        let path = exe.display().to_string();
        DefaultImpl {
            command: format!("{} pipe", quote(&path)),
            label: format!("foaf pipe (this binary, {path})"),
        }
    });
    cli::run(&args, default).unwrap_or_else(|e| e.exit("foaf conformance"))
}

/// Quotes a path for the shell-like split of the `--impl` command line.
fn quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
