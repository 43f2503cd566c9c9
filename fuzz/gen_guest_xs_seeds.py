#!/usr/bin/env python3
"""Writes fuzz/corpus/guest_xs/seed-*: scenarios in fuzz_guest_xs's input format (see the
comment at the top of fuzz_guest_xs.c): proper answers, errors, values longer than a
ring, events (and more of them than the client queues), and each hostile server move.

Usage: python3 fuzz/gen_guest_xs_seeds.py   (from the repository root)
"""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "guest_xs")

# Client operations ((byte & 0x7f) % 6) and server actions ((byte & 0x7f) % 10), as in the
# target; bit 7 selects a variant (unwatch, an error answer, a relative index).
C_READ, C_WRITE, C_WATCH, C_RAW, C_EVENT, C_TX = range(6)
S_ANSWER, S_ANSWER2, S_EVENT, S_CONSUME, S_RAW, S_RSP_PROD, S_REQ_CONS, S_SCRIBBLE, S_GIVE_UP, S_NOTHING = range(10)


def path(s):
    return bytes([len(s) - 1]) + bytes(ord(c) - ord('a') for c in s)


def read(cap, p):
    return bytes([C_READ, cap - 1]) + path(p)


def write(n, p, fill=0):
    return bytes([C_WRITE, (n >> 4) & 0xff, n & 0x0f]) + path(p) + bytes([fill])


def answer(value=b"", error=None):
    if error is not None:
        return bytes([S_ANSWER | 0x80, 0, error])
    return bytes([S_ANSWER, len(value)]) + bytes(0x80 | (c - ord('0')) if c <= ord('9') else c - ord('a')
                                                 for c in value)


seeds = {
    "read-answered": read(20, "state") + answer(b"connected"),
    "read-too-long": read(4, "x") + answer(b"abcdefgh"),
    "read-error": read(8, "missing") + answer(error=0) + read(8, "secret") + answer(error=1)
    + read(8, "bogus") + answer(error=5),
    "write-long": write(2000, "long", 3) + bytes([S_NOTHING, S_CONSUME, S_CONSUME, S_CONSUME]) + answer(),
    "write-then-read": write(10, "k") + bytes([S_CONSUME]) + answer() + read(30, "k") + bytes([S_CONSUME])
    + answer(b"aaaaaaaaaa"),
    "watch-events": bytes([C_WATCH]) + path("dev") + bytes([S_EVENT]) + answer()
    + bytes([C_EVENT, 11, 3, C_EVENT, 11, 3, C_EVENT, 11, 3]),
    "event-flood": read(8, "a") + bytes([S_EVENT] * 250) + answer(b"v")
    + bytes([C_EVENT, 11, 3] * 40),
    "transaction": bytes([C_TX]) + answer(b"17") + bytes([C_TX]) + answer(b"bcd") + bytes([C_TX, S_ANSWER, 0])
    + bytes([C_TX]) + answer(b"0"),
    "unwatch": bytes([C_WATCH | 0x80]) + path("dev") + answer(error=0),
    "raw-types": bytes([C_RAW, 15, 0, C_RAW, 16, 0, C_RAW, 20, 7]) + answer(),
    "timeout": read(8, "a") + bytes([S_GIVE_UP]) + read(8, "b") + answer(b"late"),
    "timeout-mid-request": write(2000, "x") + bytes([S_GIVE_UP]) + read(8, "b"),
    "rsp-prod-past-ring": read(8, "a") + bytes([S_RSP_PROD | 0x80, 0x01, 0x04]) + read(8, "b"),
    "rsp-prod-wild": read(8, "a") + bytes([S_RSP_PROD, 0x34, 0x12]),
    "req-cons-ahead": write(1500, "a") + bytes([S_REQ_CONS | 0x80, 5, 0]),
    "req-cons-behind": write(1500, "a") + bytes([S_REQ_CONS, 5, 0, S_CONSUME]) + answer(),
    "raw-garbage": read(8, "a") + bytes([S_RAW, 20] + [0xff] * 20) + answer(b"x"),
    "oversized": read(8, "a") + bytes([S_RAW, 16, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x10, 0, 0]),
    "stale-replies": read(8, "a") + bytes([S_NOTHING | 0x80, 1, 0, 2, S_NOTHING | 0x80, 0, 1, 0, 2])
    + answer(b"ok"),
    "scribble-own": read(8, "a") + bytes([S_SCRIBBLE | 0x80, 9, 9, S_SCRIBBLE, 7, 7]) + answer(b"ok")
    + write(3, "b") + bytes([S_CONSUME]) + answer(),
}

os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, "seed-" + name), "wb") as f:
        f.write(data)
print("wrote %d seeds to %s" % (len(seeds), OUT))
