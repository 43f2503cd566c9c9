/**
 * @file
 * @brief Privileged-instruction emulation for PV guests: what a guest kernel running
 *        outside ring 0 may still do, and the policies (CPUID, MSRs, I/O ports, debug
 *        registers) that decide it.
 *
 * A PV guest kernel runs in ring 3 (64-bit guests) or ring 1 (32-bit guests), so its
 * privileged instructions fault. pvcore_cpu_trap() hands each \#UD and \#GP to the
 * emulator first, which fetches the instruction through the copy hook (at most 15 bytes,
 * exactly the bytes it decodes, in order; a fetch that fails becomes a \#PF for the guest
 * at the first byte that could not be read) and either completes it (registers updated,
 * rip advanced; with TF set a single-step \#DB follows, as on hardware) or leaves the
 * original exception to be delivered to the guest. What it completes, Xen's rules:
 *
 * - **Forced-emulation CPUID** (\#UD): `ud2; .ascii "xen"; cpuid` (`0f 0b 78 65 6e 0f a2`)
 *   at rip, in either guest mode: CPUID from the guest's policy, rip += 7. A plain
 *   `cpuid` that faults with \#GP (the embedder enabled CPUID faulting) gets the same
 *   answer. On a machine with #PVCORE_MACHINE_CPUID_FAULTING the guest may turn on CPUID
 *   faulting of its own (MSR_PLATFORM_INFO bit 31 reads set; MSR_MISC_FEATURES_ENABLES
 *   bit 0 is writable): its user mode's `cpuid` then bounces the \#GP to its kernel, and
 *   the prefix from user mode gives \#GP at the `cpuid` after it, as on Xen.
 * - **Control registers** (guest kernel mode): CR0 reads as a fixed value
 *   (PE, MP, ET, NE, WP, AM, PG) with the virtual TS; a write may change only TS. CR2
 *   reads and writes the virtual CR2. CR3 reads the kernel base pointer (64-bit guests:
 *   `mfn << 12`; 32-bit guests: Xen's compat encoding `mfn << 12 | mfn >> 20`); a write
 *   is #PVCORE_MMUEXT_NEW_BASEPTR with the frame it names, and a refused one is a \#GP. CR4: the
 *   guest may toggle TSD and DE (when its CPUID shows TSC and DE); PAE, OSFXSR and
 *   OSXMMEXCPT always read as set; other bits keep their value (writes never fault).
 *   CR8 and the others: \#GP. `clts` clears the virtual TS.
 * - **MSRs** (guest kernel mode): a table of rules. FS_BASE, GS_BASE (the kernel GS
 *   base) and SHADOW_GS_BASE (the user GS base), 64-bit guests only, canonical values
 *   only. Reads: APIC_BASE (enabled at 0xFEE00000, BSP on vCPU 0), EFER (as the guest's
 *   mode implies; a write must not change it), PAT (Xen's 0x0000050100070406),
 *   MISC_ENABLE (Intel: performance monitoring and BTS/PEBS unavailable),
 *   PLATFORM_INFO and MISC_FEATURES_ENABLES (CPUID faulting, above), DEBUGCTL (0: no LBR
 *   or BTF for PV guests; only 0 may be written), zero for PERF_CAPABILITIES, the
 *   microcode revision and AMD's P-state and NB_CFG registers. Writes Xen drops silently: MISC_ENABLE,
 *   the microcode revision, MPERF/APERF, Intel THERM_CONTROL and ENERGY_PERF_BIAS, AMD
 *   HWCR, NB_CFG and P-state registers. Anything else: \#GP, except that a read from a
 *   guest that has registered no \#GP handler yet gives 0 (outside the hypervisor range
 *   0x40000000-0x4000FFFF), as Xen does for early boot code.
 * - **Port I/O** (`in`/`out` with an immediate or %dx port): permitted when the vCPU's
 *   virtual IOPL (#PVCORE_PHYSDEVOP_set_iopl) is at least the guest's CPL as Xen counts it
 *   (guest kernel mode is ring 1, or ring 0 with #PVCORE_VMASST_TYPE_architectural_iopl; user
 *   mode ring 3), else \#GP. A permitted access reaches the `io_port` hook if the domain
 *   was given every port it touches (pvcore_domain_ioport_permit()), except a 4-byte
 *   access to 0xCF8 and accesses starting at the RTC ports 0x70/0x71, which Xen never
 *   passes through; otherwise a read gives all ones and a write is dropped. An access
 *   that an enabled I/O breakpoint (DR7, with CR4.DE) covers ends in a \#DB.
 * - **cli/sti**: no-ops when the virtual IOPL permits them, else \#GP.
 * - **int $n** (\#GP): the vector is decoded from the instruction (not the error code).
 *   Delivered to the guest's handler when the trap table's DPL is at least 1 (guest
 *   kernel mode) or 3 (user mode), with rip after the instruction; else \#GP with error
 *   code `n << 3 | 2`.
 * - **Debug registers** (mov to/from %dr0-%dr7, set_debugreg, get_debugreg):
 *   pvcore_vcpu_set_debugreg() below.
 * - **wbinvd**: a cache flush through the `flush_cache` hook for a domain with I/O
 *   memory, a no-op for the others.
 * Everything else (hlt, lgdt, lidt, invlpg, rdtsc, xsetbv, ins/outs, ...) is left as the
 * original exception.
 *
 * @par CPUID policy
 * Derived on every query from the host's CPUID (the `cpuid` hook) by a table of the
 * bits each leaf keeps. The Xen leaves are at 0x40000000 ("XenVMMXenVMM", largest leaf
 * 0x40000002), 0x40000001 (#PVCORE_XEN_VERSION_MAJOR << 16 | #PVCORE_XEN_VERSION_MINOR)
 * and 0x40000002 (one hypercall page, MSR base 0x40000000, MMU_PT_UPDATE_PRESERVE_AD).
 * Hidden, as Xen's PV policy does: PSE, PSE36, VME, PGE, MTRR, 1 GiB pages, PCID,
 * INVPCID, SMEP, SMAP, UMIP, PKU, VMX, SVM, SMX, MONITOR, x2APIC, TSC deadline, the
 * thermal, debug-store and performance-counter features, and the topology and power
 * leaves; the hypervisor bit is set and OSXSAVE follows the guest's CR4. Hidden because
 * the library does not emulate what they need: XSAVE and everything built on it (AVX,
 * AVX2, AVX-512, FMA, F16C; xsetbv is not emulated), MCE/MCA (no machine-check MSRs),
 * RDTSCP and RDPID (no TSC_AUX), RTM and HLE, the speculation-control MSR features,
 * DBEXT. 32-bit guests see no long mode, no FSGSBASE (64-bit code only), and no SYSCALL
 * except on AMD. A 64-bit guest that sees FSGSBASE may set CR4.FSGSBASE: the embedder
 * gives the processor the guest's bit (pvcore_vcpu_cr4()) and, while it is set, tells the
 * library the bases the guest may have changed (pvcore_vcpu_set_segment_bases()). APIC
 * IDs read as 0. Without a `cpuid` hook only the Xen leaves answer.
 *
 * @par Concurrency
 * Emulation and the vCPU queries run on the vCPU's own calls (one at a time), with no
 * library lock held. pvcore_domain_ioport_permit() is thread-safe.
 */
