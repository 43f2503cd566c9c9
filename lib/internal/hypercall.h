/*
 * The hypercall decoder's shared parts: the caller, argument and guest-memory helpers,
 * and the handler table through which pvcore_hypercall() (and, next, multicall) reaches
 * each module's decoder. Never installed.
 */
#ifndef PVCORE_INTERNAL_HYPERCALL_H
#define PVCORE_INTERNAL_HYPERCALL_H

#include <pvcore/cpu.h>
#include <pvcore/hypercall.h>

#include "internal/guestmem.h"

/* The calling vCPU, what its word size implies, and the per-call context. */
struct caller {
    struct call call;
    struct pvcore_vcpu *v;
    struct domain *d;
    struct machine *m;
    bool is32;
    /* The vCPU's registers, when the entry carries them (pvcore_cpu_hypercall()); iret
     * needs them, and stops a multicall once it ran. */
    struct pvcore_cpu_regs *regs;
    bool iret_done;
    bool in_multicall;
};

/* A handler's result besides PVCORE_HYPERCALL_DONE / _RESTART: the guest cannot go on
 * (iret through an unreadable frame). */
#define HCALL_CRASH 3

/*
 * A module's decoder for one hypercall: the guest's six argument registers in (only
 * their low halves matter for a 32-bit guest: use hc_arg()), and either
 * PVCORE_HYPERCALL_DONE with the result in *ret, PVCORE_HYPERCALL_RESTART with args
 * rewritten for a continuation, or PVCORE_HYPERCALL_UNHANDLED for a sub-command the
 * embedder serves (args untouched). Handlers take no lock around guest copies and hold none
 * on return, so that a multicall can run them one after the other unchanged.
 */
typedef int (*hcall_handler)(struct caller *c, uint64_t args[6], int64_t *ret);

/* The MMU module's decoders (hcall_mmu.c). */
int hcall_mmu_update(struct caller *c, uint64_t args[6], int64_t *ret);
int hcall_mmuext_op(struct caller *c, uint64_t args[6], int64_t *ret);
int hcall_update_va_mapping(struct caller *c, uint64_t args[6], int64_t *ret);
int hcall_update_va_mapping_otherdomain(struct caller *c, uint64_t args[6], int64_t *ret);
/* The trap, callback and stack decoders (traps.c). */
int hcall_set_trap_table(struct caller *c, uint64_t args[6], int64_t *ret);
int hcall_stack_switch(struct caller *c, uint64_t args[6], int64_t *ret);
int hcall_set_callbacks(struct caller *c, uint64_t args[6], int64_t *ret);
int hcall_fpu_taskswitch(struct caller *c, uint64_t args[6], int64_t *ret);
int hcall_iret(struct caller *c, uint64_t args[6], int64_t *ret);
int hcall_set_segment_base(struct caller *c, uint64_t args[6], int64_t *ret);
int hcall_callback_op(struct caller *c, uint64_t args[6], int64_t *ret);
/* The emulator's decoders (emulate.c): debug registers and the I/O privilege level. */
int hcall_set_debugreg(struct caller *c, uint64_t args[6], int64_t *ret);
int hcall_get_debugreg(struct caller *c, uint64_t args[6], int64_t *ret);
int hcall_physdev_op(struct caller *c, uint64_t args[6], int64_t *ret);
/* grant_table_op (grant.c). */
int hcall_grant_table_op(struct caller *c, uint64_t args[6], int64_t *ret);
/* memory_op (memory.c). */
int hcall_memory_op(struct caller *c, uint64_t args[6], int64_t *ret);
/* vcpu_op (vcpu.c). */
int hcall_vcpu_op(struct caller *c, uint64_t args[6], int64_t *ret);
/* event_channel_op (evtchn.c). */
int hcall_event_channel_op(struct caller *c, uint64_t args[6], int64_t *ret);
/* set_timer_op (time.c), sched_op and sched_op_compat (sched.c). */
int hcall_set_timer_op(struct caller *c, uint64_t args[6], int64_t *ret);
int hcall_sched_op(struct caller *c, uint64_t args[6], int64_t *ret);
int hcall_sched_op_compat(struct caller *c, uint64_t args[6], int64_t *ret);
/* multicall (hypercall.c). */
int hcall_multicall(struct caller *c, uint64_t args[6], int64_t *ret);
/* The descriptor-table decoders (hcall_desc.c). */
int hcall_set_gdt(struct caller *c, uint64_t args[6], int64_t *ret);
int hcall_update_descriptor(struct caller *c, uint64_t args[6], int64_t *ret);
/* The domain and version decoders (hcall_xen.c). */
int hcall_vm_assist(struct caller *c, uint64_t args[6], int64_t *ret);
int hcall_xen_version(struct caller *c, uint64_t args[6], int64_t *ret);
int hcall_sysctl(struct caller *c, uint64_t args[6], int64_t *ret);
int hcall_domctl(struct caller *c, uint64_t args[6], int64_t *ret);

