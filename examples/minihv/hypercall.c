/*
 * hypercall.c: what happens when a guest enters the hypervisor, and the hooks libpvcore
 * calls back into. The library decodes and serves the memory-management hypercalls
 * (pvcore_hypercall()), and sched_op and the timers through the scheduler's hooks
 * (sched.c); minihv adds the console, the policy for faults it cannot deliver (the guest
 * is destroyed), and the switch between guests on the way back to one (sched_return()).
 */
#include <pvcore/abi/console.h>
#include <pvcore/abi/xen.h>
#include <pvcore/hypercall.h>

#include "minihv.h"

struct guest *current;
struct guest *guests_by_domid[64];

struct guest *guest_of(struct pvcore_vcpu *v)
{
    uint16_t id = pvcore_domain_id(pvcore_vcpu_domain(v));

    return id < 64 ? guests_by_domid[id] : NULL;
}

/* ---- the library's hooks ------------------------------------------------------------------ */

static void hook_flush_tlb(void *ctx, const struct pvcore_flush *f)
{
    (void)ctx;
    /*
     * One CPU, so every flush is of this CPU's TLB, whichever domain it names: the running
     * guest may hold another domain's frames (a foreign mapping, whose flush names every
     * domain, PVCORE_DOMID_INVALID), and a flush that names another domain costs only a
     * refill. So none is skipped; a full flush also takes global entries, which would
     * survive the CR3 load of a switch between guests if CR4.PGE were ever turned on.
     */
    if (f->kind == PVCORE_FLUSH_TLB_VA) {
        pvcore_x86_invlpg((uintptr_t)f->va);
    } else {
        /* A full flush may follow the release of LDT frames (<pvcore/desc.h>): their
         * mappings go too, and fault in again. */
        cpu_drop_ldt_mappings();
        pvcore_x86_flush_tlb_global();
    }
}

void guest_load_cr3(struct guest *g)
{
    if (g->is32) {
        /* Long mode needs an L4: slot 0 points at the guest's PAE L3, 256-271 are ours. */
        uint64_t *l4 = phys_to_virt(g->compat_l4 << 12);
        unsigned i;
        for (i = 0; i < 16; i++) {
            l4[256 + i] = mm_hyp_l4_slots[i];
        }
        l4[0] = g->kernel_base ? pvcore_x86_pte(g->kernel_base << 12,
                                                PVCORE_X86_PTE_P | PVCORE_X86_PTE_RW |
                                                    PVCORE_X86_PTE_US | PVCORE_X86_PTE_A)
                               : 0;
        g->cr3 = g->compat_l4 << 12;
    } else {
        /* A 64-bit guest's user half runs on its own root. */
        g->cr3 = (pvcore_vcpu_kernel_mode(g->v) || g->user_base == PVCORE_INVALID_MFN_VALUE
                      ? g->kernel_base
                      : g->user_base)
                 << 12;
    }
    if (current == g) {
        pvcore_x86_write_cr3(g->cr3);
    }
}

static void hook_base_changed(void *ctx, struct pvcore_vcpu *v, pvcore_mfn_t kernel, pvcore_mfn_t user)
{
    struct guest *g = guest_of(v);

    (void)ctx;
    if (g == NULL) {
        return;
    }
    g->kernel_base = kernel.v;
    g->user_base = user.v;
    guest_load_cr3(g);
}

/*
 * Guest memory through the guest's own tables, by the library's walk: only what they map
 * is reachable, writes need every level of the walk to allow them, each frame is held
 * while it is copied, and copies to the guest are all or nothing.
 */
static int hook_copy_from_guest(void *ctx, struct pvcore_vcpu *v, void *dst, uint64_t gva, size_t len)
{
    (void)ctx;
    return pvcore_guestmem_copy_from(v, dst, gva, len);
}

static int hook_copy_to_guest(void *ctx, struct pvcore_vcpu *v, uint64_t gva, const void *src,
                              size_t len)
{
    (void)ctx;
    return pvcore_guestmem_copy_to(v, gva, src, len);
}

