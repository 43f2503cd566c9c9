/*
 * guest_hosted: runs the example guests' program (guest.c, unchanged) in an ordinary
 * process, with libpvcore's host backend as the hypervisor, so its page-table work is
 * checked by the real validator without QEMU.
 *
 * The harness plays the domain builder: it creates the domain, lays out the initial region
 * the way the PV boot protocol describes (image, p2m list, start_info, xenstore and console
 * pages, bootstrap page tables, boot stack, 512 KiB of padding, up to a 4 MiB boundary),
 * builds and pins the bootstrap page tables in machine memory, and calls guest_main(). The
 * hyp_* functions the guest calls go straight to pvcore_mmu_update() and friends.
 *
 * The guest reads start_info, the p2m list and its command line through virtual addresses,
 * so the harness maps ordinary memory at the guest's VIRT_BASE (GUEST_HOSTED_VIRT_BASE)
 * and puts them there; page tables only live in machine memory, which the guest never
 * touches directly. The guest's one direct write (to the old root once it is remapped
 * writable) lands in that ordinary memory.
 *
 * The CPU half of the program (trap table, descriptor tables) needs a processor: the
 * harness answers set_trap_table with -ENOSYS, which makes the guest skip it.
 *
 * When the guest shuts down, the harness checks the outcome it was told to expect, and
 * for a poweroff also the final address space: every page of the region mapped to the
 * right frame with the right permission, the spare page and the pages around the region
 * unmapped, the frame types, and all of libpvcore's invariants.
 *
 * usage: guest_hosted <poweroff|crash|fault> [--foreign-own] [extra command line words...]
 *   --foreign-own  pass one of the guest's own frames as minihv.foreign, which the guest
 *                  must report as a failed check (the mapping is accepted).
 * Exit status: 0 if the outcome was the expected one, 1 if not, 77 if the harness cannot
 * map the guest's addresses here.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <pvcore/pvcore.h>
#include <pvcore/host_backend.h>
#include <pvcore/hypercall.h>

#include "guest.h"
#include "layout.h"

#define PAGE 4096ull
#define NR_PAGES 4096ull                  /* 16 MiB of guest memory */
#define FIRST_MFN 64ull                   /* guest frames: FIRST_MFN .. + NR_PAGES, shuffled */
#define FOREIGN_MFN (FIRST_MFN + NR_PAGES) /* owned by another domain */
#define XEN_MFN (FOREIGN_MFN + 1)         /* owned by the hypervisor */
#define NR_FRAMES (XEN_MFN + 64)
#define VB ((uint64_t)GUEST_VIRT_BASE)
#define MAP_LEN (32ull << 20)             /* host memory at VIRT_BASE */
#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_US 0x4ull
#define PTE_A 0x20ull
#define PTE_D 0x40ull

const unsigned char hypercall_page[4096] = { 0xcc }; /* "filled": anything but 0xc3 */

static struct pvcore_host_backend *hb;
static struct pvcore_machine *m;
static struct pvcore_domain *d;
static struct pvcore_vcpu *v;
static uint64_t p2m[NR_PAGES];
static int is32;
static const char *expect;
static unsigned console_failed; /* console lines containing "FAILED" */

/* The layout the builder chose. */
static uint64_t va_p2m, va_si, va_pt, nr_pt, va_stack, v_end, next_pt;

static void die(const char *what, int rc)
{
    fprintf(stderr, "harness: %s: %s\n", what, pvcore_strerror(rc));
    exit(1);
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) & ~(a - 1);
}

static void *va_host(uint64_t va)
{
    return (void *)(uintptr_t)va;
}

/* ---- the builder ------------------------------------------------------------------------ */

static uint64_t pfn_of(uint64_t va)
{
    return (va - VB) / PAGE;
}

static uint64_t new_table(void)
{
    uint64_t pfn = next_pt++;

    if (pfn >= pfn_of(va_pt) + nr_pt) {
        fprintf(stderr, "harness: bootstrap page-table area overflow\n");
        exit(1);
    }
    return p2m[pfn];
}

static uint64_t child(uint64_t table, unsigned index, uint64_t flags)
{
    uint64_t *t = pvcore_host_backend_frame(hb, pvcore_mfn(table));

    if (!(t[index] & PTE_P)) {
        t[index] = (new_table() << 12) | flags;
    }
    return (t[index] & 0x000ffffffffff000ull) >> 12;
}

