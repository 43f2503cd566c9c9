/*
 * vcpu_op (vcpu.c): the decoder, and the parts domain creation and destruction need,
 * inline here because domain.c must not call vcpu.c (vcpu.c reaches domain.c through
 * mmu.c: that would be a call cycle between files). Never installed.
 *
 * Holders outside the frame table: a vCPU whose vcpu_info_registered is set holds one
 * general and one writable type reference on the vcpu_info frame (check.c counts them).
 */
#ifndef PVCORE_INTERNAL_VCPU_H
#define PVCORE_INTERNAL_VCPU_H

#include <pvcore/vcpu.h>

#include "internal/domain.h"
#include "internal/frame.h"

/* A fresh vCPU's vcpu_op state (domain creation, after cpu_state_init()): vCPU 0 has its
 * context from the embedder and is up; the others are down and wait for
 * VCPUOP_initialise. Every runstate starts at time 0. */
static inline void vcpu_op_state_init(struct vcpu *v)
{
    struct vcpu_cpu *c = &v->cpu;

    atomic_init(&c->up, v->id == 0);
    c->initialised = v->id == 0;
    c->initialising = false;
    c->init_regs_valid = false;
    atomic_init(&c->runstate_area, 0);
    spin_init(&c->runstate_lock);
    c->rs_state = v->id == 0 ? PVCORE_RUNSTATE_runnable : PVCORE_RUNSTATE_offline;
    c->rs_entry = 0;
}

/* Drops a registered vcpu_info's references (domain destruction), with the domain's lock
 * held. The vCPU then has no vcpu_info. */
static inline void vcpu_info_release(const struct domain_locked *dl, struct vcpu *v)
{
    struct machine *m = dl->d->m;

    uint64_t mfn;
    uint32_t off;

    ASSERT_LOCKED(dl);
    if (v->cpu.vcpu_info_registered && cpu_vcpu_info_get(&v->cpu, &mfn, &off)) {
        cpu_vcpu_info_set(&v->cpu, INVALID_MFN, 0);
        frame_put_writable_locked(dl, mfn);
        frame_put_page(m, mfn);
        v->cpu.vcpu_info_registered = false;
    }
}

#endif /* PVCORE_INTERNAL_VCPU_H */
