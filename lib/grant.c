/*
 * Grant tables (versions 1 and 2): the table's frames (embedder memory, given per domain),
 * setup_table, query_size, the version and the status frames; mapping a grant into the
 * mapper's L1 tables or for a device (map_grant_ref), unmapping it (unmap_grant_ref,
 * unmap_and_replace), copying through grants (copy), page transfer (transfer),
 * swap_grant_ref and cache_flush. internal/grant.h has the state and its references; the
 * lock order is domain.c's. The table's size only grows, so it is an atomic.
 */
#include <pvcore/abi/grant_table.h>
#include <pvcore/grant.h>

#include "internal/grant.h"
#include "internal/held.h"
#include "internal/hypercall.h"
#include "internal/m2p.h"
#include "internal/memory.h"
#include "internal/paging_entry.h"

#define PAGE_OFFSET_MASK ((uint64_t)PVCORE_PAGE_SIZE - 1)
/* grant_table_op's command: the op in bits 0-11, a continuation argument above (Xen's). */
#define GNTTABOP_ARG_SHIFT 12
#define GNTTABOP_CMD_MASK ((1u << GNTTABOP_ARG_SHIFT) - 1u)

int pvcore_domain_set_grant_frames(struct pvcore_domain *pd, const pvcore_mfn_t *frames, uint32_t nr)
{
    struct domain *d = (struct domain *)(void *)pd;
    struct domain_locked dl;
    struct call call;
    uint32_t i;
    int rc = 0;

    if (d == NULL || (frames == NULL && nr != 0) || nr > PVCORE_GRANT_MAX_FRAMES) {
        return -PVCORE_EINVAL;
    }
    call_init(&call, d->m);
    dl = domain_lock(&call, d);
    if (d->gnt.max != 0) {
        rc = -PVCORE_EBUSY;
    }
    /* Each frame held writable from now on (internal/held.h): all or none. */
    for (i = 0; rc == 0 && i < nr; i++) {
        rc = held_get(&dl, frames[i].v);
        if (rc != 0) {
            while (i-- > 0) {
                held_put(&dl, frames[i].v);
            }
            break;
        }
    }
    if (rc == 0) {
        for (i = 0; i < nr; i++) {
            d->gnt.frames[i] = frames[i].v;
        }
        d->gnt.max = nr;
        /* As Xen's, a table starts with one frame in use (INITIAL_NR_GRANT_FRAMES): its
         * reserved entries can be granted and mapped before the guest's setup_table. */
        if (nr != 0) {
            atomic_store(&d->gnt.nr, 1u);
        }
    }
    domain_unlock(&dl);
    return rc;
}

int pvcore_domain_set_grant_status_frames(struct pvcore_domain *pd, const pvcore_mfn_t *frames,
                                          uint32_t nr)
{
    struct domain *d = (struct domain *)(void *)pd;
    struct domain_locked dl;
    struct call call;
    uint32_t i;
    int rc = 0;

    if (d == NULL || frames == NULL || nr > PVCORE_GRANT_MAX_STATUS_FRAMES) {
        return -PVCORE_EINVAL;
    }
    call_init(&call, d->m);
    dl = domain_lock(&call, d);
    if (d->gnt.nr_status != 0) {
        rc = -PVCORE_EBUSY;
    } else if (nr == 0 || nr < (d->gnt.max + 7u) / 8u) {
        rc = -PVCORE_EINVAL; /* too few for the version-2 entries of the whole table */
    }
    for (i = 0; rc == 0 && i < nr; i++) {
        rc = held_get(&dl, frames[i].v);
        if (rc != 0) {
            while (i-- > 0) {
                held_put(&dl, frames[i].v);
            }
            break;
        }
    }
    if (rc == 0) {
        for (i = 0; i < nr; i++) {
            d->gnt.status[i] = frames[i].v;
        }
        spin_lock(&d->gnt.lock);
        d->gnt.nr_status = nr;
        spin_unlock(&d->gnt.lock);
    }
    domain_unlock(&dl);
    return rc;
}

/* Writes frames[0..nr) to the guest's array at `list`, `word` bytes each (as Xen, every
 * one is tried): GNTST_bad_virt_addr if any could not be written. */
static int16_t put_frame_list(const struct caller *c, uint64_t list, const uint64_t *frames, uint32_t nr,
                              size_t word)
{
    int16_t status = PVCORE_GNTST_okay;
    uint32_t i;

    for (i = 0; i < nr; i++) {
        uint8_t b[8];
        hc_put_le(b, frames[i], (unsigned)word);
        if (hc_copy_out(c, list + (uint64_t)i * word, b, word) != 0) {
            status = PVCORE_GNTST_bad_virt_addr;
        }
    }
    return status;
}

static int16_t setup_table(const struct caller *c, uint16_t dom, uint32_t nr, uint64_t list)
{
    struct domain *d;
    bool denied;
    uint32_t cur;

    d = hc_target(c, dom, &denied);
    if (d == NULL) {
        return PVCORE_GNTST_bad_domain;
    }
    if (denied) {
        return PVCORE_GNTST_permission_denied;
    }
    if (nr > d->gnt.max) {
        return PVCORE_GNTST_general_error;
    }
    cur = atomic_load(&d->gnt.nr);
    while (cur < nr && !atomic_compare_exchange_weak(&d->gnt.nr, &cur, nr)) {
    }
    return put_frame_list(c, list, d->gnt.frames, nr, c->is32 ? 4u : 8u);
}

/* ---- the grant state: active entries and maptrack ---------------------------------------- */

size_t pvcore_grant_state_size(uint32_t nr_frames, uint32_t nr_handles)
{
    return (size_t)nr_frames * GNT_ENTRIES_PER_FRAME * sizeof(struct gnt_active) +
           (size_t)nr_handles * sizeof(struct gnt_maptrack);
}

int pvcore_domain_set_grant_state(struct pvcore_domain *pd, void *mem, size_t len,
                                  uint32_t nr_handles)
{
    struct domain *d = (struct domain *)(void *)pd;
    struct domain_locked dl;
    struct call call;
    size_t active;
    uint32_t i;
    int rc = 0;

    if (d == NULL || mem == NULL || ((uintptr_t)mem & 7u) != 0 ||
        nr_handles > PVCORE_GRANT_MAX_HANDLES) {
        return -PVCORE_EINVAL;
    }
    call_init(&call, d->m);
    dl = domain_lock(&call, d);
    active = (size_t)d->gnt.max * GNT_ENTRIES_PER_FRAME * sizeof(struct gnt_active);
    if (d->gnt.active != NULL || d->gnt.maptrack != NULL) {
        rc = -PVCORE_EBUSY;
    } else if (len < pvcore_grant_state_size(d->gnt.max, nr_handles)) {
        rc = -PVCORE_EINVAL;
    } else {
        memset(mem, 0, pvcore_grant_state_size(d->gnt.max, nr_handles));
        d->gnt.maptrack = nr_handles ? (struct gnt_maptrack *)(void *)((uint8_t *)mem + active) : NULL;
        for (i = 0; i < nr_handles; i++) {
            d->gnt.maptrack[i].next_free = i + 2u < nr_handles + 1u ? i + 2u : 0u;
        }
        d->gnt.nr_maptrack = nr_handles;
        d->gnt.maptrack_free = nr_handles ? 1u : 0u;
        d->gnt.maptrack_used = 0;
        /* Published under the grant lock: a mapper reads it under that lock. */
        spin_lock(&d->gnt.lock);
        d->gnt.active = d->gnt.max ? (struct gnt_active *)mem : NULL;
        spin_unlock(&d->gnt.lock);
    }
    domain_unlock(&dl);
    return rc;
}

/* Entries in use in rd's table: 512 per frame in version 1, 256 in version 2. */
static uint32_t entries_in_use(const struct domain *rd)
{
    return atomic_load_explicit(&rd->gnt.nr, memory_order_acquire) *
           (rd->gnt.version == 2 ? GNT_ENTRIES_PER_FRAME / 2u : GNT_ENTRIES_PER_FRAME);
}

/* The 32-bit word {flags, domid} that starts entry `ref` (8 bytes in version 1, 16 in 2). */
static _Atomic uint32_t *shared_word(const struct domain *rd, uint32_t ref)
{
    uint32_t per = rd->gnt.version == 2 ? GNT_ENTRIES_PER_FRAME / 2u : GNT_ENTRIES_PER_FRAME;
    uint8_t *frame = (uint8_t *)frame_entries(rd->m, rd->gnt.frames[ref / per]);

    return (_Atomic uint32_t *)(void *)(frame + (ref % per) * (PVCORE_PAGE_SIZE / per));
}

/* Version 2: entry ref's status word (2048 per status frame). */
static _Atomic uint16_t *status_word(const struct domain *rd, uint32_t ref)
{
    uint8_t *frame = (uint8_t *)frame_entries(rd->m, rd->gnt.status[ref / GNT_STATUS_PER_FRAME]);

    return (_Atomic uint16_t *)(void *)(frame + (ref % GNT_STATUS_PER_FRAME) * 2u);
}

