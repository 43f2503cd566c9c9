/*
 * The invariant checker. Deliberately independent of the update paths: it never calls
 * them, and recomputes every count from the raw frame table and table contents.
 */
#include <pvcore/check.h>

#include "internal/grant.h"
#include "internal/paging.h"

struct expect {
    uint32_t gen;
    uint32_t type;
    uint16_t lin_container;
    uint16_t lin_target;
};

struct checker {
    struct machine *m;
    struct expect *exp;
    struct pvcore_check_report *r;
};

static void violation(struct checker *c, uint32_t code, uint64_t mfn, uint64_t expected,
                      uint64_t actual)
{
    if (c->r->violations == 0) {
        c->r->code = code;
        c->r->mfn = mfn;
        c->r->expected = expected;
        c->r->actual = actual;
    }
    c->r->violations++;
}

static struct domain *owner_domain(const struct machine *m, uint16_t owner)
{
    if (owner >= m->max_domains) {
        return NULL;
    }
    return atomic_load_explicit(&m->domtab[owner], memory_order_acquire);
}

static void hold(struct checker *c, uint64_t mfn, bool type)
{
    if (mfn < c->m->nr_frames) {
        c->exp[mfn].gen++;
        if (type) {
            c->exp[mfn].type++;
        }
    }
}

/* Accounts for and checks the references held by entries [0, n) of table `mfn`. */
static void check_entries(struct checker *c, struct domain *d, uint64_t mfn, uint32_t t,
                          unsigned n, bool live)
{
    struct machine *m = c->m;
    unsigned level = pgt_type_level(t);
    const struct pt_level *lv = paging_level(d, level, t);
    const uint64_t *pt = frame_entries(m, mfn);
    unsigned i;

    for (i = 0; i < PAGING_ENTRIES; i++) {
        uint64_t e = pte_read(&pt[i]);
        uint64_t target = pte_mfn(e);

        c->r->entries_checked++;
        if (!paging_slot_is_guest(lv, i)) {
            /* Hypervisor slots and slots beyond a PAE L3's four: never guest values. */
            if (live && e != paging_hyp_slot(m, lv, i)) {
                violation(c, PVCORE_CHECK_XEN_SLOT, mfn, i, e);
            }
            continue;
        }
        if (i >= n || !pte_present(e)) {
            if (live && i == lv->hyp_l2_slot) {
                violation(c, PVCORE_CHECK_XEN_SLOT, mfn, i, e);
            }
            continue;
        }
        if (level == 1) {
            /* L1 cache bits and I/O mappings depend on permissions that may be revoked
             * after the fact (existing mappings stay): only structural rules are checked. */
            if (!mfn_is_ram(m, target)) {
                continue;
            }
            {
                const struct frame *tf = mfn_frame(m, target);
                uint16_t towner = atomic_load_explicit(&tf->owner, memory_order_relaxed);
                uint32_t tt = frame_type(tf, memory_order_relaxed);
                /* Another domain's frame can only have been mapped by a privileged domain
                 * (its own table, or one it wrote for another): it must be a guest's frame.
                 * Hypervisor frames only read-only. */
                if (towner != d->domid && towner >= PVCORE_DOMID_FIRST_RESERVED &&
                    !(towner == PVCORE_DOMID_XEN && !(e & PTE_RW))) {
                    violation(c, PVCORE_CHECK_FOREIGN_MAPPING, mfn, i, target);
                }
                if ((e & PTE_RW) && (tt & PGT_TYPE_MASK) != PGT_WRITABLE) {
                    violation(c, PVCORE_CHECK_WRITABLE_PT, target, mfn, i);
                }
                /* A grant mapping's references are its handle's (counted below). */
                if (!(e & PTE_GNTTAB)) {
                    hold(c, target, (e & PTE_RW) != 0);
                }
            }
            continue;
        }
        if (e & lv->disallow) {
            violation(c, PVCORE_CHECK_FLAGS, mfn, i, e);
        }
        if (target == mfn) {
            if (e & PTE_RW) {
                violation(c, PVCORE_CHECK_WRITABLE_PT, mfn, mfn, i);
            }
            continue;
        }
        if (!mfn_is_ram(m, target) ||
            atomic_load_explicit(&mfn_frame(m, target)->owner, memory_order_relaxed) != d->domid) {
            violation(c, PVCORE_CHECK_FOREIGN_MAPPING, mfn, i, target);
            continue;
        }
        {
            uint32_t tt = frame_type(mfn_frame(m, target), memory_order_relaxed);
            if ((tt & PGT_TYPE_MASK) == (t & PGT_TYPE_MASK)) {
                /* A linear entry: read-only, and counted on both sides. */
                if (e & PTE_RW) {
                    violation(c, PVCORE_CHECK_WRITABLE_PT, target, mfn, i);
                }
                c->exp[mfn].lin_container++;
                c->exp[target].lin_target++;
            } else if (pgt_type_level(tt) != level - 1u) {
                violation(c, PVCORE_CHECK_STATE, target, level - 1u, pgt_type_level(tt));
            }
            if (live && i == lv->hyp_l2_slot &&
                (!(tt & PGT_PAE_XEN_L2) || (tt & PGT_COUNT_MASK) != 1)) {
                violation(c, PVCORE_CHECK_XEN_SLOT, mfn, i, tt);
            }
        }
        hold(c, target, true);
    }
}

