/*
 * memory_op (reservations, exchange, the stat commands) and GNTTABOP_transfer, from guests
 * of both widths through pvcore_hypercall(), with the invariant checker after every call:
 * every operation, every error the ABI gives, and the state after a failure.
 */
#include "memenv.h"

struct mfix {
    struct gfix g;
    struct framesrc src;
};

static void mfix_init(struct mfix *f)
{
    gfix_init(&f->g);
    framesrc_init(&f->src, f->g.t);
}

static uint64_t tot(struct gfix *f, int d)
{
    return pvcore_domain_tot_pages(f->t->dom[d]);
}

static uint64_t freed(struct gfix *f)
{
    struct pvcore_host_stats st;
    pvcore_host_backend_stats(f->t->hb, &st);
    return st.frames_freed;
}

static bool owned_by(struct gfix *f, uint64_t mfn, uint16_t d)
{
    struct pvcore_frame_info fi = finfo(f->t, mfn);
    return fi.owner == d && (fi.flags & PVCORE_FRAME_ALLOCATED) && fi.count == 1;
}

/* Field by field: struct copies need not keep padding. */
static void assert_same_frame(const struct pvcore_frame_info *a, const struct pvcore_frame_info *b)
{
    assert_int_equal(a->owner, b->owner);
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->type_count, b->type_count);
    assert_int_equal(a->linear, b->linear);
}

static bool is_free(struct gfix *f, uint64_t mfn)
{
    return finfo(f->t, mfn).owner == PVCORE_DOMID_INVALID;
}

/* ---- increase_reservation ------------------------------------------------------------------ */

static void test_increase(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    uint64_t before, i, mfn;
    (void)state;

    mfix_init(&m);
    before = tot(f, MAPPER);
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, LIST_VA, 3, 0, 0,
                             PVCORE_DOMID_SELF), 3);
    assert_int_equal(tot(f, MAPPER), before + 3);
    for (i = 0; i < 3; i++) {
        mfn = get_ext(f, MAPPER, LIST_VA, i);
        assert_true(mfn >= FRAMESRC_FIRST && mfn < TEST_FRAMES);
        assert_true(owned_by(f, mfn, MAPPER));
        assert_int_equal(finfo(f->t, mfn).type, PVCORE_PGT_NONE);
    }
    /* Order 2: four contiguous frames, the first aligned. */
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, LIST_VA, 1, 2, 0,
                             PVCORE_DOMID_SELF), 1);
    mfn = get_ext(f, MAPPER, LIST_VA, 0);
    assert_int_equal(mfn & 3u, 0);
    for (i = 0; i < 4; i++) {
        assert_true(owned_by(f, mfn + i, MAPPER));
    }
    /* No list: the frames are allocated, nothing is written. */
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, 0, 2, 0, 0,
                             PVCORE_DOMID_SELF), 2);
    assert_int_equal(tot(f, MAPPER), before + 9);
    /* A 32-bit guest: 4-byte entries. */
    put_ext(f, GRANTER, LIST_VA, 1, 0xABCDu);
    assert_int_equal(resv_as(f, GRANTER, PVCORE_XENMEM_increase_reservation, LIST_VA, 1, 0, 0,
                             PVCORE_DOMID_SELF), 1);
    assert_true(owned_by(f, get_ext(f, GRANTER, LIST_VA, 0), GRANTER));
    assert_int_equal(get_ext(f, GRANTER, LIST_VA, 1), 0xABCDu); /* untouched */
    gfix_free(f);
}

static void test_increase_limits(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    uint64_t before;
    (void)state;

    mfix_init(&m);
    before = tot(f, MAPPER);
    /* Orders above 9 for an unprivileged caller; address bits of a page or less. */
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, LIST_VA, 1, 10, 0,
                             PVCORE_DOMID_SELF), 0);
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, LIST_VA, 1, 0,
                             PVCORE_XENMEMF_address_bits(12), PVCORE_DOMID_SELF), 0);
    /* Below 2^23 bytes: the source has nothing there. */
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, LIST_VA, 1, 0,
                             PVCORE_XENMEMF_address_bits(23), PVCORE_DOMID_SELF), 0);
    /* Virtual NUMA nodes and exact nodes other than 0 do not exist; node 0 does. */
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, LIST_VA, 1, 0,
                             PVCORE_XENMEMF_vnode, PVCORE_DOMID_SELF), 0);
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, LIST_VA, 1, 0,
                             PVCORE_XENMEMF_exact_node(1), PVCORE_DOMID_SELF), 0);
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, LIST_VA, 1, 0,
                             PVCORE_XENMEMF_exact_node(0), PVCORE_DOMID_SELF), 1);
    /* Too many extents to encode a continuation. */
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, LIST_VA,
                             (UINT32_MAX >> 6) + 1ull, 0, 0, PVCORE_DOMID_SELF), 0);
    /* A start extent at or past the end is the answer. */
    put_resv(f, MAPPER, RESV_VA, LIST_VA, 2, 0, 0, PVCORE_DOMID_SELF);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_increase_reservation | (5u << 6), RESV_VA), 5);
    /* Another domain: not for an unprivileged caller; an unknown one. */
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, LIST_VA, 1, 0, 0, GRANTER), 0);
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, LIST_VA, 1, 0, 0, 7), 0);
    /* An unreadable structure; a list outside the guest's space. */
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_increase_reservation, UNMAPPED), 0);
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, 0xFFFFFFFFFFFFFFFCull, 1,
                             0, 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(tot(f, MAPPER), before + 1);
    /* A list that faults: the frame is allocated, unreported, not counted (as Xen). */
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, UNMAPPED, 1, 0, 0,
                             PVCORE_DOMID_SELF), 0);
    assert_int_equal(tot(f, MAPPER), before + 2);
    /* The source fails, or answers frames that are not free: nothing is taken. */
    m.src.fail = 1;
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, LIST_VA, 2, 0, 0,
                             PVCORE_DOMID_SELF), 0);
    m.src.fail = 0;
    m.src.lie = f->granted;
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, LIST_VA, 1, 0, 0,
                             PVCORE_DOMID_SELF), 0);
    assert_true(owned_by(f, f->granted, GRANTER));
    m.src.lie = TEST_FRAMES + 5u;
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, LIST_VA, 1, 0, 0,
                             PVCORE_DOMID_SELF), 0);
    m.src.lie = 0;
    /* No source at all. */
    pvcore_machine_set_frame_source(f->t->m, NULL, NULL);
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_increase_reservation, LIST_VA, 1, 0, 0,
                             PVCORE_DOMID_SELF), 0);
    assert_int_equal(tot(f, MAPPER), before + 2);
    gfix_free(f);
}

