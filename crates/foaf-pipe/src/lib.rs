//! # foaf-pipe: the conformance pipe protocol, implementation-under-test side
//!
//! `docs/conformance-pipe.md` pins the protocol: one JSON op per input line, one JSON effect per
//! output line, each op closed by `{"effect":"done"}`. This crate is the whole protocol logic
//! behind `foaf pipe`, kept out of the binary so it can be tested and fuzzed:
//!
//! - [`parse_op`]: one line → [`Op`] or a typed [`OpError`] (never panics);
//! - [`Session`]: drives a [`foaf_peer::Node<String>`] with ops and renders its effects as JSON
//!   ([`Session::handle_line`] for a raw line, [`Session::handle`] for a parsed op);
//! - [`run`]: the loop over a reader and a writer.
//!
//! A malformed line gets one line on the error stream, a `log` effect and `done`; the session
//! goes on. An unknown op gets `unsupported` and `done`.
//!
//! ```
//! use foaf_pipe::Session;
//! let mut s = Session::new(None);
//! let out = s.handle_line(r#"{"op":"dance"}"#);
//! assert_eq!(out.effects[0]["effect"], "unsupported");
//! assert_eq!(out.effects.last().unwrap()["effect"], "done");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod forwarding;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod op;

use std::io::{self, BufRead, Write};

use foaf_peer::{Config, Effect, Fault, Node, RateLimit, Timestamp};
use foaf_policy::Obfuscation;
use foaf_wire::Flow;
use serde_json::{json, Value};

pub use op::{parse_op, Init, InitConfig, Op, OpError};

/// What one input line produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The effects, `done` last.
    pub effects: Vec<Value>,
    /// The parse error, when the line was malformed (for the error stream).
    pub error: Option<OpError>,
}

/// A protocol session: the node, the clock, and the v2 forwarding state.
pub struct Session {
    node: Node<String>,
    now: Timestamp,
    forwarding: forwarding::Forwarding,
    /// The fault from the command line (an `init.config.fault` overrides it).
    fault: Option<Fault>,
}

impl Session {
    /// A session with a default node (bitcoin, seed 0, empty graph) until the first `init`.
    pub fn new(fault: Option<Fault>) -> Self {
        let config = Config {
            fault,
            ..Config::default()
        };
        Self {
            node: Node::new(config, 0),
            now: Timestamp::EPOCH,
            forwarding: forwarding::Forwarding::default(),
            fault,
        }
    }

    /// The node (for tests).
    pub fn node(&self) -> &Node<String> {
        &self.node
    }

    /// Handles one raw input line.
    pub fn handle_line(&mut self, line: &str) -> Output {
        match parse_op(line) {
            Ok(op) => Output {
                effects: self.handle(op),
                error: None,
            },
            Err(e) => Output {
                effects: vec![
                    json!({"effect": "log", "text": format!("malformed op ignored: {e}")}),
                    done(),
                ],
                error: Some(e),
            },
        }
    }

