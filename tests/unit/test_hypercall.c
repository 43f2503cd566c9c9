/*
 * The hypercall decoder: register decoding for 64-bit and 32-bit PAE guests, request
 * arrays read from guest memory, continuations, pdone, bad guest pointers, xen_version's
 * exact answers. Batches are compared with the same requests given directly to the MMU
 * calls on an identical machine; the invariant checker runs after every step.
 */
#include "pvtest.h"

#include <pvcore/hypercall.h>

#include "guestenv.h"

#define PREEMPTED PVCORE_MMU_UPDATE_PREEMPTED

static struct pvcore_hypercall_regs regs(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                                         uint64_t a3, uint64_t a4)
{
    struct pvcore_hypercall_regs r;
    memset(&r, 0, sizeof(r));
    r.nr = nr;
    r.arg[0] = a0;
    r.arg[1] = a1;
    r.arg[2] = a2;
    r.arg[3] = a3;
    r.arg[4] = a4;
    r.ret = 0x5A5A5A5A5A5A5A5Aull;
    return r;
}

/* The guest's view of ret: sign-extended from 32 bits for a 32-bit guest. */
static int64_t ret_of(const struct env *e, const struct pvcore_hypercall_regs *r)
{
    if (e->is32) {
        assert_true(r->ret <= 0xFFFFFFFFull); /* zero-extended */
        return (int64_t)(int32_t)(uint32_t)r->ret;
    }
    return (int64_t)r->ret;
}

/* One call that must complete. */
static int64_t hc_done(const struct env *e, struct pvcore_hypercall_regs r)
{
    assert_int_equal(pvcore_hypercall(vcpu(e->t, e->d, 0), &r), PVCORE_HYPERCALL_DONE);
    check_invariants(e->t);
    return ret_of(e, &r);
}

/*
 * Calls a batch until it completes, checking every continuation: the count remaining
 * (with the PREEMPTED bit) never grows, the base advances by exactly the requests done,
 * at most max_per_call of them (0: no limit), and *pdone holds the running total.
 */
static int64_t hc_run(const struct env *e, struct pvcore_hypercall_regs r, uint32_t esize,
                      uint32_t max_per_call, unsigned *restarts)
{
    unsigned n = 0;

    for (;;) {
        struct pvcore_hypercall_regs before = r;
        uint64_t pdone = e->is32 ? before.arg[2] & 0xFFFFFFFFu : before.arg[2];
        /* Only a pdone in the data pages is checked (others are bad on purpose). */
        int check_pdone = pdone >= VA && pdone - VA <= NDATA * 4096u - 4u;
        uint32_t remaining_before = (uint32_t)before.arg[1] & ~PREEMPTED;
        uint32_t prev_total = 0, remaining, did;
        uint64_t next;
        int rc;

        if (((uint32_t)before.arg[1] & PREEMPTED) && check_pdone) {
            prev_total = gread32(e, pdone);
        }
        rc = pvcore_hypercall(vcpu(e->t, e->d, 0), &r);
        check_invariants(e->t);
        if (rc == PVCORE_HYPERCALL_DONE) {
            if (restarts != NULL) {
                *restarts = n;
            }
            return ret_of(e, &r);
        }
        assert_int_equal(rc, PVCORE_HYPERCALL_RESTART);
        n++;
        assert_true(n < 100000);
        assert_true((uint32_t)r.arg[1] & PREEMPTED);
        assert_true(r.arg[1] <= 0xFFFFFFFFull);
        remaining = (uint32_t)r.arg[1] & ~PREEMPTED;
        assert_true(remaining <= remaining_before);
        did = remaining_before - remaining;
        if (max_per_call != 0) {
            assert_true(did <= max_per_call);
        }
        next = (e->is32 ? before.arg[0] & 0xFFFFFFFFu : before.arg[0]) + (uint64_t)did * esize;
        if (e->is32) {
            next &= 0xFFFFFFFFu;
        }
        assert_int_equal(r.arg[0], next);
        assert_int_equal(r.arg[2], before.arg[2]);
        assert_int_equal(r.arg[3], before.arg[3]);
        assert_int_equal(r.ret, before.ret); /* not written on RESTART */
        if (check_pdone) {
            assert_int_equal(gread32(e, pdone), prev_total + did);
        }
    }
}

/* n requests remapping L1 slots 64.. to fresh frames (read-only and writable in turn;
 * far from the data pages, so that the page after them stays unmapped);
 * the frames come from the allocator, so two identical machines get identical requests. */
static void make_reqs(const struct env *e, pvcore_mmu_update_t *u, unsigned n)
{
    unsigned k;
    for (k = 0; k < n; k++) {
        u[k].ptr = (e->l1 << 12) | ((uint64_t)(64 + k) << 3);
        u[k].val = pte(alloc_frame(e->t, e->d), (k & 1) ? (PT_P | PT_US) : (PT_P | PT_RW | PT_US));
    }
}

static void assert_same_machine(struct pvtest *t, struct pvtest *ref, const struct env *et,
                                const struct env *er)
{
    struct pvcore_frame_info *want = snapshot(ref);
    assert_same_state(t, want);
    free(want);
    assert_memory_equal(frame_ptr(t, et->l1), frame_ptr(ref, er->l1), 4096);
    check_invariants(t);
    check_invariants(ref);
}

/* A 32-bit guest's registers are 32 bits wide: stale upper halves must not matter. */
static uint64_t junk(const struct env *e, uint64_t v)
{
    return e->is32 ? v | 0xDEAD000000000000ull : v;
}

/* ---- mmu_update ----------------------------------------------------------------------------- */

#define NREQ 40u

static void mmu_update_matches_direct(int d)
{
    struct pvtest *ref = pvtest_new(), *t = pvtest_new();
    struct env er, et;
    pvcore_mmu_update_t ur[NREQ], ut[NREQ];
    uint64_t ua = VA + 4096 - 5 * 16; /* crosses into the second page */
    uint64_t pd = VA + 0x3000;
    uint32_t done = 0;
    int rc;

    env_init(&er, ref, d);
    env_init(&et, t, d);
    make_reqs(&er, ur, NREQ);
    make_reqs(&et, ut, NREQ);
    assert_memory_equal(ur, ut, sizeof(ur));
    gwrite(&et, ua, ut, sizeof(ut));
    gwrite32(&et, pd, 0xDEADBEEF);

    rc = pvcore_mmu_update(vcpu(ref, d, 0), ur, NREQ, &done, PVCORE_DOMID_SELF);
    assert_int_equal(rc, 0);
    assert_int_equal(done, NREQ);
    assert_int_equal(hc_done(&et, regs(junk(&et, PVCORE_HYPERVISOR_mmu_update), junk(&et, ua),
                                       junk(&et, NREQ), junk(&et, pd), junk(&et, PVCORE_DOMID_SELF), 0)),
                     0);
    assert_int_equal(gread32(&et, pd), NREQ);
    assert_same_machine(t, ref, &et, &er);

    /* A batch failing at request 37 (another domain's frame): 37 done in both. */
    make_reqs(&er, ur, NREQ);
    make_reqs(&et, ut, NREQ);
    ur[37].val = ut[37].val = pte(alloc_frame(ref, d == 1 ? 2 : 1), PT_P);
    (void)alloc_frame(t, d == 1 ? 2 : 1);
    gwrite(&et, ua, ut, sizeof(ut));
    done = 0;
    rc = pvcore_mmu_update(vcpu(ref, d, 0), ur, NREQ, &done, PVCORE_DOMID_SELF);
    assert_int_equal(rc, -PVCORE_EBUSY);
    assert_int_equal(done, 37);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, ua, NREQ, pd, PVCORE_DOMID_SELF, 0)),
                     -PVCORE_EBUSY);
    assert_int_equal(gread32(&et, pd), 37);
    assert_same_machine(t, ref, &et, &er);

    /* Errors of the call itself come through unchanged, with count 0 too. */
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, ua, 0, pd, 0x7777, 0)),
                     -PVCORE_ESRCH);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, ua, 0, pd, PVCORE_DOMID_SELF, 0)), 0);
    assert_int_equal(gread32(&et, pd), 0);
    /* No pdone: nothing is stored anywhere. */
    gwrite32(&et, pd, 99);
    make_reqs(&er, ur, 2);
    make_reqs(&et, ut, 2);
    gwrite(&et, ua, ut, 2 * sizeof(ut[0]));
    assert_int_equal(pvcore_mmu_update(vcpu(ref, d, 0), ur, 2, NULL, PVCORE_DOMID_SELF), 0);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, ua, 2, 0, PVCORE_DOMID_SELF, 0)), 0);
    assert_int_equal(gread32(&et, pd), 99);
    assert_same_machine(t, ref, &et, &er);
    pvtest_free(ref);
    pvtest_free(t);
}

