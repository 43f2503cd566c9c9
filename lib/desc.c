/*
 * Descriptor tables: set_gdt, update_descriptor, and the LDT's frames, mapped on first
 * use and released when the LDT or the address space changes.
 *
 * Every GDT and LDT frame a vCPU uses holds one general and one descriptor-page type
 * reference (the type validated by desc_check.c), recorded in its vcpu_cpu (cpu.h): the
 * type is what keeps the frame from being mapped writable while the processor may load
 * descriptors from it. All of it runs with the vCPU's domain's MMU lock held, where the
 * descriptor types of its frames change, and no guest memory is touched here (the decoder
 * copies set_gdt's frame list in first, hcall_desc.c).
 */
#include "internal/desc.h"
#include "internal/paging.h"

_Static_assert(CPU_GDT_MAX_FRAMES == PVCORE_DESC_GDT_FRAMES, "GDT frames");
_Static_assert(CPU_LDT_MAX_FRAMES == PVCORE_DESC_LDT_FRAMES, "LDT frames");
_Static_assert(CPU_GDT_MAX_FRAMES * DESC_PER_FRAME == PVCORE_FIRST_RESERVED_GDT_ENTRY,
               "the guest's GDT ends where the hypervisor's entries begin");

void desc_state_init(struct vcpu *v)
{
    unsigned i;

    v->cpu.gdt_ents = 0;
    for (i = 0; i < CPU_GDT_MAX_FRAMES; i++) {
        v->cpu.gdt_frames[i] = INVALID_MFN;
    }
    for (i = 0; i < CPU_LDT_MAX_FRAMES; i++) {
        v->cpu.ldt_frames[i] = INVALID_MFN;
    }
}

/* Drops a descriptor-page reference. (frame_put_page_and_type() is the page tables' fast
 * path; the general one serves every validated type.) */
static void desc_put(const struct domain_locked *dl, uint64_t mfn)
{
    frame_put_page_and_type_slow(dl, mfn);
}

/*
 * Locks v's domain for a call and first finishes the devalidation it had queued, as every
 * MMU call does, so that a frame just unhooked from the page tables can take the
 * descriptor type now. -PVCORE_ERESTART (unlocked): the budget ran out first.
 */
static int desc_begin(struct call *call, struct vcpu *v, struct domain_locked *dl)
{
    int rc;

    *dl = domain_lock(call, v->d);
    rc = domain_run_teardown(dl);
    if (rc != 0) {
        domain_unlock(dl);
    }
    return rc;
}

/* ---- GDT ---------------------------------------------------------------------------------- */

int desc_set_gdt(struct call *call, struct vcpu *v, const uint64_t *frames, uint32_t entries)
{
    struct machine *m = v->d->m;
    struct domain_locked dl;
    uint64_t old[CPU_GDT_MAX_FRAMES];
    uint32_t nr = desc_gdt_frames(entries);
    uint32_t old_nr, i;
    int rc;

    if (entries > PVCORE_FIRST_RESERVED_GDT_ENTRY) {
        return -PVCORE_EINVAL;
    }
    rc = desc_begin(call, v, &dl);
    if (rc != 0) {
        return rc;
    }
    /* Prepare: every new frame takes its type (validated) before anything changes. */
    for (i = 0; i < nr; i++) {
        if (frame_get_page_and_type(&dl, frames[i], PGT_SEG_DESC) != 0) {
            while (i-- > 0) {
                desc_put(&dl, frames[i]);
            }
            domain_unlock(&dl);
            return -PVCORE_EINVAL;
        }
    }
    /* Commit. The new references are taken before the old go, so a frame in both stays
     * a descriptor page throughout. */
    old_nr = desc_gdt_frames(v->cpu.gdt_ents);
    memcpy(old, v->cpu.gdt_frames, sizeof(old));
    for (i = 0; i < CPU_GDT_MAX_FRAMES; i++) {
        v->cpu.gdt_frames[i] = i < nr ? frames[i] : INVALID_MFN;
    }
    v->cpu.gdt_ents = entries;
    /* The processor may still use the old frames until the embedder installs the new
     * ones (gdt_changed, before the vCPU runs again); it loads nothing from them while the
     * vCPU is in here. */
    for (i = 0; i < old_nr; i++) {
        desc_put(&dl, old[i]);
    }
    domain_unlock(&dl);
    if (m->ops->gdt_changed != NULL) {
        m->ops->gdt_changed(m->ctx, (struct pvcore_vcpu *)(void *)v);
    }
    return 0;
}

