/*
 * bench_grant: what a back-end pays to get at a guest's 4 KiB page through the grant
 * table, on the host backend, against memcpy of the same 4 KiB measured in the same run.
 *
 * Two 64-bit domains on one machine: domain 2 grants 64 of its frames (entries 8-71,
 * read-write, to domain 1); domain 1, the back-end, gets at them through
 * pvcore_hypercall(), its op arrays in its own guest memory as a guest issues them:
 *
 *   map+unmap - GNTTABOP_map_grant_ref with GNTMAP_host_map at a virtual address (a free
 *               slot of its L1), then GNTTABOP_unmap_grant_ref of that handle: read-write
 *               and read-only; one op per hypercall, and batched (64 maps in one call,
 *               then 64 unmaps in one).
 *   copy      - GNTTABOP_copy from the grant (GNTCOPY_source_gref) into a frame of the
 *               back-end's own (DOMID_SELF): the whole 4 KiB page, and 512 bytes of it
 *               (a part, e.g. a sector); one op per call, and 64 in one call.
 *   memcpy    - memcpy of the same 4 KiB (and 512 bytes) from the granted frames into the
 *               same destination frames: the cost of moving the bytes alone.
 *   transfer  - page flipping, the whole cycle a page costs in a steady state that can go
 *               on for ever (the domains' sizes are the same after every pass): domain 2,
 *               the front-end, gives back the frame at the guest frame where the page is
 *               to land (XENMEM_decrease_reservation) and arms a version-1
 *               GTF_accept_transfer entry naming domain 1 and that guest frame; the
 *               back-end gives a frame of its own that holds the 4 KiB (GNTTABOP_transfer
 *               {mfn, domid 2, ref}) and gets a replacement at the same guest frame
 *               (XENMEM_populate_physmap); the front-end reads its entry back
 *               (GTF_transfer_completed, the new MFN). One op per hypercall (three calls
 *               per page), and batched (64 extents or transfers per call, three calls per
 *               64 pages). Filling the back-end's page is not counted: a flip moves a page
 *               the back-end already filled (a device's DMA, say), as a copy starts from
 *               such a page; the bench fills it, and checks the page the front-end got,
 *               outside the timed part of each pass. Not counted either, though a PV guest
 *               cannot skip them: the PTE updates around a flip (a PV kernel unmaps the page
 *               it gives from its own address space and maps the one it gets, and the
 *               front-end maps the page it received: update_va_mapping or mmu_update, see
 *               bench_mmu), and the guests' own P2M bookkeeping (the library keeps the
 *               embedder's P2M here). The frames come from the bench's frame source
 *               (pvcore_machine_set_frame_source()), a scan of the frame states from a
 *               rotating cursor over the machine's free frames; its probes are timed.
 *               The passes are timed one by one (the filling and checking between them
 *               untimed), and what a read of the clock adds to an interval, measured in
 *               each round, is taken off each pass.
 *
 * Every status is checked as a back-end must (a map's handle goes into its unmap), each
 * copy's bytes are compared after its run, and at the end the granted frames' counts and
 * the entries' flags are back where they started and the invariant checker passes. After
 * each pass of a flip the front-end's page must be the very frame the back-end gave,
 * owned by it alone, with no type, at its guest frame in its P2M (which the invariant
 * checker holds to the M2P) and with every byte the back-end wrote; the back-end's
 * replacement must be its own, at its guest frame; every entry must read completed; the
 * domains' sizes and the number of free frames must be what they were. TLB flushes are
 * counted by the host backend (pvcore_host_backend_stats()), which does not do them:
 * their cost on hardware (a flush, and an IPI per other CPU the domain ran on) is not in
 * the ns figures, only their number per page. For a flip they are the flushes the library
 * asks for when a frame that left its owner gets a new one (the transferred frame, and
 * the frame source's replacement): a full flush of every domain's vCPUs unless one has
 * completed since the frame left, so one per transferred page even in a batch (each frame
 * leaves the back-end after the flush the one before it asked for), while the
 * replacements, freed by the front-end before those flushes, ask for none; they exclude
 * whatever flush the guests' kernels would ask for themselves with the PTE updates above.
 *
 * Rounds are interleaved: each round runs every method once, forwards in even rounds and
 * backwards in odd ones, so that the methods compared with each other run next to each
 * other; ns per page are medians of the rounds (with min and max), and each ratio is the
 * median of the ratios measured within a round, so that a burst of load on the shared
 * machine hits both sides of a ratio alike. The last lines say where mapping wins, where
 * copying does and where page flipping does, computed from these ratios. Nothing here
 * asserts on time.
 *
 * usage: bench_grant [--quick]   (--quick: a short run that only checks every result)
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <pvcore/pvcore.h>
#include <pvcore/abi/grant_table.h>
#include <pvcore/abi/memory.h>
#include <pvcore/host_backend.h>
#include <pvcore/memory.h>

#define P 0x1ull
#define RW 0x2ull
#define US 0x4ull
#define VA 0x400000ull /* L2 slot 2: the back-end's one L1 */
#define NFRAMES 512u
#define NPAGES 64u     /* pages per pass; also the batch size */
#define FIRST_REF 8u   /* (0-7 are the toolstack's reserved entries) */
#define MAP_SLOT 64u   /* the back-end maps page i at slot MAP_SLOT + i of its L1 */
#define PART 512u      /* bytes of a partial access */
#define BACKEND 1
#define GRANTER 2 /* (also the front-end that receives the flipped pages) */
#define XFER_REF (FIRST_REF + NPAGES) /* the front-end's accept_transfer entries, 72-135 */
#define XFER_DONE (PVCORE_GTF_accept_transfer | PVCORE_GTF_transfer_committed | PVCORE_GTF_transfer_completed)

/* The op pages (slots 0-5 of each domain's L1; the front-end's flips use slots 4 and 5). */
#define MAP_OPS (VA + 0x0000)   /* 64 read-write maps, then 64 read-only ones at +2048 */
#define UNMAP_OPS (VA + 0x1000) /* 64 unmaps */
#define COPY_OPS (VA + 0x2000)  /* 64 copies of 4 KiB */
#define PCOPY_OPS (VA + 0x3000) /* 64 copies of PART bytes */
#define XFER_OPS (VA + 0x4000)  /* 64 transfers (the back-end's) */
#define LIST_OPS (VA + 0x4800)  /* each side's extent list: 64 frame numbers */
#define RESV_OPS (VA + 0x5000)  /* each side's reservations: [0] of 64 extents, [1 + i] of extent i */
#define NOPS 6u                 /* op pages, slots 0-5 of each domain's L1 */

static unsigned rounds = 21;
static unsigned passes = 100; /* passes over the 64 pages per run */

static double clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The thread's CPU time: the bench is one thread, and on a shared machine the time it
 * spends descheduled is not the cost of what it measures. */
