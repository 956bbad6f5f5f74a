//! Checking one step's effects against its patterns, and a run against its invariants.

use std::collections::{BTreeMap, BTreeSet};

use foaf_wire::{Message, ShortChannelId};

use crate::effect::{describe_msg, Effect};
use crate::vector::{Invariant, OfferEntry, Pattern, QueryCheck, ReplyCheck, ScidCheck};

/// BOLT #1 `warning` message type.
pub const WARNING_TYPE: u16 = 1;

/// Resolves `"$name"` references against a vector's named sets.
pub struct Sets<'a>(pub &'a BTreeMap<String, Vec<String>>);

impl Sets<'_> {
    /// The scids a list of strings and `$name` references stands for.
    pub fn resolve(&self, items: &[String]) -> Result<BTreeSet<ShortChannelId>, String> {
        let mut out = BTreeSet::new();
        for item in items {
            if let Some(name) = item.strip_prefix('$') {
                let set = self
                    .0
                    .get(name)
                    .ok_or_else(|| format!("vector refers to unknown set ${name}"))?;
                for s in set {
                    out.insert(parse_scid(s)?);
                }
            } else {
                out.insert(parse_scid(item)?);
            }
        }
        Ok(out)
    }
}

fn parse_scid(s: &str) -> Result<ShortChannelId, String> {
    s.parse()
        .map_err(|e| format!("vector holds a bad short_channel_id {s:?}: {e}"))
}

/// Checks one step. `Ok(())` when the effects match, else every reason they do not.
pub fn check_step(
    effects: &[Effect],
    patterns: &[Pattern],
    sets: &Sets<'_>,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let disconnected: BTreeSet<&str> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Disconnect { peer, .. } => Some(peer.as_str()),
            _ => None,
        })
        .collect();
    // A warning sent to a peer we disconnect in the same op belongs to the disconnect.
    let mut relevant: Vec<&Effect> = Vec::new();
    for e in effects.iter().filter(|e| !e.is_ignored()) {
        if let Effect::Send { peer, msg } = e {
            if disconnected.contains(peer.as_str()) && msg_type(msg) == Some(WARNING_TYPE) {
                if let Err(why) = check_warning(msg) {
                    problems.push(format!("warning to {peer} is malformed: {why}"));
                }
                continue;
            }
        }
        relevant.push(e);
    }
    let verdicts: Vec<Vec<Result<(), String>>> = relevant
        .iter()
        .map(|e| patterns.iter().map(|p| accepts(p, e, sets)).collect())
        .collect();
    let mut used = vec![false; patterns.len()];
    if !problems.is_empty() || !assign(&verdicts, 0, &mut used, patterns) {
        problems.extend(explain(&relevant, patterns, &verdicts));
        if problems.is_empty() {
            problems.push("effects do not match the expected ones".into());
        }
        return Err(problems);
    }
    Ok(())
}

/// Backtracking search for a one-to-one assignment of effects to patterns in which every
/// non-optional pattern is used.
fn assign(
    verdicts: &[Vec<Result<(), String>>],
    i: usize,
    used: &mut [bool],
    patterns: &[Pattern],
) -> bool {
    if i == verdicts.len() {
        return patterns
            .iter()
            .zip(used.iter())
            .all(|(p, u)| *u || is_optional(p));
    }
    for j in 0..patterns.len() {
        if !used[j] && verdicts[i][j].is_ok() {
            used[j] = true;
            if assign(verdicts, i + 1, used, patterns) {
                return true;
            }
            used[j] = false;
        }
    }
    false
}

fn explain(
    effects: &[&Effect],
    patterns: &[Pattern],
    verdicts: &[Vec<Result<(), String>>],
) -> Vec<String> {
    let mut out = Vec::new();
    for (i, e) in effects.iter().enumerate() {
        if verdicts[i].iter().all(Result::is_err) {
            let why: Vec<&str> = verdicts[i]
                .iter()
                .filter_map(|r| r.as_ref().err())
                .filter(|w| !w.starts_with('~'))
                .map(String::as_str)
                .collect();
            if why.is_empty() {
                out.push(format!("unexpected effect: {}", e.describe()));
            } else {
                out.push(format!("{}: {}", e.describe(), why.join("; ")));
            }
        }
    }
    for (j, p) in patterns.iter().enumerate() {
        if !is_optional(p) && verdicts.iter().all(|v| v[j].is_err()) {
            out.push(format!("missing effect: {}", describe_pattern(p)));
        }
    }
    out
}

