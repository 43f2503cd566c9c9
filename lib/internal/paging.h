/*
 * Page-table formats as data, and the generic validator over them (the page-table levels'
 * pagetype_ops), single-entry updates, and guest walks. Never installed.
 */
#ifndef PVCORE_INTERNAL_PAGING_H
#define PVCORE_INTERNAL_PAGING_H

#include "internal/pagetype.h"

#define PAGING_ENTRIES 512u

/* x86 PTE bits */
#define PTE_P 0x001ull
#define PTE_RW 0x002ull
#define PTE_US 0x004ull
#define PTE_PWT 0x008ull
#define PTE_PCD 0x010ull
#define PTE_A 0x020ull
#define PTE_D 0x040ull
#define PTE_PSE 0x080ull /* L2-L3: large page; L1: PAT */
#define PTE_PAT PTE_PSE
#define PTE_G 0x100ull
#define PTE_AVAIL 0xE00ull
#define PTE_AVAIL_HIGH 0x7FF0000000000000ull /* bits 52-62 */
#define PTE_GUEST_KERNEL (1ull << 52)        /* 64-bit guests: a kernel-only mapping */
#define PTE_GNTTAB (1ull << 62)              /* a grant mapping (grant.c): only grant ops touch it */
#define PTE_NX (1ull << 63)
#define PTE_MFN_MASK 0x000FFFFFFFFFF000ull   /* bits 12-51 */
#define PTE_FLAGS_MASK (~PTE_MFN_MASK)
#define PTE_MFN_ALL_ONES (PTE_MFN_MASK >> 12)

/* Bits the fast path may change without revalidating the entry (XSA-148/154/182). */
#define FASTPATH_WHITELIST (PTE_NX | PTE_AVAIL_HIGH | PTE_AVAIL | PTE_G | PTE_D | PTE_A | PTE_US)

static inline uint64_t pte_mfn(uint64_t e)
{
    return (e & PTE_MFN_MASK) >> 12;
}

static inline bool pte_present(uint64_t e)
{
    return (e & PTE_P) != 0;
}

/* A grant mapping (grant.c): a present entry with the mark. */
static inline bool pte_is_grant(uint64_t e)
{
    return (e & (PTE_GNTTAB | PTE_P)) == (PTE_GNTTAB | PTE_P);
}

/* Page-table entries are read and written with atomic accesses: other CPUs' page walks
 * set accessed/dirty bits concurrently, and a write must never be torn. */
static inline uint64_t pte_read(const uint64_t *p)
{
    return atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)p, memory_order_relaxed);
}

static inline void pte_write(uint64_t *p, uint64_t v)
{
    atomic_store_explicit((_Atomic uint64_t *)(void *)p, v, memory_order_release);
}

/* Which of the embedder's templates fills a level's hypervisor slots. */
enum hyp_template {
    HYP_TEMPLATE_NONE, /* the slots are cleared (or there are none) */
    HYP_TEMPLATE_L4,   /* pvcore_machine_config::hyp_l4_slots */
    HYP_TEMPLATE_PAE_L2, /* pvcore_machine_config::hyp_pae_l2_slots */
};

#define PT_NO_SLOT 0xFFFFu

/*
 * One level of a paging format: what its slots may hold. Read by the validator, the
 * entry updates, the guest walks and the invariant checker alike.
 */
struct pt_level {
    uint64_t disallow;    /* flags that must be clear in a present entry */
    uint64_t adjust;      /* flags the hypervisor adds to a present entry (see adjust_l1) */
    uint16_t xen_first;   /* hypervisor slots [xen_first, xen_last]; first > last: none */
    uint16_t xen_last;
    uint16_t guest_limit; /* slots >= this are neither validated nor updatable (PAE L3) */
    /* The slot that must map, read-only to updates, the one L2 that holds the
     * hypervisor's slots (a PAE L3's slot 3); PT_NO_SLOT: none. */
    uint16_t hyp_l2_slot;
    int16_t reserved_err; /* error for an update of a hypervisor slot */
    uint8_t hyp_template; /* enum hyp_template: what the hypervisor slots hold */
    bool linear;          /* same-level ("linear") entries allowed (not PAE L3: XSA-185) */
    bool below_4g;        /* the table must lie below 4 GiB unless pae_extended_cr3 */
};