static double now_ns(void)
{
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static double wall_ns, cpu_ns; /* totals of the timed runs, to show the machine's load */

static void die(const char *what, long long v)
{
    fprintf(stderr, "bench_grant: %s (%lld)\n", what, v);
    exit(1);
}

/* ---- two domains on the host backend ------------------------------------------------------ */

struct dom {
    struct pvcore_domain *d;
    struct pvcore_vcpu *v;
    void *mem, *gstate;
    uint64_t l1, ops[NOPS], table;
    uint64_t p2m[NFRAMES]; /* its P2M, kept by the library (pvcore_domain_set_p2m()) */
};

/* The bench's frame source: free frames of the host backend's machine in [first, end),
 * found by a scan of the frame states from where the last one was found. */
struct fsrc {
    struct pvcore_machine *m;
    uint64_t first, end, next;
    uint64_t calls, frames, probes;
};

struct bench {
    struct pvcore_host_backend *hb;
    struct pvcore_machine *m;
    struct dom be, gr;
    uint64_t next;
    uint64_t granted[NPAGES]; /* the granter's frames */
    uint64_t dst[NPAGES];     /* the back-end's copy destinations */
    /* Page flipping: the back-end's frames to give, at its guest frames tx_gfn, each
     * holding pattern tx_seq; the front-end's frames at rx_gfn, where the pages land. */
    uint64_t tx[NPAGES], tx_gfn[NPAGES], tx_seq[NPAGES], given[NPAGES];
    uint64_t rx[NPAGES], rx_gfn[NPAGES];
    uint64_t seq;                /* patterns written so far */
    uint64_t tot_be, tot_gr;     /* the domains' sizes, which every pass must keep */
    uint64_t nr_free;            /* free frames of the machine, likewise */
    struct fsrc src;
    void *scratch;
    size_t scratch_len;
};

static uint64_t *frame(struct bench *b, uint64_t mfn)
{
    return pvcore_host_backend_frame(b->hb, pvcore_mfn(mfn));
}

static uint8_t *bytes(struct bench *b, uint64_t mfn)
{
    return (uint8_t *)frame(b, mfn);
}

static uint64_t give(struct bench *b, struct dom *x)
{
    uint64_t mfn = b->next++;

    if (mfn >= NFRAMES || pvcore_domain_assign(x->d, pvcore_mfn(mfn), pvcore_gfn(mfn)) != 0) {
        die("assign", (long long)mfn);
    }
    memset(frame(b, mfn), 0, 4096);
    return mfn;
}

/* Hypercall nr(a0, a1, a2) from the domain's vCPU 0, continued until done. */
static int64_t hcall(struct dom *x, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
    struct pvcore_hypercall_regs r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.nr = nr;
    r.arg[0] = a0;
    r.arg[1] = a1;
    r.arg[2] = a2;
    while ((rc = pvcore_hypercall(x->v, &r)) == PVCORE_HYPERCALL_RESTART) {
    }
    if (rc != PVCORE_HYPERCALL_DONE) {
        die("hypercall not handled", rc);
    }
    return (int64_t)r.ret;
}

/* grant_table_op(cmd, uop, count). */
static int64_t gntop(struct dom *x, uint32_t cmd, uint64_t uop, uint32_t count)
{
    return hcall(x, PVCORE_HYPERVISOR_grant_table_op, cmd, uop, count);
}

/* memory_op(cmd, arg). */
static int64_t memop(struct dom *x, uint32_t cmd, uint64_t arg)
{
    return hcall(x, PVCORE_HYPERVISOR_memory_op, cmd, arg, 0);
}

/* A 64-bit domain with one vCPU on tables L4 -> L3 -> L2 -> L1 (at VA), NOPS op pages at
 * slots 0-5, a P2M, a one-frame grant table set up with setup_table as a guest does, and grant
 * state for 2 * NPAGES handles. */
static void dom_init(struct bench *b, struct dom *x, uint16_t domid)
{
    struct pvcore_domain_config cfg = { domid, 1, 0u, NFRAMES };
    struct pvcore_gnttab_setup_table_x86_64 st;
    struct pvcore_mmuext_req op;
    size_t sz = pvcore_domain_size(1), gsz;
    uint64_t l4, l3, l2;
    pvcore_mfn_t tf;
    unsigned i;
    int rc;

    memset(x, 0, sizeof(*x));
    x->mem = aligned_alloc(64, (sz + 63) & ~(size_t)63);
    if (x->mem == NULL || pvcore_domain_create(b->m, x->mem, sz, &cfg, &x->d) != 0 ||
        pvcore_domain_set_p2m(x->d, x->p2m, NFRAMES) != 0) {
        die("domain", domid);
    }
    x->v = pvcore_domain_vcpu(x->d, 0);
    l4 = give(b, x);
    l3 = give(b, x);
    l2 = give(b, x);
    x->l1 = give(b, x);
    frame(b, l4)[0] = (l3 << 12) | P | RW | US;
    frame(b, l3)[0] = (l2 << 12) | P | RW | US;
    frame(b, l2)[2] = (x->l1 << 12) | P | RW | US;
    for (i = 0; i < NOPS; i++) {
        x->ops[i] = give(b, x);
        frame(b, x->l1)[i] = (x->ops[i] << 12) | P | RW | US;
    }
    op = (struct pvcore_mmuext_req){ PVCORE_MMUEXT_NEW_BASEPTR, 0, l4, 0 };
    while ((rc = pvcore_mmuext_op(x->v, &op, 1, NULL, PVCORE_DOMID_SELF)) == -PVCORE_ERESTART) {
    }
    if (rc != 0) {
        die("baseptr", rc);
    }
    x->table = give(b, x);
    tf = pvcore_mfn(x->table);
    gsz = pvcore_grant_state_size(1, 2 * NPAGES);
    x->gstate = aligned_alloc(64, (gsz + 63) & ~(size_t)63);
    if (x->gstate == NULL || pvcore_domain_set_grant_frames(x->d, &tf, 1) != 0 ||
        pvcore_domain_set_grant_state(x->d, x->gstate, gsz, 2 * NPAGES) != 0) {
        die("grant state", domid);
    }
    memset(&st, 0, sizeof(st));
    st.dom = PVCORE_DOMID_SELF;
    st.nr_frames = 1;
    st.frame_list = VA + 0x3000 + 0x800;
    memcpy(bytes(b, x->ops[3]), &st, sizeof(st));
    if (gntop(x, PVCORE_GNTTABOP_setup_table, VA + 0x3000, 1) != 0) {
        die("setup_table", domid);
    }
    memcpy(&st, bytes(b, x->ops[3]), sizeof(st));
    if (st.status != PVCORE_GNTST_okay || frame(b, x->ops[3])[0x800 / 8] != x->table) {
        die("setup_table status", st.status);
    }
}

static void check(struct bench *b, const char *when)
{
    struct pvcore_check_report r;

    if (pvcore_check_invariants(b->m, b->scratch, b->scratch_len, &r) != 0) {
        fprintf(stderr, "bench_grant: %s: invariant %s violated at mfn %" PRIu64 "\n", when,
                pvcore_check_code_name(r.code), r.mfn);
        exit(1);
    }
}

static struct pvcore_frame_info finfo(struct bench *b, uint64_t mfn)
{
    struct pvcore_frame_info fi;

    memset(&fi, 0, sizeof(fi));
    if (pvcore_frame_query(b->m, pvcore_mfn(mfn), &fi) != 0) {
        die("frame_query", (long long)mfn);
    }
    return fi;
}

static uint16_t entry_flags(struct bench *b, uint32_t ref)
{
    uint16_t fl;

    memcpy(&fl, bytes(b, b->gr.table) + ref * 8u, 2);
    return fl;
}

/* ---- the frame source ------------------------------------------------------------------------ */

static bool frame_is_free(struct fsrc *s, uint64_t mfn)
{
    struct pvcore_frame_info fi;

    s->probes++;
    return pvcore_frame_query(s->m, pvcore_mfn(mfn), &fi) == 0 && (fi.flags & PVCORE_FRAME_RAM) &&
           fi.owner == PVCORE_DOMID_INVALID;
}

/* pvcore_frame_alloc_fn: the next run of 2^order free frames, aligned, below the address
 * limit, searched round from the last one found (so that the frames guests give back are
 * used again). The bench is one thread: no lock. */
static int fsrc_alloc(void *ctx, uint16_t domid, uint32_t order, uint32_t bits, pvcore_mfn_t *first)
{
    struct fsrc *s = (struct fsrc *)ctx;
    uint64_t n = 1ull << order, end = s->end, lo, runs, j, tried, i;
    (void)domid;

    s->calls++;
    if (bits != 0 && bits < 64 && (1ull << (bits - 12u)) < end) {
        end = 1ull << (bits - 12u);
    }
    lo = (s->first + n - 1u) & ~(n - 1u);
    if (lo >= end || end - lo < n) {
        return -PVCORE_ENOMEM;
    }
    runs = (end - lo) / n;
    j = s->next > lo ? (s->next - lo + n - 1u) / n % runs : 0;
    for (tried = 0; tried < runs; tried++, j = (j + 1u) % runs) {
        uint64_t base = lo + j * n;

        for (i = 0; i < n && frame_is_free(s, base + i); i++) {
        }
        if (i == n) {
            s->next = base + n;
            s->frames += n;
            *first = pvcore_mfn(base);
            return 0;
        }
    }
    return -PVCORE_ENOMEM;
}

static uint64_t count_free(struct bench *b)
{
    uint64_t mfn, n = 0;

    for (mfn = 0; mfn < NFRAMES; mfn++) {
        struct pvcore_frame_info fi = finfo(b, mfn);
        n += fi.owner == PVCORE_DOMID_INVALID;
    }
    return n;
}

/* ---- the flipped pages' contents ------------------------------------------------------------- */

/* Word k of pattern seq: every page the back-end gives holds a pattern of its own. */
static uint64_t pattern(uint64_t seq, unsigned k)
{
    return (seq + 1u) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)k + 1u) * 0xD6E8FEB86659FD93ull;
}

