/**
 * @file
 * @brief The vcpu_op hypercall's wire ABI (Xen's public vcpu.h and the x86 vCPU guest
 *        context): command numbers, the runstate, vcpu_info registration and the
 *        64-bit and 32-bit guest context given to #PVCORE_VCPUOP_initialise.
 *
 * Naming and layout rules are those of <pvcore/abi/xen.h>: Xen's names behind a
 * `PVCORE_` / `pvcore_` prefix, `_x86_32` and `_x86_64` versions built from fixed-width
 * types so that each has its guest's layout whatever the compiler's width. The call is
 * `vcpu_op(cmd, vcpuid, arg)` (#PVCORE_HYPERVISOR_vcpu_op); `arg` is a guest virtual
 * address.
 */
#ifndef PVCORE_ABI_VCPU_H
#define PVCORE_ABI_VCPU_H

#include <stdint.h>

#include <pvcore/abi/xen.h>

/**
 * @name vcpu_op commands (VCPUOP_*)
 * @{
 */
/** Give a vCPU that was never initialised its first context (struct pvcore_vcpu_guest_context_x86_64 or _x86_32). */
#define PVCORE_VCPUOP_initialise 0
/** Bring an initialised vCPU up (make it runnable). */
#define PVCORE_VCPUOP_up 1
/** Bring a vCPU down (make it not runnable). */
#define PVCORE_VCPUOP_down 2
/** 1 if the vCPU is up, 0 if it is down. */
#define PVCORE_VCPUOP_is_up 3
/** Copy the vCPU's runstate (struct pvcore_vcpu_runstate_info_x86_64 or _x86_32) to `arg`. */
#define PVCORE_VCPUOP_get_runstate_info 4
/** Register a guest area the runstate is copied to (struct pvcore_vcpu_register_runstate_memory_area). */
#define PVCORE_VCPUOP_register_runstate_memory_area 5
/** Set the periodic timer (struct pvcore_vcpu_set_periodic_timer). */
#define PVCORE_VCPUOP_set_periodic_timer 6
/** Stop the periodic timer (`arg` unused). */
#define PVCORE_VCPUOP_stop_periodic_timer 7
/** Set the one-shot timer (struct pvcore_vcpu_set_singleshot_timer). */
#define PVCORE_VCPUOP_set_singleshot_timer 8
/** Stop the one-shot timer (`arg` unused). */
#define PVCORE_VCPUOP_stop_singleshot_timer 9
/** Move the vCPU's vcpu_info into a page of the guest's own (struct pvcore_vcpu_register_vcpu_info). */
#define PVCORE_VCPUOP_register_vcpu_info 10
/** Send an NMI to the vCPU. */
#define PVCORE_VCPUOP_send_nmi 11
/** Physical CPU id of the vCPU (pinned hardware-domain vCPUs only). */
#define PVCORE_VCPUOP_get_physid 12
/** Register a guest area the vCPU's time info is copied to. */
#define PVCORE_VCPUOP_register_vcpu_time_memory_area 13
/** @} */

/**
 * @name Runstates (RUNSTATE_*)
 * @{
 */
/** Running on a physical CPU. */
#define PVCORE_RUNSTATE_running 0
/** Runnable, but not running. */
#define PVCORE_RUNSTATE_runnable 1
/** Blocked (idle): not runnable until an event arrives. */
#define PVCORE_RUNSTATE_blocked 2
/** Not runnable and not blocked: down, paused, or inside the hypervisor. */
#define PVCORE_RUNSTATE_offline 3
/** @} */

/** Bit of state_entry_time set while the hypervisor updates the guest's copy (#PVCORE_VMASST_TYPE_runstate_update_flag). */
#define PVCORE_XEN_RUNSTATE_UPDATE (1ULL << 63)

/** A 64-bit guest's runstate (48 bytes). The library's own runstate uses this layout too. */
struct pvcore_vcpu_runstate_info_x86_64 {
    int32_t state;             /**< One of PVCORE_RUNSTATE_*. */
    uint32_t _pad0;            /**< Padding (implicit in Xen); written as zero. */
    uint64_t state_entry_time; /**< When the current state was entered (system time, ns). */
    uint64_t time[4];          /**< Nanoseconds spent in each state. */
};
/** Typedef for struct pvcore_vcpu_runstate_info_x86_64. */
typedef struct pvcore_vcpu_runstate_info_x86_64 pvcore_vcpu_runstate_info_x86_64_t;