static void map_page(uint64_t root, uint64_t va, uint64_t flags)
{
    const uint64_t up = PTE_P | PTE_RW | PTE_A | PTE_D | PTE_US;
    uint64_t l1;

    if (is32) {
        uint64_t l2 = child(root, (unsigned)(va >> 30) & 3u, PTE_P);
        l1 = child(l2, (unsigned)(va >> 21) & 511u, up);
    } else {
        uint64_t l3 = child(root, (unsigned)(va >> 39) & 511u, up);
        uint64_t l2 = child(l3, (unsigned)(va >> 30) & 511u, up);
        l1 = child(l2, (unsigned)(va >> 21) & 511u, up);
    }
    pvcore_host_backend_frame(hb, pvcore_mfn(l1))[(va >> 12) & 511u] = (p2m[pfn_of(va)] << 12) | flags;
}

static int ext1(uint32_t cmd, uint64_t mfn)
{
    struct pvcore_mmuext_req op = { cmd, 0, mfn, 0 };
    int rc;

    while ((rc = pvcore_mmuext_op(v, &op, 1, NULL, PVCORE_DOMID_SELF)) == -PVCORE_ERESTART) {
    }
    return rc;
}

static void build(const char *cmdline)
{
    struct pvcore_domain_config cfg = { 1, 1, 0, NR_PAGES };
    struct pvcore_domain *other;
    pvcore_start_info_t *si;
    uint64_t pfn, va, root;
    void *mem;
    int rc;

    cfg.flags = is32 ? PVCORE_DOMAIN_GUEST_32 : 0;
    if ((rc = pvcore_host_backend_create(NR_FRAMES, 4, 0, 0, &hb)) != 0) {
        die("pvcore_host_backend_create", rc);
    }
    m = pvcore_host_backend_machine(hb);
    mem = calloc(1, pvcore_domain_size(1));
    if (mem == NULL || (rc = pvcore_domain_create(m, mem, pvcore_domain_size(1), &cfg, &d)) != 0) {
        die("pvcore_domain_create", mem == NULL ? -PVCORE_ENOMEM : rc);
    }
    v = pvcore_domain_vcpu(d, 0);
    if ((rc = pvcore_domain_set_p2m(d, p2m, NR_PAGES)) != 0) {
        die("pvcore_domain_set_p2m", rc);
    }
    /* Pseudo-physical and machine order differ on purpose (1237 is odd, so a bijection). */
    for (pfn = 0; pfn < NR_PAGES; pfn++) {
        if ((rc = pvcore_domain_assign(d, pvcore_mfn(FIRST_MFN + (pfn * 1237u) % NR_PAGES), pvcore_gfn(pfn))) != 0) {
            die("pvcore_domain_assign", rc);
        }
    }
    /* Another domain owning FOREIGN_MFN, and a hypervisor frame. */
    cfg.domid = 2;
    cfg.flags = 0;
    cfg.max_pages = 1;
    mem = calloc(1, pvcore_domain_size(1));
    if (mem == NULL || (rc = pvcore_domain_create(m, mem, pvcore_domain_size(1), &cfg, &other)) != 0 ||
        (rc = pvcore_domain_assign(other, pvcore_mfn(FOREIGN_MFN), pvcore_gfn(UINT64_MAX))) != 0) {
        die("the foreign domain", mem == NULL ? -PVCORE_ENOMEM : rc);
    }
    if ((rc = pvcore_frame_reserve_xen(m, pvcore_mfn(XEN_MFN), 1)) != 0) {
        die("pvcore_frame_reserve_xen", rc);
    }

    /* The layout, after the image (which ends at _image_end, as linked). */
    va_p2m = align_up((uint64_t)(uintptr_t)_image_end, PAGE);
    va_si = align_up(va_p2m + NR_PAGES * sizeof(unsigned long), PAGE);
    va_pt = va_si + 3 * PAGE; /* start_info, xenstore, console */
    nr_pt = is32 ? 4 : 5;     /* root, (L3), L2, two L1s: enough below 4 MiB */
    va_stack = va_pt + nr_pt * PAGE;
    v_end = align_up(va_stack + PAGE + 0x80000, 4ull << 20);
    if (v_end - VB > (4ull << 20)) {
        fprintf(stderr, "harness: the layout needs more than 4 MiB\n");
        exit(1);
    }
    for (pfn = 0; pfn < NR_PAGES; pfn++) {
        ((unsigned long *)va_host(va_p2m))[pfn] = (unsigned long)p2m[pfn];
    }
    si = va_host(va_si);
    strcpy(si->magic, is32 ? "xen-3.0-x86_32p" : "xen-3.0-x86_64");
    si->nr_pages = NR_PAGES;
    si->pt_base = va_pt;
    si->nr_pt_frames = nr_pt;
    si->mfn_list = va_p2m;
    snprintf((char *)si->cmd_line, sizeof(si->cmd_line), "%s", cmdline);

    next_pt = pfn_of(va_pt);
    root = new_table();
    if (is32) {
        child(root, 3, PTE_P);
    }
    for (va = VB; va < v_end; va += PAGE) {
        int pt = va >= va_pt && va < va_pt + nr_pt * PAGE;
        map_page(root, va, pt ? (PTE_P | PTE_A) : (PTE_P | PTE_RW | PTE_A | PTE_D));
    }
    if ((rc = ext1(is32 ? PVCORE_MMUEXT_PIN_L3_TABLE : PVCORE_MMUEXT_PIN_L4_TABLE, root)) != 0 ||
        (rc = ext1(PVCORE_MMUEXT_NEW_BASEPTR, root)) != 0) {
        die("the bootstrap page tables", rc);
    }
}

