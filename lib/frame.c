/*
 * The frame table: freeing a frame, the records of dropped writable mappings and the TLB
 * flushes they ask for (XSA-401, XSA-402), and the numbering of full flushes. A leaf:
 * it calls only the M2P and the embedder's hooks.
 *
 * General references (frame.count, the low half of the count word) keep a frame from
 * being freed; the owner's allocation reference (FC_ALLOCATED) is one of them. With a
 * reference held a frame's owner cannot change: it changes only at count 0.
 */
#include "internal/frame.h"
#include "internal/m2p.h"

/* What a frame leaving its owner may still have in TLBs: its last mapping may have gone
 * without a flush (an L1 entry cleared with no flush asked for, a table torn down
 * mid-batch), so TLBs may map it until the next full flush. Whoever gives it to a new
 * owner checks the record first (frame_flush_stale_free()). */
static void frame_record_freed(struct machine *m, uint64_t mfn)
{
    struct frame *f = mfn_frame(m, mfn);

    atomic_store_explicit(&f->wr_seq, atomic_load_explicit(&m->flush_seq, memory_order_seq_cst),
                          memory_order_relaxed);
    atomic_store_explicit(&f->hints, FH_FREED, memory_order_relaxed);
}

/* The frame is free: its owner is gone (release: its reset state is visible before anyone
 * sees it free), and the embedder hears of it. */
static void frame_publish_free(struct machine *m, uint64_t mfn)
{
    atomic_store_explicit(&mfn_frame(m, mfn)->owner, (uint16_t)DOMID_FREE, memory_order_release);
    if (m->ops->frame_freed != NULL) {
        m->ops->frame_freed(m->ctx, pvcore_mfn(mfn));
    }
}

void frame_free(struct machine *m, uint64_t mfn)
{
    struct frame *f = mfn_frame(m, mfn);
    uint16_t owner = atomic_load_explicit(&f->owner, memory_order_relaxed);

    frame_reset_state(m, mfn);
    frame_record_freed(m, mfn);
    m2p_forget(m, owner, mfn);
    {
        /* The owner stays in the table while it owns frames (pvcore_domain_destroy). */
        struct domain *od = machine_domain(m, owner);
        if (od != NULL) {
            atomic_fetch_sub_explicit(&od->tot_pages, 1, memory_order_release);
        }
    }
    frame_publish_free(m, mfn);
}

/* ---- frames in transit ---------------------------------------------------------------------- */

bool frame_take_free(struct machine *m, uint64_t mfn)
{
    struct frame *f;
    uint32_t c = FC_RAM;

    if (!mfn_is_ram(m, mfn)) {
        return false;
    }
    f = mfn_frame(m, mfn);
    /* A free frame has no reference (FC_RAM alone) and no owner; one that is being
     * assigned, or in transit already, has a different count word, so the exchange fails
     * for it. */
    if (atomic_load_explicit(&f->owner, memory_order_acquire) != DOMID_FREE ||
        !frame_count_cas(f, &c, FC_STOLEN)) {
        return false;
    }
    atomic_store_explicit(&f->owner, (uint16_t)DOMID_TRANSIT, memory_order_release);
    return true;
}

int frame_steal(const struct domain_locked *dl, uint64_t mfn, bool account)
{
    struct domain *d = dl->d;
    struct machine *m = d->m;
    struct frame *f;
    uint64_t c;

    ASSERT_LOCKED(dl);
    if (!frame_get_page(m, mfn, d->domid)) {
        return -PVCORE_EINVAL;
    }
    f = mfn_frame(m, mfn);
    c = atomic_load_explicit(&f->ct, memory_order_acquire);
    do {
        /* Exactly its allocation reference and ours, and no type reference, pin or
         * half-done validation: nothing maps it, and nothing can start to once the count
         * word says it is in transit. The type goes with the count (XSA-214: a validated
         * descriptor page must not reach its next owner still validated). */
        if (CT_COUNT(c) != (FC_RAM | FC_ALLOCATED | 2u) ||
            (CT_TYPE(c) & (PGT_COUNT_MASK | PGT_PINNED | PGT_PARTIAL | PGT_TEARDOWN)) != 0) {
            frame_put_page(m, mfn);
            return -PVCORE_EINVAL;
        }
    } while (!atomic_compare_exchange_weak_explicit(&f->ct, &c, CT_MAKE(FC_STOLEN, 0),
                                                    memory_order_acq_rel, memory_order_acquire));
    frame_reset_state(m, mfn);
    frame_record_freed(m, mfn);
    atomic_store_explicit(&f->owner, (uint16_t)DOMID_TRANSIT, memory_order_release);
    if (account) {
        atomic_fetch_sub_explicit(&d->tot_pages, 1, memory_order_release);
    }
    return 0;
}

