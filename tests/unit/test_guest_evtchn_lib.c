/*
 * The guest-side dispatcher (<pvcore/guest/evtchn.h>) against the real library: domains of
 * the pvtest fixture as tests/regress/evtenv.h builds them, events delivered by the
 * library (EVTCHNOP_send from a peer domain through pvcore_hypercall(),
 * pvcore_evtchn_raise_virq()), and the dispatcher pointed at the domain's shared-info
 * page, its hypercalls (bind_*, unmask, bind_vcpu, close, init_control, expand_array,
 * set_priority) issued through pvcore_hypercall() from the guest's own vCPU, as a kernel
 * would. 64-bit and 32-bit guests for 2-level; FIFO when the library offers it (the test
 * skips while EVTCHNOP_init_control answers -ENOSYS).
 */
#include "regress/evtenv.h"

#include <pvcore/guest/evtchn.h>

/* The guest kernel: which domain it is, which vCPU is running, and a log of its calls. */
struct kern {
    struct edom x;
    uint32_t cur;               /* the vCPU issuing hypercalls */
    uint32_t ncmds, cmds[256];
    void *mem;
    struct pvcore_guest_evtchn *g;
    uint32_t nv;
};

static size_t op_size(uint32_t cmd)
{
    switch (cmd) {
    case PVCORE_EVTCHNOP_bind_interdomain: return sizeof(struct pvcore_evtchn_bind_interdomain);
    case PVCORE_EVTCHNOP_bind_virq: return sizeof(struct pvcore_evtchn_bind_virq);
    case PVCORE_EVTCHNOP_close: return sizeof(struct pvcore_evtchn_close);
    case PVCORE_EVTCHNOP_send: return sizeof(struct pvcore_evtchn_send);
    case PVCORE_EVTCHNOP_alloc_unbound: return sizeof(struct pvcore_evtchn_alloc_unbound);
    case PVCORE_EVTCHNOP_bind_ipi: return sizeof(struct pvcore_evtchn_bind_ipi);
    case PVCORE_EVTCHNOP_bind_vcpu: return sizeof(struct pvcore_evtchn_bind_vcpu);
    case PVCORE_EVTCHNOP_unmask: return sizeof(struct pvcore_evtchn_unmask);
    case PVCORE_EVTCHNOP_init_control: return sizeof(struct pvcore_evtchn_init_control);
    case PVCORE_EVTCHNOP_expand_array: return sizeof(struct pvcore_evtchn_expand_array);
    case PVCORE_EVTCHNOP_set_priority: return sizeof(struct pvcore_evtchn_set_priority);
    case PVCORE_EVTCHNOP_reset: return sizeof(struct pvcore_evtchn_reset);
    default: fail(); return 0;
    }
}

static int64_t kern_op(void *ctx, uint32_t cmd, void *arg)
{
    struct kern *k = ctx;
    int64_t rc;

    k->cmds[k->ncmds++ % 256] = cmd;
    rc = evop_v(&k->x, k->cur, cmd, arg, op_size(cmd), 0);
    assert_true(rc <= 0); /* 1 would be a hypercall that did not complete */
    return rc;
}

static void kern_init(struct kern *k, struct pvtest *t, int d)
{
    struct pvcore_guest_evtchn_config cfg;
    size_t sz;
    uint32_t v;

    memset(k, 0, sizeof(*k));
    edom_init(&k->x, t, d, 4096);
    k->nv = d == 2 ? 2u : 4u;
    /* The whole table: 2-level uses what its width allows, FIFO all of it. */
    sz = pvcore_guest_evtchn_size(k->nv, 4096);
    assert_true(sz != 0);
    k->mem = aligned_alloc(8, (sz + 7u) & ~(size_t)7u);
    assert_non_null(k->mem);
    memset(&cfg, 0, sizeof(cfg));
    cfg.shared_info = e_si(&k->x);
    cfg.width = k->x.e.is32 ? 32u : 64u;
    cfg.nr_vcpus = k->nv;
    cfg.nr_ports = 4096;
    cfg.event_channel_op = kern_op;
    cfg.op_ctx = k;
    assert_int_equal(pvcore_guest_evtchn_init(k->mem, sz, &cfg, &k->g), 0);
    assert_int_equal(pvcore_guest_evtchn_mask_all(k->g), 0); /* as a kernel at boot */
    for (v = 0; v < k->nv; v++) {
        e_si(&k->x)[64u * v + 1u] = 0; /* events enabled on every vCPU */
    }
}

