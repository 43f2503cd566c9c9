/*
 * The refusal hook (<pvcore/trace.h>): for each reason code, a request that the rule
 * refuses, with the reported error, command, batch index, level, slot and frames checked;
 * that the hook is called exactly once per refused call and never for success or
 * preemption; that it runs with no library lock held; and the reason names.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE */

#include "pvtest.h"

#include <sys/mman.h>

#include "gntenv.h"

#define MAX_SEEN 8

struct seen {
    unsigned n;
    struct pvcore_refusal r[MAX_SEEN];
    struct pvcore_vcpu *v[MAX_SEEN];
    struct pvtest *t;
    uint64_t probe; /* a frame the hook queries, proving it may call the library */
};

static struct seen seen;

static void hook(void *ctx, struct pvcore_vcpu *v, const struct pvcore_refusal *r)
{
    struct seen *s = ctx;

    if (s->n < MAX_SEEN) {
        s->r[s->n] = *r;
        s->v[s->n] = v;
    }
    s->n++;
    if (s->probe != 0) {
        /* Takes no MMU lock, but a mmu_update would deadlock if the lock were held. */
        pvcore_mmu_update_t u = { (s->probe << 12) | 8u, 0x55 };
        uint32_t done = 0;
        assert_int_equal(pvcore_mmu_update(v, &u, 1, &done, PVCORE_DOMID_SELF), 0);
    }
}

static int setup(void **state)
{
    struct pvtest *t = pvtest_new();

    memset(&seen, 0, sizeof(seen));
    seen.t = t;
    pvcore_trace_set_refusal_hook(t->m, hook, &seen);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    pvtest_free(*state);
    return 0;
}

#define NONE_MFN PVCORE_INVALID_MFN_VALUE

/* Exactly one refusal since the last check, with these fields. */
#define expect(code_, err_, hc_, cmd_, index_, level_, slot_, table_, mfn_) \
    expect_at(__LINE__, code_, err_, hc_, cmd_, index_, level_, slot_, table_, mfn_)
static void expect_at(int line, uint32_t code, int err, uint32_t hc, uint32_t cmd, uint32_t index,
                      uint32_t level, uint32_t slot, uint64_t table, uint64_t mfn)
{
    const struct pvcore_refusal *r = &seen.r[0];

    if (seen.n != 1 || r->code != code || r->err != err || r->hypercall != hc || r->cmd != cmd ||
        r->index != index || r->level != level || r->slot != slot ||
        (r->table).v != table || (r->mfn).v != mfn) {
        fprintf(stderr,
                "line %d: %u refusals; first: code %u (%s) err %d hc %u cmd %u index %u level %u "
                "slot %u table %llx mfn %llx; expected code %u (%s) err %d hc %u cmd %u index %u "
                "level %u slot %u table %llx mfn %llx\n",
                line, seen.n, r->code, pvcore_trace_reason_name(r->code), r->err, r->hypercall,
                r->cmd, r->index, r->level, r->slot,
                (unsigned long long)(r->table).v,
                (unsigned long long)(r->mfn).v, code, pvcore_trace_reason_name(code),
                err, hc, cmd, index, level, slot, (unsigned long long)table,
                (unsigned long long)mfn);
        fail();
    }
    seen.n = 0;
}

#define MMU PVCORE_HYPERVISOR_mmu_update
#define EXT PVCORE_HYPERVISOR_mmuext_op
#define UVM PVCORE_HYPERVISOR_update_va_mapping
#define NS PVCORE_REFUSAL_NO_SLOT
#define PIN1 PVCORE_MMUEXT_PIN_L1_TABLE
#define PIN2 PVCORE_MMUEXT_PIN_L2_TABLE
#define PIN3 PVCORE_MMUEXT_PIN_L3_TABLE
#define PIN4 PVCORE_MMUEXT_PIN_L4_TABLE

/* ---- the whole call ---------------------------------------------------------------------------- */

