/*
 * Privileged-instruction emulation for PV guests (<pvcore/emulate.h>): a small decoder
 * for the instructions a guest kernel outside ring 0 may still use, and the policies that
 * decide them (CPUID, MSRs, I/O ports, debug registers) as tables.
 *
 * Every instruction byte is guest memory, read through the copy hook with no lock held,
 * and may change under us (another vCPU writes it): the decoder fetches exactly the bytes
 * it consumes, in order, never more than 15, and anything it does not recognise is left
 * as the original exception. The rules are Xen's (pv/emul-priv-op.c, pv/emul-inv-op.c,
 * the PV CPUID policy, set_debugreg), written down as data where they are data.
 */
#include <pvcore/abi/physdev.h>
#include <pvcore/abi/xen.h>
#include <pvcore/mmu.h>

#include "internal/domain.h"
#include "internal/emulate.h"
#include "internal/guestmem.h"
#include "internal/hypercall.h"


#define CR0_TS 0x8u
/* What the guest reads besides TS: PE, MP, ET, NE, WP, AM, PG. */
#define CR0_FIXED 0x80050033u

#define CR4_TSD (1u << 2)
#define CR4_DE (1u << 3)
#define CR4_PAE (1u << 5)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_FSGSBASE (1u << 16)
#define CR4_OSXSAVE (1u << 18)
#define CR4_PKE (1u << 22)
/* Xen's PV_CR4_GUEST_MASK (what the guest toggles, if its CPUID shows the feature) and
 * the hardware bits it always sees (PV_CR4_GUEST_VISIBLE_MASK without MCE, which the
 * policy hides). */
#define CR4_GUEST_MASK (CR4_TSD | CR4_DE | CR4_FSGSBASE | CR4_OSXSAVE)
#define CR4_VISIBLE (CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT)
_Static_assert(CR4_VISIBLE == EMULATE_CR4_VISIBLE, "one value of the visible CR4 bits");

#define DR6_BS 0x4000u
#define DR7_GD 0x2000u
#define DR7_ACTIVE 0xFFu
#define DR7_RW_IO 2u


#define INSN_MAX 15u

/* ---- registers ---------------------------------------------------------------------------- */

/* General register n (x86 numbering: rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8-r15). */
static const uint8_t gpr_off[16] = {
    offsetof(struct pvcore_cpu_regs, rax), offsetof(struct pvcore_cpu_regs, rcx),
    offsetof(struct pvcore_cpu_regs, rdx), offsetof(struct pvcore_cpu_regs, rbx),
    offsetof(struct pvcore_cpu_regs, rsp), offsetof(struct pvcore_cpu_regs, rbp),
    offsetof(struct pvcore_cpu_regs, rsi), offsetof(struct pvcore_cpu_regs, rdi),
    offsetof(struct pvcore_cpu_regs, r8),  offsetof(struct pvcore_cpu_regs, r9),
    offsetof(struct pvcore_cpu_regs, r10), offsetof(struct pvcore_cpu_regs, r11),
    offsetof(struct pvcore_cpu_regs, r12), offsetof(struct pvcore_cpu_regs, r13),
    offsetof(struct pvcore_cpu_regs, r14), offsetof(struct pvcore_cpu_regs, r15),
};

static uint64_t *gpr(struct pvcore_cpu_regs *r, unsigned n)
{
    return (uint64_t *)(void *)((unsigned char *)r + gpr_off[n & 15u]);
}

/* ---- CPUID policy ----------------------------------------------------------------------- */

#define ALL 0xFFFFFFFFu
#define ANY_SUB 0xFFFFFFFFu
#define BIT(n) (1u << (n))

#define VENDOR_OTHER 0
#define VENDOR_INTEL 1
#define VENDOR_AMD 2 /* AMD and Hygon */

/* Leaf 1 edx: FPU DE TSC MSR PAE CX8 APIC SEP CMOV PAT CLFLUSH ACPI MMX FXSR SSE SSE2 SS
 * HTT. Hidden: VME PSE PGE MTRR PSE36 PSN DS TM PBE (Xen's PV policy), MCE MCA (no
 * machine-check MSRs here). */
#define L1_EDX (BIT(0) | BIT(2) | BIT(4) | BIT(5) | BIT(6) | BIT(8) | BIT(9) | BIT(11) | \
                BIT(15) | BIT(16) | BIT(19) | BIT(22) | BIT(23) | BIT(24) | BIT(25) | \
                BIT(26) | BIT(27) | BIT(28))
/* Leaf 1 ecx: SSE3 PCLMULQDQ SSSE3 CX16 SSE4.1 SSE4.2 MOVBE POPCNT AES RDRAND. Hidden:
 * DTES64 MONITOR DSCPL VMX SMX EIST TM2 CNXT-ID SDBG XTPR PDCM PCID DCA X2APIC
 * TSC-deadline (Xen), XSAVE OSXSAVE AVX FMA F16C (xsetbv is not emulated). */
#define L1_ECX (BIT(0) | BIT(1) | BIT(9) | BIT(13) | BIT(19) | BIT(20) | BIT(22) | BIT(23) | \
                BIT(25) | BIT(30))
#define L1_ECX_OSXSAVE BIT(27)
#define L1_ECX_HYPERVISOR BIT(31)
#define L1_EDX_TSC BIT(4)
#define L1_EDX_DE BIT(2)
/* Leaf 7.0 ebx: FSGSBASE (64-bit guests: the instructions work in 64-bit code only, and
 * the embedder gives the processor the guest's CR4.FSGSBASE) BMI1 FDP_EXCP_ONLY BMI2 ERMS
 * NO_FPU_SEL RDSEED ADX CLFLUSHOPT CLWB SHA. Hidden: TSC_ADJUST SGX HLE AVX2 SMEP INVPCID
 * RTM PQM MPX PQE AVX-512* SMAP. */
#define L7_EBX (BIT(0) | BIT(3) | BIT(6) | BIT(8) | BIT(9) | BIT(13) | BIT(18) | BIT(19) | \
                BIT(23) | BIT(24) | BIT(29))
#define L7_EBX_FSGSBASE BIT(0)
/* Leaf 7.0 ecx: PREFETCHWT1 GFNI CLDEMOTE. Hidden: UMIP PKU OSPKE CET, the AVX-based
 * ones, RDPID (no TSC_AUX), MOVDIRI (off by default in Xen). */
#define L7_ECX (BIT(0) | BIT(8) | BIT(25))
#define L7_ECX_OSPKE BIT(4)
/* Leaf 7.0 edx: FSRM MD_CLEAR. Hidden: the speculation-control MSR features. */
#define L7_EDX (BIT(4) | BIT(10))
/* 0x80000001 edx: SYSCALL NX MMXEXT FFXSR LM 3DNOWEXT 3DNOW. Hidden: 1 GiB pages,
 * RDTSCP. On AMD the leaf-1 mirror bits follow the guest's leaf 1. */
