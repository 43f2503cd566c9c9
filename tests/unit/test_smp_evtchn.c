/*
 * SMP stress for event channels (run under ThreadSanitizer in CI): two domains, the
 * 64-bit domain 1 and the 32-bit PAE domain 2, two vCPUs each, one thread per vCPU. The
 * threads race every EVTCHNOP a guest can issue on its own ports and on the other side's:
 * alloc_unbound offered to the peer, bind_interdomain to whatever the peer offered (often
 * stale: closed, rebound, reset meanwhile), send, close, bind_vcpu, unmask and status on
 * random ports (reserved port 0 and out-of-range ones included), bind_ipi, bind_virq and
 * the embedder raising VIRQs, the guest acknowledging events with its own atomic bit
 * operations, and reset from one vCPU of domain 1. Then domain 1 is destroyed by one
 * thread while domain 2's vCPUs keep sending to it and binding its ports.
 *
 * What must hold: every call returns one of the errors its header allows (no other
 * value); no data race; after the threads join the invariant checker passes, each
 * interdomain port's peer names it back, closing every port leaves every port free, no
 * port of the survivor names the destroyed domain as an interdomain peer, and destroying
 * every domain frees every frame.
 *
 * The FIFO run (test_smp_evtchn_fifo) starts both domains on the FIFO ABI, every vCPU
 * with its control block; the guest's acknowledgement also unlinks the port's event word,
 * the resetter's resets take domain 1 back to 2-level, and every vCPU now and then
 * registers its block and an event-array page again (0, or the errors of a block already
 * there or of a domain back on 2-level), so switches race everything else too.
 */
#include "guestenv.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include <pvcore/evtchn.h>
#include <pvcore/hypercall.h>

#define OPS 10000
#define PORTS 48u   /* a small table: ports are reused all the time, and ENOSPC happens */
#define OFFERS 8u
#define SELF PVCORE_DOMID_SELF

struct dom {
    struct env e;
    uint64_t shared;
    void *table;
};

struct shared {
    struct pvtest *t;
    struct dom dom[3];                 /* [1] and [2] */
    _Atomic uint32_t offer[3][OFFERS]; /* ports of domain i allocated for the other one */
    _Atomic unsigned started;          /* phase 1: threads at the start line */
    _Atomic unsigned warm;             /* phase 2: senders running */
    _Atomic int destroyed;             /* phase 2: domain 1 is gone */
    int fifo;                          /* the FIFO run */
    uint64_t cb[3], page[3];           /* FIFO: each domain's control-block frame and array page */
};

struct worker {
    struct shared *s;
    int d;        /* domain index: 1 or 2 */
    uint32_t vcpu;
    uint64_t seed;
    int resetter; /* this vCPU resets its own domain now and then */
    unsigned ok, failed, bad, resets, binds, sends;
};

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* event_channel_op(cmd, va) from vCPU vcpu of domain index d, the op's bytes at va (the
 * vCPU's own data page: threads never share argument bytes); restarted as the guest would
 * re-execute it. */
static int64_t evop(struct shared *s, int d, uint32_t vcpu, uint32_t cmd, void *op, size_t len)
{
    struct dom *x = &s->dom[d];
    uint64_t va = VA + 4096u * (1u + vcpu);
    struct pvcore_hypercall_regs r;
    int rc;

    gwrite(&x->e, va, op, len);
    memset(&r, 0, sizeof(r));
    r.nr = PVCORE_HYPERVISOR_event_channel_op;
    r.arg[0] = cmd;
    r.arg[1] = va;
    while ((rc = pvcore_hypercall(pvcore_domain_vcpu(s->t->dom[d], vcpu), &r)) ==
           PVCORE_HYPERCALL_RESTART) {
    }
    if (rc != PVCORE_HYPERCALL_DONE) {
        return 1; /* counted as bad */
    }
    gread(&x->e, va, op, len);
    return x->e.is32 ? (int64_t)(int32_t)(uint32_t)r.ret : (int64_t)r.ret;
}

