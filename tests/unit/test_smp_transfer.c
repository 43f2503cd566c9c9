/*
 * SMP stress for GNTTABOP_transfer (run under ThreadSanitizer in CI): the memenv.h fixture
 * (the 64-bit giver, domain 1 with 4 vCPUs; the 32-bit receiver, domain 2, version-1 table;
 * the privileged domain 0 as a third party), a frame source (framesrc.h), one thread per
 * vCPU, all at once:
 *
 * - two giver vCPUs transfer frames of the giver's to NACC accept_transfer entries of the
 *   receiver, both choosing among the same entries, so that two transfers often race for
 *   one open entry: per accept, at most one may succeed; the other gets
 *   GNTST_general_error and loses its frame (freed), as a frame that could not be stolen
 *   (GNTST_bad_page) stays the giver's;
 * - the receiver's vCPU re-arms its entries as a guest does (gfn first, flags last), takes
 *   each frame that arrives (checking it is its own, untyped, at the gfn it asked for in
 *   the P2M) and gives it back with decrease_reservation, and rewrites the entries as a
 *   hostile guest does while transfers are in flight: revoking them, naming another
 *   domain, adding a flag, setting GTF_transfer_committed itself, changing the gfn under
 *   an open entry;
 * - a third giver vCPU runs memory_op in the giver domain at the same time: populate_physmap
 *   and increase_reservation feed the pool of frames the givers transfer,
 *   decrease_reservation takes frames out of it, and sometimes goes for the very frame a
 *   giver is transferring that moment;
 * - the fourth giver vCPU tries to get hold of the frames being transferred: maps them with
 *   mmu_update in its own slots of its L1 (read-write and read-only), pins them as L1
 *   tables, and grants them to the privileged domain, whose vCPU maps (device mappings)
 *   and copies from those grants: a frame so held cannot be stolen (bad_page), and one
 *   stolen already cannot be held.
 *
 * What must hold: every call returns a result the ABI allows for it; the ledger balances
 * (the transfers reported GNTST_okay into each entry equal the completions the receiver
 * saw there: exactly one success per accept); no data race; after the threads join, no
 * entry is left committed but not completed, every frame is owned by a live domain or
 * free (the domains' tot_pages plus the free frames add up to the machine), the invariant
 * checker passes (counts, M2P/P2M, tot_pages), and destroying the domains frees their
 * frames.
 *
 * test_smp_transfer_destroy: rounds in which the receiver is destroyed while the givers
 * transfer into it (its own vCPU stopped first, as pvcore_domain_destroy() requires): each
 * transfer that starts once the destruction did is GNTST_bad_domain, and every frame ends
 * the round owned by a live domain or free, none by the destroyed receiver, none leaked.
 *
 * test_destroy_meets_frame_give: white box, one thread. frame_give() publishes the new
 * owner of a frame before the count that makes it live; a destruction of that owner
 * scanning its frames at that moment must leave such a frame to frame_give()'s own check
 * of `dying` (it holds no allocation reference yet to drop).
 */
#include "memenv.h"

#include "internal/frame.h" /* white box: the state frame_give() publishes mid-way */

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define RECEIVER GRANTER
#define GIVERS 2u        /* giver vCPUs 0 and 1 */
#define MEMOP_V 2u       /* the giver's vCPU running memory_op */
#define ATTACK_V 3u      /* the giver's vCPU holding frames */
#define NPOOL 32u        /* frames of the giver's the givers may transfer */
#define ACC0 8u          /* the receiver's accept entries: refs ACC0 ... */
#define NACC 6u          /* ... in the main run */
#define NACC_D 24u       /* ... in the destruction rounds */
#define GREF0 16u        /* the attacker's grants to the privileged domain: refs 16-19 */
#define NGRANT 4u
#define ATT_SLOT0 64u    /* the attacker's slots of the giver's L1: 64-67 */
#define NATT 4u
#define P2M_N 8192u
#define GFN_GIVER 2048u  /* the gfns the giver populates: [2048, 4096) */
#define GFN_ARM 4096u    /* the gfns the receiver asks for: [4096, 6144), above every MFN */
#define GFN_HOSTILE 6144u /* the gfns it changes an open entry to: [6144, 8192) */
#define XFERS_PER_GIVER 2000u
#define MIN_LOOPS 1500u  /* the receiver's least iterations; the others run while the givers do */
#define ROUNDS 8u        /* destruction rounds */
#define DSTART 10u       /* transfers in a round before the destruction starts */
#define SPIN_LIMIT 50000000u

struct acc {
    uint32_t gfn, hgfn;  /* the gfn armed with; the last one an open entry was changed to */
    bool dirty;          /* the gfn changed while the entry was open */
    bool forged;         /* the receiver set transfer_committed itself */
    unsigned narm, nhostile;
};

/* Each entry has gfns of its own, so that no two periods in flight share one: the k-th
 * it is armed with, the k-th it is changed to. */
static uint32_t gfn_of(unsigned nacc, unsigned i, uint32_t base, unsigned k)
{
    unsigned span = 2048u / nacc;

    return base + i * span + k % span;
}

struct shared {
    struct gfix f;
    struct framesrc src;
    uint64_t p2m[3][P2M_N];
    int destroy_mode;
    unsigned nacc;
    unsigned nthreads;
    _Atomic unsigned started;
    _Atomic uint64_t pool[NPOOL];          /* 0: empty */
    _Atomic uint8_t tok[TEST_FRAMES];      /* the frame is in the pool or a giver's hands */
    _Atomic uint32_t popgen[TEST_FRAMES];  /* the frame source handed it out (again) */
    _Atomic uint8_t decmark[TEST_FRAMES];  /* a decrease_reservation raced for it since it
                                            * last entered the pool */
    _Atomic uint64_t inflight[GIVERS];     /* the frame giver g is transferring */
    _Atomic unsigned okref[NACC_D];        /* transfers that reported okay, per entry */
    unsigned comp[NACC_D];                 /* completions the receiver saw, per entry */
    struct acc acc[NACC_D];                /* the receiver's own records */
    _Atomic unsigned xfers;
    _Atomic unsigned givers_done;
    _Atomic unsigned recv_loops;
    _Atomic int recv_stop, recv_stopped;
    _Atomic int dying_seen, gone;
};

struct worker {
    struct shared *s;
    uint32_t vcpu;
    uint64_t seed;
    unsigned bad;
    /* what happened, to show the test raced something (SMP_TRANSFER_STATS=1 prints it) */
    unsigned ok, lost, kept, bad_domain, empty;
    unsigned populated, decreased, raced_dec, raced_dec_won;
    unsigned mapped, map_refused, pinned, pin_refused, granted;
    unsigned pmap_ok, pmap_failed, pcopy_ok, pcopy_failed;
    unsigned completions, clobbered, revoked, hostile, rearmed;
};

