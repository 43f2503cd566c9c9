/**
 * @file
 * @brief The real x86 backend: privileged instructions, and the PTE and descriptor formats.
 *
 * This header is for embedders that build a bare-metal hypervisor on libpvcore. The
 * machine-independent core never calls it; it asks the embedder through #pvcore_host_ops,
 * and the embedder calls these functions.
 *
 * Two kinds of declarations live here:
 *
 * - **Machine operations** (`pvcore_x86_read_cr0()` ... `pvcore_x86_swapgs()`): one small
 *   assembly routine each, in `lib/arch/x86/x86_64.S` and `lib/arch/x86/i386.S`, built into
 *   the static libraries `pvcore_arch_x86_64` and `pvcore_arch_i386`. They are not in the
 *   hosted libpvcore. Unless a function says otherwise it executes a privileged instruction
 *   and must run at CPL 0 (elsewhere it raises \#GP). Each acts on the executing CPU only and
 *   holds no lock: serialising several CPUs is the caller's business.
 * - **Encoders** (constants and `static inline` functions): pure computation on integers,
 *   usable anywhere, including the host, on x86-64 and i386 alike.
 *
 * Everything compiles as C99, C11 and C++11; the routines are built for both x86-64 (SysV
 * ABI) and i386 (cdecl). #pvcore_x86_swapgs() exists on x86-64 only.
 */
#ifndef PVCORE_ARCH_X86_H
#define PVCORE_ARCH_X86_H

#include <stddef.h>
#include <stdint.h>

#include <pvcore/export.h>

PVCORE_BEGIN_DECLS

/* ---- control registers ------------------------------------------------------------------ */

/** @name CR0 bits */
/** @{ */
/** CR0.PE: protected mode enable. */
#define PVCORE_X86_CR0_PE ((uintptr_t)1 << 0)
/** CR0.MP: monitor coprocessor (`wait` honours CR0.TS). */
#define PVCORE_X86_CR0_MP ((uintptr_t)1 << 1)
/** CR0.EM: x87 emulation (x87 instructions raise \#NM). */
#define PVCORE_X86_CR0_EM ((uintptr_t)1 << 2)
/** CR0.TS: task switched (the next x87/SSE instruction raises \#NM). */
#define PVCORE_X86_CR0_TS ((uintptr_t)1 << 3)
/** CR0.ET: extension type (hard-wired to 1 on every CPU since the i486). */
#define PVCORE_X86_CR0_ET ((uintptr_t)1 << 4)
/** CR0.NE: native x87 error reporting (\#MF instead of IRQ 13). */
#define PVCORE_X86_CR0_NE ((uintptr_t)1 << 5)
/** CR0.WP: write protect (supervisor writes honour read-only pages). */
#define PVCORE_X86_CR0_WP ((uintptr_t)1 << 16)
/** CR0.AM: alignment mask (with RFLAGS.AC, enables \#AC at CPL 3). */
#define PVCORE_X86_CR0_AM ((uintptr_t)1 << 18)
/** CR0.NW: not write-through (cache control). */
#define PVCORE_X86_CR0_NW ((uintptr_t)1 << 29)
/** CR0.CD: cache disable. */
#define PVCORE_X86_CR0_CD ((uintptr_t)1 << 30)
/** CR0.PG: paging enable. */
#define PVCORE_X86_CR0_PG ((uintptr_t)1 << 31)
/** @} */

/** @name CR4 bits */
/** @{ */
/** CR4.VME: virtual-8086 mode extensions. */
#define PVCORE_X86_CR4_VME ((uintptr_t)1 << 0)
/** CR4.PVI: protected-mode virtual interrupts. */
#define PVCORE_X86_CR4_PVI ((uintptr_t)1 << 1)
/** CR4.TSD: `rdtsc` is restricted to CPL 0. */
#define PVCORE_X86_CR4_TSD ((uintptr_t)1 << 2)
/** CR4.DE: debugging extensions (DR4/DR5 raise \#UD; I/O breakpoints). */
#define PVCORE_X86_CR4_DE ((uintptr_t)1 << 3)
/** CR4.PSE: 4 MiB pages with 2-level (non-PAE) paging. */
#define PVCORE_X86_CR4_PSE ((uintptr_t)1 << 4)
/** CR4.PAE: physical address extension (required for long mode). */
#define PVCORE_X86_CR4_PAE ((uintptr_t)1 << 5)
/** CR4.MCE: machine-check exception enable. */
#define PVCORE_X86_CR4_MCE ((uintptr_t)1 << 6)
/** CR4.PGE: global pages enable. */
#define PVCORE_X86_CR4_PGE ((uintptr_t)1 << 7)
/** CR4.PCE: `rdpmc` allowed at any CPL. */
#define PVCORE_X86_CR4_PCE ((uintptr_t)1 << 8)
/** CR4.OSFXSR: the OS supports `fxsave`/`fxrstor` (enables SSE). */
#define PVCORE_X86_CR4_OSFXSR ((uintptr_t)1 << 9)
/** CR4.OSXMMEXCPT: the OS handles unmasked SIMD exceptions (\#XM). */
#define PVCORE_X86_CR4_OSXMMEXCPT ((uintptr_t)1 << 10)
/** CR4.FSGSBASE: `rdfsbase` and friends allowed at any CPL. */
#define PVCORE_X86_CR4_FSGSBASE ((uintptr_t)1 << 16)
/** CR4.PCIDE: process-context identifiers in CR3 bits 11:0 (long mode only). */
#define PVCORE_X86_CR4_PCIDE ((uintptr_t)1 << 17)
/** CR4.OSXSAVE: the OS supports `xsave` and XCR0. */
#define PVCORE_X86_CR4_OSXSAVE ((uintptr_t)1 << 18)
/** CR4.UMIP: SGDT, SIDT, SLDT, SMSW and STR raise \#GP above CPL 0 (CPUID.7.0:ECX bit 2). */
#define PVCORE_X86_CR4_UMIP ((uintptr_t)1 << 11)
/** CR4.SMEP: supervisor-mode execution prevention. */
#define PVCORE_X86_CR4_SMEP ((uintptr_t)1 << 20)
/** CR4.SMAP: supervisor-mode access prevention. */
#define PVCORE_X86_CR4_SMAP ((uintptr_t)1 << 21)
/** @} */

