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


# Transfer (kind DESTROY, first argument 2 + 4 * (ops - 1)) and accept_transfer entries
# (first argument 3): fuzz_grant.c's do_transfer() and do_accept().
# do_accept()'s flag sets
ACC, ACC_PWT, ACC_COMMITTED, ACC_DONE, ACC_PA = 0, 4, 5, 6, 7


def free_gfn(k):
    """A gfn selector: the k-th free gfn of the receiver's P2M (24 + k)."""
    return k % 24


def used_gfn(j):
    """A gfn selector: gfn j (< 24), in use by one of the receiver's frames."""
    return 0x80 + (j - 8) % 24


def accept(receiver, ref, giver, gfn, fl=ACC, what=0):
    """Entry `ref` of `receiver`: accept_transfer (flag set fl) from `giver` ("self" for
    itself, None for domain 7) at the gfn selector given; what: 0 all of it, 2 flags only,
    3 the gfn only."""
    if giver is None:
        b = 0xC1
    else:
        g = receiver if giver == "self" else giver
        b = (g - receiver - 1) % 3
    return rec(DESTROY, receiver, 3, ref, fl, b, gfn, what)


# Transfer frame selectors (do_transfer()'s xfer_frame()): k < 0xC0: the k-th frame the
# giver can give now (in MFN order); or one it cannot (or need not be able to).
def stealable(k):
    return k


X_L1 = 0xC0        # its L1 (frame_sel: b % 10 == 2)
X_OWN_DATA = 0xC2  # its data frame 0 (mapped in its L1 unless unmapped)
X_L1B = 0xC3       # its second L1
X_HIGH = 0xC4      # a spare frame with bit 32 set (a 32-bit giver's field drops it)
X_ONES = 0xC5
X_OTHERS = 0xC6    # a frame the next domain could give
X_BEYOND = 0xC7    # FRAMES
X_SPARE7 = 0xF9    # its spare frame 7 (frame_sel: b % 10 == 9, (b >> 4) % 8 == 7)
X_FREE = 0xD9      # frame 3, free
X_PAST = 0xD0      # FRAMES + 5
X_NEXT_DATA0 = 0xD8  # the next domain's data frame 0 (frame_sel's "someone else's")
X_MB0 = 0xE1
X_ROOT = 0xE9
X_GTAB = 0xEA

# Transfer target selectors: t < 0xC0: the t-th open accept_transfer entry for the giver
# (the ref byte unused); 0xC0 + doms[] index: that domain, with the ref selector given
# (< 0xF0: ref % 12; 0xF0-0xF3: 511, 512, 0x80000000, 0xFFFFFFFF).
def to_open(k=0):
    return k


def to_dom(d):
    return 0xC0 + DOM[d] if d in DOM else 0xC0 + {"io": 7, 7: 6}[d]


