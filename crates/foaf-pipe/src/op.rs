//! Parsing one input line of the pipe protocol into an [`Op`], with typed errors.

use core::fmt;

use foaf_peer::{Fault, Timestamp};
use foaf_policy::Channel;
use foaf_wire::{ChainHash, ShortChannelId};
use serde_json::{Map, Value};

/// Protocol options of `init.config`. Unknown keys are ignored (protocol rule).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InitConfig {
    /// A05 obfuscation (default false).
    pub obfuscate: bool,
    /// `obfuscate_max_omit` / `obfuscate_max_add` (defaults: foaf-policy's).
    pub obfuscate_max_omit: Option<usize>,
    /// See `obfuscate_max_omit`.
    pub obfuscate_max_add: Option<usize>,
    /// V03 tolerance (default 600).
    pub future_tolerance_secs: Option<u64>,
    /// Drop a peer's offers on disconnect (default true).
    pub drop_offers_on_disconnect: Option<bool>,
    /// S05/V07 limit per window (default 4).
    pub rate_limit_max: Option<usize>,
    /// S05/V07 window in seconds (default 10).
    pub rate_limit_window_secs: Option<u64>,
    /// A fault to inject (overrides the command line's).
    pub fault: Option<Fault>,
}

/// The `init` op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Init {
    /// The chain we serve.
    pub chain_hash: ChainHash,
    /// The clock (`now`, or `now_ms` when given).
    pub now: Timestamp,
    /// Seed of all randomness.
    pub seed: u64,
    /// Options.
    pub config: InitConfig,
    /// Known public scids.
    pub graph: Vec<ShortChannelId>,
    /// Our channels.
    pub channels: Vec<Channel<String>>,
}

/// One op of the protocol (runner to IUT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Reset all state.
    Init(Box<Init>),
    /// The transport to `peer` came up.
    Connect {
        /// Peer name.
        peer: String,
    },
    /// The transport to `peer` went down.
    Disconnect {
        /// Peer name.
        peer: String,
    },
    /// A message arrived.
    Recv {
        /// Sender.
        peer: String,
        /// The whole BOLT #1 message.
        msg: Vec<u8>,
    },
    /// The clock moves.
    Tick {
        /// New time (`now` in unix seconds, or `now_ms` in unix milliseconds when given).
        now: Timestamp,
    },
    /// Ask us to send a query.
    Query {
        /// Recipient.
        peer: String,
        /// Raw `flow_value` as given (0/1; others are refused).
        flow_value: u64,
        /// Millisatoshi.
        amt: u64,
    },
    /// Ask us to send an unsolicited reply.
    Offer {
        /// Recipient.
        peer: String,
        /// Raw `flow_value` as given.
        flow_value: u64,
        /// Millisatoshi.
        amt: u64,
    },
    /// Add or replace one of our channels.
    SetChannel(Channel<String>),
    /// Report the offers we hold.
    Offers,
    /// Report our `init` features and the `option_balance_sharing` bit (project op, W06).
    Features,
    /// v2: an HTLC we are asked to forward (§4–§5).
    Htlc(crate::forwarding::HtlcOp),
    /// v2: a rebalance we started settled (`ok`) or failed: the JIT refill of held HTLC `id`,
    /// or (`hops`) one of the rebalances our last `plan` answer listed.
    RebalanceResult {
        /// The held HTLC's id (a JIT refill).
        id: Option<String>,
        /// The cycle's scids, as `plan` listed them (a planned rebalance).
        hops: Option<Vec<ShortChannelId>>,
        /// Whether it settled.
        ok: bool,
        /// The channel the failure names (R-REB-8), if the error named one.
        erring_scid: Option<ShortChannelId>,
    },
    /// v2: R-REB-6 on (`true`) or off: forward a zero-fee HTLC only as far as we offered the
    /// move within the last 600 s.
    RequireOffer(bool),
    /// v2: collect offers (R-CM-4): query our source and sink peers as a node does.
    CollectOffers,
    /// v2: report the circular rebalances we would start now.
    Plan,
    /// v2: endpoints of public channels, `(scid, node, node)`.
    GraphEdges(Vec<(ShortChannelId, String, String)>),
    /// An op this IUT does not know.
    Unknown(String),
}

/// Why a line is not an op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpError {
    /// Not JSON at all.
    Json(String),
    /// JSON, but not an object.
    NotAnObject,
    /// No string `"op"`.
    MissingOp,
    /// A required field is missing.
    Missing {
        /// The op.
        op: &'static str,
        /// The field.
        field: &'static str,
    },
    /// A field has the wrong type or value.
    Invalid {
        /// The field (dotted path).
        field: String,
        /// What was expected.
        expected: String,
    },
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpError::Json(e) => write!(f, "not a JSON line: {e}"),
            OpError::NotAnObject => f.write_str("an op must be a JSON object"),
            OpError::MissingOp => f.write_str("missing string field \"op\""),
            OpError::Missing { op, field } => write!(f, "op {op:?}: missing field {field:?}"),
            OpError::Invalid { field, expected } => {
                write!(f, "field {field:?}: expected {expected}")
            }
        }
    }
}

