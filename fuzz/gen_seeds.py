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


# ---- fuzz_hypercall's format: 16-byte headers, then payloads (see fuzz/fuzz_hypercall.c) ----
HC_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "hypercall")
HC_MBOX_SIZE = 8 * 4096
# pool indexes: 0-3 the base tree (3: the mailbox L1), 4-11 the mailbox pages, 12-15 the
# 64-bit top-page chain, 16-63 free for the seeds
HC_MMU, HC_EXT, HC_UVM, HC_UVM_OTHER, HC_VMASST, HC_XENVER, HC_UNHANDLED = 0, 1, 2, 3, 4, 5, 7
# pointer modes: mailbox + offset, mailbox end - o, raw w0, top of the space, hypervisor, unmapped
P_MBOX, P_END, P_RAW, P_TOP, P_HYP, P_UNMAPPED = 0, 3, 4, 5, 6, 7
# pdone modes
PD_NULL, PD_MBOX, PD_RAW, PD_BAD = 0, 1, 2, 3


def hc_hdr(d, kind, fields, vcpu=0, preempt=0):
    h = bytearray(16)
    h[0] = d | (vcpu << 2) | (preempt << 3)
    h[1] = kind
    for i, b in fields.items():
        h[i] = b & 0xFF
    return bytes(h)


def hc_put_mmu(d, off, reqs):
    """reqs: (table, slot, cmd, target, flag index); selectors as own()."""
    body = b"".join(bytes([t, s & 0xFF, (s >> 8) | (c << 5), tg, fl, 0]) for t, s, c, tg, fl in reqs)
    return hc_hdr(d, 0, {2: off, 3: off >> 8, 4: len(reqs) - 1}) + body


def hc_put_ext(d, off, ops):
    """ops: (cmd, a1, a1x, a2, a2x, mode) as fuzz_mmu's mmuext encoding."""
    body = b"".join(bytes(o) for o in ops)
    return hc_hdr(d, 1, {2: off, 3: off >> 8, 4: len(ops) - 1}) + body


def hc_put_raw(d, off, data):
    return hc_hdr(d, 2, {2: off, 3: off >> 8, 4: len(data) - 1}) + bytes(data)


def hc_direct(d, frame, slot, target, fl):
    return hc_hdr(d, 4, {2: frame, 3: slot & 0xFF, 4: slot >> 8, 5: target, 6: fl, 7: 0})


def hc_call(d, which, ptr=P_MBOX, off=0, count=0, pdone=PD_NULL, pd_off=0x10, fsel=0,
            raw_count=False, preempted=False, h7=0, h8=0, h9=0, h12=0, h13=0, h14=0, h15=0,
            w0=0, w1=0, vcpu=0, preempt=0):
    f = {2: which, 3: ptr, 4: off, 5: off >> 8, 6: count, 7: h7, 8: h8, 9: h9,
         10: (1 if raw_count else 0) | (pdone << 1) | (0x80 if preempted else 0),
         11: fsel << 1, 12: h12, 13: h13, 14: h14, 15: h15}
    if pdone == PD_MBOX and which in (HC_MMU, HC_EXT):
        f[12], f[13] = pd_off & 0xFF, pd_off >> 8
    return hc_hdr(d, 3, f, vcpu, preempt) + w0.to_bytes(8, "little") + w1.to_bytes(8, "little")


def hc_raw(d, nr, w0, w1, nr_high=None, preempt=0):
    f = {2: nr, 3: 0x80 if nr_high is not None else 0, 4: nr_high or 0}
    return hc_hdr(d, 5, f, 0, preempt) + w0.to_bytes(8, "little") + w1.to_bytes(8, "little")


def hc_remap_batch(d, n=40, off=0x1000 - 80, first=16):
    """n requests remapping mailbox-L1 slots 64.. to pool frames first.. (RW and RO in turn)."""
    reqs = [(own(3), 64 + k, 0, own(first + k), P_RW_US if k % 2 == 0 else P_US) for k in range(n)]
    return hc_put_mmu(d, off, reqs)


