/*
 * Privileged-instruction emulation (<pvcore/emulate.h>): the forced-emulation CPUID
 * prefix and the CPUID policy, control and debug registers, MSRs, port I/O under the
 * virtual IOPL, cli/sti, int $n, the decoder's limits and its fetches (page crossings, a
 * fetch that faults), and the set_debugreg / get_debugreg / physdev_op hypercalls. The
 * instruction bytes are written into the guest's own pages and fetched through the host
 * backend's copy hooks, which walk the guest's validated tables.
 *
 * White box: the machine's hooks are swapped for the host backend's plus a fake host
 * CPUID, a port I/O recorder and a copy recorder; handlers are put straight into the
 * vCPU's trap table.
 */
#include "guestenv.h"

#include <pvcore/abi/physdev.h>
#include <pvcore/cpu.h>
#include <pvcore/emulate.h>
#include <pvcore/hypercall.h>

#include "internal/domain.h"
#include "internal/emulate.h"

#define CODE (VA + 6u * 4096u)      /* instructions: data page 6 */
#define ARGS (VA + 5u * 4096u)      /* hypercall arguments: data page 5 */
#define STACK_TOP (VA + 4u * 4096u) /* kernel stack: the top of data page 3 */
#define END (VA + NDATA * 4096u)    /* the first unmapped byte after the data pages */
#define HANDLER64 0xFFFF900000001000ull
#define HANDLER32 0x00101000u

/* ---- hooks ------------------------------------------------------------------------------ */

static struct pvcore_host_ops hooks;
static const struct pvcore_host_ops *backend_ops;
static int host_amd;
struct copy_rec {
    uint64_t gva;
    size_t len;
};
static struct copy_rec copies[32];
static unsigned nr_copies;
static struct {
    unsigned calls;
    uint16_t port;
    unsigned bytes;
    int write;
    uint32_t val;
} io;

static void fake_cpuid(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    (void)ctx;
    (void)subleaf;
    out[0] = out[1] = out[2] = out[3] = 0xFFFFFFFFu;
    switch (leaf) {
    case 0:
        out[0] = 0x16;
        if (host_amd) {
            out[1] = 0x68747541u; /* "AuthenticAMD" */
            out[3] = 0x69746E65u;
            out[2] = 0x444D4163u;
        } else {
            out[1] = 0x756E6547u; /* "GenuineIntel" */
            out[3] = 0x49656E69u;
            out[2] = 0x6C65746Eu;
        }
        break;
    case 1:
        out[0] = 0x000906EAu;
        out[1] = 0x05100800u; /* APIC ID 5, 16 logical CPUs, CLFLUSH 64 bytes */
        break;
    case 7:
        out[0] = 2; /* three sub-leaves */
        break;
    case 0x80000000u:
        out[0] = 0x80000008u;
        break;
    default:
        break;
    }
}

static void fake_io(void *ctx, struct pvcore_vcpu *v, uint16_t port, unsigned bytes, int write,
                    uint32_t *val)
{
    (void)ctx;
    (void)v;
    io.calls++;
    io.port = port;
    io.bytes = bytes;
    io.write = write;
    if (write) {
        io.val = *val;
    } else {
        *val = 0x12345678u;
    }
}

static int rec_copy(void *ctx, struct pvcore_vcpu *v, void *dst, uint64_t gva, size_t len)
{
    if (nr_copies < 32) {
        copies[nr_copies].gva = gva;
        copies[nr_copies].len = len;
    }
    nr_copies++;
    return backend_ops->copy_from_guest(ctx, v, dst, gva, len);
}

static void install_hooks(struct pvtest *t)
{
    struct machine *m = (struct machine *)(void *)t->m;

    backend_ops = m->ops;
    hooks = *m->ops;
    hooks.cpuid = fake_cpuid;
    hooks.io_port = fake_io;
    hooks.copy_from_guest = rec_copy;
    m->ops = &hooks;
    host_amd = 0;
    memset(&io, 0, sizeof(io));
}

/* ---- fixture ---------------------------------------------------------------------------- */

struct emu {
    struct pvtest *t;
    struct env e;
    struct vcpu *v;
};

static void emu_init_flags(struct emu *x, int d, uint32_t mflags)
{
    unsigned vec;

    x->t = pvtest_new_budget(0, mflags);
    install_hooks(x->t);
    env_init(&x->e, x->t, d);
    x->v = (struct vcpu *)(void *)vcpu(x->t, d, 0);
    /* Handlers for every vector: a delivered exception shows as rip == handler + vector. */
    for (vec = 0; vec < 256; vec++) {
        x->v->cpu.traps[vec].address = x->e.is32 ? HANDLER32 + vec : HANDLER64 + vec;
        x->v->cpu.traps[vec].cs = x->e.is32 ? PVCORE_FLAT_RING1_CS_X86_32 : PVCORE_FLAT_RING3_CS64_X86_64;
        x->v->cpu.traps[vec].flags = 0;
    }
}

static void emu_init(struct emu *x, int d)
{
    emu_init_flags(x, d, 0);
}

static void emu_free(struct emu *x)
{
    check_invariants(x->t);
    pvtest_free(x->t);
}

/* A 64-bit vCPU in guest user mode, running (for the test) on its kernel tables. */
static void user_mode(struct emu *x, bool on)
{
    x->v->cpu.user_mode = on;
    x->v->guest_table_user = on ? x->v->guest_table : INVALID_MFN;
}

static uint64_t handler(const struct emu *x, unsigned vec)
{
    return x->e.is32 ? HANDLER32 + vec : HANDLER64 + vec;
}

static struct pvcore_cpu_regs kregs(const struct emu *x, uint64_t rip)
{
    struct pvcore_cpu_regs r;

    memset(&r, 0, sizeof(r));
    r.cs = x->e.is32 ? PVCORE_FLAT_RING1_CS_X86_32 : PVCORE_FLAT_RING3_CS64_X86_64;
    r.ss = x->e.is32 ? PVCORE_FLAT_RING1_SS_X86_32 : PVCORE_FLAT_RING3_SS64_X86_64;
    r.rsp = STACK_TOP - 0x100u;
    r.rip = rip;
    r.rflags = 0x202u;
    return r;
}

/* Puts `n` instruction bytes at `at` and runs the trap there; returns whether the emulator
 * took it, with its result in *rc. */
static bool run_at(struct emu *x, uint64_t at, const uint8_t *bytes, size_t n, unsigned vector,
                   struct pvcore_cpu_regs *r, int *rc)
{
    gwrite(&x->e, at, bytes, n);
    r->rip = at;
    nr_copies = 0;
    *rc = -1;
    return emulate_trap(x->v, r, vector, 0, rc);
}

static bool run(struct emu *x, const uint8_t *bytes, size_t n, struct pvcore_cpu_regs *r, int *rc)
{
    return run_at(x, CODE, bytes, n, 13, r, rc);
}

/* A handled, completed instruction of `len` bytes. */
#define assert_done(x, r, rc, len) \
    do { \
        assert_int_equal((rc), PVCORE_CPU_RESUME); \
        assert_int_equal((r).rip, CODE + (len)); \
    } while (0)

