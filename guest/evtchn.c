/*
 * The guest-side event-channel dispatcher (<pvcore/guest/evtchn.h>).
 *
 * Shared memory (shared_info, vcpu_info, FIFO control blocks and event words) is written
 * by the hypervisor at any time, so every access to it is atomic. Bitmaps are accessed in
 * 32-bit units whatever the guest's width: x86 is little-endian, so bit b of a 64-bit
 * xen_ulong_t is bit b % 32 of its 32-bit half b / 32, and one code path serves both
 * widths without 64-bit atomics (which an i386 build would have to emulate). Exchanging a
 * 64-bit selector as two halves is as good as one exchange: each bit is still taken
 * exactly once, and a bit set after its half was taken comes with a fresh upcall.
 *
 * The port table holds, per port, an atomic pointer to the kernel's handler and the vCPU
 * the port notifies. A dispatch loads the pointer once and calls through what it loaded;
 * binding and unbinding are single atomic stores, safe from any vCPU and from handlers.
 *
 * Per-vCPU state (2-level round-robin position, FIFO local queue heads) is touched only
 * by that vCPU's dispatch, which is made exclusive by the odd/even dispatch counter.
 */
#include <pvcore/guest/evtchn.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#define NQ PVCORE_EVTCHN_FIFO_MAX_QUEUES
#define MAX_PAGES (PVCORE_GUEST_EVTCHN_MAX_PORTS / PVCORE_GUEST_EVTCHN_WORDS_PER_PAGE)
#define EV_P (UINT32_C(1) << PVCORE_EVTCHN_FIFO_PENDING)
#define EV_M (UINT32_C(1) << PVCORE_EVTCHN_FIFO_MASKED)
#define EV_L (UINT32_C(1) << PVCORE_EVTCHN_FIFO_LINKED)
#define EV_B (UINT32_C(1) << PVCORE_EVTCHN_FIFO_BUSY)
#define EV_LINK ((uint32_t)PVCORE_EVTCHN_FIFO_LINK_MASK)
/* Steps of one dispatch: 2 per bound port plus this. */
#define BUDGET_SLACK 64u
/* Compare-and-swap retries on one event word before giving up on it: Xen changes a word
 * a handful of times at most while linking; more means a hostile hypervisor. */
#define CAS_TRIES 64u
/* Retries of an unmask while the hypervisor holds BUSY. */
#define BUSY_TRIES 100000u

typedef _Atomic uint32_t a32;
typedef _Atomic uint8_t a8;

struct port {
    _Atomic(const struct pvcore_guest_evtchn_handler *) h;
    _Atomic uint32_t vcpu;
};

struct gvcpu {
    _Atomic(uint8_t *) vi;       /* vcpu_info */
    _Atomic(uint8_t *) cb;       /* FIFO control block */
    _Atomic uint32_t seq;        /* odd while dispatching */
    uint32_t rr;                 /* 2-level: the port to resume the scan at */
    uint32_t head[NQ];           /* FIFO: our head of each queue; 0 = read the block's */
};

struct pvcore_guest_evtchn {
    uint8_t *si;
    uint32_t width, shift;       /* width = 1 << shift bits per word and per selector */
    uint32_t nr_vcpus, nr_ports;
    uint32_t sel_off;            /* vcpu_info.evtchn_pending_sel */
    uint32_t mask_off;           /* shared_info.evtchn_mask (pending is at 2048 for both) */
    pvcore_guest_evtchn_op_fn op;
    void *op_ctx;
    _Atomic uint32_t mode;
    _Atomic uint32_t nr_bound;
    _Atomic uint32_t link_ports; /* FIFO: 2^link_bits */
    _Atomic uint32_t npages;     /* FIFO: event-array pages published */
    _Atomic uint32_t expanding;
    _Atomic(uint8_t *) pages[MAX_PAGES];
    struct gvcpu *vcpu;
    struct port *ports;
};

#define PENDING_OFF ((uint32_t)offsetof(struct pvcore_shared_info_x86_64, evtchn_pending))
#define VI_UPCALL ((uint32_t)offsetof(struct pvcore_vcpu_info_x86_64, evtchn_upcall_pending))
#define CB_READY ((uint32_t)offsetof(struct pvcore_evtchn_fifo_control_block, ready))
#define CB_HEAD(q) ((uint32_t)offsetof(struct pvcore_evtchn_fifo_control_block, head) + 4u * (q))

_Static_assert(offsetof(struct pvcore_shared_info_x86_32, evtchn_pending) == 2048,
               "pending bitmap at the same offset for both widths");
_Static_assert(offsetof(struct pvcore_vcpu_info_x86_32, evtchn_upcall_pending) == 0 &&
                   offsetof(struct pvcore_vcpu_info_x86_64, evtchn_upcall_pending) == 0,
               "upcall_pending first in vcpu_info");

static a32 *u32_at(uint8_t *base, uint32_t off)
{
    return (a32 *)(void *)(base + off);
}

static size_t align8(size_t n)
{
    return (n + 7u) & ~(size_t)7u;
}

