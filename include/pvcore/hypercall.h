/**
 * @file
 * @brief The hypercall decoder: from captured registers to the library's operations.
 *
 * An embedder's hypercall entry stub captures the hypercall number and argument
 * registers of the calling vCPU into a #pvcore_hypercall_regs and calls
 * pvcore_hypercall(). The library decodes the arguments for the guest's word size
 * (pvcore_domain_is_32bit()), copies request arrays and arguments out of guest memory
 * and results back into it through the host's `copy_from_guest` and `copy_to_guest`
 * hooks (#pvcore_host_ops), runs the operation, and either leaves the result in
 * #pvcore_hypercall_regs.ret or rewrites the arguments for a continuation. Hypercalls the
 * library does not implement are handed back to the embedder.
 *
 * Served here:
 * - `mmu_update(reqs, count, pdone, foreigndom)` and `mmuext_op(ops, count, pdone,
 *   foreigndom)`: see pvcore_mmu_update() and pvcore_mmuext_op() for the rules. The
 *   requests are copied in chunks of at most 32 that do not cross a page boundary (unless
 *   one request does), so an unreadable request fails the batch with -PVCORE_EFAULT after
 *   exactly the requests before it, as if each were copied alone. The batch is one call
 *   into the MMU code: one work budget (pvcore_machine_config::work_budget) and at most
 *   one TLB flush for the whole invocation; the lock of the domain whose tables change is
 *   let go around each copy, so other vCPUs' calls may run between chunks.
 * - `update_va_mapping(va, val, flags)` and `update_va_mapping_otherdomain(va, val, flags,
 *   domid)`: see pvcore_update_va_mapping(). A 32-bit guest passes the 64-bit entry in two
 *   registers, low half first (`va, val_lo, val_hi, flags[, domid]`).
 * - `vm_assist(cmd, type)`: see pvcore_domain_vm_assist().
 * - `xen_version(cmd, arg)`: answered from constants (see the PVCORE_XEN_* macros below
 *   and the page "Hypercall decoding").
 *
 * Also served: set_timer_op and vcpu_op's timers (<pvcore/time.h>), and sched_op and
 * sched_op_compat when the embedder has the vcpu_sched hook (<pvcore/sched.h>; without
 * it they are #PVCORE_HYPERCALL_UNHANDLED).
 *
 * Everything else, including console_io, and every number at or above 64, is
 * #PVCORE_HYPERCALL_UNHANDLED: the embedder serves it or returns -PVCORE_ENOSYS.
 *
 * @par Word size
 * For a 32-bit guest only the low 32 bits of `nr` and of each argument are used (a
 * 32-bit guest's registers are 32 bits wide; stale upper halves are ignored), guest
 * addresses wrap at 4 GiB (a range that would wrap is -PVCORE_EFAULT), and #pvcore_hypercall_regs.ret
 * and rewritten arguments are 32-bit values, zero-extended.
 *
 * @par Continuations
 * A batch preempted after `n` of its requests (the work budget ran out, or the host's
 * `preempt_check` hook asked) returns #PVCORE_HYPERCALL_RESTART with `arg[0]` advanced by
 * `n` requests and `arg[1]` set to the number remaining ORed with
 * #PVCORE_MMU_UPDATE_PREEMPTED; the running total of completed requests is stored in
 * `*pdone` (when `pdone` is not null), and a call whose count carries that bit reads the
 * earlier total back from `*pdone` before adding its own. The embedder makes the guest
 * execute the hypercall again with the rewritten registers; the end state, result and
 * final `*pdone` are those of an uninterrupted call (unless the batch changes its own
 * request array, `*pdone` or their mappings: see the page "Hypercall decoding"). A guest
 * that sets the bit itself only changes the total it is told.
 *
 * @par Guest memory
 * Pointers are guest virtual addresses in the vCPU's current address space. Every access
 * goes through the copy hooks, called with no library lock held (see #pvcore_host_ops); a hook
 * that is NULL makes the calls that need it fail with -PVCORE_EFAULT. A guest pointer is used
 * as given, null included, except `pdone`, which may be null (no count is stored).
 *
 * @par Concurrency
 * Calls for different vCPUs may run in parallel (the operations take the locks they
 * need). One vCPU makes one call at a time.
 */
#ifndef PVCORE_HYPERCALL_H
#define PVCORE_HYPERCALL_H

#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/domain.h>

PVCORE_BEGIN_DECLS

