/*
 * Grant tables, the part a guest needs to set its table up: the frames (embedder memory,
 * given per domain), setup_table, query_size and the version (always 1). The table's size
 * only grows, so it is an atomic and no lock is taken; grant
 * mappings, which need the grant lock of the lock order (domain.c), come next.
 */
#include <pvcore/abi/grant_table.h>
#include <pvcore/grant.h>

#include "internal/held.h"
#include "internal/hypercall.h"

int pvcore_domain_set_grant_frames(struct pvcore_domain *pd, const pvcore_mfn_t *frames, uint32_t nr)
{
    struct domain *d = (struct domain *)(void *)pd;
    struct domain_locked dl;
    struct call call;
    uint32_t i;
    int rc = 0;

    if (d == NULL || (frames == NULL && nr != 0) || nr > PVCORE_GRANT_MAX_FRAMES) {
        return -PVCORE_EINVAL;
    }
    call_init(&call, d->m);
    dl = domain_lock(&call, d);
    if (d->gnt.max != 0) {
        rc = -PVCORE_EBUSY;
    }
    /* Each frame held writable from now on (internal/held.h): all or none. */
    for (i = 0; rc == 0 && i < nr; i++) {
        rc = held_get(&dl, frames[i].v);
        if (rc != 0) {
            while (i-- > 0) {
                held_put(&dl, frames[i].v);
            }
            break;
        }
    }
    if (rc == 0) {
        for (i = 0; i < nr; i++) {
            d->gnt.frames[i] = frames[i].v;
        }
        d->gnt.max = nr;
    }
    domain_unlock(&dl);
    return rc;
}

/* The domain an op names (DOMID_SELF or the caller's id, or any for a privileged caller),
 * or NULL: GNTST_bad_domain. *denied: it exists but the caller may not touch it. */
static struct domain *target(const struct caller *c, uint16_t dom, bool *denied)
{
    struct domain *d;

    *denied = false;
    if (dom == PVCORE_DOMID_SELF || dom == c->d->domid) {
        return c->d;
    }
    d = (struct domain *)(void *)pvcore_domain_lookup((struct pvcore_machine *)(void *)c->m, dom);
    if (d != NULL && !domain_privileged(c->d)) {
        *denied = true;
    }
    return d;
}

static int16_t setup_table(const struct caller *c, uint16_t dom, uint32_t nr, uint64_t list)
{
    size_t word = c->is32 ? 4u : 8u;
    struct domain *d;
    bool denied;
    uint32_t i, cur;
    int16_t status = PVCORE_GNTST_okay;

    d = target(c, dom, &denied);
    if (d == NULL) {
        return PVCORE_GNTST_bad_domain;
    }
    if (denied) {
        return PVCORE_GNTST_permission_denied;
    }
    if (nr > d->gnt.max) {
        return PVCORE_GNTST_general_error;
    }
    cur = atomic_load(&d->gnt.nr);
    while (cur < nr && !atomic_compare_exchange_weak(&d->gnt.nr, &cur, nr)) {
    }
    for (i = 0; i < nr; i++) {
        uint8_t b[8];
        hc_put_le(b, d->gnt.frames[i], (unsigned)word);
        if (hc_copy_out(c, list + (uint64_t)i * word, b, word) != 0) {
            status = PVCORE_GNTST_bad_virt_addr;
        }
    }
    return status;
}

int hcall_grant_table_op(struct caller *c, uint64_t args[6], int64_t *ret)
{
    uint32_t cmd = (uint32_t)hc_arg(c, args, 0), count = (uint32_t)hc_arg(c, args, 2);
    uint64_t uop = hc_arg(c, args, 1);
    uint8_t b[24];
    struct domain *d;
    bool denied;
    int16_t status;
    int rc;

    switch (cmd) {
    case PVCORE_GNTTABOP_setup_table: {
        size_t sz = c->is32 ? sizeof(struct pvcore_gnttab_setup_table_x86_32)
                            : sizeof(struct pvcore_gnttab_setup_table_x86_64);
        uint32_t nr;
        uint64_t list;
        if (count != 1) {
            *ret = -PVCORE_EINVAL;
            break;
        }
        rc = hc_copy_in(c, b, uop, sz);
        if (rc != 0) {
            *ret = rc;
            break;
        }
        nr = hc_get_le32(b + 4);
        list = c->is32 ? hc_get_le32(b + 12) : hc_get_le64(b + 16);
        if (!hc_range_ok(c, list, (uint64_t)nr * (c->is32 ? 4u : 8u))) {
            *ret = -PVCORE_EFAULT;
            break;
        }
        status = setup_table(c, (uint16_t)(b[0] | b[1] << 8), nr, list);
        hc_put_le(b + 8, (uint16_t)status, 2);
        *ret = hc_copy_out(c, uop + 8, b + 8, 2);
        break;
    }
    case PVCORE_GNTTABOP_query_size:
        /* { dom, nr_frames, max_nr_frames, status }: one, as Xen takes it */
        if (count != 1) {
            *ret = -PVCORE_EINVAL;
            break;
        }
        rc = hc_copy_in(c, b, uop, sizeof(struct pvcore_gnttab_query_size));
        if (rc != 0) {
            *ret = rc;
            break;
        }
        d = target(c, (uint16_t)((unsigned)b[0] | (unsigned)b[1] << 8), &denied);
        status = d == NULL ? PVCORE_GNTST_bad_domain
               : denied   ? PVCORE_GNTST_permission_denied
                          : PVCORE_GNTST_okay;
        if (status == PVCORE_GNTST_okay) {
            hc_put_le(b + 4, atomic_load(&d->gnt.nr), 4);
            hc_put_le(b + 8, d->gnt.max, 4);
        }
        hc_put_le(b + 12, (uint16_t)status, 2);
        *ret = hc_copy_out(c, uop, b, sizeof(struct pvcore_gnttab_query_size));
        break;
    case PVCORE_GNTTABOP_set_version: {
        uint32_t want;
        if (count != 1) {
            *ret = -PVCORE_EINVAL;
            break;
        }
        rc = hc_copy_in(c, b, uop, 4);
        if (rc != 0) {
            *ret = rc;
            break;
        }
        want = hc_get_le32(b);
        if (want != 1 && want != 2) {
            *ret = -PVCORE_EINVAL;
        } else if (want == 2) {
            *ret = -PVCORE_ENOSYS; /* version 1 only, as a Xen limited to it */
        } else {
            *ret = 0;
        }
        /* The version in force, whatever the outcome. */
        hc_put_le(b, 1u, 4);
        if (hc_copy_out(c, uop, b, 4) != 0) {
            *ret = -PVCORE_EFAULT;
        }
        break;
    }
    case PVCORE_GNTTABOP_get_version:
        if (count != 1) {
            *ret = -PVCORE_EINVAL;
            break;
        }
        rc = hc_copy_in(c, b, uop, sizeof(struct pvcore_gnttab_get_version));
        if (rc != 0) {
            *ret = rc;
            break;
        }
        d = target(c, (uint16_t)(b[0] | b[1] << 8), &denied);
        if (d == NULL) {
            *ret = -PVCORE_ESRCH;
            break;
        }
        if (denied) {
            *ret = -PVCORE_EPERM;
            break;
        }
        hc_put_le(b + 4, 1u, 4);
        *ret = hc_copy_out(c, uop + 4, b + 4, 4);
        break;
    default:
        *ret = -PVCORE_ENOSYS;
        break;
    }
    return PVCORE_HYPERCALL_DONE;
}
