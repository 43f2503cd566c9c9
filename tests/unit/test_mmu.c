/*
 * The page-table validator, rule by rule: each test asserts the exact result code and the
 * exact frame state afterwards, and runs the invariant checker after every operation.
 */
#include "pvtest.h"

static int setup(void **state)
{
    *state = pvtest_new();
    return 0;
}

static int teardown(void **state)
{
    pvtest_free(*state);
    return 0;
}

/* ---- pinning and validation ----------------------------------------------------------------- */

static void test_pin_l1_takes_refs(void **state)
{
    struct pvtest *t = *state;
    uint64_t l1 = alloc_frame(t, 1), a = alloc_frame(t, 1), b = alloc_frame(t, 1);
    struct pvcore_frame_info fi;

    frame_ptr(t, l1)[0] = pte(a, PT_P | PT_RW);
    frame_ptr(t, l1)[1] = pte(b, PT_P);
    frame_ptr(t, l1)[2] = pte(b, 0); /* not present: no reference, any address */
    frame_ptr(t, l1)[3] = 0xFFFFFFFFFFFFF000ull;
    assert_int_equal(pin(t, 1, 1, l1), 0);
    fi = finfo(t, l1);
    assert_int_equal(fi.type, PVCORE_PGT_L1);
    assert_int_equal(fi.type_count, 1);
    assert_int_equal(fi.count, 2); /* allocation + pin */
    assert_true(fi.flags & PVCORE_FRAME_PINNED);
    assert_true(fi.flags & PVCORE_FRAME_VALIDATED);
    fi = finfo(t, a);
    assert_int_equal(fi.type, PVCORE_PGT_WRITABLE);
    assert_int_equal(fi.type_count, 1);
    assert_int_equal(fi.count, 2);
    fi = finfo(t, b);
    assert_int_equal(fi.type_count, 0);
    assert_int_equal(fi.count, 2);
    /* 64-bit guests' kernel mappings get U and the guest-kernel mark. */
    assert_int_equal(frame_ptr(t, l1)[0], pte(a, PT_P | PT_RW | PT_US | PT_GUEST_KERNEL));
    check_invariants(t);

    assert_int_equal(pin(t, 1, 1, l1), -PVCORE_EINVAL); /* already pinned */
    assert_int_equal(finfo(t, l1).type_count, 1);
    check_invariants(t);

    assert_int_equal(unpin(t, 1, l1), 0);
    assert_int_equal(finfo(t, l1).type_count, 0);
    assert_int_equal(finfo(t, l1).count, 1);
    assert_int_equal(finfo(t, a).type_count, 0);
    assert_int_equal(finfo(t, a).count, 1);
    assert_int_equal(finfo(t, b).count, 1);
    assert_int_equal(unpin(t, 1, l1), -PVCORE_EINVAL);
    check_invariants(t);
}

static void test_pin_rejects_writable_page_table(void **state)
{
    struct pvtest *t = *state;
    uint64_t l1a = alloc_frame(t, 1), l1b = alloc_frame(t, 1);
    struct pvcore_frame_info *before;

    assert_int_equal(pin(t, 1, 1, l1a), 0);
    frame_ptr(t, l1b)[5] = pte(l1a, PT_P | PT_RW);
    before = snapshot(t);
    /* Mapping a live page table writable is refused; nothing changes. */
    assert_int_equal(pin(t, 1, 1, l1b), -PVCORE_EBUSY);
    assert_same_state(t, before);
    free(before);
    check_invariants(t);
    /* Read-only is fine. */
    frame_ptr(t, l1b)[5] = pte(l1a, PT_P);
    assert_int_equal(pin(t, 1, 1, l1b), 0);
    check_invariants(t);
}

static void test_pin_rejects_foreign_and_free_frames(void **state)
{
    struct pvtest *t = *state;
    uint64_t l1 = alloc_frame(t, 1), other = alloc_frame(t, 2);

    frame_ptr(t, l1)[0] = pte(other, PT_P);
    assert_int_equal(pin(t, 1, 1, l1), -PVCORE_EBUSY);
    frame_ptr(t, l1)[0] = pte(3, PT_P); /* RAM, but free */
    assert_int_equal(pin(t, 1, 1, l1), -PVCORE_EBUSY);
    frame_ptr(t, l1)[0] = pte(TEST_FRAMES + 5, PT_P); /* not RAM: I/O without permission */
    assert_int_equal(pin(t, 1, 1, l1), -PVCORE_EPERM);
    assert_int_equal(finfo(t, l1).type_count, 0);
    assert_int_equal(pin(t, 1, 1, other), -PVCORE_EINVAL); /* not ours */
    assert_int_equal(pin(t, 1, 1, TEST_FRAMES + 100), -PVCORE_EINVAL);
    assert_int_equal(pin(t, 1, 1, UINT64_MAX), -PVCORE_EINVAL);
    check_invariants(t);
}

static void test_disallowed_flags(void **state)
{
    struct pvtest *t = *state;
    uint64_t l1 = alloc_frame(t, 1), a = alloc_frame(t, 1);
    struct as64 as;

    frame_ptr(t, l1)[0] = pte(a, PT_P | PT_PCD);
    assert_int_equal(pin(t, 1, 1, l1), -PVCORE_EINVAL); /* cache bits need I/O privilege */
    frame_ptr(t, l1)[0] = pte(a, PT_P | PT_G | PT_NX | 0xE00);
    assert_int_equal(pin(t, 1, 1, l1), 0); /* G, NX and available bits are allowed in L1 */
    check_invariants(t);

    build_as64(t, 1, &as, 1);
    frame_ptr(t, as.l2)[2] |= PT_PSE; /* no PV superpages */
    assert_int_equal(pin(t, 1, 2, as.l2), -PVCORE_EINVAL);
    frame_ptr(t, as.l2)[2] &= ~PT_PSE;
    frame_ptr(t, as.l2)[2] |= PT_G;
    assert_int_equal(pin(t, 1, 2, as.l2), -PVCORE_EINVAL);
    frame_ptr(t, as.l2)[2] &= ~PT_G;
    assert_int_equal(pin(t, 1, 2, as.l2), 0);
    assert_int_equal(finfo(t, as.l1).type, PVCORE_PGT_L1);
    assert_int_equal(finfo(t, as.l1).type_count, 1);
    /* The hypervisor adds U to 64-bit guests' L2 entries. */
    assert_int_equal(frame_ptr(t, as.l2)[2] & PT_US, PT_US);
    check_invariants(t);
}

