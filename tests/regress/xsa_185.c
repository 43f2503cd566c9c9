/* XSA-185: a 32-bit PAE guest pointed L3 slot 2 at the L3 itself; the forced RW made the
 * recursive mapping writable. Linear L3 entries are refused for 32-bit guests. */
#include "regress.h"

static void xsa_185_pae_l3_self(void **state)
{
    struct pvtest *t = *state;
    struct as32 as;
    struct pvcore_frame_info *before;

    build_as32(t, 2, &as, 1);
    assert_int_equal(ext(t, 2, PVCORE_MMUEXT_NEW_BASEPTR, as.l3, 0, PVCORE_DOMID_SELF), 0);
    before = snapshot(t);
    assert_int_equal(set_entry(t, 2, as.l3, 2, pte(as.l3, PT_A | PT_D | PT_US | PT_P)), -PVCORE_EINVAL);
    assert_int_equal(set_entry(t, 2, as.l3, 2, pte(as.l3, PT_P)), -PVCORE_EINVAL);
    assert_int_equal(frame_ptr(t, as.l3)[2], 0);
    assert_same_state(t, before);
    free(before);
    /* Nor may an L3 be built that way and then pinned. */
    {
        uint64_t l3b = alloc_frame(t, 2), l2x = alloc_frame(t, 2);
        frame_ptr(t, l3b)[2] = pte(l3b, PT_P);
        frame_ptr(t, l3b)[3] = pte(l2x, PT_P);
        assert_int_equal(pin(t, 2, 3, l3b), -PVCORE_EINVAL);
        assert_int_equal(finfo(t, l3b).type_count, 0);
        assert_int_equal(finfo(t, l2x).type_count, 0);
    }
    check_invariants(t);
}

REGRESS_MAIN("xsa_185", RTEST(xsa_185_pae_l3_self))
