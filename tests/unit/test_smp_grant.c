/*
 * SMP stress for grant tables (run under ThreadSanitizer in CI): the gntenv.h fixture (the
 * 64-bit mapper, domain 1 with 4 vCPUs; the 32-bit granter, domain 2), one thread per vCPU,
 * all at once:
 *
 * - three mapper vCPUs map and unmap, each into its own slots of the mapper's one L1: the
 *   same grant references as each other (STABLE: four entries the granter never touches)
 *   and the ones the granter keeps rewriting (CHURN), host parts at a virtual address or
 *   through GNTMAP_contains_pte, device parts, both, read-write and read-only; unmapping
 *   both parts at once or one at a time, after a refused unmap (wrong address, wrong bus
 *   address, no such handle) now and then; copy ops through the same grants (grant to own
 *   frame, own frame to grant, grant to grant) and cache_flush of what they hold;
 * - the granter's vCPU rewrites its CHURN entries as a guest does (revoking with a
 *   compare-and-swap that clears GTF_permit_access only while GTF_reading and GTF_writing
 *   are clear, re-granting: frame first, flags last) and as a hostile one does (changing
 *   the frame of an entry in use, toggling GTF_readonly under a mapping, clearing the
 *   in-use bits the hypervisor set, granting a frame it does not own, or to another domain);
 *   meanwhile it asks to switch its table's version (refused: the long-lived mappings pin
 *   entries) and for its size;
 * - the fourth mapper vCPU attacks the grant PTEs with mmu_update and update_va_mapping:
 *   four long-lived ones (clear, read-only, another frame, the mark cleared, available and
 *   accessed bits, PRESERVE_AD) and the mappers' changing ones (clear whatever is there,
 *   forge a marked entry): every attempt on a grant PTE is refused and leaves it as it was.
 *
 * What must hold: every call returns one of the results the ABI allows for it (maps of a
 * STABLE entry, and every unmap of a handle held, always succeed; each mapping's PTE and
 * bus address name a frame of the granter's with the entry's pattern; a copy's bytes are
 * one frame's, and while a thread holds a mapping of an entry, whatever it maps or copies
 * through that entry is the same frame, however the granter rewrites the entry); no data
 * race; and after the threads join and everything is unmapped, every frame's owner, flags,
 * counts (and type, while referenced) are exactly as before the threads started, no entry has
 * an in-use bit left, no grant PTE is left, every maptrack handle can be used again,
 * the invariant checker passes, and destroying both domains frees every frame.
 *
 * The version-2 run (test_smp_grant_v2) switches the granter's table to version 2 first:
 * its entries are 16 bytes, the in-use bits are in its status array, and revoking is
 * version 2's (clear the flags, a full barrier, then look at the status).
 */
#include "gntenv.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define MAPPERS 3u       /* mapper vCPUs 0-2; vCPU 3 is the attacker */
#define ATTACKER 3u
#define OPS_PER_MAPPER 4000u
#define MIN_LOOPS 2000u  /* the granter's and the attacker's least iterations */
#define HOLD 8u          /* mappings each mapper thread holds at most */
#define HANDLES 32u      /* the mapper's maptrack: more than 3 * HOLD + NLONG */
#define NSTABLE 4u
#define STABLE0 8u       /* refs 8-11 */
#define NCHURN 8u
#define CHURN0 16u       /* refs 16-23 */
#define NCFRAMES 4u      /* frames the granter moves its CHURN entries between */
#define NLONG 4u
#define LONG0 32u        /* refs 32-35: mapped before the threads start, unmapped after */
#define LONG_SLOT 200u
#define SLOT0 16u        /* mapper thread v maps at slots SLOT0 + 16 v + i, i < HOLD */
#define PATTERN_BYTES 2048u /* each granted frame: a pattern, never written while racing ... */
#define REGION 512u         /* ... then a region per mapper thread, written only by it */

struct shared {
    struct gfix f;
    int v2;
    uint64_t st_frame;            /* the granter's status frame (in use in version 2) */
    uint64_t stable[NSTABLE], churn[NCFRAMES], lng[2];
    uint64_t own[MAPPERS + 1];    /* the mapper's copy frames; own[ATTACKER] for forging */
    uint64_t long_pte[NLONG];     /* the long-lived grant PTEs */
    uint32_t long_h[NLONG];
    uint64_t long_addr[NLONG], long_dev[NLONG];
    _Atomic unsigned started;
    _Atomic unsigned mappers_done;
    _Atomic unsigned granter_loops; /* the mappers go on until the granter has run a while */
};

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The pattern of granted frame mfn's first PATTERN_BYTES. */
static uint8_t pattern(uint64_t mfn)
{
    return (uint8_t)(mfn * 37u + 11u);
}

static bool pte_is_grant_test(uint64_t e)
{
    return (e & (PTE_GNTTAB_BIT | PT_P)) == (PTE_GNTTAB_BIT | PT_P);
}

static uint64_t slot_va(unsigned slot)
{
    return VA + (uint64_t)slot * 4096u;
}

static uint64_t slot_ma(const struct shared *s, unsigned slot)
{
    return (s->f.e.l1 << 12) + (uint64_t)slot * 8u;
}

static _Atomic uint64_t *l1e(struct shared *s, unsigned slot)
{
    return (_Atomic uint64_t *)(void *)&frame_ptr(s->f.t, s->f.e.l1)[slot];
}

/* ---- the granter's entries, through atomics (the library reads them concurrently) ---------- */

static uint8_t *entry(struct shared *s, uint32_t ref)
{
    return (uint8_t *)frame_ptr(s->f.t, s->f.gnt_frame) + ref * (s->v2 ? 16u : 8u);
}

