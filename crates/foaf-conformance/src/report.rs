//! The report: a table per requirement id, the failures in detail, a summary line, JUnit XML.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};

use crate::expect::Verdict;
use crate::requirements::{children, order, summary, Level, UMBRELLAS};
use crate::runner::{Outcome, VectorResult};

/// Counts of one (id, level): vectors, and the expectations in them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Vectors in which every check of this (id, level) held.
    pub passed: usize,
    /// Vectors in which some check of it failed.
    pub failed: usize,
    /// Vectors citing the id that were not applicable, skipped, or whose checks of it were
    /// all skipped or not run.
    pub vectors_not_run: usize,
    /// Checks that held.
    pub checks_passed: usize,
    /// Checks that failed.
    pub checks_failed: usize,
    /// Checks not evaluated (an earlier step failed).
    pub not_run: usize,
    /// Checks the user skipped.
    pub skipped: usize,
}

impl Tally {
    /// `FAIL`, `pass`, `skip` or `n/a`.
    pub fn result(&self) -> &'static str {
        if self.failed > 0 {
            "FAIL"
        } else if self.passed > 0 {
            "pass"
        } else if self.skipped > 0 {
            "skip"
        } else {
            "n/a"
        }
    }
}

/// The results of a run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Per vector.
    pub results: Vec<VectorResult>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// The suite's version ([`crate::files::suite_version`]).
    pub suite_version: String,
    /// The implementation's command line or label.
    pub implementation: String,
}

