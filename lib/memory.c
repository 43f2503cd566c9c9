/*
 * memory_op: a guest's reservation grows (increase_reservation, populate_physmap) from the
 * embedder's frame source, shrinks (decrease_reservation), and trades frames for others
 * (exchange); and the embedder's holds on guest frames. Frames move through the transit
 * state of frame.h, so that no frame is ever reachable by two owners or by none with a
 * reference left.
 *
 * Guest arrays are read and written one element at a time through the copy hooks, with
 * no lock held; every element's address is checked by itself (base plus index, never the
 * base alone: XSA-212), besides the up-front check of the whole range Xen makes.
 */
#include <pvcore/memory.h>
#include <pvcore/abi/memory.h>

#include "internal/frame.h"
#include "internal/held.h"
#include "internal/hypercall.h"
#include "internal/m2p.h"
#include "internal/memory.h"

/* Xen's defaults for the largest extent (x86: CONFIG_DOMU_MAX_ORDER, CTLDOM_MAX_ORDER). */
#define DOMU_MAX_ORDER 9u
#define CTLDOM_MAX_ORDER 12u
/* A 32-bit guest's frame numbers are 32 bits wide: its frames lie below 2^44 bytes. */
#define COMPAT_ADDRESS_BITS 44u

void pvcore_machine_set_frame_source(struct pvcore_machine *pm, pvcore_frame_alloc_fn alloc, void *ctx)
{
    struct machine *m = (struct machine *)(void *)pm;

    m->frame_alloc = alloc;
    m->frame_alloc_ctx = alloc != NULL ? ctx : NULL;
}

static unsigned max_order(const struct domain *caller)
{
    return domain_privileged(caller) ? CTLDOM_MAX_ORDER : DOMU_MAX_ORDER;
}

/* ---- frames from the frame source --------------------------------------------------------- */

/* The address limit for frames of d: the guest's own (0: none), clamped for a 32-bit guest. */
static unsigned alloc_bits(const struct domain *d, unsigned bits)
{
    if (domain_is_32(d) && (bits == 0 || bits > COMPAT_ADDRESS_BITS)) {
        return COMPAT_ADDRESS_BITS;
    }
    return bits >= 64u ? 0u : bits;
}

int memory_alloc_transit(struct machine *m, const struct domain *d, unsigned order, unsigned bits,
                         uint64_t *first)
{
    uint64_t n = 1ull << order, i;
    pvcore_mfn_t f;

    bits = alloc_bits(d, bits);
    if (m->frame_alloc == NULL || m->frame_alloc(m->frame_alloc_ctx, d->domid, order, bits, &f) != 0) {
        return -PVCORE_ENOMEM;
    }
    /* The allocator is trusted only as far as it can be checked. */
    if ((f.v & (n - 1u)) != 0 || f.v >= m->nr_frames || n > m->nr_frames - f.v ||
        (bits != 0 && ((f.v + n - 1u) >> (bits - PVCORE_PAGE_SHIFT)) != 0)) {
        return -PVCORE_ENOMEM;
    }
    for (i = 0; i < n; i++) {
        if (!frame_take_free(m, f.v + i)) {
            while (i-- > 0) {
                frame_free_transit(m, f.v + i, DOMID_FREE);
            }
            return -PVCORE_ENOMEM;
        }
    }
    *first = f.v;
    return 0;
}

/* One new extent for d, counted against its max_pages; frame k at guest frame gfn + k
 * (gfn INVALID_MFN: none). 0, or -PVCORE_ENOMEM / -PVCORE_ESRCH. */
static int alloc_extent(struct domain *d, unsigned order, unsigned bits, uint64_t gfn, uint64_t *first)
{
    uint64_t n = 1ull << order, k;
    int rc = domain_reserve(d, n);

    if (rc != 0) {
        return rc;
    }
    rc = memory_alloc_transit(d->m, d, order, bits, first);
    if (rc != 0) {
        domain_unreserve(d, n);
        return rc;
    }
    for (k = 0; k < n; k++) {
        if (!frame_give(d, *first + k, gfn == INVALID_MFN ? INVALID_MFN : gfn + k)) {
            rc = -PVCORE_ESRCH; /* dying: the frame went back */
        }
    }
    return rc;
}

