/*
 * The exception bounce: the frame a PV guest finds on its kernel stack when the hypervisor
 * enters one of its handlers or callbacks, the register state it resumes with, and the
 * vcpu_info updates that go with it (event mask, cr2). A leaf of the CPU half: traps.c
 * (dispatch, iret, the trap-table hypercalls) and emulate.c (software interrupts, injected
 * faults) call it; it calls only the guest copy hooks, with no lock held.
 *
 * The frames are Xen's (the header comment of <pvcore/cpu.h>); so is what a frame that
 * cannot be written means: a fault while delivering a fault, after which the guest cannot
 * continue.
 */
#include "internal/cpu.h"
#include "internal/domain.h"
#include "internal/hypercall.h" /* hc_put_le(): guest scalars are little-endian */
#include "internal/paging.h"

#define PFEC_USER 0x4u

/* Vectors whose hardware exception pushes an error code. */
#define VEC_HAS_ERROR ((1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) | \
                       (1u << 14) | (1u << 17) | (1u << 21) | (1u << 29) | (1u << 30))


/* ---- vcpu_info ---------------------------------------------------------------------------- */

/* The vCPU's vcpu_info (64 bytes, in a frame of its domain), or NULL if it has none yet. */
static uint8_t *vcpu_info(const struct vcpu *v)
{
    const struct machine *m = v->d->m;

    uint64_t mfn;
    uint32_t off;

    if (!cpu_vcpu_info_get(&v->cpu, &mfn, &off)) {
        return NULL;
    }
    return (uint8_t *)frame_entries(m, mfn) + off;
}

#define VI_UPCALL_MASK 1u
#define VI_CR2_32 8u
#define VI_CR2_64 16u

/*
 * The guest's event mask. The byte is guest memory, read and written by the guest at any
 * time: accessed as a relaxed atomic byte, never trusted beyond "zero or not".
 */
uint8_t cpu_upcall_mask(const struct vcpu *v)
{
    const uint8_t *vi = vcpu_info(v);

    return vi == NULL ? 1u
                      : atomic_load_explicit((const _Atomic uint8_t *)(const void *)(vi + VI_UPCALL_MASK),
                                             memory_order_relaxed);
}

void cpu_set_upcall_mask(const struct vcpu *v, uint8_t val)
{
    uint8_t *vi = vcpu_info(v);

    if (vi != NULL) {
        atomic_store_explicit((_Atomic uint8_t *)(void *)(vi + VI_UPCALL_MASK), val,
                              memory_order_relaxed);
    }
}

void cpu_set_cr2(struct vcpu *v, uint64_t cr2)
{
    uint8_t *vi = vcpu_info(v);
    uint8_t b[8];
    unsigned i, n = domain_is_32(v->d) ? 4u : 8u;

    v->cpu.cr2 = cr2;
    if (vi == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        b[i] = (uint8_t)(cr2 >> (8u * i));
    }
    memcpy(vi + (n == 4u ? VI_CR2_32 : VI_CR2_64), b, n);
}

/* ---- modes -------------------------------------------------------------------------------- */

bool cpu_guest_kernel_mode(const struct vcpu *v, const struct pvcore_cpu_regs *regs)
{
    if (domain_is_32(v->d)) {
        return (regs->cs & 3u) == 1u;
    }
    return !v->cpu.user_mode;
}

/* A 64-bit guest's switch between its kernel and user halves (Xen's toggle_guest_mode):
 * the embedder loads the other root and GS base before the vCPU runs again. */
void cpu_toggle_mode(struct vcpu *v)
{
    const struct machine *m = v->d->m;

    v->cpu.user_mode = !v->cpu.user_mode;
    if (m->ops->mode_changed != NULL) {
        m->ops->mode_changed(m->ctx, (struct pvcore_vcpu *)(void *)v, !v->cpu.user_mode);
    }
}

/* The EFLAGS image a frame shows: the virtual IF (events enabled) and, with the
 * architectural-IOPL assist, the virtual IOPL, in place of the processor's. */
static uint32_t frame_flags(const struct vcpu *v, uint64_t rflags, uint8_t saved_mask)
{
    uint32_t f = (uint32_t)rflags & ~(EFLAGS_IF | EFLAGS_IOPL);

    if (saved_mask == 0) {
        f |= EFLAGS_IF;
    }
    if (v->d->vmassist & (1u << PVCORE_VMASST_TYPE_architectural_iopl)) {
        f |= v->cpu.iopl & EFLAGS_IOPL;
    }
    return f;
}