int domain_reserve(struct domain *d, uint64_t n)
{
    uint64_t tot = atomic_load_explicit(&d->tot_pages, memory_order_relaxed);

    do {
        if (atomic_load_explicit(&d->dying, memory_order_acquire)) {
            return -PVCORE_ESRCH;
        }
        if (n > d->max_pages || tot > d->max_pages - n) {
            return -PVCORE_ENOMEM;
        }
    } while (!atomic_compare_exchange_weak_explicit(&d->tot_pages, &tot, tot + n,
                                                    memory_order_seq_cst, memory_order_relaxed));
    /* The reservation is visible, then `dying` is looked at again (the fence pairs with
     * the one pvcore_domain_destroy() makes after setting it, before it reads tot_pages):
     * a destruction that began after the look above either sees the reservation and waits
     * for it, or is seen here, and the reservation is taken back. Without this a
     * destruction could finish, its id be free for reuse, and a frame then be given to a
     * domain that no longer exists. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&d->dying, memory_order_relaxed)) {
        domain_unreserve(d, n);
        return -PVCORE_ESRCH;
    }
    return 0;
}

void domain_unreserve(struct domain *d, uint64_t n)
{
    atomic_fetch_sub_explicit(&d->tot_pages, n, memory_order_release);
}

bool frame_give(struct domain *d, uint64_t mfn, uint64_t gfn)
{
    struct machine *m = d->m;
    struct frame *f = mfn_frame(m, mfn);
    uint32_t c;

    PVCORE_ASSERT(atomic_load_explicit(&f->owner, memory_order_relaxed) == DOMID_TRANSIT);
    frame_flush_stale_free(m, mfn);
    frame_reset_state(m, mfn);
    /* The owner first, then the reference that makes the frame live (as
     * pvcore_domain_assign() does), then its place in the M2P. */
    atomic_store_explicit(&f->owner, d->domid, memory_order_release);
    c = FC_STOLEN;
    if (!frame_count_cas(f, &c, FC_RAM | FC_ALLOCATED | 1u)) {
        PVCORE_ASSERT(0); /* nobody else touches a frame in transit */
    }
    m2p_set(d, mfn, gfn);
    /* A destruction that started meanwhile may have scanned past this frame: after the
     * owner is visible, look again (the fence pairs with the one after `dying` is set), and
     * if so drop its allocation reference as the destruction does, whichever comes first. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&d->dying, memory_order_relaxed)) {
        (void)frame_put_alloc_ref(m, mfn);
        return false;
    }
    return true;
}

void frame_free_transit(struct machine *m, uint64_t mfn, uint16_t prev_owner)
{
    struct frame *f = mfn_frame(m, mfn);
    uint32_t c = FC_STOLEN;

    PVCORE_ASSERT(atomic_load_explicit(&f->owner, memory_order_relaxed) == DOMID_TRANSIT);
    m2p_forget(m, prev_owner, mfn);
    if (!frame_count_cas(f, &c, FC_RAM)) {
        PVCORE_ASSERT(0);
    }
    frame_publish_free(m, mfn);
}

/* A full flush of every vCPU of domain `domid` (PVCORE_DOMID_INVALID: of every domain). */
static void flush_all_of(struct machine *m, uint16_t domid)
{
    struct pvcore_flush fl;

    memset(&fl, 0, sizeof(fl));
    fl.kind = PVCORE_FLUSH_TLB_ALL;
    fl.scope = PVCORE_FLUSH_SCOPE_DOMAIN;
    fl.domid = domid;
    machine_flush(m, &fl);
}

/* a is later than b in the wrapping sequence of full flushes. */
static bool seq_after(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}

/*
 * Before a frame that was writable becomes a page table or descriptor page, no vCPU may
 * keep a writable TLB entry for it (XSA-401: this happens after the type change is
 * committed, so no new writable mapping can appear in between). A flush is needed only
 * if no full flush of the right vCPUs completed since the last writable mapping went: the
 * frame records the flush sequence number at that moment (as Xen's tlbflush_timestamp
 * does), so promoting a whole tree of former writable pages costs one flush, not one each.
 */
void frame_flush_stale_writable(struct machine *m, uint64_t mfn, uint16_t owner)
{
    struct frame *f = mfn_frame(m, mfn);
    uint8_t h = atomic_fetch_and_explicit(&f->hints, (uint8_t)~(FH_WAS_WRITABLE | FH_FOREIGN_WRITABLE),
                                          memory_order_acq_rel);
    uint32_t dropped = atomic_load_explicit(&f->wr_seq, memory_order_acquire);
    struct domain *od = machine_domain(m, owner);

    if (h & FH_NON_COHERENT) {
        /* XSA-402: write back what a non-coherent writable mapping may have left in
         * caches before the contents are validated from memory. */
        atomic_fetch_and_explicit(&f->hints, (uint8_t)~FH_NON_COHERENT, memory_order_relaxed);
        if (m->ops->flush_cache != NULL) {
            m->ops->flush_cache(m->ctx, owner, 1);
        }
    }
    if ((h & FH_WAS_WRITABLE) == 0 ||
        seq_after(atomic_load_explicit(&m->all_flushed_seq, memory_order_acquire), dropped) ||
        (!(h & FH_FOREIGN_WRITABLE) && od != NULL &&
         seq_after(atomic_load_explicit(&od->flushed_seq, memory_order_acquire), dropped))) {
        return;
    }
    /* DOMID_INVALID asks for every domain's vCPUs: a foreign mapper may hold the entry. */
    flush_all_of(m, (h & FH_FOREIGN_WRITABLE) ? (uint16_t)PVCORE_DOMID_INVALID : owner);
}

/*
 * A freed frame goes to a new owner only once no TLB can still map it for the old one
 * (or for a domain that mapped it foreign): a full flush of every domain must have
 * completed since it was freed, and if none has, this is one. As with writable mappings,
 * one flush covers every frame freed before it, so recycling many frames costs one.
 */
void frame_flush_stale_free(struct machine *m, uint64_t mfn)
{
    struct frame *f = mfn_frame(m, mfn);
    uint8_t h = atomic_fetch_and_explicit(&f->hints, (uint8_t)~FH_FREED, memory_order_acq_rel);

    if ((h & FH_FREED) == 0 ||
        seq_after(atomic_load_explicit(&m->all_flushed_seq, memory_order_acquire),
                  atomic_load_explicit(&f->wr_seq, memory_order_acquire))) {
        return;
    }
    flush_all_of(m, PVCORE_DOMID_INVALID);
}

/*
 * frame_put_writable() for a caller without the frame owner's lock (a mapping of another
 * domain's frame): the owner may give the frame a page-table type the moment the count
 * reaches zero, and its check of wr_seq and the hint must then see this drop. So both are
 * recorded before the compare-and-swap that may drop the last reference, whose release
 * publishes them. A record made on an attempt that then fails (another holder appeared)
 * is harmless: it is older than the real last drop, whose record comes after it (the
 * acquire loads below order the two), and an earlier wr_seq only asks for more flushes.
 */
void frame_put_writable_unlocked(struct machine *m, uint64_t mfn)
{
    struct frame *f = mfn_frame(m, mfn);
    uint32_t x, nx;

    /* The caller's rewrite of the entry that mapped the frame must be visible to every
     * CPU's page walks before the flush number is read: a full flush numbered after it
     * then really removes every TLB entry the mapping left. */
    atomic_thread_fence(memory_order_seq_cst);
    x = frame_type(f, memory_order_acquire);
    do {
        PVCORE_ASSERT((x & PGT_TYPE_MASK) == PGT_WRITABLE && (x & PGT_COUNT_MASK) != 0);
        if ((x & PGT_COUNT_MASK) == 1) {
            atomic_store_explicit(&f->wr_seq,
                                  atomic_load_explicit(&m->flush_seq, memory_order_seq_cst),
                                  memory_order_relaxed);
            atomic_fetch_or_explicit(&f->hints, FH_WAS_WRITABLE, memory_order_relaxed);
            nx = 0;
        } else {
            nx = x - 1;
        }
    } while (!frame_type_cas(f, &x, nx));
}

static void seq_raise(_Atomic uint32_t *slot, uint32_t seq)
{
    uint32_t cur = atomic_load_explicit(slot, memory_order_relaxed);
    while (seq_after(seq, cur) &&
           !atomic_compare_exchange_weak_explicit(slot, &cur, seq, memory_order_release,
                                                  memory_order_relaxed)) {
    }
}

void machine_flush(struct machine *m, const struct pvcore_flush *f)
{
    bool full = f->kind == PVCORE_FLUSH_TLB_ALL && f->scope == PVCORE_FLUSH_SCOPE_DOMAIN;
    uint32_t seq = 0;

    /* Number the flush before it starts: anything dropped before this point is gone from
     * the TLBs once the hook returns (the hook completes the flush before returning). */
    if (full) {
        seq = atomic_fetch_add_explicit(&m->flush_seq, 1, memory_order_seq_cst) + 1u;
    }
    m->ops->flush_tlb(m->ctx, f);
    if (full) {
        if (f->domid == PVCORE_DOMID_INVALID) {
            seq_raise(&m->all_flushed_seq, seq);
        } else {
            struct domain *d = machine_domain(m, f->domid);
            if (d != NULL) {
                seq_raise(&d->flushed_seq, seq);
            }
        }
    }
}