static int64_t port_op(struct shared *s, int d, uint32_t vcpu, uint32_t cmd, uint32_t port)
{
    return evop(s, d, vcpu, cmd, &port, sizeof(port));
}

/* A port number a hostile guest would pick: mostly in range, sometimes 0, the first ones
 * out of range, or huge (negative as an int). */
static uint32_t pick_port(uint64_t r)
{
    switch (r % 16u) {
    case 0:
        return 0;
    case 1:
        return PORTS + (uint32_t)((r >> 8) % 3u);
    case 2:
        return (uint32_t)(r >> 32) | 0x80000000u;
    default:
        return 1u + (uint32_t)((r >> 8) % (PORTS - 1u));
    }
}

/* The fixture's vCPU counts: domain 1 has 4, domain 2 has 2. */
static uint32_t nr_vcpus(int d)
{
    return d == 2 ? 2u : 4u;
}

static int allowed(int64_t rc, int64_t a, int64_t b, int64_t c)
{
    return rc == 0 || rc == a || rc == b || rc == c;
}

/* The guest's upcall handler acknowledging: atomic, as the library sets these bits
 * concurrently (a real guest uses locked instructions too). */
static void guest_ack(struct shared *s, int d, uint32_t vcpu, uint32_t port)
{
    struct dom *x = &s->dom[d];
    uint8_t *si = (uint8_t *)frame_ptr(s->t, x->shared);
    _Atomic uint8_t *vi = (_Atomic uint8_t *)(void *)(si + 64u * vcpu);
    _Atomic uint8_t *pend = (_Atomic uint8_t *)(void *)(si + 2048u + port / 8u);
    uint32_t i, selbytes = x->e.is32 ? 4u : 8u;

    atomic_store(&vi[0], 0);
    for (i = 0; i < selbytes; i++) {
        atomic_store(&vi[selbytes + i], 0); /* sel at 4 (32-bit) or 8 (64-bit) */
    }
    atomic_fetch_and(pend, (uint8_t) ~(1u << (port % 8u)));
    if (s->fifo) {
        /* The FIFO consumer's part: unlink the word and clear PENDING (harmless on a page
         * that is no longer the array after a reset: it is the guest's own). */
        _Atomic uint32_t *w = (_Atomic uint32_t *)(void *)((uint8_t *)frame_ptr(s->t, s->page[d]) + 4u * port);
        atomic_fetch_and(w, ~((1u << PVCORE_EVTCHN_FIFO_PENDING) | (1u << PVCORE_EVTCHN_FIFO_LINKED) |
                              (uint32_t)PVCORE_EVTCHN_FIFO_LINK_MASK));
    }
}

/* FIFO: this vCPU's control block (128 bytes apart in the domain's frame), then the array
 * page; 0 for each, or the errors of a block already there, of a domain not (or no longer)
 * on FIFO, or of an array already at its 128 pages. */
static int fifo_register(struct shared *s, int d, uint32_t vcpu)
{
    struct pvcore_evtchn_init_control ic;
    uint64_t gfn = s->page[d];
    int64_t rc;
    int ok;

    memset(&ic, 0, sizeof(ic));
    ic.control_gfn = s->cb[d];
    ic.offset = 128u * vcpu;
    ic.vcpu = vcpu;
    rc = evop(s, d, vcpu, PVCORE_EVTCHNOP_init_control, &ic, sizeof(ic));
    ok = allowed(rc, -PVCORE_EINVAL, -PVCORE_EINVAL, -PVCORE_EINVAL) &&
         (rc != 0 || ic.link_bits == PVCORE_EVTCHN_FIFO_LINK_BITS);
    rc = evop(s, d, vcpu, PVCORE_EVTCHNOP_expand_array, &gfn, sizeof(gfn));
    return ok && allowed(rc, -PVCORE_EOPNOTSUPP, -PVCORE_ENOSPC, -PVCORE_ENOSPC);
}

