//! `cargo xtask fuzz`, `cargo xtask fuzz-corpus` and `cargo xtask flood`.
//!
//! The fuzz targets live in `fuzz/` (a cargo-fuzz project, its own workspace); their logic lives
//! in the library crates' `fuzzing` modules. This task installs cargo-fuzz if it is missing,
//! regenerates the seed corpus from `vectors/`, builds every target once with the nightly
//! toolchain, runs each for `--seconds`, and reports what libFuzzer found: executions, new
//! coverage, crash/timeout/oom files. It exits non-zero when anything was found.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use serde_json::Value;

/// Arguments of `cargo xtask fuzz`.
#[derive(clap::Args)]
pub struct Args {
    /// Seconds to fuzz each target.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Fuzz only this target (repeatable); default: every target in fuzz/fuzz_targets.
    #[arg(long = "target")]
    targets: Vec<String>,
    /// libFuzzer worker processes per target (cargo fuzz `--jobs`, i.e. `-fork`).
    #[arg(long, default_value_t = 1)]
    jobs: u32,
    /// cargo-fuzz sanitizer. Default `none`: every crate fuzzed forbids unsafe code, so
    /// AddressSanitizer can find nothing Rust's own checks miss, and without it libFuzzer runs
    /// several times more inputs per CPU-second (overflow checks and debug assertions stay on).
    #[arg(long, default_value = "none")]
    sanitizer: String,
    /// Run the hostile-peer flood test (`cargo xtask flood`) instead of the fuzzers.
    #[arg(long)]
    flood: bool,
}

/// Arguments of `cargo xtask fuzz-corpus`.
#[derive(clap::Args)]
pub struct CorpusArgs {
    /// Also (re)write the small committed seed sets in fuzz/seeds/ (at most this many generated
    /// files per target; regression inputs kept there by hand are never removed).
    #[arg(long)]
    seeds: Option<usize>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace root")
        .to_path_buf()
}

/// `cargo xtask fuzz`.
pub fn run(args: Args) -> Result<ExitCode, String> {
    if args.flood {
        return flood();
    }
    let fuzz_dir = root().join("fuzz");
    let all = list_targets(&fuzz_dir)?;
    check_bins(&fuzz_dir, &all)?;
    let targets = if args.targets.is_empty() {
        all.clone()
    } else {
        for t in &args.targets {
            if !all.contains(t) {
                return Err(format!("no fuzz target {t:?}; targets: {}", all.join(", ")));
            }
        }
        args.targets.clone()
    };
    ensure_cargo_fuzz()?;
    write_corpus(&fuzz_dir, None)?;

    println!(
        "fuzz: building {} targets (nightly, sanitizer {})",
        all.len(),
        args.sanitizer
    );
    let status = Command::new("cargo")
        .args(["+nightly", "fuzz", "build", "--sanitizer", &args.sanitizer])
        .current_dir(&fuzz_dir)
        .status()
        .map_err(|e| format!("cargo +nightly fuzz build: {e}"))?;
    if !status.success() {
        return Err("cargo +nightly fuzz build failed".into());
    }

    let mut report = String::new();
    let mut found_total = 0;
    for target in &targets {
        let r = run_target(&fuzz_dir, target, &args)?;
        found_total += r.findings.len();
        let line = format!(
            "{target:<28} {:>5}s {:>7.0} cpu-s {:>12} execs {:>9}/s  corpus {:>5}  cov {:>6}  findings {}",
            r.seconds,
            r.cpu,
            r.execs,
            r.execs / r.seconds.max(1),
            r.corpus,
            r.coverage,
            if r.findings.is_empty() {
                "none".to_string()
            } else {
                r.findings.join(" ")
            }
        );
        println!("{line}");
        writeln!(report, "{line}").unwrap();
        log_run(&fuzz_dir, target, &r);
    }
    println!(
        "\n=== fuzz summary ({}s per target)\n{report}",
        args.seconds
    );
    if found_total > 0 {
        println!(
            "fuzz: {found_total} finding(s); reproduce with `cd fuzz && cargo +nightly fuzz run <target> <file>`"
        );
        return Ok(ExitCode::FAILURE);
    }
    println!("fuzz: no findings");
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask fuzz-corpus`.
pub fn corpus(args: CorpusArgs) -> Result<ExitCode, String> {
    let fuzz_dir = root().join("fuzz");
    let counts = write_corpus(&fuzz_dir, args.seeds)?;
    for (target, n) in counts {
        println!("{target:<28} {n} inputs");
    }
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask flood`: the hostile-peer flood test, an `#[ignore]` test in foaf-peer run in
/// release mode; it prints its own figures (messages, replies, peak memory).
pub fn flood() -> Result<ExitCode, String> {
    let status = Command::new("cargo")
        .args([
            "test",
            "--release",
            "-p",
            "foaf-peer",
            "--test",
            "flood",
            "--",
            "--ignored",
            "--nocapture",
        ])
        .current_dir(root())
        .status()
        .map_err(|e| format!("cargo test: {e}"))?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn list_targets(fuzz_dir: &Path) -> Result<Vec<String>, String> {
    let dir = fuzz_dir.join("fuzz_targets");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "rs").then(|| p.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    Ok(names)
}

fn ensure_cargo_fuzz() -> Result<(), String> {
    let have = Command::new("cargo")
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        println!("fuzz: installing cargo-fuzz");
        let ok = Command::new("cargo")
            .args(["install", "cargo-fuzz", "--locked"])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err("cargo install cargo-fuzz --locked failed".into());
        }
    }
    let nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !nightly {
        return Err("the nightly toolchain is needed (`rustup toolchain install nightly`)".into());
    }
    Ok(())
}

