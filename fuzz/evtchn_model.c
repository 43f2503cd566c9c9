/*
 * evtchn_model: Xen's 2-level event channels as a guest and a toolstack see them, written
 * from the ABI alone (see evtchn_model.h). Each function follows the order in which Xen's
 * event_channel.c checks its arguments; where the library documents a choice of its own
 * (no physical IRQs, no pause requirement for a foreign reset), the model follows the
 * documented rule in <pvcore/evtchn.h>.
 */
#include "evtchn_model.h"

#include <string.h>

/* ---- bitmaps ---------------------------------------------------------------------------- */

static int bit_get(const uint8_t *b, uint32_t n)
{
    return (b[n >> 3] >> (n & 7u)) & 1;
}

/* Returns the old value (Xen's test_and_set_bit / test_and_clear_bit). */
static int bit_put(uint8_t *b, uint32_t n, int set)
{
    int old = bit_get(b, n);

    if (set) {
        b[n >> 3] = (uint8_t)(b[n >> 3] | (1u << (n & 7u)));
    } else {
        b[n >> 3] = (uint8_t)(b[n >> 3] & ~(1u << (n & 7u)));
    }
    return old;
}

uint32_t em_word_bits(const struct em_dom *d)
{
    return d->is32 ? 32u : 64u;
}

uint32_t em_bitmap_bytes(const struct em_dom *d)
{
    /* sizeof(unsigned long) * 8 words of sizeof(unsigned long) * 8 bits, in bytes */
    return em_word_bits(d) * em_word_bits(d) / 8u;
}

uint32_t em_sel_offset(const struct em_dom *d)
{
    /* after the two flag bytes, at the alignment of an unsigned long */
    return d->is32 ? 4u : 8u;
}

int em_virq_global(uint32_t virq)
{
    /* Xen's per-vCPU VIRQs: TIMER 0, DEBUG 1, XENOPROF 7, XENPMU 13 */
    return !(virq == 0 || virq == 1 || virq == 7 || virq == 13);
}

/* ---- setup ------------------------------------------------------------------------------ */

void em_init(struct em *m)
{
    memset(m, 0, sizeof(*m));
}

void em_domain(struct em *m, unsigned id, int priv, int is32, uint32_t nvcpus, uint32_t nports)
{
    struct em_dom *d = &m->d[id];

    memset(d, 0, sizeof(*d));
    d->exists = 1;
    d->priv = priv;
    d->is32 = is32;
    d->nvcpus = nvcpus;
    /* a table larger than the width's 2-level limit is used only up to it */
    d->nports = nports > em_word_bits(d) * em_word_bits(d) ? em_word_bits(d) * em_word_bits(d) : nports;
}

/* ---- delivery --------------------------------------------------------------------------- */

static void mark_events_pending(struct em *m, struct em_dom *d, uint32_t vcpu, uint32_t port)
{
    uint8_t *vi = d->vi[vcpu];

    if (bit_put(vi + em_sel_offset(d), port / em_word_bits(d), 1)) {
        return;
    }
    if (!bit_put(vi, 0, 1)) {
        m->kicks++; /* vcpu_kick() */
    }
}

/* evtchn_2l_set_pending() */
static void set_pending(struct em *m, struct em_dom *d, uint32_t port, uint32_t vcpu)
{
    if (bit_put(d->pending, port, 1)) {
        return;
    }
    if (bit_get(d->mask, port)) {
        return;
    }
    mark_events_pending(m, d, vcpu, port);
}

/* ---- ports ------------------------------------------------------------------------------ */

static struct em_dom *lookup(struct em *m, unsigned caller, uint16_t id)
{
    if (id == EM_DOMID_SELF) {
        return &m->d[caller];
    }
    if (id < EM_NDOM && m->d[id].exists) {
        return &m->d[id];
    }
    return NULL;
}

static unsigned id_of(const struct em *m, const struct em_dom *d)
{
    return (unsigned)(d - m->d);
}