#define BAD(w, ...)                       \
    do {                                  \
        fprintf(stderr, __VA_ARGS__);     \
        fprintf(stderr, "\n");            \
        (w)->bad++;                       \
    } while (0)

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The frame source, counting what it hands out (before the library gives it to anyone). */
static int src_alloc(void *ctx, uint16_t domid, uint32_t order, uint32_t bits, pvcore_mfn_t *first)
{
    struct shared *s = ctx;
    int rc = framesrc_alloc(&s->src, domid, order, bits, first);
    uint64_t i;

    for (i = 0; rc == 0 && i < (1ull << order) && first->v + i < TEST_FRAMES; i++) {
        atomic_fetch_add(&s->popgen[first->v + i], 1);
    }
    return rc;
}

static void start_line(struct shared *s)
{
    atomic_fetch_add(&s->started, 1);
    while (atomic_load(&s->started) < s->nthreads) {
        sched_yield();
    }
}

/* Each giver vCPU's argument page: its own (threads never share argument bytes). */
static uint64_t opva(uint32_t vcpu)
{
    return VA + 4096u * (1u + vcpu);
}

/* A hypercall from vCPU vc of domain index d, restarted as the guest would re-execute it:
 * the result as the domain's signed word, or INT64_MIN if it was not handled. */
static int64_t hcall_v(struct shared *s, int d, uint32_t vc, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
    uint64_t ret;

    if (pvtest_hcall(vcpu(s->f.t, d, vc), nr, a0, a1, a2, &ret) != PVCORE_HYPERCALL_DONE) {
        return INT64_MIN;
    }
    return d == GRANTER ? (int64_t)(int32_t)(uint32_t)ret : (int64_t)ret;
}

/* One grant_table_op `cmd` from vCPU vc of domain d (address space e): the op written at
 * va, issued and read back. The hypercall's result. */
static int64_t gop1(struct shared *s, const struct env *e, int d, uint32_t vc, uint64_t va, uint32_t cmd, void *op,
                    size_t size)
{
    int64_t rc;

    gwrite(e, va, op, size);
    rc = hcall_v(s, d, vc, PVCORE_HYPERVISOR_grant_table_op, cmd, va, 1);
    gread(e, va, op, size);
    return rc;
}

/* A reservation command of vCPU vc of domain d on itself, its structure at `va` and its
 * extent list at va + 0x200: the extents done. */
static int64_t resv_v(struct shared *s, int d, uint32_t vc, uint64_t va, uint32_t op, uint64_t nr)
{
    put_resv(&s->f, d, va, va + 0x200u, nr, 0, 0, PVCORE_DOMID_SELF);
    return hcall_v(s, d, vc, PVCORE_HYPERVISOR_memory_op, op, va, 0);
}

static bool query(struct shared *s, uint64_t mfn, struct pvcore_frame_info *fi)
{
    memset(fi, 0, sizeof(*fi));
    return pvcore_frame_query(s->f.t->m, pvcore_mfn(mfn), fi) == 0;
}

/* ---- the receiver's entries, through atomics (the library writes them concurrently) ------- */

static _Atomic uint32_t *hdr(struct shared *s, uint32_t ref)
{
    return (_Atomic uint32_t *)(void *)((uint8_t *)frame_ptr(s->f.t, s->f.gnt_frame) + ref * 8u);
}

static _Atomic uint32_t *frame_word(struct shared *s, uint32_t ref)
{
    return (_Atomic uint32_t *)(void *)((uint8_t *)frame_ptr(s->f.t, s->f.gnt_frame) + ref * 8u + 4u);
}

static uint32_t armed(void)
{
    return PVCORE_GTF_accept_transfer | (uint32_t)MAPPER << 16;
}

static uint32_t done_word(void)
{
    return XFER_DONE | (uint32_t)MAPPER << 16;
}

/* The giver's grant entries (the attacker's), in the giver's own table. */
static _Atomic uint32_t *ghdr(struct shared *s, uint32_t ref)
{
    return (_Atomic uint32_t *)(void *)((uint8_t *)frame_ptr(s->f.t, s->f.mgnt_frame) + ref * 8u);
}

static _Atomic uint32_t *gframe_word(struct shared *s, uint32_t ref)
{
    return (_Atomic uint32_t *)(void *)((uint8_t *)frame_ptr(s->f.t, s->f.mgnt_frame) + ref * 8u + 4u);
}

/* ---- the pool of the giver's frames ----------------------------------------------------------- */

/* Takes a frame out of the pool (starting at slot r): 0 if it is empty. */
static uint64_t claim(struct shared *s, uint64_t r)
{
    unsigned i;

    for (i = 0; i < NPOOL; i++) {
        uint64_t x = atomic_exchange(&s->pool[(r + i) % NPOOL], 0);
        if (x != 0) {
            return x;
        }
    }
    return 0;
}

/* Puts frame x (its token held) into an empty slot: false if there is none. */
static bool put_back(struct shared *s, uint64_t x, uint64_t r)
{
    unsigned i;

    for (i = 0; i < NPOOL; i++) {
        uint64_t z = 0;
        if (atomic_compare_exchange_strong(&s->pool[(r + i) % NPOOL], &z, x)) {
            return true;
        }
    }
    return false;
}

static unsigned pool_free_slots(struct shared *s)
{
    unsigned i, n = 0;

    for (i = 0; i < NPOOL; i++) {
        n += atomic_load(&s->pool[i]) == 0;
    }
    return n;
}

/* ---- the givers ------------------------------------------------------------------------------- */

static int16_t do_transfer(struct worker *w, uint64_t mfn, uint16_t to, uint32_t ref)
{
    struct shared *s = w->s;
    struct pvcore_gnttab_transfer_x86_64 op;
    int64_t rc;

    memset(&op, 0, sizeof(op));
    op.mfn = mfn;
    op.domid = to;
    op.ref = ref;
    op.status = 0x5555;
    rc = gop1(s, &s->f.e, MAPPER, w->vcpu, opva(w->vcpu), PVCORE_GNTTABOP_transfer, &op, sizeof(op));
    if (rc != 0) {
        BAD(w, "giver %u: transfer returned %lld", w->vcpu, (long long)rc);
        return 0x5555;
    }
    if (op.mfn != mfn || op.domid != to || op.ref != ref) {
        BAD(w, "giver %u: transfer rewrote its inputs", w->vcpu);
    }
    return op.status;
}

