//! Glue from the node to the rebalancing planner and the JIT decision of `foaf-policy`
//! (docs/bolt14.md, R-REB-*, R-JIT-*): both read the offers this node holds and its channels.
//!
//! The node only knows the *set* of public scids (V05); closing a cycle also needs each
//! channel's endpoints, so the caller passes a [`ChannelGraph`] (from its gossip store), and
//! its own node id `me` as it appears in that graph.

use foaf_policy::{
    jit_decide, plan_rebalances, ChannelGraph, CircularRebalance, HtlcToForward, JitConfig,
    JitDecision, PeerKey, PlannerConfig,
};

use foaf_wire::ShortChannelId;

use crate::effect::Effect;
use crate::fault::Fault;
use crate::node::Node;
use crate::time::Timestamp;

impl<P: PeerKey> Node<P> {
    /// Circular rebalances that strictly lower our imbalance, built from the offers we hold
    /// ([`foaf_policy::plan_rebalances`]). Offer freshness is judged in the wire's whole seconds.
    pub fn plan_rebalances(
        &self,
        me: &P,
        graph: &ChannelGraph<P>,
        now: Timestamp,
        cfg: &PlannerConfig,
    ) -> Vec<CircularRebalance<P>> {
        let channels: Vec<_> = self.channels().cloned().collect();
        plan_rebalances(me, &channels, &self.offers(), graph, now.as_secs(), cfg)
    }

    /// A rebalance we started (a planned one, or a JIT refill) failed, and the error named
    /// `erring_scid` (R-REB-8): every offer we hold for that channel is dropped, in both
    /// directions and from every peer, so the next plan goes around it (as Core Lightning's
    /// `jitrebalance` excludes the erring channel). A peer that offers the channel again later
    /// makes it usable again: a new offer is a new statement. The caller re-plans.
    pub fn rebalance_failed(&mut self, erring_scid: ShortChannelId) -> Vec<Effect<P>> {
        if self.config().fault == Some(Fault::RReb8KeepErringOffers) {
            return Vec::new();
        }
        match self.drop_offers_for(erring_scid) {
            0 => Vec::new(),
            n => vec![Effect::Log(format!(
                "rebalance failed at {erring_scid}: dropped {n} offer(s) for it (R-REB-8)"
            ))],
        }
    }

    /// What to do with an HTLC to forward: forward, JIT-rebalance first, or fail
    /// ([`foaf_policy::jit_decide`]).
    pub fn jit_decide(
        &self,
        me: &P,
        graph: &ChannelGraph<P>,
        now: Timestamp,
        htlc: &HtlcToForward,
        cfg: &JitConfig,
    ) -> JitDecision<P> {
        let channels: Vec<_> = self.channels().cloned().collect();
        jit_decide(
            me,
            &channels,
            &self.offers(),
            graph,
            now.as_secs(),
            htlc,
            cfg,
        )
    }
}

#[cfg(test)]
mod tests {
    use foaf_policy::{Channel, ChannelState};
    use foaf_wire::{ChainHash, Flow, Message, ReplyFoafBalances, ShortChannelId, TlvStream};

    use crate::{Config, Node};

    use super::*;

    const T100: Timestamp = Timestamp::from_secs(100);

    fn scid(n: u64) -> ShortChannelId {
        ShortChannelId::from_u64(n)
    }

    /// An announced, normal channel of 1,000,000 msat.
    fn chan(n: u64, peer: &'static str, local_msat: u64) -> Channel<&'static str> {
        Channel {
            scid: scid(n),
            peer,
            capacity_msat: 1_000_000,
            local_msat,
            announced: true,
            state: ChannelState::Normal,
        }
    }

    /// An offer received over the wire is what the planner plans with.
    // R: R-REB-3, V04
    #[test]
    fn planner_uses_offers_received_over_the_wire() {
        let mut node: Node<&str> = Node::new(Config::default(), 1);
        node.set_graph([scid(1), scid(2), scid(3)]);
        for (n, peer, local) in [(1, "a", 1_000_000), (2, "b", 0)] {
            node.set_channel(chan(n, peer, local), T100);
        }
        node.connect("a", T100);
        let graph: ChannelGraph<&str> = [
            (scid(1), "me", "a"),
            (scid(2), "me", "b"),
            (scid(3), "a", "b"),
        ]
        .into_iter()
        .collect();
        assert!(node
            .plan_rebalances(&"me", &graph, T100, &PlannerConfig::default())
            .is_empty());
        let reply = Message::Reply(ReplyFoafBalances {
            chain_hash: ChainHash::BITCOIN,
            flow_value: Flow::Push as u8,
            timestamp: 100,
            amt_to_rebalance: 300_000,
            short_channel_ids: vec![scid(3)],
            tlvs: TlvStream::new(),
        });
        node.receive(&"a", &reply.encode().unwrap(), T100);
        assert_eq!(node.offers().len(), 1);
        let plan = node.plan_rebalances(&"me", &graph, T100, &PlannerConfig::default());
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].scids(), vec![scid(1), scid(3), scid(2)]);
        assert_eq!(plan[0].amount_msat, 300_000);

