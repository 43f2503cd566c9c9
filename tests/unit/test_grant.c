/*
 * Grant tables, version 1, written as an attacker would: every op of map_grant_ref,
 * unmap_grant_ref, unmap_and_replace and copy and every error they return, through the
 * hypercall as a guest makes it (gntenv.h: a 64-bit mapper, a 32-bit granter, op arrays
 * in guest memory), with the exact state after every step: the PTE, the granted frame's
 * counts and type, the shared entry's GTF_reading/GTF_writing bits, and the invariant
 * checker. A refused op changes nothing (gsnap: every frame's state, both L1s, both
 * tables, byte for byte).
 *
 * Tests named BUG_* reproduce a bug (or a departure from Xen's ABI) found in review: they
 * are registered but skipped, so that the suite stays green until the fix lands; each
 * says what it expects and why. Remove the skip() with the fix.
 */
#include "pvtest.h"

#include "gntenv.h"

#define G7 PVCORE_GRANT_MAX_HANDLES /* (keeps the header's constant in use) */

/* A second frame of the granter's, zeroed: a valid (empty) page table when pinned. */
static uint64_t granter_frame(struct gfix *f)
{
    return alloc_frame(f->t, GRANTER);
}

/* ---- the basic flow --------------------------------------------------------------------- */

