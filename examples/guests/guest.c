/*
 * The example PV guests' program, shared by guest64 and guest32 (format64.c and
 * format32.c supply the differences as data). Written purely against the Xen PV ABI.
 *
 * 1. Greets with start_info's magic, nr_pages and command line.
 * 2. Builds a new address space for the initial region with two batched mmu_update calls
 *    (never writing page-table memory directly), in frames taken from the top of its
 *    pseudo-physical memory.
 * 3. Switches to it with one mmuext_op batch: pin the new root, make it the base pointer,
 *    unpin the bootstrap root.
 * 4. Tries update_va_mapping on mappings the hypervisor must refuse (a live page table
 *    writable, a foreign frame, a hypervisor frame) and one it must now accept (the old,
 *    unused root writable).
 * 5. Optionally takes a page fault on purpose.
 * 6. Shuts down: poweroff if every check passed, crash otherwise.
 *
 * Every step prints one console line; their text is part of the examples' interface
 * (see README.md) and must stay stable.
 */
#include <stdbool.h>

#include <pvcore/abi/errno.h>
#include <pvcore/abi/xen.h>

#include "guest.h"
#include "layout.h"

/* The assembly wrappers use layout.h's numbers; they must be the ABI's. */
_Static_assert(GUEST_HC_mmu_update == PVCORE_HYPERVISOR_mmu_update, "mmu_update number");
_Static_assert(GUEST_HC_update_va_mapping == PVCORE_HYPERVISOR_update_va_mapping,
               "update_va_mapping number");
_Static_assert(GUEST_HC_console_io == PVCORE_HYPERVISOR_console_io, "console_io number");
_Static_assert(GUEST_HC_mmuext_op == PVCORE_HYPERVISOR_mmuext_op, "mmuext_op number");
_Static_assert(GUEST_HC_sched_op == PVCORE_HYPERVISOR_sched_op, "sched_op number");
_Static_assert(GUEST_HC_xen_version == PVCORE_HYPERVISOR_xen_version, "xen_version number");

#define VIRT_BASE ((unsigned long)GUEST_VIRT_BASE)

/* An address in the hypervisor's part of the address space: the 64-bit ABI reserves
 * 0xFFFF800000000000-0xFFFF87FFFFFFFFFF (minihv's direct map, and its code, start at
 * 0xFFFF830000000000); a 32-bit guest's ends at 0xF5800000, where the read-only M2P is
 * (readable, as the ABI says), and the rest of the hole above it is the hypervisor's. */
#if defined(__x86_64__)
#define HV_PROBE_VA 0xFFFF830000100000ul
#else
#define HV_PROBE_VA 0xF6800000ul
#endif
#define PAGE_SIZE ((unsigned long)GUEST_PAGE_SIZE)
#define ENTRIES 512ul                  /* entries per page table, every level and width */
#define L1_SPAN (ENTRIES * PAGE_SIZE)  /* 2 MiB mapped by one L1 table */
#define REGION_ALIGN (4ul << 20)       /* the initial mapping ends on a 4 MiB boundary */
#define MAX_L1 8ul                     /* so at most 16 MiB of initial mapping */
#define MAX_REGION (MAX_L1 * L1_SPAN)
#define FLUSH (PVCORE_UVMF_INVLPG | PVCORE_UVMF_LOCAL)

/* The region starts an L1 table and fits in the one L2 table that maps VIRT_BASE. */
_Static_assert((VIRT_BASE & (REGION_ALIGN - 1)) == 0, "VIRT_BASE is 4 MiB aligned");
_Static_assert(((VIRT_BASE >> 21) & (ENTRIES - 1)) + MAX_L1 <= ENTRIES,
               "the region fits in one L2 table");

/* Requests are built here, not on the 16 KiB stack. */
static pvcore_mmu_update_t l1_req[MAX_L1 * ENTRIES];
static pvcore_mmu_update_t upper_req[MAX_L1 + GUEST_MAX_LEVELS];
static char cmdline[PVCORE_MAX_GUEST_CMDLINE + 1];
static unsigned int failures;

