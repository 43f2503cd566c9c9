/**
 * @file
 * @brief The machine: the frame table, the domain table and the embedder hooks.
 *
 * A machine describes the host's physical frames. For every machine frame number (MFN)
 * below `nr_frames` it keeps an owner, a general reference count, a type with its own
 * count, and validation state (pvcore_frame_query()). Frames at or above `nr_frames` are
 * not RAM: they can only be mapped as I/O memory by a domain permitted to.
 *
 * The core never allocates. The embedder hands over the memory for the machine, the frame
 * table and the domain table, and a direct map through which the core reads and writes
 * frame contents (guest page tables).
 */
#ifndef PVCORE_MACHINE_H
#define PVCORE_MACHINE_H

#include <stddef.h>
#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/host.h>
#include <pvcore/types.h>

PVCORE_BEGIN_DECLS

/** A machine (opaque; its memory is supplied by the embedder, see pvcore_machine_size()). */
struct pvcore_machine;

/** @name Machine flags (#pvcore_machine_config.flags) */
/** @{ */
/**
 * Refuse linear (recursive) page-table entries, as Xen's `pv-linear-pt=0`. When set, the
 * fast path may also take RW-only changes of L2-L4 entries (see pvcore_mmu_update()).
 */
#define PVCORE_MACHINE_NO_LINEAR_PT 0x1u
/**
 * The embedder runs PV guests with the processor's CPUID faulting enabled (every CPUID a
 * guest executes raises \#GP, which pvcore_cpu_trap() answers from the CPUID policy). The
 * library then offers guests CPUID faulting of their own, as Xen does where the processor
 * has it: MSR_PLATFORM_INFO bit 31 reads as set, and a guest that sets bit 0 of
 * MSR_MISC_FEATURES_ENABLES has the CPUID its user mode executes fault to its kernel.
 * Without the flag plain CPUID is not intercepted and neither MSR offers it.
 */
#define PVCORE_MACHINE_CPUID_FAULTING 0x2u
/**
 * The processor has no NX (no-execute) bit, or the embedder does not enable it
 * (EFER.NXE): grant mappings are then made without NX, as Xen makes them on such
 * processors. Without the flag a grant mapping is never executable, as under Xen.
 */
#define PVCORE_MACHINE_NO_NX 0x4u
/** @} */

/** What the embedder supplies to pvcore_machine_init(). */
struct pvcore_machine_config {
    /** Memory for the frame table: at least pvcore_frame_table_size(nr_frames) bytes, 8-byte aligned. */
    void *frame_table;
    /** Size of `frame_table` in bytes. */
    size_t frame_table_bytes;
    /** Number of machine frames described (MFNs 0 .. nr_frames-1); at most 2^32 - 1. */
    uint64_t nr_frames;
    /**
     * Host pointer at which machine frame 0 is mapped; frame n's 4 KiB are at
     * `directmap + n * 4096`. Only frames that are RAM (pvcore_frame_add_ram()) are
     * ever accessed through it.
     */
    void *directmap;
    /**
     * Machine-to-phys table: `nr_frames` entries, one guest frame number per machine
     * frame, maintained by MMU_MACHPHYS_UPDATE. May be mapped read-only into guests.
     */
    uint64_t *m2p;
    /** Largest domain id + 1 that pvcore_domain_create() accepts (at most 0x7FF0). */
    uint32_t max_domains;
    /** Hook table; must stay valid for the machine's lifetime. flush_tlb is required. */
    const struct pvcore_host_ops *ops;
    /** Passed unchanged to every hook. */
    void *ctx;
    /**
     * Work units one hypercall may spend before it is preempted with -PVCORE_ERESTART
     * (one unit = one page-table entry examined or released). 0 selects the default, 65536.
     */
    uint32_t work_budget;
    /** PVCORE_MACHINE_* flags. */
    uint32_t flags;
    /**
     * The hypervisor's own entries for L4 slots 256-271 (16 values), written into every
     * 64-bit guest L4 when it is validated, so that the hypervisor stays mapped while the
     * guest's table is loaded. NULL: those slots are cleared instead.
     */
    const uint64_t *hyp_l4_slots;
    /**
     * The hypervisor's entries for the part of a 32-bit guest's slot-3 L2 above
     * 0xF5800000 (L2 slots 428-511, 84 values), written when such an L2 is validated.
     * NULL: those slots are cleared instead.
     */
    const uint64_t *hyp_pae_l2_slots;
    /**
     * Optional: the machine-to-phys table as 32-bit guests see it (Xen's compat M2P, read
     * at 0xF5800000): `nr_frames` 32-bit entries, kept equal to the low half of `m2p`
     * (all ones where `m2p` has none). The embedder maps it read-only into 32-bit guests
     * through `hyp_pae_l2_slots`. NULL: not kept.
     */
    uint32_t *m2p_compat;
};

/**
 * @brief Bytes of memory pvcore_machine_init() needs for a machine with `max_domains`
 *        domain slots.
 * @param max_domains Domain ids 0 .. max_domains-1 will be usable (at most 0x7FF0).
 * @return The size in bytes, or 0 if max_domains is out of range.
 * @note Thread-safe; no side effects.
 */
PVCORE_API size_t pvcore_machine_size(uint32_t max_domains);

/**
 * @brief Bytes of frame table needed for `nr_frames` machine frames.
 * @param nr_frames Number of frames (at most 2^32 - 1).
 * @return The size in bytes, or 0 if nr_frames is out of range.
 * @note Thread-safe; no side effects.
 */
