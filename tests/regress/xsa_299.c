/* XSA-299: interleaving preemptible pin, unpin and new-base-pointer on trees containing
 * linear entries let a type reference be dropped that was not held, so a page ended up
 * usable with the wrong type. Any interleaving keeps every count exact. */
#include "regress.h"

static uint64_t tree(struct pvtest *t)
{
    uint64_t l4 = alloc_frame(t, 1), l3 = alloc_frame(t, 1);
    unsigned i, j;

    frame_ptr(t, l4)[0] = pte(l3, PT_P | PT_RW);
    frame_ptr(t, l4)[1] = pte(l4, PT_P); /* self */
    for (i = 0; i < 3; i++) {
        uint64_t l2 = alloc_frame(t, 1);
        frame_ptr(t, l3)[i] = pte(l2, PT_P | PT_RW);
        for (j = 0; j < 4; j++) {
            uint64_t l1 = alloc_frame(t, 1);
            frame_ptr(t, l2)[j] = pte(l1, PT_P | PT_RW);
            frame_ptr(t, l1)[j] = pte(alloc_frame(t, 1), PT_P | PT_RW);
        }
    }
    return l4;
}

static void xsa_299_interleavings(void **state)
{
    unsigned seed;
    (void)state;

    for (seed = 1; seed <= 12; seed++) {
        struct pvtest *t = pvtest_new_budget(seed, 0);
        uint64_t l4 = tree(t);
        unsigned step;
        int rc;

        /* A preempted pin, abandoned; the same tree becomes the base pointer (taking over
         * the partial validation), then is pinned, unpinned and replaced, each preempted. */
        rc = pin(t, 1, 4, l4);
        assert_true(rc == -PVCORE_ERESTART || rc == 0);
        check_invariants(t);
        UNTIL_DONE(t, rc, ext(t, 1, PVCORE_MMUEXT_NEW_BASEPTR, l4, 0, PVCORE_DOMID_SELF));
        assert_int_equal(rc, 0);
        for (step = 0; step < 3; step++) {
            rc = pin(t, 1, 4, l4);
            if (rc == -PVCORE_ERESTART) {
                UNTIL_DONE(t, rc, pin(t, 1, 4, l4));
            }
            assert_true(rc == 0 || rc == -PVCORE_EINVAL);
            check_invariants(t);
            UNTIL_DONE(t, rc, unpin(t, 1, l4));
            assert_int_equal(rc, 0);
            check_invariants(t);
        }
        {
            uint64_t other = tree(t);
            UNTIL_DONE(t, rc, ext(t, 1, PVCORE_MMUEXT_NEW_BASEPTR, other, 0, PVCORE_DOMID_SELF));
            assert_int_equal(rc, 0);
            settle(t, 1);
            assert_int_equal(finfo(t, l4).type_count, 0);
            assert_int_equal(finfo(t, l4).count, 1);
            /* The old root is an ordinary page again: it can be mapped writable. */
            assert_int_equal(set_entry(t, 1, pte_mfn_test(frame_ptr(t, pte_mfn_test(frame_ptr(t, pte_mfn_test(frame_ptr(t, other)[0]))[0]))[0]),
                                       100, pte(l4, PT_P | PT_RW)), 0);
        }
        check_invariants(t);
        UNTIL_DONE(t, rc, pvcore_domain_destroy(t->dom[1]));
        assert_int_equal(rc, 0);
        check_invariants(t);
        pvtest_free(t);
    }
}

REGRESS_MAIN("xsa_299", cmocka_unit_test(xsa_299_interleavings))
