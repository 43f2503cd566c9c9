/* XSA-316: misplaced brackets in map_grant_ref made one error path (the shared entry's
 * check failing, `rc = _set_status(...) != GNTST_okay`) report 1, a positive status a
 * guest reads as neither success nor a GNTST error. Every op's status here is 0 or one of
 * the negative GNTST values, exactly the one the ABI gives for the case; the entry-check
 * failures are GNTST_general_error (-1), never 1. */
#include "regress.h"
#include "gntenv.h"

static void xsa_316_statuses_are_negative(void **state)
{
    static const uint32_t flags[] = {
        0,
        PVCORE_GNTMAP_host_map,
        PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_readonly,
        PVCORE_GNTMAP_device_map,
        PVCORE_GNTMAP_device_map | PVCORE_GNTMAP_readonly,
        PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_device_map,
        PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_contains_pte,
        PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_contains_pte | PVCORE_GNTMAP_readonly,
        0xFFFFFFFFu,
    };
    static const uint32_t refs[] = { 5, 6, 7, 8, 9, 10, 512, 0xFFFFFFFFu };
    static const uint16_t doms[] = { GRANTER, 7, PVCORE_DOMID_SELF, PRIV, PVCORE_DOMID_IO, 0xFFFF };
    struct gfix f;
    uint64_t addrs[5];
    unsigned fi, ri, di, ai, n = 0;

    (void)state;
    gfix_init(&f);
    grant(&f, 5, PA, MAPPER, f.granted);                           /* fine */
    grant(&f, 6, PA, PRIV, f.granted);                             /* not for the mapper */
    grant(&f, 7, PA | PVCORE_GTF_readonly, MAPPER, f.granted);     /* read-only */
    grant(&f, 8, PVCORE_GTF_invalid | RW_PIN, MAPPER, f.granted);  /* revoked */
    grant(&f, 9, PVCORE_GTF_accept_transfer, MAPPER, f.granted);   /* not for mapping */
    grant(&f, 10, PA, MAPPER, 3);                                  /* a free frame */
    addrs[0] = MAP_VA;
    addrs[1] = (f.e.l1 << 12) + 8u * 8u;
    addrs[2] = (f.e.l1 << 12) + 8u * 8u + 4u;
    addrs[3] = UNMAPPED;
    addrs[4] = 0;
    for (fi = 0; fi < sizeof(flags) / sizeof(flags[0]); fi++) {
        for (ri = 0; ri < sizeof(refs) / sizeof(refs[0]); ri++) {
            for (di = 0; di < sizeof(doms) / sizeof(doms[0]); di++) {
                for (ai = 0; ai < 5; ai++) {
                    uint32_t h;
                    uint64_t dev;
                    int16_t st = map(&f, addrs[ai], flags[fi], refs[ri], doms[di], &h, &dev);
                    uint32_t kind = flags[fi] & (PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_device_map);
                    bool to_granter = doms[di] == GRANTER;
                    assert_true(st <= 0 && st >= PVCORE_GNTST_no_space);
                    /* The entry's checks fail with general_error, or bad_page for a frame
                     * that is not the granter's, and nothing else. */
                    if (kind != 0 && to_granter && ri >= 1 && ri <= 5 && st != PVCORE_GNTST_okay) {
                        assert_true(st == PVCORE_GNTST_general_error || st == PVCORE_GNTST_bad_page);
                    }
                    if (kind == 0) {
                        assert_int_equal(st, PVCORE_GNTST_bad_gntref);
                    }
                    if (st == PVCORE_GNTST_okay) {
                        n++;
                        assert_int_equal(unmap(&f, (flags[fi] & PVCORE_GNTMAP_host_map) ? addrs[ai] : 0,
                                               (flags[fi] & PVCORE_GNTMAP_device_map) ? f.granted << 12 : 0, h),
                                         PVCORE_GNTST_okay);
                    }
                }
            }
        }
    }
    assert_true(n > 0);
    /* The shared-entry check on an entry already pinned (Xen's second path through
     * _set_status): the granter makes a pinned entry read-only, then a writable pin. */
    {
        uint32_t h, h2;
        assert_int_equal(map(&f, 0, PVCORE_GNTMAP_device_map | PVCORE_GNTMAP_readonly, 5, GRANTER, &h, NULL),
                         PVCORE_GNTST_okay);
        grant(&f, 5, PA | PVCORE_GTF_readonly | RO_PIN, MAPPER, f.granted);
        assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 5, GRANTER, &h2, NULL), PVCORE_GNTST_general_error);
        assert_int_equal(map(&f, 0, PVCORE_GNTMAP_device_map, 5, GRANTER, &h2, NULL), PVCORE_GNTST_general_error);
        assert_int_equal(gflags(&f, 5), PA | PVCORE_GTF_readonly | RO_PIN);
        assert_int_equal(unmap(&f, 0, f.granted << 12, h), PVCORE_GNTST_okay);
    }
    expect_refs(f.t, f.granted, 1, 0, 0);
    assert_int_equal(gflags(&f, 5), PA | PVCORE_GTF_readonly);
    /* Unmap and copy statuses likewise. */
    assert_true(unmap(&f, MAP_VA, 0, 0) < 0);
    assert_true(unmap(&f, 0, 1, 3) < 0);
    assert_true(replace(&f, MAP_VA, SLOT_VA(3), 0) < 0);
    assert_true(gcopy(&f, (struct cend){ 8, GRANTER, 0 }, (struct cend){ 7, GRANTER, 0 }, 8,
                      PVCORE_GNTCOPY_source_gref | PVCORE_GNTCOPY_dest_gref) < 0);
    check_invariants(f.t);
    gfix_free(&f);
}

REGRESS_MAIN("xsa_316", cmocka_unit_test(xsa_316_statuses_are_negative))
