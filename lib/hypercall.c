/*
 * The hypercall decoder: registers in, library calls, results and continuations out.
 *
 * Guest memory is reached only through the host's copy hooks, each call made with the
 * calling domain's MMU lock held (as mmu.c calls copy_from_guest), so a hook that walks
 * the guest's page tables sees them stable. The lock is never held across a library call.
 *
 * A batch is one call into mmu.c (one lock, one work budget, at most one TLB flush),
 * which pulls its requests through a reader that copies them out of guest memory in
 * chunks into a bounded buffer. A chunk never crosses a page boundary unless its single
 * request does: guest mappings have page granularity, so a chunk is readable whole or its
 * first request is not, and a fault leaves exactly the requests before the unreadable
 * one applied, as Xen's copy of one request at a time does.
 */
#include <pvcore/hypercall.h>
#include <pvcore/mmu.h>
#include <pvcore/version.h>

#include "internal/paging.h"

#define CHUNK 32u

/* The calling vCPU and what its word size implies. */
struct caller {
    struct pvcore_vcpu *v;
    struct domain *d;
    struct machine *m;
    bool is32;
};

static uint64_t arg(const struct caller *c, const struct pvcore_hypercall_regs *r, unsigned i)
{
    return c->is32 ? (r->arg[i] & 0xFFFFFFFFu) : r->arg[i];
}

/* Does [gva, gva + len) fit below the top of the guest's address space (2^32 or 2^64)? */
static bool range_ok(const struct caller *c, uint64_t gva, uint64_t len)
{
    if (len == 0) {
        return true;
    }
    if (c->is32) {
        return gva <= 0xFFFFFFFFu && len - 1u <= 0xFFFFFFFFu - gva;
    }
    return len - 1u <= UINT64_MAX - gva;
}

/* The copy hook, for a caller that holds the MMU lock the hooks' contract asks for. */
static int copy_in_locked(const struct caller *c, void *dst, uint64_t gva, size_t len)
{
    const struct pvcore_host_ops *ops = c->m->ops;

    if (ops->copy_from_guest == NULL || !range_ok(c, gva, len) ||
        ops->copy_from_guest(c->m->ctx, c->v, dst, gva, len) != 0) {
        return -PVCORE_EFAULT;
    }
    return 0;
}

static int copy_in(const struct caller *c, void *dst, uint64_t gva, size_t len)
{
    int rc;

    spin_lock(&c->d->mmu_lock);
    rc = copy_in_locked(c, dst, gva, len);
    spin_unlock(&c->d->mmu_lock);
    return rc;
}

static int copy_out(const struct caller *c, uint64_t gva, const void *src, size_t len)
{
    const struct pvcore_host_ops *ops = c->m->ops;
    int rc;

    if (ops->copy_to_guest == NULL || !range_ok(c, gva, len)) {
        return -PVCORE_EFAULT;
    }
    spin_lock(&c->d->mmu_lock);
    rc = ops->copy_to_guest(c->m->ctx, c->v, gva, src, len);
    spin_unlock(&c->d->mmu_lock);
    return rc != 0 ? -PVCORE_EFAULT : 0;
}

