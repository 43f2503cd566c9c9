/*
 * Domains and vCPUs: creation, frame assignment and release, I/O permissions, vm_assist,
 * and preemptible destruction.
 *
 * Lock order, the whole of it (outermost first; a lock may be taken while holding only
 * those above it):
 *   1. domain->mmu_lock: a domain's page tables, their types, its teardown list, its I/O
 *      ranges and assists. A call holds at most one domain's, taken through
 *      domain_lock(), which hands out the witness (struct domain_locked) that every
 *      function needing it takes and asserts. Guest memory is never touched with it held
 *      (guestmem.c): copies run before or between the locked steps of a call.
 *   2. domain->gnt.lock: a granting domain's active grant entries and its shared
 *      entries' GTF_reading/GTF_writing bits (grant.c), taken under the mapping domain's
 *      mmu_lock for a map or an unmap, or with no lock for a copy; one at a time.
 *   3. domain->evt.lock: a domain's event-channel ports and VIRQ bindings (evtchn.c);
 *      two of them (an interdomain bind, send or close) only through evt_lock2(), which
 *      takes the lower domid's first. Only atomic bit operations on the shared-info page
 *      and vcpu_info run under it; host hooks (evtchn_kick) are called after it is let go.
 *   4. machine->m2p_lock: the M2P and every domain's P2M (m2p.c).
      (Leaves, never held with another lock and nothing taken under them, no hook
      called under them: vcpu->cpu.runstate_lock, vcpu->timer.lock and
      domain->sched.wc_lock (time.c). A vCPU's wait state (sched_wait.c) is lock-free.)
 *   5. machine->domtab_lock: the domain table's slots; held briefly, with nothing
 *      taken under it.
 * Frame counts (the count word) change only by atomic operations, so a domain may take
 * or drop references on another domain's frames (foreign mappings) without its lock.
 */
#include <pvcore/domain.h>

#include "internal/emulate.h"
#include "internal/grant.h"
#include "internal/held.h"
#include "internal/desc.h"
#include "internal/m2p.h"
#include "internal/pagetype.h"
#include "internal/paging.h"
#include "internal/vcpu.h"

static struct domain *D(struct pvcore_domain *d)
{
    return (struct domain *)(void *)d;
}

size_t pvcore_domain_size(uint32_t nr_vcpus)
{
    if (nr_vcpus == 0 || nr_vcpus > PVCORE_MAX_VCPUS) {
        return 0;
    }
    return sizeof(struct domain) + (size_t)nr_vcpus * sizeof(struct vcpu);
}

int pvcore_domain_create(struct pvcore_machine *pm, void *mem, size_t len,
                         const struct pvcore_domain_config *cfg, struct pvcore_domain **out)
{
    struct machine *m = (struct machine *)(void *)pm;
    struct domain *d = mem;
    size_t need;
    uint32_t i;
    int rc = 0;

    if (m == NULL || mem == NULL || cfg == NULL || out == NULL || ((uintptr_t)mem & 7u) != 0) {
        return -PVCORE_EINVAL;
    }
    need = pvcore_domain_size(cfg->nr_vcpus);
    if (need == 0 || len < need || cfg->domid >= m->max_domains ||
        (cfg->flags & ~(uint32_t)(PVCORE_DOMAIN_PRIVILEGED | PVCORE_DOMAIN_GUEST_32)) != 0) {
        return -PVCORE_EINVAL;
    }
    memset(d, 0, need);
    d->m = m;
    d->domid = cfg->domid;
    d->nr_vcpus = cfg->nr_vcpus;
    d->flags = cfg->flags;
    d->fmt = domain_is_32(d) ? &pt_format_pae : &pt_format_64;
    d->max_pages = cfg->max_pages;
    atomic_init(&d->tot_pages, 0);
    atomic_init(&d->gnt.nr, 0);
    spin_init(&d->mmu_lock);
    spin_init(&d->gnt.lock);
    d->gnt.version = 1;
    evtchn_domain_init(&d->evt);
    sched_domain_init(&d->sched);
    for (i = 0; i < d->nr_vcpus; i++) {
        d->vcpus[i].d = d;
        d->vcpus[i].id = i;
        d->vcpus[i].guest_table = INVALID_MFN;
        d->vcpus[i].guest_table_user = INVALID_MFN;
        cpu_state_init(&d->vcpus[i].cpu);
        sched_vcpu_init(&d->vcpus[i].wait, &d->vcpus[i].timer);
        emulate_state_init(&d->vcpus[i].cpu);
        vcpu_op_state_init(&d->vcpus[i]);
    }
    d->shared_info_mfn = INVALID_MFN;
    spin_lock(&m->domtab_lock);
    if (atomic_load_explicit(&m->domtab[cfg->domid], memory_order_relaxed) != NULL) {
        rc = -PVCORE_EEXIST;
    } else {
        /* release: the initialised domain is visible to whoever looks it up. */
        atomic_store_explicit(&m->domtab[cfg->domid], d, memory_order_release);
    }
    spin_unlock(&m->domtab_lock);
    if (rc == 0) {
        *out = (struct pvcore_domain *)(void *)d;
    }
    return rc;
}

