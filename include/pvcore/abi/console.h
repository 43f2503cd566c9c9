/**
 * @file
 * @brief Wire layout of the PV console ring page.
 *
 * A PV guest's console is one shared page holding two byte rings: `out` carries guest
 * output to the console backend, `in` carries keyboard input to the guest. Each ring has
 * a consumer and a producer index, free-running 32-bit counters reduced modulo the ring
 * size (a power of two) with #PVCORE_MASK_XENCONS_IDX. A ring is empty when its indices
 * are equal and full when they differ by the ring size. The producer writes the bytes,
 * then (after a write barrier) advances its index, then notifies the console event
 * channel; the consumer reads the producer index, then (after a read barrier) the bytes,
 * then advances its own index. The page and channel are given in start_info.console.
 *
 * The layout is the same for 32-bit and 64-bit guests.
 */
#ifndef PVCORE_ABI_CONSOLE_H
#define PVCORE_ABI_CONSOLE_H

#include <stdint.h>

/**
 * @defgroup pvcore_abi_console Console ring
 * @brief The shared console page.
 * @{
 */

/** A console ring index: free-running, wrapping 32-bit counter. */
typedef uint32_t pvcore_xencons_ring_idx_t;

/**
 * Reduces a free-running console index to a byte offset within a ring.
 * @param idx  The index (in_cons, in_prod, out_cons or out_prod).
 * @param ring The ring array itself (`intf->in` or `intf->out`), whose size must be a
 *             power of two; only its size is used.
 * @return `idx` modulo the size of `ring`, as #pvcore_xencons_ring_idx_t.
 */
#define PVCORE_MASK_XENCONS_IDX(idx, ring) \
    ((pvcore_xencons_ring_idx_t)((idx) & (sizeof(ring) - 1)))

/** The console page (3088 bytes used). */
struct pvcore_xencons_interface {
    char in[1024];                      /**< Input ring: bytes for the guest (written by the backend). */
    char out[2048];                     /**< Output ring: bytes from the guest (written by the guest). */
    pvcore_xencons_ring_idx_t in_cons;  /**< Input bytes consumed by the guest; at offset 3072. */
    pvcore_xencons_ring_idx_t in_prod;  /**< Input bytes produced by the backend. */
    pvcore_xencons_ring_idx_t out_cons; /**< Output bytes consumed by the backend. */
    pvcore_xencons_ring_idx_t out_prod; /**< Output bytes produced by the guest. */
};
/** Typedef for struct pvcore_xencons_interface. */
typedef struct pvcore_xencons_interface pvcore_xencons_interface_t;

/** @} */

#endif /* PVCORE_ABI_CONSOLE_H */