#define E1_EDX (BIT(11) | BIT(20) | BIT(22) | BIT(25) | BIT(29) | BIT(30) | BIT(31))
#define E1_EDX_SYSCALL BIT(11)
#define E1_EDX_NX BIT(20)
#define E1_EDX_LM BIT(29)
#define E1_EDX_COMMON 0x0183F3FFu /* AMD's copy of leaf 1 edx bits 0-9, 12-17, 23, 24 */
/* 0x80000001 ecx: LAHF_LM CMP_LEGACY ABM SSE4A MISALIGNSSE 3DNOWPREFETCH TBM. Hidden:
 * SVM EXTAPIC CR8_LEGACY OSVW IBS XOP SKINIT WDT LWP FMA4 NODEID TOPOEXT DBEXT
 * MONITORX. */
#define E1_ECX (BIT(0) | BIT(1) | BIT(5) | BIT(6) | BIT(7) | BIT(8) | BIT(21))
/* 0x80000008 ebx: CLZERO RSTR_FP_ERR_PTRS SSB_NO BTC_NO. Hidden: IBPB and the
 * speculation-control MSR features. */
#define E8_EBX (BIT(0) | BIT(2) | BIT(26) | BIT(29))

#define BASIC_MAX 0x0000000Du
#define EXTD_MAX 0x80000008u
#define XEN_LEAF 0x40000000u
#define XEN_LEAF_MAX (XEN_LEAF + 2u)

/* A leaf the guest sees: the host's bits it keeps (eax, ebx, ecx, edx). Leaves not listed
 * (within the host's ranges) read as zero: MONITOR, thermal/power, topology, xstate,
 * performance counters, and the rest of what Xen zeroes. */
struct cpuid_rule {
    uint32_t leaf;
    uint32_t subleaf; /* ANY_SUB: every sub-leaf */
    uint32_t keep[4];
};

static const struct cpuid_rule cpuid_rules[] = {
    { 0x00000000u, ANY_SUB, { ALL, ALL, ALL, ALL } },           /* eax clamped below */
    { 0x00000001u, ANY_SUB, { 0x0FFF0FFFu, 0x00FFFFFFu, L1_ECX, L1_EDX } }, /* APIC ID 0 */
    { 0x00000002u, ANY_SUB, { ALL, ALL, ALL, ALL } },           /* cache descriptors */
    { 0x00000004u, ANY_SUB, { 0xFFFFC3FFu, ALL, ALL, 0x7u } },  /* cache parameters */
    { 0x00000007u, 0, { 0, L7_EBX, L7_ECX, L7_EDX } },          /* sub-leaf 0 only */
    { 0x80000000u, ANY_SUB, { ALL, ALL, ALL, ALL } },           /* eax clamped below */
    { 0x80000001u, ANY_SUB, { ALL, 0xFF00FFFFu, E1_ECX, E1_EDX } },
    { 0x80000002u, ANY_SUB, { ALL, ALL, ALL, ALL } },           /* brand string */
    { 0x80000003u, ANY_SUB, { ALL, ALL, ALL, ALL } },
    { 0x80000004u, ANY_SUB, { ALL, ALL, ALL, ALL } },
    { 0x80000005u, ANY_SUB, { ALL, ALL, ALL, ALL } },           /* L1 caches, TLBs */
    { 0x80000006u, ANY_SUB, { ALL, ALL, ALL, ALL } },           /* L2/L3 caches */
    { 0x80000008u, ANY_SUB, { 0x0000FFFFu, E8_EBX, 0x0003F0FFu, 0 } }, /* address widths */
};

static void host_cpuid(const struct machine *m, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    out[0] = out[1] = out[2] = out[3] = 0;
    if (m->ops->cpuid != NULL) {
        m->ops->cpuid(m->ctx, leaf, subleaf, out);
    }
}

static int vendor_of(const uint32_t leaf0[4])
{
    /* "GenuineIntel", "AuthenticAMD", "HygonGenuine" by their ebx word. */
    if (leaf0[1] == 0x756E6547u) {
        return VENDOR_INTEL;
    }
    if (leaf0[1] == 0x68747541u || leaf0[1] == 0x6F677948u) {
        return VENDOR_AMD;
    }
    return VENDOR_OTHER;
}

static void xen_leaves(uint32_t leaf, uint32_t out[4])
{
    switch (leaf) {
    case XEN_LEAF:
        out[0] = XEN_LEAF_MAX;
        out[1] = 0x566E6558u; /* "XenVMMXenVMM" */
        out[2] = 0x65584D4Du;
        out[3] = 0x4D4D566Eu;
        break;
    case XEN_LEAF + 1u:
        out[0] = (uint32_t)PVCORE_XEN_VERSION_MAJOR << 16 | PVCORE_XEN_VERSION_MINOR;
        break;
    case XEN_LEAF + 2u:
        out[0] = 1;        /* hypercall pages */
        out[1] = XEN_LEAF; /* MSR base */
        out[2] = BIT(0);   /* XEN_CPUID_FEAT1_MMU_PT_UPDATE_PRESERVE_AD */
        break;
    default:
        break;
    }
}

/* The static pass: the host's leaf through the table. */
static void policy_static(const struct machine *m, uint32_t leaf, uint32_t subleaf,
                          uint32_t out[4], int *vendor)
{
    uint32_t l0[4], host[4], max;
    unsigned i, k;

    out[0] = out[1] = out[2] = out[3] = 0;
    host_cpuid(m, 0, 0, l0);
    *vendor = vendor_of(l0);
    if (leaf < 0x40000000u) {
        max = l0[0] < BASIC_MAX ? l0[0] : BASIC_MAX;
    } else if (leaf >= 0x80000000u) {
        host_cpuid(m, 0x80000000u, 0, host);
        max = host[0] < EXTD_MAX ? host[0] : EXTD_MAX;
    } else {
        return;
    }
    /* Out-of-range leaves read as zero (the AMD model, as Xen answers). */
    if (leaf > max) {
        return;
    }
    for (i = 0; i < sizeof(cpuid_rules) / sizeof(cpuid_rules[0]); i++) {
        const struct cpuid_rule *r = &cpuid_rules[i];

        if (r->leaf != leaf || (r->subleaf != ANY_SUB && r->subleaf != subleaf)) {
            continue;
        }
        host_cpuid(m, leaf, subleaf, host);
        for (k = 0; k < 4; k++) {
            out[k] = host[k] & r->keep[k];
        }
        if (leaf == 0 || leaf == 0x80000000u) {
            out[0] = max;
        }
        return;
    }
}

