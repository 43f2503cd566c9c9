/*
 * guest32: entry point, hypercall page, hypercall wrappers, exception entry and the few
 * routines a freestanding C program needs, for a 32-bit PAE PV kernel (ring 1).
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
 * The fixup table: pairs (address of an instruction that may fault, where to resume if it
 * does), searched by guest_fixup(). FIXUP adds a pair; this file is the table's only
 * contributor, so its pieces of .rodata.fixup are contiguous between the two labels.
 */
    .section .rodata.fixup, "a", @progbits
    .balign 4
fixup_table:

.macro FIXUP insn, fixup
    .pushsection .rodata.fixup, "a", @progbits
    .long \insn, \fixup
    .popsection
.endm

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
    /* (table) */
    HYPERCALL hyp_set_trap_table, GUEST_HC_set_trap_table, 1
    /* (ss, esp) */
    HYPERCALL hyp_stack_switch, GUEST_HC_stack_switch, 2
    /* (frames, entries) */
    HYPERCALL hyp_set_gdt, GUEST_HC_set_gdt, 2
    /* (maddr low half, high half, descriptor low half, high half): two uint64_t */
    HYPERCALL hyp_update_descriptor, GUEST_HC_update_descriptor, 4
    /* (deadline low half, high half) */
    HYPERCALL hyp_set_timer_op, GUEST_HC_set_timer_op, 2
    /* (cmd, arg) */
    HYPERCALL hyp_callback_op, GUEST_HC_callback_op, 2
    /* (cmd, arg) */
    HYPERCALL hyp_event_channel_op, GUEST_HC_event_channel_op, 2
    /* (cmd, ops, count) */
    HYPERCALL hyp_grant_table_op, GUEST_HC_grant_table_op, 3
    /* (cmd, arg) */
    HYPERCALL hyp_memory_op, GUEST_HC_memory_op, 2

/*
 * Exception entry. The hypervisor enters the trap table's handler in ring 1 on the same
 * stack (the guest was in ring 1 too) with the frame [error code], eip, cs, eflags. Each
 * stub pushes an error code of 0 for an exception without one and the vector, so that
 * trap_common sees one layout.
 */
.macro TRAP_ENTRY vec, has_error
    .type guest_entry_\vec, @function
    .balign 16
guest_entry_\vec:
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
 * Saves the general registers (pushal: struct guest_trap_frame), calls guest_trap(frame),
 * restores them and returns with HYPERVISOR_iret, whose frame is eax, eip, cs, eflags:
 * eip..eflags are still the hypervisor's (guest_trap() may have changed eip), and the
 * hypercall page's iret stub pushes eax itself before its int $0x82.
 */
    .type trap_common, @function
    .balign 16
trap_common:
    pushal
    cld
    mov     %esp, %ebx              /* callee-saved: the frame again after the call */
    and     $-16, %esp              /* the alignment a call site needs */
    sub     $12, %esp
    push    %ebx                    /* struct guest_trap_frame * */
    call    guest_trap
    mov     %ebx, %esp
    popal
    add     $8, %esp                /* vector and error code */
    jmp     hypercall_page + GUEST_HC_iret * GUEST_HC_STUB_SIZE
    .size trap_common, . - trap_common

/* The stub of each vector trap_common serves, for the trap table (guest.c). */
    .section .rodata
    .balign 4
    .globl guest_trap_entry
    .type guest_trap_entry, @object
guest_trap_entry:
    .long guest_entry_0, 0, 0, 0, 0, 0, guest_entry_6, 0
    .long 0, 0, guest_entry_10, guest_entry_11, guest_entry_12, guest_entry_13, guest_entry_14, 0
    .long 0, guest_entry_17, 0, 0, 0, 0, 0, 0
    .long 0, 0, 0, 0, 0, 0, 0, 0
    .size guest_trap_entry, . - guest_trap_entry
    .globl guest_event_entry
    .type guest_event_entry, @object
guest_event_entry:
    .long guest_entry_32
    .size guest_event_entry, . - guest_event_entry
    .text

