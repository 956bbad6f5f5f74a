//! The conformance runner's command line, shared by `foaf conformance` (the installed binary,
//! vectors embedded) and `cargo xtask conformance` (the project's checkout): one [`RunArgs`], one
//! [`run`], so both take the same flags and print the same report.
//!
//! Exit status: 0 when the run meets `--require`, 1 when it does not (or a fault escaped
//! `--mutation`), 2 on bad input (an unknown vector, a skip matching nothing, …).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::mutation::{self, Fault};
use crate::requirements::{children, level_of, Level, REQUIREMENTS, UMBRELLAS};
use crate::runner::{run_vector, run_with_progress, Outcome, TranscriptLine, VectorResult};
use crate::vector::{Pattern, Vector};
use crate::{files, scenarios, Report, RunOptions};

/// The report goes to stdout through these; a failed write ends the command with a
/// [`CliError`] (`?`), which the binary turns into its exit status: a closed stdout (`| head`)
/// is a normal end (status 0), any other write error one line on stderr and status 1. The
/// runner's children are stopped by their own drop guards either way.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::write_stdout(format_args!($($arg)*), false)? };
}
macro_rules! outln {
    ($($arg:tt)*) => { $crate::cli::write_stdout(format_args!($($arg)*), true)? };
}

/// Writes to stdout and flushes (the report is read as it is written).
#[doc(hidden)]
pub fn write_stdout(args: std::fmt::Arguments<'_>, newline: bool) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| {
            if newline {
                out.write_all(b"\n")
            } else {
                Ok(())
            }
        })
        .and_then(|()| out.flush())
        .map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => CliError::StdoutClosed,
            _ => CliError::Stdout(e),
        })
}

/// Why the command ended without a verdict of its own.
#[derive(Debug)]
pub enum CliError {
    /// The run could not be made (a bad skip file, no such vector, …): status 2.
    BadInput(String),
    /// The report could not be written (a full disk, …): status 1.
    Stdout(io::Error),
    /// The reader closed stdout (`| head`): a normal end, status 0.
    StdoutClosed,
}

impl From<String> for CliError {
    fn from(msg: String) -> Self {
        CliError::BadInput(msg)
    }
}

impl From<&str> for CliError {
    fn from(msg: &str) -> Self {
        CliError::BadInput(msg.to_owned())
    }
}

impl CliError {
    /// Prints the error's one line on stderr as `PROGRAM: …` (nothing for a closed stdout) and
    /// returns the exit status the command ends with.
    pub fn exit(self, program: &str) -> ExitCode {
        match self {
            CliError::BadInput(msg) => {
                eprintln!("{program}: {msg}");
                ExitCode::from(2)
            }
            CliError::Stdout(e) => {
                eprintln!("{program}: cannot write to stdout: {e}");
                ExitCode::FAILURE
            }
            CliError::StdoutClosed => ExitCode::SUCCESS,
        }
    }
}

