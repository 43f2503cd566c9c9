/* XSA-298: the call-gate emulation of 32-bit guests skipped the LDT limit check. With no
 * LDT at all, user space wrote a gate-like descriptor into a page at a low address, mapped
 * it read-only so that it could become a descriptor page, and made a far call through an
 * LDT selector: the hypervisor gave the page the descriptor type and emulated the gate.
 * Here the lazy LDT mapping never looks past the limit, so no page outside the LDT ever
 * takes the descriptor type, for either kind of guest. */
#include "regress.h"

#include <pvcore/desc.h>

#define VA 0x400000ull

/* A call gate to GDT selector 0x08 with DPL 3: what the attack planted. */
static uint64_t planted_gate(void)
{
    return (uint64_t)0x0000EC00u << 32 | 0x00081000u;
}

static void attack(struct pvtest *t, int d)
{
    struct pvcore_vcpu *v = vcpu(t, d, 0);
    struct pvcore_frame_info *before;
    pvcore_mfn_t mfn = { 0xDEAD };
    uint64_t root, l1, page[2];
    unsigned i;

    if (d == 2) {
        struct as32 as;
        build_as32(t, d, &as, 2);
        root = as.l3;
        l1 = as.l1;
        page[0] = as.data[0];
        page[1] = as.data[1];
    } else {
        struct as64 as;
        build_as64(t, d, &as, 2);
        root = as.l4;
        l1 = as.l1;
        page[0] = as.data[0];
        page[1] = as.data[1];
    }
    for (i = 0; i < 2; i++) {
        frame_ptr(t, page[i])[0] = planted_gate();
    }
    assert_int_equal(ext(t, d, PVCORE_MMUEXT_NEW_BASEPTR, root, 0, PVCORE_DOMID_SELF), 0);
    for (i = 0; i < 2; i++) {
        assert_int_equal(set_entry(t, d, l1, i, pte(page[i], PT_P | PT_US)), 0);
    }
    check_invariants(t);

    /* No LDT (base 0, no entries): nothing is mapped, whatever the offset. */
    before = snapshot(t);
    assert_int_equal(pvcore_desc_ldt_fault(v, 0, &mfn), -PVCORE_EINVAL);
    assert_int_equal(pvcore_desc_ldt_fault(v, 7, &mfn), -PVCORE_EINVAL);
    assert_int_equal(mfn.v, 0xDEAD);
    assert_same_state(t, before);
    assert_int_equal(frame_ptr(t, page[0])[0], planted_gate());
    free(before);

    /* An LDT of one page at VA: the page after it is beyond the limit. */
    assert_int_equal(ext(t, d, PVCORE_MMUEXT_SET_LDT, VA, 512, PVCORE_DOMID_SELF), 0);
    before = snapshot(t);
    assert_int_equal(pvcore_desc_ldt_fault(v, 4096, &mfn), -PVCORE_EINVAL);
    assert_int_equal(pvcore_desc_ldt_fault(v, 512 * 8, &mfn), -PVCORE_EINVAL);
    assert_same_state(t, before);
    assert_int_equal(finfo(t, page[1]).type, PVCORE_PGT_NONE);
    assert_int_equal(frame_ptr(t, page[1])[0], planted_gate());
    free(before);
    /* Within the limit the page is the guest's LDT, and its gate is made harmless. */
    assert_int_equal(pvcore_desc_ldt_fault(v, 511 * 8, &mfn), 0);
    assert_int_equal(mfn.v, page[0]);
    assert_int_equal(finfo(t, page[0]).type, PVCORE_PGT_SEG_DESC);
    assert_int_equal((frame_ptr(t, page[0])[0] >> 45) & 3u, 0);
    assert_int_equal(finfo(t, page[1]).type, PVCORE_PGT_NONE);
    check_invariants(t);
}

static void xsa_298_ldt_limit_pae(void **state)
{
    attack(*state, 2);
}

static void xsa_298_ldt_limit_64(void **state)
{
    attack(*state, 1);
}

REGRESS_MAIN("xsa_298", RTEST(xsa_298_ldt_limit_pae), RTEST(xsa_298_ldt_limit_64))