/* What the new address space looks like; all from start_info. */
struct plan {
    const unsigned long *p2m;    /* start_info.mfn_list: MFN of each pfn */
    unsigned long nr_pages;
    unsigned long region_end;    /* VA: end of the new mapping (4 MiB aligned) */
    unsigned long end_pfn;       /* pfns below it are mapped, except the last (spare) one */
    unsigned long spare_va;      /* unmapped page whose L1 entry exists: the test target */
    unsigned long old_pt_pfn;    /* first bootstrap page-table frame: the old root */
    unsigned long old_pt_count;  /* start_info.nr_pt_frames */
    unsigned long nr_l1;         /* new L1 tables */
    unsigned long table_pfn[GUEST_MAX_LEVELS + 1]; /* new tables: [levels] root ... [2] L2 */
    unsigned long l1_pfn[MAX_L1];
};

/* ---- small helpers ---------------------------------------------------------------------- */

static void copy_string(char *dst, size_t size, const char *src, size_t max)
{
    size_t i;

    for (i = 0; i + 1 < size && i < max && src[i] != '\0'; i++) {
        dst[i] = src[i];
    }
    dst[i] = '\0';
}

static bool starts_with(const char *s, const char *prefix)
{
    while (*prefix != '\0') {
        if (*s++ != *prefix++) {
            return false;
        }
    }
    return true;
}

static bool same_string(const char *a, const char *b)
{
    return starts_with(a, b) && a[guest_strlen(b)] == '\0';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* The value of "key=value" when it is a whole word of the command line, else NULL. */
static const char *find_option(const char *key)
{
    const char *s = cmdline;

    while (*s != '\0') {
        while (is_space(*s)) {
            s++;
        }
        if (starts_with(s, key) && s[guest_strlen(key)] == '=') {
            return s + guest_strlen(key) + 1;
        }
        while (*s != '\0' && !is_space(*s)) {
            s++;
        }
    }
    return NULL;
}

/* Hexadecimal, with or without 0x, up to the end of the word. */
static bool parse_hex(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    unsigned int n = 0;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
    }
    for (; *s != '\0' && !is_space(*s); s++) {
        unsigned int d;

        if (*s >= '0' && *s <= '9') {
            d = (unsigned int)(*s - '0');
        } else if (*s >= 'a' && *s <= 'f') {
            d = (unsigned int)(*s - 'a') + 10u;
        } else if (*s >= 'A' && *s <= 'F') {
            d = (unsigned int)(*s - 'A') + 10u;
        } else {
            return false;
        }
        if (++n > 16) {
            return false;
        }
        v = (v << 4) | d;
    }
    *out = v;
    return n > 0;
}

/* An MFN from "key=0x<hex>"; 0 when the option is absent (or, counted as a failure, bad). */
static uint64_t option_mfn(const char *key)
{
    const char *v = find_option(key);
    uint64_t mfn = 0;

    if (v != NULL && !parse_hex(v, &mfn)) {
        guest_print("cmd_line: %s needs a hexadecimal frame number: FAILED", key);
        failures++;
        mfn = 0;
    }
    return mfn;
}

static bool option_is(const char *key, const char *value)
{
    const char *v = find_option(key);

    return v != NULL && starts_with(v, value) &&
           (v[guest_strlen(value)] == '\0' || is_space(v[guest_strlen(value)]));
}

static uint64_t maddr(const struct plan *p, unsigned long pfn)
{
    return (uint64_t)p->p2m[pfn] << GUEST_PAGE_SHIFT;
}

/* Index of `va` in a table of `level` (1 = L1); the same for 4-level and PAE paging. */
static unsigned long slot(unsigned long va, unsigned int level)
{
    return (unsigned long)(((uint64_t)va >> (GUEST_PAGE_SHIFT + 9u * (level - 1u))) &
                           (ENTRIES - 1u));
}

/* ---- step 1: who is the hypervisor (xen_version) and a yield ---------------------------- */

static void about_the_hypervisor(void)
{
    char caps[1024];
    long v, rc;
    unsigned i;

    v = hyp_xen_version(PVCORE_XENVER_version, NULL);
    for (i = 0; i < sizeof(caps); i++) {
        caps[i] = 0;
    }
    rc = hyp_xen_version(PVCORE_XENVER_capabilities, caps);
    caps[sizeof(caps) - 1] = 0;
    guest_print("xen_version: %ld.%ld, capabilities \"%s\"", v >> 16, v & 0xffff, caps);
    if (v < 0x30000 || rc != 0) {
        guest_print("xen_version returned %ld and %ld: FAILED", v, rc);
        failures++;
    }
    rc = hyp_sched_op(PVCORE_SCHEDOP_yield, NULL);
    if (rc != 0) {
        guest_print("sched_op(yield) returned %ld (expected 0): FAILED", rc);
        failures++;
    }
}

