/*
 * SMP stress: several threads act as vCPUs of one domain and update its page tables at
 * once, while a privileged domain maps that domain's frames (foreign, writable) and a third
 * domain works on its own tables. Afterwards every invariant must hold, and destroying
 * every domain must free every frame. Run under ThreadSanitizer in CI.
 */
#include "pvtest.h"

#include <pthread.h>

#define THREADS 4
#define OPS 3000
#define DATA 48

struct shared {
    struct pvtest *t;
    struct as64 as1;     /* domain 1's address space (base pointer of every vCPU) */
    uint64_t l1s[4];     /* extra L1s of domain 1, pinned and unpinned at random */
    uint64_t data1[DATA];
    struct as64 as0;     /* domain 0's */
    struct as32 as2;     /* domain 2's */
    uint64_t data2[DATA];
};

struct worker {
    struct shared *s;
    int dom;
    uint32_t vcpu;
    uint64_t seed;
    unsigned ok, failed, bad;
};

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *domain1_vcpu(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->s;
    struct pvtest *t = s->t;
    struct pvcore_vcpu *v = pvcore_domain_vcpu(t->dom[1], w->vcpu);
    unsigned i;

    for (i = 0; i < OPS; i++) {
        uint64_t r = next(&w->seed);
        uint64_t frame = s->data1[r % DATA];
        uint64_t flags = (r >> 8) & 1 ? PT_P | PT_RW : PT_P;
        int rc;

        switch ((r >> 16) % 6) {
        case 0:
        case 1: {
            pvcore_mmu_update_t u[4];
            uint32_t done = 0, n = 1 + (uint32_t)((r >> 24) % 4), k;
            for (k = 0; k < n; k++) {
                uint64_t q = next(&w->seed);
                uint64_t table = (q & 1) ? s->as1.l1 : s->l1s[(q >> 1) % 4];
                u[k].ptr = (table << 12) | (((q >> 8) % 64) << 3);
                u[k].val = (q >> 20) % 5 == 0 ? 0 : pte(s->data1[(q >> 30) % DATA], flags);
            }
            rc = pvcore_mmu_update(v, u, n, &done, PVCORE_DOMID_SELF);
            break;
        }
        case 2: {
            struct pvcore_mmuext_req op;
            uint32_t done = 0;
            memset(&op, 0, sizeof(op));
            op.cmd = (r >> 24) & 1 ? PVCORE_MMUEXT_PIN_L1_TABLE : PVCORE_MMUEXT_UNPIN_TABLE;
            op.arg1 = s->l1s[(r >> 32) % 4];
            rc = pvcore_mmuext_op(v, &op, 1, &done, PVCORE_DOMID_SELF);
            break;
        }
        case 3: {
            /* Hook an extra L1 into (or out of) the L2, at its own slot. */
            unsigned k = (unsigned)((r >> 24) % 4);
            pvcore_mmu_update_t u;
            uint32_t done = 0;
            u.ptr = (s->as1.l2 << 12) | ((uint64_t)(8 + k) << 3);
            u.val = (r >> 40) & 1 ? pte(s->l1s[k], PT_P | PT_RW | PT_US) : 0;
            rc = pvcore_mmu_update(v, &u, 1, &done, PVCORE_DOMID_SELF);
            break;
        }
        case 4:
            rc = pvcore_update_va_mapping(v, 0x400000 + ((r >> 24) % 64) * 4096,
                                          (r >> 40) % 4 == 0 ? 0 : pte(frame, flags),
                                          (r >> 50) % 3, PVCORE_DOMID_SELF);
            break;
        default: {
            struct pvcore_mmuext_req op;
            uint32_t done = 0;
            memset(&op, 0, sizeof(op));
            op.cmd = PVCORE_MMUEXT_CLEAR_PAGE;
            op.arg1 = frame;
            rc = pvcore_mmuext_op(v, &op, 1, &done, PVCORE_DOMID_SELF);
            break;
        }
        }
        /* No cmocka assertions off the main thread: count, and check after joining. */
        if (rc == 0) {
            w->ok++;
        } else if (rc < 0) {
            w->failed++;
        } else {
            w->bad++;
        }
    }
    return NULL;
}

/* Domain 0 maps domain 1's frames writable into its own L1 and unmaps them again. */
static void *domain0_foreign(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->s;
    struct pvtest *t = s->t;
    struct pvcore_vcpu *v = pvcore_domain_vcpu(t->dom[0], 0);
    unsigned i;

    for (i = 0; i < OPS; i++) {
        uint64_t r = next(&w->seed);
        pvcore_mmu_update_t u;
        uint32_t done = 0;
        uint64_t target = (r >> 4) % 8 == 0 ? s->l1s[(r >> 8) % 4] : s->data1[(r >> 8) % DATA];
        u.ptr = (s->as0.l1 << 12) | (((r >> 20) % 32) << 3);
        u.val = (r >> 30) % 3 == 0 ? 0 : pte(target, (r >> 40) & 1 ? PT_P | PT_RW : PT_P);
        if (pvcore_mmu_update(v, &u, 1, &done, 1) == 0) {
            w->ok++;
        } else {
            w->failed++;
        }
    }
    return NULL;
}

