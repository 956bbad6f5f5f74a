//! The pinned JSON rendering of messages, shared by the CLI, the vectors and the pipe protocol:
//!
//! ```text
//! {"type": "query_foaf_balances" | "reply_foaf_balances" | <number for unknown types>,
//!  "chain_hash": hex, "flow_value": n, "timestamp": n (reply), "amt_to_rebalance": n,
//!  "short_channel_ids": ["BxTxO", …] (reply), "tlvs": {"<type>": "<hex>", …} (only when present),
//!  "payload": hex (unknown types only)}
//! ```
//!
//! Parsing is strict: unknown keys, missing keys and out-of-range numbers are errors, so a typo
//! in a hand-written message is reported instead of silently producing different bytes.

use core::fmt;

use serde_json::{json, Map, Value};

use crate::chain::ChainHash;
use crate::messages::{Message, QueryFoafBalances, ReplyFoafBalances, UnknownMessage};
use crate::scid::ShortChannelId;
use crate::tlv::TlvStream;

/// Name used in the `type` field for `query_foaf_balances`.
pub const QUERY_NAME: &str = "query_foaf_balances";
/// Name used in the `type` field for `reply_foaf_balances`.
pub const REPLY_NAME: &str = "reply_foaf_balances";

/// Why a JSON value is not a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(pub String);

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonError {}

fn err<T>(msg: impl Into<String>) -> Result<T, JsonError> {
    Err(JsonError(msg.into()))
}

/// Renders a message in the pinned JSON shape.
pub fn to_json(msg: &Message) -> Value {
    let mut obj = Map::new();
    match msg {
        Message::Query(m) => {
            obj.insert("type".into(), json!(QUERY_NAME));
            obj.insert("chain_hash".into(), json!(m.chain_hash.to_string()));
            obj.insert("flow_value".into(), json!(m.flow_value));
            obj.insert("amt_to_rebalance".into(), json!(m.amt_to_rebalance));
            insert_tlvs(&mut obj, &m.tlvs);
        }
        Message::Reply(m) => {
            obj.insert("type".into(), json!(REPLY_NAME));
            obj.insert("chain_hash".into(), json!(m.chain_hash.to_string()));
            obj.insert("flow_value".into(), json!(m.flow_value));
            obj.insert("timestamp".into(), json!(m.timestamp));
            obj.insert("amt_to_rebalance".into(), json!(m.amt_to_rebalance));
            let ids: Vec<String> = m.short_channel_ids.iter().map(|s| s.to_string()).collect();
            obj.insert("short_channel_ids".into(), json!(ids));
            insert_tlvs(&mut obj, &m.tlvs);
        }
        Message::Unknown(m) => {
            obj.insert("type".into(), json!(m.msg_type));
            obj.insert("payload".into(), json!(hex::encode(&m.payload)));
        }
    }
    Value::Object(obj)
}

fn insert_tlvs(obj: &mut Map<String, Value>, tlvs: &TlvStream) {
    if !tlvs.is_empty() {
        let map: Map<String, Value> = tlvs
            .iter()
            .map(|(t, v)| (t.to_string(), json!(hex::encode(v))))
            .collect();
        obj.insert("tlvs".into(), Value::Object(map));
    }
}