/* ---- MSRs ------------------------------------------------------------------------------- */

/** @name Model-specific registers */
/** @{ */
/** IA32_EFER: extended feature enables (see the PVCORE_X86_EFER_* bits). */
#define PVCORE_X86_MSR_EFER 0xC0000080u
/** STAR: `syscall`/`sysret` segment selectors (bits 47:32 and 63:48). */
#define PVCORE_X86_MSR_STAR 0xC0000081u
/** LSTAR: 64-bit `syscall` entry point. */
#define PVCORE_X86_MSR_LSTAR 0xC0000082u
/** CSTAR: compatibility-mode `syscall` entry point (AMD only; ignored by Intel). */
#define PVCORE_X86_MSR_CSTAR 0xC0000083u
/** SFMASK: RFLAGS bits cleared on `syscall`. */
#define PVCORE_X86_MSR_SFMASK 0xC0000084u
/** Another name for #PVCORE_X86_MSR_SFMASK (Intel calls it IA32_FMASK). */
#define PVCORE_X86_MSR_FMASK PVCORE_X86_MSR_SFMASK
/** FS_BASE: the FS segment base in 64-bit mode. */
#define PVCORE_X86_MSR_FS_BASE 0xC0000100u
/** GS_BASE: the active GS segment base in 64-bit mode. */
#define PVCORE_X86_MSR_GS_BASE 0xC0000101u
/** KERNEL_GS_BASE: the value `swapgs` exchanges with GS_BASE. */
#define PVCORE_X86_MSR_KERNEL_GS_BASE 0xC0000102u
/** @} */

/** @name EFER bits (#PVCORE_X86_MSR_EFER) */
/** @{ */
/** EFER.SCE: `syscall`/`sysret` enable. */
#define PVCORE_X86_EFER_SCE ((uint64_t)1 << 0)
/** EFER.LME: long mode enable (takes effect when paging is turned on). */
#define PVCORE_X86_EFER_LME ((uint64_t)1 << 8)
/** EFER.LMA: long mode active (read-only, set by the CPU). */
#define PVCORE_X86_EFER_LMA ((uint64_t)1 << 10)
/** EFER.NXE: no-execute enable (makes PTE bit 63 meaningful). */
#define PVCORE_X86_EFER_NXE ((uint64_t)1 << 11)
/** @} */

/* ---- RFLAGS ----------------------------------------------------------------------------- */

/** @name RFLAGS (EFLAGS) bits */
/** @{ */
/** CF: carry flag. */
#define PVCORE_X86_RFLAGS_CF ((uintptr_t)1 << 0)
/** Bit 1: reserved, always reads as 1 and must be written as 1. */
#define PVCORE_X86_RFLAGS_FIXED ((uintptr_t)1 << 1)
/** TF: trap flag (single-step). */
#define PVCORE_X86_RFLAGS_TF ((uintptr_t)1 << 8)
/** IF: maskable interrupts enabled. */
#define PVCORE_X86_RFLAGS_IF ((uintptr_t)1 << 9)
/** DF: direction flag (string instructions count down). */
#define PVCORE_X86_RFLAGS_DF ((uintptr_t)1 << 10)
/** IOPL: the two-bit I/O privilege level field (bits 13:12), as a mask. */
#define PVCORE_X86_RFLAGS_IOPL ((uintptr_t)3 << 12)
/** Shift of the IOPL field: `(flags & #PVCORE_X86_RFLAGS_IOPL) >> 12` is the IOPL. */
#define PVCORE_X86_RFLAGS_IOPL_SHIFT 12
/** NT: nested task. */
#define PVCORE_X86_RFLAGS_NT ((uintptr_t)1 << 14)
/** RF: resume flag (suppresses instruction breakpoints for one instruction). */
#define PVCORE_X86_RFLAGS_RF ((uintptr_t)1 << 16)
/** VM: virtual-8086 mode. */
#define PVCORE_X86_RFLAGS_VM ((uintptr_t)1 << 17)
/** AC: alignment check (and, with CR4.SMAP, supervisor access to user pages allowed). */
#define PVCORE_X86_RFLAGS_AC ((uintptr_t)1 << 18)
/** ID: writable if and only if the CPU supports `cpuid`. */
#define PVCORE_X86_RFLAGS_ID ((uintptr_t)1 << 21)
/** @} */

/* ---- exceptions ------------------------------------------------------------------------- */

