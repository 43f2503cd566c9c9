/**
 * @file
 * @brief Error values and their names.
 *
 * Every libpvcore function that can fail returns `int`: 0 on success or the negative of
 * a `PVCORE_E*` value from <pvcore/abi/errno.h>. Those values equal Xen's `XEN_E*`, so a
 * hypervisor built on libpvcore returns them to the guest unchanged.
 */
#ifndef PVCORE_ERROR_H
#define PVCORE_ERROR_H

#include <pvcore/export.h>
#include <pvcore/abi/errno.h>

PVCORE_BEGIN_DECLS

/**
 * @brief The symbolic name of an error value.
 *
 * @param err An error value, either sign (`-PVCORE_EINVAL` and `PVCORE_EINVAL` give
 *            the same answer), or 0.
 * @return A static string: "OK" for 0, the ABI name such as "EINVAL" for a known value,
 *         or "E?" for a value the ABI does not define. Never NULL.
 * @note Thread-safe; no side effects; usable freestanding.
 */
PVCORE_API const char *pvcore_strerror(int err);

PVCORE_END_DECLS

#endif /* PVCORE_ERROR_H */
