/*
 * Fuzz target: the descriptor check against an independent model (desc_model.c), one
 * descriptor at a time and a whole descriptor page at a time through set_gdt and
 * update_descriptor on a real machine.
 *
 * Input: records of 9 bytes, a shaping byte then a descriptor (little-endian). The shaping
 * byte steers towards the interesting cases: bit 0 a 32-bit guest, bit 1 present, bit 2 a
 * call gate, bit 3 a gate selector from the interesting ones, bit 4 a flat segment with a
 * large limit. The first record's bit 0 also picks the domain whose page is built from up
 * to 512 records; the rest are then written one by one with update_descriptor.
 *
 * Checked: the library and the model agree on every descriptor (accepted or not, and the
 * result); the result is accepted again; what a page holds after a successful set_gdt is
 * what the model says, and a refused page is left untouched; the invariants hold.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/pvcore.h>
#include <pvcore/desc.h>
#include <pvcore/host_backend.h>

#include "desc_model.h"

#define FRAMES 32u
#define RECORD 9u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t selectors[8] = {
    PVCORE_FLAT_KERNEL_CS_X86_64, PVCORE_FLAT_KERNEL_CS_X86_32, (7168u << 3) | 3u,
    (7167u << 3) | 1u, 0x0007, 0xE008, 0xE02B, 0xFFFC,
};

static uint64_t shape(const uint8_t *r, int *is32)
{
    uint64_t d = 0;
    unsigned i;

    for (i = 0; i < 8; i++) {
        d |= (uint64_t)r[1 + i] << (8 * i);
    }
    *is32 = r[0] & 1;
    if (r[0] & 2) {
        d |= 1ull << 47;
    }
    if (r[0] & 4) {
        d = (d & ~(0x1Full << 40)) | 0xCull << 40;
    }
    if (r[0] & 8) {
        d = (d & ~(0xFFFFull << 16)) | (uint64_t)selectors[(r[0] >> 5) & 7] << 16;
    }
    if (r[0] & 16) {
        /* base 0, S, G, limit high nibble F: around the 0xF5800000 boundary. */
        d &= ~(0xFF000000FFFF0000ull | 0x000000FFull << 32);
        d |= 1ull << 44 | 1ull << 55 | 0xFull << 48;
    }
    return d;
}

static void one(int is32, uint64_t d)
{
    uint64_t lib = d, model = 0, again;
    int rc = pvcore_desc_check(is32, &lib);
    int ok = desc_model_check(is32, d, &model);
    int gate32_high;

    if ((rc == 0) != (ok != 0) || (rc != 0 && rc != -PVCORE_EINVAL)) {
        abort();
    }
    if (rc != 0) {
        if (lib != d) {
            abort(); /* refused: untouched */
        }
        return;
    }
    if (lib != model) {
        abort();
    }
    /* Stable, but for a 32-bit gate whose DPL was above the kernel's: its stored DPL 0 is
     * what is raised then, and if it leads to the flat kernel code selector, the RPL it
     * now carries makes it refused (<pvcore/desc.h>). */
    again = lib;
    gate32_high = is32 && (lib & (1ull << 47)) && !(lib & (1ull << 44)) &&
                  ((lib >> 40) & 0xF) == 0xC && ((lib >> 16) & 3u) > 1u;
    if (pvcore_desc_check(is32, &again) != 0) {
        if (!gate32_high || ((lib >> 16) & 0xFFFCu) != (PVCORE_FLAT_KERNEL_CS_X86_32 & 0xFFFCu)) {
            abort();
        }
        return;
    }
    if (again != lib && !(gate32_high && ((again ^ lib) & ~(3ull << 16)) == 0)) {
        abort();
    }
}

struct env {
    struct pvcore_host_backend *hb;
    struct pvcore_machine *m;
    struct pvcore_domain *d[2]; /* 64-bit, 32-bit */
    uint64_t frame[2];
    void *scratch;
    size_t slen;
};

static struct env *env(void)
{
    static struct env e;
    static int ready;
    unsigned i;

    if (ready) {
        return &e;
    }
    if (pvcore_host_backend_create(FRAMES, 4, 0, 0, &e.hb) != 0) {
        abort();
    }
    e.m = pvcore_host_backend_machine(e.hb);
    for (i = 0; i < 2; i++) {
        struct pvcore_domain_config cfg = { (uint16_t)(i + 1), 1,
                                            i == 1 ? PVCORE_DOMAIN_GUEST_32 : 0u, FRAMES };
        void *mem = malloc(pvcore_domain_size(1));
        if (mem == NULL || pvcore_domain_create(e.m, mem, pvcore_domain_size(1), &cfg, &e.d[i]) != 0) {
            abort();
        }
        e.frame[i] = 8 + i;
        if (pvcore_domain_assign(e.d[i], pvcore_mfn(e.frame[i]), pvcore_gfn(e.frame[i])) != 0) {
            abort();
        }
    }
    e.slen = pvcore_check_scratch_size(e.m);
    e.scratch = malloc(e.slen);
    if (e.scratch == NULL) {
        abort();
    }
    ready = 1;
    return &e;
}

static void check(struct env *e)
{
    struct pvcore_check_report rep;

    if (pvcore_check_invariants(e->m, e->scratch, e->slen, &rep) != 0) {
        abort();
    }
}

static void page(const uint8_t *data, size_t n)
{
    struct env *e = env();
    int dom = data[0] & 1;
    struct pvcore_vcpu *v = pvcore_domain_vcpu(e->d[dom], 0);
    uint64_t *p = pvcore_host_backend_frame(e->hb, pvcore_mfn(e->frame[dom]));
    static uint64_t want[512], orig[512];
    pvcore_mfn_t f = pvcore_mfn(e->frame[dom]);
    int all = 1;
    size_t i, k;
    int rc;

    memset(orig, 0, sizeof(orig));
    for (i = 0; i < n && i < 512; i++) {
        int is32;
        orig[i] = shape(data + i * RECORD, &is32);
    }
    for (i = 0; i < 512; i++) {
        all &= desc_model_check(dom, orig[i], &want[i]);
    }
    memcpy(p, orig, sizeof(orig));
    rc = pvcore_desc_set_gdt(v, &f, 512);
    if (rc != (all ? 0 : -PVCORE_EINVAL)) {
        abort();
    }
    if (memcmp(p, all ? want : orig, sizeof(orig)) != 0) {
        abort();
    }
    check(e);
    if (rc == 0) {
        /* Updates of the installed page, one per remaining record. */
        for (k = 512; k < n; k++) {
            int is32;
            uint64_t d = shape(data + k * RECORD, &is32), m;
            unsigned slot = data[k * RECORD + 1] & 511u;
            uint64_t before = p[slot];
            int ok = desc_model_check(dom, d, &m);

            rc = pvcore_desc_update(v, pvcore_maddr(e->frame[dom] << 12 | (uint64_t)slot * 8), d);
            if (rc != (ok ? 0 : -PVCORE_EINVAL) || p[slot] != (ok ? m : before)) {
                abort();
            }
        }
        check(e);
        if (pvcore_desc_set_gdt(v, NULL, 0) != 0) {
            abort();
        }
    }
    check(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = size / RECORD, i;

    for (i = 0; i < n; i++) {
        int is32;
        uint64_t d = shape(data + i * RECORD, &is32);
        one(is32, d);
    }
    if (n > 0) {
        page(data, n);
    }
    return 0;
}
