/*
 * The MMU hypercalls: mmu_update, mmuext_op and update_va_mapping.
 *
 * Each call locks the domain whose tables it changes, finishes any devalidation that
 * domain has queued, then handles its requests in order, stopping at the first failure
 * or when its work budget runs out (-ERESTART, with the count done reported), and
 * flushes at most once at the end where the ABI allows batching. Guest memory (request
 * arrays, vCPU bitmaps) is read with the lock let go (mmu_call_unlock()).
 */
#include <pvcore/mmu.h>

#include "internal/desc.h"
#include "internal/guestmem.h"
#include "internal/m2p.h"
#include "internal/mmu.h"
#include "internal/paging_entry.h"
#include "internal/trace.h"

/* A batch in progress: the caller's context and the lock it holds for the batch. */
struct mmu_call {
    struct call *call;
    struct vcpu *v;
    struct domain_locked dl; /* the domain whose tables change */
};

void mmu_call_unlock(struct mmu_call *mc)
{
    domain_unlock(&mc->dl);
}

void mmu_call_relock(struct mmu_call *mc)
{
    mc->dl = domain_lock(mc->call, mc->dl.d);
}

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

/* Reads a guest vCPU bitmap (words of the guest's size), with the batch's lock let go,
 * and flushes those vCPUs. */
