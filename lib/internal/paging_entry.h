/*
 * Single page-table entries: the references an entry takes and drops, and the update of
 * one entry of a validated table. Inline, because every mmu_update request runs it: the
 * batch loop in mmu.c includes it to make one request a straight run of code with no
 * call, and the whole-table validator in paging.c for the same per-entry rules. Never
 * installed.
 *
 * Every function here runs with the page-table owner's lock held (the witness).
 */
#ifndef PVCORE_INTERNAL_PAGING_ENTRY_H
#define PVCORE_INTERNAL_PAGING_ENTRY_H

#include "internal/paging.h"

/* PWT, PCD, PSE and G are forbidden in L2-L4 entries: no PV superpages, no cache games. */
#define BASE_DISALLOW (PTE_PWT | PTE_PCD | PTE_PSE | PTE_G)
/* L1 entries may set G; the cache-attribute bits need I/O privilege (see l1_disallow). A
 * guest never writes the grant-mapping mark: grant_table_op alone makes such entries. */
#define L1_DISALLOW (PTE_PWT | PTE_PCD | PTE_PAT | PTE_GNTTAB)
/* A 32-bit guest's L3 (PDPT) entries: no cache bits, no PSE, no G, no high flags, no NX. */
#define PAE_L3_DISALLOW (0xFFF0000000000000ull | BASE_DISALLOW)

static inline bool domain_has_iomem(const struct domain *d)
{
    return d->nr_iomem != 0;
}

static inline uint64_t l1_disallow(const struct domain *d)
{
    /* A domain with I/O memory may choose cache attributes (PAT, PCD, PWT). */
    return PVCORE_UNLIKELY(domain_has_iomem(d)) ? PTE_GNTTAB : L1_DISALLOW;
}

static inline bool iomem_permitted(const struct domain *d, uint64_t mfn)
{
    uint32_t i;

    for (i = 0; i < d->nr_iomem; i++) {
        if (mfn >= d->iomem[i].first && mfn <= d->iomem[i].last) {
            return true;
        }
    }
    return false;
}

/* 64-bit guest kernels run in ring 3: their kernel mappings need U, marked as kernel-only. */
static inline uint64_t adjust_l1(const struct domain *d, uint64_t e)
{
    /* (Without a branch: this is on every L1 update's path.) */
    bool kernel = domain_format(d)->l1_kernel_adjust & ((e & (PTE_P | PTE_US)) == PTE_P);

    return e | ((PTE_US | PTE_GUEST_KERNEL) & (0u - (uint64_t)kernel));
}

/* Which rule forbidden flags `bad` of a present L2-L4 entry break. */
static inline unsigned flags_reason(uint64_t bad)
{
    if (bad & PTE_PSE) {
        return PVCORE_REFUSAL_PSE;
    }
    return (bad & ~(uint64_t)BASE_DISALLOW) ? PVCORE_REFUSAL_RESERVED_BITS : PVCORE_REFUSAL_FLAGS;
}

/* ---- L1 entries ----------------------------------------------------------------------------- */

/* An L1 entry for memory that is not RAM: I/O memory, which takes no references. */
static inline int get_l1e_io(const struct domain_locked *dl, struct domain *l1o, uint64_t *ep,
                             const struct pg_owner *pg)
{
    const struct domain *perm = pg->d != NULL ? pg->d : l1o;
    uint64_t e = *ep;
    uint64_t mfn = pte_mfn(e);
    unsigned pat;

    if (mfn == PTE_MFN_ALL_ONES) {
        return call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_IOMEM, mfn);
    }
    if (!iomem_permitted(perm, mfn) || (perm != l1o && !iomem_permitted(l1o, mfn))) {
        return call_refuse(dl->call, -PVCORE_EPERM, PVCORE_REFUSAL_IOMEM, mfn);
    }
    /*
     * MMIO may only be uncached or write-combining (XSA-154). With the PAT layout PV
     * guests are given (WB, WT, UC-, UC, WC, WP, UC-, UC), indices 0, 1 and 5 are
     * cacheable: force those to UC.
     */
    pat = ((e & PTE_PAT) ? 4u : 0u) | ((e & PTE_PCD) ? 2u : 0u) | ((e & PTE_PWT) ? 1u : 0u);
    if (pat == 0 || pat == 1 || pat == 5) {
        e = (e & ~PTE_PAT) | PTE_PCD | PTE_PWT;
    }
    *ep = e;
    return 0;
}