static void hook_mode_changed(void *ctx, struct pvcore_vcpu *v, int kernel_mode)
{
    struct guest *g = guest_of(v);

    (void)ctx;
    (void)kernel_mode;
    if (g != NULL) {
        guest_load_cr3(g); /* the new mode's root; sync_cpu_state() swaps the GS bases */
    }
}

static void hook_cpuid(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    (void)ctx;
    pvcore_x86_cpuid(leaf, subleaf, out);
}

static int64_t serve_hypercall(struct guest *g, uint64_t nr, const uint64_t *arg);

/* A multicall entry the library hands back. */
static int hook_hypercall(void *ctx, struct pvcore_vcpu *v, uint64_t nr, const uint64_t args[6],
                          int64_t *ret)
{
    struct guest *g = guest_of(v);

    (void)ctx;
    if (g == NULL) {
        return -1;
    }
    *ret = serve_hypercall(g, nr, args);
    return 0;
}

static void hook_gdt_changed(void *ctx, struct pvcore_vcpu *v)
{
    struct guest *g = guest_of(v);

    (void)ctx;
    if (g != NULL && g == current) {
        cpu_load_gdt(g);
    }
}

/* minihv runs one vCPU per guest: the only event it can get is that vCPU going down,
 * which Xen turns into the domain powering off. Acted on once the hypercall is over. */
static void hook_vcpu_updown(void *ctx, struct pvcore_vcpu *v, int event)
{
    struct guest *g = guest_of(v);

    (void)ctx;
    if (g != NULL && event == PVCORE_VCPU_EVENT_POWEROFF) {
        g->poweroff_pending = 1;
    }
}

const struct pvcore_host_ops minihv_host_ops = {
    .gdt_changed = hook_gdt_changed,
    .vcpu_updown = hook_vcpu_updown,
    .flush_tlb = hook_flush_tlb,
    .base_changed = hook_base_changed,
    .copy_from_guest = hook_copy_from_guest,
    .copy_to_guest = hook_copy_to_guest,
    .cpuid = hook_cpuid,
    .mode_changed = hook_mode_changed,
    .hypercall = hook_hypercall,
    .vcpu_sched = hook_vcpu_sched,
    .domain_shutdown = hook_domain_shutdown,
    .system_time = hook_system_time,
    .timer_set = hook_timer_set,
    .evtchn_kick = hook_evtchn_kick,
};

/* ---- hypercalls minihv serves itself ------------------------------------------------------ */

/* The guest's console line so far, printed with its prefix and a newline. */
void guest_flush_line(struct guest *g)
{
    if (g->line_len == 0) {
        return;
    }
    con_printf("(d%u) ", g->domid);
    con_write(g->line, g->line_len);
    con_putc('\n');
    g->line_len = 0;
}

/* Guests' output is printed a whole line at a time, so that lines of guests that run at
 * once do not mix (a line longer than the buffer goes on in the next one). */
static void guest_console(struct guest *g, const char *s, size_t n)
{
    for (; n; n--, s++) {
        if (*s == '\n') {
            if (g->line_len == 0) {
                con_printf("(d%u) \n", g->domid); /* an empty line */
            } else {
                guest_flush_line(g);
            }
        } else if (*s >= 0x20 && *s < 0x7f) {
            if (g->line_len == sizeof(g->line)) {
                guest_flush_line(g);
            }
            g->line[g->line_len++] = *s;
        }
    }
}

/* What the guest wrote to its console ring, printed unless it also writes everything
 * through console_io (as XTF does: then the ring is only consumed). The library's
 * back-end takes at most one ring's worth, whatever the guest's indices claim. */
void drain_console_ring(struct guest *g)
{
    char buf[256];
    int n;

    if (g->console_mfn == 0) {
        return;
    }
    while ((n = pvcore_console_drain(phys_to_virt(g->console_mfn << 12), buf, sizeof(buf))) > 0) {
        if (!g->used_console_io) {
            guest_console(g, buf, (size_t)n);
        }
    }
}