static int flush_mask(struct mmu_call *mc, uint64_t bitmap_gva, uint8_t kind, uint64_t va)
{
    struct vcpu *v = mc->v;
    struct domain *d = v->d;
    struct machine *m = d->m;
    unsigned word = domain_is_32(d) ? 4u : 8u;
    unsigned bytes = ((d->nr_vcpus + word * 8u - 1u) / (word * 8u)) * word;
    uint8_t buf[8];
    uint64_t mask = 0;
    struct pvcore_flush f;
    unsigned i;
    int rc;

    memset(buf, 0, sizeof(buf));
    mmu_call_unlock(mc);
    rc = guest_copy_from(mc->call, v, buf, bitmap_gva, bytes);
    mmu_call_relock(mc);
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

/* Starts a call's work on domain d: lock, and finish queued teardown. The budget is the
 * call's, set when the call began. */
static int mmu_begin(struct mmu_call *mc, struct call *call, struct vcpu *v, struct domain *d)
{
    int rc;

    mc->call = call;
    mc->v = v;
    mc->dl = domain_lock(call, d);
    rc = domain_run_teardown(&mc->dl);
    if (rc != 0) {
        domain_unlock(&mc->dl);
    }
    return rc;
}

static void mmu_end(struct mmu_call *mc)
{
    /* Finish what this call queued while the budget lasts; the rest waits for the next
     * call on this domain, which finishes it before doing anything else. */
    (void)domain_run_teardown(&mc->dl);
    domain_unlock(&mc->dl);
}

/*
 * Between requests of a batch: preempt, or finish teardown the previous one queued.
 * Each request costs one unit of work, so a long batch is bounded too. The host's
 * preempt_check hook is an indirect call, so it is asked only every MMU_PREEMPT_STRIDE
 * requests (a request's own long work, validating a table, asks it as it goes).
 */
#define MMU_PREEMPT_STRIDE 16u

static inline int mmu_between(struct mmu_call *mc, uint32_t i)
{
    struct call *c = mc->call;

    if (PVCORE_UNLIKELY(c->budget == 0 || i % MMU_PREEMPT_STRIDE == 0) && i > 0 &&
        (c->budget == 0 || call_should_preempt(c))) {
        return -PVCORE_ERESTART;
    }
    call_charge(c, 1);
    return PVCORE_UNLIKELY(mc->dl.d->teardown_head != 0) ? domain_run_teardown(&mc->dl) : 0;
}

/* ---- refusal reports (<pvcore/trace.h>) -------------------------------------------------- */

void pvcore_trace_set_refusal_hook(struct pvcore_machine *pm, pvcore_refusal_fn fn, void *ctx)
{
    struct machine *m = (struct machine *)(void *)pm;

    if (m != NULL) {
        m->refusal = fn;
        m->refusal_ctx = ctx;
    }
}

static const char *const reason_names[PVCORE_REFUSAL_COUNT] = {
    [PVCORE_REFUSAL_NONE] = "none",
    [PVCORE_REFUSAL_BAD_COMMAND] = "bad_command",
    [PVCORE_REFUSAL_BAD_POINTER] = "bad_pointer",
    [PVCORE_REFUSAL_NO_DOMAIN] = "no_domain",
    [PVCORE_REFUSAL_NOT_PERMITTED] = "not_permitted",
    [PVCORE_REFUSAL_SELF_ONLY] = "self_only",
    [PVCORE_REFUSAL_PSEUDO_OWNER] = "pseudo_owner",
    [PVCORE_REFUSAL_NOT_OWNER] = "not_owner",
    [PVCORE_REFUSAL_FREE_FRAME] = "free_frame",
    [PVCORE_REFUSAL_FOREIGN_FRAME] = "foreign_frame",
    [PVCORE_REFUSAL_XEN_FRAME] = "xen_frame",
    [PVCORE_REFUSAL_IOMEM] = "iomem",
    [PVCORE_REFUSAL_TYPE_CONFLICT] = "type_conflict",
    [PVCORE_REFUSAL_WRITABLE_PAGE_TABLE] = "writable_page_table",
    [PVCORE_REFUSAL_FLAGS] = "flags",
    [PVCORE_REFUSAL_PSE] = "pse",
    [PVCORE_REFUSAL_RESERVED_BITS] = "reserved_bits",
    [PVCORE_REFUSAL_HYP_SLOT] = "hyp_slot",
    [PVCORE_REFUSAL_LINEAR] = "linear",
    [PVCORE_REFUSAL_PAE_SLOT3] = "pae_slot3",
    [PVCORE_REFUSAL_BELOW_4G] = "below_4g",
    [PVCORE_REFUSAL_ALREADY_PINNED] = "already_pinned",
    [PVCORE_REFUSAL_NOT_PINNED] = "not_pinned",
    [PVCORE_REFUSAL_NOT_MAPPED] = "not_mapped",
    [PVCORE_REFUSAL_BAD_LDT] = "bad_ldt",
    [PVCORE_REFUSAL_CACHE_FLUSH] = "cache_flush",
    [PVCORE_REFUSAL_SUPERPAGE] = "superpage",
    [PVCORE_REFUSAL_USER_BASE_32] = "user_base_32",
    [PVCORE_REFUSAL_GRANT_PTE] = "grant_pte",
};

const char *pvcore_trace_reason_name(uint32_t code)
{
    return code < PVCORE_REFUSAL_COUNT && reason_names[code] != NULL ? reason_names[code]
                                                                     : "unknown";
}

/* A call starts with nothing recorded. (Per call, not per request: a few stores.) */
static inline void refusal_begin(struct call *call)
{
    call_refuse_clear(call);
    call->refusal.index = 0;
    call->refusal.cmd = 0;
}

/* Tells the refusal hook, if there is one, about the call's result rc (a refusal unless
 * 0 or -ERESTART), once the call holds no lock: the hook may call the library. Called
 * only for rc != 0, so that a call that succeeds pays nothing but that test. */
static PVCORE_COLD void refusal_report(struct call *call, struct vcpu *v, int rc,
                                       uint32_t hypercall)
{
    struct machine *m = call->m;
    const struct refusal_rec *r = &call->refusal;
    struct pvcore_refusal out;

    ASSERT_UNLOCKED(call);
    if (m->refusal == NULL || rc == -PVCORE_ERESTART) {
        return;
    }
    memset(&out, 0, sizeof(out));
    out.code = r->code;
    out.err = rc;
    out.hypercall = hypercall;
    out.cmd = r->cmd;
    out.index = r->index;
    out.level = r->at_set ? r->level : 0;
    out.slot = r->at_set ? r->slot : PVCORE_REFUSAL_NO_SLOT;
    out.table = pvcore_mfn(r->at_set ? r->table : INVALID_MFN);
    out.mfn = pvcore_mfn(r->code != 0 ? r->mfn : INVALID_MFN);
    m->refusal(m->refusal_ctx, (struct pvcore_vcpu *)(void *)v, &out);
}

/* The page-table level of frame mfn as its type says now (0: not a table). */
static unsigned frame_level_now(const struct machine *m, uint64_t mfn)
{
    return mfn < m->nr_frames ? pgt_type_level(frame_type(mfn_frame((struct machine *)(uintptr_t)m, mfn),
                                                          memory_order_relaxed))
                              : 0;
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
static int mmu_normal_update(const struct domain_locked *pt_owner, const struct pg_owner *pg, uint64_t ptr,
                             uint64_t val, bool preserve_ad, bool *changed_upper,
                             struct held_frame *held)
{
    struct machine *m = pt_owner->d->m;
    uint64_t mfn = ptr >> PVCORE_PAGE_SHIFT;
    unsigned slot = (unsigned)(ptr & (PVCORE_PAGE_SIZE - 1u)) >> 3;

    if (!held_get(m, held, mfn, pt_owner->d->domid)) {
        return call_refuse(pt_owner->call, -PVCORE_EINVAL, PVCORE_REFUSAL_NOT_OWNER, mfn);
    }
    return paging_update_entry(pt_owner, pg, mfn, slot, val, preserve_ad, changed_upper);
}

static int mmu_machphys_update(struct call *call, struct domain *cur, struct domain *pt_owner,
                               const struct pg_owner *pg, uint64_t ptr, uint64_t val)
{
    struct machine *m = cur->m;
    uint64_t mfn = ptr >> PVCORE_PAGE_SHIFT;

    if (pt_owner != cur || !pg_owner_permitted(cur, pg)) {
        return call_refuse(call, -PVCORE_EPERM, PVCORE_REFUSAL_NOT_PERMITTED, mfn);
    }
    if (pg->d == NULL) {
        /* DOMID_IO and DOMID_XEN frames have no guest frame numbers. */
        return call_refuse(call, -PVCORE_EINVAL, PVCORE_REFUSAL_PSEUDO_OWNER, mfn);
    }
    if (!frame_get_page(m, mfn, pg->domid)) {
        return call_refuse(call, -PVCORE_EINVAL, PVCORE_REFUSAL_NOT_OWNER, mfn);
    }
    /* The value is the guest's business (XSA-251): any value is stored, none trusted. */
    m2p_set(pg->d, mfn, val);
    frame_put_page(m, mfn);
    return 0;
}

int pvcore_mmu_update(struct pvcore_vcpu *pv, const pvcore_mmu_update_t *reqs,
                      uint32_t count, uint32_t *done, uint32_t foreigndom)
{
    struct mmu_source src = { reqs, NULL, NULL };
    struct call call;

    call_init(&call, vcpu_domain(pv)->m);
    return mmu_update_source(&call, pv, &src, count, done, foreigndom);
}

/* Where request i (ptr) of a batch was refused, for the report. */
static PVCORE_COLD void mmu_update_refused(struct call *call, uint32_t i, uint64_t ptr)
{
    uint64_t mfn = ptr >> PVCORE_PAGE_SHIFT;
    unsigned cmd = (unsigned)(ptr & PVCORE_MMU_UPDATE_CMD_MASK);

    call->refusal.index = i;
    call->refusal.cmd = cmd;
    if (cmd == PVCORE_MMU_NORMAL_PT_UPDATE || cmd == PVCORE_MMU_PT_UPDATE_NO_TRANSLATE ||
        cmd == PVCORE_MMU_PT_UPDATE_PRESERVE_AD) {
        (void)call_refuse_at(call, -PVCORE_EINVAL, frame_level_now(call->m, mfn),
                             (unsigned)(ptr & (PVCORE_PAGE_SIZE - 1u)) >> 3, mfn);
    }
}

static int mmu_update_run(struct call *call, struct pvcore_vcpu *pv, const struct mmu_source *src,
                          uint32_t count, uint32_t *done, uint32_t foreigndom);

int mmu_update_source(struct call *call, struct pvcore_vcpu *pv, const struct mmu_source *src,
                      uint32_t count, uint32_t *done, uint32_t foreigndom)
{
    int rc;

    refusal_begin(call);
    rc = mmu_update_run(call, pv, src, count, done, foreigndom);
    if (PVCORE_UNLIKELY(rc != 0)) {
        refusal_report(call, (struct vcpu *)(void *)pv, rc, PVCORE_HYPERVISOR_mmu_update);
    }
    return rc;
}

static int mmu_update_run(struct call *call, struct pvcore_vcpu *pv, const struct mmu_source *src,
                          uint32_t count, uint32_t *done, uint32_t foreigndom)
{
    struct vcpu *v = (struct vcpu *)(void *)pv;
    struct mmu_call mc;
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
                return call_refuse(call, -PVCORE_ESRCH, PVCORE_REFUSAL_NO_DOMAIN, INVALID_MFN);
            }
        }
    }
    rc = get_pg_owner(cur, (uint16_t)(foreigndom & 0xFFFFu), &pg);
    if (rc != 0) {
        return call_refuse(call, rc, PVCORE_REFUSAL_NO_DOMAIN, INVALID_MFN);
    }
    if (count != 0 && src->array == NULL && src->read == NULL) {
        return call_refuse(call, -PVCORE_EFAULT, PVCORE_REFUSAL_BAD_POINTER, INVALID_MFN);
    }
    normal_ok = pg_owner_permitted(cur, &pg) && (pt_owner == cur || domain_privileged(cur));
    rc = mmu_begin(&mc, call, v, pt_owner);
    if (rc != 0) {
        return rc;
    }
    for (i = 0; i < count; i++) {
        pvcore_mmu_update_t req;
        uint64_t ptr, val;

        rc = mmu_between(&mc, i);
        if (PVCORE_UNLIKELY(rc != 0)) {
            break;
        }
        if (PVCORE_LIKELY(src->read == NULL)) {
            /* Field by field, not a struct copy: a copy goes through the stack as one
             * 16-byte store read back as two 8-byte loads, a forwarding case some CPUs
             * handle slowly, on the path of every request. */
            const pvcore_mmu_update_t *r = &((const pvcore_mmu_update_t *)src->array)[i];
            ptr = r->ptr;
            val = r->val;
        } else if ((rc = src->read(src->ctx, &mc, i, &req)) == 0) {
            ptr = req.ptr;
            val = req.val;
        } else {
            call_refuse(mc.call, rc, PVCORE_REFUSAL_BAD_POINTER, INVALID_MFN);
            mc.call->refusal.index = i;
            break;
        }
        switch (ptr & PVCORE_MMU_UPDATE_CMD_MASK) {
        case PVCORE_MMU_NORMAL_PT_UPDATE:
        case PVCORE_MMU_PT_UPDATE_NO_TRANSLATE:
        case PVCORE_MMU_PT_UPDATE_PRESERVE_AD:
            /* As Xen's per-request XSM check: an unprivileged caller may name only itself
             * (or I/O memory) as the data owner and only itself as the table owner. */
            if (PVCORE_UNLIKELY(!normal_ok)) {
                rc = call_refuse(mc.call, -PVCORE_EPERM, PVCORE_REFUSAL_NOT_PERMITTED, INVALID_MFN);
                break;
            }
            rc = mmu_normal_update(&mc.dl, &pg, ptr & ~(uint64_t)PVCORE_MMU_UPDATE_CMD_MASK,
                                   val,
                                   (ptr & PVCORE_MMU_UPDATE_CMD_MASK) ==
                                       PVCORE_MMU_PT_UPDATE_PRESERVE_AD,
                                   &changed_upper, &held);
            break;
        case PVCORE_MMU_MACHPHYS_UPDATE:
            rc = mmu_machphys_update(mc.call, cur, pt_owner, &pg, ptr, val);
            break;
        default:
            rc = call_refuse(mc.call, -PVCORE_ENOSYS, PVCORE_REFUSAL_BAD_COMMAND, INVALID_MFN);
            break;
        }
        if (PVCORE_UNLIKELY(rc != 0)) {
            mmu_update_refused(mc.call, i, ptr);
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
    mmu_end(&mc);
    return rc;
}

/* ---- mmuext_op ------------------------------------------------------------------------------ */

/* Every command below runs with the lock of the data owner `pg` held (mc->dl), which is
 * the caller's own domain for the commands marked MX_SELF. */

static int pin_table(struct mmu_call *mc, const struct pg_owner *pg, uint64_t mfn, unsigned level)
{
    struct domain *d = pg->d;
    struct frame *f;
    uint32_t old;
    int rc;

    if (d == NULL) {
        return call_refuse(mc->call, -PVCORE_EINVAL, PVCORE_REFUSAL_PSEUDO_OWNER, mfn);
    }
    if (domain_is_32(d) && level == 4) {
        /* 32-bit guests have no L4 of their own: accepted and ignored, as Xen does. */
        return 0;
    }
    rc = frame_get_page_and_type(&mc->dl, mfn, pgt_level_type(level));
    if (rc != 0) {
        return rc;
    }
    f = mfn_frame(d->m, mfn);
    old = frame_type_fetch_or(f, PGT_PINNED, memory_order_acq_rel);
    if (old & PGT_PINNED) {
        frame_put_page_and_type(&mc->dl, mfn);
        return call_refuse(mc->call, -PVCORE_EINVAL, PVCORE_REFUSAL_ALREADY_PINNED, mfn);
    }
    return 0;
}

static int unpin_table(struct mmu_call *mc, const struct pg_owner *pg, uint64_t mfn)
{
    struct domain *d = pg->d;
    struct machine *m;
    uint32_t old;

    if (d == NULL) {
        return call_refuse(mc->call, -PVCORE_EINVAL, PVCORE_REFUSAL_PSEUDO_OWNER, mfn);
    }
    m = d->m;
    if (!frame_get_page(m, mfn, d->domid)) {
        return call_refuse(mc->call, -PVCORE_EINVAL, PVCORE_REFUSAL_NOT_OWNER, mfn);
    }
    old = frame_type_fetch_and(mfn_frame(m, mfn), ~PGT_PINNED, memory_order_acq_rel);
    if (!(old & PGT_PINNED)) {
        frame_put_page(m, mfn);
        return call_refuse(mc->call, -PVCORE_EINVAL, PVCORE_REFUSAL_NOT_PINNED, mfn);
    }
    /* Drop the pin's references; the last one queues the tree's devalidation. */
    frame_put_page_and_type(&mc->dl, mfn);
    frame_put_page(m, mfn);
    return 0;
}

static void base_changed(struct vcpu *v)
{
    struct machine *m = v->d->m;

    if (m->ops->base_changed != NULL) {
        m->ops->base_changed(m->ctx, (struct pvcore_vcpu *)(void *)v, pvcore_mfn(v->guest_table),
                             pvcore_mfn(v->guest_table_user));
    }
}

void mmu_install_base(const struct domain_locked *dl, struct vcpu *v, uint64_t mfn, bool user)
{
    uint64_t *slotp = user ? &v->guest_table_user : &v->guest_table;
    uint64_t old = *slotp;

    ASSERT_LOCKED(dl);
    *slotp = mfn;
    /* The LDT's frames were found through the old tables (Xen's pv_destroy_ldt). */
    if (!user && mfn != INVALID_MFN && desc_ldt_release(dl, v)) {
        vcpu_flush_local(v, PVCORE_FLUSH_TLB_ALL, 0);
    }
    base_changed(v);
    if (old != INVALID_MFN) {
        frame_put_page_and_type(dl, old);
    }
}

static int new_baseptr(const struct domain_locked *dl, struct vcpu *v, uint64_t mfn, bool user)
{
    struct domain *d = v->d;
    unsigned root = domain_format(d)->levels;
    uint64_t old = user ? v->guest_table_user : v->guest_table;
    int rc;

    if (user && domain_is_32(d)) {
        return call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_USER_BASE_32, mfn);
    }
    if (user && mfn == 0) {
        mmu_install_base(dl, v, INVALID_MFN, true);
        return 0;
    }
    if (!user && mfn == old && old != INVALID_MFN) {
        /* Same root: only a reload (a full flush of this vCPU's TLB). */
        base_changed(v);
        return 0;
    }
    rc = frame_get_page_and_type(dl, mfn, pgt_level_type(root));
    if (rc != 0) {
        return rc;
    }
    mmu_install_base(dl, v, mfn, user);
    return 0;
}

