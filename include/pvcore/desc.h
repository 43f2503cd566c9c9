/**
 * @file
 * @brief Descriptor tables: the descriptor check, the GDT (set_gdt), single descriptor
 *        updates (update_descriptor) and the lazily mapped LDT.
 *
 * A PV guest's GDT and LDT live in its own frames, but the processor uses them with the
 * hypervisor's privilege, so every descriptor in them is checked first (Xen's
 * check_descriptor(), see pvcore_desc_check()): nothing in them can give the guest ring 0
 * or reach the hypervisor's segments. A frame holding descriptors in use takes the
 * "descriptor page" type (#PVCORE_PGT_SEG_DESC): taking it checks all 512 descriptors of
 * the frame, fixing them up in place, and while it is held the frame cannot be mapped
 * writable, nor can a frame mapped writable take it. The guest then changes descriptors
 * only through update_descriptor.
 *
 * - The GDT is the list of frames given to set_gdt (HYPERVISOR_set_gdt), each holding the
 *   descriptor type while installed. The embedder maps them into the processor's GDT below
 *   the hypervisor's own entries (#PVCORE_FIRST_RESERVED_GDT_ENTRY up), reading them with
 *   pvcore_vcpu_gdt() when told by the #pvcore_host_ops::gdt_changed hook.
 * - The LDT is only an address and a size (#PVCORE_MMUEXT_SET_LDT). Its frames are found when the
 *   guest first touches them: the embedder maps its LDT area not present, and on a fault
 *   there calls pvcore_desc_ldt_fault(), which walks the guest's kernel page tables, gives
 *   the frame the descriptor type and returns it to map.
 *
 * @par Contract for the embedder's LDT mappings
 * The library drops its references to a vCPU's LDT frames when the LDT changes
 * (#PVCORE_MMUEXT_SET_LDT with another base or size), when the vCPU's kernel root changes
 * (#PVCORE_MMUEXT_NEW_BASEPTR to another table), on pvcore_desc_ldt_destroy() and at domain
 * destruction. From then on the frames may become writable to the guest, so the embedder
 * must no longer map them. The rule is one: whenever the library releases LDT frames of a
 * running vCPU it has just asked for (or, for SET_LDT, always asks for) a full TLB flush of
 * that vCPU (#PVCORE_FLUSH_TLB_ALL, #PVCORE_FLUSH_SCOPE_LOCAL) before the call returns;
 * the embedder drops its LDT-area mappings of a vCPU on every full flush that covers it,
 * and maps them again on the next fault, as Xen's shadow LDT does.
 *
 * @par 16-byte call gates
 * A 64-bit guest's call gate is two 8-byte slots; the second holds the top half of the
 * target offset. As Xen, the check treats every slot on its own: the second half is
 * accepted as whatever descriptor it looks like (usually type 0, accepted unchanged). That
 * is safe because the gate itself is stored with DPL 0, so every use of it faults and is
 * emulated, and the emulator checks the second half (type bits zero) when it reads the gate.
 *
 * Concurrency: the calls taking a vCPU are made by that vCPU (or on it while it makes no
 * call); they take its domain's MMU lock and never touch guest memory.
 */
#ifndef PVCORE_DESC_H
#define PVCORE_DESC_H

#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/abi/xen.h>
#include <pvcore/domain.h>

PVCORE_BEGIN_DECLS

/** Most GDT frames a guest can install: the frames below the hypervisor's reserved ones. */
#define PVCORE_DESC_GDT_FRAMES PVCORE_FIRST_RESERVED_GDT_PAGE
/** Most LDT frames: 8192 entries of 8 bytes. */
#define PVCORE_DESC_LDT_FRAMES 16u
/** Descriptors in one frame. */
#define PVCORE_DESC_PER_FRAME 512u