impl std::error::Error for OpError {}

fn invalid(field: impl Into<String>, expected: impl Into<String>) -> OpError {
    OpError::Invalid {
        field: field.into(),
        expected: expected.into(),
    }
}

/// Field access for one op object.
struct Obj<'a> {
    op: &'static str,
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    fn get(&self, field: &'static str) -> Result<&'a Value, OpError> {
        self.map
            .get(field)
            .ok_or(OpError::Missing { op: self.op, field })
    }

    fn str(&self, field: &'static str) -> Result<&'a str, OpError> {
        self.get(field)?
            .as_str()
            .ok_or_else(|| invalid(field, "a string"))
    }

    fn u64(&self, field: &'static str) -> Result<u64, OpError> {
        self.get(field)?
            .as_u64()
            .ok_or_else(|| invalid(field, "an integer from 0 to 2^64-1"))
    }

    /// The op's time: `now_ms` (unix milliseconds) when given, else `now` (unix seconds, v1).
    /// With both, `now` must be `now_ms / 1000` rounded down, so an IUT that reads only `now`
    /// (v1 ignores unknown fields) sees the same second.
    fn now(&self) -> Result<Timestamp, OpError> {
        let ms = match self.map.get("now_ms") {
            None | Some(Value::Null) => return self.u64("now").map(Timestamp::from_secs),
            Some(v) => v
                .as_u64()
                .ok_or_else(|| invalid("now_ms", "an integer from 0 to 2^64-1"))?,
        };
        if let Some(secs) = self.map.get("now") {
            if secs.as_u64() != Some(ms / 1000) {
                return Err(invalid(
                    "now",
                    format!(
                        "{} (now_ms / 1000, rounded down) when now_ms is given",
                        ms / 1000
                    ),
                ));
            }
        }
        Ok(Timestamp::from_millis(ms))
    }

    fn peer(&self) -> Result<String, OpError> {
        self.str("peer").map(str::to_string)
    }
}

/// Parses one line of the protocol. Never panics, whatever the input.
pub fn parse_op(line: &str) -> Result<Op, OpError> {
    let value: Value = serde_json::from_str(line).map_err(|e| OpError::Json(e.to_string()))?;
    let Some(map) = value.as_object() else {
        return Err(OpError::NotAnObject);
    };
    let Some(name) = map.get("op").and_then(Value::as_str) else {
        return Err(OpError::MissingOp);
    };
    let obj = |op: &'static str| Obj { op, map };
    Ok(match name {
        "init" => {
            let o = obj("init");
            let chain = o.str("chain_hash")?;
            let chain_hash = ChainHash::from_name(chain)
                .or_else(|| chain.parse().ok())
                .ok_or_else(|| invalid("chain_hash", "64 hex digits or a chain name"))?;
            let config = match map.get("config") {
                None | Some(Value::Null) => InitConfig::default(),
                Some(Value::Object(c)) => parse_config(c)?,
                Some(_) => return Err(invalid("config", "an object")),
            };
            let graph = parse_list(
                o.get("graph")?,
                "graph",
                "\"BLOCKxTXxOUT\" strings",
                parse_scid,
            )?;
            let channels = parse_list(
                o.get("channels")?,
                "channels",
                "channel objects",
                parse_channel,
            )?;
            Op::Init(Box::new(Init {
                chain_hash,
                now: o.now()?,
                seed: o.u64("seed")?,
                config,
                graph,
                channels,
            }))
        }
        "connect" => Op::Connect {
            peer: obj("connect").peer()?,
        },
        "disconnect" => Op::Disconnect {
            peer: obj("disconnect").peer()?,
        },
        "recv" => {
            let o = obj("recv");
            let msg =
                hex::decode(o.str("msg")?).map_err(|e| invalid("msg", format!("hex ({e})")))?;
            Op::Recv {
                peer: o.peer()?,
                msg,
            }
        }
        "tick" => Op::Tick {
            now: obj("tick").now()?,
        },
        "query" | "offer" => {
            let o = obj(if name == "query" { "query" } else { "offer" });
            let (peer, flow_value, amt) = (o.peer()?, o.u64("flow_value")?, o.u64("amt")?);
            if name == "query" {
                Op::Query {
                    peer,
                    flow_value,
                    amt,
                }
            } else {
                Op::Offer {
                    peer,
                    flow_value,
                    amt,
                }
            }
        }
        "set_channel" => Op::SetChannel(parse_channel(
            obj("set_channel").get("channel")?,
            "channel",
        )?),
        "offers" => Op::Offers,
        "features" => Op::Features,
        "htlc" => {
            let o = obj("htlc");
            let blocks = o.u64("blocks_to_expiry")?;
            Op::Htlc(crate::forwarding::HtlcOp {
                id: o.str("id")?.to_string(),
                in_scid: parse_scid(o.get("in_scid")?, "in_scid")?,
                out_scid: parse_scid(o.get("out_scid")?, "out_scid")?,
                amt: o.u64("amt")?,
                fee_free: o
                    .get("fee_free")?
                    .as_bool()
                    .ok_or_else(|| invalid("fee_free", "true or false"))?,
                blocks_to_expiry: u32::try_from(blocks)
                    .map_err(|_| invalid("blocks_to_expiry", "an integer up to 2^32-1"))?,
            })
        }
        "rebalance_result" => {
            let o = obj("rebalance_result");
            let present = |k: &str| !matches!(map.get(k), None | Some(Value::Null));
            let hops = if present("hops") {
                Some(parse_list(
                    o.get("hops")?,
                    "hops",
                    "\"BLOCKxTXxOUT\" strings",
                    parse_scid,
                )?)
            } else {
                None
            };
            // A held HTLC's refill names the HTLC; a planned rebalance its hops.
            let id = match (present("id"), &hops) {
                (true, _) => Some(o.str("id")?.to_string()),
                (false, Some(_)) => None,
                (false, None) => Some(o.str("id")?.to_string()),
            };
            let erring_scid = if present("erring_scid") {
                Some(parse_scid(o.get("erring_scid")?, "erring_scid")?)
            } else {
                None
            };
            Op::RebalanceResult {
                id,
                hops,
                ok: o
                    .get("ok")?
                    .as_bool()
                    .ok_or_else(|| invalid("ok", "true or false"))?,
                erring_scid,
            }
        }
        "require_offer" => Op::RequireOffer(
            obj("require_offer")
                .get("on")?
                .as_bool()
                .ok_or_else(|| invalid("on", "true or false"))?,
        ),
        "collect_offers" => Op::CollectOffers,
        "plan" => Op::Plan,
        "graph_edges" => {
            let list = obj("graph_edges")
                .get("edges")?
                .as_array()
                .ok_or_else(|| invalid("edges", "a list of {scid, a, b} objects"))?;
            let mut edges = Vec::with_capacity(list.len());
            for (i, e) in list.iter().enumerate() {
                let field = format!("edges[{i}]");
                let end = |k: &str| {
                    e.get(k)
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .ok_or_else(|| invalid(format!("{field}.{k}"), "a node name"))
                };
                let scid = parse_scid(
                    e.get("scid").unwrap_or(&Value::Null),
                    &format!("{field}.scid"),
                )?;
                edges.push((scid, end("a")?, end("b")?));
            }
            Op::GraphEdges(edges)
        }
        other => Op::Unknown(other.to_string()),
    })
}

/// A list at `field`, each item parsed with its path (`field[i]`) for error messages.
fn parse_list<T>(
    v: &Value,
    field: &str,
    items: &str,
    parse: impl Fn(&Value, &str) -> Result<T, OpError>,
) -> Result<Vec<T>, OpError> {
    let list = v
        .as_array()
        .ok_or_else(|| invalid(field, format!("a list of {items}")))?;
    list.iter()
        .enumerate()
        .map(|(i, v)| parse(v, &format!("{field}[{i}]")))
        .collect()
}

fn parse_scid(v: &Value, field: &str) -> Result<ShortChannelId, OpError> {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(field, "a \"BLOCKxTXxOUT\" string"))
}

