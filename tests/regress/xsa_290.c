/* XSA-290: devalidating trees with linear entries was not preemptible (512^3 steps). */
#include "regress.h"

static void xsa_290_linear_teardown_bounded(void **state)
{
    struct pvtest *t = pvtest_new_budget(32, 0);
    uint64_t l3 = alloc_frame(t, 1), target = alloc_frame(t, 1);
    unsigned i, j, calls = 0;
    int rc;
    (void)state;

    assert_int_equal(pin(t, 1, 2, target), 0);
    for (i = 0; i < 8; i++) {
        uint64_t l2 = alloc_frame(t, 1);
        frame_ptr(t, l3)[i] = pte(l2, PT_P | PT_RW);
        for (j = 0; j < 8; j++) {
            uint64_t l1 = alloc_frame(t, 1);
            frame_ptr(t, l2)[j] = pte(l1, PT_P | PT_RW);
            frame_ptr(t, l1)[0] = pte(l1, PT_P);
        }
        frame_ptr(t, l2)[100] = pte(l2, PT_P);     /* self map */
    }
    UNTIL_DONE(t, rc, pin(t, 1, 3, l3));
    assert_int_equal(rc, 0);
    /* One linear entry in each L2 towards a shared target. */
    for (i = 0; i < 8; i++) {
        UNTIL_DONE(t, rc, set_entry(t, 1, pte_mfn_test(frame_ptr(t, l3)[i]), 200, pte(target, PT_P)));
        assert_int_equal(rc, 0);
    }
    assert_int_equal(finfo(t, target).linear, -8);
    assert_int_equal(unpin(t, 1, l3), 0);
    while ((rc = ext(t, 1, PVCORE_MMUEXT_TLB_FLUSH_LOCAL, 0, 0, PVCORE_DOMID_SELF)) == -PVCORE_ERESTART) {
        calls++;
        check_invariants(t);
    }
    assert_int_equal(rc, 0);
    assert_true(calls >= 4);
    assert_int_equal(finfo(t, target).linear, 0);
    assert_int_equal(finfo(t, target).type_count, 1);
    assert_int_equal(finfo(t, l3).type_count, 0);
    check_invariants(t);
    pvtest_free(t);
}

REGRESS_MAIN("xsa_290", cmocka_unit_test(xsa_290_linear_teardown_bounded))
