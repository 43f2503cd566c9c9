/*
 * The host backend: a machine in process memory, with hooks that count instead of flush.
 */
#include <pvcore/host_backend.h>
#include <pvcore/guestmem.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/abi/errno.h>
#include <pvcore/abi/xen.h>

struct pvcore_host_backend {
    struct pvcore_host_ops ops;
    struct pvcore_machine *m;
    void *machine_mem;
    void *frame_table;
    uint8_t *ram;
    uint64_t *m2p;
    uint64_t nr_frames;
    _Atomic uint32_t preempt_every;
    _Atomic uint64_t ctr[12];
    _Atomic uint64_t last_mask;
    _Atomic uint64_t last_va;
};

enum {
    C_FLUSH, C_LOCAL, C_DOMAIN, C_MASK, C_VA, C_EVERY, C_CACHE, C_BASE, C_FREED, C_PREEMPT, C_MODE,
    C_KICK, C_NR
};
_Static_assert(C_NR <= 12, "ctr[] holds every counter");

static void inc(struct pvcore_host_backend *hb, int c)
{
    atomic_fetch_add_explicit(&hb->ctr[c], 1, memory_order_relaxed);
}

static void hb_flush_tlb(void *ctx, const struct pvcore_flush *f)
{
    struct pvcore_host_backend *hb = ctx;

    inc(hb, C_FLUSH);
    switch (f->scope) {
    case PVCORE_FLUSH_SCOPE_LOCAL:
        inc(hb, C_LOCAL);
        break;
    case PVCORE_FLUSH_SCOPE_DOMAIN:
        inc(hb, C_DOMAIN);
        break;
    default:
        inc(hb, C_MASK);
        atomic_store_explicit(&hb->last_mask, f->vcpu_mask, memory_order_relaxed);
        break;
    }
    if (f->kind == PVCORE_FLUSH_TLB_VA) {
        inc(hb, C_VA);
        atomic_store_explicit(&hb->last_va, f->va, memory_order_relaxed);
    }
    if (f->domid == PVCORE_DOMID_INVALID) {
        inc(hb, C_EVERY);
    }
}

static void hb_flush_cache(void *ctx, uint16_t domid, int global)
{
    (void)domid;
    (void)global;
    inc(ctx, C_CACHE);
}

static int hb_preempt_check(void *ctx)
{
    struct pvcore_host_backend *hb = ctx;
    uint32_t every = atomic_load_explicit(&hb->preempt_every, memory_order_relaxed);
    uint64_t n;

    /* Counted only while forcing preemption: a counter shared by every CPU would make
     * the check itself the bottleneck of a benchmark. */
    if (every == 0) {
        return 0;
    }
    n = atomic_fetch_add_explicit(&hb->ctr[C_PREEMPT], 1, memory_order_relaxed) + 1;
    return n % every == 0;
}

/* Guest memory is reached as the guest's own accesses would be, through the library's
 * guest walk (<pvcore/guestmem.h>), which holds each frame while it is copied. */
static int hb_copy_from_guest(void *ctx, struct pvcore_vcpu *v, void *dst, uint64_t gva, size_t len)
{
    (void)ctx;
    return pvcore_guestmem_copy_from(v, dst, gva, len);
}

static int hb_copy_to_guest(void *ctx, struct pvcore_vcpu *v, uint64_t gva, const void *src,
                            size_t len)
{
    (void)ctx;
    return pvcore_guestmem_copy_to(v, gva, src, len);
}

static void hb_base_changed(void *ctx, struct pvcore_vcpu *v, pvcore_mfn_t kernel, pvcore_mfn_t user)
{
    (void)v;
    (void)kernel;
    (void)user;
    inc(ctx, C_BASE);
}

static void hb_mode_changed(void *ctx, struct pvcore_vcpu *v, int kernel_mode)
{
    (void)v;
    (void)kernel_mode;
    inc(ctx, C_MODE);
}

static void hb_evtchn_kick(void *ctx, struct pvcore_vcpu *v)
{
    (void)v;
    inc(ctx, C_KICK);
}

static void hb_frame_freed(void *ctx, pvcore_mfn_t mfn)
{
    (void)mfn;
    inc(ctx, C_FREED);
}

