/*
 * Guest copies as the core makes them: through the embedder's hooks, with no library lock
 * held by the calling context (asserted in debug builds). Never installed.
 */
#ifndef PVCORE_INTERNAL_GUESTMEM_H
#define PVCORE_INTERNAL_GUESTMEM_H

#include <pvcore/guestmem.h>

#include "internal/domain.h"

/* Xen's access_ok() for a PV guest: may [gva, gva + len) be a guest buffer? For a 32-bit
 * guest the whole range lies below the hypervisor's part of its address space; for a
 * 64-bit one the start is canonical and outside the hypervisor's hole (Xen checks only the
 * start there: the rest faults when touched) and the range does not wrap. */
static inline bool guest_range_ok(const struct domain *d, uint64_t gva, uint64_t len)
{
    if (len == 0) {
        return true;
    }
    if (domain_is_32(d)) {
        return gva < PVCORE_HYPERVISOR_VIRT_START_X86_32 && len <= PVCORE_HYPERVISOR_VIRT_START_X86_32 - gva;
    }
    return (gva < (1ull << 47) || gva >= PVCORE_HYPERVISOR_VIRT_END_X86_64) && len - 1u <= UINT64_MAX - gva;
}

/* 0, or -PVCORE_EFAULT (no hook, or any byte unreadable). */
static inline int guest_copy_from(const struct call *c, struct vcpu *v, void *dst, uint64_t gva,
                                  size_t len)
{
    const struct machine *m = c->m;

    ASSERT_UNLOCKED(c);
    if (m->ops->copy_from_guest == NULL ||
        m->ops->copy_from_guest(m->ctx, (struct pvcore_vcpu *)(void *)v, dst, gva, len) != 0) {
        return -PVCORE_EFAULT;
    }
    return 0;
}

/* 0, or -PVCORE_EFAULT (no hook, or any byte not writable; nothing written then). */
static inline int guest_copy_to(const struct call *c, struct vcpu *v, uint64_t gva, const void *src,
                                size_t len)
{
    const struct machine *m = c->m;

    ASSERT_UNLOCKED(c);
    if (m->ops->copy_to_guest == NULL ||
        m->ops->copy_to_guest(m->ctx, (struct pvcore_vcpu *)(void *)v, gva, src, len) != 0) {
        return -PVCORE_EFAULT;
    }
    return 0;
}

#endif /* PVCORE_INTERNAL_GUESTMEM_H */