/// Options of `foaf conformance` / `cargo xtask conformance`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// The implementation to test: a command line that speaks the pipe protocol on
    /// stdin/stdout (docs/conformance-pipe.md). Default: our own `foaf pipe`.
    #[arg(long = "impl", value_name = "CMD ARGS…")]
    pub implementation: Option<String>,
    /// Read the vectors from this directory instead of the set built into this binary.
    #[arg(long, value_name = "DIR")]
    pub vectors: Option<PathBuf>,
    /// Only vectors whose requirement id starts with one of these comma-separated prefixes,
    /// or whose name is one of them (e.g. `W`, `V02,V03`).
    #[arg(long, value_name = "ID")]
    pub filter: Option<String>,
    /// Exit status: fail only when a check at this level or a more binding one fails
    /// (must < should < may < pinned; `pinned` demands everything).
    #[arg(long, value_name = "LEVEL", default_value = "pinned", value_parser = parse_level)]
    pub require: Level,
    /// Skip what this file lists: one vector name or requirement id and a reason per line
    /// (`#` comments). Skipped is not passed: it is counted and listed with the reason. A line
    /// matching nothing is an error.
    #[arg(long, value_name = "FILE")]
    pub skip: Option<PathBuf>,
    /// Write the report as JSON (per vector, per expectation: id, level, result, message).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the results as JUnit XML (one testcase per vector).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// List the vectors (name, the ids and levels they check, description) and exit.
    #[arg(long)]
    pub list: bool,
    /// Run one vector and print every op line sent and effect line received: the op lines
    /// replay with `foaf pipe < FILE` (other lines start with `#`).
    #[arg(long, value_name = "NAME")]
    pub transcript: Option<String>,
    /// Longest wait for one op's `done`, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub timeout_ms: u64,
    /// Run the suite against every `--fault` of the implementation (`--list-faults`) and report
    /// which faults the vectors catch, and which ids have no fault.
    #[arg(long)]
    pub mutation: bool,
    /// Vectors run at once, each against its own process (default: the number of CPUs).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// No progress lines on stderr.
    #[arg(long)]
    pub quiet: bool,
}

fn parse_level(s: &str) -> Result<Level, String> {
    s.parse()
}

impl RunArgs {
    /// Whether this run starts an implementation (everything but `--list`).
    pub fn needs_implementation(&self) -> bool {
        !self.list
    }
}

/// The implementation tested when `--impl` is not given.
#[derive(Debug, Clone)]
pub struct DefaultImpl {
    /// Its command line.
    pub command: String,
    /// How the report names it.
    pub label: String,
}

/// The verdict's exit status, or why there is none ([`CliError::exit`]).
pub type CliResult = Result<ExitCode, CliError>;

