/*
 * The descriptor-table module's hypercall decoder: set_gdt and update_descriptor, from
 * registers (and set_gdt's frame list in guest memory) to desc.c and back.
 */
#include "internal/desc.h"
#include "internal/hypercall.h"

int hcall_set_gdt(struct caller *c, uint64_t args[6], int64_t *ret)
{
    uint64_t list = hc_arg(c, args, 0);
    uint32_t entries = (uint32_t)args[1];
    unsigned word = c->is32 ? 4u : 8u; /* the guest's unsigned long */
    uint8_t raw[CPU_GDT_MAX_FRAMES * 8u];
    uint64_t frames[CPU_GDT_MAX_FRAMES];
    uint32_t nr, i, k;
    int rc;

    /* Checked before the copy too, which it bounds. */
    if (entries > PVCORE_FIRST_RESERVED_GDT_ENTRY) {
        *ret = -PVCORE_EINVAL;
        return PVCORE_HYPERCALL_DONE;
    }
    nr = desc_gdt_frames(entries);
    if (nr != 0 && hc_copy_in(c, raw, list, (size_t)nr * word) != 0) {
        *ret = -PVCORE_EFAULT;
        return PVCORE_HYPERCALL_DONE;
    }
    for (i = 0; i < nr; i++) {
        frames[i] = 0;
        for (k = 0; k < word; k++) {
            frames[i] |= (uint64_t)raw[i * word + k] << (8u * k);
        }
    }
    rc = desc_set_gdt(&c->call, (struct vcpu *)(void *)c->v, frames, entries);
    if (rc == -PVCORE_ERESTART) {
        /* Only queued devalidation ran: the same call again installs the GDT. */
        return PVCORE_HYPERCALL_RESTART;
    }
    *ret = rc;
    return PVCORE_HYPERCALL_DONE;
}

int hcall_update_descriptor(struct caller *c, uint64_t args[6], int64_t *ret)
{
    uint64_t maddr, desc;
    int rc;

    if (c->is32) {
        /* Both 64-bit arguments come in two registers each: (ma_lo, ma_hi, desc_lo, desc_hi). */
        maddr = hc_arg(c, args, 0) | hc_arg(c, args, 1) << 32;
        desc = hc_arg(c, args, 2) | hc_arg(c, args, 3) << 32;
    } else {
        maddr = args[0];
        desc = args[1];
    }
    rc = desc_update(&c->call, (struct vcpu *)(void *)c->v, maddr, desc);
    if (rc == -PVCORE_ERESTART) {
        return PVCORE_HYPERCALL_RESTART;
    }
    *ret = rc;
    return PVCORE_HYPERCALL_DONE;
}
