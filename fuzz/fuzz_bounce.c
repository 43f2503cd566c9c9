/*
 * Fuzz target: the exception bounce (lib/bounce.c) and the trap side around it
 * (lib/traps.c: dispatch, set_trap_table, callbacks, stack_switch, iret; multicall with
 * an iret in it), for a 64-bit and a 32-bit PAE guest of one host-backend machine.
 *
 * Each guest has real, validated page tables: eight "stack" pages at VA 0x400000 whose
 * mapping the input chooses (read-write, read-only or absent, changeable later through
 * mmu_update), an argument page (always read-write), a code page (read-only: `ud2` and
 * `int $n`), and pages at the edges of its address space (64-bit: the last page below
 * 2^47, the first page above the hypervisor's range, the last page of the address space,
 * page 0; 32-bit: the last page below the hypervisor's range and page 0). The input is a
 * list of operations on either guest: register handlers and callbacks (through
 * pvcore_cpu_hypercall, so the decoders are fuzzed too), stack_switch, fpu_taskswitch,
 * set_iopl, vm_assist, the event mask, remapping a page, NEW_USER_BASEPTR, iret (alone or
 * first in a multicall), and the deliveries: pvcore_cpu_trap (any vector and error code,
 * the emulator's `int $n` and `ud2`), pvcore_cpu_event_callback, pvcore_cpu_failsafe and
 * pvcore_cpu_syscall, each with registers chosen field by field.
 *
 * Oracle (abort on any violation), beyond ASan/UBSan:
 *  - the copy_to_guest hook is wrapped: every write the library makes must lie in pages
 *    the fuzzer mapped writable, and a write the walk refused must change nothing; all
 *    machine RAM is compared before and after each operation, and every changed byte must
 *    be covered by an accepted write or be the vcpu_info bytes the operation may change
 *    (the event mask, cr2);
 *  - a reference model (below) written from the frame rules of <pvcore/cpu.h> and Xen's
 *    create_bounce_frame / compat_create_bounce_frame / do_iret / compat_iret, which calls
 *    nothing in lib/, predicts each result: on PVCORE_CPU_RESUME the registers (rip is the
 *    registered handler, cs/ss the kernel's flat selectors, or for a 32-bit guest the
 *    handler's cs with RPL >= 1, rsp the frame), the frame's address and every byte of
 *    it, and the event mask and cr2 in vcpu_info; on PVCORE_CPU_CRASH no guest memory
 *    changed (but cr2 for a #PF, which Xen also writes before it builds the frame);
 *  - iret, whatever the model says: a 64-bit guest gets cs and ss with RPL 3, IF set,
 *    IOPL and VM clear; a 32-bit guest never ring 0;
 *  - pvcore_check_invariants() after every operation; after both domains are destroyed,
 *    every frame is free.
 *
 * Input: byte 0 and 1: the 64-bit guest's stack-page modes (2 bits each), byte 2 its edge
 * pages; bytes 3-5 the same for the 32-bit guest; then operations: one byte (bit 0: which
 * guest; the rest: the operation) and its operands, read as needed (missing bytes are 0).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/pvcore.h>
#include <pvcore/cpu.h>
#include <pvcore/hypercall.h>
#include <pvcore/host_backend.h>
#include <pvcore/abi/physdev.h>

#include "internal/machine.h"

#define FRAMES 128u
#define PG 4096u
#define VA 0x400000ull
#define NSTACK 8u
#define ARG_VA (VA + 8u * PG)
#define CODE_VA (VA + 9u * PG)
#define MAX_PAGES 16u
#define MAX_OPS 40u

#define EF_TF 0x100u
#define EF_IF 0x200u
#define EF_IOPL 0x3000u
#define EF_NT 0x4000u
#define EF_RF 0x10000u
#define EF_VM 0x20000u
#define EF_AC 0x40000u

#define P_P 0x1ull
#define P_RW 0x2ull
#define P_US 0x4ull

/* Vectors whose exception pushes an error code (Intel SDM vol. 3, table 6-1; AMD #VC, #SX). */
#define HAS_EC ((1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) | (1u << 14) | \
                (1u << 17) | (1u << 21) | (1u << 29) | (1u << 30))

static void die(const char *what, unsigned long long a, unsigned long long b)
{
    fprintf(stderr, "fuzz_bounce: %s (0x%llx, 0x%llx)\n", what, a, b);
    abort();
}

/* ---- input ---------------------------------------------------------------------------- */

static const uint8_t *in_p;
static size_t in_n;

static uint8_t u8(void)
{
    if (in_n == 0) {
        return 0;
    }
    in_n--;
    return *in_p++;
}

static uint16_t u16(void)
{
    uint16_t v = u8();
    return (uint16_t)(v | (uint16_t)u8() << 8);
}

static uint32_t u32(void)
{
    uint32_t v = u16();
    return v | (uint32_t)u16() << 16;
}

static uint64_t u64(void)
{
    uint64_t v = u32();
    return v | (uint64_t)u32() << 32;
}

/* ---- the guests, as the fuzzer built them ------------------------------------------- */

struct page {
    uint64_t va;
    uint64_t mfn;
    uint64_t l1;   /* the L1 table mapping it, and the slot */
    unsigned slot;
    unsigned mode; /* 0 absent, 1 read-only, 2 read-write */
    bool fixed;    /* the argument and code pages keep their mode */
};

struct trap {
    uint64_t addr;
    uint16_t cs;
    uint8_t flags;
};

struct cb {
    uint64_t eip;
    uint16_t cs;
    bool mask;
};

enum { CBE, CBF, CBS, CBS32, CBSE, NCB };

struct guest {
    struct pvcore_domain *d;
    struct pvcore_vcpu *v;
    void *mem;
    bool is32;
    bool dead; /* the library said CRASH: the domain is only destroyed now */
    uint64_t root;
    uint64_t first_mfn, end_mfn; /* its frames, [first, end) */
    uint64_t shared; /* shared-info frame: vcpu 0's vcpu_info at offset 0 */
    struct page pg[MAX_PAGES];
    unsigned npg;
    /* the model of the vCPU's trap-side state */
    struct trap traps[256];
    struct cb cb[NCB];
    uint64_t kernel_sp;
    uint16_t kernel_ss;
    bool user_mode, has_user, fpu_ts, assist;
    uint32_t iopl;
};

static struct pvcore_host_backend *hb;
static struct pvcore_machine *mach;
static struct guest G[2];
static uint64_t next_mfn;
static uint8_t *ram;      /* machine RAM (contiguous in the host backend) */
static uint8_t *ram_before;
static void *scratch;
static size_t scratch_len;
static bool trace;

static uint8_t *fptr(uint64_t mfn)
{
    return (uint8_t *)pvcore_host_backend_frame(hb, pvcore_mfn(mfn));
}

static uint64_t *tbl(uint64_t mfn)
{
    return (uint64_t *)(void *)fptr(mfn);
}

static uint64_t new_frame(struct guest *g)
{
    uint64_t mfn = next_mfn++;

    if (mfn >= FRAMES) {
        die("out of frames", mfn, 0);
    }
    memset(fptr(mfn), 0, PG);
    if (pvcore_domain_assign(g->d, pvcore_mfn(mfn), pvcore_gfn(mfn)) != 0) {
        die("assign", mfn, 0);
    }
    return mfn;
}

static uint64_t pte_of(uint64_t mfn, unsigned mode)
{
    return mode == 0 ? 0 : (mfn << 12) | P_P | P_US | (mode >= 2 ? P_RW : 0);
}

static void add_page(struct guest *g, uint64_t va, uint64_t l1, unsigned slot, unsigned mode, bool fixed)
{
    struct page *p = &g->pg[g->npg++];

    p->va = va;
    p->mfn = new_frame(g);
    p->l1 = l1;
    p->slot = slot;
    p->mode = mode;
    p->fixed = fixed;
    tbl(l1)[slot] = pte_of(p->mfn, mode);
}

static unsigned mode_of(uint8_t bits)
{
    bits &= 3u;
    return bits == 3 ? 2u : bits;
}