/* ---- the bounce --------------------------------------------------------------------------- */

/*
 * 64-bit guest: { rcx, r11, [ds, es, fs, gs | error], rip, cs | mask << 32, rflags, rsp, ss }
 * at a 16-byte aligned address below the kernel stack pointer.
 */
static int bounce64(struct vcpu *v, struct call *call, struct pvcore_cpu_regs *r, const struct bounce *b)
{
    uint8_t frame[11 * 8];
    uint64_t sp;
    unsigned n = 0;
    size_t len;
    uint8_t saved;

    if (b->eip == 0) {
        return PVCORE_CPU_CRASH; /* no handler: nothing to deliver to */
    }
    if (v->cpu.user_mode) {
        /* Enter kernel mode first: the frame goes to the kernel's stack, through the
         * kernel's tables. */
        cpu_toggle_mode(v);
        sp = v->cpu.kernel_sp;
    } else {
        sp = r->rsp;
        r->cs &= (uint16_t)~3u; /* the kernel's view of its own code selector */
    }
    sp &= ~(uint64_t)15u;
    saved = cpu_upcall_mask(v);
    len = (b->failsafe ? 11u : b->error_code ? 8u : 7u) * 8u;
    if (sp < len || !paging_va_is_guest(v->d, sp - len) || !paging_va_is_guest(v->d, sp - 1u)) {
        return PVCORE_CPU_CRASH;
    }
    sp -= len;
    hc_put_le(frame + 8 * n++, r->rcx, 8);
    hc_put_le(frame + 8 * n++, r->r11, 8);
    if (b->failsafe) {
        hc_put_le(frame + 8 * n++, r->ds, 8);
        hc_put_le(frame + 8 * n++, r->es, 8);
        hc_put_le(frame + 8 * n++, r->fs, 8);
        hc_put_le(frame + 8 * n++, r->gs, 8);
    } else if (b->error_code) {
        hc_put_le(frame + 8 * n++, b->error, 8);
    }
    hc_put_le(frame + 8 * n++, r->rip, 8);
    hc_put_le(frame + 8 * n++, (uint64_t)r->cs | (uint64_t)saved << 32, 8);
    hc_put_le(frame + 8 * n++, frame_flags(v, r->rflags, saved), 8);
    hc_put_le(frame + 8 * n++, r->rsp, 8);
    hc_put_le(frame + 8 * n++, r->ss, 8);
    if (guest_copy_to(call, v, sp, frame, len) != 0) {
        return PVCORE_CPU_CRASH;
    }
    if (b->mask_events) {
        cpu_set_upcall_mask(v, 1);
    }
    /* As the processor clears TF, VM, RF and NT on an exception; AC too, so that
     * alignment checks do not fire in the kernel. */
    r->rflags &= ~(uint64_t)(EFLAGS_AC | EFLAGS_VM | EFLAGS_RF | EFLAGS_NT | EFLAGS_TF);
    r->ss = PVCORE_FLAT_KERNEL_SS_X86_64;
    r->rsp = sp;
    r->cs = PVCORE_FLAT_KERNEL_CS_X86_64;
    r->rip = b->eip;
    return PVCORE_CPU_RESUME;
}

/*
 * A 32-bit guest's handler selector is its own: one of its GDT or LDT entries (checked
 * when installed: never DPL 0, never beyond its limits), or the flat ring 1 or ring 3 code
 * selector of the hypervisor's reserved area; never null, and never another reserved
 * entry (the hypervisor's own code among them).
 */
static bool guest_code_selector(uint16_t cs)
{
    if ((cs & ~3u) == 0) {
        return false;
    }
    if ((cs & 4u) != 0 || (cs >> 3) < PVCORE_FIRST_RESERVED_GDT_ENTRY) {
        return true;
    }
    return (cs & ~3u) == (PVCORE_FLAT_RING1_CS_X86_32 & ~3u) ||
           (cs & ~3u) == (PVCORE_FLAT_RING3_CS_X86_32 & ~3u);
}

/*
 * 32-bit guest: { [ds, es, fs, gs | error], eip, cs | mask << 16, eflags, [esp, ss] }; esp
 * and ss when it was not in ring 1, and then on the stack_switch stack.
 */
