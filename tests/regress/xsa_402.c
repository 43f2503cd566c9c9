/* XSA-402: a guest mapped its own RAM write-combining and writable, so the hypervisor
 * validated stale cached contents while memory held unsafe entries. A cache flush
 * precedes validation of a frame that had such a mapping. */
#include "regress.h"

static void xsa_402_cache_flush_before_validation(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    uint64_t x = alloc_frame(t, 1);
    struct pvcore_host_stats st;

    /* Only a domain with I/O memory may choose cache attributes at all. */
    assert_int_equal(pvcore_domain_iomem_permit(t->dom[1], pvcore_mfn(TEST_FRAMES), pvcore_mfn(TEST_FRAMES + 1), 1), 0);
    build_as64(t, 1, &as, 0);
    assert_int_equal(pin(t, 1, 4, as.l4), 0);
    assert_int_equal(set_entry(t, 1, as.l1, 0, pte(x, PT_P | PT_RW | PT_PSE /* PAT: WC */)), 0);
    assert_int_equal(set_entry(t, 1, as.l1, 0, 0), 0);
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(pin(t, 1, 1, x), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.cache_flushes, 1);
    assert_int_equal(unpin(t, 1, x), 0);
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(pin(t, 1, 1, x), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.cache_flushes, 0);
    check_invariants(t);
}

REGRESS_MAIN("xsa_402", RTEST(xsa_402_cache_flush_before_validation))