static void *giver_thread(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->s;
    unsigned n, after_gone = 0;

    start_line(s);
    for (n = 0;; n++) {
        uint64_t r = next(&w->seed), mfn;
        uint32_t ref = ACC0 + (uint32_t)((r >> 16) % s->nacc), pg;
        struct pvcore_frame_info fi;
        int dying_before;
        int16_t st;

        if (s->destroy_mode) {
            if (atomic_load(&s->gone) && ++after_gone > 8u) {
                break;
            }
        } else if (n >= XFERS_PER_GIVER && atomic_load(&s->recv_loops) >= MIN_LOOPS) {
            break;
        }
        mfn = claim(s, r);
        if (mfn == 0) {
            w->empty++;
            if (s->destroy_mode && atomic_load(&s->gone)) {
                break;
            }
            sched_yield();
            continue;
        }
        pg = atomic_load(&s->popgen[mfn]);
        atomic_store(&s->inflight[w->vcpu], mfn);
        dying_before = atomic_load(&s->dying_seen);
        st = do_transfer(w, mfn, RECEIVER, ref);
        atomic_store(&s->inflight[w->vcpu], 0);
        atomic_fetch_add(&s->xfers, 1);
        if (!query(s, mfn, &fi)) {
            BAD(w, "giver %u: query of %llu", w->vcpu, (unsigned long long)mfn);
        }
        /* Once the receiver is dying, lookups no longer find it. */
        if (dying_before && st != PVCORE_GNTST_bad_domain) {
            BAD(w, "giver %u: transfer into a dying receiver: status %d", w->vcpu, st);
        }
        switch (st) {
        case PVCORE_GNTST_okay:
            w->ok++;
            atomic_fetch_add(&s->okref[ref - ACC0], 1);
            atomic_store(&s->tok[mfn], 0);
            break;
        case PVCORE_GNTST_bad_domain:
        case PVCORE_GNTST_general_error:
            if (st == PVCORE_GNTST_bad_domain && !s->destroy_mode) {
                BAD(w, "giver %u: bad_domain for a live receiver", w->vcpu);
            }
            w->bad_domain += st == PVCORE_GNTST_bad_domain;
            /* Lost: freed (it may have come back from the frame source since). */
            if (fi.owner == MAPPER && atomic_load(&s->popgen[mfn]) == pg) {
                BAD(w, "giver %u: frame %llu kept after status %d", w->vcpu, (unsigned long long)mfn, st);
            }
            w->lost += st == PVCORE_GNTST_general_error;
            atomic_store(&s->tok[mfn], 0);
            break;
        case PVCORE_GNTST_bad_page:
            /* Kept: held by the attacker, or decreased under the transfer by memory_op
             * (nothing else makes a frame of the pool unstealable). */
            if (s->destroy_mode) {
                BAD(w, "giver %u: bad_page with nobody holding frame %llu", w->vcpu, (unsigned long long)mfn);
            }
            if (fi.owner != MAPPER && !atomic_load(&s->decmark[mfn])) {
                BAD(w, "giver %u: frame %llu lost (owner %u) after bad_page", w->vcpu, (unsigned long long)mfn,
                    fi.owner);
            }
            w->kept++;
            if (fi.owner != MAPPER || !put_back(s, mfn, r >> 32)) {
                atomic_store(&s->tok[mfn], 0);
            }
            break;
        default:
            BAD(w, "giver %u: transfer of %llu to ref %u: status %d", w->vcpu, (unsigned long long)mfn, ref, st);
            break;
        }
        if (n % 32u == 31u) {
            sched_yield();
        }
    }
    atomic_fetch_add(&s->givers_done, 1);
    return NULL;
}

/* ---- the giver's memory_op vCPU --------------------------------------------------------------- */

/* A frame the giver just got: into the pool if nobody holds a token for it (a giver still
 * may, if a raced decrease freed it under the transfer), else left as it is. */
static void add_frame(struct worker *w, uint64_t x, uint64_t r)
{
    struct shared *s = w->s;
    uint8_t z = 0;
    int64_t done;

    if (x < FRAMESRC_FIRST || x >= TEST_FRAMES) {
        BAD(w, "memop: frame %llu from outside the frame source", (unsigned long long)x);
        return;
    }
    if (!atomic_compare_exchange_strong(&s->tok[x], &z, 1)) {
        return;
    }
    /* (The mark goes only now that the frame is the giver's again: a giver that saw it
     * not the giver's after bad_page found it set.) */
    atomic_store(&s->decmark[x], 0);
    if (put_back(s, x, r)) {
        w->populated++;
        return;
    }
    put_ext(&s->f, MAPPER, opva(MEMOP_V) + 0x200u, 0, x);
    done = resv_v(s, MAPPER, MEMOP_V, opva(MEMOP_V), PVCORE_XENMEM_decrease_reservation, 1);
    if (done != 1) {
        BAD(w, "memop: decrease of spare frame %llu: %lld", (unsigned long long)x, (long long)done);
    }
    atomic_store(&s->tok[x], 0);
}

static void *memop_thread(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->s;
    const uint64_t va = opva(MEMOP_V), list = va + 0x200u;
    unsigned n, gfn = 0;

    start_line(s);
    for (n = 0; (!s->destroy_mode && n < MIN_LOOPS) || atomic_load(&s->givers_done) < GIVERS; n++) {
        uint64_t r = next(&w->seed), x;
        unsigned k = 1u + (unsigned)((r >> 8) % 4u), i;
        int64_t done;

        /* (While the receiver is destroyed, only feeding the pool: nothing else may make a
         * transfer fail with bad_page then.) */
        switch (s->destroy_mode ? r % 5u : r % 8u) {
        case 0:
        case 1:
        case 2:
        case 3:
        case 4: /* populate_physmap or increase_reservation into the pool */
            if (pool_free_slots(s) < k) {
                break;
            }
            for (i = 0; i < k; i++) {
                put_ext(&s->f, MAPPER, list, i, GFN_GIVER + (gfn++ % 2048u));
            }
            done = resv_v(s, MAPPER, MEMOP_V, va,
                          r % 8u == 4 ? PVCORE_XENMEM_increase_reservation : PVCORE_XENMEM_populate_physmap, k);
            if (done < 0 || done > (int64_t)k) {
                BAD(w, "memop: %s of %u: %lld", r % 8u == 4 ? "increase" : "populate", k, (long long)done);
                break;
            }
            for (i = 0; i < (unsigned)done; i++) {
                add_frame(w, get_ext(&s->f, MAPPER, list, i), r >> 16);
            }
            break;
        case 5:
        case 6: /* a frame out of the pool back to the frame source: succeeds, but for one
                 * a raced decrease below freed already */
            x = claim(s, r >> 16);
            if (x == 0) {
                break;
            }
            put_ext(&s->f, MAPPER, list, 0, x);
            done = resv_v(s, MAPPER, MEMOP_V, va, PVCORE_XENMEM_decrease_reservation, 1);
            if (done != 1 && !(done == 0 && atomic_load(&s->decmark[x]))) {
                BAD(w, "memop: decrease of pool frame %llu: %lld", (unsigned long long)x, (long long)done);
            }
            w->decreased++;
            atomic_store(&s->tok[x], 0);
            break;
        default: /* the frame a giver is transferring right now (or was: the value may be
                  * stale, the frame back in the pool): either may win */
            x = atomic_load(&s->inflight[(r >> 8) % GIVERS]);
            if (x == 0) {
                break;
            }
            atomic_store(&s->decmark[x], 1);
            put_ext(&s->f, MAPPER, list, 0, x);
            done = resv_v(s, MAPPER, MEMOP_V, va, PVCORE_XENMEM_decrease_reservation, 1);
            if (done != 0 && done != 1) {
                BAD(w, "memop: racing decrease of %llu: %lld", (unsigned long long)x, (long long)done);
            }
            w->raced_dec++;
            w->raced_dec_won += done == 1;
            break;
        }
        if (n % 16u == 15u) {
            sched_yield();
        }
    }
    return NULL;
}