impl Report {
    /// A report of `results` with no suite version or label (tests).
    pub fn of(results: Vec<VectorResult>, elapsed: Duration) -> Self {
        Report {
            results,
            elapsed,
            suite_version: String::new(),
            implementation: String::new(),
        }
    }
    /// Vectors passed.
    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Pass))
    }
    /// Vectors failed.
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Fail(_)))
    }
    /// Vectors not applicable.
    pub fn not_applicable(&self) -> usize {
        self.count(|o| matches!(o, Outcome::NotApplicable(_)))
    }
    /// Vectors skipped by the user.
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped(_)))
    }
    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| f(&r.outcome)).count()
    }

    /// Whether the run meets `require`: no failed expectation at that level or a more binding
    /// one (`Must` < `Should` < `May` < `Pinned`; `Pinned` demands everything).
    pub fn meets(&self, require: Level) -> bool {
        self.results
            .iter()
            .flat_map(|r| &r.expectations)
            .all(|e| !e.failed() || e.level > require)
    }

    /// Per (requirement id, level), in docs/requirements.md order then level order.
    pub fn by_requirement(&self) -> Vec<((String, Level), Tally)> {
        type Key = (usize, String, Level);
        let mut map: BTreeMap<Key, Tally> = BTreeMap::new();
        for r in &self.results {
            if r.expectations.is_empty() {
                for id in &r.requirements {
                    let level = crate::requirements::level_of(id, None);
                    map.entry((order(id), id.clone(), level))
                        .or_default()
                        .vectors_not_run += 1;
                }
            }
            // This vector's own counts per key, folded into one vector verdict each.
            let mut mine: BTreeMap<Key, Tally> = BTreeMap::new();
            for e in &r.expectations {
                let t = mine
                    .entry((order(&e.id), e.id.clone(), e.level))
                    .or_default();
                if e.skipped.is_some() {
                    t.skipped += 1;
                    continue;
                }
                match e.verdict {
                    Verdict::Pass => t.checks_passed += 1,
                    Verdict::Fail(_) => t.checks_failed += 1,
                    Verdict::NotRun(_) => t.not_run += 1,
                }
            }
            for (k, m) in mine {
                let t = map.entry(k).or_default();
                if m.checks_failed > 0 {
                    t.failed += 1;
                } else if m.checks_passed > 0 {
                    t.passed += 1;
                } else {
                    t.vectors_not_run += 1;
                }
                t.checks_passed += m.checks_passed;
                t.checks_failed += m.checks_failed;
                t.not_run += m.not_run;
                t.skipped += m.skipped;
            }
        }
        map.into_iter()
            .map(|((_, id, level), t)| ((id, level), t))
            .collect()
    }

    /// Per level: (ids passed, ids failed, ids n/a or skipped, expectations passed, failed).
    pub fn by_level(&self) -> Vec<(Level, [usize; 5])> {
        let rows = self.by_requirement();
        Level::ALL
            .into_iter()
            .map(|l| {
                let mut c = [0usize; 5];
                for ((_, level), t) in &rows {
                    if *level != l {
                        continue;
                    }
                    match t.result() {
                        "FAIL" => c[1] += 1,
                        "pass" => c[0] += 1,
                        _ => c[2] += 1,
                    }
                    c[3] += t.checks_passed;
                    c[4] += t.checks_failed;
                }
                (l, c)
            })
            .collect()
    }

    /// Each umbrella id ([`UMBRELLAS`]) with its result derived from its children's rows:
    /// `FAIL` when a row of a child failed, `pass` when every child has rows and all passed,
    /// else `n/a`; and (children that passed, children).
    pub fn umbrellas(&self) -> Vec<(&'static str, &'static str, usize, usize)> {
        let rows = self.by_requirement();
        UMBRELLAS
            .iter()
            .map(|(id, _)| {
                let kids = children(id).unwrap_or_default();
                let results: Vec<Vec<&str>> = kids
                    .iter()
                    .map(|k| {
                        rows.iter()
                            .filter(|((i, _), _)| i == k)
                            .map(|(_, t)| t.result())
                            .collect()
                    })
                    .collect();
                let passed = results
                    .iter()
                    .filter(|r| !r.is_empty() && r.iter().all(|x| *x == "pass"))
                    .count();
                let result = if results.iter().flatten().any(|x| *x == "FAIL") {
                    "FAIL"
                } else if passed == kids.len() && !kids.is_empty() {
                    "pass"
                } else {
                    "n/a"
                };
                (*id, result, passed, kids.len())
            })
            .collect()
    }

    /// The requirement table: one row per (id, level), and one per umbrella id (its children
    /// passed out of its children, instead of vectors).
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<9} {:<6} {:<6} {:>7}  requirement",
            "id", "level", "result", "vectors"
        );
        let mut lines: Vec<(usize, String)> = Vec::new();
        for ((id, level), t) in self.by_requirement() {
            // Vectors in which this (id, level) held, out of those that checked it.
            let checks = if t.passed + t.failed == 0 {
                "-".to_string()
            } else {
                format!("{}/{}", t.passed, t.passed + t.failed)
            };
            lines.push((
                order(&id),
                format!(
                    "{id:<9} {:<6} {:<6} {checks:>7}  {}",
                    level.label(),
                    t.result(),
                    summary(&id).unwrap_or("")
                ),
            ));
        }
        for (id, result, passed, of) in self.umbrellas() {
            let level = crate::requirements::level_of(id, None);
            lines.push((
                order(id),
                format!(
                    "{id:<9} {:<6} {result:<6} {:>7}  umbrella: holds when its {of} ids hold",
                    level.label(),
                    format!("{passed}/{of} ids"),
                ),
            ));
        }
        // Stable: an id's level rows keep their order.
        lines.sort_by_key(|(o, _)| *o);
        for (_, l) in lines {
            let _ = writeln!(s, "{l}");
        }
        s
    }

    /// One line per level: requirement ids and checks passed and failed.
    pub fn level_summary(&self) -> String {
        let mut s = String::new();
        for (l, [ip, ifl, ina, ep, ef]) in self.by_level() {
            if ip + ifl + ina == 0 {
                continue;
            }
            let _ = writeln!(
                s,
                "{:<7} {ip} ids pass, {ifl} fail, {ina} n/a or skipped; {ep} checks pass, {ef} fail",
                format!("{}:", l.label())
            );
        }
        s
    }

    /// Every failed, not-applicable or skipped vector with its reasons, and every skipped id.
    pub fn details(&self) -> String {
        let mut s = String::new();
        for r in &self.results {
            match &r.outcome {
                Outcome::Pass => {}
                Outcome::Fail(why) => {
                    let _ = writeln!(s, "FAIL {} [{}]", r.name, r.requirements.join(" "));
                    for w in why.iter().take(12) {
                        let _ = writeln!(s, "  - {w}");
                    }
                    if why.len() > 12 {
                        let _ = writeln!(s, "  - … {} more", why.len() - 12);
                    }
                }
                Outcome::NotApplicable(why) => {
                    let _ = writeln!(s, "n/a  {} [{}]: {why}", r.name, r.requirements.join(" "));
                }
                Outcome::Skipped(why) => {
                    let _ = writeln!(s, "skip {} [{}]: {why}", r.name, r.requirements.join(" "));
                }
            }
        }
        let mut ids: BTreeMap<(usize, String), (String, usize)> = BTreeMap::new();
        for e in self.results.iter().flat_map(|r| &r.expectations) {
            if let Some(why) = &e.skipped {
                ids.entry((order(&e.id), e.id.clone()))
                    .or_insert_with(|| (why.clone(), 0))
                    .1 += 1;
            }
        }
        for ((_, id), (why, n)) in ids {
            let _ = writeln!(s, "skip {id} ({n} checks): {why}");
        }
        s
    }

    /// `N passed, N failed` (and not applicable and skipped when any), with the wall time.
    pub fn summary_line(&self) -> String {
        let mut extra = String::new();
        let na = self.not_applicable();
        if na > 0 {
            let _ = write!(extra, ", {na} not applicable");
        }
        let sk = self.skipped();
        if sk > 0 {
            let _ = write!(extra, ", {sk} skipped");
        }
        format!(
            "{} passed, {} failed{extra} ({:.2} s)",
            self.passed(),
            self.failed(),
            self.elapsed.as_secs_f64()
        )
    }

    /// The JSON report: the suite version, the implementation, the summary per level, and per
    /// vector every expectation with its id, level, result and message.
    pub fn json(&self, require: Level) -> Value {
        let vectors: Vec<Value> = self
            .results
            .iter()
            .map(|r| {
                let (outcome, reason) = match &r.outcome {
                    Outcome::Pass => ("pass", None),
                    Outcome::Fail(_) => ("fail", None),
                    Outcome::NotApplicable(w) => ("not_applicable", Some(w.clone())),
                    Outcome::Skipped(w) => ("skipped", Some(w.clone())),
                };
                let exps: Vec<Value> = r
                    .expectations
                    .iter()
                    .map(|e| {
                        let (result, message) = match (&e.skipped, &e.verdict) {
                            (Some(w), _) => ("skipped", Some(w.clone())),
                            (None, Verdict::Pass) => ("pass", None),
                            (None, Verdict::Fail(w)) => ("fail", Some(w.clone())),
                            (None, Verdict::NotRun(w)) => ("not_run", Some(w.clone())),
                        };
                        json!({
                            "step": e.step,
                            "op": e.op,
                            "id": e.id,
                            "level": e.level,
                            "check": e.check,
                            "result": result,
                            "message": message,
                        })
                    })
                    .collect();
                json!({
                    "name": r.name,
                    "requirements": r.requirements,
                    "outcome": outcome,
                    "reason": reason,
                    "elapsed_ms": r.elapsed.as_millis() as u64,
                    "expectations": exps,
                })
            })
            .collect();
        let levels: serde_json::Map<String, Value> = self
            .by_level()
            .into_iter()
            .map(|(l, [ip, ifl, ina, ep, ef])| {
                (
                    l.as_str().to_string(),
                    json!({"ids_passed": ip, "ids_failed": ifl, "ids_not_run": ina,
                           "checks_passed": ep, "checks_failed": ef}),
                )
            })
            .collect();
        let requirements: Vec<Value> = self
            .by_requirement()
            .into_iter()
            .map(|((id, level), t)| {
                json!({"id": id, "level": level, "result": t.result(),
                       "vectors_passed": t.passed, "vectors_failed": t.failed,
                       "checks_passed": t.checks_passed, "checks_failed": t.checks_failed,
                       "checks_not_run": t.not_run, "checks_skipped": t.skipped})
            })
            .collect();
        json!({
            "suite": "foaf-conformance",
            "suite_version": self.suite_version,
            "implementation": self.implementation,
            "require": require,
            "meets_require": self.meets(require),
            "summary": {
                "vectors_passed": self.passed(),
                "vectors_failed": self.failed(),
                "vectors_not_applicable": self.not_applicable(),
                "vectors_skipped": self.skipped(),
                "elapsed_ms": self.elapsed.as_millis() as u64,
                "levels": levels,
            },
            "requirements": requirements,
            "umbrellas": self.umbrellas().into_iter().map(|(id, result, passed, of)| {
                json!({"id": id, "children": children(id).unwrap_or_default(),
                       "result": result, "children_passed": passed, "children_total": of})
            }).collect::<Vec<_>>(),
            "vectors": vectors,
        })
    }

    /// JUnit XML: one `testcase` per vector, classname `conformance.<first id>`; the suite
    /// version is a property.
    pub fn junit(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        let _ = writeln!(
            s,
            r#"<testsuite name="foaf-conformance" tests="{}" failures="{}" skipped="{}" time="{:.3}">"#,
            self.results.len(),
            self.failed(),
            self.not_applicable() + self.skipped(),
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(
            s,
            "  <properties>\n    <property name=\"suite_version\" value=\"{}\"/>\n    <property name=\"implementation\" value=\"{}\"/>\n  </properties>",
            xml(&self.suite_version),
            xml(&self.implementation)
        );
        for r in &self.results {
            let class = r.requirements.first().map(String::as_str).unwrap_or("none");
            let _ = write!(
                s,
                r#"  <testcase classname="conformance.{}" name="{} [{}]" time="{:.3}""#,
                xml(class),
                xml(&r.name),
                xml(&r.requirements.join(" ")),
                r.elapsed.as_secs_f64()
            );
            match &r.outcome {
                Outcome::Pass => {
                    let _ = writeln!(s, "/>");
                }
                Outcome::Fail(why) => {
                    let first = why.first().map(String::as_str).unwrap_or("failed");
                    let _ = writeln!(
                        s,
                        ">\n    <failure message=\"{}\">{}</failure>\n  </testcase>",
                        xml(first),
                        xml(&why.join("\n"))
                    );
                }
                Outcome::NotApplicable(why) | Outcome::Skipped(why) => {
                    let kind = if matches!(r.outcome, Outcome::Skipped(_)) {
                        "skipped"
                    } else {
                        "not applicable"
                    };
                    let _ = writeln!(
                        s,
                        ">\n    <skipped message=\"{kind}: {}\"/>\n  </testcase>",
                        xml(why)
                    );
                }
            }
        }
        let _ = writeln!(s, "</testsuite>");
        s
    }
}