/*
 * A RAM frame that the L1 owner maps, owned by `real`, is not simply its own: may it map
 * the frame (0, else the error)? The caller holds a general reference.
 */
static inline int l1e_foreign_ok(const struct domain_locked *dl, const struct domain *l1o,
                                 uint64_t e, uint16_t real, const struct pg_owner *pg)
{
    if (real != pg->domid) {
        /* A privileged foreign owner may pass on the right to map frames of a domain it
         * controls (Xen's stub-domain case); hypervisor frames never move this way. */
        if (pg->domid == l1o->domid || pg->d == NULL || !domain_privileged(pg->d) ||
            real >= PVCORE_DOMID_FIRST_RESERVED) {
            return call_refuse(dl->call, -PVCORE_EBUSY,
                               real == PVCORE_DOMID_XEN ? PVCORE_REFUSAL_XEN_FRAME
                                                        : PVCORE_REFUSAL_FOREIGN_FRAME,
                               pte_mfn(e));
        }
    }
    if (real == PVCORE_DOMID_XEN && (e & (PTE_RW | PTE_PCD | PTE_PWT | PTE_PAT))) {
        /* Hypervisor frames are shared read-only and write-back only. */
        return call_refuse(dl->call, (e & PTE_RW) ? -PVCORE_EBUSY : -PVCORE_EACCES,
                           PVCORE_REFUSAL_XEN_FRAME, pte_mfn(e));
    }
    return 0;
}

/* A read-write mapping `e` of RAM frame mfn with a non-write-back cache type: writes may
 * sit in caches the page walker does not snoop (XSA-402). */
static PVCORE_INLINE void note_non_coherent(struct machine *m, uint64_t mfn, uint64_t e)
{
    if (PVCORE_UNLIKELY(e & (PTE_PCD | PTE_PWT | PTE_PAT))) {
        atomic_fetch_or_explicit(&mfn_frame(m, mfn)->hints, FH_NON_COHERENT, memory_order_relaxed);
    }
}

/* The references for a present L1 entry *ep (which may be adjusted, for I/O memory). */
static PVCORE_INLINE int get_l1e(const struct domain_locked *dl, struct domain *l1o, uint64_t *ep,
                                 const struct pg_owner *pg)
{
    struct machine *m = l1o->m;
    uint64_t e = *ep;
    uint64_t mfn = pte_mfn(e);
    uint16_t real;

    if (PVCORE_UNLIKELY(e & l1_disallow(l1o))) {
        return call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_FLAGS, mfn);
    }
    if (PVCORE_LIKELY(pg->domid == l1o->domid &&
                      frame_get_own_mapping(m, mfn, l1o->domid, (e & PTE_RW) != 0))) {
        /* The common case, in one step: the mapper's own frame. */
        if (e & PTE_RW) {
            note_non_coherent(m, mfn, e);
        }
        return 0;
    }
    if (!frame_get_any_page(m, mfn, &real)) {
        /* A free RAM frame (or a saturated count), or memory that is not RAM at all. */
        return mfn_is_ram(m, mfn)
                   ? call_refuse(dl->call, -PVCORE_EBUSY, PVCORE_REFUSAL_FREE_FRAME, mfn)
                   : get_l1e_io(dl, l1o, ep, pg);
    }
    if (real != pg->domid || real != l1o->domid) {
        int rc = l1e_foreign_ok(dl, l1o, e, real, pg);
        if (rc != 0) {
            frame_put_page(m, mfn);
            return rc;
        }
    }
    if (e & PTE_RW) {
        /* The one rule that keeps page tables and descriptor pages read-only. */
        if (!frame_get_writable(m, mfn)) {
            frame_put_page(m, mfn);
            return call_refuse(dl->call, -PVCORE_EBUSY, PVCORE_REFUSAL_WRITABLE_PAGE_TABLE, mfn);
        }
        if (real != l1o->domid) {
            atomic_fetch_or_explicit(&mfn_frame(m, mfn)->hints, FH_FOREIGN_WRITABLE,
                                     memory_order_relaxed);
        }
        note_non_coherent(m, mfn, e);
    }
    return 0;
}

