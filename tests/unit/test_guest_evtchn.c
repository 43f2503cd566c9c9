/*
 * The guest-side event-channel dispatcher (<pvcore/guest/evtchn.h>) against a small
 * simulated hypervisor written here from the ABI (not from the dispatcher): it sets
 * pending, mask, selector and upcall bits for 2-level, and links FIFO event words onto
 * per-vCPU queues (LINK of the old tail, or HEAD when the queue is empty; READY and the
 * upcall only for an empty queue), and serves the EVTCHNOPs the dispatcher issues.
 * Both guest widths for 2-level; priorities, masking, unmask while pending, handlers that
 * bind and unbind during dispatch, round-robin, several vCPUs, nesting, and a hostile
 * hypervisor (selector bits with nothing pending, floods, LINK out of range, cycles,
 * BUSY held forever, READY bits for empty or non-existent queues).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/guest/evtchn.h>

#define P_BIT (1u << PVCORE_EVTCHN_FIFO_PENDING)
#define M_BIT (1u << PVCORE_EVTCHN_FIFO_MASKED)
#define L_BIT (1u << PVCORE_EVTCHN_FIFO_LINKED)
#define B_BIT (1u << PVCORE_EVTCHN_FIFO_BUSY)
#define LINK_MASK ((uint32_t)PVCORE_EVTCHN_FIFO_LINK_MASK)
#define NV 4u
#define NPAGES 4u

/* ---- the simulated hypervisor ------------------------------------------------------- */

struct sim {
    uint8_t *si;              /* shared-info page */
    unsigned width;
    uint32_t port_vcpu[PVCORE_GUEST_EVTCHN_MAX_PORTS];
    uint8_t prio[PVCORE_GUEST_EVTCHN_MAX_PORTS];
    uint32_t next_port;
    /* FIFO */
    int fifo, fifo_enosys;
    uint8_t *cbpage;          /* gfn 100 + v: control blocks, one page per vCPU */
    uint8_t *cb[NV];
    uint32_t tail[NV][16];
    uint32_t *pages[NPAGES];  /* gfn 200 + n */
    uint32_t *arr[NPAGES];    /* the pages added, in order */
    uint32_t narr;
    /* log */
    uint32_t ncalls, cmds[256];
    uint32_t last_port;
    struct pvcore_evtchn_init_control last_ic;
};

static struct sim *S;

static uint32_t *si32(struct sim *s, uint32_t off)
{
    return (uint32_t *)(void *)(s->si + off);
}

static uint32_t mask_off(struct sim *s)
{
    return s->width == 64 ? 2560u : 2176u;
}

static uint8_t *vinfo(struct sim *s, uint32_t v)
{
    return s->si + 64u * v;
}

static uint32_t sel_off(struct sim *s)
{
    return s->width == 64 ? 8u : 4u;
}

static int test_and_set(uint32_t *w, uint32_t bit)
{
    return (__atomic_fetch_or(w, 1u << bit, __ATOMIC_SEQ_CST) >> bit) & 1u;
}

static int test_bit32(uint32_t *w, uint32_t bit)
{
    return (__atomic_load_n(w, __ATOMIC_SEQ_CST) >> bit) & 1u;
}

static void mark_upcall(struct sim *s, uint32_t v)
{
    __atomic_store_n(vinfo(s, v), 1, __ATOMIC_SEQ_CST);
}

/* 2-level set_pending: pending bit; if it was clear and the port is unmasked, the
 * selector bit of the port's word on its vCPU, and if that was clear, the upcall. */
static void sim_2l_raise(struct sim *s, uint32_t port)
{
    uint32_t v = s->port_vcpu[port], wbits = s->width;

    if (test_and_set(si32(s, 2048u + 4u * (port / 32u)), port % 32u)) {
        return;
    }
    if (test_bit32(si32(s, mask_off(s) + 4u * (port / 32u)), port % 32u)) {
        return;
    }
    /* selector bit (port / wbits) of a wbits-wide word, in 32-bit halves */
    uint32_t sb = port / wbits;
    if (!test_and_set(si32(s, 64u * v + sel_off(s) + 4u * (sb / 32u)) + 0, sb % 32u)) {
        mark_upcall(s, v);
    }
}

static uint32_t *sim_word(struct sim *s, uint32_t port)
{
    if (port / 1024u >= s->narr) {
        return NULL;
    }
    return &s->arr[port / 1024u][port % 1024u];
}

static uint32_t *cb_ready(struct sim *s, uint32_t v)
{
    return (uint32_t *)(void *)s->cb[v];
}

static uint32_t *cb_head(struct sim *s, uint32_t v, uint32_t q)
{
    return (uint32_t *)(void *)(s->cb[v] + 8u + 4u * q);
}

/* FIFO set_pending: PENDING; if not MASKED and not already LINKED, LINKED, then link the
 * port after the queue's tail if the tail is still linked, else make it the HEAD; READY
 * and the upcall only when the queue was empty. */
static void sim_fifo_raise(struct sim *s, uint32_t port)
{
    uint32_t *w = sim_word(s, port), v = s->port_vcpu[port], q = s->prio[port];
    int linked = 0;

    if (w == NULL || s->cb[v] == NULL) {
        return;
    }
    __atomic_fetch_or(w, P_BIT, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(w, __ATOMIC_SEQ_CST) & M_BIT) {
        return;
    }
    if (test_and_set(w, PVCORE_EVTCHN_FIFO_LINKED)) {
        return;
    }
    if (s->tail[v][q] == port) {
        s->tail[v][q] = 0;
    }
    if (s->tail[v][q] != 0) {
        uint32_t *tw = sim_word(s, s->tail[v][q]);
        uint32_t old = __atomic_load_n(tw, __ATOMIC_SEQ_CST);
        while (old & L_BIT) {
            if (__atomic_compare_exchange_n(tw, &old, (old & ~LINK_MASK) | port, 0, __ATOMIC_SEQ_CST,
                                            __ATOMIC_SEQ_CST)) {
                linked = 1;
                break;
            }
        }
    }
    if (!linked) {
        __atomic_store_n(cb_head(s, v, q), port, __ATOMIC_SEQ_CST);
    }
    s->tail[v][q] = port;
    if (!linked && !test_and_set(cb_ready(s, v), q)) {
        mark_upcall(s, v);
    }
}

static void sim_raise(struct sim *s, uint32_t port)
{
    if (s->fifo) {
        sim_fifo_raise(s, port);
    } else {
        sim_2l_raise(s, port);
    }
}