/* ---- the giver's vCPU that holds frames ------------------------------------------------------- */

static int mmu_one(struct shared *s, uint64_t ptr, uint64_t val)
{
    pvcore_mmu_update_t u;

    u.ptr = ptr;
    u.val = val;
    return pvcore_mmu_update(vcpu(s->f.t, MAPPER, ATTACK_V), &u, 1, NULL, PVCORE_DOMID_SELF);
}

static int ext_one(struct shared *s, uint32_t cmd, uint64_t mfn)
{
    struct pvcore_mmuext_req op;
    int rc;

    memset(&op, 0, sizeof(op));
    op.cmd = cmd;
    op.arg1 = mfn;
    while ((rc = pvcore_mmuext_op(vcpu(s->f.t, MAPPER, ATTACK_V), &op, 1, NULL, PVCORE_DOMID_SELF)) ==
           -PVCORE_ERESTART) {
    }
    return rc;
}

static void *attacker_thread(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->s;
    unsigned n;

    start_line(s);
    for (n = 0; n < MIN_LOOPS || atomic_load(&s->givers_done) < GIVERS; n++) {
        uint64_t r = next(&w->seed);
        /* Mostly a frame being transferred this moment; else one in the pool. */
        uint64_t x = (r >> 4) % 4u != 0 ? atomic_load(&s->inflight[(r >> 6) % GIVERS]) : 0;
        unsigned slot = ATT_SLOT0 + (unsigned)((r >> 24) % NATT), i, op = (unsigned)((r >> 20) % 4u);
        uint64_t ptr = (s->f.e.l1 << 12) + slot * 8u;
        int rc;

        for (i = 0; x == 0 && i < NPOOL; i++) { /* else any frame in the pool */
            x = atomic_load(&s->pool[((r >> 8) + i) % NPOOL]);
        }
        if (x == 0) {
            /* Nothing of the giver's to hand: a frame that is never its own, the privileged
             * domain's grant table (refused, -EBUSY or -EINVAL), so that the attacker attacks
             * on every iteration however the threads are scheduled. */
            x = s->f.pgnt_frame;
            op %= 3u;
            if (n % 8u == 7u) {
                sched_yield();
            }
        }
        switch (op) {
        case 0:
        case 1: /* map it in an L1 slot of its own, for a while */
            rc = mmu_one(s, ptr, pte(x, PT_P | PT_US | (op == 0 ? PT_RW : 0u)));
            if (rc == 0) {
                w->mapped++;
                for (i = 0; i < (unsigned)((r >> 32) % 4u); i++) {
                    sched_yield();
                }
                rc = mmu_one(s, ptr, 0);
                if (rc != 0) {
                    BAD(w, "attacker: clearing slot %u: %d", slot, rc);
                }
            } else if (rc == -PVCORE_EBUSY || rc == -PVCORE_EINVAL) {
                /* Not (or no longer) the giver's: in transit or free (-EBUSY), another
                 * domain's (-EBUSY), or refused otherwise (-EINVAL). */
                w->map_refused++;
            } else {
                BAD(w, "attacker: mapping frame %llu: %d", (unsigned long long)x, rc);
            }
            break;
        case 2: /* pin it as an L1 (its contents are zero: a valid, empty one) */
            rc = ext_one(s, PVCORE_MMUEXT_PIN_L1_TABLE, x);
            if (rc == 0) {
                w->pinned++;
                rc = ext_one(s, PVCORE_MMUEXT_UNPIN_TABLE, x);
                if (rc != 0) {
                    BAD(w, "attacker: unpinning frame %llu: %d", (unsigned long long)x, rc);
                }
            } else if (rc == -PVCORE_EINVAL) {
                w->pin_refused++;
            } else {
                BAD(w, "attacker: pinning frame %llu: %d", (unsigned long long)x, rc);
            }
            break;
        default: { /* grant it to the privileged domain, as a guest does (or rewrite a live
                    * grant's frame, as a hostile one does) */
            uint32_t ref = GREF0 + (uint32_t)((r >> 24) % NGRANT);
            _Atomic uint32_t *hw = ghdr(s, ref);
            uint32_t old = atomic_load(hw);
            if ((old & (PVCORE_GTF_reading | PVCORE_GTF_writing)) != 0) {
                atomic_store_explicit(gframe_word(s, ref), (uint32_t)x, memory_order_relaxed);
            } else if (old == 0 || atomic_compare_exchange_strong(hw, &old, 0)) {
                atomic_store_explicit(gframe_word(s, ref), (uint32_t)x, memory_order_relaxed);
                atomic_store_explicit(hw, PA | (uint32_t)PRIV << 16, memory_order_release);
            }
            w->granted++;
            break;
        }
        }
    }
    return NULL;
}

/* ---- the privileged domain's vCPU: maps and copies what the attacker grants it ---------------- */

