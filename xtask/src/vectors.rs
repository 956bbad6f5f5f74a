//! `cargo xtask vectors`: writes the conformance vectors (one JSON file per scenario of
//! `foaf_conformance::scenarios`) under `vectors/conformance/`, or with `--check` fails when
//! the committed files differ from what the scenarios generate.

use std::path::PathBuf;
use std::process::ExitCode;

use foaf_conformance::{files, scenarios};

/// Arguments of `cargo xtask vectors`.
#[derive(clap::Args)]
pub struct Args {
    /// Do not write: exit non-zero if any committed vector is missing, stale or extra.
    #[arg(long)]
    check: bool,
}

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// Where the conformance vectors live.
pub fn vectors_dir() -> PathBuf {
    workspace_root().join("vectors").join("conformance")
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let vectors = scenarios::all();
    let dir = vectors_dir();
    if args.check {
        let stale = files::stale(&dir, &vectors);
        if stale.is_empty() {
            println!("{} vectors up to date in {}", vectors.len(), dir.display());
            return Ok(ExitCode::SUCCESS);
        }
        for s in &stale {
            eprintln!("{s}");
        }
        eprintln!("vectors are stale: run `cargo xtask vectors` and commit the result");
        return Ok(ExitCode::FAILURE);
    }
    let changed = files::write_all(&dir, &vectors)?;
    println!(
        "{} vectors in {} ({changed} written)",
        vectors.len(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed vectors are what the scenarios generate (the rust-analyzer pattern: the
    /// test fails until `cargo xtask vectors` is run and the result committed).
    #[test]
    fn committed_vectors_are_fresh() {
        let stale = files::stale(&vectors_dir(), &scenarios::all());
        assert!(
            stale.is_empty(),
            "stale vectors (run `cargo xtask vectors`): {stale:#?}"
        );
    }
}