static void kern_free(struct kern *k)
{
    free(k->mem);
    edom_free(&k->x);
}

/* What the handlers saw. */
struct seen {
    uint32_t n, port[64], vcpu[64];
};

static void record(void *arg, uint32_t port, uint32_t vcpu)
{
    struct seen *s = arg;

    if (s->n < 64) {
        s->port[s->n] = port;
        s->vcpu[s->n] = vcpu;
    }
    s->n++;
}

/* The embedder's decision, then the kernel's upcall handler on vCPU v. */
static int upcall(struct kern *k, uint32_t v)
{
    struct pvcore_vcpu *vc = pvcore_domain_vcpu(k->x.e.t->dom[k->x.e.d], v);
    int n;

    if (!pvcore_vcpu_upcall_pending(vc)) {
        return 0;
    }
    k->cur = v;
    n = pvcore_guest_evtchn_dispatch(k->g, v);
    assert_false(pvcore_vcpu_upcall_pending(vc));
    return n;
}

static int other(int d)
{
    return d == 1 ? 2 : 1;
}

/* An interdomain channel: the guest allocates, the peer binds and sends. */
static void interdomain(struct pvtest *t, int d)
{
    struct kern k;
    struct edom peer;
    struct seen s = { 0 };
    struct pvcore_guest_evtchn_handler h = { record, &s };
    uint32_t p = 0, q = 0;

    kern_init(&k, t, d);
    edom_init(&peer, t, other(d), 64);
    assert_int_equal(pvcore_guest_evtchn_alloc_unbound(k.g, (uint16_t)other(d), &h, &p), 0);
    assert_int_equal(e_state(&k.x, p), PVCORE_EVTCHNSTAT_unbound);
    assert_int_equal(e_bind_inter(&peer, (uint16_t)d, p, &q), 0);
    assert_int_equal(e_state(&k.x, p), PVCORE_EVTCHNSTAT_interdomain);
    assert_int_equal(pvcore_guest_evtchn_unmask(k.g, p), 0);
    assert_int_equal(upcall(&k, 0), 0);

    assert_int_equal(e_port_op(&peer, 0, PVCORE_EVTCHNOP_send, q), 0);
    assert_int_equal(e_pending(&k.x, p), 1);
    assert_int_equal(upcall(&k, 0), 1);
    assert_int_equal(s.port[0], p);
    assert_int_equal(s.vcpu[0], 0);
    assert_int_equal(e_pending(&k.x, p), 0);
    /* two sends before the guest looks: one event (edges coalesce) */
    assert_int_equal(e_port_op(&peer, 1, PVCORE_EVTCHNOP_send, q), 0);
    assert_int_equal(e_port_op(&peer, 1, PVCORE_EVTCHNOP_send, q), 0);
    assert_int_equal(upcall(&k, 0), 1);
    assert_int_equal(s.n, 2);

    /* the guest notifies the peer through the dispatcher */
    assert_int_equal(pvcore_guest_evtchn_notify(k.g, p), 0);
    assert_int_equal(e_pending(&peer, q), 1);

    /* the peer binds back from the guest's side: bind_interdomain leaves it pending */
    {
        uint32_t q2 = 0, p2 = 0;
        assert_int_equal(e_alloc_unbound(&peer, (uint16_t)d, &q2), 0);
        assert_int_equal(pvcore_guest_evtchn_bind_interdomain(k.g, (uint16_t)other(d), q2, &h, &p2), 0);
        assert_int_equal(e_pending(&k.x, p2), 1);
        assert_int_equal(upcall(&k, 0), 0); /* masked (mask_all at boot) */
        k.cur = 0;
        assert_int_equal(pvcore_guest_evtchn_unmask(k.g, p2), 0); /* EVTCHNOP_unmask delivers */
        assert_int_equal(k.cmds[(k.ncmds - 1) % 256], PVCORE_EVTCHNOP_unmask);
        assert_int_equal(upcall(&k, 0), 1);
        assert_int_equal(s.port[2], p2);
    }

    /* close through the dispatcher: the peer's end is unbound again */
    assert_int_equal(pvcore_guest_evtchn_close(k.g, p), 0);
    assert_int_equal(e_state(&k.x, p), PVCORE_EVTCHNSTAT_closed);
    assert_int_equal(pvcore_guest_evtchn_nr_bound(k.g), 1);
    {
        struct pvcore_evtchn_status st;
        assert_int_equal(e_status(&peer, SELF, q, &st), 0);
        assert_int_equal(st.status, PVCORE_EVTCHNSTAT_unbound);
    }
    check_invariants(t);
    edom_free(&peer);
    kern_free(&k);
}