/* The references the live parts (host, device) of d's grant mappings hold (internal/grant.h). */
static void check_grant_holds(struct checker *c, const struct domain *d)
{
    uint32_t h, used = 0;

    for (h = 0; d->gnt.maptrack != NULL && h < d->gnt.nr_maptrack; h++) {
        const struct gnt_maptrack *mt = &d->gnt.maptrack[h];
        bool rw = !(mt->flags & PVCORE_GNTMAP_readonly);
        if (mt->flags == 0) {
            continue;
        }
        used++;
        if (!(mt->flags & (PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_device_map))) {
            violation(c, PVCORE_CHECK_STATE, d->domid, 13, h);
        }
        if (mt->flags & PVCORE_GNTMAP_host_map) {
            hold(c, mt->mfn, rw);
        }
        if (mt->flags & PVCORE_GNTMAP_device_map) {
            hold(c, mt->mfn, rw);
        }
    }
    if (used != d->gnt.maptrack_used) {
        violation(c, PVCORE_CHECK_STATE, d->domid, 13, used);
    }
}

/* A reference held outside the frame table on domain d's frame `mfn`, of type `type`
 * (a general and a type reference): GDT and LDT frames (descriptor pages), a registered
 * vcpu_info and the frames the hypervisor writes into (writable). `what` names the
 * holder in a report. */
static void hold_typed(struct checker *c, const struct domain *d, uint64_t mfn, uint32_t type,
                       uint64_t what)
{
    const struct frame *f;

    if (mfn >= c->m->nr_frames) {
        violation(c, PVCORE_CHECK_STATE, mfn, what, d->domid);
        return;
    }
    f = mfn_frame(c->m, mfn);
    if (atomic_load_explicit(&f->owner, memory_order_relaxed) != d->domid) {
        violation(c, PVCORE_CHECK_FOREIGN_MAPPING, mfn, d->domid,
                  atomic_load_explicit(&f->owner, memory_order_relaxed));
    }
    if ((frame_type(f, memory_order_relaxed) & PGT_TYPE_MASK) != type) {
        violation(c, PVCORE_CHECK_STATE, mfn, what, frame_type(f, memory_order_relaxed));
    }
    hold(c, mfn, true);
}

static void hold_desc(struct checker *c, const struct domain *d, uint64_t mfn)
{
    hold_typed(c, d, mfn, PGT_SEG_DESC, 6);
}

/* A registered vcpu_info (VCPUOP_register_vcpu_info): the domain's own frame, holding a
 * general and a writable type reference, and the 64 bytes inside the page. */
static void check_vcpu_info_holder(struct checker *c, const struct domain *d, const struct vcpu *v)
{
    uint64_t mfn = INVALID_MFN;
    uint32_t off = 0;

    if (!v->cpu.vcpu_info_registered) {
        return;
    }
    if (!cpu_vcpu_info_get(&v->cpu, &mfn, &off) || mfn >= c->m->nr_frames || off > 4096u - 64u) {
        violation(c, PVCORE_CHECK_STATE, mfn, 8, off);
        return;
    }
    hold_typed(c, d, mfn, PGT_WRITABLE, 9);
}

/* The FIFO event ABI's frames (EVTCHNOP_init_control, expand_array): each control block
 * inside its page and 8-byte aligned, each frame writable and held once per use; none
 * at all on the 2-level ABI. */
