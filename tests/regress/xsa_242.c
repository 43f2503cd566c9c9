/* XSA-242: releasing the lock of a page being updated could drop its last type reference
 * without devalidating it, leaking every reference its entries held. Here: a batch that
 * edits an L1, drops its last type reference, then writes to it again. */
#include "regress.h"

static void xsa_242_last_ref_mid_batch(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    uint64_t x = alloc_frame(t, 1);
    pvcore_mmu_update_t u[3];
    uint32_t done = 0;

    build_as64(t, 1, &as, 2);
    assert_int_equal(pin(t, 1, 4, as.l4), 0);
    u[0].ptr = (as.l1 << 12) | (5u << 3);
    u[0].val = pte(x, PT_P | PT_RW);
    u[1].ptr = (as.l2 << 12) | (2u << 3); /* the L1's only type reference */
    u[1].val = 0;
    u[2].ptr = (as.l1 << 12) | (6u << 3); /* no longer a table: ordinary memory */
    u[2].val = pte(x, PT_P | PT_RW);
    assert_int_equal(pvcore_mmu_update(vcpu(t, 1, 0), u, 3, &done, PVCORE_DOMID_SELF), 0);
    assert_int_equal(done, 3);
    settle(t, 1);
    /* Every reference the L1 held is gone; the last write took none. */
    assert_int_equal(finfo(t, as.l1).type_count, 0);
    assert_false(finfo(t, as.l1).flags & PVCORE_FRAME_VALIDATED);
    assert_int_equal(finfo(t, x).count, 1);
    assert_int_equal(finfo(t, x).type_count, 0);
    assert_int_equal(finfo(t, as.data[0]).count, 1);
    assert_int_equal(finfo(t, as.data[1]).type_count, 0);
    check_invariants(t);
}

REGRESS_MAIN("xsa_242", RTEST(xsa_242_last_ref_mid_batch))
