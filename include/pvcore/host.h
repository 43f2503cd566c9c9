/**
 * @file
 * @brief Embedder hooks: the few machine actions the core asks of its host.
 *
 * The core never touches hardware. When it needs a TLB or cache flush, a preemption
 * decision, or a copy from or to guest memory, it calls one of these hooks, which the embedder
 * supplies in a #pvcore_host_ops table at pvcore_machine_init(). The host backend in
 * <pvcore/host_backend.h> implements them for an ordinary process (it counts flushes).
 *
 * The flush, cache, preempt and base-pointer hooks are called with the affected domain's
 * MMU lock held: they must not call back into libpvcore functions that take that lock (any
 * pvcore_mmu_*, pvcore_domain_* call on the same domain). The copy hooks are called with
 * no library lock held, and may use <pvcore/guestmem.h>.
 */
#ifndef PVCORE_HOST_H
#define PVCORE_HOST_H

#include <stddef.h>
#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/types.h>

PVCORE_BEGIN_DECLS

/** @name TLB flush kinds (#pvcore_flush.kind) */
/** @{ */
/** Flush every non-global and global translation of the target vCPUs. */
#define PVCORE_FLUSH_TLB_ALL 1u
/** Flush the translation of one linear address (#pvcore_flush.va). */
#define PVCORE_FLUSH_TLB_VA 2u
/** @} */

/** @name TLB flush scopes (#pvcore_flush.scope) */
/** @{ */
/** Only the vCPU making the request (#pvcore_flush.vcpu). */
#define PVCORE_FLUSH_SCOPE_LOCAL 1u
/** Every vCPU of the domain that may hold translations (the domain's dirty set). */
#define PVCORE_FLUSH_SCOPE_DOMAIN 2u
/** The vCPUs whose bits are set in #pvcore_flush.vcpu_mask. */
#define PVCORE_FLUSH_SCOPE_MASK 3u
/** @} */

/** One TLB flush request from the core to the embedder. */
struct pvcore_flush {
    uint16_t domid;     /**< Domain whose vCPUs are to be flushed. */
    uint8_t kind;       /**< #PVCORE_FLUSH_TLB_ALL or #PVCORE_FLUSH_TLB_VA. */
    uint8_t scope;      /**< One of the PVCORE_FLUSH_SCOPE_* values. */
    uint32_t vcpu;      /**< The requesting vCPU's id (for #PVCORE_FLUSH_SCOPE_LOCAL). */
    uint64_t va;        /**< Linear address for #PVCORE_FLUSH_TLB_VA; canonical. */
    uint64_t vcpu_mask; /**< Bit n set: flush vCPU n (#PVCORE_FLUSH_SCOPE_MASK; ids < 64). */
};

struct pvcore_vcpu;
struct pvcore_domain;

/**
 * @brief The embedder's hooks. Every member except flush_tlb may be NULL.
 *
 * Each hook receives the `ctx` pointer given at pvcore_machine_init().
 */