static void check_fifo_holders(struct checker *c, const struct domain *d)
{
    uint32_t i, n = d->evt.fifo_pages;

    if (!d->evt.fifo && n != 0) {
        violation(c, PVCORE_CHECK_STATE, d->domid, 12, n);
    }
    if (n > EVTCHN_FIFO_MAX_PAGES) {
        violation(c, PVCORE_CHECK_STATE, d->domid, 12, n);
        n = EVTCHN_FIFO_MAX_PAGES;
    }
    for (i = 0; i < n; i++) {
        hold_typed(c, d, d->evt.fifo_page[i], PGT_WRITABLE, 12);
    }
    for (i = 0; i < d->nr_vcpus; i++) {
        const struct vcpu_evtchn *ve = &d->vcpus[i].evt;

        if (!ve->fifo_cb) {
            continue;
        }
        if (!d->evt.fifo || ve->fifo_cb_off > 4096u - 72u || (ve->fifo_cb_off & 7u) != 0) {
            violation(c, PVCORE_CHECK_STATE, ve->fifo_cb_mfn, 11, ve->fifo_cb_off);
        }
        hold_typed(c, d, ve->fifo_cb_mfn, PGT_WRITABLE, 11);
    }
}

static void check_desc_holders(struct checker *c, const struct domain *d, const struct vcpu *v)
{
    /* (A corrupted count must not take the scan beyond the array.) */
    uint32_t nr = (v->cpu.gdt_ents + 511u) / 512u;
    uint32_t i;

    if (v->cpu.gdt_ents > PVCORE_FIRST_RESERVED_GDT_ENTRY) {
        violation(c, PVCORE_CHECK_STATE, v->id, 7, v->cpu.gdt_ents);
        nr = CPU_GDT_MAX_FRAMES;
    }
    for (i = 0; i < nr; i++) {
        hold_desc(c, d, v->cpu.gdt_frames[i]);
    }
    for (i = 0; i < CPU_LDT_MAX_FRAMES; i++) {
        if (v->cpu.ldt_frames[i] != INVALID_MFN) {
            hold_desc(c, d, v->cpu.ldt_frames[i]);
        }
    }
}

/*
 * A descriptor page in use: validated and nothing else, and no present descriptor that
 * the rules refuse, restated here from the ABI rather than taken from the checker that
 * installed it: no privilege above the guest kernel's ring, no system descriptor but a
 * call gate stored with DPL 0 and leading to an allowed selector (or type 0), no 64-bit
 * code for a 32-bit guest.
 */
static void check_desc_frame(struct checker *c, uint64_t mfn, uint32_t t, uint16_t owner)
{
    const struct domain *d = owner_domain(c->m, owner);
    const uint64_t *descs = frame_entries(c->m, mfn);
    unsigned i;

    if ((t & (PGT_PINNED | PGT_PARTIAL | PGT_TEARDOWN | PGT_PAE_XEN_L2)) != 0 ||
        !(t & PGT_VALIDATED) || d == NULL) {
        violation(c, PVCORE_CHECK_STATE, mfn, 8, t);
        return;
    }
    for (i = 0; i < 512; i++) {
        uint64_t e = atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)&descs[i],
                                          memory_order_relaxed);
        unsigned dpl = (unsigned)(e >> 45) & 3u;
        unsigned type = (unsigned)(e >> 40) & 15u;
        unsigned sel = (unsigned)(e >> 16) & 0xFFFFu;
        bool is32 = domain_is_32(d);
        bool ok;

        c->r->entries_checked++;
        if (!(e & (1ull << 47))) {
            continue;
        }
        if (e & (1ull << 44)) {
            ok = dpl >= (is32 ? 1u : 3u) && !(is32 && (e & (1ull << 53)));
        } else {
            /* A gate keeps the DPL asked for in its selector's RPL. */
            unsigned flat = is32 ? PVCORE_FLAT_KERNEL_CS_X86_32 : PVCORE_FLAT_KERNEL_CS_X86_64;
            ok = type == 0 ||
                 (type == 0xC && dpl == 0 && (sel & 3u) >= (is32 ? 1u : 3u) &&
                  ((sel & 4u) != 0 || sel < PVCORE_FIRST_RESERVED_GDT_BYTE ||
                   (sel & ~3u) == (flat & ~3u)));
        }
        if (!ok) {
            violation(c, PVCORE_CHECK_FLAGS, mfn, i, e);
        }
    }
}

size_t pvcore_check_scratch_size(const struct pvcore_machine *pm)
{
    const struct machine *m = (const struct machine *)(const void *)pm;
    return (size_t)m->nr_frames * sizeof(struct expect);
}

