/*
 * Fuzz target: the library against the reference model in model.c. Every operation runs
 * on both: on the library with forced preemption and a small work budget, re-issued as a
 * hypercall continuation until it completes, then with any queued teardown finished; on
 * the model in one go. The result codes must be equal, and so must every frame's owner,
 * counts, type, pin, linear accounting and contents.
 *
 * Input: one byte (work budget 1 + b), then 12-byte operations:
 *   b[0] domain (% 3) | vCPU (bit 7);  b[1] kind (% 6) | foreign selector (bits 4-6)
 *   b[2..11] arguments (see each case).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/pvcore.h>
#include <pvcore/host_backend.h>

#include "model.h"

#define PER_DOM 28u

static struct model M;

struct lib {
    struct pvcore_host_backend *hb;
    struct pvcore_machine *m;
    struct pvcore_domain *dom[M_DOMS];
    void *mem[M_DOMS];
};

static void fail(const char *what, long a, long b)
{
    fprintf(stderr, "fuzz_model: %s (%ld vs %ld)\n", what, a, b);
    abort();
}

static uint64_t pool(unsigned d, unsigned i)
{
    return 8u + d * PER_DOM + i % PER_DOM;
}

static uint64_t frame_sel(uint8_t b, unsigned d)
{
    switch (b >> 6) {
    case 0:
    case 1:
        return pool(d, b);
    case 2:
        return pool(b % 3u, b >> 2);
    default:
        return (b & 0x3Fu) + (b & 0x20u ? M_FRAMES - 32u : 0u); /* low frames, xen, I/O */
    }
}

static const uint64_t flag_sets[16] = {
    0x001, 0x003, 0x007, 0x005, 0x061, 0x067, 0x000, 0x8000000000000003ull,
    0x101, 0x019, 0x081, 0x013, 0x027, 0x063, 0x023, 0x002,
};

static uint64_t entry(const uint8_t *e, unsigned d)
{
    uint64_t flags = e[1] < 0xF0 ? flag_sets[e[1] % 16] : ((uint64_t)e[1] & 0xFF) | 0x7FF0000000000000ull;
    return (frame_sel(e[0], d) << 12) | flags;
}

static const uint32_t foreign_doms[8] = {
    PVCORE_DOMID_SELF, PVCORE_DOMID_SELF, PVCORE_DOMID_SELF, 0, 1, 2, PVCORE_DOMID_IO,
    PVCORE_DOMID_XEN,
};

static void settle(struct lib *L)
{
    unsigned d;
    for (d = 0; d < M_DOMS; d++) {
        struct pvcore_mmuext_req op = { PVCORE_MMUEXT_TLB_FLUSH_LOCAL, 0, 0, 0 };
        int rc;
        unsigned n = 0;
        do {
            rc = pvcore_mmuext_op(pvcore_domain_vcpu(L->dom[d], 0), &op, 1, NULL, PVCORE_DOMID_SELF);
        } while (rc == -PVCORE_ERESTART && ++n < 1000000);
        if (rc != 0) {
            fail("settle", rc, 0);
        }
    }
}