fn is_optional(p: &Pattern) -> bool {
    match p {
        Pattern::Send { optional, .. }
        | Pattern::Disconnect { optional, .. }
        | Pattern::Refused { optional, .. } => *optional,
        Pattern::Offers { .. } | Pattern::Features { .. } => false,
    }
}

/// A short rendering of a pattern for failure messages.
pub fn describe_pattern(p: &Pattern) -> String {
    match p {
        Pattern::Send {
            peer,
            msg,
            query,
            reply,
            ..
        } => {
            if let Some(m) = msg {
                let bytes = hex::decode(m).unwrap_or_default();
                format!("send to {peer}: {}", describe_msg(&bytes))
            } else if query.is_some() {
                format!("send of a query_foaf_balances to {peer}")
            } else if reply.is_some() {
                format!("send of a reply_foaf_balances to {peer}")
            } else {
                format!("send to {peer}")
            }
        }
        Pattern::Disconnect { peer, .. } => format!("disconnect {peer}"),
        Pattern::Refused { op, .. } => format!("refused {op}"),
        Pattern::Offers { offers, .. } => format!("offers ({} entries)", offers.len()),
        Pattern::Features { .. } => "features".into(),
    }
}

/// Errors starting with `~` mean "a different kind of effect" and are left out of reports.
fn accepts(p: &Pattern, e: &Effect, sets: &Sets<'_>) -> Result<(), String> {
    let other = || Err("~".to_string());
    match (p, e) {
        (
            Pattern::Send {
                peer: want_peer,
                msg,
                query,
                reply,
                ..
            },
            Effect::Send { peer, msg: bytes },
        ) => {
            if want_peer != peer {
                return other();
            }
            if let Some(want) = msg {
                let got = hex::encode(bytes);
                if *want != got {
                    return Err(format!(
                        "expected exactly {} = {want}, got {got}",
                        describe_msg(&hex::decode(want).unwrap_or_default())
                    ));
                }
            }
            if let Some(q) = query {
                check_query(q, bytes)?;
            }
            if let Some(r) = reply {
                check_reply(r, bytes, sets)?;
            }
            Ok(())
        }
        (Pattern::Disconnect { peer: want, .. }, Effect::Disconnect { peer, .. }) => {
            if want == peer {
                Ok(())
            } else {
                other()
            }
        }
        (Pattern::Refused { op: want, .. }, Effect::Refused { op, .. }) => {
            if want == op {
                Ok(())
            } else {
                Err(format!("expected refused {want}"))
            }
        }
        (
            Pattern::Offers {
                offers,
                may_include,
            },
            Effect::Offers(got),
        ) => check_offers(offers, may_include, got),
        (Pattern::Features { taken_bits }, Effect::Features { init_features, bit }) => {
            check_features(taken_bits, init_features, *bit)
        }
        _ => other(),
    }
}

fn msg_type(msg: &[u8]) -> Option<u16> {
    (msg.len() >= 2).then(|| u16::from_be_bytes([msg[0], msg[1]]))
}

/// BOLT #1 `warning`: `channel_id` (32), `u16 len`, `len` bytes of data.
fn check_warning(msg: &[u8]) -> Result<(), String> {
    if msg.len() < 2 + 32 + 2 {
        return Err(format!(
            "{} bytes, shorter than type+channel_id+len",
            msg.len()
        ));
    }
    let len = usize::from(u16::from_be_bytes([msg[34], msg[35]]));
    if msg.len() != 36 + len {
        return Err(format!("len {len} but {} data bytes", msg.len() - 36));
    }
    Ok(())
}

fn check_query(c: &QueryCheck, bytes: &[u8]) -> Result<(), String> {
    let q = match Message::decode(bytes) {
        Ok(Message::Query(q)) => q,
        Ok(_) => {
            return Err(format!(
                "expected a query_foaf_balances (type 347), got {}",
                describe_msg(bytes)
            ))
        }
        Err(e) => return Err(format!("sent message does not decode: {e}")),
    };
    if let Some(ch) = &c.chain_hash {
        if q.chain_hash.to_string() != *ch {
            return Err(format!("query chain_hash {} is not {ch}", q.chain_hash));
        }
    }
    if let Some(f) = c.flow_value {
        if q.flow_value != f {
            return Err(format!("query flow_value {} is not {f}", q.flow_value));
        }
    }
    bounds(
        "query amt_to_rebalance",
        q.amt_to_rebalance,
        c.amt_min,
        c.amt_max,
    )
}