/* One random operation of vCPU w->vcpu of domain w->d; the peer domain is `peer`. Returns
 * whether the result was one of those allowed. */
static int one_op(struct worker *w, int peer, int peer_may_be_gone)
{
    struct shared *s = w->s;
    int d = w->d;
    uint16_t peer_id = (uint16_t)peer;
    uint64_t r = next(&w->seed);
    uint32_t port = pick_port(r >> 16);
    int64_t rc;
    int ok;

    switch (r % 16u) {
    case 0:
    case 1: { /* offer a port to the peer */
        struct pvcore_evtchn_alloc_unbound a = { SELF, (r >> 8) % 8u == 0 ? SELF : peer_id, 0 };
        rc = evop(s, d, w->vcpu, PVCORE_EVTCHNOP_alloc_unbound, &a, sizeof(a));
        ok = allowed(rc, -PVCORE_ENOSPC, -PVCORE_ENOSPC, -PVCORE_ENOSPC);
        if (rc == 0) {
            if (a.port == 0 || a.port >= PORTS) {
                ok = 0;
            }
            atomic_store(&s->offer[d][(r >> 40) % OFFERS], a.port);
        }
        break;
    }
    case 2:
    case 3: { /* bind what the peer (or, for loopback, this domain) offered */
        int self = (r >> 8) % 8u == 0;
        struct pvcore_evtchn_bind_interdomain b = {
            self ? SELF : peer_id, atomic_load(&s->offer[self ? d : peer][(r >> 40) % OFFERS]), 0
        };
        if ((r >> 12) % 8u == 0) {
            b.remote_port = port; /* or just any port */
        }
        rc = evop(s, d, w->vcpu, PVCORE_EVTCHNOP_bind_interdomain, &b, sizeof(b));
        ok = allowed(rc, -PVCORE_EINVAL, -PVCORE_ENOSPC,
                     peer_may_be_gone && !self ? -PVCORE_ESRCH : -PVCORE_EINVAL);
        if (rc == 0) {
            w->binds++;
            ok = ok && b.local_port != 0 && b.local_port < PORTS;
        }
        break;
    }
    case 4:
    case 5:
    case 6:
        rc = port_op(s, d, w->vcpu, PVCORE_EVTCHNOP_send, port);
        ok = allowed(rc, -PVCORE_EINVAL, -PVCORE_EINVAL, -PVCORE_EINVAL);
        w->sends += rc == 0;
        break;
    case 7:
    case 8:
        rc = port_op(s, d, w->vcpu, PVCORE_EVTCHNOP_close, port);
        ok = allowed(rc, -PVCORE_EINVAL, -PVCORE_EINVAL, -PVCORE_EINVAL);
        break;
    case 9: { /* vCPU 2 exists in domain 1 only, 7 in neither */
        struct pvcore_evtchn_bind_vcpu b = { port, (uint32_t)((r >> 8) % 4u == 3 ? 7 : (r >> 8) % 3u) };
        rc = evop(s, d, w->vcpu, PVCORE_EVTCHNOP_bind_vcpu, &b, sizeof(b));
        ok = allowed(rc, -PVCORE_EINVAL, -PVCORE_ENOENT, -PVCORE_ENOENT);
        break;
    }
    case 10:
        rc = port_op(s, d, w->vcpu, PVCORE_EVTCHNOP_unmask, port);
        ok = allowed(rc, -PVCORE_EINVAL, -PVCORE_EINVAL, -PVCORE_EINVAL);
        if (rc == 0 && port >= PORTS) {
            ok = 0;
        }
        break;
    case 11: {
        struct pvcore_evtchn_status st;
        memset(&st, 0xAA, sizeof(st));
        st.dom = SELF;
        st.port = port;
        rc = evop(s, d, w->vcpu, PVCORE_EVTCHNOP_status, &st, sizeof(st));
        ok = allowed(rc, -PVCORE_EINVAL, -PVCORE_EINVAL, -PVCORE_EINVAL);
        if (rc == 0) {
            /* A snapshot, but each field is one taken under the lock. */
            ok = ok && port < PORTS && st.status <= PVCORE_EVTCHNSTAT_ipi &&
                 (st.status == PVCORE_EVTCHNSTAT_closed ||
                  st.vcpu < nr_vcpus(d));
            if (st.status == PVCORE_EVTCHNSTAT_interdomain) {
                ok = ok && (st.u.interdomain.dom == 1 || st.u.interdomain.dom == 2) &&
                     st.u.interdomain.port != 0 && st.u.interdomain.port < PORTS;
            }
        } else if (rc == -PVCORE_EINVAL) {
            ok = port >= PORTS;
        }
        break;
    }
    case 12: {
        struct pvcore_evtchn_bind_ipi b = { (uint32_t)((r >> 8) % 2u), 0 };
        rc = evop(s, d, w->vcpu, PVCORE_EVTCHNOP_bind_ipi, &b, sizeof(b));
        ok = allowed(rc, -PVCORE_ENOSPC, -PVCORE_ENOSPC, -PVCORE_ENOSPC);
        break;
    }
    case 13: { /* this vCPU's timer, or a global VIRQ (vCPU 0 only) */
        uint32_t virq = (r >> 8) % 2u ? PVCORE_VIRQ_TIMER : PVCORE_VIRQ_DOM_EXC;
        struct pvcore_evtchn_bind_virq b = { virq, virq == PVCORE_VIRQ_TIMER ? w->vcpu : 0, 0 };
        rc = evop(s, d, w->vcpu, PVCORE_EVTCHNOP_bind_virq, &b, sizeof(b));
        ok = allowed(rc, -PVCORE_EEXIST, -PVCORE_ENOSPC, -PVCORE_ENOSPC);
        rc = pvcore_evtchn_raise_virq(pvcore_domain_vcpu(s->t->dom[d], w->vcpu), virq);
        ok = ok && allowed(rc, -PVCORE_ENOENT, -PVCORE_ENOENT, -PVCORE_ENOENT);
        break;
    }
    case 14:
        guest_ack(s, d, w->vcpu, port % PORTS);
        rc = 0;
        ok = 1;
        break;
    default:
        if (w->resetter && (r >> 8) % 4u == 0) {
            struct pvcore_evtchn_reset rs = { SELF };
            rc = evop(s, d, w->vcpu, PVCORE_EVTCHNOP_reset, &rs, sizeof(rs));
            /* -EAGAIN: the other vCPU opened a port behind the scan (left open, as Xen) */
            ok = rc == 0 || rc == -PVCORE_EAGAIN;
            w->resets++;
        } else if (s->fifo && (r >> 8) % 4u == 1) {
            ok = fifo_register(s, d, w->vcpu);
            rc = 0;
        } else {
            /* another domain's port: status and reset are refused to an unprivileged one */
            struct pvcore_evtchn_status st;
            memset(&st, 0, sizeof(st));
            st.dom = peer_id;
            st.port = port;
            rc = evop(s, d, w->vcpu, PVCORE_EVTCHNOP_status, &st, sizeof(st));
            ok = rc == -PVCORE_EPERM || rc == -PVCORE_EINVAL ||
                 (peer_may_be_gone && rc == -PVCORE_ESRCH);
        }
        break;
    }
    if (!ok) {
        fprintf(stderr, "dom %d vcpu %u: op %u port %u: unexpected %lld\n", d, w->vcpu,
                (unsigned)(r % 16u), port, (long long)rc);
        w->bad++;
    } else if (rc == 0) {
        w->ok++;
    } else {
        w->failed++;
    }
    return ok;
}

