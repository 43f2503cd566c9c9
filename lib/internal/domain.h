/*
 * Domains and vCPUs, the per-call context, and the lock witness. Never installed.
 *
 * The lock order is written once, at the top of domain.c, which owns the domain lock.
 */
#ifndef PVCORE_INTERNAL_DOMAIN_H
#define PVCORE_INTERNAL_DOMAIN_H

#include <pvcore/domain.h>
#include <pvcore/grant.h>
#include <pvcore/emulate.h>
#include <pvcore/memory.h>

#include "internal/cpu.h"
#include "internal/evtchn.h"
#include "internal/machine.h"
#include "internal/sched.h"

struct pt_format;
struct gnt_active;
struct gnt_maptrack;

struct vcpu {
    struct domain *d;
    uint32_t id;
    uint64_t guest_table;      /* kernel root MFN, INVALID_MFN if none; holds 1 type + 1 general ref */
    uint64_t guest_table_user; /* user root MFN (64-bit guests), INVALID_MFN if none */
    uint64_t ldt_base;
    uint32_t ldt_ents;
    struct vcpu_cpu cpu;       /* the CPU half's state (cpu.h) */
    struct vcpu_evtchn evt;    /* its VIRQ bindings (evtchn.h) */
    struct vcpu_wait wait;     /* SCHEDOP_block / poll (sched.h) */
    struct vcpu_timer timer;   /* its timers (sched.h, time.c) */
};

/* A permitted range of machine frames or I/O ports (inclusive). */
struct io_range {
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
    _Atomic uint32_t pause_count; /* the toolstack's pauses (pvcore_domain_pause()) */
    _Atomic uint64_t tot_pages; /* frames owned (count > 0 and owner == domid) */
    uint64_t max_pages;
    struct spinlock mmu_lock;   /* its page tables, their types, its teardown list */
    uint32_t teardown_head;     /* mfn + 1 of the first frame to devalidate; 0: none */
    uint32_t nr_iomem;
    struct io_range iomem[PVCORE_MAX_IOMEM_RANGES];
    uint32_t nr_ioport;         /* I/O port ranges (emulate.c), under mmu_lock */
    struct io_range ioport[PVCORE_MAX_IOPORT_RANGES];
    uint64_t destroy_cursor;    /* next MFN pvcore_domain_destroy() scans */
    uint8_t destroy_phase;
    _Atomic uint32_t flushed_seq; /* the last full flush of all this domain's vCPUs */
    struct {
        uint64_t frames[PVCORE_GRANT_MAX_FRAMES]; /* the table's frames (grant.c) */
        uint32_t max;              /* frames given */
        _Atomic uint32_t nr;       /* frames in use: grows only */
        struct spinlock lock;      /* active entries, shared entries' flags (grant.h) */
        bool released;             /* frames given back (destruction): entries untouched */
        uint8_t version;           /* 1 or 2 (set_version), under lock */
        uint32_t nr_status;        /* version-2 status frames given */
        uint64_t status[PVCORE_GRANT_MAX_STATUS_FRAMES]; /* their frames (held) */
        struct gnt_active *active; /* [max * 512]: embedder memory; NULL: none */
        struct gnt_maptrack *maptrack; /* [nr_maptrack]: under mmu_lock */
        uint32_t nr_maptrack;
        uint32_t maptrack_free;    /* index + 1 of the first free handle; 0: none */
        uint32_t maptrack_used;    /* handles in use */
    } gnt;
    uint64_t shared_info_mfn;   /* the shared-info page (pvcore_domain_set_shared_info()); INVALID_MFN: none */
    struct domain_evtchn evt;   /* event channels: the port table and its lock (evtchn.h) */
    struct domain_sched sched;  /* waiting vCPUs, shutdown, the time scale (sched.h) */
    uint32_t nr_emb_held;       /* frames the embedder holds (pvcore_domain_hold_frame()), under mmu_lock */
    uint64_t emb_held[PVCORE_DOMAIN_MAX_HELD_FRAMES];
    uint64_t *p2m;              /* optional, embedder memory; under machine->m2p_lock */
    uint64_t p2m_size;
    struct vcpu vcpus[];
};

#define VMASST_M2P_STRICT_BIT 31u

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

/* ---- the call in progress ---------------------------------------------------------------- */

/*
 * State that belongs to one call into the library (a hypercall, a domain destruction),
 * not to a domain: it lives on that call's stack and is passed down. Two vCPUs of one
 * domain making calls at once each have their own.
 */
