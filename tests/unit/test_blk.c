/*
 * The block split driver (<pvcore/guest/blk.h>) on the host backend: the front-end in one
 * domain of the pvtest fixture, the back-end serving a RAM disk in the other, each
 * issuing its domain's hypercalls through pvcore_hypercall() on its own vCPU (the
 * arguments copied into the domain's memory, as a kernel's would be), the ring and data
 * pages granted through the front-end's own grant table, notifications by event channel
 * (the waiting side watches its port's pending bit in shared info).
 *
 * - test_blk_pattern_*: two threads, one per end. The front-end writes a pattern over the
 *   whole disk in requests of 1 to 80 sectors (up to 11 segments, the first starting
 *   anywhere in its page), queued while pages and slots last and published in batches,
 *   then reads it back and checks every byte; three rounds. Afterwards: the disk holds the
 *   pattern, every request was answered OKAY, the front-end notified fewer times than it
 *   queued, every mapping was undone, the granted frames' counts are as before, the grant
 *   entries are clear and the invariant checker passes. Both ways: a 32-bit front-end
 *   (x86_32 ring) served by a 64-bit back-end, and a 64-bit front-end served by a 32-bit
 *   back-end.
 * - test_blk_hostile_front_*: the test writes requests into the ring itself, as a hostile
 *   front-end would: bad segment counts, sector ranges, unknown operations, a wrong
 *   handle, the ring's own grant, grants never made, made for another domain, read-only
 *   for a read request, a request whose second grant is bad; each is answered
 *   BLKIF_RSP_ERROR (or EOPNOTSUPP) with its id, nothing stays mapped and the disk is
 *   unchanged; then a req_prod beyond the ring, which stops the back-end for good. The
 *   back-end still disconnects cleanly and every count is back where it was.
 * - test_blk_hostile_back: the test answers the front-end's requests itself: a duplicate
 *   answer, an unknown id, a wrong operation, more responses than requests, and an answer
 *   while it still maps the request's page. The front-end stops with the right fault
 *   each time and gives back every grant once nothing maps it.
 * - test_blk_transfer_*: the pattern test in transfer mode: every read's pages are given
 *   back by the front-end and flipped to it by the back-end (each transfer checked:
 *   whole pages, the sectors around the request zero), writes granted; afterwards each
 *   domain is its size again. test_blk_transfer_hostile: a back-end that transfers into
 *   only some of a read's pages or none, a transfer after the answer, a disconnect with a
 *   read in flight, and ends in different modes.
 * - test_blk_config: the set-up functions refuse bad arguments and write nothing.
 */
#include "regress/evtenv.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include <pvcore/abi/blkif.h>
#include <pvcore/abi/grant_table.h>
#include <pvcore/abi/memory.h>
#include <pvcore/abi/ring.h>
#include <pvcore/grant.h>
#include <pvcore/guest/blk.h>
#include <pvcore/mmu.h>

#include "framesrc.h"

#define OPS_VA (VA + 3u * 4096ull)      /* grant_table_op arguments: the 4th data page */
#define LIST_VA (OPS_VA + 0x800u)       /* setup_table's frame list */
#define EXT_VA (OPS_VA + 0x400u)        /* memory_op's extent list */
#define RING_VA (VA + 8u * 4096ull)     /* back-end: slot 8 of its L1, not mapped */
#define SEG_VA(i) (VA + (9ull + (i)) * 4096ull)
#define FIRST_REF 8u                    /* the first reference after the reserved ones */
#define NPAGES 64u
#define NSECT 2048u                     /* 1 MiB RAM disk */
#define HANDLE 51712u                   /* xvda's device number */
#define ROUNDS 3u
#define MAXSEG PVCORE_BLKIF_MAX_SEGMENTS_PER_REQUEST
#define WAIT_S 20 /* seconds: a wait longer than this is a lost notification */
#define SPARE_GFN(i) (0x900u + (i))     /* transfer mode: the back-end's holes */

struct side {
    struct edom x;
    int d;
    uint64_t gnt;   /* its grant-table frame */
    void *gstate;
    uint32_t port;  /* its end of the event channel */
    _Atomic unsigned sends;
};

struct fx {
    struct pvtest *t;
    struct side s[3];
    int fd, bd;     /* the front-end's and the back-end's domain index */
    uint32_t proto;
    uint64_t ring, page[NPAGES];
    uint64_t gfn[NPAGES];           /* page i's pseudo-physical frame (its first frame) */
    struct framesrc src;            /* memory_op's frames */
    _Atomic unsigned remaps, bad_remaps;
    int xfer;                       /* both ends in transfer mode */
    uint64_t tot_before[3];
    struct pvcore_frame_info before[NPAGES + 1];
    struct pvcore_guest_blk_ops fops, bops;
    void *fmem, *bmem;
    struct pvcore_guest_blkfront *f;
    struct pvcore_guest_blkback *b;
    unsigned char *disk;
    /* threads */
    _Atomic int stop, failed;
    unsigned kicks, queued, max_batch;
    uint64_t read_segs, write_segs;
};

/* ---- the guests' hypercalls ---------------------------------------------------------------- */

static int64_t ret_of(const struct side *s, uint64_t ret)
{
    return s->x.e.is32 ? (int64_t)(int32_t)(uint32_t)ret : (int64_t)ret;
}

/* hypercall `nr` of the side's vCPU 0, to completion: its result. */
static int64_t hcall(struct side *s, uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
    uint64_t ret;

    (void)pvtest_hcall(pvcore_domain_vcpu(s->x.e.t->dom[s->d], 0), nr, a0, a1, a2, &ret);
    return ret_of(s, ret);
}

/* GNTTABOP_transfer's ops, native (x86_64) in the caller's memory, in a 32-bit side's
 * layout in its guest memory, and the statuses back. */
static int64_t transfer_op(struct side *s, pvcore_gnttab_transfer_x86_64_t *t, uint32_t count)
{
    int64_t rc;
    uint32_t i;

    if (!s->x.e.is32) {
        gwrite(&s->x.e, OPS_VA, t, sizeof(*t) * count);
        rc = hcall(s, PVCORE_HYPERVISOR_grant_table_op, PVCORE_GNTTABOP_transfer, OPS_VA, count);
        gread(&s->x.e, OPS_VA, t, sizeof(*t) * count);
        return rc;
    }
    for (i = 0; i < count; i++) {
        pvcore_gnttab_transfer_x86_32_t w = { (uint32_t)t[i].mfn, t[i].domid, t[i].ref, t[i].status };
        gwrite(&s->x.e, OPS_VA + i * sizeof(w), &w, sizeof(w));
    }
    rc = hcall(s, PVCORE_HYPERVISOR_grant_table_op, PVCORE_GNTTABOP_transfer, OPS_VA, count);
    for (i = 0; i < count; i++) {
        pvcore_gnttab_transfer_x86_32_t w;
        gread(&s->x.e, OPS_VA + i * sizeof(w), &w, sizeof(w));
        t[i].status = w.status;
    }
    return rc;
}

static int64_t grant_op(void *ctx, uint32_t cmd, void *uop, uint32_t count)
{
    struct side *s = ctx;
    int64_t rc;
    size_t sz;

    if (count > MAXSEG) {
        return -PVCORE_EINVAL;
    }
    if (cmd == PVCORE_GNTTABOP_transfer) {
        return transfer_op(s, uop, count);
    }
    if (cmd == PVCORE_GNTTABOP_map_grant_ref) {
        sz = sizeof(struct pvcore_gnttab_map_grant_ref);
    } else if (cmd == PVCORE_GNTTABOP_unmap_grant_ref) {
        sz = sizeof(struct pvcore_gnttab_unmap_grant_ref);
    } else {
        return -PVCORE_ENOSYS; /* the ends use nothing else */
    }
    gwrite(&s->x.e, OPS_VA, uop, sz * count);
    rc = hcall(s, PVCORE_HYPERVISOR_grant_table_op, cmd, OPS_VA, count);
    gread(&s->x.e, OPS_VA, uop, sz * count);
    return rc;
}

/* memory_op with a native (x86_64) reservation whose extent list is in the caller's
 * memory: copied into the side's guest memory in its width, and back. */
static int64_t memory_op(void *ctx, uint32_t cmd, void *arg)
{
    struct side *s = ctx;
    const pvcore_xen_memory_reservation_x86_64_t *r = arg;
    uint64_t *list = (uint64_t *)(uintptr_t)r->extent_start, i, n = r->nr_extents;
    int64_t rc;

    if ((cmd != PVCORE_XENMEM_populate_physmap && cmd != PVCORE_XENMEM_decrease_reservation) || n > MAXSEG) {
        return -PVCORE_ENOSYS;
    }
    for (i = 0; i < n; i++) {
        if (s->x.e.is32) {
            gwrite32(&s->x.e, EXT_VA + 4u * i, (uint32_t)list[i]);
        } else {
            gwrite(&s->x.e, EXT_VA + 8u * i, &list[i], 8);
        }
    }
    if (s->x.e.is32) {
        pvcore_xen_memory_reservation_x86_32_t w = { (uint32_t)EXT_VA, (uint32_t)n, r->extent_order, r->mem_flags,
                                                     r->domid, 0 };
        gwrite(&s->x.e, OPS_VA, &w, sizeof(w));
    } else {
        pvcore_xen_memory_reservation_x86_64_t w = *r;
        w.extent_start = EXT_VA;
        gwrite(&s->x.e, OPS_VA, &w, sizeof(w));
    }
    rc = hcall(s, PVCORE_HYPERVISOR_memory_op, cmd, OPS_VA, 0);
    for (i = 0; i < n; i++) {
        if (s->x.e.is32) {
            list[i] = gread32(&s->x.e, EXT_VA + 4u * i);
        } else {
            gread(&s->x.e, EXT_VA + 8u * i, &list[i], 8);
        }
    }
    return rc;
}