void emulate_cpuid(const struct vcpu *v, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    const struct machine *m = v->d->m;
    int vendor;

    if (leaf >= XEN_LEAF && leaf <= XEN_LEAF + 0xFFu) {
        out[0] = out[1] = out[2] = out[3] = 0;
        xen_leaves(leaf, out);
        return;
    }
    policy_static(m, leaf, subleaf, out, &vendor);
    /* The dynamic pass: bits that follow the vCPU's state or the guest's kind. */
    switch (leaf) {
    case 1:
        if (out[0] == 0 && out[3] == 0) {
            break; /* no host leaf 1 */
        }
        out[2] |= L1_ECX_HYPERVISOR;
        if (v->cpu.cr4 & CR4_OSXSAVE) {
            out[2] |= L1_ECX_OSXSAVE;
        }
        break;
    case 7:
        if (subleaf == 0 && (v->cpu.cr4 & CR4_PKE)) {
            out[2] |= L7_ECX_OSPKE;
        }
        if (domain_is_32(v->d)) {
            out[1] &= ~L7_EBX_FSGSBASE;
        }
        break;
    case 0x80000001u: {
        uint32_t l1[4];

        out[3] &= ~E1_EDX_COMMON;
        if (vendor == VENDOR_AMD) {
            policy_static(m, 1, 0, l1, &vendor);
            out[3] |= l1[3] & E1_EDX_COMMON;
        }
        if (domain_is_32(v->d)) {
            /* No long mode, and SYSCALL only where it works outside it (AMD). */
            out[3] &= ~E1_EDX_LM;
            if (vendor != VENDOR_AMD) {
                out[3] &= ~E1_EDX_SYSCALL;
            }
        }
        break;
    }
    default:
        break;
    }
}

void pvcore_vcpu_cpuid(const struct pvcore_vcpu *pv, uint32_t leaf, uint32_t subleaf,
                       uint32_t out[4])
{
    emulate_cpuid((const struct vcpu *)(const void *)pv, leaf, subleaf, out);
}

/* ---- vCPU state ------------------------------------------------------------------------- */

uint64_t pvcore_vcpu_cr4(const struct pvcore_vcpu *pv)
{
    return ((const struct vcpu *)(const void *)pv)->cpu.cr4;
}

/* Xen's pv_fixup_guest_cr4: the guest's choice of the bits it controls, within its
 * policy, and the hardware bits it always sees. */
static uint64_t fixup_cr4(const struct vcpu *v, uint64_t val)
{
    uint32_t l1[4], l7[4];
    uint64_t allowed = 0;

    emulate_cpuid(v, 1, 0, l1);
    emulate_cpuid(v, 7, 0, l7);
    if (l1[3] & L1_EDX_TSC) {
        allowed |= CR4_TSD;
    }
    if (l1[3] & L1_EDX_DE) {
        allowed |= CR4_DE;
    }
    if (l7[1] & BIT(0)) {
        allowed |= CR4_FSGSBASE;
    }
    if (l1[2] & BIT(26)) {
        allowed |= CR4_OSXSAVE;
    }
    return (val & CR4_GUEST_MASK & allowed) | CR4_VISIBLE;
}

/* ---- debug registers ------------------------------------------------------------------- */

static bool breakpoint_ok(const struct vcpu *v, uint64_t a)
{
    if (domain_is_32(v->d)) {
        return a < PVCORE_HYPERVISOR_VIRT_START_X86_32;
    }
    return a < (1ull << 47) || a >= PVCORE_HYPERVISOR_VIRT_END_X86_64;
}

/* Reserved bits at their fixed values; RTM is not offered, so its bits are reserved too. */
static uint32_t dr6_fix(uint32_t dr6)
{
    return (dr6 | 0xFFFF0FF0u) & 0xFFFFEFFFu;
}

static uint32_t dr7_fix(uint32_t dr7)
{
    return (dr7 & 0xFFFF27FFu) | 0x400u;
}

int emulate_set_debugreg(struct vcpu *v, unsigned reg, uint64_t value)
{
    bool de = (v->cpu.cr4 & CR4_DE) != 0;
    uint32_t io = 0;
    unsigned i;

    switch (reg) {
    case 0:
    case 1:
    case 2:
    case 3:
        if (!breakpoint_ok(v, value)) {
            return -PVCORE_EPERM;
        }
        v->cpu.dr[reg] = value;
        return 0;
    case 4:
    case 6:
        if (reg == 4 && de) {
            return -PVCORE_ENODEV;
        }
        if (value != (uint32_t)value) {
            return -PVCORE_EINVAL;
        }
        v->cpu.dr[6] = dr6_fix((uint32_t)value);
        return 0;
    case 5:
    case 7:
        if (reg == 5 && de) {
            return -PVCORE_ENODEV;
        }
        if (value != (uint32_t)value) {
            return -PVCORE_EINVAL;
        }
        value = dr7_fix((uint32_t)value);
        if (value & DR7_GD) {
            return -PVCORE_EPERM;
        }
        if (value & DR7_ACTIVE) {
            /* I/O breakpoints need CR4.DE; their enables are emulated, not loaded. */
            for (i = 0; i < 4; i++) {
                if (((value >> (16u + 4u * i)) & 3u) == DR7_RW_IO) {
                    if (!de) {
                        return -PVCORE_EPERM;
                    }
                    io |= (uint32_t)value & (3u << (2u * i));
                }
            }
        }
        v->cpu.dr7_emul = io;
        v->cpu.dr[7] = value & ~(uint64_t)io;
        return 0;
    default:
        return -PVCORE_ENODEV;
    }
}

int emulate_get_debugreg(const struct vcpu *v, unsigned reg, uint64_t *value)
{
    bool de = (v->cpu.cr4 & CR4_DE) != 0;

    switch (reg) {
    case 0:
    case 1:
    case 2:
    case 3:
        *value = v->cpu.dr[reg];
        return 0;
    case 4:
    case 6:
        if (reg == 4 && de) {
            return -PVCORE_ENODEV;
        }
        *value = v->cpu.dr[6];
        return 0;
    case 5:
    case 7:
        if (reg == 5 && de) {
            return -PVCORE_ENODEV;
        }
        *value = v->cpu.dr[7] | v->cpu.dr7_emul;
        return 0;
    default:
        return -PVCORE_ENODEV;
    }
}

int pvcore_vcpu_set_debugreg(struct pvcore_vcpu *pv, unsigned reg, uint64_t value)
{
    return emulate_set_debugreg((struct vcpu *)(void *)pv, reg, value);
}

