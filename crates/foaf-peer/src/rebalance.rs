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

    /// An offer received over the wire is what the planner plans with.
    // R: R-REB-3, V04
    #[test]
    fn planner_uses_offers_received_over_the_wire() {
        let mut node: Node<&str> = Node::new(Config::default(), 1);
        node.set_graph([scid(1), scid(2), scid(3)]);
        for (n, peer, local) in [(1, "a", 1_000_000), (2, "b", 0)] {
            node.set_channel(
                Channel {
                    scid: scid(n),
                    peer,
                    capacity_msat: 1_000_000,
                    local_msat: local,
                    announced: true,
                    state: ChannelState::Normal,
                },
                T100,
            );
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
    }
}
