//! Checking one step's effects against its patterns, and a run against its invariants.

use std::collections::{BTreeMap, BTreeSet};

use foaf_wire::{Message, ShortChannelId};

use crate::effect::{describe_msg, Effect};
use crate::requirements::Level;
use crate::vector::{
    Check, Invariant, OfferEntry, Pattern, PlanCheck, PlanEntry, QueryCheck, ReplyCheck, ScidCheck,
};

/// BOLT #1 `warning` message type (foaf-wire states it once).
pub use foaf_wire::WARNING_TYPE;

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

/// The result of one expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It held.
    Pass,
    /// It did not; why.
    Fail(String),
    /// It could not be evaluated (an earlier step crashed, the message it checks never came).
    NotRun(String),
}

/// One expectation of a step, evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The requirement it checks.
    pub id: String,
    /// Level override of the expectation.
    pub level: Option<Level>,
    /// What it checks, in a few words.
    pub check: String,
    /// Whether it held.
    pub verdict: Verdict,
}

impl Finding {
    fn new(id: &str, level: Option<Level>, check: String, verdict: Verdict) -> Self {
        Finding {
            id: id.to_owned(),
            level,
            check,
            verdict,
        }
    }
}

/// The description of the step-wide expectation "no effect besides the expected ones".
pub const NOTHING_ELSE: &str = "no effect besides the expected ones";

/// The expectations of one step, without evaluating them (for steps that could not run).
pub fn step_expectations(
    step_id: &str,
    step_level: Option<Level>,
    patterns: &[Pattern],
    why: &str,
) -> Vec<Finding> {
    let not_run = || Verdict::NotRun(why.to_owned());
    let mut out = Vec::new();
    for p in patterns {
        out.push(Finding::new(
            p.id(),
            p.level(),
            describe_pattern(p),
            not_run(),
        ));
        if let Pattern::Send { also, .. } = p {
            for c in also {
                out.push(Finding::new(&c.id, c.level, describe_check(c), not_run()));
            }
        }
        if let Pattern::Rebalance { exact: Some(x), .. } = p {
            out.push(Finding::new(
                &x.id,
                x.level,
                "exact rebalance".into(),
                not_run(),
            ));
        }
        if let Pattern::Plan { checks, .. } = p {
            for c in checks {
                out.push(Finding::new(
                    &c.id,
                    c.level,
                    describe_plan_check(c),
                    not_run(),
                ));
            }
        }
    }
    out.push(Finding::new(
        step_id,
        step_level,
        NOTHING_ELSE.into(),
        not_run(),
    ));
    out
}