static void test_map_unmap_va(void **state)
{
    struct gfix f;
    uint32_t h;
    uint64_t e, dev = 0;
    struct pvcore_frame_info fi;

    (void)state;
    gfix_init(&f);
    grant(&f, 5, PA, MAPPER, f.granted);

    /* A writable host mapping at a virtual address. */
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 5, GRANTER, &h, &dev), PVCORE_GNTST_okay);
    assert_int_equal(h, 0);
    e = ml1e(&f, 8);
    /* Xen's grant PTE, adjusted as any kernel mapping of a 64-bit guest (U, kernel-only). */
    assert_int_equal(e & ~PT_NX, pte(f.granted, GNT_PTE_FLAGS | PT_RW | PT_US | PT_GUEST_KERNEL));
    fi = finfo(f.t, f.granted);
    assert_int_equal(fi.count, 2);
    assert_int_equal(fi.type, PVCORE_PGT_WRITABLE);
    assert_int_equal(fi.type_count, 1);
    assert_int_equal(fi.owner, GRANTER);
    assert_int_equal(gflags(&f, 5), PA | RW_PIN);
    /* The guest reads and writes the granted frame through it (the copy hooks walk the
     * guest's tables as the processor would). */
    assert_int_equal(gread32(&f.e, OPS), gread32(&f.e, OPS)); /* (op page still mapped) */

    /* The guest can neither change nor remove it by itself. */
    assert_int_equal(mmu1(f.t, MAPPER, (f.e.l1 << 12) + 8 * 8, 0, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(mmu1(f.t, MAPPER, (f.e.l1 << 12) + 8 * 8, e & ~PTE_GNTTAB_BIT, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(mmu1(f.t, MAPPER, (f.e.l1 << 12) + 8 * 8, e | (1ull << 61), PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(mmu1(f.t, MAPPER, (f.e.l1 << 12) + 8 * 8, e & ~PT_RW, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(pvcore_update_va_mapping(vcpu(f.t, MAPPER, 0), MAP_VA, 0, 0, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(pvcore_update_va_mapping(vcpu(f.t, MAPPER, 0), MAP_VA, pte(f.e.data[0], PT_P | PT_RW), 0,
                                              PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    /* Nor forge one. */
    assert_int_equal(mmu1(f.t, MAPPER, (f.e.l1 << 12) + 9 * 8, pte(f.e.data[0], PT_P | PT_RW) | PTE_GNTTAB_BIT, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(ml1e(&f, 8), e);
    assert_int_equal(ml1e(&f, 9), 0);
    check_invariants(f.t);

    /* Unmap: a wrong handle, a wrong address, then the right one. */
    assert_int_equal(unmap(&f, MAP_VA, 0, h + 1), PVCORE_GNTST_bad_handle);
    assert_int_equal(unmap(&f, MAP_VA + 4096, 0, h), PVCORE_GNTST_general_error);
    assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
    assert_int_equal(ml1e(&f, 8), 0);
    fi = finfo(f.t, f.granted);
    assert_int_equal(fi.count, 1);
    assert_int_equal(fi.type_count, 0);
    assert_int_equal(gflags(&f, 5), PA);
    assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_bad_handle);
    gfix_free(&f);
}

/* ---- map_grant_ref's errors --------------------------------------------------------------- */

static void test_map_errors(void **state)
{
    struct gfix f;
    struct gsnap s;
    uint32_t h;
    uint64_t dev;
    static const uint32_t kinds[] = { PVCORE_GNTMAP_host_map, PVCORE_GNTMAP_device_map,
                                      PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_device_map };
    unsigned k;

    (void)state;
    gfix_init(&f);
    grant(&f, 5, PA, MAPPER, f.granted);
    grant(&f, 6, PA, PRIV, f.granted);                      /* for someone else */
    grant(&f, 7, PA | PVCORE_GTF_readonly, MAPPER, f.granted); /* read-only */
    grant(&f, 8, PVCORE_GTF_invalid, MAPPER, f.granted);
    grant(&f, 9, PVCORE_GTF_accept_transfer, MAPPER, f.granted);
    grant(&f, 10, PVCORE_GTF_transitive, MAPPER, f.granted); /* v2 only */
    grant(&f, 11, PVCORE_GTF_reading | PVCORE_GTF_writing, MAPPER, f.granted); /* in-use bits, no type */
    gsnap_take(&f, &s);

    /* A map of nothing: neither host nor device (readonly and the rest alone do not count). */
    assert_int_equal(map(&f, MAP_VA, 0, 5, GRANTER, &h, &dev), PVCORE_GNTST_bad_gntref);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_readonly | PVCORE_GNTMAP_application_map |
                                     PVCORE_GNTMAP_contains_pte | 0xFFFF0000u, 5, GRANTER, &h, &dev),
                     PVCORE_GNTST_bad_gntref);
    gsnap_same(&f, &s);
    for (k = 0; k < 3; k++) {
        uint32_t fl = kinds[k];
        /* No such domain, a reserved id, a domain without grant state (the privileged one
         * has none yet). */
        assert_int_equal(map(&f, MAP_VA, fl, 5, 7, &h, &dev), PVCORE_GNTST_bad_domain);
        assert_int_equal(map(&f, MAP_VA, fl, 5, PVCORE_DOMID_IO, &h, &dev), PVCORE_GNTST_bad_domain);
        assert_int_equal(map(&f, MAP_VA, fl, 5, PVCORE_DOMID_XEN, &h, &dev), PVCORE_GNTST_bad_domain);
        assert_int_equal(map(&f, MAP_VA, fl, 5, 0xFFFF, &h, &dev), PVCORE_GNTST_bad_domain);
        assert_int_equal(map(&f, MAP_VA, fl, 5, PRIV, &h, &dev), PVCORE_GNTST_bad_gntref);
        /* Beyond the table in use (one frame: 512 entries), far beyond. */
        assert_int_equal(map(&f, MAP_VA, fl, 512, GRANTER, &h, &dev), PVCORE_GNTST_bad_gntref);
        assert_int_equal(map(&f, MAP_VA, fl, 0xFFFFFFFFu, GRANTER, &h, &dev), PVCORE_GNTST_bad_gntref);
        assert_int_equal(map(&f, MAP_VA, fl, 0x80000000u, GRANTER, &h, &dev), PVCORE_GNTST_bad_gntref);
        /* Not for the mapper; not a permit_access entry. */
        assert_int_equal(map(&f, MAP_VA, fl, 6, GRANTER, &h, &dev), PVCORE_GNTST_general_error);
        assert_int_equal(map(&f, MAP_VA, fl, 8, GRANTER, &h, &dev), PVCORE_GNTST_general_error);
        assert_int_equal(map(&f, MAP_VA, fl, 9, GRANTER, &h, &dev), PVCORE_GNTST_general_error);
        assert_int_equal(map(&f, MAP_VA, fl, 10, GRANTER, &h, &dev), PVCORE_GNTST_general_error);
        assert_int_equal(map(&f, MAP_VA, fl, 11, GRANTER, &h, &dev), PVCORE_GNTST_general_error);
        /* A read-only grant mapped writable. */
        assert_int_equal(map(&f, MAP_VA, fl, 7, GRANTER, &h, &dev), PVCORE_GNTST_general_error);
        gsnap_same(&f, &s);
    }
    /* The read-only grant mapped read-only is fine. */
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_readonly, 7, GRANTER, &h, &dev),
                     PVCORE_GNTST_okay);
    assert_int_equal(h, 0); /* no refused op took a handle */
    assert_int_equal(gflags(&f, 7), PA | PVCORE_GTF_readonly | RO_PIN);
    assert_int_equal(ml1e(&f, 8) & PT_RW, 0);
    expect_refs(f.t, f.granted, 2, 0, 0);
    assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
    gsnap_same(&f, &s);
    gsnap_drop(&s);
    gfix_free(&f);
}

/* The host address of a host mapping: a virtual address the mapper's kernel tables map
 * through a live L1 of its own. */
static void test_map_bad_host_addr(void **state)
{
    struct gfix f;
    struct gsnap s;
    uint32_t h;
    static const uint64_t bad[] = {
        UNMAPPED,                  /* no L2 entry */
        0x8000000000000000ull,     /* not canonical */
        0x0000800000000000ull,     /* not canonical either */
        0xFFFF800000000000ull,     /* the hypervisor's */
        0xFFFF830000001000ull,
        TOP_PAGE,                  /* no L4 entry */
        0,                         /* no L2 entry at 0 either */
    };
    unsigned i;

    (void)state;
    gfix_init(&f);
    grant(&f, 5, PA, MAPPER, f.granted);
    gsnap_take(&f, &s);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(map(&f, bad[i], PVCORE_GNTMAP_host_map, 5, GRANTER, &h, NULL),
                         PVCORE_GNTST_general_error);
        assert_int_equal(map(&f, bad[i], PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_device_map, 5,
                             GRANTER, &h, NULL), PVCORE_GNTST_general_error);
        gsnap_same(&f, &s);
        assert_int_equal(gflags(&f, 5), PA);
    }
    gsnap_drop(&s);
    gfix_free(&f);
}

/* ---- read-only and writable against the page-type system ---------------------------------- */

static void test_readonly_map_then_granter_pins(void **state)
{
    struct gfix f;
    uint64_t fr, e;
    uint32_t h, h2;

    (void)state;
    gfix_init(&f);
    fr = granter_frame(&f);
    grant(&f, 5, PA, MAPPER, fr);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_readonly, 5, GRANTER, &h, NULL),
                     PVCORE_GNTST_okay);
    e = ml1e(&f, 8);
    assert_int_equal(e & ~PT_NX, pte(fr, GNT_PTE_FLAGS | PT_US | PT_GUEST_KERNEL));
    expect_refs(f.t, fr, 2, 0, 0);
    assert_int_equal(gflags(&f, 5), PA | RO_PIN);
    /* A read-only mapping does not stop the granter making the frame a page table. */
    assert_int_equal(pin(f.t, GRANTER, 1, fr), 0);
    expect_refs(f.t, fr, 3, 1, PVCORE_PGT_L1);
    check_invariants(f.t);
    /* ... but a writable mapping of it is now refused, host or device. */
    assert_int_equal(map(&f, MAP_VA + 4096, PVCORE_GNTMAP_host_map, 5, GRANTER, &h2, NULL),
                     PVCORE_GNTST_general_error);
    assert_int_equal(map(&f, 0, PVCORE_GNTMAP_device_map, 5, GRANTER, &h2, NULL),
                     PVCORE_GNTST_general_error);
    assert_int_equal(ml1e(&f, 9), 0);
    expect_refs(f.t, fr, 3, 1, PVCORE_PGT_L1);
    assert_int_equal(gflags(&f, 5), PA | RO_PIN); /* GTF_writing was set and taken back */
    /* A second read-only mapping is fine. */
    assert_int_equal(map(&f, 0, PVCORE_GNTMAP_device_map | PVCORE_GNTMAP_readonly, 5, GRANTER, &h2, NULL),
                     PVCORE_GNTST_okay);
    expect_refs(f.t, fr, 4, 1, PVCORE_PGT_L1);
    assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
    assert_int_equal(unmap(&f, 0, fr << 12, h2), PVCORE_GNTST_okay);
    expect_refs(f.t, fr, 2, 1, PVCORE_PGT_L1);
    assert_int_equal(gflags(&f, 5), PA);
    assert_int_equal(unpin(f.t, GRANTER, fr), 0);
    expect_refs(f.t, fr, 1, 0, 0);
    check_invariants(f.t);
    gfix_free(&f);
}

static void test_writable_map_blocks_pin(void **state)
{
    static const uint32_t kinds[] = { PVCORE_GNTMAP_host_map, PVCORE_GNTMAP_device_map,
                                      PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_device_map };
    unsigned k, lvl;

    (void)state;
    for (k = 0; k < 3; k++) {
        struct gfix f;
        uint64_t fr, dev = 0;
        uint32_t h;
        uint32_t parts = k == 2 ? 2u : 1u;

        gfix_init(&f);
        fr = granter_frame(&f);
        grant(&f, 5, PA, MAPPER, fr);
        assert_int_equal(map(&f, MAP_VA, kinds[k], 5, GRANTER, &h, &dev), PVCORE_GNTST_okay);
        expect_refs(f.t, fr, 1 + parts, parts, PVCORE_PGT_WRITABLE);
        /* No page-table type while it is mapped writable: at any level, pinned or as a
         * base pointer. */
        for (lvl = 1; lvl <= 3; lvl++) {
            assert_int_equal(pin(f.t, GRANTER, lvl, fr), -PVCORE_EINVAL);
        }
        assert_int_equal(ext(f.t, GRANTER, PVCORE_MMUEXT_NEW_BASEPTR, fr, 0, PVCORE_DOMID_SELF),
                         -PVCORE_EINVAL);
        expect_refs(f.t, fr, 1 + parts, parts, PVCORE_PGT_WRITABLE);
        check_invariants(f.t);
        assert_int_equal(unmap(&f, (kinds[k] & PVCORE_GNTMAP_host_map) ? MAP_VA : 0,
                               (kinds[k] & PVCORE_GNTMAP_device_map) ? fr << 12 : 0, h),
                         PVCORE_GNTST_okay);
        expect_refs(f.t, fr, 1, 0, 0);
        assert_int_equal(gflags(&f, 5), PA);
        /* Unmapped, it may. */
        assert_int_equal(pin(f.t, GRANTER, 1, fr), 0);
        expect_refs(f.t, fr, 2, 1, PVCORE_PGT_L1);
        check_invariants(f.t);
        gfix_free(&f);
    }
}

/* ---- GNTMAP_contains_pte ------------------------------------------------------------------ */

static void test_contains_pte(void **state)
{
    struct gfix f;
    struct gsnap s;
    uint32_t h, h2;
    uint64_t l1b, at = (0ull) /* set below */, e;
    const uint32_t fl = PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_contains_pte;
    uint64_t bad[16];
    unsigned n = 0, i;

    (void)state;
    gfix_init(&f);
    grant(&f, 5, PA, MAPPER, f.granted);
    l1b = alloc_frame(f.t, MAPPER);
    at = (f.e.l1 << 12) + 8u * 8u;
    /* Misaligned: the 8-byte PTE would straddle two entries (XSA-227). */
    bad[n++] = at + 1;
    bad[n++] = at + 4;
    bad[n++] = at + 7;
    bad[n++] = (f.e.l1 << 12) + 4095u;
    /* Someone else's L1: the granter's live one. */
    bad[n++] = (f.g.l1 << 12) + 8u * 8u;
    /* The mapper's frames that are no live L1: a data page, its L2 and L4, its grant
     * table, a frame it owns but never made a table, a free frame, the granted frame,
     * frames beyond memory. */
    bad[n++] = f.e.data[7] << 12;
    bad[n++] = (f.e.l2 << 12) + 8u * 8u;
    bad[n++] = (f.e.root << 12) + 8u * 8u;
    bad[n++] = f.mgnt_frame << 12;
    bad[n++] = l1b << 12;
    bad[n++] = 3ull << 12;
    bad[n++] = f.granted << 12;
    bad[n++] = (uint64_t)(TEST_FRAMES + 5u) << 12;
    bad[n++] = 0xFFFFFFFFFFFFF000ull;
    gsnap_take(&f, &s);
    for (i = 0; i < n; i++) {
        assert_int_equal(map(&f, bad[i], fl, 5, GRANTER, &h, NULL), PVCORE_GNTST_general_error);
        assert_int_equal(map(&f, bad[i], fl | PVCORE_GNTMAP_device_map, 5, GRANTER, &h, NULL),
                         PVCORE_GNTST_general_error);
        gsnap_same(&f, &s);
    }
    gsnap_drop(&s);
    /* An L1 that was pinned, then unpinned (devalidated: type count 0). */
    assert_int_equal(pin(f.t, MAPPER, 1, l1b), 0);
    assert_int_equal(unpin(f.t, MAPPER, l1b), 0);
    assert_int_equal(map(&f, (l1b << 12) + 16, fl, 5, GRANTER, &h, NULL), PVCORE_GNTST_general_error);
    assert_int_equal(frame_ptr(f.t, l1b)[2], 0);

    /* Aligned, in the env's live L1. */
    assert_int_equal(map(&f, at, fl, 5, GRANTER, &h, NULL), PVCORE_GNTST_okay);
    e = ml1e(&f, 8);
    assert_int_equal(e & ~PT_NX, pte(f.granted, GNT_PTE_FLAGS | PT_RW | PT_US | PT_GUEST_KERNEL));
    expect_refs(f.t, f.granted, 2, 1, PVCORE_PGT_WRITABLE);
    /* In an L1 pinned on its own (in no address space). */
    assert_int_equal(pin(f.t, MAPPER, 1, l1b), 0);
    assert_int_equal(map(&f, (l1b << 12) + 511u * 8u, fl | PVCORE_GNTMAP_readonly, 5, GRANTER, &h2, NULL),
                     PVCORE_GNTST_okay);
    assert_int_equal(frame_ptr(f.t, l1b)[511] & ~PT_NX,
                     pte(f.granted, GNT_PTE_FLAGS | PT_US | PT_GUEST_KERNEL));
    expect_refs(f.t, f.granted, 3, 1, PVCORE_PGT_WRITABLE);
    check_invariants(f.t);

    /* Unmapped by the same machine address only: not by the virtual address it happens
     * to be at, nor by a misaligned or neighbouring one. */
    assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_general_error);
    assert_int_equal(unmap(&f, at + 1, 0, h), PVCORE_GNTST_general_error);
    assert_int_equal(unmap(&f, at + 8, 0, h), PVCORE_GNTST_general_error);
    assert_int_equal(unmap(&f, (l1b << 12) + 511u * 8u, 0, h), PVCORE_GNTST_general_error);
    assert_int_equal(ml1e(&f, 8), e);
    assert_int_equal(unmap(&f, at, 0, h), PVCORE_GNTST_okay);
    assert_int_equal(ml1e(&f, 8), 0);
    assert_int_equal(unmap(&f, (l1b << 12) + 511u * 8u, 0, h2), PVCORE_GNTST_okay);
    assert_int_equal(frame_ptr(f.t, l1b)[511], 0);
    expect_refs(f.t, f.granted, 1, 0, 0);
    assert_int_equal(gflags(&f, 5), PA);
    check_invariants(f.t);
    gfix_free(&f);
}

/* ---- device mappings ------------------------------------------------------------------------ */

static void test_device_map(void **state)
{
    struct gfix f;
    uint32_t h, h2, h3;
    uint64_t dev = 0, dev2 = 0, dev3 = 0;
    const uint64_t bus = 0; /* (set below) */

    (void)state;
    (void)bus;
    gfix_init(&f);
    grant(&f, 5, PA, MAPPER, f.granted);

    /* Device only, writable: no PTE (host_addr is not looked at), the bus address. */
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_device_map, 5, GRANTER, &h, &dev), PVCORE_GNTST_okay);
    assert_int_equal(dev, f.granted << 12);
    assert_int_equal(ml1e(&f, 8), 0);
    expect_refs(f.t, f.granted, 2, 1, PVCORE_PGT_WRITABLE);
    assert_int_equal(gflags(&f, 5), PA | RW_PIN);
    /* Device only, read-only. */
    assert_int_equal(map(&f, 0, PVCORE_GNTMAP_device_map | PVCORE_GNTMAP_readonly, 5, GRANTER, &h2, &dev2),
                     PVCORE_GNTST_okay);
    assert_int_equal(dev2, f.granted << 12);
    expect_refs(f.t, f.granted, 3, 1, PVCORE_PGT_WRITABLE);
    /* Host and device together, writable: two parts, each with its references. */
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_device_map | PVCORE_GNTMAP_host_map, 5, GRANTER, &h3, &dev3),
                     PVCORE_GNTST_okay);
    assert_int_equal(dev3, f.granted << 12);
    assert_int_equal(ml1e(&f, 8) & ~PT_NX, pte(f.granted, GNT_PTE_FLAGS | PT_RW | PT_US | PT_GUEST_KERNEL));
    expect_refs(f.t, f.granted, 5, 3, PVCORE_PGT_WRITABLE);
    assert_true(h != h2 && h2 != h3 && h != h3);
    check_invariants(f.t);

    /* Unmapping the device part takes its bus address, exactly. */
    assert_int_equal(unmap(&f, 0, dev + 4096, h), PVCORE_GNTST_general_error);
    assert_int_equal(unmap(&f, 0, dev + 1, h), PVCORE_GNTST_general_error);
    assert_int_equal(unmap(&f, 0, dev - 4096, h), PVCORE_GNTST_general_error);
    assert_int_equal(unmap(&f, 0, ~0ull, h), PVCORE_GNTST_general_error);
    expect_refs(f.t, f.granted, 5, 3, PVCORE_PGT_WRITABLE);
    /* Neither address: nothing to do, and the handle stays. */
    assert_int_equal(unmap(&f, 0, 0, h), PVCORE_GNTST_okay);
    /* A host address for a mapping without a host part: ignored. */
    assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
    assert_int_equal(ml1e(&f, 8) & PTE_GNTTAB_BIT, PTE_GNTTAB_BIT); /* h3's PTE stays */
    expect_refs(f.t, f.granted, 5, 3, PVCORE_PGT_WRITABLE);
    assert_int_equal(unmap(&f, 0, dev, h), PVCORE_GNTST_okay);
    expect_refs(f.t, f.granted, 4, 2, PVCORE_PGT_WRITABLE);
    assert_int_equal(unmap(&f, 0, dev, h), PVCORE_GNTST_bad_handle);
    /* A wrong bus address fails the whole op: the host part is not unmapped either. */
    assert_int_equal(unmap(&f, MAP_VA, dev + 4096, h3), PVCORE_GNTST_general_error);
    assert_int_equal(ml1e(&f, 8) & PTE_GNTTAB_BIT, PTE_GNTTAB_BIT);
    expect_refs(f.t, f.granted, 4, 2, PVCORE_PGT_WRITABLE);
    /* Both parts at once. */
    assert_int_equal(unmap(&f, MAP_VA, dev3, h3), PVCORE_GNTST_okay);
    assert_int_equal(ml1e(&f, 8), 0);
    expect_refs(f.t, f.granted, 2, 0, 0);
    assert_int_equal(gflags(&f, 5), PA | RO_PIN);
    assert_int_equal(unmap(&f, 0, dev2, h2), PVCORE_GNTST_okay);
    expect_refs(f.t, f.granted, 1, 0, 0);
    assert_int_equal(gflags(&f, 5), PA);
    check_invariants(f.t);
    gfix_free(&f);
}

