"""BOLT #14 helpers for lnprototest scripts: the setup step, events and the checks the tests share.

Nothing here knows which node is under test: the channel state is set by `SetupChannels`, which
calls the Runner's `bolt14_setup_channels` (each Runner implements it its own way, see
README.md), and everything else goes through lnprototest's Runner interface.
"""

import io
import struct
import time
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

import coincurve
from lnprototest import (Connect, Event, EventError, ExpectMsg, Msg, SpecFileError, bitfield,
                         has_bit, namespace)
from lnprototest.utils import privkey_expand
from pyln.proto.message import Message

# docs/bolt14.md §2.1: the experimental pair 214/215; a node sets the odd bit.
FEATURE_EVEN, FEATURE_ODD = 214, 215
REGTEST = "06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f"
BITCOIN = "6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000"
MAX_SCIDS = 1000  # A06, V02
MAX_FUTURE_S = 600  # V03
RATE = 4  # S05, V07: per peer, per sliding 10 s
WINDOW_S = 10


def pubkey_of(privkey: str) -> str:
    return coincurve.PublicKey.from_secret(privkey_expand(privkey).secret).format().hex()


def our_features() -> str:
    """The feature bits a test peer sends in init: option_balance_sharing, odd."""
    return bitfield(FEATURE_ODD)


def encode(name: str, **fields: Any) -> bytes:
    buf = io.BytesIO()
    Message(namespace().get_msgtype(name), **fields).write(buf)
    return buf.getvalue()


def msg_name(binmsg: bytes) -> str:
    num = struct.unpack(">H", binmsg[:2])[0]
    t = namespace().get_msgtype_by_number(num)
    return t.name if t else str(num)


def init_exchange(features: Optional[str] = None) -> List[Event]:
    """BOLT #1 init both ways, our side advertising option_balance_sharing (or `features`)."""
    return [
        ExpectMsg("init"),
        Msg("init", globalfeatures="", features=our_features() if features is None else features),
    ]


def connected(channels: List["Channel"], peer: str = "02", keep_connected: List[str] = [],
              features: Optional[str] = None) -> List[Event]:
    """How most tests start: the setup step, then the test connects as `peer` and exchanges
    init (advertising option_balance_sharing unless `features` says otherwise)."""
    return [SetupChannels(channels, keep_connected=keep_connected), Connect(connprivkey=peer),
            *init_exchange(features)]


def synced() -> List[Event]:
    """A ping/pong round trip: once the pong is back, the node has handled everything this
    connection sent before (BOLT #8 connections are ordered), e.g. our init."""
    return [Msg("ping", num_pong_bytes=1, ignored=""), ExpectMsg("pong", ignored="00")]


@dataclass
class Channel:
    """A channel of the node under test, described the way BOLT #14 sees it.

    `peer` is the lnprototest connprivkey of the channel's other end ("02", "03", …): the test
    connects as that key, or asks the setup step to keep it connected. Amounts in msat.
    """

    name: str
    peer: str
    capacity_msat: int
    local_msat: int
    announced: bool = True
    closing: bool = False


class SetupChannels(Event):
    """THE setup step: the node under test has exactly these channels, in state `normal`
    (unless `closing`), announced or not, with these balances; the peers in
    `keep_connected` are connected to it (BOLT #8 + init with the feature bit) for the whole
    test. Must come first in a test. The Runner returns each channel's short_channel_id, kept
    in the stash as "bolt14_scids" (name -> "BxTxO")."""

    def __init__(self, channels: List[Channel], keep_connected: List[str] = []):
        super().__init__()
        self.channels = channels
        self.keep_connected = list(keep_connected)

    def action(self, runner: Any) -> bool:
        super().action(runner)
        setup = getattr(runner, "bolt14_setup_channels", None)
        if setup is None:
            raise SpecFileError(self, "this Runner has no bolt14_setup_channels(event, channels, "
                                "keep_connected): see interop/lnprototest/README.md")
        runner.add_stash("bolt14_scids", setup(self, self.channels, self.keep_connected))
        return True


def scids(runner: Any, event: Event, *names: str) -> List[int]:
    """The short_channel_ids (as BOLT #7 u64) of the named channels, from the setup step."""
    table = runner.get_stash(event, "bolt14_scids")
    out = []
    for n in names:
        block, tx, vout = (int(x) for x in table[n].split("x"))
        out.append((block << 40) | (tx << 16) | vout)
    return sorted(out)


