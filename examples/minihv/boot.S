/*
 * boot.S: from QEMU's multiboot loader (32-bit protected mode, paging off) to the 64-bit
 * hypervisor running from the direct map.
 *
 * The multiboot header and start32 live in .boot, linked at their physical address; all
 * else is linked at DIRECTMAP_BASE + physical address (see minihv.ld). The boot page
 * tables map the first 1 GiB at 0 (only for the jump) and the first 4 GiB at the direct
 * map, both with 2 MiB pages. minihv_main() later drops the low mapping.
 */
#define DIRECTMAP_BASE 0xFFFF830000000000
#define PHYS(x) ((x) - DIRECTMAP_BASE)

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* page-aligned modules, memory information */

#define EFER 0xC0000080
#define EFER_LME 0x100
#define CR0_PE 0x1
#define CR0_WP 0x10000
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define PDE_LARGE 0x83 /* present, writable, 2 MiB */

    .section .boot, "ax"
    .code32
    .align 4
mb_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .align 16
    .globl start32
start32:
    cli
    cld
    movl %eax, %edi            /* multiboot magic */
    movl %ebx, %esi            /* multiboot information (physical) */

    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $PHYS(boot_pml4), %eax
    movl %eax, %cr3
    movl $EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $(CR0_PE | CR0_WP | CR0_PG), %eax
    movl %eax, %cr0            /* long mode is active from here (compatibility mode) */

    lgdt boot_gdtr
    ljmp $0x08, $start64_low

    .code64
start64_low:
    movabsq $start64, %rax     /* leave the identity map for the direct map */
    jmp *%rax

    .align 8
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff   /* 0x08: ring 0 code, 64-bit */
    .quad 0x00cf92000000ffff   /* 0x10: ring 0 data */
boot_gdtr:
    .word boot_gdtr - boot_gdt - 1
    .long boot_gdt

    .text
    .code64
start64:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    movl %edi, %r12d           /* the upper halves are undefined after the mode switch */
    movl %esi, %r13d
    leaq __bss_start(%rip), %rdi
    leaq __bss_end(%rip), %rcx
    subq %rdi, %rcx
    xorl %eax, %eax
    rep stosb                  /* the stack is in .bss: zero it before using it */
    leaq boot_stack_top(%rip), %rsp
    xorl %ebp, %ebp
    movl %r12d, %edi
    movl %r13d, %esi
    call minihv_main
1:  hlt
    jmp 1b

    /* Boot page tables (also the idle tables afterwards). */
    .data
    .align 4096
    .globl boot_pml4
boot_pml4:
    .quad PHYS(boot_pdpt_low) + 3
    .fill 261, 8, 0
    .quad PHYS(boot_pdpt_dm) + 3     /* slot 262: the direct map */
    .fill 249, 8, 0
boot_pdpt_low:
    .quad PHYS(boot_pd) + 3          /* 0-1 GiB, identity, for the jump only */
    .fill 511, 8, 0
boot_pdpt_dm:
    .quad PHYS(boot_pd) + 3
    .quad PHYS(boot_pd) + 0x1000 + 3
    .quad PHYS(boot_pd) + 0x2000 + 3
    .quad PHYS(boot_pd) + 0x3000 + 3
    .fill 508, 8, 0
boot_pd:
    .set i, 0
    .rept 2048
    .quad (i << 21) + PDE_LARGE
    .set i, i + 1
    .endr

    .bss
    .align 16
boot_stack:
    .skip 16384
    .globl boot_stack_top
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