struct pvcore_domain *pvcore_domain_lookup(struct pvcore_machine *pm, uint16_t domid)
{
    struct machine *m = (struct machine *)(void *)pm;
    struct domain *d;

    if (m == NULL || domid >= m->max_domains) {
        return NULL;
    }
    d = atomic_load_explicit(&m->domtab[domid], memory_order_acquire);
    if (d == NULL || atomic_load_explicit(&d->dying, memory_order_acquire)) {
        return NULL;
    }
    return (struct pvcore_domain *)(void *)d;
}

uint16_t pvcore_domain_id(const struct pvcore_domain *pd)
{
    return ((const struct domain *)(const void *)pd)->domid;
}

int pvcore_domain_is_32bit(const struct pvcore_domain *pd)
{
    return domain_is_32((const struct domain *)(const void *)pd) ? 1 : 0;
}

uint64_t pvcore_domain_tot_pages(const struct pvcore_domain *pd)
{
    const struct domain *d = (const struct domain *)(const void *)pd;
    return atomic_load_explicit(&d->tot_pages, memory_order_acquire);
}

/* ---- frames --------------------------------------------------------------------------------- */

int pvcore_domain_assign(struct pvcore_domain *pd, pvcore_mfn_t frame, pvcore_gfn_t guest_frame)
{
    struct domain *d = D(pd);
    uint64_t mfn = frame.v, gfn = guest_frame.v;
    struct machine *m = d->m;
    struct frame *f;
    uint32_t c = FC_RAM;
    int rc;

    if (mfn >= m->nr_frames || !mfn_is_ram(m, mfn)) {
        return -PVCORE_EINVAL;
    }
    if (atomic_load_explicit(&d->dying, memory_order_acquire)) {
        return -PVCORE_ESRCH;
    }
    f = mfn_frame(m, mfn);
    if (atomic_load_explicit(&f->owner, memory_order_acquire) != DOMID_FREE) {
        return -PVCORE_EBUSY;
    }
    rc = domain_reserve(d, 1);
    if (rc != 0) {
        return rc;
    }
    /*
     * Claim the free frame with one reference before publishing the owner: a concurrent
     * get_page() then sees a live frame whose owner is not (yet) the one it asked for and
     * backs off, instead of racing the initialisation.
     */
    if (!frame_count_cas(f, &c, FC_RAM | 1u)) {
        domain_unreserve(d, 1);
        return -PVCORE_EBUSY;
    }
    frame_flush_stale_free(m, mfn);
    frame_reset_state(m, mfn);
    atomic_store_explicit(&f->owner, d->domid, memory_order_release);
    frame_count_fetch_or(f, FC_ALLOCATED, memory_order_release);
    m2p_set(d, mfn, gfn);
    return 0;
}

int pvcore_domain_release(struct pvcore_domain *pd, pvcore_mfn_t frame)
{
    struct domain *d = D(pd);
    uint64_t mfn = frame.v;
    struct machine *m = d->m;
    struct frame *f;
    struct call call;
    struct domain_locked locked;
    const struct domain_locked *dl = &locked;
    int rc = 0;

    if (!frame_get_page(m, mfn, d->domid)) {
        return -PVCORE_EINVAL;
    }
    f = mfn_frame(m, mfn);
    call_init(&call, m);
    locked = domain_lock(&call, d);
    if (frame_type(f, memory_order_acquire) & PGT_PINNED) {
        /* XSA-252: no implicit unpin, which would be unbounded work here. */
        rc = -PVCORE_EBUSY;
    } else {
        if (!frame_put_alloc_ref(m, mfn)) {
            rc = -PVCORE_EINVAL;
        }
    }
    domain_unlock(dl);
    frame_put_page(m, mfn);
    return rc;
}

int pvcore_domain_iomem_permit(struct pvcore_domain *pd, pvcore_mfn_t first_mfn,
                               pvcore_mfn_t last_mfn, int allow)
{
    struct domain *d = D(pd);
    uint64_t first = first_mfn.v, last = last_mfn.v;
    struct call call;
    struct domain_locked locked;
    const struct domain_locked *dl = &locked;
    int rc;

    if (first > last) {
        return -PVCORE_EINVAL;
    }
    call_init(&call, d->m);
    locked = domain_lock(&call, d);
    rc = io_range_permit(dl, d->iomem, &d->nr_iomem, PVCORE_MAX_IOMEM_RANGES, first, last, allow);
    domain_unlock(dl);
    return rc;
}

