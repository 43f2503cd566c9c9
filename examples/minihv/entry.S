/*
 * entry.S: every way into the hypervisor from a guest (exceptions, int $0x82 from a
 * 32-bit guest kernel in ring 1, syscall from a 64-bit guest kernel in ring 3), the way
 * back (iretq), the timer interrupt, and the switch between the host context (minihv_main's
 * scheduler loop, on the boot stack) and a guest.
 *
 * All guest entries build the same struct frame (minihv.h) at the top of the hypervisor
 * stack, call minihv_trap(frame) and return to the guest through the frame, which C may
 * have changed. There is one physical CPU, and interrupts stay masked in the hypervisor
 * (interrupt gates; SFMASK clears IF on syscall) except in the scheduler's idle loop,
 * which runs on the boot stack with no guest current: one stack and one scratch slot
 * suffice.
 */
#define FLAT_RING3_SS64 0xe02b
#define FLAT_RING3_CS64 0xe033
#define FLAT_RING3_CS32 0xe023
#define VEC_SYSCALL64 0x100
#define VEC_SYSCALL32 0x101

    .text
    .code64

.macro SAVE_REGS
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
.endm

.macro TRAP_NOERR vec
    .align 16
trap_\vec:
    pushq $0
    pushq $\vec
    jmp trap_common
.endm

.macro TRAP_ERR vec
    .align 16
trap_\vec:
    pushq $\vec
    jmp trap_common
.endm

TRAP_NOERR 0
TRAP_NOERR 1
TRAP_NOERR 2
TRAP_NOERR 3
TRAP_NOERR 4
TRAP_NOERR 5
TRAP_NOERR 6
TRAP_NOERR 7
TRAP_ERR 8
TRAP_NOERR 9
TRAP_ERR 10
TRAP_ERR 11
TRAP_ERR 12
TRAP_ERR 13
TRAP_ERR 14
TRAP_NOERR 15
TRAP_NOERR 16
TRAP_ERR 17
TRAP_NOERR 18
TRAP_NOERR 19
TRAP_NOERR 20
TRAP_ERR 21
TRAP_NOERR 22
TRAP_NOERR 23
TRAP_NOERR 24
TRAP_NOERR 25
TRAP_NOERR 26
TRAP_NOERR 27
TRAP_NOERR 28
TRAP_ERR 29
TRAP_ERR 30
TRAP_NOERR 31

    /* int $0x82: the 32-bit PV hypercall (a DPL 1 gate: ring 1 only). */
    .align 16
    .globl minihv_int82_entry
minihv_int82_entry:
    pushq $0
    pushq $0x82
    jmp trap_common

    /*
     * syscall: the CPU saved rip in rcx and rflags in r11, masked IF/TF/DF/AC (SFMASK)
     * and did not switch stacks. Build the frame an interrupt would have.
     */
.macro SYSCALL_ENTRY name, cs, vec
    .align 16
    .globl \name
\name:
    movq %rsp, syscall_scratch(%rip)
    movq minihv_hyp_stack_top(%rip), %rsp
    pushq $FLAT_RING3_SS64
    pushq syscall_scratch(%rip)
    pushq %r11
    pushq $\cs
    pushq %rcx
    pushq $0
    pushq $\vec
    jmp trap_common
.endm

    /* From a 64-bit guest: the 64-bit PV hypercall. */
    SYSCALL_ENTRY minihv_syscall64_entry, FLAT_RING3_CS64, VEC_SYSCALL64
    /* From compatibility mode: not part of the 32-bit PV ABI; a fault. */
    SYSCALL_ENTRY minihv_syscall32_entry, FLAT_RING3_CS32, VEC_SYSCALL32

trap_common:
    SAVE_REGS
    cld
    movq %rsp, %rdi
    call minihv_trap
frame_return:
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp             /* vector, error */
    /* A fault here is the guest's (minihv_trap): the frame is the one it returns to. */
    .globl minihv_iret_insn
minihv_iret_insn:
    iretq

/*
 * int minihv_enter_guest(const struct frame *f)
 * Saves the host context, copies *f to the top of the hypervisor stack and returns to the
 * guest through it. The data selectors are loaded before (minihv_load_data_segments).
 * Returns when C calls minihv_exit_to_host(code), with that code.
 */
    .globl minihv_enter_guest
minihv_enter_guest:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, host_rsp(%rip)
    movq minihv_hyp_stack_top(%rip), %rsp
    subq $176, %rsp            /* sizeof(struct frame) */
    movq %rsp, %rax
    movq %rdi, %rsi
    movq %rax, %rdi
    movl $22, %ecx
    rep movsq
    jmp frame_return

/*
 * void minihv_load_data_segments(uint16_t sel[4])
 * Loads ds, es, fs and gs from sel[0..3] (a guest's, when it is switched in). A selector
 * the guest's descriptor tables no longer allow faults: minihv_trap() finds the faulting
 * instruction in minihv_seg_load_insns, makes that selector 0 and retries, as Xen loads a
 * null selector where a guest's stale one fails. In 64-bit mode loading fs or gs resets
 * its base: the bases are written after.
 */
    .globl minihv_load_data_segments
minihv_load_data_segments:
seg_load_ds:
    movw 0(%rdi), %ds
seg_load_es:
    movw 2(%rdi), %es
seg_load_fs:
    movw 4(%rdi), %fs
seg_load_gs:
    movw 6(%rdi), %gs
    ret

/* The timer interrupt (IRQ 0 of the 8259, remapped to vector 0x20): an interrupt gate. */
    .align 16
    .globl minihv_irq0_entry
minihv_irq0_entry:
    pushq $0
    pushq $0x20
    jmp trap_common

/* void minihv_exit_to_host(int code): back to minihv_enter_guest's caller. */
    .globl minihv_exit_to_host
minihv_exit_to_host:
    movl %edi, %eax
    movq host_rsp(%rip), %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

    .section .rodata
    .align 8
    .globl minihv_trap_stubs
minihv_trap_stubs:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad trap_\n
    .endr

    .align 8
    .globl minihv_seg_load_insns
minihv_seg_load_insns:
    .quad seg_load_ds, seg_load_es, seg_load_fs, seg_load_gs

    .bss
    .align 8
syscall_scratch:
    .skip 8
host_rsp:
    .skip 8

    .section .note.GNU-stack, "", @progbits
