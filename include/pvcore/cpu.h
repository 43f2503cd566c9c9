/**
 * @file
 * @brief The CPU half of the PV ABI: a vCPU's registers, exceptions taken by the guest,
 *        and delivery of exceptions and callbacks to the guest's handlers.
 *
 * A PV guest kernel runs outside ring 0 (ring 3 for a 64-bit guest, ring 1 for a 32-bit
 * one). Every exception it takes arrives in the hypervisor first. The embedder captures the
 * guest's registers into a #pvcore_cpu_regs and calls pvcore_cpu_trap(), which either
 * emulates the instruction (the forced-emulation CPUID prefix, privileged instructions,
 * software interrupts) or bounces the exception to the handler the guest registered with
 * set_trap_table: it writes the frame Xen builds onto the guest kernel stack through the
 * copy hook and rewrites the registers so that the guest resumes in its handler. The
 * embedder then returns to the guest with the rewritten registers, or destroys the domain
 * when the result says so (a fault while delivering a fault: the guest's stack is not
 * writable, or it registered no handler).
 *
 * Hypercalls that change registers (iret) take the same register block through
 * pvcore_cpu_hypercall().
 *
 * @par Frames (what the guest finds on its kernel stack)
 * - 64-bit guest, lowest address first: `rcx, r11, [error code], rip, cs, rflags, rsp,
 *   ss`, 8 bytes each, at a 16-byte aligned address below the old stack pointer (kernel
 *   mode) or the one registered with stack_switch (user mode: the vCPU switches to kernel
 *   mode and its kernel page tables). The `cs` slot holds the interrupted code selector,
 *   with RPL 0 if the guest was in kernel mode, and the saved event mask in bits 32-39;
 *   `rflags` shows the virtual IF (events enabled) and, with the architectural-IOPL
 *   assist, the virtual IOPL.
 * - 32-bit guest: `[error code], eip, cs, eflags, [esp, ss]`, 4 bytes each; `esp` and `ss`
 *   only when the guest was in ring 2 or 3 (it then switches to the stack_switch stack).
 *   The `cs` slot holds the selector and the saved event mask in bits 16-23.
 */
#ifndef PVCORE_CPU_H
#define PVCORE_CPU_H

#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/domain.h>

PVCORE_BEGIN_DECLS

/**
 * A vCPU's general registers, instruction pointer, flags and segment selectors, as the
 * embedder's entry stub captured them. For a 32-bit guest the upper halves are ignored on
 * input and written as zero.
 */
struct pvcore_cpu_regs {
    uint64_t rax; /**< rax. */
    uint64_t rbx; /**< rbx. */
    uint64_t rcx; /**< rcx. */
    uint64_t rdx; /**< rdx. */
    uint64_t rsi; /**< rsi. */
    uint64_t rdi; /**< rdi. */
    uint64_t rbp; /**< rbp. */
    uint64_t rsp; /**< rsp. */
    uint64_t r8; /**< r8. */
    uint64_t r9; /**< r9. */
    uint64_t r10; /**< r10. */
    uint64_t r11; /**< r11. */
    uint64_t r12; /**< r12. */
    uint64_t r13; /**< r13. */
    uint64_t r14; /**< r14. */
    uint64_t r15; /**< r15. */
    uint64_t rip;    /**< Instruction pointer. */
    uint64_t rflags; /**< Flags, as the processor had them (IF set, IOPL 0 for a PV guest). */
    uint16_t cs;     /**< Code selector (its RPL is the ring the guest ran in). */
    uint16_t ss;     /**< Stack selector. */
    uint16_t ds;     /**< Data selector (32-bit guests; failsafe frames). */
    uint16_t es;     /**< Extra selector (32-bit guests; failsafe frames). */
    uint16_t fs;     /**< FS selector. */
    uint16_t gs;     /**< GS selector. */
    uint32_t _reserved; /**< Zero. */
};

/** @name Results of pvcore_cpu_trap() and pvcore_cpu_hypercall() */
/** @{ */
/** Resume the guest with the (possibly rewritten) registers. */
#define PVCORE_CPU_RESUME 0
/**
 * The guest cannot continue: a fault while delivering a fault (its kernel stack is not
 * writable, or no handler is registered), or a frame it asked iret to return through
 * could not be read. The embedder destroys (crashes) the domain.
 */