/// Checks one step: one [`Finding`] per pattern (it matched an effect), per `also` check of a
/// send pattern, and one for "no effect besides the expected ones", reported against
/// `step_id`. A sent message that looks like what a pattern expects (same kind, same peer) but
/// fails its checks is reported against that pattern's id only.
pub fn check_step(
    effects: &[Effect],
    patterns: &[Pattern],
    sets: &Sets<'_>,
    step_id: &str,
    step_level: Option<Level>,
) -> Vec<Finding> {
    let mut stray: Vec<String> = Vec::new();
    let disconnected: BTreeSet<&str> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Disconnect { peer, .. } => Some(peer.as_str()),
            _ => None,
        })
        .collect();
    // A warning sent to a peer we disconnect in the same op belongs to the disconnect.
    let mut relevant: Vec<&Effect> = Vec::new();
    let mut bad_warnings: BTreeMap<&str, String> = BTreeMap::new();
    for e in effects.iter().filter(|e| !e.is_ignored()) {
        if let Effect::Send { peer, msg } = e {
            if disconnected.contains(peer.as_str()) && msg_type(msg) == Some(WARNING_TYPE) {
                if let Err(why) = check_warning(msg) {
                    bad_warnings.insert(peer, format!("warning to {peer} is malformed: {why}"));
                }
                continue;
            }
        }
        relevant.push(e);
    }
    // verdicts[e][p]: Ok, Err("~") for "another kind of effect", Err(why) for a near miss.
    let verdicts: Vec<Vec<Result<(), String>>> = relevant
        .iter()
        .map(|e| patterns.iter().map(|p| accepts(p, e, sets)).collect())
        .collect();
    let matched = match_effects(&verdicts, patterns);
    let mut out = Vec::new();
    let mut explained = vec![false; relevant.len()];
    for (j, p) in patterns.iter().enumerate() {
        let got = matched.iter().position(|m| *m == Some(j));
        let mut verdict = match got {
            Some(_) => Verdict::Pass,
            None if is_optional(p) => Verdict::Pass,
            None => {
                // Near misses: unmatched effects of the same kind and peer, with why.
                let mut why: Vec<String> = Vec::new();
                for (i, e) in relevant.iter().enumerate() {
                    if matched[i].is_none() {
                        if let Err(w) = &verdicts[i][j] {
                            if !w.starts_with('~') {
                                why.push(format!("{}: {w}", e.describe()));
                                explained[i] = true;
                            }
                        }
                    }
                }
                if why.is_empty() {
                    Verdict::Fail(format!("missing effect: {}", describe_pattern(p)))
                } else {
                    Verdict::Fail(why.join("; "))
                }
            }
        };
        if let (Pattern::Disconnect { peer, .. }, Verdict::Pass) = (p, &verdict) {
            if let Some(w) = bad_warnings.remove(peer.as_str()) {
                verdict = Verdict::Fail(w);
            }
        }
        out.push(Finding::new(
            p.id(),
            p.level(),
            describe_pattern(p),
            verdict,
        ));
        if let Pattern::Send { also, .. } = p {
            for c in also {
                let v = match got.map(|i| relevant[i]) {
                    Some(Effect::Send { msg, .. }) => {
                        match check_fields(
                            c.msg.as_deref(),
                            c.query.as_ref(),
                            c.reply.as_deref(),
                            msg,
                            sets,
                        ) {
                            Ok(()) => Verdict::Pass,
                            Err(w) => Verdict::Fail(w),
                        }
                    }
                    _ if is_optional(p) => Verdict::Pass,
                    _ => Verdict::NotRun("the message it checks was not sent".into()),
                };
                out.push(Finding::new(&c.id, c.level, describe_check(c), v));
            }
        }
    }
    for (j, p) in patterns.iter().enumerate() {
        if let Pattern::Rebalance { exact: Some(x), .. } = p {
            let got = matched.iter().position(|m| *m == Some(j));
            let v = match got.map(|i| relevant[i]) {
                Some(Effect::Rebalance { amt, hops, .. }) => {
                    if *amt == x.amt && *hops == x.hops {
                        Verdict::Pass
                    } else {
                        Verdict::Fail(format!(
                            "rebalance {amt} msat over [{}], our policy asks {} over [{}]",
                            hops.join(", "),
                            x.amt,
                            x.hops.join(", ")
                        ))
                    }
                }
                _ => Verdict::NotRun("no rebalance was asked for".into()),
            };
            out.push(Finding::new(&x.id, x.level, "exact rebalance".into(), v));
        }
    }
    for (j, p) in patterns.iter().enumerate() {
        if let Pattern::Plan { checks, .. } = p {
            let got = matched.iter().position(|m| *m == Some(j));
            for c in checks {
                let v = match got.map(|i| relevant[i]) {
                    Some(Effect::Plan(plan)) => match check_plan(c, plan) {
                        Ok(()) => Verdict::Pass,
                        Err(w) => Verdict::Fail(w),
                    },
                    _ => Verdict::NotRun("no plan was reported".into()),
                };
                out.push(Finding::new(&c.id, c.level, describe_plan_check(c), v));
            }
        }
    }
    for (i, e) in relevant.iter().enumerate() {
        if matched[i].is_none() && !explained[i] {
            stray.push(format!("unexpected effect: {}", e.describe()));
        }
    }
    stray.extend(bad_warnings.into_values());
    let verdict = if stray.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(stray.join("; "))
    };
    out.push(Finding::new(
        step_id,
        step_level,
        NOTHING_ELSE.into(),
        verdict,
    ));
    out
}

/// A maximum one-to-one matching of effects to patterns (Kuhn's augmenting paths), trying the
/// non-optional patterns first so that an optional one never takes an effect a required one
/// needs. `result[effect]` is the pattern it matched.
fn match_effects(verdicts: &[Vec<Result<(), String>>], patterns: &[Pattern]) -> Vec<Option<usize>> {
    let mut of_effect: Vec<Option<usize>> = vec![None; verdicts.len()];
    let mut order: Vec<usize> = (0..patterns.len()).collect();
    order.sort_by_key(|&j| is_optional(&patterns[j]));
    for j in order {
        let mut seen = vec![false; verdicts.len()];
        augment(j, verdicts, &mut of_effect, &mut seen);
    }
    of_effect
}