static int op_result(int64_t rc)
{
    if (rc >= 0) {
        return 0;
    }
    return rc < -4095 ? -PVCORE_EIO : (int)rc;
}

static int hcall(struct pvcore_guest_evtchn *g, uint32_t cmd, void *arg)
{
    return op_result(g->op(g->op_ctx, cmd, arg));
}

static uint32_t ctz32(uint32_t x)
{
    return (uint32_t)__builtin_ctz(x);
}

static uint32_t ctz64(uint64_t x)
{
    uint32_t lo = (uint32_t)x;
    return lo != 0 ? ctz32(lo) : 32u + ctz32((uint32_t)(x >> 32));
}

static bool is_fifo(const struct pvcore_guest_evtchn *g)
{
    return atomic_load_explicit(&g->mode, memory_order_acquire) == PVCORE_GUEST_EVTCHN_FIFO;
}

size_t pvcore_guest_evtchn_size(uint32_t nr_vcpus, uint32_t nr_ports)
{
    if (nr_vcpus < 1 || nr_vcpus > PVCORE_GUEST_EVTCHN_MAX_VCPUS || nr_ports < 2 ||
        nr_ports > PVCORE_GUEST_EVTCHN_MAX_PORTS) {
        return 0;
    }
    return align8(sizeof(struct pvcore_guest_evtchn)) + align8(nr_vcpus * sizeof(struct gvcpu)) +
           align8(nr_ports * sizeof(struct port));
}

int pvcore_guest_evtchn_init(void *mem, size_t bytes, const struct pvcore_guest_evtchn_config *cfg,
                             struct pvcore_guest_evtchn **out)
{
    struct pvcore_guest_evtchn *g;
    size_t need;
    uint32_t v;

    if (mem == NULL || out == NULL || cfg == NULL || ((uintptr_t)mem & 7u) != 0 ||
        cfg->shared_info == NULL || cfg->event_channel_op == NULL ||
        (cfg->width != 32 && cfg->width != 64)) {
        return -PVCORE_EINVAL;
    }
    need = pvcore_guest_evtchn_size(cfg->nr_vcpus, cfg->nr_ports);
    if (need == 0 || bytes < need) {
        return -PVCORE_EINVAL;
    }
    memset(mem, 0, need);
    g = mem;
    g->si = cfg->shared_info;
    g->width = cfg->width;
    g->shift = cfg->width == 64 ? 6u : 5u;
    g->nr_vcpus = cfg->nr_vcpus;
    g->nr_ports = cfg->nr_ports;
    g->op = cfg->event_channel_op;
    g->op_ctx = cfg->op_ctx;
    if (cfg->width == 64) {
        g->sel_off = (uint32_t)offsetof(struct pvcore_vcpu_info_x86_64, evtchn_pending_sel);
        g->mask_off = (uint32_t)offsetof(struct pvcore_shared_info_x86_64, evtchn_mask);
    } else {
        g->sel_off = (uint32_t)offsetof(struct pvcore_vcpu_info_x86_32, evtchn_pending_sel);
        g->mask_off = (uint32_t)offsetof(struct pvcore_shared_info_x86_32, evtchn_mask);
    }
    g->vcpu = (struct gvcpu *)(void *)((uint8_t *)mem + align8(sizeof(*g)));
    g->ports = (struct port *)(void *)((uint8_t *)g->vcpu + align8(cfg->nr_vcpus * sizeof(struct gvcpu)));
    atomic_init(&g->mode, PVCORE_GUEST_EVTCHN_2L);
    atomic_init(&g->link_ports, 0);
    for (v = 0; v < cfg->nr_vcpus && v < PVCORE_XEN_LEGACY_MAX_VCPUS; v++) {
        /* Both widths' vcpu_info are 64 bytes at the start of the page. */
        atomic_init(&g->vcpu[v].vi, g->si + 64u * v);
    }
    *out = g;
    return 0;
}

int pvcore_guest_evtchn_set_vcpu_info(struct pvcore_guest_evtchn *g, uint32_t vcpu, void *vcpu_info)
{
    if (g == NULL || vcpu >= g->nr_vcpus) {
        return -PVCORE_EINVAL;
    }
    atomic_store_explicit(&g->vcpu[vcpu].vi, (uint8_t *)vcpu_info, memory_order_release);
    return 0;
}

uint32_t pvcore_guest_evtchn_mode(const struct pvcore_guest_evtchn *g)
{
    return atomic_load_explicit(&g->mode, memory_order_acquire);
}

uint32_t pvcore_guest_evtchn_nr_ports(const struct pvcore_guest_evtchn *g)
{
    uint32_t lim;

    if (is_fifo(g)) {
        lim = atomic_load_explicit(&g->link_ports, memory_order_acquire);
    } else {
        lim = g->width * g->width;
    }
    return g->nr_ports < lim ? g->nr_ports : lim;
}

uint32_t pvcore_guest_evtchn_nr_bound(const struct pvcore_guest_evtchn *g)
{
    return atomic_load_explicit(&g->nr_bound, memory_order_relaxed);
}

