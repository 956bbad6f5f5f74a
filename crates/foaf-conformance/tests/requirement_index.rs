//! One requirement index that cannot drift (issue #12): the ids (and levels) of
//! docs/requirements.md, the ids of docs/bolt14.md's requirement table (§6) and the suite's
//! list (`foaf_conformance::requirements::REQUIREMENTS`) are the same, and every row of
//! docs/requirements.md names the function enforcing it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use foaf_conformance::requirements::{Level, REQUIREMENTS};

fn doc(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn is_id(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() == 3 && b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit))
        || s.starts_with("R-CM-")
        || s.starts_with("R-REB-")
        || s.starts_with("R-JIT-")
}

/// The cells of every table row whose first cell is a requirement id.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|cells| cells.first().is_some_and(|c| is_id(c)))
        .collect()
}

// R: #12 item 3 — fails when one list gains or loses an id, or a level differs.
#[test]
fn requirement_lists_agree() {
    let suite: BTreeMap<&str, Level> = REQUIREMENTS.iter().map(|r| (r.id, r.level)).collect();
    assert_eq!(
        suite.len(),
        REQUIREMENTS.len(),
        "duplicate id in REQUIREMENTS"
    );

    let req_rows = rows(&doc("requirements.md"));
    let mut listed: BTreeMap<String, Level> = BTreeMap::new();
    for cells in &req_rows {
        assert!(
            cells.len() >= 5,
            "row {cells:?}: id, level, ..., enforced in"
        );
        let level: Level = cells[1]
            .parse()
            .unwrap_or_else(|e| panic!("requirements.md {}: {e}", cells[0]));
        assert!(
            listed.insert(cells[0].clone(), level).is_none(),
            "requirements.md lists {} twice",
            cells[0]
        );
        let enforced = cells.last().unwrap();
        assert!(
            !enforced.is_empty(),
            "requirements.md {}: no \"enforced in\"",
            cells[0]
        );
    }
    let listed_ref: BTreeMap<&str, Level> = listed.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        listed_ref, suite,
        "docs/requirements.md (ids, levels) and REQUIREMENTS differ"
    );

    let spec = doc("bolt14.md");
    let table = &spec[spec
        .find("## 6. Requirement table")
        .expect("bolt14.md §6 requirement table")..];
    let table = &table[..table.find("\n## ").unwrap_or(table.len())];
    let mut spec_ids: Vec<String> = rows(table).into_iter().map(|c| c[0].clone()).collect();
    spec_ids.sort();
    let mut suite_ids: Vec<String> = suite.keys().map(|s| s.to_string()).collect();
    suite_ids.sort();
    assert_eq!(
        spec_ids, suite_ids,
        "docs/bolt14.md §6 ids and REQUIREMENTS differ"
    );
}