/* Preempted (by the host, or by a small budget) vs uninterrupted: same end state. */
static void preempted_matches_uninterrupted(int d, uint32_t budget, uint32_t preempt_every)
{
    struct pvtest *ref = pvtest_new(), *t = pvtest_new_budget(budget, 0);
    struct env er, et;
    pvcore_mmu_update_t ur[NREQ], ut[NREQ];
    uint64_t ua = VA + 4096 - 7 * 16, pd = VA + 0x5000;
    unsigned restarts = 0;
    uint32_t done = 0;

    env_init(&er, ref, d);
    env_init(&et, t, d);
    pvcore_host_backend_set_preempt(t->hb, preempt_every);

    make_reqs(&er, ur, NREQ);
    make_reqs(&et, ut, NREQ);
    gwrite(&et, ua, ut, sizeof(ut));
    assert_int_equal(pvcore_mmu_update(vcpu(ref, d, 0), ur, NREQ, &done, PVCORE_DOMID_SELF), 0);
    assert_int_equal(hc_run(&et, regs(PVCORE_HYPERVISOR_mmu_update, junk(&et, ua), NREQ, pd,
                                      PVCORE_DOMID_SELF, 0),
                            16, budget, &restarts),
                     0);
    /* The hook is asked every 16 requests of a batch; the budget runs out every 5 units. */
    assert_true(restarts >= (budget != 0 ? NREQ / budget - 1 : NREQ / 16 - 1));
    assert_int_equal(gread32(&et, pd), NREQ);
    assert_same_machine(t, ref, &et, &er);

    /* The same with a failure at request 37: result and count as uninterrupted. */
    make_reqs(&er, ur, NREQ);
    make_reqs(&et, ut, NREQ);
    ur[37].val = ut[37].val = pte(alloc_frame(ref, d == 1 ? 2 : 1), PT_P);
    (void)alloc_frame(t, d == 1 ? 2 : 1);
    gwrite(&et, ua, ut, sizeof(ut));
    done = 0;
    assert_int_equal(pvcore_mmu_update(vcpu(ref, d, 0), ur, NREQ, &done, PVCORE_DOMID_SELF),
                     -PVCORE_EBUSY);
    assert_int_equal(hc_run(&et, regs(PVCORE_HYPERVISOR_mmu_update, ua, NREQ, pd, PVCORE_DOMID_SELF, 0),
                            16, budget, &restarts),
                     -PVCORE_EBUSY);
    assert_true(restarts > 1);
    assert_int_equal(gread32(&et, pd), 37);
    assert_int_equal(done, 37);
    assert_same_machine(t, ref, &et, &er);
    pvtest_free(ref);
    pvtest_free(t);
}

/* Preempted by the host's hook whenever it is asked, or by a budget of 5 units. */
struct preempt_case {
    int d;
    uint32_t budget, preempt_every;
};
static const struct preempt_case by_host_64 = { 1, 0, 1 }, by_host_pae = { 2, 0, 1 },
                                 by_budget_64 = { 1, 5, 0 }, by_budget_pae = { 2, 5, 0 };

static void test_preempted(void **state)
{
    const struct preempt_case *pc = *state;

    preempted_matches_uninterrupted(pc->d, pc->budget, pc->preempt_every);
}

/* A continued call takes the earlier total from *pdone, whatever is there by then. */
static void test_pdone_reread(void **state)
{
    struct pvtest *t = pvtest_new();
    struct env e;
    pvcore_mmu_update_t u[NREQ];
    struct pvcore_hypercall_regs r;
    uint64_t ua = VA + 0x1000, pd = VA + 0x10;
    uint32_t first;
    (void)state;

    env_init(&e, t, 1);
    make_reqs(&e, u, NREQ);
    gwrite(&e, ua, u, sizeof(u));
    pvcore_host_backend_set_preempt(t->hb, 1);
    r = regs(PVCORE_HYPERVISOR_mmu_update, ua, NREQ, pd, PVCORE_DOMID_SELF, 0);
    assert_int_equal(pvcore_hypercall(vcpu(t, 1, 0), &r), PVCORE_HYPERCALL_RESTART);
    check_invariants(t);
    first = NREQ - ((uint32_t)r.arg[1] & ~PREEMPTED);
    assert_true(first >= 1 && first < NREQ);
    assert_int_equal(gread32(&e, pd), first);
    assert_int_equal(r.arg[0], ua + first * 16u);
    gwrite32(&e, pd, 1000);
    assert_int_equal(hc_run(&e, r, 16, 0, NULL), 0);
    assert_int_equal(gread32(&e, pd), 1000 + NREQ - first);
    pvtest_free(t);
}

/* A guest that sets the PREEMPTED bit itself only changes the total it is told. */
static void test_forged_preempted_bit(void **state)
{
    struct pvtest *ref = pvtest_new(), *t = pvtest_new();
    struct env er, et;
    pvcore_mmu_update_t ur[3], ut[3];
    uint64_t ua = VA + 0x1000, pd = VA + 0x10;
    (void)state;

    env_init(&er, ref, 1);
    env_init(&et, t, 1);
    make_reqs(&er, ur, 3);
    make_reqs(&et, ut, 3);
    gwrite(&et, ua, ut, sizeof(ut));
    assert_int_equal(pvcore_mmu_update(vcpu(ref, 1, 0), ur, 3, NULL, PVCORE_DOMID_SELF), 0);
    gwrite32(&et, pd, 7);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, ua, 3 | PREEMPTED, pd,
                                       PVCORE_DOMID_SELF, 0)),
                     0);
    assert_int_equal(gread32(&et, pd), 10);
    assert_same_machine(t, ref, &et, &er);

    /* Applying them again changes nothing; a forged total near 2^32 wraps, harmlessly. */
    gwrite32(&et, pd, 0xFFFFFFFEu);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, ua, 3 | PREEMPTED, pd,
                                       PVCORE_DOMID_SELF, 0)),
                     0);
    assert_int_equal(gread32(&et, pd), 1);
    assert_same_machine(t, ref, &et, &er);

    /* Zero remaining: nothing done, the total written back as it was. */
    gwrite32(&et, pd, 5);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, ua, PREEMPTED, pd,
                                       PVCORE_DOMID_SELF, 0)),
                     0);
    assert_int_equal(gread32(&et, pd), 5);

    /* An unreadable (so unwritable) pdone on a continued call: the requests run, the
     * total cannot be stored: -EFAULT. */
    make_reqs(&er, ur, 3);
    make_reqs(&et, ut, 3);
    gwrite(&et, ua, ut, sizeof(ut));
    assert_int_equal(pvcore_mmu_update(vcpu(ref, 1, 0), ur, 3, NULL, PVCORE_DOMID_SELF), 0);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, ua, 3 | PREEMPTED, UNMAPPED,
                                       PVCORE_DOMID_SELF, 0)),
                     -PVCORE_EFAULT);
    assert_same_machine(t, ref, &et, &er);
    /* A null pdone with the bit: the requests run, nothing is stored. */
    make_reqs(&er, ur, 3);
    make_reqs(&et, ut, 3);
    gwrite(&et, ua, ut, sizeof(ut));
    assert_int_equal(pvcore_mmu_update(vcpu(ref, 1, 0), ur, 3, NULL, PVCORE_DOMID_SELF), 0);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, ua, 3 | PREEMPTED, 0,
                                       PVCORE_DOMID_SELF, 0)),
                     0);
    assert_same_machine(t, ref, &et, &er);
    pvtest_free(ref);
    pvtest_free(t);
}