/* {flags, domid} */
static _Atomic uint32_t *hdr(struct shared *s, uint32_t ref)
{
    return (_Atomic uint32_t *)(void *)entry(s, ref);
}

/* The frame (version 2: its low half; the high half stays 0). */
static _Atomic uint32_t *frame_word(struct shared *s, uint32_t ref)
{
    return (_Atomic uint32_t *)(void *)(entry(s, ref) + (s->v2 ? 8u : 4u));
}

static _Atomic uint16_t *status(struct shared *s, uint32_t ref)
{
    return (_Atomic uint16_t *)(void *)((uint8_t *)frame_ptr(s->f.t, s->st_frame) + ref * 2u);
}

/* GTF_reading and GTF_writing as the granter sees them. */
static uint16_t in_use(struct shared *s, uint32_t ref)
{
    uint16_t v = s->v2 ? atomic_load_explicit(status(s, ref), memory_order_seq_cst)
                       : (uint16_t)atomic_load_explicit(hdr(s, ref), memory_order_acquire);
    return v & (PVCORE_GTF_reading | PVCORE_GTF_writing);
}

/* Publishes entry ref (single-threaded setup, or by the granter thread): frame first. */
static void publish(struct shared *s, uint32_t ref, uint16_t flags, uint16_t domid, uint64_t frame)
{
    atomic_store_explicit(frame_word(s, ref), (uint32_t)frame, memory_order_relaxed);
    if (s->v2) {
        atomic_store_explicit(frame_word(s, ref) + 1, 0, memory_order_relaxed);
    }
    /* release: the frame is written before the flags that make it usable */
    atomic_store_explicit(hdr(s, ref), (uint32_t)flags | (uint32_t)domid << 16, memory_order_release);
}

/* ---- hypercalls from a thread (no cmocka assertion off the main thread) --------------------- */

/* grant_table_op(cmd, uop, count) from vCPU vc of domain index d, restarted as the guest
 * would re-execute it. Returns the result, or 1 if the call was not handled. */
static int64_t gop(struct shared *s, int d, uint32_t vc, uint32_t cmd, uint64_t uop, uint32_t count)
{
    struct pvcore_hypercall_regs r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.nr = PVCORE_HYPERVISOR_grant_table_op;
    r.arg[0] = cmd;
    r.arg[1] = uop;
    r.arg[2] = count;
    while ((rc = pvcore_hypercall(vcpu(s->f.t, d, vc), &r)) == PVCORE_HYPERCALL_RESTART) {
    }
    return rc == PVCORE_HYPERCALL_DONE ? (int64_t)r.ret : 1;
}

/* Each mapper vCPU's op array: its own data page (threads never share argument bytes). */
static uint64_t opva(uint32_t vcpu)
{
    return VA + 4096u * (1u + vcpu);
}

struct mapping {
    bool used;
    uint32_t h, flags, ref;
    uint64_t host_addr; /* 0: no host part (left) */
    uint64_t dev;       /* 0: no device part (left) */
    uint64_t mfn;
    unsigned slot;
};

struct worker {
    struct shared *s;
    uint32_t vcpu;
    uint64_t seed;
    struct mapping held[HOLD];
    unsigned bad;
    /* what happened, to show the test did race something */
    unsigned map_ok, map_failed, map_churn_ok, unmaps, parts, refused_unmaps, copies_ok, copies_failed,
        flushes;
    unsigned revoked, revoke_busy, regranted, hostile;
    unsigned attacks, refused, raced;
};

#define BAD(w, ...)                       \
    do {                                  \
        fprintf(stderr, __VA_ARGS__);     \
        fprintf(stderr, "\n");            \
        (w)->bad++;                       \
    } while (0)

static bool is_churn_frame(const struct shared *s, uint64_t mfn)
{
    unsigned i;

    for (i = 0; i < NCFRAMES; i++) {
        if (s->churn[i] == mfn) {
            return true;
        }
    }
    return false;
}

/* The frame of a mapping of ref this thread holds, or 0. */
static uint64_t pinned_frame(const struct worker *w, uint32_t ref)
{
    unsigned i;

    for (i = 0; i < HOLD; i++) {
        if (w->held[i].used && w->held[i].ref == ref) {
            return w->held[i].mfn;
        }
    }
    return 0;
}

static int16_t do_map(struct worker *w, uint64_t host_addr, uint32_t flags, uint32_t ref,
                      uint32_t *h, uint64_t *dev)
{
    struct shared *s = w->s;
    struct pvcore_gnttab_map_grant_ref op;
    int64_t rc;

    memset(&op, 0, sizeof(op));
    op.host_addr = host_addr;
    op.flags = flags;
    op.ref = ref;
    op.dom = GRANTER;
    op.status = 0x5555;
    gwrite(&s->f.e, opva(w->vcpu), &op, sizeof(op));
    rc = gop(s, MAPPER, w->vcpu, PVCORE_GNTTABOP_map_grant_ref, opva(w->vcpu), 1);
    gread(&s->f.e, opva(w->vcpu), &op, sizeof(op));
    if (rc != 0) {
        BAD(w, "vcpu %u: map_grant_ref returned %lld", w->vcpu, (long long)rc);
        return 0x5555;
    }
    *h = op.handle;
    *dev = op.dev_bus_addr;
    return op.status;
}