/* get_free_port(): the lowest free port, or -EINVAL (dying), -ENOSPC. */
static int64_t free_port(const struct em_dom *d)
{
    uint32_t p;

    if (d->dying) {
        return -EM_EINVAL;
    }
    for (p = 1; p < d->nports; p++) {
        if (!d->port[p].used) {
            return p;
        }
    }
    return -EM_ENOSPC;
}

static void take(struct em_dom *d, uint32_t p, uint8_t stat, uint32_t vcpu)
{
    memset(&d->port[p], 0, sizeof(d->port[p]));
    d->port[p].used = 1;
    d->port[p].stat = stat;
    d->port[p].vcpu = vcpu;
}

/* evtchn_free(): pending cleared (so a re-bind starts clean), notify vCPU back to 0. */
static void release(struct em_dom *d, uint32_t p)
{
    memset(&d->port[p], 0, sizeof(d->port[p]));
    (void)bit_put(d->pending, p, 0);
}

int em_alloc_unbound(struct em *m, unsigned caller, uint16_t dom, uint16_t remote, uint32_t *port)
{
    struct em_dom *d = lookup(m, caller, dom);
    int64_t p;

    if (d == NULL) {
        return -EM_ESRCH;
    }
    if (remote == EM_DOMID_SELF) {
        remote = (uint16_t)caller;
    }
    p = free_port(d);
    if (p < 0) {
        return (int)p;
    }
    if (d != &m->d[caller] && !m->d[caller].priv) {
        return -EM_EPERM; /* xsm_evtchn_unbound, after the port search */
    }
    take(d, (uint32_t)p, EM_UNBOUND, 0);
    d->port[p].rdom = remote;
    *port = (uint32_t)p;
    return 0;
}

int em_bind_interdomain(struct em *m, unsigned caller, uint16_t rdom, uint32_t rport, uint32_t *port)
{
    struct em_dom *ld = &m->d[caller];
    struct em_dom *rd = lookup(m, caller, rdom == EM_DOMID_SELF ? (uint16_t)caller : rdom);
    int64_t p;

    if (rd == NULL) {
        return -EM_ESRCH;
    }
    p = free_port(ld);
    if (p < 0) {
        return (int)p;
    }
    if (rport >= rd->nports || !rd->port[rport].used || rd->port[rport].stat != EM_UNBOUND ||
        rd->port[rport].rdom != caller) {
        return -EM_EINVAL;
    }
    take(ld, (uint32_t)p, EM_INTERDOMAIN, 0);
    ld->port[p].rdom = (uint16_t)id_of(m, rd);
    ld->port[p].rport = rport;
    rd->port[rport].stat = EM_INTERDOMAIN; /* keeps its notify vCPU */
    rd->port[rport].rdom = (uint16_t)caller;
    rd->port[rport].rport = (uint32_t)p;
    /* events sent to the unbound end were dropped: the new end starts pending */
    set_pending(m, ld, (uint32_t)p, 0);
    *port = (uint32_t)p;
    return 0;
}

int em_bind_virq(struct em *m, unsigned caller, uint32_t virq, uint32_t vcpu, uint32_t *port)
{
    struct em_dom *d = &m->d[caller];
    int64_t p;

    if (virq >= EM_NR_VIRQS) {
        return -EM_EINVAL;
    }
    if (em_virq_global(virq) && vcpu != 0) {
        return -EM_EINVAL;
    }
    if (vcpu >= d->nvcpus) {
        return -EM_ENOENT;
    }
    if (d->virq_port[vcpu][virq] != 0) {
        return -EM_EEXIST;
    }
    p = free_port(d);
    if (p < 0) {
        return (int)p;
    }
    take(d, (uint32_t)p, EM_VIRQ, vcpu);
    d->port[p].virq = virq;
    d->virq_port[vcpu][virq] = (uint32_t)p;
    *port = (uint32_t)p;
    return 0;
}

int em_bind_ipi(struct em *m, unsigned caller, uint32_t vcpu, uint32_t *port)
{
    struct em_dom *d = &m->d[caller];
    int64_t p;

    if (vcpu >= d->nvcpus) {
        return -EM_ENOENT;
    }
    p = free_port(d);
    if (p < 0) {
        return (int)p;
    }
    take(d, (uint32_t)p, EM_IPI, vcpu);
    *port = (uint32_t)p;
    return 0;
}

