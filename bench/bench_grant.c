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
 *   transfer  - GNTTABOP_transfer (page flipping) is not implemented: the bench checks
 *               that it still answers -ENOSYS and prints that, with no number.
 *
 * Every status is checked as a back-end must (a map's handle goes into its unmap), each
 * copy's bytes are compared after its run, and at the end the granted frames' counts and
 * the entries' flags are back where they started and the invariant checker passes. TLB
 * flushes are counted by the host backend (pvcore_host_backend_stats()), which does not
 * do them: their cost on hardware (a flush, and an IPI per other CPU the domain ran on)
 * is not in the ns figures, only their number per page.
 *
 * Rounds are interleaved: each round runs every method once, forwards in even rounds and
 * backwards in odd ones, so that the methods compared with each other run next to each
 * other; ns per page are medians of the rounds (with min and max), and each ratio is the
 * median of the ratios measured within a round, so that a burst of load on the shared
 * machine hits both sides of a ratio alike. The last lines say where mapping wins and
 * where copying does, computed from these ratios. Nothing here asserts on time.
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
#include <pvcore/host_backend.h>

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
#define GRANTER 2

/* The back-end's op pages (slots 0-3 of its L1). */
#define MAP_OPS (VA + 0x0000)   /* 64 read-write maps, then 64 read-only ones at +2048 */
#define UNMAP_OPS (VA + 0x1000) /* 64 unmaps */
#define COPY_OPS (VA + 0x2000)  /* 64 copies of 4 KiB */
#define PCOPY_OPS (VA + 0x3000) /* 64 copies of PART bytes */

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
    uint64_t l1, ops[4], table;
};

struct bench {
    struct pvcore_host_backend *hb;
    struct pvcore_machine *m;
    struct dom be, gr;
    uint64_t next;
    uint64_t granted[NPAGES]; /* the granter's frames */
    uint64_t dst[NPAGES];     /* the back-end's copy destinations */
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

/* grant_table_op(cmd, uop, count) from the domain's vCPU 0, continued until done. */
static int64_t gntop(struct dom *x, uint32_t cmd, uint64_t uop, uint32_t count)
{
    struct pvcore_hypercall_regs r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.nr = PVCORE_HYPERVISOR_grant_table_op;
    r.arg[0] = cmd;
    r.arg[1] = uop;
    r.arg[2] = count;
    while ((rc = pvcore_hypercall(x->v, &r)) == PVCORE_HYPERCALL_RESTART) {
    }
    if (rc != PVCORE_HYPERCALL_DONE) {
        die("hypercall not handled", rc);
    }
    return (int64_t)r.ret;
}

/* A 64-bit domain with one vCPU on tables L4 -> L3 -> L2 -> L1 (at VA), four op pages at
 * slots 0-3, a one-frame grant table set up with setup_table as a guest does, and grant
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
    if (x->mem == NULL || pvcore_domain_create(b->m, x->mem, sz, &cfg, &x->d) != 0) {
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
    for (i = 0; i < 4; i++) {
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

/* ns per page of one run of method k; *flushes gets the TLB flushes it asked for. */
static double run_method(struct bench *b, enum method k, uint64_t *flushes)
{
    struct pvcore_host_stats st;
    double t0, t1, w0;
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
    if (copies) {
        check_dst(b, k);
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

/* GNTTABOP_transfer (page flipping): not implemented; say so unless it answers. */
static void transfer_line(struct bench *b)
{
    struct pvcore_gnttab_transfer_x86_64 t;
    int64_t rc;

    memset(&t, 0, sizeof(t));
    t.mfn = b->dst[0];
    t.domid = GRANTER;
    t.ref = FIRST_REF;
    t.status = 0x5555;
    memcpy(bytes(b, b->be.ops[3]) + 0xF00, &t, sizeof(t));
    rc = gntop(&b->be, PVCORE_GNTTABOP_transfer, VA + 0x3000 + 0xF00, 1);
    if (rc == -PVCORE_ENOSYS) {
        printf("page transfer: not implemented (GNTTABOP_transfer)\n"
               "  (checked: it returns -ENOSYS; no number is given for it)\n");
    } else {
        printf("page transfer: not measured by this bench (GNTTABOP_transfer answered %lld: measure it)\n",
               (long long)rc);
    }
}

int main(int argc, char **argv)
{
    static uint64_t fl[M_COUNT];
    struct bench *b = calloc(1, sizeof(*b));
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    double pages, med[M_COUNT], medt[M_COUNT], mm[64], mml[64];
    unsigned round, j, i;

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
        for (j = 0; j < M_COUNT; j++) {
            uint64_t f;
            i = round % 2u == 0 ? j : M_COUNT - 1u - j;
            ns[i][round] = run_method(b, (enum method)i, &f);
            fl[i] += f;
        }
        for (i = 0; i < M_COUNT; i++) {
            wt[i][round] = ns[i][round] + calls_per_page((enum method)i) * ns[M_TRAP][round];
        }
        check(b, "round");
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
    transfer_line(b);

    /* Everything unmapped: the granted frames hold their allocation reference only and the
     * entries no in-use bit. */
    for (i = 0; i < NPAGES; i++) {
        struct pvcore_frame_info fi = finfo(b, b->granted[i]);
        if (fi.count != 1 || fi.type_count != 0 || entry_flags(b, FIRST_REF + i) != PVCORE_GTF_permit_access) {
            die("a granted frame's count or entry is off at the end", i);
        }
    }
    check(b, "end");
    bench_free(b);
    printf("every status, copied byte and final count checked: 0 errors\n");
    printf("times are the thread's CPU time; wall-clock time of the timed runs / their CPU time: %.2f "
           "(1.00: the bench had a CPU to itself)\n", wall_ns / cpu_ns);
    if (quick) {
        printf("quick run: ratios not judged\n");
        return 0;
    }
    for (i = 0; i < rounds; i++) {
        mm[i] = wt[M_MAP_RO][i] + ns[M_MEMCPY][i];
        mml[i] = ns[M_MAP_RO][i] + ns[M_MEMCPY][i];
    }

    printf("lib: the library call alone (the host backend takes no trap); with trap: plus one getppid round trip per\n"
           "  hypercall, measured in the same round (2 per page for map+unmap one at a time, 2/64 batched; 1 and 1/64\n"
           "  for copies). x memcpy: median of the per-round ratios to memcpy of the same bytes. Flushes are counted,\n"
           "  not done, by the host backend: on hardware each also costs a TLB flush (and an IPI per other CPU the\n"
           "  domain runs on), which is in none of these ns.\n");
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
    return 0;
}
