/*
 * guest64: entry point, hypercall page, hypercall wrappers and the few routines a
 * freestanding C program needs, for a 64-bit PV kernel (ring 3).
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

    .section .note.GNU-stack, "", @progbits
