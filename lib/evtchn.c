/*
 * Event channels, 2-level and FIFO ABIs: the port table, event_channel_op, VIRQs raised by the
 * embedder, and delivery through the shared-info bitmaps and vcpu_info or through the
 * FIFO event array and control blocks.
 *
 * A leaf above the domain: it calls nothing in the CPU half (the embedder enters the
 * event callback itself) and only the copy helpers of the hypercall decoder.
 *
 * Locks (place 3 of the order in domain.c): d->evt.lock guards d's ports and its vCPUs'
 * VIRQ bindings. An interdomain channel is changed only with both ends' locks held, taken
 * through evt_lock2() (lower domid first), so holding either end's lock is enough to read
 * the channel, and an interdomain port always names a peer that has not finished its
 * destruction (destruction closes every port, and the peer's end with it, before the
 * domain leaves the table). Under the lock only atomic bit operations on the guest's
 * shared-info page and vcpu_info run; guest copies happen before (the op is copied in) and
 * after (results copied out), and the kick hook is called once the lock is let go.
 *
 * Guest-shared bits are accessed a byte at a time with atomic read-modify-writes: on x86
 * (little-endian) bit n of a bitmap of 32- or 64-bit words is bit n % 8 of byte n / 8,
 * whatever the word size, and a locked byte operation is coherent with the guest's locked
 * word operations on the same bytes. It also needs no alignment of a registered vcpu_info.
 */
#include <pvcore/evtchn.h>

#include "internal/evtchn.h"
#include "internal/held.h"
#include "internal/hypercall.h"

/* ---- the lock witness ------------------------------------------------------------------- */

/* Proof that the call holds the event-channel locks of a and b (b == a for one domain). */
struct evt_locked {
    struct domain *a, *b;
};

static struct evt_locked evt_lock1(struct domain *d)
{
    struct evt_locked l = { d, d };

    spin_lock(&d->evt.lock);
    return l;
}

/* The only way two domains' event-channel locks are held together: lower domid first. */
static struct evt_locked evt_lock2(struct domain *x, struct domain *y)
{
    struct evt_locked l = { x, y };

    if (x == y) {
        spin_lock(&x->evt.lock);
    } else if (x->domid < y->domid) {
        spin_lock(&x->evt.lock);
        spin_lock(&y->evt.lock);
    } else {
        spin_lock(&y->evt.lock);
        spin_lock(&x->evt.lock);
    }
    return l;
}

static void evt_unlock(const struct evt_locked *l)
{
    if (l->b != l->a) {
        spin_unlock(&l->b->evt.lock);
    }
    spin_unlock(&l->a->evt.lock);
}

#define ASSERT_EVT_LOCKED(l, d) \
    PVCORE_ASSERT(((l)->a == (d) || (l)->b == (d)) && spin_is_locked(&(d)->evt.lock))

/* Port `port` of d, or NULL when it is out of the domain's range. */
static struct evtchn_port *port_of(const struct evt_locked *l, struct domain *d, uint32_t port)
{
    ASSERT_EVT_LOCKED(l, d);
    (void)l;
    return port < d->evt.nr_ports ? &d->evt.ports[port] : NULL;
}

/* Port `port` of d, known to be in range (allocated from the table, or a channel's end). */
static struct evtchn_port *port_at(const struct evt_locked *l, struct domain *d, uint32_t port)
{
    ASSERT_EVT_LOCKED(l, d);
    PVCORE_ASSERT(port < d->evt.nr_ports);
    (void)l;
    return &d->evt.ports[port];
}

/* ---- guest-shared bits -------------------------------------------------------------------- */

#define SI_PENDING 2048u         /* shared_info.evtchn_pending, both widths */
#define SI_MASK_32 (2048u + 128u) /* shared_info.evtchn_mask: 32 words of 32 bits */
#define SI_MASK_64 (2048u + 512u) /* ... 64 words of 64 bits */
#define VI_UPCALL_PENDING 0u
#define VI_UPCALL_MASK 1u
#define VI_SEL_32 4u
#define VI_SEL_64 8u

static uint32_t word_bits(const struct domain *d)
{
    return domain_is_32(d) ? 32u : 64u;
}

static uint32_t limit_2l(const struct domain *d)
{
    return domain_is_32(d) ? PVCORE_EVTCHN_2L_NR_CHANNELS_X86_32 : PVCORE_EVTCHN_2L_NR_CHANNELS_X86_64;
}

static uint8_t *shared_info(const struct domain *d)
{
    return d->shared_info_mfn == INVALID_MFN ? NULL : (uint8_t *)frame_entries(d->m, d->shared_info_mfn);
}

static uint8_t *vcpu_info_of(const struct vcpu *v)
{
    uint64_t mfn;
    uint32_t off;

    return cpu_vcpu_info_get(&v->cpu, &mfn, &off) ? (uint8_t *)frame_entries(v->d->m, mfn) + off
                                                  : NULL;
}

static _Atomic uint8_t *bit_byte(uint8_t *base, uint32_t bit)
{
    return (_Atomic uint8_t *)(void *)(base + bit / 8u);
}

static uint8_t bit_mask(uint32_t bit)
{
    return (uint8_t)(1u << (bit % 8u));
}

/* Full barriers, as x86's locked bit operations are: the order of the steps of
 * set_pending and unmask is what keeps an event from being lost (see set_pending). */
static bool test_and_set(uint8_t *base, uint32_t bit)
{
    return (atomic_fetch_or_explicit(bit_byte(base, bit), bit_mask(bit), memory_order_seq_cst) &
            bit_mask(bit)) != 0;
}

static bool test_and_clear(uint8_t *base, uint32_t bit)
{
    return (atomic_fetch_and_explicit(bit_byte(base, bit), (uint8_t)~bit_mask(bit),
                                      memory_order_seq_cst) &
            bit_mask(bit)) != 0;
}

static bool test_bit(uint8_t *base, uint32_t bit)
{
    return (atomic_load_explicit(bit_byte(base, bit), memory_order_seq_cst) & bit_mask(bit)) != 0;
}

/*
 * What a delivery leaves to do once the locks are let go: the vCPU whose
 * evtchn_upcall_pending went from 0 to 1 (the embedder is told), and the port that became
 * pending (pollers are woken). One of each per operation, as each operation sets at most
 * one port pending.
 */
struct deliver {
    struct vcpu *kick;
    struct domain *pd; /* the port's domain, NULL: none became pending */
    uint32_t port;
};

#define DELIVER_NONE { NULL, NULL, 0 }

/* The upcall for vCPU v (its vcpu_info vi): evtchn_upcall_pending set, and the embedder
 * told if that is news. Bit 0 only, as Xen's test_and_set_bit(0, &evtchn_upcall_pending). */
static void mark_vcpu(struct vcpu *v, uint8_t *vi, struct deliver *dv)
{
    if (!test_and_set(vi + VI_UPCALL_PENDING, 0)) {
        dv->kick = v;
    }
}

/* 2-level: the selector bit and the upcall for vCPU v, once one of its ports in word
 * `word` became deliverable. */
