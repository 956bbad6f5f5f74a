//! Mutation testing of the suite itself: an implementation with fault switches
//! (`--list-faults`, `--fault NAME`, each breaking one rule) is run once per fault, and the
//! fault counts as caught when at least one vector citing its requirement ids fails.

use std::process::Command;

use crate::runner::{run_parallel, Outcome, RunOptions};
use crate::vector::Vector;

/// One fault switch of the implementation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The name passed to `--fault`.
    pub name: String,
    /// The requirement ids it breaks.
    pub requirements: Vec<String>,
    /// What it does, as listed.
    pub description: String,
}

/// A fault's result.
#[derive(Debug, Clone)]
pub struct FaultOutcome {
    /// The fault.
    pub fault: Fault,
    /// Vectors citing its ids that were run.
    pub tested: usize,
    /// How many of them failed.
    pub failed: usize,
}

impl FaultOutcome {
    /// At least one vector of the fault's ids failed.
    pub fn caught(&self) -> bool {
        self.failed > 0
    }
}

fn is_requirement_id(t: &str) -> bool {
    let b = t.as_bytes();
    (b.len() == 3 && b[0].is_ascii_uppercase() && b[1].is_ascii_digit() && b[2].is_ascii_digit())
        || (t.starts_with("R-") && t.len() > 2)
}

/// Parses `--list-faults` output: one fault a line, the name first, the requirement ids
/// anywhere on the line (`W05`, `R-JIT-1`), the rest a description. JSON lines
/// (`{"name":…,"requirements":[…]}` or `"id":…`) are accepted too.
pub fn parse_fault_list(text: &str) -> Vec<Fault> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('{') {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
                let name = v
                    .get("name")
                    .and_then(|n| n.as_str())
                    .unwrap_or("")
                    .to_owned();
                let mut ids: Vec<String> = v
                    .get("requirements")
                    .and_then(|r| r.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(id) = v.get("id").and_then(|i| i.as_str()) {
                    ids.push(id.to_owned());
                }
                let description = v
                    .get("description")
                    .and_then(|d| d.as_str())
                    .unwrap_or("")
                    .to_owned();
                if !name.is_empty() {
                    out.push(Fault {
                        name,
                        requirements: ids,
                        description,
                    });
                }
            }
            continue;
        }
        let mut tokens = line.split_whitespace();
        let Some(name) = tokens.next() else { continue };
        let name = name.trim_end_matches([':', ',']).to_owned();
        let rest: Vec<&str> = tokens.collect();
        let mut ids = Vec::new();
        for t in &rest {
            for part in t.split([',', '/']) {
                let p = part.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-'));
                if is_requirement_id(p) && !ids.iter().any(|i: &String| i == p) {
                    ids.push(p.to_owned());
                }
            }
        }
        out.push(Fault {
            name,
            requirements: ids,
            description: rest.join(" "),
        });
    }
    out
}

/// Runs `COMMAND --list-faults` and parses its output.
pub fn list_faults(opts: &RunOptions) -> Result<Vec<Fault>, String> {
    let out = Command::new(&opts.command[0])
        .args(&opts.command[1..])
        .arg("--list-faults")
        .output()
        .map_err(|e| format!("cannot run --list-faults: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{} --list-faults failed: {}",
            opts.command.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(parse_fault_list(&String::from_utf8_lossy(&out.stdout)))
}

/// Runs, for each fault, the vectors citing one of its ids against `COMMAND --fault NAME`.
pub fn run_faults(
    opts: &RunOptions,
    vectors: &[Vector],
    faults: &[Fault],
    jobs: usize,
) -> Vec<FaultOutcome> {
    faults
        .iter()
        .map(|fault| {
            let selected: Vec<Vector> = vectors
                .iter()
                .filter(|v| {
                    v.requirements
                        .iter()
                        .any(|r| fault.requirements.contains(r))
                })
                .cloned()
                .collect();
            let mut o = opts.clone();
            o.command.push("--fault".into());
            o.command.push(fault.name.clone());
            let results = run_parallel(&o, &selected, jobs);
            // Caught only by a failed expectation of one of the fault's own ids: a fault that
            // breaks V07 is not caught by a vector that fails on something else.
            FaultOutcome {
                fault: fault.clone(),
                tested: results.len(),
                failed: results
                    .iter()
                    .filter(|r| {
                        matches!(r.outcome, Outcome::Fail(_))
                            && r.expectations
                                .iter()
                                .any(|e| e.failed() && fault.requirements.contains(&e.id))
                    })
                    .count(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_json_fault_lists() {
        let text = "# faults\nreply_to_bad_flow  W05  answers flow_value 2\n\
                    no-rate-limit: V07, S05 (counts nothing)\n\
                    {\"name\":\"jit\",\"requirements\":[\"R-JIT-1\"]}\n";
        let f = parse_fault_list(text);
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].name, "reply_to_bad_flow");
        assert_eq!(f[0].requirements, vec!["W05"]);
        assert_eq!(f[1].name, "no-rate-limit");
        assert_eq!(f[1].requirements, vec!["V07", "S05"]);
        assert_eq!(f[2].requirements, vec!["R-JIT-1"]);
    }
}