/* ---- the PTE's bits: application_map (U), the guest's available bits ----------------------- */

static void test_pte_bits(void **state)
{
    struct gfix f;
    uint32_t h;
    uint64_t e;

    (void)state;
    gfix_init(&f);
    grant(&f, 5, PA, MAPPER, f.granted);
    /* A 64-bit guest's kernel mapping: U and the kernel-only mark (its kernel runs in
     * ring 3); an application mapping: U without the mark. */
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_application_map, 5, GRANTER, &h, NULL),
                     PVCORE_GNTST_okay);
    e = ml1e(&f, 8);
    assert_int_equal(e & ~PT_NX, pte(f.granted, GNT_PTE_FLAGS | PT_RW | PT_US));
    assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
    /* Flags bits 16-18 land in PTE bits 9-11; bits 19-31 are ignored. */
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map | (5u << 16), 5, GRANTER, &h, NULL),
                     PVCORE_GNTST_okay);
    assert_int_equal(ml1e(&f, 8) & ~PT_NX,
                     pte(f.granted, GNT_PTE_FLAGS | PT_RW | PT_US | PT_GUEST_KERNEL | (5ull << 9)));
    assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_readonly |
                                     PVCORE_GNTMAP_application_map | 0xFFFF0000u, 5, GRANTER, &h, NULL),
                     PVCORE_GNTST_okay);
    assert_int_equal(ml1e(&f, 8) & ~PT_NX, pte(f.granted, GNT_PTE_FLAGS | PT_US | (7ull << 9)));
    expect_refs(f.t, f.granted, 2, 0, 0);
    assert_int_equal(gflags(&f, 5), PA | RO_PIN);
    /* The unmap checks frame, P and RW, not the available bits it wrote. */
    assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
    assert_int_equal(ml1e(&f, 8), 0);
    expect_refs(f.t, f.granted, 1, 0, 0);
    check_invariants(f.t);
    gfix_free(&f);
}

