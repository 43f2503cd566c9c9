/*
 * Internal state of the machine, frames, domains and vCPUs. Never installed.
 *
 * Lock order (the only locks in the core):
 *   1. machine->domtab_lock (domain table slots; held briefly, never with another lock
 *      except a domain's mmu_lock may be taken *before* it? no: never nested);
 *   2. domain->mmu_lock: one per domain, held for every change to that domain's page
 *      tables and their types. Only one domain's mmu_lock is ever held at a time.
 * Frame counts (count, type_info, linear) change only by atomic compare-and-swap, so a
 * domain may take or drop references on another domain's frames (foreign mappings)
 * without that domain's lock.
 */
#ifndef PVCORE_INTERNAL_CORE_H
#define PVCORE_INTERNAL_CORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pvcore/abi/errno.h>
#include <pvcore/abi/xen.h>
#include <pvcore/domain.h>
#include <pvcore/host.h>
#include <pvcore/machine.h>
#include <pvcore/types.h>

#include "internal/mem.h"

/* ---- frame state ---------------------------------------------------------------------- */

/* frame.count: bit 31 = the owner's allocation reference is held; bits 30:0 = references
 * (the allocation reference included). */
#define FC_ALLOCATED 0x80000000u
#define FC_RAM 0x40000000u /* never changes after boot */
#define FC_COUNT_MASK 0x3FFFFFFFu

/* frame.type_info */
#define PGT_TYPE_SHIFT 29
#define PGT_TYPE_MASK (7u << PGT_TYPE_SHIFT)
#define PGT_PINNED (1u << 28)
#define PGT_VALIDATED (1u << 27)
#define PGT_PARTIAL (1u << 26)     /* validation preempted; the partial state holds 1 type + 1 general ref */
#define PGT_PAE_XEN_L2 (1u << 25)  /* part of the type: a PAE L2 with the hypervisor's slots */
#define PGT_TEARDOWN (1u << 24)    /* on the domain's teardown list; holds 1 type + 1 general ref */
#define PGT_COUNT_MASK 0x00FFFFFFu

#define PGT_NONE (0u << PGT_TYPE_SHIFT)
#define PGT_L1 (1u << PGT_TYPE_SHIFT)
#define PGT_L2 (2u << PGT_TYPE_SHIFT)
#define PGT_L3 (3u << PGT_TYPE_SHIFT)
#define PGT_L4 (4u << PGT_TYPE_SHIFT)
#define PGT_SEG_DESC (5u << PGT_TYPE_SHIFT)
#define PGT_SHARED (6u << PGT_TYPE_SHIFT)
#define PGT_WRITABLE (7u << PGT_TYPE_SHIFT)

static inline uint32_t pgt_level_type(unsigned level)
{
    return (uint32_t)level << PGT_TYPE_SHIFT;
}

static inline unsigned pgt_type_level(uint32_t type_info)
{
    uint32_t t = (type_info & PGT_TYPE_MASK) >> PGT_TYPE_SHIFT;
    /* Types 1-4 are the levels; written without a branch, as it is on every update. */
    return (unsigned)(t & (0u - (uint32_t)(t - 1u < 4u)));
}

struct frame {
    /*
     * The general count (low half: FC_*) and type_info (high half: PGT_*) share one word,
     * so that the two references of a read-write L1 mapping (general and writable type)
     * move in one atomic operation. Read the halves with frame_count() and frame_type();
     * the frame_count_*() and frame_type_*() helpers change one half and keep the other.
     */
    _Atomic uint64_t ct;
    _Atomic uint16_t owner;     /* domid; PVCORE_DOMID_INVALID when free */
    _Atomic uint8_t hints;      /* FH_* */
    uint8_t pad;
    _Atomic uint32_t wr_seq;    /* machine flush_seq when the last writable mapping went */
};

#define CT_COUNT(ct) ((uint32_t)(ct))
#define CT_TYPE(ct) ((uint32_t)((ct) >> 32))
#define CT_MAKE(count, type) (((uint64_t)(type) << 32) | (uint64_t)(uint32_t)(count))
#define CT_COUNT_HALF 0x00000000FFFFFFFFull
#define CT_TYPE_HALF 0xFFFFFFFF00000000ull

static inline uint32_t frame_count(const struct frame *f, memory_order o)
{
    return CT_COUNT(atomic_load_explicit(&f->ct, o));
}