static void mark_word(struct vcpu *v, uint32_t word, struct deliver *dv)
{
    uint8_t *vi = vcpu_info_of(v);

    if (vi == NULL) {
        return; /* Xen's dummy vcpu_info: registering one marks everything pending */
    }
    if (!test_and_set(vi + (domain_is_32(v->d) ? VI_SEL_32 : VI_SEL_64), word)) {
        mark_vcpu(v, vi, dv);
    }
}

static uint8_t *mask_2l(uint8_t *si, const struct domain *d)
{
    return si + (domain_is_32(d) ? SI_MASK_32 : SI_MASK_64);
}

/*
 * 2-level: sets port `port` of d pending, to be delivered on vCPU `vcpu_id`. The order is
 * the ABI's: the pending bit first (already set: the edge is coalesced), then the mask,
 * then the selector, then upcall_pending. A guest that clears upcall_pending, then the
 * selector, then a pending bit, and only then handles the port, sees every event that
 * arrives meanwhile; one that unmasks a port and then checks its pending bit (or calls
 * EVTCHNOP_unmask) sees one that arrived while masked.
 */
static void l2_set_pending(struct domain *d, uint32_t port, uint32_t vcpu_id, struct deliver *dv)
{
    uint8_t *si = shared_info(d);

    if (si == NULL || test_and_set(si + SI_PENDING, port)) {
        return;
    }
    dv->pd = d;
    dv->port = port;
    if (!test_bit(mask_2l(si, d), port)) {
        mark_word(&d->vcpus[vcpu_id], port / word_bits(d), dv);
    }
}

/* 2-level unmask: clear the mask bit; if this cleared it and the port is pending, deliver
 * as set_pending would from its mask step on. */
static void l2_unmask(struct domain *d, uint32_t port, uint32_t vcpu_id, struct deliver *dv)
{
    uint8_t *si = shared_info(d);

    if (si != NULL && test_and_clear(mask_2l(si, d), port) && test_bit(si + SI_PENDING, port)) {
        mark_word(&d->vcpus[vcpu_id], port / word_bits(d), dv);
    }
}

/* ---- FIFO ABI ----------------------------------------------------------------------------- */

/*
 * The event array and the control blocks are frames of the guest, held (held.h) from
 * EVTCHNOP_init_control / expand_array until EVTCHNOP_reset or destruction, and touched
 * only under the domain's event-channel lock (so the array never changes under a
 * reader). The guest changes its words at any time, so every access is atomic and every
 * change of a word the guest may also be changing is a read-modify-write: the guest may
 * set or clear MASKED, clear PENDING, and clear LINKED with the LINK field; the
 * hypervisor sets PENDING and LINKED, and writes LINK (see fifo_link()). Each queue's tail
 * is the hypervisor's own (struct vcpu_evtchn), never read back from the guest.
 */
#define EW_PENDING (1u << PVCORE_EVTCHN_FIFO_PENDING)
#define EW_MASKED (1u << PVCORE_EVTCHN_FIFO_MASKED)
#define EW_LINKED (1u << PVCORE_EVTCHN_FIFO_LINKED)
#define EW_BUSY (1u << PVCORE_EVTCHN_FIFO_BUSY)
#define EW_LINK ((uint32_t)PVCORE_EVTCHN_FIFO_LINK_MASK)
#define WORDS_PER_PAGE (PVCORE_PAGE_SIZE / 4u)
#define CB_READY 0u /* control block: the ready bitmap, then the 16 heads */
#define CB_HEAD 8u
#define CB_SIZE 72u

typedef _Atomic uint32_t ew_t;

/* Port `port`'s event word, or NULL while the event array has no page for it. */
static ew_t *fifo_word(const struct domain *d, uint32_t port)
{
    if (port / WORDS_PER_PAGE >= d->evt.fifo_pages) {
        return NULL;
    }
    return (ew_t *)(void *)((uint8_t *)frame_entries(d->m, d->evt.fifo_page[port / WORDS_PER_PAGE]) +
                            (port % WORDS_PER_PAGE) * 4u);
}

/* A 32-bit field of v's control block (none: NULL). */
static ew_t *fifo_cb(const struct vcpu *v, uint32_t field)
{
    if (!v->evt.fifo_cb) {
        return NULL;
    }
    return (ew_t *)(void *)((uint8_t *)frame_entries(v->d->m, v->evt.fifo_cb_mfn) +
                            v->evt.fifo_cb_off + field);
}

/*
 * Links `port` after the queue's tail word `w`, if the guest has not unlinked that word
 * meanwhile. Returns true when the link is written (or given up on, below), false when the
 * tail was no longer linked: the queue is empty and `port` becomes its head. The first
 * try races the guest plainly; after it, BUSY is set on the word, which keeps the guest
 * from unmasking it, so that what is left to the guest (mask, clear PENDING, unlink) can
 * change the word only a few more times: four more tries, as Xen makes. A guest that
 * still wins has its event lost (linked as far as the hypervisor knows), as on Xen.
 */
static bool fifo_link(ew_t *w, uint32_t port)
{
    uint32_t old = atomic_load_explicit(w, memory_order_seq_cst);
    unsigned i;

    for (i = 0; i < 5; i++) {
        if ((old & EW_LINKED) == 0) {
            if (i != 0) {
                atomic_fetch_and_explicit(w, ~EW_BUSY, memory_order_seq_cst);
            }
            return false;
        }
        /* The new word drops BUSY too. */
        if (atomic_compare_exchange_strong_explicit(w, &old, (old & ~(EW_BUSY | EW_LINK)) | port,
                                                    memory_order_seq_cst, memory_order_seq_cst)) {
            return true;
        }
        if (i == 0) {
            atomic_fetch_or_explicit(w, EW_BUSY, memory_order_seq_cst);
            old = atomic_load_explicit(w, memory_order_seq_cst);
        }
    }
    atomic_fetch_and_explicit(w, ~EW_BUSY, memory_order_seq_cst);
    return true;
}

/*
 * FIFO: sets port `port` of d pending on vCPU `vcpu_id`'s queue of the port's priority.
 * PENDING first; then, if the word is neither masked nor already linked, LINKED, and the
 * port goes on the tail of the queue (the old tail's LINK, or the queue's head in the
 * control block when it was empty, and then the queue's READY bit and the upcall). A port
 * whose word does not exist yet is remembered (held_pending) and raised when its page is
 * added. A vCPU without a control block gets the pending bit only: a guest must register
 * one before it unmasks a port that notifies it (Xen drops the link likewise; XSA-107).
 */
