/*
 * Grant tables: the granting side's active entries and the mapping side's maptrack, both
 * in embedder memory (pvcore_domain_set_grant_state()). Never installed.
 *
 * References: every mapping a handle tracks holds its own references on the granted
 * frame, one general reference per part (host, device) and, for a writable part, one
 * writable type reference. A host mapping's PTE (marked PTE_GNTTAB) holds none itself:
 * the L1 machinery skips such entries (put_l1e), and the guest can neither write nor
 * change one through mmu_update (the L1 disallow mask and mod_l1()). So the references
 * go exactly when the handle's part is unmapped, whatever happened to the PTE.
 *
 * Locks (domain.c has the order): a domain's maptrack is under its mmu_lock; a granting
 * domain's active entries and its shared entries' GTF_reading/GTF_writing bits are under
 * its gnt.lock, taken under the mapper's mmu_lock (or alone, for a copy).
 */
#ifndef PVCORE_INTERNAL_GRANT_H
#define PVCORE_INTERNAL_GRANT_H

#include <pvcore/abi/grant_table.h>

#include "internal/domain.h"

#define GNT_ENTRIES_PER_FRAME (PVCORE_PAGE_SIZE / 8u) /* v1 entries are 8 bytes (v2: 16) */
#define GNT_STATUS_PER_FRAME (PVCORE_PAGE_SIZE / 2u)  /* v2 status words */

/* Pin counts of an active entry, one byte each, as Xen packs them. */
#define GNTPIN_HOST_RO 0u
#define GNTPIN_HOST_RW 8u
#define GNTPIN_DEV_RO 16u
#define GNTPIN_DEV_RW 24u
#define GNTPIN_RW_MASK 0xFF00FF00u

/* The granting side: one per entry of its table, under its gnt.lock. */
struct gnt_active {
    uint32_t pin;   /* the four counts above; 0: not in use */
    uint16_t domid; /* who holds the pins */
    uint16_t pad;
    uint64_t mfn;   /* the frame they pin */
};

/* The mapping side: one per handle, under its mmu_lock. */
struct gnt_maptrack {
    uint32_t flags;           /* GNTMAP_* of the parts still mapped (host, device) and the
                               * map's own flags; 0: free */
    uint32_t ref;             /* the grant */
    struct domain *granter;   /* stays valid: the mapping's references keep it from going */
    uint64_t mfn;             /* the granted frame */
    uint64_t pte;             /* host part: machine address of the PTE (L1 mfn << 12 | slot * 8) */
    uint32_t next_free;       /* index + 1 of the next free handle; 0: none */
    uint32_t pad;
};

/* Releases every mapping the dying domain d holds (its maptrack), then stops its own
 * table's shared entries from being written (domain destruction, d's mmu_lock held).
 * Preemptible: -PVCORE_ERESTART when the call's budget ran out (call again), else 0. */
int grant_domain_release(const struct domain_locked *dl);

#endif /* PVCORE_INTERNAL_GRANT_H */
