/*
 * Event channels, 2-level ABI (<pvcore/evtchn.h>): every EVTCHNOP through the hypercall
 * entry, from 64-bit and 32-bit PAE guests, between two domains and in loopback; the
 * pending, mask and selector bits and upcall_pending read back from the shared-info page
 * after every step; kicks counted by the host backend; hostile port numbers; reset and
 * destruction with ports in every state.
 */
#include "guestenv.h"

#include "internal/machine.h"

#include <pvcore/cpu.h>
#include <pvcore/evtchn.h>
#include <pvcore/hypercall.h>

#define ARG_VA (VA + 5u * 4096u) /* op structures: data page 5 */
#define SELF PVCORE_DOMID_SELF

struct dom {
    struct env e;
    uint64_t shared;
    void *table;
};

static void dom_init_ports(struct dom *x, struct pvtest *t, int d, uint32_t nr_ports)
{
    size_t sz = pvcore_evtchn_table_size(nr_ports);

    memset(x, 0, sizeof(*x));
    env_init(&x->e, t, d);
    x->shared = alloc_frame(t, d);
    assert_int_equal(pvcore_domain_set_shared_info(t->dom[d], pvcore_mfn(x->shared)), 0);
    assert_true(sz != 0);
    x->table = aligned_alloc(8, (sz + 7u) & ~(size_t)7u);
    assert_non_null(x->table);
    assert_int_equal(pvcore_domain_set_evtchn_table(t->dom[d], x->table, sz), 0);
}

static void dom_init(struct dom *x, struct pvtest *t, int d)
{
    dom_init_ports(x, t, d, 4096);
}

static void dom_free(struct dom *x)
{
    free(x->table);
}

/* event_channel_op(cmd, ARG_VA) from vCPU 0, the op's bytes at ARG_VA before, read back
 * after (len bytes). */
static int64_t evop_at(struct dom *x, uint32_t cmd, uint64_t va, void *op, size_t len)
{
    struct pvcore_cpu_regs r;
    struct pvcore_hypercall_regs h;

    memset(&r, 0, sizeof(r));
    r.rip = 0x1000;
    if (op != NULL && va == ARG_VA) {
        gwrite(&x->e, ARG_VA, op, len);
    }
    r.rax = PVCORE_HYPERVISOR_event_channel_op;
    if (x->e.is32) {
        r.cs = PVCORE_FLAT_RING1_CS_X86_32;
        r.rbx = cmd;
        r.rcx = va;
    } else {
        r.cs = PVCORE_FLAT_RING3_CS64_X86_64;
        r.rdi = cmd;
        r.rsi = va;
    }
    assert_int_equal(pvcore_cpu_hypercall(vcpu(x->e.t, x->e.d, 0), &r, &h), PVCORE_CPU_RESUME);
    if (op != NULL && va == ARG_VA) {
        gread(&x->e, ARG_VA, op, len);
    }
    if (r.rip == 0x1000 - 2) {
        return -PVCORE_ERESTART; /* rewound: the guest would execute the call again */
    }
    return x->e.is32 ? (int64_t)(int32_t)(uint32_t)r.rax : (int64_t)r.rax;
}

static int64_t evop(struct dom *x, uint32_t cmd, void *op, size_t len)
{
    return evop_at(x, cmd, ARG_VA, op, len);
}

static int64_t alloc_unbound(struct dom *x, uint16_t dom, uint16_t remote, uint32_t *port)
{
    struct pvcore_evtchn_alloc_unbound a = { dom, remote, 0xDEAD };
    int64_t rc = evop(x, PVCORE_EVTCHNOP_alloc_unbound, &a, sizeof(a));

    if (port != NULL) {
        *port = a.port;
    }
    return rc;
}

static int64_t bind_inter(struct dom *x, uint16_t rdom, uint32_t rport, uint32_t *lport)
{
    struct pvcore_evtchn_bind_interdomain b = { rdom, rport, 0xDEAD };
    int64_t rc = evop(x, PVCORE_EVTCHNOP_bind_interdomain, &b, sizeof(b));

    if (lport != NULL) {
        *lport = b.local_port;
    }
    return rc;
}

static int64_t bind_virq(struct dom *x, uint32_t virq, uint32_t v, uint32_t *port)
{
    struct pvcore_evtchn_bind_virq b = { virq, v, 0xDEAD };
    int64_t rc = evop(x, PVCORE_EVTCHNOP_bind_virq, &b, sizeof(b));

    if (port != NULL) {
        *port = b.port;
    }
    return rc;
}

static int64_t bind_ipi(struct dom *x, uint32_t v, uint32_t *port)
{
    struct pvcore_evtchn_bind_ipi b = { v, 0xDEAD };
    int64_t rc = evop(x, PVCORE_EVTCHNOP_bind_ipi, &b, sizeof(b));

    if (port != NULL) {
        *port = b.port;
    }
    return rc;
}

static int64_t port_op(struct dom *x, uint32_t cmd, uint32_t port)
{
    return evop(x, cmd, &port, sizeof(port));
}

static int64_t ev_close(struct dom *x, uint32_t port)
{
    return port_op(x, PVCORE_EVTCHNOP_close, port);
}

static int64_t ev_send(struct dom *x, uint32_t port)
{
    return port_op(x, PVCORE_EVTCHNOP_send, port);
}

static int64_t ev_unmask(struct dom *x, uint32_t port)
{
    return port_op(x, PVCORE_EVTCHNOP_unmask, port);
}

static int64_t bind_vcpu(struct dom *x, uint32_t port, uint32_t v)
{
    struct pvcore_evtchn_bind_vcpu b = { port, v };

    return evop(x, PVCORE_EVTCHNOP_bind_vcpu, &b, sizeof(b));
}

static int64_t ev_reset(struct dom *x, uint16_t dom)
{
    struct pvcore_evtchn_reset r = { dom };
    int64_t rc;

    /* (restarted by the hypercall entry as the guest would re-execute it) */
    while ((rc = evop(x, PVCORE_EVTCHNOP_reset, &r, sizeof(r))) == -PVCORE_ERESTART) {
    }
    return rc;
}

static int64_t ev_status(struct dom *x, uint16_t dom, uint32_t port, struct pvcore_evtchn_status *st)
{
    memset(st, 0xAA, sizeof(*st));
    st->dom = dom;
    st->port = port;
    return evop(x, PVCORE_EVTCHNOP_status, st, sizeof(*st));
}

/* Asserts port's status: state, vCPU and (unbound, interdomain) the peer. */
static void assert_status(struct dom *x, uint32_t port, uint32_t state, uint32_t v, uint16_t rdom,
                          uint32_t rport)
{
    struct pvcore_evtchn_status st;

    assert_int_equal(ev_status(x, SELF, port, &st), 0);
    assert_int_equal(st.status, state);
    if (state != PVCORE_EVTCHNSTAT_closed) {
        assert_int_equal(st.vcpu, v);
    }
    if (state == PVCORE_EVTCHNSTAT_unbound || state == PVCORE_EVTCHNSTAT_interdomain) {
        assert_int_equal(st.u.interdomain.dom, rdom);
    }
    if (state == PVCORE_EVTCHNSTAT_interdomain) {
        assert_int_equal(st.u.interdomain.port, rport);
    }
}

/* ---- the shared bits ---------------------------------------------------------------------- */