static void test_call_level(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    pvcore_mmu_update_t u[3];
    uint32_t done = 0;

    build_as64(t, 1, &as, 1);
    assert_int_equal(pin(t, 1, 4, as.l4), 0);
    assert_int_equal(seen.n, 0);

    /* BAD_COMMAND: unknown mmu_update sub-command and mmuext command. */
    assert_int_equal(mmu1(t, 1, (as.l1 << 12) | 4, 0, PVCORE_DOMID_SELF), -PVCORE_ENOSYS);
    expect(PVCORE_REFUSAL_BAD_COMMAND, -PVCORE_ENOSYS, MMU, 4, 0, 0, NS, NONE_MFN, NONE_MFN);
    assert_int_equal(ext(t, 1, 21, 0, 0, PVCORE_DOMID_SELF), -PVCORE_ENOSYS);
    expect(PVCORE_REFUSAL_BAD_COMMAND, -PVCORE_ENOSYS, EXT, 21, 0, 0, NS, NONE_MFN, NONE_MFN);

    /* BAD_POINTER: no request array. */
    assert_int_equal(pvcore_mmu_update(vcpu(t, 1, 0), NULL, 1, &done, PVCORE_DOMID_SELF),
                     -PVCORE_EFAULT);
    expect(PVCORE_REFUSAL_BAD_POINTER, -PVCORE_EFAULT, MMU, 0, 0, 0, NS, NONE_MFN, NONE_MFN);
    assert_int_equal(pvcore_mmuext_op(vcpu(t, 1, 0), NULL, 2, &done, PVCORE_DOMID_SELF),
                     -PVCORE_EFAULT);
    expect(PVCORE_REFUSAL_BAD_POINTER, -PVCORE_EFAULT, EXT, 0, 0, 0, NS, NONE_MFN, NONE_MFN);

    /* NO_DOMAIN: an unknown domain, and oneself by id; a page-table owner that is none. */
    assert_int_equal(mmu1(t, 1, as.l1 << 12, 0, 5), -PVCORE_ESRCH);
    expect(PVCORE_REFUSAL_NO_DOMAIN, -PVCORE_ESRCH, MMU, 0, 0, 0, NS, NONE_MFN, NONE_MFN);
    assert_int_equal(ext(t, 1, PIN1, as.l1, 0, 1), -PVCORE_ESRCH);
    expect(PVCORE_REFUSAL_NO_DOMAIN, -PVCORE_ESRCH, EXT, 0, 0, 0, NS, NONE_MFN, NONE_MFN);
    assert_int_equal(mmu1(t, 1, as.l1 << 12, 0, (6u << 16) | PVCORE_DOMID_SELF), -PVCORE_ESRCH);
    expect(PVCORE_REFUSAL_NO_DOMAIN, -PVCORE_ESRCH, MMU, 0, 0, 0, NS, NONE_MFN, NONE_MFN);
    assert_int_equal(pvcore_update_va_mapping(vcpu(t, 1, 0), 0x400000, 0, 0, 7), -PVCORE_ESRCH);
    expect(PVCORE_REFUSAL_NO_DOMAIN, -PVCORE_ESRCH, UVM, 0, 0, 0, NS, NONE_MFN, NONE_MFN);

    /* NOT_PERMITTED: an unprivileged caller names another domain. */
    assert_int_equal(mmu1(t, 1, as.l1 << 12, 0, 0), -PVCORE_EPERM);
    expect(PVCORE_REFUSAL_NOT_PERMITTED, -PVCORE_EPERM, MMU, 0, 0, 1, 0, as.l1, NONE_MFN);
    assert_int_equal(ext(t, 1, PIN1, as.l1, 0, 0), -PVCORE_EPERM);
    expect(PVCORE_REFUSAL_NOT_PERMITTED, -PVCORE_EPERM, EXT, 0, 0, 0, NS, NONE_MFN, NONE_MFN);
    assert_int_equal(pvcore_update_va_mapping(vcpu(t, 1, 0), 0x400000, 0, 0, 2), -PVCORE_EPERM);
    expect(PVCORE_REFUSAL_NOT_PERMITTED, -PVCORE_EPERM, UVM, 0, 0, 0, NS, NONE_MFN, NONE_MFN);

    /* SELF_ONLY: a vCPU-local command on another domain, even by the privileged one. */
    assert_int_equal(ext(t, 0, PVCORE_MMUEXT_TLB_FLUSH_LOCAL, 0, 0, 1), -PVCORE_EPERM);
    expect(PVCORE_REFUSAL_SELF_ONLY, -PVCORE_EPERM, EXT, PVCORE_MMUEXT_TLB_FLUSH_LOCAL, 0, 0, NS,
           NONE_MFN, NONE_MFN);

    /* PSEUDO_OWNER: DOMID_IO owns no page tables, and has no guest frame numbers. */
    assert_int_equal(ext(t, 1, PIN1, as.l1, 0, PVCORE_DOMID_IO), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_PSEUDO_OWNER, -PVCORE_EINVAL, EXT, 0, 0, 0, NS, NONE_MFN, NONE_MFN);
    assert_int_equal(mmu1(t, 1, (as.data[0] << 12) | PVCORE_MMU_MACHPHYS_UPDATE, 3, PVCORE_DOMID_IO),
                     -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_PSEUDO_OWNER, -PVCORE_EINVAL, MMU, PVCORE_MMU_MACHPHYS_UPDATE, 0, 0, NS,
           NONE_MFN, as.data[0]);

    /* The batch index: the third request is refused, the first two stand. */
    u[0].ptr = (as.l1 << 12) | (10u << 3);
    u[0].val = 0;
    u[1].ptr = (as.l1 << 12) | (11u << 3);
    u[1].val = 0;
    u[2].ptr = (as.l1 << 12) | (12u << 3);
    u[2].val = pte(as.l1, PT_P | PT_RW);
    done = 0;
    assert_int_equal(pvcore_mmu_update(vcpu(t, 1, 0), u, 3, &done, PVCORE_DOMID_SELF),
                     -PVCORE_EBUSY);
    assert_int_equal(done, 2);
    expect(PVCORE_REFUSAL_WRITABLE_PAGE_TABLE, -PVCORE_EBUSY, MMU, 0, 2, 1, 12, as.l1, as.l1);

    /* Success reports nothing. */
    assert_int_equal(set_entry(t, 1, as.l1, 12, pte(as.data[0], PT_P)), 0);
    assert_int_equal(seen.n, 0);
    check_invariants(t);
}

/* ---- frames and types ---------------------------------------------------------------------------- */

