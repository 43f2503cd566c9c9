#!/usr/bin/env python3
"""Writes fuzz/corpus/grant/seed-*: op sequences in fuzz_grant's input format (2 header
bytes, then 8-byte records: kind, caller, 6 argument bytes), one per scenario, so that the
fuzzer starts from states where grants are mapped, copied, rewritten and torn down.

Usage: python3 fuzz/gen_grant_seeds.py   (from the repository root)
"""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "grant")

MAP, MAPS, UNMAP, UNMAPS, REPLACE, COPY, COPIES, GRANT, MMU, UVM, PIN, DESTROY = range(12)

# fuzz_grant.c's selectors
# doms[]: 0 SELF, 1 dom0, 2 dom1, 3 dom2, 6 nonexistent
DOM = {"self": 0, 0: 1, 1: 2, 2: 3, "none": 6}
# flag_sets[]
HOST, HOST_RO, DEV, DEV_RO, HOST_DEV, HOST_DEV_RO, PTE, PTE_RO, PTE_DEV, HOST_APP = range(10)
# grant flag sets (do_grant's fsets[])
PA, PA_RO, INVALID, PA_INUSE, TRANSFER, TRANSITIVE = 0, 2, 3, 4, 5, 6


def rec(kind, caller, *a):
    a = list(a) + [0] * 6
    return bytes([kind, caller] + [x & 0xFF for x in a[:6]])


def grant(granter, ref, fl, to, frame_sel, what=0):
    """Entry `ref` of `granter`: flags set fl, for domain `to`, frame selector (< 0xA0: data
    frame frame_sel % 8 of the granter)."""
    return rec(GRANT, granter, ref, fl, 0, to, frame_sel, what)


def map_va(mapper, slot, ref, granter, fl=HOST):
    """A host mapping at the VA of the L1's slot (2-15)."""
    return rec(MAP, mapper, fl, 0x10, slot - 2, ref, DOM[granter], 0)


def map_pte(mapper, table, slot, ref, granter, fl=PTE):
    """contains_pte: table 0 the L1 (slots 2-15), 2 the second L1, 3 a spare frame (its
    index in the high nibble of the slot byte)."""
    b2 = (slot - 2) if table == 0 else slot
    return rec(MAP, mapper, fl, table, b2, ref, DOM[granter], 0)


def map_dev(mapper, ref, granter, ro=False):
    return rec(MAP, mapper, DEV_RO if ro else DEV, 0, 0, ref, DOM[granter], 0)


def unmap(mapper, h, host=True, dev=True):
    """The handle's own addresses (from the model), host and/or device part."""
    return rec(UNMAP, mapper, h, 0 if host else 3, 0, 0, 0 if dev else 3, 0)


def unmap_wrong(mapper, h):
    return rec(UNMAP, mapper, h, 4, 0xC5, 0, 4, 1)


def replace(mapper, h, new_slot):
    return rec(REPLACE, mapper, h, 0, 0, 0, 0, (new_slot - 2) & 0x3F)


def _sel(gref, val, mode=None):
    """A selector byte for a grant reference `val`, or a data frame `val` of the domain
    named; with `mode`, bits 5-7 are the offsets' mode (fuzz_grant.c's do_copy)."""
    for b in range(256):
        if mode is not None and (b >> 5) & 7 != mode:
            continue
        if gref and b < 0xF0 and b % 12 == val:
            return b
        if not gref and b < 0xA0 and b % 8 == val:
            return b
    raise ValueError("no selector for %r" % ((gref, val, mode),))


def cx(sgref, sdom, sval, dgref, ddom, dval, mode):
    """The three bytes of one copy op: source and destination (a grant reference, or a
    data frame index of the domain named), and the offsets' mode (0: small, 1: the whole
    page, 2-3: overlapping within one frame, 4: past the page, 5: length 0, 6: past the
    page at the destination, 7: anything)."""
    x0 = (1 if sgref else 0) | (2 if dgref else 0) | (DOM[sdom] << 2) | (DOM[ddom] << 5)
    return [x0, _sel(sgref, sval, mode), _sel(dgref, dval)]


def copy(caller, *ops):
    """One copy op (cx(...)), or two in a batch."""
    return rec(COPY if len(ops) == 1 else COPIES, caller, *sum(ops, []))


def mmu(caller, slot, choice, sel=0, l1b=False):
    return rec(MMU, caller, 1 if l1b else 0, slot if l1b else slot - 2, choice, sel)


def uvm(caller, slot, choice, sel=0):
    return rec(UVM, caller, 0, slot - 2, choice, sel)


def pin(caller, spare, k, what):
    """what: 0 pin, 1 unpin, 2 scrub."""
    return rec(PIN, caller, 1 if spare else 0, k, what)


def destroy(caller):
    return rec(DESTROY, caller, 0)


def destroy_again():
    return rec(DESTROY, 0, 1)