/* A chain of fresh tables from `top` (level `lvl`) down to an L1 for `va`, 4-level. */
static uint64_t chain64(struct guest *g, uint64_t l4, uint64_t va)
{
    uint64_t l3 = new_frame(g), l2 = new_frame(g), l1 = new_frame(g);

    tbl(l4)[(va >> 39) & 511] = (l3 << 12) | P_P | P_RW | P_US;
    tbl(l3)[(va >> 30) & 511] = (l2 << 12) | P_P | P_RW | P_US;
    tbl(l2)[(va >> 21) & 511] = (l1 << 12) | P_P | P_RW | P_US;
    return l1;
}

static const uint64_t edges64[4] = { 0x00007FFFFFFFF000ull, 0xFFFF880000000000ull,
                                     0xFFFFFFFFFFFFF000ull, 0 };
static const uint64_t edges32[2] = { 0xF57FF000ull, 0 };

static void build64(struct guest *g, uint16_t stack_modes, uint8_t edge_modes)
{
    uint64_t l4 = new_frame(g), l3 = new_frame(g), l2 = new_frame(g), l1 = new_frame(g), l1z;
    unsigned i;

    tbl(l4)[0] = (l3 << 12) | P_P | P_RW | P_US;
    tbl(l3)[0] = (l2 << 12) | P_P | P_RW | P_US;
    tbl(l2)[2] = (l1 << 12) | P_P | P_RW | P_US;
    for (i = 0; i < NSTACK; i++) {
        add_page(g, VA + i * PG, l1, i, mode_of((uint8_t)(stack_modes >> (2 * i))), false);
    }
    add_page(g, ARG_VA, l1, 8, 2, true);
    add_page(g, CODE_VA, l1, 9, 1, true);
    for (i = 0; i < 3; i++) {
        uint64_t e = chain64(g, l4, edges64[i]);
        add_page(g, edges64[i], e, 511u & (unsigned)(edges64[i] >> 12),
                 mode_of((uint8_t)(edge_modes >> (2 * i))), false);
    }
    l1z = new_frame(g);
    tbl(l2)[0] = (l1z << 12) | P_P | P_RW | P_US;
    add_page(g, 0, l1z, 0, mode_of((uint8_t)(edge_modes >> 6)), false);
    g->root = l4;
}

static void build32(struct guest *g, uint16_t stack_modes, uint8_t edge_modes)
{
    uint64_t l3 = new_frame(g), l2 = new_frame(g), l2x = new_frame(g), l1 = new_frame(g);
    uint64_t l1e = new_frame(g), l1z = new_frame(g);
    unsigned i;

    tbl(l3)[0] = (l2 << 12) | P_P;
    tbl(l3)[3] = (l2x << 12) | P_P;
    tbl(l2)[2] = (l1 << 12) | P_P | P_RW | P_US;
    for (i = 0; i < NSTACK; i++) {
        add_page(g, VA + i * PG, l1, i, mode_of((uint8_t)(stack_modes >> (2 * i))), false);
    }
    add_page(g, ARG_VA, l1, 8, 2, true);
    add_page(g, CODE_VA, l1, 9, 1, true);
    /* 0xF57FF000: the last page below the hypervisor's part (L2 slot 427 of L3 slot 3) */
    tbl(l2x)[(0xF57FF000u - 0xC0000000u) >> 21] = (l1e << 12) | P_P | P_RW | P_US;
    add_page(g, edges32[0], l1e, 511, mode_of(edge_modes), false);
    tbl(l2)[0] = (l1z << 12) | P_P | P_RW | P_US;
    add_page(g, 0, l1z, 0, mode_of((uint8_t)(edge_modes >> 2)), false);
    g->root = l3;
}

static struct page *page_at(struct guest *g, uint64_t va)
{
    unsigned i;

    for (i = 0; i < g->npg; i++) {
        if (g->pg[i].va == (va & ~(uint64_t)(PG - 1))) {
            return &g->pg[i];
        }
    }
    return NULL;
}

/* Host pointer of guest byte `va` if mapped with at least `mode`, else NULL. */
static uint8_t *gbyte(struct guest *g, uint64_t va, unsigned mode)
{
    struct page *p;

    if (g->is32 && va > 0xFFFFFFFFu) {
        return NULL;
    }
    p = page_at(g, va);
    if (p == NULL || p->mode < mode || p->mode == 0) {
        return NULL;
    }
    return fptr(p->mfn) + (va & (PG - 1));
}

/* Is [va, va + len) mapped with `mode` (1 read, 2 write), without wrapping? */
static bool range_ok(struct guest *g, uint64_t va, uint64_t len, unsigned mode)
{
    uint64_t i;

    if (len == 0) {
        return true;
    }
    if (va + len - 1u < va) {
        return false;
    }
    for (i = 0; i < len; i++) {
        if (gbyte(g, va + i, mode) == NULL) {
            return false;
        }
    }
    return true;
}

static bool gread(struct guest *g, uint64_t va, void *dst, size_t len)
{
    size_t i;

    if (!range_ok(g, va, len, 1)) {
        return false;
    }
    for (i = 0; i < len; i++) {
        ((uint8_t *)dst)[i] = *gbyte(g, va + i, 1);
    }
    return true;
}

/* Host-side write (the guest's own stores before it makes a call): mapped bytes only. */
static void gput(struct guest *g, uint64_t va, const void *src, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        uint8_t *b = gbyte(g, va + i, 1);
        if (b != NULL) {
            *b = ((const uint8_t *)src)[i];
        }
    }
}

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < n; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint8_t *vinfo(struct guest *g)
{
    return fptr(g->shared);
}

/* ---- the copy hooks, wrapped ----------------------------------------------------------- */

struct wrec {
    uint64_t gva;
    size_t len;
};

static struct wrec writes[16];
static unsigned nwrites;
static const struct pvcore_host_ops *real_ops;
static struct pvcore_host_ops ops;

static struct guest *guest_of(struct pvcore_vcpu *v)
{
    return v == G[0].v ? &G[0] : v == G[1].v ? &G[1] : NULL;
}

static int w_copy_to(void *ctx, struct pvcore_vcpu *v, uint64_t gva, const void *src, size_t len)
{
    struct guest *g = guest_of(v);
    bool ok_model;
    int rc;

    if (g == NULL) {
        die("copy_to_guest for an unknown vCPU", gva, len);
    }
    ok_model = range_ok(g, gva, len, 2);
    rc = real_ops->copy_to_guest(ctx, v, gva, src, len);
    if (rc == 0 && !ok_model) {
        die("library wrote guest memory that is not mapped writable", gva, len);
    }
    if (rc != 0 && ok_model) {
        die("the walk refused a write to writable memory", gva, len);
    }
    if (rc == 0) {
        if (nwrites == sizeof(writes) / sizeof(writes[0])) {
            die("too many writes in one operation", gva, len);
        }
        writes[nwrites].gva = gva;
        writes[nwrites].len = len;
        nwrites++;
    }
    return rc;
}

static int w_copy_from(void *ctx, struct pvcore_vcpu *v, void *dst, uint64_t gva, size_t len)
{
    struct guest *g = guest_of(v);
    int rc = real_ops->copy_from_guest(ctx, v, dst, gva, len);

    if (g == NULL) {
        die("copy_from_guest for an unknown vCPU", gva, len);
    }
    if ((rc == 0) != range_ok(g, gva, len, 1)) {
        die("read disagrees with the mappings", gva, (unsigned long long)rc);
    }
    return rc;
}

/* ---- per-operation memory check --------------------------------------------------------- */

/* Bytes of the shared-info frame an operation may change (beyond accepted writes). */
static bool allow_mask, allow_cr2;
static struct guest *cur;

static bool covered(uint64_t mfn, uint64_t off)
{
    unsigned i;
    struct guest *g = cur;

    if (mfn == g->shared) {
        if (allow_mask && off == 1) {
            return true;
        }
        if (allow_cr2 && off >= (g->is32 ? 8u : 16u) && off < (g->is32 ? 12u : 24u)) {
            return true;
        }
    }
    for (i = 0; i < nwrites; i++) {
        uint64_t k;
        for (k = 0; k < writes[i].len; k++) {
            uint64_t va = writes[i].gva + k;
            struct page *p = page_at(g, va);
            if (p != NULL && p->mfn == mfn && (va & (PG - 1)) == off) {
                return true;
            }
        }
    }
    return false;
}