static int64_t sim_op(void *ctx, uint32_t cmd, void *arg)
{
    struct sim *s = ctx;

    s->cmds[s->ncalls++ % 256] = cmd;
    switch (cmd) {
    case PVCORE_EVTCHNOP_alloc_unbound: {
        struct pvcore_evtchn_alloc_unbound *a = arg;
        assert_int_equal(a->dom, PVCORE_DOMID_SELF);
        a->port = s->next_port++;
        s->port_vcpu[a->port] = 0;
        return 0;
    }
    case PVCORE_EVTCHNOP_bind_interdomain: {
        struct pvcore_evtchn_bind_interdomain *b = arg;
        b->local_port = s->next_port++;
        s->port_vcpu[b->local_port] = 0;
        sim_raise(s, b->local_port);
        return 0;
    }
    case PVCORE_EVTCHNOP_bind_virq: {
        struct pvcore_evtchn_bind_virq *b = arg;
        if (b->virq >= PVCORE_NR_VIRQS) {
            return -PVCORE_EINVAL;
        }
        b->port = s->next_port++;
        s->port_vcpu[b->port] = b->vcpu;
        return 0;
    }
    case PVCORE_EVTCHNOP_bind_ipi: {
        struct pvcore_evtchn_bind_ipi *b = arg;
        b->port = s->next_port++;
        s->port_vcpu[b->port] = b->vcpu;
        return 0;
    }
    case PVCORE_EVTCHNOP_close:
        s->last_port = ((struct pvcore_evtchn_close *)arg)->port;
        return 0;
    case PVCORE_EVTCHNOP_send:
        s->last_port = ((struct pvcore_evtchn_send *)arg)->port;
        sim_raise(s, s->last_port);
        return 0;
    case PVCORE_EVTCHNOP_bind_vcpu: {
        struct pvcore_evtchn_bind_vcpu *b = arg;
        s->port_vcpu[b->port] = b->vcpu;
        return 0;
    }
    case PVCORE_EVTCHNOP_unmask: {
        uint32_t port = ((struct pvcore_evtchn_unmask *)arg)->port;
        s->last_port = port;
        if (s->fifo) {
            uint32_t *w = sim_word(s, port);
            if (w != NULL) {
                __atomic_fetch_and(w, ~M_BIT, __ATOMIC_SEQ_CST);
                if (__atomic_load_n(w, __ATOMIC_SEQ_CST) & P_BIT) {
                    sim_fifo_raise(s, port);
                }
            }
        } else {
            uint32_t *m = si32(s, mask_off(s) + 4u * (port / 32u));
            uint32_t was = __atomic_fetch_and(m, ~(1u << (port % 32u)), __ATOMIC_SEQ_CST);
            if ((was >> (port % 32u)) & 1u && test_bit32(si32(s, 2048u + 4u * (port / 32u)), port % 32u)) {
                uint32_t sb = port / s->width, v = s->port_vcpu[port];
                if (!test_and_set(si32(s, 64u * v + sel_off(s) + 4u * (sb / 32u)), sb % 32u)) {
                    mark_upcall(s, v);
                }
            }
        }
        return 0;
    }
    case PVCORE_EVTCHNOP_init_control: {
        struct pvcore_evtchn_init_control *ic = arg;
        s->last_ic = *ic;
        if (s->fifo_enosys) {
            return -PVCORE_ENOSYS;
        }
        if (ic->control_gfn < 100 || ic->control_gfn >= 100 + NV || ic->vcpu >= NV) {
            return -PVCORE_EINVAL;
        }
        s->cb[ic->vcpu] = s->cbpage + 4096u * (ic->control_gfn - 100) + ic->offset;
        ic->link_bits = PVCORE_EVTCHN_FIFO_LINK_BITS;
        s->fifo = 1;
        return 0;
    }
    case PVCORE_EVTCHNOP_expand_array: {
        uint64_t gfn = ((struct pvcore_evtchn_expand_array *)arg)->array_gfn;
        if (gfn < 200 || gfn >= 200 + NPAGES || s->narr >= NPAGES) {
            return -PVCORE_EINVAL;
        }
        s->arr[s->narr++] = s->pages[gfn - 200];
        return 0;
    }
    case PVCORE_EVTCHNOP_set_priority: {
        struct pvcore_evtchn_set_priority *sp = arg;
        if (sp->priority > 15) {
            return -PVCORE_EINVAL;
        }
        s->prio[sp->port] = (uint8_t)sp->priority;
        return 0;
    }
    default:
        return -PVCORE_ENOSYS;
    }
}

/* ---- handlers that record, and misbehave on request ---------------------------------- */

struct rec {
    uint32_t n;
    uint32_t port[4096];
    uint32_t vcpu[4096];
};
static struct rec R;
static struct pvcore_guest_evtchn *G;

enum act { A_NONE, A_RAISE_SELF, A_RAISE_OTHER, A_UNBIND_OTHER, A_BIND_OTHER, A_UNBIND_SELF, A_NEST,
           A_RELINK_SELF };
struct beh {
    enum act act;
    uint32_t other;
    uint32_t limit; /* A_RAISE_SELF: at most this many times */
    uint32_t count;
    int nested_rc;
    uint32_t seq_inside;
};

static void handler(void *arg, uint32_t port, uint32_t vcpu)
{
    struct beh *b = arg;
    static const struct pvcore_guest_evtchn_handler plain = { handler, NULL };

    R.port[R.n % 4096] = port;
    R.vcpu[R.n % 4096] = vcpu;
    R.n++;
    if (b == NULL) {
        return;
    }
    b->count++;
    b->seq_inside = pvcore_guest_evtchn_dispatch_seq(G, vcpu);
    switch (b->act) {
    case A_RAISE_SELF:
        if (b->limit == 0 || b->count < b->limit) {
            sim_raise(S, port);
        }
        break;
    case A_RAISE_OTHER:
        if (b->count == 1) {
            sim_raise(S, b->other);
        }
        break;
    case A_UNBIND_OTHER:
        assert_int_equal(pvcore_guest_evtchn_unbind(G, b->other), 0);
        break;
    case A_BIND_OTHER:
        assert_int_equal(pvcore_guest_evtchn_bind(G, b->other, 0, &plain), 0);
        break;
    case A_UNBIND_SELF:
        assert_int_equal(pvcore_guest_evtchn_unbind(G, port), 0);
        break;
    case A_NEST:
        sim_raise(S, b->other);
        b->nested_rc = pvcore_guest_evtchn_dispatch(G, vcpu);
        break;
    case A_RELINK_SELF: {
        /* A hostile hypervisor re-links the word to itself with PENDING every time. */
        uint32_t *w = sim_word(S, port);
        __atomic_store_n(w, P_BIT | L_BIT | port, __ATOMIC_SEQ_CST);
        __atomic_store_n(cb_head(S, vcpu, S->prio[port]), port, __ATOMIC_SEQ_CST);
        __atomic_fetch_or(cb_ready(S, vcpu), 1u << S->prio[port], __ATOMIC_SEQ_CST);
        break;
    }
    case A_NONE:
        break;
    }
}

static struct pvcore_guest_evtchn_handler H0 = { handler, NULL };

/* ---- fixture ------------------------------------------------------------------------ */

struct fx {
    struct sim sim;
    void *mem;
    uint32_t nr_ports;
    struct beh beh[8];
    struct pvcore_guest_evtchn_handler h[8];
};

