//! The requirement ids of `docs/requirements.md` and `docs/bolt14.md` (the project's numbered
//! BOLT #14 rules), each with its level and a one-line summary, in the order the report prints
//! them. The test `requirement_lists_agree` (tests/requirement_index.rs) fails when this list,
//! docs/requirements.md and docs/bolt14.md's table disagree.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

/// How binding a requirement (or one expectation of it) is.
///
/// `Must`, `Should` and `May` are the key words of the draft (RFC 2119) or, for the sections the
/// draft leaves empty (R-REB-*, R-JIT-*), of docs/bolt14.md. `Pinned` is what the project's
/// reference policy fixes where the draft leaves room (the exact A01 set, R-CM-*, the sampling
/// and obfuscation choices, the reply type 349 …): an implementation with another legal policy
/// fails pinned checks but no MUST. Ordered from most to least binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// MUST / MUST NOT.
    Must,
    /// SHOULD / SHOULD NOT.
    Should,
    /// MAY: when the node does it, it does it this way.
    May,
    /// The project's choice where the draft leaves room.
    Pinned,
}

impl Level {
    /// Every level, most binding first.
    pub const ALL: [Level; 4] = [Level::Must, Level::Should, Level::May, Level::Pinned];

    /// Lowercase name (`must`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
            Level::May => "may",
            Level::Pinned => "pinned",
        }
    }

    /// Upper-case label for tables (`MUST`, …, `pinned`).
    pub fn label(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
            Level::Pinned => "pinned",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown level {s:?} (must, should, may or pinned)"))
    }
}

/// One requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    /// `W01`, `R-REB-5`, …
    pub id: &'static str,
    /// Its level.
    pub level: Level,
    /// One line.
    pub summary: &'static str,
}

const fn r(id: &'static str, level: Level, summary: &'static str) -> Requirement {
    Requirement { id, level, summary }
}

use Level::{May, Must, Pinned, Should};

/// Every requirement, in docs/requirements.md order. One row per line, as the table it is
/// (`rustfmt` would split each row over five lines).
#[rustfmt::skip]
pub const REQUIREMENTS: &[Requirement] = &[
    r("W01",     Must,   "query_foaf_balances is type 347: chain_hash, flow_value, amt"),
    r("W02",     Must,   "reply_foaf_balances (type 349): ..., u16 len, len*scid"),
    r("W03",     Must,   "BOLT #1 framing; decode errors; odd TLVs skipped"),
    r("W04",     Must,   "short_channel_id is the BOLT #7 u64"),
    r("W05",     Pinned, "flow_value other than 0/1: message ignored"),
    r("W06",     Pinned, "feature bits for option_balance_sharing"),
    r("S01",     Must,   "chain_hash is the channels' genesis hash"),
    r("S02",     Must,   "no active channel: query/offer refused, nothing sent"),
    r("S03",     Should, "query flow_value: 1 push, 0 receive"),
    r("S04",     Should, "query amt at least the intended amount"),
    r("S05",     Should, "at most 4 queries and 4 replies per peer per 10 s"),
    r("A01",     Should, "reply lists channels willing to move amt toward nu"),
    r("A02",     Should, "reply amt at least the query's"),
    r("A03",     Should, "reply timestamp is the wall clock"),
    r("A04",     Should, "only operational channels"),
    r("A05",     May,    "obfuscation: off in conformance mode; seeded, bounded"),
    r("A06",     Must,   "never more than 1000 scids"),
    r("A07",     Should, "more than 1000 eligible: uniform sample"),
    r("A08",     Must,   "never an unannounced channel"),
    r("A09",     May,    "a reply may be sent unsolicited"),
    r("A10",     Must,   "received information never forwarded"),
    r("V01",     Should, "message from a peer with no active channel: fail"),
    r("V02",     Should, "reply with more than 1000 scids: fail"),
    r("V03",     May,    "timestamp more than 600 s ahead: fail"),
    r("V04",     May,    "newest offer per (peer, scid, flow) wins"),
    r("V05",     Must,   "unknown scids discarded"),
    r("V06",     Pinned, "unknown chain_hash: ignored, connection kept"),
    r("V07",     Pinned, "more than 4 queries per 10 s: excess unanswered"),
    r("V08",     Pinned, "undecodable message: fail the connection"),
    r("M01",     Should, "aim for the same relative balance (nu)"),
    r("M02",     Pinned, "parallel channels count as one"),
    r("M03",     Pinned, "fee-free rebalancing and JIT routing (bolt14.md 4, 5)"),
    r("R-CM-1",  Pinned, "nu over active channels; closing ones do not count"),
    r("R-CM-2",  Pinned, "never take a sender past nu; offers not past nu (exact)"),
    r("R-CM-3",  Pinned, "sources (zeta > nu) push, sinks (zeta < nu) take"),
    r("R-CM-4",  Should, "query sources with Push, sinks with Receive, a part of the deviation"),
    r("R-REB-1", Must,   "amount <= surplus of the peer left to, channel liquidity"),
    r("R-REB-2", Must,   "cycles of 3 or 4 hops through friends (of friends)"),
    r("R-REB-3", Must,   "foreign channels only as offered, fresh, amounts add up"),
    r("R-REB-4", Must,   "only strict decreases of G; deterministic choice"),
    r("R-REB-5", Must,   "hop forwards at 0 fee only shedding surplus, lowering G"),
    r("R-REB-6", May,    "hop may require its own fresh offer"),
    r("R-REB-7", Must,   "fee-free budget per upstream peer and window"),
    r("R-REB-8", Should, "pay-to-self onion, zero fees; on failure re-plan"),
    r("R-REB-9", Must,   "no JIT for a fee-free HTLC"),
    r("R-JIT-1", May,    "JIT only when no channel to the next peer can carry it"),
    r("R-JIT-2", Must,   "r = min(ceil(1.25 s), caps) >= s over an offered cycle"),
    r("R-JIT-3", Must,   "fee-free HTLCs never trigger JIT"),
    r("R-JIT-4", Must,   "hold <= 60 s; no JIT below 18 blocks to expiry"),
    r("R-JIT-5", Must,   "failure: temporary_channel_failure as usual"),
    r("R-JIT-6", Must,   "success: forward the original HTLC unchanged"),
    r("R-JIT-7", Must,   "errors indistinguishable from a node without JIT"),
];

