//! Deliberate faults, for testing the testers.
//!
//! A [`Fault`] in [`crate::Config::fault`] makes the node break exactly one requirement of
//! `docs/requirements` in a way that is observable over the conformance pipe protocol, so that
//! the conformance suite can be checked to catch each one (`foaf pipe --fault NAME`,
//! `foaf pipe --list-faults`). A node without a fault breaks none.

use core::fmt;
use core::str::FromStr;
use std::collections::BTreeSet;

use foaf_policy::reply::{addable, moves_toward_target};
use foaf_policy::{Channel, ChannelSet, ChannelState, PeerKey, ReplyRequest};
use foaf_wire::{Flow, ShortChannelId, MAX_REPLY_SCIDS};

use std::time::Duration;

use crate::time::Timestamp;
use crate::window::Window;

macro_rules! faults {
    ($( $(#[$m:meta])* $variant:ident = $name:literal, $req:literal, $desc:literal; )*) => {
        /// One deliberately broken rule (module docs).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Fault {
            $( $(#[$m])* #[doc = $desc] $variant, )*
        }

        impl Fault {
            /// Every fault, in requirement order.
            pub const ALL: &'static [Fault] = &[$(Fault::$variant,)*];

            /// The fault's name, `<requirement id>-<what it does>` in kebab case.
            pub fn name(self) -> &'static str {
                match self { $(Fault::$variant => $name,)* }
            }

            /// The requirement id it breaks (`"V01"`, …).
            pub fn requirement(self) -> &'static str {
                match self { $(Fault::$variant => $req,)* }
            }

            /// What the faulty node does instead of the rule.
            pub fn description(self) -> &'static str {
                match self { $(Fault::$variant => $desc,)* }
            }
        }
    };
}