#ifndef PVCORE_EMULATE_H
#define PVCORE_EMULATE_H

#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/domain.h>

PVCORE_BEGIN_DECLS

/** Maximum number of I/O port ranges one domain can be permitted. */
#define PVCORE_MAX_IOPORT_RANGES 16u

/**
 * @brief Permits (or stops permitting) the domain direct access to I/O ports
 *        [first, last] through the `io_port` hook.
 *
 * Ranges are kept as given (they may overlap); an access is passed through when every
 * port it touches lies in some range. Without any range, every permitted access reads
 * all ones and writes are dropped.
 *
 * @param d     The domain.
 * @param first First port.
 * @param last  Last port (inclusive).
 * @param allow Non-zero to permit, zero to revoke a range added before (exact match).
 * @return 0; -PVCORE_EINVAL if `d` is NULL or first > last; -PVCORE_ENOSPC if
 *         #PVCORE_MAX_IOPORT_RANGES ranges are in use; -PVCORE_ENOENT when revoking a
 *         range that was not added.
 * @note Thread-safe; takes the domain's MMU lock. An access in progress on another CPU
 *       may still use the old ranges.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_ioport_permit(struct pvcore_domain *d,
                                                            uint16_t first, uint16_t last,
                                                            int allow);

/**
 * @brief Sets debug register `reg` of vCPU `v` as HYPERVISOR_set_debugreg and
 *        `mov %reg, %drN` do, with Xen's checks.
 *
 * - DR0-DR3: a breakpoint address outside the hypervisor's range: a 64-bit guest's below
 *   2^47 or at or above #PVCORE_HYPERVISOR_VIRT_END_X86_64; a 32-bit guest's below
 *   #PVCORE_HYPERVISOR_VIRT_START_X86_32 (stricter than Xen, which does not check a
 *   32-bit guest's); else -PVCORE_EPERM.
 * - DR6 (and DR4 while the guest's CR4.DE is clear): the upper 32 bits must be zero
 *   (-PVCORE_EINVAL); reserved bits are forced to their fixed values.
 * - DR7 (and DR5 while CR4.DE is clear): the upper 32 bits must be zero
 *   (-PVCORE_EINVAL); reserved bits are forced; general detect (bit 13) is refused, and
 *   so is an I/O breakpoint (R/W field 2) while CR4.DE is clear (-PVCORE_EPERM). The
 *   enable bits of I/O breakpoints are kept apart: the library emulates them for
 *   `in`/`out`, and pvcore_vcpu_debugreg() leaves them out of the hardware DR7.
 * - DR4/DR5 while CR4.DE is set, and any other number: -PVCORE_ENODEV.
 * Nothing changes when the call fails.
 *
 * @param v     The vCPU.
 * @param reg   Register number.
 * @param value The value (a 32-bit guest's upper half must be zero).
 * @return 0 or a negative error above.
 * @note The embedder loads the new values (pvcore_vcpu_debugreg()) before `v` runs again.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_vcpu_set_debugreg(struct pvcore_vcpu *v, unsigned reg,
                                                         uint64_t value);

/**
 * @brief The value vCPU `v`'s hardware debug register `n` must hold while it runs.
 *
 * DR0-DR3, DR6 and DR7 as validated (DR7 without the enable bits of the I/O
 * breakpoints the library emulates); 0 for DR4, DR5 and numbers above 7.
 *
 * @param v The vCPU.
 * @param n Register number.
 * @return The value.
 */