static void *priv_thread(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->s;
    const struct env *e = &s->f.p;
    uint32_t held_h[NGRANT];
    uint64_t held_mfn[NGRANT] = { 0 };
    unsigned n, k;

    start_line(s);
    for (n = 0; n < MIN_LOOPS || atomic_load(&s->givers_done) < GIVERS; n++) {
        uint64_t r = next(&w->seed);
        uint32_t ref;
        int64_t rc;

        k = (unsigned)(r % NGRANT);
        ref = GREF0 + k;
        if (held_mfn[k] != 0) {
            struct pvcore_gnttab_unmap_grant_ref op;
            memset(&op, 0, sizeof(op));
            op.dev_bus_addr = held_mfn[k] << 12;
            op.handle = held_h[k];
            op.status = 0x5555;
            rc = gop1(s, e, PRIV, 0, OPS, PVCORE_GNTTABOP_unmap_grant_ref, &op, sizeof(op));
            if (rc != 0 || op.status != PVCORE_GNTST_okay) {
                BAD(w, "priv: unmap of handle %u: %lld, status %d", held_h[k], (long long)rc, op.status);
            }
            held_mfn[k] = 0;
        } else if ((r >> 8) % 3u != 0) {
            struct pvcore_gnttab_map_grant_ref op;
            struct pvcore_frame_info fi;
            memset(&op, 0, sizeof(op));
            op.flags = PVCORE_GNTMAP_device_map | ((r >> 12) % 2u ? PVCORE_GNTMAP_readonly : 0u);
            op.ref = ref;
            op.dom = MAPPER;
            op.status = 0x5555;
            rc = gop1(s, e, PRIV, 0, OPS, PVCORE_GNTTABOP_map_grant_ref, &op, sizeof(op));
            if (rc != 0) {
                BAD(w, "priv: map returned %lld", (long long)rc);
            } else if (op.status == PVCORE_GNTST_okay) {
                w->pmap_ok++;
                held_h[k] = op.handle;
                held_mfn[k] = op.dev_bus_addr >> 12;
                /* While mapped, the frame is the giver's: nobody can steal it. */
                if (!query(s, held_mfn[k], &fi) || fi.owner != MAPPER || fi.count < 1) {
                    BAD(w, "priv: mapped frame %llu: owner %u count %u", (unsigned long long)held_mfn[k], fi.owner,
                        fi.count);
                }
            } else if (op.status == PVCORE_GNTST_general_error || op.status == PVCORE_GNTST_bad_page) {
                w->pmap_failed++; /* revoked or rewritten meanwhile, or no longer the giver's */
            } else {
                BAD(w, "priv: map of ref %u: status %d", ref, op.status);
            }
        } else {
            struct pvcore_gnttab_copy_x86_64 op;
            memset(&op, 0, sizeof(op));
            op.source.u.ref = ref;
            op.source.domid = MAPPER;
            op.dest.u.gmfn = e->data[3];
            op.dest.domid = PVCORE_DOMID_SELF;
            op.dest.offset = (uint16_t)(8u * k);
            op.len = 8;
            op.flags = PVCORE_GNTCOPY_source_gref;
            op.status = 0x5555;
            rc = gop1(s, e, PRIV, 0, OPS, PVCORE_GNTTABOP_copy, &op, sizeof(op));
            if (rc != 0) {
                BAD(w, "priv: copy returned %lld", (long long)rc);
            } else if (op.status == PVCORE_GNTST_okay) {
                w->pcopy_ok++;
            } else if (op.status == PVCORE_GNTST_general_error || op.status == PVCORE_GNTST_bad_page) {
                w->pcopy_failed++;
            } else {
                BAD(w, "priv: copy from ref %u: status %d", ref, op.status);
            }
        }
        if (n % 16u == 15u) {
            sched_yield();
        }
    }
    for (k = 0; k < NGRANT; k++) {
        if (held_mfn[k] != 0) {
            struct pvcore_gnttab_unmap_grant_ref op;
            int64_t rc;
            memset(&op, 0, sizeof(op));
            op.dev_bus_addr = held_mfn[k] << 12;
            op.handle = held_h[k];
            rc = gop1(s, e, PRIV, 0, OPS, PVCORE_GNTTABOP_unmap_grant_ref, &op, sizeof(op));
            if (rc != 0 || op.status != PVCORE_GNTST_okay) {
                BAD(w, "priv: final unmap: %lld, status %d", (long long)rc, op.status);
            }
        }
    }
    return NULL;
}

/* ---- the receiver's vCPU ---------------------------------------------------------------------- */

static void rearm(struct shared *s, unsigned i)
{
    struct acc *a = &s->acc[i];

    a->gfn = gfn_of(s->nacc, i, GFN_ARM, a->narm++);
    a->dirty = false;
    atomic_store_explicit(frame_word(s, ACC0 + i), a->gfn, memory_order_relaxed);
    /* release: the gfn is written before the flags that open the entry */
    atomic_store_explicit(hdr(s, ACC0 + i), armed(), memory_order_release);
}

/* A frame arrived in entry i: it is the receiver's alone, untyped, at the gfn asked for;
 * it goes back with decrease_reservation. (A frame field the receiver itself overwrote,
 * racing the completion, names no frame: that frame stays the receiver's.) */
static void take(struct worker *w, unsigned i, uint32_t mfn)
{
    struct shared *s = w->s;
    const struct acc *a = &s->acc[i];
    struct pvcore_frame_info fi;
    int64_t done;

    s->comp[i]++;
    w->completions++;
    if (mfn >= TEST_FRAMES) {
        if (!a->dirty) {
            BAD(w, "receiver: entry %u completed with frame %#x", ACC0 + i, mfn);
        }
        w->clobbered++;
        return;
    }
    /* (count: the allocation reference, and maybe a passing one of another vCPU's that
     * tried this frame and backs off: it is not its own) */
    if (!query(s, mfn, &fi) || fi.owner != RECEIVER || fi.count < 1 || fi.type_count != 0 ||
        (fi.flags & (PVCORE_FRAME_PINNED | PVCORE_FRAME_ALLOCATED)) != PVCORE_FRAME_ALLOCATED) {
        BAD(w, "receiver: frame %u from entry %u: owner %u count %u type_count %u flags %#x", mfn, ACC0 + i,
            fi.owner, fi.count, fi.type_count, fi.flags);
        return;
    }
    if (s->p2m[RECEIVER][a->gfn] != mfn && !(a->dirty && s->p2m[RECEIVER][a->hgfn] == mfn)) {
        BAD(w, "receiver: frame %u is not at gfn %#x (nor %#x) in the P2M", mfn, a->gfn, a->dirty ? a->hgfn : 0);
    }
    put_ext(&s->f, RECEIVER, LIST_VA, 0, mfn);
    done = resv_v(s, RECEIVER, 0, RESV_VA, PVCORE_XENMEM_decrease_reservation, 1);
    if (done != 1) {
        BAD(w, "receiver: decrease of frame %u: %lld", mfn, (long long)done);
    }
}

