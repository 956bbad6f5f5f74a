#!/usr/bin/python3
"""`foaf node` against a second independent Lightning stack: Electrum's.

Electrum (Debian's `python3-electrum`, a Lightning wallet in Python) has its own BOLT #8
transport (`electrum.lntransport`) and its own CSV-driven BOLT message codec
(`electrum.lnmsg.LNSerializer`, reading `lnwire/peer_wire.csv`). This script uses both, and
neither our Rust code nor pyln-proto:

1. starts `foaf node` on a loopback port with a channel file (the Electrum peer and a helper);
2. handshakes with Electrum's `LNTransport` (initiator, Noise_XK) — twice: the querying peer
   and a helper whose channel is the one the node should offer;
3. exchanges `init` with Electrum's codec, ours setting option_balance_sharing (bit 215) and
   checking the node's init sets it (W06, docs/bolt14.md §2.1);
4. adds BOLT #14's two messages and the reply's TLV stream to Electrum's codec tables from
   interop/bolt14.csv (the CSV extracted from the spec text), row by row as Electrum's own CSV
   loader stores them;
5. sends a `query_foaf_balances` encoded by Electrum, decodes the `reply_foaf_balances` with
   Electrum, and checks every field against the pinned default policy computed here (A01, A02,
   A03, S01), answering the node's pings with Electrum-encoded pongs meanwhile;
6. stops the node with SIGINT and checks it exits cleanly.

Run with Debian's python3 (where python3-electrum is installed): `interop/electrum/run.sh`.
Exit status 0 when every check passes, 1 otherwise. Every wait is bounded.
"""

import argparse
import asyncio
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict

from electrum.lnmsg import LNSerializer
from electrum.lntransport import LNTransport
from electrum.lnutil import LNPeerAddr, privkey_to_pubkey
from electrum.version import ELECTRUM_VERSION

HERE = os.path.dirname(os.path.abspath(__file__))
CSV = os.path.join(HERE, "..", "bolt14.csv")
REGTEST = bytes.fromhex("06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f")
FEATURE_ODD, FEATURE_EVEN = 215, 214
AMT = 1_000_000
TIMEOUT = 10.0


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def electrum_codec():
    """Electrum's LNSerializer with BOLT #14's definitions added from our CSV, each row stored
    exactly as its __init__ stores the rows of peer_wire.csv (it has no API to load a second
    file). Like that loader, subtype rows are skipped (Electrum 4.3.4 does not implement CSV
    subtypes: `else: pass  # TODO`); the reply's optional `intercept_aliases` TLV record is the
    only user of one, and `foaf node` sends no such record, so every field it sends decodes."""
    codec = LNSerializer()
    with open(CSV, newline="") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].startswith("#")]
    for row in rows:
        if row[0] == "msgtype":
            name, number = row[1], int(row[2])
            type_bytes = number.to_bytes(2, "big")
            check(type_bytes not in codec.msg_scheme_from_type, "type {} taken".format(number))
            row[2] = number
            codec.msg_scheme_from_type[type_bytes] = [tuple(row)]
            codec.msg_type_from_name[name] = type_bytes
        elif row[0] == "msgdata":
            codec.msg_scheme_from_type[codec.msg_type_from_name[row[1]]].append(tuple(row))
        elif row[0] == "tlvtype":
            stream, record, number = row[1], row[2], int(row[3])
            row[3] = number
            codec.in_tlv_stream_get_tlv_record_scheme_from_type.setdefault(stream, OrderedDict())[number] = [tuple(row)]
            codec.in_tlv_stream_get_record_type_from_name.setdefault(stream, {})[record] = number
            codec.in_tlv_stream_get_record_name_from_type.setdefault(stream, {})[number] = record
        elif row[0] == "tlvdata":
            stream, record = row[1], row[2]
            number = codec.in_tlv_stream_get_record_type_from_name[stream][record]
            codec.in_tlv_stream_get_tlv_record_scheme_from_type[stream][number].append(tuple(row))
        elif row[0] not in ("subtype", "subtypedata"):
            raise Failure("bolt14.csv row Electrum's loader has no place for: {}".format(row))
    return codec


def has_bit(features: bytes, bit: int) -> bool:
    return bool(int.from_bytes(features, "big") >> bit & 1)


class Peer:
    """One Electrum transport to the node, reading in the background."""

    def __init__(self, codec, privkey: bytes, node_id: bytes, port: int):
        self.codec = codec
        self.transport = LNTransport(privkey, LNPeerAddr("127.0.0.1", port, node_id), proxy=None)
        self.inbox: asyncio.Queue = asyncio.Queue()

    async def connect(self):
        await asyncio.wait_for(self.transport.handshake(), TIMEOUT)
        asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self):
        try:
            async for raw in self.transport.read_messages():
                await self.inbox.put(raw)
        except Exception as e:  # the node closed the connection
            await self.inbox.put(e)

    def send(self, name, **fields):
        self.transport.send_bytes(self.codec.encode_msg(name, **fields))

    async def recv(self):
        """The next message other than ping (answered) as (name, fields)."""
        while True:
            raw = await asyncio.wait_for(self.inbox.get(), TIMEOUT)
            if isinstance(raw, Exception):
                raise Failure("connection closed: {!r}".format(raw))
            try:
                name, fields = self.codec.decode_msg(raw)
            except Exception as e:
                raise Failure("Electrum's codec cannot decode {}: {!r}".format(raw.hex()[:80], e))
            if name == "ping":
                self.send("pong", byteslen=fields["num_pong_bytes"],
                          ignored=bytes(fields["num_pong_bytes"]))
                continue
            return name, fields

    async def init(self):
        features = (1 << FEATURE_ODD).to_bytes(FEATURE_ODD // 8 + 1, "big")
        self.send("init", gflen=0, flen=len(features), features=features,
                  init_tlvs={"networks": {"chains": REGTEST}})
        name, fields = await self.recv()
        check(name == "init", "expected init, got {}".format(name))
        return fields


async def wait_logged(node, pred, what):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        for e in node.events:
            if pred(e):
                return e
        await asyncio.sleep(0.05)
    raise Failure("foaf node never logged {}".format(what))


class Node:
    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        self.events = []

    async def pump(self):
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, self.proc.stdout.readline)
            if not line:
                return
            self.events.append(json.loads(line))


