//! The runner: starts the implementation under test as a child process, speaks the pipe
//! protocol to it one line at a time, and checks every step of a vector.
//!
//! Each vector gets a fresh process (state cannot leak between vectors, and a crash or hang
//! costs one vector). Every op has a deadline: a reader thread forwards the child's stdout
//! lines over a channel and the runner waits with `recv_timeout`, so a hung implementation
//! fails the vector and the run goes on. Writes go through a writer thread too, so a child
//! that stops reading its stdin cannot block the runner either.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::effect::Effect;
use crate::expect::{
    check_invariants, check_step, step_expectations, Finding, SentRecord, Sets, Verdict,
};
use crate::requirements::{level_of, Level};
use crate::vector::Vector;

/// The ops every implementation must speak (pipe protocol v1); any other op may be answered
/// `unsupported`, which makes the vector not applicable.
pub const V1_OPS: &[&str] = &[
    "init",
    "connect",
    "disconnect",
    "recv",
    "tick",
    "query",
    "offer",
    "set_channel",
    "offers",
];

/// Longest output line the runner accepts from an implementation (a reply of 1000 scids is
/// about 16 kB of hex): a longer one fails the vector instead of growing without bound.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// How to run the implementation.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Longest wait for one op's `done`.
    pub op_timeout: Duration,
    /// Lines of stderr kept to show when the implementation crashes or hangs.
    pub stderr_tail: usize,
    /// Longest stdout line accepted ([`MAX_LINE_BYTES`] by default).
    pub max_line_bytes: usize,
    /// Keep every line sent and received ([`VectorResult::transcript`]).
    pub record: bool,
}

impl RunOptions {
    /// Options for `command` (split like a shell would), with a 10 s op timeout.
    pub fn from_command_line(cmd: &str) -> Result<Self, String> {
        let command = shlex::split(cmd).ok_or_else(|| format!("cannot split command {cmd:?}"))?;
        if command.is_empty() {
            return Err("empty implementation command".into());
        }
        Ok(RunOptions {
            command,
            op_timeout: Duration::from_millis(10_000),
            stderr_tail: 20,
            max_line_bytes: MAX_LINE_BYTES,
            record: false,
        })
    }
}

/// The result of one vector.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every expectation held (or was skipped).
    Pass,
    /// The failed expectations, each `[ID] step N (op): why`.
    Fail(Vec<String>),
    /// The implementation does not support the vector's optional op.
    NotApplicable(String),
    /// Not run: skipped by the user, with the reason given.
    Skipped(String),
}

/// One expectation of a vector, evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// The step it belongs to (`None`: a run-wide invariant).
    pub step: Option<usize>,
    /// The step's op name.
    pub op: String,
    /// The requirement id it checks.
    pub id: String,
    /// Its level (the id's, or the expectation's override).
    pub level: Level,
    /// What it checks.
    pub check: String,
    /// Whether it held.
    pub verdict: Verdict,
    /// Set when the user skipped its id: the reason.
    pub skipped: Option<String>,
}

impl Expectation {
    /// It failed and was not skipped.
    pub fn failed(&self) -> bool {
        self.skipped.is_none() && matches!(self.verdict, Verdict::Fail(_))
    }
}

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TranscriptLine {
    /// An op line the runner wrote.
    Op(String),
    /// A line the implementation wrote.
    Effect(String),
    /// What the runner noticed (timeout, crash).
    Note(String),
}

/// One vector's result.
#[derive(Debug, Clone)]
pub struct VectorResult {
    /// Vector name.
    pub name: String,
    /// Its requirement ids.
    pub requirements: Vec<String>,
    /// Pass, fail, not applicable or skipped.
    pub outcome: Outcome,
    /// Every expectation (empty when not run).
    pub expectations: Vec<Expectation>,
    /// Wall time.
    pub elapsed: Duration,
    /// The lines exchanged, when [`RunOptions::record`] is set.
    pub transcript: Vec<TranscriptLine>,
}

impl VectorResult {
    /// A vector the user skipped.
    pub fn skipped(v: &Vector, reason: &str) -> Self {
        VectorResult {
            name: v.name.clone(),
            requirements: v.requirements.clone(),
            outcome: Outcome::Skipped(reason.to_owned()),
            expectations: Vec::new(),
            elapsed: Duration::ZERO,
            transcript: Vec::new(),
        }
    }

    /// Marks the expectations checking one of `ids` skipped (with each id's reason) and
    /// recomputes the outcome.
    pub fn skip_ids(&mut self, ids: &[(String, String)]) {
        for e in &mut self.expectations {
            if let Some((_, why)) = ids.iter().find(|(id, _)| *id == e.id) {
                e.skipped = Some(why.clone());
            }
        }
        if let Outcome::Fail(_) = self.outcome {
            self.outcome = outcome_of(&self.expectations);
        }
    }
}