static void test_2l_interdomain_64(void **state)
{
    interdomain(*state, 1);
}

static void test_2l_interdomain_32(void **state)
{
    interdomain(*state, 2);
}

/* Per-vCPU VIRQs and IPIs reach the handler on their own vCPU only; a moved port follows. */
static void vcpus(struct pvtest *t, int d)
{
    struct kern k;
    struct edom peer;
    struct seen s = { 0 };
    struct pvcore_guest_evtchn_handler h = { record, &s };
    uint32_t timer1 = 0, dbg0 = 0, ipi = 0, p = 0, q = 0, last;

    kern_init(&k, t, d);
    last = k.nv - 1u;
    edom_init(&peer, t, other(d), 64);
    assert_int_equal(pvcore_guest_evtchn_bind_virq(k.g, PVCORE_VIRQ_TIMER, 1, &h, &timer1), 0);
    assert_int_equal(pvcore_guest_evtchn_bind_virq(k.g, PVCORE_VIRQ_DEBUG, 0, &h, &dbg0), 0);
    assert_int_equal(pvcore_guest_evtchn_bind_ipi(k.g, last, &h, &ipi), 0);
    assert_int_equal(pvcore_guest_evtchn_unmask(k.g, timer1), 0);
    assert_int_equal(pvcore_guest_evtchn_unmask(k.g, dbg0), 0);
    assert_int_equal(pvcore_guest_evtchn_unmask(k.g, ipi), 0);

    assert_int_equal(pvcore_evtchn_raise_virq(vcpu(t, d, 1), PVCORE_VIRQ_TIMER), 0);
    assert_int_equal(pvcore_evtchn_raise_virq(vcpu(t, d, 0), PVCORE_VIRQ_DEBUG), 0);
    assert_int_equal(upcall(&k, 1), 1);
    assert_int_equal(s.port[0], timer1);
    assert_int_equal(s.vcpu[0], 1);
    assert_int_equal(upcall(&k, 0), 1);
    assert_int_equal(s.port[1], dbg0);
    k.cur = 0;
    assert_int_equal(pvcore_guest_evtchn_notify(k.g, ipi), 0); /* an IPI from vCPU 0 */
    assert_int_equal(upcall(&k, 0), 0);
    assert_int_equal(upcall(&k, last), 1);
    assert_int_equal(s.port[2], ipi);
    assert_int_equal(s.vcpu[2], last);

    /* an interdomain port moved to the last vCPU (EVTCHNOP_bind_vcpu) */
    assert_int_equal(pvcore_guest_evtchn_alloc_unbound(k.g, (uint16_t)other(d), &h, &p), 0);
    assert_int_equal(e_bind_inter(&peer, (uint16_t)d, p, &q), 0);
    assert_int_equal(pvcore_guest_evtchn_unmask(k.g, p), 0);
    assert_int_equal(pvcore_guest_evtchn_move(k.g, p, last), 0);
    {
        struct pvcore_evtchn_status st;
        assert_int_equal(e_status(&k.x, SELF, p, &st), 0);
        assert_int_equal(st.vcpu, last);
    }
    assert_int_equal(e_port_op(&peer, 0, PVCORE_EVTCHNOP_send, q), 0);
    assert_int_equal(upcall(&k, 0), 0);
    assert_int_equal(upcall(&k, last), 1);
    assert_int_equal(s.port[3], p);
    assert_int_equal(s.vcpu[3], last);
    check_invariants(t);
    edom_free(&peer);
    kern_free(&k);
}

static void test_2l_vcpus_64(void **state)
{
    vcpus(*state, 1);
}

static void test_2l_vcpus_32(void **state)
{
    vcpus(*state, 2);
}

/* Masked while the event arrives: pending, no upcall; unmask through the dispatcher, the
 * library delivers and the dispatcher calls the handler. */