/* Clears GTF_writing when no writable pin is left and GTF_reading when no pin at all:
 * the granter may then revoke the entry. Under rd's grant lock. */
static void shared_clear_unused(struct domain *rd, uint32_t ref, const struct gnt_active *act)
{
    uint32_t clear = 0;

    if (rd->gnt.released) {
        return; /* its table's frames went back with its destruction */
    }
    if ((act->pin & GNTPIN_RW_MASK) == 0) {
        clear |= PVCORE_GTF_writing;
    }
    if (act->pin == 0) {
        clear |= PVCORE_GTF_reading;
    }
    /* release: our use of the frame is over before the granter sees the bits clear. */
    if (clear != 0 && rd->gnt.version == 2) {
        atomic_fetch_and_explicit(status_word(rd, ref), (uint16_t)~clear, memory_order_release);
    } else if (clear != 0) {
        atomic_fetch_and_explicit(shared_word(rd, ref), ~clear, memory_order_release);
    }
}

/* Checks the granter's entry header `hw` ({flags, domid}) for a use by ldomid. `range`
 * (offset, length) is a copy's: only a copy may use a sub-page grant, inside its bytes in
 * version 2 (version 1 has no range: as Xen, its copies ignore the flag, its maps refuse). */
static bool header_permits(uint32_t hw, uint16_t ldomid, bool ro, const uint16_t *range,
                           const _Atomic uint32_t *w, bool v2)
{
    uint32_t flags = hw & 0xFFFFu, dom = hw >> 16;

    if ((flags & PVCORE_GTF_type_mask) != PVCORE_GTF_permit_access || dom != ldomid ||
        (!ro && (flags & PVCORE_GTF_readonly))) {
        return false; /* (transitive grants are not supported: Xen maps none either) */
    }
    if ((flags & PVCORE_GTF_sub_page) && !v2) {
        return range != NULL; /* version 1 has no sub-page range: a copy may use the page */
    }
    if (flags & PVCORE_GTF_sub_page) {
        uint32_t v = atomic_load_explicit(w + 1, memory_order_acquire);
        uint32_t off = v & 0xFFFFu, len = v >> 16;
        return range != NULL && range[0] >= off && (uint32_t)range[0] + range[1] <= off + len &&
               off + len <= PVCORE_PAGE_SIZE;
    }
    return true;
}

/*
 * Marks entry `ref` of rd in use by ldomid (GTF_reading, and GTF_writing unless ro) after
 * checking it permits that use, and reads its frame. The granter may change the entry at
 * any moment: version 1 checks and marks it in one compare-and-swap of {flags, domid}, as
 * the granter's own revocation does; version 2 marks the status word, then reads the
 * header again (a full barrier between) and backs off if it changed. Under rd's lock.
 */
static int16_t mark_in_use(struct domain *rd, uint32_t ref, uint16_t ldomid, bool ro,
                           const uint16_t *range, uint64_t *frame)
{
    _Atomic uint32_t *w = shared_word(rd, ref);
    uint32_t old = atomic_load_explicit(w, memory_order_acquire), nw, tries;
    uint16_t add = (uint16_t)(PVCORE_GTF_reading | (ro ? 0u : PVCORE_GTF_writing)), prev;

    if (rd->gnt.version == 2) {
        _Atomic uint16_t *st = status_word(rd, ref);
        if (!header_permits(old, ldomid, ro, range, w, true)) {
            return PVCORE_GNTST_general_error;
        }
        prev = atomic_fetch_or_explicit(st, add, memory_order_seq_cst);
        /* seq_cst: our status write and the granter's header write are ordered one way or
         * the other, so either it sees the entry in use or we see its change. */
        if (atomic_load_explicit(w, memory_order_seq_cst) != old) {
            atomic_fetch_and_explicit(st, (uint16_t) ~(add & ~prev), memory_order_relaxed);
            return PVCORE_GNTST_general_error;
        }
        /* The frame is read after the entry is marked. */
        *frame = (uint64_t)atomic_load_explicit(w + 2, memory_order_acquire) |
                 (uint64_t)atomic_load_explicit(w + 3, memory_order_acquire) << 32;
        return PVCORE_GNTST_okay;
    }
    for (tries = 0;; tries++) {
        if (!header_permits(old, ldomid, ro, range, w, false)) {
            return PVCORE_GNTST_general_error;
        }
        nw = old | add;
        /* acquire: the frame word is read after the entry is marked in use. */
        if (nw == old || atomic_compare_exchange_strong_explicit(w, &old, nw, memory_order_acq_rel,
                                                                 memory_order_acquire)) {
            break;
        }
        if (tries == 3) {
            return PVCORE_GNTST_general_error; /* the granter keeps changing it */
        }
    }
    *frame = atomic_load_explicit(w + 1, memory_order_acquire);
    return PVCORE_GNTST_okay;
}

/*
 * Pins one part (host or device, read-only or writable: the count at `shift`) of grant
 * `ref` of rd for domain `ldomid`, taking that part's references on the frame: a general
 * one and, unless `ro`, a writable type one. `range` is a copy's (offset, length), NULL
 * for a mapping. Returns a GNTST_* value; *mfn is the frame.
 */
static int16_t grant_pin(struct domain *rd, uint32_t ref, uint16_t ldomid, bool ro, unsigned shift,
                         const uint16_t *range, uint64_t *mfn)
{
    struct machine *m = rd->m;
    struct gnt_active *act;
    uint64_t frame;
    int16_t st = PVCORE_GNTST_okay;

    spin_lock(&rd->gnt.lock);
    if (rd->gnt.released || atomic_load_explicit(&rd->dying, memory_order_acquire)) {
        st = PVCORE_GNTST_bad_domain;
        goto out;
    }
    if (rd->gnt.active == NULL || ref >= entries_in_use(rd)) {
        st = PVCORE_GNTST_bad_gntref;
        goto out;
    }
    act = &rd->gnt.active[ref];
    /* Pinned by another domain, or (Xen's guard against its 8-bit counts overflowing) any
     * of the four counts at 128 already. */
    if ((act->pin != 0 && act->domid != ldomid) || (act->pin & 0x80808080u) != 0) {
        st = PVCORE_GNTST_general_error;
        goto out;
    }
    st = mark_in_use(rd, ref, ldomid, ro, range, &frame);
    if (st != PVCORE_GNTST_okay) {
        goto out;
    }
    if (act->pin != 0) {
        frame = act->mfn; /* the pins fixed the frame: a later change of the entry is ignored */
    }
    if (!frame_get_page(m, frame, rd->domid)) {
        st = PVCORE_GNTST_bad_page; /* not the granter's frame (free, another's, none) */
    } else if (!ro && !frame_get_writable(m, frame)) {
        frame_put_page(m, frame);
        st = PVCORE_GNTST_general_error; /* a page table or descriptor page */
    }
    if (st != PVCORE_GNTST_okay) {
        shared_clear_unused(rd, ref, act);
        goto out;
    }
    if (!ro && rd->domid != ldomid) {
        atomic_fetch_or_explicit(&mfn_frame(m, frame)->hints, FH_FOREIGN_WRITABLE,
                                 memory_order_relaxed);
    }
    act->domid = ldomid;
    act->mfn = frame;
    act->pin += 1u << shift;
    *mfn = frame;
out:
    spin_unlock(&rd->gnt.lock);
    return st;
}

/* Undoes one grant_pin(). */
static void grant_unpin(struct domain *rd, uint32_t ref, bool ro, unsigned shift, uint64_t mfn)
{
    struct gnt_active *act = &rd->gnt.active[ref];

    spin_lock(&rd->gnt.lock);
    PVCORE_ASSERT(((act->pin >> shift) & 0xFFu) != 0);
    act->pin -= 1u << shift;
    shared_clear_unused(rd, ref, act);
    spin_unlock(&rd->gnt.lock);
    frame_put_mapping(rd->m, mfn, !ro, NULL);
}

static unsigned pin_shift(bool device, bool ro)
{
    return device ? (ro ? GNTPIN_DEV_RO : GNTPIN_DEV_RW) : (ro ? GNTPIN_HOST_RO : GNTPIN_HOST_RW);
}

/* The domain a grant op names, alive: the caller itself for DOMID_SELF. */
static struct domain *granter_of(const struct caller *c, uint16_t dom)
{
    if (dom == PVCORE_DOMID_SELF || dom == c->d->domid) {
        return c->d;
    }
    return hc_live_domain(c->m, dom);
}

static void flush_all(struct domain *d)
{
    struct pvcore_flush f;

    memset(&f, 0, sizeof(f));
    f.domid = d->domid;
    f.kind = PVCORE_FLUSH_TLB_ALL;
    f.scope = PVCORE_FLUSH_SCOPE_DOMAIN;
    machine_flush(d->m, &f);
}

