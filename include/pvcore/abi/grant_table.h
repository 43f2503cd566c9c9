/**
 * @file
 * @brief Grant tables, version 1: the shared grant entries and the `grant_table_op`
 *        operations.
 *
 * A domain (the granter) lets another domain (the grantee) use one of its frames by
 * filling an entry of its grant table, a shared array of struct pvcore_grant_entry_v1,
 * and passing the entry's index (the grant reference) to the grantee, typically through
 * xenstore or a ring request. The grantee then asks the hypervisor to map the frame, to
 * copy to or from it, or to transfer a frame into it.
 *
 * To publish an entry the granter writes `domid` and `frame`, then (after a write
 * barrier) `flags`. To revoke it the granter clears `flags` with an atomic
 * compare-and-swap that fails while the hypervisor has set #PVCORE_GTF_reading or
 * #PVCORE_GTF_writing, which mark the grant as in use.
 *
 * `grant_table_op(cmd, ops, count)` (hypercall #PVCORE_HYPERVISOR_grant_table_op) takes a
 * GNTTABOP_* command and an array of `count` structures of that command's type. Each
 * structure reports its own result in its `status` field (a GNTST_* value); the
 * hypercall's return value reports only failures of the call as a whole.
 *
 * Names follow <pvcore/abi/xen.h>. Structures that hold a guest address or a frame
 * number of the guest's word size come in `_x86_32` and `_x86_64` versions.
 */
#ifndef PVCORE_ABI_GRANT_TABLE_H
#define PVCORE_ABI_GRANT_TABLE_H

#include <stdint.h>

#include <pvcore/abi/xen.h>

/**
 * @defgroup pvcore_abi_grant Grant tables
 * @brief Grant entries (v1), flags, operations and status codes.
 * @{
 */

/** A grant reference: an index into the granting domain's grant table. */
typedef uint32_t pvcore_grant_ref_t;

/** A mapping handle returned by #PVCORE_GNTTABOP_map_grant_ref and presented to unmap it. */
typedef uint32_t pvcore_grant_handle_t;

/**
 * A version-1 grant entry (8 bytes; 512 per 4 KiB page). Tags say who writes each field:
 * [G] the granting guest, [H] the hypervisor.
 */
struct pvcore_grant_entry_v1 {
    uint16_t flags;        /**< [G,H] GTF_* type and flags. The guest sets the type last; the hypervisor sets and clears the in-use bits. */
    pvcore_domid_t domid;  /**< [G] The domain the grant is for. */
    uint32_t frame;        /**< [G] permit_access: the frame the grantee may use; accept_transfer: the frame to receive into. [H] after a completed transfer: the frame transferred in. */
};
/** Typedef for struct pvcore_grant_entry_v1. */
typedef struct pvcore_grant_entry_v1 pvcore_grant_entry_v1_t;

/** The first 4 bytes of a version-2 entry, laid out as a version-1 entry's. */
struct pvcore_grant_entry_header {
    uint16_t flags;       /**< [G] GTF_* type and flags (in version 2 the in-use bits are in the status array). */
    pvcore_domid_t domid; /**< [G] The domain the grant is for. */
};
/** Typedef for struct pvcore_grant_entry_header. */
typedef struct pvcore_grant_entry_header pvcore_grant_entry_header_t;

/** A version-2 full-page grant (#PVCORE_GTF_permit_access without #PVCORE_GTF_sub_page, or #PVCORE_GTF_accept_transfer). */
struct pvcore_grant_entry_v2_full_page {
    struct pvcore_grant_entry_header hdr; /**< Type, flags, grantee. */
    uint32_t pad0;                        /**< Unused. */
    uint64_t frame;                       /**< The frame, as in version 1. */
};

/** A version-2 sub-page grant: bytes [page_off, page_off + length) of `frame` (#PVCORE_GTF_sub_page; copies only). */
struct pvcore_grant_entry_v2_sub_page {
    struct pvcore_grant_entry_header hdr; /**< Type, flags, grantee. */
    uint16_t page_off;                    /**< First byte granted. */
    uint16_t length;                      /**< Number of bytes granted. */
    uint64_t frame;                       /**< The frame. */
};