static int64_t evtchn_op(void *ctx, uint32_t cmd, void *arg)
{
    struct side *s = ctx;

    if (cmd != PVCORE_EVTCHNOP_send) {
        return -PVCORE_ENOSYS;
    }
    atomic_fetch_add(&s->sends, 1u);
    return evop_v(&s->x, 0, cmd, arg, sizeof(struct pvcore_evtchn_send), 0);
}

/* Where the back-end's page mapped at va is: the frame its L1 entry now names. */
static void *mapped(void *ctx, uint64_t va)
{
    struct side *s = ctx;
    uint64_t slot = (va - VA) >> 12, e;

    if (va < VA || slot >= 512u) {
        return NULL;
    }
    e = __atomic_load_n(&frame_ptr(s->x.e.t, s->x.e.l1)[slot], __ATOMIC_RELAXED);
    if ((e & PT_P) == 0) {
        return NULL;
    }
    return frame_ptr(s->x.e.t, pte_mfn_test(e));
}

/* The front-end's remap (transfer mode): its pages are not mapped in its page tables
 * here, only reached through the test's pointer to their frame, so the test records the
 * page's new frame (found by its gfn) and checks the front-end owns it. */
static struct fx *remap_fx; /* (one fixture at a time) */

static void *front_remap(void *ctx, uint64_t addr, uint64_t gfn, uint64_t frame)
{
    struct fx *x = remap_fx;
    uint32_t i;

    (void)ctx;
    atomic_fetch_add(&x->remaps, 1u);
    for (i = 0; i < NPAGES && x->gfn[i] != gfn; i++) {
    }
    if (i == NPAGES || addr != (uintptr_t)frame_ptr(x->t, x->page[i])) {
        atomic_fetch_add(&x->bad_remaps, 1u); /* not a page's gfn, or not where it was */
        return NULL;
    }
    if (frame == PVCORE_GUEST_BLK_NO_FRAME) {
        return frame_ptr(x->t, x->page[i]);
    }
    if (frame >= TEST_FRAMES || finfo(x->t, frame).owner != x->fd) {
        atomic_fetch_add(&x->bad_remaps, 1u);
        return NULL;
    }
    x->page[i] = frame;
    return frame_ptr(x->t, frame);
}

/* The back-end's remap: update_va_mapping of its own L1 entry at `addr`. */
static void *back_remap(void *ctx, uint64_t addr, uint64_t gfn, uint64_t frame)
{
    struct side *s = ctx;
    uint64_t val = frame == PVCORE_GUEST_BLK_NO_FRAME ? 0 : pte(frame, PT_P | PT_RW | PT_A | PT_D);

    (void)gfn;
    if (pvcore_update_va_mapping(pvcore_domain_vcpu(s->x.e.t->dom[s->d], 0), addr, val, PVCORE_UVMF_INVLPG,
                                 PVCORE_DOMID_SELF) != 0) {
        return NULL;
    }
    return frame == PVCORE_GUEST_BLK_NO_FRAME ? (void *)s : mapped(ctx, addr);
}

/* ---- set-up -------------------------------------------------------------------------------- */

static void give_grants(struct fx *x, int d)
{
    struct side *s = &x->s[d];
    pvcore_mfn_t m;
    size_t len = pvcore_grant_state_size(1, 64);

    s->gnt = alloc_frame(x->t, d);
    m = pvcore_mfn(s->gnt);
    assert_int_equal(pvcore_domain_set_grant_frames(x->t->dom[d], &m, 1), 0);
    s->gstate = aligned_alloc(64, (len + 63u) & ~(size_t)63u);
    assert_non_null(s->gstate);
    assert_int_equal(pvcore_domain_set_grant_state(x->t->dom[d], s->gstate, len, 64), 0);
}

/* The guest's GNTTABOP_setup_table for its one frame, in its width's layout. */
static void setup_table(struct fx *x, int d)
{
    struct side *s = &x->s[d];
    struct pvcore_hypercall_regs r;
    int16_t status;

    if (s->x.e.is32) {
        struct pvcore_gnttab_setup_table_x86_32 op = { PVCORE_DOMID_SELF, 1, 0, (uint32_t)LIST_VA };
        gwrite(&s->x.e, OPS_VA, &op, sizeof(op));
    } else {
        struct pvcore_gnttab_setup_table_x86_64 op = { PVCORE_DOMID_SELF, 1, 0, { 0, 0, 0 }, LIST_VA };
        gwrite(&s->x.e, OPS_VA, &op, sizeof(op));
    }
    memset(&r, 0, sizeof(r));
    r.nr = PVCORE_HYPERVISOR_grant_table_op;
    r.arg[0] = PVCORE_GNTTABOP_setup_table;
    r.arg[1] = OPS_VA;
    r.arg[2] = 1;
    while (pvcore_hypercall(vcpu(x->t, d, 0), &r) == PVCORE_HYPERCALL_RESTART) {
    }
    assert_int_equal(ret_of(s, r.ret), 0);
    gread(&s->x.e, OPS_VA + 8u, &status, sizeof(status)); /* status at offset 8 in both */
    assert_int_equal(status, PVCORE_GNTST_okay);
    assert_int_equal(gread32(&s->x.e, LIST_VA), s->gnt);
}

/* Domains, grant tables, the event channel, the front-end's pages and the RAM disk. */
static void fx_setup(struct fx *x, int front, int back)
{
    uint32_t i;

    memset(x, 0, sizeof(*x));
    x->t = pvtest_new();
    x->fd = front;
    x->bd = back;
    x->proto = front == 2 ? PVCORE_GUEST_BLK_X86_32 : PVCORE_GUEST_BLK_X86_64;
    x->s[front].d = front;
    x->s[back].d = back;
    edom_init(&x->s[front].x, x->t, front, 64);
    edom_init(&x->s[back].x, x->t, back, 64);
    give_grants(x, front);
    give_grants(x, back);
    setup_table(x, front);
    /* The back-end offers a port; the front-end binds it (and takes the bind's event). */
    assert_int_equal(e_alloc_unbound(&x->s[back].x, (uint16_t)front, &x->s[back].port), 0);
    assert_int_equal(e_bind_inter(&x->s[front].x, (uint16_t)back, x->s[back].port, &x->s[front].port), 0);
    e_si(&x->s[front].x)[2048u + x->s[front].port / 8u] = 0;

    x->ring = alloc_frame(x->t, front);
    x->before[0] = finfo(x->t, x->ring);
    for (i = 0; i < NPAGES; i++) {
        x->page[i] = alloc_frame(x->t, front);
        x->gfn[i] = x->page[i];
        x->before[i + 1u] = finfo(x->t, x->page[i]);
    }
    x->disk = calloc(NSECT, PVCORE_BLKIF_SECTOR_SIZE);
    assert_non_null(x->disk);
    x->fops = (struct pvcore_guest_blk_ops){ NULL, evtchn_op, NULL, &x->s[front], memory_op, front_remap };
    x->bops = (struct pvcore_guest_blk_ops){ grant_op, evtchn_op, mapped, &x->s[back], memory_op, back_remap };
    framesrc_init(&x->src, x->t);
    remap_fx = x;
    x->fmem = aligned_alloc(64, (pvcore_guest_blkfront_size() + 63u) & ~(size_t)63u);
    x->bmem = aligned_alloc(64, (pvcore_guest_blkback_size() + 63u) & ~(size_t)63u);
    assert_non_null(x->fmem);
    assert_non_null(x->bmem);
    check_invariants(x->t);
}

static void front_config(struct fx *x, struct pvcore_guest_blkfront_config *c, struct pvcore_guest_blk_page *pages)
{
    uint32_t i;

    memset(c, 0, sizeof(*c));
    c->ops = &x->fops;
    c->protocol = x->proto;
    c->backend = (pvcore_domid_t)x->bd;
    c->handle = HANDLE;
    c->port = x->s[x->fd].port;
    c->gnttab = frame_ptr(x->t, x->s[x->fd].gnt);
    c->gnttab_entries = 512;
    c->first_ref = FIRST_REF;
    c->ring.va = frame_ptr(x->t, x->ring);
    c->ring.frame = x->ring;
    for (i = 0; i < NPAGES; i++) {
        pages[i].va = frame_ptr(x->t, x->page[i]);
        pages[i].frame = x->page[i];
        pages[i].gfn = x->gfn[i];
    }
    c->pages = pages;
    c->nr_pages = NPAGES;
}

static void back_config(struct fx *x, struct pvcore_guest_blkback_config *c)
{
    uint32_t i;

    memset(c, 0, sizeof(*c));
    c->ops = &x->bops;
    c->protocol = x->proto;
    c->frontend = (pvcore_domid_t)x->fd;
    c->handle = HANDLE;
    c->port = x->s[x->bd].port;
    c->ring_ref = FIRST_REF;
    c->ring_addr = RING_VA;
    for (i = 0; i < MAXSEG; i++) {
        c->seg_addr[i] = SEG_VA(i);
        c->spare_gfn[i] = SPARE_GFN(i);
    }
    c->disk = x->disk;
    c->nr_sectors = NSECT;
}

/* Both ends, connected; in transfer mode if `xfer`. */
static void fx_init_mode(struct fx *x, int front, int back, int xfer)
{
    struct pvcore_guest_blkfront_config fc;
    struct pvcore_guest_blkback_config bc;
    struct pvcore_guest_blk_page pages[NPAGES];

    fx_setup(x, front, back);
    x->xfer = xfer;
    front_config(x, &fc, pages);
    fc.transfer_reads = (uint32_t)xfer;
    assert_int_equal(pvcore_guest_blkfront_init(x->fmem, pvcore_guest_blkfront_size(), &fc, &x->f), 0);
    assert_int_equal(pvcore_guest_blkfront_ring_ref(x->f), FIRST_REF);
    back_config(x, &bc);
    bc.transfer_reads = (uint32_t)xfer;
    assert_int_equal(pvcore_guest_blkback_connect(x->bmem, pvcore_guest_blkback_size(), &bc, &x->b), 0);
    x->tot_before[front] = pvcore_domain_tot_pages(x->t->dom[front]);
    x->tot_before[back] = pvcore_domain_tot_pages(x->t->dom[back]);
    /* The ring is mapped: the front-end cannot take its grant back. */
    assert_int_equal(finfo(x->t, x->ring).count, x->before[0].count + 1u);
    check_invariants(x->t);
}

