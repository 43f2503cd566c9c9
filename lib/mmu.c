/*
 * The MMU hypercalls: mmu_update, mmuext_op and update_va_mapping.
 *
 * Each call locks the domain whose tables it changes, finishes any devalidation that
 * domain has queued, then handles its requests in order, stopping at the first failure
 * or when its work budget runs out (-ERESTART, with the count done reported), and
 * flushes at most once at the end where the ABI allows batching.
 */
#include <pvcore/mmu.h>

#include "internal/paging.h"

/* ---- the foreign-domain argument -------------------------------------------------------------- */

/* Xen's get_pg_owner: DOMID_SELF, DOMID_IO, DOMID_XEN or a live domain; naming oneself
 * explicitly is refused. Privilege is checked separately (per request, as Xen's XSM). */
static int get_pg_owner(struct domain *cur, uint16_t id, struct pg_owner *pg)
{
    struct machine *m = cur->m;

    if (id == PVCORE_DOMID_SELF) {
        pg->domid = cur->domid;
        pg->d = cur;
        return 0;
    }
    if (id == cur->domid) {
        return -PVCORE_ESRCH;
    }
    if (id == PVCORE_DOMID_IO || id == PVCORE_DOMID_XEN) {
        pg->domid = id;
        pg->d = NULL;
        return 0;
    }
    pg->d = (struct domain *)pvcore_domain_lookup((struct pvcore_machine *)m, id);
    if (pg->d == NULL) {
        return -PVCORE_ESRCH;
    }
    pg->domid = id;
    return 0;
}

/* May `cur` act on `pg`'s frames? Itself, I/O memory, or anything if privileged. */
static bool pg_owner_permitted(const struct domain *cur, const struct pg_owner *pg)
{
    return pg->d == cur || pg->domid == PVCORE_DOMID_IO || domain_privileged(cur);
}

static bool addr_ok(const struct domain *d, uint64_t va)
{
    return paging_va_is_guest(d, va);
}

static void flush_domain(struct domain *d, uint8_t kind, uint64_t va)
{
    struct pvcore_flush f;

    memset(&f, 0, sizeof(f));
    f.domid = d->domid;
    f.kind = kind;
    f.scope = PVCORE_FLUSH_SCOPE_DOMAIN;
    f.va = va;
    machine_flush(d->m, &f);
}

static void flush_local(struct vcpu *v, uint8_t kind, uint64_t va)
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

/* Reads a guest vCPU bitmap (words of the guest's size) and flushes those vCPUs. */
static int flush_mask(struct vcpu *v, uint64_t bitmap_gva, uint8_t kind, uint64_t va)
{
    struct domain *d = v->d;
    struct machine *m = d->m;
    unsigned word = domain_is_32(d) ? 4u : 8u;
    unsigned bytes = ((d->nr_vcpus + word * 8u - 1u) / (word * 8u)) * word;
    uint8_t buf[8];
    uint64_t mask = 0;
    struct pvcore_flush f;
    unsigned i;
    int rc;

    if (m->ops->copy_from_guest == NULL) {
        return -PVCORE_EFAULT;
    }
    memset(buf, 0, sizeof(buf));
    rc = m->ops->copy_from_guest(m->ctx, (struct pvcore_vcpu *)(void *)v, buf, bitmap_gva, bytes);
    if (rc != 0) {
        return -PVCORE_EFAULT;
    }
    for (i = 0; i < 8; i++) {
        mask |= (uint64_t)buf[i] << (8 * i);
    }
    if (d->nr_vcpus < 64) {
        mask &= (1ull << d->nr_vcpus) - 1u;
    }
    memset(&f, 0, sizeof(f));
    f.domid = d->domid;
    f.kind = kind;
    f.scope = PVCORE_FLUSH_SCOPE_MASK;
    f.vcpu = v->id;
    f.va = va;
    f.vcpu_mask = mask;
    if (mask != 0) {
        machine_flush(m, &f);
    }
    return 0;
}

