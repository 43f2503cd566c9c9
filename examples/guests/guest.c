/*
 * The example PV guests' program, shared by guest64 and guest32 (format64.c and
 * format32.c supply the differences as data). Written purely against the Xen PV ABI.
 *
 * 1. Greets with start_info's magic, nr_pages and command line; checks the ramdisk, if
 *    there is one (placed between the image and the p2m list; its FNV-1a hash printed),
 *    and nr_pages against minihv.expect_pages=<N>, when given.
 * 2. Builds a new address space for the initial region with two batched mmu_update calls
 *    (never writing page-table memory directly), in frames taken from the top of its
 *    pseudo-physical memory.
 * 3. Switches to it with one mmuext_op batch: pin the new root, make it the base pointer,
 *    unpin the bootstrap root.
 * 4. Tries update_va_mapping on mappings the hypervisor must refuse (a live page table
 *    writable, a foreign frame, a hypervisor frame) and one it must now accept (the old,
 *    unused root writable).
 * 5. The CPU half: registers a trap table, takes a page fault on purpose and recovers from
 *    it in its handler (returning with HYPERVISOR_iret); installs a GDT of its own and
 *    reads through one of its segments, has update_descriptor refuse descriptors that
 *    would reach the hypervisor; sets an LDT, reads through it (its page is mapped by the
 *    hypervisor on first use) and takes the #GP of a selector beyond it.
 * 6. Optionally takes a fault on purpose (unexpected, in hypervisor memory, or one whose
 *    handler faults again where nothing can be delivered).
 * 7. Shuts down: poweroff if every check passed, crash otherwise.
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
_Static_assert(GUEST_HC_set_trap_table == PVCORE_HYPERVISOR_set_trap_table,
               "set_trap_table number");
_Static_assert(GUEST_HC_set_gdt == PVCORE_HYPERVISOR_set_gdt, "set_gdt number");
_Static_assert(GUEST_HC_stack_switch == PVCORE_HYPERVISOR_stack_switch, "stack_switch number");
_Static_assert(GUEST_HC_update_descriptor == PVCORE_HYPERVISOR_update_descriptor,
               "update_descriptor number");
_Static_assert(GUEST_HC_iret == PVCORE_HYPERVISOR_iret, "iret number");
_Static_assert(GUEST_HC_grant_table_op == PVCORE_HYPERVISOR_grant_table_op, "grant_table_op number");
_Static_assert(GUEST_HC_memory_op == PVCORE_HYPERVISOR_memory_op, "memory_op number");

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
    unsigned long free_va;       /* first page after everything the builder placed (to spare_va: unused) */
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