/** Register state of one hypercall as the embedder's entry stub captured it. */
struct pvcore_hypercall_regs {
    /** Hypercall number (`rax`, or `eax` for a 32-bit guest). */
    uint64_t nr;
    /**
     * Arguments. 64-bit guests: `rdi, rsi, rdx, r10, r8, r9`; 32-bit guests: `ebx, ecx,
     * edx, esi, edi, ebp`, zero-extended. Rewritten on #PVCORE_HYPERCALL_RESTART.
     */
    uint64_t arg[6];
    /**
     * Result for the guest's `rax` / `eax`, valid after #PVCORE_HYPERCALL_DONE: 0 or a
     * positive value on success, a negated PVCORE_E* value on failure, as a 64-bit
     * two's-complement value for a 64-bit guest and a zero-extended 32-bit one for a
     * 32-bit guest. Not written otherwise.
     */
    uint64_t ret;
};

/** @name Results of pvcore_hypercall() */
/** @{ */
/** #pvcore_hypercall_regs.ret holds the result: return to the guest with it. */
#define PVCORE_HYPERCALL_DONE 0
/**
 * Preempted: #pvcore_hypercall_regs.arg was rewritten. Make the guest execute the
 * hypercall again with those arguments, either by loading them into its registers and
 * rewinding its instruction pointer over the 2-byte `syscall` or `int $0x82` it entered
 * with (letting interrupts and other vCPUs in first), or by calling pvcore_hypercall()
 * again with the same #pvcore_hypercall_regs.
 */
#define PVCORE_HYPERCALL_RESTART 1
/** Not a hypercall the library serves: the embedder handles it (or returns -PVCORE_ENOSYS). */
#define PVCORE_HYPERCALL_UNHANDLED 2
/** @} */

/** @name xen_version answers */
/** @{ */
/**
 * Major version reported by #PVCORE_XENVER_version: that of the Xen public headers whose ABI the
 * library implements and is checked against (4.17).
 */
#define PVCORE_XEN_VERSION_MAJOR 4
/** Minor version reported by #PVCORE_XENVER_version (see #PVCORE_XEN_VERSION_MAJOR). */
#define PVCORE_XEN_VERSION_MINOR 17
/** #PVCORE_XENVER_extraversion: this string, NUL-padded to 16 bytes. */
#define PVCORE_XEN_EXTRAVERSION "-pvcore"
/**
 * #PVCORE_XENVER_capabilities: the guest kinds served (64-bit, and 32-bit PAE), NUL-padded to
 * 1024 bytes.
 */
#define PVCORE_XEN_CAPABILITIES "xen-3.0-x86_64 xen-3.0-x86_32p"
/** @} */

/**
 * @brief Decodes and serves one hypercall of vCPU `v`.
 *
 * Results in #pvcore_hypercall_regs.ret, besides each operation's own errors:
 * - -PVCORE_EFAULT: a request, `pdone` or xen_version argument could not be read or
 *   written (the copy hook failed or is NULL, or the range wraps around the top of the
 *   guest's address space). For a batch, the requests before the unreadable one stay
 *   applied and `*pdone` counts them. If `*pdone` itself cannot be written, every request
 *   is still applied and the result is -PVCORE_EFAULT unless the batch failed otherwise;
 *   a continuation then cannot carry the running total (a continued call that cannot
 *   read `*pdone` starts from 0), but the requests and the result do not depend on
 *   where the batch was preempted.
 * - xen_version: #PVCORE_XENVER_version gives `(major << 16) | minor`, #PVCORE_XENVER_pagesize 4096;
 *   #PVCORE_XENVER_get_features with a `submap_idx` other than 0 is -PVCORE_EINVAL (submap 0 holds
 *   exactly what is implemented: mmu_pt_update_preserve_ad, highmem_assist, and
 *   pae_pgdir_above_4gb once the guest enabled pae_extended_cr3); #PVCORE_XENVER_commandline and
 *   #PVCORE_XENVER_build_id are
 *   -PVCORE_EPERM for an unprivileged domain (privileged: an empty command line, and
 *   -PVCORE_ENODATA as no build id exists, after -PVCORE_EINVAL for a zero buffer
 *   length); an unknown sub-command is -PVCORE_ENOSYS.
 *
 * @param v The calling vCPU.
 * @param r Its registers: `nr` and `arg` as captured; receives `ret` or new arguments.
 * @return #PVCORE_HYPERCALL_DONE, #PVCORE_HYPERCALL_RESTART or #PVCORE_HYPERCALL_UNHANDLED.
 * @note Work per call is bounded by the machine's work budget, whatever the guest asks.
 *       Takes the MMU locks the operations need, and none around the copy hooks; must not
 *       be called from a hook.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_hypercall(struct pvcore_vcpu *v,
                                                 struct pvcore_hypercall_regs *r);

PVCORE_END_DECLS

#endif /* PVCORE_HYPERCALL_H */