/// Parses a message from the pinned JSON shape.
pub fn from_json(value: &Value) -> Result<Message, JsonError> {
    let Some(obj) = value.as_object() else {
        return err("a message must be a JSON object");
    };
    let fields = Fields(obj);
    match obj.get("type") {
        Some(Value::String(s)) if s == QUERY_NAME => {
            fields.only(&[
                "type",
                "chain_hash",
                "flow_value",
                "amt_to_rebalance",
                "tlvs",
            ])?;
            Ok(Message::Query(QueryFoafBalances {
                chain_hash: fields.chain_hash()?,
                flow_value: fields.uint("flow_value", u8::MAX.into())? as u8,
                amt_to_rebalance: fields.uint("amt_to_rebalance", u64::MAX)?,
                tlvs: fields.tlvs()?,
            }))
        }
        Some(Value::String(s)) if s == REPLY_NAME => {
            fields.only(&[
                "type",
                "chain_hash",
                "flow_value",
                "timestamp",
                "amt_to_rebalance",
                "short_channel_ids",
                "tlvs",
            ])?;
            Ok(Message::Reply(ReplyFoafBalances {
                chain_hash: fields.chain_hash()?,
                flow_value: fields.uint("flow_value", u8::MAX.into())? as u8,
                timestamp: fields.uint("timestamp", u64::MAX)?,
                amt_to_rebalance: fields.uint("amt_to_rebalance", u64::MAX)?,
                short_channel_ids: fields.scids()?,
                tlvs: fields.tlvs()?,
            }))
        }
        Some(Value::Number(_)) => {
            fields.only(&["type", "payload"])?;
            let msg_type = fields.uint("type", u16::MAX.into())? as u16;
            Ok(Message::Unknown(UnknownMessage {
                msg_type,
                payload: fields.hex("payload")?,
            }))
        }
        Some(other) => err(format!(
            "\"type\" must be \"{QUERY_NAME}\", \"{REPLY_NAME}\" or a number, not {other}"
        )),
        None => err("missing \"type\""),
    }
}

struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn only(&self, allowed: &[&str]) -> Result<(), JsonError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => err(format!("unknown field \"{k}\"")),
            None => Ok(()),
        }
    }

    fn get(&self, key: &str) -> Result<&Value, JsonError> {
        self.0
            .get(key)
            .ok_or_else(|| JsonError(format!("missing \"{key}\"")))
    }

    fn uint(&self, key: &str, max: u64) -> Result<u64, JsonError> {
        match self.get(key)?.as_u64() {
            Some(v) if v <= max => Ok(v),
            _ => err(format!("\"{key}\" must be an integer from 0 to {max}")),
        }
    }

    fn str(&self, key: &str) -> Result<&str, JsonError> {
        self.get(key)?
            .as_str()
            .ok_or_else(|| JsonError(format!("\"{key}\" must be a string")))
    }

    fn hex(&self, key: &str) -> Result<Vec<u8>, JsonError> {
        hex::decode(self.str(key)?).map_err(|e| JsonError(format!("\"{key}\": bad hex: {e}")))
    }

    fn chain_hash(&self) -> Result<ChainHash, JsonError> {
        let s = self.str("chain_hash")?;
        if let Some(h) = ChainHash::from_name(s) {
            return Ok(h);
        }
        s.parse()
            .map_err(|e| JsonError(format!("\"chain_hash\": {e} (or a chain name)")))
    }

    fn scids(&self) -> Result<Vec<ShortChannelId>, JsonError> {
        let Some(list) = self.get("short_channel_ids")?.as_array() else {
            return err("\"short_channel_ids\" must be a list of \"BLOCKxTXxOUT\" strings");
        };
        list.iter()
            .enumerate()
            .map(|(i, v)| {
                let s = v.as_str().ok_or_else(|| {
                    JsonError(format!("\"short_channel_ids\"[{i}] must be a string"))
                })?;
                s.parse()
                    .map_err(|e| JsonError(format!("\"short_channel_ids\"[{i}] {s:?}: {e}")))
            })
            .collect()
    }

    fn tlvs(&self) -> Result<TlvStream, JsonError> {
        let Some(v) = self.0.get("tlvs") else {
            return Ok(TlvStream::new());
        };
        let Some(map) = v.as_object() else {
            return err("\"tlvs\" must be an object {\"<type>\": \"<hex>\"}");
        };
        map.iter()
            .map(|(k, v)| {
                let t: u64 = k
                    .parse()
                    .map_err(|_| JsonError(format!("\"tlvs\": key {k:?} is not a u64 type")))?;
                let hex = v
                    .as_str()
                    .ok_or_else(|| JsonError(format!("\"tlvs\".\"{k}\" must be a hex string")))?;
                let bytes = hex::decode(hex)
                    .map_err(|e| JsonError(format!("\"tlvs\".\"{k}\": bad hex: {e}")))?;
                Ok((t, bytes))
            })
            .collect()
    }
}
