//! Effects as the implementation reports them, parsed leniently from its output lines.

use serde_json::Value;

use crate::vector::OfferEntry;

/// One line of the implementation's output, other than `done`.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// `send`: a message to a peer.
    Send {
        /// The peer.
        peer: String,
        /// The message bytes.
        msg: Vec<u8>,
    },
    /// `disconnect`: we fail the connection to a peer.
    Disconnect {
        /// The peer.
        peer: String,
        /// Its reason (shown, never matched).
        reason: String,
    },
    /// `refused`: an op was refused.
    Refused {
        /// The op.
        op: String,
        /// Its reason (shown, never matched).
        reason: String,
    },
    /// `offers`: the offers held.
    Offers(Vec<OfferEntry>),
    /// `features` (project op for W06).
    Features {
        /// The init `features` field, big-endian bytes as in BOLT #1.
        init_features: Vec<u8>,
        /// The even bit of the `option_balance_sharing` pair.
        bit: u16,
    },
    /// v2 `forward`: the HTLC `htlc` leaves on `scid`.
    Forward {
        /// The HTLC's name.
        htlc: String,
        /// The channel.
        scid: String,
    },
    /// v2 `fail`: the HTLC is failed back with `code`.
    Fail {
        /// The HTLC's name.
        htlc: String,
        /// The BOLT #4 failure code name.
        code: String,
    },
    /// v2 `hold`: the HTLC is held until `until` for a JIT rebalance.
    Hold {
        /// The HTLC's name.
        htlc: String,
        /// Deadline, unix seconds.
        until: u64,
    },
    /// v2 `rebalance`: the JIT rebalance asked for.
    Rebalance {
        /// The held HTLC's name.
        htlc: String,
        /// Amount, msat.
        amt: u64,
        /// The cycle's scids, in order.
        hops: Vec<String>,
    },
    /// v2 `plan`: the rebalances the node would start.
    Plan(Vec<crate::vector::PlanEntry>),
    /// `unsupported`: the op is unknown to the implementation.
    Unsupported {
        /// The op.
        op: String,
    },
    /// `log`: free text, ignored.
    Log(String),
    /// An effect kind this runner does not know (a project extension): shown, ignored.
    Other(Value),
}