static int64_t do_console_io(struct guest *g, uint64_t cmd, uint64_t count, uint64_t buf)
{
    char chunk[128];

    if (cmd == PVCORE_CONSOLEIO_read) {
        return 0; /* no input */
    }
    if (cmd != PVCORE_CONSOLEIO_write) {
        return -PVCORE_ENOSYS;
    }
    if (count > 65536) {
        return -PVCORE_EINVAL;
    }
    while (count) {
        size_t n = count < sizeof(chunk) ? (size_t)count : sizeof(chunk);
        if (pvcore_guestmem_copy_from(g->v, chunk, buf, n) != 0) {
            return -PVCORE_EFAULT;
        }
        guest_console(g, chunk, n);
        g->used_console_io = 1;
        buf += n;
        count -= n;
    }
    return 0;
}

/* The hypercalls minihv serves itself (the library hands them back). */
static int64_t serve_hypercall(struct guest *g, uint64_t nr, const uint64_t *arg)
{
    switch (nr) {
    case PVCORE_HYPERVISOR_console_io:
        return do_console_io(g, arg[0], arg[1], arg[2]);
    default:
        return -PVCORE_ENOSYS;
    }
}

/* ---- the way in and out ------------------------------------------------------------------- */

/* The entry stubs' frame as the library's register block, and back. The data selectors
 * are the guest's still: the hypervisor never loads them. */
static void frame_to_regs(const struct frame *f, struct pvcore_cpu_regs *r)
{
    memset(r, 0, sizeof(*r));
    r->rax = f->rax;
    r->rbx = f->rbx;
    r->rcx = f->rcx;
    r->rdx = f->rdx;
    r->rsi = f->rsi;
    r->rdi = f->rdi;
    r->rbp = f->rbp;
    r->rsp = f->rsp;
    r->r8 = f->r8;
    r->r9 = f->r9;
    r->r10 = f->r10;
    r->r11 = f->r11;
    r->r12 = f->r12;
    r->r13 = f->r13;
    r->r14 = f->r14;
    r->r15 = f->r15;
    r->rip = f->rip;
    r->rflags = f->rflags;
    r->cs = (uint16_t)f->cs;
    r->ss = (uint16_t)f->ss;
    {
        uint16_t sel[4];
        pvcore_x86_read_data_segments(sel);
        r->ds = sel[0];
        r->es = sel[1];
        r->fs = sel[2];
        r->gs = sel[3];
    }
}

static void regs_to_frame(const struct pvcore_cpu_regs *r, struct frame *f)
{
    f->rax = r->rax;
    f->rbx = r->rbx;
    f->rcx = r->rcx;
    f->rdx = r->rdx;
    f->rsi = r->rsi;
    f->rdi = r->rdi;
    f->rbp = r->rbp;
    f->rsp = r->rsp;
    f->r8 = r->r8;
    f->r9 = r->r9;
    f->r10 = r->r10;
    f->r11 = r->r11;
    f->r12 = r->r12;
    f->r13 = r->r13;
    f->r14 = r->r14;
    f->r15 = r->r15;
    f->rip = r->rip;
    f->rflags = r->rflags;
    f->cs = r->cs;
    f->ss = r->ss;
}

/* What the processor holds of the vCPU's state besides its registers: CR0.TS, and for
 * 64-bit guests the FS and GS bases. Written only when the library's view changed, so
 * that a base the guest set itself (by loading a selector) is not overwritten. */
