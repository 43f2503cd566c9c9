/**
 * @file
 * @brief The core of the Xen x86 PV wire ABI: hypercall numbers, domain ids, page-table
 *        update requests, the start-of-day and shared pages, traps, callbacks, scheduler
 *        and version operations.
 *
 * Everything here is an exact, byte-for-byte description of data that crosses the
 * boundary between a paravirtualized guest and the hypervisor, and of the numbers that
 * select operations. The values and layouts equal those of Xen's public interface
 * (checked by the `abi` tests against the installed Xen headers); the names are Xen's
 * behind a `PVCORE_` / `pvcore_` prefix, so that both sets of headers can be used in one
 * translation unit.
 *
 * @par Naming rules
 * - A constant is `PVCORE_` followed by Xen's name. Xen's hypercall numbers carry two
 *   leading underscores (`__HYPERVISOR_mmu_update`); here they are dropped
 *   (#PVCORE_HYPERVISOR_mmu_update).
 * - Xen writes a bit number with a leading underscore next to its mask (`_GTF_reading`
 *   next to `PVCORE_GTF_reading`); here the bit number has a `_BIT` suffix instead.
 * - A structure is `struct pvcore_<xen name>` with a typedef `pvcore_<xen name>_t`.
 * - Where the guest's word size changes a layout or a value, there are two versions,
 *   suffixed `_x86_32` (32-bit PV guests, also called "compat" guests when they run on a
 *   64-bit hypervisor) and `_x86_64` (64-bit PV guests). They are built only from
 *   fixed-width types and explicit padding, so each has its guest's layout whether this
 *   header is compiled for i386 or x86-64: a 64-bit hypervisor serves both kinds of
 *   guest. Unsuffixed aliases for the compiler's own width (`pvcore_start_info_t`, ...)
 *   exist for guest-side code when compiling for x86.
 * - Explicit padding members (`_pad0`, `_pad1`, ...) appear only where the 64-bit layout
 *   needs them to stay the same under an i386 compiler; Xen's headers leave that padding
 *   implicit. A hypervisor must write padding as zero when it copies a structure back
 *   to a guest, whether the padding is explicit or implicit, so that no host data leaks.
 * - Copy a structure out of guest memory into a local variable (and validate the copy)
 *   rather than accessing it through a cast pointer: the guest may change it meanwhile,
 *   and a 32-bit guest aligns 8-byte fields to 4 bytes only.
 *
 * @par Hypercall calling convention (x86)
 * A guest calls hypercall number `n` by calling offset `n * 32` of its hypercall page.
 * Arguments travel in `%rdi, %rsi, %rdx, %r10, %r8` (64-bit guests) or
 * `%ebx, %ecx, %edx, %esi, %edi` (32-bit guests); the result comes back in `%rax` /
 * `%eax`: zero or a count on success, a negated `PVCORE_E*` value (see
 * <pvcore/abi/errno.h>) on failure. Guest pointers ("guest handles") are guest virtual
 * addresses in the caller's current address space; they are 4 bytes wide in a 32-bit
 * guest's structures and 8 bytes wide in a 64-bit guest's.
 */
#ifndef PVCORE_ABI_XEN_H
#define PVCORE_ABI_XEN_H

#include <stdint.h>

/* ========================================================================================
 * Basic types
 * ===================================================================================== */

/**
 * @defgroup pvcore_abi_types Basic ABI types
 * @brief Integer types whose width is part of the ABI.
 * @{
 */

/**
 * A domain identifier. Ordinary domains are numbered from 0 (the initial domain) up to
 * #PVCORE_DOMID_FIRST_RESERVED - 1; the values from there up to #PVCORE_DOMID_MASK name
 * special pseudo-domains. Bit 15 is never part of a valid id.
 */
typedef uint16_t pvcore_domid_t;

/**
 * A 32-bit guest's `xen_ulong_t`: the natural register width, used for bitmaps in the
 * shared-info page and for multicall arguments.
 */
typedef uint32_t pvcore_xen_ulong_x86_32_t;
/** A 64-bit guest's `xen_ulong_t` (see #pvcore_xen_ulong_x86_32_t). */
typedef uint64_t pvcore_xen_ulong_x86_64_t;

/**
 * A 32-bit guest's `xen_pfn_t`: a frame number as a 32-bit guest passes it (a machine
 * frame for a PV guest, a guest frame for a translated one). A 32-bit guest cannot name
 * a frame at or above 2^32.
 */
typedef uint32_t pvcore_xen_pfn_x86_32_t;
/** A 64-bit guest's `xen_pfn_t` (see #pvcore_xen_pfn_x86_32_t). */
typedef uint64_t pvcore_xen_pfn_x86_64_t;

/**
 * An opaque 128-bit domain handle (by convention the domain's UUID), set by the
 * toolstack and returned by #PVCORE_XENVER_guest_handle.
 */
typedef uint8_t pvcore_xen_domain_handle_t[16];

/** @} */

/* ========================================================================================
 * Domain identifiers
 * ===================================================================================== */

/**
 * @defgroup pvcore_abi_domid Reserved domain identifiers
 * @brief Special values of #pvcore_domid_t. None of them names an ordinary domain.
 * @{
 */

/** The lowest reserved id; every id at or above it is special. */
#define PVCORE_DOMID_FIRST_RESERVED 0x7FF0U
/**
 * "The calling domain". Accepted wherever an operation takes a domain id that may be the
 * caller. Note that the caller's own numeric id is not always equivalent: as the foreign
 * domain of `mmu_update` it is rejected, and only DOMID_SELF means "self".
 */
#define PVCORE_DOMID_SELF 0x7FF0U
/**
 * The owner of I/O memory. As the foreign domain of `mmu_update` or
 * `update_va_mapping_otherdomain` it restricts the request to mapping I/O (non-RAM)
 * frames, with the caller's I/O privileges.
 */
#define PVCORE_DOMID_IO 0x7FF1U
/**
 * The hypervisor itself, as the owner of frames it shares read-only (such as the
 * machine-to-physical table). Only a privileged caller may name it as a foreign domain.
 */
#define PVCORE_DOMID_XEN 0x7FF2U
/** The owner of pages shared copy-on-write between domains (memory sharing). */
#define PVCORE_DOMID_COW 0x7FF3U
/** "No domain": the owner of pages whose owner is unknown, and an invalid-id marker. */
#define PVCORE_DOMID_INVALID 0x7FF4U
/**
 * "Any domain", used where an operation accepts a peer that is not yet known. Newer Xen
 * releases define it; some installed Xen headers (4.17) do not.
 */
#define PVCORE_DOMID_ANY 0x7FF5U
/** The idle domain, which owns the idle vCPUs of the physical CPUs. */
#define PVCORE_DOMID_IDLE 0x7FFFU
/** Mask of the bits that can be set in a valid domain id (bit 15 never is). */
#define PVCORE_DOMID_MASK 0x7FFFU

/** @} */

/* ========================================================================================
 * Hypercall numbers
 * ===================================================================================== */

/**
 * @defgroup pvcore_abi_hypercalls Hypercall numbers
 * @brief The number a guest passes to select a hypercall (its stub is at offset
 *        `number * 32` of the hypercall page). Unknown numbers fail with -ENOSYS.
 * @{
 */

/** Install entries of the guest's virtual IDT from an array of trap_info. */
#define PVCORE_HYPERVISOR_set_trap_table 0
/** Apply a batch of page-table or machine-to-physical updates (pvcore_mmu_update_t). */
#define PVCORE_HYPERVISOR_mmu_update 1
/** Install a new GDT given as a list of frames and an entry count. */
#define PVCORE_HYPERVISOR_set_gdt 2
/** Set the stack (segment and pointer) used when entering the guest kernel. */
#define PVCORE_HYPERVISOR_stack_switch 3
/** Register the event and failsafe callbacks (the older form of callback_op). */
#define PVCORE_HYPERVISOR_set_callbacks 4
/** Set (argument non-zero) or clear the virtual CR0.TS flag. */
#define PVCORE_HYPERVISOR_fpu_taskswitch 5
/** The original scheduler operation, taking its argument by value (yield, block, shutdown). */
#define PVCORE_HYPERVISOR_sched_op_compat 6
/** Platform management for the control domain (formerly dom0_op). */
#define PVCORE_HYPERVISOR_platform_op 7
/** Write a virtual debug register. */
#define PVCORE_HYPERVISOR_set_debugreg 8
/** Read a virtual debug register. */
#define PVCORE_HYPERVISOR_get_debugreg 9
/** Validate and write one GDT or LDT descriptor, addressed by machine address. */
#define PVCORE_HYPERVISOR_update_descriptor 10
/** Memory reservation and physical-map operations. */
#define PVCORE_HYPERVISOR_memory_op 12
/** Execute a batch of hypercalls (struct pvcore_multicall_entry_x86_64 and _x86_32). */
#define PVCORE_HYPERVISOR_multicall 13
/** Validate and write the L1 entry mapping one virtual address, then flush as asked (UVMF_*). */
#define PVCORE_HYPERVISOR_update_va_mapping 14
/** Arm the vCPU's single-shot timer for an absolute system time in nanoseconds (0 disarms). */
#define PVCORE_HYPERVISOR_set_timer_op 15
/** The original event-channel interface, taking one struct pvcore_evtchn_op. */
#define PVCORE_HYPERVISOR_event_channel_op_compat 16
/** Query version, features and build information (XENVER_*). */
#define PVCORE_HYPERVISOR_xen_version 17
/** Read or write the hypervisor's own console (CONSOLEIO_*). */
#define PVCORE_HYPERVISOR_console_io 18
/** The original physical-device interface, taking a command inside its argument. */
#define PVCORE_HYPERVISOR_physdev_op_compat 19
/** Grant-table operations (GNTTABOP_*). */
#define PVCORE_HYPERVISOR_grant_table_op 20
/** Enable or disable a virtual-machine assist (VMASST_CMD_* with VMASST_TYPE_*). */
#define PVCORE_HYPERVISOR_vm_assist 21
/** As update_va_mapping, with the mapped frame owned by a named foreign domain. */
#define PVCORE_HYPERVISOR_update_va_mapping_otherdomain 22
/** Return from the guest kernel using a frame on its stack (x86 only). */
#define PVCORE_HYPERVISOR_iret 23
/** Per-vCPU operations (bring up, timers, registering vcpu_info and runstate areas). */
#define PVCORE_HYPERVISOR_vcpu_op 24
/** Set the FS or GS base, or the user GS selector (64-bit guests only; SEGBASE_*). */
#define PVCORE_HYPERVISOR_set_segment_base 25
/** Apply a batch of extended MMU operations (struct pvcore_mmuext_op_x86_64 and _x86_32). */
#define PVCORE_HYPERVISOR_mmuext_op 26
/** Security-module (XSM/Flask) operations. */
#define PVCORE_HYPERVISOR_xsm_op 27
/** Register an NMI callback or control NMI delivery. */
#define PVCORE_HYPERVISOR_nmi_op 28
/** Scheduler operations with a structure argument (SCHEDOP_*). */
#define PVCORE_HYPERVISOR_sched_op 29
/** Register or unregister guest callbacks (CALLBACKOP_*). */
#define PVCORE_HYPERVISOR_callback_op 30
/** Profiling (oprofile) operations. */
#define PVCORE_HYPERVISOR_xenoprof_op 31
/** Event-channel operations (EVTCHNOP_*, see <pvcore/abi/event_channel.h>). */
#define PVCORE_HYPERVISOR_event_channel_op 32
/** Physical-device operations (interrupts, I/O ports, PCI). */
#define PVCORE_HYPERVISOR_physdev_op 33
/** Operations for and about fully virtualized (HVM) guests. */
#define PVCORE_HYPERVISOR_hvm_op 34
/** System-wide control operations for the toolstack. */
#define PVCORE_HYPERVISOR_sysctl 35
/** Per-domain control operations for the toolstack. */
#define PVCORE_HYPERVISOR_domctl 36
/** Load and execute a kexec image. */
#define PVCORE_HYPERVISOR_kexec_op 37
/** Transcendent memory; the feature is removed and the number stays reserved. */
#define PVCORE_HYPERVISOR_tmem_op 38
/** Argo inter-domain messaging. */
#define PVCORE_HYPERVISOR_argo_op 39
/** Virtual performance-monitoring unit. */
#define PVCORE_HYPERVISOR_xenpmu_op 40
/** Device-model operations on a target domain. */
#define PVCORE_HYPERVISOR_dm_op 41
/** Hypervisor file-system operations. */
#define PVCORE_HYPERVISOR_hypfs_op 42
/** First architecture-specific hypercall (on x86: the machine-check interface). */
#define PVCORE_HYPERVISOR_arch_0 48
/** Second architecture-specific hypercall. */
#define PVCORE_HYPERVISOR_arch_1 49
/** Third architecture-specific hypercall. */
#define PVCORE_HYPERVISOR_arch_2 50
/** Fourth architecture-specific hypercall. */
#define PVCORE_HYPERVISOR_arch_3 51
/** Fifth architecture-specific hypercall. */
#define PVCORE_HYPERVISOR_arch_4 52
/** Sixth architecture-specific hypercall. */
#define PVCORE_HYPERVISOR_arch_5 53
/** Seventh architecture-specific hypercall. */
#define PVCORE_HYPERVISOR_arch_6 54
/** Eighth architecture-specific hypercall. */
#define PVCORE_HYPERVISOR_arch_7 55