static void compare(struct lib *L)
{
    uint64_t mfn;
    for (mfn = 0; mfn < M_FRAMES; mfn++) {
        const struct mframe *mf = &M.f[mfn];
        struct pvcore_frame_info fi;
        const uint64_t *page = pvcore_host_backend_frame(L->hb, pvcore_mfn(mfn));
        if (pvcore_frame_query(L->m, pvcore_mfn(mfn), &fi) != 0) {
            fail("query", (long)mfn, 0);
        }
        if (fi.owner != mf->owner) {
            fail("owner", fi.owner, mf->owner);
        }
        if (fi.count != mf->count) {
            fprintf(stderr, "mfn %llu\n", (unsigned long long)mfn);
            fail("general count", fi.count, mf->count);
        }
        if (fi.type_count != mf->tcount) {
            fprintf(stderr, "mfn %llu\n", (unsigned long long)mfn);
            fail("type count", fi.type_count, mf->tcount);
        }
        if (fi.type != mf->type) {
            fprintf(stderr, "mfn %llu\n", (unsigned long long)mfn);
            fail("type", fi.type, mf->type);
        }
        if (!!(fi.flags & PVCORE_FRAME_PINNED) != mf->pinned) {
            fail("pinned", fi.flags, mf->pinned);
        }
        if (!!(fi.flags & PVCORE_FRAME_PAE_XEN_L2) != mf->xen_l2) {
            fail("pae xen l2", fi.flags, mf->xen_l2);
        }
        if (fi.linear != mf->linear) {
            fail("linear", fi.linear, mf->linear);
        }
        if (fi.flags & (PVCORE_FRAME_PARTIAL | PVCORE_FRAME_TEARDOWN)) {
            fail("unsettled frame", (long)mfn, fi.flags);
        }
        if (memcmp(page, mf->pte, 4096) != 0) {
            unsigned i;
            for (i = 0; i < 512 && page[i] == mf->pte[i]; i++) {
            }
            fprintf(stderr, "mfn %llu slot %u: lib %#llx model %#llx\n", (unsigned long long)mfn, i,
                    (unsigned long long)page[i], (unsigned long long)mf->pte[i]);
            fail("contents", (long)mfn, (long)i);
        }
    }
}

static void setup(struct lib *L, uint32_t budget)
{
    unsigned d, i;

    model_init(&M);
    if (pvcore_host_backend_create(M_FRAMES, M_DOMS, budget, 0, &L->hb) != 0) {
        abort();
    }
    L->m = pvcore_host_backend_machine(L->hb);
    if (pvcore_frame_reserve_xen(L->m, pvcore_mfn(2), 2) != 0) {
        abort();
    }
    for (i = 2; i < 4; i++) {
        M.f[i].owner = 0x7FF2;
        M.f[i].alloc = true;
        M.f[i].count = 1;
    }
    for (d = 0; d < M_DOMS; d++) {
        struct pvcore_domain_config cfg = { (uint16_t)d, 2,
                                            d == 0 ? PVCORE_DOMAIN_PRIVILEGED
                                                   : (d == 2 ? PVCORE_DOMAIN_GUEST_32 : 0u),
                                            PER_DOM };
        L->mem[d] = malloc(pvcore_domain_size(2));
        if (L->mem[d] == NULL ||
            pvcore_domain_create(L->m, L->mem[d], pvcore_domain_size(2), &cfg, &L->dom[d]) != 0) {
            abort();
        }
        M.d[d].exists = true;
        M.d[d].priv = d == 0;
        M.d[d].is32 = d == 2;
        for (i = 0; i < PER_DOM; i++) {
            if (pvcore_domain_assign(L->dom[d], pvcore_mfn(pool(d, i)), pvcore_gfn(pool(d, i))) != 0 ||
                model_assign(&M, d, pool(d, i)) != 0) {
                abort();
            }
        }
    }
    /* Domain 1 may map I/O frames M_FRAMES .. M_FRAMES + 3. */
    if (pvcore_domain_iomem_permit(L->dom[1], pvcore_mfn(M_FRAMES), pvcore_mfn(M_FRAMES + 3), 1) != 0) {
        abort();
    }
    M.d[1].io_first = M_FRAMES;
    M.d[1].io_last = M_FRAMES + 3;
}