static void test_increase_privileged_and_max_pages(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    struct pvcore_domain_config cfg;
    struct pvcore_domain *small;
    void *mem;
    size_t sz = pvcore_domain_size(1);
    (void)state;

    mfix_init(&m);
    gfix_priv(f);
    /* The privileged domain may grow another, with larger extents. */
    assert_int_equal(resv_as(f, PRIV, PVCORE_XENMEM_increase_reservation, LIST_VA, 1, 10, 0, MAPPER), 1);
    assert_true(owned_by(f, get_ext(f, PRIV, LIST_VA, 0), MAPPER));
    assert_int_equal(resv_as(f, PRIV, PVCORE_XENMEM_increase_reservation, LIST_VA, 1, 13, 0, MAPPER), 0);
    /* A domain with room for three frames gets three of five. */
    memset(&cfg, 0, sizeof(cfg));
    cfg.domid = 5;
    cfg.nr_vcpus = 1;
    cfg.max_pages = 3;
    mem = aligned_alloc(64, (sz + 63) & ~(size_t)63);
    assert_int_equal(pvcore_domain_create(f->t->m, mem, sz, &cfg, &small), 0);
    assert_int_equal(resv_as(f, PRIV, PVCORE_XENMEM_increase_reservation, LIST_VA, 5, 0, 0, 5), 3);
    assert_int_equal(pvcore_domain_tot_pages(small), 3);
    /* An order-2 extent does not fit in one frame of room. */
    assert_int_equal(resv_as(f, PRIV, PVCORE_XENMEM_decrease_reservation, LIST_VA, 1, 0, 0, 5), 1);
    assert_int_equal(resv_as(f, PRIV, PVCORE_XENMEM_increase_reservation, LIST_VA, 1, 2, 0, 5), 0);
    assert_int_equal(pvcore_domain_tot_pages(small), 2);
    /* Its stat commands, from the privileged domain. */
    gwrite(&f->p, LIST2_VA, &(uint16_t){ 5 }, 2);
    assert_int_equal(memop(f, PRIV, PVCORE_XENMEM_current_reservation, LIST2_VA), 2);
    assert_int_equal(memop(f, PRIV, PVCORE_XENMEM_maximum_reservation, LIST2_VA), 3);
    while (pvcore_domain_destroy(small) == -PVCORE_ERESTART) {
    }
    assert_int_equal(pvcore_domain_tot_pages(small), 0);
    check_invariants(f->t);
    free(mem);
    gfix_free(f);
}

/* ---- populate_physmap ---------------------------------------------------------------------- */

static void test_populate(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    uint64_t p2m[TEST_FRAMES];
    uint64_t mfn, i;
    (void)state;

    mfix_init(&m);
    assert_int_equal(pvcore_domain_set_p2m(f->t->dom[MAPPER], p2m, TEST_FRAMES), 0);
    put_ext(f, MAPPER, LIST_VA, 0, 100);
    put_ext(f, MAPPER, LIST_VA, 1, 200);
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_populate_physmap, LIST_VA, 2, 1, 0,
                             PVCORE_DOMID_SELF), 2);
    for (i = 0; i < 2; i++) {
        mfn = get_ext(f, MAPPER, LIST_VA, i);
        /* The P2M says so, and the checker proves the M2P agrees. */
        assert_int_equal(p2m[100 + 100 * i], mfn);
        assert_int_equal(p2m[101 + 100 * i], mfn + 1);
        assert_true(owned_by(f, mfn, MAPPER) && owned_by(f, mfn + 1, MAPPER));
    }
    /* Populate-on-demand: refused for oneself, a no-op for another domain. */
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_populate_physmap, LIST_VA, 1, 0,
                             PVCORE_XENMEMF_populate_on_demand, PVCORE_DOMID_SELF), 0);
    gfix_priv(f);
    put_ext(f, PRIV, LIST_VA, 0, 300);
    assert_int_equal(resv_as(f, PRIV, PVCORE_XENMEM_populate_physmap, LIST_VA, 1, 0,
                             PVCORE_XENMEMF_populate_on_demand, MAPPER), 1);
    assert_int_equal(p2m[300], UINT64_MAX);
    assert_int_equal(get_ext(f, PRIV, LIST_VA, 0), 300);
    /* An unreadable list stops it with nothing done; so does a list of no address. */
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_populate_physmap, UNMAPPED, 1, 0, 0,
                             PVCORE_DOMID_SELF), 0);
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_populate_physmap, 0, 1, 0, 0,
                             PVCORE_DOMID_SELF), 0);
    /* A 32-bit guest. */
    put_ext(f, GRANTER, LIST_VA, 0, 77);
    assert_int_equal(resv_as(f, GRANTER, PVCORE_XENMEM_populate_physmap, LIST_VA, 1, 0, 0,
                             PVCORE_DOMID_SELF), 1);
    assert_true(owned_by(f, get_ext(f, GRANTER, LIST_VA, 0), GRANTER));
    assert_int_equal(pvcore_domain_set_p2m(f->t->dom[MAPPER], NULL, 0), 0);
    gfix_free(f);
}

/* ---- decrease_reservation ------------------------------------------------------------------ */

