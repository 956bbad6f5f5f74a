//! Every requirement id is tested by at least one vector and has a fault switch (an umbrella
//! id through the ids it groups), and vectors cite only known ids.

use std::collections::BTreeSet;

use foaf_conformance::requirements::{children, is_umbrella, REQUIREMENTS, UMBRELLAS};
use foaf_conformance::scenarios;

/// Every id that states a check has a vector; an umbrella (M03) has none of its own (a vector
/// citing it would be a fake) and is covered exactly when every id it groups is. No exemptions.
// R: M03
#[test]
fn every_requirement_has_a_vector() {
    let cited: BTreeSet<String> = scenarios::all()
        .iter()
        .flat_map(|v| v.requirements.clone())
        .collect();
    let missing: Vec<&str> = REQUIREMENTS
        .iter()
        .map(|r| r.id)
        .filter(|id| !is_umbrella(id) && !cited.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "requirements without a vector: {missing:?}"
    );
    for (id, _) in UMBRELLAS {
        assert!(!cited.contains(*id), "a vector cites the umbrella {id}");
        let kids = children(id).unwrap();
        assert!(kids.len() >= 2, "{id} groups {kids:?}");
        assert!(
            kids.iter().all(|k| cited.contains(*k)),
            "{id} is not covered: {kids:?}"
        );
    }
}

/// Every id that states a check has a fault switch in `foaf pipe` (foaf-peer's `Fault`), so
/// `--mutation` can show its vectors catch a node breaking it; an umbrella has none of its
/// own and counts when every id it groups has one.
// R: M03
#[test]
fn every_requirement_has_a_fault() {
    let with_fault: BTreeSet<&str> = foaf_peer::Fault::ALL
        .iter()
        .map(|f| f.requirement())
        .collect();
    let missing: Vec<&str> = REQUIREMENTS
        .iter()
        .map(|r| r.id)
        .filter(|id| {
            let covered = match children(id) {
                Some(kids) => kids.iter().all(|k| with_fault.contains(k)),
                None => with_fault.contains(id),
            };
            !covered
        })
        .collect();
    assert!(
        missing.is_empty(),
        "requirements without a fault: {missing:?}"
    );
}

#[test]
fn vectors_cite_only_known_ids_and_have_steps() {
    for v in scenarios::all() {
        assert!(!v.requirements.is_empty(), "{} cites nothing", v.name);
        for id in &v.requirements {
            assert!(
                REQUIREMENTS.iter().any(|r| r.id == id),
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