static void test_pin_l4_tree_and_devalidate(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    struct pvcore_host_stats st;

    build_as64(t, 1, &as, 3);
    frame_ptr(t, as.l4)[300] = pte(as.l3, PT_P); /* a guest slot above the hypervisor's */
    frame_ptr(t, as.l4)[260] = pte(as.l3, PT_P | PT_RW); /* hypervisor slot: ignored, cleared */
    assert_int_equal(pin(t, 1, 4, as.l4), 0);
    assert_int_equal(finfo(t, as.l4).type, PVCORE_PGT_L4);
    assert_int_equal(finfo(t, as.l3).type_count, 2);
    assert_int_equal(finfo(t, as.l2).type_count, 1);
    assert_int_equal(finfo(t, as.l1).type_count, 1);
    assert_int_equal(finfo(t, as.data[2]).type, PVCORE_PGT_WRITABLE);
    assert_int_equal(frame_ptr(t, as.l4)[260], 0);
    check_invariants(t);

    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(unpin(t, 1, as.l4), 0);
    /* The whole tree is devalidated and every reference released. */
    assert_int_equal(finfo(t, as.l4).type_count, 0);
    assert_int_equal(finfo(t, as.l3).type_count, 0);
    assert_int_equal(finfo(t, as.l1).type_count, 0);
    assert_int_equal(finfo(t, as.data[0]).type_count, 0);
    assert_int_equal(finfo(t, as.data[0]).count, 1);
    assert_false(finfo(t, as.l1).flags & PVCORE_FRAME_VALIDATED);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_calls, 0);
    check_invariants(t);
}

/* ---- mmu_update ------------------------------------------------------------------------------ */

static void test_mmu_update_l1(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    uint64_t fresh = alloc_frame(t, 1);
    struct pvcore_host_stats st;

    build_as64(t, 1, &as, 2);
    assert_int_equal(pin(t, 1, 4, as.l4), 0);
    pvcore_host_backend_reset_stats(t->hb);

    /* Remap slot 0 from data[0] to fresh: references move. */
    assert_int_equal(set_entry(t, 1, as.l1, 0, pte(fresh, PT_P | PT_RW | PT_US)), 0);
    assert_int_equal(finfo(t, fresh).type_count, 1);
    assert_int_equal(finfo(t, fresh).count, 2);
    assert_int_equal(finfo(t, as.data[0]).type_count, 0);
    assert_int_equal(finfo(t, as.data[0]).count, 1);
    check_invariants(t);

    /* A live page table cannot be mapped writable, only read-only. */
    assert_int_equal(set_entry(t, 1, as.l1, 5, pte(as.l2, PT_P | PT_RW)), -PVCORE_EBUSY);
    assert_int_equal(frame_ptr(t, as.l1)[5], 0);
    assert_int_equal(set_entry(t, 1, as.l1, 5, pte(as.l2, PT_P)), 0);
    assert_int_equal(finfo(t, as.l2).count, 3);
    /* ... and the fast path must not let RW in later (RW is never a fast-path change). */
    assert_int_equal(set_entry(t, 1, as.l1, 5, pte(as.l2, PT_P | PT_RW)), -PVCORE_EBUSY);
    check_invariants(t);

    /* Foreign frames: not without privilege. */
    assert_int_equal(set_entry(t, 1, as.l1, 6, pte(t->next_mfn - 1, PT_P)), 0); /* own */
    {
        uint64_t theirs = alloc_frame(t, 2);
        assert_int_equal(set_entry(t, 1, as.l1, 7, pte(theirs, PT_P)), -PVCORE_EBUSY);
        assert_int_equal(mmu1(t, 1, (as.l1 << 12) | (7u << 3), pte(theirs, PT_P), 2), -PVCORE_EPERM);
    }
    /* Clearing releases. */
    assert_int_equal(set_entry(t, 1, as.l1, 5, 0), 0);
    assert_int_equal(finfo(t, as.l2).count, 2);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_calls, 0); /* L1 changes are the guest's to flush */
    check_invariants(t);
}

