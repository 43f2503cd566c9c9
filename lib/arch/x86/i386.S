/*
 * The i386 machine operations declared in <pvcore/arch/x86.h>.
 *
 * cdecl: arguments on the stack, each in a 4-byte slot above the return address (the first
 * at 4(%esp) on entry; narrower types are widened to a slot, a uint64_t takes two, low
 * half first); result in eax, or edx:eax for uint64_t; ebx, esi, edi, ebp are callee-saved.
 * The code is position-independent, like its x86-64 sibling. There is no swapgs here: it
 * does not exist outside 64-bit mode.
 */

/* Opens a global function: aligned, typed, sized by END. */
.macro FUNC name
    .text
    .globl \name
    .type \name, @function
    .p2align 4
\name:
.endm

.macro END name
    .size \name, . - \name
.endm

/* ---- control registers ---- */

FUNC pvcore_x86_read_cr0
    mov     %cr0, %eax
    ret
END pvcore_x86_read_cr0

FUNC pvcore_x86_write_cr0
    mov     4(%esp), %eax
    mov     %eax, %cr0
    ret
END pvcore_x86_write_cr0

FUNC pvcore_x86_read_cr2
    mov     %cr2, %eax
    ret
END pvcore_x86_read_cr2

/* void pvcore_x86_read_data_segments(uint16_t out[4]): ds, es, fs, gs */
FUNC pvcore_x86_read_data_segments
    mov     4(%esp), %eax
    movw    %ds, 0(%eax)
    movw    %es, 2(%eax)
    movw    %fs, 4(%eax)
    movw    %gs, 6(%eax)
    ret
END pvcore_x86_read_data_segments

FUNC pvcore_x86_read_cr3
    mov     %cr3, %eax
    ret
END pvcore_x86_read_cr3

FUNC pvcore_x86_write_cr3
    mov     4(%esp), %eax
    mov     %eax, %cr3
    ret
END pvcore_x86_write_cr3

FUNC pvcore_x86_read_cr4
    mov     %cr4, %eax
    ret
END pvcore_x86_read_cr4

FUNC pvcore_x86_write_cr4
    mov     4(%esp), %eax
    mov     %eax, %cr4
    ret
END pvcore_x86_write_cr4

/* ---- descriptor tables ---- */

/*
 * lgdt and lidt take a 6-byte pseudo-descriptor: the 16-bit limit followed by the 32-bit
 * base. Build it in 8 bytes of stack; the arguments then lie 8 bytes further up.
 */
FUNC pvcore_x86_lgdt                    /* 4(%esp) = base, 8(%esp) = limit */
    sub     $8, %esp
    mov     16(%esp), %eax
    mov     %ax, (%esp)
    mov     12(%esp), %eax
    mov     %eax, 2(%esp)
    lgdt    (%esp)
    add     $8, %esp
    ret
END pvcore_x86_lgdt

FUNC pvcore_x86_lidt                    /* 4(%esp) = base, 8(%esp) = limit */
    sub     $8, %esp
    mov     16(%esp), %eax
    mov     %ax, (%esp)
    mov     12(%esp), %eax
    mov     %eax, 2(%esp)
    lidt    (%esp)
    add     $8, %esp
    ret
END pvcore_x86_lidt

FUNC pvcore_x86_write_dr                /* 4(%esp) = n, 8(%esp) = value */
    mov     4(%esp), %ecx
    mov     8(%esp), %eax
    cmp     $0, %ecx
    jne     10f
    mov     %eax, %dr0
    ret
10:
    cmp     $1, %ecx
    jne     11f
    mov     %eax, %dr1
    ret
11:
    cmp     $2, %ecx
    jne     12f
    mov     %eax, %dr2
    ret
12:
    cmp     $3, %ecx
    jne     13f
    mov     %eax, %dr3
    ret
13:
    cmp     $6, %ecx
    jne     16f
    mov     %eax, %dr6
    ret
16:
    cmp     $7, %ecx
    jne     17f
    mov     %eax, %dr7
    ret
17:
    ret
END pvcore_x86_write_dr

FUNC pvcore_x86_read_dr                 /* 4(%esp) = n */
    mov     4(%esp), %ecx
    xor     %eax, %eax
    cmp     $0, %ecx
    jne     20f
    mov     %dr0, %eax
    ret
20:
    cmp     $1, %ecx
    jne     21f
    mov     %dr1, %eax
    ret
21:
    cmp     $2, %ecx
    jne     22f
    mov     %dr2, %eax
    ret
22:
    cmp     $3, %ecx
    jne     23f
    mov     %dr3, %eax
    ret
23:
    cmp     $6, %ecx
    jne     26f
    mov     %dr6, %eax
    ret
26:
    cmp     $7, %ecx
    jne     27f
    mov     %dr7, %eax
    ret
27:
    ret
END pvcore_x86_read_dr


FUNC pvcore_x86_lldt                    /* 4(%esp) = selector */
    mov     4(%esp), %eax
    lldt    %ax
    ret
END pvcore_x86_lldt

FUNC pvcore_x86_ltr                     /* 4(%esp) = selector */
    mov     4(%esp), %eax
    ltr     %ax
    ret
END pvcore_x86_ltr

