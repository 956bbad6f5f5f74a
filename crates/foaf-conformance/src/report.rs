//! The report: a table per requirement id, the failures in detail, a summary line, JUnit XML.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::requirements::{summary, REQUIREMENTS};
use crate::runner::{Outcome, VectorResult};

/// Counts of one requirement id.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Vectors that passed.
    pub passed: usize,
    /// Vectors that failed.
    pub failed: usize,
    /// Vectors not applicable.
    pub not_applicable: usize,
}

/// The results of a run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Per vector.
    pub results: Vec<VectorResult>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

impl Report {
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
    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| f(&r.outcome)).count()
    }

    /// Per requirement id: known ids in `requirements.md` order, then any others sorted.
    pub fn by_requirement(&self) -> Vec<(String, Tally)> {
        let mut map: BTreeMap<String, Tally> = BTreeMap::new();
        for r in &self.results {
            for id in &r.requirements {
                let t = map.entry(id.clone()).or_default();
                match r.outcome {
                    Outcome::Pass => t.passed += 1,
                    Outcome::Fail(_) => t.failed += 1,
                    Outcome::NotApplicable(_) => t.not_applicable += 1,
                }
            }
        }
        let mut out = Vec::new();
        for (id, _) in REQUIREMENTS {
            if let Some(t) = map.remove(*id) {
                out.push((id.to_string(), t));
            }
        }
        out.extend(map);
        out
    }

    /// The requirement table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<10} {:<6} {:>7}  requirement",
            "id", "result", "vectors"
        );
        for (id, t) in self.by_requirement() {
            let result = if t.failed > 0 {
                "FAIL"
            } else if t.passed > 0 {
                "pass"
            } else {
                "n/a"
            };
            let total = t.passed + t.failed + t.not_applicable;
            let ok = if t.not_applicable == total {
                "-".to_string()
            } else {
                format!("{}/{}", t.passed, t.passed + t.failed)
            };
            let _ = writeln!(
                s,
                "{id:<10} {result:<6} {ok:>7}  {}",
                summary(&id).unwrap_or("")
            );
        }
        s
    }

    /// Every failed or not-applicable vector with its reasons.
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
            }
        }
        s
    }

    /// `N passed, N failed` (and not-applicable when any), with the wall time.
    pub fn summary_line(&self) -> String {
        let na = self.not_applicable();
        let na = if na > 0 {
            format!(", {na} not applicable")
        } else {
            String::new()
        };
        format!(
            "{} passed, {} failed{na} ({:.2} s)",
            self.passed(),
            self.failed(),
            self.elapsed.as_secs_f64()
        )
    }

    /// JUnit XML: one `testcase` per vector, classname `conformance.<first id>`.
    pub fn junit(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        let _ = writeln!(
            s,
            r#"<testsuite name="foaf-conformance" tests="{}" failures="{}" skipped="{}" time="{:.3}">"#,
            self.results.len(),
            self.failed(),
            self.not_applicable(),
            self.elapsed.as_secs_f64()
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
                Outcome::NotApplicable(why) => {
                    let _ = writeln!(
                        s,
                        ">\n    <skipped message=\"not applicable: {}\"/>\n  </testcase>",
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

    fn result(name: &str, ids: &[&str], outcome: Outcome) -> VectorResult {
        VectorResult {
            name: name.into(),
            requirements: ids.iter().map(|s| s.to_string()).collect(),
            outcome,
            elapsed: Duration::from_millis(5),
        }
    }

    fn sample() -> Report {
        Report {
            results: vec![
                result("a", &["W01"], Outcome::Pass),
                result(
                    "b",
                    &["W01", "V08"],
                    Outcome::Fail(vec!["step 3 <recv> & \"x\"".into()]),
                ),
                result(
                    "c",
                    &["W06"],
                    Outcome::NotApplicable("no features op".into()),
                ),
                result("d", &["R-JIT-1"], Outcome::Pass),
            ],
            elapsed: Duration::from_millis(1234),
        }
    }

    #[test]
    fn table_has_one_row_per_id_in_requirement_order() {
        let t = sample().table();
        let ids: Vec<&str> = t
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        assert_eq!(ids, vec!["W01", "W06", "V08", "R-JIT-1"]);
        assert!(t
            .lines()
            .any(|l| l.starts_with("W01") && l.contains("FAIL") && l.contains("1/2")));
        assert!(t.lines().any(|l| l.starts_with("W06") && l.contains("n/a")));
        assert_eq!(
            sample().summary_line(),
            "2 passed, 1 failed, 1 not applicable (1.23 s)"
        );
    }

    #[test]
    fn junit_counts_and_escapes() {
        let x = sample().junit();
        assert!(x.contains(r#"tests="4" failures="1" skipped="1""#), "{x}");
        assert!(x.contains("step 3 &lt;recv&gt; &amp; &quot;x&quot;"), "{x}");
        assert!(
            x.contains(r#"<testcase classname="conformance.W06" name="c [W06]""#),
            "{x}"
        );
        assert_eq!(x.matches("<testcase").count(), 4);
        assert_eq!(x.matches("</testcase>").count(), 2);
    }
}