/** A version-2 transitive grant: `gref` of `trans_domid`, used as if by the granter (#PVCORE_GTF_transitive). */
struct pvcore_grant_entry_v2_transitive {
    struct pvcore_grant_entry_header hdr; /**< Type, flags, grantee. */
    pvcore_domid_t trans_domid;           /**< The domain that granted to the granter. */
    uint16_t pad0;                        /**< Unused. */
    pvcore_grant_ref_t gref;              /**< Its grant reference. */
};

/**
 * A version-2 grant entry (16 bytes; 256 per 4 KiB page). The in-use bits
 * (#PVCORE_GTF_reading, #PVCORE_GTF_writing) live in a separate status array of
 * #pvcore_grant_status_t, one per entry, in the status frames
 * (#PVCORE_GNTTABOP_get_status_frames).
 */
union pvcore_grant_entry_v2 {
    struct pvcore_grant_entry_header hdr;              /**< The common prefix. */
    struct pvcore_grant_entry_v2_full_page full_page;  /**< A full-page grant. */
    struct pvcore_grant_entry_v2_sub_page sub_page;    /**< A sub-page grant. */
    struct pvcore_grant_entry_v2_transitive transitive; /**< A transitive grant. */
    uint32_t spacer[4];                                /**< Pads to 16 bytes. */
};
/** Typedef for union pvcore_grant_entry_v2. */
typedef union pvcore_grant_entry_v2 pvcore_grant_entry_v2_t;

/** A version-2 status entry: #PVCORE_GTF_reading and #PVCORE_GTF_writing, set by the hypervisor. */
typedef uint16_t pvcore_grant_status_t;

/**
 * @name Reserved grant references
 * The first entries of every grant table are set aside for the toolstack.
 * @{
 */
/** Number of reserved entries at the start of the table; guests allocate from here on. */
#define PVCORE_GNTTAB_NR_RESERVED_ENTRIES 8
/** Reserved entry granting the console ring page to the console backend. */
#define PVCORE_GNTTAB_RESERVED_CONSOLE 0
/** Reserved entry granting the xenstore ring page to the xenstore domain. */
#define PVCORE_GNTTAB_RESERVED_XENSTORE 1
/** @} */

/**
 * @name Grant entry flags (grant_entry_v1.flags)
 * Bits 1:0 give the type; the other bits qualify it.
 * @{
 */
/** Type: the entry grants nothing. */
#define PVCORE_GTF_invalid (0U << 0)
/** Type: `domid` may map and access `frame`. */
#define PVCORE_GTF_permit_access (1U << 0)
/** Type: `domid` may transfer a frame of its own into this entry. */
#define PVCORE_GTF_accept_transfer (2U << 0)
/** Type: access to another grant (version 2 only). */
#define PVCORE_GTF_transitive (3U << 0)
/** Mask of the type bits. */
#define PVCORE_GTF_type_mask (3U << 0)
/** Bit number of #PVCORE_GTF_readonly. */
#define PVCORE_GTF_readonly_BIT 2
/** permit_access: only read access is granted. */
#define PVCORE_GTF_readonly (1U << PVCORE_GTF_readonly_BIT)
/** Bit number of #PVCORE_GTF_reading. */
#define PVCORE_GTF_reading_BIT 3
/** permit_access, set by the hypervisor: the grantee holds a mapping or copy that may read. */
#define PVCORE_GTF_reading (1U << PVCORE_GTF_reading_BIT)
/** Bit number of #PVCORE_GTF_writing. */
#define PVCORE_GTF_writing_BIT 4
/** permit_access, set by the hypervisor: the grantee holds a mapping or copy that may write. */
#define PVCORE_GTF_writing (1U << PVCORE_GTF_writing_BIT)
/** Bit number of #PVCORE_GTF_PWT. */
#define PVCORE_GTF_PWT_BIT 5
/** permit_access: map with the PWT (write-through) page attribute. */
#define PVCORE_GTF_PWT (1U << PVCORE_GTF_PWT_BIT)
/** Bit number of #PVCORE_GTF_PCD. */
#define PVCORE_GTF_PCD_BIT 6
/** permit_access: map with the PCD (cache-disable) page attribute. */
#define PVCORE_GTF_PCD (1U << PVCORE_GTF_PCD_BIT)
/** Bit number of #PVCORE_GTF_PAT. */
#define PVCORE_GTF_PAT_BIT 7
/** permit_access: map with the PAT page attribute. */
#define PVCORE_GTF_PAT (1U << PVCORE_GTF_PAT_BIT)
/** Bit number of #PVCORE_GTF_sub_page. */
#define PVCORE_GTF_sub_page_BIT 8
/** permit_access: only part of the frame is granted (version 2 only). */
#define PVCORE_GTF_sub_page (1U << PVCORE_GTF_sub_page_BIT)
/** Bit number of #PVCORE_GTF_transfer_committed. */
#define PVCORE_GTF_transfer_committed_BIT 2
/**
 * accept_transfer, set by the hypervisor: a transfer into this entry has started and
 * can no longer be refused; the granter must wait for #PVCORE_GTF_transfer_completed.
 */