static void test_2l_unmask_pending(void **state)
{
    struct pvtest *t = *state;
    struct kern k;
    struct seen s = { 0 };
    struct pvcore_guest_evtchn_handler h = { record, &s };
    uint32_t ipi = 0;

    kern_init(&k, t, 1);
    assert_int_equal(pvcore_guest_evtchn_bind_ipi(k.g, 0, &h, &ipi), 0);
    assert_int_equal(pvcore_guest_evtchn_unmask(k.g, ipi), 0);
    assert_int_equal(pvcore_guest_evtchn_mask(k.g, ipi), 0);
    assert_int_equal(pvcore_guest_evtchn_notify(k.g, ipi), 0);
    assert_int_equal(e_pending(&k.x, ipi), 1);
    assert_int_equal(upcall(&k, 0), 0);
    assert_int_equal(pvcore_guest_evtchn_dispatch(k.g, 0), 0); /* even if asked */
    assert_int_equal(s.n, 0);
    k.ncmds = 0;
    assert_int_equal(pvcore_guest_evtchn_unmask(k.g, ipi), 0);
    assert_int_equal(k.ncmds, 1);
    assert_int_equal(k.cmds[0], PVCORE_EVTCHNOP_unmask);
    assert_int_equal(upcall(&k, 0), 1);
    assert_int_equal(s.port[0], ipi);
    /* unmasked and not pending: no hypercall at all */
    assert_int_equal(pvcore_guest_evtchn_mask(k.g, ipi), 0);
    k.ncmds = 0;
    assert_int_equal(pvcore_guest_evtchn_unmask(k.g, ipi), 0);
    assert_int_equal(k.ncmds, 0);
    assert_int_equal(pvcore_guest_evtchn_notify(k.g, ipi), 0);
    assert_int_equal(upcall(&k, 0), 1);
    assert_int_equal(s.n, 2);
    kern_free(&k);
}

/* Many ports pending at once, from many channels: each handler once, in port order. */
static void test_2l_many(void **state)
{
    struct pvtest *t = *state;
    struct kern k;
    struct seen s = { 0 };
    struct pvcore_guest_evtchn_handler h = { record, &s };
    uint32_t ports[40], i;

    kern_init(&k, t, 1);
    for (i = 0; i < 40; i++) {
        assert_int_equal(pvcore_guest_evtchn_bind_ipi(k.g, 0, &h, &ports[i]), 0);
        assert_int_equal(pvcore_guest_evtchn_unmask(k.g, ports[i]), 0);
    }
    for (i = 40; i-- > 0;) {
        assert_int_equal(pvcore_guest_evtchn_notify(k.g, ports[i]), 0);
    }
    assert_int_equal(upcall(&k, 0), 40);
    for (i = 0; i < 40; i++) {
        assert_int_equal(s.port[i], ports[i]);
        assert_int_equal(e_pending(&k.x, ports[i]), 0);
    }
    kern_free(&k);
}

/* ---- FIFO ---------------------------------------------------------------------------- */

struct fkern {
    struct kern k;
    uint64_t cb_frame, pages[4];
};

/* Switches the guest to FIFO through the dispatcher; 0 when the library has no FIFO. */
static int fifo_setup(struct fkern *f, struct pvtest *t, int d, uint32_t npages)
{
    uint32_t v, i;
    int rc;

    kern_init(&f->k, t, d);
    f->cb_frame = alloc_frame(t, d);
    for (v = 0; v < f->k.nv; v++) {
        f->k.cur = v;
        rc = pvcore_guest_evtchn_fifo_init_control(f->k.g, v, (uint8_t *)frame_ptr(t, f->cb_frame) + 128u * v,
                                                   f->cb_frame, 128u * v);
        if (rc == -PVCORE_ENOSYS) {
            return 0;
        }
        assert_int_equal(rc, 0);
    }
    f->k.cur = 0;
    assert_int_equal(pvcore_guest_evtchn_mode(f->k.g), PVCORE_GUEST_EVTCHN_FIFO);
    for (i = 0; i < npages; i++) {
        f->pages[i] = alloc_frame(t, d);
        assert_int_equal(pvcore_guest_evtchn_fifo_expand(f->k.g, frame_ptr(t, f->pages[i]), f->pages[i]), 0);
    }
    return 1;
}

