/* XSA-32: mmuext ops given invalid frame numbers crashed Xen. Each must fail -EINVAL. */
#include "regress.h"

static void xsa_32_invalid_frames(void **state)
{
    struct pvtest *t = *state;
    static const uint64_t bad[] = { TEST_FRAMES, TEST_FRAMES + 1, 0x000FFFFFFFFFFull,
                                    0xFFFFFFFFFFFFFFFFull, 0x8000000000000000ull, 3 /* free */ };
    struct pvcore_frame_info *before = snapshot(t);
    unsigned i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned lv;
        for (lv = 1; lv <= 4; lv++) {
            assert_int_equal(pin(t, 1, lv, bad[i]), -PVCORE_EINVAL);
        }
        assert_int_equal(unpin(t, 1, bad[i]), -PVCORE_EINVAL);
        assert_int_equal(ext(t, 1, PVCORE_MMUEXT_CLEAR_PAGE, bad[i], 0, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
        assert_int_equal(ext(t, 1, PVCORE_MMUEXT_COPY_PAGE, bad[i], bad[i], PVCORE_DOMID_SELF), -PVCORE_EINVAL);
        assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_BASEPTR, bad[i], 0, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
        assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_USER_BASEPTR, bad[i], 0, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
        assert_int_equal(mmu1(t, 1, bad[i] << 12, 0, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
        assert_int_equal(mmu1(t, 1, (bad[i] << 12) | PVCORE_MMU_MACHPHYS_UPDATE, 0, PVCORE_DOMID_SELF),
                         -PVCORE_EINVAL);
    }
    assert_same_state(t, before);
    free(before);
    check_invariants(t);
}

REGRESS_MAIN("xsa_032", RTEST(xsa_32_invalid_frames))
