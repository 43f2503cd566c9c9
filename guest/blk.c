/*
 * The guest side of the block split driver (<pvcore/guest/blk.h>): a blkif front-end and
 * a RAM-disk back-end.
 *
 * Shared memory is the ring page (indices and slots, through the ring template, which
 * copies every request and response out before it is looked at) and the front-end's
 * grant entries, which the hypervisor reads and marks in use at any time: an entry is
 * two 32-bit words, {flags | domid << 16} and {frame}, each accessed atomically, so that
 * the hypervisor's compare-and-swap on the first word and ours (revocation) never tear.
 *
 * Both ring layouts are served from one build: the request and response are decoded
 * from their wire structure (x86_32 or x86_64, chosen at set-up) into `struct breq` and
 * encoded from it, so the rest of the code sees one shape.
 *
 * A request's id is `sequence << 8 | slot`: the slot finds the in-flight entry at once,
 * and the sequence makes an id that was answered already, or belongs to an earlier use of
 * the slot, unknown.
 */
#include <pvcore/guest/blk.h>

#include <pvcore/abi/event_channel.h>
#include <pvcore/abi/memory.h>
#include <pvcore/ring.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#define NSLOTS PVCORE_BLKIF_RING_SIZE_4K
#define MAXSEG PVCORE_BLKIF_MAX_SEGMENTS_PER_REQUEST
#define PAGE 4096u
#define SECT PVCORE_BLKIF_SECTOR_SIZE
#define SPP PVCORE_BLKIF_SECTORS_PER_PAGE
/* Entries copied out of the ring per consume call. */
#define BATCH 8u
/* A front-end page's owner: free, in flight (slot + 1), or its grant still held. */
#define PAGE_FREE 0u
#define PAGE_HELD 0xFFu
/* Compare-and-swap attempts on a grant entry: only the in-use bits change under us. */
#define CAS_TRIES 16u
/* A status the hypervisor never writes: an op it did not get to. */
#define GNTST_UNDONE ((int16_t)1)
/* Loads of a committed accept_transfer entry before the front-end gives up waiting for
 * GTF_transfer_completed (the hypervisor sets it within the hypercall that committed). */
#define COMPLETE_SPINS (1u << 24)

typedef _Atomic uint32_t a32;

_Static_assert(PVCORE_RING_NR_SLOTS(PAGE, sizeof(union pvcore_blkif_sring_entry_x86_32)) == NSLOTS &&
                   PVCORE_RING_NR_SLOTS(PAGE, sizeof(union pvcore_blkif_sring_entry_x86_64)) == NSLOTS,
               "a one-page blkif ring has 32 slots for both layouts");
_Static_assert(NSLOTS <= 0xFFu - 1u, "slot + 1 fits a page's owner byte below PAGE_HELD");

/* A request, decoded from either layout (the response reuses id and op). */
struct breq {
    uint64_t id;
    uint64_t sector;
    uint8_t op;
    uint8_t nr;
    uint16_t handle;
    struct pvcore_blkif_request_segment seg[MAXSEG];
};

/* ---- wire layouts ------------------------------------------------------------------------ */

static size_t slot_size(uint32_t proto)
{
    return proto == PVCORE_GUEST_BLK_X86_32 ? sizeof(union pvcore_blkif_sring_entry_x86_32)
                                            : sizeof(union pvcore_blkif_sring_entry_x86_64);
}

static size_t req_size(uint32_t proto)
{
    return proto == PVCORE_GUEST_BLK_X86_32 ? sizeof(struct pvcore_blkif_request_x86_32)
                                            : sizeof(struct pvcore_blkif_request_x86_64);
}

static size_t rsp_size(uint32_t proto)
{
    return proto == PVCORE_GUEST_BLK_X86_32 ? sizeof(struct pvcore_blkif_response_x86_32)
                                            : sizeof(struct pvcore_blkif_response_x86_64);
}

static uint64_t join(const uint32_t h[2])
{
    return (uint64_t)h[0] | (uint64_t)h[1] << 32;
}

static void split(uint32_t h[2], uint64_t v)
{
    h[0] = (uint32_t)v;
    h[1] = (uint32_t)(v >> 32);
}

/* Writes request r into a ring slot (private to the front-end until the next push). */
static void put_req(uint32_t proto, void *slot, const struct breq *r)
{
    if (proto == PVCORE_GUEST_BLK_X86_32) {
        struct pvcore_blkif_request_x86_32 w;

        memset(&w, 0, sizeof(w));
        w.operation = r->op;
        w.nr_segments = r->nr;
        w.handle = r->handle;
        split(w.id, r->id);
        split(w.sector_number, r->sector);
        memcpy(w.seg, r->seg, sizeof(w.seg));
        memcpy(slot, &w, sizeof(w));
    } else {
        struct pvcore_blkif_request_x86_64 w;

        memset(&w, 0, sizeof(w));
        w.operation = r->op;
        w.nr_segments = r->nr;
        w.handle = r->handle;
        w.id = r->id;
        w.sector_number = r->sector;
        memcpy(w.seg, r->seg, sizeof(w.seg));
        memcpy(slot, &w, sizeof(w));
    }
}

/* Decodes a request from its private copy `raw` (any alignment). */
static void get_req(uint32_t proto, const unsigned char *raw, struct breq *r)
{
    if (proto == PVCORE_GUEST_BLK_X86_32) {
        struct pvcore_blkif_request_x86_32 w;

        memcpy(&w, raw, sizeof(w));
        r->op = w.operation;
        r->nr = w.nr_segments;
        r->handle = w.handle;
        r->id = join(w.id);
        r->sector = join(w.sector_number);
        memcpy(r->seg, w.seg, sizeof(r->seg));
    } else {
        struct pvcore_blkif_request_x86_64 w;

        memcpy(&w, raw, sizeof(w));
        r->op = w.operation;
        r->nr = w.nr_segments;
        r->handle = w.handle;
        r->id = w.id;
        r->sector = w.sector_number;
        memcpy(r->seg, w.seg, sizeof(r->seg));
    }
}

