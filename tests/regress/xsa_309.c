/* XSA-309: linear-entry accounting was reset when a preempted validation resumed,
 * bypassing the single-level rule. Counts survive preemption exactly. */
#include "regress.h"

static void xsa_309_linear_count_across_resume(void **state)
{
    unsigned budget;
    (void)state;

    for (budget = 1; budget <= 6; budget++) {
        struct pvtest *t = pvtest_new_budget(budget, 0);
        uint64_t target = alloc_frame(t, 1), l2 = alloc_frame(t, 1), other = alloc_frame(t, 1);
        unsigned i;
        int rc;

        UNTIL_DONE(t, rc, pin(t, 1, 2, target));
        assert_int_equal(rc, 0);
        UNTIL_DONE(t, rc, pin(t, 1, 2, other));
        assert_int_equal(rc, 0);
        frame_ptr(t, l2)[0] = pte(target, PT_P); /* the linear entry, validated first */
        for (i = 1; i < 8; i++) {
            uint64_t l1 = alloc_frame(t, 1);
            frame_ptr(t, l2)[i] = pte(l1, PT_P | PT_RW);
        }
        UNTIL_DONE(t, rc, pin(t, 1, 2, l2));
        assert_int_equal(rc, 0);
        assert_int_equal(finfo(t, l2).linear, 1);
        assert_int_equal(finfo(t, target).linear, -1);
        /* Still single-level after the resumes: l2 holds one, so it cannot be a target. */
        UNTIL_DONE(t, rc, set_entry(t, 1, other, 0, pte(l2, PT_P)));
        assert_int_equal(rc, -PVCORE_EINVAL);
        UNTIL_DONE(t, rc, set_entry(t, 1, target, 0, pte(other, PT_P)));
        assert_int_equal(rc, -PVCORE_EINVAL);
        check_invariants(t);
        pvtest_free(t);
    }
}

REGRESS_MAIN("xsa_309", cmocka_unit_test(xsa_309_linear_count_across_resume))
