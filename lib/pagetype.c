/*
 * The page-type machinery: validated types and the type-change rule, the dispatch to each
 * type's validator, and the per-domain teardown list that makes devalidation bounded and
 * preemptible.
 *
 * Reference ownership, which every function here preserves:
 * - a type reference (type_info count) keeps the frame's type; every holder of a type
 *   reference also holds a general reference;
 * - a frame whose validation was preempted (PGT_PARTIAL) has exactly one type reference
 *   and its general reference, owned by that partial state; the next caller asking for
 *   the same type takes them over and resumes the validation;
 * - a frame whose last type reference was dropped while validated, or whose validation
 *   failed (PGT_TEARDOWN), likewise keeps one type and one general reference, owned by the
 *   domain's teardown list, until every reference its entries hold is released.
 *
 * Lock rules: validated types (L1-L4) are taken and dropped only with the frame owner's
 * mmu_lock held (the witness proves it), except that a guest walk (guestmem.c) may add a
 * reference to a validated table that has one and drop it while another remains; the
 * writable type changes by compare-and-swap from anywhere (frame.h).
 */
#include "internal/desc.h"
#include "internal/pagetype.h"

/* The validator of each type that needs one, by the type field of type_info. */
static const struct pagetype_ops *const type_ops_table[8] = {
    [PGT_L1 >> PGT_TYPE_SHIFT] = &paging_type_ops,
    [PGT_L2 >> PGT_TYPE_SHIFT] = &paging_type_ops,
    [PGT_L3 >> PGT_TYPE_SHIFT] = &paging_type_ops,
    [PGT_L4 >> PGT_TYPE_SHIFT] = &paging_type_ops,
    [PGT_SEG_DESC >> PGT_TYPE_SHIFT] = &desc_type_ops,
};

static const struct pagetype_ops *type_ops(uint32_t type_info)
{
    return type_ops_table[(type_info & PGT_TYPE_MASK) >> PGT_TYPE_SHIFT];
}

/*
 * A page-table type reference (L1-L4; the writable type has its own inline helpers). `d`
 * is the frame's owner, whose lock is held; the caller holds a general reference.
 * *took_over: the frame was PARTIAL and its type + general reference passed to the
 * caller, whose own general reference is then surplus. *handed_off: a type reference was
 * taken but validation was preempted or failed, so it and one general reference now
 * belong to the partial state or the teardown list.
 */
static int frame_get_type(const struct domain_locked *dl, uint64_t mfn, uint32_t type, bool *took_over,
                          bool *handed_off)
{
    struct machine *m = dl->d->m;
    struct frame *f = mfn_frame(m, mfn);
    uint32_t x = frame_type(f, memory_order_relaxed);
    uint32_t nx;
    const struct pagetype_ops *ops = type_ops(type);
    bool fresh;
    int rc;

    ASSERT_LOCKED(dl);
    PVCORE_ASSERT(ops != NULL);
    *took_over = false;
    *handed_off = false;
    for (;;) {
        uint32_t cnt = x & PGT_COUNT_MASK;

        fresh = false;
        if (cnt == PGT_COUNT_MASK) {
            return call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_TYPE_CONFLICT, mfn);
        }
        if (cnt == 0) {
            /* The type may change only while nobody holds it (and then it is none). */
            nx = type | 1u;
            fresh = true;
        } else {
            if ((x & (PGT_TYPE_MASK | PGT_PAE_XEN_L2)) != type) {
                return call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_TYPE_CONFLICT, mfn);
            }
            if (x & PGT_TEARDOWN) {
                /* Being devalidated: the hypercall's teardown pass must run first. */
                return -PVCORE_ERESTART;
            }
            if ((x & PGT_VALIDATED) == 0) {
                if ((x & PGT_PARTIAL) == 0) {
                    /* Only possible if a validation of this frame is in progress further up
                     * our own call chain, which the level structure rules out. */
                    return call_refuse(dl->call, -PVCORE_EBUSY, PVCORE_REFUSAL_TYPE_CONFLICT,
                                       mfn);
                }
                /* Take over the preempted validation together with its references. */
                nx = x & ~PGT_PARTIAL;
                if (frame_type_cas(f, &x, nx)) {
                    *took_over = true;
                    break;
                }
                continue;
            }
            nx = x + 1;
        }
        if (frame_type_cas(f, &x, nx)) {
            break;
        }
    }

    if (fresh) {
        frame_flush_stale_writable(m, mfn, atomic_load_explicit(&f->owner, memory_order_relaxed));
        aux_set_validated(mfn_aux(m, mfn), 0);
    }
    if (!fresh && !*took_over) {
        return 0;
    }
    rc = ops->validate(dl, mfn, type);
    if (rc != 0 && ops->devalidate == NULL) {
        /* A type whose frames hold nothing (descriptor pages) fails whole: no teardown
         * state, no type, and the caller drops the general reference it came with. */
        frame_type_store(f, 0);
        return rc;
    }
    *handed_off = rc != 0;
    return rc;
}

/* Drops a page-table type reference. *queued: it was the last of a validated table, which
 * went to the teardown list taking the caller's general reference with it. */
