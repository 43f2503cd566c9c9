/*
 * Fuzz target: sequences of mmu_update, mmuext_op and update_va_mapping from three domains
 * (privileged 64-bit, 64-bit, 32-bit PAE), with direct guest writes to untyped frames,
 * preemption at fuzzer-chosen points and domain destruction at arbitrary moments. The
 * oracle is the library's invariant checker after every step, and at the end every frame
 * must be free with zero counts once all domains are destroyed.
 *
 * Input: a stream of 16-byte operations (see op_decode below); trailing bytes are ignored.
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

/* An entry value: mostly frames of the domain's own pool (so deep states are reachable),
 * sometimes anything at all. */
static uint64_t entry(const uint8_t *b, unsigned d)
{
    uint64_t flags = (uint64_t)b[1] | ((uint64_t)(b[2] & 0x0F) << 8) | ((uint64_t)(b[3] & 0xF0) << 56);
    uint64_t mfn;

    switch (b[0] >> 6) {
    case 0:
    case 1:
        mfn = dom_frame(d, b[0]);
        break;
    case 2:
        mfn = dom_frame((unsigned)(b[0] % 3), b[0] >> 2);
        break;
    default:
        mfn = ((uint64_t)b[0] << 8 | b[3]) % (FRAMES + 16u);
        break;
    }
    return (mfn << 12) | flags;
}

static const uint32_t foreign_doms[8] = {
    PVCORE_DOMID_SELF, PVCORE_DOMID_SELF, PVCORE_DOMID_SELF, 0, 1, 2, PVCORE_DOMID_IO, 0x7777,
};

static void op(struct ctx *c, const uint8_t *b)
{
    unsigned d = b[0] % 3;
    uint32_t fd = foreign_doms[(b[0] >> 2) & 7];
    struct pvcore_vcpu *v;
    int rc = 0;

    if (!c->alive[d]) {
        return;
    }
    v = pvcore_domain_vcpu(c->dom[d], (b[0] >> 5) & 1);
    if (b[1] & 0x80) {
        /* Page-table owner other than self (privileged only), via foreigndom[31:16]. */
        fd |= (uint32_t)((b[1] & 3) + 1) << 16;
    }
    pvcore_host_backend_set_preempt(c->hb, b[1] & 0x40 ? (uint32_t)(b[1] & 3) + 1 : 0);
    switch (b[2] % 8) {
    case 0:
    case 1:
    case 2: {
        struct pvcore_mmu_update u[2];
        uint32_t done = 0, n = 1 + (b[3] & 1);
        unsigned k;
        for (k = 0; k < n; k++) {
            const uint8_t *q = b + 4 + 6 * k;
            u[k].ptr = (dom_frame(b[0] & 4 ? (unsigned)(q[0] % 3) : d, q[0]) << 12) |
                       ((uint64_t)(q[1] | (q[5] & 1) << 8) << 3) | (q[5] >> 5);
            u[k].val = entry(q + 2, d);
        }
        rc = pvcore_mmu_update(v, u, n, &done, fd);
        if (done > n || (rc == 0 && done != n)) {
            die("mmu_update done count", NULL);
        }
        break;
    }
    case 3:
    case 4: {
        struct pvcore_mmuext_req o;
        uint32_t done = 0;
        o.cmd = b[3] % 22;
        o.pad = 0;
        o.arg1 = b[4] & 0x80 ? (uint64_t)b[5] << 32 | b[6] : dom_frame(d, b[5]);
        o.arg2 = b[4] & 0x40 ? dom_frame(d, b[7]) : (uint64_t)b[7] << 4 | (b[8] & 0x0F);
        if (o.cmd == PVCORE_MMUEXT_INVLPG_LOCAL || o.cmd == PVCORE_MMUEXT_SET_LDT) {
            o.arg1 = (uint64_t)b[5] << 12 | (uint64_t)b[6] << 40;
        }
        if (o.cmd == PVCORE_MMUEXT_NEW_USER_BASEPTR && (b[4] & 1)) {
            o.arg1 = 0;
        }
        rc = pvcore_mmuext_op(v, &o, 1, &done, fd & 0xFFFF);
        break;
    }
    case 5: {
        uint64_t va = (uint64_t)b[4] << 21 | (uint64_t)b[5] << 12;
        if (b[6] & 0x80) {
            va = (uint64_t)b[6] << 56 | (uint64_t)b[7] << 44;
        }
        rc = pvcore_update_va_mapping(v, va, entry(b + 8, d), b[12] & 7,
                                      fd == PVCORE_DOMID_SELF ? fd : fd & 0xFFFF);
        break;
    }
    case 6: {
        /* The guest writes a page it owns directly (only meaningful while untyped). */
        uint64_t mfn = dom_frame(d, b[4]);
        struct pvcore_frame_info fi;
        if (pvcore_frame_query(c->m, mfn, &fi) == 0 && fi.owner == pvcore_domain_id(c->dom[d]) &&
            fi.type_count == 0) {
            pvcore_host_backend_frame(c->hb, mfn)[(b[5] | (b[6] & 1) << 8)] = entry(b + 7, d);
        }
        break;
    }
    default:
        if (b[3] == 0xD5) {
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
        for (i = 0; i < PER_DOM; i++) {
            if (pvcore_domain_assign(c.dom[d], dom_frame(d, i), i) != 0) {
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
        if (pvcore_frame_query(c.m, i, &fi) != 0 || fi.count != 0 || fi.type_count != 0) {
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