struct pvcore_host_ops {
    /**
     * Performs a TLB flush, complete on every targeted CPU when it returns (the core
     * relies on that before it validates a frame that was writable). Must not fail.
     * Called at most once per batch where the ABI allows.
     */
    void (*flush_tlb)(void *ctx, const struct pvcore_flush *flush);
    /**
     * Writes back and invalidates caches for #PVCORE_MMUEXT_FLUSH_CACHE (global == 0) or
     * #PVCORE_MMUEXT_FLUSH_CACHE_GLOBAL (global != 0), on behalf of domain `domid`.
     * NULL: the request succeeds without doing anything (a host with coherent caches).
     */
    void (*flush_cache)(void *ctx, uint16_t domid, int global);
    /**
     * Returns non-zero when the current hypercall should stop at the next preemption
     * point (an interrupt is pending, the time slice is over). NULL: only the work budget
     * (pvcore_machine_config::work_budget) preempts. Asked between the requests of an
     * mmu_update or mmuext_op batch every 16 requests (it is an indirect call, and a
     * request is short), and while validating or tearing down a table every 32 entries
     * scanned or at each present one.
     */
    int (*preempt_check)(void *ctx);
    /**
     * Copies `len` bytes from guest virtual address `gva` of vCPU `v`'s current address
     * space into `dst`. Returns 0, or a negative PVCORE_E* value if any byte is not
     * readable (the contents of `dst` are then unspecified). Used for the vCPU bitmaps
     * of the *_MULTI flushes and, by pvcore_hypercall(), for request arrays, the `pdone`
     * counter and xen_version arguments. Called with no library lock held (a batch lets
     * go of its lock around each copy), so other vCPUs of the guest may be changing the
     * very tables the copy walks: the hook must translate as the guest's own access would
     * and keep each frame from changing owner while it copies, as
     * pvcore_guestmem_copy_from() does (the host backend's and minihv's hooks are that
     * call). It may call <pvcore/guestmem.h>, nothing else of the library.
     * NULL: such bitmaps cannot be read, and requests that need one fail with
     * -PVCORE_EINVAL, the ABI's error for an unreadable bitmap; hypercalls that read
     * guest memory through pvcore_hypercall() fail with -PVCORE_EFAULT.
     */
    int (*copy_from_guest)(void *ctx, struct pvcore_vcpu *v, void *dst, uint64_t gva, size_t len);
    /**
     * Tells the embedder that vCPU `v`'s base pointers changed (#PVCORE_MMUEXT_NEW_BASEPTR,
     * #PVCORE_MMUEXT_NEW_USER_BASEPTR): `kernel` and `user` are the new root machine frames
     * (PVCORE_INVALID_MFN_VALUE for none). A running vCPU should load the new CR3 before
     * returning to the guest. NULL: the embedder reads them with pvcore_vcpu_base().
     */
    void (*base_changed)(void *ctx, struct pvcore_vcpu *v, pvcore_mfn_t kernel, pvcore_mfn_t user);
    /**
     * Tells the embedder that machine frame `mfn` became free: its owner released it and
     * the last reference is gone. TLBs may still map it (its last mapping may have gone
     * without a flush); the library flushes every domain before it gives the frame to a
     * new owner (pvcore_domain_assign(), pvcore_frame_reserve_xen()) unless a full flush
     * of every domain completed since. NULL: the embedder polls pvcore_frame_query().
     */
    void (*frame_freed)(void *ctx, pvcore_mfn_t mfn);
    /**
     * Copies `len` bytes from `src` to guest virtual address `gva` of vCPU `v`'s current
     * address space, as the guest kernel could write them itself: every byte must be
     * mapped writable at every level of the guest's page tables. All or nothing: returns
     * 0 when all `len` bytes were written, or -PVCORE_EFAULT, having written none of them,
     * if any byte is not writable (a hook that cannot write atomically checks every page
     * first). Used by pvcore_hypercall() for the `pdone` counter and xen_version results.
     * Called with no library lock held, as copy_from_guest; each page written must be
     * held so that it cannot become a page table meanwhile, as
     * pvcore_guestmem_copy_to() does. NULL: hypercalls that write guest memory fail with
     * -PVCORE_EFAULT.
     */
    int (*copy_to_guest)(void *ctx, struct pvcore_vcpu *v, uint64_t gva, const void *src,
                         size_t len);
    /**
     * Executes CPUID leaf `leaf`, sub-leaf `subleaf` on the host processor and stores
     * eax, ebx, ecx, edx in `out`. The library derives the guest's CPUID policy from it
     * (see <pvcore/emulate.h>). NULL: the guest sees only the hypervisor leaves and
     * zeroes elsewhere.
     */
    void (*cpuid)(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
    /**
     * Performs a port I/O access on behalf of vCPU `v`, already permitted by the
     * library's rules (virtual IOPL and the domain's I/O port ranges): `bytes` is 1, 2 or
     * 4; for a write `*val` holds the value, for a read the hook stores it there. NULL:
     * reads give all ones and writes are dropped.
     */
    void (*io_port)(void *ctx, struct pvcore_vcpu *v, uint16_t port, unsigned bytes, int write,
                    uint32_t *val);
    /**
     * Tells the embedder that vCPU `v`'s GDT changed (set_gdt): it reads the new frames
     * with pvcore_vcpu_gdt() and makes the processor use them before the vCPU next runs.
     * Called with no library lock held. NULL: the embedder polls pvcore_vcpu_gdt().
     */
    void (*gdt_changed)(void *ctx, struct pvcore_vcpu *v);
    /**
     * Tells the embedder that 64-bit vCPU `v` switched between guest kernel mode
     * (`kernel_mode` non-zero) and guest user mode: an exception or callback entered the
     * kernel, or iret returned to user mode. Before the vCPU runs again the embedder loads
     * the root of the new mode (pvcore_vcpu_base(): kernel or user) and its GS base
     * (pvcore_vcpu_segment_bases()). Called with no library lock held. NULL: the embedder
     * checks pvcore_vcpu_kernel_mode() after every pvcore_cpu_* call.
     */
    void (*mode_changed)(void *ctx, struct pvcore_vcpu *v, int kernel_mode);
    /**
     * Serves hypercall `nr` that the library does not (console_io, sched_op, ...) as an
     * entry of a multicall of vCPU `v`: `args` are the entry's arguments (32-bit guests:
     * zero-extended), the result goes to `*ret`. Returns 0 when served; non-zero gives
     * the entry -PVCORE_ENOSYS. Called with no library lock held. NULL: every such entry
     * gives -PVCORE_ENOSYS.
     */
    int (*hypercall)(void *ctx, struct pvcore_vcpu *v, uint64_t nr, const uint64_t args[6],
                     int64_t *ret);
    /**
     * Tells the embedder that vCPU `v` went up or down, or asked to power the domain off
     * (`event`: one of the PVCORE_VCPU_EVENT_* values of <pvcore/vcpu.h>): #PVCORE_VCPUOP_up,
     * #PVCORE_VCPUOP_down, #PVCORE_VCPUOP_initialise with VGCF_online. Called with no library lock held,
     * after the state changed (pvcore_vcpu_is_up() already answers the new state). NULL:
     * the embedder polls pvcore_vcpu_is_up() after every vcpu_op.
     */
    void (*vcpu_updown)(void *ctx, struct pvcore_vcpu *v, int event);
    /**
     * Tells the embedder that vCPU `v` has an event for it: its vcpu_info's
     * evtchn_upcall_pending just went from 0 to 1 (an event channel bound to it became
     * pending, or was unmasked while pending; <pvcore/evtchn.h>). A vCPU that is blocked
     * should be woken; a running one should be interrupted, so that on its way back into
     * the guest the embedder enters the event callback (pvcore_cpu_event_callback()) once
     * pvcore_vcpu_upcall_pending() answers non-zero (its events are not masked). Called
     * with no library lock held, from whichever thread made the event pending (another
     * domain's hypercall, pvcore_evtchn_raise_virq()); it may call the library. Not called
     * again for that vCPU until the guest has cleared evtchn_upcall_pending. NULL: the
     * embedder polls pvcore_vcpu_upcall_pending(). A vCPU waiting in #PVCORE_SCHEDOP_block or
     * #PVCORE_SCHEDOP_poll is woken by the vcpu_sched hook's WAKE, not by this kick, when the
     * library serves sched_op (<pvcore/sched.h>).
     */
    void (*evtchn_kick)(void *ctx, struct pvcore_vcpu *v);
    /**
     * Returns the current system time in nanoseconds: the clock of the guests'
     * vcpu_time_info (pvcore_vcpu_time_update()) and of every timer deadline
     * (<pvcore/time.h>). Monotonic. Called with no library lock held, from any thread
     * making a timer call. NULL (or timer_set NULL): the embedder has no timers;
     * set_timer_op and the VCPUOP timer commands give -PVCORE_ENOSYS, and so does a
     * #PVCORE_SCHEDOP_poll with a timeout.
     */
    uint64_t (*system_time)(void *ctx);
    /**
     * Arms vCPU `v`'s timer to go off at system time `deadline_ns`, replacing any
     * deadline given before; 0 disarms it. When it goes off the embedder calls
     * pvcore_vcpu_timer_expired() (a deadline already past: as soon as it can, from this
     * hook too if it likes). The library multiplexes the vCPU's one-shot, periodic and
     * poll timers onto it. Calls for one vCPU never overlap and the last one carries the
     * current deadline (pvcore_vcpu_timer_deadline()); called with no library lock held.
     * NULL: no timers (see system_time).
     */
    void (*timer_set)(void *ctx, struct pvcore_vcpu *v, uint64_t deadline_ns);
    /**
     * Tells the embedder's scheduler about vCPU `v` (`event`: one of the PVCORE_SCHED_*
     * values of <pvcore/sched.h>): BLOCK (do not resume it after its current hypercall
     * until WAKE), WAKE (resume it), YIELD (it offers its CPU). BLOCK and WAKE of one vCPU
     * strictly alternate, WAKE only after the BLOCK hook returned. Called with no library
     * lock held, WAKE from whichever thread ended the wait; it may call the library.
     * NULL: sched_op and sched_op_compat are not served by the library
     * (#PVCORE_HYPERCALL_UNHANDLED), and the embedder schedules on its own.
     */
    void (*vcpu_sched)(void *ctx, struct pvcore_vcpu *v, int event);
    /**
     * Tells the embedder that domain `d` shuts down with `reason` (a PVCORE_SHUTDOWN_*
     * value, 0-255: #PVCORE_SCHEDOP_shutdown, sched_op_compat's shutdown, another domain's
     * #PVCORE_SCHEDOP_remote_shutdown, the last vCPU's #PVCORE_VCPUOP_down (poweroff, as on Xen; after the
     * vcpu_updown hook's #PVCORE_VCPU_EVENT_POWEROFF), pvcore_domain_shutdown()). Called once per shutdown, with
     * no library lock held, from the thread that asked; the embedder stops running the
     * domain's vCPUs (Xen pauses them) and acts on the reason. NULL: the embedder polls
     * pvcore_domain_shutdown_reason().
     */
    void (*domain_shutdown)(void *ctx, struct pvcore_domain *d, uint32_t reason);
    /**
     * Routes physical IRQ `pirq` (below #PVCORE_NR_PIRQS) to domain `d`, which binds it
     * with #PVCORE_EVTCHNOP_bind_pirq (`flags`: its BIND_PIRQ__* flags, #PVCORE_BIND_PIRQ__WILL_SHARE
     * when the IRQ may be shared with other domains). Returns 0, or a negative
     * PVCORE_E* that the guest gets (-PVCORE_EBUSY: the IRQ is another domain's and not
     * shareable, as Xen answers). From then on the embedder calls
     * pvcore_evtchn_raise_pirq() when the IRQ fires. Called with no library lock held;
     * the library keeps the IRQ reserved meanwhile. NULL: no physical IRQs
     * (#PVCORE_EVTCHNOP_bind_pirq gives -PVCORE_ENOSYS).
     */
    int (*pirq_bind)(void *ctx, struct pvcore_domain *d, uint32_t pirq, uint32_t flags);
    /**
     * The port bound to `pirq` of domain `d` was closed (#PVCORE_EVTCHNOP_close, reset or the
     * domain's destruction): stop routing the IRQ to it. Called with no library lock
     * held, once per successful pirq_bind. NULL: nothing to do.
     */
    void (*pirq_unbind)(void *ctx, struct pvcore_domain *d, uint32_t pirq);
};

PVCORE_END_DECLS

#endif /* PVCORE_HOST_H */