/* Starts a hypercall's work on domain d: lock, budget, and finish queued teardown. */
static int mmu_begin(struct domain *d)
{
    int rc;

    spin_lock(&d->mmu_lock);
    d->budget = d->m->work_budget;
    rc = domain_run_teardown(d);
    if (rc != 0) {
        spin_unlock(&d->mmu_lock);
    }
    return rc;
}

static void mmu_end(struct domain *d)
{
    /* Finish what this call queued while the budget lasts; the rest waits for the next
     * call on this domain, which finishes it before doing anything else. */
    (void)domain_run_teardown(d);
    spin_unlock(&d->mmu_lock);
}

/*
 * Between requests of a batch: preempt, or finish teardown the previous one queued.
 * Each request costs one unit of work, so a long batch is bounded too. The host's
 * preempt_check hook is an indirect call, so it is asked only every MMU_PREEMPT_STRIDE
 * requests (a request's own long work, validating a table, asks it as it goes).
 */
#define MMU_PREEMPT_STRIDE 16u

static inline int mmu_between(struct domain *d, uint32_t i)
{
    if (PVCORE_UNLIKELY(d->budget == 0 || i % MMU_PREEMPT_STRIDE == 0) && i > 0 &&
        (d->budget == 0 || domain_should_preempt(d))) {
        return -PVCORE_ERESTART;
    }
    domain_charge(d, 1);
    return PVCORE_UNLIKELY(d->teardown_head != 0) ? domain_run_teardown(d) : 0;
}

/* ---- mmu_update ----------------------------------------------------------------------------- */

/*
 * The frame a batch is writing into, with a general reference held across requests: a
 * batch usually writes many entries of one table, and the reference (taken once, not per
 * request) is what keeps the frame's owner from changing under us. Its type is re-read
 * for every request, since an earlier request may have devalidated it.
 */
struct held_frame {
    uint64_t mfn; /* INVALID_MFN: none */
};

static void held_release(struct machine *m, struct held_frame *h)
{
    if (h->mfn != INVALID_MFN) {
        frame_put_page(m, h->mfn);
        h->mfn = INVALID_MFN;
    }
}

static bool held_get(struct machine *m, struct held_frame *h, uint64_t mfn, uint16_t owner)
{
    if (PVCORE_LIKELY(h->mfn == mfn)) {
        return true;
    }
    held_release(m, h);
    if (!frame_get_page(m, mfn, owner)) {
        return false;
    }
    h->mfn = mfn;
    return true;
}

/* One normal/preserve-A/D request; the caller checked the permissions for the batch. */
static int mmu_normal_update(struct domain *pt_owner, const struct pg_owner *pg, uint64_t ptr,
                             uint64_t val, bool preserve_ad, bool *changed_upper,
                             struct held_frame *held)
{
    struct machine *m = pt_owner->m;
    uint64_t mfn = ptr >> PVCORE_PAGE_SHIFT;
    unsigned slot = (unsigned)(ptr & (PVCORE_PAGE_SIZE - 1u)) >> 3;

    if (!held_get(m, held, mfn, pt_owner->domid)) {
        return -PVCORE_EINVAL;
    }
    return paging_update_entry(pt_owner, pg, mfn, slot, val, preserve_ad, changed_upper);
}

static int mmu_machphys_update(struct domain *cur, struct domain *pt_owner,
                               const struct pg_owner *pg, uint64_t ptr, uint64_t val)
{
    struct machine *m = cur->m;
    uint64_t mfn = ptr >> PVCORE_PAGE_SHIFT;

    if (pt_owner != cur) {
        return -PVCORE_EPERM;
    }
    if (!pg_owner_permitted(cur, pg)) {
        return -PVCORE_EPERM;
    }
    if (pg->d == NULL) {
        /* DOMID_IO and DOMID_XEN frames have no guest frame numbers. */
        return -PVCORE_EINVAL;
    }
    if (!frame_get_page(m, mfn, pg->domid)) {
        return -PVCORE_EINVAL;
    }
    /* The value is the guest's business (XSA-251): any value is stored, none trusted. */
    domain_set_m2p(pg->d, mfn, val);
    frame_put_page(m, mfn);
    return 0;
}

