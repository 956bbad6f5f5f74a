//! Collecting offers (docs/bolt14.md §3.2, R-CM-4): which peers a node queries, with which
//! `flow_value` and amount, and when it queries them again.
//!
//! Each source peer (merged ζ above ν, R-CM-3) is asked with `flow_value` 1 for a tenth of its
//! surplus `L − ⌈ν·K⌉`, each sink (ζ below ν) with `flow_value` 0 for a tenth of its deficit
//! `⌊ν·K⌋ − L`, exactly (no float decides who is a source); a peer at ν, or whose tenth is
//! below 1 msat, is not asked. The queries go through [`Node::query`], so S01–S05 hold as for
//! any query: a query S05 refuses is logged and retried at the next collection. A peer queried
//! by a collection is not queried again by one until its offers are stale (more than
//! [`Collect::requery_after_secs`], R-REB-3's 600 s) unless our channels changed since
//! (a balance, a capacity, a state, a channel opened or closed).

use foaf_policy::imbalance::{cmp_products, mul_div_floor};
use foaf_policy::{Channel, PeerKey};
use foaf_wire::Flow;

use crate::effect::Effect;
use crate::fault::Fault;
use crate::node::Node;
use crate::time::Timestamp;

/// Knobs of [`Node::collect_offers`]. `Default` gives docs/bolt14.md's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collect {
    /// A query asks for `1 / divisor` of the peer's deviation from target: 10 (pinned,
    /// measured in docs/bolt14.md §3.2).
    pub divisor: u64,
    /// Seconds before a peer is queried again when nothing changed: 600 (offers are stale
    /// after that, R-REB-3).
    pub requery_after_secs: u64,
}

impl Default for Collect {
    fn default() -> Self {
        Self {
            divisor: 10,
            requery_after_secs: 600,
        }
    }
}

/// The queries R-CM-4 asks for, in peer order: `(peer, flow, amount)` for every peer of
/// `channels` (active ones, merged per peer, M02) that is a source or a sink, asking for
/// `1 / divisor` of its deviation from ν. Pure, exact.
pub fn collection_queries<P: PeerKey>(
    channels: &[Channel<P>],
    divisor: u64,
) -> Vec<(P, Flow, u64)> {
    let active = |c: &Channel<P>| c.is_active() && c.capacity_msat > 0;
    let totals = foaf_policy::imbalance::per_peer_totals(channels, active);
    let (sl, sc) = totals.values().fold((0u128, 0u128), |(l, k), t| {
        (l + u128::from(t.0), k + u128::from(t.1))
    });
    let divisor = divisor.max(1);
    let mut out = Vec::new();
    for (peer, (l, k)) in totals {
        // ζ = l/k against ν = sl/sc, by cross-multiplication.
        let (flow, deviation) = match cmp_products(u128::from(l), sc, sl, u128::from(k)) {
            core::cmp::Ordering::Equal => continue,
            core::cmp::Ordering::Greater => {
                // Surplus: l − ⌈ν·k⌉.
                let floor = mul_div_floor(sl, u128::from(k), sc).unwrap_or(k);
                let exact = cmp_products(u128::from(floor), sc, sl, u128::from(k)).is_eq();
                (Flow::Push, l.saturating_sub(floor + u64::from(!exact)))
            }
            core::cmp::Ordering::Less => {
                let floor = mul_div_floor(sl, u128::from(k), sc).unwrap_or(k);
                (Flow::Receive, floor.saturating_sub(l))
            }
        };
        let amt = deviation / divisor;
        if amt > 0 {
            out.push((peer, flow, amt));
        }
    }
    out
}

impl<P: PeerKey> Node<P> {
    /// Collects offers (R-CM-4): queries every connected source peer with `flow_value` 1 and
    /// every sink peer with `flow_value` 0 for a tenth of its deviation (module docs), skipping
    /// peers queried by an earlier collection whose offers are not yet stale when our channels
    /// did not change. Returns the sends (and a log line per query S02/S05 refused).
    pub fn collect_offers(&mut self, now: Timestamp) -> Vec<Effect<P>> {
        let now = self.advance_clock(now);
        let cfg = self.config().collect;
        let divisor = if self.config().fault == Some(Fault::RCm4WholeDeviation) {
            1
        } else {
            cfg.divisor
        };
        let channels: Vec<Channel<P>> = self.channels().cloned().collect();
        let generation = self.channels_generation();
        let requery_anyway = self.config().fault == Some(Fault::RCm4RequeryFresh);
        let mut effects = Vec::new();
        for (peer, flow, amt) in collection_queries(&channels, divisor) {
            if !self.is_connected(&peer) {
                continue;
            }
            let fresh = self.last_collected(&peer).is_some_and(|(at, gen)| {
                gen == generation
                    && now.as_secs().saturating_sub(at.as_secs()) <= cfg.requery_after_secs
            });
            if fresh && !requery_anyway {
                continue;
            }
            for e in self.query(&peer, flow, amt, now) {
                match e {
                    Effect::Refused { reason, .. } => effects.push(Effect::Log(format!(
                        "collecting offers: query to {peer:?} not sent: {}",
                        reason.as_str()
                    ))),
                    e => {
                        self.set_last_collected(&peer, now, generation);
                        effects.push(e);
                    }
                }
            }
        }
        effects
    }
}