/// Pass unless some expectation failed.
fn outcome_of(exps: &[Expectation]) -> Outcome {
    let fails: Vec<String> = exps
        .iter()
        .filter(|e| e.failed())
        .map(|e| {
            let why = match &e.verdict {
                Verdict::Fail(w) => w.as_str(),
                _ => "",
            };
            match e.step {
                Some(i) => format!("[{}] step {i} ({}): {why}", e.id, e.op),
                None => format!("[{}] {}: {why}", e.id, e.check),
            }
        })
        .collect();
    if fails.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail(fails)
    }
}

/// A started implementation.
struct Iut {
    child: Child,
    to_child: Option<Sender<String>>,
    lines: Receiver<FromChild>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    max_line: usize,
    transcript: Option<Vec<TranscriptLine>>,
}

/// What the stdout reader thread forwards.
enum FromChild {
    Line(String),
    /// A line longer than the cap: the reader stopped.
    TooLong,
    Eof,
}

enum Wait {
    Line(String),
    TooLong,
    Eof,
    Timeout,
}

impl Iut {
    fn start(opts: &RunOptions) -> Result<Iut, String> {
        let mut child = Command::new(&opts.command[0])
            .args(&opts.command[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", opts.command.join(" ")))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");

        let (tx_in, rx_in) = mpsc::channel::<String>();
        thread::spawn(move || {
            for line in rx_in {
                if stdin.write_all(line.as_bytes()).is_err() || stdin.flush().is_err() {
                    break;
                }
            }
        });

        let (tx_out, rx_out) = mpsc::channel();
        let cap = opts.max_line_bytes.max(1);
        thread::spawn(move || {
            // Each line is read through `take(cap + 1)`: an endless line costs at most `cap`
            // bytes, then the reader reports it and stops.
            let mut r = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                let read = r.by_ref().take(cap as u64 + 1).read_until(b'\n', &mut buf);
                let msg = match read {
                    Ok(0) | Err(_) => FromChild::Eof,
                    Ok(_) if buf.len() > cap => FromChild::TooLong,
                    Ok(_) => FromChild::Line(String::from_utf8_lossy(&buf).into_owned()),
                };
                let stop = !matches!(msg, FromChild::Line(_));
                if tx_out.send(msg).is_err() || stop {
                    break;
                }
            }
        });

        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let keep = opts.stderr_tail.max(1);
        let tail2 = Arc::clone(&tail);
        thread::spawn(move || {
            // Bounded: only the last `keep` lines (each cut at 1000 bytes) are held.
            let mut r = BufReader::new(stderr);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.by_ref().take(1 << 20).read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let mut s = String::from_utf8_lossy(&buf).trim_end().to_string();
                        s.truncate(1000);
                        let mut t = tail2.lock().unwrap_or_else(|e| e.into_inner());
                        t.push_back(s);
                        while t.len() > keep {
                            t.pop_front();
                        }
                    }
                }
            }
        });

        Ok(Iut {
            child,
            to_child: Some(tx_in),
            lines: rx_out,
            stderr: tail,
            max_line: cap,
            transcript: opts.record.then(Vec::new),
        })
    }

    fn send(&mut self, line: String) {
        if let Some(t) = &mut self.transcript {
            t.push(TranscriptLine::Op(line.trim_end().to_owned()));
        }
        if let Some(tx) = &self.to_child {
            let _ = tx.send(line);
        }
    }

    fn note(&mut self, text: &str) {
        if let Some(t) = &mut self.transcript {
            t.push(TranscriptLine::Note(text.to_owned()));
        }
    }

    fn wait_line(&mut self, deadline: Instant) -> Wait {
        let left = deadline.saturating_duration_since(Instant::now());
        let w = match self.lines.recv_timeout(left) {
            Ok(FromChild::Line(l)) => Wait::Line(l),
            Ok(FromChild::TooLong) => Wait::TooLong,
            Ok(FromChild::Eof) | Err(RecvTimeoutError::Disconnected) => Wait::Eof,
            Err(RecvTimeoutError::Timeout) => Wait::Timeout,
        };
        if let (Some(t), Wait::Line(l)) = (&mut self.transcript, &w) {
            t.push(TranscriptLine::Effect(l.trim_end().to_owned()));
        }
        w
    }

    /// The exit status (waiting briefly) and the tail of stderr.
    fn crash_report(&mut self) -> String {
        let mut status = None;
        let until = Instant::now() + Duration::from_millis(500);
        while Instant::now() < until {
            if let Ok(Some(s)) = self.child.try_wait() {
                status = Some(s);
                break;
            }
            thread::sleep(Duration::from_millis(5));
        }
        // Let the stderr thread drain what the process wrote before it died.
        thread::sleep(Duration::from_millis(20));
        let status = match status {
            Some(s) => format!("exited with {s}"),
            None => "closed its stdout".to_string(),
        };
        format!("implementation {status}{}", self.stderr_tail())
    }

    fn stderr_tail(&self) -> String {
        let t = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        if t.is_empty() {
            String::new()
        } else {
            let lines: Vec<&str> = t.iter().map(String::as_str).collect();
            format!("; stderr tail:\n      | {}", lines.join("\n      | "))
        }
    }

    fn stop(mut self) -> Vec<TranscriptLine> {
        self.to_child = None; // closes stdin
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.transcript.take().unwrap_or_default()
    }
}