/** @} */

/* ========================================================================================
 * vm_assist
 * ===================================================================================== */

/**
 * @defgroup pvcore_abi_vmassist Virtual-machine assists
 * @brief `vm_assist(cmd, type)`: switch an optional hypervisor behaviour on or off. A
 *        guest's enabled assists form a bitmap indexed by type.
 * @{
 */

/** Command: enable the assist. */
#define PVCORE_VMASST_CMD_enable 0
/** Command: disable the assist. */
#define PVCORE_VMASST_CMD_disable 1

/** 32-bit guests: emulate full 4 GiB segment limits (meaningful on 32-bit hypervisors). */
#define PVCORE_VMASST_TYPE_4gb_segments 0
/** 32-bit guests: raise trap 15 whenever the 4 GiB-segment emulation is used. */
#define PVCORE_VMASST_TYPE_4gb_segments_notify 1
/**
 * Writable page tables: the guest may write its (read-only mapped) L1 page-table entries
 * directly; the hypervisor traps each write and validates it as an `mmu_update`.
 * Higher-level entries must still be changed by hypercall.
 */
#define PVCORE_VMASST_TYPE_writable_pagetables 2
/**
 * PAE (32-bit) guests: the top-level page directory may live above 4 GiB; CR3 values
 * then carry the frame number in the folded format of 32-bit guests.
 */
#define PVCORE_VMASST_TYPE_pae_extended_cr3 3
/**
 * Architectural I/O privilege: the virtual IOPL follows what the guest puts in EFLAGS on
 * `iret`, is reported in exception frames, and the guest kernel counts as ring 0 when
 * the IOPL is checked.
 */
#define PVCORE_VMASST_TYPE_architectural_iopl 4
/** All guests: set the update flag in a registered runstate area while it is rewritten. */
#define PVCORE_VMASST_TYPE_runstate_update_flag 5
/**
 * 64-bit guests: keep the read-only machine-to-physical table out of user mode. Without
 * it, new L4 tables lack the M2P slot until used as a kernel root; with it, the slot is
 * present from the start and removed when the table is used as a user root.
 */
#define PVCORE_VMASST_TYPE_m2p_strict 32

/** @} */

/* ========================================================================================
 * mmu_update
 * ===================================================================================== */

/**
 * @defgroup pvcore_abi_mmu_update mmu_update
 * @brief `mmu_update(reqs[], count, *done, foreigndom)`: a batch of checked writes to
 *        page-table entries or to the machine-to-physical table.
 *
 * Each request's `ptr` carries the sub-command in its low bits and an address in the
 * rest; `val` is the value to write. `foreigndom` bits 15:0 name the domain that must
 * own the frames being mapped (DOMID_SELF for the caller); bits 31:16, if non-zero, hold
 * one more than the id of the domain that owns the page tables (zero means the caller).
 *
 * Requests are applied in order and the batch stops at the first failing one, whose
 * error is returned; the requests before it stay applied. `*done` (if the pointer is
 * non-NULL) is increased by the number completed. A batch that is preempted continues
 * later with `count` reduced by the completed requests and #PVCORE_MMU_UPDATE_PREEMPTED
 * set in it.
 * @{
 */

/**
 * Write a page-table entry. `ptr` (command bits cleared) is the machine address of the
 * 8-byte entry; `val` is validated as an entry of the table's level and its references
 * are taken before the old entry's are dropped.
 */
#define PVCORE_MMU_NORMAL_PT_UPDATE 0
/**
 * Set the machine-to-physical entry of a frame. `ptr` is any machine address inside
 * the frame (which must belong to the foreign domain), `val` the guest frame number.
 */
#define PVCORE_MMU_MACHPHYS_UPDATE 1
/**
 * As #PVCORE_MMU_NORMAL_PT_UPDATE, but the Accessed and Dirty bits already set in the
 * old entry are kept (ORed into `val`) atomically.
 */
#define PVCORE_MMU_PT_UPDATE_PRESERVE_AD 2
/**
 * As #PVCORE_MMU_NORMAL_PT_UPDATE, but the frame in `val` is used as given, never
 * translated through the foreign domain's physical-to-machine map.
 */
#define PVCORE_MMU_PT_UPDATE_NO_TRANSLATE 3
/**
 * Set in a batch's `count` argument when the hypervisor re-issues a preempted
 * `mmu_update` or `mmuext_op` as a continuation; the low 31 bits hold the remaining
 * count. Xen keeps this value out of its public headers, but a guest can observe it in
 * the re-executed hypercall's arguments.
 */
#define PVCORE_MMU_UPDATE_PREEMPTED 0x80000000U
/**
 * Mask that extracts the sub-command from `ptr`. Page-table entries are 8-byte aligned,
 * so Xen decodes the command from the low three bits; values 4 to 7 fail with -ENOSYS.
 * (Xen's header documents only bits 1:0.)
 */
#define PVCORE_MMU_UPDATE_CMD_MASK 7U

/**
 * One request of an `mmu_update` batch (Xen's struct mmu_update). The same 16-byte layout
 * for both guest widths. Named by its typedef: its tag is not `pvcore_mmu_update`, which
 * is the function that applies a batch of them (a C++ consumer would see the one hide
 * the other).
 */
typedef struct pvcore_mmu_update_s {
    uint64_t ptr; /**< Address of the target (see the commands) ORed with the sub-command in bits 2:0. */
    uint64_t val; /**< The new entry, or for #PVCORE_MMU_MACHPHYS_UPDATE the guest frame number. */
} pvcore_mmu_update_t;

/** @} */

/* ========================================================================================
 * mmuext_op
 * ===================================================================================== */

/**
 * @defgroup pvcore_abi_mmuext mmuext_op
 * @brief `mmuext_op(ops[], count, *done, foreigndom)`: a batch of extended MMU commands.
 *
 * Batch semantics, `*done` and preemption are those of `mmu_update`. `foreigndom` (a
 * plain domain id here) names the owner of the frames being pinned; most other commands
 * require it to be the caller. A frame argument is a machine frame number for a PV
 * caller.
 * @{
 */

/** Pin `arg1.mfn` as a validated L1 page table: take a type reference that keeps it one. */
#define PVCORE_MMUEXT_PIN_L1_TABLE 0
/** Pin `arg1.mfn` as an L2 table (validating it, and what it references, first). */
#define PVCORE_MMUEXT_PIN_L2_TABLE 1
/** Pin `arg1.mfn` as an L3 table (the root table of a 32-bit PAE guest). */
#define PVCORE_MMUEXT_PIN_L3_TABLE 2
/** Pin `arg1.mfn` as an L4 table (64-bit guests; for a 32-bit guest it does nothing). */
#define PVCORE_MMUEXT_PIN_L4_TABLE 3
/** Drop the pin (type and general reference) of `arg1.mfn`, which must be pinned. */
#define PVCORE_MMUEXT_UNPIN_TABLE 4
/** Make `arg1.mfn` the current root page table (the kernel one for a 64-bit guest). */
#define PVCORE_MMUEXT_NEW_BASEPTR 5
/** Flush the calling vCPU's TLB. */
#define PVCORE_MMUEXT_TLB_FLUSH_LOCAL 6
/** Flush the address `arg1.linear_addr` from the calling vCPU's TLB. */
#define PVCORE_MMUEXT_INVLPG_LOCAL 7
/** Flush the TLBs of the vCPUs in the bitmap at guest address `arg2.vcpumask`. */
#define PVCORE_MMUEXT_TLB_FLUSH_MULTI 8
/** Flush `arg1.linear_addr` on the vCPUs in the bitmap at `arg2.vcpumask`. */
#define PVCORE_MMUEXT_INVLPG_MULTI 9
/** Flush the TLBs of all the domain's vCPUs. */
#define PVCORE_MMUEXT_TLB_FLUSH_ALL 10
/** Flush `arg1.linear_addr` on all the domain's vCPUs. */
#define PVCORE_MMUEXT_INVLPG_ALL 11
/** Write back and invalidate the caches of the CPU (needs I/O privilege, else -EACCES). */
#define PVCORE_MMUEXT_FLUSH_CACHE 12
/**
 * Set the LDT: base `arg1.linear_addr` (page aligned, guest range) and `arg2.nr_ents`
 * descriptors (at most 8192; 0 disables the LDT). The pages are validated lazily.
 */
#define PVCORE_MMUEXT_SET_LDT 13
/** Set the root page table used in user mode (64-bit guests; `arg1.mfn` 0 clears it). */
#define PVCORE_MMUEXT_NEW_USER_BASEPTR 15
/** Zero the frame `arg1.mfn`, which must be able to take a writable type. */
#define PVCORE_MMUEXT_CLEAR_PAGE 16
/** Copy frame `arg2.src_mfn` into frame `arg1.mfn` (the destination must be writable). */
#define PVCORE_MMUEXT_COPY_PAGE 17
/** As #PVCORE_MMUEXT_FLUSH_CACHE, on every CPU of the system. */
#define PVCORE_MMUEXT_FLUSH_CACHE_GLOBAL 18
/** Mark `arg1.mfn` as the head of a superpage. PV superpages are removed: -EOPNOTSUPP. */
#define PVCORE_MMUEXT_MARK_SUPER 19
/** Undo #PVCORE_MMUEXT_MARK_SUPER. PV superpages are removed: -EOPNOTSUPP. */
#define PVCORE_MMUEXT_UNMARK_SUPER 20