#[cfg(test)]
mod tests {
    use foaf_policy::ChannelState;
    use foaf_wire::{Message, ShortChannelId};

    use super::*;
    use crate::Config;

    fn ch(n: u64, peer: &'static str, cap: u64, local: u64) -> Channel<&'static str> {
        Channel {
            scid: ShortChannelId::from_u64(n),
            peer,
            capacity_msat: cap,
            local_msat: local,
            announced: true,
            state: ChannelState::Normal,
        }
    }

    // R: R-CM-4, R-CM-3 — sources asked to take a tenth of the surplus (flow 1), sinks to give
    // a tenth of the deficit (flow 0), a peer at ν not at all; exact at the boundary.
    #[test]
    fn sources_push_sinks_receive_a_tenth() {
        // ν = 1500/5000 = .3: a at .9 of 1000 (surplus 600), b at .1 of 3000 (deficit 600),
        // c at .3 exactly (on target: neither).
        let chans = vec![
            ch(1, "a", 1000, 900),
            ch(2, "b", 3000, 300),
            ch(3, "c", 1000, 300),
        ];
        assert_eq!(
            collection_queries(&chans, 10),
            vec![("a", Flow::Push, 60), ("b", Flow::Receive, 60)]
        );
        let c_at_nu = collection_queries(&[ch(1, "a", 10, 5), ch(2, "c", 10, 5)], 10);
        assert!(c_at_nu.is_empty(), "{c_at_nu:?}");
    }

    // R: R-CM-4 — one query per source/sink, not again before offers are stale unless our
    // channels changed; through `Node::query`, so S02 holds (a disconnected peer is skipped).
    #[test]
    fn collect_offers_queries_once_until_stale_or_changed() {
        let mut node: Node<&str> = Node::new(Config::default(), 1);
        let t = |s: u64| Timestamp::from_secs(1_000 + s);
        node.set_channels(
            [
                ch(1, "a", 1000, 900),
                ch(2, "b", 1000, 100),
                ch(3, "d", 1000, 900),
            ],
            t(0),
        );
        node.connect("a", t(0));
        node.connect("b", t(0));
        let sent = |effects: Vec<Effect<&'static str>>| -> Vec<(&str, u8, u64)> {
            effects
                .into_iter()
                .filter_map(|e| match e {
                    Effect::Send { peer, bytes } => match Message::decode(&bytes) {
                        Ok(Message::Query(q)) => Some((peer, q.flow_value, q.amt_to_rebalance)),
                        _ => None,
                    },
                    _ => None,
                })
                .collect()
        };
        // ν = 19/30: a surplus 900 − 634 = 266, b deficit 633 − 100 = 533; d disconnected.
        assert_eq!(
            sent(node.collect_offers(t(0))),
            vec![("a", 1, 26), ("b", 0, 53)]
        );
        assert!(
            sent(node.collect_offers(t(600))).is_empty(),
            "not yet stale"
        );
        assert_eq!(sent(node.collect_offers(t(601))).len(), 2, "stale");
        node.set_channel(ch(2, "b", 1000, 200), t(602));
        assert_eq!(
            sent(node.collect_offers(t(602))).len(),
            2,
            "balances changed"
        );
        let faulty = |fault| {
            let mut n: Node<&str> = Node::new(
                Config {
                    fault: Some(fault),
                    ..Config::default()
                },
                1,
            );
            n.set_channels([ch(1, "a", 1000, 900), ch(2, "b", 1000, 100)], t(0));
            n.connect("a", t(0));
            n.connect("b", t(0));
            let first = sent(n.collect_offers(t(0)));
            (first, sent(n.collect_offers(t(1))))
        };
        // The faults break what this test checks.
        assert_eq!(faulty(Fault::RCm4WholeDeviation).0[0], ("a", 1, 400));
        assert_eq!(faulty(Fault::RCm4RequeryFresh).1.len(), 2);
    }
}