/* ---- step 6: the end -------------------------------------------------------------------- */

static _Noreturn void finish(void)
{
    struct pvcore_sched_shutdown sd;
    long rc;

    if (failures == 0) {
        guest_print("all checks passed");
        sd.reason = PVCORE_SHUTDOWN_poweroff;
        /* minihv.shutdown=<n>: shut down with reason n instead, to test its mapping. */
        if (find_option("minihv.shutdown") != NULL) {
            sd.reason = (unsigned int)option_mfn("minihv.shutdown");
            guest_print("shutting down with reason %u as asked", sd.reason);
        }
    } else {
        guest_print("%u checks FAILED", failures);
        sd.reason = PVCORE_SHUTDOWN_crash;
    }
    rc = hyp_sched_op(PVCORE_SCHEDOP_shutdown, &sd);
    guest_print("shutdown returned %ld; yielding forever", rc);
    for (;;) {
        (void)hyp_sched_op(PVCORE_SCHEDOP_yield, NULL);
    }
}

/* ---- step 2: plan and build the new page tables ----------------------------------------- */

/* Grows *top (an offset from VIRT_BASE) to cover [va, va + len), which must be in range. */
static bool cover(unsigned long *top, unsigned long va, unsigned long len, const char *what)
{
    unsigned long off = va - VIRT_BASE;

    if (va < VIRT_BASE || off > MAX_REGION || len > MAX_REGION - off) {
        guest_print("%s at 0x%lx (0x%lx bytes) is not within 0x%lx-0x%lx: FAILED", what, va,
                    len, VIRT_BASE, VIRT_BASE + MAX_REGION);
        failures++;
        return false;
    }
    if (off + len > *top) {
        *top = off + len;
    }
    return true;
}