#define PVCORE_GTF_transfer_committed (1U << PVCORE_GTF_transfer_committed_BIT)
/** Bit number of #PVCORE_GTF_transfer_completed. */
#define PVCORE_GTF_transfer_completed_BIT 3
/** accept_transfer, set by the hypervisor: the transfer is done and `frame` holds the new frame. */
#define PVCORE_GTF_transfer_completed (1U << PVCORE_GTF_transfer_completed_BIT)
/** @} */

/**
 * @name Commands of grant_table_op
 * @{
 */
/** Map grants (struct pvcore_gnttab_map_grant_ref). */
#define PVCORE_GNTTABOP_map_grant_ref 0
/** Unmap grants (struct pvcore_gnttab_unmap_grant_ref). */
#define PVCORE_GNTTABOP_unmap_grant_ref 1
/** Size the caller's table and get its frames (struct pvcore_gnttab_setup_table_x86_64 and _x86_32). */
#define PVCORE_GNTTABOP_setup_table 2
/** Dump a table to the hypervisor console, for debugging (struct pvcore_gnttab_dump_table). */
#define PVCORE_GNTTABOP_dump_table 3
/** Give frames to other domains (struct pvcore_gnttab_transfer_x86_64 and _x86_32). */
#define PVCORE_GNTTABOP_transfer 4
/** Copy between frames and/or grants (struct pvcore_gnttab_copy_x86_64 and _x86_32). */
#define PVCORE_GNTTABOP_copy 5
/** Report a table's current and maximum size (struct pvcore_gnttab_query_size). */
#define PVCORE_GNTTABOP_query_size 6
/** Unmap a grant, putting another mapping in its place (struct pvcore_gnttab_unmap_and_replace). */
#define PVCORE_GNTTABOP_unmap_and_replace 7
/** Select the grant-table format version (struct pvcore_gnttab_set_version). */
#define PVCORE_GNTTABOP_set_version 8
/** Get the frames of the version-2 status array (struct pvcore_gnttab_get_status_frames_x86_64 and _x86_32). */
#define PVCORE_GNTTABOP_get_status_frames 9
/** Report a domain's grant-table version (struct pvcore_gnttab_get_version). */
#define PVCORE_GNTTABOP_get_version 10
/** Swap two of the caller's grant entries (struct pvcore_gnttab_swap_grant_ref). */
#define PVCORE_GNTTABOP_swap_grant_ref 11
/** Clean or invalidate caches for a granted range (struct pvcore_gnttab_cache_flush). */
#define PVCORE_GNTTABOP_cache_flush 12
/** @} */

/**
 * @name Mapping flags (gnttab_map_grant_ref.flags)
 * @{
 */
/** Bit number of #PVCORE_GNTMAP_device_map. */
#define PVCORE_GNTMAP_device_map_BIT 0
/** Map for device (DMA) access; the bus address is returned in `dev_bus_addr`. */
#define PVCORE_GNTMAP_device_map (1 << PVCORE_GNTMAP_device_map_BIT)
/** Bit number of #PVCORE_GNTMAP_host_map. */
#define PVCORE_GNTMAP_host_map_BIT 1
/** Map for CPU access, at `host_addr`. */
#define PVCORE_GNTMAP_host_map (1 << PVCORE_GNTMAP_host_map_BIT)
/** Bit number of #PVCORE_GNTMAP_readonly. */
#define PVCORE_GNTMAP_readonly_BIT 2
/** Map read-only (required when the grant is #PVCORE_GTF_readonly). */
#define PVCORE_GNTMAP_readonly (1 << PVCORE_GNTMAP_readonly_BIT)
/** Bit number of #PVCORE_GNTMAP_application_map. */
#define PVCORE_GNTMAP_application_map_BIT 3
/** With host_map: make the mapping usable by user mode as well as the guest kernel. */
#define PVCORE_GNTMAP_application_map (1 << PVCORE_GNTMAP_application_map_BIT)
/** Bit number of #PVCORE_GNTMAP_contains_pte. */
#define PVCORE_GNTMAP_contains_pte_BIT 4
/**
 * With host_map: `host_addr` is the machine address of the page-table entry to write
 * (8-byte aligned) rather than a virtual address in the current address space.
 */
