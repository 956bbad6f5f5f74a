//! Deliberate faults, for testing the testers.
//!
//! A [`Fault`] in [`crate::Config::fault`] makes the node break exactly one requirement of
//! `docs/requirements` in a way that is observable over the conformance pipe protocol, so that
//! the conformance suite can be checked to catch each one (`foaf pipe --fault NAME`,
//! `foaf pipe --list-faults`). A node without a fault breaks none.

use core::fmt;
use core::str::FromStr;
use std::collections::BTreeSet;

use foaf_policy::reply::addable;
use foaf_policy::{Channel, ChannelSet, ChannelState, PeerKey};
use foaf_wire::{ShortChannelId, MAX_REPLY_SCIDS};

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
    W02WrongReplyType = "w02-wrong-reply-type", "W02",
        "sends reply_foaf_balances with message type 32771 instead of 349";
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
    A09RefuseUnsolicited = "a09-refuse-unsolicited", "A09",
        "refuses to send unsolicited offers";
    A10ForwardLearned = "a10-forward-learned-offers", "A10",
        "adds scids learned from other peers' replies to its own replies";
    V01AcceptWithoutChannel = "v01-accept-without-channel", "V01",
        "keeps the connection to a peer that sends a message without an active channel";
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
    V08IgnoreMalformed = "v08-ignore-malformed", "V08",
        "ignores a message that fails to decode instead of failing the connection";
    M02ParallelSeparately = "m02-parallel-channels-separately", "M02",
        "judges each of several channels with one peer on its own balance";
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
        Some(Fault::A06Over1000Scids | Fault::A08IncludeUnannounced | Fault::A10ForwardLearned)
    )
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