static struct fx *fx_new(unsigned width, uint32_t nr_ports)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct pvcore_guest_evtchn_config cfg;
    size_t sz = pvcore_guest_evtchn_size(NV, nr_ports);
    unsigned i;

    assert_non_null(f);
    f->sim.si = aligned_alloc(4096, 4096);
    f->sim.cbpage = aligned_alloc(4096, 4096u * NV);
    assert_non_null(f->sim.si);
    assert_non_null(f->sim.cbpage);
    memset(f->sim.si, 0, 4096);
    memset(f->sim.cbpage, 0xA5, 4096u * NV); /* the dispatcher must clear a block */
    for (i = 0; i < NPAGES; i++) {
        f->sim.pages[i] = aligned_alloc(4096, 4096);
        assert_non_null(f->sim.pages[i]);
        memset(f->sim.pages[i], 0, 4096);
    }
    f->sim.width = width;
    f->sim.next_port = 1;
    assert_true(sz != 0);
    f->mem = aligned_alloc(8, (sz + 7u) & ~(size_t)7u);
    assert_non_null(f->mem);
    memset(&cfg, 0, sizeof(cfg));
    cfg.shared_info = f->sim.si;
    cfg.width = width;
    cfg.nr_vcpus = NV;
    cfg.nr_ports = nr_ports;
    cfg.event_channel_op = sim_op;
    cfg.op_ctx = &f->sim;
    assert_int_equal(pvcore_guest_evtchn_init(f->mem, sz, &cfg, &G), 0);
    f->nr_ports = nr_ports;
    for (i = 0; i < 8; i++) {
        f->h[i].fn = handler;
        f->h[i].arg = &f->beh[i];
    }
    S = &f->sim;
    memset(&R, 0, sizeof(R));
    return f;
}

static void fx_free(struct fx *f)
{
    unsigned i;
    for (i = 0; i < NPAGES; i++) {
        free(f->sim.pages[i]);
    }
    free(f->sim.si);
    free(f->sim.cbpage);
    free(f->mem);
    free(f);
    G = NULL;
    S = NULL;
}

static int pending2(struct fx *f, uint32_t port)
{
    return test_bit32(si32(&f->sim, 2048u + 4u * (port / 32u)), port % 32u);
}

static int masked2(struct fx *f, uint32_t port)
{
    return test_bit32(si32(&f->sim, mask_off(&f->sim) + 4u * (port / 32u)), port % 32u);
}

static uint64_t sel(struct fx *f, uint32_t v)
{
    uint32_t *p = si32(&f->sim, 64u * v + sel_off(&f->sim));
    return f->sim.width == 64 ? (uint64_t)p[0] | (uint64_t)p[1] << 32 : p[0];
}

static uint8_t upcall(struct fx *f, uint32_t v)
{
    return *vinfo(&f->sim, v);
}

static void expect_calls(uint32_t n, const uint32_t *ports)
{
    uint32_t i;
    assert_int_equal(R.n, n);
    for (i = 0; i < n; i++) {
        assert_int_equal(R.port[i], ports[i]);
    }
}

static void reset_rec(void)
{
    memset(&R, 0, sizeof(R));
}

/* ---- setup and binding --------------------------------------------------------------- */

static void test_init_args(void **state)
{
    struct pvcore_guest_evtchn_config cfg;
    struct pvcore_guest_evtchn *g = NULL;
    size_t sz = pvcore_guest_evtchn_size(2, 64);
    uint8_t *mem = aligned_alloc(8, sz + 8);
    uint8_t si[4096] __attribute__((aligned(64)));

    (void)state;
    assert_int_equal(pvcore_guest_evtchn_size(0, 64), 0);
    assert_int_equal(pvcore_guest_evtchn_size(PVCORE_GUEST_EVTCHN_MAX_VCPUS + 1, 64), 0);
    assert_int_equal(pvcore_guest_evtchn_size(1, 1), 0);
    assert_int_equal(pvcore_guest_evtchn_size(1, PVCORE_GUEST_EVTCHN_MAX_PORTS + 1), 0);
    assert_true(pvcore_guest_evtchn_size(1, PVCORE_GUEST_EVTCHN_MAX_PORTS) > PVCORE_GUEST_EVTCHN_MAX_PORTS);
    memset(&cfg, 0, sizeof(cfg));
    cfg.shared_info = si;
    cfg.width = 64;
    cfg.nr_vcpus = 2;
    cfg.nr_ports = 64;
    cfg.event_channel_op = sim_op;
    assert_int_equal(pvcore_guest_evtchn_init(NULL, sz, &cfg, &g), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_init(mem + 4, sz, &cfg, &g), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_init(mem, sz - 1, &cfg, &g), -PVCORE_EINVAL);
    cfg.width = 48;
    assert_int_equal(pvcore_guest_evtchn_init(mem, sz, &cfg, &g), -PVCORE_EINVAL);
    cfg.width = 32;
    cfg.event_channel_op = NULL;
    assert_int_equal(pvcore_guest_evtchn_init(mem, sz, &cfg, &g), -PVCORE_EINVAL);
    cfg.event_channel_op = sim_op;
    cfg.shared_info = NULL;
    assert_int_equal(pvcore_guest_evtchn_init(mem, sz, &cfg, &g), -PVCORE_EINVAL);
    cfg.shared_info = si;
    cfg.nr_vcpus = 3; /* more than sized for */
    assert_int_equal(pvcore_guest_evtchn_init(mem, sz, &cfg, &g), -PVCORE_EINVAL);
    assert_null(g);
    cfg.nr_vcpus = 2;
    memset(si, 0x5A, sizeof(si));
    assert_int_equal(pvcore_guest_evtchn_init(mem, sz, &cfg, &g), 0);
    assert_non_null(g);
    assert_int_equal(pvcore_guest_evtchn_mode(g), PVCORE_GUEST_EVTCHN_2L);
    assert_int_equal(pvcore_guest_evtchn_nr_ports(g), 64);
    assert_int_equal(pvcore_guest_evtchn_nr_bound(g), 0);
    assert_int_equal(si[0], 0x5A); /* shared memory untouched */
    assert_int_equal(pvcore_guest_evtchn_set_vcpu_info(g, 2, si), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_set_vcpu_info(g, 1, NULL), 0);
    assert_int_equal(pvcore_guest_evtchn_dispatch(g, 1), -PVCORE_ENOENT);
    assert_int_equal(pvcore_guest_evtchn_dispatch(g, 2), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_dispatch(NULL, 0), -PVCORE_EINVAL);
    free(mem);
}