static void put_rsp(uint32_t proto, void *slot, uint64_t id, uint8_t op, int16_t status)
{
    if (proto == PVCORE_GUEST_BLK_X86_32) {
        struct pvcore_blkif_response_x86_32 w;

        memset(&w, 0, sizeof(w));
        split(w.id, id);
        w.operation = op;
        w.status = status;
        memcpy(slot, &w, sizeof(w));
    } else {
        struct pvcore_blkif_response_x86_64 w;

        memset(&w, 0, sizeof(w));
        w.id = id;
        w.operation = op;
        w.status = status;
        memcpy(slot, &w, sizeof(w));
    }
}

static void get_rsp(uint32_t proto, const unsigned char *raw, uint64_t *id, uint8_t *op, int16_t *status)
{
    if (proto == PVCORE_GUEST_BLK_X86_32) {
        struct pvcore_blkif_response_x86_32 w;

        memcpy(&w, raw, sizeof(w));
        *id = join(w.id);
        *op = w.operation;
        *status = w.status;
    } else {
        struct pvcore_blkif_response_x86_64 w;

        memcpy(&w, raw, sizeof(w));
        *id = w.id;
        *op = w.operation;
        *status = w.status;
    }
}

/* ---- common -------------------------------------------------------------------------------- */

static int op_result(int64_t rc)
{
    if (rc >= 0) {
        return 0;
    }
    return rc < -4095 ? -PVCORE_EIO : (int)rc;
}

static int send(const struct pvcore_guest_blk_ops *ops, uint32_t port)
{
    struct pvcore_evtchn_send s;

    s.port = port;
    return op_result(ops->event_channel_op(ops->ctx, PVCORE_EVTCHNOP_send, &s));
}

/* memory_op `cmd` on `n` extents of order 0 at frames `list` (DOMID_SELF): the extents
 * done, or a negative error. A PV guest names the frames it gives back
 * (decrease_reservation) by machine frame, and the new ones (populate_physmap) by the
 * pseudo-physical frame they are for; populate_physmap writes each new machine frame
 * over its gfn. */
static int64_t reservation(const struct pvcore_guest_blk_ops *ops, uint32_t cmd, pvcore_xen_pfn_t *list,
                           uint32_t n)
{
    pvcore_xen_memory_reservation_t r;

    memset(&r, 0, sizeof(r));
    r.extent_start = (uintptr_t)list;
    r.nr_extents = n;
    r.domid = PVCORE_DOMID_SELF;
    return ops->memory_op(ops->ctx, cmd, &r);
}

static bool transfer_ops_ok(const struct pvcore_guest_blk_ops *ops)
{
    return ops->memory_op != NULL && ops->remap != NULL;
}

static bool page_aligned(uint64_t a)
{
    return (a & (PAGE - 1u)) == 0;
}

static bool ptr_page_aligned(const void *p)
{
    return p != NULL && ((uintptr_t)p & (PAGE - 1u)) == 0;
}

/* ---- front-end ----------------------------------------------------------------------------- */

struct freq {
    uint64_t id;                /* as issued; busy entries only */
    uint8_t busy;
    uint8_t op;
    uint8_t nr;
    uint8_t xfer;               /* a read in transfer mode: its pages await frames */
    uint8_t page[MAXSEG];       /* the data pages of its segments */
};

struct fpage {
    void *va;
    uint32_t frame, gfn;
    uint8_t owner;              /* PAGE_FREE, slot + 1, or PAGE_HELD */
    uint8_t xfer;               /* its frame given back, its entry accepting a transfer */
};

struct pvcore_guest_blkfront {
    struct pvcore_guest_blk_ops ops;
    struct pvcore_ring_front ring;
    a32 *gnt;                   /* entry r: words 2r (flags | domid << 16) and 2r + 1 (frame) */
    size_t slot_bytes, rsp_bytes;
    uint32_t proto, port, first_ref, nr_pages;
    uint32_t in_flight, fault, stopped, transfer_reads;
    uint32_t ring_frame;
    uint16_t backend, handle;
    uint64_t seq;
    struct freq req[NSLOTS];
    struct fpage page[PVCORE_GUEST_BLKFRONT_MAX_PAGES];
};

static uint32_t page_ref(const struct pvcore_guest_blkfront *f, uint32_t page)
{
    return f->first_ref + 1u + page;
}

/* Writes entry `ref` for the back-end: `frame` (a frame to access, or the gfn where a
 * transferred one goes) and `flags`. The frame word is written first; the header word
 * makes the entry valid. */
static void set_entry(struct pvcore_guest_blkfront *f, uint32_t ref, uint32_t frame, uint32_t flags)
{
    atomic_store_explicit(&f->gnt[2u * ref + 1u], frame, memory_order_relaxed);
    /* release: the frame is visible before the entry is valid (the ABI's write barrier
     * between frame and flags). */
    atomic_store_explicit(&f->gnt[2u * ref], flags | (uint32_t)f->backend << 16, memory_order_release);
}

static void grant(struct pvcore_guest_blkfront *f, uint32_t ref, uint32_t frame, bool ro)
{
    set_entry(f, ref, frame, PVCORE_GTF_permit_access | (ro ? PVCORE_GTF_readonly : 0u));
}

/* Revokes grant `ref`: clears its header unless the hypervisor marks it in use (a
 * mapping, or a copy under way). True once the entry is clear. */
static bool revoke(struct pvcore_guest_blkfront *f, uint32_t ref)
{
    uint32_t w = atomic_load_explicit(&f->gnt[2u * ref], memory_order_relaxed), tries;

    for (tries = 0; tries < CAS_TRIES; tries++) {
        if ((w & (PVCORE_GTF_reading | PVCORE_GTF_writing)) != 0) {
            return false;
        }
        /* acquire: once the hypervisor's release cleared the in-use bits (the back-end's
         * unmap), its accesses through the mapping happen before ours to the page. */
        if (atomic_compare_exchange_weak_explicit(&f->gnt[2u * ref], &w, 0u, memory_order_acquire,
                                                  memory_order_relaxed)) {
            return true;
        }
    }
    return false;
}

static int front_stop(struct pvcore_guest_blkfront *f, uint32_t fault)
{
    f->fault = fault;
    f->stopped = 1;
    return -PVCORE_EIO;
}