static void *receiver_thread(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->s;
    unsigned n;

    start_line(s);
    for (n = 0;; n++) {
        uint64_t r = next(&w->seed);
        unsigned i = (unsigned)(r % s->nacc);
        _Atomic uint32_t *hw = hdr(s, ACC0 + i);
        uint32_t old = atomic_load_explicit(hw, memory_order_acquire);
        /* (GTF_readonly would be GTF_transfer_committed: the same bit in a transfer entry.) */
        uint32_t flag = armed() | PVCORE_GTF_PWT, other = PVCORE_GTF_accept_transfer | (uint32_t)PRIV << 16;
        uint32_t forged = armed() | PVCORE_GTF_transfer_committed;

        if (s->destroy_mode ? atomic_load(&s->recv_stop) != 0
                            : n >= MIN_LOOPS && atomic_load(&s->givers_done) == GIVERS) {
            break;
        }
        if (n % 64u == 0) {
            atomic_store(&s->recv_loops, n);
            sched_yield();
        }
        if (old == done_word()) {
            /* acquire (the load above): the frame field is the hypervisor's by now */
            take(w, i, atomic_load_explicit(frame_word(s, ACC0 + i), memory_order_relaxed));
            rearm(s, i);
            w->rearmed++;
        } else if (old == forged && s->acc[i].forged) {
            /* Its own forgery (no transfer could commit meanwhile): open it again. */
            if (atomic_compare_exchange_strong(hw, &old, armed())) {
                s->acc[i].forged = false;
            } else {
                BAD(w, "receiver: forged entry %u changed to %#x", ACC0 + i, old);
            }
        } else if (old & PVCORE_GTF_transfer_committed) {
            /* A transfer is completing: the entry is the hypervisor's until it is done. */
            if (old != forged) {
                BAD(w, "receiver: entry %u committed as %#x", ACC0 + i, old);
            }
        } else if (old == armed()) {
            switch ((r >> 8) % 16u) {
            case 0: /* revoke it, as a guest that no longer wants a frame */
                if (atomic_compare_exchange_strong(hw, &old, 0)) {
                    w->revoked++;
                }
                break;
            case 1: /* hostile: for another domain */
                w->hostile += atomic_compare_exchange_strong(hw, &old, other);
                break;
            case 2: /* hostile: another flag with it */
                w->hostile += atomic_compare_exchange_strong(hw, &old, flag);
                break;
            case 4: /* hostile: committed, as if a transfer had come */
                if (atomic_compare_exchange_strong(hw, &old, forged)) {
                    s->acc[i].forged = true;
                    w->hostile++;
                }
                break;
            case 3: { /* hostile: another gfn under the open entry (once: the transfer
                       * may have read either) */
                struct acc *a = &s->acc[i];
                if (!a->dirty) {
                    a->hgfn = gfn_of(s->nacc, i, GFN_HOSTILE, a->nhostile++);
                    a->dirty = true;
                    atomic_store_explicit(frame_word(s, ACC0 + i), a->hgfn, memory_order_relaxed);
                    w->hostile++;
                }
                break;
            }
            default:
                break;
            }
        } else if (old == 0) {
            rearm(s, i);
            w->rearmed++;
        } else if (old == other || old == flag) {
            (void)atomic_compare_exchange_strong(hw, &old, armed()); /* open it again */
        } else {
            BAD(w, "receiver: entry %u is %#x", ACC0 + i, old);
        }
    }
    /* Its forgeries undone (and never completed by anyone). */
    for (n = 0; n < s->nacc; n++) {
        uint32_t old = armed() | PVCORE_GTF_transfer_committed;
        if (s->acc[n].forged && !atomic_compare_exchange_strong(hdr(s, ACC0 + n), &old, armed())) {
            BAD(w, "receiver: forged entry %u changed to %#x", ACC0 + n, old);
        }
        s->acc[n].forged = false;
    }
    atomic_store(&s->recv_stopped, 1);
    return NULL;
}

/* ---- set-up and the checks on the main thread ------------------------------------------------- */

static struct pvcore_frame_info frame_of(struct shared *s, uint64_t mfn)
{
    return finfo(s->f.t, mfn);
}

/* Every frame is owned by a live domain (counted in its tot_pages) or free. */
static void expect_accounted(struct shared *s)
{
    struct pvtest *t = s->f.t;
    uint64_t mfn, nfree = 0, owned[3] = { 0 }, sum = 0;
    int d;

    for (mfn = 0; mfn < TEST_FRAMES; mfn++) {
        struct pvcore_frame_info fi = frame_of(s, mfn);
        if (fi.owner == PVCORE_DOMID_INVALID) {
            assert_int_equal(fi.count, 0);
            nfree++;
        } else if (fi.owner < 3 && t->dom[fi.owner] != NULL) {
            assert_true(fi.count > 0);
            owned[fi.owner]++;
        } else {
            fprintf(stderr, "frame %llu: owner %#x, count %u\n", (unsigned long long)mfn, fi.owner, fi.count);
            fail();
        }
    }
    for (d = 0; d < 3; d++) {
        if (t->dom[d] != NULL) {
            assert_int_equal(pvcore_domain_tot_pages(t->dom[d]), owned[d]);
            sum += owned[d];
        }
    }
    assert_int_equal(sum + nfree, TEST_FRAMES);
    check_invariants(t);
}

static void set_p2m(struct shared *s, int d)
{
    assert_int_equal(pvcore_domain_set_p2m(s->f.t->dom[d], s->p2m[d], P2M_N), 0);
}

static struct shared *shared_new(void)
{
    struct shared *s = calloc(1, sizeof(*s));
    struct gfix *f;
    struct pvtest *t;
    uint32_t i;

    assert_non_null(s);
    f = &s->f;
    gfix_init_opt(f, 0, 4, 4);
    t = f->t;
    gfix_priv(f);
    framesrc_init(&s->src, t);
    pvcore_machine_set_frame_source(t->m, src_alloc, s);
    set_p2m(s, MAPPER);
    set_p2m(s, RECEIVER);
    /* The giver's vCPUs 1-3 run on vCPU 0's tables: one address space, one L1. */
    for (i = 1; i <= ATTACK_V; i++) {
        struct pvcore_mmuext_req op = { PVCORE_MMUEXT_NEW_BASEPTR, 0, f->e.root, 0 };
        assert_int_equal(pvcore_mmuext_op(vcpu(t, MAPPER, i), &op, 1, NULL, PVCORE_DOMID_SELF), 0);
    }
    return s;
}