SEEDS = {
    # 2 grants data frame 0 to 1; 1 maps it host, device, by PTE; unmaps part by part.
    "basic": [
        grant(2, 0, PA, 1, 0), grant(2, 1, PA_RO, 1, 1),
        map_va(1, 10, 0, 2), map_dev(1, 0, 2), map_pte(1, 0, 11, 1, 2, PTE_RO),
        map_va(1, 12, 1, 2, HOST),  # read-only grant mapped writable: refused
        map_va(1, 12, 1, 2, HOST_RO),
        unmap(1, 0), unmap(1, 1, host=False), unmap(1, 2), unmap(1, 3),
    ],
    # XSA-224: host+device writable, unmapped in two unmaps; the granter tries to pin.
    "xsa224": [
        grant(2, 3, PA, 1, 0xA0),  # a spare frame
        rec(MAP, 1, HOST_DEV, 0x10, 9, 3, DOM[2], 0),
        pin(2, True, 0, 0), unmap(1, 0, dev=False), pin(2, True, 0, 0), unmap(1, 0, host=False),
        pin(2, True, 0, 0), pin(2, True, 0, 1),
    ],
    # Mappings over present entries, into the second L1, which is then unpinned, scrubbed,
    # re-pinned, and a stale handle unmapped.
    "dead-l1": [
        grant(0, 2, PA, 1, 2), grant(0, 4, PA, 1, 3),
        map_va(1, 4, 2, 0), map_pte(1, 2, 5, 4, 0), map_pte(1, 2, 6, 2, 0, PTE_DEV),
        pin(1, False, 0, 1), unmap(1, 1), pin(1, False, 0, 0), pin(1, False, 0, 2), pin(1, False, 0, 0),
        map_pte(1, 2, 5, 4, 0), unmap(1, 1), unmap(1, 2), unmap(1, 0),
    ],
    # The granter rewrites entries while they are mapped; another domain tries them.
    "rewrite": [
        grant(2, 5, PA, 1, 4), map_va(1, 13, 5, 2),
        grant(2, 5, PA, 0, 5), map_dev(0, 5, 2), map_dev(1, 5, 2),
        grant(2, 5, PA_RO, 1, 5, what=1), map_dev(1, 5, 2, ro=True),
        grant(2, 5, INVALID, 1, 5, what=1), unmap(1, 0), map_dev(0, 5, 2),
        grant(2, 5, PA, 0, 6), map_dev(0, 5, 2), unmap(0, 0),
    ],
    # Copies: grant to frame, frame to grant, overlapping, past the page, 32-bit caller.
    "copy": [
        grant(2, 0, PA, 1, 0), grant(2, 2, PA, 1, 2), grant(1, 1, PA, 2, 1),
        copy(1, cx(True, 2, 0, False, "self", 3, 1)),
        copy(1, cx(False, "self", 4, True, 2, 2, 0)),
        copy(1, cx(True, 2, 2, True, 2, 2, 2)),
        copy(1, cx(True, 2, 0, True, 2, 0, 3)),
        copy(2, cx(True, 1, 1, False, "self", 5, 1)),
        copy(2, cx(False, "self", 6, True, 1, 1, 0)),
        copy(1, cx(False, "self", 1, False, "self", 1, 2), cx(False, 2, 1, False, "self", 2, 4)),
        copy(1, cx(True, "none", 0, False, "self", 3, 6), cx(False, "self", 1, False, "self", 1, 3)),
        copy(0, cx(False, 1, 5, False, 2, 6, 1)),
    ],
    # Maptrack exhaustion, pin saturation is out of reach (6 handles): handles recycled.
    "handles": [
        grant(1, 7, PA, 2, 7),
        rec(MAPS, 2, DEV_RO, 0, 0, 7, DOM[1], 3), rec(MAPS, 2, DEV_RO, 0, 0, 7, DOM[1], 3),
        map_dev(2, 7, 1), unmap(2, 3), map_dev(2, 7, 1), rec(UNMAPS, 2, 0, 0, 0, 0, 0, 2),
        unmap_wrong(2, 4), unmap(2, 5), unmap(2, 4),
    ],
    # unmap_and_replace, and attempts on grant PTEs through the MMU.
    "replace-mmu": [
        grant(2, 0, PA, 1, 0), grant(2, 1, PA, 1, 1),
        map_va(1, 10, 0, 2), map_va(1, 11, 1, 2, HOST_DEV),
        mmu(1, 10, 0), mmu(1, 10, 1), mmu(1, 10, 2), mmu(1, 10, 4), uvm(1, 11, 0), uvm(1, 11, 5, 3),
        mmu(1, 12, 3), replace(1, 0, 11), replace(1, 0, 3), replace(1, 1, 4), unmap(1, 1),
        mmu(1, 10, 5, 1), mmu(1, 4, 6, 2),
    ],
    # Destruction with mappings on both sides.
    "destroy": [
        grant(2, 0, PA, 1, 0), grant(1, 0, PA, 2, 0), grant(2, 1, PA, 0, 1),
        map_va(1, 10, 0, 2), map_dev(2, 0, 1), map_dev(0, 1, 2),
        destroy(2), unmap(1, 0), destroy_again(), unmap(0, 0), destroy_again(),
        map_dev(1, 0, 2),
    ],
    "destroy-mapper": [
        grant(2, 0, PA, 1, 0), grant(2, 1, PA_RO, 1, 1),
        map_va(1, 10, 0, 2), map_pte(1, 2, 3, 1, 2, PTE_RO), map_dev(1, 0, 2), pin(1, False, 0, 1),
        destroy(1), pin(2, True, 0, 0),
    ],
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, recs in SEEDS.items():
        for hdr, suffix in ((bytes([0, 0]), ""), (bytes([3, 0]), "-budget")):
            with open(os.path.join(OUT, "seed-" + name + suffix), "wb") as f:
                f.write(hdr + b"".join(recs))


if __name__ == "__main__":
    main()