uint64_t pvcore_vcpu_debugreg(const struct pvcore_vcpu *pv, unsigned n)
{
    const struct vcpu *v = (const struct vcpu *)(const void *)pv;

    if (n > 7 || n == 4 || n == 5) {
        return 0;
    }
    return v->cpu.dr[n];
}

/* Xen's x86_merge_dr6 for the positive-polarity bits we raise (B0-B3, BS): new
 * breakpoint hits replace the old ones. */
static void dr6_merge(struct vcpu *v, uint32_t hits)
{
    uint32_t dr6 = (uint32_t)v->cpu.dr[6];

    if (hits & 0xFu) {
        dr6 &= ~0xFu;
    }
    v->cpu.dr[6] = dr6_fix(dr6 | hits);
}

/* Which enabled I/O breakpoints [port, port + len) touches (Xen's
 * check_guest_io_breakpoint): B0-B3 bits. */
static uint32_t io_breakpoints(const struct vcpu *v, uint32_t port, unsigned len)
{
    static const uint8_t width[4] = { 1, 2, 8, 4 }; /* by DR7 LEN field */
    uint32_t match = 0;
    unsigned i;

    if (v->cpu.dr7_emul == 0 || !(v->cpu.cr4 & CR4_DE)) {
        return 0;
    }
    for (i = 0; i < 4; i++) {
        uint64_t start = v->cpu.dr[i];
        unsigned w = width[(v->cpu.dr[7] >> (18u + 4u * i)) & 3u];

        if (!(v->cpu.dr7_emul & (3u << (2u * i)))) {
            continue;
        }
        if (start < (uint64_t)port + len && start + w > port) {
            match |= 1u << i;
        }
    }
    return match;
}

/* ---- domain state read by the emulator --------------------------------------------------- */

#define VMASST_ARCH_IOPL_BIT PVCORE_VMASST_TYPE_architectural_iopl

static uint32_t domain_vmassist(struct domain *d)
{
    struct call call;
    struct domain_locked dl;
    uint32_t a;

    call_init(&call, d->m);
    dl = domain_lock(&call, d);
    a = d->vmassist;
    domain_unlock(&dl);
    return a;
}

/* Xen's cache_flush_permitted: a domain with I/O memory. */
static bool domain_has_iomem(struct domain *d)
{
    struct call call;
    struct domain_locked dl;
    bool has;

    call_init(&call, d->m);
    dl = domain_lock(&call, d);
    has = d->nr_iomem != 0;
    domain_unlock(&dl);
    return has;
}

/* Xen's admin_io_okay: every port of the access in one of the domain's ranges, and
 * never the PCI configuration address register as a dword, nor the RTC. */
static bool ports_permitted(struct domain *d, uint32_t port, unsigned bytes)
{
    struct call call;
    struct domain_locked dl;
    uint32_t p, i;
    bool ok = true;

    if ((port == 0xCF8u && bytes == 4) || (port & ~1u) == 0x70u) {
        return false;
    }
    call_init(&call, d->m);
    dl = domain_lock(&call, d);
    for (p = port; ok && p < port + bytes; p++) {
        ok = false;
        for (i = 0; i < d->nr_ioport && p <= 0xFFFFu; i++) {
            if (p >= d->ioport[i].first && p <= d->ioport[i].last) {
                ok = true;
                break;
            }
        }
    }
    domain_unlock(&dl);
    return ok;
}

int pvcore_domain_ioport_permit(struct pvcore_domain *pd, uint16_t first, uint16_t last,
                                int allow)
{
    struct domain *d = (struct domain *)(void *)pd;
    struct call call;
    struct domain_locked dl;
    int rc;

    if (d == NULL || first > last) {
        return -PVCORE_EINVAL;
    }
    call_init(&call, d->m);
    dl = domain_lock(&call, d);
    rc = io_range_permit(&dl, d->ioport, &d->nr_ioport, PVCORE_MAX_IOPORT_RANGES, first, last, allow);
    domain_unlock(&dl);
    return rc;
}

/* Xen's iopl_ok: the guest's CPL as Xen counts it against the virtual IOPL. */
static bool iopl_ok(struct vcpu *v, const struct pvcore_cpu_regs *regs)
{
    uint32_t cpl = 3;

    if (cpu_guest_kernel_mode(v, regs)) {
        cpl = (domain_vmassist(v->d) & (1u << VMASST_ARCH_IOPL_BIT)) ? 0u : 1u;
    }
    return (cpl << EFLAGS_IOPL_SHIFT) <= v->cpu.iopl;
}

/* ---- instruction fetch ------------------------------------------------------------------ */

enum fetch_state { FETCH_OK, FETCH_PF, FETCH_BAD };

struct fetch {
    struct vcpu *v;
    struct call call;
    uint64_t base;  /* linear address of the first byte */
    bool flat32;    /* 32-bit linear addresses (a 32-bit guest, or compat code) */
    uint8_t have;   /* bytes fetched */
    uint8_t state;  /* enum fetch_state */
    uint64_t cr2;   /* FETCH_PF: the first byte that could not be read */
    uint8_t b[INSN_MAX];
};

/*
 * Makes bytes [0, n) of the instruction available, fetching what is missing in at most
 * one copy per page (a copy within one page is all or nothing, so a failure names its
 * first byte). false: past 15 bytes or outside the address space (FETCH_BAD: the original
 * exception stands), or a byte unreadable (FETCH_PF).
 */
static bool need(struct fetch *f, unsigned n)
{
    while (f->have < n) {
        uint64_t at = f->base + f->have;
        uint64_t chunk = n - f->have, room = 4096u - (at & 4095u);

        if (n > INSN_MAX || (f->flat32 ? at > 0xFFFFFFFFu : !cpu_canonical(at))) {
            f->state = FETCH_BAD;
            return false;
        }
        if (chunk > room) {
            chunk = room;
        }
        if (guest_copy_from(&f->call, f->v, f->b + f->have, at, (size_t)chunk) != 0) {
            f->state = FETCH_PF;
            f->cr2 = at;
            return false;
        }
        f->have = (uint8_t)(f->have + chunk);
    }
    return true;
}

/* ---- decoding -------------------------------------------------------------------------- */

struct insn {
    uint8_t len;     /* bytes consumed */
    bool opsz;       /* 66 */
    bool lock;       /* f0 */
    uint8_t rex;     /* 0, or the REX byte (64-bit mode only) */
    bool twobyte;    /* 0f xx */
    uint8_t op;
    uint8_t modrm;
    uint8_t imm8;
};

enum { PFX_NONE, PFX_LEGACY, PFX_REX };