static void test_bind_rules(void **state)
{
    struct fx *f = fx_new(32, 2048); /* a 32-bit guest: 1024 ports whatever the table */
    struct pvcore_guest_evtchn_handler nofn = { NULL, NULL };
    uint32_t port = 0;

    (void)state;
    assert_int_equal(pvcore_guest_evtchn_nr_ports(G), 1024);
    assert_int_equal(pvcore_guest_evtchn_bind(G, 0, 0, &H0), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_bind(G, 1024, 0, &H0), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_bind(G, 5, NV, &H0), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_bind(G, 5, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_bind(G, 5, 0, &nofn), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_bind(G, 1023, 1, &H0), 0);
    assert_int_equal(pvcore_guest_evtchn_bind(G, 1023, 0, &H0), -PVCORE_EEXIST);
    assert_int_equal(pvcore_guest_evtchn_nr_bound(G), 1);
    assert_int_equal(pvcore_guest_evtchn_unbind(G, 1023), 0);
    assert_int_equal(pvcore_guest_evtchn_unbind(G, 1023), -PVCORE_ENOENT);
    assert_int_equal(pvcore_guest_evtchn_unbind(G, 0), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_nr_bound(G), 0);

    /* Helpers: the EVTCHNOP with its arguments, then the binding. */
    assert_int_equal(pvcore_guest_evtchn_bind_virq(G, PVCORE_VIRQ_TIMER, 2, &H0, &port), 0);
    assert_int_equal(port, 1);
    assert_int_equal(f->sim.port_vcpu[1], 2);
    assert_int_equal(pvcore_guest_evtchn_bind_ipi(G, 3, &H0, &port), 0);
    assert_int_equal(port, 2);
    assert_int_equal(pvcore_guest_evtchn_alloc_unbound(G, 7, &H0, &port), 0);
    assert_int_equal(port, 3);
    assert_int_equal(pvcore_guest_evtchn_bind_interdomain(G, 7, 9, &H0, &port), 0);
    assert_int_equal(port, 4);
    assert_int_equal(pvcore_guest_evtchn_nr_bound(G), 4);
    assert_int_equal(pvcore_guest_evtchn_bind_virq(G, 99, 0, &H0, &port), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_bind_ipi(G, NV, &H0, &port), -PVCORE_EINVAL);
    /* A port the dispatcher cannot hold is closed again. */
    f->sim.next_port = 1024;
    f->sim.ncalls = 0;
    assert_int_equal(pvcore_guest_evtchn_bind_ipi(G, 0, &H0, &port), -PVCORE_EINVAL);
    assert_int_equal(f->sim.ncalls, 2);
    assert_int_equal(f->sim.cmds[1], PVCORE_EVTCHNOP_close);
    assert_int_equal(f->sim.last_port, 1024);
    /* close: masked, unbound, closed. */
    assert_int_equal(pvcore_guest_evtchn_close(G, 2), 0);
    assert_true(masked2(f, 2));
    assert_int_equal(f->sim.last_port, 2);
    assert_int_equal(pvcore_guest_evtchn_nr_bound(G), 3);
    assert_int_equal(pvcore_guest_evtchn_close(G, 0), -PVCORE_EINVAL);
    /* notify is a send. */
    assert_int_equal(pvcore_guest_evtchn_notify(G, 4), 0);
    assert_int_equal(f->sim.last_port, 4);
    /* FIFO-only calls in 2-level mode. */
    assert_int_equal(pvcore_guest_evtchn_fifo_set_priority(G, 3, 0), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_fifo_expand(G, f->sim.pages[0], 200), -PVCORE_EINVAL);
    fx_free(f);
}

/* ---- 2-level ------------------------------------------------------------------------------ */

static void l2_basic(unsigned width)
{
    struct fx *f = fx_new(width, 4096);
    uint32_t top = width * width - 1u;
    const uint32_t order[] = { 3, 31, 32, 33, 63, 64, 200, top };
    unsigned i;

    for (i = 0; i < 8; i++) {
        assert_int_equal(pvcore_guest_evtchn_bind(G, order[i], 0, &H0), 0);
    }
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 0); /* nothing pending */
    for (i = 8; i-- > 0;) {
        sim_2l_raise(&f->sim, order[i]);
    }
    assert_int_equal(upcall(f, 0), 1);
    assert_true(sel(f, 0) != 0);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 8);
    expect_calls(8, order);
    for (i = 0; i < 8; i++) {
        assert_int_equal(R.vcpu[i], 0);
        assert_int_equal(pending2(f, order[i]), 0);
    }
    assert_int_equal(sel(f, 0), 0);
    assert_int_equal(upcall(f, 0), 0);
    assert_int_equal(pvcore_guest_evtchn_dispatch_seq(G, 0), 4); /* two dispatches */
    fx_free(f);
}

static void test_2l_basic64(void **state)
{
    (void)state;
    l2_basic(64);
}

static void test_2l_basic32(void **state)
{
    (void)state;
    l2_basic(32);
}

static void l2_mask(unsigned width)
{
    struct fx *f = fx_new(width, 4096);

    assert_int_equal(pvcore_guest_evtchn_bind(G, 40, 0, &H0), 0);
    assert_int_equal(pvcore_guest_evtchn_mask(G, 40), 0);
    assert_true(masked2(f, 40));
    sim_2l_raise(&f->sim, 40);
    assert_int_equal(upcall(f, 0), 0); /* masked: pending only */
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 0);
    assert_int_equal(pending2(f, 40), 1);
    /* A hypervisor that sets the selector for a masked word anyway: still not delivered. */
    sim_2l_raise(&f->sim, 41);
    *si32(&f->sim, 64u * 0 + sel_off(&f->sim)) |= 1u << (40 / width);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 0);
    assert_int_equal(pending2(f, 40), 1);
    assert_int_equal(pending2(f, 41), 0); /* unbound: cleared and ignored */

    /* Unmask while pending: EVTCHNOP_unmask, the hypervisor clears the mask and delivers. */
    f->sim.ncalls = 0;
    assert_int_equal(pvcore_guest_evtchn_unmask(G, 40), 0);
    assert_int_equal(f->sim.ncalls, 1);
    assert_int_equal(f->sim.cmds[0], PVCORE_EVTCHNOP_unmask);
    assert_int_equal(masked2(f, 40), 0);
    assert_int_equal(upcall(f, 0), 1);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 1);
    assert_int_equal(R.port[0], 40);
    /* Unmask of a port not pending: the bit is cleared locally, no hypercall. */
    assert_int_equal(pvcore_guest_evtchn_mask(G, 40), 0);
    f->sim.ncalls = 0;
    assert_int_equal(pvcore_guest_evtchn_unmask(G, 40), 0);
    assert_int_equal(f->sim.ncalls, 0);
    assert_int_equal(masked2(f, 40), 0);
    assert_int_equal(pvcore_guest_evtchn_mask(G, 0), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_unmask(G, 4096), -PVCORE_EINVAL);

    /* mask_all masks every 2-level port of the width. */
    assert_int_equal(pvcore_guest_evtchn_mask_all(G), 0);
    assert_true(masked2(f, 1));
    assert_true(masked2(f, width * width - 1u));
    if (width == 32) {
        assert_int_equal(*si32(&f->sim, mask_off(&f->sim) + 128u), 0); /* wc_version after the map */
    }
    fx_free(f);
}

static void test_2l_mask64(void **state)
{
    (void)state;
    l2_mask(64);
}

static void test_2l_mask32(void **state)
{
    (void)state;
    l2_mask(32);
}