static inline uint32_t frame_type(const struct frame *f, memory_order o)
{
    return CT_TYPE(atomic_load_explicit(&f->ct, o));
}

/* A compare-and-swap of one half (`shift` 0: count, 32: type): fails (storing the current
 * value in *old) only if that half is not *old; changes of the other half meanwhile are
 * kept. */
static inline bool frame_half_cas(struct frame *f, unsigned shift, uint32_t *old, uint32_t nv)
{
    uint64_t mask = (uint64_t)UINT32_MAX << shift;
    uint64_t c = atomic_load_explicit(&f->ct, memory_order_acquire);

    while ((uint32_t)(c >> shift) == *old) {
        if (atomic_compare_exchange_weak_explicit(&f->ct, &c, (c & ~mask) | ((uint64_t)nv << shift),
                                                  memory_order_acq_rel, memory_order_acquire)) {
            return true;
        }
    }
    *old = (uint32_t)(c >> shift);
    return false;
}

static inline bool frame_type_cas(struct frame *f, uint32_t *old, uint32_t nt)
{
    return frame_half_cas(f, 32, old, nt);
}

static inline bool frame_count_cas(struct frame *f, uint32_t *old, uint32_t nc)
{
    return frame_half_cas(f, 0, old, nc);
}

static inline void frame_type_store(struct frame *f, uint32_t t)
{
    uint32_t x = frame_type(f, memory_order_relaxed);

    while (!frame_type_cas(f, &x, t)) {
    }
}

static inline uint32_t frame_type_fetch_or(struct frame *f, uint32_t bits, memory_order o)
{
    return CT_TYPE(atomic_fetch_or_explicit(&f->ct, (uint64_t)bits << 32, o));
}

static inline uint32_t frame_type_fetch_and(struct frame *f, uint32_t bits, memory_order o)
{
    return CT_TYPE(atomic_fetch_and_explicit(&f->ct, ((uint64_t)bits << 32) | CT_COUNT_HALF, o));
}

static inline uint32_t frame_count_fetch_or(struct frame *f, uint32_t bits, memory_order o)
{
    return CT_COUNT(atomic_fetch_or_explicit(&f->ct, (uint64_t)bits, o));
}

static inline uint32_t frame_count_fetch_and(struct frame *f, uint32_t bits, memory_order o)
{
    return CT_COUNT(atomic_fetch_and_explicit(&f->ct, (uint64_t)bits | CT_TYPE_HALF, o));
}

/*
 * Frame state that no entry update touches in the common case, kept apart (machine.aux,
 * parallel to machine.frames) so that struct frame stays at 16 bytes, four to a cache line:
 * a batch of updates walks many frames, and their records' footprint is much of its cost.
 */
struct frame_aux {
    _Atomic int16_t linear;     /* XSA-240 single-level linear page-table accounting */
    uint16_t nr_validated;      /* PARTIAL: entries [0,n) hold refs; TEARDOWN: [0,n) still to put */
    uint32_t next;              /* teardown list link: mfn + 1, 0 ends the list */
};

/* frame.hints: what a TLB may still hold (see flush_stale_writable in frame.c) */
#define FH_WAS_WRITABLE 0x01u     /* a writable mapping existed since the last flush */
#define FH_FOREIGN_WRITABLE 0x02u /* ... and one belonged to another domain */
#define FH_NON_COHERENT 0x08u     /* mapped writable with a non-write-back cache type (XSA-402) */

#if defined(__GNUC__) && !defined(NDEBUG)
#define PVCORE_ASSERT(c) \
    do { \
        if (!(c)) { \
            __builtin_trap(); \
        } \
    } while (0)
#else
#define PVCORE_ASSERT(c) ((void)sizeof(c))
#endif

/* Inline expansion the hot paths rely on (one guest request, one call), and the branch
 * hints that keep the common case of an update a straight run of code: a batch executes
 * it for every request, and each taken branch costs fetch bandwidth. */
#if defined(__GNUC__)
#define PVCORE_INLINE inline __attribute__((always_inline))
#define PVCORE_LIKELY(c) __builtin_expect(!!(c), 1)
#define PVCORE_UNLIKELY(c) __builtin_expect(!!(c), 0)
#else
#define PVCORE_INLINE inline
#define PVCORE_LIKELY(c) (c)
#define PVCORE_UNLIKELY(c) (c)
#endif

/* ---- spinlock ----------------------------------------------------------------------------- */

struct spinlock {
    atomic_flag f;
};

