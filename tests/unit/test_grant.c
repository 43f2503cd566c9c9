/*
 * Grant tables, version 1: map_grant_ref into an L1 (by virtual address and by PTE
 * address), device mappings, unmap_grant_ref, unmap_and_replace and copy, through the
 * hypercall as a guest makes it, with the exact state after every step: the PTE, the
 * granted frame's counts and type, the shared entry's GTF_reading/GTF_writing bits, and
 * the invariant checker.
 */
#include "pvtest.h"

#include <pvcore/abi/grant_table.h>
#include <pvcore/grant.h>
#include <pvcore/hypercall.h>

#include "guestenv.h"

#define GRANTER 2 /* the 32-bit domain grants ... */
#define MAPPER 1  /* ... to the 64-bit one, whose env has data pages at VA */
#define OPS (VA + 0x1000) /* op arrays, in the mapper's second data page */
#define MAP_VA (VA + 8 * 4096ull) /* slot 8 of the env's L1: not mapped */
#define PTE_GNTTAB_BIT (1ull << 62)

struct fix {
    struct pvtest *t;
    struct env e;   /* the mapper's */
    struct env g;   /* the granter's */
    uint64_t gnt_frame;  /* the granter's grant-table frame */
    uint64_t granted;    /* the frame it grants */
    void *state[3];
};

static void give_state(struct fix *f, int d, uint32_t handles)
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
    }
}

static uint64_t hc_as(struct fix *f, int d, uint32_t cmd, uint64_t uop, uint32_t count)
{
    struct pvcore_hypercall_regs r;

    memset(&r, 0, sizeof(r));
    r.nr = PVCORE_HYPERVISOR_grant_table_op;
    r.arg[0] = cmd;
    r.arg[1] = uop;
    r.arg[2] = count;
    while (pvcore_hypercall(vcpu(f->t, d, 0), &r) == PVCORE_HYPERCALL_RESTART) {
    }
    check_invariants(f->t);
    return r.ret;
}

static uint64_t hc(struct fix *f, uint32_t cmd, uint64_t uop, uint32_t count)
{
    return hc_as(f, MAPPER, cmd, uop, count);
}

static void fix_init(struct fix *f)
{
    memset(f, 0, sizeof(*f));
    f->t = pvtest_new();
    env_init(&f->e, f->t, MAPPER);
    give_state(f, GRANTER, 4);
    give_state(f, MAPPER, 4);
    f->granted = alloc_frame(f->t, GRANTER);
    memset(frame_ptr(f->t, f->granted), 0x77, 4096);
    /* The granter sets its table up (one frame), as a guest does. */
    env_init(&f->g, f->t, GRANTER);
    {
        struct pvcore_gnttab_setup_table_x86_32 op;
        memset(&op, 0, sizeof(op));
        op.dom = PVCORE_DOMID_SELF;
        op.nr_frames = 1;
        op.frame_list = (uint32_t)(OPS + 0x100);
        gwrite(&f->g, OPS, &op, sizeof(op));
        assert_int_equal(hc_as(f, GRANTER, PVCORE_GNTTABOP_setup_table, OPS, 1), 0);
        gread(&f->g, OPS, &op, sizeof(op));
        assert_int_equal(op.status, PVCORE_GNTST_okay);
        assert_int_equal(gread32(&f->g, OPS + 0x100), f->gnt_frame);
    }
}

static void fix_free(struct fix *f)
{
    pvtest_free(f->t);
    free(f->state[1]);
    free(f->state[2]);
}

/* Grant entry `ref` of the granter: flags, domid, frame. */
static void grant(struct fix *f, uint32_t ref, uint16_t flags, uint16_t domid, uint32_t frame)
{
    uint8_t *e = (uint8_t *)frame_ptr(f->t, f->gnt_frame) + ref * 8u;
    memcpy(e + 2, &domid, 2);
    memcpy(e + 4, &frame, 4);
    memcpy(e, &flags, 2);
}

