/*
 * Exceptions the guest takes and the trap-side hypercalls: dispatch of a guest exception
 * to the emulator or the bounce (bounce.c), the trap table, callbacks, kernel stack, FPU
 * switch, segment bases, iret, and the syscall path of a 64-bit guest's user mode. All of
 * it is the vCPU's own state, touched only by its own calls.
 */
#include "internal/cpu.h"
#include "internal/domain.h"
#include "internal/emulate.h"
#include "internal/held.h"
#include "internal/hypercall.h"

/* ---- the public entries ------------------------------------------------------------------- */

static bool vcpu_ok(struct pvcore_vcpu *pv, struct pvcore_cpu_regs *regs)
{
    return pv != NULL && regs != NULL;
}

/* Zero the upper halves a 32-bit guest cannot have. */
static void regs_trim32(struct pvcore_cpu_regs *r)
{
    r->rax = (uint32_t)r->rax;
    r->rbx = (uint32_t)r->rbx;
    r->rcx = (uint32_t)r->rcx;
    r->rdx = (uint32_t)r->rdx;
    r->rsi = (uint32_t)r->rsi;
    r->rdi = (uint32_t)r->rdi;
    r->rbp = (uint32_t)r->rbp;
    r->rsp = (uint32_t)r->rsp;
    r->rip = (uint32_t)r->rip;
    r->rflags = (uint32_t)r->rflags;
}

int pvcore_cpu_trap(struct pvcore_vcpu *pv, struct pvcore_cpu_regs *regs, uint32_t vector,
                    uint32_t error, uint64_t cr2)
{
    struct vcpu *v = (struct vcpu *)(void *)pv;
    int rc;

    if (!vcpu_ok(pv, regs) || vector >= 32) {
        return PVCORE_CPU_CRASH;
    }
    if (domain_is_32(v->d)) {
        regs_trim32(regs);
    }
    switch (vector) {
    case X86_VEC_UD:
    case X86_VEC_GP: {
        /* The instruction is fetched as the code that ran it could reach it: from guest
         * user mode, through user-accessible mappings only. */
        bool handled;
        v->cpu.user_access = !cpu_guest_kernel_mode(v, regs);
        handled = emulate_trap(v, regs, vector, error, &rc);
        v->cpu.user_access = false;
        if (handled) {
            return rc;
        }
        break;
    }
    case X86_VEC_NM:
        /* The virtual CR0.TS: the guest's own lazy FPU switch sees its #NM, once. A #NM
         * with it clear is the embedder's lazy FPU restore, not the guest's. */
        if (!v->cpu.fpu_ts) {
            return PVCORE_CPU_RESUME;
        }
        v->cpu.fpu_ts = false;
        break;
    default:
        break;
    }
    return cpu_inject(v, regs, vector, error, cr2, false);
}

/* Enters callback `slot` (the event callback always with events masked; the failsafe's
 * frame also holds the data selectors). */
static int enter_callback(struct pvcore_vcpu *pv, struct pvcore_cpu_regs *regs,
                          enum cpu_callback_slot slot)
{
    struct vcpu *v = (struct vcpu *)(void *)pv;
    struct bounce b = { 0 };

    if (!vcpu_ok(pv, regs)) {
        return PVCORE_CPU_CRASH;
    }
    if (domain_is_32(v->d)) {
        regs_trim32(regs);
    }
    b.eip = v->cpu.cb[slot].eip;
    b.cs = v->cpu.cb[slot].cs;
    b.mask_events = v->cpu.cb[slot].mask_events;
    b.failsafe = slot == CB_FAILSAFE;
    return cpu_bounce(v, regs, &b);
}

int pvcore_cpu_event_callback(struct pvcore_vcpu *pv, struct pvcore_cpu_regs *regs)
{
    return enter_callback(pv, regs, CB_EVENT);
}

int pvcore_cpu_failsafe(struct pvcore_vcpu *pv, struct pvcore_cpu_regs *regs)
{
    return enter_callback(pv, regs, CB_FAILSAFE);
}

/* A 64-bit guest's syscall from user mode enters its syscall callback (syscall32 for
 * 32-bit user code when registered), or takes #UD when it registered none. */