static void fx_init(struct fx *x, int front, int back)
{
    fx_init_mode(x, front, back, 0);
}

static uint32_t gnt_word(struct fx *x, uint32_t ref)
{
    uint32_t w;

    memcpy(&w, (uint8_t *)frame_ptr(x->t, x->s[x->fd].gnt) + 8u * ref, 4);
    return w;
}

/* Nothing is held: the ring and page frames' counts as before, their grants clear. */
static void assert_nothing_held(struct fx *x)
{
    uint32_t i;

    for (i = 0; i <= NPAGES; i++) {
        struct pvcore_frame_info now = finfo(x->t, i == 0 ? x->ring : x->page[i - 1u]);
        assert_int_equal(now.owner, x->fd);
        assert_int_equal(now.count, x->before[i].count);
        assert_int_equal(now.type_count, x->before[i].type_count);
        assert_int_equal(gnt_word(x, FIRST_REF + i), 0);
    }
    /* Frames given and received balance: each domain is its size again. */
    if (x->tot_before[x->fd] != 0) {
        assert_int_equal(pvcore_domain_tot_pages(x->t->dom[x->fd]), x->tot_before[x->fd]);
        assert_int_equal(pvcore_domain_tot_pages(x->t->dom[x->bd]), x->tot_before[x->bd]);
    }
    assert_int_equal(atomic_load(&x->bad_remaps), 0);
    check_invariants(x->t);
}

/* Both ends disconnected; every grant back; state as before. */
static void fx_finish(struct fx *x)
{
    struct pvcore_guest_blkback_stats st;

    if (x->b != NULL) {
        /* While the back-end maps the ring, the front-end cannot take its grant back. */
        assert_int_equal(pvcore_guest_blkfront_disconnect(x->f), -PVCORE_EBUSY);
        assert_int_equal(pvcore_guest_blkback_disconnect(x->b), 0);
        assert_int_equal(pvcore_guest_blkback_disconnect(x->b), -PVCORE_ENOTCONN);
        pvcore_guest_blkback_get_stats(x->b, &st);
        assert_int_equal(st.mapped, st.unmapped);
    }
    assert_int_equal(pvcore_guest_blkfront_disconnect(x->f), 0);
    assert_int_equal(pvcore_guest_blkfront_in_flight(x->f), 0);
    assert_nothing_held(x);
}

static void fx_free(struct fx *x)
{
    free(x->fmem);
    free(x->bmem);
    free(x->disk);
    edom_free(&x->s[1].x);
    edom_free(&x->s[2].x);
    pvtest_free(x->t);
    free(x->s[1].gstate);
    free(x->s[2].gstate);
}

/* ---- the pattern, from two threads --------------------------------------------------------- */

static uint8_t pattern(uint64_t sector, uint32_t byte, uint32_t seed)
{
    return (uint8_t)((uint32_t)(sector * 2654435761u >> 7) + byte * 31u + seed * 101u + (uint32_t)(sector >> 3));
}


/* Takes the side's port event (its pending bit), or gives up when `stop` is set. */
static bool wait_event(struct fx *x, int d, _Atomic int *stop)
{
    struct side *s = &x->s[d];
    _Atomic uint8_t *pend = (_Atomic uint8_t *)(void *)(e_si(&s->x) + 2048u + s->port / 8u);
    uint8_t bit = (uint8_t)(1u << (s->port % 8u));
    time_t until = time(NULL) + WAIT_S;

    for (;;) {
        if (atomic_fetch_and(pend, (uint8_t)~bit) & bit) {
            return true;
        }
        if (stop != NULL && atomic_load(stop)) {
            return false;
        }
        if (time(NULL) > until) {
            fprintf(stderr, "domain %d: no notification on port %u for 20 s\n", d, s->port);
            atomic_store(&x->failed, 1);
            return false;
        }
        sched_yield();
    }
}

#define TCHECK(c)                                                                         \
    do {                                                                                  \
        if (!(c)) {                                                                       \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);                       \
            atomic_store(&x->failed, 1);                                                  \
            return false;                                                                 \
        }                                                                                 \
    } while (0)

/* A request in flight, as the front-end thread planned it. */
struct plan {
    uint64_t id, start;
    uint32_t off, len, nseg, page[MAXSEG];
    bool used;
};

/* Sector j of a request lies in segment (off + j) / 8 at in-page sector (off + j) % 8. */
static uint8_t *sector_ptr(struct fx *x, const struct plan *p, uint32_t j)
{
    uint32_t at = p->off + j;

    return (uint8_t *)frame_ptr(x->t, x->page[p->page[at / 8u]]) + (at % 8u) * PVCORE_BLKIF_SECTOR_SIZE;
}

static bool run_phase(struct fx *x, uint8_t op, uint32_t seed)
{
    struct plan act[32];
    bool page_used[NPAGES];
    uint64_t start = 0;
    uint32_t k = 0, i, j, b;

    memset(act, 0, sizeof(act));
    memset(page_used, 0, sizeof(page_used));
    for (;;) {
        struct pvcore_guest_blk_done done[32];
        uint32_t queued = 0, n = 0, active = 0;

        while (start < NSECT && pvcore_guest_blkfront_free_slots(x->f) > 0) {
            struct pvcore_guest_blk_seg segs[MAXSEG];
            struct plan p;
            uint32_t got = 0;

            memset(&p, 0, sizeof(p));
            p.start = start;
            p.off = k % 8u;
            p.len = 1u + (k * 37u) % 80u;
            if (p.len > NSECT - start) {
                p.len = (uint32_t)(NSECT - start);
            }
            p.nseg = (p.off + p.len + 7u) / 8u;
            for (i = 0; i < NPAGES && got < p.nseg; i++) {
                if (!page_used[i]) {
                    p.page[got++] = i;
                }
            }
            if (got < p.nseg) {
                break; /* wait for pages */
            }
            for (i = 0; i < p.nseg; i++) {
                TCHECK(pvcore_guest_blkfront_page_busy(x->f, p.page[i]) == 0);
                segs[i].page = p.page[i];
                segs[i].first_sect = (uint8_t)(i == 0 ? p.off : 0u);
                segs[i].last_sect = (uint8_t)(p.off + p.len - 1u - 8u * i < 8u ? p.off + p.len - 1u - 8u * i : 7u);
            }
            for (j = 0; j < p.len; j++) {
                uint8_t *s = sector_ptr(x, &p, j);
                for (b = 0; b < PVCORE_BLKIF_SECTOR_SIZE; b++) {
                    s[b] = op == PVCORE_BLKIF_OP_WRITE ? pattern(start + j, b, seed) : 0xEE;
                }
            }
            {
                int qrc = pvcore_guest_blkfront_queue(x->f, op, start, segs, p.nseg, &p.id);
                if (qrc != 0) {
                    fprintf(stderr, "queue: %d (remaps %u, bad %u)\n", qrc, atomic_load(&x->remaps), atomic_load(&x->bad_remaps));
                }
                TCHECK(qrc == 0);
            }
            if (op == PVCORE_BLKIF_OP_READ) {
                x->read_segs += p.nseg;
            } else {
                x->write_segs += p.nseg;
            }
            for (i = 0; i < p.nseg; i++) {
                page_used[p.page[i]] = true;
                TCHECK(pvcore_guest_blkfront_page_busy(x->f, p.page[i]) == 1);
            }
            for (i = 0; i < 32 && act[i].used; i++) {
            }
            TCHECK(i < 32);
            p.used = true;
            act[i] = p;
            start += p.len;
            k++;
            queued++;
        }
        if (queued != 0) {
            TCHECK(pvcore_guest_blkfront_kick(x->f) == 0);
            x->kicks++;
            x->queued += queued;
            if (queued > x->max_batch) {
                x->max_batch = queued;
            }
        }
        TCHECK(pvcore_guest_blkfront_poll(x->f, done, 32, &n) == 0);
        for (i = 0; i < n; i++) {
            struct plan *p = NULL;

            for (j = 0; j < 32; j++) {
                if (act[j].used && act[j].id == done[i].id) {
                    p = &act[j];
                }
            }
            TCHECK(p != NULL);
            TCHECK(done[i].operation == op);
            TCHECK(done[i].status == PVCORE_BLKIF_RSP_OKAY);
            /* Transfer mode: whole pages came, the sectors around the request's zero. */
            for (j = 0; op == PVCORE_BLKIF_OP_READ && x->xfer && j < 8u * p->nseg; j++) {
                const uint8_t *pg = (const uint8_t *)frame_ptr(x->t, x->page[p->page[j / 8u]]);
                if (j < p->off || j >= p->off + p->len) {
                    for (b = 0; b < PVCORE_BLKIF_SECTOR_SIZE; b++) {
                        TCHECK(pg[(j % 8u) * PVCORE_BLKIF_SECTOR_SIZE + b] == 0);
                    }
                }
            }
            for (j = 0; op == PVCORE_BLKIF_OP_READ && j < p->len; j++) {
                const uint8_t *s = sector_ptr(x, p, j);
                for (b = 0; b < PVCORE_BLKIF_SECTOR_SIZE; b++) {
                    if (s[b] != pattern(p->start + j, b, seed)) {
                        fprintf(stderr, "sector %llu byte %u: %#x, expected %#x\n",
                                (unsigned long long)(p->start + j), b, s[b], pattern(p->start + j, b, seed));
                        TCHECK(0);
                    }
                }
            }
            for (j = 0; j < p->nseg; j++) {
                TCHECK(pvcore_guest_blkfront_page_busy(x->f, p->page[j]) == 0);
                page_used[p->page[j]] = false;
            }
            p->used = false;
        }
        for (i = 0; i < 32; i++) {
            active += act[i].used ? 1u : 0u;
        }
        TCHECK(active == pvcore_guest_blkfront_in_flight(x->f));
        if (start >= NSECT && active == 0) {
            return true;
        }
        if (n == 0 && queued == 0 && !wait_event(x, x->fd, NULL)) {
            return false;
        }
    }
}

