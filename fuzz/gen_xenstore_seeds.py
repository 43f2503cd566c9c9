#!/usr/bin/env python3
"""Writes fuzz/corpus/xenstore/seed-*: scenarios in fuzz_xenstore's input format (see the
comment at the top of fuzz_xenstore.c), so the fuzzer starts from GRUB's first request,
watches, transactions with conflicts, quotas, and each hostile ring move.

Usage: python3 fuzz/gen_xenstore_seeds.py   (from the repository root)
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "xenstore")

# fuzz_xenstore.c's tables
READ, WRITE, MKDIR, RM, DIRECTORY, DIRECTORY_PART, GET_PERMS, SET_PERMS, WATCH, UNWATCH, \
    TX_START, TX_END, GET_DOMAIN_PATH, RESET_WATCHES, IS_INTRODUCED = range(15)
DATA, DATA_A, DATA_A_B, DATA_B, ABS1DATA, ABS1, ABS2X, ABS2DATA, ROOT, LOCAL, VBD, \
    RELEASE, DOTDOT, DSLASH, EMPTY, ABS1ABC, TOOL, ODD, UTF8, ABS0 = range(20)


def req(d, t, path, extra=0, comps=0, tx=0, more=b""):
    """A well-formed request from domain d: type index t, path index, `comps` extra
    components chosen by `extra`, tx selector (0: none, 1-2: a started one)."""
    return bytes([d << 4 | 0, t, tx, path | comps << 5, extra]) + more


def serve(d):
    return bytes([d << 4 | 3])


def write(d, path, vlen, comps=0, extra=0, tx=0):
    return req(d, WRITE, path, extra, comps, tx, bytes([vlen]))


def perms(d, path, entries, tx=0):
    """entries: (letter index n r w b x = 0..4, domain 0..3)"""
    body = bytes([len(entries) - 1]) + bytes(l | dom << 3 for l, dom in entries)
    return req(d, SET_PERMS, path, 0, 0, tx, body)


def raw(d, data):
    return bytes([d << 4 | 5, len(data)]) + data


def hdr(t, rid, tx, ln):
    return struct.pack("<IIII", t, rid, tx, ln)


def hostile(d, which, v, big=True):
    return bytes([d << 4 | 6, v & 0xFF, (v >> 8) & 0xFF, (v >> 24) & 0xFF, which | (4 if big else 0)])


def reset(d):
    return bytes([d << 4 | 7])


def tool(t, path, extra=0, comps=0, more=b""):
    return bytes([8, t, path | comps << 5, extra]) + more


def reconnect(d):
    return bytes([d << 4 | 9, 0])


PUMP = bytes([10])
DEFAULT, TINY_TABLES, TINY_QUOTAS, NO_QUOTAS = 0, 1, 4, 8

SEEDS = {
    "grub-directory": bytes([DEFAULT]) + req(1, DIRECTORY, VBD) + serve(1) +
        tool(MKDIR, ABS1, 0, 2) + req(1, DIRECTORY, VBD) + serve(1),
    "read-write-rm": bytes([DEFAULT]) + write(1, DATA_A_B, 10) + req(1, READ, DATA_A_B) +
        req(1, DIRECTORY, DATA) + req(1, RM, DATA_A) + req(1, READ, DATA_A) + serve(1) +
        req(1, GET_PERMS, DATA) + req(1, GET_DOMAIN_PATH, DATA, 2) + serve(1),
    "two-domains-perms": bytes([DEFAULT]) + write(1, DATA_B, 4) +
        req(2, READ, ABS1DATA) + perms(1, DATA, [(1, 1), (1, 2)]) + req(2, DIRECTORY, ABS1DATA) +
        perms(1, DATA_B, [(0, 2)]) + perms(1, DATA_B, [(4, 1)]) + serve(1) + serve(2),
    "watches": bytes([DEFAULT]) + req(1, WATCH, DATA, 1) + req(2, WATCH, ROOT, 2) + serve(1) +
        write(1, DATA_A, 3) + write(0, ABS1DATA, 5, 1, 0) + PUMP + req(1, RM, DATA) +
        req(1, UNWATCH, DATA, 1) + req(1, WATCH, RELEASE, 0) + PUMP,
    "transaction-conflict": bytes([DEFAULT]) + write(1, DATA_A, 2) + req(1, TX_START, EMPTY) +
        serve(1) + req(1, READ, DATA_A, 0, 0, 1) + write(1, DATA_B, 3, 0, 0, 1) +
        write(0, ABS1DATA, 4, 1, 0) + req(1, TX_END, EMPTY, 0, 0, 1) + serve(1) +
        req(1, TX_START, EMPTY) + serve(1) + req(1, RM, DATA, 0, 0, 2) +
        req(1, TX_END, EMPTY, 0, 0, 2) + serve(1),
    "transaction-commit": bytes([DEFAULT]) + req(1, TX_START, EMPTY) + serve(1) +
        write(1, DATA_A_B, 6, 0, 0, 1) + req(1, DIRECTORY, DATA, 0, 0, 1) +
        perms(1, DATA_A, [(2, 1), (1, 2)], 1) + req(1, TX_END, EMPTY, 0, 0, 1) + serve(1) + PUMP,
    "quotas": bytes([TINY_QUOTAS]) + b"".join(write(1, DATA, 8, 1, i) for i in range(12)) +
        b"".join(req(1, WATCH, DATA, i) for i in range(4)) +
        req(1, TX_START, EMPTY) + req(1, TX_START, EMPTY) + write(1, DATA_A, 200) + PUMP,
    "tiny-tables": bytes([TINY_TABLES | NO_QUOTAS]) +
        b"".join(write(1, ABS1, 40, 3, (i * 37) & 0x3F) for i in range(20)) + PUMP,
    "oversized-header": bytes([DEFAULT]) + req(1, WATCH, DATA, 0) + serve(1) +
        raw(1, hdr(11, 7, 0, 4097) + b"data/x\0y") + serve(1) + serve(1) + reset(1) +
        req(1, READ, DATA) + serve(1),
    "partial-then-rest": bytes([DEFAULT]) + raw(1, hdr(2, 9, 0, 5)[:9]) + serve(1) +
        raw(1, hdr(2, 9, 0, 5)[9:] + b"da") + serve(1) + raw(1, b"ta\0") + serve(1),
    "hostile-req-index": bytes([DEFAULT]) + hostile(1, 1, 0x12345678) + serve(1) + reset(1) +
        req(1, DIRECTORY, VBD) + serve(1),
    "hostile-rsp-index": bytes([DEFAULT]) + req(2, WATCH, ABS2DATA, 3) + hostile(2, 2, 0x00800000) +
        write(0, ABS2X, 3) + serve(2) + reset(2) + serve(2),
    "bad-paths": bytes([DEFAULT]) + req(1, READ, DOTDOT) + req(1, MKDIR, DSLASH) +
        req(1, WRITE, EMPTY, 0, 0, 0, b"\x03") + req(1, READ, UTF8) + req(1, WRITE, ODD, 0, 0, 0, b"\x02") +
        req(1, MKDIR, DATA, 0xC0, 0, 0, b"\x40") + serve(1),
    "big-write-pieces": bytes([NO_QUOTAS]) + write(0, ABS1DATA, 0xFF) + serve(0) + serve(0) +
        serve(0) + serve(0) + req(0, READ, ABS1DATA) + PUMP + PUMP,
    "reconnect": bytes([DEFAULT]) + req(1, TX_START, EMPTY) + req(1, WATCH, DATA, 1) + serve(1) +
        reconnect(1) + req(1, READ, DATA) + serve(1) + req(1, TX_END, EMPTY, 0, 0, 1) + serve(1),
    "flood": bytes([DEFAULT]) + raw(1, (hdr(10, 1, 0, 2) + b"1\0") * 14) + serve(1) +
        raw(1, (hdr(10, 1, 0, 2) + b"1\0") * 14) + serve(1) + serve(1),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, "seed-" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