fn bounds(what: &str, v: u64, min: Option<u64>, max: Option<u64>) -> Result<(), String> {
    if let Some(m) = min {
        if v < m {
            return Err(format!("{what} {v} is below {m}"));
        }
    }
    if let Some(m) = max {
        if v > m {
            return Err(format!("{what} {v} is above {m}"));
        }
    }
    Ok(())
}

fn check_reply(c: &ReplyCheck, bytes: &[u8], sets: &Sets<'_>) -> Result<(), String> {
    let r = match Message::decode(bytes) {
        Ok(Message::Reply(r)) => r,
        Ok(_) => {
            return Err(format!(
                "expected a reply_foaf_balances (type 349), got {}",
                describe_msg(bytes)
            ))
        }
        Err(e) => return Err(format!("sent message does not decode: {e}")),
    };
    if let Some(ch) = &c.chain_hash {
        if r.chain_hash.to_string() != *ch {
            return Err(format!("reply chain_hash {} is not {ch}", r.chain_hash));
        }
    }
    if let Some(f) = c.flow_value {
        if r.flow_value != f {
            return Err(format!("reply flow_value {} is not {f}", r.flow_value));
        }
    }
    if let Some(t) = c.timestamp {
        if r.timestamp != t {
            return Err(format!("reply timestamp {} is not {t}", r.timestamp));
        }
    }
    bounds(
        "reply amt_to_rebalance",
        r.amt_to_rebalance,
        c.amt_min,
        c.amt_max,
    )?;
    check_scids(&c.scids, &r.short_channel_ids, sets)
}

fn list(set: &BTreeSet<ShortChannelId>) -> String {
    let v: Vec<String> = set.iter().take(8).map(|s| s.to_string()).collect();
    if set.len() > 8 {
        format!("[{}, … {} in all]", v.join(", "), set.len())
    } else {
        format!("[{}]", v.join(", "))
    }
}

/// Checks a list of scids against a [`ScidCheck`].
pub fn check_scids(c: &ScidCheck, ids: &[ShortChannelId], sets: &Sets<'_>) -> Result<(), String> {
    let got: BTreeSet<ShortChannelId> = ids.iter().copied().collect();
    if let Some(max) = c.max_len {
        if ids.len() > max {
            return Err(format!("{} short_channel_ids, more than {max}", ids.len()));
        }
    }
    if let Some(min) = c.min_len {
        if ids.len() < min {
            return Err(format!("{} short_channel_ids, fewer than {min}", ids.len()));
        }
    }
    if let Some(eq) = &c.equals {
        let want = sets.resolve(eq)?;
        if got != want {
            let extra: BTreeSet<_> = got.difference(&want).copied().collect();
            let missing: BTreeSet<_> = want.difference(&got).copied().collect();
            return Err(format!(
                "scids {} should be {}: extra {}, missing {}",
                list(&got),
                list(&want),
                list(&extra),
                list(&missing)
            ));
        }
    }
    if let Some(sub) = &c.subset_of {
        let allowed = sets.resolve(sub)?;
        let extra: BTreeSet<_> = got.difference(&allowed).copied().collect();
        if !extra.is_empty() {
            return Err(format!("scids not allowed here: {}", list(&extra)));
        }
    }
    if !c.disjoint_from.is_empty() {
        let banned = sets.resolve(&c.disjoint_from)?;
        let bad: BTreeSet<_> = got.intersection(&banned).copied().collect();
        if !bad.is_empty() {
            return Err(format!("scids that must not appear: {}", list(&bad)));
        }
    }
    if !c.includes.is_empty() {
        let need = sets.resolve(&c.includes)?;
        let missing: BTreeSet<_> = need.difference(&got).copied().collect();
        if !missing.is_empty() {
            return Err(format!("scids missing: {}", list(&missing)));
        }
    }
    for name in &c.intersects_each {
        let set = sets.resolve(std::slice::from_ref(name))?;
        if got.is_disjoint(&set) {
            return Err(format!("no scid of {name} {}", list(&set)));
        }
    }
    Ok(())
}