/** @name Exception vectors */
/** @{ */
/** \#DE: divide error. */
#define PVCORE_X86_VEC_DE 0
/** \#DB: debug. */
#define PVCORE_X86_VEC_DB 1
/** NMI: non-maskable interrupt. */
#define PVCORE_X86_VEC_NMI 2
/** \#BP: breakpoint (`int3`). */
#define PVCORE_X86_VEC_BP 3
/** \#OF: overflow (`into`). */
#define PVCORE_X86_VEC_OF 4
/** \#BR: bound range exceeded. */
#define PVCORE_X86_VEC_BR 5
/** \#UD: invalid opcode. */
#define PVCORE_X86_VEC_UD 6
/** \#NM: device not available (x87/SSE with CR0.TS or CR0.EM set). */
#define PVCORE_X86_VEC_NM 7
/** \#DF: double fault (error code, always 0). */
#define PVCORE_X86_VEC_DF 8
/** \#TS: invalid TSS (error code: selector). */
#define PVCORE_X86_VEC_TS 10
/** \#NP: segment not present (error code: selector). */
#define PVCORE_X86_VEC_NP 11
/** \#SS: stack-segment fault (error code: selector or 0). */
#define PVCORE_X86_VEC_SS 12
/** \#GP: general protection (error code: selector or 0). */
#define PVCORE_X86_VEC_GP 13
/** \#PF: page fault (error code: the PVCORE_X86_PFEC_* bits; the address is in CR2). */
#define PVCORE_X86_VEC_PF 14
/** \#MF: x87 floating-point error. */
#define PVCORE_X86_VEC_MF 16
/** \#AC: alignment check (error code, always 0). */
#define PVCORE_X86_VEC_AC 17
/** \#MC: machine check. */
#define PVCORE_X86_VEC_MC 18
/** \#XM: SIMD floating-point exception. */
#define PVCORE_X86_VEC_XM 19
/** @} */

/** @name Page-fault error code bits (pushed with #PVCORE_X86_VEC_PF) */
/** @{ */
/** P: set if the fault was a protection violation, clear if the page was not present. */
#define PVCORE_X86_PFEC_P (1u << 0)
/** W: set if the access was a write. */
#define PVCORE_X86_PFEC_W (1u << 1)
/** U: set if the access was made at CPL 3. */
#define PVCORE_X86_PFEC_U (1u << 2)
/** RSVD: a reserved bit was set in a paging-structure entry. */
#define PVCORE_X86_PFEC_RSVD (1u << 3)
/** I: the access was an instruction fetch (reported when NX or SMEP is enabled). */
#define PVCORE_X86_PFEC_I (1u << 4)
/** @} */

/* ---- page-table entries ----------------------------------------------------------------- */

/** @name Page-table entry bits (64-bit entries: 4-level and PAE formats) */
/** @{ */
/** Present. */
#define PVCORE_X86_PTE_P ((uint64_t)1 << 0)
/** Writable. */
#define PVCORE_X86_PTE_RW ((uint64_t)1 << 1)
/** User accessible (CPL 3). */
#define PVCORE_X86_PTE_US ((uint64_t)1 << 2)
/** Page-level write-through. */
#define PVCORE_X86_PTE_PWT ((uint64_t)1 << 3)
/** Page-level cache disable. */
#define PVCORE_X86_PTE_PCD ((uint64_t)1 << 4)
/** Accessed (set by the CPU). */
#define PVCORE_X86_PTE_A ((uint64_t)1 << 5)
/** Dirty (set by the CPU on a write; leaf entries only). */
#define PVCORE_X86_PTE_D ((uint64_t)1 << 6)
/** Page size: in an L2 (or L3) entry, maps a 2 MiB (or 1 GiB) page instead of a table. */
#define PVCORE_X86_PTE_PSE ((uint64_t)1 << 7)
/** PAT index bit in an L1 entry (same position as #PVCORE_X86_PTE_PSE one level up). */
#define PVCORE_X86_PTE_PAT ((uint64_t)1 << 7)
/** Global: survives a CR3 reload when CR4.PGE is set (leaf entries only). */
#define PVCORE_X86_PTE_G ((uint64_t)1 << 8)
/** PAT index bit in a 2 MiB or 1 GiB entry (it lies inside the address field). */
#define PVCORE_X86_PTE_PAT_LARGE ((uint64_t)1 << 12)
/** No-execute (honoured when EFER.NXE is set; reserved otherwise). */
#define PVCORE_X86_PTE_NX ((uint64_t)1 << 63)
/** The machine-address field of an entry: bits 51:12. */
#define PVCORE_X86_PTE_ADDR_MASK ((uint64_t)0x000FFFFFFFFFF000)
/** @} */

/**
 * @brief Builds a page-table entry.
 * @param maddr Machine address of the frame (or next table) in bytes; bits outside 51:12
 *              are dropped.
 * @param flags PVCORE_X86_PTE_* bits, and any software bits in 11:9 or 62:52; bits
 *              inside 51:12 are dropped.
 * @return `(maddr & ADDR_MASK) | (flags & ~ADDR_MASK)`.
 */
static inline uint64_t pvcore_x86_pte(uint64_t maddr, uint64_t flags)
{
    return (maddr & PVCORE_X86_PTE_ADDR_MASK) | (flags & ~PVCORE_X86_PTE_ADDR_MASK);
}

/**
 * @brief The machine address an entry points to.
 * @param pte The entry.
 * @return Bits 51:12 of @p pte. For a 2 MiB or 1 GiB entry this includes
 *         #PVCORE_X86_PTE_PAT_LARGE; clear it yourself.
 */
