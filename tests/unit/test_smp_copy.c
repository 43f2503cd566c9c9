/*
 * Guest copies against a vCPU that rewrites the tables they walk (run under
 * ThreadSanitizer in CI). Two vCPUs of one domain make hypercalls whose arguments live in a
 * window of guest memory (an mmu_update request array, xen_version buffers written back,
 * plain copies), while a third vCPU of the same domain keeps remapping that window:
 * swapping the L1 behind it (so the walk's tables lose their last other reference while
 * it holds them), changing its entries between pages, read-only and read-write, and
 * pinning as L1 tables the very pages the copies write into.
 *
 * What must hold: every copy either completes or fails with -EFAULT; a page being written
 * by a copy never becomes a page table meanwhile (the pin fails instead), so no write ever
 * lands in a validated table; no data race (ThreadSanitizer); and afterwards every count
 * is exact (invariant checker) and destroying the domain frees every frame.
 */
#include "pvtest.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include <pvcore/guestmem.h>
#include <pvcore/hypercall.h>

#define OPS 2500
#define COPIERS 2
#define WINDOW 0x600000ull /* L2 slot 3: the L1 the rewriter swaps */
#define NW 4               /* window pages, holding a fixed request array */
#define NP 4               /* pool pages, mapped into the window and pinned as L1s */
#define REQS 4

struct shared {
    struct pvtest *t;
    struct as64 as;
    uint64_t l1a, l1b;
    uint64_t w[NW], p[NP];
    _Atomic unsigned warm; /* copiers that made their first 100 calls */
    _Atomic int done;      /* the rewriter finished */
};

struct worker {
    struct shared *s;
    uint32_t vcpu;
    uint64_t seed;
    unsigned ok, fault, bad, pins;
};

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *copier(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->s;
    struct pvcore_vcpu *v = pvcore_domain_vcpu(s->t->dom[1], w->vcpu);
    /* Each copier writes back at its own offset: concurrent copies never share bytes. */
    uint64_t out = 2048u + 64u * (w->vcpu - 1u);
    unsigned i;

    /* At least OPS calls, and on until the rewriter is done: the two overlap throughout. */
    for (i = 0; i < OPS || !atomic_load(&s->done); i++) {
        uint64_t r = next(&w->seed);
        uint64_t page = WINDOW + 4096u * (r % 4u);
        struct pvcore_hypercall_regs regs;
        uint8_t buf[64];
        int64_t rc;

        if (i == 100) {
            atomic_fetch_add(&s->warm, 1);
        }

        memset(&regs, 0, sizeof(regs));
        switch ((r >> 8) % 3) {
        case 0: /* the request array, read in chunks with the batch's lock let go */
            regs.nr = PVCORE_HYPERVISOR_mmu_update;
            regs.arg[0] = page;
            regs.arg[1] = 1 + (r >> 16) % REQS;
            regs.arg[3] = PVCORE_DOMID_SELF;
            break;
        case 1: /* a result written back: needs every level writable, and holds the page */
            regs.nr = PVCORE_HYPERVISOR_xen_version;
            regs.arg[0] = PVCORE_XENVER_extraversion;
            regs.arg[1] = page + out;
            break;
        default:
            rc = pvcore_guestmem_copy_from(v, buf, page + (r >> 20) % 4000u, sizeof(buf));
            if (rc == 0) {
                w->ok++;
            } else if (rc == -PVCORE_EFAULT) {
                w->fault++;
            } else {
                w->bad++;
            }
            continue;
        }
        if (pvcore_hypercall(v, &regs) != PVCORE_HYPERCALL_DONE) {
            w->bad++;
            continue;
        }
        rc = (int64_t)regs.ret;
        if (rc == 0) {
            w->ok++;
        } else if (rc == -PVCORE_EFAULT ||
                   (regs.nr == PVCORE_HYPERVISOR_mmu_update && rc == -PVCORE_EINVAL)) {
            /* (A pool page in the window holds no valid request: its zeros name frame 0,
             * which is not the guest's, -EINVAL.) */
            w->fault++;
        } else {
            fprintf(stderr, "copier: unexpected %lld (hypercall %llu)\n", (long long)rc,
                    (unsigned long long)regs.nr);
            w->bad++;
        }
    }
    return NULL;
}

