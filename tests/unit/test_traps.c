/*
 * The CPU half's trap side (<pvcore/cpu.h>): set_trap_table, callback_op, stack_switch,
 * fpu_taskswitch, set_segment_base, the exception bounce for 64-bit and 32-bit PAE guests
 * from kernel and user mode, faults while delivering, iret, and multicall. Frames are read
 * back from guest memory and compared word for word with what Xen builds.
 */
#include "guestenv.h"

#include <pvcore/cpu.h>
#include <pvcore/hypercall.h>

#define STACK_TOP (VA + 4u * 4096u)    /* kernel stack: the top of data page 3 */
#define TABLE_VA (VA + 5u * 4096u)     /* trap tables and other arguments: data page 5 */
#define HANDLER64 0xFFFF900000001000ull /* any canonical kernel address */
#define HANDLER32 0x00101000u
#define CODE_VA (VA + 6u * 4096u)       /* where the faulting instruction is: ud2 */

struct tenv {
    struct env e;
    uint64_t shared; /* the shared-info frame */
};

static void tenv_init(struct tenv *te, struct pvtest *t, int d)
{
    memset(te, 0, sizeof(*te));
    env_init(&te->e, t, d);
    te->shared = alloc_frame(t, d);
    /* ud2 at CODE_VA: an instruction the emulator leaves alone, for #UD and #GP alike */
    gwrite(&te->e, CODE_VA, "\x0f\x0b", 2);
    assert_int_equal(pvcore_domain_set_shared_info(t->dom[d], pvcore_mfn(te->shared)), 0);
}

static struct pvtest *new_machine(void)
{
    return pvtest_new();
}

/* mode_changed hook calls so far (the host backend counts them). */
static uint64_t mode_changes(struct pvtest *t)
{
    struct pvcore_host_stats st;

    pvcore_host_backend_stats(t->hb, &st);
    return st.mode_changes;
}

static uint8_t *vinfo(const struct tenv *te, uint32_t vcpu_id)
{
    return (uint8_t *)frame_ptr(te->e.t, te->shared) + 64u * vcpu_id;
}

static struct pvcore_cpu_regs kregs(const struct tenv *te)
{
    struct pvcore_cpu_regs r;

    memset(&r, 0, sizeof(r));
    if (te->e.is32) {
        r.cs = PVCORE_FLAT_RING1_CS_X86_32;
        r.ss = PVCORE_FLAT_RING1_SS_X86_32;
        r.rsp = STACK_TOP - 0x100u;
        r.rip = CODE_VA;
    } else {
        r.cs = PVCORE_FLAT_RING3_CS64_X86_64;
        r.ss = PVCORE_FLAT_RING3_SS64_X86_64;
        r.rsp = STACK_TOP - 0x108u; /* not 16-byte aligned: the frame is */
        r.rip = CODE_VA;
    }
    r.rflags = 0x202u | 0x100u /* TF */;
    r.rcx = 0x1111;
    r.r11 = 0x2222;
    r.rax = 0xAAAA;
    return r;
}

/* A direct hypercall through the full-register entry. */
static int64_t hcall(const struct tenv *te, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
    struct pvcore_cpu_regs r = kregs(te);
    struct pvcore_hypercall_regs h;

    r.rax = nr;
    if (te->e.is32) {
        r.rbx = a0;
        r.rcx = a1;
        r.rdx = a2;
    } else {
        r.rdi = a0;
        r.rsi = a1;
        r.rdx = a2;
    }
    assert_int_equal(pvcore_cpu_hypercall(vcpu(te->e.t, te->e.d, 0), &r, &h), PVCORE_CPU_RESUME);
    check_invariants(te->e.t);
    return te->e.is32 ? (int64_t)(int32_t)(uint32_t)r.rax : (int64_t)r.rax;
}

/* Writes trap-table entries at TABLE_VA, then the terminator. */
static void put_traps(const struct tenv *te, const uint8_t *vec, const uint8_t *flags,
                      const uint16_t *cs, const uint64_t *addr, unsigned n)
{
    unsigned i;
    size_t sz = te->e.is32 ? 8u : 16u;

    for (i = 0; i <= n; i++) {
        uint8_t b[16] = { 0 };
        if (i < n) {
            b[0] = vec[i];
            b[1] = flags[i];
            b[2] = (uint8_t)cs[i];
            b[3] = (uint8_t)(cs[i] >> 8);
            if (te->e.is32) {
                memcpy(b + 4, &(uint32_t){ (uint32_t)addr[i] }, 4);
            } else {
                memcpy(b + 8, &addr[i], 8);
            }
        }
        gwrite(&te->e, TABLE_VA + i * sz, b, sz);
    }
}

static void set_handler(const struct tenv *te, uint8_t vec, uint8_t flags)
{
    uint16_t cs = te->e.is32 ? PVCORE_FLAT_RING1_CS_X86_32 : PVCORE_FLAT_RING3_CS64_X86_64;
    uint64_t a = te->e.is32 ? HANDLER32 + vec : HANDLER64 + vec;

    put_traps(te, &vec, &flags, &cs, &a, 1);
    assert_int_equal(hcall(te, PVCORE_HYPERVISOR_set_trap_table, TABLE_VA, 0, 0), 0);
}

static uint64_t rd64(const struct env *e, uint64_t va)
{
    uint64_t v;
    gread(e, va, &v, 8);
    return v;
}

/* ---- 64-bit bounce -------------------------------------------------------------------------- */