/* Unreadable requests and unwritable pdone: -EFAULT, the requests before stay applied. */
static void bad_pointers(int d)
{
    struct pvtest *ref = pvtest_new(), *t = pvtest_new();
    struct env er, et;
    pvcore_mmu_update_t ur[5], ut[5];
    struct pvcore_frame_info *before;
    uint64_t end = VA + NDATA * 4096u, pd = VA + 0x10;
    uint8_t sentinel[4];

    env_init(&er, ref, d);
    env_init(&et, t, d);

    /* The array runs off the last mapped page after two requests. */
    make_reqs(&er, ur, 5);
    make_reqs(&et, ut, 5);
    gwrite(&et, end - 32, ut, 32);
    assert_int_equal(pvcore_mmu_update(vcpu(ref, d, 0), ur, 2, NULL, PVCORE_DOMID_SELF), 0);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, end - 32, 5, pd, PVCORE_DOMID_SELF, 0)),
                     -PVCORE_EFAULT);
    assert_int_equal(gread32(&et, pd), 2);
    assert_same_machine(t, ref, &et, &er);
    /* ... and with a request straddling the boundary: it is unreadable as a whole. */
    gwrite(&et, end - 40, ut + 2, 40);
    assert_int_equal(pvcore_mmu_update(vcpu(ref, d, 0), ur + 2, 2, NULL, PVCORE_DOMID_SELF), 0);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, end - 40, 3, pd, PVCORE_DOMID_SELF, 0)),
                     -PVCORE_EFAULT);
    assert_int_equal(gread32(&et, pd), 2);
    assert_same_machine(t, ref, &et, &er);

    /* Nothing readable at all; hypervisor addresses; the top of a 32-bit space. */
    before = snapshot(t);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, UNMAPPED, 5, pd, PVCORE_DOMID_SELF, 0)),
                     -PVCORE_EFAULT);
    assert_int_equal(gread32(&et, pd), 0);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update,
                                       d == 2 ? 0xF5800000ull : 0xFFFF800000000000ull, 5, pd,
                                       PVCORE_DOMID_SELF, 0)),
                     -PVCORE_EFAULT);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, 0xFFFFFFF0ull, 2, pd,
                                       PVCORE_DOMID_SELF, 0)),
                     -PVCORE_EFAULT);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmuext_op, UNMAPPED, 5, pd, PVCORE_DOMID_SELF, 0)),
                     -PVCORE_EFAULT);
    assert_int_equal(gread32(&et, pd), 0);
    assert_same_state(t, before);
    free(before);

    /* pdone unwritable: unmapped, read-only, or straddling into an unmapped page. Every
     * request is applied; the bytes of pdone that were mapped are not written. */
    make_reqs(&er, ur, 3);
    make_reqs(&et, ut, 3);
    assert_int_equal(set_entry(ref, d, er.l1, 6, pte(er.data[6], PT_P | PT_US)), 0);
    assert_int_equal(set_entry(t, d, et.l1, 6, pte(et.data[6], PT_P | PT_US)), 0);
    gwrite(&et, VA + 0x1000, ut, sizeof(ut));
    assert_int_equal(pvcore_mmu_update(vcpu(ref, d, 0), ur, 3, NULL, PVCORE_DOMID_SELF), 0);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, VA + 0x1000, 3, UNMAPPED,
                                       PVCORE_DOMID_SELF, 0)),
                     -PVCORE_EFAULT);
    assert_same_machine(t, ref, &et, &er);
    /* ... the same when preempted at every check: the total is lost, nothing else. */
    make_reqs(&er, ur, 3);
    make_reqs(&et, ut, 3);
    gwrite(&et, VA + 0x1000, ut, sizeof(ut));
    assert_int_equal(pvcore_mmu_update(vcpu(ref, d, 0), ur, 3, NULL, PVCORE_DOMID_SELF), 0);
    pvcore_host_backend_set_preempt(t->hb, 1);
    assert_int_equal(hc_run(&et, regs(PVCORE_HYPERVISOR_mmu_update, VA + 0x1000, 3, UNMAPPED,
                                      PVCORE_DOMID_SELF, 0),
                            16, 0, NULL),
                     -PVCORE_EFAULT);
    pvcore_host_backend_set_preempt(t->hb, 0);
    assert_same_machine(t, ref, &et, &er);
    gwrite32(&et, VA + 0x6000, 0x11111111);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, VA + 0x1000, 3, VA + 0x6000,
                                       PVCORE_DOMID_SELF, 0)),
                     -PVCORE_EFAULT);
    assert_int_equal(gread32(&et, VA + 0x6000), 0x11111111);
    gfill(&et, end - 2, 0xAB, 2);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, VA + 0x1000, 3, end - 2,
                                       PVCORE_DOMID_SELF, 0)),
                     -PVCORE_EFAULT);
    gread(&et, end - 2, sentinel, 2);
    assert_int_equal(sentinel[0], 0xAB);
    assert_int_equal(sentinel[1], 0xAB);
    assert_same_machine(t, ref, &et, &er);
    /* The batch's own error wins over an unwritable pdone. */
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, VA + 0x1000, 3, UNMAPPED, 0x7777, 0)),
                     -PVCORE_ESRCH);
    pvtest_free(ref);
    pvtest_free(t);
}

/* A 64-bit array that reaches the top of the address space: the request that would wrap
 * to address 0 faults, preempted or not, and a continuation never restarts at 0. */