static void fifo_set_pending(const struct evt_locked *l, struct domain *d, uint32_t port,
                             uint32_t vcpu_id, struct deliver *dv)
{
    struct evtchn_port *p = port_at(l, d, port);
    struct vcpu *v = &d->vcpus[vcpu_id];
    ew_t *w = fifo_word(d, port), *head, *tail_word;
    struct vcpu *last;
    uint32_t old, q, tail;
    bool linked = false;

    if (w == NULL) {
        p->held_pending = 1;
        return;
    }
    old = atomic_fetch_or_explicit(w, EW_PENDING, memory_order_seq_cst);
    if ((old & EW_PENDING) == 0) {
        dv->pd = d;
        dv->port = port;
    }
    head = fifo_cb(v, CB_HEAD + 4u * p->priority);
    if ((old & (EW_MASKED | EW_LINKED)) != 0 || head == NULL ||
        (atomic_fetch_or_explicit(w, EW_LINKED, memory_order_seq_cst) & EW_LINKED) != 0) {
        return;
    }
    /* If it was the tail of the queue it was last on, that queue is empty now (the guest
     * took it off): forget the tail, or the next event there would link after it. */
    last = &d->vcpus[p->last_vcpu];
    if (last->evt.fifo_tail[p->last_priority] == port) {
        last->evt.fifo_tail[p->last_priority] = 0;
    }
    q = p->priority;
    p->last_vcpu = (uint16_t)vcpu_id;
    p->last_priority = (uint8_t)q;
    tail = v->evt.fifo_tail[q];
    if (tail != 0 && (tail_word = fifo_word(d, tail)) != NULL) {
        linked = fifo_link(tail_word, port);
    }
    if (!linked) {
        atomic_store_explicit(head, port, memory_order_seq_cst);
    }
    v->evt.fifo_tail[q] = port;
    if (!linked &&
        (atomic_fetch_or_explicit(fifo_cb(v, CB_READY), 1u << q, memory_order_seq_cst) & (1u << q)) == 0) {
        uint8_t *vi = vcpu_info_of(v);

        if (vi != NULL) {
            mark_vcpu(v, vi, dv);
        }
    }
}

/* FIFO unmask: clear MASKED, and link the port if it is pending. */
static void fifo_unmask(const struct evt_locked *l, struct domain *d, uint32_t port,
                        uint32_t vcpu_id, struct deliver *dv)
{
    ew_t *w = fifo_word(d, port);

    if (w != NULL && (atomic_fetch_and_explicit(w, ~EW_MASKED, memory_order_seq_cst) & EW_PENDING) != 0) {
        fifo_set_pending(l, d, port, vcpu_id, dv);
    }
}

/* ---- either ABI --------------------------------------------------------------------------- */

static void set_pending(const struct evt_locked *l, struct domain *d, uint32_t port,
                        uint32_t vcpu_id, struct deliver *dv)
{
    ASSERT_EVT_LOCKED(l, d);
    PVCORE_ASSERT(vcpu_id < d->nr_vcpus && port < d->evt.nr_ports);
    if (d->evt.fifo) {
        fifo_set_pending(l, d, port, vcpu_id, dv);
    } else {
        l2_set_pending(d, port, vcpu_id, dv);
    }
}

static void unmask_port(const struct evt_locked *l, struct domain *d, uint32_t port,
                        uint32_t vcpu_id, struct deliver *dv)
{
    ASSERT_EVT_LOCKED(l, d);
    if (d->evt.fifo) {
        fifo_unmask(l, d, port, vcpu_id, dv);
    } else {
        l2_unmask(d, port, vcpu_id, dv);
    }
    if (dv->kick != NULL && dv->pd == NULL) {
        /* Deliverable now: a vCPU blocked in SCHEDOP_block must wake as well as be kicked
         * (pollers of the port may wake too: a spurious wake-up the ABI allows). */
        dv->pd = d;
        dv->port = port;
    }
}

/* A port being freed is no longer pending. (FIFO: PENDING only; the guest unlinks a word
 * it finds not pending and skips it.) */
static void clear_pending(const struct evt_locked *l, struct domain *d, uint32_t port)
{
    ASSERT_EVT_LOCKED(l, d);
    if (d->evt.fifo) {
        ew_t *w = fifo_word(d, port);

        if (w != NULL) {
            atomic_fetch_and_explicit(w, ~EW_PENDING, memory_order_seq_cst);
        }
    } else {
        uint8_t *si = shared_info(d);

        if (si != NULL) {
            (void)test_and_clear(si + SI_PENDING, port);
        }
    }
}

static bool port_pending(const struct evt_locked *l, struct domain *d, uint32_t port)
{
    ASSERT_EVT_LOCKED(l, d);
    if (d->evt.fifo) {
        ew_t *w = fifo_word(d, port);

        return w != NULL && (atomic_load_explicit(w, memory_order_seq_cst) & EW_PENDING) != 0;
    }
    {
        uint8_t *si = shared_info(d);

        return si != NULL && test_bit(si + SI_PENDING, port);
    }
}

/* The rest of a delivery, with no lock held. */
static void deliver_finish(const struct deliver *dv)
{
    if (dv->kick != NULL) {
        const struct machine *m = dv->kick->d->m;

        if (m->ops->evtchn_kick != NULL) {
            m->ops->evtchn_kick(m->ctx, (struct pvcore_vcpu *)(void *)dv->kick);
        }
    }
    if (dv->pd != NULL) {
        sched_port_pending(dv->pd, dv->port);
    }
}

/* ---- ports -------------------------------------------------------------------------------- */

/* Xen's per-vCPU VIRQs; every other number (the ARCH ones too, on x86) is global. */
static bool virq_is_global(uint32_t virq)
{
    return virq != PVCORE_VIRQ_TIMER && virq != PVCORE_VIRQ_DEBUG && virq != PVCORE_VIRQ_XENOPROF &&
           virq != PVCORE_VIRQ_XENPMU;
}

/* The lowest free port of d (not yet taken: the caller commits it), or -ENOSPC, or
 * -EINVAL for a dying domain (Xen's get_free_port). */
static int64_t free_port(const struct evt_locked *l, struct domain *d)
{
    uint32_t p;

    ASSERT_EVT_LOCKED(l, d);
    if (atomic_load_explicit(&d->dying, memory_order_acquire)) {
        return -PVCORE_EINVAL;
    }
    /* From the hint: allocating n ports in a row costs O(n), not O(n^2). */
    for (p = d->evt.free_hint; p < d->evt.nr_ports; p++) {
        if (d->evt.ports[p].state == ECS_FREE) {
            d->evt.free_hint = p;
            return p;
        }
    }
    d->evt.free_hint = p;
    return -PVCORE_ENOSPC;
}

/* A free port's fields. Not its FIFO priority, which a free port keeps until it is
 * allocated again (free_port()), as on Xen, nor the queue it was last linked on, which
 * stays known after it is freed. */
static void port_clear(struct evtchn_port *p)
{
    p->state = ECS_FREE;
    p->virq = 0;
    p->remote_dom = 0;
    p->remote_port = 0;
    p->notify_vcpu = 0;
    p->held_pending = 0;
}

/* The commit of a bind: free port `port` (from free_port()) in state `state`, notifying
 * vCPU `vcpu_id`, at the default FIFO priority whatever set_priority gave it while free
 * (Xen's evtchn_port_init, on a successful bind only). */
static struct evtchn_port *port_take(const struct evt_locked *l, struct domain *d, uint32_t port,
                                     uint8_t state, uint32_t vcpu_id)
{
    struct evtchn_port *p = port_at(l, d, port);

    PVCORE_ASSERT(p->state == ECS_FREE && vcpu_id < d->nr_vcpus);
    p->state = state;
    p->notify_vcpu = (uint16_t)vcpu_id;
    p->priority = PVCORE_EVTCHN_FIFO_PRIORITY_DEFAULT;
    return p;
}