/* ---- what a host mapping replaces ----------------------------------------------------------- */

static void test_map_over_present(void **state)
{
    struct gfix f;
    uint32_t h1, h2, h3;
    struct pvcore_frame_info d3, d4, l1;

    (void)state;
    gfix_init(&f);
    grant(&f, 5, PA, MAPPER, f.granted);
    /* Slot 3 maps data[3] writable (env), slot 4 data[4] read-only, slot 5 the L1
     * itself read-only. */
    assert_int_equal(set_entry(f.t, MAPPER, f.e.l1, 4, pte(f.e.data[4], PT_P | PT_US)), 0);
    assert_int_equal(set_entry(f.t, MAPPER, f.e.l1, 5, pte(f.e.l1, PT_P | PT_US)), 0);
    d3 = finfo(f.t, f.e.data[3]);
    d4 = finfo(f.t, f.e.data[4]);
    l1 = finfo(f.t, f.e.l1);
    assert_int_equal(d3.count, 2);
    assert_int_equal(d3.type_count, 1);
    assert_int_equal(d4.count, 2);
    assert_int_equal(d4.type_count, 0);

    /* Each ordinary entry loses exactly its own references. */
    assert_int_equal(map(&f, SLOT_VA(3), PVCORE_GNTMAP_host_map, 5, GRANTER, &h1, NULL), PVCORE_GNTST_okay);
    expect_refs(f.t, f.e.data[3], d3.count - 1, d3.type_count - 1, PVCORE_PGT_WRITABLE);
    assert_int_equal(map(&f, SLOT_VA(4), PVCORE_GNTMAP_host_map, 5, GRANTER, &h2, NULL), PVCORE_GNTST_okay);
    expect_refs(f.t, f.e.data[4], d4.count - 1, d4.type_count, d4.type);
    assert_int_equal(map(&f, (f.e.l1 << 12) + 5u * 8u, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_contains_pte |
                                                        PVCORE_GNTMAP_readonly, 5, GRANTER, &h3, NULL),
                     PVCORE_GNTST_okay);
    expect_refs(f.t, f.e.l1, l1.count - 1, l1.type_count, PVCORE_PGT_L1);
    assert_int_equal(pte_mfn_test(ml1e(&f, 3)), f.granted);
    assert_int_equal(pte_mfn_test(ml1e(&f, 4)), f.granted);
    assert_int_equal(pte_mfn_test(ml1e(&f, 5)), f.granted);
    expect_refs(f.t, f.granted, 4, 2, PVCORE_PGT_WRITABLE);
    check_invariants(f.t);
    /* Unmapping leaves the slots empty: what was there is not restored. */
    assert_int_equal(unmap(&f, SLOT_VA(3), 0, h1), PVCORE_GNTST_okay);
    assert_int_equal(unmap(&f, SLOT_VA(4), 0, h2), PVCORE_GNTST_okay);
    assert_int_equal(unmap(&f, (f.e.l1 << 12) + 5u * 8u, 0, h3), PVCORE_GNTST_okay);
    assert_int_equal(ml1e(&f, 3), 0);
    assert_int_equal(ml1e(&f, 4), 0);
    assert_int_equal(ml1e(&f, 5), 0);
    expect_refs(f.t, f.e.data[3], d3.count - 1, d3.type_count - 1, PVCORE_PGT_WRITABLE);
    expect_refs(f.t, f.e.data[4], d4.count - 1, d4.type_count, d4.type);
    expect_refs(f.t, f.e.l1, l1.count - 1, l1.type_count, PVCORE_PGT_L1);
    expect_refs(f.t, f.granted, 1, 0, 0);
    check_invariants(f.t);
    gfix_free(&f);
}