static void test_mmu_update_commands_and_errors(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    uint64_t plain = alloc_frame(t, 1);

    build_as64(t, 1, &as, 1);
    assert_int_equal(pin(t, 1, 4, as.l4), 0);
    /* Unknown sub-commands. */
    assert_int_equal(mmu1(t, 1, (as.l1 << 12) | 4, 0, PVCORE_DOMID_SELF), -PVCORE_ENOSYS);
    assert_int_equal(mmu1(t, 1, (as.l1 << 12) | 7, 0, PVCORE_DOMID_SELF), -PVCORE_ENOSYS);
    /* Naming oneself as the foreign domain is refused; unknown domains too. */
    assert_int_equal(mmu1(t, 1, as.l1 << 12, 0, 1), -PVCORE_ESRCH);
    assert_int_equal(mmu1(t, 1, as.l1 << 12, 0, 5), -PVCORE_ESRCH);
    /* A page-table owner (foreigndom bits 31:16, domid + 1) that names no domain, or a
     * reserved id, is -ESRCH too, as in Xen, for any caller; nothing changes. */
    {
        const uint32_t pfds[] = { 6u, 8u, 0x7FF0u + 1u, PVCORE_DOMID_IO + 1u, PVCORE_DOMID_XEN + 1u,
                                  PVCORE_DOMID_SELF + 1u, 0xFFFFu };
        struct pvcore_frame_info before = finfo(t, as.l1), after;
        unsigned k;
        int d;
        for (d = 0; d <= 1; d++) {
            for (k = 0; k < sizeof(pfds) / sizeof(pfds[0]); k++) {
                assert_int_equal(mmu1(t, d, as.l1 << 12, 0, (pfds[k] << 16) | PVCORE_DOMID_SELF),
                                 -PVCORE_ESRCH);
            }
        }
        after = finfo(t, as.l1);
        assert_memory_equal(&before, &after, sizeof(before));
        assert_int_not_equal(frame_ptr(t, as.l1)[0], 0);
    }
    /* Ordinary memory of one's own: a plain write. */
    assert_int_equal(mmu1(t, 1, (plain << 12) | 8, 0x1234, PVCORE_DOMID_SELF), 0);
    assert_int_equal(frame_ptr(t, plain)[1], 0x1234);
    assert_int_equal(finfo(t, plain).type_count, 0);
    /* Someone else's memory, or a frame that is not RAM. */
    assert_int_equal(mmu1(t, 1, (alloc_frame(t, 2) << 12), 1, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(mmu1(t, 1, ((uint64_t)TEST_FRAMES << 12), 1, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(mmu1(t, 1, UINT64_MAX & ~7ull, 1, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    /* Hypervisor L4 slots. */
    assert_int_equal(set_entry(t, 1, as.l4, 256, 0), -PVCORE_EINVAL);
    assert_int_equal(set_entry(t, 1, as.l4, 271, pte(as.l3, PT_P)), -PVCORE_EINVAL);
    assert_int_equal(set_entry(t, 1, as.l4, 272, pte(as.l3, PT_P)), 0);
    check_invariants(t);
}

static void test_mmu_update_batch(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    pvcore_mmu_update_t u[8];
    uint64_t f[8];
    uint32_t done = 0;
    unsigned i;
    struct pvcore_host_stats st;

    build_as64(t, 1, &as, 0);
    assert_int_equal(pin(t, 1, 4, as.l4), 0);
    for (i = 0; i < 8; i++) {
        f[i] = alloc_frame(t, 1);
        u[i].ptr = (as.l1 << 12) | (i << 3);
        u[i].val = pte(f[i], PT_P | PT_RW);
    }
    u[5].val = pte(as.l3, PT_P | PT_RW); /* fails: a page table */
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(pvcore_mmu_update(vcpu(t, 1, 0), u, 8, &done, PVCORE_DOMID_SELF), -PVCORE_EBUSY);
    /* Stops at the first failure; earlier requests stay applied; later ones untouched. */
    assert_int_equal(done, 5);
    for (i = 0; i < 5; i++) {
        assert_int_equal(finfo(t, f[i]).type_count, 1);
    }
    assert_int_equal(frame_ptr(t, as.l1)[5], 0);
    assert_int_equal(finfo(t, f[6]).type_count, 0);
    check_invariants(t);

    /* L2-L4 changes: one flush for the whole batch (XSA-286), not one per entry. */
    {
        uint64_t l1b = alloc_frame(t, 1), l1c = alloc_frame(t, 1);
        pvcore_mmu_update_t v[2] = {
            { (as.l2 << 12) | (3u << 3), pte(l1b, PT_P | PT_RW) },
            { (as.l2 << 12) | (4u << 3), pte(l1c, PT_P | PT_RW) },
        };
        done = 0;
        pvcore_host_backend_reset_stats(t->hb);
        assert_int_equal(pvcore_mmu_update(vcpu(t, 1, 0), v, 2, &done, PVCORE_DOMID_SELF), 0);
        assert_int_equal(done, 2);
        pvcore_host_backend_stats(t->hb, &st);
        assert_int_equal(st.flush_calls, 1);
        assert_int_equal(st.flush_domain, 1);
        check_invariants(t);
    }
}

static void test_preserve_ad(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;

    build_as64(t, 1, &as, 1);
    assert_int_equal(pin(t, 1, 4, as.l4), 0);
    frame_ptr(t, as.l1)[0] |= PT_A | PT_D; /* set by a page walk */
    assert_int_equal(mmu1(t, 1, (as.l1 << 12) | 2, pte(as.data[0], PT_P | PT_RW | PT_US),
                          PVCORE_DOMID_SELF), 0);
    assert_int_equal(frame_ptr(t, as.l1)[0] & (PT_A | PT_D), PT_A | PT_D);
    assert_int_equal(mmu1(t, 1, (as.l1 << 12) | 0, pte(as.data[0], PT_P | PT_RW | PT_US),
                          PVCORE_DOMID_SELF), 0);
    assert_int_equal(frame_ptr(t, as.l1)[0] & (PT_A | PT_D), 0);
    check_invariants(t);
}

static void test_machphys(void **state)
{
    struct pvtest *t = *state;
    uint64_t p2m[64];
    uint64_t a, b;

    assert_int_equal(pvcore_domain_set_p2m(t->dom[1], p2m, 64), 0);
    a = alloc_frame(t, 1);
    b = alloc_frame(t, 1);
    (void)b;
    assert_int_equal(mmu1(t, 1, (a << 12) | PVCORE_MMU_MACHPHYS_UPDATE, 7, PVCORE_DOMID_SELF), 0);
    assert_int_equal(p2m[7], a);
    check_invariants(t);
    /* Arbitrary values are stored (XSA-251) and never trusted. */
    assert_int_equal(mmu1(t, 1, (a << 12) | PVCORE_MMU_MACHPHYS_UPDATE, UINT64_MAX - 1,
                          PVCORE_DOMID_SELF), 0);
    assert_int_equal(p2m[7], UINT64_MAX);
    /* Not one's own frame, or another page-table owner. */
    assert_int_equal(mmu1(t, 1, (alloc_frame(t, 2) << 12) | 1, 3, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(mmu1(t, 1, (a << 12) | 1, 3, PVCORE_DOMID_IO), -PVCORE_EINVAL);
    assert_int_equal(mmu1(t, 0, (a << 12) | 1, 3, (2u << 16) | PVCORE_DOMID_SELF), -PVCORE_EPERM);
    check_invariants(t);
}

static void test_foreign_mapping_by_privileged(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    uint64_t theirs = alloc_frame(t, 1);

    build_as64(t, 0, &as, 0);
    assert_int_equal(pin(t, 0, 4, as.l4), 0);
    assert_int_equal(mmu1(t, 0, (as.l1 << 12), pte(theirs, PT_P | PT_RW), 1), 0);
    assert_int_equal(finfo(t, theirs).type, PVCORE_PGT_WRITABLE);
    assert_int_equal(finfo(t, theirs).count, 2);
    check_invariants(t);
    /* The owner cannot now make that frame a page table. */
    assert_int_equal(pin(t, 1, 1, theirs), -PVCORE_EINVAL);
    /* Upper-level entries never take a foreign data owner. */
    assert_int_equal(mmu1(t, 0, (as.l2 << 12) | (9u << 3), pte(theirs, PT_P), 1), -PVCORE_EINVAL);
    /* Destroying the owner leaves the frame alive while dom0 maps it. */
    {
        int rc;
        while ((rc = pvcore_domain_destroy(t->dom[1])) == -PVCORE_ERESTART) {
        }
        assert_int_equal(rc, -PVCORE_EBUSY);
        assert_int_equal(finfo(t, theirs).count, 1);
        assert_int_equal(mmu1(t, 0, (as.l1 << 12), 0, PVCORE_DOMID_SELF), 0);
        assert_int_equal(finfo(t, theirs).count, 0);
        assert_int_equal(finfo(t, theirs).owner, PVCORE_DOMID_INVALID);
        assert_int_equal(pvcore_domain_destroy(t->dom[1]), 0);
        assert_null(pvcore_domain_lookup(t->m, 1));
    }
    check_invariants(t);
}

static void test_io_mappings(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    uint64_t io = TEST_FRAMES + 16;

    build_as64(t, 1, &as, 0);
    assert_int_equal(pin(t, 1, 4, as.l4), 0);
    assert_int_equal(set_entry(t, 1, as.l1, 0, pte(io, PT_P | PT_RW)), -PVCORE_EPERM);
    assert_int_equal(pvcore_domain_iomem_permit(t->dom[1], pvcore_mfn(io), pvcore_mfn(io + 3), 1), 0);
    /* Permitted: mapped, and a cacheable attribute is forced to UC (XSA-154). */
    assert_int_equal(set_entry(t, 1, as.l1, 0, pte(io, PT_P | PT_RW)), 0);
    assert_int_equal(frame_ptr(t, as.l1)[0] & (PT_PCD | PT_PWT), PT_PCD | PT_PWT);
    /* Write-combining (PAT index 4 = PAT bit) is kept. */
    assert_int_equal(set_entry(t, 1, as.l1, 1, pte(io + 1, PT_P | PT_RW | PT_PSE)), 0);
    assert_int_equal(frame_ptr(t, as.l1)[1] & (PT_PCD | PT_PWT | PT_PSE), PT_PSE);
    assert_int_equal(set_entry(t, 1, as.l1, 2, pte(io + 4, PT_P)), -PVCORE_EPERM);
    assert_int_equal(set_entry(t, 1, as.l1, 2, 0x000FFFFFFFFFF000ull | PT_P), -PVCORE_EINVAL);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_FLUSH_CACHE, 0, 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(ext(t, 2, PVCORE_MMUEXT_FLUSH_CACHE, 0, 0, PVCORE_DOMID_SELF), -PVCORE_EACCES);
    assert_int_equal(ext(t, 2, PVCORE_MMUEXT_FLUSH_CACHE_GLOBAL, 0, 0, PVCORE_DOMID_SELF), -PVCORE_EACCES);
    check_invariants(t);
}

/* ---- linear page tables ---------------------------------------------------------------------- */

static void test_linear_rules(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    uint64_t l2b, l2c;

    build_as64(t, 1, &as, 0);
    assert_int_equal(pin(t, 1, 4, as.l4), 0);
    /* A read-only self map of the L4 is legal and holds no reference. */
    assert_int_equal(set_entry(t, 1, as.l4, 5, pte(as.l4, PT_P)), 0);
    assert_int_equal(finfo(t, as.l4).type_count, 1);
    /* Adding RW to it must go through validation and be refused (XSA-182). */
    assert_int_equal(set_entry(t, 1, as.l4, 5, pte(as.l4, PT_P | PT_RW)), -PVCORE_EINVAL);
    assert_int_equal(frame_ptr(t, as.l4)[5] & PT_RW, 0);
    check_invariants(t);

    /* L2 -> L2 linear: allowed once, never chained (XSA-240). */
    l2b = alloc_frame(t, 1);
    l2c = alloc_frame(t, 1);
    assert_int_equal(pin(t, 1, 2, l2b), 0);
    assert_int_equal(pin(t, 1, 2, l2c), 0);
    assert_int_equal(set_entry(t, 1, as.l2, 10, pte(l2b, PT_P)), 0);
    assert_int_equal(finfo(t, as.l2).linear, 1);
    assert_int_equal(finfo(t, l2b).linear, -1);
    assert_int_equal(finfo(t, l2b).type_count, 2);
    check_invariants(t);
    assert_int_equal(set_entry(t, 1, l2b, 0, pte(l2c, PT_P)), -PVCORE_EINVAL); /* b is a target */
    assert_int_equal(set_entry(t, 1, l2c, 0, pte(as.l2, PT_P)), -PVCORE_EINVAL); /* l2 holds one */
    /* Never writable. */
    assert_int_equal(set_entry(t, 1, as.l2, 11, pte(l2c, PT_P | PT_RW)), -PVCORE_EINVAL);
    /* Cross-domain never. */
    assert_int_equal(set_entry(t, 1, as.l2, 11, pte(alloc_frame(t, 2), PT_P)), -PVCORE_EINVAL);
    check_invariants(t);
    /* Removing it restores the counts. */
    assert_int_equal(set_entry(t, 1, as.l2, 10, 0), 0);
    assert_int_equal(finfo(t, as.l2).linear, 0);
    assert_int_equal(finfo(t, l2b).linear, 0);
    assert_int_equal(finfo(t, l2b).type_count, 1);
    check_invariants(t);
}

static void test_no_linear_machine(void **state)
{
    struct pvtest *t = pvtest_new_budget(0, PVCORE_MACHINE_NO_LINEAR_PT);
    struct as64 as;
    (void)state;

    build_as64(t, 1, &as, 0);
    assert_int_equal(pin(t, 1, 4, as.l4), 0);
    assert_int_equal(set_entry(t, 1, as.l4, 5, pte(as.l4, PT_P)), -PVCORE_EINVAL);
    /* Without linear tables RW on an upper entry may change on the fast path. */
    assert_int_equal(set_entry(t, 1, as.l4, 0, pte(as.l3, PT_P | PT_US | PT_A)), 0);
    assert_int_equal(finfo(t, as.l3).type_count, 1);
    check_invariants(t);
    pvtest_free(t);
}

/* ---- base pointers and update_va_mapping ---------------------------------------------------------- */

static void test_new_baseptr(void **state)
{
    struct pvtest *t = *state;
    struct as64 a, b;
    pvcore_mfn_t kernel, user;

    build_as64(t, 1, &a, 1);
    build_as64(t, 1, &b, 1);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_BASEPTR, a.l4, 0, PVCORE_DOMID_SELF), 0);
    pvcore_vcpu_base(vcpu(t, 1, 0), &kernel, &user);
    assert_int_equal(kernel.v, a.l4);
    assert_int_equal(user.v, UINT64_MAX);
    assert_int_equal(finfo(t, a.l4).type_count, 1);
    check_invariants(t);
    /* Switch: the old tree, unpinned and unreferenced, is devalidated. */
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_BASEPTR, b.l4, 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(finfo(t, a.l4).type_count, 0);
    assert_int_equal(finfo(t, a.l1).type_count, 0);
    assert_int_equal(finfo(t, b.l1).type_count, 1);
    check_invariants(t);
    /* Foreign base pointers, non-tables. */
    assert_int_equal(ext(t, 0, PVCORE_MMUEXT_NEW_BASEPTR, b.l4, 0, 1), -PVCORE_EPERM);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_BASEPTR, b.l1, 0, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    /* User base pointer: set and clear. */
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_USER_BASEPTR, a.l4, 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(finfo(t, a.l4).type_count, 1);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_USER_BASEPTR, 0, 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(finfo(t, a.l4).type_count, 0);
    assert_int_equal(ext(t, 2, PVCORE_MMUEXT_NEW_USER_BASEPTR, 0, 0, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    check_invariants(t);
}

static void test_update_va_mapping(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    uint64_t fresh = alloc_frame(t, 1);
    struct pvcore_host_stats st;
    struct pvcore_vcpu *v = vcpu(t, 1, 0);

    build_as64(t, 1, &as, 2);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_BASEPTR, as.l4, 0, PVCORE_DOMID_SELF), 0);
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(pvcore_update_va_mapping(v, 0x401000, pte(fresh, PT_P | PT_RW), PVCORE_UVMF_INVLPG,
                                              PVCORE_DOMID_SELF), 0);
    assert_int_equal(pte(fresh, 0), frame_ptr(t, as.l1)[1] & ~0xFFFull & ~(PT_GUEST_KERNEL));
    assert_int_equal(finfo(t, as.data[1]).type_count, 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_calls, 1);
    assert_int_equal(st.flush_local, 1);
    assert_int_equal(st.flush_va, 1);
    assert_int_equal(st.last_flush_va, 0x401000);
    check_invariants(t);

    /* Failures flush nothing (XSA-279). */
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(pvcore_update_va_mapping(v, 0x0000800000000000ull, 0, PVCORE_UVMF_INVLPG | PVCORE_UVMF_ALL,
                                              PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(pvcore_update_va_mapping(v, 0xFFFF800000001000ull, 0, PVCORE_UVMF_TLB_FLUSH,
                                              PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(pvcore_update_va_mapping(v, 0x800000, 0, PVCORE_UVMF_TLB_FLUSH,
                                              PVCORE_DOMID_SELF), -PVCORE_EINVAL); /* no L1 there */
    assert_int_equal(pvcore_update_va_mapping(v, 0x402000, pte(as.l1, PT_P | PT_RW),
                                              PVCORE_UVMF_TLB_FLUSH, PVCORE_DOMID_SELF), -PVCORE_EBUSY);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_calls, 0);

    /* Flush scopes. */
    assert_int_equal(pvcore_update_va_mapping(v, 0x402000, 0, PVCORE_UVMF_TLB_FLUSH | PVCORE_UVMF_ALL,
                                              PVCORE_DOMID_SELF), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_domain, 1);
    /* UVMF_MULTI with a guest pointer to a vCPU bitmap: data[0] at 0x400000 holds it. */
    frame_ptr(t, as.data[0])[0] = 0x5;
    assert_int_equal(pvcore_update_va_mapping(v, 0x402000, 0, PVCORE_UVMF_TLB_FLUSH | 0x400000,
                                              PVCORE_DOMID_SELF), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_mask, 1);
    assert_int_equal(st.last_flush_vcpu_mask, 0x5);
    /* An unreadable bitmap: the update stands, the flush fails with EFAULT. */
    assert_int_equal(pvcore_update_va_mapping(v, 0x402000, 0, PVCORE_UVMF_TLB_FLUSH | 0x7000000,
                                              PVCORE_DOMID_SELF), -PVCORE_EFAULT);
    check_invariants(t);
}

/* ---- other mmuext commands ----------------------------------------------------------------------- */

static void test_mmuext_misc(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    uint64_t a = alloc_frame(t, 1), b = alloc_frame(t, 1);
    struct pvcore_host_stats st;
    uint64_t base;
    uint32_t ents;

    build_as64(t, 1, &as, 1);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_BASEPTR, as.l4, 0, PVCORE_DOMID_SELF), 0);
    frame_ptr(t, a)[3] = 77;
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_COPY_PAGE, b, a, PVCORE_DOMID_SELF), 0);
    assert_int_equal(frame_ptr(t, b)[3], 77);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_CLEAR_PAGE, b, 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(frame_ptr(t, b)[3], 0);
    /* Page tables cannot be cleared or overwritten (XSA-32: bad frames are refused). */
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_CLEAR_PAGE, as.l1, 0, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_COPY_PAGE, as.l1, a, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_COPY_PAGE, b, UINT64_MAX, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_CLEAR_PAGE, UINT64_MAX, 0, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(frame_ptr(t, as.l1)[0] != 0, 1);
    /* Superpages are gone (XSA-167); unknown commands. */
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_MARK_SUPER, 0xffffffffffe00000ull, 0, PVCORE_DOMID_SELF), -PVCORE_EOPNOTSUPP);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_UNMARK_SUPER, 0, 0, PVCORE_DOMID_SELF), -PVCORE_EOPNOTSUPP);
    assert_int_equal(ext(t, 1, 14, 0, 0, PVCORE_DOMID_SELF), -PVCORE_ENOSYS);
    assert_int_equal(ext(t, 1, 21, 0, 0, PVCORE_DOMID_SELF), -PVCORE_ENOSYS);
    assert_int_equal(ext(t, 1, UINT32_MAX, 0, 0, PVCORE_DOMID_SELF), -PVCORE_ENOSYS);
    /* Flushes. */
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_TLB_FLUSH_LOCAL, 0, 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_INVLPG_LOCAL, 0x400000, 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_TLB_FLUSH_ALL, 0, 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_INVLPG_ALL, 0x400000, 0, PVCORE_DOMID_SELF), 0);
    frame_ptr(t, as.data[0])[0] = 0x3;
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_TLB_FLUSH_MULTI, 0, 0x400000, PVCORE_DOMID_SELF), 0);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_INVLPG_MULTI, 0x400000, 0x400000, PVCORE_DOMID_SELF), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_calls, 6);
    assert_int_equal(st.flush_local, 2);
    assert_int_equal(st.flush_domain, 2);
    assert_int_equal(st.flush_mask, 2);
    assert_int_equal(st.last_flush_vcpu_mask, 0x3);
    /* XSA-279: non-canonical INVLPG addresses are ignored, not flushed. */
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_INVLPG_LOCAL, 0x8000000000000000ull, 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_INVLPG_ALL, 0x0000900000000000ull, 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_INVLPG_MULTI, 0xFFFF800000000000ull, 0x400000, PVCORE_DOMID_SELF), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_calls, 0);
    /* Unreadable bitmap. */
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_TLB_FLUSH_MULTI, 0, 0x9000000, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    /* Foreign domain for vCPU-local commands. */
    assert_int_equal(ext(t, 0, PVCORE_MMUEXT_TLB_FLUSH_LOCAL, 0, 0, 1), -PVCORE_EPERM);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_TLB_FLUSH_LOCAL, 0, 0, 0), -PVCORE_EPERM);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_PIN_L1_TABLE, a, 0, PVCORE_DOMID_IO), -PVCORE_EINVAL);
    /* LDT. */
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_SET_LDT, 0x500000, 16, PVCORE_DOMID_SELF), 0);
    pvcore_vcpu_ldt(vcpu(t, 1, 0), &base, &ents);
    assert_int_equal(base, 0x500000);
    assert_int_equal(ents, 16);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_SET_LDT, 0x500008, 16, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_SET_LDT, 0x500000, 8193, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_SET_LDT, 0xFFFF800000000000ull, 1, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_SET_LDT, 0x7FFFFFFFF000ull, 1024, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_SET_LDT, 0, 0, PVCORE_DOMID_SELF), 0);
    pvcore_vcpu_ldt(vcpu(t, 1, 0), &base, &ents);
    assert_int_equal(ents, 0);
    check_invariants(t);
}