/* ---- front-end, transfer mode ---- */

/* Ends accept_transfer entry `ref`: taken back while the hypervisor has not committed a
 * transfer into it (0: nothing came, the entry is clear); once committed, the transfer
 * completes within the hypercall that committed it, so wait for GTF_transfer_completed
 * (1: the frame received in *frame, the entry cleared). -1: committed and still not
 * completed after COMPLETE_SPINS looks (the entry is left alone). */
static int end_transfer(struct pvcore_guest_blkfront *f, uint32_t ref, uint32_t *frame)
{
    /* acquire, here and below: the hypervisor writes the frame word before it sets
     * GTF_transfer_completed (release), so seeing the flag means the frame is there. */
    uint32_t w = atomic_load_explicit(&f->gnt[2u * ref], memory_order_acquire), n;

    for (n = 0; (w & PVCORE_GTF_transfer_committed) == 0; n++) {
        if (atomic_compare_exchange_strong_explicit(&f->gnt[2u * ref], &w, 0u, memory_order_acquire,
                                                    memory_order_acquire)) {
            return 0;
        }
        if (n == CAS_TRIES) {
            return -1; /* (only the hypervisor changes the entry, and only to commit) */
        }
    }
    for (n = 0; (w & PVCORE_GTF_transfer_completed) == 0; n++) {
        if (n == COMPLETE_SPINS) {
            return -1;
        }
        w = atomic_load_explicit(&f->gnt[2u * ref], memory_order_acquire);
    }
    *frame = atomic_load_explicit(&f->gnt[2u * ref + 1u], memory_order_relaxed);
    atomic_store_explicit(&f->gnt[2u * ref], 0u, memory_order_relaxed);
    return 1;
}

/* Page `pg` gets machine frame `frame` (mapped at the page, recorded at its gfn). */
static bool page_land(struct pvcore_guest_blkfront *f, uint32_t pg, uint32_t frame)
{
    struct fpage *p = &f->page[pg];
    void *va = f->ops.remap(f->ops.ctx, (uintptr_t)p->va, p->gfn, frame);

    if (!ptr_page_aligned(va)) {
        return false;
    }
    p->va = va;
    p->frame = frame;
    p->xfer = 0;
    return true;
}

/* Page `pg`, whose frame was given back, gets a new one from the hypervisor. */
static bool page_restore(struct pvcore_guest_blkfront *f, uint32_t pg)
{
    pvcore_xen_pfn_t frame = f->page[pg].gfn;

    return reservation(&f->ops, PVCORE_XENMEM_populate_physmap, &frame, 1) == 1 && frame <= UINT32_MAX &&
           page_land(f, pg, (uint32_t)frame);
}

/* Gives the frames of pages pg[0..n) back to the hypervisor, each unmapped first so that
 * nothing references it, and sets their entries to accept a transfer. On failure every
 * page has a frame again and the error is returned (-EIO, the front-end stopped, if one
 * could not be given one). */
static int pages_give_back(struct pvcore_guest_blkfront *f, const uint32_t *pg, uint32_t n)
{
    pvcore_xen_pfn_t list[MAXSEG];
    uint32_t i, done;
    int64_t rc;
    bool lost = false;

    for (i = 0; i < n; i++) {
        struct fpage *p = &f->page[pg[i]];

        if (f->ops.remap(f->ops.ctx, (uintptr_t)p->va, p->gfn, PVCORE_GUEST_BLK_NO_FRAME) == NULL) {
            break;
        }
        list[i] = p->frame; /* (a PV guest names its machine frames here) */
    }
    rc = i < n ? -PVCORE_EFAULT : reservation(&f->ops, PVCORE_XENMEM_decrease_reservation, list, n);
    if (rc == (int64_t)n) {
        for (i = 0; i < n; i++) {
            f->page[pg[i]].xfer = 1;
            set_entry(f, page_ref(f, pg[i]), f->page[pg[i]].gfn, PVCORE_GTF_accept_transfer);
        }
        return 0;
    }
    /* Undo: the first `done` frames were given back (the extents go in order), the rest
     * of those unmapped are still the page's own. */
    done = rc > 0 && (uint64_t)rc < n ? (uint32_t)rc : 0;
    n = i < n ? i : n;
    for (i = 0; i < n; i++) {
        lost = lost || !(i < done ? page_restore(f, pg[i]) : page_land(f, pg[i], f->page[pg[i]].frame));
    }
    if (lost) {
        return front_stop(f, PVCORE_GUEST_BLK_FAULT_NO_FRAME);
    }
    return rc < 0 ? (int)rc : -PVCORE_ENOMEM;
}

/* Ends the transfer into page `pg`: its frame is the one received, or a new one.
 * 0: a frame came; 1: none came (the page has a new frame); -1: still committed (the
 * page stays busy, *fault says so); -2: the page has no frame (*fault). */
static int page_end_transfer(struct pvcore_guest_blkfront *f, uint32_t pg, uint32_t *fault)
{
    uint32_t frame = 0;
    int r = end_transfer(f, page_ref(f, pg), &frame);

    if (r < 0) {
        *fault = PVCORE_GUEST_BLK_FAULT_TRANSFER_STUCK;
        return -1;
    }
    if (r == 1 ? !page_land(f, pg, frame) : !page_restore(f, pg)) {
        *fault = PVCORE_GUEST_BLK_FAULT_NO_FRAME;
        return -2;
    }
    return r == 1 ? 0 : 1;
}

size_t pvcore_guest_blkfront_size(void)
{
    return sizeof(struct pvcore_guest_blkfront);
}

int pvcore_guest_blkfront_init(void *mem, size_t bytes, const struct pvcore_guest_blkfront_config *cfg,
                               struct pvcore_guest_blkfront **out)
{
    struct pvcore_guest_blkfront *f;
    uint32_t proto, i;
    a32 *gnt;