static int16_t do_unmap(struct worker *w, uint64_t host_addr, uint64_t dev, uint32_t h)
{
    struct shared *s = w->s;
    struct pvcore_gnttab_unmap_grant_ref op;
    int64_t rc;

    memset(&op, 0, sizeof(op));
    op.host_addr = host_addr;
    op.dev_bus_addr = dev;
    op.handle = h;
    op.status = 0x5555;
    gwrite(&s->f.e, opva(w->vcpu), &op, sizeof(op));
    rc = gop(s, MAPPER, w->vcpu, PVCORE_GNTTABOP_unmap_grant_ref, opva(w->vcpu), 1);
    gread(&s->f.e, opva(w->vcpu), &op, sizeof(op));
    if (rc != 0) {
        BAD(w, "vcpu %u: unmap_grant_ref returned %lld", w->vcpu, (long long)rc);
        return 0x5555;
    }
    return op.status;
}

/* ---- the mapper threads --------------------------------------------------------------------- */

static void map_one(struct worker *w, uint64_t r)
{
    struct shared *s = w->s;
    unsigned i, start = (unsigned)(r >> 40) % HOLD, kind = (unsigned)(r >> 8) % 4u;
    bool stable = (r >> 12) % 2u == 0, ro = (r >> 16) % 3u == 0;
    uint32_t ref = stable ? STABLE0 + (uint32_t)(r >> 20) % NSTABLE : CHURN0 + (uint32_t)(r >> 20) % NCHURN;
    uint32_t flags = 0, h = 0;
    uint64_t host_addr = 0, dev = 0, e;
    struct mapping *m = NULL;
    int16_t st;

    for (i = 0; i < HOLD && m == NULL; i++) {
        if (!w->held[(start + i) % HOLD].used) {
            m = &w->held[(start + i) % HOLD];
            m->slot = SLOT0 + 16u * w->vcpu + (start + i) % HOLD;
        }
    }
    if (m == NULL) {
        return;
    }
    switch (kind) {
    case 0:
        flags = PVCORE_GNTMAP_host_map;
        host_addr = slot_va(m->slot);
        break;
    case 1:
        flags = PVCORE_GNTMAP_device_map;
        break;
    case 2:
        flags = PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_device_map;
        host_addr = slot_va(m->slot);
        break;
    default:
        flags = PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_contains_pte;
        host_addr = slot_ma(s, m->slot);
        break;
    }
    if (ro) {
        flags |= PVCORE_GNTMAP_readonly;
    }
    if ((flags & PVCORE_GNTMAP_host_map) && (r >> 24) % 8u == 0) {
        flags |= PVCORE_GNTMAP_application_map;
    }
    st = do_map(w, host_addr, flags, ref, &h, &dev);
    if (st != PVCORE_GNTST_okay) {
        /* A STABLE entry is always mappable; a CHURN one may be revoked, read-only, for
         * another domain, or a frame the granter does not own. */
        if (stable || (st != PVCORE_GNTST_general_error && st != PVCORE_GNTST_bad_page)) {
            BAD(w, "vcpu %u: map of ref %u flags %#x: status %d", w->vcpu, ref, flags, st);
        }
        w->map_failed++;
        return;
    }
    w->map_ok++;
    w->map_churn_ok += !stable;
    if ((dev & 4095u) != 0 || (stable ? dev >> 12 != s->stable[ref - STABLE0] : !is_churn_frame(s, dev >> 12))) {
        BAD(w, "vcpu %u: map of ref %u: bus address %#llx", w->vcpu, ref, (unsigned long long)dev);
    } else if (((const uint8_t *)frame_ptr(s->f.t, dev >> 12))[0] != pattern(dev >> 12)) {
        /* what the mapping reaches has its frame's pattern (written before the threads) */
        BAD(w, "vcpu %u: ref %u's frame has another pattern", w->vcpu, ref);
    }
    if (flags & PVCORE_GNTMAP_host_map) {
        e = atomic_load_explicit(l1e(s, m->slot), memory_order_relaxed);
        if (!(e & PTE_GNTTAB_BIT) || !(e & PT_P) || pte_mfn_test(e) != dev >> 12 || ((e & PT_RW) != 0) == ro) {
            BAD(w, "vcpu %u: slot %u after the map: %#llx", w->vcpu, m->slot, (unsigned long long)e);
        }
    }
    /* A pin fixes the frame: while this thread holds the entry mapped, a change of the
     * entry's frame is ignored. */
    if (pinned_frame(w, ref) != 0 && pinned_frame(w, ref) != dev >> 12) {
        BAD(w, "vcpu %u: ref %u mapped to frame %llu while held at %llu", w->vcpu, ref,
            (unsigned long long)(dev >> 12), (unsigned long long)pinned_frame(w, ref));
    }
    m->used = true;
    m->h = h;
    m->flags = flags;
    m->ref = ref;
    m->host_addr = host_addr;
    m->dev = (flags & PVCORE_GNTMAP_device_map) ? dev : 0;
    m->mfn = dev >> 12;
}

static void expect_unmap(struct worker *w, uint64_t host_addr, uint64_t dev, uint32_t h, int16_t want)
{
    int16_t st = do_unmap(w, host_addr, dev, h);

    if (st != want) {
        BAD(w, "vcpu %u: unmap of handle %u (host %#llx, dev %#llx): status %d, expected %d", w->vcpu, h,
            (unsigned long long)host_addr, (unsigned long long)dev, st, want);
    }
}

