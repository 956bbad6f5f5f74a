//! The conformance suite against the `foaf pipe` built by this test run: the unbroken
//! implementation passes every vector, and every fault switch (`--list-faults`) is caught by
//! the vectors of the requirement it breaks (mutation testing of the suite).

use std::path::PathBuf;
use std::time::Duration;

use foaf_conformance::mutation::{list_faults, run_faults};
use foaf_conformance::{files, run_parallel, Outcome, Report, RunOptions, Vector};

fn vectors() -> Vec<Vector> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../vectors/conformance");
    files::load_dir(&dir).expect("vectors load")
}

fn pipe() -> RunOptions {
    let mut o = RunOptions::from_command_line("foaf pipe").unwrap();
    o.command[0] = env!("CARGO_BIN_EXE_foaf").into();
    // Generous: CI machines are shared; a hang is still caught.
    o.op_timeout = Duration::from_secs(20);
    o
}

fn jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[test]
fn foaf_pipe_passes_every_vector() {
    let vs = vectors();
    let results = run_parallel(&pipe(), &vs, jobs());
    let report = Report::of(results, Duration::ZERO);
    assert_eq!(
        report.failed(),
        0,
        "{}\n{}",
        report.table(),
        report.details()
    );
    // W06 is not observable through the pipe protocol unless the optional `features` op is
    // supported; everything else must have passed.
    for r in &report.results {
        if let Outcome::NotApplicable(_) = r.outcome {
            assert_eq!(r.requirements, vec!["W06"], "{} not applicable", r.name);
        }
    }
}

#[test]
fn every_fault_switch_is_caught() {
    let vs = vectors();
    let faults = list_faults(&pipe()).expect("--list-faults");
    assert!(!faults.is_empty());
    let outcomes = run_faults(&pipe(), &vs, &faults, jobs());
    let missed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.caught())
        .map(|o| {
            format!(
                "{} ({}): {} vectors ran, none failed",
                o.fault.name,
                o.fault.requirements.join(","),
                o.tested
            )
        })
        .collect();
    let caught = outcomes.len() - missed.len();
    println!("mutation score: {caught}/{}", outcomes.len());
    assert!(missed.is_empty(), "faults not caught: {missed:#?}");
}
