/**
 * @file
 * @brief The domain builder: loads a PV guest kernel into a new domain and lays out its
 * start-of-day memory, as Xen's toolstack builder does.
 *
 * Three steps, each usable on its own:
 *
 * 1. pvcore_elf_parse() reads an ELF32 (i386) or ELF64 (x86-64) kernel image the way
 *    Xen's libelf reads it: the Xen ELF notes (owner "Xen") of its PT_NOTE segments, or,
 *    when those hold none, of its SHT_NOTE sections, or, when there are none at all, the
 *    legacy `__xen_guest` section's `KEY=VALUE,...` string. As libelf does, a note is read
 *    wherever it lies in the image, even when its descriptor runs past the end of the
 *    segment that holds it (GRUB's i386-xen image has one, its PAE_MODE note). Every
 *    offset and size in the image is checked before it is used: the image may be hostile.
 *
 * 2. pvcore_builder_layout() plans the guest's initial virtual region from the kernel's
 *    `virt_base`, in the order of the ABI's start-of-day layout: the kernel, the ramdisk,
 *    the p2m list, start_info, the xenstore and console ring pages, the bootstrap page
 *    tables (root first), the boot stack; then at least 512 KiB of padding, the region
 *    ending on a 4 MiB boundary. The region is mapped 1:1 onto the first pseudo-physical
 *    frames. Any guest size works, as long as the region fits in it.
 *
 * 3. pvcore_builder_build() writes that layout into a domain the embedder created and
 *    gave its memory (pvcore_domain_create(), pvcore_domain_assign(),
 *    pvcore_domain_set_p2m(), pvcore_domain_set_shared_info()): it loads the segments,
 *    fills the hypercall page, copies the ramdisk, writes the p2m list, start_info and
 *    the bootstrap page tables, zeroes the shared-info page with every vCPU's events
 *    masked, pins the root table through the validator (exactly as the guest's own
 *    #PVCORE_MMUEXT_PIN_L4_TABLE or #PVCORE_MMUEXT_PIN_L3_TABLE would be checked) and makes
 *    it vCPU 0's base pointer, and returns vCPU 0's registers at entry.
 *
 * Nothing here allocates: the image, the ramdisk and every guest frame are the
 * embedder's memory, and the plan and parse results are small structures the caller
 * owns. The module builds freestanding, like the rest of the core.
 *
 * Differences from Xen's builder, each a decision: a hypercall page must lie inside the
 * kernel image (elsewhere the builder's own data would overwrite it); the ELF_NOTE
 * INIT_P2M placement of the p2m list outside the region is not supported (the list is
 * always placed in the region, which every kernel accepts); a PAE guest's L2 tables are
 * allocated, as Xen's are, for every L3 slot from the region's first up to slot 3.
 */
#ifndef PVCORE_BUILDER_H
#define PVCORE_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include <pvcore/cpu.h>
#include <pvcore/domain.h>
#include <pvcore/export.h>

PVCORE_BEGIN_DECLS

/** A numeric field the image did not set (no note, no legacy key). */
#define PVCORE_ELF_UNSET UINT64_MAX

/** @name PAE modes (#pvcore_elf_info.pae), as Xen's libelf names them */
/** @{ */
/** No PAE: a 32-bit image of this kind cannot run (64-bit hypervisors run PAE guests only). */
#define PVCORE_ELF_PAE_NO 0u
/** Legacy `PAE=yes`: PAE, with the top-level table below 4 GiB. */
#define PVCORE_ELF_PAE_YES 1u
/** PAE with an L3 anywhere (#PVCORE_VMASST_TYPE_pae_extended_cr3): the PAE_MODE note
 * "yes", or the legacy `PAE=yes[extended-cr3]`. */
#define PVCORE_ELF_PAE_EXTCR3 2u
/** A PAE_MODE note that contains "bimodal". */
#define PVCORE_ELF_PAE_BIMODAL 3u
/** @} */

/** @name Where the Xen information came from (#pvcore_elf_info.source) */
/** @{ */
#define PVCORE_ELF_FROM_PHDR_NOTES 1u /**< Notes in PT_NOTE segments. */
#define PVCORE_ELF_FROM_SHDR_NOTES 2u /**< Notes in SHT_NOTE sections (no PT_NOTE ones). */
#define PVCORE_ELF_FROM_XEN_GUEST 3u  /**< The legacy `__xen_guest` section. */
/** @} */

