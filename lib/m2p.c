/*
 * The machine-to-phys table (embedder memory, one guest frame number per machine frame, and
 * optionally its 32-bit copy for 32-bit guests)
 * and each domain's optional phys-to-machine table, kept consistent with each other under
 * machine->m2p_lock, which nests inside every other lock (domain.c, lock order). A leaf.
 */
#include <pvcore/domain.h>

#include "internal/m2p.h"

void m2p_set(struct domain *d, uint64_t mfn, uint64_t gfn)
{
    struct machine *m = d->m;
    uint64_t old;

    spin_lock(&m->m2p_lock);
    old = m->m2p[mfn];
    if (d->p2m != NULL) {
        if (old < d->p2m_size && d->p2m[old] == mfn) {
            d->p2m[old] = INVALID_MFN;
        }
        if (gfn < d->p2m_size) {
            d->p2m[gfn] = mfn;
        }
    }
    m->m2p[mfn] = gfn;
    if (m->m2p_compat != NULL) {
        m->m2p_compat[mfn] = (uint32_t)gfn;
    }
    spin_unlock(&m->m2p_lock);
}

void m2p_forget(struct machine *m, uint16_t owner, uint64_t mfn)
{
    struct domain *d = machine_domain(m, owner);
    uint64_t g;

    spin_lock(&m->m2p_lock);
    g = m->m2p[mfn];
    if (d != NULL && d->p2m != NULL && g < d->p2m_size && d->p2m[g] == mfn) {
        d->p2m[g] = INVALID_MFN;
    }
    m->m2p[mfn] = INVALID_MFN;
    if (m->m2p_compat != NULL) {
        m->m2p_compat[mfn] = UINT32_MAX;
    }
    spin_unlock(&m->m2p_lock);
}

uint64_t m2p_get(struct machine *m, uint64_t mfn)
{
    uint64_t g;

    spin_lock(&m->m2p_lock);
    g = m->m2p[mfn];
    spin_unlock(&m->m2p_lock);
    return g;
}

int pvcore_domain_set_p2m(struct pvcore_domain *pd, uint64_t *p2m, uint64_t nr)
{
    struct domain *d = (struct domain *)(void *)pd;
    uint64_t i;

    if (p2m == NULL && nr != 0) {
        return -PVCORE_EINVAL;
    }
    for (i = 0; i < nr; i++) {
        p2m[i] = INVALID_MFN;
    }
    spin_lock(&d->m->m2p_lock);
    d->p2m = p2m;
    d->p2m_size = nr;
    spin_unlock(&d->m->m2p_lock);
    return 0;
}