static PVCORE_INLINE void put_l1e(const struct domain_locked *l1o, uint64_t e)
{
    struct machine *m = l1o->d->m;
    uint64_t mfn = pte_mfn(e);

    /* A grant mapping's references are its handle's, dropped when it is unmapped (a
     * present entry with the mark is one: a guest can only write the mark into entries
     * that are not present, which hold nothing). */
    if (PVCORE_UNLIKELY(!pte_present(e) || (e & PTE_GNTTAB) || !mfn_is_ram(m, mfn))) {
        return;
    }
    if (e & PTE_RW) {
        /* Our own frame: we hold its owner's lock. Another domain's: we do not. */
        frame_put_mapping(m, mfn, true,
                          atomic_load_explicit(&mfn_frame(m, mfn)->owner, memory_order_relaxed) ==
                                  l1o->d->domid
                              ? l1o
                              : NULL);
    } else {
        frame_put_page(m, mfn);
    }
}

/* ---- L2-L4 entries ---------------------------------------------------------------------------- */

static inline bool linear_inc(_Atomic int16_t *c, int dir)
{
    int16_t v = atomic_load_explicit(c, memory_order_relaxed);
    do {
        /* XSA-240: a table either holds linear entries (>0) or is their target (<0). */
        if ((dir > 0 && (v < 0 || v == INT16_MAX)) || (dir < 0 && (v > 0 || v == INT16_MIN))) {
            return false;
        }
    } while (!atomic_compare_exchange_weak_explicit(c, &v, (int16_t)(v + dir),
                                                    memory_order_relaxed, memory_order_relaxed));
    return true;
}

static inline void linear_undo(_Atomic int16_t *c, int dir)
{
    atomic_fetch_sub_explicit(c, (int16_t)dir, memory_order_relaxed);
}

/*
 * A same-level ("linear", recursive) entry: read-only, target already validated and of
 * the container's own level, same domain, single level only.
 */
static inline int get_linear(const struct domain_locked *dl, uint64_t table, uint64_t child, unsigned level)
{
    struct domain *d = dl->d;
    struct machine *m = d->m;
    struct frame *cf;
    uint32_t x;

    if (!frame_get_page(m, child, d->domid)) {
        return call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_NOT_OWNER, child);
    }
    cf = mfn_frame(m, child);
    x = frame_type(cf, memory_order_relaxed);
    do {
        /* The L2 holding a 32-bit guest's hypervisor slots is referenced once, by its
         * L3's slot 3, and never also mapped linearly (it would be shared). */
        if ((x & PGT_TYPE_MASK) != pgt_level_type(level) || !(x & PGT_VALIDATED) ||
            (x & PGT_PAE_XEN_L2) || (x & PGT_COUNT_MASK) == PGT_COUNT_MASK) {
            frame_put_page(m, child);
            return call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_LINEAR, child);
        }
    } while (!frame_type_cas(cf, &x, x + 1));
    if (!linear_inc(&mfn_aux(m, table)->linear, 1)) {
        frame_put_page_and_type(dl, child);
        return call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_LINEAR, child);
    }
    if (!linear_inc(&mfn_aux(m, child)->linear, -1)) {
        linear_undo(&mfn_aux(m, table)->linear, 1);
        frame_put_page_and_type(dl, child);
        return call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_LINEAR, child);
    }
    return 0;
}

/* A PAE L3's hypervisor-L2 slot: the L2 with the hypervisor's slots, which may not be
 * shared. (No guest walk can hold it meanwhile: it is reached only through this slot, of
 * a table that is not validated yet.) */
static inline int get_pae_xen_l2(const struct domain_locked *dl, uint64_t child)
{
    int rc = frame_get_page_and_type(dl, child, PGT_L2 | PGT_PAE_XEN_L2);

    if (rc == 0 &&
        (frame_type(mfn_frame(dl->d->m, child), memory_order_relaxed) &
         PGT_COUNT_MASK) != 1) {
        frame_put_page_and_type(dl, child);
        return call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_PAE_SLOT3, child);
    }
    return rc;
}

