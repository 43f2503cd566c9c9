/*
 * The machine: configuration, the frame table's boot-time setup, and queries.
 */
#include <pvcore/machine.h>

#include "internal/frame.h"

/* Bounds the public API promises; the frame table links frames by 32-bit indices. */
#define MAX_FRAMES 0xFFFFFFFFull

/* The frame table: nr_frames records of each kind, struct frame first (see core.h). */
_Static_assert(sizeof(struct frame) == 16, "frame records are 16 bytes");
_Static_assert(sizeof(struct frame_aux) == 8, "auxiliary frame records are 8 bytes");
#define FRAME_BYTES (sizeof(struct frame) + sizeof(struct frame_aux))

size_t pvcore_machine_size(uint32_t max_domains)
{
    if (max_domains == 0 || max_domains > PVCORE_DOMID_FIRST_RESERVED) {
        return 0;
    }
    return sizeof(struct machine) + (size_t)max_domains * sizeof(_Atomic(struct domain *));
}

size_t pvcore_frame_table_size(uint64_t nr_frames)
{
    if (nr_frames == 0 || nr_frames > MAX_FRAMES ||
        nr_frames > (uint64_t)(SIZE_MAX / FRAME_BYTES)) {
        return 0;
    }
    return (size_t)nr_frames * FRAME_BYTES;
}

int pvcore_machine_init(void *mem, size_t len, const struct pvcore_machine_config *cfg,
                        struct pvcore_machine **out)
{
    struct machine *m = mem;
    size_t need, ftsize;
    uint64_t i;
    uint32_t d;

    if (mem == NULL || cfg == NULL || out == NULL || ((uintptr_t)mem & 7u) != 0) {
        return -PVCORE_EINVAL;
    }
    need = pvcore_machine_size(cfg->max_domains);
    ftsize = pvcore_frame_table_size(cfg->nr_frames);
    if (need == 0 || len < need || ftsize == 0 || cfg->frame_table == NULL ||
        cfg->frame_table_bytes < ftsize || ((uintptr_t)cfg->frame_table & 7u) != 0 ||
        cfg->directmap == NULL || ((uintptr_t)cfg->directmap & (PVCORE_PAGE_SIZE - 1u)) != 0 ||
        cfg->m2p == NULL || cfg->ops == NULL || cfg->ops->flush_tlb == NULL) {
        return -PVCORE_EINVAL;
    }
    memset(m, 0, need);
    m->frames = cfg->frame_table;
    m->aux = (struct frame_aux *)(void *)(m->frames + cfg->nr_frames);
    m->nr_frames = cfg->nr_frames;
    m->directmap = cfg->directmap;
    m->m2p = cfg->m2p;
    m->max_domains = cfg->max_domains;
    m->work_budget = cfg->work_budget != 0 ? cfg->work_budget : 65536u;
    m->flags = cfg->flags;
    m->hyp_l4_slots = cfg->hyp_l4_slots;
    m->hyp_pae_l2_slots = cfg->hyp_pae_l2_slots;
    m->m2p_compat = cfg->m2p_compat;
    m->ops = cfg->ops;
    m->ctx = cfg->ctx;
    spin_init(&m->domtab_lock);
    spin_init(&m->m2p_lock);
    for (d = 0; d < m->max_domains; d++) {
        atomic_init(&m->domtab[d], NULL);
    }
    for (i = 0; i < m->nr_frames; i++) {
        struct frame *f = &m->frames[i];
        struct frame_aux *a = &m->aux[i];
        atomic_init(&f->ct, 0);
        atomic_init(&f->owner, (uint16_t)DOMID_FREE);
        atomic_init(&f->hints, 0);
        f->pad = 0;
        atomic_init(&f->wr_seq, 0);
        atomic_init(&a->linear, 0);
        atomic_init(&a->nr_validated, 0);
        a->next = 0;
        m->m2p[i] = INVALID_MFN;
        if (m->m2p_compat != NULL) {
            m->m2p_compat[i] = UINT32_MAX;
        }
    }
    *out = (struct pvcore_machine *)(void *)m;
    return 0;
}

