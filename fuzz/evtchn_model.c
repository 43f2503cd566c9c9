/*
 * evtchn_model: Xen's event channels (2-level and FIFO ABIs) as a guest and a toolstack
 * see them, written from the ABI alone (see evtchn_model.h). Each function follows the
 * order in which Xen checks its arguments; where the library documents a choice of its
 * own (no physical IRQs, no pause requirement for a foreign reset), the model follows the
 * documented rule in <pvcore/evtchn.h>.
 *
 * FIFO: every access to a control block or an event word goes through the frame images,
 * so blocks and pages that overlap (the ABI does not forbid it) behave as in memory. The
 * guest's own writes are applied to the images by the caller. Two points where Xen's code
 * does something no rule asks for are modelled as the library documents them instead (see
 * the report that came with this model): the "pending while the array had no word" flag
 * is forgotten when a port is freed, and at the switch only bound ports carry their
 * 2-level pending bit over (Xen's flag is never cleared and is taken for free ports too).
 */
#include "evtchn_model.h"

#include <string.h>

/*
 * Where a port gets the default FIFO priority. Xen: at every bind (evtchn_port_init()),
 * and a freed port keeps its priority until then. The library (as of this model) resets
 * it when the port is freed and not at the bind, so set_priority on a free port survives
 * the bind: a disagreement reported to the library's owner (reproducers in
 * corpus/evtchn-lib-bugs/). Building with -DEM_LIB_PRIORITY_AT_CLOSE=1 makes the model
 * follow the library there, to fuzz past it; the default is Xen's rule.
 */
#ifndef EM_LIB_PRIORITY_AT_CLOSE
#define EM_LIB_PRIORITY_AT_CLOSE 0
#endif

/* ---- bitmaps ---------------------------------------------------------------------------- */

uint32_t em_ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void em_st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

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

static uint8_t *pending_of(struct em_dom *d)
{
    return d->mem[EM_SHARED] + 2048u;
}

static uint8_t *mask_of(struct em_dom *d)
{
    return d->mem[EM_SHARED] + 2048u + em_bitmap_bytes(d);
}

static uint8_t *vi_of(struct em_dom *d, uint32_t vcpu)
{
    return d->mem[EM_SHARED] + 64u * vcpu; /* all the fuzzed vCPUs are below 32 */
}