/* A paging format: x86-64 4-level for 64-bit guests, PAE 3-level for 32-bit guests. */
struct pt_format {
    unsigned levels;          /* 4 or 3 */
    bool l1_kernel_adjust;    /* 64-bit guests run their kernel in ring 3 */
    uint64_t va_limit_low;    /* guest addresses below this are guest space */
    uint64_t va_limit_high;   /* ... and those at or above this (0: none) */
    struct pt_level lv[5];    /* [1..levels] */
    struct pt_level pae_xen_l2; /* a PAE L2 that holds the hypervisor's slots */
};

extern const struct pt_format pt_format_64;
extern const struct pt_format pt_format_pae;

static inline const struct pt_format *domain_format(const struct domain *d)
{
    return d->fmt;
}

/* The level descriptor that applies to a frame of type `type_info` validated as `level`. */
static inline const struct pt_level *paging_level(const struct domain *d, unsigned level,
                                                  uint32_t type_info)
{
    const struct pt_format *fmt = domain_format(d);

    if (level == 2 && (type_info & PGT_PAE_XEN_L2)) {
        return &fmt->pae_xen_l2;
    }
    return &fmt->lv[level];
}

static inline bool paging_slot_is_guest(const struct pt_level *lv, unsigned slot)
{
    return slot < lv->guest_limit && !(slot >= lv->xen_first && slot <= lv->xen_last);
}
/* What a hypervisor slot of a live table holds (the embedder's template, or 0). */
uint64_t paging_hyp_slot(const struct machine *m, const struct pt_level *lv, unsigned slot);


/* Data owner of L1 entries: a domain, or one of the pseudo-owners DOMID_IO / DOMID_XEN. */
struct pg_owner {
    uint16_t domid;
    struct domain *d; /* NULL for DOMID_IO and DOMID_XEN */
};

/* Update entry `slot` of the witness domain's validated L1 table `l1` (update_va_mapping). */
int paging_mod_l1_entry(const struct domain_locked *dl, uint64_t l1, unsigned slot, uint64_t val,
                        const struct pg_owner *pg);

/* ---- guest walks ------------------------------------------------------------------------- */

/* Is va in the guest's part of the address space (canonical, not the hypervisor's)? */
static inline bool paging_va_is_guest(const struct domain *d, uint64_t va)
{
    const struct pt_format *fmt = domain_format(d);

    return va < fmt->va_limit_low || (fmt->va_limit_high != 0 && va >= fmt->va_limit_high);
}

/* The slot of va's entry in a table read at walk level `level` (1: the last). */
static inline unsigned walk_index(uint64_t va, unsigned level)
{
    return (unsigned)(va >> (PVCORE_PAGE_SHIFT + 9u * (level - 1u))) & (PAGING_ENTRIES - 1u);
}

/*
 * One step of a walk of d's tables for va, as the guest's own access takes it: table
 * `mfn`, whose type half is `type`, read at walk level `level`. Allowed only if the frame
 * is a validated page table whose own level is at least `level` (same-level "linear"
 * entries make a table be read one level lower than its type; nothing makes it be read
 * higher, and a data frame is never read as a table), and only at a slot the guest
 * controls under the table's own type, so never a hypervisor slot. The entry must be
 * present, and above the last level not a large page (validated entries never are).
 * The caller has checked the frame's owner and keeps the type stable (its lock, or a type
 * reference). true: *e is the entry.
 */
static inline bool walk_step(const struct domain *d, uint64_t mfn, uint32_t type, unsigned level,
                             uint64_t va, uint64_t *e)
{
    unsigned t = pgt_type_level(type);
    unsigned idx = walk_index(va, level);

    if (t < level || (type & PGT_VALIDATED) == 0 || (type & PGT_COUNT_MASK) == 0 ||
        !paging_slot_is_guest(paging_level(d, t, type), idx)) {
        return false;
    }
    *e = pte_read(&frame_entries(d->m, mfn)[idx]);
    return pte_present(*e) && (level == 1 || (*e & PTE_PSE) == 0);
}

/* The L1 table and slot that map va in v's kernel tables, walked by walk_step() with the
 * lock of v's domain held (the witness), which keeps its tables and their types stable;
 * -PVCORE_EINVAL if none. */
int paging_find_l1e(const struct domain_locked *dl, struct vcpu *v, uint64_t va, uint64_t *l1_mfn,
                    unsigned *slot);

#endif /* PVCORE_INTERNAL_PAGING_H */