static int clear_or_copy(struct mmu_call *mc, const struct pg_owner *pg, uint64_t dst,
                         uint64_t src, bool copy)
{
    struct domain *d = pg->d;
    struct machine *m;
    int rc = 0;

    if (d == NULL) {
        return call_refuse(mc->call, -PVCORE_EINVAL, PVCORE_REFUSAL_PSEUDO_OWNER, dst);
    }
    m = d->m;
    if (copy && !frame_get_page(m, src, d->domid)) {
        return call_refuse(mc->call, -PVCORE_EINVAL, PVCORE_REFUSAL_NOT_OWNER, src);
    }
    if (!frame_get_page(m, dst, d->domid)) {
        rc = call_refuse(mc->call, -PVCORE_EINVAL, PVCORE_REFUSAL_NOT_OWNER, dst);
    } else {
        /* Page tables and descriptor pages cannot take this type: they are not written. */
        if (!frame_get_writable(m, dst)) {
            rc = call_refuse(mc->call, -PVCORE_EINVAL, PVCORE_REFUSAL_WRITABLE_PAGE_TABLE, dst);
        } else {
            if (copy) {
                memcpy(frame_entries(m, dst), frame_entries(m, src), PVCORE_PAGE_SIZE);
            } else {
                memset(frame_entries(m, dst), 0, PVCORE_PAGE_SIZE);
            }
            frame_put_writable_locked(&mc->dl, dst);
        }
        frame_put_page(m, dst);
    }
    if (copy) {
        frame_put_page(m, src);
    }
    return rc;
}

