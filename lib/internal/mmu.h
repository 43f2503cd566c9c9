/*
 * The MMU module's entry points for its hypercall decoder (hcall_mmu.c): the batched
 * calls reading their requests from a source, on the decoder's per-call context. Never
 * installed.
 */
#ifndef PVCORE_INTERNAL_MMU_H
#define PVCORE_INTERNAL_MMU_H

#include <pvcore/mmu.h>

#include "internal/paging.h"

/* A batch in progress (mmu.c): the call, and the lock of the domain whose tables change. */
struct mmu_call;

/*
 * Lets go of the lock the batch holds, so that a guest copy runs with no library lock
 * held, and takes it back. Only from a source's read callback. Between the two, other
 * vCPUs may change the tables; the batch goes on as if their calls had come first.
 */
void mmu_call_unlock(struct mmu_call *mc);
void mmu_call_relock(struct mmu_call *mc);

/*
 * Where a batch's requests come from: an array in hypervisor memory, or a reader called
 * for request i just before it is handled (the decoder's, which copies requests out of
 * guest memory, unlocking around the copy). A batch from a guest is then one call: one
 * work budget, at most one flush. The reader returns 0 or -PVCORE_EFAULT, which ends the
 * batch before request i.
 */
struct mmu_source {
    const void *array; /* pvcore_mmu_update_t[] or struct pvcore_mmuext_req[] */
    int (*read)(void *ctx, struct mmu_call *mc, uint32_t i, void *out);
    void *ctx;
};

/* pvcore_mmu_update() and pvcore_mmuext_op(), on the caller's context `call` (which holds
 * no lock) and a source. */
int mmu_update_source(struct call *call, struct pvcore_vcpu *v, const struct mmu_source *src,
                      uint32_t count, uint32_t *done, uint32_t foreigndom);
int mmuext_op_source(struct call *call, struct pvcore_vcpu *v, const struct mmu_source *src,
                     uint32_t count, uint32_t *done, uint32_t foreigndom);
/* pvcore_update_va_mapping(), on the caller's context. */
int mmu_update_va_mapping(struct call *call, struct pvcore_vcpu *v, uint64_t va, uint64_t val,
                          uint64_t flags, uint32_t foreigndom);

/*
 * The commit half of MMUEXT_NEW_BASEPTR / NEW_USER_BASEPTR for vCPU v, with its domain's
 * lock held: installs root `mfn` (INVALID_MFN: none), whose general and type references
 * the caller already holds (they pass to the vCPU), drops the old root's, releases the
 * LDT frames found through the old kernel root (with a local flush) and tells the
 * embedder (base_changed). Cannot fail. VCPUOP_initialise (vcpu.c) uses it too.
 */
void mmu_install_base(const struct domain_locked *dl, struct vcpu *v, uint64_t mfn, bool user);

#endif /* PVCORE_INTERNAL_MMU_H */
