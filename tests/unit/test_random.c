/*
 * Random operation sequences (fixed seeds, so failures reproduce): mmu_update,
 * mmuext_op and update_va_mapping with hostile arguments from three domains, preemption at
 * random points, and domain destruction in arbitrary states. After every step the
 * invariant checker must hold; after destroying every domain every frame must be free
 * with zero counts.
 */
#include "pvtest.h"

#define POOL 96

struct rng {
    uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
    /* xorshift64* */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}

static uint64_t pick(struct rng *r, const uint64_t *pool, unsigned n)
{
    return pool[rnd(r) % n];
}

static uint64_t random_entry(struct rng *r, const uint64_t *pool, unsigned n)
{
    static const uint64_t flag_sets[] = {
        PT_P, PT_P | PT_RW, PT_P | PT_RW | PT_US, PT_P | PT_US, 0, PT_P | PT_PSE,
        PT_P | PT_PCD, PT_P | PT_G, PT_P | PT_A | PT_D, PT_P | PT_NX, PT_P | PT_RW | PT_NX,
    };
    uint64_t mfn = (rnd(r) % 16 == 0) ? rnd(r) % (TEST_FRAMES + 64) : pick(r, pool, n);
    return pte(mfn, flag_sets[rnd(r) % (sizeof(flag_sets) / sizeof(flag_sets[0]))]);
}

/* One random operation by domain index d. */
static void random_op(struct pvtest *t, struct rng *r, int d, const uint64_t *pool, unsigned n)
{
    uint32_t fd = PVCORE_DOMID_SELF;
    unsigned k = (unsigned)(rnd(r) % 10);

    if (rnd(r) % 8 == 0) {
        static const uint32_t fds[] = { 0, 1, 2, 5, PVCORE_DOMID_IO, PVCORE_DOMID_XEN, 0x10000 | 1,
                                        0x20000 | PVCORE_DOMID_SELF, 0x7FFF };
        fd = fds[rnd(r) % (sizeof(fds) / sizeof(fds[0]))];
    }
    if (k < 4) {
        pvcore_mmu_update_t u[4];
        uint32_t done = 0, cnt = 1 + (uint32_t)(rnd(r) % 4), i;
        for (i = 0; i < cnt; i++) {
            u[i].ptr = (pick(r, pool, n) << 12) | ((rnd(r) % 512) << 3) |
                       (rnd(r) % 6 == 0 ? rnd(r) % 8 : 0);
            u[i].val = random_entry(r, pool, n);
        }
        int rc = pvcore_mmu_update(vcpu(t, d, 0), u, cnt, &done, fd);
        assert_true(rc <= 0 && done <= cnt && (rc != 0 || done == cnt));
    } else if (k < 8) {
        static const uint32_t cmds[] = { 0, 1, 2, 3, 4, 5, 15, 6, 7, 10, 12, 13, 16, 17, 19 };
        struct pvcore_mmuext_req op;
        uint32_t done = 0;
        op.cmd = cmds[rnd(r) % (sizeof(cmds) / sizeof(cmds[0]))];
        op.pad = 0;
        op.arg1 = rnd(r) % 16 == 0 ? rnd(r) : pick(r, pool, n);
        op.arg2 = rnd(r) % 2 ? pick(r, pool, n) : rnd(r) % 9000;
        if (op.cmd == PVCORE_MMUEXT_NEW_USER_BASEPTR && rnd(r) % 4 == 0) {
            op.arg1 = 0;
        }
        int rc = pvcore_mmuext_op(vcpu(t, d, 0), &op, 1, &done, fd);
        assert_true(rc <= 0 && done <= 1);
    } else {
        uint64_t va = (rnd(r) % 4 == 0) ? rnd(r) : (rnd(r) % 8) << 21 | (rnd(r) % 512) << 12;
        int rc = pvcore_update_va_mapping(vcpu(t, d, 0), va, random_entry(r, pool, n),
                                          rnd(r) % 8, fd == PVCORE_DOMID_SELF ? fd : fd & 0xFFFF);
        assert_true(rc <= 0);
    }
}

