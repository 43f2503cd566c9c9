/*
 * fuzz_elf: the domain builder (<pvcore/builder.h>) on arbitrary kernel images.
 *
 * Each input is an image. It is parsed; an accepted one is planned for a small guest
 * (with a ramdisk whose size the input picks) and, when the plan fits, built into a fresh
 * domain on the host backend, which is then destroyed. Oracle, beyond "no crash, no
 * undefined behaviour" under ASan/UBSan:
 *   - a refused image leaves the result zeroed;
 *   - an accepted image is consistent: virt_base <= kernel_start <= entry <= kernel_end,
 *     the hypercall page one of the kernel's pages, a 32-bit kernel below 4 GiB, the
 *     required features among the supported ones, the strings terminated;
 *   - a plan is in the ABI's order, page aligned, inside the guest, ends on a 4 MiB
 *     boundary with at least 512 KiB after the stack, and uses no more than the guest has;
 *   - a build of a fitting plan into a fresh domain succeeds, reads only the image's own
 *     bytes, and leaves the frame table consistent; destroying the domain frees every
 *     frame it had.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/builder.h>
#include <pvcore/host_backend.h>
#include <pvcore/pvcore.h>

#define GUEST_PAGES 2048u       /* 8 MiB: regions of 4 MiB and 8 MiB fit */
#define FRAMES (GUEST_PAGES + 64u)

_Noreturn static void fail(const char *what, uint64_t v)
{
    fprintf(stderr, "fuzz_elf: %s (0x%llx)\n", what, (unsigned long long)v);
    abort();
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;

    while (n--) {
        if (*b++ != 0) {
            return 0;
        }
    }
    return 1;
}

static void check_info(const struct pvcore_elf_info *in)
{
    if (in->virt_base > in->kernel_start || in->kernel_start > in->entry ||
        in->entry > in->kernel_end) {
        fail("entry or virt_base outside the kernel", in->entry);
    }
    if (in->hypercall_page != PVCORE_ELF_UNSET &&
        (in->hypercall_page < (in->kernel_start & ~0xfffull) || in->hypercall_page >= in->kernel_end)) {
        fail("hypercall page outside the kernel", in->hypercall_page);
    }
    if (!in->is64 && in->kernel_end > 0x100000000ull) {
        fail("32-bit kernel above 4 GiB", in->kernel_end);
    }
    if ((in->features_required & ~in->features_supported) != 0) {
        fail("a required feature not supported", in->features_required);
    }
    if (in->source < PVCORE_ELF_FROM_PHDR_NOTES || in->source > PVCORE_ELF_FROM_XEN_GUEST) {
        fail("bad source", in->source);
    }
    if (memchr(in->guest_os, 0, sizeof(in->guest_os)) == NULL ||
        memchr(in->loader, 0, sizeof(in->loader)) == NULL ||
        memchr(in->xen_version, 0, sizeof(in->xen_version)) == NULL ||
        memchr(in->guest_version, 0, sizeof(in->guest_version)) == NULL) {
        fail("unterminated string", 0);
    }
}

static void check_layout(const struct pvcore_elf_info *in, const struct pvcore_boot_layout *l,
                         uint64_t ramdisk_len)
{
    uint64_t p2m_bytes = l->nr_pages * (in->is64 ? 8u : 4u);
    uint64_t after_console = l->xenstore ? l->console + 4096 : l->start_info + 4096;
    uint64_t pieces[] = { l->virt_base, l->kernel_start, l->kernel_end, l->p2m,
                          l->start_info, l->pt_base, l->stack, l->end };
    unsigned i;

    for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        if (pieces[i] & 0xfff) {
            fail("a piece not page aligned", pieces[i]);
        }
        if (i > 0 && pieces[i] < pieces[i - 1]) {
            fail("pieces out of order", pieces[i]);
        }
    }
    if (l->kernel_start > in->kernel_start || l->kernel_end < in->kernel_end ||
        l->kernel_end - in->kernel_end >= 4096) {
        fail("kernel pages do not cover the kernel", l->kernel_end);
    }
    if (ramdisk_len != 0 && !in->mod_start_pfn &&
        (l->ramdisk != l->kernel_end || l->p2m < l->ramdisk + ramdisk_len)) {
        fail("ramdisk misplaced", l->ramdisk);
    }
    if (l->start_info < l->p2m + p2m_bytes || l->start_info - (l->p2m + p2m_bytes) >= 4096) {
        fail("p2m list misplaced", l->p2m);
    }
    if (l->xenstore && (l->xenstore != l->start_info + 4096 || l->console != l->xenstore + 4096)) {
        fail("ring pages misplaced", l->xenstore);
    }
    if (l->pt_base != after_console || l->stack != l->pt_base + l->nr_pt_frames * 4096 ||
        l->nr_pt_frames < l->levels) {
        fail("page tables misplaced", l->pt_base);
    }
    if ((l->end & 0x3fffff) || l->end - (l->stack + 4096) < 512 * 1024) {
        fail("region end not 4 MiB aligned or padding short", l->end);
    }
    if (l->nr_used > l->nr_pages || l->nr_used < (l->end - l->virt_base) / 4096) {
        fail("more frames used than the guest has", l->nr_used);
    }
    if (in->is64 ? !(l->end <= 0x0000800000000000ull || l->virt_base >= 0xFFFF880000000000ull)
                 : l->end > 0xF5800000ull) {
        fail("region reaches the hypervisor's part", l->end);
    }
}

