/* XSA-279: update_va_mapping with a non-canonical address flushed on its error path, and
 * INVLPG of a non-canonical address faulted in the hypervisor. */
#include "regress.h"

static void xsa_279_noncanonical(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    struct pvcore_host_stats st;
    static const uint64_t bad[] = { 0x0000800000000000ull, 0x7FFF000000000000ull,
                                    0xFFFF7FFFFFFFF000ull, 0xFFFF800000000000ull,
                                    0xFFFF87FFFFFFF000ull };
    unsigned i;

    build_as64(t, 1, &as, 1);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_BASEPTR, as.l4, 0, PVCORE_DOMID_SELF), 0);
    pvcore_host_backend_reset_stats(t->hb);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t f;
        for (f = 1; f <= 2; f++) {
            assert_int_equal(pvcore_update_va_mapping(vcpu(t, 1, 0), bad[i], 0, f | PVCORE_UVMF_ALL,
                                                      PVCORE_DOMID_SELF), -PVCORE_EINVAL);
        }
        assert_int_equal(ext(t, 1, PVCORE_MMUEXT_INVLPG_LOCAL, bad[i], 0, PVCORE_DOMID_SELF), 0);
        assert_int_equal(ext(t, 1, PVCORE_MMUEXT_INVLPG_ALL, bad[i], 0, PVCORE_DOMID_SELF), 0);
        assert_int_equal(ext(t, 1, PVCORE_MMUEXT_INVLPG_MULTI, bad[i], 0x400000, PVCORE_DOMID_SELF), 0);
    }
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_calls, 0);
    check_invariants(t);
}

REGRESS_MAIN("xsa_279", RTEST(xsa_279_noncanonical))
