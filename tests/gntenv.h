/*
 * Shared by the grant-table tests (unit/test_grant.c) and the grant advisory regressions
 * (regress/xsa_2*.c, xsa_3*.c): a 64-bit mapper domain and a 32-bit granter, each with a
 * guest address space (guestenv.h), a one-frame grant table set up with setup_table as a
 * guest does, and grant state (active entries, maptrack) in test memory; grant_table_op
 * issued through pvcore_hypercall() with its op array in the caller's own data page, as
 * a guest makes it; and helpers to write grant entries and read PTEs, flags and counts.
 * Static inline functions: each file uses some.
 */
#ifndef PVCORE_TESTS_GNTENV_H
#define PVCORE_TESTS_GNTENV_H

#include "pvtest.h"

#include <pvcore/abi/grant_table.h>
#include <pvcore/grant.h>
#include <pvcore/hypercall.h>

#include "guestenv.h"

#define PRIV 0    /* the privileged 64-bit domain */
#define MAPPER 1  /* the 64-bit domain that maps ... */
#define GRANTER 2 /* ... what the 32-bit one grants */
#define OPS (VA + 0x1000)          /* op arrays: the caller's second data page on */
#define SLOT_VA(s) (VA + (uint64_t)(s) * 4096u) /* the address slot s of the env's L1 maps */
#define MAP_VA SLOT_VA(8)          /* slot 8 of the env's L1: not mapped */
#define PTE_GNTTAB_BIT (1ull << 62)
#define GNT_PTE_FLAGS (PT_P | PT_A | PT_D | PTE_GNTTAB_BIT)

struct gfix {
    struct pvtest *t;
    struct env e;         /* the mapper's */
    struct env g;         /* the granter's */
    struct env p;         /* the privileged domain's, after gfix_priv() */
    uint64_t gnt_frame;   /* the granter's grant-table frame */
    uint64_t mgnt_frame;  /* the mapper's grant-table frame */
    uint64_t granted;     /* a frame of the granter's, filled with 0x77 */
    uint64_t pgnt_frame;  /* the privileged domain's grant-table frame, after gfix_priv() */
    void *state[3];
};

static inline void gfix_give_state(struct gfix *f, int d, uint32_t handles)
{
    uint64_t fr = alloc_frame(f->t, d);
    pvcore_mfn_t m = pvcore_mfn(fr);
    size_t len;

    assert_int_equal(pvcore_domain_set_grant_frames(f->t->dom[d], &m, 1), 0);
    len = pvcore_grant_state_size(1, handles);
    f->state[d] = aligned_alloc(64, (len + 63) & ~(size_t)63);
    assert_non_null(f->state[d]);
    assert_int_equal(pvcore_domain_set_grant_state(f->t->dom[d], f->state[d], len, handles), 0);
    if (d == GRANTER) {
        f->gnt_frame = fr;
    } else if (d == MAPPER) {
        f->mgnt_frame = fr;
    } else {
        f->pgnt_frame = fr;
    }
}

static inline const struct env *gfix_env(const struct gfix *f, int d)
{
    return d == GRANTER ? &f->g : d == PRIV ? &f->p : &f->e;
}

/* Hypercall r from vCPU 0 of domain d, continued until it is not RESTART (*restarts, if
 * asked, counts the continuations); the invariants hold after every step. Returns the
 * last pvcore_hypercall() result. */
static inline int gfix_hcall(struct gfix *f, int d, struct pvcore_hypercall_regs *r, unsigned *restarts)
{
    unsigned n = 0;
    int rc;

    while ((rc = pvcore_hypercall(vcpu(f->t, d, 0), r)) == PVCORE_HYPERCALL_RESTART) {
        check_invariants(f->t);
        assert_true(++n < 1000000u);
    }
    check_invariants(f->t);
    if (restarts != NULL) {
        *restarts = n;
    }
    return rc;
}

/* The result in r as domain d's signed word. */
static inline int64_t gfix_ret(int d, const struct pvcore_hypercall_regs *r)
{
    return d == GRANTER ? (int64_t)(int32_t)(uint32_t)r->ret : (int64_t)r->ret;
}

/* grant_table_op(cmd, uop, count) from vCPU 0 of domain d, continued until done; the
 * invariants hold after it. Returns the hypercall's result. */