fn augment(
    j: usize,
    verdicts: &[Vec<Result<(), String>>],
    of_effect: &mut [Option<usize>],
    seen: &mut [bool],
) -> bool {
    for i in 0..verdicts.len() {
        if verdicts[i][j].is_ok() && !seen[i] {
            seen[i] = true;
            let free = match of_effect[i] {
                None => true,
                Some(k) => augment(k, verdicts, of_effect, seen),
            };
            if free {
                of_effect[i] = Some(j);
                return true;
            }
        }
    }
    false
}

fn is_optional(p: &Pattern) -> bool {
    match p {
        Pattern::Send { optional, .. }
        | Pattern::Disconnect { optional, .. }
        | Pattern::Refused { optional, .. } => *optional,
        Pattern::Offers { .. }
        | Pattern::Features { .. }
        | Pattern::Forward { .. }
        | Pattern::Fail { .. }
        | Pattern::Hold { .. }
        | Pattern::Rebalance { .. }
        | Pattern::Plan { .. } => false,
    }
}

/// A short rendering of an `also` check.
pub fn describe_check(c: &Check) -> String {
    if c.msg.is_some() {
        "exact message bytes".into()
    } else if let Some(r) = &c.reply {
        describe_reply_check(r)
    } else if c.query.is_some() {
        "query fields".into()
    } else {
        "message".into()
    }
}

fn describe_reply_check(r: &ReplyCheck) -> String {
    let mut parts = Vec::new();
    if r.chain_hash.is_some() {
        parts.push("chain_hash");
    }
    if r.flow_value.is_some() {
        parts.push("flow_value");
    }
    if r.timestamp.is_some() {
        parts.push("timestamp");
    }
    if r.amt_min.is_some() || r.amt_max.is_some() {
        parts.push("amount");
    }
    let s = &r.scids;
    if s.equals.is_some() {
        parts.push("exact scid set");
    }
    if s.subset_of.is_some() {
        parts.push("scids allowed");
    }
    if !s.disjoint_from.is_empty() {
        parts.push("scids excluded");
    }
    if !s.includes.is_empty() || !s.intersects_each.is_empty() || s.min_len.is_some() {
        parts.push("scids present");
    }
    if s.max_len.is_some() {
        parts.push("scid count");
    }
    format!("reply: {}", parts.join(", "))
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
        Pattern::Forward { htlc, scid, .. } => match scid {
            Some(s) => format!("forward {htlc} on {s}"),
            None => format!("forward {htlc}"),
        },
        Pattern::Fail { htlc, code, .. } => match code {
            Some(c) => format!("fail {htlc} with {c}"),
            None => format!("fail {htlc}"),
        },
        Pattern::Hold {
            htlc, until_max, ..
        } => format!("hold {htlc} until {until_max} at most"),
        Pattern::Rebalance { htlc, amt_min, .. } => {
            format!("rebalance for {htlc} of at least {amt_min} msat")
        }
        Pattern::Plan { .. } => "plan".into(),
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
            check_fields(
                msg.as_deref(),
                query.as_ref(),
                reply.as_deref(),
                bytes,
                sets,
            )
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
                ..
            },
            Effect::Offers(got),
        ) => check_offers(offers, may_include, got),
        (Pattern::Features { taken_bits, .. }, Effect::Features { init_features, bit }) => {
            check_features(taken_bits, init_features, *bit)
        }
        (Pattern::Forward { htlc, scid, .. }, Effect::Forward { htlc: h, scid: got }) => {
            if htlc != h {
                return other();
            }
            match scid {
                Some(want) if !same_scid(want, got) => {
                    Err(format!("forwarded on {got}, expected {want}"))
                }
                _ => Ok(()),
            }
        }
        (Pattern::Fail { htlc, code, .. }, Effect::Fail { htlc: h, code: got }) => {
            if htlc != h {
                return other();
            }
            match code {
                Some(want) if want != got => Err(format!("failed with {got}, expected {want}")),
                _ => Ok(()),
            }
        }
        (
            Pattern::Hold {
                htlc, until_max, ..
            },
            Effect::Hold { htlc: h, until },
        ) => {
            if htlc != h {
                return other();
            }
            if until > until_max {
                return Err(format!("held until {until}, later than {until_max}"));
            }
            Ok(())
        }
        (Pattern::Plan { .. }, Effect::Plan(_)) => Ok(()),
        (Pattern::Rebalance { htlc, amt_min, .. }, Effect::Rebalance { htlc: h, amt, .. }) => {
            if htlc != h {
                return other();
            }
            if amt < amt_min {
                return Err(format!(
                    "rebalance of {amt} msat, below the shortfall {amt_min}"
                ));
            }
            Ok(())
        }
        _ => other(),
    }
}