static int bounce32(struct vcpu *v, struct call *call, struct pvcore_cpu_regs *r, const struct bounce *b)
{
    uint8_t frame[9 * 4];
    uint32_t sp;
    uint16_t ss;
    unsigned n = 0;
    size_t len;
    uint8_t saved;
    bool ring1 = (r->cs & 2u) == 0; /* rings 0 and 1 stay on their stack, as Xen tests it */

    if (!guest_code_selector(b->cs)) {
        return PVCORE_CPU_CRASH; /* no handler of the guest's own to enter */
    }
    if (ring1) {
        sp = (uint32_t)r->rsp;
        ss = r->ss;
    } else {
        sp = (uint32_t)v->cpu.kernel_sp;
        ss = v->cpu.kernel_ss;
    }
    saved = cpu_upcall_mask(v);
    len = (size_t)((b->failsafe ? 7u : b->error_code ? 4u : 3u) + (ring1 ? 0u : 2u)) * 4u;
    if (sp < len || sp - len >= PVCORE_HYPERVISOR_VIRT_START_X86_32 ||
        sp > PVCORE_HYPERVISOR_VIRT_START_X86_32) {
        return PVCORE_CPU_CRASH;
    }
    sp -= (uint32_t)len;
    if (b->failsafe) {
        hc_put_le(frame + 4 * n++, r->ds, 4);
        hc_put_le(frame + 4 * n++, r->es, 4);
        hc_put_le(frame + 4 * n++, r->fs, 4);
        hc_put_le(frame + 4 * n++, r->gs, 4);
    } else if (b->error_code) {
        hc_put_le(frame + 4 * n++, b->error, 4);
    }
    hc_put_le(frame + 4 * n++, (uint32_t)r->rip, 4);
    hc_put_le(frame + 4 * n++, (uint32_t)r->cs | (uint32_t)saved << 16, 4);
    hc_put_le(frame + 4 * n++, frame_flags(v, r->rflags, saved), 4);
    if (!ring1) {
        hc_put_le(frame + 4 * n++, (uint32_t)r->rsp, 4);
        hc_put_le(frame + 4 * n++, r->ss, 4);
    }
    if (guest_copy_to(call, v, sp, frame, len) != 0) {
        return PVCORE_CPU_CRASH;
    }
    if (b->mask_events) {
        cpu_set_upcall_mask(v, 1);
    }
    r->rflags &= ~(uint64_t)(EFLAGS_VM | EFLAGS_RF | EFLAGS_NT | EFLAGS_TF);
    if (b->failsafe) {
        r->rflags &= ~(uint64_t)EFLAGS_IOPL;
    }
    r->ss = ss;
    r->rsp = sp;
    r->cs = b->cs;
    r->rip = (uint32_t)b->eip;
    return PVCORE_CPU_RESUME;
}

int cpu_bounce(struct vcpu *v, struct pvcore_cpu_regs *r, const struct bounce *b)
{
    struct call call;
    bool user_access = v->cpu.user_access;
    int rc;

    /* The frame is the kernel's: written as the kernel would, whoever faulted. */
    v->cpu.user_access = false;
    call_init(&call, v->d->m);
    rc = domain_is_32(v->d) ? bounce32(v, &call, r, b) : bounce64(v, &call, r, b);
    v->cpu.user_access = user_access;
    return rc;
}

int cpu_inject(struct vcpu *v, struct pvcore_cpu_regs *regs, unsigned vector, uint32_t error,
               uint64_t cr2, bool soft)
{
    const struct cpu_trap *t = &v->cpu.traps[vector & 0xffu];
    struct bounce b = { 0 };

    b.eip = t->address;
    b.cs = t->cs;
    b.mask_events = (t->flags & PVCORE_TI_IF) != 0;
    if (!soft && vector < 32 && (VEC_HAS_ERROR & (1u << vector))) {
        b.error_code = true;
        b.error = error;
    }
    if (!soft && vector == X86_VEC_PF) {
        /* The guest reads the address from its virtual CR2, and the error code's user bit
         * says which of its own modes faulted (not the processor's ring). */
        cpu_set_cr2(v, cr2);
        b.error &= ~PFEC_USER;
        if (!cpu_guest_kernel_mode(v, regs)) {
            b.error |= PFEC_USER;
        }
    }
    return cpu_bounce(v, regs, &b);
}