static void test_wrap_at_top(void **state)
{
    unsigned pass;
    (void)state;

    for (pass = 0; pass < 2; pass++) {
        struct pvtest *ref = pvtest_new(), *t = pvtest_new();
        struct env er, et;
        pvcore_mmu_update_t ur[3], ut[3];
        uint64_t ua = 0xFFFFFFFFFFFFFFE0ull, pd = VA + 0x10;

        env_init_opt(&er, ref, 1, 1);
        env_init_opt(&et, t, 1, 1);
        make_reqs(&er, ur, 3);
        make_reqs(&et, ut, 3);
        /* Address 0 is mapped too (data[0]), holding a valid third request that a
         * continuation wrapping to 0 would run. */
        gwrite(&et, ua, ut, 32);
        gwrite(&et, VA, ut + 2, 16);
        pvcore_host_backend_set_preempt(t->hb, pass); /* pass 1: preempt at every check */
        assert_int_equal(pvcore_mmu_update(vcpu(ref, 1, 0), ur, 2, NULL, PVCORE_DOMID_SELF), 0);
        assert_int_equal(hc_run(&et, regs(PVCORE_HYPERVISOR_mmu_update, ua, 3, pd, PVCORE_DOMID_SELF, 0),
                                16, 0, NULL),
                         -PVCORE_EFAULT);
        assert_int_equal(gread32(&et, pd), 2);
        assert_same_machine(t, ref, &et, &er);
        /* A range that wraps from the start is refused without reading anything. */
        assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmu_update, 0xFFFFFFFFFFFFFFF8ull, 1, pd,
                                           PVCORE_DOMID_SELF, 0)),
                         -PVCORE_EFAULT);
        assert_int_equal(gread32(&et, pd), 0);
        pvtest_free(ref);
        pvtest_free(t);
    }
}

/* count near 2^31: bounded work per call, then -EFAULT where the array's mapping ends. */
static void test_huge_count_bounded(void **state)
{
    struct pvtest *t = pvtest_new_budget(64, 0);
    struct env e;
    uint64_t ua = VA + 0x1000, pd = VA + 0x10;
    unsigned k, restarts = 0;
    uint32_t n = (NDATA - 1) * 4096u / 16u;
    (void)state;

    env_init(&e, t, 1);
    for (k = 0; k < n; k++) {
        pvcore_mmu_update_t u;
        u.ptr = (e.data[0] << 12) | PVCORE_MMU_MACHPHYS_UPDATE;
        u.val = k;
        gwrite(&e, ua + k * 16u, &u, sizeof(u));
    }
    assert_int_equal(hc_run(&e, regs(PVCORE_HYPERVISOR_mmu_update, ua, 0x7FFFFFFF, pd, PVCORE_DOMID_SELF, 0),
                            16, 64, &restarts),
                     -PVCORE_EFAULT);
    assert_int_equal(gread32(&e, pd), n);
    assert_true(restarts >= n / 64 - 1);
    pvtest_free(t);
}

/* ---- update_va_mapping ---------------------------------------------------------------------- */

static void test_uvm_pae_high_half(void **state)
{
    struct pvtest *ref = pvtest_new(), *t = pvtest_new();
    struct env er, et;
    uint64_t fr, ft, val;
    struct pvcore_host_stats st;
    (void)state;

    env_init(&er, ref, 2);
    env_init(&et, t, 2);
    fr = alloc_frame(ref, 2);
    ft = alloc_frame(t, 2);
    assert_int_equal(fr, ft);
    val = pte(ft, PT_P | PT_RW | PT_US) | PT_NX;
    /* va, val low, val high, flags; the upper register halves are stale junk. */
    assert_int_equal(pvcore_update_va_mapping(vcpu(ref, 2, 0), VA + 0x3000, val, PVCORE_UVMF_INVLPG,
                                              PVCORE_DOMID_SELF),
                     0);
    assert_int_equal(hc_done(&et, regs(junk(&et, PVCORE_HYPERVISOR_update_va_mapping),
                                       junk(&et, VA + 0x3000), junk(&et, val & 0xFFFFFFFFu),
                                       junk(&et, val >> 32), junk(&et, PVCORE_UVMF_INVLPG), 0)),
                     0);
    assert_true(frame_ptr(t, et.l1)[3] & PT_NX);
    assert_int_equal(pte_mfn_test(frame_ptr(t, et.l1)[3]), ft);
    assert_same_machine(t, ref, &et, &er);
    /* Without the high half the entry differs: NX really came from arg 2. */
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_update_va_mapping, VA + 0x3000,
                                       val & 0xFFFFFFFFu, 0, 0, 0)),
                     0);
    assert_false(frame_ptr(t, et.l1)[3] & PT_NX);

    /* UVMF_MULTI: a 32-bit vCPU bitmap (4-byte words) read through the copy hook. */
    gwrite32(&et, VA + 0x2000, 0x2);
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_update_va_mapping, VA + 0x3000, 0, 0,
                                       PVCORE_UVMF_TLB_FLUSH | (VA + 0x2000), 0)),
                     0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_mask, 1);
    assert_int_equal(st.last_flush_vcpu_mask, 0x2);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_update_va_mapping, VA + 0x3000, 0, 0,
                                       PVCORE_UVMF_TLB_FLUSH | UNMAPPED, 0)),
                     -PVCORE_EFAULT);
    /* otherdomain: arg 4 is the domain; an unprivileged caller may not name another. */
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_update_va_mapping_otherdomain, VA + 0x3000,
                                       0, 0, 0, junk(&et, 1))),
                     -PVCORE_EPERM);
    pvtest_free(ref);
    pvtest_free(t);
}

static void test_uvm_64(void **state)
{
    struct pvtest *t = pvtest_new();
    struct env e, e0;
    struct pvcore_host_stats st;
    struct pvcore_hypercall_regs r;
    uint64_t theirs;
    (void)state;

    env_init(&e, t, 1);
    env_init(&e0, t, 0);
    theirs = alloc_frame(t, 1);
    /* va, val, flags. */
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_update_va_mapping, VA + 0x3000,
                                      pte(theirs, PT_P | PT_RW | PT_US) | PT_NX, PVCORE_UVMF_NONE, 0, 0)),
                     0);
    assert_int_equal(pte_mfn_test(frame_ptr(t, e.l1)[3]), theirs);
    assert_true(frame_ptr(t, e.l1)[3] & PT_NX);
    assert_int_equal(finfo(t, theirs).type, PVCORE_PGT_WRITABLE);
    assert_int_equal(finfo(t, e.data[3]).count, 1);
    /* UVMF_MULTI with 8-byte words: dom 1 has 4 vCPUs. */
    frame_ptr(t, e.data[2])[0] = 0xFFFFFFFFFFFFFFFAull;
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_update_va_mapping, VA + 0x3000, 0,
                                      PVCORE_UVMF_INVLPG | (VA + 0x2000), 0, 0)),
                     0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_mask, 1);
    assert_int_equal(st.flush_va, 1);
    assert_int_equal(st.last_flush_vcpu_mask, 0xA);
    assert_int_equal(finfo(t, theirs).count, 1);

    /* otherdomain from the privileged domain: arg 3, a 16-bit domid. */
    assert_int_equal(hc_done(&e0, regs(PVCORE_HYPERVISOR_update_va_mapping_otherdomain, VA + 0x5000,
                                       pte(theirs, PT_P | PT_US), 0, 0x10001, 0)),
                     0);
    assert_int_equal(pte_mfn_test(frame_ptr(t, e0.l1)[5]), theirs);
    assert_int_equal(finfo(t, theirs).count, 2);
    /* Without otherdomain the frame is someone else's. */
    assert_int_equal(hc_done(&e0, regs(PVCORE_HYPERVISOR_update_va_mapping, VA + 0x6000,
                                       pte(theirs, PT_P | PT_US), 0, 1, 0)),
                     -PVCORE_EBUSY);
    /* 64-bit results are 64-bit two's complement. */
    r = regs(PVCORE_HYPERVISOR_update_va_mapping, UNMAPPED, 0, 0, 0, 0);
    assert_int_equal(pvcore_hypercall(vcpu(t, 1, 0), &r), PVCORE_HYPERCALL_DONE);
    assert_int_equal(r.ret, (uint64_t)-(int64_t)PVCORE_EINVAL);
    check_invariants(t);
    pvtest_free(t);
}