int pvcore_mmu_update(struct pvcore_vcpu *pv, const struct pvcore_mmu_update *reqs,
                      uint32_t count, uint32_t *done, uint32_t foreigndom)
{
    struct mmu_source src = { reqs, NULL, NULL };

    return mmu_update_source(pv, &src, count, done, foreigndom);
}

int mmu_update_source(struct pvcore_vcpu *pv, const struct mmu_source *src, uint32_t count,
                      uint32_t *done, uint32_t foreigndom)
{
    struct vcpu *v = (struct vcpu *)(void *)pv;
    struct domain *cur = v->d;
    struct domain *pt_owner = cur;
    struct pg_owner pg;
    struct held_frame held = { INVALID_MFN };
    uint32_t pfd = foreigndom >> 16;
    bool changed_upper = false;
    bool normal_ok;
    uint32_t i;
    int rc;

    if (pfd != 0) {
        if (pfd - 1u != cur->domid) {
            pt_owner = (struct domain *)pvcore_domain_lookup((struct pvcore_machine *)cur->m,
                                                             (uint16_t)(pfd - 1u));
            /* As Xen: no such domain (reserved ids included) is -ESRCH. */
            if (pt_owner == NULL || pfd - 1u >= PVCORE_DOMID_FIRST_RESERVED) {
                return -PVCORE_ESRCH;
            }
        }
    }
    rc = get_pg_owner(cur, (uint16_t)(foreigndom & 0xFFFFu), &pg);
    if (rc != 0) {
        return rc;
    }
    if (count != 0 && src->array == NULL && src->read == NULL) {
        return -PVCORE_EFAULT;
    }
    normal_ok = pg_owner_permitted(cur, &pg) && (pt_owner == cur || domain_privileged(cur));
    rc = mmu_begin(pt_owner);
    if (rc != 0) {
        return rc;
    }
    for (i = 0; i < count; i++) {
        struct pvcore_mmu_update req;
        uint64_t ptr, val;

        rc = mmu_between(pt_owner, i);
        if (PVCORE_UNLIKELY(rc != 0)) {
            break;
        }
        if (PVCORE_LIKELY(src->read == NULL)) {
            /* Field by field, not a struct copy: a copy goes through the stack as one
             * 16-byte store read back as two 8-byte loads, a forwarding case some CPUs
             * handle slowly, on the path of every request. */
            const struct pvcore_mmu_update *r = &((const struct pvcore_mmu_update *)src->array)[i];
            ptr = r->ptr;
            val = r->val;
        } else if ((rc = src->read(src->ctx, i, &req)) == 0) {
            ptr = req.ptr;
            val = req.val;
        } else {
            break;
        }
        switch (ptr & PVCORE_MMU_UPDATE_CMD_MASK) {
        case PVCORE_MMU_NORMAL_PT_UPDATE:
        case PVCORE_MMU_PT_UPDATE_NO_TRANSLATE:
        case PVCORE_MMU_PT_UPDATE_PRESERVE_AD:
            /* As Xen's per-request XSM check: an unprivileged caller may name only itself
             * (or I/O memory) as the data owner and only itself as the table owner. */
            if (PVCORE_UNLIKELY(!normal_ok)) {
                rc = -PVCORE_EPERM;
                break;
            }
            rc = mmu_normal_update(pt_owner, &pg, ptr & ~(uint64_t)PVCORE_MMU_UPDATE_CMD_MASK,
                                   val,
                                   (ptr & PVCORE_MMU_UPDATE_CMD_MASK) ==
                                       PVCORE_MMU_PT_UPDATE_PRESERVE_AD,
                                   &changed_upper, &held);
            break;
        case PVCORE_MMU_MACHPHYS_UPDATE:
            rc = mmu_machphys_update(cur, pt_owner, &pg, ptr, val);
            break;
        default:
            rc = -PVCORE_ENOSYS;
            break;
        }
        if (PVCORE_UNLIKELY(rc != 0)) {
            break;
        }
    }
    held_release(cur->m, &held);
    if (done != NULL) {
        *done += i;
    }
    if (changed_upper) {
        /* XSA-286: no vCPU may keep using translations through a replaced upper entry. */
        flush_domain(pt_owner, PVCORE_FLUSH_TLB_ALL, 0);
    }
    mmu_end(pt_owner);
    return rc;
}