static void op_begin(struct guest *g)
{
    cur = g;
    nwrites = 0;
    allow_mask = false;
    allow_cr2 = false;
    memcpy(ram_before, ram, (size_t)FRAMES * PG);
}

static void op_end(void)
{
    size_t i;
    struct pvcore_check_report r;

    for (i = 0; i < (size_t)FRAMES * PG; i += PG) {
        size_t k;
        if (memcmp(ram + i, ram_before + i, PG) == 0) {
            continue;
        }
        for (k = i; k < i + PG; k++) {
            if (ram[k] != ram_before[k] && !covered(k / PG, k % PG)) {
                die("guest memory changed outside the library's accepted writes", k / PG, k % PG);
            }
        }
    }
    if (pvcore_check_invariants(mach, scratch, scratch_len, &r) != 0) {
        fprintf(stderr, "invariant %s at mfn %llu\n", pvcore_check_code_name(r.code),
                (unsigned long long)r.mfn);
        die("invariants", r.code, r.mfn);
    }
}

/* ---- operands -------------------------------------------------------------------------- */

static uint64_t pick_addr(struct guest *g)
{
    uint8_t s = u8();
    unsigned k = s >> 3;
    uint64_t a;

    switch (s & 7u) {
    case 0:
    case 1:
    case 2:
    case 3:
        a = VA + (k % 10u) * PG + u16() % (PG + 1u);
        break;
    case 4:
        a = (g->is32 ? edges32[k % 2u] : edges64[k % 4u]) + u16() % (PG + 1u);
        break;
    case 5:
        a = (g->is32 ? edges32[k % 2u] : edges64[k % 4u]) - u8();
        break;
    case 6:
        a = u64();
        break;
    default: {
        static const uint64_t e64[] = { 0xFFFF800000000000ull, 0xFFFF880000000000ull,
                                        0x0000800000000000ull, 0, 0xFFFFFFFFFFFFFFFFull,
                                        0xFFFF87FFFFFFFFFFull + 1u };
        static const uint64_t e32[] = { 0xF5800000u, 0, 0xFFFFFFFFu, 0xF5800000u };
        uint64_t base = g->is32 ? e32[k % 4u] : e64[k % 6u];
        a = (k & 16u) ? base - u8() : base + u8();
        break;
    }
    }
    return g->is32 ? (uint32_t)a : a;
}

static uint64_t pick_handler(struct guest *g)
{
    uint8_t s = u8();

    switch (s & 3u) {
    case 0:
        return (s & 4u) ? 0 : (g->is32 ? 0x100000u : 0xFFFF900000000000ull) + u16();
    case 1:
        return (g->is32 ? 0x100000u : 0xFFFF900000000000ull) + u16();
    case 2:
        return 0x0000800000000000ull + u16(); /* non-canonical */
    default:
        return u64();
    }
}

static uint16_t pick_sel(struct guest *g)
{
    static const uint16_t s64[] = { 0xe033, 0xe02b, 0xe023, 0x0000 };
    static const uint16_t s32[] = { 0xe019, 0xe021, 0xe02b, 0xe033 };
    uint8_t s = u8();

    if (s & 0x80u) {
        return u16();
    }
    return (uint16_t)(((g->is32 ? s32 : s64)[s & 3u] & ~3u) | ((s >> 2) & 3u));
}

static void pick_regs(struct guest *g, struct pvcore_cpu_regs *r)
{
    uint32_t seed = u32();
    uint64_t *gp[] = { &r->rax, &r->rbx, &r->rdx, &r->rsi, &r->rdi, &r->rbp, &r->r8, &r->r9,
                       &r->r10, &r->r12, &r->r13, &r->r14, &r->r15 };
    unsigned i;
    uint8_t f;

    memset(r, 0, sizeof(*r));
    for (i = 0; i < sizeof(gp) / sizeof(gp[0]); i++) {
        *gp[i] = (uint64_t)seed * (0x9E3779B97F4A7C15ull + i);
    }
    r->rcx = u64();
    r->r11 = u64();
    r->rsp = pick_addr(g);
    r->rip = pick_addr(g);
    f = u8();
    r->rflags = u32();
    if (f & 1u) {
        r->rflags |= (uint64_t)u32() << 32;
    }
    if (f & 2u) {
        r->rflags |= EF_IF; /* what the processor has for a PV guest */
        r->rflags &= ~(uint64_t)(EF_IOPL | EF_VM);
    }
    r->cs = pick_sel(g);
    r->ss = pick_sel(g);
    if (f & 4u) {
        r->ds = u16();
        r->es = u16();
        r->fs = u16();
        r->gs = u16();
    }
    if (g->is32 && !(f & 8u)) {
        /* mostly what a 32-bit guest can hold; sometimes upper halves the library must drop */
        for (i = 0; i < 6; i++) {
            *gp[i] = (uint32_t)*gp[i];
        }
        r->rcx = (uint32_t)r->rcx;
        r->rsp = (uint32_t)r->rsp;
        r->rip = (uint32_t)r->rip;
        r->rflags = (uint32_t)r->rflags;
    }
}

/* ---- the reference model ---------------------------------------------------------------- */

static bool canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static uint16_t fixup_sel(const struct guest *g, uint16_t s)
{
    unsigned rpl = g->is32 ? 1u : 3u;

    return (s & 3u) >= rpl ? s : (uint16_t)((s & ~3u) | rpl);
}

struct delivery {
    uint64_t eip;
    uint16_t cs;
    bool mask;     /* mask events on entry */
    bool ec;       /* push the error code */
    uint32_t error;
    bool failsafe; /* push ds, es, fs, gs */
};

struct expect {
    int rc;
    struct pvcore_cpu_regs r;
    uint64_t frame_va;
    uint8_t frame[11 * 8];
    size_t frame_len;
    bool user_after;
};

/* Xen's trimming of a 32-bit guest's registers on entry (and the library's contract). */
static void trim32(struct pvcore_cpu_regs *r)
{
    r->rax = (uint32_t)r->rax;
    r->rbx = (uint32_t)r->rbx;
    r->rcx = (uint32_t)r->rcx;
    r->rdx = (uint32_t)r->rdx;
    r->rsi = (uint32_t)r->rsi;
    r->rdi = (uint32_t)r->rdi;
    r->rbp = (uint32_t)r->rbp;
    r->rsp = (uint32_t)r->rsp;
    r->rip = (uint32_t)r->rip;
    r->rflags = (uint32_t)r->rflags;
}

/* The frame's flags word: the virtual IF in place of the real one, the virtual IOPL with the
 * architectural-IOPL assist, the rest as the guest had it (32 bits, zero-extended). */
static uint32_t frame_flags(const struct guest *g, uint64_t rflags, uint8_t saved)
{
    uint32_t f = (uint32_t)rflags & ~(EF_IF | EF_IOPL);

    if (saved == 0) {
        f |= EF_IF;
    }
    if (g->assist) {
        f |= g->iopl & EF_IOPL;
    }
    return f;
}

static void model_bounce(struct guest *g, const struct pvcore_cpu_regs *in, const struct delivery *b,
                         struct expect *x)
{
    struct pvcore_cpu_regs r = *in;
    uint8_t saved = vinfo(g)[1];
    uint8_t *f = x->frame;
    unsigned n = 0;