HC_SEEDS = {
    "mmu-batch-64": [hc_remap_batch(1), hc_call(1, HC_MMU, off=0x1000 - 80, count=40, pdone=PD_MBOX)],
    "mmu-batch-pae": [hc_remap_batch(2), hc_call(2, HC_MMU, off=0x1000 - 80, count=40, pdone=PD_MBOX,
                                                 h9=0x40, w0=0xDEAD00000000, w1=0xBEEF00000000)],
    "mmu-batch-fails-late": [hc_put_mmu(1, 0x2000, [(own(3), 70 + k, 0, own(16 + k), P_RW_US)
                                                    for k in range(36)] +
                                        [(own(3), 110, 0, 0x80, P)]),  # domain 2's frame: EBUSY
                             hc_call(1, HC_MMU, off=0x2000, count=37, pdone=PD_MBOX, preempt=2)],
    "mmu-batch-dom0-foreign": [hc_put_mmu(0, 0x3000, [(own(3), 20, 0, 0x82, P_US),
                                                      (own(3), 21, 0, 0x86, P_US)]),
                               hc_call(0, HC_MMU, off=0x3000, count=2, pdone=PD_MBOX, fsel=4)],
    "mmuext-64": [hc_put_ext(1, 0x1000 - 36, [(PIN1, own(20), 0, 0, 0, 0), (SET_LDT, 0x08, 0, 16, 0, 1),
                                              (8, 0, 0, 0x20, 0, 5), (INVLPG_LOCAL, 0x01, 0, 0, 0, 1),
                                              (UNPIN, own(20), 0, 0, 0, 0), (UNPIN, own(20), 0, 0, 0, 0)]),
                  hc_call(1, HC_EXT, off=0x1000 - 36, count=6, pdone=PD_MBOX)],
    "mmuext-pae": [hc_put_ext(2, 0x1000 - 18, [(PIN1, own(20), 0, 0, 0, 0), (SET_LDT, 0x08, 0, 16, 0, 1),
                                               (8, 0, 0, 0x20, 0, 5), (INVLPG_LOCAL, 0x01, 0, 0, 0, 1),
                                               (UNPIN, own(20), 0, 0, 0, 0), (UNPIN, own(20), 0, 0, 0, 0)]),
                   hc_call(2, HC_EXT, off=0x1000 - 18, count=6, pdone=PD_MBOX)],
    "mmuext-newbase": [hc_put_ext(d, 0x200, [(PIN1, own(20), 0, 0, 0, 0), (NEWBASE, own(0), 0, 0, 0, 0),
                                             (NEWUSER, own(0), 0, 0, 0, 0)]) for d in (1, 2)] +
                      [hc_call(d, HC_EXT, off=0x200, count=3, pdone=PD_MBOX) for d in (1, 2)],
    "mmuext-preempted-pin": [hc_direct(1, 40, j, own(41 + j), P_RW) for j in range(4)] + [
        hc_direct(1, 41 + j, 5 * k, own(50 + k), P_RW) for j in range(4) for k in range(3)] + [
        hc_put_ext(1, 0x100, [(PIN2, own(40), 0, 0, 0, 0), (UNPIN, own(40), 0, 0, 0, 0)]),
        hc_call(1, HC_EXT, off=0x100, count=2, pdone=PD_MBOX, pd_off=0x80)],
    "uvm-pae-nx": [hc_call(2, HC_UVM, h7=3, h12=own(20), h13=15, h14=0, h15=2),
                   hc_call(2, HC_UVM, h7=3, h12=own(21), h13=1, h15=8 | 1, h8=0x20)],
    "uvm-64": [hc_call(1, HC_UVM, h7=3, h12=own(20), h13=7, h15=4 | 2),
               hc_call(0, HC_UVM_OTHER, h7=5, h9=1, h12=0x82, h13=3, h15=0),
               hc_call(2, HC_UVM_OTHER, h7=5, h9=1, h12=0x82, h13=3, h15=0)],
    "xen-version": [hc_call(d, HC_XENVER, off=0x2000, h12=cmd) for d in (0, 1, 2) for cmd in range(12)] +
                   [hc_call(1, HC_XENVER, ptr=P_UNMAPPED, h12=3), hc_call(2, HC_XENVER, ptr=P_END, off=4, h12=1),
                    hc_call(1, HC_XENVER, h12=0x80)],
    "vm-assist": [hc_call(d, HC_VMASST, h12=c, h13=t) for d in (1, 2) for c in (0, 1, 2) for t in (0, 2, 3, 5, 11)],
    "wrap-top-64": [hc_put_mmu(1, 0x100, [(own(2), 0, 0, own(3), P_RW_US)]),  # map va 0 too
                    hc_call(1, HC_MMU, off=0x100, count=1),
                    # a request at va 0 that a continuation wrapping to 0 would wrongly run
                    hc_put_mmu(1, 0, [(own(3), 82, 0, own(32), P_US)]),
                    hc_put_mmu(1, HC_MBOX_SIZE + 4096 - 32, [(own(3), 80, 0, own(30), P_US),
                                                             (own(3), 81, 0, own(31), P_US)]),
                    hc_call(1, HC_MMU, ptr=P_TOP, off=31, count=3, pdone=PD_MBOX),
                    hc_call(1, HC_MMU, ptr=P_TOP, off=31, count=3, pdone=PD_MBOX, preempt=0)],
    "bad-pointers": [hc_remap_batch(1, 8, HC_MBOX_SIZE - 64)] +
                    [hc_call(d, w, ptr=p, off=o, count=5, pdone=pd)
                     for d in (1, 2) for w in (HC_MMU, HC_EXT)
                     for p, o in ((P_END, 32), (P_END, 40), (P_HYP, 0), (P_UNMAPPED, 0), (P_TOP, 15))
                     for pd in (PD_MBOX, PD_BAD)],
    "forged-preempted": [hc_remap_batch(1, 3, 0x1000), hc_put_raw(1, 0x10, [7, 0, 0, 0]),
                         hc_call(1, HC_MMU, off=0x1000, count=3, pdone=PD_MBOX, preempted=True),
                         hc_call(1, HC_MMU, off=0x1000, count=0, pdone=PD_MBOX, preempted=True),
                         hc_call(1, HC_MMU, off=0x1000, count=3, pdone=PD_BAD, preempted=True)],
    "huge-count": [hc_put_mmu(1, 0x1000 + 640 * i, [(own(4), 0, 1, k, 0) for k in range(40)])
                   for i in range(45)] +
                  [hc_call(1, HC_MMU, off=0x1000, raw_count=True, w1=0xFFF, pdone=PD_MBOX, preempt=1)],
    "unhandled": [hc_raw(d, nr, 0x400000, 3) for d in (1, 2) for nr in (18, 29, 63, 64, 200)] +
                 [hc_raw(2, 17, 7, 0, nr_high=1), hc_raw(1, 17, 7, 0, nr_high=1)],
    "remap-own-array": [hc_put_mmu(1, 0x1000, [(own(3), 1, 0, own(20), P_RW_US),
                                               (own(3), 64, 0, own(21), P_US)]),
                        hc_call(1, HC_MMU, off=0x1000, count=2, pdone=PD_MBOX, preempt=0)],
}


