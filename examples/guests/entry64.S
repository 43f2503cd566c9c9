/*
 * guest64: entry point, hypercall page, hypercall wrappers, exception entry and the few
 * routines a freestanding C program needs, for a 64-bit PV kernel (ring 3).
 *
 * Hypercall convention: call hypercall_page + nr * 32 with the arguments in
 * %rdi, %rsi, %rdx, %r10, %r8; the result comes back in %rax. The hypervisor's stub saves
 * and restores %rcx and %r11 around its syscall. The C calling convention passes the
 * fourth argument in %rcx, so each wrapper copies %rcx to %r10 and jumps to the stub,
 * whose ret returns straight to the C caller. Whatever else the hypervisor clobbers is
 * caller-saved in the C convention.
 */
#include "layout.h"

/* Cross-checked by the linker script against its own constants. */
    .globl guest_layout_virt_base
    .set guest_layout_virt_base, GUEST_VIRT_BASE
    .globl guest_layout_hypercall_page
    .set guest_layout_hypercall_page, GUEST_VIRT_BASE + GUEST_HYPERCALL_PAGE_INDEX * GUEST_PAGE_SIZE

/*
 * The fixup table: pairs (address of an instruction that may fault, where to resume if it
 * does), searched by guest_fixup(). FIXUP adds a pair; this file is the table's only
 * contributor, so its pieces of .rodata.fixup are contiguous between the two labels.
 */
    .section .rodata.fixup, "a", @progbits
    .balign 8
fixup_table:

.macro FIXUP insn, fixup
    .pushsection .rodata.fixup, "a", @progbits
    .quad \insn, \fixup
    .popsection
.endm

/*
 * Entry: %rsi = start_info (virtual address), %rsp = top of the boot stack page, events
 * masked. Zero .bss (which holds our own stack), move to that stack, then
 * guest_main(start_info, entry %rsp). Only %rdi, %rcx and %rax are used before the call,
 * so %rsi and %rsp survive the clearing in %r12 and %r13.
 */
    .section .text.entry, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    cld
    mov     %rsi, %r12
    mov     %rsp, %r13
    lea     __bss_start(%rip), %rdi
    lea     __bss_end(%rip), %rcx
    sub     %rdi, %rcx
    xor     %eax, %eax
    rep stosb
    lea     guest_stack_top(%rip), %rsp     /* 16-byte aligned, as a call site needs */
    mov     %r12, %rdi
    mov     %r13, %rsi
    call    guest_main
    ud2                                     /* guest_main does not return */
    .size _start, . - _start

/* The hypercall page: 4096 bytes of ret until the hypervisor writes its stubs here. */
    .section .text.hypercall_page, "ax", @progbits
    .balign GUEST_PAGE_SIZE
    .globl hypercall_page
    .type hypercall_page, @object
hypercall_page:
    .fill GUEST_PAGE_SIZE, 1, 0xc3
    .size hypercall_page, . - hypercall_page

    .text

.macro HYPERCALL name, nr
    .globl \name
    .type \name, @function
    .balign 16
\name:
    mov     %rcx, %r10
    jmp     hypercall_page + \nr * GUEST_HC_STUB_SIZE
    .size \name, . - \name
.endm

    HYPERCALL hyp_mmu_update, GUEST_HC_mmu_update
    HYPERCALL hyp_update_va_mapping, GUEST_HC_update_va_mapping
    HYPERCALL hyp_console_io, GUEST_HC_console_io
    HYPERCALL hyp_mmuext_op, GUEST_HC_mmuext_op
    HYPERCALL hyp_sched_op, GUEST_HC_sched_op
    HYPERCALL hyp_xen_version, GUEST_HC_xen_version
    HYPERCALL hyp_set_trap_table, GUEST_HC_set_trap_table
    HYPERCALL hyp_stack_switch, GUEST_HC_stack_switch
    HYPERCALL hyp_set_gdt, GUEST_HC_set_gdt
    HYPERCALL hyp_update_descriptor, GUEST_HC_update_descriptor
    HYPERCALL hyp_set_timer_op, GUEST_HC_set_timer_op
    HYPERCALL hyp_callback_op, GUEST_HC_callback_op
    HYPERCALL hyp_event_channel_op, GUEST_HC_event_channel_op
    HYPERCALL hyp_grant_table_op, GUEST_HC_grant_table_op
    HYPERCALL hyp_memory_op, GUEST_HC_memory_op

/*
 * Exception entry. The hypervisor enters the trap table's handler in kernel mode, on the
 * kernel stack, with the frame Xen builds: rcx, r11, [error code], rip, cs, rflags, rsp,
 * ss (lowest address first). %rcx and %r11 hold the hypervisor's values, so each stub first
 * takes the guest's back from the frame, then pushes an error code of 0 for an exception
 * without one and the vector, so that trap_common sees one layout.
 */