/** First argument of a 32-bit guest's mmuext_op; which member applies depends on `cmd`. */
union pvcore_mmuext_op_arg1_x86_32 {
    pvcore_xen_pfn_x86_32_t mfn; /**< Frame: pin/unpin, (user) base pointer, clear/copy destination, (un)mark super. */
    uint32_t linear_addr;        /**< Guest virtual address: INVLPG_LOCAL/MULTI/ALL, SET_LDT base. */
};
/** Typedef for union pvcore_mmuext_op_arg1_x86_32. */
typedef union pvcore_mmuext_op_arg1_x86_32 pvcore_mmuext_op_arg1_x86_32_t;

/** Second argument of a 32-bit guest's mmuext_op; which member applies depends on `cmd`. */
union pvcore_mmuext_op_arg2_x86_32 {
    uint32_t nr_ents;                /**< SET_LDT: number of 8-byte descriptors. */
    uint32_t vcpumask;               /**< TLB_FLUSH_MULTI, INVLPG_MULTI: guest address of a vCPU bitmap. */
    pvcore_xen_pfn_x86_32_t src_mfn; /**< COPY_PAGE: source frame. */
};
/** Typedef for union pvcore_mmuext_op_arg2_x86_32. */
typedef union pvcore_mmuext_op_arg2_x86_32 pvcore_mmuext_op_arg2_x86_32_t;

/** One command of a 32-bit guest's `mmuext_op` batch (12 bytes). */
struct pvcore_mmuext_op_x86_32 {
    uint32_t cmd;                            /**< MMUEXT_* command. */
    union pvcore_mmuext_op_arg1_x86_32 arg1; /**< First argument. */
    union pvcore_mmuext_op_arg2_x86_32 arg2; /**< Second argument. */
};
/** Typedef for struct pvcore_mmuext_op_x86_32. */
typedef struct pvcore_mmuext_op_x86_32 pvcore_mmuext_op_x86_32_t;

/** First argument of a 64-bit guest's mmuext_op; which member applies depends on `cmd`. */
union pvcore_mmuext_op_arg1_x86_64 {
    pvcore_xen_pfn_x86_64_t mfn; /**< Frame: pin/unpin, (user) base pointer, clear/copy destination, (un)mark super. */
    uint64_t linear_addr;        /**< Guest virtual address: INVLPG_LOCAL/MULTI/ALL, SET_LDT base. */
};
/** Typedef for union pvcore_mmuext_op_arg1_x86_64. */
typedef union pvcore_mmuext_op_arg1_x86_64 pvcore_mmuext_op_arg1_x86_64_t;

/** Second argument of a 64-bit guest's mmuext_op; which member applies depends on `cmd`. */
union pvcore_mmuext_op_arg2_x86_64 {
    uint32_t nr_ents;                /**< SET_LDT: number of 8-byte descriptors (low 4 bytes). */
    uint64_t vcpumask;               /**< TLB_FLUSH_MULTI, INVLPG_MULTI: guest address of a vCPU bitmap. */
    pvcore_xen_pfn_x86_64_t src_mfn; /**< COPY_PAGE: source frame. */
};
/** Typedef for union pvcore_mmuext_op_arg2_x86_64. */
typedef union pvcore_mmuext_op_arg2_x86_64 pvcore_mmuext_op_arg2_x86_64_t;

/** One command of a 64-bit guest's `mmuext_op` batch (24 bytes). */
struct pvcore_mmuext_op_x86_64 {
    uint32_t cmd;                            /**< MMUEXT_* command. */
    uint32_t _pad0;                          /**< Padding (implicit in Xen); ignored. */
    union pvcore_mmuext_op_arg1_x86_64 arg1; /**< First argument, at offset 8. */
    union pvcore_mmuext_op_arg2_x86_64 arg2; /**< Second argument, at offset 16. */
};
/** Typedef for struct pvcore_mmuext_op_x86_64. */
typedef struct pvcore_mmuext_op_x86_64 pvcore_mmuext_op_x86_64_t;

/** @} */

/* ========================================================================================
 * update_va_mapping flags
 * ===================================================================================== */

/**
 * @defgroup pvcore_abi_uvmf update_va_mapping flags
 * @brief The `flags` argument of `update_va_mapping`: a flush type in bits 1:0 ORed with
 *        a scope in the remaining bits. The scope is #PVCORE_UVMF_LOCAL (0),
 *        #PVCORE_UVMF_ALL, or otherwise the guest address of a vCPU bitmap
 *        (#PVCORE_UVMF_MULTI ORed with the address, which must therefore be 4-byte
 *        aligned). No flush happens if the update fails.
 * @{
 */

/** Flush type: no flush. */
#define PVCORE_UVMF_NONE 0U
/** Flush type: flush the entire TLB(s) in scope. */
#define PVCORE_UVMF_TLB_FLUSH 1U
/** Flush type: flush only the updated virtual address. */
#define PVCORE_UVMF_INVLPG 2U
/** Mask of the flush-type bits. */
#define PVCORE_UVMF_FLUSHTYPE_MASK 3U
/** Scope: the vCPUs in the bitmap whose guest address is ORed into the flags. */
#define PVCORE_UVMF_MULTI 0U
/** Scope: the calling vCPU only (a MULTI with a null bitmap pointer). */
#define PVCORE_UVMF_LOCAL 0U
/** Scope: every vCPU of the domain. */
#define PVCORE_UVMF_ALL 4U

/** @} */

/* ========================================================================================
 * console_io
 * ===================================================================================== */

/**
 * @defgroup pvcore_abi_consoleio console_io
 * @brief `console_io(cmd, count, buffer)`: the hypervisor's own (emergency) console.
 * @{
 */

/**
 * Write `count` bytes from the guest buffer to the hypervisor console. The hardware
 * domain's bytes are written as they are; other domains (where policy lets them use the
 * console at all) have their output filtered to printable characters and possibly
 * buffered up to a newline. Returns 0 or an error.
 */
#define PVCORE_CONSOLEIO_write 0
/** Read up to `count` bytes of console input (privileged); returns the number read. */
#define PVCORE_CONSOLEIO_read 1

/** @} */

/* ========================================================================================
 * sched_op
 * ===================================================================================== */

/**
 * @defgroup pvcore_abi_sched sched_op
 * @brief `sched_op(cmd, arg)`: scheduler requests from a guest, and shutdown reasons.
 * @{
 */

/** Give up the physical CPU voluntarily. No argument. */
#define PVCORE_SCHEDOP_yield 0
/**
 * Block the calling vCPU until an event is pending for it. If the vCPU had event
 * upcalls masked, the mask is cleared and pending events re-checked atomically first,
 * so a wake-up cannot be lost. No argument.
 */
#define PVCORE_SCHEDOP_block 1
/**
 * Shut down the whole domain (struct pvcore_sched_shutdown). For #PVCORE_SHUTDOWN_suspend
 * an x86 PV guest also passes its start_info frame as the third hypercall argument, and
 * the call returns 1 if the suspend was cancelled (or only checkpointed) and 0 when
 * resuming in a new domain.
 */
#define PVCORE_SCHEDOP_shutdown 2
/**
 * Block until one of a set of event-channel ports is pending, or a timeout
 * (struct pvcore_sched_poll_x86_64 and _x86_32).
 */
#define PVCORE_SCHEDOP_poll 3
/** Shut down another domain (privileged; struct pvcore_sched_remote_shutdown). */
#define PVCORE_SCHEDOP_remote_shutdown 4
/** Record the reason to report when the domain later shuts down (struct pvcore_sched_shutdown). */
#define PVCORE_SCHEDOP_shutdown_code 5
/** Create, re-arm or destroy a domain watchdog timer (struct pvcore_sched_watchdog). */
#define PVCORE_SCHEDOP_watchdog 6
/** Pin the calling vCPU to one physical CPU, or undo that (hardware domain only). */
#define PVCORE_SCHEDOP_pin_override 7

/** Shutdown reason: the domain exited normally; clean it up and destroy it. */
#define PVCORE_SHUTDOWN_poweroff 0
/** Shutdown reason: clean up, destroy, then start the domain again. */
#define PVCORE_SHUTDOWN_reboot 1
/** Shutdown reason: save the domain's state for a later resume, then destroy it. */
#define PVCORE_SHUTDOWN_suspend 2
/** Shutdown reason: the guest crashed. */
#define PVCORE_SHUTDOWN_crash 3
/** Shutdown reason: a domain watchdog expired; restart the domain. */
#define PVCORE_SHUTDOWN_watchdog 4
/**
 * Shutdown reason: soft reset. Return the domain's hypervisor state to how it was at
 * creation while keeping its memory and vCPU contexts, so that it can set up its
 * hypervisor interfaces again.
 */
#define PVCORE_SHUTDOWN_soft_reset 5
/** The largest valid shutdown reason. */
#define PVCORE_SHUTDOWN_MAX 5

/** Argument of #PVCORE_SCHEDOP_shutdown and #PVCORE_SCHEDOP_shutdown_code. */
struct pvcore_sched_shutdown {
    uint32_t reason; /**< SHUTDOWN_* reason. */
};
/** Typedef for struct pvcore_sched_shutdown. */
typedef struct pvcore_sched_shutdown pvcore_sched_shutdown_t;

/** Argument of #PVCORE_SCHEDOP_poll for a 32-bit guest (16 bytes). */
struct pvcore_sched_poll_x86_32 {
    uint32_t ports;    /**< Guest address of an array of `nr_ports` event-channel ports (uint32). */
    uint32_t nr_ports; /**< Number of ports in the array. */
    uint64_t timeout;  /**< Absolute system time (ns) at which to stop waiting; 0 waits with no timeout. */
};
/** Typedef for struct pvcore_sched_poll_x86_32. */
typedef struct pvcore_sched_poll_x86_32 pvcore_sched_poll_x86_32_t;

/** Argument of #PVCORE_SCHEDOP_poll for a 64-bit guest (24 bytes). */
struct pvcore_sched_poll_x86_64 {
    uint64_t ports;    /**< Guest address of an array of `nr_ports` event-channel ports (uint32). */
    uint32_t nr_ports; /**< Number of ports in the array. */
    uint32_t _pad0;    /**< Padding (implicit in Xen); ignored. */
    uint64_t timeout;  /**< Absolute system time (ns) at which to stop waiting; 0 waits with no timeout. */
};
/** Typedef for struct pvcore_sched_poll_x86_64. */
typedef struct pvcore_sched_poll_x86_64 pvcore_sched_poll_x86_64_t;

/** Argument of #PVCORE_SCHEDOP_remote_shutdown. */
struct pvcore_sched_remote_shutdown {
    pvcore_domid_t domain_id; /**< The domain to shut down. */
    uint32_t reason;          /**< SHUTDOWN_* reason, at offset 4. */
};
/** Typedef for struct pvcore_sched_remote_shutdown. */
typedef struct pvcore_sched_remote_shutdown pvcore_sched_remote_shutdown_t;

/**
 * Argument of #PVCORE_SCHEDOP_watchdog. With `id` 0 a new watchdog is created (the call returns
 * its id); with a non-zero `id`, a zero `timeout` destroys that watchdog and a non-zero
 * one re-arms it with the new timeout. An expired watchdog shuts the domain down with
 * #PVCORE_SHUTDOWN_watchdog.
 */