static void *front_thread(void *arg)
{
    struct fx *x = arg;
    uint32_t r;

    for (r = 0; r < ROUNDS; r++) {
        if (!run_phase(x, PVCORE_BLKIF_OP_WRITE, r) || !run_phase(x, PVCORE_BLKIF_OP_READ, r)) {
            break;
        }
    }
    atomic_store(&x->stop, 1);
    return NULL;
}

static void *back_thread(void *arg)
{
    struct fx *x = arg;

    while (!atomic_load(&x->failed)) {
        uint32_t served;
        int rc = pvcore_guest_blkback_poll(x->b, 0, &served);

        if (rc != 0) {
            fprintf(stderr, "back-end poll: %d\n", rc);
            atomic_store(&x->failed, 1);
            break;
        }
        if (!wait_event(x, x->bd, &x->stop)) {
            break;
        }
    }
    return NULL;
}

static void pattern_test(int front, int back, int xfer)
{
    struct fx x;
    pthread_t ft, bt;
    struct pvcore_guest_blkback_stats st;
    uint64_t s;
    uint32_t b;

    fx_init_mode(&x, front, back, xfer);
    assert_int_equal(pthread_create(&bt, NULL, back_thread, &x), 0);
    assert_int_equal(pthread_create(&ft, NULL, front_thread, &x), 0);
    assert_int_equal(pthread_join(ft, NULL), 0);
    assert_int_equal(pthread_join(bt, NULL), 0);
    assert_int_equal(atomic_load(&x.failed), 0);

    /* The disk holds the last round's pattern. */
    for (s = 0; s < NSECT; s++) {
        for (b = 0; b < PVCORE_BLKIF_SECTOR_SIZE; b++) {
            if (x.disk[s * PVCORE_BLKIF_SECTOR_SIZE + b] != pattern(s, b, ROUNDS - 1u)) {
                fail_msg("disk sector %llu byte %u", (unsigned long long)s, b);
            }
        }
    }
    pvcore_guest_blkback_get_stats(x.b, &st);
    assert_int_equal(st.requests, x.queued);
    assert_int_equal(st.okay, x.queued);
    assert_int_equal(st.errors + st.unsupported + st.invalid + st.map_failures, 0);
    assert_int_equal(st.sectors_written, (uint64_t)ROUNDS * NSECT);
    assert_int_equal(st.sectors_read, (uint64_t)ROUNDS * NSECT);
    assert_int_equal(st.mapped, st.unmapped + 1u); /* the ring, still mapped */
    assert_int_equal(st.transfer_failures, 0);
    if (xfer) {
        /* Every read segment's page came by transfer: one frame each, no mapping. */
        assert_int_equal(st.transferred, x.read_segs);
        assert_int_equal(st.mapped, x.write_segs + 1u);
    } else {
        assert_int_equal(st.transferred, 0);
    }
    assert_int_equal(st.notifies, atomic_load(&x.s[back].sends));
    /* Batches: several requests per publication, and at most one notification each. */
    assert_true(x.max_batch > 1u);
    assert_true(x.kicks < x.queued);
    assert_true(atomic_load(&x.s[front].sends) <= x.kicks);
    fprintf(stderr, "%u requests in %u kicks (at most %u at once), %u front-end and %u back-end notifications\n",
            x.queued, x.kicks, x.max_batch, atomic_load(&x.s[front].sends), atomic_load(&x.s[back].sends));
    fx_finish(&x);
    fx_free(&x);
}

/* A 32-bit front-end (x86_32 ring) served by a 64-bit back-end. */
static void test_blk_pattern_32_on_64(void **state)
{
    (void)state;
    pattern_test(2, 1, 0);
}

/* A 64-bit front-end (x86_64 ring) served by a 32-bit back-end. */
static void test_blk_pattern_64_on_32(void **state)
{
    (void)state;
    pattern_test(1, 2, 0);
}

/* Transfer mode: the reads' pages are flipped to the front-end, both ways round. */
static void test_blk_transfer_32_on_64(void **state)
{
    (void)state;
    pattern_test(2, 1, 1);
}

static void test_blk_transfer_64_on_32(void **state)
{
    (void)state;
    pattern_test(1, 2, 1);
}

/* ---- a hostile front-end ------------------------------------------------------------------- */

struct raw_front {
    struct fx *x;
    uint32_t req_prod, rsp_cons;
};

static struct pvcore_sring_header *sring(struct fx *x)
{
    return (struct pvcore_sring_header *)(void *)frame_ptr(x->t, x->ring);
}

static size_t slot_bytes(struct fx *x)
{
    return x->proto == PVCORE_GUEST_BLK_X86_32 ? sizeof(union pvcore_blkif_sring_entry_x86_32)
                                               : sizeof(union pvcore_blkif_sring_entry_x86_64);
}

static uint8_t *slot(struct fx *x, uint32_t idx)
{
    return (uint8_t *)sring(x) + PVCORE_SRING_HEADER_SIZE + (idx % PVCORE_BLKIF_RING_SIZE_4K) * slot_bytes(x);
}

/* A request as the hostile front-end means it, written in the ring's layout. */
struct hreq {
    uint8_t op, nr;
    uint16_t handle;
    uint64_t id, sector;
    struct pvcore_blkif_request_segment seg[MAXSEG];
};

static void put(struct raw_front *h, const struct hreq *r)
{
    struct fx *x = h->x;
    uint8_t *s = slot(x, h->req_prod++);

    if (x->proto == PVCORE_GUEST_BLK_X86_32) {
        struct pvcore_blkif_request_x86_32 w;
        memset(&w, 0, sizeof(w));
        w.operation = r->op;
        w.nr_segments = r->nr;
        w.handle = r->handle;
        w.id[0] = (uint32_t)r->id;
        w.id[1] = (uint32_t)(r->id >> 32);
        w.sector_number[0] = (uint32_t)r->sector;
        w.sector_number[1] = (uint32_t)(r->sector >> 32);
        memcpy(w.seg, r->seg, sizeof(w.seg));
        memcpy(s, &w, sizeof(w));
    } else {
        struct pvcore_blkif_request_x86_64 w;
        memset(&w, 0, sizeof(w));
        w.operation = r->op;
        w.nr_segments = r->nr;
        w.handle = r->handle;
        w.id = r->id;
        w.sector_number = r->sector;
        memcpy(w.seg, r->seg, sizeof(w.seg));
        memcpy(s, &w, sizeof(w));
    }
}

static void publish(struct raw_front *h)
{
    __atomic_store_n(&sring(h->x)->req_prod, h->req_prod, __ATOMIC_RELEASE);
}

/* The next response: its id, operation and status. */
static void take(struct raw_front *h, uint64_t *id, uint8_t *op, int16_t *status)
{
    struct fx *x = h->x;
    const uint8_t *s;

    assert_true(__atomic_load_n(&sring(x)->rsp_prod, __ATOMIC_ACQUIRE) != h->rsp_cons);
    s = slot(x, h->rsp_cons++);
    if (x->proto == PVCORE_GUEST_BLK_X86_32) {
        struct pvcore_blkif_response_x86_32 w;
        memcpy(&w, s, sizeof(w));
        *id = (uint64_t)w.id[0] | (uint64_t)w.id[1] << 32;
        *op = w.operation;
        *status = w.status;
    } else {
        struct pvcore_blkif_response_x86_64 w;
        memcpy(&w, s, sizeof(w));
        *id = w.id;
        *op = w.operation;
        *status = w.status;
    }
}

/* Grant entry `ref` of the front-end, written directly (the hostile front-end's own). */
static void raw_grant(struct fx *x, uint32_t ref, uint16_t flags, uint16_t domid, uint32_t frame)
{
    uint8_t *e = (uint8_t *)frame_ptr(x->t, x->s[x->fd].gnt) + 8u * ref;

    memcpy(e + 4, &frame, 4);
    memcpy(e + 2, &domid, 2);
    memcpy(e, &flags, 2);
}

/* One request through the back-end: its response status (id and op checked). */
static int16_t one(struct raw_front *h, const struct hreq *r)
{
    uint64_t id;
    uint8_t op;
    int16_t status;
    uint32_t served;

    put(h, r);
    publish(h);
    assert_int_equal(pvcore_guest_blkback_poll(h->x->b, 0, &served), 0);
    assert_int_equal(served, 1);
    take(h, &id, &op, &status);
    assert_int_equal(id, r->id);
    assert_int_equal(op, r->op);
    assert_int_equal(__atomic_load_n(&sring(h->x)->rsp_prod, __ATOMIC_ACQUIRE), h->rsp_cons);
    return status;
}

static struct hreq rw(uint8_t op, uint64_t id, uint64_t sector, uint32_t ref)
{
    struct hreq r;

    memset(&r, 0, sizeof(r));
    r.op = op;
    r.nr = 1;
    r.handle = HANDLE;
    r.id = id;
    r.sector = sector;
    r.seg[0].gref = ref;
    r.seg[0].first_sect = 0;
    r.seg[0].last_sect = 7;
    return r;
}