static void *rewriter(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->s;
    struct pvcore_vcpu *v = pvcore_domain_vcpu(s->t->dom[1], w->vcpu);
    unsigned i;

    /* Start once the copiers run, so that the two overlap however threads are scheduled. */
    while (atomic_load(&s->warm) < COPIERS) {
    }
    for (i = 0; i < 3 * OPS; i++) {
        uint64_t r = next(&w->seed);
        pvcore_mmu_update_t u;
        struct pvcore_mmuext_req op;
        uint32_t done = 0;
        int rc;

        memset(&op, 0, sizeof(op));
        switch ((r >> 8) % 4) {
        case 0: { /* an entry of either L1: a window page or a pool page, RO, RW or none */
            uint64_t l1 = (r >> 16) & 1 ? s->l1a : s->l1b;
            uint64_t target = (r >> 17) & 1 ? s->w[(r >> 20) % NW] : s->p[(r >> 20) % NP];
            uint64_t flags = (r >> 24) % 3 == 0 ? 0 : (r >> 24) % 3 == 1 ? PT_P : PT_P | PT_RW;
            u.ptr = (l1 << 12) | (((r >> 28) % 4) << 3);
            u.val = flags != 0 ? pte(target, flags) : 0;
            rc = pvcore_mmu_update(v, &u, 1, &done, PVCORE_DOMID_SELF);
            break;
        }
        case 1: { /* the L1 behind the window: a, b, or none */
            uint64_t k = (r >> 16) % 3;
            u.ptr = (s->as.l2 << 12) | (3u << 3);
            u.val = k == 0 ? 0 : pte(k == 1 ? s->l1a : s->l1b, PT_P | PT_RW | PT_US);
            rc = pvcore_mmu_update(v, &u, 1, &done, PVCORE_DOMID_SELF);
            break;
        }
        default: { /* a pool page becomes an L1 table (if nothing maps it writable), or not */
            op.cmd = (r >> 16) & 1 ? PVCORE_MMUEXT_PIN_L1_TABLE : PVCORE_MMUEXT_UNPIN_TABLE;
            op.arg1 = s->p[(r >> 20) % NP];
            rc = pvcore_mmuext_op(v, &op, 1, &done, PVCORE_DOMID_SELF);
            if (rc == 0 && op.cmd == PVCORE_MMUEXT_PIN_L1_TABLE) {
                w->pins++;
            }
            break;
        }
        }
        if (rc == 0) {
            w->ok++;
        } else if (rc == -PVCORE_EINVAL || rc == -PVCORE_EBUSY || rc == -PVCORE_EPERM ||
                   rc == -PVCORE_ERESTART) {
            w->fault++;
        } else {
            fprintf(stderr, "rewriter: unexpected %d (kind %u)\n", rc, (unsigned)((r >> 8) % 4));
            w->bad++;
        }
    }
    atomic_store(&s->done, 1);
    return NULL;
}