int pvcore_domain_vm_assist(struct pvcore_domain *pd, uint32_t cmd, uint32_t type)
{
    struct domain *d = D(pd);
    struct call call;
    struct domain_locked locked;
    const struct domain_locked *dl = &locked;
    uint32_t bit;

    if (cmd != PVCORE_VMASST_CMD_enable && cmd != PVCORE_VMASST_CMD_disable) {
        return -PVCORE_EINVAL;
    }
    switch (type) {
    case PVCORE_VMASST_TYPE_pae_extended_cr3:
        /* Accepted from 64-bit guests too, as Xen does (Linux asks for it). */
        bit = type;
        break;
    case PVCORE_VMASST_TYPE_m2p_strict:
        if (domain_is_32(d)) {
            return -PVCORE_EINVAL;
        }
        bit = VMASST_M2P_STRICT_BIT;
        break;
    case PVCORE_VMASST_TYPE_4gb_segments:
    case PVCORE_VMASST_TYPE_4gb_segments_notify:
    case PVCORE_VMASST_TYPE_writable_pagetables:
    case PVCORE_VMASST_TYPE_architectural_iopl: /* read by the emulator's IOPL check */
        bit = type;
        break;
    default:
        return -PVCORE_EINVAL;
    }
    call_init(&call, d->m);
    locked = domain_lock(&call, d);
    if (cmd == PVCORE_VMASST_CMD_enable) {
        d->vmassist |= 1u << bit;
    } else {
        d->vmassist &= ~(1u << bit);
    }
    domain_unlock(dl);
    return 0;
}

/* ---- vCPUs ---------------------------------------------------------------------------------- */

struct pvcore_vcpu *pvcore_domain_vcpu(struct pvcore_domain *pd, uint32_t id)
{
    struct domain *d = D(pd);

    if (id >= d->nr_vcpus) {
        return NULL;
    }
    return (struct pvcore_vcpu *)(void *)&d->vcpus[id];
}

struct pvcore_domain *pvcore_vcpu_domain(struct pvcore_vcpu *pv)
{
    return (struct pvcore_domain *)(void *)((struct vcpu *)(void *)pv)->d;
}

void pvcore_vcpu_base(const struct pvcore_vcpu *pv, pvcore_mfn_t *kernel, pvcore_mfn_t *user)
{
    const struct vcpu *v = (const struct vcpu *)(const void *)pv;

    if (kernel != NULL) {
        *kernel = pvcore_mfn(v->guest_table);
    }
    if (user != NULL) {
        *user = pvcore_mfn(v->guest_table_user);
    }
}

void pvcore_vcpu_ldt(const struct pvcore_vcpu *pv, uint64_t *base, uint32_t *ents)
{
    const struct vcpu *v = (const struct vcpu *)(const void *)pv;

    if (base != NULL) {
        *base = v->ldt_base;
    }
    if (ents != NULL) {
        *ents = v->ldt_ents;
    }
}

/* ---- destruction ---------------------------------------------------------------------------- */

enum { DESTROY_VCPUS = 0, DESTROY_FRAMES, DESTROY_WAIT, DESTROY_DONE };

/* Releases what one owned frame holds on behalf of the domain itself. */
static void destroy_frame(const struct domain_locked *dl, uint64_t mfn)
{
    struct machine *m = dl->d->m;
    struct frame *f = mfn_frame(m, mfn);
    uint32_t t = frame_type(f, memory_order_acquire);

    if (t & PGT_PINNED) {
        frame_type_fetch_and(f, ~PGT_PINNED, memory_order_acq_rel);
        frame_put_page_and_type(dl, mfn);
        t = frame_type(f, memory_order_acquire);
    }
    if (t & PGT_PARTIAL) {
        /* Abandoned, preempted validation: its references go to the teardown list. */
        frame_type_fetch_and(f, ~PGT_PARTIAL, memory_order_relaxed);
        frame_type_fetch_or(f, PGT_TEARDOWN, memory_order_release);
        teardown_push(dl, mfn);
    }
    (void)frame_put_alloc_ref(m, mfn);
}

/* One step of the pause count, up or down, refused past its ends. */
static int pause_step(struct pvcore_domain *pd, bool up)
{
    struct domain *d = D(pd);
    uint32_t n;

    if (d == NULL) {
        return -PVCORE_EINVAL;
    }
    n = atomic_load_explicit(&d->pause_count, memory_order_relaxed);
    do {
        if (n == (up ? UINT32_MAX : 0u)) {
            return -PVCORE_EINVAL;
        }
    } while (!atomic_compare_exchange_weak_explicit(&d->pause_count, &n, up ? n + 1u : n - 1u,
                                                    memory_order_acq_rel, memory_order_relaxed));
    return 0;
}

int pvcore_domain_pause(struct pvcore_domain *pd)
{
    return pause_step(pd, true);
}