static uint32_t limit_2l(const struct em_dom *d)
{
    return em_word_bits(d) * em_word_bits(d);
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

void em_domain(struct em *m, unsigned id, int priv, int is32, uint32_t nvcpus, uint32_t nports,
               uint64_t mfn0, uint32_t typed)
{
    uint32_t p;

    struct em_dom *d = &m->d[id];

    memset(d, 0, sizeof(*d));
    d->exists = 1;
    d->priv = priv;
    d->is32 = is32;
    d->nvcpus = nvcpus;
    /* a table larger than the width's 2-level limit is used only up to it */
    d->table_ports = nports;
    d->nports = nports > limit_2l(d) ? limit_2l(d) : nports;
    d->mfn0 = mfn0;
    d->typed = typed;
    for (p = 0; p < EM_MAX_PORTS; p++) {
        d->port[p].priority = EM_FIFO_PRIO_DEFAULT;
    }
}

/* ---- delivery --------------------------------------------------------------------------- */

/* vcpu_mark_events_pending(): upcall_pending bit 0, and a kick if it was clear */
static void mark_vcpu(struct em *m, struct em_dom *d, uint32_t vcpu)
{
    if (!bit_put(vi_of(d, vcpu), 0, 1)) {
        m->kicks++; /* vcpu_kick() */
    }
}

static void mark_events_pending(struct em *m, struct em_dom *d, uint32_t vcpu, uint32_t port)
{
    if (bit_put(vi_of(d, vcpu) + em_sel_offset(d), port / em_word_bits(d), 1)) {
        return;
    }
    mark_vcpu(m, d, vcpu);
}

/* evtchn_2l_set_pending() */
static void l2_set_pending(struct em *m, struct em_dom *d, uint32_t port, uint32_t vcpu)
{
    if (bit_put(pending_of(d), port, 1)) {
        return;
    }
    if (bit_get(mask_of(d), port)) {
        return;
    }
    mark_events_pending(m, d, vcpu, port);
}

/* ---- FIFO delivery ------------------------------------------------------------------------ */

static uint8_t *word_of(struct em_dom *d, uint32_t port)
{
    if (port / 1024u >= d->npages) {
        return NULL;
    }
    return d->mem[d->page[port / 1024u]] + 4u * (port % 1024u);
}

static uint8_t *cb_of(struct em_dom *d, uint32_t vcpu, uint32_t field)
{
    if (!d->fv[vcpu].has) {
        return NULL;
    }
    return d->mem[d->fv[vcpu].frame] + d->fv[vcpu].off + field;
}

/* evtchn_fifo_set_pending(), with no other CPU about: every compare-and-exchange the
 * hypervisor tries succeeds the first time. */
static void fifo_set_pending(struct em *m, struct em_dom *d, uint32_t port, uint32_t vcpu)
{
    struct em_port *c = &d->port[port];
    struct em_fifo_vcpu *fv = &d->fv[vcpu];
    uint8_t *w = word_of(d, port);
    uint32_t ew, q, tailp;
    int linked = 0;

    if (w == NULL) {
        c->held = 1; /* raised when the page arrives */
        return;
    }
    ew = em_ld32(w) | EM_EW_PENDING;
    em_st32(w, ew);
    if (!fv->has) {
        return; /* no control block: the event stays pending, unlinked (XSA-107) */
    }
    if (ew & (EM_EW_MASKED | EM_EW_LINKED)) {
        return;
    }
    em_st32(w, ew | EM_EW_LINKED);
    /* It was the tail of the queue it was last on: that queue is empty now. */
    if (d->fv[c->last_vcpu].tail[c->last_prio] == port) {
        d->fv[c->last_vcpu].tail[c->last_prio] = 0;
    }
    q = c->priority;
    c->last_vcpu = vcpu;
    c->last_prio = (uint8_t)q;
    tailp = fv->tail[q];
    if (tailp != 0) {
        uint8_t *tw = word_of(d, tailp);
        uint32_t t = tw != NULL ? em_ld32(tw) : 0u;

        if (t & EM_EW_LINKED) {
            em_st32(tw, (t & ~(EM_EW_BUSY | EM_EW_LINK)) | port);
            linked = 1;
        }
    }
    if (!linked) {
        em_st32(cb_of(d, vcpu, 8u + 4u * q), port);
    }
    fv->tail[q] = port;
    if (!linked && !bit_put(cb_of(d, vcpu, 0), q, 1)) {
        mark_vcpu(m, d, vcpu);
    }
}

static void set_pending(struct em *m, struct em_dom *d, uint32_t port, uint32_t vcpu)
{
    if (d->fifo) {
        fifo_set_pending(m, d, port, vcpu);
    } else {
        l2_set_pending(m, d, port, vcpu);
    }
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

/* A port's binding fields cleared; the FIFO queue it was last linked on is kept. */
static void unbind(struct em_port *c)
{
    c->used = 0;
    c->stat = EM_CLOSED;
    c->rdom = 0;
    c->rport = 0;
    c->virq = 0;
    c->vcpu = 0;
    c->held = 0;
}

/* A bind: evtchn_port_init() gives the port the default priority. */
static void take(struct em_dom *d, uint32_t p, uint8_t stat, uint32_t vcpu)
{
    unbind(&d->port[p]);
    d->port[p].used = 1;
    d->port[p].stat = stat;
    d->port[p].vcpu = vcpu;
    if (!EM_LIB_PRIORITY_AT_CLOSE) {
        d->port[p].priority = EM_FIFO_PRIO_DEFAULT;
    }
}

/* evtchn_free(): pending cleared (so a re-bind starts clean; FIFO: the PENDING bit only,
 * the guest unlinks a word it finds not pending), notify vCPU back to 0. The priority
 * stays until the next bind, as Xen's. */
static void release(struct em_dom *d, uint32_t p)
{
    unbind(&d->port[p]);
    if (EM_LIB_PRIORITY_AT_CLOSE) {
        d->port[p].priority = EM_FIFO_PRIO_DEFAULT;
    }
    if (d->fifo) {
        uint8_t *w = word_of(d, p);
        if (w != NULL) {
            em_st32(w, em_ld32(w) & ~EM_EW_PENDING);
        }
    } else {
        (void)bit_put(pending_of(d), p, 0);
    }
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

int em_bind_pirq(struct em *m, unsigned caller, uint32_t pirq)
{
    /* 256 physical IRQs; only a privileged domain has any; the host backend routes none
     * (no pirq_bind hook). */
    if (pirq >= 256u) {
        return -EM_EINVAL;
    }
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
    if (d->fifo) {
        uint8_t *w = word_of(d, port);

        if (w != NULL) {
            uint32_t ew = em_ld32(w) & ~EM_EW_MASKED;
            em_st32(w, ew);
            if (ew & EM_EW_PENDING) {
                fifo_set_pending(m, d, port, d->port[port].vcpu);
            }
        }
        return 0;
    }
    if (bit_put(mask_of(d), port, 0) && bit_get(pending_of(d), port)) {
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

/* Back to the 2-level ABI (every port closed): the FIFO frames let go. */
static void fifo_teardown(struct em_dom *d)
{
    uint32_t v, i;

    if (!d->fifo) {
        return;
    }
    for (v = 0; v < d->nvcpus; v++) {
        if (d->fv[v].has) {
            d->hold[d->fv[v].frame]--;
        }
        memset(&d->fv[v], 0, sizeof(d->fv[v]));
    }
    for (i = 0; i < d->npages; i++) {
        d->hold[d->page[i]]--;
    }
    d->npages = 0;
    d->fifo = 0;
    d->nports = d->table_ports > limit_2l(d) ? limit_2l(d) : d->table_ports;
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
    if (d != &m->d[caller]) {
        return -EM_EINVAL; /* another domain must be paused by the toolstack: never here */
    }
    *more = close_some(m, d, step_limit) != 0;
    if (!*more) {
        fifo_teardown(d);
    }
    return 0;
}

/* ---- FIFO operations ---------------------------------------------------------------------- */

/* The frame index of `mfn` if it is one of d's frames that can be made writable; -1. */
static int own_writable(const struct em_dom *d, uint64_t mfn)
{
    if (mfn < d->mfn0 || mfn >= d->mfn0 + EM_FRAMES) {
        return -1; /* not the caller's: get_page_from_gfn() fails */
    }
    if (d->typed & (1u << (mfn - d->mfn0))) {
        return -1; /* get_page_type(PGT_writable_page) fails */
    }
    return (int)(mfn - d->mfn0);
}

int em_init_control(struct em *m, unsigned caller, uint64_t mfn, uint32_t off, uint32_t vcpu)
{
    struct em_dom *d = &m->d[caller];
    int idx;

    if (vcpu >= d->nvcpus) {
        return -EM_ENOENT;
    }
    if (off > EM_PAGE - EM_CB_SIZE || (off & 7u) != 0) {
        return -EM_EINVAL;
    }
    if (d->fv[vcpu].has) {
        return -EM_EINVAL;
    }
    idx = own_writable(d, mfn);
    if (idx < 0 || d->dying) {
        return -EM_EINVAL;
    }
    if (!d->fifo) {
        /* setup_ports(): the pending state and the default priority of every port */
        uint32_t p;

        for (p = 1; p < d->nports; p++) {
            d->port[p].held = d->port[p].used && bit_get(pending_of(d), p);
            d->port[p].priority = EM_FIFO_PRIO_DEFAULT;
        }
        d->fifo = 1;
        d->npages = 0;
        d->nports = d->table_ports < EM_FIFO_PORTS ? d->table_ports : EM_FIFO_PORTS;
    }
    memset(&d->fv[vcpu], 0, sizeof(d->fv[vcpu]));
    d->fv[vcpu].has = 1;
    d->fv[vcpu].frame = (uint32_t)idx;
    d->fv[vcpu].off = off;
    d->hold[idx]++;
    return 0;
}

int em_expand_array(struct em *m, unsigned caller, uint64_t mfn)
{
    struct em_dom *d = &m->d[caller];
    uint32_t first, p;
    int idx;

    if (!d->fifo) {
        return -EM_EOPNOTSUPP;
    }
    if (d->npages >= EM_FIFO_PAGES) {
        return -EM_ENOSPC;
    }
    idx = own_writable(d, mfn);
    if (idx < 0 || d->dying) {
        return -EM_EINVAL;
    }
    first = d->npages * 1024u;
    d->page[d->npages++] = (uint8_t)idx;
    d->hold[idx]++;
    /* re-raise the events that became pending while the page was missing */
    for (p = first; p < first + 1024u && p < d->nports; p++) {
        if (d->port[p].held) {
            d->port[p].held = 0;
            fifo_set_pending(m, d, p, d->port[p].vcpu);
        }
    }
    return 0;
}

int em_set_priority(struct em *m, unsigned caller, uint32_t port, uint32_t prio)
{
    struct em_dom *d = &m->d[caller];

    if (port >= d->nports) {
        return -EM_EINVAL;
    }
    if (!d->fifo) {
        return -EM_ENOSYS;
    }
    if (prio >= EM_FIFO_QUEUES) {
        return -EM_EINVAL;
    }
    d->port[port].priority = (uint8_t)prio;
    return 0;
}

uint8_t *em_frame(struct em *m, unsigned dom, uint32_t idx)
{
    return m->d[dom].mem[idx % EM_FRAMES];
}

uint8_t *em_word(struct em *m, unsigned dom, uint32_t port)
{
    return word_of(&m->d[dom], port);
}

uint8_t *em_cb(struct em *m, unsigned dom, uint32_t vcpu, uint32_t field)
{
    return cb_of(&m->d[dom], vcpu, field);
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
    const uint8_t *vi = m->d[dom].mem[EM_SHARED] + 64u * vcpu;

    return vi[0] != 0 && vi[1] == 0;
}

uint32_t em_destroy_step(struct em *m, unsigned dom, uint32_t limit)
{
    uint32_t open;

    m->d[dom].dying = 1;
    open = close_some(m, &m->d[dom], limit);
    if (open == 0) {
        fifo_teardown(&m->d[dom]);
    }
    return open;
}

void em_gone(struct em *m, unsigned dom)
{
    m->d[dom].exists = 0;
}

/* ---- guest writes ----------------------------------------------------------------------- */

void em_guest_bit(struct em *m, unsigned dom, int which_mask, uint32_t bit, int set)
{
    struct em_dom *d = &m->d[dom];

    (void)bit_put(which_mask ? mask_of(d) : pending_of(d), bit % (em_bitmap_bytes(d) * 8u), set);
}

void em_guest_vi(struct em *m, unsigned dom, uint32_t vcpu, uint32_t off, uint8_t val)
{
    vi_of(&m->d[dom], vcpu)[off % 16u] = val;
}