void sync_cpu_state(struct guest *g)
{
    static const unsigned drs[6] = { 0, 1, 2, 3, 6, 7 };
    unsigned i;
    int fsgsbase = !g->is32 && cpu_has_fsgsbase &&
                   (pvcore_vcpu_cr4(g->v) & PVCORE_X86_CR4_FSGSBASE) != 0;
    uintptr_t cr4 = pvcore_x86_read_cr4();

    /* The guest's CR4.FSGSBASE is the processor's while it runs (never behind its back:
     * XSA-293). */
    if (fsgsbase != ((cr4 & PVCORE_X86_CR4_FSGSBASE) != 0)) {
        pvcore_x86_write_cr4(fsgsbase ? cr4 | PVCORE_X86_CR4_FSGSBASE
                                      : cr4 & ~(uintptr_t)PVCORE_X86_CR4_FSGSBASE);
    }

    cpu_sync_ldt(g);
    /* The guest's debug registers as the library validated them (DR7 last, so that no
     * breakpoint is armed with a stale address). */
    for (i = 0; i < 6; i++) {
        uint64_t val = pvcore_vcpu_debugreg(g->v, drs[i]);
        if (val != g->dr[i]) {
            pvcore_x86_write_dr(drs[i], val);
            g->dr[i] = val;
        }
    }
    int ts = pvcore_vcpu_fpu_ts(g->v) != 0;
    uintptr_t cr0 = pvcore_x86_read_cr0();

    if (ts != ((cr0 & PVCORE_X86_CR0_TS) != 0)) {
        pvcore_x86_write_cr0(ts ? cr0 | PVCORE_X86_CR0_TS : cr0 & ~(uintptr_t)PVCORE_X86_CR0_TS);
    }
    if (!g->is32) {
        uint64_t fs, gsk, gsu;
        int kernel = pvcore_vcpu_kernel_mode(g->v) != 0;
        pvcore_vcpu_segment_bases(g->v, &fs, &gsk, &gsu);
        if (fs != g->fs_base) {
            pvcore_x86_wrmsr(PVCORE_X86_MSR_FS_BASE, fs);
            g->fs_base = fs;
        }
        if (gsk != g->gs_kernel || gsu != g->gs_user || kernel != g->kernel_mode) {
            pvcore_x86_wrmsr(PVCORE_X86_MSR_GS_BASE, kernel ? gsk : gsu);
            pvcore_x86_wrmsr(PVCORE_X86_MSR_KERNEL_GS_BASE, kernel ? gsu : gsk);
            g->gs_kernel = gsk;
            g->gs_user = gsu;
            g->kernel_mode = kernel;
        }
    }
}

static void destroy_current(struct guest *g, const char *what, const struct frame *f)
{
    guest_flush_line(g);
    con_printf("minihv: d%u: %s at rip 0x%lx: destroying the domain\n", g->domid, what, f->rip);
    minihv_exit_to_host(STOP_FAULT);
}

/* A hypercall (or, from 64-bit guest user mode, a system call). */
static void hypercall(struct guest *g, struct frame *f)
{
    struct pvcore_hypercall_regs h;
    struct pvcore_cpu_regs r;
    int64_t ret;
    int rc;

    frame_to_regs(f, &r);
    rc = pvcore_cpu_hypercall(g->v, &r, &h);
    if (rc == PVCORE_CPU_CRASH) {
        destroy_current(g, "iret through an unreadable or impossible frame", f);
    }
    if (rc == PVCORE_CPU_UNHANDLED) {
        ret = serve_hypercall(g, h.nr, h.arg);
        r.rax = g->is32 ? (uint32_t)ret : (uint64_t)ret;
    } else if (h.nr == PVCORE_HYPERVISOR_event_channel_op ||
               h.nr == PVCORE_HYPERVISOR_sched_op || h.nr == PVCORE_HYPERVISOR_sched_op_compat) {
        /* minihv is the console's back-end: whatever the guest notified, its ring may
         * have new output (the port itself is unbound, so the library drops the event),
         * and a guest that yields or blocks may have written some first. */
        serve_backends(g);
    }
    regs_to_frame(&r, f);
}

static const char *const vector_names[32] = {
    "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range", "invalid opcode",
    "device not available", "double fault", "coprocessor overrun", "invalid TSS",
    "segment not present", "stack fault", "general protection", "page fault", "reserved",
    "x87 error", "alignment check", "machine check", "SIMD error", "virtualization",
    "control protection",
};