/** Capacity of the string fields of #pvcore_elf_info, NUL included (longer values are cut). */
#define PVCORE_ELF_STR_MAX 64u

/**
 * What pvcore_elf_parse() read from a kernel image. Addresses are guest virtual addresses
 * after Xen's rules: `virt_base` defaults to 0 and `paddr_offset` to 0 with notes or to
 * `virt_base` with `__xen_guest`; a segment's address is its `p_paddr` - `paddr_offset` +
 * `virt_base`.
 */
struct pvcore_elf_info {
    const uint8_t *image; /**< The image parsed (the caller's memory; not copied). */
    uint64_t size;        /**< Its size in bytes. */
    uint8_t is64;         /**< 1: ELF64 x86-64 (a 64-bit guest); 0: ELF32 i386. */
    uint8_t pae;          /**< PVCORE_ELF_PAE_* (32-bit images). */
    uint8_t source;       /**< PVCORE_ELF_FROM_*. */
    uint8_t mod_start_pfn; /**< XEN_ELFNOTE_MOD_START_PFN set: the ramdisk is placed
                            * unmapped and start_info.mod_start holds its first frame. */
    uint32_t nr_notes;    /**< Xen notes read. */
    uint64_t virt_base;   /**< #PVCORE_XEN_ELFNOTE_VIRT_BASE (0 if unset). */
    uint64_t paddr_offset; /**< #PVCORE_XEN_ELFNOTE_PADDR_OFFSET, or its default. */
    uint64_t entry;       /**< #PVCORE_XEN_ELFNOTE_ENTRY, or `e_entry`. */
    uint64_t hypercall_page; /**< Address of the hypercall page, or #PVCORE_ELF_UNSET. */
    uint64_t p2m_base;    /**< #PVCORE_XEN_ELFNOTE_INIT_P2M, or #PVCORE_ELF_UNSET (read, not used). */
    uint64_t hv_start_low; /**< #PVCORE_XEN_ELFNOTE_HV_START_LOW, or #PVCORE_ELF_UNSET. */
    uint64_t kernel_start; /**< First byte of the loadable segments (virtual). */
    uint64_t kernel_end;  /**< One past their last byte (virtual). */
    uint32_t features_supported; /**< XENFEAT_* bits the image supports (FEATURES,
                                  * SUPPORTED_FEATURES); includes the required ones. */
    uint32_t features_required; /**< XENFEAT_* bits it requires (`!name` in FEATURES). */
    char guest_os[PVCORE_ELF_STR_MAX];      /**< GUEST_OS. */
    char guest_version[PVCORE_ELF_STR_MAX]; /**< GUEST_VERSION (legacy GUEST_VER). */
    char xen_version[PVCORE_ELF_STR_MAX];   /**< XEN_VERSION (legacy XEN_VER). */
    char loader[PVCORE_ELF_STR_MAX];        /**< LOADER. */
};

/**
 * @brief Parses a PV guest kernel image.
 *
 * Accepts what Xen's builder accepts: a little-endian ELF32 i386 or ELF64 x86-64 image
 * with Xen notes or a `__xen_guest` section whose LOADER starts with "generic" or whose
 * GUEST_OS starts with "linux", whose XEN_VERSION starts with "xen-3.0", and whose
 * addresses are consistent: `virt_base` <= the first loadable byte <= the entry <= the
 * last. A loadable segment is a PT_LOAD with any of PF_R, PF_W, PF_X set. Stricter than
 * libelf (which reads out-of-bounds bytes as zeros and goes on): a loadable segment's
 * file bytes must lie inside the image, with `p_filesz` <= `p_memsz` and no address
 * overflow.
 *
 * @param image The image (any alignment). It is read, never written, and must stay
 *              unchanged while `out` is used: pvcore_builder_build() loads from it.
 * @param size  Its size in bytes.
 * @param out   Receives what was read; zeroed on failure.
 * @return 0;
 *         -PVCORE_ENOEXEC: not a little-endian x86 ELF image, or not a Xen PV kernel (no
 *         Xen notes and no `__xen_guest`; another loader and OS; another Xen version);
 *         -PVCORE_EINVAL: the image is inconsistent: program headers outside the image, a
 *         loadable segment outside it or larger in the file than in memory, no loadable
 *         segment, addresses out of bounds or overflowing (the checks above; a 32-bit
 *         image above 4 GiB; a hypercall page outside the kernel; an INIT_P2M inside
 *         it), PADDR_OFFSET set without VIRT_BASE, or a required feature (`!name`) Xen
 *         does not know.
 * @note Pure: no library state; safe from any thread.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_elf_parse(const void *image, size_t size,
                                                  struct pvcore_elf_info *out);

/** @name Flags of pvcore_builder_layout() */
/** @{ */
/** An initial domain (dom0): no xenstore or console ring pages (start_info carries the
 * console information instead). */
