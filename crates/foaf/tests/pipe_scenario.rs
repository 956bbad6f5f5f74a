//! Drives the real `foaf pipe` binary as a child process through a whole scenario of the
//! conformance pipe protocol (docs/conformance-pipe.md), one op at a time, reading each op's
//! effects up to its `done` (so the test also proves the IUT flushes after every op).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use foaf_wire::{ChainHash, Message, QueryFoafBalances, ReplyFoafBalances, TlvStream};
use serde_json::{json, Value};

struct Pipe {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Pipe {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_foaf"))
            .arg("pipe")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start foaf pipe");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Self {
            child,
            stdin,
            stdout,
        }
    }

    /// Sends one raw line and returns the effects before `done`.
    fn line(&mut self, line: &str) -> Vec<Value> {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
        let mut effects = Vec::new();
        loop {
            let mut out = String::new();
            assert!(
                self.stdout.read_line(&mut out).unwrap() > 0,
                "EOF before done"
            );
            let v: Value = serde_json::from_str(&out).expect("every output line is JSON");
            if v["effect"] == "done" {
                return effects;
            }
            effects.push(v);
        }
    }

    fn op(&mut self, op: Value) -> Vec<Value> {
        self.line(&op.to_string())
    }

    /// Closes stdin and returns (exit success, stderr).
    fn finish(self) -> (bool, String) {
        drop(self.stdin);
        let out = self.child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }
}

fn chan(scid: &str, peer: &str, cap: u64, local: u64, announced: bool, state: &str) -> Value {
    json!({"scid": scid, "peer": peer, "capacity": cap, "local": local,
           "announced": announced, "state": state})
}

fn query_hex(flow: u8, amt: u64) -> String {
    hex::encode(
        Message::Query(QueryFoafBalances {
            chain_hash: ChainHash::REGTEST,
            flow_value: flow,
            amt_to_rebalance: amt,
            tlvs: TlvStream::new(),
        })
        .encode()
        .unwrap(),
    )
}

fn reply_hex(flow: u8, ts: u64, amt: u64, scids: &[&str]) -> String {
    hex::encode(
        Message::Reply(ReplyFoafBalances {
            chain_hash: ChainHash::REGTEST,
            flow_value: flow,
            timestamp: ts,
            amt_to_rebalance: amt,
            short_channel_ids: scids.iter().map(|s| s.parse().unwrap()).collect(),
            tlvs: TlvStream::new(),
        })
        .encode()
        .unwrap(),
    )
}

fn decode_sent(e: &Value) -> Message {
    assert_eq!(e["effect"], "send", "{e}");
    Message::decode(&hex::decode(e["msg"].as_str().unwrap()).unwrap()).unwrap()
}

const NOW: u64 = 1_700_000_000;

fn init(p: &mut Pipe, config: Value) -> Vec<Value> {
    p.op(json!({
        "op": "init",
        "chain_hash": ChainHash::REGTEST.to_string(),
        "now": NOW,
        "seed": 42,
        "config": config,
        "graph": ["600x1x0", "600x2x0", "600x3x0"],
        "channels": [
            chan("1x1x1", "alice", 1_000_000, 500_000, true, "normal"),
            chan("1x2x1", "bob", 1_000_000, 900_000, true, "normal"),
            chan("1x3x1", "carol", 1_000_000, 100_000, true, "normal"),
            chan("1x4x1", "dave", 1_000_000, 900_000, false, "normal"),
        ],
        "future_field": "ignored"
    }))
}

