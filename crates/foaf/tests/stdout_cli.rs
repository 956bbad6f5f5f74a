//! Every subcommand that prints treats a closed stdout as a normal end (status 0, nothing on
//! stderr) and a full disk as one clear error (status 1, one line): issue #17 found `foaf plan
//! … | head -1` and `foaf decode HEX > /dev/full` panicking (status 101 and a backtrace).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use foaf_wire::{ChainHash, Flow, Message, QueryFoafBalances, TlvStream};

const PLAN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/plan/node.json");

/// Where the child's stdout goes.
#[derive(Clone, Copy, Debug)]
enum Sink {
    /// A pipe whose reading end is already closed (what `| head -1` leaves after one line).
    ClosedPipe,
    /// `/dev/full`: every write fails with ENOSPC.
    FullDisk,
}

fn query_hex() -> String {
    let q = Message::Query(QueryFoafBalances {
        chain_hash: ChainHash::BITCOIN,
        flow_value: Flow::Push as u8,
        amt_to_rebalance: 1000,
        tlvs: TlvStream::new(),
    });
    hex::encode(q.encode().unwrap())
}

fn wait(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            child.kill().ok();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `foaf ARGS` with stdout into `sink` and `stdin` fed; returns the status and stderr.
fn run(args: &[&str], stdin: &str, sink: Sink) -> (ExitStatus, String) {
    let stdout = match sink {
        Sink::ClosedPipe => {
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            Stdio::from(writer)
        }
        Sink::FullDisk => Stdio::from(std::fs::File::create("/dev/full").unwrap()),
    };
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let stderr_path = std::env::temp_dir().join(format!(
        "foaf-stdout-cli-{}-{}.err",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_foaf"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let status = wait(&mut child, Duration::from_secs(60));
    let err = std::fs::read_to_string(&stderr_path).unwrap();
    std::fs::remove_file(&stderr_path).ok();
    (status, err)
}

/// Each command with its stdin; `sim_out` is the simulator's `--out`.
fn every_printing_command(sim_out: &Path) -> Vec<(Vec<String>, &'static str)> {
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut sim = s(&[
        "sim",
        "imbalance",
        "--synthetic",
        "30",
        "--strategies",
        "foaf",
        "--rounds",
        "1",
        "--no-plots",
        "--quiet",
        "--out",
    ]);
    sim.push(sim_out.display().to_string());
    vec![
        (s(&["decode", &query_hex()]), ""),
        (s(&["decode", "--pretty", &query_hex()]), ""),
        (
            s(&[
                "encode",
                r#"{"type":"query_foaf_balances","chain_hash":"6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000","flow_value":1,"amt_to_rebalance":1000}"#,
            ]),
            "",
        ),
        (s(&["plan", PLAN]), ""),
        (s(&["plan", "--json", PLAN]), ""),
        (s(&["pipe", "--list-faults"]), ""),
        (s(&["conformance", "--list"]), ""),
        (s(&["pipe"]), "{\"op\":\"offers\"}\n"),
        (sim, ""),
        (
            s(&[
                "sim",
                "sweep",
                "--list",
                "--synthetic",
                "20",
                "--seeds",
                "1,2",
            ]),
            "",
        ),
        (
            s(&[
                "node",
                "--listen",
                "127.0.0.1:0",
                "--run-for",
                "30",
                "--json",
            ]),
            "",
        ),
        (
            s(&["node", "--listen", "127.0.0.1:0", "--run-for", "30"]),
            "",
        ),
    ]
}

fn sim_out(test: &str) -> PathBuf {
    std::env::temp_dir().join(format!("foaf-stdout-cli-{test}-{}", std::process::id()))
}

#[test]
fn a_closed_stdout_is_a_normal_end() {
    let dir = sim_out("closed");
    let mut failed = Vec::new();
    for (args, stdin) in every_printing_command(&dir) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let started = Instant::now();
        let (status, err) = run(&args, stdin, Sink::ClosedPipe);
        if !(status.success() && err.is_empty()) {
            failed.push(format!(
                "foaf {args:?} into a closed pipe: {status}, stderr {err:?}"
            ));
        }
        // `foaf node` stops once nobody reads its log, not when --run-for ends.
        assert!(started.elapsed() < Duration::from_secs(25), "foaf {args:?}");
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    // The simulator still wrote its files: only stdout was closed.
    assert!(dir.join("imbalance_summary.csv").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_is_one_clear_error() {
    let dir = sim_out("full");
    let mut failed = Vec::new();
    for (args, stdin) in every_printing_command(&dir) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (status, err) = run(&args, stdin, Sink::FullDisk);
        let ok = status.code() == Some(1)
            && err.lines().count() == 1
            && err.contains("No space left on device")
            && !err.contains("panicked");
        if !ok {
            failed.push(format!(
                "foaf {args:?} > /dev/full: {status}, stderr {err:?}"
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    std::fs::remove_dir_all(&dir).ok();
}