static void frame_put_type(const struct domain_locked *dl, uint64_t mfn, bool *queued)
{
    struct machine *m = dl->d->m;
    struct frame *f = mfn_frame(m, mfn);
    uint32_t x = frame_type(f, memory_order_relaxed);
    uint32_t nx;

    *queued = false;
    for (;;) {
        uint32_t cnt = x & PGT_COUNT_MASK;
        PVCORE_ASSERT(cnt != 0);
        if (cnt == 1 && type_ops(x) != NULL && type_ops(x)->devalidate != NULL &&
            (x & PGT_VALIDATED)) {
            /* Last reference to a live table: its entries' references must be released,
             * which may be a lot of work, so hand the frame to the teardown list with the
             * caller's type and general reference. */
            nx = (x & ~(PGT_VALIDATED | PGT_PINNED | PGT_PARTIAL)) | PGT_TEARDOWN;
            if (frame_type_cas(f, &x, nx)) {
                aux_set_validated(mfn_aux(m, mfn), type_ops(x)->entries);
                teardown_push(dl, mfn);
                *queued = true;
                return;
            }
            continue;
        }
        /* A partial or queued table is never put by anyone but its own state. */
        PVCORE_ASSERT(cnt > 1 || !(x & (PGT_PARTIAL | PGT_TEARDOWN)));
        /* With no holder left the frame has no type at all: one canonical free state. */
        nx = cnt == 1 ? 0u : x - 1;
        if (frame_type_cas(f, &x, nx)) {
            break;
        }
    }
}

int frame_get_page_and_type_slow(const struct domain_locked *dl, uint64_t mfn, uint32_t type)
{
    bool took_over, handed_off;
    int rc;

    if (!frame_get_page(dl->d->m, mfn, dl->d->domid)) {
        return call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_NOT_OWNER, mfn);
    }
    rc = frame_get_type(dl, mfn, type, &took_over, &handed_off);
    if (took_over || (rc != 0 && !handed_off)) {
        /* Taken over: the partial state's general reference is ours instead. Failed
         * before taking the type: ours is not needed. */
        frame_put_page(dl->d->m, mfn);
    }
    return rc;
}

void frame_put_page_and_type_slow(const struct domain_locked *dl, uint64_t mfn)
{
    bool queued;

    ASSERT_LOCKED(dl);
    frame_put_type(dl, mfn, &queued);
    if (!queued) {
        frame_put_page(dl->d->m, mfn);
    }
}

/* ---- refusal records ------------------------------------------------------------------- */

int call_refuse(struct call *c, int err, unsigned code, uint64_t mfn)
{
    if (c->refusal.code == 0) {
        c->refusal.code = (uint8_t)code;
        c->refusal.mfn = mfn;
    }
    return err;
}

int call_refuse_at(struct call *c, int err, unsigned level, unsigned slot, uint64_t table)
{
    if (err != -PVCORE_ERESTART && !c->refusal.at_set) {
        c->refusal.at_set = true;
        c->refusal.level = (uint8_t)level;
        c->refusal.slot = slot;
        c->refusal.table = table;
    }
    return err;
}

/* ---- teardown list ------------------------------------------------------------------------- */

void teardown_push(const struct domain_locked *dl, uint64_t mfn)
{
    struct frame_aux *a = mfn_aux(dl->d->m, mfn);

    ASSERT_LOCKED(dl);
    a->next = dl->d->teardown_head;
    dl->d->teardown_head = (uint32_t)(mfn + 1);
}

int domain_run_teardown(const struct domain_locked *dl)
{
    struct domain *d = dl->d;
    struct machine *m = d->m;
    bool progress = false;

    ASSERT_LOCKED(dl);
    while (d->teardown_head != 0) {
        uint64_t mfn = (uint64_t)d->teardown_head - 1;
        struct frame *f = mfn_frame(m, mfn);
        uint32_t x;
        int rc;

        if (progress && call_should_preempt(dl->call)) {
            return -PVCORE_ERESTART;
        }
        progress = true;
        /* Pop first: putting this frame's entries may push its children. */
        d->teardown_head = mfn_aux(m, mfn)->next;
        mfn_aux(m, mfn)->next = 0;
        x = frame_type(f, memory_order_relaxed);
        rc = type_ops(x)->devalidate(dl, mfn, x);
        if (rc == -PVCORE_ERESTART) {
            teardown_push(dl, mfn);
            return rc;
        }
        /* The teardown state held the last type reference: the frame has no type now. */
        x = frame_type(f, memory_order_relaxed);
        PVCORE_ASSERT((x & PGT_COUNT_MASK) == 1 && (x & PGT_TEARDOWN));
        frame_type_store(f, 0);
        frame_put_page(m, mfn);
    }
    return 0;
}

/* ---- references dropped without the owner's lock ---------------------------------------- */

void frame_put_table_unlocked(struct machine *m, uint64_t mfn)
{
    struct domain *od;
    struct call call;
    struct domain_locked locked;

    if (frame_put_table_if_not_last(mfn_frame(m, mfn))) {
        return;
    }
    /* Every other holder let go meanwhile: the last reference of a validated table queues
     * its devalidation, which is the owner's lock holder's work. With a reference held the
     * owner cannot change, and a domain stays in the table while it owns frames. */
    od = machine_domain(m, atomic_load_explicit(&mfn_frame(m, mfn)->owner, memory_order_acquire));
    PVCORE_ASSERT(od != NULL);
    call_init(&call, m);
    locked = domain_lock(&call, od);
    frame_put_page_and_type(&locked, mfn);
    domain_unlock(&locked);
}

void call_run_deferred(struct call *c)
{
    ASSERT_UNLOCKED(c);
    while (c->deferred != 0) {
        uint64_t mfn = (uint64_t)c->deferred - 1u;

        c->deferred = mfn_aux(c->m, mfn)->next;
        mfn_aux(c->m, mfn)->next = 0;
        frame_put_table_unlocked(c->m, mfn);
    }
}