static bool range_ok(const struct machine *m, uint64_t first, uint64_t count)
{
    return count != 0 && first < m->nr_frames && count <= m->nr_frames - first;
}

int pvcore_frame_add_ram(struct pvcore_machine *pm, pvcore_mfn_t first_mfn, uint64_t count)
{
    struct machine *m = (struct machine *)(void *)pm;
    uint64_t first = first_mfn.v;
    uint64_t i;

    if (m == NULL || !range_ok(m, first, count)) {
        return -PVCORE_EINVAL;
    }
    for (i = first; i < first + count; i++) {
        if (frame_count(&m->frames[i], memory_order_relaxed) & FC_RAM) {
            return -PVCORE_EBUSY;
        }
    }
    for (i = first; i < first + count; i++) {
        atomic_store_explicit(&m->frames[i].ct, CT_MAKE(FC_RAM, 0), memory_order_relaxed);
    }
    return 0;
}

int pvcore_frame_reserve_xen(struct pvcore_machine *pm, pvcore_mfn_t first_mfn, uint64_t count)
{
    struct machine *m = (struct machine *)(void *)pm;
    uint64_t first = first_mfn.v;
    uint64_t i;

    if (m == NULL || !range_ok(m, first, count)) {
        return -PVCORE_EINVAL;
    }
    for (i = first; i < first + count; i++) {
        const struct frame *f = &m->frames[i];
        if (frame_count(f, memory_order_relaxed) != FC_RAM ||
            atomic_load_explicit(&f->owner, memory_order_relaxed) != DOMID_FREE) {
            return -PVCORE_EBUSY;
        }
    }
    for (i = first; i < first + count; i++) {
        struct frame *f = &m->frames[i];
        frame_flush_stale_free(m, i);
        atomic_store_explicit(&f->owner, (uint16_t)PVCORE_DOMID_XEN, memory_order_relaxed);
        atomic_store_explicit(&f->ct, CT_MAKE(FC_RAM | FC_ALLOCATED | 1u, 0), memory_order_release);
    }
    return 0;
}

int pvcore_frame_query(const struct pvcore_machine *pm, pvcore_mfn_t frame,
                       struct pvcore_frame_info *info)
{
    const struct machine *m = (const struct machine *)(const void *)pm;
    uint64_t mfn = frame.v;
    const struct frame *f;
    uint64_t ct;
    uint32_t c, t;

    if (m == NULL || info == NULL || mfn >= m->nr_frames) {
        return -PVCORE_EINVAL;
    }
    f = &m->frames[mfn];
    ct = atomic_load_explicit(&f->ct, memory_order_acquire);
    c = CT_COUNT(ct);
    t = CT_TYPE(ct);
    info->mfn = mfn;
    info->owner = atomic_load_explicit(&f->owner, memory_order_acquire);
    info->type = (uint8_t)((t & PGT_TYPE_MASK) >> PGT_TYPE_SHIFT);
    info->flags = (uint8_t)(((c & FC_RAM) ? PVCORE_FRAME_RAM : 0u) |
                            ((c & FC_ALLOCATED) ? PVCORE_FRAME_ALLOCATED : 0u) |
                            ((t & PGT_PINNED) ? PVCORE_FRAME_PINNED : 0u) |
                            ((t & PGT_VALIDATED) ? PVCORE_FRAME_VALIDATED : 0u) |
                            ((t & PGT_PARTIAL) ? PVCORE_FRAME_PARTIAL : 0u) |
                            ((t & PGT_TEARDOWN) ? PVCORE_FRAME_TEARDOWN : 0u) |
                            ((t & PGT_PAE_XEN_L2) ? PVCORE_FRAME_PAE_XEN_L2 : 0u));
    info->count = c & FC_COUNT_MASK;
    info->type_count = t & PGT_COUNT_MASK;
    info->linear = atomic_load_explicit(&mfn_aux(m, mfn)->linear, memory_order_relaxed);
    info->nr_validated = aux_validated(mfn_aux(m, mfn));
    return 0;
}

uint64_t pvcore_machine_nr_frames(const struct pvcore_machine *pm)
{
    return ((const struct machine *)(const void *)pm)->nr_frames;
}
