/**
 * @file
 * @brief Wire layout of a shared I/O ring page (split-driver request/response rings).
 *
 * A split driver's frontend and backend share one or more pages laid out as a 64-byte
 * header (struct pvcore_sring_header) followed by an array of equal-sized slots. A slot
 * holds either a request or a response: the frontend writes requests into free slots,
 * the backend later overwrites each consumed request's slot with its response. This is
 * the layout that Xen's `io/ring.h` (`DEFINE_RING_TYPES`) produces for every ring type,
 * whatever the request and response types are.
 *
 * The four indices are free-running 32-bit counters: they only ever increase (modulo
 * 2^32), and slot `i` of a ring of `n` slots is at index `i & (n - 1)`, which is why the
 * slot count is a power of two. The producer index says how many entries have been
 * published; the event index says at which producer value the consumer wants to be
 * notified (it asks for a notification when the producer moves past `event - 1`).
 *
 * Only the layout and its constants are here; the algorithm that moves the indices,
 * with its memory barriers, is part of the library proper.
 */
#ifndef PVCORE_ABI_RING_H
#define PVCORE_ABI_RING_H

#include <stdint.h>

/**
 * @defgroup pvcore_abi_ring Shared ring layout
 * @brief The header of a shared ring page and the slot-count computation.
 * @{
 */

/** A ring index: a free-running, wrapping 32-bit counter. */
typedef uint32_t pvcore_ring_idx_t;

/** netif's use of the private area of the ring header. */
struct pvcore_sring_pvt_netif {
    uint8_t smartpoll_active; /**< Non-zero while the netfront polls instead of waiting for notifications. */
};
/** Typedef for struct pvcore_sring_pvt_netif. */
typedef struct pvcore_sring_pvt_netif pvcore_sring_pvt_netif_t;

/** The blktap user ring's use of the private area of the ring header. */
struct pvcore_sring_pvt_tapif_user {
    uint8_t msg; /**< A control message byte. */
};
/** Typedef for struct pvcore_sring_pvt_tapif_user. */
typedef struct pvcore_sring_pvt_tapif_user pvcore_sring_pvt_tapif_user_t;

/** The 4-byte area of the ring header that individual protocols may use. */
union pvcore_sring_pvt {
    struct pvcore_sring_pvt_netif netif;           /**< Network protocol's use. */
    struct pvcore_sring_pvt_tapif_user tapif_user; /**< blktap user ring's use. */
    uint8_t pvt_pad[4];                            /**< The whole area as bytes; zeroed when the ring is initialised. */
};
/** Typedef for union pvcore_sring_pvt. */
typedef union pvcore_sring_pvt pvcore_sring_pvt_t;

/**
 * The first 64 bytes of a shared ring page. Slot 0 starts right after it, at byte
 * #PVCORE_SRING_HEADER_SIZE. The frontend initialises it (indices 0, event indices 1,
 * the rest zero) before telling the backend where the ring is.
 */
struct pvcore_sring_header {
    pvcore_ring_idx_t req_prod;  /**< Requests published by the frontend. Written by the frontend only. */
    pvcore_ring_idx_t req_event; /**< The backend wants a notification when req_prod passes this value minus one. Written by the backend. */
    pvcore_ring_idx_t rsp_prod;  /**< Responses published by the backend. Written by the backend only. */
    pvcore_ring_idx_t rsp_event; /**< The frontend wants a notification when rsp_prod passes this value minus one. Written by the frontend. */
    union pvcore_sring_pvt pvt;  /**< Protocol-private bytes, at offset 16. */
    uint8_t pad[44];             /**< Unused; pads the header to 64 bytes. Zeroed at initialisation. */
};
/** Typedef for struct pvcore_sring_header. */
typedef struct pvcore_sring_header pvcore_sring_header_t;

/** Byte offset of slot 0 within a shared ring page: the size of the header. */
#define PVCORE_SRING_HEADER_SIZE 64U

/**
 * Spreads the highest set bit of a 32-bit value into every lower bit (so `0x50` becomes
 * `0x7F`). Helper of #PVCORE_RING_POW2_FLOOR; an integer constant expression when `x` is.
 * @param x A value that fits in 32 bits; evaluated more than once.
 * @return The smeared value, as `uint32_t`.
 */
#define PVCORE_RING_SMEAR32(x) PVCORE_RING_SMEAR_16_((uint32_t)(x))
/** @cond PVCORE_INTERNAL */
#define PVCORE_RING_SMEAR_1_(x) ((x) | ((x) >> 1))
#define PVCORE_RING_SMEAR_2_(x) (PVCORE_RING_SMEAR_1_(x) | (PVCORE_RING_SMEAR_1_(x) >> 2))
#define PVCORE_RING_SMEAR_4_(x) (PVCORE_RING_SMEAR_2_(x) | (PVCORE_RING_SMEAR_2_(x) >> 4))
#define PVCORE_RING_SMEAR_8_(x) (PVCORE_RING_SMEAR_4_(x) | (PVCORE_RING_SMEAR_4_(x) >> 8))
#define PVCORE_RING_SMEAR_16_(x) (PVCORE_RING_SMEAR_8_(x) | (PVCORE_RING_SMEAR_8_(x) >> 16))
/** @endcond */

/**
 * The largest power of two not above `x` (0 for 0). An integer constant expression when
 * `x` is one.
 * @param x A value that fits in 32 bits; evaluated more than once.
 * @return The power of two, as `uint32_t`.
 */
#define PVCORE_RING_POW2_FLOOR(x) \
    ((uint32_t)(PVCORE_RING_SMEAR32(x) - (PVCORE_RING_SMEAR32(x) >> 1)))

/**
 * Number of slots in a shared ring: the largest power of two `n` such that the header
 * and `n` slots fit in `area_bytes`, exactly as Xen sizes a ring of that slot size
 * (0 if not even one slot fits). An integer constant expression when the arguments are.
 * For a 4 KiB page: 64-byte slots give 32, 8-byte slots 256, 112-byte slots 32.
 * @param area_bytes Size of the shared area in bytes (one page, or several for a
 *                   multi-page ring); must be at least #PVCORE_SRING_HEADER_SIZE, and the
 *                   slot count must fit in 32 bits.
 * @param slot_bytes Size of one slot: the larger of the request and response sizes
 *                   (the size of their union); must be non-zero.
 * @return The slot count, as `uint32_t`.
 */
#define PVCORE_RING_NR_SLOTS(area_bytes, slot_bytes) \
    PVCORE_RING_POW2_FLOOR(((area_bytes) - PVCORE_SRING_HEADER_SIZE) / (slot_bytes))

/** @} */

#endif /* PVCORE_ABI_RING_H */
