//! Drives the real `foaf` binary: `foaf sim paper-code` on the shipped top-20 subgraph, and
//! the input checks of `foaf sim` that must fail before a run, not after it.

use std::process::{Command, Output};

fn foaf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_foaf"))
        .args(args)
        .output()
        .unwrap()
}

fn out_dir(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("foaf-sim-paper-{}-{name}", std::process::id()));
    dir.to_string_lossy().into_owned()
}

fn subgraph() -> String {
    format!(
        "{}/../../data/topo-20210416-top20-subgraph.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn paper_code_writes_its_table_csvs_and_plots() {
    let dir = out_dir("run");
    let g = subgraph();
    let out = foaf(&[
        "sim",
        "paper-code",
        "--graph",
        &g,
        "--seeds",
        "2",
        "--rounds",
        "4",
        "--quiet",
        "--out",
        &dir,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    for s in [
        "before",
        "cycles4",
        "cycles5",
        "foaf",
        "mpp",
        "Fig. 1",
        "after the paper's 126000 operations",
    ] {
        assert!(table.contains(s), "{s}: {table}");
    }
    let summary = std::fs::read_to_string(format!("{dir}/paper_summary.csv")).unwrap();
    // 4 strategies x 15 figures, each with its parameters and the seed count.
    assert_eq!(summary.lines().count(), 1 + 4 * 15, "{summary}");
    // Where the paper's curves end: success when G first reached the paper's end bin; where
    // ours settle; our state after the paper's operation count.
    for figure in [
        ",success_at_paper_g,",
        ",operations_to_settle,",
        ",success_at_paper_operations,",
    ] {
        assert!(summary.contains(figure), "{figure}: {summary}");
    }
    assert!(summary
        .lines()
        .any(|l| l
            .starts_with("mpp,4,false,sender-only,global,10,1000,5001,4,2,success_rate,0.984,")));
    let rounds = std::fs::read_to_string(format!("{dir}/paper_rounds.csv")).unwrap();
    let seeds: std::collections::BTreeSet<&str> = rounds
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(9).unwrap())
        .collect();
    assert_eq!(seeds.into_iter().collect::<Vec<_>>(), ["1", "2"]);
    for f in [
        "paper_hops.csv",
        "paper_ginis.csv",
        "paper_payable_cdf.csv",
        "paper_success_by_hops.csv",
        "paper_success_vs_imbalance.png",
        "paper_imbalance_vs_operations.svg",
        "paper_gini_cdf.png",
        "paper_payable_cdf.png",
        "paper_hops.svg",
    ] {
        assert!(
            std::fs::metadata(format!("{dir}/{f}")).unwrap().len() > 0,
            "{f}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

// Issue: `--sample-sources 0` measured nothing yet printed "all ordered pairs"; 1 source was
// labelled the same way.
#[test]
fn sample_sources_zero_is_refused_and_one_is_labelled_as_a_sample() {
    for exp in ["imbalance", "paper-code"] {
        let out = foaf(&["sim", exp, "--sample-sources", "0", "--synthetic", "30"]);
        assert_eq!(out.status.code(), Some(2), "{exp}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--sample-sources"));
        assert!(out.stdout.is_empty());
    }
    let dir = out_dir("one");
    let out = foaf(&[
        "sim",
        "imbalance",
        "--synthetic",
        "60",
        "--sample-sources",
        "1",
        "--rounds",
        "1",
        "--strategies",
        "cycles4",
        "--initial",
        "coinflip",
        "--no-plots",
        "--quiet",
        "--out",
        &dir,
    ]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("from 1 sampled source"), "{table}");
    assert!(!table.contains("all ordered pairs"), "{table}");
    std::fs::remove_dir_all(&dir).ok();
}

// Issue: a bad `--out` was found only after the whole run.
#[test]
fn a_bad_out_directory_fails_before_the_run() {
    let file = out_dir("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    for exp in ["imbalance", "payments", "paper-code"] {
        let out = foaf(&["sim", exp, "--synthetic", "40", "--quiet", "--out", &file]);
        assert_eq!(out.status.code(), Some(2), "{exp}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--out"),
            "{exp}"
        );
        // Nothing ran: no table on stdout.
        assert!(out.stdout.is_empty(), "{exp}");
    }
    std::fs::remove_file(&file).ok();
}

// --parallel-channels paper and --funded-by-block on the top-20 subgraph: the counts are what
// a separate reading of the file gives (a Python count over its records: 11 nodes in 18 pairs
// with a both-ways channel funded by block 600,000, 5 of them with parallel channels).
#[test]
fn paper_preparation_and_block_filter_are_applied_and_reported() {
    let dir = out_dir("input");
    let g = subgraph();
    let out = foaf(&[
        "sim",
        "paper-code",
        "--graph",
        &g,
        "--parallel-channels",
        "paper",
        "--funded-by-block",
        "600000",
        "--seeds",
        "2",
        "--rounds",
        "2",
        "--strategies",
        "cycles4",
        "--no-plots",
        "--quiet",
        "--out",
        &dir,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    let want = "graph: 11 nodes, 18 node pairs, 5 of them with parallel channels";
    assert!(table.starts_with(&format!("input: {want}")), "{table}");
    assert!(table.contains("funded by block 600000"), "{table}");
    let note = std::fs::read_to_string(format!("{dir}/paper_input.txt")).unwrap();
    assert!(note.starts_with(want), "{note}");
    std::fs::remove_dir_all(&dir).ok();
    // Nothing funded by block 1: a clear input error before any run.
    let out = foaf(&["sim", "paper-code", "--graph", &g, "--funded-by-block", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no usable channel"));
    // A synthetic graph has no dump to prepare: refused by the argument parser.
    let out = foaf(&[
        "sim",
        "paper-code",
        "--synthetic",
        "30",
        "--parallel-channels",
        "paper",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

// --cycles5-loose runs cycles5 with the chosen channel not capped (strict = false in the
// parameters every CSV row carries); without it cycles5 stays strict.
#[test]
fn cycles5_loose_drops_the_cap_on_the_chosen_channel() {
    let g = subgraph();
    for (flag, strict) in [(None, "true"), (Some("--cycles5-loose"), "false")] {
        let dir = out_dir(&format!("loose-{strict}"));
        let mut args = vec![
            "sim",
            "paper-code",
            "--graph",
            &g,
            "--strategies",
            "cycles5",
            "--seeds",
            "1",
            "--rounds",
            "1",
            "--no-plots",
            "--quiet",
            "--out",
            &dir,
        ];
        args.extend(flag);
        let out = foaf(&args);
        assert!(out.status.success());
        let summary = std::fs::read_to_string(format!("{dir}/paper_summary.csv")).unwrap();
        assert!(
            summary
                .lines()
                .skip(1)
                .all(|l| l.starts_with(&format!("cycles5,5,{strict},"))),
            "{summary}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