def hypercall_main():
    os.makedirs(HC_OUT, exist_ok=True)
    for name, ops in HC_SEEDS.items():
        for budget in (0x40, 0x00):
            with open(os.path.join(HC_OUT, "seed-%s-b%02x" % (name, budget)), "wb") as f:
                f.write(bytes([budget]) + b"".join(ops))
    print("wrote %d seeds to %s" % (2 * len(HC_SEEDS), HC_OUT))


if __name__ == "__main__":
    hypercall_main()


# ---- fuzz_evtchn's format: 3 table-size bytes, then 8-byte records (see fuzz/fuzz_evtchn.c) --
# Only the FIFO seeds are generated here (seed-fifo-*); the 2-level ones in corpus/evtchn
# were written by hand.
EV_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "evtchn")
(EK_ALLOC, EK_BIND_INTER, EK_BIND_VIRQ, EK_BIND_IPI, EK_CLOSE, EK_SEND, EK_STATUS, EK_BIND_VCPU,
 EK_UNMASK, EK_RESET, EK_PIRQ, EK_OTHER, EK_EMBED_ALLOC, EK_RAISE, EK_GUEST_BIT, EK_GUEST_VI,
 EK_DESTROY, EK_DESTROY_STEP, EK_SEND2, EK_CLOSE2, EK_INIT, EK_EXPAND, EK_SET_PRIO, EK_WORD,
 EK_CB, EK_DRAIN) = range(26)