struct pvcore_sched_watchdog {
    uint32_t id;      /**< Watchdog id, or 0 to create one. */
    uint32_t timeout; /**< Timeout in seconds, or 0 to destroy. */
};
/** Typedef for struct pvcore_sched_watchdog. */
typedef struct pvcore_sched_watchdog pvcore_sched_watchdog_t;

/** Argument of #PVCORE_SCHEDOP_pin_override. */
struct pvcore_sched_pin_override {
    int32_t pcpu; /**< Physical CPU to pin to (it must be in the domain's CPU pool); negative undoes the override. */
};
/** Typedef for struct pvcore_sched_pin_override. */
typedef struct pvcore_sched_pin_override pvcore_sched_pin_override_t;

/** @} */

/* ========================================================================================
 * xen_version
 * ===================================================================================== */

/**
 * @defgroup pvcore_abi_version xen_version
 * @brief `xen_version(cmd, arg)`: version and feature queries.
 * @{
 */

/** Return `(major << 16) | minor` as the result. No argument. */
#define PVCORE_XENVER_version 0
/** Copy the extra version string (#pvcore_xen_extraversion_t) to `arg`. */
#define PVCORE_XENVER_extraversion 1
/** Copy struct pvcore_xen_compile_info to `arg`. */
#define PVCORE_XENVER_compile_info 2
/**
 * Copy the capabilities string (#pvcore_xen_capabilities_info_t) to `arg`: the guest
 * kinds the hypervisor runs, space separated (such as "xen-3.0-x86_64 xen-3.0-x86_32p").
 */
#define PVCORE_XENVER_capabilities 3
/** Copy the source changeset string (#pvcore_xen_changeset_info_t) to `arg`. */
#define PVCORE_XENVER_changeset 4
/** Copy the platform parameters (struct pvcore_xen_platform_parameters_x86_64 and _x86_32). */
#define PVCORE_XENVER_platform_parameters 5
/** Return one 32-bit word of the feature bitmap (struct pvcore_xen_feature_info). */
#define PVCORE_XENVER_get_features 6
/** Return the page size in bytes as the result. No argument. */
#define PVCORE_XENVER_pagesize 7
/** Copy the domain's handle (#pvcore_xen_domain_handle_t, 16 bytes) to `arg`. */
#define PVCORE_XENVER_guest_handle 8
/** Copy the hypervisor command line (#pvcore_xen_commandline_t) to `arg` (privileged). */
#define PVCORE_XENVER_commandline 9
/**
 * Copy the hypervisor's build id into struct pvcore_xen_build_id; returns the number of
 * bytes written, or with an empty buffer the size needed (privileged).
 */
#define PVCORE_XENVER_build_id 10

/** Size of #pvcore_xen_extraversion_t in bytes. */
#define PVCORE_XEN_EXTRAVERSION_LEN 16U
/** Size of #pvcore_xen_capabilities_info_t in bytes. */
#define PVCORE_XEN_CAPABILITIES_INFO_LEN 1024U
/** Size of #pvcore_xen_changeset_info_t in bytes. */
#define PVCORE_XEN_CHANGESET_INFO_LEN 64U
/** Size of #pvcore_xen_commandline_t in bytes. */
#define PVCORE_XEN_COMMANDLINE_LEN 1024U

/** Extra version string (such as ".0" or "-rc"), NUL-terminated. */
typedef char pvcore_xen_extraversion_t[PVCORE_XEN_EXTRAVERSION_LEN];
/** Capabilities string, NUL-terminated. */
typedef char pvcore_xen_capabilities_info_t[PVCORE_XEN_CAPABILITIES_INFO_LEN];
/** Changeset (source revision) string, NUL-terminated. */
typedef char pvcore_xen_changeset_info_t[PVCORE_XEN_CHANGESET_INFO_LEN];
/** Hypervisor command line, NUL-terminated. */
typedef char pvcore_xen_commandline_t[PVCORE_XEN_COMMANDLINE_LEN];

/** Result of #PVCORE_XENVER_compile_info: NUL-terminated strings describing the build. */
struct pvcore_xen_compile_info {
    char compiler[64];       /**< Compiler name and version. */
    char compile_by[16];     /**< User who built the hypervisor. */
    char compile_domain[32]; /**< DNS domain of the build host. */
    char compile_date[32];   /**< Build date. */
};
/** Typedef for struct pvcore_xen_compile_info. */
typedef struct pvcore_xen_compile_info pvcore_xen_compile_info_t;

/** Result of #PVCORE_XENVER_platform_parameters for a 32-bit guest. */
struct pvcore_xen_platform_parameters_x86_32 {
    pvcore_xen_ulong_x86_32_t virt_start; /**< Lowest virtual address reserved by the hypervisor. */
};
/** Typedef for struct pvcore_xen_platform_parameters_x86_32. */
typedef struct pvcore_xen_platform_parameters_x86_32 pvcore_xen_platform_parameters_x86_32_t;

/** Result of #PVCORE_XENVER_platform_parameters for a 64-bit guest. */
struct pvcore_xen_platform_parameters_x86_64 {
    pvcore_xen_ulong_x86_64_t virt_start; /**< Lowest virtual address reserved by the hypervisor. */
};
/** Typedef for struct pvcore_xen_platform_parameters_x86_64. */
typedef struct pvcore_xen_platform_parameters_x86_64 pvcore_xen_platform_parameters_x86_64_t;

/** Argument of #PVCORE_XENVER_get_features. */
struct pvcore_xen_feature_info {
    uint32_t submap_idx; /**< In: which 32-bit word of the feature bitmap (XENFEAT_* / 32). */
    uint32_t submap;     /**< Out: that word; bit `n` is feature `submap_idx * 32 + n`. */
};
/** Typedef for struct pvcore_xen_feature_info. */
typedef struct pvcore_xen_feature_info pvcore_xen_feature_info_t;

/**
 * Argument of #PVCORE_XENVER_build_id. Only the fixed part is described: the output buffer of
 * `len` bytes follows immediately, at offset 4 (Xen declares it as a flexible array).
 */
struct pvcore_xen_build_id {
    uint32_t len; /**< In: size of the buffer that follows this field, in bytes. */
};
/** Typedef for struct pvcore_xen_build_id. */
typedef struct pvcore_xen_build_id pvcore_xen_build_id_t;

/** Feature: the guest may write its page tables directly (no write protection needed). */
#define PVCORE_XENFEAT_writable_page_tables 0
/** Feature: the guest may write its descriptor tables directly. */
#define PVCORE_XENFEAT_writable_descriptor_tables 1
/** Feature: the hypervisor translates guest frames to machine frames (no PV MMU). */
#define PVCORE_XENFEAT_auto_translated_physmap 2
/** Feature: the guest kernel runs in ring 0 (deprecated). */
#define PVCORE_XENFEAT_supervisor_mode_kernel 3
/** Feature: PAE page directories may be above 4 GiB. */
#define PVCORE_XENFEAT_pae_pgdir_above_4gb 4
/** Feature: #PVCORE_MMU_PT_UPDATE_PRESERVE_AD is supported. */
#define PVCORE_XENFEAT_mmu_pt_update_preserve_ad 5
/** Feature: the highmem assist (x86-32) is available. */
#define PVCORE_XENFEAT_highmem_assist 6
/** Feature: grant maps honour the guest-available PTE bits in GNTMAP flags. */
#define PVCORE_XENFEAT_gnttab_map_avail_bits 7
/** Feature: HVM guests can receive events through an interrupt vector. */
#define PVCORE_XENFEAT_hvm_callback_vector 8
/** Feature: the PV clock is safe to use in an HVM guest. */
#define PVCORE_XENFEAT_hvm_safe_pvclock 9
/** Feature: HVM guests get physical interrupts as event channels. */
#define PVCORE_XENFEAT_hvm_pirqs 10
/** Feature: the domain is the hardware domain. */
#define PVCORE_XENFEAT_dom0 11
/* Feature bit 12 (grants mapped at pfn = mfn) is retired; Xen no longer defines it. */
/** Feature: the vNUMA memory_op is supported. */
#define PVCORE_XENFEAT_memory_op_vnode_supported 13
/** Feature: the SMCCC interface is available (Arm). */
#define PVCORE_XENFEAT_ARM_SMCCC_supported 14
/** Feature: the Linux RSDP location need not be restricted. */
#define PVCORE_XENFEAT_linux_rsdp_unrestricted 15
/** Feature: the domain is not direct-mapped (guest frame != machine frame). */
#define PVCORE_XENFEAT_not_direct_mapped 16
/** Feature: the domain is direct-mapped (guest frame == machine frame). */
#define PVCORE_XENFEAT_direct_mapped 17
/** Number of 32-bit words in the feature bitmap. */
#define PVCORE_XENFEAT_NR_SUBMAPS 1

/** @} */

/* ========================================================================================
 * x86 virtual address layout, flat segments, reserved GDT
 * ===================================================================================== */

/**
 * @defgroup pvcore_abi_layout x86 address-space layout and flat segments
 * @brief Where the hypervisor lives in a guest's address space, and the flat segment
 *        selectors it provides in every GDT.
 *
 * The hypervisor reserves the GDT from entry #PVCORE_FIRST_RESERVED_GDT_ENTRY on (the
 * last two of the 16 GDT frames). Its flat code and data segments are there; a guest may
 * use their selectors without installing a GDT of its own. A selector is
 * `index << 3 | RPL`.
 * @{
 */

/** First GDT frame (of 16) reserved for the hypervisor. */
#define PVCORE_FIRST_RESERVED_GDT_PAGE 14
/** Byte offset of the first reserved GDT frame. */
#define PVCORE_FIRST_RESERVED_GDT_BYTE (PVCORE_FIRST_RESERVED_GDT_PAGE * 4096)
/** Index of the first reserved 8-byte GDT entry (7168); a guest's GDT may use only lower ones. */
#define PVCORE_FIRST_RESERVED_GDT_ENTRY (PVCORE_FIRST_RESERVED_GDT_BYTE / 8)

/** Maximum number of vCPUs whose vcpu_info fits in the shared-info page. */
#define PVCORE_XEN_LEGACY_MAX_VCPUS 32

/** 32-bit guests: flat ring-1 (kernel) code selector: reserved entry 3, RPL 1. */
#define PVCORE_FLAT_RING1_CS_X86_32 0xe019
/** 32-bit guests: flat ring-1 data selector: reserved entry 4, RPL 1. */
#define PVCORE_FLAT_RING1_DS_X86_32 0xe021
/** 32-bit guests: flat ring-1 stack selector (same as the data selector). */
#define PVCORE_FLAT_RING1_SS_X86_32 0xe021
/** 32-bit guests: flat ring-3 (user) code selector: reserved entry 5, RPL 3. */
#define PVCORE_FLAT_RING3_CS_X86_32 0xe02b
/** 32-bit guests: flat ring-3 data selector: reserved entry 6, RPL 3. */
#define PVCORE_FLAT_RING3_DS_X86_32 0xe033
/** 32-bit guests: flat ring-3 stack selector (same as the data selector). */
#define PVCORE_FLAT_RING3_SS_X86_32 0xe033
/** 32-bit guests: kernel code selector (the guest kernel runs in ring 1). */
#define PVCORE_FLAT_KERNEL_CS_X86_32 PVCORE_FLAT_RING1_CS_X86_32
/** 32-bit guests: kernel data selector. */
#define PVCORE_FLAT_KERNEL_DS_X86_32 PVCORE_FLAT_RING1_DS_X86_32
/** 32-bit guests: kernel stack selector. */
#define PVCORE_FLAT_KERNEL_SS_X86_32 PVCORE_FLAT_RING1_SS_X86_32
/** 32-bit guests: user code selector. */
#define PVCORE_FLAT_USER_CS_X86_32 PVCORE_FLAT_RING3_CS_X86_32
/** 32-bit guests: user data selector. */
#define PVCORE_FLAT_USER_DS_X86_32 PVCORE_FLAT_RING3_DS_X86_32
/** 32-bit guests: user stack selector. */
#define PVCORE_FLAT_USER_SS_X86_32 PVCORE_FLAT_RING3_SS_X86_32