static void hostile_front(int front, int back)
{
    struct fx x;
    struct raw_front h;
    struct hreq r;
    struct pvcore_guest_blkback_stats st;
    const uint32_t good = FIRST_REF + 1u, ro = FIRST_REF + 2u, other = FIRST_REF + 3u;
    const uint64_t ops_unsupported[] = { PVCORE_BLKIF_OP_WRITE_BARRIER, PVCORE_BLKIF_OP_FLUSH_DISKCACHE,
                                         PVCORE_BLKIF_OP_RESERVED_1, PVCORE_BLKIF_OP_DISCARD,
                                         PVCORE_BLKIF_OP_INDIRECT, 7, 0xFF };
    uint32_t i, served;
    uint64_t id = 100;
    unsigned char *copy;

    fx_init(&x, front, back);
    memset(&h, 0, sizeof(h));
    h.x = &x;
    /* The hostile front-end's grants: page 0 writable, page 1 read-only, page 2 for
     * domain 0; the disk starts with a known content. */
    raw_grant(&x, good, PVCORE_GTF_permit_access, (uint16_t)back, (uint32_t)x.page[0]);
    raw_grant(&x, ro, PVCORE_GTF_permit_access | PVCORE_GTF_readonly, (uint16_t)back, (uint32_t)x.page[1]);
    raw_grant(&x, other, PVCORE_GTF_permit_access, 0, (uint32_t)x.page[2]);
    memset(frame_ptr(x.t, x.page[0]), 0x5A, 4096);
    memset(frame_ptr(x.t, x.page[1]), 0xA5, 4096);
    for (i = 0; i < NSECT * PVCORE_BLKIF_SECTOR_SIZE; i++) {
        x.disk[i] = (unsigned char)(i * 7u);
    }
    copy = malloc(NSECT * PVCORE_BLKIF_SECTOR_SIZE);
    assert_non_null(copy);
    memcpy(copy, x.disk, NSECT * PVCORE_BLKIF_SECTOR_SIZE);

    /* Positive controls: a write from the read-only grant, a read into the writable one. */
    r = rw(PVCORE_BLKIF_OP_WRITE, id++, 16, ro);
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_OKAY);
    for (i = 0; i < 4096; i++) {
        assert_int_equal(x.disk[16u * 512u + i], 0xA5);
    }
    memcpy(x.disk + 16u * 512u, copy + 16u * 512u, 4096); /* as it was */
    r = rw(PVCORE_BLKIF_OP_READ, id++, NSECT - 8u, good);
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_OKAY);
    assert_memory_equal(frame_ptr(x.t, x.page[0]), copy + (NSECT - 8u) * 512u, 4096);

    /* Segment counts. */
    r = rw(PVCORE_BLKIF_OP_WRITE, id++, 0, good);
    r.nr = 0;
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_ERROR);
    r.id = id++;
    r.nr = MAXSEG + 1u;
    for (i = 0; i < MAXSEG; i++) {
        r.seg[i] = (struct pvcore_blkif_request_segment){ good, 0, 0 };
    }
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_ERROR);
    r.id = id++;
    r.nr = 0xFF;
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_ERROR);
    /* Sectors inside a page: last before first, past the page. */
    r = rw(PVCORE_BLKIF_OP_READ, id++, 0, good);
    r.seg[0].first_sect = 5;
    r.seg[0].last_sect = 4;
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_ERROR);
    r.id = id++;
    r.seg[0].first_sect = 0;
    r.seg[0].last_sect = 8;
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_ERROR);
    r.id = id++;
    r.seg[0].first_sect = 200;
    r.seg[0].last_sect = 255;
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_ERROR);
    /* Sector ranges: starting at the end, ending past it, wrapping around 2^64. */
    r = rw(PVCORE_BLKIF_OP_WRITE, id++, NSECT, good);
    r.seg[0].last_sect = 0;
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_ERROR);
    r = rw(PVCORE_BLKIF_OP_WRITE, id++, NSECT - 7u, good);
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_ERROR);
    r = rw(PVCORE_BLKIF_OP_WRITE, id++, UINT64_MAX - 3u, good);
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_ERROR);
    r = rw(PVCORE_BLKIF_OP_READ, id++, UINT64_MAX, good);
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_ERROR);
    /* Another device; the ring's own grant as data. */
    r = rw(PVCORE_BLKIF_OP_READ, id++, 0, good);
    r.handle = HANDLE + 1u;
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_ERROR);
    r = rw(PVCORE_BLKIF_OP_READ, id++, 0, FIRST_REF);
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_ERROR);
    pvcore_guest_blkback_get_stats(x.b, &st);
    assert_int_equal(st.invalid, 12);
    assert_int_equal(st.map_failures, 0);
    assert_int_equal(st.mapped, 3); /* the ring and the two controls: nothing else was mapped */

    /* Operations it does not serve. */
    for (i = 0; i < sizeof(ops_unsupported) / sizeof(ops_unsupported[0]); i++) {
        r = rw((uint8_t)ops_unsupported[i], id++, 0, good);
        assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_EOPNOTSUPP);
    }

    /* Grants the hypervisor refuses: never made, beyond the table, for another domain,
     * read-only for a read request (which writes into the page). */
    r = rw(PVCORE_BLKIF_OP_WRITE, id++, 0, FIRST_REF + 40u);
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_ERROR);
    pvcore_guest_blkback_get_stats(x.b, &st);
    assert_int_equal(st.last_gntst, PVCORE_GNTST_general_error);
    r = rw(PVCORE_BLKIF_OP_WRITE, id++, 0, 100000u);
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_ERROR);
    pvcore_guest_blkback_get_stats(x.b, &st);
    assert_int_equal(st.last_gntst, PVCORE_GNTST_bad_gntref);
    r = rw(PVCORE_BLKIF_OP_READ, id++, 0, other);
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_ERROR);
    r = rw(PVCORE_BLKIF_OP_READ, id++, 0, ro);
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_ERROR);
    assert_int_equal(gnt_word(&x, ro), (uint32_t)(PVCORE_GTF_permit_access | PVCORE_GTF_readonly) | (uint32_t)back << 16);
    /* A good first segment and a bad second one: the first is mapped, then undone. */
    r = rw(PVCORE_BLKIF_OP_READ, id++, 0, good);
    r.nr = 2;
    r.seg[1] = (struct pvcore_blkif_request_segment){ ro, 0, 7 };
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_ERROR);
    pvcore_guest_blkback_get_stats(x.b, &st);
    assert_int_equal(st.map_failures, 5);
    assert_int_equal(st.mapped, 4);
    assert_int_equal(st.unmapped, 3);
    assert_int_equal(gnt_word(&x, good), (uint32_t)PVCORE_GTF_permit_access | (uint32_t)back << 16);
    /* Every refused request left the disk alone, and nothing is mapped but the ring. */
    assert_memory_equal(x.disk, copy, NSECT * PVCORE_BLKIF_SECTOR_SIZE);
    assert_int_equal(finfo(x.t, x.page[0]).count, x.before[1].count);
    assert_int_equal(finfo(x.t, x.page[1]).count, x.before[2].count);
    assert_int_equal(finfo(x.t, x.page[0]).type_count, 0);
    check_invariants(x.t);

    /* A batch: several requests published at once, answered in order. */
    for (i = 0; i < 5; i++) {
        r = rw(i % 2 ? PVCORE_BLKIF_OP_READ : PVCORE_BLKIF_OP_WRITE, 1000u + i, 8u * i, i == 3 ? 9999u : ro);
        put(&h, &r);
    }
    publish(&h);
    assert_int_equal(pvcore_guest_blkback_poll(x.b, 2, &served), 0); /* a budget of two */
    assert_int_equal(served, 2);
    assert_int_equal(pvcore_guest_blkback_poll(x.b, 0, &served), 0);
    assert_int_equal(served, 3);
    for (i = 0; i < 5; i++) {
        uint8_t op;
        int16_t status;
        uint64_t rid;

        take(&h, &rid, &op, &status);
        assert_int_equal(rid, 1000u + i);
        /* Writes from the read-only grant work; reads into it, and the unknown grant, fail. */
        assert_int_equal(status, i % 2 ? PVCORE_BLKIF_RSP_ERROR : PVCORE_BLKIF_RSP_OKAY);
    }

    /* req_prod beyond the ring: the back-end stops serving, for good. */
    pvcore_guest_blkback_get_stats(x.b, &st);
    h.req_prod += PVCORE_BLKIF_RING_SIZE_4K + 1u;
    publish(&h);
    assert_int_equal(pvcore_guest_blkback_poll(x.b, 0, &served), -PVCORE_EOVERFLOW);
    assert_int_equal(served, 0);
    assert_int_equal(pvcore_guest_blkback_fault(x.b), PVCORE_GUEST_BLK_FAULT_OVERFLOW);
    h.req_prod -= PVCORE_BLKIF_RING_SIZE_4K + 1u;
    r = rw(PVCORE_BLKIF_OP_WRITE, id++, 0, ro);
    put(&h, &r);
    publish(&h);
    assert_int_equal(pvcore_guest_blkback_poll(x.b, 0, &served), -PVCORE_EOVERFLOW);
    {
        struct pvcore_guest_blkback_stats st2;
        pvcore_guest_blkback_get_stats(x.b, &st2);
        assert_int_equal(st2.requests, st.requests);
    }
    assert_int_equal(__atomic_load_n(&sring(&x)->rsp_prod, __ATOMIC_ACQUIRE), h.rsp_cons);

    /* The front-end takes its grants back once the ring is unmapped. */
    raw_grant(&x, good, 0, 0, 0);
    raw_grant(&x, ro, 0, 0, 0);
    raw_grant(&x, other, 0, 0, 0);
    fx_finish(&x);
    free(copy);
    fx_free(&x);
}

static void test_blk_hostile_front_32(void **state)
{
    (void)state;
    hostile_front(2, 1);
}

