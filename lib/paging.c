/*
 * Paging formats as data, and one generic validator over them: whole-table validation
 * (preemptible, resumable) and devalidation with the per-entry rules of paging_entry.h,
 * the hypervisor slots, and the walk that update_va_mapping uses.
 *
 * All functions here run with the page-table owner's mmu_lock held.
 */
#include "internal/paging_entry.h"

/* First L2 slot of the hypervisor's area (0xF5800000) in the L2 that L3 slot 3 maps. */
#define PAE_XEN_L2_FIRST ((0xF5800000u >> 21) & 511u)

/* A level with no hypervisor slots and no special slot. */
#define NO_XEN_SLOTS .xen_first = 1, .xen_last = 0, .hyp_l2_slot = PT_NO_SLOT

const struct pt_format pt_format_64 = {
    .levels = 4,
    .l1_kernel_adjust = true,
    .va_limit_low = 0x0000800000000000ull,
    .va_limit_high = 0xFFFF880000000000ull,
    .lv = {
        [1] = { .disallow = L1_DISALLOW, NO_XEN_SLOTS, .guest_limit = PAGING_ENTRIES,
                .reserved_err = -PVCORE_EINVAL },
        [2] = { .disallow = BASE_DISALLOW, .adjust = PTE_US, NO_XEN_SLOTS,
                .guest_limit = PAGING_ENTRIES, .reserved_err = -PVCORE_EINVAL, .linear = true },
        [3] = { .disallow = BASE_DISALLOW, .adjust = PTE_US, NO_XEN_SLOTS,
                .guest_limit = PAGING_ENTRIES, .reserved_err = -PVCORE_EINVAL, .linear = true },
        /* Slots 256-271 are the hypervisor's (HYPERVISOR_VIRT_START..END). */
        [4] = { .disallow = BASE_DISALLOW, .adjust = PTE_US | PTE_A, .xen_first = 256,
                .xen_last = 271, .hyp_l2_slot = PT_NO_SLOT, .guest_limit = PAGING_ENTRIES,
                .reserved_err = -PVCORE_EINVAL, .hyp_template = HYP_TEMPLATE_L4,
                .linear = true },
    },
    /* (No 64-bit table has this type.) */
    .pae_xen_l2 = { .disallow = BASE_DISALLOW, NO_XEN_SLOTS, .guest_limit = PAGING_ENTRIES,
                    .reserved_err = -PVCORE_EINVAL },
};

const struct pt_format pt_format_pae = {
    .levels = 3,
    .l1_kernel_adjust = false,
    .va_limit_low = 0xF5800000ull,
    .va_limit_high = 0,
    .lv = {
        [1] = { .disallow = L1_DISALLOW, NO_XEN_SLOTS, .guest_limit = PAGING_ENTRIES,
                .reserved_err = -PVCORE_EINVAL },
        [2] = { .disallow = BASE_DISALLOW, NO_XEN_SLOTS, .guest_limit = PAGING_ENTRIES,
                .reserved_err = -PVCORE_EINVAL, .linear = true },
        /* Only 4 PDPT slots exist; slot 3 maps the L2 that holds the hypervisor. No linear
         * entries: the forced RW would make them writable (XSA-185). */
        [3] = { .disallow = PAE_L3_DISALLOW, .adjust = PTE_US | PTE_RW, .xen_first = 1,
                .xen_last = 0, .hyp_l2_slot = 3, .guest_limit = 4,
                .reserved_err = -PVCORE_EINVAL, .below_4g = true },
    },
    .pae_xen_l2 = { .disallow = BASE_DISALLOW, .xen_first = PAE_XEN_L2_FIRST, .xen_last = 511,
                    .hyp_l2_slot = PT_NO_SLOT, .guest_limit = PAGING_ENTRIES,
                    .reserved_err = -PVCORE_EPERM, .hyp_template = HYP_TEMPLATE_PAE_L2,
                    .linear = true },
};

/* ---- whole tables ----------------------------------------------------------------------------- */