/// The effects of one op, up to its `done`.
enum OpResult {
    Done(Vec<Effect>),
    Failed(String),
}

fn run_op(iut: &mut Iut, op: &Value, timeout: Duration) -> OpResult {
    let mut line = op.to_string();
    line.push('\n');
    iut.send(line);
    let deadline = Instant::now() + timeout;
    let mut effects = Vec::new();
    loop {
        match iut.wait_line(deadline) {
            Wait::Line(l) => {
                let text = l.trim();
                if text.is_empty() {
                    continue;
                }
                let v: Value = match serde_json::from_str(text) {
                    Ok(v) => v,
                    Err(e) => {
                        return OpResult::Failed(format!(
                            "output line is not JSON ({e}): {}",
                            cut(text)
                        ))
                    }
                };
                if v.get("effect").and_then(Value::as_str) == Some("done") {
                    return OpResult::Done(effects);
                }
                match Effect::parse(&v) {
                    Ok(e) => effects.push(e),
                    Err(e) => return OpResult::Failed(format!("bad effect line: {}", cut(&e))),
                }
            }
            Wait::Eof => return OpResult::Failed(iut.crash_report()),
            Wait::TooLong => {
                return OpResult::Failed(format!(
                    "output line longer than {} bytes (cut off; the implementation was stopped)",
                    iut.max_line
                ))
            }
            Wait::Timeout => {
                return OpResult::Failed(format!(
                    "no `done` within {} ms (hung?){}",
                    timeout.as_millis(),
                    iut.stderr_tail()
                ))
            }
        }
    }
}

fn cut(s: &str) -> String {
    if s.len() > 300 {
        let mut end = 300;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s.to_owned()
    }
}

fn op_name(op: &Value) -> &str {
    op.get("op").and_then(Value::as_str).unwrap_or("?")
}

/// Runs one vector in a fresh process.
pub fn run_vector(opts: &RunOptions, v: &Vector) -> VectorResult {
    let start = Instant::now();
    let (outcome, expectations, transcript) = match Iut::start(opts) {
        Err(e) => {
            let mut exps = Vec::new();
            not_run(&mut exps, v, 0, &e);
            if let Some(first) = exps.first_mut() {
                first.verdict = Verdict::Fail(e);
            }
            (outcome_of(&exps), exps, Vec::new())
        }
        Ok(mut iut) => {
            let (na, exps) = run_steps(&mut iut, opts, v);
            let t = iut.stop();
            (
                na.map_or_else(|| outcome_of(&exps), Outcome::NotApplicable),
                exps,
                t,
            )
        }
    };
    VectorResult {
        name: v.name.clone(),
        requirements: v.requirements.clone(),
        outcome,
        expectations,
        elapsed: start.elapsed(),
        transcript,
    }
}

fn push_findings(out: &mut Vec<Expectation>, step: Option<usize>, op: &str, f: Vec<Finding>) {
    out.extend(f.into_iter().map(|f| Expectation {
        step,
        op: op.to_owned(),
        level: level_of(&f.id, f.level),
        id: f.id,
        check: f.check,
        verdict: f.verdict,
        skipped: None,
    }));
}

/// The expectations of steps `from..` and the invariants, as not run.
fn not_run(out: &mut Vec<Expectation>, v: &Vector, from: usize, why: &str) {
    for (i, step) in v.steps.iter().enumerate().skip(from) {
        let f = step_expectations(&step.id, step.level, &step.expect, why);
        push_findings(out, Some(i), op_name(&step.op), f);
    }
    let inv: Vec<Finding> = check_invariants(&v.invariants, &[], &Sets(&v.sets))
        .into_iter()
        .map(|mut f| {
            f.verdict = Verdict::NotRun(why.to_owned());
            f
        })
        .collect();
    push_findings(out, None, "", inv);
}

/// The clock an op sets, in milliseconds: `now_ms` when given (pipe protocol, sub-second
/// clocks), else `now` in seconds.
fn op_now_ms(op: &Value) -> Option<u64> {
    if let Some(ms) = op.get("now_ms").and_then(Value::as_u64) {
        return Some(ms);
    }
    op.get("now")?.as_u64().map(|s| s.saturating_mul(1000))
}