static bool port_ok(const struct pvcore_guest_evtchn *g, uint32_t port)
{
    return port != 0 && port < pvcore_guest_evtchn_nr_ports(g);
}

/* ---- binding ------------------------------------------------------------------------ */

int pvcore_guest_evtchn_bind(struct pvcore_guest_evtchn *g, uint32_t port, uint32_t vcpu,
                             const struct pvcore_guest_evtchn_handler *h)
{
    const struct pvcore_guest_evtchn_handler *none = NULL;
    struct port *p;

    if (g == NULL || h == NULL || h->fn == NULL || vcpu >= g->nr_vcpus || !port_ok(g, port)) {
        return -PVCORE_EINVAL;
    }
    p = &g->ports[port];
    /* The vCPU first: a dispatch that sees the handler routes by it. A concurrent bind
     * of the same port may overwrite it before losing the race below; the winner's
     * store is the one that follows its own exchange, so it is repeated after. */
    atomic_store_explicit(&p->vcpu, vcpu, memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(&p->h, &none, h, memory_order_seq_cst,
                                                 memory_order_relaxed)) {
        return -PVCORE_EEXIST;
    }
    atomic_store_explicit(&p->vcpu, vcpu, memory_order_relaxed);
    atomic_fetch_add_explicit(&g->nr_bound, 1, memory_order_relaxed);
    return 0;
}

int pvcore_guest_evtchn_unbind(struct pvcore_guest_evtchn *g, uint32_t port)
{
    if (g == NULL || port == 0 || port >= g->nr_ports) {
        return -PVCORE_EINVAL;
    }
    /* seq_cst: ordered before the caller's reads of the dispatch counters. */
    if (atomic_exchange_explicit(&g->ports[port].h, NULL, memory_order_seq_cst) == NULL) {
        return -PVCORE_ENOENT;
    }
    atomic_fetch_sub_explicit(&g->nr_bound, 1, memory_order_relaxed);
    return 0;
}

/* Binds a port the hypervisor just gave us; closes it again if that fails. */
static int bind_new(struct pvcore_guest_evtchn *g, uint32_t port, uint32_t vcpu,
                    const struct pvcore_guest_evtchn_handler *h, uint32_t *out)
{
    int rc = pvcore_guest_evtchn_bind(g, port, vcpu, h);

    if (rc != 0) {
        struct pvcore_evtchn_close c = { port };
        (void)hcall(g, PVCORE_EVTCHNOP_close, &c);
        return rc;
    }
    if (out != NULL) {
        *out = port;
    }
    return 0;
}

static bool bind_args_ok(const struct pvcore_guest_evtchn *g, uint32_t vcpu,
                         const struct pvcore_guest_evtchn_handler *h)
{
    return g != NULL && h != NULL && h->fn != NULL && vcpu < g->nr_vcpus;
}

int pvcore_guest_evtchn_bind_virq(struct pvcore_guest_evtchn *g, uint32_t virq, uint32_t vcpu,
                                  const struct pvcore_guest_evtchn_handler *h, uint32_t *port)
{
    struct pvcore_evtchn_bind_virq b = { virq, vcpu, 0 };
    int rc;

    if (!bind_args_ok(g, vcpu, h)) {
        return -PVCORE_EINVAL;
    }
    if ((rc = hcall(g, PVCORE_EVTCHNOP_bind_virq, &b)) != 0) {
        return rc;
    }
    return bind_new(g, b.port, vcpu, h, port);
}

int pvcore_guest_evtchn_bind_ipi(struct pvcore_guest_evtchn *g, uint32_t vcpu,
                                 const struct pvcore_guest_evtchn_handler *h, uint32_t *port)
{
    struct pvcore_evtchn_bind_ipi b = { vcpu, 0 };
    int rc;

    if (!bind_args_ok(g, vcpu, h)) {
        return -PVCORE_EINVAL;
    }
    if ((rc = hcall(g, PVCORE_EVTCHNOP_bind_ipi, &b)) != 0) {
        return rc;
    }
    return bind_new(g, b.port, vcpu, h, port);
}

int pvcore_guest_evtchn_bind_interdomain(struct pvcore_guest_evtchn *g, pvcore_domid_t remote_dom,
                                         uint32_t remote_port,
                                         const struct pvcore_guest_evtchn_handler *h, uint32_t *port)
{
    struct pvcore_evtchn_bind_interdomain b = { remote_dom, remote_port, 0 };
    int rc;

    if (!bind_args_ok(g, 0, h)) {
        return -PVCORE_EINVAL;
    }
    if ((rc = hcall(g, PVCORE_EVTCHNOP_bind_interdomain, &b)) != 0) {
        return rc;
    }
    return bind_new(g, b.local_port, 0, h, port);
}

int pvcore_guest_evtchn_alloc_unbound(struct pvcore_guest_evtchn *g, pvcore_domid_t remote_dom,
                                      const struct pvcore_guest_evtchn_handler *h, uint32_t *port)
{
    struct pvcore_evtchn_alloc_unbound a = { PVCORE_DOMID_SELF, remote_dom, 0 };
    int rc;

    if (!bind_args_ok(g, 0, h)) {
        return -PVCORE_EINVAL;
    }
    if ((rc = hcall(g, PVCORE_EVTCHNOP_alloc_unbound, &a)) != 0) {
        return rc;
    }
    return bind_new(g, a.port, 0, h, port);
}

