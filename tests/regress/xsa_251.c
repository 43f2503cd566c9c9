/* XSA-251: a guest wrote a special value into the M2P with MMU_MACHPHYS_UPDATE and the
 * hypervisor crashed on it later. Any value is stored and none is trusted. */
#include "regress.h"

static void xsa_251_arbitrary_m2p(void **state)
{
    struct pvtest *t = *state;
    uint64_t p2m[32];
    static const uint64_t vals[] = { 0, 31, 32, UINT64_MAX, UINT64_MAX - 1, 0x8000000000000000ull };
    uint64_t a;
    unsigned i;

    assert_int_equal(pvcore_domain_set_p2m(t->dom[1], p2m, 32), 0);
    a = alloc_frame(t, 1);
    for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        assert_int_equal(mmu1(t, 1, (a << 12) | PVCORE_MMU_MACHPHYS_UPDATE, vals[i], PVCORE_DOMID_SELF), 0);
        check_invariants(t);
    }
    assert_int_equal(pvcore_domain_release(t->dom[1], pvcore_mfn(a)), 0);
    check_invariants(t);
}

REGRESS_MAIN("xsa_251", RTEST(xsa_251_arbitrary_m2p))
