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
use crate::expect::{check_invariants, check_step, SentRecord, Sets};
use crate::vector::Vector;

/// How to run the implementation.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Longest wait for one op's `done`.
    pub op_timeout: Duration,
    /// Lines of stderr kept to show when the implementation crashes or hangs.
    pub stderr_tail: usize,
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
        })
    }
}

/// The result of one vector.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every step matched.
    Pass,
    /// What went wrong.
    Fail(Vec<String>),
    /// The implementation does not support the vector's optional op.
    NotApplicable(String),
}

/// One vector's result.
#[derive(Debug, Clone)]
pub struct VectorResult {
    /// Vector name.
    pub name: String,
    /// Its requirement ids.
    pub requirements: Vec<String>,
    /// Pass, fail or not applicable.
    pub outcome: Outcome,
    /// Wall time.
    pub elapsed: Duration,
}

/// A started implementation.
struct Iut {
    child: Child,
    to_child: Option<Sender<String>>,
    lines: Receiver<Option<String>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

enum Wait {
    Line(String),
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
        thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match r.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        let _ = tx_out.send(None);
                        break;
                    }
                    Ok(_) => {
                        if tx_out.send(Some(line)).is_err() {
                            break;
                        }
                    }
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
        })
    }

    fn send(&self, line: String) {
        if let Some(tx) = &self.to_child {
            let _ = tx.send(line);
        }
    }

    fn wait_line(&self, deadline: Instant) -> Wait {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(Some(l)) => Wait::Line(l),
            Ok(None) | Err(RecvTimeoutError::Disconnected) => Wait::Eof,
            Err(RecvTimeoutError::Timeout) => Wait::Timeout,
        }
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

    fn stop(mut self) {
        self.to_child = None; // closes stdin
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    let outcome = match Iut::start(opts) {
        Err(e) => Outcome::Fail(vec![e]),
        Ok(mut iut) => {
            let o = run_steps(&mut iut, opts, v);
            iut.stop();
            o
        }
    };
    VectorResult {
        name: v.name.clone(),
        requirements: v.requirements.clone(),
        outcome,
        elapsed: start.elapsed(),
    }
}

fn run_steps(iut: &mut Iut, opts: &RunOptions, v: &Vector) -> Outcome {
    let sets = Sets(&v.sets);
    let mut now = 0u64;
    let mut sent: Vec<SentRecord> = Vec::new();
    let mut history: Vec<Vec<String>> = Vec::new();
    let mut problems = Vec::new();
    for (i, step) in v.steps.iter().enumerate() {
        let name = op_name(&step.op);
        if matches!(name, "init" | "tick") {
            if let Some(t) = step.op.get("now").and_then(Value::as_u64) {
                now = t;
            }
        }
        let effects = match run_op(iut, &step.op, opts.op_timeout) {
            OpResult::Done(e) => e,
            OpResult::Failed(why) => {
                problems.push(format!("step {i} ({name}): {why}"));
                return Outcome::Fail(problems);
            }
        };
        if v.optional_op.as_deref() == Some(name)
            && effects
                .iter()
                .any(|e| matches!(e, Effect::Unsupported { op } if op == name))
        {
            return Outcome::NotApplicable(format!("implementation does not support op `{name}`"));
        }
        for e in &effects {
            if let Effect::Send { peer, msg } = e {
                sent.push(SentRecord {
                    now,
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
        if let Err(why) = check_step(&effects, &step.expect, &sets) {
            let note = step
                .note
                .as_deref()
                .map(|n| format!(" [{n}]"))
                .unwrap_or_default();
            for w in why {
                problems.push(format!("step {i} ({name}){note}: {w}"));
            }
        }
        if let Some(j) = step.same_effects_as {
            match history.get(j) {
                Some(earlier) if *earlier == canonical => {}
                Some(earlier) => problems.push(format!(
                    "step {i} ({name}): effects differ from step {j} though the state and seed are the same (not deterministic): {} vs {}",
                    cut(&canonical.join(" | ")),
                    cut(&earlier.join(" | "))
                )),
                None => problems.push(format!("step {i}: same_effects_as refers to a later step {j}")),
            }
        }
        history.push(canonical);
    }
    problems.extend(check_invariants(&v.invariants, &sent, &sets));
    if problems.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail(problems)
    }
}

/// Runs every vector in turn.
pub fn run_all(opts: &RunOptions, vectors: &[Vector]) -> Vec<VectorResult> {
    run_parallel(opts, vectors, 1)
}

/// Runs the vectors on `jobs` worker threads (each vector still gets its own process);
/// results come back in the vectors' order.
pub fn run_parallel(opts: &RunOptions, vectors: &[Vector], jobs: usize) -> Vec<VectorResult> {
    let jobs = jobs.clamp(1, vectors.len().max(1));
    if jobs == 1 {
        return vectors.iter().map(|v| run_vector(opts, v)).collect();
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