/* unsigned long guest_fixup(unsigned long ip): the fixup table's entry for ip, or 0 */
    .globl guest_fixup
    .type guest_fixup, @function
    .balign 16
guest_fixup:
    mov     4(%esp), %eax
    mov     $fixup_table, %edx
1:  cmp     $fixup_table_end, %edx
    jae     3f
    cmp     (%edx), %eax
    je      2f
    add     $8, %edx
    jmp     1b
2:  mov     4(%edx), %eax
    ret
3:  xor     %eax, %eax
    ret
    .size guest_fixup, . - guest_fixup

/* long guest_probe_byte(unsigned long va): the byte, or -1 if the read faulted */
    .globl guest_probe_byte
    .type guest_probe_byte, @function
    .balign 16
guest_probe_byte:
    mov     4(%esp), %edx
1:  movzbl  (%edx), %eax
    ret
2:  mov     $-1, %eax
    ret
    FIXUP 1b, 2b
    .size guest_probe_byte, . - guest_probe_byte

/* long guest_load_fs(unsigned long selector): 0, or -1 if loading it faulted */
    .globl guest_load_fs
    .type guest_load_fs, @function
    .balign 16
guest_load_fs:
    mov     4(%esp), %eax
1:  mov     %eax, %fs
    xor     %eax, %eax
    ret
2:  mov     $-1, %eax
    ret
    FIXUP 1b, 2b
    .size guest_load_fs, . - guest_load_fs

/* uint32_t guest_read_fs(unsigned long offset) */
    .globl guest_read_fs
    .type guest_read_fs, @function
    .balign 16
guest_read_fs:
    mov     4(%esp), %edx
    mov     %fs:(%edx), %eax
    ret
    .size guest_read_fs, . - guest_read_fs

/*
 * void guest_fault_registers(unsigned long va, unsigned long *after): see guest.h. The
 * callee-saved registers are saved first; after the read the `after` pointer comes back
 * from the stack in exchange for the read's %eax.
 */
    .globl guest_fault_registers
    .type guest_fault_registers, @function
    .balign 16
guest_fault_registers:
    push    %ebp
    push    %edi
    push    %esi
    push    %ebx
    mov     20(%esp), %edi          /* va */
    push    24(%esp)                /* after (24 = 4 saved, return address, va) */
    mov     $(GUEST_REG_PATTERN + 0), %eax
    mov     $(GUEST_REG_PATTERN + 1), %ebx
    mov     $(GUEST_REG_PATTERN + 2), %ecx
    mov     $(GUEST_REG_PATTERN + 3), %edx
    mov     $(GUEST_REG_PATTERN + 4), %esi
    mov     $(GUEST_REG_PATTERN + 6), %ebp
    cmpb    $0, (%edi)              /* the access that faults: it writes no register */
    xchg    %eax, (%esp)
    mov     %ebx, 1*4(%eax)
    mov     %ecx, 2*4(%eax)
    mov     %edx, 3*4(%eax)
    mov     %esi, 4*4(%eax)
    mov     %edi, 5*4(%eax)
    mov     %ebp, 6*4(%eax)
    pop     %ebx                    /* the read's %eax */
    mov     %ebx, 0*4(%eax)
    pop     %ebx
    pop     %esi
    pop     %edi
    pop     %ebp
    ret
    .size guest_fault_registers, . - guest_fault_registers

/* void guest_fault_on_stack(unsigned long stack_top, unsigned long va): no return */
    .globl guest_fault_on_stack
    .type guest_fault_on_stack, @function
    .balign 16
guest_fault_on_stack:
    mov     8(%esp), %edx
    mov     4(%esp), %esp
    movzbl  (%edx), %eax            /* faults, and its frame cannot be written below %esp */
    ud2
    .size guest_fault_on_stack, . - guest_fault_on_stack

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

/* The end of the fixup table (see its start). */
    .section .rodata.fixup, "a", @progbits
fixup_table_end:

    .section .note.GNU-stack, "", @progbits
