/*
 * The frame table: a frame's count word (general references and type_info in one 64-bit
 * word), its owner, the hints and flush stamps a TLB flush decision needs, and the general
 * and writable references. A leaf: nothing here calls above it (frame_free() tells the
 * M2P, a leaf too). Page-table and descriptor types, which need validation, are
 * pagetype.h's. Never installed.
 */
#ifndef PVCORE_INTERNAL_FRAME_H
#define PVCORE_INTERNAL_FRAME_H

#include "internal/domain.h"
#include "internal/machine.h"

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
    _Atomic uint16_t nr_validated; /* PARTIAL: entries [0,n) hold refs; TEARDOWN: [0,n) still
                                    * to put; aux_validated() and aux_set_validated() */
    uint32_t next;              /* teardown list link: mfn + 1, 0 ends the list */
};

/* frame.hints: what a TLB may still hold (see flush_stale_writable in frame.c) */
#define FH_WAS_WRITABLE 0x01u     /* a writable mapping existed since the last flush */
#define FH_FOREIGN_WRITABLE 0x02u /* ... and one belonged to another domain */
#define FH_FREED 0x04u            /* free since wr_seq: TLBs may still map it (frame_free) */
#define FH_NON_COHERENT 0x08u     /* mapped writable with a non-write-back cache type (XSA-402) */

static inline struct frame *mfn_frame(const struct machine *m, uint64_t mfn)
{
    return &m->frames[mfn];
}

static inline struct frame_aux *mfn_aux(const struct machine *m, uint64_t mfn)
{
    return &m->aux[mfn];
}

/* nr_validated changes under the owner's lock, or on a frame being freed or changing
 * owners (frame_reset_state(), which takes no lock), but pvcore_frame_query() reads it
 * with none, concurrently: relaxed atomics (plain moves), so that this is no data race
 * (ThreadSanitizer saw one: test_smp_transfer, a frame source querying frames while
 * transfers steal them). Nothing is ordered by it. */
static inline unsigned aux_validated(const struct frame_aux *a)
{
    return atomic_load_explicit(&a->nr_validated, memory_order_relaxed);
}

static inline void aux_set_validated(struct frame_aux *a, unsigned n)
{
    atomic_store_explicit(&a->nr_validated, (uint16_t)n, memory_order_relaxed);
}

/* The state besides count and owner of a frame that is being freed or allocated: no
 * type, no hints, nothing in the auxiliary record. */
static inline void frame_reset_state(struct machine *m, uint64_t mfn)
{
    struct frame_aux *a = mfn_aux(m, mfn);

    frame_type_store(mfn_frame(m, mfn), 0);
    atomic_store_explicit(&mfn_frame(m, mfn)->hints, 0, memory_order_relaxed);
    atomic_store_explicit(&a->linear, 0, memory_order_relaxed);
    aux_set_validated(a, 0);
    a->next = 0;
}

static inline bool mfn_is_ram(const struct machine *m, uint64_t mfn)
{
    return mfn < m->nr_frames &&
           (frame_count(&m->frames[mfn], memory_order_relaxed) & FC_RAM) != 0;
}

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

/* Drops the owner's allocation reference if it still holds it (release, destruction,
 * decrease_reservation): true if it did. The frame is freed with its last reference. */