/* ---- the checks after a poweroff --------------------------------------------------------- */

static unsigned problems;

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void problem(const char *fmt, ...)
{
    va_list ap;

    if (problems++ < 20) {
        fprintf(stderr, "harness: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\n");
    }
}

static void verify_final(void)
{
    struct pvcore_check_report r;
    struct pvcore_frame_info fi;
    pvcore_mfn_t kernel_mfn;
    uint64_t kernel, va, maddr, pfn, end, scratch_len;
    const uint64_t old_root = p2m[pfn_of(va_pt)];
    void *scratch;
    int w;

    pvcore_vcpu_base(v, &kernel_mfn, NULL);
    kernel = kernel_mfn.v;
    if (kernel != p2m[NR_PAGES - 1]) {
        problem("base pointer 0x%" PRIx64 ", expected the new root 0x%" PRIx64, kernel, p2m[NR_PAGES - 1]);
    }
    /* The guest's region: up to 4 MiB past one spare page after the boot stack. */
    end = align_up(va_stack + 2 * PAGE, 4ull << 20);
    for (va = VB; va < end; va += PAGE) {
        int rc = pvcore_vcpu_translate(v, va, &maddr, &w);
        int want_rw;

        pfn = pfn_of(va);
        if (va == end - PAGE) {
            if (rc == 0) {
                problem("the spare page 0x%" PRIx64 " is mapped (to 0x%" PRIx64 ")", va, maddr);
            }
            continue;
        }
        want_rw = !(va >= va_pt && va < va_pt + nr_pt * PAGE) || va == va_pt;
        if (rc != 0 || maddr != p2m[pfn] << 12 || (w != 0) != want_rw) {
            problem("va 0x%" PRIx64 " maps 0x%" PRIx64 " (or the permission is wrong)", va,
                    rc == 0 ? maddr : UINT64_MAX);
        }
    }
    if (pvcore_vcpu_translate(v, VB - PAGE, &maddr, &w) == 0 ||
        pvcore_vcpu_translate(v, end, &maddr, &w) == 0) {
        problem("a page next to the region 0x%" PRIx64 "-0x%" PRIx64 " is mapped", VB, end);
    }
    /* The old root is writable memory now; the rest of the old tables are untyped. */
    for (pfn = pfn_of(va_pt); pfn < pfn_of(va_pt) + nr_pt; pfn++) {
        uint8_t want = p2m[pfn] == old_root ? PVCORE_PGT_WRITABLE : PVCORE_PGT_NONE;
        if (pvcore_frame_query(m, pvcore_mfn(p2m[pfn]), &fi) != 0 || fi.type != want ||
            (fi.flags & PVCORE_FRAME_PINNED)) {
            problem("old page-table frame 0x%" PRIx64 " has type %u", p2m[pfn], fi.type);
        }
    }
    if (pvcore_frame_query(m, pvcore_mfn(p2m[NR_PAGES - 1]), &fi) != 0 ||
        fi.type != (is32 ? PVCORE_PGT_L3 : PVCORE_PGT_L4) || !(fi.flags & PVCORE_FRAME_PINNED)) {
        problem("the new root 0x%" PRIx64 " is not a pinned root table (type %u)",
                p2m[NR_PAGES - 1], fi.type);
    }
    scratch_len = pvcore_check_scratch_size(m);
    scratch = malloc(scratch_len);
    if (scratch == NULL || pvcore_check_invariants(m, scratch, scratch_len, &r) != 0) {
        problem("libpvcore invariant violated: %s at mfn 0x%" PRIx64,
                scratch == NULL ? "no memory" : pvcore_check_code_name(r.code),
                scratch == NULL ? 0 : r.mfn);
    }
    free(scratch);
}