/// What one libFuzzer run reported.
struct TargetRun {
    seconds: u64,
    /// CPU seconds used by the run (libFuzzer and its workers), from the kernel's accounting.
    cpu: f64,
    execs: u64,
    corpus: u64,
    coverage: u64,
    findings: Vec<String>,
}

fn run_target(fuzz_dir: &Path, target: &str, args: &Args) -> Result<TargetRun, String> {
    let (seconds, jobs) = (args.seconds, args.jobs);
    let artifacts = fuzz_dir.join("artifacts").join(target);
    let before = files_in(&artifacts);
    let corpus = fuzz_dir.join("corpus").join(target);
    let mut cmd = Command::new("cargo");
    cmd.args([
        "+nightly",
        "fuzz",
        "run",
        "--sanitizer",
        &args.sanitizer,
        target,
    ])
    .arg(&corpus)
    .current_dir(fuzz_dir);
    if jobs > 1 {
        cmd.arg(format!("--jobs={jobs}"));
    }
    cmd.arg("--").args([
        format!("-max_total_time={seconds}"),
        "-print_final_stats=1".into(),
        // Hostile input must never make the code allocate much: 1 GiB resident is a finding,
        // and so is a single allocation over 64 MiB (that check needs a sanitizer's malloc
        // hooks: with `--sanitizer address`).
        "-malloc_limit_mb=64".into(),
        "-rss_limit_mb=1024".into(),
        "-timeout=10".into(),
    ]);
    if let Some(dict) = dictionary(fuzz_dir, target) {
        cmd.arg(format!("-dict={}", dict.display()));
    }
    println!("fuzz: {target} for {seconds}s");
    let cpu_before = children_cpu_seconds();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cargo fuzz run {target}: {e}"))?;
    let cpu = children_cpu_seconds() - cpu_before;
    let log = String::from_utf8_lossy(&out.stderr);
    let log_path = fuzz_dir.join("artifacts").join(format!("{target}.log"));
    let _ = fs::create_dir_all(log_path.parent().unwrap());
    let _ = fs::write(&log_path, log.as_bytes());
    let mut findings: Vec<String> = files_in(&artifacts)
        .difference(&before)
        .map(|p| p.display().to_string())
        .collect();
    if !out.status.success() && findings.is_empty() {
        // A failure that left no artifact (a build error, a crash while loading the corpus).
        findings.push(format!("exit {} (see {})", out.status, log_path.display()));
    }
    let figures = LogFigures::parse(&log);
    Ok(TargetRun {
        seconds: figures.seconds.unwrap_or(seconds),
        cpu,
        execs: figures.execs,
        corpus: figures.corpus,
        coverage: figures.coverage,
        findings,
    })
}

