/*
 * Fuzz target: the hypercall decoder. Fuzzed hypercall numbers and arguments, and fuzzed
 * guest memory (request arrays written into pages the domains' page tables map, raw
 * pointers anywhere), from three domains: privileged 64-bit, 64-bit, 32-bit PAE.
 *
 * Every input runs in lockstep on two fresh, identical machines: A is never forced to
 * preempt, B is forced to at fuzzer-chosen rates, and both are called again on
 * PVCORE_HYPERCALL_RESTART until the call completes (a bounded number of times, with the
 * rewritten arguments checked for progress). The oracle:
 *   - the invariant checker after every call on both machines, ASan/UBSan, no leaks;
 *   - A and B agree: same result of every call, same frame table after every operation
 *     (once deferred devalidation is finished on both: how much of it a call leaves for
 *     later depends on preemption), same memory at the end; as long as no batch could change its own
 *     request array or pdone while it runs (see hazard() below), which the ABI leaves
 *     preemption-dependent (as Xen does);
 *   - every frame is free once all domains are destroyed.
 *
 * Input: one byte (work budget 8 + 4 * b), then operations: a 16-byte header (see op())
 * and a payload whose length depends on the operation. fuzz/gen_seeds.py writes seeds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/pvcore.h>
#include <pvcore/host_backend.h>

#define FRAMES 224u
#define POOL0 16u  /* frames POOL0 + d * PER_DOM + i belong to domain d */
#define PER_DOM 64u
#define NDOM 3u
#define MBOX_VA 0x400000ull /* the mailbox: 8 data pages (pool 4..11), mapped read-write */
#define MBOX_PAGES 8u
#define MBOX_SIZE (MBOX_PAGES * 4096u)
#define TOP_VA 0xFFFFFFFFFFFFF000ull /* 64-bit domains: the last page (pool 15) is mapped */
#define UNMAPPED_VA 0x800000ull
#define MAX_RESTARTS (1u << 20)
#define PREEMPTED PVCORE_MMU_UPDATE_PREEMPTED

struct mach {
    struct pvcore_host_backend *hb;
    struct pvcore_machine *m;
    struct pvcore_domain *dom[NDOM];
    void *mem[NDOM];
    void *scratch;
    size_t scratch_len;
};

struct ctx {
    struct mach a, b; /* a: never forced to preempt; b: forced */
    int compare;      /* cleared once a batch may have depended on where it was preempted */
};

static void die(const char *what, const struct pvcore_check_report *r)
{
    fprintf(stderr, "fuzz_hypercall: %s: %s at mfn %llu (expected %llu, actual %llu)\n", what,
            r ? pvcore_check_code_name(r->code) : "-", r ? (unsigned long long)r->mfn : 0ull,
            r ? (unsigned long long)r->expected : 0ull, r ? (unsigned long long)r->actual : 0ull);
    abort();
}

static void check(struct mach *x)
{
    struct pvcore_check_report r;
    if (pvcore_check_invariants(x->m, x->scratch, x->scratch_len, &r) != 0) {
        die("invariant violated", &r);
    }
}

static uint64_t dom_frame(unsigned d, unsigned idx)
{
    return POOL0 + d * PER_DOM + idx % PER_DOM;
}

static uint64_t *fp(struct mach *x, uint64_t mfn)
{
    return pvcore_host_backend_frame(x->hb, pvcore_mfn(mfn));
}