static void test_copies_while_tables_change(void **state)
{
    struct pvtest *t = pvtest_new();
    struct shared s;
    struct worker w[COPIERS + 1];
    pthread_t th[COPIERS + 1];
    unsigned i, k, ok = 0, fault = 0;
    int rc;
    (void)state;

    memset(&s, 0, sizeof(s));
    s.t = t;
    build_as64(t, 1, &s.as, 1);
    s.l1a = alloc_frame(t, 1);
    s.l1b = alloc_frame(t, 1);
    for (i = 0; i < NW; i++) {
        pvcore_mmu_update_t *req = (pvcore_mmu_update_t *)(void *)frame_ptr(t, (s.w[i] = alloc_frame(t, 1)));
        /* Harmless requests: record a value in the M2P of the first data page. */
        for (k = 0; k < REQS; k++) {
            req[k].ptr = (s.as.data[0] << 12) | PVCORE_MMU_MACHPHYS_UPDATE;
            req[k].val = 100 + k;
        }
        frame_ptr(t, s.l1a)[i] = pte(s.w[i], PT_P | PT_RW);
        frame_ptr(t, s.l1b)[i] = pte(s.w[(i + 1) % NW], PT_P | PT_RW);
    }
    for (i = 0; i < NP; i++) {
        s.p[i] = alloc_frame(t, 1);
    }
    frame_ptr(t, s.as.l2)[3] = pte(s.l1a, PT_P | PT_RW | PT_US);
    for (i = 0; i < COPIERS + 1; i++) {
        assert_int_equal(pvcore_mmuext_op(pvcore_domain_vcpu(t->dom[1], i),
                                          &(struct pvcore_mmuext_req){ PVCORE_MMUEXT_NEW_BASEPTR, 0,
                                                                       s.as.l4, 0 },
                                          1, NULL, PVCORE_DOMID_SELF),
                         0);
    }
    check_invariants(t);

    for (i = 0; i < COPIERS + 1; i++) {
        w[i].s = &s;
        w[i].vcpu = i;
        w[i].seed = 0x9E3779B97F4A7C15ull * (i + 1);
        w[i].ok = w[i].fault = w[i].bad = w[i].pins = 0;
        rc = pthread_create(&th[i], NULL, i == 0 ? rewriter : copier, &w[i]);
        assert_int_equal(rc, 0);
    }
    for (i = 0; i < COPIERS + 1; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].bad, 0);
        if (i != 0) {
            ok += w[i].ok;
            fault += w[i].fault;
        }
    }
    if (getenv("SMP_COPY_STATS") != NULL) {
        fprintf(stderr, "copies ok %u fault %u; rewriter ok %u failed %u pins %u\n", ok, fault,
                w[0].ok, w[0].fault, w[0].pins);
    }
    /* Both outcomes, and real pins of the pages copies write to, or the test means little
     * (typically about 1000 successes, 4000 faults and 30 pins). */
    assert_true(ok > 0);
    assert_true(fault > 0);
    assert_true(w[0].pins > 0);
    /* Finish what the last calls queued, then every count must be exact. */
    while ((rc = ext(t, 1, PVCORE_MMUEXT_TLB_FLUSH_LOCAL, 0, 0, PVCORE_DOMID_SELF)) == -PVCORE_ERESTART) {
    }
    assert_int_equal(rc, 0);
    check_invariants(t);
    while ((rc = pvcore_domain_destroy(t->dom[1])) == -PVCORE_ERESTART) {
    }
    assert_int_equal(rc, 0);
    assert_int_equal(pvcore_domain_tot_pages(t->dom[1]), 0);
    for (i = 0; i < TEST_FRAMES; i++) {
        struct pvcore_frame_info fi = finfo(t, i);
        assert_true(fi.owner != 1);
    }
    check_invariants(t);
    pvtest_free(t);
}

/*
 * The race a held page closes, made wide on purpose: one vCPU holds a page for writing
 * (as pvcore_guestmem_copy_to() does) and writes a forged L1 entry into it byte by byte,
 * yielding between bytes, then clears it; another vCPU keeps making the page read-only
 * and pinning it as an L1. While the page is held the pin must fail, so a validated table
 * never sees the forged bytes.
 */
#define SLOW_ROUNDS 300
#define FORGED_SLOT 100u

struct slow {
    struct pvtest *t;
    struct as64 as;
    uint64_t page, victim;
    _Atomic int done;
    unsigned held, pins, seen_forged;
};