/* Legacy prefixes the decoder accepts (their meaning, where it has one here, below). */
static int prefix_kind(uint8_t b, bool mode64)
{
    switch (b) {
    case 0x66: /* operand size */
    case 0x67: /* address size: no memory operands here */
    case 0xF0: /* lock */
    case 0xF2:
    case 0xF3: /* rep: no string instructions here */
    case 0x26:
    case 0x2E:
    case 0x36:
    case 0x3E:
    case 0x64:
    case 0x65: /* segment overrides: no memory operands here */
        return PFX_LEGACY;
    default:
        return mode64 && (b & 0xF0u) == 0x40u ? PFX_REX : PFX_NONE;
    }
}

/* Prefixes, opcode and (for the two-byte ones that have it) ModRM. */
static bool decode(struct fetch *f, struct insn *in, bool mode64)
{
    memset(in, 0, sizeof(*in));
    for (;;) {
        int k;

        if (!need(f, in->len + 1u)) {
            return false;
        }
        k = prefix_kind(f->b[in->len], mode64);
        if (k == PFX_NONE) {
            break;
        }
        if (k == PFX_REX) {
            in->rex = f->b[in->len];
        } else {
            /* A REX not directly before the opcode is ignored. */
            in->rex = 0;
            in->opsz |= f->b[in->len] == 0x66;
            in->lock |= f->b[in->len] == 0xF0;
        }
        in->len++;
    }
    in->op = f->b[in->len++];
    if (in->op == 0x0F) {
        if (!need(f, in->len + 1u)) {
            return false;
        }
        in->twobyte = true;
        in->op = f->b[in->len++];
        if (in->op >= 0x20 && in->op <= 0x23) {
            if (!need(f, in->len + 1u)) {
                return false;
            }
            in->modrm = f->b[in->len++];
        }
    } else if (in->op == 0xCD || in->op == 0xE4 || in->op == 0xE5 || in->op == 0xE6 ||
               in->op == 0xE7) {
        if (!need(f, in->len + 1u)) {
            return false;
        }
        in->imm8 = f->b[in->len++];
    }
    return true;
}

/* ---- execution ------------------------------------------------------------------------- */

enum emul {
    EM_UNHANDLED, /* not ours: the original exception goes to the guest */
    EM_DONE,      /* completed: rip moves past the instruction */
    EM_RETRY,     /* resume at the same instruction (preempted) */
    EM_RESULT,    /* an exception was injected; *result holds the outcome */
};

struct ctx {
    struct vcpu *v;
    struct pvcore_cpu_regs *regs;
    bool mode64;
    bool kernel;
    int result;
    uint32_t dbg; /* DR6 hits to raise as a #DB once the instruction completed */
};

static int inject(struct ctx *x, unsigned vector, uint32_t error)
{
    x->result = cpu_inject(x->v, x->regs, vector, error, 0, false);
    return EM_RESULT;
}

/* Writes a 32-bit result: zero-extended, as a 32-bit register write does. */
static void set32(uint64_t *r, uint32_t val)
{
    *r = val;
}

static int do_cpuid(struct ctx *x)
{
    uint32_t out[4];

    emulate_cpuid(x->v, (uint32_t)x->regs->rax, (uint32_t)x->regs->rcx, out);
    set32(&x->regs->rax, out[0]);
    set32(&x->regs->rbx, out[1]);
    set32(&x->regs->rcx, out[2]);
    set32(&x->regs->rdx, out[3]);
    return EM_DONE;
}

static int read_cr(struct ctx *x, unsigned cr, uint64_t *val)
{
    const struct vcpu *v = x->v;
    uint64_t mfn;

    switch (cr) {
    case 0:
        *val = CR0_FIXED | (v->cpu.fpu_ts ? CR0_TS : 0u);
        return EM_DONE;
    case 2:
        *val = v->cpu.cr2;
        return EM_DONE;
    case 3:
        mfn = v->guest_table == INVALID_MFN ? 0 : v->guest_table;
        /* Xen's xen_pfn_to_cr3 and compat_pfn_to_cr3 (a PV guest's frames are MFNs). */
        *val = domain_is_32(v->d) ? (uint32_t)(mfn << 12 | mfn >> 20) : mfn << 12;
        return EM_DONE;
    case 4:
        *val = v->cpu.cr4;
        return EM_DONE;
    default:
        return EM_UNHANDLED;
    }
}

static int write_cr(struct ctx *x, unsigned cr, uint64_t val)
{
    struct vcpu *v = x->v;
    struct pvcore_mmuext_req req;
    uint32_t done = 0;
    int rc;

    switch (cr) {
    case 0:
        if ((val ^ CR0_FIXED) & ~(uint64_t)CR0_TS) {
            return EM_UNHANDLED; /* only TS may change: #GP */
        }
        v->cpu.fpu_ts = (val & CR0_TS) != 0;
        return EM_DONE;
    case 2:
        cpu_set_cr2(v, val);
        return EM_DONE;
    case 3:
        memset(&req, 0, sizeof(req));
        req.cmd = PVCORE_MMUEXT_NEW_BASEPTR;
        /* Xen's xen_cr3_to_pfn / compat_cr3_to_pfn. */
        req.arg1 = domain_is_32(v->d) ? (uint32_t)((uint32_t)val >> 12 | (uint32_t)val << 20)
                                      : val >> 12;
        rc = pvcore_mmuext_op((struct pvcore_vcpu *)(void *)v, &req, 1, &done,
                              PVCORE_DOMID_SELF);
        if (rc == -PVCORE_ERESTART) {
            return EM_RETRY;
        }
        return rc == 0 ? EM_DONE : EM_UNHANDLED;
    case 4:
        v->cpu.cr4 = fixup_cr4(v, val);
        return EM_DONE;
    default:
        return EM_UNHANDLED;
    }
}

/* mov to/from %crN or %drN: 0f 20-23 with ModRM (mod ignored, as the hardware does). */
static int do_mov_crdr(struct ctx *x, const struct insn *in)
{
    unsigned n = (in->modrm >> 3) & 7u, rm = in->modrm & 7u;
    uint64_t *r, val = 0;
    int rc;

    if (!x->kernel || in->lock) {
        return EM_UNHANDLED; /* lock mov %cr0 is AMD's %cr8 */
    }
    if (in->rex & 0x4u) {
        n += 8; /* REX.R: %cr8; %dr8-15 do not exist */
    }
    if (in->rex & 0x1u) {
        rm += 8;
    }
    r = gpr(x->regs, rm);
    switch (in->op) {
    case 0x20:
        rc = read_cr(x, n, &val);
        break;
    case 0x22:
        return write_cr(x, n, x->mode64 ? *r : (uint32_t)*r);
    case 0x21:
        if (n > 7) {
            return EM_UNHANDLED;
        }
        if (emulate_get_debugreg(x->v, n, &val) != 0) {
            return inject(x, X86_VEC_UD, 0);
        }
        rc = EM_DONE;
        break;
    default: /* 0x23 */
        if (n > 7) {
            return EM_UNHANDLED;
        }
        rc = emulate_set_debugreg(x->v, n, x->mode64 ? *r : (uint32_t)*r);
        if (rc == -PVCORE_ENODEV) {
            return inject(x, X86_VEC_UD, 0);
        }
        return rc == 0 ? EM_DONE : inject(x, X86_VEC_GP, 0);
    }
    if (rc == EM_DONE) {
        *r = x->mode64 ? val : (uint32_t)val;
    }
    return rc;
}