static uint16_t gflags(struct fix *f, uint32_t ref)
{
    uint16_t v;
    memcpy(&v, (uint8_t *)frame_ptr(f->t, f->gnt_frame) + ref * 8u, 2);
    return v;
}

static int16_t map(struct fix *f, uint64_t host_addr, uint32_t flags, uint32_t ref, uint16_t dom,
                   uint32_t *handle, uint64_t *dev)
{
    struct pvcore_gnttab_map_grant_ref op;
    memset(&op, 0, sizeof(op));
    op.host_addr = host_addr;
    op.flags = flags;
    op.ref = ref;
    op.dom = dom;
    op.handle = 0xdeadbeef;
    gwrite(&f->e, OPS, &op, sizeof(op));
    assert_int_equal(hc(f, PVCORE_GNTTABOP_map_grant_ref, OPS, 1), 0);
    gread(&f->e, OPS, &op, sizeof(op));
    if (handle) *handle = op.handle;
    if (dev) *dev = op.dev_bus_addr;
    return op.status;
}

static int16_t unmap(struct fix *f, uint64_t host_addr, uint64_t dev, uint32_t handle)
{
    struct pvcore_gnttab_unmap_grant_ref op;
    memset(&op, 0, sizeof(op));
    op.host_addr = host_addr;
    op.dev_bus_addr = dev;
    op.handle = handle;
    gwrite(&f->e, OPS, &op, sizeof(op));
    assert_int_equal(hc(f, PVCORE_GNTTABOP_unmap_grant_ref, OPS, 1), 0);
    gread(&f->e, OPS, &op, sizeof(op));
    return op.status;
}