static inline int64_t ghc_as(struct gfix *f, int d, uint32_t cmd, uint64_t uop, uint32_t count)
{
    struct pvcore_hypercall_regs r;

    memset(&r, 0, sizeof(r));
    r.nr = PVCORE_HYPERVISOR_grant_table_op;
    r.arg[0] = cmd;
    r.arg[1] = uop;
    r.arg[2] = count;
    (void)gfix_hcall(f, d, &r, NULL);
    return gfix_ret(d, &r);
}

static inline int64_t ghc(struct gfix *f, uint32_t cmd, uint64_t uop, uint32_t count)
{
    return ghc_as(f, MAPPER, cmd, uop, count);
}

/* setup_table of one frame, as a guest of domain d (either width) does it. */
static inline void gfix_setup_table(struct gfix *f, int d, uint64_t frame)
{
    const struct env *e = gfix_env(f, d);

    if (d == GRANTER) {
        struct pvcore_gnttab_setup_table_x86_32 op;
        memset(&op, 0, sizeof(op));
        op.dom = PVCORE_DOMID_SELF;
        op.nr_frames = 1;
        op.frame_list = (uint32_t)(OPS + 0x100);
        gwrite(e, OPS, &op, sizeof(op));
        assert_int_equal(ghc_as(f, d, PVCORE_GNTTABOP_setup_table, OPS, 1), 0);
        gread(e, OPS, &op, sizeof(op));
        assert_int_equal(op.status, PVCORE_GNTST_okay);
        assert_int_equal(gread32(e, OPS + 0x100), frame);
    } else {
        struct pvcore_gnttab_setup_table_x86_64 op;
        uint64_t got;
        memset(&op, 0, sizeof(op));
        op.dom = PVCORE_DOMID_SELF;
        op.nr_frames = 1;
        op.frame_list = OPS + 0x100;
        gwrite(e, OPS, &op, sizeof(op));
        assert_int_equal(ghc_as(f, d, PVCORE_GNTTABOP_setup_table, OPS, 1), 0);
        gread(e, OPS, &op, sizeof(op));
        assert_int_equal(op.status, PVCORE_GNTST_okay);
        gread(e, OPS + 0x100, &got, 8);
        assert_int_equal(got, frame);
    }
}

/* The fixture on a machine of work budget `budget` (0: unlimited), the mapper with
 * `mhandles` maptrack handles and the granter with `ghandles`. */
static inline void gfix_init_opt(struct gfix *f, uint32_t budget, uint32_t mhandles,
                                 uint32_t ghandles)
{
    memset(f, 0, sizeof(*f));
    f->t = budget != 0 ? pvtest_new_budget(budget, 0) : pvtest_new();
    env_init(&f->e, f->t, MAPPER);
    gfix_give_state(f, GRANTER, ghandles);
    gfix_give_state(f, MAPPER, mhandles);
    f->granted = alloc_frame(f->t, GRANTER);
    memset(frame_ptr(f->t, f->granted), 0x77, 4096);
    env_init(&f->g, f->t, GRANTER);
    gfix_setup_table(f, GRANTER, f->gnt_frame);
    gfix_setup_table(f, MAPPER, f->mgnt_frame);
}

/* The privileged domain as a third party: an address space, 4 handles and a table. */
static inline void gfix_priv(struct gfix *f)
{
    env_init(&f->p, f->t, PRIV);
    gfix_give_state(f, PRIV, 4);
    gfix_setup_table(f, PRIV, f->pgnt_frame);
}

static inline void gfix_init(struct gfix *f)
{
    gfix_init_opt(f, 0, 4, 4);
}

static inline void gfix_free(struct gfix *f)
{
    pvtest_free(f->t);
    free(f->state[0]);
    free(f->state[1]);
    free(f->state[2]);
}

/* ---- grant entries ------------------------------------------------------------------------ */

/* Entry `ref` of the table in `table`: flags, domid, frame, written frame first and
 * flags last, as a guest publishes it. */
static inline void grant_at(struct gfix *f, uint64_t table, uint32_t ref, uint16_t flags,
                            uint16_t domid, uint32_t frame)
{
    uint8_t *e = (uint8_t *)frame_ptr(f->t, table) + ref * 8u;
    memcpy(e + 2, &domid, 2);
    memcpy(e + 4, &frame, 4);
    memcpy(e, &flags, 2);
}

