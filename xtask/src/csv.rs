//! `cargo xtask csv`: extracts the message formats of `docs/bolt14.md` into the BOLT CSV
//! format and writes them to `interop/bolt14.csv`, or with `--check` fails when the committed
//! file differs from what the spec text says.
//!
//! The extractor is this project's own reading of the grammar of the bolts repository's
//! `tools/extract-formats.py` (CC0): a `1. type: N (`name`)` line, a `2. data:` line, then
//! indented `* [`type`:`field`]` lines (`count*type` for arrays); TLV streams
//! (`1. `tlv_stream`: `name``, `2. types:`, indented type blocks) and subtypes
//! (`1. subtype: `name``). A type line that does not match exactly is not a message, which is
//! how a malformed definition shows up: its message is missing from the CSV (tested below).
//! The output is what that tool prints, line for line, after a "do not edit" header; tools
//! that load it (pyln-proto's `MessageNamespace.load_csv`, lnprototest's `with_proposal`,
//! Electrum's codec) are given the lines that do not start with `#`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::vectors::workspace_root;

/// Arguments of `cargo xtask csv`.
#[derive(clap::Args)]
pub struct Args {
    /// Do not write: exit non-zero if interop/bolt14.csv differs from docs/bolt14.md's text.
    #[arg(long)]
    check: bool,
    /// Print the CSV lines extracted from another Markdown file (e.g. a BOLT) and exit.
    #[arg(long, value_name = "FILE", conflicts_with = "check")]
    extract: Option<PathBuf>,
}

/// The header of the generated file. Loaders skip lines starting with `#`.
pub const HEADER: &str = "# BOLT #14 message formats, extracted from docs/bolt14.md by `cargo xtask csv`: do not edit.\n\
# The format of the bolts repository's tools/extract-formats.py; loaders skip lines starting with '#'.\n";

/// The spec text.
pub fn spec_path() -> PathBuf {
    workspace_root().join("docs").join("bolt14.md")
}

/// The generated CSV.
pub fn csv_path() -> PathBuf {
    workspace_root().join("interop").join("bolt14.csv")
}

