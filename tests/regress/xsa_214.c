/* XSA-214: a descriptor page kept its validated state with no holder left, and reached a
 * guest of the other word size through a page transfer, which then used it as a GDT
 * without the check that guest's rules need. Here a frame has no type once its last
 * holder lets go, so it is checked again, under its new owner's rules, before any use. */
#include "regress.h"

#include <pvcore/desc.h>

/* A 64-bit code segment, DPL 3: fine for a 64-bit guest, refused for a 32-bit one. */
#define CODE64 0x00AFFA000000FFFFull

static void xsa_214_no_stale_validation(void **state)
{
    struct pvtest *t = *state;
    struct pvcore_frame_info *before;
    pvcore_mfn_t f;
    uint64_t mfn = alloc_frame(t, 1);

    frame_ptr(t, mfn)[1] = CODE64;
    f = pvcore_mfn(mfn);
    assert_int_equal(pvcore_desc_set_gdt(vcpu(t, 1, 0), &f, 16), 0);
    assert_int_equal(finfo(t, mfn).type, PVCORE_PGT_SEG_DESC);
    /* Given back while still the GDT: it stays allocated until the GDT lets go. */
    assert_int_equal(pvcore_domain_release(t->dom[1], f), 0);
    assert_int_equal(finfo(t, mfn).owner, 1);
    assert_int_equal(pvcore_desc_set_gdt(vcpu(t, 1, 0), NULL, 0), 0);
    assert_int_equal(finfo(t, mfn).owner, PVCORE_DOMID_INVALID);
    assert_int_equal(finfo(t, mfn).type, PVCORE_PGT_NONE);
    assert_int_equal(finfo(t, mfn).flags & PVCORE_FRAME_VALIDATED, 0);
    check_invariants(t);

    /* The same frame, contents untouched, now a 32-bit guest's: checked afresh. */
    assert_int_equal(pvcore_domain_assign(t->dom[2], f, pvcore_gfn(mfn)), 0);
    before = snapshot(t);
    assert_int_equal(pvcore_desc_set_gdt(vcpu(t, 2, 0), &f, 16), -PVCORE_EINVAL);
    assert_same_state(t, before);
    assert_int_equal(frame_ptr(t, mfn)[1], CODE64);
    free(before);
    check_invariants(t);
}

REGRESS_MAIN("xsa_214", RTEST(xsa_214_no_stale_validation))
