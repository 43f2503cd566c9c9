/*
 * The page-type machinery: taking and dropping validated types (page tables now,
 * descriptor pages next), validation dispatched by type, and the per-domain teardown list
 * that makes devalidation bounded and preemptible. Never installed.
 *
 * A validator plugs in through struct pagetype_ops: pagetype.c calls it when a frame
 * first takes its type (validate) and when the last reference goes (devalidate, from the
 * teardown list). Validating a table takes types on what its entries name, so validators
 * call back into frame_get_page_and_type(): that recursion, bounded by the levels, is the
 * one call cycle between files (pagetype.c and paging.c).
 */
#ifndef PVCORE_INTERNAL_PAGETYPE_H
#define PVCORE_INTERNAL_PAGETYPE_H

#include "internal/frame.h"
#include "internal/trace.h"

/*
 * What a type's validator does, for a frame of the witness's domain (whose lock is held),
 * charging its work to the witness's call:
 * - validate: resumes from aux.nr_validated. 0: every entry holds its references.
 *   -PVCORE_ERESTART: preempted, the frame is PARTIAL (see pagetype.c). Any other error:
 *   the references taken so far went to the teardown list with the frame.
 * - devalidate: releases the references of entries [0, aux.nr_validated), from the top;
 *   0, or -PVCORE_ERESTART with nr_validated saying where it stopped. NULL for a type whose
 *   entries hold no references (descriptor pages): its validation never stops half way
 *   (it fails whole, with no teardown), and its last reference drops the type at once.
 */
struct pagetype_ops {
    uint16_t entries; /* entries of a frame of this type (aux.nr_validated counts them) */
    int (*validate)(const struct domain_locked *dl, uint64_t mfn, uint32_t type);
    int (*devalidate)(const struct domain_locked *dl, uint64_t mfn, uint32_t type);
};

/* The page-table levels' validator (paging.c). */
extern const struct pagetype_ops paging_type_ops;

/* A validated type (L1-L4; see pagetype.c for the type-change rule) on a frame of the
 * witness's domain, whose lock it proves held. 0: the caller holds a general and a type
 * reference. Any error: it holds neither. The inline versions below handle the common
 * case (a frame already validated as that type gains or loses one of several holders)
 * and call these for everything else. */
int frame_get_page_and_type_slow(const struct domain_locked *dl, uint64_t mfn, uint32_t type);
void frame_put_page_and_type_slow(const struct domain_locked *dl, uint64_t mfn);

/* Drops a general and a type reference on a validated table held without its owner's
 * lock, by compare-and-swap, if another type reference remains: false (nothing changed)
 * when it would be the last, which only the owner's lock holder may drop. */
static inline bool frame_put_table_if_not_last(struct frame *f)
{
    uint64_t c = atomic_load_explicit(&f->ct, memory_order_relaxed);

    /* (Another type holder holds a general reference too: neither half reaches zero.)
     * release: whatever was read of the table happens before the reference goes. */
    while ((CT_TYPE(c) & PGT_COUNT_MASK) > 1) {
        if (atomic_compare_exchange_weak_explicit(&f->ct, &c, c - CT_MAKE(1, 1),
                                                  memory_order_release, memory_order_relaxed)) {
            return true;
        }
    }
    return false;
}

/* The same for a caller that holds no lock: the last reference is dropped under the
 * owner's lock, which queues the table's devalidation as any last drop does. */
void frame_put_table_unlocked(struct machine *m, uint64_t mfn);

/* A reference that frame_get_page_and_type() took on a frame that turned out to be
 * another domain's, and that would be that table's last: the call drops it once it holds
 * no lock (domain_unlock()). The frame's aux.next, unused while it is validated and held,
 * links the call's list. */
static inline void call_defer_table_put(struct call *c, struct machine *m, uint64_t mfn)
{
    mfn_aux(m, mfn)->next = c->deferred;
    c->deferred = (uint32_t)(mfn + 1u);
}

/* What frame_ref_validated() did. */
enum table_ref {
    TABLE_REF_NONE,  /* nothing taken: not such a table, or it changed meanwhile */
    TABLE_REF_HELD,  /* a general and a type reference taken, the frame still `owner`'s */
    TABLE_REF_STRAY, /* both taken, but the frame was reallocated to another domain in
                      * between: the caller gives them back its own way */
};

/*
 * A general and a type reference in one compare-and-swap of the count word, on a frame of
 * `owner` validated as a page table: its type half masked by `type_mask` must equal
 * `type_want` (VALIDATED included there), with `any_level` any page-table level will do,
 * and the type count must be above 0 and below `count_limit`. Validated implies a holder,
 * and excludes the partial and teardown states. The owner is read first, so that another
 * domain's frames are normally not touched, and again once the references are held (a
 * free frame may have been reallocated in between). Shared by the lock holder's fast path
 * below and the lock-free guest walk.
 */
