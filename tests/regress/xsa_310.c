/* XSA-310: partial-validation state was lost on interruption, and domain teardown did not
 * take over the references a partial table held. Abandoned partial trees are released
 * completely by domain destruction, and a failure after a resume releases everything. */
#include "regress.h"

static void xsa_310_abandoned_partial(void **state)
{
    struct pvtest *t = pvtest_new_budget(2, 0);
    uint64_t l3 = alloc_frame(t, 1);
    unsigned i;
    int rc;
    (void)state;

    for (i = 0; i < 6; i++) {
        uint64_t l2 = alloc_frame(t, 1), l1 = alloc_frame(t, 1);
        frame_ptr(t, l3)[i] = pte(l2, PT_P | PT_RW);
        frame_ptr(t, l2)[0] = pte(l1, PT_P | PT_RW);
        frame_ptr(t, l2)[1] = pte(l2, PT_P);
        frame_ptr(t, l1)[0] = pte(alloc_frame(t, 1), PT_P | PT_RW);
    }
    rc = pin(t, 1, 3, l3);
    assert_int_equal(rc, -PVCORE_ERESTART);
    assert_true(finfo(t, l3).flags & PVCORE_FRAME_PARTIAL);
    check_invariants(t);
    /* The guest never resumes; the domain dies. */
    UNTIL_DONE(t, rc, pvcore_domain_destroy(t->dom[1]));
    assert_int_equal(rc, 0);
    for (i = 0; i < TEST_FRAMES; i++) {
        assert_int_equal(finfo(t, i).count, 0);
    }
    check_invariants(t);
    pvtest_free(t);
}

static void xsa_310_failure_after_resume(void **state)
{
    struct pvtest *t = pvtest_new_budget(2, 0);
    uint64_t l3 = alloc_frame(t, 1), victim = alloc_frame(t, 1);
    struct pvcore_frame_info *before;
    unsigned i;
    int rc;
    (void)state;

    assert_int_equal(pin(t, 1, 1, victim), 0);
    for (i = 0; i < 6; i++) {
        uint64_t l2 = alloc_frame(t, 1), l1 = alloc_frame(t, 1);
        frame_ptr(t, l3)[i] = pte(l2, PT_P | PT_RW);
        frame_ptr(t, l2)[0] = pte(l1, PT_P | PT_RW);
        frame_ptr(t, l1)[0] = pte(alloc_frame(t, 1), PT_P | PT_RW);
        if (i == 5) {
            frame_ptr(t, l1)[1] = pte(victim, PT_P | PT_RW);
        }
    }
    before = snapshot(t);
    UNTIL_DONE(t, rc, pin(t, 1, 3, l3));
    assert_int_equal(rc, -PVCORE_EBUSY);
    settle(t, 1);
    assert_same_state(t, before);
    free(before);
    check_invariants(t);
    pvtest_free(t);
}

REGRESS_MAIN("xsa_310", cmocka_unit_test(xsa_310_abandoned_partial),
             cmocka_unit_test(xsa_310_failure_after_resume))