int pvcore_host_backend_create(uint64_t nr_frames, uint32_t max_domains, uint32_t work_budget,
                               uint32_t flags, struct pvcore_host_backend **out)
{
    struct pvcore_host_backend *hb;
    struct pvcore_machine_config cfg;
    size_t msize = pvcore_machine_size(max_domains);
    size_t fsize = pvcore_frame_table_size(nr_frames);
    int rc;

    if (out == NULL || msize == 0 || fsize == 0 || nr_frames > (SIZE_MAX >> 13)) {
        return -PVCORE_EINVAL;
    }
    hb = calloc(1, sizeof(*hb));
    if (hb == NULL) {
        return -PVCORE_ENOMEM;
    }
    hb->nr_frames = nr_frames;
    hb->machine_mem = aligned_alloc(64, (msize + 63u) & ~(size_t)63u);
    hb->frame_table = aligned_alloc(64, (fsize + 63u) & ~(size_t)63u);
    hb->ram = aligned_alloc(PVCORE_PAGE_SIZE, (size_t)nr_frames * PVCORE_PAGE_SIZE);
    hb->m2p = calloc((size_t)nr_frames, sizeof(uint64_t));
    if (hb->machine_mem == NULL || hb->frame_table == NULL || hb->ram == NULL || hb->m2p == NULL) {
        pvcore_host_backend_destroy(hb);
        return -PVCORE_ENOMEM;
    }
    memset(hb->ram, 0, (size_t)nr_frames * PVCORE_PAGE_SIZE);
    hb->ops.flush_tlb = hb_flush_tlb;
    hb->ops.flush_cache = hb_flush_cache;
    hb->ops.preempt_check = hb_preempt_check;
    hb->ops.copy_from_guest = hb_copy_from_guest;
    hb->ops.base_changed = hb_base_changed;
    hb->ops.frame_freed = hb_frame_freed;
    hb->ops.mode_changed = hb_mode_changed;
    hb->ops.copy_to_guest = hb_copy_to_guest;
    hb->ops.evtchn_kick = hb_evtchn_kick;
    memset(&cfg, 0, sizeof(cfg));
    cfg.frame_table = hb->frame_table;
    cfg.frame_table_bytes = fsize;
    cfg.nr_frames = nr_frames;
    cfg.directmap = hb->ram;
    cfg.m2p = hb->m2p;
    cfg.max_domains = max_domains;
    cfg.ops = &hb->ops;
    cfg.ctx = hb;
    cfg.work_budget = work_budget;
    cfg.flags = flags;
    rc = pvcore_machine_init(hb->machine_mem, msize, &cfg, &hb->m);
    if (rc == 0) {
        rc = pvcore_frame_add_ram(hb->m, pvcore_mfn(0), nr_frames);
    }
    if (rc != 0) {
        pvcore_host_backend_destroy(hb);
        return rc;
    }
    *out = hb;
    return 0;
}

void pvcore_host_backend_destroy(struct pvcore_host_backend *hb)
{
    if (hb == NULL) {
        return;
    }
    free(hb->machine_mem);
    free(hb->frame_table);
    free(hb->ram);
    free(hb->m2p);
    free(hb);
}

struct pvcore_machine *pvcore_host_backend_machine(struct pvcore_host_backend *hb)
{
    return hb->m;
}

uint64_t *pvcore_host_backend_frame(struct pvcore_host_backend *hb, pvcore_mfn_t mfn)
{
    if (mfn.v >= hb->nr_frames) {
        return NULL;
    }
    return (uint64_t *)(void *)(hb->ram + (size_t)mfn.v * PVCORE_PAGE_SIZE);
}

void pvcore_host_backend_stats(struct pvcore_host_backend *hb, struct pvcore_host_stats *out)
{
    out->flush_calls = atomic_load(&hb->ctr[C_FLUSH]);
    out->flush_local = atomic_load(&hb->ctr[C_LOCAL]);
    out->flush_domain = atomic_load(&hb->ctr[C_DOMAIN]);
    out->flush_mask = atomic_load(&hb->ctr[C_MASK]);
    out->flush_va = atomic_load(&hb->ctr[C_VA]);
    out->flush_every_domain = atomic_load(&hb->ctr[C_EVERY]);
    out->cache_flushes = atomic_load(&hb->ctr[C_CACHE]);
    out->base_changes = atomic_load(&hb->ctr[C_BASE]);
    out->frames_freed = atomic_load(&hb->ctr[C_FREED]);
    out->mode_changes = atomic_load(&hb->ctr[C_MODE]);
    out->preempt_checks = atomic_load(&hb->ctr[C_PREEMPT]);
    out->last_flush_vcpu_mask = atomic_load(&hb->last_mask);
    out->last_flush_va = atomic_load(&hb->last_va);
    out->evtchn_kicks = atomic_load(&hb->ctr[C_KICK]);
}

void pvcore_host_backend_reset_stats(struct pvcore_host_backend *hb)
{
    size_t i;

    for (i = 0; i < sizeof(hb->ctr) / sizeof(hb->ctr[0]); i++) {
        atomic_store(&hb->ctr[i], 0);
    }
    atomic_store(&hb->last_mask, 0);
    atomic_store(&hb->last_va, 0);
}

void pvcore_host_backend_set_preempt(struct pvcore_host_backend *hb, uint32_t every)
{
    atomic_store(&hb->preempt_every, every);
}
