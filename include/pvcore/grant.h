/**
 * @file
 * @brief Grant tables: the frames a domain shares its grant entries through.
 *
 * What is here so far is the table itself, as a guest sets it up: grant_table_op's
 * #PVCORE_GNTTABOP_setup_table, #PVCORE_GNTTABOP_query_size, #PVCORE_GNTTABOP_set_version and
 * #PVCORE_GNTTABOP_get_version, served by pvcore_hypercall() and pvcore_cpu_hypercall(). Version 1
 * only: asking for version 2 gives -PVCORE_ENOSYS, as from a Xen whose grant tables are
 * limited to version 1. Mapping, copying and transferring grants are not implemented yet;
 * their sub-commands give -PVCORE_ENOSYS.
 *
 * The embedder gives each domain the frames of its table (pvcore_domain_set_grant_frames()):
 * frames of the domain, outside its pseudo-physical space like the shared-info page, zeroed.
 * setup_table hands their machine frame numbers to the guest, which maps them (writable:
 * the guest writes its grant entries there) with update_va_mapping or mmu_update.
 */
#ifndef PVCORE_GRANT_H
#define PVCORE_GRANT_H

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

PVCORE_END_DECLS

#endif /* PVCORE_GRANT_H */
