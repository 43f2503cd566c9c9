#!/usr/bin/env python3
"""Writes fuzz/corpus/mmu/seed-*: op sequences in fuzz_mmu's input format, one per
advisory scenario and per feature, so that the fuzzer starts from deep, meaningful states.

Usage: python3 fuzz/gen_seeds.py   (from the repository root)
"""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "mmu")

# flag selectors (index into flag_sets in fuzz_mmu.c)
P, P_RW, P_RW_US, P_US, P_AD, P_RW_US_AD, NONE, P_RW_NX, P_G, P_PCD_PWT, P_PAT, P_RW_PCD = range(12)
# mmuext commands
PIN1, PIN2, PIN3, PIN4, UNPIN, NEWBASE, FLUSH_LOCAL, INVLPG_LOCAL = 0, 1, 2, 3, 4, 5, 6, 7
INVLPG_MULTI, INVLPG_ALL, SET_LDT, NEWUSER, CLEAR, COPY, MARK_SUPER = 9, 11, 13, 15, 16, 17, 19


def rec(d, kind, args, flags=0, pre=0):
    b = bytes([d, flags, pre, kind]) + bytes(args)
    return (b + bytes(16))[:16]


def own(i):
    """Frame selector for the domain's own pool frame i."""
    return i & 0x3F


def io(n):
    """Frame selector for I/O frame FRAMES + n (FRAMES = 192 = 3 * 64)."""
    return (0xC0 | n, 3)


def write(d, frame, slot, target, fl):
    return rec(d, 6, [own(frame), slot & 0xFF, slot >> 8, target, fl, 0])


def mmu(d, table, slot, target, fl, cmd=0, extra=0, flags=0, pre=0):
    return rec(d, 0, [table, slot & 0xFF, (slot >> 8) | (cmd << 5), target, fl, extra], flags, pre)


def ext(d, cmd, a1=0, a2=0, mode=0, a1x=0, a2x=0, low=0, flags=0, pre=0):
    return rec(d, 3, [cmd, a1, a1x, a2, a2x, mode, low], flags, pre)


def uvm(d, l2slot, l1slot, target, fl, uvmf=0, noncanon=0):
    return rec(d, 5, [l2slot, l1slot, noncanon, target, fl, 0, uvmf])


def destroy(d):
    return rec(d, 7, [0xD5])


def tree64(d=1):
    """L4 (0) -> L3 (1) -> L2 (2) -> L1 (3) -> data 4..7 at va 0x400000, pinned, base."""
    ops = [write(d, 0, 0, own(1), P_RW_US), write(d, 1, 0, own(2), P_RW_US),
           write(d, 2, 2, own(3), P_RW_US)]
    ops += [write(d, 3, i, own(4 + i), P_RW_US) for i in range(4)]
    ops += [ext(d, PIN4, own(0)), ext(d, NEWBASE, own(0))]
    return ops


def tree32(d=2):
    """PAE: L3 (0) slots 0 -> L2 (1), 3 -> L2 (2); L2 (1) slot 2 -> L1 (3) -> data."""
    ops = [write(d, 0, 0, own(1), P), write(d, 0, 3, own(2), P), write(d, 1, 2, own(3), P_RW_US)]
    ops += [write(d, 3, i, own(4 + i), P_RW_US) for i in range(4)]
    ops += [ext(d, PIN3, own(0)), ext(d, NEWBASE, own(0))]
    return ops