#define PVCORE_GNTMAP_contains_pte (1 << PVCORE_GNTMAP_contains_pte_BIT)
/** Bit number of the lowest guest-available flag bit. */
#define PVCORE_GNTMAP_guest_avail0_BIT 16
/** Flag bits 31:16, which a guest may use to pass PTE software bits through (see XENFEAT_gnttab_map_avail_bits). */
#define PVCORE_GNTMAP_guest_avail_mask 0xFFFF0000U
/** @} */

/**
 * @name Copy flags (gnttab_copy.flags)
 * @{
 */
/** Bit number of #PVCORE_GNTCOPY_source_gref. */
#define PVCORE_GNTCOPY_source_gref_BIT 0
/** The source is a grant reference of `source.domid`, not a frame. */
#define PVCORE_GNTCOPY_source_gref (1 << PVCORE_GNTCOPY_source_gref_BIT)
/** Bit number of #PVCORE_GNTCOPY_dest_gref. */
#define PVCORE_GNTCOPY_dest_gref_BIT 1
/** The destination is a grant reference of `dest.domid`, not a frame. */
#define PVCORE_GNTCOPY_dest_gref (1 << PVCORE_GNTCOPY_dest_gref_BIT)
/** @} */

/**
 * @name Cache operations (gnttab_cache_flush.op)
 * @{
 */
/** Clean (write back) the range. */
#define PVCORE_GNTTAB_CACHE_CLEAN (1U << 0)
/** Invalidate the range. */
#define PVCORE_GNTTAB_CACHE_INVAL (1U << 1)
/** `a` is a grant reference rather than a bus address. */
#define PVCORE_GNTTAB_CACHE_SOURCE_GREF (1U << 31)
/** @} */

/**
 * @name Per-operation status codes (the `status` fields)
 * @{
 */
/** Success. */
#define PVCORE_GNTST_okay (0)
/** An unspecified error. */
#define PVCORE_GNTST_general_error (-1)
/** The domain id is not recognised. */
#define PVCORE_GNTST_bad_domain (-2)
/** The grant reference is not recognised or not suitable. */
#define PVCORE_GNTST_bad_gntref (-3)
/** The mapping handle is not recognised or not suitable. */
#define PVCORE_GNTST_bad_handle (-4)
/** The virtual address cannot be used for the mapping. */
#define PVCORE_GNTST_bad_virt_addr (-5)
/** The device address does not match the mapping being removed. */
#define PVCORE_GNTST_bad_dev_addr (-6)
/** The I/O MMU has no room for the mapping. */
#define PVCORE_GNTST_no_device_space (-7)
/** The caller lacks the privilege or the grant lacks the permission. */
#define PVCORE_GNTST_permission_denied (-8)
/** The page is not valid for the operation. */
#define PVCORE_GNTST_bad_page (-9)
/** A copy's source or destination range crosses a page boundary. */
#define PVCORE_GNTST_bad_copy_arg (-10)
/** A transferred frame's address is too large for the receiver. */
#define PVCORE_GNTST_address_too_big (-11)
/** The operation was not done; retry it. */
#define PVCORE_GNTST_eagain (-12)
/** Out of space (for example, of mapping handles). */
#define PVCORE_GNTST_no_space (-13)
/** @} */

/**
 * #PVCORE_GNTTABOP_map_grant_ref: map grant `ref` of domain `dom` (same layout for both widths,
 * 32 bytes). On success `handle` identifies the mapping for a later unmap.
 */
