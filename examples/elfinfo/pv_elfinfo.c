/*
 * pv_elfinfo: what libpvcore's domain builder makes of a PV guest kernel.
 *
 *   pv_elfinfo KERNEL [MEM_MIB [RAMDISK_BYTES]]
 *
 * Prints what pvcore_elf_parse() read from the image (its Xen notes or __xen_guest
 * string), and the start-of-day layout pvcore_builder_layout() plans for a guest of
 * MEM_MIB MiB (16 by default) with a ramdisk of RAMDISK_BYTES (none by default). Exits 0
 * if the kernel can be built, 1 if it is refused (with the reason), 2 on a usage error.
 * A first stop when a kernel will not boot: it shows which value the builder refused.
 */
#include <stdio.h>
#include <stdlib.h>

#include <pvcore/pvcore.h>

static const char *const pae_names[] = { "no", "yes (L3 below 4 GiB)", "extended-cr3", "bimodal" };
static const char *const source_names[] = { "?", "PT_NOTE segments", "SHT_NOTE sections",
                                             "the __xen_guest section" };

static void *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        (buf = malloc((size_t)n + 1)) == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        free(buf);
        if (f != NULL) {
            fclose(f);
        }
        return NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static void print_addr(const char *name, uint64_t v)
{
    if (v == PVCORE_ELF_UNSET) {
        printf("  %-16s (none)\n", name);
    } else {
        printf("  %-16s 0x%llx\n", name, (unsigned long long)v);
    }
}

int main(int argc, char **argv)
{
    struct pvcore_elf_info in;
    struct pvcore_boot_layout l;
    unsigned long long mib = 16, ramdisk = 0;
    size_t size;
    void *image;
    int rc;

    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s KERNEL [MEM_MIB [RAMDISK_BYTES]]\n", argv[0]);
        return 2;
    }
    if ((argc > 2 && (mib = strtoull(argv[2], NULL, 0)) == 0) ||
        (argc > 3 && (ramdisk = strtoull(argv[3], NULL, 0), 0))) {
        fprintf(stderr, "%s: bad size\n", argv[0]);
        return 2;
    }
    image = read_file(argv[1], &size);
    if (image == NULL) {
        return 2;
    }
    rc = pvcore_elf_parse(image, size, &in);
    if (rc != 0) {
        printf("%s: refused: %s (%d)\n", argv[1], pvcore_strerror(rc), rc);
        free(image);
        return 1;
    }
    printf("%s: %s, Xen information from %s (%u notes)\n", argv[1],
           in.is64 ? "ELF64 x86-64 (64-bit guest)" : "ELF32 i386 (32-bit guest)",
           source_names[in.source <= 3 ? in.source : 0], in.nr_notes);
    printf("  guest_os         \"%s\"\n  guest_version    \"%s\"\n  xen_version      \"%s\"\n"
           "  loader           \"%s\"\n",
           in.guest_os, in.guest_version, in.xen_version, in.loader);
    if (!in.is64) {
        printf("  pae              %s\n", pae_names[in.pae <= 3 ? in.pae : 0]);
    }
    print_addr("virt_base", in.virt_base);
    print_addr("paddr_offset", in.paddr_offset);
    print_addr("entry", in.entry);
    print_addr("hypercall_page", in.hypercall_page);
    print_addr("init_p2m", in.p2m_base);
    printf("  kernel           0x%llx-0x%llx\n", (unsigned long long)in.kernel_start,
           (unsigned long long)in.kernel_end);
    printf("  features         supported 0x%x, required 0x%x%s\n", in.features_supported,
           in.features_required, in.mod_start_pfn ? ", ramdisk by pfn (MOD_START_PFN)" : "");

    rc = pvcore_builder_layout(&in, mib * 256, ramdisk, 0, &l);
    if (rc != 0) {
        printf("layout for %llu MiB: refused: %s (%d)\n", mib, pvcore_strerror(rc), rc);
        free(image);
        return 1;
    }
    printf("layout for %llu MiB (%llu pages), ramdisk %llu bytes:\n", mib, mib * 256, ramdisk);
    printf("  kernel           0x%llx-0x%llx\n", (unsigned long long)l.kernel_start,
           (unsigned long long)l.kernel_end);
    if (ramdisk != 0) {
        printf("  ramdisk          0x%llx (pfn 0x%llx)\n", (unsigned long long)l.ramdisk,
               (unsigned long long)l.ramdisk_pfn);
    }
    printf("  p2m list         0x%llx\n  start_info       0x%llx\n  xenstore         0x%llx\n"
           "  console          0x%llx\n  page tables      0x%llx (%llu frames)\n"
           "  boot stack       0x%llx\n  region end       0x%llx (%llu frames used)\n",
           (unsigned long long)l.p2m, (unsigned long long)l.start_info,
           (unsigned long long)l.xenstore, (unsigned long long)l.console,
           (unsigned long long)l.pt_base, (unsigned long long)l.nr_pt_frames,
           (unsigned long long)l.stack, (unsigned long long)l.end,
           (unsigned long long)l.nr_used);
    free(image);
    return 0;
}