static void *vcpu_thread(void *arg)
{
    struct worker *w = arg;
    unsigned i;

    /* All four start together, so that they overlap however threads are scheduled. */
    atomic_fetch_add(&w->s->started, 1);
    while (atomic_load(&w->s->started) < 4) {
        sched_yield();
    }
    for (i = 0; i < OPS; i++) {
        (void)one_op(w, 3 - w->d, 0);
    }
    return NULL;
}

/* Phase 2: domain 2's vCPUs go on while domain 1 is destroyed under them. */
static void *survivor_thread(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->s;
    unsigned i;

    for (i = 0; i < OPS / 2 || !atomic_load(&s->destroyed); i++) {
        if (i == 50) {
            atomic_fetch_add(&s->warm, 1);
        }
        if (i % 2 == 0) {
            /* Send on every port, most of them bound to domain 1 at the start. */
            int64_t rc = port_op(s, 2, w->vcpu, PVCORE_EVTCHNOP_send, 1u + i / 2u % (PORTS - 1u));
            if (rc != 0 && rc != -PVCORE_EINVAL) {
                fprintf(stderr, "survivor send: unexpected %lld\n", (long long)rc);
                w->bad++;
            }
            w->sends += rc == 0;
        } else {
            (void)one_op(w, 1, 1);
        }
    }
    return NULL;
}

