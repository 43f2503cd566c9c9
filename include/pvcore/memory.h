/**
 * @file
 * @brief Guests' memory reservations: where the frames of memory_op and page transfers
 *        come from, and frames the embedder holds on a guest's behalf.
 *
 * A guest grows, shrinks and rearranges its memory itself with memory_op
 * (<pvcore/abi/memory.h>), which pvcore_hypercall() serves:
 * - #PVCORE_XENMEM_increase_reservation and #PVCORE_XENMEM_populate_physmap take new frames
 *   from the embedder's frame source (pvcore_machine_set_frame_source()), up to the
 *   domain's max_pages;
 * - #PVCORE_XENMEM_decrease_reservation drops the domain's allocation reference on frames
 *   it names: each becomes free (the frame_freed hook) once nothing references it. As on
 *   Xen a pinned page table is not unpinned (XSA-252): it stays until the guest unpins it;
 * - #PVCORE_XENMEM_exchange gives frames back and takes as many new ones, a chunk at a
 *   time, all or nothing per chunk;
 * - #PVCORE_XENMEM_current_reservation, #PVCORE_XENMEM_maximum_reservation,
 *   #PVCORE_XENMEM_maximum_gpfn and #PVCORE_XENMEM_maximum_ram_page report sizes.
 *
 * Extent commands are preemptible (a continuation carries the next extent in `cmd`); an
 * extent is at most 2^9 frames (2^12 for a privileged caller), as Xen's defaults. Every
 * other memory_op command (memory_map, machphys_mapping, add_to_physmap, ...) is the
 * embedder's: pvcore_hypercall() answers #PVCORE_HYPERCALL_UNHANDLED.
 *
 * A frame leaves a guest (decrease_reservation, exchange, #PVCORE_GNTTABOP_transfer) only
 * when nothing else references it: a frame that is mapped, pinned, granted or held
 * (shared info, grant table, vcpu_info, event-channel control blocks, and the frames held
 * with pvcore_domain_hold_frame()) stays where it is. An embedder that reads or writes a
 * guest frame itself, such as the console and xenstore rings it serves, holds it with
 * pvcore_domain_hold_frame(), or the guest could give the frame away while it is in use.
 */
#ifndef PVCORE_MEMORY_H
#define PVCORE_MEMORY_H

#include <pvcore/domain.h>
#include <pvcore/export.h>
#include <pvcore/machine.h>
#include <pvcore/types.h>

PVCORE_BEGIN_DECLS

/**
 * @brief The embedder's allocator of free frames for guests.
 *
 * Returns in `*first` the first of 2^order contiguous machine frames, `first` a multiple
 * of 2^order, every one of them RAM added with pvcore_frame_add_ram(), free (no owner:
 * the embedder has not assigned it and the library told it of its release through
 * frame_freed, or never used it) and, if `address_bits` is not 0, below 2^address_bits
 * bytes. The frames become the library's: it gives them to domain `domid`, and each comes
 * back through the frame_freed hook once freed (also at once, if the library cannot use
 * them). Returns 0, or a negative PVCORE_E* value when there is no such run (the guest
 * then gets fewer frames than it asked for). Called with no library lock held, possibly
 * from several threads at once.
 *
 * @param ctx          The context given to pvcore_machine_set_frame_source().
 * @param domid        The domain the frames are for.
 * @param order        log2 of the number of frames, at most 12.
 * @param address_bits 0, or the limit of the frames' machine addresses, 13-64.
 * @param first        Out: the first frame.
 */
typedef int (*pvcore_frame_alloc_fn)(void *ctx, uint16_t domid, uint32_t order,
                                     uint32_t address_bits, pvcore_mfn_t *first);

/**
 * @brief Sets where new frames for guests come from (memory_op's increase_reservation,
 *        populate_physmap and exchange; a transfer into a table that needs a lower frame).
 *
 * Without one (the default, or `alloc` NULL) those commands allocate nothing: the extent
 * commands report 0 extents done and an exchange fails with -PVCORE_ENOMEM.
 *
 * @param m     The machine.
 * @param alloc The allocator, or NULL.
 * @param ctx   Passed to `alloc`.
 * @note Set it before guests run; not synchronised with hypercalls in flight.
 */
PVCORE_API void pvcore_machine_set_frame_source(struct pvcore_machine *m, pvcore_frame_alloc_fn alloc,
                                                void *ctx);

/** Frames the embedder may hold per domain with pvcore_domain_hold_frame(). */
#define PVCORE_DOMAIN_MAX_HELD_FRAMES 8

/**
 * @brief Holds a frame of the domain for the embedder: it cannot be freed, given away or
 *        become a page table or descriptor page until pvcore_domain_unhold_frame() or the
 *        domain's destruction.
 *
 * Takes a general and a writable type reference, as the library does for the pages it
 * writes into (shared info, the grant table). For a back-end's view of a guest ring page.
 *
 * @param d   The domain.
 * @param mfn A frame it owns, not a page table or descriptor page.
 * @return 0; -PVCORE_EINVAL if `d` does not own it; -PVCORE_EBUSY if it has another type;
 *         -PVCORE_ENOSPC if #PVCORE_DOMAIN_MAX_HELD_FRAMES are held already; -PVCORE_ESRCH
 *         if the domain is being destroyed.
 * @note Thread-safe.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_hold_frame(struct pvcore_domain *d, pvcore_mfn_t mfn);

/**
 * @brief Lets go of a frame held with pvcore_domain_hold_frame() (once per hold).
 * @param d   The domain.
 * @param mfn The frame.
 * @return 0; -PVCORE_EINVAL if it is not held.
 * @note Thread-safe.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_unhold_frame(struct pvcore_domain *d, pvcore_mfn_t mfn);

PVCORE_END_DECLS

#endif /* PVCORE_MEMORY_H */