/* ---- the reservation commands ---------------------------------------------------------- */

struct resv {
    uint64_t list; /* guest address of the extent array; 0: none */
    uint64_t nr;
    uint32_t order;
    uint32_t flags;
    uint16_t domid;
};

/* A struct xen_memory_reservation of the caller's width. */
static void resv_decode(const struct caller *c, const uint8_t *b, struct resv *r)
{
    if (c->is32) {
        r->list = hc_get_le32(b);
        r->nr = hc_get_le32(b + 4);
        r->order = hc_get_le32(b + 8);
        r->flags = hc_get_le32(b + 12);
        r->domid = (uint16_t)(b[16] | b[17] << 8);
    } else {
        r->list = hc_get_le64(b);
        r->nr = hc_get_le64(b + 8);
        r->order = hc_get_le32(b + 16);
        r->flags = hc_get_le32(b + 20);
        r->domid = (uint16_t)(b[24] | b[25] << 8);
    }
}

static size_t word_of(const struct caller *c)
{
    return c->is32 ? 4u : 8u;
}

/* Elements [first, last] of the guest array at `list` are all inside the guest's address
 * space, as Xen's guest_handle_subrange_okay(). */
static bool subrange_ok(const struct caller *c, uint64_t list, uint64_t first, uint64_t last)
{
    uint64_t w = word_of(c);

    /* list + (last + 1) * w must not wrap (w is 4 or 8: a shift, no 64-bit division on
     * i386). */
    if (last < first || last >= (UINT64_MAX - list) >> (c->is32 ? 2 : 3)) {
        return false;
    }
    return hc_range_ok(c, list + first * w, (last - first + 1u) * w);
}

static int get_elem(const struct caller *c, uint64_t list, uint64_t i, uint64_t *val)
{
    uint8_t b[8];
    size_t w = word_of(c);
    int rc = hc_copy_in(c, b, list + i * w, w);

    if (rc == 0) {
        *val = c->is32 ? hc_get_le32(b) : hc_get_le64(b);
    }
    return rc;
}

static int put_elem(const struct caller *c, uint64_t list, uint64_t i, uint64_t val)
{
    uint8_t b[8];
    size_t w = word_of(c);

    hc_put_le(b, val, (unsigned)w);
    return hc_copy_out(c, list + i * w, b, w);
}

/* Work units for an extent of 2^order frames. */
static uint32_t extent_cost(unsigned order)
{
    return 1u + (uint32_t)((1ull << order) >> 4);
}

/* Drops d's allocation reference on its frame mfn (Xen's guest_remove_page() for a PV
 * guest): 0, or -PVCORE_EINVAL (no such frame), -PVCORE_ENXIO (not d's). A pinned page
 * table stays pinned (XSA-252: no implicit unpin) and is freed when it is unpinned. */
static int remove_frame(struct domain *d, uint64_t mfn)
{
    struct machine *m = d->m;

    if (mfn >= m->nr_frames || !mfn_is_ram(m, mfn)) {
        return -PVCORE_EINVAL;
    }
    if (!frame_get_page(m, mfn, d->domid)) {
        return -PVCORE_ENXIO;
    }
    (void)frame_put_alloc_ref(m, mfn);
    frame_put_page(m, mfn);
    return 0;
}

/* Runs extents [*done, r->nr) of one reservation command; *done counts those finished.
 * true: preempted. */