/* ---- mmuext_op ------------------------------------------------------------------------------ */

static void mmuext_layouts(int d)
{
    struct pvtest *ref = pvtest_new(), *t = pvtest_new();
    struct env er, et;
    struct pvcore_mmuext_req want[5];
    struct pvcore_host_stats st;
    uint64_t l1r, l1t, oa, pd = VA + 0x10;
    uint64_t base;
    uint32_t ents = 0, done = 0;
    unsigned k;

    env_init(&er, ref, d);
    env_init(&et, t, d);
    l1r = alloc_frame(ref, d);
    l1t = alloc_frame(t, d);
    frame_ptr(ref, l1r)[0] = pte(er.data[7], PT_P | PT_RW);
    frame_ptr(t, l1t)[0] = pte(et.data[7], PT_P | PT_RW);
    gwrite32(&et, VA + 0x2000, 0x3);
    memset(want, 0, sizeof(want));
    want[0].cmd = PVCORE_MMUEXT_PIN_L1_TABLE;
    want[0].arg1 = l1t;
    want[1].cmd = PVCORE_MMUEXT_SET_LDT;
    want[1].arg1 = 0x800000;
    want[1].arg2 = 16;
    want[2].cmd = PVCORE_MMUEXT_TLB_FLUSH_MULTI;
    want[2].arg2 = VA + 0x2000;
    want[3].cmd = PVCORE_MMUEXT_INVLPG_LOCAL;
    want[3].arg1 = VA + 0x1000;
    want[4].cmd = PVCORE_MMUEXT_UNPIN_TABLE; /* not pinned: fails */
    want[4].arg1 = er.data[5];

    /* The array straddles a page boundary at its second element. */
    if (d == 2) {
        struct pvcore_mmuext_op_x86_32 w[5];
        memset(w, 0, sizeof(w));
        for (k = 0; k < 5; k++) {
            w[k].cmd = want[k].cmd;
            w[k].arg1.mfn = (uint32_t)want[k].arg1;
            w[k].arg2.vcpumask = (uint32_t)want[k].arg2;
        }
        oa = VA + 0x1000 - 18;
        gwrite(&et, oa, w, sizeof(w));
    } else {
        struct pvcore_mmuext_op_x86_64 w[5];
        memset(w, 0, sizeof(w));
        for (k = 0; k < 5; k++) {
            w[k].cmd = want[k].cmd;
            w[k].arg1.mfn = want[k].arg1;
            w[k].arg2.vcpumask = want[k].arg2;
        }
        oa = VA + 0x1000 - 36;
        gwrite(&et, oa, w, sizeof(w));
    }
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(pvcore_mmuext_op(vcpu(ref, d, 0), want, 4, &done, PVCORE_DOMID_SELF), 0);
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmuext_op, junk(&et, oa), 4, pd,
                                       PVCORE_DOMID_SELF, 0)),
                     0);
    assert_int_equal(gread32(&et, pd), 4);
    assert_true(finfo(t, l1t).flags & PVCORE_FRAME_PINNED);
    assert_int_equal(finfo(t, l1t).type, PVCORE_PGT_L1);
    pvcore_vcpu_ldt(vcpu(t, d, 0), &base, &ents);
    assert_int_equal(base, 0x800000);
    assert_int_equal(ents, 16);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_mask, 1);
    assert_int_equal(st.last_flush_vcpu_mask, 0x3);
    assert_int_equal(st.flush_va, 1);
    assert_int_equal(st.last_flush_va, VA + 0x1000);
    assert_same_machine(t, ref, &et, &er);

    /* All five: pinning again fails first, after none. */
    assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmuext_op, oa, 5, pd, PVCORE_DOMID_SELF, 0)),
                     -PVCORE_EINVAL);
    assert_int_equal(gread32(&et, pd), 0);
    {
        /* Skip the first: SET_LDT, flushes, then the failing unpin at index 3. */
        uint64_t second = oa + (d == 2 ? 12u : 24u);
        assert_int_equal(hc_done(&et, regs(PVCORE_HYPERVISOR_mmuext_op, second, 4, pd,
                                           PVCORE_DOMID_SELF, 0)),
                         -PVCORE_EINVAL);
        assert_int_equal(gread32(&et, pd), 3);
    }
    assert_same_machine(t, ref, &et, &er); /* flushes only: no frame changed */
    pvtest_free(ref);
    pvtest_free(t);
}

/* A preempted validation inside a batch continues where it stopped. */
static void mmuext_preempted(int d)
{
    struct pvtest *ref = pvtest_new(), *t = pvtest_new_budget(3, 0);
    struct pvtest *m[2] = { ref, t };
    struct env e[2];
    uint64_t l2[2][3];
    struct pvcore_mmuext_req want[3];
    unsigned i, j, k, x, restarts = 0;
    uint64_t oa = VA + 0x1000, pd = VA + 0x10;

    for (x = 0; x < 2; x++) {
        env_init(&e[x], m[x], d);
        for (i = 0; i < 3; i++) {
            l2[x][i] = alloc_frame(m[x], d);
            for (j = 0; j < 4; j++) {
                uint64_t l1 = alloc_frame(m[x], d);
                frame_ptr(m[x], l2[x][i])[j] = pte(l1, PT_P | PT_RW);
                for (k = 0; k < 8; k++) {
                    frame_ptr(m[x], l1)[k * 5] = pte(alloc_frame(m[x], d), PT_P | PT_RW);
                }
            }
        }
    }
    memset(want, 0, sizeof(want));
    for (i = 0; i < 3; i++) {
        want[i].cmd = PVCORE_MMUEXT_PIN_L2_TABLE;
        want[i].arg1 = l2[1][i];
    }
    assert_int_equal(pvcore_mmuext_op(vcpu(ref, d, 0), want, 3, NULL, PVCORE_DOMID_SELF), 0);
    if (d == 2) {
        struct pvcore_mmuext_op_x86_32 w[3];
        memset(w, 0, sizeof(w));
        for (i = 0; i < 3; i++) {
            w[i].cmd = want[i].cmd;
            w[i].arg1.mfn = (uint32_t)want[i].arg1;
        }
        gwrite(&e[1], oa, w, sizeof(w));
    } else {
        struct pvcore_mmuext_op_x86_64 w[3];
        memset(w, 0, sizeof(w));
        for (i = 0; i < 3; i++) {
            w[i].cmd = want[i].cmd;
            w[i].arg1.mfn = want[i].arg1;
        }
        gwrite(&e[1], oa, w, sizeof(w));
    }
    assert_int_equal(hc_run(&e[1], regs(PVCORE_HYPERVISOR_mmuext_op, oa, 3, pd, PVCORE_DOMID_SELF, 0),
                            d == 2 ? 12 : 24, 0, &restarts),
                     0);
    assert_true(restarts > 3);
    assert_int_equal(gread32(&e[1], pd), 3);
    assert_same_machine(t, ref, &e[1], &e[0]);
    pvtest_free(ref);
    pvtest_free(t);
}

/* ---- xen_version ---------------------------------------------------------------------------- */

/* Calls xen_version(cmd, arg) with the page around arg filled with 0xAA; checks that
 * exactly `len` bytes at arg became `want` and nothing else changed. */