    if (mem == NULL || ((uintptr_t)mem & 7u) != 0 || bytes < sizeof(*f) || cfg == NULL || out == NULL ||
        cfg->ops == NULL || cfg->ops->event_channel_op == NULL || cfg->gnttab == NULL ||
        ((uintptr_t)cfg->gnttab & 7u) != 0 || cfg->pages == NULL || cfg->nr_pages == 0 ||
        cfg->nr_pages > PVCORE_GUEST_BLKFRONT_MAX_PAGES ||
        (cfg->transfer_reads != 0 && !transfer_ops_ok(cfg->ops))) {
        return -PVCORE_EINVAL;
    }
    proto = cfg->protocol == 0 ? PVCORE_GUEST_BLK_NATIVE : cfg->protocol;
    if (proto != PVCORE_GUEST_BLK_X86_32 && proto != PVCORE_GUEST_BLK_X86_64) {
        return -PVCORE_EINVAL;
    }
    /* References first_ref .. first_ref + nr_pages, inside the table (no overflow). */
    if (cfg->first_ref >= cfg->gnttab_entries || cfg->nr_pages >= cfg->gnttab_entries - cfg->first_ref) {
        return -PVCORE_EINVAL;
    }
    if (!ptr_page_aligned(cfg->ring.va) || cfg->ring.frame > UINT32_MAX) {
        return -PVCORE_EINVAL;
    }
    gnt = (a32 *)cfg->gnttab;
    for (i = 0; i < cfg->nr_pages; i++) {
        if (!ptr_page_aligned(cfg->pages[i].va) || cfg->pages[i].frame > UINT32_MAX ||
            (cfg->transfer_reads != 0 && cfg->pages[i].gfn > UINT32_MAX)) {
            return -PVCORE_EINVAL;
        }
    }
    for (i = 0; i <= cfg->nr_pages; i++) {
        if (atomic_load_explicit(&gnt[2u * (cfg->first_ref + i)], memory_order_relaxed) != 0) {
            return -PVCORE_EINVAL; /* in use by someone else */
        }
    }

    memset(mem, 0, sizeof(*f));
    f = (struct pvcore_guest_blkfront *)mem;
    f->ops = *cfg->ops;
    f->gnt = gnt;
    f->proto = proto;
    f->slot_bytes = slot_size(proto);
    f->rsp_bytes = rsp_size(proto);
    f->port = cfg->port;
    f->first_ref = cfg->first_ref;
    f->nr_pages = cfg->nr_pages;
    f->backend = cfg->backend;
    f->handle = cfg->handle;
    f->transfer_reads = cfg->transfer_reads != 0;
    f->ring_frame = (uint32_t)cfg->ring.frame;
    for (i = 0; i < cfg->nr_pages; i++) {
        f->page[i].va = cfg->pages[i].va;
        f->page[i].frame = (uint32_t)cfg->pages[i].frame;
        f->page[i].gfn = (uint32_t)cfg->pages[i].gfn;
    }
    if (pvcore_ring_front_init(&f->ring, cfg->ring.va, PAGE, f->slot_bytes) != 0 || f->ring.nr_ents != NSLOTS) {
        return -PVCORE_EINVAL; /* (cannot happen: a page-aligned page) */
    }
    /* The ring is initialised before its grant makes it reachable. */
    grant(f, f->first_ref, f->ring_frame, false);
    *out = f;
    return 0;
}

pvcore_grant_ref_t pvcore_guest_blkfront_ring_ref(const struct pvcore_guest_blkfront *f)
{
    return f->first_ref;
}

uint32_t pvcore_guest_blkfront_free_slots(const struct pvcore_guest_blkfront *f)
{
    uint32_t ring = pvcore_ring_front_free_requests(&f->ring), table = NSLOTS - f->in_flight;

    return ring < table ? ring : table;
}

int pvcore_guest_blkfront_page_busy(const struct pvcore_guest_blkfront *f, uint32_t page)
{
    if (page >= f->nr_pages) {
        return -PVCORE_EINVAL;
    }
    return f->page[page].owner != PAGE_FREE ? 1 : 0;
}

uint32_t pvcore_guest_blkfront_in_flight(const struct pvcore_guest_blkfront *f)
{
    return f->in_flight;
}

uint32_t pvcore_guest_blkfront_fault(const struct pvcore_guest_blkfront *f)
{
    return f->fault;
}

int pvcore_guest_blkfront_queue(struct pvcore_guest_blkfront *f, uint8_t op, uint64_t sector,
                                const struct pvcore_guest_blk_seg *segs, uint32_t nr_segs, uint64_t *id)
{
    struct breq r;
    struct freq *q;
    uint64_t total = 0;
    uint32_t i, j, idx;
    bool busy = false, xfer = f->transfer_reads && op == PVCORE_BLKIF_OP_READ;
    void *slot;

    if (f->stopped) {
        return -PVCORE_EIO;
    }
    if ((op != PVCORE_BLKIF_OP_READ && op != PVCORE_BLKIF_OP_WRITE) || segs == NULL || nr_segs == 0 ||
        nr_segs > MAXSEG) {
        return -PVCORE_EINVAL;
    }
    /* Validate everything first: nothing changes on error. */
    for (i = 0; i < nr_segs; i++) {
        if (segs[i].page >= f->nr_pages || segs[i].first_sect > segs[i].last_sect || segs[i].last_sect >= SPP) {
            return -PVCORE_EINVAL;
        }
        for (j = 0; j < i; j++) {
            if (segs[j].page == segs[i].page) {
                return -PVCORE_EINVAL;
            }
        }
        busy = busy || f->page[segs[i].page].owner != PAGE_FREE;
        total += (uint64_t)(segs[i].last_sect - segs[i].first_sect) + 1u;
    }
    if (sector > UINT64_MAX - (total - 1u)) {
        return -PVCORE_EINVAL; /* the last sector is past 2^64 - 1 */
    }
    if (busy) {
        return -PVCORE_EBUSY;
    }
    if (pvcore_guest_blkfront_free_slots(f) == 0) {
        return -PVCORE_ENOSPC;
    }
    for (idx = 0; idx < NSLOTS && f->req[idx].busy; idx++) {
    }
    if (idx == NSLOTS) {
        return -PVCORE_ENOSPC; /* (cannot happen: free_slots counted the entries) */
    }
    if (xfer) {
        uint32_t pg[MAXSEG];
        int rc;

        for (i = 0; i < nr_segs; i++) {
            pg[i] = segs[i].page;
        }
        rc = pages_give_back(f, pg, nr_segs);
        if (rc != 0) {
            return rc;
        }
    }
    slot = pvcore_ring_front_produce(&f->ring, f->slot_bytes);
    if (slot == NULL) {
        return -PVCORE_ENOSPC; /* (cannot happen: free_slots counted the ring) */
    }

    q = &f->req[idx];
    q->busy = 1;
    q->op = op;
    q->nr = (uint8_t)nr_segs;
    q->xfer = xfer;
    q->id = (++f->seq << 8) | idx;
    memset(&r, 0, sizeof(r));
    r.id = q->id;
    r.sector = sector;
    r.op = op;
    r.nr = (uint8_t)nr_segs;
    r.handle = f->handle;
    for (i = 0; i < nr_segs; i++) {
        struct fpage *p = &f->page[segs[i].page];

        q->page[i] = (uint8_t)segs[i].page;
        p->owner = (uint8_t)(idx + 1u);
        /* The back-end reads a write's pages and writes a read's (or, in transfer mode,
         * gives it new ones: pages_give_back() set their entries). */
        if (!xfer) {
            grant(f, page_ref(f, segs[i].page), p->frame, op == PVCORE_BLKIF_OP_WRITE);
        }
        r.seg[i].gref = page_ref(f, segs[i].page);
        r.seg[i].first_sect = segs[i].first_sect;
        r.seg[i].last_sect = segs[i].last_sect;
    }
    put_req(f->proto, slot, &r);
    f->in_flight++;
    if (id != NULL) {
        *id = q->id;
    }
    return 0;
}

