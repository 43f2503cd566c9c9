/*
 * Shared by the memory_op and page-transfer tests (unit/test_memory.c) and their advisory
 * regressions: the grant fixture (gntenv.h) with a frame source (framesrc.h), memory_op
 * issued through pvcore_hypercall() with its argument in the caller's own data pages, and
 * GNTTABOP_transfer. Static inline functions: each file uses some.
 */
#ifndef PVCORE_TESTS_MEMENV_H
#define PVCORE_TESTS_MEMENV_H

#include <pvcore/abi/memory.h>
#include <pvcore/memory.h>

#include "framesrc.h"
#include "gntenv.h"

#define RESV_VA OPS          /* a reservation or exchange structure */
#define LIST_VA (OPS + 0x200) /* extent arrays: up to 192 8-byte entries */
#define LIST2_VA (OPS + 0x800)

/* memory_op(cmd, arg) from vCPU 0 of domain d, continued until done (*restarts counts the
 * continuations, if asked); the invariants hold after every step. */
static inline int64_t memop_n(struct gfix *f, int d, uint64_t cmd, uint64_t arg, unsigned *restarts)
{
    struct pvcore_hypercall_regs r;

    memset(&r, 0, sizeof(r));
    r.nr = PVCORE_HYPERVISOR_memory_op;
    r.arg[0] = cmd;
    r.arg[1] = arg;
    assert_int_equal(gfix_hcall(f, d, &r, restarts), PVCORE_HYPERCALL_DONE);
    return gfix_ret(d, &r);
}

static inline int64_t memop(struct gfix *f, int d, uint64_t cmd, uint64_t arg)
{
    return memop_n(f, d, cmd, arg, NULL);
}

/* Writes a reservation of domain d's width at guest address va. */
static inline void put_resv(struct gfix *f, int d, uint64_t va, uint64_t list, uint64_t nr,
                            uint32_t order, uint32_t flags, uint16_t domid)
{
    const struct env *e = gfix_env(f, d);

    if (e->is32) {
        struct pvcore_xen_memory_reservation_x86_32 r;
        memset(&r, 0, sizeof(r));
        r.extent_start = (uint32_t)list;
        r.nr_extents = (uint32_t)nr;
        r.extent_order = order;
        r.mem_flags = flags;
        r.domid = domid;
        gwrite(e, va, &r, sizeof(r));
    } else {
        struct pvcore_xen_memory_reservation_x86_64 r;
        memset(&r, 0, sizeof(r));
        r.extent_start = list;
        r.nr_extents = nr;
        r.extent_order = order;
        r.mem_flags = flags;
        r.domid = domid;
        gwrite(e, va, &r, sizeof(r));
    }
}

/* Element i of an extent array of domain d's width. */
static inline uint64_t get_ext(struct gfix *f, int d, uint64_t list, uint64_t i)
{
    const struct env *e = gfix_env(f, d);
    uint64_t v = 0;

    gread(e, list + i * (e->is32 ? 4u : 8u), &v, e->is32 ? 4u : 8u);
    return v;
}

static inline void put_ext(struct gfix *f, int d, uint64_t list, uint64_t i, uint64_t v)
{
    const struct env *e = gfix_env(f, d);

    gwrite(e, list + i * (e->is32 ? 4u : 8u), &v, e->is32 ? 4u : 8u);
}

/* A reservation command of domain d on `domid`: the extents done. */
static inline int64_t resv_as(struct gfix *f, int d, uint32_t op, uint64_t list, uint64_t nr,
                              uint32_t order, uint32_t flags, uint16_t domid)
{
    put_resv(f, d, RESV_VA, list, nr, order, flags, domid);
    return memop(f, d, op, RESV_VA);
}

/* An exchange of domain d: the structure at RESV_VA, the lists at LIST_VA and LIST2_VA. */
static inline void put_exch(struct gfix *f, int d, uint64_t in_nr, uint32_t in_order, uint64_t out_nr,
                            uint32_t out_order, uint32_t out_flags, uint64_t done)
{
    const struct env *e = gfix_env(f, d);
    size_t rs = e->is32 ? 20u : 32u, w = e->is32 ? 4u : 8u;

    put_resv(f, d, RESV_VA, LIST_VA, in_nr, in_order, 0, PVCORE_DOMID_SELF);
    put_resv(f, d, RESV_VA + rs, LIST2_VA, out_nr, out_order, out_flags, PVCORE_DOMID_SELF);
    gwrite(e, RESV_VA + 2u * rs, &done, w);
}

static inline uint64_t exch_done(struct gfix *f, int d)
{
    const struct env *e = gfix_env(f, d);
    uint64_t v = 0;

    gread(e, RESV_VA + (e->is32 ? 40u : 64u), &v, e->is32 ? 4u : 8u);
    return v;
}

/* GNTTABOP_transfer of frame mfn from domain d to `to` into its grant `ref`: the status. */
static inline int16_t transfer_as(struct gfix *f, int d, uint64_t mfn, uint16_t to, uint32_t ref)
{
    const struct env *e = gfix_env(f, d);
    int16_t st;

    if (e->is32) {
        struct pvcore_gnttab_transfer_x86_32 op;
        memset(&op, 0, sizeof(op));
        op.mfn = (uint32_t)mfn;
        op.domid = to;
        op.ref = ref;
        op.status = 0x5555;
        gwrite(e, OPS, &op, sizeof(op));
        assert_int_equal(ghc_as(f, d, PVCORE_GNTTABOP_transfer, OPS, 1), 0);
        gread(e, OPS, &op, sizeof(op));
        st = op.status;
    } else {
        struct pvcore_gnttab_transfer_x86_64 op;
        memset(&op, 0, sizeof(op));
        op.mfn = mfn;
        op.domid = to;
        op.ref = ref;
        op.status = 0x5555;
        gwrite(e, OPS, &op, sizeof(op));
        assert_int_equal(ghc_as(f, d, PVCORE_GNTTABOP_transfer, OPS, 1), 0);
        gread(e, OPS, &op, sizeof(op));
        st = op.status;
    }
    return st;
}

/* The frame field of entry ref of a version-1 table (the MFN after a transfer). */
static inline uint32_t gframe_at(struct gfix *f, uint64_t table, uint32_t ref)
{
    uint32_t v;
    memcpy(&v, (uint8_t *)frame_ptr(f->t, table) + ref * 8u + 4u, 4);
    return v;
}

#define ACCEPT PVCORE_GTF_accept_transfer
#define XFER_DONE (PVCORE_GTF_accept_transfer | PVCORE_GTF_transfer_committed | PVCORE_GTF_transfer_completed)

#endif /* PVCORE_TESTS_MEMENV_H */