static int set_ldt(const struct domain_locked *dl, struct vcpu *v, uint64_t base, uint64_t ents)
{
    struct domain *d = v->d;

    if (ents > 8192 ||
        (ents != 0 && ((base & (PVCORE_PAGE_SIZE - 1u)) != 0 || !paging_va_is_guest(d, base) ||
                       !paging_va_is_guest(d, base + ents * 8u - 1u)))) {
        return call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_BAD_LDT, INVALID_MFN);
    }
    if (v->ldt_base != base || v->ldt_ents != ents) {
        /* The flush below also drops the embedder's mappings of them (<pvcore/desc.h>). */
        (void)desc_ldt_release(dl, v);
        v->ldt_base = base;
        v->ldt_ents = (uint32_t)ents;
        vcpu_flush_local(v, PVCORE_FLUSH_TLB_ALL, 0);
    }
    return 0;
}

/* ---- the mmuext command table --------------------------------------------------------------- */

struct mmuext_cmd;
typedef int (*mmuext_fn)(struct mmu_call *mc, const struct pg_owner *pg,
                         const struct pvcore_mmuext_req *op, const struct mmuext_cmd *cmd);

/* Rules a command's arguments are checked against before its handler runs. */
#define MX_SELF 0x1u     /* the data owner must be the caller itself, else -EPERM */
#define MX_GUEST_VA 0x2u /* arg1 outside guest space: done, silently (XSA-279) */