int pvcore_guest_blkfront_kick(struct pvcore_guest_blkfront *f)
{
    if (f->stopped) {
        return -PVCORE_EIO;
    }
    if (pvcore_ring_front_push_check_notify(&f->ring)) {
        return send(&f->ops, f->port);
    }
    return 0;
}

/* Checks one response and retires its request. */
static int complete(struct pvcore_guest_blkfront *f, uint64_t id, uint8_t op, int16_t status,
                    struct pvcore_guest_blk_done *d)
{
    uint32_t idx = (uint32_t)(id & 0xFFu), i, fault = PVCORE_GUEST_BLK_FAULT_NONE;
    struct freq *q;
    bool held = false, missing = false;

    if (idx >= NSLOTS || !f->req[idx].busy || f->req[idx].id != id) {
        return front_stop(f, PVCORE_GUEST_BLK_FAULT_BAD_ID);
    }
    q = &f->req[idx];
    if (op != q->op) {
        return front_stop(f, PVCORE_GUEST_BLK_FAULT_BAD_OP);
    }
    for (i = 0; i < q->nr; i++) {
        struct fpage *p = &f->page[q->page[i]];

        if (p->xfer) {
            int r = page_end_transfer(f, q->page[i], &fault);

            missing = missing || r != 0;
            p->owner = r >= 0 ? PAGE_FREE : PAGE_HELD;
        } else if (revoke(f, page_ref(f, q->page[i]))) {
            p->owner = PAGE_FREE;
        } else {
            p->owner = PAGE_HELD; /* until disconnect can revoke it */
            held = true;
        }
    }
    q->busy = 0;
    f->in_flight--;
    if (fault != PVCORE_GUEST_BLK_FAULT_NONE || held) {
        return front_stop(f, held ? PVCORE_GUEST_BLK_FAULT_GRANT_HELD : fault);
    }
    d->id = id;
    d->operation = op;
    d->status = (status == PVCORE_BLKIF_RSP_OKAY && !missing) || status == PVCORE_BLKIF_RSP_EOPNOTSUPP
                    ? status
                    : (int16_t)PVCORE_BLKIF_RSP_ERROR;
    return 0;
}

int pvcore_guest_blkfront_poll(struct pvcore_guest_blkfront *f, struct pvcore_guest_blk_done *done, uint32_t max,
                               uint32_t *n)
{
    _Alignas(8) unsigned char raw[BATCH * sizeof(struct pvcore_blkif_response_x86_64)];
    uint32_t got, i, waiting, want;
    int rc;

    if (done == NULL || n == NULL || max == 0) {
        return -PVCORE_EINVAL;
    }
    *n = 0;
    if (f->stopped) {
        return -PVCORE_EIO;
    }
    for (;;) {
        want = max - *n < BATCH ? max - *n : BATCH;
        if (want == 0) {
            return 0;
        }
        if (pvcore_ring_front_consume(&f->ring, f->slot_bytes, f->rsp_bytes, raw, want, &got) != 0) {
            return front_stop(f, PVCORE_GUEST_BLK_FAULT_OVERFLOW);
        }
        if (got == 0) {
            /* Nothing waiting: ask for the next one, and look once more. */
            if (pvcore_ring_front_final_check(&f->ring, &waiting) != 0) {
                return front_stop(f, PVCORE_GUEST_BLK_FAULT_OVERFLOW);
            }
            if (waiting == 0) {
                return 0;
            }
            continue;
        }
        for (i = 0; i < got; i++) {
            uint64_t id;
            uint8_t op;
            int16_t status;

            get_rsp(f->proto, raw + (size_t)i * f->rsp_bytes, &id, &op, &status);
            rc = complete(f, id, op, status, &done[*n]);
            if (rc != 0) {
                return rc;
            }
            (*n)++;
        }
    }
}