static void test_decrease(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    uint64_t a, b, c, before, fr;
    (void)state;

    mfix_init(&m);
    a = alloc_frame(f->t, MAPPER);
    b = alloc_frame(f->t, MAPPER);
    c = alloc_frame(f->t, MAPPER);
    before = tot(f, MAPPER);
    fr = freed(f);
    put_ext(f, MAPPER, LIST_VA, 0, a);
    put_ext(f, MAPPER, LIST_VA, 1, b);
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_decrease_reservation, LIST_VA, 2, 0, 0,
                             PVCORE_DOMID_SELF), 2);
    assert_true(is_free(f, a) && is_free(f, b));
    assert_int_equal(tot(f, MAPPER), before - 2);
    assert_int_equal(freed(f), fr + 2);
    /* Stops at the first frame that is not the caller's (the granter's, a free one, none
     * at all), the extents before it done. */
    put_ext(f, MAPPER, LIST_VA, 0, c);
    put_ext(f, MAPPER, LIST_VA, 1, f->granted);
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_decrease_reservation, LIST_VA, 2, 0, 0,
                             PVCORE_DOMID_SELF), 1);
    assert_true(is_free(f, c));
    assert_true(owned_by(f, f->granted, GRANTER));
    put_ext(f, MAPPER, LIST_VA, 0, a);
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_decrease_reservation, LIST_VA, 1, 0, 0,
                             PVCORE_DOMID_SELF), 0);
    put_ext(f, MAPPER, LIST_VA, 0, TEST_FRAMES + 1u);
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_decrease_reservation, LIST_VA, 1, 0, 0,
                             PVCORE_DOMID_SELF), 0);
    put_ext(f, MAPPER, LIST_VA, 0, UINT64_MAX);
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_decrease_reservation, LIST_VA, 1, 1, 0,
                             PVCORE_DOMID_SELF), 0);
    /* A mapped frame (one of its own data pages): its allocation reference goes, the
     * mapping keeps it alive, as on Xen. */
    put_ext(f, MAPPER, LIST_VA, 0, f->e.data[3]);
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_decrease_reservation, LIST_VA, 1, 0, 0,
                             PVCORE_DOMID_SELF), 1);
    assert_int_equal(finfo(f->t, f->e.data[3]).owner, MAPPER);
    assert_false(finfo(f->t, f->e.data[3]).flags & PVCORE_FRAME_ALLOCATED);
    /* Again: nothing to drop, counted. */
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_decrease_reservation, LIST_VA, 1, 0, 0,
                             PVCORE_DOMID_SELF), 1);
    /* Part of an extent: the frames before the bad one stay freed; the extent is not counted. */
    a = alloc_frame(f->t, MAPPER);
    b = alloc_frame(f->t, MAPPER); /* a + 1 */
    assert_int_equal(b, a + 1);
    (void)alloc_frame(f->t, GRANTER); /* a + 2 */
    put_ext(f, MAPPER, LIST_VA, 0, a);
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_decrease_reservation, LIST_VA, 1, 2, 0,
                             PVCORE_DOMID_SELF), 0);
    assert_true(is_free(f, a) && is_free(f, b));
    gfix_free(f);
}

/* XSA-252: a pinned table is not unpinned by decrease_reservation; it goes when unpinned. */
static void test_decrease_pinned(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    uint64_t l1, fr;
    (void)state;

    mfix_init(&m);
    l1 = alloc_frame(f->t, MAPPER);
    assert_int_equal(pin(f->t, MAPPER, 1, l1), 0);
    put_ext(f, MAPPER, LIST_VA, 0, l1);
    assert_int_equal(resv_as(f, MAPPER, PVCORE_XENMEM_decrease_reservation, LIST_VA, 1, 0, 0,
                             PVCORE_DOMID_SELF), 1);
    assert_true(finfo(f->t, l1).flags & PVCORE_FRAME_PINNED);
    assert_int_equal(finfo(f->t, l1).owner, MAPPER);
    fr = freed(f);
    assert_int_equal(unpin(f->t, MAPPER, l1), 0);
    assert_true(is_free(f, l1));
    assert_int_equal(freed(f), fr + 1);
    check_invariants(f->t);
    gfix_free(f);
}

/* Continuations: a machine with a work budget of 2 stops between extents, and the
 * continuation carries the next extent in cmd. */
static void test_continuation(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    unsigned restarts = 0;
    uint64_t i;
    (void)state;

    gfix_init_opt(f, 2, 4, 4);
    framesrc_init(&m.src, f->t);
    put_resv(f, MAPPER, RESV_VA, LIST_VA, 20, 0, 0, PVCORE_DOMID_SELF);
    assert_int_equal(memop_n(f, MAPPER, PVCORE_XENMEM_increase_reservation, RESV_VA, &restarts), 20);
    assert_true(restarts >= 5);
    for (i = 0; i < 20; i++) {
        assert_true(owned_by(f, get_ext(f, MAPPER, LIST_VA, i), MAPPER));
    }
    assert_int_equal(memop_n(f, MAPPER, PVCORE_XENMEM_decrease_reservation, RESV_VA, &restarts), 20);
    assert_true(restarts >= 5);
    for (i = 0; i < 20; i++) {
        assert_true(is_free(f, get_ext(f, MAPPER, LIST_VA, i)));
    }
    gfix_free(f);
}

/* ---- exchange ---------------------------------------------------------------------------------- */