static void test_bounce64_kernel_pf(void **state)
{
    struct pvtest *t = new_machine();
    struct tenv te;
    struct pvcore_cpu_regs r, before;
    uint64_t fr;

    (void)state;
    tenv_init(&te, t, 1);
    set_handler(&te, 14, PVCORE_TI_IF);
    vinfo(&te, 0)[1] = 0; /* events enabled */
    r = kregs(&te);
    before = r;
    assert_int_equal(pvcore_cpu_trap(vcpu(t, 1, 0), &r, 14, 0x7 /* U|W|P */, 0x1234567000ull),
                     PVCORE_CPU_RESUME);
    /* 16-byte aligned below the old rsp, 8 words: rcx r11 err rip cs rflags rsp ss. */
    fr = ((before.rsp) & ~15ull) - 8u * 8u;
    assert_int_equal(r.rsp, fr);
    assert_int_equal(rd64(&te.e, fr + 0), 0x1111);
    assert_int_equal(rd64(&te.e, fr + 8), 0x2222);
    assert_int_equal(rd64(&te.e, fr + 16), 0x3); /* U cleared: the guest was in kernel mode */
    assert_int_equal(rd64(&te.e, fr + 24), before.rip);
    /* RPL 0 in kernel mode, saved mask (0) in bits 32-39 */
    assert_int_equal(rd64(&te.e, fr + 32), PVCORE_FLAT_RING3_CS64_X86_64 & ~3u);
    assert_int_equal(rd64(&te.e, fr + 40), 0x302u); /* virtual IF on, TF kept in the frame */
    assert_int_equal(rd64(&te.e, fr + 48), before.rsp);
    assert_int_equal(rd64(&te.e, fr + 56), PVCORE_FLAT_RING3_SS64_X86_64);
    assert_int_equal(r.rip, HANDLER64 + 14);
    assert_int_equal(r.cs, PVCORE_FLAT_KERNEL_CS_X86_64);
    assert_int_equal(r.ss, PVCORE_FLAT_KERNEL_SS_X86_64);
    assert_int_equal(r.rflags & 0x100u, 0); /* TF cleared */
    assert_int_equal(r.rcx, 0x1111);
    assert_int_equal(vinfo(&te, 0)[1], 1); /* TI_IF: events masked on entry */
    assert_int_equal(*(uint64_t *)(void *)(vinfo(&te, 0) + 16), 0x1234567000ull); /* cr2 */
    check_invariants(t);
    pvtest_free(t);
}

static void test_bounce64_masked_no_error(void **state)
{
    struct pvtest *t = new_machine();
    struct tenv te;
    struct pvcore_cpu_regs r, before;
    uint64_t fr;

    (void)state;
    tenv_init(&te, t, 1);
    set_handler(&te, 6, 0);
    vinfo(&te, 0)[1] = 1; /* events masked already */
    r = kregs(&te);
    before = r;
    assert_int_equal(pvcore_cpu_trap(vcpu(t, 1, 0), &r, 6, 0xdead, 0), PVCORE_CPU_RESUME);
    fr = (before.rsp & ~15ull) - 7u * 8u; /* #UD pushes no error code */
    assert_int_equal(r.rsp, fr);
    assert_int_equal(rd64(&te.e, fr + 16), before.rip);
    assert_int_equal(rd64(&te.e, fr + 24), (PVCORE_FLAT_RING3_CS64_X86_64 & ~3u) | (1ull << 32));
    assert_int_equal(rd64(&te.e, fr + 32), 0x102u); /* virtual IF off */
    assert_int_equal(vinfo(&te, 0)[1], 1);
    pvtest_free(t);
}

static void test_bounce64_from_user(void **state)
{
    struct pvtest *t = new_machine();
    struct tenv te;
    struct pvcore_cpu_regs r, before;
    uint64_t fr;

    (void)state;
    tenv_init(&te, t, 1);
    set_handler(&te, 14, 0);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_stack_switch, 0, STACK_TOP, 0), 0);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_USER_BASEPTR, te.e.root, 0, PVCORE_DOMID_SELF), 0);
    /* Into user mode through iret: { rax, r11, rcx, flags, rip, cs, rflags, rsp, ss } */
    {
        uint64_t f[9] = { 7, 0x22, 0x11, 0, 0x400000, 0xe033, 0x3202 /* IOPL 3, IF */, VA + 0x800,
                          0xe02b };
        struct pvcore_cpu_regs ir = kregs(&te);
        struct pvcore_hypercall_regs h;
        gwrite(&te.e, TABLE_VA + 0x400, f, sizeof(f));
        ir.rsp = TABLE_VA + 0x400;
        ir.rax = PVCORE_HYPERVISOR_iret;
        assert_int_equal(pvcore_cpu_hypercall(vcpu(t, 1, 0), &ir, &h), PVCORE_CPU_RESUME);
        assert_int_equal(ir.rax, 7);
        assert_int_equal(ir.rip, 0x400000);
        assert_int_equal(ir.cs, 0xe033);
        assert_int_equal(ir.rflags, 0x202); /* IOPL stripped (no architectural-IOPL assist) */
        assert_int_equal(ir.rsp, VA + 0x800);
        assert_int_equal(ir.rcx, 0x11);
        assert_int_equal(ir.r11, 0x22);
        assert_false(pvcore_vcpu_kernel_mode(vcpu(t, 1, 0)));
        assert_int_equal(mode_changes(t), 1);
        assert_int_equal(vinfo(&te, 0)[1], 0); /* events on, from the frame's IF */
    }
    r = kregs(&te);
    r.rsp = VA + 0x800;
    before = r;
    assert_int_equal(pvcore_cpu_trap(vcpu(t, 1, 0), &r, 14, 0x2, 0x5000), PVCORE_CPU_RESUME);
    assert_true(pvcore_vcpu_kernel_mode(vcpu(t, 1, 0)));
    assert_int_equal(mode_changes(t), 2);
    fr = (STACK_TOP & ~15ull) - 8u * 8u; /* on the stack_switch stack */
    assert_int_equal(r.rsp, fr);
    assert_int_equal(rd64(&te.e, fr + 16), 0x6); /* U set: the guest was in user mode */
    assert_int_equal(rd64(&te.e, fr + 32), PVCORE_FLAT_RING3_CS64_X86_64); /* RPL 3 kept */
    assert_int_equal(rd64(&te.e, fr + 48), before.rsp);
    check_invariants(t);
    pvtest_free(t);
}

