"""An lnprototest Runner for `foaf node` (this repository's standalone BOLT #8 node).

`foaf node` has no blockchain: its channels come from a JSON file. So this Runner needs no
bitcoind, and the BOLT #14 setup step (`bolt14_setup_channels`, see bolt14.py and README.md)
is: write the channel file, restart the node with it, keep the named background peers
connected. Everything else goes over the real transport: pyln-proto's BOLT #8 implementation
connects to the node's listening port, exactly as lnprototest's Core Lightning Runner does.

Use: `pytest --runner=foaf_runner.FoafNodeRunner` (the default in this directory's conftest).
`--runner-args=NAME[=VALUE]` (repeatable) adds `--NAME[=VALUE]` to `foaf node`'s command line,
as lnprototest's Core Lightning Runner does for `lightningd`; e.g.
`--runner-args=fault=v08-ignore-malformed` runs the suite against a node with a fault
injected. The binary is `$FOAF_NODE` (default: target/debug/foaf of this repository).
"""

import json
import logging
import os
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional

import lnprototest
import pyln.proto.wire
from lnprototest import Conn, Event, EventError, KeySet, MustNotMsg, SpecFileError

import bolt14

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from foaf_node_process import FoafNodeProcess, NodeError  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FOAF = os.environ.get("FOAF_NODE", os.path.join(HERE, "..", "..", "target", "debug", "foaf"))
TIMEOUT = float(os.environ.get("TIMEOUT", "10"))
# Start-up and background connections are not what a test checks: they get their own, longer
# bound, so that a short TIMEOUT (run.sh --faults) never turns a slow start into a "caught".
SETUP_TIMEOUT = max(TIMEOUT, 30.0)
# After the pong that follows everything a test sent, how long answers may still be in flight
# (the node writes its BOLT #14 answers in the event loop round after the pong).
GRACE = 1.0
NODE_SEED = "42" * 32


class FoafConn(Conn):
    """A BOLT #8 connection to the node, made with pyln-proto's Noise implementation."""

    def __init__(self, connprivkey: str, node_id: bytes, port: int):
        super().__init__(connprivkey)
        self.connection = pyln.proto.wire.connect(
            pyln.proto.wire.PrivateKey(bytes.fromhex(self.connprivkey.to_hex())),
            pyln.proto.wire.PublicKey(node_id),
            "127.0.0.1",
            port,
        )
        self.closed = False

    def read(self, timeout: float) -> Optional[bytes]:
        """The next message, or None on timeout or when the node closed the connection."""
        if self.closed:
            return None
        self.connection.connection.settimeout(timeout)
        try:
            return self.connection.read_message()
        except socket.timeout:
            return None
        except (OSError, ValueError) as e:  # EOF (short read), reset, bad MAC
            logging.debug("connection %s closed: %s", self.name, e)
            self.closed = True
            return None

    def close(self) -> None:
        self.closed = True
        try:
            self.connection.connection.close()
        except OSError:
            pass


class Node(FoafNodeProcess):
    """`foaf node --json`, started: its node id and port known."""

    def __init__(self, argv: List[str]):
        logging.debug("starting %s", " ".join(argv))
        super().__init__(argv, SETUP_TIMEOUT)
        started = self.wait_for(lambda e: e["event"] == "started", "its start")
        self.node_id = bytes.fromhex(started["node_id"])
        self.port = int(started["listen"].rsplit(":", 1)[1])

    def stop(self) -> int:
        try:
            return super().stop()
        except NodeError:
            return -1