static void port_release(const struct evt_locked *l, struct domain *d, uint32_t port)
{
    clear_pending(l, d, port);
    port_clear(port_at(l, d, port));
    if (port < d->evt.free_hint) {
        d->evt.free_hint = port;
    }
}

/* The domain named by an op: DOMID_SELF is the caller. NULL: none (-ESRCH). */
static struct domain *op_domain(const struct caller *c, uint16_t dom)
{
    return dom == PVCORE_DOMID_SELF ? c->d : machine_domain(c->m, dom);
}

/* A port of d, unbound, for `remote` to bind (alloc_unbound's commit); `allowed`: the
 * caller may allocate in d (checked after the search, as Xen orders them). */
static int64_t unbound_port(struct domain *d, uint16_t remote, bool allowed, uint32_t *port)
{
    struct evt_locked l = evt_lock1(d);
    int64_t rc = free_port(&l, d);

    if (rc > 0 && !allowed) {
        rc = -PVCORE_EPERM;
    }
    if (rc > 0) {
        struct evtchn_port *p = port_take(&l, d, (uint32_t)rc, ECS_UNBOUND, 0);
        p->remote_dom = remote;
        *port = (uint32_t)rc;
        rc = 0;
    }
    evt_unlock(&l);
    return rc;
}

static int64_t alloc_unbound(const struct caller *c, uint16_t dom, uint16_t remote_dom,
                             uint32_t *port)
{
    struct domain *d = op_domain(c, dom);

    if (d == NULL) {
        return -PVCORE_ESRCH;
    }
    return unbound_port(d, remote_dom == PVCORE_DOMID_SELF ? c->d->domid : remote_dom,
                        d == c->d || domain_privileged(c->d), port);
}

static int64_t bind_interdomain(const struct caller *c, uint16_t remote_dom, uint32_t rport,
                                uint32_t *lport)
{
    struct domain *ld = c->d;
    struct domain *rd =
        machine_domain(c->m, (uint16_t)(remote_dom == PVCORE_DOMID_SELF ? ld->domid : remote_dom));
    struct evtchn_port *lp, *rp;
    struct deliver dv = DELIVER_NONE;
    struct evt_locked l;
    int64_t rc;

    if (rd == NULL) {
        return -PVCORE_ESRCH;
    }
    l = evt_lock2(ld, rd);
    rc = free_port(&l, ld);
    if (rc > 0) {
        rp = port_of(&l, rd, rport);
        if (rp == NULL || rp->state != ECS_UNBOUND || rp->remote_dom != ld->domid) {
            rc = -PVCORE_EINVAL;
        }
    }
    if (rc > 0) {
        uint32_t port = (uint32_t)rc;

        lp = port_take(&l, ld, port, ECS_INTERDOMAIN, 0);
        rp = port_at(&l, rd, rport);
        lp->remote_dom = rd->domid;
        lp->remote_port = rport;
        rp->state = ECS_INTERDOMAIN;
        rp->remote_dom = ld->domid;
        rp->remote_port = port;
        /* The peer may have sent while its port was unbound: those were dropped, so the
         * new end starts pending (Xen does the same). */
        set_pending(&l, ld, port, lp->notify_vcpu, &dv);
        *lport = port;
        rc = 0;
    }
    evt_unlock(&l);
    deliver_finish(&dv);
    return rc;
}

static int64_t bind_virq(const struct caller *c, uint32_t virq, uint32_t vcpu_id, uint32_t *port)
{
    struct domain *d = c->d;
    struct evt_locked l;
    int64_t rc;

    if (virq >= PVCORE_NR_VIRQS || (virq_is_global(virq) && vcpu_id != 0)) {
        return -PVCORE_EINVAL;
    }
    if (vcpu_id >= d->nr_vcpus) {
        return -PVCORE_ENOENT;
    }
    l = evt_lock1(d);
    if (d->vcpus[vcpu_id].evt.virq_port[virq] != 0) {
        rc = -PVCORE_EEXIST;
    } else {
        rc = free_port(&l, d);
    }
    if (rc > 0) {
        struct evtchn_port *p = port_take(&l, d, (uint32_t)rc, ECS_VIRQ, vcpu_id);
        p->virq = (uint8_t)virq;
        d->vcpus[vcpu_id].evt.virq_port[virq] = (uint32_t)rc;
        *port = (uint32_t)rc;
        rc = 0;
    }
    evt_unlock(&l);
    return rc;
}

static int64_t bind_ipi(const struct caller *c, uint32_t vcpu_id, uint32_t *port)
{
    struct domain *d = c->d;
    struct evt_locked l;
    int64_t rc;

    if (vcpu_id >= d->nr_vcpus) {
        return -PVCORE_ENOENT;
    }
    l = evt_lock1(d);
    rc = free_port(&l, d);
    if (rc > 0) {
        (void)port_take(&l, d, (uint32_t)rc, ECS_IPI, vcpu_id);
        *port = (uint32_t)rc;
        rc = 0;
    }
    evt_unlock(&l);
    return rc;
}

/* The hook's side of a closed PIRQ port (no lock held). */
static void pirq_unbound(struct domain *d, uint32_t pirq)
{
    const struct machine *m = d->m;

    if (m->ops->pirq_unbind != NULL) {
        m->ops->pirq_unbind(m->ctx, (struct pvcore_domain *)(void *)d, pirq);
    }
}

/*
 * EVTCHNOP_bind_pirq, in three steps as the embedder's hook runs with no lock held: the
 * IRQ reserved (PIRQ_BINDING: a second bind gets -EEXIST), the hook, then the port taken
 * (or the reservation dropped, and the IRQ unbound again if no port is left by then).
 */
static int64_t bind_pirq(const struct caller *c, uint32_t pirq, uint32_t flags, uint32_t *port)
{
    struct domain *d = c->d;
    const struct machine *m = c->m;
    struct evt_locked l;
    bool bound;
    int64_t rc;

    if (pirq >= PVCORE_NR_PIRQS) {
        return -PVCORE_EINVAL;
    }
    if (!domain_privileged(d)) {
        return -PVCORE_EPERM; /* only a privileged domain has physical IRQs */
    }
    if (m->ops->pirq_bind == NULL) {
        return -PVCORE_ENOSYS;
    }
    l = evt_lock1(d);
    rc = d->evt.pirq_port[pirq] != 0 ? -PVCORE_EEXIST : free_port(&l, d);
    if (rc > 0) {
        d->evt.pirq_port[pirq] = PIRQ_BINDING;
    }
    evt_unlock(&l);
    if (rc < 0) {
        return rc;
    }
    rc = m->ops->pirq_bind(m->ctx, (struct pvcore_domain *)(void *)d, pirq, flags);
    bound = rc == 0;
    l = evt_lock1(d);
    if (rc == 0) {
        rc = free_port(&l, d); /* again: another vCPU may have taken the one seen before */
    } else if (rc > 0) {
        rc = -PVCORE_EINVAL; /* a hook that broke its contract */
    }
    if (rc > 0) {
        struct evtchn_port *p = port_take(&l, d, (uint32_t)rc, ECS_PIRQ, 0);

        p->remote_port = pirq;
        d->evt.pirq_port[pirq] = (uint32_t)rc;
        *port = (uint32_t)rc;
        rc = 0;
    } else {
        d->evt.pirq_port[pirq] = 0;
    }
    evt_unlock(&l);
    if (bound && rc != 0) {
        pirq_unbound(d, pirq); /* routed, but no port was left for it */
    }
    return rc;
}