PVCORE_API uint64_t pvcore_vcpu_debugreg(const struct pvcore_vcpu *v, unsigned n);

/**
 * @brief vCPU `v`'s virtual CR4, as the guest reads it.
 *
 * The embedder loads the guest-controlled bits (TSD, DE) into the hardware CR4 while
 * `v` runs, if it wants their hardware effect. Note that rdtsc is not emulated, so with
 * TSD loaded a guest kernel's own rdtsc reaches pvcore_cpu_trap() as a \#GP and goes to
 * the guest.
 *
 * @param v The vCPU.
 * @return The value.
 */
PVCORE_API uint64_t pvcore_vcpu_cr4(const struct pvcore_vcpu *v);

/**
 * @brief The guest's CPUID view: what vCPU `v` reads for `leaf` and `subleaf`
 *        (eax, ebx, ecx, edx in `out`), as the forced-emulation prefix answers it.
 *
 * For an embedder that serves CPUID itself (CPUID faulting, an HVM-style exit).
 * @param v       The vCPU.
 * @param leaf    The leaf (eax).
 * @param subleaf The sub-leaf (ecx).
 * @param out     The four registers.
 * @note Calls the `cpuid` hook.
 */
PVCORE_API void pvcore_vcpu_cpuid(const struct pvcore_vcpu *v, uint32_t leaf, uint32_t subleaf,
                                  uint32_t out[4]);

PVCORE_END_DECLS

#endif /* PVCORE_EMULATE_H */