    x->rc = PVCORE_CPU_CRASH;
    x->user_after = g->user_mode;
    if (!g->is32) {
        uint64_t sp;
        uint16_t cs_slot = r.cs;
        size_t len = (b->failsafe ? 11u : b->ec ? 8u : 7u) * 8u;

        if (b->eip == 0) {
            return;
        }
        if (g->user_mode) {
            sp = g->kernel_sp;
        } else {
            sp = r.rsp;
            cs_slot = (uint16_t)(cs_slot & ~3u);
        }
        sp &= ~(uint64_t)15u;
        if (sp < len || !range_ok(g, sp - len, len, 2)) {
            return;
        }
        x->frame_va = sp - len;
        x->frame_len = len;
        put_le(f + 8 * n++, r.rcx, 8);
        put_le(f + 8 * n++, r.r11, 8);
        if (b->failsafe) {
            put_le(f + 8 * n++, r.ds, 8);
            put_le(f + 8 * n++, r.es, 8);
            put_le(f + 8 * n++, r.fs, 8);
            put_le(f + 8 * n++, r.gs, 8);
        } else if (b->ec) {
            put_le(f + 8 * n++, b->error, 8);
        }
        put_le(f + 8 * n++, r.rip, 8);
        put_le(f + 8 * n++, (uint64_t)cs_slot | (uint64_t)saved << 32, 8);
        put_le(f + 8 * n++, frame_flags(g, r.rflags, saved), 8);
        put_le(f + 8 * n++, r.rsp, 8);
        put_le(f + 8 * n++, r.ss, 8);
        r.rflags &= ~(uint64_t)(EF_AC | EF_VM | EF_RF | EF_NT | EF_TF);
        r.cs = 0xe033;
        r.ss = 0xe02b;
        r.rsp = x->frame_va;
        r.rip = b->eip;
        x->user_after = false;
    } else {
        /* ring 2 or 3 switch to the stack_switch stack (Xen tests CS bit 1) */
        bool outer = (r.cs & 2u) != 0;
        uint32_t sp = outer ? (uint32_t)g->kernel_sp : (uint32_t)r.rsp;
        uint16_t ss = outer ? g->kernel_ss : r.ss;
        size_t len = ((b->failsafe ? 7u : b->ec ? 4u : 3u) + (outer ? 2u : 0u)) * 4u;

        /* The handler's selector must be the guest's: not null, and in the reserved area
         * (entries from 7168, 0xe000 on) only the flat ring 1 and ring 3 code. */
        if ((b->cs & ~3u) == 0 ||
            ((b->cs & 4u) == 0 && (b->cs & ~3u) >= 0xe000u && (b->cs & ~3u) != 0xe018u &&
             (b->cs & ~3u) != 0xe028u)) {
            return;
        }
        if (sp < len || !range_ok(g, sp - len, len, 2)) {
            return;
        }
        x->frame_va = sp - len;
        x->frame_len = len;
        if (b->failsafe) {
            put_le(f + 4 * n++, r.ds, 4);
            put_le(f + 4 * n++, r.es, 4);
            put_le(f + 4 * n++, r.fs, 4);
            put_le(f + 4 * n++, r.gs, 4);
        } else if (b->ec) {
            put_le(f + 4 * n++, b->error, 4);
        }
        put_le(f + 4 * n++, r.rip, 4);
        put_le(f + 4 * n++, (uint32_t)r.cs | (uint32_t)saved << 16, 4);
        put_le(f + 4 * n++, frame_flags(g, r.rflags, saved), 4);
        if (outer) {
            put_le(f + 4 * n++, r.rsp, 4);
            put_le(f + 4 * n++, r.ss, 4);
        }
        r.rflags &= ~(uint64_t)(EF_VM | EF_RF | EF_NT | EF_TF);
        r.ss = ss;
        r.rsp = x->frame_va;
        r.cs = b->cs;
        r.rip = (uint32_t)b->eip;
    }
    x->rc = PVCORE_CPU_RESUME;
    x->r = r;
}

static bool kernel_mode(const struct guest *g, const struct pvcore_cpu_regs *r)
{
    return g->is32 ? (r->cs & 3u) == 1u : !g->user_mode;
}

/* An exception bounced to the trap table's entry (not a software interrupt). */
static struct delivery trap_delivery(struct guest *g, const struct pvcore_cpu_regs *r, unsigned vec,
                                     uint32_t error, bool soft)
{
    struct delivery b;

    memset(&b, 0, sizeof(b));
    b.eip = g->traps[vec].addr;
    b.cs = g->traps[vec].cs;
    b.mask = (g->traps[vec].flags & 4u) != 0;
    if (!soft && vec < 32 && (HAS_EC & (1u << vec))) {
        b.ec = true;
        b.error = error;
        if (vec == 14) {
            /* the user bit says which of the guest's own modes faulted */
            b.error = (error & ~4u) | (kernel_mode(g, r) ? 0u : 4u);
        }
    }
    return b;
}

/* ---- checking a delivery ---------------------------------------------------------------- */

static void check_regs(const struct guest *g, const struct pvcore_cpu_regs *got,
                       const struct pvcore_cpu_regs *want, uint64_t ignore_flags)
{
    if (got->rip != want->rip) {
        die("rip", got->rip, want->rip);
    }
    if (got->cs != want->cs || got->ss != want->ss) {
        die("cs/ss", (unsigned long long)got->cs << 16 | got->ss, (unsigned long long)want->cs << 16 | want->ss);
    }
    if (got->rsp != want->rsp) {
        die("rsp", got->rsp, want->rsp);
    }
    if ((got->rflags & ~ignore_flags) != (want->rflags & ~ignore_flags)) {
        die("rflags", got->rflags, want->rflags);
    }
    if (got->rax != want->rax || got->rbx != want->rbx || got->rcx != want->rcx ||
        got->rdx != want->rdx || got->rsi != want->rsi || got->rdi != want->rdi ||
        got->rbp != want->rbp || got->r11 != want->r11) {
        die("general registers changed", got->rcx, want->rcx);
    }
    if (!g->is32 && (got->r8 != want->r8 || got->r9 != want->r9 || got->r10 != want->r10 ||
                     got->r12 != want->r12 || got->r13 != want->r13 || got->r14 != want->r14 ||
                     got->r15 != want->r15)) {
        die("r8-r15 changed", got->r8, want->r8);
    }
    if (got->ds != want->ds || got->es != want->es || got->fs != want->fs || got->gs != want->gs) {
        die("data selectors changed", got->ds, want->ds);
    }
}

/* After a delivery the library reported as `rc` (the model said x). */
static void check_delivery(struct guest *g, int rc, const struct pvcore_cpu_regs *got,
                           const struct expect *x, uint8_t mask_before, bool mask_events,
                           uint64_t ignore_flags)
{
    uint8_t buf[11 * 8];

    if (rc != x->rc) {
        die("result differs from the model", (unsigned long long)rc, (unsigned long long)x->rc);
    }
    if (rc == PVCORE_CPU_CRASH) {
        if (nwrites != 0) {
            die("CRASH after writing guest memory", writes[0].gva, writes[0].len);
        }
        if (vinfo(g)[1] != mask_before) {
            die("CRASH changed the event mask", vinfo(g)[1], mask_before);
        }
        g->dead = true;
        return;
    }
    check_regs(g, got, &x->r, ignore_flags);
    if (!g->is32) {
        if (got->cs != 0xe033 || got->ss != 0xe02b) {
            die("64-bit handler entered without the kernel's flat selectors", got->cs, got->ss);
        }
    } else if ((got->cs & 3u) == 0) {
        die("32-bit handler entered in ring 0", got->cs, got->ss);
    }
    if (nwrites != 1 || writes[0].gva != x->frame_va || writes[0].len != x->frame_len) {
        die("frame not written exactly once where the model says", nwrites ? writes[0].gva : 0,
            x->frame_va);
    }
    if (got->rsp != x->frame_va) {
        die("rsp does not point at the frame", got->rsp, x->frame_va);
    }
    if (!gread(g, x->frame_va, buf, x->frame_len) || memcmp(buf, x->frame, x->frame_len) != 0) {
        size_t i;
        for (i = 0; i < x->frame_len; i++) {
            if (buf[i] != x->frame[i]) {
                die("frame differs from the model at byte", i, x->frame_len);
            }
        }
        die("frame unreadable", x->frame_va, x->frame_len);
    }
    if (vinfo(g)[1] != (mask_events ? 1u : mask_before)) {
        die("event mask after delivery", vinfo(g)[1], mask_events);
    }
    if (pvcore_vcpu_kernel_mode(g->v) != !x->user_after) {
        die("guest mode after delivery", (unsigned long long)pvcore_vcpu_kernel_mode(g->v), x->user_after);
    }
    g->user_mode = x->user_after;
}