// R: S01–S05, A01–A09, V01–V08 over the pipe, end to end.
#[test]
fn pipe_runs_a_whole_scenario() {
    let mut p = Pipe::start(&[]);
    assert!(init(&mut p, json!({})).is_empty());
    for peer in ["alice", "bob", "carol", "dave", "erin"] {
        assert!(p.op(json!({"op": "connect", "peer": peer})).is_empty());
    }

    // A query from alice (Push 100 000): ν = 0.6, only bob's channel qualifies (A01, A08).
    let e = p.op(json!({"op": "recv", "peer": "alice", "msg": query_hex(1, 100_000)}));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0]["peer"], "alice");
    let Message::Reply(r) = decode_sent(&e[0]) else {
        panic!("not a reply")
    };
    assert_eq!(r.chain_hash, ChainHash::REGTEST); // S01
    assert_eq!(
        (r.flow_value, r.amt_to_rebalance, r.timestamp),
        (1, 100_000, NOW)
    ); // A01-A03
    assert_eq!(r.short_channel_ids, ["1x2x1".parse().unwrap()]);

    // bob offers to push on two graph channels and one unknown one (V05 discards it).
    let e = p.op(json!({"op": "recv", "peer": "bob",
                        "msg": reply_hex(1, NOW - 5, 70_000, &["600x1x0", "600x2x0", "9x9x9"])}));
    assert!(e.iter().all(|e| e["effect"] == "log"), "{e:?}");
    let e = p.op(json!({"op": "offers"}));
    assert_eq!(
        e,
        [json!({"effect": "offers", "offers": [
            {"peer": "bob", "scid": "600x1x0", "flow_value": 1, "amt": 70_000, "timestamp": NOW - 5},
            {"peer": "bob", "scid": "600x2x0", "flow_value": 1, "amt": 70_000, "timestamp": NOW - 5},
        ]})]
    );

    // We query carol (S03: flow 0 = we want to receive), and send an unsolicited offer (A09).
    let e = p.op(json!({"op": "query", "peer": "carol", "flow_value": 0, "amt": 5_000}));
    let Message::Query(q) = decode_sent(&e[0]) else {
        panic!()
    };
    assert_eq!((q.flow_value, q.amt_to_rebalance), (0, 5_000));
    let e = p.op(json!({"op": "offer", "peer": "carol", "flow_value": 1, "amt": 100_000}));
    assert!(matches!(decode_sent(&e[0]), Message::Reply(_)));

    // S02: no channel with erin.
    let e = p.op(json!({"op": "query", "peer": "erin", "flow_value": 1, "amt": 1}));
    assert_eq!(
        e,
        [json!({"effect": "refused", "op": "query", "reason": "no_channel"})]
    );
    // V01: erin sends a query anyway.
    let e = p.op(json!({"op": "recv", "peer": "erin", "msg": query_hex(1, 1)}));
    assert_eq!(
        e,
        [json!({"effect": "disconnect", "peer": "erin", "reason": "no_channel"})]
    );

    // S05: 3 more queries to carol pass (4 in all), the 5th is refused; after 10 s it passes.
    for _ in 0..3 {
        let e = p.op(json!({"op": "query", "peer": "carol", "flow_value": 1, "amt": 1}));
        assert_eq!(e[0]["effect"], "send");
    }
    let e = p.op(json!({"op": "query", "peer": "carol", "flow_value": 1, "amt": 1}));
    assert_eq!(
        e,
        [json!({"effect": "refused", "op": "query", "reason": "rate_limited"})]
    );
    // Replies to carol: 1 offer sent, 3 more fill the window; her query is answered only
    // after a tick (deferred, never early).
    for _ in 0..3 {
        let e = p.op(json!({"op": "offer", "peer": "carol", "flow_value": 0, "amt": 1}));
        assert_eq!(e[0]["effect"], "send");
    }
    let e = p.op(json!({"op": "recv", "peer": "carol", "msg": query_hex(0, 1)}));
    assert!(e.iter().all(|e| e["effect"] == "log"), "{e:?}");
    assert!(p.op(json!({"op": "tick", "now": NOW + 9})).is_empty());
    let e = p.op(json!({"op": "tick", "now": NOW + 10}));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(matches!(decode_sent(&e[0]), Message::Reply(r) if r.timestamp == NOW + 10));
    let e = p.op(json!({"op": "query", "peer": "carol", "flow_value": 1, "amt": 1}));
    assert_eq!(e[0]["effect"], "send");

    // V04: an older reply from bob is discarded, a newer one replaces.
    p.op(json!({"op": "recv", "peer": "bob", "msg": reply_hex(1, NOW - 50, 1, &["600x1x0"])}));
    p.op(json!({"op": "recv", "peer": "bob", "msg": reply_hex(1, NOW + 10, 2, &["600x1x0"])}));
    let e = p.op(json!({"op": "offers"}));
    let offers = e[0]["offers"].as_array().unwrap();
    assert_eq!(offers[0]["amt"], 2);
    assert_eq!(offers[1]["amt"], 70_000);

    // V03: a timestamp more than 600 s ahead fails the connection.
    let e = p.op(json!({"op": "recv", "peer": "alice", "msg": reply_hex(1, NOW + 10 + 601, 1, &["600x3x0"])}));
    assert_eq!(
        e,
        [json!({"effect": "disconnect", "peer": "alice", "reason": "timestamp_in_future"})]
    );

    // V08: a malformed message: warning first, then the disconnect.
    let e = p.op(json!({"op": "recv", "peer": "bob", "msg": "015b00"}));
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e[0]["msg"].as_str().unwrap().starts_with("0001"));
    assert_eq!(
        e[1],
        json!({"effect": "disconnect", "peer": "bob", "reason": "malformed"})
    );
    // bob's offers went with the connection (default config).
    let e = p.op(json!({"op": "offers"}));
    assert_eq!(e, [json!({"effect": "offers", "offers": []})]);

    // set_channel: carol's channel closes; queries to her are refused (S02).
    p.op(json!({"op": "set_channel", "channel": chan("1x3x1", "carol", 1_000_000, 100_000, true, "closing")}));
    let e = p.op(json!({"op": "query", "peer": "carol", "flow_value": 1, "amt": 1}));
    assert_eq!(e[0]["reason"], "no_channel");

    // Malformed lines and unknown ops never stop the session.
    let e = p.line("this is not json");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["effect"], "log");
    let e = p.op(json!({"op": "tick"}));
    assert_eq!(e[0]["effect"], "log");
    let e = p.op(json!({"op": "teleport", "peer": "x"}));
    assert_eq!(e, [json!({"effect": "unsupported", "op": "teleport"})]);

    let (ok, stderr) = p.finish();
    assert!(ok);
    assert!(
        stderr.contains("line"),
        "errors reported on stderr: {stderr:?}"
    );
}