static void test_frames(void **state)
{
    struct pvtest *t = *state;
    uint64_t l1 = alloc_frame(t, 1), other = alloc_frame(t, 2), a = alloc_frame(t, 1);
    uint64_t l1b = alloc_frame(t, 1);
    uint64_t xen = 5;

    assert_int_equal(pvcore_frame_reserve_xen(t->m, pvcore_mfn(xen), 1), 0);
    /* NOT_OWNER: pinning someone else's frame, or one beyond memory. */
    assert_int_equal(pin(t, 1, 1, other), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_NOT_OWNER, -PVCORE_EINVAL, EXT, PIN1, 0, 1, NS, other, other);
    assert_int_equal(pin(t, 1, 1, TEST_FRAMES + 100), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_NOT_OWNER, -PVCORE_EINVAL, EXT, PIN1, 0, 1, NS, TEST_FRAMES + 100,
           TEST_FRAMES + 100);
    /* ... and writing into someone else's memory. */
    assert_int_equal(mmu1(t, 1, other << 12, 1, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_NOT_OWNER, -PVCORE_EINVAL, MMU, 0, 0, 0, 0, other, other);

    /* FOREIGN_FRAME, FREE_FRAME, IOMEM, XEN_FRAME: what an L1 entry maps. */
    frame_ptr(t, l1)[7] = pte(other, PT_P);
    assert_int_equal(pin(t, 1, 1, l1), -PVCORE_EBUSY);
    expect(PVCORE_REFUSAL_FOREIGN_FRAME, -PVCORE_EBUSY, EXT, PIN1, 0, 1, 7, l1, other);
    frame_ptr(t, l1)[7] = pte(3, PT_P);
    assert_int_equal(pin(t, 1, 1, l1), -PVCORE_EBUSY);
    expect(PVCORE_REFUSAL_FREE_FRAME, -PVCORE_EBUSY, EXT, PIN1, 0, 1, 7, l1, 3);
    frame_ptr(t, l1)[7] = pte(TEST_FRAMES + 5, PT_P);
    assert_int_equal(pin(t, 1, 1, l1), -PVCORE_EPERM);
    expect(PVCORE_REFUSAL_IOMEM, -PVCORE_EPERM, EXT, PIN1, 0, 1, 7, l1, TEST_FRAMES + 5);
    frame_ptr(t, l1)[7] = pte(xen, PT_P | PT_RW);
    assert_int_equal(pin(t, 1, 1, l1), -PVCORE_EBUSY);
    expect(PVCORE_REFUSAL_XEN_FRAME, -PVCORE_EBUSY, EXT, PIN1, 0, 1, 7, l1, xen);
    /* (The privileged domain, naming DOMID_XEN: read-only only.) */
    {
        struct as64 as0;
        build_as64(t, 0, &as0, 0);
        assert_int_equal(pin(t, 0, 4, as0.l4), 0);
        assert_int_equal(mmu1(t, 0, as0.l1 << 12, pte(xen, PT_P | PT_RW), PVCORE_DOMID_XEN),
                         -PVCORE_EBUSY);
        expect(PVCORE_REFUSAL_XEN_FRAME, -PVCORE_EBUSY, MMU, 0, 0, 1, 0, as0.l1, xen);
        assert_int_equal(mmu1(t, 0, as0.l1 << 12, pte(xen, PT_P), PVCORE_DOMID_XEN), 0);
        assert_int_equal(seen.n, 0);
    }

    /* TYPE_CONFLICT: an L1 pinned as an L2; WRITABLE_PAGE_TABLE: mapped writable. */
    frame_ptr(t, l1)[7] = pte(a, PT_P | PT_RW);
    assert_int_equal(pin(t, 1, 1, l1), 0);
    assert_int_equal(pin(t, 1, 2, l1), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_TYPE_CONFLICT, -PVCORE_EINVAL, EXT, PIN2, 0, 2, NS, l1, l1);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_BASEPTR, l1, 0, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_TYPE_CONFLICT, -PVCORE_EINVAL, EXT, PVCORE_MMUEXT_NEW_BASEPTR, 0, 4, NS,
           l1, l1);
    frame_ptr(t, l1b)[9] = pte(l1, PT_P | PT_RW);
    assert_int_equal(pin(t, 1, 1, l1b), -PVCORE_EBUSY);
    expect(PVCORE_REFUSAL_WRITABLE_PAGE_TABLE, -PVCORE_EBUSY, EXT, PIN1, 0, 1, 9, l1b, l1);
    /* A page table cannot be cleared; a copy needs a source of one's own. */
    {
        assert_int_equal(ext(t, 1, PVCORE_MMUEXT_CLEAR_PAGE, l1, 0, PVCORE_DOMID_SELF),
                         -PVCORE_EINVAL);
        expect(PVCORE_REFUSAL_WRITABLE_PAGE_TABLE, -PVCORE_EINVAL, EXT, PVCORE_MMUEXT_CLEAR_PAGE, 0,
               0, NS, NONE_MFN, l1);
        assert_int_equal(ext(t, 1, PVCORE_MMUEXT_COPY_PAGE, a, other, PVCORE_DOMID_SELF),
                         -PVCORE_EINVAL);
        expect(PVCORE_REFUSAL_NOT_OWNER, -PVCORE_EINVAL, EXT, PVCORE_MMUEXT_COPY_PAGE, 0, 0, NS,
               NONE_MFN, other);
    }
    check_invariants(t);
}