/*
 * Closes port `port` of d1. An interdomain channel needs the peer's lock too: d1's is let
 * go, both are taken in order, and the port is looked at again, as it may have changed
 * meanwhile. Bounded: a second look that finds another peer gives -EINVAL (the port must
 * have been closed and bound again, so it was free in between, as Xen reasons).
 */
static int64_t close_port(struct domain *d1, uint32_t port)
{
    struct domain *d2 = NULL;
    struct evt_locked l;
    uint32_t unbind_pirq = PVCORE_NR_PIRQS;
    int64_t rc = 0;

    for (;;) {
        struct evtchn_port *p;
        struct domain *peer;

        l = d2 == NULL ? evt_lock1(d1) : evt_lock2(d1, d2);
        p = port_of(&l, d1, port);
        if (p == NULL) {
            rc = -PVCORE_EINVAL;
            break;
        }
        switch (p->state) {
        case ECS_FREE:
        case ECS_RESERVED:
            rc = -PVCORE_EINVAL;
            break;
        case ECS_UNBOUND:
        case ECS_IPI:
            port_release(&l, d1, port);
            break;
        case ECS_PIRQ:
            unbind_pirq = p->remote_port;
            PVCORE_ASSERT(unbind_pirq < PVCORE_NR_PIRQS && d1->evt.pirq_port[unbind_pirq] == port);
            d1->evt.pirq_port[unbind_pirq] = 0;
            port_release(&l, d1, port);
            break;
        case ECS_VIRQ: {
            uint32_t i;
            for (i = 0; i < d1->nr_vcpus; i++) {
                if (d1->vcpus[i].evt.virq_port[p->virq] == port) {
                    d1->vcpus[i].evt.virq_port[p->virq] = 0;
                }
            }
            port_release(&l, d1, port);
            break;
        }
        case ECS_INTERDOMAIN: {
            struct evtchn_port *rp;

            peer = machine_domain(d1->m, p->remote_dom);
            PVCORE_ASSERT(peer != NULL);
            if (PVCORE_UNLIKELY(peer == NULL)) {
                port_release(&l, d1, port); /* cannot happen: destruction unbinds us first */
                break;
            }
            if (peer != d1 && d2 == NULL) {
                d2 = peer;
                evt_unlock(&l);
                continue; /* again, with both locks */
            }
            if (peer != d1 && peer != d2) {
                rc = -PVCORE_EINVAL;
                break;
            }
            rp = port_at(&l, peer, p->remote_port);
            PVCORE_ASSERT(rp->state == ECS_INTERDOMAIN && rp->remote_dom == d1->domid &&
                          rp->remote_port == port);
            rp->state = ECS_UNBOUND;
            rp->remote_dom = d1->domid;
            rp->remote_port = 0;
            port_release(&l, d1, port);
            break;
        }
        default:
            PVCORE_ASSERT(0);
            rc = -PVCORE_EINVAL;
            break;
        }
        break;
    }
    evt_unlock(&l);
    if (unbind_pirq < PVCORE_NR_PIRQS) {
        pirq_unbound(d1, unbind_pirq);
    }
    return rc;
}

/*
 * send: an interdomain port sets its peer's port pending; like close, it looks again with
 * both locks when the peer is another domain. A peer that changed meanwhile is looked up
 * again: each retry follows a close and bind that completed on this very port.
 */
static int64_t send(const struct caller *c, uint32_t port)
{
    struct domain *ld = c->d, *d2 = NULL;
    struct deliver dv = DELIVER_NONE;
    struct evt_locked l;
    int64_t rc = 0;

    for (;;) {
        struct evtchn_port *p;

        l = d2 == NULL ? evt_lock1(ld) : evt_lock2(ld, d2);
        p = port_of(&l, ld, port);
        if (p == NULL) {
            rc = -PVCORE_EINVAL;
            break;
        }
        if (p->state == ECS_INTERDOMAIN) {
            struct domain *peer = machine_domain(c->m, p->remote_dom);
            const struct evtchn_port *rp;

            PVCORE_ASSERT(peer != NULL);
            if (PVCORE_UNLIKELY(peer == NULL)) {
                break; /* cannot happen: destruction unbinds us first */
            }
            if (peer != ld && peer != d2) {
                d2 = peer;
                evt_unlock(&l);
                continue;
            }
            rp = port_at(&l, peer, p->remote_port);
            set_pending(&l, peer, p->remote_port, rp->notify_vcpu, &dv);
        } else if (p->state == ECS_IPI) {
            set_pending(&l, ld, port, p->notify_vcpu, &dv);
        } else if (p->state != ECS_UNBOUND) {
            rc = -PVCORE_EINVAL; /* an unbound port drops the event silently */
        }
        break;
    }
    evt_unlock(&l);
    deliver_finish(&dv);
    return rc;
}

/* status: fills the Out fields of the 24-byte struct in b (copied in whole, written back
 * whole: union bytes a state does not fill keep the guest's). */
static int64_t status(const struct caller *c, uint8_t *b)
{
    struct domain *d = op_domain(c, (uint16_t)(b[0] | b[1] << 8));
    uint32_t port = hc_get_le32(b + 4);
    const struct evtchn_port *p;
    struct evt_locked l;
    int64_t rc = 0;

    if (d == NULL) {
        return -PVCORE_ESRCH;
    }
    l = evt_lock1(d);
    p = port_of(&l, d, port);
    if (p == NULL) {
        rc = -PVCORE_EINVAL;
    } else if (d != c->d && !domain_privileged(c->d)) {
        rc = -PVCORE_EPERM;
    } else {
        uint32_t st = PVCORE_EVTCHNSTAT_closed;

        switch (p->state) {
        case ECS_UNBOUND:
            st = PVCORE_EVTCHNSTAT_unbound;
            hc_put_le(b + 16, p->remote_dom, 2);
            break;
        case ECS_INTERDOMAIN:
            st = PVCORE_EVTCHNSTAT_interdomain;
            hc_put_le(b + 16, p->remote_dom, 2);
            hc_put_le(b + 20, p->remote_port, 4);
            break;
        case ECS_PIRQ:
            st = PVCORE_EVTCHNSTAT_pirq;
            hc_put_le(b + 16, p->remote_port, 4);
            break;
        case ECS_VIRQ:
            st = PVCORE_EVTCHNSTAT_virq;
            hc_put_le(b + 16, p->virq, 4);
            break;
        case ECS_IPI:
            st = PVCORE_EVTCHNSTAT_ipi;
            break;
        default: /* free, reserved */
            break;
        }
        hc_put_le(b + 8, st, 4);
        hc_put_le(b + 12, p->notify_vcpu, 4);
    }
    evt_unlock(&l);
    return rc;
}