impl Effect {
    /// Parses one output line that is not `done`. `Err` names what is wrong with it.
    pub fn parse(v: &Value) -> Result<Effect, String> {
        let kind = v
            .get("effect")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("line has no \"effect\" string: {v}"))?;
        let s = |k: &str| -> Result<String, String> {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("{kind} effect without string field {k:?}: {v}"))
        };
        let opt = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        Ok(match kind {
            "send" => {
                let msg = s("msg")?;
                let msg = hex::decode(&msg)
                    .map_err(|e| format!("send effect msg is not hex ({e}): {v}"))?;
                Effect::Send {
                    peer: s("peer")?,
                    msg,
                }
            }
            "disconnect" => Effect::Disconnect {
                peer: s("peer")?,
                reason: opt("reason"),
            },
            "refused" => Effect::Refused {
                op: s("op")?,
                reason: opt("reason"),
            },
            "offers" => {
                let list = v
                    .get("offers")
                    .cloned()
                    .ok_or_else(|| format!("offers effect without \"offers\": {v}"))?;
                let offers: Vec<OfferEntry> =
                    serde_json::from_value(list).map_err(|e| format!("offers effect: {e}: {v}"))?;
                Effect::Offers(offers)
            }
            "features" => {
                let init = hex::decode(s("init_features")?)
                    .map_err(|e| format!("features effect init_features is not hex ({e})"))?;
                let bit = v
                    .get("option_balance_sharing")
                    .and_then(Value::as_u64)
                    .and_then(|b| u16::try_from(b).ok())
                    .ok_or_else(|| {
                        format!("features effect without option_balance_sharing bit: {v}")
                    })?;
                Effect::Features {
                    init_features: init,
                    bit,
                }
            }
            "forward" => Effect::Forward {
                htlc: s("id")?,
                scid: s("scid")?,
            },
            "fail" => Effect::Fail {
                htlc: s("id")?,
                code: s("code")?,
            },
            "hold" => Effect::Hold {
                htlc: s("id")?,
                until: v
                    .get("until")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| format!("hold effect without integer \"until\": {v}"))?,
            },
            "rebalance" => Effect::Rebalance {
                htlc: s("id")?,
                amt: v
                    .get("amt")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| format!("rebalance effect without integer \"amt\": {v}"))?,
                hops: v
                    .get("hops")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .ok_or_else(|| format!("rebalance effect without \"hops\": {v}"))?,
            },
            "plan" => {
                let list = v
                    .get("rebalances")
                    .cloned()
                    .ok_or_else(|| format!("plan effect without \"rebalances\": {v}"))?;
                Effect::Plan(
                    serde_json::from_value(list).map_err(|e| format!("plan effect: {e}: {v}"))?,
                )
            }
            "unsupported" => Effect::Unsupported { op: opt("op") },
            "log" => Effect::Log(opt("text")),
            _ => Effect::Other(v.clone()),
        })
    }

    /// True for effects the matching ignores (`log`, unknown kinds).
    pub fn is_ignored(&self) -> bool {
        matches!(self, Effect::Log(_) | Effect::Other(_))
    }

    /// A short human rendering for failure messages.
    pub fn describe(&self) -> String {
        match self {
            Effect::Send { peer, msg } => format!("send to {peer}: {}", describe_msg(msg)),
            Effect::Disconnect { peer, reason } => format!("disconnect {peer} ({reason})"),
            Effect::Refused { op, reason } => format!("refused {op} ({reason})"),
            Effect::Offers(o) => format!("offers ({} entries)", o.len()),
            Effect::Features { bit, .. } => format!("features (option_balance_sharing {bit})"),
            Effect::Forward { htlc, scid } => format!("forward {htlc} on {scid}"),
            Effect::Fail { htlc, code } => format!("fail {htlc} ({code})"),
            Effect::Hold { htlc, until } => format!("hold {htlc} until {until}"),
            Effect::Rebalance { htlc, amt, hops } => {
                format!(
                    "rebalance for {htlc}: {amt} msat over [{}]",
                    hops.join(", ")
                )
            }
            Effect::Plan(p) => {
                let r: Vec<String> = p
                    .iter()
                    .map(|e| format!("{} msat over [{}]", e.amt, e.hops.join(", ")))
                    .collect();
                format!("plan [{}]", r.join("; "))
            }
            Effect::Unsupported { op } => format!("unsupported {op}"),
            Effect::Log(t) => format!("log {t}"),
            Effect::Other(v) => format!("unknown effect {v}"),
        }
    }

    /// A canonical JSON rendering, to compare two runs for determinism.
    pub fn canonical(&self) -> String {
        match self {
            Effect::Send { peer, msg } => format!("send {peer} {}", hex::encode(msg)),
            Effect::Disconnect { peer, .. } => format!("disconnect {peer}"),
            Effect::Refused { op, .. } => format!("refused {op}"),
            Effect::Offers(o) => {
                let mut o = o.clone();
                o.sort();
                format!("offers {}", serde_json::to_string(&o).unwrap_or_default())
            }
            other => other.describe(),
        }
    }
}

/// "query_foaf_balances flow 1 amt 5 …" or the type and length of anything else.
pub fn describe_msg(msg: &[u8]) -> String {
    use foaf_wire::Message;
    match Message::decode(msg) {
        Ok(Message::Query(q)) => format!(
            "query_foaf_balances(chain {}, flow {}, amt {})",
            short_hex(&q.chain_hash.to_string()),
            q.flow_value,
            q.amt_to_rebalance
        ),
        Ok(Message::Reply(r)) => {
            let mut ids: Vec<String> = r
                .short_channel_ids
                .iter()
                .take(6)
                .map(|s| s.to_string())
                .collect();
            if r.short_channel_ids.len() > 6 {
                ids.push(format!("… {} in all", r.short_channel_ids.len()));
            }
            format!(
                "reply_foaf_balances(chain {}, flow {}, ts {}, amt {}, scids [{}])",
                short_hex(&r.chain_hash.to_string()),
                r.flow_value,
                r.timestamp,
                r.amt_to_rebalance,
                ids.join(", ")
            )
        }
        Ok(Message::Unknown(u)) if u.msg_type == 1 => {
            format!("warning ({} bytes)", msg.len())
        }
        Ok(Message::Unknown(u)) => format!("message type {} ({} bytes)", u.msg_type, msg.len()),
        Err(e) => format!("undecodable message {} ({e})", short_hex(&hex::encode(msg))),
    }
}

fn short_hex(h: &str) -> String {
    if h.len() > 16 {
        format!("{}…", &h[..16])
    } else {
        h.to_owned()
    }
}