/* Fills the pool from the main thread (before the threads start). */
static void fill_pool(struct shared *s, unsigned n)
{
    unsigned i;

    for (i = 0; i < n && i < NPOOL; i++) {
        uint64_t x;
        put_ext(&s->f, MAPPER, LIST_VA, 0, GFN_GIVER + 2000u + i);
        assert_int_equal(resv_as(&s->f, MAPPER, PVCORE_XENMEM_populate_physmap, LIST_VA, 1, 0, 0,
                                 PVCORE_DOMID_SELF), 1);
        x = get_ext(&s->f, MAPPER, LIST_VA, 0);
        assert_true(x >= FRAMESRC_FIRST && x < TEST_FRAMES);
        assert_int_equal(atomic_load(&s->tok[x]), 0);
        atomic_store(&s->tok[x], 1);
        assert_true(put_back(s, x, i));
    }
}

static void arm_all(struct shared *s)
{
    unsigned i;

    memset(s->acc, 0, sizeof(s->acc));
    for (i = 0; i < s->nacc; i++) {
        rearm(s, i);
    }
}

static void print_stats(const char *what, unsigned round, const struct worker *w, unsigned n)
{
    unsigned i;

    if (getenv("SMP_TRANSFER_STATS") == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        fprintf(stderr,
                "%s %u worker %u: ok %u lost %u kept %u bad_domain %u empty %u | populated %u decreased %u raced %u (won %u) | "
                "mapped %u refused %u pinned %u refused %u granted %u | priv maps %u/%u copies %u/%u | "
                "received %u clobbered %u revoked %u hostile %u rearmed %u\n",
                what, round, i, w[i].ok, w[i].lost, w[i].kept, w[i].bad_domain, w[i].empty, w[i].populated, w[i].decreased,
                w[i].raced_dec, w[i].raced_dec_won, w[i].mapped, w[i].map_refused, w[i].pinned, w[i].pin_refused,
                w[i].granted, w[i].pmap_ok, w[i].pmap_failed, w[i].pcopy_ok, w[i].pcopy_failed, w[i].completions,
                w[i].clobbered, w[i].revoked, w[i].hostile, w[i].rearmed);
    }
}

/* After the threads: a completion the receiver did not see yet is counted (and its frame
 * checked) now; nothing is left committed but not completed; per entry, the transfers
 * reported okay are the completions. */
static void settle_ledger(struct shared *s, struct worker *recv)
{
    unsigned i;

    for (i = 0; i < s->nacc; i++) {
        uint32_t old = atomic_load(hdr(s, ACC0 + i));
        if (old == done_word()) {
            take(recv, i, atomic_load(frame_word(s, ACC0 + i)));
        } else {
            assert_int_equal(old & (PVCORE_GTF_transfer_committed | PVCORE_GTF_transfer_completed), 0);
        }
        if (atomic_load(&s->okref[i]) != s->comp[i]) {
            fprintf(stderr, "entry %u: %u transfers reported okay, %u completed\n", ACC0 + i,
                    atomic_load(&s->okref[i]), s->comp[i]);
            fail();
        }
    }
    assert_int_equal(recv->bad, 0);
}

static void test_smp_transfer(void **state)
{
    struct shared *s;
    struct gfix *f;
    struct pvtest *t;
    enum { NW = 6 };
    struct worker w[NW];
    pthread_t th[NW];
    void *(*fn[NW])(void *) = { giver_thread, giver_thread, memop_thread, attacker_thread, priv_thread,
                                receiver_thread };
    unsigned i, ok = 0, lost = 0, completions = 0, hostile = 0;
    (void)state;

    s = shared_new();
    f = &s->f;
    t = f->t;
    s->nacc = NACC;
    s->nthreads = NW;
    fill_pool(s, NPOOL / 2u);
    arm_all(s);
    check_invariants(t);
    expect_accounted(s);

    for (i = 0; i < NW; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].s = s;
        w[i].vcpu = i < 4 ? i : 0;
        w[i].seed = 0x9E3779B97F4A7C15ull * (i + 1u); /* fixed: the same ops every run */
        assert_int_equal(pthread_create(&th[i], NULL, fn[i], &w[i]), 0);
    }
    for (i = 0; i < NW; i++) {
        pthread_join(th[i], NULL);
    }
    for (i = 0; i < NW; i++) {
        assert_int_equal(w[i].bad, 0);
    }
    settle_ledger(s, &w[5]);
    print_stats("run", 0, w, NW);
    for (i = 0; i < GIVERS; i++) {
        ok += w[i].ok;
        lost += w[i].lost;
    }
    completions = w[5].completions;
    hostile = w[5].hostile + w[5].revoked;
    /* What each thread does by itself happened (what they do to each other depends on the
     * schedule: SMP_TRANSFER_STATS=1 shows it). */
    assert_true(ok > 0 && lost > 0 && completions == ok && hostile > 0);
    assert_true(w[2].populated > 0 && w[2].decreased > 0);
    assert_true(w[3].mapped + w[3].pinned + w[3].map_refused + w[3].pin_refused > 0);

    /* Nothing is left held: the attacker's slots are clear, no frame of the giver's is
     * pinned, and every frame is accounted for. */
    for (i = 0; i < NATT; i++) {
        assert_int_equal(ml1e(f, ATT_SLOT0 + i), 0);
    }
    for (i = FRAMESRC_FIRST; i < TEST_FRAMES; i++) {
        assert_false(frame_of(s, i).flags & PVCORE_FRAME_PINNED);
    }
    expect_accounted(s);

    /* ---- every frame of theirs free once the two domains are gone ------------------------- */
    assert_int_equal(gfix_destroy(f, MAPPER), 0);
    assert_int_equal(gfix_destroy(f, GRANTER), 0);
    for (i = 0; i < TEST_FRAMES; i++) {
        struct pvcore_frame_info fi = frame_of(s, i);
        assert_true(fi.owner == PVCORE_DOMID_INVALID || fi.owner == PRIV);
    }
    check_invariants(t);
    gfix_free(f);
    free(s);
}

/* ---- destruction of the receiver with transfers in flight ------------------------------------- */

/* A new receiver (domain 2) in place of the destroyed one, after every call that may have
 * looked the old one up has returned (the threads are joined). */
static void new_receiver(struct shared *s)
{
    struct gfix *f = &s->f;
    struct pvtest *t = f->t;

    free(t->dom_mem[RECEIVER]);
    t->dom_mem[RECEIVER] = NULL;
    free(f->state[RECEIVER]);
    f->state[RECEIVER] = NULL;
    assert_int_equal(pvtest_make_domain(t, RECEIVER, RECEIVER, PVCORE_DOMAIN_GUEST_32, 2), 0);
    gfix_give_state(f, RECEIVER, 4);
    env_init(&f->g, t, RECEIVER);
    gfix_setup_table(f, RECEIVER, f->gnt_frame);
    set_p2m(s, RECEIVER);
}