/* A fault while delivering a fault: the domain cannot go on, and nothing was written. */
static void test_bounce_fault_while_delivering(void **state)
{
    struct pvtest *t = new_machine();
    struct tenv te;
    struct pvcore_cpu_regs r;
    int d;

    (void)state;
    for (d = 1; d <= 2; d++) {
        uint8_t snap[4096];
        tenv_init(&te, t, d);
        /* no handler registered */
        r = kregs(&te);
        assert_int_equal(pvcore_cpu_trap(vcpu(t, d, 0), &r, 13, 0, 0), PVCORE_CPU_CRASH);
        set_handler(&te, 13, 0);
        /* the stack unmapped */
        r = kregs(&te);
        r.rsp = UNMAPPED + 0x100;
        assert_int_equal(pvcore_cpu_trap(vcpu(t, d, 0), &r, 13, 0, 0), PVCORE_CPU_CRASH);
        /* the stack straddling the bottom of the mapped pages: all or nothing */
        gread(&te.e, VA, snap, sizeof(snap));
        r = kregs(&te);
        r.rsp = VA + 8;
        assert_int_equal(pvcore_cpu_trap(vcpu(t, d, 0), &r, 13, 0, 0), PVCORE_CPU_CRASH);
        {
            uint8_t now[4096];
            gread(&te.e, VA, now, sizeof(now));
            assert_memory_equal(snap, now, sizeof(now));
        }
        /* the stack in the hypervisor's part of the address space */
        r = kregs(&te);
        r.rsp = d == 2 ? 0xF5800010u : 0xFFFF800000001000ull;
        assert_int_equal(pvcore_cpu_trap(vcpu(t, d, 0), &r, 13, 0, 0), PVCORE_CPU_CRASH);
        /* a stack mapped read-only */
        assert_int_equal(set_entry(t, d, te.e.l1, (VA >> 12) & 511,
                                   frame_ptr(t, te.e.l1)[(VA >> 12) & 511] & ~PT_RW), 0);
        r = kregs(&te);
        r.rsp = VA + 0x800;
        assert_int_equal(pvcore_cpu_trap(vcpu(t, d, 0), &r, 13, 0, 0), PVCORE_CPU_CRASH);
        check_invariants(t);
    }
    pvtest_free(t);
}

/* ---- 32-bit bounce -------------------------------------------------------------------------- */

static uint32_t rd32(const struct env *e, uint64_t va)
{
    return gread32(e, va);
}

static void test_bounce32(void **state)
{
    struct pvtest *t = new_machine();
    struct tenv te;
    struct pvcore_cpu_regs r, before;
    uint32_t fr;

    (void)state;
    tenv_init(&te, t, 2);
    set_handler(&te, 13, 0);
    vinfo(&te, 0)[1] = 0;
    /* from ring 1: { err, eip, cs, eflags } on the current stack */
    r = kregs(&te);
    before = r;
    assert_int_equal(pvcore_cpu_trap(vcpu(t, 2, 0), &r, 13, 0x18, 0), PVCORE_CPU_RESUME);
    fr = (uint32_t)before.rsp - 16u;
    assert_int_equal(r.rsp, fr);
    assert_int_equal(rd32(&te.e, fr), 0x18);
    assert_int_equal(rd32(&te.e, fr + 4), (uint32_t)before.rip);
    assert_int_equal(rd32(&te.e, fr + 8), PVCORE_FLAT_RING1_CS_X86_32);
    assert_int_equal(rd32(&te.e, fr + 12), 0x302);
    assert_int_equal(r.cs, PVCORE_FLAT_RING1_CS_X86_32);
    assert_int_equal(r.ss, PVCORE_FLAT_RING1_SS_X86_32);
    assert_int_equal(r.rip, HANDLER32 + 13);
    /* from ring 3: { err, eip, cs, eflags, esp, ss } on the stack_switch stack */
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_stack_switch, 0xe020 /* RPL raised */, STACK_TOP, 0), 0);
    r = kregs(&te);
    r.cs = PVCORE_FLAT_RING3_CS_X86_32;
    r.ss = PVCORE_FLAT_RING3_SS_X86_32;
    r.rsp = VA + 0x900;
    vinfo(&te, 0)[1] = 1;
    set_handler(&te, 14, 0);
    before = r;
    assert_int_equal(pvcore_cpu_trap(vcpu(t, 2, 0), &r, 14, 0x6, 0x12345678u), PVCORE_CPU_RESUME);
    fr = (uint32_t)STACK_TOP - 24u;
    assert_int_equal(r.rsp, fr);
    assert_int_equal(r.ss, 0xe021);
    assert_int_equal(rd32(&te.e, fr), 0x6); /* U kept: the guest was in user mode */
    assert_int_equal(rd32(&te.e, fr + 8), PVCORE_FLAT_RING3_CS_X86_32 | (1u << 16));
    assert_int_equal(rd32(&te.e, fr + 12), 0x102); /* virtual IF off */
    assert_int_equal(rd32(&te.e, fr + 16), (uint32_t)before.rsp);
    assert_int_equal(rd32(&te.e, fr + 20), PVCORE_FLAT_RING3_SS_X86_32);
    assert_int_equal(*(uint32_t *)(void *)(vinfo(&te, 0) + 8), 0x12345678u); /* cr2 */
    check_invariants(t);
    pvtest_free(t);
}

/* An instruction guest user code raised #GP on is fetched as that code could reach it: a
 * supervisor-only page (another vCPU remapped it after the fault) gives the guest a #PF at
 * rip, not the kernel's bytes decoded for the user. */
static void test_user_fetch_needs_user_mapping(void **state)
{
    struct pvtest *t = new_machine();
    struct tenv te;
    struct pvcore_cpu_regs r;
    unsigned slot = (unsigned)((CODE_VA >> 12) & 511);
    uint64_t e;

    (void)state;
    tenv_init(&te, t, 2);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_stack_switch, 0xe021, STACK_TOP, 0), 0);
    set_handler(&te, 14, 0);
    {
        uint8_t vec = 0x80, fl = 3;
        uint16_t cs = PVCORE_FLAT_RING1_CS_X86_32;
        uint64_t a = HANDLER32 + 0x80;
        put_traps(&te, &vec, &fl, &cs, &a, 1);
        assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_trap_table, TABLE_VA, 0, 0), 0);
    }
    gwrite(&te.e, CODE_VA, "\xcd\x80", 2); /* int $0x80: DPL 3, so user code may */
    r = kregs(&te);
    r.cs = PVCORE_FLAT_RING3_CS_X86_32;
    r.ss = PVCORE_FLAT_RING3_SS_X86_32;
    r.rsp = VA + 0x900;
    assert_int_equal(pvcore_cpu_trap(vcpu(t, 2, 0), &r, 13, 0x80 * 8 + 2, 0), PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, HANDLER32 + 0x80);
    /* the same bytes behind a supervisor-only mapping */
    e = frame_ptr(t, te.e.l1)[slot];
    assert_int_equal(set_entry(t, 2, te.e.l1, slot, e & ~PT_US), 0);
    r = kregs(&te);
    r.cs = PVCORE_FLAT_RING3_CS_X86_32;
    r.ss = PVCORE_FLAT_RING3_SS_X86_32;
    r.rsp = VA + 0x900;
    assert_int_equal(pvcore_cpu_trap(vcpu(t, 2, 0), &r, 13, 0x80 * 8 + 2, 0), PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, HANDLER32 + 14);
    assert_int_equal(*(uint32_t *)(void *)(vinfo(&te, 0) + 8), (uint32_t)CODE_VA); /* cr2 */
    check_invariants(t);
    pvtest_free(t);
}