/* The error code of the exception just delivered (64-bit frame: rcx, r11, error, ...). */
static uint64_t frame_error(const struct emu *x, const struct pvcore_cpu_regs *r)
{
    uint64_t e = 0;

    if (x->e.is32) {
        return gread32(&x->e, r->rsp);
    }
    gread(&x->e, r->rsp + 16u, &e, 8);
    return e;
}

static const uint8_t forced_cpuid[7] = { 0x0F, 0x0B, 'x', 'e', 'n', 0x0F, 0xA2 };

static void cpuid_via_prefix(struct emu *x, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    struct pvcore_cpu_regs r = kregs(x, CODE);
    int rc;

    r.rax = leaf;
    r.rcx = sub;
    r.rbx = 0xDEAD;
    assert_true(run_at(x, CODE, forced_cpuid, 7, 6, &r, &rc));
    assert_done(x, r, rc, 7);
    out[0] = (uint32_t)r.rax;
    out[1] = (uint32_t)r.rbx;
    out[2] = (uint32_t)r.rcx;
    out[3] = (uint32_t)r.rdx;
    assert_int_equal(r.rax >> 32, 0);
}

/* ---- CPUID ------------------------------------------------------------------------------ */

static void test_forced_cpuid_xen_leaves(void **state)
{
    struct emu x;
    uint32_t o[4];
    unsigned i;

    (void)state;
    emu_init(&x, 1);
    cpuid_via_prefix(&x, 0x40000000u, 0, o);
    assert_int_equal(o[0], 0x40000002u);
    assert_memory_equal(&o[1], "XenVMMXenVMM", 12);
    /* The signature and the instruction were read in order, and nothing else. */
    assert_int_equal(nr_copies, 3);
    assert_int_equal(copies[0].gva, CODE);
    assert_int_equal(copies[0].len, 2);
    assert_int_equal(copies[1].gva, CODE + 2);
    assert_int_equal(copies[1].len, 3);
    assert_int_equal(copies[2].gva, CODE + 5);
    assert_int_equal(copies[2].len, 2);
    cpuid_via_prefix(&x, 0x40000001u, 0, o);
    assert_int_equal(o[0], (uint32_t)PVCORE_XEN_VERSION_MAJOR << 16 | PVCORE_XEN_VERSION_MINOR);
    cpuid_via_prefix(&x, 0x40000002u, 0, o);
    assert_int_equal(o[0], 1);
    assert_int_equal(o[1], 0x40000000u);
    assert_int_equal(o[2], 1);
    assert_int_equal(o[3], 0);
    cpuid_via_prefix(&x, 0x40000003u, 0, o);
    for (i = 0; i < 4; i++) {
        assert_int_equal(o[i], 0);
    }
    emu_free(&x);
}

static void test_cpuid_policy_hides(void **state)
{
    struct emu x;
    uint32_t o[4];

    (void)state;
    emu_init(&x, 1);
    cpuid_via_prefix(&x, 0, 0, o);
    assert_int_equal(o[0], 0xD); /* clamped */
    assert_int_equal(o[1], 0x756E6547u);
    cpuid_via_prefix(&x, 1, 0, o);
    assert_int_equal(o[0], 0x000906EAu);
    assert_int_equal(o[1], 0x00100800u); /* APIC ID 0 */
    assert_int_equal(o[3] & (1u << 3), 0);  /* PSE */
    assert_int_equal(o[3] & (1u << 17), 0); /* PSE36 */
    assert_int_equal(o[3] & (1u << 12), 0); /* MTRR */
    assert_int_equal(o[3] & (1u << 13), 0); /* PGE */
    assert_int_equal(o[3] & (1u << 7), 0);  /* MCE */
    assert_true(o[3] & (1u << 0));          /* FPU */
    assert_true(o[3] & (1u << 26));         /* SSE2 */
    assert_int_equal(o[2] & (1u << 5), 0);  /* VMX */
    assert_int_equal(o[2] & (1u << 3), 0);  /* MONITOR */
    assert_int_equal(o[2] & (1u << 21), 0); /* x2APIC */
    assert_int_equal(o[2] & (1u << 26), 0); /* XSAVE */
    assert_int_equal(o[2] & (1u << 27), 0); /* OSXSAVE: the guest's CR4 has none */
    assert_true(o[2] & (1u << 31));         /* hypervisor */
    assert_true(o[2] & (1u << 20));         /* SSE4.2 */
    cpuid_via_prefix(&x, 7, 0, o);
    assert_int_equal(o[0], 0);
    assert_true(o[1] & 1u);                  /* FSGSBASE, for a 64-bit guest */
    assert_int_equal(o[1] & (1u << 7), 0);   /* SMEP */
    assert_true(o[1] & (1u << 3));           /* BMI1 */
    cpuid_via_prefix(&x, 7, 1, o);
    assert_int_equal(o[0] | o[1] | o[2] | o[3], 0);
    cpuid_via_prefix(&x, 6, 0, o); /* thermal/power: hidden */
    assert_int_equal(o[0] | o[1] | o[2] | o[3], 0);
    cpuid_via_prefix(&x, 0x14, 0, o); /* above the clamp */
    assert_int_equal(o[0] | o[1] | o[2] | o[3], 0);
    cpuid_via_prefix(&x, 0x80000001u, 0, o);
    assert_int_equal(o[3] & (1u << 26), 0); /* 1 GiB pages */
    assert_true(o[3] & (1u << 29));         /* LM */
    assert_true(o[3] & (1u << 11));         /* SYSCALL */
    assert_int_equal(o[3] & 1u, 0);         /* no leaf-1 mirror on Intel */
    assert_int_equal(o[2] & (1u << 2), 0);  /* SVM */
    cpuid_via_prefix(&x, 0x80000009u, 0, o);
    assert_int_equal(o[0] | o[1] | o[2] | o[3], 0);
    emu_free(&x);
}

static void test_cpuid_policy_32bit(void **state)
{
    struct emu x;
    uint32_t o[4];

    (void)state;
    emu_init(&x, 2);
    cpuid_via_prefix(&x, 0x80000001u, 0, o);
    assert_int_equal(o[3] & (1u << 29), 0); /* no long mode */
    assert_int_equal(o[3] & (1u << 11), 0); /* no SYSCALL on Intel */
    assert_true(o[3] & (1u << 20));         /* NX */
    cpuid_via_prefix(&x, 7, 0, o);
    assert_int_equal(o[1] & 1u, 0);         /* no FSGSBASE: its instructions are 64-bit */
    {
        /* Ring 3 of a 32-bit guest may use the prefix too. */
        struct pvcore_cpu_regs r = kregs(&x, CODE);
        int rc;
        r.cs = PVCORE_FLAT_RING3_CS_X86_32;
        r.rax = 0x40000001u;
        assert_true(run_at(&x, CODE, forced_cpuid, 7, 6, &r, &rc));
        assert_done(x, r, rc, 7);
        assert_int_equal(r.rax, (uint32_t)PVCORE_XEN_VERSION_MAJOR << 16 | PVCORE_XEN_VERSION_MINOR);
    }
    host_amd = 1;
    cpuid_via_prefix(&x, 0x80000001u, 0, o);
    assert_true(o[3] & (1u << 11));         /* SYSCALL on AMD */
    assert_true(o[3] & 1u);                 /* AMD's leaf-1 mirror: FPU */
    assert_int_equal(o[3] & (1u << 3), 0);  /* ... without PSE */
    emu_free(&x);
}