static void *destroyer_thread(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->s;
    int rc;

    while (atomic_load(&s->warm) < 2) {
        sched_yield();
    }
    while ((rc = pvcore_domain_destroy(s->t->dom[1])) == -PVCORE_ERESTART) {
    }
    if (rc != 0) {
        fprintf(stderr, "destroy: %d\n", rc);
        w->bad++;
    }
    atomic_store(&s->destroyed, 1);
    return NULL;
}

/* ---- checks on the main thread -------------------------------------------------------------- */

static int64_t status_of(struct shared *s, int d, uint32_t port, struct pvcore_evtchn_status *st)
{
    memset(st, 0, sizeof(*st));
    st->dom = SELF;
    st->port = port;
    return evop(s, d, 0, PVCORE_EVTCHNOP_status, st, sizeof(*st));
}

/* Every interdomain port of d names a peer port that names it back; every port's vCPU is
 * one of the domain's; an unbound port is for domain 1 or 2. `gone`: the domain index
 * that no longer exists (0: none), which no port may name as an interdomain peer. Returns
 * the number of ports not closed. */
static uint32_t check_ports(struct shared *s, int d, int gone)
{
    uint32_t p, open = 0;

    for (p = 0; p < PORTS; p++) {
        struct pvcore_evtchn_status st, rst;

        assert_int_equal(status_of(s, d, p, &st), 0);
        if (p == 0) {
            assert_int_equal(st.status, PVCORE_EVTCHNSTAT_closed);
        }
        if (st.status == PVCORE_EVTCHNSTAT_closed) {
            continue;
        }
        open++;
        assert_true(st.vcpu < nr_vcpus(d));
        if (st.status == PVCORE_EVTCHNSTAT_unbound) {
            assert_true(st.u.unbound.dom == 1 || st.u.unbound.dom == 2);
        } else if (st.status == PVCORE_EVTCHNSTAT_interdomain) {
            int rd = st.u.interdomain.dom;
            assert_true(rd == 1 || rd == 2);
            assert_true(rd != gone);
            assert_true(st.u.interdomain.port != 0 && st.u.interdomain.port < PORTS);
            assert_int_equal(status_of(s, rd, st.u.interdomain.port, &rst), 0);
            assert_int_equal(rst.status, PVCORE_EVTCHNSTAT_interdomain);
            assert_int_equal(rst.u.interdomain.dom, d);
            assert_int_equal(rst.u.interdomain.port, p);
        } else {
            assert_true(st.status == PVCORE_EVTCHNSTAT_virq || st.status == PVCORE_EVTCHNSTAT_ipi);
        }
    }
    return open;
}

