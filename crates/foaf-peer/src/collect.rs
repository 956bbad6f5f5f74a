//! Collecting offers (docs/bolt14.md §3.2, R-CM-4): which peers a node queries, with which
//! `flow_value` and amount, and when it queries them again.
//!
//! The 8 source peers (merged ζ above ν, R-CM-3) with the largest surplus `L − ⌈ν·K⌉` are
//! asked with `flow_value` 1, the 8 sinks (ζ below ν) with the largest deficit `⌊ν·K⌋ − L`
//! with `flow_value` 0, each for a tenth of its deviation raised to the node's floor
//! ([`Collect::min_amount_msat`]) when the deviation allows; exact (no float decides who is a
//! source); a peer at ν, or deviating by less than the floor, is not asked. The queries go
//! through [`Node::query`], so S01–S05 hold as for any query: a query S05 refuses is logged
//! and retried at the next collection. A peer queried by a collection is not queried again by
//! one within [`Collect::requery_after_secs`] (30 s) unless our channels changed since (a
//! balance, a capacity, a state, a channel opened or closed). Every value is measured in
//! docs/bolt14.md §3.2.

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
    /// Seconds before a peer is queried again when nothing changed: 30 (a collection
    /// re-asks its peers; this only keeps a caller that collects in a loop from asking the
    /// same peer again and again, measured in docs/bolt14.md §3.2).
    pub requery_after_secs: u64,
    /// The smallest amount asked (msat), when the deviation is at least that: a tenth below
    /// it is raised to it (asking for less than the smallest rebalance the node would make
    /// finds nothing it can use), a smaller deviation is not asked at all. Default 1 msat; a
    /// node planning with a floor (`PlannerConfig::min_amount_msat`) sets it to that floor.
    pub min_amount_msat: u64,
    /// Peers asked per flow and collection, at most: the sources (sinks) with the largest
    /// deviation, ties in peer order. 8 (measured in docs/bolt14.md §3.2); `usize::MAX`:
    /// every source and sink.
    pub max_per_flow: usize,
}

impl Default for Collect {
    fn default() -> Self {
        Self {
            divisor: 10,
            requery_after_secs: 30,
            min_amount_msat: 1,
            max_per_flow: 8,
        }
    }
}

/// The queries R-CM-4 asks for, in peer order: `(peer, flow, amount)` for every peer of
/// `channels` (active ones, merged per peer, M02) that is a source or a sink, asking for
/// `1 / divisor` of its deviation from ν but at least `min_amount_msat` (and 1), when the
/// deviation is at least that. Pure, exact.
pub fn collection_queries<P: PeerKey>(
    channels: &[Channel<P>],
    divisor: u64,
    min_amount_msat: u64,
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
        let amt = (deviation / divisor).max(min_amount_msat.max(1));
        if deviation >= amt {
            out.push((peer, flow, amt));
        }
    }
    out
}