#define PVCORE_BUILDER_INITDOMAIN 0x1u
/** @} */

/**
 * The planned start-of-day layout. Every address is a guest virtual address in the
 * initial region [#virt_base, #end), which maps pseudo-physical frame
 * (va - virt_base) / 4096; every piece starts on a page boundary.
 */
struct pvcore_boot_layout {
    uint64_t virt_base;    /**< Start of the region: pseudo-physical frame 0. */
    uint64_t nr_pages;     /**< The domain's pseudo-physical frames (the p2m list's length). */
    uint8_t is64;          /**< The guest's width (from the image). */
    uint8_t levels;        /**< Paging levels: 4 (x86-64) or 3 (PAE). */
    uint16_t _pad;         /**< Zero. */
    uint32_t flags;        /**< PVCORE_BUILDER_* flags it was planned with. */
    uint64_t kernel_start; /**< The kernel's first page. */
    uint64_t kernel_end;   /**< Past its last page. */
    uint64_t ramdisk;      /**< The ramdisk (0 if none or unmapped). */
    uint64_t ramdisk_len;  /**< Its size in bytes (0 if none). */
    uint64_t ramdisk_pfn;  /**< Its first pseudo-physical frame (mapped or not). */
    uint64_t p2m;          /**< The p2m list: #nr_pages entries of the guest's word size. */
    uint64_t start_info;   /**< The start_info page (%rsi / %esi at entry). */
    uint64_t xenstore;     /**< The xenstore ring page (0 for an initial domain). */
    uint64_t console;      /**< The console ring page (0 for an initial domain). */
    uint64_t pt_base;      /**< The bootstrap page tables, root first (start_info.pt_base). */
    uint64_t nr_pt_frames; /**< Their number. */
    uint64_t stack;        /**< The boot stack page; %rsp at entry is its end. */
    uint64_t end;          /**< End of the mapped region: 4 MiB aligned, >= 512 KiB after
                            * the stack. */
    uint64_t nr_used;      /**< Pseudo-physical frames the layout uses: the region, and an
                            * unmapped ramdisk after it. */
};

/**
 * @brief Plans the start-of-day layout of a guest of `nr_pages` frames.
 *
 * @param elf         A parsed image.
 * @param nr_pages    The domain's memory in 4 KiB frames (pseudo-physical frames 0 ..
 *                    nr_pages - 1).
 * @param ramdisk_len The ramdisk's size in bytes (0: none).
 * @param flags       PVCORE_BUILDER_* flags.
 * @param out         Receives the plan; zeroed on failure.
 * @return 0; -PVCORE_ENOEXEC for a 32-bit image without PAE; -PVCORE_EINVAL for unknown
 *         flags; -PVCORE_ENOMEM if the region (or the unmapped ramdisk after it) needs
 *         more than `nr_pages` frames, or if it would reach the hypervisor's part of the
 *         address space (from 0xF5800000 for a 32-bit guest; the non-canonical hole and
 *         0xFFFF800000000000 - 0xFFFF87FFFFFFFFFF for a 64-bit one).
 * @note Pure: no library state; safe from any thread.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_builder_layout(const struct pvcore_elf_info *elf,
                                                       uint64_t nr_pages, uint64_t ramdisk_len,
                                                       uint32_t flags,
                                                       struct pvcore_boot_layout *out);

/** What pvcore_builder_build() needs beyond the image and the plan. */
struct pvcore_builder_config {
    const struct pvcore_elf_info *elf;       /**< The parsed image. */
    const struct pvcore_boot_layout *layout; /**< Its plan, for this domain's size. */
    const void *ramdisk;   /**< The ramdisk, `layout->ramdisk_len` bytes (NULL if none). */
    const char *cmdline;   /**< Command line (NULL: empty); cut to 1023 bytes. */
    uint32_t store_evtchn;   /**< start_info.store_evtchn. */
    uint32_t console_evtchn; /**< start_info.console.domU.evtchn (not for an initial domain). */
    uint32_t si_flags;     /**< Extra SIF_* flags for start_info (#PVCORE_SIF_PRIVILEGED,
                            * #PVCORE_SIF_INITDOMAIN); the builder adds
                            * #PVCORE_SIF_MOD_START_PFN itself. */
    uint32_t _reserved;    /**< Zero. */
};