/**
 * A 32-bit guest's runstate (44 bytes): its 8-byte fields are only 4-byte aligned, so
 * each is two 32-bit halves, low half first.
 */
struct pvcore_vcpu_runstate_info_x86_32 {
    int32_t state;                /**< One of PVCORE_RUNSTATE_*. */
    uint32_t state_entry_time[2]; /**< When the current state was entered (ns): low, high. */
    uint32_t time[4][2];          /**< Nanoseconds spent in each state: low, high. */
};
/** Typedef for struct pvcore_vcpu_runstate_info_x86_32. */
typedef struct pvcore_vcpu_runstate_info_x86_32 pvcore_vcpu_runstate_info_x86_32_t;

/** #PVCORE_VCPUOP_register_runstate_memory_area's argument (8 bytes, both widths). */
struct pvcore_vcpu_register_runstate_memory_area {
    uint64_t addr; /**< Guest virtual address of the area (a 32-bit guest uses the low half); 0: none. */
};
/** Typedef for struct pvcore_vcpu_register_runstate_memory_area. */
typedef struct pvcore_vcpu_register_runstate_memory_area pvcore_vcpu_register_runstate_memory_area_t;

/** #PVCORE_VCPUOP_set_periodic_timer's argument. */
struct pvcore_vcpu_set_periodic_timer {
    uint64_t period_ns; /**< Period in nanoseconds. */
};
/** Typedef for struct pvcore_vcpu_set_periodic_timer. */
typedef struct pvcore_vcpu_set_periodic_timer pvcore_vcpu_set_periodic_timer_t;

/** #PVCORE_VCPUOP_set_singleshot_timer's argument (16 bytes; 12 for a 32-bit guest, which reads only the first 12). */
struct pvcore_vcpu_set_singleshot_timer {
    uint64_t timeout_abs_ns; /**< Absolute system time of the timeout (ns). */
    uint32_t flags;          /**< PVCORE_VCPU_SSHOTTMR_*. */
    uint32_t _pad0;          /**< Padding (implicit in Xen's 64-bit layout). */
};
/** Typedef for struct pvcore_vcpu_set_singleshot_timer. */
typedef struct pvcore_vcpu_set_singleshot_timer pvcore_vcpu_set_singleshot_timer_t;

/** Bit number of #PVCORE_VCPU_SSHOTTMR_future. */
#define PVCORE_VCPU_SSHOTTMR_future_BIT 0
/** Fail with -ETIME if the timeout is already in the past. */
#define PVCORE_VCPU_SSHOTTMR_future (1U << 0)

/** #PVCORE_VCPUOP_register_vcpu_info's argument (16 bytes, both widths). */
struct pvcore_vcpu_register_vcpu_info {
    uint64_t mfn;    /**< The guest frame to hold the vcpu_info (a PV guest's frames are machine frames). */
    uint32_t offset; /**< Byte offset in it; the 64-byte vcpu_info must fit in the page. */
    uint32_t rsvd;   /**< Unused. */
};
/** Typedef for struct pvcore_vcpu_register_vcpu_info. */
typedef struct pvcore_vcpu_register_vcpu_info pvcore_vcpu_register_vcpu_info_t;