/// Escapes text for XML attributes and content (control characters other than tab and
/// newline, which XML 1.0 forbids, are dropped).
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Expectation;

    fn exp(id: &str, level: Level, verdict: Verdict) -> Expectation {
        Expectation {
            step: Some(3),
            op: "recv".into(),
            id: id.into(),
            level,
            check: "c".into(),
            verdict,
            skipped: None,
        }
    }

    fn result(name: &str, ids: &[&str], outcome: Outcome, exps: Vec<Expectation>) -> VectorResult {
        VectorResult {
            name: name.into(),
            requirements: ids.iter().map(|s| s.to_string()).collect(),
            outcome,
            expectations: exps,
            elapsed: Duration::from_millis(5),
            transcript: Vec::new(),
        }
    }

    fn sample() -> Report {
        let fail = Verdict::Fail("step 3 <recv> & \"x\"".into());
        Report::of(
            vec![
                result(
                    "a",
                    &["W01"],
                    Outcome::Pass,
                    vec![exp("W01", Level::Must, Verdict::Pass)],
                ),
                result(
                    "b",
                    &["W01", "A01"],
                    Outcome::Fail(vec!["step 3 <recv> & \"x\"".into()]),
                    vec![
                        exp("W01", Level::Must, Verdict::Pass),
                        exp("A01", Level::Should, Verdict::Pass),
                        exp("A01", Level::Pinned, fail),
                    ],
                ),
                result(
                    "c",
                    &["W06"],
                    Outcome::NotApplicable("no features op".into()),
                    vec![],
                ),
                result(
                    "d",
                    &["R-JIT-1"],
                    Outcome::Pass,
                    vec![exp("R-JIT-1", Level::May, Verdict::Pass)],
                ),
            ],
            Duration::from_millis(1234),
        )
    }

    /// M03 holds exactly when every R-REB-* and R-JIT-* id does, fails when one fails.
    // R: M03
    #[test]
    fn umbrella_follows_its_children() {
        let kids = crate::requirements::children("M03").unwrap();
        assert_eq!(kids.len(), 16);
        let all = |fail: Option<&str>| {
            let results = kids
                .iter()
                .map(|k| {
                    let v = if Some(*k) == fail {
                        Verdict::Fail("x".into())
                    } else {
                        Verdict::Pass
                    };
                    let o = if Some(*k) == fail {
                        Outcome::Fail(vec!["x".into()])
                    } else {
                        Outcome::Pass
                    };
                    result(k, &[k], o, vec![exp(k, Level::Must, v)])
                })
                .collect();
            Report::of(results, Duration::ZERO).umbrellas()[0]
        };
        assert_eq!(all(None), ("M03", "pass", 16, 16));
        assert_eq!(all(Some("R-REB-6")), ("M03", "FAIL", 15, 16));
    }

    #[test]
    fn table_has_one_row_per_id_and_level_in_requirement_order() {
        let t = sample().table();
        let rows: Vec<(&str, &str)> = t
            .lines()
            .skip(1)
            .map(|l| {
                let mut w = l.split_whitespace();
                (w.next().unwrap(), w.next().unwrap())
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                ("W01", "MUST"),
                ("W06", "pinned"),
                ("A01", "SHOULD"),
                ("A01", "pinned"),
                ("M03", "pinned"),
                ("R-JIT-1", "MAY")
            ]
        );
        // R: M03 — the umbrella's row is derived from its children: one of 16 ran.
        let m03 = t.lines().find(|l| l.starts_with("M03")).unwrap();
        assert!(m03.contains("n/a") && m03.contains("1/16 ids"), "{m03}");
        assert!(t
            .lines()
            .any(|l| l.starts_with("A01") && l.contains("pinned") && l.contains("FAIL")));
        assert!(t
            .lines()
            .any(|l| l.starts_with("A01") && l.contains("SHOULD") && l.contains("pass")));
        assert!(t.lines().any(|l| l.starts_with("W06") && l.contains("n/a")));
        assert_eq!(
            sample().summary_line(),
            "2 passed, 1 failed, 1 not applicable (1.23 s)"
        );
    }

    #[test]
    fn require_decides_by_the_level_of_the_failed_checks() {
        let r = sample();
        // Only a pinned check failed: conformant at MUST, SHOULD and MAY, not at pinned.
        assert!(r.meets(Level::Must));
        assert!(r.meets(Level::Should));
        assert!(r.meets(Level::May));
        assert!(!r.meets(Level::Pinned));
        let mut r2 = sample();
        r2.results[1].expectations[1].verdict = Verdict::Fail("x".into());
        assert!(r2.meets(Level::Must));
        assert!(!r2.meets(Level::Should));
        // A skipped failure does not count.
        r2.results[1].expectations[1].skipped = Some("known".into());
        assert!(r2.meets(Level::Should));
    }

    #[test]
    fn json_names_each_expectation_with_id_and_level() {
        let j = sample().json(Level::Must);
        assert_eq!(j["meets_require"], true);
        let b = &j["vectors"][1];
        assert_eq!(b["outcome"], "fail");
        assert_eq!(b["expectations"][2]["id"], "A01");
        assert_eq!(b["expectations"][2]["level"], "pinned");
        assert_eq!(b["expectations"][2]["result"], "fail");
        assert_eq!(j["summary"]["levels"]["pinned"]["ids_failed"], 1);
        assert_eq!(j["summary"]["levels"]["should"]["ids_passed"], 1);
    }

    #[test]
    fn junit_counts_and_escapes() {
        let x = sample().junit();
        assert!(x.contains(r#"tests="4" failures="1" skipped="1""#), "{x}");
        assert!(x.contains("step 3 &lt;recv&gt; &amp; &quot;x&quot;"), "{x}");
        assert!(x.contains(r#"<property name="suite_version""#), "{x}");
        assert!(
            x.contains(r#"<testcase classname="conformance.W06" name="c [W06]""#),
            "{x}"
        );
        assert_eq!(x.matches("<testcase").count(), 4);
        assert_eq!(x.matches("</testcase>").count(), 2);
    }
}