uint64_t paging_hyp_slot(const struct machine *m, const struct pt_level *lv, unsigned slot)
{
    const uint64_t *tmpl = NULL;

    if (slot < lv->xen_first || slot > lv->xen_last) {
        return 0; /* beyond a PAE L3's four slots: always empty */
    }
    if (lv->hyp_template == HYP_TEMPLATE_L4) {
        tmpl = m->hyp_l4_slots;
    } else if (lv->hyp_template == HYP_TEMPLATE_PAE_L2) {
        tmpl = m->hyp_pae_l2_slots;
    }
    return tmpl != NULL ? tmpl[slot - lv->xen_first] : 0;
}

static void fill_xen_slots(const struct machine *m, uint64_t *pt, const struct pt_level *lv)
{
    unsigned i;

    /* Whatever the guest wrote there is ignored and replaced by the hypervisor's own. */
    for (i = 0; i < PAGING_ENTRIES; i++) {
        if (!paging_slot_is_guest(lv, i)) {
            pte_write(&pt[i], paging_hyp_slot(m, lv, i));
        }
    }
}

/* Validation failed after `nr` entries took references: release them, then no type. */
static void to_teardown(const struct domain_locked *dl, uint64_t mfn, unsigned nr)
{
    struct frame *f = mfn_frame(dl->d->m, mfn);
    struct frame_aux *fa = mfn_aux(dl->d->m, mfn);

    aux_set_validated(fa, nr);
    frame_type_fetch_and(f, ~PGT_PARTIAL, memory_order_relaxed);
    frame_type_fetch_or(f, PGT_TEARDOWN, memory_order_release);
    teardown_push(dl, mfn);
}

static int paging_validate(const struct domain_locked *dl, uint64_t mfn, uint32_t type)
{
    struct domain *d = dl->d;
    struct machine *m = d->m;
    unsigned level = pgt_type_level(type);
    struct frame *f = mfn_frame(m, mfn);
    struct frame_aux *fa = mfn_aux(m, mfn);
    uint32_t type_info = frame_type(f, memory_order_relaxed);
    const struct pt_level *lv = paging_level(d, level, type_info);
    struct pg_owner self = { d->domid, d };
    uint64_t *pt = frame_entries(m, mfn);
    unsigned start = aux_validated(fa);
    unsigned i;
    int rc;

    if (lv->below_4g && mfn >= (1ull << 20) &&
        !(d->vmassist & (1u << PVCORE_VMASST_TYPE_pae_extended_cr3))) {
        /* A PAE PDPT must be below 4 GiB unless the guest says it copes. */
        to_teardown(dl, mfn, 0);
        call_refuse(dl->call, -PVCORE_ERANGE, PVCORE_REFUSAL_BELOW_4G, mfn);
        return call_refuse_at(dl->call, -PVCORE_ERANGE, level, PVCORE_REFUSAL_NO_SLOT, mfn);
    }
    for (i = start; i < PAGING_ENTRIES; i++) {
        uint64_t e, ne;

        if (!paging_slot_is_guest(lv, i)) {
            continue;
        }
        e = pte_read(&pt[i]);
        /* Work: one unit per present entry, one per 32 scanned. L1 tables are bounded
         * (512 entries) and never preempted, as in Xen. */
        if ((i & 31u) == 0 || pte_present(e)) {
            if (level > 1 && i > start && call_should_preempt(dl->call)) {
                aux_set_validated(fa, i);
                frame_type_fetch_or(f, PGT_PARTIAL, memory_order_release);
                return -PVCORE_ERESTART;
            }
            call_charge(dl->call, 1);
        }
        if (!pte_present(e)) {
            if (i == lv->hyp_l2_slot) {
                to_teardown(dl, mfn, i);
                call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_PAE_SLOT3, INVALID_MFN);
                return call_refuse_at(dl->call, -PVCORE_EINVAL, level, i, mfn);
            }
            continue;
        }
        ne = e;
        if (level == 1) {
            rc = get_l1e(dl, d, &ne, &self);
            ne = adjust_l1(d, ne);
        } else if (e & lv->disallow) {
            rc = call_refuse(dl->call, -PVCORE_EINVAL, flags_reason(e & lv->disallow), pte_mfn(e));
        } else {
            rc = get_upper(dl, mfn, lv, level, i, e);
            ne |= lv->adjust;
        }
        if (rc == -PVCORE_ERESTART) {
            aux_set_validated(fa, i);
            frame_type_fetch_or(f, PGT_PARTIAL, memory_order_release);
            return rc;
        }
        if (rc != 0) {
            to_teardown(dl, mfn, i);
            return call_refuse_at(dl->call, rc, level, i, mfn);
        }
        if (ne != e) {
            pte_write(&pt[i], ne);
        }
    }
    fill_xen_slots(m, pt, lv);
    aux_set_validated(fa, 0);
    /* release: the entries' references are taken before the table counts as valid. */
    frame_type_fetch_and(f, ~PGT_PARTIAL, memory_order_relaxed);
    frame_type_fetch_or(f, PGT_VALIDATED, memory_order_release);
    return 0;
}