/// Umbrella ids: rows that state no check of their own and hold exactly when every id they
/// group holds (docs/requirements.md): M03, "fee-free rebalancing and JIT routing", is the
/// R-REB-* and R-JIT-* rows. No vector cites an umbrella; the report and `--mutation` derive
/// its result from its children (`tests/coverage.rs` enforces both).
pub const UMBRELLAS: &[(&str, &[&str])] = &[("M03", &["R-REB-", "R-JIT-"])];

/// The ids the umbrella `id` groups, in [`REQUIREMENTS`] order; `None` when `id` is not an
/// umbrella.
pub fn children(id: &str) -> Option<Vec<&'static str>> {
    let (_, prefixes) = UMBRELLAS.iter().find(|(u, _)| *u == id)?;
    Some(
        REQUIREMENTS
            .iter()
            .map(|r| r.id)
            .filter(|i| prefixes.iter().any(|p| i.starts_with(p)))
            .collect(),
    )
}

/// Whether `id` is an umbrella ([`UMBRELLAS`]).
pub fn is_umbrella(id: &str) -> bool {
    UMBRELLAS.iter().any(|(u, _)| *u == id)
}

/// The requirement `id`, if it is one of [`REQUIREMENTS`].
pub fn find(id: &str) -> Option<&'static Requirement> {
    REQUIREMENTS.iter().find(|r| r.id == id)
}

/// The summary of `id`, if it is one of [`REQUIREMENTS`].
pub fn summary(id: &str) -> Option<&'static str> {
    find(id).map(|r| r.summary)
}

/// The level of an expectation checking `id` with an optional override: the override, else the
/// id's level; an id this list does not know counts as pinned (a vector set of someone else's).
pub fn level_of(id: &str, level: Option<Level>) -> Level {
    level
        .or_else(|| find(id).map(|r| r.level))
        .unwrap_or(Pinned)
}

/// Position of `id` in [`REQUIREMENTS`] (unknown ids after every known one).
pub fn order(id: &str) -> usize {
    REQUIREMENTS
        .iter()
        .position(|r| r.id == id)
        .unwrap_or(REQUIREMENTS.len())
}