/* ---- entry rules ---------------------------------------------------------------------------------- */

static void test_entry_rules(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    uint64_t l1 = alloc_frame(t, 1), a = alloc_frame(t, 1);
    uint64_t l2b = alloc_frame(t, 1), l2c = alloc_frame(t, 1);

    /* FLAGS in an L1 (cache bits without I/O memory), found while pinning. */
    frame_ptr(t, l1)[4] = pte(a, PT_P | PT_PCD);
    assert_int_equal(pin(t, 1, 1, l1), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_FLAGS, -PVCORE_EINVAL, EXT, PIN1, 0, 1, 4, l1, a);

    /* Deep inside a validation: pinning the L4 validates down to the L1's bad entry. */
    build_as64(t, 1, &as, 2);
    frame_ptr(t, as.l1)[1] |= PT_PWT;
    assert_int_equal(pin(t, 1, 4, as.l4), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_FLAGS, -PVCORE_EINVAL, EXT, PIN4, 0, 1, 1, as.l1, as.data[1]);
    frame_ptr(t, as.l1)[1] &= ~PT_PWT;
    /* PSE and FLAGS in an L2. */
    frame_ptr(t, as.l2)[2] |= PT_PSE;
    assert_int_equal(pin(t, 1, 4, as.l4), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_PSE, -PVCORE_EINVAL, EXT, PIN4, 0, 2, 2, as.l2, as.l1);
    frame_ptr(t, as.l2)[2] &= ~PT_PSE;
    frame_ptr(t, as.l2)[2] |= PT_G;
    assert_int_equal(pin(t, 1, 4, as.l4), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_FLAGS, -PVCORE_EINVAL, EXT, PIN4, 0, 2, 2, as.l2, as.l1);
    frame_ptr(t, as.l2)[2] &= ~PT_G;
    assert_int_equal(pin(t, 1, 4, as.l4), 0);
    assert_int_equal(seen.n, 0);

    /* The same rules on mmu_update of a live table. */
    assert_int_equal(set_entry(t, 1, as.l2, 3, pte(l1, PT_P | PT_PSE)), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_PSE, -PVCORE_EINVAL, MMU, 0, 0, 2, 3, as.l2, l1);
    assert_int_equal(set_entry(t, 1, as.l1, 5, pte(a, PT_P | PT_PCD)), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_FLAGS, -PVCORE_EINVAL, MMU, 0, 0, 1, 5, as.l1, a);
    /* A new L1 under an L2 entry is validated: the inner entry is reported. */
    frame_ptr(t, l1)[4] = pte(a, PT_P | PT_PCD);
    assert_int_equal(set_entry(t, 1, as.l2, 3, pte(l1, PT_P)), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_FLAGS, -PVCORE_EINVAL, MMU, 0, 0, 1, 4, l1, a);

    /* HYP_SLOT: the hypervisor's L4 slots. */
    assert_int_equal(set_entry(t, 1, as.l4, 256, 0), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_HYP_SLOT, -PVCORE_EINVAL, MMU, 0, 0, 4, 256, as.l4, 0);

    /* LINEAR: a writable self map, a chain, a foreign target. */
    assert_int_equal(set_entry(t, 1, as.l4, 5, pte(as.l4, PT_P)), 0);
    assert_int_equal(set_entry(t, 1, as.l4, 5, pte(as.l4, PT_P | PT_RW)), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_LINEAR, -PVCORE_EINVAL, MMU, 0, 0, 4, 5, as.l4, as.l4);
    assert_int_equal(pin(t, 1, 2, l2b), 0);
    assert_int_equal(pin(t, 1, 2, l2c), 0);
    assert_int_equal(set_entry(t, 1, as.l2, 10, pte(l2b, PT_P)), 0);
    assert_int_equal(set_entry(t, 1, l2b, 0, pte(l2c, PT_P)), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_LINEAR, -PVCORE_EINVAL, MMU, 0, 0, 2, 0, l2b, l2c);
    /* A table of another level (an L4 under an L2) is a type conflict, not a linear one. */
    assert_int_equal(set_entry(t, 1, as.l2, 11, pte(as.l4, PT_P)), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_TYPE_CONFLICT, -PVCORE_EINVAL, MMU, 0, 0, 2, 11, as.l2, as.l4);
    /* NOT_PERMITTED: upper entries never take a foreign data owner. */
    {
        struct as64 as0;
        build_as64(t, 0, &as0, 0);
        assert_int_equal(pin(t, 0, 4, as0.l4), 0);
        assert_int_equal(mmu1(t, 0, (as0.l2 << 12) | (9u << 3), pte(a, PT_P), 1), -PVCORE_EINVAL);
        expect(PVCORE_REFUSAL_NOT_PERMITTED, -PVCORE_EINVAL, MMU, 0, 0, 2, 9, as0.l2, NONE_MFN);
    }
    check_invariants(t);
}