SEEDS = {
    "tree64": tree64(),
    "tree32": tree32(),
    "both-and-dom0": tree64(0) + tree64(1) + tree32(),
    "xsa-182-rw-on-linear": tree64() + [mmu(1, own(0), 300, own(0), P_US),
                                        mmu(1, own(0), 300, own(0), P_RW_US)],
    "xsa-148-pse-flip": tree64() + [mmu(1, own(2), 2, own(3), P_PAT),
                                    mmu(1, own(2), 2, own(3), P_RW_US)],
    "xsa-185-pae-l3-self": tree32() + [mmu(2, own(0), 2, own(0), P_AD)],
    "xsa-240-linear-chain": tree64() + [ext(1, PIN2, own(10)), ext(1, PIN2, own(11)),
                                        ext(1, PIN2, own(12)), mmu(1, own(10), 0, own(11), P),
                                        mmu(1, own(11), 0, own(12), P),
                                        mmu(1, own(2), 9, own(10), P)],
    "xsa-286-new-hierarchy": tree64() + [uvm(1, 2, 3, own(20), P_RW),
                                         write(1, 21, 0, own(22), P_RW),
                                         mmu(1, own(2), 2, own(21), P_RW_US),
                                         uvm(1, 2, 4, own(20), P_RW)],
    "xsa-401-promote-after-writable": tree64() + [mmu(1, own(3), 8, own(30), P_RW),
                                                  mmu(1, own(3), 8, own(30), NONE),
                                                  ext(1, PIN1, own(30))],
    "xsa-401-foreign-writable": tree64(0) + tree64(1) + [
        mmu(0, own(3), 9, 0x80 | (1 << 0) | (30 << 2) & 0x3F, P_RW),  # domain 1's pool
        ext(1, PIN1, own(30))],
    "xsa-279-noncanonical": tree64() + [uvm(1, 0, 0, own(5), P, uvmf=2, noncanon=0x80),
                                        ext(1, INVLPG_LOCAL, 0x80, 0, mode=1, a1x=0x80),
                                        ext(1, INVLPG_ALL, 0x80, 0, mode=1, a1x=0x80)],
    "xsa-167-mark-super": tree64() + [ext(1, MARK_SUPER, 0xFF, 0xFF, mode=3, a1x=0xFF)],
    "xsa-058-pin-fails-late": tree64() + [write(1, 40, i, own(41 + i), P_RW) for i in range(4)] + [
        write(1, 45, 0, own(3), P_RW), write(1, 40, 4, own(45), P_RW),
        ext(1, PIN2, own(40), pre=1, flags=0x80)],
    "xsa-045-preempted-pin": [write(1, 10, i, own(11 + i), P_RW) for i in range(8)] + [
        write(1, 11 + i, j, own(30 + j), P_RW) for i in range(8) for j in range(3)] + [
        ext(1, PIN2, own(10), flags=0x80, pre=0), ext(1, PIN2, own(10)),
        ext(1, UNPIN, own(10), flags=0x80, pre=1), ext(1, FLUSH_LOCAL)],
    "io-mappings": tree64() + [mmu(1, own(3), 10, io(2)[0], P_RW, extra=io(2)[1]),
                               mmu(1, own(3), 11, io(3)[0], P_PAT, extra=io(3)[1]),
                               mmu(1, own(3), 12, io(12)[0], P_RW, extra=io(12)[1]),
                               ext(1, 12)],
    "foreign-map-then-destroy": tree64(0) + tree64(1) + [
        mmu(0, own(3), 9, 0x80 | (30 << 2) & 0x3F | 1, P_RW, flags=0b0001000 | 0b1000), destroy(1),
        mmu(0, own(3), 9, own(0), NONE)],
    "destroy-partial": [write(1, 10, i, own(11 + i), P_RW) for i in range(8)] + [
        ext(1, PIN2, own(10), flags=0x80, pre=0), destroy(1)],
    "machphys-and-misc": tree64() + [mmu(1, own(9), 0, 7, 0, cmd=1), ext(1, CLEAR, own(20)),
                                     ext(1, COPY, own(21), own(20)),
                                     ext(1, SET_LDT, 0x05, 16, mode=1),
                                     ext(1, NEWUSER, own(0)), ext(1, NEWUSER, 0, mode=2)],
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, ops in SEEDS.items():
        for budget in (0x40, 0x00):  # a roomy budget, and the tightest one
            path = os.path.join(OUT, "seed-%s-b%02x" % (name, budget))
            with open(path, "wb") as f:
                f.write(bytes([budget]) + b"".join(ops))
    print("wrote %d seeds to %s" % (2 * len(SEEDS), OUT))


if __name__ == "__main__":
    main()


# ---- fuzz_model's format: 12-byte operations (see fuzz/fuzz_model.c) -----------------------
MODEL_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "model")
MCMD = {"pin1": 0, "pin2": 1, "pin3": 2, "pin4": 3, "unpin": 4, "newbase": 5, "newuser": 6,
        "flush_local": 7, "invlpg_local": 8, "flush_multi": 9, "invlpg_multi": 10,
        "flush_all": 11, "invlpg_all": 12, "flush_cache": 13, "set_ldt": 14, "clear": 15,
        "copy": 16, "mark_super": 18}


def mrec(d, kind, args, fsel=0, preempt=False, vcpu=0):
    b = bytes([d | (vcpu << 7), kind | (fsel << 4) | (0x80 if preempt else 0)]) + bytes(args)
    return (b + bytes(12))[:12]