/* ---- 32-bit PAE guests -------------------------------------------------------------------------- */

static void test_pae_rules(void **state)
{
    struct pvtest *t = *state;
    struct as32 as;
    uint64_t l2other;

    build_as32(t, 2, &as, 2);
    frame_ptr(t, as.l2x)[500] = pte(as.l1, PT_P); /* hypervisor part: ignored, cleared */
    frame_ptr(t, as.l3)[7] = 0x1234567; /* beyond the four PDPT slots: cleared */
    assert_int_equal(pin(t, 2, 4, as.l3), 0); /* PIN_L4: a no-op for 32-bit guests */
    assert_int_equal(finfo(t, as.l3).type_count, 0);
    assert_int_equal(pin(t, 2, 3, as.l3), 0);
    assert_int_equal(finfo(t, as.l2x).type, PVCORE_PGT_L2);
    assert_true(finfo(t, as.l2x).flags & PVCORE_FRAME_PAE_XEN_L2);
    assert_int_equal(frame_ptr(t, as.l2x)[500], 0);
    assert_int_equal(frame_ptr(t, as.l3)[7], 0);
    /* The hypervisor forces U and RW on PDPT entries. */
    assert_int_equal(frame_ptr(t, as.l3)[0], pte(as.l2, PT_P | PT_US | PT_RW));
    /* No 64-bit-only adjustment for 32-bit guests' L1 entries. */
    assert_int_equal(frame_ptr(t, as.l1)[0], pte(as.data[0], PT_P | PT_RW | PT_US));
    check_invariants(t);

    /* Slot 3 and beyond are not updatable; the hypervisor part of the L2 neither. */
    assert_int_equal(set_entry(t, 2, as.l3, 3, pte(as.l2x, PT_P)), -PVCORE_EINVAL);
    assert_int_equal(set_entry(t, 2, as.l3, 4, 0), -PVCORE_EINVAL);
    assert_int_equal(set_entry(t, 2, as.l2x, 428, 0), -PVCORE_EPERM);
    assert_int_equal(set_entry(t, 2, as.l2x, 427, 0), 0);
    /* XSA-185: no linear L3 for 32-bit guests (it would be writable). */
    assert_int_equal(set_entry(t, 2, as.l3, 2, pte(as.l3, PT_P)), -PVCORE_EINVAL);
    /* PDPT entries may carry no NX and no cache bits. */
    l2other = alloc_frame(t, 2);
    assert_int_equal(set_entry(t, 2, as.l3, 1, pte(l2other, PT_P | PT_NX)), -PVCORE_EINVAL);
    assert_int_equal(set_entry(t, 2, as.l3, 1, pte(l2other, PT_P | PT_PCD)), -PVCORE_EINVAL);
    assert_int_equal(set_entry(t, 2, as.l3, 1, pte(l2other, PT_P)), 0);
    /* The hypervisor L2 may not be shared with another slot, nor mapped linearly from
     * another L2 (found by fuzz_mmu: it made the slot-3 L2's type count 2). */
    assert_int_equal(set_entry(t, 2, as.l3, 2, pte(as.l2x, PT_P)), -PVCORE_EINVAL);
    assert_int_equal(set_entry(t, 2, as.l2, 100, pte(as.l2x, PT_P)), -PVCORE_EINVAL);
    assert_int_equal(finfo(t, as.l2x).type_count, 1);
    check_invariants(t);

    /* An L3 without slot 3, or with slot 3 pointing at a shared L2. */
    {
        uint64_t l3b = alloc_frame(t, 2);
        frame_ptr(t, l3b)[0] = pte(as.l2, PT_P);
        assert_int_equal(pin(t, 2, 3, l3b), -PVCORE_EINVAL);
        frame_ptr(t, l3b)[3] = pte(as.l2x, PT_P);
        assert_int_equal(pin(t, 2, 3, l3b), -PVCORE_EINVAL);
        check_invariants(t);
    }
    /* Base pointer for a 32-bit guest is its L3. */
    assert_int_equal(ext(t, 2, PVCORE_MMUEXT_NEW_BASEPTR, as.l3, 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(pvcore_update_va_mapping(vcpu(t, 2, 0), 0x401000, 0, 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(finfo(t, as.data[1]).count, 1);
    assert_int_equal(pvcore_update_va_mapping(vcpu(t, 2, 0), 0xF5800000u, 0, 0, PVCORE_DOMID_SELF),
                     -PVCORE_EINVAL);
    assert_int_equal(pvcore_update_va_mapping(vcpu(t, 2, 0), 0x100000000ull, 0, 0, PVCORE_DOMID_SELF),
                     -PVCORE_EINVAL);
    check_invariants(t);
}

static void test_pae_l3_above_4g(void **state)
{
    (void)state;
    /* Needs more than 4 GiB of frames to place an L3 there: covered by the fuzzer's
     * model instead; here we check the vm_assist plumbing. */
    struct pvtest *t = pvtest_new();
    assert_int_equal(pvcore_domain_vm_assist(t->dom[2], PVCORE_VMASST_CMD_enable,
                                             PVCORE_VMASST_TYPE_pae_extended_cr3), 0);
    /* 64-bit guests may ask for it too, as on Xen (it changes nothing for them). */
    assert_int_equal(pvcore_domain_vm_assist(t->dom[1], PVCORE_VMASST_CMD_enable,
                                             PVCORE_VMASST_TYPE_pae_extended_cr3), 0);
    assert_int_equal(pvcore_domain_vm_assist(t->dom[1], 2, PVCORE_VMASST_TYPE_m2p_strict), -PVCORE_EINVAL);
    assert_int_equal(pvcore_domain_vm_assist(t->dom[1], PVCORE_VMASST_CMD_enable, 31), -PVCORE_EINVAL);
    pvtest_free(t);
}

/* ---- preemption ---------------------------------------------------------------------------------- */

/* Builds a tree of nl2 L2s each with nl1 L1s each mapping 8 data frames, under one L4. */
static uint64_t build_big(struct pvtest *t, unsigned nl2, unsigned nl1)
{
    uint64_t l4 = alloc_frame(t, 1), l3 = alloc_frame(t, 1);
    unsigned i, j, k;

    frame_ptr(t, l4)[1] = pte(l3, PT_P | PT_RW);
    for (i = 0; i < nl2; i++) {
        uint64_t l2 = alloc_frame(t, 1);
        frame_ptr(t, l3)[i] = pte(l2, PT_P | PT_RW);
        for (j = 0; j < nl1; j++) {
            uint64_t l1 = alloc_frame(t, 1);
            frame_ptr(t, l2)[j] = pte(l1, PT_P | PT_RW);
            for (k = 0; k < 8; k++) {
                frame_ptr(t, l1)[k * 7] = pte(alloc_frame(t, 1), PT_P | PT_RW);
            }
        }
    }
    return l4;
}

static void test_preemption_resumes_exactly(void **state)
{
    struct pvtest *ref = pvtest_new();
    struct pvtest *t = pvtest_new_budget(3, 0);
    struct pvcore_frame_info *want;
    uint64_t l4a, l4b;
    unsigned restarts = 0;
    int rc;
    (void)state;

    l4a = build_big(ref, 3, 4);
    l4b = build_big(t, 3, 4);
    assert_int_equal(l4a, l4b);
    assert_int_equal(pin(ref, 1, 4, l4a), 0);
    want = snapshot(ref);

    while ((rc = pin(t, 1, 4, l4b)) == -PVCORE_ERESTART) {
        restarts++;
        check_invariants(t);
        assert_true(restarts < 10000);
    }
    assert_int_equal(rc, 0);
    assert_true(restarts > 3);
    assert_same_state(t, want);
    check_invariants(t);
    free(want);

    /* Unpin is preemptible too: the teardown finishes over several calls. */
    assert_int_equal(unpin(ref, 1, l4a), 0);
    want = snapshot(ref);
    rc = unpin(t, 1, l4b);
    assert_int_equal(rc, 0);
    restarts = 0;
    while ((rc = ext(t, 1, PVCORE_MMUEXT_TLB_FLUSH_LOCAL, 0, 0, PVCORE_DOMID_SELF)) == -PVCORE_ERESTART) {
        restarts++;
        check_invariants(t);
        assert_true(restarts < 10000);
    }
    assert_int_equal(rc, 0);
    assert_true(restarts > 0);
    assert_same_state(t, want);
    check_invariants(t);
    free(want);
    pvtest_free(ref);
    pvtest_free(t);
}

static void test_preempted_batch_done_count(void **state)
{
    struct pvtest *t = pvtest_new_budget(1, 0);
    struct as64 as;
    pvcore_mmu_update_t u[6];
    uint32_t done = 0, off = 0;
    unsigned i, calls = 0;
    int rc;
    (void)state;

    build_as64(t, 1, &as, 0);
    pvcore_host_backend_set_preempt(t->hb, 0);
    while ((rc = pin(t, 1, 4, as.l4)) == -PVCORE_ERESTART) {
    }
    assert_int_equal(rc, 0);
    for (i = 0; i < 6; i++) {
        u[i].ptr = (as.l1 << 12) | (i << 3);
        u[i].val = pte(alloc_frame(t, 1), PT_P);
    }
    pvcore_host_backend_set_preempt(t->hb, 1); /* preempt at every check */
    do {
        uint32_t before = done;
        rc = pvcore_mmu_update(vcpu(t, 1, 0), u + off, 6 - off, &done, PVCORE_DOMID_SELF);
        off += done - before;
        calls++;
        check_invariants(t);
    } while (rc == -PVCORE_ERESTART && calls < 100);
    assert_int_equal(rc, 0);
    assert_int_equal(done, 6);
    assert_true(calls >= 6); /* at most one request per call */
    for (i = 0; i < 6; i++) {
        assert_int_equal(pte_mfn_test(frame_ptr(t, as.l1)[i]), pte_mfn_test(u[i].val));
    }
    pvtest_free(t);
}

/* ---- domain lifecycle -------------------------------------------------------------------------------- */

static void test_destroy_releases_everything(void **state)
{
    struct pvtest *t = *state;
    struct as64 a, b;
    uint64_t i;
    int rc;

    build_as64(t, 1, &a, 4);
    build_as64(t, 1, &b, 2);
    assert_int_equal(pin(t, 1, 4, a.l4), 0);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_BASEPTR, b.l4, 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(set_entry(t, 1, a.l4, 7, pte(a.l4, PT_P)), 0);
    check_invariants(t);
    while ((rc = pvcore_domain_destroy(t->dom[1])) == -PVCORE_ERESTART) {
    }
    assert_int_equal(rc, 0);
    for (i = 0; i < TEST_FRAMES; i++) {
        struct pvcore_frame_info fi = finfo(t, i);
        assert_true(fi.owner != 1);
    }
    assert_int_equal(finfo(t, a.l4).count, 0);
    assert_int_equal(finfo(t, a.l4).type_count, 0);
    assert_int_equal(finfo(t, a.l4).owner, PVCORE_DOMID_INVALID);
    check_invariants(t);
    /* The id is free again, and the domain's memory is the embedder's to reuse. */
    free(t->dom_mem[1]);
    assert_int_equal(pvtest_make_domain(t, 1, 1, 0, 1), 0);
    check_invariants(t);
}

static void test_release_and_assign(void **state)
{
    struct pvtest *t = *state;
    uint64_t a = alloc_frame(t, 1), l1 = alloc_frame(t, 1);

    assert_int_equal(pvcore_domain_assign(t->dom[2], pvcore_mfn(a), pvcore_gfn(0)), -PVCORE_EBUSY);
    assert_int_equal(pvcore_domain_assign(t->dom[2], pvcore_mfn(TEST_FRAMES), pvcore_gfn(0)), -PVCORE_EINVAL);
    assert_int_equal(pin(t, 1, 1, l1), 0);
    assert_int_equal(pvcore_domain_release(t->dom[1], pvcore_mfn(l1)), -PVCORE_EBUSY); /* XSA-252 */
    assert_int_equal(pvcore_domain_release(t->dom[1], pvcore_mfn(a)), 0);
    assert_int_equal(finfo(t, a).owner, PVCORE_DOMID_INVALID);
    assert_int_equal(pvcore_domain_release(t->dom[1], pvcore_mfn(a)), -PVCORE_EINVAL);
    assert_int_equal(pvcore_domain_tot_pages(t->dom[1]), 1);
    assert_int_equal(pvcore_domain_assign(t->dom[2], pvcore_mfn(a), pvcore_gfn(5)), 0);
    check_invariants(t);
}

/*
 * A frame whose last mapping goes without a flush (an L1 entry cleared, no flush asked
 * for) may still be in the TLBs of the vCPUs that mapped it. It must not reach a new
 * owner before a full flush of every domain: the assignment does one if none happened
 * since the frame was freed, and one flush covers every frame freed before it.
 */
static void test_freed_frame_flushed_before_reuse(void **state)
{
    struct pvtest *t = *state;
    struct pvcore_host_stats st;
    struct as64 as;
    uint64_t d0, d1, d2;

    build_as64(t, 1, &as, 3);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_BASEPTR, as.l4, 0, PVCORE_DOMID_SELF), 0);
    d0 = as.data[0];
    d1 = as.data[1];
    d2 = as.data[2];
    /* Given back while still mapped: freed only when the mapping goes. */
    assert_int_equal(pvcore_domain_release(t->dom[1], pvcore_mfn(d0)), 0);
    assert_int_equal(pvcore_domain_release(t->dom[1], pvcore_mfn(d1)), 0);
    assert_int_equal(finfo(t, d0).owner, 1);
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(set_entry(t, 1, as.l1, 0, 0), 0);
    assert_int_equal(set_entry(t, 1, as.l1, 1, 0), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.frames_freed, 2);
    assert_int_equal(st.flush_calls, 0); /* the guest asked for none */
    assert_int_equal(finfo(t, d0).owner, PVCORE_DOMID_INVALID);
    /* The first reuse flushes every domain; the second frame was freed before that flush. */
    assert_int_equal(pvcore_domain_assign(t->dom[2], pvcore_mfn(d0), pvcore_gfn(7)), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_every_domain, 1);
    assert_int_equal(st.flush_domain, 1);
    assert_int_equal(pvcore_domain_assign(t->dom[0], pvcore_mfn(d1), pvcore_gfn(8)), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_calls, 1);
    /* A frame freed after that flush needs another one. */
    assert_int_equal(pvcore_domain_release(t->dom[1], pvcore_mfn(d2)), 0);
    assert_int_equal(set_entry(t, 1, as.l1, 2, 0), 0);
    assert_int_equal(pvcore_domain_assign(t->dom[2], pvcore_mfn(d2), pvcore_gfn(9)), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_every_domain, 2);
    assert_int_equal(finfo(t, d2).owner, 2);
    assert_int_equal(finfo(t, d2).count, 1);
    /* A frame never used is handed out without a flush. */
    pvcore_host_backend_reset_stats(t->hb);
    (void)alloc_frame(t, 2);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_calls, 0);
    check_invariants(t);
}

/* ---- wire-format conversion and translation ------------------------------------------------- */

static void test_wire_conversion(void **state)
{
    struct pvcore_mmuext_op_x86_64 w64[2];
    struct pvcore_mmuext_op_x86_32 w32[2];
    struct pvcore_mmuext_req out[2];
    (void)state;

    memset(w64, 0xAB, sizeof(w64)); /* padding and unused bytes are guest garbage */
    w64[0].cmd = PVCORE_MMUEXT_SET_LDT;
    w64[0].arg1.linear_addr = 0x7000;
    w64[0].arg2.nr_ents = 12;
    w64[1].cmd = PVCORE_MMUEXT_COPY_PAGE;
    w64[1].arg1.mfn = 0x123456789ull;
    w64[1].arg2.src_mfn = 0xFEDCBA987ull;
    pvcore_mmuext_from_x86_64(w64, 2, out);
    assert_int_equal(out[0].cmd, PVCORE_MMUEXT_SET_LDT);
    assert_int_equal(out[0].arg1, 0x7000);
    assert_int_equal(out[0].arg2 & 0xFFFFFFFFu, 12); /* the high half is garbage */
    assert_int_equal(out[1].arg1, 0x123456789ull);
    assert_int_equal(out[1].arg2, 0xFEDCBA987ull);

    memset(w32, 0xCD, sizeof(w32));
    w32[0].cmd = PVCORE_MMUEXT_INVLPG_MULTI;
    w32[0].arg1.linear_addr = 0xC0001000u;
    w32[0].arg2.vcpumask = 0x8000u;
    w32[1].cmd = PVCORE_MMUEXT_PIN_L3_TABLE;
    w32[1].arg1.mfn = 0xFFFFFFFFu;
    pvcore_mmuext_from_x86_32(w32, 2, out);
    assert_int_equal(out[0].arg1, 0xC0001000u);
    assert_int_equal(out[0].arg2, 0x8000u);
    assert_int_equal(out[1].cmd, PVCORE_MMUEXT_PIN_L3_TABLE);
    assert_int_equal(out[1].arg1, 0xFFFFFFFFu);
}

static void test_translate(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    uint64_t maddr = 0;
    int w = -1;

    build_as64(t, 1, &as, 2);
    assert_int_equal(pvcore_vcpu_translate(vcpu(t, 1, 0), 0x400000, &maddr, &w), -PVCORE_EFAULT);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_BASEPTR, as.l4, 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(pvcore_vcpu_translate(vcpu(t, 1, 0), 0x401234, &maddr, &w), 0);
    assert_int_equal(maddr, (as.data[1] << 12) | 0x234);
    assert_int_equal(w, 1);
    assert_int_equal(pvcore_vcpu_translate(vcpu(t, 1, 0), 0x402000, &maddr, NULL), -PVCORE_EFAULT);
    assert_int_equal(pvcore_vcpu_translate(vcpu(t, 1, 0), 0xFFFF800000000000ull, &maddr, NULL), -PVCORE_EFAULT);
    assert_int_equal(pvcore_vcpu_translate(vcpu(t, 1, 1), 0x401000, &maddr, NULL), -PVCORE_EFAULT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pin_l1_takes_refs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pin_rejects_writable_page_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pin_rejects_foreign_and_free_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disallowed_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pin_l4_tree_and_devalidate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmu_update_l1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmu_update_commands_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmu_update_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_preserve_ad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_machphys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_mapping_by_privileged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_mappings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linear_rules, setup, teardown),
        cmocka_unit_test(test_no_linear_machine),
        cmocka_unit_test_setup_teardown(test_new_baseptr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_va_mapping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmuext_misc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pae_rules, setup, teardown),
        cmocka_unit_test(test_pae_l3_above_4g),
        cmocka_unit_test(test_preemption_resumes_exactly),
        cmocka_unit_test(test_preempted_batch_done_count),
        cmocka_unit_test_setup_teardown(test_destroy_releases_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_and_assign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_freed_frame_flushed_before_reuse, setup, teardown),
        cmocka_unit_test(test_wire_conversion),
        cmocka_unit_test_setup_teardown(test_translate, setup, teardown),
    };
    return cmocka_run_group_tests_name("mmu", tests, NULL, NULL);
}
