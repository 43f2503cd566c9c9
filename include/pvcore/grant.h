/**
 * @file
 * @brief Grant tables: the frames a domain shares its grant entries through.
 *
 * Version 1, served by pvcore_hypercall() and pvcore_cpu_hypercall():
 * #PVCORE_GNTTABOP_setup_table, #PVCORE_GNTTABOP_query_size, #PVCORE_GNTTABOP_set_version,
 * #PVCORE_GNTTABOP_get_version, #PVCORE_GNTTABOP_map_grant_ref,
 * #PVCORE_GNTTABOP_unmap_grant_ref, #PVCORE_GNTTABOP_unmap_and_replace,
 * #PVCORE_GNTTABOP_copy, #PVCORE_GNTTABOP_transfer (page transfer: the frame's owner,
 * M2P and P2M change) and #PVCORE_GNTTABOP_swap_grant_ref, with Xen's GNTST_* results;
 * and version 2
 * (#PVCORE_GNTTABOP_set_version to 2, #PVCORE_GNTTABOP_get_status_frames) for a domain given
 * status frames (pvcore_domain_set_grant_status_frames()): 16-byte entries, the in-use bits
 * in the status array, sub-page grants for copies. Transitive grants are refused, as Xen
 * maps none. #PVCORE_GNTTABOP_cache_flush of a frame the caller owns or holds a grant
 * mapping of calls the flush_cache hook for #PVCORE_GNTTAB_CACHE_CLEAN (with or without
 * INVAL); INVAL alone is -PVCORE_EOPNOTSUPP and any other op bit (source grant references
 * too) -PVCORE_EINVAL, a free frame -PVCORE_EPERM, as Xen 4.17 on x86. The command's bits
 * 12-31 (Xen's continuation argument) are -PVCORE_EINVAL for every other op.
 *
 * Mapping: a host mapping goes into an L1 entry of the mapper's own live L1 table, named by
 * its machine address (#PVCORE_GNTMAP_contains_pte, 8-byte aligned) or by a guest virtual
 * address in the vCPU's kernel tables; the entry is Xen's grant PTE (present, accessed,
 * dirty, not executable unless the machine has #PVCORE_MACHINE_NO_NX, writable unless
 * #PVCORE_GNTMAP_readonly, user with #PVCORE_GNTMAP_application_map, the guest's three
 * available bits from flags bits 16-18 in PTE bits 9-11) marked as a
 * grant mapping. A guest cannot write such a mark itself, nor change or remove a marked
 * entry with mmu_update or update_va_mapping (-PVCORE_EINVAL): only the grant interface
 * does. Every successful map returns the frame's bus address (its machine address) in
 * `dev_bus_addr`, as Xen does for host-only maps too. A copy names a frame of its own only
 * with DOMID_SELF (any other domain id needs a grant, whoever the caller). Each part
 * holds a general reference on the frame and, when writable, a writable type reference, so
 * the granted frame can neither become a page table nor change owner while it is mapped
 * writable, nor be freed while it is mapped at all. A copy pins its grants for the copy only.
 *
 * The embedder gives each domain, besides its table's frames, the state the library keeps
 * for it (pvcore_domain_set_grant_state()): an active entry per grant of its table (whoever
 * maps it pins it there) and a maptrack entry per handle it may hold as a mapper. A domain
 * without that state can neither map grants (#PVCORE_GNTST_no_device_space) nor have its
 * grants mapped (#PVCORE_GNTST_bad_gntref). Destroying a domain unmaps every mapping it
 * holds; its own frames mapped by others stay until those are unmapped
 * (pvcore_domain_destroy() returns -PVCORE_EBUSY meanwhile).
 *
 * The embedder gives each domain the frames of its table (pvcore_domain_set_grant_frames()):
 * frames of the domain, outside its pseudo-physical space like the shared-info page, zeroed.
 * setup_table hands their machine frame numbers to the guest, which maps them (writable:
 * the guest writes its grant entries there) with update_va_mapping or mmu_update.
 */