static void test_blk_hostile_front_64(void **state)
{
    (void)state;
    hostile_front(1, 2);
}

/* req_prod behind req_cons wraps to a huge claim: the same stop. */
static void test_blk_hostile_front_backwards(void **state)
{
    struct fx x;
    struct raw_front h;
    struct hreq r;
    uint32_t served;

    (void)state;
    fx_init(&x, 2, 1);
    memset(&h, 0, sizeof(h));
    h.x = &x;
    raw_grant(&x, FIRST_REF + 1u, PVCORE_GTF_permit_access, 1, (uint32_t)x.page[0]);
    r = rw(PVCORE_BLKIF_OP_READ, 7, 0, FIRST_REF + 1u);
    assert_int_equal(one(&h, &r), PVCORE_BLKIF_RSP_OKAY);
    h.req_prod -= 2u;
    publish(&h);
    assert_int_equal(pvcore_guest_blkback_poll(x.b, 0, &served), -PVCORE_EOVERFLOW);
    assert_int_equal(pvcore_guest_blkback_fault(x.b), PVCORE_GUEST_BLK_FAULT_OVERFLOW);
    raw_grant(&x, FIRST_REF + 1u, 0, 0, 0);
    fx_finish(&x);
    fx_free(&x);
}

/* ---- a hostile back-end -------------------------------------------------------------------- */

/* The test's answer to the front-end: a response in the ring's layout at rsp_prod. */
static void answer(struct fx *x, uint32_t *rsp_prod, uint64_t id, uint8_t op, int16_t status)
{
    uint8_t *s = slot(x, (*rsp_prod)++);

    if (x->proto == PVCORE_GUEST_BLK_X86_32) {
        struct pvcore_blkif_response_x86_32 w = { { (uint32_t)id, (uint32_t)(id >> 32) }, op, 0, status };
        memcpy(s, &w, sizeof(w));
    } else {
        struct pvcore_blkif_response_x86_64 w = { id, op, 0, status, 0 };
        memcpy(s, &w, sizeof(w));
    }
    __atomic_store_n(&sring(x)->rsp_prod, *rsp_prod, __ATOMIC_RELEASE);
}

/* A front-end with no back-end behind it: the test plays that part. */
static void hb_init_mode(struct fx *x, int xfer)
{
    struct pvcore_guest_blkfront_config fc;
    struct pvcore_guest_blk_page pages[NPAGES];

    fx_setup(x, 2, 1);
    x->xfer = xfer;
    front_config(x, &fc, pages);
    fc.transfer_reads = (uint32_t)xfer;
    assert_int_equal(pvcore_guest_blkfront_init(x->fmem, pvcore_guest_blkfront_size(), &fc, &x->f), 0);
    x->tot_before[2] = pvcore_domain_tot_pages(x->t->dom[2]);
    x->tot_before[1] = pvcore_domain_tot_pages(x->t->dom[1]);
}

static void hb_init(struct fx *x)
{
    hb_init_mode(x, 0);
}

static uint64_t queue1(struct fx *x, uint8_t op, uint32_t page)
{
    struct pvcore_guest_blk_seg seg = { page, 0, 7 };
    uint64_t id;

    assert_int_equal(pvcore_guest_blkfront_queue(x->f, op, 8u * page, &seg, 1, &id), 0);
    assert_int_equal(pvcore_guest_blkfront_kick(x->f), 0);
    return id;
}

static void hb_end(struct fx *x, uint32_t fault)
{
    struct pvcore_guest_blk_done d[4];
    struct pvcore_guest_blk_seg seg = { 20, 0, 7 };
    uint32_t n = 9;

    assert_int_equal(pvcore_guest_blkfront_fault(x->f), fault);
    if (fault != PVCORE_GUEST_BLK_FAULT_NONE) {
        /* Stopped for good. */
        assert_int_equal(pvcore_guest_blkfront_poll(x->f, d, 4, &n), -PVCORE_EIO);
        assert_int_equal(n, 0);
        assert_int_equal(pvcore_guest_blkfront_queue(x->f, PVCORE_BLKIF_OP_READ, 0, &seg, 1, NULL), -PVCORE_EIO);
        assert_int_equal(pvcore_guest_blkfront_kick(x->f), -PVCORE_EIO);
    }
    fx_finish(x);
    fx_free(x);
}

/* The test, as the back-end (domain 1), gives the front-end a new frame holding `fill`
 * through its grant `ref`: populated at a spare gfn, written, transferred. The status. */
static int16_t give_frame(struct fx *x, uint32_t ref, uint8_t fill)
{
    pvcore_gnttab_transfer_x86_64_t t;
    pvcore_xen_memory_reservation_x86_64_t r;
    uint64_t frame = SPARE_GFN(0);

    memset(&r, 0, sizeof(r));
    r.extent_start = (uintptr_t)&frame;
    r.nr_extents = 1;
    r.domid = PVCORE_DOMID_SELF;
    assert_int_equal(memory_op(&x->s[1], PVCORE_XENMEM_populate_physmap, &r), 1);
    memset(frame_ptr(x->t, frame), fill, 4096);
    memset(&t, 0, sizeof(t));
    t.mfn = frame;
    t.domid = 2;
    t.ref = ref;
    assert_int_equal(transfer_op(&x->s[1], &t, 1), 0);
    return t.status;
}

/* Queues a transfer-mode read of pages 0 and 1 (sectors 0-15): its id. The pages' frames
 * are given back and their entries accept a transfer from domain 1. */
static uint64_t queue_xfer_read(struct fx *x, uint64_t old[2])
{
    struct pvcore_guest_blk_seg segs[2] = { { 0, 0, 7 }, { 1, 0, 7 } };
    uint64_t id;

    old[0] = x->page[0];
    old[1] = x->page[1];
    assert_int_equal(pvcore_guest_blkfront_queue(x->f, PVCORE_BLKIF_OP_READ, 0, segs, 2, &id), 0);
    assert_int_equal(pvcore_guest_blkfront_kick(x->f), 0);
    assert_int_equal(gnt_word(x, FIRST_REF + 1u), (uint32_t)PVCORE_GTF_accept_transfer | 1u << 16);
    assert_int_equal(gnt_word(x, FIRST_REF + 2u), (uint32_t)PVCORE_GTF_accept_transfer | 1u << 16);
    assert_int_equal(finfo(x->t, old[0]).owner, PVCORE_DOMID_INVALID); /* given back */
    assert_int_equal(finfo(x->t, old[1]).owner, PVCORE_DOMID_INVALID);
    assert_int_equal(pvcore_domain_tot_pages(x->t->dom[2]), x->tot_before[2] - 2u);
    check_invariants(x->t);
    return id;
}

/*
 * Transfer mode against a hostile or mismatched other end:
 * - a back-end that transfers a frame into one of a read's two pages and answers OKAY:
 *   the front-end keeps the frame that came (with its data), gets a new one for the page
 *   that got nothing, and reports the read failed; answering OKAY with no transfer at all
 *   is the same; nothing stops, and each domain is its size again;
 * - a transfer into an entry after the answer (the front-end took it back): refused;
 * - a disconnect with a transfer-mode read in flight takes the entries back and gives
 *   the pages new frames;
 * - a back-end in transfer mode serving a front-end that grants its pages (and the other
 *   way round): the reads fail, no data moves, every frame is accounted for.
 */