/* Entry `ref` of the granter's table. */
static inline void grant(struct gfix *f, uint32_t ref, uint16_t flags, uint16_t domid, uint64_t frame)
{
    grant_at(f, f->gnt_frame, ref, flags, domid, (uint32_t)frame);
}

static inline uint16_t gflags_at(struct gfix *f, uint64_t table, uint32_t ref)
{
    uint16_t v;
    memcpy(&v, (uint8_t *)frame_ptr(f->t, table) + ref * 8u, 2);
    return v;
}

static inline uint16_t gflags(struct gfix *f, uint32_t ref)
{
    return gflags_at(f, f->gnt_frame, ref);
}

#define RW_PIN (PVCORE_GTF_reading | PVCORE_GTF_writing)
#define RO_PIN PVCORE_GTF_reading
#define PA PVCORE_GTF_permit_access

/* ---- the ops, one at a time, from domain d ------------------------------------------------ */

static inline int16_t map_as(struct gfix *f, int d, uint64_t host_addr, uint32_t flags, uint32_t ref,
                             uint16_t dom, uint32_t *handle, uint64_t *dev)
{
    const struct env *e = gfix_env(f, d);
    struct pvcore_gnttab_map_grant_ref op;

    memset(&op, 0, sizeof(op));
    op.host_addr = host_addr;
    op.flags = flags;
    op.ref = ref;
    op.dom = dom;
    op.status = 0x5555;
    op.handle = 0xdeadbeef;
    op.dev_bus_addr = 0xababababababababull;
    gwrite(e, OPS, &op, sizeof(op));
    assert_int_equal(ghc_as(f, d, PVCORE_GNTTABOP_map_grant_ref, OPS, 1), 0);
    gread(e, OPS, &op, sizeof(op));
    /* The inputs are never rewritten. */
    assert_int_equal(op.host_addr, host_addr);
    assert_int_equal(op.flags, flags);
    assert_int_equal(op.ref, ref);
    assert_int_equal(op.dom, dom);
    if (op.status != PVCORE_GNTST_okay) {
        /* A failed map leaves the outputs as the guest wrote them. */
        assert_int_equal(op.handle, 0xdeadbeef);
        assert_int_equal(op.dev_bus_addr, 0xababababababababull);
    }
    if (handle) {
        *handle = op.handle;
    }
    if (dev) {
        *dev = op.dev_bus_addr;
    }
    return op.status;
}

static inline int16_t map(struct gfix *f, uint64_t host_addr, uint32_t flags, uint32_t ref,
                          uint16_t dom, uint32_t *handle, uint64_t *dev)
{
    return map_as(f, MAPPER, host_addr, flags, ref, dom, handle, dev);
}

static inline int16_t unmap_as(struct gfix *f, int d, uint64_t host_addr, uint64_t dev, uint32_t handle)
{
    const struct env *e = gfix_env(f, d);
    struct pvcore_gnttab_unmap_grant_ref op;

    memset(&op, 0, sizeof(op));
    op.host_addr = host_addr;
    op.dev_bus_addr = dev;
    op.handle = handle;
    op.status = 0x5555;
    gwrite(e, OPS, &op, sizeof(op));
    assert_int_equal(ghc_as(f, d, PVCORE_GNTTABOP_unmap_grant_ref, OPS, 1), 0);
    gread(e, OPS, &op, sizeof(op));
    assert_int_equal(op.host_addr, host_addr);
    assert_int_equal(op.dev_bus_addr, dev);
    assert_int_equal(op.handle, handle);
    return op.status;
}

static inline int16_t unmap(struct gfix *f, uint64_t host_addr, uint64_t dev, uint32_t handle)
{
    return unmap_as(f, MAPPER, host_addr, dev, handle);
}

static inline int16_t replace_as(struct gfix *f, int d, uint64_t host_addr, uint64_t new_addr,
                                 uint32_t handle)
{
    const struct env *e = gfix_env(f, d);
    struct pvcore_gnttab_unmap_and_replace op;

    memset(&op, 0, sizeof(op));
    op.host_addr = host_addr;
    op.new_addr = new_addr;
    op.handle = handle;
    op.status = 0x5555;
    gwrite(e, OPS, &op, sizeof(op));
    assert_int_equal(ghc_as(f, d, PVCORE_GNTTABOP_unmap_and_replace, OPS, 1), 0);
    gread(e, OPS, &op, sizeof(op));
    return op.status;
}

