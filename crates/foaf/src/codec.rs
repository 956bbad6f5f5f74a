//! `foaf decode` and `foaf encode`: hex BOLT #1 messages ⇄ the pinned JSON rendering
//! (`foaf_wire::json`, documented in docs/wire.md).
//!
//! Made for scripts: output is one line (compact JSON, or lowercase hex) on stdout; bad input
//! is exit status 2 with one line on stderr naming the problem and, for bytes that do not
//! decode, the byte offset, and nothing on stdout.

use std::io::Read;

use foaf_wire::json::{from_json, to_json};
use foaf_wire::{Message, MessageTypes};

use crate::CliError;

/// Arguments of `foaf decode`.
#[derive(clap::Args)]
pub struct DecodeArgs {
    /// The message as hex (optional `0x`, whitespace ignored), or `-` (the default) to read it
    /// from stdin.
    #[arg(default_value = "-")]
    pub hex: String,
    /// The message types of query_foaf_balances and reply_foaf_balances, as `QUERY,REPLY`
    /// (default 347,349), for deployments that use custom message types.
    #[arg(long, value_name = "QUERY,REPLY")]
    pub types: Option<String>,
    /// Pretty-print the JSON over several lines (the default is one line).
    #[arg(long)]
    pub pretty: bool,
}

/// Arguments of `foaf encode`.
#[derive(clap::Args)]
pub struct EncodeArgs {
    /// The message as JSON, or `-` (the default) to read it from stdin.
    #[arg(default_value = "-")]
    pub json: String,
    /// The message types of query_foaf_balances and reply_foaf_balances, as `QUERY,REPLY`
    /// (default 347,349), for deployments that use custom message types.
    #[arg(long, value_name = "QUERY,REPLY")]
    pub types: Option<String>,
}

/// `--types QUERY,REPLY`, checked here rather than by clap so that a bad value is reported in
/// the one-line bad-input format like every other input problem.
fn types(arg: Option<&str>) -> Result<MessageTypes, CliError> {
    arg.map_or(Ok(MessageTypes::default()), |s| {
        parse_types(s).map_err(|e| CliError::BadInput(format!("--types: {e}")))
    })
}

/// Parses `QUERY,REPLY`.
pub(crate) fn parse_types(s: &str) -> Result<MessageTypes, String> {
    let (q, r) = s
        .split_once(',')
        .ok_or_else(|| format!("expected QUERY,REPLY (two message types), got {s:?}"))?;
    let num = |p: &str| {
        p.trim()
            .parse::<u16>()
            .map_err(|_| format!("message type {p:?} is not a number from 0 to 65535"))
    };
    let types = MessageTypes {
        query: num(q)?,
        reply: num(r)?,
    };
    if types.query == types.reply {
        return Err("the query and reply types must differ".into());
    }
    Ok(types)
}

/// The argument itself, or all of stdin for `-`.
fn input(arg: &str) -> Result<String, CliError> {
    if arg != "-" {
        return Ok(arg.to_owned());
    }
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| CliError::BadInput(format!("reading stdin: {e}")))?;
    Ok(s)
}

/// Hex with an optional `0x` prefix; whitespace anywhere (line breaks from copy-paste) ignored.
fn parse_hex(text: &str) -> Result<Vec<u8>, CliError> {
    let digits: String = text.split_ascii_whitespace().collect();
    let digits = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
        .unwrap_or(&digits);
    if digits.is_empty() {
        return Err(CliError::BadInput(
            "no input: expected a hex message".into(),
        ));
    }
    hex::decode(digits).map_err(|e| {
        CliError::BadInput(match e {
            hex::FromHexError::InvalidHexCharacter { c, index } => format!(
                "bad hex: invalid character {c:?} at hex digit {index} (byte offset {})",
                index / 2
            ),
            hex::FromHexError::OddLength => {
                format!("bad hex: odd number of hex digits ({})", digits.len())
            }
            other => format!("bad hex: {other}"),
        })
    })
}

/// `foaf decode`: hex in, one JSON object out.
pub fn decode(args: DecodeArgs) -> Result<(), CliError> {
    let types = types(args.types.as_deref())?;
    let bytes = parse_hex(&input(&args.hex)?)?;
    // DecodeError's Display names the problem and ends with "at offset N".
    let msg = Message::decode_with(&bytes, types)
        .map_err(|e| CliError::BadInput(format!("cannot decode: {e}")))?;
    let json = to_json(&msg);
    let text = if args.pretty {
        serde_json::to_string_pretty(&json)
    } else {
        serde_json::to_string(&json)
    }
    .map_err(|e| CliError::Failed(e.to_string()))?;
    crate::output::print_line(&text)
}

/// `foaf encode`: one JSON object in, hex out.
pub fn encode(args: EncodeArgs) -> Result<(), CliError> {
    let types = types(args.types.as_deref())?;
    let text = input(&args.json)?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::BadInput(format!("invalid JSON: {e}")))?;
    let msg = from_json(&value).map_err(|e| CliError::BadInput(format!("bad message: {e}")))?;
    let bytes = msg
        .encode_with(types)
        .map_err(|e| CliError::BadInput(format!("cannot encode: {e}")))?;
    crate::output::print_line(&hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_hex_with_prefix_and_whitespace() {
        assert_eq!(parse_hex(" 0x01 5b\n0a\t").unwrap(), [0x01, 0x5b, 0x0a]);
        assert_eq!(parse_hex("0X0aFF").unwrap(), [0x0a, 0xff]);
    }

    #[test]
    fn rejects_bad_hex_naming_the_place() {
        let Err(CliError::BadInput(m)) = parse_hex("015bzz") else {
            panic!()
        };
        assert_eq!(
            m,
            "bad hex: invalid character 'z' at hex digit 4 (byte offset 2)"
        );
        assert!(matches!(parse_hex("015"), Err(CliError::BadInput(_))));
        assert!(matches!(parse_hex("  "), Err(CliError::BadInput(_))));
    }

    #[test]
    fn parses_types_option() {
        assert_eq!(
            parse_types("32801,32803"),
            Ok(MessageTypes {
                query: 32801,
                reply: 32803
            })
        );
        assert!(parse_types("32801").is_err());
        assert!(parse_types("1,1").is_err());
        assert!(parse_types("1,70000").is_err());
    }
}
