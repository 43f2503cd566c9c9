/*
 * guest32: entry point, hypercall page, hypercall wrappers and the few routines a
 * freestanding C program needs, for a 32-bit PAE PV kernel (ring 1).
 *
 * Hypercall convention: call hypercall_page + nr * 32 with the arguments in
 * %ebx, %ecx, %edx, %esi, %edi (and %ebp for a sixth); the result comes back in %eax.
 * The C convention passes arguments on the stack and expects %ebx, %esi, %edi and %ebp
 * preserved, and the hypervisor may clobber argument registers a hypercall does not use,
 * so each wrapper saves all four, loads its arguments and calls the stub.
 */
#include "layout.h"

/* Cross-checked by the linker script against its own constants. */
    .globl guest_layout_virt_base
    .set guest_layout_virt_base, GUEST_VIRT_BASE
    .globl guest_layout_hypercall_page
    .set guest_layout_hypercall_page, GUEST_VIRT_BASE + GUEST_HYPERCALL_PAGE_INDEX * GUEST_PAGE_SIZE

/*
 * Entry: %esi = start_info (virtual address), %esp = top of the boot stack page, events
 * masked. Zero .bss (which holds our own stack), move to that stack, then
 * guest_main(start_info, entry %esp). The clearing uses only %edi, %ecx and %eax.
 */
    .section .text.entry, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    cld
    mov     $__bss_start, %edi
    mov     $__bss_end, %ecx
    sub     %edi, %ecx
    xor     %eax, %eax
    rep stosb
    mov     %esp, %edx
    mov     $guest_stack_top, %esp
    sub     $8, %esp                /* keep %esp 16-byte aligned at the call */
    push    %edx                    /* entry_sp */
    push    %esi                    /* start_info */
    call    guest_main
    ud2                             /* guest_main does not return */
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

/* nargs: the number of 32-bit argument words the C prototype passes. */
.macro HYPERCALL name, nr, nargs
    .globl \name
    .type \name, @function
    .balign 16
\name:
    push    %ebp
    push    %edi
    push    %esi
    push    %ebx
    /* 4 saved registers and the return address: the arguments start at 20(%esp). */
    .if \nargs >= 1
    mov     20(%esp), %ebx
    .endif
    .if \nargs >= 2
    mov     24(%esp), %ecx
    .endif
    .if \nargs >= 3
    mov     28(%esp), %edx
    .endif
    .if \nargs >= 4
    mov     32(%esp), %esi
    .endif
    .if \nargs >= 5
    mov     36(%esp), %edi
    .endif
    call    hypercall_page + \nr * GUEST_HC_STUB_SIZE
    pop     %ebx
    pop     %esi
    pop     %edi
    pop     %ebp
    ret
    .size \name, . - \name
.endm

    /* (req, count, done, foreigndom) */
    HYPERCALL hyp_mmu_update, GUEST_HC_mmu_update, 4
    /* (va, val low half, val high half, flags): the uint64_t takes two words */
    HYPERCALL hyp_update_va_mapping, GUEST_HC_update_va_mapping, 4
    /* (cmd, count, buffer) */
    HYPERCALL hyp_console_io, GUEST_HC_console_io, 3
    /* (ops, count, done, foreigndom) */
    HYPERCALL hyp_mmuext_op, GUEST_HC_mmuext_op, 4
    /* (cmd, arg) */
    HYPERCALL hyp_sched_op, GUEST_HC_sched_op, 2
    /* (cmd, arg) */
    HYPERCALL hyp_xen_version, GUEST_HC_xen_version, 2

/* unsigned long guest_read_byte(unsigned long va) */
    .globl guest_read_byte
    .type guest_read_byte, @function
    .balign 16
guest_read_byte:
    mov     4(%esp), %edx
    movzbl  (%edx), %eax
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
    push    %edi
    mov     8(%esp), %edi
    mov     12(%esp), %eax
    mov     16(%esp), %ecx
    mov     %edi, %edx
    rep stosb
    mov     %edx, %eax
    pop     %edi
    ret
    .size memset, . - memset

    .globl memcpy
    .type memcpy, @function
    .balign 16
memcpy:
    push    %edi
    push    %esi
    mov     12(%esp), %edi
    mov     16(%esp), %esi
    mov     20(%esp), %ecx
    mov     %edi, %eax
    rep movsb
    pop     %esi
    pop     %edi
    ret
    .size memcpy, . - memcpy

    .globl memmove
    .type memmove, @function
    .balign 16
memmove:
    push    %edi
    push    %esi
    mov     12(%esp), %edi
    mov     16(%esp), %esi
    mov     20(%esp), %ecx
    mov     %edi, %eax
    mov     %edi, %edx
    sub     %esi, %edx
    cmp     %ecx, %edx              /* dst - src >= n (unsigned): a forward copy is safe */
    jae     1f
    lea     -1(%esi,%ecx), %esi     /* otherwise copy backwards */
    lea     -1(%edi,%ecx), %edi
    std
    rep movsb
    cld
    jmp     2f
1:  rep movsb
2:  pop     %esi
    pop     %edi
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
