/**
 * @file
 * @brief ELF note types with which a PV guest kernel describes itself to its loader.
 *
 * A PV kernel image carries a set of ELF notes whose owner name is `"Xen"` (namesz 4,
 * including the NUL). They live in a section of type SHT_NOTE, conventionally named
 * `.note.Xen`, which is reachable through a PT_NOTE program header; each note's name and
 * descriptor are padded to a multiple of 4 bytes. The note type (n_type) is one of the
 * numbers below, and the descriptor is either
 *  - a NUL-terminated string, or
 *  - an integer (an address, an offset or a flag) in the byte order of the image. Its
 *    size is the descriptor size: 8 bytes in ELF64 images; an ELF32 image may use 4 or 8.
 *
 * A loader ignores notes whose owner is not `"Xen"` and note types it does not know.
 * Images without any of these notes may instead describe themselves with the older
 * `__xen_guest` section: one NUL-terminated string of comma-separated `KEY=VALUE` pairs
 * (`GUEST_OS`, `GUEST_VER`, `XEN_VER`, `LOADER`, `VIRT_BASE`, `ELF_PADDR_OFFSET`,
 * `HYPERCALL_PAGE`, `PAE`, ...), in which `HYPERCALL_PAGE` is a page number relative to
 * `VIRT_BASE` rather than an address.
 *
 * The numbers equal Xen's `XEN_ELFNOTE_*` values (checked by the `abi` tests). This
 * header defines only integer-constant macros, so it can also be included from
 * assembly, C99, C11 and C++.
 */
#ifndef PVCORE_ABI_ELFNOTE_H
#define PVCORE_ABI_ELFNOTE_H

/**
 * @defgroup pvcore_abi_elfnote Guest image ELF notes
 * @brief Note types (n_type) of the `"Xen"` notes in a PV guest kernel image.
 * @{
 */

/** String: one free-form `NAME=VALUE` pair of information about the image. */
#define PVCORE_XEN_ELFNOTE_INFO 0

/**
 * Integer: the virtual address at which the guest starts executing. Without it the
 * image's ELF entry point (e_entry) is used. Replaces `VIRT_ENTRY` of `__xen_guest`.
 */
#define PVCORE_XEN_ELFNOTE_ENTRY 1

/**
 * Integer: the virtual address of a page-aligned page inside the image that the loader
 * fills with the hypercall stubs before the guest starts (32 bytes per hypercall number).
 */
#define PVCORE_XEN_ELFNOTE_HYPERCALL_PAGE 2

/**
 * Integer: the virtual address at which the image's initial mapping starts; pseudo-
 * physical address 0 is mapped here. 0 when absent. Replaces `VIRT_BASE` of
 * `__xen_guest`.
 */
#define PVCORE_XEN_ELFNOTE_VIRT_BASE 3

/**
 * Integer: the value subtracted from each program header's p_paddr to obtain the
 * segment's pseudo-physical address, which VIRT_BASE then turns into its virtual
 * address. Replaces `ELF_PADDR_OFFSET` of `__xen_guest`; when an image has notes but not
 * this one, the offset is 0.
 */
#define PVCORE_XEN_ELFNOTE_PADDR_OFFSET 4

/** String: the hypervisor interface version the image was built for, such as "xen-3.0". */
#define PVCORE_XEN_ELFNOTE_XEN_VERSION 5

/** String: the guest operating system's name, such as "Linux". */
#define PVCORE_XEN_ELFNOTE_GUEST_OS 6

/** String: the guest operating system's version. */
#define PVCORE_XEN_ELFNOTE_GUEST_VERSION 7

/**
 * String: the loader convention the image expects; "generic" for the standard one
 * described by these notes.
 */
#define PVCORE_XEN_ELFNOTE_LOADER 8

/**
 * String: whether a 32-bit image uses PAE paging: "yes", "yes[extended-cr3]", "bimodal"
 * or "no". In a note (unlike `PAE` of `__xen_guest`) "yes" means the same as
 * "yes[extended-cr3]": the guest's top-level PAE table may lie above 4 GiB.
 */
#define PVCORE_XEN_ELFNOTE_PAE_MODE 9

/**
 * String: `|`-separated names of the optional hypervisor features (XENFEAT_*) the image
 * needs or uses; a name prefixed with `!` is required rather than merely supported.
 */
#define PVCORE_XEN_ELFNOTE_FEATURES 10

/**
 * String: "yes" if the image wants its symbol table loaded after it, "no" otherwise.
 */
#define PVCORE_XEN_ELFNOTE_BSD_SYMTAB 11

/**
 * Integer: the lowest address at which the hypervisor's hole in a 32-bit guest's address
 * space may start. The note also tells the hypervisor that the guest copes with a hole
 * starting higher than that.
 */
#define PVCORE_XEN_ELFNOTE_HV_START_LOW 12

/**
 * Integers, in pairs of machine-address size (mask, value): an L1 page-table entry whose
 * bits under a mask equal the value carries a machine frame number, even when it is not
 * present. Used by tools that save and restore the domain.
 */
#define PVCORE_XEN_ELFNOTE_L1_MFN_VALID 13

/**
 * Integer: non-zero if the guest supports the suspend hypercall returning 1 to cancel a
 * suspend (the guest resumes in the same domain).
 */
#define PVCORE_XEN_ELFNOTE_SUSPEND_CANCEL 14

/**
 * Integer: the virtual address at which the loader should place the initial p2m list,
 * outside the initial mapping (for large guests).
 */
#define PVCORE_XEN_ELFNOTE_INIT_P2M 15

/**
 * Integer: non-zero if the guest understands start_info.mod_start given as a frame
 * number (the SIF_MOD_START_PFN flag).
 */
#define PVCORE_XEN_ELFNOTE_MOD_START_PFN 16

/**
 * Integer: a bitmap of XENFEAT_* features the image supports (bit n for feature n),
 * alongside the string form of #PVCORE_XEN_ELFNOTE_FEATURES.
 */
#define PVCORE_XEN_ELFNOTE_SUPPORTED_FEATURES 17

/**
 * Integer (4 bytes): the 32-bit physical entry point of an image that can also be
 * started as a PVH guest, in 32-bit protected mode with paging off.
 */
#define PVCORE_XEN_ELFNOTE_PHYS32_ENTRY 18

/** The highest note type defined above. */
#define PVCORE_XEN_ELFNOTE_MAX PVCORE_XEN_ELFNOTE_PHYS32_ENTRY

/** @} */

#endif /* PVCORE_ABI_ELFNOTE_H */