/* ---- operations ------------------------------------------------------------------------- */

static struct pvcore_cpu_regs base_regs(struct guest *g)
{
    struct pvcore_cpu_regs r;

    memset(&r, 0, sizeof(r));
    r.cs = g->is32 ? 0xe019 : 0xe033;
    r.ss = g->is32 ? 0xe021 : 0xe02b;
    r.rsp = ARG_VA + 0xF00u;
    r.rip = CODE_VA + 0x100u;
    r.rflags = 0x202;
    return r;
}

/* A hypercall through the full-register entry; returns the library's result code and the
 * guest-visible return value in *ret. */
static int hcall(struct guest *g, struct pvcore_cpu_regs *r, uint64_t nr, uint64_t a0, uint64_t a1,
                 uint64_t a2, uint64_t a3, int64_t *ret)
{
    struct pvcore_hypercall_regs h;
    int rc;

    if (!g->is32 && g->user_mode) {
        die("fuzzer bug: a hypercall from guest user mode", nr, 0);
    }
    r->rax = nr;
    if (g->is32) {
        r->rbx = (uint32_t)a0;
        r->rcx = (uint32_t)a1;
        r->rdx = (uint32_t)a2;
        r->rsi = (uint32_t)a3;
    } else {
        r->rdi = a0;
        r->rsi = a1;
        r->rdx = a2;
        r->r10 = a3;
    }
    rc = pvcore_cpu_hypercall(g->v, r, &h);
    *ret = g->is32 ? (int64_t)(int32_t)(uint32_t)r->rax : (int64_t)r->rax;
    return rc;
}

/* (`ret` by pointer: it is read after the call in the argument list has run) */
static void expect_ret(int rc, const int64_t *ret, int64_t want, const char *what)
{
    if (rc != PVCORE_CPU_RESUME || *ret != want) {
        fprintf(stderr, "%s: rc %d\n", what, rc);
        die("hypercall result", (unsigned long long)*ret, (unsigned long long)want);
    }
}

static void op_set_trap_table(struct guest *g)
{
    uint8_t s = u8();
    unsigned n = s % 6u, i;
    size_t es = g->is32 ? 8u : 16u;
    uint64_t p = (s & 0x80u) ? 0 : (s & 0x40u) ? pick_addr(g) : ARG_VA + (u16() % PG);
    struct pvcore_cpu_regs r = base_regs(g);
    int64_t ret, want = 0;
    uint64_t q;
    int rc;

    for (i = 0; i < n; i++) {
        uint8_t e[16] = { 0 };
        uint64_t a = pick_handler(g);
        uint16_t cs = pick_sel(g);
        e[0] = (i == 0 && (s & 0x20u)) ? (uint8_t)(u8() % 34u) : u8();
        e[1] = u8();
        put_le(e + 2, cs, 2);
        if (g->is32) {
            put_le(e + 4, a, 4);
        } else {
            put_le(e + 8, a, 8);
        }
        gput(g, p + i * es, e, es);
    }
    if (!(s & 0x10u)) {
        uint8_t z[16] = { 0 };
        gput(g, p + n * es, z, es); /* the terminator */
    }
    /* the model: entries until address 0; 64-bit stops at a non-canonical one with -EINVAL,
     * an unreadable one with -EFAULT; the entries before stay */
    if (p == 0) {
        memset(g->traps, 0, sizeof(g->traps));
    } else {
        for (q = p;; q = g->is32 ? (uint32_t)(q + es) : q + es) {
            uint8_t e[16];
            uint64_t a;
            if (!gread(g, q, e, es)) {
                want = -PVCORE_EFAULT;
                break;
            }
            a = g->is32 ? le(e + 4, 4) : le(e + 8, 8);
            if (a == 0) {
                break;
            }
            if (!g->is32 && !canonical(a)) {
                want = -PVCORE_EINVAL;
                break;
            }
            g->traps[e[0]].addr = a;
            g->traps[e[0]].cs = fixup_sel(g, (uint16_t)le(e + 2, 2));
            g->traps[e[0]].flags = e[1];
        }
    }
    op_begin(g);
    rc = hcall(g, &r, PVCORE_HYPERVISOR_set_trap_table, p, 0, 0, 0, &ret);
    expect_ret(rc, &ret, want, "set_trap_table");
    op_end();
}

static void op_stack_switch(struct guest *g)
{
    struct pvcore_cpu_regs r = base_regs(g);
    uint16_t ss = pick_sel(g);
    uint64_t sp = pick_addr(g);
    int64_t ret;

    op_begin(g);
    expect_ret(hcall(g, &r, PVCORE_HYPERVISOR_stack_switch, ss, sp, 0, 0, &ret), &ret, 0, "stack_switch");
    op_end();
    g->kernel_ss = fixup_sel(g, ss);
    g->kernel_sp = g->is32 ? (uint32_t)sp : sp;
}

/* The registration rules (Xen's callback.c), as the model keeps them. */
static int64_t model_register(struct guest *g, unsigned type, unsigned flags, uint16_t cs, uint64_t eip)
{
    int slot;
    bool mask = (flags & 1u) != 0;

    if (!g->is32 && !canonical(eip)) {
        return -PVCORE_EINVAL; /* XSA-7 follow-up: whatever the type */
    }
    switch (type) {
    case 0:
        slot = CBE;
        mask = true;
        break;
    case 1:
        slot = CBF;
        break;
    case 2:
        if (g->is32) {
            return -PVCORE_ENOSYS;
        }
        slot = CBS;
        break;
    case 7:
        slot = CBS32;
        break;
    case 5:
        slot = CBSE;
        break;
    case 4:
        g->traps[2].addr = eip;
        g->traps[2].cs = g->is32 ? 0xe019 : 0xe033;
        g->traps[2].flags = 4;
        return 0;
    default:
        return -PVCORE_ENOSYS;
    }
    g->cb[slot].eip = eip;
    g->cb[slot].cs = g->is32 ? fixup_sel(g, cs) : 0xe033;
    g->cb[slot].mask = mask;
    return 0;
}

static void op_callback_op(struct guest *g)
{
    struct pvcore_cpu_regs r = base_regs(g);
    uint8_t s = u8();
    unsigned type = (s & 0x80u) ? u16() : (s >> 2) % 9u;
    unsigned flags = u8();
    uint16_t cs = pick_sel(g);
    uint64_t eip = pick_handler(g);
    uint8_t b[16] = { 0 };
    int64_t ret, want;

    put_le(b, type, 2);
    put_le(b + 2, flags, 2);
    if (s & 1u) {
        /* unregister */
        put_le(b, type, 2);
        put_le(b + 2, 0, 2);
        gput(g, ARG_VA, b, 4);
        want = type == 4 ? 0 : type <= 7 && type != 6 && type != 3 ? -PVCORE_EINVAL : -PVCORE_ENOSYS;
        if (type == 2 && g->is32) {
            want = -PVCORE_ENOSYS;
        }
        op_begin(g);
        expect_ret(hcall(g, &r, PVCORE_HYPERVISOR_callback_op, 1, ARG_VA, 0, 0, &ret), &ret, want,
                   "callback unregister");
        op_end();
        if (want == 0) {
            memset(&g->traps[2], 0, sizeof(g->traps[2]));
        }
        return;
    }
    if (g->is32) {
        put_le(b + 4, cs, 4);
        put_le(b + 8, eip, 4);
        eip = (uint32_t)eip;
    } else {
        put_le(b + 8, eip, 8);
    }
    gput(g, ARG_VA, b, 16);
    want = model_register(g, type, flags, cs, eip);
    op_begin(g);
    expect_ret(hcall(g, &r, PVCORE_HYPERVISOR_callback_op, 0, ARG_VA, 0, 0, &ret), &ret, want,
               "callback register");
    op_end();
}