static void test_no_linear_machine(void **state)
{
    struct pvtest *t = pvtest_new_budget(0, PVCORE_MACHINE_NO_LINEAR_PT);
    struct as64 as;
    (void)state;

    memset(&seen, 0, sizeof(seen));
    pvcore_trace_set_refusal_hook(t->m, hook, &seen);
    build_as64(t, 1, &as, 0);
    assert_int_equal(pin(t, 1, 4, as.l4), 0);
    assert_int_equal(set_entry(t, 1, as.l4, 5, pte(as.l4, PT_P)), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_LINEAR, -PVCORE_EINVAL, MMU, 0, 0, 4, 5, as.l4, as.l4);
    pvtest_free(t);
}

/* ---- PAE ------------------------------------------------------------------------------------------ */

static void test_pae(void **state)
{
    struct pvtest *t = *state;
    struct as32 as;
    uint64_t l2other = alloc_frame(t, 2), l3b = alloc_frame(t, 2);

    build_as32(t, 2, &as, 2);
    assert_int_equal(pin(t, 2, 3, as.l3), 0);
    /* PAE_SLOT3: updating slot 3, an L3 without it, one sharing the hypervisor L2. */
    assert_int_equal(set_entry(t, 2, as.l3, 3, pte(as.l2x, PT_P)), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_PAE_SLOT3, -PVCORE_EINVAL, MMU, 0, 0, 3, 3, as.l3, as.l2x);
    frame_ptr(t, l3b)[0] = pte(as.l2, PT_P);
    assert_int_equal(pin(t, 2, 3, l3b), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_PAE_SLOT3, -PVCORE_EINVAL, EXT, PIN3, 0, 3, 3, l3b, NONE_MFN);
    frame_ptr(t, l3b)[3] = pte(as.l2x, PT_P);
    assert_int_equal(pin(t, 2, 3, l3b), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_PAE_SLOT3, -PVCORE_EINVAL, EXT, PIN3, 0, 3, 3, l3b, as.l2x);
    /* HYP_SLOT in the hypervisor's L2 (-EPERM); beyond the four PDPT slots. */
    assert_int_equal(set_entry(t, 2, as.l2x, 428, 0), -PVCORE_EPERM);
    expect(PVCORE_REFUSAL_HYP_SLOT, -PVCORE_EPERM, MMU, 0, 0, 2, 428, as.l2x, 0);
    assert_int_equal(set_entry(t, 2, as.l3, 4, 0), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_HYP_SLOT, -PVCORE_EINVAL, MMU, 0, 0, 3, 4, as.l3, 0);
    /* RESERVED_BITS: NX in a PDPT entry; FLAGS: a cache bit there. */
    assert_int_equal(set_entry(t, 2, as.l3, 1, pte(l2other, PT_P | PT_NX)), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_RESERVED_BITS, -PVCORE_EINVAL, MMU, 0, 0, 3, 1, as.l3, l2other);
    assert_int_equal(set_entry(t, 2, as.l3, 1, pte(l2other, PT_P | PT_PCD)), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_FLAGS, -PVCORE_EINVAL, MMU, 0, 0, 3, 1, as.l3, l2other);
    /* LINEAR: no linear L3 (XSA-185). */
    assert_int_equal(set_entry(t, 2, as.l3, 2, pte(as.l3, PT_P)), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_LINEAR, -PVCORE_EINVAL, MMU, 0, 0, 3, 2, as.l3, as.l3);
    /* USER_BASE_32. */
    assert_int_equal(ext(t, 2, PVCORE_MMUEXT_NEW_USER_BASEPTR, as.l3, 0, PVCORE_DOMID_SELF),
                     -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_USER_BASE_32, -PVCORE_EINVAL, EXT, PVCORE_MMUEXT_NEW_USER_BASEPTR, 0, 3,
           NS, as.l3, as.l3);
    check_invariants(t);
}

/* BELOW_4G: a PDPT above 4 GiB needs a machine that large. Only its frames near 4 GiB are
 * RAM, and only RAM is touched through the directmap, so the directmap is reserved address
 * space, not memory. */
static void flush_nop(void *ctx, const struct pvcore_flush *f)
{
    (void)ctx;
    (void)f;
}