/* Is frame l1 a live L1 table of the witness's domain? */
static bool own_live_l1(const struct domain_locked *dl, uint64_t l1)
{
    struct machine *m = dl->d->m;
    uint32_t x;

    if (l1 >= m->nr_frames ||
        atomic_load_explicit(&mfn_frame(m, l1)->owner, memory_order_relaxed) != dl->d->domid) {
        return false;
    }
    x = frame_type(mfn_frame(m, l1), memory_order_acquire);
    return (x & PGT_TYPE_MASK) == PGT_L1 && (x & PGT_VALIDATED) && (x & PGT_COUNT_MASK) != 0;
}

/* The PTE a host mapping names: with GNTMAP_contains_pte the machine address of an entry
 * of one of the mapper's live L1 tables, 8-byte aligned (XSA-227); otherwise a guest
 * virtual address, whose L1 entry in the vCPU's kernel tables is meant. */
static int16_t find_pte(const struct domain_locked *dl, struct vcpu *v, uint32_t flags,
                        uint64_t host_addr, uint64_t *pte)
{
    uint64_t l1;
    unsigned slot;

    if (flags & PVCORE_GNTMAP_contains_pte) {
        if ((host_addr & 7u) != 0 || !own_live_l1(dl, host_addr >> PVCORE_PAGE_SHIFT)) {
            return PVCORE_GNTST_general_error;
        }
        *pte = host_addr;
        return PVCORE_GNTST_okay;
    }
    if ((domain_is_32(dl->d) && host_addr > UINT32_MAX) ||
        paging_find_l1e(dl, v, host_addr, &l1, &slot) != 0 || !own_live_l1(dl, l1)) {
        return PVCORE_GNTST_general_error;
    }
    *pte = (l1 << PVCORE_PAGE_SHIFT) | (uint64_t)slot * 8u;
    return PVCORE_GNTST_okay;
}

static uint64_t *pte_ptr(const struct machine *m, uint64_t pte)
{
    return &frame_entries(m, pte >> PVCORE_PAGE_SHIFT)[(pte & PAGE_OFFSET_MASK) / 8u];
}

/* The entry a host mapping writes (Xen's grant PTE: present, accessed, dirty, marked, not
 * executable, writable unless read-only, user for an application mapping, the guest's
 * three available bits), adjusted as any L1 entry of the domain is. */
static uint64_t grant_pte(const struct domain *d, uint64_t mfn, uint32_t flags)
{
    uint64_t e = (mfn << PVCORE_PAGE_SHIFT) | PTE_P | PTE_A | PTE_D | PTE_GNTTAB |
                 ((uint64_t)((flags >> PVCORE_GNTMAP_guest_avail0_BIT) & 7u) << 9);

    if (!(flags & PVCORE_GNTMAP_readonly)) {
        e |= PTE_RW;
    }
    if (flags & PVCORE_GNTMAP_application_map) {
        e |= PTE_US;
    }
    if (!(d->m->flags & PVCORE_MACHINE_NO_NX)) {
        e |= PTE_NX; /* a granted page is data: never executable in the mapper, as on Xen */
    }
    return adjust_l1(d, e);
}

static void maptrack_free(struct domain *d, uint32_t handle)
{
    struct gnt_maptrack *mt = &d->gnt.maptrack[handle];

    memset(mt, 0, sizeof(*mt));
    mt->next_free = d->gnt.maptrack_free;
    d->gnt.maptrack_free = handle + 1u;
    d->gnt.maptrack_used--;
}

/* GNTTABOP_map_grant_ref, one op. */
static int16_t map_one(struct caller *c, uint64_t host_addr, uint32_t flags, uint32_t ref,
                       uint16_t dom, uint32_t *handle, uint64_t *dev_bus_addr)
{
    struct domain *ld = c->d, *rd;
    struct machine *m = c->m;
    struct domain_locked dl;
    struct gnt_maptrack *mt;
    bool ro = (flags & PVCORE_GNTMAP_readonly) != 0;
    bool host = (flags & PVCORE_GNTMAP_host_map) != 0, dev = (flags & PVCORE_GNTMAP_device_map) != 0;
    uint64_t pte = 0, mfn = 0, mfn2 = 0, old = 0;
    uint32_t h;
    int16_t st;

    if (!host && !dev) {
        return PVCORE_GNTST_bad_gntref; /* as Xen: a map of nothing */
    }
    /* By id only: Xen's map finds the granter with rcu_lock_domain_by_id(), so DOMID_SELF
     * is no domain here (a domain maps its own grants by its own id). */
    rd = dom == PVCORE_DOMID_SELF ? NULL : granter_of(c, dom);
    if (rd == NULL) {
        return PVCORE_GNTST_bad_domain;
    }
    dl = domain_lock(&c->call, ld);
    if (ld->gnt.maptrack_free == 0) {
        st = PVCORE_GNTST_no_device_space;
        goto out;
    }
    if (host) {
        st = find_pte(&dl, (struct vcpu *)(void *)c->v, flags, host_addr, &pte);
        if (st != PVCORE_GNTST_okay) {
            goto out;
        }
        old = pte_read(pte_ptr(m, pte));
        if (pte_is_grant(old)) {
            st = PVCORE_GNTST_general_error; /* one grant mapping never replaces another */
            goto out;
        }
        st = grant_pin(rd, ref, ld->domid, ro, pin_shift(false, ro), NULL, &mfn);
        if (st != PVCORE_GNTST_okay) {
            goto out;
        }
    }
    if (dev) {
        st = grant_pin(rd, ref, ld->domid, ro, pin_shift(true, ro), NULL, &mfn2);
        if (st != PVCORE_GNTST_okay) {
            if (host) {
                grant_unpin(rd, ref, ro, pin_shift(false, ro), mfn);
            }
            goto out;
        }
        mfn = mfn2; /* (the same frame, when the host part pinned it first) */
    }
    /* The bus address, for host-only maps too (Xen's; Linux reads the frame from it). */
    *dev_bus_addr = mfn << PVCORE_PAGE_SHIFT;
    h = ld->gnt.maptrack_free - 1u;
    mt = &ld->gnt.maptrack[h];
    ld->gnt.maptrack_free = mt->next_free;
    ld->gnt.maptrack_used++;
    mt->flags = flags & (PVCORE_GNTMAP_device_map | PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_readonly |
                         PVCORE_GNTMAP_application_map | PVCORE_GNTMAP_contains_pte);
    mt->ref = ref;
    mt->granter = rd;
    mt->mfn = mfn;
    mt->pte = pte;
    mt->next_free = 0;
    if (host) {
        /* The entry it replaces loses its references only once the new one is in place. */
        pte_write(pte_ptr(m, pte), grant_pte(ld, mfn, flags));
        if (pte_present(old)) {
            flush_all(ld);
            put_l1e(&dl, old);
        }
    }
    *handle = h;
out:
    domain_unlock(&dl);
    return st;
}

/* Host parts an unmap batch has taken out of the mapper's L1s: their references are
 * dropped only after one TLB flush for all of them (Xen flushes per 32 unmaps too). */
#define UNMAP_DEFER_MAX 32u

struct unmap_defer {
    struct domain *ld;
    uint32_t n;
    struct {
        struct domain *granter;
        uint32_t ref;
        bool ro;
        uint64_t mfn;
    } item[UNMAP_DEFER_MAX];
};

/* Flushes the mapper's TLBs, then drops the deferred parts' pins and references. */
static void unmap_defer_finish(struct unmap_defer *u)
{
    uint32_t i;

    if (u->n == 0) {
        return;
    }
    flush_all(u->ld);
    for (i = 0; i < u->n; i++) {
        grant_unpin(u->item[i].granter, u->item[i].ref, u->item[i].ro,
                    pin_shift(false, u->item[i].ro), u->item[i].mfn);
    }
    u->n = 0;
}

/* Unmaps the parts of handle h named (host: the PTE at host_addr; device: dev_bus_addr),
 * with the mapper's lock held. With `defer`, a host part's flush and references wait for
 * unmap_defer_finish(); without, they go now. */