async def run(foaf, node_args):
    codec = electrum_codec()
    me, helper = bytes([0x11]) * 32, bytes([0x12]) * 32
    me_id, helper_id = privkey_to_pubkey(me).hex(), privkey_to_pubkey(helper).hex()
    # The helper's channel has surplus: a Push query of AMT from us qualifies it (A01);
    # ours is left out (the querier's own channel).
    channels = [
        {"scid": "700000x1x0", "peer": me_id, "capacity": 10_000_000, "local": 5_000_000,
         "announced": True, "state": "normal"},
        {"scid": "700000x2x0", "peer": helper_id, "capacity": 10_000_000, "local": 9_000_000,
         "announced": True, "state": "normal"},
    ]
    want_scids = [(700000 << 40) | (2 << 16)]
    passed = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "channels.json")
        with open(path, "w") as f:
            json.dump(channels, f)
        node = Node([foaf, "node", "--listen", "127.0.0.1:0", "--seed", "43" * 32, "--chain",
                     "regtest", "--channels", path, "--json", *node_args])
        pump = asyncio.get_running_loop().create_task(node.pump())
        try:
            started = await wait_logged(node, lambda e: e["event"] == "started", "its start")
            node_id = bytes.fromhex(started["node_id"])
            port = int(started["listen"].rsplit(":", 1)[1])

            q = Peer(codec, me, node_id, port)
            await q.connect()
            passed.append("BOLT #8 handshake by Electrum's LNTransport")
            theirs = await q.init()
            check(has_bit(theirs["features"], FEATURE_ODD) and not has_bit(theirs["features"], FEATURE_EVEN),
                  "W06: node's init features {} (want bit {} only of the pair)".format(
                      theirs["features"].hex(), FEATURE_ODD))
            await wait_logged(node, lambda e: e["event"] == "connected" and e["peer"] == me_id
                              and e["feature_bit"] is True, "our init with the feature bit")
            passed.append("init exchanged by Electrum's codec, bit {} set both ways".format(FEATURE_ODD))

            h = Peer(codec, helper, node_id, port)
            await h.connect()
            await h.init()
            await wait_logged(node, lambda e: e["event"] == "connected" and e["peer"] == helper_id,
                              "the helper connecting")

            sent_at = int(time.time())
            q.send("query_foaf_balances", chain_hash=REGTEST, flow_value=1, amt_to_rebalance=AMT)
            name, reply = await q.recv()
            check(name == "reply_foaf_balances", "expected reply_foaf_balances, got {}".format(name))
            check(reply["chain_hash"] == REGTEST, "S01: chain_hash {}".format(reply["chain_hash"].hex()))
            # Electrum reads a `byte` field as bytes, integers as int.
            check(reply["flow_value"] == b"\x01", "A01: flow_value {}".format(reply["flow_value"]))
            check(reply["amt_to_rebalance"] == AMT, "A02: amt {}".format(reply["amt_to_rebalance"]))
            check(abs(reply["timestamp"] - sent_at) <= 60, "A03: timestamp {}".format(reply["timestamp"]))
            raw = reply["short_channel_ids"]
            check(len(raw) == 8 * reply["len"], "len {} vs {} bytes".format(reply["len"], len(raw)))
            got = sorted(int.from_bytes(raw[i:i + 8], "big") for i in range(0, len(raw), 8))
            check(reply.get("reply_foaf_balances_tlvs") == {},
                  "W03: unexpected TLV records {}".format(reply.get("reply_foaf_balances_tlvs")))
            check(got == want_scids, "A01: short_channel_ids {} != {}".format(got, want_scids))
            passed.append("query encoded by Electrum answered; reply decoded by Electrum: "
                          "short_channel_ids=[700000x2x0], every field as the default policy says")
        finally:
            if node.proc.poll() is None:
                node.proc.send_signal(signal.SIGINT)
            try:
                code = node.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                node.proc.kill()
                code = node.proc.wait()
            pump.cancel()
        check(code == 0, "foaf node exited with {} after SIGINT".format(code))
        passed.append("SIGINT stops foaf node cleanly")
    return passed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--foaf", default=os.path.join(HERE, "..", "..", "target", "debug", "foaf"))
    ap.add_argument("node_args", nargs="*", help="extra `foaf node` flags after --, e.g. "
                    "-- --fault a01-wrong-direction (the check must then fail)")
    args = ap.parse_args()
    try:
        passed = asyncio.run(asyncio.wait_for(run(args.foaf, args.node_args), 60))
    except (Failure, asyncio.TimeoutError) as e:
        print("FAIL {}".format(e or "timed out"), file=sys.stderr)
        sys.exit(1)
    for p in passed:
        print("ok   " + p)
    print("electrum-check: all {} checks passed against foaf node (Electrum {})".format(
        len(passed), ELECTRUM_VERSION))


if __name__ == "__main__":
    main()