static void unmap_one(struct worker *w, struct mapping *m, unsigned mode)
{
    struct shared *s = w->s;

    switch (mode) {
    case 0: /* a wrong host address (the next slot, or the next entry), then on */
        if (m->host_addr != 0) {
            expect_unmap(w, m->host_addr + ((m->flags & PVCORE_GNTMAP_contains_pte) ? 8u : 4096u), m->dev, m->h,
                         PVCORE_GNTST_general_error);
        } else {
            expect_unmap(w, 0, m->dev + 4096u, m->h, PVCORE_GNTST_general_error); /* a wrong bus address */
        }
        w->refused_unmaps++;
        break;
    case 1: /* no such handle */
        expect_unmap(w, m->host_addr, m->dev, HANDLES + m->h, PVCORE_GNTST_bad_handle);
        w->refused_unmaps++;
        break;
    case 2: /* one part at a time */
        if (m->host_addr != 0 && m->dev != 0) {
            expect_unmap(w, m->host_addr, 0, m->h, PVCORE_GNTST_okay);
            m->host_addr = 0;
            w->parts++;
        }
        break;
    default:
        break;
    }
    expect_unmap(w, m->host_addr, m->dev, m->h, PVCORE_GNTST_okay);
    if (m->flags & PVCORE_GNTMAP_host_map) {
        uint64_t e = atomic_load_explicit(l1e(s, m->slot), memory_order_relaxed);
        if (e != 0) {
            BAD(w, "vcpu %u: slot %u after the unmap: %#llx", w->vcpu, m->slot, (unsigned long long)e);
        }
    }
    m->used = false;
    w->unmaps++;
}

/* Copies: grant to own frame, own frame to grant (into this thread's region), grant to
 * grant; a STABLE grant always works, a CHURN one may not. */
static void copy_one(struct worker *w, uint64_t r)
{
    struct shared *s = w->s;
    unsigned mode = (unsigned)(r >> 8) % 3u;
    bool sstable = (r >> 12) % 2u == 0, dstable = (r >> 13) % 2u == 0;
    uint32_t sref = sstable ? STABLE0 + (uint32_t)(r >> 16) % NSTABLE : CHURN0 + (uint32_t)(r >> 16) % NCHURN;
    uint32_t dref = dstable ? STABLE0 + (uint32_t)(r >> 20) % NSTABLE : CHURN0 + (uint32_t)(r >> 20) % NCHURN;
    uint16_t len = (uint16_t)(1u + (r >> 24) % REGION);
    uint16_t soff = (uint16_t)((r >> 34) % (PATTERN_BYTES - len + 1u));
    uint16_t roff = (uint16_t)(PATTERN_BYTES + REGION * w->vcpu + (r >> 44) % (REGION - len + 1u));
    uint8_t *own = (uint8_t *)frame_ptr(s->f.t, s->own[w->vcpu]);
    struct cend src, dst;
    bool must = true;
    uint16_t flags = 0;
    int64_t rc;
    int16_t st;
    unsigned i;

    if (mode == 1) { /* own to grant: from this thread's own frame */
        memset(own + roff, 0xA0 + (int)w->vcpu, len);
        src = (struct cend){ s->own[w->vcpu], PVCORE_DOMID_SELF, roff };
    } else {
        src = (struct cend){ sref, GRANTER, soff };
        flags |= PVCORE_GNTCOPY_source_gref;
        must = sstable;
    }
    if (mode == 0) {
        dst = (struct cend){ s->own[w->vcpu], PVCORE_DOMID_SELF, roff };
    } else {
        dst = (struct cend){ dref, GRANTER, roff };
        flags |= PVCORE_GNTCOPY_dest_gref;
        must = must && dstable;
    }
    put_copy(&s->f, MAPPER, opva(w->vcpu), 0, src, dst, len, flags);
    rc = gop(s, MAPPER, w->vcpu, PVCORE_GNTTABOP_copy, opva(w->vcpu), 1);
    st = copy_status(&s->f, MAPPER, opva(w->vcpu), 0);
    if (rc != 0 || (st != PVCORE_GNTST_okay && (must || (st != PVCORE_GNTST_general_error && st != PVCORE_GNTST_bad_page)))) {
        BAD(w, "vcpu %u: copy mode %u refs %u -> %u: rc %lld status %d", w->vcpu, mode, sref, dref, (long long)rc, st);
        return;
    }
    if (st != PVCORE_GNTST_okay) {
        w->copies_failed++;
        return;
    }
    w->copies_ok++;
    if (mode == 0) {
        /* The bytes of one granted frame's pattern: a STABLE entry's own frame. */
        uint8_t b = own[roff];
        for (i = 0; i < len; i++) {
            if (own[roff + i] != b) {
                break;
            }
        }
        if (i != len || (sstable && b != pattern(s->stable[sref - STABLE0])) ||
            (pinned_frame(w, sref) != 0 && b != pattern(pinned_frame(w, sref)))) {
            BAD(w, "vcpu %u: copy from ref %u: bytes of no single frame, or not the pinned one", w->vcpu, sref);
        }
    } else if (dstable) {
        /* This thread's region of a STABLE frame is written by this thread only. */
        const uint8_t *d = (const uint8_t *)frame_ptr(s->f.t, s->stable[dref - STABLE0]) + roff;
        uint8_t want = mode == 1 ? (uint8_t)(0xA0 + w->vcpu) : (sstable ? pattern(s->stable[sref - STABLE0]) : d[0]);
        for (i = 0; i < len && d[i] == want; i++) {
        }
        if (i != len) {
            BAD(w, "vcpu %u: copy to ref %u: wrong bytes", w->vcpu, dref);
        }
    }
}

/* cache_flush of a frame this thread holds a grant mapping of (0), or of its own (0). */
static void flush_one(struct worker *w, uint64_t r)
{
    struct shared *s = w->s;
    const struct mapping *m = &w->held[(r >> 8) % HOLD];
    uint64_t mfn = m->used ? m->mfn : s->own[w->vcpu];
    uint8_t b[16];
    uint16_t off = 0, len = 64;
    uint32_t op = PVCORE_GNTTAB_CACHE_CLEAN;
    int64_t rc;

    mfn <<= 12;
    memcpy(b, &mfn, 8);
    memcpy(b + 8, &off, 2);
    memcpy(b + 10, &len, 2);
    memcpy(b + 12, &op, 4);
    gwrite(&s->f.e, opva(w->vcpu), b, sizeof(b));
    rc = gop(s, MAPPER, w->vcpu, PVCORE_GNTTABOP_cache_flush, opva(w->vcpu), 1);
    if (rc != 0) {
        BAD(w, "vcpu %u: cache_flush of %#llx: %lld", w->vcpu, (unsigned long long)mfn, (long long)rc);
    }
    w->flushes++;
}