static int16_t unmap_parts(const struct domain_locked *dl, struct vcpu *v, uint32_t h,
                           uint64_t host_addr, uint64_t dev_bus_addr, struct unmap_defer *defer)
{
    struct domain *ld = dl->d;
    struct machine *m = ld->m;
    struct gnt_maptrack *mt;
    bool ro, host, dev;
    uint64_t pte;

    if (ld->gnt.maptrack == NULL || h >= ld->gnt.nr_maptrack || ld->gnt.maptrack[h].flags == 0) {
        return PVCORE_GNTST_bad_handle;
    }
    mt = &ld->gnt.maptrack[h];
    ro = (mt->flags & PVCORE_GNTMAP_readonly) != 0;
    host = host_addr != 0 && (mt->flags & PVCORE_GNTMAP_host_map);
    dev = dev_bus_addr != 0 && (mt->flags & PVCORE_GNTMAP_device_map);
    /* A bus address, if given, must be the grant's, device part or not (as Xen). */
    if (dev_bus_addr != 0 && dev_bus_addr != mt->mfn << PVCORE_PAGE_SHIFT) {
        return PVCORE_GNTST_general_error;
    }
    if (host && own_live_l1(dl, mt->pte >> PVCORE_PAGE_SHIFT)) {
        uint64_t *p = pte_ptr(m, mt->pte), e;
        /* The address must name the entry the map wrote, and that entry must still be
         * this grant's, present and as writable as mapped (XSA-234). */
        if (find_pte(dl, v, mt->flags, host_addr, &pte) != PVCORE_GNTST_okay || pte != mt->pte) {
            return PVCORE_GNTST_general_error;
        }
        e = pte_read(p);
        if (!pte_is_grant(e) || pte_mfn(e) != mt->mfn ||
            ((e & PTE_RW) != 0) == ro) {
            return PVCORE_GNTST_general_error;
        }
        pte_write(p, 0);
        /* No vCPU may still reach the frame once its references go: a flush first, now
         * or, for a batch, once for the batch (the references wait for it). */
        if (defer != NULL) {
            if (defer->n == UNMAP_DEFER_MAX) {
                unmap_defer_finish(defer);
            }
            defer->ld = ld;
            defer->item[defer->n].granter = mt->granter;
            defer->item[defer->n].ref = mt->ref;
            defer->item[defer->n].ro = ro;
            defer->item[defer->n].mfn = mt->mfn;
            defer->n++;
            mt->flags &= ~(uint32_t)PVCORE_GNTMAP_host_map;
            host = false; /* (its references are the batch's now) */
        } else {
            flush_all(ld);
        }
    }
    /* (A host part whose L1 was devalidated since is already unreachable: only its
     * references are left.) */
    if (host) {
        grant_unpin(mt->granter, mt->ref, ro, pin_shift(false, ro), mt->mfn);
        mt->flags &= ~(uint32_t)PVCORE_GNTMAP_host_map;
    }
    if (dev) {
        grant_unpin(mt->granter, mt->ref, ro, pin_shift(true, ro), mt->mfn);
        mt->flags &= ~(uint32_t)PVCORE_GNTMAP_device_map;
    }
    if (!(mt->flags & (PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_device_map))) {
        maptrack_free(ld, h);
    }
    return PVCORE_GNTST_okay;
}

/* GNTTABOP_unmap_and_replace, one op: the PTE at new_addr (an ordinary mapping, with its
 * references) moves to the grant's place at host_addr, and new_addr is left empty. */
static int16_t unmap_and_replace_one(struct caller *c, uint64_t host_addr, uint64_t new_addr,
                                     uint32_t h)
{
    struct domain *ld = c->d;
    struct machine *m = c->m;
    struct vcpu *v = (struct vcpu *)(void *)c->v;
    struct domain_locked dl = domain_lock(&c->call, ld);
    const struct gnt_maptrack *mt;
    uint64_t gpte, npte, ne;
    bool live;
    int16_t st;

    if (ld->gnt.maptrack == NULL || h >= ld->gnt.nr_maptrack || ld->gnt.maptrack[h].flags == 0) {
        st = PVCORE_GNTST_bad_handle;
        goto out;
    }
    mt = &ld->gnt.maptrack[h];
    if (host_addr == 0 || !(mt->flags & PVCORE_GNTMAP_host_map)) {
        /* No host part named, or none to replace (a device-only mapping): nothing to do,
         * okay, as Xen (its unmap looks at the host part only if the mapping has one). */
        st = PVCORE_GNTST_okay;
        goto out;
    }
    if (new_addr == 0) {
        st = unmap_parts(&dl, v, h, host_addr, 0, NULL); /* "replace with nothing": an unmap */
        goto out;
    }
    if (mt->flags & PVCORE_GNTMAP_contains_pte) {
        st = PVCORE_GNTST_general_error; /* moving a PTE: virtual-address mappings only */
        goto out;
    }
    gpte = mt->pte;
    live = own_live_l1(&dl, gpte >> PVCORE_PAGE_SHIFT);
    if (find_pte(&dl, v, 0, new_addr, &npte) != PVCORE_GNTST_okay || npte == gpte) {
        st = PVCORE_GNTST_general_error;
        goto out;
    }
    ne = pte_read(pte_ptr(m, npte));
    if (pte_is_grant(ne)) {
        st = PVCORE_GNTST_general_error; /* stealing another grant's PTE (XSA-234) */
        goto out;
    }
    st = unmap_parts(&dl, v, h, host_addr, 0, NULL);
    if (st == PVCORE_GNTST_okay) {
        /* The moved entry keeps its references: exactly one entry holds them, before and
         * after. Where the grant's L1 is gone, it has nowhere to go and is dropped. */
        pte_write(pte_ptr(m, npte), 0);
        if (live) {
            pte_write(pte_ptr(m, gpte), ne);
        }
        flush_all(ld);
        if (!live) {
            put_l1e(&dl, ne);
        }
    }
out:
    domain_unlock(&dl);
    return st;
}

/* One end of a copy: a grant of another domain (pinned as a host mapping for the copy) or
 * a frame of the caller's (any domain's, for a privileged caller). */
struct copy_end {
    struct domain *rd; /* the granter, or NULL for a frame */
    uint32_t ref;
    uint64_t mfn;
    bool ro;
};

static int16_t copy_acquire(struct caller *c, bool gref, uint64_t id, uint16_t dom, bool ro,
                            const uint16_t *range, struct copy_end *e)
{
    struct machine *m = c->m;
    struct domain *rd = granter_of(c, dom);

    e->rd = NULL;
    e->ro = ro;
    if (gref) {
        if (rd == NULL) {
            return PVCORE_GNTST_bad_domain;
        }
        e->rd = rd;
        e->ref = (uint32_t)id; /* the union's ref: its low half (the rest is ignored, as Xen) */
        return grant_pin(rd, e->ref, c->d->domid, ro, pin_shift(false, ro), range, &e->mfn);
    }
    if (dom != PVCORE_DOMID_SELF) {
        /* Only DOMID_SELF names a frame, whoever the caller (Xen): any other frame,
         * even the caller's own by its id, a privileged caller's included, needs a grant. */
        return PVCORE_GNTST_permission_denied;
    }
    if (!frame_get_page(m, id, rd->domid)) {
        return PVCORE_GNTST_bad_page;
    }
    if (!ro && !frame_get_writable(m, id)) {
        frame_put_page(m, id);
        return PVCORE_GNTST_general_error;
    }
    e->mfn = id;
    return PVCORE_GNTST_okay;
}

static void copy_release(struct caller *c, const struct copy_end *e)
{
    if (e->rd != NULL) {
        grant_unpin(e->rd, e->ref, e->ro, pin_shift(false, e->ro), e->mfn);
    } else {
        frame_put_mapping(c->m, e->mfn, !e->ro, NULL);
    }
}

/* GNTTABOP_copy, one op. */
static int16_t copy_one(struct caller *c, const uint8_t *b)
{
    unsigned w = c->is32 ? 4u : 8u, ptr = c->is32 ? 8u : 16u;
    uint64_t sid = w == 4 ? hc_get_le32(b) : hc_get_le64(b);
    uint64_t did = w == 4 ? hc_get_le32(b + ptr) : hc_get_le64(b + ptr);
    uint16_t sdom = (uint16_t)(b[w] | b[w + 1] << 8), soff = (uint16_t)(b[w + 2] | b[w + 3] << 8);
    uint16_t ddom = (uint16_t)(b[ptr + w] | b[ptr + w + 1] << 8);
    uint16_t doff = (uint16_t)(b[ptr + w + 2] | b[ptr + w + 3] << 8);
    uint16_t len = (uint16_t)(b[2 * ptr] | b[2 * ptr + 1] << 8);
    uint16_t flags = (uint16_t)(b[2 * ptr + 2] | b[2 * ptr + 3] << 8);
    struct copy_end s, d;
    uint16_t srange[2], drange[2];
    const uint8_t *from;
    uint8_t *to;
    int16_t st;

    if ((uint32_t)soff + len > PVCORE_PAGE_SIZE || (uint32_t)doff + len > PVCORE_PAGE_SIZE) {
        return PVCORE_GNTST_bad_copy_arg; /* neither end may cross its page */
    }
    srange[0] = soff;
    srange[1] = len;
    drange[0] = doff;
    drange[1] = len;
    st = copy_acquire(c, (flags & PVCORE_GNTCOPY_source_gref) != 0, sid, sdom, true, srange, &s);
    if (st != PVCORE_GNTST_okay) {
        return st;
    }
    st = copy_acquire(c, (flags & PVCORE_GNTCOPY_dest_gref) != 0, did, ddom, false, drange, &d);
    if (st != PVCORE_GNTST_okay) {
        copy_release(c, &s);
        return st;
    }
    from = (const uint8_t *)frame_entries(c->m, s.mfn) + soff;
    to = (uint8_t *)frame_entries(c->m, d.mfn) + doff;
    if (s.mfn != d.mfn || soff >= (uint32_t)doff + len || doff >= (uint32_t)soff + len) {
        memcpy(to, from, len);
    } else if (to < from) {
        for (uint32_t i = 0; i < len; i++) { /* overlapping, within one frame */
            to[i] = from[i];
        }
    } else {
        for (uint32_t i = len; i-- > 0;) {
            to[i] = from[i];
        }
    }
    copy_release(c, &d);
    copy_release(c, &s);
    return PVCORE_GNTST_okay;
}