/* ---- mmuext_op ------------------------------------------------------------------------------ */

static int pin_table(struct domain *cur, const struct pg_owner *pg, uint64_t mfn, unsigned level)
{
    struct domain *d = pg->d;
    struct frame *f;
    uint32_t old;
    int rc;

    if (d == NULL) {
        return -PVCORE_EINVAL;
    }
    if (domain_is_32(d) && level == 4) {
        /* 32-bit guests have no L4 of their own: accepted and ignored, as Xen does. */
        return 0;
    }
    (void)cur;
    rc = frame_get_page_and_type(d, mfn, d->domid, pgt_level_type(level));
    if (rc != 0) {
        return rc;
    }
    f = mfn_frame(d->m, mfn);
    old = frame_type_fetch_or(f, PGT_PINNED, memory_order_acq_rel);
    if (old & PGT_PINNED) {
        frame_put_page_and_type(d, mfn);
        return -PVCORE_EINVAL;
    }
    return 0;
}

static int unpin_table(const struct pg_owner *pg, uint64_t mfn)
{
    struct domain *d = pg->d;
    struct machine *m;
    uint32_t old;

    if (d == NULL) {
        return -PVCORE_EINVAL;
    }
    m = d->m;
    if (!frame_get_page(m, mfn, d->domid)) {
        return -PVCORE_EINVAL;
    }
    old = frame_type_fetch_and(mfn_frame(m, mfn), ~PGT_PINNED, memory_order_acq_rel);
    if (!(old & PGT_PINNED)) {
        frame_put_page(m, mfn);
        return -PVCORE_EINVAL;
    }
    /* Drop the pin's references; the last one queues the tree's devalidation. */
    frame_put_page_and_type(d, mfn);
    frame_put_page(m, mfn);
    return 0;
}

static void base_changed(struct vcpu *v)
{
    struct machine *m = v->d->m;

    if (m->ops->base_changed != NULL) {
        m->ops->base_changed(m->ctx, (struct pvcore_vcpu *)(void *)v, v->guest_table,
                             v->guest_table_user);
    }
}

static int new_baseptr(struct vcpu *v, uint64_t mfn, bool user)
{
    struct domain *d = v->d;
    unsigned root = domain_format(d)->levels;
    uint64_t *slotp = user ? &v->guest_table_user : &v->guest_table;
    uint64_t old = *slotp;
    int rc;

    if (user && domain_is_32(d)) {
        return -PVCORE_EINVAL;
    }
    if (user && mfn == 0) {
        *slotp = INVALID_MFN;
    } else {
        if (!user && mfn == old && old != INVALID_MFN) {
            /* Same root: only a reload (a full flush of this vCPU's TLB). */
            base_changed(v);
            return 0;
        }
        rc = frame_get_page_and_type(d, mfn, d->domid, pgt_level_type(root));
        if (rc != 0) {
            return rc;
        }
        *slotp = mfn;
    }
    base_changed(v);
    if (old != INVALID_MFN) {
        frame_put_page_and_type(d, old);
    }
    return 0;
}