static inline uint64_t pvcore_x86_pte_addr(uint64_t pte)
{
    return pte & PVCORE_X86_PTE_ADDR_MASK;
}

/**
 * @brief The flag bits of an entry.
 * @param pte The entry.
 * @return Bits 63:52 and 11:0 of @p pte (everything but the address).
 */
static inline uint64_t pvcore_x86_pte_flags(uint64_t pte)
{
    return pte & ~PVCORE_X86_PTE_ADDR_MASK;
}

/**
 * @brief Index into an L1 table (4-level paging).
 * @param va Linear address.
 * @return Bits 20:12 of @p va (0..511).
 */
static inline unsigned pvcore_x86_l1_index(uint64_t va)
{
    return (unsigned)((va >> 12) & 511u);
}

/**
 * @brief Index into an L2 table (4-level paging).
 * @param va Linear address.
 * @return Bits 29:21 of @p va (0..511).
 */
static inline unsigned pvcore_x86_l2_index(uint64_t va)
{
    return (unsigned)((va >> 21) & 511u);
}

/**
 * @brief Index into an L3 table (4-level paging).
 * @param va Linear address.
 * @return Bits 38:30 of @p va (0..511).
 */
static inline unsigned pvcore_x86_l3_index(uint64_t va)
{
    return (unsigned)((va >> 30) & 511u);
}

/**
 * @brief Index into the L4 table (4-level paging).
 * @param va Linear address (canonical or not: bits 63:48 are ignored).
 * @return Bits 47:39 of @p va (0..511).
 */
static inline unsigned pvcore_x86_l4_index(uint64_t va)
{
    return (unsigned)((va >> 39) & 511u);
}

/**
 * @brief Index into the PAE L3 table (the four-entry page-directory-pointer table).
 * @param va 32-bit linear address.
 * @return Bits 31:30 of @p va (0..3).
 */
static inline unsigned pvcore_x86_pae_l3_index(uint32_t va)
{
    return (va >> 30) & 3u;
}

/**
 * @brief Index into a PAE L2 table.
 * @param va 32-bit linear address.
 * @return Bits 29:21 of @p va (0..511).
 */
static inline unsigned pvcore_x86_pae_l2_index(uint32_t va)
{
    return (va >> 21) & 511u;
}

/**
 * @brief Index into a PAE L1 table.
 * @param va 32-bit linear address.
 * @return Bits 20:12 of @p va (0..511).
 */
static inline unsigned pvcore_x86_pae_l1_index(uint32_t va)
{
    return (va >> 12) & 511u;
}

/* ---- segment and gate descriptors ------------------------------------------------------- */

/** @name Descriptor access byte (the @p type_access argument of pvcore_x86_seg_desc()) */
/** @{ */
/** P: present. */
#define PVCORE_X86_DESC_P 0x80u
/** DPL field for privilege level @p dpl (0..3; higher bits are dropped). */
#define PVCORE_X86_DESC_DPL(dpl) (((dpl) & 3u) << 5)
/** S: code or data segment (clear for system descriptors: TSS, LDT, gates). */
#define PVCORE_X86_DESC_S 0x10u
/** Type of a code segment, execute/read (with #PVCORE_X86_DESC_S). */
#define PVCORE_X86_DESC_TYPE_CODE_XR 0xAu
/** Type of a data segment, read/write, expand-up (with #PVCORE_X86_DESC_S). */
#define PVCORE_X86_DESC_TYPE_DATA_RW 0x2u
/** Accessed bit of a code or data type (set by the CPU on first load). */
#define PVCORE_X86_DESC_TYPE_ACCESSED 0x1u
/** System type: LDT. */
#define PVCORE_X86_DESC_TYPE_LDT 0x2u
/** System type: available 32-bit or 64-bit TSS. */
#define PVCORE_X86_DESC_TYPE_TSS_AVAIL 0x9u
/** System type: busy 32-bit or 64-bit TSS (set by `ltr`). */
#define PVCORE_X86_DESC_TYPE_TSS_BUSY 0xBu
/** System type: 32-bit or 64-bit interrupt gate (clears RFLAGS.IF on entry). */
#define PVCORE_X86_DESC_TYPE_INTR_GATE 0xEu
/** System type: 32-bit or 64-bit trap gate (leaves RFLAGS.IF alone). */
#define PVCORE_X86_DESC_TYPE_TRAP_GATE 0xFu
/** @} */

/** @name Descriptor flags nibble (the @p flags argument of pvcore_x86_seg_desc()) */
/** @{ */
/** G: the limit counts 4 KiB units rather than bytes. */
#define PVCORE_X86_DESC_FLAG_G 0x8u
/** D/B: 32-bit default operand size (code) or 32-bit stack/upper bound (data). */
#define PVCORE_X86_DESC_FLAG_DB 0x4u
/** L: 64-bit code segment (then D/B must be clear). */
#define PVCORE_X86_DESC_FLAG_L 0x2u
/** AVL: available to software. */
#define PVCORE_X86_DESC_FLAG_AVL 0x1u
/** @} */

/**
 * @brief Encodes an 8-byte code or data segment descriptor (or a 32-bit system descriptor).
 * @param base Segment base address (ignored by the CPU for code/data in 64-bit mode).
 * @param limit_in_units Segment limit: the last valid offset, in bytes, or in 4 KiB units
 *        when #PVCORE_X86_DESC_FLAG_G is in @p flags. Only bits 19:0 are used.
 * @param type_access The access byte: #PVCORE_X86_DESC_P | #PVCORE_X86_DESC_DPL(n) |
 *        #PVCORE_X86_DESC_S | a type (bits 7:0 of the descriptor's second dword, 15:8).
 * @param flags The flags nibble: PVCORE_X86_DESC_FLAG_* bits. Only bits 3:0 are used.
 * @return The descriptor, as it is stored in a GDT or LDT (little-endian quadword).
 */
