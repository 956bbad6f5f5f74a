"""BOLT #14 §2.2–2.4: the answer to a query (W01, W02, A01, A03, A04, A06, A08, §2.1)."""

from typing import Any

from lnprototest import MustNotMsg, Runner
from lnprototest.utils import run_runner

import bolt14
from bolt14 import Channel, all_of, lists_exactly, query, reply

M = 1_000_000  # msat

# The querier "02" is balanced; "03" has surplus, "04" a deficit; "05" has surplus on an
# unannounced channel, "06" on a channel whose peer is offline, "07" on a closing channel.
CHANNELS = [
    Channel("c02", "02", 10 * M, 5 * M),
    Channel("c03", "03", 10 * M, 9 * M),
    Channel("c04", "04", 10 * M, 1 * M),
    Channel("c05", "05", 10 * M, 9 * M, announced=False),
    Channel("c06", "06", 10 * M, 9 * M),
    Channel("c07", "07", 10 * M, 9 * M, closing=True),
]
ONLINE = ["03", "04", "05", "07"]


def test_reply_decodes_as_specified(runner: Runner, with_bolt14: Any) -> None:
    # R: W01, W02: a query of type 347 in the layout of §2.2 is understood, and the answer is
    # a message of type 349 that decodes with §2.3's layout (the CSV extracted from the text).
    test = [
        *bolt14.connected([Channel("c02", "02", 10 * M, 5 * M)]),
        # BOLT #14:
        # 1. type: 347 (`query_foaf_balances`)
        # 2. data:
        #     * [`chain_hash`:`chain_hash`]
        #     * [`byte`:`flow_value`]
        #     * [`u64`:`amt_to_rebalance`]
        query(flow=1, amt=M),
        # BOLT #14:
        # 1. type: 349 (`reply_foaf_balances`)
        # 2. data:
        #     * [`chain_hash`:`chain_hash`]
        #     * [`byte`:`flow_value`]
        #     * [`u64`:`timestamp`]
        #     * [`u64`:`amt_to_rebalance`]
        #     * [`u16`:`len`]
        #     * [`len*short_channel_id`:`short_channel_ids`]
        #     * [`reply_foaf_balances_tlvs`:`tlvs`]
        reply(flow=1, amt=M, if_match=lists_exactly()),
    ]
    run_runner(runner, test)


def test_default_policy_lists_the_qualifying_channels(runner: Runner, with_bolt14: Any) -> None:
    # R: A01, A03, A04, A08
    push = bolt14.expected_offer(CHANNELS, "02", 1, M, ONLINE)
    receive = bolt14.expected_offer(CHANNELS, "02", 0, M, ONLINE)
    assert push == ["c03"] and receive == ["c04"], "the test data must make the cases distinct"
    test = [
        *bolt14.connected(CHANNELS, keep_connected=ONLINE),
        # BOLT #14:
        # Answering (A01–A10). The recipient of a query:
        # - SHOULD reply with the channels on which it is willing to rebalance
        #   `amt_to_rebalance` in the direction of `flow_value` (A01). The pinned default
        #   policy: a peer group (M02) qualifies for Push when ζ > ν and (L − amt)/K ≥ ν, for
        #   Receive when ζ < ν and (L + amt)/K ≤ ν — the move brings it toward its target and
        #   not past it (R-CM-2). The querying peer's own channels are left out.
        # ...
        # - SHOULD set `timestamp` to its wall clock, unix seconds (A03);
        # - SHOULD only list operational channels: established, not closing, peer connected (A04);
        # ...
        # - MUST NOT list unannounced channels, also when obfuscating (A08);
        query(flow=1, amt=M),
        reply(flow=1, amt=M, if_match=all_of(lists_exactly(*push), bolt14.timestamp_near_now())),
        query(flow=0, amt=M),
        reply(flow=0, amt=M, if_match=all_of(lists_exactly(*receive), bolt14.timestamp_near_now())),
    ]
    run_runner(runner, test)


def test_unannounced_channels_are_never_listed(runner: Runner, with_bolt14: Any) -> None:
    # R: A08: the only channel that qualifies is unannounced, so the reply is empty.
    channels = [
        Channel("c02", "02", 10 * M, 5 * M),
        Channel("c03", "03", 10 * M, 9 * M, announced=False),
        Channel("c04", "04", 10 * M, 1 * M),
    ]
    assert bolt14.expected_offer(channels, "02", 1, M, ["03", "04"]) == []
    test = [
        *bolt14.connected(channels, keep_connected=["03", "04"]),
        # BOLT #14:
        # - MUST NOT list unannounced channels, also when obfuscating (A08);
        query(flow=1, amt=M),
        reply(flow=1, amt=M, if_match=lists_exactly()),
    ]
    run_runner(runner, test)


def test_at_most_1000_scids(runner: Runner, with_bolt14: Any) -> None:
    # R: A06, A07: 1001 peers each with one qualifying channel; the reply lists 1000 of them.
    peers = ["{:x}".format(0x1000 + i) for i in range(bolt14.MAX_SCIDS + 1)]
    channels = [Channel("c02", "02", 10 * M, 0)] + [
        Channel("c" + p, p, 10 * M, 9 * M) for p in peers]
    amt = 1000
    eligible = bolt14.expected_offer(channels, "02", 1, amt, peers)
    assert len(eligible) == bolt14.MAX_SCIDS + 1

    def at_most_1000(event: Any, msg: Any, runner: Any) -> None:
        got = msg.fields["short_channel_ids"]
        if len(got) > bolt14.MAX_SCIDS:
            raise bolt14.EventError(event, "{} short_channel_ids listed".format(len(got)))
        if len(got) < bolt14.MAX_SCIDS or not set(got) <= set(bolt14.scids(runner, event, *eligible)):
            raise bolt14.EventError(event, "expected a sample of 1000 of the eligible channels")

    test = [
        *bolt14.connected(channels, keep_connected=peers),
        # BOLT #14:
        # - MUST NOT list more than 1000 `short_channel_id`s (A06); with more than 1000
        #   eligible, SHOULD sample 1000 uniformly (A07);
        query(flow=1, amt=amt),
        reply(flow=1, amt=amt, if_match=at_most_1000),
    ]
    run_runner(runner, test)


def test_no_answer_to_a_peer_without_the_feature_bit(runner: Runner, with_bolt14: Any) -> None:
    # R: W06 (§2.1): the peer's init lacks the pair, so nothing is sent to it; the connection
    # stays up (the final check pings it and reads everything until the pong).
    test = [
        *bolt14.connected(CHANNELS, keep_connected=ONLINE, features=""),
        MustNotMsg("reply_foaf_balances"),
        MustNotMsg("query_foaf_balances"),
        # BOLT #14:
        # - A node MUST NOT send either message to a peer that did not set one of the pair in
        #   `init`.
        query(flow=1, amt=M),
    ]
    run_runner(runner, test)