/// The whole generated file for a spec text: the header, then one CSV line per extracted line.
pub fn generate(spec: &str) -> Result<String, String> {
    let mut out = String::from(HEADER);
    for line in extract(spec)? {
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    if let Some(path) = &args.extract {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for line in extract(&text)? {
            println!("{line}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let spec = std::fs::read_to_string(spec_path())
        .map_err(|e| format!("cannot read {}: {e}", spec_path().display()))?;
    let want = generate(&spec)?;
    let path = csv_path();
    let messages = want.lines().filter(|l| l.starts_with("msgtype,")).count();
    if args.check {
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have == want {
            println!("{} up to date ({messages} messages)", path.display());
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!(
            "{} differs from the message definitions in {}: run `cargo xtask csv` and commit the result",
            path.display(),
            spec_path().display()
        );
        return Ok(ExitCode::FAILURE);
    }
    std::fs::write(&path, &want).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("{} written ({messages} messages)", path.display());
    Ok(ExitCode::SUCCESS)
}

/// The CSV lines (without header) for the message, TLV and subtype definitions in `spec`, or
/// the line at which a TLV stream or subtype definition is cut short (the bolts tool stops
/// with an error there too).
///
/// One quirk of the bolts tool is kept on purpose, since the CSV must be what it extracts: the
/// line that ends a top-level block (the first line after a type line without `2. data:`,
/// after the last data line, after a TLV stream's last type) is consumed, so a definition
/// written directly below another one, without a blank line between, is skipped.
pub fn extract(spec: &str) -> Result<Vec<String>, String> {
    let lines: Vec<&str> = spec.lines().map(str::trim_end).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        // Every definition reads the line after its first one before printing anything; at the
        // end of the text the bolts tool stops there, and so do we.
        if i == lines.len() {
            break;
        }
        if let Some((value, name)) = type_line(line) {
            out.push(format!("msgtype,{name},{value}"));
            i = data_block(&lines, i, &format!("msgdata,{name}"), &mut out) + 1;
        } else if let Some(stream) =
            list_item(line).and_then(|r| backticked_after(r, "`tlv_stream`: "))
        {
            i = tlv_block(&lines, i, stream, &mut out)? + 1;
        } else if let Some(name) = list_item(line).and_then(|r| backticked_after(r, "subtype: ")) {
            if !lines.get(i).is_some_and(|l| is_data_start(l)) {
                return Err(format!(
                    "line {}: expected \"2. data:\" after subtype {name}",
                    i + 1
                ));
            }
            out.push(format!("subtype,{name}"));
            i = fields(&lines, i + 1, &format!("subtypedata,{name}"), &mut out) + 1;
        }
    }
    Ok(out)
}

/// After a type line: an optional `2. data:` line and its fields. Returns the index of the
/// first line that is neither.
fn data_block(lines: &[&str], i: usize, prefix: &str, out: &mut Vec<String>) -> usize {
    match lines.get(i) {
        Some(l) if is_data_start(l.trim_start()) => fields(lines, i + 1, prefix, out),
        _ => i,
    }
}

/// A `1. `tlv_stream`: `name`` block: `2. types:`, then indented type blocks. Returns the
/// index of the line that ends it.
fn tlv_block(
    lines: &[&str],
    mut i: usize,
    stream: &str,
    out: &mut Vec<String>,
) -> Result<usize, String> {
    if lines.get(i).and_then(|l| list_marker(l, "2.")) != Some("types:") {
        return Err(format!(
            "line {}: expected \"2. types:\" after tlv_stream {stream}",
            i + 1
        ));
    }
    i += 1;
    while let Some((value, name)) = lines.get(i).and_then(|l| type_line(l.trim_start())) {
        out.push(format!("tlvtype,{stream},{name},{value}"));
        i = data_block(lines, i + 1, &format!("tlvdata,{stream},{name}"), out);
    }
    Ok(i)
}

/// Consecutive data lines from `i`, each as `PREFIX,field,type,count`.
fn fields(lines: &[&str], mut i: usize, prefix: &str, out: &mut Vec<String>) -> usize {
    while let Some((typefield, name)) = lines.get(i).and_then(|l| data_line(l)) {
        let (count, ty) = typefield.split_once('*').unwrap_or(("", typefield));
        out.push(format!("{prefix},{name},{ty},{count}"));
        i += 1;
    }
    i
}

/// `1. X` or `* X` (the tool accepts ordered and unordered lists): returns `X`.
fn list_item(line: &str) -> Option<&str> {
    list_marker(line, "1.")
}

fn list_marker<'a>(line: &'a str, ordinal: &str) -> Option<&'a str> {
    line.strip_prefix(ordinal)
        .or_else(|| line.strip_prefix('*'))
        .and_then(|r| r.strip_prefix(' '))
}

fn is_data_start(line: &str) -> bool {
    list_marker(line, "2.") == Some("data:")
}

/// `prefix` then a backticked identifier ending the line.
fn backticked_after<'a>(rest: &'a str, prefix: &str) -> Option<&'a str> {
    let name = rest
        .strip_prefix(prefix)?
        .strip_prefix('`')?
        .strip_suffix('`')?;
    is_ident(name, |c| c.is_ascii_alphanumeric() || c == '_').then_some(name)
}

/// `1. type: VALUE (`name`)`, optionally followed by ` (`option`)`: returns (VALUE, name).
fn type_line(line: &str) -> Option<(&str, &str)> {
    let rest = list_item(line)?.strip_prefix("type: ")?;
    let (value, rest) = rest.split_once(' ')?;
    if !is_ident(value, |c| {
        c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '|'
    }) {
        return None;
    }
    let rest = rest.strip_prefix("(`")?;
    let (name, rest) = rest.split_once("`)")?;
    if !is_ident(name, |c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let option_ok = rest.is_empty()
        || rest
            .strip_prefix(" (")
            .and_then(|o| o.strip_suffix("`)"))
            .map(|o| o.strip_prefix('`').unwrap_or(o))
            .is_some_and(|o| !o.contains([')', '`']));
    option_ok.then_some((value, name))
}

/// An indented `* [`typefield`:`name`]` (or `N. [`…`]`) line: returns (typefield, name).
fn data_line(line: &str) -> Option<(&str, &str)> {
    let trimmed = line.trim_start();
    if trimmed.len() == line.len() {
        return None; // data lines are indented
    }
    let rest = trimmed
        .strip_prefix('*')
        .or_else(|| {
            let digits = trimmed.find(|c: char| !c.is_ascii_digit())?;
            (digits > 0).then(|| trimmed[digits..].strip_prefix('.'))?
        })?
        .strip_prefix(" [`")?
        .strip_suffix("`]")?;
    let (typefield, name) = rest.split_once("`:`")?;
    let typefield_ok = is_ident(typefield, |c| {
        c.is_ascii_alphanumeric() || "-._*+".contains(c)
    });
    let name_ok = is_ident(name, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
    });
    (typefield_ok && name_ok).then_some((typefield, name))
}