faults! {
    W01WrongQueryType = "w01-wrong-query-type", "W01",
        "sends query_foaf_balances with message type 32769 instead of 347";
    W01LargeAmountMalformed = "w01-large-amount-malformed", "W01",
        "fails the connection on a query whose amt_to_rebalance is 2^63 or more (read as a signed 64-bit integer)";
    W02WrongReplyType = "w02-wrong-reply-type", "W02",
        "sends reply_foaf_balances with message type 32771 instead of 349";
    W03RejectOddTlv = "w03-reject-odd-tlv", "W03",
        "fails the connection on a message carrying an unknown odd TLV type instead of skipping it";
    W04ReversedScidBytes = "w04-reversed-scid-bytes", "W04",
        "reads the short_channel_ids of a received reply with their 8 bytes in reverse order";
    W05AcceptBadFlowValue = "w05-accept-bad-flow-value", "W05",
        "treats a received flow_value other than 0/1 as 1 instead of ignoring the message";
    S01WrongChainHash = "s01-wrong-chain-hash", "S01",
        "sends messages with a chain_hash that is not the configured chain's";
    S02SendWithoutChannel = "s02-send-without-channel", "S02",
        "sends a query or an offer to a connected peer it has no active channel with";
    S03InvertedQueryFlow = "s03-inverted-query-flow", "S03",
        "sends a query with the flow_value opposite to the one asked for";
    S04QueryAmountTooLow = "s04-query-amount-too-low", "S04",
        "sends a query with amt_to_rebalance one msat below the intended amount";
    S05NoSendRateLimit = "s05-no-send-rate-limit", "S05",
        "sends any number of queries and replies per 10 s";
    S05FixedWindow = "s05-fixed-window", "S05",
        "counts sends in a window that restarts 10 s after its first send instead of sliding";
    S05ReconnectResets = "s05-reconnect-resets-limit", "S05",
        "forgets what it sent to a peer when the peer disconnects, so a reconnect resets the limit";
    A01WrongDirection = "a01-wrong-direction", "A01",
        "lists the channels that qualify for the opposite direction (moving away from the target ratio)";
    A02LowerAmount = "a02-lower-amount", "A02",
        "answers with half the query's amt_to_rebalance";
    A03ZeroTimestamp = "a03-zero-timestamp", "A03",
        "sets the reply timestamp to 0 instead of the wall clock";
    A04IncludeNonOperational = "a04-include-non-operational", "A04",
        "treats closing channels and channels with disconnected peers as operational";
    A05ObfuscateWhenOff = "a05-obfuscate-when-off", "A05",
        "adds an ineligible announced channel even when obfuscation is off";
    A06Over1000Scids = "a06-over-1000-scids", "A06",
        "lists every eligible channel, more than 1000 if there are";
    A07FirstNotUniform = "a07-first-1000-not-uniform", "A07",
        "with more than 1000 eligible, lists the 1000 lowest scids instead of a uniform sample";
    A08IncludeUnannounced = "a08-include-unannounced", "A08",
        "treats unannounced channels as announced when answering";
    A08ObfuscationAddsUnannounced = "a08-obfuscation-adds-unannounced", "A08",
        "with obfuscation on, adds unannounced channels to a reply too";
    A09RefuseUnsolicited = "a09-refuse-unsolicited", "A09",
        "refuses to send unsolicited offers";
    A10ForwardLearned = "a10-forward-learned-offers", "A10",
        "adds scids learned from other peers' replies to its own replies";
    V01AcceptWithoutChannel = "v01-accept-without-channel", "V01",
        "keeps the connection to a peer that sends a message without an active channel";
    V01UnannouncedIsNoChannel = "v01-unannounced-is-no-channel", "V01",
        "does not count an unannounced channel as an active channel with its peer";
    V02AcceptOver1000 = "v02-accept-over-1000-scids", "V02",
        "accepts a reply with more than 1000 scids";
    V03AcceptFutureTimestamp = "v03-accept-future-timestamp", "V03",
        "accepts a reply with a timestamp far in the future";
    V04OlderWins = "v04-older-offer-wins", "V04",
        "keeps the older stored offer when a newer one arrives";
    V05KeepUnknownScids = "v05-keep-unknown-scids", "V05",
        "stores offers for scids that are not in the known graph";
    V06AnswerOtherChain = "v06-answer-other-chain", "V06",
        "answers queries and stores replies for a chain it does not serve";
    V07AnswerEveryQuery = "v07-answer-every-query", "V07",
        "answers every query however many arrive in 10 s (excess answers are deferred)";
    V07FixedWindow = "v07-fixed-window", "V07",
        "counts received queries in a window that restarts 10 s after its first query instead of sliding";
    V07ReconnectResets = "v07-reconnect-resets-limit", "V07",
        "forgets a peer's queries when it disconnects, so a reconnect resets the limit";
    V08IgnoreMalformed = "v08-ignore-malformed", "V08",
        "ignores a message that fails to decode instead of failing the connection";
    W06DraftFeatureBits = "w06-draft-feature-bits", "W06",
        "advertises the draft's feature bits 20/21 (option_anchor_outputs in BOLT #9)";
    M01FixedHalfTarget = "m01-fixed-half-target", "M01",
        "aims every channel at 50/50 instead of the node's own ratio nu";
    M02ParallelSeparately = "m02-parallel-channels-separately", "M02",
        "judges each of several channels with one peer on its own balance";
    RCm1ClosingCounts = "r-cm-1-closing-channels-count", "R-CM-1",
        "counts closing channels in nu";
    RCm2PassTarget = "r-cm-2-may-pass-target", "R-CM-2",
        "offers a channel for a move that takes it past nu (only the starting side is checked)";
    RCm3AtTargetIsSource = "r-cm-3-at-target-counts", "R-CM-3",
        "treats a peer exactly at nu as both a source and a sink";
    RCm4WholeDeviation = "r-cm-4-query-whole-deviation", "R-CM-4",
        "collecting offers, asks each source and sink for its whole deviation from nu instead of a tenth";
    RCm4RequeryFresh = "r-cm-4-requery-fresh-offers", "R-CM-4",
        "collecting offers, queries every source and sink again although nothing changed and its offers are fresh";
    RReb1PastSurplus = "r-reb-1-past-surplus", "R-REB-1",
        "plans rebalances of twice the amount the surplus and deficit allow";
    RReb2OpenCycle = "r-reb-2-open-cycle", "R-REB-2",
        "plans paths that do not come back to us (the last hop dropped)";
    RReb3StaleOffers = "r-reb-3-stale-offers", "R-REB-3",
        "plans with offers however old they are";
    RReb4HalfTheBest = "r-reb-4-half-the-best", "R-REB-4",
        "plans half the amount of the rebalance that lowers G most";
    RReb5ForwardAnyZeroFee = "r-reb-5-forward-any-zero-fee", "R-REB-5",
        "forwards any zero-fee HTLC it has the liquidity for, whatever the move does to its balance";
    RReb6MoreThanOffered = "r-reb-6-more-than-offered", "R-REB-6",
        "when it requires its own offer for a fee-free forward, forwards more than it offered";
    RReb7NoBudget = "r-reb-7-no-budget", "R-REB-7",
        "forwards zero-fee HTLCs from one peer without any budget";
    RReb8KeepErringOffers = "r-reb-8-keep-erring-offers", "R-REB-8",
        "keeps the offers for the channel a failed rebalance erred at, and plans with them again";
    RReb9JitForFeeFree = "r-reb-9-jit-for-fee-free", "R-REB-9",
        "starts a JIT rebalance to forward a zero-fee HTLC";
    RJit1FailWhenParallelCould = "r-jit-1-fail-when-a-parallel-channel-could", "R-JIT-1",
        "fails an HTLC its named channel cannot carry although a parallel channel to the same peer can";
    RJit2BelowShortfall = "r-jit-2-below-shortfall", "R-JIT-2",
        "asks for a JIT rebalance one msat smaller than the shortfall";
    RJit3JitForFeeFree = "r-jit-3-jit-for-fee-free", "R-JIT-3",
        "lets a zero-fee HTLC trigger a JIT rebalance";
    RJit4IgnoreDeadline = "r-jit-4-ignore-deadline", "R-JIT-4",
        "holds an HTLC past its JIT deadline";
    RJit5WrongFailureCode = "r-jit-5-wrong-failure-code", "R-JIT-5",
        "fails an HTLC whose JIT rebalance failed with unknown_next_peer instead of temporary_channel_failure";
    RJit6FailAfterSuccess = "r-jit-6-fail-after-success", "R-JIT-6",
        "fails the held HTLC although its JIT rebalance succeeded";
    RJit7DistinctFailure = "r-jit-7-distinct-failure-code", "R-JIT-7",
        "fails an HTLC it found no JIT cycle for with temporary_node_failure, telling probers JIT was tried";
}