static void test_forced_cpuid_variants(void **state)
{
    struct emu x;
    struct pvcore_cpu_regs r;
    int rc;
    static const uint8_t not_xen[7] = { 0x0F, 0x0B, 'x', 'e', 'm', 0x0F, 0xA2 };
    static const uint8_t not_cpuid[7] = { 0x0F, 0x0B, 'x', 'e', 'n', 0x0F, 0x31 };

    (void)state;
    emu_init(&x, 1);
    r = kregs(&x, CODE);
    assert_false(run_at(&x, CODE, not_xen, 7, 6, &r, &rc));
    assert_int_equal(r.rip, CODE);
    assert_false(run_at(&x, CODE, not_cpuid, 7, 6, &r, &rc));
    assert_int_equal(nr_copies, 3);
    /* A plain ud2 is read no further than it could be the prefix. */
    assert_false(run_at(&x, CODE, (const uint8_t *)"\x0f\x0b\x90", 3, 6, &r, &rc));
    assert_int_equal(nr_copies, 2);
    /* Across a page boundary, from user mode as well. */
    r = kregs(&x, 0);
    r.rax = 0x40000000u;
    user_mode(&x, true);
    assert_true(run_at(&x, VA + 4096u - 3u, forced_cpuid, 7, 6, &r, &rc));
    assert_int_equal(rc, PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, VA + 4096u + 4u);
    assert_int_equal(r.rax, 0x40000002u);
    assert_int_equal(nr_copies, 4); /* 2, 1 + 2 (split at the page end), 2 */
    user_mode(&x, false);
    /* The same prefix as #GP is not it; plain cpuid as #GP (CPUID faulting) is. */
    r = kregs(&x, CODE);
    assert_false(run(&x, forced_cpuid, 7, &r, &rc));
    r.rax = 0x40000000u;
    assert_true(run(&x, (const uint8_t *)"\x0f\xa2", 2, &r, &rc));
    assert_done(x, r, rc, 2);
    assert_int_equal(r.rax, 0x40000002u);
    emu_free(&x);
}

static void test_fetch_fault_is_pf(void **state)
{
    struct emu x;
    struct pvcore_cpu_regs r;
    int rc;

    (void)state;
    emu_init(&x, 1);
    /* The prefix's last two bytes are on the unmapped page after the data pages. */
    r = kregs(&x, 0);
    gwrite(&x.e, END - 5u, forced_cpuid, 5);
    r.rip = END - 5u;
    nr_copies = 0;
    assert_true(emulate_trap(x.v, &r, 6, 0, &rc));
    assert_int_equal(rc, PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, handler(&x, 14));
    assert_int_equal(x.v->cpu.cr2, END);
    assert_int_equal(frame_error(&x, &r), 0);
    /* A #GP at an unmapped rip: #PF at rip. */
    r = kregs(&x, UNMAPPED + 0x10);
    assert_true(emulate_trap(x.v, &r, 13, 0, &rc));
    assert_int_equal(r.rip, handler(&x, 14));
    assert_int_equal(x.v->cpu.cr2, UNMAPPED + 0x10);
    emu_free(&x);
}

/* ---- decoder limits --------------------------------------------------------------------- */

static void test_decoder_limits(void **state)
{
    struct emu x;
    struct pvcore_cpu_regs r;
    uint8_t b[16];
    unsigned i, total;
    int rc;

    (void)state;
    emu_init(&x, 1);
    /* 13 prefixes + clts: 15 bytes, emulated. */
    memset(b, 0x66, sizeof(b));
    b[13] = 0x0F;
    b[14] = 0x06;
    x.v->cpu.fpu_ts = true;
    r = kregs(&x, CODE);
    assert_true(run(&x, b, 15, &r, &rc));
    assert_done(x, r, rc, 15);
    assert_false(x.v->cpu.fpu_ts);
    /* 14 prefixes + clts: 16 bytes, not an instruction; no byte past the 15th is read. */
    memset(b, 0x66, sizeof(b));
    b[14] = 0x0F;
    b[15] = 0x06;
    r = kregs(&x, CODE);
    assert_false(run(&x, b, 16, &r, &rc));
    assert_int_equal(r.rip, CODE);
    for (i = 0, total = 0; i < nr_copies; i++) {
        assert_int_equal(copies[i].gva, CODE + total);
        total += (unsigned)copies[i].len;
    }
    assert_int_equal(total, 15);
    /* Unknown: hlt, lgdt, invlpg, rdtsc. */
    r = kregs(&x, CODE);
    assert_false(run(&x, (const uint8_t *)"\xf4", 1, &r, &rc));
    assert_false(run(&x, (const uint8_t *)"\x0f\x01\x10", 3, &r, &rc));
    assert_false(run(&x, (const uint8_t *)"\x0f\x01\x38", 3, &r, &rc));
    assert_false(run(&x, (const uint8_t *)"\x0f\x31", 2, &r, &rc));
    assert_false(emulate_trap(x.v, &r, 14, 0, &rc));
    emu_free(&x);
}

/* ---- control registers ------------------------------------------------------------------ */

