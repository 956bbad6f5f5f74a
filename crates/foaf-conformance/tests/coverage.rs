//! Every requirement id is tested by at least one vector, and vectors cite only known ids.

use std::collections::BTreeSet;

use foaf_conformance::requirements::REQUIREMENTS;
use foaf_conformance::scenarios;

#[test]
fn every_requirement_has_a_vector() {
    let cited: BTreeSet<String> = scenarios::all()
        .iter()
        .flat_map(|v| v.requirements.clone())
        .collect();
    let missing: Vec<&str> = REQUIREMENTS
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !cited.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "requirements without a vector: {missing:?}"
    );
}

#[test]
fn vectors_cite_only_known_ids_and_have_steps() {
    for v in scenarios::all() {
        assert!(!v.requirements.is_empty(), "{} cites nothing", v.name);
        for id in &v.requirements {
            assert!(
                REQUIREMENTS.iter().any(|(r, _)| r == id) || id.starts_with("R-"),
                "{} cites unknown id {id}",
                v.name
            );
        }
        assert!(v.steps.len() >= 2, "{} has no steps", v.name);
        assert_eq!(
            v.steps[0].op["op"], "init",
            "{} must start with init",
            v.name
        );
    }
}

#[test]
fn vectors_round_trip_through_their_file_text() {
    for v in scenarios::all() {
        let text = foaf_conformance::files::to_text(&v);
        let back: foaf_conformance::Vector = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v, "{}", v.name);
    }
}