static inline uint64_t pvcore_x86_seg_desc(uint32_t base, uint32_t limit_in_units,
                                           uint8_t type_access, uint8_t flags)
{
    return (uint64_t)(limit_in_units & 0xFFFFu)
           | ((uint64_t)(base & 0xFFFFFFu) << 16)
           | ((uint64_t)type_access << 40)
           | ((uint64_t)((limit_in_units >> 16) & 0xFu) << 48)
           | ((uint64_t)(flags & 0xFu) << 52)
           | ((uint64_t)(base >> 24) << 56);
}

/**
 * @brief A flat 64-bit code segment descriptor (L=1, execute/read, present).
 * @param dpl Descriptor privilege level, 0..3 (higher bits are dropped).
 * @return The descriptor; ring 0 gives 0x00af9a000000ffff.
 */
static inline uint64_t pvcore_x86_code64_desc(unsigned dpl)
{
    return pvcore_x86_seg_desc(0, 0xFFFFFu,
                               (uint8_t)(PVCORE_X86_DESC_P | PVCORE_X86_DESC_DPL(dpl)
                                         | PVCORE_X86_DESC_S | PVCORE_X86_DESC_TYPE_CODE_XR),
                               (uint8_t)(PVCORE_X86_DESC_FLAG_G | PVCORE_X86_DESC_FLAG_L));
}

/**
 * @brief A flat 4 GiB 32-bit code segment descriptor (D=1, G=1, execute/read, present).
 * @param dpl Descriptor privilege level, 0..3 (higher bits are dropped).
 * @return The descriptor; ring 0 gives 0x00cf9a000000ffff.
 */
static inline uint64_t pvcore_x86_code32_desc(unsigned dpl)
{
    return pvcore_x86_seg_desc(0, 0xFFFFFu,
                               (uint8_t)(PVCORE_X86_DESC_P | PVCORE_X86_DESC_DPL(dpl)
                                         | PVCORE_X86_DESC_S | PVCORE_X86_DESC_TYPE_CODE_XR),
                               (uint8_t)(PVCORE_X86_DESC_FLAG_G | PVCORE_X86_DESC_FLAG_DB));
}

/**
 * @brief A flat 4 GiB writable data segment descriptor (B=1, G=1, read/write, present).
 *
 * Serves as data and stack segment in both 32-bit and 64-bit mode.
 * @param dpl Descriptor privilege level, 0..3 (higher bits are dropped).
 * @return The descriptor; ring 0 gives 0x00cf92000000ffff.
 */
static inline uint64_t pvcore_x86_data_desc(unsigned dpl)
{
    return pvcore_x86_seg_desc(0, 0xFFFFFu,
                               (uint8_t)(PVCORE_X86_DESC_P | PVCORE_X86_DESC_DPL(dpl)
                                         | PVCORE_X86_DESC_S | PVCORE_X86_DESC_TYPE_DATA_RW),
                               (uint8_t)(PVCORE_X86_DESC_FLAG_G | PVCORE_X86_DESC_FLAG_DB));
}

/**
 * @brief The 64-bit task-state segment (104 bytes, no I/O permission bitmap).
 *
 * The CPU reads it at the address in the TSS descriptor loaded by pvcore_x86_ltr(). It has
 * no alignment requirement, but should not cross a page boundary.
 */
struct pvcore_x86_tss64 {
    uint32_t reserved0;  /**< Reserved; write 0. */
    uint64_t rsp[3];     /**< Stack pointers loaded on a privilege change to ring 0, 1, 2. */
    uint64_t reserved1;  /**< Reserved; write 0. */
    uint64_t ist[7];     /**< Interrupt stacks: ist[n - 1] is IST n of pvcore_x86_gate64(). */
    uint64_t reserved2;  /**< Reserved; write 0. */
    uint16_t reserved3;  /**< Reserved; write 0. */
    uint16_t iomap_base; /**< Offset of the I/O bitmap; 104 (or more) means none. */
}
#if defined(__GNUC__) || defined(__clang__)
__attribute__((packed))
#endif
;

/** @cond PVCORE_INTERNAL */
#if defined(__cplusplus) && __cplusplus >= 201103L
static_assert(sizeof(struct pvcore_x86_tss64) == 104, "TSS64 layout");
static_assert(offsetof(struct pvcore_x86_tss64, ist) == 36, "TSS64 layout");
static_assert(offsetof(struct pvcore_x86_tss64, iomap_base) == 102, "TSS64 layout");
#elif !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct pvcore_x86_tss64) == 104, "TSS64 layout");
_Static_assert(offsetof(struct pvcore_x86_tss64, ist) == 36, "TSS64 layout");
_Static_assert(offsetof(struct pvcore_x86_tss64, iomap_base) == 102, "TSS64 layout");
#endif
/** @endcond */

/**
 * @brief Encodes the 16-byte GDT descriptor of a 64-bit TSS (available, present, DPL 0).
 * @param out Receives the descriptor: out[0] goes in GDT slot n, out[1] in slot n + 1.
 * @param base Linear address of the TSS (all 64 bits).
 * @param limit Last valid byte offset of the TSS (its size minus 1, e.g. 103 for a
 *        #pvcore_x86_tss64 alone), byte-granular; only bits 19:0 are used.
 */
