/*
 * The MMU module's hypercall decoder: mmu_update, mmuext_op, update_va_mapping and
 * update_va_mapping_otherdomain, from registers to the MMU calls and back.
 *
 * A batch is one call into mmu.c (one work budget, at most one TLB flush), which pulls
 * its requests through a reader that copies them out of guest memory in chunks into a
 * bounded buffer, letting go of the batch's lock around each copy. A chunk never crosses
 * a page boundary unless its single request does: guest mappings have page granularity,
 * so a chunk is readable whole or its first request is not, and a fault leaves exactly
 * the requests before the unreadable one applied, as Xen's copy of one request at a time
 * does.
 */
#include "internal/hypercall.h"
#include "internal/mmu.h"

#define CHUNK 32u

/* ---- mmu_update and mmuext_op ---------------------------------------------------------------- */

enum batch { BATCH_MMU, BATCH_EXT };

/*
 * Reads a batch's requests for mmu.c, a chunk at a time, into a bounded buffer. Called
 * with the lock mmu.c took for the batch, which it lets go around the copy.
 */
struct reader {
    const struct caller *c;
    enum batch kind;
    uint64_t base;  /* guest address of request 0 */
    uint32_t count; /* requests in the batch */
    uint32_t size;  /* bytes per request in the guest's layout */
    uint32_t first, n; /* the buffer holds requests [first, first + n) */
    union {
        pvcore_mmu_update_t mmu[CHUNK];
        struct pvcore_mmuext_op_x86_64 ext64[CHUNK];
        struct pvcore_mmuext_op_x86_32 ext32[CHUNK];
    } raw;
};

static int reader_fill(struct reader *rd, struct mmu_call *mc, uint32_t i)
{
    int rc;
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
    if (!hc_range_ok(rd->c, rd->base, off + (uint64_t)n * rd->size)) {
        return -PVCORE_EFAULT;
    }
    mmu_call_unlock(mc);
    rc = hc_copy_in(rd->c, &rd->raw, gva, (size_t)n * rd->size);
    mmu_call_relock(mc);
    if (rc != 0) {
        return -PVCORE_EFAULT;
    }
    rd->n = n;
    return 0;
}

static int reader_read(void *ctx, struct mmu_call *mc, uint32_t i, void *out)
{
    struct reader *rd = ctx;
    uint32_t k;

    if (i < rd->first || i - rd->first >= rd->n) {
        int rc = reader_fill(rd, mc, i);
        if (rc != 0) {
            return rc;
        }
    }
    k = i - rd->first;
    if (rd->kind == BATCH_MMU) {
        *(pvcore_mmu_update_t *)out = rd->raw.mmu[k];
    } else if (rd->c->is32) {
        pvcore_mmuext_from_x86_32(&rd->raw.ext32[k], 1, out);
    } else {
        pvcore_mmuext_from_x86_64(&rd->raw.ext64[k], 1, out);
    }
    return 0;
}

static int do_batch(struct caller *c, uint64_t args[6], int64_t *ret, enum batch kind)
{
    uint64_t base = hc_arg(c, args, 0);
    uint32_t count = (uint32_t)args[1];
    uint64_t pdone = hc_arg(c, args, 2);
    uint32_t foreigndom = (uint32_t)args[3];
    uint32_t size = kind == BATCH_MMU ? (uint32_t)sizeof(pvcore_mmu_update_t)
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
        if (pdone != 0 && hc_read_u32(c, pdone, &earlier) != 0) {
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
    /* One call for the whole batch: one work budget, at most one flush. Even an empty
     * batch checks foreigndom and finishes queued teardown, as a direct call does. */
    rc = kind == BATCH_MMU ? mmu_update_source(&c->call, c->v, &src, count, &i, foreigndom)
                           : mmuext_op_source(&c->call, c->v, &src, count, &i, foreigndom);
    /* A forged total may wrap; it is only ever reported back. */
    total = earlier + i;
    if (rc == -PVCORE_ERESTART && !hc_range_ok(c, base, (uint64_t)i * size + size)) {
        /* The rest of the array lies beyond the top of the address space, where an
         * uninterrupted call would have faulted: do not let the new base wrap to 0. */
        rc = -PVCORE_EFAULT;
    }
    if (rc == -PVCORE_ERESTART) {
        /* An unwritable *pdone does not stop the batch: the requests run as they would
         * without preemption, and the last call's write of the total fails the same way. */
        if (pdone != 0) {
            (void)hc_write_u32(c, pdone, total);
        }
        args[0] = c->is32 ? (base + (uint64_t)i * size) & 0xFFFFFFFFu : base + (uint64_t)i * size;
        args[1] = (uint64_t)((count - i) | PVCORE_MMU_UPDATE_PREEMPTED);
        return PVCORE_HYPERCALL_RESTART;
    }
    if (pdone != 0 && hc_write_u32(c, pdone, total) != 0 && rc == 0) {
        rc = -PVCORE_EFAULT;
    }
    *ret = rc;
    return PVCORE_HYPERCALL_DONE;
}

int hcall_mmu_update(struct caller *c, uint64_t args[6], int64_t *ret)
{
    return do_batch(c, args, ret, BATCH_MMU);
}

int hcall_mmuext_op(struct caller *c, uint64_t args[6], int64_t *ret)
{
    return do_batch(c, args, ret, BATCH_EXT);
}

/* ---- update_va_mapping ---------------------------------------------------------------------- */

static int do_update_va_mapping(struct caller *c, uint64_t args[6], int64_t *ret, bool other)
{
    uint64_t va = hc_arg(c, args, 0);
    uint64_t val, flags, domid;
    int rc;

    if (c->is32) {
        /* A PAE entry is 64 bits wide: low half, then high half (NX is bit 63). */
        val = hc_arg(c, args, 1) | hc_arg(c, args, 2) << 32;
        flags = hc_arg(c, args, 3);
        domid = hc_arg(c, args, 4);
    } else {
        val = hc_arg(c, args, 1);
        flags = hc_arg(c, args, 2);
        domid = hc_arg(c, args, 3);
    }
    /* The ABI's domid_t is 16 bits wide. */
    rc = mmu_update_va_mapping(&c->call, c->v, va, val, flags,
                               other ? (uint32_t)(domid & 0xFFFFu) : PVCORE_DOMID_SELF);
    if (rc == -PVCORE_ERESTART) {
        /* Only queued teardown ran: the same call again does the update. */
        return PVCORE_HYPERCALL_RESTART;
    }
    *ret = rc;
    return PVCORE_HYPERCALL_DONE;
}

int hcall_update_va_mapping(struct caller *c, uint64_t args[6], int64_t *ret)
{
    return do_update_va_mapping(c, args, ret, false);
}

int hcall_update_va_mapping_otherdomain(struct caller *c, uint64_t args[6], int64_t *ret)
{
    return do_update_va_mapping(c, args, ret, true);
}