/* The references for a present entry `e` of slot `slot` of `table`, of level 2-4 with
 * descriptor `lv`, whose flags the caller checked against the level's disallow mask: the
 * hypervisor L2, a table of the level below, or a linear entry. */
static inline int get_upper(const struct domain_locked *dl, uint64_t table, const struct pt_level *lv,
                            unsigned level, unsigned slot, uint64_t e)
{
    uint64_t child = pte_mfn(e);
    int rc;

    if (slot == lv->hyp_l2_slot) {
        return get_pae_xen_l2(dl, child);
    }
    rc = frame_get_page_and_type(dl, child, pgt_level_type(level - 1));
    if (rc != -PVCORE_EINVAL) {
        return rc;
    }
    /* Not a table of the level below. If it is one of this level, the entry is a linear
     * one, and the linear rules say whether it may be (a table mapping itself included):
     * the type conflict recorded is forgotten. Anything else it is refused as. */
    if (dl->call->refusal.code == PVCORE_REFUSAL_TYPE_CONFLICT && dl->call->refusal.mfn == child &&
        !dl->call->refusal.at_set) {
        if ((frame_type(mfn_frame(dl->d->m, child), memory_order_relaxed) & PGT_TYPE_MASK) !=
            pgt_level_type(level)) {
            return rc;
        }
        call_refuse_clear(dl->call);
    }
    if ((dl->d->m->flags & PVCORE_MACHINE_NO_LINEAR_PT) || !lv->linear || (e & PTE_RW)) {
        return call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_LINEAR, child);
    }
    if (child == table) {
        /* A table mapping itself holds no reference on itself. */
        return 0;
    }
    return get_linear(dl, table, child, level);
}

static inline void put_upper(const struct domain_locked *dl, uint64_t table, unsigned level, uint64_t e)
{
    struct machine *m = dl->d->m;
    uint64_t child = pte_mfn(e);

    if (!pte_present(e) || child == table) {
        return;
    }
    if ((frame_type(mfn_frame(m, child), memory_order_relaxed) &
         PGT_TYPE_MASK) == pgt_level_type(level)) {
        linear_undo(&mfn_aux(m, table)->linear, 1);
        linear_undo(&mfn_aux(m, child)->linear, -1);
    }
    frame_put_page_and_type(dl, child);
}

/* ---- single-entry updates ------------------------------------------------------------------- */

static PVCORE_INLINE void write_entry(uint64_t *p, uint64_t val, bool preserve_ad)
{
    if (PVCORE_UNLIKELY(preserve_ad)) {
        _Atomic uint64_t *a = (_Atomic uint64_t *)(void *)p;
        uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
        /* Keep accessed/dirty bits a concurrent page walk may be setting right now. */
        while (!atomic_compare_exchange_weak_explicit(a, &cur, val | (cur & (PTE_A | PTE_D)),
                                                      memory_order_release,
                                                      memory_order_relaxed)) {
        }
    } else {
        pte_write(p, val);
    }
}

/* Replaces entry *p (now `ol`) of an L1 owned by the witness's domain with `val`. */
static PVCORE_INLINE int mod_l1(const struct domain_locked *dl, uint64_t *p, uint64_t ol, uint64_t val,
                                bool preserve_ad, const struct pg_owner *pg)
{
    struct domain *d = dl->d;
    int rc;

    if (PVCORE_UNLIKELY(pte_is_grant(ol))) {
        /* Only the grant interface changes or removes a grant mapping (and drops its
         * references): any other update of it, even of the bits the fast path allows,
         * would let the guest keep the mapping without the grant. */
        return call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_GRANT_PTE, pte_mfn(ol));
    }
    if (PVCORE_LIKELY(pte_present(val))) {
        if (PVCORE_UNLIKELY(val & l1_disallow(d))) {
            return call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_FLAGS, pte_mfn(val));
        }
        val = adjust_l1(d, val);
        /* Fast path: same frame, only harmless bits differ (never RW, P, cache bits). */
        if (pte_present(ol) && ((ol ^ val) & ~FASTPATH_WHITELIST) == 0) {
            write_entry(p, val, preserve_ad);
            return 0;
        }
        rc = get_l1e(dl, d, &val, pg);
        if (PVCORE_UNLIKELY(rc != 0)) {
            return rc;
        }
    }
    write_entry(p, val, preserve_ad);
    put_l1e(dl, ol);
    return 0;
}