int pvcore_guest_blkfront_disconnect(struct pvcore_guest_blkfront *f)
{
    bool busy = false;
    uint32_t i, k;

    f->stopped = 1;
    if (!revoke(f, f->first_ref)) {
        busy = true;
    }
    for (i = 0; i < f->nr_pages; i++) {
        struct fpage *p = &f->page[i];

        if (p->owner == PAGE_FREE) {
            continue;
        }
        if (p->xfer) {
            uint32_t fault = PVCORE_GUEST_BLK_FAULT_NONE;

            if (page_end_transfer(f, i, &fault) >= 0) {
                p->owner = PAGE_FREE;
            } else {
                busy = true;
            }
        } else if (revoke(f, page_ref(f, i))) {
            p->owner = PAGE_FREE;
        } else {
            busy = true;
        }
    }
    /* A request whose pages are all revoked is over. */
    for (i = 0; i < NSLOTS; i++) {
        struct freq *q = &f->req[i];
        bool left = false;

        if (!q->busy) {
            continue;
        }
        for (k = 0; k < q->nr; k++) {
            left = left || f->page[q->page[k]].owner != PAGE_FREE;
        }
        if (!left) {
            q->busy = 0;
            f->in_flight--;
        }
    }
    return busy ? -PVCORE_EBUSY : 0;
}

/* ---- back-end ------------------------------------------------------------------------------ */

struct pvcore_guest_blkback {
    struct pvcore_guest_blk_ops ops;
    struct pvcore_ring_back ring;
    size_t slot_bytes, req_bytes;
    uint32_t proto, port, ring_ref, read_only, transfer_reads;
    uint32_t connected, fault;
    int stop_rc;
    uint16_t frontend, handle;
    pvcore_grant_handle_t ring_handle;
    uint64_t ring_addr;
    uint64_t seg_addr[MAXSEG];
    uint64_t spare_gfn[MAXSEG];
    unsigned char *disk;
    uint64_t nr_sectors;
    struct pvcore_guest_blkback_stats st;
};

size_t pvcore_guest_blkback_size(void)
{
    return sizeof(struct pvcore_guest_blkback);
}

static void *mapped_at(const struct pvcore_guest_blkback *b, uint64_t addr)
{
    if (b->ops.mapped != NULL) {
        return b->ops.mapped(b->ops.ctx, addr);
    }
    return (void *)(uintptr_t)addr;
}

static int gnttab(struct pvcore_guest_blkback *b, uint32_t cmd, void *uop, uint32_t count)
{
    return op_result(b->ops.grant_table_op(b->ops.ctx, cmd, uop, count));
}

/* Unmaps `count` host mappings: true if every one went. */
static bool unmap(struct pvcore_guest_blkback *b, const uint64_t *addr, const pvcore_grant_handle_t *h,
                  uint32_t count)
{
    struct pvcore_gnttab_unmap_grant_ref u[MAXSEG];
    uint32_t i;
    bool ok;

    if (count == 0) {
        return true;
    }
    memset(u, 0, sizeof(u));
    for (i = 0; i < count; i++) {
        u[i].host_addr = addr[i];
        u[i].handle = h[i];
        u[i].status = GNTST_UNDONE;
    }
    ok = gnttab(b, PVCORE_GNTTABOP_unmap_grant_ref, u, count) == 0;
    for (i = 0; i < count; i++) {
        if (u[i].status == PVCORE_GNTST_okay) {
            b->st.unmapped++;
        } else {
            ok = false;
        }
    }
    return ok;
}

int pvcore_guest_blkback_connect(void *mem, size_t bytes, const struct pvcore_guest_blkback_config *cfg,
                                 struct pvcore_guest_blkback **out)
{
    struct pvcore_guest_blkback *b;
    struct pvcore_gnttab_map_grant_ref m;
    uint32_t i, j;
    void *ring;
    int rc;

    if (mem == NULL || ((uintptr_t)mem & 7u) != 0 || bytes < sizeof(*b) || cfg == NULL || out == NULL ||
        cfg->ops == NULL || cfg->ops->grant_table_op == NULL || cfg->ops->event_channel_op == NULL ||
        (cfg->protocol != PVCORE_GUEST_BLK_X86_32 && cfg->protocol != PVCORE_GUEST_BLK_X86_64) ||
        cfg->disk == NULL || cfg->nr_sectors == 0 || cfg->nr_sectors > (uint64_t)(SIZE_MAX / SECT) ||
        cfg->ring_addr == 0 || !page_aligned(cfg->ring_addr) ||
        (cfg->transfer_reads != 0 && !transfer_ops_ok(cfg->ops))) {
        return -PVCORE_EINVAL;
    }
    for (i = 0; i < MAXSEG; i++) {
        if (cfg->seg_addr[i] == 0 || !page_aligned(cfg->seg_addr[i]) || cfg->seg_addr[i] == cfg->ring_addr) {
            return -PVCORE_EINVAL;
        }
        for (j = 0; j < i; j++) {
            if (cfg->seg_addr[j] == cfg->seg_addr[i] ||
                (cfg->transfer_reads != 0 && cfg->spare_gfn[j] == cfg->spare_gfn[i])) {
                return -PVCORE_EINVAL;
            }
        }
    }

    memset(mem, 0, sizeof(*b));
    b = (struct pvcore_guest_blkback *)mem;
    b->ops = *cfg->ops;
    b->proto = cfg->protocol;
    b->slot_bytes = slot_size(b->proto);
    b->req_bytes = req_size(b->proto);
    b->port = cfg->port;
    b->ring_ref = cfg->ring_ref;
    b->read_only = cfg->read_only != 0;
    b->frontend = cfg->frontend;
    b->handle = cfg->handle;
    b->ring_addr = cfg->ring_addr;
    memcpy(b->seg_addr, cfg->seg_addr, sizeof(b->seg_addr));
    b->transfer_reads = cfg->transfer_reads != 0;
    memcpy(b->spare_gfn, cfg->spare_gfn, sizeof(b->spare_gfn));
    b->disk = (unsigned char *)cfg->disk;
    b->nr_sectors = cfg->nr_sectors;
    *out = b;

    memset(&m, 0, sizeof(m));
    m.host_addr = b->ring_addr;
    m.flags = PVCORE_GNTMAP_host_map;
    m.ref = b->ring_ref;
    m.dom = b->frontend;
    m.status = GNTST_UNDONE;
    rc = gnttab(b, PVCORE_GNTTABOP_map_grant_ref, &m, 1);
    if (m.status == PVCORE_GNTST_okay) {
        b->st.mapped++;
        b->ring_handle = m.handle;
    } else {
        b->st.last_gntst = m.status == GNTST_UNDONE ? (int16_t)PVCORE_GNTST_general_error : m.status;
        return rc != 0 ? rc : -PVCORE_EACCES;
    }
    ring = mapped_at(b, b->ring_addr);
    if (ring == NULL || pvcore_ring_back_init(&b->ring, ring, PAGE, b->slot_bytes) != 0 || b->ring.nr_ents != NSLOTS) {
        (void)unmap(b, &b->ring_addr, &b->ring_handle, 1);
        return -PVCORE_EFAULT;
    }
    b->connected = 1;
    return 0;
}