static void test_smp_transfer_destroy(void **state)
{
    struct shared *s;
    struct gfix *f;
    struct pvtest *t;
    enum { NW = 4 };
    unsigned round, ok = 0, bad_domain = 0, lost = 0;
    (void)state;

    s = shared_new();
    f = &s->f;
    t = f->t;
    s->destroy_mode = 1;
    s->nacc = NACC_D;
    s->nthreads = NW;
    for (round = 0; round < ROUNDS; round++) {
        struct worker w[NW];
        pthread_t th[NW];
        void *(*fn[NW])(void *) = { giver_thread, giver_thread, receiver_thread, memop_thread };
        unsigned i, spins;
        int rc;

        if (round != 0) {
            new_receiver(s);
        }
        atomic_store(&s->started, 0);
        atomic_store(&s->givers_done, 0);
        atomic_store(&s->xfers, 0);
        atomic_store(&s->recv_stop, 0);
        atomic_store(&s->recv_stopped, 0);
        atomic_store(&s->dying_seen, 0);
        atomic_store(&s->gone, 0);
        fill_pool(s, NPOOL);
        arm_all(s);
        expect_accounted(s);
        for (i = 0; i < NW; i++) {
            memset(&w[i], 0, sizeof(w[i]));
            w[i].s = s;
            w[i].vcpu = i < GIVERS ? i : i == 3 ? MEMOP_V : 0;
            w[i].seed = 0xD1B54A32D192ED03ull * (i + 1u) + round;
            assert_int_equal(pthread_create(&th[i], NULL, fn[i], &w[i]), 0);
        }
        /* The destroyer (this thread): once some transfers are done, stop the receiver's
         * vCPU, then destroy it with the givers still transferring into it. */
        for (spins = 0; atomic_load(&s->xfers) < DSTART + round && spins < SPIN_LIMIT; spins++) {
            sched_yield();
        }
        atomic_store(&s->recv_stop, 1);
        for (spins = 0; !atomic_load(&s->recv_stopped) && spins < SPIN_LIMIT; spins++) {
            sched_yield();
        }
        assert_true(atomic_load(&s->recv_stopped));
        rc = pvcore_domain_destroy(t->dom[RECEIVER]);
        atomic_store(&s->dying_seen, 1);
        /* -EBUSY while a transfer that found it alive still holds a reservation in it. */
        for (spins = 0; (rc == -PVCORE_ERESTART || rc == -PVCORE_EBUSY) && spins < SPIN_LIMIT; spins++) {
            if (rc == -PVCORE_EBUSY) {
                sched_yield();
            }
            rc = pvcore_domain_destroy(t->dom[RECEIVER]);
        }
        assert_int_equal(rc, 0);
        atomic_store(&s->gone, 1);
        for (i = 0; i < NW; i++) {
            pthread_join(th[i], NULL);
        }
        print_stats("round", round, w, NW);
        for (i = 0; i < NW; i++) {
            assert_int_equal(w[i].bad, 0);
        }
        for (i = 0; i < GIVERS; i++) {
            ok += w[i].ok;
            bad_domain += w[i].bad_domain;
            lost += w[i].lost;
        }
        /* The receiver is gone: none of its frames is left, nothing leaked. */
        t->dom[RECEIVER] = NULL;
        expect_accounted(s);
        /* What is left in the pool goes back (each round starts with a full one). */
        for (i = 0; i < NPOOL; i++) {
            uint64_t x = atomic_exchange(&s->pool[i], 0);
            if (x != 0) {
                put_ext(f, MAPPER, LIST_VA, 0, x);
                assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_decrease_reservation, LIST_VA, 1, 0, 0,
                                         PVCORE_DOMID_SELF), 1);
                atomic_store(&s->tok[x], 0);
            }
        }
        memset(s->okref, 0, sizeof(s->okref));
        memset(s->comp, 0, sizeof(s->comp));
    }
    assert_true(ok > 0 && bad_domain > 0);
    (void)lost;
    new_receiver(s);
    assert_int_equal(gfix_destroy(f, MAPPER), 0);
    assert_int_equal(gfix_destroy(f, GRANTER), 0);
    check_invariants(t);
    gfix_free(f);
    free(s);
}

/* ---- white box: a destruction's scan meets frame_give() half-way ------------------------------ */

static void test_destroy_meets_frame_give(void **state)
{
    struct mfix {
        struct gfix g;
        struct framesrc src;
    } mf;
    struct gfix *f = &mf.g;
    struct machine *m;
    struct domain *e;
    struct frame *fr;
    const uint64_t x = TEST_FRAMES - 7u;
    int rc;
    (void)state;

    gfix_init(f);
    framesrc_init(&mf.src, f->t);
    m = (struct machine *)(void *)f->t->m;
    e = (struct domain *)(void *)f->t->dom[RECEIVER];
    fr = mfn_frame(m, x);
    /* A transfer into the receiver has taken the frame into transit and counted it there
     * (transfer_one()), and frame_give() has published the new owner but not yet made the
     * frame live: exactly the state its first store leaves. */
    assert_true(frame_take_free(m, x));
    assert_int_equal(domain_reserve(e, 1), 0);
    atomic_store_explicit(&fr->owner, e->domid, memory_order_release);
    /* Now the receiver is destroyed. It must not drop an allocation reference the frame
     * does not hold yet: the frame is frame_give()'s, which sees `dying` and frees it. */
    while ((rc = pvcore_domain_destroy(f->t->dom[RECEIVER])) == -PVCORE_ERESTART) {
    }
    if (frame_count(fr, memory_order_relaxed) != FC_STOLEN) {
        fprintf(stderr, "the scan changed the frame in transit: count word %#x (expected %#x)\n",
                frame_count(fr, memory_order_relaxed), FC_STOLEN);
        fail();
    }
    assert_int_equal(rc, -PVCORE_EBUSY); /* the transfer's reservation is outstanding */
    /* frame_give() goes on (from its start: its first store is the one made above). */
    atomic_store_explicit(&fr->owner, (uint16_t)DOMID_TRANSIT, memory_order_relaxed);
    assert_false(frame_give(e, x, 1234));
    assert_int_equal(finfo(f->t, x).owner, PVCORE_DOMID_INVALID);
    assert_int_equal(gfix_destroy(f, RECEIVER), 0);
    check_invariants(f->t);
    gfix_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smp_transfer),
        cmocka_unit_test(test_smp_transfer_destroy),
        cmocka_unit_test(test_destroy_meets_frame_give),
    };
    return cmocka_run_group_tests_name("smp_transfer", tests, NULL, NULL);
}
