/**
 * @file
 * @brief Guest memory: a vCPU's virtual addresses translated as the guest's own access
 * would be, with the frame held while it is used.
 *
 * Every access a hypercall makes to guest memory (request arrays, `pdone`, xen_version
 * buffers, vCPU bitmaps) is a copy between hypervisor memory and a guest virtual address.
 * The guest controls the address and, through its page tables, what it maps; another of
 * its vCPUs may change those tables while the copy runs. So a translation here:
 *
 * - walks only what the validator accepted: at each level, a validated page table of the
 *   vCPU's own domain, read at a slot the guest controls under that table's own type
 *   (never a hypervisor slot: L4 256-271 of a 64-bit guest, the hypervisor part of a
 *   32-bit guest's PAE L2), following an entry that is present and not a large page;
 * - yields only a frame that a validated entry maps, checked again once the frame is held:
 *   the guest's own RAM, another domain's frame it may map, or a hypervisor frame shared
 *   read-only; never I/O memory and never a frame it has no entry for;
 * - holds what it found: each table on the walk carries a reference while its entry is
 *   read, and the final frame is handed back with a general reference (and, for a write,
 *   a writable type reference, so that it cannot become a page table while it is written).
 *
 * None of these functions takes a library lock (except, rarely, to drop the last reference
 * to a table that was unhooked during the walk, which queues its devalidation as any other
 * drop would); they may run on any CPU while other vCPUs update the same tables, which is
 * how the host's copy hooks are meant to be built (see #pvcore_host_ops).
 */
#ifndef PVCORE_GUESTMEM_H
#define PVCORE_GUESTMEM_H

#include <stddef.h>
#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/domain.h>

PVCORE_BEGIN_DECLS

/** @name Flags of #pvcore_guestmem_page */
/** @{ */
/** Every entry of the walk allows writes: the guest could write the page itself. */
#define PVCORE_GUESTMEM_WRITABLE 0x1u
/** The page is held for writing: it carries a writable type reference until put. */
#define PVCORE_GUESTMEM_HELD_WRITE 0x2u
/** @} */

/** A guest page held by pvcore_guestmem_get(), released with pvcore_guestmem_put(). */
struct pvcore_guestmem_page {
    uint64_t maddr; /**< Machine address the virtual address maps to (frame and offset). */
    uint32_t flags; /**< PVCORE_GUESTMEM_* flags. */
    uint32_t pad;   /**< Zero. */
};

/**
 * @brief Translates a guest virtual address of vCPU `v` and holds the frame it maps.
 *
 * The walk follows `v`'s current kernel page tables with the rules in this header's
 * description. On success the frame stays the one the guest mapped, with the same owner,
 * until pvcore_guestmem_put(); with `write`, it also cannot take a page-table or
 * descriptor type meanwhile.
 *
 * @param v     The vCPU whose address space is walked.
 * @param va    Guest virtual address (any byte of the page).
 * @param write Non-zero to hold the page for writing: every level of the walk must allow
 *              writes, as the processor requires for the guest's own write.
 * @param out   Receives the page (machine address of `va`, flags).
 * @return 0; -PVCORE_EFAULT if `va` is outside the guest's part of the address space, not
 *         mapped by validated entries, maps memory that is not RAM, is read-only where
 *         `write` asks for writing, or its mapping changed under the walk.
 * @note Lock-free: safe against concurrent updates of the same tables by other vCPUs.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_guestmem_get(struct pvcore_vcpu *v, uint64_t va, int write,
                                                     struct pvcore_guestmem_page *out);

/**
 * @brief Releases a page held by pvcore_guestmem_get().
 * @param v  The vCPU that got it.
 * @param pg The page; its contents are unspecified afterwards.
 */
PVCORE_API void pvcore_guestmem_put(struct pvcore_vcpu *v, struct pvcore_guestmem_page *pg);

/**
 * @brief Copies from guest virtual memory into hypervisor memory.
 *
 * Page by page: each page is held (pvcore_guestmem_get()) while it is read through the
 * machine's directmap (#pvcore_machine_config::directmap).
 *
 * @param v   The vCPU whose address space is read.
 * @param dst Destination in hypervisor memory.
 * @param gva Guest virtual address of the first byte.
 * @param len Number of bytes. As Xen's access_ok(), a range that wraps around the top of
 *            the address space, one that starts non-canonical or in the hypervisor's
 *            hole (64-bit guests), or one that reaches the hypervisor's area above
 *            #PVCORE_HYPERVISOR_VIRT_START_X86_32 (32-bit guests) is refused.
 * @return 0; -PVCORE_EFAULT if any byte is unreadable (`dst` is then partly written).
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_guestmem_copy_from(struct pvcore_vcpu *v, void *dst,
                                                           uint64_t gva, size_t len);

/**
 * @brief Copies from hypervisor memory to guest virtual memory, all or nothing.
 *
 * Every page of the range is first checked writable at every level. Ranges of up to
 * #PVCORE_GUESTMEM_HOLD_PAGES pages (the library's own copies are at most two) are then
 * held together while they are written, so a concurrent change of the mappings either
 * makes the call fail having written nothing, or happens after the whole write. A longer
 * range is written a group of pages at a time, each group held; a mapping removed by
 * another vCPU between groups then leaves the earlier groups written.
 *
 * @param v   The vCPU whose address space is written.
 * @param gva Guest virtual address of the first byte.
 * @param src Source in hypervisor memory.
 * @param len Number of bytes (ranges as for pvcore_guestmem_copy_from()).
 * @return 0; -PVCORE_EFAULT if any byte is not writable by the guest, having written none.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_guestmem_copy_to(struct pvcore_vcpu *v, uint64_t gva,
                                                         const void *src, size_t len);

/** Pages pvcore_guestmem_copy_to() holds at once. */
#define PVCORE_GUESTMEM_HOLD_PAGES 4u

PVCORE_END_DECLS

#endif /* PVCORE_GUESTMEM_H */