/// The reply sets of the faults that change the channel-management rule itself (M01, R-CM-1–3):
/// `None` for every other fault. The same shape as `foaf_policy::reply::eligible` (M02 groups,
/// operational and announced channels, never the querier's), with the one rule broken.
pub(crate) fn faulty_eligible<P: PeerKey>(
    fault: Option<Fault>,
    req: &ReplyRequest<'_, P>,
) -> Option<Vec<ShortChannelId>> {
    let fault = fault?;
    if !matches!(
        fault,
        Fault::M01FixedHalfTarget
            | Fault::RCm1ClosingCounts
            | Fault::RCm2PassTarget
            | Fault::RCm3AtTargetIsSource
    ) {
        return None;
    }
    let set = req.channels;
    let nu = match fault {
        Fault::M01FixedHalfTarget => (1, 2),
        Fault::RCm1ClosingCounts => set.channels().iter().fold((0u128, 0u128), |(l, k), c| {
            (
                l + u128::from(c.local_msat),
                k + u128::from(c.capacity_msat),
            )
        }),
        _ => set.nu(),
    };
    let amt = u128::from(req.amt_msat);
    let qualifies = |l: u128, k: u128| -> bool {
        let (nl, nk) = nu;
        if k == 0 || nk == 0 {
            return false;
        }
        match (fault, req.flow) {
            (Fault::RCm2PassTarget, Flow::Push) => amt <= l && l * nk > nl * k,
            (Fault::RCm2PassTarget, Flow::Receive) => l * nk < nl * k && l + amt <= k,
            (Fault::RCm3AtTargetIsSource, Flow::Push) => {
                amt <= l && l * nk >= nl * k && (l - amt) * nk >= nl * k
            }
            (Fault::RCm3AtTargetIsSource, Flow::Receive) => {
                l * nk <= nl * k && (l + amt) * nk <= nl * k
            }
            (_, flow) => moves_toward_target(flow, l, k, amt, nu),
        }
    };
    let mut out = Vec::new();
    for g in set.groups() {
        if !g.connected || set.peer(g) == req.querier || !qualifies(g.local, g.capacity) {
            continue;
        }
        out.extend(
            set.members(g)
                .iter()
                .filter(|c| c.state == ChannelState::Normal && c.announced)
                .map(|c| c.scid),
        );
    }
    out.sort_unstable_by_key(|s| s.to_u64());
    Some(out)
}

/// `W03RejectOddTlv`: whether a decoded message carried a TLV stream (only odd types survive
/// decoding, so any TLV is an unknown odd one).
pub(crate) fn has_tlvs(m: &foaf_wire::Message) -> bool {
    match m {
        foaf_wire::Message::Query(q) => !q.tlvs.is_empty(),
        foaf_wire::Message::Reply(r) => !r.tlvs.is_empty(),
        _ => false,
    }
}

/// `S05FixedWindow` / `V07FixedWindow`: a window that forgets everything once its first event
/// is `window` old, i.e. restarts instead of sliding.
pub(crate) fn restart_fixed_window(w: &mut Window, now: Timestamp, max: usize, window: Duration) {
    if w.oldest()
        .is_some_and(|t| now.checked_since(t).is_some_and(|age| age >= window))
    {
        *w = Window::new(max);
    }
}