static void op(struct lib *L, const uint8_t *b)
{
    unsigned d = b[0] % 3, v = b[0] >> 7;
    uint32_t fd = foreign_doms[(b[1] >> 4) & 7];
    struct pvcore_vcpu *vc = pvcore_domain_vcpu(L->dom[d], v);
    int rl = 0, rm = 0;

    pvcore_host_backend_set_preempt(L->hb, b[1] & 0x80 ? 1u + (b[11] & 3u) : 0u);
    switch (b[1] % 6) {
    case 0:
    case 1: {
        /* [table][slot lo][slot hi | cmd][entry 2][pfd] */
        pvcore_mmu_update_t u;
        uint32_t done = 0;
        uint32_t f = fd | (b[7] & 0x80 ? ((uint32_t)(b[7] % 3u) + 1u) << 16 : 0u);
        u.ptr = (frame_sel(b[2], d) << 12) | ((uint64_t)(b[3] | (b[4] & 1u) << 8) << 3) |
                (uint64_t)(b[4] >> 5);
        u.val = entry(b + 5, d);
        while ((rl = pvcore_mmu_update(vc, &u, 1, &done, f)) == -PVCORE_ERESTART && done == 0) {
        }
        rm = model_mmu_update(&M, d, v, u.ptr, u.val, f);
        break;
    }
    case 2:
    case 3: {
        /* [cmd][arg1 sel][arg2 sel][mode][raw] */
        static const uint32_t cmds[] = { 0, 1, 2, 3, 4, 5, 15, 6, 7, 8, 9, 10, 11, 12, 13, 16,
                                         17, 18, 19, 20, 14, 21 };
        struct pvcore_mmuext_req o;
        o.cmd = cmds[b[2] % (sizeof(cmds) / sizeof(cmds[0]))];
        o.pad = 0;
        o.arg1 = frame_sel(b[3], d);
        o.arg2 = frame_sel(b[4], d);
        if (b[5] % 4 == 1) {
            o.arg1 = (uint64_t)b[3] << 12 | (uint64_t)(b[6] & 0x80) << 40 | (b[6] & 7u);
            o.arg2 = (uint64_t)b[4] << 12 | (b[6] & 0x78u);
        } else if (b[5] % 4 == 2) {
            o.arg1 = 0;
        } else if (b[5] % 4 == 3) {
            o.arg2 = (uint64_t)b[4] << 4 | (b[6] & 0x0Fu);
        }
        while ((rl = pvcore_mmuext_op(vc, &o, 1, NULL, fd)) == -PVCORE_ERESTART) {
        }
        rm = model_mmuext(&M, d, v, o.cmd, o.arg1, o.arg2, fd);
        break;
    }
    case 4: {
        /* [va l2][va l1][entry 2][flags][va mode] */
        uint64_t va = (uint64_t)(b[2] & 0x0F) << 21 | (uint64_t)b[3] << 12;
        uint64_t val = entry(b + 4, d);
        uint64_t flags = b[6] & 7u;
        if (b[7] & 1) {
            va |= (uint64_t)b[7] << 40;
        }
        if ((b[6] & 0x30) == 0x30) {
            flags |= (uint64_t)b[8] << 12; /* a guest pointer to a vCPU bitmap */
        }
        while ((rl = pvcore_update_va_mapping(vc, va, val, flags, fd)) == -PVCORE_ERESTART) {
        }
        rm = model_uvm(&M, d, v, va, val, flags, fd);
        break;
    }
    default: {
        /* The guest writes a frame of its own that has no type: [frame][slot lo][slot hi][entry 2] */
        uint64_t mfn = pool(d, b[2]);
        unsigned slot = b[3] | (b[4] & 1u) << 8;
        uint64_t val = entry(b + 5, d);
        struct pvcore_frame_info fi;
        if (pvcore_frame_query(L->m, pvcore_mfn(mfn), &fi) != 0) {
            abort();
        }
        if (fi.type_count == 0 && fi.owner == d) {
            pvcore_host_backend_frame(L->hb, pvcore_mfn(mfn))[slot] = val;
        }
        if (M.f[mfn].tcount == 0 && M.f[mfn].owner == d) {
            M.f[mfn].pte[slot] = val;
        }
        break;
    }
    }
    if (rl != rm) {
        fprintf(stderr, "op kind %u dom %u: library %d (%s), model %d (%s)\n", b[1] % 6, d, rl,
                pvcore_strerror(rl), rm, pvcore_strerror(rm));
        fail("result code", rl, rm);
    }
    pvcore_host_backend_set_preempt(L->hb, 0);
    settle(L);
    compare(L);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lib L;
    size_t off;
    unsigned d;

    memset(&L, 0, sizeof(L));
    setup(&L, size > 0 ? 1u + data[0] : 0u);
    compare(&L);
    for (off = 1; off + 12 <= size; off += 12) {
        op(&L, data + off);
    }
    for (d = 0; d < M_DOMS; d++) {
        free(L.mem[d]);
    }
    pvcore_host_backend_destroy(L.hb);
    return 0;
}