static void test_exchange(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    uint64_t p2m[TEST_FRAMES];
    uint64_t a, b, out, before;
    (void)state;

    mfix_init(&m);
    assert_int_equal(pvcore_domain_set_p2m(f->t->dom[MAPPER], p2m, TEST_FRAMES), 0);
    a = alloc_frame(f->t, MAPPER);
    b = alloc_frame(f->t, MAPPER);
    before = tot(f, MAPPER);
    /* Two single frames for one contiguous pair at guest frames 500-501. */
    put_exch(f, MAPPER, 2, 0, 1, 1, 0, 0);
    put_ext(f, MAPPER, LIST_VA, 0, a);
    put_ext(f, MAPPER, LIST_VA, 1, b);
    put_ext(f, MAPPER, LIST2_VA, 0, 500);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), 0);
    assert_int_equal(exch_done(f, MAPPER), 2);
    out = get_ext(f, MAPPER, LIST2_VA, 0);
    assert_int_equal(out & 1u, 0);
    assert_true(owned_by(f, out, MAPPER) && owned_by(f, out + 1, MAPPER));
    assert_true(is_free(f, a) && is_free(f, b));
    assert_int_equal(p2m[500], out);
    assert_int_equal(p2m[501], out + 1);
    assert_int_equal(p2m[a], UINT64_MAX);
    assert_int_equal(tot(f, MAPPER), before);
    /* The other way: an order-1 extent for two single frames. */
    put_exch(f, MAPPER, 1, 1, 2, 0, 0, 0);
    put_ext(f, MAPPER, LIST_VA, 0, out);
    put_ext(f, MAPPER, LIST2_VA, 0, 600);
    put_ext(f, MAPPER, LIST2_VA, 1, 700);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), 0);
    assert_int_equal(exch_done(f, MAPPER), 1);
    assert_int_equal(p2m[600], get_ext(f, MAPPER, LIST2_VA, 0));
    assert_int_equal(p2m[700], get_ext(f, MAPPER, LIST2_VA, 1));
    assert_true(is_free(f, out) && is_free(f, out + 1));
    assert_int_equal(tot(f, MAPPER), before);
    /* Everything done already: 0 at once. */
    put_exch(f, MAPPER, 1, 0, 1, 0, 0, 1);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), 0);
    /* A 32-bit guest, low frames asked for (below 2^24 bytes: all of the test machine). */
    a = alloc_frame(f->t, GRANTER);
    put_exch(f, GRANTER, 1, 0, 1, 0, PVCORE_XENMEMF_address_bits(24), 0);
    put_ext(f, GRANTER, LIST_VA, 0, a);
    put_ext(f, GRANTER, LIST2_VA, 0, 9);
    assert_int_equal(memop(f, GRANTER, PVCORE_XENMEM_exchange, RESV_VA), 0);
    assert_int_equal(exch_done(f, GRANTER), 1);
    assert_true(owned_by(f, get_ext(f, GRANTER, LIST2_VA, 0), GRANTER));
    assert_true(is_free(f, a));
    assert_int_equal(pvcore_domain_set_p2m(f->t->dom[MAPPER], NULL, 0), 0);
    gfix_free(f);
}

static void test_exchange_errors(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    uint64_t a, b, before;
    struct pvcore_frame_info sa;
    (void)state;

    mfix_init(&m);
    a = alloc_frame(f->t, MAPPER);
    b = alloc_frame(f->t, MAPPER);
    before = tot(f, MAPPER);
    put_ext(f, MAPPER, LIST_VA, 0, a);
    put_ext(f, MAPPER, LIST_VA, 1, b);
    put_ext(f, MAPPER, LIST2_VA, 0, 40);
    put_ext(f, MAPPER, LIST2_VA, 1, 41);
    sa = finfo(f->t, a);

    /* Orders past the caller's maximum: -EPERM, nr_exchanged written back as it was. */
    put_exch(f, MAPPER, 1, 10, 1, 10, 0, 0);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), -PVCORE_EPERM);
    put_exch(f, MAPPER, 1, 0, 1, 40, 0, 0);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), -PVCORE_EPERM);
    /* Sizes that differ, domains that differ, nr_exchanged past the end: -EINVAL. */
    put_exch(f, MAPPER, 2, 0, 1, 0, 0, 0);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), -PVCORE_EINVAL);
    put_exch(f, MAPPER, 1, 0, 1, 0, 0, 0);
    put_resv(f, MAPPER, RESV_VA + 32, LIST2_VA, 1, 0, 0, MAPPER);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), -PVCORE_EINVAL);
    put_exch(f, MAPPER, 1, 0, 1, 0, 0, 2);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), -PVCORE_EINVAL);
    assert_int_equal(exch_done(f, MAPPER), 2);
    /* A start extent in cmd: -EINVAL; an unreadable structure: -EFAULT. */
    put_exch(f, MAPPER, 1, 0, 1, 0, 0, 0);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange | (1u << 6), RESV_VA), -PVCORE_EINVAL);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, UNMAPPED), -PVCORE_EFAULT);
    /* Virtual nodes: -EINVAL. Another domain: -EPERM; none: -ESRCH. */
    put_exch(f, MAPPER, 1, 0, 1, 0, PVCORE_XENMEMF_vnode, 0);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), -PVCORE_EINVAL);
    put_resv(f, MAPPER, RESV_VA, LIST_VA, 1, 0, 0, GRANTER);
    put_resv(f, MAPPER, RESV_VA + 32, LIST2_VA, 1, 0, 0, GRANTER);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), -PVCORE_EPERM);
    put_resv(f, MAPPER, RESV_VA, LIST_VA, 1, 0, 0, 7);
    put_resv(f, MAPPER, RESV_VA + 32, LIST2_VA, 1, 0, 0, 7);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), -PVCORE_ESRCH);
    /* Lists outside the guest's space: -EFAULT. */
    put_exch(f, MAPPER, 1, 0, 1, 0, 0, 0);
    put_resv(f, MAPPER, RESV_VA + 32, 0xFFFFFFFFFFFFFFFCull, 1, 0, 0, PVCORE_DOMID_SELF);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), -PVCORE_EFAULT);
    assert_int_equal(exch_done(f, MAPPER), 0);
    {
        struct pvcore_frame_info now = finfo(f->t, a);
        assert_same_frame(&sa, &now);
    }

    /* The second input frame is mapped (a data page): -EINVAL, the first one back where
     * it was, nothing exchanged. */
    put_exch(f, MAPPER, 2, 0, 1, 1, 0, 0);
    put_ext(f, MAPPER, LIST_VA, 1, f->e.data[2]);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), -PVCORE_EINVAL);
    assert_int_equal(exch_done(f, MAPPER), 0);
    assert_true(owned_by(f, a, MAPPER));
    /* Another domain's frame. */
    put_ext(f, MAPPER, LIST_VA, 1, f->granted);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), -PVCORE_EINVAL);
    assert_true(owned_by(f, a, MAPPER) && owned_by(f, f->granted, GRANTER));
    /* No frames to be had: -ENOMEM, both input frames back. */
    put_ext(f, MAPPER, LIST_VA, 1, b);
    m.src.fail = 1;
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), -PVCORE_ENOMEM);
    assert_true(owned_by(f, a, MAPPER) && owned_by(f, b, MAPPER));
    m.src.fail = 0;
    /* An unwritable output list: the chunk's frames are the domain's, unreported: -EFAULT
     * and this chunk not counted (as Xen). */
    put_exch(f, MAPPER, 2, 0, 2, 0, 0, 0);
    put_ext(f, MAPPER, LIST_VA, 0, a);
    put_ext(f, MAPPER, LIST_VA, 1, b);
    put_resv(f, MAPPER, RESV_VA + 32, UNMAPPED, 2, 0, 0, PVCORE_DOMID_SELF);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), -PVCORE_EFAULT);
    assert_int_equal(exch_done(f, MAPPER), 0);
    assert_true(is_free(f, a));
    assert_int_equal(tot(f, MAPPER), before);
    gfix_free(f);
}