def transfer(giver, frames, target, ref=0):
    """GNTTABOP_transfer by `giver`: 1-3 ops, frame selectors `frames`; op i's target and
    ref selectors are target + i and ref + i."""
    frames = list(frames)
    n = len(frames)
    fb = frames + [0] * (3 - n)
    return rec(DESTROY, giver, 2 + 4 * (n - 1), fb[0], target, ref, fb[1], fb[2])


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
    # A frame flipped from 1 to the privileged domain, used there (granted, mapped, copied,
    # in its L1), refused back while held, then given back to 1 at a gfn in use; a batch
    # that gives one frame twice; a pinned frame refused.
    "transfer": [
        accept(0, 0, 1, free_gfn(0)),
        mmu(1, 2, 0),  # 1's data frame 0 unmapped: the first frame it can give
        transfer(1, [stealable(0)], to_open(0)),
        transfer(1, [stealable(0)], to_dom(0), 0),  # the entry is used: lost
        grant(0, 1, PA, 2, 0xB0),  # 0 grants it (1's data frame 0) to 2
        map_dev(2, 1, 0),
        copy(2, cx(True, 0, 1, False, "self", 3, 1)),
        mmu(0, 12, 8, 0),  # 0 maps it in its L1 (the next domain's data frame 0)
        accept(1, 2, 0, used_gfn(0)),
        transfer(0, [X_NEXT_DATA0], to_open(0)),  # held: bad_page, kept
        unmap(2, 0), mmu(0, 12, 0),
        transfer(0, [X_NEXT_DATA0], to_open(0)),  # back to 1, at its gfn 0
        mmu(1, 2, 5, 0),  # 1 maps it again
        accept(2, 3, 1, free_gfn(5)),
        accept(2, 4, 1, free_gfn(6)),
        transfer(1, [stealable(0), stealable(0), stealable(1)], to_open(0)),
        accept(2, 5, 1, free_gfn(7)),
        pin(1, True, 7, 0), transfer(1, [X_SPARE7], to_open(0)),  # pinned: kept
        pin(1, True, 7, 1), transfer(1, [X_SPARE7], to_open(0)),
    ],
    # Every refusal: frames that cannot be given (kept), then receivers that cannot take
    # one (lost); a batch into a receiver that runs out of headroom.
    "transfer-errors": [
        # (1's data frames unmapped: frames enough to lose)
        mmu(1, 2, 0), mmu(1, 3, 0), mmu(1, 4, 0), mmu(1, 5, 0), mmu(1, 6, 0), mmu(1, 7, 0),
        mmu(1, 8, 0), mmu(1, 9, 0),
        accept(2, 5, 1, free_gfn(1)), accept(2, 6, 1, free_gfn(2)), accept(2, 7, 1, free_gfn(3)),
        transfer(1, [stealable(0), stealable(1), stealable(2)], to_open(0)),  # 2 full at the third
        accept(2, 0, 1, free_gfn(4)),
        accept(2, 1, 1, free_gfn(5), ACC_PWT), accept(2, 2, 1, free_gfn(6), ACC_COMMITTED),
        accept(2, 3, 1, free_gfn(7), ACC_PA), accept(2, 4, 0, free_gfn(8)),
        accept(1, 0, 2, free_gfn(0)),
        transfer(2, [stealable(0)], to_open(0)),  # 2 gives one back: room again
        transfer(1, [X_ROOT], to_dom(2), 0), transfer(1, [X_GTAB], to_dom(2), 0),
        transfer(1, [X_MB0], to_dom(2), 0), transfer(1, [X_L1], to_dom(2), 0),
        transfer(1, [X_FREE], to_dom(2), 0), transfer(1, [X_PAST], to_dom(2), 0),
        mmu(1, 2, 5, 0), transfer(1, [X_OWN_DATA], to_dom(2), 0),  # mapped again
        transfer(1, [X_L1B], to_dom(2), 0),
        transfer(1, [X_ONES], to_dom(2), 0), transfer(1, [X_BEYOND], to_dom(2), 0),
        transfer(1, [X_OTHERS], to_dom(2), 0), transfer(1, [X_HIGH], to_dom(2), 0),
        transfer(1, [stealable(0)], to_dom("self"), 0), transfer(1, [stealable(0)], to_dom(7), 0),
        transfer(1, [stealable(0)], to_dom("io"), 0),
        transfer(1, [stealable(0), stealable(1), stealable(2)], to_dom(2), 1),  # refs 1-3
        transfer(1, [stealable(0)], to_dom(2), 4),  # for domain 0
        transfer(1, [stealable(0)], to_dom(2), 0xF0), transfer(1, [stealable(0)], to_dom(2), 0xF1),
        transfer(1, [stealable(0)], to_dom(2), 0xF2), transfer(1, [stealable(0)], to_dom(2), 0xF3),
        transfer(1, [stealable(0)], to_open(0)),
        transfer(2, [X_HIGH], to_open(0)),  # 32-bit: the high bits are not in its field
    ],
    # The receiver destroyed while one of the frames it received is mapped by another
    # domain; transfers into the dying and the gone domain.
    "transfer-destroy": [
        accept(1, 0, 2, free_gfn(0)),
        mmu(2, 2, 0),
        transfer(2, [stealable(0)], to_open(0)),  # 2's data frame 0 is 1's
        grant(1, 1, PA, 0, 0xB0),  # 1 grants it (the next domain's data frame 0) to 0
        map_dev(0, 1, 1),
        accept(1, 2, 2, free_gfn(1)),
        destroy(1),
        transfer(2, [stealable(0)], to_dom(1), 2),  # dying: bad_domain
        unmap(0, 0), destroy_again(),
        transfer(2, [stealable(0)], to_dom(1), 2),  # gone
        accept(2, 0, 0, free_gfn(2)),
        transfer(0, [stealable(0)], to_open(0)),
        destroy(2),
    ],
    # A domain gives frames to itself (the P2M entry moves), and gives away its second L1
    # once unpinned, which it can then neither write, pin nor scrub.
    "transfer-self": [
        accept(1, 0, "self", free_gfn(0)), accept(1, 1, "self", used_gfn(3)),
        transfer(1, [stealable(0)], to_open(0)),
        transfer(1, [stealable(0)], to_open(0)),
        pin(1, False, 0, 1),
        accept(2, 0, 1, free_gfn(1)),
        transfer(1, [X_L1B], to_open(0)),
        mmu(1, 3, 0, 0, l1b=True), pin(1, False, 0, 0), pin(1, False, 0, 2),
        accept(2, 1, 1, free_gfn(2), what=2), accept(2, 1, 1, free_gfn(3), what=3),
        accept(2, 1, None, free_gfn(3)),
        transfer(1, [stealable(0)], to_dom(2), 1),
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