static void test_map_over_grant(void **state)
{
    struct gfix f;
    struct gsnap s;
    uint32_t h, h2;
    uint64_t fr;

    (void)state;
    gfix_init(&f);
    fr = granter_frame(&f);
    grant(&f, 5, PA, MAPPER, f.granted);
    grant(&f, 6, PA, MAPPER, fr);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 5, GRANTER, &h, NULL), PVCORE_GNTST_okay);
    gsnap_take(&f, &s);
    /* One grant mapping never replaces another: the same grant, another grant, by
     * address or by PTE, read-only or not, with a device part or not. */
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 5, GRANTER, &h2, NULL), PVCORE_GNTST_general_error);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 6, GRANTER, &h2, NULL), PVCORE_GNTST_general_error);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_readonly, 6, GRANTER, &h2, NULL),
                     PVCORE_GNTST_general_error);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_device_map, 6, GRANTER, &h2, NULL),
                     PVCORE_GNTST_general_error);
    assert_int_equal(map(&f, (f.e.l1 << 12) + 8u * 8u, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_contains_pte, 6,
                         GRANTER, &h2, NULL), PVCORE_GNTST_general_error);
    gsnap_same(&f, &s);
    assert_int_equal(gflags(&f, 6), PA);
    /* The refused maps took no handle: the next one is handle 1. */
    assert_int_equal(map(&f, 0, PVCORE_GNTMAP_device_map, 6, GRANTER, &h2, NULL), PVCORE_GNTST_okay);
    assert_int_equal(h2, 1);
    assert_int_equal(unmap(&f, 0, fr << 12, h2), PVCORE_GNTST_okay);
    assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
    expect_refs(f.t, f.granted, 1, 0, 0);
    expect_refs(f.t, fr, 1, 0, 0);
    gsnap_drop(&s);
    gfix_free(&f);
}