/* The back-end's page gets its 4 KiB (as a device would write them: not timed). */
static void fill(struct bench *b, unsigned i)
{
    uint64_t *w = frame(b, b->tx[i]);
    unsigned k;

    b->tx_seq[i] = b->seq++;
    for (k = 0; k < 512; k++) {
        w[k] = pattern(b->tx_seq[i], k);
    }
}

static bool holds(struct bench *b, uint64_t mfn, uint64_t seq)
{
    const uint8_t *p = bytes(b, mfn);
    unsigned k;

    for (k = 0; k < 512; k++) {
        uint64_t w = pattern(seq, k);
        if (memcmp(p + k * 8u, &w, 8) != 0) {
            return false;
        }
    }
    return true;
}

static void put_resv(struct bench *b, struct dom *x, unsigned slot, uint64_t list, uint64_t nr)
{
    struct pvcore_xen_memory_reservation_x86_64 r;

    memset(&r, 0, sizeof(r));
    r.extent_start = list;
    r.nr_extents = nr;
    r.domid = PVCORE_DOMID_SELF;
    memcpy(bytes(b, x->ops[(RESV_OPS - VA) >> 12]) + slot * sizeof(r), &r, sizeof(r));
}

/* The flips' frames, entries and ops, and the frame source. */
static void xfer_init(struct bench *b)
{
    unsigned i;

    for (i = 0; i < NPAGES; i++) {
        struct pvcore_gnttab_transfer_x86_64 t;

        b->tx[i] = give(b, &b->be);
        b->tx_gfn[i] = b->tx[i];
        fill(b, i);
        b->rx[i] = give(b, &b->gr);
        b->rx_gfn[i] = b->rx[i];
        /* The transfers' domid and ref, written once (mfn and status are per pass). */
        memset(&t, 0, sizeof(t));
        t.domid = GRANTER;
        t.ref = XFER_REF + i;
        memcpy(bytes(b, b->be.ops[(XFER_OPS - VA) >> 12]) + i * sizeof(t), &t, sizeof(t));
        put_resv(b, &b->be, 1u + i, LIST_OPS + i * 8u, 1);
        put_resv(b, &b->gr, 1u + i, LIST_OPS + i * 8u, 1);
    }
    put_resv(b, &b->be, 0, LIST_OPS, NPAGES);
    put_resv(b, &b->gr, 0, LIST_OPS, NPAGES);
    b->src.m = b->m;
    b->src.first = 16;
    b->src.end = NFRAMES;
    b->src.next = b->next;
    pvcore_machine_set_frame_source(b->m, fsrc_alloc, &b->src);
    b->tot_be = pvcore_domain_tot_pages(b->be.d);
    b->tot_gr = pvcore_domain_tot_pages(b->gr.d);
    b->nr_free = count_free(b);
}

static void bench_init(struct bench *b)
{
    unsigned i;

    memset(b, 0, sizeof(*b));
    if (pvcore_host_backend_create(NFRAMES, 3, 0, 0, &b->hb) != 0) {
        die("backend", 0);
    }
    b->m = pvcore_host_backend_machine(b->hb);
    b->next = 16;
    b->scratch_len = pvcore_check_scratch_size(b->m);
    b->scratch = malloc(b->scratch_len);
    if (b->scratch == NULL) {
        die("scratch", 0);
    }
    dom_init(b, &b->be, BACKEND);
    dom_init(b, &b->gr, GRANTER);
    for (i = 0; i < NPAGES; i++) {
        uint8_t *e = bytes(b, b->gr.table) + (FIRST_REF + i) * 8u;
        uint16_t fl = PVCORE_GTF_permit_access, dom = BACKEND;
        uint32_t fr;
        unsigned k;

        b->granted[i] = give(b, &b->gr);
        b->dst[i] = give(b, &b->be);
        for (k = 0; k < 4096; k++) {
            bytes(b, b->granted[i])[k] = (uint8_t)(i * 7u + k * 13u + 1u);
        }
        /* The entry as a guest publishes it: domid and frame, then the flags. */
        fr = (uint32_t)b->granted[i];
        memcpy(e + 2, &dom, 2);
        memcpy(e + 4, &fr, 4);
        memcpy(e, &fl, 2);
    }
    /* The op arrays, written once (the inputs are never rewritten by the hypervisor). */
    for (i = 0; i < NPAGES; i++) {
        struct pvcore_gnttab_map_grant_ref mo;
        struct pvcore_gnttab_unmap_grant_ref uo;
        struct pvcore_gnttab_copy_x86_64 co;

        memset(&mo, 0, sizeof(mo));
        mo.host_addr = VA + (uint64_t)(MAP_SLOT + i) * 4096u;
        mo.flags = PVCORE_GNTMAP_host_map;
        mo.ref = FIRST_REF + i;
        mo.dom = GRANTER;
        memcpy(bytes(b, b->be.ops[0]) + i * sizeof(mo), &mo, sizeof(mo));
        mo.flags |= PVCORE_GNTMAP_readonly;
        memcpy(bytes(b, b->be.ops[0]) + 2048u + i * sizeof(mo), &mo, sizeof(mo));
        memset(&uo, 0, sizeof(uo));
        uo.host_addr = mo.host_addr;
        memcpy(bytes(b, b->be.ops[1]) + i * sizeof(uo), &uo, sizeof(uo));
        memset(&co, 0, sizeof(co));
        co.source.u.ref = FIRST_REF + i;
        co.source.domid = GRANTER;
        co.dest.u.gmfn = b->dst[i];
        co.dest.domid = PVCORE_DOMID_SELF;
        co.len = 4096;
        co.flags = PVCORE_GNTCOPY_source_gref;
        memcpy(bytes(b, b->be.ops[2]) + i * sizeof(co), &co, sizeof(co));
        co.len = PART;
        memcpy(bytes(b, b->be.ops[3]) + i * sizeof(co), &co, sizeof(co));
    }
    xfer_init(b);
    check(b, "setup");
}