fn check_offers(want: &[OfferEntry], may: &[OfferEntry], got: &[OfferEntry]) -> Result<(), String> {
    let norm = |o: &OfferEntry| -> OfferEntry {
        let mut o = o.clone();
        if let Ok(s) = o.scid.parse::<ShortChannelId>() {
            o.scid = s.to_string();
        }
        o
    };
    let got: BTreeSet<OfferEntry> = got.iter().map(norm).collect();
    let want: BTreeSet<OfferEntry> = want.iter().map(norm).collect();
    let may: BTreeSet<OfferEntry> = may.iter().map(norm).collect();
    let fmt = |o: &OfferEntry| {
        format!(
            "{}/{}/flow {}/amt {}/ts {}",
            o.peer, o.scid, o.flow_value, o.amt, o.timestamp
        )
    };
    let missing: Vec<String> = want.difference(&got).map(fmt).collect();
    let extra: Vec<String> = got
        .iter()
        .filter(|o| !want.contains(*o) && !may.contains(*o))
        .map(fmt)
        .collect();
    if missing.is_empty() && extra.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "offers held: missing [{}], unexpected [{}]",
            missing.join(", "),
            extra.join(", ")
        ))
    }
}

fn check_features(taken: &[u16], init: &[u8], bit: u16) -> Result<(), String> {
    let even = bit & !1;
    if taken.contains(&even) || taken.contains(&(even + 1)) {
        return Err(format!(
            "option_balance_sharing uses bits {even}/{}, assigned to another feature in BOLT #9",
            even + 1
        ));
    }
    // BOLT #1 feature fields are big-endian: bit 0 is the last byte's lowest bit.
    let is_set = |b: u16| {
        let byte = usize::from(b / 8);
        byte < init.len() && init[init.len() - 1 - byte] & (1 << (b % 8)) != 0
    };
    if !is_set(even) && !is_set(even + 1) {
        return Err(format!(
            "init features {} set neither bit {even} nor {}",
            hex::encode(init),
            even + 1
        ));
    }
    Ok(())
}

/// One message the implementation sent during a run, for the invariants.
#[derive(Debug, Clone)]
pub struct SentRecord {
    /// Runner clock when it was sent.
    pub now: u64,
    /// Peer.
    pub peer: String,
    /// Bytes.
    pub msg: Vec<u8>,
}

