/*
 * Test fixture shared by the MMU unit tests and the advisory regressions: a host-backend
 * machine with a privileged domain 0, a 64-bit domain 1 and a 32-bit PAE domain 2, a
 * frame allocator, page-table builders, and assertions that run the invariant checker.
 */
#ifndef PVCORE_TESTS_PVTEST_H
#define PVCORE_TESTS_PVTEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/pvcore.h>
#include <pvcore/host_backend.h>

#define PT_P 0x001ull
#define PT_RW 0x002ull
#define PT_US 0x004ull
#define PT_PWT 0x008ull
#define PT_PCD 0x010ull
#define PT_A 0x020ull
#define PT_D 0x040ull
#define PT_PSE 0x080ull
#define PT_G 0x100ull
#define PT_NX (1ull << 63)
#define PT_GUEST_KERNEL (1ull << 52)

#define TEST_FRAMES 4096u
#define TEST_DOMAINS 8u

struct pvtest {
    struct pvcore_host_backend *hb;
    struct pvcore_machine *m;
    struct pvcore_domain *dom[3]; /* 0: privileged 64-bit, 1: 64-bit, 2: 32-bit PAE */
    struct pvcore_domain *dom_dying[3];
    void *dom_mem[3];
    uint64_t next_mfn;
    void *scratch;
    size_t scratch_len;
};

static inline uint64_t pte_mfn_test(uint64_t e)
{
    return (e >> 12) & 0xFFFFFFFFFFull;
}

static inline uint64_t pte(uint64_t mfn, uint64_t flags)
{
    return (mfn << 12) | flags;
}

static inline struct pvcore_vcpu *vcpu(struct pvtest *t, int d, uint32_t id)
{
    return pvcore_domain_vcpu(t->dom[d], id);
}

static inline int pvtest_make_domain(struct pvtest *t, int idx, uint16_t domid, uint32_t flags,
                                     uint16_t nr_vcpus)
{
    struct pvcore_domain_config cfg;
    size_t sz = pvcore_domain_size(nr_vcpus);

    memset(&cfg, 0, sizeof(cfg));
    cfg.domid = domid;
    cfg.nr_vcpus = nr_vcpus;
    cfg.flags = flags;
    cfg.max_pages = TEST_FRAMES;
    t->dom_mem[idx] = aligned_alloc(64, (sz + 63) & ~(size_t)63);
    if (t->dom_mem[idx] == NULL) {
        return -1;
    }
    return pvcore_domain_create(t->m, t->dom_mem[idx], sz, &cfg, &t->dom[idx]);
}

static inline struct pvtest *pvtest_new_budget(uint32_t budget, uint32_t mflags)
{
    struct pvtest *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    assert_int_equal(pvcore_host_backend_create(TEST_FRAMES, TEST_DOMAINS, budget, mflags, &t->hb), 0);
    t->m = pvcore_host_backend_machine(t->hb);
    assert_int_equal(pvtest_make_domain(t, 0, 0, PVCORE_DOMAIN_PRIVILEGED, 4), 0);
    assert_int_equal(pvtest_make_domain(t, 1, 1, 0, 4), 0);
    assert_int_equal(pvtest_make_domain(t, 2, 2, PVCORE_DOMAIN_GUEST_32, 2), 0);
    t->next_mfn = 16; /* keep a few low frames unassigned */
    t->scratch_len = pvcore_check_scratch_size(t->m);
    t->scratch = malloc(t->scratch_len);
    assert_non_null(t->scratch);
    return t;
}

static inline struct pvtest *pvtest_new(void)
{
    return pvtest_new_budget(0, 0);
}

static inline void pvtest_free(struct pvtest *t)
{
    int i;
    for (i = 0; i < 3; i++) {
        free(t->dom_mem[i]);
    }
    pvcore_host_backend_destroy(t->hb);
    free(t->scratch);
    free(t);
}