static int clear_or_copy(const struct pg_owner *pg, uint64_t dst, uint64_t src, bool copy)
{
    struct domain *d = pg->d;
    struct machine *m;
    int rc = 0;

    if (d == NULL) {
        return -PVCORE_EINVAL;
    }
    m = d->m;
    if (copy && !frame_get_page(m, src, d->domid)) {
        return -PVCORE_EINVAL;
    }
    if (!frame_get_page(m, dst, d->domid)) {
        rc = -PVCORE_EINVAL;
    } else {
        /* Page tables and descriptor pages cannot take this type: they are not written. */
        if (!frame_get_writable(m, dst)) {
            rc = -PVCORE_EINVAL;
        } else {
            if (copy) {
                memcpy(frame_entries(m, dst), frame_entries(m, src), PVCORE_PAGE_SIZE);
            } else {
                memset(frame_entries(m, dst), 0, PVCORE_PAGE_SIZE);
            }
            frame_put_writable(m, dst, true);
        }
        frame_put_page(m, dst);
    }
    if (copy) {
        frame_put_page(m, src);
    }
    return rc;
}

static int set_ldt(struct vcpu *v, uint64_t base, uint64_t ents)
{
    struct domain *d = v->d;

    if (ents > 8192 ||
        (ents != 0 && ((base & (PVCORE_PAGE_SIZE - 1u)) != 0 || !addr_ok(d, base) ||
                       !addr_ok(d, base + ents * 8u - 1u)))) {
        return -PVCORE_EINVAL;
    }
    if (v->ldt_base != base || v->ldt_ents != ents) {
        v->ldt_base = base;
        v->ldt_ents = (uint32_t)ents;
        flush_local(v, PVCORE_FLUSH_TLB_ALL, 0);
    }
    return 0;
}