static void test_mov_cr_64(void **state)
{
    struct emu x;
    struct pvcore_cpu_regs r;
    int rc;

    (void)state;
    emu_init(&x, 1);
    r = kregs(&x, CODE);
    assert_true(run(&x, (const uint8_t *)"\x0f\x20\xd8", 3, &r, &rc)); /* mov %cr3,%rax */
    assert_done(x, r, rc, 3);
    assert_int_equal(r.rax, x.e.root << 12);
    r = kregs(&x, CODE);
    assert_true(run(&x, (const uint8_t *)"\x41\x0f\x20\xd8", 4, &r, &rc)); /* mov %cr3,%r8 */
    assert_done(x, r, rc, 4);
    assert_int_equal(r.r8, x.e.root << 12);
    x.v->cpu.cr2 = 0x1234567;
    r = kregs(&x, CODE);
    assert_true(run(&x, (const uint8_t *)"\x0f\x20\xd1", 3, &r, &rc)); /* mov %cr2,%rcx */
    assert_int_equal(r.rcx, 0x1234567);
    r.rdx = 0xABC000;
    r.rip = CODE;
    assert_true(run(&x, (const uint8_t *)"\x0f\x22\xd2", 3, &r, &rc)); /* mov %rdx,%cr2 */
    assert_int_equal(x.v->cpu.cr2, 0xABC000);
    /* CR0: fixed bits with the virtual TS; a write may change TS only. */
    r = kregs(&x, CODE);
    assert_true(run(&x, (const uint8_t *)"\x0f\x20\xc0", 3, &r, &rc));
    assert_int_equal(r.rax, 0x80050033u);
    r.rax |= 8;
    r.rip = CODE;
    assert_true(run(&x, (const uint8_t *)"\x0f\x22\xc0", 3, &r, &rc));
    assert_done(x, r, rc, 3);
    assert_true(x.v->cpu.fpu_ts);
    assert_int_equal(pvcore_vcpu_fpu_ts(vcpu(x.t, 1, 0)), 1);
    r = kregs(&x, CODE);
    assert_true(run(&x, (const uint8_t *)"\x0f\x20\xc0", 3, &r, &rc));
    assert_int_equal(r.rax, 0x8005003Bu);
    r.rax = 0x8005003Bu & ~0x10000u; /* clear WP */
    r.rip = CODE;
    assert_false(run(&x, (const uint8_t *)"\x0f\x22\xc0", 3, &r, &rc));
    assert_true(run(&x, (const uint8_t *)"\x0f\x06", 2, &r, &rc)); /* clts */
    assert_false(x.v->cpu.fpu_ts);
    /* CR4: TSD, DE and (64-bit) FSGSBASE toggle; the visible bits stay; the rest is ignored. */
    r = kregs(&x, CODE);
    assert_true(run(&x, (const uint8_t *)"\x0f\x20\xe0", 3, &r, &rc));
    assert_int_equal(r.rax, 0x620);
    r.rax = ~0ull;
    r.rip = CODE;
    assert_true(run(&x, (const uint8_t *)"\x0f\x22\xe0", 3, &r, &rc));
    assert_done(x, r, rc, 3);
    assert_int_equal(pvcore_vcpu_cr4(vcpu(x.t, 1, 0)), 0x62C | (1u << 16)); /* + FSGSBASE */
    r.rax = 0;
    r.rip = CODE;
    assert_true(run(&x, (const uint8_t *)"\x0f\x22\xe0", 3, &r, &rc));
    assert_int_equal(x.v->cpu.cr4, 0x620);
    /* CR8, CR1, lock mov (AMD's CR8), and any of it from user mode: #GP. */
    r = kregs(&x, CODE);
    assert_false(run(&x, (const uint8_t *)"\x44\x0f\x20\xc0", 4, &r, &rc));
    assert_false(run(&x, (const uint8_t *)"\x0f\x20\xc8", 3, &r, &rc));
    assert_false(run(&x, (const uint8_t *)"\xf0\x0f\x20\xc0", 4, &r, &rc));
    user_mode(&x, true);
    assert_false(run(&x, (const uint8_t *)"\x0f\x20\xd8", 3, &r, &rc));
    assert_false(run(&x, (const uint8_t *)"\x0f\x06", 2, &r, &rc));
    user_mode(&x, false);
    emu_free(&x);
}

static void test_mov_cr3_write(void **state)
{
    struct emu x;
    struct pvcore_cpu_regs r;
    uint64_t other;
    int rc;

    (void)state;
    emu_init(&x, 1);
    /* The same root: a reload. A frame that is no L4 of this guest: #GP, base unchanged. */
    r = kregs(&x, CODE);
    r.rbx = x.e.root << 12;
    assert_true(run(&x, (const uint8_t *)"\x0f\x22\xdb", 3, &r, &rc)); /* mov %rbx,%cr3 */
    assert_done(x, r, rc, 3);
    assert_int_equal(x.v->guest_table, x.e.root);
    r = kregs(&x, CODE);
    r.rbx = x.e.data[0] << 12; /* mapped writable: cannot be an L4 */
    assert_false(run(&x, (const uint8_t *)"\x0f\x22\xdb", 3, &r, &rc));
    assert_int_equal(x.v->guest_table, x.e.root);
    r.rbx = 1ull << 63 | x.e.root << 12;
    assert_false(run(&x, (const uint8_t *)"\x0f\x22\xdb", 3, &r, &rc));
    /* A new empty L4 (hypervisor slots filled by the validator). */
    other = alloc_frame(x.t, 1);
    frame_ptr(x.t, other)[0] = frame_ptr(x.t, x.e.root)[0];
    r = kregs(&x, CODE);
    r.rbx = other << 12 | 0x18; /* PWT, PCD: ignored */
    assert_true(run(&x, (const uint8_t *)"\x0f\x22\xdb", 3, &r, &rc));
    assert_done(x, r, rc, 3);
    assert_int_equal(x.v->guest_table, other);
    emu_free(&x);
}

static void test_mov_cr_32(void **state)
{
    struct emu x;
    struct pvcore_cpu_regs r;
    uint64_t root;
    int rc;

    (void)state;
    emu_init(&x, 2);
    root = x.e.root;
    r = kregs(&x, CODE);
    r.rax = 0xFFFFFFFF00000000ull;
    assert_true(run(&x, (const uint8_t *)"\x0f\x20\xd8", 3, &r, &rc));
    assert_done(x, r, rc, 3);
    assert_int_equal(r.rax, (uint32_t)(root << 12 | root >> 20));
    /* Writing it back is a reload. */
    r.rip = CODE;
    assert_true(run(&x, (const uint8_t *)"\x0f\x22\xd8", 3, &r, &rc));
    assert_done(x, r, rc, 3);
    assert_int_equal(x.v->guest_table, root);
    /* No REX in compat mode: 0x41 is an instruction of its own. */
    r = kregs(&x, CODE);
    assert_false(run(&x, (const uint8_t *)"\x41\x0f\x20\xd8", 4, &r, &rc));
    /* Ring 3 of a 32-bit guest is user mode. */
    r.cs = PVCORE_FLAT_RING3_CS_X86_32;
    assert_false(run(&x, (const uint8_t *)"\x0f\x20\xd8", 3, &r, &rc));
    emu_free(&x);
}

/* ---- MSRs ------------------------------------------------------------------------------- */

static bool wrmsr(struct emu *x, uint32_t msr, uint64_t val, struct pvcore_cpu_regs *r, int *rc)
{
    *r = kregs(x, CODE);
    r->rcx = msr;
    r->rax = (uint32_t)val | 0xFFFFFFFF00000000ull; /* upper halves ignored */
    r->rdx = val >> 32;
    return run(x, (const uint8_t *)"\x0f\x30", 2, r, rc);
}

static bool rdmsr(struct emu *x, uint32_t msr, uint64_t *val, struct pvcore_cpu_regs *r, int *rc)
{
    bool h;

    *r = kregs(x, CODE);
    r->rcx = msr;
    r->rax = r->rdx = ~0ull;
    h = run(x, (const uint8_t *)"\x0f\x32", 2, r, rc);
    *val = (r->rdx << 32) | (uint32_t)r->rax;
    return h;
}