fn is_ident(s: &str, ok: impl Fn(char) -> bool) -> bool {
    !s.is_empty() && s.chars().all(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped CSV is what the spec text says (W01, W02): the test fails until
    /// `cargo xtask csv` is run and the result committed.
    #[test]
    fn shipped_csv_equals_the_spec_text() {
        // R: W01, W02
        let spec = std::fs::read_to_string(spec_path()).unwrap();
        let shipped = std::fs::read_to_string(csv_path()).unwrap();
        assert_eq!(shipped, generate(&spec).unwrap(), "run `cargo xtask csv`");
    }

    /// Both messages are extracted, with every field of §2.2–2.3 and nothing undefined: every
    /// field type is a BOLT fundamental type (a stream or subtype name would need definitions).
    #[test]
    fn spec_text_yields_both_messages_with_known_types() {
        // R: W01, W02
        let spec = std::fs::read_to_string(spec_path()).unwrap();
        let csv = extract(&spec).unwrap();
        let types: Vec<&str> = csv
            .iter()
            .filter(|l| l.starts_with("msgtype,"))
            .map(String::as_str)
            .collect();
        assert_eq!(
            types,
            [
                "msgtype,query_foaf_balances,347",
                "msgtype,reply_foaf_balances,349"
            ]
        );
        let fundamental = ["chain_hash", "byte", "u16", "u64", "short_channel_id"];
        // A field may also be a TLV stream the CSV defines (the reply's, docs/bolt14.md §4.2.1).
        let streams: Vec<&str> = csv
            .iter()
            .filter(|l| l.starts_with("tlvtype,"))
            .map(|l| l.split(',').nth(1).unwrap())
            .collect();
        for line in csv.iter().filter(|l| l.starts_with("msgdata,")) {
            let ty = line.split(',').nth(3).unwrap();
            assert!(
                fundamental.contains(&ty) || streams.contains(&ty),
                "undefined type in {line}"
            );
        }
    }

    /// The CSV and foaf-wire's codec agree: a reply encoded by foaf-wire, walked field by field
    /// with the CSV's layout, gives back every value and ends exactly at the end of the payload.
    #[test]
    fn csv_layout_decodes_foaf_wire_encoding() {
        // R: W02
        use foaf_wire::{ChainHash, Message, ReplyFoafBalances, ShortChannelId};
        let reply = ReplyFoafBalances {
            chain_hash: ChainHash::from_name("regtest").unwrap(),
            flow_value: 1,
            timestamp: 1_700_000_000,
            amt_to_rebalance: 123_456,
            short_channel_ids: vec![
                ShortChannelId::new(700_000, 1, 0).unwrap(),
                ShortChannelId::new(700_001, 2, 1).unwrap(),
            ],
            tlvs: {
                let mut t = foaf_wire::TlvStream::new();
                t.insert(foaf_wire::INTERCEPT_ALIASES_TLV, vec![0; 16]);
                t
            },
        };
        let bytes = Message::Reply(reply.clone()).encode().unwrap();
        let csv = extract(&std::fs::read_to_string(spec_path()).unwrap()).unwrap();
        let msg_type = u16::from_be_bytes([bytes[0], bytes[1]]);
        assert!(csv.contains(&format!("msgtype,reply_foaf_balances,{msg_type}")));
        let mut at = 2;
        let mut values: std::collections::HashMap<String, Vec<u8>> = Default::default();
        for line in csv
            .iter()
            .filter(|l| l.starts_with("msgdata,reply_foaf_balances,"))
        {
            let parts: Vec<&str> = line.split(',').collect();
            if csv
                .iter()
                .any(|l| l.starts_with(&format!("tlvtype,{},", parts[3])))
            {
                // A TLV stream: the rest of the payload.
                values.insert(parts[2].to_string(), bytes[at..].to_vec());
                at = bytes.len();
                continue;
            }
            let size = match parts[3] {
                "chain_hash" => 32,
                "byte" => 1,
                "u16" => 2,
                "u64" | "short_channel_id" => 8,
                other => panic!("type {other}"),
            };
            let count = match parts[4] {
                "" => 1,
                field => values[field]
                    .iter()
                    .fold(0usize, |n, b| n * 256 + *b as usize),
            };
            values.insert(parts[2].to_string(), bytes[at..at + size * count].to_vec());
            at += size * count;
        }
        assert_eq!(at, bytes.len(), "the CSV's fields cover the whole payload");
        assert_eq!(values["chain_hash"], reply.chain_hash.0);
        assert_eq!(values["flow_value"], [1]);
        assert_eq!(values["timestamp"], 1_700_000_000u64.to_be_bytes());
        assert_eq!(values["amt_to_rebalance"], 123_456u64.to_be_bytes());
        let scids: Vec<u8> = reply
            .short_channel_ids
            .iter()
            .flat_map(|s| s.to_u64().to_be_bytes())
            .collect();
        assert_eq!(values["short_channel_ids"], scids);
        // The stream: type 1, length 16, the record (§4.2.1).
        let mut tlv = vec![1u8, 16];
        tlv.extend([0u8; 16]);
        assert_eq!(values["tlvs"], tlv);
    }

    /// The defect of issue #16: the old type line of the reply (bold number, a note inside the
    /// parentheses) is not a type line, so its message silently vanished from the CSV.
    #[test]
    fn malformed_type_lines_are_not_messages() {
        let old = "1. type: **349** (`reply_foaf_balances`; pinned: the draft leaves it blank)\n2. data:\n    * [`u16`:`len`]\n";
        assert!(extract(old).unwrap().is_empty());
        let ok = "1. type: 349 (`reply_foaf_balances`)\n2. data:\n    * [`u16`:`len`]\n";
        assert_eq!(
            extract(ok).unwrap(),
            [
                "msgtype,reply_foaf_balances,349",
                "msgdata,reply_foaf_balances,len,u16,"
            ]
        );
        // Not indented: not a data line.
        assert_eq!(
            extract("1. type: 1 (`a`)\n2. data:\n* [`u16`:`len`]\n").unwrap(),
            ["msgtype,a,1"]
        );
        // A definition right below the previous one is skipped, as by the bolts tool.
        let adjacent = "1. type: 1 (`a`)\n2. data:\n    * [`u16`:`len`]\n1. type: 3 (`b`)\n\n1. type: 5 (`c`)\n\n";
        assert_eq!(
            extract(adjacent).unwrap(),
            ["msgtype,a,1", "msgdata,a,len,u16,", "msgtype,c,5"]
        );
        assert!(extract("1. `tlv_stream`: `s`\n    1. type: 1 (`x`)\n").is_err());
    }

    /// The rest of the grammar, on BOLT #7's `query_short_channel_ids` (option, TLV stream) and
    /// BOLT #2's `witness_stack` subtype, with the CSV lines the BOLTs' own tool prints for them.
    #[test]
    fn tlv_streams_subtypes_and_options_as_the_bolts_tool_prints_them() {
        let bolt7 = "\
1. type: 261 (`query_short_channel_ids`) (`gossip_queries`)
2. data:
    * [`chain_hash`:`chain_hash`]
    * [`u16`:`len`]
    * [`len*byte`:`encoded_short_ids`]
    * [`query_short_channel_ids_tlvs`:`tlvs`]

1. `tlv_stream`: `query_short_channel_ids_tlvs`
2. types:
    1. type: 1 (`query_flags`)
    2. data:
        * [`byte`:`encoding_type`]
        * [`...*byte`:`encoded_query_flags`]

1. subtype: `witness_stack`
2. data:
    * [`u16`:`num_input_witness`]
    * [`num_input_witness*witness_element`:`witness_element`]
";
        assert_eq!(
            extract(bolt7).unwrap(),
            [
                "msgtype,query_short_channel_ids,261",
                "msgdata,query_short_channel_ids,chain_hash,chain_hash,",
                "msgdata,query_short_channel_ids,len,u16,",
                "msgdata,query_short_channel_ids,encoded_short_ids,byte,len",
                "msgdata,query_short_channel_ids,tlvs,query_short_channel_ids_tlvs,",
                "tlvtype,query_short_channel_ids_tlvs,query_flags,1",
                "tlvdata,query_short_channel_ids_tlvs,query_flags,encoding_type,byte,",
                "tlvdata,query_short_channel_ids_tlvs,query_flags,encoded_query_flags,byte,...",
                "subtype,witness_stack",
                "subtypedata,witness_stack,num_input_witness,u16,",
                "subtypedata,witness_stack,witness_element,witness_element,num_input_witness",
            ]
        );
    }
}