int pvcore_desc_set_gdt(struct pvcore_vcpu *pv, const pvcore_mfn_t *frames, uint32_t entries)
{
    struct vcpu *v = (struct vcpu *)(void *)pv;
    uint64_t raw[CPU_GDT_MAX_FRAMES];
    struct call call;
    uint32_t i;

    if (entries > PVCORE_FIRST_RESERVED_GDT_ENTRY) {
        return -PVCORE_EINVAL;
    }
    for (i = 0; i < desc_gdt_frames(entries); i++) {
        raw[i] = frames[i].v;
    }
    call_init(&call, v->d->m);
    return desc_set_gdt(&call, v, raw, entries);
}

void pvcore_vcpu_gdt(const struct pvcore_vcpu *pv, pvcore_mfn_t mfns[PVCORE_DESC_GDT_FRAMES],
                     uint32_t *entries)
{
    const struct vcpu *v = (const struct vcpu *)(const void *)pv;
    unsigned i;

    if (mfns != NULL) {
        for (i = 0; i < CPU_GDT_MAX_FRAMES; i++) {
            mfns[i] = pvcore_mfn(v->cpu.gdt_frames[i]);
        }
    }
    if (entries != NULL) {
        *entries = v->cpu.gdt_ents;
    }
}

/* ---- update_descriptor ---------------------------------------------------------------------- */

int desc_update(struct call *call, struct vcpu *v, uint64_t maddr, uint64_t desc)
{
    struct domain *d = v->d;
    struct machine *m = d->m;
    uint64_t mfn = maddr >> PVCORE_PAGE_SHIFT;
    struct domain_locked dl;
    uint64_t *slot;
    int rc;

    /* Misaligned, it would straddle two descriptors and forge a third. */
    if ((maddr & 7u) != 0 || !desc_check(domain_is_32(d), &desc)) {
        return -PVCORE_EINVAL;
    }
    rc = desc_begin(call, v, &dl);
    if (rc != 0) {
        return rc;
    }
    if (!frame_get_page(m, mfn, d->domid)) {
        domain_unlock(&dl);
        return -PVCORE_EINVAL;
    }
    slot = &frame_entries(m, mfn)[(maddr & (PVCORE_PAGE_SIZE - 1u)) >> 3];
    /* A descriptor page (only this lock changes that type) takes one more reference of its
     * type; anything else must be able to take the writable type, so never a page table. */
    if ((frame_type(mfn_frame(m, mfn), memory_order_acquire) & PGT_TYPE_MASK) == PGT_SEG_DESC) {
        if (frame_get_page_and_type(&dl, mfn, PGT_SEG_DESC) != 0) {
            rc = -PVCORE_EINVAL;
        } else {
            desc_write(slot, desc);
            desc_put(&dl, mfn);
        }
    } else if (frame_get_writable(m, mfn)) {
        desc_write(slot, desc);
        frame_put_writable_locked(&dl, mfn);
    } else {
        rc = -PVCORE_EINVAL;
    }
    frame_put_page(m, mfn);
    domain_unlock(&dl);
    return rc;
}

int pvcore_desc_update(struct pvcore_vcpu *pv, pvcore_maddr_t maddr, uint64_t desc)
{
    struct vcpu *v = (struct vcpu *)(void *)pv;
    struct call call;

    call_init(&call, v->d->m);
    return desc_update(&call, v, maddr.v, desc);
}

/* ---- LDT ------------------------------------------------------------------------------------ */