/* The scan resumes after the last port handled: p2 before p1 the second time. */
static void test_2l_round_robin(void **state)
{
    struct fx *f = fx_new(64, 4096);
    const uint32_t first[] = { 5 }, second[] = { 9, 5 }, third[] = { 9, 100, 5 }, fourth[] = { 5, 9, 100 };

    (void)state;
    assert_int_equal(pvcore_guest_evtchn_bind(G, 5, 0, &H0), 0);
    assert_int_equal(pvcore_guest_evtchn_bind(G, 9, 0, &H0), 0);
    assert_int_equal(pvcore_guest_evtchn_bind(G, 100, 0, &H0), 0);
    sim_2l_raise(&f->sim, 5);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 1);
    expect_calls(1, first);
    reset_rec();
    sim_2l_raise(&f->sim, 5);
    sim_2l_raise(&f->sim, 9);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 2);
    expect_calls(2, second); /* same word, wrapped to the bits below the resume point */
    reset_rec();
    /* resume point 6 (after 5): 9, then word 1 (100), then word 0 below 6 (5) */
    sim_2l_raise(&f->sim, 5);
    sim_2l_raise(&f->sim, 9);
    sim_2l_raise(&f->sim, 100);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 3);
    expect_calls(3, third);
    reset_rec();
    sim_2l_raise(&f->sim, 100);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 1);
    reset_rec();
    sim_2l_raise(&f->sim, 5);
    sim_2l_raise(&f->sim, 9);
    sim_2l_raise(&f->sim, 100);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 3);
    expect_calls(3, fourth); /* resume point 101: wraps to word 0 */
    fx_free(f);
}

/* A port that floods itself cannot starve the others, and cannot keep the vCPU in the
 * dispatcher: the call ends within its budget with the upcall raised again. */
static void test_2l_flood(void **state)
{
    struct fx *f = fx_new(64, 4096);
    uint32_t i, nb = 0, nc = 0;

    (void)state;
    f->beh[0].act = A_RAISE_SELF;
    assert_int_equal(pvcore_guest_evtchn_bind(G, 7, 0, &f->h[0]), 0);
    assert_int_equal(pvcore_guest_evtchn_bind(G, 300, 0, &H0), 0);
    assert_int_equal(pvcore_guest_evtchn_bind(G, 4000, 0, &H0), 0);
    sim_2l_raise(&f->sim, 7);
    sim_2l_raise(&f->sim, 300);
    sim_2l_raise(&f->sim, 4000);
    int n = pvcore_guest_evtchn_dispatch(G, 0);
    assert_true(n > 3);
    assert_true(n <= 2 * 3 + 64);
    for (i = 0; i < R.n; i++) {
        nb += R.port[i] == 300;
        nc += R.port[i] == 4000;
    }
    assert_int_equal(nb, 1);
    assert_int_equal(nc, 1);
    assert_int_equal(upcall(f, 0), 1); /* more to do: re-entered when events are enabled */
    assert_int_equal(pending2(f, 7), 1);
    assert_true(sel(f, 0) & 1u);
    f->beh[0].act = A_NONE;
    reset_rec();
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 1);
    assert_int_equal(R.port[0], 7);
    assert_int_equal(upcall(f, 0), 0);
    assert_int_equal(sel(f, 0), 0);
    fx_free(f);
}

/* Many unbound pending ports (a hostile or confused hypervisor): the first call stops at
 * its budget and puts the rest back; the next call resumes where it stopped. */
static void test_2l_budget_resume(void **state)
{
    struct fx *f = fx_new(64, 4096);
    uint32_t p;

    (void)state;
    assert_int_equal(pvcore_guest_evtchn_bind(G, 3000, 0, &H0), 0);
    for (p = 1; p <= 200; p++) {
        sim_2l_raise(&f->sim, p);
    }
    sim_2l_raise(&f->sim, 3000);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 0); /* budget 66 < 200 */
    assert_int_equal(upcall(f, 0), 1);
    assert_int_equal(pending2(f, 66), 0);
    assert_int_equal(pending2(f, 67), 1);
    assert_int_equal(pending2(f, 3000), 1);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 0);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 0);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 1);
    assert_int_equal(R.port[0], 3000);
    for (p = 1; p <= 200; p++) {
        assert_int_equal(pending2(f, p), 0);
    }
    assert_int_equal(upcall(f, 0), 0);
    assert_int_equal(sel(f, 0), 0);
    fx_free(f);
}

/* Ports bound to another vCPU stay pending for it, even in a word both use. */
static void test_2l_vcpus(void **state)
{
    struct fx *f = fx_new(64, 4096);

    (void)state;
    assert_int_equal(pvcore_guest_evtchn_bind(G, 10, 0, &H0), 0);
    f->sim.port_vcpu[11] = 1;
    assert_int_equal(pvcore_guest_evtchn_bind(G, 11, 1, &H0), 0);
    f->sim.port_vcpu[12] = 3;
    assert_int_equal(pvcore_guest_evtchn_bind(G, 12, 3, &H0), 0);
    sim_2l_raise(&f->sim, 11);
    sim_2l_raise(&f->sim, 10);
    sim_2l_raise(&f->sim, 12);
    assert_int_equal(upcall(f, 0), 1);
    assert_int_equal(upcall(f, 1), 1);
    assert_int_equal(upcall(f, 3), 1);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 1);
    assert_int_equal(R.port[0], 10);
    assert_int_equal(pending2(f, 11), 1);
    assert_int_equal(pending2(f, 12), 1);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 3), 1);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 1), 1);
    assert_int_equal(R.port[1], 12);
    assert_int_equal(R.vcpu[1], 3);
    assert_int_equal(R.port[2], 11);
    assert_int_equal(R.vcpu[2], 1);
    /* move: masked meanwhile, EVTCHNOP_bind_vcpu, recorded, unmasked again */
    assert_int_equal(pvcore_guest_evtchn_move(G, 10, 2), 0);
    assert_int_equal(f->sim.port_vcpu[10], 2);
    assert_int_equal(masked2(f, 10), 0);
    sim_2l_raise(&f->sim, 10);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 0);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 2), 1);
    assert_int_equal(pvcore_guest_evtchn_move(G, 10, NV), -PVCORE_EINVAL);
    /* vCPUs from 32 up have no vcpu_info until the kernel gives one */
    fx_free(f);
}