static void test_msr_64(void **state)
{
    struct emu x;
    struct pvcore_cpu_regs r;
    uint64_t val, fs, gsk, gsu;
    int rc;

    (void)state;
    emu_init(&x, 1);
    assert_true(wrmsr(&x, 0xC0000101u, 0xFFFF880000001000ull, &r, &rc)); /* GS_BASE */
    assert_done(x, r, rc, 2);
    assert_true(wrmsr(&x, 0xC0000102u, 0x00007F0000002000ull, &r, &rc)); /* SHADOW_GS */
    assert_true(wrmsr(&x, 0xC0000100u, 0x3000, &r, &rc));                 /* FS_BASE */
    pvcore_vcpu_segment_bases(vcpu(x.t, 1, 0), &fs, &gsk, &gsu);
    assert_int_equal(fs, 0x3000);
    assert_int_equal(gsk, 0xFFFF880000001000ull);
    assert_int_equal(gsu, 0x00007F0000002000ull);
    assert_true(rdmsr(&x, 0xC0000101u, &val, &r, &rc));
    assert_done(x, r, rc, 2);
    assert_int_equal(val, 0xFFFF880000001000ull);
    assert_int_equal(r.rax >> 32, 0);
    assert_int_equal(r.rdx, 0xFFFF8800u);
    /* Non-canonical: #GP delivered, nothing changed. */
    assert_true(wrmsr(&x, 0xC0000100u, 0x0000800000000000ull, &r, &rc));
    assert_int_equal(rc, PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, handler(&x, 13));
    assert_int_equal(frame_error(&x, &r), 0);
    assert_int_equal(x.v->cpu.fs_base, 0x3000);
    /* EFER: readable, writable only as it is. */
    assert_true(rdmsr(&x, 0xC0000080u, &val, &r, &rc));
    assert_int_equal(val, 0xD01);
    assert_true(wrmsr(&x, 0xC0000080u, 0xD01, &r, &rc));
    assert_done(x, r, rc, 2);
    assert_true(wrmsr(&x, 0xC0000080u, 0x501, &r, &rc));
    assert_int_equal(r.rip, handler(&x, 13));
    /* PAT, APIC_BASE (vCPU 0 is the BSP). */
    assert_true(rdmsr(&x, 0x277, &val, &r, &rc));
    assert_int_equal(val, 0x0000050100070406ull);
    assert_true(rdmsr(&x, 0x1B, &val, &r, &rc));
    assert_int_equal(val, 0xFEE00900u);
    /* Silently dropped writes; refused ones. */
    assert_true(wrmsr(&x, 0x1A0, 0x1234, &r, &rc)); /* MISC_ENABLE on Intel */
    assert_done(x, r, rc, 2);
    assert_true(wrmsr(&x, 0x277, 0, &r, &rc));      /* PAT */
    assert_int_equal(r.rip, handler(&x, 13));
    assert_true(wrmsr(&x, 0xC0010015u, 0, &r, &rc)); /* HWCR: AMD only */
    assert_int_equal(r.rip, handler(&x, 13));
    host_amd = 1;
    assert_true(wrmsr(&x, 0xC0010015u, 0, &r, &rc));
    assert_done(x, r, rc, 2);
    assert_true(rdmsr(&x, 0x1A0, &val, &r, &rc)); /* MISC_ENABLE: not on AMD */
    assert_int_equal(r.rip, handler(&x, 13));
    host_amd = 0;
    /* Unknown: #GP; but 0 for a guest with no #GP handler, except the hypervisor range. */
    assert_true(rdmsr(&x, 0x10, &val, &r, &rc));
    assert_int_equal(r.rip, handler(&x, 13));
    x.v->cpu.traps[13].address = 0;
    assert_true(rdmsr(&x, 0x10, &val, &r, &rc));
    assert_done(x, r, rc, 2);
    assert_int_equal(val, 0);
    assert_true(rdmsr(&x, 0x40000000u, &val, &r, &rc));
    assert_int_equal(rc, PVCORE_CPU_CRASH); /* a #GP with no handler */
    /* User mode: not emulated. */
    user_mode(&x, true);
    assert_false(rdmsr(&x, 0x277, &val, &r, &rc));
    user_mode(&x, false);
    emu_free(&x);
}

/* CPUID faulting, offered only by a machine whose embedder intercepts every CPUID. */
static void test_cpuid_faulting(void **state)
{
    struct emu x;
    struct pvcore_cpu_regs r;
    uint64_t val;
    int rc, d;

    (void)state;
    emu_init(&x, 1);
    assert_true(rdmsr(&x, 0xCE, &val, &r, &rc));
    assert_int_equal(val, 0);
    assert_true(wrmsr(&x, 0x140, 0, &r, &rc));
    assert_done(&x, r, rc, 2);
    assert_true(wrmsr(&x, 0x140, 1, &r, &rc)); /* not offered: #GP */
    assert_int_equal(r.rip, handler(&x, 13));
    assert_false(x.v->cpu.cpuid_faulting);
    emu_free(&x);

    for (d = 1; d <= 2; d++) {
        emu_init_flags(&x, d, PVCORE_MACHINE_CPUID_FAULTING);
        x.v->cpu.kernel_sp = STACK_TOP; /* where a fault from user mode is delivered */
        x.v->cpu.kernel_ss = PVCORE_FLAT_RING1_SS_X86_32;
        assert_true(rdmsr(&x, 0xCE, &val, &r, &rc));
        assert_int_equal(val, 1ull << 31);
        assert_true(wrmsr(&x, 0x140, 2, &r, &rc)); /* reserved bit: #GP */
        assert_int_equal(r.rip, handler(&x, 13));
        assert_true(wrmsr(&x, 0x140, 1, &r, &rc));
        assert_done(&x, r, rc, 2);
        assert_true(rdmsr(&x, 0x140, &val, &r, &rc));
        assert_int_equal(val, 1);
        /* the kernel's CPUID is still answered */
        r = kregs(&x, CODE);
        r.rax = 0x40000000u;
        assert_true(run(&x, (const uint8_t *)"\x0f\xa2", 2, &r, &rc));
        assert_done(&x, r, rc, 2);
        assert_int_equal(r.rbx, 0x566e6558u); /* "XenV" */
        /* user mode's faults to the guest kernel: plain CPUID bounces its #GP ... */
        r = kregs(&x, CODE);
        if (d == 1) {
            user_mode(&x, true);
        } else {
            r.cs = PVCORE_FLAT_RING3_CS_X86_32;
            r.ss = PVCORE_FLAT_RING3_SS_X86_32;
        }
        assert_false(run(&x, (const uint8_t *)"\x0f\xa2", 2, &r, &rc));
        /* ... and the forced-emulation prefix gives #GP at the cpuid instruction */
        r = kregs(&x, CODE);
        if (d == 2) {
            r.cs = PVCORE_FLAT_RING3_CS_X86_32;
            r.ss = PVCORE_FLAT_RING3_SS_X86_32;
        }
        assert_true(run_at(&x, CODE, forced_cpuid, 7, 6, &r, &rc));
        assert_int_equal(rc, PVCORE_CPU_RESUME);
        assert_int_equal(r.rip, handler(&x, 13));
        if (d == 1) {
            uint64_t at = 0;
            gread(&x.e, r.rsp + 24u, &at, 8); /* rcx, r11, error, rip */
            assert_int_equal(at, CODE + 5);
        } else {
            assert_int_equal(gread32(&x.e, r.rsp + 4u), (uint32_t)(CODE + 5)); /* error, eip */
        }
        if (d == 1) {
            user_mode(&x, false);
        }
        /* faulting off again: user CPUID answered */
        assert_true(wrmsr(&x, 0x140, 0, &r, &rc));
        r = kregs(&x, CODE);
        if (d == 1) {
            user_mode(&x, true);
        } else {
            r.cs = PVCORE_FLAT_RING3_CS_X86_32;
            r.ss = PVCORE_FLAT_RING3_SS_X86_32;
        }
        r.rax = 0;
        assert_true(run(&x, (const uint8_t *)"\x0f\xa2", 2, &r, &rc));
        assert_done(&x, r, rc, 2);
        if (d == 1) {
            user_mode(&x, false);
        }
        emu_free(&x);
    }
}

