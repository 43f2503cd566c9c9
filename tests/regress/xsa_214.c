/* XSA-214: a descriptor page kept its validated state with no holder left, and reached a
 * guest of the other word size through a page transfer, which then used it as a GDT
 * without the check that guest's rules need. Here a frame has no type once its last
 * holder lets go, so it is checked again, under its new owner's rules, before any use:
 * after a release and a new assignment, and (the advisory's own path) after
 * GNTTABOP_transfer from a 64-bit guest to a 32-bit one. */
#include "regress.h"

#include "memenv.h"

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

/* The advisory's path: the 64-bit guest's GDT page, transferred to the 32-bit guest. While
 * it is the GDT the transfer is refused (bad_page, the giver keeps it, still its GDT);
 * once the GDT lets go it moves with no type, and the receiver cannot load the 64-bit
 * code segment in it as its own GDT. */
static void xsa_214_via_transfer(void **state)
{
    struct gfix f;
    pvcore_mfn_t p;
    uint64_t fr;
    (void)state;

    gfix_init(&f);
    fr = alloc_frame(f.t, MAPPER);
    frame_ptr(f.t, fr)[1] = CODE64;
    p = pvcore_mfn(fr);
    assert_int_equal(pvcore_desc_set_gdt(vcpu(f.t, MAPPER, 0), &p, 16), 0);
    grant(&f, 9, ACCEPT, MAPPER, 60);
    assert_int_equal(transfer_as(&f, MAPPER, fr, GRANTER, 9), PVCORE_GNTST_bad_page);
    assert_int_equal(finfo(f.t, fr).owner, MAPPER);
    assert_int_equal(finfo(f.t, fr).type, PVCORE_PGT_SEG_DESC);
    assert_int_equal(gflags(&f, 9), ACCEPT); /* the entry still accepts */
    assert_int_equal(pvcore_desc_set_gdt(vcpu(f.t, MAPPER, 0), NULL, 0), 0);
    assert_int_equal(transfer_as(&f, MAPPER, fr, GRANTER, 9), PVCORE_GNTST_okay);
    assert_int_equal(gframe_at(&f, f.gnt_frame, 9), fr);
    assert_int_equal(finfo(f.t, fr).owner, GRANTER);
    assert_int_equal(finfo(f.t, fr).type, PVCORE_PGT_NONE);
    assert_int_equal(finfo(f.t, fr).flags & PVCORE_FRAME_VALIDATED, 0);
    assert_int_equal(frame_ptr(f.t, fr)[1], CODE64); /* the contents came along */
    assert_int_equal(pvcore_desc_set_gdt(vcpu(f.t, GRANTER, 0), &p, 16), -PVCORE_EINVAL);
    assert_int_equal(finfo(f.t, fr).type, PVCORE_PGT_NONE);
    check_invariants(f.t);
    gfix_free(&f);
}

REGRESS_MAIN("xsa_214", RTEST(xsa_214_no_stale_validation), cmocka_unit_test(xsa_214_via_transfer))