int pvcore_desc_ldt_fault(struct pvcore_vcpu *pv, uint64_t offset, pvcore_mfn_t *out)
{
    struct vcpu *v = (struct vcpu *)(void *)pv;
    struct domain *d = v->d;
    struct machine *m = d->m;
    struct call call;
    struct domain_locked dl;
    uint64_t l1, e, mfn = INVALID_MFN;
    unsigned page, slot;
    int rc = 0;

    call_init(&call, m);
    dl = domain_lock(&call, d);
    /* XSA-298: nothing beyond the limit is looked at, let alone given the descriptor type.
     * Checked under the lock, against the LDT as set_ldt (which takes it) left it. */
    if (offset >= (uint64_t)v->ldt_ents * 8u) {
        rc = -PVCORE_EINVAL;
        goto out;
    }
    page = (unsigned)(offset >> PVCORE_PAGE_SHIFT);
    PVCORE_ASSERT(page < CPU_LDT_MAX_FRAMES);
    mfn = v->cpu.ldt_frames[page];
    if (mfn != INVALID_MFN) {
        goto out;
    }
    /* As any MMU call, finish queued devalidation first, within the budget: a frame that
     * was a page table a moment ago may be the one the guest means. */
    (void)domain_run_teardown(&dl);
    /* The kernel's tables, whatever mode the vCPU is in (the LDT is the kernel's), walked
     * as the guest's own access would be: validated tables only, the L1 included. */
    if (paging_find_l1e(&dl, v, v->ldt_base + (offset & ~(uint64_t)(PVCORE_PAGE_SIZE - 1u)), &l1,
                        &slot) != 0 ||
        l1 >= m->nr_frames ||
        atomic_load_explicit(&mfn_frame(m, l1)->owner, memory_order_relaxed) != d->domid ||
        !walk_step(d, l1, frame_type(mfn_frame(m, l1), memory_order_acquire), 1,
                   v->ldt_base + offset, &e)) {
        rc = -PVCORE_EFAULT;
        goto out;
    }
    (void)slot;
    mfn = pte_mfn(e);
    if (frame_get_page_and_type(&dl, mfn, PGT_SEG_DESC) != 0) {
        rc = -PVCORE_EINVAL;
        goto out;
    }
    v->cpu.ldt_frames[page] = mfn;
out:
    domain_unlock(&dl);
    if (rc == 0) {
        *out = pvcore_mfn(mfn);
    }
    return rc;
}

/*
 * The references go before the caller's flush. That is safe: until then the caller holds
 * the domain's lock, without which none of the domain's own vCPUs can map the frame
 * writable (walks only add to existing writable references), and the vCPU whose LDT it
 * was is inside a call, loading no descriptor from it.
 */
bool desc_ldt_release(const struct domain_locked *dl, struct vcpu *v)
{
    bool any = false;
    unsigned i;

    ASSERT_LOCKED(dl);
    for (i = 0; i < CPU_LDT_MAX_FRAMES; i++) {
        uint64_t mfn = v->cpu.ldt_frames[i];

        if (mfn != INVALID_MFN) {
            v->cpu.ldt_frames[i] = INVALID_MFN;
            desc_put(dl, mfn);
            any = true;
        }
    }
    return any;
}

void pvcore_desc_ldt_destroy(struct pvcore_vcpu *pv)
{
    struct vcpu *v = (struct vcpu *)(void *)pv;
    struct call call;
    struct domain_locked dl;

    call_init(&call, v->d->m);
    dl = domain_lock(&call, v->d);
    if (desc_ldt_release(&dl, v)) {
        vcpu_flush_local(v, PVCORE_FLUSH_TLB_ALL, 0);
    }
    domain_unlock(&dl);
}

void desc_vcpu_release(const struct domain_locked *dl, struct vcpu *v)
{
    uint32_t i;

    ASSERT_LOCKED(dl);
    for (i = 0; i < desc_gdt_frames(v->cpu.gdt_ents); i++) {
        desc_put(dl, v->cpu.gdt_frames[i]);
        v->cpu.gdt_frames[i] = INVALID_MFN;
    }
    v->cpu.gdt_ents = 0;
    /* A dying domain's vCPUs no longer run: nothing to flush. */
    (void)desc_ldt_release(dl, v);
}
