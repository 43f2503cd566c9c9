/*
 * Guest memory: the walk behind every copy between a hypercall and the guest, and the
 * copies themselves. No library lock is held here (see <pvcore/guestmem.h>).
 *
 * The walk is hand over hand: it holds a general and a page-table type reference on the
 * table whose entry it reads, takes the same on the table that entry names (checking that
 * it is still a validated table of the same domain), and only then lets go of the first.
 * A held type reference keeps a table validated, so every entry read from it is one the
 * validator accepted, whatever other vCPUs do to the tables meanwhile. The final frame is
 * taken with a general reference, then the entry is read again: if it still maps that
 * frame, the frame was mappable by the guest at a moment when we already held it, and
 * with the reference held its owner cannot change.
 *
 * Page-table type references taken here follow one rule that the MMU's lock holders rely
 * on (pagetype.h): a walker adds a reference only to a validated table that already has
 * one, never up to the top of the count, and drops one by compare-and-swap only while
 * another remains; the last one is dropped under the owner's lock, as every other
 * holder's is (frame_put_table_unlocked()).
 */
#include <pvcore/guestmem.h>
#include <pvcore/mmu.h>

#include "internal/guestmem.h"
#include "internal/paging.h"

/* A walker never takes a table's type count beyond this: walks alone can never saturate
 * a table's count and so make its owner's own references fail. */
#define WALK_TYPE_LIMIT (PGT_COUNT_MASK / 2u)

/* A general and a type reference on table `mfn` of domain `owner`, in one step, if it is
 * a validated page table with a holder. true: *type is its type half, now held. */
static bool table_get(struct machine *m, uint64_t mfn, uint16_t owner, uint32_t *type)
{
    enum table_ref r;

    if (mfn >= m->nr_frames) {
        return false;
    }
    r = frame_ref_validated(mfn_frame(m, mfn), owner, PGT_VALIDATED, PGT_VALIDATED, true,
                            WALK_TYPE_LIMIT, type);
    if (PVCORE_UNLIKELY(r == TABLE_REF_STRAY)) {
        /* Another domain's table now (no lock is held here). */
        frame_put_table_unlocked(m, mfn);
    }
    return r == TABLE_REF_HELD;
}

/* One more writable type reference on a frame that already has one (the mapping the walk
 * found holds it). Never the first: a walk must not give any frame, the guest's or
 * another domain's, even a transient writable type its owner's retyping would trip on. */
static bool writable_get_existing(struct machine *m, uint64_t mfn)
{
    struct frame *f = mfn_frame(m, mfn);
    uint32_t x = frame_type(f, memory_order_relaxed);

    do {
        if ((x & PGT_TYPE_MASK) != PGT_WRITABLE || (x & PGT_COUNT_MASK) == 0 ||
            (x & PGT_COUNT_MASK) == PGT_COUNT_MASK) {
            return false;
        }
    } while (!frame_type_cas(f, &x, x + 1));
    return true;
}

/* The guest's own access to va, walked and held as the header describes. */
static int walk_get(struct vcpu *v, uint64_t va, bool write, struct pvcore_guestmem_page *out)
{
    struct domain *d = v->d;
    struct machine *m = d->m;
    /* The root of the mode the vCPU is in: a 64-bit guest's user half has its own. */
    uint64_t table = v->cpu.user_mode ? v->guest_table_user : v->guest_table;
    uint64_t e, e2, mfn;
    uint32_t type;
    uint16_t owner;
    unsigned level;
    bool rw = true;

    if (!paging_va_is_guest(d, va) || table == INVALID_MFN || !table_get(m, table, d->domid, &type)) {
        return -PVCORE_EFAULT;
    }
    for (level = domain_format(d)->levels;; level--) {
        uint64_t child;
        uint32_t ctype;

        if (!walk_step(d, table, type, level, va, &e)) {
            goto fail;
        }
        /* As the processor: a read-only entry at any level makes the page read-only, and
         * for an access the guest makes from its user mode a supervisor-only one makes it
         * unreachable. */
        rw = rw && (e & PTE_RW) != 0;
        if (PVCORE_UNLIKELY(v->cpu.user_access) && !(e & PTE_US)) {
            goto fail;
        }
        if (level == 1) {
            break;
        }
        child = pte_mfn(e);
        if (!table_get(m, child, d->domid, &ctype)) {
            goto fail;
        }
        frame_put_table_unlocked(m, table);
        table = child;
        type = ctype;
    }
    if (write && !rw) {
        goto fail;
    }
    /* The frame the last entry maps: RAM only (not I/O memory), held before it is used. */
    mfn = pte_mfn(e);
    if (!frame_get_any_page(m, mfn, &owner)) {
        goto fail;
    }
    if (write && !writable_get_existing(m, mfn)) {
        frame_put_page(m, mfn);
        goto fail;
    }
    /* Still mapped by the (held, validated) table: then it was the guest's to map while
     * we held it. */
    e2 = pte_read(&frame_entries(m, table)[walk_index(va, 1)]);
    if (!pte_present(e2) || pte_mfn(e2) != mfn || (write && !(e2 & PTE_RW))) {
        if (write) {
            frame_put_writable_unlocked(m, mfn);
        }
        frame_put_page(m, mfn);
        goto fail;
    }
    frame_put_table_unlocked(m, table);
    out->maddr = (mfn << PVCORE_PAGE_SHIFT) | (va & (PVCORE_PAGE_SIZE - 1u));
    out->flags = (rw && (e2 & PTE_RW) ? PVCORE_GUESTMEM_WRITABLE : 0u) |
                 (write ? PVCORE_GUESTMEM_HELD_WRITE : 0u);
    out->pad = 0;
    return 0;

fail:
    frame_put_table_unlocked(m, table);
    return -PVCORE_EFAULT;
}

