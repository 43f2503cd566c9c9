/**
 * @file
 * @brief Time: the vCPU timers (set_timer_op, the VCPUOP timer commands) on the
 *        embedder's clock, and the system time and wall clock the guest reads.
 *
 * @par Timers
 * `set_timer_op(deadline)` (#PVCORE_HYPERVISOR_set_timer_op; a 32-bit guest passes the
 * 64-bit deadline as two halves, low first) and #PVCORE_VCPUOP_set_singleshot_timer,
 * #PVCORE_VCPUOP_stop_singleshot_timer, #PVCORE_VCPUOP_set_periodic_timer and #PVCORE_VCPUOP_stop_periodic_timer
 * (<pvcore/abi/vcpu.h>) are served by pvcore_hypercall() and pvcore_cpu_hypercall() when
 * the embedder supplies the #pvcore_host_ops::system_time and #pvcore_host_ops::timer_set
 * hooks; without them these calls give -PVCORE_ENOSYS. Each vCPU has a one-shot timer, a
 * periodic one (a PV vCPU starts with Xen's default period of 10 ms, running from the
 * first pvcore_vcpu_time_update() of the vCPU) and, during #PVCORE_SCHEDOP_poll, the poll's
 * timeout. The library asks the embedder for one timer per vCPU, armed at the earliest of
 * the three (timer_set), and the embedder calls pvcore_vcpu_timer_expired() when it goes
 * off. An expired one-shot or periodic timer raises #PVCORE_VIRQ_TIMER on the vCPU (lost if it
 * bound none, as on Xen); a periodic one then runs on from the time of the expiry.
 *
 * Results, Xen's:
 * - set_timer_op: 0. A deadline of 0 stops the one-shot timer. One that is negative as a
 *   signed 64-bit value, or more than 2^50 ns (about 13 days) in the future, is taken as
 *   100 ms from now (Xen's rule for guests' wrapped deadlines). One already past fires at
 *   once.
 * - set_singleshot_timer: -EINVAL on another vCPU; -EFAULT unreadable; -ETIME if
 *   #PVCORE_VCPU_SSHOTTMR_future is set and the deadline is before now (the rule of Xen
 *   4.17, whose ABI the library implements; later Xen fires at once instead). Otherwise 0.
 * - stop_singleshot_timer: -EINVAL on another vCPU; 0.
 * - set_periodic_timer (any vCPU of the domain): -EFAULT unreadable; -EINVAL for a period
 *   below 1 ms (1000000 ns) or above 2^62 - 1 ns; 0. If a period has passed since the
 *   last periodic event (or there was none), #PVCORE_VIRQ_TIMER is raised at once, and the next
 *   one is a period after it.
 * - stop_periodic_timer (any vCPU): 0.
 *
 * @par System time and wall clock
 * The library writes each vCPU's vcpu_time_info (in its vcpu_info, wherever that is) and
 * the domain's wall clock in shared_info, with the version protocol guests rely on:
 * version made odd, a barrier, the fields, a barrier, version even. The scale is computed
 * from the embedder's TSC frequency as Xen computes it, so that a guest gets
 * `system_time + ((((tsc - tsc_timestamp) << tsc_shift) * tsc_to_system_mul) >> 32)`
 * (a right shift by -tsc_shift when negative) nanoseconds.
 *
 * @par Concurrency
 * Thread-safe. Each vCPU's timer state has a leaf lock; no lock is held when a hook is
 * called. The timer_set calls for one vCPU never overlap, and the last one carries the
 * current deadline.
 */
#ifndef PVCORE_TIME_H
#define PVCORE_TIME_H

#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/domain.h>

PVCORE_BEGIN_DECLS

struct pvcore_vcpu;