/**
 * @brief Checks one 8-byte segment descriptor as Xen's check_descriptor() does, and fixes
 *        it up in place.
 *
 * - Not present: accepted unchanged.
 * - Otherwise a DPL below the guest kernel's ring (1 for a 32-bit guest, 3 for a 64-bit
 *   one) is raised to it.
 * - Code and data segments are accepted. For a 32-bit guest, a 64-bit code segment (L bit)
 *   is refused, and a flat segment (base 0) whose limit reaches beyond the hypervisor's
 *   start (#PVCORE_HYPERVISOR_VIRT_START_X86_32) is widened to 4 GiB, as Xen does for old
 *   PAE kernels.
 * - System descriptors: type 0 (the top half of a 64-bit call gate) is accepted unchanged;
 *   a call gate (type 0xC) is accepted if its target selector is in the LDT, below the
 *   reserved GDT entries, or the hypervisor's flat kernel code selector, and if its
 *   reserved bits are clear (the top three parameter-count bits for a 32-bit guest, the
 *   whole low byte for a 64-bit one); it is stored with DPL 0 and its (raised) DPL in the
 *   target selector's RPL. Everything else (LDT, TSS, task, interrupt and trap gates) is
 *   refused.
 *
 * A descriptor this function produced, checked again, is accepted unchanged, with one
 * exception that Xen shares: a 32-bit guest's call gate with DPL 2 or 3 then has its
 * stored DPL 0 raised, so it records DPL 1, and if it leads to the flat kernel code
 * selector it is refused (its selector now carries RPL 2 or 3). This matters because a
 * descriptor page is checked again whenever it takes the type afresh, after its last
 * holder let go (Xen: only after the frame had another type in between).
 *
 * @param is32 Non-zero for a 32-bit guest.
 * @param desc The descriptor, as the processor reads it (little-endian value); rewritten
 *             only when accepted.
 * @return 0 if accepted; -PVCORE_EINVAL if refused (`*desc` unchanged).
 * @note Pure: no state, no lock.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_desc_check(int is32, uint64_t *desc);

/**
 * @brief HYPERVISOR_set_gdt: installs a new GDT for vCPU `v`.
 *
 * Each of the ceil(entries / 512) frames must be the domain's own and take the descriptor
 * type (no writable mapping, not a page table, every descriptor accepted by
 * pvcore_desc_check(), which fixes them up). All of them, or nothing: on any failure the
 * references already taken are dropped and the old GDT stays. On success the old frames'
 * references are dropped and the #pvcore_host_ops::gdt_changed hook is called, with no
 * library lock held. A frame may appear twice, or in the old and the new GDT.
 *
 * @param v       The calling vCPU.
 * @param frames  Machine frames, ceil(entries / 512) of them (may be NULL if entries is 0).
 * @param entries Number of 8-byte entries, at most #PVCORE_FIRST_RESERVED_GDT_ENTRY; 0
 *                installs an empty GDT.
 * @return 0; -PVCORE_EINVAL for too many entries or a frame refused;
 *         -PVCORE_ERESTART if devalidation the domain had queued did not finish within the
 *         call's work budget (nothing changed: call again).
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_desc_set_gdt(struct pvcore_vcpu *v, const pvcore_mfn_t *frames,
                                                    uint32_t entries);

/**
 * @brief HYPERVISOR_update_descriptor: writes one checked descriptor into guest memory.
 *
 * The descriptor is checked and fixed up (pvcore_desc_check()) and then written, as one
 * atomic 8-byte store, at machine address `maddr` of a frame the domain owns that is
 * either a descriptor page (a GDT or LDT frame in use) or can be written (has no other
 * type: not a page table).
 *
 * @param v     The calling vCPU.
 * @param maddr Machine address of the descriptor; 8-byte aligned.
 * @param desc  The descriptor.
 * @return 0; -PVCORE_EINVAL if `maddr` is misaligned, the descriptor is refused, or the
 *         frame is not the domain's or is a page table; -PVCORE_ERESTART as for
 *         pvcore_desc_set_gdt() (nothing written).
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_desc_update(struct pvcore_vcpu *v, pvcore_maddr_t maddr,
                                                   uint64_t desc);

/**
 * @brief Maps one frame of vCPU `v`'s LDT on a fault in the embedder's LDT area.
 *
 * The guest's kernel page tables are walked for `ldt_base + offset` (the LDT set by
 * #PVCORE_MMUEXT_SET_LDT). The frame mapped there must be present, the domain's own, and take the
 * descriptor type (every descriptor checked and fixed up), which it then holds until the
 * LDT mappings are destroyed (see the contract above). Offsets beyond the LDT's size are
 * refused without looking at memory (XSA-298: nothing outside the limit is ever given the
 * descriptor type). A frame already mapped for that page is returned again.
 *
 * @param v      The faulting vCPU.
 * @param offset Byte offset into the LDT; must be below 8 x the LDT's entry count.
 * @param mfn    Receives the frame to map, read-only to the guest, for LDT page
 *               `offset / 4096`.
 * @return 0; -PVCORE_EINVAL if `offset` is beyond the LDT (or there is none) or the frame
 *         is refused; -PVCORE_EFAULT if nothing valid is mapped at that address. The
 *         embedder then delivers the fault to the guest.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_desc_ldt_fault(struct pvcore_vcpu *v, uint64_t offset,
                                                      pvcore_mfn_t *mfn);

/**
 * @brief Releases the LDT frames mapped for vCPU `v` (Xen's pv_destroy_ldt).
 *
 * If any were mapped, a full local TLB flush of `v` is requested before it returns (see
 * the contract above). The LDT's base and size stay; its frames fault in again.
 *
 * @param v The vCPU.
 */
PVCORE_API void pvcore_desc_ldt_destroy(struct pvcore_vcpu *v);

/**
 * @brief A vCPU's current GDT.
 * @param v       The vCPU.
 * @param mfns    Receives the #PVCORE_DESC_GDT_FRAMES frames: those in use first, then
 *                PVCORE_INVALID_MFN_VALUE. May be NULL.
 * @param entries Receives the number of entries (0: none installed). May be NULL.
 * @note Read without a lock: call from the vCPU's own context (as the gdt_changed hook).
 */
PVCORE_API void pvcore_vcpu_gdt(const struct pvcore_vcpu *v,
                                pvcore_mfn_t mfns[PVCORE_DESC_GDT_FRAMES], uint32_t *entries);

PVCORE_END_DECLS

#endif /* PVCORE_DESC_H */