/* Gives domain index d a fresh zeroed frame; its guest frame number is the mfn. */
static inline uint64_t alloc_frame(struct pvtest *t, int d)
{
    uint64_t mfn = t->next_mfn++;
    assert_true(mfn < TEST_FRAMES);
    memset(pvcore_host_backend_frame(t->hb, pvcore_mfn(mfn)), 0, 4096);
    assert_int_equal(pvcore_domain_assign(t->dom[d], pvcore_mfn(mfn), pvcore_gfn(mfn)), 0);
    return mfn;
}

/* Hypercall `nr` (arguments a0-a2, the rest 0) on vCPU v, issued again while it asks to
 * be restarted, as a guest re-executes a preempted one: pvcore_hypercall()'s last result;
 * the hypercall's return value in *ret. */
static inline int pvtest_hcall(struct pvcore_vcpu *v, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                               uint64_t *ret)
{
    struct pvcore_hypercall_regs r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.nr = nr;
    r.arg[0] = a0;
    r.arg[1] = a1;
    r.arg[2] = a2;
    while ((rc = pvcore_hypercall(v, &r)) == PVCORE_HYPERCALL_RESTART) {
    }
    *ret = r.ret;
    return rc;
}

static inline uint64_t *frame_ptr(struct pvtest *t, uint64_t mfn)
{
    return pvcore_host_backend_frame(t->hb, pvcore_mfn(mfn));
}

/* evtchn_kick calls so far (a vCPU's upcall_pending went from 0 to 1). */
static inline uint64_t kicks(struct pvtest *t)
{
    struct pvcore_host_stats st;

    pvcore_host_backend_stats(t->hb, &st);
    return st.evtchn_kicks;
}

static inline struct pvcore_frame_info finfo(struct pvtest *t, uint64_t mfn)
{
    struct pvcore_frame_info fi;
    memset(&fi, 0, sizeof(fi)); /* padding too: states are compared with memcmp */
    assert_int_equal(pvcore_frame_query(t->m, pvcore_mfn(mfn), &fi), 0);
    return fi;
}

/* Runs the invariant checker; fails the test with the first violation. */
#define check_invariants(t) pvtest_check((t), __FILE__, __LINE__)
static inline void pvtest_check(struct pvtest *t, const char *file, int line)
{
    struct pvcore_check_report r;
    int rc = pvcore_check_invariants(t->m, t->scratch, t->scratch_len, &r);
    if (rc != 0) {
        fprintf(stderr, "%s:%d: invariant violated: %s at mfn %llu (expected %llu, actual %llu), %u violations\n",
                file, line, pvcore_check_code_name(r.code), (unsigned long long)r.mfn,
                (unsigned long long)r.expected, (unsigned long long)r.actual, r.violations);
        fail();
    }
}

static inline int mmu1(struct pvtest *t, int d, uint64_t ptr, uint64_t val, uint32_t fd)
{
    pvcore_mmu_update_t u;
    uint32_t done = 0;
    int rc;
    u.ptr = ptr;
    u.val = val;
    rc = pvcore_mmu_update(vcpu(t, d, 0), &u, 1, &done, fd);
    assert_int_equal(done, rc == 0 ? 1u : 0u);
    return rc;
}

/* mmu_update of entry `slot` of table `table`. */
static inline int set_entry(struct pvtest *t, int d, uint64_t table, unsigned slot, uint64_t val)
{
    return mmu1(t, d, (table << 12) | ((uint64_t)slot << 3), val, PVCORE_DOMID_SELF);
}

static inline int ext(struct pvtest *t, int d, uint32_t cmd, uint64_t arg1, uint64_t arg2, uint32_t fd)
{
    struct pvcore_mmuext_req op;
    uint32_t done = 0;
    int rc;
    memset(&op, 0, sizeof(op));
    op.cmd = cmd;
    op.arg1 = arg1;
    op.arg2 = arg2;
    rc = pvcore_mmuext_op(vcpu(t, d, 0), &op, 1, &done, fd);
    assert_int_equal(done, rc == 0 ? 1u : 0u);
    return rc;
}