.macro TRAP_ENTRY vec, has_error
    .type guest_entry_\vec, @function
    .balign 16
guest_entry_\vec:
    pop     %rcx
    pop     %r11
    .if \has_error == 0
    push    $0
    .endif
    push    $\vec
    jmp     trap_common
    .size guest_entry_\vec, . - guest_entry_\vec
.endm

    TRAP_ENTRY 0, 0         /* #DE */
    TRAP_ENTRY 6, 0         /* #UD */
    TRAP_ENTRY 10, 1        /* #TS */
    TRAP_ENTRY 11, 1        /* #NP */
    TRAP_ENTRY 12, 1        /* #SS */
    TRAP_ENTRY 13, 1        /* #GP */
    TRAP_ENTRY 14, 1        /* #PF */
    TRAP_ENTRY 17, 1        /* #AC */
    /* The event callback: the frame of an exception without an error code; vector
     * GUEST_VEC_EVENT tells guest_trap() it is an upcall. */
    TRAP_ENTRY 32, 0

/*
 * Saves the general registers (struct guest_trap_frame), calls guest_trap(frame), restores
 * them and returns with HYPERVISOR_iret, which takes Xen's iret_context: rax, r11, rcx,
 * flags, rip, cs, rflags, rsp, ss. rip..ss are still the hypervisor's frame (guest_trap()
 * may have changed rip); below them goes flags = 0 (not a return from a system call, so
 * rcx and r11 are restored from the context), and the hypercall page's iret stub pushes
 * rcx, r11 and rax itself.
 */
    .type trap_common, @function
    .balign 16
trap_common:
    push    %rax
    push    %rbx
    push    %rcx
    push    %rdx
    push    %rsi
    push    %rdi
    push    %rbp
    push    %r8
    push    %r9
    push    %r10
    push    %r11
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    cld
    mov     %rsp, %rdi              /* struct guest_trap_frame * */
    mov     %rsp, %rbx              /* callee-saved: the frame again after the call */
    and     $-16, %rsp              /* the alignment a call site needs */
    call    guest_trap
    mov     %rbx, %rsp
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %r11
    pop     %r10
    pop     %r9
    pop     %r8
    pop     %rbp
    pop     %rdi
    pop     %rsi
    pop     %rdx
    pop     %rcx
    pop     %rbx
    pop     %rax
    add     $16, %rsp               /* vector and error code */
    push    $0                      /* iret_context.flags */
    jmp     hypercall_page + GUEST_HC_iret * GUEST_HC_STUB_SIZE
    .size trap_common, . - trap_common

/* The stub of each vector trap_common serves, for the trap table (guest.c). */
    .section .rodata
    .balign 8
    .globl guest_trap_entry
    .type guest_trap_entry, @object
guest_trap_entry:
    .quad guest_entry_0, 0, 0, 0, 0, 0, guest_entry_6, 0
    .quad 0, 0, guest_entry_10, guest_entry_11, guest_entry_12, guest_entry_13, guest_entry_14, 0
    .quad 0, guest_entry_17, 0, 0, 0, 0, 0, 0
    .quad 0, 0, 0, 0, 0, 0, 0, 0
    .size guest_trap_entry, . - guest_trap_entry
    .globl guest_event_entry
    .type guest_event_entry, @object
guest_event_entry:
    .quad guest_entry_32
    .size guest_event_entry, . - guest_event_entry
    .text

/* unsigned long guest_fixup(unsigned long ip): the fixup table's entry for ip, or 0 */
    .globl guest_fixup
    .type guest_fixup, @function
    .balign 16
guest_fixup:
    lea     fixup_table(%rip), %rdx
    lea     fixup_table_end(%rip), %rcx
1:  cmp     %rcx, %rdx
    jae     3f
    cmp     (%rdx), %rdi
    je      2f
    add     $16, %rdx
    jmp     1b
2:  mov     8(%rdx), %rax
    ret
3:  xor     %eax, %eax
    ret
    .size guest_fixup, . - guest_fixup

/* long guest_probe_byte(unsigned long va): the byte, or -1 if the read faulted */
    .globl guest_probe_byte
    .type guest_probe_byte, @function
    .balign 16
guest_probe_byte:
1:  movzbl  (%rdi), %eax
    ret
2:  mov     $-1, %rax
    ret
    FIXUP 1b, 2b
    .size guest_probe_byte, . - guest_probe_byte

/* long guest_load_fs(unsigned long selector): 0, or -1 if loading it faulted */
    .globl guest_load_fs
    .type guest_load_fs, @function
    .balign 16
guest_load_fs:
1:  mov     %edi, %fs
    xor     %eax, %eax
    ret
2:  mov     $-1, %rax
    ret
    FIXUP 1b, 2b
    .size guest_load_fs, . - guest_load_fs

/* uint32_t guest_read_fs(unsigned long offset) */
    .globl guest_read_fs
    .type guest_read_fs, @function
    .balign 16