struct mmuext_cmd {
    mmuext_fn fn;
    uint8_t rules; /* MX_* */
    uint8_t arg;   /* a per-command constant: the level of a pin, the flush kind, ... */
};

/* The address a flush of kind cmd->arg names: arg1 for one page, none for everything. */
static uint64_t flush_va(const struct pvcore_mmuext_req *op, const struct mmuext_cmd *cmd)
{
    return cmd->arg == PVCORE_FLUSH_TLB_VA ? op->arg1 : 0;
}

static int mx_pin(struct mmu_call *mc, const struct pg_owner *pg, const struct pvcore_mmuext_req *op,
                  const struct mmuext_cmd *cmd)
{
    return pin_table(mc, pg, op->arg1, cmd->arg);
}

static int mx_unpin(struct mmu_call *mc, const struct pg_owner *pg,
                    const struct pvcore_mmuext_req *op, const struct mmuext_cmd *cmd)
{
    (void)cmd;
    return unpin_table(mc, pg, op->arg1);
}

static int mx_baseptr(struct mmu_call *mc, const struct pg_owner *pg,
                      const struct pvcore_mmuext_req *op, const struct mmuext_cmd *cmd)
{
    (void)pg;
    return new_baseptr(&mc->dl, mc->v, op->arg1, cmd->arg != 0);
}

static int mx_flush_local(struct mmu_call *mc, const struct pg_owner *pg,
                          const struct pvcore_mmuext_req *op, const struct mmuext_cmd *cmd)
{
    (void)pg;
    vcpu_flush_local(mc->v, cmd->arg, flush_va(op, cmd));
    return 0;
}

static int mx_flush_multi(struct mmu_call *mc, const struct pg_owner *pg,
                          const struct pvcore_mmuext_req *op, const struct mmuext_cmd *cmd)
{
    (void)pg;
    /* An unreadable bitmap is the ABI's -EINVAL. */
    return flush_mask(mc, op->arg2, cmd->arg, flush_va(op, cmd)) != 0
               ? call_refuse(mc->call, -PVCORE_EINVAL, PVCORE_REFUSAL_BAD_POINTER, INVALID_MFN)
               : 0;
}

