//! The runner against deliberately broken implementations (shell one-liners): a hang fails
//! the vector within the timeout and the run goes on, a crash is reported with the tail of
//! stderr, an implementation that does nothing fails what it should.

use std::time::{Duration, Instant};

use foaf_conformance::{run_all, scenarios, Outcome, RunOptions, Vector};

fn opts(script: &str) -> RunOptions {
    let mut o = RunOptions::from_command_line(&format!("sh -c {}", shlex_quote(script))).unwrap();
    o.op_timeout = Duration::from_millis(300);
    o
}

fn shlex_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn pick(names: &[&str]) -> Vec<Vector> {
    scenarios::all()
        .into_iter()
        .filter(|v| names.contains(&v.name.as_str()))
        .collect()
}

fn fails_with(o: &Outcome, needle: &str) -> bool {
    matches!(o, Outcome::Fail(why) if why.iter().any(|w| w.contains(needle)))
}

#[test]
fn a_hung_implementation_fails_each_vector_and_the_run_goes_on() {
    let vs = pick(&["w01_query_sent_exact", "s03_query_flow_value"]);
    let start = Instant::now();
    let results = run_all(&opts("read line; exec sleep 30"), &vs);
    assert_eq!(results.len(), 2);
    for r in &results {
        assert!(
            fails_with(&r.outcome, "no `done` within 300 ms"),
            "{:?}",
            r.outcome
        );
    }
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "the hang was not cut short"
    );
}

#[test]
fn a_crash_is_reported_with_the_tail_of_stderr() {
    let vs = pick(&["w01_query_sent_exact"]);
    let results = run_all(
        &opts("read line; echo 'panicked at src/pipe.rs:42' >&2; exit 101"),
        &vs,
    );
    let o = &results[0].outcome;
    assert!(fails_with(o, "exited with"), "{o:?}");
    assert!(fails_with(o, "panicked at src/pipe.rs:42"), "{o:?}");
}

#[test]
fn an_implementation_that_does_nothing_fails() {
    let vs = pick(&[
        "w01_query_sent_exact",
        "v01_query_from_peer_without_channel",
    ]);
    let results = run_all(
        &opts("while read l; do echo '{\"effect\":\"done\"}'; done"),
        &vs,
    );
    assert!(
        fails_with(&results[0].outcome, "missing effect: send to alice"),
        "{:?}",
        results[0].outcome
    );
    assert!(
        fails_with(&results[1].outcome, "missing effect: disconnect eve"),
        "{:?}",
        results[1].outcome
    );
}

#[test]
fn garbage_output_fails_the_vector() {
    let vs = pick(&["w01_query_sent_exact"]);
    let results = run_all(&opts("read l; echo 'hello'"), &vs);
    assert!(
        fails_with(&results[0].outcome, "not JSON"),
        "{:?}",
        results[0].outcome
    );
}

#[test]
fn an_unsupported_optional_op_is_not_applicable() {
    let vs = pick(&["w06_feature_bits"]);
    let script = "while read l; do case \"$l\" in *features*) echo '{\"effect\":\"unsupported\",\"op\":\"features\"}';; esac; echo '{\"effect\":\"done\"}'; done";
    let results = run_all(&opts(script), &vs);
    assert!(
        matches!(results[0].outcome, Outcome::NotApplicable(_)),
        "{:?}",
        results[0].outcome
    );
}

// R: #17 item 13 — an endless output line fails that vector with a clear message (the reader
// stops at the cap) and the run goes on; before the cap, `read_line` grew without bound.
#[test]
fn an_endless_output_line_fails_the_vector_and_the_run_goes_on() {
    let vs = pick(&["w01_query_sent_exact", "s03_query_flow_value"]);
    let mut o = opts("read line; exec cat /dev/zero");
    o.max_line_bytes = 64 * 1024;
    let start = Instant::now();
    let results = run_all(&o, &vs);
    assert_eq!(results.len(), 2);
    for r in &results {
        assert!(
            fails_with(&r.outcome, "output line longer than 65536 bytes"),
            "{:?}",
            r.outcome
        );
    }
    assert!(start.elapsed() < Duration::from_secs(10));
}

// R: #15 — pipe protocol v2 is backward compatible: an implementation that speaks only v1
// answers every other op `unsupported` and gets n/a for every vector that needs one (§3.2's
// `collect_offers`, §4–§5's `plan`, `htlc`, `require_offer`, W06's `features`, …), never a
// pass.
#[test]
fn a_v1_implementation_gets_not_applicable_for_v2_vectors() {
    let v1 = foaf_conformance::runner::V1_OPS;
    let vs: Vec<Vector> = scenarios::all()
        .into_iter()
        .filter(|v| {
            v.steps
                .iter()
                .any(|st| !v1.contains(&st.op["op"].as_str().unwrap_or("")))
        })
        .collect();
    for needed in ["r_cm_4_", "r_reb_6_", "r_reb_8_", "r_jit_"] {
        assert!(
            vs.iter().any(|v| v.name.starts_with(needed)),
            "no {needed}* vector selected"
        );
    }
    // Answers `unsupported` to every op outside v1, `done` to everything.
    let script = String::from(
        r#"while read l; do op=$(printf '%s' "$l" | sed -n 's/.*"op":"\([a-z_]*\)".*/\1/p'); case " V1 " in *" $op "*) ;; *) printf '{"effect":"unsupported","op":"%s"}\n' "$op";; esac; echo '{"effect":"done"}'; done"#,
    )
    .replace("V1", &v1.join(" "));
    for r in run_all(&opts(&script), &vs) {
        assert!(
            matches!(r.outcome, Outcome::NotApplicable(_)),
            "{}: {:?}",
            r.name,
            r.outcome
        );
    }
}