int pvcore_domain_unpause(struct pvcore_domain *pd)
{
    return pause_step(pd, false);
}

int pvcore_domain_destroy(struct pvcore_domain *pd)
{
    struct domain *d = D(pd);
    struct machine *m = d->m;
    struct call call;
    struct domain_locked locked;
    const struct domain_locked *dl = &locked;
    int rc = 0;

    if (d->destroy_phase == DESTROY_DONE) {
        return 0;
    }
    atomic_store_explicit(&d->dying, true, memory_order_seq_cst);
    /* Pairs with frame_give(): a frame given from now on either is seen by the scan below
     * or sees `dying` and drops its allocation reference itself; and with
     * domain_reserve(): a reservation either is seen in tot_pages at the end, or sees
     * `dying` and is taken back. */
    atomic_thread_fence(memory_order_seq_cst);
    call_init(&call, m);
    if (d->destroy_phase == DESTROY_VCPUS) {
        /* Event channels first, with no lock held (they take the peers' event-channel
         * locks): every peer's end is unbound before the domain leaves the table. */
        rc = evtchn_domain_destroy(&call, d);
        if (rc != 0) {
            return rc;
        }
    }
    locked = domain_lock(&call, d);
    if (d->destroy_phase == DESTROY_VCPUS) {
        /* The grant mappings it holds (preemptible), before its own table goes. */
        rc = grant_domain_release(dl);
        if (rc != 0) {
            domain_unlock(dl);
            return rc;
        }
    }
    if (d->destroy_phase == DESTROY_VCPUS) {
        uint32_t i;
        for (i = 0; i < d->nr_vcpus; i++) {
            struct vcpu *v = &d->vcpus[i];
            if (v->guest_table != INVALID_MFN) {
                frame_put_page_and_type(dl, v->guest_table);
                v->guest_table = INVALID_MFN;
            }
            if (v->guest_table_user != INVALID_MFN) {
                frame_put_page_and_type(dl, v->guest_table_user);
                v->guest_table_user = INVALID_MFN;
            }
            desc_vcpu_release(dl, v);
            vcpu_info_release(dl, v);
            v->ldt_base = 0;
            v->ldt_ents = 0;
        }
        held_release_all(dl);
        d->destroy_phase = DESTROY_FRAMES;
        d->destroy_cursor = 0;
    }
    if (d->destroy_phase == DESTROY_FRAMES) {
        bool progress = false;
        for (;;) {
            rc = domain_run_teardown(dl);
            if (rc != 0) {
                break;
            }
            if (d->destroy_cursor >= m->nr_frames) {
                d->destroy_phase = DESTROY_WAIT;
                break;
            }
            /* Every call makes progress, however eager the host is to preempt. */
            if (progress && call_should_preempt(&call)) {
                rc = -PVCORE_ERESTART;
                break;
            }
            progress = true;
            call_charge(&call, 1);
            /* With a general reference held (as decrease_reservation's remove_frame()), so
             * that the owner cannot change under the scan. A frame_give() to this domain
             * that runs meanwhile publishes the owner before the count that makes the
             * frame live: such a frame holds no allocation reference yet (its count word
             * is FC_STOLEN, which get_page() refuses), and frame_give() drops the reference
             * itself once it sees `dying` (the fence above pairs with its own). Dropping
             * it here instead made the count underflow (test_destroy_meets_frame_give);
             * and a frame that frame_give() freed meanwhile may already be another
             * domain's, whose allocation reference is not ours to drop. The owner is
             * looked at first, so that other domains' frames get no passing reference
             * (one would make a concurrent transfer of theirs fail: frame_steal() wants
             * the allocation reference alone). */
            if (atomic_load_explicit(&mfn_frame(m, d->destroy_cursor)->owner,
                                     memory_order_acquire) == d->domid &&
                frame_get_page(m, d->destroy_cursor, d->domid)) {
                destroy_frame(dl, d->destroy_cursor);
                frame_put_page(m, d->destroy_cursor);
            }
            d->destroy_cursor++;
        }
    }
    if (d->destroy_phase == DESTROY_WAIT && rc == 0) {
        /* A guest walk (guestmem.c) that held the last reference to a table queues its
         * devalidation here, even once the scan is over. */
        rc = domain_run_teardown(dl);
    }
    domain_unlock(dl);
    if (rc != 0) {
        return rc;
    }
    if (atomic_load_explicit(&d->tot_pages, memory_order_acquire) != 0) {
        /* Other domains still map some of its frames. */
        return -PVCORE_EBUSY;
    }
    spin_lock(&m->domtab_lock);
    atomic_store_explicit(&m->domtab[d->domid], NULL, memory_order_release);
    spin_unlock(&m->domtab_lock);
    d->destroy_phase = DESTROY_DONE;
    return 0;
}