/* ---- the hypercalls ---------------------------------------------------------------------- */

long hyp_mmu_update(const pvcore_mmu_update_t *req, unsigned long count, unsigned int *done,
                    unsigned long foreigndom)
{
    uint32_t n = 0;
    int rc;

    do {
        rc = pvcore_mmu_update(v, req + n, (uint32_t)count - n, &n, (uint32_t)foreigndom);
    } while (rc == -PVCORE_ERESTART);
    *done += n;
    return rc;
}

long hyp_mmuext_op(const pvcore_mmuext_op_t *op, unsigned long count, unsigned int *done,
                   unsigned long foreigndom)
{
    struct pvcore_mmuext_req req[8];
    uint32_t n = 0;
    int rc;

    if (count > 8) {
        return -PVCORE_EINVAL;
    }
    pvcore_mmuext_from_x86_64(op, (uint32_t)count, req);
    do {
        rc = pvcore_mmuext_op(v, req + n, (uint32_t)count - n, &n, (uint32_t)foreigndom);
    } while (rc == -PVCORE_ERESTART);
    *done += n;
    return rc;
}

long hyp_update_va_mapping(unsigned long va, uint64_t val, unsigned long flags)
{
    int rc;

    while ((rc = pvcore_update_va_mapping(v, va, val, flags, PVCORE_DOMID_SELF)) == -PVCORE_ERESTART) {
    }
    return rc;
}

long hyp_console_io(unsigned long cmd, unsigned long count, const char *buf)
{
    if (cmd != PVCORE_CONSOLEIO_write) {
        return -PVCORE_ENOSYS;
    }
    fwrite(buf, 1, count, stdout);
    if (memmem(buf, count, "FAILED", 6) != NULL) {
        console_failed++;
    }
    return 0;
}

static void outcome(const char *what)
{
    int ok = strcmp(what, expect) == 0;

    fflush(stdout);
    if (ok && strcmp(what, "poweroff") == 0) {
        verify_final();
        ok = problems == 0 && console_failed == 0;
    }
    if (ok && strcmp(what, "crash") == 0) {
        ok = console_failed != 0; /* a crash must have said why */
    }
    printf("harness: the guest %s (expected %s): %s\n", what, expect, ok ? "PASS" : "FAIL");
    exit(ok ? 0 : 1);
}

static int shut_down;

long hyp_sched_op(unsigned long cmd, void *arg)
{
    if (cmd == PVCORE_SCHEDOP_shutdown) {
        shut_down = 1;
        const struct pvcore_sched_shutdown *sd = arg;
        outcome(sd->reason == PVCORE_SHUTDOWN_poweroff ? "poweroff"
                : sd->reason == PVCORE_SHUTDOWN_crash  ? "crash"
                                                       : "shut down for another reason");
    }
    if (cmd == PVCORE_SCHEDOP_yield) {
        if (shut_down) {
            outcome("yielded after shutdown");
        }
        return 0;
    }
    return -PVCORE_ENOSYS;
}

/* What pvcore_hypercall() answers (its own tests check the real path). */
long hyp_xen_version(unsigned long cmd, void *arg)
{
    if (cmd == PVCORE_XENVER_version) {
        return (PVCORE_XEN_VERSION_MAJOR << 16) | PVCORE_XEN_VERSION_MINOR;
    }
    if (cmd == PVCORE_XENVER_capabilities) {
        strcpy(arg, PVCORE_XEN_CAPABILITIES);
        return 0;
    }
    return -PVCORE_ENOSYS;
}

