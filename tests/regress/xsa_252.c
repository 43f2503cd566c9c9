/* XSA-252: giving back a pinned L3/L4 implicitly unpinned and freed it without
 * preemption. Releasing a pinned table is refused; unpinning first works. */
#include "regress.h"

static void xsa_252_release_pinned(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    struct pvcore_frame_info *before;

    build_as64(t, 1, &as, 2);
    assert_int_equal(pin(t, 1, 4, as.l4), 0);
    before = snapshot(t);
    assert_int_equal(pvcore_domain_release(t->dom[1], pvcore_mfn(as.l4)), -PVCORE_EBUSY);
    assert_same_state(t, before);
    free(before);
    assert_int_equal(unpin(t, 1, as.l4), 0);
    assert_int_equal(pvcore_domain_release(t->dom[1], pvcore_mfn(as.l4)), 0);
    assert_int_equal(finfo(t, as.l4).owner, PVCORE_DOMID_INVALID);
    check_invariants(t);
}

REGRESS_MAIN("xsa_252", RTEST(xsa_252_release_pinned))