fn parse_channel(v: &Value, field: &str) -> Result<Channel<String>, OpError> {
    foaf_policy::channel_json::channel_from_json(v, |s| Ok(s.to_owned())).map_err(|e| {
        let path = if e.field.is_empty() {
            field.to_owned()
        } else {
            format!("{field}.{}", e.field)
        };
        invalid(path, e.expected)
    })
}

fn parse_config(c: &Map<String, Value>) -> Result<InitConfig, OpError> {
    let mut out = InitConfig::default();
    let uint = |k: &str| -> Result<Option<u64>, OpError> {
        match c.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| invalid(format!("config.{k}"), "an integer")),
        }
    };
    let boolean = |k: &str| -> Result<Option<bool>, OpError> {
        match c.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| invalid(format!("config.{k}"), "true or false")),
        }
    };
    let small = |v: Option<u64>, k: &str| -> Result<Option<usize>, OpError> {
        v.map(|n| {
            usize::try_from(n)
                .ok()
                .filter(|&n| n <= 1_000_000)
                .ok_or_else(|| invalid(format!("config.{k}"), "an integer up to 1000000"))
        })
        .transpose()
    };
    out.obfuscate = boolean("obfuscate")?.unwrap_or(false);
    out.obfuscate_max_omit = small(uint("obfuscate_max_omit")?, "obfuscate_max_omit")?;
    out.obfuscate_max_add = small(uint("obfuscate_max_add")?, "obfuscate_max_add")?;
    out.future_tolerance_secs = uint("future_tolerance_secs")?;
    out.drop_offers_on_disconnect = boolean("drop_offers_on_disconnect")?;
    out.rate_limit_max = small(uint("rate_limit_max")?, "rate_limit_max")?;
    out.rate_limit_window_secs = uint("rate_limit_window_secs")?;
    out.fault = match c.get("fault") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            s.parse()
                .map_err(|e: foaf_peer::UnknownFault| invalid("config.fault", e.to_string()))?,
        ),
        Some(_) => return Err(invalid("config.fault", "a fault name")),
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_op() {
        let init = r#"{"op":"init","chain_hash":"regtest","now":5,"seed":1,"config":{"obfuscate":true,"x":1},
            "graph":["1x2x3"],"channels":[{"scid":"1x1x1","peer":"a","capacity":10,"local":4,"announced":true,"state":"normal"}]}"#;
        let Op::Init(i) = parse_op(init).unwrap() else {
            panic!()
        };
        assert_eq!(i.chain_hash, ChainHash::REGTEST);
        assert!(i.config.obfuscate);
        assert_eq!(i.channels[0].peer, "a");
        assert_eq!(
            parse_op(r#"{"op":"recv","peer":"a","msg":"0001","extra":[]}"#),
            Ok(Op::Recv {
                peer: "a".into(),
                msg: vec![0, 1]
            })
        );
        assert_eq!(parse_op(r#"{"op":"offers"}"#), Ok(Op::Offers));
        assert_eq!(
            parse_op(r#"{"op":"dance"}"#),
            Ok(Op::Unknown("dance".into()))
        );
    }

    // R: S05, V07 — the clock reaches the node to the millisecond (issue #17): `now_ms` wins,
    // `now` alone is whole seconds over the whole u64 range (v1).
    #[test]
    fn now_in_seconds_or_milliseconds() {
        let tick = |l: &str| match parse_op(l) {
            Ok(Op::Tick { now }) => Ok(now),
            other => Err(other),
        };
        assert_eq!(
            tick(r#"{"op":"tick","now":18446744073709551615}"#),
            Ok(Timestamp::from_secs(u64::MAX))
        );
        assert_eq!(
            tick(r#"{"op":"tick","now_ms":1700000276934}"#),
            Ok(Timestamp::from_millis(1_700_000_276_934))
        );
        assert_eq!(
            tick(r#"{"op":"tick","now":1700000276,"now_ms":1700000276934}"#),
            Ok(Timestamp::from_millis(1_700_000_276_934))
        );
        assert!(matches!(
            tick(r#"{"op":"tick","now":1700000277,"now_ms":1700000276934}"#),
            Err(Err(OpError::Invalid { field, .. })) if field == "now"
        ));
        assert!(matches!(
            tick(r#"{"op":"tick","now_ms":1.5}"#),
            Err(Err(OpError::Invalid { field, .. })) if field == "now_ms"
        ));
        let init = r#"{"op":"init","chain_hash":"regtest","now_ms":5040,"seed":1,"graph":[],"channels":[]}"#;
        let Ok(Op::Init(i)) = parse_op(init) else {
            panic!()
        };
        assert_eq!(i.now, Timestamp::from_millis(5_040));
    }

    #[test]
    fn rejects_bad_lines_with_typed_errors() {
        assert!(matches!(parse_op("{"), Err(OpError::Json(_))));
        assert_eq!(parse_op("[]"), Err(OpError::NotAnObject));
        assert_eq!(parse_op("{}"), Err(OpError::MissingOp));
        assert_eq!(
            parse_op(r#"{"op":"tick"}"#),
            Err(OpError::Missing {
                op: "tick",
                field: "now"
            })
        );
        assert!(matches!(
            parse_op(r#"{"op":"recv","peer":"a","msg":"0"}"#),
            Err(OpError::Invalid { .. })
        ));
        assert!(matches!(
            parse_op(
                r#"{"op":"set_channel","channel":{"scid":"1x1x1","peer":"a","capacity":1,"local":2,"announced":true,"state":"normal"}}"#
            ),
            Err(OpError::Invalid { .. })
        ));
    }
}