static struct pvcore_host_backend *hb;
static struct pvcore_machine *m;
static void *scratch;
static size_t scratch_len;
static uint64_t p2m[GUEST_PAGES];

static void check_machine(void)
{
    struct pvcore_check_report r;

    if (pvcore_check_invariants(m, scratch, scratch_len, &r) != 0) {
        fprintf(stderr, "fuzz_elf: invariant %s broken at mfn 0x%llx\n",
                pvcore_check_code_name(r.code), (unsigned long long)r.mfn);
        abort();
    }
}

static void build(const struct pvcore_elf_info *in, const struct pvcore_boot_layout *l,
                  const uint8_t *ramdisk)
{
    struct pvcore_domain_config cfg = { .domid = 1, .nr_vcpus = 1,
                                        .flags = in->is64 ? 0 : PVCORE_DOMAIN_GUEST_32,
                                        .max_pages = GUEST_PAGES + 1 };
    struct pvcore_builder_config bc = { .elf = in, .layout = l, .ramdisk = ramdisk,
                                        .cmdline = "console=hvc0", .console_evtchn = 2 };
    struct pvcore_builder_result res;
    struct pvcore_domain *d = NULL;
    void *mem;
    uint64_t i;
    int rc;

    if (m == NULL) {
        if (pvcore_host_backend_create(FRAMES, 4, 0, 0, &hb) != 0) {
            fail("host backend", 0);
        }
        m = pvcore_host_backend_machine(hb);
        scratch_len = pvcore_check_scratch_size(m);
        scratch = malloc(scratch_len);
    }
    mem = malloc(pvcore_domain_size(1));
    if (mem == NULL || scratch == NULL ||
        pvcore_domain_create(m, mem, pvcore_domain_size(1), &cfg, &d) != 0) {
        fail("domain", 0);
    }
    /* Frames 1 .. GUEST_PAGES, shuffled a little so pfn != mfn; the shared info after. */
    if (pvcore_domain_set_p2m(d, p2m, GUEST_PAGES) != 0) { /* assign fills it in */
        fail("p2m", 0);
    }
    for (i = 0; i < GUEST_PAGES; i++) {
        if (pvcore_domain_assign(d, pvcore_mfn(1 + (i ^ 5)), pvcore_gfn(i)) != 0) {
            fail("assign", i);
        }
    }
    if (pvcore_domain_assign(d, pvcore_mfn(GUEST_PAGES + 8), pvcore_gfn(UINT64_MAX)) != 0 ||
        pvcore_domain_set_shared_info(d, pvcore_mfn(GUEST_PAGES + 8)) != 0) {
        fail("p2m or shared info", 0);
    }
    rc = pvcore_builder_build(d, &bc, &res);
    if (rc != 0) {
        fail("a fitting plan was not built", (uint64_t)-rc);
    }
    if (res.regs.rip != in->entry || res.regs.rsp != l->stack + 4096 || res.regs.rsi != l->start_info) {
        fail("entry registers", res.regs.rip);
    }
    check_machine();
    do {
        rc = pvcore_domain_destroy(d);
    } while (rc == -PVCORE_ERESTART);
    if (rc != 0) {
        fail("destroy", (uint64_t)-rc);
    }
    for (i = 0; i < FRAMES; i++) {
        struct pvcore_frame_info fi;
        if (pvcore_frame_query(m, pvcore_mfn(i), &fi) == 0 && fi.count != 0) {
            fail("a frame still referenced after destroy", i);
        }
    }
    free(mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t ramdisk_sizes[] = { 0, 1, 4095, 4096, 12345 };
    static uint8_t ramdisk[12345];
    struct pvcore_elf_info in;
    struct pvcore_boot_layout l;
    uint64_t rlen = ramdisk_sizes[size % 5];
    uint8_t *copy;
    int rc;

    /* A private copy: the parser must not depend on bytes past the image's end. */
    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    rc = pvcore_elf_parse(copy, size, &in);
    if (rc != 0) {
        if (!all_zero(&in, sizeof(in))) {
            fail("refused image left a result", (uint64_t)-rc);
        }
    } else {
        check_info(&in);
        rc = pvcore_builder_layout(&in, GUEST_PAGES, rlen, (uint32_t)(size & 1) * PVCORE_BUILDER_INITDOMAIN, &l);
        if (rc == 0) {
            check_layout(&in, &l, rlen);
            memset(ramdisk, 0x5a, sizeof(ramdisk));
            build(&in, &l, ramdisk);
        } else if (!all_zero(&l, sizeof(l))) {
            fail("refused plan left a result", (uint64_t)-rc);
        }
    }
    free(copy);
    return 0;
}