struct pvcore_gnttab_map_grant_ref {
    uint64_t host_addr;            /**< In: virtual address to map at, or with #PVCORE_GNTMAP_contains_pte the machine address of the PTE. */
    uint32_t flags;                /**< In: GNTMAP_* flags. */
    pvcore_grant_ref_t ref;        /**< In: the grant reference. */
    pvcore_domid_t dom;            /**< In: the granting domain. */
    int16_t status;                /**< Out: GNTST_* result. */
    pvcore_grant_handle_t handle;  /**< Out: handle of the new mapping. */
    uint64_t dev_bus_addr;         /**< Out: with #PVCORE_GNTMAP_device_map, the address devices use. */
};
/** Typedef for struct pvcore_gnttab_map_grant_ref. */
typedef struct pvcore_gnttab_map_grant_ref pvcore_gnttab_map_grant_ref_t;

/**
 * #PVCORE_GNTTABOP_unmap_grant_ref: remove the mappings tracked by `handle` (24 bytes, both
 * widths). A zero `host_addr` or `dev_bus_addr` skips that kind of mapping; a non-zero
 * one must match. When a batch returns, no stale TLB entry for the removed mappings
 * remains.
 */
struct pvcore_gnttab_unmap_grant_ref {
    uint64_t host_addr;            /**< In: the address given at map time (or 0). */
    uint64_t dev_bus_addr;         /**< In: the device address returned at map time (or 0). */
    pvcore_grant_handle_t handle;  /**< In: the mapping handle. */
    int16_t status;                /**< Out: GNTST_* result. */
};
/** Typedef for struct pvcore_gnttab_unmap_grant_ref. */
typedef struct pvcore_gnttab_unmap_grant_ref pvcore_gnttab_unmap_grant_ref_t;

/**
 * #PVCORE_GNTTABOP_setup_table for a 32-bit guest (16 bytes): grow the table of `dom` to at
 * least `nr_frames` frames and write the first `nr_frames` frame numbers to the array
 * at `frame_list`.
 */
struct pvcore_gnttab_setup_table_x86_32 {
    pvcore_domid_t dom;    /**< In: DOMID_SELF, or another domain for a privileged caller. */
    uint32_t nr_frames;    /**< In: number of table frames wanted, at offset 4. */
    int16_t status;        /**< Out: GNTST_* result. */
    uint32_t frame_list;   /**< In: guest address of an array of `nr_frames` 4-byte frame numbers (filled in). */
};
/** Typedef for struct pvcore_gnttab_setup_table_x86_32. */
typedef struct pvcore_gnttab_setup_table_x86_32 pvcore_gnttab_setup_table_x86_32_t;

/** #PVCORE_GNTTABOP_setup_table for a 64-bit guest (24 bytes); see struct pvcore_gnttab_setup_table_x86_32. */
struct pvcore_gnttab_setup_table_x86_64 {
    pvcore_domid_t dom;    /**< In: DOMID_SELF, or another domain for a privileged caller. */
    uint32_t nr_frames;    /**< In: number of table frames wanted, at offset 4. */
    int16_t status;        /**< Out: GNTST_* result. */
    uint16_t _pad0[3];     /**< Padding (implicit in Xen). */
    uint64_t frame_list;   /**< In: guest address of an array of `nr_frames` 8-byte frame numbers (filled in). */
};
/** Typedef for struct pvcore_gnttab_setup_table_x86_64. */
typedef struct pvcore_gnttab_setup_table_x86_64 pvcore_gnttab_setup_table_x86_64_t;

/** #PVCORE_GNTTABOP_dump_table: print the grant table of `dom` on the hypervisor console (debugging). */
struct pvcore_gnttab_dump_table {
    pvcore_domid_t dom; /**< In: the domain. */
    int16_t status;     /**< Out: GNTST_* result. */
};
/** Typedef for struct pvcore_gnttab_dump_table. */
typedef struct pvcore_gnttab_dump_table pvcore_gnttab_dump_table_t;

/**
 * #PVCORE_GNTTABOP_transfer for a 32-bit guest (16 bytes): give the caller's frame `mfn` to
 * `domid`, into its accept_transfer grant `ref`. PV callers only. Unless the status is
 * #PVCORE_GNTST_bad_page the caller has lost the frame even if the transfer failed.
 */
