/**
 * @file
 * @brief Typed frame numbers and addresses.
 *
 * Machine frames, guest frames and addresses are distinct single-member structs, so that
 * passing a guest frame where a machine frame is expected is a compile error rather than
 * a security bug. Convert only through the helpers below. Every public prototype that
 * takes or returns a machine or guest frame number uses these types; wire-format fields
 * (requests copied from guests), arrays the embedder shares with guests (M2P, P2M) and
 * byte addresses stay plain integers, as the ABI has them. The struct tags end in `_s`
 * so that the constructors (pvcore_mfn(), ...) do not hide them in C++.
 */
#ifndef PVCORE_TYPES_H
#define PVCORE_TYPES_H

#include <stdint.h>

/** log2 of the x86 page size used throughout the ABI. */
#define PVCORE_PAGE_SHIFT 12
/** The x86 page size in bytes (4 KiB). */
#define PVCORE_PAGE_SIZE (1u << PVCORE_PAGE_SHIFT)

/** A machine frame number: a host-physical address divided by #PVCORE_PAGE_SIZE. */
typedef struct pvcore_mfn_s {
    uint64_t v; /**< The frame number. */
} pvcore_mfn_t;

/** A guest frame number (a pseudo-physical frame of one domain). */
typedef struct pvcore_gfn_s {
    uint64_t v; /**< The frame number. */
} pvcore_gfn_t;

/** A machine (host-physical) byte address. */
typedef struct pvcore_maddr_s {
    uint64_t v; /**< The address in bytes. */
} pvcore_maddr_t;

/** A guest virtual address. */
typedef struct pvcore_vaddr_s {
    uint64_t v; /**< The address in bytes. */
} pvcore_vaddr_t;

/** The invalid machine frame: all ones, as Xen's INVALID_MFN. */
#define PVCORE_INVALID_MFN_VALUE UINT64_MAX

/**
 * @brief Makes a machine frame number from a raw value.
 * @param v The frame number.
 * @return The typed frame number.
 */
static inline pvcore_mfn_t pvcore_mfn(uint64_t v)
{
    pvcore_mfn_t m;
    m.v = v;
    return m;
}

/**
 * @brief Makes a guest frame number from a raw value.
 * @param v The frame number.
 * @return The typed frame number.
 */
static inline pvcore_gfn_t pvcore_gfn(uint64_t v)
{
    pvcore_gfn_t g;
    g.v = v;
    return g;
}

/**
 * @brief Makes a machine address from a raw value.
 * @param v The address in bytes.
 * @return The typed address.
 */
static inline pvcore_maddr_t pvcore_maddr(uint64_t v)
{
    pvcore_maddr_t a;
    a.v = v;
    return a;
}

/**
 * @brief Makes a guest virtual address from a raw value.
 * @param v The address in bytes.
 * @return The typed address.
 */
static inline pvcore_vaddr_t pvcore_vaddr(uint64_t v)
{
    pvcore_vaddr_t a;
    a.v = v;
    return a;
}

/**
 * @brief The machine frame that contains a machine address.
 * @param a The address.
 * @return `a >> 12`.
 */
static inline pvcore_mfn_t pvcore_maddr_to_mfn(pvcore_maddr_t a)
{
    return pvcore_mfn(a.v >> PVCORE_PAGE_SHIFT);
}

/**
 * @brief The machine address of the first byte of a machine frame.
 * @param m The frame; must be below 2^52 for the result to be meaningful.
 * @return `m << 12`.
 */
static inline pvcore_maddr_t pvcore_mfn_to_maddr(pvcore_mfn_t m)
{
    return pvcore_maddr(m.v << PVCORE_PAGE_SHIFT);
}

/**
 * @brief Whether two machine frame numbers are equal.
 * @param a First frame.
 * @param b Second frame.
 * @return Non-zero if equal.
 */
static inline int pvcore_mfn_eq(pvcore_mfn_t a, pvcore_mfn_t b)
{
    return a.v == b.v;
}

#endif /* PVCORE_TYPES_H */