static void *slow_writer(void *arg)
{
    struct slow *s = arg;
    struct pvcore_vcpu *v = pvcore_domain_vcpu(s->t->dom[1], 1);
    uint64_t forged = pte(s->victim, PT_P | PT_RW);
    unsigned i, b;

    for (i = 0; i < SLOW_ROUNDS; i++) {
        struct pvcore_guestmem_page pg;
        uint8_t *p;

        if (pvcore_guestmem_get(v, 0x400000, 1, &pg) != 0) {
            sched_yield();
            continue;
        }
        s->held++;
        p = (uint8_t *)frame_ptr(s->t, pg.maddr >> 12) + FORGED_SLOT * 8u;
        for (b = 0; b < 8; b++) {
            p[b] = (uint8_t)(forged >> (8 * b));
            sched_yield();
        }
        for (b = 0; b < 8; b++) {
            p[b] = 0;
            sched_yield();
        }
        pvcore_guestmem_put(v, &pg);
        sched_yield();
    }
    atomic_store(&s->done, 1);
    return NULL;
}

static void *pinner(void *arg)
{
    struct slow *s = arg;
    struct pvcore_vcpu *v = pvcore_domain_vcpu(s->t->dom[1], 2);

    while (!atomic_load(&s->done)) {
        pvcore_mmu_update_t u = { (s->as.l1 << 12), pte(s->page, PT_P) };
        struct pvcore_mmuext_req op = { PVCORE_MMUEXT_PIN_L1_TABLE, 0, s->page, 0 };
        uint32_t done = 0;

        assert_int_equal(pvcore_mmu_update(v, &u, 1, &done, PVCORE_DOMID_SELF), 0);
        if (pvcore_mmuext_op(v, &op, 1, &done, PVCORE_DOMID_SELF) == 0) {
            /* A validated L1 now: its entries change only through the validator. */
            s->pins++;
            if (atomic_load((_Atomic uint64_t *)(void *)&frame_ptr(s->t, s->page)[FORGED_SLOT]) != 0) {
                s->seen_forged++;
            }
            op.cmd = PVCORE_MMUEXT_UNPIN_TABLE;
            assert_int_equal(pvcore_mmuext_op(v, &op, 1, &done, PVCORE_DOMID_SELF), 0);
        }
        u.val = pte(s->page, PT_P | PT_RW);
        assert_int_equal(pvcore_mmu_update(v, &u, 1, &done, PVCORE_DOMID_SELF), 0);
        sched_yield();
    }
    return NULL;
}

static void test_held_page_never_becomes_table(void **state)
{
    struct pvtest *t = pvtest_new();
    struct slow s;
    pthread_t a, b;
    int rc, i;
    (void)state;

    memset(&s, 0, sizeof(s));
    s.t = t;
    build_as64(t, 1, &s.as, 1);
    s.page = s.as.data[0];
    s.victim = alloc_frame(t, 0); /* another domain's frame: what the forged entry names */
    for (i = 1; i <= 2; i++) {
        assert_int_equal(pvcore_mmuext_op(pvcore_domain_vcpu(t->dom[1], (uint32_t)i),
                                          &(struct pvcore_mmuext_req){ PVCORE_MMUEXT_NEW_BASEPTR, 0,
                                                                       s.as.l4, 0 },
                                          1, NULL, PVCORE_DOMID_SELF),
                         0);
    }
    assert_int_equal(pthread_create(&a, NULL, slow_writer, &s), 0);
    assert_int_equal(pthread_create(&b, NULL, pinner, &s), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    if (getenv("SMP_COPY_STATS") != NULL) {
        fprintf(stderr, "held %u pins %u forged seen %u\n", s.held, s.pins, s.seen_forged);
    }
    assert_true(s.held > 0);
    assert_int_equal(s.seen_forged, 0);
    while ((rc = ext(t, 1, PVCORE_MMUEXT_TLB_FLUSH_LOCAL, 0, 0, PVCORE_DOMID_SELF)) == -PVCORE_ERESTART) {
    }
    check_invariants(t);
    assert_int_equal(finfo(t, s.victim).count, 1);
    pvtest_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copies_while_tables_change),
        cmocka_unit_test(test_held_page_never_becomes_table),
    };
    return cmocka_run_group_tests_name("smp_copy", tests, NULL, NULL);
}