/* ---- GTF_reading / GTF_writing -------------------------------------------------------------- */

static void test_gtf_bits(void **state)
{
    struct gfix f;
    uint32_t hw, hr, hd;
    const uint16_t extra = PVCORE_GTF_PWT; /* the granter's own bits stay as they are */

    (void)state;
    gfix_init(&f);
    grant(&f, 5, PA | extra, MAPPER, f.granted);
    /* Writable first, then read-only: writing goes with the last writable pin, reading
     * with the last pin. */
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 5, GRANTER, &hw, NULL), PVCORE_GNTST_okay);
    assert_int_equal(gflags(&f, 5), PA | extra | RW_PIN);
    assert_int_equal(map(&f, MAP_VA + 4096, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_readonly, 5, GRANTER, &hr, NULL),
                     PVCORE_GNTST_okay);
    assert_int_equal(gflags(&f, 5), PA | extra | RW_PIN);
    assert_int_equal(unmap(&f, MAP_VA, 0, hw), PVCORE_GNTST_okay);
    assert_int_equal(gflags(&f, 5), PA | extra | RO_PIN);
    assert_int_equal(unmap(&f, MAP_VA + 4096, 0, hr), PVCORE_GNTST_okay);
    assert_int_equal(gflags(&f, 5), PA | extra);
    /* Read-only first, then writable: the writable pin sets writing, the read-only one
     * outliving it keeps reading. */
    assert_int_equal(map(&f, MAP_VA + 4096, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_readonly, 5, GRANTER, &hr, NULL),
                     PVCORE_GNTST_okay);
    assert_int_equal(gflags(&f, 5), PA | extra | RO_PIN);
    assert_int_equal(map(&f, 0, PVCORE_GNTMAP_device_map, 5, GRANTER, &hd, NULL), PVCORE_GNTST_okay);
    assert_int_equal(gflags(&f, 5), PA | extra | RW_PIN);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 5, GRANTER, &hw, NULL), PVCORE_GNTST_okay);
    assert_int_equal(unmap(&f, 0, f.granted << 12, hd), PVCORE_GNTST_okay);
    assert_int_equal(gflags(&f, 5), PA | extra | RW_PIN); /* a writable host pin is left */
    assert_int_equal(unmap(&f, MAP_VA, 0, hw), PVCORE_GNTST_okay);
    assert_int_equal(gflags(&f, 5), PA | extra | RO_PIN);
    assert_int_equal(unmap(&f, MAP_VA + 4096, 0, hr), PVCORE_GNTST_okay);
    assert_int_equal(gflags(&f, 5), PA | extra);
    expect_refs(f.t, f.granted, 1, 0, 0);

    /* The granter revokes (clears the entry) while mapped, ignoring the in-use bits: the
     * mapping keeps its frame until unmapped, and the unmap clears only the in-use bits. */
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 5, GRANTER, &hw, NULL), PVCORE_GNTST_okay);
    grant(&f, 5, RW_PIN, MAPPER, f.granted); /* type invalid, in-use bits as they were */
    assert_int_equal(pte_mfn_test(ml1e(&f, 8)), f.granted);
    assert_int_equal(map(&f, 0, PVCORE_GNTMAP_device_map, 5, GRANTER, &hd, NULL), PVCORE_GNTST_general_error);
    assert_int_equal(gflags(&f, 5), RW_PIN);
    expect_refs(f.t, f.granted, 2, 1, PVCORE_PGT_WRITABLE);
    assert_int_equal(unmap(&f, MAP_VA, 0, hw), PVCORE_GNTST_okay);
    assert_int_equal(gflags(&f, 5), 0);
    expect_refs(f.t, f.granted, 1, 0, 0);
    check_invariants(f.t);
    gfix_free(&f);
}