/** A 64-bit guest's registers in a vCPU context (200 bytes; Xen's cpu_user_regs). */
struct pvcore_cpu_user_regs_x86_64 {
    uint64_t r15;              /**< r15. */
    uint64_t r14;              /**< r14. */
    uint64_t r13;              /**< r13. */
    uint64_t r12;              /**< r12. */
    uint64_t rbp;              /**< rbp. */
    uint64_t rbx;              /**< rbx. */
    uint64_t r11;              /**< r11. */
    uint64_t r10;              /**< r10. */
    uint64_t r9;               /**< r9. */
    uint64_t r8;               /**< r8. */
    uint64_t rax;              /**< rax. */
    uint64_t rcx;              /**< rcx. */
    uint64_t rdx;              /**< rdx. */
    uint64_t rsi;              /**< rsi. */
    uint64_t rdi;              /**< rdi. */
    uint32_t error_code;       /**< Hypervisor-private; ignored. */
    uint32_t entry_vector;     /**< Hypervisor-private; ignored. */
    uint64_t rip;              /**< Instruction pointer; must be canonical. */
    uint16_t cs;               /**< Code selector (its RPL is raised to 3). */
    uint16_t _pad0[1];         /**< Padding. */
    uint8_t saved_upcall_mask; /**< Hypervisor-private; ignored. */
    uint8_t _pad1[3];          /**< Padding. */
    uint64_t rflags;           /**< Flags (IOPL becomes the virtual IOPL; IF is forced on). */
    uint64_t rsp;              /**< Stack pointer; must be canonical. */
    uint16_t ss;               /**< Stack selector (its RPL is raised to 3). */
    uint16_t _pad2[3];         /**< Padding. */
    uint16_t es;               /**< es. */
    uint16_t _pad3[3];         /**< Padding. */
    uint16_t ds;               /**< ds. */
    uint16_t _pad4[3];         /**< Padding. */
    uint16_t fs;               /**< fs (non-null: fs_base is taken as 0). */
    uint16_t _pad5[3];         /**< Padding. */
    uint16_t gs;               /**< gs (non-null: gs_base_user is taken as 0). */
    uint16_t _pad6[3];         /**< Padding. */
};
/** Typedef for struct pvcore_cpu_user_regs_x86_64. */
typedef struct pvcore_cpu_user_regs_x86_64 pvcore_cpu_user_regs_x86_64_t;

/** A 32-bit guest's registers in a vCPU context (68 bytes). */
struct pvcore_cpu_user_regs_x86_32 {
    uint32_t ebx;              /**< ebx. */
    uint32_t ecx;              /**< ecx. */
    uint32_t edx;              /**< edx. */
    uint32_t esi;              /**< esi. */
    uint32_t edi;              /**< edi. */
    uint32_t ebp;              /**< ebp. */
    uint32_t eax;              /**< eax. */
    uint16_t error_code;       /**< Hypervisor-private; ignored. */
    uint16_t entry_vector;     /**< Hypervisor-private; ignored. */
    uint32_t eip;              /**< Instruction pointer. */
    uint16_t cs;               /**< Code selector (its RPL is raised to 1). */
    uint8_t saved_upcall_mask; /**< Hypervisor-private; ignored. */
    uint8_t _pad0;             /**< Padding. */
    uint32_t eflags;           /**< Flags (IOPL becomes the virtual IOPL; IF is forced on). */
    uint32_t esp;              /**< Stack pointer. */
    uint16_t ss;               /**< Stack selector (its RPL is raised to 1). */
    uint16_t _pad1;            /**< Padding. */
    uint16_t es;               /**< es. */
    uint16_t _pad2;            /**< Padding. */
    uint16_t ds;               /**< ds. */
    uint16_t _pad3;            /**< Padding. */
    uint16_t fs;               /**< fs. */
    uint16_t _pad4;            /**< Padding. */
    uint16_t gs;               /**< gs. */
    uint16_t _pad5;            /**< Padding. */
};
/** Typedef for struct pvcore_cpu_user_regs_x86_32. */
typedef struct pvcore_cpu_user_regs_x86_32 pvcore_cpu_user_regs_x86_32_t;

/** FPU and SSE state in FXSAVE format (512 bytes). */
struct pvcore_vcpu_fpu_ctxt {
    uint8_t x[512]; /**< The FXSAVE image. */
};

/**
 * A 64-bit guest's vCPU context (5168 bytes; Xen's vcpu_guest_context). Control
 * registers hold CR3 values in Xen's format (#PVCORE_XEN_CR3_TO_PFN_X86_64); ctrlreg[1]
 * is the user-mode root.
 */