static PVCORE_INLINE enum table_ref frame_ref_validated(struct frame *f, uint16_t owner,
                                                        uint32_t type_mask, uint32_t type_want,
                                                        bool any_level, uint32_t count_limit,
                                                        uint32_t *type)
{
    uint64_t c;
    uint32_t x;

    if (PVCORE_UNLIKELY(atomic_load_explicit(&f->owner, memory_order_acquire) != owner)) {
        return TABLE_REF_NONE;
    }
    c = atomic_load_explicit(&f->ct, memory_order_relaxed);
    do {
        x = CT_TYPE(c);
        if (PVCORE_UNLIKELY(!fc_can_get(CT_COUNT(c)) || (x & type_mask) != type_want ||
                            (any_level && pgt_type_level(x) == 0) ||
                            (x & PGT_COUNT_MASK) == 0 || (x & PGT_COUNT_MASK) >= count_limit)) {
            return TABLE_REF_NONE;
        }
        /* acq_rel: the table's entries are read after the references are held. (Another
         * CPU's change of either half makes it retry with the new word.) */
    } while (PVCORE_UNLIKELY(!atomic_compare_exchange_weak_explicit(
        &f->ct, &c, c + CT_MAKE(1, 1), memory_order_acq_rel, memory_order_relaxed)));
    *type = x + 1u;
    return PVCORE_LIKELY(atomic_load_explicit(&f->owner, memory_order_acquire) == owner)
               ? TABLE_REF_HELD
               : TABLE_REF_STRAY;
}

static inline int frame_get_page_and_type(const struct domain_locked *dl, uint64_t mfn, uint32_t type)
{
    struct machine *m = dl->d->m;
    struct frame *f;
    uint32_t x;

    ASSERT_LOCKED(dl);
    if (PVCORE_UNLIKELY(mfn >= m->nr_frames)) {
        return call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_NOT_OWNER, mfn);
    }
    f = mfn_frame(m, mfn);
    /* The common case in one step: a frame of ours already validated as this type gains a
     * general and a type reference. */
    switch (frame_ref_validated(f, dl->d->domid, PGT_TYPE_MASK | PGT_PAE_XEN_L2 | PGT_VALIDATED,
                                type | PGT_VALIDATED, false, PGT_COUNT_MASK, &x)) {
    case TABLE_REF_HELD:
        return 0;
    case TABLE_REF_STRAY:
        /* Another domain's table now: as if we had looked a moment later. */
        if (!frame_put_table_if_not_last(f)) {
            call_defer_table_put(dl->call, m, mfn);
        }
        return call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_NOT_OWNER, mfn);
    case TABLE_REF_NONE:
        break;
    }
    return frame_get_page_and_type_slow(dl, mfn, type);
}

static inline void frame_put_page_and_type(const struct domain_locked *dl, uint64_t mfn)
{
    struct machine *m = dl->d->m;
    struct frame *f = mfn_frame(m, mfn);
    uint64_t c = atomic_load_explicit(&f->ct, memory_order_relaxed);

    /* Not the last type reference: nothing but the counts changes (and, as above, only
     * the owner's lock holder can change a page-table type). Another type holder holds a
     * general reference too, so neither half reaches zero: one operation drops both. A
     * compare-and-swap, not a subtraction: a guest walk may drop its own reference
     * meanwhile, and then ours may be the last. */
    ASSERT_LOCKED(dl);
    PVCORE_ASSERT(pgt_type_level(CT_TYPE(c)) != 0 || (CT_TYPE(c) & PGT_TYPE_MASK) == PGT_SEG_DESC);
    while (PVCORE_LIKELY((CT_TYPE(c) & PGT_COUNT_MASK) > 1)) {
        if (PVCORE_LIKELY(atomic_compare_exchange_weak_explicit(
                &f->ct, &c, c - CT_MAKE(1, 1), memory_order_acq_rel, memory_order_relaxed))) {
            return;
        }
    }
    frame_put_page_and_type_slow(dl, mfn);
}


/* Queues frame mfn, which holds one type and one general reference for it, for
 * devalidation by the owner's next call (the witness's domain). */
void teardown_push(const struct domain_locked *dl, uint64_t mfn);
/* Processes the domain's teardown list within the call's budget: 0 when empty,
 * -PVCORE_ERESTART if not. */
int domain_run_teardown(const struct domain_locked *dl);

#endif /* PVCORE_INTERNAL_PAGETYPE_H */