#define PVCORE_CPU_CRASH 1
/** Not the library's: a hypercall it does not serve (pvcore_cpu_hypercall()). */
#define PVCORE_CPU_UNHANDLED 2
/** @} */

struct pvcore_hypercall_regs;

/**
 * @brief Handles exception `vector` that vCPU `v` took in guest context.
 *
 * In order: the emulator (<pvcore/emulate.h>) gets \#UD and \#GP first (the forced-emulation
 * CPUID prefix, privileged instructions, `int $n`); a \#NM while the guest's virtual CR0.TS
 * is set goes to the guest once and clears it (a \#NM with it clear is the embedder's own
 * lazy FPU switch: #PVCORE_CPU_RESUME, nothing changed); everything else is bounced to
 * the guest's handler for `vector` (set_trap_table) with `error` for the vectors whose
 * exception pushes one. For a page fault `cr2` is the faulting address: it goes to the
 * guest's virtual CR2 and its vcpu_info, and the error code's user bit is set when the
 * guest was in its own user mode, whatever ring the processor was in.
 *
 * The vectors given are the guest's own exceptions. A physical NMI, a machine check or a
 * double fault is the embedder's, whoever was running; passing vector 2 delivers a
 * virtual NMI to the guest's NMI callback.
 *
 * @param v The vCPU.
 * @param regs Its registers at the fault; rewritten to resume in the handler.
 * @param vector 0-31.
 * @param error The processor's error code (ignored for vectors without one).
 * @param cr2 The faulting address for \#PF (vector 14); ignored otherwise.
 * @return #PVCORE_CPU_RESUME, or #PVCORE_CPU_CRASH when the guest registered no handler
 *         for the vector or its kernel stack cannot take the frame (the domain must be
 *         destroyed; a vector of 32 or more also gives this).
 * @note Writes the frame through the copy_to_guest hook; takes no lock around it.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_cpu_trap(struct pvcore_vcpu *v, struct pvcore_cpu_regs *regs,
                                                uint32_t vector, uint32_t error, uint64_t cr2);

/**
 * @brief Serves the hypercall vCPU `v` made with the registers `regs`.
 *
 * The full-register form of pvcore_hypercall(): decodes the number and arguments for the
 * guest's word size into `out` (always), runs the library's handler, and writes the result
 * to `rax`, or rewinds `rip` over the 2-byte `syscall` / `int $0x82` with the rewritten
 * arguments in their registers for a continuation. iret, which replaces the registers, and
 * multicalls holding one are served only through this entry.
 *
 * A 64-bit guest in its user mode is making its own system call, not a hypercall: that is
 * pvcore_cpu_syscall().
 *
 * @param v The vCPU.
 * @param regs Its registers at the `syscall` (64-bit, rip after it) or `int $0x82`.
 * @param out Receives the decoded number and arguments (and the result).
 * @return #PVCORE_CPU_RESUME; #PVCORE_CPU_UNHANDLED for a hypercall the library does not
 *         serve (the embedder serves it from `out` and sets `rax`); #PVCORE_CPU_CRASH when
 *         iret's frame cannot be read or asks for a mode the guest cannot have.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_cpu_hypercall(struct pvcore_vcpu *v,
                                                     struct pvcore_cpu_regs *regs,
                                                     struct pvcore_hypercall_regs *out);

/**
 * @brief A 64-bit vCPU in guest user mode executed `syscall`: enter the guest kernel's
 *        syscall callback (syscall32 for 32-bit user code, if registered), or deliver \#UD
 *        if it registered none.
 *
 * @param v The vCPU.
 * @param regs Its registers: rip after the instruction, rflags as they were (the
 *        embedder's entry stub undoes what the processor did to rcx and r11 if it must:
 *        the frame saves both); rewritten to resume in the callback.
 * @return #PVCORE_CPU_RESUME or #PVCORE_CPU_CRASH (also for a vCPU not in user mode).
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_cpu_syscall(struct pvcore_vcpu *v, struct pvcore_cpu_regs *regs);

/**
 * @brief Enters the guest's event callback (the upcall), with events masked, as the
 *        event-channel code does when an event is pending and unmasked.
 * @param v The vCPU.
 * @param regs Its registers; rewritten to resume in the callback.
 * @return #PVCORE_CPU_RESUME, or #PVCORE_CPU_CRASH if no callback is registered or the
 *         frame cannot be written.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_cpu_event_callback(struct pvcore_vcpu *v,
                                                          struct pvcore_cpu_regs *regs);

/**
 * @brief Enters the guest's failsafe callback: the embedder could not load the data
 *        segment selectors in `regs` (ds, es, fs, gs) on the way back to the guest.
 *
 * The frame also holds the four selectors (64-bit: after rcx and r11; 32-bit: first).
 * @param v The vCPU.
 * @param regs Its registers, with the selectors that could not be loaded; rewritten to
 *        resume in the callback.
 * @return #PVCORE_CPU_RESUME, or #PVCORE_CPU_CRASH if no callback is registered or the
 *         frame cannot be written.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_cpu_failsafe(struct pvcore_vcpu *v, struct pvcore_cpu_regs *regs);

/**
 * @brief Is 64-bit vCPU `v` in guest kernel mode?
 * @param v The vCPU.
 * @return Non-zero in kernel mode (always for a 32-bit vCPU), 0 in user mode.
 */