static void test_map_unmap_va(void **state)
{
    struct fix f;
    uint32_t h;
    uint64_t e, before;
    struct pvcore_frame_info fi;

    (void)state;
    fix_init(&f);
    grant(&f, 5, PVCORE_GTF_permit_access, MAPPER, (uint32_t)f.granted);
    before = finfo(f.t, f.granted).count;
    /* Beyond the table in use, and an entry not granted to the mapper. */
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 512, GRANTER, &h, NULL), PVCORE_GNTST_bad_gntref);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 6, GRANTER, &h, NULL), PVCORE_GNTST_general_error);
    assert_int_equal(map(&f, MAP_VA, 0, 5, GRANTER, &h, NULL), PVCORE_GNTST_bad_gntref);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 5, 7, &h, NULL), PVCORE_GNTST_bad_domain);
    assert_int_equal(gflags(&f, 5), PVCORE_GTF_permit_access);
    assert_int_equal(finfo(f.t, f.granted).count, before);

    /* A writable host mapping at a virtual address. */
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 5, GRANTER, &h, NULL), PVCORE_GNTST_okay);
    e = frame_ptr(f.t, f.e.l1)[8];
    assert_int_equal(pte_mfn_test(e), f.granted);
    assert_true(e & PT_P);
    assert_true(e & PT_RW);
    assert_true(e & PTE_GNTTAB_BIT);
    fi = finfo(f.t, f.granted);
    assert_int_equal(fi.count, before + 1);
    assert_int_equal(fi.type, PVCORE_PGT_WRITABLE);
    assert_int_equal(fi.type_count, 1);
    assert_int_equal(gflags(&f, 5), PVCORE_GTF_permit_access | PVCORE_GTF_reading | PVCORE_GTF_writing);

    /* The guest can neither change nor remove it by itself. */
    assert_int_equal(mmu1(f.t, MAPPER, (f.e.l1 << 12) + 8 * 8, 0, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(mmu1(f.t, MAPPER, (f.e.l1 << 12) + 8 * 8, e & ~PTE_GNTTAB_BIT, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(mmu1(f.t, MAPPER, (f.e.l1 << 12) + 8 * 8, e | (1ull << 61), PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    /* Nor forge one. */
    assert_int_equal(mmu1(f.t, MAPPER, (f.e.l1 << 12) + 9 * 8, pte(f.e.data[0], PT_P | PT_RW) | PTE_GNTTAB_BIT, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(frame_ptr(f.t, f.e.l1)[8], e);

    /* Unmap: a wrong handle, a wrong address, then the right one. */
    assert_int_equal(unmap(&f, MAP_VA, 0, h + 1), PVCORE_GNTST_bad_handle);
    assert_int_equal(unmap(&f, MAP_VA + 4096, 0, h), PVCORE_GNTST_general_error);
    assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
    assert_int_equal(frame_ptr(f.t, f.e.l1)[8], 0);
    fi = finfo(f.t, f.granted);
    assert_int_equal(fi.count, before);
    assert_int_equal(fi.type_count, 0);
    assert_int_equal(gflags(&f, 5), PVCORE_GTF_permit_access);
    assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_bad_handle);
    fix_free(&f);
}

/* Version 2: the granter switches (its status frames given), grants with a 16-byte entry,
 * and the in-use bits appear in its status array, not in the entry. */
static void test_v2_map(void **state)
{
    struct fix f;
    uint32_t h, ver;
    uint64_t st_frame, frame;
    uint16_t hdr[2], status;
    pvcore_mfn_t sm;

    (void)state;
    fix_init(&f);
    /* Without status frames: version 1 only. */
    gwrite32(&f.g, OPS, 2);
    assert_int_equal((int64_t)(int32_t)(uint32_t)hc_as(&f, GRANTER, PVCORE_GNTTABOP_set_version, OPS, 1), -PVCORE_ENOSYS);
    assert_int_equal(gread32(&f.g, OPS), 1);
    st_frame = alloc_frame(f.t, GRANTER);
    sm = pvcore_mfn(st_frame);
    assert_int_equal(pvcore_domain_set_grant_status_frames(f.t->dom[GRANTER], &sm, 1), 0);
    /* A reserved entry carries over; the others are cleared. */
    grant(&f, 1, PVCORE_GTF_permit_access, MAPPER, 0x1234);
    grant(&f, 9, PVCORE_GTF_permit_access, MAPPER, 0x5678);
    gwrite32(&f.g, OPS, 2);
    assert_int_equal(hc_as(&f, GRANTER, PVCORE_GNTTABOP_set_version, OPS, 1), 0);
    assert_int_equal(gread32(&f.g, OPS), 2);
    memcpy(hdr, (uint8_t *)frame_ptr(f.t, f.gnt_frame) + 16, 4);
    memcpy(&frame, (uint8_t *)frame_ptr(f.t, f.gnt_frame) + 24, 8);
    assert_int_equal(hdr[0], PVCORE_GTF_permit_access);
    assert_int_equal(hdr[1], MAPPER);
    assert_int_equal(frame, 0x1234);
    memcpy(hdr, (uint8_t *)frame_ptr(f.t, f.gnt_frame) + 9 * 16, 4);
    assert_int_equal(hdr[0], 0);

    /* Entry 20, version 2. */
    hdr[0] = PVCORE_GTF_permit_access;
    hdr[1] = MAPPER;
    frame = f.granted;
    memcpy((uint8_t *)frame_ptr(f.t, f.gnt_frame) + 20 * 16 + 8, &frame, 8);
    memcpy((uint8_t *)frame_ptr(f.t, f.gnt_frame) + 20 * 16, hdr, 4);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 20, GRANTER, &h, NULL), PVCORE_GNTST_okay);
    assert_int_equal(pte_mfn_test(frame_ptr(f.t, f.e.l1)[8]), f.granted);
    memcpy(&status, (uint8_t *)frame_ptr(f.t, st_frame) + 20 * 2, 2);
    assert_int_equal(status, PVCORE_GTF_reading | PVCORE_GTF_writing);
    memcpy(hdr, (uint8_t *)frame_ptr(f.t, f.gnt_frame) + 20 * 16, 4);
    assert_int_equal(hdr[0], PVCORE_GTF_permit_access); /* the entry itself is untouched */
    /* Pinned: no version switch. */
    gwrite32(&f.g, OPS, 1);
    assert_int_equal((int64_t)(int32_t)(uint32_t)hc_as(&f, GRANTER, PVCORE_GNTTABOP_set_version, OPS, 1), -PVCORE_EBUSY);
    assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
    memcpy(&status, (uint8_t *)frame_ptr(f.t, st_frame) + 20 * 2, 2);
    assert_int_equal(status, 0);
    /* A sub-page grant cannot be mapped. */
    hdr[0] = PVCORE_GTF_permit_access | PVCORE_GTF_sub_page;
    memcpy((uint8_t *)frame_ptr(f.t, f.gnt_frame) + 20 * 16, hdr, 4);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 20, GRANTER, &h, NULL), PVCORE_GNTST_general_error);
    /* Back to version 1: the status frame stays the granter's, held (XSA-255). */
    gwrite32(&f.g, OPS, 1);
    assert_int_equal(hc_as(&f, GRANTER, PVCORE_GNTTABOP_set_version, OPS, 1), 0);
    assert_int_equal(finfo(f.t, st_frame).owner, GRANTER);
    assert_int_equal(finfo(f.t, st_frame).type, PVCORE_PGT_WRITABLE);
    (void)ver;
    fix_free(&f);
}

static int64_t cache_flush(struct fix *f, uint64_t maddr, uint16_t off, uint16_t len, uint32_t op)
{
    uint8_t b[16];
    memcpy(b, &maddr, 8);
    memcpy(b + 8, &off, 2);
    memcpy(b + 10, &len, 2);
    memcpy(b + 12, &op, 4);
    gwrite(&f->e, OPS, b, sizeof(b));
    return (int64_t)hc(f, PVCORE_GNTTABOP_cache_flush, OPS, 1);
}

/* cache_flush: the caller's own frames, or frames it holds a grant mapping of. */
static void test_cache_flush(void **state)
{
    struct fix f;
    uint32_t h;

    (void)state;
    fix_init(&f);
    assert_int_equal(cache_flush(&f, f.e.data[0] << 12, 0, 4096, PVCORE_GNTTAB_CACHE_CLEAN), 0);
    assert_int_equal(cache_flush(&f, f.e.data[0] << 12, 4095, 2, PVCORE_GNTTAB_CACHE_CLEAN), -PVCORE_EINVAL);
    assert_int_equal(cache_flush(&f, f.e.data[0] << 12, 0, 8, 0x10), -PVCORE_EINVAL);
    assert_int_equal(cache_flush(&f, f.e.data[0] << 12, 0, 8, PVCORE_GNTTAB_CACHE_SOURCE_GREF | PVCORE_GNTTAB_CACHE_CLEAN), -PVCORE_EOPNOTSUPP);
    assert_int_equal(cache_flush(&f, f.granted << 12, 0, 8, PVCORE_GNTTAB_CACHE_INVAL), -PVCORE_EINVAL);
    grant(&f, 5, PVCORE_GTF_permit_access, MAPPER, (uint32_t)f.granted);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_readonly, 5, GRANTER, &h, NULL), PVCORE_GNTST_okay);
    assert_int_equal(cache_flush(&f, f.granted << 12, 0, 8, PVCORE_GNTTAB_CACHE_INVAL), 0);
    assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
    assert_int_equal(cache_flush(&f, f.granted << 12, 0, 8, PVCORE_GNTTAB_CACHE_INVAL), -PVCORE_EINVAL);
    fix_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_unmap_va),
        cmocka_unit_test(test_v2_map),
        cmocka_unit_test(test_cache_flush),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