static int syscall_from_user(struct vcpu *v, struct pvcore_cpu_regs *regs)
{
    const struct cpu_callback *cb = &v->cpu.cb[CB_SYSCALL];
    struct bounce b = { 0 };
    int rc;

    if (regs->cs == PVCORE_FLAT_USER_CS32_X86_64 && v->cpu.cb[CB_SYSCALL32].eip != 0) {
        cb = &v->cpu.cb[CB_SYSCALL32];
    }
    if (cb->eip == 0) {
        return cpu_inject(v, regs, X86_VEC_UD, 0, 0, false);
    }
    b.eip = cb->eip;
    b.mask_events = cb->mask_events;
    rc = cpu_bounce(v, regs, &b);
    if (rc == PVCORE_CPU_RESUME) {
        regs->rflags &= ~(uint64_t)EFLAGS_DF; /* as the syscall instruction's mask would */
    }
    return rc;
}

int pvcore_cpu_syscall(struct pvcore_vcpu *pv, struct pvcore_cpu_regs *regs)
{
    struct vcpu *v = (struct vcpu *)(void *)pv;

    if (!vcpu_ok(pv, regs) || domain_is_32(v->d) || !v->cpu.user_mode) {
        return PVCORE_CPU_CRASH;
    }
    return syscall_from_user(v, regs);
}

int pvcore_vcpu_kernel_mode(const struct pvcore_vcpu *pv)
{
    const struct vcpu *v = (const struct vcpu *)(const void *)pv;

    return !v->cpu.user_mode;
}

int pvcore_vcpu_fpu_ts(const struct pvcore_vcpu *pv)
{
    return ((const struct vcpu *)(const void *)pv)->cpu.fpu_ts;
}

void pvcore_vcpu_segment_bases(const struct pvcore_vcpu *pv, uint64_t *fs, uint64_t *gs_kernel,
                               uint64_t *gs_user)
{
    const struct vcpu *v = (const struct vcpu *)(const void *)pv;

    if (fs != NULL) {
        *fs = v->cpu.fs_base;
    }
    if (gs_kernel != NULL) {
        *gs_kernel = v->cpu.gs_base_kernel;
    }
    if (gs_user != NULL) {
        *gs_user = v->cpu.gs_base_user;
    }
}

uint16_t pvcore_vcpu_user_gs_selector(const struct pvcore_vcpu *pv)
{
    return ((const struct vcpu *)(const void *)pv)->cpu.gs_sel_user;
}

void pvcore_vcpu_set_segment_bases(struct pvcore_vcpu *pv, uint64_t fs, uint64_t gs_kernel,
                                   uint64_t gs_user)
{
    struct vcpu *v = (struct vcpu *)(void *)pv;

    v->cpu.fs_base = fs;
    v->cpu.gs_base_kernel = gs_kernel;
    v->cpu.gs_base_user = gs_user;
}

int pvcore_domain_set_shared_info(struct pvcore_domain *pd, pvcore_mfn_t mfn)
{
    struct domain *d = (struct domain *)(void *)pd;
    struct domain_locked dl;
    struct call call;
    uint32_t i;
    int rc;

    if (d == NULL) {
        return -PVCORE_EINVAL;
    }
    call_init(&call, d->m);
    dl = domain_lock(&call, d);
    rc = d->shared_info_mfn != INVALID_MFN ? -PVCORE_EBUSY : held_get(&dl, mfn.v);
    if (rc == 0) {
        d->shared_info_mfn = mfn.v;
    }
    domain_unlock(&dl);
    if (rc != 0) {
        return rc;
    }
    for (i = 0; i < d->nr_vcpus && i < PVCORE_XEN_LEGACY_MAX_VCPUS; i++) {
        struct vcpu *v = &d->vcpus[i];
        if (!v->cpu.vcpu_info_registered) {
            cpu_vcpu_info_set(&v->cpu, mfn.v, i * 64u);
        }
    }
    return 0;
}

/* ---- hypercalls: the trap table, callbacks, kernel stack, FPU switch, segment bases ------ */

/* Raises a selector's RPL to the guest kernel's ring (Xen's fixup_guest_*_selector). */
static uint16_t fixup_selector(const struct domain *d, uint16_t sel)
{
    unsigned rpl = domain_is_32(d) ? 1u : 3u;

    return (sel & 3u) >= rpl ? sel : (uint16_t)((sel & ~3u) | rpl);
}

