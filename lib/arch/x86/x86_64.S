/*
 * The x86-64 machine operations declared in <pvcore/arch/x86.h>.
 *
 * SysV AMD64 ABI: arguments in rdi, rsi, rdx, rcx; result in rax; rbx, rbp, r12-r15 are
 * callee-saved. The code is position-independent (RIP-relative only), so it links at any
 * address, including the top of the address space. Nothing here uses the red zone: it is
 * linked into kernels built with -mno-red-zone, where interrupts may write below rsp.
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
    mov     %cr0, %rax
    ret
END pvcore_x86_read_cr0

FUNC pvcore_x86_write_cr0
    mov     %rdi, %cr0
    ret
END pvcore_x86_write_cr0

FUNC pvcore_x86_read_cr2
    mov     %cr2, %rax
    ret
END pvcore_x86_read_cr2

/* void pvcore_x86_read_data_segments(uint16_t out[4]): ds, es, fs, gs */
FUNC pvcore_x86_read_data_segments
    movw    %ds, 0(%rdi)
    movw    %es, 2(%rdi)
    movw    %fs, 4(%rdi)
    movw    %gs, 6(%rdi)
    ret
END pvcore_x86_read_data_segments

FUNC pvcore_x86_read_cr3
    mov     %cr3, %rax
    ret
END pvcore_x86_read_cr3

FUNC pvcore_x86_write_cr3
    mov     %rdi, %cr3
    ret
END pvcore_x86_write_cr3

FUNC pvcore_x86_read_cr4
    mov     %cr4, %rax
    ret
END pvcore_x86_read_cr4

FUNC pvcore_x86_write_cr4
    mov     %rdi, %cr4
    ret
END pvcore_x86_write_cr4

/* ---- descriptor tables ---- */

/*
 * lgdt and lidt take a 10-byte pseudo-descriptor in memory: the 16-bit limit followed by
 * the 64-bit base. Build it in a stack slot below rsp (allocated: no red zone).
 */
FUNC pvcore_x86_lgdt                    /* rdi = base, si = limit */
    sub     $16, %rsp
    mov     %si, (%rsp)
    mov     %rdi, 2(%rsp)
    lgdt    (%rsp)
    add     $16, %rsp
    ret
END pvcore_x86_lgdt

FUNC pvcore_x86_lidt                    /* rdi = base, si = limit */
    sub     $16, %rsp
    mov     %si, (%rsp)
    mov     %rdi, 2(%rsp)
    lidt    (%rsp)
    add     $16, %rsp
    ret
END pvcore_x86_lidt

FUNC pvcore_x86_write_dr                /* di = n, si = value */
    cmp     $0, %edi
    jne     10f
    mov     %rsi, %dr0
    ret
10:
    cmp     $1, %edi
    jne     11f
    mov     %rsi, %dr1
    ret
11:
    cmp     $2, %edi
    jne     12f
    mov     %rsi, %dr2
    ret
12:
    cmp     $3, %edi
    jne     13f
    mov     %rsi, %dr3
    ret
13:
    cmp     $6, %edi
    jne     16f
    mov     %rsi, %dr6
    ret
16:
    cmp     $7, %edi
    jne     17f
    mov     %rsi, %dr7
    ret
17:
    ret
END pvcore_x86_write_dr

FUNC pvcore_x86_read_dr                 /* di = n */
    xor     %eax, %eax
    cmp     $0, %edi
    jne     20f
    mov     %dr0, %rax
    ret
20:
    cmp     $1, %edi
    jne     21f
    mov     %dr1, %rax
    ret
21:
    cmp     $2, %edi
    jne     22f
    mov     %dr2, %rax
    ret
22:
    cmp     $3, %edi
    jne     23f
    mov     %dr3, %rax
    ret
23:
    cmp     $6, %edi
    jne     26f
    mov     %dr6, %rax
    ret
26:
    cmp     $7, %edi
    jne     27f
    mov     %dr7, %rax
    ret
27:
    ret
END pvcore_x86_read_dr


FUNC pvcore_x86_lldt                    /* di = selector */
    lldt    %di
    ret
END pvcore_x86_lldt

FUNC pvcore_x86_ltr                     /* di = selector */
    ltr     %di
    ret
END pvcore_x86_ltr