static void start_line(struct shared *s)
{
    /* All five start together, so that they overlap however threads are scheduled. */
    atomic_fetch_add(&s->started, 1);
    while (atomic_load(&s->started) < MAPPERS + 2u) {
        sched_yield();
    }
}

static void *mapper_thread(void *arg)
{
    struct worker *w = arg;
    unsigned n, i;

    start_line(w->s);
    for (n = 0; n < OPS_PER_MAPPER || atomic_load(&w->s->granter_loops) < MIN_LOOPS / 2u; n++) {
        uint64_t r = next(&w->seed);
        unsigned what = (unsigned)(r % 16u);

        if (what < 6) {
            map_one(w, r);
        } else if (what < 11) {
            struct mapping *m = &w->held[(r >> 32) % HOLD];
            if (m->used) {
                unmap_one(w, m, (unsigned)(r >> 4) % 6u);
            }
        } else if (what < 15) {
            copy_one(w, r);
        } else {
            flush_one(w, r);
        }
    }
    for (i = 0; i < HOLD; i++) {
        if (w->held[i].used) {
            unmap_one(w, &w->held[i], 3);
        }
    }
    atomic_fetch_add(&w->s->mappers_done, 1);
    return NULL;
}

/* ---- the granter's vCPU ---------------------------------------------------------------------- */

static void *granter_thread(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->s;
    unsigned n;

    start_line(s);
    for (n = 0; n < MIN_LOOPS || atomic_load(&s->mappers_done) < MAPPERS; n++) {
        uint64_t r = next(&w->seed);
        uint32_t ref = CHURN0 + (uint32_t)(r >> 8) % NCHURN;
        _Atomic uint32_t *hw = hdr(s, ref);
        uint32_t old = atomic_load_explicit(hw, memory_order_acquire);
        uint16_t fl = (uint16_t)old;
        bool granted = (fl & PVCORE_GTF_type_mask) == PVCORE_GTF_permit_access;

        switch (r % 8u) {
        case 0:
        case 1:
        case 2: /* revoke, as a guest ends foreign access */
            if (!granted) {
                break;
            }
            if (!s->v2) {
                /* version 1: only while the hypervisor has neither in-use bit set, and in
                 * one compare-and-swap with its setting them */
                if (fl & (PVCORE_GTF_reading | PVCORE_GTF_writing)) {
                    w->revoke_busy++;
                } else if (atomic_compare_exchange_strong(hw, &old, old & 0xFFFF0000u)) {
                    w->revoked++;
                }
            } else {
                /* version 2: clear the flags, a full barrier, then the status tells whether a
                 * use started before (the entry stays revoked; its frame stays in use) */
                atomic_store_explicit(hw, old & 0xFFFF0000u, memory_order_seq_cst);
                if (in_use(s, ref)) {
                    w->revoke_busy++;
                } else {
                    w->revoked++;
                }
            }
            break;
        case 3:
        case 4: { /* grant again once nothing uses the entry: mostly right, sometimes not */
            uint64_t frame = s->churn[(r >> 16) % NCFRAMES];
            uint16_t nf = PVCORE_GTF_permit_access, dom = MAPPER;
            if (granted || in_use(s, ref)) {
                break;
            }
            if ((r >> 20) % 4u == 0) {
                nf |= PVCORE_GTF_readonly;
            }
            if ((r >> 24) % 16u == 0) {
                dom = PRIV; /* for someone else */
                w->hostile++;
            } else if ((r >> 28) % 16u == 0) {
                frame = s->own[ATTACKER]; /* a frame of the mapper's: GNTST_bad_page */
                w->hostile++;
            }
            publish(s, ref, nf, dom, frame);
            w->regranted++;
            break;
        }
        case 5: /* hostile: another frame under a live entry, in use or not */
            atomic_store_explicit(frame_word(s, ref), (uint32_t)s->churn[(r >> 16) % NCFRAMES],
                                  memory_order_relaxed);
            w->hostile++;
            break;
        case 6: /* hostile: GTF_readonly toggled under whatever maps it */
            if (granted) {
                (void)atomic_compare_exchange_strong(hw, &old, old ^ PVCORE_GTF_readonly);
                w->hostile++;
            }
            break;
        default: /* hostile: the in-use bits cleared under the hypervisor's feet, then maybe
                  * revoked (the granter fools only itself: its frame stays held) */
            if (s->v2) {
                atomic_fetch_and(status(s, ref), (uint16_t) ~(PVCORE_GTF_reading | PVCORE_GTF_writing));
            } else {
                (void)atomic_compare_exchange_strong(hw, &old,
                                                     old & ~(uint32_t)(PVCORE_GTF_reading | PVCORE_GTF_writing));
            }
            w->hostile++;
            break;
        }
        if (n % 16u == 0) {
            /* While the long-lived mappings pin its entries, the table cannot switch
             * versions; asking for the version in force does nothing; the size is one frame. */
            struct pvcore_gnttab_query_size q = { PVCORE_DOMID_SELF, 0, 0, 0x5555 };
            int64_t rc;
            gwrite32(&s->f.g, OPS, s->v2 ? 1u : 2u);
            rc = (int32_t)(uint32_t)gop(s, GRANTER, 0, PVCORE_GNTTABOP_set_version, OPS, 1);
            if (rc != -PVCORE_EBUSY || gread32(&s->f.g, OPS) != (s->v2 ? 2u : 1u)) {
                BAD(w, "granter: set_version while pinned: %lld", (long long)rc);
            }
            gwrite32(&s->f.g, OPS, s->v2 ? 2u : 1u);
            rc = (int32_t)(uint32_t)gop(s, GRANTER, 0, PVCORE_GNTTABOP_set_version, OPS, 1);
            if (rc != 0) {
                BAD(w, "granter: set_version to the version in force: %lld", (long long)rc);
            }
            gwrite(&s->f.g, OPS, &q, sizeof(q));
            rc = (int32_t)(uint32_t)gop(s, GRANTER, 0, PVCORE_GNTTABOP_query_size, OPS, 1);
            gread(&s->f.g, OPS, &q, sizeof(q));
            if (rc != 0 || q.status != PVCORE_GNTST_okay || q.nr_frames != 1) {
                BAD(w, "granter: query_size: %lld, status %d, %u frames", (long long)rc, q.status, q.nr_frames);
            }
        }
        if (n % 64u == 0) {
            atomic_store(&s->granter_loops, n);
            sched_yield(); /* let the mappers map what it grants */
        }
    }
    return NULL;
}