/// Runs the command. `default` is used when `--impl` is absent (and is not needed for
/// `--list`).
pub fn run(args: &RunArgs, default: Option<DefaultImpl>) -> CliResult {
    let (mut vectors, source) = match &args.vectors {
        Some(dir) => (files::load_dir(dir)?, dir.display().to_string()),
        None => (scenarios::all(), "built in".to_string()),
    };
    files::validate(&vectors)?;
    let version = files::suite_version(&vectors);
    if let Some(f) = &args.filter {
        vectors = files::select(vectors, f);
    }
    if vectors.is_empty() {
        return Err(format!("no vectors selected ({source})").into());
    }
    if args.list {
        print_list(&vectors, &version, &source)?;
        return Ok(ExitCode::SUCCESS);
    }
    let (command, label) = match (&args.implementation, default) {
        (Some(c), _) => (c.clone(), c.clone()),
        (None, Some(d)) => (d.command, d.label),
        (None, None) => return Err("no implementation given (--impl)".into()),
    };
    let mut opts = RunOptions::from_command_line(&command)?;
    opts.op_timeout = Duration::from_millis(args.timeout_ms);
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));

    if let Some(name) = &args.transcript {
        let v = vectors
            .iter()
            .find(|v| v.name == *name)
            .ok_or_else(|| format!("no vector named {name:?} (see --list)"))?;
        opts.record = true;
        return print_transcript(&run_vector(&opts, v), &label, &version);
    }
    if args.mutation {
        return run_mutation(&opts, &vectors, jobs, args.quiet);
    }

    let skips = match &args.skip {
        Some(p) => parse_skips(p)?,
        None => Vec::new(),
    };
    let (run_these, skipped_vectors, skipped_ids) = apply_skips(&vectors, &skips)?;

    outln!("implementation: {label}");
    outln!("suite:          foaf-conformance {version}");
    outln!("vectors:        {} ({source})", vectors.len());
    outln!("require:        {}", args.require);
    outln!("");
    let start = Instant::now();
    let finished = AtomicUsize::new(0);
    let total = run_these.len();
    let progress = |r: &VectorResult| {
        let n = finished.fetch_add(1, Ordering::Relaxed) + 1;
        if !args.quiet {
            let verdict = match r.outcome {
                Outcome::Pass => "pass",
                Outcome::Fail(_) => "FAIL",
                Outcome::NotApplicable(_) => "n/a",
                Outcome::Skipped(_) => "skip",
            };
            eprintln!(
                "[{n:>3}/{total}] {verdict:<4} {} ({:.2} s)",
                r.name,
                r.elapsed.as_secs_f64()
            );
        }
    };
    let ran = run_with_progress(&opts, &run_these, jobs, &progress);
    // Results in the vectors' order, skipped ones included.
    let mut ran = ran.into_iter();
    let mut results = Vec::with_capacity(vectors.len());
    for v in &vectors {
        match skipped_vectors.iter().find(|(n, _)| *n == v.name) {
            Some((_, why)) => results.push(VectorResult::skipped(v, why)),
            None => {
                let mut r = ran.next().expect("one result per vector run");
                r.skip_ids(&skipped_ids);
                results.push(r);
            }
        }
    }
    let report = Report {
        results,
        elapsed: start.elapsed(),
        suite_version: version,
        implementation: label,
    };
    out!("{}", report.table());
    outln!("");
    out!("{}", report.level_summary());
    let details = report.details();
    if !details.is_empty() {
        outln!("");
        out!("{details}");
    }
    outln!("");
    outln!("{}", report.summary_line());
    let meets = report.meets(args.require);
    outln!(
        "require {}: {}",
        args.require,
        if meets { "met" } else { "NOT met" }
    );
    if let Some(path) = &args.junit {
        write_file(path, &report.junit())?;
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report.json(args.require))
            .map_err(|e| format!("JSON report: {e}"))?;
        write_file(path, &(text + "\n"))?;
    }
    Ok(if meets {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The (id, level) pairs a vector checks, in order.
fn checked_levels(v: &Vector) -> Vec<(String, Level)> {
    let mut out: Vec<(String, Level)> = Vec::new();
    let mut add = |id: &str, level: Option<Level>| {
        let l = level_of(id, level);
        if !out.iter().any(|(i, x)| i == id && *x == l) {
            out.push((id.to_owned(), l));
        }
    };
    for st in &v.steps {
        add(&st.id, None);
        for p in &st.expect {
            add(p.id(), p.level());
            if let Pattern::Send { also, .. } = p {
                for c in also {
                    add(&c.id, c.level);
                }
            }
            if let Pattern::Rebalance { exact: Some(x), .. } = p {
                add(&x.id, x.level);
            }
            if let Pattern::Plan { checks, .. } = p {
                for c in checks {
                    add(&c.id, c.level);
                }
            }
        }
        if let Some(s) = &st.same_effects_as {
            add(&s.id, None);
        }
    }
    for inv in &v.invariants {
        add(inv.id(), None);
    }
    out
}

fn print_list(vectors: &[Vector], version: &str, source: &str) -> Result<(), CliError> {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# foaf-conformance {version}: {} vectors ({source})",
        vectors.len()
    );
    let _ = writeln!(s, "# name  ids checked (level)  description");
    for v in vectors {
        let ids: Vec<String> = checked_levels(v)
            .into_iter()
            .map(|(id, l)| format!("{id}({})", l.as_str()))
            .collect();
        let _ = writeln!(s, "{}  {}  {}", v.name, ids.join(" "), v.description);
    }
    out!("{s}");
    Ok(())
}

/// Prints one vector's exchange. Op lines are verbatim (so `foaf pipe < FILE` replays them);
/// every other line is a `#` comment. Exit status as for a run of that vector alone.
fn print_transcript(r: &VectorResult, label: &str, version: &str) -> CliResult {
    let mut s = String::new();
    let _ = writeln!(s, "# foaf-conformance {version}: transcript of {}", r.name);
    let _ = writeln!(s, "# implementation: {label}");
    let _ = writeln!(
        s,
        "# replay: foaf pipe < THIS_FILE   (or: grep -v '^#' THIS_FILE | your-adapter)"
    );
    let _ = writeln!(
        s,
        "# each op line is followed by the effect lines received, as `# <- `"
    );
    for line in &r.transcript {
        match line {
            TranscriptLine::Op(l) => {
                let _ = writeln!(s, "{l}");
            }
            TranscriptLine::Effect(l) => {
                let _ = writeln!(s, "# <- {l}");
            }
            TranscriptLine::Note(l) => {
                for part in l.lines() {
                    let _ = writeln!(s, "# !! {part}");
                }
            }
        }
    }
    let ok = match &r.outcome {
        Outcome::Pass => {
            let _ = writeln!(s, "# result: pass");
            true
        }
        Outcome::Fail(why) => {
            let _ = writeln!(s, "# result: FAIL");
            for w in why {
                for part in w.lines() {
                    let _ = writeln!(s, "#   {part}");
                }
            }
            false
        }
        Outcome::NotApplicable(w) | Outcome::Skipped(w) => {
            let _ = writeln!(s, "# result: n/a ({w})");
            true
        }
    };
    out!("{s}");
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One line of a skip file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// A vector name or a requirement id.
    pub what: String,
    /// Why.
    pub reason: String,
    /// Line number, for errors.
    pub line: usize,
}

/// Parses a skip file: `NAME_OR_ID reason…` per line, `#` comments, blank lines ignored.
pub fn parse_skip_text(text: &str, file: &str) -> Result<Vec<Skip>, String> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split_once('#').map_or(raw, |(a, _)| a).trim();
        if line.is_empty() {
            continue;
        }
        let (what, reason) = line
            .split_once(char::is_whitespace)
            .map(|(a, b)| (a, b.trim()))
            .unwrap_or((line, ""));
        if reason.is_empty() {
            return Err(format!(
                "{file}:{}: `{what}` has no reason (one vector name or id and a reason per line)",
                n + 1
            ));
        }
        out.push(Skip {
            what: what.to_owned(),
            reason: reason.to_owned(),
            line: n + 1,
        });
    }
    Ok(out)
}