impl Fault {
    /// Whether the node itself breaks the rule; `false` for the faults the pipe protocol's
    /// own ops break (W06's `features`, §4–§5's `htlc` and `rebalance_result`, handled in
    /// foaf-pipe).
    pub fn is_node_fault(self) -> bool {
        !matches!(self, Fault::W06DraftFeatureBits)
            && !self.requirement().starts_with("R-REB-")
            && !self.requirement().starts_with("R-JIT-")
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fault name that is not in [`Fault::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFault(pub String);

impl fmt::Display for UnknownFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown fault {:?} (see --list-faults)", self.0)
    }
}

impl std::error::Error for UnknownFault {}

impl FromStr for Fault {
    type Err = UnknownFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::ALL
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFault(s.to_string()))
    }
}

// What the reply faults do. `Node::reply_scids` calls these behind one-line guards, so the
// rule itself reads without its broken variants; a node without a fault never gets here.

/// The channel view a fault shows the reply policy instead of the node's own, if any: A04 sees
/// every channel as `Normal` and every peer as connected, A08 every channel as announced.
pub(crate) fn reply_view<P: PeerKey>(
    fault: Option<Fault>,
    channels: impl Iterator<Item = Channel<P>>,
    connected: impl Fn(&P) -> bool,
) -> Option<ChannelSet<P>> {
    match fault {
        Some(Fault::A04IncludeNonOperational) => {
            let mut set = ChannelSet::new(
                channels
                    .map(|mut c| {
                        c.state = ChannelState::Normal;
                        c
                    })
                    .collect(),
            );
            set.set_all_connected(true);
            Some(set)
        }
        Some(Fault::A08IncludeUnannounced) => {
            let mut set = ChannelSet::new(
                channels
                    .map(|mut c| {
                        c.announced = true;
                        c
                    })
                    .collect(),
            );
            let peers: Vec<P> = set.groups().iter().map(|g| set.peer(g).clone()).collect();
            for p in &peers {
                set.set_connected(p, connected(p));
            }
            Some(set)
        }
        _ => None,
    }
}

/// What a fault does to the policy's answer: A05 adds an ineligible announced channel, A07
/// keeps the 1000 lowest scids, A10 adds up to 3 scids `learned` from other peers (not ours).
pub(crate) fn tamper_reply<P: PeerKey>(
    fault: Option<Fault>,
    scids: &mut Vec<ShortChannelId>,
    own: &[Channel<P>],
    learned: impl FnOnce() -> Vec<u64>,
    is_own_announced: impl Fn(u64) -> bool,
) {
    match fault {
        Some(Fault::A05ObfuscateWhenOff) => {
            scids.sort_unstable();
            if let Some(extra) = addable(own, scids).first() {
                scids.push(*extra);
            }
        }
        Some(Fault::A07FirstNotUniform) => {
            scids.sort_unstable();
            scids.truncate(MAX_REPLY_SCIDS);
        }
        Some(Fault::A10ForwardLearned) => {
            let learned: BTreeSet<u64> = learned()
                .into_iter()
                .filter(|s| !is_own_announced(*s))
                .collect();
            scids.extend(learned.into_iter().take(3).map(ShortChannelId::from_u64));
        }
        _ => {}
    }
}

/// The faults that exist to get past the reply guard (`enforce_reply_invariants`: A06, A08,
/// A10); their replies are only sorted and deduplicated.
pub(crate) fn bypasses_reply_guard(fault: Option<Fault>) -> bool {
    matches!(
        fault,
        Some(
            Fault::A06Over1000Scids
                | Fault::A08IncludeUnannounced
                | Fault::A08ObfuscationAddsUnannounced
                | Fault::A10ForwardLearned
        )
    )
}

/// `A08ObfuscationAddsUnannounced` (called only with obfuscation on): the obfuscator also
/// draws from our unannounced channels, adding up to two of them.
pub(crate) fn obfuscate_with_unannounced<P: PeerKey>(
    fault: Option<Fault>,
    scids: &mut Vec<ShortChannelId>,
    own: &[Channel<P>],
) {
    if fault == Some(Fault::A08ObfuscationAddsUnannounced) {
        scids.extend(
            own.iter()
                .filter(|c| !c.announced && c.is_active())
                .map(|c| c.scid)
                .take(2),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        for f in Fault::ALL {
            assert_eq!(f.name().parse::<Fault>(), Ok(*f));
            assert!(f.name().starts_with(&f.requirement().to_ascii_lowercase()));
        }
        let mut names: Vec<_> = Fault::ALL.iter().map(|f| f.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Fault::ALL.len());
        assert!("nope".parse::<Fault>().is_err());
    }
}