/* ---- MSRs ------------------------------------------------------------------------------ */

enum msr_read { RD_GP, RD_ZERO, RD_FS, RD_GS, RD_SHADOW_GS, RD_EFER, RD_APIC_BASE, RD_PAT,
                RD_MISC_ENABLE, RD_PLATFORM_INFO, RD_MISC_FEATURES };
enum msr_write { WR_GP, WR_DROP, WR_FS, WR_GS, WR_SHADOW_GS, WR_SAME, WR_ZERO, WR_MISC_FEATURES };

#define MSR_ANY 0u
#define MSR_INTEL 1u /* only on Intel hosts */
#define MSR_AMD 2u   /* only on AMD and Hygon hosts */
#define MSR_64 3u    /* only for 64-bit guests */

/* What a PV guest may do with an MSR. Unlisted: #GP both ways. */
struct msr_rule {
    uint32_t first, last;
    uint8_t rd, wr, only;
};

static const struct msr_rule msr_rules[] = {
    { 0x0000001Bu, 0x0000001Bu, RD_APIC_BASE, WR_GP, MSR_ANY },   /* APIC_BASE */
    { 0x0000008Bu, 0x0000008Bu, RD_ZERO, WR_DROP, MSR_ANY },      /* microcode revision */
    { 0x000000CEu, 0x000000CEu, RD_PLATFORM_INFO, WR_GP, MSR_ANY }, /* PLATFORM_INFO */
    { 0x000000E7u, 0x000000E8u, RD_GP, WR_DROP, MSR_ANY },        /* MPERF, APERF */
    { 0x00000140u, 0x00000140u, RD_MISC_FEATURES, WR_MISC_FEATURES, MSR_ANY }, /* MISC_FEATURES_ENABLES */
    { 0x0000019Au, 0x0000019Au, RD_GP, WR_DROP, MSR_INTEL },      /* THERM_CONTROL */
    { 0x000001A0u, 0x000001A0u, RD_MISC_ENABLE, WR_DROP, MSR_INTEL }, /* MISC_ENABLE */
    { 0x000001D9u, 0x000001D9u, RD_ZERO, WR_ZERO, MSR_ANY },      /* DEBUGCTL: no LBR/BTF for PV */
    { 0x000001B0u, 0x000001B0u, RD_GP, WR_DROP, MSR_INTEL },      /* ENERGY_PERF_BIAS */
    { 0x00000277u, 0x00000277u, RD_PAT, WR_GP, MSR_ANY },         /* PAT */
    { 0x00000345u, 0x00000345u, RD_ZERO, WR_GP, MSR_ANY },        /* PERF_CAPABILITIES */
    { 0xC0000080u, 0xC0000080u, RD_EFER, WR_SAME, MSR_ANY },      /* EFER */
    { 0xC0000100u, 0xC0000100u, RD_FS, WR_FS, MSR_64 },           /* FS_BASE */
    { 0xC0000101u, 0xC0000101u, RD_GS, WR_GS, MSR_64 },           /* GS_BASE */
    { 0xC0000102u, 0xC0000102u, RD_SHADOW_GS, WR_SHADOW_GS, MSR_64 }, /* SHADOW_GS_BASE */
    { 0xC0010015u, 0xC0010015u, RD_GP, WR_DROP, MSR_AMD },        /* HWCR */
    { 0xC001001Fu, 0xC001001Fu, RD_ZERO, WR_DROP, MSR_AMD },      /* NB_CFG */
    { 0xC0010041u, 0xC0010042u, RD_ZERO, WR_DROP, MSR_AMD },      /* FID_VID_CTL, _STATUS */
    { 0xC0010061u, 0xC001006Bu, RD_ZERO, WR_DROP, MSR_AMD },      /* P-state limit .. P7 */
};

#define XEN_MSR_PAT 0x0000050100070406ull
#define MISC_ENABLE_GUEST 0x00801801ull /* fast strings; BTS, PEBS unavailable; xTPR off */

static const struct msr_rule *msr_rule_of(const struct vcpu *v, uint32_t msr)
{
    uint32_t l0[4];
    unsigned i;

    for (i = 0; i < sizeof(msr_rules) / sizeof(msr_rules[0]); i++) {
        const struct msr_rule *r = &msr_rules[i];

        if (msr < r->first || msr > r->last) {
            continue;
        }
        switch (r->only) {
        case MSR_INTEL:
        case MSR_AMD:
            host_cpuid(v->d->m, 0, 0, l0);
            return vendor_of(l0) == (r->only == MSR_INTEL ? VENDOR_INTEL : VENDOR_AMD) ? r : NULL;
        case MSR_64:
            return domain_is_32(v->d) ? NULL : r;
        default:
            return r;
        }
    }
    return NULL;
}

/* EFER as the guest's mode implies: long mode and SYSCALL for a 64-bit guest, NX when
 * its CPUID shows it; a 32-bit guest sees SYSCALL enabled only on AMD. */
static uint64_t guest_efer(const struct vcpu *v)
{
    uint32_t e1[4], l0[4];
    uint64_t efer = 0;

    emulate_cpuid(v, 0x80000001u, 0, e1);
    if (e1[3] & E1_EDX_NX) {
        efer |= 0x800u;
    }
    if (!domain_is_32(v->d)) {
        efer |= 0x1u | 0x100u | 0x400u; /* SCE, LME, LMA */
    } else {
        host_cpuid(v->d->m, 0, 0, l0);
        if (vendor_of(l0) == VENDOR_AMD) {
            efer |= 0x1u;
        }
    }
    return efer;
}

#define PLATFORM_INFO_CPUID_FAULTING (1ull << 31)
#define MISC_FEATURES_CPUID_FAULTING 1ull

/* CPUID faulting can be offered only when every guest CPUID reaches the library. */
static bool offers_cpuid_faulting(const struct vcpu *v)
{
    return (v->d->m->flags & PVCORE_MACHINE_CPUID_FAULTING) != 0;
}

