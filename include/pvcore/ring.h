/**
 * @file
 * @brief The shared I/O ring of split drivers: front-end and back-end, byte-compatible
 *        with Xen's `io/ring.h`, with batched publication, event-index notification and
 *        a consumer that treats the other side as hostile.
 *
 * A split driver's front-end (in the guest that uses a device) and back-end (in the
 * domain that serves it) share a ring: one or more pages laid out as a 64-byte header
 * (struct pvcore_sring_header, <pvcore/abi/ring.h>) followed by a power-of-two number of
 * equal-sized slots. The front-end writes requests into free slots and publishes them by
 * moving `req_prod`; the back-end copies each request out, later writes its response into
 * the same slot and publishes it by moving `rsp_prod`. Each side keeps private state: the
 * front-end its next request index (`req_prod_pvt`) and its response consumer index
 * (`rsp_cons`), the back-end its next response index (`rsp_prod_pvt`) and its request
 * consumer index (`req_cons`). This is the layout and the protocol of Xen's
 * `DEFINE_RING_TYPES`, `FRONT_RING_INIT`, `BACK_RING_INIT` and the `RING_*` macros, so
 * either end may be Xen's (Linux's blkfront, netfront, a QEMU back-end, ...).
 *
 * @par Two layers
 * The algorithm lives in the `pvcore_ring_*` functions, which work on untyped slots and
 * take the slot size (and the size of the request or response copied) as arguments.
 * #PVCORE_RING_DEFINE stamps out typed wrappers over them for one request and response
 * type, the equivalent of `DEFINE_RING_TYPES`. Everything here is `static inline`: the
 * header needs no library, only <pvcore/abi/ring.h> and <pvcore/abi/errno.h>, and
 * compiles in a hosted program, in a freestanding hypervisor core and inside a guest
 * kernel, on x86-64 and i386 (no libc call, no 64-bit division on 32-bit targets).
 *
 * @par Operations
 * - Set-up: pvcore_ring_front_init() initialises the shared header (Xen's
 *   `SHARED_RING_INIT`: indices 0, event indices 1, private and padding bytes zero) and
 *   the front-end's state; only the front-end initialises the shared page.
 *   pvcore_ring_back_init() attaches the back-end without writing to the page.
 *   pvcore_ring_front_attach() and pvcore_ring_back_attach() attach at a given index (a
 *   reconnecting end), as `FRONT_RING_ATTACH` and `BACK_RING_ATTACH`.
 * - Producing: pvcore_ring_front_produce() (requests) and pvcore_ring_back_produce()
 *   (responses) hand out the next slot to be written in place, or NULL when there is none;
 *   pvcore_ring_front_put() and pvcore_ring_back_put() copy up to N entries in from
 *   private memory in one call, touching the ring's indices once (the fast way to
 *   produce a batch). Nothing is visible to the other side until a push: pvcore_ring_front_push() and
 *   pvcore_ring_back_push() publish everything produced since the previous push at once
 *   (batched publication: write k slots, push once), and
 *   pvcore_ring_front_push_check_notify() / pvcore_ring_back_push_check_notify() also say
 *   whether the other side asked to be notified (event channel) about it.
 * - Consuming: pvcore_ring_back_unconsumed() / pvcore_ring_front_unconsumed() read the
 *   producer index once and count what is waiting; pvcore_ring_back_copy_request() /
 *   pvcore_ring_front_copy_response() then copy one counted entry out into private
 *   memory each (Xen's loop up to one read of `req_prod`); pvcore_ring_back_consume() /
 *   pvcore_ring_front_consume() count and copy out up to N in one call;
 *   pvcore_ring_back_final_check() / pvcore_ring_front_final_check() ask for a
 *   notification on the next entry and check once more before the caller sleeps.
 *
 * @par Event indices (notification suppression)
 * A consumer that is about to sleep writes `event = cons + 1` ("wake me when the
 * producer passes cons"), and checks once more for work (the final check). A producer
 * that moves its index from `old` to `new` notifies exactly when `event` lies in
 * `(old, new]`, computed wrap-safely as `(new - event) < (new - old)` in 32-bit
 * arithmetic. Between its index store and its event load, and between the consumer's
 * event store and its index load, stands a full barrier, so that one of the two sides
 * always sees the other's store: either the producer sees the new event and notifies, or
 * the consumer's final check sees the new entries. No wake-up is lost. A hostile event
 * index can only cause notifications to be sent or suppressed, which costs the side that
 * wrote it.
 *
 * @par The other side is hostile
 * The shared page is also written by the other domain, at any time, with any value.
 * - Every shared index is read exactly once per decision, by an atomic load into a local,
 *   and every slot index is masked with the ring size (kept in private memory) before
 *   use: no access ever leaves the ring.
 * - A consumer never yields more than may be outstanding. The back-end yields at most
 *   `nr_ents - (req_cons - rsp_prod_pvt)` requests (the slots whose responses it has
 *   pushed), the clamp of Xen's `RING_HAS_UNCONSUMED_REQUESTS`; the front-end at most
 *   `req_prod_pvt - rsp_cons` responses (one per request it produced). A producer index
 *   that claims more, including one that moved backwards behind the consumer, is
 *   reported as -#PVCORE_EOVERFLOW (Xen's `RING_REQUEST_PROD_OVERFLOW` and
 *   `RING_RESPONSE_PROD_OVERFLOW`, ill-behaved front-end or back-end), and nothing is
 *   consumed: a back-end should stop serving that ring.
 * - Entries are copied out of the shared slot into private memory, each byte read once
 *   (a builtin copy then a compiler barrier, or volatile reads), and only the copy is to
 *   be validated and used (XSA-155: a back-end that read a request field twice could
 *   validate one value and use another). There is no function that hands out a pointer
 *   to a request (or response) to be read in place.
 *
 * @par Memory ordering
 * Publishing is a store-release of the producer index (Xen's `xen_wmb()` before it: the
 * slots are written before the index is seen); reading a producer index is a
 * load-acquire (Xen's `xen_rmb()` after it: the slots are read after the index). The full
 * barrier of the event-index protocol (Xen's `xen_mb()`) is a sequentially consistent
 * exchange of the index or event store followed by a sequentially consistent load (on
 * x86 one locked `xchg`, which is cheaper than `mfence`; on Arm `stlr` then `ldar`). All
 * shared accesses to indices are atomic (GCC and Clang `__atomic` builtins, else C11
 * <stdatomic.h>), so ThreadSanitizer sees the synchronisation; slot bytes are plain
 * accesses ordered by the indices.
 *
 * @par Errors
 * Functions that can fail return 0 or a negative `PVCORE_E*` (<pvcore/abi/errno.h>):
 * -#PVCORE_EINVAL for a bad argument (a NULL or misaligned pointer, an area too small for
 * one slot, a copy larger than the slot), -#PVCORE_EOVERFLOW for a producer index that
 * claims more entries than may be outstanding, -#PVCORE_ENOSPC from a single-entry copy
 * when no entry can be waiting. Functions that cannot fail return a count, a pointer or
 * a `bool`.
 *
 * @par Concurrency
 * One producer and one consumer per direction: the front-end's state (struct
 * pvcore_ring_front) is used by one thread at a time, which produces requests and
 * consumes responses; the back-end's (struct pvcore_ring_back) likewise. The two ends may
 * run concurrently on different CPUs (or in different domains). A ring shared by several
 * threads of one side needs the caller's lock around the calls of that side.
 */