# framesel(): data frames 6, 7, 9..15, then the shared-info frame (index 9 of the list)
EF_SHARED = 9
# guest_word() operations
EW_MASK, EW_UNMASK, EW_CLRP, EW_UNLINK, EW_LINK, EW_WHOLE, EW_SETP, EW_BUSY = range(8)


def ev(d, kind, args=(), vcpu=0, place=0, preempt=0, once=0):
    b = bytes([kind | (once << 6), d | (vcpu << 2) | (place << 5) | (preempt << 7)]) + bytes(args)
    return (b + bytes(8))[:8]


def ev_init(d, vcpu, frame=0, off=0, place=0):
    """init_control: own data frame `frame` (framesel list index), offset off * 72."""
    return ev(d, EK_INIT, [vcpu, frame << 3, off, 0, 0, 0x5A], vcpu=vcpu & 7, place=place)


def ev_init_raw(d, vcpu, fsel, offb, offb2=0):
    return ev(d, EK_INIT, [vcpu, fsel, offb, offb2, 0, 0x33])


def ev_expand(d, frame=1):
    return ev(d, EK_EXPAND, [frame << 3])


def ev_ipi(d, vcpu):
    return ev(d, EK_BIND_IPI, [vcpu, 0])


def ev_send(d, port, vcpu=0):
    return ev(d, EK_SEND, [port, 0], vcpu=vcpu)


def ev_prio(d, port, prio):
    return ev(d, EK_SET_PRIO, [port, 0, prio])


def ev_drain(d, vcpu, limit=0, mask=0, fresh=0):
    return ev(d, EK_DRAIN, [limit, mask | (fresh << 1)], vcpu=vcpu)


def ev_word(d, port, op, x=0, y=0, z=0):
    return ev(d, EK_WORD, [port, 0, op, x, y, z])


def ev_cb(d, vcpu, field, op, x=0, y=0, z=0, w=0):
    return ev(d, EK_CB, [field, op, x, y, z, w], vcpu=vcpu)


def ev_unmask(d, port):
    return ev(d, EK_UNMASK, [port, 0])


def ev_reset(d, dom_idx=0, preempt=0, once=0):
    return ev(d, EK_RESET, [dom_idx, 0], preempt=preempt, once=once)


def ev_alloc(d, dom_idx, remote_idx):
    return ev(d, EK_ALLOC, [dom_idx, remote_idx, 0])


def ev_bind_inter(d, remote_idx, rport):
    return ev(d, EK_BIND_INTER, [remote_idx, rport, 0, 0, 0])


def fifo_guest(d, nvcpu=1):
    ops = [ev_init(d, v, 0, v) for v in range(nvcpu)]
    return ops + [ev_expand(d, 1)]