        let htlc = HtlcToForward {
            out_scid: scid(2),
            amount_msat: 200_000,
            blocks_to_expiry: 100,
            fee_free: false,
        };
        let d = node.jit_decide(&"me", &graph, T100, &htlc, &JitConfig::default());
        let JitDecision::Rebalance { rebalance, .. } = d else {
            panic!("{d:?}")
        };
        assert_eq!(rebalance.amount_msat, 250_000);

        // R: R-REB-8 — the rebalance failed at the offered channel: its offers go, the next
        // plan goes around it (here: nothing left to plan with); a new offer brings it back.
        let effects = node.rebalance_failed(scid(3));
        assert_eq!(effects.len(), 1, "{effects:?}");
        assert!(node.offers().is_empty());
        assert!(node
            .plan_rebalances(&"me", &graph, T100, &PlannerConfig::default())
            .is_empty());
        node.receive(&"a", &reply.encode().unwrap(), T100);
        assert_eq!(
            node.plan_rebalances(&"me", &graph, T100, &PlannerConfig::default())
                .len(),
            1
        );
        // The fault keeps them: this test sees it.
        let mut faulty: Node<&str> = Node::new(
            Config {
                fault: Some(crate::Fault::RReb8KeepErringOffers),
                ..Config::default()
            },
            1,
        );
        faulty.set_graph([scid(3)]);
        faulty.set_channel(chan(1, "a", 1_000_000), T100);
        faulty.receive(&"a", &reply.encode().unwrap(), T100);
        faulty.rebalance_failed(scid(3));
        assert_eq!(faulty.offers().len(), 1);
    }

    /// The offers we send are what a hop requiring its own offer (R-REB-6) forwards under, up
    /// to their amount in total; a channel we no longer have drops out of the ledger.
    // R: R-REB-6
    #[test]
    fn hop_forwards_only_what_it_offered() {
        use foaf_policy::{check_fee_free_forward, FeeFreeForward, FeeFreeRefusal, HopConfig};
        let run = |fault| {
            let cfg = Config {
                fault,
                ..Config::default()
            };
            let mut node: Node<&str> = Node::new(cfg, 1);
            // ν = .5: a at .9 (a source), b at .1 (a sink).
            for (n, peer, local) in [(1, "a", 900_000), (2, "b", 100_000)] {
                node.set_channel(chan(n, peer, local), T100);
            }
            node.connect("a", T100);
            node.connect("b", T100);
            let hop = HopConfig {
                require_offer: true,
                ..HopConfig::default()
            };
            let verdict = |node: &mut Node<&str>, amt: u64, now: u64| {
                let fwd = FeeFreeForward {
                    in_scid: scid(2),
                    out_scid: scid(1),
                    amount_msat: amt,
                    offered_at: node.offered_at(scid(2), scid(1), amt),
                    budget_used_msat: 0,
                };
                let v = check_fee_free_forward(
                    &node.channels().cloned().collect::<Vec<_>>(),
                    &fwd,
                    now,
                    &hop,
                );
                if v.is_ok() {
                    node.note_fee_free_forward(scid(2), scid(1), amt);
                }
                v
            };
            let mut out = vec![verdict(&mut node, 100_000, 100)];
            // Offer to b: "I can push 150,000 out" lists our channel with a.
            let sent = node.offer(&"b", Flow::Push, 150_000, T100);
            assert!(
                matches!(&sent[..], [crate::Effect::Send { .. }]),
                "{sent:?}"
            );
            out.push(verdict(&mut node, 100_000, 100));
            out.push(verdict(&mut node, 100_000, 100)); // 200,000 > 150,000 in total
            out.push(verdict(&mut node, 40_000, 100));
            out.push(verdict(&mut node, 1, 700)); // 600 s old: still fresh
            out.push(verdict(&mut node, 1, 701)); // 601 s old: stale, though 9,999 sat are left
            out
        };
        assert_eq!(
            run(None),
            vec![
                Err(FeeFreeRefusal::NoFreshOffer),
                Ok(()),
                Err(FeeFreeRefusal::NoFreshOffer),
                Ok(()),
                Ok(()),
                Err(FeeFreeRefusal::NoFreshOffer),
            ]
        );
        // The fault forwards the second 100,000 too: this test sees it.
        assert_eq!(run(Some(crate::Fault::RReb6MoreThanOffered))[2], Ok(()));
    }
}
