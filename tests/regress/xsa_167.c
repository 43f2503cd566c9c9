/* XSA-167: MMUEXT_MARK_SUPER indexed a table with an unchecked frame number. Superpage
 * marking no longer exists: refused, whatever the frame. */
#include "regress.h"

static void xsa_167_mark_super(void **state)
{
    struct pvtest *t = *state;
    struct pvcore_frame_info *before = snapshot(t);

    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_MARK_SUPER, 0xffffffffffe00000ull, 0, PVCORE_DOMID_SELF),
                     -PVCORE_EOPNOTSUPP);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_UNMARK_SUPER, 0xffffffffffe00000ull, 0, PVCORE_DOMID_SELF),
                     -PVCORE_EOPNOTSUPP);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_MARK_SUPER, 0, 0, PVCORE_DOMID_SELF), -PVCORE_EOPNOTSUPP);
    assert_same_state(t, before);
    free(before);
    check_invariants(t);
}

REGRESS_MAIN("xsa_167", RTEST(xsa_167_mark_super))