int hcall_set_trap_table(struct caller *c, uint64_t args[6], int64_t *ret)
{
    struct vcpu *v = (struct vcpu *)(void *)c->v;
    uint64_t p = hc_arg(c, args, 0);
    size_t size = c->is32 ? sizeof(struct pvcore_trap_info_x86_32) : sizeof(struct pvcore_trap_info_x86_64);
    uint32_t n;

    if (p == 0) {
        /* A null table clears every vector. */
        memset(v->cpu.traps, 0, sizeof(v->cpu.traps));
        *ret = 0;
        return PVCORE_HYPERCALL_DONE;
    }
    for (n = 0;; n++) {
        uint8_t e[16];
        struct cpu_trap *t;
        uint64_t address;
        int rc;

        /* (after at least one entry: a continuation always makes progress) */
        if (n != 0 && call_should_preempt(&c->call)) {
            args[0] = p; /* continue from the next entry */
            return PVCORE_HYPERCALL_RESTART;
        }
        call_charge(&c->call, 1);
        rc = hc_copy_in(c, e, p, size);
        if (rc != 0) {
            *ret = rc;
            return PVCORE_HYPERCALL_DONE;
        }
        address = c->is32 ? hc_get_le32(e + 4) : hc_get_le64(e + 8);
        if (address == 0) {
            break;
        }
        if (!c->is32 && !cpu_canonical(address)) {
            /* The entries before stay in effect. */
            *ret = -PVCORE_EINVAL;
            return PVCORE_HYPERCALL_DONE;
        }
        t = &v->cpu.traps[e[0]];
        t->address = address;
        t->flags = e[1];
        t->cs = fixup_selector(c->d, (uint16_t)((unsigned)e[2] | (unsigned)e[3] << 8));
        p += size;
        if (c->is32) {
            p &= 0xFFFFFFFFu;
        }
    }
    *ret = 0;
    return PVCORE_HYPERCALL_DONE;
}

int hcall_stack_switch(struct caller *c, uint64_t args[6], int64_t *ret)
{
    struct vcpu *v = (struct vcpu *)(void *)c->v;

    v->cpu.kernel_ss = fixup_selector(c->d, (uint16_t)hc_arg(c, args, 0));
    v->cpu.kernel_sp = hc_arg(c, args, 1);
    *ret = 0;
    return PVCORE_HYPERCALL_DONE;
}

int hcall_fpu_taskswitch(struct caller *c, uint64_t args[6], int64_t *ret)
{
    struct vcpu *v = (struct vcpu *)(void *)c->v;

    v->cpu.fpu_ts = (uint32_t)hc_arg(c, args, 0) != 0;
    *ret = 0;
    return PVCORE_HYPERCALL_DONE;
}

/* One callback registration (callback_op, set_callbacks): 0 or a negated error. */
static int64_t register_callback(struct caller *c, unsigned type, unsigned flags, uint16_t cs,
                                 uint64_t eip)
{
    struct vcpu *v = (struct vcpu *)(void *)c->v;
    enum cpu_callback_slot slot;
    bool mask = (flags & PVCORE_CALLBACKF_mask_events) != 0;

    if (!c->is32 && !cpu_canonical(eip)) {
        return -PVCORE_EINVAL;
    }
    switch (type) {
    case PVCORE_CALLBACKTYPE_event:
        slot = CB_EVENT;
        mask = true; /* events are always masked on the way in */
        break;
    case PVCORE_CALLBACKTYPE_failsafe:
        slot = CB_FAILSAFE;
        break;
    case PVCORE_CALLBACKTYPE_syscall:
        if (c->is32) {
            return -PVCORE_ENOSYS;
        }
        slot = CB_SYSCALL;
        break;
    case PVCORE_CALLBACKTYPE_syscall32:
        slot = CB_SYSCALL32;
        break;
    case PVCORE_CALLBACKTYPE_sysenter:
        slot = CB_SYSENTER;
        break;
    case PVCORE_CALLBACKTYPE_nmi: {
        /* The NMI callback is the trap table's NMI entry, entered with events masked. */
        struct cpu_trap *t = &v->cpu.traps[X86_VEC_NMI];
        t->address = eip;
        t->cs = c->is32 ? PVCORE_FLAT_KERNEL_CS_X86_32 : PVCORE_FLAT_KERNEL_CS_X86_64;
        t->flags = PVCORE_TI_IF;
        return 0;
    }
    default:
        return -PVCORE_ENOSYS;
    }
    v->cpu.cb[slot].eip = eip;
    v->cpu.cb[slot].cs = c->is32 ? fixup_selector(c->d, cs) : PVCORE_FLAT_KERNEL_CS_X86_64;
    v->cpu.cb[slot].mask_events = mask;
    return 0;
}