    /// Handles one op; the effects end with `done`.
    pub fn handle(&mut self, op: Op) -> Vec<Value> {
        let now = self.now;
        let mut out: Vec<Value> = Vec::new();
        let effects = match op {
            Op::Init(init) => {
                self.init(*init);
                Vec::new()
            }
            Op::Connect { peer } => self.node.connect(peer, now),
            Op::Disconnect { peer } => self.node.disconnect(&peer, now),
            Op::Recv { peer, msg } => self.node.receive(&peer, &msg, now),
            Op::Tick { now: t } => {
                if t < self.now {
                    out.push(log(format!(
                        "tick to {t} ignored: the clock is at {} and never goes back",
                        self.now
                    )));
                }
                self.now = self.now.max(t);
                out.extend(self.forwarding.tick(self.node.config().fault, self.now));
                self.node.tick(self.now)
            }
            Op::Query {
                peer,
                flow_value,
                amt,
            } => match flow(flow_value) {
                Some(f) => self.node.query(&peer, f, amt, now),
                None => return refused_flow("query", out),
            },
            Op::Offer {
                peer,
                flow_value,
                amt,
            } => match flow(flow_value) {
                Some(f) => self.node.offer(&peer, f, amt, now),
                None => return refused_flow("offer", out),
            },
            Op::SetChannel(ch) => self.node.set_channel(ch, now),
            Op::Offers => {
                let offers: Vec<Value> = self
                    .node
                    .offers()
                    .into_iter()
                    .map(|o| {
                        json!({
                            "peer": o.peer,
                            "scid": o.scid.to_string(),
                            "flow_value": o.flow as u8,
                            "amt": o.amt_msat,
                            "timestamp": o.timestamp,
                        })
                    })
                    .collect();
                out.push(json!({"effect": "offers", "offers": offers}));
                Vec::new()
            }
            Op::Features => {
                // W06's fault advertises the draft's 20/21, taken by BOLT #9.
                let draft = self.node.config().fault == Some(Fault::W06DraftFeatureBits);
                out.push(features_effect(if draft {
                    21
                } else {
                    OPTION_BALANCE_SHARING_ODD_BIT
                }));
                Vec::new()
            }
            Op::Htlc(h) => {
                out.extend(self.forwarding.htlc(&mut self.node, h, now));
                Vec::new()
            }
            Op::RebalanceResult {
                id,
                hops: _,
                ok,
                erring_scid,
            } => {
                // R-REB-8: a failure naming a channel drops its offers, whichever rebalance
                // of ours it was (the next `plan` re-plans without them).
                let dropped = match (ok, erring_scid) {
                    (false, Some(s)) => self.node.rebalance_failed(s),
                    _ => Vec::new(),
                };
                if let Some(id) = id {
                    let fault = self.node.config().fault;
                    out.extend(self.forwarding.rebalance_result(fault, &id, ok));
                }
                dropped
            }
            Op::RequireOffer(on) => {
                self.forwarding.require_offer(on);
                Vec::new()
            }
            Op::CollectOffers => self.node.collect_offers(now),
            Op::Plan => {
                out.extend(self.forwarding.plan(&self.node, now));
                Vec::new()
            }
            Op::GraphEdges(edges) => {
                self.forwarding.set_edges(edges);
                Vec::new()
            }
            Op::Unknown(name) => {
                out.push(json!({"effect": "unsupported", "op": name}));
                Vec::new()
            }
        };
        out.extend(effects.into_iter().map(effect_json));
        out.push(done());
        out
    }

    fn init(&mut self, init: Init) {
        let c = &init.config;
        let defaults = Config::default();
        let obfuscation = c.obfuscate.then(|| {
            let d = Obfuscation::default();
            Obfuscation {
                max_omit: c.obfuscate_max_omit.unwrap_or(d.max_omit),
                max_add: c.obfuscate_max_add.unwrap_or(d.max_add),
            }
        });
        let config = Config {
            chain_hash: init.chain_hash,
            future_tolerance_secs: c
                .future_tolerance_secs
                .unwrap_or(defaults.future_tolerance_secs),
            rate_limit: RateLimit {
                max: c.rate_limit_max.unwrap_or(defaults.rate_limit.max),
                window_secs: c
                    .rate_limit_window_secs
                    .unwrap_or(defaults.rate_limit.window_secs),
            },
            drop_offers_on_disconnect: c
                .drop_offers_on_disconnect
                .unwrap_or(defaults.drop_offers_on_disconnect),
            obfuscation,
            fault: c.fault.or(self.fault),
            ..defaults
        };
        self.now = init.now;
        self.node = Node::new(config, init.seed);
        self.forwarding = forwarding::Forwarding::default();
        self.node.set_graph(init.graph);
        // One batch: `set_channel` per channel rebuilds the node's indexes each time, which
        // made an `init` with 1000+ channels quadratic (most of the conformance suite's time).
        self.node.set_channels(init.channels, init.now);
    }
}

/// The `option_balance_sharing` pair this implementation advertises (W06): the odd
/// (optional) bit is set in `init`.
pub use foaf_wire::features::OPTION_BALANCE_SHARING_ODD_BIT;

