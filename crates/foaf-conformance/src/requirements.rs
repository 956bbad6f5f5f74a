//! The requirement ids of `requirements.md` (the project's numbered BOLT #14 rules), with a
//! one-line summary each, in the order the report prints them.

/// `(id, summary)` for every requirement the suite must cover.
pub const REQUIREMENTS: &[(&str, &str)] = &[
    (
        "W01",
        "query_foaf_balances is type 347: chain_hash, flow_value, amt",
    ),
    (
        "W02",
        "reply_foaf_balances (type 349): ..., u16 len, len*scid",
    ),
    ("W03", "BOLT #1 framing; decode errors; odd TLVs skipped"),
    ("W04", "short_channel_id is the BOLT #7 u64"),
    ("W05", "flow_value other than 0/1: message ignored"),
    ("W06", "feature bits for option_balance_sharing"),
    ("S01", "chain_hash is the channels' genesis hash"),
    (
        "S02",
        "no active channel: query/offer refused, nothing sent",
    ),
    ("S03", "query flow_value: 1 push, 0 receive"),
    ("S04", "query amt at least the intended amount"),
    ("S05", "at most 4 queries and 4 replies per peer per 10 s"),
    ("A01", "reply lists channels willing to move amt toward nu"),
    ("A02", "reply amt at least the query's"),
    ("A03", "reply timestamp is the wall clock"),
    ("A04", "only operational channels"),
    (
        "A05",
        "obfuscation: off in conformance mode; seeded, bounded",
    ),
    ("A06", "never more than 1000 scids"),
    ("A07", "more than 1000 eligible: uniform sample"),
    ("A08", "never an unannounced channel"),
    ("A09", "a reply may be sent unsolicited"),
    ("A10", "received information never forwarded"),
    ("V01", "message from a peer with no active channel: fail"),
    ("V02", "reply with more than 1000 scids: fail"),
    ("V03", "timestamp more than 600 s ahead: fail"),
    ("V04", "newest offer per (peer, scid, flow) wins"),
    ("V05", "unknown scids discarded"),
    ("V06", "unknown chain_hash: ignored, connection kept"),
    ("V07", "more than 4 queries per 10 s: excess unanswered"),
    ("V08", "undecodable message: fail the connection"),
    ("M01", "aim for the same relative balance (nu)"),
    ("M02", "parallel channels count as one"),
    (
        "R-CM-1",
        "nu over active channels; closing ones do not count",
    ),
    ("R-CM-2", "never move a peer past nu (exact boundary)"),
    ("R-CM-3", "sources (zeta > nu) push, sinks (zeta < nu) take"),
];

/// The summary of `id`, if it is one of [`REQUIREMENTS`].
pub fn summary(id: &str) -> Option<&'static str> {
    REQUIREMENTS.iter().find(|(i, _)| *i == id).map(|(_, s)| *s)
}