static bool run_extents(struct caller *c, struct domain *d, uint32_t op, const struct resv *r,
                        uint64_t *done)
{
    uint64_t n = 1ull << r->order, i, j, v = 0;
    unsigned bits = PVCORE_XENMEMF_get_address_bits(r->flags);
    bool pod = op == PVCORE_XENMEM_populate_physmap && (r->flags & PVCORE_XENMEMF_populate_on_demand);

    for (i = *done; i < r->nr; i++) {
        uint64_t mfn = 0;

        if (i != *done && call_should_preempt(&c->call)) {
            *done = i;
            return true;
        }
        call_charge(&c->call, extent_cost(r->order));
        if (op == PVCORE_XENMEM_increase_reservation) {
            if (alloc_extent(d, r->order, bits, INVALID_MFN, &mfn) != 0) {
                break;
            }
            /* A fault here leaves the extent the domain's, unreported, as on Xen. */
            if (r->list != 0 && put_elem(c, r->list, i, mfn) != 0) {
                break;
            }
            continue;
        }
        if (get_elem(c, r->list, i, &v) != 0) {
            break;
        }
        if (op == PVCORE_XENMEM_decrease_reservation) {
            /* Frames of a partly removed extent stay removed; the extent is not counted. */
            for (j = 0; j < n; j++) {
                if (v + j < v || remove_frame(d, v + j) != 0) {
                    break;
                }
            }
            if (j != n) {
                break;
            }
            continue;
        }
        /* populate_physmap: the extent appears at guest frame v. Populate-on-demand of
         * another domain is accepted and does nothing for a PV domain; of oneself it is
         * refused. */
        if (pod) {
            if (d == c->d) {
                break;
            }
            continue;
        }
        if (alloc_extent(d, r->order, bits, v, &mfn) != 0 || put_elem(c, r->list, i, mfn) != 0) {
            break;
        }
    }
    *done = i;
    return false;
}

/*
 * increase_reservation, decrease_reservation, populate_physmap: the number of extents done
 * is the result, whatever stopped the call (Xen reports even a bad argument that way).
 */
static int reservation_op(struct caller *c, uint64_t args[6], int64_t *ret, uint32_t op, uint64_t start)
{
    uint8_t b[32];
    struct resv r;
    struct domain *d;
    bool denied;
    uint64_t done = start;

    *ret = (int64_t)start;
    if (hc_copy_in(c, b, hc_arg(c, args, 1), c->is32 ? 20u : 32u) != 0) {
        return PVCORE_HYPERCALL_DONE;
    }
    resv_decode(c, b, &r);
    /* Too many extents to encode a continuation, nothing left, or no such domain. */
    if (r.nr > (UINT32_MAX >> PVCORE_MEMOP_EXTENT_SHIFT) || start >= r.nr) {
        return PVCORE_HYPERCALL_DONE;
    }
    d = hc_target(c, r.domid, &denied);
    if (d == NULL || denied) {
        return PVCORE_HYPERCALL_DONE;
    }
    /* No virtual NUMA; one node (0), which a node request may name or not. */
    if ((r.flags & PVCORE_XENMEMF_vnode) ||
        ((r.flags & PVCORE_XENMEMF_exact_node_request) &&
         PVCORE_XENMEMF_get_node(r.flags) != 0 && PVCORE_XENMEMF_get_node(r.flags) != 0xFFu)) {
        return PVCORE_HYPERCALL_DONE;
    }
    {
        unsigned bits = PVCORE_XENMEMF_get_address_bits(r.flags);
        if (bits != 0 && bits <= PVCORE_PAGE_SHIFT) {
            return PVCORE_HYPERCALL_DONE;
        }
    }
    if (r.order > max_order(c->d) ||
        ((r.list != 0 || op != PVCORE_XENMEM_increase_reservation) &&
         !subrange_ok(c, r.list, start, r.nr - 1u))) {
        return PVCORE_HYPERCALL_DONE;
    }
    if (run_extents(c, d, op, &r, &done)) {
        args[0] = op | (done << PVCORE_MEMOP_EXTENT_SHIFT);
        return PVCORE_HYPERCALL_RESTART;
    }
    *ret = (int64_t)done;
    return PVCORE_HYPERCALL_DONE;
}

/* ---- exchange -------------------------------------------------------------------------------- */

/* A list of frames in transit, linked through their auxiliary records (frame.h: a frame in
 * transit has none of its own). */
struct transit_list {
    uint64_t head; /* mfn + 1; 0: empty */
};

static void tl_push(struct machine *m, struct transit_list *l, uint64_t mfn)
{
    mfn_aux(m, mfn)->next = (uint32_t)l->head;
    l->head = mfn + 1u;
}

static bool tl_pop(struct machine *m, struct transit_list *l, uint64_t *mfn)
{
    if (l->head == 0) {
        return false;
    }
    *mfn = l->head - 1u;
    l->head = mfn_aux(m, *mfn)->next;
    mfn_aux(m, *mfn)->next = 0;
    return true;
}