static void test_blk_transfer_hostile(void **state)
{
    struct fx x;
    struct pvcore_guest_blk_done d[4];
    uint64_t a, old[2];
    uint32_t n, rp, i;

    (void)state;
    for (i = 0; i < 2; i++) {
        hb_init_mode(&x, 1);
        rp = 0;
        a = queue_xfer_read(&x, old);
        if (i == 0) {
            assert_int_equal(give_frame(&x, FIRST_REF + 1u, 0x5A), PVCORE_GNTST_okay);
        }
        answer(&x, &rp, a, PVCORE_BLKIF_OP_READ, PVCORE_BLKIF_RSP_OKAY);
        assert_int_equal(pvcore_guest_blkfront_poll(x.f, d, 4, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(d[0].status, PVCORE_BLKIF_RSP_ERROR); /* a page got nothing */
        assert_int_equal(pvcore_guest_blkfront_fault(x.f), PVCORE_GUEST_BLK_FAULT_NONE);
        assert_int_equal(gnt_word(&x, FIRST_REF + 1u), 0);
        assert_int_equal(gnt_word(&x, FIRST_REF + 2u), 0);
        assert_int_not_equal(x.page[0], old[0]);
        assert_int_not_equal(x.page[1], old[1]);
        assert_int_equal(finfo(x.t, x.page[0]).owner, 2);
        assert_int_equal(finfo(x.t, x.page[1]).owner, 2);
        assert_int_equal(((uint8_t *)frame_ptr(x.t, x.page[0]))[4095], i == 0 ? 0x5A : 0);
        assert_int_equal(pvcore_guest_blkfront_page_busy(x.f, 0), 0);
        /* Too late: the entry is no longer accepting. */
        assert_int_not_equal(give_frame(&x, FIRST_REF + 1u, 0x11), PVCORE_GNTST_okay);
        hb_end(&x, PVCORE_GUEST_BLK_FAULT_NONE);
    }

    /* Disconnected with the read in flight. */
    hb_init_mode(&x, 1);
    (void)queue_xfer_read(&x, old);
    assert_int_equal(pvcore_guest_blkfront_disconnect(x.f), 0);
    assert_int_equal(pvcore_guest_blkfront_in_flight(x.f), 0);
    assert_int_equal(finfo(x.t, x.page[0]).owner, 2);
    assert_int_equal(finfo(x.t, x.page[1]).owner, 2);
    x.b = NULL;
    fx_finish(&x);
    fx_free(&x);

    /* Mismatched modes, both ways: the reads fail, nothing leaks. */
    for (i = 0; i < 2; i++) {
        struct pvcore_guest_blkfront_config fc;
        struct pvcore_guest_blkback_config bc;
        struct pvcore_guest_blk_page pages[NPAGES];
        struct pvcore_guest_blkback_stats st;
        struct pvcore_guest_blk_seg seg = { 0, 0, 7 };
        uint32_t served;

        fx_setup(&x, 2, 1);
        front_config(&x, &fc, pages);
        fc.transfer_reads = i;
        assert_int_equal(pvcore_guest_blkfront_init(x.fmem, pvcore_guest_blkfront_size(), &fc, &x.f), 0);
        back_config(&x, &bc);
        bc.transfer_reads = 1u - i;
        assert_int_equal(pvcore_guest_blkback_connect(x.bmem, pvcore_guest_blkback_size(), &bc, &x.b), 0);
        x.tot_before[2] = pvcore_domain_tot_pages(x.t->dom[2]);
        x.tot_before[1] = pvcore_domain_tot_pages(x.t->dom[1]);
        memset(x.disk, 0x77, 8u * PVCORE_BLKIF_SECTOR_SIZE);
        memset(frame_ptr(x.t, x.page[0]), 0x33, 4096);
        assert_int_equal(pvcore_guest_blkfront_queue(x.f, PVCORE_BLKIF_OP_READ, 0, &seg, 1, NULL), 0);
        assert_int_equal(pvcore_guest_blkfront_kick(x.f), 0);
        assert_int_equal(pvcore_guest_blkback_poll(x.b, 0, &served), 0);
        assert_int_equal(served, 1);
        assert_int_equal(pvcore_guest_blkfront_poll(x.f, d, 4, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(d[0].status, PVCORE_BLKIF_RSP_ERROR);
        pvcore_guest_blkback_get_stats(x.b, &st);
        assert_int_equal(st.transferred, 0);
        assert_int_equal(st.sectors_read, 0);
        assert_int_equal(st.transfer_failures, 1u - i);
        assert_int_equal(st.map_failures, i);
        if (i == 0) {
            /* The granted page kept its frame and was not written. */
            assert_int_equal(((uint8_t *)frame_ptr(x.t, x.page[0]))[100], 0x33);
        }
        assert_int_equal(pvcore_guest_blkback_fault(x.b), PVCORE_GUEST_BLK_FAULT_NONE);
        fx_finish(&x);
        fx_free(&x);
    }
}

static void test_blk_hostile_back(void **state)
{
    struct fx x;
    struct pvcore_guest_blk_done d[8];
    uint32_t n, rp;
    uint64_t a, b;

    (void)state;
    /* Answered twice: the second answer is more responses than requests. */
    hb_init(&x);
    rp = 0;
    a = queue1(&x, PVCORE_BLKIF_OP_READ, 0);
    assert_int_equal(gnt_word(&x, FIRST_REF + 1u), (uint32_t)PVCORE_GTF_permit_access | 1u << 16);
    answer(&x, &rp, a, PVCORE_BLKIF_OP_READ, PVCORE_BLKIF_RSP_OKAY);
    assert_int_equal(pvcore_guest_blkfront_poll(x.f, d, 8, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(d[0].id, a);
    assert_int_equal(d[0].status, PVCORE_BLKIF_RSP_OKAY);
    assert_int_equal(gnt_word(&x, FIRST_REF + 1u), 0);
    answer(&x, &rp, a, PVCORE_BLKIF_OP_READ, PVCORE_BLKIF_RSP_OKAY);
    assert_int_equal(pvcore_guest_blkfront_poll(x.f, d, 8, &n), -PVCORE_EIO);
    assert_int_equal(n, 0);
    hb_end(&x, PVCORE_GUEST_BLK_FAULT_OVERFLOW);

    /* Answered twice with another request in flight: the second answer's id is unknown. */
    hb_init(&x);
    rp = 0;
    a = queue1(&x, PVCORE_BLKIF_OP_WRITE, 0);
    b = queue1(&x, PVCORE_BLKIF_OP_WRITE, 1);
    assert_int_equal(gnt_word(&x, FIRST_REF + 1u), (uint32_t)(PVCORE_GTF_permit_access | PVCORE_GTF_readonly) | 1u << 16);
    answer(&x, &rp, a, PVCORE_BLKIF_OP_WRITE, PVCORE_BLKIF_RSP_ERROR);
    answer(&x, &rp, a, PVCORE_BLKIF_OP_WRITE, PVCORE_BLKIF_RSP_OKAY);
    assert_int_equal(pvcore_guest_blkfront_poll(x.f, d, 8, &n), -PVCORE_EIO);
    assert_int_equal(n, 1); /* the first answer stands */
    assert_int_equal(d[0].id, a);
    assert_int_equal(d[0].status, PVCORE_BLKIF_RSP_ERROR);
    assert_int_equal(pvcore_guest_blkfront_in_flight(x.f), 1);
    assert_int_equal(pvcore_guest_blkfront_page_busy(x.f, 1), 1);
    (void)b;
    hb_end(&x, PVCORE_GUEST_BLK_FAULT_BAD_ID);

    /* An id never issued, and one whose slot is right but sequence wrong. */
    hb_init(&x);
    rp = 0;
    a = queue1(&x, PVCORE_BLKIF_OP_READ, 0);
    answer(&x, &rp, 12345u, PVCORE_BLKIF_OP_READ, PVCORE_BLKIF_RSP_OKAY);
    assert_int_equal(pvcore_guest_blkfront_poll(x.f, d, 8, &n), -PVCORE_EIO);
    hb_end(&x, PVCORE_GUEST_BLK_FAULT_BAD_ID);
    hb_init(&x);
    rp = 0;
    a = queue1(&x, PVCORE_BLKIF_OP_READ, 0);
    answer(&x, &rp, a + 0x100u, PVCORE_BLKIF_OP_READ, PVCORE_BLKIF_RSP_OKAY);
    assert_int_equal(pvcore_guest_blkfront_poll(x.f, d, 8, &n), -PVCORE_EIO);
    hb_end(&x, PVCORE_GUEST_BLK_FAULT_BAD_ID);

    /* The wrong operation. */
    hb_init(&x);
    rp = 0;
    a = queue1(&x, PVCORE_BLKIF_OP_READ, 0);
    answer(&x, &rp, a, PVCORE_BLKIF_OP_WRITE, PVCORE_BLKIF_RSP_OKAY);
    assert_int_equal(pvcore_guest_blkfront_poll(x.f, d, 8, &n), -PVCORE_EIO);
    hb_end(&x, PVCORE_GUEST_BLK_FAULT_BAD_OP);

    /* rsp_prod far beyond the requests: nothing is consumed. */
    hb_init(&x);
    a = queue1(&x, PVCORE_BLKIF_OP_READ, 0);
    rp = 5;
    answer(&x, &rp, a, PVCORE_BLKIF_OP_READ, PVCORE_BLKIF_RSP_OKAY);
    assert_int_equal(pvcore_guest_blkfront_poll(x.f, d, 8, &n), -PVCORE_EIO);
    assert_int_equal(n, 0);
    assert_int_equal(pvcore_guest_blkfront_in_flight(x.f), 1);
    hb_end(&x, PVCORE_GUEST_BLK_FAULT_OVERFLOW);

    /* A status outside the protocol reads as an error. */
    hb_init(&x);
    rp = 0;
    a = queue1(&x, PVCORE_BLKIF_OP_READ, 0);
    answer(&x, &rp, a, PVCORE_BLKIF_OP_READ, 77);
    assert_int_equal(pvcore_guest_blkfront_poll(x.f, d, 8, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(d[0].status, PVCORE_BLKIF_RSP_ERROR);
    hb_end(&x, PVCORE_GUEST_BLK_FAULT_NONE);

    /* Answered while the back-end still maps the page: the grant stays out until it lets
     * go, and the front-end stops. */
    hb_init(&x);
    {
        struct pvcore_gnttab_map_grant_ref m, *mp = &m;
        struct pvcore_gnttab_unmap_grant_ref u;

        rp = 0;
        a = queue1(&x, PVCORE_BLKIF_OP_READ, 3);
        memset(&m, 0, sizeof(m));
        m.host_addr = SEG_VA(0);
        m.flags = PVCORE_GNTMAP_host_map;
        m.ref = FIRST_REF + 1u + 3u;
        m.dom = 2;
        assert_int_equal(grant_op(&x.s[1], PVCORE_GNTTABOP_map_grant_ref, mp, 1), 0);
        assert_int_equal(m.status, PVCORE_GNTST_okay);
        answer(&x, &rp, a, PVCORE_BLKIF_OP_READ, PVCORE_BLKIF_RSP_OKAY);
        assert_int_equal(pvcore_guest_blkfront_poll(x.f, d, 8, &n), -PVCORE_EIO);
        assert_int_equal(n, 0);
        assert_int_equal(pvcore_guest_blkfront_fault(x.f), PVCORE_GUEST_BLK_FAULT_GRANT_HELD);
        assert_int_equal(pvcore_guest_blkfront_page_busy(x.f, 3), 1);
        assert_int_equal(pvcore_guest_blkfront_disconnect(x.f), -PVCORE_EBUSY);
        assert_int_equal(pvcore_guest_blkfront_disconnect(x.f), -PVCORE_EBUSY);
        assert_int_not_equal(gnt_word(&x, FIRST_REF + 4u), 0);
        assert_int_equal(gnt_word(&x, FIRST_REF), 0); /* the ring's, not mapped, is back */
        memset(&u, 0, sizeof(u));
        u.host_addr = SEG_VA(0);
        u.handle = m.handle;
        assert_int_equal(grant_op(&x.s[1], PVCORE_GNTTABOP_unmap_grant_ref, &u, 1), 0);
        assert_int_equal(u.status, PVCORE_GNTST_okay);
        assert_int_equal(pvcore_guest_blkfront_page_busy(x.f, 3), 1);
    }
    hb_end(&x, PVCORE_GUEST_BLK_FAULT_GRANT_HELD);
}

/* ---- set-up arguments ---------------------------------------------------------------------- */

static void test_blk_config(void **state)
{
    struct fx x;
    struct pvcore_guest_blkfront_config fc, c;
    struct pvcore_guest_blkback_config bc, d;
    struct pvcore_guest_blk_page pages[NPAGES];
    struct pvcore_guest_blkfront *f = NULL;
    struct pvcore_guest_blkback *b = NULL;
    struct pvcore_guest_blk_ops no_send = { NULL, NULL, NULL, NULL, NULL, NULL };
    size_t fs = pvcore_guest_blkfront_size(), bs = pvcore_guest_blkback_size();
    uint8_t hdr[64];
    struct pvcore_guest_blk_seg seg = { 0, 0, 7 }, two[2] = { { 0, 0, 7 }, { 0, 0, 7 } };

    (void)state;
    fx_setup(&x, 2, 1);
    front_config(&x, &fc, pages);
    memset(frame_ptr(x.t, x.ring), 0xCC, 64);
    memcpy(hdr, frame_ptr(x.t, x.ring), 64);
#define FBAD(stmt)                                                                        \
    do {                                                                                  \
        c = fc;                                                                           \
        stmt;                                                                             \
        assert_int_equal(pvcore_guest_blkfront_init(x.fmem, fs, &c, &f), -PVCORE_EINVAL); \
    } while (0)
    assert_int_equal(pvcore_guest_blkfront_init(NULL, fs, &fc, &f), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_blkfront_init((char *)x.fmem + 4, fs, &fc, &f), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_blkfront_init(x.fmem, fs - 1u, &fc, &f), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_blkfront_init(x.fmem, fs, NULL, &f), -PVCORE_EINVAL);
    FBAD(c.ops = NULL);
    FBAD(c.ops = &no_send);
    FBAD(c.protocol = 48);
    FBAD(c.gnttab = NULL);
    FBAD(c.nr_pages = 0);
    FBAD(c.nr_pages = PVCORE_GUEST_BLKFRONT_MAX_PAGES + 1u);
    FBAD(c.pages = NULL);
    FBAD(c.first_ref = 512u - NPAGES);            /* the last page's reference past the table */
    FBAD(c.first_ref = UINT32_MAX);
    FBAD(c.gnttab_entries = FIRST_REF + NPAGES);   /* one short */
    FBAD(c.ring.va = (char *)c.ring.va + 8);
    FBAD(c.ring.frame = 1ull << 32);
    pages[5].frame = 1ull << 32;
    FBAD((void)0);
    pages[5].frame = x.page[5];
    /* Transfer mode: memory_op and remap needed, gfns below 2^32. */
    {
        struct pvcore_guest_blk_ops no_remap = x.fops, no_memop = x.fops;

        no_remap.remap = NULL;
        no_memop.memory_op = NULL;
        FBAD((c.transfer_reads = 1, c.ops = &no_remap));
        FBAD((c.transfer_reads = 1, c.ops = &no_memop));
        pages[7].gfn = 1ull << 32;
        FBAD(c.transfer_reads = 1);
        pages[7].gfn = x.gfn[7];
    }
    raw_grant(&x, FIRST_REF + 7u, PVCORE_GTF_permit_access, 1, 1); /* a reference in use */
    FBAD((void)0);
    raw_grant(&x, FIRST_REF + 7u, 0, 0, 0);
    assert_memory_equal(frame_ptr(x.t, x.ring), hdr, 64); /* nothing written */
    assert_int_equal(gnt_word(&x, FIRST_REF), 0);
    assert_int_equal(pvcore_guest_blkfront_init(x.fmem, fs, &fc, &f), 0);
    assert_int_equal(gnt_word(&x, FIRST_REF), (uint32_t)PVCORE_GTF_permit_access | 1u << 16);
    assert_int_equal(pvcore_guest_blkfront_free_slots(f), PVCORE_BLKIF_RING_SIZE_4K);
    assert_int_equal(pvcore_guest_blkfront_page_busy(f, NPAGES), -PVCORE_EINVAL);

    /* Queue's checks; nothing changes on error. */
    assert_int_equal(pvcore_guest_blkfront_queue(f, PVCORE_BLKIF_OP_DISCARD, 0, &seg, 1, NULL), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_blkfront_queue(f, PVCORE_BLKIF_OP_READ, 0, &seg, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_blkfront_queue(f, PVCORE_BLKIF_OP_READ, 0, &seg, MAXSEG + 1u, NULL), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_blkfront_queue(f, PVCORE_BLKIF_OP_READ, 0, two, 2, NULL), -PVCORE_EINVAL);
    seg.page = NPAGES;
    assert_int_equal(pvcore_guest_blkfront_queue(f, PVCORE_BLKIF_OP_READ, 0, &seg, 1, NULL), -PVCORE_EINVAL);
    seg = (struct pvcore_guest_blk_seg){ 0, 3, 2 };
    assert_int_equal(pvcore_guest_blkfront_queue(f, PVCORE_BLKIF_OP_READ, 0, &seg, 1, NULL), -PVCORE_EINVAL);
    seg = (struct pvcore_guest_blk_seg){ 0, 0, 8 };
    assert_int_equal(pvcore_guest_blkfront_queue(f, PVCORE_BLKIF_OP_READ, 0, &seg, 1, NULL), -PVCORE_EINVAL);
    seg = (struct pvcore_guest_blk_seg){ 0, 0, 7 };
    assert_int_equal(pvcore_guest_blkfront_queue(f, PVCORE_BLKIF_OP_READ, UINT64_MAX - 6u, &seg, 1, NULL), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_blkfront_in_flight(f), 0);
    assert_int_equal(gnt_word(&x, FIRST_REF + 1u), 0);
    assert_int_equal(pvcore_guest_blkfront_queue(f, PVCORE_BLKIF_OP_READ, UINT64_MAX - 7u, &seg, 1, NULL), 0);
    assert_int_equal(pvcore_guest_blkfront_queue(f, PVCORE_BLKIF_OP_READ, 0, &seg, 1, NULL), -PVCORE_EBUSY);
    for (seg.page = 1; seg.page < PVCORE_BLKIF_RING_SIZE_4K; seg.page++) {
        assert_int_equal(pvcore_guest_blkfront_queue(f, PVCORE_BLKIF_OP_WRITE, 0, &seg, 1, NULL), 0);
    }
    assert_int_equal(pvcore_guest_blkfront_free_slots(f), 0);
    assert_int_equal(pvcore_guest_blkfront_queue(f, PVCORE_BLKIF_OP_WRITE, 0, &seg, 1, NULL), -PVCORE_ENOSPC);
    assert_int_equal(pvcore_guest_blkfront_in_flight(f), PVCORE_BLKIF_RING_SIZE_4K);
    /* Not published, never mapped: all revocable. */
    assert_int_equal(pvcore_guest_blkfront_disconnect(f), 0);
    assert_int_equal(pvcore_guest_blkfront_in_flight(f), 0);

    /* The back-end's. */
    x.f = NULL;
    back_config(&x, &bc);
#define BBAD(stmt)                                                                        \
    do {                                                                                  \
        d = bc;                                                                           \
        stmt;                                                                             \
        assert_int_equal(pvcore_guest_blkback_connect(x.bmem, bs, &d, &b), -PVCORE_EINVAL); \
    } while (0)
    assert_int_equal(pvcore_guest_blkback_connect(x.bmem, bs - 1u, &bc, &b), -PVCORE_EINVAL);
    BBAD(d.ops = &x.fops); /* no grant_table_op */
    BBAD(d.protocol = 0);
    BBAD(d.disk = NULL);
    BBAD(d.nr_sectors = 0);
    BBAD(d.ring_addr = RING_VA + 8u);
    BBAD(d.ring_addr = 0);
    BBAD(d.seg_addr[3] = d.seg_addr[4]);
    BBAD(d.seg_addr[10] = RING_VA);
    BBAD(d.seg_addr[0] = SEG_VA(0) + 1u);
    {
        struct pvcore_guest_blk_ops no_remap = x.bops, no_memop = x.bops;

        no_remap.remap = NULL;
        no_memop.memory_op = NULL;
        BBAD((d.transfer_reads = 1, d.ops = &no_remap));
        BBAD((d.transfer_reads = 1, d.ops = &no_memop));
        BBAD((d.transfer_reads = 1, d.spare_gfn[2] = d.spare_gfn[9]));
    }
    /* The ring's grant is gone (revoked above): the map is refused. */
    assert_int_equal(pvcore_guest_blkback_connect(x.bmem, bs, &bc, &b), -PVCORE_EACCES);
    {
        struct pvcore_guest_blkback_stats st;
        pvcore_guest_blkback_get_stats(b, &st);
        assert_int_equal(st.last_gntst, PVCORE_GNTST_general_error);
        assert_int_equal(st.mapped, 0);
    }
    assert_int_equal(pvcore_guest_blkback_poll(b, 0, NULL), -PVCORE_ENOTCONN);
    assert_int_equal(pvcore_guest_blkback_disconnect(b), -PVCORE_ENOTCONN);
    assert_nothing_held(&x);
    fx_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blk_config),
        cmocka_unit_test(test_blk_hostile_front_32),
        cmocka_unit_test(test_blk_hostile_front_64),
        cmocka_unit_test(test_blk_hostile_front_backwards),
        cmocka_unit_test(test_blk_hostile_back),
        cmocka_unit_test(test_blk_transfer_hostile),
        cmocka_unit_test(test_blk_pattern_32_on_64),
        cmocka_unit_test(test_blk_pattern_64_on_32),
        cmocka_unit_test(test_blk_transfer_32_on_64),
        cmocka_unit_test(test_blk_transfer_64_on_32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