int em_bind_pirq(struct em *m, unsigned caller)
{
    return m->d[caller].priv ? -EM_ENOSYS : -EM_EPERM;
}

static int close_port(struct em *m, struct em_dom *d, uint32_t port)
{
    struct em_port *c;

    if (port >= d->nports || !d->port[port].used) {
        return -EM_EINVAL; /* out of range, free, reserved (0) */
    }
    c = &d->port[port];
    switch (c->stat) {
    case EM_VIRQ: {
        uint32_t v;
        for (v = 0; v < d->nvcpus; v++) {
            if (d->virq_port[v][c->virq] == port) {
                d->virq_port[v][c->virq] = 0;
            }
        }
        break;
    }
    case EM_INTERDOMAIN: {
        struct em_dom *peer = &m->d[c->rdom];
        struct em_port *r = &peer->port[c->rport];

        r->stat = EM_UNBOUND;
        r->rdom = (uint16_t)id_of(m, d);
        r->rport = 0;
        break;
    }
    default:
        break;
    }
    release(d, port);
    return 0;
}

int em_close(struct em *m, unsigned caller, uint32_t port)
{
    return close_port(m, &m->d[caller], port);
}

int em_send(struct em *m, unsigned caller, uint32_t port)
{
    struct em_dom *d = &m->d[caller];
    const struct em_port *c;

    if (port >= d->nports || !d->port[port].used) {
        return -EM_EINVAL;
    }
    c = &d->port[port];
    switch (c->stat) {
    case EM_INTERDOMAIN: {
        struct em_dom *peer = &m->d[c->rdom];
        set_pending(m, peer, c->rport, peer->port[c->rport].vcpu);
        return 0;
    }
    case EM_IPI:
        set_pending(m, d, port, c->vcpu);
        return 0;
    case EM_UNBOUND:
        return 0; /* silently dropped */
    default:
        return -EM_EINVAL;
    }
}

static void put_le(uint8_t *b, uint32_t v, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
}

int em_status(struct em *m, unsigned caller, uint8_t out[24])
{
    uint16_t dom = (uint16_t)(out[0] | out[1] << 8);
    uint32_t port = (uint32_t)out[4] | (uint32_t)out[5] << 8 | (uint32_t)out[6] << 16 | (uint32_t)out[7] << 24;
    struct em_dom *d = lookup(m, caller, dom);
    const struct em_port *c;

    if (d == NULL) {
        return -EM_ESRCH;
    }
    if (port >= d->nports) {
        return -EM_EINVAL;
    }
    if (d != &m->d[caller] && !m->d[caller].priv) {
        return -EM_EPERM; /* xsm_evtchn_status, after the port check */
    }
    c = &d->port[port];
    put_le(out + 8, c->used ? c->stat : (uint32_t)EM_CLOSED, 4);
    put_le(out + 12, c->vcpu, 4);
    if (!c->used) {
        return 0;
    }
    switch (c->stat) {
    case EM_UNBOUND:
        put_le(out + 16, c->rdom, 2);
        break;
    case EM_INTERDOMAIN:
        put_le(out + 16, c->rdom, 2);
        put_le(out + 20, c->rport, 4);
        break;
    case EM_VIRQ:
        put_le(out + 16, c->virq, 4);
        break;
    default:
        break;
    }
    return 0;
}

int em_bind_vcpu(struct em *m, unsigned caller, uint32_t port, uint32_t vcpu)
{
    struct em_dom *d = &m->d[caller];
    struct em_port *c;

    if (vcpu >= d->nvcpus) {
        return -EM_ENOENT;
    }
    if (port >= d->nports || !d->port[port].used) {
        return -EM_EINVAL;
    }
    c = &d->port[port];
    switch (c->stat) {
    case EM_VIRQ:
        if (!em_virq_global(c->virq)) {
            return -EM_EINVAL;
        }
        c->vcpu = vcpu;
        return 0;
    case EM_UNBOUND:
    case EM_INTERDOMAIN:
    case EM_PIRQ:
        c->vcpu = vcpu;
        return 0;
    default:
        return -EM_EINVAL;
    }
}