static int mmuext_one(struct vcpu *v, const struct pg_owner *pg, const struct pvcore_mmuext_req *op)
{
    struct domain *cur = v->d;
    bool self = pg->d == cur;

    switch (op->cmd) {
    case PVCORE_MMUEXT_PIN_L1_TABLE:
    case PVCORE_MMUEXT_PIN_L2_TABLE:
    case PVCORE_MMUEXT_PIN_L3_TABLE:
    case PVCORE_MMUEXT_PIN_L4_TABLE:
        return pin_table(cur, pg, op->arg1, op->cmd - PVCORE_MMUEXT_PIN_L1_TABLE + 1u);
    case PVCORE_MMUEXT_UNPIN_TABLE:
        return unpin_table(pg, op->arg1);
    case PVCORE_MMUEXT_NEW_BASEPTR:
        return self ? new_baseptr(v, op->arg1, false) : -PVCORE_EPERM;
    case PVCORE_MMUEXT_NEW_USER_BASEPTR:
        return self ? new_baseptr(v, op->arg1, true) : -PVCORE_EPERM;
    case PVCORE_MMUEXT_TLB_FLUSH_LOCAL:
        if (!self) {
            return -PVCORE_EPERM;
        }
        flush_local(v, PVCORE_FLUSH_TLB_ALL, 0);
        return 0;
    case PVCORE_MMUEXT_INVLPG_LOCAL:
        if (!self) {
            return -PVCORE_EPERM;
        }
        /* XSA-279: a non-canonical or hypervisor address is silently ignored. */
        if (addr_ok(cur, op->arg1)) {
            flush_local(v, PVCORE_FLUSH_TLB_VA, op->arg1);
        }
        return 0;
    case PVCORE_MMUEXT_TLB_FLUSH_MULTI:
        if (!self) {
            return -PVCORE_EPERM;
        }
        return flush_mask(v, op->arg2, PVCORE_FLUSH_TLB_ALL, 0) != 0 ? -PVCORE_EINVAL : 0;
    case PVCORE_MMUEXT_INVLPG_MULTI:
        if (!self) {
            return -PVCORE_EPERM;
        }
        if (!addr_ok(cur, op->arg1)) {
            return 0;
        }
        return flush_mask(v, op->arg2, PVCORE_FLUSH_TLB_VA, op->arg1) != 0 ? -PVCORE_EINVAL : 0;
    case PVCORE_MMUEXT_TLB_FLUSH_ALL:
        if (!self) {
            return -PVCORE_EPERM;
        }
        flush_domain(cur, PVCORE_FLUSH_TLB_ALL, 0);
        return 0;
    case PVCORE_MMUEXT_INVLPG_ALL:
        if (!self) {
            return -PVCORE_EPERM;
        }
        if (addr_ok(cur, op->arg1)) {
            flush_domain(cur, PVCORE_FLUSH_TLB_VA, op->arg1);
        }
        return 0;
    case PVCORE_MMUEXT_FLUSH_CACHE:
    case PVCORE_MMUEXT_FLUSH_CACHE_GLOBAL:
        if (!self) {
            return -PVCORE_EPERM;
        }
        if (cur->nr_iomem == 0) {
            return -PVCORE_EACCES;
        }
        if (cur->m->ops->flush_cache != NULL) {
            cur->m->ops->flush_cache(cur->m->ctx, cur->domid,
                                     op->cmd == PVCORE_MMUEXT_FLUSH_CACHE_GLOBAL);
        }
        return 0;
    case PVCORE_MMUEXT_SET_LDT:
        return self ? set_ldt(v, op->arg1, op->arg2 & 0xFFFFFFFFu) : -PVCORE_EPERM;
    case PVCORE_MMUEXT_CLEAR_PAGE:
        return clear_or_copy(pg, op->arg1, 0, false);
    case PVCORE_MMUEXT_COPY_PAGE:
        return clear_or_copy(pg, op->arg1, op->arg2, true);
    case PVCORE_MMUEXT_MARK_SUPER:
    case PVCORE_MMUEXT_UNMARK_SUPER:
        /* PV superpages no longer exist (XSA-167): refused without looking at the frame. */
        return -PVCORE_EOPNOTSUPP;
    default:
        return -PVCORE_ENOSYS;
    }
}

int pvcore_mmuext_op(struct pvcore_vcpu *pv, const struct pvcore_mmuext_req *ops, uint32_t count,
                     uint32_t *done, uint32_t foreigndom)
{
    struct mmu_source src = { ops, NULL, NULL };

    return mmuext_op_source(pv, &src, count, done, foreigndom);
}

int mmuext_op_source(struct pvcore_vcpu *pv, const struct mmu_source *src, uint32_t count,
                     uint32_t *done, uint32_t foreigndom)
{
    struct vcpu *v = (struct vcpu *)(void *)pv;
    struct domain *cur = v->d;
    struct domain *lockd;
    struct pg_owner pg;
    uint32_t i;
    int rc;

    rc = get_pg_owner(cur, (uint16_t)(foreigndom & 0xFFFFu), &pg);
    if (rc != 0) {
        return rc;
    }
    if (pg.d == NULL) {
        /* DOMID_IO and DOMID_XEN own no page tables. */
        return -PVCORE_EINVAL;
    }
    if (!pg_owner_permitted(cur, &pg)) {
        return -PVCORE_EPERM;
    }
    if (count != 0 && src->array == NULL && src->read == NULL) {
        return -PVCORE_EFAULT;
    }
    lockd = pg.d;
    rc = mmu_begin(lockd);
    if (rc != 0) {
        return rc;
    }
    for (i = 0; i < count; i++) {
        struct pvcore_mmuext_req op;

        rc = mmu_between(lockd, i);
        if (rc == 0 && src->read != NULL) {
            rc = src->read(src->ctx, i, &op);
        } else if (rc == 0) {
            op = ((const struct pvcore_mmuext_req *)src->array)[i];
        }
        if (rc != 0) {
            break;
        }
        rc = mmuext_one(v, &pg, &op);
        if (rc != 0) {
            break;
        }
    }
    if (done != NULL) {
        *done += i;
    }
    mmu_end(lockd);
    return rc;
}