def m_write(d, frame, slot, target, fl):
    return mrec(d, 5, [frame, slot & 0xFF, slot >> 8, target, fl])


def m_mmu(d, table, slot, target, fl, cmd=0, fsel=0, pfd=0, preempt=False):
    return mrec(d, 0, [table, slot & 0xFF, (slot >> 8) | (cmd << 5), target, fl, pfd], fsel, preempt)


def m_ext(d, cmd, a1=0, a2=0, mode=0, raw=0, fsel=0, preempt=False):
    return mrec(d, 2, [MCMD[cmd], a1, a2, mode, raw], fsel, preempt)


def m_uvm(d, l2, l1, target, fl, flags=0, mode=0, bitmap=0):
    return mrec(d, 4, [l2, l1, target, fl, flags, mode, bitmap])


def m_tree64(d=1):
    ops = [m_write(d, 0, 0, 1, 2), m_write(d, 1, 0, 2, 2), m_write(d, 2, 2, 3, 2)]
    ops += [m_write(d, 3, i, 4 + i, 2) for i in range(4)]
    return ops + [m_ext(d, "pin4", 0, preempt=True), m_ext(d, "newbase", 0)]


def m_tree32(d=2):
    ops = [m_write(d, 0, 0, 1, 0), m_write(d, 0, 3, 2, 0), m_write(d, 1, 2, 3, 2)]
    ops += [m_write(d, 3, i, 4 + i, 2) for i in range(4)]
    return ops + [m_ext(d, "pin3", 0, preempt=True), m_ext(d, "newbase", 0)]


MODEL_SEEDS = {
    "tree64": m_tree64(),
    "tree32": m_tree32(),
    "all": m_tree64(0) + m_tree64(1) + m_tree32(),
    "linear": m_tree64() + [m_mmu(1, 0, 300, 0, 3), m_mmu(1, 0, 300, 0, 2),
                            m_ext(1, "pin2", 10), m_ext(1, "pin2", 11),
                            m_mmu(1, 2, 9, 10, 0), m_mmu(1, 10, 0, 11, 0)],
    "remap-and-unpin": m_tree64() + [m_mmu(1, 3, i, 12 + i, 2) for i in range(6)] + [
        m_ext(1, "unpin", 0, preempt=True), m_ext(1, "newbase", 1), m_ext(1, "flush_local")],
    "uvm": m_tree64() + [m_uvm(1, 2, 1, 20, 1, flags=2), m_uvm(1, 2, 5, 21, 3, flags=1),
                         m_mmu(1, 2, 2, 22, 2), m_uvm(1, 2, 5, 21, 3, flags=0x31, bitmap=0)],
    "pae-rules": m_tree32() + [m_mmu(2, 0, 2, 0, 0), m_mmu(2, 0, 3, 2, 0), m_mmu(2, 2, 430, 0, 6),
                               m_mmu(2, 0, 1, 9, 7)],
    "foreign": m_tree64(0) + m_tree64(1) + [m_mmu(0, 3, 9, 0x80 | (20 << 2) | 1, 1, fsel=4),
                                            m_ext(1, "pin1", 20), m_mmu(0, 3, 9, 0, 6)],
    "pin-fails-late": [m_write(1, 10, i, 11 + i, 1) for i in range(4)] + [
        m_write(1, 15, 0, 16, 1), m_ext(1, "pin1", 16), m_write(1, 10, 4, 15, 1),
        m_ext(1, "pin2", 10, preempt=True)],
    "io": m_tree64() + [m_mmu(1, 3, 10, 0xE0, 1), m_mmu(1, 3, 11, 0xE1, 10), m_ext(1, "flush_cache")],
    "misc": m_tree64() + [m_ext(1, "clear", 20), m_ext(1, "copy", 21, 20), m_ext(1, "set_ldt", 5, 16, mode=1),
                          m_ext(1, "newuser", 0), m_ext(1, "newuser", 0, mode=2), m_ext(1, "mark_super", 3),
                          m_mmu(1, 9, 0, 7, 0, cmd=1)],
}


def model_main():
    os.makedirs(MODEL_OUT, exist_ok=True)
    for name, ops in MODEL_SEEDS.items():
        for budget in (0xFF, 0x00):
            with open(os.path.join(MODEL_OUT, "seed-%s-b%02x" % (name, budget)), "wb") as f:
                f.write(bytes([budget]) + b"".join(ops))
    print("wrote %d seeds to %s" % (2 * len(MODEL_SEEDS), MODEL_OUT))


if __name__ == "__main__":
    model_main()