static void dom_free(struct dom *x)
{
    int rc;

    while ((rc = pvcore_domain_destroy(x->d)) == -PVCORE_ERESTART) {
    }
    if (rc != 0) {
        die("destroy", rc);
    }
    free(x->gstate);
    free(x->mem);
}

static void bench_free(struct bench *b)
{
    /* The back-end first: the granter's frames are released once nothing maps them. */
    dom_free(&b->be);
    dom_free(&b->gr);
    pvcore_host_backend_destroy(b->hb);
    free(b->scratch);
    free(b);
}

/* ---- the methods: one run is `passes` passes over the 64 pages ------------------------------- */

static int16_t status_at(struct bench *b, uint64_t va, size_t off)
{
    int16_t st;

    memcpy(&st, bytes(b, b->be.ops[(va - VA) >> 12]) + ((va - VA) & 4095u) + off, 2);
    return st;
}

/* The handle of map op i of the array at `maps` into unmap op i. */
static void pass_handle(struct bench *b, uint64_t maps, unsigned i)
{
    uint8_t *m = bytes(b, b->be.ops[0]) + (maps - MAP_OPS) + i * 32u;
    uint8_t *u = bytes(b, b->be.ops[1]) + i * 24u;

    if (status_at(b, maps + i * 32u, 18) != PVCORE_GNTST_okay) {
        die("map status", status_at(b, maps + i * 32u, 18));
    }
    memcpy(u + 16, m + 20, 4);
}

static void unmap_ok(struct bench *b, unsigned i)
{
    if (status_at(b, UNMAP_OPS + i * 24u, 20) != PVCORE_GNTST_okay) {
        die("unmap status", status_at(b, UNMAP_OPS + i * 24u, 20));
    }
}

static void run_map(struct bench *b, bool ro, bool batched)
{
    uint64_t maps = ro ? MAP_OPS + 2048u : MAP_OPS;
    unsigned p, i;

    for (p = 0; p < passes; p++) {
        if (batched) {
            if (gntop(&b->be, PVCORE_GNTTABOP_map_grant_ref, maps, NPAGES) != 0) {
                die("map batch", 0);
            }
            for (i = 0; i < NPAGES; i++) {
                pass_handle(b, maps, i);
            }
            if (gntop(&b->be, PVCORE_GNTTABOP_unmap_grant_ref, UNMAP_OPS, NPAGES) != 0) {
                die("unmap batch", 0);
            }
            for (i = 0; i < NPAGES; i++) {
                unmap_ok(b, i);
            }
            continue;
        }
        for (i = 0; i < NPAGES; i++) {
            if (gntop(&b->be, PVCORE_GNTTABOP_map_grant_ref, maps + i * 32u, 1) != 0) {
                die("map", i);
            }
            pass_handle(b, maps, i);
            if (gntop(&b->be, PVCORE_GNTTABOP_unmap_grant_ref, UNMAP_OPS + i * 24u, 1) != 0) {
                die("unmap", i);
            }
            unmap_ok(b, i);
        }
    }
}

static void copy_ok(struct bench *b, uint64_t ops, unsigned i)
{
    if (status_at(b, ops + i * 40u, 36) != PVCORE_GNTST_okay) {
        die("copy status", status_at(b, ops + i * 40u, 36));
    }
}

static void run_copy(struct bench *b, bool part, bool batched)
{
    uint64_t ops = part ? PCOPY_OPS : COPY_OPS;
    unsigned p, i;

    for (p = 0; p < passes; p++) {
        if (batched) {
            if (gntop(&b->be, PVCORE_GNTTABOP_copy, ops, NPAGES) != 0) {
                die("copy batch", 0);
            }
            for (i = 0; i < NPAGES; i++) {
                copy_ok(b, ops, i);
            }
            continue;
        }
        for (i = 0; i < NPAGES; i++) {
            if (gntop(&b->be, PVCORE_GNTTABOP_copy, ops + i * 40u, 1) != 0) {
                die("copy", i);
            }
            copy_ok(b, ops, i);
        }
    }
}

/* Host pointer to guest address va of x's op pages. */
static uint8_t *opb(struct bench *b, struct dom *x, uint64_t va)
{
    return bytes(b, x->ops[(va - VA) >> 12]) + ((va - VA) & 4095u);
}

/* The reservation for extents [i, i + n) of a side's list: all 64, or extent i alone. */
static uint64_t resv_of(unsigned i, unsigned n)
{
    return n == NPAGES ? RESV_OPS : RESV_OPS + (1u + i) * 32u;
}

/* The front-end gives back the frames at its guest frames rx_gfn[i, i + n), where the
 * pages are to land (decrease_reservation of their MFNs, as a PV guest names them), and
 * arms its accept_transfer entries for them: the guest frame and domid, then the flags. */
static void rx_arm(struct bench *b, unsigned i, unsigned n)
{
    uint16_t fl = PVCORE_GTF_accept_transfer, dom = BACKEND;
    unsigned k;

    for (k = i; k < i + n; k++) {
        memcpy(opb(b, &b->gr, LIST_OPS + k * 8u), &b->rx[k], 8);
    }
    if (memop(&b->gr, PVCORE_XENMEM_decrease_reservation, resv_of(i, n)) != (int64_t)n) {
        die("decrease_reservation", i);
    }
    for (k = i; k < i + n; k++) {
        uint8_t *e = bytes(b, b->gr.table) + (XFER_REF + k) * 8u;
        uint32_t fr = (uint32_t)b->rx_gfn[k];

        memcpy(e + 2, &dom, 2);
        memcpy(e + 4, &fr, 4);
        atomic_signal_fence(memory_order_release);
        memcpy(e, &fl, 2);
    }
}

/* The back-end gives its frames tx[i, i + n) to the front-end (transfer), each status
 * checked. */
static void be_give(struct bench *b, unsigned i, unsigned n)
{
    int16_t sentinel = 0x5555, st;
    unsigned k;

    for (k = i; k < i + n; k++) {
        uint8_t *t = opb(b, &b->be, XFER_OPS + k * 24u);

        memcpy(t, &b->tx[k], 8);
        memcpy(t + 16, &sentinel, 2);
        b->given[k] = b->tx[k];
    }
    if (gntop(&b->be, PVCORE_GNTTABOP_transfer, XFER_OPS + i * 24u, n) != 0) {
        die("transfer", i);
    }
    for (k = i; k < i + n; k++) {
        memcpy(&st, opb(b, &b->be, XFER_OPS + k * 24u + 16u), 2);
        if (st != PVCORE_GNTST_okay) {
            die("transfer status", st);
        }
    }
}

/* The back-end gets a replacement for each frame it gave, at the same guest frame
 * (populate_physmap: the guest frames in, the MFNs out). */