def expected_offer(channels: List[Channel], querier: str, flow: int, amt: int,
                   online: List[str]) -> List[str]:
    """The pinned default reply policy (docs/bolt14.md §2.4, A01/A04/A08), computed here from
    the setup alone: ν = ΣL/ΣK over active channels; a peer's channel qualifies when moving
    `amt` in the query's direction brings its ratio toward ν and not past it; the querier's,
    unannounced (A08) and non-operational (A04: closing, peer offline) channels are left out.
    Exact integer arithmetic, one channel per peer (so M02 grouping changes nothing)."""
    active = [c for c in channels if not c.closing and c.capacity_msat > 0]
    sum_l = sum(c.local_msat for c in active)
    sum_k = sum(c.capacity_msat for c in active)
    out = []
    for c in active:
        if c.peer == querier or not c.announced or c.peer not in online:
            continue
        l, k = c.local_msat, c.capacity_msat
        if flow == 1 and l * sum_k > sum_l * k and (l - amt) * sum_k >= sum_l * k:
            out.append(c.name)
        if flow == 0 and l * sum_k < sum_l * k and (l + amt) * sum_k <= sum_l * k:
            out.append(c.name)
    return out


def lists_exactly(*names: str) -> Callable[[Event, Message, Any], None]:
    """ExpectMsg if_match: the reply lists exactly the named channels (any order)."""

    def check(event: Event, msg: Message, runner: Any) -> None:
        got = sorted(msg.fields["short_channel_ids"])
        want = scids(runner, event, *names)
        if got != want:
            raise EventError(event, "short_channel_ids {} != expected {} ({})".format(
                got, want, ", ".join(names) or "none"))

    return check


def all_of(*checks: Callable[[Event, Message, Any], None]) -> Callable[[Event, Message, Any], None]:
    def check(event: Event, msg: Message, runner: Any) -> None:
        for c in checks:
            c(event, msg, runner)

    return check


def timestamp_near_now(slack_s: int = 60) -> Callable[[Event, Message, Any], None]:
    def check(event: Event, msg: Message, runner: Any) -> None:
        now = int(time.time())
        ts = msg.fields["timestamp"]
        if abs(ts - now) > slack_s:
            raise EventError(event, "timestamp {} is {} s from the wall clock {}".format(
                ts, ts - now, now))

    return check


def query(flow: int = 1, amt: int = 1_000_000, chain: str = REGTEST, **kw: Any) -> Msg:
    return Msg("query_foaf_balances", chain_hash=chain, flow_value=flow, amt_to_rebalance=amt,
               **kw)


def reply(flow: int = 1, amt: int = 1_000_000, **kw: Any) -> ExpectMsg:
    """Expect a reply_foaf_balances answering `query(flow, amt)`: same chain, echoed
    flow_value (A01) and the query's amount (A02, the pinned default)."""
    return ExpectMsg("reply_foaf_balances", chain_hash=REGTEST, flow_value=flow,
                     amt_to_rebalance=amt, **kw)


class ExpectConnectionFailed(Event):
    """The node fails the connection: it may first send BOLT #1 `warning`s (and must when
    `warning` names a reason it should contain), then closes. To tell a closed connection from a
    silent open one (lnprototest's ExpectDisconnect cannot: its read returns None for both), a
    `ping` is sent after the silence: an open connection answers it with a `pong`."""

    def __init__(self, warning: Optional[str] = None, connprivkey: Optional[str] = None):
        super().__init__()
        self.warning = warning
        self.connprivkey = connprivkey

    def action(self, runner: Any) -> bool:
        super().action(runner)
        conn = runner.find_conn(self.connprivkey)
        if conn is None:
            raise SpecFileError(self, "no connection")
        conn.expected_error = True
        warnings = []
        while True:
            msg = runner.get_output_message(conn, self)
            if msg is None:
                break
            name = msg_name(msg)
            if name in ("warning", "error"):
                fields = Message.read(namespace(), io.BytesIO(msg)).fields
                warnings.append(bytes(fields["data"]).decode("utf-8", "replace"))
            elif name == "ping":
                continue
            else:
                raise EventError(self, "expected the connection to fail, got {}".format(msg.hex()))
        try:
            runner.recv(self, conn, encode("ping", num_pong_bytes=1, ignored=""))
            answer = runner.get_output_message(conn, self)
        except EventError:
            answer = None  # the write failed: closed
        if answer is not None:
            raise EventError(self, "the connection is still open (answered {} after {})".format(
                msg_name(answer), warnings or "no warning"))
        if self.warning is not None and not any(self.warning in w for w in warnings):
            raise EventError(self, "no BOLT #1 warning containing {!r} before the close "
                             "(got {})".format(self.warning, warnings))
        return True


def has_odd_feature_only(event: Event, msg: Message, runner: Any) -> None:
    f = msg.fields["features"]
    if not has_bit(f, FEATURE_ODD):
        raise EventError(event, "init features {} lack bit {}".format(bytes(f).hex(), FEATURE_ODD))
    if has_bit(f, FEATURE_EVEN):
        raise EventError(event, "init features {} set the even bit {}".format(bytes(f).hex(), FEATURE_EVEN))