/// Checks the run-wide invariants.
pub fn check_invariants(
    invariants: &[Invariant],
    sent: &[SentRecord],
    sets: &Sets<'_>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for inv in invariants {
        match inv {
            Invariant::RateLimit {
                peer,
                kind,
                max,
                window,
            } => {
                let want_type = match kind.as_str() {
                    "query" => 347,
                    _ => 349,
                };
                let times: Vec<u64> = sent
                    .iter()
                    .filter(|s| s.peer == *peer && msg_type(&s.msg) == Some(want_type))
                    .map(|s| s.now)
                    .collect();
                // Times are non-decreasing (the clock never goes back): a window [t, t+w)
                // holds more than `max` sends iff some send and the one `max` later are
                // less than `window` apart.
                if let Some(i) = (0..times.len().saturating_sub(*max))
                    .find(|&i| times[i + max] < times[i] + window)
                {
                    problems.push(format!(
                        "{} {kind} messages sent to {peer} between t={} and t={} (less than {window} s apart); at most {max} allowed",
                        max + 1,
                        times[i],
                        times[i + max]
                    ));
                }
            }
            Invariant::RepliesCover { scids } => {
                let need = match sets.resolve(scids) {
                    Ok(n) => n,
                    Err(e) => {
                        problems.push(e);
                        continue;
                    }
                };
                let mut seen = BTreeSet::new();
                for s in sent {
                    if let Ok(Message::Reply(r)) = Message::decode(&s.msg) {
                        seen.extend(r.short_channel_ids);
                    }
                }
                let missing: BTreeSet<_> = need.difference(&seen).copied().collect();
                if !missing.is_empty() {
                    problems.push(format!(
                        "{} of {} eligible channels never appeared in any reply (a uniform sample reaches each one): {}",
                        missing.len(),
                        need.len(),
                        list(&missing)
                    ));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::{disconnects, optional, query_msg, refuses, reply_msg, scid, sends, CHAIN};
    use crate::vector::Pattern;

    fn send(peer: &str, msg: Vec<u8>) -> Effect {
        Effect::Send {
            peer: peer.into(),
            msg,
        }
    }
    fn warning() -> Vec<u8> {
        let mut w = vec![0, 1];
        w.extend([0u8; 32]);
        w.extend([0, 3]);
        w.extend(b"bad");
        w
    }
    fn disc(peer: &str) -> Effect {
        Effect::Disconnect {
            peer: peer.into(),
            reason: "x".into(),
        }
    }

    #[test]
    fn a_warning_before_a_disconnect_is_allowed_but_must_be_well_formed() {
        let empty = BTreeMap::new();
        let sets = Sets(&empty);
        let p = vec![disconnects("eve")];
        assert!(check_step(&[send("eve", warning()), disc("eve")], &p, &sets).is_ok());
        assert!(check_step(&[disc("eve")], &p, &sets).is_ok());
        let mut bad = warning();
        bad.pop();
        assert!(check_step(&[send("eve", bad), disc("eve")], &p, &sets).is_err());
        // A warning to a peer that is not disconnected is an unexpected send.
        assert!(check_step(&[send("bob", warning()), disc("eve")], &p, &sets).is_err());
    }

    #[test]
    fn patterns_match_one_to_one_and_optional_ones_may_be_absent() {
        let empty = BTreeMap::new();
        let sets = Sets(&empty);
        let q = query_msg(CHAIN, 1, 5);
        let p = vec![sends("a", &q), optional(refuses("query"))];
        assert!(check_step(&[send("a", q.clone())], &p, &sets).is_ok());
        assert!(check_step(&[send("a", q.clone()), send("a", q.clone())], &p, &sets).is_err());
        assert!(check_step(&[], &p, &sets).is_err());
        assert!(check_step(&[Effect::Log("hi".into()), send("a", q.clone())], &p, &sets).is_ok());
        assert!(check_step(&[send("b", q)], &p, &sets).is_err());
        let nothing: Vec<Pattern> = vec![];
        assert!(check_step(&[disc("x")], &nothing, &sets).is_err());
    }

    #[test]
    fn scid_constraints() {
        let mut named = BTreeMap::new();
        named.insert(
            "s".to_string(),
            vec!["1x1x1".to_string(), "2x2x2".to_string()],
        );
        let sets = Sets(&named);
        let (a, b, c) = (scid(1, 1, 1), scid(2, 2, 2), scid(3, 3, 3));
        let sub = ScidCheck {
            subset_of: Some(vec!["$s".into()]),
            intersects_each: vec!["$s".into()],
            max_len: Some(2),
            ..ScidCheck::default()
        };
        assert!(check_scids(&sub, &[a], &sets).is_ok());
        assert!(check_scids(&sub, &[a, c], &sets).is_err());
        assert!(check_scids(&sub, &[], &sets).is_err());
        assert!(check_scids(&sub, &[a, b, a], &sets).is_err());
        let dis = ScidCheck {
            disjoint_from: vec!["3x3x3".into()],
            includes: vec!["$s".into()],
            ..ScidCheck::default()
        };
        assert!(check_scids(&dis, &[a, b], &sets).is_ok());
        assert!(check_scids(&dis, &[a, b, c], &sets).is_err());
        assert!(check_scids(&dis, &[a], &sets).is_err());
    }

    // R: S05
    #[test]
    fn rate_limit_invariant_uses_half_open_windows() {
        let empty = BTreeMap::new();
        let sets = Sets(&empty);
        let inv = [Invariant::RateLimit {
            peer: "a".into(),
            kind: "reply".into(),
            max: 4,
            window: 10,
        }];
        let r = reply_msg(CHAIN, 1, 0, 1, &[]);
        let at = |times: &[u64]| -> Vec<SentRecord> {
            times
                .iter()
                .map(|&now| SentRecord {
                    now,
                    peer: "a".into(),
                    msg: r.clone(),
                })
                .collect()
        };
        assert!(check_invariants(&inv, &at(&[0, 0, 0, 0, 10]), &sets).is_empty());
        assert_eq!(
            check_invariants(&inv, &at(&[0, 0, 0, 0, 9]), &sets).len(),
            1
        );
        assert_eq!(
            check_invariants(&inv, &at(&[9, 9, 9, 9, 11]), &sets).len(),
            1
        );
        assert!(check_invariants(&inv, &at(&[0, 3, 6, 9, 12, 15, 18]), &sets).is_empty());
    }
}