static inline void spin_init(struct spinlock *l)
{
    atomic_flag_clear_explicit(&l->f, memory_order_relaxed);
}

static inline void spin_lock(struct spinlock *l)
{
    /* acquire: the critical section's reads happen after we own the lock. */
    while (atomic_flag_test_and_set_explicit(&l->f, memory_order_acquire)) {
    }
}

static inline void spin_unlock(struct spinlock *l)
{
    /* release: the critical section's writes are visible before the lock is free. */
    atomic_flag_clear_explicit(&l->f, memory_order_release);
}

/* ---- vCPU, domain, machine ------------------------------------------------------------------ */

struct domain;
struct pt_format;

struct vcpu {
    struct domain *d;
    uint32_t id;
    uint64_t guest_table;      /* kernel root MFN, INVALID_MFN if none; holds 1 type + 1 general ref */
    uint64_t guest_table_user; /* user root MFN (64-bit guests), INVALID_MFN if none */
    uint64_t ldt_base;
    uint32_t ldt_ents;
};

struct iomem_range {
    uint64_t first, last;
};

struct domain {
    struct machine *m;
    uint16_t domid;
    uint16_t nr_vcpus;
    uint32_t flags;             /* PVCORE_DOMAIN_* */
    const struct pt_format *fmt; /* its paging format (paging.h), fixed at creation */
    uint32_t vmassist;          /* bit n: VMASST type n (n < 32), m2p_strict as bit 31 */
    _Atomic bool dying;
    _Atomic uint64_t tot_pages; /* frames owned (count > 0 and owner == domid) */
    uint64_t max_pages;
    struct spinlock mmu_lock;
    uint32_t teardown_head;     /* mfn + 1 of the first frame to devalidate; 0: none */
    uint32_t nr_iomem;
    struct iomem_range iomem[PVCORE_MAX_IOMEM_RANGES];
    /* work accounting of the hypercall in progress (under mmu_lock) */
    uint32_t budget;
    uint64_t destroy_cursor;    /* next MFN pvcore_domain_destroy() scans */
    uint8_t destroy_phase;
    _Atomic uint32_t flushed_seq; /* the last full flush of all this domain's vCPUs */
    uint64_t *p2m;              /* optional, embedder memory; under machine->m2p_lock */
    uint64_t p2m_size;
    struct vcpu vcpus[];
};

#define VMASST_M2P_STRICT_BIT 31u

struct machine {
    struct frame *frames;
    struct frame_aux *aux;      /* [nr_frames], after frames[] in the caller's frame table */
    uint64_t nr_frames;
    uint8_t *directmap;
    uint64_t *m2p;
    uint32_t max_domains;
    uint32_t work_budget;
    uint32_t flags;
    const uint64_t *hyp_l4_slots;     /* 16 entries or NULL */
    const uint64_t *hyp_pae_l2_slots; /* 84 entries or NULL */
    const struct pvcore_host_ops *ops;
    void *ctx;
    struct spinlock domtab_lock;
    struct spinlock m2p_lock;   /* M2P and every domain's P2M; innermost lock */
    _Atomic uint32_t flush_seq;       /* numbers every full flush (see machine_flush) */
    _Atomic uint32_t all_flushed_seq; /* the last full flush of every domain's vCPUs */
    _Atomic(struct domain *) domtab[];
};

#define INVALID_MFN UINT64_MAX
#define DOMID_FREE PVCORE_DOMID_INVALID

static inline struct frame *mfn_frame(const struct machine *m, uint64_t mfn)
{
    return &m->frames[mfn];
}

static inline struct frame_aux *mfn_aux(const struct machine *m, uint64_t mfn)
{
    return &m->aux[mfn];
}

/* The state besides count and owner of a frame that is being freed or allocated: no
 * type, no hints, nothing in the auxiliary record. */
static inline void frame_reset_state(struct machine *m, uint64_t mfn)
{
    struct frame_aux *a = mfn_aux(m, mfn);

    frame_type_store(mfn_frame(m, mfn), 0);
    atomic_store_explicit(&mfn_frame(m, mfn)->hints, 0, memory_order_relaxed);
    atomic_store_explicit(&a->linear, 0, memory_order_relaxed);
    a->nr_validated = 0;
    a->next = 0;
}

static inline bool mfn_is_ram(const struct machine *m, uint64_t mfn)
{
    return mfn < m->nr_frames &&
           (frame_count(&m->frames[mfn], memory_order_relaxed) & FC_RAM) != 0;
}

