/* XSA-58: a pin failing part-way (after preemption) dropped a reference twice. A failed
 * pin must leave every count and type exactly as before. */
#include "regress.h"

static void pin_fails_at(struct pvtest *t, uint32_t budget_unused)
{
    uint64_t l2 = alloc_frame(t, 1), victim = alloc_frame(t, 1);
    struct pvcore_frame_info *before;
    unsigned i;
    int rc;
    (void)budget_unused;

    assert_int_equal(pin(t, 1, 1, victim), 0); /* a live page table */
    for (i = 0; i < 6; i++) {
        uint64_t l1 = alloc_frame(t, 1);
        frame_ptr(t, l1)[0] = pte(alloc_frame(t, 1), PT_P | PT_RW);
        frame_ptr(t, l2)[i] = pte(l1, PT_P | PT_RW);
    }
    {
        uint64_t bad = alloc_frame(t, 1);
        frame_ptr(t, bad)[9] = pte(victim, PT_P | PT_RW); /* writable page table: refused */
        frame_ptr(t, l2)[6] = pte(bad, PT_P | PT_RW);
    }
    before = snapshot(t);
    while ((rc = pin(t, 1, 2, l2)) == -PVCORE_ERESTART) {
        check_invariants(t);
    }
    assert_int_equal(rc, -PVCORE_EBUSY);
    /* The failed attempt's teardown may need further calls: let them run. */
    settle(t, 1);
    assert_same_state(t, before);
    check_invariants(t);
    free(before);
}

static void xsa_58_unpreempted(void **state)
{
    pin_fails_at(*state, 0);
}

static void xsa_58_preempted(void **state)
{
    struct pvtest *t = pvtest_new_budget(2, 0);
    (void)state;
    pin_fails_at(t, 2);
    pvtest_free(t);
}

REGRESS_MAIN("xsa_058", RTEST(xsa_58_unpreempted), cmocka_unit_test(xsa_58_preempted))