struct exch {
    struct resv in, out;
    uint64_t nr_exchanged;
    uint64_t arg;
};

static int exch_put_done(const struct caller *c, const struct exch *x)
{
    uint8_t b[8];
    size_t w = word_of(c);

    hc_put_le(b, x->nr_exchanged, (unsigned)w);
    return hc_copy_out(c, x->arg + (c->is32 ? 40u : 64u), b, w);
}

/* Steals the frames of input extent `e` (2^in.order from the MFN at in.list[e]) onto
 * `l`. 0, -PVCORE_EFAULT or -PVCORE_EINVAL (a frame that is not the domain's alone). */
static int steal_extent(struct caller *c, struct domain *d, const struct exch *x, uint64_t e,
                        struct transit_list *l)
{
    uint64_t gmfn, k, n = 1ull << x->in.order;
    struct domain_locked dl;
    int rc = 0;

    if (get_elem(c, x->in.list, e, &gmfn) != 0) {
        return -PVCORE_EFAULT;
    }
    if (gmfn + (n - 1u) < gmfn) {
        return -PVCORE_EINVAL;
    }
    dl = domain_lock(&c->call, d);
    for (k = 0; k < n && rc == 0; k++) {
        rc = frame_steal(&dl, gmfn + k, false);
        if (rc == 0) {
            tl_push(c->m, l, gmfn + k);
        }
    }
    domain_unlock(&dl);
    return rc;
}

/* Gives output extent `e` (2^out.order frames from `first`) to d at the guest frame read
 * from out.list[e], and writes its MFN there. A fault leaves the frames d's. */
static int place_extent(struct caller *c, struct domain *d, const struct exch *x, uint64_t e,
                        uint64_t first)
{
    uint64_t gpfn, k, n = 1ull << x->out.order;
    int rc = get_elem(c, x->out.list, e, &gpfn);

    for (k = 0; k < n; k++) {
        (void)frame_give(d, first + k, rc == 0 ? gpfn + k : INVALID_MFN);
    }
    if (rc == 0) {
        rc = put_elem(c, x->out.list, e, first);
    }
    return rc != 0 ? -PVCORE_EFAULT : 0;
}