/* ---- masks -------------------------------------------------------------------------- */

/* The FIFO event word of a port, or NULL when its page has not been added. */
static a32 *fifo_word(const struct pvcore_guest_evtchn *g, uint32_t port)
{
    uint32_t pg = port / PVCORE_GUEST_EVTCHN_WORDS_PER_PAGE;
    uint8_t *page;

    if (pg >= atomic_load_explicit(&g->npages, memory_order_acquire)) {
        return NULL;
    }
    page = atomic_load_explicit(&g->pages[pg], memory_order_acquire);
    return u32_at(page, 4u * (port % PVCORE_GUEST_EVTCHN_WORDS_PER_PAGE));
}

static a32 *l2_pending(const struct pvcore_guest_evtchn *g, uint32_t port)
{
    return u32_at(g->si, PENDING_OFF + 4u * (port >> 5));
}

static a32 *l2_mask(const struct pvcore_guest_evtchn *g, uint32_t port)
{
    return u32_at(g->si, g->mask_off + 4u * (port >> 5));
}

static uint32_t bit32(uint32_t port)
{
    return UINT32_C(1) << (port & 31u);
}

/* Sets the mask; *was says whether it was set before. */
static int mask_port(struct pvcore_guest_evtchn *g, uint32_t port, bool *was)
{
    uint32_t old;

    if (g == NULL || !port_ok(g, port)) {
        return -PVCORE_EINVAL;
    }
    if (is_fifo(g)) {
        a32 *w = fifo_word(g, port);
        if (w == NULL) {
            return -PVCORE_ENOSPC;
        }
        old = atomic_fetch_or_explicit(w, EV_M, memory_order_seq_cst);
        *was = (old & EV_M) != 0;
    } else {
        old = atomic_fetch_or_explicit(l2_mask(g, port), bit32(port), memory_order_seq_cst);
        *was = (old & bit32(port)) != 0;
    }
    return 0;
}

int pvcore_guest_evtchn_mask(struct pvcore_guest_evtchn *g, uint32_t port)
{
    bool was;
    return mask_port(g, port, &was);
}

static int hcall_unmask(struct pvcore_guest_evtchn *g, uint32_t port)
{
    struct pvcore_evtchn_unmask u = { port };
    return hcall(g, PVCORE_EVTCHNOP_unmask, &u);
}

static int unmask_2l(struct pvcore_guest_evtchn *g, uint32_t port)
{
    uint32_t b = bit32(port);

    /* Pending: let the hypervisor clear the mask, which is what makes it deliver (to
     * the port's own vCPU, which need not be us). */
    if (atomic_load_explicit(l2_pending(g, port), memory_order_seq_cst) & b) {
        return hcall_unmask(g, port);
    }
    atomic_fetch_and_explicit(l2_mask(g, port), ~b, memory_order_seq_cst);
    /* An event that arrived while the bit was still set left no selector bit: mask again
     * and let the hypercall's unmask deliver it. (seq_cst: this load is ordered after the
     * clear, as the hypervisor's mask test is after its pending set.) */
    if (atomic_load_explicit(l2_pending(g, port), memory_order_seq_cst) & b) {
        atomic_fetch_or_explicit(l2_mask(g, port), b, memory_order_seq_cst);
        return hcall_unmask(g, port);
    }
    return 0;
}

static int unmask_fifo(struct pvcore_guest_evtchn *g, uint32_t port)
{
    a32 *w = fifo_word(g, port);
    uint32_t old, tries;

    if (w == NULL) {
        return -PVCORE_ENOSPC;
    }
    old = atomic_load_explicit(w, memory_order_relaxed);
    for (tries = 0;; tries++) {
        /* Expect BUSY clear: while the hypervisor links onto this word it must not be
         * unmasked under it. */
        uint32_t expect = old & ~EV_B;
        if (atomic_compare_exchange_weak_explicit(w, &expect, expect & ~EV_M, memory_order_seq_cst,
                                                  memory_order_relaxed)) {
            old = expect;
            break;
        }
        old = expect;
        if (tries >= BUSY_TRIES) {
            return -PVCORE_EAGAIN;
        }
    }
    if (old & EV_P) {
        return hcall_unmask(g, port); /* relinks it */
    }
    return 0;
}

int pvcore_guest_evtchn_unmask(struct pvcore_guest_evtchn *g, uint32_t port)
{
    if (g == NULL || !port_ok(g, port)) {
        return -PVCORE_EINVAL;
    }
    return is_fifo(g) ? unmask_fifo(g, port) : unmask_2l(g, port);
}

