/* XSA-182: a read-only recursive L4 entry is legal; resubmitting it with RW went through
 * the fast path and gave the guest a writable view of its own L4. */
#include "regress.h"

static void xsa_182_rw_on_linear(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    struct pvcore_frame_info *before;
    unsigned lvl;

    build_as64(t, 1, &as, 1);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_BASEPTR, as.l4, 0, PVCORE_DOMID_SELF), 0);
    /* XTF's recipe: val = cr3 | A|D|U|P in a free L4 slot. */
    assert_int_equal(set_entry(t, 1, as.l4, 300, pte(as.l4, PT_A | PT_D | PT_US | PT_P)), 0);
    before = snapshot(t);
    assert_int_equal(set_entry(t, 1, as.l4, 300, pte(as.l4, PT_A | PT_D | PT_US | PT_P | PT_RW)),
                     -PVCORE_EINVAL);
    assert_int_equal(frame_ptr(t, as.l4)[300] & PT_RW, 0);
    assert_same_state(t, before);
    free(before);
    /* The same at L2 and L3 (linear entries to other tables of the same level). */
    for (lvl = 2; lvl <= 3; lvl++) {
        uint64_t table = lvl == 2 ? as.l2 : as.l3;
        assert_int_equal(set_entry(t, 1, table, 100, pte(table, PT_P | PT_US)), 0);
        assert_int_equal(set_entry(t, 1, table, 100, pte(table, PT_P | PT_US | PT_RW)), -PVCORE_EINVAL);
        assert_int_equal(frame_ptr(t, table)[100] & PT_RW, 0);
    }
    check_invariants(t);
}

REGRESS_MAIN("xsa_182", RTEST(xsa_182_rw_on_linear))