/* An exception the guest took: the library emulates it or bounces it to the guest. */
static void guest_exception(struct guest *g, struct frame *f, uint64_t cr2)
{
    struct pvcore_cpu_regs r;
    int rc;

    frame_to_regs(f, &r);
    rc = pvcore_cpu_trap(g->v, &r, (uint32_t)f->vector, (uint32_t)f->error, cr2);
    if (rc != PVCORE_CPU_RESUME) {
        guest_flush_line(g);
        con_printf("minihv: d%u: %s (vector %lu) at rip 0x%lx, error 0x%lx", g->domid,
                   f->vector < 32 && vector_names[f->vector] ? vector_names[f->vector] : "?",
                   f->vector, f->rip, f->error);
        if (f->vector == PVCORE_X86_VEC_PF) {
            con_printf(", address 0x%lx", cr2);
        }
        con_printf(": cannot deliver it, destroying the domain\n");
        minihv_exit_to_host(STOP_FAULT);
    }
    regs_to_frame(&r, f);
}

/* On the way back to the guest (from a trap, or when it is switched in): an event pending
 * and unmasked enters its event callback (minihv has one vCPU per guest and looks on every
 * return, so it needs no kick). -1: the guest cannot take it. */
int guest_deliver_upcall(struct guest *g, struct frame *f)
{
    struct pvcore_cpu_regs r;

    if (!pvcore_vcpu_upcall_pending(g->v)) {
        return 0;
    }
    frame_to_regs(f, &r);
    if (pvcore_cpu_event_callback(g->v, &r) != PVCORE_CPU_RESUME) {
        return -1;
    }
    regs_to_frame(&r, f);
    return 0;
}

/*
 * On the way back to the guest, the scheduler's decisions: a guest that shut down (its own
 * SCHEDOP_shutdown, another's remote_shutdown, or its last vCPU down) goes back to the host
 * loop to be destroyed; one that blocked, or yielded or used up its slice while another
 * guest is runnable, has its frame saved and the host loop runs the next one (the rest of
 * its processor state is saved there, run_guest()).
 */
static void sched_return(struct guest *g, struct frame *f)
{
    if (g->shutdown_pending || g->poweroff_pending) {
        guest_flush_line(g);
        minihv_exit_to_host(STOP_SHUTDOWN + (int)(g->shutdown_pending ? g->shutdown_reason & 0xff
                                                                      : PVCORE_SHUTDOWN_poweroff));
    }
    if (g->blocked || ((g->yielded || need_resched) && sched_other_runnable(g))) {
        sched_switches[g->blocked ? 0 : g->yielded ? 1 : 2]++;
        g->yielded = 0;
        g->regs = *f;
        minihv_exit_to_host(STOP_SWITCH);
    }
    g->yielded = 0;
    need_resched = 0;
}

extern const char minihv_iret_insn[];