static uint8_t *si(struct dom *x)
{
    return (uint8_t *)frame_ptr(x->e.t, x->shared);
}

static int bitmap(const uint8_t *base, uint32_t bit)
{
    return (base[bit / 8] >> (bit % 8)) & 1;
}

static void set_bitmap(uint8_t *base, uint32_t bit, int on)
{
    if (on) {
        base[bit / 8] = (uint8_t)(base[bit / 8] | (1u << (bit % 8)));
    } else {
        base[bit / 8] = (uint8_t)(base[bit / 8] & ~(1u << (bit % 8)));
    }
}

static int pending(struct dom *x, uint32_t port)
{
    return bitmap(si(x) + 2048, port);
}

static uint8_t *mask_map(struct dom *x)
{
    return si(x) + 2048 + (x->e.is32 ? 128 : 512);
}

static int masked(struct dom *x, uint32_t port)
{
    return bitmap(mask_map(x), port);
}

static uint8_t *vi(struct dom *x, uint32_t v)
{
    return si(x) + 64u * v;
}

static uint64_t sel(struct dom *x, uint32_t v)
{
    uint64_t s = 0;

    if (x->e.is32) {
        uint32_t s32;
        memcpy(&s32, vi(x, v) + 4, 4);
        s = s32;
    } else {
        memcpy(&s, vi(x, v) + 8, 8);
    }
    return s;
}

static uint8_t upcall(struct dom *x, uint32_t v)
{
    return vi(x, v)[0];
}

/* What a guest's upcall handler does first: clear upcall_pending, the selector, the bit. */
static void guest_ack(struct dom *x, uint32_t v, uint32_t port)
{
    vi(x, v)[0] = 0;
    memset(vi(x, v) + (x->e.is32 ? 4 : 8), 0, x->e.is32 ? 4 : 8);
    set_bitmap(si(x) + 2048, port, 0);
}

/* Exactly: port pending, its word's selector bit and upcall_pending on vCPU v, nothing
 * else on any vCPU. */
static void assert_delivered(struct dom *x, uint32_t port, uint32_t v)
{
    uint32_t w = x->e.is32 ? 32 : 64, nv = x->e.d == 2 ? 2 : 4, i;

    assert_int_equal(pending(x, port), 1);
    for (i = 0; i < nv; i++) {
        if (i == v) {
            assert_int_equal(sel(x, i), 1ull << (port / w));
            assert_int_equal(upcall(x, i), 1);
        } else {
            assert_int_equal(sel(x, i), 0);
            assert_int_equal(upcall(x, i), 0);
        }
    }
}

static void assert_quiet(struct dom *x, uint32_t v)
{
    assert_int_equal(sel(x, v), 0);
    assert_int_equal(upcall(x, v), 0);
}

/* ---- the table ------------------------------------------------------------------------------ */

static void test_table(void **state)
{
    struct pvtest *t = pvtest_new();
    size_t one = pvcore_evtchn_table_size(2) / 2;
    void *mem = aligned_alloc(8, pvcore_evtchn_table_size(4096) + 8);
    (void)state;

    assert_int_equal(pvcore_evtchn_table_size(0), 0);
    assert_int_equal(pvcore_evtchn_table_size(1), 0);
    assert_true(one > 0);
    assert_int_equal(pvcore_evtchn_table_size(4096), 4096 * one);
    assert_int_equal(pvcore_evtchn_table_size(131072), 131072 * one);
    assert_int_equal(pvcore_evtchn_table_size(131073), 0);
    assert_int_equal(pvcore_evtchn_table_size(UINT32_MAX), 0);
    assert_int_equal(pvcore_evtchn_nr_ports(t->dom[1]), 0);
    assert_int_equal(pvcore_domain_set_evtchn_table(t->dom[1], NULL, 4096), -PVCORE_EINVAL);
    assert_int_equal(pvcore_domain_set_evtchn_table(t->dom[1], (char *)mem + 1, 4096), -PVCORE_EINVAL);
    assert_int_equal(pvcore_domain_set_evtchn_table(t->dom[1], mem, 2 * one - 1), -PVCORE_EINVAL);
    /* More than the 2-level ABI allows is used up to it (4096 for 64-bit, 1024 for 32-bit)
     * until the guest switches to FIFO (test_evtchn_fifo). */
    assert_int_equal(pvcore_domain_set_evtchn_table(t->dom[1], mem, 4096 * one + 8), 0);
    assert_int_equal(pvcore_evtchn_nr_ports(t->dom[1]), 4096);
    assert_int_equal(pvcore_domain_set_evtchn_table(t->dom[1], mem, 4096 * one), -PVCORE_EBUSY);
    {
        void *m2 = aligned_alloc(8, 4096 * one);
        assert_int_equal(pvcore_domain_set_evtchn_table(t->dom[2], m2, 4096 * one), 0);
        assert_int_equal(pvcore_evtchn_nr_ports(t->dom[2]), 1024);
        void *m3 = aligned_alloc(8, 8 * one);
        assert_int_equal(pvcore_domain_set_evtchn_table(t->dom[0], m3, 8 * one + one - 1), 0);
        assert_int_equal(pvcore_evtchn_nr_ports(t->dom[0]), 8);
        free(m2);
        free(m3);
    }
    free(mem);
    pvtest_free(t);
}

/* No table: nothing can be allocated and every port is out of range. */
static void test_no_table(void **state)
{
    struct pvtest *t = pvtest_new();
    struct dom x;
    struct pvcore_evtchn_status st;
    (void)state;

    memset(&x, 0, sizeof(x));
    env_init(&x.e, t, 1);
    assert_int_equal(alloc_unbound(&x, SELF, 0, NULL), -PVCORE_ENOSPC);
    assert_int_equal(bind_ipi(&x, 0, NULL), -PVCORE_ENOSPC);
    assert_int_equal(ev_send(&x, 0), -PVCORE_EINVAL);
    assert_int_equal(ev_close(&x, 1), -PVCORE_EINVAL);
    assert_int_equal(ev_unmask(&x, 1), -PVCORE_EINVAL);
    assert_int_equal(ev_status(&x, SELF, 0, &st), -PVCORE_EINVAL);
    pvtest_free(t);
}

/* ---- alloc_unbound and status --------------------------------------------------------------- */