static void be_refill(struct bench *b, unsigned i, unsigned n)
{
    unsigned k;

    for (k = i; k < i + n; k++) {
        memcpy(opb(b, &b->be, LIST_OPS + k * 8u), &b->tx_gfn[k], 8);
    }
    if (memop(&b->be, PVCORE_XENMEM_populate_physmap, resv_of(i, n)) != (int64_t)n) {
        die("populate_physmap", i);
    }
    for (k = i; k < i + n; k++) {
        memcpy(&b->tx[k], opb(b, &b->be, LIST_OPS + k * 8u), 8);
    }
}

/* The front-end reads its entries: completed, and the MFN it got. */
static void rx_take(struct bench *b, unsigned i, unsigned n)
{
    unsigned k;

    for (k = i; k < i + n; k++) {
        const uint8_t *e = bytes(b, b->gr.table) + (XFER_REF + k) * 8u;
        uint16_t fl;
        uint32_t fr;

        memcpy(&fl, e, 2);
        atomic_signal_fence(memory_order_acquire);
        memcpy(&fr, e + 4, 4);
        if (fl != XFER_DONE) {
            die("transfer entry not completed", fl);
        }
        b->rx[k] = fr;
    }
}

/* After a pass (not timed): every page the front-end got is the frame the back-end gave,
 * the front-end's alone, untyped, at its guest frame, with the back-end's bytes; every
 * replacement is the back-end's, at its guest frame; the sizes are what they were. Then
 * the back-end's pages get their next contents. */
static void xfer_verify(struct bench *b)
{
    unsigned i;

    for (i = 0; i < NPAGES; i++) {
        struct pvcore_frame_info r = finfo(b, b->rx[i]), t = finfo(b, b->tx[i]);

        if (b->rx[i] != b->given[i] || r.owner != GRANTER || r.count != 1 || r.type_count != 0 ||
            r.type != PVCORE_PGT_NONE || !(r.flags & PVCORE_FRAME_ALLOCATED) ||
            b->gr.p2m[b->rx_gfn[i]] != b->rx[i]) {
            die("a flipped page is not the front-end's as it should be", i);
        }
        if (!holds(b, b->rx[i], b->tx_seq[i])) {
            die("a flipped page does not hold the bytes the back-end wrote", i);
        }
        if (b->tx[i] == b->given[i] || t.owner != BACKEND || t.count != 1 || t.type_count != 0 ||
            !(t.flags & PVCORE_FRAME_ALLOCATED) || b->be.p2m[b->tx_gfn[i]] != b->tx[i]) {
            die("a replacement frame is not the back-end's as it should be", i);
        }
        fill(b, i);
    }
    if (pvcore_domain_tot_pages(b->be.d) != b->tot_be || pvcore_domain_tot_pages(b->gr.d) != b->tot_gr) {
        die("a domain's size changed", (long long)pvcore_domain_tot_pages(b->be.d));
    }
}

/* What one read of the thread's CPU-time clock adds to an interval it ends (the median
 * of 64 back-to-back differences), measured in each round: the flips are timed pass by
 * pass, between the untimed filling and checking, and this is taken off each interval.
 * (A read costs some hundreds of ns on a VM, a few ns per page of a pass.) */
static double clock_cost;

static double median(const double *v, unsigned n);

static void calibrate_clock(void)
{
    double t[65], d[64];
    unsigned k;

    for (k = 0; k < 65; k++) {
        t[k] = now_ns();
    }
    for (k = 0; k < 64; k++) {
        d[k] = t[k + 1] - t[k];
    }
    clock_cost = median(d, 64);
}

/* Thread CPU time of the batched flips' parts, summed over a run timed part by part (not
 * one of the table's runs: its three more clock reads per pass would be in them): the
 * front-end's side (decrease_reservation, arming its entries, reading them back), the
 * transfer call and the populate_physmap call. */
enum { XP_FRONT, XP_TRANSFER, XP_POPULATE, XP_COUNT };
static double xfer_part[XP_COUNT];

/* Page flipping, `passes` passes over the 64 pages: the ns of the timed parts; `parts`
 * (batched only): timed part by part, into xfer_part. */
static double run_transfer(struct bench *b, bool batched, bool parts)
{
    double t = 0.0, t0, t1, t2, t3, t4;
    unsigned p, i;

    for (i = 0; i < XP_COUNT; i++) {
        xfer_part[i] = 0.0;
    }
    for (p = 0; p < passes; p++) {
        t0 = now_ns();
        if (batched && !parts) {
            rx_arm(b, 0, NPAGES);
            be_give(b, 0, NPAGES);
            be_refill(b, 0, NPAGES);
            rx_take(b, 0, NPAGES);
            t += now_ns() - t0 - clock_cost;
        } else if (batched) {
            rx_arm(b, 0, NPAGES);
            t1 = now_ns();
            be_give(b, 0, NPAGES);
            t2 = now_ns();
            be_refill(b, 0, NPAGES);
            t3 = now_ns();
            rx_take(b, 0, NPAGES);
            t4 = now_ns();
            xfer_part[XP_FRONT] += (t1 - t0 - clock_cost) + (t4 - t3 - clock_cost);
            xfer_part[XP_TRANSFER] += t2 - t1 - clock_cost;
            xfer_part[XP_POPULATE] += t3 - t2 - clock_cost;
            t += t4 - t0 - 4.0 * clock_cost;
        } else {
            for (i = 0; i < NPAGES; i++) {
                rx_arm(b, i, 1);
                be_give(b, i, 1);
                be_refill(b, i, 1);
                rx_take(b, i, 1);
            }
            t += now_ns() - t0 - clock_cost;
        }
        xfer_verify(b);
    }
    if (count_free(b) != b->nr_free) {
        die("the number of free frames changed", (long long)count_free(b));
    }
    return t;
}

/* One real user-to-kernel round trip per "call", standing in for the hypercall trap that
 * the host backend does not take (as bench_mmu's). */
static void run_trap(void)
{
    unsigned p, i;

    for (p = 0; p < passes; p++) {
        for (i = 0; i < NPAGES; i++) {
            (void)syscall(SYS_getppid);
        }
    }
}

static void run_memcpy(struct bench *b, size_t len)
{
    unsigned p, i;

    for (p = 0; p < passes; p++) {
        for (i = 0; i < NPAGES; i++) {
            memcpy(bytes(b, b->dst[i]), bytes(b, b->granted[i]), len);
        }
        /* (a compiler barrier: each pass's copies are made, none merged with the next's) */
        atomic_signal_fence(memory_order_seq_cst);
    }
}

enum method {
    M_MEMCPY,
    M_MAP_RW,
    M_MAP_RO,
    M_MAPB_RW,
    M_MAPB_RO,
    M_COPY,
    M_COPYB,
    M_XFER,
    M_XFERB,
    M_MEMCPY_P,
    M_COPY_P,
    M_COPYB_P,
    M_TRAP,
    M_COUNT
};

static const char *const names[M_COUNT] = {
    [M_MEMCPY] = "memcpy 4 KiB",
    [M_MAP_RW] = "map+unmap read-write, 1 op per call",
    [M_MAP_RO] = "map+unmap read-only, 1 op per call",
    [M_MAPB_RW] = "map+unmap read-write, 64 per call",
    [M_MAPB_RO] = "map+unmap read-only, 64 per call",
    [M_COPY] = "grant copy 4 KiB, 1 op per call",
    [M_COPYB] = "grant copy 4 KiB, 64 per call",
    [M_XFER] = "page transfer, 1 op per call",
    [M_XFERB] = "page transfer, 64 per call",
    [M_MEMCPY_P] = "memcpy 512 B",
    [M_COPY_P] = "grant copy 512 B, 1 op per call",
    [M_COPYB_P] = "grant copy 512 B, 64 per call",
    [M_TRAP] = "trap stand-in (getppid), per call",
};

