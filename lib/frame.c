/*
 * The frame table: general references, type references and the type-change rule, and
 * the per-domain teardown list that makes devalidation bounded and preemptible.
 *
 * Reference ownership, which every function here preserves:
 * - a general reference (frame.count) keeps a frame from being freed; the owner's
 *   allocation reference (FC_ALLOCATED) is one of them;
 * - a type reference (type_info count) keeps the frame's type; every holder of a type
 *   reference also holds a general reference;
 * - a frame whose validation was preempted (PGT_PARTIAL) has exactly one type reference
 *   and its general reference, owned by that partial state; the next caller asking for
 *   the same type takes them over and resumes the validation;
 * - a frame whose last type reference was dropped while validated, or whose validation
 *   failed (PGT_TEARDOWN), likewise keeps one type and one general reference, owned by the
 *   domain's teardown list, until every reference its entries hold is released.
 *
 * Lock rules: page-table types (L1-L4) are taken and dropped only with the frame owner's
 * mmu_lock held; other types (writable, descriptor) by compare-and-swap from anywhere.
 */
#include "internal/core.h"
#include "internal/paging.h"

void frame_free(struct machine *m, uint64_t mfn)
{
    struct frame *f = mfn_frame(m, mfn);
    uint16_t owner = atomic_load_explicit(&f->owner, memory_order_relaxed);

    frame_reset_state(m, mfn);
    domain_forget_frame(m, owner, mfn);
    if (owner < m->max_domains) {
        /* The owner stays in the table while it owns frames (pvcore_domain_destroy). */
        struct domain *od = atomic_load_explicit(&m->domtab[owner], memory_order_acquire);
        if (od != NULL) {
            atomic_fetch_sub_explicit(&od->tot_pages, 1, memory_order_release);
        }
    }
    /* release: the reset above is visible before anyone sees the frame as free. */
    atomic_store_explicit(&f->owner, (uint16_t)DOMID_FREE, memory_order_release);
    if (m->ops->frame_freed != NULL) {
        m->ops->frame_freed(m->ctx, mfn);
    }
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
static void flush_stale_writable(struct machine *m, uint64_t mfn, uint16_t owner)
{
    struct frame *f = mfn_frame(m, mfn);
    uint8_t h = atomic_fetch_and_explicit(&f->hints, (uint8_t)~(FH_WAS_WRITABLE | FH_FOREIGN_WRITABLE),
                                          memory_order_acq_rel);
    uint32_t dropped = atomic_load_explicit(&f->wr_seq, memory_order_acquire);
    struct domain *od = owner < m->max_domains
                            ? atomic_load_explicit(&m->domtab[owner], memory_order_acquire)
                            : NULL;
    struct pvcore_flush fl;

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
    memset(&fl, 0, sizeof(fl));
    fl.kind = PVCORE_FLUSH_TLB_ALL;
    fl.scope = PVCORE_FLUSH_SCOPE_DOMAIN;
    /* DOMID_INVALID asks for every domain's vCPUs: a foreign mapper may hold the entry. */
    fl.domid = (h & FH_FOREIGN_WRITABLE) ? (uint16_t)PVCORE_DOMID_INVALID : owner;
    machine_flush(m, &fl);
}

/*
 * A page-table type reference (L1-L4; the writable type has its own inline helpers). `d`
 * is the frame's owner, whose lock is held; the caller holds a general reference.
 * *took_over: the frame was PARTIAL and its type + general reference passed to the
 * caller, whose own general reference is then surplus. *handed_off: a type reference was
 * taken but validation was preempted or failed, so it and one general reference now
 * belong to the partial state or the teardown list.
 */
static int frame_get_type(struct domain *d, uint64_t mfn, uint32_t type, bool *took_over,
                          bool *handed_off)
{
    struct machine *m = d->m;
    struct frame *f = mfn_frame(m, mfn);
    uint32_t x = frame_type(f, memory_order_relaxed);
    uint32_t nx;
    unsigned level = pgt_type_level(type);
    bool fresh;
    int rc;

    PVCORE_ASSERT(level != 0);
    *took_over = false;
    *handed_off = false;
    for (;;) {
        uint32_t cnt = x & PGT_COUNT_MASK;

        fresh = false;
        if (cnt == PGT_COUNT_MASK) {
            return -PVCORE_EINVAL;
        }
        if (cnt == 0) {
            /* The type may change only while nobody holds it (and then it is none). */
            nx = type | 1u;
            fresh = true;
        } else {
            if ((x & (PGT_TYPE_MASK | PGT_PAE_XEN_L2)) != type) {
                return -PVCORE_EINVAL;
            }
            if (x & PGT_TEARDOWN) {
                /* Being devalidated: the hypercall's teardown pass must run first. */
                return -PVCORE_ERESTART;
            }
            if ((x & PGT_VALIDATED) == 0) {
                if ((x & PGT_PARTIAL) == 0) {
                    /* Only possible if a validation of this frame is in progress further up
                     * our own call chain, which the level structure rules out. */
                    return -PVCORE_EBUSY;
                }
                /* Take over the preempted validation together with its references. */
                nx = x & ~PGT_PARTIAL;
                if (frame_type_cas(f, &x, nx)) {
                    *took_over = true;
                    break;
                }
                continue;
            }
            nx = x + 1;
        }
        if (frame_type_cas(f, &x, nx)) {
            break;
        }
    }

    if (fresh) {
        flush_stale_writable(m, mfn, atomic_load_explicit(&f->owner, memory_order_relaxed));
        mfn_aux(m, mfn)->nr_validated = 0;
    }
    if (!fresh && !*took_over) {
        return 0;
    }
    rc = paging_validate(d, mfn, level);
    *handed_off = rc != 0;
    return rc;
}

/* Drops a page-table type reference. *queued: it was the last of a validated table, which
 * went to the teardown list taking the caller's general reference with it. */
static void frame_put_type(struct domain *d, uint64_t mfn, bool *queued)
{
    struct machine *m = d->m;
    struct frame *f = mfn_frame(m, mfn);
    uint32_t x = frame_type(f, memory_order_relaxed);
    uint32_t nx;

    *queued = false;
    for (;;) {
        uint32_t cnt = x & PGT_COUNT_MASK;
        PVCORE_ASSERT(cnt != 0);
        if (cnt == 1 && pgt_type_level(x) != 0 && (x & PGT_VALIDATED)) {
            /* Last reference to a live table: its entries' references must be released,
             * which may be a lot of work, so hand the frame to the teardown list with the
             * caller's type and general reference. */
            nx = (x & ~(PGT_VALIDATED | PGT_PINNED | PGT_PARTIAL)) | PGT_TEARDOWN;
            if (frame_type_cas(f, &x, nx)) {
                mfn_aux(m, mfn)->nr_validated = PAGING_ENTRIES;
                teardown_push(d, mfn);
                *queued = true;
                return;
            }
            continue;
        }
        /* A partial or queued table is never put by anyone but its own state. */
        PVCORE_ASSERT(cnt > 1 || !(x & (PGT_PARTIAL | PGT_TEARDOWN)));
        /* With no holder left the frame has no type at all: one canonical free state. */
        nx = cnt == 1 ? 0u : x - 1;
        if (frame_type_cas(f, &x, nx)) {
            break;
        }
    }
}

int frame_get_page_and_type_slow(struct domain *d, uint64_t mfn, uint16_t owner, uint32_t type)
{
    bool took_over, handed_off;
    int rc;

    if (!frame_get_page(d->m, mfn, owner)) {
        return -PVCORE_EINVAL;
    }
    rc = frame_get_type(d, mfn, type, &took_over, &handed_off);
    if (took_over || (rc != 0 && !handed_off)) {
        /* Taken over: the partial state's general reference is ours instead. Failed
         * before taking the type: ours is not needed. */
        frame_put_page(d->m, mfn);
    }
    return rc;
}

void frame_put_page_and_type_slow(struct domain *d, uint64_t mfn)
{
    bool queued;

    frame_put_type(d, mfn, &queued);
    if (!queued) {
        frame_put_page(d->m, mfn);
    }
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

/* ---- teardown list ------------------------------------------------------------------------- */

void teardown_push(struct domain *d, uint64_t mfn)
{
    struct frame_aux *a = mfn_aux(d->m, mfn);

    a->next = d->teardown_head;
    d->teardown_head = (uint32_t)(mfn + 1);
}

int domain_run_teardown(struct domain *d)
{
    struct machine *m = d->m;
    bool progress = false;

    while (d->teardown_head != 0) {
        uint64_t mfn = (uint64_t)d->teardown_head - 1;
        struct frame *f = mfn_frame(m, mfn);
        uint32_t x;
        int rc;

        if (progress && domain_should_preempt(d)) {
            return -PVCORE_ERESTART;
        }
        progress = true;
        /* Pop first: putting this frame's entries may push its children. */
        d->teardown_head = mfn_aux(m, mfn)->next;
        mfn_aux(m, mfn)->next = 0;
        rc = paging_devalidate(d, mfn, pgt_type_level(
                                   frame_type(f, memory_order_relaxed)));
        if (rc == -PVCORE_ERESTART) {
            teardown_push(d, mfn);
            return rc;
        }
        /* The teardown state held the last type reference: the frame has no type now. */
        x = frame_type(f, memory_order_relaxed);
        PVCORE_ASSERT((x & PGT_COUNT_MASK) == 1 && (x & PGT_TEARDOWN));
        frame_type_store(f, 0);
        frame_put_page(m, mfn);
    }
    return 0;
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
        } else if (f->domid < m->max_domains) {
            struct domain *d = atomic_load_explicit(&m->domtab[f->domid], memory_order_acquire);
            if (d != NULL) {
                seq_raise(&d->flushed_seq, seq);
            }
        }
    }
}