struct pvcore_gnttab_transfer_x86_32 {
    pvcore_xen_pfn_x86_32_t mfn; /**< In: the frame to give away. */
    pvcore_domid_t domid;        /**< In: the receiving domain. */
    pvcore_grant_ref_t ref;      /**< In: the receiver's accept_transfer grant, at offset 8. */
    int16_t status;              /**< Out: GNTST_* result. */
};
/** Typedef for struct pvcore_gnttab_transfer_x86_32. */
typedef struct pvcore_gnttab_transfer_x86_32 pvcore_gnttab_transfer_x86_32_t;

/** #PVCORE_GNTTABOP_transfer for a 64-bit guest (24 bytes); see struct pvcore_gnttab_transfer_x86_32. */
struct pvcore_gnttab_transfer_x86_64 {
    pvcore_xen_pfn_x86_64_t mfn; /**< In: the frame to give away. */
    pvcore_domid_t domid;        /**< In: the receiving domain. */
    pvcore_grant_ref_t ref;      /**< In: the receiver's accept_transfer grant, at offset 12. */
    int16_t status;              /**< Out: GNTST_* result. */
    uint16_t _pad0[3];           /**< Padding (implicit in Xen). */
};
/** Typedef for struct pvcore_gnttab_transfer_x86_64. */
typedef struct pvcore_gnttab_transfer_x86_64 pvcore_gnttab_transfer_x86_64_t;

/** Source or destination of a 32-bit guest's copy: a grant reference or a frame. */
union pvcore_gnttab_copy_ptr_u_x86_32 {
    pvcore_grant_ref_t ref;       /**< With the GNTCOPY_*_gref flag: a grant of `domid`. */
    pvcore_xen_pfn_x86_32_t gmfn; /**< Without it: a frame of the caller (`domid` DOMID_SELF). */
};
/** Typedef for union pvcore_gnttab_copy_ptr_u_x86_32. */
typedef union pvcore_gnttab_copy_ptr_u_x86_32 pvcore_gnttab_copy_ptr_u_x86_32_t;

/** One end of a 32-bit guest's copy (8 bytes). */
struct pvcore_gnttab_copy_ptr_x86_32 {
    union pvcore_gnttab_copy_ptr_u_x86_32 u; /**< The grant or frame. */
    pvcore_domid_t domid;                    /**< The domain owning it. */
    uint16_t offset;                         /**< Byte offset within the frame; offset + len must not exceed the page. */
};
/** Typedef for struct pvcore_gnttab_copy_ptr_x86_32. */
typedef struct pvcore_gnttab_copy_ptr_x86_32 pvcore_gnttab_copy_ptr_x86_32_t;

/**
 * #PVCORE_GNTTABOP_copy for a 32-bit guest (24 bytes): the hypervisor copies `len` bytes from
 * `source` to `dest`. Each end is a frame of the caller or a grant of another domain
 * (which must permit the access). Neither range may cross a page boundary.
 */
struct pvcore_gnttab_copy_x86_32 {
    struct pvcore_gnttab_copy_ptr_x86_32 source; /**< In: where to read. */
    struct pvcore_gnttab_copy_ptr_x86_32 dest;   /**< In: where to write, at offset 8. */
    uint16_t len;                                /**< In: number of bytes. */
    uint16_t flags;                              /**< In: GNTCOPY_* flags. */
    int16_t status;                              /**< Out: GNTST_* result. */
};
/** Typedef for struct pvcore_gnttab_copy_x86_32. */
typedef struct pvcore_gnttab_copy_x86_32 pvcore_gnttab_copy_x86_32_t;

/** Source or destination of a 64-bit guest's copy: a grant reference or a frame. */
union pvcore_gnttab_copy_ptr_u_x86_64 {
    pvcore_grant_ref_t ref;       /**< With the GNTCOPY_*_gref flag: a grant of `domid`. */
    pvcore_xen_pfn_x86_64_t gmfn; /**< Without it: a frame of the caller (`domid` DOMID_SELF). */
};
/** Typedef for union pvcore_gnttab_copy_ptr_u_x86_64. */
typedef union pvcore_gnttab_copy_ptr_u_x86_64 pvcore_gnttab_copy_ptr_u_x86_64_t;