static void test_msr_32(void **state)
{
    struct emu x;
    struct pvcore_cpu_regs r;
    uint64_t val;
    int rc;

    (void)state;
    emu_init(&x, 2);
    assert_true(wrmsr(&x, 0xC0000100u, 0x3000, &r, &rc));
    assert_int_equal(r.rip, handler(&x, 13));
    assert_int_equal(x.v->cpu.fs_base, 0);
    assert_true(rdmsr(&x, 0xC0000080u, &val, &r, &rc));
    assert_int_equal(val, 0x800); /* NX only: no long mode, no SYSCALL on Intel */
    emu_free(&x);
}

/* ---- port I/O, IOPL, cli/sti ------------------------------------------------------------ */

static int64_t set_iopl(struct emu *x, uint32_t iopl)
{
    struct pvcore_hypercall_regs h;

    memset(&h, 0, sizeof(h));
    gwrite32(&x->e, ARGS, iopl);
    h.nr = PVCORE_HYPERVISOR_physdev_op;
    h.arg[0] = PVCORE_PHYSDEVOP_set_iopl;
    h.arg[1] = ARGS;
    assert_int_equal(pvcore_hypercall(vcpu(x->t, x->e.d, 0), &h), PVCORE_HYPERCALL_DONE);
    return x->e.is32 ? (int64_t)(int32_t)h.ret : (int64_t)h.ret;
}

static void test_port_io(void **state)
{
    struct emu x;
    struct pvcore_cpu_regs r;
    struct pvcore_hypercall_regs h;
    int rc;

    (void)state;
    emu_init(&x, 1);
    /* IOPL 0: in/out and cli/sti are #GP for the guest. */
    r = kregs(&x, CODE);
    assert_false(run(&x, (const uint8_t *)"\xe4\x60", 2, &r, &rc));
    assert_false(run(&x, (const uint8_t *)"\xfa", 1, &r, &rc));
    assert_int_equal(set_iopl(&x, 4), -PVCORE_EINVAL);
    assert_int_equal(x.v->cpu.iopl, 0);
    assert_int_equal(set_iopl(&x, 1), 0);
    assert_int_equal(x.v->cpu.iopl, 0x1000);
    /* Other physdev_op commands are the embedder's. */
    memset(&h, 0, sizeof(h));
    h.nr = PVCORE_HYPERVISOR_physdev_op;
    h.arg[0] = PVCORE_PHYSDEVOP_set_iobitmap;
    assert_int_equal(pvcore_hypercall(vcpu(x.t, 1, 0), &h), PVCORE_HYPERCALL_UNHANDLED);
    /* Permitted by IOPL, port not given: all ones, the rest of rax kept, no hook. */
    r = kregs(&x, CODE);
    r.rax = 0x1111111111111100ull;
    assert_true(run(&x, (const uint8_t *)"\xe4\x60", 2, &r, &rc)); /* in $0x60,%al */
    assert_done(x, r, rc, 2);
    assert_int_equal(r.rax, 0x11111111111111FFull);
    assert_int_equal(io.calls, 0);
    /* Given ports go to the hook. */
    assert_int_equal(pvcore_domain_ioport_permit(x.t->dom[1], 0x60, 0x64, 1), 0);
    r = kregs(&x, CODE);
    r.rax = 0x1111111111111100ull;
    assert_true(run(&x, (const uint8_t *)"\xe4\x60", 2, &r, &rc));
    assert_int_equal(r.rax, 0x1111111111111178ull);
    assert_int_equal(io.calls, 1);
    assert_int_equal(io.port, 0x60);
    assert_int_equal(io.bytes, 1);
    r = kregs(&x, CODE);
    r.rdx = 0x10063; /* port 0x63 */
    r.rax = 0x1111111111111111ull;
    assert_true(run(&x, (const uint8_t *)"\x66\xed", 2, &r, &rc)); /* in (%dx),%ax */
    assert_done(x, r, rc, 2);
    assert_int_equal(r.rax, 0x1111111111115678ull);
    r = kregs(&x, CODE);
    r.rax = 0xFFFFFFFF00000000ull; /* in %eax: zero-extended */
    r.rdx = 0x61;
    assert_true(run(&x, (const uint8_t *)"\xed", 1, &r, &rc));
    assert_int_equal(r.rax, 0x12345678u);
    r.rip = CODE;
    r.rax = 0xAABBCCDDu;
    assert_true(run(&x, (const uint8_t *)"\xef", 1, &r, &rc)); /* out %eax,(%dx) */
    assert_int_equal(io.write, 1);
    assert_int_equal(io.val, 0xAABBCCDDu);
    assert_int_equal(io.bytes, 4);
    /* Partly outside the ranges: not passed (0x63-0x66). */
    io.calls = 0;
    r.rip = CODE;
    r.rdx = 0x63;
    assert_true(run(&x, (const uint8_t *)"\xef", 1, &r, &rc));
    assert_int_equal(io.calls, 0);
    /* Never passed: a dword at 0xCF8, the RTC. */
    assert_int_equal(pvcore_domain_ioport_permit(x.t->dom[1], 0, 0xFFFF, 1), 0);
    r = kregs(&x, CODE);
    r.rdx = 0xCF8;
    assert_true(run(&x, (const uint8_t *)"\xed", 1, &r, &rc));
    assert_int_equal(r.rax, 0xFFFFFFFFu);
    assert_true(run_at(&x, CODE, (const uint8_t *)"\xe4\x71", 2, 13, &r, &rc));
    assert_int_equal(io.calls, 0);
    r.rip = CODE;
    r.rdx = 0xCFC;
    assert_true(run(&x, (const uint8_t *)"\xed", 1, &r, &rc));
    assert_int_equal(io.calls, 1);
    /* Revoking. */
    assert_int_equal(pvcore_domain_ioport_permit(x.t->dom[1], 0, 0xFFFF, 0), 0);
    assert_int_equal(pvcore_domain_ioport_permit(x.t->dom[1], 0, 0xFFFF, 0), -PVCORE_ENOENT);
    assert_int_equal(pvcore_domain_ioport_permit(x.t->dom[1], 5, 4, 1), -PVCORE_EINVAL);
    /* cli/sti under the IOPL: no-ops. User mode needs IOPL 3. */
    r = kregs(&x, CODE);
    assert_true(run(&x, (const uint8_t *)"\xfa", 1, &r, &rc));
    assert_done(x, r, rc, 1);
    assert_int_equal(r.rflags, 0x202u);
    user_mode(&x, true);
    r = kregs(&x, CODE);
    assert_false(run(&x, (const uint8_t *)"\xfb", 1, &r, &rc));
    assert_false(run(&x, (const uint8_t *)"\xe4\x60", 2, &r, &rc));
    x.v->cpu.iopl = 0x3000;
    assert_true(run(&x, (const uint8_t *)"\xfb", 1, &r, &rc));
    assert_done(x, r, rc, 1);
    user_mode(&x, false);
    emu_free(&x);
}