static int mx_flush_all(struct mmu_call *mc, const struct pg_owner *pg,
                        const struct pvcore_mmuext_req *op, const struct mmuext_cmd *cmd)
{
    (void)pg;
    flush_domain(mc->v->d, cmd->arg, flush_va(op, cmd));
    return 0;
}

static int mx_flush_cache(struct mmu_call *mc, const struct pg_owner *pg,
                          const struct pvcore_mmuext_req *op, const struct mmuext_cmd *cmd)
{
    struct domain *cur = mc->v->d;

    (void)pg;
    (void)op;
    if (cur->nr_iomem == 0) {
        return call_refuse(mc->call, -PVCORE_EACCES, PVCORE_REFUSAL_CACHE_FLUSH, INVALID_MFN);
    }
    if (cur->m->ops->flush_cache != NULL) {
        cur->m->ops->flush_cache(cur->m->ctx, cur->domid, cmd->arg);
    }
    return 0;
}

static int mx_set_ldt(struct mmu_call *mc, const struct pg_owner *pg,
                      const struct pvcore_mmuext_req *op, const struct mmuext_cmd *cmd)
{
    (void)pg;
    (void)cmd;
    return set_ldt(&mc->dl, mc->v, op->arg1, op->arg2 & 0xFFFFFFFFu);
}

static int mx_clear_copy(struct mmu_call *mc, const struct pg_owner *pg,
                         const struct pvcore_mmuext_req *op, const struct mmuext_cmd *cmd)
{
    return clear_or_copy(mc, pg, op->arg1, op->arg2, cmd->arg != 0);
}

static int mx_no_superpages(struct mmu_call *mc, const struct pg_owner *pg,
                            const struct pvcore_mmuext_req *op, const struct mmuext_cmd *cmd)
{
    (void)pg;
    (void)cmd;
    /* PV superpages no longer exist (XSA-167): refused without looking at the frame. */
    return call_refuse(mc->call, -PVCORE_EOPNOTSUPP, PVCORE_REFUSAL_SUPERPAGE, op->arg1);
}

/* Xen's MMUEXT_* commands; the numbers without an entry (14, 21 and up) are -ENOSYS. */
static const struct mmuext_cmd mmuext_cmds[] = {
    [PVCORE_MMUEXT_PIN_L1_TABLE] = { .fn = mx_pin, .arg = 1 },
    [PVCORE_MMUEXT_PIN_L2_TABLE] = { .fn = mx_pin, .arg = 2 },
    [PVCORE_MMUEXT_PIN_L3_TABLE] = { .fn = mx_pin, .arg = 3 },
    [PVCORE_MMUEXT_PIN_L4_TABLE] = { .fn = mx_pin, .arg = 4 },
    [PVCORE_MMUEXT_UNPIN_TABLE] = { .fn = mx_unpin },
    [PVCORE_MMUEXT_NEW_BASEPTR] = { .fn = mx_baseptr, .rules = MX_SELF, .arg = 0 },
    [PVCORE_MMUEXT_NEW_USER_BASEPTR] = { .fn = mx_baseptr, .rules = MX_SELF, .arg = 1 },
    [PVCORE_MMUEXT_TLB_FLUSH_LOCAL] = { .fn = mx_flush_local, .rules = MX_SELF,
                                        .arg = PVCORE_FLUSH_TLB_ALL },
    [PVCORE_MMUEXT_INVLPG_LOCAL] = { .fn = mx_flush_local, .rules = MX_SELF | MX_GUEST_VA,
                                     .arg = PVCORE_FLUSH_TLB_VA },
    [PVCORE_MMUEXT_TLB_FLUSH_MULTI] = { .fn = mx_flush_multi, .rules = MX_SELF,
                                        .arg = PVCORE_FLUSH_TLB_ALL },
    [PVCORE_MMUEXT_INVLPG_MULTI] = { .fn = mx_flush_multi, .rules = MX_SELF | MX_GUEST_VA,
                                     .arg = PVCORE_FLUSH_TLB_VA },
    [PVCORE_MMUEXT_TLB_FLUSH_ALL] = { .fn = mx_flush_all, .rules = MX_SELF,
                                      .arg = PVCORE_FLUSH_TLB_ALL },
    [PVCORE_MMUEXT_INVLPG_ALL] = { .fn = mx_flush_all, .rules = MX_SELF | MX_GUEST_VA,
                                   .arg = PVCORE_FLUSH_TLB_VA },
    [PVCORE_MMUEXT_FLUSH_CACHE] = { .fn = mx_flush_cache, .rules = MX_SELF, .arg = 0 },
    [PVCORE_MMUEXT_FLUSH_CACHE_GLOBAL] = { .fn = mx_flush_cache, .rules = MX_SELF, .arg = 1 },
    [PVCORE_MMUEXT_SET_LDT] = { .fn = mx_set_ldt, .rules = MX_SELF },
    [PVCORE_MMUEXT_CLEAR_PAGE] = { .fn = mx_clear_copy, .arg = 0 },
    [PVCORE_MMUEXT_COPY_PAGE] = { .fn = mx_clear_copy, .arg = 1 },
    [PVCORE_MMUEXT_MARK_SUPER] = { .fn = mx_no_superpages },
    [PVCORE_MMUEXT_UNMARK_SUPER] = { .fn = mx_no_superpages },
};

