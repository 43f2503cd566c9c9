/* Shared by the event-channel advisory regressions: domains of the pvtest fixture with a
 * guest address space on every vCPU, a shared-info page and a port table; EVTCHNOP issued
 * from a chosen vCPU through pvcore_hypercall() as a guest would; and a snapshot of every
 * port's status and of the shared-info page, to assert that a refused attack changed
 * nothing. */
#ifndef PVCORE_TESTS_REGRESS_EVTENV_H
#define PVCORE_TESTS_REGRESS_EVTENV_H

#include "regress.h"
#include "guestenv.h"

#include <pvcore/evtchn.h>
#include <pvcore/hypercall.h>

#define SELF PVCORE_DOMID_SELF

struct edom {
    struct env e;
    uint64_t shared;
    void *table;
    uint32_t nr_ports;
};

static inline void edom_init(struct edom *x, struct pvtest *t, int d, uint32_t nr_ports)
{
    size_t sz = pvcore_evtchn_table_size(nr_ports);
    uint32_t v, nv = d == 2 ? 2u : 4u;

    memset(x, 0, sizeof(*x));
    env_init(&x->e, t, d);
    for (v = 1; v < nv; v++) {
        assert_int_equal(pvcore_mmuext_op(pvcore_domain_vcpu(t->dom[d], v),
                                          &(struct pvcore_mmuext_req){ PVCORE_MMUEXT_NEW_BASEPTR, 0,
                                                                       x->e.root, 0 },
                                          1, NULL, PVCORE_DOMID_SELF),
                         0);
    }
    x->shared = alloc_frame(t, d);
    assert_int_equal(pvcore_domain_set_shared_info(t->dom[d], pvcore_mfn(x->shared)), 0);
    assert_true(sz != 0);
    x->table = aligned_alloc(8, (sz + 7u) & ~(size_t)7u);
    assert_non_null(x->table);
    assert_int_equal(pvcore_domain_set_evtchn_table(t->dom[d], x->table, sz), 0);
    x->nr_ports = pvcore_evtchn_nr_ports(t->dom[d]);
}

static inline void edom_free(struct edom *x)
{
    free(x->table);
    x->table = NULL;
}

/* One event_channel_op from vCPU v, its argument in v's own data page (so threads acting
 * as different vCPUs never share bytes). *restarted counts continuations; when `once`,
 * the first continuation is returned as -PVCORE_ERESTART instead of being re-executed. */
static inline int64_t evop_v(struct edom *x, uint32_t v, uint32_t cmd, void *op, size_t len,
                             int once)
{
    uint64_t va = VA + 4096u * (1u + v);
    struct pvcore_hypercall_regs r;
    int rc;

    if (op != NULL) {
        gwrite(&x->e, va, op, len);
    }
    memset(&r, 0, sizeof(r));
    r.nr = PVCORE_HYPERVISOR_event_channel_op;
    r.arg[0] = cmd;
    r.arg[1] = op != NULL ? va : UNMAPPED;
    while ((rc = pvcore_hypercall(pvcore_domain_vcpu(x->e.t->dom[x->e.d], v), &r)) ==
           PVCORE_HYPERCALL_RESTART) {
        if (once) {
            return -PVCORE_ERESTART;
        }
    }
    if (rc != PVCORE_HYPERCALL_DONE) {
        return 1; /* never an errno: fails any assertion on the result */
    }
    if (op != NULL) {
        gread(&x->e, va, op, len);
    }
    return x->e.is32 ? (int64_t)(int32_t)(uint32_t)r.ret : (int64_t)r.ret;
}

static inline int64_t evop0(struct edom *x, uint32_t cmd, void *op, size_t len)
{
    return evop_v(x, 0, cmd, op, len, 0);
}

static inline int64_t e_port_op(struct edom *x, uint32_t v, uint32_t cmd, uint32_t port)
{
    return evop_v(x, v, cmd, &port, sizeof(port), 0);
}

static inline int64_t e_alloc_unbound(struct edom *x, uint16_t remote, uint32_t *port)
{
    struct pvcore_evtchn_alloc_unbound a = { SELF, remote, 0xDEAD };
    int64_t rc = evop0(x, PVCORE_EVTCHNOP_alloc_unbound, &a, sizeof(a));

    if (port != NULL) {
        *port = a.port;
    }
    return rc;
}

static inline int64_t e_bind_inter(struct edom *x, uint16_t rdom, uint32_t rport, uint32_t *lport)
{
    struct pvcore_evtchn_bind_interdomain b = { rdom, rport, 0xDEAD };
    int64_t rc = evop0(x, PVCORE_EVTCHNOP_bind_interdomain, &b, sizeof(b));

    if (lport != NULL) {
        *lport = b.local_port;
    }
    return rc;
}

static inline int64_t e_bind_ipi(struct edom *x, uint32_t v, uint32_t *port)
{
    struct pvcore_evtchn_bind_ipi b = { v, 0xDEAD };
    int64_t rc = evop0(x, PVCORE_EVTCHNOP_bind_ipi, &b, sizeof(b));

    if (port != NULL) {
        *port = b.port;
    }
    return rc;
}

static inline int64_t e_status(struct edom *x, uint16_t dom, uint32_t port, struct pvcore_evtchn_status *st)
{
    memset(st, 0, sizeof(*st));
    st->dom = dom;
    st->port = port;
    return evop0(x, PVCORE_EVTCHNOP_status, st, sizeof(*st));
}

static inline uint32_t e_state(struct edom *x, uint32_t port)
{
    struct pvcore_evtchn_status st;

    assert_int_equal(e_status(x, SELF, port, &st), 0);
    return st.status;
}

static inline uint8_t *e_si(struct edom *x)
{
    return (uint8_t *)frame_ptr(x->e.t, x->shared);
}

static inline int e_pending(struct edom *x, uint32_t port)
{
    return (e_si(x)[2048 + port / 8] >> (port % 8)) & 1;
}

/* Every port's status and the whole shared-info page of one domain. */
struct esnap {
    struct pvcore_evtchn_status st[4096];
    uint8_t si[4096];
};

static inline struct esnap *esnapshot(struct edom *x)
{
    struct esnap *s = calloc(1, sizeof(*s));
    uint32_t p;

    assert_non_null(s);
    for (p = 0; p < x->nr_ports; p++) {
        assert_int_equal(e_status(x, SELF, p, &s->st[p]), 0);
    }
    memcpy(s->si, e_si(x), 4096);
    return s;
}

static inline void assert_same_ports(struct edom *x, const struct esnap *s)
{
    struct esnap *now = esnapshot(x);
    uint32_t p;

    for (p = 0; p < x->nr_ports; p++) {
        if (memcmp(&now->st[p], &s->st[p], sizeof(now->st[p])) != 0) {
            fprintf(stderr, "dom %d port %u changed: status %u -> %u\n", x->e.d, p, s->st[p].status,
                    now->st[p].status);
            fail();
        }
    }
    assert_memory_equal(now->si, s->si, 4096);
    free(now);
}

/* Port numbers a hostile guest tries: reserved 0, the first ones past the table, the
 * 2-level limits, and values negative as an int. */
static const uint32_t hostile_ports[] = { 0u, 4096u, 4097u, 0x7FFFFFFFu, 0x80000000u,
                                          0xFFFFFFFEu, 0xFFFFFFFFu };

#endif