#ifndef PVCORE_RING_H
#define PVCORE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pvcore/abi/errno.h>
#include <pvcore/abi/ring.h>

/**
 * @defgroup pvcore_ring Shared I/O ring
 * @brief Front-end and back-end of a split-driver ring (requests and responses).
 * @{
 */

/**
 * The front-end's private state (Xen's `struct name_front_ring`, same fields in the same
 * order). It issues requests and consumes responses. Private memory of the front-end;
 * set by pvcore_ring_front_init() or pvcore_ring_front_attach().
 */
struct pvcore_ring_front {
    pvcore_ring_idx_t req_prod_pvt;    /**< Index of the next request to produce; published by a push. */
    pvcore_ring_idx_t rsp_cons;        /**< Index of the next response to consume. */
    uint32_t nr_ents;                  /**< Slots in the ring: a power of two. */
    struct pvcore_sring_header *sring; /**< The shared area; slot 0 at byte #PVCORE_SRING_HEADER_SIZE. */
};

/**
 * The back-end's private state (Xen's `struct name_back_ring`, same fields in the same
 * order). It consumes requests and issues responses. Private memory of the back-end;
 * set by pvcore_ring_back_init() or pvcore_ring_back_attach().
 */
struct pvcore_ring_back {
    pvcore_ring_idx_t rsp_prod_pvt;    /**< Index of the next response to produce; published by a push. */
    pvcore_ring_idx_t req_cons;        /**< Index of the next request to consume. */
    uint32_t nr_ents;                  /**< Slots in the ring: a power of two. */
    struct pvcore_sring_header *sring; /**< The shared area; slot 0 at byte #PVCORE_SRING_HEADER_SIZE. */
};

/** @cond PVCORE_INTERNAL */
/*
 * Index accesses. Everything the other side can write is read with an atomic load, once,
 * into a local. The builtins take plain (non-_Atomic) objects, which the shared header's
 * fields are; C11's functions need _Atomic objects, so the fallback converts the pointer
 * (same size and representation for a 32-bit index on every target we build for).
 */