/* ---- the attacker's vCPU: mmu_update and update_va_mapping on grant PTEs ------------------- */

static int mmu_one(struct shared *s, uint64_t ptr, uint64_t val)
{
    pvcore_mmu_update_t u;

    u.ptr = ptr;
    u.val = val;
    return pvcore_mmu_update(vcpu(s->f.t, MAPPER, ATTACKER), &u, 1, NULL, PVCORE_DOMID_SELF);
}

static void *attacker_thread(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->s;
    uint64_t forged = pte(s->own[ATTACKER], PT_P | PT_RW | PT_US);
    unsigned n;

    start_line(s);
    for (n = 0; n < MIN_LOOPS || atomic_load(&s->mappers_done) < MAPPERS; n++) {
        uint64_t r = next(&w->seed);
        int rc;

        if (r % 2u == 0) {
            /* A long-lived grant PTE: every change is refused, whatever its kind. */
            unsigned j = (unsigned)(r >> 8) % NLONG, slot = LONG_SLOT + j;
            uint64_t e = s->long_pte[j], vals[8] = {
                0, e & ~PT_RW, e | PT_RW, e & ~PTE_GNTTAB_BIT, e ^ (1ull << 9), e & ~(PT_A | PT_D),
                forged, forged | PTE_GNTTAB_BIT,
            };
            uint64_t val = vals[(r >> 16) % 8u];
            uint64_t cmd = (r >> 20) % 4u == 0 ? PVCORE_MMU_PT_UPDATE_PRESERVE_AD : PVCORE_MMU_NORMAL_PT_UPDATE;

            if ((r >> 24) % 4u == 0) {
                rc = pvcore_update_va_mapping(vcpu(s->f.t, MAPPER, ATTACKER), slot_va(slot), val, 0,
                                              PVCORE_DOMID_SELF);
            } else {
                rc = mmu_one(s, slot_ma(s, slot) | cmd, val);
            }
            if (rc != -PVCORE_EINVAL) {
                BAD(w, "attacker: update of long slot %u to %#llx: %d", slot, (unsigned long long)val, rc);
            }
            if (atomic_load_explicit(l1e(s, slot), memory_order_relaxed) != e) {
                BAD(w, "attacker: long slot %u changed", slot);
            }
            w->attacks++;
            w->refused++;
        } else {
            /* A mapper's slot, mapped or not just now: a forged mark is always refused;
             * clearing is refused while a grant PTE is there (if the mapper unmapped it
             * meanwhile, it clears an empty slot: the mapper's next map or unmap checks it). */
            unsigned slot = SLOT0 + (unsigned)(r >> 8) % (16u * MAPPERS);
            uint64_t e = atomic_load_explicit(l1e(s, slot), memory_order_relaxed);

            rc = mmu_one(s, slot_ma(s, slot), forged | PTE_GNTTAB_BIT);
            if (rc != -PVCORE_EINVAL) {
                BAD(w, "attacker: forged mark in slot %u: %d", slot, rc);
            }
            if (pte_is_grant_test(e)) {
                if ((r >> 16) % 2u == 0) {
                    rc = mmu_one(s, slot_ma(s, slot), 0);
                } else {
                    rc = pvcore_update_va_mapping(vcpu(s->f.t, MAPPER, ATTACKER), slot_va(slot), 0, 0,
                                                  PVCORE_DOMID_SELF);
                }
                if (rc == -PVCORE_EINVAL) {
                    w->refused++;
                } else if (rc == 0) {
                    w->raced++;
                } else {
                    BAD(w, "attacker: clearing slot %u: %d", slot, rc);
                }
            }
            w->attacks++;
        }
    }
    return NULL;
}

/* ---- the run, and the checks on the main thread ---------------------------------------------- */

static void fill_granted(struct shared *s, uint64_t mfn)
{
    uint8_t *p = (uint8_t *)frame_ptr(s->f.t, mfn);

    memset(p, pattern(mfn), PATTERN_BYTES);
    memset(p + PATTERN_BYTES, 0, 4096u - PATTERN_BYTES);
}

/* Frame mfn's state is `was`'s: owner, flags, counts, and the type while it has any type
 * reference (a frame keeps its last type at type count 0). */
