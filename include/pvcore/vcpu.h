/**
 * @file
 * @brief vcpu_op: several vCPUs per domain. Bringing vCPUs up and down, giving a new vCPU
 *        its first context (#PVCORE_VCPUOP_initialise), moving its vcpu_info into a page of the
 *        guest's (#PVCORE_VCPUOP_register_vcpu_info), and the runstate the library keeps for the
 *        embedder's scheduler to update.
 *
 * The hypercall itself, `vcpu_op(cmd, vcpuid, arg)`, is served by pvcore_hypercall() and
 * pvcore_cpu_hypercall(); the numbers and layouts are in <pvcore/abi/vcpu.h>. The
 * functions here are the embedder's side.
 *
 * @par vCPU states
 * At domain creation vCPU 0 is initialised (the embedder builds its context: base
 * pointers, GDT, registers) and up; every other vCPU is down and not initialised. A
 * vCPU becomes initialised once, by #PVCORE_VCPUOP_initialise (there is no reset), and may then
 * go up (#PVCORE_VCPUOP_up, or #PVCORE_VCPUOP_initialise with #PVCORE_VGCF_online) and down (#PVCORE_VCPUOP_down)
 * any number of times. The library never runs a vCPU: it records the state, and tells the
 * embedder through the #pvcore_host_ops::vcpu_updown hook (or the embedder polls
 * pvcore_vcpu_is_up()). When a vCPU goes up after #PVCORE_VCPUOP_initialise, the embedder starts
 * it with the registers of pvcore_vcpu_initial_regs(), its base pointers
 * (pvcore_vcpu_base()), GDT (pvcore_vcpu_gdt()) and the rest of the state the library
 * keeps for it.
 *
 * @par Runstate
 * The library keeps each vCPU's runstate (state, when it was entered, the time spent in
 * each state) but has no clock: the embedder reports every change with
 * pvcore_vcpu_runstate_update(), typically in its scheduler's context switch and in its
 * vcpu_updown hook. #PVCORE_VCPUOP_get_runstate_info returns what was last reported, and the area
 * a guest registered with #PVCORE_VCPUOP_register_runstate_memory_area is rewritten on each
 * report. A fresh domain's vCPU 0 starts #PVCORE_RUNSTATE_runnable, the others
 * #PVCORE_RUNSTATE_offline, all at time 0.
 *
 * @par Concurrency
 * A vCPU's own state is changed by its own calls. The operations a guest may make on
 * another vCPU of its domain are made safe as Xen makes them: #PVCORE_VCPUOP_register_vcpu_info
 * and #PVCORE_VCPUOP_initialise on another vCPU are refused unless it is down (initialise: unless
 * it was never initialised, so it never ran), and the up/down/initialised state changes
 * under the domain's lock. The embedder must not run a vCPU that is down, nor make calls
 * on its behalf (pvcore_cpu_*, pvcore_mmu_*, pvcore_desc_* with it), so that nothing else
 * touches the state #PVCORE_VCPUOP_initialise writes. When a vCPU brings itself down, the embedder
 * stops running it before it would return to the guest; when another vCPU brings it down,
 * the stop may come later (the ABI calls that asynchronous).
 */
#ifndef PVCORE_VCPU_H
#define PVCORE_VCPU_H

#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/types.h>
#include <pvcore/domain.h>
#include <pvcore/cpu.h>
#include <pvcore/abi/vcpu.h>

PVCORE_BEGIN_DECLS

/** @name Events of the #pvcore_host_ops::vcpu_updown hook */
/** @{ */
/** The vCPU went up: run it (it was initialised; see pvcore_vcpu_initial_regs()). */
#define PVCORE_VCPU_EVENT_UP 1
/** The vCPU went down: stop running it (before it returns to the guest, if it asked itself). */
#define PVCORE_VCPU_EVENT_DOWN 2
/**
 * The vCPU asked to go down (for itself or another) while no other vCPU of the domain
 * was up: as Xen, the domain shuts down with reason #PVCORE_SHUTDOWN_poweroff instead; nothing
 * was brought down, and the embedder shuts the domain down.
 */
#define PVCORE_VCPU_EVENT_POWEROFF 3
/** @} */