static int64_t bind_vcpu(const struct caller *c, uint32_t port, uint32_t vcpu_id)
{
    struct domain *d = c->d;
    struct evtchn_port *p;
    struct evt_locked l;
    int64_t rc = 0;

    if (vcpu_id >= d->nr_vcpus) {
        return -PVCORE_ENOENT;
    }
    l = evt_lock1(d);
    p = port_of(&l, d, port);
    if (p == NULL) {
        rc = -PVCORE_EINVAL;
    } else {
        switch (p->state) {
        case ECS_VIRQ:
            if (virq_is_global(p->virq)) {
                p->notify_vcpu = (uint16_t)vcpu_id; /* below nr_vcpus */
            } else {
                rc = -PVCORE_EINVAL;
            }
            break;
        case ECS_UNBOUND:
        case ECS_INTERDOMAIN:
        case ECS_PIRQ:
            p->notify_vcpu = (uint16_t)vcpu_id; /* below nr_vcpus */
            break;
        default: /* free, reserved, IPI */
            rc = -PVCORE_EINVAL;
            break;
        }
    }
    evt_unlock(&l);
    return rc;
}

/* unmask: any port in range, free ones too (as Xen: a no-op on those). */
static int64_t unmask(const struct caller *c, uint32_t port)
{
    struct domain *d = c->d;
    struct deliver dv = DELIVER_NONE;
    const struct evtchn_port *p;
    struct evt_locked l;
    int64_t rc = 0;

    l = evt_lock1(d);
    p = port_of(&l, d, port);
    if (p == NULL) {
        rc = -PVCORE_EINVAL;
    } else {
        unmask_port(&l, d, port, p->notify_vcpu, &dv);
    }
    evt_unlock(&l);
    deliver_finish(&dv);
    return rc;
}

/*
 * Closes every port of d, charging each closed one to c; -ERESTART when c should stop
 * (after at least one close). The scan restarts from port 1 on every call, cheaply over
 * the ports already closed.
 */
static int close_all(struct call *c, struct domain *d)
{
    uint32_t port, nr, closed = 0;

    spin_lock(&d->evt.lock);
    nr = d->evt.nr_ports;
    spin_unlock(&d->evt.lock);
    for (port = 1; port < nr; port++) {
        uint8_t st;

        spin_lock(&d->evt.lock);
        st = d->evt.ports[port].state;
        spin_unlock(&d->evt.lock);
        if (st == ECS_FREE) {
            continue;
        }
        if (closed != 0 && (closed % 64u) == 0 && call_should_preempt(c)) {
            return -PVCORE_ERESTART;
        }
        (void)close_port(d, port); /* closed meanwhile by another vCPU: as good */
        call_charge(c, 1);
        closed++;
    }
    return 0;
}

/* Is any port of d still open (another vCPU opened one behind the scan)? */
static bool any_open(const struct evt_locked *l, struct domain *d)
{
    uint32_t port;

    ASSERT_EVT_LOCKED(l, d);
    for (port = 1; port < d->evt.nr_ports; port++) {
        if (d->evt.ports[port].state != ECS_FREE) {
            return true;
        }
    }
    return false;
}

/* Back to the 2-level ABI, every port closed: the FIFO frames are let go. */
static void fifo_teardown(const struct domain_locked *dl, const struct evt_locked *l, struct domain *d)
{
    uint32_t i, q;

    ASSERT_EVT_LOCKED(l, d);
    for (i = 0; i < d->nr_vcpus; i++) {
        struct vcpu_evtchn *ve = &d->vcpus[i].evt;

        if (ve->fifo_cb) {
            held_put(dl, ve->fifo_cb_mfn);
            ve->fifo_cb = false;
        }
        for (q = 0; q < PVCORE_EVTCHN_FIFO_MAX_QUEUES; q++) {
            ve->fifo_tail[q] = 0;
        }
    }
    for (i = 0; i < d->evt.fifo_pages; i++) {
        held_put(dl, d->evt.fifo_page[i]);
    }
    d->evt.fifo_pages = 0;
    d->evt.fifo = false;
    d->evt.nr_ports = d->evt.table_ports < limit_2l(d) ? d->evt.table_ports : limit_2l(d);
    d->evt.free_hint = 1;
}

/* The end of a reset: -EAGAIN when a port is open again, else the domain is back on the
 * 2-level ABI. */
static int reset_abi(struct call *c, struct domain *d)
{
    struct domain_locked dl = domain_lock(c, d);
    struct evt_locked l = evt_lock1(d);
    int rc = 0;

    if (any_open(&l, d)) {
        rc = -PVCORE_EAGAIN;
    } else if (d->evt.fifo) {
        fifo_teardown(&dl, &l, d);
    }
    evt_unlock(&l);
    domain_unlock(&dl);
    return rc;
}

/*
 * EVTCHNOP_reset: every port closed, and the 2-level ABI back; or -EAGAIN if a port was
 * opened meanwhile behind the scan (as Xen since XSA-343: the guest asked for none to be
 * open at the end).
 */
static int64_t reset(struct caller *c, uint16_t dom)
{
    struct domain *d = op_domain(c, dom);
    int rc;

    if (d == NULL) {
        return -PVCORE_ESRCH;
    }
    if (d != c->d && !domain_privileged(c->d)) {
        return -PVCORE_EPERM;
    }
    if (d != c->d && atomic_load_explicit(&d->pause_count, memory_order_acquire) == 0) {
        return -PVCORE_EINVAL; /* another domain only while the toolstack has it paused (Xen) */
    }
    rc = close_all(&c->call, d);
    return rc != 0 ? rc : reset_abi(&c->call, d);
}

int evtchn_domain_destroy(struct call *c, struct domain *d)
{
    int rc = close_all(c, d);

    /* Dying: no port opens again, so this lets go of the FIFO frames. */
    return rc != 0 ? rc : reset_abi(c, d);
}

/*
 * EVTCHNOP_init_control: vCPU `vcpu_id`'s control block at `off` in frame `mfn`, a
 * writable frame of the caller's, held from here on. The first one switches the domain
 * to the FIFO ABI: the ports bound before keep their pending state (raised when the event
 * array covers them, as Xen's) and get the default priority; the 2-level bitmaps are no
 * longer read.
 */