int pvcore_guest_evtchn_mask_all(struct pvcore_guest_evtchn *g)
{
    uint32_t i, n;

    if (g == NULL || is_fifo(g)) {
        return -PVCORE_EINVAL;
    }
    n = g->width * g->width / 32u;
    for (i = 0; i < n; i++) {
        atomic_store_explicit(u32_at(g->si, g->mask_off + 4u * i), UINT32_MAX, memory_order_seq_cst);
    }
    return 0;
}

int pvcore_guest_evtchn_close(struct pvcore_guest_evtchn *g, uint32_t port)
{
    struct pvcore_evtchn_close c = { port };
    bool was;
    int rc;

    if (g == NULL || !port_ok(g, port)) {
        return -PVCORE_EINVAL;
    }
    rc = mask_port(g, port, &was);
    if (rc != 0 && rc != -PVCORE_ENOSPC) {
        return rc;
    }
    (void)pvcore_guest_evtchn_unbind(g, port);
    return hcall(g, PVCORE_EVTCHNOP_close, &c);
}

int pvcore_guest_evtchn_move(struct pvcore_guest_evtchn *g, uint32_t port, uint32_t vcpu)
{
    struct pvcore_evtchn_bind_vcpu b = { port, vcpu };
    bool was = true;
    int rc;

    if (g == NULL || vcpu >= g->nr_vcpus || !port_ok(g, port)) {
        return -PVCORE_EINVAL;
    }
    rc = mask_port(g, port, &was);
    if (rc != 0 && rc != -PVCORE_ENOSPC) {
        return rc;
    }
    rc = hcall(g, PVCORE_EVTCHNOP_bind_vcpu, &b);
    if (rc == 0) {
        atomic_store_explicit(&g->ports[port].vcpu, vcpu, memory_order_seq_cst);
    }
    if (!was) {
        int rc2 = pvcore_guest_evtchn_unmask(g, port);
        if (rc == 0) {
            rc = rc2;
        }
    }
    return rc;
}

int pvcore_guest_evtchn_notify(struct pvcore_guest_evtchn *g, uint32_t port)
{
    struct pvcore_evtchn_send s = { port };

    if (g == NULL) {
        return -PVCORE_EINVAL;
    }
    return hcall(g, PVCORE_EVTCHNOP_send, &s);
}

/* ---- dispatch: common ----------------------------------------------------------------- */

struct scan {
    struct pvcore_guest_evtchn *g;
    struct gvcpu *gv;
    uint8_t *vi;
    uint32_t v;
    uint32_t budget;
    int calls;
};

static void upcall_set(struct scan *s, uint8_t val)
{
    atomic_store_explicit((a8 *)(void *)(s->vi + VI_UPCALL), val, memory_order_seq_cst);
}

static bool upcall_get(struct scan *s)
{
    return atomic_load_explicit((a8 *)(void *)(s->vi + VI_UPCALL), memory_order_seq_cst) != 0;
}

static bool spend(struct scan *s)
{
    if (s->budget == 0) {
        return false;
    }
    s->budget--;
    return true;
}

static void call(struct scan *s, const struct pvcore_guest_evtchn_handler *h, uint32_t port)
{
    h->fn(h->arg, port, s->v);
    s->calls++;
}

/* ---- dispatch: 2-level ---------------------------------------------------------------- */

static uint64_t sel_take(struct scan *s)
{
    a32 *sel = u32_at(s->vi, s->g->sel_off);
    uint64_t v = atomic_exchange_explicit(&sel[0], 0, memory_order_seq_cst);

    if (s->g->width == 64) {
        v |= (uint64_t)atomic_exchange_explicit(&sel[1], 0, memory_order_seq_cst) << 32;
    }
    return v;
}

/* Returns selector bits the scan did not finish, and raises the upcall again for them. */
static void sel_put_back(struct scan *s, uint64_t bits)
{
    a32 *sel = u32_at(s->vi, s->g->sel_off);

    if ((uint32_t)bits != 0) {
        atomic_fetch_or_explicit(&sel[0], (uint32_t)bits, memory_order_seq_cst);
    }
    if ((bits >> 32) != 0) {
        atomic_fetch_or_explicit(&sel[1], (uint32_t)(bits >> 32), memory_order_seq_cst);
    }
    upcall_set(s, 1);
}

static void l2_port(struct scan *s, uint32_t port)
{
    struct pvcore_guest_evtchn *g = s->g;
    const struct pvcore_guest_evtchn_handler *h = NULL;
    uint32_t b = bit32(port), old;

    if (port < g->nr_ports) {
        h = atomic_load_explicit(&g->ports[port].h, memory_order_seq_cst);
        if (h != NULL && atomic_load_explicit(&g->ports[port].vcpu, memory_order_relaxed) != s->v) {
            return; /* another vCPU's port: its selector bit is set on that vCPU */
        }
    }
    /* Cleared before the handler runs, so an event during the handler is a new one. */
    old = atomic_fetch_and_explicit(l2_pending(g, port), ~b, memory_order_seq_cst);
    if ((old & b) != 0 && h != NULL) {
        call(s, h, port);
    }
}

/* Pending, unmasked ports of selector word w with bit numbers in [lo, hi). Returns false
 * when the budget ran out before the word was finished. */
