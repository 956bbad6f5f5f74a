#!/usr/bin/env python3
"""Independent cross-check of `foaf node` with pyln-proto.

pyln-proto is Core Lightning's Python implementation of the BOLT #8 transport (Noise_XK) and of
BOLT message encoding; nothing of it is shared with our Rust code. This script:

1. starts `foaf node` on a loopback port with a known seed and a channel file;
2. connects with pyln-proto, does the BOLT #8 handshake and the BOLT #1 `init` exchange, and
   checks that the node advertises the option_balance_sharing feature bit (W06);
3. sends a `query_foaf_balances` encoded by pyln-proto's own message encoder, from the message
   definitions in ../../interop/bolt14.csv (the BOLT CSV extracted from docs/bolt14.md), and decodes the `reply_foaf_balances`
   with the same schema, checking every field against the pinned default reply policy (A01,
   A02, A03, A08, S01), which this script computes independently;
4. checks that the node logged the query it received and the reply it sent, and that a peer
   whose `init` lacks the feature pair gets no reply (docs/bolt14.md 2.1);
5. sends a malformed `reply_foaf_balances` and checks the connection is failed after a BOLT #1
   `warning` (V08);
6. connects as a peer with no channel, queries, and checks the connection is failed (V01);
   a warning naming the reason comes first there too;
7. stops the node with SIGINT (Ctrl-C) and checks it shuts down cleanly.

Every socket operation and the whole run are bounded by timeouts. Exit status 0 when all
checks pass, 1 otherwise.
"""

import argparse
import io
import json
import os
import socket
import sys
import tempfile
import time

from pyln.proto.message import Message, MessageNamespace
from pyln.proto.wire import PrivateKey, connect

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "interop"))
from foaf_node_process import FoafNodeProcess, NodeError  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REGTEST = "06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f"
NODE_SEED = "42" * 32
FEATURE_BIT = 215  # docs/bolt14.md §2.1: the experimental pair 214/215, odd bit
AMT = 1_000_000
TIMEOUT = 10.0


def namespace(query_type, reply_type):
    """The BOLT #1 messages of foaf.csv and BOLT #14's from interop/bolt14.csv (extracted from
    docs/bolt14.md by `cargo xtask csv`), with our two types as configured."""
    lines = []
    for path in (os.path.join(HERE, "foaf.csv"), os.path.join(HERE, "..", "..", "interop", "bolt14.csv")):
        with open(path) as f:
            for line in f.read().splitlines():
                if not line or line.startswith("#"):
                    continue
                if line == "msgtype,query_foaf_balances,347":
                    line = "msgtype,query_foaf_balances,{}".format(query_type)
                if line == "msgtype,reply_foaf_balances,349":
                    line = "msgtype,reply_foaf_balances,{}".format(reply_type)
                lines.append(line)
    return MessageNamespace(lines)


def encode(ns, name, **fields):
    buf = io.BytesIO()
    Message(ns.get_msgtype(name), **fields).write(buf)
    return buf.getvalue()


def decode(ns, data):
    m = Message.read(ns, io.BytesIO(data))
    return m.messagetype.name, m.to_py()


