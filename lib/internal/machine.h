/*
 * The machine: the frame table's arrays, the directmap, the M2P, the domain table and the
 * embedder's hooks. Never installed.
 */
#ifndef PVCORE_INTERNAL_MACHINE_H
#define PVCORE_INTERNAL_MACHINE_H

#include <pvcore/host.h>
#include <pvcore/machine.h>
#include <pvcore/memory.h>
#include <pvcore/trace.h>

#include <pvcore/abi/xen.h>

#include "internal/base.h"

struct frame;
struct frame_aux;
struct domain;

struct machine {
    struct frame *frames;
    struct frame_aux *aux;      /* [nr_frames], after frames[] in the caller's frame table */
    uint64_t nr_frames;
    uint8_t *directmap;
    uint64_t *m2p;
    uint32_t *m2p_compat;       /* optional: the 32-bit guests' copy of m2p */
    uint32_t max_domains;
    uint32_t work_budget;
    uint32_t flags;
    const uint64_t *hyp_l4_slots;     /* 16 entries or NULL */
    const uint64_t *hyp_pae_l2_slots; /* 84 entries or NULL */
    const struct pvcore_host_ops *ops;
    void *ctx;
    pvcore_frame_alloc_fn frame_alloc; /* <pvcore/memory.h>; NULL: no frames for guests */
    void *frame_alloc_ctx;
    pvcore_refusal_fn refusal;  /* <pvcore/trace.h>; NULL: none (the default) */
    void *refusal_ctx;
    struct spinlock domtab_lock; /* domain table slots (domain.c has the lock order) */
    struct spinlock m2p_lock;    /* M2P and every domain's P2M */
    _Atomic uint32_t flush_seq;       /* numbers every full flush (see machine_flush) */
    _Atomic uint32_t all_flushed_seq; /* the last full flush of every domain's vCPUs */
    _Atomic(struct domain *) domtab[];
};

#define DOMID_FREE PVCORE_DOMID_INVALID
/* The owner of a frame in transit between domains (frame.h); no domain has this id. */
#define DOMID_TRANSIT 0x7FF6u

/* The 4 KiB of machine frame mfn, through the embedder's directmap. */
static inline uint64_t *frame_entries(const struct machine *m, uint64_t mfn)
{
    return (uint64_t *)(void *)(m->directmap + (size_t)mfn * PVCORE_PAGE_SIZE);
}

/* The domain in table slot `id`, dying or not; NULL for a free slot or a reserved id. */
static inline struct domain *machine_domain(const struct machine *m, uint16_t id)
{
    return id < m->max_domains
               ? atomic_load_explicit((_Atomic(struct domain *) *)(uintptr_t)&m->domtab[id],
                                      memory_order_acquire)
               : NULL;
}

#endif /* PVCORE_INTERNAL_MACHINE_H */