static inline int16_t replace(struct gfix *f, uint64_t host_addr, uint64_t new_addr, uint32_t handle)
{
    return replace_as(f, MAPPER, host_addr, new_addr, handle);
}

/* One end of a copy. */
struct cend {
    uint64_t id; /* a grant reference or a frame */
    uint16_t dom;
    uint16_t off;
};

/* Writes copy op `i` of an array at `uop` in domain d's layout (40 bytes for a 64-bit
 * guest, 24 for a 32-bit one). */
static inline void put_copy(struct gfix *f, int d, uint64_t uop, uint32_t i, struct cend s,
                            struct cend dst, uint16_t len, uint16_t flags)
{
    const struct env *e = gfix_env(f, d);

    if (d == GRANTER) {
        struct pvcore_gnttab_copy_x86_32 op;
        memset(&op, 0, sizeof(op));
        op.source.u.gmfn = (uint32_t)s.id;
        op.source.domid = s.dom;
        op.source.offset = s.off;
        op.dest.u.gmfn = (uint32_t)dst.id;
        op.dest.domid = dst.dom;
        op.dest.offset = dst.off;
        op.len = len;
        op.flags = flags;
        op.status = 0x5555;
        gwrite(e, uop + (uint64_t)i * sizeof(op), &op, sizeof(op));
    } else {
        struct pvcore_gnttab_copy_x86_64 op;
        memset(&op, 0, sizeof(op));
        op.source.u.gmfn = s.id;
        op.source.domid = s.dom;
        op.source.offset = s.off;
        op.dest.u.gmfn = dst.id;
        op.dest.domid = dst.dom;
        op.dest.offset = dst.off;
        op.len = len;
        op.flags = flags;
        op.status = 0x5555;
        gwrite(e, uop + (uint64_t)i * sizeof(op), &op, sizeof(op));
    }
}

static inline int16_t copy_status(struct gfix *f, int d, uint64_t uop, uint32_t i)
{
    int16_t st;

    if (d == GRANTER) {
        gread(gfix_env(f, d), uop + (uint64_t)i * 24u + 20u, &st, 2);
    } else {
        gread(gfix_env(f, d), uop + (uint64_t)i * 40u + 36u, &st, 2);
    }
    return st;
}

static inline int16_t copy_as(struct gfix *f, int d, struct cend s, struct cend dst, uint16_t len,
                              uint16_t flags)
{
    put_copy(f, d, OPS, 0, s, dst, len, flags);
    assert_int_equal(ghc_as(f, d, PVCORE_GNTTABOP_copy, OPS, 1), 0);
    return copy_status(f, d, OPS, 0);
}

static inline int16_t gcopy(struct gfix *f, struct cend s, struct cend dst, uint16_t len, uint16_t flags)
{
    return copy_as(f, MAPPER, s, dst, len, flags);
}

/* Issues grant_table_op(cmd, uop, count) from domain d one call at a time, checking that
 * each continuation advances the array by exactly the ops it completed (their status
 * written, the rest untouched) and that no call does more than `budget` of them. Returns
 * the final result; *calls counts the calls. */
