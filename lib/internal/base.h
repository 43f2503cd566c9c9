/*
 * The basics every unit of the core shares: assertions, branch hints, the spinlock, and
 * the three libc functions the core may use. Never installed.
 */
#ifndef PVCORE_INTERNAL_BASE_H
#define PVCORE_INTERNAL_BASE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pvcore/abi/errno.h>
#include <pvcore/types.h>

#include "internal/mem.h"

/* Debug builds trap on a broken invariant; release builds compile the check away (the
 * expression is not evaluated). */
#if defined(__GNUC__) && !defined(NDEBUG)
#define PVCORE_DEBUG 1
#define PVCORE_ASSERT(c) \
    do { \
        if (!(c)) { \
            __builtin_trap(); \
        } \
    } while (0)
#else
#define PVCORE_DEBUG 0
#define PVCORE_ASSERT(c) ((void)sizeof(c))
#endif

/* Inline expansion the hot paths rely on (one guest request, one call), and the branch
 * hints that keep the common case of an update a straight run of code: a batch executes
 * it for every request, and each taken branch costs fetch bandwidth. */
#if defined(__GNUC__)
#define PVCORE_INLINE inline __attribute__((always_inline))
#define PVCORE_LIKELY(c) __builtin_expect(!!(c), 1)
#define PVCORE_UNLIKELY(c) __builtin_expect(!!(c), 0)
/* Out of line and out of the hot code's way: error reporting. */
#define PVCORE_COLD __attribute__((cold, noinline))
#else
#define PVCORE_INLINE inline
#define PVCORE_LIKELY(c) (c)
#define PVCORE_UNLIKELY(c) (c)
#define PVCORE_COLD
#endif

#define INVALID_MFN UINT64_MAX

/* ---- spinlock ----------------------------------------------------------------------------- */

struct spinlock {
    _Atomic uint32_t held;
};

static inline void spin_init(struct spinlock *l)
{
    atomic_init(&l->held, 0);
}

static inline void spin_lock(struct spinlock *l)
{
    /* acquire: the critical section's reads happen after we own the lock. */
    while (atomic_exchange_explicit(&l->held, 1, memory_order_acquire) != 0) {
        while (atomic_load_explicit(&l->held, memory_order_relaxed) != 0) {
        }
    }
}

static inline void spin_unlock(struct spinlock *l)
{
    /* release: the critical section's writes are visible before the lock is free. */
    atomic_store_explicit(&l->held, 0, memory_order_release);
}

/* For assertions only: someone holds it (not necessarily the caller). */
static inline bool spin_is_locked(const struct spinlock *l)
{
    return atomic_load_explicit((_Atomic uint32_t *)(uintptr_t)&l->held, memory_order_relaxed) != 0;
}

#endif /* PVCORE_INTERNAL_BASE_H */