/// What a libFuzzer log says about a run.
#[derive(Debug, PartialEq)]
struct LogFigures {
    /// "Done N runs in S second(s)": the time libFuzzer actually ran (absent in fork mode).
    seconds: Option<u64>,
    execs: u64,
    corpus: u64,
    coverage: u64,
}

impl LogFigures {
    fn parse(log: &str) -> Self {
        let stat = |key: &str| -> u64 {
            log.lines()
                .filter_map(|l| l.strip_prefix(&format!("stat::{key}:")))
                .filter_map(|v| v.trim().parse::<u64>().ok())
                .sum()
        };
        // libFuzzer's last status line: "#N DONE cov: C ft: F corp: K/..." (or the last
        // pulse; in fork mode "#N: cov: C ft: F corp: K ...").
        let last = log
            .lines()
            .rev()
            .find(|l| l.starts_with('#') && l.contains("cov:"))
            .unwrap_or("");
        let field = |name: &str| -> u64 {
            last.split_whitespace()
                .skip_while(|w| *w != name)
                .nth(1)
                .and_then(|v| v.split('/').next()?.parse().ok())
                .unwrap_or(0)
        };
        LogFigures {
            seconds: log
                .lines()
                .rev()
                .filter_map(|l| l.strip_prefix("Done "))
                .filter_map(|l| l.split(" in ").nth(1)?.split(' ').next()?.parse().ok())
                .next(),
            // Fork mode (--jobs > 1) prints no final stats; its status lines carry the
            // executions of all workers.
            execs: match stat("number_of_executed_units") {
                0 => last
                    .trim_start_matches('#')
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0),
                n => n,
            },
            corpus: field("corp:"),
            coverage: field("cov:"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The targets are fuzz/fuzz_targets/*.rs; each must have its `[[bin]]` in fuzz/Cargo.toml
    /// (cargo fuzz builds only those) and a seed rule here, and no bin may point elsewhere.
    #[test]
    fn fuzz_targets_bins_and_seed_rules_agree() {
        let fuzz_dir = root().join("fuzz");
        let targets = list_targets(&fuzz_dir).unwrap();
        check_bins(&fuzz_dir, &targets).unwrap();
        let inputs = CorpusInputs::default();
        for t in &targets {
            assert!(
                inputs.for_target(t).is_some(),
                "no seed rule for fuzz target {t}"
            );
        }
        for t in STRUCTURED_TARGETS {
            assert!(targets.iter().any(|x| x == t), "{t} is not a fuzz target");
        }
    }

    #[test]
    fn reads_cargo_bins() {
        let toml = "[package]\nname = \"x\"\n[[bin]]\nname = \"a\"\npath = \"fuzz_targets/a.rs\"\ntest = false\n";
        assert_eq!(cargo_bins(toml), [("a".into(), "fuzz_targets/a.rs".into())]);
    }

    #[test]
    fn reads_a_single_process_log() {
        let log = "#2\tINITED cov: 10 ft: 11 corp: 3/30b exec/s: 0 rss: 30Mb\n\
                   #9000\tDONE   cov: 111 ft: 155 corp: 15/99b lim: 9 exec/s: 3000 rss: 31Mb\n\
                   Done 9000 runs in 3 second(s)\n\
                   stat::number_of_executed_units: 9000\n";
        assert_eq!(
            LogFigures::parse(log),
            LogFigures {
                seconds: Some(3),
                execs: 9000,
                corpus: 15,
                coverage: 111
            }
        );
    }

    #[test]
    fn reads_a_fork_mode_log() {
        let log = "INFO: -fork=2: fuzzing in separate process(s)\n\
                   #559479584: cov: 111 ft: 155 corp: 15 exec/s: 583756 oom/timeout/crash: 0/0/0 time: 575s job: 46 dft_time: 0\n\
                   #586716844: cov: 112 ft: 155 corp: 16 exec/s: 567442 oom/timeout/crash: 0/0/0 time: 600s job: 47 dft_time: 0\n\
                   INFO: fuzzed for 600 seconds, wrapping up soon\n";
        assert_eq!(
            LogFigures::parse(log),
            LogFigures {
                seconds: None,
                execs: 586_716_844,
                corpus: 16,
                coverage: 112
            }
        );
    }
}

/// User + system CPU seconds of this process's reaped children (`/proc/self/stat` fields 16
/// and 17, in clock ticks of 1/100 s on Linux); 0 where /proc is missing.
fn children_cpu_seconds() -> f64 {
    let Ok(stat) = fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name, which may itself contain spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so field n is fields[n - 3].
    let ticks = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(16) + ticks(17)) / 100.0
}

fn files_in(dir: &Path) -> BTreeSet<PathBuf> {
    fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default()
}

fn dictionary(fuzz_dir: &Path, target: &str) -> Option<PathBuf> {
    let prefix = target.split('_').next()?;
    let specific = fuzz_dir.join("dict").join(format!("{target}.dict"));
    let family = fuzz_dir.join("dict").join(format!("{prefix}.dict"));
    [specific, family].into_iter().find(|p| p.exists())
}

/// Appends one line per run to fuzz/runs.tsv (gitignored), the source of the CPU-time table in
/// docs/fuzzing.md.
fn log_run(fuzz_dir: &Path, target: &str, r: &TargetRun) {
    let path = fuzz_dir.join("runs.tsv");
    if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(
            f,
            "{target}\t{}\t{:.0}\t{}\t{}\t{}\t{}",
            r.seconds,
            r.cpu,
            r.execs,
            r.corpus,
            r.coverage,
            r.findings.len()
        );
    }
}

/// Targets that read structured input with `arbitrary`: no seeds are generated for them.
const STRUCTURED_TARGETS: &[&str] = &["peer_node", "planner_hop"];

/// Fails unless fuzz/Cargo.toml has exactly one `[[bin]]` per target file (cargo fuzz builds
/// only declared bins: a target without one would silently never run).
fn check_bins(fuzz_dir: &Path, targets: &[String]) -> Result<(), String> {
    let path = fuzz_dir.join("Cargo.toml");
    let manifest = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bins = cargo_bins(&manifest);
    bins.sort();
    let expected: Vec<(String, String)> = targets
        .iter()
        .map(|t| (t.clone(), format!("fuzz_targets/{t}.rs")))
        .collect();
    if bins != expected {
        return Err(format!(
            "fuzz/Cargo.toml [[bin]]s {bins:?} do not match fuzz/fuzz_targets/*.rs {targets:?}"
        ));
    }
    Ok(())
}

/// The `[[bin]]` entries of fuzz/Cargo.toml as (name, path), in file order.
fn cargo_bins(manifest: &str) -> Vec<(String, String)> {
    let mut bins = Vec::new();
    for block in manifest.split("[[bin]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
            })
        };
        if let (Some(name), Some(path)) = (field("name"), field("path")) {
            bins.push((name, path));
        }
    }
    bins
}

/// Builds the seed corpus of every target from `vectors/` (every JSON file below it, including
/// the conformance vectors once they exist) plus the committed seeds, into fuzz/corpus/<target>/.
/// With `seeds`, also refreshes the committed fuzz/seeds/<target>/gen-* files.
fn write_corpus(fuzz_dir: &Path, seeds: Option<usize>) -> Result<Vec<(String, usize)>, String> {
    let inputs = corpus_inputs(&root().join("vectors"))?;
    let mut counts = Vec::new();
    for target in list_targets(fuzz_dir)? {
        let generated = inputs.for_target(&target).ok_or_else(|| {
            format!("fuzz target {target:?} has no seed rule: add it to CorpusInputs::for_target")
        })?;
        let dir = fuzz_dir.join("corpus").join(&target);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let committed = fuzz_dir.join("seeds").join(&target);
        let mut n = 0;
        for data in generated.iter().chain(
            files_in(&committed)
                .iter()
                .filter_map(|p| fs::read(p).ok())
                .collect::<Vec<_>>()
                .iter(),
        ) {
            write_named(&dir, "", data)?;
            n += 1;
        }
        if let Some(max) = seeds {
            fs::create_dir_all(&committed).map_err(|e| format!("{}: {e}", committed.display()))?;
            for old in files_in(&committed) {
                let generated_file = old
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("gen-"));
                if generated_file {
                    let _ = fs::remove_file(old);
                }
            }
            // An even spread over the generated inputs, so each source is represented.
            let step = generated.len().div_ceil(max.max(1)).max(1);
            for data in generated.iter().step_by(step) {
                write_named(&committed, "gen-", data)?;
            }
        }
        counts.push((target, n));
    }
    Ok(counts)
}

/// Names a corpus file by a hash of its content (as libFuzzer does), so rewriting is idempotent.
fn write_named(dir: &Path, prefix: &str, data: &[u8]) -> Result<(), String> {
    // FNV-1a 64: stable across runs and platforms, and enough to tell a few thousand files apart.
    let hash = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let path = dir.join(format!("{prefix}{hash:016x}"));
    fs::write(&path, data).map_err(|e| format!("{}: {e}", path.display()))
}

/// Inputs found in the vectors, sorted by the kind of target they feed.
#[derive(Default)]
struct CorpusInputs {
    bigsize: BTreeSet<Vec<u8>>,
    tlv: BTreeSet<Vec<u8>>,
    messages: BTreeSet<Vec<u8>>,
    texts: BTreeSet<Vec<u8>>,
    pipe_lines: BTreeSet<Vec<u8>>,
    pipe_sessions: BTreeSet<Vec<u8>>,
}

impl CorpusInputs {
    /// The generated seeds of `target`; `None` for a target this file does not know, so a new
    /// target cannot silently start from an empty corpus.
    fn for_target(&self, target: &str) -> Option<Vec<Vec<u8>>> {
        let msgs = || self.messages.iter().cloned();
        let payloads = |ty: u16| {
            self.messages
                .iter()
                .filter(move |m| m.len() >= 2 && u16::from_be_bytes([m[0], m[1]]) == ty)
                .map(|m| m[2..].to_vec())
        };
        let v: Vec<Vec<u8>> = match target {
            "wire_bigsize" => self.bigsize.iter().cloned().collect(),
            // The TLV target's first byte chooses which even types count as known.
            "wire_tlv_stream" => self
                .tlv
                .iter()
                .flat_map(|s| [0u8, 2, 254].map(|mode| [&[mode][..], s].concat()))
                .collect(),
            "wire_query" => payloads(347).collect(),
            "wire_reply" => payloads(349).collect(),
            "wire_message" | "wire_roundtrip" | "wire_roundtrip_structured" => msgs().collect(),
            "wire_json" => self.texts.iter().cloned().collect(),
            // One op per line, as the pipe protocol carries them; also every op in one input.
            t if t.starts_with("pipe") => {
                let mut v: Vec<Vec<u8>> = self.pipe_sessions.iter().cloned().collect();
                v.extend(self.pipe_lines.iter().cloned());
                let all: Vec<u8> = self
                    .pipe_lines
                    .iter()
                    .flat_map(|l| l.iter().copied().chain([b'\n']))
                    .collect();
                if !all.is_empty() {
                    v.push(all);
                }
                v
            }
            // Structured targets (the peer state machine) read their input with `arbitrary`:
            // their seeds are inputs the fuzzer found (fuzz/seeds/<target>/fuzzed-*).
            t if STRUCTURED_TARGETS.contains(&t) => Vec::new(),
            _ => return None,
        };
        Some(v)
    }
}

fn corpus_inputs(vectors: &Path) -> Result<CorpusInputs, String> {
    let mut inputs = CorpusInputs::default();
    let mut files = Vec::new();
    collect_json_files(vectors, &mut files);
    files.sort();
    for file in files {
        let text = fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let value: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        walk(&value, name, "", &mut inputs);
    }
    add_canonical_messages(&mut inputs);
    Ok(inputs)
}

fn collect_json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for p in files_in(dir) {
        if p.is_dir() {
            collect_json_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

fn walk(v: &Value, file: &str, key: &str, inputs: &mut CorpusInputs) {
    match v {
        Value::Object(map) => {
            if map.get("op").is_some_and(Value::is_string) {
                // A pipe-protocol op as a conformance vector writes it.
                inputs
                    .pipe_lines
                    .insert(serde_json::to_vec(v).expect("a JSON value serialises"));
            }
            if let Some(Value::Array(steps)) = map.get("steps") {
                // A conformance vector: its ops, one per line, are a whole pipe session.
                let session: Vec<u8> = steps
                    .iter()
                    .filter_map(|s| s.get("op").filter(|op| op.get("op").is_some()))
                    .flat_map(|op| {
                        let mut line = serde_json::to_vec(op).expect("a JSON value serialises");
                        line.push(b'\n');
                        line
                    })
                    .collect();
                if !session.is_empty() {
                    inputs.pipe_sessions.insert(session);
                }
            }
            if map.contains_key("type")
                && (map.contains_key("chain_hash") || map.contains_key("payload"))
            {
                // A message in the pinned JSON shape.
                inputs
                    .texts
                    .insert(serde_json::to_vec(v).expect("a JSON value serialises"));
            }
            for (k, child) in map {
                walk(child, file, k, inputs);
            }
        }
        Value::Array(items) => items.iter().for_each(|c| walk(c, file, key, inputs)),
        Value::String(s) => {
            if file.contains("scid") || s.split('x').count() == 3 {
                inputs.texts.insert(s.as_bytes().to_vec());
            }
            let Some(bytes) = hex_of(s) else { return };
            if file.contains("bigsize") {
                inputs.bigsize.insert(bytes);
            } else if file.contains("tlv") && key == "bytes" {
                inputs.tlv.insert(bytes);
            } else if bytes.len() >= 2 && !file.contains("scid") {
                inputs.messages.insert(bytes);
            }
        }
        _ => {}
    }
}

fn hex_of(s: &str) -> Option<Vec<u8>> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    hex::decode(s).ok()
}

/// A few well-formed BOLT #14 messages built with foaf-wire, so the message targets start from
/// valid queries and replies even before any conformance vector exists.
fn add_canonical_messages(inputs: &mut CorpusInputs) {
    use foaf_wire::{
        ChainHash, Message, QueryFoafBalances, ReplyFoafBalances, ShortChannelId, TlvStream,
    };
    let odd_tlv: TlvStream = [(1u64, vec![0x2a]), (0xfd01, vec![])].into_iter().collect();
    let scids: Vec<ShortChannelId> = (0..3)
        .map(|i| ShortChannelId::new(539_268 + i, 845, 1).expect("24-bit parts"))
        .collect();
    let msgs = [
        Message::Query(QueryFoafBalances {
            chain_hash: ChainHash::BITCOIN,
            flow_value: 1,
            amt_to_rebalance: 100_000_000,
            tlvs: TlvStream::new(),
        }),
        Message::Query(QueryFoafBalances {
            chain_hash: ChainHash::BITCOIN,
            flow_value: 0,
            amt_to_rebalance: 1,
            tlvs: odd_tlv.clone(),
        }),
        Message::Reply(ReplyFoafBalances {
            chain_hash: ChainHash::BITCOIN,
            flow_value: 1,
            timestamp: 1_700_000_000,
            amt_to_rebalance: 100_000_000,
            short_channel_ids: scids.clone(),
            tlvs: TlvStream::new(),
        }),
        Message::Reply(ReplyFoafBalances {
            chain_hash: ChainHash::BITCOIN,
            flow_value: 0,
            timestamp: 0,
            amt_to_rebalance: 5,
            short_channel_ids: Vec::new(),
            tlvs: odd_tlv,
        }),
    ];
    for m in msgs {
        let bytes = m.encode().expect("small messages encode");
        inputs.messages.insert(bytes);
        inputs
            .texts
            .insert(serde_json::to_vec(&foaf_wire::json::to_json(&m)).expect("JSON serialises"));
    }
    for s in scids {
        inputs.texts.insert(s.to_string().into_bytes());
    }
}
