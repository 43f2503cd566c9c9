/* XSA-234: grant unmap and replace did not check that the PTE they destroy is the grant's,
 * present and as writable as mapped. XTF: frame1 granted writable mapped at 4K, frame2
 * read-only at 8K; unmap_and_replace steals the 4K PTE (frame1, RW) into 8K's place; an
 * unmap then drops a writable reference frame1's handle no longer matches. Here: stealing
 * a grant PTE is refused outright, an unmap must name its own PTE, and the PTE must still
 * map the frame with the handle's RW; every refusal changes nothing. */
#include "regress.h"
#include "gntenv.h"

static void xsa_234_steal_grant_pte(void **state)
{
    struct gfix f;
    struct gsnap s;
    uint32_t h1, h2, h3;
    uint64_t f1, f2;

    (void)state;
    gfix_init(&f);
    f1 = alloc_frame(f.t, GRANTER);
    f2 = alloc_frame(f.t, GRANTER);
    grant(&f, 5, PA, MAPPER, f1);
    grant(&f, 6, PA | PVCORE_GTF_readonly, MAPPER, f2);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 5, GRANTER, &h1, NULL), PVCORE_GNTST_okay);
    assert_int_equal(map(&f, MAP_VA + 4096, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_readonly, 6, GRANTER, &h2, NULL),
                     PVCORE_GNTST_okay);
    /* frame1 read-only as well, at 12K. */
    assert_int_equal(map(&f, MAP_VA + 8192, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_readonly, 5, GRANTER, &h3, NULL),
                     PVCORE_GNTST_okay);
    expect_refs(f.t, f1, 3, 1, PVCORE_PGT_WRITABLE);
    expect_refs(f.t, f2, 2, 0, 0);
    gsnap_take(&f, &s);
    /* Steal frame1's writable grant PTE into frame2's place, or the read-only one's. */
    assert_int_equal(replace(&f, MAP_VA + 4096, MAP_VA, h2), PVCORE_GNTST_general_error);
    assert_int_equal(replace(&f, MAP_VA + 4096, MAP_VA + 8192, h2), PVCORE_GNTST_general_error);
    assert_int_equal(replace(&f, MAP_VA + 8192, MAP_VA, h3), PVCORE_GNTST_general_error);
    assert_int_equal(replace(&f, MAP_VA, MAP_VA + 8192, h1), PVCORE_GNTST_general_error);
    /* Unmap a handle through a PTE of the same frame but the other RW, or another frame. */
    assert_int_equal(unmap(&f, MAP_VA + 8192, 0, h1), PVCORE_GNTST_general_error);
    assert_int_equal(unmap(&f, MAP_VA, 0, h3), PVCORE_GNTST_general_error);
    assert_int_equal(unmap(&f, MAP_VA + 4096, 0, h1), PVCORE_GNTST_general_error);
    assert_int_equal(replace(&f, MAP_VA + 8192, SLOT_VA(3), h1), PVCORE_GNTST_general_error);
    assert_int_equal(replace(&f, MAP_VA, SLOT_VA(3), h3), PVCORE_GNTST_general_error);
    gsnap_same(&f, &s);
    gsnap_drop(&s);
    /* The granter still cannot make frame1 a page table. */
    assert_int_equal(pin(f.t, GRANTER, 1, f1), -PVCORE_EINVAL);
    /* Each handle through its own PTE. */
    assert_int_equal(unmap(&f, MAP_VA + 8192, 0, h3), PVCORE_GNTST_okay);
    expect_refs(f.t, f1, 2, 1, PVCORE_PGT_WRITABLE);
    assert_int_equal(pin(f.t, GRANTER, 1, f1), -PVCORE_EINVAL);
    assert_int_equal(unmap(&f, MAP_VA, 0, h1), PVCORE_GNTST_okay);
    assert_int_equal(unmap(&f, MAP_VA + 4096, 0, h2), PVCORE_GNTST_okay);
    expect_refs(f.t, f1, 1, 0, 0);
    expect_refs(f.t, f2, 1, 0, 0);
    assert_int_equal(ml1e(&f, 8), 0);
    assert_int_equal(ml1e(&f, 9), 0);
    assert_int_equal(ml1e(&f, 10), 0);
    assert_int_equal(pin(f.t, GRANTER, 1, f1), 0);
    check_invariants(f.t);
    gfix_free(&f);
}

/* The guest cannot make the PTE disagree with its handle in the first place: an
 * mmu_update or update_va_mapping that would drop RW (or move it to another frame) is
 * refused, so the unmap's check has nothing to catch. */
static void xsa_234_pte_rewrite(void **state)
{
    struct gfix f;
    uint32_t h;
    uint64_t e;

    (void)state;
    gfix_init(&f);
    grant(&f, 5, PA, MAPPER, f.granted);
    assert_int_equal(map(&f, MAP_VA, PVCORE_GNTMAP_host_map, 5, GRANTER, &h, NULL), PVCORE_GNTST_okay);
    e = ml1e(&f, 8);
    assert_int_equal(set_entry(f.t, MAPPER, f.e.l1, 8, e & ~PT_RW), -PVCORE_EINVAL);
    assert_int_equal(set_entry(f.t, MAPPER, f.e.l1, 8, pte(f.e.data[0], PT_P | PT_RW | PT_US)), -PVCORE_EINVAL);
    assert_int_equal(pvcore_update_va_mapping(vcpu(f.t, MAPPER, 0), MAP_VA, e & ~PT_RW & ~PTE_GNTTAB_BIT, 0,
                                              PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(ml1e(&f, 8), e);
    assert_int_equal(unmap(&f, MAP_VA, 0, h), PVCORE_GNTST_okay);
    expect_refs(f.t, f.granted, 1, 0, 0);
    check_invariants(f.t);
    gfix_free(&f);
}

REGRESS_MAIN("xsa_234", cmocka_unit_test(xsa_234_steal_grant_pte), cmocka_unit_test(xsa_234_pte_rewrite))