#ifndef PVCORE_GRANT_H
#define PVCORE_GRANT_H

#include <stddef.h>
#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/domain.h>

PVCORE_BEGIN_DECLS

/** The most grant-table frames a domain may be given (Xen's default limit). */
#define PVCORE_GRANT_MAX_FRAMES 64u

/**
 * @brief Gives domain `d` the frames of its grant table.
 *
 * The table starts with no frame in use; #PVCORE_GNTTABOP_setup_table grows it up to `nr` frames.
 * @param d The domain.
 * @param frames `nr` machine frames owned by `d`; the array is copied.
 * @param nr At most #PVCORE_GRANT_MAX_FRAMES.
 * @return 0; -PVCORE_EINVAL for a NULL argument, too many frames, a frame not owned by
 *         `d`, or a table already given.
 * @note Call before the domain runs.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_set_grant_frames(struct pvcore_domain *d,
                                                               const pvcore_mfn_t *frames, uint32_t nr);

/** The most version-2 status frames a domain needs: 2048 status words per frame for the
 * 256 version-2 entries of each of #PVCORE_GRANT_MAX_FRAMES frames. */
#define PVCORE_GRANT_MAX_STATUS_FRAMES 8u

/**
 * @brief Gives domain `d` the frames of its version-2 status array, which lets it switch
 * its table to version 2 (#PVCORE_GNTTABOP_set_version).
 *
 * Without them the domain's table is version 1 only: set_version(2) gives -PVCORE_ENOSYS.
 * Like the table's frames they are held writable for the domain's life, whatever version
 * is in force, so switching back to version 1 never frees a frame the guest may still map
 * (XSA-255).
 * @param d      The domain, after pvcore_domain_set_grant_frames().
 * @param frames `nr` zeroed machine frames owned by `d` (outside its pseudo-physical
 *               space); the array is copied.
 * @param nr     At least (frames of the table + 7) / 8, at most #PVCORE_GRANT_MAX_STATUS_FRAMES.
 * @return 0; -PVCORE_EINVAL for a NULL argument, a count out of range or a frame not owned
 *         by `d`; -PVCORE_EBUSY if it has them already or a frame is a page table.
 * @note Call before the domain runs.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_set_grant_status_frames(struct pvcore_domain *d,
                                                                      const pvcore_mfn_t *frames,
                                                                      uint32_t nr);

/** The most maptrack handles a domain may be given. */
#define PVCORE_GRANT_MAX_HANDLES (1u << 20)

/**
 * @brief Bytes of grant state for a domain with a table of `nr_frames` frames and
 * `nr_handles` maptrack handles.
 * @param nr_frames  The frames given with pvcore_domain_set_grant_frames().
 * @param nr_handles Mappings the domain may hold at once.
 * @return The size: 16 bytes per grant entry (512 per frame) and 40 per handle.
 */
PVCORE_API size_t pvcore_grant_state_size(uint32_t nr_frames, uint32_t nr_handles);

/**
 * @brief Gives domain `d` the memory of its grant state: the active entries of its table
 * and its maptrack.
 *
 * @param d          The domain, after pvcore_domain_set_grant_frames() (its frame count
 *                   sizes the active entries).
 * @param mem        Embedder memory, 8-byte aligned, kept until the domain is destroyed;
 *                   zeroed here.
 * @param len        Its size: at least pvcore_grant_state_size() of the domain's frames
 *                   and `nr_handles`.
 * @param nr_handles Mappings the domain may hold at once, at most
 *                   #PVCORE_GRANT_MAX_HANDLES.
 * @return 0; -PVCORE_EINVAL for a NULL or misaligned argument, too many handles or too
 *         small a length; -PVCORE_EBUSY if the domain has its state already.
 * @note Call before the domain runs.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_set_grant_state(struct pvcore_domain *d, void *mem,
                                                              size_t len, uint32_t nr_handles);

PVCORE_END_DECLS

#endif /* PVCORE_GRANT_H */
