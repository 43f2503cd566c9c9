/* XSA-148: the L2 fast path ignored PSE (and RW): flipping PSE on a present entry made a
 * guest-writable 2 MiB mapping of arbitrary frames. PSE is never a fast-path change and
 * never allowed in a PV L2. */
#include "regress.h"

static void xsa_148_pse_flip(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    struct pvcore_frame_info *before;
    uint64_t old;

    build_as64(t, 1, &as, 1);
    assert_int_equal(pin(t, 1, 4, as.l4), 0);
    old = frame_ptr(t, as.l2)[2];
    before = snapshot(t);
    assert_int_equal(set_entry(t, 1, as.l2, 2, old | PT_PSE), -PVCORE_EINVAL);
    assert_int_equal(set_entry(t, 1, as.l2, 2, old | PT_PSE | PT_RW), -PVCORE_EINVAL);
    assert_int_equal(set_entry(t, 1, as.l3, 0, frame_ptr(t, as.l3)[0] | PT_PSE), -PVCORE_EINVAL);
    assert_int_equal(frame_ptr(t, as.l2)[2], old);
    assert_same_state(t, before);
    free(before);
    /* A whitelisted bit alone does take the fast path and keeps the counts. */
    assert_int_equal(set_entry(t, 1, as.l2, 2, old | PT_A | PT_D), 0);
    assert_int_equal(finfo(t, as.l1).type_count, 1);
    check_invariants(t);
}

REGRESS_MAIN("xsa_148", RTEST(xsa_148_pse_flip))