/// Same init and ops, same effects (pipe protocol determinism rule).
#[test]
fn pipe_is_deterministic() {
    let run = || {
        let mut p = Pipe::start(&[]);
        init(&mut p, json!({"obfuscate": true}));
        p.op(json!({"op": "connect", "peer": "alice"}));
        p.op(json!({"op": "connect", "peer": "bob"}));
        p.op(json!({"op": "connect", "peer": "carol"}));
        let e = p.op(json!({"op": "recv", "peer": "bob", "msg": query_hex(0, 100_000)}));
        p.finish();
        e
    };
    assert_eq!(run(), run());
}

/// `--fault` changes behaviour observably; `--list-faults` lists every fault.
#[test]
fn pipe_fault_flag() {
    let mut p = Pipe::start(&["--fault", "v01-accept-without-channel"]);
    init(&mut p, json!({}));
    let e = p.op(json!({"op": "recv", "peer": "erin", "msg": query_hex(1, 1)}));
    assert!(e.iter().all(|e| e["effect"] != "disconnect"), "{e:?}");
    p.finish();

    let out = Command::new(env!("CARGO_BIN_EXE_foaf"))
        .args(["pipe", "--list-faults"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), foaf_peer::Fault::ALL.len());
    assert!(text.contains("v02-accept-over-1000-scids\tV02\t"));

    let out = Command::new(env!("CARGO_BIN_EXE_foaf"))
        .args(["pipe", "--fault", "no-such-fault"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