static bool l2_word(struct scan *s, uint32_t w, uint32_t lo, uint32_t hi)
{
    struct pvcore_guest_evtchn *g = s->g;
    uint32_t first = w << g->shift, nchunks = g->width / 32u, c;

    for (c = 0; c < nchunks; c++) {
        uint32_t base = first + 32u * c, bits;
        uint32_t clo = lo > 32u * c ? lo - 32u * c : 0, chi = hi > 32u * c ? hi - 32u * c : 0;

        if (chi > 32u) {
            chi = 32u;
        }
        if (clo >= chi) {
            continue;
        }
        bits = atomic_load_explicit(l2_pending(g, base), memory_order_seq_cst) &
               ~atomic_load_explicit(l2_mask(g, base), memory_order_seq_cst);
        bits &= (chi == 32u ? UINT32_MAX : (UINT32_C(1) << chi) - 1u) & ~((UINT32_C(1) << clo) - 1u);
        while (bits != 0) {
            uint32_t port = base + ctz32(bits);

            if (!spend(s)) {
                return false;
            }
            bits &= bits - 1u;
            l2_port(s, port);
            s->gv->rr = port + 1u < g->width * g->width ? port + 1u : 0;
        }
    }
    return true;
}

static uint64_t rotr(uint64_t x, uint32_t n, uint32_t width)
{
    uint64_t m = width == 64 ? UINT64_MAX : (UINT64_C(1) << width) - 1u;

    x &= m;
    return n == 0 ? x : ((x >> n) | (x << (width - n))) & m;
}

static uint64_t rotl(uint64_t x, uint32_t n, uint32_t width)
{
    return n == 0 ? rotr(x, 0, width) : rotr(x, width - n, width);
}

/* One pass over the selector bits taken, starting at the word and bit after the last
 * port handled and wrapping around to just before it. */
static void l2_round(struct scan *s, uint64_t sel)
{
    uint32_t width = s->g->width, wmask = width - 1u;
    uint32_t start = s->gv->rr < width * width ? s->gv->rr : 0;
    uint32_t sw = start >> s->g->shift, sb = start & wmask;
    uint64_t rot = rotr(sel, sw, width);
    bool low_part = false;

    while (rot != 0) {
        uint32_t k = ctz64(rot), w = (sw + k) & wmask, lo = 0;

        rot &= rot - 1u;
        if (k == 0 && sb != 0) {
            lo = sb; /* the bits below sb of the first word come last */
            low_part = true;
        }
        if (!l2_word(s, w, lo, width)) {
            uint64_t rest = rotl(rot, sw, width) | (UINT64_C(1) << w);
            sel_put_back(s, low_part ? rest | (UINT64_C(1) << sw) : rest);
            return;
        }
    }
    if (low_part && !l2_word(s, sw, 0, sb)) {
        sel_put_back(s, UINT64_C(1) << sw);
    }
}

static void l2_scan(struct scan *s)
{
    for (;;) {
        uint64_t sel;

        /* Cleared before the selector is taken: an event after the exchange sets it
         * again and is seen by the check below. */
        upcall_set(s, 0);
        sel = sel_take(s);
        if (sel != 0) {
            l2_round(s, sel);
            if (s->budget == 0) {
                return; /* whatever is left was put back with the upcall raised */
            }
        }
        if (!upcall_get(s) || !spend(s)) {
            return;
        }
    }
}

/* ---- dispatch: FIFO --------------------------------------------------------------------- */

static bool fifo_link_ok(const struct pvcore_guest_evtchn *g, uint32_t port)
{
    return port != 0 && port < g->nr_ports &&
           port < atomic_load_explicit(&g->link_ports, memory_order_relaxed) &&
           port / PVCORE_GUEST_EVTCHN_WORDS_PER_PAGE < atomic_load_explicit(&g->npages, memory_order_acquire);
}

/* Takes the event at the head of queue q and delivers it. Returns false when the queue
 * is now empty as far as this vCPU can tell (the hypervisor then writes HEAD and sets
 * READY again for the next event). */
