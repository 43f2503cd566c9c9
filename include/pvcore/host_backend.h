/**
 * @file
 * @brief The host backend: a whole machine inside an ordinary process.
 *
 * For tests, fuzzers, benchmarks and examples. It allocates a machine with its frame
 * table, M2P and "machine memory" (a page-aligned buffer standing in for RAM, which is
 * the direct map), and implements every hook of #pvcore_host_ops: flushes are counted,
 * not done; guest memory is read and written by walking the vCPU's kernel page tables
 * (a write needs the page mapped writable at every level, as on the processor, and
 * writes all bytes or none); preemption can be forced every N checks. Hosted only (uses
 * malloc).
 */
#ifndef PVCORE_HOST_BACKEND_H
#define PVCORE_HOST_BACKEND_H

#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/machine.h>

PVCORE_BEGIN_DECLS

/** A host backend (opaque). */
struct pvcore_host_backend;

/** Counters of what the core asked the host to do. */
struct pvcore_host_stats {
    uint64_t flush_calls;        /**< Every flush_tlb call. */
    uint64_t flush_local;        /**< ... with scope LOCAL. */
    uint64_t flush_domain;       /**< ... with scope DOMAIN. */
    uint64_t flush_mask;         /**< ... with scope MASK. */
    uint64_t flush_va;           /**< ... of kind TLB_VA (single address). */
    uint64_t flush_every_domain; /**< ... for all domains (domid DOMID_INVALID). */
    uint64_t cache_flushes;      /**< flush_cache calls. */
    uint64_t base_changes;       /**< base_changed calls. */
    uint64_t frames_freed;       /**< frame_freed calls. */
    uint64_t mode_changes;       /**< mode_changed calls (64-bit guest kernel/user switches). */
    uint64_t preempt_checks;     /**< preempt_check calls while preemption is being forced. */
    uint64_t last_flush_vcpu_mask; /**< vcpu_mask of the last MASK-scope flush. */
    uint64_t last_flush_va;      /**< va of the last TLB_VA flush. */
    uint64_t evtchn_kicks;       /**< evtchn_kick calls (a vCPU's upcall_pending went from 0 to 1). */
};

/**
 * @brief Creates a machine of `nr_frames` frames of process memory, all of them RAM.
 * @param nr_frames   Number of machine frames (each 4 KiB of memory is allocated).
 * @param max_domains Domain ids 0 .. max_domains-1 are usable.
 * @param work_budget Work units per hypercall before preemption (0: the default).
 * @param flags       PVCORE_MACHINE_* flags.
 * @param out         Receives the backend.
 * @return 0; -PVCORE_ENOMEM if memory could not be allocated; -PVCORE_EINVAL for bad sizes.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_host_backend_create(uint64_t nr_frames, uint32_t max_domains,
                                                           uint32_t work_budget, uint32_t flags,
                                                           struct pvcore_host_backend **out);

/**
 * @brief Frees the backend and all its memory (domains must not be used afterwards).
 * @param hb The backend, or NULL.
 */
PVCORE_API void pvcore_host_backend_destroy(struct pvcore_host_backend *hb);

/**
 * @brief The backend's machine.
 * @param hb The backend.
 * @return The machine.
 */
PVCORE_API struct pvcore_machine *pvcore_host_backend_machine(struct pvcore_host_backend *hb);

/**
 * @brief Host pointer to the contents of machine frame `mfn` (for building page tables).
 * @param hb  The backend.
 * @param mfn A frame below nr_frames.
 * @return Pointer to its 512 64-bit entries, or NULL if mfn is out of range.
 */
PVCORE_API uint64_t *pvcore_host_backend_frame(struct pvcore_host_backend *hb, pvcore_mfn_t mfn);

/**
 * @brief Reads the counters.
 * @param hb  The backend.
 * @param out Receives a snapshot.
 */
PVCORE_API void pvcore_host_backend_stats(struct pvcore_host_backend *hb, struct pvcore_host_stats *out);

/**
 * @brief Zeroes the counters.
 * @param hb The backend.
 */
PVCORE_API void pvcore_host_backend_reset_stats(struct pvcore_host_backend *hb);

/**
 * @brief Forces preemption: preempt_check answers yes on every `every`-th call.
 * @param hb    The backend.
 * @param every 0 never forces preemption; 1 preempts at every check.
 */
PVCORE_API void pvcore_host_backend_set_preempt(struct pvcore_host_backend *hb, uint32_t every);

PVCORE_END_DECLS

#endif /* PVCORE_HOST_BACKEND_H */