/* The request's checks that need no hypercall; the sector count through `sectors`. */
static bool valid(const struct pvcore_guest_blkback *b, const struct breq *r, uint64_t *sectors)
{
    uint64_t total = 0;
    uint32_t i;

    if (r->handle != b->handle || r->nr == 0 || r->nr > MAXSEG ||
        (r->op == PVCORE_BLKIF_OP_WRITE && b->read_only)) {
        return false;
    }
    for (i = 0; i < r->nr; i++) {
        const struct pvcore_blkif_request_segment *s = &r->seg[i];

        if (s->first_sect > s->last_sect || s->last_sect >= SPP || s->gref == b->ring_ref) {
            return false;
        }
        total += (uint64_t)(s->last_sect - s->first_sect) + 1u;
    }
    /* Inside the disk, written so that nothing overflows. */
    if (r->sector > b->nr_sectors || total > b->nr_sectors - r->sector) {
        return false;
    }
    *sectors = total;
    return true;
}

static void back_fault(struct pvcore_guest_blkback *b, uint32_t fault)
{
    b->fault = fault;
    b->stop_rc = -PVCORE_EIO;
}

/* Copies the sectors of segments seg[0..nr) between the disk, from `sector` on, and the
 * pages page[0..nr) (NULL: a segment skipped, its sectors passed over). */
static void copy_segs(struct pvcore_guest_blkback *b, const struct breq *r, unsigned char *const *page, bool write)
{
    uint64_t at = r->sector;
    uint32_t i;

    for (i = 0; i < r->nr; i++) {
        const struct pvcore_blkif_request_segment *s = &r->seg[i];
        uint32_t n = (uint32_t)s->last_sect - s->first_sect + 1u;
        unsigned char *d = b->disk + (size_t)at * SECT;

        if (page[i] != NULL) {
            unsigned char *p = page[i] + (size_t)s->first_sect * SECT;

            if (write) {
                memcpy(d, p, (size_t)n * SECT);
            } else {
                memcpy(p, d, (size_t)n * SECT);
            }
        }
        at += n;
    }
}

/* Transfer mode, a validated read: fresh frames at the spare gfns (one populate call),
 * each filled through a mapping at its segment's address (the rest of the page zero) and
 * unmapped, then given to the front-end (one transfer call); a frame the hypervisor left
 * us (bad_page: it was not taken; or an op not done) is given back, so that the spare
 * gfns are holes again. A failed unmap or give-back stops the back-end. */
static int16_t serve_transfer(struct pvcore_guest_blkback *b, const struct breq *r, uint64_t sectors)
{
    pvcore_xen_pfn_t mfn[MAXSEG], back[MAXSEG];
    pvcore_gnttab_transfer_t t[MAXSEG];
    unsigned char *page[MAXSEG];
    uint32_t i, got, nt = 0, nback = 0, okay = 0;
    int64_t rc;

    for (i = 0; i < r->nr; i++) {
        mfn[i] = (pvcore_xen_pfn_t)b->spare_gfn[i];
    }
    rc = reservation(&b->ops, PVCORE_XENMEM_populate_physmap, mfn, r->nr);
    got = rc <= 0 ? 0u : rc >= r->nr ? r->nr : (uint32_t)rc;
    for (i = 0; i < r->nr; i++) {
        page[i] = i < got ? (unsigned char *)b->ops.remap(b->ops.ctx, b->seg_addr[i], b->spare_gfn[i], mfn[i]) : NULL;
        if (page[i] != NULL) {
            memset(page[i], 0, PAGE);
        } else if (i < got) {
            back[nback++] = mfn[i]; /* populated, not mapped */
        }
    }
    copy_segs(b, r, page, false);
    memset(t, 0, sizeof(t));
    for (i = 0; i < r->nr; i++) {
        if (page[i] == NULL) {
            continue;
        }
        /* Unmapped, so that nothing but its allocation references the frame. */
        if (b->ops.remap(b->ops.ctx, b->seg_addr[i], b->spare_gfn[i], PVCORE_GUEST_BLK_NO_FRAME) == NULL) {
            back_fault(b, PVCORE_GUEST_BLK_FAULT_NO_FRAME);
            continue;
        }
        t[nt].mfn = mfn[i];
        t[nt].domid = b->frontend;
        t[nt].ref = r->seg[i].gref;
        t[nt++].status = GNTST_UNDONE;
    }
    if (nt > 0) {
        (void)gnttab(b, PVCORE_GNTTABOP_transfer, t, nt);
    }
    for (i = 0; i < nt; i++) {
        if (t[i].status == PVCORE_GNTST_okay) {
            b->st.transferred++;
            okay++;
            continue;
        }
        if (t[i].status != GNTST_UNDONE) {
            b->st.last_gntst = t[i].status;
        }
        /* Taken (and freed) on every other status: only these leave it ours. */
        if (t[i].status == PVCORE_GNTST_bad_page || t[i].status == GNTST_UNDONE) {
            back[nback++] = t[i].mfn;
        }
    }
    if (nback > 0 && reservation(&b->ops, PVCORE_XENMEM_decrease_reservation, back, nback) != (int64_t)nback) {
        back_fault(b, PVCORE_GUEST_BLK_FAULT_NO_FRAME);
    }
    b->st.transfer_failures += r->nr - okay;
    if (okay != r->nr) {
        b->st.errors++;
        return PVCORE_BLKIF_RSP_ERROR;
    }
    b->st.sectors_read += sectors;
    b->st.okay++;
    return PVCORE_BLKIF_RSP_OKAY;
}

/* Serves one request (a private copy): validates, maps, copies, unmaps. A failed unmap
 * also sets the fault that stops the back-end. */