static inline int64_t gstep(struct gfix *f, int d, uint32_t cmd, uint64_t uop, uint32_t count, uint32_t size,
                            uint32_t status_off, uint32_t budget, uint32_t mapped_ops, unsigned *calls)
{
    struct pvcore_hypercall_regs r;
    uint64_t at = uop;
    uint32_t left = count, done = 0;
    int rc;

    memset(&r, 0, sizeof(r));
    r.nr = PVCORE_HYPERVISOR_grant_table_op;
    r.arg[0] = cmd;
    r.arg[1] = uop;
    r.arg[2] = count;
    *calls = 0;
    for (;;) {
        uint32_t k, i;
        rc = pvcore_hypercall(vcpu(f->t, d, 0), &r);
        (*calls)++;
        check_invariants(f->t);
        if (rc == PVCORE_HYPERCALL_DONE) {
            break;
        }
        assert_int_equal(rc, PVCORE_HYPERCALL_RESTART);
        assert_int_equal(r.arg[0], cmd);
        assert_true(r.arg[1] > at);
        assert_int_equal((r.arg[1] - at) % size, 0);
        k = (uint32_t)((r.arg[1] - at) / size);
        assert_true(k >= 1 && k <= budget);
        assert_int_equal(r.arg[2], left - k);
        done += k;
        for (i = 0; i < mapped_ops; i++) {
            int16_t st;
            gread(gfix_env(f, d), uop + (uint64_t)i * size + status_off, &st, 2);
            if (i < done) {
                assert_int_not_equal(st, 0x5555);
            } else {
                assert_int_equal(st, 0x5555);
            }
        }
        at = r.arg[1];
        left = (uint32_t)r.arg[2];
        assert_true(*calls < 1000000u);
    }
    return d == GRANTER ? (int64_t)(int32_t)(uint32_t)r.ret : (int64_t)r.ret;
}

/* ---- state ----------------------------------------------------------------------------------- */

/* Entry `slot` of the mapper's (env) L1. */
static inline uint64_t ml1e(struct gfix *f, unsigned slot)
{
    return frame_ptr(f->t, f->e.l1)[slot];
}

/* Frame `mfn` has `count` general and `tcount` type references, and type `type` when
 * tcount is not 0. */
#define expect_refs(t, mfn, count, tcount, type) expect_refs_at(__LINE__, t, mfn, count, tcount, type)
static inline void expect_refs_at(int line, struct pvtest *t, uint64_t mfn, uint32_t count,
                                  uint32_t tcount, uint8_t type)
{
    struct pvcore_frame_info fi = finfo(t, mfn);

    if (fi.count != count || fi.type_count != tcount || (tcount != 0 && fi.type != type)) {
        fprintf(stderr, "line %d: frame %llu: count %u type_count %u type %u; expected %u %u %u\n",
                line, (unsigned long long)mfn, fi.count, fi.type_count, fi.type, count, tcount,
                type);
        fail();
    }
}

/* A snapshot of everything a refused op must leave alone: every frame's state, the
 * mapper's L1 and both grant tables, byte for byte. */
struct gsnap {
    struct pvcore_frame_info *frames;
    uint8_t l1[4096], gl1[4096], gtab[4096], mtab[4096];
};

static inline void gsnap_take(struct gfix *f, struct gsnap *s)
{
    s->frames = snapshot(f->t);
    memcpy(s->l1, frame_ptr(f->t, f->e.l1), 4096);
    memcpy(s->gl1, frame_ptr(f->t, f->g.l1), 4096);
    memcpy(s->gtab, frame_ptr(f->t, f->gnt_frame), 4096);
    memcpy(s->mtab, frame_ptr(f->t, f->mgnt_frame), 4096);
}

#define gsnap_same(f, s) gsnap_same_at(__LINE__, f, s)
static inline void gsnap_same_at(int line, struct gfix *f, struct gsnap *s)
{
    if (memcmp(s->l1, frame_ptr(f->t, f->e.l1), 4096) != 0 ||
        memcmp(s->gl1, frame_ptr(f->t, f->g.l1), 4096) != 0 ||
        memcmp(s->gtab, frame_ptr(f->t, f->gnt_frame), 4096) != 0 ||
        memcmp(s->mtab, frame_ptr(f->t, f->mgnt_frame), 4096) != 0) {
        fprintf(stderr, "line %d: an L1 or a grant table changed\n", line);
        fail();
    }
    assert_same_state(f->t, s->frames);
    check_invariants(f->t);
}

static inline void gsnap_drop(struct gsnap *s)
{
    free(s->frames);
    s->frames = NULL;
}

/* Destroys domain d, through every continuation; returns the final result. */
static inline int gfix_destroy(struct gfix *f, int d)
{
    int rc;
    unsigned n = 0;

    while ((rc = pvcore_domain_destroy(f->t->dom[d])) == -PVCORE_ERESTART) {
        check_invariants(f->t);
        assert_true(++n < 1000000u);
    }
    check_invariants(f->t);
    return rc;
}

#endif /* PVCORE_TESTS_GNTENV_H */
