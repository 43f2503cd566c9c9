/*
 * Constants shared by the guests' C code, assembly and (by cross-checks) linker scripts.
 * Only macros: this file is included from .S files too.
 *
 * Each image is linked at GUEST_VIRT_BASE, which is also its PADDR_OFFSET, so the image
 * starts at pseudo-physical address 0 and VA = GUEST_VIRT_BASE + pfn * 4096 for the whole
 * initial mapping. The hypercall page is page GUEST_HYPERCALL_PAGE_INDEX of the image
 * (the legacy __xen_guest string names it by that index); the linker scripts assert it.
 */
#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

#if defined(GUEST_HOSTED_VIRT_BASE)
/* hosted.c runs the guest program in an ordinary process, at an address it can map. */
#define GUEST_VIRT_BASE GUEST_HOSTED_VIRT_BASE
#elif defined(__x86_64__)
#define GUEST_VIRT_BASE 0xffffffff80000000
#elif defined(__i386__)
#define GUEST_VIRT_BASE 0xc0000000
#else
#error "the example guests are x86 (i386 or x86-64) only"
#endif

#define GUEST_PAGE_SHIFT 12
#define GUEST_PAGE_SIZE 4096

/* The hypercall page is the second page of the image (the first holds the entry code). */
#define GUEST_HYPERCALL_PAGE_INDEX 0x1

/* The guest's own stack, in .bss. */
#define GUEST_STACK_SIZE 16384

/*
 * Hypercall numbers the assembly wrappers use (the .S files cannot include the C ABI
 * headers); guest.c checks each against <pvcore/abi/xen.h> at compile time.
 */
#define GUEST_HC_mmu_update 1
#define GUEST_HC_update_va_mapping 14
#define GUEST_HC_console_io 18
#define GUEST_HC_mmuext_op 26
#define GUEST_HC_sched_op 29
#define GUEST_HC_xen_version 17
#define GUEST_HC_set_trap_table 0
#define GUEST_HC_set_gdt 2
#define GUEST_HC_stack_switch 3
#define GUEST_HC_update_descriptor 10
#define GUEST_HC_iret 23
#define GUEST_HC_set_timer_op 15
#define GUEST_HC_callback_op 30
#define GUEST_HC_event_channel_op 32
#define GUEST_HC_grant_table_op 20
#define GUEST_HC_memory_op 12

/*
 * guest_fault_registers() loads register n (in the order of its `after` array) with
 * GUEST_REG_PATTERN + n before the access that faults; the handler's way out must give
 * every one of them back.
 */
#if defined(__x86_64__)
#define GUEST_REG_PATTERN 0x5eed00c0ffee0000
#else
#define GUEST_REG_PATTERN 0x5eed0000
#endif

/* Each stub of the hypercall page is 32 bytes long. */
#define GUEST_HC_STUB_SIZE 32

#endif /* GUEST_LAYOUT_H */