static void xv_expect(const struct env *e, uint32_t cmd, const void *want, size_t len)
{
    uint64_t a = VA + 0x1000 + 8;
    uint8_t got[1100];
    size_t i;

    assert_true(len + 16 <= sizeof(got));
    gfill(e, VA + 0x1000, 0xAA, 4096);
    assert_int_equal(hc_done(e, regs(PVCORE_HYPERVISOR_xen_version, cmd, junk(e, a), 0, 0, 0)), 0);
    gread(e, a - 8, got, len + 16);
    for (i = 0; i < 8; i++) {
        assert_int_equal(got[i], 0xAA);
        assert_int_equal(got[8 + len + i], 0xAA);
    }
    assert_memory_equal(got + 8, want, len);
}

static void xen_version_all(int d)
{
    struct pvtest *t = pvtest_new();
    struct env e, e0;
    char s[1024];
    struct pvcore_xen_compile_info ci;
    uint8_t b[16];
    uint32_t fi[2];

    env_init(&e, t, d);
    env_init(&e0, t, 0);

    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_version, 0, 0, 0, 0)),
                     0x00040011);
    assert_int_equal(PVCORE_XEN_VERSION_MAJOR << 16 | PVCORE_XEN_VERSION_MINOR, 0x00040011);
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_pagesize, 0, 0, 0, 0)),
                     4096);

    memset(s, 0, sizeof(s));
    strcpy(s, "-pvcore");
    xv_expect(&e, PVCORE_XENVER_extraversion, s, 16);
    memset(s, 0, sizeof(s));
    strcpy(s, "xen-3.0-x86_64 xen-3.0-x86_32p");
    xv_expect(&e, PVCORE_XENVER_capabilities, s, 1024);
    memset(s, 0, sizeof(s));
    strcpy(s, "libpvcore " PVCORE_VERSION_STRING);
    xv_expect(&e, PVCORE_XENVER_changeset, s, 64);
    memset(&ci, 0, sizeof(ci));
    strcpy(ci.compiler, "libpvcore " PVCORE_VERSION_STRING);
    assert_int_equal(sizeof(ci), 144);
    xv_expect(&e, PVCORE_XENVER_compile_info, &ci, sizeof(ci));
    memset(b, 0, sizeof(b));
    xv_expect(&e, PVCORE_XENVER_guest_handle, b, 16);
    if (d == 2) {
        uint32_t vs = 0xF5800000u;
        xv_expect(&e, PVCORE_XENVER_platform_parameters, &vs, 4);
    } else {
        uint64_t vs = 0xFFFF800000000000ull;
        xv_expect(&e, PVCORE_XENVER_platform_parameters, &vs, 8);
    }

    /* get_features: in {idx, submap}, out both; only word 0 exists, and it holds exactly
     * what is implemented: preserve-A/D updates, clear/copy page, and (once the guest
     * enables pae_extended_cr3) PAE directories above 4 GiB. */
    fi[0] = 0;
    fi[1] = 0xFFFFFFFFu;
    gwrite(&e, VA + 0x2000, fi, 8);
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_get_features,
                                      VA + 0x2000, 0, 0, 0)),
                     0);
    gread(&e, VA + 0x2000, fi, 8);
    assert_int_equal(fi[0], 0);
    assert_int_equal(fi[1], (1u << PVCORE_XENFEAT_mmu_pt_update_preserve_ad) |
                                (1u << PVCORE_XENFEAT_highmem_assist) |
                                (1u << PVCORE_XENFEAT_gnttab_map_avail_bits));
    assert_int_equal(pvcore_domain_vm_assist(t->dom[e.d], PVCORE_VMASST_CMD_enable,
                                             PVCORE_VMASST_TYPE_pae_extended_cr3), 0);
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_get_features,
                                      VA + 0x2000, 0, 0, 0)),
                     0);
    gread(&e, VA + 0x2000, fi, 8);
    assert_int_equal(fi[1], (1u << PVCORE_XENFEAT_mmu_pt_update_preserve_ad) |
                                (1u << PVCORE_XENFEAT_highmem_assist) |
                                (1u << PVCORE_XENFEAT_gnttab_map_avail_bits) |
                                (1u << PVCORE_XENFEAT_pae_pgdir_above_4gb));
    assert_int_equal(pvcore_domain_vm_assist(t->dom[e.d], PVCORE_VMASST_CMD_disable,
                                             PVCORE_VMASST_TYPE_pae_extended_cr3), 0);
    fi[0] = 1;
    fi[1] = 0x12345678u;
    gwrite(&e, VA + 0x2000, fi, 8);
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_get_features,
                                      VA + 0x2000, 0, 0, 0)),
                     -PVCORE_EINVAL);
    gread(&e, VA + 0x2000, fi, 8);
    assert_int_equal(fi[1], 0x12345678u);
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_get_features,
                                      UNMAPPED, 0, 0, 0)),
                     -PVCORE_EFAULT);

    /* Privileged only: command line and build id. */
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_commandline,
                                      VA + 0x1000, 0, 0, 0)),
                     -PVCORE_EPERM);
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_build_id,
                                      VA + 0x1000, 0, 0, 0)),
                     -PVCORE_EPERM);
    memset(s, 0, sizeof(s));
    xv_expect(&e0, PVCORE_XENVER_commandline, s, 1024);
    gwrite32(&e0, VA + 0x2000, 0);
    assert_int_equal(hc_done(&e0, regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_build_id,
                                       VA + 0x2000, 0, 0, 0)),
                     -PVCORE_EINVAL);
    gwrite32(&e0, VA + 0x2000, 64);
    assert_int_equal(hc_done(&e0, regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_build_id,
                                       VA + 0x2000, 0, 0, 0)),
                     -PVCORE_ENODATA);
    assert_int_equal(hc_done(&e0, regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_build_id, 0, 0, 0, 0)),
                     -PVCORE_ENODATA);
    assert_int_equal(hc_done(&e0, regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_build_id,
                                       UNMAPPED, 0, 0, 0)),
                     -PVCORE_EFAULT);

    /* Unwritable destinations: unmapped, read-only, straddling; nothing is written. */
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_extraversion,
                                      UNMAPPED, 0, 0, 0)),
                     -PVCORE_EFAULT);
    assert_int_equal(set_entry(t, d, e.l1, 6, pte(e.data[6], PT_P | PT_US)), 0);
    gfill(&e, VA + 0x6000, 0xAA, 4096);
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_capabilities,
                                      VA + 0x6000, 0, 0, 0)),
                     -PVCORE_EFAULT);
    assert_int_equal(*gptr(&e, VA + 0x6000), 0xAA);
    gfill(&e, VA + 0x6000 - 4, 0xAA, 4);
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_extraversion,
                                      VA + 0x6000 - 4, 0, 0, 0)),
                     -PVCORE_EFAULT);
    assert_int_equal(*gptr(&e, VA + 0x6000 - 4), 0xAA);

    /* Unknown sub-commands. */
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_xen_version, 11, VA, 0, 0, 0)), -PVCORE_ENOSYS);
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_xen_version, 0xFFFFFFFFu, VA, 0, 0, 0)),
                     -PVCORE_ENOSYS);
    pvtest_free(t);
}

/* ---- the rest ------------------------------------------------------------------------------- */