/* Decimal, up to the end of the word; at most 19 digits, so no overflow and no division. */
static bool parse_dec(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    unsigned int n = 0;

    for (; *s != '\0' && !is_space(*s); s++) {
        if (*s < '0' || *s > '9' || ++n > 19) {
            return false;
        }
        v = (v << 3) + (v << 1) + (uint64_t)(*s - '0');
    }
    *out = v;
    return n > 0;
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

/* For events.c. */
bool guest_option_is(const char *key, const char *value)
{
    return option_is(key, value);
}

bool guest_starts_with(const char *s, const char *prefix)
{
    return starts_with(s, prefix);
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

/* ---- step 1: the ramdisk and the memory size ------------------------------------------ */

#define FNV1A_OFFSET 0xcbf29ce484222325ull
#define FNV1A_PRIME 0x100000001b3ull

/* 64-bit FNV-1a; a 64-bit multiplication is inline on i386 too (no libgcc call). */
static uint64_t fnv1a(const unsigned char *p, unsigned long len)
{
    uint64_t h = FNV1A_OFFSET;

    for (unsigned long i = 0; i < len; i++) {
        h ^= p[i];
        h *= FNV1A_PRIME;
    }
    return h;
}

/* Sixteen hex digits: the print helper has no field widths (%016llx). */
static const char *hex16(uint64_t v, char buf[17])
{
    static const char digits[] = "0123456789abcdef";

    for (int i = 15; i >= 0; i--) {
        buf[i] = digits[v & 15u];
        v >>= 4;
    }
    buf[16] = '\0';
    return buf;
}

/* Xen's start-of-day order puts the ramdisk (the multiboot module) right after the image
 * and the p2m list after it: [_image_end, mfn_list) is mapped, so it may be read there
 * and nowhere else. mod_start is a virtual address: we do not ask for SIF_MOD_START_PFN. */
static void check_ramdisk(const pvcore_start_info_t *si)
{
    const unsigned long start = (unsigned long)si->mod_start;
    const unsigned long len = (unsigned long)si->mod_len;
    const unsigned long image_end = (unsigned long)(uintptr_t)_image_end;
    const unsigned long p2m = (unsigned long)si->mfn_list;
    char hex[17];
    bool aligned;

    if (len == 0) {
        return;
    }
    if ((si->flags & PVCORE_SIF_MOD_START_PFN) != 0) {
        guest_print("ramdisk at pfn 0x%lx, %lu bytes: SIF_MOD_START_PFN, which this guest does "
                    "not ask for: FAILED", start, len);
        failures++;
        return;
    }
    /* In that order, so p2m - start cannot wrap. */
    if (start < image_end || start > p2m || len > p2m - start) {
        guest_print("ramdisk at 0x%lx, %lu bytes, not read: not within 0x%lx-0x%lx: "
                    "MISPLACED: FAILED", start, len, image_end, p2m);
        failures++;
        return;
    }
    aligned = (start & (PAGE_SIZE - 1)) == 0;
    /* (The address last: it moves with the image's size, the rest is what a test checks.) */
    guest_print("ramdisk: %lu bytes, fnv1a 0x%s: %s, at 0x%lx", len,
                hex16(fnv1a((const unsigned char *)(uintptr_t)start, len), hex),
                aligned ? "in place" : "MISPLACED: FAILED", start);
    if (!aligned) {
        failures++;
    }
}

/* minihv.expect_pages=<N>: start_info.nr_pages must be N. */
static void check_nr_pages(const pvcore_start_info_t *si)
{
    const char *v = find_option("minihv.expect_pages");
    uint64_t want;

    if (v == NULL) {
        return;
    }
    if (!parse_dec(v, &want)) {
        guest_print("cmd_line: minihv.expect_pages needs a decimal number of pages: FAILED");
        failures++;
    } else if ((uint64_t)si->nr_pages == want) {
        guest_print("nr_pages %lu as expected", (unsigned long)si->nr_pages);
    } else {
        guest_print("nr_pages %lu (expected %llu): FAILED", (unsigned long)si->nr_pages,
                    (unsigned long long)want);
        failures++;
    }
}

/* ---- step 7: the end -------------------------------------------------------------------- */

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
    p->free_va = VIRT_BASE + ((top + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1));
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

/* ---- step 4 (minihv.attack=walk): a walk into the hypervisor's slots -------------------- */

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

/* ---- step 5: the CPU half: trap table, a recovered page fault, GDT and LDT -------------- */

/*
 * The guest kernel's flat selectors and ring: a 64-bit kernel runs in ring 3, a 32-bit one
 * in ring 1, so its own descriptors have that DPL and its selectors that RPL.
 */
#if defined(__x86_64__)
#define KERNEL_CS PVCORE_FLAT_KERNEL_CS_X86_64 /* 0xe033 */
#define KERNEL_SS PVCORE_FLAT_KERNEL_SS_X86_64 /* 0xe02b */
#define KERNEL_RPL 3u
#else
#define KERNEL_CS PVCORE_FLAT_KERNEL_CS_X86_32 /* 0xe019 */
#define KERNEL_SS PVCORE_FLAT_KERNEL_SS_X86_32 /* 0xe021 */
#define KERNEL_RPL 1u
#endif
#define HYP_CS 0xe008u /* the hypervisor's own code selector, in the reserved GDT entries */

#define VEC_GP 13u
#define VEC_PF 14u

/* Segment bases of the descriptors the guest reads through besides a flat one, each
 * distinct, so that a read that finds the expected word shows that the processor used that
 * very descriptor. */
#define GDT_BASE 0x00100000u
#define UPDATED_BASE 0x00200000u
#define LDT_BASE 0x00300000u
#define GDT_ENTRIES 5u
#define LDT_ENTRIES 2u

/* minihv.fault=nested: the first fault's address, the unmapped stack its handler moves
 * to and the address it then reads; all below VIRT_BASE, where nothing is mapped. */
#define NESTED_VA (VIRT_BASE - 2 * PAGE_SIZE)
#define NESTED_STACK (VIRT_BASE - 3 * PAGE_SIZE)
#define NESTED_TOUCH (VIRT_BASE - 5 * PAGE_SIZE)

/* Pages of .bss given other uses: the GDT and LDT (mapped read-only once filled) and a
 * window where the shared-info page is mapped (its own frame is then unmapped). */
static uint64_t gdt_page[ENTRIES] __attribute__((aligned(GUEST_PAGE_SIZE)));
static uint64_t ldt_page[ENTRIES] __attribute__((aligned(GUEST_PAGE_SIZE)));
static unsigned char shared_window[GUEST_PAGE_SIZE] __attribute__((aligned(GUEST_PAGE_SIZE)));
static const volatile pvcore_shared_info_t *shared;

/* The word read through the segments. */
static const uint32_t probe_word = 0x5ca1ab1eu;

/* The last exception guest_trap() saw, for the step that took it on purpose. */
static struct {
    unsigned long vector, error, address;
    unsigned int count;
} seen;
/* Armed by the recovered-fault step: a #PF maps recover_pte at recover_va and retries. */
static unsigned long recover_va;
static uint64_t recover_pte;
/* Armed by minihv.fault=nested: a #PF at this address faults again on an unmapped stack. */
static unsigned long nested_va;

static const char *const trap_names[32] = {
    [0] = "divide error", [6] = "invalid opcode", [10] = "invalid TSS",
    [11] = "segment not present", [12] = "stack fault", [13] = "general protection",
    [14] = "page fault", [17] = "alignment check",
};

/* The fault address as the ABI hands it over: vcpu_info[0].arch.cr2 in shared info. */
static unsigned long fault_address(void)
{
    return shared != NULL ? (unsigned long)shared->vcpu_info[0].arch.cr2 : 0;
}

static uint64_t page_va_pte(unsigned long va, const struct plan *p, uint64_t flags)
{
    return maddr(p, (va - VIRT_BASE) / PAGE_SIZE) | flags;
}

/*
 * Every exception of the trap table's vectors arrives here (entry64.S / entry32.S), on the
 * kernel stack (events stay masked: this guest never unmasks them). A fault some step
 * expects is recorded and resolved; any other is reported and ends the guest, so an
 * unexpected fault is always visible.
 */
void guest_trap(struct guest_trap_frame *f)
{
    if (f->vector == GUEST_VEC_EVENT) {
        guest_events_upcall(); /* the event callback (events.c) */
        return;
    }
    const char *name = f->vector < 32 && trap_names[f->vector] ? trap_names[f->vector] : "?";
    unsigned long address = f->vector == VEC_PF ? fault_address() : 0;
    unsigned long fix;
    long rc;

    seen.vector = f->vector;
    seen.error = f->error;
    seen.address = address;
    seen.count++;
    if (f->vector == VEC_PF && recover_va != 0) {
        /* Map the page the step touched (whatever address was reported: the step checks
         * that) and let the access run again. */
        rc = hyp_update_va_mapping(recover_va, recover_pte, FLUSH);
        recover_va = 0;
        if (rc == 0) {
            return;
        }
        guest_print("page fault handler: update_va_mapping returned %ld: FAILED", rc);
    } else if (f->vector == VEC_PF && nested_va != 0 && address == nested_va) {
        /* The handler's own fault cannot be delivered: there is no stack to write its
         * frame on. The hypervisor has to destroy the guest. */
        guest_print("page fault at 0x%lx: handler moves to the unmapped stack 0x%lx and reads "
                    "0x%lx", address, (unsigned long)NESTED_STACK, (unsigned long)NESTED_TOUCH);
        guest_fault_on_stack(NESTED_STACK, NESTED_TOUCH);
    } else if ((fix = guest_fixup(f->ip)) != 0) {
        /* An instruction that may fault (guest_probe_byte, guest_load_fs): it returns -1. */
        f->ip = fix;
        return;
    }
    if (f->vector == VEC_PF) {
        guest_print("unexpected %s at 0x%lx, rip 0x%lx, error 0x%lx: FAILED", name, address,
                    f->ip, f->error);
    } else {
        guest_print("unexpected %s (vector %lu) at rip 0x%lx, error 0x%lx: FAILED", name,
                    f->vector, f->ip, f->error);
    }
    failures++;
    finish();
}

/* The trap table (one entry per stub, DPL 0: no software INT reaches them) and the kernel
 * stack. false if the hypervisor offers no trap table (the steps needing one are skipped). */
static bool setup_traps(void)
{
    static pvcore_trap_info_t table[33];
    unsigned int n = 0, vec;
    char what[96];
    long rc;

    for (vec = 0; vec < 32; vec++) {
        if (guest_trap_entry[vec] != 0) {
            table[n].vector = (uint8_t)vec;
            table[n].flags = 0;
            table[n].cs = KERNEL_CS;
            table[n].address = guest_trap_entry[vec];
            n++;
        }
    }
    table[n].address = 0; /* the end */
    rc = hyp_set_trap_table(table);
    if (rc == -PVCORE_ENOSYS) {
        guest_print("set_trap_table: not offered (error %ld): CPU checks skipped", rc);
        return false;
    }
    guest_snprintf(what, sizeof(what), "set_trap_table with %u handlers, cs 0x%x", n,
                   (unsigned int)KERNEL_CS);
    report(what, rc, 0, "");
    if (rc != 0) {
        return false;
    }
    /* The stack a switch from user to kernel mode lands on (a 32-bit guest's ring-1 SS:ESP;
     * a 64-bit guest's ss is ignored). Ours never switches, but a kernel sets it. */
    rc = hyp_stack_switch(KERNEL_SS, (unsigned long)(uintptr_t)guest_stack_top);
    guest_snprintf(what, sizeof(what), "stack_switch to 0x%x:0x%lx", (unsigned int)KERNEL_SS,
                   (unsigned long)(uintptr_t)guest_stack_top);
    report(what, rc, 0, "");
    return true;
}

/* Maps the shared-info page (start_info.shared_info: a machine address) at shared_window. */
static bool map_shared_info(const pvcore_start_info_t *si)
{
    const uint64_t ma = (uint64_t)si->shared_info & ~(uint64_t)(PAGE_SIZE - 1);
    const unsigned long va = (unsigned long)(uintptr_t)shared_window;
    char what[96];
    long rc = hyp_update_va_mapping(va, ma | guest_format.page_flags, FLUSH);

    guest_snprintf(what, sizeof(what), "map shared info 0x%llx at 0x%lx",
                   (unsigned long long)ma, va);
    report(what, rc, 0, "");
    if (rc != 0) {
        return false;
    }
    shared = (const volatile pvcore_shared_info_t *)(uintptr_t)va;
    return true;
}

/* guest_fault_registers()'s slots: 16 (rax ... r15, slot 7 for rsp unused) or 7 (eax ...
 * ebp); slot 5 holds the address read. */
#if defined(__x86_64__)
#define REG_SLOTS 16u
#define REG_SP_SLOT 7u
static const char *const reg_names[REG_SLOTS] = {
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};
#else
#define REG_SLOTS 7u
#define REG_SP_SLOT REG_SLOTS
static const char *const reg_names[REG_SLOTS] = {
    "eax", "ebx", "ecx", "edx", "esi", "edi", "ebp",
};
#endif

/*
 * Reads the spare page, unmapped: the #PF handler must get its address and a read's
 * error code (not present, read, kernel mode: 0), map it and retry; every register must
 * come back from HYPERVISOR_iret as it was at the fault.
 */
static void recovered_fault(const struct plan *p)
{
    const unsigned long va = p->spare_va;
    unsigned long after[REG_SLOTS];
    unsigned int i, bad = REG_SLOTS;

    seen.count = 0;
    seen.address = 0;
    recover_pte = page_va_pte(va, p, guest_format.page_flags);
    recover_va = va;
    guest_fault_registers(va, after);
    for (i = 0; i < REG_SLOTS; i++) {
        unsigned long want = i == 5 ? va : (unsigned long)GUEST_REG_PATTERN + i;
        if (i != REG_SP_SLOT && after[i] != want && bad == REG_SLOTS) {
            bad = i;
        }
    }
    if (seen.count == 1 && seen.vector == VEC_PF && seen.address == va && seen.error == 0 &&
        recover_va == 0 && bad == REG_SLOTS) {
        guest_print("page fault at 0x%lx delivered, error 0x%lx: recovered, registers intact",
                    seen.address, seen.error);
    } else if (bad != REG_SLOTS) {
        guest_print("page fault at 0x%lx: %%%s is 0x%lx after the handler's iret (expected "
                    "0x%lx): FAILED", va, reg_names[bad], after[bad],
                    bad == 5 ? va : (unsigned long)GUEST_REG_PATTERN + bad);
        failures++;
    } else {
        guest_print("page fault: %u exceptions, last vector %lu at 0x%lx, error 0x%lx "
                    "(expected 1, vector 14 at 0x%lx, error 0x0): FAILED", seen.count,
                    seen.vector, seen.address, seen.error, va);
        failures++;
    }
    recover_va = 0;
}

/* A code or data segment descriptor: 4 GiB (limit 0xfffff in pages), present, 32-bit
 * (or, with long_mode, a 64-bit code segment). type: 0x3 data read/write, 0xb code
 * execute/read, both already accessed (so the processor never writes the descriptor). */
static uint64_t segment(uint32_t base, unsigned int type, unsigned int dpl, bool long_mode)
{
    uint64_t d = 0xffffu | (uint64_t)0xf << 48;                     /* limit */

    d |= (uint64_t)(base & 0xffffffu) << 16 | (uint64_t)(base >> 24) << 56;
    d |= (uint64_t)type << 40 | (uint64_t)1 << 44 | (uint64_t)dpl << 45 | (uint64_t)1 << 47;
    d |= (uint64_t)1 << 55;                                         /* G: pages */
    d |= long_mode ? (uint64_t)1 << 53 : (uint64_t)1 << 54;         /* L, or D/B */
    return d;
}

/* A call gate (its first 8 bytes for a 64-bit guest), present, no parameters. */
static uint64_t call_gate(uint16_t selector, uint32_t offset, unsigned int dpl)
{
    return (uint64_t)(offset & 0xffffu) | (uint64_t)selector << 16 | (uint64_t)0xc << 40 |
           (uint64_t)dpl << 45 | (uint64_t)1 << 47 | (uint64_t)(offset >> 16) << 48;
}

/* Loads %fs with selector and reads probe_word through it, the segment's base being
 * base: "" if that works, else what went wrong (in buf, counted as a failure). */
static const char *read_through(unsigned long selector, uint32_t base, char *buf, size_t size)
{
    uint32_t got;

    seen.count = 0;
    if (guest_load_fs(selector) != 0) {
        guest_snprintf(buf, size, ", loading selector 0x%lx faulted (vector %lu, error 0x%lx) "
                       "FAILED", selector, seen.vector, seen.error);
        failures++;
        return buf;
    }
    got = guest_read_fs((unsigned long)(uintptr_t)&probe_word - base);
    (void)guest_load_fs(0);
    if (got != probe_word) {
        guest_snprintf(buf, size, ", read 0x%x through selector 0x%lx (expected 0x%x) FAILED",
                       got, selector, probe_word);
        failures++;
        return buf;
    }
    guest_snprintf(buf, size, ", read 0x%x through selector 0x%lx", got, selector);
    return buf;
}

/* A descriptor update_descriptor must refuse with -EINVAL, without writing it. */
static void expect_refused(const char *what, uint64_t ma, const uint64_t *slot, uint64_t desc)
{
    long rc = hyp_update_descriptor(ma, desc);

    report(what, rc, -PVCORE_EINVAL, *slot == 0 ? "" : ", but it was written FAILED");
    if (*slot != 0) {
        failures++;
    }
}

/* Maps one of our .bss pages read-only (a descriptor page may have no writable mapping). */
static bool map_read_only(const struct plan *p, const char *what, const void *page)
{
    const unsigned long va = (unsigned long)(uintptr_t)page;
    long rc = hyp_update_va_mapping(va, page_va_pte(va, p, guest_format.ro_page_flags), FLUSH);

    if (rc != 0) {
        guest_print("map the %s page 0x%lx read-only: result %ld (expected 0): FAILED", what,
                    va, rc);
        failures++;
    }
    return rc == 0;
}

static void own_gdt(const struct plan *p)
{
    const unsigned long va = (unsigned long)(uintptr_t)gdt_page;
    const unsigned long pfn = (va - VIRT_BASE) / PAGE_SIZE;
    const uint64_t ma = maddr(p, pfn);
    unsigned long frames[1];
    char what[96], buf[96], buf2[96], extra[192];
    long rc;

    /* 0 null; 1 a flat data segment; 2 one with a base of its own; 3 filled by
     * update_descriptor; 4 left empty: the slot the refused descriptors aim at. */
    gdt_page[1] = segment(0, 0x3, KERNEL_RPL, false);
    gdt_page[2] = segment(GDT_BASE, 0x3, KERNEL_RPL, false);
    if (!map_read_only(p, "GDT", gdt_page)) {
        return;
    }
    frames[0] = (unsigned long)p->p2m[pfn];
    rc = hyp_set_gdt(frames, GDT_ENTRIES);
    guest_snprintf(what, sizeof(what), "set_gdt of 1 frame, %u entries", GDT_ENTRIES);
    extra[0] = '\0';
    if (rc == 0) {
        guest_snprintf(extra, sizeof(extra), "%s%s",
                       read_through(1u << 3 | KERNEL_RPL, 0, buf, sizeof(buf)),
                       read_through(2u << 3 | KERNEL_RPL, GDT_BASE, buf2, sizeof(buf2)));
    }
    report(what, rc, 0, extra);
    if (rc != 0) {
        return;
    }
    rc = hyp_update_descriptor(ma + 3u * 8u, segment(UPDATED_BASE, 0x3, KERNEL_RPL, false));
    report("update_descriptor of a data segment into GDT entry 3", rc, 0,
           rc == 0 ? read_through(3u << 3 | KERNEL_RPL, UPDATED_BASE, buf, sizeof(buf)) : "");
    guest_snprintf(what, sizeof(what), "update_descriptor of a call gate to 0x%x",
                   (unsigned int)HYP_CS);
    expect_refused(what, ma + 4u * 8u, &gdt_page[4],
                   call_gate(HYP_CS, (uint32_t)(uintptr_t)guest_die, KERNEL_RPL));
#if !defined(__x86_64__)
    /* A 64-bit code segment would take a 32-bit guest out of compatibility mode. */
    expect_refused("update_descriptor of a 64-bit code segment", ma + 4u * 8u, &gdt_page[4],
                   segment(0, 0xb, KERNEL_RPL, true));
#endif
}

static void own_ldt(const struct plan *p)
{
    const unsigned long va = (unsigned long)(uintptr_t)ldt_page;
    const unsigned long beyond = LDT_ENTRIES << 3 | 4u | KERNEL_RPL;
    pvcore_mmuext_op_t op = { .cmd = PVCORE_MMUEXT_SET_LDT };
    unsigned int done = 0;
    char what[96], buf[96];
    long rc;

    ldt_page[0] = segment(LDT_BASE, 0x3, KERNEL_RPL, false);
    if (!map_read_only(p, "LDT", ldt_page)) {
        return;
    }
    op.arg1.linear_addr = va;
    op.arg2.nr_ents = LDT_ENTRIES;
    rc = hyp_mmuext_op(&op, 1, &done, PVCORE_DOMID_SELF);
    guest_snprintf(what, sizeof(what), "mmuext_op SET_LDT of %u entries", LDT_ENTRIES);
    /* Selector 0 | TI | RPL: the hypervisor maps the LDT page on this first use. */
    report(what, rc, 0, rc == 0 ? read_through(4u | KERNEL_RPL, LDT_BASE, buf, sizeof(buf)) : "");
    if (rc != 0) {
        return;
    }
    /* One past the LDT's limit: #GP with the selector (without its RPL) as error code. */
    seen.count = 0;
    rc = guest_load_fs(beyond);
    if (rc == 0) {
        guest_print("LDT selector 0x%lx beyond the LDT's %u entries: loaded FAILED", beyond,
                    LDT_ENTRIES);
        failures++;
        (void)guest_load_fs(0);
    } else if (seen.count != 1 || seen.vector != VEC_GP || seen.error != (beyond & ~3ul)) {
        guest_print("LDT selector 0x%lx beyond the LDT's %u entries: vector %lu, error 0x%lx "
                    "(expected 13, 0x%lx) FAILED", beyond, LDT_ENTRIES, seen.vector,
                    seen.error, beyond & ~3ul);
        failures++;
    } else {
        guest_print("LDT selector 0x%lx beyond the LDT's %u entries: #GP, error 0x%lx (expected "
                    "0x%lx)", beyond, LDT_ENTRIES, seen.error, beyond & ~3ul);
    }
}

/* minihv.fault=hv: the hypervisor's memory must not be readable; the fault is the guest's. */
static void probe_hypervisor(void)
{
    long b;

    guest_print("reading hypervisor memory at 0x%lx", (unsigned long)HV_PROBE_VA);
    seen.count = 0;
    b = guest_probe_byte(HV_PROBE_VA);
    if (b >= 0) {
        guest_print("hypervisor memory was readable: FAILED");
        failures++;
    } else if (seen.vector != VEC_PF || seen.address != HV_PROBE_VA) {
        guest_print("hypervisor memory: vector %lu at 0x%lx (expected 14 at 0x%lx) FAILED",
                    seen.vector, seen.address, (unsigned long)HV_PROBE_VA);
        failures++;
    } else {
        guest_print("hypervisor memory at 0x%lx: page fault, error 0x%lx: not readable",
                    seen.address, seen.error);
    }
}

/* ---- the program ------------------------------------------------------------------------ */

/* The machine frame of one of our pages (events.c registers pages by frame). */
static const struct plan *events_plan;

static uint64_t frame_of(const void *va)
{
    return maddr(events_plan, ((unsigned long)(uintptr_t)va - VIRT_BASE) / PAGE_SIZE) >> GUEST_PAGE_SHIFT;
}

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
    check_ramdisk(si);
    check_nr_pages(si);
    foreign = option_mfn("minihv.foreign");
    xen = option_mfn("minihv.xen");
    about_the_hypervisor();

    /* 2. and 3. */
    if (!make_plan(si, entry_sp, &plan) || !build_tables(&plan) || !switch_tables(&plan)) {
        finish();
    }

    /* 4. */
    attacks(&plan, si, foreign, xen);
    if (option_is("minihv.attack", "walk")) {
        walk_attack(&plan);
    }

    /* 5. */
    if (setup_traps() && map_shared_info(si)) {
        recovered_fault(&plan);
        own_gdt(&plan);
        own_ldt(&plan);
    }

    /* 5b. Event channels, when asked (events.c): needs the trap entry and shared info. */
    if (find_option("minihv.evtchn") != NULL) {
        if (shared == NULL) {
            guest_print("evtchn: no trap table or shared info: FAILED");
            failures++;
        } else {
            events_plan = &plan;
            failures += guest_events(find_option("minihv.evtchn"), shared_window, frame_of);
        }
    }
    /* 5b, continued: the block split driver, when asked (blk.c): needs shared info. */
    if (find_option("minihv.blk") != NULL) {
        if (shared == NULL) {
            guest_print("blk: no trap table or shared info: FAILED");
            failures++;
        } else {
            events_plan = &plan;
            failures += guest_blk(find_option("minihv.blk"), shared_window, frame_of,
                                  (unsigned long *)(uintptr_t)si->mfn_list, si->nr_pages, plan.free_va,
                                  plan.spare_va, si->store_mfn, si->store_evtchn);
        }
    }

    /* 6. */
    if (option_is("minihv.fault", "1")) {
        /* Not expected by the handler (unless there is none): reported as a failure. */
        guest_print("taking a page fault on purpose");
        (void)guest_read_byte(VIRT_BASE - PAGE_SIZE);
        guest_print("fault was not fatal");
        failures++;
    } else if (option_is("minihv.fault", "hv")) {
        /* The hypervisor's own memory: its area of the address space (the 64-bit direct
         * map minihv runs from, or the 32-bit hole) must not be readable at all. */
        probe_hypervisor();
    } else if (option_is("minihv.fault", "nested")) {
        guest_print("taking a page fault at 0x%lx whose handler faults again",
                    (unsigned long)NESTED_VA);
        nested_va = NESTED_VA;
        (void)guest_read_byte(NESTED_VA);
        guest_print("the nested fault was not fatal");
        failures++;
    }

    /* 7. */
    finish();
}