/* ---- counts and handles at their limits ----------------------------------------------------- */

/* n maps of ref 5 in one batch at OPS (flags; host ones by PTE into the L1 `l1` slots
 * 0..n-1); each op's handle into h[]. */
static void map_batch(struct gfix *f, uint32_t n, uint32_t flags, uint64_t l1, uint32_t *h, int16_t *st)
{
    uint32_t i;

    for (i = 0; i < n; i++) {
        struct pvcore_gnttab_map_grant_ref op;
        memset(&op, 0, sizeof(op));
        op.host_addr = (flags & PVCORE_GNTMAP_host_map) ? (l1 << 12) + i * 8u : 0;
        op.flags = flags;
        op.ref = 5;
        op.dom = GRANTER;
        op.status = 0x5555;
        gwrite(&f->e, OPS + i * 32u, &op, sizeof(op));
    }
    assert_int_equal(ghc(f, PVCORE_GNTTABOP_map_grant_ref, OPS, n), 0);
    for (i = 0; i < n; i++) {
        struct pvcore_gnttab_map_grant_ref op;
        gread(&f->e, OPS + i * 32u, &op, sizeof(op));
        h[i] = op.handle;
        st[i] = op.status;
    }
}

static void test_pin_count_saturation(void **state)
{
    static const uint32_t kinds[] = {
        PVCORE_GNTMAP_device_map, PVCORE_GNTMAP_device_map | PVCORE_GNTMAP_readonly,
        PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_contains_pte,
        PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_contains_pte | PVCORE_GNTMAP_readonly,
    };
    unsigned k;

    (void)state;
    for (k = 0; k < 4; k++) {
        struct gfix f;
        struct gsnap s;
        uint32_t h[256], i, hx;
        int16_t st[256];
        uint64_t l1b;
        bool ro = (kinds[k] & PVCORE_GNTMAP_readonly) != 0;

        gfix_init_opt(&f, 0, 300, 4);
        l1b = alloc_frame(f.t, MAPPER);
        assert_int_equal(pin(f.t, MAPPER, 1, l1b), 0);
        grant(&f, 5, PA, MAPPER, f.granted);
        /* 255 pins of one kind of one grant by one domain: the count's byte is full. */
        map_batch(&f, 255, kinds[k], l1b, h, st);
        for (i = 0; i < 255; i++) {
            assert_int_equal(st[i], PVCORE_GNTST_okay);
            assert_int_equal(h[i], i);
        }
        expect_refs(f.t, f.granted, 256, ro ? 0 : 255, PVCORE_PGT_WRITABLE);
        /* The 256th fails cleanly, alone or in a batch, and takes nothing. */
        gsnap_take(&f, &s);
        assert_int_equal(map(&f, (l1b << 12) + 255u * 8u, kinds[k], 5, GRANTER, &hx, NULL),
                         PVCORE_GNTST_general_error);
        gsnap_same(&f, &s);
        gsnap_drop(&s);
        /* Other kinds of pin have counts of their own. */
        assert_int_equal(map(&f, (l1b << 12) + 256u * 8u,
                             (kinds[k] & PVCORE_GNTMAP_device_map) ? PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_contains_pte
                                                                  : PVCORE_GNTMAP_device_map,
                             5, GRANTER, &hx, NULL), PVCORE_GNTST_okay);
        assert_int_equal(hx, 255);
        assert_int_equal(gflags(&f, 5), PA | RW_PIN);
        /* Everything back, one by one. */
        assert_int_equal(unmap(&f, (l1b << 12) + 256u * 8u, f.granted << 12, hx), PVCORE_GNTST_okay);
        for (i = 0; i < 255; i++) {
            assert_int_equal(unmap(&f, (kinds[k] & PVCORE_GNTMAP_host_map) ? (l1b << 12) + i * 8u : 0,
                                   (kinds[k] & PVCORE_GNTMAP_device_map) ? f.granted << 12 : 0, h[i]),
                             PVCORE_GNTST_okay);
        }
        expect_refs(f.t, f.granted, 1, 0, 0);
        assert_int_equal(gflags(&f, 5), PA);
        check_invariants(f.t);
        gfix_free(&f);
    }
}