static void test_pae_below_4g(void **state)
{
    const uint64_t nf = (1ull << 20) + 16u, l3 = 1ull << 20, l2 = l3 + 1, l2x = l3 + 2;
    struct pvcore_host_ops ops;
    struct pvcore_machine_config cfg;
    struct pvcore_domain_config dc;
    struct pvcore_machine *m;
    struct pvcore_domain *d;
    size_t msize = pvcore_machine_size(4), fsize = pvcore_frame_table_size(nf);
    size_t dsize = pvcore_domain_size(1);
    void *mmem = aligned_alloc(64, (msize + 63) & ~(size_t)63);
    void *ft = aligned_alloc(64, (fsize + 63) & ~(size_t)63);
    void *dmem = aligned_alloc(64, (dsize + 63) & ~(size_t)63);
    uint64_t *m2p = calloc(nf, sizeof(uint64_t));
    uint8_t *dm = mmap(NULL, nf * 4096u, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    uint64_t *pt3, mfn;
    (void)state;

    assert_non_null(mmem);
    assert_non_null(ft);
    assert_non_null(dmem);
    assert_non_null(m2p);
    assert_true(dm != MAP_FAILED);
    memset(&ops, 0, sizeof(ops));
    ops.flush_tlb = flush_nop;
    memset(&cfg, 0, sizeof(cfg));
    cfg.frame_table = ft;
    cfg.frame_table_bytes = fsize;
    cfg.nr_frames = nf;
    cfg.directmap = dm;
    cfg.m2p = m2p;
    cfg.max_domains = 4;
    cfg.ops = &ops;
    assert_int_equal(pvcore_machine_init(mmem, msize, &cfg, &m), 0);
    assert_int_equal(pvcore_frame_add_ram(m, pvcore_mfn(l3), 8), 0);
    memset(&dc, 0, sizeof(dc));
    dc.domid = 2;
    dc.nr_vcpus = 1;
    dc.flags = PVCORE_DOMAIN_GUEST_32;
    dc.max_pages = 8;
    assert_int_equal(pvcore_domain_create(m, dmem, dsize, &dc, &d), 0);
    for (mfn = l3; mfn <= l2x; mfn++) {
        assert_int_equal(pvcore_domain_assign(d, pvcore_mfn(mfn), pvcore_gfn(mfn - l3)), 0);
    }
    pt3 = (uint64_t *)(void *)(dm + l3 * 4096u);
    pt3[0] = pte(l2, PT_P);
    pt3[3] = pte(l2x, PT_P);
    memset(&seen, 0, sizeof(seen));
    pvcore_trace_set_refusal_hook(m, hook, &seen);
    {
        struct pvcore_mmuext_req op = { PVCORE_MMUEXT_PIN_L3_TABLE, 0, l3, 0 };
        uint32_t done = 0;

        assert_int_equal(pvcore_mmuext_op(pvcore_domain_vcpu(d, 0), &op, 1, &done, PVCORE_DOMID_SELF),
                         -PVCORE_ERANGE);
        expect(PVCORE_REFUSAL_BELOW_4G, -PVCORE_ERANGE, EXT, PIN3, 0, 3, NS, l3, l3);
        /* The guest that copes with it may. */
        assert_int_equal(pvcore_domain_vm_assist(d, PVCORE_VMASST_CMD_enable,
                                                 PVCORE_VMASST_TYPE_pae_extended_cr3), 0);
        assert_int_equal(pvcore_mmuext_op(pvcore_domain_vcpu(d, 0), &op, 1, &done, PVCORE_DOMID_SELF),
                         0);
        assert_int_equal(seen.n, 0);
    }
    munmap(dm, nf * 4096u);
    free(m2p);
    free(dmem);
    free(ft);
    free(mmem);
}

/* ---- pins and the other mmuext commands ----------------------------------------------------------- */

static void test_mmuext(void **state)
{
    struct pvtest *t = *state;
    uint64_t l1 = alloc_frame(t, 1);

    assert_int_equal(pin(t, 1, 1, l1), 0);
    assert_int_equal(pin(t, 1, 1, l1), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_ALREADY_PINNED, -PVCORE_EINVAL, EXT, PIN1, 0, 1, NS, l1, l1);
    assert_int_equal(unpin(t, 1, l1), 0);
    assert_int_equal(unpin(t, 1, l1), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_NOT_PINNED, -PVCORE_EINVAL, EXT, PVCORE_MMUEXT_UNPIN_TABLE, 0, 0, NS, l1,
           l1);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_SET_LDT, 0x500008, 16, PVCORE_DOMID_SELF),
                     -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_BAD_LDT, -PVCORE_EINVAL, EXT, PVCORE_MMUEXT_SET_LDT, 0, 0, NS, NONE_MFN,
           NONE_MFN);
    assert_int_equal(ext(t, 2, PVCORE_MMUEXT_FLUSH_CACHE, 0, 0, PVCORE_DOMID_SELF), -PVCORE_EACCES);
    expect(PVCORE_REFUSAL_CACHE_FLUSH, -PVCORE_EACCES, EXT, PVCORE_MMUEXT_FLUSH_CACHE, 0, 0, NS,
           NONE_MFN, NONE_MFN);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_MARK_SUPER, 1234, 0, PVCORE_DOMID_SELF),
                     -PVCORE_EOPNOTSUPP);
    expect(PVCORE_REFUSAL_SUPERPAGE, -PVCORE_EOPNOTSUPP, EXT, PVCORE_MMUEXT_MARK_SUPER, 0, 0, NS,
           NONE_MFN, 1234);
    /* An unreadable flush bitmap. */
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_TLB_FLUSH_MULTI, 0, 0x9000000, PVCORE_DOMID_SELF),
                     -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_BAD_POINTER, -PVCORE_EINVAL, EXT, PVCORE_MMUEXT_TLB_FLUSH_MULTI, 0, 0, NS,
           NONE_MFN, NONE_MFN);
    /* Accepted and ignored is no refusal. */
    assert_int_equal(pin(t, 2, 4, alloc_frame(t, 2)), 0);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_INVLPG_LOCAL, 0x8000000000000000ull, 0,
                         PVCORE_DOMID_SELF), 0);
    assert_int_equal(seen.n, 0);
    check_invariants(t);
}

/* ---- update_va_mapping ------------------------------------------------------------------------------ */