static void test_alloc_unbound(void **state)
{
    struct pvtest *t = pvtest_new();
    struct dom d0, d1;
    struct pvcore_evtchn_status st;
    uint32_t p;
    (void)state;

    dom_init(&d0, t, 0);
    dom_init(&d1, t, 1);
    assert_int_equal(alloc_unbound(&d1, SELF, 2, &p), 0);
    assert_int_equal(p, 1); /* port 0 is reserved */
    assert_status(&d1, 1, PVCORE_EVTCHNSTAT_unbound, 0, 2, 0);
    /* remote DOMID_SELF is the caller; its own id as dom is allowed */
    assert_int_equal(alloc_unbound(&d1, 1, SELF, &p), 0);
    assert_int_equal(p, 2);
    assert_status(&d1, 2, PVCORE_EVTCHNSTAT_unbound, 0, 1, 0);
    /* another domain: unprivileged -EPERM, privileged allocates there */
    assert_int_equal(alloc_unbound(&d1, 0, SELF, &p), -PVCORE_EPERM);
    assert_int_equal(p, 0xDEAD); /* nothing written back */
    assert_int_equal(alloc_unbound(&d0, 1, SELF, &p), 0);
    assert_int_equal(p, 3);
    assert_status(&d1, 3, PVCORE_EVTCHNSTAT_unbound, 0, 0, 0); /* remote: the caller, dom0 */
    assert_int_equal(alloc_unbound(&d0, 5, 1, NULL), -PVCORE_ESRCH);
    assert_int_equal(alloc_unbound(&d0, 0x7FF1, 1, NULL), -PVCORE_ESRCH);
    assert_int_equal(alloc_unbound(&d0, 0xFFFF, 1, NULL), -PVCORE_ESRCH);
    /* status: reserved and free ports are closed; out of range -EINVAL */
    assert_status(&d1, 0, PVCORE_EVTCHNSTAT_closed, 0, 0, 0);
    assert_status(&d1, 4095, PVCORE_EVTCHNSTAT_closed, 0, 0, 0);
    assert_int_equal(ev_status(&d1, SELF, 4096, &st), -PVCORE_EINVAL);
    assert_int_equal(ev_status(&d1, SELF, 0xFFFFFFFFu, &st), -PVCORE_EINVAL);
    assert_int_equal(ev_status(&d1, SELF, 0x80000001u, &st), -PVCORE_EINVAL);
    /* another domain's port: unprivileged -EPERM (after the range check), privileged ok */
    assert_int_equal(ev_status(&d1, 0, 1, &st), -PVCORE_EPERM);
    assert_int_equal(ev_status(&d1, 0, 4096, &st), -PVCORE_EINVAL);
    assert_int_equal(ev_status(&d1, 7, 1, &st), -PVCORE_ESRCH);
    assert_int_equal(ev_status(&d0, 1, 1, &st), 0);
    assert_int_equal(st.status, PVCORE_EVTCHNSTAT_unbound);
    assert_int_equal(st.u.unbound.dom, 2);
    /* the union bytes a state leaves alone keep what the guest passed */
    assert_int_equal(((uint8_t *)&st)[18], 0xAA);
    assert_int_equal(ev_status(&d1, SELF, 4095, &st), 0);
    assert_int_equal(st.vcpu, 0);
    assert_int_equal(st.u.virq, 0xAAAAAAAAu);
    /* a fault reading or writing the op */
    assert_int_equal(evop_at(&d1, PVCORE_EVTCHNOP_alloc_unbound, UNMAPPED, NULL, 0), -PVCORE_EFAULT);
    assert_int_equal(evop_at(&d1, PVCORE_EVTCHNOP_status, ARG_VA + 4096u * NDATA - 8, NULL, 0),
                     -PVCORE_EFAULT);
    check_invariants(t);
    dom_free(&d0);
    dom_free(&d1);
    pvtest_free(t);
}

/* The embedder's allocation for a guest (console, xenstore): an unbound port for the
 * named domain, which then binds it like any other. */
static void test_embedder_alloc(void **state)
{
    struct pvtest *t = pvtest_new();
    struct dom d1, d2;
    uint32_t p = 0, lp = 0;
    (void)state;

    dom_init(&d1, t, 1);
    dom_init(&d2, t, 2);
    assert_int_equal(pvcore_domain_evtchn_alloc_unbound(t->dom[1], 2, &p), 0);
    assert_int_equal(p, 1);
    assert_status(&d1, p, PVCORE_EVTCHNSTAT_unbound, 0, 2, 0);
    assert_int_equal(pvcore_domain_evtchn_alloc_unbound(t->dom[1], PVCORE_DOMID_SELF, &lp),
                     -PVCORE_EINVAL);
    assert_int_equal(pvcore_domain_evtchn_alloc_unbound(NULL, 2, &lp), -PVCORE_EINVAL);
    assert_int_equal(bind_inter(&d2, 1, p, &lp), 0);
    assert_status(&d1, p, PVCORE_EVTCHNSTAT_interdomain, 0, 2, lp);
    dom_free(&d1);
    dom_free(&d2);
    pvtest_free(t);
}

static void test_enospc(void **state)
{
    struct pvtest *t = pvtest_new();
    struct dom d1;
    uint32_t p;
    (void)state;

    dom_init_ports(&d1, t, 1, 4);
    assert_int_equal(alloc_unbound(&d1, SELF, 0, &p), 0);
    assert_int_equal(bind_ipi(&d1, 0, &p), 0);
    assert_int_equal(bind_virq(&d1, PVCORE_VIRQ_TIMER, 0, &p), 0);
    assert_int_equal(p, 3);
    assert_int_equal(alloc_unbound(&d1, SELF, 0, NULL), -PVCORE_ENOSPC);
    assert_int_equal(bind_ipi(&d1, 0, NULL), -PVCORE_ENOSPC);
    assert_int_equal(bind_virq(&d1, PVCORE_VIRQ_DEBUG, 0, NULL), -PVCORE_ENOSPC);
    assert_int_equal(bind_inter(&d1, SELF, 1, NULL), -PVCORE_ENOSPC);
    assert_int_equal(ev_close(&d1, 2), 0);
    assert_int_equal(alloc_unbound(&d1, SELF, 0, &p), 0);
    assert_int_equal(p, 2); /* the lowest free port */
    assert_int_equal(ev_status(&d1, SELF, 4, &(struct pvcore_evtchn_status){ 0 }), -PVCORE_EINVAL);
    dom_free(&d1);
    pvtest_free(t);
}

/* ---- interdomain ------------------------------------------------------------------------------ */