/// The `features` effect: our `init` features (big-endian bit field, BOLT #1) and the even bit
/// of the pair.
fn features_effect(bit: u16) -> Value {
    let len = usize::from(bit / 8) + 1;
    let mut init = vec![0u8; len];
    init[len - 1 - usize::from(bit / 8)] |= 1 << (bit % 8);
    json!({
        "effect": "features",
        "init_features": hex::encode(init),
        "option_balance_sharing": bit & !1,
    })
}

fn flow(v: u64) -> Option<Flow> {
    u8::try_from(v).ok().and_then(Flow::from_byte)
}

fn refused_flow(op: &str, mut out: Vec<Value>) -> Vec<Value> {
    out.push(json!({"effect": "refused", "op": op, "reason": "invalid_flow_value"}));
    out.push(done());
    out
}

fn done() -> Value {
    json!({"effect": "done"})
}

fn log(text: String) -> Value {
    json!({"effect": "log", "text": text})
}

/// The pipe rendering of a node effect.
pub fn effect_json(e: Effect<String>) -> Value {
    match e {
        Effect::Send { peer, bytes } => {
            json!({"effect": "send", "peer": peer, "msg": hex::encode(bytes)})
        }
        Effect::Disconnect { peer, reason } => {
            json!({"effect": "disconnect", "peer": peer, "reason": reason.as_str()})
        }
        Effect::Refused {
            op,
            peer: _,
            reason,
        } => {
            json!({"effect": "refused", "op": op.as_str(), "reason": reason.as_str()})
        }
        Effect::Ignored { peer, reason } => log(format!(
            "ignored a message from {peer}: {}",
            reason.as_str()
        )),
        Effect::Deferred { peer } => log(format!(
            "answer to {peer} deferred by the rate limit (S05); it goes out on a later tick"
        )),
        Effect::Log(text) => log(text),
    }
}

/// Runs the protocol: reads ops from `input` until end of file, writes effects to `output`
/// (flushed after each op) and one line per malformed op to `errors`.
pub fn run(
    input: impl BufRead,
    mut output: impl Write,
    mut errors: impl Write,
    fault: Option<Fault>,
) -> io::Result<()> {
    let mut session = Session::new(fault);
    for (n, line) in input.lines().enumerate() {
        let line = match line {
            Ok(l) => l,
            // Not UTF-8: a malformed line like any other.
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                writeln!(errors, "foaf pipe: line {}: not UTF-8", n + 1)?;
                let out = [log("malformed op ignored: not UTF-8".into()), done()];
                for v in out {
                    writeln!(output, "{v}")?;
                }
                output.flush()?;
                continue;
            }
            Err(e) => return Err(e),
        };
        // A `#` line is a comment (a conformance transcript replayed with `foaf pipe < FILE`
        // carries the effects it expects as comments): no effect, not even `done`.
        if line.trim_start().starts_with('#') {
            continue;
        }
        let out = session.handle_line(&line);
        if let Some(e) = &out.error {
            writeln!(errors, "foaf pipe: line {}: {e}", n + 1)?;
        }
        for v in out.effects {
            writeln!(output, "{v}")?;
        }
        output.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features_bit(fault: Option<Fault>) -> Value {
        let mut s = Session::new(fault);
        s.handle_line(r#"{"op":"features"}"#).effects[0]["option_balance_sharing"].clone()
    }

    // R: W06 — the experimental pair, and its fault the draft's 20/21 (BOLT #9's anchors).
    #[test]
    fn w06_fault_reports_the_draft_bits() {
        assert_eq!(features_bit(None), 214);
        assert_eq!(features_bit(Some(Fault::W06DraftFeatureBits)), 20);
    }

    // A transcript replays: `#` lines are comments, no effect at all.
    #[test]
    fn comment_lines_are_skipped() {
        let input = "# a comment\n{\"op\":\"offers\"}\n  # indented\n";
        let mut out = Vec::new();
        run(input.as_bytes(), &mut out, io::sink(), None).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
    }
}
