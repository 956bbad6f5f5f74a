//! Drives the real `foaf` binary: `foaf sim imbalance` on a small seeded synthetic graph, with
//! the FOAF experiment switches, and the bad-input contract of `foaf sim payments`.

mod common;

use common::{foaf, foaf_ok};

fn out_dir(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("foaf-sim-cli-{}-{name}", std::process::id()));
    dir.to_string_lossy().into_owned()
}

/// The CSV's `foaf` row as (operations, failed, refused_gini, refused_target).
fn foaf_row(dir: &str) -> (u64, u64, u64, u64) {
    let csv = std::fs::read_to_string(format!("{dir}/imbalance_summary.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let row: Vec<&str> = lines
        .find(|l| l.split(',').nth(1) == Some("foaf"))
        .unwrap()
        .split(',')
        .collect();
    let num = |name: &str| row[col(name)].parse::<u64>().unwrap();
    (
        num("operations"),
        num("failed"),
        num("refused_gini"),
        num("refused_target"),
    )
}

fn imbalance(name: &str, extra: &[&str]) -> (u64, u64, u64, u64) {
    let dir = out_dir(name);
    let mut args = vec![
        "sim",
        "imbalance",
        "--synthetic",
        "200",
        "--strategies",
        "foaf",
        "--initial",
        "coinflip",
        "--rounds",
        "3",
        "--no-plots",
        "--quiet",
        "--out",
        dir.as_str(),
    ];
    args.extend_from_slice(extra);
    let table = foaf_ok(&args);
    assert!(
        table.contains("failed") && table.contains("foaf"),
        "{table}"
    );
    let row = foaf_row(&dir);
    std::fs::remove_dir_all(&dir).ok();
    row
}

// R: R-REB-5
#[test]
fn the_experiment_switches_change_what_hops_refuse() {
    let (ops, failed, gini, target) = imbalance("default", &[]);
    assert!(ops > 0 && gini > 0 && failed >= gini + target);
    let (ops, _, gini, _) = imbalance("lenient", &["--lenient-hops"]);
    assert!(ops > 0);
    assert_eq!(gini, 0, "no hop checks G with --lenient-hops");
    let (ops, aware_failed, _, _) = imbalance("aware", &["--reply-policy", "forward-aware"]);
    assert!(ops > 0 && aware_failed < failed);
}

#[test]
fn rejects_an_unknown_reply_policy_and_bad_sizes() {
    let out = foaf(&["sim", "imbalance", "--reply-policy", "generous"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("forward-aware"));
    let out = foaf(
        &["sim", "payments", "--min-sat", "10", "--max-sat", "5"],
        None,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--min-sat"));
    assert!(out.stdout.is_empty());
}
