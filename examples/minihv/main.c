/*
 * main.c: minihv's boot sequence and its scheduler loop.
 *
 * 1. CPU: descriptor tables, syscall MSRs, the 8259s and the PIT (cpu.c); the TSC
 *    calibrated against the PIT (sched.c).
 * 2. Memory: the multiboot map into libpvcore's frame table (mm.c).
 * 3. One PV domain per multiboot module (build.c), plus a parked domain that owns one
 *    frame, so the guests can be shown a frame that belongs to someone else. A module's
 *    arguments may give its memory, "minihv.mem=<MiB>" (16 by default); a module whose
 *    arguments hold "minihv.ramdisk" is the ramdisk of the kernel before it.
 * 4. Run every guest at once, round-robin on the one CPU: each runs until it blocks,
 *    yields, uses up its 10 ms slice while another is runnable, shuts down or takes a
 *    fault minihv cannot deliver; a guest that is done is destroyed through libpvcore and
 *    the frame table's invariants checked, and the others go on. With nothing runnable
 *    the CPU halts with interrupts on until a timer wakes a guest.
 * 5. When every guest is done, leave QEMU through isa-debug-exit with a code that says
 *    how the guests ended.
 */
#include <pvcore/abi/xen.h>

#include "minihv.h"

#define MB_MAGIC 0x2BADB002u
#define MAX_GUESTS 8u
#define GUEST_PAGES 4096u /* 16 MiB each, unless minihv.mem=<MiB> says otherwise */
#define PARKED_DOMID 63u

struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
} __attribute__((packed));

struct mb_module {
    uint32_t start, end, string, reserved;
};

extern struct guest *guests_by_domid[64];
extern uint64_t boot_pml4[512];
static struct guest guests[MAX_GUESTS];

static const char *const shutdown_names[] = {
    "poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset",
};

static void append(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(dst);

    while (*s && n + 1 < cap) {
        dst[n++] = *s++;
    }
    dst[n] = 0;
}