def features_with(bit):
    """A BOLT #9 feature bitfield (big-endian) with `bit` set, as hex."""
    n = bit // 8 + 1
    b = bytearray(n)
    b[n - 1 - bit // 8] |= 1 << (bit % 8)
    return bytes(b).hex()


def has_bit(hexfield, bit):
    b = bytes.fromhex(hexfield)
    i = len(b) - 1 - bit // 8
    return i >= 0 and bool(b[i] & (1 << (bit % 8)))


def key(i):
    return PrivateKey(bytes([i]) * 32)


def node_id(k):
    return k.public_key().serializeCompressed().hex()


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


class Peer:
    """A pyln-proto BOLT #8 connection that answers pings and hands us everything else."""

    def __init__(self, ns, k, nid, host, port):
        self.ns = ns
        socket.setdefaulttimeout(TIMEOUT)
        self.conn = connect(k, bytes.fromhex(nid), host, port)

    def send(self, data):
        self.conn.send_message(data)

    def recv(self):
        while True:
            data = self.conn.read_message()
            name, fields = decode(self.ns, data)
            if name == "ping":
                self.send(encode(self.ns, "pong", ignored="00" * fields["num_pong_bytes"]))
                continue
            return name, fields

    def closed(self):
        """True when the peer closes the connection; a BOLT #1 warning that comes first is
        kept in self.warnings."""
        self.warnings = []
        try:
            while True:
                name, fields = self.recv()
                if name != "warning":
                    return False
                self.warnings.append(bytes.fromhex(fields["data"]).decode("utf-8", "replace"))
        except (ValueError, OSError):
            return True

    def answered_before_pong(self):
        """Sends a ping and reads up to the pong: the names of what came before it. The peer
        handles our messages in order, so anything it sends in answer to an earlier message
        arrives before the pong."""
        self.send(encode(self.ns, "ping", num_pong_bytes=4, ignored=""))
        before = []
        while True:
            name, _ = decode(self.ns, self.conn.read_message())
            if name == "pong":
                return before
            before.append(name)

    def init(self, feature=True):
        features = features_with(FEATURE_BIT) if feature else ""
        self.send(encode(self.ns, "init", globalfeatures="", features=features))
        name, fields = self.recv()
        check(name == "init", "expected init from foaf node, got {}".format(name))
        return fields


def expected_scids(channels, querier, flow, amt, online):
    """The pinned default policy (A01, A04, A08), computed here independently: the target
    ratio nu = sum(local) / sum(capacity) over our active channels; a channel qualifies when
    moving `amt` in the query's direction brings its local ratio toward nu without passing it;
    channels with the querying peer, unannounced channels and channels whose peer is not
    connected are left out. (One channel per peer here, so M02 grouping changes nothing.)"""
    active = [c for c in channels if c["state"] == "normal"]
    nu = sum(c["local"] for c in active) / sum(c["capacity"] for c in active)
    out = []
    for c in active:
        if c["peer"] == querier or not c["announced"] or c["peer"] not in online:
            continue
        r = c["local"] / c["capacity"]
        after = (c["local"] - amt if flow == 1 else c["local"] + amt) / c["capacity"]
        if flow == 1 and r > nu and after >= nu:
            out.append(c["scid"])
        if flow == 0 and r < nu and after <= nu:
            out.append(c["scid"])
    return sorted(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--foaf", default=os.path.join(HERE, "..", "..", "target", "debug", "foaf"),
                    help="the foaf binary (default: target/debug/foaf)")
    ap.add_argument("--types", default="347,349", help="QUERY,REPLY message types")
    args = ap.parse_args()
    qtype, rtype = (int(t) for t in args.types.split(","))
    ns = namespace(qtype, rtype)

    friend, stranger = key(0x11), key(0x22)
    helper_keys = [key(i) for i in (0x31, 0x32, 0x33, 0x34, 0x35)]
    others = [node_id(k) for k in helper_keys]
    channels = [
        {"scid": "700000x1x0", "peer": node_id(friend), "capacity": 10_000_000, "local": 5_000_000, "announced": True, "state": "normal"},
        {"scid": "700000x2x0", "peer": others[0], "capacity": 10_000_000, "local": 9_000_000, "announced": True, "state": "normal"},
        {"scid": "700000x3x0", "peer": others[1], "capacity": 10_000_000, "local": 8_000_000, "announced": True, "state": "normal"},
        {"scid": "700000x4x0", "peer": others[2], "capacity": 10_000_000, "local": 1_000_000, "announced": True, "state": "normal"},
        {"scid": "700000x5x0", "peer": others[3], "capacity": 10_000_000, "local": 9_000_000, "announced": False, "state": "normal"},
        {"scid": "700000x6x0", "peer": others[4], "capacity": 10_000_000, "local": 9_000_000, "announced": True, "state": "normal"},
    ]
    # A04: a channel is operational only while its peer is connected. These peers connect to
    # the node before the query; the peer of 700000x6x0 does not.
    online = [node_id(friend)] + others[:4]
    want = expected_scids(channels, node_id(friend), 1, AMT, online)
    check(want, "test data must make some channel eligible")

    passed = []
    with tempfile.TemporaryDirectory() as tmp:
        chan_file = os.path.join(tmp, "channels.json")
        with open(chan_file, "w") as f:
            json.dump(channels, f)
        graph_file = os.path.join(tmp, "graph.json")
        with open(graph_file, "w") as f:
            json.dump(["700001x1x1", "700001x2x1"], f)
        node = FoafNodeProcess([args.foaf, "node", "--listen", "127.0.0.1:0", "--seed", NODE_SEED,
                                "--channels", chan_file, "--graph", graph_file, "--chain", "regtest",
                                "--types", args.types, "--feature-bit", str(FEATURE_BIT), "--json"],
                               TIMEOUT, stderr=sys.stderr)
        try:
            started = node.wait_for(lambda e: e["event"] == "started", "its start")
            nid = started["node_id"]
            host, port = started["listen"].rsplit(":", 1)
            port = int(port)

            # 1. Handshake and init; W06 feature bit.
            friend_conn = Peer(ns, friend, nid, host, port)
            theirs = friend_conn.init()
            check(has_bit(theirs["features"], FEATURE_BIT),
                  "W06: init features {} lack bit {}".format(theirs["features"], FEATURE_BIT))
            node.wait_for(lambda e: e["event"] == "connected" and e["peer"] == node_id(friend)
                          and e["feature_bit"] is True, "the friend connecting with the feature bit")
            passed.append("BOLT #8 handshake and init (feature bit {} advertised both ways)".format(FEATURE_BIT))
            helpers = []
            for k in helper_keys[:4]:
                helpers.append(Peer(ns, k, nid, host, port))
                helpers[-1].init()
                node.wait_for(lambda e, k=k: e["event"] == "connected" and e["peer"] == node_id(k),
                              "a channel peer connecting")

            # 2. Query encoded by pyln-proto; reply decoded by pyln-proto.
            sent_at = int(time.time())
            friend_conn.send(encode(ns, "query_foaf_balances", chain_hash=REGTEST,
                                    flow_value=1, amt_to_rebalance=AMT))
            name, reply = friend_conn.recv()
            check(name == "reply_foaf_balances", "expected reply_foaf_balances, got {}".format(name))
            check(reply["chain_hash"] == REGTEST, "S01: chain_hash {}".format(reply["chain_hash"]))
            check(reply["flow_value"] == 1, "A01: flow_value not echoed: {}".format(reply["flow_value"]))
            check(reply["amt_to_rebalance"] == AMT, "A02: amt {}".format(reply["amt_to_rebalance"]))
            check(abs(reply["timestamp"] - sent_at) <= 60, "A03: timestamp {} far from now {}".format(reply["timestamp"], sent_at))
            got = sorted(reply["short_channel_ids"])
            check(got == want, "A01/A08: short_channel_ids {} != expected {}".format(got, want))
            passed.append("query encoded by pyln-proto answered; reply decoded by pyln-proto: {}".format(got))

            # 3. The node's log shows both messages.
            node.wait_for(lambda e: e["event"] == "recv" and e["peer"] == node_id(friend)
                          and e["msg"]["type"] == "query_foaf_balances"
                          and e["msg"]["amt_to_rebalance"] == AMT, "the query it received")
            node.wait_for(lambda e: e["event"] == "send" and e["peer"] == node_id(friend)
                          and e["msg"]["type"] == "reply_foaf_balances"
                          and sorted(e["msg"]["short_channel_ids"]) == want, "the reply it sent")
            passed.append("foaf node logged the query received and the reply sent")

            # 4. bolt14.md 2.1: nothing is sent to a peer whose init lacks the feature pair.
            shy_key = helper_keys[4]
            shy = Peer(ns, shy_key, nid, host, port)
            shy.init(feature=False)
            node.wait_for(lambda e: e["event"] == "connected" and e["peer"] == node_id(shy_key)
                          and e["feature_bit"] is False, "a peer without the feature bit")
            shy.send(encode(ns, "query_foaf_balances", chain_hash=REGTEST,
                            flow_value=1, amt_to_rebalance=AMT))
            before = shy.answered_before_pong()
            check(before == [], "bolt14.md 2.1: sent {} to a peer without the feature bit".format(before))
            node.wait_for(lambda e: e["event"] == "log" and e["text"].startswith("not sent to " + node_id(shy_key)),
                          "holding back the reply to the peer without the feature bit")
            passed.append("no reply to a peer whose init lacks the feature bit (connection kept)")

            # 5. V08: a reply that fails to decode fails the connection.
            truncated = rtype.to_bytes(2, "big") + bytes.fromhex(REGTEST) + b"\x01\x00"
            friend_conn.send(truncated)
            check(friend_conn.closed(), "V08: connection kept after a malformed reply")
            node.wait_for(lambda e: e["event"] == "disconnecting" and e["peer"] == node_id(friend),
                          "failing the connection after the malformed reply")
            check(any("malformed" in w for w in friend_conn.warnings),
                  "V08: no BOLT #1 warning before the close: {}".format(friend_conn.warnings))
            passed.append("V08: a malformed reply_foaf_balances fails the connection, after a warning {}".format(friend_conn.warnings))

            # 6. V01: a query from a peer with no channel fails the connection.
            stranger_conn = Peer(ns, stranger, nid, host, port)
            stranger_conn.init()
            stranger_conn.send(encode(ns, "query_foaf_balances", chain_hash=REGTEST,
                                      flow_value=0, amt_to_rebalance=AMT))
            check(stranger_conn.closed(), "V01: connection kept after a query with no channel")
            e = node.wait_for(lambda e: e["event"] == "disconnecting" and e["peer"] == node_id(stranger),
                              "failing the stranger's connection")
            check(e["reason"] == "no_channel", "V01: reason {}".format(e["reason"]))
            check(any("no_channel" in w for w in stranger_conn.warnings),
                  "V01: no BOLT #1 warning before the close: {}".format(stranger_conn.warnings))
            passed.append("V01: a query from a peer without a channel fails the connection, after a warning {}".format(stranger_conn.warnings))
        finally:
            code = node.stop()
        # 7. Clean shutdown on SIGINT.
        check(code == 0, "foaf node exited with status {} after SIGINT".format(code))
        node.wait_for(lambda e: e["event"] == "stopped", "stopping")
        passed.append("SIGINT stops foaf node cleanly (exit 0)")

    for p in passed:
        print("ok   " + p)
    print("pyln-check: all {} checks passed against foaf node (pyln-proto, types {})".format(len(passed), args.types))


if __name__ == "__main__":
    try:
        main()
    except (Failure, NodeError) as e:
        print("FAIL " + str(e), file=sys.stderr)
        sys.exit(1)