/* Hypercalls per page: the trap each would take on a machine. */
static double calls_per_page(enum method k)
{
    switch (k) {
    case M_MAP_RW:
    case M_MAP_RO:
        return 2.0;
    case M_MAPB_RW:
    case M_MAPB_RO:
        return 2.0 / NPAGES;
    case M_COPY:
    case M_COPY_P:
        return 1.0;
    case M_COPYB:
    case M_COPYB_P:
        return 1.0 / NPAGES;
    case M_XFER: /* decrease_reservation, transfer, populate_physmap */
        return 3.0;
    case M_XFERB:
        return 3.0 / NPAGES;
    case M_MEMCPY:
    case M_MEMCPY_P:
    case M_TRAP:
    case M_COUNT:
        break;
    }
    return 0.0;
}

/* The memcpy each method is measured against. */
static enum method base_of(enum method k)
{
    return k >= M_MEMCPY_P && k <= M_COPYB_P ? M_MEMCPY_P : M_MEMCPY;
}

/* Clears every destination frame (so that each copy run is checked on its own). */
static void clear_dst(struct bench *b)
{
    unsigned i;

    for (i = 0; i < NPAGES; i++) {
        memset(bytes(b, b->dst[i]), 0, 4096);
    }
}

static void check_dst(struct bench *b, enum method k)
{
    size_t len = k >= M_MEMCPY_P ? PART : 4096u;
    unsigned i;

    for (i = 0; i < NPAGES; i++) {
        if (memcmp(bytes(b, b->dst[i]), bytes(b, b->granted[i]), len) != 0 ||
            (len < 4096u && bytes(b, b->dst[i])[len] != 0)) {
            fprintf(stderr, "bench_grant: %s: page %u not copied right\n", names[k], i);
            exit(1);
        }
    }
}

/* ns per page of one run of method k; *flushes gets the TLB flushes it asked for, *every
 * those of them that were of every domain's vCPUs. */
static double run_method(struct bench *b, enum method k, uint64_t *flushes, uint64_t *every)
{
    struct pvcore_host_stats st;
    double t0, t1, w0, timed = 0.0;
    bool own_timing = k == M_XFER || k == M_XFERB; /* timed pass by pass, inside */
    bool copies = k == M_MEMCPY || k == M_COPY || k == M_COPYB || (k >= M_MEMCPY_P && k <= M_COPYB_P);

    if (copies) {
        clear_dst(b);
    }
    pvcore_host_backend_reset_stats(b->hb);
    w0 = clock_ns(CLOCK_MONOTONIC);
    t0 = now_ns();
    switch (k) {
    case M_MEMCPY:
        run_memcpy(b, 4096);
        break;
    case M_MEMCPY_P:
        run_memcpy(b, PART);
        break;
    case M_MAP_RW:
    case M_MAP_RO:
    case M_MAPB_RW:
    case M_MAPB_RO:
        run_map(b, k == M_MAP_RO || k == M_MAPB_RO, k == M_MAPB_RW || k == M_MAPB_RO);
        break;
    case M_COPY:
    case M_COPYB:
    case M_COPY_P:
    case M_COPYB_P:
        run_copy(b, k >= M_MEMCPY_P, k == M_COPYB || k == M_COPYB_P);
        break;
    case M_XFER:
    case M_XFERB:
        timed = run_transfer(b, k == M_XFERB, false);
        break;
    case M_TRAP:
        run_trap();
        break;
    case M_COUNT:
        die("method", k);
    }
    t1 = now_ns();
    cpu_ns += t1 - t0;
    wall_ns += clock_ns(CLOCK_MONOTONIC) - w0;
    pvcore_host_backend_stats(b->hb, &st);
    *flushes = st.flush_calls;
    *every = st.flush_every_domain;
    if (copies) {
        check_dst(b, k);
    }
    if (own_timing) {
        return timed / ((double)passes * NPAGES);
    }
    return (t1 - t0) / ((double)passes * NPAGES);
}

/* The machine's load average (Linux), printed with the results: a shared machine's load
 * moves absolute numbers. */
static void print_load(const char *when)
{
    FILE *fp = fopen("/proc/loadavg", "r");
    double l1, l5, l15;

    if (fp != NULL && fscanf(fp, "%lf %lf %lf", &l1, &l5, &l15) == 3) {
        printf("load average %s: %.2f %.2f %.2f\n", when, l1, l5, l15);
    }
    if (fp != NULL) {
        fclose(fp);
    }
}

/* ---- statistics ------------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, unsigned n)
{
    double s[64];
    unsigned i;

    for (i = 0; i < n; i++) {
        s[i] = v[i];
    }
    qsort(s, n, sizeof(double), cmp_double);
    return n % 2u ? s[n / 2u] : (s[n / 2u - 1u] + s[n / 2u]) / 2.0;
}

static double vmin(const double *v, unsigned n)
{
    double m = v[0];
    for (unsigned i = 1; i < n; i++) {
        m = v[i] < m ? v[i] : m;
    }
    return m;
}

static double vmax(const double *v, unsigned n)
{
    double m = v[0];
    for (unsigned i = 1; i < n; i++) {
        m = v[i] > m ? v[i] : m;
    }
    return m;
}

/* ns per page of each method in each round: the library alone, and with the trap each of
 * its hypercalls would take (the trap stand-in measured in the same round). */
static double ns[M_COUNT][64], wt[M_COUNT][64];

/* The median over the rounds of the per-round ratio a/b in v. */
static double ratio(double v[][64], enum method a, enum method b)
{
    double r[64];
    unsigned i;

    for (i = 0; i < rounds; i++) {
        r[i] = v[a][i] / v[b][i];
    }
    return median(r, rounds);
}

/* The median over the rounds of the per-round ratio a/b of two series. */
static double ratio_of(const double *a, const double *b)
{
    double r[64];
    unsigned i;

    for (i = 0; i < rounds; i++) {
        r[i] = a[i] / b[i];
    }
    return median(r, rounds);
}

/* The smallest whole number of uses at or above k. */
static double next_whole(double k)
{
    double n = (double)(uint64_t)k;
    return n < k ? n + 1.0 : n;
}

/* A page kept shared and accessed k times, its current contents each time: mapped once,
 * accessed in place, unmapped; or copied before each access. The accesses themselves
 * (reading the bytes in place or from the copy: the same memory here) cancel, so the
 * break-even is k* = (map + unmap) / copy, with the trap (and, in brackets, for the
 * library alone). */
static void verdict_shared(const char *what, enum method map, enum method copy)
{
    double k = ratio(wt, map, copy), kl = ratio(ns, map, copy);

    printf("  %-38s map+unmap = %5.2f copies [%5.2f]: ", what, k, kl);
    if (k <= 1.0) {
        printf("mapping wins from the first access\n");
    } else {
        printf("copying wins up to %.0f access%s, mapping from %.0f [%.0f]\n", next_whole(k) - 1.0,
               next_whole(k) - 1.0 == 1.0 ? "" : "es", next_whole(k), next_whole(kl));
    }
}

/* The comparisons below that flipping wins, loses and draws (with the trap). */
static unsigned flip_won, flip_lost, flip_even;

/* A ratio flip / other: 0 within 3% of even (closer than these runs repeat), else -1 if
 * flipping is cheaper, 1 if dearer. */
