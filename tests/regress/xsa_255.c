/* XSA-255: switching a grant table from version 2 back to version 1 freed the status
 * frames while the guest still had them mapped, leaving it a writable mapping of a page
 * the hypervisor then gave to someone else. Here the status frames are the domain's,
 * held for its whole life (pvcore_domain_set_grant_status_frames()): the guest maps them
 * (read-only and writable), switches back to version 1 and to 2 again, and they stay its
 * own, with exactly the references they had, never free, never given away; a switch with
 * a grant pinned is refused. */
#include "regress.h"
#include "gntenv.h"

static int64_t set_version(struct gfix *f, uint32_t v)
{
    gwrite32(&f->e, OPS, v);
    return ghc(f, PVCORE_GNTTABOP_set_version, OPS, 1);
}

static void xsa_255_status_frames_outlive_v2(void **state)
{
    struct gfix f;
    uint64_t st, got = 0;
    pvcore_mfn_t sm;
    struct pvcore_frame_info before, after;
    uint32_t h;
    uint16_t status;

    (void)state;
    gfix_init(&f);
    st = alloc_frame(f.t, MAPPER);
    sm = pvcore_mfn(st);
    assert_int_equal(pvcore_domain_set_grant_status_frames(f.t->dom[MAPPER], &sm, 1), 0);
    assert_int_equal(pvcore_domain_set_grant_status_frames(f.t->dom[MAPPER], &sm, 1), -PVCORE_EBUSY);
    assert_int_equal(set_version(&f, 2), 0);
    /* The guest asks for its status frames and maps them: writable at slot 10, read-only
     * at slot 11. */
    {
        struct pvcore_gnttab_get_status_frames_x86_64 op;
        memset(&op, 0, sizeof(op));
        op.nr_frames = 1;
        op.dom = PVCORE_DOMID_SELF;
        op.frame_list = OPS + 0x200;
        gwrite(&f.e, OPS, &op, sizeof(op));
        assert_int_equal(ghc(&f, PVCORE_GNTTABOP_get_status_frames, OPS, 1), 0);
        gread(&f.e, OPS, &op, sizeof(op));
        assert_int_equal(op.status, PVCORE_GNTST_okay);
        gread(&f.e, OPS + 0x200, &got, 8);
        assert_int_equal(got, st);
    }
    assert_int_equal(set_entry(f.t, MAPPER, f.e.l1, 10, pte(st, PT_P | PT_RW | PT_US)), 0);
    assert_int_equal(set_entry(f.t, MAPPER, f.e.l1, 11, pte(st, PT_P | PT_US)), 0);
    before = finfo(f.t, st);
    assert_int_equal(before.owner, MAPPER);
    assert_int_equal(before.type, PVCORE_PGT_WRITABLE);
    check_invariants(f.t);

    /* Back to version 1, forth to 2, back to 1: the frame stays, as it was. */
    assert_int_equal(set_version(&f, 1), 0);
    after = finfo(f.t, st);
    assert_memory_equal(&after, &before, sizeof(after));
    assert_int_equal(set_version(&f, 2), 0);
    assert_int_equal(set_version(&f, 1), 0);
    after = finfo(f.t, st);
    assert_memory_equal(&after, &before, sizeof(after));
    assert_int_equal(pte_mfn_test(ml1e(&f, 10)), st);
    check_invariants(f.t);

    /* In version 2 again, the status word of a pinned grant lands in that frame, and
     * while it is pinned the table cannot switch. */
    assert_int_equal(set_version(&f, 2), 0);
    {
        uint16_t hdr[2] = { PVCORE_GTF_permit_access, GRANTER };
        uint64_t frame = f.e.data[6];
        memcpy((uint8_t *)frame_ptr(f.t, f.mgnt_frame) + 20 * 16 + 8, &frame, 8);
        memcpy((uint8_t *)frame_ptr(f.t, f.mgnt_frame) + 20 * 16, hdr, 4);
    }
    assert_int_equal(map_as(&f, GRANTER, MAP_VA, PVCORE_GNTMAP_host_map, 20, MAPPER, &h, NULL), PVCORE_GNTST_okay);
    memcpy(&status, (uint8_t *)frame_ptr(f.t, st) + 20 * 2, 2);
    assert_int_equal(status, PVCORE_GTF_reading | PVCORE_GTF_writing);
    assert_int_equal(set_version(&f, 1), -PVCORE_EBUSY);
    assert_int_equal(unmap_as(&f, GRANTER, MAP_VA, 0, h), PVCORE_GNTST_okay);
    assert_int_equal(set_version(&f, 1), 0);
    after = finfo(f.t, st);
    assert_memory_equal(&after, &before, sizeof(after));

    /* The frame goes only with the domain, after its own mappings. */
    assert_int_equal(gfix_destroy(&f, MAPPER), 0);
    assert_int_equal(finfo(f.t, st).owner, PVCORE_DOMID_INVALID);
    assert_int_equal(finfo(f.t, st).count, 0);
    gfix_free(&f);
}

REGRESS_MAIN("xsa_255", cmocka_unit_test(xsa_255_status_frames_outlive_v2))
