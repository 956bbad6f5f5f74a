"""BOLT #1's rules for unknown messages, on a node that speaks BOLT #14 (the "it's OK to be
odd" rule is why reply_foaf_balances is odd, docs/bolt14.md §2.3)."""

from typing import Any

from lnprototest import RawMsg, Runner
from lnprototest.utils import run_runner

import bolt14
from bolt14 import Channel, ExpectConnectionFailed, query, reply

M = 1_000_000  # msat
FRIEND = [Channel("c02", "02", 10 * M, 5 * M)]


def test_unknown_odd_message_is_ignored(runner: Runner, with_bolt14: Any) -> None:
    test = [
        *bolt14.connected(FRIEND),
        # BOLT #1:
        # A receiving node:
        #   - upon receiving a message of _odd_, unknown type:
        #     - MUST ignore the received message.
        RawMsg(bytes.fromhex("270F")),
        # ... and still answers BOLT #14 queries on that connection.
        query(flow=1, amt=M),
        reply(flow=1, amt=M),
    ]
    run_runner(runner, test)


def test_unknown_even_message_fails_the_connection(runner: Runner, with_bolt14: Any) -> None:
    test = [
        *bolt14.connected(FRIEND),
        # BOLT #1:
        # A receiving node:...
        #   - upon receiving a message of _even_, unknown type:
        #     - MUST close the connection.
        RawMsg(bytes.fromhex("2710")),
        ExpectConnectionFailed(),
    ]
    run_runner(runner, test)