/*
 * di = code selector, si = data selector. The data segments go first; CS can only be
 * changed by a far transfer, so push the new CS and the address of label 1 and let lretq
 * pop them (RIP first, then CS, 8 bytes each). Loading the null selector into FS and GS
 * may clear their bases (see the header).
 */
FUNC pvcore_x86_load_segments
    mov     %si, %ds
    mov     %si, %es
    mov     %si, %ss
    xor     %eax, %eax
    mov     %ax, %fs
    mov     %ax, %gs
    movzwl  %di, %edi
    push    %rdi
    lea     1f(%rip), %rax
    push    %rax
    lretq
1:  ret
END pvcore_x86_load_segments

/* ---- TLB ---- */

FUNC pvcore_x86_invlpg                  /* rdi = linear address */
    invlpg  (%rdi)
    ret
END pvcore_x86_invlpg

/* Writing CR3 back flushes the non-global entries (of the current PCID). */
FUNC pvcore_x86_flush_tlb
    mov     %cr3, %rax
    mov     %rax, %cr3
    ret
END pvcore_x86_flush_tlb

/*
 * Clearing CR4.PGE flushes everything, global entries and every PCID included; setting it
 * again restores the old CR4. Interrupts are off in between, so that no handler runs (and
 * perhaps writes CR4) while PGE is clear; popfq restores the caller's IF.
 */
FUNC pvcore_x86_flush_tlb_global
    pushfq
    cli
    mov     %cr4, %rax
    test    $0x80, %eax                 /* CR4.PGE */
    jz      2f
    mov     %rax, %rcx
    and     $~0x80, %rcx
    mov     %rcx, %cr4
    mov     %rax, %cr4
    popfq
    ret
2:  mov     %cr3, %rax                  /* no global pages: a CR3 reload is enough */
    mov     %rax, %cr3
    popfq
    ret
END pvcore_x86_flush_tlb_global

/* ---- MSRs ---- */

/* rdmsr returns the value in edx:eax and zeroes the upper halves of rax and rdx. */
FUNC pvcore_x86_rdmsr                   /* edi = msr */
    mov     %edi, %ecx
    rdmsr
    shl     $32, %rdx
    or      %rdx, %rax
    ret
END pvcore_x86_rdmsr

FUNC pvcore_x86_wrmsr                   /* edi = msr, rsi = value */
    mov     %edi, %ecx
    mov     %esi, %eax
    mov     %rsi, %rdx
    shr     $32, %rdx
    wrmsr
    ret
END pvcore_x86_wrmsr

/* ---- I/O ports ---- */

FUNC pvcore_x86_outb                    /* di = port, sil = value */
    mov     %edi, %edx
    mov     %esi, %eax
    outb    %al, %dx
    ret
END pvcore_x86_outb

/* The ABI leaves bits 63:8 of the result unspecified; they are zeroed anyway. */
FUNC pvcore_x86_inb                     /* di = port */
    mov     %edi, %edx
    xor     %eax, %eax
    inb     %dx, %al
    ret
END pvcore_x86_inb

FUNC pvcore_x86_outl                    /* di = port, esi = value */
    mov     %edi, %edx
    mov     %esi, %eax
    outl    %eax, %dx
    ret
END pvcore_x86_outl

/* ---- identification, caches, interrupts ---- */

/* cpuid overwrites rbx, which the caller expects preserved. */
FUNC pvcore_x86_cpuid                   /* edi = leaf, esi = subleaf, rdx = out[4] */
    push    %rbx
    mov     %rdx, %r8
    mov     %edi, %eax
    mov     %esi, %ecx
    cpuid
    mov     %eax, 0(%r8)
    mov     %ebx, 4(%r8)
    mov     %ecx, 8(%r8)
    mov     %edx, 12(%r8)
    pop     %rbx
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
    pushfq
    pop     %rax
    ret
END pvcore_x86_read_flags

FUNC pvcore_x86_swapgs
    swapgs
    ret
END pvcore_x86_swapgs

FUNC pvcore_x86_rdtsc
    rdtsc
    shl     $32, %rdx
    or      %rdx, %rax
    ret
END pvcore_x86_rdtsc

/* ---- FPU/SSE state ---- */

FUNC pvcore_x86_fxsave
    fxsave64 (%rdi)
    ret
END pvcore_x86_fxsave

FUNC pvcore_x86_fxrstor
    fxrstor64 (%rdi)
    ret
END pvcore_x86_fxrstor

/* No executable stack. */
.section .note.GNU-stack, "", @progbits