static void op_set_callbacks(struct guest *g)
{
    struct pvcore_cpu_regs r = base_regs(g);
    uint64_t a[4];
    int64_t ret;
    unsigned i;

    for (i = 0; i < 4; i++) {
        a[i] = (i & 1u) || !g->is32 ? pick_handler(g) : pick_sel(g);
        if (g->is32) {
            a[i] = (uint32_t)a[i];
        }
    }
    op_begin(g);
    expect_ret(hcall(g, &r, PVCORE_HYPERVISOR_set_callbacks, a[0], a[1], a[2], a[3], &ret), &ret, 0,
               "set_callbacks");
    op_end();
    if (g->is32) {
        (void)model_register(g, 0, 0, (uint16_t)a[0], a[1]);
        (void)model_register(g, 1, 0, (uint16_t)a[2], a[3]);
    } else {
        (void)model_register(g, 0, 0, 0, a[0]);
        (void)model_register(g, 1, 0, 0, a[1]);
        (void)model_register(g, 2, 0, 0, a[2]);
    }
}

static void op_misc(struct guest *g)
{
    struct pvcore_cpu_regs r = base_regs(g);
    uint8_t s = u8();
    int64_t ret;

    if (s % 6u != 2u && s % 6u != 4u) {
        op_begin(g);
    }
    switch (s % 6u) {
    case 0: /* the event mask, as the guest writes it */
        allow_mask = true;
        vinfo(g)[1] = u8();
        break;
    case 1: {
        uint32_t a = (s & 8u) ? u32() : (s >> 4) & 1u;
        expect_ret(hcall(g, &r, PVCORE_HYPERVISOR_fpu_taskswitch, a, 0, 0, 0, &ret), &ret, 0,
                   "fpu_taskswitch");
        g->fpu_ts = a != 0;
        break;
    }
    case 2: { /* physdev set_iopl */
        uint8_t b[4] = { (uint8_t)(u8() % 5u), 0, 0, 0 };
        gput(g, ARG_VA, b, 4);
        op_begin(g);
        expect_ret(hcall(g, &r, PVCORE_HYPERVISOR_physdev_op, PVCORE_PHYSDEVOP_set_iopl, ARG_VA, 0, 0,
                         &ret),
                   &ret, b[0] > 3 ? -PVCORE_EINVAL : 0, "set_iopl");
        if (b[0] <= 3) {
            g->iopl = (uint32_t)b[0] << 12;
        }
        break;
    }
    case 3: { /* the architectural-IOPL assist */
        int on = (s >> 3) & 1;
        if (pvcore_domain_vm_assist(g->d, on ? PVCORE_VMASST_CMD_enable : PVCORE_VMASST_CMD_disable,
                                    PVCORE_VMASST_TYPE_architectural_iopl) == 0) {
            g->assist = on != 0;
        }
        break;
    }
    case 4: { /* remap one of the pages that can change */
        unsigned k = u8() % g->npg, mode = mode_of(u8());
        struct page *p = &g->pg[k];
        pvcore_mmu_update_t u;
        uint32_t done = 0;
        if (!p->fixed) {
            u.ptr = (p->l1 << 12) | ((uint64_t)p->slot << 3);
            u.val = pte_of(p->mfn, mode);
            if (pvcore_mmu_update(g->v, &u, 1, &done, PVCORE_DOMID_SELF) != 0 || done != 1) {
                die("remap", p->va, mode);
            }
            p->mode = mode;
        }
        op_begin(g); /* (the page-table write is the fuzzer's, not under test) */
        break;
    }
    default: /* user page tables (64-bit), the same root */
        if (!g->is32) {
            struct pvcore_mmuext_req op;
            uint32_t done = 0;
            memset(&op, 0, sizeof(op));
            op.cmd = PVCORE_MMUEXT_NEW_USER_BASEPTR;
            op.arg1 = g->root;
            if (pvcore_mmuext_op(g->v, &op, 1, &done, PVCORE_DOMID_SELF) != 0) {
                die("new_user_baseptr", g->root, 0);
            }
            g->has_user = true;
        }
        break;
    }
    op_end();
}

static void check_iret_rules(const struct guest *g, const struct pvcore_cpu_regs *r)
{
    if (!g->is32) {
        if ((r->cs & 3u) != 3u || (r->ss & 3u) != 3u) {
            die("iret returned a 64-bit guest to RPL != 3", r->cs, r->ss);
        }
        if ((r->rflags & (EF_IOPL | EF_VM)) != 0 || !(r->rflags & EF_IF)) {
            die("iret rflags", r->rflags, 0);
        }
    } else if ((r->cs & 3u) == 0) {
        die("iret returned a 32-bit guest to ring 0", r->cs, 0);
    }
}

/* The model of iret (Xen's do_iret / compat_iret): RESUME with *x, or CRASH. */
static int model_iret(struct guest *g, struct pvcore_cpu_regs *x, uint8_t *mask_after)
{
    if (!g->is32) {
        uint8_t f[72];
        uint64_t w[9];
        unsigned i;
        if (!gread(g, x->rsp, f, sizeof(f))) {
            return PVCORE_CPU_CRASH;
        }
        for (i = 0; i < 9; i++) {
            w[i] = le(f + 8 * i, 8);
        }
        if ((w[5] & 3u) == 3u) {
            if (!g->has_user) {
                return PVCORE_CPU_CRASH;
            }
            g->user_mode = true;
        }
        if (g->assist) {
            g->iopl = (uint32_t)w[6] & EF_IOPL;
        }
        x->rax = w[0];
        x->rip = w[4];
        x->cs = (uint16_t)(w[5] | 3u);
        x->rflags = (w[6] & ~(uint64_t)(EF_IOPL | EF_VM)) | EF_IF;
        x->rsp = w[7];
        x->ss = (uint16_t)(w[8] | 3u);
        if (!(w[3] & PVCORE_VGCF_in_syscall)) {
            x->r11 = w[1];
            x->rcx = w[2];
        }
        *mask_after = (w[6] & EF_IF) ? 0 : 1;
    } else {
        uint8_t f[24];
        uint32_t sp = (uint32_t)x->rsp, eflags;
        uint16_t cs;
        if (!gread(g, sp, f, 16)) {
            return PVCORE_CPU_CRASH;
        }
        eflags = (uint32_t)le(f + 12, 4);
        cs = (uint16_t)le(f + 8, 4);
        if ((cs & 3u) == 0) {
            return PVCORE_CPU_CRASH;
        }
        if ((cs & 3u) != 1u && !gread(g, (uint64_t)sp + 16u, f + 16, 8)) {
            return PVCORE_CPU_CRASH;
        }
        if (g->assist) {
            g->iopl = eflags & EF_IOPL;
        }
        x->rax = (uint32_t)le(f, 4);
        x->rip = (uint32_t)le(f + 4, 4);
        x->cs = cs;
        x->rflags = (eflags & ~EF_IOPL) | EF_IF;
        if ((cs & 3u) == 1u) {
            x->rsp = (uint32_t)(sp + 16u);
        } else {
            x->rsp = (uint32_t)le(f + 16, 4);
            x->ss = (uint16_t)le(f + 20, 4);
        }
        *mask_after = (eflags & EF_IF) ? 0 : 1;
    }
    return PVCORE_CPU_RESUME;
}