static void fifo_interdomain(struct pvtest *t, int d)
{
    struct fkern f;
    struct edom peer;
    struct seen s = { 0 };
    struct pvcore_guest_evtchn_handler h = { record, &s };
    uint32_t lo = 0, hi = 0, ql = 0, qh = 0, ipi = 0;

    if (!fifo_setup(&f, t, d, 1)) {
        kern_free(&f.k);
        skip();
    }
    edom_init(&peer, t, other(d), 64);
    /* two channels from the peer: `lo` at the lowest priority, `hi` at the highest */
    assert_int_equal(pvcore_guest_evtchn_alloc_unbound(f.k.g, (uint16_t)other(d), &h, &lo), 0);
    assert_int_equal(pvcore_guest_evtchn_alloc_unbound(f.k.g, (uint16_t)other(d), &h, &hi), 0);
    assert_int_equal(e_bind_inter(&peer, (uint16_t)d, lo, &ql), 0);
    assert_int_equal(e_bind_inter(&peer, (uint16_t)d, hi, &qh), 0);
    assert_int_equal(pvcore_guest_evtchn_fifo_set_priority(f.k.g, lo, PVCORE_EVTCHN_FIFO_PRIORITY_MIN), 0);
    assert_int_equal(pvcore_guest_evtchn_fifo_set_priority(f.k.g, hi, PVCORE_EVTCHN_FIFO_PRIORITY_MAX), 0);
    assert_int_equal(pvcore_guest_evtchn_unmask(f.k.g, lo), 0);
    assert_int_equal(pvcore_guest_evtchn_unmask(f.k.g, hi), 0);
    assert_int_equal(upcall(&f.k, 0), 0);

    /* the low one first, then the high one: the high one is still taken first */
    assert_int_equal(e_port_op(&peer, 0, PVCORE_EVTCHNOP_send, ql), 0);
    assert_int_equal(e_port_op(&peer, 0, PVCORE_EVTCHNOP_send, qh), 0);
    assert_int_equal(upcall(&f.k, 0), 2);
    assert_int_equal(s.port[0], hi);
    assert_int_equal(s.port[1], lo);
    assert_int_equal(e_port_op(&peer, 0, PVCORE_EVTCHNOP_send, qh), 0);
    assert_int_equal(e_port_op(&peer, 0, PVCORE_EVTCHNOP_send, ql), 0);
    assert_int_equal(upcall(&f.k, 0), 2);
    assert_int_equal(s.port[2], hi);
    assert_int_equal(s.port[3], lo);

    /* masked while sent: kept pending; unmask delivers */
    assert_int_equal(pvcore_guest_evtchn_mask(f.k.g, lo), 0);
    assert_int_equal(e_port_op(&peer, 1, PVCORE_EVTCHNOP_send, ql), 0);
    assert_int_equal(upcall(&f.k, 0), 0);
    assert_int_equal(pvcore_guest_evtchn_unmask(f.k.g, lo), 0);
    assert_int_equal(upcall(&f.k, 0), 1);
    assert_int_equal(s.port[4], lo);

    /* the guest binds to the peer's port: left pending while masked (a new port's word
     * starts masked), and EVTCHNOP_unmask from the dispatcher has the library link it */
    {
        uint32_t q3 = 0, p3 = 0;
        assert_int_equal(e_alloc_unbound(&peer, (uint16_t)d, &q3), 0);
        assert_int_equal(pvcore_guest_evtchn_bind_interdomain(f.k.g, (uint16_t)other(d), q3, &h, &p3), 0);
        assert_int_equal(upcall(&f.k, 0), 0);
        f.k.ncmds = 0;
        assert_int_equal(pvcore_guest_evtchn_unmask(f.k.g, p3), 0);
        assert_int_equal(f.k.ncmds, 1);
        assert_int_equal(f.k.cmds[0], PVCORE_EVTCHNOP_unmask);
        assert_int_equal(upcall(&f.k, 0), 1);
        assert_int_equal(s.port[5], p3);
        assert_int_equal(pvcore_guest_evtchn_close(f.k.g, p3), 0);
        s.n--; /* keep the indices below */
    }

    /* an IPI to the last vCPU, on its own control block */
    assert_int_equal(pvcore_guest_evtchn_bind_ipi(f.k.g, f.k.nv - 1u, &h, &ipi), 0);
    assert_int_equal(pvcore_guest_evtchn_unmask(f.k.g, ipi), 0);
    assert_int_equal(pvcore_guest_evtchn_notify(f.k.g, ipi), 0);
    assert_int_equal(upcall(&f.k, 0), 0);
    assert_int_equal(upcall(&f.k, f.k.nv - 1u), 1);
    assert_int_equal(s.port[5], ipi);
    assert_int_equal(s.vcpu[5], f.k.nv - 1u);

    /* reset: every port closed and unbound, both sides back on 2-level, and working */
    assert_int_equal(pvcore_guest_evtchn_reset(f.k.g), 0);
    assert_int_equal(pvcore_guest_evtchn_mode(f.k.g), PVCORE_GUEST_EVTCHN_2L);
    assert_int_equal(pvcore_guest_evtchn_nr_bound(f.k.g), 0);
    assert_int_equal(e_state(&peer, ql), PVCORE_EVTCHNSTAT_unbound);
    assert_int_equal(finfo(t, f.cb_frame).type_count, 0); /* the library let go of it */
    assert_int_equal(pvcore_guest_evtchn_mask_all(f.k.g), 0);
    {
        uint32_t p4 = 0, q4 = 0;
        assert_int_equal(pvcore_guest_evtchn_alloc_unbound(f.k.g, (uint16_t)other(d), &h, &p4), 0);
        assert_int_equal(e_bind_inter(&peer, (uint16_t)d, p4, &q4), 0);
        assert_int_equal(pvcore_guest_evtchn_unmask(f.k.g, p4), 0);
        assert_int_equal(e_port_op(&peer, 0, PVCORE_EVTCHNOP_send, q4), 0);
        assert_int_equal(upcall(&f.k, 0), 1);
        assert_int_equal(s.port[6], p4);
    }
    check_invariants(t);
    edom_free(&peer);
    kern_free(&f.k);
}