static void test_architectural_iopl(void **state)
{
    struct emu x;
    struct pvcore_cpu_regs r;
    int rc;

    (void)state;
    emu_init(&x, 2);
    r = kregs(&x, CODE);
    assert_false(run(&x, (const uint8_t *)"\xfa", 1, &r, &rc));
    /* With the assist the kernel counts as ring 0: IOPL 0 is enough. */
    assert_int_equal(pvcore_domain_vm_assist(x.t->dom[2], PVCORE_VMASST_CMD_enable,
                                             PVCORE_VMASST_TYPE_architectural_iopl), 0);
    assert_true(run(&x, (const uint8_t *)"\xfa", 1, &r, &rc));
    assert_done(x, r, rc, 1);
    r.cs = PVCORE_FLAT_RING3_CS_X86_32;
    r.rip = CODE;
    assert_false(run(&x, (const uint8_t *)"\xfa", 1, &r, &rc));
    emu_free(&x);
}

/* ---- int $n ----------------------------------------------------------------------------- */

static void test_int_n(void **state)
{
    struct emu x;
    struct pvcore_cpu_regs r;
    int rc, d;

    (void)state;
    for (d = 1; d <= 2; d++) {
        emu_init(&x, d);
        x.v->cpu.traps[0x80].flags = 3;
        x.v->cpu.traps[0x81].flags = 1;
        r = kregs(&x, CODE);
        assert_true(run(&x, (const uint8_t *)"\xcd\x80", 2, &r, &rc));
        assert_int_equal(rc, PVCORE_CPU_RESUME);
        assert_int_equal(r.rip, handler(&x, 0x80));
        /* DPL 1: the kernel may, user mode may not. */
        r = kregs(&x, CODE);
        assert_true(run(&x, (const uint8_t *)"\xcd\x81", 2, &r, &rc));
        assert_int_equal(r.rip, handler(&x, 0x81));
        r = kregs(&x, CODE);
        if (x.e.is32) {
            r.cs = PVCORE_FLAT_RING3_CS_X86_32;
            x.v->cpu.kernel_sp = STACK_TOP - 0x40u;
            x.v->cpu.kernel_ss = PVCORE_FLAT_RING1_SS_X86_32;
        } else {
            user_mode(&x, true);
            x.v->cpu.kernel_sp = STACK_TOP - 0x40u;
        }
        assert_true(run(&x, (const uint8_t *)"\xcd\x81", 2, &r, &rc));
        assert_int_equal(rc, PVCORE_CPU_RESUME);
        assert_int_equal(r.rip, handler(&x, 13));
        assert_int_equal(frame_error(&x, &r), 0x81u << 3 | 2u);
        if (!x.e.is32) {
            assert_false(x.v->cpu.user_mode); /* the bounce entered kernel mode */
            user_mode(&x, false);
        }
        /* DPL 0: nobody. */
        r = kregs(&x, CODE);
        assert_true(run(&x, (const uint8_t *)"\xcd\x82", 2, &r, &rc));
        assert_int_equal(r.rip, handler(&x, 13));
        assert_int_equal(frame_error(&x, &r), 0x82u << 3 | 2u);
        emu_free(&x);
    }
}

/* ---- debug registers -------------------------------------------------------------------- */

static void test_debugreg_rules(void **state)
{
    struct emu x;
    struct pvcore_vcpu *pv;

    (void)state;
    emu_init(&x, 1);
    pv = vcpu(x.t, 1, 0);
    assert_int_equal(pvcore_vcpu_debugreg(pv, 6), 0xFFFF0FF0u);
    assert_int_equal(pvcore_vcpu_debugreg(pv, 7), 0x400u);
    assert_int_equal(pvcore_vcpu_set_debugreg(pv, 0, 0x00007FFFFFFFFFF8ull), 0);
    assert_int_equal(pvcore_vcpu_set_debugreg(pv, 1, PVCORE_HYPERVISOR_VIRT_START_X86_64), -PVCORE_EPERM);
    assert_int_equal(pvcore_vcpu_set_debugreg(pv, 1, PVCORE_HYPERVISOR_VIRT_END_X86_64 - 8u), -PVCORE_EPERM);
    assert_int_equal(pvcore_vcpu_set_debugreg(pv, 1, 0x0000800000000000ull), -PVCORE_EPERM);
    assert_int_equal(pvcore_vcpu_set_debugreg(pv, 1, PVCORE_HYPERVISOR_VIRT_END_X86_64), 0);
    assert_int_equal(pvcore_vcpu_debugreg(pv, 0), 0x00007FFFFFFFFFF8ull);
    assert_int_equal(pvcore_vcpu_set_debugreg(pv, 6, 1ull << 32), -PVCORE_EINVAL);
    assert_int_equal(pvcore_vcpu_set_debugreg(pv, 6, 0x1001), 0);
    assert_int_equal(pvcore_vcpu_debugreg(pv, 6), 0xFFFF0FF1u);
    assert_int_equal(pvcore_vcpu_set_debugreg(pv, 7, 1ull << 32), -PVCORE_EINVAL);
    assert_int_equal(pvcore_vcpu_set_debugreg(pv, 7, 0x2001), -PVCORE_EPERM); /* GD */
    /* An I/O breakpoint (R/W 10 for DR0) needs CR4.DE. */
    assert_int_equal(pvcore_vcpu_set_debugreg(pv, 7, 0x00020001), -PVCORE_EPERM);
    assert_int_equal(pvcore_vcpu_debugreg(pv, 7), 0x400u);
    assert_int_equal(pvcore_vcpu_set_debugreg(pv, 7, 0x0000D803), 0);
    assert_int_equal(pvcore_vcpu_debugreg(pv, 7), 0x403u); /* bits 11, 12, 14, 15 cleared, 10 set */
    /* DR4/DR5 alias DR6/DR7 while CR4.DE is clear. */
    assert_int_equal(pvcore_vcpu_set_debugreg(pv, 5, 0x1), 0);
    assert_int_equal(pvcore_vcpu_debugreg(pv, 7), 0x401u);
    x.v->cpu.cr4 |= 0x8u;
    assert_int_equal(pvcore_vcpu_set_debugreg(pv, 4, 0), -PVCORE_ENODEV);
    assert_int_equal(pvcore_vcpu_set_debugreg(pv, 8, 0), -PVCORE_ENODEV);
    assert_int_equal(pvcore_vcpu_set_debugreg(pv, 7, 0x00020001), 0);
    assert_int_equal(pvcore_vcpu_debugreg(pv, 7), 0x00020400u); /* the enable is emulated */
    emu_free(&x);
    emu_init(&x, 2);
    pv = vcpu(x.t, 2, 0);
    assert_int_equal(pvcore_vcpu_set_debugreg(pv, 0, 0xF57FFFFCu), 0);
    assert_int_equal(pvcore_vcpu_set_debugreg(pv, 0, 0xF5800000u), -PVCORE_EPERM);
    emu_free(&x);
}

static int64_t hc2(struct emu *x, uint64_t nr, uint64_t a0, uint64_t a1)
{
    struct pvcore_hypercall_regs h;

    memset(&h, 0, sizeof(h));
    h.nr = nr;
    h.arg[0] = a0;
    h.arg[1] = a1;
    assert_int_equal(pvcore_hypercall(vcpu(x->t, x->e.d, 0), &h), PVCORE_HYPERCALL_DONE);
    return (int64_t)h.ret;
}