/* ---- set_trap_table and callbacks ----------------------------------------------------------- */

static void test_trap_table_rules(void **state)
{
    struct pvtest *t = new_machine();
    struct tenv te;
    uint8_t vec[3] = { 3, 0x80, 14 }, flags[3] = { 3, 3, 0 };
    uint16_t cs[3] = { 0xe030, 0xe033, 0xe033 };
    uint64_t addr[3] = { HANDLER64, 0x0000800000000000ull /* non-canonical */, HANDLER64 };
    struct pvcore_cpu_regs r;

    (void)state;
    tenv_init(&te, t, 1);
    put_traps(&te, vec, flags, cs, addr, 3);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_trap_table, TABLE_VA, 0, 0), -PVCORE_EINVAL);
    /* the entry before the bad one is in effect, the one after is not */
    r = kregs(&te);
    assert_int_equal(pvcore_cpu_trap(vcpu(t, 1, 0), &r, 3, 0, 0), PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, HANDLER64);
    r = kregs(&te);
    assert_int_equal(pvcore_cpu_trap(vcpu(t, 1, 0), &r, 14, 0, 0), PVCORE_CPU_CRASH);
    /* unreadable table */
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_trap_table, UNMAPPED, 0, 0), -PVCORE_EFAULT);
    /* a null table clears everything */
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_trap_table, 0, 0, 0), 0);
    r = kregs(&te);
    assert_int_equal(pvcore_cpu_trap(vcpu(t, 1, 0), &r, 3, 0, 0), PVCORE_CPU_CRASH);
    pvtest_free(t);
}

/* A long table is preempted and continued with the pointer advanced: the end state is
 * the same as in one call. */
/* A 32-bit guest's handler selector must be its own: the hypervisor's code selector
 * (RPL raised to 1 at registration) is no handler to enter. */
static void test_handler_selector_own(void **state)
{
    struct pvtest *t = new_machine();
    struct tenv te;
    struct pvcore_cpu_regs r;
    uint8_t vec = 13, fl = 0;
    uint16_t cs = 0xe008; /* the hypervisor's code */
    uint64_t a = HANDLER32;

    (void)state;
    tenv_init(&te, t, 2);
    put_traps(&te, &vec, &fl, &cs, &a, 1);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_trap_table, TABLE_VA, 0, 0), 0);
    r = kregs(&te);
    assert_int_equal(pvcore_cpu_trap(vcpu(t, 2, 0), &r, 13, 0, 0), PVCORE_CPU_CRASH);
    /* its own GDT selector (index 5) and the flat ring-3 one are */
    cs = 0x29;
    put_traps(&te, &vec, &fl, &cs, &a, 1);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_trap_table, TABLE_VA, 0, 0), 0);
    r = kregs(&te);
    assert_int_equal(pvcore_cpu_trap(vcpu(t, 2, 0), &r, 13, 0, 0), PVCORE_CPU_RESUME);
    assert_int_equal(r.cs, 0x29);
    cs = PVCORE_FLAT_RING3_CS_X86_32;
    put_traps(&te, &vec, &fl, &cs, &a, 1);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_trap_table, TABLE_VA, 0, 0), 0);
    r = kregs(&te);
    assert_int_equal(pvcore_cpu_trap(vcpu(t, 2, 0), &r, 13, 0, 0), PVCORE_CPU_RESUME);
    pvtest_free(t);
}

static void test_trap_table_preempted(void **state)
{
    struct pvtest *t = pvtest_new_budget(8, 0);
    struct tenv te;
    uint8_t vec[40], flags[40];
    uint16_t cs[40];
    uint64_t addr[40];
    unsigned i, restarts = 0;
    struct pvcore_cpu_regs r;
    struct pvcore_hypercall_regs h;

    (void)state;
    tenv_init(&te, t, 2);
    for (i = 0; i < 40; i++) {
        vec[i] = (uint8_t)(32 + i);
        flags[i] = 1;
        cs[i] = 0xe019;
        addr[i] = HANDLER32 + i;
    }
    put_traps(&te, vec, flags, cs, addr, 40);
    r = kregs(&te);
    r.rax = PVCORE_HYPERVISOR_set_trap_table;
    r.rbx = TABLE_VA;
    for (;;) {
        uint64_t rip = r.rip;
        assert_int_equal(pvcore_cpu_hypercall(vcpu(t, 2, 0), &r, &h), PVCORE_CPU_RESUME);
        if (r.rip == rip) {
            break;
        }
        assert_int_equal(r.rip, rip - 2); /* re-executes the int $0x82 */
        r.rip = rip;
        r.rax = PVCORE_HYPERVISOR_set_trap_table;
        restarts++;
        assert_true(restarts < 100);
    }
    assert_int_equal(r.rax, 0);
    assert_true(restarts >= 3);
    (void)h;
    pvtest_free(t);
}

static int64_t cb_register(const struct tenv *te, uint16_t type, uint16_t flags, uint64_t addr)
{
    uint8_t b[16] = { 0 };

    memcpy(b, &type, 2);
    memcpy(b + 2, &flags, 2);
    if (te->e.is32) {
        uint32_t cs = 0xe019, eip = (uint32_t)addr;
        memcpy(b + 4, &cs, 4);
        memcpy(b + 8, &eip, 4);
    } else {
        memcpy(b + 8, &addr, 8);
    }
    gwrite(&te->e, TABLE_VA, b, 16);
    return hcall(te, PVCORE_HYPERVISOR_callback_op, PVCORE_CALLBACKOP_register, TABLE_VA, 0);
}

static int64_t cb_unregister(const struct tenv *te, uint16_t type)
{
    uint8_t b[4] = { (uint8_t)type, (uint8_t)(type >> 8), 0, 0 };

    gwrite(&te->e, TABLE_VA, b, 4);
    return hcall(te, PVCORE_HYPERVISOR_callback_op, PVCORE_CALLBACKOP_unregister, TABLE_VA, 0);
}