fn parse_skips(path: &Path) -> Result<Vec<Skip>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_skip_text(&text, &path.display().to_string())
}

/// Vectors to run, vectors skipped (name, reason) and ids skipped (id, reason). A skip that
/// matches neither a selected vector's name nor an id one of them checks is an error.
#[allow(clippy::type_complexity)]
pub fn apply_skips(
    vectors: &[Vector],
    skips: &[Skip],
) -> Result<(Vec<Vector>, Vec<(String, String)>, Vec<(String, String)>), String> {
    let mut by_name = Vec::new();
    let mut by_id = Vec::new();
    let ids: BTreeSet<String> = vectors.iter().flat_map(|v| v.expectation_ids()).collect();
    for s in skips {
        if vectors.iter().any(|v| v.name == s.what) {
            by_name.push((s.what.clone(), s.reason.clone()));
        } else if let Some(id) = ids.iter().find(|i| i.eq_ignore_ascii_case(&s.what)) {
            by_id.push((id.clone(), s.reason.clone()));
        } else {
            return Err(format!(
                "skip file line {}: `{}` matches no selected vector and no id they check",
                s.line, s.what
            ));
        }
    }
    let run = vectors
        .iter()
        .filter(|v| !by_name.iter().any(|(n, _)| *n == v.name))
        .cloned()
        .collect();
    Ok((run, by_name, by_id))
}