static void test_debugreg_hypercalls_and_mov(void **state)
{
    struct emu x;
    struct pvcore_cpu_regs r;
    int rc;

    (void)state;
    emu_init(&x, 1);
    assert_int_equal(hc2(&x, PVCORE_HYPERVISOR_set_debugreg, 2, 0x5000), 0);
    assert_int_equal(hc2(&x, PVCORE_HYPERVISOR_get_debugreg, 2, 0), 0x5000);
    assert_int_equal(hc2(&x, PVCORE_HYPERVISOR_set_debugreg, 0, PVCORE_HYPERVISOR_VIRT_START_X86_64),
                     -PVCORE_EPERM);
    assert_int_equal(hc2(&x, PVCORE_HYPERVISOR_get_debugreg, 9, 0), -PVCORE_ENODEV);
    /* mov %dr2,%rax; mov %rcx,%dr7; a refused one is a #GP; %dr4 under CR4.DE a #UD. */
    r = kregs(&x, CODE);
    assert_true(run(&x, (const uint8_t *)"\x0f\x21\xd0", 3, &r, &rc));
    assert_done(x, r, rc, 3);
    assert_int_equal(r.rax, 0x5000);
    r = kregs(&x, CODE);
    r.rcx = 0x0000000Cu; /* L1, G1 */
    assert_true(run(&x, (const uint8_t *)"\x0f\x23\xf9", 3, &r, &rc));
    assert_done(x, r, rc, 3);
    assert_int_equal(pvcore_vcpu_debugreg(vcpu(x.t, 1, 0), 7), 0x40Cu);
    r = kregs(&x, CODE);
    r.rcx = 0x2000; /* GD */
    assert_true(run(&x, (const uint8_t *)"\x0f\x23\xf9", 3, &r, &rc));
    assert_int_equal(r.rip, handler(&x, 13));
    x.v->cpu.cr4 |= 0x8u;
    r = kregs(&x, CODE);
    assert_true(run(&x, (const uint8_t *)"\x0f\x21\xe0", 3, &r, &rc));
    assert_int_equal(r.rip, handler(&x, 6));
    /* %dr8 (REX.R) does not exist. */
    r = kregs(&x, CODE);
    assert_false(run(&x, (const uint8_t *)"\x44\x0f\x21\xc0", 4, &r, &rc));
    emu_free(&x);
}

/* ---- #DB after an instruction ----------------------------------------------------------- */

static void test_single_step_and_io_breakpoint(void **state)
{
    struct emu x;
    struct pvcore_cpu_regs r;
    int rc;

    (void)state;
    emu_init(&x, 1);
    r = kregs(&x, CODE);
    r.rflags |= 0x100u | 0x10000u; /* TF, RF */
    assert_true(run(&x, (const uint8_t *)"\x0f\x06", 2, &r, &rc));
    assert_int_equal(rc, PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, handler(&x, 1));
    assert_true(x.v->cpu.dr[6] & 0x4000u);
    /* The frame holds the instruction after clts. */
    {
        uint64_t rip = 0;
        gread(&x.e, r.rsp + 16u, &rip, 8);
        assert_int_equal(rip, CODE + 2);
    }
    /* An I/O breakpoint on port 0x70, 1 byte, enabled: in from it raises #DB with B0. */
    x.v->cpu.cr4 |= 0x8u;
    x.v->cpu.dr[6] = 0xFFFF0FF0u;
    assert_int_equal(pvcore_vcpu_set_debugreg(vcpu(x.t, 1, 0), 0, 0x70), 0);
    assert_int_equal(pvcore_vcpu_set_debugreg(vcpu(x.t, 1, 0), 7, 0x00020002u), 0);
    assert_int_equal(set_iopl(&x, 1), 0);
    r = kregs(&x, CODE);
    assert_true(run(&x, (const uint8_t *)"\xe4\x71", 2, &r, &rc)); /* port 0x71: no hit */
    assert_done(x, r, rc, 2);
    r = kregs(&x, CODE);
    assert_true(run(&x, (const uint8_t *)"\xe4\x70", 2, &r, &rc));
    assert_int_equal(r.rip, handler(&x, 1));
    assert_int_equal(x.v->cpu.dr[6], 0xFFFF0FF1u);
    emu_free(&x);
}

static void test_wbinvd(void **state)
{
    struct emu x;
    struct pvcore_cpu_regs r;
    struct pvcore_host_stats st;
    int rc;

    (void)state;
    emu_init(&x, 1);
    r = kregs(&x, CODE);
    assert_true(run(&x, (const uint8_t *)"\x0f\x09", 2, &r, &rc));
    assert_done(x, r, rc, 2);
    pvcore_host_backend_stats(x.t->hb, &st);
    assert_int_equal(st.cache_flushes, 0);
    assert_int_equal(pvcore_domain_iomem_permit(x.t->dom[1], pvcore_mfn(4000), pvcore_mfn(4001), 1), 0);
    r = kregs(&x, CODE);
    assert_true(run(&x, (const uint8_t *)"\x0f\x09", 2, &r, &rc));
    pvcore_host_backend_stats(x.t->hb, &st);
    assert_int_equal(st.cache_flushes, 1);
    emu_free(&x);
}

/* Through the public entry: the trap dispatcher hands #UD to the emulator. */
static void test_through_cpu_trap(void **state)
{
    struct emu x;
    struct pvcore_cpu_regs r;

    (void)state;
    emu_init(&x, 1);
    gwrite(&x.e, CODE, forced_cpuid, 7);
    r = kregs(&x, CODE);
    r.rax = 0x40000000u;
    assert_int_equal(pvcore_cpu_trap(vcpu(x.t, 1, 0), &r, 6, 0, 0), PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, CODE + 7);
    assert_int_equal(r.rbx, 0x566E6558u);
    /* Not emulated: the #GP goes to the guest's handler. */
    gwrite(&x.e, CODE, "\xf4", 1);
    r = kregs(&x, CODE);
    assert_int_equal(pvcore_cpu_trap(vcpu(x.t, 1, 0), &r, 13, 0, 0), PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, handler(&x, 13));
    emu_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forced_cpuid_xen_leaves),
        cmocka_unit_test(test_cpuid_policy_hides),
        cmocka_unit_test(test_cpuid_policy_32bit),
        cmocka_unit_test(test_forced_cpuid_variants),
        cmocka_unit_test(test_fetch_fault_is_pf),
        cmocka_unit_test(test_decoder_limits),
        cmocka_unit_test(test_mov_cr_64),
        cmocka_unit_test(test_mov_cr3_write),
        cmocka_unit_test(test_mov_cr_32),
        cmocka_unit_test(test_msr_64),
        cmocka_unit_test(test_msr_32),
        cmocka_unit_test(test_cpuid_faulting),
        cmocka_unit_test(test_port_io),
        cmocka_unit_test(test_architectural_iopl),
        cmocka_unit_test(test_int_n),
        cmocka_unit_test(test_debugreg_rules),
        cmocka_unit_test(test_debugreg_hypercalls_and_mov),
        cmocka_unit_test(test_single_step_and_io_breakpoint),
        cmocka_unit_test(test_wbinvd),
        cmocka_unit_test(test_through_cpu_trap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
