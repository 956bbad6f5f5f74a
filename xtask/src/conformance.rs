//! `cargo xtask conformance`: replays the conformance vectors against an implementation that
//! speaks the pipe protocol (by default our own `foaf pipe`, built on demand), prints a table
//! per requirement id and `N passed, N failed`, optionally writes JUnit XML; `--mutation`
//! instead runs the suite against every fault switch of `foaf pipe` and prints the mutation
//! score.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use foaf_conformance::mutation::{self, Fault};
use foaf_conformance::{files, run_parallel, Report, RunOptions};

use crate::vectors::{vectors_dir, workspace_root};

/// Arguments of `cargo xtask conformance`.
#[derive(clap::Args)]
pub struct Args {
    /// The implementation to test: a command line that speaks the pipe protocol on
    /// stdin/stdout. Default: our own `foaf pipe` (built with `cargo build -p foaf`).
    #[arg(long = "impl", value_name = "CMD ARGS…")]
    implementation: Option<String>,
    /// Directory of vectors (default: vectors/conformance).
    #[arg(long, value_name = "DIR")]
    vectors: Option<PathBuf>,
    /// Only vectors whose requirement id starts with one of these comma-separated prefixes,
    /// or whose name is one of them (e.g. `W`, `V02,V03`).
    #[arg(long, value_name = "ID")]
    filter: Option<String>,
    /// Also write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Longest wait for one op's `done`, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    timeout_ms: u64,
    /// Run the suite against every `--fault` of `foaf pipe` (or of --impl, which must accept
    /// `--list-faults` and `--fault NAME`) and report which faults the vectors catch.
    #[arg(long)]
    mutation: bool,
    /// Vectors run at once, each against its own process (default: the number of CPUs).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
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
    Ok(target
        .join("debug")
        .join(format!("foaf{}", std::env::consts::EXE_SUFFIX)))
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let (command, label) = match &args.implementation {
        Some(c) => (c.clone(), c.clone()),
        None => {
            let foaf = build_foaf(args.release)?;
            let profile = if args.release { "release" } else { "debug" };
            (
                format!("{} pipe", shell_quote(&foaf.display().to_string())),
                format!("foaf pipe (our own, target/{profile}/foaf)"),
            )
        }
    };
    let mut opts = RunOptions::from_command_line(&command)?;
    opts.op_timeout = Duration::from_millis(args.timeout_ms);
    let dir = args.vectors.clone().unwrap_or_else(vectors_dir);
    let mut vectors = files::load_dir(&dir)?;
    if let Some(f) = &args.filter {
        vectors = files::select(vectors, f);
    }
    if vectors.is_empty() {
        return Err(format!("no vectors selected in {}", dir.display()));
    }

    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    if args.mutation {
        return run_mutation(&opts, &vectors, jobs);
    }

    println!("implementation: {label}");
    println!(
        "vectors:        {} from {}",
        vectors.len(),
        dir.strip_prefix(workspace_root()).unwrap_or(&dir).display()
    );
    println!();
    let start = Instant::now();
    let results = run_parallel(&opts, &vectors, jobs);
    let report = Report {
        results,
        elapsed: start.elapsed(),
    };
    print!("{}", report.table());
    let details = report.details();
    if !details.is_empty() {
        println!();
        print!("{details}");
    }
    println!();
    println!("{}", report.summary_line());
    if let Some(path) = &args.junit {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(path, report.junit()).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(if report.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn run_mutation(
    opts: &RunOptions,
    vectors: &[foaf_conformance::Vector],
    jobs: usize,
) -> Result<ExitCode, String> {
    let faults: Vec<Fault> = mutation::list_faults(opts)?;
    if faults.is_empty() {
        return Err("the implementation lists no faults (--list-faults)".into());
    }
    println!("{:<28} {:<10} {:>7}  verdict", "fault", "ids", "failed");
    let start = Instant::now();
    let outcomes = mutation::run_faults(opts, vectors, &faults, jobs);
    let mut caught = 0;
    for o in &outcomes {
        let verdict = if o.caught() {
            caught += 1;
            "caught"
        } else if o.tested == 0 {
            "NO VECTOR"
        } else {
            "MISSED"
        };
        println!(
            "{:<28} {:<10} {:>3}/{:<3}  {verdict}",
            o.fault.name,
            o.fault.requirements.join(","),
            o.failed,
            o.tested
        );
    }
    println!();
    println!(
        "mutation score: {caught}/{} faults caught ({:.2} s)",
        outcomes.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(if caught == outcomes.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Quotes a path for the command line split by `RunOptions::from_command_line`.
fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