static inline bool frame_put_alloc_ref(struct machine *m, uint64_t mfn)
{
    uint32_t c = frame_count_fetch_and(mfn_frame(m, mfn), ~FC_ALLOCATED, memory_order_acq_rel);

    if ((c & FC_ALLOCATED) == 0) {
        return false;
    }
    frame_put_page(m, mfn);
    return true;
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
 * a full flush completed since (frame_flush_stale_writable()). Those records must be in
 * place before anyone can take the new type. A caller holding the frame owner's lock
 * (frame_put_writable_locked(), with the witness), without which no such type can be
 * taken, may record after the type is dropped (while still holding the lock). Any other
 * caller uses frame_put_writable_unlocked(), which records first.
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

static inline void frame_put_writable_locked(const struct domain_locked *owner, uint64_t mfn)
{
    struct machine *m = owner->d->m;
    struct frame *f = mfn_frame(m, mfn);
    uint32_t x;
    uint32_t nx;

    ASSERT_LOCKED(owner);
    PVCORE_ASSERT(atomic_load_explicit(&f->owner, memory_order_relaxed) == owner->d->domid);
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
 * writable type if `rw`. `owner` is the witness of the frame owner's lock when the caller
 * holds it (its own frame), NULL otherwise. The pair below moves both in one atomic
 * operation in the common case (the mapper's own frame, which stays allocated) and
 * otherwise falls back to the separate steps above.
 */
static inline void frame_put_mapping(struct machine *m, uint64_t mfn, bool rw,
                                     const struct domain_locked *owner)
{
    struct frame *f = mfn_frame(m, mfn);
    uint64_t c, nc;

    if (PVCORE_LIKELY(rw && owner != NULL)) {
        ASSERT_LOCKED(owner);
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
    if (rw && owner != NULL) {
        frame_put_writable_locked(owner, mfn);
    } else if (rw) {
        frame_put_writable_unlocked(m, mfn);
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
    frame_put_mapping(m, mfn, rw, NULL);
    return false;
}

/* A TLB flush through the embedder's hook, numbered when it is a full one (frame.c). */
void machine_flush(struct machine *m, const struct pvcore_flush *f);

/* A flush of vCPU v's own TLB: all of it (PVCORE_FLUSH_TLB_ALL) or address va. */
static inline void vcpu_flush_local(struct vcpu *v, uint8_t kind, uint64_t va)
{
    struct pvcore_flush f;

    memset(&f, 0, sizeof(f));
    f.domid = v->d->domid;
    f.kind = kind;
    f.scope = PVCORE_FLUSH_SCOPE_LOCAL;
    f.vcpu = v->id;
    f.va = va;
    machine_flush(v->d->m, &f);
}

/* Before frame mfn of `owner`, which may have been writable, takes a page-table or
 * descriptor type: flushes whatever a writable mapping may have left in TLBs and caches,
 * unless a full flush since made that unnecessary (frame.c). */
void frame_flush_stale_writable(struct machine *m, uint64_t mfn, uint16_t owner);

/* Before a free frame gets a new owner: flushes every domain's TLBs unless a full flush of
 * every domain completed since the frame was freed (frame.c). */
void frame_flush_stale_free(struct machine *m, uint64_t mfn);

/*
 * Frames in transit between owners (memory_op, GNTTABOP_transfer; frame.c). A frame in
 * transit has no reference and no owner (DOMID_TRANSIT; its count word FC_STOLEN, which no
 * get_page() and no pvcore_domain_assign() accepts): only the call that put it there may
 * give it to a domain or free it, and it does one of the two before it returns.
 */
#define FC_STOLEN (FC_RAM | FC_ALLOCATED)

/* Takes free RAM frame mfn into transit: false if it is not free. */
bool frame_take_free(struct machine *m, uint64_t mfn);
/* Takes frame mfn of dl's domain into transit, as Xen's steal_page(): only if nothing but
 * its allocation reference holds it (no mapping, pin or hold: XSA-217), with its type
 * cleared (XSA-214) and its TLB entries recorded as those of a freed frame. Its M2P and
 * P2M entries stay, for a return to its owner: a caller that moves it elsewhere clears
 * them (m2p_forget()).
 * `account`: it leaves the domain's page count (else the caller keeps it counted, for a
 * frame to take its place). 0, or -PVCORE_EINVAL. */
int frame_steal(const struct domain_locked *dl, uint64_t mfn, bool account);
/* Counts n more frames for d (a frame_give() to follow): -PVCORE_ESRCH if it is dying
 * (also if it began dying while the count went up), -PVCORE_ENOMEM past its max_pages.
 * domain_unreserve() gives them back. */
int domain_reserve(struct domain *d, uint64_t n);
void domain_unreserve(struct domain *d, uint64_t n);
/* Gives frame mfn in transit to d at guest frame gfn (M2P and P2M set), counted already
 * (domain_reserve(), or a frame of d's taken without `account`). If d is dying the frame
 * is freed instead: false. */
bool frame_give(struct domain *d, uint64_t mfn, uint64_t gfn);
/* Frees a frame in transit (the embedder hears of it through frame_freed), its M2P entry
 * and its previous owner's P2M entry cleared (prev_owner DOMID_FREE: it had none). */
void frame_free_transit(struct machine *m, uint64_t mfn, uint16_t prev_owner);

#endif /* PVCORE_INTERNAL_FRAME_H */