/* Handlers that unbind and bind during the scan, raise ports already scanned, nest. */
static void test_2l_handlers_change_bindings(void **state)
{
    struct fx *f = fx_new(64, 4096);
    const uint32_t got[] = { 20, 21, 50, 90 };

    (void)state;
    f->beh[0].act = A_UNBIND_OTHER; /* 20 unbinds 30, pending later in the scan */
    f->beh[0].other = 30;
    assert_int_equal(pvcore_guest_evtchn_bind(G, 20, 0, &f->h[0]), 0);
    assert_int_equal(pvcore_guest_evtchn_bind(G, 30, 0, &H0), 0);
    f->beh[4].act = A_BIND_OTHER; /* 21 binds 50, pending later in the scan */
    f->beh[4].other = 50;
    assert_int_equal(pvcore_guest_evtchn_bind(G, 21, 0, &f->h[4]), 0);
    f->beh[1].act = A_UNBIND_SELF;
    assert_int_equal(pvcore_guest_evtchn_bind(G, 90, 0, &f->h[1]), 0);
    sim_2l_raise(&f->sim, 20);
    sim_2l_raise(&f->sim, 21);
    sim_2l_raise(&f->sim, 30);
    sim_2l_raise(&f->sim, 50);
    sim_2l_raise(&f->sim, 90);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 4);
    expect_calls(4, got);
    assert_int_equal(pending2(f, 30), 0); /* unbound: cleared, ignored */
    assert_int_equal(pvcore_guest_evtchn_nr_bound(G), 3);
    assert_int_equal(pvcore_guest_evtchn_unbind(G, 90), -PVCORE_ENOENT);
    reset_rec();

    /* A handler raising a port in a word already scanned: the upcall is raised again and
     * the same call takes it. */
    f->beh[2].act = A_RAISE_OTHER;
    f->beh[2].other = 2;
    assert_int_equal(pvcore_guest_evtchn_bind(G, 2, 0, &H0), 0);
    assert_int_equal(pvcore_guest_evtchn_bind(G, 70, 0, &f->h[2]), 0);
    sim_2l_raise(&f->sim, 70);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 2);
    assert_int_equal(R.port[0], 70);
    assert_int_equal(R.port[1], 2);
    reset_rec();

    /* A nested dispatch on the same vCPU is refused; the outer call takes the event. */
    f->beh[3].act = A_NEST;
    f->beh[3].other = 2;
    assert_int_equal(pvcore_guest_evtchn_bind(G, 71, 0, &f->h[3]), 0);
    sim_2l_raise(&f->sim, 71);
    uint32_t seq0 = pvcore_guest_evtchn_dispatch_seq(G, 0);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 2);
    assert_int_equal(f->beh[3].nested_rc, -PVCORE_EBUSY);
    assert_int_equal(f->beh[3].seq_inside, seq0 + 1u); /* odd inside */
    assert_int_equal(pvcore_guest_evtchn_dispatch_seq(G, 0), seq0 + 2u);
    assert_int_equal(R.port[1], 2);
    fx_free(f);
}

/* Hostile 2-level state: selector bits with nothing pending, pending bits beyond the
 * port table, an upcall flag with nothing behind it. */
static void test_2l_hostile(void **state)
{
    struct fx *f = fx_new(64, 100);
    uint32_t *s0 = si32(&f->sim, sel_off(&f->sim));

    (void)state;
    assert_int_equal(pvcore_guest_evtchn_bind(G, 99, 0, &H0), 0);
    s0[0] = s0[1] = UINT32_MAX;
    *vinfo(&f->sim, 0) = 1;
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 0);
    assert_int_equal(sel(f, 0), 0);
    assert_int_equal(upcall(f, 0), 0);
    /* pending beyond the table (port 4095, 2000) */
    memset(f->sim.si + 2048, 0xFF, 512);
    s0[0] = s0[1] = UINT32_MAX;
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 0); /* budget: 66 steps */
    assert_int_equal(upcall(f, 0), 1);
    int n, calls = 0, rounds = 0;
    while ((n = pvcore_guest_evtchn_dispatch(G, 0)) >= 0 && upcall(f, 0) && rounds < 100) {
        calls += n;
        rounds++;
    }
    calls += n > 0 ? n : 0;
    assert_true(rounds < 100);
    assert_int_equal(calls, 1); /* port 99, once */
    uint32_t i;
    for (i = 0; i < 128; i++) {
        assert_int_equal(*si32(&f->sim, 2048u + 4u * i), 0);
    }
    fx_free(f);
}

/* ---- FIFO ------------------------------------------------------------------------------- */

static uint32_t *word(struct fx *f, uint32_t port)
{
    return sim_word(&f->sim, port);
}

static struct fx *fifo_new(uint32_t nr_ports, uint32_t nvcpus)
{
    struct fx *f = fx_new(64, nr_ports);
    uint32_t v, i;

    for (v = 0; v < nvcpus; v++) {
        assert_int_equal(pvcore_guest_evtchn_fifo_init_control(G, v, f->sim.cbpage + 4096u * v + 64u, 100 + v, 64), 0);
        assert_int_equal(f->sim.last_ic.control_gfn, 100 + v);
        assert_int_equal(f->sim.last_ic.offset, 64);
        assert_int_equal(f->sim.last_ic.vcpu, v);
        for (i = 0; i < sizeof(struct pvcore_evtchn_fifo_control_block); i++) {
            assert_int_equal(f->sim.cbpage[4096u * v + 64u + i], 0);
        }
    }
    assert_int_equal(pvcore_guest_evtchn_mode(G), PVCORE_GUEST_EVTCHN_FIFO);
    assert_int_equal(pvcore_guest_evtchn_fifo_expand(G, f->sim.pages[0], 200), 0);
    for (i = 0; i < 1024; i++) {
        assert_int_equal(f->sim.pages[0][i], M_BIT); /* new ports start masked */
    }
    return f;
}

static void bind_open(uint32_t port, uint32_t vcpu, const struct pvcore_guest_evtchn_handler *h)
{
    assert_int_equal(pvcore_guest_evtchn_bind(G, port, vcpu, h), 0);
    assert_int_equal(pvcore_guest_evtchn_unmask(G, port), 0);
}

static void test_fifo_setup(void **state)
{
    struct fx *f = fx_new(64, 4096);
    uint8_t *cb = f->sim.cbpage;

    (void)state;
    assert_int_equal(pvcore_guest_evtchn_fifo_init_control(G, NV, cb, 100, 0), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_fifo_init_control(G, 0, cb + 4, 100, 4), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_fifo_init_control(G, 0, cb + 4032, 100, 4032), -PVCORE_EINVAL);
    f->sim.fifo_enosys = 1;
    assert_int_equal(pvcore_guest_evtchn_fifo_init_control(G, 0, cb, 100, 0), -PVCORE_ENOSYS);
    assert_int_equal(pvcore_guest_evtchn_mode(G), PVCORE_GUEST_EVTCHN_2L); /* stays 2-level */
    f->sim.fifo_enosys = 0;
    assert_int_equal(pvcore_guest_evtchn_fifo_init_control(G, 0, cb + 4024, 100, 4024), 0);
    assert_int_equal(pvcore_guest_evtchn_mode(G), PVCORE_GUEST_EVTCHN_FIFO);
    assert_int_equal(pvcore_guest_evtchn_fifo_init_control(G, 0, cb, 100, 0), -PVCORE_EINVAL); /* has one */
    assert_int_equal(pvcore_guest_evtchn_nr_ports(G), 4096);
    assert_int_equal(pvcore_guest_evtchn_mask_all(G), -PVCORE_EINVAL);
    /* mask/unmask need the port's event word */
    assert_int_equal(pvcore_guest_evtchn_bind(G, 1500, 0, &H0), 0);
    assert_int_equal(pvcore_guest_evtchn_mask(G, 1500), -PVCORE_ENOSPC);
    assert_int_equal(pvcore_guest_evtchn_unmask(G, 1500), -PVCORE_ENOSPC);
    assert_int_equal(pvcore_guest_evtchn_fifo_expand(G, NULL, 200), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_fifo_expand(G, f->sim.pages[0], 999), -PVCORE_EINVAL);
    assert_int_equal(f->sim.narr, 0);
    assert_int_equal(pvcore_guest_evtchn_fifo_expand(G, f->sim.pages[0], 200), 0);
    assert_int_equal(pvcore_guest_evtchn_fifo_expand(G, f->sim.pages[1], 201), 0);
    assert_int_equal(pvcore_guest_evtchn_unmask(G, 1500), 0);
    assert_int_equal(word(f, 1500)[0], 0);
    assert_int_equal(pvcore_guest_evtchn_fifo_expand(G, f->sim.pages[2], 202), 0);
    assert_int_equal(pvcore_guest_evtchn_fifo_expand(G, f->sim.pages[3], 203), 0);
    /* the array covers the 4096-port table: no more pages */
    assert_int_equal(pvcore_guest_evtchn_fifo_expand(G, f->sim.pages[0], 200), -PVCORE_ENOSPC);
    assert_int_equal(pvcore_guest_evtchn_fifo_set_priority(G, 1500, 16), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_fifo_set_priority(G, 0, 1), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_evtchn_fifo_set_priority(G, 1500, 3), 0);
    assert_int_equal(f->sim.prio[1500], 3);
    /* vCPU 1 has no control block: its dispatch finds nothing and clears the upcall */
    *vinfo(&f->sim, 1) = 1;
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 1), 0);
    assert_int_equal(upcall(f, 1), 0);
    fx_free(f);
}