static void expect_same_frame(struct pvtest *t, const struct pvcore_frame_info *was, uint64_t mfn)
{
    struct pvcore_frame_info now = finfo(t, mfn);

    if (now.owner != was->owner || now.flags != was->flags || now.count != was->count ||
        now.type_count != was->type_count || (now.type_count != 0 && now.type != was->type) ||
        now.linear != was->linear) {
        fprintf(stderr, "frame %llu: owner %u->%u flags %#x->%#x count %u->%u type %u->%u tcount %u->%u\n",
                (unsigned long long)mfn, was->owner, now.owner, was->flags, now.flags, was->count, now.count,
                was->type, now.type, was->type_count, now.type_count);
        fail();
    }
}

static void long_map(struct shared *s, unsigned j, uint32_t flags)
{
    struct gfix *f = &s->f;
    unsigned slot = LONG_SLOT + j;

    s->long_addr[j] = (flags & PVCORE_GNTMAP_contains_pte) ? slot_ma(s, slot) : slot_va(slot);
    assert_int_equal(map(f, s->long_addr[j], flags, LONG0 + j, GRANTER, &s->long_h[j], &s->long_dev[j]),
                     PVCORE_GNTST_okay);
    s->long_pte[j] = ml1e(f, slot);
    assert_true(pte_is_grant_test(s->long_pte[j]));
    assert_int_equal(pte_mfn_test(s->long_pte[j]), s->lng[j / 2u]);
    if (!(flags & PVCORE_GNTMAP_device_map)) {
        s->long_dev[j] = 0; /* unmapped by its host part alone */
    }
}