static bool fifo_pop(struct scan *s, uint8_t *cb, uint32_t q)
{
    struct pvcore_guest_evtchn *g = s->g;
    const struct pvcore_guest_evtchn_handler *h;
    uint32_t port = s->gv->head[q], next = 0, old, tries;
    a32 *w;

    if (port == 0) {
        /* Acquire: HEAD was written before READY, which we have exchanged. */
        port = atomic_load_explicit(u32_at(cb, CB_HEAD(q)), memory_order_acquire);
    }
    if (!fifo_link_ok(g, port) || (w = fifo_word(g, port)) == NULL) {
        s->gv->head[q] = 0;
        return false;
    }
    /* Unlink: LINKED and LINK cleared in one step, remembering LINK. If the hypervisor
     * links a new tail to this word first, the exchange fails and we see its LINK. */
    old = atomic_load_explicit(w, memory_order_acquire);
    for (tries = 0; (old & EV_L) != 0; tries++) {
        if (tries >= CAS_TRIES) {
            old &= ~EV_L; /* a word that never settles: end the queue here */
            break;
        }
        if (atomic_compare_exchange_weak_explicit(w, &old, old & ~(EV_L | EV_LINK), memory_order_seq_cst,
                                                  memory_order_acquire)) {
            next = old & EV_LINK;
            break;
        }
    }
    /* A word that was not linked ends the queue (stale HEAD). A LINK out of range or to
     * itself ends it too; longer cycles end at the first word already unlinked. */
    if (next == port || !fifo_link_ok(g, next)) {
        next = 0;
    }
    s->gv->head[q] = next;

    /* Deliver: clear PENDING unless MASKED (a masked event stays pending so that unmask
     * relinks it). */
    h = atomic_load_explicit(&g->ports[port].h, memory_order_seq_cst);
    old = atomic_load_explicit(w, memory_order_relaxed);
    for (tries = 0; (old & (EV_P | EV_M)) == EV_P && tries < CAS_TRIES; tries++) {
        if (atomic_compare_exchange_weak_explicit(w, &old, old & ~EV_P, memory_order_seq_cst,
                                                  memory_order_relaxed)) {
            if (h != NULL) {
                call(s, h, port);
            }
            break;
        }
    }
    return next != 0;
}

static void fifo_scan(struct scan *s)
{
    uint8_t *cb = atomic_load_explicit(&s->gv->cb, memory_order_acquire);
    a32 *ready_w;
    uint32_t ready = 0;

    if (cb == NULL) {
        upcall_set(s, 0); /* no control block: the hypervisor queues nothing for us */
        return;
    }
    ready_w = u32_at(cb, CB_READY);
    for (;;) {
        upcall_set(s, 0);
        ready |= atomic_exchange_explicit(ready_w, 0, memory_order_seq_cst);
        ready &= (UINT32_C(1) << NQ) - 1u;
        while (ready != 0) {
            uint32_t q = ctz32(ready);

            if (!spend(s)) {
                atomic_fetch_or_explicit(ready_w, ready, memory_order_seq_cst);
                upcall_set(s, 1);
                return;
            }
            if (!fifo_pop(s, cb, q)) {
                ready &= ~(UINT32_C(1) << q);
            }
            /* Re-read READY after every event: a queue that emptied may have been
             * refilled (HEAD rewritten), and a higher priority may have become ready. */
            ready |= atomic_exchange_explicit(ready_w, 0, memory_order_seq_cst);
            ready &= (UINT32_C(1) << NQ) - 1u;
        }
        if (!upcall_get(s) || !spend(s)) {
            return;
        }
    }
}

/* ---- dispatch ------------------------------------------------------------------------------ */

int pvcore_guest_evtchn_dispatch(struct pvcore_guest_evtchn *g, uint32_t vcpu)
{
    struct scan s;
    uint32_t seq;

    if (g == NULL || vcpu >= g->nr_vcpus) {
        return -PVCORE_EINVAL;
    }
    s.g = g;
    s.gv = &g->vcpu[vcpu];
    s.v = vcpu;
    s.calls = 0;
    s.vi = atomic_load_explicit(&s.gv->vi, memory_order_acquire);
    if (s.vi == NULL) {
        return -PVCORE_ENOENT;
    }
    /* Enter: even -> odd. A nested call (the same vCPU, from a handler that enabled
     * events) finds it odd and leaves the work to the outer call. */
    seq = atomic_load_explicit(&s.gv->seq, memory_order_relaxed);
    do {
        if (seq & 1u) {
            return -PVCORE_EBUSY;
        }
    } while (!atomic_compare_exchange_weak_explicit(&s.gv->seq, &seq, seq + 1u, memory_order_seq_cst,
                                                    memory_order_relaxed));
    s.budget = 2u * atomic_load_explicit(&g->nr_bound, memory_order_relaxed) + BUDGET_SLACK;
    if (is_fifo(g)) {
        fifo_scan(&s);
    } else {
        l2_scan(&s);
    }
    /* Release: the handlers' accesses happen before a waiter sees the counter move. */
    atomic_store_explicit(&s.gv->seq, seq + 2u, memory_order_release);
    return s.calls;
}

uint32_t pvcore_guest_evtchn_dispatch_seq(const struct pvcore_guest_evtchn *g, uint32_t vcpu)
{
    if (g == NULL || vcpu >= g->nr_vcpus) {
        return 0;
    }
    return atomic_load_explicit(&g->vcpu[vcpu].seq, memory_order_seq_cst);
}

/* ---- FIFO setup --------------------------------------------------------------------------- */

