/**
 * @file
 * @brief The batched page-table validator: mmu_update, mmuext_op, update_va_mapping.
 *
 * A PV guest keeps its own page tables, mapped read-only to itself, and changes them only
 * through these calls, which validate every entry against the frame table's ownership and
 * type rules before writing it. The rules are Xen's (see the reference in docs/):
 *
 * - a frame typed as a page table (L1-L4) or descriptor page never has a writable mapping:
 *   a writable L1 entry takes a "writable" type reference, which cannot coexist with any
 *   other type;
 * - a table is validated, every entry checked and holding references on what it maps,
 *   when it first takes its type; it is devalidated, every reference released, when the
 *   last type reference goes;
 * - entries may map only frames their domain may map: its own, I/O memory it was
 *   permitted, and (privileged domains) other domains' frames;
 * - the hypervisor's slots (L4 256-271 for 64-bit guests; the L2 above 0xF5800000 for
 *   32-bit PAE guests) are never guest-controlled.
 *
 * All calls are made on behalf of a vCPU, with requests already copied out of guest
 * memory into hypervisor memory. Batches stop at the first failing request, report how
 * many were done, and may be preempted (-PVCORE_ERESTART): the embedder then re-issues
 * the call with the remaining requests (a hypercall continuation), and the end state is
 * exactly that of an uninterrupted run.
 *
 * Concurrency: every call takes the MMU lock of the domain whose tables it changes; calls
 * on different domains run in parallel; reference and type counts change by
 * compare-and-swap, so cross-domain mappings race safely.
 */
#ifndef PVCORE_MMU_H
#define PVCORE_MMU_H

#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/abi/xen.h>
#include <pvcore/domain.h>

PVCORE_BEGIN_DECLS

/**
 * @brief One mmuext_op request, independent of the guest's word size.
 *
 * The wire layouts differ between 32- and 64-bit guests; convert with
 * pvcore_mmuext_from_x86_32() or pvcore_mmuext_from_x86_64().
 */
struct pvcore_mmuext_req {
    uint32_t cmd;  /**< An MMUEXT_* command. */
    uint32_t pad;  /**< Ignored. */
    uint64_t arg1; /**< mfn (pin, unpin, base pointers, clear/copy page) or linear_addr (invlpg, set_ldt). */
    uint64_t arg2; /**< nr_ents (set_ldt), vcpumask guest address (*_MULTI) or src_mfn (copy_page). */
};