static void test_callbacks(void **state)
{
    struct pvtest *t = new_machine();
    struct tenv te;
    struct pvcore_cpu_regs r;

    (void)state;
    tenv_init(&te, t, 1);
    assert_int_equal(cb_register(&te, PVCORE_CALLBACKTYPE_event, 0, HANDLER64 + 0x100), 0);
    assert_int_equal(cb_register(&te, PVCORE_CALLBACKTYPE_failsafe, PVCORE_CALLBACKF_mask_events,
                                 HANDLER64 + 0x200), 0);
    assert_int_equal(cb_register(&te, PVCORE_CALLBACKTYPE_syscall, 0, HANDLER64 + 0x300), 0);
    assert_int_equal(cb_register(&te, PVCORE_CALLBACKTYPE_syscall32, 0, HANDLER64 + 0x400), 0);
    assert_int_equal(cb_register(&te, PVCORE_CALLBACKTYPE_sysenter, 0, HANDLER64 + 0x500), 0);
    assert_int_equal(cb_register(&te, PVCORE_CALLBACKTYPE_nmi, 0, HANDLER64 + 0x600), 0);
    assert_int_equal(cb_register(&te, PVCORE_CALLBACKTYPE_event, 0, 0x0000800000000000ull),
                     -PVCORE_EINVAL);
    assert_int_equal(cb_register(&te, PVCORE_CALLBACKTYPE_sysenter_deprecated, 0, HANDLER64), -PVCORE_ENOSYS);
    assert_int_equal(cb_register(&te, 99, 0, HANDLER64), -PVCORE_ENOSYS);
    assert_int_equal(cb_unregister(&te, PVCORE_CALLBACKTYPE_event), -PVCORE_EINVAL);
    assert_int_equal(cb_unregister(&te, PVCORE_CALLBACKTYPE_syscall), -PVCORE_EINVAL);
    assert_int_equal(cb_unregister(&te, 99), -PVCORE_ENOSYS);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_callback_op, 7, TABLE_VA, 0), -PVCORE_ENOSYS);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_callback_op, PVCORE_CALLBACKOP_register, UNMAPPED, 0),
                     -PVCORE_EFAULT);
    /* the NMI callback is the trap table's vector 2, entered with events masked */
    vinfo(&te, 0)[1] = 0;
    r = kregs(&te);
    assert_int_equal(pvcore_cpu_trap(vcpu(t, 1, 0), &r, 2, 0, 0), PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, HANDLER64 + 0x600);
    assert_int_equal(vinfo(&te, 0)[1], 1);
    assert_int_equal(cb_unregister(&te, PVCORE_CALLBACKTYPE_nmi), 0);
    r = kregs(&te);
    assert_int_equal(pvcore_cpu_trap(vcpu(t, 1, 0), &r, 2, 0, 0), PVCORE_CPU_CRASH);
    /* the event callback: always events masked */
    vinfo(&te, 0)[1] = 0;
    r = kregs(&te);
    assert_int_equal(pvcore_cpu_event_callback(vcpu(t, 1, 0), &r), PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, HANDLER64 + 0x100);
    assert_int_equal(vinfo(&te, 0)[1], 1);
    /* the failsafe callback: 11 words with the data selectors */
    vinfo(&te, 0)[1] = 0;
    r = kregs(&te);
    r.ds = 0x1b;
    r.gs = 0x2b;
    {
        uint64_t fr = (r.rsp & ~15ull) - 11u * 8u;
        assert_int_equal(pvcore_cpu_failsafe(vcpu(t, 1, 0), &r), PVCORE_CPU_RESUME);
        assert_int_equal(r.rsp, fr);
        assert_int_equal(rd64(&te.e, fr + 16), 0x1b);
        assert_int_equal(rd64(&te.e, fr + 40), 0x2b);
        assert_int_equal(r.rip, HANDLER64 + 0x200);
        assert_int_equal(vinfo(&te, 0)[1], 1); /* mask_events was asked */
    }
    /* 32-bit guests have no 64-bit syscall callback */
    tenv_init(&te, t, 2);
    assert_int_equal(cb_register(&te, PVCORE_CALLBACKTYPE_syscall, 0, HANDLER32), -PVCORE_ENOSYS);
    assert_int_equal(cb_register(&te, PVCORE_CALLBACKTYPE_event, 0, HANDLER32), 0);
    assert_int_equal(cb_register(&te, PVCORE_CALLBACKTYPE_syscall32, 0, HANDLER32), 0);
    assert_int_equal(cb_unregister(&te, PVCORE_CALLBACKTYPE_syscall32), -PVCORE_EINVAL);
    assert_int_equal(cb_unregister(&te, PVCORE_CALLBACKTYPE_syscall), -PVCORE_ENOSYS);
    pvtest_free(t);
}

/* A 64-bit guest's syscall from user mode enters the syscall callback, or takes #UD. */
static void test_syscall_from_user(void **state)
{
    struct pvtest *t = new_machine();
    struct tenv te;
    struct pvcore_cpu_regs r;
    struct pvcore_hypercall_regs h;

    (void)state;
    tenv_init(&te, t, 1);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_stack_switch, 0, STACK_TOP, 0), 0);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_USER_BASEPTR, te.e.root, 0, PVCORE_DOMID_SELF), 0);
    set_handler(&te, 6, 0);
    {
        uint64_t f[9] = { 0, 0, 0, 0, 0x400000, 0xe033, 0x202, VA + 0x800, 0xe02b };
        struct pvcore_cpu_regs ir = kregs(&te);
        gwrite(&te.e, TABLE_VA + 0x400, f, sizeof(f));
        ir.rsp = TABLE_VA + 0x400;
        ir.rax = PVCORE_HYPERVISOR_iret;
        assert_int_equal(pvcore_cpu_hypercall(vcpu(t, 1, 0), &ir, &h), PVCORE_CPU_RESUME);
    }
    /* no syscall callback: #UD at the guest's handler */
    r = kregs(&te);
    r.rsp = VA + 0x800;
    r.rax = PVCORE_HYPERVISOR_xen_version; /* not a hypercall from user mode */
    assert_int_equal(pvcore_cpu_hypercall(vcpu(t, 1, 0), &r, &h), PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, HANDLER64 + 6);
    assert_true(pvcore_vcpu_kernel_mode(vcpu(t, 1, 0)));
    pvtest_free(t);
}

/* int $0x82 is a 32-bit kernel's: from ring 3 it is the #GP its DPL 1 gate raises, even
 * where an embedder's gate lets it through. */
