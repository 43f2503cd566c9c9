/*
 * The hypercall decoder's entry: the caller and its per-call context, dispatch through one
 * handler table, one decoder per module (hcall_mmu.c, hcall_xen.c, traps.c, hcall_desc.c,
 * emulate.c, grant.c, memory.c; the next modules add theirs), and multicall, whose entries go through the
 * same table. Guest memory is reached only through the host's copy hooks, with no library
 * lock held (internal/hypercall.h).
 */
#include "internal/hypercall.h"

/* Xen's hypercall numbers (0-63) that the library serves; the rest are the embedder's. */
static const hcall_handler handlers[64] = {
    [PVCORE_HYPERVISOR_set_trap_table] = hcall_set_trap_table,
    [PVCORE_HYPERVISOR_mmu_update] = hcall_mmu_update,
    [PVCORE_HYPERVISOR_set_gdt] = hcall_set_gdt,
    [PVCORE_HYPERVISOR_stack_switch] = hcall_stack_switch,
    [PVCORE_HYPERVISOR_set_callbacks] = hcall_set_callbacks,
    [PVCORE_HYPERVISOR_fpu_taskswitch] = hcall_fpu_taskswitch,
    [PVCORE_HYPERVISOR_multicall] = hcall_multicall,
    [PVCORE_HYPERVISOR_update_descriptor] = hcall_update_descriptor,
    [PVCORE_HYPERVISOR_memory_op] = hcall_memory_op,
    [PVCORE_HYPERVISOR_update_va_mapping] = hcall_update_va_mapping,
    [PVCORE_HYPERVISOR_xen_version] = hcall_xen_version,
    [PVCORE_HYPERVISOR_grant_table_op] = hcall_grant_table_op,
    [PVCORE_HYPERVISOR_vm_assist] = hcall_vm_assist,
    [PVCORE_HYPERVISOR_update_va_mapping_otherdomain] = hcall_update_va_mapping_otherdomain,
    [PVCORE_HYPERVISOR_iret] = hcall_iret,
    [PVCORE_HYPERVISOR_set_segment_base] = hcall_set_segment_base,
    [PVCORE_HYPERVISOR_mmuext_op] = hcall_mmuext_op,
    [PVCORE_HYPERVISOR_callback_op] = hcall_callback_op,
    [PVCORE_HYPERVISOR_sysctl] = hcall_sysctl,
    [PVCORE_HYPERVISOR_domctl] = hcall_domctl,
    [PVCORE_HYPERVISOR_set_debugreg] = hcall_set_debugreg,
    [PVCORE_HYPERVISOR_get_debugreg] = hcall_get_debugreg,
    [PVCORE_HYPERVISOR_physdev_op] = hcall_physdev_op,
    [PVCORE_HYPERVISOR_vcpu_op] = hcall_vcpu_op,
    [PVCORE_HYPERVISOR_event_channel_op] = hcall_event_channel_op,
    [PVCORE_HYPERVISOR_sched_op_compat] = hcall_sched_op_compat,
    [PVCORE_HYPERVISOR_set_timer_op] = hcall_set_timer_op,
    [PVCORE_HYPERVISOR_sched_op] = hcall_sched_op,
};

static hcall_handler handler_of(const struct caller *c, uint64_t nr)
{
    (void)c;
    return nr < sizeof(handlers) / sizeof(handlers[0]) ? handlers[nr] : NULL;
}

static void caller_init(struct caller *c, struct pvcore_vcpu *v, struct pvcore_cpu_regs *regs)
{
    c->v = v;
    c->d = vcpu_domain(v);
    c->m = c->d->m;
    c->is32 = domain_is_32(c->d);
    c->regs = regs;
    c->iret_done = false;
    c->in_multicall = false;
    call_init(&c->call, c->m);
}

