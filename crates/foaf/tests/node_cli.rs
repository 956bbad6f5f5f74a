//! `foaf node` end to end: three processes on 127.0.0.1 speaking BOLT #14 over BOLT #8.
//!
//! Hub A has channels to B and C; C connects to A (so A's channel to C is operational, A04);
//! B connects to A and queries on a schedule. Every process is bounded by `--run-for`, and the
//! test kills whatever is still running when it ends.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const FOAF: &str = env!("CARGO_BIN_EXE_foaf");

/// A running `foaf node --json`, its log lines arriving on a channel.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl Proc {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(FOAF)
            .arg("node")
            .args(args)
            .arg("--json")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start foaf node");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line).expect("--json lines are JSON");
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (at most 15 s) for a log line matching `pred`.
    fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(v) = self.seen.iter().find(|v| pred(v)) {
            return v.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if pred(&v) {
                        return v;
                    }
                }
                Err(_) => panic!("foaf node never logged {what}; log: {:#?}", self.seen),
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn node_id(seed: &str) -> String {
    let mut p = Proc::start(&["--seed", seed, "--listen", "127.0.0.1:0", "--run-for", "0"]);
    let started = p.wait_for("start", |v| v["event"] == "started");
    started["node_id"].as_str().unwrap().to_string()
}

fn write(dir: &std::path::Path, name: &str, v: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, v.to_string()).unwrap();
    path.to_str().unwrap().to_string()
}

fn chan(scid: &str, peer: &str, local: u64) -> Value {
    json!({"scid": scid, "peer": peer, "capacity": 10_000_000, "local": local,
           "announced": true, "state": "normal"})
}

#[test]
fn scheduled_queries_are_answered_between_foaf_nodes() {
    // R: A01, A04, S02, V05 over the real transport, driven through the CLI.
    let (sa, sb, sc) = ("aa".repeat(32), "bb".repeat(32), "cc".repeat(32));
    let (a, b, c) = (node_id(&sa), node_id(&sb), node_id(&sc));
    let dir = std::env::temp_dir().join(format!("foaf-node-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a_chans = write(
        &dir,
        "a.json",
        &json!([chan("1x1x0", &b, 5_000_000), chan("1x2x0", &c, 9_000_000)]),
    );
    let b_chans = write(&dir, "b.json", &json!([chan("1x1x0", &a, 5_000_000)]));
    let b_graph = write(&dir, "bg.json", &json!(["1x2x0"]));
    let c_chans = write(&dir, "c.json", &json!([chan("1x2x0", &a, 1_000_000)]));

    let mut pa = Proc::start(&[
        "--seed",
        &sa,
        "--listen",
        "127.0.0.1:0",
        "--channels",
        &a_chans,
        "--run-for",
        "20",
    ]);
    let listen = pa.wait_for("start", |v| v["event"] == "started")["listen"]
        .as_str()
        .unwrap()
        .to_string();
    let target = format!("{a}@{listen}");
    let pc = Proc::start(&[
        "--seed",
        &sc,
        "--listen",
        "127.0.0.1:0",
        "--channels",
        &c_chans,
        "--connect",
        &target,
        "--run-for",
        "20",
    ]);
    pa.wait_for("C connecting", |v| {
        v["event"] == "connected" && v["peer"] == c
    });
    let mut pb = Proc::start(&[
        "--seed",
        &sb,
        "--listen",
        "127.0.0.1:0",
        "--channels",
        &b_chans,
        "--graph",
        &b_graph,
        "--connect",
        &target,
        "--query-every",
        "1",
        "--query-amt",
        "1000000",
        "--run-for",
        "20",
    ]);
    let reply = pb.wait_for("A's reply", |v| {
        v["event"] == "recv" && v["peer"] == a && v["msg"]["type"] == "reply_foaf_balances"
    });
    assert_eq!(reply["msg"]["short_channel_ids"], json!(["1x2x0"]));
    assert_eq!(reply["msg"]["flow_value"], 1);
    assert_eq!(reply["msg"]["amt_to_rebalance"], 1_000_000);
    pa.wait_for("the query from B", |v| {
        v["event"] == "recv" && v["peer"] == b && v["msg"]["type"] == "query_foaf_balances"
    });
    pa.wait_for("the reply to B", |v| {
        v["event"] == "send" && v["peer"] == b && v["msg"]["short_channel_ids"] == json!(["1x2x0"])
    });
    drop((pb, pc));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_arguments_are_exit_status_2() {
    for args in [
        vec!["--feature-bit", "21"],
        vec!["--seed", "abcd"],
        vec!["--connect", "nonsense"],
        vec!["--chain", "mainnet-ish"],
        vec!["--types", "347"],
    ] {
        let out = Command::new(FOAF).arg("node").args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn key_file_gives_a_stable_node_id_and_is_private() {
    let dir = std::env::temp_dir().join(format!("foaf-node-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("node.key");
    let key_s = key.to_str().unwrap();
    let id = || {
        let mut p = Proc::start(&[
            "--key-file",
            key_s,
            "--listen",
            "127.0.0.1:0",
            "--run-for",
            "0",
        ]);
        p.wait_for("start", |v| v["event"] == "started")["node_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first = id();
    assert!(key.exists(), "the key file is created");
    assert_eq!(id(), first, "the same key file gives the same node id");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "readable by its owner only: {mode:o}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