int hcall_callback_op(struct caller *c, uint64_t args[6], int64_t *ret)
{
    struct vcpu *v = (struct vcpu *)(void *)c->v;
    uint64_t p = hc_arg(c, args, 1);
    uint8_t b[16];
    unsigned type, flags;
    int rc;

    switch ((int32_t)hc_arg(c, args, 0)) {
    case PVCORE_CALLBACKOP_register:
        rc = hc_copy_in(c, b, p, c->is32 ? 12u : 16u);
        if (rc != 0) {
            *ret = rc;
            break;
        }
        type = (unsigned)b[0] | (unsigned)b[1] << 8;
        flags = (unsigned)b[2] | (unsigned)b[3] << 8;
        *ret = c->is32 ? register_callback(c, type, flags, (uint16_t)hc_get_le32(b + 4),
                                           hc_get_le32(b + 8))
                       : register_callback(c, type, flags, 0, hc_get_le64(b + 8));
        break;
    case PVCORE_CALLBACKOP_unregister:
        rc = hc_copy_in(c, b, p, sizeof(struct pvcore_callback_unregister));
        if (rc != 0) {
            *ret = rc;
            break;
        }
        switch ((unsigned)b[0] | (unsigned)b[1] << 8) {
        case PVCORE_CALLBACKTYPE_event:
        case PVCORE_CALLBACKTYPE_failsafe:
        case PVCORE_CALLBACKTYPE_syscall32:
        case PVCORE_CALLBACKTYPE_sysenter:
            *ret = -PVCORE_EINVAL; /* these cannot be taken away, only replaced */
            break;
        case PVCORE_CALLBACKTYPE_syscall:
            *ret = c->is32 ? -PVCORE_ENOSYS : -PVCORE_EINVAL;
            break;
        case PVCORE_CALLBACKTYPE_nmi:
            memset(&v->cpu.traps[X86_VEC_NMI], 0, sizeof(v->cpu.traps[0]));
            *ret = 0;
            break;
        default:
            *ret = -PVCORE_ENOSYS;
            break;
        }
        break;
    default:
        *ret = -PVCORE_ENOSYS;
        break;
    }
    return PVCORE_HYPERCALL_DONE;
}

int hcall_set_callbacks(struct caller *c, uint64_t args[6], int64_t *ret)
{
    /* 64-bit: (event, failsafe, syscall) addresses; 32-bit: (event cs, event eip,
     * failsafe cs, failsafe eip). Each as a registration without flags; like Xen, a bad
     * address only leaves that callback unchanged. */
    if (c->is32) {
        (void)register_callback(c, PVCORE_CALLBACKTYPE_event, 0, (uint16_t)hc_arg(c, args, 0),
                                hc_arg(c, args, 1));
        (void)register_callback(c, PVCORE_CALLBACKTYPE_failsafe, 0, (uint16_t)hc_arg(c, args, 2),
                                hc_arg(c, args, 3));
    } else {
        (void)register_callback(c, PVCORE_CALLBACKTYPE_event, 0, 0, args[0]);
        (void)register_callback(c, PVCORE_CALLBACKTYPE_failsafe, 0, 0, args[1]);
        (void)register_callback(c, PVCORE_CALLBACKTYPE_syscall, 0, 0, args[2]);
    }
    *ret = 0;
    return PVCORE_HYPERCALL_DONE;
}

/*
 * What loading `sel` into the user GS gives: the selector kept (RPL 3) and its base, or
 * the null selector and base 0 if it names no present data descriptor the guest may use:
 * the null selector itself, an entry beyond its GDT (the hypervisor's reserved entries are
 * flat, base 0), or an LDT entry (not looked up here: its page may not be mapped yet; a
 * guest that wants an LDT-based GS loads it itself).
 */
static uint16_t user_gs_selector(const struct vcpu *v, uint16_t sel, uint64_t *base)
{
    uint32_t idx = sel >> 3;
    uint64_t d;

    *base = 0;
    if ((sel & ~3u) == 0 || (sel & 4u) != 0) {
        return 0;
    }
    sel |= 3u;
    if (idx >= PVCORE_FIRST_RESERVED_GDT_ENTRY) {
        return sel;
    }
    if (idx >= v->cpu.gdt_ents) {
        return 0;
    }
    /* A validated descriptor page of the guest's, held while installed. */
    d = atomic_load_explicit((_Atomic uint64_t *)(void *)&frame_entries(
                                 v->d->m, v->cpu.gdt_frames[idx / 512u])[idx % 512u],
                             memory_order_relaxed); /* update_descriptor may be storing it */
    if (!(d & (1ull << 47)) || !(d & (1ull << 44)) ||
        ((d & (1ull << 43)) && !(d & (1ull << 41)))) {
        return 0; /* not present, a system descriptor, or code that cannot be read */
    }
    *base = ((d >> 16) & 0xFFFFFFu) | ((d >> 32) & 0xFF000000u);
    return sel;
}

