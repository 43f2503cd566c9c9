/*
 * Guest copies as the core makes them: through the embedder's hooks, with no library lock
 * held by the calling context (asserted in debug builds). Never installed.
 */
#ifndef PVCORE_INTERNAL_GUESTMEM_H
#define PVCORE_INTERNAL_GUESTMEM_H

#include <pvcore/guestmem.h>

#include "internal/domain.h"

/* Does [gva, gva + len) fit below the top of d's address space (2^32 bytes for a 32-bit
 * guest, 2^64 otherwise)? A range that wraps never does. */
static inline bool guest_range_ok(const struct domain *d, uint64_t gva, uint64_t len)
{
    uint64_t top = domain_is_32(d) ? 0xFFFFFFFFu : UINT64_MAX;

    return len == 0 || (gva <= top && len - 1u <= top - gva);
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