static void test_unhandled(void **state)
{
    struct pvtest *t = pvtest_new();
    struct env e, e32;
    static const uint64_t nrs[] = { PVCORE_HYPERVISOR_console_io, PVCORE_HYPERVISOR_sched_op,
                                    PVCORE_HYPERVISOR_event_channel_op_compat,
                                    11, 43, 63, 64, 65, 1000, 0x100000001ull, UINT64_MAX };
    struct pvcore_hypercall_regs r;
    unsigned i;
    (void)state;

    env_init(&e, t, 1);
    env_init(&e32, t, 2);
    for (i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
        struct pvcore_hypercall_regs before;
        r = regs(nrs[i], 1, 2, 3, 4, 5);
        before = r;
        assert_int_equal(pvcore_hypercall(vcpu(t, 1, 0), &r), PVCORE_HYPERCALL_UNHANDLED);
        assert_memory_equal(&r, &before, sizeof(r)); /* untouched */
    }
    /* memory_op's commands besides reservations and sizes are the embedder's. */
    for (i = 0; i < 3; i++) {
        static const uint64_t cmds[] = { 9 /* memory_map */, 12 /* machphys_mapping */, 7 };
        struct pvcore_hypercall_regs before;
        r = regs(PVCORE_HYPERVISOR_memory_op, cmds[i], 2, 3, 4, 5);
        before = r;
        assert_int_equal(pvcore_hypercall(vcpu(t, 1, 0), &r), PVCORE_HYPERCALL_UNHANDLED);
        assert_memory_equal(&r, &before, sizeof(r));
    }
    /* A 32-bit guest's number is eax: the upper half is not part of it. */
    r = regs(0x100000000ull | PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_pagesize, 0, 0, 0, 0);
    assert_int_equal(pvcore_hypercall(vcpu(t, 2, 0), &r), PVCORE_HYPERCALL_DONE);
    assert_int_equal(r.ret, 4096);
    r = regs(0x100000000ull | PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_pagesize, 0, 0, 0, 0);
    assert_int_equal(pvcore_hypercall(vcpu(t, 1, 0), &r), PVCORE_HYPERCALL_UNHANDLED);
    r = regs(0xFFFFFFFF00000000ull | PVCORE_HYPERVISOR_console_io, 0, 0, 0, 0, 0);
    assert_int_equal(pvcore_hypercall(vcpu(t, 2, 0), &r), PVCORE_HYPERCALL_UNHANDLED);
    check_invariants(t);
    pvtest_free(t);
}

static void test_vm_assist(void **state)
{
    struct pvtest *t = pvtest_new();
    struct env e, e32;
    struct pvcore_hypercall_regs r;
    (void)state;

    env_init(&e, t, 1);
    env_init(&e32, t, 2);
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_vm_assist, PVCORE_VMASST_CMD_enable,
                                      PVCORE_VMASST_TYPE_m2p_strict, 0, 0, 0)),
                     0);
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_vm_assist, PVCORE_VMASST_CMD_enable,
                                      PVCORE_VMASST_TYPE_pae_extended_cr3, 0, 0, 0)),
                     0);
    assert_int_equal(hc_done(&e32, regs(PVCORE_HYPERVISOR_vm_assist, junk(&e32, PVCORE_VMASST_CMD_enable),
                                        junk(&e32, PVCORE_VMASST_TYPE_pae_extended_cr3), 0, 0, 0)),
                     0);
    /* 32-bit errors are 32-bit values in eax. */
    r = regs(PVCORE_HYPERVISOR_vm_assist, 7, 0, 0, 0, 0);
    assert_int_equal(pvcore_hypercall(vcpu(t, 2, 0), &r), PVCORE_HYPERCALL_DONE);
    assert_int_equal(r.ret, 0xFFFFFFEAull);
    pvtest_free(t);
}

/* Through a read-only linear L2 entry, the "data page" is a live L1 table: the processor
 * would refuse the write, and so must pvcore_vcpu_translate() and copy_to_guest, although
 * the last entry has RW. */
static void test_write_through_linear_refused(void **state)
{
    struct pvtest *t = pvtest_new();
    struct env e;
    uint64_t lva = (5ull << 21) | (2ull << 12); /* l2 slot 5 -> l2 itself; then slot 2 -> l1 */
    uint64_t maddr = 0;
    int w = 0;
    uint8_t copy[4096];
    (void)state;

    env_init(&e, t, 1);
    assert_int_equal(set_entry(t, 1, e.l2, 5, pte(e.l2, PT_P | PT_US)), 0);
    assert_int_equal(pvcore_vcpu_translate(vcpu(t, 1, 0), lva, &maddr, &w), 0);
    assert_int_equal(maddr >> 12, e.l1);
    assert_int_equal(w, 0); /* the L1-level entry says writable, the linear L2 entry not */
    memcpy(copy, frame_ptr(t, e.l1), 4096);
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_capabilities, lva, 0, 0, 0)),
                     -PVCORE_EFAULT);
    assert_memory_equal(copy, frame_ptr(t, e.l1), 4096);
    /* Reading through it is fine: the table's entries read as (failing) requests. */
    /* (l1[0] as ptr: command = its flags' low bits, 7: unknown) */
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_mmu_update, lva, 1, lva, PVCORE_DOMID_SELF, 0)),
                     -PVCORE_ENOSYS);
    assert_memory_equal(copy, frame_ptr(t, e.l1), 4096);

    /* A read-only L2 entry above writable L1 entries: not writable either. */
    assert_int_equal(set_entry(t, 1, e.l2, 2, pte(e.l1, PT_P | PT_US)), 0);
    gfill(&e, VA, 0xAA, 16);
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_extraversion, VA, 0, 0, 0)),
                     -PVCORE_EFAULT);
    assert_int_equal(*gptr(&e, VA), 0xAA);
    pvtest_free(t);
}

/* Without copy hooks, whatever needs guest memory is -EFAULT; the rest works. */
static void flush_none(void *ctx, const struct pvcore_flush *f)
{
    (void)ctx;
    (void)f;
}