/* Guest scalars are x86 little-endian, whatever the host. */
static void put_le(uint8_t *p, uint64_t val, unsigned bytes)
{
    unsigned i;

    for (i = 0; i < bytes; i++) {
        p[i] = (uint8_t)(val >> (8u * i));
    }
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int read_u32(const struct caller *c, uint64_t gva, uint32_t *val)
{
    uint8_t b[4];
    int rc = copy_in(c, b, gva, sizeof(b));

    if (rc == 0) {
        *val = get_le32(b);
    }
    return rc;
}

static int write_u32(const struct caller *c, uint64_t gva, uint32_t val)
{
    uint8_t b[4];

    put_le(b, val, 4);
    return copy_out(c, gva, b, sizeof(b));
}

static void set_ret(const struct caller *c, struct pvcore_hypercall_regs *r, int64_t val)
{
    r->ret = c->is32 ? (uint64_t)(uint32_t)val : (uint64_t)val;
}

/* ---- mmu_update and mmuext_op ---------------------------------------------------------------- */

enum batch { BATCH_MMU, BATCH_EXT };

/*
 * Reads a batch's requests for mmu.c, a chunk at a time, into a bounded buffer. Called
 * with the MMU lock held that mmu.c took (the hooks' contract), so it copies with
 * copy_in_locked().
 */
struct reader {
    const struct caller *c;
    enum batch kind;
    uint64_t base;  /* guest address of request 0 */
    uint32_t count; /* requests in the batch */
    uint32_t size;  /* bytes per request in the guest's layout */
    uint32_t first, n; /* the buffer holds requests [first, first + n) */
    union {
        struct pvcore_mmu_update mmu[CHUNK];
        struct pvcore_mmuext_op_x86_64 ext64[CHUNK];
        struct pvcore_mmuext_op_x86_32 ext32[CHUNK];
    } raw;
};

static int reader_fill(struct reader *rd, uint32_t i)
{
    /* i < 2^31 and size <= 24: no overflow in 64 bits. */
    uint64_t off = (uint64_t)i * rd->size;
    uint64_t gva = rd->base + off; /* may wrap: range_ok() decides */
    /* 32-bit division: the core must not need a 64-bit one on i386. */
    uint32_t in_page = (PVCORE_PAGE_SIZE - (uint32_t)(gva & (PVCORE_PAGE_SIZE - 1u))) / rd->size;
    uint32_t n = rd->count - i < CHUNK ? rd->count - i : CHUNK;

    if (in_page == 0) {
        in_page = 1; /* the one request that straddles the boundary */
    }
    if (n > in_page) {
        n = in_page;
    }
    rd->first = i;
    rd->n = 0;
    /* The whole array up to this chunk must lie below the top: gva itself may have wrapped. */
    if (!range_ok(rd->c, rd->base, off + (uint64_t)n * rd->size) ||
        copy_in_locked(rd->c, &rd->raw, gva, (size_t)n * rd->size) != 0) {
        return -PVCORE_EFAULT;
    }
    rd->n = n;
    return 0;
}

static int reader_read(void *ctx, uint32_t i, void *out)
{
    struct reader *rd = ctx;
    uint32_t k;

    if (i < rd->first || i - rd->first >= rd->n) {
        int rc = reader_fill(rd, i);
        if (rc != 0) {
            return rc;
        }
    }
    k = i - rd->first;
    if (rd->kind == BATCH_MMU) {
        *(struct pvcore_mmu_update *)out = rd->raw.mmu[k];
    } else if (rd->c->is32) {
        pvcore_mmuext_from_x86_32(&rd->raw.ext32[k], 1, out);
    } else {
        pvcore_mmuext_from_x86_64(&rd->raw.ext64[k], 1, out);
    }
    return 0;
}

static int do_batch(const struct caller *c, struct pvcore_hypercall_regs *r, enum batch kind)
{
    uint64_t base = arg(c, r, 0);
    uint32_t count = (uint32_t)r->arg[1];
    uint64_t pdone = arg(c, r, 2);
    uint32_t foreigndom = (uint32_t)r->arg[3];
    uint32_t size = kind == BATCH_MMU ? (uint32_t)sizeof(struct pvcore_mmu_update)
                    : c->is32         ? (uint32_t)sizeof(struct pvcore_mmuext_op_x86_32)
                                      : (uint32_t)sizeof(struct pvcore_mmuext_op_x86_64);
    uint32_t earlier = 0; /* completed by the calls this one continues */
    uint32_t i = 0;       /* completed by this call */
    uint32_t total;
    struct reader rd;
    struct mmu_source src;
    int rc;

    if (count & PVCORE_MMU_UPDATE_PREEMPTED) {
        /* Set by our own continuation, or forged: either way the guest only learns a
         * total built on what it stored itself. If *pdone cannot be read, the previous
         * call could not write it either: the total is lost, and the final write reports
         * -EFAULT unless a request made *pdone writable meanwhile. */
        count &= ~(uint32_t)PVCORE_MMU_UPDATE_PREEMPTED;
        if (pdone != 0 && read_u32(c, pdone, &earlier) != 0) {
            earlier = 0;
        }
    }
    rd.c = c;
    rd.kind = kind;
    rd.base = base;
    rd.count = count;
    rd.size = size;
    rd.first = 0;
    rd.n = 0;
    src.array = NULL;
    src.read = reader_read;
    src.ctx = &rd;
    /* One call for the whole batch: one lock, one work budget, at most one flush. Even an
     * empty batch checks foreigndom and finishes queued teardown, as a direct call does. */
    rc = kind == BATCH_MMU ? mmu_update_source(c->v, &src, count, &i, foreigndom)
                           : mmuext_op_source(c->v, &src, count, &i, foreigndom);
    /* A forged total may wrap; it is only ever reported back. */
    total = earlier + i;
    if (rc == -PVCORE_ERESTART && !range_ok(c, base, (uint64_t)i * size + size)) {
        /* The rest of the array lies beyond the top of the address space, where an
         * uninterrupted call would have faulted: do not let the new base wrap to 0. */
        rc = -PVCORE_EFAULT;
    }
    if (rc == -PVCORE_ERESTART) {
        /* An unwritable *pdone does not stop the batch: the requests run as they would
         * without preemption, and the last call's write of the total fails the same way. */
        if (pdone != 0) {
            (void)write_u32(c, pdone, total);
        }
        r->arg[0] = c->is32 ? (base + (uint64_t)i * size) & 0xFFFFFFFFu : base + (uint64_t)i * size;
        r->arg[1] = (uint64_t)((count - i) | PVCORE_MMU_UPDATE_PREEMPTED);
        return PVCORE_HYPERCALL_RESTART;
    }
    if (pdone != 0 && write_u32(c, pdone, total) != 0 && rc == 0) {
        rc = -PVCORE_EFAULT;
    }
    set_ret(c, r, rc);
    return PVCORE_HYPERCALL_DONE;
}

/* ---- update_va_mapping ---------------------------------------------------------------------- */

static int do_update_va_mapping(const struct caller *c, struct pvcore_hypercall_regs *r,
                                bool other)
{
    uint64_t va = arg(c, r, 0);
    uint64_t val, flags, domid;
    int rc;

    if (c->is32) {
        /* A PAE entry is 64 bits wide: low half, then high half (NX is bit 63). */
        val = arg(c, r, 1) | arg(c, r, 2) << 32;
        flags = arg(c, r, 3);
        domid = arg(c, r, 4);
    } else {
        val = arg(c, r, 1);
        flags = arg(c, r, 2);
        domid = arg(c, r, 3);
    }
    /* The ABI's domid_t is 16 bits wide. */
    rc = pvcore_update_va_mapping(c->v, va, val, flags,
                                  other ? (uint32_t)(domid & 0xFFFFu) : PVCORE_DOMID_SELF);
    if (rc == -PVCORE_ERESTART) {
        /* Only queued teardown ran: the same call again does the update. */
        return PVCORE_HYPERCALL_RESTART;
    }
    set_ret(c, r, rc);
    return PVCORE_HYPERCALL_DONE;
}

/* ---- xen_version ---------------------------------------------------------------------------- */

static const char extraversion[PVCORE_XEN_EXTRAVERSION_LEN] = PVCORE_XEN_EXTRAVERSION;
static const char capabilities[PVCORE_XEN_CAPABILITIES_INFO_LEN] = PVCORE_XEN_CAPABILITIES;
static const char changeset[PVCORE_XEN_CHANGESET_INFO_LEN] = "libpvcore " PVCORE_VERSION_STRING;
/* No build host, user or date is recorded, so that builds are reproducible. */
static const struct pvcore_xen_compile_info compile_info = { "libpvcore " PVCORE_VERSION_STRING,
                                                             "", "", "" };
static const uint8_t zeros[PVCORE_XEN_COMMANDLINE_LEN];

/* XENVER_get_features word 0: exactly the optional interfaces the library implements. */
static uint32_t features(const struct domain *d)
{
    /* MMU_PT_UPDATE_PRESERVE_AD, and MMUEXT_CLEAR_PAGE / MMUEXT_COPY_PAGE ("highmem
     * assist"). */
    uint32_t f = (1u << PVCORE_XENFEAT_mmu_pt_update_preserve_ad) |
                 (1u << PVCORE_XENFEAT_highmem_assist);

    /* A PAE L3 may lie above 4 GiB once the guest said it copes, as Xen reports it. */
    if (d->vmassist & (1u << PVCORE_VMASST_TYPE_pae_extended_cr3)) {
        f |= 1u << PVCORE_XENFEAT_pae_pgdir_above_4gb;
    }
    return f;
}

static int64_t xen_version(const struct caller *c, uint32_t cmd, uint64_t argp)
{
    switch (cmd) {
    case PVCORE_XENVER_version:
        return (int64_t)((uint32_t)PVCORE_XEN_VERSION_MAJOR << 16 | PVCORE_XEN_VERSION_MINOR);
    case PVCORE_XENVER_extraversion:
        return copy_out(c, argp, extraversion, sizeof(extraversion));
    case PVCORE_XENVER_compile_info:
        return copy_out(c, argp, &compile_info, sizeof(compile_info));
    case PVCORE_XENVER_capabilities:
        return copy_out(c, argp, capabilities, sizeof(capabilities));
    case PVCORE_XENVER_changeset:
        return copy_out(c, argp, changeset, sizeof(changeset));
    case PVCORE_XENVER_platform_parameters: {
        /* virt_start is the guest's xen_ulong_t: 4 or 8 bytes. */
        uint8_t b[8];
        if (c->is32) {
            put_le(b, PVCORE_HYPERVISOR_VIRT_START_X86_32, 4);
            return copy_out(c, argp, b, 4);
        }
        put_le(b, PVCORE_HYPERVISOR_VIRT_START_X86_64, 8);
        return copy_out(c, argp, b, 8);
    }
    case PVCORE_XENVER_get_features: {
        /* { submap_idx, submap }: read the index, write back both. */
        uint8_t b[sizeof(struct pvcore_xen_feature_info)];
        int rc = copy_in(c, b, argp, sizeof(b));
        if (rc != 0) {
            return rc;
        }
        if (get_le32(b) >= PVCORE_XENFEAT_NR_SUBMAPS) {
            return -PVCORE_EINVAL;
        }
        put_le(b + 4, features(c->d), 4);
        return copy_out(c, argp, b, sizeof(b));
    }
    case PVCORE_XENVER_pagesize:
        return PVCORE_PAGE_SIZE;
    case PVCORE_XENVER_guest_handle:
        /* The library keeps no domain handle: all zeros, as for a domain given none. */
        return copy_out(c, argp, zeros, sizeof(pvcore_xen_domain_handle_t));
    case PVCORE_XENVER_commandline:
        if (!domain_privileged(c->d)) {
            return -PVCORE_EPERM;
        }
        /* The library has no command line of its own: an empty string. */
        return copy_out(c, argp, zeros, PVCORE_XEN_COMMANDLINE_LEN);
    case PVCORE_XENVER_build_id: {
        uint32_t len;
        int rc;
        if (!domain_privileged(c->d)) {
            return -PVCORE_EPERM;
        }
        /* A null buffer asks for the size; otherwise its length must not be 0. Either
         * way there is no build id to give. */
        if (argp != 0) {
            rc = read_u32(c, argp, &len);
            if (rc != 0) {
                return rc;
            }
            if (len == 0) {
                return -PVCORE_EINVAL;
            }
        }
        return -PVCORE_ENODATA;
    }
    default:
        return -PVCORE_ENOSYS;
    }
}

/* ---- dispatch ------------------------------------------------------------------------------- */

int pvcore_hypercall(struct pvcore_vcpu *v, struct pvcore_hypercall_regs *r)
{
    struct caller c;
    uint64_t nr;

    c.v = v;
    c.d = vcpu_domain(v);
    c.m = c.d->m;
    c.is32 = domain_is_32(c.d);
    nr = c.is32 ? (r->nr & 0xFFFFFFFFu) : r->nr;

    switch (nr) {
    case PVCORE_HYPERVISOR_mmu_update:
        return do_batch(&c, r, BATCH_MMU);
    case PVCORE_HYPERVISOR_mmuext_op:
        return do_batch(&c, r, BATCH_EXT);
    case PVCORE_HYPERVISOR_update_va_mapping:
        return do_update_va_mapping(&c, r, false);
    case PVCORE_HYPERVISOR_update_va_mapping_otherdomain:
        return do_update_va_mapping(&c, r, true);
    case PVCORE_HYPERVISOR_vm_assist:
        set_ret(&c, r,
                pvcore_domain_vm_assist((struct pvcore_domain *)(void *)c.d,
                                        (uint32_t)r->arg[0], (uint32_t)r->arg[1]));
        return PVCORE_HYPERCALL_DONE;
    case PVCORE_HYPERVISOR_xen_version:
        set_ret(&c, r, xen_version(&c, (uint32_t)r->arg[0], arg(&c, r, 1)));
        return PVCORE_HYPERCALL_DONE;
    default:
        /* Including console_io, sched_op and every number >= 64: the embedder's. */
        return PVCORE_HYPERCALL_UNHANDLED;
    }
}
