#!/usr/bin/env python3
"""A small BOLT #14 implementation that speaks the conformance pipe protocol (stdlib only).

It exists to prove that the conformance kit tests any language: run it with
    cargo xtask conformance --impl "python3 examples/python-iut/foaf_iut.py"
It is written from the pipe protocol and the requirements alone, independently of the Rust
crates. One JSON op per line on stdin; effects, then {"effect":"done"}, on stdout.
"""

import json
import math
import random
import struct
import sys
from fractions import Fraction

QUERY_TYPE = 347
REPLY_TYPE = 349
WARNING_TYPE = 1
MAX_SCIDS = 1000
FUTURE_LIMIT = 600  # V03: seconds a timestamp may be ahead of our clock
RATE_MAX, RATE_WINDOW = 4, 10  # S05 / V07


class DecodeError(Exception):
    pass


# ---- wire (W01-W04) ----

def scid_to_int(s):
    block, tx, out = (int(p) for p in s.split("x"))
    return (block << 40) | (tx << 16) | out


def scid_to_str(n):
    return "%dx%dx%d" % (n >> 40, (n >> 16) & 0xFFFFFF, n & 0xFFFF)


def read_bigsize(b, i):
    if i >= len(b):
        raise DecodeError("bigsize truncated")
    first = b[i]
    for marker, width, minimum in ((0xFD, 2, 0xFD), (0xFE, 4, 0x10000), (0xFF, 8, 0x100000000)):
        if first == marker:
            if i + 1 + width > len(b):
                raise DecodeError("bigsize truncated")
            v = int.from_bytes(b[i + 1:i + 1 + width], "big")
            if v < minimum:
                raise DecodeError("non-minimal bigsize")
            return v, i + 1 + width
    return first, i + 1


def check_tlv_stream(b, i):
    """BOLT #1 TLV stream: increasing types, lengths within the data, unknown even types
    rejected (no type is known for these messages)."""
    last = None
    while i < len(b):
        t, i = read_bigsize(b, i)
        n, i = read_bigsize(b, i)
        if last is not None and t <= last:
            raise DecodeError("tlv types not increasing")
        if i + n > len(b):
            raise DecodeError("tlv length past the end")
        if t % 2 == 0:
            raise DecodeError("unknown even tlv type")
        last = t
        i += n


def decode(b):
    if len(b) < 2:
        raise DecodeError("no type")
    (mtype,) = struct.unpack(">H", b[:2])
    if mtype == QUERY_TYPE:
        if len(b) < 2 + 32 + 1 + 8:
            raise DecodeError("query truncated")
        chain, flow, amt = b[2:34], b[34], struct.unpack(">Q", b[35:43])[0]
        check_tlv_stream(b, 43)
        return ("query", chain, flow, amt)
    if mtype == REPLY_TYPE:
        if len(b) < 2 + 32 + 1 + 8 + 8 + 2:
            raise DecodeError("reply truncated")
        chain, flow = b[2:34], b[34]
        ts, amt, n = struct.unpack(">QQH", b[35:53])
        end = 53 + 8 * n
        if end > len(b):
            raise DecodeError("len past the payload")
        scids = [int.from_bytes(b[53 + 8 * k:61 + 8 * k], "big") for k in range(n)]
        check_tlv_stream(b, end)
        return ("reply", chain, flow, ts, amt, scids)
    return ("other", mtype)


def encode_query(chain, flow, amt):
    return struct.pack(">H", QUERY_TYPE) + chain + struct.pack(">BQ", flow, amt)


def encode_reply(chain, flow, ts, amt, scids):
    out = struct.pack(">H", REPLY_TYPE) + chain + struct.pack(">BQQH", flow, ts, amt, len(scids))
    return out + b"".join(s.to_bytes(8, "big") for s in scids)


def encode_warning(text):
    data = text.encode()
    return struct.pack(">H", WARNING_TYPE) + bytes(32) + struct.pack(">H", len(data)) + data


# ---- the node ----

# ---- pipe protocol v2: forwarding (docs/bolt14.md sections 4.2 and 5) ----

HOLD_SECS, MIN_BLOCKS, BUDGET_WINDOW, OFFER_AGE = 60, 18, 3600, 600


def gini(zetas):
    n = len(zetas)
    mean = sum(zetas) / n if n else 0
    if mean == 0:
        return Fraction(0)
    return sum(abs(a - b) for a in zetas for b in zetas) / (2 * n * n * mean)


