/* XSA-240: arbitrarily long chains of same-level linear entries (also across domains)
 * made teardown recurse without bound. Linear entries are single-level and same-domain. */
#include "regress.h"

static void xsa_240_chains(void **state)
{
    struct pvtest *t = *state;
    uint64_t a = alloc_frame(t, 1), b = alloc_frame(t, 1), c = alloc_frame(t, 1);
    uint64_t foreign = alloc_frame(t, 2);
    struct pvcore_frame_info *before;

    assert_int_equal(pin(t, 1, 2, a), 0);
    assert_int_equal(pin(t, 1, 2, b), 0);
    assert_int_equal(pin(t, 1, 2, c), 0);
    assert_int_equal(pin(t, 2, 2, foreign), 0);
    assert_int_equal(set_entry(t, 1, a, 0, pte(b, PT_P)), 0); /* a -> b */
    before = snapshot(t);
    assert_int_equal(set_entry(t, 1, b, 0, pte(c, PT_P)), -PVCORE_EINVAL); /* b -> c: chain */
    assert_int_equal(set_entry(t, 1, c, 0, pte(a, PT_P)), -PVCORE_EINVAL); /* c -> a: chain */
    assert_int_equal(set_entry(t, 1, c, 1, pte(foreign, PT_P)), -PVCORE_EINVAL); /* cross-domain */
    assert_same_state(t, before);
    free(before);
    /* Built into an unvalidated table and pinned: refused at the second link too. */
    {
        uint64_t d = alloc_frame(t, 1);
        frame_ptr(t, d)[0] = pte(a, PT_P); /* a already holds a linear entry */
        assert_int_equal(pin(t, 1, 2, d), -PVCORE_EINVAL);
        settle(t, 1);
        assert_int_equal(finfo(t, d).type_count, 0);
    }
    assert_int_equal(finfo(t, a).linear, 1);
    assert_int_equal(finfo(t, b).linear, -1);
    check_invariants(t);
}

REGRESS_MAIN("xsa_240", RTEST(xsa_240_chains))