int em_unmask(struct em *m, unsigned caller, uint32_t port)
{
    struct em_dom *d = &m->d[caller];

    if (port >= d->nports) {
        return -EM_EINVAL;
    }
    if (bit_put(d->mask, port, 0) && bit_get(d->pending, port)) {
        mark_events_pending(m, d, d->port[port].vcpu, port);
    }
    return 0;
}

uint32_t em_open_ports(const struct em *m, unsigned dom)
{
    const struct em_dom *d = &m->d[dom];
    uint32_t p, n = 0;

    for (p = 1; p < d->nports; p++) {
        n += d->port[p].used;
    }
    return n;
}

/* Closes up to `limit` open ports (0: all) in port order; returns how many stay open. */
static uint32_t close_some(struct em *m, struct em_dom *d, uint32_t limit)
{
    uint32_t p, closed = 0;

    for (p = 1; p < d->nports; p++) {
        if (!d->port[p].used) {
            continue;
        }
        if (limit != 0 && closed == limit) {
            break;
        }
        (void)close_port(m, d, p);
        closed++;
    }
    return em_open_ports(m, id_of(m, d));
}

int em_reset(struct em *m, unsigned caller, uint16_t dom, uint32_t step_limit, int *more)
{
    struct em_dom *d = lookup(m, caller, dom);

    *more = 0;
    if (d == NULL) {
        return -EM_ESRCH;
    }
    if (d != &m->d[caller] && !m->d[caller].priv) {
        return -EM_EPERM;
    }
    *more = close_some(m, d, step_limit) != 0;
    return 0;
}

int em_other_cmd(uint32_t cmd)
{
    (void)cmd;
    return -EM_ENOSYS;
}

/* ---- the embedder's side ---------------------------------------------------------------- */

int em_embed_alloc_unbound(struct em *m, unsigned dom, uint16_t remote, uint32_t *port)
{
    struct em_dom *d = &m->d[dom];
    int64_t p;

    if (remote == EM_DOMID_SELF) {
        return -EM_EINVAL;
    }
    p = free_port(d);
    if (p < 0) {
        return (int)p;
    }
    take(d, (uint32_t)p, EM_UNBOUND, 0);
    d->port[p].rdom = remote;
    *port = (uint32_t)p;
    return 0;
}

int em_raise_virq(struct em *m, unsigned dom, uint32_t vcpu, uint32_t virq)
{
    struct em_dom *d = &m->d[dom];
    uint32_t port;

    if (virq >= EM_NR_VIRQS) {
        return -EM_EINVAL;
    }
    port = d->virq_port[em_virq_global(virq) ? 0 : vcpu][virq];
    if (port == 0) {
        return -EM_ENOENT;
    }
    set_pending(m, d, port, d->port[port].vcpu);
    return 0;
}

int em_upcall_pending(const struct em *m, unsigned dom, uint32_t vcpu)
{
    return m->d[dom].vi[vcpu][0] != 0 && m->d[dom].vi[vcpu][1] == 0;
}

uint32_t em_destroy_step(struct em *m, unsigned dom, uint32_t limit)
{
    m->d[dom].dying = 1;
    return close_some(m, &m->d[dom], limit);
}

void em_gone(struct em *m, unsigned dom)
{
    m->d[dom].exists = 0;
}

/* ---- guest writes ----------------------------------------------------------------------- */

void em_guest_bit(struct em *m, unsigned dom, int which_mask, uint32_t bit, int set)
{
    struct em_dom *d = &m->d[dom];

    (void)bit_put(which_mask ? d->mask : d->pending, bit % (em_bitmap_bytes(d) * 8u), set);
}

void em_guest_vi(struct em *m, unsigned dom, uint32_t vcpu, uint32_t off, uint8_t val)
{
    m->d[dom].vi[vcpu][off % 16u] = val;
}