/** One end of a 64-bit guest's copy (16 bytes). */
struct pvcore_gnttab_copy_ptr_x86_64 {
    union pvcore_gnttab_copy_ptr_u_x86_64 u; /**< The grant or frame. */
    pvcore_domid_t domid;                    /**< The domain owning it. */
    uint16_t offset;                         /**< Byte offset within the frame; offset + len must not exceed the page. */
    uint32_t _pad0;                          /**< Padding (implicit in Xen). */
};
/** Typedef for struct pvcore_gnttab_copy_ptr_x86_64. */
typedef struct pvcore_gnttab_copy_ptr_x86_64 pvcore_gnttab_copy_ptr_x86_64_t;

/** #PVCORE_GNTTABOP_copy for a 64-bit guest (40 bytes); see struct pvcore_gnttab_copy_x86_32. */
struct pvcore_gnttab_copy_x86_64 {
    struct pvcore_gnttab_copy_ptr_x86_64 source; /**< In: where to read. */
    struct pvcore_gnttab_copy_ptr_x86_64 dest;   /**< In: where to write, at offset 16. */
    uint16_t len;                                /**< In: number of bytes. */
    uint16_t flags;                              /**< In: GNTCOPY_* flags. */
    int16_t status;                              /**< Out: GNTST_* result. */
    uint16_t _pad0;                              /**< Padding (implicit in Xen). */
};
/** Typedef for struct pvcore_gnttab_copy_x86_64. */
typedef struct pvcore_gnttab_copy_x86_64 pvcore_gnttab_copy_x86_64_t;

/** #PVCORE_GNTTABOP_query_size: report the size of the grant table of `dom` (DOMID_SELF unless privileged). */
struct pvcore_gnttab_query_size {
    pvcore_domid_t dom;     /**< In: the domain. */
    uint32_t nr_frames;     /**< Out: current number of table frames, at offset 4. */
    uint32_t max_nr_frames; /**< Out: the most frames the table may grow to. */
    int16_t status;         /**< Out: GNTST_* result. */
};
/** Typedef for struct pvcore_gnttab_query_size. */
typedef struct pvcore_gnttab_query_size pvcore_gnttab_query_size_t;

/**
 * #PVCORE_GNTTABOP_unmap_and_replace (24 bytes, both widths): remove the host mapping tracked by
 * `handle` at `host_addr` and, in the same step, put there the entry that currently maps
 * `new_addr`, whose own entry is cleared.
 */
struct pvcore_gnttab_unmap_and_replace {
    uint64_t host_addr;           /**< In: the address of the grant mapping. */
    uint64_t new_addr;            /**< In: the address whose mapping moves to host_addr. */
    pvcore_grant_handle_t handle; /**< In: the mapping handle. */
    int16_t status;               /**< Out: GNTST_* result. */
};
/** Typedef for struct pvcore_gnttab_unmap_and_replace. */
typedef struct pvcore_gnttab_unmap_and_replace pvcore_gnttab_unmap_and_replace_t;

/** #PVCORE_GNTTABOP_set_version: select the format of the caller's table (before any grant is in use). */
struct pvcore_gnttab_set_version {
    uint32_t version; /**< In: 1 or 2. Out: the version in force. */
};
/** Typedef for struct pvcore_gnttab_set_version. */
typedef struct pvcore_gnttab_set_version pvcore_gnttab_set_version_t;

/** #PVCORE_GNTTABOP_get_status_frames for a 32-bit guest (12 bytes; version-2 tables only). */
struct pvcore_gnttab_get_status_frames_x86_32 {
    uint32_t nr_frames;  /**< In: number of status frames to report. */
    pvcore_domid_t dom;  /**< In: the domain. */
    int16_t status;      /**< Out: GNTST_* result. */
    uint32_t frame_list; /**< In: guest address of an array of `nr_frames` 8-byte frame numbers (filled in). */
};
/** Typedef for struct pvcore_gnttab_get_status_frames_x86_32. */
typedef struct pvcore_gnttab_get_status_frames_x86_32 pvcore_gnttab_get_status_frames_x86_32_t;