int pvcore_hypercall(struct pvcore_vcpu *v, struct pvcore_hypercall_regs *r)
{
    struct caller c;
    hcall_handler h;
    uint64_t nr;
    int64_t ret = 0;
    int rc;

    caller_init(&c, v, NULL);
    nr = c.is32 ? (r->nr & 0xFFFFFFFFu) : r->nr;
    h = handler_of(&c, nr);
    if (h == NULL) {
        /* Including console_io and every number >= 64: the embedder's (sched_op too,
         * for an embedder without the vcpu_sched hook: its handler says so). */
        return PVCORE_HYPERCALL_UNHANDLED;
    }
    rc = h(&c, r->arg, &ret);
    ASSERT_UNLOCKED(&c.call);
    if (rc == HCALL_CRASH) {
        /* Only iret crashes, and it needs registers this entry does not carry. */
        rc = PVCORE_HYPERCALL_DONE;
        ret = -PVCORE_EFAULT;
    }
    if (rc == PVCORE_HYPERCALL_DONE) {
        r->ret = c.is32 ? (uint64_t)(uint32_t)ret : (uint64_t)ret;
    }
    return rc;
}

/* ---- the full-register entry -------------------------------------------------------------- */

/* Where hypercall argument i lives: rdi, rsi, rdx, r10, r8, r9 for 64-bit guests; ebx,
 * ecx, edx, esi, edi, ebp for 32-bit ones. */
static uint64_t *arg_reg(struct pvcore_cpu_regs *r, bool is32, unsigned i)
{
    uint64_t *const r64[6] = { &r->rdi, &r->rsi, &r->rdx, &r->r10, &r->r8, &r->r9 };
    uint64_t *const r32[6] = { &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rbp };

    return is32 ? r32[i] : r64[i];
}

int pvcore_cpu_hypercall(struct pvcore_vcpu *v, struct pvcore_cpu_regs *regs,
                         struct pvcore_hypercall_regs *out)
{
    struct caller c;
    hcall_handler h;
    int64_t ret = 0;
    unsigned i;
    int rc;

    if (v == NULL || regs == NULL || out == NULL) {
        return PVCORE_CPU_CRASH;
    }
    caller_init(&c, v, regs);
    out->nr = c.is32 ? (uint32_t)regs->rax : regs->rax;
    for (i = 0; i < 6; i++) {
        uint64_t a = *arg_reg(regs, c.is32, i);
        out->arg[i] = c.is32 ? (uint32_t)a : a;
    }
    out->ret = 0;
    if (!c.is32 && ((struct vcpu *)(void *)v)->cpu.user_mode) {
        /* syscall from guest user mode is the guest kernel's system call, not a hypercall. */
        return pvcore_cpu_syscall(v, regs);
    }
    if (c.is32 && (regs->cs & 3u) != 1u) {
        /* int $0x82 is the kernel's (a DPL 1 gate): from any other ring the guest takes
         * the #GP the processor would have raised, at the instruction. */
        regs->rip = (uint32_t)(regs->rip - 2u);
        return cpu_inject((struct vcpu *)(void *)v, regs, X86_VEC_GP, (0x82u << 3) | 2u, 0, false);
    }
    h = handler_of(&c, out->nr);
    if (h == NULL) {
        return PVCORE_CPU_UNHANDLED;
    }
    rc = h(&c, out->arg, &ret);
    ASSERT_UNLOCKED(&c.call);
    switch (rc) {
    case PVCORE_HYPERCALL_UNHANDLED:
        return PVCORE_CPU_UNHANDLED; /* a sub-command the library hands back */
    case PVCORE_HYPERCALL_DONE:
        out->ret = c.is32 ? (uint64_t)(uint32_t)ret : (uint64_t)ret;
        regs->rax = out->ret;
        return PVCORE_CPU_RESUME;
    case PVCORE_HYPERCALL_RESTART:
        /* The guest executes the 2-byte syscall / int $0x82 again with the new arguments
         * (letting interrupts and other vCPUs in first). */
        for (i = 0; i < 6; i++) {
            *arg_reg(regs, c.is32, i) = out->arg[i];
        }
        regs->rip -= 2;
        if (c.is32) {
            regs->rip &= 0xFFFFFFFFu;
        }
        return PVCORE_CPU_RESUME;
    default:
        return PVCORE_CPU_CRASH;
    }
}

/* ---- multicall ---------------------------------------------------------------------------- */