/**
 * @brief The vcpu_time_info scale for a TSC of `tsc_hz`, as Xen computes it.
 *
 * The frequency is halved or doubled until it lies in (10^9, 2 * 10^9] (each step
 * adjusting the shift by one), and `mul` is 10^9 / frequency as a 32-bit binary fraction.
 * @param tsc_hz TSC ticks per second; not 0.
 * @param mul    Receives tsc_to_system_mul.
 * @param shift  Receives tsc_shift.
 * @return 0; -PVCORE_EINVAL for a zero frequency or a NULL pointer.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_time_scale(uint64_t tsc_hz, uint32_t *mul, int8_t *shift);

/**
 * @brief Sets the TSC frequency of domain `d`'s vCPUs, from which the library computes
 *        the scale it writes in their vcpu_time_info (pvcore_time_scale()).
 * @param d      The domain.
 * @param tsc_hz TSC ticks per second; not 0.
 * @return 0; -PVCORE_EINVAL for a NULL domain or a zero frequency.
 * @note Before the first pvcore_vcpu_time_update() of the domain's vCPUs.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_set_tsc_frequency(struct pvcore_domain *d,
                                                                uint64_t tsc_hz);

/**
 * @brief Writes vCPU `v`'s vcpu_time_info: at TSC value `tsc` the system time was
 *        `system_ns`.
 *
 * The embedder calls it before the vCPU first runs and then as often as it must (Xen
 * does on every context switch and about once a second) so that the guest's
 * extrapolation stays close. The first call also starts the default periodic timer
 * (unless the guest set or stopped it).
 * @param v         The vCPU.
 * @param tsc       The TSC as the guest reads it (rdtsc), at the same instant as...
 * @param system_ns ... the system time in nanoseconds (the system_time hook's clock).
 * @return 0; -PVCORE_ENOENT if the vCPU has no vcpu_info (no shared-info page yet, or a
 *         vCPU beyond the page's 32 that registered none; the timer still starts);
 *         -PVCORE_EINVAL if the domain has no TSC frequency (pvcore_domain_set_tsc_frequency()).
 * @note Thread-safe; may call the timer_set hook. Call with no library lock held.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_vcpu_time_update(struct pvcore_vcpu *v, uint64_t tsc,
                                                        uint64_t system_ns);

/**
 * @brief Writes domain `d`'s wall clock: the time of day at system time 0.
 *
 * wc_sec gets the low 32 bits of `sec` and wc_sec_hi the high ones (after wc_nsec for a
 * 64-bit guest; in shared_info.arch for a 32-bit one).
 * @param d    The domain.
 * @param sec  Seconds since the Unix epoch.
 * @param nsec Nanoseconds within the second, below 10^9.
 * @return 0; -PVCORE_EINVAL for a NULL domain or nsec out of range; -PVCORE_ENOENT if the
 *         domain has no shared-info page yet.
 * @note Thread-safe.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_set_wallclock(struct pvcore_domain *d, uint64_t sec,
                                                            uint32_t nsec);

/**
 * @brief vCPU `v`'s timer went off: the embedder calls this when the deadline it was
 *        given through the timer_set hook arrived (or at any time: nothing is due early).
 *
 * Every timer of the vCPU due at `now_ns` expires: the one-shot and periodic timers raise
 * #PVCORE_VIRQ_TIMER (once, if both), the periodic one is re-armed a period after `now_ns`, and a
 * poll whose timeout passed is woken (#PVCORE_SCHED_WAKE). Then the timer_set hook is
 * given the next deadline (0: none).
 * @param v      The vCPU.
 * @param now_ns The current system time in nanoseconds.
 * @return 1 if anything expired, 0 if nothing was due.
 * @note Thread-safe; from any thread, and from inside the timer_set hook. Call with no
 *       library lock held.
 */
PVCORE_API int pvcore_vcpu_timer_expired(struct pvcore_vcpu *v, uint64_t now_ns);

/**
 * @brief The deadline vCPU `v`'s timer should be armed at now (what the timer_set hook
 *        was last given or is about to be given).
 * @param v The vCPU.
 * @return System time in nanoseconds, or 0 for none.
 */
PVCORE_API uint64_t pvcore_vcpu_timer_deadline(struct pvcore_vcpu *v);

PVCORE_END_DECLS

#endif /* PVCORE_TIME_H */