/* GNTTABOP_cache_flush, one op, as Xen 4.17 on x86: a range of a frame the caller owns or
 * maps through a grant it holds, cleaned (with or without invalidation) through the
 * flush_cache hook, which flushes the caller's caches; x86 has no invalidation without a
 * write-back, so INVAL alone is -EOPNOTSUPP. `opaque` is the continuation argument Xen
 * keeps in the command's high bits (its position in a scan of the owner's grants); this
 * scan needs none, but a no-op flush with one set is -EILSEQ there, and here. Errors are
 * the call's, not a status. */
static int cache_flush_one(struct caller *c, const uint8_t *b, uint32_t opaque)
{
    struct machine *m = c->m;
    struct domain *d = c->d;
    uint64_t maddr = hc_get_le64(b);
    uint32_t off = (uint32_t)(b[8] | b[9] << 8), len = (uint32_t)(b[10] | b[11] << 8);
    uint32_t op = hc_get_le32(b + 12);
    uint64_t mfn = maddr >> PVCORE_PAGE_SHIFT;
    uint16_t owner;
    bool mine = false;
    uint32_t h;

    /* Only CLEAN and INVAL: a source grant reference (unimplemented on Xen too) fails here. */
    if (off >= PVCORE_PAGE_SIZE || len > PVCORE_PAGE_SIZE || off + len > PVCORE_PAGE_SIZE ||
        (op & ~(uint32_t)(PVCORE_GNTTAB_CACHE_INVAL | PVCORE_GNTTAB_CACHE_CLEAN)) != 0) {
        return -PVCORE_EINVAL;
    }
    if (len == 0 || op == 0) {
        return opaque == 0 ? 0 : -PVCORE_EILSEQ;
    }
    if (mfn >= m->nr_frames) {
        return -PVCORE_EINVAL;
    }
    /* A free frame, or one no domain with a grant table owns (Xen's, I/O), is not the
     * caller's business. */
    if (!frame_get_any_page(m, mfn, &owner)) {
        return -PVCORE_EPERM;
    }
    if (owner != d->domid && hc_live_domain(m, owner) == NULL) {
        frame_put_page(m, mfn);
        return -PVCORE_EPERM;
    }
    if (owner != d->domid) {
        struct domain_locked dl = domain_lock(&c->call, d);
        for (h = 0; d->gnt.maptrack != NULL && h < d->gnt.nr_maptrack && !mine; h++) {
            mine = d->gnt.maptrack[h].flags != 0 && d->gnt.maptrack[h].mfn == mfn;
        }
        domain_unlock(&dl);
    } else {
        mine = true;
    }
    if (mine && (op & PVCORE_GNTTAB_CACHE_CLEAN) != 0 && m->ops->flush_cache != NULL) {
        m->ops->flush_cache(m->ctx, d->domid, 0);
    }
    frame_put_page(m, mfn);
    if (!mine) {
        return -PVCORE_EINVAL; /* another domain's frame without a grant mapping of it */
    }
    return (op & PVCORE_GNTTAB_CACHE_CLEAN) != 0 ? 0 : -PVCORE_EOPNOTSUPP;
}

static int run_cache_flush(struct caller *c, uint64_t args[6], int64_t *ret, uint32_t opaque)
{
    uint64_t uop = hc_arg(c, args, 1);
    uint32_t count = (uint32_t)hc_arg(c, args, 2), i;
    uint8_t b[16];
    int rc;

    for (i = 0; i < count; i++) {
        if (i != 0 && call_should_preempt(&c->call)) {
            args[0] = PVCORE_GNTTABOP_cache_flush; /* no scan position to carry over */
            args[1] = uop + (uint64_t)i * 16u;
            args[2] = count - i;
            return PVCORE_HYPERCALL_RESTART;
        }
        rc = hc_copy_in(c, b, uop + (uint64_t)i * 16u, sizeof(b));
        if (rc == 0) {
            rc = cache_flush_one(c, b, i == 0 ? opaque : 0u);
        }
        if (rc != 0) {
            *ret = rc;
            return PVCORE_HYPERCALL_DONE;
        }
        call_charge(&c->call, 1);
    }
    *ret = 0;
    return PVCORE_HYPERCALL_DONE;
}

/* ---- destruction and the checker ------------------------------------------------------- */

int grant_domain_release(const struct domain_locked *dl)
{
    struct domain *d = dl->d;
    struct machine *m = d->m;
    uint32_t h;
    bool progress = false;

    ASSERT_LOCKED(dl);
    for (h = 0; d->gnt.maptrack != NULL && h < d->gnt.nr_maptrack; h++) {
        struct gnt_maptrack *mt = &d->gnt.maptrack[h];
        bool ro = (mt->flags & PVCORE_GNTMAP_readonly) != 0;
        if (mt->flags == 0) {
            continue;
        }
        /* Bounded work per call (XSA-380): each call releases at least one mapping. */
        if (progress && call_should_preempt(dl->call)) {
            return -PVCORE_ERESTART;
        }
        progress = true;
        call_charge(dl->call, 1);
        if ((mt->flags & PVCORE_GNTMAP_host_map) && own_live_l1(dl, mt->pte >> PVCORE_PAGE_SHIFT)) {
            uint64_t *p = pte_ptr(m, mt->pte);
            uint64_t e = pte_read(p);
            if (pte_is_grant(e) && pte_mfn(e) == mt->mfn) {
                pte_write(p, 0);
                flush_all(d);
            }
        }
        if (mt->flags & PVCORE_GNTMAP_host_map) {
            grant_unpin(mt->granter, mt->ref, ro, pin_shift(false, ro), mt->mfn);
        }
        if (mt->flags & PVCORE_GNTMAP_device_map) {
            grant_unpin(mt->granter, mt->ref, ro, pin_shift(true, ro), mt->mfn);
        }
        maptrack_free(d, h);
    }
    /* Its own table's frames go back next (held_release_all()): from now on nobody
     * writes its shared entries (grant_pin() refuses, shared_clear_unused() skips). */
    spin_lock(&d->gnt.lock);
    d->gnt.released = true;
    spin_unlock(&d->gnt.lock);
    return 0;
}


/* ---- the batched ops' decoding ---------------------------------------------------------- */

/* One transfer op's fields, either width, and a transfer a batch has taken the frame of and
 * not delivered yet (run_transfer()). */
struct transfer_op {
    uint64_t mfn;
    uint32_t ref;
    uint16_t domid;
};

#define TRANSFER_DEFER 32u

struct transfer_pending {
    uint64_t at; /* the op's address */
    struct transfer_op t;
};

/* What the ops of one call leave for its end (or its continuation): unmapped host parts
 * waiting for their flush, taken frames waiting for their delivery. */
struct batch_defer {
    struct unmap_defer unmap;
    struct transfer_pending xfer[TRANSFER_DEFER];
    uint32_t nxfer;
    uint32_t out_off; /* where an op's status is */
};

struct batch_op {
    uint32_t size_64, size_32; /* the structure's size per guest width */
    uint32_t out_off_64, out_off_32;
    /* One op: decodes b (the guest's structure, copied in from `at`), runs it, writes its
     * results into b and returns how many bytes from out_off go back to the guest now (0:
     * the op is pending), or a negative error that ends the call. */
    int (*run)(struct caller *c, uint8_t *b, uint64_t at, struct batch_defer *defer);
};

static int run_map(struct caller *c, uint8_t *b, uint64_t at, struct batch_defer *defer)
{
    (void)at;
    (void)defer;
    uint32_t handle = 0;
    uint64_t dev = 0;
    int16_t st = map_one(c, hc_get_le64(b), hc_get_le32(b + 8), hc_get_le32(b + 12),
                         (uint16_t)(b[16] | b[17] << 8), &handle, &dev);

    hc_put_le(b + 18, (uint16_t)st, 2);
    if (st != PVCORE_GNTST_okay) {
        return 2; /* only the status: Xen leaves the other fields as the guest wrote them */
    }
    hc_put_le(b + 20, handle, 4);
    hc_put_le(b + 24, dev, 8);
    return 14;
}

static int run_unmap(struct caller *c, uint8_t *b, uint64_t at, struct batch_defer *defer)
{
    struct domain_locked dl = domain_lock(&c->call, c->d);
    int16_t st = unmap_parts(&dl, (struct vcpu *)(void *)c->v, hc_get_le32(b + 16), hc_get_le64(b),
                             hc_get_le64(b + 8), &defer->unmap);

    (void)at;
    domain_unlock(&dl);
    hc_put_le(b + 20, (uint16_t)st, 2);
    return 2;
}

static int run_unmap_and_replace(struct caller *c, uint8_t *b, uint64_t at, struct batch_defer *defer)
{
    (void)at;
    (void)defer;
    int16_t st = unmap_and_replace_one(c, hc_get_le64(b), hc_get_le64(b + 8), hc_get_le32(b + 16));

    hc_put_le(b + 20, (uint16_t)st, 2);
    return 2;
}

