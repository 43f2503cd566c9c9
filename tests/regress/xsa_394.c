/* XSA-394: the reference XSA-380 added was dropped on every successful partial unmap (one
 * that clears some of a handle's parts), not only when the handle was fully unmapped, so
 * a guest could underflow it. Here: unmapping the host part of a host+device mapping, as
 * often as the guest likes, leaves the device part's pin and references exactly as they
 * were; only the device part's own unmap releases them. */
#include "regress.h"
#include "gntenv.h"

static void xsa_394_partial_unmap(void **state)
{
    unsigned ro;

    (void)state;
    for (ro = 0; ro < 2; ro++) {
        struct gfix f;
        uint32_t h, h2, i;
        uint64_t fr, dev;
        const uint32_t rof = ro ? PVCORE_GNTMAP_readonly : 0u;
        const uint32_t w = ro ? 0u : 1u;

        gfix_init(&f);
        fr = alloc_frame(f.t, GRANTER);
        grant(&f, 5, PA, MAPPER, fr);
        assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_device_map | rof, 5, GRANTER, &h, &dev),
                         PVCORE_GNTST_okay);
        /* A second, device-only mapping of the same grant, which must not pay for the
         * first one's partial unmaps either. */
        assert_int_equal(map(&f, 0, PVCORE_GNTMAP_device_map | rof, 5, GRANTER, &h2, NULL), PVCORE_GNTST_okay);
        expect_refs(f.t, fr, 4, 3 * w, PVCORE_PGT_WRITABLE);
        /* The host part, then the host part again and again (it is gone: nothing to do),
         * and unmaps naming neither part. */
        assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
        assert_int_equal(ml1e(&f, 8), 0);
        for (i = 0; i < 300; i++) {
            assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
            assert_int_equal(unmap(&f, 0, 0, h), PVCORE_GNTST_okay);
        }
        expect_refs(f.t, fr, 3, 2 * w, PVCORE_PGT_WRITABLE);
        assert_int_equal(gflags(&f, 5), PA | (ro ? RO_PIN : RW_PIN));
        if (!ro) {
            assert_int_equal(pin(f.t, GRANTER, 1, fr), -PVCORE_EINVAL);
        }
        check_invariants(f.t);
        /* The device part: released once. */
        assert_int_equal(unmap(&f, 0, dev, h), PVCORE_GNTST_okay);
        assert_int_equal(unmap(&f, 0, dev, h), PVCORE_GNTST_bad_handle);
        expect_refs(f.t, fr, 2, w, PVCORE_PGT_WRITABLE);
        assert_int_equal(gflags(&f, 5), PA | (ro ? RO_PIN : RW_PIN));
        assert_int_equal(unmap(&f, 0, dev, h2), PVCORE_GNTST_okay);
        expect_refs(f.t, fr, 1, 0, 0);
        assert_int_equal(gflags(&f, 5), PA);
        assert_int_equal(pin(f.t, GRANTER, 1, fr), 0);
        check_invariants(f.t);
        gfix_free(&f);
    }
}

/* The same through unmap_and_replace, which unmaps the host part only. */
static void xsa_394_replace_is_partial(void **state)
{
    struct gfix f;
    uint32_t h;
    uint64_t fr, dev;

    (void)state;
    gfix_init(&f);
    fr = alloc_frame(f.t, GRANTER);
    grant(&f, 5, PA, MAPPER, fr);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_device_map, 5, GRANTER, &h, &dev),
                     PVCORE_GNTST_okay);
    assert_int_equal(replace(&f, MAP_VA, SLOT_VA(3), h), PVCORE_GNTST_okay);
    /* No host part left: nothing to replace, okay and nothing done (as Xen's unmap). */
    assert_int_equal(replace(&f, MAP_VA, SLOT_VA(4), h), PVCORE_GNTST_okay);
    expect_refs(f.t, fr, 2, 1, PVCORE_PGT_WRITABLE);
    assert_int_equal(pin(f.t, GRANTER, 1, fr), -PVCORE_EINVAL);
    assert_int_equal(unmap(&f, 0, dev, h), PVCORE_GNTST_okay);
    expect_refs(f.t, fr, 1, 0, 0);
    assert_int_equal(gflags(&f, 5), PA);
    check_invariants(f.t);
    gfix_free(&f);
}

REGRESS_MAIN("xsa_394", cmocka_unit_test(xsa_394_partial_unmap), cmocka_unit_test(xsa_394_replace_is_partial))
