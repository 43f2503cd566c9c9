/*
 * hypercall.c: what happens when a guest enters the hypervisor, and the hooks libpvcore
 * calls back into. The library decodes and serves the memory-management hypercalls
 * (pvcore_hypercall()); minihv adds the console, the scheduler operations, and the
 * policy for faults it cannot deliver (the guest is destroyed).
 */
#include <pvcore/abi/xen.h>
#include <pvcore/hypercall.h>

#include "minihv.h"

struct guest *current;
struct guest *guests_by_domid[64];

static struct guest *guest_of(struct pvcore_vcpu *v)
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
        g->cr3 = g->kernel_base << 12;
    }
    if (current == g) {
        pvcore_x86_write_cr3(g->cr3);
    }
}

static void hook_base_changed(void *ctx, struct pvcore_vcpu *v, pvcore_mfn_t kernel, pvcore_mfn_t user)
{
    struct guest *g = guest_of(v);

    (void)ctx;
    (void)user; /* minihv's guests run in kernel mode only */
    if (g == NULL) {
        return;
    }
    g->kernel_base = kernel.v;
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

const struct pvcore_host_ops minihv_host_ops = {
    .flush_tlb = hook_flush_tlb,
    .base_changed = hook_base_changed,
    .copy_from_guest = hook_copy_from_guest,
    .copy_to_guest = hook_copy_to_guest,
};

/* ---- hypercalls minihv serves itself ------------------------------------------------------ */

static void guest_console(struct guest *g, const char *s, size_t n)
{
    for (; n; n--, s++) {
        if (g->line_start) {
            con_printf("(d%u) ", g->domid);
            g->line_start = 0;
        }
        if (*s == '\n') {
            g->line_start = 1;
        }
        if (*s == '\n' || (*s >= 0x20 && *s < 0x7f)) {
            con_putc(*s);
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
        buf += n;
        count -= n;
    }
    return 0;
}

static int64_t do_sched_op(struct guest *g, uint64_t cmd, uint64_t arg)
{
    uint32_t reason;

    switch (cmd) {
    case PVCORE_SCHEDOP_yield:
    case PVCORE_SCHEDOP_block:
        return 0; /* one vCPU, no events yet: nothing else to run */
    case PVCORE_SCHEDOP_shutdown:
        if (pvcore_guestmem_copy_from(g->v, &reason, arg, sizeof(reason)) != 0) {
            return -PVCORE_EFAULT;
        }
        if (!g->line_start) {
            con_putc('\n');
            g->line_start = 1;
        }
        minihv_exit_to_host(STOP_SHUTDOWN + (int)(reason & 0xff));
    default:
        return -PVCORE_ENOSYS;
    }
}

/* Where hypercall argument i lives: rdi, rsi, rdx, r10, r8, r9 for 64-bit guests; ebx,
 * ecx, edx, esi, edi, ebp for 32-bit ones. */
static uint64_t *arg_reg(struct frame *f, int is32, unsigned i)
{
    uint64_t *const r64[6] = { &f->rdi, &f->rsi, &f->rdx, &f->r10, &f->r8, &f->r9 };
    uint64_t *const r32[6] = { &f->rbx, &f->rcx, &f->rdx, &f->rsi, &f->rdi, &f->rbp };

    return is32 ? r32[i] : r64[i];
}

static void hypercall(struct guest *g, struct frame *f)
{
    struct pvcore_hypercall_regs r;
    int64_t ret;
    unsigned i;
    int rc;

    memset(&r, 0, sizeof(r));
    r.nr = g->is32 ? (uint32_t)f->rax : f->rax;
    for (i = 0; i < 6; i++) {
        r.arg[i] = g->is32 ? (uint32_t)*arg_reg(f, 1, i) : *arg_reg(f, 0, i);
    }
    rc = pvcore_hypercall(g->v, &r);
    if (rc == PVCORE_HYPERCALL_DONE) {
        f->rax = r.ret;
        return;
    }
    if (rc == PVCORE_HYPERCALL_RESTART) {
        /* A continuation: the guest re-executes the 2-byte syscall / int $0x82. */
        for (i = 0; i < 6; i++) {
            *arg_reg(f, g->is32, i) = r.arg[i];
        }
        f->rip -= 2;
        return;
    }
    switch (r.nr) {
    case PVCORE_HYPERVISOR_console_io:
        ret = do_console_io(g, r.arg[0], r.arg[1], r.arg[2]);
        break;
    case PVCORE_HYPERVISOR_sched_op:
        ret = do_sched_op(g, r.arg[0], r.arg[1]);
        break;
    default:
        ret = -PVCORE_ENOSYS;
        break;
    }
    f->rax = (uint64_t)ret;
}

static const char *const vector_names[32] = {
    "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range", "invalid opcode",
    "device not available", "double fault", "coprocessor overrun", "invalid TSS",
    "segment not present", "stack fault", "general protection", "page fault", "reserved",
    "x87 error", "alignment check", "machine check", "SIMD error", "virtualization",
    "control protection",
};

void minihv_trap(struct frame *f)
{
    struct guest *g = current;
    const char *name;

    if ((f->cs & 3) == 0 || g == NULL) {
        panic("exception %lu (%s) in the hypervisor at rip 0x%lx, error 0x%lx, cr2 0x%lx",
              f->vector, f->vector < 32 && vector_names[f->vector] ? vector_names[f->vector] : "?",
              f->rip, f->error, (uint64_t)pvcore_x86_read_cr2());
    }
    if ((f->vector == VEC_HYPERCALL_INT82 && g->is32) || (f->vector == VEC_SYSCALL64 && !g->is32)) {
        hypercall(g, f);
        /*
         * A syscall ending at the top of the lower half saves a non-canonical rip
         * (0x0000800000000000). iretq would fault on it in ring 0, on our stack: the
         * guest would have taken #GP itself, so treat it as a fault of the guest's.
         */
        if (g->is32 || (uint64_t)((int64_t)(f->rip << 16) >> 16) == f->rip) {
            return;
        }
        f->vector = PVCORE_X86_VEC_GP;
        f->error = 0;
    }
    /* Exception delivery to the guest's trap table is not implemented yet. */
    name = f->vector < 32 && vector_names[f->vector] ? vector_names[f->vector]
         : f->vector == VEC_SYSCALL32 ? "syscall from compatibility mode"
         : f->vector == VEC_SYSCALL64 ? "syscall from a 32-bit guest"
         : f->vector == VEC_HYPERCALL_INT82 ? "int $0x82 from a 64-bit guest" : "?";
    if (!g->line_start) {
        con_putc('\n');
        g->line_start = 1;
    }
    con_printf("minihv: d%u: %s (vector %lu) at rip 0x%lx, error 0x%lx", g->domid, name, f->vector,
               f->rip, f->error);
    if (f->vector == PVCORE_X86_VEC_PF) {
        con_printf(", address 0x%lx", (uint64_t)pvcore_x86_read_cr2());
    }
    con_printf(": cannot deliver it, destroying the domain\n");
    minihv_exit_to_host(STOP_FAULT);
}