/* A read: a fault (which the hypervisor answers by destroying the guest) if unmapped. */
unsigned long guest_read_byte(unsigned long va)
{
    uint64_t maddr;

    if (pvcore_vcpu_translate(v, va, &maddr, NULL) != 0) {
        printf("harness: page fault at 0x%lx\n", va);
        outcome("fault");
    }
    return 0;
}

_Noreturn void guest_die(void)
{
    outcome("executed ud2");
    exit(1);
}

/* ---- the CPU half: not offered here ----------------------------------------------------- */

const unsigned long guest_trap_entry[32];
char guest_stack_top[16];

long hyp_set_trap_table(const pvcore_trap_info_t *table)
{
    (void)table;
    return -PVCORE_ENOSYS;
}

/* The rest is reached only after a successful set_trap_table. */
static _Noreturn void not_here(const char *what)
{
    printf("harness: the guest called %s without a trap table\n", what);
    outcome("used the CPU half");
    exit(1);
}

long hyp_stack_switch(unsigned long ss, unsigned long sp)
{
    (void)ss;
    (void)sp;
    not_here("stack_switch");
}

long hyp_set_gdt(const unsigned long *frames, unsigned long entries)
{
    (void)frames;
    (void)entries;
    not_here("set_gdt");
}

long hyp_update_descriptor(uint64_t maddr, uint64_t desc)
{
    (void)maddr;
    (void)desc;
    not_here("update_descriptor");
}

/* No events here: the event-channel and block steps (minihv.evtchn=..., minihv.blk=...)
 * run in minihv only. */
const unsigned long guest_event_entry[1] = { 0 };

long hyp_set_timer_op(uint64_t deadline)
{
    (void)deadline;
    not_here("set_timer_op");
}

long hyp_callback_op(unsigned long cmd, void *arg)
{
    (void)cmd;
    (void)arg;
    not_here("callback_op");
}

long hyp_event_channel_op(unsigned long cmd, void *arg)
{
    (void)cmd;
    (void)arg;
    not_here("event_channel_op");
}

long hyp_grant_table_op(unsigned long cmd, void *ops, unsigned long count)
{
    (void)cmd;
    (void)ops;
    (void)count;
    not_here("grant_table_op");
}

long hyp_memory_op(unsigned long cmd, void *arg)
{
    (void)cmd;
    (void)arg;
    not_here("memory_op");
}

long guest_load_fs(unsigned long selector)
{
    (void)selector;
    not_here("guest_load_fs");
}

uint32_t guest_read_fs(unsigned long offset)
{
    (void)offset;
    not_here("guest_read_fs");
}

_Noreturn void guest_fault_on_stack(unsigned long stack_top, unsigned long va)
{
    (void)stack_top;
    (void)va;
    not_here("guest_fault_on_stack");
}

void guest_fault_registers(unsigned long va, unsigned long *after)
{
    (void)va;
    (void)after;
    not_here("guest_fault_registers");
}

unsigned long guest_fixup(unsigned long ip)
{
    (void)ip;
    return 0;
}

/* Without a trap table a fault ends the guest, probe or not. */
long guest_probe_byte(unsigned long va)
{
    return (long)guest_read_byte(va);
}

int main(int argc, char **argv)
{
    char cmdline[512];
    uint64_t foreign = FOREIGN_MFN;
    void *p;
    int i;

    if (argc < 2) {
        fprintf(stderr, "usage: %s <poweroff|crash|fault> [--foreign-own] [words...]\n", argv[0]);
        return 1;
    }
    expect = argv[1];
    is32 = strcmp(guest_format.magic, "xen-3.0-x86_32p") == 0;
    p = mmap(va_host(VB), MAP_LEN, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != va_host(VB)) {
        printf("harness: cannot map 0x%" PRIx64 " here; skipped\n", VB);
        return 77;
    }
    cmdline[0] = 0;
    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--foreign-own") == 0) {
            foreign = FIRST_MFN + 5; /* a frame of the guest's own */
        } else {
            strncat(cmdline, argv[i], sizeof(cmdline) - strlen(cmdline) - 2);
            strcat(cmdline, " ");
        }
    }
    snprintf(cmdline + strlen(cmdline), sizeof(cmdline) - strlen(cmdline),
             "minihv.foreign=0x%" PRIx64 " minihv.xen=0x%" PRIx64, foreign, (uint64_t)XEN_MFN);
    build(cmdline);
    guest_main(va_host(va_si), va_stack + PAGE);
}