static int64_t init_control(struct caller *c, uint64_t mfn, uint32_t off, uint32_t vcpu_id)
{
    struct domain *d = c->d;
    struct domain_locked dl;
    struct evt_locked l;
    struct vcpu_evtchn *ve;
    int64_t rc = 0;

    if (vcpu_id >= d->nr_vcpus) {
        return -PVCORE_ENOENT;
    }
    if (off > PVCORE_PAGE_SIZE - CB_SIZE || (off & 7u) != 0) {
        return -PVCORE_EINVAL; /* inside the page, 8-byte aligned */
    }
    ve = &d->vcpus[vcpu_id].evt;
    dl = domain_lock(&c->call, d);
    if (atomic_load_explicit(&d->dying, memory_order_acquire) || held_get(&dl, mfn) != 0) {
        domain_unlock(&dl); /* dying: destruction lets go of the FIFO frames, so none is taken */
        return -PVCORE_EINVAL;
    }
    l = evt_lock1(d);
    if (ve->fifo_cb) {
        rc = -PVCORE_EINVAL; /* once per vCPU until a reset */
    } else {
        if (!d->evt.fifo) {
            uint32_t port;

            for (port = 1; port < d->evt.nr_ports; port++) {
                struct evtchn_port *p = port_at(&l, d, port);

                p->held_pending = p->state != ECS_FREE && port_pending(&l, d, port);
                p->priority = PVCORE_EVTCHN_FIFO_PRIORITY_DEFAULT;
            }
            d->evt.fifo = true;
            d->evt.fifo_pages = 0;
            d->evt.nr_ports = d->evt.table_ports < PVCORE_EVTCHN_FIFO_NR_CHANNELS
                                  ? d->evt.table_ports
                                  : PVCORE_EVTCHN_FIFO_NR_CHANNELS;
        }
        ve->fifo_cb_mfn = mfn;
        ve->fifo_cb_off = off;
        ve->fifo_cb = true;
    }
    evt_unlock(&l);
    if (rc != 0) {
        held_put(&dl, mfn);
    }
    domain_unlock(&dl);
    return rc;
}

/*
 * EVTCHNOP_expand_array: frame `mfn` (a writable frame of the caller's, held from here on)
 * becomes the next page of the event array. Ports it covers that became pending while it
 * was missing are raised now, one at a time with the lock taken for each (they may notify
 * several vCPUs, and each may wake pollers).
 */
static int64_t expand_array(struct caller *c, uint64_t mfn)
{
    struct domain *d = c->d;
    struct domain_locked dl;
    struct evt_locked l;
    uint32_t first = 0, port;
    int64_t rc = 0;

    dl = domain_lock(&c->call, d);
    l = evt_lock1(d);
    if (!d->evt.fifo) {
        rc = -PVCORE_EOPNOTSUPP;
    } else if (d->evt.fifo_pages >= EVTCHN_FIFO_MAX_PAGES) {
        rc = -PVCORE_ENOSPC;
    } else if (atomic_load_explicit(&d->dying, memory_order_acquire) || held_get(&dl, mfn) != 0) {
        rc = -PVCORE_EINVAL;
    } else {
        first = d->evt.fifo_pages * WORDS_PER_PAGE;
        d->evt.fifo_page[d->evt.fifo_pages++] = mfn;
    }
    evt_unlock(&l);
    domain_unlock(&dl);
    for (port = first; rc == 0 && port < first + WORDS_PER_PAGE; port++) {
        struct deliver dv = DELIVER_NONE;
        struct evtchn_port *p;

        l = evt_lock1(d);
        p = port_of(&l, d, port);
        if (p == NULL) {
            evt_unlock(&l);
            break; /* past the table */
        }
        if (p->held_pending && d->evt.fifo && fifo_word(d, port) != NULL) {
            p->held_pending = 0;
            fifo_set_pending(&l, d, port, p->notify_vcpu, &dv);
        }
        evt_unlock(&l);
        deliver_finish(&dv);
    }
    return rc;
}

/* EVTCHNOP_set_priority: the queue of the port's next link (one it is on stays there). */
static int64_t set_priority(const struct caller *c, uint32_t port, uint32_t priority)
{
    struct domain *d = c->d;
    struct evt_locked l = evt_lock1(d);
    struct evtchn_port *p = port_of(&l, d, port);
    int64_t rc = 0;

    if (p == NULL) {
        rc = -PVCORE_EINVAL;
    } else if (!d->evt.fifo) {
        rc = -PVCORE_ENOSYS; /* the 2-level ABI has no priorities */
    } else if (priority > PVCORE_EVTCHN_FIFO_PRIORITY_MIN) {
        rc = -PVCORE_EINVAL;
    } else {
        p->priority = (uint8_t)priority;
    }
    evt_unlock(&l);
    return rc;
}

/* ---- the decoder -------------------------------------------------------------------------- */

#define EVTCHNOP_reset_cont 14u /* Xen's internal continuation of reset, reachable by guests */

/* Each command's structure size (the same for both widths); 0: not served. */
static const uint8_t op_size[15] = {
    [PVCORE_EVTCHNOP_bind_interdomain] = 12, [PVCORE_EVTCHNOP_bind_virq] = 12,
    [PVCORE_EVTCHNOP_bind_pirq] = 12,        [PVCORE_EVTCHNOP_close] = 4,
    [PVCORE_EVTCHNOP_send] = 4,              [PVCORE_EVTCHNOP_status] = 24,
    [PVCORE_EVTCHNOP_alloc_unbound] = 8,     [PVCORE_EVTCHNOP_bind_ipi] = 8,
    [PVCORE_EVTCHNOP_bind_vcpu] = 8,         [PVCORE_EVTCHNOP_unmask] = 4,
    [PVCORE_EVTCHNOP_reset] = 2,             [PVCORE_EVTCHNOP_init_control] = 24,
    [PVCORE_EVTCHNOP_expand_array] = 8,      [PVCORE_EVTCHNOP_set_priority] = 8,
    [EVTCHNOP_reset_cont] = 2,
};

