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

/*
 * What a type's validator does, for a frame of the witness's domain (whose lock is held),
 * charging its work to the witness's call:
 * - validate: resumes from aux.nr_validated. 0: every entry holds its references.
 *   -PVCORE_ERESTART: preempted, the frame is PARTIAL (see pagetype.c). Any other error:
 *   the references taken so far went to the teardown list with the frame.
 * - devalidate: releases the references of entries [0, aux.nr_validated), from the top;
 *   0, or -PVCORE_ERESTART with nr_validated saying where it stopped.
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

static inline int frame_get_page_and_type(const struct domain_locked *dl, uint64_t mfn, uint32_t type)
{
    struct machine *m = dl->d->m;
    struct frame *f;
    uint32_t x;

    ASSERT_LOCKED(dl);
    if (!frame_get_page(m, mfn, dl->d->domid)) {
        return -PVCORE_EINVAL;
    }
    f = mfn_frame(m, mfn);
    x = frame_type(f, memory_order_relaxed);
    /* Validated implies at least one holder, and excludes partial and teardown states.
     * While a frame has a page-table type, only holders of its owner's lock (held here)
     * can change its type or flags; other CPUs' compare-and-swaps of the type half fail
     * without writing, except a guest walk's (guestmem.c), which adds a reference only to
     * a validated table that has one, never beyond half the maximum, and drops one only
     * while another remains. All of that commutes with an addition, so an add suffices,
     * with no compare-and-swap loop. */
    if (PVCORE_LIKELY((x & (PGT_TYPE_MASK | PGT_PAE_XEN_L2 | PGT_VALIDATED)) ==
                          (type | PGT_VALIDATED) &&
                      (x & PGT_COUNT_MASK) != PGT_COUNT_MASK)) {
        atomic_fetch_add_explicit(&f->ct, CT_MAKE(0, 1), memory_order_acq_rel);
        return 0;
    }
    frame_put_page(m, mfn);
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
    PVCORE_ASSERT(pgt_type_level(CT_TYPE(c)) != 0);
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