/* XSA-212: a continuation's nr_exchanged is the guest's: an index that puts the output
 * element outside the guest's space (here at a hypervisor address), or wraps around, is
 * refused before anything is stolen or written. */
static void test_exchange_forged_index(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    uint64_t a, idx;
    (void)state;

    mfix_init(&m);
    a = alloc_frame(f->t, MAPPER);
    put_ext(f, MAPPER, LIST_VA, 0, a);
    idx = (0xFFFF830000000000ull - LIST2_VA) / 8u;
    put_exch(f, MAPPER, idx + 1u, 0, idx + 1u, 0, 0, idx);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), -PVCORE_EFAULT);
    assert_int_equal(exch_done(f, MAPPER), idx);
    assert_true(owned_by(f, a, MAPPER));
    idx = (0ull - LIST2_VA) / 8u + 1u; /* wraps to address 0x8.. */
    put_exch(f, MAPPER, idx + 1u, 0, idx + 1u, 0, 0, idx);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_exchange, RESV_VA), -PVCORE_EFAULT);
    assert_true(owned_by(f, a, MAPPER));
    gfix_free(f);
}

/* ---- the stat commands ---------------------------------------------------------------------- */

static void test_stats(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    uint16_t id;
    (void)state;

    mfix_init(&m);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_maximum_ram_page, 0), TEST_FRAMES);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_maximum_ram_page | (1u << 6), 0), -PVCORE_EINVAL);
    id = PVCORE_DOMID_SELF;
    gwrite(&f->e, LIST_VA, &id, 2);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_current_reservation, LIST_VA), (int64_t)tot(f, MAPPER));
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_maximum_reservation, LIST_VA), TEST_FRAMES);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_maximum_gpfn, LIST_VA), 0); /* no shared info */
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_current_reservation | (1u << 6), LIST_VA),
                     -PVCORE_EINVAL);
    id = GRANTER;
    gwrite(&f->e, LIST_VA, &id, 2);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_current_reservation, LIST_VA), -PVCORE_EPERM);
    id = 7;
    gwrite(&f->e, LIST_VA, &id, 2);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_maximum_reservation, LIST_VA), -PVCORE_ESRCH);
    assert_int_equal(memop(f, MAPPER, PVCORE_XENMEM_maximum_gpfn, UNMAPPED), -PVCORE_EFAULT);
    /* maximum_gpfn: the shared info's max_pfn, less one. */
    {
        uint64_t si = alloc_frame(f->t, GRANTER);
        uint32_t max_pfn = 0x1234;
        assert_int_equal(pvcore_domain_set_shared_info(f->t->dom[GRANTER], pvcore_mfn(si)), 0);
        memcpy((uint8_t *)frame_ptr(f->t, si) + offsetof(struct pvcore_shared_info_x86_32, arch.max_pfn),
               &max_pfn, 4);
        id = PVCORE_DOMID_SELF;
        gwrite(&f->g, LIST_VA, &id, 2);
        assert_int_equal(memop(f, GRANTER, PVCORE_XENMEM_maximum_gpfn, LIST_VA), 0x1233);
    }
    gfix_free(f);
}

/* ---- transfer ---------------------------------------------------------------------------------- */

/* One 64-bit transfer op, its status preset to a value no op returns. */
static void xop(struct pvcore_gnttab_transfer_x86_64 *o, uint64_t mfn, uint16_t domid, uint32_t ref)
{
    memset(o, 0, sizeof(*o));
    o->mfn = mfn;
    o->domid = domid;
    o->ref = ref;
    o->status = 0x5555;
}

/* The mapper issues n 64-bit transfer ops from va (written there first) and reads them
 * back: the call's return value. */
static int64_t xfer_batch(struct gfix *f, uint64_t va, struct pvcore_gnttab_transfer_x86_64 *ops, uint32_t n)
{
    int64_t rc;

    gwrite(&f->e, va, ops, n * sizeof(*ops));
    rc = ghc_as(f, MAPPER, PVCORE_GNTTABOP_transfer, va, n);
    gread(&f->e, va, ops, n * sizeof(*ops));
    return rc;
}