struct pvcore_vcpu_guest_context_x86_64 {
    struct pvcore_vcpu_fpu_ctxt fpu_ctxt;          /**< FPU state (valid with #PVCORE_VGCF_i387_valid). */
    uint64_t flags;                                /**< PVCORE_VGCF_*. */
    struct pvcore_cpu_user_regs_x86_64 user_regs;  /**< Registers. */
    struct pvcore_trap_info_x86_64 trap_ctxt[256]; /**< Virtual IDT, indexed by vector. */
    uint64_t ldt_base;                             /**< LDT linear address (page aligned). */
    uint64_t ldt_ents;                             /**< LDT entries (at most 8192). */
    uint64_t gdt_frames[16];                       /**< GDT frames. */
    uint64_t gdt_ents;                             /**< GDT entries. */
    uint64_t kernel_ss;                            /**< Kernel stack selector (stack_switch). */
    uint64_t kernel_sp;                            /**< Kernel stack pointer (stack_switch). */
    uint64_t ctrlreg[8];                           /**< CR0-CR7. */
    uint64_t debugreg[8];                          /**< DR0-DR7. */
    uint64_t event_callback_eip;                   /**< Event callback. */
    uint64_t failsafe_callback_eip;                /**< Failsafe callback. */
    uint64_t syscall_callback_eip;                 /**< syscall callback. */
    uint64_t vm_assist;                            /**< PVCORE_VMASST_TYPE_* bitmap. */
    uint64_t fs_base;                              /**< FS base. */
    uint64_t gs_base_kernel;                       /**< GS base in kernel mode. */
    uint64_t gs_base_user;                         /**< GS base in user mode. */
};
/** Typedef for struct pvcore_vcpu_guest_context_x86_64. */
typedef struct pvcore_vcpu_guest_context_x86_64 pvcore_vcpu_guest_context_x86_64_t;

/** A 32-bit guest's vCPU context (2800 bytes). CR3 values use #PVCORE_XEN_CR3_TO_PFN_X86_32. */
struct pvcore_vcpu_guest_context_x86_32 {
    struct pvcore_vcpu_fpu_ctxt fpu_ctxt;          /**< FPU state (valid with #PVCORE_VGCF_i387_valid). */
    uint32_t flags;                                /**< PVCORE_VGCF_*. */
    struct pvcore_cpu_user_regs_x86_32 user_regs;  /**< Registers. */
    struct pvcore_trap_info_x86_32 trap_ctxt[256]; /**< Virtual IDT, indexed by vector. */
    uint32_t ldt_base;                             /**< LDT linear address (page aligned). */
    uint32_t ldt_ents;                             /**< LDT entries (at most 8192). */
    uint32_t gdt_frames[16];                       /**< GDT frames. */
    uint32_t gdt_ents;                             /**< GDT entries. */
    uint32_t kernel_ss;                            /**< Kernel stack selector (stack_switch). */
    uint32_t kernel_sp;                            /**< Kernel stack pointer (stack_switch). */
    uint32_t ctrlreg[8];                           /**< CR0-CR7. */
    uint32_t debugreg[8];                          /**< DR0-DR7. */
    uint32_t event_callback_cs;                    /**< Event callback selector. */
    uint32_t event_callback_eip;                   /**< Event callback offset. */
    uint32_t failsafe_callback_cs;                 /**< Failsafe callback selector. */
    uint32_t failsafe_callback_eip;                /**< Failsafe callback offset. */
    uint32_t vm_assist;                            /**< PVCORE_VMASST_TYPE_* bitmap. */
};
/** Typedef for struct pvcore_vcpu_guest_context_x86_32. */
typedef struct pvcore_vcpu_guest_context_x86_32 pvcore_vcpu_guest_context_x86_32_t;

/** The frame number in a 64-bit guest's CR3 value (Xen's xen_cr3_to_pfn). */
#define PVCORE_XEN_CR3_TO_PFN_X86_64(cr3) ((uint64_t)(cr3) >> 12)
/** A 64-bit guest's CR3 value for frame `pfn` (Xen's xen_pfn_to_cr3). */
#define PVCORE_XEN_PFN_TO_CR3_X86_64(pfn) ((uint64_t)(pfn) << 12)
/** The frame number in a 32-bit guest's CR3 value: bits 12-31, then bits 0-11 as bits 20-31 (Xen's folded format). */
#define PVCORE_XEN_CR3_TO_PFN_X86_32(cr3) \
    ((uint32_t)(((uint32_t)(cr3) >> 12) | ((uint32_t)(cr3) << 20)))
/** A 32-bit guest's CR3 value for frame `pfn` (Xen's folded format). */
#define PVCORE_XEN_PFN_TO_CR3_X86_32(pfn) \
    ((uint32_t)(((uint32_t)(pfn) << 12) | ((uint32_t)(pfn) >> 20)))

#endif /* PVCORE_ABI_VCPU_H */