static void test_int82_from_user(void **state)
{
    struct pvtest *t = new_machine();
    struct tenv te;
    struct pvcore_cpu_regs r;
    struct pvcore_hypercall_regs h;

    (void)state;
    tenv_init(&te, t, 2);
    set_handler(&te, 13, 0);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_stack_switch, 0xe021, STACK_TOP, 0), 0);
    r = kregs(&te);
    r.cs = PVCORE_FLAT_RING3_CS_X86_32;
    r.ss = PVCORE_FLAT_RING3_SS_X86_32;
    r.rsp = VA + 0x900;
    r.rip = 0x00400102; /* after the int $0x82 at 0x400100 */
    r.rax = PVCORE_HYPERVISOR_xen_version;
    r.rbx = PVCORE_XENVER_version;
    assert_int_equal(pvcore_cpu_hypercall(vcpu(t, 2, 0), &r, &h), PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, HANDLER32 + 13);
    assert_int_equal(gread32(&te.e, r.rsp), (0x82u << 3) | 2u);     /* error code */
    assert_int_equal(gread32(&te.e, r.rsp + 4), 0x00400100u);       /* at the instruction */
    assert_int_equal(r.rax, PVCORE_HYPERVISOR_xen_version);          /* not served */
    pvtest_free(t);
}

/* ---- iret ----------------------------------------------------------------------------------- */

static void test_iret64_rules(void **state)
{
    struct pvtest *t = new_machine();
    struct tenv te;
    struct pvcore_cpu_regs r;
    struct pvcore_hypercall_regs h;

    (void)state;
    tenv_init(&te, t, 1);
    /* to kernel mode with a syscall frame: rcx/r11 kept; ring-0 selectors raised to 3;
     * IF forced on, VM and IOPL off; the mask follows the frame's IF */
    {
        uint64_t f[9] = { 5, 0x22, 0x11, PVCORE_VGCF_in_syscall, 0x401000, 0xe030, 0x23000 /* VM|IOPL */,
                          VA + 0x900, 0xe028 };
        gwrite(&te.e, TABLE_VA, f, sizeof(f));
    }
    r = kregs(&te);
    r.rsp = TABLE_VA;
    r.rax = PVCORE_HYPERVISOR_iret;
    vinfo(&te, 0)[1] = 0;
    assert_int_equal(pvcore_cpu_hypercall(vcpu(t, 1, 0), &r, &h), PVCORE_CPU_RESUME);
    assert_int_equal(r.cs, 0xe033);
    assert_int_equal(r.ss, 0xe02b);
    assert_int_equal(r.rflags, 0x200);
    assert_int_equal(r.rcx, 0x1111); /* unchanged */
    assert_int_equal(r.r11, 0x2222);
    assert_int_equal(r.rax, 5);
    assert_int_equal(vinfo(&te, 0)[1], 1);
    /* cs RPL 3 asks for user mode: without user tables, the guest cannot go on */
    {
        uint64_t f[9] = { 0, 0, 0, 0, 0x401000, 0xe033, 0x202, VA + 0x900, 0xe02b };
        gwrite(&te.e, TABLE_VA, f, sizeof(f));
    }
    r = kregs(&te);
    r.rsp = TABLE_VA;
    r.rax = PVCORE_HYPERVISOR_iret;
    assert_int_equal(pvcore_cpu_hypercall(vcpu(t, 1, 0), &r, &h), PVCORE_CPU_CRASH);
    assert_true(pvcore_vcpu_kernel_mode(vcpu(t, 1, 0)));
    /* an unreadable frame */
    r = kregs(&te);
    r.rsp = UNMAPPED;
    r.rax = PVCORE_HYPERVISOR_iret;
    assert_int_equal(pvcore_cpu_hypercall(vcpu(t, 1, 0), &r, &h), PVCORE_CPU_CRASH);
    /* iret through the register-less entry is refused, not half done */
    {
        struct pvcore_hypercall_regs hr;
        memset(&hr, 0, sizeof(hr));
        hr.nr = PVCORE_HYPERVISOR_iret;
        assert_int_equal(pvcore_hypercall(vcpu(t, 1, 0), &hr), PVCORE_HYPERCALL_DONE);
        assert_int_equal((int64_t)hr.ret, -PVCORE_ENOSYS);
    }
    pvtest_free(t);
}

static void test_iret32_rules(void **state)
{
    struct pvtest *t = new_machine();
    struct tenv te;
    struct pvcore_cpu_regs r;
    struct pvcore_hypercall_regs h;
    uint32_t f[6];

    (void)state;
    tenv_init(&te, t, 2);
    /* ring 1: four words popped */
    f[0] = 9;
    f[1] = 0x101000;
    f[2] = 0xe019;
    f[3] = 0x3002; /* IF clear, IOPL 3 */
    gwrite(&te.e, TABLE_VA, f, 16);
    r = kregs(&te);
    r.rsp = TABLE_VA;
    r.rax = PVCORE_HYPERVISOR_iret;
    vinfo(&te, 0)[1] = 0;
    assert_int_equal(pvcore_cpu_hypercall(vcpu(t, 2, 0), &r, &h), PVCORE_CPU_RESUME);
    assert_int_equal(r.rax, 9);
    assert_int_equal(r.rip, 0x101000);
    assert_int_equal(r.rsp, TABLE_VA + 16);
    assert_int_equal(r.rflags, 0x202);
    assert_int_equal(vinfo(&te, 0)[1], 1);
    /* ring 3: esp and ss from the frame */
    f[2] = 0xe02b;
    f[3] = 0x202;
    f[4] = VA + 0x700;
    f[5] = 0xe033;
    gwrite(&te.e, TABLE_VA, f, 24);
    r = kregs(&te);
    r.rsp = TABLE_VA;
    r.rax = PVCORE_HYPERVISOR_iret;
    assert_int_equal(pvcore_cpu_hypercall(vcpu(t, 2, 0), &r, &h), PVCORE_CPU_RESUME);
    assert_int_equal(r.rsp, VA + 0x700);
    assert_int_equal(r.ss, 0xe033);
    assert_int_equal(r.cs, 0xe02b);
    assert_int_equal(vinfo(&te, 0)[1], 0);
    /* VM86 is never entered: #GP at the guest's handler, with the frame it asked for moved
     * to its kernel stack under a zero error code (Xen's behaviour) */
    set_handler(&te, 13, PVCORE_TI_IF);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_stack_switch, 0xe021, STACK_TOP, 0), 0);
    {
        uint32_t vf[10] = { 0x77, 0x1234, 0x5678, 0x20202 /* VM, IF */, 0x9abc, 0xdef0,
                            0x11, 0x22, 0x33, 0x44 };
        uint32_t got[10];
        gwrite(&te.e, TABLE_VA + 0x200, vf, sizeof(vf));
        r = kregs(&te);
        r.rsp = TABLE_VA + 0x200;
        r.rax = PVCORE_HYPERVISOR_iret;
        vinfo(&te, 0)[1] = 0;
        assert_int_equal(pvcore_cpu_hypercall(vcpu(t, 2, 0), &r, &h), PVCORE_CPU_RESUME);
        assert_int_equal(r.rax, 0x77);
        assert_int_equal(r.rip, HANDLER32 + 13);
        assert_int_equal(r.cs, PVCORE_FLAT_RING1_CS_X86_32);
        assert_int_equal(r.rsp, STACK_TOP - 40);
        assert_int_equal(r.ss, 0xe021);
        assert_int_equal(r.rflags & 0x20000u, 0); /* no VM */
        gread(&te.e, STACK_TOP - 40, got, sizeof(got));
        assert_int_equal(got[0], 0);
        assert_memory_equal(got + 1, vf + 1, 9 * sizeof(uint32_t));
        assert_int_equal(vinfo(&te, 0)[1], 1); /* the handler asked for events off */
    }
    /* ring 0 is never returned to */
    f[2] = 0xe010;
    gwrite(&te.e, TABLE_VA, f, 24);
    r = kregs(&te);
    r.rsp = TABLE_VA;
    r.rax = PVCORE_HYPERVISOR_iret;
    assert_int_equal(pvcore_cpu_hypercall(vcpu(t, 2, 0), &r, &h), PVCORE_CPU_CRASH);
    pvtest_free(t);
}