static int paging_devalidate(const struct domain_locked *dl, uint64_t mfn, uint32_t type)
{
    struct domain *d = dl->d;
    struct machine *m = d->m;
    unsigned level = pgt_type_level(type);
    struct frame *f = mfn_frame(m, mfn);
    struct frame_aux *fa = mfn_aux(m, mfn);
    uint32_t type_info = frame_type(f, memory_order_relaxed);
    const struct pt_level *lv = paging_level(d, level, type_info);
    uint64_t *pt = frame_entries(m, mfn);
    bool progress = false;

    while (aux_validated(fa) > 0) {
        unsigned i = aux_validated(fa) - 1u;
        uint64_t e;

        if (!paging_slot_is_guest(lv, i)) {
            aux_set_validated(fa, i);
            continue;
        }
        e = pte_read(&pt[i]);
        if ((i & 31u) == 0 || pte_present(e)) {
            if (level > 1 && progress && call_should_preempt(dl->call)) {
                return -PVCORE_ERESTART;
            }
            call_charge(dl->call, 1);
        }
        if (level == 1) {
            put_l1e(dl, e);
        } else {
            put_upper(dl, mfn, level, e);
        }
        aux_set_validated(fa, i);
        progress = true;
    }
    return 0;
}

const struct pagetype_ops paging_type_ops = {
    .entries = PAGING_ENTRIES,
    .validate = paging_validate,
    .devalidate = paging_devalidate,
};

int paging_mod_l1_entry(const struct domain_locked *dl, uint64_t l1, unsigned slot, uint64_t val,
                        const struct pg_owner *pg)
{
    uint64_t *p = &frame_entries(dl->d->m, l1)[slot];

    ASSERT_LOCKED(dl);
    return mod_l1(dl, p, pte_read(p), val, false, pg);
}

/* ---- walking a vCPU's tables -------------------------------------------------------------------- */

int paging_find_l1e(const struct domain_locked *dl, struct vcpu *v, uint64_t va, uint64_t *l1_mfn,
                    unsigned *slot)
{
    struct domain *d = v->d;
    struct machine *m = d->m;
    uint64_t mfn = v->guest_table;
    unsigned level;

    ASSERT_LOCKED(dl);
    PVCORE_ASSERT(dl->d == d);
    if (!paging_va_is_guest(d, va) || mfn == INVALID_MFN) {
        call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_NOT_MAPPED, INVALID_MFN);
        return call_refuse_at(dl->call, -PVCORE_EINVAL, 0, PVCORE_REFUSAL_NO_SLOT, INVALID_MFN);
    }
    for (level = domain_format(d)->levels; level > 1; level--) {
        uint64_t e;

        if (mfn >= m->nr_frames ||
            atomic_load_explicit(&mfn_frame(m, mfn)->owner, memory_order_relaxed) != d->domid ||
            !walk_step(d, mfn, frame_type(mfn_frame(m, mfn), memory_order_acquire), level, va,
                       &e)) {
            call_refuse(dl->call, -PVCORE_EINVAL, PVCORE_REFUSAL_NOT_MAPPED, mfn);
            return call_refuse_at(dl->call, -PVCORE_EINVAL, level, walk_index(va, level), mfn);
        }
        mfn = pte_mfn(e);
    }
    *l1_mfn = mfn;
    *slot = walk_index(va, 1);
    return 0;
}