#if defined(__GNUC__) || defined(__clang__)
static inline pvcore_ring_idx_t pvcore_ring_load_acquire_(const pvcore_ring_idx_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static inline pvcore_ring_idx_t pvcore_ring_load_seq_cst_(const pvcore_ring_idx_t *p)
{
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}
static inline void pvcore_ring_store_release_(pvcore_ring_idx_t *p, pvcore_ring_idx_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
static inline pvcore_ring_idx_t pvcore_ring_exchange_seq_cst_(pvcore_ring_idx_t *p, pvcore_ring_idx_t v)
{
    return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}
static inline void pvcore_ring_store_relaxed_(pvcore_ring_idx_t *p, pvcore_ring_idx_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}
/* Words that may alias the request and response types the peer wrote (a slot is read in
 * words). */
typedef uint64_t __attribute__((__may_alias__)) pvcore_ring_w64_;
typedef uint32_t __attribute__((__may_alias__)) pvcore_ring_w32_;
#define PVCORE_RING_WORDS_ 1
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__STDC_NO_ATOMICS__) && \
    !defined(__cplusplus)
#include <stdatomic.h>
#define PVCORE_RING_ATOMIC_(p) ((volatile _Atomic pvcore_ring_idx_t *)(p))
static inline pvcore_ring_idx_t pvcore_ring_load_acquire_(const pvcore_ring_idx_t *p)
{
    return atomic_load_explicit(PVCORE_RING_ATOMIC_(p), memory_order_acquire);
}
static inline pvcore_ring_idx_t pvcore_ring_load_seq_cst_(const pvcore_ring_idx_t *p)
{
    return atomic_load_explicit(PVCORE_RING_ATOMIC_(p), memory_order_seq_cst);
}
static inline void pvcore_ring_store_release_(pvcore_ring_idx_t *p, pvcore_ring_idx_t v)
{
    atomic_store_explicit(PVCORE_RING_ATOMIC_(p), v, memory_order_release);
}
static inline pvcore_ring_idx_t pvcore_ring_exchange_seq_cst_(pvcore_ring_idx_t *p, pvcore_ring_idx_t v)
{
    return atomic_exchange_explicit(PVCORE_RING_ATOMIC_(p), v, memory_order_seq_cst);
}
static inline void pvcore_ring_store_relaxed_(pvcore_ring_idx_t *p, pvcore_ring_idx_t v)
{
    atomic_store_explicit(PVCORE_RING_ATOMIC_(p), v, memory_order_relaxed);
}
#define PVCORE_RING_WORDS_ 0
#else
#error "<pvcore/ring.h> needs the GCC/Clang __atomic builtins or C11 <stdatomic.h>"
#endif

/* Static assertions of the typed wrappers, in C11, C++11 and (with a negative array size) C99. */
#if defined(__cplusplus)
#define PVCORE_RING_STATIC_ASSERT_(tag, e, m) static_assert(e, m)
#define PVCORE_RING_ALIGNOF_(t) alignof(t)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define PVCORE_RING_STATIC_ASSERT_(tag, e, m) _Static_assert(e, m)
#define PVCORE_RING_ALIGNOF_(t) _Alignof(t)
#else
#define PVCORE_RING_STATIC_ASSERT_(tag, e, m) typedef char tag[(e) ? 1 : -1]
#define PVCORE_RING_ALIGNOF_(t) offsetof(struct { char c_; t t_; }, t_)
#endif
/* The typed wrappers are defined in the user's file, where Clang reports unused ones. */
#if defined(__GNUC__) || defined(__clang__)
#define PVCORE_RING_UNUSED_ __attribute__((__unused__))
#else
#define PVCORE_RING_UNUSED_
#endif

/* Address of the slot of ring index `idx`: masked with the private size, never the peer's. */
static inline void *pvcore_ring_slot_(struct pvcore_sring_header *s, uint32_t nr_ents, size_t slot_bytes,
                                      pvcore_ring_idx_t idx)
{
    return (unsigned char *)s + PVCORE_SRING_HEADER_SIZE + (size_t)(idx & (nr_ents - 1u)) * slot_bytes;
}

#if PVCORE_RING_WORDS_
/* Copies `bytes`, known at compile time where this is used, inline. GCC expands one memcpy
 * builtin of up to 128 bytes into a few wide moves at every optimisation level (for a
 * 64-byte entry, four 16-byte loads: the fastest consumer bench_ring measured); Clang turns
 * it into a call of memcpy or memmove (64 bytes on i386, 128 at -Os), which a freestanding
 * includer may not have, so with Clang it is copied in 16-byte, then 8-byte pieces, each
 * expanded inline (check-ring-header.sh builds ring_kernel.c with both compilers). */
static inline void pvcore_ring_copy_fixed_(unsigned char *d, const unsigned char *s, size_t bytes)
{
#if defined(__clang__)
    size_t i = 0;

    for (; i + 16u <= bytes; i += 16u) {
        __builtin_memcpy(d + i, s + i, 16u);
    }
    for (; i + 8u <= bytes; i += 8u) {
        __builtin_memcpy(d + i, s + i, 8u);
    }
    for (; i < bytes; i++) {
        d[i] = s[i];
    }
#else
    __builtin_memcpy(d, s, bytes);
#endif
}
#endif

/*
 * Copies `bytes` out of a shared slot. Every source byte is read exactly once, so that
 * what the caller validates is what it uses (XSA-155): the compiler may neither read the
 * slot again later in place of the copy nor merge the copy away.
 * - A size known at compile time (the typed wrappers, inlined) is copied with fixed-size
 *   memcpy builtins (pvcore_ring_copy_fixed_()), a few wide loads and stores, followed
 *   by a compiler barrier (a sequentially consistent signal fence, which GCC and Clang
 *   treat as a clobber of all memory and which emits no instruction): every load of the
 *   slot is done before it, and after it the slot's contents are unknown to the
 *   compiler, so the copy's values can only come from the copy. This is the cheaper
 *   consumer: with it bench_ring's per-message ratio against Xen's macros went from
 *   0.91x-1.01x (volatile word reads) to 1.08x-1.21x on the development VM.
 * - Otherwise each byte is read through a volatile access, in whole words when the slot
 *   size and the copy size allow it (the area is 8-byte aligned, so the slot's alignment
 *   follows from its size), each word stored with a small memcpy builtin, which has no
 *   alignment or aliasing requirement on `dst` and compiles to one store.
 * Neither is ever a library call (ring_kernel.c).
 */
static inline void pvcore_ring_copy_out_(void *dst, const void *src, size_t slot_bytes, size_t bytes)
{
    unsigned char *d = (unsigned char *)dst;
    size_t i;
#if PVCORE_RING_WORDS_
    if (__builtin_constant_p(bytes) && bytes <= 128u) {
        pvcore_ring_copy_fixed_(d, (const unsigned char *)src, bytes);
        /* compiler barrier (a signal fence emits no instruction): the slot is read
         * above, once; nothing after it may read the slot again for the copy's values. */
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        return;
    }
    if (((slot_bytes | bytes) & 7u) == 0) {
        const volatile pvcore_ring_w64_ *s = (const volatile pvcore_ring_w64_ *)src;
        for (i = 0; i < bytes / 8u; i++) {
            uint64_t w = s[i];
            __builtin_memcpy(d + 8u * i, &w, 8u);
        }
        return;
    }
    if (((slot_bytes | bytes) & 3u) == 0) {
        const volatile pvcore_ring_w32_ *s = (const volatile pvcore_ring_w32_ *)src;
        for (i = 0; i < bytes / 4u; i++) {
            uint32_t w = s[i];
            __builtin_memcpy(d + 4u * i, &w, 4u);
        }
        return;
    }
#else
    (void)slot_bytes;
#endif
    {
        const volatile unsigned char *s = (const volatile unsigned char *)src;
        for (i = 0; i < bytes; i++) {
            d[i] = s[i];
        }
    }
}

/*
 * How many entries a consumer at `cons` may take when the producer's index reads `prod`:
 * at most `room`, the most that can be outstanding. A claim beyond `room` (a producer
 * index too far ahead, or behind the consumer, which wraps to a huge claim) is the
 * producer's overflow; `*n` is then the clamp, as Xen's macros give it.
 */
static inline int pvcore_ring_count_(pvcore_ring_idx_t prod, pvcore_ring_idx_t cons, uint32_t room, uint32_t *n)
{
    uint32_t claimed = (uint32_t)(prod - cons);

    *n = claimed < room ? claimed : room;
    return claimed > room ? -PVCORE_EOVERFLOW : 0;
}

/* The producer's half of a push with notification check; `event` is the peer's event index. */
static inline bool pvcore_ring_push_notify_(pvcore_ring_idx_t *prod, const pvcore_ring_idx_t *event,
                                            pvcore_ring_idx_t new_prod)
{
    /* seq_cst exchange: a release (the slots are written before the index is seen) and
     * the full barrier before the event load below (Xen's xen_wmb() and xen_mb()); it
     * returns the index before this push. */
    pvcore_ring_idx_t old_prod = pvcore_ring_exchange_seq_cst_(prod, new_prod);
    /* seq_cst load: ordered after the index store, pairs with the consumer's event
     * exchange in pvcore_ring_final_() so that one side sees the other's store. */
    pvcore_ring_idx_t ev = pvcore_ring_load_seq_cst_(event);

    return (pvcore_ring_idx_t)(new_prod - ev) < (pvcore_ring_idx_t)(new_prod - old_prod);
}

/* The consumer's final check: count; if nothing, ask for a notification and count again. */
static inline int pvcore_ring_final_(const pvcore_ring_idx_t *prod, pvcore_ring_idx_t *event,
                                     pvcore_ring_idx_t cons, uint32_t room, uint32_t *n)
{
    /* acquire: entries counted here are read after the index that published them. */
    int rc = pvcore_ring_count_(pvcore_ring_load_acquire_(prod), cons, room, n);

    if (rc != 0 || *n != 0) {
        return rc;
    }
    /* seq_cst exchange: the event store is ordered before the index load below (Xen's
     * xen_mb()), pairing with the producer's index exchange in pvcore_ring_push_notify_(). */
    (void)pvcore_ring_exchange_seq_cst_(event, (pvcore_ring_idx_t)(cons + 1u));
    /* seq_cst load, also an acquire: a push the producer made before it could see the new
     * event is seen here, and its entries are read after it. */
    return pvcore_ring_count_(pvcore_ring_load_seq_cst_(prod), cons, room, n);
}

/* Copies out up to `max` entries from `*cons`; nothing on overflow. */
static inline int pvcore_ring_consume_(struct pvcore_sring_header *s, uint32_t nr_ents, const pvcore_ring_idx_t *prod,
                                       pvcore_ring_idx_t *cons, uint32_t room, size_t slot_bytes, size_t elem_bytes,
                                       void *dst, uint32_t max, uint32_t *got)
{
    uint32_t n, i;
    int rc;

    *got = 0;
    if (elem_bytes > slot_bytes) {
        return -PVCORE_EINVAL;
    }
    /* acquire: the slot reads below happen after the producer's writes of them, which its
     * release of this index published (Xen's xen_rmb() after reading req_prod). */
    rc = pvcore_ring_count_(pvcore_ring_load_acquire_(prod), *cons, room, &n);
    if (rc != 0) {
        return rc;
    }
    if (n > max) {
        n = max;
    }
    if (dst != NULL) {
        pvcore_ring_idx_t c = *cons; /* a local: the copies' stores may alias *cons */
        for (i = 0; i < n; i++) {
            pvcore_ring_copy_out_((unsigned char *)dst + (size_t)i * elem_bytes,
                                  pvcore_ring_slot_(s, nr_ents, slot_bytes, (pvcore_ring_idx_t)(c + i)), slot_bytes,
                                  elem_bytes);
        }
    }
    *cons = (pvcore_ring_idx_t)(*cons + n);
    *got = n;
    return 0;
}

/* Copies a private entry into a shared slot (it reads no shared memory, so nothing needs
 * reading once). A size known at compile time (the typed wrappers, inlined) is copied by
 * pvcore_ring_copy_fixed_(), a few moves; otherwise whole words when
 * the sizes allow, as pvcore_ring_copy_out_(), each stored with a word-sized builtin:
 * never a library call, so the header still needs no libc (ring_kernel.c). */
static inline void pvcore_ring_copy_in_(void *dst, const void *src, size_t slot_bytes, size_t bytes)
{
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    size_t i;
#if PVCORE_RING_WORDS_
    if (__builtin_constant_p(bytes) && bytes <= 128u) {
        pvcore_ring_copy_fixed_(d, s, bytes);
        return;
    }
    if (((slot_bytes | bytes) & 7u) == 0) {
        for (i = 0; i < bytes / 8u; i++) {
            uint64_t w;
            __builtin_memcpy(&w, s + 8u * i, 8u);
            *(pvcore_ring_w64_ *)(void *)(d + 8u * i) = w;
        }
        return;
    }
#else
    (void)slot_bytes;
#endif
    for (i = 0; i < bytes; i++) {
        d[i] = s[i];
    }
}

/* Copies up to `n` entries from `src` into the slots from `*prod` on, at most `room`, and
 * advances `*prod` once. The index is kept in a local: a store to the private index after
 * each slot, behind slot stores that wait for their cache lines, made a batch four times
 * slower on the development VM (bench_ring). */
static inline int pvcore_ring_put_(struct pvcore_sring_header *s, uint32_t nr_ents, pvcore_ring_idx_t *prod,
                                   uint32_t room, size_t slot_bytes, size_t elem_bytes, const void *src, uint32_t n,
                                   uint32_t *put)
{
    pvcore_ring_idx_t p = *prod;
    uint32_t i;

    *put = 0;
    if (elem_bytes > slot_bytes) {
        return -PVCORE_EINVAL;
    }
    if (n > room) {
        n = room;
    }
    for (i = 0; i < n; i++) {
        pvcore_ring_copy_in_(pvcore_ring_slot_(s, nr_ents, slot_bytes, (pvcore_ring_idx_t)(p + i)),
                             (const unsigned char *)src + (size_t)i * elem_bytes, slot_bytes, elem_bytes);
    }
    *prod = (pvcore_ring_idx_t)(p + n);
    *put = n;
    return 0;
}

/** @endcond */

/**
 * @brief The number of slots of a ring: the largest power of two `n` such that the
 *        64-byte header and `n` slots fit in the area, exactly as Xen's `__RING_SIZE`
 *        computes it (the function form of #PVCORE_RING_NR_SLOTS).
 * @param area_bytes Size of the shared area in bytes (one page, or several pages of a
 *                   multi-page ring).
 * @param slot_bytes Size of one slot in bytes: the size of the union of the request and
 *                   response types.
 * @return The slot count (at most 2^31); 0 when not one slot fits, or `slot_bytes` is 0.
 * @note No side effects; callable from any thread.
 */
static inline uint32_t pvcore_ring_nr_slots(size_t area_bytes, size_t slot_bytes)
{
    size_t q;
    uint32_t q32;

    if (slot_bytes == 0 || area_bytes < PVCORE_SRING_HEADER_SIZE) {
        return 0;
    }
    q = (area_bytes - PVCORE_SRING_HEADER_SIZE) / slot_bytes;
#if SIZE_MAX > 0xFFFFFFFFu
    if (q > 0xFFFFFFFFu) {
        q = 0xFFFFFFFFu;
    }
#endif
    q32 = (uint32_t)q;
    return PVCORE_RING_POW2_FLOOR(q32);
}

/** @cond PVCORE_INTERNAL */
static inline int pvcore_ring_check_area_(const void *shared, size_t area_bytes, size_t slot_bytes,
                                          uint32_t *nr_ents)
{
    if (shared == NULL || ((uintptr_t)shared & 7u) != 0) {
        return -PVCORE_EINVAL;
    }
    *nr_ents = pvcore_ring_nr_slots(area_bytes, slot_bytes);
    return *nr_ents == 0 ? -PVCORE_EINVAL : 0;
}
/** @endcond */

/**
 * @brief Initialises a shared ring's header, as Xen's `SHARED_RING_INIT`: `req_prod` and
 *        `rsp_prod` 0, `req_event` and `rsp_event` 1, the private bytes and the padding
 *        zero. The slots are left as they are.
 * @param s The shared area (its first 64 bytes).
 * @note The front-end does this once, before it tells the back-end where the ring is
 *       (pvcore_ring_front_init() calls it); never while the other side uses the ring.
 */
static inline void pvcore_ring_shared_init(struct pvcore_sring_header *s)
{
    size_t i;

    pvcore_ring_store_relaxed_(&s->req_prod, 0);
    pvcore_ring_store_relaxed_(&s->rsp_prod, 0);
    pvcore_ring_store_relaxed_(&s->req_event, 1);
    pvcore_ring_store_relaxed_(&s->rsp_event, 1);
    for (i = 0; i < sizeof(s->pvt.pvt_pad); i++) {
        s->pvt.pvt_pad[i] = 0;
    }
    for (i = 0; i < sizeof(s->pad); i++) {
        s->pad[i] = 0;
    }
}

/**
 * @brief Attaches a front-end to a ring whose shared header is already initialised, at
 *        index `start` (Xen's `FRONT_RING_ATTACH`): the next request and the next
 *        response to consume are both `start`. The shared area is not written.
 * @param f          The front-end's state; written.
 * @param shared     The shared area: 8-byte aligned (a page, for a real ring).
 * @param area_bytes Its size in bytes.
 * @param slot_bytes The size of one slot (the union of request and response).
 * @param start      The starting index: 0 for a new ring, the shared `req_prod` (equal to
 *                   `rsp_prod`, all requests answered) for a reconnecting front-end.
 * @return 0; -#PVCORE_EINVAL for a NULL or misaligned area, a zero slot size, or an area
 *         too small for one slot.
 */
static inline int pvcore_ring_front_attach(struct pvcore_ring_front *f, void *shared, size_t area_bytes,
                                           size_t slot_bytes, pvcore_ring_idx_t start)
{
    uint32_t nr;
    int rc = pvcore_ring_check_area_(shared, area_bytes, slot_bytes, &nr);

    if (rc != 0) {
        return rc;
    }
    f->req_prod_pvt = start;
    f->rsp_cons = start;
    f->nr_ents = nr;
    f->sring = (struct pvcore_sring_header *)shared;
    return 0;
}

/**
 * @brief Initialises a new ring from the front-end's side: the shared header
 *        (pvcore_ring_shared_init()) and the front-end's state at index 0 (Xen's
 *        `XEN_FRONT_RING_INIT`).
 * @param f          The front-end's state; written.
 * @param shared     The shared area: 8-byte aligned (a page, for a real ring).
 * @param area_bytes Its size in bytes: #PVCORE_SRING_HEADER_SIZE plus at least one slot.
 * @param slot_bytes The size of one slot (the union of request and response).
 * @return 0; -#PVCORE_EINVAL as pvcore_ring_front_attach() (nothing is written then).
 * @note Before the back-end attaches (the area is not yet shared).
 */
static inline int pvcore_ring_front_init(struct pvcore_ring_front *f, void *shared, size_t area_bytes,
                                         size_t slot_bytes)
{
    int rc = pvcore_ring_front_attach(f, shared, area_bytes, slot_bytes, 0);

    if (rc == 0) {
        pvcore_ring_shared_init(f->sring);
    }
    return rc;
}

/**
 * @brief Attaches a back-end to a ring at index `start` (Xen's `BACK_RING_ATTACH`): the
 *        next request to consume and the next response to produce are both `start`. The
 *        shared area is neither read nor written.
 * @param b          The back-end's state; written.
 * @param shared     The shared area (mapped from the front-end's grant): 8-byte aligned.
 * @param area_bytes Its size in bytes.
 * @param slot_bytes The size of one slot (the union of request and response).
 * @param start      The starting index: 0 for a new ring.
 * @return 0; -#PVCORE_EINVAL as pvcore_ring_front_attach().
 */
static inline int pvcore_ring_back_attach(struct pvcore_ring_back *b, void *shared, size_t area_bytes,
                                          size_t slot_bytes, pvcore_ring_idx_t start)
{
    uint32_t nr;
    int rc = pvcore_ring_check_area_(shared, area_bytes, slot_bytes, &nr);

    if (rc != 0) {
        return rc;
    }
    b->rsp_prod_pvt = start;
    b->req_cons = start;
    b->nr_ents = nr;
    b->sring = (struct pvcore_sring_header *)shared;
    return 0;
}

/**
 * @brief Attaches a back-end to a new ring at index 0 (Xen's `BACK_RING_INIT`); the
 *        shared area, which the front-end initialised, is not written.
 * @param b          The back-end's state; written.
 * @param shared     The shared area: 8-byte aligned.
 * @param area_bytes Its size in bytes.
 * @param slot_bytes The size of one slot (the union of request and response).
 * @return 0; -#PVCORE_EINVAL as pvcore_ring_front_attach().
 */
static inline int pvcore_ring_back_init(struct pvcore_ring_back *b, void *shared, size_t area_bytes,
                                        size_t slot_bytes)
{
    return pvcore_ring_back_attach(b, shared, area_bytes, slot_bytes, 0);
}

/**
 * @brief How many more requests the front-end may produce now (Xen's
 *        `RING_FREE_REQUESTS`): the slots neither holding an unanswered request nor an
 *        unconsumed response. Private state only; consuming responses frees slots.
 * @param f The front-end's state.
 * @return 0 to `nr_ents`.
 */
static inline uint32_t pvcore_ring_front_free_requests(const struct pvcore_ring_front *f)
{
    return f->nr_ents - (uint32_t)(f->req_prod_pvt - f->rsp_cons);
}

/**
 * @brief Whether the front-end has no free slot (Xen's `RING_FULL`).
 * @param f The front-end's state.
 * @return true when pvcore_ring_front_free_requests() is 0.
 */
static inline bool pvcore_ring_front_full(const struct pvcore_ring_front *f)
{
    return pvcore_ring_front_free_requests(f) == 0;
}

/**
 * @brief The slot of the next request, to be written in place, and one request more
 *        produced (Xen's `RING_GET_REQUEST(r, r->req_prod_pvt++)`). The back-end sees it
 *        at the next push.
 * @param f          The front-end's state.
 * @param slot_bytes The size of one slot, as given at initialisation.
 * @return The slot (`slot_bytes` bytes inside the ring, aligned as the area and the slot
 *         size allow), or NULL when the ring is full (nothing changes then).
 */
static inline void *pvcore_ring_front_produce(struct pvcore_ring_front *f, size_t slot_bytes)
{
    if ((uint32_t)(f->req_prod_pvt - f->rsp_cons) >= f->nr_ents) {
        return NULL;
    }
    f->req_prod_pvt++;
    return pvcore_ring_slot_(f->sring, f->nr_ents, slot_bytes, (pvcore_ring_idx_t)(f->req_prod_pvt - 1u));
}

/**
 * @brief Copies up to `n` requests from private memory into the next free slots and
 *        produces them (batched production: the back-end sees them all at the next push).
 *        The ring's own indices are touched once per call, not once per request, which
 *        is what makes it faster than pvcore_ring_front_produce() in a loop.
 * @param f          The front-end's state.
 * @param slot_bytes The size of one slot.
 * @param req_bytes  The size of one request (at most `slot_bytes`); also the stride of
 *                   `src`. The rest of a larger slot is left as it was.
 * @param src        `n` requests, one after the other.
 * @param n          How many to produce.
 * @param put        Receives how many were produced: `n`, or fewer when only that many
 *                   slots were free (pvcore_ring_front_free_requests(); consuming
 *                   responses frees more). 0 on error.
 * @return 0; -#PVCORE_EINVAL for `req_bytes` above `slot_bytes` (nothing produced).
 */
static inline int pvcore_ring_front_put(struct pvcore_ring_front *f, size_t slot_bytes, size_t req_bytes,
                                        const void *src, uint32_t n, uint32_t *put)
{
    return pvcore_ring_put_(f->sring, f->nr_ents, &f->req_prod_pvt,
                            f->nr_ents - (uint32_t)(f->req_prod_pvt - f->rsp_cons), slot_bytes, req_bytes, src, n,
                            put);
}

/**
 * @brief Publishes every request produced since the last push (Xen's
 *        `RING_PUSH_REQUESTS`), without checking for a notification.
 * @param f The front-end's state.
 */
static inline void pvcore_ring_front_push(struct pvcore_ring_front *f)
{
    /* release: the request slots are written before the back-end can see the index (Xen's
     * xen_wmb() before the store). */
    pvcore_ring_store_release_(&f->sring->req_prod, f->req_prod_pvt);
}

/**
 * @brief Publishes every request produced since the last push and says whether the
 *        back-end must be notified (Xen's `RING_PUSH_REQUESTS_AND_CHECK_NOTIFY`): true
 *        when `req_event` lies in `(old req_prod, new req_prod]`.
 * @param f The front-end's state.
 * @return true if the caller should notify the back-end (send on the ring's event
 *         channel); false if the back-end did not ask, or nothing new was pushed.
 */
static inline bool pvcore_ring_front_push_check_notify(struct pvcore_ring_front *f)
{
    return pvcore_ring_push_notify_(&f->sring->req_prod, &f->sring->req_event, f->req_prod_pvt);
}

/**
 * @brief Counts the responses waiting for the front-end (Xen's
 *        `RING_HAS_UNCONSUMED_RESPONSES`, with the check of
 *        `RING_RESPONSE_PROD_OVERFLOW`): `rsp_prod` read once, at most one response per
 *        request produced.
 * @param f The front-end's state.
 * @param n Receives the count, clamped to `req_prod_pvt - rsp_cons`.
 * @return 0; -#PVCORE_EOVERFLOW when the back-end's `rsp_prod` claims more responses than
 *         requests were produced (an ill-behaved back-end; `*n` is the clamp).
 */
static inline int pvcore_ring_front_unconsumed(const struct pvcore_ring_front *f, uint32_t *n)
{
    /* acquire: responses the caller then copies out are read after this index. */
    return pvcore_ring_count_(pvcore_ring_load_acquire_(&f->sring->rsp_prod), f->rsp_cons,
                              (uint32_t)(f->req_prod_pvt - f->rsp_cons), n);
}

/**
 * @brief The front-end's check before it waits for responses (Xen's
 *        `RING_FINAL_CHECK_FOR_RESPONSES`): counts them; if there are none, sets
 *        `rsp_event = rsp_cons + 1` (notify me on the next one), then counts again, after
 *        a full barrier, so that a response pushed meanwhile is either counted here or
 *        notified.
 * @param f The front-end's state.
 * @param n Receives the count of waiting responses (clamped as pvcore_ring_front_unconsumed()).
 * @return 0; -#PVCORE_EOVERFLOW as pvcore_ring_front_unconsumed(). With 0 and `*n == 0`
 *         the caller may sleep until notified.
 */
static inline int pvcore_ring_front_final_check(struct pvcore_ring_front *f, uint32_t *n)
{
    return pvcore_ring_final_(&f->sring->rsp_prod, &f->sring->rsp_event, f->rsp_cons,
                              (uint32_t)(f->req_prod_pvt - f->rsp_cons), n);
}

/**
 * @brief Copies out up to `max` responses into private memory and consumes them, with each
 *        shared byte read once (the back-end may be hostile: validate the
 *        copies, never the slots).
 * @param f          The front-end's state.
 * @param slot_bytes The size of one slot.
 * @param rsp_bytes  The size of one response copied out (at most `slot_bytes`); also the
 *                   stride of `dst`.
 * @param dst        Room for `max` responses; NULL to consume them without copying (a
 *                   front-end that has no use for their contents).
 * @param max        The most to consume.
 * @param got        Receives how many were consumed (0 on error).
 * @return 0 (also when none was waiting); -#PVCORE_EOVERFLOW when `rsp_prod` claims more
 *         responses than requests were produced (nothing consumed); -#PVCORE_EINVAL for
 *         `rsp_bytes` above `slot_bytes`.
 */
static inline int pvcore_ring_front_consume(struct pvcore_ring_front *f, size_t slot_bytes, size_t rsp_bytes,
                                            void *dst, uint32_t max, uint32_t *got)
{
    return pvcore_ring_consume_(f->sring, f->nr_ents, &f->sring->rsp_prod, &f->rsp_cons,
                                (uint32_t)(f->req_prod_pvt - f->rsp_cons), slot_bytes, rsp_bytes, dst, max, got);
}

/**
 * @brief Copies out the next response into private memory and consumes it (Xen's
 *        `RING_COPY_RESPONSE(r, r->rsp_cons++, dst)`), with each shared byte read
 *        once. It does not read `rsp_prod` again: call it at most `n` times after
 *        pvcore_ring_front_unconsumed() or pvcore_ring_front_final_check() gave `n`
 *        (more would copy a slot the back-end has not published, which is only garbage,
 *        never outside the ring).
 * @param f          The front-end's state.
 * @param slot_bytes The size of one slot.
 * @param rsp_bytes  The size of the response (at most `slot_bytes`).
 * @param dst        Receives the response.
 * @return 0; -#PVCORE_ENOSPC when every request produced is already answered (no response
 *         can be waiting; nothing changes); -#PVCORE_EINVAL for `rsp_bytes` above
 *         `slot_bytes`.
 */
static inline int pvcore_ring_front_copy_response(struct pvcore_ring_front *f, size_t slot_bytes, size_t rsp_bytes,
                                                  void *dst)
{
    if (rsp_bytes > slot_bytes) {
        return -PVCORE_EINVAL;
    }
    if (f->rsp_cons == f->req_prod_pvt) {
        return -PVCORE_ENOSPC;
    }
    pvcore_ring_copy_out_(dst, pvcore_ring_slot_(f->sring, f->nr_ents, slot_bytes, f->rsp_cons), slot_bytes,
                          rsp_bytes);
    f->rsp_cons++;
    return 0;
}

/**
 * @brief Counts the requests waiting for the back-end (Xen's
 *        `RING_HAS_UNCONSUMED_REQUESTS`, with the check of `RING_REQUEST_PROD_OVERFLOW`):
 *        `req_prod` read once, clamped to the slots whose responses were pushed.
 * @param b The back-end's state.
 * @param n Receives the count: `min(req_prod - req_cons, nr_ents - (req_cons - rsp_prod_pvt))`,
 *          the value of Xen's macro.
 * @return 0; -#PVCORE_EOVERFLOW when the front-end's `req_prod` claims more than that (an
 *         ill-behaved front-end: too far ahead, or behind `req_cons`; `*n` is the clamp).
 */
static inline int pvcore_ring_back_unconsumed(const struct pvcore_ring_back *b, uint32_t *n)
{
    /* acquire: requests the caller then copies out are read after this index. */
    return pvcore_ring_count_(pvcore_ring_load_acquire_(&b->sring->req_prod), b->req_cons,
                              b->nr_ents - (uint32_t)(b->req_cons - b->rsp_prod_pvt), n);
}

/**
 * @brief The back-end's check before it waits for requests (Xen's
 *        `RING_FINAL_CHECK_FOR_REQUESTS`): counts them; if there are none, sets
 *        `req_event = req_cons + 1`, then counts again after a full barrier, so that a
 *        request pushed meanwhile is either counted here or notified.
 * @param b The back-end's state.
 * @param n Receives the count of waiting requests (clamped as pvcore_ring_back_unconsumed()).
 * @return 0; -#PVCORE_EOVERFLOW as pvcore_ring_back_unconsumed(). With 0 and `*n == 0`
 *         the caller may sleep until notified.
 */
static inline int pvcore_ring_back_final_check(struct pvcore_ring_back *b, uint32_t *n)
{
    return pvcore_ring_final_(&b->sring->req_prod, &b->sring->req_event, b->req_cons,
                              b->nr_ents - (uint32_t)(b->req_cons - b->rsp_prod_pvt), n);
}

/**
 * @brief Copies out up to `max` requests into private memory and consumes them, with each
 *        shared byte read once: validate the copies, never the slots
 *        (XSA-155).
 * @param b          The back-end's state.
 * @param slot_bytes The size of one slot.
 * @param req_bytes  The size of one request copied out (at most `slot_bytes`); also the
 *                   stride of `dst`.
 * @param dst        Room for `max` requests; NULL to consume them without copying.
 * @param max        The most to consume.
 * @param got        Receives how many were consumed (0 on error).
 * @return 0 (also when none was waiting); -#PVCORE_EOVERFLOW when `req_prod` claims more
 *         requests than may be outstanding (nothing consumed: stop serving the ring);
 *         -#PVCORE_EINVAL for `req_bytes` above `slot_bytes`.
 */
static inline int pvcore_ring_back_consume(struct pvcore_ring_back *b, size_t slot_bytes, size_t req_bytes, void *dst,
                                           uint32_t max, uint32_t *got)
{
    return pvcore_ring_consume_(b->sring, b->nr_ents, &b->sring->req_prod, &b->req_cons,
                                b->nr_ents - (uint32_t)(b->req_cons - b->rsp_prod_pvt), slot_bytes, req_bytes, dst,
                                max, got);
}

/**
 * @brief Copies out the next request into private memory and consumes it (Xen's
 *        `RING_COPY_REQUEST(r, r->req_cons++, dst)`), with each shared byte read
 *        once: validate the copy, never the slot (XSA-155). It does not read
 *        `req_prod` again: call it at most `n` times after pvcore_ring_back_unconsumed()
 *        or pvcore_ring_back_final_check() gave `n` (more would copy a slot the front-end
 *        has not published: garbage, as a hostile front-end could write, never outside
 *        the ring and never a slot whose response is not yet pushed).
 * @param b          The back-end's state.
 * @param slot_bytes The size of one slot.
 * @param req_bytes  The size of the request (at most `slot_bytes`).
 * @param dst        Receives the request.
 * @return 0; -#PVCORE_ENOSPC when every slot holds a request not yet answered (Xen's
 *         `RING_REQUEST_CONS_OVERFLOW`: nothing can be waiting; nothing changes);
 *         -#PVCORE_EINVAL for `req_bytes` above `slot_bytes`.
 */
static inline int pvcore_ring_back_copy_request(struct pvcore_ring_back *b, size_t slot_bytes, size_t req_bytes,
                                                void *dst)
{
    if (req_bytes > slot_bytes) {
        return -PVCORE_EINVAL;
    }
    if ((uint32_t)(b->req_cons - b->rsp_prod_pvt) >= b->nr_ents) {
        return -PVCORE_ENOSPC;
    }
    pvcore_ring_copy_out_(dst, pvcore_ring_slot_(b->sring, b->nr_ents, slot_bytes, b->req_cons), slot_bytes,
                          req_bytes);
    b->req_cons++;
    return 0;
}

/**
 * @brief How many responses the back-end owes: requests consumed and not yet answered.
 *        Each pvcore_ring_back_produce() answers one.
 * @param b The back-end's state.
 * @return 0 to `nr_ents`.
 */
static inline uint32_t pvcore_ring_back_unanswered(const struct pvcore_ring_back *b)
{
    return (uint32_t)(b->req_cons - b->rsp_prod_pvt);
}

/**
 * @brief The slot of the next response, to be written in place (it is the slot of the
 *        oldest unanswered request, whose copy the back-end already holds), and one
 *        response more produced (Xen's `RING_GET_RESPONSE(r, r->rsp_prod_pvt++)`). The
 *        front-end sees it at the next push.
 * @param b          The back-end's state.
 * @param slot_bytes The size of one slot.
 * @return The slot, or NULL when every consumed request is answered (nothing changes).
 */
static inline void *pvcore_ring_back_produce(struct pvcore_ring_back *b, size_t slot_bytes)
{
    if (b->rsp_prod_pvt == b->req_cons) {
        return NULL;
    }
    b->rsp_prod_pvt++;
    return pvcore_ring_slot_(b->sring, b->nr_ents, slot_bytes, (pvcore_ring_idx_t)(b->rsp_prod_pvt - 1u));
}

/**
 * @brief Copies up to `n` responses from private memory into the slots of the oldest
 *        unanswered requests and produces them (batched production: the front-end sees
 *        them all at the next push); the ring's own indices are touched once per call.
 * @param b          The back-end's state.
 * @param slot_bytes The size of one slot.
 * @param rsp_bytes  The size of one response (at most `slot_bytes`); also the stride of
 *                   `src`. The rest of a larger slot is left as it was.
 * @param src        `n` responses, one after the other, in the order of the requests.
 * @param n          How many to produce.
 * @param put        Receives how many were produced: `n`, or fewer when fewer requests
 *                   are unanswered (pvcore_ring_back_unanswered()). 0 on error.
 * @return 0; -#PVCORE_EINVAL for `rsp_bytes` above `slot_bytes` (nothing produced).
 */
static inline int pvcore_ring_back_put(struct pvcore_ring_back *b, size_t slot_bytes, size_t rsp_bytes,
                                       const void *src, uint32_t n, uint32_t *put)
{
    return pvcore_ring_put_(b->sring, b->nr_ents, &b->rsp_prod_pvt, (uint32_t)(b->req_cons - b->rsp_prod_pvt),
                            slot_bytes, rsp_bytes, src, n, put);
}

/**
 * @brief Publishes every response produced since the last push (Xen's
 *        `RING_PUSH_RESPONSES`), without checking for a notification.
 * @param b The back-end's state.
 */
static inline void pvcore_ring_back_push(struct pvcore_ring_back *b)
{
    /* release: the response slots are written (and the requests in them read) before the
     * front-end can see the index and reuse the slots (Xen's xen_wmb()). */
    pvcore_ring_store_release_(&b->sring->rsp_prod, b->rsp_prod_pvt);
}

/**
 * @brief Publishes every response produced since the last push and says whether the
 *        front-end must be notified (Xen's `RING_PUSH_RESPONSES_AND_CHECK_NOTIFY`): true
 *        when `rsp_event` lies in `(old rsp_prod, new rsp_prod]`.
 * @param b The back-end's state.
 * @return true if the caller should notify the front-end.
 */
static inline bool pvcore_ring_back_push_check_notify(struct pvcore_ring_back *b)
{
    return pvcore_ring_push_notify_(&b->sring->rsp_prod, &b->sring->rsp_event, b->rsp_prod_pvt);
}

/**
 * @brief Defines a typed ring for one request and one response type, the equivalent of
 *        Xen's `DEFINE_RING_TYPES(name, req_t, rsp_t)`: the same slot union, so the same
 *        shared layout, and typed wrappers over the `pvcore_ring_*` functions.
 *
 * It defines:
 * - `union name_slot { req_t req; rsp_t rsp; }` (Xen's `union name_sring_entry`) and
 *   `name_slot_t`; static assertions that a slot fits in one 4 KiB page after the
 *   header and needs no more than 8-byte alignment;
 * - `struct name_front { struct pvcore_ring_front ring; }` and
 *   `struct name_back { struct pvcore_ring_back ring; }`;
 * - front-end: `int name_front_init(f, void *shared, size_t area_bytes)`,
 *   `int name_front_attach(f, shared, area_bytes, pvcore_ring_idx_t start)`,
 *   `uint32_t name_front_free_requests(f)`, `bool name_front_full(f)`,
 *   `req_t *name_front_produce(f)`, `void name_front_push(f)`,
 *   `bool name_front_push_check_notify(f)`, `int name_front_unconsumed(f, uint32_t *n)`,
 *   `int name_front_final_check(f, uint32_t *n)`,
 *   `int name_front_copy_response(f, rsp_t *dst)`,
 *   `int name_front_consume(f, rsp_t *dst, uint32_t max, uint32_t *got)`;
 * - back-end: `int name_back_init(b, void *shared, size_t area_bytes)`,
 *   `int name_back_attach(b, shared, area_bytes, start)`,
 *   `int name_back_unconsumed(b, uint32_t *n)`, `int name_back_final_check(b, uint32_t *n)`,
 *   `int name_back_copy_request(b, req_t *dst)`,
 *   `int name_back_consume(b, req_t *dst, uint32_t max, uint32_t *got)`,
 *   `uint32_t name_back_unanswered(b)`, `rsp_t *name_back_produce(b)`,
 *   `void name_back_push(b)`, `bool name_back_push_check_notify(b)`.
 *
 * Each behaves as the function of the same suffix above (same errors, same concurrency
 * contract), with the sizes filled in from the types. Use it at file scope, followed by
 * a semicolon. The names do not collide with those of Xen's macro for the same `name`.
 *
 * @param name  The ring's name, a prefix for the defined identifiers.
 * @param req_t The request type (a complete object type).
 * @param rsp_t The response type.
 */
#define PVCORE_RING_DEFINE(name, req_t, rsp_t)                                                                  \
    union name##_slot {                                                                                         \
        req_t req;                                                                                              \
        rsp_t rsp;                                                                                              \
    };                                                                                                          \
    PVCORE_RING_STATIC_ASSERT_(name##_slot_fits_a_page_,                                                        \
                               sizeof(union name##_slot) <= 4096u - PVCORE_SRING_HEADER_SIZE,                   \
                               "a slot of ring '" #name "' does not fit in one page after the header");         \
    PVCORE_RING_STATIC_ASSERT_(name##_slot_alignment_,                                                          \
                               PVCORE_RING_ALIGNOF_(union name##_slot) <= 8u,                                   \
                               "a slot of ring '" #name "' needs more than 8-byte alignment");                  \
    struct name##_front {                                                                                       \
        struct pvcore_ring_front ring;                                                                          \
    };                                                                                                          \
    struct name##_back {                                                                                        \
        struct pvcore_ring_back ring;                                                                           \
    };                                                                                                          \
    PVCORE_RING_UNUSED_ static inline int name##_front_init(struct name##_front *f, void *shared, size_t area_bytes)                \
    {                                                                                                           \
        return pvcore_ring_front_init(&f->ring, shared, area_bytes, sizeof(union name##_slot));                 \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline int name##_front_attach(struct name##_front *f, void *shared, size_t area_bytes,              \
                                          pvcore_ring_idx_t start)                                              \
    {                                                                                                           \
        return pvcore_ring_front_attach(&f->ring, shared, area_bytes, sizeof(union name##_slot), start);        \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline uint32_t name##_front_free_requests(const struct name##_front *f)                             \
    {                                                                                                           \
        return pvcore_ring_front_free_requests(&f->ring);                                                       \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline bool name##_front_full(const struct name##_front *f)                                          \
    {                                                                                                           \
        return pvcore_ring_front_full(&f->ring);                                                                \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline req_t *name##_front_produce(struct name##_front *f)                                           \
    {                                                                                                           \
        return (req_t *)pvcore_ring_front_produce(&f->ring, sizeof(union name##_slot));                         \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline int name##_front_put(struct name##_front *f, const req_t *src, uint32_t n,          \
                                                           uint32_t *put)                                       \
    {                                                                                                           \
        return pvcore_ring_front_put(&f->ring, sizeof(union name##_slot), sizeof(req_t), src, n, put);          \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline void name##_front_push(struct name##_front *f)                                                \
    {                                                                                                           \
        pvcore_ring_front_push(&f->ring);                                                                       \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline bool name##_front_push_check_notify(struct name##_front *f)                                   \
    {                                                                                                           \
        return pvcore_ring_front_push_check_notify(&f->ring);                                                   \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline int name##_front_unconsumed(const struct name##_front *f, uint32_t *n)                        \
    {                                                                                                           \
        return pvcore_ring_front_unconsumed(&f->ring, n);                                                       \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline int name##_front_final_check(struct name##_front *f, uint32_t *n)                             \
    {                                                                                                           \
        return pvcore_ring_front_final_check(&f->ring, n);                                                      \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline int name##_front_copy_response(struct name##_front *f, rsp_t *dst)                            \
    {                                                                                                           \
        return pvcore_ring_front_copy_response(&f->ring, sizeof(union name##_slot), sizeof(rsp_t), dst);        \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline int name##_front_consume(struct name##_front *f, rsp_t *dst, uint32_t max, uint32_t *got)     \
    {                                                                                                           \
        return pvcore_ring_front_consume(&f->ring, sizeof(union name##_slot), sizeof(rsp_t), dst, max, got);    \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline int name##_back_init(struct name##_back *b, void *shared, size_t area_bytes)                  \
    {                                                                                                           \
        return pvcore_ring_back_init(&b->ring, shared, area_bytes, sizeof(union name##_slot));                  \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline int name##_back_attach(struct name##_back *b, void *shared, size_t area_bytes,                \
                                         pvcore_ring_idx_t start)                                               \
    {                                                                                                           \
        return pvcore_ring_back_attach(&b->ring, shared, area_bytes, sizeof(union name##_slot), start);         \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline int name##_back_unconsumed(const struct name##_back *b, uint32_t *n)                          \
    {                                                                                                           \
        return pvcore_ring_back_unconsumed(&b->ring, n);                                                        \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline int name##_back_final_check(struct name##_back *b, uint32_t *n)                               \
    {                                                                                                           \
        return pvcore_ring_back_final_check(&b->ring, n);                                                       \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline int name##_back_copy_request(struct name##_back *b, req_t *dst)                               \
    {                                                                                                           \
        return pvcore_ring_back_copy_request(&b->ring, sizeof(union name##_slot), sizeof(req_t), dst);          \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline int name##_back_consume(struct name##_back *b, req_t *dst, uint32_t max, uint32_t *got)       \
    {                                                                                                           \
        return pvcore_ring_back_consume(&b->ring, sizeof(union name##_slot), sizeof(req_t), dst, max, got);     \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline uint32_t name##_back_unanswered(const struct name##_back *b)                                  \
    {                                                                                                           \
        return pvcore_ring_back_unanswered(&b->ring);                                                           \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline rsp_t *name##_back_produce(struct name##_back *b)                                             \
    {                                                                                                           \
        return (rsp_t *)pvcore_ring_back_produce(&b->ring, sizeof(union name##_slot));                          \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline int name##_back_put(struct name##_back *b, const rsp_t *src, uint32_t n,            \
                                                          uint32_t *put)                                        \
    {                                                                                                           \
        return pvcore_ring_back_put(&b->ring, sizeof(union name##_slot), sizeof(rsp_t), src, n, put);           \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline void name##_back_push(struct name##_back *b)                                                  \
    {                                                                                                           \
        pvcore_ring_back_push(&b->ring);                                                                        \
    }                                                                                                           \
    PVCORE_RING_UNUSED_ static inline bool name##_back_push_check_notify(struct name##_back *b)                                     \
    {                                                                                                           \
        return pvcore_ring_back_push_check_notify(&b->ring);                                                    \
    }                                                                                                           \
    typedef union name##_slot name##_slot_t

/** @} */

#endif /* PVCORE_RING_H */