fn run_mutation(opts: &RunOptions, vectors: &[Vector], jobs: usize, quiet: bool) -> CliResult {
    let faults: Vec<Fault> = mutation::list_faults(opts)?;
    if faults.is_empty() {
        return Err("the implementation lists no faults (--list-faults)".into());
    }
    outln!("{:<36} {:<10} {:>7}  verdict", "fault", "ids", "failed");
    let start = Instant::now();
    let outcomes = mutation::run_faults(opts, vectors, &faults, jobs);
    let mut caught = 0;
    let mut caught_ids: BTreeSet<&str> = BTreeSet::new();
    for o in &outcomes {
        let verdict = if o.caught() {
            caught += 1;
            caught_ids.extend(o.fault.requirements.iter().map(String::as_str));
            "caught"
        } else if o.tested == 0 {
            "NO VECTOR"
        } else {
            "MISSED"
        };
        if !quiet || !o.caught() {
            outln!(
                "{:<36} {:<10} {:>3}/{:<3}  {verdict}",
                o.fault.name,
                o.fault.requirements.join(","),
                o.failed,
                o.tested
            );
        }
    }
    let with_fault: BTreeSet<&str> = faults
        .iter()
        .flat_map(|f| f.requirements.iter().map(String::as_str))
        .collect();
    // An umbrella (M03) has no fault of its own: it is covered exactly when every id it
    // groups has a fault, and caught when every one of those is caught (false for any other
    // id).
    let umbrella_holds = |id: &str, ids: &BTreeSet<&str>| {
        children(id).is_some_and(|kids| kids.iter().all(|k| ids.contains(k)))
    };
    let without: Vec<&str> = REQUIREMENTS
        .iter()
        .map(|r| r.id)
        .filter(|id| !(with_fault.contains(id) || umbrella_holds(id, &with_fault)))
        .collect();
    outln!("");
    outln!(
        "mutation score: {caught}/{} faults caught ({:.2} s)",
        outcomes.len(),
        start.elapsed().as_secs_f64()
    );
    outln!(
        "ids with a caught fault: {}/{}",
        REQUIREMENTS
            .iter()
            .filter(|r| caught_ids.contains(r.id) || umbrella_holds(r.id, &caught_ids))
            .count(),
        REQUIREMENTS.len()
    );
    for (id, _) in UMBRELLAS {
        let kids = children(id).unwrap_or_default();
        let missing: Vec<&str> = kids
            .iter()
            .copied()
            .filter(|k| !caught_ids.contains(k))
            .collect();
        if missing.is_empty() {
            outln!(
                "umbrella {id}: all {} ids it groups have a caught fault",
                kids.len()
            );
        } else {
            outln!(
                "umbrella {id}: not covered, no caught fault for {}",
                missing.join(" ")
            );
        }
    }
    if !without.is_empty() {
        outln!(
            "ids without a fault ({}): {}",
            without.len(),
            without.join(" ")
        );
    }
    Ok(if caught == outcomes.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[Vector]) -> Vec<&str> {
        v.iter().map(|v| v.name.as_str()).collect()
    }

    #[test]
    fn skip_lines_need_a_reason_and_must_match_something() {
        let vs: Vec<Vector> = scenarios::all()
            .into_iter()
            .filter(|v| v.name.starts_with("w0"))
            .collect();
        let text = "# known gaps\nw01_query_sent_exact  our adapter cannot send queries\n\
                    W05 we fail the connection instead  # legal, not pinned\n";
        let skips = parse_skip_text(text, "s").unwrap();
        let (run, by_name, by_id) = apply_skips(&vs, &skips).unwrap();
        assert!(!names(&run).contains(&"w01_query_sent_exact"));
        assert_eq!(run.len(), vs.len() - 1);
        assert_eq!(by_name[0].1, "our adapter cannot send queries");
        assert_eq!(
            by_id,
            vec![("W05".into(), "we fail the connection instead".into())]
        );
        assert!(parse_skip_text("w01_query_sent_exact\n", "s").is_err());
        let nothing = parse_skip_text("A07 not selected here\n", "s").unwrap();
        let e = apply_skips(&vs, &nothing).unwrap_err();
        assert!(e.contains("matches no selected vector"), "{e}");
    }
}