static bool msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    const struct msr_rule *r = msr_rule_of(v, msr);

    switch (r == NULL ? RD_GP : r->rd) {
    case RD_ZERO:
        *val = 0;
        return true;
    case RD_FS:
        *val = v->cpu.fs_base;
        return true;
    case RD_GS:
        *val = v->cpu.gs_base_kernel; /* kernel mode: the active GS base is the kernel's */
        return true;
    case RD_SHADOW_GS:
        *val = v->cpu.gs_base_user;
        return true;
    case RD_EFER:
        *val = guest_efer(v);
        return true;
    case RD_APIC_BASE:
        *val = 0xFEE00000u | 0x800u | (v->id == 0 ? 0x100u : 0u);
        return true;
    case RD_PAT:
        *val = XEN_MSR_PAT;
        return true;
    case RD_MISC_ENABLE:
        *val = MISC_ENABLE_GUEST;
        return true;
    case RD_PLATFORM_INFO:
        *val = offers_cpuid_faulting(v) ? PLATFORM_INFO_CPUID_FAULTING : 0;
        return true;
    case RD_MISC_FEATURES:
        *val = v->cpu.cpuid_faulting ? MISC_FEATURES_CPUID_FAULTING : 0;
        return true;
    default:
        return false;
    }
}

static bool msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
    const struct msr_rule *r = msr_rule_of(v, msr);

    switch (r == NULL ? WR_GP : r->wr) {
    case WR_DROP:
        return true;
    case WR_ZERO:
        return val == 0;
    case WR_MISC_FEATURES:
        /* Only the CPUID-faulting bit, and only where it is offered. */
        if ((val & ~(uint64_t)MISC_FEATURES_CPUID_FAULTING) != 0 ||
            (val != 0 && !offers_cpuid_faulting(v))) {
            return false;
        }
        v->cpu.cpuid_faulting = val != 0;
        return true;
    case WR_SAME: {
        uint64_t cur = 0;
        return msr_read(v, msr, &cur) && cur == val;
    }
    case WR_FS:
    case WR_GS:
    case WR_SHADOW_GS:
        if (!cpu_canonical(val)) {
            return false;
        }
        if (r->wr == WR_FS) {
            v->cpu.fs_base = val;
        } else if (r->wr == WR_GS) {
            v->cpu.gs_base_kernel = val;
        } else {
            v->cpu.gs_base_user = val;
        }
        return true;
    default:
        return false;
    }
}

static int do_msr(struct ctx *x, bool write)
{
    struct vcpu *v = x->v;
    uint32_t msr = (uint32_t)x->regs->rcx;
    uint64_t val;

    if (!x->kernel) {
        return EM_UNHANDLED;
    }
    if (write) {
        val = (x->regs->rdx & 0xFFFFFFFFu) << 32 | (x->regs->rax & 0xFFFFFFFFu);
        return msr_write(v, msr, val) ? EM_DONE : inject(x, X86_VEC_GP, 0);
    }
    if (!msr_read(v, msr, &val)) {
        /* Early boot code reads MSRs before it has a #GP handler: Xen gives it 0 rather
         * than a fault the guest cannot take (outside the hypervisor's own range). */
        if (v->cpu.traps[X86_VEC_GP].address != 0 || (msr >> 16) == 0x4000u) {
            return inject(x, X86_VEC_GP, 0);
        }
        val = 0;
    }
    set32(&x->regs->rax, (uint32_t)val);
    set32(&x->regs->rdx, (uint32_t)(val >> 32));
    return EM_DONE;
}

/* ---- port I/O --------------------------------------------------------------------------- */

static int do_io(struct ctx *x, const struct insn *in)
{
    struct vcpu *v = x->v;
    const struct machine *m = v->d->m;
    bool out = (in->op & 2u) != 0;
    unsigned bytes = (in->op & 1u) == 0 ? 1u : in->opsz ? 2u : 4u;
    uint32_t port = (in->op & 8u) ? (uint16_t)x->regs->rdx : in->imm8;
    uint32_t mask = bytes == 4 ? 0xFFFFFFFFu : (1u << (8u * bytes)) - 1u;
    uint32_t val = out ? (uint32_t)x->regs->rax & mask : mask;

    if (!iopl_ok(v, x->regs)) {
        return EM_UNHANDLED;
    }
    x->dbg = io_breakpoints(v, port, bytes);
    if (ports_permitted(v->d, port, bytes) && m->ops->io_port != NULL) {
        m->ops->io_port(m->ctx, (struct pvcore_vcpu *)(void *)v, (uint16_t)port, bytes, out,
                        &val);
        val &= mask;
    }
    /* else: reads give all ones, writes go nowhere (Xen, for ports it does not emulate). */
    if (!out) {
        if (bytes == 4) {
            set32(&x->regs->rax, val);
        } else {
            x->regs->rax = (x->regs->rax & ~(uint64_t)mask) | val;
        }
    }
    return EM_DONE;
}

/* ---- int $n ------------------------------------------------------------------------------ */

static int do_int(struct ctx *x, const struct insn *in)
{
    struct vcpu *v = x->v;
    unsigned n = in->imm8;
    unsigned dpl = v->cpu.traps[n].flags & 3u;

    /* Xen's permit_softint: DPL 0 nobody, 1-2 the guest kernel, 3 everyone. */
    if (dpl < (x->kernel ? 1u : 3u)) {
        return inject(x, X86_VEC_GP, (uint32_t)n << 3 | 2u);
    }
    x->regs->rip += in->len;
    if (!x->mode64) {
        x->regs->rip = (uint32_t)x->regs->rip;
    }
    x->result = cpu_inject(v, x->regs, n, 0, 0, true);
    return EM_RESULT;
}

/* ---- dispatch --------------------------------------------------------------------------- */