/** 64-bit guests: flat 32-bit (compatibility mode) ring-3 code selector: reserved entry 4, RPL 3. */
#define PVCORE_FLAT_RING3_CS32_X86_64 0xe023
/** 64-bit guests: flat 64-bit ring-3 code selector: reserved entry 6, RPL 3. */
#define PVCORE_FLAT_RING3_CS64_X86_64 0xe033
/** 64-bit guests: flat ring-3 data selector for 32-bit code: reserved entry 5, RPL 3. */
#define PVCORE_FLAT_RING3_DS32_X86_64 0xe02b
/** 64-bit guests: data selector for 64-bit code: the null selector. */
#define PVCORE_FLAT_RING3_DS64_X86_64 0x0000
/** 64-bit guests: flat ring-3 stack selector for 32-bit code (the data selector). */
#define PVCORE_FLAT_RING3_SS32_X86_64 0xe02b
/** 64-bit guests: flat ring-3 stack selector for 64-bit code. */
#define PVCORE_FLAT_RING3_SS64_X86_64 0xe02b
/** 64-bit guests: kernel 64-bit data selector (the guest kernel runs in ring 3). */
#define PVCORE_FLAT_KERNEL_DS64_X86_64 PVCORE_FLAT_RING3_DS64_X86_64
/** 64-bit guests: kernel 32-bit data selector. */
#define PVCORE_FLAT_KERNEL_DS32_X86_64 PVCORE_FLAT_RING3_DS32_X86_64
/** 64-bit guests: kernel data selector. */
#define PVCORE_FLAT_KERNEL_DS_X86_64 PVCORE_FLAT_KERNEL_DS64_X86_64
/** 64-bit guests: kernel 64-bit code selector. */
#define PVCORE_FLAT_KERNEL_CS64_X86_64 PVCORE_FLAT_RING3_CS64_X86_64
/** 64-bit guests: kernel 32-bit code selector. */
#define PVCORE_FLAT_KERNEL_CS32_X86_64 PVCORE_FLAT_RING3_CS32_X86_64
/** 64-bit guests: kernel code selector. */
#define PVCORE_FLAT_KERNEL_CS_X86_64 PVCORE_FLAT_KERNEL_CS64_X86_64
/** 64-bit guests: kernel 64-bit stack selector. */
#define PVCORE_FLAT_KERNEL_SS64_X86_64 PVCORE_FLAT_RING3_SS64_X86_64
/** 64-bit guests: kernel 32-bit stack selector. */
#define PVCORE_FLAT_KERNEL_SS32_X86_64 PVCORE_FLAT_RING3_SS32_X86_64
/** 64-bit guests: kernel stack selector. */
#define PVCORE_FLAT_KERNEL_SS_X86_64 PVCORE_FLAT_KERNEL_SS64_X86_64
/** 64-bit guests: user 64-bit data selector. */
#define PVCORE_FLAT_USER_DS64_X86_64 PVCORE_FLAT_RING3_DS64_X86_64
/** 64-bit guests: user 32-bit data selector. */
#define PVCORE_FLAT_USER_DS32_X86_64 PVCORE_FLAT_RING3_DS32_X86_64
/** 64-bit guests: user data selector. */
#define PVCORE_FLAT_USER_DS_X86_64 PVCORE_FLAT_USER_DS64_X86_64
/** 64-bit guests: user 64-bit code selector. */
#define PVCORE_FLAT_USER_CS64_X86_64 PVCORE_FLAT_RING3_CS64_X86_64
/** 64-bit guests: user 32-bit code selector. */
#define PVCORE_FLAT_USER_CS32_X86_64 PVCORE_FLAT_RING3_CS32_X86_64
/** 64-bit guests: user code selector. */
#define PVCORE_FLAT_USER_CS_X86_64 PVCORE_FLAT_USER_CS64_X86_64
/** 64-bit guests: user 64-bit stack selector. */
#define PVCORE_FLAT_USER_SS64_X86_64 PVCORE_FLAT_RING3_SS64_X86_64
/** 64-bit guests: user 32-bit stack selector. */
#define PVCORE_FLAT_USER_SS32_X86_64 PVCORE_FLAT_RING3_SS32_X86_64
/** 64-bit guests: user stack selector. */
#define PVCORE_FLAT_USER_SS_X86_64 PVCORE_FLAT_USER_SS64_X86_64

/**
 * 32-bit (PAE) guests: lowest virtual address the hypervisor reserves. For a 32-bit
 * guest on a 64-bit hypervisor this is the default; the hypervisor may lower it per
 * domain, and everything from it to 4 GiB is the hypervisor's.
 */
#define PVCORE_HYPERVISOR_VIRT_START_X86_32 0xF5800000U
/**
 * 32-bit (PAE) guests: start of the read-only machine-to-physical table (4-byte
 * entries) in the published layout. A 32-bit guest on a 64-bit hypervisor should ask
 * for the actual location with the memory_op machphys_mapping query.
 */
#define PVCORE_MACH2PHYS_VIRT_START_X86_32 0xF5800000U
/** 32-bit (PAE) guests: end (exclusive) of the machine-to-physical table. */
#define PVCORE_MACH2PHYS_VIRT_END_X86_32 0xF6800000U
/** 32-bit guests: number of entries in the machine-to-physical table. */
#define PVCORE_MACH2PHYS_NR_ENTRIES_X86_32 \
    ((PVCORE_MACH2PHYS_VIRT_END_X86_32 - PVCORE_MACH2PHYS_VIRT_START_X86_32) >> 2)

/**
 * 64-bit guests: start of the hypervisor's reserved virtual range (L4 slots 256 to 271).
 * A guest may not create mappings there.
 */
#define PVCORE_HYPERVISOR_VIRT_START_X86_64 0xFFFF800000000000ULL
/** 64-bit guests: end (exclusive) of the hypervisor's reserved range: 16 L4 slots of 512 GiB. */
#define PVCORE_HYPERVISOR_VIRT_END_X86_64 0xFFFF880000000000ULL
/** 64-bit guests: start of the read-only machine-to-physical table (8-byte entries). */
#define PVCORE_MACH2PHYS_VIRT_START_X86_64 0xFFFF800000000000ULL
/** 64-bit guests: end (exclusive) of the machine-to-physical table (256 GiB). */
#define PVCORE_MACH2PHYS_VIRT_END_X86_64 0xFFFF804000000000ULL
/** 64-bit guests: number of entries in the machine-to-physical table. */
#define PVCORE_MACH2PHYS_NR_ENTRIES_X86_64 \
    ((PVCORE_MACH2PHYS_VIRT_END_X86_64 - PVCORE_MACH2PHYS_VIRT_START_X86_64) >> 3)

/** set_segment_base: set the FS base to `base`. 64-bit guests only. */
#define PVCORE_SEGBASE_FS 0
/** set_segment_base: set the user-mode GS base. */
#define PVCORE_SEGBASE_GS_USER 1
/** set_segment_base: set the kernel-mode GS base. */
#define PVCORE_SEGBASE_GS_KERNEL 2
/** set_segment_base: load the user GS selector given in `base` bits 15:0. */
#define PVCORE_SEGBASE_GS_USER_SEL 3

/** @} */

/**
 * @name sysctl and domctl
 * @brief The control interfaces' framing: each call's struct starts with `cmd` and
 *        `interface_version` (32 bits each); a version other than these is -EACCES.
 * @{
 */
/** XEN_SYSCTL_INTERFACE_VERSION of the ABI implemented. */
#define PVCORE_XEN_SYSCTL_INTERFACE_VERSION 0x00000015
/** XEN_DOMCTL_INTERFACE_VERSION of the ABI implemented. */
#define PVCORE_XEN_DOMCTL_INTERFACE_VERSION 0x00000015
/** sizeof(struct xen_sysctl): what the hypervisor reads of a sysctl call. */
#define PVCORE_XEN_SYSCTL_SIZE 136
/** sizeof(struct xen_domctl): what the hypervisor reads of a domctl call. */
#define PVCORE_XEN_DOMCTL_SIZE 144
/** @} */

/**
 * @name vCPU guest-context flags (VGCF_*)
 * @brief Flags of a vCPU's guest context; #PVCORE_VGCF_in_syscall is also the `flags`
 *        word of a 64-bit guest's iret frame.
 * @{
 */
/** The FPU state in the context is valid. */
#define PVCORE_VGCF_i387_valid (1 << 0)
/** The vCPU is in guest kernel mode. */
#define PVCORE_VGCF_in_kernel (1 << 2)
/** Bit number of #PVCORE_VGCF_failsafe_disables_events. */
#define PVCORE_VGCF_failsafe_disables_events_BIT 3
/** Entering the failsafe callback masks events. */
#define PVCORE_VGCF_failsafe_disables_events (1 << 3)
/** Bit number of #PVCORE_VGCF_syscall_disables_events. */
#define PVCORE_VGCF_syscall_disables_events_BIT 4
/** Entering the syscall callback masks events. */
#define PVCORE_VGCF_syscall_disables_events (1 << 4)
/** The vCPU is online (#PVCORE_VCPUOP_initialise). */
#define PVCORE_VGCF_online (1 << 5)
/** Bit number of #PVCORE_VGCF_in_syscall. */
#define PVCORE_VGCF_in_syscall_BIT 8
/**
 * 64-bit iret frame: the guest entered through a syscall, so iret leaves rcx and r11 as
 * they are instead of restoring them from the frame.
 */
#define PVCORE_VGCF_in_syscall (1 << 8)

/** @} */

/* ========================================================================================
 * multicall
 * ===================================================================================== */

/**
 * @defgroup pvcore_abi_multicall multicall
 * @brief `multicall(calls[], nr_calls)`: run a batch of hypercalls, storing each result
 *        in its entry.
 * @{
 */

/** One entry of a 32-bit guest's multicall batch (32 bytes). */
struct pvcore_multicall_entry_x86_32 {
    pvcore_xen_ulong_x86_32_t op;      /**< Hypercall number. */
    pvcore_xen_ulong_x86_32_t result;  /**< Out: the hypercall's return value. */
    pvcore_xen_ulong_x86_32_t args[6]; /**< The hypercall's arguments, in order. */
};
/** Typedef for struct pvcore_multicall_entry_x86_32. */
typedef struct pvcore_multicall_entry_x86_32 pvcore_multicall_entry_x86_32_t;

/** One entry of a 64-bit guest's multicall batch (64 bytes). */
struct pvcore_multicall_entry_x86_64 {
    pvcore_xen_ulong_x86_64_t op;      /**< Hypercall number. */
    pvcore_xen_ulong_x86_64_t result;  /**< Out: the hypercall's return value. */
    pvcore_xen_ulong_x86_64_t args[6]; /**< The hypercall's arguments, in order. */
};
/** Typedef for struct pvcore_multicall_entry_x86_64. */
typedef struct pvcore_multicall_entry_x86_64 pvcore_multicall_entry_x86_64_t;