/* ---- multicall ------------------------------------------------------------------------------ */

static void mc_entry(const struct tenv *te, unsigned i, uint64_t op, const uint64_t *args)
{
    unsigned k;

    if (te->e.is32) {
        uint32_t e[8] = { (uint32_t)op, 0xdeadbeef };
        for (k = 0; k < 6; k++) {
            e[2 + k] = (uint32_t)args[k];
        }
        gwrite(&te->e, TABLE_VA + 32u * i, e, sizeof(e));
    } else {
        uint64_t e[8] = { op, 0xdeadbeef };
        for (k = 0; k < 6; k++) {
            e[2 + k] = args[k];
        }
        gwrite(&te->e, TABLE_VA + 64u * i, e, sizeof(e));
    }
}

static int64_t mc_result(const struct tenv *te, unsigned i)
{
    if (te->e.is32) {
        return (int32_t)gread32(&te->e, TABLE_VA + 32u * i + 4);
    }
    return (int64_t)rd64(&te->e, TABLE_VA + 64u * i + 8);
}

/* XSA-213: an iret in a multicall ends it; nested multicalls are refused. */
static void test_multicall(void **state)
{
    struct pvtest *t = new_machine();
    struct tenv te;
    int d;

    (void)state;
    for (d = 1; d <= 2; d++) {
        uint64_t ver[6] = { PVCORE_XENVER_version, 0 }, none[6] = { 0 };
        uint64_t nested[6] = { TABLE_VA, 1 };
        struct pvcore_cpu_regs r;
        struct pvcore_hypercall_regs h;

        tenv_init(&te, t, d);
        mc_entry(&te, 0, PVCORE_HYPERVISOR_xen_version, ver);
        mc_entry(&te, 1, PVCORE_HYPERVISOR_multicall, nested);
        mc_entry(&te, 2, 63, none);
        assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_multicall, TABLE_VA, 3, 0), 0);
        assert_int_equal(mc_result(&te, 0), (4 << 16) | 17);
        assert_int_equal(mc_result(&te, 1), -PVCORE_EINVAL);
        assert_int_equal(mc_result(&te, 2), -PVCORE_ENOSYS);
        /* { iret, xen_version }: the second never runs */
        if (d == 1) {
            /* back to kernel mode: the kernel's own view of its code selector, RPL 0 */
            uint64_t f[9] = { 3, 0, 0, 0, 0x401000, 0xe030, 0x202, VA + 0x900, 0xe02b };
            gwrite(&te.e, TABLE_VA + 0x800, f, sizeof(f));
        } else {
            uint32_t f[4] = { 3, 0x101000, 0xe019, 0x202 };
            gwrite(&te.e, TABLE_VA + 0x800, f, sizeof(f));
        }
        mc_entry(&te, 0, PVCORE_HYPERVISOR_iret, none);
        mc_entry(&te, 1, PVCORE_HYPERVISOR_xen_version, ver);
        r = kregs(&te);
        r.rsp = TABLE_VA + 0x800;
        r.rax = PVCORE_HYPERVISOR_multicall;
        if (d == 2) {
            r.rbx = TABLE_VA;
            r.rcx = 2;
        } else {
            r.rdi = TABLE_VA;
            r.rsi = 2;
        }
        assert_int_equal(pvcore_cpu_hypercall(vcpu(t, d, 0), &r, &h), PVCORE_CPU_RESUME);
        assert_int_equal(r.rip, d == 1 ? 0x401000 : 0x101000);
        assert_int_equal(r.rax, 3); /* the iret's result, the restored rax */
        assert_int_equal(mc_result(&te, 1), d == 1 ? (int64_t)0xdeadbeef : (int64_t)(int32_t)0xdeadbeefu);
        /* an unreadable list */
        assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_multicall, UNMAPPED, 1, 0), -PVCORE_EFAULT);
        check_invariants(t);
    }
    pvtest_free(t);
}

/* An iret into user mode ends a multicall; its result write-back goes through the user
 * tables, which here map nothing: best effort, and the guest still gets the iret's rax. */
static void test_multicall_iret_to_user(void **state)
{
    struct pvtest *t = new_machine();
    struct tenv te;
    struct pvcore_cpu_regs r;
    struct pvcore_hypercall_regs h;
    uint64_t none[6] = { 0 };
    uint64_t user_l4;

    (void)state;
    tenv_init(&te, t, 1);
    user_l4 = alloc_frame(t, 1); /* an empty address space */
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_USER_BASEPTR, user_l4, 0, PVCORE_DOMID_SELF), 0);
    {
        uint64_t f[9] = { 0x99, 0, 0, 0, 0x400000, 0xe033, 0x202, VA + 0x800, 0xe02b };
        gwrite(&te.e, TABLE_VA + 0x800, f, sizeof(f));
    }
    mc_entry(&te, 0, PVCORE_HYPERVISOR_iret, none);
    r = kregs(&te);
    r.rsp = TABLE_VA + 0x800;
    r.rax = PVCORE_HYPERVISOR_multicall;
    r.rdi = TABLE_VA;
    r.rsi = 1;
    assert_int_equal(pvcore_cpu_hypercall(vcpu(t, 1, 0), &r, &h), PVCORE_CPU_RESUME);
    assert_false(pvcore_vcpu_kernel_mode(vcpu(t, 1, 0)));
    assert_int_equal(r.rax, 0x99);
    assert_int_equal(r.rip, 0x400000);
    check_invariants(t);
    pvtest_free(t);
}