static int exec(struct ctx *x, const struct insn *in)
{
    const struct machine *m = x->v->d->m;

    if (in->twobyte) {
        switch (in->op) {
        case 0x06: /* clts */
            if (!x->kernel) {
                return EM_UNHANDLED;
            }
            x->v->cpu.fpu_ts = false;
            return EM_DONE;
        case 0x09: /* wbinvd: a flush for a domain with I/O memory; Linux runs it at boot */
            if (!x->kernel) {
                return EM_UNHANDLED;
            }
            if (domain_has_iomem(x->v->d) && m->ops->flush_cache != NULL) {
                m->ops->flush_cache(m->ctx, x->v->d->domid, 1);
            }
            return EM_DONE;
        case 0x20:
        case 0x21:
        case 0x22:
        case 0x23:
            return do_mov_crdr(x, in);
        case 0x30:
            return do_msr(x, true);
        case 0x32:
            return do_msr(x, false);
        case 0xA2: /* cpuid, with the processor's CPUID faulting on */
            /* The guest's own faulting: its user mode's CPUID is its kernel's #GP. */
            if (!x->kernel && x->v->cpu.cpuid_faulting) {
                return EM_UNHANDLED;
            }
            return do_cpuid(x);
        default:
            return EM_UNHANDLED;
        }
    }
    switch (in->op) {
    case 0xE4:
    case 0xE5:
    case 0xE6:
    case 0xE7:
    case 0xEC:
    case 0xED:
    case 0xEE:
    case 0xEF:
        return do_io(x, in);
    case 0xFA: /* cli */
    case 0xFB: /* sti: the guest's IF is its event mask; Xen leaves both alone */
        return iopl_ok(x->v, x->regs) ? EM_DONE : EM_UNHANDLED;
    case 0xCD:
        return do_int(x, in);
    default:
        return EM_UNHANDLED;
    }
}

/* The forced-emulation prefix: ud2; .ascii "xen"; cpuid, read as Xen reads it (the
 * signature first, then the instruction it names). */
static int forced(struct fetch *f, struct ctx *x, unsigned *len)
{
    static const uint8_t sig[7] = { 0x0F, 0x0B, 'x', 'e', 'n', 0x0F, 0xA2 };

    if (!need(f, 2) || memcmp(f->b, sig, 2) != 0 || !need(f, 5) ||
        memcmp(f->b, sig, 5) != 0 || !need(f, 7) || memcmp(f->b, sig, 7) != 0) {
        return EM_UNHANDLED;
    }
    if (!x->kernel && x->v->cpu.cpuid_faulting) {
        /* As Xen: #GP at the cpuid instruction, the prefix consumed. */
        x->regs->rip += 5;
        if (domain_is_32(x->v->d)) {
            x->regs->rip = (uint32_t)x->regs->rip;
        }
        return inject(x, X86_VEC_GP, 0);
    }
    *len = 7;
    return do_cpuid(x);
}

bool emulate_trap(struct vcpu *v, struct pvcore_cpu_regs *regs, unsigned vector, uint32_t error,
                  int *result)
{
    struct fetch f;
    struct insn in;
    struct ctx x;
    unsigned len = 0;
    int rc;

    (void)error; /* the instruction says what happened; the error code may not (int $n) */
    if (vector != X86_VEC_UD && vector != X86_VEC_GP) {
        return false;
    }
    x.v = v;
    x.regs = regs;
    /* A 64-bit guest runs 32-bit user code on FLAT_RING3_CS32; the library does not read
     * descriptors, so other 32-bit code segments decode as 64-bit code. */
    x.mode64 = !domain_is_32(v->d) && regs->cs != PVCORE_FLAT_RING3_CS32_X86_64;
    x.kernel = cpu_guest_kernel_mode(v, regs);
    x.result = PVCORE_CPU_RESUME;
    x.dbg = 0;
    f.v = v;
    call_init(&f.call, v->d->m);
    f.flat32 = !x.mode64;
    f.base = f.flat32 ? (uint32_t)regs->rip : regs->rip;
    f.have = 0;
    f.state = FETCH_OK;
    f.cr2 = 0;
    if (vector == X86_VEC_UD) {
        rc = forced(&f, &x, &len);
    } else if (decode(&f, &in, x.mode64)) {
        len = in.len;
        rc = exec(&x, &in);
    } else {
        rc = EM_UNHANDLED;
    }
    if (f.state == FETCH_PF) {
        /* As the processor would have faulted fetching it (Xen reports no error bits). */
        *result = cpu_inject(v, regs, X86_VEC_PF, 0, f.cr2, false);
        return true;
    }
    switch (rc) {
    case EM_UNHANDLED:
        return false;
    case EM_RESULT:
        *result = x.result;
        return true;
    case EM_RETRY:
        *result = PVCORE_CPU_RESUME;
        return true;
    default:
        break;
    }
    regs->rip += len;
    if (!x.mode64) {
        regs->rip = (uint32_t)regs->rip;
    }
    regs->rflags &= ~(uint64_t)EFLAGS_RF;
    /* A completed instruction under TF single-steps, and one that hit an I/O breakpoint
     * reports it, as on hardware. */
    if (regs->rflags & EFLAGS_TF) {
        x.dbg |= DR6_BS;
    }
    if (x.dbg != 0) {
        dr6_merge(v, x.dbg);
        *result = cpu_inject(v, regs, X86_VEC_DB, 0, 0, false);
        return true;
    }
    *result = PVCORE_CPU_RESUME;
    return true;
}

/* ---- hypercalls ------------------------------------------------------------------------- */

int hcall_set_debugreg(struct caller *c, uint64_t args[6], int64_t *ret)
{
    *ret = emulate_set_debugreg((struct vcpu *)(void *)c->v, (uint32_t)args[0],
                                hc_arg(c, args, 1));
    return PVCORE_HYPERCALL_DONE;
}

int hcall_get_debugreg(struct caller *c, uint64_t args[6], int64_t *ret)
{
    uint64_t val = 0;
    int rc = emulate_get_debugreg((struct vcpu *)(void *)c->v, (uint32_t)args[0], &val);

    *ret = rc != 0 ? rc : (int64_t)val;
    return PVCORE_HYPERCALL_DONE;
}

int hcall_physdev_op(struct caller *c, uint64_t args[6], int64_t *ret)
{
    struct vcpu *v = (struct vcpu *)(void *)c->v;
    uint32_t iopl;
    int rc;

    switch ((uint32_t)args[0]) {
    case PVCORE_PHYSDEVOP_set_iopl:
        rc = hc_read_u32(c, hc_arg(c, args, 1), &iopl);
        if (rc == 0 && iopl > 3) {
            rc = -PVCORE_EINVAL;
        }
        if (rc == 0) {
            v->cpu.iopl = iopl << EFLAGS_IOPL_SHIFT;
        }
        *ret = rc;
        return PVCORE_HYPERCALL_DONE;
    default:
        /* The rest (interrupts, PCI, the I/O bitmap) is the embedder's. Inside a multicall
         * it is asked here, as the multicall asks it for numbers without a handler. */
        if (c->in_multicall) {
            const struct machine *m = c->m;

            if (m->ops->hypercall == NULL ||
                m->ops->hypercall(m->ctx, c->v, PVCORE_HYPERVISOR_physdev_op, args, ret) != 0) {
                *ret = -PVCORE_ENOSYS;
            }
            return PVCORE_HYPERCALL_DONE;
        }
        return PVCORE_HYPERCALL_UNHANDLED;
    }
}
