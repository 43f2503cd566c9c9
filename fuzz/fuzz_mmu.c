/*
 * Fuzz target: sequences of mmu_update, mmuext_op and update_va_mapping from three domains
 * (privileged 64-bit, 64-bit, 32-bit PAE), with direct guest writes to untyped frames,
 * preemption at fuzzer-chosen points and domain destruction at arbitrary moments. The
 * oracle is the library's invariant checker after every step, and at the end every frame
 * must be free with zero counts once all domains are destroyed. A refusal hook
 * (<pvcore/trace.h>) checks that every refused call names exactly one rule, with the error
 * it returned, and that no other call reports one.
 *
 * Input: one byte (the work budget: 8 + 4 * b), then 16-byte operations (see op());
 * trailing bytes are ignored. fuzz/gen_seeds.py writes the seed corpus in this format.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/pvcore.h>
#include <pvcore/host_backend.h>

#define FRAMES 192u
#define PER_DOM 56u /* frames 8..8+3*56 are handed out, 56 per domain */

struct ctx {
    struct pvcore_host_backend *hb;
    struct pvcore_machine *m;
    struct pvcore_domain *dom[3];
    void *mem[3];
    int alive[3];
    void *scratch;
    size_t scratch_len;
};

static void die(const char *what, const struct pvcore_check_report *r)
{
    fprintf(stderr, "fuzz_mmu: %s: %s at mfn %llu (expected %llu, actual %llu)\n", what,
            r ? pvcore_check_code_name(r->code) : "-", r ? (unsigned long long)r->mfn : 0ull,
            r ? (unsigned long long)r->expected : 0ull, r ? (unsigned long long)r->actual : 0ull);
    abort();
}

static void check(struct ctx *c)
{
    struct pvcore_check_report r;
    if (pvcore_check_invariants(c->m, c->scratch, c->scratch_len, &r) != 0) {
        die("invariant violated", &r);
    }
}

static uint64_t dom_frame(unsigned d, unsigned idx)
{
    return 8u + d * PER_DOM + idx % PER_DOM;
}

#include "fuzz_entry.h"

/* What the refusal hook saw during the current operation. */
static struct {
    unsigned n;
    struct pvcore_refusal r;
} refusals;

static void on_refusal(void *ctx, struct pvcore_vcpu *v, const struct pvcore_refusal *r)
{
    (void)ctx;
    (void)v;
    refusals.n++;
    refusals.r = *r;
}

/* A call returned rc: a refusal must have been reported once, naming its rule. */
static void check_refusal(int rc)
{
    if (rc < 0 && rc != -PVCORE_ERESTART) {
        if (refusals.n != 1 || refusals.r.code == PVCORE_REFUSAL_NONE ||
            refusals.r.code >= PVCORE_REFUSAL_COUNT || refusals.r.err != rc) {
            fprintf(stderr, "fuzz_mmu: rc %d: %u refusals reported, code %u (%s), err %d\n", rc,
                    refusals.n, refusals.r.code, pvcore_trace_reason_name(refusals.r.code),
                    refusals.r.err);
            abort();
        }
    } else if (refusals.n != 0) {
        fprintf(stderr, "fuzz_mmu: rc %d but a refusal was reported: %s\n", rc,
                pvcore_trace_reason_name(refusals.r.code));
        abort();
    }
    refusals.n = 0;
}

static const uint32_t foreign_doms[8] = {
    PVCORE_DOMID_SELF, PVCORE_DOMID_SELF, PVCORE_DOMID_SELF, 0, 1, 2, PVCORE_DOMID_IO, 0x7777,
};

/*
 * One 16-byte operation:
 *   b[0]  domain index (% 3)
 *   b[1]  bit 0: vCPU 1; bits 1-3: foreign domain selector; bit 4: name a page-table
 *         owner, bits 5-6 its index; bit 7: force preemption every b[2] % 4 + 1 checks
 *   b[3]  operation (% 8): 0-2 mmu_update, 3-4 mmuext_op, 5 update_va_mapping,
 *         6 a direct guest write to an untyped frame, 7 destroy (if b[4] == 0xD5)
 *   b[4..15] arguments, see each case.
 */