impl<P: PeerKey> Node<P> {
    /// Collects offers (R-CM-4): queries the connected source peers with the largest surplus
    /// with `flow_value` 1 and the sinks with the largest deficit with `flow_value` 0, for a
    /// tenth of the deviation (module docs), skipping peers an earlier collection queried less
    /// than [`Collect::requery_after_secs`] ago when our channels did not change. Returns the
    /// sends (and a log line per query S02/S05 refused).
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
        let mut due: Vec<(P, Flow, u64)> =
            collection_queries(&channels, divisor, cfg.min_amount_msat)
                .into_iter()
                .filter(|(peer, _, _)| self.is_connected(peer))
                .collect();
        if cfg.max_per_flow < due.len() {
            // The largest deviations per flow (the amount is ⌊deviation / divisor⌋: the same
            // order), ties in peer order; then back to peer order.
            let mut ranked: Vec<usize> = (0..due.len()).collect();
            ranked.sort_by_key(|&i| (due[i].1 as u8, core::cmp::Reverse(due[i].2)));
            let mut taken = [0usize; 2];
            let mut keep = vec![false; due.len()];
            for i in ranked {
                let n = &mut taken[due[i].1 as usize];
                if *n < cfg.max_per_flow {
                    *n += 1;
                    keep[i] = true;
                }
            }
            let mut k = keep.into_iter();
            due.retain(|_| k.next().unwrap_or(false));
        }
        let mut effects = Vec::new();
        for (peer, flow, amt) in due {
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

    /// The queries among `effects`: (peer, flow_value, amount).
    fn queries_sent(effects: Vec<Effect<&'static str>>) -> Vec<(&'static str, u8, u64)> {
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
    }

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
            collection_queries(&chans, 10, 1),
            vec![("a", Flow::Push, 60), ("b", Flow::Receive, 60)]
        );
        let c_at_nu = collection_queries(&[ch(1, "a", 10, 5), ch(2, "c", 10, 5)], 10, 1);
        assert!(c_at_nu.is_empty(), "{c_at_nu:?}");
    }

    // R: R-CM-4 — with `max_per_flow` a collection asks only the sources (sinks) with the
    // largest deviation; `min_amount_msat` raises a smaller tenth to it and skips a peer
    // deviating by less.
    #[test]
    fn collect_offers_caps_per_flow_and_skips_small_asks() {
        // ν = 3500/7000 = .5: a surplus 400, b surplus 300, f surplus 400 (a tie with a: peer
        // order decides), c and g deficit 400, d deficit 300, e at ν.
        let chans = [
            ch(1, "a", 1000, 900),
            ch(2, "b", 1000, 800),
            ch(3, "c", 1000, 100),
            ch(4, "d", 1000, 200),
            ch(5, "e", 1000, 500),
            ch(6, "f", 1000, 900),
        ];
        let chans = [&chans[..], &[ch(7, "g", 1000, 100)]].concat();
        let asked = |collect: Collect| {
            let mut n: Node<&str> = Node::new(
                Config {
                    collect,
                    ..Config::default()
                },
                1,
            );
            let t = Timestamp::from_secs(1_000);
            n.set_channels(chans.clone(), t);
            for p in ["a", "b", "c", "d", "e", "f", "g"] {
                n.connect(p, t);
            }
            queries_sent(n.collect_offers(t))
        };
        let all = asked(Collect::default());
        assert_eq!(all.len(), 6, "{all:?}");
        let capped = asked(Collect {
            max_per_flow: 1,
            ..Collect::default()
        });
        assert_eq!(capped, vec![("a", 1, 40), ("c", 0, 40)]);
        let two = asked(Collect {
            max_per_flow: 2,
            ..Collect::default()
        });
        assert_eq!(
            two,
            vec![("a", 1, 40), ("c", 0, 40), ("f", 1, 40), ("g", 0, 40)]
        );
        // A tenth below the floor is raised to it; a deviation below the floor is not asked.
        let raised = asked(Collect {
            min_amount_msat: 31,
            ..Collect::default()
        });
        assert_eq!(raised.iter().filter(|q| q.2 == 31).count(), 2, "{raised:?}");
        let floored = asked(Collect {
            min_amount_msat: 301,
            ..Collect::default()
        });
        assert_eq!(
            floored,
            vec![("a", 1, 301), ("c", 0, 301), ("f", 1, 301), ("g", 0, 301)]
        );
    }

    // R: R-CM-4 — one query per source/sink, not again within 30 s unless our channels
    // changed; through `Node::query`, so S02 holds (a disconnected peer is skipped).
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
        let sent = queries_sent;
        // ν = 19/30: a surplus 900 − 634 = 266, b deficit 633 − 100 = 533; d disconnected.
        assert_eq!(
            sent(node.collect_offers(t(0))),
            vec![("a", 1, 26), ("b", 0, 53)]
        );
        assert!(
            sent(node.collect_offers(t(30))).is_empty(),
            "asked less than 30 s ago"
        );
        assert_eq!(sent(node.collect_offers(t(31))).len(), 2, "30 s passed");
        node.set_channel(ch(2, "b", 1000, 200), t(32));
        assert_eq!(
            sent(node.collect_offers(t(32))).len(),
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