PVCORE_API int pvcore_vcpu_kernel_mode(const struct pvcore_vcpu *v);

/**
 * @brief Is `v`'s virtual CR0.TS set (fpu_taskswitch, clts, mov to %cr0)?
 * @param v The vCPU.
 * @return Non-zero when set: run the vCPU with CR0.TS set.
 */
PVCORE_API int pvcore_vcpu_fpu_ts(const struct pvcore_vcpu *v);

/**
 * @brief The FS base and the kernel-mode and user-mode GS bases of 64-bit vCPU `v`
 *        (set_segment_base, the base MSRs).
 * @param v The vCPU.
 * @param fs Receives the FS base; may be NULL.
 * @param gs_kernel Receives the GS base of kernel mode; may be NULL.
 * @param gs_user Receives the GS base of user mode; may be NULL.
 */
PVCORE_API void pvcore_vcpu_segment_bases(const struct pvcore_vcpu *v, uint64_t *fs,
                                          uint64_t *gs_kernel, uint64_t *gs_user);

/**
 * @brief The selector 64-bit vCPU `v`'s user mode has in GS (set_segment_base with
 *        SEGBASE_GS_USER_SEL: RPL 3, or 0 where the one asked for cannot be loaded).
 *
 * The embedder loads it, with the user GS base, on the way to guest user mode.
 * @param v The vCPU.
 * @return The selector.
 */
PVCORE_API uint16_t pvcore_vcpu_user_gs_selector(const struct pvcore_vcpu *v);

/**
 * @brief Tells the library the FS and GS bases 64-bit vCPU `v` has now.
 *
 * A guest that enabled CR4.FSGSBASE changes its bases itself (`wrfsbase`, `wrgsbase`),
 * behind the library's back: the embedder reads them from the processor when the vCPU
 * leaves guest context (as Xen does on every switch) and passes them here, so that the
 * base MSRs and set_segment_base see them. Called from the vCPU's own context.
 * @param v The vCPU.
 * @param fs Its FS base.
 * @param gs_kernel Its GS base of kernel mode.
 * @param gs_user Its GS base of user mode.
 */
PVCORE_API void pvcore_vcpu_set_segment_bases(struct pvcore_vcpu *v, uint64_t fs,
                                              uint64_t gs_kernel, uint64_t gs_user);

/**
 * @brief Names machine frame `mfn` as domain `d`'s shared-info page.
 *
 * The vcpu_info of vCPUs 0-31 is in it (64 bytes each) until they register one elsewhere;
 * the library writes the event mask and cr2 there when it delivers an exception. The
 * embedder keeps the frame (it is normally the domain's, outside its pseudo-physical
 * space) for the domain's lifetime.
 * @param d The domain.
 * @param mfn The frame.
 * @return 0, or -PVCORE_EINVAL for a NULL domain or a frame outside the machine.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_set_shared_info(struct pvcore_domain *d, pvcore_mfn_t mfn);

PVCORE_END_DECLS

#endif /* PVCORE_CPU_H */