static void test_transfer(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    uint64_t p2m_g[TEST_FRAMES], p2m_m[TEST_FRAMES];
    uint64_t fr, tm, tg;
    (void)state;

    mfix_init(&m);
    assert_int_equal(pvcore_domain_set_p2m(f->t->dom[GRANTER], p2m_g, TEST_FRAMES), 0);
    assert_int_equal(pvcore_domain_set_p2m(f->t->dom[MAPPER], p2m_m, TEST_FRAMES), 0);
    fr = alloc_frame(f->t, MAPPER);
    memset(frame_ptr(f->t, fr), 0x5A, 4096);
    assert_int_equal(p2m_m[fr], fr);
    tm = tot(f, MAPPER);
    tg = tot(f, GRANTER);
    /* The 32-bit granter accepts a frame from the mapper at its guest frame 321. */
    grant(f, 3, ACCEPT, MAPPER, 321);
    assert_int_equal(transfer_as(f, MAPPER, fr, GRANTER, 3), PVCORE_GNTST_okay);
    assert_true(owned_by(f, fr, GRANTER));
    assert_int_equal(finfo(f->t, fr).type, PVCORE_PGT_NONE);
    assert_int_equal(gflags(f, 3), XFER_DONE);
    assert_int_equal(gframe_at(f, f->gnt_frame, 3), fr);
    assert_int_equal(((uint8_t *)frame_ptr(f->t, fr))[100], 0x5A); /* the contents went along */
    assert_int_equal(p2m_g[321], fr);
    assert_int_equal(p2m_m[fr], UINT64_MAX);
    assert_int_equal(tot(f, MAPPER), tm - 1);
    assert_int_equal(tot(f, GRANTER), tg + 1);
    /* The same grant again: it is no longer an open accept_transfer grant. */
    fr = alloc_frame(f->t, MAPPER);
    assert_int_equal(transfer_as(f, MAPPER, fr, GRANTER, 3), PVCORE_GNTST_general_error);
    assert_true(is_free(f, fr)); /* lost, as on Xen */
    /* The other way, into a 64-bit guest's version-2 table. */
    assert_int_equal(pvcore_domain_set_p2m(f->t->dom[GRANTER], NULL, 0), 0);
    assert_int_equal(pvcore_domain_set_p2m(f->t->dom[MAPPER], NULL, 0), 0);
    gfix_free(f);
}

static void test_transfer_v2_and_32(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    uint64_t fr, v;
    uint8_t *e;
    uint32_t ver = 2;
    uint16_t fl = ACCEPT, dom = GRANTER;
    (void)state;

    mfix_init(&m);
    /* The mapper's table in version 2 needs status frames. */
    {
        pvcore_mfn_t st = pvcore_mfn(alloc_frame(f->t, MAPPER));
        assert_int_equal(pvcore_domain_set_grant_status_frames(f->t->dom[MAPPER], &st, 1), 0);
    }
    gwrite(&f->e, OPS, &ver, 4);
    assert_int_equal(ghc_as(f, MAPPER, PVCORE_GNTTABOP_set_version, OPS, 1), 0);
    e = (uint8_t *)frame_ptr(f->t, f->mgnt_frame) + 5u * 16u;
    v = 0x4444;
    memcpy(e + 8, &v, 8);
    memcpy(e + 2, &dom, 2);
    memcpy(e, &fl, 2);
    /* The 32-bit granter gives one of its frames (4-byte fields). */
    fr = alloc_frame(f->t, GRANTER);
    assert_int_equal(transfer_as(f, GRANTER, fr, MAPPER, 5), PVCORE_GNTST_okay);
    assert_true(owned_by(f, fr, MAPPER));
    memcpy(&fl, e, 2);
    assert_int_equal(fl, XFER_DONE);
    memcpy(&v, e + 8, 8);
    assert_int_equal(v, fr);
    gfix_free(f);
}

static void test_transfer_errors(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    struct pvcore_frame_info s;
    uint64_t fr;
    (void)state;

    mfix_init(&m);
    grant(f, 4, ACCEPT, MAPPER, 50);
    /* Not a frame the caller may give: GNTST_bad_page, and it keeps it. */
    s = finfo(f->t, f->e.data[1]); /* mapped */
    assert_int_equal(transfer_as(f, MAPPER, f->e.data[1], GRANTER, 4), PVCORE_GNTST_bad_page);
    {
        struct pvcore_frame_info now = finfo(f->t, f->e.data[1]);
        assert_same_frame(&s, &now);
    }
    assert_int_equal(transfer_as(f, MAPPER, f->granted, GRANTER, 4), PVCORE_GNTST_bad_page);
    assert_int_equal(transfer_as(f, MAPPER, f->mgnt_frame, GRANTER, 4), PVCORE_GNTST_bad_page);
    assert_int_equal(transfer_as(f, MAPPER, f->e.l1, GRANTER, 4), PVCORE_GNTST_bad_page);
    assert_int_equal(transfer_as(f, MAPPER, TEST_FRAMES, GRANTER, 4), PVCORE_GNTST_bad_page);
    assert_int_equal(transfer_as(f, MAPPER, UINT64_MAX, GRANTER, 4), PVCORE_GNTST_bad_page);
    fr = alloc_frame(f->t, MAPPER);
    assert_int_equal(pin(f->t, MAPPER, 1, fr), 0);
    assert_int_equal(transfer_as(f, MAPPER, fr, GRANTER, 4), PVCORE_GNTST_bad_page);
    assert_int_equal(unpin(f->t, MAPPER, fr), 0);
    /* A frame the embedder holds. */
    assert_int_equal(pvcore_domain_hold_frame(f->t->dom[MAPPER], pvcore_mfn(fr)), 0);
    assert_int_equal(transfer_as(f, MAPPER, fr, GRANTER, 4), PVCORE_GNTST_bad_page);
    assert_int_equal(pvcore_domain_unhold_frame(f->t->dom[MAPPER], pvcore_mfn(fr)), 0);
    assert_int_equal(pvcore_domain_unhold_frame(f->t->dom[MAPPER], pvcore_mfn(fr)), -PVCORE_EINVAL);
    assert_true(owned_by(f, fr, MAPPER));
    assert_int_equal(gflags(f, 4), ACCEPT);
    /* From here the frame is lost whatever happens. No such domain, DOMID_SELF: */
    assert_int_equal(transfer_as(f, MAPPER, fr, 7, 4), PVCORE_GNTST_bad_domain);
    assert_true(is_free(f, fr));
    fr = alloc_frame(f->t, MAPPER);
    assert_int_equal(transfer_as(f, MAPPER, fr, PVCORE_DOMID_SELF, 4), PVCORE_GNTST_bad_domain);
    assert_true(is_free(f, fr));
    /* A grant that is not an accept_transfer for the caller, or has other flags, or is out
     * of the table: general_error, the entry unchanged. */
    grant(f, 6, PA, MAPPER, 50);
    grant(f, 7, ACCEPT, PRIV, 50);
    grant(f, 8, ACCEPT | PVCORE_GTF_readonly, MAPPER, 50);
    {
        static const uint32_t refs[] = { 6, 7, 8, 512, 0xFFFFFFFFu };
        unsigned i;
        for (i = 0; i < 5; i++) {
            fr = alloc_frame(f->t, MAPPER);
            assert_int_equal(transfer_as(f, MAPPER, fr, GRANTER, refs[i]), PVCORE_GNTST_general_error);
            assert_true(is_free(f, fr));
        }
    }
    assert_int_equal(gflags(f, 6), PA);
    assert_int_equal(gflags(f, 7), ACCEPT);
    assert_int_equal(gflags(f, 8), ACCEPT | PVCORE_GTF_readonly);
    /* An unreadable op array: -EFAULT for the call. */
    assert_int_equal(ghc_as(f, MAPPER, PVCORE_GNTTABOP_transfer, UNMAPPED, 1), -PVCORE_EFAULT);
    /* Three in one call, each with its own status. */
    {
        struct pvcore_gnttab_transfer_x86_64 ops[3];
        uint64_t a = alloc_frame(f->t, MAPPER), b = alloc_frame(f->t, MAPPER);
        xop(&ops[0], a, GRANTER, 4);
        xop(&ops[1], f->granted, GRANTER, 4);
        xop(&ops[2], b, GRANTER, 4); /* used by ops[0] by then */
        assert_int_equal(xfer_batch(f, OPS, ops, 3), 0);
        assert_int_equal(ops[0].status, PVCORE_GNTST_okay);
        assert_int_equal(ops[1].status, PVCORE_GNTST_bad_page);
        assert_int_equal(ops[2].status, PVCORE_GNTST_general_error);
        assert_true(owned_by(f, a, GRANTER) && is_free(f, b));
    }
    gfix_free(f);
}