static int mmuext_one(struct mmu_call *mc, const struct pg_owner *pg,
                      const struct pvcore_mmuext_req *op)
{
    const struct mmuext_cmd *cmd;

    if (op->cmd >= sizeof(mmuext_cmds) / sizeof(mmuext_cmds[0]) || mmuext_cmds[op->cmd].fn == NULL) {
        return call_refuse(mc->call, -PVCORE_ENOSYS, PVCORE_REFUSAL_BAD_COMMAND, INVALID_MFN);
    }
    cmd = &mmuext_cmds[op->cmd];
    if ((cmd->rules & MX_SELF) && pg->d != mc->v->d) {
        return call_refuse(mc->call, -PVCORE_EPERM, PVCORE_REFUSAL_SELF_ONLY, INVALID_MFN);
    }
    if ((cmd->rules & MX_GUEST_VA) && !paging_va_is_guest(mc->v->d, op->arg1)) {
        return 0;
    }
    return cmd->fn(mc, pg, op, cmd);
}

int pvcore_mmuext_op(struct pvcore_vcpu *pv, const struct pvcore_mmuext_req *ops, uint32_t count,
                     uint32_t *done, uint32_t foreigndom)
{
    struct mmu_source src = { ops, NULL, NULL };
    struct call call;

    call_init(&call, vcpu_domain(pv)->m);
    return mmuext_op_source(&call, pv, &src, count, done, foreigndom);
}

/* Where request i (op) of a batch was refused, for the report: a command on a whole table
 * names that table, unless an entry inside it was recorded. */
static PVCORE_COLD void mmuext_refused(struct mmu_call *mc, uint32_t i,
                                       const struct pvcore_mmuext_req *op)
{
    struct call *call = mc->call;
    unsigned level = 0;

    call->refusal.index = i;
    call->refusal.cmd = op->cmd;
    switch (op->cmd) {
    case PVCORE_MMUEXT_PIN_L1_TABLE:
    case PVCORE_MMUEXT_PIN_L2_TABLE:
    case PVCORE_MMUEXT_PIN_L3_TABLE:
    case PVCORE_MMUEXT_PIN_L4_TABLE:
        level = op->cmd - PVCORE_MMUEXT_PIN_L1_TABLE + 1u;
        break;
    case PVCORE_MMUEXT_NEW_BASEPTR:
    case PVCORE_MMUEXT_NEW_USER_BASEPTR:
        level = domain_format(mc->v->d)->levels;
        break;
    case PVCORE_MMUEXT_UNPIN_TABLE:
        level = frame_level_now(call->m, op->arg1);
        break;
    default:
        return;
    }
    (void)call_refuse_at(call, -PVCORE_EINVAL, level, PVCORE_REFUSAL_NO_SLOT, op->arg1);
}

static int mmuext_op_run(struct call *call, struct pvcore_vcpu *pv, const struct mmu_source *src,
                         uint32_t count, uint32_t *done, uint32_t foreigndom);

int mmuext_op_source(struct call *call, struct pvcore_vcpu *pv, const struct mmu_source *src,
                     uint32_t count, uint32_t *done, uint32_t foreigndom)
{
    int rc;

    refusal_begin(call);
    rc = mmuext_op_run(call, pv, src, count, done, foreigndom);
    if (PVCORE_UNLIKELY(rc != 0)) {
        refusal_report(call, (struct vcpu *)(void *)pv, rc, PVCORE_HYPERVISOR_mmuext_op);
    }
    return rc;
}

static int mmuext_op_run(struct call *call, struct pvcore_vcpu *pv, const struct mmu_source *src,
                         uint32_t count, uint32_t *done, uint32_t foreigndom)
{
    struct vcpu *v = (struct vcpu *)(void *)pv;
    struct domain *cur = v->d;
    struct mmu_call mc;
    struct pg_owner pg;
    uint32_t i;
    int rc;

    rc = get_pg_owner(cur, (uint16_t)(foreigndom & 0xFFFFu), &pg);
    if (rc != 0) {
        return call_refuse(call, rc, PVCORE_REFUSAL_NO_DOMAIN, INVALID_MFN);
    }
    if (pg.d == NULL) {
        /* DOMID_IO and DOMID_XEN own no page tables. */
        return call_refuse(call, -PVCORE_EINVAL, PVCORE_REFUSAL_PSEUDO_OWNER, INVALID_MFN);
    }
    if (!pg_owner_permitted(cur, &pg)) {
        return call_refuse(call, -PVCORE_EPERM, PVCORE_REFUSAL_NOT_PERMITTED, INVALID_MFN);
    }
    if (count != 0 && src->array == NULL && src->read == NULL) {
        return call_refuse(call, -PVCORE_EFAULT, PVCORE_REFUSAL_BAD_POINTER, INVALID_MFN);
    }
    rc = mmu_begin(&mc, call, v, pg.d);
    if (rc != 0) {
        return rc;
    }
    for (i = 0; i < count; i++) {
        struct pvcore_mmuext_req op;

        rc = mmu_between(&mc, i);
        if (rc == 0 && src->read != NULL) {
            rc = src->read(src->ctx, &mc, i, &op);
            if (PVCORE_UNLIKELY(rc != 0)) {
                call_refuse(mc.call, rc, PVCORE_REFUSAL_BAD_POINTER, INVALID_MFN);
                mc.call->refusal.index = i;
            }
        } else if (rc == 0) {
            op = ((const struct pvcore_mmuext_req *)src->array)[i];
        }
        if (rc != 0) {
            break;
        }
        rc = mmuext_one(&mc, &pg, &op);
        if (rc != 0) {
            mmuext_refused(&mc, i, &op);
            break;
        }
    }
    if (done != NULL) {
        *done += i;
    }
    mmu_end(&mc);
    return rc;
}