int pvcore_guest_evtchn_reset(struct pvcore_guest_evtchn *g)
{
    struct pvcore_evtchn_reset r = { PVCORE_DOMID_SELF };
    uint32_t i;
    int rc;

    if (g == NULL) {
        return -PVCORE_EINVAL;
    }
    if ((rc = hcall(g, PVCORE_EVTCHNOP_reset, &r)) != 0) {
        return rc; /* (-EAGAIN: a port was opened meanwhile; the ABI is unchanged) */
    }
    /* Every port is closed and the domain is on the 2-level ABI: so are we. Mode first,
     * so that a dispatch from now on scans the 2-level bitmaps, not the pages below. */
    atomic_store_explicit(&g->mode, PVCORE_GUEST_EVTCHN_2L, memory_order_seq_cst);
    for (i = 1; i < g->nr_ports; i++) {
        atomic_store_explicit(&g->ports[i].h, NULL, memory_order_seq_cst);
    }
    atomic_store_explicit(&g->nr_bound, 0, memory_order_relaxed);
    for (i = 0; i < g->nr_vcpus; i++) {
        atomic_store_explicit(&g->vcpu[i].cb, NULL, memory_order_release);
        memset(g->vcpu[i].head, 0, sizeof(g->vcpu[i].head));
    }
    atomic_store_explicit(&g->npages, 0, memory_order_release);
    for (i = 0; i < MAX_PAGES; i++) {
        atomic_store_explicit(&g->pages[i], NULL, memory_order_relaxed);
    }
    atomic_store_explicit(&g->link_ports, 0, memory_order_relaxed);
    return 0;
}

int pvcore_guest_evtchn_fifo_init_control(struct pvcore_guest_evtchn *g, uint32_t vcpu, void *cb,
                                          uint64_t gfn, uint32_t offset)
{
    struct pvcore_evtchn_init_control ic;
    struct gvcpu *gv;
    int rc;

    if (g == NULL || vcpu >= g->nr_vcpus || cb == NULL || ((uintptr_t)cb & 7u) != 0 || (offset & 7u) != 0 ||
        offset > 4096u - sizeof(struct pvcore_evtchn_fifo_control_block)) {
        return -PVCORE_EINVAL;
    }
    gv = &g->vcpu[vcpu];
    if (atomic_load_explicit(&gv->cb, memory_order_relaxed) != NULL) {
        return -PVCORE_EINVAL;
    }
    memset(&ic, 0, sizeof(ic));
    ic.control_gfn = gfn;
    ic.offset = offset;
    ic.vcpu = vcpu;
    memset(cb, 0, sizeof(struct pvcore_evtchn_fifo_control_block));
    if ((rc = hcall(g, PVCORE_EVTCHNOP_init_control, &ic)) != 0) {
        return rc;
    }
    if (ic.link_bits == 0 || ic.link_bits > PVCORE_EVTCHN_FIFO_LINK_BITS) {
        return -PVCORE_EINVAL; /* the hypervisor switched; we cannot follow it */
    }
    memset(gv->head, 0, sizeof(gv->head));
    atomic_store_explicit(&g->link_ports, UINT32_C(1) << ic.link_bits, memory_order_release);
    atomic_store_explicit(&gv->cb, (uint8_t *)cb, memory_order_release);
    atomic_store_explicit(&g->mode, PVCORE_GUEST_EVTCHN_FIFO, memory_order_release);
    return 0;
}

int pvcore_guest_evtchn_fifo_expand(struct pvcore_guest_evtchn *g, void *page, uint64_t gfn)
{
    struct pvcore_evtchn_expand_array ea;
    uint32_t n, i, zero = 0;
    int rc;

    if (g == NULL || !is_fifo(g) || page == NULL || ((uintptr_t)page & 3u) != 0) {
        return -PVCORE_EINVAL;
    }
    if (!atomic_compare_exchange_strong_explicit(&g->expanding, &zero, 1, memory_order_acquire,
                                                 memory_order_relaxed)) {
        return -PVCORE_EBUSY;
    }
    n = atomic_load_explicit(&g->npages, memory_order_relaxed);
    if (n >= MAX_PAGES || n * PVCORE_GUEST_EVTCHN_WORDS_PER_PAGE >= g->nr_ports) {
        rc = -PVCORE_ENOSPC;
        goto out;
    }
    for (i = 0; i < PVCORE_GUEST_EVTCHN_WORDS_PER_PAGE; i++) {
        atomic_store_explicit(u32_at(page, 4u * i), EV_M, memory_order_relaxed);
    }
    memset(&ea, 0, sizeof(ea));
    ea.array_gfn = gfn;
    if ((rc = hcall(g, PVCORE_EVTCHNOP_expand_array, &ea)) == 0) {
        atomic_store_explicit(&g->pages[n], (uint8_t *)page, memory_order_release);
        /* Release: the page pointer is visible before the count that covers it. */
        atomic_store_explicit(&g->npages, n + 1u, memory_order_release);
    }
out:
    atomic_store_explicit(&g->expanding, 0, memory_order_release);
    return rc;
}

int pvcore_guest_evtchn_fifo_set_priority(struct pvcore_guest_evtchn *g, uint32_t port,
                                          uint32_t priority)
{
    struct pvcore_evtchn_set_priority sp = { port, priority };

    if (g == NULL || !is_fifo(g) || !port_ok(g, port) || priority > PVCORE_EVTCHN_FIFO_PRIORITY_MIN) {
        return -PVCORE_EINVAL;
    }
    return hcall(g, PVCORE_EVTCHNOP_set_priority, &sp);
}