/// The checks of a send pattern or an `also` check on the bytes sent.
fn check_fields(
    msg: Option<&str>,
    query: Option<&QueryCheck>,
    reply: Option<&ReplyCheck>,
    bytes: &[u8],
    sets: &Sets<'_>,
) -> Result<(), String> {
    if let Some(want) = msg {
        let got = hex::encode(bytes);
        if want != got {
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

fn describe_plan_check(c: &PlanCheck) -> String {
    let mut parts = Vec::new();
    if c.exact.is_some() {
        parts.push("exact plan");
    }
    if c.amt_max.is_some() {
        parts.push("amounts within surplus and deficit");
    }
    if c.ours.is_some() {
        parts.push("cycles of 3 or 4 hops from and to us");
    }
    if c.offered.is_some() {
        parts.push("only offered channels, within the offers");
    }
    if c.count_max.is_some() {
        parts.push("number of rebalances");
    }
    format!("plan: {}", parts.join(", "))
}

fn norm_scid(h: &str) -> String {
    h.parse::<ShortChannelId>()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| h.to_owned())
}

fn show_plan(p: &[PlanEntry]) -> String {
    let r: Vec<String> = p
        .iter()
        .map(|e| format!("{} over [{}]", e.amt, e.hops.join(", ")))
        .collect();
    format!("[{}]", r.join("; "))
}

/// One plan check (R-REB-1–R-REB-4); `Err` says what broke it.
fn check_plan(c: &PlanCheck, plan: &[PlanEntry]) -> Result<(), String> {
    if let Some(n) = c.count_max {
        if plan.len() > n {
            return Err(format!(
                "{} rebalances, at most {n} allowed: {}",
                plan.len(),
                show_plan(plan)
            ));
        }
    }
    if let Some(max) = c.amt_max {
        if let Some(e) = plan.iter().find(|e| e.amt > max) {
            return Err(format!(
                "{} msat over [{}]: more than {max}",
                e.amt,
                e.hops.join(", ")
            ));
        }
    }
    if let Some(ours) = &c.ours {
        let ours: BTreeSet<String> = ours.iter().map(|s| norm_scid(s)).collect();
        for e in plan {
            let h: Vec<String> = e.hops.iter().map(|s| norm_scid(s)).collect();
            let ok = (3..=4).contains(&h.len())
                && ours.contains(&h[0])
                && ours.contains(&h[h.len() - 1])
                && h[1..h.len() - 1].iter().all(|x| !ours.contains(x));
            if !ok {
                return Err(format!(
                    "[{}] is not a cycle of 3 or 4 hops leaving and returning on our channels",
                    e.hops.join(", ")
                ));
            }
        }
    }
    if let Some(offered) = &c.offered {
        let caps: BTreeMap<String, u64> = offered.iter().map(|(s, a)| (norm_scid(s), *a)).collect();
        let mut used: BTreeMap<String, u128> = BTreeMap::new();
        for e in plan {
            let inner = e.hops.len().saturating_sub(2);
            for h in e.hops.iter().skip(1).take(inner) {
                let h = norm_scid(h);
                if !caps.contains_key(&h) {
                    return Err(format!("uses {h}, which no fresh offer covers"));
                }
                *used.entry(h).or_default() += u128::from(e.amt);
            }
        }
        for (h, u) in used {
            if u > u128::from(caps[&h]) {
                return Err(format!(
                    "{u} msat over {h}, more than its offer of {}",
                    caps[&h]
                ));
            }
        }
    }
    if let Some(want) = &c.exact {
        let key = |p: &[PlanEntry]| -> Vec<(u64, Vec<String>)> {
            p.iter()
                .map(|e| (e.amt, e.hops.iter().map(|s| norm_scid(s)).collect()))
                .collect()
        };
        if key(want) != key(plan) {
            return Err(format!(
                "plan {}, our policy plans {}",
                show_plan(plan),
                show_plan(want)
            ));
        }
    }
    Ok(())
}

fn same_scid(a: &str, b: &str) -> bool {
    match (a.parse::<ShortChannelId>(), b.parse::<ShortChannelId>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
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
    /// Runner clock when it was sent, in milliseconds (the pipe's `now` may carry a fraction
    /// of a second).
    pub now_ms: u64,
    /// Peer.
    pub peer: String,
    /// Bytes.
    pub msg: Vec<u8>,
}

/// Checks the run-wide invariants: one [`Finding`] each.
pub fn check_invariants(
    invariants: &[Invariant],
    sent: &[SentRecord],
    sets: &Sets<'_>,
) -> Vec<Finding> {
    invariants
        .iter()
        .map(|inv| {
            let (check, result) = match inv {
                Invariant::RateLimit {
                    peer,
                    kind,
                    max,
                    window,
                    ..
                } => (
                    format!("at most {max} {kind} messages to {peer} in any {window} s"),
                    rate_limit(sent, peer, kind, *max, *window),
                ),
                Invariant::RepliesCover { scids, .. } => (
                    "replies together reach every eligible channel".to_string(),
                    replies_cover(sent, scids, sets),
                ),
            };
            let verdict = match result {
                Ok(()) => Verdict::Pass,
                Err(w) => Verdict::Fail(w),
            };
            Finding::new(inv.id(), None, check, verdict)
        })
        .collect()
}

fn rate_limit(
    sent: &[SentRecord],
    peer: &str,
    kind: &str,
    max: usize,
    window: u64,
) -> Result<(), String> {
    let want_type = match kind {
        "query" => 347,
        _ => 349,
    };
    let times: Vec<u64> = sent
        .iter()
        .filter(|s| s.peer == peer && msg_type(&s.msg) == Some(want_type))
        .map(|s| s.now_ms)
        .collect();
    // Times are non-decreasing (the clock never goes back): a window [t, t+w) holds more than
    // `max` sends iff some send and the one `max` later are less than `window` apart.
    let w = window.saturating_mul(1000);
    match (0..times.len().saturating_sub(max)).find(|&i| times[i + max] < times[i].saturating_add(w)) {
        None => Ok(()),
        Some(i) => Err(format!(
            "{} {kind} messages sent to {peer} between t={} and t={} (less than {window} s apart); at most {max} allowed",
            max + 1,
            secs(times[i]),
            secs(times[i + max])
        )),
    }
}

/// Milliseconds as seconds, without a fraction when there is none.
fn secs(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        (ms / 1000).to_string()
    } else {
        format!("{}.{:03}", ms / 1000, ms % 1000)
    }
}

fn replies_cover(sent: &[SentRecord], scids: &[String], sets: &Sets<'_>) -> Result<(), String> {
    let need = sets.resolve(scids)?;
    let mut seen = BTreeSet::new();
    for s in sent {
        if let Ok(Message::Reply(r)) = Message::decode(&s.msg) {
            seen.extend(r.short_channel_ids);
        }
    }
    let missing: BTreeSet<_> = need.difference(&seen).copied().collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} eligible channels never appeared in any reply (a uniform sample reaches each one): {}",
            missing.len(),
            need.len(),
            list(&missing)
        ))
    }
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
    fn ok(f: Vec<Finding>) -> bool {
        f.iter().all(|f| f.verdict == Verdict::Pass)
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
        assert!(ok(check_step(
            &[send("eve", warning()), disc("eve")],
            &p,
            &sets,
            "V08",
            None
        )));
        assert!(ok(check_step(&[disc("eve")], &p, &sets, "X", None)));
        let mut bad = warning();
        bad.pop();
        assert!(!ok(check_step(
            &[send("eve", bad), disc("eve")],
            &p,
            &sets,
            "X",
            None
        )));
        // A warning to a peer that is not disconnected is an unexpected send.
        assert!(!ok(check_step(
            &[send("bob", warning()), disc("eve")],
            &p,
            &sets,
            "X",
            None
        )));
    }

    #[test]
    fn patterns_match_one_to_one_and_optional_ones_may_be_absent() {
        let empty = BTreeMap::new();
        let sets = Sets(&empty);
        let q = query_msg(CHAIN, 1, 5);
        let p = vec![sends("a", &q), optional(refuses("query"))];
        assert!(ok(check_step(
            &[send("a", q.clone())],
            &p,
            &sets,
            "X",
            None
        )));
        assert!(!ok(check_step(
            &[send("a", q.clone()), send("a", q.clone())],
            &p,
            &sets,
            "X",
            None
        )));
        assert!(!ok(check_step(&[], &p, &sets, "X", None)));
        assert!(ok(check_step(
            &[Effect::Log("hi".into()), send("a", q.clone())],
            &p,
            &sets,
            "X",
            None
        )));
        assert!(!ok(check_step(&[send("b", q)], &p, &sets, "X", None)));
        let nothing: Vec<Pattern> = vec![];
        assert!(!ok(check_step(&[disc("x")], &nothing, &sets, "X", None)));
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
            id: "S05".into(),
            peer: "a".into(),
            kind: "reply".into(),
            max: 4,
            window: 10,
        }];
        let r = reply_msg(CHAIN, 1, 0, 1, &[]);
        let at = |times: &[u64]| -> Vec<SentRecord> {
            times
                .iter()
                .map(|&now_ms| SentRecord {
                    now_ms,
                    peer: "a".into(),
                    msg: r.clone(),
                })
                .collect()
        };
        let holds = |times: &[u64]| ok(check_invariants(&inv, &at(times), &sets));
        assert!(holds(&[0, 0, 0, 0, 10_000]));
        assert!(!holds(&[0, 0, 0, 0, 9_999]));
        assert!(!holds(&[9_000, 9_000, 9_000, 9_000, 11_000]));
        assert!(holds(&[0, 3_000, 6_000, 9_000, 12_000, 15_000, 18_000]));
        // Sub-second: four at 0.5 s, the fifth at 10.4 s is inside [0.5, 10.5).
        assert!(!holds(&[500, 500, 500, 500, 10_400]));
        assert!(holds(&[500, 500, 500, 500, 10_500]));
    }
}

