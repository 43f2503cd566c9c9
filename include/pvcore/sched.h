/**
 * @file
 * @brief Blocking and shutdown: `sched_op` and `sched_op_compat`, and the contract
 *        between the library and the embedder's scheduler.
 *
 * `sched_op(cmd, arg)` (#PVCORE_HYPERVISOR_sched_op) and the older
 * `sched_op_compat(cmd, arg)` (#PVCORE_HYPERVISOR_sched_op_compat, its argument by value:
 * yield, block and shutdown only) are served by pvcore_hypercall() and
 * pvcore_cpu_hypercall(), directly and as multicall entries, when the embedder supplies
 * the #pvcore_host_ops::vcpu_sched hook. Without it both stay the embedder's
 * (#PVCORE_HYPERCALL_UNHANDLED), as before the library had them. Layouts are in
 * <pvcore/abi/xen.h>.
 *
 * @par The contract
 * The library never runs or stops a vCPU: it keeps each vCPU's wait state and tells the
 * embedder through the vcpu_sched hook, with one of the PVCORE_SCHED_* events:
 * - #PVCORE_SCHED_BLOCK, during a block or poll of the vCPU's own hypercall: when that
 *   pvcore_hypercall() / pvcore_cpu_hypercall() returns (its result already in place),
 *   do not resume the vCPU until #PVCORE_SCHED_WAKE.
 * - #PVCORE_SCHED_WAKE: run it again (resume it in the guest; the hypercall has returned
 *   its 0). The library calls it from whichever thread woke the vCPU: a domain's
 *   #PVCORE_EVTCHNOP_send, pvcore_evtchn_raise_virq(), pvcore_vcpu_timer_expired() (a poll's
 *   timeout), or the vCPU's own call if the wake came while the BLOCK hook ran.
 * - #PVCORE_SCHED_YIELD (#PVCORE_SCHEDOP_yield): the vCPU offers its CPU; the embedder may run
 *   something else before resuming it. Nothing is owed.
 *
 * For one vCPU, BLOCK and WAKE strictly alternate, and WAKE is called only once the BLOCK
 * hook has returned: a wake that races with the block (an event arriving while the vCPU
 * is still entering its wait) is held back by the library and delivered after the BLOCK
 * hook, from the blocking call itself. So the embedder needs no lock of its own to order
 * them: on BLOCK it marks the vCPU not runnable, on WAKE runnable. A wait that finds an
 * event already there (or, for a poll, a port already pending or invalid) returns at once
 * without either hook. A wake may be spurious (a delivery already on its way out when a
 * new wait began may end it): the guest re-checks its ports, as it must on Xen.
 *
 * The #pvcore_host_ops::evtchn_kick hook is about upcalls (interrupt a running vCPU to
 * enter its event callback); a vCPU waiting here is woken by WAKE, not by the kick, and
 * the embedder should not resume it on a kick alone.
 *
 * @par Operations and their results (Xen's)
 * - yield: 0, after the YIELD hook.
 * - block: clears the vCPU's evtchn_upcall_mask (events enabled, as Xen does), then
 *   returns 0 at once if an event is pending and unmasked (upcall_pending set); otherwise
 *   the vCPU waits until one is.
 * - poll (struct pvcore_sched_poll_x86_64 / _x86_32): -EFAULT the structure is unreadable
 *   or the port array lies outside guest space; -EINVAL more than 128 ports; -ENOSYS a
 *   timeout and the embedder has no timers (<pvcore/time.h>). Otherwise 0 at once if events
 *   need delivery (as for block; the mask is not cleared), and then the ports in order:
 *   the first that is pending gives 0, and one before it that cannot be read gives
 *   -EFAULT or that is out of the domain's range -EINVAL. If none is pending the vCPU
 *   waits until one of them becomes pending, events need delivery, or the timeout
 *   (absolute system time; 0: none; one already past ends the wait at once) passes. The
 *   result is 0 whichever ended it. No ports and no timeout waits for events only.
 * - shutdown (reason in struct pvcore_sched_shutdown; compat: by value): 0. The reason is
 *   8 bits, not checked (Xen). The first reason recorded wins (shutdown_code, or the first
 *   shutdown); the #pvcore_host_ops::domain_shutdown hook is called once, with it, and the
 *   embedder stops running the domain's vCPUs. A suspend returns 0; an embedder that
 *   cancels the suspend sets the guest's result to 1 itself and calls
 *   pvcore_domain_resume().
 * - shutdown_code: records the reason a later shutdown reports, if none is recorded: 0;
 *   -EFAULT unreadable.
 * - remote_shutdown (struct pvcore_sched_remote_shutdown): -EFAULT; -ESRCH no such
 *   domain; -EPERM the caller is not privileged; otherwise 0 and that domain shuts down
 *   as above.
 * - watchdog: the library keeps no watchdog; it answers as Xen does for a domain whose
 *   watchdog slots are all taken: -EFAULT unreadable, -ENOSPC to create one (id 0),
 *   -EINVAL for any other id.
 * - pin_override: -EPERM unless privileged; -EFAULT unreadable; otherwise -EINVAL (no
 *   physical CPU to pin to, as Xen answers a CPU outside the domain's pool).
 * - any other command: -ENOSYS (compat: anything but yield, block, shutdown).
 *
 * Within a multicall, a block or poll entry makes the vCPU wait once the whole multicall
 * returns (the BLOCK hook comes during it; the entries after it still run); a second one
 * while the first still waits returns 0 and changes nothing.
 *
 * @par Concurrency
 * Thread-safe, lock-free: the wait is one atomic word per vCPU and the shutdown state
 * atomics of the domain. No library lock is held when the hooks are called, and they may
 * call the library.
 *
 * @par Not done
 * A port unmasked with #PVCORE_EVTCHNOP_unmask by another vCPU, while already pending for a vCPU
 * that blocks, raises that vCPU's upcall (and the kick) but does not yet end its block:
 * the event channel code tells this module only about ports that become pending.
 */