static inline void pvcore_x86_tss64_desc(uint64_t out[2], uint64_t base, uint32_t limit)
{
    out[0] = pvcore_x86_seg_desc((uint32_t)(base & 0xFFFFFFFFu), limit,
                                 (uint8_t)(PVCORE_X86_DESC_P | PVCORE_X86_DESC_TYPE_TSS_AVAIL), 0);
    out[1] = base >> 32;
}

/**
 * @brief Encodes the 16-byte GDT descriptor of an LDT in long mode (present, DPL 0).
 * @param out Receives the descriptor: out[0] goes in GDT slot n, out[1] in slot n + 1.
 * @param base Linear address of the LDT (all 64 bits).
 * @param limit Last valid byte offset (entries x 8 - 1), byte-granular; bits 19:0 used.
 */
static inline void pvcore_x86_ldt64_desc(uint64_t out[2], uint64_t base, uint32_t limit)
{
    out[0] = pvcore_x86_seg_desc((uint32_t)(base & 0xFFFFFFFFu), limit,
                                 (uint8_t)(PVCORE_X86_DESC_P | PVCORE_X86_DESC_TYPE_LDT), 0);
    out[1] = base >> 32;
}

/** A 16-byte 64-bit IDT gate, in the order it is stored in the IDT. */
struct pvcore_x86_gate64 {
    uint64_t lo; /**< Offset 31:16, P, DPL, type, IST, selector, offset 15:0. */
    uint64_t hi; /**< Offset 63:32 in bits 31:0; bits 63:32 reserved (zero). */
};

/* The function shares its name with the struct; g++ -Wshadow objects to that in C++. */
#if defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#endif
/**
 * @brief Encodes a 64-bit interrupt or trap gate.
 * @param handler Linear address of the handler.
 * @param selector Code segment selector of the handler (a 64-bit code segment).
 * @param ist Interrupt stack table index: 0 for none, 1..7 for
 *        #pvcore_x86_tss64.ist[ist - 1]; only bits 2:0 are used.
 * @param dpl Highest CPL allowed to reach the gate with `int n`, 0..3 (higher bits are
 *        dropped). Exceptions and interrupts ignore it.
 * @param trap Non-zero for a trap gate (type 0xF, RFLAGS.IF unchanged), zero for an
 *        interrupt gate (type 0xE, RFLAGS.IF cleared on entry).
 * @return The present gate.
 */
static inline struct pvcore_x86_gate64 pvcore_x86_gate64(uint64_t handler, uint16_t selector,
                                                         unsigned ist, unsigned dpl, int trap)
{
    struct pvcore_x86_gate64 g;
    uint64_t type = trap ? PVCORE_X86_DESC_TYPE_TRAP_GATE : PVCORE_X86_DESC_TYPE_INTR_GATE;
    g.lo = (handler & 0xFFFFu)
           | ((uint64_t)selector << 16)
           | ((uint64_t)(ist & 7u) << 32)
           | (type << 40)
           | ((uint64_t)PVCORE_X86_DESC_DPL(dpl) << 40)
           | ((uint64_t)PVCORE_X86_DESC_P << 40)
           | (((handler >> 16) & 0xFFFFu) << 48);
    g.hi = handler >> 32;
    return g;
}
#if defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/**
 * @brief Encodes a 32-bit interrupt or trap gate (for an i386 IDT).
 * @param handler Linear address of the handler.
 * @param selector Code segment selector of the handler (a 32-bit code segment).
 * @param dpl Highest CPL allowed to reach the gate with `int n`, 0..3 (higher bits are
 *        dropped).
 * @param trap Non-zero for a trap gate (type 0xF), zero for an interrupt gate (type 0xE).
 * @return The present gate, as stored in the IDT.
 */
static inline uint64_t pvcore_x86_gate32(uint32_t handler, uint16_t selector, unsigned dpl,
                                         int trap)
{
    uint64_t type = trap ? PVCORE_X86_DESC_TYPE_TRAP_GATE : PVCORE_X86_DESC_TYPE_INTR_GATE;
    return (uint64_t)(handler & 0xFFFFu)
           | ((uint64_t)selector << 16)
           | (type << 40)
           | ((uint64_t)PVCORE_X86_DESC_DPL(dpl) << 40)
           | ((uint64_t)PVCORE_X86_DESC_P << 40)
           | ((uint64_t)(handler >> 16) << 48);
}

/* ---- machine operations (lib/arch/x86/{x86_64,i386}.S) ---------------------------------- */

/**
 * @brief Reads CR0. CPL 0 only.
 * @return CR0 (PVCORE_X86_CR0_* bits).
 */
PVCORE_API uintptr_t pvcore_x86_read_cr0(void);

/**
 * @brief Writes CR0. CPL 0 only.
 *
 * Setting a reserved bit, PG without PE, or NW without CD raises \#GP.
 * @param value The new CR0.
 */
PVCORE_API void pvcore_x86_write_cr0(uintptr_t value);

/**
 * @brief Reads CR2, the linear address of the last page fault. CPL 0 only.
 *
 * Read it early in the \#PF handler, before anything can fault again.
 * @return CR2.
 */
PVCORE_API uintptr_t pvcore_x86_read_cr2(void);

/**
 * @brief Reads the data segment selectors: `out` receives ds, es, fs and gs, in that
 *        order (a hypervisor that never reloads them reads a guest's here).
 * @param out Four selectors.
 */
