/*
 * Frames a domain owns that the hypervisor itself writes into: the shared-info page (event
 * bits, vcpu_info), the grant-table frames and those the embedder holds (its back-ends'
 * rings: pvcore_domain_hold_frame()). Each is held, for as long as the domain
 * names it, with a general and a writable type reference, so that it can never become a
 * page table or a descriptor page (Xen shares such pages with a permanent writable type):
 * otherwise a guest could pin one as an L1 and have the library write entries of its
 * choice into it (a page fault's address lands in vcpu_info's cr2). Inline, for domain.c
 * (destruction) and the units that install them, which must not call each other. Never
 * installed.
 */
#ifndef PVCORE_INTERNAL_HELD_H
#define PVCORE_INTERNAL_HELD_H

#include "internal/frame.h"

/* 0, or -PVCORE_EINVAL (not the domain's frame), or -PVCORE_EBUSY (it has another type:
 * a page table or descriptor page). */
static inline int held_get(const struct domain_locked *dl, uint64_t mfn)
{
    struct machine *m = dl->d->m;

    ASSERT_LOCKED(dl);
    if (mfn >= m->nr_frames || !frame_get_page(m, mfn, dl->d->domid)) {
        return -PVCORE_EINVAL;
    }
    if (!frame_get_writable(m, mfn)) {
        frame_put_page(m, mfn);
        return -PVCORE_EBUSY;
    }
    return 0;
}

static inline void held_put(const struct domain_locked *dl, uint64_t mfn)
{
    frame_put_writable_locked(dl, mfn);
    frame_put_page(dl->d->m, mfn);
}

/* Drops every held frame of the domain (destruction). */
static inline void held_release_all(const struct domain_locked *dl)
{
    struct domain *d = dl->d;
    uint32_t i;

    if (d->shared_info_mfn != INVALID_MFN) {
        held_put(dl, d->shared_info_mfn);
        d->shared_info_mfn = INVALID_MFN;
    }
    for (i = 0; i < d->gnt.max; i++) {
        held_put(dl, d->gnt.frames[i]);
    }
    d->gnt.max = 0;
    for (i = 0; i < d->gnt.nr_status; i++) {
        held_put(dl, d->gnt.status[i]);
    }
    d->gnt.nr_status = 0;
    for (i = 0; i < d->nr_emb_held; i++) {
        held_put(dl, d->emb_held[i]);
    }
    d->nr_emb_held = 0;
}

#endif /* PVCORE_INTERNAL_HELD_H */