/*
 * Why the call's request was refused (<pvcore/trace.h>), recorded where the rule refused
 * it, with whatever lock held, and reported to the refusal hook after the call let go of
 * its locks (mmu.c). The innermost rule wins: the first code recorded stays, and so does
 * the first entry (at_set), since the validation of a table nested under an entry records
 * before the entry's own level does. Written only on refusal paths (internal/trace.h).
 */
struct refusal_rec {
    uint8_t code;  /* PVCORE_REFUSAL_*; 0: nothing recorded */
    bool at_set;   /* level, slot and table are recorded */
    uint8_t level;
    uint32_t slot;
    uint64_t table;
    uint64_t mfn;
    uint32_t index; /* the request in the batch, and its command (set by mmu.c) */
    uint32_t cmd;
};

struct call {
    struct machine *m;
    uint32_t budget;         /* work units left before the call must stop (-ERESTART) */
    uint32_t deferred;       /* mfn + 1 of the first table reference to drop unlocked; 0: none */
    const struct domain *locked; /* the domain whose lock this call holds, or NULL */
    struct refusal_rec refusal;
};

static inline void call_init(struct call *c, struct machine *m)
{
    c->m = m;
    c->budget = m->work_budget;
    c->deferred = 0;
    c->locked = NULL;
    c->refusal.code = 0;
    c->refusal.at_set = false;
}

/* Drops the table references the call deferred while it held a lock (pagetype.c). */
void call_run_deferred(struct call *c);

/* Work accounting: true when the call should stop (budget exhausted or host asks). */
static inline bool call_should_preempt(const struct call *c)
{
    const struct machine *m = c->m;

    if (c->budget == 0) {
        return true;
    }
    return m->ops->preempt_check != NULL && m->ops->preempt_check(m->ctx) != 0;
}

static inline void call_charge(struct call *c, uint32_t units)
{
    c->budget = c->budget > units ? c->budget - units : 0;
}

/* ---- the lock witness -------------------------------------------------------------------- */

/*
 * Proof that `call` holds d's MMU lock, handed out by domain_lock() and taken (by
 * pointer: copying it through the stack on every request costs a store-forwarding stall)
 * by every function that needs that lock held, which asserts it in debug builds. It also
 * carries the call, whose budget the work done under the lock is charged to.
 */
struct domain_locked {
    struct domain *d;
    struct call *call;
};

static inline struct domain_locked domain_lock(struct call *c, struct domain *d)
{
    struct domain_locked dl = { d, c };

    /* A call holds at most one domain's lock (domain.c, lock order). */
    PVCORE_ASSERT(c->locked == NULL);
    spin_lock(&d->mmu_lock);
    c->locked = d;
    return dl;
}

static inline void domain_unlock(const struct domain_locked *dl)
{
    struct call *c = dl->call;

    PVCORE_ASSERT(c->locked == dl->d);
    c->locked = NULL;
    spin_unlock(&dl->d->mmu_lock);
    if (PVCORE_UNLIKELY(c->deferred != 0)) {
        call_run_deferred(c);
    }
}

/* Asserts, in debug builds, that the witness is live: its call holds d's lock. */
#define ASSERT_LOCKED(dl) \
    PVCORE_ASSERT((dl)->call->locked == (dl)->d && spin_is_locked(&(dl)->d->mmu_lock))

/* Asserts, in debug builds, that the call holds no library lock (guest copies). */
#define ASSERT_UNLOCKED(c) PVCORE_ASSERT((c)->locked == NULL)

/*
 * Adds (allow) or removes exactly [first, last] in one of the witness's domain's permission
 * lists (I/O memory, I/O ports; at most `cap` ranges): 0, -PVCORE_ENOSPC when full, or
 * -PVCORE_ENOENT for a range not in it.
 */
static inline int io_range_permit(const struct domain_locked *dl, struct io_range *r, uint32_t *nr,
                                  uint32_t cap, uint64_t first, uint64_t last, int allow)
{
    uint32_t i;

    ASSERT_LOCKED(dl);
    if (allow) {
        if (*nr >= cap) {
            return -PVCORE_ENOSPC;
        }
        r[*nr].first = first;
        r[*nr].last = last;
        (*nr)++;
        return 0;
    }
    for (i = 0; i < *nr; i++) {
        if (r[i].first == first && r[i].last == last) {
            r[i] = r[*nr - 1u];
            (*nr)--;
            return 0;
        }
    }
    return -PVCORE_ENOENT;
}

#endif /* PVCORE_INTERNAL_DOMAIN_H */