EV_SEEDS = {
    "fifo-basic": (bytes([60, 60, 60]),
                   [ev_ipi(1, 0) for _ in range(3)] + fifo_guest(1) +
                   [ev_send(1, p) for p in (1, 2, 3, 2)] + [ev_drain(1, 0)] +
                   [ev_send(1, p) for p in (3, 1)] + [ev_drain(1, 0), ev_drain(1, 0)]),
    "fifo-priorities": (bytes([40, 40, 40]),
                        [ev_ipi(1, v) for v in (0, 1, 1, 2, 3, 0)] + fifo_guest(1, 4) +
                        [ev_prio(1, 2, 0), ev_prio(1, 3, 15), ev_prio(1, 6, 3), ev_prio(1, 1, 16),
                         ev_prio(1, 4, 0xFF)] +
                        [ev_send(1, p) for p in range(1, 7)] + [ev_send(1, p) for p in range(6, 0, -1)] +
                        [ev_drain(1, v, limit=0x81) for v in range(4)] +
                        [ev_drain(1, v) for v in range(4)] + [ev_send(1, p) for p in range(1, 7)] +
                        [ev_drain(1, v, mask=1) for v in range(4)] + [ev_unmask(1, p) for p in range(1, 7)]),
    "fifo-switch-pending": (bytes([70, 70, 70]),
                            [ev_ipi(2, 0), ev_ipi(2, 1), ev_ipi(2, 0), ev_send(2, 1), ev_send(2, 3),
                             ev(2, EK_GUEST_BIT, [2, 0, 3]),  # mask port 2 in 2-level
                             ev_send(2, 2), ev_init(2, 0, 3, 1), ev_send(2, 2), ev_expand(2, 4),
                             ev_init(2, 1, 3, 2), ev_send(2, 2), ev_drain(2, 0), ev_drain(2, 1),
                             ev_unmask(2, 2), ev_drain(2, 1)]),
    "fifo-errors": (bytes([20, 20, 20]),
                    [ev_expand(1), ev_prio(1, 1, 3), ev_ipi(1, 0),
                     ev_init(1, 9), ev_init(1, 0xF0), ev_init_raw(1, 0, 4, 0), ev_init_raw(1, 0, 0x0C, 0),
                     ev_init_raw(1, 0, 5, 0), ev_init_raw(1, 0, 0x1D, 0), ev_init_raw(1, 0, 6, 0),
                     ev_init_raw(1, 0, 0x0E, 0), ev_init_raw(1, 0, 0x3E, 0)] +
                    [ev_init_raw(1, 0, 0, 0xC0 | k) for k in range(8)] +
                    [ev_init_raw(1, 0, 0, 0x41, 0x1F), ev_init(1, 0, 0, 0, place=1), ev_init(1, 0, 0, 1),
                     ev_init(1, 1, 2, 0, place=2), ev_init(1, 1, 2, 0, place=3),
                     ev(1, EK_EXPAND, [4]), ev(1, EK_EXPAND, [5]), ev(1, EK_EXPAND, [6]),
                     ev(1, EK_EXPAND, [0x36]), ev_expand(1, 1), ev_expand(1, 1),
                     ev_prio(1, 0xC0, 3), ev_prio(1, 0xC1, 3), ev_prio(1, 0xC7, 0), ev_prio(1, 1, 0xF1),
                     ev_prio(1, 1, 0xF0), ev_send(1, 1), ev_reset(1), ev_prio(1, 1, 3), ev_expand(1),
                     ev_init(1, 2, 5, 3), ev_ipi(1, 2), ev_expand(1, 5), ev_send(1, 1), ev_drain(1, 2)]),
    "fifo-hostile": (bytes([50, 50, 50]),
                     [ev_ipi(1, 0) for _ in range(6)] + fifo_guest(1) +
                     [ev_send(1, p) for p in range(1, 7)] +
                     [ev_word(1, 6, EW_UNLINK), ev_send(1, 6), ev_word(1, 3, EW_LINK, 40),
                      ev_word(1, 4, EW_MASK), ev_send(1, 4), ev_word(1, 5, EW_CLRP),
                      ev_word(1, 2, EW_BUSY, 1), ev_cb(1, 0, 8, 2, 0xFF, 0xFF, 0xFF, 0xFF),
                      ev_cb(1, 0, 0, 2, 0xAA, 0x55), ev_cb(1, 0, 17, 2, 1, 2, 3, 4),
                      ev_drain(1, 0, limit=0x83, fresh=1), ev_word(1, 1, EW_WHOLE, 7, 0, 0x20),
                      ev_send(1, 1), ev_word(1, 6, EW_UNLINK), ev_word(1, 4, EW_UNMASK),
                      ev_unmask(1, 4), ev_send(1, 6), ev_word(1, 2, EW_SETP), ev_unmask(1, 2),
                      ev_drain(1, 0, fresh=1), ev_cb(1, 0, 1, 1, 3), ev_send(1, 3), ev_send(1, 5),
                      ev_drain(1, 0), ev_drain(1, 0)]),
    "fifo-interdomain": (bytes([30, 30, 30]),
                         fifo_guest(0, 3) + fifo_guest(1, 2) +
                         [ev_alloc(1, 0, 1), ev_bind_inter(0, 2, 1), ev_send(1, 1), ev_send(0, 1),
                          ev_alloc(0, 0, 3), ev_bind_inter(2, 1, 2), ev_send(2, 1), ev_send(0, 2),
                          ev(1, EK_BIND_VCPU, [1, 0, 1]), ev_send(0, 1), ev_drain(1, 0), ev_drain(1, 1),
                          ev_drain(0, 0), ev(2, EK_GUEST_BIT, [1, 0, 2]), ev_init(2, 0, 0, 0),
                          ev_expand(2, 0), ev_send(0, 2), ev_drain(2, 0),
                          ev(1, EK_DESTROY, [0]), ev_send(0, 1), ev_reset(0), ev_ipi(0, 1),
                          ev_send(0, 1), ev(2, EK_DESTROY_STEP, [0])]),
    "fifo-shared-alias": (bytes([60, 60, 60]),
                          [ev_ipi(2, 0), ev_ipi(2, 1)] +
                          [ev_init(2, 0, EF_SHARED, 7), ev_init(2, 1, 0, 0), ev_expand(2, 0),
                           ev_expand(2, 0), ev_send(2, 1), ev_send(2, 2), ev_drain(2, 1), ev_drain(2, 0),
                           ev_init(1, 0, 1, 0), ev_expand(1, 1), ev_ipi(1, 0), ev_send(1, 1),
                           ev_drain(1, 0), ev_reset(2), ev_ipi(2, 0), ev_send(2, 1),
                           ev(2, EK_GUEST_VI, [0, 0])]),
    "fifo-many-ports": (bytes([0xFE, 0xFE, 0xFE]),
                        fifo_guest(1, 2) + [ev_expand(1, 2), ev_expand(1, 1), ev_expand(1, 3),
                                            ev_expand(1, 4)] +
                        [ev_ipi(1, v % 2) for v in range(8)] +
                        [ev_prio(1, 0xC0, 1), ev_prio(1, 0xC1, 2), ev_prio(1, 0xC3, 5),
                         ev(1, EK_WORD, [0xC3, 0x0F, EW_SETP]), ev(1, EK_WORD, [0xFF, 0xFF, EW_MASK])] +
                        [ev_send(1, p) for p in range(1, 9)] + [ev_drain(1, 0), ev_drain(1, 1)] +
                        [ev_embed for ev_embed in [ev(1, EK_EMBED_ALLOC, [1])] * 4] +
                        [ev_reset(1, preempt=1), ev_ipi(1, 0), ev_send(1, 1)]),
    "fifo-reset-preempt": (bytes([0xFE, 79, 79]),
                           fifo_guest(0) + [ev_ipi(0, 0) for _ in range(90)] + [ev_send(0, 5)] +
                           [ev_reset(0, preempt=1, once=1), ev_send(0, 90), ev_reset(0, preempt=1),
                            ev_init(0, 0, 0, 0), ev_expand(0, 1), ev_ipi(0, 0), ev_send(0, 1),
                            ev_drain(0, 0), ev(0, EK_DESTROY_STEP, [0]), ev(0, EK_DESTROY, [0, 0x80])]),
    "fifo-moved": (bytes([40, 40, 40]),
                   fifo_guest(1, 3) +
                   [ev_alloc(1, 0, 0), ev_bind_inter(1, 0, 1), ev_drain(1, 0), ev_send(1, 2),
                    ev(1, EK_BIND_VCPU, [1, 0, 2]), ev_send(1, 2), ev_drain(1, 2, fresh=1),
                    ev_drain(1, 0, limit=0x80), ev_send(1, 2), ev_prio(1, 1, 2), ev_send(1, 2),
                    ev_drain(1, 2), ev_send(1, 2), ev_drain(1, 0), ev_drain(1, 2),
                    ev(1, EK_RAISE, [0]), ev(1, EK_BIND_VIRQ, [0, 1]), ev(1, EK_RAISE, [0], vcpu=1),
                    ev_drain(1, 1)]),
    # 128 event-array pages (one frame 100 times, others too): the 129th is -ENOSPC.
    "fifo-full-array": (bytes([10, 0xFE, 10]),
                        fifo_guest(1, 2) + [ev_expand(1, 2)] * 100 + [ev_expand(1, k) for k in range(3, 9)] +
                        [ev_expand(1, 1)] * 24 + [ev_ipi(1, 1), ev_send(1, 1), ev_drain(1, 1)] +
                        [ev(1, EK_WORD, [0xFF, 0xFF, EW_SETP]), ev_prio(1, 0xC3, 2), ev_unmask(1, 0xC3),
                         ev_reset(1), ev_init(1, 0, 2, 0), ev_expand(1, 2)]),
    # Closed and bound again: the default priority at the bind, whatever it had before.
    "fifo-priority-close-rebind": (bytes([40, 40, 40]),
                                   fifo_guest(1, 1) +
                                   [ev_ipi(1, 0), ev_prio(1, 1, 3), ev(1, EK_CLOSE, [1, 0]), ev_ipi(1, 0),
                                    ev_send(1, 1), ev_drain(1, 0)]),
}