static void test_interdomain(void **state)
{
    struct pvtest *t = pvtest_new();
    struct dom d0, d1, d2;
    uint32_t p, lp;
    uint64_t k;
    (void)state;

    dom_init(&d0, t, 0);
    dom_init(&d1, t, 1);
    dom_init(&d2, t, 2);
    assert_int_equal(alloc_unbound(&d1, SELF, 2, &p), 0);
    /* only the named domain may connect, only to an unbound port, only in range */
    assert_int_equal(bind_inter(&d0, 1, p, NULL), -PVCORE_EINVAL);
    assert_int_equal(bind_inter(&d2, 1, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(bind_inter(&d2, 1, 2, NULL), -PVCORE_EINVAL);
    assert_int_equal(bind_inter(&d2, 1, 4096, NULL), -PVCORE_EINVAL);
    assert_int_equal(bind_inter(&d2, 1, 0xFFFFFFFFu, NULL), -PVCORE_EINVAL);
    assert_int_equal(bind_inter(&d2, 6, p, NULL), -PVCORE_ESRCH);
    assert_int_equal(bind_inter(&d2, SELF, p, NULL), -PVCORE_EINVAL); /* its own port p: free */
    assert_status(&d2, 1, PVCORE_EVTCHNSTAT_closed, 0, 0, 0);        /* nothing allocated */
    k = kicks(t);
    assert_int_equal(bind_inter(&d2, 1, p, &lp), 0);
    assert_int_equal(lp, 1);
    assert_status(&d1, p, PVCORE_EVTCHNSTAT_interdomain, 0, 2, lp);
    assert_status(&d2, lp, PVCORE_EVTCHNSTAT_interdomain, 0, 1, p);
    /* the new end starts pending, delivered on vCPU 0 */
    assert_delivered(&d2, lp, 0);
    assert_int_equal(kicks(t), k + 1);
    assert_int_equal(pending(&d1, p), 0);
    assert_quiet(&d1, 0);
    assert_int_equal(bind_inter(&d0, 1, p, NULL), -PVCORE_EINVAL); /* no longer unbound */
    /* send: already pending, coalesced: no new kick */
    assert_int_equal(ev_send(&d1, p), 0);
    assert_int_equal(kicks(t), k + 1);
    guest_ack(&d2, 0, lp);
    assert_int_equal(ev_send(&d1, p), 0);
    assert_delivered(&d2, lp, 0);
    assert_int_equal(kicks(t), k + 2);
    /* the other way */
    assert_int_equal(ev_send(&d2, lp), 0);
    assert_delivered(&d1, p, 0);
    assert_int_equal(kicks(t), k + 3);
    check_invariants(t);
    dom_free(&d0);
    dom_free(&d1);
    dom_free(&d2);
    pvtest_free(t);
}

static void test_close_either_side(void **state)
{
    struct pvtest *t = pvtest_new();
    struct dom d1, d2;
    uint32_t p, lp, lp2;
    uint64_t k;
    (void)state;

    dom_init(&d1, t, 1);
    dom_init(&d2, t, 2);
    assert_int_equal(alloc_unbound(&d1, SELF, 2, &p), 0);
    assert_int_equal(bind_inter(&d2, 1, p, &lp), 0);
    /* close on the binding side: d1's end goes back to unbound, for d2 */
    assert_int_equal(pending(&d2, lp), 1);
    assert_int_equal(ev_close(&d2, lp), 0);
    assert_status(&d2, lp, PVCORE_EVTCHNSTAT_closed, 0, 0, 0);
    assert_int_equal(pending(&d2, lp), 0); /* a freed port's pending bit is cleared */
    assert_status(&d1, p, PVCORE_EVTCHNSTAT_unbound, 0, 2, 0);
    assert_int_equal(ev_close(&d2, lp), -PVCORE_EINVAL);
    /* an unbound port drops sends silently */
    k = kicks(t);
    assert_int_equal(ev_send(&d1, p), 0);
    assert_int_equal(pending(&d1, p), 0);
    assert_int_equal(kicks(t), k);
    assert_int_equal(ev_send(&d2, lp), -PVCORE_EINVAL);
    /* bind again, and close on the allocating side */
    assert_int_equal(bind_inter(&d2, 1, p, &lp2), 0);
    assert_int_equal(lp2, lp);
    assert_int_equal(ev_close(&d1, p), 0);
    assert_status(&d1, p, PVCORE_EVTCHNSTAT_closed, 0, 0, 0);
    assert_status(&d2, lp2, PVCORE_EVTCHNSTAT_unbound, 0, 1, 0);
    assert_int_equal(ev_send(&d2, lp2), 0); /* dropped */
    /* d1 can now connect to d2's port (the roles reversed) */
    assert_int_equal(bind_inter(&d1, 2, lp2, &p), 0);
    assert_status(&d1, p, PVCORE_EVTCHNSTAT_interdomain, 0, 2, lp2);
    assert_status(&d2, lp2, PVCORE_EVTCHNSTAT_interdomain, 0, 1, p);
    check_invariants(t);
    dom_free(&d1);
    dom_free(&d2);
    pvtest_free(t);
}

static void test_loopback(void **state)
{
    struct pvtest *t = pvtest_new();
    struct dom d1;
    uint32_t p, lp;
    (void)state;

    dom_init(&d1, t, 1);
    assert_int_equal(alloc_unbound(&d1, SELF, SELF, &p), 0);
    assert_int_equal(bind_inter(&d1, SELF, p, &lp), 0);
    assert_int_equal(lp, p + 1);
    assert_status(&d1, p, PVCORE_EVTCHNSTAT_interdomain, 0, 1, lp);
    assert_status(&d1, lp, PVCORE_EVTCHNSTAT_interdomain, 0, 1, p);
    assert_int_equal(pending(&d1, lp), 1);
    guest_ack(&d1, 0, lp);
    assert_int_equal(ev_send(&d1, lp), 0);
    assert_delivered(&d1, p, 0);
    guest_ack(&d1, 0, p);
    assert_int_equal(ev_send(&d1, p), 0);
    assert_delivered(&d1, lp, 0);
    assert_int_equal(ev_close(&d1, p), 0);
    assert_status(&d1, lp, PVCORE_EVTCHNSTAT_unbound, 0, 1, 0);
    assert_int_equal(pending(&d1, p), 0);
    dom_free(&d1);
    pvtest_free(t);
}

/* ---- IPI, masks, selectors, vCPUs --------------------------------------------------------- */

static void test_ipi_and_bits(void **state)
{
    struct pvtest *t = pvtest_new();
    struct dom d1;
    uint32_t p, q;
    uint64_t k;
    (void)state;

    dom_init(&d1, t, 1);
    assert_int_equal(bind_ipi(&d1, 4, NULL), -PVCORE_ENOENT);
    assert_int_equal(bind_ipi(&d1, 0xFFFFFFFFu, NULL), -PVCORE_ENOENT);
    assert_int_equal(bind_ipi(&d1, 1, &p), 0);
    assert_status(&d1, p, PVCORE_EVTCHNSTAT_ipi, 1, 0, 0);
    assert_int_equal(bind_vcpu(&d1, p, 2), -PVCORE_EINVAL); /* fixed */
    k = kicks(t);
    assert_int_equal(ev_send(&d1, p), 0);
    assert_delivered(&d1, p, 1);
    assert_int_equal(kicks(t), k + 1);
    assert_int_equal(pvcore_vcpu_upcall_pending(vcpu(t, 1, 1)), 1);
    vi(&d1, 1)[1] = 1; /* the guest masks events */
    assert_int_equal(pvcore_vcpu_upcall_pending(vcpu(t, 1, 1)), 0);
    vi(&d1, 1)[1] = 0;
    assert_int_equal(pvcore_vcpu_upcall_pending(vcpu(t, 1, 0)), 0);
    guest_ack(&d1, 1, p);
    assert_int_equal(pvcore_vcpu_upcall_pending(vcpu(t, 1, 1)), 0);

    /* masked: pending only; unmask delivers */
    set_bitmap(mask_map(&d1), p, 1);
    assert_int_equal(ev_send(&d1, p), 0);
    assert_int_equal(pending(&d1, p), 1);
    assert_quiet(&d1, 1);
    assert_int_equal(kicks(t), k + 1);
    assert_int_equal(ev_unmask(&d1, p), 0);
    assert_int_equal(masked(&d1, p), 0);
    assert_delivered(&d1, p, 1);
    assert_int_equal(kicks(t), k + 2);
    /* unmasking an unmasked port does nothing, even with the bits cleared */
    vi(&d1, 1)[0] = 0;
    memset(vi(&d1, 1) + 8, 0, 8);
    assert_int_equal(ev_unmask(&d1, p), 0);
    assert_quiet(&d1, 1);
    assert_int_equal(kicks(t), k + 2);
    /* masked and not pending: unmask only clears the mask */
    set_bitmap(si(&d1) + 2048, p, 0);
    set_bitmap(mask_map(&d1), p, 1);
    assert_int_equal(ev_unmask(&d1, p), 0);
    assert_int_equal(masked(&d1, p), 0);
    assert_quiet(&d1, 1);
    /* any port in range may be unmasked, free or reserved; out of range -EINVAL */
    set_bitmap(mask_map(&d1), 4000, 1);
    assert_int_equal(ev_unmask(&d1, 4000), 0);
    assert_int_equal(masked(&d1, 4000), 0);
    assert_int_equal(ev_unmask(&d1, 0), 0);
    assert_int_equal(ev_unmask(&d1, 4096), -PVCORE_EINVAL);
    assert_int_equal(ev_unmask(&d1, 0xFFFFFFFFu), -PVCORE_EINVAL);

    /* the selector bit already set: pending only, no upcall, no kick (Xen's 2-level) */
    memset(vi(&d1, 1) + 8, 0xFF, 1);
    assert_int_equal(ev_send(&d1, p), 0);
    assert_int_equal(pending(&d1, p), 1);
    assert_int_equal(upcall(&d1, 1), 0);
    assert_int_equal(kicks(t), k + 2);
    /* upcall_pending already set, selector clear: the selector, no kick */
    guest_ack(&d1, 1, p);
    vi(&d1, 1)[0] = 1;
    assert_int_equal(ev_send(&d1, p), 0);
    assert_int_equal(sel(&d1, 1), 1);
    assert_int_equal(kicks(t), k + 2);
    guest_ack(&d1, 1, p);

    /* a port in word 1 sets selector bit 1 (64-bit: port / 64) */
    while ((q = 0, bind_ipi(&d1, 2, &q)) == 0 && q < 70) {
    }
    assert_int_equal(q, 70);
    assert_int_equal(ev_send(&d1, 70), 0);
    assert_delivered(&d1, 70, 2);
    assert_int_equal(sel(&d1, 2), 2);
    check_invariants(t);
    dom_free(&d1);
    pvtest_free(t);
}

static void test_32bit_layout(void **state)
{
    struct pvtest *t = pvtest_new();
    struct dom d2;
    struct pvcore_evtchn_status st;
    uint32_t q = 0;
    (void)state;

    dom_init(&d2, t, 2);
    assert_int_equal(pvcore_evtchn_nr_ports(t->dom[2]), 1024);
    while (bind_ipi(&d2, 1, &q) == 0 && q < 40) {
    }
    assert_int_equal(q, 40);
    assert_int_equal(ev_send(&d2, 40), 0);
    /* selector bit 1 (40 / 32) in the 32-bit word at offset 4 */
    assert_int_equal(pending(&d2, 40), 1);
    assert_int_equal(sel(&d2, 1), 2);
    assert_int_equal(vi(&d2, 1)[0], 1);
    assert_int_equal(sel(&d2, 0), 0);
    /* the mask at 2048 + 128 */
    guest_ack(&d2, 1, 40);
    set_bitmap(si(&d2) + 2048 + 128, 40, 1);
    assert_int_equal(ev_send(&d2, 40), 0);
    assert_int_equal(pending(&d2, 40), 1);
    assert_quiet(&d2, 1);
    assert_int_equal(ev_unmask(&d2, 40), 0);
    assert_int_equal(bitmap(si(&d2) + 2048 + 128, 40), 0);
    assert_int_equal(sel(&d2, 1), 2);
    assert_int_equal(ev_status(&d2, SELF, 1024, &st), -PVCORE_EINVAL);
    assert_int_equal(ev_unmask(&d2, 1024), -PVCORE_EINVAL);
    assert_int_equal(ev_status(&d2, SELF, 40, &st), 0);
    assert_int_equal(st.status, PVCORE_EVTCHNSTAT_ipi);
    assert_int_equal(st.vcpu, 1);
    assert_int_equal(bind_ipi(&d2, 2, NULL), -PVCORE_ENOENT); /* 2 vCPUs */
    dom_free(&d2);
    pvtest_free(t);
}

static void test_virq(void **state)
{
    struct pvtest *t = pvtest_new();
    struct dom d1;
    struct pvcore_evtchn_status st;
    uint32_t timer1, timer2, con, arch;
    uint64_t k;
    (void)state;

    dom_init(&d1, t, 1);
    assert_int_equal(bind_virq(&d1, PVCORE_NR_VIRQS, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(bind_virq(&d1, 0xFFFFFFFFu, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(bind_virq(&d1, PVCORE_VIRQ_CONSOLE, 1, NULL), -PVCORE_EINVAL); /* global */
    assert_int_equal(bind_virq(&d1, PVCORE_VIRQ_ARCH_0, 1, NULL), -PVCORE_EINVAL);
    assert_int_equal(bind_virq(&d1, PVCORE_VIRQ_TIMER, 4, NULL), -PVCORE_ENOENT);
    assert_int_equal(bind_virq(&d1, PVCORE_VIRQ_TIMER, 1, &timer1), 0);
    assert_int_equal(bind_virq(&d1, PVCORE_VIRQ_TIMER, 1, NULL), -PVCORE_EEXIST);
    assert_int_equal(bind_virq(&d1, PVCORE_VIRQ_TIMER, 2, &timer2), 0);
    assert_int_equal(bind_virq(&d1, PVCORE_VIRQ_CONSOLE, 0, &con), 0);
    assert_int_equal(bind_virq(&d1, PVCORE_VIRQ_CONSOLE, 0, NULL), -PVCORE_EEXIST);
    assert_int_equal(bind_virq(&d1, PVCORE_VIRQ_ARCH_7, 0, &arch), 0);
    assert_int_equal(ev_status(&d1, SELF, timer2, &st), 0);
    assert_int_equal(st.status, PVCORE_EVTCHNSTAT_virq);
    assert_int_equal(st.vcpu, 2);
    assert_int_equal(st.u.virq, PVCORE_VIRQ_TIMER);
    assert_int_equal(ev_send(&d1, timer1), -PVCORE_EINVAL); /* a guest cannot send on a VIRQ */

    k = kicks(t);
    assert_int_equal(pvcore_evtchn_raise_virq(vcpu(t, 1, 1), PVCORE_VIRQ_TIMER), 0);
    assert_delivered(&d1, timer1, 1);
    assert_int_equal(kicks(t), k + 1);
    assert_int_equal(pending(&d1, timer2), 0);
    assert_int_equal(pvcore_evtchn_raise_virq(vcpu(t, 1, 3), PVCORE_VIRQ_TIMER), -PVCORE_ENOENT);
    assert_int_equal(pvcore_evtchn_raise_virq(vcpu(t, 1, 1), PVCORE_VIRQ_DEBUG), -PVCORE_ENOENT);
    assert_int_equal(pvcore_evtchn_raise_virq(vcpu(t, 1, 1), PVCORE_NR_VIRQS), -PVCORE_EINVAL);
    guest_ack(&d1, 1, timer1);
    /* a global VIRQ: any vCPU names the domain; delivered where the port points */
    assert_int_equal(pvcore_evtchn_raise_virq(vcpu(t, 1, 3), PVCORE_VIRQ_CONSOLE), 0);
    assert_delivered(&d1, con, 0);
    guest_ack(&d1, 0, con);
    assert_int_equal(bind_vcpu(&d1, con, 3), 0);
    assert_int_equal(bind_vcpu(&d1, timer1, 3), -PVCORE_EINVAL); /* per-vCPU: fixed */
    assert_int_equal(pvcore_evtchn_raise_virq(vcpu(t, 1, 0), PVCORE_VIRQ_CONSOLE), 0);
    assert_delivered(&d1, con, 3);
    assert_int_equal(ev_status(&d1, SELF, con, &st), 0);
    assert_int_equal(st.vcpu, 3);
    guest_ack(&d1, 3, con);
    /* close: the binding goes with it, and the VIRQ can be bound again */
    assert_int_equal(ev_close(&d1, con), 0);
    assert_int_equal(pvcore_evtchn_raise_virq(vcpu(t, 1, 0), PVCORE_VIRQ_CONSOLE), -PVCORE_ENOENT);
    assert_int_equal(bind_virq(&d1, PVCORE_VIRQ_CONSOLE, 0, &con), 0);
    assert_status(&d1, con, PVCORE_EVTCHNSTAT_virq, 0, 0, 0); /* vCPU 0 again */
    assert_int_equal(ev_close(&d1, timer1), 0);
    assert_int_equal(bind_virq(&d1, PVCORE_VIRQ_TIMER, 1, NULL), 0);
    dom_free(&d1);
    pvtest_free(t);
}

static void test_bind_vcpu(void **state)
{
    struct pvtest *t = pvtest_new();
    struct dom d1, d2;
    uint32_t u, p, lp;
    (void)state;

    dom_init(&d1, t, 1);
    dom_init(&d2, t, 2);
    assert_int_equal(alloc_unbound(&d1, SELF, 2, &u), 0);
    assert_int_equal(bind_vcpu(&d1, u, 4), -PVCORE_ENOENT);
    assert_int_equal(bind_vcpu(&d1, 4096, 4), -PVCORE_ENOENT); /* the vCPU is checked first */
    assert_int_equal(bind_vcpu(&d1, 4096, 1), -PVCORE_EINVAL);
    assert_int_equal(bind_vcpu(&d1, 0, 1), -PVCORE_EINVAL);   /* reserved */
    assert_int_equal(bind_vcpu(&d1, 100, 1), -PVCORE_EINVAL); /* free */
    assert_int_equal(bind_vcpu(&d1, u, 2), 0);
    assert_status(&d1, u, PVCORE_EVTCHNSTAT_unbound, 2, 2, 0);
    /* the vCPU stays with the port when it gets connected */
    assert_int_equal(bind_inter(&d2, 1, u, &lp), 0);
    assert_status(&d1, u, PVCORE_EVTCHNSTAT_interdomain, 2, 2, lp);
    assert_int_equal(ev_send(&d2, lp), 0);
    assert_delivered(&d1, u, 2);
    guest_ack(&d1, 2, u);
    assert_int_equal(bind_vcpu(&d2, lp, 1), 0);
    guest_ack(&d2, 0, lp);
    assert_int_equal(ev_send(&d1, u), 0);
    assert_delivered(&d2, lp, 1);
    /* a port freed and allocated again notifies vCPU 0 */
    assert_int_equal(ev_close(&d1, u), 0);
    assert_int_equal(alloc_unbound(&d1, SELF, 2, &p), 0);
    assert_int_equal(p, u);
    assert_status(&d1, p, PVCORE_EVTCHNSTAT_unbound, 0, 2, 0);
    /* and the peer's end keeps its vCPU when it goes back to unbound */
    assert_status(&d2, lp, PVCORE_EVTCHNSTAT_unbound, 1, 1, 0);
    dom_free(&d1);
    dom_free(&d2);
    pvtest_free(t);
}

/* ---- physical IRQs through the embedder's hooks ---------------------------------------------- */

static struct {
    struct pvcore_domain *d;
    uint32_t pirq, flags, binds, unbinds, last_unbound;
    int rc;           /* what pirq_bind answers */
    int fill;         /* pirq_bind takes every free port first (the ENOSPC race) */
} ph;
static struct pvcore_host_ops pirq_ops;

static int h_pirq_bind(void *ctx, struct pvcore_domain *d, uint32_t pirq, uint32_t flags)
{
    uint32_t p;

    (void)ctx;
    ph.d = d;
    ph.pirq = pirq;
    ph.flags = flags;
    ph.binds++;
    while (ph.fill && pvcore_domain_evtchn_alloc_unbound(d, 1, &p) == 0) {
    }
    return ph.rc;
}

static void h_pirq_unbind(void *ctx, struct pvcore_domain *d, uint32_t pirq)
{
    (void)ctx;
    (void)d;
    ph.unbinds++;
    ph.last_unbound = pirq;
}

static int64_t bind_pirq(struct dom *x, uint32_t pirq, uint32_t flags, uint32_t *port)
{
    struct pvcore_evtchn_bind_pirq b = { pirq, flags, 0xDEAD };
    int64_t rc = evop(x, PVCORE_EVTCHNOP_bind_pirq, &b, sizeof(b));

    if (port != NULL) {
        *port = b.port;
    }
    if (rc != 0) {
        assert_int_equal(b.port, 0xDEAD); /* nothing written back */
    }
    return rc;
}

static void test_pirq(void **state)
{
    struct pvtest *t = pvtest_new();
    struct machine *m = (struct machine *)(void *)t->m;
    struct dom d0, d1;
    uint32_t p, q;
    struct pvcore_evtchn_status st;
    (void)state;

    dom_init_ports(&d0, t, 0, 64);
    dom_init(&d1, t, 1);
    pirq_ops = *m->ops;
    pirq_ops.pirq_bind = h_pirq_bind;
    pirq_ops.pirq_unbind = h_pirq_unbind;
    m->ops = &pirq_ops;
    memset(&ph, 0, sizeof(ph));

    /* refused before the hook: range, privilege */
    assert_int_equal(bind_pirq(&d0, PVCORE_NR_PIRQS, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(bind_pirq(&d0, 0xFFFFFFFFu, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(bind_pirq(&d1, 5, 0, NULL), -PVCORE_EPERM);
    assert_int_equal(ph.binds, 0);
    /* bound: the hook told (flags passed on), the port on vCPU 0, status says pirq */
    assert_int_equal(bind_pirq(&d0, 5, PVCORE_BIND_PIRQ__WILL_SHARE, &p), 0);
    assert_int_equal(ph.binds, 1);
    assert_ptr_equal(ph.d, t->dom[0]);
    assert_int_equal(ph.pirq, 5);
    assert_int_equal(ph.flags, PVCORE_BIND_PIRQ__WILL_SHARE);
    assert_int_equal(ev_status(&d0, SELF, p, &st), 0);
    assert_int_equal(st.status, PVCORE_EVTCHNSTAT_pirq);
    assert_int_equal(st.vcpu, 0);
    assert_int_equal(st.u.pirq, 5);
    /* bound twice: -EEXIST, no second hook call */
    assert_int_equal(bind_pirq(&d0, 5, 0, NULL), -PVCORE_EEXIST);
    assert_int_equal(ph.binds, 1);
    /* the hook refuses: its error, the IRQ free again */
    ph.rc = -PVCORE_EBUSY;
    assert_int_equal(bind_pirq(&d0, 6, 0, NULL), -PVCORE_EBUSY);
    ph.rc = 0;
    assert_int_equal(bind_pirq(&d0, 6, 0, &q), 0);
    assert_int_equal(ph.unbinds, 0);
    /* raised by the embedder: pending on the port, upcall on its vCPU; moved, elsewhere */
    assert_int_equal(pvcore_evtchn_raise_pirq(t->dom[0], 5), 0);
    assert_true(pending(&d0, p));
    assert_int_equal(vi(&d0, 0)[0], 1);
    assert_int_equal(pvcore_evtchn_raise_pirq(t->dom[0], 7), -PVCORE_ENOENT);
    assert_int_equal(pvcore_evtchn_raise_pirq(t->dom[0], PVCORE_NR_PIRQS), -PVCORE_EINVAL);
    assert_int_equal(pvcore_evtchn_raise_pirq(NULL, 5), -PVCORE_EINVAL);
    {
        struct pvcore_evtchn_bind_vcpu bv = { q, 2 };
        assert_int_equal(evop(&d0, PVCORE_EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), 0);
    }
    assert_int_equal(pvcore_evtchn_raise_pirq(t->dom[0], 6), 0);
    assert_true(pending(&d0, q));
    assert_int_equal(vi(&d0, 2)[0], 1);
    /* a PIRQ port cannot be sent on */
    assert_int_equal(ev_send(&d0, p), -PVCORE_EINVAL);
    /* closed: the hook told, raising finds nothing, the IRQ can be bound again */
    assert_int_equal(ev_close(&d0, p), 0);
    assert_int_equal(ph.unbinds, 1);
    assert_int_equal(ph.last_unbound, 5);
    assert_false(pending(&d0, p));
    assert_int_equal(pvcore_evtchn_raise_pirq(t->dom[0], 5), -PVCORE_ENOENT);
    assert_int_equal(bind_pirq(&d0, 5, 0, &p), 0);
    /* every port taken while the hook ran: -ENOSPC, and the IRQ unrouted again */
    ph.fill = 1;
    assert_int_equal(bind_pirq(&d0, 9, 0, NULL), -PVCORE_ENOSPC);
    ph.fill = 0;
    assert_int_equal(ph.unbinds, 2);
    assert_int_equal(ph.last_unbound, 9);
    assert_int_equal(pvcore_evtchn_raise_pirq(t->dom[0], 9), -PVCORE_ENOENT);
    assert_int_equal(bind_pirq(&d0, 10, 0, NULL), -PVCORE_ENOSPC); /* no free port: no hook */
    assert_int_equal(ph.binds, 5);
    /* reset unbinds every IRQ */
    assert_int_equal(ev_reset(&d0, SELF), 0);
    assert_int_equal(ph.unbinds, 4);
    assert_int_equal(bind_pirq(&d0, 5, 0, &p), 0);
    assert_int_equal(bind_pirq(&d0, 255, 0, &q), 0);
    /* and so does destruction */
    {
        int rc;
        while ((rc = pvcore_domain_destroy(t->dom[0])) == -PVCORE_ERESTART) {
        }
        assert_int_equal(rc, 0);
    }
    assert_int_equal(ph.unbinds, 6);
    check_invariants(t);
    dom_free(&d0);
    dom_free(&d1);
    pvtest_free(t);
}

static void test_bad_ports_and_commands(void **state)
{
    struct pvtest *t = pvtest_new();
    struct dom d0, d1;
    static const uint32_t bad[] = { 0, 5, 4095, 4096, 4097, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu };
    unsigned i;
    (void)state;

    dom_init(&d0, t, 0);
    dom_init(&d1, t, 1);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ev_close(&d1, bad[i]), -PVCORE_EINVAL);
        assert_int_equal(ev_send(&d1, bad[i]), -PVCORE_EINVAL);
    }
    /* pirq: not for an unprivileged domain; not served for a privileged one */
    {
        struct pvcore_evtchn_bind_pirq b = { 5, 0, 0xDEAD };
        assert_int_equal(evop(&d1, PVCORE_EVTCHNOP_bind_pirq, &b, sizeof(b)), -PVCORE_EPERM);
        assert_int_equal(evop(&d0, PVCORE_EVTCHNOP_bind_pirq, &b, sizeof(b)), -PVCORE_ENOSYS);
        b.pirq = PVCORE_NR_PIRQS; /* out of range comes first, as in Xen */
        assert_int_equal(evop(&d1, PVCORE_EVTCHNOP_bind_pirq, &b, sizeof(b)), -PVCORE_EINVAL);
        assert_int_equal(b.port, 0xDEAD);
    }
    /* FIFO commands on a 2-level domain (the rest in test_evtchn_fifo); unknown commands */
    {
        uint8_t b[24] = { 0 };
        assert_int_equal(evop(&d1, PVCORE_EVTCHNOP_expand_array, b, 8), -PVCORE_EOPNOTSUPP);
        assert_int_equal(evop(&d1, PVCORE_EVTCHNOP_set_priority, b, 8), -PVCORE_ENOSYS);
        b[4] = 1; /* priority 1 of port 0 */
        assert_int_equal(evop(&d1, PVCORE_EVTCHNOP_set_priority, b, 8), -PVCORE_ENOSYS);
        assert_int_equal(evop(&d1, 15, b, 8), -PVCORE_ENOSYS);
        assert_int_equal(evop(&d1, 0xFFFFFFFFu, b, 8), -PVCORE_ENOSYS);
    }
    /* every command that reads its op faults on an unmapped one */
    for (i = 0; i <= 10; i++) {
        assert_int_equal(evop_at(&d1, i, UNMAPPED, NULL, 0), -PVCORE_EFAULT);
    }
    for (i = 0; i < 4096; i++) {
        assert_int_equal(pending(&d1, i), 0);
    }
    assert_quiet(&d1, 0);
    dom_free(&d0);
    dom_free(&d1);
    pvtest_free(t);
}

/* Ports of d1 in every state, two of them connected to d2 (one each way), one loopback. */
static void populate(struct dom *d1, struct dom *d2, uint32_t out[2])
{
    uint32_t p, lp, q;

    assert_int_equal(alloc_unbound(d1, SELF, 2, &p), 0);      /* connected below */
    assert_int_equal(bind_inter(d2, 1, p, &lp), 0);
    assert_int_equal(alloc_unbound(d2, SELF, 1, &q), 0);
    assert_int_equal(bind_inter(d1, 2, q, NULL), 0);
    assert_int_equal(alloc_unbound(d1, SELF, 0, NULL), 0);    /* unbound */
    assert_int_equal(alloc_unbound(d1, SELF, SELF, &p), 0);   /* loopback */
    assert_int_equal(bind_inter(d1, SELF, p, NULL), 0);
    assert_int_equal(bind_ipi(d1, 3, NULL), 0);
    assert_int_equal(bind_virq(d1, PVCORE_VIRQ_TIMER, 1, NULL), 0);
    assert_int_equal(bind_virq(d1, PVCORE_VIRQ_DOM_EXC, 0, NULL), 0);
    out[0] = lp;
    out[1] = q;
}

static void test_reset(void **state)
{
    struct pvtest *t = pvtest_new();
    struct dom d0, d1, d2;
    uint32_t peer[2], i;
    (void)state;

    dom_init(&d0, t, 0);
    dom_init(&d1, t, 1);
    dom_init(&d2, t, 2);
    populate(&d1, &d2, peer);
    assert_int_equal(ev_reset(&d1, 2), -PVCORE_EPERM);
    assert_int_equal(ev_reset(&d1, 0), -PVCORE_EPERM);
    assert_int_equal(ev_reset(&d1, 6), -PVCORE_ESRCH);
    assert_int_equal(ev_reset(&d1, SELF), 0);
    for (i = 0; i < 16; i++) {
        assert_status(&d1, i, PVCORE_EVTCHNSTAT_closed, 0, 0, 0);
        assert_int_equal(pending(&d1, i), 0);
    }
    assert_status(&d2, peer[0], PVCORE_EVTCHNSTAT_unbound, 0, 1, 0);
    assert_status(&d2, peer[1], PVCORE_EVTCHNSTAT_unbound, 0, 1, 0);
    assert_int_equal(pvcore_evtchn_raise_virq(vcpu(t, 1, 1), PVCORE_VIRQ_TIMER), -PVCORE_ENOENT);
    /* all of it can be bound again; and a privileged domain may reset another, once the
     * toolstack has paused it (Xen: -EINVAL otherwise) */
    populate(&d1, &d2, peer);
    assert_int_equal(ev_reset(&d0, 1), -PVCORE_EINVAL);
    assert_status(&d1, 1, PVCORE_EVTCHNSTAT_interdomain, 0, 2, peer[0]); /* untouched */
    assert_int_equal(pvcore_domain_pause(t->dom[1]), 0);
    assert_int_equal(pvcore_domain_pause(t->dom[1]), 0);
    assert_int_equal(pvcore_domain_unpause(t->dom[1]), 0);
    assert_int_equal(ev_reset(&d0, 1), 0);
    assert_int_equal(pvcore_domain_unpause(t->dom[1]), 0);
    assert_int_equal(pvcore_domain_unpause(t->dom[1]), -PVCORE_EINVAL);
    assert_int_equal(pvcore_domain_pause(NULL), -PVCORE_EINVAL);
    assert_int_equal(ev_reset(&d0, 1), -PVCORE_EINVAL);
    for (i = 0; i < 16; i++) {
        assert_status(&d1, i, PVCORE_EVTCHNSTAT_closed, 0, 0, 0);
    }
    check_invariants(t);
    dom_free(&d0);
    dom_free(&d1);
    dom_free(&d2);
    pvtest_free(t);
}

/* A reset preempted by the host: restarted until done, each call making progress. */
static void test_reset_preempted(void **state)
{
    struct pvtest *t = pvtest_new();
    struct dom d1;
    struct pvcore_evtchn_reset r = { SELF };
    uint32_t i, restarts = 0;
    int64_t rc;
    (void)state;

    dom_init(&d1, t, 1);
    for (i = 1; i < 300; i++) {
        assert_int_equal(bind_ipi(&d1, 0, NULL), 0);
    }
    pvcore_host_backend_set_preempt(t->hb, 1);
    while ((rc = evop(&d1, PVCORE_EVTCHNOP_reset, &r, sizeof(r))) == -PVCORE_ERESTART) {
        restarts++;
        assert_true(restarts < 100);
    }
    pvcore_host_backend_set_preempt(t->hb, 0);
    while (ev_reset(&d1, SELF) != 0) {
    }
    for (i = 0; i < 300; i++) {
        assert_status(&d1, i, PVCORE_EVTCHNSTAT_closed, 0, 0, 0);
    }
    dom_free(&d1);
    pvtest_free(t);
}

static void test_destroy(void **state)
{
    struct pvtest *t = pvtest_new();
    struct dom d1, d2;
    uint32_t peer[2];
    int rc;
    (void)state;

    dom_init(&d1, t, 1);
    dom_init(&d2, t, 2);
    populate(&d1, &d2, peer);
    while ((rc = pvcore_domain_destroy(t->dom[1])) == -PVCORE_ERESTART) {
    }
    assert_int_equal(rc, 0);
    /* both of d2's ends went back to unbound, naming the dead domain */
    assert_status(&d2, peer[0], PVCORE_EVTCHNSTAT_unbound, 0, 1, 0);
    assert_status(&d2, peer[1], PVCORE_EVTCHNSTAT_unbound, 0, 1, 0);
    assert_int_equal(ev_send(&d2, peer[0]), 0); /* dropped */
    assert_int_equal(bind_inter(&d2, 1, 1, NULL), -PVCORE_ESRCH);
    {
        struct pvcore_evtchn_status st;
        assert_int_equal(ev_status(&d2, 1, 1, &st), -PVCORE_ESRCH);
    }
    check_invariants(t);
    dom_free(&d1);
    dom_free(&d2);
    pvtest_free(t);
}

/* A dying domain allocates nothing (Xen: -EINVAL from the port search). */
static void test_destroy_preempted(void **state)
{
    struct pvtest *t = pvtest_new();
    struct dom d1, d2;
    uint32_t peer[2], i;
    int rc, restarts = 0;
    (void)state;

    dom_init(&d1, t, 1);
    dom_init(&d2, t, 2);
    populate(&d1, &d2, peer);
    for (i = 0; i < 200; i++) {
        assert_int_equal(bind_ipi(&d1, 0, NULL), 0);
    }
    pvcore_host_backend_set_preempt(t->hb, 1);
    rc = pvcore_domain_destroy(t->dom[1]);
    assert_int_equal(rc, -PVCORE_ERESTART);
    /* partly closed: the domain is dying, new ports are refused */
    assert_int_equal(alloc_unbound(&d1, SELF, 0, NULL), -PVCORE_EINVAL);
    while ((rc = pvcore_domain_destroy(t->dom[1])) == -PVCORE_ERESTART) {
        restarts++;
    }
    assert_int_equal(rc, 0);
    assert_true(restarts > 0);
    pvcore_host_backend_set_preempt(t->hb, 0);
    assert_status(&d2, peer[0], PVCORE_EVTCHNSTAT_unbound, 0, 1, 0);
    assert_status(&d2, peer[1], PVCORE_EVTCHNSTAT_unbound, 0, 1, 0);
    dom_free(&d1);
    dom_free(&d2);
    pvtest_free(t);
}

/* No shared-info page: ports bind and sends succeed, nothing is delivered, nothing breaks. */
static void test_no_shared_info(void **state)
{
    struct pvtest *t = pvtest_new();
    struct dom x;
    size_t sz = pvcore_evtchn_table_size(64);
    uint32_t p;
    uint64_t k = 0;
    (void)state;

    memset(&x, 0, sizeof(x));
    env_init(&x.e, t, 1);
    x.table = malloc(sz);
    assert_int_equal(pvcore_domain_set_evtchn_table(t->dom[1], x.table, sz), 0);
    assert_int_equal(bind_ipi(&x, 1, &p), 0);
    k = kicks(t);
    assert_int_equal(ev_send(&x, p), 0);
    assert_int_equal(ev_unmask(&x, p), 0);
    assert_int_equal(kicks(t), k);
    assert_int_equal(pvcore_vcpu_upcall_pending(vcpu(t, 1, 1)), 0);
    dom_free(&x);
    pvtest_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_embedder_alloc),
        cmocka_unit_test(test_no_table),
        cmocka_unit_test(test_alloc_unbound),
        cmocka_unit_test(test_enospc),
        cmocka_unit_test(test_interdomain),
        cmocka_unit_test(test_close_either_side),
        cmocka_unit_test(test_loopback),
        cmocka_unit_test(test_ipi_and_bits),
        cmocka_unit_test(test_32bit_layout),
        cmocka_unit_test(test_virq),
        cmocka_unit_test(test_bind_vcpu),
        cmocka_unit_test(test_bad_ports_and_commands),
        cmocka_unit_test(test_pirq),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_reset_preempted),
        cmocka_unit_test(test_destroy),
        cmocka_unit_test(test_destroy_preempted),
        cmocka_unit_test(test_no_shared_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