/** #PVCORE_GNTTABOP_get_status_frames for a 64-bit guest (16 bytes; version-2 tables only). */
struct pvcore_gnttab_get_status_frames_x86_64 {
    uint32_t nr_frames;  /**< In: number of status frames to report. */
    pvcore_domid_t dom;  /**< In: the domain. */
    int16_t status;      /**< Out: GNTST_* result. */
    uint64_t frame_list; /**< In: guest address of an array of `nr_frames` 8-byte frame numbers (filled in). */
};
/** Typedef for struct pvcore_gnttab_get_status_frames_x86_64. */
typedef struct pvcore_gnttab_get_status_frames_x86_64 pvcore_gnttab_get_status_frames_x86_64_t;

/** #PVCORE_GNTTABOP_get_version: report the grant-table version of `dom`. */
struct pvcore_gnttab_get_version {
    pvcore_domid_t dom; /**< In: the domain (DOMID_SELF unless privileged). */
    uint16_t pad;       /**< Unused. */
    uint32_t version;   /**< Out: 1 or 2. */
};
/** Typedef for struct pvcore_gnttab_get_version. */
typedef struct pvcore_gnttab_get_version pvcore_gnttab_get_version_t;

/** #PVCORE_GNTTABOP_swap_grant_ref: exchange two entries of the caller's table (neither may be in use). */
struct pvcore_gnttab_swap_grant_ref {
    pvcore_grant_ref_t ref_a; /**< In: first entry. */
    pvcore_grant_ref_t ref_b; /**< In: second entry. */
    int16_t status;           /**< Out: GNTST_* result. */
};
/** Typedef for struct pvcore_gnttab_swap_grant_ref. */
typedef struct pvcore_gnttab_swap_grant_ref pvcore_gnttab_swap_grant_ref_t;

/** The target of a cache flush: a bus address, or a grant reference with #PVCORE_GNTTAB_CACHE_SOURCE_GREF. */
union pvcore_gnttab_cache_flush_a {
    uint64_t dev_bus_addr;  /**< A device (bus) address. */
    pvcore_grant_ref_t ref; /**< A grant reference. */
};
/** Typedef for union pvcore_gnttab_cache_flush_a. */
typedef union pvcore_gnttab_cache_flush_a pvcore_gnttab_cache_flush_a_t;

/** #PVCORE_GNTTABOP_cache_flush: clean and/or invalidate caches for part of a granted frame (16 bytes). */
struct pvcore_gnttab_cache_flush {
    union pvcore_gnttab_cache_flush_a a; /**< In: the target. */
    uint16_t offset;                     /**< In: byte offset from the start of the target frame. */
    uint16_t length;                     /**< In: number of bytes, within the frame. */
    uint32_t op;                         /**< In: GNTTAB_CACHE_* operation flags. */
};
/** Typedef for struct pvcore_gnttab_cache_flush. */
typedef struct pvcore_gnttab_cache_flush pvcore_gnttab_cache_flush_t;

/**
 * @name Native-width aliases
 * For guest-side code compiled for x86; hypervisor code should name the `_x86_32` /
 * `_x86_64` versions explicitly.
 * @{
 */
#if defined(__x86_64__)
/** Native gnttab_setup_table. */
typedef pvcore_gnttab_setup_table_x86_64_t pvcore_gnttab_setup_table_t;
/** Native gnttab_transfer. */
typedef pvcore_gnttab_transfer_x86_64_t pvcore_gnttab_transfer_t;
/** Native gnttab_copy. */
typedef pvcore_gnttab_copy_x86_64_t pvcore_gnttab_copy_t;
/** Native gnttab_get_status_frames. */
typedef pvcore_gnttab_get_status_frames_x86_64_t pvcore_gnttab_get_status_frames_t;
#elif defined(__i386__)
/** Native gnttab_setup_table. */
typedef pvcore_gnttab_setup_table_x86_32_t pvcore_gnttab_setup_table_t;
/** Native gnttab_transfer. */
typedef pvcore_gnttab_transfer_x86_32_t pvcore_gnttab_transfer_t;
/** Native gnttab_copy. */
typedef pvcore_gnttab_copy_x86_32_t pvcore_gnttab_copy_t;
/** Native gnttab_get_status_frames. */
typedef pvcore_gnttab_get_status_frames_x86_32_t pvcore_gnttab_get_status_frames_t;
#endif
/** @} */

/** @} */

#endif /* PVCORE_ABI_GRANT_TABLE_H */
