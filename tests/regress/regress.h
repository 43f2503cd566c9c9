/* Shared by the advisory regressions: each file reproduces one Xen security advisory's
 * attack against libpvcore and asserts it fails with the ABI's error, changing nothing. */
#ifndef PVCORE_TESTS_REGRESS_H
#define PVCORE_TESTS_REGRESS_H

#include "pvtest.h"

static inline int rsetup(void **state)
{
    *state = pvtest_new();
    return 0;
}

static inline int rteardown(void **state)
{
    pvtest_free(*state);
    return 0;
}

#define REGRESS_MAIN(name, ...)                                                       \
    int main(void)                                                                  \
    {                                                                               \
        const struct CMUnitTest tests[] = { __VA_ARGS__ };                          \
        return cmocka_run_group_tests_name(name, tests, NULL, NULL);                \
    }

#define RTEST(f) cmocka_unit_test_setup_teardown(f, rsetup, rteardown)

/* Repeats an MMU call while it is preempted, checking invariants at every step. */
#define UNTIL_DONE(t, rc, expr)                                                       \
    do {                                                                            \
        unsigned n_ = 0;                                                            \
        while (((rc) = (expr)) == -PVCORE_ERESTART) {                               \
            check_invariants(t);                                                    \
            assert_true(++n_ < 100000);                                             \
        }                                                                           \
    } while (0)

/* Lets queued teardown finish (a no-op request that first completes pending work). */
static inline void settle(struct pvtest *t, int d)
{
    int rc;
    UNTIL_DONE(t, rc, ext(t, d, PVCORE_MMUEXT_TLB_FLUSH_LOCAL, 0, 0, PVCORE_DOMID_SELF));
    assert_int_equal(rc, 0);
}

#endif