PVCORE_API size_t pvcore_frame_table_size(uint64_t nr_frames);

/**
 * @brief Initialises a machine in embedder memory. All frames start as not RAM.
 *
 * @param mem  At least pvcore_machine_size(cfg->max_domains) bytes, 8-byte aligned.
 * @param len  Size of `mem` in bytes.
 * @param cfg  The configuration; copied, but the memory it points to stays in use.
 * @param out  Receives the machine (a pointer into `mem`).
 * @return 0; -PVCORE_EINVAL if a pointer is NULL or misaligned, a size is too small,
 *         nr_frames or max_domains is out of range, or cfg->ops->flush_tlb is NULL.
 * @note Not thread-safe: call once, before any other use of the machine.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_machine_init(void *mem, size_t len,
                                                    const struct pvcore_machine_config *cfg,
                                                    struct pvcore_machine **out);

/**
 * @brief Declares machine frames [first, first + count) as free RAM.
 *
 * Free RAM can be given to domains with pvcore_domain_assign(). Frames default to
 * non-RAM; non-RAM frames are I/O memory for mapping purposes.
 *
 * @param m     The machine.
 * @param first First MFN.
 * @param count Number of frames.
 * @return 0; -PVCORE_EINVAL if the range is empty, wraps or exceeds nr_frames;
 *         -PVCORE_EBUSY if a frame in it is already RAM (nothing is changed then).
 * @note Call before domains run; not safe against concurrent use of the same frames.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_frame_add_ram(struct pvcore_machine *m, pvcore_mfn_t first,
                                                     uint64_t count);

/**
 * @brief Gives free RAM frames [first, first+count) to the hypervisor (owner DOMID_XEN).
 *
 * Such frames are never mappable by guests, except by a privileged domain through
 * DOMID_XEN as the foreign domain, and then only read-only.
 *
 * @param m     The machine.
 * @param first First MFN.
 * @param count Number of frames.
 * @return 0; -PVCORE_EINVAL for a bad range; -PVCORE_EBUSY if a frame is not free RAM.
 * @note Call before domains run.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_frame_reserve_xen(struct pvcore_machine *m,
                                                         pvcore_mfn_t first, uint64_t count);

/** @name Frame types (#pvcore_frame_info.type) */
/** @{ */
#define PVCORE_PGT_NONE 0u      /**< No type. */
#define PVCORE_PGT_L1 1u        /**< Level-1 page table. */
#define PVCORE_PGT_L2 2u        /**< Level-2 page table. */
#define PVCORE_PGT_L3 3u        /**< Level-3 page table. */
#define PVCORE_PGT_L4 4u        /**< Level-4 page table. */
#define PVCORE_PGT_SEG_DESC 5u  /**< GDT or LDT page. */
#define PVCORE_PGT_SHARED 6u    /**< Shared (copy-on-write) page. */
#define PVCORE_PGT_WRITABLE 7u  /**< Writable mapping(s) exist. */
/** @} */

/** @name Frame state flags (#pvcore_frame_info.flags) */
/** @{ */
#define PVCORE_FRAME_RAM 0x01u          /**< The frame is RAM. */
#define PVCORE_FRAME_ALLOCATED 0x02u    /**< The owner still holds its allocation reference. */
#define PVCORE_FRAME_PINNED 0x04u       /**< Pinned as a page table. */
#define PVCORE_FRAME_VALIDATED 0x08u    /**< Every entry was checked and holds its references. */
#define PVCORE_FRAME_PARTIAL 0x10u      /**< Validation was preempted and will resume. */
#define PVCORE_FRAME_TEARDOWN 0x20u     /**< Devalidation is queued or in progress. */
#define PVCORE_FRAME_PAE_XEN_L2 0x40u   /**< A PAE L2 holding the hypervisor's slots. */
/** @} */

/** A snapshot of one frame's state, for tests, tools and the invariant checker. */
struct pvcore_frame_info {
    uint64_t mfn;        /**< The machine frame number. */
    uint16_t owner;      /**< Owning domain id, DOMID_XEN, DOMID_IO, or DOMID_INVALID when free. */
    uint8_t type;        /**< One of the PVCORE_PGT_* values. */
    uint8_t flags;       /**< PVCORE_FRAME_* flags. */
    uint32_t count;      /**< General references (including the allocation reference). */
    uint32_t type_count; /**< References to the current type. */
    int32_t linear;      /**< >0: holds N same-level linear entries; <0: target of N such entries. */
    uint32_t nr_validated; /**< Entries validated so far while PARTIAL or torn down while TEARDOWN. */
};

/**
 * @brief Reads one frame's state.
 * @param m    The machine.
 * @param mfn  The frame; must be below nr_frames.
 * @param info Receives the state.
 * @return 0, or -PVCORE_EINVAL if mfn is out of range.
 * @note Lock-free; a frame changing concurrently gives a consistent but instantly stale view
 *       of each field, not of the whole.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_frame_query(const struct pvcore_machine *m, pvcore_mfn_t mfn,
                                                   struct pvcore_frame_info *info);

/**
 * @brief Number of machine frames the machine describes.
 * @param m The machine.
 * @return nr_frames as configured.
 */
PVCORE_API uint64_t pvcore_machine_nr_frames(const struct pvcore_machine *m);

PVCORE_END_DECLS

#endif /* PVCORE_MACHINE_H */