/// Runs the steps; returns `Some(reason)` when the vector is not applicable.
fn run_steps(iut: &mut Iut, opts: &RunOptions, v: &Vector) -> (Option<String>, Vec<Expectation>) {
    let sets = Sets(&v.sets);
    let mut now_ms = 0u64;
    let mut sent: Vec<SentRecord> = Vec::new();
    let mut history: Vec<Vec<String>> = Vec::new();
    let mut exps: Vec<Expectation> = Vec::new();
    for (i, step) in v.steps.iter().enumerate() {
        let name = op_name(&step.op);
        if matches!(name, "init" | "tick") {
            if let Some(t) = op_now_ms(&step.op) {
                now_ms = t;
            }
        }
        let effects = match run_op(iut, &step.op, opts.op_timeout) {
            OpResult::Done(e) => e,
            OpResult::Failed(why) => {
                iut.note(&why);
                let before = exps.len();
                not_run(&mut exps, v, i, "an earlier step failed");
                // The step's own "completes, nothing else" expectation carries the failure.
                if let Some(e) = exps[before..]
                    .iter_mut()
                    .find(|e| e.step == Some(i) && e.check == crate::expect::NOTHING_ELSE)
                {
                    e.verdict = Verdict::Fail(why);
                }
                return (None, exps);
            }
        };
        // An op outside the v1 set (the vector's optional op, the v2 ops) answered
        // `unsupported`: the vector does not apply, it is never a pass.
        if (v.optional_op.as_deref() == Some(name) || !V1_OPS.contains(&name))
            && effects
                .iter()
                .any(|e| matches!(e, Effect::Unsupported { op } if op == name))
        {
            return (
                Some(format!("implementation does not support op `{name}`")),
                Vec::new(),
            );
        }
        for e in &effects {
            if let Effect::Send { peer, msg } = e {
                sent.push(SentRecord {
                    now_ms,
                    peer: peer.clone(),
                    msg: msg.clone(),
                });
            }
        }
        let canonical: Vec<String> = effects
            .iter()
            .filter(|e| !e.is_ignored())
            .map(Effect::canonical)
            .collect();
        let mut findings = check_step(&effects, &step.expect, &sets, &step.id, step.level);
        if let Some(note) = &step.note {
            for f in &mut findings {
                if let Verdict::Fail(w) = &mut f.verdict {
                    *w = format!("{w} [{note}]");
                }
            }
        }
        if let Some(same) = &step.same_effects_as {
            let j = same.step;
            let verdict = match history.get(j) {
                Some(earlier) if *earlier == canonical => Verdict::Pass,
                Some(earlier) => Verdict::Fail(format!(
                    "effects differ from step {j} though the state and seed are the same (not deterministic): {} vs {}",
                    cut(&canonical.join(" | ")),
                    cut(&earlier.join(" | "))
                )),
                None => Verdict::Fail(format!("same_effects_as refers to a later step {j}")),
            };
            findings.push(Finding {
                id: same.id.clone(),
                level: None,
                check: format!("same effects as step {j}"),
                verdict,
            });
        }
        push_findings(&mut exps, Some(i), name, findings);
        history.push(canonical);
    }
    push_findings(
        &mut exps,
        None,
        "",
        check_invariants(&v.invariants, &sent, &sets),
    );
    (None, exps)
}

/// Runs every vector in turn.
pub fn run_all(opts: &RunOptions, vectors: &[Vector]) -> Vec<VectorResult> {
    run_parallel(opts, vectors, 1)
}

/// Runs the vectors on `jobs` worker threads (each vector still gets its own process);
/// results come back in the vectors' order.
pub fn run_parallel(opts: &RunOptions, vectors: &[Vector], jobs: usize) -> Vec<VectorResult> {
    run_with_progress(opts, vectors, jobs, &|_| {})
}

/// [`run_parallel`], calling `done` with each result as soon as its vector finishes (in
/// completion order), e.g. to print progress.
pub fn run_with_progress(
    opts: &RunOptions,
    vectors: &[Vector],
    jobs: usize,
    done: &(dyn Fn(&VectorResult) + Sync),
) -> Vec<VectorResult> {
    let jobs = jobs.clamp(1, vectors.len().max(1));
    if jobs == 1 {
        return vectors
            .iter()
            .map(|v| {
                let r = run_vector(opts, v);
                done(&r);
                r
            })
            .collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<VectorResult>>> =
        vectors.iter().map(|_| Mutex::new(None)).collect();
    thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(v) = vectors.get(i) else { break };
                let r = run_vector(opts, v);
                done(&r);
                *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            });
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every vector ran")
        })
        .collect()
}