int pvcore_guestmem_get(struct pvcore_vcpu *pv, uint64_t va, int write,
                        struct pvcore_guestmem_page *out)
{
    return walk_get((struct vcpu *)(void *)pv, va, write != 0, out);
}

void pvcore_guestmem_put(struct pvcore_vcpu *pv, struct pvcore_guestmem_page *pg)
{
    struct machine *m = vcpu_domain(pv)->m;
    uint64_t mfn = pg->maddr >> PVCORE_PAGE_SHIFT;

    if (pg->flags & PVCORE_GUESTMEM_HELD_WRITE) {
        /* We do not hold the owner's lock: the drop is recorded first (XSA-401). */
        frame_put_writable_unlocked(m, mfn);
    }
    frame_put_page(m, mfn);
    pg->flags = 0;
}

int pvcore_vcpu_translate(struct pvcore_vcpu *pv, uint64_t va, uint64_t *maddr, int *writable)
{
    struct pvcore_guestmem_page pg;

    if (walk_get((struct vcpu *)(void *)pv, va, false, &pg) != 0) {
        return -PVCORE_EFAULT;
    }
    *maddr = pg.maddr;
    if (writable != NULL) {
        *writable = (pg.flags & PVCORE_GUESTMEM_WRITABLE) != 0;
    }
    pvcore_guestmem_put(pv, &pg);
    return 0;
}

/* ---- copies ---------------------------------------------------------------------------------- */

static size_t page_chunk(uint64_t gva, size_t left)
{
    size_t in_page = PVCORE_PAGE_SIZE - (size_t)(gva & (PVCORE_PAGE_SIZE - 1u));

    return in_page < left ? in_page : left;
}

static uint8_t *maddr_ptr(const struct machine *m, uint64_t maddr)
{
    return m->directmap + (size_t)maddr;
}

int pvcore_guestmem_copy_from(struct pvcore_vcpu *v, void *dst, uint64_t gva, size_t len)
{
    const struct machine *m = vcpu_domain(v)->m;
    uint8_t *p = dst;

    if (!guest_range_ok(vcpu_domain(v), gva, len)) {
        return -PVCORE_EFAULT;
    }
    while (len > 0) {
        struct pvcore_guestmem_page pg;
        size_t n = page_chunk(gva, len);

        if (pvcore_guestmem_get(v, gva, 0, &pg) != 0) {
            return -PVCORE_EFAULT;
        }
        memcpy(p, maddr_ptr(m, pg.maddr), n);
        pvcore_guestmem_put(v, &pg);
        p += n;
        gva += n;
        len -= n;
    }
    return 0;
}

/* Checks that every page of the range is writable now, holding none of them. */
static bool all_writable(struct pvcore_vcpu *v, uint64_t gva, size_t len)
{
    while (len > 0) {
        struct pvcore_guestmem_page pg;
        size_t n = page_chunk(gva, len);

        if (pvcore_guestmem_get(v, gva, 1, &pg) != 0) {
            return false;
        }
        pvcore_guestmem_put(v, &pg);
        gva += n;
        len -= n;
    }
    return true;
}

int pvcore_guestmem_copy_to(struct pvcore_vcpu *v, uint64_t gva, const void *src, size_t len)
{
    const struct machine *m = vcpu_domain(v)->m;
    const uint8_t *p = src;
    uint64_t first_page = gva & ~(uint64_t)(PVCORE_PAGE_SIZE - 1u);
    bool held_whole;

    if (!guest_range_ok(vcpu_domain(v), gva, len)) {
        return -PVCORE_EFAULT;
    }
    if (len == 0) {
        return 0;
    }
    /* Pages the range touches, counted without overflow (the range does not wrap). */
    held_whole = ((gva + (len - 1u)) >> PVCORE_PAGE_SHIFT) - (first_page >> PVCORE_PAGE_SHIFT) <
                 PVCORE_GUESTMEM_HOLD_PAGES;
    if (!held_whole && !all_writable(v, gva, len)) {
        return -PVCORE_EFAULT;
    }
    while (len > 0) {
        struct pvcore_guestmem_page pg[PVCORE_GUESTMEM_HOLD_PAGES];
        size_t sizes[PVCORE_GUESTMEM_HOLD_PAGES];
        unsigned n = 0, k;
        uint64_t a = gva;
        size_t left = len;

        /* Hold a group of pages, then write them all. */
        while (left > 0 && n < PVCORE_GUESTMEM_HOLD_PAGES) {
            sizes[n] = page_chunk(a, left);
            if (pvcore_guestmem_get(v, a, 1, &pg[n]) != 0) {
                for (k = 0; k < n; k++) {
                    pvcore_guestmem_put(v, &pg[k]);
                }
                return -PVCORE_EFAULT;
            }
            a += sizes[n];
            left -= sizes[n];
            n++;
        }
        for (k = 0; k < n; k++) {
            memcpy(maddr_ptr(m, pg[k].maddr), p, sizes[k]);
            p += sizes[k];
            pvcore_guestmem_put(v, &pg[k]);
        }
        gva = a;
        len = left;
    }
    return 0;
}