/**
 * @brief HYPERVISOR_mmu_update: applies a batch of page-table updates.
 *
 * Each request's `ptr & 7` is the command, the rest the machine address of the entry:
 * - MMU_NORMAL_PT_UPDATE (0), MMU_PT_UPDATE_PRESERVE_AD (2, keeps the accessed/dirty
 *   bits currently in the entry), MMU_PT_UPDATE_NO_TRANSLATE (3, same as 0 for PV):
 *   writes `val` to the entry if the frame is a validated page table of the page-table
 *   owner (checked as that level's entry), or a plain write if it is the owner's ordinary
 *   memory that can take a writable reference;
 * - MMU_MACHPHYS_UPDATE (1): sets M2P[ptr >> 12] = val for a frame the data owner owns.
 *
 * `foreigndom` bits 15:0 name the owner of the frames the new entries map (DOMID_SELF,
 * DOMID_IO, another domain if privileged); bits 31:16, if non-zero, name the owner of the
 * page tables plus one (privileged only).
 *
 * @param v          The calling vCPU.
 * @param reqs       Requests, in hypervisor memory.
 * @param count      Number of requests.
 * @param done       Incremented by the number of requests completed (may be NULL).
 * @param foreigndom As above.
 * @return 0 when all were done. Otherwise the first failing request's error (earlier
 *         requests stay applied):
 *         -PVCORE_ESRCH: a foreign domain that does not exist, or the caller's own id named
 *         explicitly; -PVCORE_EPERM: naming another domain without privilege, or
 *         MACHPHYS for another page-table owner; -PVCORE_EINVAL: a frame that is not the
 *         owner's, not a page table or writable memory, a disallowed flag, a hypervisor
 *         slot (L4), a bad PAE L3 slot, a foreign data owner for an L2-L4 entry;
 *         -PVCORE_EPERM: a hypervisor slot of a PAE L2; -PVCORE_EBUSY: mapping a frame
 *         owned by another domain, or writably mapping a page table or descriptor page;
 *         -PVCORE_ENOSYS: an unknown command;
 *         -PVCORE_ERESTART: preempted after `*done` requests; re-issue with the rest.
 * @note Flushes: at most one TLB flush per call, on all the page-table owner's vCPUs, and
 *       only if an L2-L4 entry changed (L1 changes are the guest's to flush).
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_mmu_update(struct pvcore_vcpu *v,
                                                  const pvcore_mmu_update_t *reqs,
                                                  uint32_t count, uint32_t *done,
                                                  uint32_t foreigndom);

/**
 * @brief HYPERVISOR_mmuext_op: a batch of extended MMU operations.
 *
 * Commands and their rules: MMUEXT_PIN_L1..L4_TABLE (validate the tree and pin it;
 * -PVCORE_EINVAL if already pinned, not owned, or invalid; PIN_L4 is a no-op for 32-bit
 * guests and PIN_L3 the root for them), #PVCORE_MMUEXT_UNPIN_TABLE (-PVCORE_EINVAL if not pinned),
 * #PVCORE_MMUEXT_NEW_BASEPTR (kernel root: L4, or L3 for 32-bit guests; -PVCORE_EPERM with a
 * foreign domain), #PVCORE_MMUEXT_NEW_USER_BASEPTR (64-bit only; mfn 0 clears),
 * #PVCORE_MMUEXT_TLB_FLUSH_LOCAL/MULTI/ALL and #PVCORE_MMUEXT_INVLPG_LOCAL/MULTI/ALL (through the
 * flush_tlb hook; a non-canonical INVLPG address is a silent no-op; an unreadable vCPU
 * bitmap is -PVCORE_EINVAL), #PVCORE_MMUEXT_FLUSH_CACHE and _GLOBAL (-PVCORE_EACCES without I/O
 * memory), #PVCORE_MMUEXT_SET_LDT (at most 8192 entries, page-aligned guest address;
 * -PVCORE_EINVAL otherwise), #PVCORE_MMUEXT_CLEAR_PAGE and #PVCORE_MMUEXT_COPY_PAGE (destination must be
 * able to take a writable reference; -PVCORE_EINVAL otherwise), #PVCORE_MMUEXT_MARK_SUPER and
 * UNMARK_SUPER (-PVCORE_EOPNOTSUPP); anything else -PVCORE_ENOSYS.
 *
 * @param v          The calling vCPU.
 * @param ops        Requests, in hypervisor memory.
 * @param count      Number of requests.
 * @param done       Incremented by the number of requests completed (may be NULL).
 * @param foreigndom Bits 15:0: owner of the frames named (DOMID_SELF or, privileged only,
 *                   another domain).
 * @return 0, the first failure's error (see above, plus -PVCORE_ESRCH/-PVCORE_EPERM for the
 *         foreign domain as in pvcore_mmu_update()), or -PVCORE_ERESTART when preempted.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_mmuext_op(struct pvcore_vcpu *v,
                                                 const struct pvcore_mmuext_req *ops,
                                                 uint32_t count, uint32_t *done,
                                                 uint32_t foreigndom);

/**
 * @brief HYPERVISOR_update_va_mapping and update_va_mapping_otherdomain.
 *
 * Replaces the L1 entry that maps `va` in the vCPU's current kernel address space with
 * `val`, validated as mmu_update would (data frames owned by `foreigndom`), then flushes
 * as `flags` say: #PVCORE_UVMF_NONE, #PVCORE_UVMF_TLB_FLUSH or #PVCORE_UVMF_INVLPG, combined with #PVCORE_UVMF_LOCAL,
 * #PVCORE_UVMF_ALL or (#PVCORE_UVMF_MULTI | guest address of a vCPU bitmap). Nothing is flushed if the
 * update fails.
 *
 * @param v          The calling vCPU.
 * @param va         Guest linear address; must be canonical and below the hypervisor area.
 * @param val        The new L1 entry.
 * @param flags      UVMF_* flags as above.
 * @param foreigndom DOMID_SELF for update_va_mapping, or the other domain's id.
 * @return 0; -PVCORE_EINVAL if va is not mapped by a present L2 entry and a validated L1
 *         of the caller's, or the entry is invalid; other errors as pvcore_mmu_update().
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_update_va_mapping(struct pvcore_vcpu *v, uint64_t va,
                                                         uint64_t val, uint64_t flags,
                                                         uint32_t foreigndom);

/**
 * @brief Translates a guest virtual address through a vCPU's kernel page tables.
 *
 * The walk of <pvcore/guestmem.h> (validated tables of the vCPU's domain, guest slots
 * only, no large pages, RAM only), with nothing held afterwards: the answer may be stale
 * by the time it is used. Copies use pvcore_guestmem_get() instead, which holds the frame.
 *
 * @param v     The vCPU.
 * @param va    Guest virtual address.
 * @param maddr Receives the machine address `va` maps to.
 * @param writable Receives non-zero if the mapping is writable, that is, the L1 entry and
 *              every upper-level entry on the walk allow writes, as the CPU requires (may
 *              be NULL).
 * @return 0; -PVCORE_EFAULT if va is outside guest space or not mapped.
 * @note Lock-free; safe against concurrent updates of the tables by other vCPUs.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_vcpu_translate(struct pvcore_vcpu *v, uint64_t va,
                                                      uint64_t *maddr, int *writable);

/**
 * @brief Converts mmuext_op requests from a 64-bit guest's wire layout.
 * @param in    `count` requests as the guest wrote them (copied to hypervisor memory).
 * @param count Number of requests.
 * @param out   Receives `count` requests.
 */
PVCORE_API void pvcore_mmuext_from_x86_64(const struct pvcore_mmuext_op_x86_64 *in, uint32_t count,
                                          struct pvcore_mmuext_req *out);

/**
 * @brief Converts mmuext_op requests from a 32-bit guest's wire layout.
 * @param in    `count` requests as the guest wrote them (copied to hypervisor memory).
 * @param count Number of requests.
 * @param out   Receives `count` requests.
 */
PVCORE_API void pvcore_mmuext_from_x86_32(const struct pvcore_mmuext_op_x86_32 *in, uint32_t count,
                                          struct pvcore_mmuext_req *out);

PVCORE_END_DECLS

#endif /* PVCORE_MMU_H */
