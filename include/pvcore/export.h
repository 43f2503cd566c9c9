/**
 * @file
 * @brief Symbol export and C++ linkage macros used by every public header.
 *
 * The library is built with hidden visibility; only declarations marked with
 * `PVCORE_API` are exported from the shared object, and the ELF version script
 * additionally limits the export list to `pvcore_*`.
 */
#ifndef PVCORE_EXPORT_H
#define PVCORE_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
/** Marks a function as part of the public, exported API of libpvcore. */
#define PVCORE_API __attribute__((visibility("default")))
/** Warns when a caller ignores the returned error code. */
#define PVCORE_MUST_CHECK __attribute__((warn_unused_result))
#else
#define PVCORE_API
#define PVCORE_MUST_CHECK
#endif

#ifdef __cplusplus
/** Opens a block of declarations with C linkage (no-op in C). */
#define PVCORE_BEGIN_DECLS extern "C" {
/** Closes a block opened by #PVCORE_BEGIN_DECLS. */
#define PVCORE_END_DECLS }
#else
#define PVCORE_BEGIN_DECLS
#define PVCORE_END_DECLS
#endif

/* The hosted libraries (pvcore::pvcore, pvcore::pvcore_static, pvcore::pvcore_host; pvcore.pc
 * and pvcore-host.pc) define PVCORE_HOSTED_LIBRARY for the code that uses them: they are
 * built for a Linux process (SSE, red zone). In a -ffreestanding build that is a mistake:
 * a kernel links pvcore-freestanding-<arch> instead (docs/sdk.md). */
#if defined(PVCORE_HOSTED_LIBRARY) && defined(__STDC_HOSTED__) && __STDC_HOSTED__ == 0
#error "the hosted libpvcore in a freestanding build: use pvcore-freestanding-x86_64 / -i386 (pkg-config) or pvcore::pvcore_freestanding_<arch> (CMake)"
#endif

#endif /* PVCORE_EXPORT_H */