guest_read_fs:
    mov     %fs:(%rdi), %eax
    ret
    .size guest_read_fs, . - guest_read_fs

/*
 * void guest_fault_registers(unsigned long va, unsigned long *after): see guest.h. The
 * callee-saved registers are saved first; after the read the `after` pointer comes back
 * from the stack in exchange for the read's %rax.
 */
    .globl guest_fault_registers
    .type guest_fault_registers, @function
    .balign 16
guest_fault_registers:
    push    %rbx
    push    %rbp
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    push    %rsi
    movabs  $(GUEST_REG_PATTERN + 0), %rax
    movabs  $(GUEST_REG_PATTERN + 1), %rbx
    movabs  $(GUEST_REG_PATTERN + 2), %rcx
    movabs  $(GUEST_REG_PATTERN + 3), %rdx
    movabs  $(GUEST_REG_PATTERN + 4), %rsi
    movabs  $(GUEST_REG_PATTERN + 6), %rbp
    movabs  $(GUEST_REG_PATTERN + 8), %r8
    movabs  $(GUEST_REG_PATTERN + 9), %r9
    movabs  $(GUEST_REG_PATTERN + 10), %r10
    movabs  $(GUEST_REG_PATTERN + 11), %r11
    movabs  $(GUEST_REG_PATTERN + 12), %r12
    movabs  $(GUEST_REG_PATTERN + 13), %r13
    movabs  $(GUEST_REG_PATTERN + 14), %r14
    movabs  $(GUEST_REG_PATTERN + 15), %r15
    cmpb    $0, (%rdi)              /* the access that faults: it writes no register */
    xchg    %rax, (%rsp)
    mov     %rbx, 1*8(%rax)
    mov     %rcx, 2*8(%rax)
    mov     %rdx, 3*8(%rax)
    mov     %rsi, 4*8(%rax)
    mov     %rdi, 5*8(%rax)
    mov     %rbp, 6*8(%rax)
    mov     %r8, 8*8(%rax)
    mov     %r9, 9*8(%rax)
    mov     %r10, 10*8(%rax)
    mov     %r11, 11*8(%rax)
    mov     %r12, 12*8(%rax)
    mov     %r13, 13*8(%rax)
    mov     %r14, 14*8(%rax)
    mov     %r15, 15*8(%rax)
    pop     %rbx                    /* the read's %rax */
    mov     %rbx, 0*8(%rax)
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbp
    pop     %rbx
    ret
    .size guest_fault_registers, . - guest_fault_registers

/* void guest_fault_on_stack(unsigned long stack_top, unsigned long va): no return */
    .globl guest_fault_on_stack
    .type guest_fault_on_stack, @function
    .balign 16
guest_fault_on_stack:
    mov     %rdi, %rsp
    movzbl  (%rsi), %eax            /* faults, and its frame cannot be written below %rsp */
    ud2
    .size guest_fault_on_stack, . - guest_fault_on_stack

/* unsigned long guest_read_byte(unsigned long va) */
    .globl guest_read_byte
    .type guest_read_byte, @function
    .balign 16
guest_read_byte:
    movzbl  (%rdi), %eax
    ret
    .size guest_read_byte, . - guest_read_byte

/* void guest_die(void): an invalid opcode, which a guest without a trap table cannot survive */
    .globl guest_die
    .type guest_die, @function
    .balign 16
guest_die:
    ud2
    .size guest_die, . - guest_die

/* The compiler may emit calls to these even in freestanding code. */
    .globl memset
    .type memset, @function
    .balign 16
memset:
    mov     %rdi, %r9
    mov     %esi, %eax
    mov     %rdx, %rcx
    rep stosb
    mov     %r9, %rax
    ret
    .size memset, . - memset

    .globl memcpy
    .type memcpy, @function
    .balign 16
memcpy:
    mov     %rdi, %rax
    mov     %rdx, %rcx
    rep movsb
    ret
    .size memcpy, . - memcpy

    .globl memmove
    .type memmove, @function
    .balign 16
memmove:
    mov     %rdi, %rax
    mov     %rdx, %rcx
    mov     %rdi, %r8
    sub     %rsi, %r8
    cmp     %rdx, %r8               /* dst - src >= n (unsigned): a forward copy is safe */
    jae     1f
    lea     -1(%rsi,%rdx), %rsi     /* otherwise copy backwards */
    lea     -1(%rdi,%rdx), %rdi
    std
    rep movsb
    cld
    ret
1:  rep movsb
    ret
    .size memmove, . - memmove

/* The guest's own stack. */
    .section .bss.stack, "aw", @nobits
    .balign 16
guest_stack:
    .skip GUEST_STACK_SIZE
    .globl guest_stack_top
guest_stack_top:

/* The end of the fixup table (see its start). */
    .section .rodata.fixup, "a", @progbits
fixup_table_end:

    .section .note.GNU-stack, "", @progbits