int pvcore_check_invariants(struct pvcore_machine *pm, void *scratch, size_t len,
                            struct pvcore_check_report *report)
{
    struct machine *m = (struct machine *)(void *)pm;
    struct checker c;
    uint64_t mfn;
    uint32_t dom;

    memset(report, 0, sizeof(*report));
    if (scratch == NULL || len < pvcore_check_scratch_size(pm) || ((uintptr_t)scratch & 3u)) {
        return -PVCORE_EINVAL;
    }
    c.m = m;
    c.exp = scratch;
    c.r = report;
    memset(scratch, 0, pvcore_check_scratch_size(pm));

    /* Holders outside the frame table: base pointers, GDT and LDT frames, vcpu_infos. */
    for (dom = 0; dom < m->max_domains; dom++) {
        struct domain *d = atomic_load_explicit(&m->domtab[dom], memory_order_acquire);
        uint32_t i;
        if (d == NULL) {
            continue;
        }
        for (i = 0; i < d->nr_vcpus; i++) {
            if (d->vcpus[i].guest_table != INVALID_MFN) {
                hold(&c, d->vcpus[i].guest_table, true);
            }
            if (d->vcpus[i].guest_table_user != INVALID_MFN) {
                hold(&c, d->vcpus[i].guest_table_user, true);
            }
            check_desc_holders(&c, d, &d->vcpus[i]);
            check_vcpu_info_holder(&c, d, &d->vcpus[i]);
        }
        /* The frames the hypervisor writes into (internal/held.h): writable for good. */
        if (d->shared_info_mfn != INVALID_MFN) {
            hold_typed(&c, d, d->shared_info_mfn, PGT_WRITABLE, 10);
        }
        for (i = 0; i < d->gnt.max && i < PVCORE_GRANT_MAX_FRAMES; i++) {
            hold_typed(&c, d, d->gnt.frames[i], PGT_WRITABLE, 10);
        }
        for (i = 0; i < d->gnt.nr_status && i < PVCORE_GRANT_MAX_STATUS_FRAMES; i++) {
            hold_typed(&c, d, d->gnt.status[i], PGT_WRITABLE, 10);
        }
        for (i = 0; i < d->nr_emb_held && i < PVCORE_DOMAIN_MAX_HELD_FRAMES; i++) {
            hold_typed(&c, d, d->emb_held[i], PGT_WRITABLE, 10);
        }
        /* Each live part of each grant mapping it holds: a general reference, and a
         * writable one when writable. */
        check_grant_holds(&c, d);
        check_fifo_holders(&c, d);
    }

    /* Holders inside: allocation, pins, partial and teardown states, table entries. */
    for (mfn = 0; mfn < m->nr_frames; mfn++) {
        const struct frame *f = mfn_frame(m, mfn);
        uint32_t cnt = frame_count(f, memory_order_acquire);
        uint32_t t = frame_type(f, memory_order_acquire);
        uint16_t owner = atomic_load_explicit(&f->owner, memory_order_acquire);
        unsigned level = pgt_type_level(t);
        struct domain *d;

        report->frames_checked++;
        if ((cnt & FC_COUNT_MASK) == 0) {
            if ((cnt & FC_ALLOCATED) || t != 0 ||
                ((cnt & FC_RAM) && owner != DOMID_FREE)) {
                violation(&c, PVCORE_CHECK_FREE_FRAME, mfn, 0, t);
            }
            continue;
        }
        if (owner == DOMID_FREE) {
            violation(&c, PVCORE_CHECK_FREE_FRAME, mfn, 0, cnt);
            continue;
        }
        if (cnt & FC_ALLOCATED) {
            c.exp[mfn].gen++;
        }
        if ((t & PGT_COUNT_MASK) == 0 && t != 0) {
            /* A type with no holder is not a type: the free-of-type state is canonical. */
            violation(&c, PVCORE_CHECK_STATE, mfn, 4, t);
        }
        if ((t & PGT_PINNED) &&
            (level == 0 || !(t & PGT_VALIDATED) || (t & (PGT_PARTIAL | PGT_TEARDOWN)))) {
            violation(&c, PVCORE_CHECK_STATE, mfn, 0, t);
        }
        if (t & PGT_PINNED) {
            hold(&c, mfn, true);
        }
        if ((t & (PGT_PARTIAL | PGT_TEARDOWN)) != 0) {
            if ((t & PGT_VALIDATED) || (t & PGT_COUNT_MASK) != 1 || level == 0 ||
                (t & PGT_PARTIAL && t & PGT_TEARDOWN)) {
                violation(&c, PVCORE_CHECK_STATE, mfn, 1, t);
            }
            hold(&c, mfn, true);
        }
        if ((t & PGT_TYPE_MASK) == PGT_SEG_DESC && (t & PGT_COUNT_MASK) != 0) {
            check_desc_frame(&c, mfn, t, owner);
            continue;
        }
        if (level == 0 || (t & PGT_COUNT_MASK) == 0) {
            continue;
        }
        d = owner_domain(m, owner);
        if (d == NULL) {
            violation(&c, PVCORE_CHECK_STATE, mfn, 2, owner);
            continue;
        }
        if (t & PGT_VALIDATED) {
            check_entries(&c, d, mfn, t, PAGING_ENTRIES, true);
        } else if (t & (PGT_PARTIAL | PGT_TEARDOWN)) {
            check_entries(&c, d, mfn, t, aux_validated(mfn_aux(m, mfn)), false);
        } else {
            violation(&c, PVCORE_CHECK_STATE, mfn, 3, t);
        }
    }