/* Domain 2 (32-bit) works on its own tables. */
static void *domain2_vcpu(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->s;
    struct pvtest *t = s->t;
    struct pvcore_vcpu *v = pvcore_domain_vcpu(t->dom[2], w->vcpu);
    unsigned i;

    for (i = 0; i < OPS; i++) {
        uint64_t r = next(&w->seed);
        pvcore_mmu_update_t u;
        uint32_t done = 0;
        u.ptr = (s->as2.l1 << 12) | (((r >> 4) % 128) << 3);
        u.val = (r >> 20) % 4 == 0 ? 0 : pte(s->data2[(r >> 24) % DATA], (r >> 40) & 1 ? PT_P | PT_RW : PT_P);
        if (pvcore_mmu_update(v, &u, 1, &done, PVCORE_DOMID_SELF) == 0) {
            w->ok++;
        } else {
            w->failed++;
        }
    }
    return NULL;
}

static void test_smp_stress(void **state)
{
    struct pvtest *t = pvtest_new_budget(256, 0);
    struct shared s;
    pthread_t th[THREADS + 2];
    struct worker w[THREADS + 2];
    unsigned i, ok = 0, failed = 0;
    int d, rc;
    (void)state;

    memset(&s, 0, sizeof(s));
    s.t = t;
    build_as64(t, 1, &s.as1, 4);
    build_as64(t, 0, &s.as0, 1);
    build_as32(t, 2, &s.as2, 1);
    for (i = 0; i < 4; i++) {
        s.l1s[i] = alloc_frame(t, 1);
    }
    for (i = 0; i < DATA; i++) {
        s.data1[i] = alloc_frame(t, 1);
        s.data2[i] = alloc_frame(t, 2);
    }
    for (i = 0; i < 4; i++) {
        rc = pvcore_mmuext_op(pvcore_domain_vcpu(t->dom[1], i),
                              &(struct pvcore_mmuext_req){ PVCORE_MMUEXT_NEW_BASEPTR, 0, s.as1.l4, 0 },
                              1, NULL, PVCORE_DOMID_SELF);
        assert_int_equal(rc, 0);
    }
    assert_int_equal(ext(t, 0, PVCORE_MMUEXT_NEW_BASEPTR, s.as0.l4, 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(ext(t, 2, PVCORE_MMUEXT_NEW_BASEPTR, s.as2.l3, 0, PVCORE_DOMID_SELF), 0);
    check_invariants(t);

    for (i = 0; i < THREADS + 2; i++) {
        w[i].s = &s;
        w[i].seed = 0x1234567ull * (i + 1);
        w[i].ok = w[i].failed = w[i].bad = 0;
        w[i].vcpu = i < THREADS ? i : 0;
        rc = pthread_create(&th[i], NULL,
                            i < THREADS ? domain1_vcpu : (i == THREADS ? domain0_foreign : domain2_vcpu),
                            &w[i]);
        assert_int_equal(rc, 0);
    }
    for (i = 0; i < THREADS + 2; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
        failed += w[i].failed;
        assert_int_equal(w[i].bad, 0);
    }
    /* Both outcomes must have happened for the test to mean anything. */
    assert_true(ok > 1000);
    assert_true(failed > 100);
    for (d = 0; d < 3; d++) {
        while ((rc = ext(t, d, PVCORE_MMUEXT_TLB_FLUSH_LOCAL, 0, 0, PVCORE_DOMID_SELF)) == -PVCORE_ERESTART) {
        }
    }
    check_invariants(t);
    {
        bool busy[3];
        for (d = 0; d < 3; d++) {
            while ((rc = pvcore_domain_destroy(t->dom[d])) == -PVCORE_ERESTART) {
            }
            assert_true(rc == 0 || rc == -PVCORE_EBUSY);
            busy[d] = rc != 0;
        }
        /* A domain whose frames another one mapped goes once that one is gone. */
        for (d = 0; d < 3; d++) {
            while (busy[d] && (rc = pvcore_domain_destroy(t->dom[d])) == -PVCORE_ERESTART) {
            }
            assert_true(!busy[d] || rc == 0);
        }
    }
    for (i = 0; i < TEST_FRAMES; i++) {
        assert_int_equal(finfo(t, i).count, 0);
    }
    check_invariants(t);
    pvtest_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smp_stress),
    };
    return cmocka_run_group_tests_name("smp", tests, NULL, NULL);
}