/** @} */

/* ========================================================================================
 * Traps and callbacks
 * ===================================================================================== */

/**
 * @defgroup pvcore_abi_traps Trap table and callbacks
 * @brief `set_trap_table(traps[])` and `callback_op(cmd, arg)`.
 *
 * `set_trap_table` reads entries until one whose `address` is 0 (a null array clears
 * the whole virtual IDT). Each entry replaces the handler of its vector. The DPL in
 * `flags` decides which guest modes may raise the vector with a software `INT`: 0 none,
 * 1 or 2 the guest kernel, 3 everyone.
 * @{
 */

/** Mask of the DPL in trap_info.flags (bits 1:0). */
#define PVCORE_TI_DPL_MASK 3U
/** Flag in trap_info.flags (bit 2): mask event delivery when entering this handler. */
#define PVCORE_TI_IF 4U

/**
 * The DPL (0 to 3) of a trap_info entry.
 * @param ti Pointer to a struct pvcore_trap_info_x86_32 or _x86_64.
 * @return `flags` bits 1:0.
 */
#define PVCORE_TI_GET_DPL(ti) ((ti)->flags & PVCORE_TI_DPL_MASK)
/**
 * Whether a trap_info entry masks events on entry.
 * @param ti Pointer to a struct pvcore_trap_info_x86_32 or _x86_64.
 * @return Non-zero (4) if set, 0 if not.
 */
#define PVCORE_TI_GET_IF(ti) ((ti)->flags & PVCORE_TI_IF)
/**
 * ORs a DPL into a trap_info entry's flags. Like Xen's helper it does not clear an old
 * DPL first, so start from flags 0.
 * @param ti  Pointer to a struct pvcore_trap_info_x86_32 or _x86_64.
 * @param dpl DPL 0 to 3 (higher bits are ignored).
 */
#define PVCORE_TI_SET_DPL(ti, dpl) \
    ((ti)->flags = (uint8_t)((ti)->flags | ((unsigned)(dpl) & PVCORE_TI_DPL_MASK)))
/**
 * Sets the mask-events flag of a trap_info entry if `if_` is non-zero. Like Xen's helper
 * it never clears the flag.
 * @param ti  Pointer to a struct pvcore_trap_info_x86_32 or _x86_64.
 * @param if_ Non-zero to set the flag.
 */
#define PVCORE_TI_SET_IF(ti, if_) \
    ((ti)->flags = (uint8_t)((ti)->flags | ((if_) ? PVCORE_TI_IF : 0U)))

/** One virtual IDT entry for a 32-bit guest (8 bytes). */
struct pvcore_trap_info_x86_32 {
    uint8_t vector;   /**< Exception or interrupt vector, 0 to 255. */
    uint8_t flags;    /**< Bits 1:0 DPL, bit 2 #PVCORE_TI_IF; other bits ignored. */
    uint16_t cs;      /**< Handler code selector; an RPL below 1 is raised to 1. */
    uint32_t address; /**< Handler offset; 0 ends the array. */
};
/** Typedef for struct pvcore_trap_info_x86_32. */
typedef struct pvcore_trap_info_x86_32 pvcore_trap_info_x86_32_t;

/** One virtual IDT entry for a 64-bit guest (16 bytes). */
struct pvcore_trap_info_x86_64 {
    uint8_t vector;   /**< Exception or interrupt vector, 0 to 255. */
    uint8_t flags;    /**< Bits 1:0 DPL, bit 2 #PVCORE_TI_IF; other bits ignored. */
    uint16_t cs;      /**< Handler code selector; an RPL below 3 is raised to 3. */
    uint32_t _pad0;   /**< Padding (implicit in Xen); ignored. */
    uint64_t address; /**< Handler address; must be canonical; 0 ends the array. */
};
/** Typedef for struct pvcore_trap_info_x86_64. */
typedef struct pvcore_trap_info_x86_64 pvcore_trap_info_x86_64_t;

/** Callback type: event upcall (event-channel notifications). Events are always masked on entry. */
#define PVCORE_CALLBACKTYPE_event 0
/** Callback type: failsafe, entered when the hypervisor cannot return to the guest (bad segment). */
#define PVCORE_CALLBACKTYPE_failsafe 1
/** Callback type: SYSCALL from 64-bit guest user mode (64-bit guests). */
#define PVCORE_CALLBACKTYPE_syscall 2
/** Callback type: old sysenter, for 32-bit hypervisors only; do not use. */
#define PVCORE_CALLBACKTYPE_sysenter_deprecated 3
/** Callback type: NMI. Events are always masked on entry. */
#define PVCORE_CALLBACKTYPE_nmi 4
/** Callback type: SYSENTER from 32-bit guest user mode (Intel CPUs). */
#define PVCORE_CALLBACKTYPE_sysenter 5
/** Callback type: SYSCALL from 32-bit guest user mode (AMD CPUs; 64-bit hypervisor). */
#define PVCORE_CALLBACKTYPE_syscall32 7

/** Bit number of #PVCORE_CALLBACKF_mask_events. */
#define PVCORE_CALLBACKF_mask_events_BIT 0
/** Callback flag: mask event delivery on entry (ignored for event and NMI callbacks). */
#define PVCORE_CALLBACKF_mask_events (1U << PVCORE_CALLBACKF_mask_events_BIT)

/** callback_op command: register a callback (struct pvcore_callback_register_x86_64 or _x86_32). */
#define PVCORE_CALLBACKOP_register 0
/** callback_op command: unregister a callback (struct pvcore_callback_unregister). */
#define PVCORE_CALLBACKOP_unregister 1

/** A callback address of a 32-bit guest: a far pointer. */
struct pvcore_xen_callback_x86_32 {
    uint32_t cs;  /**< Code selector (low 16 bits significant). */
    uint32_t eip; /**< Offset. */
};
/** Typedef for struct pvcore_xen_callback_x86_32. */
typedef struct pvcore_xen_callback_x86_32 pvcore_xen_callback_x86_32_t;

/** A callback address of a 64-bit guest: a canonical virtual address (the code segment is implied). */
typedef uint64_t pvcore_xen_callback_x86_64_t;

/** Argument of #PVCORE_CALLBACKOP_register for a 32-bit guest (12 bytes). */
struct pvcore_callback_register_x86_32 {
    uint16_t type;                              /**< CALLBACKTYPE_*. */
    uint16_t flags;                             /**< CALLBACKF_*. */
    struct pvcore_xen_callback_x86_32 address;  /**< Entry point. */
};
/** Typedef for struct pvcore_callback_register_x86_32. */
typedef struct pvcore_callback_register_x86_32 pvcore_callback_register_x86_32_t;

/** Argument of #PVCORE_CALLBACKOP_register for a 64-bit guest (16 bytes). */
struct pvcore_callback_register_x86_64 {
    uint16_t type;                        /**< CALLBACKTYPE_*. */
    uint16_t flags;                       /**< CALLBACKF_*. */
    uint32_t _pad0;                       /**< Padding (implicit in Xen); ignored. */
    pvcore_xen_callback_x86_64_t address; /**< Entry point; must be canonical. */
};
/** Typedef for struct pvcore_callback_register_x86_64. */
typedef struct pvcore_callback_register_x86_64 pvcore_callback_register_x86_64_t;

/** Argument of #PVCORE_CALLBACKOP_unregister (both widths). */
struct pvcore_callback_unregister {
    uint16_t type;    /**< CALLBACKTYPE_* to remove. */
    uint16_t _unused; /**< Unused; ignored. */
};
/** Typedef for struct pvcore_callback_unregister. */
typedef struct pvcore_callback_unregister pvcore_callback_unregister_t;

/** @} */

/* ========================================================================================
 * Shared-info page: time, vcpu_info, shared_info
 * ===================================================================================== */

/**
 * @defgroup pvcore_abi_shared Shared-info page
 * @brief The page the hypervisor shares with each domain: per-vCPU event and time state,
 *        the 2-level event-channel bitmaps and the wall clock.
 *
 * A guest finds the page's machine address in start_info.shared_info and maps it. The
 * first #PVCORE_XEN_LEGACY_MAX_VCPUS vCPUs have their vcpu_info inside it; others
 * register a vcpu_info elsewhere. The structure is smaller than a page.
 * @{
 */

/** vcpu_time_info.flags: the TSC is synchronised across CPUs, so readings are monotonic. */
#define PVCORE_XEN_PVCLOCK_TSC_STABLE_BIT (1 << 0)
/** vcpu_time_info.flags: the guest was stopped (paused) since the last update. */
#define PVCORE_XEN_PVCLOCK_GUEST_STOPPED (1 << 1)

/**
 * Per-vCPU system time, the same 32 bytes for both widths.
 *
 * The hypervisor increments `version` (making it odd) before updating the other fields
 * and again (even) after. A reader copies the fields, then re-reads `version`, and
 * retries if it was odd or has changed. The current system time in nanoseconds is
 * @code
 * delta = tsc - tsc_timestamp;                       // TSC ticks since the update
 * delta = tsc_shift >= 0 ? delta << tsc_shift : delta >> -tsc_shift;
 * now   = system_time + ((delta * tsc_to_system_mul) >> 32);  // 96-bit product
 * @endcode
 */
struct pvcore_vcpu_time_info {
    uint32_t version;           /**< Update counter; odd while an update is in progress. */
    uint32_t pad0;              /**< Unused. */
    uint64_t tsc_timestamp;     /**< TSC value at the time of the last update. */
    uint64_t system_time;       /**< Nanoseconds since the hypervisor booted, at tsc_timestamp. */
    uint32_t tsc_to_system_mul; /**< Scale from shifted TSC ticks to nanoseconds, a 32.32 fixed-point fraction. */
    int8_t tsc_shift;           /**< Power of two applied to a TSC delta before scaling (may be negative). */
    uint8_t flags;              /**< XEN_PVCLOCK_* flags. */
    uint8_t pad1[2];            /**< Unused. */
};
/** Typedef for struct pvcore_vcpu_time_info. */
typedef struct pvcore_vcpu_time_info pvcore_vcpu_time_info_t;

/** x86-specific part of a 32-bit guest's vcpu_info (24 bytes). */
struct pvcore_arch_vcpu_info_x86_32 {
    uint32_t cr2;    /**< Faulting address of the page fault being delivered (the virtual CR2). */
    uint32_t pad[5]; /**< Unused; sizes vcpu_info to 64 bytes. */
};
/** Typedef for struct pvcore_arch_vcpu_info_x86_32. */
typedef struct pvcore_arch_vcpu_info_x86_32 pvcore_arch_vcpu_info_x86_32_t;

/** x86-specific part of a 64-bit guest's vcpu_info (16 bytes). */
struct pvcore_arch_vcpu_info_x86_64 {
    uint64_t cr2; /**< Faulting address of the page fault being delivered (the virtual CR2). */
    uint64_t pad; /**< Unused; sizes vcpu_info to 64 bytes. */
};
/** Typedef for struct pvcore_arch_vcpu_info_x86_64. */
typedef struct pvcore_arch_vcpu_info_x86_64 pvcore_arch_vcpu_info_x86_64_t;