static void run_seed(uint64_t seed, uint32_t budget)
{
    struct pvtest *t = pvtest_new_budget(budget, 0);
    struct rng r = { seed * 0x9E3779B97F4A7C15ull + 1 };
    uint64_t pool[3][POOL];
    bool gone[3] = { false, false, false };
    unsigned i, step;
    int d;

    for (d = 0; d < 3; d++) {
        for (i = 0; i < POOL; i++) {
            pool[d][i] = alloc_frame(t, d);
        }
    }
    /* Seed some sensible tables so that deep states are reachable. */
    for (d = 0; d < 3; d++) {
        for (i = 0; i + 1 < POOL; i += 4) {
            frame_ptr(t, pool[d][i])[rnd(&r) % 512] = pte(pool[d][i + 1], PT_P | PT_RW);
            frame_ptr(t, pool[d][i + 1])[rnd(&r) % 512] = pte(pool[d][i + 2], PT_P | PT_RW);
            frame_ptr(t, pool[d][i + 2])[rnd(&r) % 512] = pte(pool[d][i + 3], PT_P | PT_RW);
        }
    }
    pvcore_host_backend_set_preempt(t->hb, (uint32_t)(rnd(&r) % 5));
    for (step = 0; step < 400; step++) {
        d = (int)(rnd(&r) % 3);
        if (t->dom[d] == NULL) {
            continue;
        }
        random_op(t, &r, d, pool[d], POOL);
        check_invariants(t);
        if (rnd(&r) % 150 == 0) {
            /* Destroy a domain in whatever state it is in (partial, queued, pinned...). */
            int rc;
            unsigned n = 0;
            /* A destroy scans every frame; with forced preemption that is one per call. */
            while ((rc = pvcore_domain_destroy(t->dom[d])) == -PVCORE_ERESTART) {
                if (++n % 256 == 0) {
                    check_invariants(t);
                }
            }
            assert_true(rc == 0 || rc == -PVCORE_EBUSY);
            /* EBUSY: another domain still maps its frames; it stays dying, unusable. */
            gone[d] = rc == 0;
            t->dom_dying[d] = t->dom[d];
            t->dom[d] = NULL;
            check_invariants(t);
        }
    }
    /* Destroy what is left, then retry the dying ones: by then nothing maps their frames. */
    for (d = 0; d < 3; d++) {
        int rc;
        if (t->dom[d] == NULL) {
            continue;
        }
        while ((rc = pvcore_domain_destroy(t->dom[d])) == -PVCORE_ERESTART) {
        }
        assert_true(rc == 0 || rc == -PVCORE_EBUSY);
        gone[d] = rc == 0;
        t->dom_dying[d] = t->dom[d];
        t->dom[d] = NULL;
    }
    for (d = 0; d < 3; d++) {
        int rc;
        if (gone[d]) {
            continue;
        }
        while ((rc = pvcore_domain_destroy(t->dom_dying[d])) == -PVCORE_ERESTART) {
        }
        assert_int_equal(rc, 0);
    }
    check_invariants(t);
    for (i = 0; i < TEST_FRAMES; i++) {
        struct pvcore_frame_info fi = finfo(t, i);
        assert_int_equal(fi.count, 0);
        assert_int_equal(fi.type_count, 0);
        assert_int_equal(fi.owner, PVCORE_DOMID_INVALID);
    }
    pvtest_free(t);
}

static void test_random_sequences(void **state)
{
    uint64_t seed;
    (void)state;
    for (seed = 1; seed <= 24; seed++) {
        run_seed(seed, seed % 3 == 0 ? 4 : (seed % 3 == 1 ? 64 : 0));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_sequences),
    };
    return cmocka_run_group_tests_name("random", tests, NULL, NULL);
}