/* iret, alone or as the first entry of a multicall { iret, xen_version } (XSA-213). */
static void op_iret(struct guest *g)
{
    struct pvcore_cpu_regs r = base_regs(g), x;
    struct pvcore_hypercall_regs h;
    uint8_t s = u8(), f[72], mask_after = 0, mask_before = vinfo(g)[1];
    bool mc = (s & 1u) != 0;
    unsigned i, w = g->is32 ? 4u : 8u;
    uint64_t list = ARG_VA + 0xC00u;
    uint8_t ent1[64];
    int rc, want;

    if (g->user_mode) {
        return; /* only the kernel makes hypercalls */
    }
    r.rsp = (s & 2u) ? pick_addr(g) : ARG_VA + (u16() % 0x800u);
    if (g->is32) {
        r.rsp = (uint32_t)r.rsp;
    }
    r.rcx = u64();
    r.r11 = u64();
    if (g->is32) {
        r.rcx = (uint32_t)r.rcx;
        r.r11 = (uint32_t)r.r11;
    }
    {
        uint64_t wv[9];
        unsigned nw = g->is32 ? 6u : 9u;
        if (!g->is32) {
            /* rax r11 rcx flags rip cs rflags rsp ss */
            wv[0] = u64();
            wv[1] = u64();
            wv[2] = u64();
            wv[3] = (s & 16u) ? PVCORE_VGCF_in_syscall : u8();
            wv[4] = pick_addr(g);
            wv[5] = pick_sel(g) | ((s & 4u) ? (uint64_t)u16() << 16 : 0);
            wv[6] = u32() | ((s & 8u) ? (uint64_t)u32() << 32 : 0);
            wv[7] = pick_addr(g);
            wv[8] = pick_sel(g) | ((s & 4u) ? (uint64_t)u16() << 16 : 0);
        } else {
            /* eax eip cs eflags esp ss */
            wv[0] = u32();
            wv[1] = pick_addr(g);
            wv[2] = pick_sel(g) | ((s & 4u) ? (uint64_t)u16() << 16 : 0);
            wv[3] = u32() & ~(uint32_t)EF_VM; /* (VM86: not modelled, see the report) */
            wv[4] = pick_addr(g);
            wv[5] = pick_sel(g);
        }
        for (i = 0; i < nw; i++) {
            put_le(f + w * i, wv[i], w);
        }
    }
    gput(g, r.rsp, f, g->is32 ? 24u : 72u);
    if (mc) {
        uint8_t e[128] = { 0 };
        put_le(e, PVCORE_HYPERVISOR_iret, w);
        put_le(e + w, 0xdeadbeefu, w);
        put_le(e + 8 * w, PVCORE_HYPERVISOR_xen_version, w);
        put_le(e + 9 * w, 0xdeadbeefu, w);
        gput(g, list, e, 16u * w);
        r.rax = PVCORE_HYPERVISOR_multicall;
        if (g->is32) {
            r.rbx = list;
            r.rcx = 2;
        } else {
            r.rdi = list;
            r.rsi = 2;
        }
    } else {
        r.rax = PVCORE_HYPERVISOR_iret;
    }
    if (mc && !gread(g, list + 8u * w, ent1, 8u * w)) {
        die("multicall list unreadable", list, 0);
    }
    op_begin(g);
    x = r;
    want = model_iret(g, &x, &mask_after);
    allow_mask = true;
    rc = pvcore_cpu_hypercall(g->v, &r, &h);
    if (trace) {
        fprintf(stderr, "  iret%s: rc %d (model %d)\n", mc ? " in a multicall" : "", rc, want);
    }
    if (rc != want) {
        die("iret result differs from the model", (unsigned long long)rc, (unsigned long long)want);
    }
    if (rc == PVCORE_CPU_CRASH) {
        if (vinfo(g)[1] != mask_before || nwrites != 0) {
            die("iret CRASH changed guest state", vinfo(g)[1], nwrites);
        }
        g->dead = true;
        op_end();
        return;
    }
    check_iret_rules(g, &r);
    if (mc) {
        uint8_t now[64];
        /* the iret's own result went back into the list; nothing after it ran */
        if (!gread(g, list + 8u * w, now, 8u * w) || memcmp(now, ent1, 8u * w) != 0) {
            die("multicall ran past an iret", list, 0);
        }
        /* the iret's own result (the restored rax) went into its entry */
        if (!gread(g, list + w, now, w) || le(now, w) != (g->is32 ? (uint32_t)x.rax : x.rax)) {
            die("multicall: the iret entry's result", le(now, w), x.rax);
        }
    }
    check_regs(g, &r, &x, 0);
    if (vinfo(g)[1] != mask_after) {
        die("iret event mask", vinfo(g)[1], mask_after);
    }
    if (pvcore_vcpu_kernel_mode(g->v) != !g->user_mode) {
        die("iret mode", (unsigned long long)pvcore_vcpu_kernel_mode(g->v), g->user_mode);
    }
    op_end();
}

/* The deliveries. */
static void op_deliver(struct guest *g, unsigned kind)
{
    struct pvcore_cpu_regs r, x_in;
    struct delivery b;
    struct expect x;
    uint8_t mask_before;
    uint64_t ignore = 0, cr2 = 0;
    unsigned vec = 0;
    uint32_t error = 0;
    bool nothing = false; /* the model says: RESUME with nothing changed */
    int rc;

    pick_regs(g, &r);
    memset(&b, 0, sizeof(b));
    memset(&x, 0, sizeof(x));
    if (kind == 0) {
        uint8_t t;
        vec = u8() % 34u;
        t = u8(); /* bit 0: cr2 an address; 1: int $n; 2: 64-bit: no 32-bit code selector */
        error = u32();
        cr2 = (t & 1u) ? pick_addr(g) : u64();
        if (vec == 6 || vec == 13) {
            /* the emulator reads the instruction: ud2 (left alone) or int $n */
            uint8_t code[4] = { 0x0f, 0x0b, 0, 0 };
            if (vec == 13 && (t & 2u)) {
                code[0] = 0xcd;
                code[1] = u8();
            }
            memcpy(fptr(page_at(g, CODE_VA)->mfn), code, 4);
            r.rip = CODE_VA;
            if (!g->is32 && r.cs == 0xe023 && (t & 4u)) {
                r.cs = 0xe033;
            }
        }
    } else if (kind == 3 && !g->is32 && g->user_mode && (u8() & 1u)) {
        /* a syscall from user mode arriving through the hypercall entry */
        kind = 4;
    }
    x_in = r;
    if (g->is32) {
        trim32(&x_in);
    }
    op_begin(g);
    mask_before = vinfo(g)[1];
    switch (kind) {
    case 0:
        if (vec >= 32) {
            x.rc = PVCORE_CPU_CRASH;
            nothing = true;
        } else if (vec == 7 && !g->fpu_ts) {
            nothing = true;
            x.rc = PVCORE_CPU_RESUME;
        } else if (vec == 13 && fptr(page_at(g, CODE_VA)->mfn)[0] == 0xcd) {
            unsigned n = fptr(page_at(g, CODE_VA)->mfn)[1];
            unsigned dpl = g->traps[n].flags & 3u;
            if (dpl >= (kernel_mode(g, &x_in) ? 1u : 3u)) {
                x_in.rip += 2;
                if (g->is32) {
                    x_in.rip = (uint32_t)x_in.rip;
                }
                b = trap_delivery(g, &x_in, n, 0, true);
            } else {
                b = trap_delivery(g, &x_in, 13, n << 3 | 2u, false);
            }
        } else {
            if (vec == 7) {
                g->fpu_ts = false;
            }
            if (vec == 14) {
                allow_cr2 = true;
            }
            b = trap_delivery(g, &x_in, vec, error, false);
        }
        break;
    case 1:
        b.eip = g->cb[CBE].eip;
        b.cs = g->cb[CBE].cs;
        b.mask = true;
        break;
    case 2:
        b.eip = g->cb[CBF].eip;
        b.cs = g->cb[CBF].cs;
        b.mask = g->cb[CBF].mask;
        b.failsafe = true;
        if (g->is32) {
            ignore = EF_IOPL; /* (the library also clears IOPL here; the processor's is 0) */
        }
        break;
    default:
        if (g->is32 || !g->user_mode) {
            x.rc = PVCORE_CPU_CRASH;
            nothing = true;
        } else {
            const struct cb *c = &g->cb[CBS];
            if (x_in.cs == 0xe023 && g->cb[CBS32].eip != 0) {
                c = &g->cb[CBS32];
            }
            if (c->eip == 0) {
                b = trap_delivery(g, &x_in, 6, 0, false);
            } else {
                b.eip = c->eip;
                b.mask = c->mask;
            }
        }
        break;
    }
    if (!nothing) {
        model_bounce(g, &x_in, &b, &x);
    }
    allow_mask = true;
    switch (kind) {
    case 0:
        rc = pvcore_cpu_trap(g->v, &r, vec, error, cr2);
        break;
    case 1:
        rc = pvcore_cpu_event_callback(g->v, &r);
        break;
    case 2:
        rc = pvcore_cpu_failsafe(g->v, &r);
        break;
    case 3:
        rc = pvcore_cpu_syscall(g->v, &r);
        break;
    default: {
        struct pvcore_hypercall_regs h;
        rc = pvcore_cpu_hypercall(g->v, &r, &h);
        break;
    }
    }
    if (allow_cr2) {
        uint8_t want[8];
        put_le(want, cr2, 8);
        if (memcmp(vinfo(g) + (g->is32 ? 8 : 16), want, g->is32 ? 4u : 8u) != 0) {
            die("cr2 in vcpu_info", cr2, 0);
        }
    }
    if (trace) {
        fprintf(stderr, "  delivery %u vector %u: rc %d (model %d); cs %#x ss %#x rsp %#llx rip %#llx, "
                        "handler %#x:%#llx, kernel stack %#x:%#llx, frame %#llx+%zu\n",
                kind, vec, rc, x.rc, x_in.cs, x_in.ss, (unsigned long long)x_in.rsp,
                (unsigned long long)x_in.rip, b.cs, (unsigned long long)b.eip, g->kernel_ss,
                (unsigned long long)g->kernel_sp, (unsigned long long)x.frame_va, x.frame_len);
    }
    if (nothing) {
        if (rc != x.rc || nwrites != 0 || vinfo(g)[1] != mask_before) {
            die("a call that should change nothing did", (unsigned long long)rc, nwrites);
        }
        if (rc == PVCORE_CPU_RESUME) {
            check_regs(g, &r, &x_in, 0);
        }
    } else {
        check_delivery(g, rc, &r, &x, mask_before, b.mask, ignore);
    }
    op_end();
}