/**
 * Per-vCPU event state and time of a 32-bit guest (64 bytes).
 *
 * The hypervisor sets `evtchn_upcall_pending` and schedules an upcall unless
 * `evtchn_upcall_mask` is non-zero. The guest clears `evtchn_upcall_pending` before it
 * scans the selector, so that a notification arriving during the scan is not lost.
 */
struct pvcore_vcpu_info_x86_32 {
    uint8_t evtchn_upcall_pending;                /**< Written non-zero by the hypervisor when an event is pending for this vCPU. */
    uint8_t evtchn_upcall_mask;                   /**< Guest's "events disabled" flag; no upcall while non-zero. Cleared by the hypervisor when the vCPU blocks. */
    uint32_t evtchn_pending_sel;                  /**< Selector: bit i set means word i of shared_info.evtchn_pending may hold unmasked pending ports. */
    struct pvcore_arch_vcpu_info_x86_32 arch;     /**< x86-specific state, at offset 8. */
    struct pvcore_vcpu_time_info time;            /**< System time, at offset 32. */
};
/** Typedef for struct pvcore_vcpu_info_x86_32. */
typedef struct pvcore_vcpu_info_x86_32 pvcore_vcpu_info_x86_32_t;

/** Per-vCPU event state and time of a 64-bit guest (64 bytes); see struct pvcore_vcpu_info_x86_32. */
struct pvcore_vcpu_info_x86_64 {
    uint8_t evtchn_upcall_pending;                /**< Written non-zero by the hypervisor when an event is pending for this vCPU. */
    uint8_t evtchn_upcall_mask;                   /**< Guest's "events disabled" flag; no upcall while non-zero. Cleared by the hypervisor when the vCPU blocks. */
    uint8_t _pad0[6];                             /**< Padding (implicit in Xen). */
    uint64_t evtchn_pending_sel;                  /**< Selector: bit i set means word i of shared_info.evtchn_pending may hold unmasked pending ports. */
    struct pvcore_arch_vcpu_info_x86_64 arch;     /**< x86-specific state, at offset 16. */
    struct pvcore_vcpu_time_info time;            /**< System time, at offset 32. */
};
/** Typedef for struct pvcore_vcpu_info_x86_64. */
typedef struct pvcore_vcpu_info_x86_64 pvcore_vcpu_info_x86_64_t;

/**
 * x86-specific part of a 32-bit guest's shared_info (28 bytes). The guest maintains the
 * physical-to-machine (p2m) description for the toolstack (save, restore, migration).
 */
struct pvcore_arch_shared_info_x86_32 {
    uint32_t max_pfn;                    /**< Number of valid entries in the p2m. */
    pvcore_xen_pfn_x86_32_t pfn_to_mfn_frame_list_list; /**< Frame holding the top of the 3-level p2m frame list; 0 not yet set, all ones unusable (use p2m_vaddr). */
    uint32_t nmi_reason;                 /**< Pending NMI reasons (hardware domain): bit 0 I/O check, bit 1 PCI SERR/parity, bit 2 unknown. */
    uint32_t p2m_cr3;                    /**< If non-zero: CR3-format root of the address space in which p2m_vaddr is valid. */
    uint32_t p2m_vaddr;                  /**< Virtual address of the linear p2m array (valid if p2m_cr3 is non-zero). */
    uint32_t p2m_generation;             /**< Incremented by the guest before and after each change of the p2m mappings; odd while changing. */
    uint32_t wc_sec_hi;                  /**< High 32 bits of the wall-clock seconds (no room for it in shared_info itself for 32-bit guests). */
};
/** Typedef for struct pvcore_arch_shared_info_x86_32. */
typedef struct pvcore_arch_shared_info_x86_32 pvcore_arch_shared_info_x86_32_t;

/** x86-specific part of a 64-bit guest's shared_info (48 bytes); see struct pvcore_arch_shared_info_x86_32. */
struct pvcore_arch_shared_info_x86_64 {
    uint64_t max_pfn;                    /**< Number of valid entries in the p2m. */
    pvcore_xen_pfn_x86_64_t pfn_to_mfn_frame_list_list; /**< Frame holding the top of the 3-level p2m frame list; 0 not yet set, all ones unusable (use p2m_vaddr). */
    uint64_t nmi_reason;                 /**< Pending NMI reasons (hardware domain): bit 0 I/O check, bit 1 PCI SERR/parity, bit 2 unknown. */
    uint64_t p2m_cr3;                    /**< If non-zero: CR3-format root of the address space in which p2m_vaddr is valid. */
    uint64_t p2m_vaddr;                  /**< Virtual address of the linear p2m array (valid if p2m_cr3 is non-zero). */
    uint64_t p2m_generation;             /**< Incremented by the guest before and after each change of the p2m mappings; odd while changing. */
};
/** Typedef for struct pvcore_arch_shared_info_x86_64. */
typedef struct pvcore_arch_shared_info_x86_64 pvcore_arch_shared_info_x86_64_t;

/**
 * The shared-info page of a 32-bit guest (2344 bytes used).
 *
 * 2-level event channels: port `p` is pending if bit `p % 32` of `evtchn_pending[p / 32]`
 * is set, and masked likewise in `evtchn_mask`. The hypervisor sets pending bits and
 * never changes mask bits; the guest clears pending bits and owns the mask. A pending bit
 * going from 0 to 1 on an unmasked port also sets the selector bit `p / 32` of the bound
 * vCPU and raises its upcall. The wall clock (`wc_*`) is the time of day at system time
 * 0, versioned like struct pvcore_vcpu_time_info.
 */
struct pvcore_shared_info_x86_32 {
    struct pvcore_vcpu_info_x86_32 vcpu_info[PVCORE_XEN_LEGACY_MAX_VCPUS]; /**< vcpu_info of vCPUs 0 to 31. */
    uint32_t evtchn_pending[32];                 /**< Pending bitmap, 1024 ports; at offset 2048. */
    uint32_t evtchn_mask[32];                    /**< Mask bitmap, 1024 ports; at offset 2176. */
    uint32_t wc_version;                         /**< Wall-clock update counter; odd while updating. */
    uint32_t wc_sec;                             /**< Wall clock: seconds since the Unix epoch (low 32 bits; high half in arch.wc_sec_hi). */
    uint32_t wc_nsec;                            /**< Wall clock: nanoseconds within the second. */
    struct pvcore_arch_shared_info_x86_32 arch;  /**< x86-specific part, at offset 2316. */
};
/** Typedef for struct pvcore_shared_info_x86_32. */
typedef struct pvcore_shared_info_x86_32 pvcore_shared_info_x86_32_t;

/** The shared-info page of a 64-bit guest (3136 bytes used); see struct pvcore_shared_info_x86_32. */
struct pvcore_shared_info_x86_64 {
    struct pvcore_vcpu_info_x86_64 vcpu_info[PVCORE_XEN_LEGACY_MAX_VCPUS]; /**< vcpu_info of vCPUs 0 to 31. */
    uint64_t evtchn_pending[64];                 /**< Pending bitmap, 4096 ports; at offset 2048. */
    uint64_t evtchn_mask[64];                    /**< Mask bitmap, 4096 ports; at offset 2560. */
    uint32_t wc_version;                         /**< Wall-clock update counter; odd while updating. */
    uint32_t wc_sec;                             /**< Wall clock: seconds since the Unix epoch (low 32 bits). */
    uint32_t wc_nsec;                            /**< Wall clock: nanoseconds within the second. */
    uint32_t wc_sec_hi;                          /**< Wall clock: high 32 bits of the seconds. */
    struct pvcore_arch_shared_info_x86_64 arch;  /**< x86-specific part, at offset 3088. */
};
/** Typedef for struct pvcore_shared_info_x86_64. */
typedef struct pvcore_shared_info_x86_64 pvcore_shared_info_x86_64_t;

/** @} */

/* ========================================================================================
 * start_info
 * ===================================================================================== */

/**
 * @defgroup pvcore_abi_start_info Start-of-day information
 * @brief The page a PV guest finds at `%rsi` / `%esi` when it starts.
 *
 * The domain builder lays out, from the start of the initial virtual region: the kernel,
 * an optional module (initrd), the p2m list, this page, the xenstore and console rings
 * (not for the initial domain), the bootstrap page tables (mapped read-only) and the
 * bootstrap stack, each page aligned, followed by at least 512 KiB of slack, the whole
 * ending on a 4 MiB boundary and mapped 1:1 onto the first pseudo-physical frames.
 * Fields up to `console` are refreshed on resume; the rest are valid on first boot only.
 * @{
 */

/** Size of start_info.cmd_line in bytes. */
#define PVCORE_MAX_GUEST_CMDLINE 1024

/** start_info.flags: the domain is privileged. */
#define PVCORE_SIF_PRIVILEGED (1 << 0)
/** start_info.flags: the domain is the initial (control) domain. */
#define PVCORE_SIF_INITDOMAIN (1 << 1)
/** start_info.flags: the module is a multiboot-style package of modules. */
#define PVCORE_SIF_MULTIBOOT_MOD (1 << 2)
/** start_info.flags: mod_start is a frame number, not a virtual address. */
#define PVCORE_SIF_MOD_START_PFN (1 << 3)
/** start_info.flags: the toolstack understands a virtually mapped p2m list (no 3-level tree needed). */
#define PVCORE_SIF_VIRT_P2M_4TOOLS (1 << 4)
/** start_info.flags: bits 15:8 are reserved for power-management options. */
#define PVCORE_SIF_PM_MASK (0xFF << 8)

/** Console location of an unprivileged domain (32-bit guest). */
struct pvcore_start_info_console_domU_x86_32 {
    pvcore_xen_pfn_x86_32_t mfn; /**< Machine frame of the console ring page (struct pvcore_xencons_interface). */
    uint32_t evtchn;             /**< Event channel for console notifications. */
};
/** Typedef for struct pvcore_start_info_console_domU_x86_32. */
typedef struct pvcore_start_info_console_domU_x86_32 pvcore_start_info_console_domU_x86_32_t;

/** Console location of an unprivileged domain (64-bit guest). */
struct pvcore_start_info_console_domU_x86_64 {
    pvcore_xen_pfn_x86_64_t mfn; /**< Machine frame of the console ring page (struct pvcore_xencons_interface). */
    uint32_t evtchn;             /**< Event channel for console notifications. */
    uint32_t _pad0;              /**< Padding (implicit in Xen). */
};
/** Typedef for struct pvcore_start_info_console_domU_x86_64. */
typedef struct pvcore_start_info_console_domU_x86_64 pvcore_start_info_console_domU_x86_64_t;

/** Console description of the initial domain (both widths): where its VGA/VESA console info is. */
struct pvcore_start_info_console_dom0 {
    uint32_t info_off;  /**< Byte offset of the console-info structure within the start_info page. */
    uint32_t info_size; /**< Size of that structure in bytes. */
};
/** Typedef for struct pvcore_start_info_console_dom0. */
typedef struct pvcore_start_info_console_dom0 pvcore_start_info_console_dom0_t;

/** start_info.console of a 32-bit guest: `domU` for ordinary domains, `dom0` for the initial one. */
union pvcore_start_info_console_x86_32 {
    struct pvcore_start_info_console_domU_x86_32 domU; /**< Ordinary domains. */
    struct pvcore_start_info_console_dom0 dom0;        /**< The initial domain. */
};
/** Typedef for union pvcore_start_info_console_x86_32. */
typedef union pvcore_start_info_console_x86_32 pvcore_start_info_console_x86_32_t;