static void test_fifo_order_and_bits(void **state)
{
    struct fx *f = fifo_new(4096, 1);
    const uint32_t order[] = { 9, 3, 700, 5 };
    unsigned i;

    (void)state;
    for (i = 0; i < 4; i++) {
        f->sim.prio[order[i]] = PVCORE_EVTCHN_FIFO_PRIORITY_DEFAULT;
        bind_open(order[i], 0, &H0);
        assert_int_equal(word(f, order[i])[0], 0);
    }
    for (i = 0; i < 4; i++) {
        sim_fifo_raise(&f->sim, order[i]);
    }
    assert_int_equal(*cb_head(&f->sim, 0, 7), 9);
    assert_int_equal(word(f, 9)[0], P_BIT | L_BIT | 3);
    assert_int_equal(*cb_ready(&f->sim, 0), 1u << 7);
    assert_int_equal(upcall(f, 0), 1);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 4);
    expect_calls(4, order);
    for (i = 0; i < 4; i++) {
        assert_int_equal(word(f, order[i])[0], 0); /* unlinked, not pending, LINK 0 */
    }
    assert_int_equal(*cb_ready(&f->sim, 0), 0);
    assert_int_equal(upcall(f, 0), 0);
    /* the queue is empty: the next event is written to HEAD again */
    reset_rec();
    sim_fifo_raise(&f->sim, 700);
    assert_int_equal(*cb_head(&f->sim, 0, 7), 700);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 1);
    assert_int_equal(R.port[0], 700);
    fx_free(f);
}

static void test_fifo_priorities(void **state)
{
    struct fx *f = fifo_new(4096, 1);
    const uint32_t order[] = { 30, 20, 10, 11, 40, 12 };

    (void)state;
    f->sim.prio[10] = f->sim.prio[11] = f->sim.prio[12] = 7;
    f->sim.prio[20] = 2;
    f->sim.prio[30] = 0;
    f->sim.prio[40] = 0;
    f->beh[0].act = A_RAISE_OTHER;
    f->beh[0].other = 40;
    bind_open(10, 0, &H0);
    bind_open(11, 0, &f->h[0]); /* raises 40 (priority 0) while queue 7 still has 12 */
    bind_open(12, 0, &H0);
    bind_open(20, 0, &H0);
    bind_open(30, 0, &H0);
    bind_open(40, 0, &H0);
    sim_fifo_raise(&f->sim, 10);
    sim_fifo_raise(&f->sim, 11);
    sim_fifo_raise(&f->sim, 12);
    sim_fifo_raise(&f->sim, 20);
    sim_fifo_raise(&f->sim, 30);
    assert_int_equal(*cb_ready(&f->sim, 0), (1u << 0) | (1u << 2) | (1u << 7));
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 6);
    expect_calls(6, order);
    assert_int_equal(*cb_ready(&f->sim, 0), 0);
    fx_free(f);
}

static void test_fifo_mask(void **state)
{
    struct fx *f = fifo_new(4096, 1);

    (void)state;
    f->sim.prio[5] = f->sim.prio[6] = 7;
    bind_open(5, 0, &H0);
    bind_open(6, 0, &H0);
    /* masked before the event: not linked, stays pending */
    assert_int_equal(pvcore_guest_evtchn_mask(G, 5), 0);
    sim_fifo_raise(&f->sim, 5);
    assert_int_equal(word(f, 5)[0], P_BIT | M_BIT);
    assert_int_equal(upcall(f, 0), 0);
    f->sim.ncalls = 0;
    assert_int_equal(pvcore_guest_evtchn_unmask(G, 5), 0); /* pending: EVTCHNOP_unmask relinks */
    assert_int_equal(f->sim.ncalls, 1);
    assert_int_equal(f->sim.cmds[0], PVCORE_EVTCHNOP_unmask);
    assert_int_equal(word(f, 5)[0], P_BIT | L_BIT);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 1);
    assert_int_equal(R.port[0], 5);
    reset_rec();
    /* masked while linked: unlinked by the scan, not delivered, PENDING kept */
    sim_fifo_raise(&f->sim, 5);
    sim_fifo_raise(&f->sim, 6);
    assert_int_equal(pvcore_guest_evtchn_mask(G, 5), 0);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 1);
    assert_int_equal(R.port[0], 6);
    assert_int_equal(word(f, 5)[0], P_BIT | M_BIT);
    assert_int_equal(pvcore_guest_evtchn_unmask(G, 5), 0);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 1);
    assert_int_equal(R.port[1], 5);
    assert_int_equal(word(f, 5)[0], 0);
    /* unmask of a port not pending: no hypercall */
    assert_int_equal(pvcore_guest_evtchn_mask(G, 6), 0);
    f->sim.ncalls = 0;
    assert_int_equal(pvcore_guest_evtchn_unmask(G, 6), 0);
    assert_int_equal(f->sim.ncalls, 0);
    assert_int_equal(word(f, 6)[0], 0);
    /* BUSY held forever by a hostile hypervisor: unmask gives up, the word untouched */
    word(f, 6)[0] = M_BIT | B_BIT | L_BIT;
    assert_int_equal(pvcore_guest_evtchn_unmask(G, 6), -PVCORE_EAGAIN);
    assert_int_equal(word(f, 6)[0], M_BIT | B_BIT | L_BIT);
    fx_free(f);
}