int hcall_set_segment_base(struct caller *c, uint64_t args[6], int64_t *ret)
{
    struct vcpu *v = (struct vcpu *)(void *)c->v;
    uint64_t base = args[1];

    if (c->is32) {
        *ret = -PVCORE_ENOSYS;
        return PVCORE_HYPERCALL_DONE;
    }
    switch ((uint32_t)args[0]) {
    case PVCORE_SEGBASE_FS:
    case PVCORE_SEGBASE_GS_USER:
    case PVCORE_SEGBASE_GS_KERNEL:
        if (!cpu_canonical(base)) {
            *ret = -PVCORE_EINVAL;
            return PVCORE_HYPERCALL_DONE;
        }
        if ((uint32_t)args[0] == PVCORE_SEGBASE_FS) {
            v->cpu.fs_base = base;
        } else if ((uint32_t)args[0] == PVCORE_SEGBASE_GS_USER) {
            v->cpu.gs_base_user = base;
        } else {
            v->cpu.gs_base_kernel = base;
        }
        *ret = 0;
        break;
    case PVCORE_SEGBASE_GS_USER_SEL:
        /* The user GS is loaded with the selector (RPL 3), its base from the descriptor;
         * one that cannot be loaded is nulled, and the call still succeeds, as on Xen. The
         * embedder loads v's selector on the way to user mode. */
        v->cpu.gs_sel_user = user_gs_selector(v, (uint16_t)base, &v->cpu.gs_base_user);
        *ret = 0;
        break;
    default:
        *ret = -PVCORE_EINVAL;
        break;
    }
    return PVCORE_HYPERCALL_DONE;
}

/* ---- iret --------------------------------------------------------------------------------- */

/*
 * 64-bit: the guest's stack holds { rax, r11, rcx, flags, rip, cs, rflags, rsp, ss }
 * (struct iret_context). The guest may ask for user mode (cs RPL 3) only if it has user
 * tables; whatever it asks, it gets ring 3 selectors, IF set, IOPL 0 and no VM86.
 */
static int iret64(struct caller *c, struct pvcore_cpu_regs *r, int64_t *ret)
{
    struct vcpu *v = (struct vcpu *)(void *)c->v;
    uint8_t f[9 * 8];
    uint64_t rflags, cs;

    if (hc_copy_in(c, f, r->rsp, sizeof(f)) != 0) {
        return HCALL_CRASH;
    }
    cs = hc_get_le64(f + 5 * 8);
    if ((cs & 3u) == 3u) {
        if (v->guest_table_user == INVALID_MFN) {
            return HCALL_CRASH;
        }
        /* Only kernel mode makes hypercalls, so this enters user mode. */
        cpu_toggle_mode(v);
    }
    rflags = hc_get_le64(f + 6 * 8);
    if (c->d->vmassist & (1u << PVCORE_VMASST_TYPE_architectural_iopl)) {
        v->cpu.iopl = (uint32_t)rflags & EFLAGS_IOPL;
    }
    r->rip = hc_get_le64(f + 4 * 8);
    r->cs = (uint16_t)(cs | 3u);
    r->rflags = (rflags & ~(uint64_t)(EFLAGS_IOPL | EFLAGS_VM)) | EFLAGS_IF;
    r->rsp = hc_get_le64(f + 7 * 8);
    r->ss = (uint16_t)(hc_get_le64(f + 8 * 8) | 3u);
    if (!(hc_get_le64(f + 3 * 8) & PVCORE_VGCF_in_syscall)) {
        r->r11 = hc_get_le64(f + 1 * 8);
        r->rcx = hc_get_le64(f + 2 * 8);
    }
    cpu_set_upcall_mask(v, (rflags & EFLAGS_IF) ? 0 : 1);
    *ret = (int64_t)hc_get_le64(f);
    return PVCORE_HYPERCALL_DONE;
}