/*
 * 4(%esp) = code selector, 8(%esp) = data selector. The data segments go first; then push
 * the new CS and the address of label 1 and let lret pop them (EIP first, then CS). The
 * address of label 1 is computed without an absolute relocation: call pushes the address
 * of label 2, and the distance from 2 to 1 is added to it in place.
 */
FUNC pvcore_x86_load_segments
    mov     8(%esp), %eax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    xor     %eax, %eax
    mov     %ax, %fs
    mov     %ax, %gs
    movzwl  4(%esp), %eax
    push    %eax
    call    2f
2:  addl    $(1f - 2b), (%esp)
    lret
1:  ret
END pvcore_x86_load_segments

/* ---- TLB ---- */

FUNC pvcore_x86_invlpg                  /* 4(%esp) = linear address */
    mov     4(%esp), %eax
    invlpg  (%eax)
    ret
END pvcore_x86_invlpg

/* Writing CR3 back flushes the non-global entries. */
FUNC pvcore_x86_flush_tlb
    mov     %cr3, %eax
    mov     %eax, %cr3
    ret
END pvcore_x86_flush_tlb

/*
 * Clearing CR4.PGE flushes everything, global entries included; setting it again restores
 * the old CR4. Interrupts are off in between, so that no handler runs (and perhaps writes
 * CR4) while PGE is clear; popfl restores the caller's IF.
 */
FUNC pvcore_x86_flush_tlb_global
    pushfl
    cli
    mov     %cr4, %eax
    test    $0x80, %eax                 /* CR4.PGE */
    jz      2f
    mov     %eax, %ecx
    and     $~0x80, %ecx
    mov     %ecx, %cr4
    mov     %eax, %cr4
    popfl
    ret
2:  mov     %cr3, %eax                  /* no global pages: a CR3 reload is enough */
    mov     %eax, %cr3
    popfl
    ret
END pvcore_x86_flush_tlb_global

/* ---- MSRs ---- */

/* rdmsr leaves the value in edx:eax, which is exactly how cdecl returns a uint64_t. */
FUNC pvcore_x86_rdmsr                   /* 4(%esp) = msr */
    mov     4(%esp), %ecx
    rdmsr
    ret
END pvcore_x86_rdmsr

FUNC pvcore_x86_wrmsr                   /* 4(%esp) = msr, 8(%esp) = value low, 12(%esp) = high */
    mov     4(%esp), %ecx
    mov     8(%esp), %eax
    mov     12(%esp), %edx
    wrmsr
    ret
END pvcore_x86_wrmsr

/* ---- I/O ports ---- */

FUNC pvcore_x86_outb                    /* 4(%esp) = port, 8(%esp) = value */
    mov     4(%esp), %edx
    mov     8(%esp), %eax
    outb    %al, %dx
    ret
END pvcore_x86_outb

/* The ABI leaves bits 31:8 of the result unspecified; they are zeroed anyway. */
FUNC pvcore_x86_inb                     /* 4(%esp) = port */
    mov     4(%esp), %edx
    xor     %eax, %eax
    inb     %dx, %al
    ret
END pvcore_x86_inb

FUNC pvcore_x86_outl                    /* 4(%esp) = port, 8(%esp) = value */
    mov     4(%esp), %edx
    mov     8(%esp), %eax
    outl    %eax, %dx
    ret
END pvcore_x86_outl

/* ---- identification, caches, interrupts ---- */

/* cpuid overwrites ebx, which is callee-saved; edi (also callee-saved) holds out. */
FUNC pvcore_x86_cpuid                   /* 4(%esp) = leaf, 8(%esp) = subleaf, 12(%esp) = out */
    push    %ebx
    push    %edi
    mov     12(%esp), %eax              /* the arguments are 8 bytes further up now */
    mov     16(%esp), %ecx
    mov     20(%esp), %edi
    cpuid
    mov     %eax, 0(%edi)
    mov     %ebx, 4(%edi)
    mov     %ecx, 8(%edi)
    mov     %edx, 12(%edi)
    pop     %edi
    pop     %ebx
    ret
END pvcore_x86_cpuid

FUNC pvcore_x86_wbinvd
    wbinvd
    ret
END pvcore_x86_wbinvd

FUNC pvcore_x86_cli
    cli
    ret
END pvcore_x86_cli

/* The interrupt shadow of sti covers the ret: interrupts arrive only after the return. */
FUNC pvcore_x86_sti
    sti
    ret
END pvcore_x86_sti

FUNC pvcore_x86_hlt
    hlt
    ret
END pvcore_x86_hlt

FUNC pvcore_x86_read_flags
    pushfl
    pop     %eax
    ret
END pvcore_x86_read_flags

FUNC pvcore_x86_rdtsc
    rdtsc
    ret
END pvcore_x86_rdtsc

/* ---- FPU/SSE state ---- */

FUNC pvcore_x86_fxsave
    mov     4(%esp), %eax
    fxsave  (%eax)
    ret
END pvcore_x86_fxsave

FUNC pvcore_x86_fxrstor
    mov     4(%esp), %eax
    fxrstor (%eax)
    ret
END pvcore_x86_fxrstor

/* No executable stack. */
.section .note.GNU-stack, "", @progbits
