/*
 * Fuzz target: the invariant checker on arbitrary frame-table states. The input is laid
 * directly into the frame table (every field of every frame), the machine memory the
 * tables live in, and the domains' base pointers, as a corrupted or malicious state would
 * look. The checker must never crash or read out of bounds, whatever it finds; and on the
 * pristine state it must report no violation.
 *
 * Input, consumed in order (missing bytes read as 0): per frame, 13 bytes of record
 * (count, type_info, owner selector, linear, nr_validated); one base-pointer byte per
 * domain; then (frame, slot, 64-bit value) page writes of 11 bytes each.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/pvcore.h>
#include <pvcore/host_backend.h>

#include "internal/frame.h"

#define FRAMES 48u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct reader {
    const uint8_t *p;
    size_t n;
};

static uint8_t byte(struct reader *r)
{
    if (r->n == 0) {
        return 0;
    }
    r->n--;
    return *r->p++;
}

static uint32_t u32(struct reader *r)
{
    uint32_t v = 0;
    unsigned i;
    for (i = 0; i < 4; i++) {
        v |= (uint32_t)byte(r) << (8 * i);
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pvcore_host_backend *hb;
    struct pvcore_machine *pm;
    struct machine *m;
    struct pvcore_domain *d[3];
    void *mem[3];
    struct pvcore_check_report rep;
    struct reader r = { data, size };
    void *scratch;
    size_t slen;
    unsigned i, k;

    if (pvcore_host_backend_create(FRAMES, 4, 0, 0, &hb) != 0) {
        abort();
    }
    pm = pvcore_host_backend_machine(hb);
    m = (struct machine *)(void *)pm;
    for (i = 0; i < 3; i++) {
        struct pvcore_domain_config cfg = { (uint16_t)i, 2,
                                            i == 0 ? PVCORE_DOMAIN_PRIVILEGED
                                                   : (i == 2 ? PVCORE_DOMAIN_GUEST_32 : 0u),
                                            FRAMES };
        mem[i] = malloc(pvcore_domain_size(2));
        if (mem[i] == NULL ||
            pvcore_domain_create(pm, mem[i], pvcore_domain_size(2), &cfg, &d[i]) != 0) {
            abort();
        }
    }
    slen = pvcore_check_scratch_size(pm);
    scratch = malloc(slen);
    if (scratch == NULL) {
        abort();
    }
    /* The pristine machine satisfies every invariant. */
    if (pvcore_check_invariants(pm, scratch, slen, &rep) != 0) {
        abort();
    }
    /* Arbitrary frame records: count, type_info, owner (folded onto the interesting ids),
     * linear, nr_validated. */
    for (i = 0; i < FRAMES && r.n > 0; i++) {
        struct frame *f = &m->frames[i];
        static const uint16_t owners[8] = { 0, 1, 2, 3, PVCORE_DOMID_XEN, PVCORE_DOMID_IO,
                                            PVCORE_DOMID_INVALID, 0x7FFF };
        uint32_t cnt = u32(&r) | FC_RAM;
        uint32_t type_info = u32(&r);

        atomic_store(&f->ct, CT_MAKE(cnt, type_info));
        atomic_store(&f->owner, owners[byte(&r) & 7]);
        atomic_store(&m->aux[i].linear, (int16_t)(byte(&r) | byte(&r) << 8));
        m->aux[i].nr_validated = (uint16_t)(byte(&r) | byte(&r) << 8);
    }
    /* Base pointers of each domain's vCPU 0, then page contents: (frame, slot, value). */
    for (i = 0; i < 3; i++) {
        struct vcpu *v = &((struct domain *)(void *)d[i])->vcpus[0];
        uint8_t b = byte(&r);
        v->guest_table = b == 0xFF ? INVALID_MFN : (uint64_t)b % (FRAMES + 4u);
    }
    for (k = 0; k < 256 && r.n >= 10; k++) {
        uint64_t mfn = byte(&r) % FRAMES;
        unsigned slot = (unsigned)(byte(&r) | (byte(&r) & 1u) << 8);
        uint64_t val = (uint64_t)u32(&r) | (uint64_t)u32(&r) << 32;
        pvcore_host_backend_frame(hb, pvcore_mfn(mfn))[slot] = val;
    }
    /* Whatever it finds, its answer is consistent with its report. */
    if ((pvcore_check_invariants(pm, scratch, slen, &rep) == 0) != (rep.violations == 0) ||
        (rep.violations != 0 && rep.code == PVCORE_CHECK_OK) ||
        pvcore_check_code_name(rep.code) == NULL) {
        abort();
    }
    /* The state is not a real one: free the memory without pvcore_domain_destroy(). */
    for (i = 0; i < 3; i++) {
        free(mem[i]);
    }
    free(scratch);
    pvcore_host_backend_destroy(hb);
    return 0;
}