int hcall_event_channel_op(struct caller *c, uint64_t args[6], int64_t *ret)
{
    uint32_t cmd = (uint32_t)args[0];
    uint64_t arg = hc_arg(c, args, 1);
    uint8_t b[24];
    size_t size;
    uint32_t out = 0;
    int64_t rc;
    bool write_back = false;

    if (cmd >= sizeof(op_size) || op_size[cmd] == 0) {
        *ret = -PVCORE_ENOSYS;
        return PVCORE_HYPERCALL_DONE;
    }
    size = op_size[cmd];
    if (hc_copy_in(c, b, arg, size) != 0) {
        *ret = -PVCORE_EFAULT;
        return PVCORE_HYPERCALL_DONE;
    }
    switch (cmd) {
    case PVCORE_EVTCHNOP_alloc_unbound:
        rc = alloc_unbound(c, (uint16_t)(b[0] | b[1] << 8), (uint16_t)(b[2] | b[3] << 8), &out);
        if (rc == 0) {
            hc_put_le(b + 4, out, 4);
            write_back = true;
        }
        break;
    case PVCORE_EVTCHNOP_bind_interdomain:
        rc = bind_interdomain(c, (uint16_t)(b[0] | b[1] << 8), hc_get_le32(b + 4), &out);
        if (rc == 0) {
            hc_put_le(b + 8, out, 4);
            write_back = true;
        }
        break;
    case PVCORE_EVTCHNOP_bind_virq:
        rc = bind_virq(c, hc_get_le32(b), hc_get_le32(b + 4), &out);
        if (rc == 0) {
            hc_put_le(b + 8, out, 4);
            write_back = true;
        }
        break;
    case PVCORE_EVTCHNOP_bind_pirq:
        rc = bind_pirq(c, hc_get_le32(b), hc_get_le32(b + 4), &out);
        if (rc == 0) {
            hc_put_le(b + 8, out, 4);
            write_back = true;
        }
        break;
    case PVCORE_EVTCHNOP_bind_ipi:
        rc = bind_ipi(c, hc_get_le32(b), &out);
        if (rc == 0) {
            hc_put_le(b + 4, out, 4);
            write_back = true;
        }
        break;
    case PVCORE_EVTCHNOP_close:
        rc = close_port(c->d, hc_get_le32(b));
        break;
    case PVCORE_EVTCHNOP_send:
        rc = send(c, hc_get_le32(b));
        break;
    case PVCORE_EVTCHNOP_status:
        rc = status(c, b);
        write_back = rc == 0;
        break;
    case PVCORE_EVTCHNOP_bind_vcpu:
        rc = bind_vcpu(c, hc_get_le32(b), hc_get_le32(b + 4));
        break;
    case PVCORE_EVTCHNOP_unmask:
        rc = unmask(c, hc_get_le32(b));
        break;
    case PVCORE_EVTCHNOP_init_control:
        rc = init_control(c, hc_get_le64(b), hc_get_le32(b + 8), hc_get_le32(b + 12));
        if (rc == 0) {
            b[16] = PVCORE_EVTCHN_FIFO_LINK_BITS;
            write_back = true;
        }
        break;
    case PVCORE_EVTCHNOP_expand_array:
        rc = expand_array(c, hc_get_le64(b));
        break;
    case PVCORE_EVTCHNOP_set_priority:
        rc = set_priority(c, hc_get_le32(b), hc_get_le32(b + 4));
        break;
    default: /* reset, reset_cont */
        rc = reset(c, (uint16_t)(b[0] | b[1] << 8));
        if (rc == -PVCORE_ERESTART) {
            return PVCORE_HYPERCALL_RESTART; /* the same call again: closed ports are skipped */
        }
        break;
    }
    if (write_back && hc_copy_out(c, arg, b, size) != 0) {
        rc = -PVCORE_EFAULT; /* what was bound stays bound, as in Xen */
    }
    *ret = rc;
    return PVCORE_HYPERCALL_DONE;
}

/* ---- the embedder's side ------------------------------------------------------------------ */

size_t pvcore_evtchn_table_size(uint32_t nr_ports)
{
    if (nr_ports < 2 || nr_ports > PVCORE_EVTCHN_FIFO_NR_CHANNELS) {
        return 0;
    }
    return (size_t)nr_ports * sizeof(struct evtchn_port);
}

int pvcore_domain_set_evtchn_table(struct pvcore_domain *pd, void *mem, size_t bytes)
{
    struct domain *d = (struct domain *)(void *)pd;
    size_t n;
    int rc = 0;

    if (d == NULL || mem == NULL || ((uintptr_t)mem & 3u) != 0 ||
        bytes < pvcore_evtchn_table_size(2)) {
        return -PVCORE_EINVAL;
    }
    n = bytes / sizeof(struct evtchn_port);
    if (n > PVCORE_EVTCHN_FIFO_NR_CHANNELS) {
        n = PVCORE_EVTCHN_FIFO_NR_CHANNELS;
    }
    spin_lock(&d->evt.lock);
    if (d->evt.ports != NULL) {
        rc = -PVCORE_EBUSY;
    } else {
        struct evtchn_port *ports = mem;
        size_t i;

        /* (last_vcpu and last_priority outlive a port's release: the queue it was last
         * linked on may still end with it; see fifo_set_pending().) */
        memset(ports, 0, n * sizeof(*ports));
        for (i = 0; i < n; i++) {
            port_clear(&ports[i]);
            ports[i].priority = PVCORE_EVTCHN_FIFO_PRIORITY_DEFAULT;
        }
        ports[0].state = ECS_RESERVED;
        d->evt.ports = ports;
        d->evt.table_ports = (uint32_t)n;
        /* The 2-level ABI's share; all of it once the guest switches to FIFO. */
        d->evt.nr_ports = (uint32_t)(n < limit_2l(d) ? n : limit_2l(d));
    }
    spin_unlock(&d->evt.lock);
    return rc;
}

int pvcore_domain_evtchn_alloc_unbound(struct pvcore_domain *pd, uint16_t remote_domid, uint32_t *port)
{
    struct domain *d = (struct domain *)(void *)pd;

    if (d == NULL || port == NULL || remote_domid == PVCORE_DOMID_SELF) {
        return -PVCORE_EINVAL;
    }
    return (int)unbound_port(d, remote_domid, true, port);
}

uint32_t pvcore_evtchn_nr_ports(const struct pvcore_domain *pd)
{
    struct domain *d = (struct domain *)(uintptr_t)(const void *)pd;
    uint32_t n;

    spin_lock(&d->evt.lock);
    n = d->evt.nr_ports;
    spin_unlock(&d->evt.lock);
    return n;
}

/* Raises the port that `*binding` (a VIRQ's or a PIRQ's entry, read under d's lock) names:
 * -ENOENT while none is bound (0, or a PIRQ still being bound). */
static int raise_bound(struct domain *d, const uint32_t *binding)
{
    struct deliver dv = DELIVER_NONE;
    struct evt_locked l = evt_lock1(d);
    uint32_t port = *binding;
    int rc = 0;

    if (port == 0 || port == PIRQ_BINDING) {
        rc = -PVCORE_ENOENT;
    } else {
        set_pending(&l, d, port, port_at(&l, d, port)->notify_vcpu, &dv);
    }
    evt_unlock(&l);
    deliver_finish(&dv);
    return rc;
}

int pvcore_evtchn_raise_virq(struct pvcore_vcpu *pv, uint32_t virq)
{
    struct vcpu *v = (struct vcpu *)(void *)pv;

    if (virq >= PVCORE_NR_VIRQS) {
        return -PVCORE_EINVAL;
    }
    return raise_bound(v->d, &(virq_is_global(virq) ? &v->d->vcpus[0] : v)->evt.virq_port[virq]);
}

int evtchn_port_pending(struct domain *d, uint32_t port)
{
    struct evt_locked l = evt_lock1(d);
    int rc;

    if (port_of(&l, d, port) == NULL) {
        rc = -PVCORE_EINVAL;
    } else {
        rc = port_pending(&l, d, port);
    }
    evt_unlock(&l);
    return rc;
}

int pvcore_evtchn_raise_pirq(struct pvcore_domain *pd, uint32_t pirq)
{
    struct domain *d = (struct domain *)(void *)pd;

    if (d == NULL || pirq >= PVCORE_NR_PIRQS) {
        return -PVCORE_EINVAL;
    }
    return raise_bound(d, &d->evt.pirq_port[pirq]);
}

int pvcore_vcpu_upcall_pending(const struct pvcore_vcpu *pv)
{
    const struct vcpu *v = (const struct vcpu *)(const void *)pv;
    uint8_t *vi = vcpu_info_of(v);

    if (vi == NULL) {
        return 0;
    }
    return atomic_load_explicit((_Atomic uint8_t *)(void *)(vi + VI_UPCALL_PENDING), memory_order_acquire) != 0 &&
           atomic_load_explicit((_Atomic uint8_t *)(void *)(vi + VI_UPCALL_MASK), memory_order_acquire) == 0;
}