static bool make_plan(const pvcore_start_info_t *si, unsigned long entry_sp, struct plan *p)
{
    const unsigned int levels = guest_format.levels;
    unsigned long pt_base = (unsigned long)si->pt_base;
    unsigned long nr_pt = (unsigned long)si->nr_pt_frames;
    unsigned long top = 0, end, next, k;
    bool ok = true;

    p->p2m = (const unsigned long *)(uintptr_t)si->mfn_list;
    p->nr_pages = (unsigned long)si->nr_pages;
    if (p->nr_pages > MAX_REGION / sizeof(unsigned long)) {
        guest_print("nr_pages %lu: the p2m list would not fit in the initial mapping: FAILED",
                    p->nr_pages);
        failures++;
        return false;
    }
    if ((pt_base & (PAGE_SIZE - 1)) != 0 || nr_pt == 0 || nr_pt > MAX_REGION / PAGE_SIZE) {
        guest_print("pt_base 0x%lx, nr_pt_frames %lu: not page tables: FAILED", pt_base, nr_pt);
        failures++;
        return false;
    }
    /* Everything the builder placed, from the image to the boot stack (which follows the
     * bootstrap page tables); each range is checked before it is added, so no overflow. */
    ok = cover(&top, (unsigned long)(uintptr_t)_image_end, 0, "the image end") && ok;
    ok = cover(&top, (unsigned long)(uintptr_t)si, sizeof(*si), "start_info") && ok;
    ok = cover(&top, (unsigned long)(uintptr_t)p->p2m, p->nr_pages * sizeof(unsigned long),
               "the p2m list") && ok;
    ok = cover(&top, pt_base, (nr_pt + 1) * PAGE_SIZE,
               "the bootstrap page tables and boot stack") && ok;
    ok = cover(&top, entry_sp, 0, "the boot stack top") && ok;
    if (!ok) {
        return false;
    }
    /* At least one spare page after all of it, then up to the next 4 MiB boundary. */
    end = (top + PAGE_SIZE + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
    if (end > MAX_REGION) {
        guest_print("the initial region needs 0x%lx bytes, more than this guest's limit of "
                    "0x%lx: FAILED", end, MAX_REGION);
        failures++;
        return false;
    }
    p->region_end = VIRT_BASE + end;
    p->end_pfn = end / PAGE_SIZE;
    p->spare_va = p->region_end - PAGE_SIZE;
    p->old_pt_pfn = (pt_base - VIRT_BASE) / PAGE_SIZE;
    p->old_pt_count = nr_pt;
    p->nr_l1 = end / L1_SPAN;

    /* New tables come from the top of memory, above everything the new tables map. */
    if (p->nr_pages < p->end_pfn + (levels - 1u) + p->nr_l1) {
        guest_print("nr_pages %lu: too few for %lu mapped and %lu new page-table frames: "
                    "FAILED", p->nr_pages, p->end_pfn, (levels - 1u) + p->nr_l1);
        failures++;
        return false;
    }
    next = p->nr_pages;
    for (unsigned int l = levels; l >= 2; l--) {
        p->table_pfn[l] = --next;
    }
    for (k = 0; k < p->nr_l1; k++) {
        p->l1_pfn[k] = --next;
    }
    return true;
}

static bool run_batch(const char *what, const pvcore_mmu_update_t *req, unsigned long n)
{
    unsigned int done = 0;
    long rc = hyp_mmu_update(req, n, &done, PVCORE_DOMID_SELF);

    if (rc != 0 || done != n) {
        guest_print("mmu_update of %s: result %ld, done %u (expected 0, done %lu): FAILED",
                    what, rc, done, n);
        failures++;
        return false;
    }
    return true;
}

static bool build_tables(const struct plan *p)
{
    const struct guest_format *f = &guest_format;
    unsigned long n = 0, m = 0, pfn, k;

    /* Batch 1: every L1 entry, the spare page's excepted. The frames are zero, so the
     * entries not written stay empty. */
    for (pfn = 0; pfn + 1 < p->end_pfn; pfn++) {
        unsigned long va = VIRT_BASE + pfn * PAGE_SIZE;
        /* Unsigned wrap-around makes pfns below old_pt_pfn fail the test too. */
        bool old_pt = pfn - p->old_pt_pfn < p->old_pt_count;

        l1_req[n].ptr = (maddr(p, p->l1_pfn[pfn / ENTRIES]) + slot(va, 1) * 8u) |
                        PVCORE_MMU_NORMAL_PT_UPDATE;
        l1_req[n].val = maddr(p, pfn) | (old_pt ? f->ro_page_flags : f->page_flags);
        n++;
    }
    /* Batch 2: the L2 entries that point to the L1 tables, then one entry per level. */
    for (k = 0; k < p->nr_l1; k++) {
        upper_req[m].ptr = (maddr(p, p->table_pfn[2]) + (slot(VIRT_BASE, 2) + k) * 8u) |
                           PVCORE_MMU_NORMAL_PT_UPDATE;
        upper_req[m].val = maddr(p, p->l1_pfn[k]) | f->table_flags[2];
        m++;
    }
    for (unsigned int l = 3; l <= f->levels; l++) {
        upper_req[m].ptr = (maddr(p, p->table_pfn[l]) + slot(VIRT_BASE, l) * 8u) |
                           PVCORE_MMU_NORMAL_PT_UPDATE;
        upper_req[m].val = maddr(p, p->table_pfn[l - 1]) | f->table_flags[l];
        m++;
    }
    if (!run_batch("the L1 entries", l1_req, n) ||
        !run_batch("the upper-level entries", upper_req, m)) {
        return false;
    }
    guest_print("built new page tables for 0x%lx-0x%lx: %lu L1 and %lu upper-level entries",
                VIRT_BASE, p->region_end, n, m);
    return true;
}

/* ---- step 3: switch --------------------------------------------------------------------- */

static bool switch_tables(const struct plan *p)
{
    const pvcore_xen_pfn_t new_root = p->p2m[p->table_pfn[guest_format.levels]];
    const pvcore_xen_pfn_t old_root = p->p2m[p->old_pt_pfn];
    const pvcore_mmuext_op_t op[3] = {
        { .cmd = (uint32_t)guest_format.pin_root, .arg1.mfn = new_root },
        { .cmd = PVCORE_MMUEXT_NEW_BASEPTR, .arg1.mfn = new_root },
        { .cmd = PVCORE_MMUEXT_UNPIN_TABLE, .arg1.mfn = old_root },
    };
    unsigned int done = 0;
    long rc = hyp_mmuext_op(op, 3, &done, PVCORE_DOMID_SELF);

    if (rc != 0 || done != 3) {
        guest_print("mmuext_op (pin new root, new base pointer, unpin old root): result %ld, "
                    "done %u (expected 0, done 3): FAILED", rc, done);
        failures++;
        return false;
    }
    /* Printed from code, stack and data reached through the new tables only. */
    guest_print("switched to the new address space");
    return true;
}

/* ---- step 4: update_va_mapping checks --------------------------------------------------- */

/* Prints "<what>: refused, error -16 (expected -16)" and counts a mismatch. */
static void report(const char *what, long rc, long expected, const char *extra)
{
    const char *verdict = rc == expected ? "" : " FAILED";

    if (rc < 0) {
        guest_print("%s: refused, error %ld (expected %ld)%s%s", what, rc, expected, extra,
                    verdict);
    } else {
        guest_print("%s: accepted, result %ld (expected %ld)%s%s", what, rc, expected, extra,
                    verdict);
    }
    if (rc != expected) {
        failures++;
    }
}

/* A mapping at the spare VA that the hypervisor must refuse with EBUSY. */
static void expect_busy(const struct plan *p, const char *what, uint64_t val)
{
    long rc = hyp_update_va_mapping(p->spare_va, val, FLUSH);

    report(what, rc, -PVCORE_EBUSY, "");
    if (rc == 0) {
        (void)hyp_update_va_mapping(p->spare_va, 0, FLUSH); /* take it away again */
    }
}

static void attacks(const struct plan *p, const pvcore_start_info_t *si, uint64_t foreign,
                    uint64_t xen)
{
    const struct guest_format *f = &guest_format;
    /* The L1 that holds the spare VA's own entry. */
    const unsigned long own_l1 = p->l1_pfn[p->nr_l1 - 1];
    const unsigned long old_root_va = (unsigned long)si->pt_base;
    char what[96];
    long rc;

    expect_busy(p, "map own page table writable", maddr(p, own_l1) | f->page_flags);

    guest_snprintf(what, sizeof(what), "map foreign frame 0x%llx read-only",
                   (unsigned long long)foreign);
    expect_busy(p, what, (foreign << GUEST_PAGE_SHIFT) | f->ro_page_flags);

    guest_snprintf(what, sizeof(what), "map hypervisor frame 0x%llx read-only",
                   (unsigned long long)xen);
    expect_busy(p, what, (xen << GUEST_PAGE_SHIFT) | f->ro_page_flags);

    /* Unpinned and no longer anyone's base pointer, the old root is ordinary memory. */
    rc = hyp_update_va_mapping(old_root_va, maddr(p, p->old_pt_pfn) | f->page_flags, FLUSH);
    if (rc == 0) {
        volatile unsigned char *b = (volatile unsigned char *)(uintptr_t)old_root_va;
        unsigned char got;

        b[0] = 0xa5;
        got = b[0];
        if (got == 0xa5) {
            report("remap old root page table writable", rc, 0, ", write ok");
        } else {
            guest_snprintf(what, sizeof(what), ", wrote 0xa5 but read back 0x%x FAILED", got);
            report("remap old root page table writable", rc, 0, what);
            failures++;
        }
    } else {
        report("remap old root page table writable", rc, 0, "");
    }
}

/* ---- step 5 (minihv.attack=walk): a walk into the hypervisor's slots -------------------- */

/*
 * A read-only self-map (an L4 slot naming the L4 itself) is legal. With it, an address
 * whose next index is a hypervisor slot would, if the hypervisor's walk of our tables
 * followed that slot, reach its own tables and direct map: minihv's slot 262 names its
 * direct-map L3, whose entry 0 an L2 of 2 MiB pages, whose entry 1 maps physical 2 MiB.
 * Hypercalls that copy from such an address must fail with -EFAULT. A request array read
 * through the self-map from our own tables, by contrast, must be read (the request it
 * finds is an L3 entry, whose low bits P|RW|US make command 7: -ENOSYS).
 */
#define SELF_SLOT 300ul

static unsigned long va4(unsigned long i4, unsigned long i3, unsigned long i2, unsigned long i1)
{
    uint64_t va = (uint64_t)i4 << 39 | (uint64_t)i3 << 30 | (uint64_t)i2 << 21 | (uint64_t)i1 << 12;

    return (unsigned long)((va & (1ull << 47)) ? va | 0xFFFF000000000000ull : va);
}

static void walk_attack(const struct plan *p)
{
    const uint64_t root = maddr(p, p->table_pfn[guest_format.levels]);
    pvcore_mmu_update_t u;
    unsigned int done = 0;
    unsigned long hv, own;
    long rc;

    if (guest_format.levels != 4) {
        guest_print("walk attack: needs 4-level paging, skipped");
        return;
    }
    u.ptr = root + SELF_SLOT * 8u;
    u.val = root | GUEST_PTE_P | GUEST_PTE_US | GUEST_PTE_A;
    rc = hyp_mmu_update(&u, 1, &done, PVCORE_DOMID_SELF);
    report("install a read-only self-map", rc, 0, "");
    if (rc != 0) {
        return;
    }
    /* Own L4, own L4 again (as an L3), then slot 262 and on into minihv's tables. */
    hv = va4(SELF_SLOT, 262, 0, 1);
    /* Own L4 three times, then slot 511: the L3 that maps VIRT_BASE, read as data. */
    own = va4(SELF_SLOT, SELF_SLOT, SELF_SLOT, 511) + 510u * 8u;
    done = 0;
    rc = hyp_mmu_update((const pvcore_mmu_update_t *)own, 1, &done, PVCORE_DOMID_SELF);
    report("request array through the self-map, own tables", rc, -PVCORE_ENOSYS, "");
    guest_print("walking into the hypervisor's slots at 0x%lx", hv);
    rc = hyp_console_io(PVCORE_CONSOLEIO_write, 64, (const char *)hv);
    report("console_io from the hypervisor's direct map", rc, -PVCORE_EFAULT, "");
    done = 0;
    rc = hyp_mmu_update((const pvcore_mmu_update_t *)hv, 1, &done, PVCORE_DOMID_SELF);
    report("mmu_update request array in the hypervisor's direct map", rc, -PVCORE_EFAULT, "");
    if (done != 0) {
        guest_print("mmu_update done %u (expected 0) FAILED", done);
        failures++;
    }
    u.val = 0;
    rc = hyp_mmu_update(&u, 1, &done, PVCORE_DOMID_SELF);
    report("remove the self-map", rc, 0, "");
}

/* ---- the program ------------------------------------------------------------------------ */

_Noreturn void guest_main(const pvcore_start_info_t *si, unsigned long entry_sp)
{
    char magic[sizeof(si->magic) + 1];
    struct plan plan;
    uint64_t foreign, xen;

    /* With the page still holding the image's 0xc3 filler, every hypercall would return
     * garbage and nothing could be printed: fault, so the hypervisor reports it. */
    if (hypercall_page[0] == 0xc3) {
        guest_die();
    }

    /* 1. Hello. */
    copy_string(magic, sizeof(magic), si->magic, sizeof(si->magic));
    copy_string(cmdline, sizeof(cmdline), (const char *)si->cmd_line, sizeof(si->cmd_line));
    guest_print("hello: start_info magic \"%s\", nr_pages %lu, cmd_line \"%s\"", magic,
                (unsigned long)si->nr_pages, cmdline);
    guest_print("start_info 0x%lx, p2m list 0x%lx, page tables 0x%lx (%lu frames), "
                "boot stack top 0x%lx", (unsigned long)(uintptr_t)si,
                (unsigned long)si->mfn_list, (unsigned long)si->pt_base,
                (unsigned long)si->nr_pt_frames, entry_sp);
    if (!same_string(magic, guest_format.magic)) {
        guest_print("start_info magic \"%s\" (expected \"%s\"): FAILED", magic,
                    guest_format.magic);
        failures++;
    }
    foreign = option_mfn("minihv.foreign");
    xen = option_mfn("minihv.xen");
    about_the_hypervisor();

    /* 2. and 3. */
    if (!make_plan(si, entry_sp, &plan) || !build_tables(&plan) || !switch_tables(&plan)) {
        finish();
    }

    /* 4. */
    attacks(&plan, si, foreign, xen);

    /* 5. */
    if (option_is("minihv.attack", "walk")) {
        walk_attack(&plan);
    }
    if (option_is("minihv.fault", "1")) {
        guest_print("taking a page fault on purpose");
        (void)guest_read_byte(VIRT_BASE - PAGE_SIZE);
        guest_print("fault was not fatal");
        failures++;
    } else if (option_is("minihv.fault", "hv")) {
        /* The hypervisor's own memory: its area of the address space (the 64-bit direct
         * map minihv runs from, or the 32-bit hole) must not be readable at all. */
        guest_print("reading hypervisor memory at 0x%lx", (unsigned long)HV_PROBE_VA);
        (void)guest_read_byte(HV_PROBE_VA);
        guest_print("hypervisor memory was readable");
        failures++;
    }

    /* 6. */
    finish();
}
