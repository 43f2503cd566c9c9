/*
 * The frames the hypervisor writes into: the shared-info page and the grant-table frames.
 *
 * The attack (found in review): the shared-info page was an ordinary frame of the guest
 * with no type held on it. A guest could pin it as an L1 table, hook it into its tables,
 * and take a page fault at the address 0x1234567067: the library wrote that address into
 * vcpu_info's cr2, which is L1 entry 2 of the "table", a present writable mapping of any
 * machine frame, holding no reference. Sending on its own event channels set bits there
 * too. Now both kinds of frame are held with a writable type for as long as the domain
 * names them (internal/held.h), as Xen shares them: they can never become page tables or
 * descriptor pages, and frames that already are one are refused.
 */
#include "pvtest.h"

#include <pvcore/cpu.h>
#include <pvcore/grant.h>

static void shared_info_never_a_table(void **state)
{
    struct pvtest *t = pvtest_new();
    uint64_t si, l1, other;
    struct pvcore_frame_info *before;
    int d;

    (void)state;
    for (d = 1; d <= 2; d++) {
        si = alloc_frame(t, d);
        l1 = alloc_frame(t, d);
        other = alloc_frame(t, d == 1 ? 2 : 1);
        /* refused: another domain's frame; a page table */
        assert_int_equal(pvcore_domain_set_shared_info(t->dom[d], pvcore_mfn(other)), -PVCORE_EINVAL);
        assert_int_equal(pin(t, d, 1, l1), 0);
        before = snapshot(t);
        assert_int_equal(pvcore_domain_set_shared_info(t->dom[d], pvcore_mfn(l1)), -PVCORE_EBUSY);
        assert_same_state(t, before);
        free(before);
        /* accepted: then it is writable for good, and the attack's pin is refused */
        assert_int_equal(pvcore_domain_set_shared_info(t->dom[d], pvcore_mfn(si)), 0);
        assert_int_equal(finfo(t, si).type, PVCORE_PGT_WRITABLE);
        before = snapshot(t);
        assert_int_equal(pin(t, d, 1, si), -PVCORE_EINVAL);
        assert_same_state(t, before);
        free(before);
        /* once only */
        assert_int_equal(pvcore_domain_set_shared_info(t->dom[d], pvcore_mfn(l1)), -PVCORE_EBUSY);
        check_invariants(t);
    }
    pvtest_free(t);
}

static void grant_frames_never_tables(void **state)
{
    struct pvtest *t = pvtest_new();
    pvcore_mfn_t f[3];
    struct pvcore_frame_info *before;
    unsigned i;

    (void)state;
    for (i = 0; i < 3; i++) {
        f[i] = pvcore_mfn(alloc_frame(t, 1));
    }
    /* one of them a page table: none taken, none held */
    assert_int_equal(pin(t, 1, 1, f[2].v), 0);
    before = snapshot(t);
    assert_int_equal(pvcore_domain_set_grant_frames(t->dom[1], f, 3), -PVCORE_EBUSY);
    assert_same_state(t, before);
    free(before);
    check_invariants(t);
    assert_int_equal(pvcore_domain_set_grant_frames(t->dom[1], f, 2), 0);
    assert_int_equal(pin(t, 1, 1, f[0].v), -PVCORE_EINVAL);
    assert_int_equal(pin(t, 1, 2, f[1].v), -PVCORE_EINVAL);
    assert_int_equal(pvcore_domain_set_grant_frames(t->dom[1], f, 1), -PVCORE_EBUSY);
    check_invariants(t);
    pvtest_free(t);
}

/* Destruction lets go of them: every frame free afterwards. */
static void released_at_destruction(void **state)
{
    struct pvtest *t = pvtest_new();
    pvcore_mfn_t g = pvcore_mfn(alloc_frame(t, 1));
    uint64_t si = alloc_frame(t, 1);
    int rc;

    (void)state;
    assert_int_equal(pvcore_domain_set_shared_info(t->dom[1], pvcore_mfn(si)), 0);
    assert_int_equal(pvcore_domain_set_grant_frames(t->dom[1], &g, 1), 0);
    while ((rc = pvcore_domain_destroy(t->dom[1])) == -PVCORE_ERESTART) {
    }
    assert_int_equal(rc, 0);
    assert_int_equal(finfo(t, si).count, 0);
    assert_int_equal(finfo(t, g.v).count, 0);
    check_invariants(t);
    pvtest_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shared_info_never_a_table),
        cmocka_unit_test(grant_frames_never_tables),
        cmocka_unit_test(released_at_destruction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