static void test_fifo_unbound_and_handlers(void **state)
{
    struct fx *f = fifo_new(4096, 1);
    const uint32_t got[] = { 1, 4 };

    (void)state;
    f->beh[0].act = A_UNBIND_OTHER;
    f->beh[0].other = 3;
    bind_open(1, 0, &f->h[0]);
    assert_int_equal(pvcore_guest_evtchn_unmask(G, 2), 0); /* open but never bound */
    bind_open(3, 0, &H0);
    bind_open(4, 0, &H0);
    sim_fifo_raise(&f->sim, 1);
    sim_fifo_raise(&f->sim, 2);
    sim_fifo_raise(&f->sim, 3);
    sim_fifo_raise(&f->sim, 4);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 2);
    expect_calls(2, got);
    assert_int_equal(word(f, 2)[0], 0); /* unlinked and cleared */
    assert_int_equal(word(f, 3)[0], 0);
    /* a handler that unbinds itself and a nested dispatch */
    reset_rec();
    f->beh[1].act = A_NEST;
    f->beh[1].other = 4;
    assert_int_equal(pvcore_guest_evtchn_bind(G, 3, 0, &f->h[1]), 0);
    sim_fifo_raise(&f->sim, 3);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 2);
    assert_int_equal(f->beh[1].nested_rc, -PVCORE_EBUSY);
    assert_int_equal(R.port[1], 4);
    fx_free(f);
}

static void test_fifo_vcpus(void **state)
{
    struct fx *f = fifo_new(4096, 3);

    (void)state;
    f->sim.port_vcpu[8] = 2;
    f->sim.port_vcpu[9] = 0;
    f->sim.prio[8] = f->sim.prio[9] = 7;
    bind_open(8, 2, &H0);
    bind_open(9, 0, &H0);
    sim_fifo_raise(&f->sim, 8);
    sim_fifo_raise(&f->sim, 9);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 1), 0);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 1);
    assert_int_equal(R.port[0], 9);
    assert_int_equal(word(f, 8)[0], P_BIT | L_BIT);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 2), 1);
    assert_int_equal(R.port[1], 8);
    assert_int_equal(R.vcpu[1], 2);
    /* vCPU 3 never registered a control block */
    *vinfo(&f->sim, 3) = 1;
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 3), 0);
    fx_free(f);
}

/* Hostile links: out of range, to a port with no event word, to itself, in a cycle, and
 * a word re-linked to itself by every delivery. Each scan ends, touches no memory outside
 * the array, and delivers each event at most once per pending bit. */
static void test_fifo_hostile_links(void **state)
{
    struct fx *f = fifo_new(2048, 1); /* one page: ports 1..1023 have words */
    uint32_t *ready = cb_ready(&f->sim, 0);
    const uint32_t links[] = { LINK_MASK, 2048, 1024, 0x1FFFF, 5 /* unbound, no L */ };
    unsigned i;

    (void)state;
    bind_open(1, 0, &H0);
    bind_open(2, 0, &H0);
    bind_open(3, 0, &H0);
    for (i = 0; i < 5; i++) {
        reset_rec();
        word(f, 1)[0] = P_BIT | L_BIT | links[i];
        *cb_head(&f->sim, 0, 4) = 1;
        *ready = 1u << 4;
        assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 1);
        assert_int_equal(R.port[0], 1);
        assert_int_equal(word(f, 1)[0], 0);
        assert_int_equal(*ready, 0);
    }
    /* HEAD out of range, HEAD 0, READY for queues above 15 */
    reset_rec();
    *cb_head(&f->sim, 0, 4) = 70000;
    *cb_head(&f->sim, 0, 5) = 0;
    *ready = (1u << 4) | (1u << 5) | 0xFFFF0000u;
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 0);
    assert_int_equal(*ready, 0);
    /* self-loop */
    word(f, 2)[0] = P_BIT | L_BIT | 2;
    *cb_head(&f->sim, 0, 4) = 2;
    *ready = 1u << 4;
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 1);
    assert_int_equal(word(f, 2)[0], 0);
    /* cycle 1 -> 2 -> 3 -> 1 */
    reset_rec();
    word(f, 1)[0] = P_BIT | L_BIT | 2;
    word(f, 2)[0] = P_BIT | L_BIT | 3;
    word(f, 3)[0] = P_BIT | L_BIT | 1;
    *cb_head(&f->sim, 0, 4) = 1;
    *ready = 1u << 4;
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 3);
    assert_int_equal(word(f, 1)[0], 0);
    assert_int_equal(word(f, 2)[0], 0);
    assert_int_equal(word(f, 3)[0], 0);
    assert_int_equal(*ready, 0);
    /* a word the hypervisor re-links to itself on every delivery: bounded by the budget,
     * READY and the upcall left set for the next call */
    reset_rec();
    f->beh[0].act = A_RELINK_SELF;
    f->sim.prio[7] = 4;
    bind_open(7, 0, &f->h[0]);
    word(f, 7)[0] = P_BIT | L_BIT | 7;
    *cb_head(&f->sim, 0, 4) = 7;
    *ready = 1u << 4;
    int n = pvcore_guest_evtchn_dispatch(G, 0);
    assert_true(n > 1);
    assert_true(n <= 2 * 4 + 64);
    assert_int_equal(upcall(f, 0), 1);
    assert_true(*ready & (1u << 4));
    fx_free(f);
}

/* A queue that grows while it is consumed: the hypervisor links onto the tail the guest
 * still holds (seen through LINK), and writes HEAD after the guest took the last one. */
static void test_fifo_concurrent_link(void **state)
{
    struct fx *f = fifo_new(4096, 1);
    const uint32_t order[] = { 1, 2, 3 };

    (void)state;
    f->sim.prio[1] = f->sim.prio[2] = f->sim.prio[3] = 7;
    f->beh[0].act = A_RAISE_OTHER;
    f->beh[0].other = 3; /* raised while 1 is delivered: linked after 2 */
    bind_open(1, 0, &f->h[0]);
    bind_open(2, 0, &H0);
    bind_open(3, 0, &H0);
    sim_fifo_raise(&f->sim, 1);
    sim_fifo_raise(&f->sim, 2);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 3);
    expect_calls(3, order);
    /* raised during the last handler of a queue (already unlinked): HEAD and READY */
    reset_rec();
    f->beh[0].count = 0;
    f->beh[0].other = 2;
    sim_fifo_raise(&f->sim, 1);
    assert_int_equal(pvcore_guest_evtchn_dispatch(G, 0), 2);
    assert_int_equal(R.port[1], 2);
    assert_int_equal(*cb_ready(&f->sim, 0), 0);
    assert_int_equal(upcall(f, 0), 0);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_args),
        cmocka_unit_test(test_bind_rules),
        cmocka_unit_test(test_2l_basic64),
        cmocka_unit_test(test_2l_basic32),
        cmocka_unit_test(test_2l_mask64),
        cmocka_unit_test(test_2l_mask32),
        cmocka_unit_test(test_2l_round_robin),
        cmocka_unit_test(test_2l_flood),
        cmocka_unit_test(test_2l_budget_resume),
        cmocka_unit_test(test_2l_vcpus),
        cmocka_unit_test(test_2l_handlers_change_bindings),
        cmocka_unit_test(test_2l_hostile),
        cmocka_unit_test(test_fifo_setup),
        cmocka_unit_test(test_fifo_order_and_bits),
        cmocka_unit_test(test_fifo_priorities),
        cmocka_unit_test(test_fifo_mask),
        cmocka_unit_test(test_fifo_unbound_and_handlers),
        cmocka_unit_test(test_fifo_vcpus),
        cmocka_unit_test(test_fifo_hostile_links),
        cmocka_unit_test(test_fifo_concurrent_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