#ifndef PVCORE_SCHED_H
#define PVCORE_SCHED_H

#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/domain.h>

PVCORE_BEGIN_DECLS

struct pvcore_vcpu;

/** @name Events of the #pvcore_host_ops::vcpu_sched hook */
/** @{ */
/** The vCPU waits (block, poll): do not resume it after this hypercall until WAKE. */
#define PVCORE_SCHED_BLOCK 1
/** The vCPU's wait is over: resume it. Only after its BLOCK hook returned. */
#define PVCORE_SCHED_WAKE 2
/** The vCPU yields its CPU (#PVCORE_SCHEDOP_yield); it stays runnable. */
#define PVCORE_SCHED_YIELD 3
/** @} */

/**
 * @brief Is vCPU `v` waiting (in #PVCORE_SCHEDOP_block or #PVCORE_SCHEDOP_poll, not yet woken)?
 * @param v The vCPU.
 * @return 1 or 0. A snapshot: another thread may wake it at any time.
 */
PVCORE_API int pvcore_vcpu_blocked(const struct pvcore_vcpu *v);

/**
 * @brief Shuts domain `d` down on the embedder's behalf (a crash it detected, a
 *        toolstack request), as #PVCORE_SCHEDOP_shutdown would.
 * @param d      The domain.
 * @param reason A PVCORE_SHUTDOWN_* reason (0-255).
 * @return 0 (the #pvcore_host_ops::domain_shutdown hook was called, or the domain was
 *         already shutting down); -PVCORE_EINVAL for a NULL domain or a reason above 255.
 * @note Thread-safe; call with no library lock held.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_shutdown(struct pvcore_domain *d, uint32_t reason);

/**
 * @brief Why domain `d` shut down.
 * @param d The domain.
 * @return The reason that counts (0-255), or -PVCORE_ENOENT if it is not shutting down.
 */
PVCORE_API int pvcore_domain_shutdown_reason(const struct pvcore_domain *d);

/**
 * @brief Clears domain `d`'s shutdown (Xen's domain_resume: a cancelled suspend): it is
 *        no longer shutting down and no reason is recorded.
 * @param d The domain.
 * @note The embedder resumes its vCPUs itself.
 */
PVCORE_API void pvcore_domain_resume(struct pvcore_domain *d);

PVCORE_END_DECLS

#endif /* PVCORE_SCHED_H */