static int16_t serve(struct pvcore_guest_blkback *b, const struct breq *r)
{
    struct pvcore_gnttab_map_grant_ref m[MAXSEG];
    uint64_t addr[MAXSEG], sectors;
    pvcore_grant_handle_t h[MAXSEG];
    unsigned char *page[MAXSEG];
    bool write = r->op == PVCORE_BLKIF_OP_WRITE, ok;
    uint32_t i, nmapped = 0;
    int rc;

    if (r->op != PVCORE_BLKIF_OP_READ && !write) {
        b->st.unsupported++;
        return PVCORE_BLKIF_RSP_EOPNOTSUPP;
    }
    if (!valid(b, r, &sectors)) {
        b->st.invalid++;
        b->st.errors++;
        return PVCORE_BLKIF_RSP_ERROR;
    }
    if (b->transfer_reads && !write) {
        return serve_transfer(b, r, sectors);
    }
    memset(m, 0, sizeof(m));
    for (i = 0; i < r->nr; i++) {
        m[i].host_addr = b->seg_addr[i];
        /* A write request's data is only read here: map it read-only; a read request's
         * page receives data: writable, which the hypervisor refuses for a read-only grant. */
        m[i].flags = (uint32_t)PVCORE_GNTMAP_host_map | (write ? (uint32_t)PVCORE_GNTMAP_readonly : 0u);
        m[i].ref = r->seg[i].gref;
        m[i].dom = b->frontend;
        m[i].status = GNTST_UNDONE;
    }
    rc = gnttab(b, PVCORE_GNTTABOP_map_grant_ref, m, r->nr);
    ok = rc == 0;
    /* Whatever the call returned, each op that says okay holds a mapping to undo. */
    for (i = 0; i < r->nr; i++) {
        if (m[i].status == PVCORE_GNTST_okay) {
            b->st.mapped++;
            addr[nmapped] = m[i].host_addr;
            h[nmapped++] = m[i].handle;
        } else {
            ok = false;
            if (m[i].status != GNTST_UNDONE) {
                b->st.last_gntst = m[i].status;
            }
        }
    }
    for (i = 0; ok && i < r->nr; i++) {
        page[i] = (unsigned char *)mapped_at(b, b->seg_addr[i]);
        ok = page[i] != NULL;
    }
    if (ok) {
        copy_segs(b, r, page, write);
        if (write) {
            b->st.sectors_written += sectors;
        } else {
            b->st.sectors_read += sectors;
        }
    }
    if (!unmap(b, addr, h, nmapped)) {
        back_fault(b, PVCORE_GUEST_BLK_FAULT_UNMAP_FAILED);
        ok = false;
    }
    if (!ok) {
        b->st.map_failures++;
        b->st.errors++;
        return PVCORE_BLKIF_RSP_ERROR;
    }
    b->st.okay++;
    return PVCORE_BLKIF_RSP_OKAY;
}

static int back_stop(struct pvcore_guest_blkback *b, uint32_t fault, int rc)
{
    b->fault = fault;
    b->stop_rc = rc;
    return rc;
}

int pvcore_guest_blkback_poll(struct pvcore_guest_blkback *b, uint32_t budget, uint32_t *served)
{
    _Alignas(8) unsigned char raw[BATCH * sizeof(struct pvcore_blkif_request_x86_64)];
    uint32_t got, i, want, waiting, done = 0;
    int rc = 0;

    if (served != NULL) {
        *served = 0;
    }
    if (!b->connected) {
        return -PVCORE_ENOTCONN;
    }
    if (b->fault != PVCORE_GUEST_BLK_FAULT_NONE) {
        return b->stop_rc;
    }
    for (;;) {
        want = BATCH;
        if (budget != 0 && budget - done < want) {
            want = budget - done;
        }
        if (want == 0) {
            break;
        }
        /* Copied out before anything is looked at (XSA-155); a req_prod claiming more than
         * the ring holds consumes nothing. */
        if (pvcore_ring_back_consume(&b->ring, b->slot_bytes, b->req_bytes, raw, want, &got) != 0) {
            rc = back_stop(b, PVCORE_GUEST_BLK_FAULT_OVERFLOW, -PVCORE_EOVERFLOW);
            break;
        }
        if (got == 0) {
            if (pvcore_ring_back_final_check(&b->ring, &waiting) != 0) {
                rc = back_stop(b, PVCORE_GUEST_BLK_FAULT_OVERFLOW, -PVCORE_EOVERFLOW);
                break;
            }
            if (waiting == 0) {
                break;
            }
            continue;
        }
        for (i = 0; i < got; i++) {
            struct breq r;
            int16_t status;
            void *slot;

            get_req(b->proto, raw + (size_t)i * b->req_bytes, &r);
            status = serve(b, &r);
            b->st.requests++;
            /* The response goes into the slot of a request consumed: always one free. */
            slot = pvcore_ring_back_produce(&b->ring, b->slot_bytes);
            if (slot != NULL) {
                put_rsp(b->proto, slot, r.id, r.op, status);
            }
        }
        done += got;
        if (pvcore_ring_back_push_check_notify(&b->ring)) {
            b->st.notifies++;
            (void)send(&b->ops, b->port); /* a closed port only means the front-end left */
        }
        if (b->fault != PVCORE_GUEST_BLK_FAULT_NONE) {
            rc = b->stop_rc;
            break;
        }
    }
    if (served != NULL) {
        *served = done;
    }
    return rc;
}

uint32_t pvcore_guest_blkback_fault(const struct pvcore_guest_blkback *b)
{
    return b->fault;
}

void pvcore_guest_blkback_get_stats(const struct pvcore_guest_blkback *b, struct pvcore_guest_blkback_stats *out)
{
    *out = b->st;
}

int pvcore_guest_blkback_disconnect(struct pvcore_guest_blkback *b)
{
    if (!b->connected) {
        return -PVCORE_ENOTCONN;
    }
    if (!unmap(b, &b->ring_addr, &b->ring_handle, 1)) {
        return -PVCORE_EIO;
    }
    b->connected = 0;
    return 0;
}