PVCORE_API void pvcore_x86_read_data_segments(uint16_t out[4]);

/**
 * @brief Reads CR3 (the machine address of the top-level page table, plus PCID or PWT/PCD).
 * CPL 0 only.
 * @return CR3.
 */
PVCORE_API uintptr_t pvcore_x86_read_cr3(void);

/**
 * @brief Writes CR3: switches address space. CPL 0 only.
 *
 * Flushes the non-global TLB entries (of the new PCID only, with CR4.PCIDE set; with
 * PCIDE, bit 63 set keeps them). In PAE mode the four L3 entries are loaded now.
 * @param value Machine address of the top-level table (4 KiB aligned in long mode,
 *        32-byte aligned for PAE) with PWT/PCD or a PCID in the low bits.
 */
PVCORE_API void pvcore_x86_write_cr3(uintptr_t value);

/**
 * @brief Reads CR4. CPL 0 only.
 * @return CR4 (PVCORE_X86_CR4_* bits).
 */
PVCORE_API uintptr_t pvcore_x86_read_cr4(void);

/**
 * @brief Writes CR4. CPL 0 only.
 *
 * Changing PGE, PAE, PSE, PCIDE or SMEP flushes the TLB. Setting an unsupported bit raises
 * \#GP.
 * @param value The new CR4.
 */
PVCORE_API void pvcore_x86_write_cr4(uintptr_t value);

/**
 * @brief Loads the GDT register. CPL 0 only.
 *
 * The CPU keeps using the segment registers already loaded; call
 * pvcore_x86_load_segments() to reload them from the new table.
 * @param base Linear address of the first descriptor (8-byte aligned for speed).
 * @param limit Size of the table in bytes minus 1 (e.g. 8 * entries - 1).
 */
PVCORE_API void pvcore_x86_lgdt(const void *base, uint16_t limit);

/**
 * @brief Loads the IDT register. CPL 0 only.
 * @param base Linear address of the first gate (16-byte gates on x86-64, 8-byte on i386).
 * @param limit Size of the table in bytes minus 1 (e.g. 16 * 256 - 1 on x86-64).
 */
PVCORE_API void pvcore_x86_lidt(const void *base, uint16_t limit);

/**
 * @brief Loads the task register. CPL 0 only.
 *
 * The descriptor must be an available TSS (see pvcore_x86_tss64_desc()); the CPU marks it
 * busy, so loading the same selector again raises \#GP until the type is reset to available.
 * @param selector GDT selector of the TSS descriptor.
 */
PVCORE_API void pvcore_x86_ltr(uint16_t selector);

/**
 * @brief Writes debug register `n` (0-3, 6 or 7). CPL 0 only.
 * @param n The register; any other number does nothing.
 * @param value The value (a breakpoint address, or the DR6/DR7 image).
 */
PVCORE_API void pvcore_x86_write_dr(unsigned n, uintptr_t value);

/**
 * @brief Reads debug register `n` (0-3, 6 or 7). CPL 0 only.
 * @param n The register; any other number reads 0.
 * @return Its value.
 */
PVCORE_API uintptr_t pvcore_x86_read_dr(unsigned n);

/**
 * @brief Loads the LDT register. CPL 0 only.
 * @param selector GDT selector of an LDT descriptor (see pvcore_x86_ldt64_desc()), or 0
 *        for no LDT.
 */
PVCORE_API void pvcore_x86_lldt(uint16_t selector);

/**
 * @brief Reloads every segment register from the current GDT. CPL 0 only.
 *
 * Sets DS, ES and SS to @p ds, FS and GS to the null selector, then reloads CS with a far
 * return, so execution continues after the call in the new code segment.
 *
 * On x86-64, loading the null selector into FS and GS clears their bases on Intel CPUs
 * (and on AMD CPUs that report NullSelectorClearsBase); older AMD CPUs keep the old bases.
 * Treat FS_BASE and GS_BASE as undefined afterwards and set them with pvcore_x86_wrmsr()
 * (#PVCORE_X86_MSR_FS_BASE, #PVCORE_X86_MSR_GS_BASE). KERNEL_GS_BASE is unaffected.
 * @param cs Code segment selector (a 64-bit code segment on x86-64, 32-bit on i386), with
 *        RPL equal to the current CPL (0).
 * @param ds Data segment selector for DS, ES and SS: a writable data segment with DPL and
 *        RPL 0.
 */
PVCORE_API void pvcore_x86_load_segments(uint16_t cs, uint16_t ds);

/**
 * @brief Invalidates the TLB entries (global or not) for one page on this CPU. CPL 0 only.
 * @param va Any linear address inside the page.
 */
PVCORE_API void pvcore_x86_invlpg(uintptr_t va);

/**
 * @brief Flushes the non-global TLB entries of this CPU by reloading CR3. CPL 0 only.
 *
 * Global entries survive. With CR4.PCIDE set, only the current PCID is flushed.
 */
PVCORE_API void pvcore_x86_flush_tlb(void);

/**
 * @brief Flushes every TLB entry of this CPU, global ones included. CPL 0 only.
 *
 * Toggles CR4.PGE off and on (which also flushes every PCID) with interrupts disabled
 * during the toggle; RFLAGS.IF is restored afterwards. If CR4.PGE is clear there are no
 * global entries and CR3 is reloaded instead (with CR4.PCIDE set, that flushes only the
 * current PCID).
 */
