/* XSA-45: validating and tearing down deep trees was not preemptible (host DoS). Every
 * call must do bounded work and continue where it stopped. */
#include "regress.h"

static uint64_t big_tree(struct pvtest *t, unsigned nl2, unsigned nl1)
{
    uint64_t l4 = alloc_frame(t, 1), l3 = alloc_frame(t, 1);
    unsigned i, j;

    frame_ptr(t, l4)[0] = pte(l3, PT_P | PT_RW);
    for (i = 0; i < nl2; i++) {
        uint64_t l2 = alloc_frame(t, 1);
        frame_ptr(t, l3)[i] = pte(l2, PT_P | PT_RW);
        for (j = 0; j < nl1; j++) {
            uint64_t l1 = alloc_frame(t, 1);
            unsigned k;
            frame_ptr(t, l2)[j] = pte(l1, PT_P | PT_RW);
            for (k = 0; k < 512; k++) {
                frame_ptr(t, l1)[k] = pte(l1, PT_P); /* 512 read-only self references */
            }
        }
    }
    return l4;
}

static void xsa_45_bounded_work(void **state)
{
    struct pvtest *t = pvtest_new_budget(64, 0);
    struct pvcore_host_stats st;
    uint64_t l4 = big_tree(t, 4, 16);
    unsigned calls = 0;
    int rc;
    (void)state;

    /* 64 L1 tables of 512 entries each: far more than one call's budget of 64 units. */
    while ((rc = pin(t, 1, 4, l4)) == -PVCORE_ERESTART) {
        calls++;
    }
    assert_int_equal(rc, 0);
    /* Each L1 (512 entries, not preemptible by design) fits in about one call. */
    assert_true(calls >= 64);
    check_invariants(t);

    assert_int_equal(unpin(t, 1, l4), 0);
    calls = 0;
    while ((rc = ext(t, 1, PVCORE_MMUEXT_TLB_FLUSH_LOCAL, 0, 0, PVCORE_DOMID_SELF)) == -PVCORE_ERESTART) {
        calls++;
    }
    assert_int_equal(rc, 0);
    assert_true(calls >= 32);
    assert_int_equal(finfo(t, l4).type_count, 0);
    check_invariants(t);

    /* Destruction is preemptible too. */
    UNTIL_DONE(t, rc, pin(t, 1, 4, l4));
    assert_int_equal(rc, 0);
    pvcore_host_backend_reset_stats(t->hb);
    calls = 0;
    while ((rc = pvcore_domain_destroy(t->dom[1])) == -PVCORE_ERESTART) {
        calls++;
    }
    assert_int_equal(rc, 0);
    assert_true(calls >= 32);
    pvcore_host_backend_stats(t->hb, &st);
    assert_true(st.frames_freed >= 64 + 6);
    check_invariants(t);
    pvtest_free(t);
}

REGRESS_MAIN("xsa_045", cmocka_unit_test(xsa_45_bounded_work))