static void test_fifo_interdomain_64(void **state)
{
    fifo_interdomain(*state, 1);
}

static void test_fifo_interdomain_32(void **state)
{
    fifo_interdomain(*state, 2);
}

/* More ports than the 2-level ABI has (the last page of a 4096-port table, and a port
 * past 1023 for a 32-bit guest), with a VIRQ among them. */
static void test_fifo_high_ports(void **state)
{
    struct pvtest *t = *state;
    struct fkern f;
    struct seen s = { 0 };
    struct pvcore_guest_evtchn_handler h = { record, &s };
    uint32_t p = 0, timer = 0, n = 0;

    if (!fifo_setup(&f, t, 2, 2)) {
        kern_free(&f.k);
        skip();
    }
    assert_true(pvcore_guest_evtchn_nr_ports(f.k.g) > 1024);
    /* fill the 2-level range with IPIs, so the next port is past it */
    while (pvcore_guest_evtchn_bind_ipi(f.k.g, 0, &h, &p) == 0 && p < 1100) {
        n++;
    }
    assert_int_equal(p, 1100);
    assert_int_equal(pvcore_guest_evtchn_unmask(f.k.g, p), 0);
    assert_int_equal(pvcore_guest_evtchn_bind_virq(f.k.g, PVCORE_VIRQ_TIMER, 1, &h, &timer), 0);
    assert_int_equal(pvcore_guest_evtchn_unmask(f.k.g, timer), 0);
    assert_int_equal(pvcore_guest_evtchn_notify(f.k.g, p), 0);
    assert_int_equal(pvcore_evtchn_raise_virq(vcpu(t, 2, 1), PVCORE_VIRQ_TIMER), 0);
    assert_int_equal(upcall(&f.k, 0), 1);
    assert_int_equal(s.port[0], 1100);
    assert_int_equal(upcall(&f.k, 1), 1);
    assert_int_equal(s.port[1], timer);
    assert_int_equal(pvcore_guest_evtchn_nr_bound(f.k.g), n + 2u);
    kern_free(&f.k);
}

REGRESS_MAIN("guest_evtchn_lib", RTEST(test_2l_interdomain_64), RTEST(test_2l_interdomain_32),
             RTEST(test_2l_vcpus_64), RTEST(test_2l_vcpus_32), RTEST(test_2l_unmask_pending),
             RTEST(test_2l_many), RTEST(test_fifo_interdomain_64), RTEST(test_fifo_interdomain_32),
             RTEST(test_fifo_high_ports))