    /* Compare. */
    for (mfn = 0; mfn < m->nr_frames; mfn++) {
        const struct frame *f = mfn_frame(m, mfn);
        uint32_t cnt = frame_count(f, memory_order_relaxed) & FC_COUNT_MASK;
        uint32_t t = frame_type(f, memory_order_relaxed);
        int16_t lin = atomic_load_explicit(&mfn_aux(m, mfn)->linear, memory_order_relaxed);
        const struct expect *e = &c.exp[mfn];

        if (cnt != e->gen) {
            violation(&c, PVCORE_CHECK_GENERAL_COUNT, mfn, e->gen, cnt);
        }
        if ((t & PGT_COUNT_MASK) != e->type) {
            violation(&c, PVCORE_CHECK_TYPE_COUNT, mfn, e->type, t & PGT_COUNT_MASK);
        }
        if ((e->lin_container != 0 && e->lin_target != 0) ||
            (int32_t)lin != (int32_t)e->lin_container - (int32_t)e->lin_target) {
            violation(&c, PVCORE_CHECK_LINEAR, mfn,
                      (uint64_t)((int64_t)e->lin_container - (int64_t)e->lin_target),
                      (uint64_t)(int64_t)lin);
        }
    }

    /* Domains: frame counts and P2M. */
    for (dom = 0; dom < m->max_domains; dom++) {
        struct domain *d = atomic_load_explicit(&m->domtab[dom], memory_order_acquire);
        uint64_t owned = 0, g;
        if (d == NULL) {
            continue;
        }
        for (mfn = 0; mfn < m->nr_frames; mfn++) {
            const struct frame *f = mfn_frame(m, mfn);
            if (atomic_load_explicit(&f->owner, memory_order_relaxed) == d->domid &&
                (frame_count(f, memory_order_relaxed) & FC_COUNT_MASK) != 0) {
                owned++;
            }
        }
        if (owned != atomic_load_explicit(&d->tot_pages, memory_order_relaxed)) {
            violation(&c, PVCORE_CHECK_TOT_PAGES, d->domid, owned,
                      atomic_load_explicit(&d->tot_pages, memory_order_relaxed));
        }
        for (g = 0; d->p2m != NULL && g < d->p2m_size; g++) {
            uint64_t x = d->p2m[g];
            if (x == INVALID_MFN) {
                continue;
            }
            if (x >= m->nr_frames || m->m2p[x] != g ||
                atomic_load_explicit(&mfn_frame(m, x)->owner, memory_order_relaxed) != d->domid) {
                violation(&c, PVCORE_CHECK_P2M, x, g, x < m->nr_frames ? m->m2p[x] : 0);
            }
        }
    }
    for (mfn = 0; m->m2p_compat != NULL && mfn < m->nr_frames; mfn++) {
        if (m->m2p_compat[mfn] != (uint32_t)m->m2p[mfn]) {
            violation(&c, PVCORE_CHECK_P2M, mfn, (uint32_t)m->m2p[mfn], m->m2p_compat[mfn]);
        }
    }
    return report->violations == 0 ? 0 : -PVCORE_EINVAL;
}

const char *pvcore_check_code_name(uint32_t code)
{
    static const char *const names[] = {
        "ok", "general-count", "type-count", "writable-page-table", "foreign-mapping",
        "hypervisor-slot", "flags", "linear", "free-frame", "state", "tot-pages", "p2m",
    };
    return code < sizeof(names) / sizeof(names[0]) ? names[code] : "unknown";
}