static void test_no_copy_hooks(void **state)
{
    static const struct pvcore_host_ops ops = { .flush_tlb = flush_none };
    struct pvcore_machine_config cfg;
    struct pvcore_domain_config dc;
    struct pvcore_machine *m;
    struct pvcore_domain *d;
    struct pvcore_hypercall_regs r;
    size_t msize = pvcore_machine_size(2), dsize = pvcore_domain_size(1);
    void *mem = aligned_alloc(64, (msize + 63) & ~(size_t)63);
    void *ft = aligned_alloc(64, (pvcore_frame_table_size(16) + 63) & ~(size_t)63);
    void *ram = aligned_alloc(4096, 16 * 4096);
    void *dmem = aligned_alloc(64, (dsize + 63) & ~(size_t)63);
    uint64_t m2p[16];
    (void)state;

    memset(&cfg, 0, sizeof(cfg));
    cfg.frame_table = ft;
    cfg.frame_table_bytes = pvcore_frame_table_size(16);
    cfg.nr_frames = 16;
    cfg.directmap = ram;
    cfg.m2p = m2p;
    cfg.max_domains = 2;
    cfg.ops = &ops;
    assert_int_equal(pvcore_machine_init(mem, msize, &cfg, &m), 0);
    assert_int_equal(pvcore_frame_add_ram(m, pvcore_mfn(0), 16), 0);
    memset(&dc, 0, sizeof(dc));
    dc.domid = 1;
    dc.nr_vcpus = 1;
    dc.max_pages = 16;
    assert_int_equal(pvcore_domain_create(m, dmem, dsize, &dc, &d), 0);

    r = regs(PVCORE_HYPERVISOR_mmu_update, 0x1000, 1, 0, PVCORE_DOMID_SELF, 0);
    assert_int_equal(pvcore_hypercall(pvcore_domain_vcpu(d, 0), &r), PVCORE_HYPERCALL_DONE);
    assert_int_equal(r.ret, (uint64_t)-(int64_t)PVCORE_EFAULT);
    r = regs(PVCORE_HYPERVISOR_mmu_update, 0x1000, 0, 0x2000, PVCORE_DOMID_SELF, 0);
    assert_int_equal(pvcore_hypercall(pvcore_domain_vcpu(d, 0), &r), PVCORE_HYPERCALL_DONE);
    assert_int_equal(r.ret, (uint64_t)-(int64_t)PVCORE_EFAULT); /* pdone unwritable */
    r = regs(PVCORE_HYPERVISOR_mmu_update, 0x1000, 0, 0, PVCORE_DOMID_SELF, 0);
    assert_int_equal(pvcore_hypercall(pvcore_domain_vcpu(d, 0), &r), PVCORE_HYPERCALL_DONE);
    assert_int_equal(r.ret, 0);
    r = regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_extraversion, 0x1000, 0, 0, 0);
    assert_int_equal(pvcore_hypercall(pvcore_domain_vcpu(d, 0), &r), PVCORE_HYPERCALL_DONE);
    assert_int_equal(r.ret, (uint64_t)-(int64_t)PVCORE_EFAULT);
    r = regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_get_features, 0x1000, 0, 0, 0);
    assert_int_equal(pvcore_hypercall(pvcore_domain_vcpu(d, 0), &r), PVCORE_HYPERCALL_DONE);
    assert_int_equal(r.ret, (uint64_t)-(int64_t)PVCORE_EFAULT);
    r = regs(PVCORE_HYPERVISOR_xen_version, PVCORE_XENVER_version, 0, 0, 0, 0);
    assert_int_equal(pvcore_hypercall(pvcore_domain_vcpu(d, 0), &r), PVCORE_HYPERCALL_DONE);
    assert_int_equal(r.ret, 0x00040011);
    assert_int_equal(pvcore_domain_is_32bit(d), 0);
    {
        int rc;
        while ((rc = pvcore_domain_destroy(d)) == -PVCORE_ERESTART) {
        }
        assert_int_equal(rc, 0);
    }
    free(dmem);
    free(ram);
    free(ft);
    free(mem);
}

/* A guest batch is one library call however it is chunked: 200 upper-level updates from
 * guest memory cost exactly one TLB flush, and a preempted batch one per invocation. */
static void test_one_flush_per_batch(void **state)
{
    struct pvtest *t = pvtest_new();
    struct pvcore_host_stats st;
    struct env e;
    uint64_t l1[2];
    unsigned k, n = 200, calls = 0;
    struct pvcore_hypercall_regs r;
    int rc;
    (void)state;

    env_init(&e, t, 1);
    l1[0] = alloc_frame(t, 1);
    l1[1] = alloc_frame(t, 1);
    for (k = 0; k < n; k++) {
        pvcore_mmu_update_t u;
        u.ptr = (e.l2 << 12) | ((uint64_t)(100 + k) << 3);
        u.val = pte(l1[k & 1], PT_P | PT_RW | PT_US);
        gwrite(&e, VA + k * sizeof(u), &u, sizeof(u));
    }
    pvcore_host_backend_reset_stats(t->hb);
    assert_int_equal(hc_done(&e, regs(PVCORE_HYPERVISOR_mmu_update, VA, n, 0, PVCORE_DOMID_SELF, 0)), 0);
    pvcore_host_backend_stats(t->hb, &st);
    assert_int_equal(st.flush_calls, 1);
    for (k = 0; k < n; k++) {
        assert_int_equal(frame_ptr(t, e.l2)[100 + k] & ~0xFFFull & 0x000FFFFFFFFFFFFFull, l1[k & 1] << 12);
    }
    check_invariants(t);

    /* Now replace them all again with preemption forced every few units of work. */
    for (k = 0; k < n; k++) {
        pvcore_mmu_update_t u;
        u.ptr = (e.l2 << 12) | ((uint64_t)(100 + k) << 3);
        u.val = pte(l1[(k + 1) & 1], PT_P | PT_RW | PT_US);
        gwrite(&e, VA + k * sizeof(u), &u, sizeof(u));
    }
    pvcore_host_backend_set_preempt(t->hb, 1); /* asked every 16 requests */
    pvcore_host_backend_reset_stats(t->hb);
    r = regs(PVCORE_HYPERVISOR_mmu_update, VA, n, 0, PVCORE_DOMID_SELF, 0);
    while ((rc = pvcore_hypercall(vcpu(t, 1, 0), &r)) == PVCORE_HYPERCALL_RESTART) {
        calls++;
        assert_true(calls < 1000);
    }
    assert_int_equal(rc, PVCORE_HYPERCALL_DONE);
    assert_int_equal(r.ret, 0);
    assert_true(calls > 1);
    pvcore_host_backend_stats(t->hb, &st);
    assert_true(st.flush_calls <= calls + 1);
    pvcore_host_backend_set_preempt(t->hb, 0);
    check_invariants(t);
    pvtest_free(t);
}

/* The tests below run once per guest kind: state points at the domain (1: 64-bit, 2: PAE). */
static const int dom64 = 1, dom_pae = 2;

static int dom_of(void **state)
{
    return *(const int *)*state;
}

static void test_bad_pointers(void **state)
{
    bad_pointers(dom_of(state));
}

static void test_mmu_update(void **state)
{
    mmu_update_matches_direct(dom_of(state));
}

static void test_mmuext(void **state)
{
    mmuext_layouts(dom_of(state));
}

static void test_mmuext_preempted(void **state)
{
    mmuext_preempted(dom_of(state));
}

static void test_xen_version(void **state)
{
    xen_version_all(dom_of(state));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_mmu_update, (void *)&dom64),
        cmocka_unit_test_prestate(test_mmu_update, (void *)&dom_pae),
        cmocka_unit_test_prestate(test_preempted, (void *)&by_host_64),
        cmocka_unit_test_prestate(test_preempted, (void *)&by_host_pae),
        cmocka_unit_test_prestate(test_preempted, (void *)&by_budget_64),
        cmocka_unit_test_prestate(test_preempted, (void *)&by_budget_pae),
        cmocka_unit_test(test_pdone_reread),
        cmocka_unit_test(test_forged_preempted_bit),
        cmocka_unit_test_prestate(test_bad_pointers, (void *)&dom64),
        cmocka_unit_test_prestate(test_bad_pointers, (void *)&dom_pae),
        cmocka_unit_test(test_wrap_at_top),
        cmocka_unit_test(test_huge_count_bounded),
        cmocka_unit_test(test_uvm_pae_high_half),
        cmocka_unit_test(test_uvm_64),
        cmocka_unit_test_prestate(test_mmuext, (void *)&dom64),
        cmocka_unit_test_prestate(test_mmuext, (void *)&dom_pae),
        cmocka_unit_test_prestate(test_mmuext_preempted, (void *)&dom64),
        cmocka_unit_test_prestate(test_mmuext_preempted, (void *)&dom_pae),
        cmocka_unit_test_prestate(test_xen_version, (void *)&dom64),
        cmocka_unit_test_prestate(test_xen_version, (void *)&dom_pae),
        cmocka_unit_test(test_unhandled),
        cmocka_unit_test(test_vm_assist),
        cmocka_unit_test(test_write_through_linear_refused),
        cmocka_unit_test(test_no_copy_hooks),
        cmocka_unit_test(test_one_flush_per_batch),
    };
    return cmocka_run_group_tests_name("hypercall", tests, NULL, NULL);
}