/* Domain `id`, unless it is being destroyed (as pvcore_domain_lookup(), which domain.c,
 * which calls the modules at destruction, must not be called back for). */
static inline struct domain *hc_live_domain(const struct machine *m, uint16_t id)
{
    struct domain *d = machine_domain(m, id);

    return d != NULL && !atomic_load_explicit(&d->dying, memory_order_acquire) ? d : NULL;
}
/* The domain an op names (DOMID_SELF or the caller's id, or any live one for a privileged
 * caller, as Xen's XSM_TARGET rule), or NULL if there is none. *denied: it exists but the
 * caller may not touch it. */
static inline struct domain *hc_target(const struct caller *c, uint16_t dom, bool *denied)
{
    struct domain *d;

    *denied = false;
    if (dom == PVCORE_DOMID_SELF || dom == c->d->domid) {
        return c->d;
    }
    d = hc_live_domain(c->m, dom);
    if (d != NULL && !domain_privileged(c->d)) {
        *denied = true;
    }
    return d;
}

/* Argument i as the guest's word: its low half for a 32-bit guest. */
static inline uint64_t hc_arg(const struct caller *c, const uint64_t args[6], unsigned i)
{
    return c->is32 ? (args[i] & 0xFFFFFFFFu) : args[i];
}

/* Does [gva, gva + len) fit below the top of the guest's address space? */
static inline bool hc_range_ok(const struct caller *c, uint64_t gva, uint64_t len)
{
    return guest_range_ok(c->d, gva, len);
}

/* Guest copies, with no lock held (the copy hooks' contract). */
static inline int hc_copy_in(const struct caller *c, void *dst, uint64_t gva, size_t len)
{
    if (!hc_range_ok(c, gva, len)) {
        return -PVCORE_EFAULT;
    }
    return guest_copy_from(&c->call, (struct vcpu *)(void *)c->v, dst, gva, len);
}

static inline int hc_copy_out(const struct caller *c, uint64_t gva, const void *src, size_t len)
{
    if (!hc_range_ok(c, gva, len)) {
        return -PVCORE_EFAULT;
    }
    return guest_copy_to(&c->call, (struct vcpu *)(void *)c->v, gva, src, len);
}

/* Guest scalars are x86 little-endian, whatever the host. */
static inline void hc_put_le(uint8_t *p, uint64_t val, unsigned bytes)
{
    unsigned i;

    for (i = 0; i < bytes; i++) {
        p[i] = (uint8_t)(val >> (8u * i));
    }
}

static inline uint32_t hc_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t hc_get_le64(const uint8_t *p)
{
    return (uint64_t)hc_get_le32(p) | (uint64_t)hc_get_le32(p + 4) << 32;
}

static inline int hc_read_u32(const struct caller *c, uint64_t gva, uint32_t *val)
{
    uint8_t b[4];
    int rc = hc_copy_in(c, b, gva, sizeof(b));

    if (rc == 0) {
        *val = hc_get_le32(b);
    }
    return rc;
}

static inline int hc_write_u32(const struct caller *c, uint64_t gva, uint32_t val)
{
    uint8_t b[4];

    hc_put_le(b, val, 4);
    return hc_copy_out(c, gva, b, sizeof(b));
}

#endif /* PVCORE_INTERNAL_HYPERCALL_H */