/** start_info.console of a 64-bit guest: `domU` for ordinary domains, `dom0` for the initial one. */
union pvcore_start_info_console_x86_64 {
    struct pvcore_start_info_console_domU_x86_64 domU; /**< Ordinary domains. */
    struct pvcore_start_info_console_dom0 dom0;        /**< The initial domain. */
};
/** Typedef for union pvcore_start_info_console_x86_64. */
typedef union pvcore_start_info_console_x86_64 pvcore_start_info_console_x86_64_t;

/** Start-of-day information for a 32-bit guest (1112 bytes). */
struct pvcore_start_info_x86_32 {
    char magic[32];                  /**< "xen-<version>-<platform>", such as "xen-3.0-x86_32p"; NUL-terminated. */
    uint32_t nr_pages;               /**< Number of pages allocated to the domain. */
    uint32_t shared_info;            /**< Machine address of the shared-info page. */
    uint32_t flags;                  /**< SIF_* flags. */
    pvcore_xen_pfn_x86_32_t store_mfn; /**< Machine frame of the xenstore ring page. */
    uint32_t store_evtchn;           /**< Event channel for xenstore. */
    union pvcore_start_info_console_x86_32 console; /**< Console ring (domU) or console info (dom0), at offset 52. */
    uint32_t pt_base;                /**< Virtual address of the bootstrap top-level page table. */
    uint32_t nr_pt_frames;           /**< Number of bootstrap page-table frames. */
    uint32_t mfn_list;               /**< Virtual address of the initial p2m array (machine frame of each pseudo-physical frame). */
    uint32_t mod_start;              /**< Virtual address (or frame, with SIF_MOD_START_PFN) of the loaded module; 0 if none. */
    uint32_t mod_len;                /**< Size of the module in bytes. */
    int8_t cmd_line[PVCORE_MAX_GUEST_CMDLINE]; /**< Kernel command line, NUL-terminated. */
    uint32_t first_p2m_pfn;          /**< First pseudo-physical frame of the separately placed initial p2m (and its page tables), or 0. */
    uint32_t nr_p2m_frames;          /**< Number of frames of that range. */
};
/** Typedef for struct pvcore_start_info_x86_32. */
typedef struct pvcore_start_info_x86_32 pvcore_start_info_x86_32_t;

/** Start-of-day information for a 64-bit guest (1168 bytes); see struct pvcore_start_info_x86_32. */
struct pvcore_start_info_x86_64 {
    char magic[32];                  /**< "xen-<version>-<platform>", such as "xen-3.0-x86_64"; NUL-terminated. */
    uint64_t nr_pages;               /**< Number of pages allocated to the domain. */
    uint64_t shared_info;            /**< Machine address of the shared-info page. */
    uint32_t flags;                  /**< SIF_* flags. */
    uint32_t _pad0;                  /**< Padding (implicit in Xen). */
    pvcore_xen_pfn_x86_64_t store_mfn; /**< Machine frame of the xenstore ring page. */
    uint32_t store_evtchn;           /**< Event channel for xenstore. */
    uint32_t _pad1;                  /**< Padding (implicit in Xen). */
    union pvcore_start_info_console_x86_64 console; /**< Console ring (domU) or console info (dom0), at offset 72. */
    uint64_t pt_base;                /**< Virtual address of the bootstrap top-level page table. */
    uint64_t nr_pt_frames;           /**< Number of bootstrap page-table frames. */
    uint64_t mfn_list;               /**< Virtual address of the initial p2m array (machine frame of each pseudo-physical frame). */
    uint64_t mod_start;              /**< Virtual address (or frame, with SIF_MOD_START_PFN) of the loaded module; 0 if none. */
    uint64_t mod_len;                /**< Size of the module in bytes. */
    int8_t cmd_line[PVCORE_MAX_GUEST_CMDLINE]; /**< Kernel command line, NUL-terminated. */
    uint64_t first_p2m_pfn;          /**< First pseudo-physical frame of the separately placed initial p2m (and its page tables), or 0. */
    uint64_t nr_p2m_frames;          /**< Number of frames of that range. */
};
/** Typedef for struct pvcore_start_info_x86_64. */
typedef struct pvcore_start_info_x86_64 pvcore_start_info_x86_64_t;

/** @} */

/* ========================================================================================
 * Native aliases (guest-side code compiled for the guest's own width)
 * ===================================================================================== */

/**
 * @defgroup pvcore_abi_native Native-width aliases
 * @brief The layouts of the width this header is compiled for. Defined only when
 *        compiling for x86 (`__x86_64__` or `__i386__`); hypervisor code, which serves
 *        both widths, should name the `_x86_32` / `_x86_64` versions explicitly.
 * @{
 */
#if defined(__x86_64__)
/** Native `xen_ulong_t`. */
typedef pvcore_xen_ulong_x86_64_t pvcore_xen_ulong_t;
/** Native `xen_pfn_t`. */
typedef pvcore_xen_pfn_x86_64_t pvcore_xen_pfn_t;
/** Native mmuext_op. */
typedef pvcore_mmuext_op_x86_64_t pvcore_mmuext_op_t;
/** Native sched_poll. */
typedef pvcore_sched_poll_x86_64_t pvcore_sched_poll_t;
/** Native xen_platform_parameters. */
typedef pvcore_xen_platform_parameters_x86_64_t pvcore_xen_platform_parameters_t;
/** Native multicall_entry. */
typedef pvcore_multicall_entry_x86_64_t pvcore_multicall_entry_t;
/** Native trap_info. */
typedef pvcore_trap_info_x86_64_t pvcore_trap_info_t;
/** Native xen_callback. */
typedef pvcore_xen_callback_x86_64_t pvcore_xen_callback_t;
/** Native callback_register. */
typedef pvcore_callback_register_x86_64_t pvcore_callback_register_t;
/** Native arch_vcpu_info. */
typedef pvcore_arch_vcpu_info_x86_64_t pvcore_arch_vcpu_info_t;
/** Native vcpu_info. */
typedef pvcore_vcpu_info_x86_64_t pvcore_vcpu_info_t;
/** Native arch_shared_info. */
typedef pvcore_arch_shared_info_x86_64_t pvcore_arch_shared_info_t;
/** Native shared_info. */
typedef pvcore_shared_info_x86_64_t pvcore_shared_info_t;
/** Native start_info. */
typedef pvcore_start_info_x86_64_t pvcore_start_info_t;
/** Native kernel code selector. */
#define PVCORE_FLAT_KERNEL_CS PVCORE_FLAT_KERNEL_CS_X86_64
/** Native kernel data selector. */
#define PVCORE_FLAT_KERNEL_DS PVCORE_FLAT_KERNEL_DS_X86_64
/** Native kernel stack selector. */
#define PVCORE_FLAT_KERNEL_SS PVCORE_FLAT_KERNEL_SS_X86_64
/** Native user code selector. */
#define PVCORE_FLAT_USER_CS PVCORE_FLAT_USER_CS_X86_64
/** Native user data selector. */
#define PVCORE_FLAT_USER_DS PVCORE_FLAT_USER_DS_X86_64
/** Native user stack selector. */
#define PVCORE_FLAT_USER_SS PVCORE_FLAT_USER_SS_X86_64
/** Native start of the hypervisor's reserved virtual range. */
#define PVCORE_HYPERVISOR_VIRT_START PVCORE_HYPERVISOR_VIRT_START_X86_64
/** Native end of the hypervisor's reserved virtual range (64-bit only). */
#define PVCORE_HYPERVISOR_VIRT_END PVCORE_HYPERVISOR_VIRT_END_X86_64
/** Native start of the machine-to-physical table. */
#define PVCORE_MACH2PHYS_VIRT_START PVCORE_MACH2PHYS_VIRT_START_X86_64
/** Native end of the machine-to-physical table. */
#define PVCORE_MACH2PHYS_VIRT_END PVCORE_MACH2PHYS_VIRT_END_X86_64
/** Native number of machine-to-physical entries. */
#define PVCORE_MACH2PHYS_NR_ENTRIES PVCORE_MACH2PHYS_NR_ENTRIES_X86_64
#elif defined(__i386__)
/** Native `xen_ulong_t`. */
typedef pvcore_xen_ulong_x86_32_t pvcore_xen_ulong_t;
/** Native `xen_pfn_t`. */
typedef pvcore_xen_pfn_x86_32_t pvcore_xen_pfn_t;
/** Native mmuext_op. */
typedef pvcore_mmuext_op_x86_32_t pvcore_mmuext_op_t;
/** Native sched_poll. */
typedef pvcore_sched_poll_x86_32_t pvcore_sched_poll_t;
/** Native xen_platform_parameters. */
typedef pvcore_xen_platform_parameters_x86_32_t pvcore_xen_platform_parameters_t;
/** Native multicall_entry. */
typedef pvcore_multicall_entry_x86_32_t pvcore_multicall_entry_t;
/** Native trap_info. */
typedef pvcore_trap_info_x86_32_t pvcore_trap_info_t;
/** Native xen_callback. */
typedef pvcore_xen_callback_x86_32_t pvcore_xen_callback_t;
/** Native callback_register. */
typedef pvcore_callback_register_x86_32_t pvcore_callback_register_t;
/** Native arch_vcpu_info. */
typedef pvcore_arch_vcpu_info_x86_32_t pvcore_arch_vcpu_info_t;
/** Native vcpu_info. */
typedef pvcore_vcpu_info_x86_32_t pvcore_vcpu_info_t;
/** Native arch_shared_info. */
typedef pvcore_arch_shared_info_x86_32_t pvcore_arch_shared_info_t;
/** Native shared_info. */
typedef pvcore_shared_info_x86_32_t pvcore_shared_info_t;
/** Native start_info. */
typedef pvcore_start_info_x86_32_t pvcore_start_info_t;
/** Native kernel code selector. */
#define PVCORE_FLAT_KERNEL_CS PVCORE_FLAT_KERNEL_CS_X86_32
/** Native kernel data selector. */
#define PVCORE_FLAT_KERNEL_DS PVCORE_FLAT_KERNEL_DS_X86_32
/** Native kernel stack selector. */
#define PVCORE_FLAT_KERNEL_SS PVCORE_FLAT_KERNEL_SS_X86_32
/** Native user code selector. */
#define PVCORE_FLAT_USER_CS PVCORE_FLAT_USER_CS_X86_32
/** Native user data selector. */
#define PVCORE_FLAT_USER_DS PVCORE_FLAT_USER_DS_X86_32
/** Native user stack selector. */
#define PVCORE_FLAT_USER_SS PVCORE_FLAT_USER_SS_X86_32
/** Native start of the hypervisor's reserved virtual range. */
#define PVCORE_HYPERVISOR_VIRT_START PVCORE_HYPERVISOR_VIRT_START_X86_32
/** Native start of the machine-to-physical table. */
#define PVCORE_MACH2PHYS_VIRT_START PVCORE_MACH2PHYS_VIRT_START_X86_32
/** Native end of the machine-to-physical table. */
#define PVCORE_MACH2PHYS_VIRT_END PVCORE_MACH2PHYS_VIRT_END_X86_32
/** Native number of machine-to-physical entries. */
#define PVCORE_MACH2PHYS_NR_ENTRIES PVCORE_MACH2PHYS_NR_ENTRIES_X86_32
#endif
/** @} */

#endif /* PVCORE_ABI_XEN_H */
