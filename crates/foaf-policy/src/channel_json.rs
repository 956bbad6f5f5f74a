//! The one JSON shape of a channel of ours, shared by the conformance pipe protocol
//! (`set_channel`, `init.channels`), `foaf node`'s channels file and `foaf plan`'s input:
//!
//! ```json
//! {"scid": "800000x1x0", "peer": "alice", "capacity": 1000000, "local": 900000,
//!  "announced": true, "state": "normal"}
//! ```
//!
//! `scid`, `peer`, `capacity` and `local` (millisatoshi, `local` ≤ `capacity`) are required.
//! `announced` defaults to **false** and `state` to `"normal"`. Why false: an unannounced
//! channel is never offered (A08), so a channels file that forgets the field can only make a
//! node share less, never leak a private channel. The peer is parsed by the caller (a name in
//! the pipe protocol and `foaf plan`, a node id for `foaf node`).
//!
//! Behind the `json` feature: the policy functions themselves never see JSON.

use core::fmt;

use serde_json::Value;

use crate::model::{Channel, ChannelState};

/// Why a JSON value is not a channel object: the field (top-level key of the object, or empty
/// for the object itself) and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelJsonError {
    /// The key, e.g. `"local"`; empty when the value is not an object.
    pub field: &'static str,
    /// What was expected, e.g. `"an integer (msat) at most capacity"`.
    pub expected: String,
}

impl fmt::Display for ChannelJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "expected {}", self.expected)
        } else {
            write!(f, "\"{}\": expected {}", self.field, self.expected)
        }
    }
}

impl std::error::Error for ChannelJsonError {}

fn err(field: &'static str, expected: impl Into<String>) -> ChannelJsonError {
    ChannelJsonError {
        field,
        expected: expected.into(),
    }
}

/// Parses one channel object; `parse_peer` turns the `peer` string into the caller's peer key
/// (its `Err` text becomes the error's `expected`).
pub fn channel_from_json<P>(
    v: &Value,
    parse_peer: impl FnOnce(&str) -> Result<P, String>,
) -> Result<Channel<P>, ChannelJsonError> {
    let obj = v.as_object().ok_or_else(|| err("", "a channel object"))?;
    let get = |k: &'static str| obj.get(k).ok_or_else(|| err(k, "a value (missing)"));
    let msat = |k: &'static str| {
        get(k)?
            .as_u64()
            .ok_or_else(|| err(k, "an integer ≥ 0 (msat)"))
    };
    let scid_text = get("scid")?
        .as_str()
        .ok_or_else(|| err("scid", "a \"BLOCKxTXxOUT\" string"))?;
    let scid = scid_text.parse().map_err(|e| {
        err(
            "scid",
            format!("a \"BLOCKxTXxOUT\" string ({scid_text:?}: {e})"),
        )
    })?;
    let peer_text = get("peer")?
        .as_str()
        .ok_or_else(|| err("peer", "a string"))?;
    let peer = parse_peer(peer_text).map_err(|e| err("peer", e))?;
    let capacity_msat = msat("capacity")?;
    let local_msat = msat("local")?;
    if local_msat > capacity_msat {
        return Err(err(
            "local",
            format!("at most capacity ({local_msat} > {capacity_msat})"),
        ));
    }
    let announced = match obj.get("announced") {
        None | Some(Value::Null) => false,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| err("announced", "true or false"))?,
    };
    let state = match obj.get("state") {
        None | Some(Value::Null) => ChannelState::Normal,
        Some(v) => match v.as_str() {
            Some("normal") => ChannelState::Normal,
            Some("closing") => ChannelState::Closing,
            _ => return Err(err("state", "\"normal\" or \"closing\"")),
        },
    };
    Ok(Channel {
        scid,
        peer,
        capacity_msat,
        local_msat,
        announced,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Channel<String>, ChannelJsonError> {
        channel_from_json(&v, |s| Ok(s.to_owned()))
    }

    fn full() -> Value {
        json!({"scid": "1x2x3", "peer": "a", "capacity": 10, "local": 4,
               "announced": true, "state": "closing"})
    }

    #[test]
    fn accepts_a_full_object() {
        let c = parse(full()).unwrap();
        assert_eq!(c.scid.to_string(), "1x2x3");
        assert_eq!((c.capacity_msat, c.local_msat), (10, 4));
        assert!(c.announced);
        assert_eq!(c.state, ChannelState::Closing);
    }

    // R: A08 — a channel is public only when the file says so.
    #[test]
    fn accepts_missing_optional_fields_with_safe_defaults() {
        let c = parse(json!({"scid": "1x2x3", "peer": "a", "capacity": 10, "local": 4})).unwrap();
        assert!(!c.announced);
        assert_eq!(c.state, ChannelState::Normal);
    }

    #[test]
    fn rejects_each_missing_required_field_by_name() {
        for k in ["scid", "peer", "capacity", "local"] {
            let mut v = full();
            v.as_object_mut().unwrap().remove(k);
            let e = parse(v).unwrap_err();
            assert_eq!(e.field, k);
            assert!(e.to_string().contains("missing"), "{e}");
        }
    }

    #[test]
    fn rejects_bad_values() {
        let bad = |k: &str, x: Value| {
            let mut v = full();
            v[k] = x;
            parse(v).unwrap_err().field
        };
        assert_eq!(bad("scid", json!("nope")), "scid");
        assert_eq!(bad("capacity", json!(-1)), "capacity");
        assert_eq!(bad("local", json!(11)), "local");
        assert_eq!(bad("announced", json!("yes")), "announced");
        assert_eq!(bad("state", json!("open")), "state");
        assert_eq!(parse(json!([1])).unwrap_err().field, "");
        let e = channel_from_json(&full(), |_| Err::<String, _>("a node id".into())).unwrap_err();
        assert_eq!(e.to_string(), "\"peer\": expected a node id");
    }
}