/** What pvcore_builder_build() leaves for the embedder. */
struct pvcore_builder_result {
    struct pvcore_cpu_regs regs; /**< vCPU 0's registers at entry: rip = the entry, rsp =
                                  * the boot stack's end, rsi = start_info, IF set, the
                                  * flat kernel selectors (cs 0xe033, ss 0xe02b for a
                                  * 64-bit guest; cs 0xe019, ss/ds/es/fs/gs 0xe021 for a
                                  * 32-bit one). */
    pvcore_mfn_t root;           /**< The pinned root table, vCPU 0's base pointer (CR3). */
    pvcore_mfn_t store_mfn;      /**< The xenstore ring's frame (#PVCORE_INVALID_MFN_VALUE for dom0). */
    pvcore_mfn_t console_mfn;    /**< The console ring's frame (#PVCORE_INVALID_MFN_VALUE for dom0). */
};

/**
 * @brief Builds the start-of-day state of domain `d`.
 *
 * Before the call the embedder has created `d` with the image's width
 * (#PVCORE_DOMAIN_GUEST_32 for an ELF32 image), assigned it at least
 * `cfg->layout->nr_used` frames and set its P2M (pvcore_domain_set_p2m()) to map
 * pseudo-physical frames 0 .. `layout->nr_pages` - 1, and given it a shared-info page
 * (pvcore_domain_set_shared_info()). The frames the builder writes must be the domain's
 * own RAM, untyped and unpinned (fresh ones); the builder zeroes every page of the
 * initial region before it writes it, but not the domain's other frames, whose contents
 * are the embedder's to scrub.
 *
 * The steps: zero the region; copy each loadable segment (file bytes, then zeros to its
 * memory size) in program-header order; fill the hypercall page (128 stubs of 32 bytes,
 * `int $0x82` for a 32-bit guest, `syscall` for a 64-bit one); copy the ramdisk; write
 * the p2m list; zero the shared-info page and mask events on every vCPU; write start_info;
 * build the bootstrap tables (non-leaf entries present, writable, user, accessed, dirty;
 * leaf entries present, writable, accessed, except the
 * page tables' own, which are read-only); enable pae_extended_cr3 for a 32-bit image that
 * asks for it; pin the root and make it vCPU 0's kernel base pointer through
 * pvcore_mmuext_op(), so that the library's validator accepts the tables as it would a
 * guest's; set vCPU 0's kernel stack (kernel_ss:kernel_sp) to the boot stack.
 *
 * @param d   The domain (not running).
 * @param cfg The image, its plan and the start_info values.
 * @param out Receives vCPU 0's entry state.
 * @return 0; -PVCORE_EINVAL: `cfg` is inconsistent (no image or plan, a plan made for
 *         another image or size, a ramdisk length without data, reserved bits set), the
 *         domain's width is not the image's, it has no shared-info page (or, for a 32-bit
 *         guest, one above 4 GiB: start_info holds its address in 32 bits), its P2M does not
 *         cover `nr_pages`, or a frame the builder would write is not the domain's fresh
 *         RAM; or the error with which the validator refused the bootstrap tables (for
 *         example -PVCORE_ERANGE: a legacy `PAE=yes` guest's L3 frame above 4 GiB). The
 *         domain's memory is then unspecified (destroy it), but no reference is leaked.
 * @note Takes the domain's locks through pvcore_mmuext_op(); call with no library lock
 *       held and the domain not running.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_builder_build(struct pvcore_domain *d,
                                                      const struct pvcore_builder_config *cfg,
                                                      struct pvcore_builder_result *out);

/**
 * @brief Fills a hypercall page as Xen does: 128 stubs of 32 bytes, stub i making
 * hypercall i, the rest int3.
 *
 * 32-bit guests (ring 1): `mov $i, %eax; int $0x82; ret`; the iret stub (23) pushes %eax
 * first and does not return. 64-bit guests (ring 3): `push %rcx; push %r11; mov $i, %eax;
 * syscall; pop %r11; pop %rcx; ret`; the iret stub pushes %rax after the pushes and ends
 * with the syscall.
 *
 * @param page 4096 bytes.
 * @param is64 Non-zero for a 64-bit guest.
 */
PVCORE_API void pvcore_builder_hypercall_page(void *page, int is64);

PVCORE_END_DECLS

#endif /* PVCORE_BUILDER_H */