# Reproducers of disagreements the FIFO model found between the library and Xen's rules
# (a port's priority across a failed bind, a close and a new bind), fixed in lib/evtchn.c:
# replayed with the seeds, as seed-fifo-<name>.
EV_BUGS = {
    # set_priority on a free port, then a bind: Xen's bind (evtchn_port_init) gives the
    # default priority 7 (the library once kept 4).
    "priority-free-then-bind": (bytes([40, 40, 40]),
                                fifo_guest(1, 1) + [ev_prio(1, 2, 4), ev_ipi(1, 0), ev_ipi(1, 0),
                                                    ev_send(1, 2), ev_drain(1, 0)]),
    # A bind that fails (bind_interdomain to a port that is not unbound for us: -EINVAL)
    # changes nothing in Xen: port 1 keeps priority 3, and after the guest sets PENDING on
    # its word EVTCHNOP_unmask links it on queue 3 (a fix that gave the default priority
    # before the bind could still fail linked it on 7).
    "priority-failed-bind": (bytes([40, 40, 40]),
                             fifo_guest(1, 1) + [ev_prio(1, 1, 3), ev_bind_inter(1, 1, 0),
                                                 ev_word(1, 1, EW_SETP), ev_unmask(1, 1), ev_drain(1, 0)]),
    # A closed port keeps its priority in Xen until it is bound again: the guest sets PENDING
    # on the free port's word and EVTCHNOP_unmask links it on queue 3 (the library once on 7).
    "priority-kept-after-close": (bytes([40, 40, 40]),
                                  fifo_guest(1, 1) + [ev_ipi(1, 0), ev_prio(1, 1, 3), ev(1, EK_CLOSE, [1, 0]),
                                                      ev_word(1, 1, EW_SETP), ev_unmask(1, 1),
                                                      ev_drain(1, 0)]),
}


def evtchn_main():
    os.makedirs(EV_OUT, exist_ok=True)
    for name, (hdr, ops) in EV_SEEDS.items():
        assert len(ops) <= 256, name
        with open(os.path.join(EV_OUT, "seed-%s" % name), "wb") as f:
            f.write(hdr + b"".join(ops))
    print("wrote %d seeds to %s" % (len(EV_SEEDS), EV_OUT))
    for name, (hdr, ops) in EV_BUGS.items():
        with open(os.path.join(EV_OUT, "seed-fifo-%s" % name), "wb") as f:
            f.write(hdr + b"".join(ops))
    print("wrote %d reproducers to %s" % (len(EV_BUGS), EV_OUT))


if __name__ == "__main__":
    evtchn_main()
