/*
 * The hypercall decoder's entry: the caller and its per-call context, and dispatch
 * through one handler table, one decoder per module (hcall_mmu.c, hcall_xen.c; the next
 * modules add theirs). Guest memory is reached only through the host's copy hooks, with no
 * library lock held (internal/hypercall.h).
 */
#include "internal/hypercall.h"

/* Xen's hypercall numbers (0-63) that the library serves; the rest are the embedder's. */
static const hcall_handler handlers[64] = {
    [PVCORE_HYPERVISOR_mmu_update] = hcall_mmu_update,
    [PVCORE_HYPERVISOR_mmuext_op] = hcall_mmuext_op,
    [PVCORE_HYPERVISOR_update_va_mapping] = hcall_update_va_mapping,
    [PVCORE_HYPERVISOR_update_va_mapping_otherdomain] = hcall_update_va_mapping_otherdomain,
    [PVCORE_HYPERVISOR_vm_assist] = hcall_vm_assist,
    [PVCORE_HYPERVISOR_xen_version] = hcall_xen_version,
};

int pvcore_hypercall(struct pvcore_vcpu *v, struct pvcore_hypercall_regs *r)
{
    struct caller c;
    uint64_t nr;
    int64_t ret = 0;
    int rc;

    c.v = v;
    c.d = vcpu_domain(v);
    c.m = c.d->m;
    c.is32 = domain_is_32(c.d);
    call_init(&c.call, c.m);
    nr = c.is32 ? (r->nr & 0xFFFFFFFFu) : r->nr;
    if (nr >= sizeof(handlers) / sizeof(handlers[0]) || handlers[nr] == NULL) {
        /* Including console_io, sched_op and every number >= 64: the embedder's. */
        return PVCORE_HYPERCALL_UNHANDLED;
    }
    rc = handlers[nr](&c, r->arg, &ret);
    ASSERT_UNLOCKED(&c.call);
    if (rc == PVCORE_HYPERCALL_DONE) {
        r->ret = c.is32 ? (uint64_t)(uint32_t)ret : (uint64_t)ret;
    }
    return rc;
}