class FoafNodeRunner(lnprototest.Runner):
    """lnprototest's Runner interface over `foaf node`."""

    def __init__(self, config: Any):
        super().__init__(config)
        self.flags = ["--{}".format(a) for a in config.getoption("runner_args")]
        self.node: Optional[Node] = None
        self.channels: List[Dict[str, Any]] = []
        self.graph: List[str] = []
        # Channel peers this Runner keeps connected for the test (bolt14_setup_channels).
        self.background: List[FoafConn] = []
        self.workdir = tempfile.mkdtemp(prefix="foaf-lnpt-", dir=self.directory)

    # --- the node's life -------------------------------------------------------------------

    def _argv(self) -> List[str]:
        # Every peer of a test connects from 127.0.0.1 (the A06 test holds 1001 at once), so
        # the node's per-address cap (8 by default) is raised for the suite.
        argv = [FOAF, "node", "--listen", "127.0.0.1:0", "--seed", NODE_SEED, "--chain",
                "regtest", "--json", "--max-connections-per-ip", "4096",
                "--max-connections", "4096"]
        if self.channels:
            path = os.path.join(self.workdir, "channels.json")
            with open(path, "w") as f:
                json.dump(self.channels, f)
            argv += ["--channels", path]
        if self.graph:
            path = os.path.join(self.workdir, "graph.json")
            with open(path, "w") as f:
                json.dump(self.graph, f)
            argv += ["--graph", path]
        return argv + self.flags

    def is_running(self) -> bool:
        return self.node is not None and self.node.proc.poll() is None

    def start(self) -> None:
        self.node = Node(self._argv())

    def stop(self, print_logs: bool = False) -> None:
        for c in list(self.conns.values()) + self.background:
            c.close()
        self.background = []
        if self.node:
            if print_logs:
                self.logger.info("---------- foaf node log ----------\n%s", self.node.log())
            self.node.stop()
            self.node = None

    def restart(self) -> None:
        self.stop()
        super().restart()
        self.channels, self.graph = [], []
        self.start()

    # --- the BOLT #14 setup step (bolt14.SetupChannels) --------------------------------------

    def bolt14_setup_channels(
        self, event: Event, channels: List["bolt14.Channel"], keep_connected: List[str]
    ) -> Dict[str, str]:
        """Gives the node exactly `channels` (peers named by lnprototest connprivkeys), keeps
        the peers in `keep_connected` connected (BOLT #8 + init with the feature bit), and
        returns each channel's name -> short_channel_id."""
        if self.conns:
            raise SpecFileError(event, "SetupChannels must come before the first Connect")
        scids = {}
        self.channels = []
        for i, c in enumerate(channels):
            scid = "{}x{}x0".format(700000 + i // 1000, 1 + i % 1000)
            scids[c.name] = scid
            self.channels.append({
                "scid": scid, "peer": bolt14.pubkey_of(c.peer), "capacity": c.capacity_msat,
                "local": c.local_msat, "announced": c.announced,
                "state": "closing" if c.closing else "normal",
            })
        self.stop()
        self.start()
        assert self.node
        init = bolt14.encode("init", globalfeatures="", features=bolt14.our_features())
        node = self.node

        def connect(key: str) -> FoafConn:
            conn = FoafConn(key, node.node_id, node.port)
            conn.connection.send_message(init)
            return conn

        # Concurrently: A06 needs over 1000 connected peers, and each handshake mostly waits.
        with ThreadPoolExecutor(max_workers=32) as pool:
            self.background = list(pool.map(connect, keep_connected))
        wanted = {bolt14.pubkey_of(k) for k in keep_connected}
        for pk in wanted:
            self.node.wait_for(lambda e, pk=pk: e["event"] == "connected" and e["peer"] == pk,
                               "background peer {} connecting".format(pk))
        return scids

    # --- connections -----------------------------------------------------------------------

    def connect(self, event: Event, connprivkey: str) -> None:
        assert self.node
        self.add_conn(FoafConn(connprivkey, self.node.node_id, self.node.port))

    def recv(self, event: Event, conn: Conn, outbuf: bytes) -> None:
        """Sends `outbuf` to the node ("the node receives it")."""
        try:
            conn.connection.send_message(outbuf)  # type: ignore
        except OSError:
            raise EventError(event, "Connection closed")

    def get_output_message(self, conn: Conn, event: Event, timeout: float = TIMEOUT) -> Optional[bytes]:
        return conn.read(timeout)  # type: ignore

    def check_error(self, event: Event, conn: Conn) -> Optional[str]:
        super().check_error(event, conn)
        msg = self.get_output_message(conn, event)
        return None if msg is None else msg.hex()

    def check_final_error(self, event: Event, conn: Conn, expected: bool,
                          must_not_events: List[MustNotMsg]) -> None:
        """At the end of a test: nothing banned and no BOLT #1 error may have come. A ping is
        sent; the node handles a connection's messages in order, so once the pong is back it
        has seen everything the test sent; answers still in flight get GRACE seconds."""
        c: FoafConn = conn  # type: ignore
        if not expected and not c.closed:
            try:
                c.connection.send_message(bolt14.encode("ping", num_pong_bytes=1, ignored=""))
            except OSError:
                pass
            pong_seen = False
            deadline = None
            while True:
                left = TIMEOUT if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    break
                msg = c.read(left)
                if msg is None:
                    break
                name = bolt14.msg_name(msg)
                for e in must_not_events:
                    if e.matches(msg):
                        raise EventError(event, "Got msg banned by {}: {}".format(e, msg.hex()))
                if name == "error":
                    raise EventError(event, "Got error msg: {}".format(msg.hex()))
                if name == "pong" and not pong_seen:
                    pong_seen = True
                    deadline = time.monotonic() + GRACE
        c.close()

    # --- what a chain-less node has no use for -------------------------------------------

    def has_option(self, optname: str) -> Optional[str]:
        return "odd" if optname == "option_balance_sharing" else None

    def add_startup_flag(self, flag: str) -> None:
        self.flags.append("--{}".format(flag))

    def get_node_privkey(self) -> str:
        raise SpecFileError(None, "foaf node derives its key from a seed; no test here signs as it")

    def get_node_bitcoinkey(self) -> str:
        raise SpecFileError(None, "foaf node has no on-chain keys")

    def get_keyset(self) -> KeySet:
        raise SpecFileError(None, "foaf node has no channel keys")

    def getblockheight(self) -> int:
        return 0

    def _no_chain(self, event: Optional[Event] = None, *args: Any, **kwargs: Any) -> None:
        raise SpecFileError(event, "foaf node has no blockchain: channels come from "
                            "bolt14.SetupChannels (see interop/lnprototest/README.md)")

    trim_blocks = _no_chain  # type: ignore
    add_blocks = _no_chain  # type: ignore
    expect_tx = _no_chain  # type: ignore
    invoice = _no_chain  # type: ignore
    accept_add_fund = _no_chain  # type: ignore
    fundchannel = _no_chain  # type: ignore
    init_rbf = _no_chain  # type: ignore
    addhtlc = _no_chain  # type: ignore
    close_channel = _no_chain  # type: ignore