/**
 * @brief Is vCPU `v` up?
 * @param v The vCPU.
 * @return 1 if up (runnable), 0 if down.
 * @note Any context; an atomic read.
 */
PVCORE_API int pvcore_vcpu_is_up(const struct pvcore_vcpu *v);

/**
 * @brief Was vCPU `v` initialised (vCPU 0 at creation, the others by #PVCORE_VCPUOP_initialise)?
 * @param v The vCPU.
 * @return 1 or 0.
 * @note Takes the domain's lock briefly: not from a host hook called with it held.
 */
PVCORE_API int pvcore_vcpu_is_initialised(const struct pvcore_vcpu *v);

/**
 * @brief The registers #PVCORE_VCPUOP_initialise gave vCPU `v`, to start it with.
 *
 * As Xen stores them: IOPL cleared in `rflags` (it became the vCPU's virtual IOPL), IF
 * set, the code and stack selectors' RPL raised to the guest kernel's ring; for a 32-bit
 * guest the upper halves are zero.
 *
 * @param v    The vCPU.
 * @param regs Receives the registers.
 * @return 0; -PVCORE_ENOENT if `v` was not initialised by #PVCORE_VCPUOP_initialise (vCPU 0,
 *         whose registers the embedder built, or a vCPU not initialised yet), `*regs`
 *         untouched.
 * @note Call from the context that is about to run `v` (after the vcpu_updown hook).
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_vcpu_initial_regs(const struct pvcore_vcpu *v,
                                                         struct pvcore_cpu_regs *regs);

/**
 * @brief Reports a runstate change of vCPU `v` at system time `now_ns`.
 *
 * The time since the current state was entered is added to that state's total and
 * `new_state` starts at `now_ns`; a `now_ns` not after the current state's entry time
 * adds nothing and keeps the entry time (as Xen). Then, if the guest registered a
 * runstate area for `v`, the runstate is written there through the copy_to_guest hook,
 * in `v`'s current address space, in the guest's layout; a failed write is ignored, as
 * Xen ignores it.
 *
 * @param v         The vCPU.
 * @param new_state One of the PVCORE_RUNSTATE_* values.
 * @param now_ns    System time in nanoseconds (the clock the guest's vcpu_time_info uses).
 * @return 0, or -PVCORE_EINVAL for a state above #PVCORE_RUNSTATE_offline (nothing
 *         changed).
 * @note Takes `v`'s runstate lock (a leaf); the guest write runs after it is released.
 *       Call with no library lock held (not from a host hook of a lock-holding call).
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_vcpu_runstate_update(struct pvcore_vcpu *v, uint32_t new_state,
                                                            uint64_t now_ns);

/**
 * @brief vCPU `v`'s runstate as last reported (the 64-bit layout, whatever the guest's).
 * @param v   The vCPU.
 * @param out Receives the runstate; its padding is zero.
 */
PVCORE_API void pvcore_vcpu_runstate(struct pvcore_vcpu *v, struct pvcore_vcpu_runstate_info_x86_64 *out);

/**
 * @brief Where the guest registered `v`'s runstate area.
 * @param v The vCPU.
 * @return Its guest virtual address, or 0 if none is registered.
 */
PVCORE_API uint64_t pvcore_vcpu_runstate_area(const struct pvcore_vcpu *v);

/**
 * @brief Where vCPU `v`'s vcpu_info is: the shared-info page's slot (vCPUs 0-31, after
 *        pvcore_domain_set_shared_info()) or the page #PVCORE_VCPUOP_register_vcpu_info moved it
 *        to.
 * @param v      The vCPU.
 * @param mfn    Receives the frame (PVCORE_INVALID_MFN_VALUE: none yet). May be NULL.
 * @param offset Receives the byte offset in it. May be NULL.
 * @return 1 if it was moved by #PVCORE_VCPUOP_register_vcpu_info (the frame then holds a writable
 *         type reference until the domain is destroyed), 0 otherwise.
 * @note From `v`'s own context, or while it is down.
 */
PVCORE_API int pvcore_vcpu_info_location(const struct pvcore_vcpu *v, pvcore_mfn_t *mfn,
                                         uint32_t *offset);

PVCORE_END_DECLS

#endif /* PVCORE_VCPU_H */