/*
 * multicall(list, count): each entry { op, result, args[6] } (guest words) runs through the
 * handler table as a direct call would, and its result is written back. A preempted entry
 * has its rewritten arguments written back into the list, and the multicall continues from
 * it. After an iret nothing more runs (XSA-213: the guest is no longer where the rest of
 * the batch assumed it was), and the iret's result is the multicall's. A multicall inside
 * a multicall is refused with -EINVAL, as an entry's result.
 */
int hcall_multicall(struct caller *c, uint64_t args[6], int64_t *ret)
{
    const struct machine *m = c->m;
    uint64_t list = hc_arg(c, args, 0);
    uint32_t count = (uint32_t)hc_arg(c, args, 1);
    size_t word = c->is32 ? 4u : 8u, esize = 8u * word;
    uint32_t i;

    if (c->in_multicall) {
        *ret = -PVCORE_EINVAL;
        return PVCORE_HYPERCALL_DONE;
    }
    if (!hc_range_ok(c, list, (uint64_t)count * esize)) {
        *ret = -PVCORE_EFAULT;
        return PVCORE_HYPERCALL_DONE;
    }
    c->in_multicall = true;
    for (i = 0; i < count; i++) {
        uint8_t e[64];
        uint64_t op, sub[6];
        int64_t result = 0;
        hcall_handler h;
        unsigned k;
        int rc;

        if (i != 0 && call_should_preempt(&c->call)) {
            break;
        }
        call_charge(&c->call, 1);
        if (hc_copy_in(c, e, list, esize) != 0) {
            c->in_multicall = false;
            *ret = -PVCORE_EFAULT;
            return PVCORE_HYPERCALL_DONE;
        }
        op = c->is32 ? hc_get_le32(e) : hc_get_le64(e);
        for (k = 0; k < 6; k++) {
            sub[k] = c->is32 ? hc_get_le32(e + 8 + 4 * k) : hc_get_le64(e + 16 + 8 * k);
        }
        h = handler_of(c, op);
        rc = h != NULL ? h(c, sub, &result) : PVCORE_HYPERCALL_UNHANDLED;
        if (rc == PVCORE_HYPERCALL_UNHANDLED) {
            /* The embedder's hypercalls (console_io, sched_op, ...). */
            if (m->ops->hypercall == NULL || m->ops->hypercall(m->ctx, c->v, op, sub, &result) != 0) {
                result = -PVCORE_ENOSYS;
            }
            rc = PVCORE_HYPERCALL_DONE;
        }
        ASSERT_UNLOCKED(&c->call);
        if (rc == HCALL_CRASH) {
            c->in_multicall = false;
            return HCALL_CRASH;
        }
        if (rc == PVCORE_HYPERCALL_RESTART) {
            /* The entry continues where it stopped: its new arguments go back into the
             * list, and the multicall resumes at this entry. */
            for (k = 0; k < 6; k++) {
                if (c->is32) {
                    hc_put_le(e + 8 + 4 * k, sub[k], 4);
                } else {
                    hc_put_le(e + 16 + 8 * k, sub[k], 8);
                }
            }
            c->in_multicall = false;
            if (hc_copy_out(c, list, e, esize) != 0) {
                *ret = -PVCORE_EFAULT;
                return PVCORE_HYPERCALL_DONE;
            }
            break;
        }
        hc_put_le(e + word, c->is32 ? (uint32_t)result : (uint64_t)result, (unsigned)word);
        /* After an iret the write-back is best effort, as on Xen: the vCPU may now be in
         * its user mode, whose tables need not map the list. */
        if (hc_copy_out(c, list + word, e + word, word) != 0 && !c->iret_done) {
            c->in_multicall = false;
            *ret = -PVCORE_EFAULT;
            return PVCORE_HYPERCALL_DONE;
        }
        list += esize;
        if (c->iret_done) {
            c->in_multicall = false;
            *ret = result;
            return PVCORE_HYPERCALL_DONE;
        }
    }
    c->in_multicall = false;
    if (i < count) {
        args[0] = list;
        args[1] = count - i;
        return PVCORE_HYPERCALL_RESTART;
    }
    *ret = 0;
    return PVCORE_HYPERCALL_DONE;
}