/* ---- the rest ------------------------------------------------------------------------------- */

static void test_fpu_and_bases(void **state)
{
    struct pvtest *t = new_machine();
    struct tenv te;
    struct pvcore_cpu_regs r;
    uint64_t fs, gk, gu;

    (void)state;
    tenv_init(&te, t, 1);
    set_handler(&te, 7, 0);
    /* #NM with the virtual TS clear is the embedder's: nothing changes */
    r = kregs(&te);
    assert_int_equal(pvcore_cpu_trap(vcpu(t, 1, 0), &r, 7, 0, 0), PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, kregs(&te).rip);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_fpu_taskswitch, 1, 0, 0), 0);
    assert_true(pvcore_vcpu_fpu_ts(vcpu(t, 1, 0)));
    /* with it set, the guest gets its #NM once, and TS is clear after */
    r = kregs(&te);
    assert_int_equal(pvcore_cpu_trap(vcpu(t, 1, 0), &r, 7, 0, 0), PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, HANDLER64 + 7);
    assert_false(pvcore_vcpu_fpu_ts(vcpu(t, 1, 0)));
    /* segment bases */
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_segment_base, PVCORE_SEGBASE_FS, 0x1000, 0), 0);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_segment_base, PVCORE_SEGBASE_GS_KERNEL, 0x2000, 0), 0);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_segment_base, PVCORE_SEGBASE_GS_USER, 0x3000, 0), 0);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_segment_base, PVCORE_SEGBASE_FS,
                           0x0000800000000000ull, 0), -PVCORE_EINVAL);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_segment_base, 9, 0, 0), -PVCORE_EINVAL);
    pvcore_vcpu_segment_bases(vcpu(t, 1, 0), &fs, &gk, &gu);
    assert_int_equal(fs, 0x1000);
    assert_int_equal(gk, 0x2000);
    assert_int_equal(gu, 0x3000);
    /* a user GS selector: a null or flat one has base 0 */
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_segment_base, PVCORE_SEGBASE_GS_USER_SEL,
                           0xe02b, 0), 0);
    pvcore_vcpu_segment_bases(vcpu(t, 1, 0), NULL, &gk, &gu);
    assert_int_equal(gk, 0x2000);
    assert_int_equal(gu, 0);
    assert_int_equal(pvcore_vcpu_user_gs_selector(vcpu(t, 1, 0)), 0xe02b);
    /* one beyond the (empty) GDT cannot be loaded: nulled, and the call still succeeds */
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_segment_base, PVCORE_SEGBASE_GS_USER_SEL,
                           0x10, 0), 0);
    assert_int_equal(pvcore_vcpu_user_gs_selector(vcpu(t, 1, 0)), 0);
    /* a data descriptor of its own GDT: its base */
    {
        uint64_t gdt = alloc_frame(t, 1);
        pvcore_mfn_t f = pvcore_mfn(gdt);
        /* entry 3: data, read/write, present, DPL 3, base 0x12345000 */
        frame_ptr(t, gdt)[3] = 0x12cff2345000ffffull;
        frame_ptr(t, gdt)[4] = 0x00cffa000000ffffull; /* readable code: loadable too */
        frame_ptr(t, gdt)[5] = 0x00cff8000000ffffull; /* execute-only code: not */
        assert_int_equal(pvcore_desc_set_gdt(vcpu(t, 1, 0), &f, 6), 0);
        assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_segment_base, PVCORE_SEGBASE_GS_USER_SEL,
                               0x18, 0), 0);
        assert_int_equal(pvcore_vcpu_user_gs_selector(vcpu(t, 1, 0)), 0x1b);
        pvcore_vcpu_segment_bases(vcpu(t, 1, 0), NULL, NULL, &gu);
        assert_int_equal(gu, 0x12345000);
        assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_segment_base, PVCORE_SEGBASE_GS_USER_SEL,
                               0x23, 0), 0);
        assert_int_equal(pvcore_vcpu_user_gs_selector(vcpu(t, 1, 0)), 0x23);
        assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_segment_base, PVCORE_SEGBASE_GS_USER_SEL,
                               0x2b, 0), 0);
        assert_int_equal(pvcore_vcpu_user_gs_selector(vcpu(t, 1, 0)), 0);
        check_invariants(t);
    }
    /* bases the guest changed itself (FSGSBASE), read back by the embedder */
    pvcore_vcpu_set_segment_bases(vcpu(t, 1, 0), 0x4000, 0x5000, 0x6000);
    pvcore_vcpu_segment_bases(vcpu(t, 1, 0), &fs, &gk, &gu);
    assert_int_equal(fs, 0x4000);
    assert_int_equal(gk, 0x5000);
    assert_int_equal(gu, 0x6000);
    tenv_init(&te, t, 2);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_set_segment_base, PVCORE_SEGBASE_FS, 0, 0),
                     -PVCORE_ENOSYS);
    pvtest_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounce64_kernel_pf),
        cmocka_unit_test(test_bounce64_masked_no_error),
        cmocka_unit_test(test_bounce64_from_user),
        cmocka_unit_test(test_bounce_fault_while_delivering),
        cmocka_unit_test(test_bounce32),
        cmocka_unit_test(test_user_fetch_needs_user_mapping),
        cmocka_unit_test(test_trap_table_rules),
        cmocka_unit_test(test_trap_table_preempted),
        cmocka_unit_test(test_handler_selector_own),
        cmocka_unit_test(test_callbacks),
        cmocka_unit_test(test_syscall_from_user),
        cmocka_unit_test(test_int82_from_user),
        cmocka_unit_test(test_iret64_rules),
        cmocka_unit_test(test_iret32_rules),
        cmocka_unit_test(test_multicall),
        cmocka_unit_test(test_multicall_iret_to_user),
        cmocka_unit_test(test_fpu_and_bases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