static void smp_grant(int v2)
{
    struct shared *s = calloc(1, sizeof(*s));
    struct gfix *f;
    struct pvtest *t;
    struct pvcore_frame_info *base;
    struct worker w[MAPPERS + 2];
    pthread_t th[MAPPERS + 2];
    unsigned i, slot;
    uint32_t ref, hs[HANDLES + 1];
    uint64_t sum[16] = { 0 };

    assert_non_null(s);
    f = &s->f;
    gfix_init_opt(f, 0, HANDLES, 4);
    t = f->t;
    s->v2 = v2;
    /* Mapper vCPUs 1-3 run on vCPU 0's tables: one L1 for all of them. */
    for (i = 1; i <= ATTACKER; i++) {
        struct pvcore_mmuext_req op = { PVCORE_MMUEXT_NEW_BASEPTR, 0, f->e.root, 0 };
        assert_int_equal(pvcore_mmuext_op(vcpu(t, MAPPER, i), &op, 1, NULL, PVCORE_DOMID_SELF), 0);
    }
    /* Status frames in both runs: version 2 is possible, refused only because of the pins. */
    s->st_frame = alloc_frame(t, GRANTER);
    {
        pvcore_mfn_t sm = pvcore_mfn(s->st_frame);
        assert_int_equal(pvcore_domain_set_grant_status_frames(t->dom[GRANTER], &sm, 1), 0);
    }
    if (v2) {
        gwrite32(&f->g, OPS, 2);
        assert_int_equal(ghc_as(f, GRANTER, PVCORE_GNTTABOP_set_version, OPS, 1), 0);
    }
    fill_granted(s, f->granted);
    for (i = 0; i < NSTABLE; i++) {
        s->stable[i] = alloc_frame(t, GRANTER);
        fill_granted(s, s->stable[i]);
        publish(s, STABLE0 + i, PA, MAPPER, s->stable[i]);
    }
    for (i = 0; i < NCFRAMES; i++) {
        s->churn[i] = alloc_frame(t, GRANTER);
        fill_granted(s, s->churn[i]);
    }
    for (i = 0; i < NCHURN; i++) {
        publish(s, CHURN0 + i, PA, MAPPER, s->churn[i % NCFRAMES]);
    }
    /* Two CHURN entries refuse some maps from the start: read-only, and for another domain. */
    publish(s, CHURN0 + NCHURN - 2u, PA | PVCORE_GTF_readonly, MAPPER, s->churn[0]);
    publish(s, CHURN0 + NCHURN - 1u, PA, PRIV, s->churn[1]);
    for (i = 0; i < 2; i++) {
        s->lng[i] = alloc_frame(t, GRANTER);
        fill_granted(s, s->lng[i]);
    }
    for (i = 0; i < NLONG; i++) {
        publish(s, LONG0 + i, PA, MAPPER, s->lng[i / 2u]);
    }
    for (i = 0; i <= ATTACKER; i++) {
        s->own[i] = alloc_frame(t, MAPPER);
    }
    check_invariants(t);
    base = snapshot(t);

    /* The long-lived mappings the attacker goes after: each kind of host PTE. */
    long_map(s, 0, PVCORE_GNTMAP_host_map);
    long_map(s, 1, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_contains_pte | PVCORE_GNTMAP_readonly);
    long_map(s, 2, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_device_map);
    long_map(s, 3, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_readonly | PVCORE_GNTMAP_application_map);
    check_invariants(t);

    /* ---- all at once ------------------------------------------------------------------------ */
    for (i = 0; i < MAPPERS + 2u; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].s = s;
        w[i].vcpu = i < MAPPERS + 1u ? i : 0;
        w[i].seed = 0x9E3779B97F4A7C15ull * (i + 1u) + (uint64_t)v2; /* fixed: the same ops every run */
        assert_int_equal(pthread_create(&th[i], NULL,
                                        i < MAPPERS ? mapper_thread : i == ATTACKER ? attacker_thread : granter_thread,
                                        &w[i]),
                         0);
    }
    for (i = 0; i < MAPPERS + 2u; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].bad, 0);
        sum[0] += w[i].map_ok;
        sum[1] += w[i].map_failed;
        sum[2] += w[i].map_churn_ok;
        sum[3] += w[i].unmaps;
        sum[4] += w[i].parts;
        sum[5] += w[i].refused_unmaps;
        sum[6] += w[i].copies_ok;
        sum[7] += w[i].copies_failed;
        sum[8] += w[i].flushes;
        sum[9] += w[i].revoked;
        sum[10] += w[i].revoke_busy;
        sum[11] += w[i].regranted;
        sum[12] += w[i].hostile;
        sum[13] += w[i].attacks;
        sum[14] += w[i].refused;
        sum[15] += w[i].raced;
    }
    if (getenv("SMP_GRANT_STATS") != NULL) {
        fprintf(stderr,
                "v%d: maps ok %llu (churn %llu) failed %llu, unmaps %llu (parts %llu, refused %llu), copies ok %llu "
                "failed %llu, cache flushes %llu; granter: revoked %llu busy %llu regranted %llu hostile %llu; "
                "attacker: %llu attempts, %llu refused, %llu found the slot emptied\n",
                v2 ? 2 : 1, (unsigned long long)sum[0], (unsigned long long)sum[2], (unsigned long long)sum[1],
                (unsigned long long)sum[3], (unsigned long long)sum[4], (unsigned long long)sum[5],
                (unsigned long long)sum[6], (unsigned long long)sum[7], (unsigned long long)sum[8],
                (unsigned long long)sum[9], (unsigned long long)sum[10], (unsigned long long)sum[11],
                (unsigned long long)sum[12], (unsigned long long)sum[13], (unsigned long long)sum[14],
                (unsigned long long)sum[15]);
    }
    /* What each thread does by itself happened (what they do to each other depends on the
     * schedule: SMP_GRANT_STATS=1 shows it). */
    assert_true(sum[0] > 1000 && sum[1] > 0 && sum[2] > 0 && sum[3] > 1000 && sum[5] > 0 && sum[6] > 500);
    assert_true(sum[9] > 0 && sum[11] > 0 && sum[12] > 0);
    assert_true(sum[13] >= MIN_LOOPS && sum[14] >= MIN_LOOPS / 4u);
    check_invariants(t);

    /* ---- everything unmapped: exactly the state from before ------------------------------- */
    for (i = 0; i < NLONG; i++) {
        assert_int_equal(ml1e(f, LONG_SLOT + i), s->long_pte[i]);
        assert_int_equal(unmap(f, s->long_addr[i], s->long_dev[i], s->long_h[i]), PVCORE_GNTST_okay);
    }
    for (slot = NDATA; slot < 512; slot++) {
        assert_int_equal(ml1e(f, slot), 0);
    }
    for (ref = 0; ref < 64; ref++) {
        assert_int_equal(in_use(s, ref), 0);
        assert_int_equal(atomic_load(hdr(s, ref)) & (PVCORE_GTF_reading | PVCORE_GTF_writing), 0);
    }
    for (i = 0; i < NSTABLE; i++) {
        assert_int_equal(atomic_load(hdr(s, STABLE0 + i)), PA | (uint32_t)MAPPER << 16);
    }
    for (i = 0; i < NLONG; i++) {
        assert_int_equal(atomic_load(hdr(s, LONG0 + i)), PA | (uint32_t)MAPPER << 16);
    }
    for (i = 0; i < TEST_FRAMES; i++) {
        expect_same_frame(t, &base[i], i);
    }
    /* The granted frames hold their allocation reference alone. */
    for (i = 0; i < NCFRAMES; i++) {
        expect_refs(t, s->churn[i], 1, 0, 0);
    }
    for (i = 0; i < NSTABLE; i++) {
        expect_refs(t, s->stable[i], 1, 0, 0);
    }
    check_invariants(t);

    /* Every maptrack handle is free: HANDLES maps in one call succeed, one more does not. */
    for (i = 0; i <= HANDLES; i++) {
        struct pvcore_gnttab_map_grant_ref op;
        memset(&op, 0, sizeof(op));
        op.flags = PVCORE_GNTMAP_device_map;
        op.ref = STABLE0;
        op.dom = GRANTER;
        gwrite(&f->e, OPS + i * sizeof(op), &op, sizeof(op));
    }
    assert_int_equal(ghc(f, PVCORE_GNTTABOP_map_grant_ref, OPS, HANDLES + 1u), 0);
    for (i = 0; i <= HANDLES; i++) {
        struct pvcore_gnttab_map_grant_ref op;
        gread(&f->e, OPS + i * sizeof(op), &op, sizeof(op));
        assert_int_equal(op.status, i < HANDLES ? PVCORE_GNTST_okay : PVCORE_GNTST_no_device_space);
        hs[i] = op.handle;
    }
    expect_refs(t, s->stable[0], 1 + HANDLES, HANDLES, PVCORE_PGT_WRITABLE);
    for (i = 0; i < HANDLES; i++) {
        assert_int_equal(unmap(f, 0, s->stable[0] << 12, hs[i]), PVCORE_GNTST_okay);
    }
    expect_refs(t, s->stable[0], 1, 0, 0);
    assert_int_equal(in_use(s, STABLE0), 0);

    /* ---- every frame free once both domains are gone --------------------------------------- */
    assert_int_equal(gfix_destroy(f, MAPPER), 0);
    assert_int_equal(gfix_destroy(f, GRANTER), 0);
    for (i = 0; i < TEST_FRAMES; i++) {
        assert_int_equal(finfo(t, i).count, 0);
    }
    check_invariants(t);
    free(base);
    gfix_free(f);
    free(s);
}

static void test_smp_grant(void **state)
{
    (void)state;
    smp_grant(0);
}

static void test_smp_grant_v2(void **state)
{
    (void)state;
    smp_grant(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smp_grant),
        cmocka_unit_test(test_smp_grant_v2),
    };
    return cmocka_run_group_tests_name("smp_grant", tests, NULL, NULL);
}