static int run_copy(struct caller *c, uint8_t *b, uint64_t at, struct batch_defer *defer)
{
    (void)at;
    (void)defer;
    int16_t st = copy_one(c, b);

    hc_put_le(b + (c->is32 ? 20 : 36), (uint16_t)st, 2);
    return 2;
}

/* ---- transfer -------------------------------------------------------------------------- */

/* A receiver's frame numbers in a version-1 entry (and a 32-bit receiver's) are 32 bits
 * wide: a frame transferred to it lies below 2^44 bytes. */
#define TRANSFER_NARROW_BITS 44u

static bool transfer_narrow(const struct domain *e)
{
    return e->gnt.version == 1 || domain_is_32(e);
}

/*
 * Commits entry `ref` of e to a transfer from ldomid: the entry must be exactly an
 * accept_transfer grant to ldomid (no other flag), and is marked committed in the same
 * compare-and-swap, so that the receiver can no longer take it back. *gfn is the guest
 * frame the receiver asked the frame to appear at. Under e's grant lock.
 */
static bool transfer_commit(struct domain *e, uint16_t ldomid, uint32_t ref, uint64_t mfn,
                            uint64_t *gfn)
{
    _Atomic uint32_t *w;
    uint32_t old, want = PVCORE_GTF_accept_transfer | (uint32_t)ldomid << 16;
    unsigned tries;

    if (e->gnt.released || e->gnt.max == 0 || ref >= entries_in_use(e) ||
        (transfer_narrow(e) && (mfn >> 32) != 0)) {
        return false;
    }
    w = shared_word(e, ref);
    old = atomic_load_explicit(w, memory_order_acquire);
    for (tries = 0;; tries++) {
        if (old != want) {
            return false;
        }
        /* acquire: the frame field is read after the entry is ours. */
        if (atomic_compare_exchange_strong_explicit(w, &old, want | PVCORE_GTF_transfer_committed,
                                                    memory_order_acq_rel, memory_order_acquire)) {
            break;
        }
        if (tries == 4) {
            return false; /* the receiver keeps changing it */
        }
    }
    if (e->gnt.version == 2) {
        *gfn = (uint64_t)atomic_load_explicit(w + 2, memory_order_acquire) |
               (uint64_t)atomic_load_explicit(w + 3, memory_order_acquire) << 32;
    } else {
        *gfn = atomic_load_explicit(w + 1, memory_order_acquire);
    }
    return true;
}

/* Tells the receiver its new frame: the frame field, then (release) transfer_completed. */
static void transfer_complete(struct domain *e, uint32_t ref, uint64_t mfn)
{
    _Atomic uint32_t *w = shared_word(e, ref);

    if (e->gnt.version == 2) {
        atomic_store_explicit(w + 2, (uint32_t)mfn, memory_order_relaxed);
        atomic_store_explicit(w + 3, (uint32_t)(mfn >> 32), memory_order_relaxed);
    } else {
        atomic_store_explicit(w + 1, (uint32_t)mfn, memory_order_relaxed);
    }
    atomic_fetch_or_explicit(w, PVCORE_GTF_transfer_completed, memory_order_release);
}

/* A copy of frame *mfn (in transit) below 2^44 bytes for a narrow receiver; the original
 * is freed. false: no such frame to be had. */
static bool transfer_lower(struct caller *c, struct domain *e, uint64_t *mfn)
{
    struct machine *m = c->m;
    uint64_t low;

    if (memory_alloc_transit(m, e, 0, TRANSFER_NARROW_BITS, &low) != 0) {
        return false;
    }
    memcpy(frame_entries(m, low), frame_entries(m, *mfn), PVCORE_PAGE_SIZE);
    frame_free_transit(m, *mfn, DOMID_FREE);
    *mfn = low;
    return true;
}

/*
 * GNTTABOP_transfer of one frame, as Xen does it for a PV caller, in two halves. Taking:
 * the frame must be the caller's and referenced by nothing else (else GNTST_bad_page, and
 * the caller keeps it); from then on the caller has lost it whatever happens. Delivering:
 * if the receiver cannot take it (no such domain, no reservation headroom, no
 * accept_transfer grant for the caller) it is freed. The receiver's M2P and P2M entry for
 * the frame is the guest frame it named in the grant, and the grant then carries the
 * frame's MFN.
 */
static bool transfer_take(struct caller *c, uint64_t mfn)
{
    struct domain_locked dl;
    int rc;

    if (mfn >= c->m->nr_frames || !mfn_is_ram(c->m, mfn)) {
        return false;
    }
    dl = domain_lock(&c->call, c->d);
    rc = frame_steal(&dl, mfn, true);
    domain_unlock(&dl);
    if (rc != 0) {
        return false;
    }
    /* It is no longer the caller's: its M2P and P2M entries go now. (Stale TLB entries
     * are flushed before it reaches anyone: frame_give(), whose flush covers every frame
     * taken before it.) */
    m2p_forget(c->m, c->d->domid, mfn);
    return true;
}

static int16_t transfer_deliver(struct caller *c, uint64_t mfn, uint16_t domid, uint32_t ref)
{
    struct domain *d = c->d, *e;
    uint64_t gfn = INVALID_MFN;
    int16_t st;
    bool ok;

    e = hc_live_domain(c->m, domid);
    if (e == NULL) {
        st = PVCORE_GNTST_bad_domain;
        goto free;
    }
    if (transfer_narrow(e) && (mfn >> 32) != 0 && !transfer_lower(c, e, &mfn)) {
        st = PVCORE_GNTST_address_too_big;
        goto free;
    }
    if (domain_reserve(e, 1) != 0) {
        st = PVCORE_GNTST_general_error; /* dying, or no headroom */
        goto free;
    }
    spin_lock(&e->gnt.lock);
    ok = transfer_commit(e, d->domid, ref, mfn, &gfn);
    spin_unlock(&e->gnt.lock);
    if (!ok) {
        domain_unreserve(e, 1);
        st = PVCORE_GNTST_general_error;
        goto free;
    }
    if (!frame_give(e, mfn, gfn)) {
        return PVCORE_GNTST_general_error; /* it died meanwhile: the frame is freed */
    }
    spin_lock(&e->gnt.lock);
    if (!e->gnt.released) {
        transfer_complete(e, ref, mfn);
    }
    spin_unlock(&e->gnt.lock);
    return PVCORE_GNTST_okay;

free:
    frame_free_transit(c->m, mfn, DOMID_FREE);
    return st;
}

static struct transfer_op transfer_parse(const struct caller *c, const uint8_t *b)
{
    struct transfer_op t;

    t.mfn = c->is32 ? hc_get_le32(b) : hc_get_le64(b);
    t.domid = (uint16_t)(c->is32 ? b[4] | b[5] << 8 : b[8] | b[9] << 8);
    t.ref = hc_get_le32(b + (c->is32 ? 8 : 12));
    return t;
}

/* Delivers the transfers a batch has taken, in order, and writes their statuses. */
static int transfer_flush_pending(struct caller *c, struct batch_defer *d)
{
    uint32_t i;
    int rc = 0;

    for (i = 0; i < d->nxfer; i++) {
        const struct transfer_pending *p = &d->xfer[i];
        uint8_t st[2];
        hc_put_le(st, (uint16_t)transfer_deliver(c, p->t.mfn, p->t.domid, p->t.ref), 2);
        if (hc_copy_out(c, p->at + d->out_off, st, 2) != 0) {
            rc = -PVCORE_EFAULT;
        }
    }
    d->nxfer = 0;
    return rc;
}

/*
 * One op of a batch of transfers. Each frame is taken from the caller in the order of the
 * ops, and the taken frames are delivered up to TRANSFER_DEFER at a time, so that one TLB
 * flush covers them all (frame_give() flushes once for every frame taken before it), where
 * one op at a time cost a flush of every domain per frame. Every op's status is written
 * when it is delivered, before the call returns or continues. What a guest can observe is
 * as one op after another:
 *   - ops are taken and delivered in order, and reservations made in that order;
 *   - an op whose receiver is the caller itself, which could give back a frame a later op
 *     transfers again, first delivers what is pending and then runs on its own;
 *   - the status field of each op is written back (its own bytes) before the frame is
 *     taken, so that an op whose status cannot be written is run on its own, after the
 *     pending ones, as the last op of the call: done, then -EFAULT, as Xen does it.
 * Only a guest that remaps its op array on another vCPU during the call could see a
 * difference: a status lost for an op delivered anyway (its frame is gone either way).
 */
static int run_transfer(struct caller *c, uint8_t *b, uint64_t at, struct batch_defer *d)
{
    struct transfer_op t = transfer_parse(c, b);
    int16_t st;
    int rc;

    if (t.domid == c->d->domid || hc_copy_out(c, at + d->out_off, b + d->out_off, 2) != 0) {
        /* To itself, or a status that cannot be written: on its own, in order. */
        rc = transfer_flush_pending(c, d);
        if (rc != 0) {
            return rc;
        }
        st = transfer_take(c, t.mfn) ? transfer_deliver(c, t.mfn, t.domid, t.ref) : PVCORE_GNTST_bad_page;
    } else if (!transfer_take(c, t.mfn)) {
        st = PVCORE_GNTST_bad_page;
    } else {
        d->xfer[d->nxfer].at = at;
        d->xfer[d->nxfer].t = t;
        if (++d->nxfer == TRANSFER_DEFER) {
            return transfer_flush_pending(c, d);
        }
        return 0;
    }
    hc_put_le(b + d->out_off, (uint16_t)st, 2);
    return 2;
}

