/* XSA-380: grant-table work was unbounded: a linear search over every maptrack entry per
 * map (mapkind()), and gnttab_release_mappings() released every mapping of a dying domain
 * without a preemption check. Here, on a machine with a small work budget: batches with
 * huge counts (map, unmap, unmap_and_replace, copy, from a 64-bit and a 32-bit caller) do
 * at most a budget's worth of ops per call and continue exactly where they stopped; and
 * destroying a domain with many mappings is preempted like the rest of its destruction. */
#include "regress.h"
#include "gntenv.h"

#define BUDGET 8u
#define NMAP 896u /* map ops in the 7 data pages from OPS */

static void xsa_380_huge_batches(void **state)
{
    struct gfix f;
    unsigned calls, i;
    uint32_t fit;

    (void)state;
    gfix_init_opt(&f, BUDGET, 1024, 4);
    for (i = 0; i < 8; i++) {
        grant(&f, 8 + i, PA, MAPPER, f.granted);
    }
    /* map_grant_ref, count 2^32 - 1: 896 ops, then the array runs into unmapped memory. */
    for (i = 0; i < NMAP; i++) {
        struct pvcore_gnttab_map_grant_ref op;
        memset(&op, 0, sizeof(op));
        op.flags = PVCORE_GNTMAP_device_map | PVCORE_GNTMAP_readonly;
        op.ref = 8 + i / 128u;
        op.dom = GRANTER;
        op.status = 0x5555;
        gwrite(&f.e, OPS + i * 32u, &op, sizeof(op));
    }
    assert_int_equal(gstep(&f, MAPPER, PVCORE_GNTTABOP_map_grant_ref, OPS, 0x7FFFFFFFu, 32, 18, BUDGET, NMAP, &calls),
                     -PVCORE_EFAULT);
    assert_true(calls > NMAP / BUDGET);
    for (i = 0; i < NMAP; i++) {
        struct pvcore_gnttab_map_grant_ref op;
        gread(&f.e, OPS + i * 32u, &op, sizeof(op));
        assert_int_equal(op.status, PVCORE_GNTST_okay);
        assert_int_equal(op.handle, i);
    }
    expect_refs(f.t, f.granted, 1 + NMAP, 0, 0);
    /* unmap_and_replace, huge: every op names a handle without a host part. */
    fit = (uint32_t)((MAP_VA - OPS) / 24u);
    for (i = 0; i < fit; i++) {
        struct pvcore_gnttab_unmap_and_replace op;
        memset(&op, 0, sizeof(op));
        op.host_addr = MAP_VA;
        op.new_addr = SLOT_VA(3);
        op.handle = i;
        op.status = 0x5555;
        gwrite(&f.e, OPS + i * 24u, &op, sizeof(op));
    }
    assert_int_equal(gstep(&f, MAPPER, PVCORE_GNTTABOP_unmap_and_replace, OPS, 0x7FFFFFFFu, 24, 20, BUDGET, fit, &calls),
                     -PVCORE_EFAULT);
    expect_refs(f.t, f.granted, 1 + NMAP, 0, 0);
    /* unmap_grant_ref, huge: the 896 handles, then handles that are none. */
    for (i = 0; i < fit; i++) {
        struct pvcore_gnttab_unmap_grant_ref op;
        memset(&op, 0, sizeof(op));
        op.dev_bus_addr = f.granted << 12;
        op.handle = i;
        op.status = 0x5555;
        gwrite(&f.e, OPS + i * 24u, &op, sizeof(op));
    }
    assert_int_equal(gstep(&f, MAPPER, PVCORE_GNTTABOP_unmap_grant_ref, OPS, 0x7FFFFFFFu, 24, 20, BUDGET, fit, &calls),
                     -PVCORE_EFAULT);
    for (i = 0; i < fit; i++) {
        int16_t st;
        gread(&f.e, OPS + i * 24u + 20u, &st, 2);
        assert_int_equal(st, i < NMAP ? PVCORE_GNTST_okay : PVCORE_GNTST_bad_handle);
    }
    expect_refs(f.t, f.granted, 1, 0, 0);
    for (i = 0; i < 8; i++) {
        assert_int_equal(gflags(&f, 8 + i), PA);
    }
    /* copy, huge, from the 32-bit side (24-byte ops). */
    grant(&f, 5, PA, GRANTER, f.granted);
    for (i = 0; i < fit; i++) {
        put_copy(&f, GRANTER, OPS, i, (struct cend){ f.g.data[0], PVCORE_DOMID_SELF, 0 },
                 (struct cend){ 5, GRANTER, (uint16_t)(i % 4000u) }, 1, PVCORE_GNTCOPY_dest_gref);
    }
    assert_int_equal(gstep(&f, GRANTER, PVCORE_GNTTABOP_copy, OPS, 0x7FFFFFFFu, 24, 20, BUDGET, fit, &calls),
                     -PVCORE_EFAULT);
    for (i = 0; i < fit; i++) {
        assert_int_equal(copy_status(&f, GRANTER, OPS, i), PVCORE_GNTST_okay);
    }
    expect_refs(f.t, f.granted, 1, 0, 0);
    assert_int_equal(gflags(&f, 5), PA);
    check_invariants(f.t);
    gfix_free(&f);
}

/*
 * XSA-380's second half: pvcore_domain_destroy() promises bounded work per call
 * (-PVCORE_ERESTART to continue), so releasing the dying domain's grant mappings (up to
 * PVCORE_GRANT_MAX_HANDLES) must be preemptible too, as Xen's gnttab_release_mappings()
 * became: a call releases at most a budget's worth (it released all 800 at once before
 * the fix).
 */
static void xsa_380_release_preemptible(void **state)
{
    const uint32_t n = 800;
    struct gfix f;
    unsigned calls, i;
    int rc;
    uint32_t before, after;

    (void)state;
    gfix_init_opt(&f, BUDGET, n, 4);
    for (i = 0; i < 8; i++) {
        grant(&f, 8 + i, PA, MAPPER, f.granted);
    }
    for (i = 0; i < n; i++) {
        struct pvcore_gnttab_map_grant_ref op;
        memset(&op, 0, sizeof(op));
        op.flags = PVCORE_GNTMAP_device_map | PVCORE_GNTMAP_readonly;
        op.ref = 8 + i / 128u;
        op.dom = GRANTER;
        op.status = 0x5555;
        gwrite(&f.e, OPS + i * 32u, &op, sizeof(op));
    }
    assert_int_equal(gstep(&f, MAPPER, PVCORE_GNTTABOP_map_grant_ref, OPS, n, 32, 18, BUDGET, n, &calls), 0);
    before = finfo(f.t, f.granted).count;
    assert_int_equal(before, 1 + n);
    rc = pvcore_domain_destroy(f.t->dom[MAPPER]);
    after = finfo(f.t, f.granted).count;
    assert_int_equal(rc, -PVCORE_ERESTART);
    fprintf(stderr, "first destroy call released %u of %u mappings (budget %u)\n", before - after, n, BUDGET);
    assert_true(before - after <= BUDGET);
    assert_int_equal(gfix_destroy(&f, MAPPER), 0);
    expect_refs(f.t, f.granted, 1, 0, 0);
    gfix_free(&f);
}

REGRESS_MAIN("xsa_380", cmocka_unit_test(xsa_380_huge_batches), cmocka_unit_test(xsa_380_release_preemptible))