static int64_t exchange(struct caller *c, uint64_t arg, bool *restart)
{
    struct machine *m = c->m;
    uint8_t b[72];
    struct exch x;
    struct domain *d;
    bool denied;
    unsigned in_chunk, out_chunk, bits;
    uint64_t i, j, first_chunk, nr_chunks, mfn;
    struct transit_list in_l = { 0 }, out_l = { 0 };
    int64_t rc = 0;

    *restart = false;
    if (hc_copy_in(c, b, arg, c->is32 ? 44u : 72u) != 0) {
        return -PVCORE_EFAULT;
    }
    resv_decode(c, b, &x.in);
    resv_decode(c, b + (c->is32 ? 20u : 32u), &x.out);
    x.nr_exchanged = c->is32 ? hc_get_le32(b + 40) : hc_get_le64(b + 64);
    x.arg = arg;

    if (x.in.order > max_order(c->d) || x.out.order > max_order(c->d)) {
        rc = -PVCORE_EPERM;
        goto fail_early;
    }
    /* (The orders are small now: the shifts below are defined.) */
    if (x.nr_exchanged > x.in.nr || x.in.domid != x.out.domid ||
        (UINT64_MAX >> x.in.order) < x.in.nr || (UINT64_MAX >> x.out.order) < x.out.nr ||
        (x.in.nr << x.in.order) != (x.out.nr << x.out.order)) {
        rc = -PVCORE_EINVAL;
        goto fail_early;
    }
    if (x.nr_exchanged == x.in.nr) {
        return 0;
    }
    if (x.in.order <= x.out.order) {
        in_chunk = x.out.order - x.in.order;
        out_chunk = 0;
    } else {
        in_chunk = 0;
        out_chunk = x.in.order - x.out.order;
    }
    /* XSA-212: the ranges from the guest's own nr_exchanged, which a forged continuation
     * controls; and every element is checked again where it is used. */
    if (!subrange_ok(c, x.in.list, x.nr_exchanged, x.in.nr - 1u) ||
        !subrange_ok(c, x.out.list, (x.nr_exchanged >> in_chunk) << out_chunk, x.out.nr - 1u)) {
        rc = -PVCORE_EFAULT;
        goto fail_early;
    }
    if (x.out.flags & PVCORE_XENMEMF_vnode) {
        rc = -PVCORE_EINVAL;
        goto fail_early;
    }
    d = hc_target(c, x.in.domid, &denied);
    if (d == NULL) {
        rc = -PVCORE_ESRCH;
        goto fail_early;
    }
    if (denied) {
        rc = -PVCORE_EPERM;
        goto fail_early;
    }
    bits = PVCORE_XENMEMF_get_address_bits(x.out.flags);
    if (bits != 0 && bits <= PVCORE_PAGE_SHIFT) {
        bits = PVCORE_PAGE_SHIFT + 1u; /* nothing lies below: the allocation fails */
    }

    first_chunk = x.nr_exchanged >> in_chunk;
    nr_chunks = x.in.nr >> in_chunk;
    for (i = first_chunk; i < nr_chunks; i++) {
        if (i != first_chunk && call_should_preempt(&c->call)) {
            /* The continuation reads nr_exchanged back from the guest. */
            x.nr_exchanged = i << in_chunk;
            if (exch_put_done(c, &x) != 0) {
                return -PVCORE_EFAULT;
            }
            *restart = true;
            return 0;
        }
        call_charge(&c->call, extent_cost(in_chunk + x.in.order));
        /* Steal a chunk's input frames, then allocate its output; either failing undoes
         * the chunk. */
        for (j = 0; j < (1ull << in_chunk); j++) {
            rc = steal_extent(c, d, &x, (i << in_chunk) + j, &in_l);
            if (rc != 0) {
                goto fail;
            }
        }
        for (j = 0; j < (1ull << out_chunk); j++) {
            if (memory_alloc_transit(m, d, x.out.order, bits, &mfn) != 0) {
                rc = -PVCORE_ENOMEM;
                goto fail;
            }
            tl_push(m, &out_l, mfn); /* the extent's first frame stands for it */
        }
        /* The chunk cannot fail from here: the input frames go, the output ones take their
         * place in the domain's count. */
        while (tl_pop(m, &in_l, &mfn)) {
            frame_free_transit(m, mfn, d->domid);
        }
        for (j = 0; tl_pop(m, &out_l, &mfn); j++) {
            int prc = place_extent(c, d, &x, (i << out_chunk) + j, mfn);
            if (prc != 0) {
                rc = prc;
            }
        }
        if (rc != 0) {
            goto fail;
        }
    }
    x.nr_exchanged = x.in.nr;
    return exch_put_done(c, &x) != 0 ? -PVCORE_EFAULT : 0;

fail:
    /* The chunk's stolen input frames go back to the domain where they were; its output
     * frames back to the frame source. */
    while (tl_pop(m, &in_l, &mfn)) {
        (void)frame_give(d, mfn, m2p_get(m, mfn));
    }
    while (tl_pop(m, &out_l, &mfn)) {
        for (j = 0; j < (1ull << x.out.order); j++) {
            frame_free_transit(m, mfn + j, DOMID_FREE);
        }
    }
    x.nr_exchanged = i << in_chunk;
fail_early:
    if (exch_put_done(c, &x) != 0) {
        rc = -PVCORE_EFAULT;
    }
    return rc;
}

/* ---- the stat commands --------------------------------------------------------------------- */

/* XENMEM_maximum_gpfn of a PV domain: the p2m size its shared info declares, minus one. */
static int64_t maximum_gpfn(const struct domain *d)
{
    uint64_t max_pfn = 0;

    if (d->shared_info_mfn != INVALID_MFN) {
        const uint8_t *si = (const uint8_t *)frame_entries(d->m, d->shared_info_mfn);
        if (domain_is_32(d)) {
            max_pfn = hc_get_le32(si + offsetof(struct pvcore_shared_info_x86_32, arch.max_pfn));
        } else {
            max_pfn = hc_get_le64(si + offsetof(struct pvcore_shared_info_x86_64, arch.max_pfn));
        }
    }
    return (int64_t)((max_pfn != 0 ? max_pfn : 1u) - 1u);
}

