/* XSA-286: after an L2+ entry changed, later VA-based updates in the same batch edited
 * the old hierarchy through stale translations. Every VA-based update walks the current
 * tables, and an upper change is flushed. */
#include "regress.h"

static void xsa_286_new_hierarchy(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    uint64_t l1b = alloc_frame(t, 1), target = alloc_frame(t, 1);
    struct pvcore_host_stats st;
    struct pvcore_vcpu *v = vcpu(t, 1, 0);

    build_as64(t, 1, &as, 1);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_BASEPTR, as.l4, 0, PVCORE_DOMID_SELF), 0);
    /* 1: a VA-based update through hierarchy 1. */
    assert_int_equal(pvcore_update_va_mapping(v, 0x403000, pte(target, PT_P), 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(pte_mfn_test(frame_ptr(t, as.l1)[3]), target);
    /* 2: swap the L2 entry to hierarchy 2: one flush. */
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(set_entry(t, 1, as.l2, 2, pte(l1b, PT_P | PT_RW | PT_US)), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_domain, 1);
    /* 3: the next VA-based update edits hierarchy 2, not the old L1. */
    assert_int_equal(pvcore_update_va_mapping(v, 0x404000, pte(target, PT_P), 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(pte_mfn_test(frame_ptr(t, l1b)[4]), target);
    assert_int_equal(frame_ptr(t, as.l1)[4], 0);
    check_invariants(t);
}

REGRESS_MAIN("xsa_286", RTEST(xsa_286_new_hierarchy))
