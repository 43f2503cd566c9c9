/* XSA-227: GNTMAP_contains_pte with a misaligned PTE address. Xen wrote the 8-byte grant
 * PTE at any byte offset, straddling two L1 entries: XTF spliced the halves of two entries
 * into an arbitrary PTE (offsets 4 and 8K). Every misaligned address must be refused with
 * GNTST_general_error, both neighbouring entries and every count unchanged; aligned ones
 * work. For both guest widths. */
#include "regress.h"
#include "gntenv.h"

static void misaligned(struct gfix *f, int d, uint64_t l1, uint32_t ref, uint16_t granter)
{
    struct gsnap s;
    unsigned slot, off;
    static const unsigned slots[] = { 8, 9, 100, 511 };

    gsnap_take(f, &s);
    for (slot = 0; slot < 4; slot++) {
        for (off = 1; off < 8; off++) {
            uint64_t at = (l1 << 12) + slots[slot] * 8u + off;
            uint32_t fl = PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_contains_pte;
            assert_int_equal(map_as(f, d, at, fl, ref, granter, NULL, NULL), PVCORE_GNTST_general_error);
            assert_int_equal(map_as(f, d, at, fl | PVCORE_GNTMAP_readonly, ref, granter, NULL, NULL),
                             PVCORE_GNTST_general_error);
            assert_int_equal(map_as(f, d, at, fl | PVCORE_GNTMAP_device_map, ref, granter, NULL, NULL),
                             PVCORE_GNTST_general_error);
        }
    }
    gsnap_same(f, &s);
    gsnap_drop(&s);
}

static void xsa_227_misaligned_pte(void **state)
{
    struct gfix f;
    uint32_t h;
    uint64_t mine;

    (void)state;
    gfix_init(&f);
    grant(&f, 5, PA, MAPPER, f.granted);
    /* XTF's layout: something mapped on both sides of the seam. */
    assert_int_equal(set_entry(f.t, MAPPER, f.e.l1, 9, pte(f.e.data[2], PT_P | PT_RW | PT_US)), 0);
    misaligned(&f, MAPPER, f.e.l1, 5, GRANTER);
    assert_int_equal(gflags(&f, 5), PA);
    /* Aligned, the same slot works and writes one entry. */
    assert_int_equal(map(&f, (f.e.l1 << 12) + 8u * 8u, PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_contains_pte, 5,
                         GRANTER, &h, NULL), PVCORE_GNTST_okay);
    assert_int_equal(pte_mfn_test(ml1e(&f, 8)), f.granted);
    assert_int_equal(ml1e(&f, 9), pte(f.e.data[2], PT_P | PT_RW | PT_US));
    assert_int_equal(unmap(&f, (f.e.l1 << 12) + 8u * 8u, 0, h), PVCORE_GNTST_okay);

    /* A 32-bit (PAE) mapper, whose entries are 8 bytes too. */
    mine = alloc_frame(f.t, MAPPER);
    grant_at(&f, f.mgnt_frame, 9, PA, GRANTER, (uint32_t)mine);
    misaligned(&f, GRANTER, f.g.l1, 9, MAPPER);
    assert_int_equal(gflags_at(&f, f.mgnt_frame, 9), PA);
    expect_refs(f.t, mine, 1, 0, 0);
    expect_refs(f.t, f.granted, 1, 0, 0);
    check_invariants(f.t);
    gfix_free(&f);
}

REGRESS_MAIN("xsa_227", cmocka_unit_test(xsa_227_misaligned_pte))
