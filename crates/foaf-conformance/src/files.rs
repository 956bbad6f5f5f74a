//! Vector files: stable JSON formatting, writing, staleness check and loading.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::requirements::find;
use crate::vector::{Vector, FORMAT_VERSION};

/// A value short enough is written on one line; longer objects and arrays are broken over
/// lines, one member per line, except arrays of scalars (scid lists), which stay on one line.
const INLINE_WIDTH: usize = 160;

/// The file text of a vector: deterministic (field order is the struct's, `sets` is a
/// `BTreeMap`), ending in a newline.
pub fn to_text(v: &Vector) -> String {
    let value = serde_json::to_value(v).expect("vectors serialize");
    let mut s = String::new();
    write_value(&mut s, &value, 0);
    s.push('\n');
    s
}

fn write_value(out: &mut String, v: &Value, indent: usize) {
    let compact = v.to_string();
    let scalar_array =
        matches!(v, Value::Array(a) if a.iter().all(|x| !x.is_array() && !x.is_object()));
    if compact.len() <= INLINE_WIDTH || scalar_array || !(v.is_array() || v.is_object()) {
        out.push_str(&compact);
        return;
    }
    let pad = "  ".repeat(indent + 1);
    match v {
        Value::Array(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad);
                write_value(out, item, indent + 1);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            let _ = write!(out, "{}]", "  ".repeat(indent));
        }
        Value::Object(map) => {
            out.push_str("{\n");
            for (i, (k, item)) in map.iter().enumerate() {
                let _ = write!(out, "{pad}{}: ", Value::String(k.clone()));
                write_value(out, item, indent + 1);
                out.push_str(if i + 1 < map.len() { ",\n" } else { "\n" });
            }
            let _ = write!(out, "{}}}", "  ".repeat(indent));
        }
        _ => unreachable!(),
    }
}

/// Writes one `NAME.json` per vector into `dir` and removes stale `.json` files there.
pub fn write_all(dir: &Path, vectors: &[Vector]) -> Result<usize, String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let names: BTreeSet<String> = vectors.iter().map(|v| format!("{}.json", v.name)).collect();
    for entry in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let p = entry.map_err(|e| e.to_string())?.path();
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        if name.ends_with(".json") && !names.contains(&name) {
            fs::remove_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
    }
    let mut changed = 0;
    for v in vectors {
        let p = dir.join(format!("{}.json", v.name));
        let text = to_text(v);
        if fs::read_to_string(&p).ok().as_deref() != Some(text.as_str()) {
            fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// The files in `dir` that differ from what the scenarios generate (missing, stale, extra).
pub fn stale(dir: &Path, vectors: &[Vector]) -> Vec<String> {
    let mut out = Vec::new();
    let names: BTreeSet<String> = vectors.iter().map(|v| format!("{}.json", v.name)).collect();
    if let Ok(rd) = fs::read_dir(dir) {
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") && !names.contains(&name) {
                out.push(format!("{name}: no scenario generates it"));
            }
        }
    }
    for v in vectors {
        let p = dir.join(format!("{}.json", v.name));
        match fs::read_to_string(&p) {
            Err(_) => out.push(format!("{}.json: missing", v.name)),
            Ok(text) if text != to_text(v) => out.push(format!("{}.json: stale", v.name)),
            Ok(_) => {}
        }
    }
    out.sort();
    out
}

/// The suite's version: this crate's version and a hash of the vector set (each vector's
/// compact JSON, in name order), e.g. `0.1.0+vectors.3f9a0c1d22e4b5a6`. Two runs with the same
/// version ran the same vectors, whether built in or read from files. The hash is FNV-1a 64
/// (identification, not security).
pub fn suite_version(vectors: &[Vector]) -> String {
    let mut sorted: Vec<&Vector> = vectors.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for v in sorted {
        let json = serde_json::to_vec(v).expect("vectors serialize");
        for b in json.into_iter().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{}+vectors.{h:016x}", env!("CARGO_PKG_VERSION"))
}

/// Checks what the runner relies on: the format version, unique names, and that every id an
/// expectation names is declared by the vector and known to this suite.
pub fn validate(vectors: &[Vector]) -> Result<(), String> {
    let mut names = BTreeSet::new();
    for v in vectors {
        if v.format != FORMAT_VERSION {
            return Err(format!(
                "vector {}: format {} (this runner reads format {FORMAT_VERSION})",
                v.name, v.format
            ));
        }
        if !names.insert(v.name.as_str()) {
            return Err(format!("two vectors are named {}", v.name));
        }
        for id in v.expectation_ids() {
            if !v.requirements.contains(&id) {
                return Err(format!(
                    "vector {}: an expectation checks {id}, which the vector does not declare",
                    v.name
                ));
            }
            if find(&id).is_none() {
                return Err(format!("vector {}: unknown requirement id {id}", v.name));
            }
        }
    }
    Ok(())
}

/// Loads every `.json` vector in `dir`, sorted by file name.
pub fn load_dir(dir: &Path) -> Result<Vec<Vector>, String> {
    let mut paths: Vec<_> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text = fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: not a vector: {e}", p.display()))
        })
        .collect()
}

/// Keeps the vectors selected by `filter`: comma-separated items, each matching a vector whose
/// name equals it or one of whose requirement ids starts with it (`W` selects W01…W06).
pub fn select(vectors: Vec<Vector>, filter: &str) -> Vec<Vector> {
    let items: Vec<String> = filter
        .split(',')
        .map(|s| s.trim().to_ascii_uppercase())
        .filter(|s| !s.is_empty())
        .collect();
    vectors
        .into_iter()
        .filter(|v| {
            items.iter().any(|it| {
                v.name.eq_ignore_ascii_case(it)
                    || v.requirements
                        .iter()
                        .any(|r| r.to_ascii_uppercase().starts_with(it.as_str()))
            })
        })
        .collect()
}