static uint64_t pte(uint64_t mfn, uint64_t flags)
{
    return mfn << 12 | flags;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    unsigned i;
    for (i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

/* ---- machines ----------------------------------------------------------------------------- */

/* The domain's base tree: the mailbox at MBOX_VA and, for 64-bit domains, the top page. */
static void build_tree(struct mach *x, unsigned d)
{
    uint64_t root = dom_frame(d, 0), l1 = dom_frame(d, 3);
    unsigned i, v;
    int rc;

    if (d == 2) {
        fp(x, root)[0] = pte(dom_frame(d, 1), 0x1);
        fp(x, root)[3] = pte(dom_frame(d, 2), 0x1);
        fp(x, dom_frame(d, 1))[2] = pte(l1, 0x7);
    } else {
        fp(x, root)[0] = pte(dom_frame(d, 1), 0x7);
        fp(x, dom_frame(d, 1))[0] = pte(dom_frame(d, 2), 0x7);
        fp(x, dom_frame(d, 2))[2] = pte(l1, 0x7);
        fp(x, root)[511] = pte(dom_frame(d, 12), 0x7);
        fp(x, dom_frame(d, 12))[511] = pte(dom_frame(d, 13), 0x7);
        fp(x, dom_frame(d, 13))[511] = pte(dom_frame(d, 14), 0x7);
        fp(x, dom_frame(d, 14))[511] = pte(dom_frame(d, 15), 0x7);
    }
    for (i = 0; i < MBOX_PAGES; i++) {
        fp(x, l1)[i] = pte(dom_frame(d, 4 + i), 0x7);
    }
    for (v = 0; v < 2; v++) {
        struct pvcore_mmuext_req op;
        memset(&op, 0, sizeof(op));
        op.cmd = PVCORE_MMUEXT_NEW_BASEPTR;
        op.arg1 = root;
        do {
            rc = pvcore_mmuext_op(pvcore_domain_vcpu(x->dom[d], v), &op, 1, NULL,
                                  PVCORE_DOMID_SELF);
        } while (rc == -PVCORE_ERESTART);
        if (rc != 0) {
            die("building the base tree", NULL);
        }
    }
}

static void mach_new(struct mach *x, uint32_t budget)
{
    unsigned d, i;

    memset(x, 0, sizeof(*x));
    if (pvcore_host_backend_create(FRAMES, 4, budget, 0, &x->hb) != 0) {
        abort();
    }
    x->m = pvcore_host_backend_machine(x->hb);
    if (pvcore_frame_reserve_xen(x->m, pvcore_mfn(2), 2) != 0) {
        abort();
    }
    x->scratch_len = pvcore_check_scratch_size(x->m);
    x->scratch = malloc(x->scratch_len);
    for (d = 0; d < NDOM; d++) {
        struct pvcore_domain_config cfg = { (uint16_t)d, 2,
                                            d == 0 ? PVCORE_DOMAIN_PRIVILEGED
                                                   : (d == 2 ? PVCORE_DOMAIN_GUEST_32 : 0u),
                                            PER_DOM };
        size_t sz = pvcore_domain_size(2);
        x->mem[d] = malloc(sz);
        if (x->scratch == NULL || x->mem[d] == NULL ||
            pvcore_domain_create(x->m, x->mem[d], sz, &cfg, &x->dom[d]) != 0) {
            abort();
        }
        if (d < 2 && pvcore_domain_iomem_permit(x->dom[d], pvcore_mfn(FRAMES), pvcore_mfn(FRAMES + 7), 1) != 0) {
            abort();
        }
        for (i = 0; i < PER_DOM; i++) {
            if (pvcore_domain_assign(x->dom[d], pvcore_mfn(dom_frame(d, i)), pvcore_gfn(i)) != 0) {
                abort();
            }
        }
        build_tree(x, d);
    }
    check(x);
}

/* Destroys every domain; every frame must come back free. */
static void mach_free(struct mach *x)
{
    unsigned d, i;

    for (i = 0; i < 2; i++) {
        for (d = 0; d < NDOM; d++) {
            int rc;
            do {
                rc = pvcore_domain_destroy(x->dom[d]);
            } while (rc == -PVCORE_ERESTART);
            if (rc != 0 && (i == 1 || rc != -PVCORE_EBUSY)) {
                die("final destroy", NULL);
            }
        }
    }
    check(x);
    for (i = 0; i < FRAMES; i++) {
        struct pvcore_frame_info fi;
        if (pvcore_frame_query(x->m, pvcore_mfn(i), &fi) != 0) {
            die("query", NULL);
        }
        if (fi.owner == PVCORE_DOMID_XEN ? (fi.count != 1 || fi.type_count != 0)
                                         : (fi.count != 0 || fi.type_count != 0)) {
            die("frame not free after destroying every domain", NULL);
        }
    }
    for (d = 0; d < NDOM; d++) {
        free(x->mem[d]);
    }
    free(x->scratch);
    pvcore_host_backend_destroy(x->hb);
}

/*
 * Finishes every domain's deferred devalidation. How much of it a call leaves queued
 * depends on where it was preempted, and a frame still being torn down is busy for other
 * domains too; the decoder's results are compared from the same settled state.
 */
static void settle(struct mach *x)
{
    unsigned d;

    for (d = 0; d < NDOM; d++) {
        unsigned n = 0;
        while (pvcore_mmu_update(pvcore_domain_vcpu(x->dom[d], 0), NULL, 0, NULL,
                                 PVCORE_DOMID_SELF) == -PVCORE_ERESTART) {
            if (++n > MAX_RESTARTS) {
                die("teardown does not finish", NULL);
            }
        }
    }
    /* Checked by the next call's check, and at the end. */
}

static void compare_frames(struct ctx *c)
{
    uint64_t i;

    for (i = 0; i < FRAMES; i++) {
        struct pvcore_frame_info fa, fb;
        memset(&fa, 0, sizeof(fa));
        memset(&fb, 0, sizeof(fb));
        if (pvcore_frame_query(c->a.m, pvcore_mfn(i), &fa) != 0 || pvcore_frame_query(c->b.m, pvcore_mfn(i), &fb) != 0) {
            die("query", NULL);
        }
        if (memcmp(&fa, &fb, sizeof(fa)) != 0) {
            fprintf(stderr, "frame %llu: A owner %u type %u count %u tcount %u flags %#x; "
                            "B owner %u type %u count %u tcount %u flags %#x\n",
                    (unsigned long long)i, fa.owner, fa.type, fa.count, fa.type_count, fa.flags,
                    fb.owner, fb.type, fb.count, fb.type_count, fb.flags);
            die("preempted and uninterrupted runs differ (frame table)", NULL);
        }
    }
}

/* ---- hazards: batches whose result may depend on where they were preempted ------------- */

/*
 * A batch is read in chunks and its running total is stored in *pdone at each
 * continuation and read back at the next. So if a request of the batch changes the bytes
 * or the mapping of requests still to come, or of pdone, a preempted run may see other
 * bytes than an uninterrupted one (in Xen as well). hazard() finds the page-table entries
 * (frame, slot) and the frames that the array and pdone are read through, reads every
 * request the batch could run, and reports whether one of them could change them.
 */
#define HZ_MAX 96u
#define HZ_PAGES 24u

struct hz {
    uint64_t ent[HZ_MAX]; /* page-table entries on the paths: frame << 9 | slot */
    uint64_t dat[HZ_MAX]; /* the frames holding the array and pdone */
    unsigned nent, ndat;
    int fragile;  /* a data page could be validated as a page table (rewritten) */
    int overflow; /* too much to track: treat as a hazard */
};

static void hz_add(uint64_t *set, unsigned *n, uint64_t v, struct hz *h)
{
    unsigned i;
    for (i = 0; i < *n; i++) {
        if (set[i] == v) {
            return;
        }
    }
    if (*n == HZ_MAX) {
        h->overflow = 1;
        return;
    }
    set[(*n)++] = v;
}

static int hz_has(const uint64_t *set, unsigned n, uint64_t v)
{
    unsigned i;
    for (i = 0; i < n; i++) {
        if (set[i] == v) {
            return 1;
        }
    }
    return 0;
}

static int guest_range(int is32, uint64_t va)
{
    return is32 ? va < 0xF5800000ull : (va < 0x0000800000000000ull || va >= 0xFFFF880000000000ull);
}

/* Records the path to the page holding va; 1 if that page is mapped now. */
static int hz_page(struct mach *x, struct pvcore_vcpu *v, int is32, uint64_t va, struct hz *h)
{
    uint64_t mfn, e = 0;
    unsigned level;
    struct pvcore_frame_info fi;

    if (!guest_range(is32, va)) {
        return 0; /* never mappable */
    }
    {
        pvcore_mfn_t root;
        pvcore_vcpu_base(v, &root, NULL);
        mfn = root.v;
    }
    for (level = is32 ? 3u : 4u; level >= 1; level--) {
        unsigned idx = (unsigned)(va >> (12u + 9u * (level - 1u))) & 511u;
        if (mfn >= FRAMES) {
            return 0;
        }
        /* Only this entry matters: a validated table is never rewritten, and one on a live
         * path keeps its type whatever is pinned or unpinned. */
        hz_add(h->ent, &h->nent, mfn << 9 | idx, h);
        e = fp(x, mfn)[idx];
        if (!(e & 1u) || (level > 1 && (e & 0x80u))) {
            return 0;
        }
        mfn = (e >> 12) & 0xFFFFFFFFFFull;
    }
    if (mfn >= FRAMES) {
        return 0;
    }
    hz_add(h->dat, &h->ndat, mfn, h);
    /* Only a frame held writable by this very mapping cannot become a page table. */
    if (pvcore_frame_query(x->m, pvcore_mfn(mfn), &fi) != 0 || fi.type != PVCORE_PGT_WRITABLE || !(e & 2u)) {
        h->fragile = 1;
    }
    return 1;
}

/* Reads len bytes at va as the decoder would; 0 if unreadable. */
static int hz_read(struct mach *x, struct pvcore_vcpu *v, uint64_t va, uint8_t *dst, size_t len)
{
    while (len > 0) {
        uint64_t maddr;
        size_t n = 4096u - (size_t)(va & 4095u);
        if (n > len) {
            n = len;
        }
        if (pvcore_vcpu_translate(v, va, &maddr, NULL) != 0 || (maddr >> 12) >= FRAMES) {
            return 0;
        }
        memcpy(dst, (uint8_t *)fp(x, maddr >> 12) + (maddr & 4095u), n);
        dst += n;
        va += n;
        len -= n;
    }
    return 1;
}

static int hazard(struct mach *x, struct pvcore_vcpu *v, int is32, int ext, uint64_t base,
                  uint32_t count, uint64_t pdone)
{
    struct hz h;
    uint64_t limit = is32 ? 0x100000000ull : 0; /* 0: 2^64 */
    uint64_t size = ext ? (is32 ? 12u : 24u) : 16u;
    uint64_t end, page, k, readable;
    unsigned pages = 0;

    memset(&h, 0, sizeof(h));
    count &= ~PREEMPTED;
    if (pdone != 0) {
        hz_page(x, v, is32, pdone, &h);
        hz_page(x, v, is32, pdone + 3u, &h);
    }
    /* The array's pages, up to the first that is not mapped (a request could map it). */
    end = base + (uint64_t)count * size; /* the decoder refuses what wraps */
    if (count != 0 && ((limit != 0 && end > limit) || (limit == 0 && end < base))) {
        end = limit; /* 0 for 2^64: the loop below stops at the wrap */
    }
    for (page = base & ~4095ull; count != 0; page += 4096u) {
        if (++pages > HZ_PAGES) {
            return 1;
        }
        if (!hz_page(x, v, is32, page, &h)) {
            break;
        }
        if (page + 4096u == 0 || (end != 0 && page + 4096u >= end)) {
            break;
        }
    }
    if (h.overflow) {
        return 1;
    }
    /* The decoder stores the running total in *pdone when it is preempted: if *pdone
     * shares a frame with the array (at any address), a continuation may read requests
     * that total overwrote, where an uninterrupted call read them first. */
    if (pdone != 0 && count != 0) {
        uint64_t pm[2], am;
        int np = 0;
        if (pvcore_vcpu_translate(v, pdone, &pm[np], NULL) == 0) {
            np++;
        }
        if (pvcore_vcpu_translate(v, pdone + 3u, &pm[np], NULL) == 0) {
            np++;
        }
        for (page = base & ~4095ull; np != 0; page += 4096u) {
            int j;
            if (pvcore_vcpu_translate(v, page, &am, NULL) != 0) {
                break;
            }
            for (j = 0; j < np; j++) {
                if (pm[j] >> 12 == am >> 12) {
                    return 1;
                }
            }
            if (page + 4096u == 0 || (end != 0 && page + 4096u >= end)) {
                break;
            }
        }
    }
    /* Every request that can be read now (the batch stops at the first that cannot). */
    readable = 0;
    for (k = 0; k < count; k++) {
        uint8_t q[24];
        uint64_t va = base + k * size;
        if ((limit != 0 && va + size > limit) || (limit == 0 && va + size - 1u < va) ||
            !hz_read(x, v, va, q, (size_t)size)) {
            break;
        }
        readable++;
        if (!ext) {
            uint64_t ptr = le64(q), val = le64(q + 8);
            unsigned cmd = (unsigned)(ptr & 7u);
            uint64_t f = ptr >> 12;
            if (cmd == 0 || cmd == 2 || cmd == 3) {
                if (h.fragile || hz_has(h.ent, h.nent, f << 9 | ((ptr & 4095u) >> 3)) ||
                    hz_has(h.dat, h.ndat, f) ||
                    ((val & 1u) && hz_has(h.dat, h.ndat, (val >> 12) & 0xFFFFFFFFFFull))) {
                    return 1;
                }
            }
        } else {
            struct pvcore_mmuext_req o;
            if (is32) {
                pvcore_mmuext_from_x86_32((const struct pvcore_mmuext_op_x86_32 *)(const void *)q, 1, &o);
            } else {
                struct pvcore_mmuext_op_x86_64 w;
                memcpy(&w, q, sizeof(w));
                pvcore_mmuext_from_x86_64(&w, 1, &o);
            }
            switch (o.cmd) {
            case PVCORE_MMUEXT_NEW_BASEPTR:
                return 1;
            case PVCORE_MMUEXT_PIN_L1_TABLE:
            case PVCORE_MMUEXT_PIN_L2_TABLE:
            case PVCORE_MMUEXT_PIN_L3_TABLE:
            case PVCORE_MMUEXT_PIN_L4_TABLE:
            case PVCORE_MMUEXT_UNPIN_TABLE:
            case PVCORE_MMUEXT_CLEAR_PAGE:
            case PVCORE_MMUEXT_COPY_PAGE:
                if (h.fragile || hz_has(h.dat, h.ndat, o.arg1)) {
                    return 1;
                }
                break;
            default:
                break;
            }
        }
        if (readable > HZ_PAGES * 4096u / 12u) {
            return 1;
        }
    }
    return 0;
}

/* ---- operations ----------------------------------------------------------------------------- */

#include "fuzz_entry.h"

/* The frame of byte `off` of the guest-writable area: the mailbox, then the top page. */
static uint64_t area_frame(unsigned d, uint32_t off)
{
    off %= MBOX_SIZE + 4096u;
    return dom_frame(d, off < MBOX_SIZE ? 4 + off / 4096u : 15u);
}

static uint8_t *area(struct mach *x, unsigned d, uint32_t off)
{
    return (uint8_t *)fp(x, area_frame(d, off)) + off % 4096u;
}

/* Could the guest have written this frame? Through a writable mapping, or earlier,
 * while it had no type; never a page table or descriptor page. */
static int guest_writable(struct mach *x, uint64_t mfn)
{
    struct pvcore_frame_info fi;
    return pvcore_frame_query(x->m, pvcore_mfn(mfn), &fi) == 0 &&
           (fi.type_count == 0 || fi.type == PVCORE_PGT_WRITABLE);
}

/* Writes bytes into the area of domain d on both machines (as the guest would). */
static void put(struct ctx *c, unsigned d, uint32_t off, const void *src, size_t len)
{
    struct mach *xs[2] = { &c->a, &c->b };
    size_t i;
    unsigned j;

    for (j = 0; j < 2; j++) {
        for (i = 0; i < len; i++) {
            uint32_t o = (off + (uint32_t)i) % (MBOX_SIZE + 4096u);
            if (guest_writable(xs[j], area_frame(d, o))) {
                *area(xs[j], d, o) = ((const uint8_t *)src)[i];
            }
        }
    }
}

static const uint32_t foreign_doms[8] = {
    PVCORE_DOMID_SELF, PVCORE_DOMID_SELF, PVCORE_DOMID_SELF, 0, 1, 2, PVCORE_DOMID_IO, 0x7777,
};

/* A guest pointer: m selects how; w is a raw fuzzed word; o an offset. */
static uint64_t pointer(unsigned m, int is32, uint64_t w, uint16_t o)
{
    switch (m % 8) {
    case 0:
    case 1:
    case 2:
        return MBOX_VA + o % MBOX_SIZE;
    case 3:
        return MBOX_VA + MBOX_SIZE - (o & 63u); /* runs into the unmapped page after */
    case 4:
        return w;
    case 5: /* the top of the address space: wraps */
        return (is32 ? 0x100000000ull : 0) - 1u - (o & 127u);
    case 6: /* hypervisor area and non-canonical addresses */
        return is32 ? 0xF5800000ull + o : (o & 1u ? 0xFFFF800000000000ull : 0x0000800000000000ull) + o;
    default:
        return UNMAPPED_VA + o;
    }
}

/*
 * The continuation of a call that is not an MMU batch: a list walked in place moves
 * forward by whole elements (set_trap_table: its handle; multicall: the list by k
 * entries and the count down by k, or neither when an entry is itself continued;
 * grant_table_op: the op array by k and the count down by k); every other argument, and
 * every argument of any other call, stays as it was.
 */
static int continuation_ok(uint64_t nr, int is32, const struct pvcore_hypercall_regs *before,
                           const struct pvcore_hypercall_regs *after)
{
    uint64_t mask = is32 ? 0xFFFFFFFFu : UINT64_MAX;
    uint64_t esize = 0, moved, k;
    unsigned ptr = 0, count = 0, i;
    int counted = 0;

    switch (nr) {
    case PVCORE_HYPERVISOR_set_trap_table:
        esize = is32 ? 8u : 16u;
        break;
    case PVCORE_HYPERVISOR_multicall:
        esize = is32 ? 32u : 64u;
        count = 1;
        counted = 1;
        break;
    case PVCORE_HYPERVISOR_grant_table_op:
        esize = 16u; /* query_size, the only one continued */
        ptr = 1;
        count = 2;
        counted = 1;
        break;
    default:
        return memcmp(after->arg, before->arg, sizeof(after->arg)) == 0;
    }
    for (i = 0; i < 6; i++) {
        if (i != ptr && !(counted && i == count) && after->arg[i] != before->arg[i]) {
            return 0;
        }
    }
    moved = ((after->arg[ptr] & mask) - (before->arg[ptr] & mask)) & mask;
    if (moved % esize != 0) {
        return 0;
    }
    k = moved / esize;
    if (!counted) {
        return k != 0; /* progress */
    }
    return (uint32_t)before->arg[count] >= k && (uint32_t)after->arg[count] == (uint32_t)before->arg[count] - k;
}

/* Runs one hypercall on machine x until it completes, in *r; checks the invariants if
 * do_check (the checker costs far more than a call). */
static int call(struct mach *x, struct pvcore_vcpu *v, int is32, struct pvcore_hypercall_regs *r,
                uint32_t preempt, int do_check)
{
    uint64_t nr = is32 ? r->nr & 0xFFFFFFFFu : r->nr;
    int batch = nr == PVCORE_HYPERVISOR_mmu_update || nr == PVCORE_HYPERVISOR_mmuext_op;
    uint64_t size = nr == PVCORE_HYPERVISOR_mmu_update ? 16u : (is32 ? 12u : 24u);
    unsigned restarts = 0;
    int rc;

    pvcore_host_backend_set_preempt(x->hb, preempt);
    for (;;) {
        struct pvcore_hypercall_regs before = *r;
        rc = pvcore_hypercall(v, r);
        if (rc != PVCORE_HYPERCALL_RESTART) {
            break;
        }
        /* The first continuations of a long batch, then every 32nd (and the end). */
        if (do_check && (restarts < 8 || restarts % 32 == 0)) {
            check(x);
        }
        if (++restarts > MAX_RESTARTS) {
            die("no progress: too many restarts", NULL);
        }
        if (r->ret != before.ret) {
            die("ret written on RESTART", NULL);
        }
        if (batch) {
            /* Progress: the count never grows, and the base moves by what was done. */
            uint32_t was = (uint32_t)before.arg[1] & ~PREEMPTED;
            uint32_t now = (uint32_t)r->arg[1] & ~PREEMPTED;
            uint64_t b0 = is32 ? before.arg[0] & 0xFFFFFFFFu : before.arg[0];
            uint64_t want = b0 + (uint64_t)(was - now) * size;
            if (is32) {
                want &= 0xFFFFFFFFu;
            }
            if (!((uint32_t)r->arg[1] & PREEMPTED) || r->arg[1] > 0xFFFFFFFFu || now > was ||
                r->arg[0] != want || r->arg[2] != before.arg[2] || r->arg[3] != before.arg[3]) {
                die("bad continuation arguments", NULL);
            }
        } else if (!continuation_ok(nr, is32, &before, r)) {
            die("bad continuation arguments", NULL);
        }
    }
    pvcore_host_backend_set_preempt(x->hb, 0);
    if (do_check) {
        check(x);
    }
    if (rc != PVCORE_HYPERCALL_DONE && rc != PVCORE_HYPERCALL_UNHANDLED) {
        die("bad return", NULL);
    }
    if (is32 && rc == PVCORE_HYPERCALL_DONE && r->ret > 0xFFFFFFFFu) {
        die("32-bit result not zero-extended", NULL);
    }
    return rc;
}

/*
 * One operation: a 16-byte header h, then a payload.
 *   h[0]  bits 0-1: domain (% 3); bit 2: vCPU 1; bits 3-5: machine B preempts every
 *         (n + 1) checks
 *   h[1]  kind (% 6):
 *     0 put mmu_update requests: at area offset h[2..3], n = 1 + h[4] % 40 requests, each
 *       6 payload bytes [table frame][slot lo][slot bit 8 | cmd << 5][entry: 3 bytes]
 *     1 put mmuext_op requests in the domain's layout: n = 1 + h[4] % 12, each 6 bytes
 *       [cmd][arg1 frame][arg1 extra][arg2 frame][arg2 extra][mode]
 *     2 put raw bytes: h[4] % 64 + 1 payload bytes at area offset h[2..3]
 *     3 a hypercall (16 payload bytes: raw words w0, w1), see hypercall()
 *     4 a direct write of an entry into an untyped frame of the domain:
 *       h[2] frame, h[3..4] slot, h[5..7] entry
 *     5 the same hypercall with a raw number h[2] and raw arguments w0, w1 (count masked)
 */
static size_t op(struct ctx *c, const uint8_t *h, const uint8_t *p, size_t avail)
{
    unsigned d = (h[0] & 3u) % 3u, k;
    int is32 = d == 2;
    uint32_t off = (uint32_t)h[2] | (uint32_t)h[3] << 8;

    switch (h[1] % 6) {
    case 0: {
        unsigned n = 1 + h[4] % 40u;
        if (avail < n * 6u) {
            return avail;
        }
        for (k = 0; k < n; k++) {
            const uint8_t *q = p + 6 * k;
            uint8_t w[16];
            uint64_t ptr = (frame_sel(q[0], q[5], d) << 12) |
                           ((uint64_t)(q[1] | (q[2] & 1u) << 8) << 3) | (uint64_t)(q[2] >> 5);
            uint64_t val = entry(q + 3, d);
            memcpy(w, &ptr, 8);
            memcpy(w + 8, &val, 8);
            put(c, d, off + 16u * k, w, 16);
        }
        return n * 6u;
    }
    case 1: {
        unsigned n = 1 + h[4] % 12u;
        if (avail < n * 6u) {
            return avail;
        }
        for (k = 0; k < n; k++) {
            const uint8_t *q = p + 6 * k;
            uint32_t cmd = q[0] % 22u;
            uint64_t a1 = frame_sel(q[1], q[2], d), a2 = frame_sel(q[3], q[4], d);
            switch (q[5] % 4) {
            case 1: /* linear addresses and counts */
                a1 = (uint64_t)q[1] << 12 | (uint64_t)q[2] << 30;
                a2 = (q[5] & 4u) ? MBOX_VA + ((uint64_t)q[3] << 4) : (uint64_t)q[3] << 6 | q[4];
                break;
            case 2:
                a1 = 0;
                break;
            case 3:
                a1 = (uint64_t)q[1] << 56 | (uint64_t)q[2] << 24 | q[4];
                a2 = (uint64_t)q[3] << 48 | q[4];
                break;
            default:
                break;
            }
            if (is32) {
                struct pvcore_mmuext_op_x86_32 w;
                memset(&w, 0, sizeof(w));
                w.cmd = cmd;
                w.arg1.mfn = (uint32_t)a1;
                w.arg2.src_mfn = (uint32_t)a2;
                put(c, d, off + 12u * k, &w, sizeof(w));
            } else {
                struct pvcore_mmuext_op_x86_64 w;
                memset(&w, 0, sizeof(w));
                w.cmd = cmd;
                w._pad0 = q[5] & 0x80u ? 0xFFFFFFFFu : 0; /* padding must be ignored */
                w.arg1.mfn = a1;
                w.arg2.src_mfn = a2;
                put(c, d, off + 24u * k, &w, sizeof(w));
            }
        }
        return n * 6u;
    }
    case 2: {
        size_t n = h[4] % 64u + 1u;
        if (avail < n) {
            return avail;
        }
        put(c, d, off, p, n);
        return n;
    }
    case 4: {
        uint64_t mfn = dom_frame(d, h[2]);
        struct pvcore_frame_info fi;
        unsigned slot = ((unsigned)h[3] | (unsigned)h[4] << 8) & 511u;
        struct mach *xs[2] = { &c->a, &c->b };
        unsigned i;
        for (i = 0; i < 2; i++) {
            if (pvcore_frame_query(xs[i]->m, pvcore_mfn(mfn), &fi) == 0 && fi.owner == d && fi.type_count == 0) {
                fp(xs[i], mfn)[slot] = entry(h + 5, d);
            }
        }
        return 0;
    }
    default: {
        /* kinds 3 and 5: a hypercall */
        struct pvcore_hypercall_regs r, ra, rb;
        uint64_t w0, w1, nr, pdone = 0;
        uint32_t fd = foreign_doms[(h[11] >> 1) & 7];
        uint32_t preempt = ((h[0] >> 3) & 7u) + 1u;
        struct pvcore_vcpu *va, *vb;
        int rca, rcb, comparable = c->compare;

        if (avail < 16) {
            return avail;
        }
        w0 = le64(p);
        w1 = le64(p + 8);
        if (h[11] & 0x10) {
            fd |= (uint32_t)(((h[11] >> 5) & 3) + 1) << 16;
        }
        memset(&r, 0, sizeof(r));
        r.ret = 0xA5A5A5A5A5A5A5A5ull;
        if (h[1] % 6 == 5) {
            r.nr = h[2] | (h[3] & 0x80u ? (uint64_t)h[4] << 32 : 0);
            r.arg[0] = w0;
            r.arg[1] = w1 & (PREEMPTED | 0xFFFu);
            r.arg[2] = w1 >> 32;
            r.arg[3] = fd;
            r.arg[4] = w0 >> 16;
            r.arg[5] = w1;
            pdone = is32 ? r.arg[2] & 0xFFFFFFFFu : r.arg[2];
        } else {
            uint64_t ptr = pointer(h[3], is32, w0, (uint16_t)(h[4] | h[5] << 8));
            uint32_t count = h[10] & 1u ? (uint32_t)(w1 & (PREEMPTED | 0xFFFu)) : h[6] % 48u;
            switch ((h[10] >> 1) & 3u) {
            case 0:
                pdone = 0;
                break;
            case 1:
                pdone = MBOX_VA + ((uint32_t)h[12] | (uint32_t)h[13] << 8) % MBOX_SIZE;
                break;
            case 2:
                pdone = w1;
                break;
            default:
                pdone = pointer(h[14], is32, w1, h[15]);
                break;
            }
            switch (h[2] % 8) {
            case 0:
            case 1:
                r.nr = h[2] % 8 == 0 ? PVCORE_HYPERVISOR_mmu_update : PVCORE_HYPERVISOR_mmuext_op;
                r.arg[0] = ptr;
                r.arg[1] = count | (h[10] & 0x80u ? PREEMPTED : 0u);
                r.arg[2] = pdone;
                r.arg[3] = fd;
                break;
            case 2:
            case 3: {
                /* update_va_mapping[_otherdomain]: a mailbox L1 slot, or raw. */
                uint64_t v_addr = h[7] & 0x80u ? w0 : MBOX_VA + ((uint64_t)h[7] << 12);
                uint64_t val = entry(h + 12, d);
                uint64_t flags = h[15] & 7u;
                unsigned a = 0;
                if (h[15] & 8u) {
                    flags |= MBOX_VA + ((uint64_t)h[8] << 3); /* UVMF_MULTI bitmap */
                } else if (h[15] & 0x10u) {
                    flags = w1;
                }
                r.nr = h[2] % 8 == 2 ? PVCORE_HYPERVISOR_update_va_mapping
                                     : PVCORE_HYPERVISOR_update_va_mapping_otherdomain;
                r.arg[a++] = v_addr;
                if (is32) {
                    r.arg[a++] = val & 0xFFFFFFFFu;
                    r.arg[a++] = val >> 32;
                } else {
                    r.arg[a++] = val;
                }
                r.arg[a++] = flags;
                r.arg[a] = h[9] & 0x80u ? (w1 >> 8) : (uint64_t)(h[9] % 4u);
                break;
            }
            case 4:
                r.nr = PVCORE_HYPERVISOR_vm_assist;
                r.arg[0] = h[12] % 3u;
                r.arg[1] = h[13] % 12u;
                break;
            case 5:
            case 6:
                r.nr = PVCORE_HYPERVISOR_xen_version;
                r.arg[0] = h[12] & 0x80u ? (uint64_t)(int8_t)h[12] : h[12] % 12u;
                r.arg[1] = ptr;
                break;
            default:
                r.nr = h[12] % 2 ? PVCORE_HYPERVISOR_console_io : PVCORE_HYPERVISOR_sched_op;
                r.arg[0] = w0;
                break;
            }
            if (is32 && (h[9] & 0x40u)) {
                /* Stale upper halves in a 32-bit guest's registers must not matter. */
                for (k = 0; k < 6; k++) {
                    r.arg[k] |= w0 & 0xFFFFFFFF00000000ull;
                }
                r.nr |= w1 & 0xFFFFFFFF00000000ull;
            }
        }
        va = pvcore_domain_vcpu(c->a.dom[d], (h[0] >> 2) & 1u);
        vb = pvcore_domain_vcpu(c->b.dom[d], (h[0] >> 2) & 1u);
        nr = is32 ? r.nr & 0xFFFFFFFFu : r.nr;
        if (comparable &&
            (nr == PVCORE_HYPERVISOR_mmu_update || nr == PVCORE_HYPERVISOR_mmuext_op) &&
            hazard(&c->a, va, is32, nr == PVCORE_HYPERVISOR_mmuext_op,
                   is32 ? r.arg[0] & 0xFFFFFFFFu : r.arg[0], (uint32_t)r.arg[1],
                   is32 ? r.arg[2] & 0xFFFFFFFFu : r.arg[2])) {
            comparable = 0;
        }
        ra = r;
        rb = r;
        /* While A and B are compared (the same frame table after every operation, the
         * same memory at the end), checking B checks A too. */
        rca = call(&c->a, va, is32, &ra, 0, !comparable);
        rcb = call(&c->b, vb, is32, &rb, preempt, 1);
        if (comparable && (rca != rcb || ra.ret != rb.ret)) {
            fprintf(stderr, "nr %llu: A rc %d ret %#llx, B rc %d ret %#llx\n", (unsigned long long)nr,
                    rca, (unsigned long long)ra.ret, rcb, (unsigned long long)rb.ret);
            die("preempted and uninterrupted runs differ (result)", NULL);
        }
        if (rca == PVCORE_HYPERCALL_UNHANDLED &&
            (memcmp(&ra, &r, sizeof(r)) != 0 || memcmp(&rb, &r, sizeof(r)) != 0)) {
            die("UNHANDLED changed the registers", NULL);
        }
        if (rca == PVCORE_HYPERCALL_DONE && nr != PVCORE_HYPERVISOR_xen_version &&
            (is32 ? (int32_t)(uint32_t)ra.ret : (int64_t)ra.ret) > 0) {
            die("positive result", NULL);
        }
        c->compare = comparable;
        return 16;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctx c;
    size_t off;
    uint32_t budget = size > 0 ? 8u + data[0] * 4u : 0u;
    uint64_t i;

    memset(&c, 0, sizeof(c));
    mach_new(&c.a, budget);
    mach_new(&c.b, budget);
    c.compare = 1;
    for (off = 1; off + 16 <= size;) {
        size_t used = op(&c, data + off, data + off + 16, size - off - 16);
        off += 16 + used;
        settle(&c.a);
        settle(&c.b);
        if (c.compare) {
            compare_frames(&c);
        }
    }
    if (c.compare) {
        compare_frames(&c);
        for (i = 0; i < FRAMES; i++) {
            if (memcmp(fp(&c.a, i), fp(&c.b, i), 4096) != 0) {
                fprintf(stderr, "frame %llu\n", (unsigned long long)i);
                die("preempted and uninterrupted runs differ (memory)", NULL);
            }
        }
    }
    mach_free(&c.a);
    mach_free(&c.b);
    return 0;
}
