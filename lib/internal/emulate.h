/*
 * Privileged-instruction emulation (emulate.c): the entry the trap dispatcher calls for
 * a guest's #UD and #GP, the debug-register and CPUID rules the hypercall decoders share,
 * and the vCPU state it owns. Never installed.
 */
#ifndef PVCORE_INTERNAL_EMULATE_H
#define PVCORE_INTERNAL_EMULATE_H

#include <pvcore/emulate.h>

#include "internal/cpu.h"

struct vcpu;

/*
 * Tries to emulate the instruction that raised `vector` (#UD 6 or #GP 13) with `error`.
 * Returns true if it was handled: *result is PVCORE_CPU_RESUME (regs advanced or
 * rewritten, possibly with an exception injected through cpu_inject()) or
 * PVCORE_CPU_CRASH. false: not an instruction the emulator handles; the caller bounces
 * the original exception to the guest. No lock held.
 */
bool emulate_trap(struct vcpu *v, struct pvcore_cpu_regs *regs, unsigned vector, uint32_t error,
                  int *result);

/* The CR4 bits a PV guest always sees set: PAE, OSFXSR, OSXMMEXCPT (Xen's
 * PV_CR4_GUEST_VISIBLE_MASK without MCE, which the CPUID policy hides). */
#define EMULATE_CR4_VISIBLE 0x620u

/* The emulator's part of a fresh vCPU: DR6/DR7 at their reset values, CR4 as a PV guest
 * starts with it. After cpu_state_init(). Inline: domain creation calls it, and the
 * emulator calls the MMU, which calls the domain unit (no call cycle between files). */
static inline void emulate_state_init(struct vcpu_cpu *c)
{
    c->dr[6] = 0xFFFF0FF0u;
    c->dr[7] = 0x400u;
    c->dr7_emul = 0;
    c->cr4 = EMULATE_CR4_VISIBLE;
}

/* The guest's CPUID answer for leaf/subleaf (policy table plus the dynamic bits). */
void emulate_cpuid(const struct vcpu *v, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

/* set_debugreg's rules (0, -EPERM, -EINVAL, -ENODEV), and get_debugreg's read (0 or
 * -ENODEV for DR4/DR5 under CR4.DE and numbers above 7). */
int emulate_set_debugreg(struct vcpu *v, unsigned reg, uint64_t value);
int emulate_get_debugreg(const struct vcpu *v, unsigned reg, uint64_t *value);

#endif /* PVCORE_INTERNAL_EMULATE_H */