static inline uint64_t *frame_entries(const struct machine *m, uint64_t mfn)
{
    return (uint64_t *)(void *)(m->directmap + (size_t)mfn * PVCORE_PAGE_SIZE);
}

static inline bool domain_is_32(const struct domain *d)
{
    return (d->flags & PVCORE_DOMAIN_GUEST_32) != 0;
}

static inline bool domain_privileged(const struct domain *d)
{
    return (d->flags & PVCORE_DOMAIN_PRIVILEGED) != 0;
}

static inline struct domain *vcpu_domain(struct pvcore_vcpu *v)
{
    return ((struct vcpu *)(void *)v)->d;
}

/* ---- frame.c -------------------------------------------------------------------------------- */

/*
 * General references (inline: they are on every update's path). get_any_page() takes a
 * reference on a live RAM frame and reports its owner; get_page() also requires the owner.
 * Both fail on a free frame and on a saturated count. put_page() frees the frame at zero.
 */
void frame_free(struct machine *m, uint64_t mfn);

/* A count half that may gain a reference: a live RAM frame (a free one, at 0, cannot be
 * revived), not saturated. */
static inline bool fc_can_get(uint32_t c)
{
    uint32_t n = c & FC_COUNT_MASK;

    return (c & FC_RAM) != 0 && n != 0 && n != FC_COUNT_MASK;
}

static inline bool frame_get_any_page(struct machine *m, uint64_t mfn, uint16_t *owner)
{
    struct frame *f;
    uint64_t c;

    if (PVCORE_UNLIKELY(mfn >= m->nr_frames)) {
        return false;
    }
    f = mfn_frame(m, mfn);
    c = atomic_load_explicit(&f->ct, memory_order_relaxed);
    do {
        if (PVCORE_UNLIKELY(!fc_can_get(CT_COUNT(c)))) {
            return false;
        }
        /* (+1 cannot carry out of the count half: the count is below its maximum.) */
    } while (!atomic_compare_exchange_weak_explicit(&f->ct, &c, c + 1, memory_order_acquire,
                                                    memory_order_relaxed));
    /* With a reference held the owner cannot change (it changes only at count 0). */
    *owner = atomic_load_explicit(&f->owner, memory_order_acquire);
    return true;
}

static inline void frame_put_page(struct machine *m, uint64_t mfn)
{
    struct frame *f = mfn_frame(m, mfn);
    uint64_t c = atomic_load_explicit(&f->ct, memory_order_relaxed);
    uint64_t nc;

    do {
        PVCORE_ASSERT((CT_COUNT(c) & FC_COUNT_MASK) != 0);
        nc = c - 1;
        if ((CT_COUNT(nc) & FC_COUNT_MASK) == 0) {
            nc &= ~(uint64_t)FC_ALLOCATED;
        }
    } while (!atomic_compare_exchange_weak_explicit(&f->ct, &c, nc, memory_order_acq_rel,
                                                    memory_order_relaxed));
    if (PVCORE_UNLIKELY((CT_COUNT(nc) & FC_COUNT_MASK) == 0)) {
        frame_free(m, mfn);
    }
}

static inline bool frame_get_page(struct machine *m, uint64_t mfn, uint16_t owner)
{
    uint16_t real;

    if (!frame_get_any_page(m, mfn, &real)) {
        return false;
    }
    if (real != owner) {
        frame_put_page(m, mfn);
        return false;
    }
    return true;
}

/* Page-table types (L1-L4, see frame.c for the type-change rule), with the owner's lock
 * held. 0: the caller holds a general and a type reference. Any error: it holds neither.
 * The inline versions below handle the common case (a frame already validated as that
 * type gains or loses one of several holders) and call these for everything else. */
int frame_get_page_and_type_slow(struct domain *d, uint64_t mfn, uint16_t owner, uint32_t type);
void frame_put_page_and_type_slow(struct domain *d, uint64_t mfn);