/* ---- update_va_mapping ---------------------------------------------------------------------- */

int pvcore_update_va_mapping(struct pvcore_vcpu *pv, uint64_t va, uint64_t val, uint64_t flags,
                             uint32_t foreigndom)
{
    struct call call;

    call_init(&call, vcpu_domain(pv)->m);
    return mmu_update_va_mapping(&call, pv, va, val, flags, foreigndom);
}

static int update_va_mapping_run(struct call *call, struct pvcore_vcpu *pv, uint64_t va,
                                 uint64_t val, uint64_t flags, uint32_t foreigndom);

int mmu_update_va_mapping(struct call *call, struct pvcore_vcpu *pv, uint64_t va, uint64_t val,
                          uint64_t flags, uint32_t foreigndom)
{
    int rc;

    refusal_begin(call);
    rc = update_va_mapping_run(call, pv, va, val, flags, foreigndom);
    if (PVCORE_UNLIKELY(rc != 0)) {
        refusal_report(call, (struct vcpu *)(void *)pv, rc, PVCORE_HYPERVISOR_update_va_mapping);
    }
    return rc;
}

static int update_va_mapping_run(struct call *call, struct pvcore_vcpu *pv, uint64_t va,
                                 uint64_t val, uint64_t flags, uint32_t foreigndom)
{
    struct vcpu *v = (struct vcpu *)(void *)pv;
    struct domain *d = v->d;
    struct machine *m = d->m;
    struct mmu_call mc;
    struct pg_owner pg;
    uint64_t l1;
    unsigned slot;
    uint32_t x;
    uint64_t scope = flags & ~(uint64_t)PVCORE_UVMF_FLUSHTYPE_MASK;
    unsigned kind = (unsigned)(flags & PVCORE_UVMF_FLUSHTYPE_MASK);
    int rc;

    rc = get_pg_owner(d, (uint16_t)foreigndom, &pg);
    if (rc != 0) {
        return call_refuse(call, rc, PVCORE_REFUSAL_NO_DOMAIN, INVALID_MFN);
    }
    if (!pg_owner_permitted(d, &pg)) {
        return call_refuse(call, -PVCORE_EPERM, PVCORE_REFUSAL_NOT_PERMITTED, INVALID_MFN);
    }
    rc = mmu_begin(&mc, call, v, d);
    if (rc != 0) {
        return rc;
    }
    rc = paging_find_l1e(&mc.dl, v, va, &l1, &slot);
    if (rc == 0) {
        if (!frame_get_page(m, l1, d->domid)) {
            rc = call_refuse(call, -PVCORE_EINVAL, PVCORE_REFUSAL_NOT_OWNER, l1);
        } else {
            x = frame_type(mfn_frame(m, l1), memory_order_acquire);
            if ((x & PGT_TYPE_MASK) != PGT_L1 || !(x & PGT_VALIDATED) ||
                (x & PGT_COUNT_MASK) == 0) {
                rc = call_refuse(call, -PVCORE_EINVAL, PVCORE_REFUSAL_NOT_MAPPED, l1);
            } else {
                rc = paging_mod_l1_entry(&mc.dl, l1, slot, val, &pg);
            }
            frame_put_page(m, l1);
        }
        if (PVCORE_UNLIKELY(rc != 0)) {
            (void)call_refuse_at(call, rc, 1, slot, l1);
        }
    }
    /* XSA-279: nothing is flushed when the update failed. */
    /* Flush types are TLB_FLUSH (1) and INVLPG (2); 0 and 3 flush nothing, as in Xen. */
    if (rc == 0 && (kind == PVCORE_UVMF_TLB_FLUSH || kind == PVCORE_UVMF_INVLPG)) {
        uint8_t fk = kind == PVCORE_UVMF_INVLPG ? PVCORE_FLUSH_TLB_VA : PVCORE_FLUSH_TLB_ALL;
        if (scope == PVCORE_UVMF_LOCAL) {
            vcpu_flush_local(v, fk, va);
        } else if (scope == PVCORE_UVMF_ALL) {
            flush_domain(d, fk, va);
        } else {
            rc = flush_mask(&mc, scope, fk, va);
            if (rc != 0) {
                call_refuse(call, rc, PVCORE_REFUSAL_BAD_POINTER, INVALID_MFN);
            }
        }
    }
    mmu_end(&mc);
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