PVCORE_API void pvcore_x86_flush_tlb_global(void);

/**
 * @brief Reads a model-specific register. CPL 0 only.
 *
 * An MSR the CPU does not implement raises \#GP.
 * @param msr MSR number (e.g. #PVCORE_X86_MSR_EFER).
 * @return The 64-bit value (EDX:EAX).
 */
PVCORE_API uint64_t pvcore_x86_rdmsr(uint32_t msr);

/**
 * @brief Writes a model-specific register. CPL 0 only.
 *
 * An unimplemented MSR or a reserved bit set raises \#GP; address MSRs (FS_BASE, LSTAR,
 * ...) require a canonical value.
 * @param msr MSR number (e.g. #PVCORE_X86_MSR_LSTAR).
 * @param value The 64-bit value (written as EDX:EAX).
 */
PVCORE_API void pvcore_x86_wrmsr(uint32_t msr, uint64_t value);

/**
 * @brief Writes a byte to an I/O port. CPL 0, or CPL <= IOPL, or allowed by the I/O bitmap.
 * @param port I/O port number.
 * @param v The byte.
 */
PVCORE_API void pvcore_x86_outb(uint16_t port, uint8_t v);

/**
 * @brief Reads a byte from an I/O port. CPL 0, or CPL <= IOPL, or allowed by the I/O bitmap.
 * @param port I/O port number.
 * @return The byte read.
 */
PVCORE_API uint8_t pvcore_x86_inb(uint16_t port);

/**
 * @brief Writes a doubleword to an I/O port. CPL 0, or CPL <= IOPL, or allowed by the I/O
 * bitmap.
 * @param port I/O port number (4-byte aligned for most devices).
 * @param v The doubleword.
 */
PVCORE_API void pvcore_x86_outl(uint16_t port, uint32_t v);

/**
 * @brief Executes `cpuid`. Any CPL (unless CPUID faulting is enabled).
 * @param leaf The leaf (EAX input).
 * @param subleaf The subleaf (ECX input); ignored by leaves that have none.
 * @param out Receives EAX, EBX, ECX, EDX in that order.
 */
PVCORE_API void pvcore_x86_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

/**
 * @brief Writes back and invalidates every cache of this CPU. CPL 0 only.
 *
 * Slow (it can take milliseconds) and not interruptible.
 */
PVCORE_API void pvcore_x86_wbinvd(void);

/** @brief Disables maskable interrupts on this CPU (clears RFLAGS.IF). CPL <= IOPL. */
PVCORE_API void pvcore_x86_cli(void);

/**
 * @brief Enables maskable interrupts on this CPU (sets RFLAGS.IF). CPL <= IOPL.
 *
 * Interrupts are recognised only after the instruction following `sti`, i.e. once this
 * function has returned.
 */
PVCORE_API void pvcore_x86_sti(void);

/**
 * @brief Halts this CPU until the next interrupt, NMI or reset. CPL 0 only.
 *
 * With RFLAGS.IF set it returns after the interrupt handler has run; with IF clear only an
 * NMI, SMI, INIT or reset wakes it.
 */
PVCORE_API void pvcore_x86_hlt(void);

/**
 * @brief Reads RFLAGS (EFLAGS on i386). Any CPL.
 * @return RFLAGS (PVCORE_X86_RFLAGS_* bits); e.g. test #PVCORE_X86_RFLAGS_IF to learn
 *         whether interrupts are enabled.
 */
PVCORE_API uintptr_t pvcore_x86_read_flags(void);

/**
 * @brief Reads the time-stamp counter (rdtsc). Any CPL unless CR4.TSD is set.
 *
 * Not serialising: earlier instructions may still be in flight.
 * @return The 64-bit TSC (edx:eax).
 */
PVCORE_API uint64_t pvcore_x86_rdtsc(void);

/**
 * @brief Saves the x87, MMX and SSE state (and MXCSR) into `area` with `fxsave` (64-bit
 *        layout on x86-64: `fxsave64`). Any CPL.
 *
 * Needs CR4.OSFXSR for the SSE registers to be included, and CR0.TS and CR0.EM clear
 * (otherwise \#NM or \#UD). A hypervisor saves a vCPU's state here when it switches to
 * another one.
 * @param area 512 bytes, 16-byte aligned (\#GP otherwise).
 */
PVCORE_API void pvcore_x86_fxsave(void *area);

/**
 * @brief Loads the x87, MMX and SSE state (and MXCSR) from `area` with `fxrstor`
 *        (`fxrstor64` on x86-64). Any CPL.
 *
 * As pvcore_x86_fxsave(): CR0.TS and CR0.EM clear. A reserved MXCSR bit set in `area`
 * raises \#GP; an area of zeroes is accepted (every x87 register empty, MXCSR 0: all SIMD
 * exceptions unmasked, unlike the reset value 0x1F80).
 * @param area 512 bytes, 16-byte aligned, as written by pvcore_x86_fxsave().
 */
PVCORE_API void pvcore_x86_fxrstor(const void *area);

#if defined(__x86_64__)
/**
 * @brief Exchanges GS_BASE with KERNEL_GS_BASE. CPL 0 only; x86-64 only.
 *
 * Used on entry from and exit to a 64-bit guest kernel or user so that GS points at
 * per-CPU data while the hypervisor runs.
 */
PVCORE_API void pvcore_x86_swapgs(void);
#endif

PVCORE_END_DECLS

#endif /* PVCORE_ARCH_X86_H */
