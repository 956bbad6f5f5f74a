"""BOLT #14 §2.1 (W06): the option_balance_sharing feature bit in `init`, observable only over
the real BOLT #8 transport."""

from typing import Any

from lnprototest import Connect, ExpectMsg, Runner
from lnprototest.utils import run_runner

import bolt14
from bolt14 import Channel, SetupChannels


def test_init_sets_the_odd_feature_bit(runner: Runner, with_bolt14: Any) -> None:
    # R: W06
    test = [
        SetupChannels([Channel("c", "02", 10_000_000, 5_000_000)]),
        Connect(connprivkey="02"),
        # BOLT #14:
        # - A node that supports this document SHOULD set the odd bit (215) in `init` and
        #   `node_announcement`; it MUST NOT set the even bit until the pair is assigned.
        ExpectMsg("init", if_match=bolt14.has_odd_feature_only),
    ]
    run_runner(runner, test)