/*
 * GNTTABOP_swap_grant_ref: entries ref_a and ref_b of the caller's own table change
 * places (with their status words in version 2), as Xen does it: each reference inside
 * the table (else bad_gntref), a reference swapped with itself is nothing to do, and
 * neither may be pinned by a mapping or a copy (eagain). Under the grant lock, which every
 * pin and a transfer's commit take, so neither entry changes hands meanwhile; the words
 * are moved atomically, as the guest may be writing them (its own race, not ours).
 */
static int16_t swap_one(struct domain *d, uint32_t ref_a, uint32_t ref_b)
{
    int16_t st = PVCORE_GNTST_okay;

    spin_lock(&d->gnt.lock);
    if (d->gnt.active == NULL || ref_a >= entries_in_use(d) || ref_b >= entries_in_use(d)) {
        st = PVCORE_GNTST_bad_gntref;
    } else if (ref_a != ref_b && (d->gnt.active[ref_a].pin != 0 || d->gnt.active[ref_b].pin != 0)) {
        st = PVCORE_GNTST_eagain;
    } else if (ref_a != ref_b) {
        _Atomic uint32_t *a = shared_word(d, ref_a), *b = shared_word(d, ref_b);
        uint32_t i, words = d->gnt.version == 2 ? 4u : 2u; /* 16 and 8 bytes */

        for (i = 0; i < words; i++) {
            uint32_t t = atomic_load_explicit(a + i, memory_order_relaxed);
            atomic_store_explicit(a + i, atomic_load_explicit(b + i, memory_order_relaxed), memory_order_relaxed);
            atomic_store_explicit(b + i, t, memory_order_relaxed);
        }
        if (d->gnt.version == 2) {
            _Atomic uint16_t *sa = status_word(d, ref_a), *sb = status_word(d, ref_b);
            uint16_t t = atomic_load_explicit(sa, memory_order_relaxed);

            atomic_store_explicit(sa, atomic_load_explicit(sb, memory_order_relaxed), memory_order_relaxed);
            atomic_store_explicit(sb, t, memory_order_relaxed);
        }
    }
    spin_unlock(&d->gnt.lock);
    return st;
}

static int run_swap(struct caller *c, uint8_t *b, uint64_t at, struct batch_defer *defer)
{
    (void)at;
    (void)defer;
    hc_put_le(b + 8, (uint16_t)swap_one(c->d, hc_get_le32(b), hc_get_le32(b + 4)), 2);
    return 2;
}

static const struct batch_op op_map = { 32, 32, 18, 18, run_map };
static const struct batch_op op_unmap = { 24, 24, 20, 20, run_unmap };
static const struct batch_op op_unmap_and_replace = { 24, 24, 20, 20, run_unmap_and_replace };
static const struct batch_op op_copy = { 40, 24, 36, 20, run_copy };
static const struct batch_op op_transfer = { 24, 16, 16, 12, run_transfer };
static const struct batch_op op_swap = { 12, 12, 8, 8, run_swap };

/* Finishes what the ops of a call left pending: the unmaps' flush and references, the
 * transfers' deliveries and statuses (-PVCORE_EFAULT if a status could not be written). */
static int batch_finish(struct caller *c, struct batch_defer *d)
{
    unmap_defer_finish(&d->unmap);
    return transfer_flush_pending(c, d);
}

/* `count` ops from the array at `uop`, each reporting its own status; preemptible between
 * ops (a continuation resumes with the rest of the array), a fault on the array ends the
 * call with -PVCORE_EFAULT, the ops before it done. */
static int run_batch(struct caller *c, uint64_t args[6], int64_t *ret, const struct batch_op *op)
{
    uint64_t uop = hc_arg(c, args, 1);
    uint32_t count = (uint32_t)hc_arg(c, args, 2), i;
    uint32_t size = c->is32 ? op->size_32 : op->size_64;
    uint32_t out_off = c->is32 ? op->out_off_32 : op->out_off_64;
    uint8_t b[40];
    struct batch_defer defer;
    int rc = 0, fin;

    defer.unmap.n = 0;
    defer.unmap.ld = c->d;
    defer.nxfer = 0;
    defer.out_off = out_off;
    /* Whatever ends the call (its end, a fault, a continuation), what its ops left pending
     * is finished first: no call returns with a removed mapping still in a TLB, or with a
     * frame taken and not delivered. */
    for (i = 0; i < count; i++) {
        uint64_t at = uop + (uint64_t)i * size;
        int n;
        if (i != 0 && call_should_preempt(&c->call)) {
            rc = batch_finish(c, &defer);
            if (rc != 0) {
                break;
            }
            args[1] = at;
            args[2] = count - i;
            return PVCORE_HYPERCALL_RESTART;
        }
        rc = hc_copy_in(c, b, at, size);
        if (rc != 0) {
            break;
        }
        n = op->run(c, b, at, &defer);
        if (n < 0) {
            rc = n;
            break;
        }
        if (n > 0) {
            rc = hc_copy_out(c, at + out_off, b + out_off, (size_t)n);
            if (rc != 0) {
                break;
            }
        }
        call_charge(&c->call, 1);
    }
    fin = batch_finish(c, &defer);
    *ret = rc != 0 ? rc : fin;
    return PVCORE_HYPERCALL_DONE;
}

/*
 * GNTTABOP_set_version for the caller's table, as Xen does it: nothing to do for the
 * version in force; otherwise refused while any grant but the reserved ones is pinned
 * (-PVCORE_EBUSY), and every entry is cleared but the reserved ones (0-7, the
 * toolstack's), which are carried over into the new layout, their in-use bits moving
 * between the entry and the status array.
 */
static int set_version(struct domain *d, uint32_t want)
{
    struct { uint16_t flags, domid; uint64_t frame; } keep[PVCORE_GNTTAB_NR_RESERVED_ENTRIES];
    uint32_t i, n;
    int rc = 0;

    spin_lock(&d->gnt.lock);
    if (want == d->gnt.version) {
        goto out;
    }
    if (want == 2 && d->gnt.nr_status == 0) {
        rc = -PVCORE_ENOSYS; /* no status frames: a version-1-only table */
        goto out;
    }
    /* Nothing may be pinned but the reserved entries, which the console's and xenstore's
     * back-ends keep mapped across a switch (kexec needs one), as on Xen. */
    n = d->gnt.active != NULL ? d->gnt.max * GNT_ENTRIES_PER_FRAME : 0;
    for (i = PVCORE_GNTTAB_NR_RESERVED_ENTRIES; i < n; i++) {
        if (d->gnt.active[i].pin != 0) {
            rc = -PVCORE_EBUSY;
            goto out;
        }
    }
    /* The reserved entries are carried over: a version-1 entry whole; of version 2, a
     * full-page permit_access with its in-use bits (a frame that does not fit version 1's
     * 32 bits, or a transitive entry, refuses the switch: -ERANGE), anything else cleared. */
    memset(keep, 0, sizeof(keep));
    for (i = 0; d->gnt.max != 0 && i < PVCORE_GNTTAB_NR_RESERVED_ENTRIES; i++) {
        _Atomic uint32_t *w = shared_word(d, i);
        uint32_t hw = atomic_load_explicit(w, memory_order_acquire);
        if (d->gnt.version == 2) {
            uint64_t frame = (uint64_t)atomic_load_explicit(w + 2, memory_order_relaxed) |
                             (uint64_t)atomic_load_explicit(w + 3, memory_order_relaxed) << 32;
            uint32_t type = hw & PVCORE_GTF_type_mask;
            if ((type == PVCORE_GTF_permit_access && (frame >> 32) != 0) || type == PVCORE_GTF_transitive) {
                rc = -PVCORE_ERANGE;
                goto out;
            }
            if (type != PVCORE_GTF_permit_access) {
                continue;
            }
            keep[i].flags = (uint16_t)(hw | atomic_load_explicit(status_word(d, i), memory_order_acquire));
            keep[i].frame = frame;
        } else {
            keep[i].flags = (uint16_t)hw;
            keep[i].frame = atomic_load_explicit(w + 1, memory_order_relaxed);
        }
        keep[i].domid = (uint16_t)(hw >> 16);
    }
    for (i = 0; i < d->gnt.max; i++) {
        memset(frame_entries(d->m, d->gnt.frames[i]), 0, PVCORE_PAGE_SIZE);
    }
    for (i = 0; i < d->gnt.nr_status; i++) {
        memset(frame_entries(d->m, d->gnt.status[i]), 0, PVCORE_PAGE_SIZE);
    }
    d->gnt.version = (uint8_t)want;
    for (i = 0; d->gnt.max != 0 && i < PVCORE_GNTTAB_NR_RESERVED_ENTRIES; i++) {
        _Atomic uint32_t *w = shared_word(d, i);
        uint32_t inuse = keep[i].flags & (PVCORE_GTF_reading | PVCORE_GTF_writing);
        if (keep[i].flags == 0 && keep[i].domid == 0 && keep[i].frame == 0) {
            continue;
        }
        if (want == 2) {
            atomic_store_explicit(w + 2, (uint32_t)keep[i].frame, memory_order_relaxed);
            atomic_store_explicit(w + 3, (uint32_t)(keep[i].frame >> 32), memory_order_relaxed);
            atomic_store_explicit(status_word(d, i), (uint16_t)inuse, memory_order_relaxed);
            atomic_store_explicit(w, (uint32_t)(keep[i].flags & ~inuse) | (uint32_t)keep[i].domid << 16,
                                  memory_order_release);
        } else {
            atomic_store_explicit(w + 1, (uint32_t)keep[i].frame, memory_order_relaxed);
            atomic_store_explicit(w, (uint32_t)keep[i].flags | (uint32_t)keep[i].domid << 16,
                                  memory_order_release);
        }
    }
out:
    spin_unlock(&d->gnt.lock);
    return rc;
}