/* Replaces entry `slot` (now `ol`) of the witness domain's validated table `table`, of
 * level 2-4 and type `type_info`, with `val`. */
static PVCORE_INLINE int mod_upper(const struct domain_locked *dl, uint64_t table, unsigned level,
                                   uint32_t type_info, unsigned slot, uint64_t *p, uint64_t ol,
                                   uint64_t val, bool preserve_ad, bool *changed_upper)
{
    struct domain *d = dl->d;
    const struct pt_level *lv = paging_level(d, level, type_info);
    int rc;

    if (!paging_slot_is_guest(lv, slot) || slot == lv->hyp_l2_slot) {
        /* Hypervisor slots, and the PAE L3's slot 3, which holds the hypervisor's L2. */
        return call_refuse(dl->call, lv->reserved_err,
                           slot == lv->hyp_l2_slot ? PVCORE_REFUSAL_PAE_SLOT3
                                                   : PVCORE_REFUSAL_HYP_SLOT,
                           pte_mfn(val));
    }
    if (pte_present(val)) {
        uint64_t whitelist = FASTPATH_WHITELIST;

        if (val & lv->disallow) {
            return call_refuse(dl->call, -PVCORE_EINVAL, flags_reason(val & lv->disallow),
                               pte_mfn(val));
        }
        val |= lv->adjust;
        /* With linear tables, RW on an upper entry is never a fast-path change (XSA-182). */
        if (d->m->flags & PVCORE_MACHINE_NO_LINEAR_PT) {
            whitelist |= PTE_RW;
        }
        if (pte_present(ol) && ((ol ^ val) & ~whitelist) == 0) {
            write_entry(p, val, preserve_ad);
            *changed_upper = true;
            return 0;
        }
        /* (The hypervisor-L2 slot was refused above.) */
        rc = get_upper(dl, table, lv, level, slot, val);
        if (rc != 0) {
            return rc;
        }
    }
    write_entry(p, val, preserve_ad);
    *changed_upper = true;
    put_upper(dl, table, level, ol);
    return 0;
}

/* One mmu_update request on frame `mfn` of the page-table owner (the witness's domain),
 * on which the caller holds a general reference: an entry of a validated table (L2-L4
 * only if pg is the page-table owner itself), or a word of ordinary memory that can be
 * made writable. */
static PVCORE_INLINE int paging_update_entry(const struct domain_locked *pt_owner,
                                             const struct pg_owner *pg, uint64_t mfn, unsigned slot,
                                             uint64_t val, bool preserve_ad, bool *changed_upper)
{
    struct machine *m = pt_owner->d->m;
    uint64_t *p = &frame_entries(m, mfn)[slot];
    uint32_t x = frame_type(mfn_frame(m, mfn), memory_order_acquire);
    unsigned level = pgt_type_level(x);

    ASSERT_LOCKED(pt_owner);
    if (PVCORE_LIKELY(level != 0 && (x & PGT_VALIDATED) && (x & PGT_COUNT_MASK) != 0)) {
        uint64_t ol = pte_read(p);

        if (PVCORE_LIKELY(level == 1)) {
            return mod_l1(pt_owner, p, ol, val, preserve_ad, pg);
        }
        if (pg->domid != pt_owner->d->domid) {
            return call_refuse(pt_owner->call, -PVCORE_EINVAL, PVCORE_REFUSAL_NOT_PERMITTED,
                               INVALID_MFN);
        }
        return mod_upper(pt_owner, mfn, level, x, slot, p, ol, val, preserve_ad, changed_upper);
    }
    /* Not a live page table: ordinary memory of the owner, written if it can be. */
    if (!frame_get_writable(m, mfn)) {
        return call_refuse(pt_owner->call, -PVCORE_EINVAL, PVCORE_REFUSAL_WRITABLE_PAGE_TABLE,
                           mfn);
    }
    pte_write(p, val);
    frame_put_writable_locked(pt_owner, mfn);
    return 0;
}

#endif /* PVCORE_INTERNAL_PAGING_ENTRY_H */