static void test_update_va_mapping(void **state)
{
    struct pvtest *t = *state;
    struct as64 as;
    struct pvcore_vcpu *v = vcpu(t, 1, 0);

    /* NOT_MAPPED: no base pointer yet. */
    assert_int_equal(pvcore_update_va_mapping(v, 0x400000, 0, 0, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_NOT_MAPPED, -PVCORE_EINVAL, UVM, 0, 0, 0, NS, NONE_MFN, NONE_MFN);
    build_as64(t, 1, &as, 2);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_BASEPTR, as.l4, 0, PVCORE_DOMID_SELF), 0);
    /* ... an address no L2 entry maps: the walk stops at the L2's slot 4. */
    assert_int_equal(pvcore_update_va_mapping(v, 0x800000, 0, 0, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_NOT_MAPPED, -PVCORE_EINVAL, UVM, 0, 0, 2, 4, as.l2, as.l2);
    /* ... the hypervisor's addresses. */
    assert_int_equal(pvcore_update_va_mapping(v, 0xFFFF800000001000ull, 0, 0, PVCORE_DOMID_SELF),
                     -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_NOT_MAPPED, -PVCORE_EINVAL, UVM, 0, 0, 0, NS, NONE_MFN, NONE_MFN);
    /* An entry rule, at the L1's slot. */
    assert_int_equal(pvcore_update_va_mapping(v, 0x402000, pte(as.l1, PT_P | PT_RW),
                                              PVCORE_UVMF_TLB_FLUSH, PVCORE_DOMID_SELF),
                     -PVCORE_EBUSY);
    expect(PVCORE_REFUSAL_WRITABLE_PAGE_TABLE, -PVCORE_EBUSY, UVM, 0, 0, 1, 2, as.l1, as.l1);
    /* An unreadable flush bitmap, after the update. */
    assert_int_equal(pvcore_update_va_mapping(v, 0x402000, 0, PVCORE_UVMF_TLB_FLUSH | 0x7000000,
                                              PVCORE_DOMID_SELF), -PVCORE_EFAULT);
    expect(PVCORE_REFUSAL_BAD_POINTER, -PVCORE_EFAULT, UVM, 0, 0, 0, NS, NONE_MFN, NONE_MFN);
    check_invariants(t);
}

/* ---- grant mappings ------------------------------------------------------------------------------ */

/* GRANT_PTE: an L1 entry that is a grant mapping (made through grant_table_op, here as a
 * guest makes it: gntenv.h) is changed or cleared by mmu_update or update_va_mapping. */