static void append_hex(char *dst, size_t cap, uint64_t v)
{
    char buf[19];
    int i = 18;

    buf[i] = 0;
    do {
        buf[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    buf[--i] = 'x';
    buf[--i] = '0';
    append(dst, cap, buf + i);
}

/* The number after "name=" in a module's arguments, or dflt. */
static uint64_t option_number(const char *args, const char *name, uint64_t dflt)
{
    const char *p = args ? strstr(args, name) : NULL;
    uint64_t v = 0;

    if (p == NULL) {
        return dflt;
    }
    for (p += strlen(name); *p >= '0' && *p <= '9' && v < (1ull << 40); p++) {
        v = v * 10 + (uint64_t)(*p - '0');
    }
    return v;
}

/* A domain that runs nothing and owns one frame: "a frame the guest does not own". */
static uint64_t make_parked_domain(void)
{
    static struct pvcore_domain *d;
    struct pvcore_domain_config cfg = { .domid = PARKED_DOMID, .nr_vcpus = 1, .max_pages = 1 };
    size_t size = pvcore_domain_size(1);
    uint64_t mfn;

    if (pvcore_domain_create(mm_machine(), phys_to_virt(mm_alloc_frames((size + 4095) / 4096) << 12),
                             size, &cfg, &d) != 0) {
        panic("cannot create the parked domain");
    }
    mfn = mm_alloc_guest_frame();
    if (pvcore_domain_assign(d, pvcore_mfn(mfn), pvcore_gfn(0)) != 0) {
        panic("cannot give the parked domain its frame");
    }
    return mfn;
}

static void check_frame_table(void)
{
    static void *scratch;
    static size_t len;
    struct pvcore_check_report rep;

    if (scratch == NULL) {
        len = pvcore_check_scratch_size(mm_machine());
        scratch = phys_to_virt(mm_alloc_frames((len + 4095) / 4096) << 12);
    }
    if (pvcore_check_invariants(mm_machine(), scratch, len, &rep) != 0) {
        panic("frame table invariant broken: %s at mfn 0x%lx (expected %lu, found %lu)",
              pvcore_check_code_name(rep.code), rep.mfn, rep.expected, rep.actual);
    }
}

/* Before a guest first runs: the x87/SSE state of a processor after reset (fninit), with
 * every SIMD exception masked (MXCSR 0x1f80). */
static void init_fpu_state(struct guest *g)
{
    memset(g->fpu, 0, sizeof(g->fpu));
    g->fpu[0] = 0x7f; /* FCW 0x037f */
    g->fpu[1] = 0x03;
    g->fpu[24] = 0x80; /* MXCSR 0x1f80 */
    g->fpu[25] = 0x1f;
}

static void clear_ts(void)
{
    pvcore_x86_write_cr0(pvcore_x86_read_cr0() & ~(uintptr_t)PVCORE_X86_CR0_TS);
}

/*
 * Runs g until it stops (STOP_SWITCH: it blocked, yielded or used its slice and another
 * guest should run; STOP_SHUTDOWN + reason; STOP_FAULT). Switching it in loads what the
 * processor holds of it besides the frame: its address space, GDT and LDT, x87/SSE state,
 * data selectors and (64-bit) segment bases, and then, as on every return to a guest, its
 * debug registers, CR0.TS and CR4.FSGSBASE (sync_cpu_state(), whose caches of what the
 * processor holds are invalidated here since another guest ran since); a pending event
 * enters its callback first. Switching it out saves the same, after minihv_trap() saved
 * its frame, and puts the processor back to the hypervisor's own state.
 */
static int run_guest(struct guest *g)
{
    int stop;
    unsigned i;

    if (!g->started) {
        con_printf("minihv: d%u: starting %s\n", g->domid, g->name);
        g->started = 1;
    }
    current = g;
    sched_new_slice();
    pvcore_x86_write_cr3(g->cr3);
    cpu_load_gdt(g);
    clear_ts();
    pvcore_x86_fxrstor(g->fpu);
    minihv_load_data_segments(g->sel);
    if (!g->is32) {
        pvcore_x86_wrmsr(PVCORE_X86_MSR_FS_BASE, g->msr_fs);
        pvcore_x86_wrmsr(PVCORE_X86_MSR_GS_BASE, g->msr_gs);
        pvcore_x86_wrmsr(PVCORE_X86_MSR_KERNEL_GS_BASE, g->msr_kgs);
    }
    for (i = 0; i < 6; i++) {
        g->dr[i] = ~0ull; /* no value the library gives: every one is loaded */
    }
    timer_guest_update(g);
    if (guest_deliver_upcall(g, &g->regs) != 0) {
        con_printf("minihv: d%u: an event upcall it cannot take at rip 0x%lx: destroying the "
                   "domain\n", g->domid, g->regs.rip);
        stop = STOP_FAULT;
    } else {
        g->regs.rflags |= PVCORE_X86_RFLAGS_IF;
        sync_cpu_state(g);
        stop = minihv_enter_guest(&g->regs);
        pvcore_x86_read_data_segments(g->sel);
        if (!g->is32) {
            g->msr_fs = pvcore_x86_rdmsr(PVCORE_X86_MSR_FS_BASE);
            g->msr_gs = pvcore_x86_rdmsr(PVCORE_X86_MSR_GS_BASE);
            g->msr_kgs = pvcore_x86_rdmsr(PVCORE_X86_MSR_KERNEL_GS_BASE);
        }
        clear_ts();
        pvcore_x86_fxsave(g->fpu);
    }
    pvcore_x86_write_cr3(virt_to_phys(boot_pml4)); /* off the guest's tables */
    pvcore_x86_write_dr(7, 0x400u);                 /* and its breakpoints */
    pvcore_x86_write_cr4(pvcore_x86_read_cr4() & ~(uintptr_t)PVCORE_X86_CR4_FSGSBASE);
    cpu_load_gdt(NULL);
    current = NULL;
    return stop;
}

static void destroy_guest(struct guest *g)
{
    int rc;

    while ((rc = pvcore_domain_destroy(g->d)) == -PVCORE_ERESTART) {
    }
    if (rc != 0) {
        panic("pvcore_domain_destroy(d%u): %s", g->domid, pvcore_strerror(rc));
    }
    guests_by_domid[g->domid] = NULL;
    g->alive = 0;
}

/* A guest is done: say how, destroy it, check the frame table. */
static void finish_guest(struct guest *g, int stop, uint32_t *exit_code)
{
    if (stop >= STOP_FAULT) {
        con_printf("minihv: d%u: destroyed\n", g->domid);
        if (*exit_code == EXIT_ALL_POWEROFF) {
            *exit_code = EXIT_GUEST_FAULT;
        }
    } else {
        unsigned reason = (unsigned)(stop - STOP_SHUTDOWN);
        con_printf("minihv: d%u: shutdown: %s (%u)\n", g->domid,
                   reason <= PVCORE_SHUTDOWN_MAX ? shutdown_names[reason] : "unknown", reason);
        if (reason != PVCORE_SHUTDOWN_poweroff && *exit_code == EXIT_ALL_POWEROFF) {
            *exit_code = EXIT_ALL_POWEROFF + (reason <= 0xd ? reason : 0xd);
        }
    }
    backend_guest_fini(g);
    destroy_guest(g);
    check_frame_table();
    con_printf("minihv: d%u: memory returned, frame table consistent\n", g->domid);
}

void minihv_main(uint32_t magic, uint32_t mbi_phys);
void minihv_main(uint32_t magic, uint32_t mbi_phys)
{
    const struct mb_info *mbi;
    const struct mb_module *mods;
    uint64_t foreign, xen;
    uint32_t exit_code = EXIT_ALL_POWEROFF;
    unsigned i, n = 0, live, last;

    con_init();
    con_printf("minihv: libpvcore %s\n", pvcore_version_string());
    if (magic != MB_MAGIC) {
        panic("not booted by a multiboot loader (magic 0x%x)", magic);
    }
    cpu_init();
    timer_init();
    mm_init(mbi_phys);
    backend_init();
    mbi = phys_to_virt(mbi_phys);
    if (!(mbi->flags & (1u << 3)) || mbi->mods_count == 0) {
        panic("no guest kernels (pass them as multiboot modules: -initrd \"guest.elf args,...\")");
    }
    mods = phys_to_virt(mbi->mods_addr);
    foreign = make_parked_domain();
    xen = mm_xen_frame_example();

    for (i = 0; i < mbi->mods_count && n < MAX_GUESTS; i++) {
        struct guest *g = &guests[n];
        const char *s = mods[i].string ? phys_to_virt(mods[i].string) : "";
        const char *args = strstr(s, " ");
        uint16_t domid = (uint16_t)(n + 1);
        const struct mb_module *kernel = &mods[i], *rd = NULL;
        uint64_t mib = option_number(args, "minihv.mem=", GUEST_PAGES / 256);

        if (args && strstr(args, "minihv.ramdisk")) {
            con_printf("minihv: module %u: a ramdisk with no kernel before it: ignored\n", i);
            continue;
        }
        if (i + 1 < mbi->mods_count && mods[i + 1].string &&
            strstr((const char *)phys_to_virt(mods[i + 1].string), "minihv.ramdisk") &&
            mods[i + 1].end >= mods[i + 1].start) {
            rd = &mods[i + 1];
            i++; /* taken: not a kernel of its own */
        }

        g->name = s;
        g->cmdline[0] = 0;
        if (args) {
            append(g->cmdline, sizeof(g->cmdline), args + 1);
        }
        /* Our own guests learn a foreign and a hypervisor frame from their command line;
         * a guest given other arguments (an XTF test's variant) gets exactly those. */
        if (!args || strstr(args, "minihv.")) {
            append(g->cmdline, sizeof(g->cmdline), args ? " minihv.foreign=" : "minihv.foreign=");
            append_hex(g->cmdline, sizeof(g->cmdline), foreign);
            append(g->cmdline, sizeof(g->cmdline), " minihv.xen=");
            append_hex(g->cmdline, sizeof(g->cmdline), xen);
        }
        guests_by_domid[domid] = g;
        g->compat_l4 = mm_alloc_frames(1); /* used if the guest turns out to be 32-bit */
        if (kernel->end < kernel->start ||
            build_guest(g, domid, phys_to_virt(kernel->start), kernel->end - kernel->start,
                        rd ? phys_to_virt(rd->start) : NULL, rd ? rd->end - rd->start : 0,
                        g->cmdline, mib * 256) != 0) {
            guests_by_domid[domid] = NULL;
            exit_code = EXIT_PANIC;
            continue;
        }
        guest_load_cr3(g);
        g->alive = 1;
        g->started = g->blocked = g->yielded = g->shutdown_pending = 0;
        g->deadline = 0;
        g->msr_fs = g->msr_gs = g->msr_kgs = 0;
        g->fs_base = g->gs_kernel = g->gs_user = 0;
        g->kernel_mode = 0;
        for (unsigned k = 0; k < 4; k++) {
            g->sel[k] = g->is32 ? PVCORE_FLAT_RING1_DS_X86_32 : 0;
        }
        init_fpu_state(g);
        timer_guest_init(g);
        backend_guest_init(g);
        n++;
    }
    check_frame_table();

    /* Round-robin over the guests that are runnable; idle when none is. */
    for (live = n, last = n - 1; live > 0;) {
        struct guest *g = NULL;
        int stop;

        /* A guest shut down by another (remote_shutdown) while it was not running. */
        for (i = 0; i < n; i++) {
            if (guests[i].alive && guests[i].shutdown_pending) {
                guest_flush_line(&guests[i]);
                finish_guest(&guests[i], STOP_SHUTDOWN + (int)(guests[i].shutdown_reason & 0xff),
                             &exit_code);
                live--;
            }
        }
        for (i = 1; i <= n && live > 0; i++) {
            struct guest *c = &guests[(last + i) % n];
            if (c->alive && !c->blocked && !c->shutdown_pending) {
                g = c;
                last = (last + i) % n;
                break;
            }
        }
        if (g == NULL) {
            if (live > 0) {
                /* Nothing runnable: wait for the timer (an interrupt between the two calls
                 * costs one tick of latency, not a lost wake-up). */
                pvcore_x86_sti();
                pvcore_x86_hlt();
                pvcore_x86_cli();
            }
            continue;
        }
        stop = run_guest(g);
        if (stop == STOP_SWITCH) {
            continue;
        }
        serve_backends(g);
        guest_flush_line(g);
        finish_guest(g, stop, &exit_code);
        live--;
    }
    con_printf("minihv: all guests done (switches: %lu on block, %lu on yield, %lu at the end "
               "of a slice)\n", sched_switches[0], sched_switches[1], sched_switches[2]);
    hv_exit(exit_code);
}
