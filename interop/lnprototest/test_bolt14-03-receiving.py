"""BOLT #14 §2.2–2.4: what a node does with the messages it receives (V01, V02, V03, V06, V08,
W03–W05)."""

import time
from typing import Any

from lnprototest import RawMsg, Runner
from lnprototest.utils import run_runner

import bolt14
from bolt14 import Channel, ExpectConnectionFailed, query, reply, synced

M = 1_000_000  # msat
FRIEND = [Channel("c02", "02", 10 * M, 5 * M)]


def offer(n_scids: int = 1, ahead_s: int = 0) -> Any:
    """An unsolicited reply_foaf_balances (A09) from the test peer, `ahead_s` in the future."""
    scids = ",".join("{}x{}x0".format(600000 + i // 1000, 1 + i % 1000) for i in range(n_scids))
    return bolt14.Msg("reply_foaf_balances", chain_hash=bolt14.REGTEST, flow_value=1,
                      timestamp=lambda runner, event, field: int(time.time()) + ahead_s,
                      amt_to_rebalance=M, short_channel_ids="[" + scids + "]")


def test_no_channel_fails_the_connection(runner: Runner, with_bolt14: Any) -> None:
    # R: V01: "09" has no channel with the node.
    test = [
        *bolt14.connected(FRIEND, peer="09"),
        # BOLT #14:
        # Receiving (V01–V08). A node receiving either message:
        # - from a peer with which it has no active channel: SHOULD fail the connection (V01);
        query(flow=1, amt=M),
        ExpectConnectionFailed(),
    ]
    run_runner(runner, test)


def test_over_1000_scids_fails_the_connection(runner: Runner, with_bolt14: Any) -> None:
    # R: V02: 1000 are accepted (the connection stays up), 1001 are not.
    test = [
        *bolt14.connected(FRIEND),
        offer(n_scids=bolt14.MAX_SCIDS),
        *synced(),
        # BOLT #14:
        # - a reply with more than 1000 `short_channel_id`s: MUST fail the connection (V02);
        offer(n_scids=bolt14.MAX_SCIDS + 1),
        ExpectConnectionFailed(),
    ]
    run_runner(runner, test)


def test_future_timestamp_fails_the_connection(runner: Runner, with_bolt14: Any) -> None:
    # R: V03: 300 s ahead is accepted, an hour ahead is not.
    test = [
        *bolt14.connected(FRIEND),
        offer(ahead_s=300),
        *synced(),
        # BOLT #14:
        # - a reply whose `timestamp` is more than **600 s** (configurable) ahead of its clock:
        #   MAY fail the connection; the reference node does (V03);
        offer(ahead_s=3600),
        ExpectConnectionFailed(),
    ]
    run_runner(runner, test)


def test_other_chain_is_ignored(runner: Runner, with_bolt14: Any) -> None:
    # R: V06: the node serves regtest; a bitcoin query gets no answer, and the connection is
    # kept: the next answer is the one to the regtest query (its amount tells them apart).
    test = [
        *bolt14.connected(FRIEND),
        # BOLT #14:
        # - a `chain_hash` it does not serve: ignore the message, no reply, keep the connection (V06);
        query(flow=1, amt=2 * M, chain=bolt14.BITCOIN),
        query(flow=1, amt=M),
        reply(flow=1, amt=M),
    ]
    run_runner(runner, test)


def test_bad_flow_value_is_ignored(runner: Runner, with_bolt14: Any) -> None:
    # R: W05
    test = [
        *bolt14.connected(FRIEND),
        # BOLT #14:
        # `flow_value` is 0 or 1; any other value is a protocol violation and the message is
        # ignored (no reply).
        query(flow=2, amt=2 * M),
        query(flow=1, amt=M),
        reply(flow=1, amt=M),
    ]
    run_runner(runner, test)


def test_malformed_message_fails_the_connection_after_a_warning(runner: Runner, with_bolt14: Any) -> None:
    # R: V08: a reply cut short inside its timestamp.
    truncated = bolt14.encode("reply_foaf_balances", chain_hash=bolt14.REGTEST, flow_value=1,
                              timestamp=0, amt_to_rebalance=M, short_channel_ids="[]")[:2 + 32 + 1 + 4]
    test = [
        *bolt14.connected(FRIEND),
        # BOLT #14:
        # - a message that fails to decode: fail the connection, sending a BOLT #1 `warning`
        #   first where the transport allows (V08).
        RawMsg(truncated),
        ExpectConnectionFailed(warning=""),
    ]
    run_runner(runner, test)


def test_odd_tlv_is_skipped_even_tlv_fails(runner: Runner, with_bolt14: Any) -> None:
    # R: W03, W04, V08: a query followed by an unknown odd TLV record (type 1, empty) is
    # answered; one followed by an unknown even record (type 2) fails to decode.
    def query_with_tlv(tlv: bytes) -> Any:
        return RawMsg(lambda runner, event, field: bolt14.encode(
            "query_foaf_balances", chain_hash=bolt14.REGTEST, flow_value=1,
            amt_to_rebalance=M) + tlv)

    test = [
        *bolt14.connected(FRIEND),
        # BOLT #14:
        # Truncated fields, a `len` past the end of the payload, a malformed TLV stream or an
        # unknown *even* TLV type are decode errors; unknown odd TLV types are skipped.
        query_with_tlv(bytes([1, 0])),
        reply(flow=1, amt=M),
        query_with_tlv(bytes([2, 0])),
        ExpectConnectionFailed(warning=""),
    ]
    run_runner(runner, test)