/* ---- the target ------------------------------------------------------------------------- */

static void make_guest(struct guest *g, int idx, uint16_t stack_modes, uint8_t edge_modes)
{
    struct pvcore_domain_config cfg;
    size_t sz = pvcore_domain_size(1);
    struct pvcore_mmuext_req op;
    uint32_t done = 0;
    int rc;

    memset(g, 0, sizeof(*g));
    g->is32 = idx == 1;
    g->first_mfn = next_mfn;
    memset(&cfg, 0, sizeof(cfg));
    cfg.domid = (uint16_t)(idx + 1);
    cfg.nr_vcpus = 1;
    cfg.flags = g->is32 ? PVCORE_DOMAIN_GUEST_32 : 0;
    cfg.max_pages = FRAMES;
    g->mem = aligned_alloc(64, (sz + 63u) & ~(size_t)63u);
    if (g->mem == NULL || pvcore_domain_create(mach, g->mem, sz, &cfg, &g->d) != 0) {
        die("domain_create", (unsigned long long)idx, 0);
    }
    g->v = pvcore_domain_vcpu(g->d, 0);
    if (g->is32) {
        build32(g, stack_modes, edge_modes);
    } else {
        build64(g, stack_modes, edge_modes);
    }
    g->shared = new_frame(g);
    if (pvcore_domain_set_shared_info(g->d, pvcore_mfn(g->shared)) != 0) {
        die("shared_info", g->shared, 0);
    }
    g->end_mfn = next_mfn;
    vinfo(g)[1] = 1;
    memset(&op, 0, sizeof(op));
    op.cmd = PVCORE_MMUEXT_NEW_BASEPTR;
    op.arg1 = g->root;
    while ((rc = pvcore_mmuext_op(g->v, &op, 1, &done, PVCORE_DOMID_SELF)) == -PVCORE_ERESTART) {
    }
    if (rc != 0) {
        die("new_baseptr", (unsigned long long)rc, g->root);
    }
}

static void destroy_guest(struct guest *g)
{
    unsigned tries = 0;
    uint64_t i;
    int rc;

    while ((rc = pvcore_domain_destroy(g->d)) == -PVCORE_ERESTART && ++tries < 100000u) {
    }
    if (rc != 0) {
        die("destroy", (unsigned long long)rc, g->is32);
    }
    for (i = g->first_mfn; i < g->end_mfn; i++) {
        struct pvcore_frame_info fi;
        memset(&fi, 0, sizeof(fi));
        if (pvcore_frame_query(mach, pvcore_mfn(i), &fi) != 0 || fi.owner != PVCORE_DOMID_INVALID ||
            fi.count != 0 || fi.type_count != 0) {
            die("frame not free after destruction", i, fi.count);
        }
    }
    free(g->mem);
    g->mem = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned i, nops = 0;
    uint16_t sm[2];
    uint8_t em[2];

    if (size < 6) {
        return 0;
    }
    trace = getenv("FUZZ_BOUNCE_TRACE") != NULL;
    in_p = data;
    in_n = size;
    sm[0] = u16();
    em[0] = u8();
    sm[1] = u16();
    em[1] = u8();
    if (pvcore_host_backend_create(FRAMES, 4, 0, 0, &hb) != 0) {
        die("host backend", 0, 0);
    }
    mach = pvcore_host_backend_machine(hb);
    ram = fptr(0);
    if (ram_before == NULL) {
        ram_before = malloc((size_t)FRAMES * PG);
    }
    scratch_len = pvcore_check_scratch_size(mach);
    scratch = malloc(scratch_len);
    if (ram_before == NULL || scratch == NULL) {
        die("malloc", 0, 0);
    }
    /* the hooks: the host backend's, with the two copies wrapped */
    {
        struct machine *m = (struct machine *)(void *)mach;
        real_ops = m->ops;
        ops = *m->ops;
        ops.copy_to_guest = w_copy_to;
        ops.copy_from_guest = w_copy_from;
        m->ops = &ops;
    }
    next_mfn = 16;
    make_guest(&G[0], 0, sm[0], em[0]);
    make_guest(&G[1], 1, sm[1], em[1]);
    {
        struct pvcore_check_report rep;
        if (pvcore_check_invariants(mach, scratch, scratch_len, &rep) != 0) {
            die("invariants after setup", rep.code, rep.mfn);
        }
    }
    while (in_n > 0 && nops++ < MAX_OPS) {
        uint8_t b = u8();
        struct guest *g = &G[b & 1u];
        unsigned op = (b >> 1) % 12u;

        if (trace) {
            fprintf(stderr, "op %u on the %s guest (at input byte %zu)\n", op, g->is32 ? "32-bit" : "64-bit",
                    size - in_n - 1u);
        }
        if (op >= 5 && !g->is32 && g->user_mode) {
            /* only the guest kernel makes hypercalls: a 64-bit guest in user mode first
             * takes a trap (a delivery enters kernel mode) */
            op = 0;
        }
        switch (op) {
        case 0:
        case 1:
        case 2:
        case 3:
            op_deliver(g, op);
            break;
        case 4:
            op_iret(g);
            break;
        case 5:
        case 6:
            op_set_trap_table(g);
            break;
        case 7:
            op_stack_switch(g);
            break;
        case 8:
            op_callback_op(g);
            break;
        case 9:
            op_set_callbacks(g);
            break;
        default:
            op_misc(g);
            break;
        }
        if (g->dead) {
            /* the embedder destroys a crashed domain; a fresh one, same layout, takes its
             * place (and its frames) */
            uint64_t keep = next_mfn;
            destroy_guest(g);
            next_mfn = g->first_mfn;
            make_guest(g, g->is32 ? 1 : 0, sm[g->is32 ? 1 : 0], em[g->is32 ? 1 : 0]);
            next_mfn = keep;
        }
    }
    for (i = 0; i < 2; i++) {
        destroy_guest(&G[i]);
    }
    for (i = 0; i < FRAMES; i++) {
        struct pvcore_frame_info fi;
        memset(&fi, 0, sizeof(fi));
        if (pvcore_frame_query(mach, pvcore_mfn(i), &fi) != 0 || fi.owner != PVCORE_DOMID_INVALID ||
            fi.count != 0 || fi.type_count != 0) {
            die("frame not free after destruction", i, fi.count);
        }
    }
    free(scratch);
    pvcore_host_backend_destroy(hb);
    return 0;
}