static int64_t stat_op(struct caller *c, uint32_t op, uint64_t arg)
{
    uint8_t b[2];
    struct domain *d;
    bool denied;

    if (hc_copy_in(c, b, arg, 2) != 0) {
        return -PVCORE_EFAULT;
    }
    d = hc_target(c, (uint16_t)(b[0] | b[1] << 8), &denied);
    if (d == NULL) {
        return -PVCORE_ESRCH;
    }
    if (denied) {
        return -PVCORE_EPERM;
    }
    switch (op) {
    case PVCORE_XENMEM_current_reservation:
        return (int64_t)atomic_load_explicit(&d->tot_pages, memory_order_acquire);
    case PVCORE_XENMEM_maximum_reservation:
        return (int64_t)d->max_pages;
    default:
        return maximum_gpfn(d);
    }
}

int hcall_memory_op(struct caller *c, uint64_t args[6], int64_t *ret)
{
    uint64_t cmd = hc_arg(c, args, 0);
    uint32_t op = (uint32_t)(cmd & PVCORE_MEMOP_CMD_MASK);
    uint64_t start = cmd >> PVCORE_MEMOP_EXTENT_SHIFT;
    bool restart;

    switch (op) {
    case PVCORE_XENMEM_increase_reservation:
    case PVCORE_XENMEM_decrease_reservation:
    case PVCORE_XENMEM_populate_physmap:
        return reservation_op(c, args, ret, op, start);
    case PVCORE_XENMEM_exchange:
        if (start != 0) {
            *ret = -PVCORE_EINVAL;
            return PVCORE_HYPERCALL_DONE;
        }
        *ret = exchange(c, hc_arg(c, args, 1), &restart);
        return restart ? PVCORE_HYPERCALL_RESTART : PVCORE_HYPERCALL_DONE;
    case PVCORE_XENMEM_maximum_ram_page:
        *ret = start != 0 ? -PVCORE_EINVAL : (int64_t)c->m->nr_frames;
        return PVCORE_HYPERCALL_DONE;
    case PVCORE_XENMEM_current_reservation:
    case PVCORE_XENMEM_maximum_reservation:
    case PVCORE_XENMEM_maximum_gpfn:
        *ret = start != 0 ? -PVCORE_EINVAL : stat_op(c, op, hc_arg(c, args, 1));
        return PVCORE_HYPERCALL_DONE;
    default:
        return PVCORE_HYPERCALL_UNHANDLED; /* memory_map, machphys_mapping, ...: the embedder's */
    }
}

/* ---- the embedder's holds -------------------------------------------------------------------- */

int pvcore_domain_hold_frame(struct pvcore_domain *pd, pvcore_mfn_t mfn)
{
    struct domain *d = (struct domain *)(void *)pd;
    struct call call;
    struct domain_locked dl;
    int rc;

    if (d == NULL) {
        return -PVCORE_EINVAL;
    }
    call_init(&call, d->m);
    dl = domain_lock(&call, d);
    if (atomic_load_explicit(&d->dying, memory_order_acquire)) {
        rc = -PVCORE_ESRCH;
    } else if (d->nr_emb_held == PVCORE_DOMAIN_MAX_HELD_FRAMES) {
        rc = -PVCORE_ENOSPC;
    } else {
        rc = held_get(&dl, mfn.v);
        if (rc == 0) {
            d->emb_held[d->nr_emb_held++] = mfn.v;
        }
    }
    domain_unlock(&dl);
    return rc;
}

int pvcore_domain_unhold_frame(struct pvcore_domain *pd, pvcore_mfn_t mfn)
{
    struct domain *d = (struct domain *)(void *)pd;
    struct call call;
    struct domain_locked dl;
    uint32_t i;
    int rc = -PVCORE_EINVAL;

    if (d == NULL) {
        return -PVCORE_EINVAL;
    }
    call_init(&call, d->m);
    dl = domain_lock(&call, d);
    for (i = 0; i < d->nr_emb_held; i++) {
        if (d->emb_held[i] == mfn.v) {
            held_put(&dl, mfn.v);
            d->emb_held[i] = d->emb_held[--d->nr_emb_held];
            rc = 0;
            break;
        }
    }
    domain_unlock(&dl);
    return rc;
}