static inline int frame_get_page_and_type(struct domain *d, uint64_t mfn, uint16_t owner,
                                          uint32_t type)
{
    struct machine *m = d->m;
    struct frame *f;
    uint32_t x;

    if (!frame_get_page(m, mfn, owner)) {
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
    return frame_get_page_and_type_slow(d, mfn, owner, type);
}

static inline void frame_put_page_and_type(struct domain *d, uint64_t mfn)
{
    struct machine *m = d->m;
    struct frame *f = mfn_frame(m, mfn);
    uint64_t c = atomic_load_explicit(&f->ct, memory_order_relaxed);

    /* Not the last type reference: nothing but the counts changes (and, as above, only
     * the owner's lock holder can change a page-table type). Another type holder holds a
     * general reference too, so neither half reaches zero: one operation drops both. A
     * compare-and-swap, not a subtraction: a guest walk may drop its own reference
     * meanwhile, and then ours may be the last. */
    PVCORE_ASSERT(pgt_type_level(CT_TYPE(c)) != 0);
    while (PVCORE_LIKELY((CT_TYPE(c) & PGT_COUNT_MASK) > 1)) {
        if (PVCORE_LIKELY(atomic_compare_exchange_weak_explicit(
                &f->ct, &c, c - CT_MAKE(1, 1), memory_order_acq_rel, memory_order_relaxed))) {
            return;
        }
    }
    frame_put_page_and_type_slow(d, mfn);
}

/* The type half after one more writable reference (0 if it cannot take one: another type,
 * or saturated). A writable page is valid as soon as it is typed. */
static inline uint32_t pgt_writable_inc(uint32_t x)
{
    uint32_t cnt = x & PGT_COUNT_MASK;

    /* (Most frames have one writable mapping at a time: the common case.) */
    if (PVCORE_LIKELY(cnt == 0)) {
        return PGT_WRITABLE | PGT_VALIDATED | 1u;
    }
    if ((x & PGT_TYPE_MASK) != PGT_WRITABLE || cnt == PGT_COUNT_MASK) {
        return 0;
    }
    return x + 1;
}

/* The type half after one writable reference less: with no holder left, no type at all. */
static inline uint32_t pgt_writable_dec(uint32_t x)
{
    PVCORE_ASSERT((x & PGT_TYPE_MASK) == PGT_WRITABLE && (x & PGT_COUNT_MASK) != 0);
    return PVCORE_LIKELY((x & PGT_COUNT_MASK) == 1) ? 0u : x - 1;
}

/*
 * The writable type, for a caller that holds a general reference: every read-write
 * mapping takes and drops one. It needs no lock and no validation.
 */
static inline bool frame_get_writable(struct machine *m, uint64_t mfn)
{
    struct frame *f = mfn_frame(m, mfn);
    uint32_t x = frame_type(f, memory_order_relaxed);
    uint32_t nx;

    do {
        nx = pgt_writable_inc(x);
        if (nx == 0) {
            return false;
        }
    } while (!frame_type_cas(f, &x, nx));
    return true;
}

/*
 * Drops a writable type reference. When the last one goes, TLBs may still hold the
 * mapping until the next full flush (XSA-401): the frame records when (wr_seq) and that it
 * was writable, and whoever next gives it a page-table or descriptor type flushes unless
 * a full flush completed since (flush_stale_writable in frame.c). Those records must be in
 * place before anyone can take the new type. `owner_locked`: the caller holds the frame
 * owner's MMU lock, without which no such type can be taken, so recording after the type
 * is dropped (while still holding it) is enough. Otherwise frame_put_writable_unlocked()
 * records first.
 */
void frame_put_writable_unlocked(struct machine *m, uint64_t mfn);

/* Records the drop of a frame's last writable reference, with its owner's lock held. */
static inline void frame_record_unwritable(struct machine *m, struct frame *f)
{
    /* (The caller's compare-and-swap made its rewrite of the mapping globally visible
     * before the flush number is read.) Read the hint first: in steady state it is already
     * set, and a load is cheaper than a read-modify-write. */
    atomic_store_explicit(&f->wr_seq, atomic_load_explicit(&m->flush_seq, memory_order_seq_cst),
                          memory_order_release);
    if (PVCORE_UNLIKELY(!(atomic_load_explicit(&f->hints, memory_order_relaxed) &
                          FH_WAS_WRITABLE))) {
        atomic_fetch_or_explicit(&f->hints, FH_WAS_WRITABLE, memory_order_relaxed);
    }
}

static inline void frame_put_writable(struct machine *m, uint64_t mfn, bool owner_locked)
{
    struct frame *f = mfn_frame(m, mfn);
    uint32_t x;
    uint32_t nx;

    if (!owner_locked) {
        frame_put_writable_unlocked(m, mfn);
        return;
    }
    x = frame_type(f, memory_order_relaxed);
    do {
        nx = pgt_writable_dec(x);
    } while (!frame_type_cas(f, &x, nx));
    if (nx == 0) {
        frame_record_unwritable(m, f);
    }
}

/*
 * The references of an L1 entry that maps a RAM frame: a general reference, and the
 * writable type if `rw`. The pair below moves both in one atomic operation in the common
 * case (the mapper's own frame, which stays allocated) and otherwise falls back to the
 * separate steps above.
 */
static inline void frame_put_mapping(struct machine *m, uint64_t mfn, bool rw, bool owner_locked)
{
    struct frame *f = mfn_frame(m, mfn);
    uint64_t c, nc;

    if (PVCORE_LIKELY(rw && owner_locked)) {
        c = atomic_load_explicit(&f->ct, memory_order_relaxed);
        /* Not when the frame would be freed: that takes the two steps, in order. */
        while (PVCORE_LIKELY((CT_COUNT(c) & FC_COUNT_MASK) > 1)) {
            nc = CT_MAKE(CT_COUNT(c) - 1, pgt_writable_dec(CT_TYPE(c)));
            if (PVCORE_LIKELY(atomic_compare_exchange_weak_explicit(
                    &f->ct, &c, nc, memory_order_acq_rel, memory_order_relaxed))) {
                if (CT_TYPE(nc) == 0) {
                    frame_record_unwritable(m, f);
                }
                return;
            }
        }
    }
    if (rw) {
        frame_put_writable(m, mfn, owner_locked);
    }
    frame_put_page(m, mfn);
}

/*
 * Takes the references for a mapping by `owner` of its own frame. false (holding
 * nothing): the frame is not simply the owner's (free, another domain's, saturated, or of
 * a type a writable mapping cannot have), and the caller takes the general path. The owner
 * is read first, so that another domain's frame never gains even a transient writable type
 * here (which would make that domain's own type changes fail); it is checked again once
 * the references are held, in case the frame was freed and reallocated in between.
 */
static inline bool frame_get_own_mapping(struct machine *m, uint64_t mfn, uint16_t owner, bool rw)
{
    struct frame *f;
    uint64_t c, nc;

    if (PVCORE_UNLIKELY(mfn >= m->nr_frames)) {
        return false;
    }
    f = mfn_frame(m, mfn);
    if (PVCORE_UNLIKELY(atomic_load_explicit(&f->owner, memory_order_acquire) != owner)) {
        return false;
    }
    c = atomic_load_explicit(&f->ct, memory_order_relaxed);
    do {
        uint32_t nx = CT_TYPE(c);

        if (PVCORE_UNLIKELY(!fc_can_get(CT_COUNT(c)))) {
            return false;
        }
        if (rw) {
            nx = pgt_writable_inc(nx);
            if (PVCORE_UNLIKELY(nx == 0)) {
                return false;
            }
        }
        nc = CT_MAKE(CT_COUNT(c) + 1, nx);
    } while (!atomic_compare_exchange_weak_explicit(&f->ct, &c, nc, memory_order_acq_rel,
                                                    memory_order_relaxed));
    if (PVCORE_LIKELY(atomic_load_explicit(&f->owner, memory_order_acquire) == owner)) {
        return true;
    }
    /* Nothing mapped it yet; the drop is recorded as for any other domain's frame. */
    frame_put_mapping(m, mfn, rw, false);
    return false;
}

void teardown_push(struct domain *d, uint64_t mfn);
/* Process the domain's teardown list within the budget: 0 when empty, -ERESTART if not. */
int domain_run_teardown(struct domain *d);
/* Work accounting: true when the caller should stop (budget exhausted or host asks). */
static inline bool domain_should_preempt(struct domain *d)
{
    const struct machine *m = d->m;

    if (d->budget == 0) {
        return true;
    }
    return m->ops->preempt_check != NULL && m->ops->preempt_check(m->ctx) != 0;
}

static inline void domain_charge(struct domain *d, uint32_t units)
{
    d->budget = d->budget > units ? d->budget - units : 0;
}

void machine_flush(struct machine *m, const struct pvcore_flush *f);

/* domain.c: M2P[mfn] = gfn, keeping the owner's P2M (if any) consistent. d may be NULL. */
void domain_set_m2p(struct domain *d, uint64_t mfn, uint64_t gfn);
/* A frame of domain `owner` is being freed: forget it in M2P and P2M. */
void domain_forget_frame(struct machine *m, uint16_t owner, uint64_t mfn);


#endif /* PVCORE_INTERNAL_CORE_H */
