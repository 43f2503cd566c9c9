/* XSA-401: a frame that was writable could become a page table while a vCPU still held a
 * writable TLB entry for it. The type change is followed by a flush, before validation,
 * and of every domain when a foreign domain had it writable. */
#include "regress.h"

static void xsa_401_flush_on_promotion(void **state)
{
    struct pvtest *t = *state;
    struct as64 as, d0;
    uint64_t x = alloc_frame(t, 1);
    struct pvcore_host_stats st;

    build_as64(t, 1, &as, 0);
    assert_int_equal(pin(t, 1, 4, as.l4), 0);
    /* Own writable mapping, removed; then the frame becomes an L1. */
    assert_int_equal(set_entry(t, 1, as.l1, 0, pte(x, PT_P | PT_RW)), 0);
    assert_int_equal(pin(t, 1, 1, x), -PVCORE_EINVAL); /* still mapped writable */
    assert_int_equal(set_entry(t, 1, as.l1, 0, 0), 0);
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(pin(t, 1, 1, x), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_domain, 1);
    assert_int_equal(st.flush_every_domain, 0);
    /* Pinning again after unpin needs no flush: no writable mapping since. */
    assert_int_equal(unpin(t, 1, x), 0);
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(pin(t, 1, 1, x), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_calls, 0);
    assert_int_equal(unpin(t, 1, x), 0);

    /* A foreign (privileged) writable mapping: every domain is flushed. */
    build_as64(t, 0, &d0, 0);
    assert_int_equal(pin(t, 0, 4, d0.l4), 0);
    assert_int_equal(mmu1(t, 0, d0.l1 << 12, pte(x, PT_P | PT_RW), 1), 0);
    assert_int_equal(mmu1(t, 0, d0.l1 << 12, 0, PVCORE_DOMID_SELF), 0);
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(pin(t, 1, 1, x), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_every_domain, 1);
    check_invariants(t);
}

/* One flush covers every frame whose writable mapping went before it. */
static void xsa_401_one_flush_per_tree(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    uint64_t l2 = alloc_frame(t, 1), l1[4], l1b;
    struct pvcore_host_stats st;
    unsigned i;

    build_as64(t, 1, &as, 0);
    assert_int_equal(pin(t, 1, 4, as.l4), 0);
    for (i = 0; i < 4; i++) {
        l1[i] = alloc_frame(t, 1);
        assert_int_equal(set_entry(t, 1, as.l1, i, pte(l1[i], PT_P | PT_RW)), 0);
        frame_ptr(t, l2)[i] = pte(l1[i], PT_P | PT_RW);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(set_entry(t, 1, as.l1, i, 0), 0);
    }
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(pin(t, 1, 2, l2), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_calls, 1);
    /* A guest flush of all vCPUs after the unmap makes the promotion flush-free... */
    l1b = alloc_frame(t, 1);
    assert_int_equal(set_entry(t, 1, as.l1, 9, pte(l1b, PT_P | PT_RW)), 0);
    assert_int_equal(set_entry(t, 1, as.l1, 9, 0), 0);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_TLB_FLUSH_ALL, 0, 0, PVCORE_DOMID_SELF), 0);
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(pin(t, 1, 1, l1b), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_calls, 0);
    /* ... but a local flush does not cover the other vCPUs. */
    assert_int_equal(unpin(t, 1, l1b), 0);
    assert_int_equal(set_entry(t, 1, as.l1, 9, pte(l1b, PT_P | PT_RW)), 0);
    assert_int_equal(set_entry(t, 1, as.l1, 9, 0), 0);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_TLB_FLUSH_LOCAL, 0, 0, PVCORE_DOMID_SELF), 0);
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(pin(t, 1, 1, l1b), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_domain, 1);
    check_invariants(t);
}

REGRESS_MAIN("xsa_401", RTEST(xsa_401_flush_on_promotion), RTEST(xsa_401_one_flush_per_tree))