static int canonical(uint64_t va)
{
    return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* With CR4.FSGSBASE on, the guest may have changed its bases itself: the library learns
 * them before anything reads them. */
static void read_back_bases(struct guest *g)
{
    uint64_t fs, active, other;

    if (g->is32 || !(pvcore_x86_read_cr4() & PVCORE_X86_CR4_FSGSBASE)) {
        return;
    }
    fs = pvcore_x86_rdmsr(PVCORE_X86_MSR_FS_BASE);
    active = pvcore_x86_rdmsr(PVCORE_X86_MSR_GS_BASE);
    other = pvcore_x86_rdmsr(PVCORE_X86_MSR_KERNEL_GS_BASE);
    /* wrfsbase faults on a non-canonical base, but QEMU's TCG takes it: such a base would
     * fault our own wrmsr later, so it becomes 0 here and now. */
    if (!canonical(fs)) {
        fs = 0;
        pvcore_x86_wrmsr(PVCORE_X86_MSR_FS_BASE, 0);
    }
    if (!canonical(active)) {
        active = 0;
        pvcore_x86_wrmsr(PVCORE_X86_MSR_GS_BASE, 0);
    }
    g->fs_base = fs;
    g->gs_kernel = g->kernel_mode ? active : other;
    g->gs_user = g->kernel_mode ? other : active;
    pvcore_vcpu_set_segment_bases(g->v, fs, g->gs_kernel, g->gs_user);
}

void minihv_trap(struct frame *f)
{
    struct guest *g = current;
    uint64_t cr2 = f->vector == PVCORE_X86_VEC_PF ? (uint64_t)pvcore_x86_read_cr2() : 0;

    if (g != NULL && (f->cs & 3) != 0) {
        read_back_bases(g);
    }

    if (f->vector == VEC_TIMER) {
        timer_tick();
        if ((f->cs & 3) == 0 || g == NULL) {
            return; /* the idle loop */
        }
        goto resume;
    }
    if (g != NULL && f->vector == PVCORE_X86_VEC_PF && cpu_ldt_fault(g, cr2)) {
        return; /* an LDT page of the guest's, now mapped: retry (also the iret's own) */
    }
    if (g != NULL && (f->cs & 3) == 0 && f->vector < 32) {
        /* Switching g in, one of its data selectors no longer loads (its descriptor
         * changed since): it becomes the null selector, as on Xen. */
        unsigned i;
        for (i = 0; i < 4; i++) {
            if (f->rip == minihv_seg_load_insns[i]) {
                ((uint16_t *)(uintptr_t)f->rdi)[i] = 0;
                return;
            }
        }
    }
    if (g != NULL && (f->cs & 3) == 0 && f->rip == (uint64_t)(uintptr_t)minihv_iret_insn &&
        f->vector < 32) {
        /*
         * The return to the guest faulted on the guest's own frame (iret gave it selectors
         * the processor refuses). The guest's registers are as they were restored, with
         * rip..ss still on our stack: deliver the fault to the guest there, as the
         * processor would have had the guest executed that iret itself.
         */
        const uint64_t *gf = (const uint64_t *)(uintptr_t)f->rsp;
        f->rip = gf[0];
        f->cs = gf[1];
        f->rflags = gf[2];
        f->rsp = gf[3];
        f->ss = gf[4];
        guest_exception(g, f, cr2);
        sync_cpu_state(g);
        return;
    }
    if ((f->cs & 3) == 0 && f->vector == PVCORE_X86_VEC_DB) {
        /* A guest's data breakpoint hit by the hypervisor's own access to that address:
         * the guest's breakpoints are the guest's; carry on. */
        pvcore_x86_write_dr(6, 0xFFFF0FF0u);
        return;
    }
    if (f->vector == PVCORE_X86_VEC_NMI) {
        return; /* a physical NMI is the machine's, not the guest's (none is expected) */
    }
    if ((f->cs & 3) == 0 || g == NULL || f->vector == PVCORE_X86_VEC_DF ||
        f->vector == PVCORE_X86_VEC_MC) {
        /* (a double fault or machine check is the machine's, whoever was running) */
        panic("exception %lu (%s) in the hypervisor at rip 0x%lx, error 0x%lx, cr2 0x%lx",
              f->vector, f->vector < 32 && vector_names[f->vector] ? vector_names[f->vector] : "?",
              f->rip, f->error, cr2);
    }
    if ((f->vector == VEC_HYPERCALL_INT82 && g->is32) || (f->vector == VEC_SYSCALL64 && !g->is32)) {
        hypercall(g, f);
    } else if (f->vector < 32) {
        guest_exception(g, f, cr2);
    } else {
        destroy_current(g, f->vector == VEC_SYSCALL32 ? "syscall from compatibility mode"
                           : f->vector == VEC_SYSCALL64 ? "syscall from a 32-bit guest"
                                                        : "int $0x82 from a 64-bit guest", f);
    }
    /*
     * A 64-bit guest's rip must be canonical for iretq, which would fault in ring 0 on our
     * stack otherwise (a syscall at the top of the lower half saves 0x0000800000000000):
     * the guest would have taken #GP itself.
     */
    if (!g->is32 && !canonical(f->rip)) {
        f->vector = PVCORE_X86_VEC_GP;
        f->error = 0;
        guest_exception(g, f, 0);
    }
resume:
    sched_return(g, f);
    if (guest_deliver_upcall(g, f) != 0) {
        destroy_current(g, "an event upcall it cannot take", f);
    }
    /* Guests run with interrupts enabled, whatever their virtual IF (the library's iret
     * and bounce frames keep it set; this is the safety net for the timer). */
    f->rflags |= PVCORE_X86_RFLAGS_IF;
    sync_cpu_state(g);
}