static inline int pin(struct pvtest *t, int d, unsigned level, uint64_t mfn)
{
    return ext(t, d, PVCORE_MMUEXT_PIN_L1_TABLE + level - 1, mfn, 0, PVCORE_DOMID_SELF);
}

static inline int unpin(struct pvtest *t, int d, uint64_t mfn)
{
    return ext(t, d, PVCORE_MMUEXT_UNPIN_TABLE, mfn, 0, PVCORE_DOMID_SELF);
}

/* A 64-bit address space for domain index d: l4 -> l3 -> l2 -> l1, the l1 mapping
 * `ndata` data frames read-write at va 0x400000 + i*4K. Entries are written directly into
 * the (still untyped) frames, as a guest writes its new tables before pinning them. */
struct as64 {
    uint64_t l4, l3, l2, l1;
    uint64_t data[8];
};

static inline void build_as64(struct pvtest *t, int d, struct as64 *as, unsigned ndata)
{
    unsigned i;
    as->l4 = alloc_frame(t, d);
    as->l3 = alloc_frame(t, d);
    as->l2 = alloc_frame(t, d);
    as->l1 = alloc_frame(t, d);
    frame_ptr(t, as->l4)[0] = pte(as->l3, PT_P | PT_RW | PT_US);
    frame_ptr(t, as->l3)[0] = pte(as->l2, PT_P | PT_RW | PT_US);
    frame_ptr(t, as->l2)[2] = pte(as->l1, PT_P | PT_RW | PT_US); /* va 0x400000 */
    for (i = 0; i < ndata && i < 8; i++) {
        as->data[i] = alloc_frame(t, d);
        frame_ptr(t, as->l1)[i] = pte(as->data[i], PT_P | PT_RW | PT_US);
    }
}

/* A 32-bit PAE address space: l3 (slots 0 and 3) -> l2 (+ the xen l2 at slot 3) -> l1. */
struct as32 {
    uint64_t l3, l2, l2x, l1;
    uint64_t data[8];
};

static inline void build_as32(struct pvtest *t, int d, struct as32 *as, unsigned ndata)
{
    unsigned i;
    as->l3 = alloc_frame(t, d);
    as->l2 = alloc_frame(t, d);
    as->l2x = alloc_frame(t, d);
    as->l1 = alloc_frame(t, d);
    frame_ptr(t, as->l3)[0] = pte(as->l2, PT_P);
    frame_ptr(t, as->l3)[3] = pte(as->l2x, PT_P);
    frame_ptr(t, as->l2)[2] = pte(as->l1, PT_P | PT_RW | PT_US); /* va 0x400000 */
    for (i = 0; i < ndata && i < 8; i++) {
        as->data[i] = alloc_frame(t, d);
        frame_ptr(t, as->l1)[i] = pte(as->data[i], PT_P | PT_RW | PT_US);
    }
}

/* Snapshot of every frame, to compare states (preemption, failed operations). */
static inline struct pvcore_frame_info *snapshot(struct pvtest *t)
{
    struct pvcore_frame_info *s = calloc(TEST_FRAMES, sizeof(*s));
    uint64_t i;
    assert_non_null(s);
    for (i = 0; i < TEST_FRAMES; i++) {
        s[i] = finfo(t, i);
    }
    return s;
}

static inline void assert_same_state(struct pvtest *t, const struct pvcore_frame_info *s)
{
    uint64_t i;
    for (i = 0; i < TEST_FRAMES; i++) {
        struct pvcore_frame_info now = finfo(t, i);
        if (memcmp(&now, &s[i], sizeof(now)) != 0) {
            fprintf(stderr, "frame %llu changed: owner %u->%u type %u->%u flags %#x->%#x count %u->%u tcount %u->%u\n",
                    (unsigned long long)i, s[i].owner, now.owner, s[i].type, now.type, s[i].flags,
                    now.flags, s[i].count, now.count, s[i].type_count, now.type_count);
            fail();
        }
    }
}

#endif /* PVCORE_TESTS_PVTEST_H */
