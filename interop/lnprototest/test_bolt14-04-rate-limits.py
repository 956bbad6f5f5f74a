"""BOLT #14 §2.4: rate limits (S05, V07)."""

from typing import Any

from lnprototest import Runner, Wait
from lnprototest.utils import run_runner

import bolt14
from bolt14 import Channel, query, reply

M = 1_000_000  # msat


def test_fifth_query_in_10s_is_not_answered(runner: Runner, with_bolt14: Any) -> None:
    # R: V07, S05: five queries at once (amounts 1..5 M tell the answers apart): four answers;
    # the fifth is not answered, not even later (an answer deferred past the window would
    # arrive during the wait and come before the sixth's); the connection is kept.
    test = [
        *bolt14.connected([Channel("c02", "02", 10 * M, 5 * M)]),
        # BOLT #14:
        # - more than 4 queries from one peer in any 10 s: the excess is not answered, the
        #   connection is kept (V07);
        *[query(flow=1, amt=k * M) for k in range(1, 6)],
        *[reply(flow=1, amt=k * M) for k in range(1, 5)],
        # BOLT #14:
        # - MUST NOT send more than 4 queries, nor more than 4 replies, to one peer in any
        #   sliding 10 s window; an excess request is refused, an excess answer deferred, never
        #   sent early (S05).
        Wait(bolt14.WINDOW_S + 1),
        query(flow=1, amt=6 * M),
        reply(flow=1, amt=6 * M),
    ]
    run_runner(runner, test)
