/*
 * fuzz_elf: minihv's guest kernel loader (examples/minihv/elf.c) on arbitrary images.
 *
 * The loader reads ELF32/ELF64 headers, program and section headers, Xen's ELF notes and
 * the legacy __xen_guest string out of a multiboot module, then copies the loadable
 * segments into the new domain. Oracle, beyond "no crash, no undefined behaviour" under
 * ASan/UBSan:
 *   - an accepted image describes a sane domain: a non-empty, page-aligned virtual range,
 *     the entry point and the hypercall page inside it (the page aligned), a 32-bit
 *     image PAE and below the hypervisor hole at 0xF5800000;
 *   - loading it writes only inside that range (every address the loader translates is
 *     checked).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "minihv.h"

#define MAX_LOAD (4u << 20) /* larger accepted images are checked but not loaded */

struct load {
    const struct elf_image *img;
    uint8_t *buf;
};

static void fail(const char *what, uint64_t v)
{
    fprintf(stderr, "fuzz_elf: %s (0x%llx)\n", what, (unsigned long long)v);
    abort();
}

/* The loader's window onto guest memory: only [v_start, v_end) exists. */
static uint64_t to_maddr(void *ctx, uint64_t va)
{
    struct load *l = ctx;

    if (va < l->img->v_start || va >= l->img->v_end) {
        fail("loader wrote outside the image's range", va);
    }
    /* elf_load() writes through phys_to_virt(): hand it back our buffer's address. */
    return (uint64_t)(uintptr_t)(l->buf + (va - l->img->v_start)) - DIRECTMAP_BASE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct elf_image img;
    struct load l;
    uint8_t *copy;

    /* A private copy: the loader must not depend on bytes past the module's end. */
    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    if (elf_parse(&img, copy, size) == 0) {
        if (img.v_start >= img.v_end || (img.v_start & 0xfff) || (img.v_end & 0xfff)) {
            fail("bad virtual range", img.v_start);
        }
        if (img.entry < img.v_start || img.entry >= img.v_end) {
            fail("entry outside the image", img.entry);
        }
        if (img.has_hypercall_page && (img.hypercall_page < img.v_start ||
                                       img.hypercall_page >= img.v_end ||
                                       (img.hypercall_page & 0xfff))) {
            fail("hypercall page outside the image or unaligned", img.hypercall_page);
        }
        if (!img.is64 && (!img.pae_yes || img.v_end > 0xF5800000ull)) {
            fail("32-bit image not PAE or reaching the hypervisor hole", img.v_end);
        }
        if (img.v_end - img.v_start <= MAX_LOAD) {
            l.img = &img;
            l.buf = malloc((size_t)(img.v_end - img.v_start));
            if (l.buf != NULL) {
                memset(l.buf, 0xA5, (size_t)(img.v_end - img.v_start));
                (void)elf_load(&img, to_maddr, &l);
                free(l.buf);
            }
        }
    }
    free(copy);
    return 0;
}