#[cfg(test)]
mod attribution {
    use super::*;
    use crate::build::{
        also, checks, equals, query_msg, reply_check, reply_msg, scid, sends_reply, subset_of,
        CHAIN,
    };

    fn send(peer: &str, msg: Vec<u8>) -> Effect {
        Effect::Send {
            peer: peer.into(),
            msg,
        }
    }

    fn failed(f: &[Finding]) -> Vec<(&str, Option<Level>)> {
        f.iter()
            .filter(|f| matches!(f.verdict, Verdict::Fail(_)))
            .map(|f| (f.id.as_str(), f.level))
            .collect()
    }

    // A wrong reply is reported against the id of the check it breaks, never also as an
    // "unexpected effect" of the step.
    #[test]
    fn a_failed_check_is_reported_against_its_own_id_only() {
        let empty = BTreeMap::new();
        let sets = Sets(&empty);
        let (a, b, c) = (scid(1, 1, 1), scid(2, 2, 2), scid(3, 3, 3));
        let allowed = subset_of(vec![a.to_string(), b.to_string()]);
        let p = vec![also(
            checks(
                sends_reply("q", reply_check(CHAIN, 1, 5, 10, allowed)),
                "A01",
            ),
            "A01",
            Some(Level::Pinned),
            reply_check(CHAIN, 1, 5, 10, equals(vec![a.to_string()])),
        )];
        let good = send("q", reply_msg(CHAIN, 1, 5, 10, &[a]));
        assert!(failed(&check_step(&[good], &p, &sets, "S99", None)).is_empty());
        // b is allowed by the policy-independent check but not the pinned exact set.
        let other_policy = send("q", reply_msg(CHAIN, 1, 5, 10, &[b]));
        assert_eq!(
            failed(&check_step(&[other_policy], &p, &sets, "S99", None)),
            vec![("A01", Some(Level::Pinned))]
        );
        // c breaks the draft-level check: only that one fails, the pinned one is not run.
        let bad = send("q", reply_msg(CHAIN, 1, 5, 10, &[c]));
        let f = check_step(&[bad], &p, &sets, "S99", None);
        assert_eq!(failed(&f), vec![("A01", None)]);
        assert!(matches!(f[1].verdict, Verdict::NotRun(_)));
        // An effect no pattern covers fails the step's own id.
        let stray = send("x", query_msg(CHAIN, 1, 5));
        let good = send("q", reply_msg(CHAIN, 1, 5, 10, &[a]));
        assert_eq!(
            failed(&check_step(&[good, stray], &p, &sets, "S99", None)),
            vec![("S99", None)]
        );
    }
}