static int flip_side(double r)
{
    return r < 0.97 ? -1 : r > 1.03 ? 1 : 0;
}

static const char *flip_word(int side)
{
    return side < 0 ? "wins" : side > 0 ? "loses" : "is even (within 3%)";
}

/* Page flipping against another way of giving the front-end the bytes: flip / other, the
 * median of the per-round ratios, with the trap [and for the library alone]. */
static void verdict_flip(const char *what, const double *flip, const double *flipl, const double *other,
                         const double *otherl)
{
    double r = ratio_of(flip, other), rl = ratio_of(flipl, otherl);
    int side = flip_side(r), sidel = flip_side(rl);

    printf("    %-50s flip = %5.2f [%5.2f] of it: flipping %s", what, r, rl, flip_word(side));
    if (side != sidel) {
        printf(" [the library alone: %s]", flip_word(sidel));
    }
    printf("\n");
    flip_won += side < 0;
    flip_lost += side > 0;
    flip_even += side == 0;
}

int main(int argc, char **argv)
{
    static uint64_t fl[M_COUNT], fle[M_COUNT];
    struct bench *b = calloc(1, sizeof(*b));
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    double pages, med[M_COUNT], medt[M_COUNT], mm[64], mml[64], clk[64];
    double mw[64], mwl[64], mwb[64], mwbl[64], cold[64], coldx[64], part[XP_COUNT][64];
    unsigned round, j, i, nparts = 0;

    if (b == NULL) {
        die("out of memory", 0);
    }
    if (quick) {
        rounds = 3;
        passes = 2;
    }
    pages = (double)rounds * passes * NPAGES;
    bench_init(b);
    printf("bench_grant: a back-end (64-bit domain %d) gets at 4 KiB pages granted by domain %d, on the host backend;\n"
           "  %u pages per pass, %u passes per run, %u interleaved rounds; ns per page (median, min and max of the rounds)\n",
           BACKEND, GRANTER, NPAGES, passes, rounds);
    print_load("at the start");
    for (round = 0; round < rounds; round++) {
        calibrate_clock();
        clk[round] = clock_cost;
        for (j = 0; j < M_COUNT; j++) {
            uint64_t f, fe;
            i = round % 2u == 0 ? j : M_COUNT - 1u - j;
            ns[i][round] = run_method(b, (enum method)i, &f, &fe);
            fl[i] += f;
            fle[i] += fe;
        }
        for (i = 0; i < M_COUNT; i++) {
            wt[i][round] = ns[i][round] + calls_per_page((enum method)i) * ns[M_TRAP][round];
        }
        check(b, "round");
    }
    /* The batched flip's parts, from runs of their own timed part by part (shares of
     * each run's total). */
    for (i = 0; i < (quick ? 1u : 5u); i++) {
        double tot;
        calibrate_clock();
        tot = run_transfer(b, true, true);
        for (j = 0; j < XP_COUNT; j++) {
            part[j][i] = xfer_part[j] / tot;
        }
        nparts = i + 1u;
    }
    print_load("at the end");
    printf("%-38s %8s %8s %8s %9s %10s %9s %13s\n", "method", "lib", "min", "max", "x memcpy", "with trap",
           "x memcpy", "flushes/page");
    for (i = 0; i < M_COUNT; i++) {
        med[i] = median(ns[i], rounds);
        medt[i] = median(wt[i], rounds);
        if (i == M_TRAP) {
            printf("%-38s %8.1f %8.1f %8.1f\n", names[i], med[i], vmin(ns[i], rounds), vmax(ns[i], rounds));
            continue;
        }
        printf("%-38s %8.1f %8.1f %8.1f %9.2f %10.1f %9.2f %13.2f\n", names[i], med[i], vmin(ns[i], rounds),
               vmax(ns[i], rounds), ratio(ns, (enum method)i, base_of((enum method)i)), medt[i],
               ratio(wt, (enum method)i, base_of((enum method)i)), (double)fl[i] / pages);
    }

    /* Everything unmapped: the granted frames hold their allocation reference only and the
     * entries no in-use bit. Every flip completed: the front-end's pages and the back-end's
     * replacements are each its owner's alone, the sizes and the free frames as before. */
    for (i = 0; i < NPAGES; i++) {
        struct pvcore_frame_info fi = finfo(b, b->granted[i]), r = finfo(b, b->rx[i]), t = finfo(b, b->tx[i]);
        if (fi.count != 1 || fi.type_count != 0 || entry_flags(b, FIRST_REF + i) != PVCORE_GTF_permit_access) {
            die("a granted frame's count or entry is off at the end", i);
        }
        if (entry_flags(b, XFER_REF + i) != XFER_DONE || r.owner != GRANTER || r.count != 1 ||
            r.type_count != 0 || t.owner != BACKEND || t.count != 1 || t.type_count != 0) {
            die("a flipped page's entry, owner or count is off at the end", i);
        }
    }
    if (pvcore_domain_tot_pages(b->be.d) != b->tot_be || pvcore_domain_tot_pages(b->gr.d) != b->tot_gr ||
        count_free(b) != b->nr_free) {
        die("a domain's size or the free frames are off at the end", 0);
    }
    check(b, "end");
    printf("frame source: %" PRIu64 " frames in %" PRIu64 " calls, %.2f frame-state probes per frame\n",
           b->src.frames, b->src.calls, b->src.frames != 0 ? (double)b->src.probes / (double)b->src.frames : 0.0);
    bench_free(b);
    printf("every status, copied and flipped byte, owner, P2M entry and final count checked: 0 errors\n");
    printf("times are the thread's CPU time; wall-clock time of the timed runs / their CPU time: %.2f "
           "(1.00: the bench had a CPU to itself)\n", wall_ns / cpu_ns);
    if (quick) {
        printf("quick run: ratios not judged\n");
        return 0;
    }
    for (i = 0; i < rounds; i++) {
        mm[i] = wt[M_MAP_RO][i] + ns[M_MEMCPY][i];
        mml[i] = ns[M_MAP_RO][i] + ns[M_MEMCPY][i];
        mw[i] = wt[M_MAP_RW][i] + ns[M_MEMCPY][i];
        mwl[i] = ns[M_MAP_RW][i] + ns[M_MEMCPY][i];
        mwb[i] = wt[M_MAPB_RW][i] + ns[M_MEMCPY][i];
        mwbl[i] = ns[M_MAPB_RW][i] + ns[M_MEMCPY][i];
        /* What moving the 4 KiB would have to cost for a batched copy to cost as much as a
         * batched flip, if the rest of the copy stayed as it is. */
        cold[i] = wt[M_XFERB][i] - wt[M_COPYB][i] + ns[M_MEMCPY][i];
        coldx[i] = cold[i] / ns[M_MEMCPY][i];
    }

    printf("lib: the library call alone (the host backend takes no trap); with trap: plus one getppid round trip per\n"
           "  hypercall, measured in the same round (2 per page for map+unmap one at a time, 2/64 batched; 1 and 1/64\n"
           "  for copies; 3 and 3/64 for a flip: decrease_reservation, transfer, populate_physmap). x memcpy: median\n"
           "  of the per-round ratios to memcpy of the same bytes. Flushes are counted, not done, by the host backend:\n"
           "  on hardware each also costs a TLB flush (and an IPI per other CPU the domain runs on), which is in none\n"
           "  of these ns.\n");
    printf("page transfer: the whole flip cycle per page (the front-end's decrease_reservation and accept_transfer\n"
           "  entry, the back-end's transfer and populate_physmap of a replacement, the front-end reading its entry),\n"
           "  not the filling of the page nor the PTE updates a PV kernel adds around it. Timed pass by pass (the\n"
           "  filling and checking between passes untimed): one read of the thread's clock, %.0f ns (median of the\n"
           "  rounds), is taken off each pass (%.1f ns per page). Of a batched flip (library alone; %u runs of their\n"
           "  own, timed part by part): the front-end's side %.0f%%, the transfer %.0f%%, populate_physmap %.0f%%.\n"
           "  Flushes: %.2f per page one op per call and %.2f batched, %.0f%% of them of every domain's vCPUs (on\n"
           "  hardware an IPI to every CPU running any domain).\n",
           median(clk, rounds), median(clk, rounds) / NPAGES, nparts, 100.0 * median(part[XP_FRONT], nparts),
           100.0 * median(part[XP_TRANSFER], nparts), 100.0 * median(part[XP_POPULATE], nparts), (double)fl[M_XFER] / pages, (double)fl[M_XFERB] / pages,
           fl[M_XFER] + fl[M_XFERB] != 0 ? 100.0 * (double)(fle[M_XFER] + fle[M_XFERB]) / (double)(fl[M_XFER] + fl[M_XFERB]) : 0.0);
    printf("where each wins (per-round ratios, with the trap; in brackets the library alone):\n");
    printf("  one access to a whole page, 1 op per call: copy %.0f ns against map+unmap %.0f (rw) and %.0f (ro):\n"
           "    copying is %.2fx [%.2fx] cheaper than a read-write map+unmap, %.2fx [%.2fx] than a read-only one,\n"
           "    and asks for no TLB flush (map+unmap: %.2f per page)\n",
           medt[M_COPY], medt[M_MAP_RW], medt[M_MAP_RO], ratio(wt, M_MAP_RW, M_COPY), ratio(ns, M_MAP_RW, M_COPY),
           ratio(wt, M_MAP_RO, M_COPY), ratio(ns, M_MAP_RO, M_COPY), (double)fl[M_MAP_RW] / pages);
    printf("  batched by 64: copy %.0f ns against map+unmap %.0f (rw): copying %.2fx [%.2fx] cheaper; batching saves\n"
           "    %.0f%% [%.0f%%] of a copy and %.0f%% [%.0f%%] of a map+unmap, and flushes: %.2f per page (one per 32\n"
           "    host unmaps of a call, as Xen)\n",
           medt[M_COPYB], medt[M_MAPB_RW], ratio(wt, M_MAPB_RW, M_COPYB), ratio(ns, M_MAPB_RW, M_COPYB),
           100.0 * (1.0 - ratio(wt, M_COPYB, M_COPY)), 100.0 * (1.0 - ratio(ns, M_COPYB, M_COPY)),
           100.0 * (1.0 - ratio(wt, M_MAPB_RW, M_MAP_RW)), 100.0 * (1.0 - ratio(ns, M_MAPB_RW, M_MAP_RW)),
           (double)fl[M_MAPB_RW] / pages);
    printf("  a back-end that needs the bytes in a buffer of its own: map+unmap+memcpy %.0f ns against copy %.0f:\n"
           "    copying %.2fx [%.2fx] cheaper (1 op per call, read-only map)\n",
           median(mm, rounds), medt[M_COPY], ratio_of(mm, wt[M_COPY]), ratio_of(mml, ns[M_COPY]));
    printf("  a page kept shared and accessed k times, its current contents each time (map once, access in place,\n"
           "  unmap; or copy before each access), break-even k = (map+unmap) / copy:\n");
    verdict_shared("whole page, 1 op per call, read-write:", M_MAP_RW, M_COPY);
    verdict_shared("whole page, 1 op per call, read-only:", M_MAP_RO, M_COPY);
    verdict_shared("whole page, 64 per call, read-write:", M_MAPB_RW, M_COPYB);
    verdict_shared("whole page, 64 per call, read-only:", M_MAPB_RO, M_COPYB);
    verdict_shared("512 B of it, 1 op per call, read-only:", M_MAP_RO, M_COPY_P);
    verdict_shared("512 B of it, 64 per call, read-only:", M_MAPB_RO, M_COPYB_P);
    printf("  a part of a page: a grant copy of 512 B costs %.2fx [%.2fx] one of 4 KiB, while a mapping costs the same\n"
           "    whatever part is touched: accessing a page partly favours copying just that part, not mapping;\n"
           "    mapping pays off when the page stays mapped across accesses (the break-evens above) and each\n"
           "    access would otherwise copy it again.\n",
           ratio(wt, M_COPY_P, M_COPY), ratio(ns, M_COPY_P, M_COPY));
    printf("  page flipping: a back-end with the bytes in a page of its own gives the page away (the whole cycle\n"
           "  above), against putting the bytes into a page of the front-end's (the copies were measured from a\n"
           "  grant into the back-end's page; into a grant they are the same ops). 1 op per call, flip %.0f ns:\n",
           medt[M_XFER]);
    verdict_flip("a grant copy of the 4 KiB, 1 op per call:", wt[M_XFER], ns[M_XFER], wt[M_COPY], ns[M_COPY]);
    verdict_flip("map+unmap (rw) of its page, and a memcpy into it:", wt[M_XFER], ns[M_XFER], mw, mwl);
    verdict_flip("map+unmap (rw) alone (a device fills the mapping):", wt[M_XFER], ns[M_XFER], wt[M_MAP_RW],
                 ns[M_MAP_RW]);
    verdict_flip("a grant copy of 512 B (only that much data):", wt[M_XFER], ns[M_XFER], wt[M_COPY_P], ns[M_COPY_P]);
    printf("  64 per call, flip %.0f ns:\n", medt[M_XFERB]);
    verdict_flip("a grant copy of the 4 KiB, 64 per call:", wt[M_XFERB], ns[M_XFERB], wt[M_COPYB], ns[M_COPYB]);
    verdict_flip("map+unmap (rw) of its page, and a memcpy into it:", wt[M_XFERB], ns[M_XFERB], mwb, mwbl);
    verdict_flip("map+unmap (rw) alone (a device fills the mapping):", wt[M_XFERB], ns[M_XFERB], wt[M_MAPB_RW],
                 ns[M_MAPB_RW]);
    verdict_flip("a grant copy of 512 B (only that much data):", wt[M_XFERB], ns[M_XFERB], wt[M_COPYB_P],
                 ns[M_COPYB_P]);
    if (ratio(wt, M_XFERB, M_COPYB) >= 1.0) {
        printf("    so a flip beats a batched grant copy only where moving the 4 KiB costs more than %.0f ns, %.1fx\n"
               "    the memcpy here (its bytes in cache: 64 pages), if the rest of the copy stayed as it is;\n",
               median(cold, rounds), median(coldx, rounds));
    } else {
        printf("    so a flip beats a batched grant copy by %.0f ns per page even with the bytes in cache;\n",
               medt[M_COPYB] - medt[M_XFERB]);
    }
    printf("    and it asks for %.2f TLB flushes per page (batched), where a copy asks for none and a batched\n"
           "    map+unmap for %.2f; a flip moves whole pages only.\n",
           (double)fl[M_XFERB] / pages, (double)fl[M_MAPB_RW] / pages);
    printf("  in this run page flipping wins %u of these %u comparisons, is even in %u and loses %u (with the trap)\n",
           flip_won, flip_won + flip_lost + flip_even, flip_even, flip_lost);
    return 0;
}