/* Writes a version-1 entry of the mapper's own table (grant() writes the granter's). */
static void mgrant(struct gfix *f, uint32_t ref, uint16_t flags, uint16_t domid, uint32_t frame)
{
    uint8_t *e = (uint8_t *)frame_ptr(f->t, f->mgnt_frame) + ref * 8u;

    memcpy(e + 2, &domid, 2);
    memcpy(e + 4, &frame, 4);
    memcpy(e, &flags, 2);
}

/* A batch of transfers: one TLB flush per 32 frames, not one per frame (each frame is taken
 * first, and one flush covers every frame taken before it), with every op's result as
 * when they run one by one. */
static void test_transfer_batch_flushes(void **state)
{
    enum { N = 40 };
    struct mfix m;
    struct gfix *f = &m.g;
    struct pvcore_gnttab_transfer_x86_64 ops[N];
    struct pvcore_host_stats before, after;
    uint64_t fr[N];
    uint32_t i;
    (void)state;

    mfix_init(&m);
    for (i = 0; i < N; i++) {
        fr[i] = alloc_frame(f->t, MAPPER);
        grant(f, 20 + i, ACCEPT, MAPPER, 400 + i);
        xop(&ops[i], fr[i], GRANTER, 20 + i);
    }
    ops[7].mfn = f->granted; /* not the caller's: bad_page, and nothing else changes */
    pvcore_host_backend_stats(f->t->hb, &before);
    assert_int_equal(xfer_batch(f, LIST_VA, ops, N), 0);
    pvcore_host_backend_stats(f->t->hb, &after);
    assert_int_equal(after.flush_calls - before.flush_calls, 2); /* 39 frames: 32, then 7 */
    for (i = 0; i < N; i++) {
        if (i == 7) {
            assert_int_equal(ops[i].status, PVCORE_GNTST_bad_page);
            assert_true(owned_by(f, fr[i], MAPPER));
            assert_int_equal(gflags(f, 20 + i), ACCEPT);
            continue;
        }
        assert_int_equal(ops[i].status, PVCORE_GNTST_okay);
        assert_true(owned_by(f, fr[i], GRANTER));
        assert_int_equal(gflags(f, 20 + i), XFER_DONE);
        assert_int_equal(gframe_at(f, f->gnt_frame, 20 + i), fr[i]);
    }
    check_invariants(f->t);
    gfix_free(f);
}

/* What a batch shows is still one op after another: a frame the caller transfers to
 * itself is its own again for the next op, and an op whose status cannot be written is
 * done, the call then ends with -EFAULT, and the ops after it are not. */
static void test_transfer_batch_order(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    struct pvcore_gnttab_transfer_x86_64 ops[3];
    uint64_t a, b, c, ro;
    (void)state;

    mfix_init(&m);
    a = alloc_frame(f->t, MAPPER);
    b = alloc_frame(f->t, MAPPER);
    c = alloc_frame(f->t, MAPPER);
    grant(f, 11, ACCEPT, MAPPER, 70);
    grant(f, 12, ACCEPT, MAPPER, 71);
    mgrant(f, 13, ACCEPT, MAPPER, 72); /* the mapper accepts a frame from itself */
    xop(&ops[0], a, GRANTER, 11);
    xop(&ops[1], b, MAPPER, 13);
    xop(&ops[2], b, GRANTER, 12); /* the mapper's again after ops[1] */
    assert_int_equal(xfer_batch(f, LIST_VA, ops, 3), 0);
    assert_int_equal(ops[0].status, PVCORE_GNTST_okay);
    assert_int_equal(ops[1].status, PVCORE_GNTST_okay);
    assert_int_equal(ops[2].status, PVCORE_GNTST_okay);
    assert_true(owned_by(f, a, GRANTER) && owned_by(f, b, GRANTER));
    assert_int_equal(gflags_at(f, f->mgnt_frame, 13), XFER_DONE);

    /* ops[1] on a read-only page (slot 8 of the mapper's L1): ops[0] and ops[1] done,
     * -EFAULT, ops[2] not done. */
    ro = alloc_frame(f->t, MAPPER);
    assert_int_equal(set_entry(f->t, MAPPER, f->e.l1, 8, pte(ro, PT_P | PT_US)), 0);
    a = alloc_frame(f->t, MAPPER);
    b = alloc_frame(f->t, MAPPER);
    grant(f, 14, ACCEPT, MAPPER, 73);
    grant(f, 15, ACCEPT, MAPPER, 74);
    grant(f, 16, ACCEPT, MAPPER, 75);
    xop(&ops[0], a, GRANTER, 14);
    xop(&ops[1], b, GRANTER, 15);
    xop(&ops[2], c, GRANTER, 16);
    gwrite(&f->e, MAP_VA - sizeof(ops[0]), &ops[0], sizeof(ops[0]));
    memcpy(frame_ptr(f->t, ro), &ops[1], 2u * sizeof(ops[0]));
    assert_int_equal(ghc_as(f, MAPPER, PVCORE_GNTTABOP_transfer, MAP_VA - sizeof(ops[0]), 3), -PVCORE_EFAULT);
    gread(&f->e, MAP_VA - sizeof(ops[0]), &ops[0], sizeof(ops[0]));
    assert_int_equal(ops[0].status, PVCORE_GNTST_okay);
    assert_true(owned_by(f, a, GRANTER));
    assert_true(owned_by(f, b, GRANTER)); /* done; its status could not be written */
    memcpy(&ops[1], frame_ptr(f->t, ro), 2u * sizeof(ops[0]));
    assert_int_equal(ops[1].status, 0x5555);
    assert_int_equal(ops[2].status, 0x5555);
    assert_true(owned_by(f, c, MAPPER));
    assert_int_equal(gflags(f, 16), ACCEPT);
    check_invariants(f->t);
    gfix_free(f);
}