/*
 * A 32-bit guest's iret into VM86 mode, which a PV guest cannot have: as Xen does, the
 * guest takes #GP at its handler as if the first VM86 instruction had faulted, with the
 * frame it asked for (eip, cs, eflags, esp, ss, es, ds, fs, gs) moved to its kernel stack
 * under a zero error code. No handler, or a kernel stack that cannot take it: the guest
 * cannot go on.
 */
static int iret32_vm86(struct caller *c, struct pvcore_cpu_regs *r, uint32_t eax, uint32_t eflags,
                       int64_t *ret)
{
    struct vcpu *v = (struct vcpu *)(void *)c->v;
    const struct cpu_trap *gp = &v->cpu.traps[X86_VEC_GP];
    uint32_t ksp = (uint32_t)v->cpu.kernel_sp - 40u;
    uint8_t w[40];

    if ((gp->cs & ~3u) == 0 || hc_copy_in(c, w + 4, (uint32_t)r->rsp + 4u, 36) != 0) {
        return HCALL_CRASH;
    }
    hc_put_le(w, 0, 4);
    if (hc_copy_out(c, ksp, w, sizeof(w)) != 0) {
        return HCALL_CRASH;
    }
    r->rax = eax;
    r->rsp = ksp;
    r->ss = v->cpu.kernel_ss;
    r->rip = (uint32_t)gp->address;
    r->cs = gp->cs;
    r->rflags = ((eflags & ~EFLAGS_IOPL) | EFLAGS_IF) & ~(EFLAGS_VM | EFLAGS_RF | EFLAGS_NT | EFLAGS_TF);
    if (gp->flags & PVCORE_TI_IF) {
        eflags &= ~EFLAGS_IF;
    }
    cpu_set_upcall_mask(v, (eflags & EFLAGS_IF) ? 0 : 1);
    *ret = (int64_t)eax;
    return PVCORE_HYPERCALL_DONE;
}

/*
 * 32-bit: { eax, eip, cs, eflags, [esp, ss] }. Never back to ring 0; ring 1 pops the four
 * words, ring 2 or 3 takes esp and ss from the frame; VM86 mode is refused with a #GP
 * (iret32_vm86()).
 */
static int iret32(struct caller *c, struct pvcore_cpu_regs *r, int64_t *ret)
{
    struct vcpu *v = (struct vcpu *)(void *)c->v;
    uint8_t f[6 * 4];
    uint32_t sp = (uint32_t)r->rsp, eflags;
    uint16_t cs;

    if (hc_copy_in(c, f, sp, 4 * 4) != 0) {
        return HCALL_CRASH;
    }
    eflags = hc_get_le32(f + 3 * 4);
    cs = (uint16_t)hc_get_le32(f + 2 * 4);
    if (c->d->vmassist & (1u << PVCORE_VMASST_TYPE_architectural_iopl)) {
        v->cpu.iopl = eflags & EFLAGS_IOPL;
    }
    if (eflags & EFLAGS_VM) {
        return iret32_vm86(c, r, hc_get_le32(f), eflags, ret);
    }
    if ((cs & 3u) == 0) {
        return HCALL_CRASH;
    }
    if ((cs & 3u) != 1u) {
        if (hc_copy_in(c, f + 4 * 4, (uint64_t)sp + 16u, 8) != 0) {
            return HCALL_CRASH;
        }
    }
    r->rax = hc_get_le32(f);
    r->rip = hc_get_le32(f + 4);
    r->cs = cs;
    r->rflags = (eflags & ~EFLAGS_IOPL) | EFLAGS_IF;
    if ((cs & 3u) == 1u) {
        r->rsp = (uint32_t)(sp + 16u);
    } else {
        r->rsp = hc_get_le32(f + 4 * 4);
        r->ss = (uint16_t)hc_get_le32(f + 5 * 4);
    }
    cpu_set_upcall_mask(v, (eflags & EFLAGS_IF) ? 0 : 1);
    *ret = (int64_t)r->rax;
    return PVCORE_HYPERCALL_DONE;
}

int hcall_iret(struct caller *c, uint64_t args[6], int64_t *ret)
{
    (void)args;
    /* Whatever it does, nothing after it in a multicall runs (XSA-213). */
    c->iret_done = true;
    if (c->regs == NULL) {
        /* Through pvcore_hypercall(), which carries no register state. */
        *ret = -PVCORE_ENOSYS;
        return PVCORE_HYPERCALL_DONE;
    }
    return c->is32 ? iret32(c, c->regs, ret) : iret64(c, c->regs, ret);
}