/* GNTTABOP_get_status_frames: the status frames in use of a version-2 table. */
static int16_t get_status_frames(const struct caller *c, uint16_t dom, uint32_t nr, uint64_t list)
{
    struct domain *d;
    bool denied;
    uint32_t in_use;

    d = hc_target(c, dom, &denied);
    if (d == NULL) {
        return PVCORE_GNTST_bad_domain;
    }
    if (denied) {
        return PVCORE_GNTST_permission_denied;
    }
    /* The status words of the entries in use: 2048 per frame, 256 entries per table frame. */
    in_use = (atomic_load_explicit(&d->gnt.nr, memory_order_acquire) + 7u) / 8u;
    /* Version 1 has no status frames: asking for none of them is fine, as on Xen. */
    if (nr > (d->gnt.version == 2 ? in_use : 0u)) {
        return PVCORE_GNTST_general_error;
    }
    return put_frame_list(c, list, d->gnt.status, nr, 8u); /* 8-byte frame numbers, whatever the width */
}

int hcall_grant_table_op(struct caller *c, uint64_t args[6], int64_t *ret)
{
    uint32_t cmd = (uint32_t)hc_arg(c, args, 0), count = (uint32_t)hc_arg(c, args, 2);
    uint64_t uop = hc_arg(c, args, 1);
    uint8_t b[24];
    struct domain *d;
    bool denied;
    int16_t status;
    int rc;

    if ((int32_t)count < 0) {
        *ret = -PVCORE_EINVAL; /* as Xen, before anything is done */
        return PVCORE_HYPERCALL_DONE;
    }
    /* Bits 12-31 are Xen's continuation argument, which only cache_flush may carry. */
    if ((cmd & GNTTABOP_CMD_MASK) != PVCORE_GNTTABOP_cache_flush && (cmd >> GNTTABOP_ARG_SHIFT) != 0) {
        *ret = -PVCORE_EINVAL;
        return PVCORE_HYPERCALL_DONE;
    }
    if ((cmd & GNTTABOP_CMD_MASK) == PVCORE_GNTTABOP_cache_flush) {
        return run_cache_flush(c, args, ret, cmd >> GNTTABOP_ARG_SHIFT);
    }
    switch (cmd) {
    case PVCORE_GNTTABOP_map_grant_ref:
        return run_batch(c, args, ret, &op_map);
    case PVCORE_GNTTABOP_unmap_grant_ref:
        return run_batch(c, args, ret, &op_unmap);
    case PVCORE_GNTTABOP_unmap_and_replace:
        return run_batch(c, args, ret, &op_unmap_and_replace);
    case PVCORE_GNTTABOP_copy:
        return run_batch(c, args, ret, &op_copy);
    case PVCORE_GNTTABOP_transfer:
        return run_batch(c, args, ret, &op_transfer);
    case PVCORE_GNTTABOP_swap_grant_ref:
        return run_batch(c, args, ret, &op_swap);
    case PVCORE_GNTTABOP_setup_table: {
        size_t sz = c->is32 ? sizeof(struct pvcore_gnttab_setup_table_x86_32)
                            : sizeof(struct pvcore_gnttab_setup_table_x86_64);
        uint32_t nr;
        uint64_t list;
        if (count != 1) {
            *ret = -PVCORE_EINVAL;
            break;
        }
        rc = hc_copy_in(c, b, uop, sz);
        if (rc != 0) {
            *ret = rc;
            break;
        }
        nr = hc_get_le32(b + 4);
        list = c->is32 ? hc_get_le32(b + 12) : hc_get_le64(b + 16);
        if (!hc_range_ok(c, list, (uint64_t)nr * (c->is32 ? 4u : 8u))) {
            *ret = -PVCORE_EFAULT;
            break;
        }
        status = setup_table(c, (uint16_t)(b[0] | b[1] << 8), nr, list);
        hc_put_le(b + 8, (uint16_t)status, 2);
        *ret = hc_copy_out(c, uop + 8, b + 8, 2);
        break;
    }
    case PVCORE_GNTTABOP_query_size:
        /* { dom, nr_frames, max_nr_frames, status }: one, as Xen takes it */
        if (count != 1) {
            *ret = -PVCORE_EINVAL;
            break;
        }
        rc = hc_copy_in(c, b, uop, sizeof(struct pvcore_gnttab_query_size));
        if (rc != 0) {
            *ret = rc;
            break;
        }
        d = hc_target(c, (uint16_t)((unsigned)b[0] | (unsigned)b[1] << 8), &denied);
        status = d == NULL ? PVCORE_GNTST_bad_domain
               : denied   ? PVCORE_GNTST_permission_denied
                          : PVCORE_GNTST_okay;
        if (status == PVCORE_GNTST_okay) {
            hc_put_le(b + 4, atomic_load(&d->gnt.nr), 4);
            hc_put_le(b + 8, d->gnt.max, 4);
        }
        hc_put_le(b + 12, (uint16_t)status, 2);
        *ret = hc_copy_out(c, uop, b, sizeof(struct pvcore_gnttab_query_size));
        break;
    case PVCORE_GNTTABOP_set_version: {
        uint32_t want;
        /* One op whatever `count` says (Xen does not look at it here, nor for get_version). */
        rc = hc_copy_in(c, b, uop, 4);
        if (rc != 0) {
            *ret = rc;
            break;
        }
        want = hc_get_le32(b);
        *ret = want != 1 && want != 2 ? -PVCORE_EINVAL : set_version(c->d, want);
        /* The version in force, whatever the outcome. */
        hc_put_le(b, c->d->gnt.version, 4);
        if (hc_copy_out(c, uop, b, 4) != 0) {
            *ret = -PVCORE_EFAULT;
        }
        break;
    }
    case PVCORE_GNTTABOP_get_status_frames: {
        /* { nr_frames, dom, status, frame_list } */
        size_t sz = c->is32 ? sizeof(struct pvcore_gnttab_get_status_frames_x86_32)
                            : sizeof(struct pvcore_gnttab_get_status_frames_x86_64);
        uint32_t nr;
        uint64_t list;
        if (count != 1) {
            *ret = -PVCORE_EINVAL;
            break;
        }
        rc = hc_copy_in(c, b, uop, sz);
        if (rc != 0) {
            *ret = rc;
            break;
        }
        nr = hc_get_le32(b);
        list = c->is32 ? hc_get_le32(b + 8) : hc_get_le64(b + 8);
        /* Xen checks the whole list up front for a 32-bit caller only (its compat layer);
         * a 64-bit caller's bad list is GNTST_bad_virt_addr, frame by frame. */
        if (c->is32 && !hc_range_ok(c, list, (uint64_t)nr * 8u)) {
            *ret = -PVCORE_EFAULT;
            break;
        }
        status = get_status_frames(c, (uint16_t)(b[4] | b[5] << 8), nr, list);
        hc_put_le(b + 6, (uint16_t)status, 2);
        *ret = hc_copy_out(c, uop + 6, b + 6, 2);
        break;
    }
    case PVCORE_GNTTABOP_get_version:
        rc = hc_copy_in(c, b, uop, sizeof(struct pvcore_gnttab_get_version));
        if (rc != 0) {
            *ret = rc;
            break;
        }
        d = hc_target(c, (uint16_t)(b[0] | b[1] << 8), &denied);
        if (d == NULL) {
            *ret = -PVCORE_ESRCH;
            break;
        }
        if (denied) {
            *ret = -PVCORE_EPERM;
            break;
        }
        hc_put_le(b + 4, d->gnt.version, 4);
        *ret = hc_copy_out(c, uop + 4, b + 4, 4);
        break;
    default:
        *ret = -PVCORE_ENOSYS;
        break;
    }
    return PVCORE_HYPERCALL_DONE;
}