/* XSA-214: a frame that was a page table reaches its new owner with no type at all; a
 * 32-bit receiver cannot reuse it unvalidated. (This library drops a table's type with its
 * last type reference, so no validated-but-unused type is left to carry over; the check
 * holds either way.) */
static void test_transfer_clears_type(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    uint64_t fr;
    (void)state;

    mfix_init(&m);
    fr = alloc_frame(f->t, MAPPER);
    assert_int_equal(pin(f->t, MAPPER, 1, fr), 0);
    assert_int_equal(unpin(f->t, MAPPER, fr), 0);
    grant(f, 9, ACCEPT, MAPPER, 60);
    assert_int_equal(transfer_as(f, MAPPER, fr, GRANTER, 9), PVCORE_GNTST_okay);
    assert_int_equal(finfo(f->t, fr).type, PVCORE_PGT_NONE);
    assert_false(finfo(f->t, fr).flags & PVCORE_FRAME_VALIDATED);
    gfix_free(f);
}

/* A receiver that is being destroyed, or has no room, gets nothing and the frame is freed;
 * destroying a domain right after a transfer into it releases the frame. */
static void test_transfer_receiver_gone(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    uint64_t fr;
    (void)state;

    mfix_init(&m);
    grant(f, 10, ACCEPT, MAPPER, 61);
    fr = alloc_frame(f->t, MAPPER);
    assert_int_equal(transfer_as(f, MAPPER, fr, GRANTER, 10), PVCORE_GNTST_okay);
    assert_int_equal(gfix_destroy(f, GRANTER), 0);
    assert_true(is_free(f, fr));
    fr = alloc_frame(f->t, MAPPER);
    assert_int_equal(transfer_as(f, MAPPER, fr, GRANTER, 10), PVCORE_GNTST_bad_domain);
    assert_true(is_free(f, fr));
    check_invariants(f->t);
    gfix_free(f);
}

static void test_hold(void **state)
{
    struct mfix m;
    struct gfix *f = &m.g;
    uint64_t fr[PVCORE_DOMAIN_MAX_HELD_FRAMES + 1];
    unsigned i;
    (void)state;

    mfix_init(&m);
    for (i = 0; i <= PVCORE_DOMAIN_MAX_HELD_FRAMES; i++) {
        fr[i] = alloc_frame(f->t, GRANTER);
    }
    for (i = 0; i < PVCORE_DOMAIN_MAX_HELD_FRAMES; i++) {
        assert_int_equal(pvcore_domain_hold_frame(f->t->dom[GRANTER], pvcore_mfn(fr[i])), 0);
    }
    assert_int_equal(pvcore_domain_hold_frame(f->t->dom[GRANTER], pvcore_mfn(fr[i])), -PVCORE_ENOSPC);
    assert_int_equal(pvcore_domain_hold_frame(f->t->dom[MAPPER], pvcore_mfn(fr[i])), -PVCORE_EINVAL);
    assert_int_equal(pvcore_domain_hold_frame(f->t->dom[MAPPER], pvcore_mfn(f->e.l1)), -PVCORE_EBUSY);
    /* A held frame cannot become a page table, and decrease_reservation leaves it alive. */
    assert_int_equal(pin(f->t, GRANTER, 1, fr[0]), -PVCORE_EINVAL);
    put_ext(f, GRANTER, LIST_VA, 0, fr[0]);
    assert_int_equal(resv_as(f, GRANTER, PVCORE_XENMEM_decrease_reservation, LIST_VA, 1, 0, 0,
                             PVCORE_DOMID_SELF), 1);
    assert_int_equal(finfo(f->t, fr[0]).owner, GRANTER);
    check_invariants(f->t);
    /* The domain's destruction lets go of every hold. */
    assert_int_equal(gfix_destroy(f, GRANTER), 0);
    for (i = 0; i <= PVCORE_DOMAIN_MAX_HELD_FRAMES; i++) {
        assert_true(is_free(f, fr[i]));
    }
    gfix_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_increase),
        cmocka_unit_test(test_increase_limits),
        cmocka_unit_test(test_increase_privileged_and_max_pages),
        cmocka_unit_test(test_populate),
        cmocka_unit_test(test_decrease),
        cmocka_unit_test(test_decrease_pinned),
        cmocka_unit_test(test_continuation),
        cmocka_unit_test(test_exchange),
        cmocka_unit_test(test_exchange_errors),
        cmocka_unit_test(test_exchange_forged_index),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_transfer),
        cmocka_unit_test(test_transfer_v2_and_32),
        cmocka_unit_test(test_transfer_errors),
        cmocka_unit_test(test_transfer_batch_flushes),
        cmocka_unit_test(test_transfer_batch_order),
        cmocka_unit_test(test_transfer_clears_type),
        cmocka_unit_test(test_transfer_receiver_gone),
        cmocka_unit_test(test_hold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