/* ---- update_va_mapping ---------------------------------------------------------------------- */

int pvcore_update_va_mapping(struct pvcore_vcpu *pv, uint64_t va, uint64_t val, uint64_t flags,
                             uint32_t foreigndom)
{
    struct vcpu *v = (struct vcpu *)(void *)pv;
    struct domain *d = v->d;
    struct machine *m = d->m;
    struct pg_owner pg;
    uint64_t l1;
    unsigned slot;
    uint32_t x;
    uint64_t scope = flags & ~(uint64_t)PVCORE_UVMF_FLUSHTYPE_MASK;
    unsigned kind = (unsigned)(flags & PVCORE_UVMF_FLUSHTYPE_MASK);
    int rc;

    rc = get_pg_owner(d, (uint16_t)foreigndom, &pg);
    if (rc != 0) {
        return rc;
    }
    if (!pg_owner_permitted(d, &pg)) {
        return -PVCORE_EPERM;
    }
    rc = mmu_begin(d);
    if (rc != 0) {
        return rc;
    }
    rc = paging_find_l1e(v, va, &l1, &slot);
    if (rc == 0) {
        if (!frame_get_page(m, l1, d->domid)) {
            rc = -PVCORE_EINVAL;
        } else {
            x = frame_type(mfn_frame(m, l1), memory_order_acquire);
            if ((x & PGT_TYPE_MASK) != PGT_L1 || !(x & PGT_VALIDATED) ||
                (x & PGT_COUNT_MASK) == 0) {
                rc = -PVCORE_EINVAL;
            } else {
                rc = paging_mod_l1_entry(d, l1, slot, val, &pg);
            }
            frame_put_page(m, l1);
        }
    }
    /* XSA-279: nothing is flushed when the update failed. */
    /* Flush types are TLB_FLUSH (1) and INVLPG (2); 0 and 3 flush nothing, as in Xen. */
    if (rc == 0 && (kind == PVCORE_UVMF_TLB_FLUSH || kind == PVCORE_UVMF_INVLPG)) {
        uint8_t fk = kind == PVCORE_UVMF_INVLPG ? PVCORE_FLUSH_TLB_VA : PVCORE_FLUSH_TLB_ALL;
        if (scope == PVCORE_UVMF_LOCAL) {
            flush_local(v, fk, va);
        } else if (scope == PVCORE_UVMF_ALL) {
            flush_domain(d, fk, va);
        } else {
            rc = flush_mask(v, scope, fk, va);
        }
    }
    mmu_end(d);
    return rc;
}

/* ---- wire-format helpers ---------------------------------------------------------------------- */

void pvcore_mmuext_from_x86_64(const struct pvcore_mmuext_op_x86_64 *in, uint32_t count,
                               struct pvcore_mmuext_req *out)
{
    uint32_t i;

    for (i = 0; i < count; i++) {
        out[i].cmd = in[i].cmd;
        out[i].pad = 0;
        out[i].arg1 = in[i].arg1.mfn;
        /* nr_ents is the low half of the 64-bit argument; readers mask it. */
        out[i].arg2 = in[i].arg2.src_mfn;
    }
}

void pvcore_mmuext_from_x86_32(const struct pvcore_mmuext_op_x86_32 *in, uint32_t count,
                               struct pvcore_mmuext_req *out)
{
    uint32_t i;

    for (i = 0; i < count; i++) {
        out[i].cmd = in[i].cmd;
        out[i].pad = 0;
        out[i].arg1 = in[i].arg1.mfn;
        out[i].arg2 = in[i].arg2.src_mfn;
    }
}