static void op(struct ctx *c, const uint8_t *b)
{
    unsigned d = b[0] % 3;
    uint32_t fd = foreign_doms[(b[1] >> 1) & 7];
    struct pvcore_vcpu *v;
    int rc = 0;

    if (!c->alive[d]) {
        return;
    }
    v = pvcore_domain_vcpu(c->dom[d], b[1] & 1);
    if (b[1] & 0x10) {
        fd |= (uint32_t)(((b[1] >> 5) & 3) + 1) << 16;
    }
    pvcore_host_backend_set_preempt(c->hb, (b[1] & 0x80) ? (uint32_t)(b[2] % 4) + 1 : 0);
    switch (b[3] % 8) {
    case 0:
    case 1:
    case 2: {
        /* Requests at b[4] and b[10]: [table frame][slot low][slot bit 8 | cmd << 5][entry] */
        pvcore_mmu_update_t u[2];
        uint32_t done = 0, n = 1 + (b[3] >> 7);
        unsigned k;
        for (k = 0; k < n; k++) {
            const uint8_t *q = b + 4 + 6 * k;
            u[k].ptr = (frame_sel(q[0], q[5], d) << 12) |
                       ((uint64_t)(q[1] | (q[2] & 1u) << 8) << 3) | (uint64_t)(q[2] >> 5);
            u[k].val = entry(q + 3, d);
        }
        rc = pvcore_mmu_update(v, u, n, &done, fd);
        if (done > n || (rc == 0 && done != n)) {
            die("mmu_update done count", NULL);
        }
        break;
    }
    case 3:
    case 4: {
        /* [cmd][arg1 frame][arg1 extra][arg2 frame][arg2 extra][mode] */
        struct pvcore_mmuext_req o;
        uint32_t done = 0;
        o.cmd = b[4] % 22;
        o.pad = 0;
        o.arg1 = frame_sel(b[5], b[6], d);
        o.arg2 = frame_sel(b[7], b[8], d);
        switch (b[9] % 4) {
        case 1: /* a linear address, page aligned or not */
            o.arg1 = (uint64_t)b[5] << 12 | (uint64_t)b[6] << 40 | (b[10] & 7u);
            o.arg2 = (uint64_t)b[7] << 6 | b[8];
            break;
        case 2: /* zero (clears the user base pointer) */
            o.arg1 = 0;
            break;
        case 3: /* anything */
            o.arg1 = (uint64_t)b[5] << 56 | (uint64_t)b[6] << 24 | b[10];
            o.arg2 = (uint64_t)b[7] << 48 | b[8];
            break;
        default:
            break;
        }
        rc = pvcore_mmuext_op(v, &o, 1, &done, fd & 0xFFFFu);
        break;
    }
    case 5: {
        /* [va: l2 slot][va: l1 slot][va mode][entry][uvmf flags] */
        uint64_t va = (uint64_t)b[4] << 21 | (uint64_t)b[5] << 12;
        if (b[6] & 0x80) {
            va = (uint64_t)b[6] << 56 | (uint64_t)b[5] << 44 | (uint64_t)b[4] << 12;
        }
        rc = pvcore_update_va_mapping(v, va, entry(b + 7, d), b[10] & 7u,
                                      fd == PVCORE_DOMID_SELF ? fd : fd & 0xFFFFu);
        break;
    }
    case 6: {
        /* [frame][slot low][slot bit 8][entry]: the guest writes a page it owns directly
         * (only possible while the page is not typed). */
        uint64_t mfn = dom_frame(d, b[4]);
        struct pvcore_frame_info fi;
        if (pvcore_frame_query(c->m, pvcore_mfn(mfn), &fi) == 0 && fi.owner == pvcore_domain_id(c->dom[d]) &&
            fi.type_count == 0) {
            pvcore_host_backend_frame(c->hb, pvcore_mfn(mfn))[(b[5] | (b[6] & 1u) << 8)] = entry(b + 7, d);
        }
        break;
    }
    default:
        if (b[4] == 0xD5) {
            /* Destroy in whatever state the domain is in. */
            do {
                rc = pvcore_domain_destroy(c->dom[d]);
            } while (rc == -PVCORE_ERESTART);
            if (rc != 0 && rc != -PVCORE_EBUSY) {
                die("destroy", NULL);
            }
            c->alive[d] = 0;
            rc = 0;
        }
        break;
    }
    if (rc > 0) {
        die("positive return", NULL);
    }
    if (b[3] % 8 <= 5) {
        check_refusal(rc);
    }
    refusals.n = 0;
    check(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctx c;
    unsigned d, i;
    size_t off;

    memset(&c, 0, sizeof(c));
    if (pvcore_host_backend_create(FRAMES, 4, size > 0 ? 8u + data[0] * 4u : 0u, 0, &c.hb) != 0) {
        abort();
    }
    c.m = pvcore_host_backend_machine(c.hb);
    pvcore_trace_set_refusal_hook(c.m, on_refusal, NULL);
    refusals.n = 0;
    /* Frames 0-7 are never handed out; 2 and 3 belong to the hypervisor (DOMID_XEN). */
    if (pvcore_frame_reserve_xen(c.m, pvcore_mfn(2), 2) != 0) {
        abort();
    }
    c.scratch_len = pvcore_check_scratch_size(c.m);
    c.scratch = malloc(c.scratch_len);
    for (d = 0; d < 3; d++) {
        struct pvcore_domain_config cfg = { (uint16_t)d, 2,
                                            d == 0 ? PVCORE_DOMAIN_PRIVILEGED
                                                   : (d == 2 ? PVCORE_DOMAIN_GUEST_32 : 0u),
                                            PER_DOM };
        size_t sz = pvcore_domain_size(2);
        c.mem[d] = malloc(sz);
        if (c.mem[d] == NULL || pvcore_domain_create(c.m, c.mem[d], sz, &cfg, &c.dom[d]) != 0) {
            abort();
        }
        c.alive[d] = 1;
        if (d < 2 && pvcore_domain_iomem_permit(c.dom[d], pvcore_mfn(FRAMES), pvcore_mfn(FRAMES + 7), 1) != 0) {
            abort();
        }
        for (i = 0; i < PER_DOM; i++) {
            if (pvcore_domain_assign(c.dom[d], pvcore_mfn(dom_frame(d, i)), pvcore_gfn(i)) != 0) {
                abort();
            }
        }
    }
    for (off = 1; off + 16 <= size; off += 16) {
        op(&c, data + off);
    }
    /* Destroy everything: every frame must come back free. Busy domains are retried
     * after the others are gone. */
    for (i = 0; i < 2; i++) {
        for (d = 0; d < 3; d++) {
            int rc;
            do {
                rc = pvcore_domain_destroy(c.dom[d]);
            } while (rc == -PVCORE_ERESTART);
            if (rc != 0 && (i == 1 || rc != -PVCORE_EBUSY)) {
                die("final destroy", NULL);
            }
        }
    }
    check(&c);
    for (i = 0; i < FRAMES; i++) {
        struct pvcore_frame_info fi;
        if (pvcore_frame_query(c.m, pvcore_mfn(i), &fi) != 0) {
            die("query", NULL);
        }
        if (fi.owner == PVCORE_DOMID_XEN ? (fi.count != 1 || fi.type_count != 0)
                                         : (fi.count != 0 || fi.type_count != 0)) {
            die("frame not free after destroying every domain", NULL);
        }
    }
    for (d = 0; d < 3; d++) {
        free(c.mem[d]);
    }
    free(c.scratch);
    pvcore_host_backend_destroy(c.hb);
    return 0;
}