class Forwarding:
    """Mixed into Node: the hop check for zero-fee HTLCs (R-REB-5, R-REB-7) and JIT routing over
    3-cycles us -> source -> next -> us (R-JIT-1 to R-JIT-7)."""

    def merged(self):
        """Per peer (M02): [local, capacity] over active channels, and nu."""
        return self.merged_of(self.channels)

    def merged_of(self, channels):
        peers = {}
        for c in channels.values():
            if c["state"] == "normal" and c["capacity"] > 0:
                t = peers.setdefault(c["peer"], [0, 0])
                t[0] += c["local"]
                t[1] += c["capacity"]
        total = sum(k for _, k in peers.values())
        nu = Fraction(sum(l for l, _ in peers.values()), total) if total else Fraction(0)
        return peers, nu

    def op_graph_edges(self, op):
        self.edges = [(scid_to_int(e["scid"]), e["a"], e["b"]) for e in op["edges"]]

    def op_htlc(self, op):
        hid, amt = op["id"], op["amt"]
        cin = self.channels.get(scid_to_int(op["in_scid"]))
        out_scid = scid_to_int(op["out_scid"])
        cout = self.channels.get(out_scid)
        if not cin or not cout or cout["state"] != "normal":
            return self.emit(effect="fail", id=hid, code="unknown_next_peer")
        if op["fee_free"]:
            return self.hop(hid, cin, out_scid, cout, amt)
        return self.jit(hid, cout, out_scid, amt, op["blocks_to_expiry"])

    def offer_covering(self, in_scid, out_scid, amt):
        """R-REB-6: our newest offer for this move (Push on the outgoing channel, Receive on
        the incoming one) with amt still unused, as its [ts, amt, used] entry, or None."""
        entries = [self.made.get((out_scid, 1)), self.made.get((in_scid, 0))]
        entries = [e for e in entries if e is not None and e[1] - e[2] >= amt]
        return max(entries, key=lambda e: e[0]) if entries else None

    def hop(self, hid, cin, out_scid, cout, amt):
        peers, nu = self.merged()
        up, down = cin["peer"], cout["peer"]
        ok = up != down and cout["local"] >= amt
        offered = None
        if ok and self.require_offer:  # R-REB-6: only what we offered, fresh, in total
            offered = self.offer_covering(scid_to_int(cin["scid"]), out_scid, amt)
            ok = offered is not None and 0 <= self.now - offered[0] <= OFFER_AGE
        if ok:
            (il, ic), (ol, oc) = peers[up], peers[down]
            # R-REB-5, the sender rule: the outgoing peer is not taken below nu (the incoming
            # side is free) and G strictly drops.
            ok = ol - amt >= nu * oc
            before = gini([Fraction(l, k) for l, k in peers.values()])
            after_peers = dict(peers)
            after_peers[up] = (il + amt, ic)
            after_peers[down] = (ol - amt, oc)
            ok = ok and gini([Fraction(l, k) for l, k in after_peers.values()]) < before
        if ok:  # R-REB-7: at most the upstream peer's merged capacity per hour
            spent = [(t, a) for t, a in self.fee_free.get(up, []) if t + BUDGET_WINDOW > self.now]
            ok = sum(a for _, a in spent) + amt <= peers[up][1]
            self.fee_free[up] = spent
        if not ok:
            return self.emit(effect="fail", id=hid, code="fee_insufficient")
        self.fee_free[up].append((self.now, amt))
        if offered is not None:
            offered[2] += amt
        self.emit(effect="forward", id=hid, scid=scid_to_str(out_scid))

    def op_require_offer(self, op):
        self.require_offer = bool(op["on"])

    def op_collect_offers(self, op):
        """R-CM-4: each source (zeta > nu) asked with flow 1, each sink with flow 0, for a tenth
        of its deviation, rounded down; not again within 600 s unless our channels changed."""
        peers, nu = self.merged()
        for peer, (l, k) in sorted(peers.items()):
            target = nu * k
            if Fraction(l, k) > nu:
                flow, dev = 1, l - math.ceil(target)
            elif Fraction(l, k) < nu:
                flow, dev = 0, math.floor(target) - l
            else:
                continue
            amt = dev // 10
            last = self.collected.get(peer)
            if amt <= 0 or peer not in self.connected or not self.active(peer):
                continue
            if last and last[1] == self.generation and self.now - last[0] <= OFFER_AGE:
                continue
            if not self.may_send(peer, "query"):  # S05
                self.emit(effect="log", text="query to %s held back by the rate limit" % peer)
                continue
            self.collected[peer] = (self.now, self.generation)
            self.send(peer, "query", encode_query(self.chain, flow, amt))

    def jit(self, hid, cout, out_scid, amt, blocks):
        nxt = cout["peer"]
        mine = sorted((s, c) for s, c in self.channels.items()
                      if c["peer"] == nxt and c["state"] == "normal")
        # R-JIT-1: any channel to the same peer that can carry it (the named one first).
        can = [(s != out_scid, -c["local"], s) for s, c in mine if c["local"] >= amt]
        if can:
            return self.emit(effect="forward", id=hid, scid=scid_to_str(min(can)[2]))
        fail = lambda: self.emit(effect="fail", id=hid, code="temporary_channel_failure")
        if blocks < MIN_BLOCKS:  # R-JIT-4
            return fail()
        fits = [(-c["local"], s, c) for s, c in mine if c["capacity"] >= amt]
        if not fits:
            return fail()
        _, x_scid, x = min(fits)
        short = amt - x["local"]
        peers, nu = self.merged()
        pl, pk = peers[nxt]
        total_l = sum(l for l, _ in peers.values())
        total_k = sum(k for _, k in peers.values())
        room = max(total_l * pk // total_k - pl + amt, 0)
        wanted = max(min(-(-short * 125 // 100), room, x["capacity"] - x["local"]), short)
        best = None
        for src, (sl, sk) in sorted(peers.items()):
            if src == nxt:
                continue
            surplus = max(sl * total_k - total_l * sk, 0) // total_k
            outs = sorted((-c["local"], s) for s, c in self.channels.items()
                          if c["peer"] == src and c["state"] == "normal")
            if not outs:
                continue
            src_scid, src_liq = outs[0][1], -outs[0][0]
            own = min(surplus, src_liq, wanted)
            for e, a, b in self.edges:
                if {a, b} != {src, nxt}:
                    continue
                caps = [amt_o for (p, s, f), (amt_o, ts) in self.offers.items()
                        if s == e and abs(self.now - ts) <= OFFER_AGE
                        and ((p == src and f == 1) or (p == nxt and f == 0))]
                if not caps:
                    continue
                r = min(own, min(caps))  # R-JIT-2: every offer covering the use caps it
                key = (-r, [src_scid, e, x_scid])
                if r >= short and (best is None or key < best):
                    best = key
        if best is None:
            return fail()  # R-JIT-5/7: as a node without JIT would
        self.held[hid] = (x_scid, self.now + HOLD_SECS)
        self.emit(effect="hold", id=hid, until=self.now + HOLD_SECS)
        self.emit(effect="rebalance", id=hid, amt=-best[0], hops=[scid_to_str(s) for s in best[1]])

    def op_plan(self, op):
        """R-REB-1 to R-REB-4 over 3-cycles us -> source -> sink -> us: each step the offered
        cycle and amount (the largest allowed, or 1/2, 1/4, 1/8 of it) that lowers G most, on
        the state after the previous step, at most 16 steps."""
        chans = {s: dict(c) for s, c in self.channels.items()}
        fresh = {k: v[0] for k, v in self.offers.items() if abs(self.now - v[1]) <= OFFER_AGE}
        used = {}  # offer key -> msat planned against it
        plan = []
        for _ in range(16):
            peers, _ = self.merged_of(chans)
            total_l = sum(l for l, _ in peers.values())
            total_k = sum(k for _, k in peers.values())
            if not total_k:
                break
            g0 = gini([Fraction(l, k) for l, k in peers.values()])
            best = None
            for src, (sl, sk) in sorted(peers.items()):
                for dst, (dl, dk) in sorted(peers.items()):
                    surplus = (sl * total_k - total_l * sk) // total_k
                    deficit = (total_l * dk - dl * total_k) // total_k
                    if src == dst or surplus <= 0 or deficit <= 0:
                        continue
                    out = min((-c["local"], s) for s, c in chans.items()
                              if c["peer"] == src and c["state"] == "normal")
                    inn = min((c["local"] - c["capacity"], s) for s, c in chans.items()
                              if c["peer"] == dst and c["state"] == "normal")
                    for e, a, b in self.edges:
                        if {a, b} != {src, dst}:
                            continue
                        covering = [k for k in fresh if k[1] == e
                                    and ((k[0] == src and k[2] == 1) or (k[0] == dst and k[2] == 0))]
                        if not covering:
                            continue
                        cap = min(fresh[k] - used.get(k, 0) for k in covering)
                        full = min(surplus, deficit, -out[0], -inn[0], cap)
                        for amt in (full, full // 2, full // 4, full // 8):
                            if amt < 1000:
                                continue
                            after = dict(peers)
                            after[src] = (sl - amt, sk)
                            after[dst] = (dl + amt, dk)
                            g1 = gini([Fraction(l, k) for l, k in after.values()])
                            key = (g1, 3, [out[1], e, inn[1]], amt, covering)
                            if g1 < g0 and (best is None or key[:3] < best[:3]):
                                best = key
            if best is None:
                break
            _, _, hops, amt, covering = best
            chans[hops[0]]["local"] -= amt
            chans[hops[2]]["local"] += amt
            for k in covering:
                used[k] = used.get(k, 0) + amt
            plan.append({"amt": amt, "hops": [scid_to_str(h) for h in hops]})
        self.emit(effect="plan", rebalances=plan)

    def op_rebalance_result(self, op):
        if not op["ok"] and op.get("erring_scid"):  # R-REB-8: drop the erring channel's offers
            erring = scid_to_int(op["erring_scid"])
            self.offers = {k: v for k, v in self.offers.items() if k[1] != erring}
        if "id" not in op:
            return  # one of our planned rebalances: the next plan re-plans
        hid = op["id"]
        if hid not in self.held:
            return self.emit(effect="log", text="no held HTLC %s" % hid)
        forward_on, _ = self.held.pop(hid)
        if op["ok"]:  # R-JIT-6: forward the original HTLC on the refilled channel
            self.emit(effect="forward", id=hid, scid=scid_to_str(forward_on))
        else:  # R-JIT-5
            self.emit(effect="fail", id=hid, code="temporary_channel_failure")


class Node(Forwarding):
    def __init__(self, out):
        self.out = out
        self.reset({})

    def reset(self, op):
        self.chain = bytes.fromhex(op.get("chain_hash", "00" * 32))
        self.now = op.get("now", 0)
        self.rng = random.Random(op.get("seed", 0))
        self.obfuscate = bool((op.get("config") or {}).get("obfuscate", False))
        self.graph = {scid_to_int(s) for s in op.get("graph", [])}
        self.channels = {}
        for c in op.get("channels", []):
            self.set_channel(c)
        self.connected = set()
        self.offers = {}  # (peer, scid, flow) -> (amt, ts)
        self.sent = {}  # (peer, kind) -> [times]
        self.received_queries = {}  # peer -> [times]
        self.edges = []  # v2: (scid, a, b) of public channels
        self.held = {}  # v2: htlc id -> (forward_on scid, deadline)
        self.fee_free = {}  # v2: upstream peer -> [(time, amt)] forwarded at zero fee
        self.require_offer = False  # v2: R-REB-6
        self.made = {}  # R-REB-6: (own scid, flow) -> [ts, amt, used] of our newest reply
        self.collected = {}  # R-CM-4: peer -> (time, generation) of the last collection query

    def set_channel(self, c):
        s = scid_to_int(c["scid"])
        if self.channels.get(s) != c:
            self.generation = getattr(self, "generation", 0) + 1
        self.channels[s] = dict(c)

    def send_reply(self, peer, flow, amt):
        scids = self.eligible(peer, flow, amt)
        for s in scids:  # R-REB-6: remember what we offered
            old = self.made.get((s, flow))
            if old is None or old[0] <= self.now:
                self.made[(s, flow)] = [self.now, amt, 0]
        self.send(peer, "reply", encode_reply(self.chain, flow, self.now, amt, scids))

    def emit(self, **effect):
        self.out.write(json.dumps(effect) + "\n")

    def active(self, peer):
        return any(c["peer"] == peer and c["state"] == "normal" for c in self.channels.values())

    def recent(self, times):
        return [t for t in times if t > self.now - RATE_WINDOW]

    def may_send(self, peer, kind):
        times = self.recent(self.sent.get((peer, kind), []))
        self.sent[(peer, kind)] = times
        return len(times) < RATE_MAX

    def send(self, peer, kind, msg):
        self.sent.setdefault((peer, kind), []).append(self.now)
        self.emit(effect="send", peer=peer, msg=msg.hex())

    def fail(self, peer, reason):
        self.emit(effect="send", peer=peer, msg=encode_warning(reason).hex())
        self.emit(effect="disconnect", peer=peer, reason=reason)
        self.connected.discard(peer)

    def eligible(self, querier, flow, amt):
        """A01 default policy: peers (parallel channels merged, M02) whose relative balance
        moves toward, and not past, nu = sum local / sum capacity (M01) when amt moves in the
        direction of flow; operational, announced channels only (A04, A08); never the
        querier's."""
        active = [c for c in self.channels.values() if c["state"] == "normal"]
        cap_total = sum(c["capacity"] for c in active)
        if cap_total == 0:
            return []
        nu = Fraction(sum(c["local"] for c in active), cap_total)
        groups = {}
        for s, c in self.channels.items():
            if (c["state"] == "normal" and c["announced"] and c["peer"] in self.connected
                    and c["peer"] != querier):
                g = groups.setdefault(c["peer"], [0, 0, []])
                g[0] += c["local"]
                g[1] += c["capacity"]
                g[2].append(s)
        out = []
        for local, cap, ids in groups.values():
            zeta = Fraction(local, cap)
            if flow == 1:
                ok = zeta > nu and local >= amt and Fraction(local - amt, cap) >= nu
            else:
                ok = zeta < nu and local + amt <= cap and Fraction(local + amt, cap) <= nu
            if ok:
                out.extend(ids)
        out.sort()
        if self.obfuscate:  # A05: omit some, add some, all ours and announced
            ours = sorted(s for s, c in self.channels.items() if c["announced"])
            out = [s for s in out if self.rng.random() > 0.2]
            out = sorted(set(out) | {s for s in ours if self.rng.random() < 0.1})
        if len(out) > MAX_SCIDS:  # A06/A07: uniform sample
            out = sorted(self.rng.sample(out, MAX_SCIDS))
        return out

    # ---- ops ----

    def op_init(self, op):
        self.reset(op)

    def op_connect(self, op):
        self.connected.add(op["peer"])

    def op_disconnect(self, op):
        self.connected.discard(op["peer"])

    def op_tick(self, op):
        self.now = max(self.now, op["now"])
        for hid in sorted(self.held):  # R-JIT-4: the hold ends at its deadline
            if self.now > self.held[hid][1]:
                del self.held[hid]
                self.emit(effect="fail", id=hid, code="temporary_channel_failure")

    def op_set_channel(self, op):
        self.set_channel(op["channel"])

    def op_offers(self, op):
        offers = [
            {"peer": p, "scid": scid_to_str(s), "flow_value": f, "amt": a, "timestamp": t}
            for (p, s, f), (a, t) in sorted(self.offers.items())
        ]
        self.emit(effect="offers", offers=offers)

    def outgoing(self, op, kind):
        peer = op["peer"]
        if not self.active(peer):
            return self.emit(effect="refused", op=op["op"], reason="no_channel")
        if peer not in self.connected:
            return self.emit(effect="refused", op=op["op"], reason="not_connected")
        if not self.may_send(peer, kind):
            return self.emit(effect="refused", op=op["op"], reason="rate_limited")
        flow, amt = op["flow_value"], op["amt"]
        if kind == "query":
            self.send(peer, kind, encode_query(self.chain, flow, amt))
        else:
            self.send_reply(peer, flow, amt)

    def op_query(self, op):
        self.outgoing(op, "query")

    def op_offer(self, op):
        self.outgoing(op, "reply")

    def op_recv(self, op):
        peer = op["peer"]
        if peer not in self.connected:
            return  # the transport is down: nothing can arrive or be answered
        try:
            msg = decode(bytes.fromhex(op["msg"]))
        except (DecodeError, ValueError) as e:
            return self.fail(peer, "malformed: %s" % e)  # V08
        if msg[0] == "other":
            return
        if not self.active(peer):
            return self.fail(peer, "no_channel")  # V01
        chain, flow = msg[1], msg[2]
        if chain != self.chain or flow not in (0, 1):
            return  # V06, W05: ignored
        if msg[0] == "query":
            amt = msg[3]
            times = self.recent(self.received_queries.get(peer, [])) + [self.now]
            self.received_queries[peer] = times
            if len(times) > RATE_MAX or not self.may_send(peer, "reply"):
                return  # V07: the excess is not answered
            self.send_reply(peer, flow, amt)
        else:
            ts, amt, scids = msg[3], msg[4], msg[5]
            if len(scids) > MAX_SCIDS:
                return self.fail(peer, "too_many_scids")  # V02
            if ts > self.now + FUTURE_LIMIT:
                return self.fail(peer, "timestamp_in_future")  # V03
            for s in scids:
                if s not in self.graph:
                    continue  # V05
                key = (peer, s, flow)
                old = self.offers.get(key)
                if old is None or ts >= old[1]:  # V04: newest wins, equal replaces
                    self.offers[key] = (amt, ts)


def main():
    out = sys.stdout
    node = Node(out)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            op = json.loads(line)
            handler = getattr(node, "op_" + str(op.get("op")), None)
            if handler is None:
                node.emit(effect="unsupported", op=op.get("op"))
            else:
                handler(op)
        except Exception as e:  # a bad line is logged, never fatal
            print("bad op: %r" % e, file=sys.stderr)
            node.emit(effect="log", text="bad op: %s" % e)
        node.emit(effect="done")
        out.flush()


if __name__ == "__main__":
    main()