static void close_everything(struct shared *s, int d)
{
    uint32_t p;

    for (p = 0; p < PORTS; p++) {
        struct pvcore_evtchn_status st;
        int64_t rc;

        assert_int_equal(status_of(s, d, p, &st), 0);
        rc = port_op(s, d, 0, PVCORE_EVTCHNOP_close, p);
        assert_int_equal(rc, st.status == PVCORE_EVTCHNSTAT_closed ? -PVCORE_EINVAL : 0);
    }
    for (p = 0; p < PORTS; p++) {
        struct pvcore_evtchn_status st;
        assert_int_equal(status_of(s, d, p, &st), 0);
        assert_int_equal(st.status, PVCORE_EVTCHNSTAT_closed);
    }
    /* ... and all of them can be allocated again: nothing leaked. */
    for (p = 1; p < PORTS; p++) {
        struct pvcore_evtchn_alloc_unbound a = { SELF, SELF, 0 };
        assert_int_equal(evop(s, d, 0, PVCORE_EVTCHNOP_alloc_unbound, &a, sizeof(a)), 0);
        assert_int_equal(a.port, p);
    }
    {
        struct pvcore_evtchn_alloc_unbound a = { SELF, SELF, 0 };
        assert_int_equal(evop(s, d, 0, PVCORE_EVTCHNOP_alloc_unbound, &a, sizeof(a)), -PVCORE_ENOSPC);
    }
    for (p = 1; p < PORTS; p++) {
        assert_int_equal(port_op(s, d, 0, PVCORE_EVTCHNOP_close, p), 0);
    }
}

static void dom_setup(struct shared *s, int d)
{
    struct dom *x = &s->dom[d];
    size_t sz = pvcore_evtchn_table_size(PORTS);
    struct pvtest *t = s->t;

    env_init(&x->e, t, d);
    assert_int_equal(pvcore_mmuext_op(pvcore_domain_vcpu(t->dom[d], 1),
                                      &(struct pvcore_mmuext_req){ PVCORE_MMUEXT_NEW_BASEPTR, 0,
                                                                   x->e.root, 0 },
                                      1, NULL, PVCORE_DOMID_SELF),
                     0);
    x->shared = alloc_frame(t, d);
    assert_int_equal(pvcore_domain_set_shared_info(t->dom[d], pvcore_mfn(x->shared)), 0);
    assert_true(sz != 0);
    x->table = aligned_alloc(8, (sz + 7u) & ~(size_t)7u);
    assert_non_null(x->table);
    assert_int_equal(pvcore_domain_set_evtchn_table(t->dom[d], x->table, sz), 0);
}