static void test_maptrack_exhaustion(void **state)
{
    struct gfix f;
    struct gsnap s;
    uint32_t h[4], hx, i;

    (void)state;
    gfix_init(&f); /* 4 handles */
    grant(&f, 5, PA, MAPPER, f.granted);
    for (i = 0; i < 4; i++) {
        assert_int_equal(map(&f, 0, PVCORE_GNTMAP_device_map | PVCORE_GNTMAP_readonly, 5, GRANTER, &h[i], NULL),
                         PVCORE_GNTST_okay);
        assert_int_equal(h[i], i);
    }
    gsnap_take(&f, &s);
    assert_int_equal(map(&f, 0, PVCORE_GNTMAP_device_map | PVCORE_GNTMAP_readonly, 5, GRANTER, &hx, NULL),
                     PVCORE_GNTST_no_device_space);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 5, GRANTER, &hx, NULL),
                     PVCORE_GNTST_no_device_space);
    gsnap_same(&f, &s);
    gsnap_drop(&s);
    /* A freed handle is the next one given out. */
    assert_int_equal(unmap(&f, 0, f.granted << 12, h[2]), PVCORE_GNTST_okay);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 5, GRANTER, &hx, NULL), PVCORE_GNTST_okay);
    assert_int_equal(hx, 2);
    assert_int_equal(unmap(&f, MAP_VA, 0, hx), PVCORE_GNTST_okay);
    for (i = 0; i < 4; i++) {
        if (i != 2) {
            assert_int_equal(unmap(&f, 0, f.granted << 12, h[i]), PVCORE_GNTST_okay);
        }
    }
    expect_refs(f.t, f.granted, 1, 0, 0);
    gfix_free(&f);

    /* A mapper given no handles at all. */
    gfix_init_opt(&f, 0, 0, 4);
    grant(&f, 5, PA, MAPPER, f.granted);
    gsnap_take(&f, &s);
    assert_int_equal(map(&f, 0, PVCORE_GNTMAP_device_map, 5, GRANTER, &hx, NULL), PVCORE_GNTST_no_device_space);
    assert_int_equal(unmap(&f, 0, f.granted << 12, 0), PVCORE_GNTST_bad_handle);
    assert_int_equal(replace(&f, MAP_VA, SLOT_VA(3), 0), PVCORE_GNTST_bad_handle);
    gsnap_same(&f, &s);
    gsnap_drop(&s);
    gfix_free(&f);
}

static void test_bad_handles(void **state)
{
    struct gfix f;
    struct gsnap s;
    uint32_t h, hd;
    static const uint32_t bad[] = { 1, 2, 3, 4, 5, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu };
    unsigned i;

    (void)state;
    gfix_init(&f);
    grant(&f, 5, PA, MAPPER, f.granted);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 5, GRANTER, &h, NULL), PVCORE_GNTST_okay);
    assert_int_equal(h, 0);
    gsnap_take(&f, &s);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(unmap(&f, MAP_VA, 0, bad[i]), PVCORE_GNTST_bad_handle);
        assert_int_equal(unmap(&f, MAP_VA, f.granted << 12, bad[i]), PVCORE_GNTST_bad_handle);
        assert_int_equal(unmap(&f, 0, 0, bad[i]), PVCORE_GNTST_bad_handle);
        assert_int_equal(replace(&f, MAP_VA, SLOT_VA(3), bad[i]), PVCORE_GNTST_bad_handle);
    }
    gsnap_same(&f, &s);
    gsnap_drop(&s);
    /* The other domain's handle numbers are not the mapper's. */
    assert_int_equal(unmap_as(&f, GRANTER, MAP_VA, 0, 0), PVCORE_GNTST_bad_handle);
    assert_int_equal(map(&f, 0, PVCORE_GNTMAP_device_map, 5, GRANTER, &hd, NULL), PVCORE_GNTST_okay);
    assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
    assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_bad_handle);
    assert_int_equal(unmap(&f, 0, f.granted << 12, hd), PVCORE_GNTST_okay);
    assert_int_equal(unmap(&f, 0, f.granted << 12, hd), PVCORE_GNTST_bad_handle);
    expect_refs(f.t, f.granted, 1, 0, 0);
    gfix_free(&f);
}

static void test_unmap_wrong_address(void **state)
{
    struct gfix f;
    struct gsnap s;
    uint32_t h;
    static const uint64_t bad[] = {
        MAP_VA + 4096, MAP_VA - 4096, UNMAPPED, 0x8000000000000000ull, TOP_PAGE,
        0xFFFF800000000000ull,
    };
    unsigned i;

    (void)state;
    gfix_init(&f);
    grant(&f, 5, PA, MAPPER, f.granted);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_device_map, 5, GRANTER, &h, NULL),
                     PVCORE_GNTST_okay);
    gsnap_take(&f, &s);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(unmap(&f, bad[i], 0, h), PVCORE_GNTST_general_error);
        assert_int_equal(unmap(&f, bad[i], f.granted << 12, h), PVCORE_GNTST_general_error);
    }
    /* A VA mapping named by its PTE's machine address: no. */
    assert_int_equal(unmap(&f, (f.e.l1 << 12) + 8u * 8u, 0, h), PVCORE_GNTST_general_error);
    /* The right address with a wrong bus address: nothing either. */
    assert_int_equal(unmap(&f, MAP_VA, (f.granted + 1) << 12, h), PVCORE_GNTST_general_error);
    gsnap_same(&f, &s);
    gsnap_drop(&s);
    /* Any address inside the page names its PTE, as on Xen (the L1 entry of the page). */
    assert_int_equal(unmap(&f, MAP_VA + 0xFF8, f.granted << 12, h), PVCORE_GNTST_okay);
    expect_refs(f.t, f.granted, 1, 0, 0);
    assert_int_equal(ml1e(&f, 8), 0);
    gfix_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_unmap_va),
        cmocka_unit_test(test_map_errors),
        cmocka_unit_test(test_map_bad_host_addr),
        cmocka_unit_test(test_readonly_map_then_granter_pins),
        cmocka_unit_test(test_writable_map_blocks_pin),
        cmocka_unit_test(test_contains_pte),
        cmocka_unit_test(test_device_map),
        cmocka_unit_test(test_pte_bits),
        cmocka_unit_test(test_map_over_present),
        cmocka_unit_test(test_map_over_grant),
        cmocka_unit_test(test_gtf_bits),
        cmocka_unit_test(test_pin_count_saturation),
        cmocka_unit_test(test_maptrack_exhaustion),
        cmocka_unit_test(test_bad_handles),
        cmocka_unit_test(test_unmap_wrong_address),
    };
    (void)G7;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