static void test_grant_pte(void **state)
{
    struct gfix f;
    struct pvcore_gnttab_map_grant_ref op;
    pvcore_mmu_update_t u[3];
    uint32_t done = 0;
    uint64_t e, at;

    (void)state;
    gfix_init(&f);
    memset(&seen, 0, sizeof(seen));
    pvcore_trace_set_refusal_hook(f.t->m, hook, &seen);
    grant(&f, 5, PA, MAPPER, f.granted);
    memset(&op, 0, sizeof(op));
    op.host_addr = MAP_VA;
    op.flags = PVCORE_GNTMAP_host_map;
    op.ref = 5;
    op.dom = GRANTER;
    gwrite(&f.e, OPS, &op, sizeof(op));
    assert_int_equal(ghc(&f, PVCORE_GNTTABOP_map_grant_ref, OPS, 1), 0);
    gread(&f.e, OPS, &op, sizeof(op));
    assert_int_equal(op.status, PVCORE_GNTST_okay);
    assert_int_equal(seen.n, 0); /* grant_table_op is not an MMU call */
    e = frame_ptr(f.t, f.e.l1)[8];
    at = (f.e.l1 << 12) + 8u * 8u;

    /* Cleared, made read-only, given another frame, with a bit the fast path would take
     * (NX), without the mark: each refused at the L1's slot 8, naming the granted frame. */
    assert_int_equal(mmu1(f.t, MAPPER, at, 0, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_GRANT_PTE, -PVCORE_EINVAL, MMU, 0, 0, 1, 8, f.e.l1, f.granted);
    assert_int_equal(mmu1(f.t, MAPPER, at, e & ~PT_RW, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_GRANT_PTE, -PVCORE_EINVAL, MMU, 0, 0, 1, 8, f.e.l1, f.granted);
    assert_int_equal(mmu1(f.t, MAPPER, at, pte(f.e.data[0], PT_P | PT_RW | PT_US), PVCORE_DOMID_SELF),
                     -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_GRANT_PTE, -PVCORE_EINVAL, MMU, 0, 0, 1, 8, f.e.l1, f.granted);
    assert_int_equal(mmu1(f.t, MAPPER, at, e | PT_NX, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_GRANT_PTE, -PVCORE_EINVAL, MMU, 0, 0, 1, 8, f.e.l1, f.granted);
    assert_int_equal(mmu1(f.t, MAPPER, at | PVCORE_MMU_PT_UPDATE_PRESERVE_AD, e & ~PTE_GNTTAB_BIT,
                          PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_GRANT_PTE, -PVCORE_EINVAL, MMU, PVCORE_MMU_PT_UPDATE_PRESERVE_AD, 0, 1, 8, f.e.l1,
           f.granted);
    /* Third in a batch: the first two stand. */
    u[0].ptr = (f.e.l1 << 12) | (20u << 3);
    u[0].val = 0;
    u[1].ptr = (f.e.l1 << 12) | (21u << 3);
    u[1].val = 0;
    u[2].ptr = at;
    u[2].val = 0;
    assert_int_equal(pvcore_mmu_update(vcpu(f.t, MAPPER, 0), u, 3, &done, PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    assert_int_equal(done, 2);
    expect(PVCORE_REFUSAL_GRANT_PTE, -PVCORE_EINVAL, MMU, 0, 2, 1, 8, f.e.l1, f.granted);
    /* update_va_mapping, clearing or replacing it. */
    assert_int_equal(pvcore_update_va_mapping(vcpu(f.t, MAPPER, 0), MAP_VA, 0, PVCORE_UVMF_INVLPG,
                                              PVCORE_DOMID_SELF), -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_GRANT_PTE, -PVCORE_EINVAL, UVM, 0, 0, 1, 8, f.e.l1, f.granted);
    assert_int_equal(pvcore_update_va_mapping(vcpu(f.t, MAPPER, 0), MAP_VA + 0x123,
                                              pte(f.e.data[1], PT_P | PT_US), 0, PVCORE_DOMID_SELF),
                     -PVCORE_EINVAL);
    expect(PVCORE_REFUSAL_GRANT_PTE, -PVCORE_EINVAL, UVM, 0, 0, 1, 8, f.e.l1, f.granted);
    assert_int_equal(frame_ptr(f.t, f.e.l1)[8], e);
    /* The grant interface itself removes it, and reports nothing. */
    {
        struct pvcore_gnttab_unmap_grant_ref un;
        memset(&un, 0, sizeof(un));
        un.host_addr = MAP_VA;
        un.handle = op.handle;
        gwrite(&f.e, OPS, &un, sizeof(un));
        assert_int_equal(ghc(&f, PVCORE_GNTTABOP_unmap_grant_ref, OPS, 1), 0);
        gread(&f.e, OPS, &un, sizeof(un));
        assert_int_equal(un.status, PVCORE_GNTST_okay);
    }
    assert_int_equal(frame_ptr(f.t, f.e.l1)[8], 0);
    /* The slot is an ordinary one again. */
    assert_int_equal(mmu1(f.t, MAPPER, at, 0, PVCORE_DOMID_SELF), 0);
    assert_int_equal(seen.n, 0);
    check_invariants(f.t);
    gfix_free(&f);
}

/* ---- the hook's contract ---------------------------------------------------------------------------- */

static void test_hook_contract(void **state)
{
    struct pvtest *t = *state;
    uint64_t l1 = alloc_frame(t, 1);
    struct pvtest *p = pvtest_new_budget(3, 0);
    struct as64 big;

    /* The hook runs with no lock held: it may call the library (an mmu_update here). */
    seen.probe = alloc_frame(t, 1);
    assert_int_equal(unpin(t, 1, l1), -PVCORE_EINVAL);
    assert_int_equal(seen.n, 1);
    assert_ptr_equal(seen.v[0], vcpu(t, 1, 0));
    assert_int_equal(frame_ptr(t, seen.probe)[1], 0x55);
    seen.probe = 0;
    seen.n = 0;

    /* Removed: nothing is reported, and the results are the same. */
    pvcore_trace_set_refusal_hook(t->m, NULL, NULL);
    assert_int_equal(unpin(t, 1, l1), -PVCORE_EINVAL);
    assert_int_equal(seen.n, 0);

    /* Preemption is no refusal: a budget of 3 stops a pin half way, then it completes. */
    memset(&seen, 0, sizeof(seen));
    pvcore_trace_set_refusal_hook(p->m, hook, &seen);
    build_as64(p, 1, &big, 8);
    {
        int rc;
        unsigned n = 0;
        while ((rc = pin(p, 1, 4, big.l4)) == -PVCORE_ERESTART) {
            n++;
        }
        assert_int_equal(rc, 0);
        assert_true(n > 0);
    }
    assert_int_equal(seen.n, 0);
    pvtest_free(p);
}

static void test_names(void **state)
{
    uint32_t c, d;

    (void)state;
    assert_string_equal(pvcore_trace_reason_name(PVCORE_REFUSAL_TYPE_CONFLICT), "type_conflict");
    assert_string_equal(pvcore_trace_reason_name(PVCORE_REFUSAL_PAE_SLOT3), "pae_slot3");
    assert_string_equal(pvcore_trace_reason_name(PVCORE_REFUSAL_COUNT), "unknown");
    assert_string_equal(pvcore_trace_reason_name(UINT32_MAX), "unknown");
    /* Every reason has its own name. */
    for (c = 0; c < PVCORE_REFUSAL_COUNT; c++) {
        assert_string_not_equal(pvcore_trace_reason_name(c), "unknown");
        for (d = 0; d < c; d++) {
            assert_string_not_equal(pvcore_trace_reason_name(c), pvcore_trace_reason_name(d));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_call_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_rules, setup, teardown),
        cmocka_unit_test(test_no_linear_machine),
        cmocka_unit_test_setup_teardown(test_pae, setup, teardown),
        cmocka_unit_test(test_pae_below_4g),
        cmocka_unit_test_setup_teardown(test_mmuext, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_va_mapping, setup, teardown),
        cmocka_unit_test(test_grant_pte),
        cmocka_unit_test_setup_teardown(test_hook_contract, setup, teardown),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