static void smp_evtchn(int fifo)
{
    struct pvtest *t = pvtest_new();
    struct shared *s = calloc(1, sizeof(*s));
    struct worker w[4];
    pthread_t th[4];
    unsigned i, ok = 0, failed = 0, resets = 0, binds = 0, sends = 0;
    int d, rc;

    assert_non_null(s);
    s->t = t;
    s->fifo = fifo;
    dom_setup(s, 1);
    dom_setup(s, 2);
    for (d = 1; fifo && d <= 2; d++) {
        s->cb[d] = alloc_frame(t, d);
        s->page[d] = alloc_frame(t, d);
        for (i = 0; i < 2; i++) {
            assert_true(fifo_register(s, d, i));
        }
        assert_int_equal(pvcore_evtchn_nr_ports(t->dom[d]), PORTS);
    }
    check_invariants(t);

    /* ---- phase 1: both domains, two vCPUs each -------------------------------------------- */
    for (i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].s = s;
        w[i].d = i < 2 ? 1 : 2;
        w[i].vcpu = i % 2u;
        w[i].seed = 0x9E3779B97F4A7C15ull * (i + 1); /* fixed: the same schedule of ops every run */
        w[i].resetter = i == 0;
        assert_int_equal(pthread_create(&th[i], NULL, vcpu_thread, &w[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].bad, 0);
        ok += w[i].ok;
        failed += w[i].failed;
        resets += w[i].resets;
        binds += w[i].binds;
        sends += w[i].sends;
    }
    if (getenv("SMP_EVTCHN_STATS") != NULL) {
        fprintf(stderr, "phase 1: ok %u failed %u resets %u binds %u sends %u\n", ok, failed,
                resets, binds, sends);
    }
    /* Both outcomes, real bindings and resets, or the test means little. */
    assert_true(ok > 1000);
    assert_true(failed > 100);
    assert_true(binds > 20);
    assert_true(resets > 0);
    check_invariants(t);
    (void)check_ports(s, 1, 0);
    (void)check_ports(s, 2, 0);

    /* No leak: closing everything frees every port of domain 1, and the peer's ends that
     * named it went back to unbound. */
    close_everything(s, 1);
    for (i = 0; i < PORTS; i++) {
        struct pvcore_evtchn_status st;
        assert_int_equal(status_of(s, 2, i, &st), 0);
        assert_true(st.status != PVCORE_EVTCHNSTAT_interdomain || st.u.interdomain.dom == 2);
    }
    close_everything(s, 2);
    check_invariants(t);

    /* ---- phase 2: domain 1 destroyed while domain 2 sends to it ------------------------------ */
    for (i = 0; i < 16; i++) { /* channels both ways, and ports of 1 offered to 2 */
        struct pvcore_evtchn_alloc_unbound a = { SELF, 2, 0 };
        struct pvcore_evtchn_bind_interdomain b = { 1, 0, 0 };
        int from = i % 2u ? 1 : 2, to = 3 - from;

        a.remote_dom = (uint16_t)to;
        assert_int_equal(evop(s, from, 0, PVCORE_EVTCHNOP_alloc_unbound, &a, sizeof(a)), 0);
        atomic_store(&s->offer[from][i % OFFERS], a.port);
        if (i < 12) {
            b.remote_dom = (uint16_t)from;
            b.remote_port = a.port;
            assert_int_equal(evop(s, to, 0, PVCORE_EVTCHNOP_bind_interdomain, &b, sizeof(b)), 0);
        }
    }
    check_invariants(t);
    for (i = 0; i < 3; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].s = s;
        w[i].d = 2;
        w[i].vcpu = i % 2u;
        w[i].seed = 0xD1B54A32D192ED03ull * (i + 1);
        assert_int_equal(pthread_create(&th[i], NULL, i == 2 ? destroyer_thread : survivor_thread, &w[i]), 0);
    }
    for (i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].bad, 0);
    }
    check_invariants(t);
    /* No port of domain 2 names domain 1 as a peer any more; loopbacks are intact. */
    (void)check_ports(s, 2, 1);
    close_everything(s, 2);
    check_invariants(t);

    /* ---- every frame free once every domain is gone ----------------------------------------- */
    for (d = 0; d < 3; d++) {
        while ((rc = pvcore_domain_destroy(t->dom[d])) == -PVCORE_ERESTART) {
        }
        assert_int_equal(rc, 0);
    }
    for (i = 0; i < TEST_FRAMES; i++) {
        assert_int_equal(finfo(t, i).count, 0);
    }
    check_invariants(t);
    free(s->dom[1].table);
    free(s->dom[2].table);
    free(s);
    pvtest_free(t);
}

static void test_smp_evtchn(void **state)
{
    (void)state;
    smp_evtchn(0);
}

static void test_smp_evtchn_fifo(void **state)
{
    (void)state;
    smp_evtchn(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smp_evtchn),
        cmocka_unit_test(test_smp_evtchn_fifo),
    };
    return cmocka_run_group_tests_name("smp_evtchn", tests, NULL, NULL);
}
