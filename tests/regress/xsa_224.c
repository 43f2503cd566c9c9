/* XSA-224: grant-table reference counting. The attack: map one frame host and device,
 * writable, in one op, then unmap the two parts in two separate unmaps; Xen dropped the
 * writable type reference with the wrong part, so the frame could be pinned as an L1
 * while still mapped writable (XTF: the PIN_L1 must fail with -EINVAL). Also: one frame
 * mapped twice, writable, one mapping replaced (unmap_and_replace) or unmapped, must leave
 * the other mapping's PTE and references alone. */
#include "regress.h"
#include "gntenv.h"

static void check_blocked(struct gfix *f, uint64_t fr, uint32_t count, uint32_t tcount)
{
    expect_refs(f->t, fr, count, tcount, PVCORE_PGT_WRITABLE);
    assert_int_equal(pin(f->t, GRANTER, 1, fr), -PVCORE_EINVAL);
    assert_int_equal(pin(f->t, GRANTER, 2, fr), -PVCORE_EINVAL);
    expect_refs(f->t, fr, count, tcount, PVCORE_PGT_WRITABLE);
    check_invariants(f->t);
}

static void xsa_224_host_then_device(void **state)
{
    unsigned order;

    (void)state;
    for (order = 0; order < 2; order++) {
        struct gfix f;
        uint32_t h;
        uint64_t fr, dev = 0;

        gfix_init(&f);
        fr = alloc_frame(f.t, GRANTER);
        grant(&f, 5, PA, MAPPER, fr);
        assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_device_map, 5, GRANTER, &h, &dev),
                         PVCORE_GNTST_okay);
        assert_int_equal(dev, fr << 12);
        check_blocked(&f, fr, 3, 2);
        /* The first part goes: one general and one writable reference with it. */
        if (order == 0) {
            assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
            assert_int_equal(ml1e(&f, 8), 0);
        } else {
            assert_int_equal(unmap(&f, 0, dev, h), PVCORE_GNTST_okay);
            assert_int_equal(pte_mfn_test(ml1e(&f, 8)), fr);
        }
        /* Still writable through the other part: still no page table. */
        check_blocked(&f, fr, 2, 1);
        assert_int_equal(gflags(&f, 5), PA | RW_PIN);
        /* The same part again: nothing more goes. */
        if (order == 0) {
            assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
        } else {
            assert_int_equal(unmap(&f, 0, dev, h), PVCORE_GNTST_okay);
        }
        check_blocked(&f, fr, 2, 1);
        /* The second part. */
        if (order == 0) {
            assert_int_equal(unmap(&f, 0, dev, h), PVCORE_GNTST_okay);
        } else {
            assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
        }
        assert_int_equal(ml1e(&f, 8), 0);
        expect_refs(f.t, fr, 1, 0, 0);
        assert_int_equal(gflags(&f, 5), PA);
        assert_int_equal(unmap(&f, MAP_VA, dev, h), PVCORE_GNTST_bad_handle);
        /* Now, and only now, it may be a page table. */
        assert_int_equal(pin(f.t, GRANTER, 1, fr), 0);
        expect_refs(f.t, fr, 2, 1, PVCORE_PGT_L1);
        check_invariants(f.t);
        gfix_free(&f);
    }
}

/* Writable device part, read-only host part (or the reverse) of one grant, in two handles:
 * the read-only one's unmap must not take the writable reference. */
static void xsa_224_mixed_readonly(void **state)
{
    struct gfix f;
    uint32_t hw, hr;
    uint64_t fr;

    (void)state;
    gfix_init(&f);
    fr = alloc_frame(f.t, GRANTER);
    grant(&f, 5, PA, MAPPER, fr);
    assert_int_equal(map(&f, 0, PVCORE_GNTMAP_device_map, 5, GRANTER, &hw, NULL), PVCORE_GNTST_okay);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_readonly, 5, GRANTER, &hr, NULL),
                     PVCORE_GNTST_okay);
    check_blocked(&f, fr, 3, 1);
    assert_int_equal(unmap(&f, MAP_VA, 0, hr), PVCORE_GNTST_okay);
    check_blocked(&f, fr, 2, 1);
    assert_int_equal(gflags(&f, 5), PA | RW_PIN);
    assert_int_equal(unmap(&f, 0, fr << 12, hw), PVCORE_GNTST_okay);
    expect_refs(f.t, fr, 1, 0, 0);
    assert_int_equal(pin(f.t, GRANTER, 1, fr), 0);
    gfix_free(&f);
}

/* One grant mapped writable at two addresses: replacing or unmapping one touches only
 * its own PTE and references. */
static void xsa_224_two_mappings(void **state)
{
    struct gfix f;
    uint32_t h1, h2;
    uint64_t fr, e2, d3e;

    (void)state;
    gfix_init(&f);
    fr = alloc_frame(f.t, GRANTER);
    grant(&f, 5, PA, MAPPER, fr);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 5, GRANTER, &h1, NULL), PVCORE_GNTST_okay);
    assert_int_equal(map(&f, MAP_VA + 4096, PVCORE_GNTMAP_host_map, 5, GRANTER, &h2, NULL), PVCORE_GNTST_okay);
    e2 = ml1e(&f, 9);
    d3e = ml1e(&f, 3);
    check_blocked(&f, fr, 3, 2);
    /* h1 by h2's address, h2 by h1's: refused. */
    assert_int_equal(unmap(&f, MAP_VA + 4096, 0, h1), PVCORE_GNTST_general_error);
    assert_int_equal(replace(&f, MAP_VA, SLOT_VA(3), h2), PVCORE_GNTST_general_error);
    check_blocked(&f, fr, 3, 2);
    assert_int_equal(replace(&f, MAP_VA, SLOT_VA(3), h1), PVCORE_GNTST_okay);
    assert_int_equal(ml1e(&f, 8), d3e);
    assert_int_equal(ml1e(&f, 9), e2);
    check_blocked(&f, fr, 2, 1);
    assert_int_equal(unmap(&f, MAP_VA + 4096, 0, h2), PVCORE_GNTST_okay);
    expect_refs(f.t, fr, 1, 0, 0);
    assert_int_equal(gflags(&f, 5), PA);
    assert_int_equal(pin(f.t, GRANTER, 1, fr), 0);
    check_invariants(f.t);
    gfix_free(&f);
}

REGRESS_MAIN("xsa_224", cmocka_unit_test(xsa_224_host_then_device), cmocka_unit_test(xsa_224_mixed_readonly),
             cmocka_unit_test(xsa_224_two_mappings))
