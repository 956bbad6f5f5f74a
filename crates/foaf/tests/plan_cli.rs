//! Drives the real `foaf` binary: `foaf plan` on the shipped example (examples/plan/node.json),
//! as JSON and as a table, with and without `--jit`, and the bad-input contract.

mod common;

use common::{foaf, foaf_ok};

use serde_json::Value;

fn example() -> String {
    format!(
        "{}/../../examples/plan/node.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn plan_json(extra: &[&str]) -> Value {
    let ex = example();
    let mut args = vec!["plan", ex.as_str(), "--json"];
    args.extend_from_slice(extra);
    let text = foaf_ok(&args);
    assert_eq!(text.lines().count(), 1);
    serde_json::from_str(&text).unwrap()
}

fn scids(r: &Value) -> Vec<&str> {
    r["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["scid"].as_str().unwrap())
        .collect()
}

// R: M01, M02, R-CM-1, R-REB-1, R-REB-2, R-REB-3, R-REB-4
#[test]
fn plan_on_the_shipped_example() {
    let v = plan_json(&[]);
    // ν = Σlocal/Σcapacity over active channels: 3.3e9 / 7e9 (the closing channel to gus is
    // left out; dave's two channels are one peer, M02).
    assert!((v["nu"].as_f64().unwrap() - 3.3 / 7.0).abs() < 1e-12);
    let peers = v["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 4, "gus (closing) is not counted, dave once");
    let dave = peers.iter().find(|p| p["peer"] == "dave").unwrap();
    assert_eq!(dave["capacity"], 2_000_000_000u64);
    assert_eq!(dave["role"], "source");

    let plan = v["plan"].as_array().unwrap();
    assert_eq!(plan.len(), 5);
    // First: the 3-cycle through alice's offered alice–bob channel, bob's full deficit
    // ⌊ν·1e9 − 1e8⌋ = 371428571 (below alice's offer of 5e8).
    assert_eq!(scids(&plan[0]), ["800000x1x0", "800100x10x0", "800000x2x0"]);
    assert_eq!(plan[0]["amount"], 371_428_571u64);
    // A 4-cycle through frank, a friend of a friend, capped by erin's Receive offer (4e8).
    assert_eq!(
        scids(&plan[1]),
        ["800000x1x0", "800100x12x0", "800100x11x1", "800000x5x0"]
    );
    assert_eq!(plan[1]["amount"], 400_000_000u64);
    // dave's surplus, leaving on his channel with the most local balance.
    assert_eq!(scids(&plan[2])[0], "800000x3x0");
    // Then back through bob, now at his target (deficit 0): no longer a sink, so the sender
    // rule lets him end above ν as long as G drops (R-REB-1, R-REB-5 (b)): what alice's offer
    // and surplus still allow, ¼ and ⅛ of it.
    for r in &plan[3..] {
        assert_eq!(scids(r), ["800000x1x0", "800100x10x0", "800000x2x0"]);
    }
    assert_eq!(plan[3]["amount"], 21_428_571u64);
    let mut g = v["imbalance"].as_f64().unwrap();
    for r in plan {
        // R-REB-5: zero fees, one amount on every hop.
        for h in r["hops"].as_array().unwrap() {
            assert_eq!(h["fee"], 0);
            assert_eq!(h["amount"], r["amount"]);
        }
        let after = r["imbalance_after"].as_f64().unwrap();
        assert!(after < g, "G must strictly drop: {g} -> {after}");
        g = after;
        // Never the stale offer (bob on 800100x14x0) nor the unknown channel (800200x99x0).
        assert!(!scids(r).contains(&"800100x14x0"));
        assert!(!scids(r).contains(&"800200x99x0"));
    }
    assert_eq!(v["imbalance_after_plan"].as_f64().unwrap(), g);
}

// R: R-JIT-1, R-JIT-2, R-JIT-4, R-JIT-5
#[test]
fn jit_decisions_on_the_shipped_example() {
    // bob's channel has 1e8 local; 3e8 to forward: shortfall 2e8, rebalance 1.25× = 2.5e8.
    let v = plan_json(&["--jit", "800000x2x0:300000000"]);
    let j = &v["jit"];
    assert_eq!(j["decision"], "rebalance");
    assert_eq!(j["shortfall"], 200_000_000u64);
    assert_eq!(j["rebalance"]["amount"], 250_000_000u64);
    assert_eq!(j["forward_on"], "800000x2x0");
    assert_eq!(j["hold_until"], 1_764_320_060u64);
    assert_eq!(scids(&j["rebalance"]).last(), Some(&"800000x2x0"));

    // Enough local already.
    let v = plan_json(&["--jit", "800000x1x0:1000"]);
    assert_eq!(v["jit"]["decision"], "forward");
    // M02: dave's parallel channel with more local carries it.
    let v = plan_json(&["--jit", "800000x4x0:800000000"]);
    assert_eq!(v["jit"]["scid"], "800000x3x0");
    // No offered cycle into erin can move 1.5e9.
    let v = plan_json(&["--jit", "800000x5x0:1700000000"]);
    assert_eq!(v["jit"]["decision"], "fail");
    assert_eq!(v["jit"]["failure"], "temporary_channel_failure");
    // Too close to expiry to hold.
    let v = plan_json(&["--jit", "800000x2x0:300000000", "--blocks", "10"]);
    assert_eq!(v["jit"]["reason"], "too_close_to_expiry");
}

#[test]
fn table_output() {
    let ex = example();
    let out = foaf(&["plan", &ex, "--jit", "800000x2x0:300000000"], None);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("ν = 0.471429"), "{text}");
    assert!(text.contains("plan: 5 rebalance(s)"), "{text}");
    assert!(text.contains(
        "carol -[800000x1x0]-> alice -[800100x12x0]-> frank -[800100x11x1]-> erin -[800000x5x0]-> carol"
    ));
    assert!(text.contains("jit: HTLC of 300000000 msat on 800000x2x0: shortfall 200000000 msat"));
}

#[test]
fn bad_input_is_exit_2_with_one_line() {
    let dir = std::env::temp_dir().join(format!("foaf-plan-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Each case names the field it must report; required fields (node, channels, and a
    // channel's scid, peer, capacity, local) are never defaulted (issue: a file without
    // "channels" planned an empty node, a missing "node" became "me").
    let cases = [
        ("not json", "not JSON"),
        (
            r#"{"node": "me", "now": 1, "channels": [{"scid": "1x2", "peer": "a", "capacity": 1, "local": 0}]}"#,
            "channels[0].scid",
        ),
        (
            r#"{"node": "me", "now": 1, "channels": [{"scid": "1x2x3", "peer": "a", "capacity": 1, "local": 2}]}"#,
            "channels[0].local",
        ),
        (
            r#"{"node": "me", "now": 1, "channels": [{"scid": "1x2x3", "peer": "a", "local": 0}]}"#,
            "channels[0].capacity",
        ),
        (
            r#"{"node": "me", "now": 1, "channels": [], "offers": [{"peer": "a", "scid": "1x2x3", "flow_value": 2, "amt": 1, "timestamp": 1}]}"#,
            "flow_value",
        ),
        (r#"{"node": "me", "channels": []}"#, "no time"),
        (r#"{"node": "me", "now": 1}"#, "channels: missing"),
        (
            r#"{"node": "me", "now": 1, "channels": {}}"#,
            "channels: expected a list",
        ),
        (r#"{"now": 1, "channels": []}"#, "node: missing"),
    ];
    for (i, (text, expect)) in cases.iter().enumerate() {
        let f = dir.join(format!("{i}.json"));
        std::fs::write(&f, text).unwrap();
        let out = foaf(&["plan", f.to_str().unwrap()], None);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(expect), "{err} should mention {expect}");
    }
    let ex = example();
    let out = foaf(&["plan", &ex, "--jit", "800000x2x0"], None);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Compares two JSON values: integers and strings exactly, other numbers within 1e-9.
fn same(a: &Value, b: &Value, path: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() <= 1e-9 {
                Ok(())
            } else {
                Err(format!("{path}: {x} != {y}"))
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Err(format!("{path}: {} items, expected {}", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .try_for_each(|(i, (x, y))| same(x, y, &format!("{path}[{i}]")))
        }
        (Value::Object(x), Value::Object(y)) => {
            let kx: Vec<_> = x.keys().collect();
            let ky: Vec<_> = y.keys().collect();
            if kx != ky {
                return Err(format!("{path}: keys {kx:?}, expected {ky:?}"));
            }
            x.iter()
                .try_for_each(|(k, v)| same(v, &y[k], &format!("{path}.{k}")))
        }
        _ if a == b => Ok(()),
        _ => Err(format!("{path}: {a} != {b}")),
    }
}

/// The planner vectors (vectors/planner/*.json, see its README): `foaf plan --json` on each
/// `node` (with `--jit` when given) must print `expected`. `FOAF_BLESS=1` rewrites `expected`
/// from the current output (then review the diff).
// R: R-REB-1, R-REB-2, R-REB-3, R-REB-4, R-JIT-1, R-JIT-2, R-JIT-4, R-JIT-5
#[test]
fn planner_vectors() {
    let dir = format!("{}/../../vectors/planner", env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var_os("FOAF_BLESS").is_some();
    let tmp = std::env::temp_dir().join(format!("foaf-plan-vectors-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    assert!(names.len() >= 5, "vectors missing in {dir}");
    let mut failures = Vec::new();
    for path in names {
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(!v["requirements"].as_array().unwrap().is_empty());
        let node = tmp.join("node.json");
        std::fs::write(&node, v["node"].to_string()).unwrap();
        let mut args = vec![
            "plan".to_owned(),
            node.to_str().unwrap().to_owned(),
            "--json".to_owned(),
        ];
        if let Some(j) = v.get("jit") {
            args.push("--jit".into());
            args.push(format!("{}:{}", j["scid"].as_str().unwrap(), j["amount"]));
            args.push("--blocks".into());
            args.push(j["blocks"].to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = foaf(&args, None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        if bless {
            v["expected"] = got;
            let mut text = serde_json::to_string_pretty(&v).unwrap();
            text.push('\n');
            std::fs::write(&path, text).unwrap();
        } else if let Err(e) = same(&got, &v["expected"], "expected") {
            failures.push(format!("{}: {e}", path.display()));
        }
    }
    std::fs::remove_dir_all(&tmp).unwrap();
    assert!(failures.is_empty(), "{failures:#?}");
}
