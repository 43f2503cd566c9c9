/*
 * vcpu_op (<pvcore/vcpu.h>): the vCPU argument, up/down/is_up, VCPUOP_initialise for
 * 64-bit and 32-bit PAE guests (what it installs, every check with its exact error and the
 * state unchanged), register_vcpu_info (the move, the references, its errors, release at
 * destruction), the runstate and its guest area, and the commands not offered.
 */
#include "guestenv.h"

#include <pvcore/cpu.h>
#include <pvcore/hypercall.h>
#include <pvcore/sched.h>
#include <pvcore/vcpu.h>

#define CTX_VA (VA + 1u * 4096u)   /* the guest context: data pages 1-2 */
#define ARG_VA (VA + 4u * 4096u)   /* small arguments and results: data page 4 */
#define STACK_TOP (VA + 6u * 4096u) /* vCPU 1's kernel stack: the top of data page 5 */
#define HANDLER64 0xFFFF900000001000ull
#define HANDLER32 0x00101000u

struct tenv {
    struct env e;
    uint64_t shared;
};

static void tenv_init(struct tenv *te, struct pvtest *t, int d)
{
    memset(te, 0, sizeof(*te));
    env_init(&te->e, t, d);
    te->shared = alloc_frame(t, d);
    assert_int_equal(pvcore_domain_set_shared_info(t->dom[d], pvcore_mfn(te->shared)), 0);
}

/* vcpu_op(cmd, id, arg) from vCPU `from` of the domain; continuations are followed. */
static int64_t vop_from(const struct tenv *te, uint32_t from, uint64_t cmd, uint64_t id, uint64_t arg)
{
    struct pvcore_hypercall_regs h;
    int rc;

    memset(&h, 0, sizeof(h));
    h.nr = PVCORE_HYPERVISOR_vcpu_op;
    h.arg[0] = cmd;
    h.arg[1] = id;
    h.arg[2] = arg;
    do {
        rc = pvcore_hypercall(vcpu(te->e.t, te->e.d, from), &h);
    } while (rc == PVCORE_HYPERCALL_RESTART);
    assert_int_equal(rc, PVCORE_HYPERCALL_DONE);
    return te->e.is32 ? (int64_t)(int32_t)(uint32_t)h.ret : (int64_t)h.ret;
}

static int64_t vop(const struct tenv *te, uint64_t cmd, uint64_t id, uint64_t arg)
{
    return vop_from(te, 0, cmd, id, arg);
}

static void put64(uint8_t *p, uint64_t v)
{
    unsigned i;
    for (i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    unsigned i;
    for (i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    unsigned i;
    for (i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

/* A context for a 64-bit guest, valid: in kernel mode on the domain's root, online. */
static void ctx64_default(const struct tenv *te, struct pvcore_vcpu_guest_context_x86_64 *c)
{
    memset(c, 0, sizeof(*c));
    c->flags = PVCORE_VGCF_in_kernel | PVCORE_VGCF_online;
    c->user_regs.rip = 0xFFFF900000002000ull;
    c->user_regs.rsp = STACK_TOP - 0x100u;
    c->user_regs.cs = PVCORE_FLAT_KERNEL_CS_X86_64 & ~3u; /* RPL raised to 3 */
    c->user_regs.ss = PVCORE_FLAT_KERNEL_SS_X86_64;
    c->user_regs.rflags = 0x3002u; /* IOPL 3, IF clear */
    c->user_regs.rax = 0x1234;
    c->user_regs.r15 = 0x1515;
    c->trap_ctxt[14].address = HANDLER64;
    c->trap_ctxt[14].cs = PVCORE_FLAT_KERNEL_CS_X86_64;
    c->kernel_ss = PVCORE_FLAT_KERNEL_SS_X86_64;
    c->kernel_sp = STACK_TOP;
    c->ctrlreg[0] = 0x8; /* TS */
    c->ctrlreg[3] = PVCORE_XEN_PFN_TO_CR3_X86_64(te->e.root);
    c->event_callback_eip = 0xFFFF900000003000ull;
    c->failsafe_callback_eip = 0xFFFF900000004000ull;
    c->syscall_callback_eip = 0xFFFF900000005000ull;
    c->fs_base = 0x7000;
    c->gs_base_kernel = 0xFFFF900000006000ull;
    c->gs_base_user = 0x8000;
    c->debugreg[0] = 0x1000;
}

static void ctx32_default(const struct tenv *te, struct pvcore_vcpu_guest_context_x86_32 *c)
{
    memset(c, 0, sizeof(*c));
    c->flags = PVCORE_VGCF_online;
    c->user_regs.eip = 0x00102000u;
    c->user_regs.esp = (uint32_t)(STACK_TOP - 0x100u);
    c->user_regs.cs = PVCORE_FLAT_KERNEL_CS_X86_32 & ~3u; /* RPL raised to 1 */
    c->user_regs.ss = PVCORE_FLAT_KERNEL_SS_X86_32;
    c->user_regs.eflags = 0x1002u;
    c->user_regs.eax = 0x4321;
    c->trap_ctxt[14].address = HANDLER32;
    c->trap_ctxt[14].cs = PVCORE_FLAT_KERNEL_CS_X86_32;
    c->kernel_ss = PVCORE_FLAT_KERNEL_SS_X86_32;
    c->kernel_sp = (uint32_t)STACK_TOP;
    c->ctrlreg[3] = PVCORE_XEN_PFN_TO_CR3_X86_32((uint32_t)te->e.root);
    c->event_callback_cs = PVCORE_FLAT_KERNEL_CS_X86_32;
    c->event_callback_eip = 0x00103000u;
    c->failsafe_callback_cs = PVCORE_FLAT_KERNEL_CS_X86_32;
    c->failsafe_callback_eip = 0x00104000u;
}

static void destroy(struct pvtest *t, int d)
{
    int rc;

    while ((rc = pvcore_domain_destroy(t->dom[d])) == -PVCORE_ERESTART) {
    }
    assert_int_equal(rc, 0);
}

/* ---- the vCPU argument, commands not offered ---------------------------------------------- */

static void test_bad_vcpuid_and_enosys(void **state)
{
    struct pvtest *t = pvtest_new();
    struct tenv te;
    uint64_t cmd;

    (void)state;
    tenv_init(&te, t, 1);
    for (cmd = 0; cmd <= 14; cmd++) {
        assert_int_equal(vop(&te, cmd, 4, ARG_VA), -PVCORE_ENOENT);
        assert_int_equal(vop(&te, cmd, 0xFFFFFFFFu, ARG_VA), -PVCORE_ENOENT);
    }
    assert_int_equal(vop(&te, 99, 4, 0), -PVCORE_ENOENT);
    /* Timers (for now), send_nmi, get_physid, the time area, and unknown commands. */
    assert_int_equal(vop(&te, PVCORE_VCPUOP_set_periodic_timer, 0, ARG_VA), -PVCORE_ENOSYS);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_stop_periodic_timer, 0, 0), -PVCORE_ENOSYS);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_set_singleshot_timer, 0, ARG_VA), -PVCORE_ENOSYS);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_stop_singleshot_timer, 0, 0), -PVCORE_ENOSYS);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_send_nmi, 1, 0), -PVCORE_ENOSYS);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_get_physid, 0, ARG_VA), -PVCORE_ENOSYS);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_register_vcpu_time_memory_area, 0, ARG_VA),
                     -PVCORE_ENOSYS);
    assert_int_equal(vop(&te, 99, 0, 0), -PVCORE_ENOSYS);

    /* The 32-bit domain has 2 vCPUs; only the low half of the id counts. */
    {
        struct tenv t32;
        tenv_init(&t32, t, 2);
        assert_int_equal(vop(&t32, PVCORE_VCPUOP_is_up, 2, 0), -PVCORE_ENOENT);
        assert_int_equal(vop(&t32, PVCORE_VCPUOP_is_up, 0x100000001ull, 0), 0);
    }
    check_invariants(t);
    pvtest_free(t);
}

/* ---- up, down, is_up ---------------------------------------------------------------------- */

static void test_up_down(void **state)
{
    struct pvtest *t = pvtest_new();
    struct tenv te;

    (void)state;
    tenv_init(&te, t, 1);
    /* vCPU 0 is initialised and up from creation, the others neither. */
    assert_int_equal(vop(&te, PVCORE_VCPUOP_is_up, 0, 0), 1);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_is_up, 1, 0), 0);
    assert_int_equal(pvcore_vcpu_is_initialised(vcpu(t, 1, 0)), 1);
    assert_int_equal(pvcore_vcpu_is_initialised(vcpu(t, 1, 1)), 0);
    /* Up needs an initialised vCPU. */
    assert_int_equal(vop(&te, PVCORE_VCPUOP_up, 1, 0), -PVCORE_EINVAL);
    assert_int_equal(pvcore_vcpu_is_up(vcpu(t, 1, 1)), 0);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_up, 0, 0), 0); /* already up: fine */
    /* Down of a vCPU that is down while vCPU 0 is up: nothing to do. */
    assert_int_equal(vop(&te, PVCORE_VCPUOP_down, 1, 0), 0);
    assert_int_equal(pvcore_vcpu_is_up(vcpu(t, 1, 1)), 0);
    /* The last vCPU up asking to go down powers the domain off instead: it stays up, and
     * the domain's shutdown is recorded (the domain_shutdown hook told, if there is one). */
    assert_int_equal(pvcore_domain_shutdown_reason(t->dom[1]), -PVCORE_ENOENT);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_down, 0, 0), 0);
    assert_int_equal(pvcore_vcpu_is_up(vcpu(t, 1, 0)), 1);
    assert_int_equal(pvcore_domain_shutdown_reason(t->dom[1]), PVCORE_SHUTDOWN_poweroff);
    /* vCPU 0's registers are the embedder's: none recorded. */
    {
        struct pvcore_cpu_regs r;
        assert_int_equal(pvcore_vcpu_initial_regs(vcpu(t, 1, 0), &r), -PVCORE_ENOENT);
    }
    check_invariants(t);
    pvtest_free(t);
}

/* ---- initialise --------------------------------------------------------------------------- */

static void test_initialise64(void **state)
{
    struct pvtest *t = pvtest_new();
    struct tenv te;
    struct pvcore_vcpu_guest_context_x86_64 *c = calloc(1, sizeof(*c));
    struct pvcore_vcpu *v1 = vcpu(t, 1, 1);
    struct pvcore_cpu_regs r;
    pvcore_mfn_t k, u;
    uint64_t fs, gk, gu, ldt_base;
    uint32_t ldt_ents;
    uint32_t before;

    (void)state;
    assert_non_null(c);
    tenv_init(&te, t, 1);
    ctx64_default(&te, c);
    c->flags &= ~(uint64_t)PVCORE_VGCF_online;
    c->ldt_base = 0x10000;
    c->ldt_ents = 16;
    gwrite(&te.e, CTX_VA, c, sizeof(*c));
    before = finfo(t, te.e.root).type_count;

    assert_int_equal(vop(&te, PVCORE_VCPUOP_initialise, 1, CTX_VA), 0);
    assert_int_equal(pvcore_vcpu_is_initialised(v1), 1);
    assert_int_equal(pvcore_vcpu_is_up(v1), 0); /* no VGCF_online */
    /* The root takes one more type reference, held by vCPU 1. */
    assert_int_equal(finfo(t, te.e.root).type_count, before + 1u);
    pvcore_vcpu_base(v1, &k, &u);
    assert_int_equal(k.v, te.e.root);
    assert_int_equal(u.v, PVCORE_INVALID_MFN_VALUE);
    /* Registers: IOPL out, IF in, selectors at RPL 3. */
    assert_int_equal(pvcore_vcpu_initial_regs(v1, &r), 0);
    assert_int_equal(r.rip, 0xFFFF900000002000ull);
    assert_int_equal(r.rax, 0x1234);
    assert_int_equal(r.r15, 0x1515);
    assert_int_equal(r.rflags, 0x202u);
    assert_int_equal(r.cs, PVCORE_FLAT_KERNEL_CS_X86_64);
    assert_int_equal(r.ss, PVCORE_FLAT_KERNEL_SS_X86_64);
    assert_int_equal(pvcore_vcpu_kernel_mode(v1), 1);
    assert_int_equal(pvcore_vcpu_fpu_ts(v1), 1);
    pvcore_vcpu_segment_bases(v1, &fs, &gk, &gu);
    assert_int_equal(fs, 0x7000);
    assert_int_equal(gk, 0xFFFF900000006000ull);
    assert_int_equal(gu, 0x8000);
    pvcore_vcpu_ldt(v1, &ldt_base, &ldt_ents);
    assert_int_equal(ldt_base, 0x10000);
    assert_int_equal(ldt_ents, 16);
    check_invariants(t);

    /* Once only. */
    assert_int_equal(vop(&te, PVCORE_VCPUOP_initialise, 1, CTX_VA), -PVCORE_EEXIST);
    assert_int_equal(finfo(t, te.e.root).type_count, before + 1u);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_initialise, 0, CTX_VA), -PVCORE_EEXIST);

    /* Up, and its trap table is the one given: a page fault goes to its handler. */
    assert_int_equal(vop(&te, PVCORE_VCPUOP_up, 1, 0), 0);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_is_up, 1, 0), 1);
    assert_int_equal(pvcore_vcpu_initial_regs(v1, &r), 0);
    assert_int_equal(pvcore_cpu_trap(v1, &r, 14, 2, 0xdead000), PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, HANDLER64);
    /* Now vCPU 0 may go down: vCPU 1 is up. */
    assert_int_equal(vop(&te, PVCORE_VCPUOP_down, 1, 0), 0);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_is_up, 1, 0), 0);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_up, 1, 0), 0);
    assert_int_equal(vop_from(&te, 1, PVCORE_VCPUOP_down, 0, 0), 0);
    assert_int_equal(pvcore_vcpu_is_up(vcpu(t, 1, 0)), 0);
    check_invariants(t);

    /* vCPU 2 online at once, in user mode with its own user root. */
    ctx64_default(&te, c);
    c->flags = PVCORE_VGCF_online;
    c->ctrlreg[1] = PVCORE_XEN_PFN_TO_CR3_X86_64(te.e.root);
    gwrite(&te.e, CTX_VA, c, sizeof(*c));
    assert_int_equal(vop_from(&te, 1, PVCORE_VCPUOP_initialise, 2, CTX_VA), 0);
    assert_int_equal(pvcore_vcpu_is_up(vcpu(t, 1, 2)), 1);
    assert_int_equal(pvcore_vcpu_kernel_mode(vcpu(t, 1, 2)), 0);
    pvcore_vcpu_base(vcpu(t, 1, 2), &k, &u);
    assert_int_equal(k.v, te.e.root);
    assert_int_equal(u.v, te.e.root);
    assert_int_equal(finfo(t, te.e.root).type_count, before + 3u);
    check_invariants(t);

    /* Destruction drops every root reference the vCPUs hold. */
    destroy(t, 1);
    assert_int_equal(finfo(t, te.e.root).count, 0);
    check_invariants(t);
    free(c);
    pvtest_free(t);
}

/* One rejected 64-bit context: exact error, nothing changed. */
static void reject64(struct pvtest *t, const struct tenv *te,
                     const struct pvcore_vcpu_guest_context_x86_64 *c, int64_t err)
{
    struct pvcore_frame_info *s = snapshot(t);
    pvcore_mfn_t k, u;

    gwrite(&te->e, CTX_VA, c, sizeof(*c));
    assert_int_equal(vop(te, PVCORE_VCPUOP_initialise, 1, CTX_VA), err);
    assert_same_state(t, s);
    assert_int_equal(pvcore_vcpu_is_initialised(vcpu(t, 1, 1)), 0);
    assert_int_equal(pvcore_vcpu_is_up(vcpu(t, 1, 1)), 0);
    pvcore_vcpu_base(vcpu(t, 1, 1), &k, &u);
    assert_int_equal(k.v, PVCORE_INVALID_MFN_VALUE);
    assert_int_equal(u.v, PVCORE_INVALID_MFN_VALUE);
    {
        uint32_t ents = 1;
        pvcore_vcpu_gdt(vcpu(t, 1, 1), NULL, &ents);
        assert_int_equal(ents, 0);
    }
    check_invariants(t);
    free(s);
}

static void test_initialise64_errors(void **state)
{
    struct pvtest *t = pvtest_new();
    struct tenv te;
    struct pvcore_vcpu_guest_context_x86_64 *c = calloc(1, sizeof(*c));
    uint64_t bad = 0x0000800000000000ull; /* not canonical */
    uint64_t gdt;

    (void)state;
    assert_non_null(c);
    tenv_init(&te, t, 1);
#define REJECT(field, value, err)          \
    do {                                   \
        ctx64_default(&te, c);             \
        c->field = (value);                \
        reject64(t, &te, c, (err));        \
    } while (0)
    REJECT(user_regs.rip, bad, -PVCORE_EINVAL);
    REJECT(user_regs.rsp, bad, -PVCORE_EINVAL);
    REJECT(kernel_sp, bad, -PVCORE_EINVAL);
    REJECT(fs_base, bad, -PVCORE_EINVAL);
    REJECT(gs_base_kernel, bad, -PVCORE_EINVAL);
    REJECT(gs_base_user, bad, -PVCORE_EINVAL);
    REJECT(event_callback_eip, bad, -PVCORE_EINVAL);
    REJECT(failsafe_callback_eip, bad, -PVCORE_EINVAL);
    REJECT(syscall_callback_eip, bad, -PVCORE_EINVAL);
    REJECT(trap_ctxt[255].address, bad, -PVCORE_EINVAL);
    REJECT(ldt_base, 0x10010, -PVCORE_EINVAL);               /* not page aligned */
    REJECT(ldt_ents, 8193, -PVCORE_EINVAL);
    REJECT(ldt_base, 0xFFFF800000000000ull, -PVCORE_EINVAL); /* the hypervisor's range */
    REJECT(gdt_ents, PVCORE_FIRST_RESERVED_GDT_ENTRY + 1u, -PVCORE_EINVAL);
    REJECT(flags, PVCORE_VGCF_online, -PVCORE_EINVAL); /* user mode without a user root */
    /* Roots: a frame not the domain's, a data page mapped writable (cannot be a table). */
    REJECT(ctrlreg[3], PVCORE_XEN_PFN_TO_CR3_X86_64(3), -PVCORE_EINVAL);
    REJECT(ctrlreg[3], PVCORE_XEN_PFN_TO_CR3_X86_64(te.e.data[0]), -PVCORE_EINVAL);
    REJECT(ctrlreg[1], PVCORE_XEN_PFN_TO_CR3_X86_64(te.e.data[0]), -PVCORE_EINVAL);
    /* A GDT frame that is mapped writable: refused by the descriptor module, and the roots
     * taken before it are given back. */
    ctx64_default(&te, c);
    c->gdt_ents = 1;
    c->gdt_frames[0] = te.e.data[0];
    reject64(t, &te, c, -PVCORE_EINVAL);
    /* A good GDT frame works. */
    gdt = alloc_frame(t, 1);
    /* A context that cannot be read. */
    assert_int_equal(vop(&te, PVCORE_VCPUOP_initialise, 1, UNMAPPED), -PVCORE_EFAULT);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_initialise, 1, VA + 7u * 4096u), -PVCORE_EFAULT);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_initialise, 1, 0xFFFFFFFFFFFFF000ull), -PVCORE_EFAULT);
    assert_int_equal(pvcore_vcpu_is_initialised(vcpu(t, 1, 1)), 0);

    ctx64_default(&te, c);
    c->gdt_ents = 513; /* two frames */
    c->gdt_frames[0] = gdt;
    c->gdt_frames[1] = gdt;
    gwrite(&te.e, CTX_VA, c, sizeof(*c));
    assert_int_equal(vop(&te, PVCORE_VCPUOP_initialise, 1, CTX_VA), 0);
    {
        pvcore_mfn_t f[PVCORE_DESC_GDT_FRAMES];
        uint32_t ents;
        pvcore_vcpu_gdt(vcpu(t, 1, 1), f, &ents);
        assert_int_equal(ents, 513);
        assert_int_equal(f[0].v, gdt);
        assert_int_equal(f[1].v, gdt);
        assert_int_equal(finfo(t, gdt).type, PVCORE_PGT_SEG_DESC);
        assert_int_equal(finfo(t, gdt).type_count, 2);
    }
    check_invariants(t);
    destroy(t, 1);
    assert_int_equal(finfo(t, gdt).count, 0);
    check_invariants(t);
#undef REJECT
    free(c);
    pvtest_free(t);
}

static void test_initialise_needs_vcpu_info(void **state)
{
    struct pvtest *t = pvtest_new();
    struct env e;
    struct pvcore_hypercall_regs h;

    (void)state;
    env_init(&e, t, 1); /* no shared-info page: no vcpu_info anywhere */
    memset(&h, 0, sizeof(h));
    h.nr = PVCORE_HYPERVISOR_vcpu_op;
    h.arg[0] = PVCORE_VCPUOP_initialise;
    h.arg[1] = 1;
    h.arg[2] = UNMAPPED; /* checked before the context is read, as Xen does */
    assert_int_equal(pvcore_hypercall(vcpu(t, 1, 0), &h), PVCORE_HYPERCALL_DONE);
    assert_int_equal((int64_t)h.ret, -PVCORE_EINVAL);
    pvtest_free(t);
}

static void test_initialise32(void **state)
{
    struct pvtest *t = pvtest_new();
    struct tenv te;
    struct pvcore_vcpu_guest_context_x86_32 c;
    struct pvcore_vcpu *v1 = vcpu(t, 2, 1);
    struct pvcore_cpu_regs r;
    pvcore_mfn_t k;
    uint32_t before;

    (void)state;
    tenv_init(&te, t, 2);
    ctx32_default(&te, &c);
    before = finfo(t, te.e.root).type_count;

    /* Rejected first: misaligned LDT, too many GDT entries, a root that is not an L3. */
    c.ldt_base = 0x10004;
    gwrite(&te.e, CTX_VA, &c, sizeof(c));
    assert_int_equal(vop(&te, PVCORE_VCPUOP_initialise, 1, CTX_VA), -PVCORE_EINVAL);
    ctx32_default(&te, &c);
    c.gdt_ents = 16u * 512u + 1u;
    gwrite(&te.e, CTX_VA, &c, sizeof(c));
    assert_int_equal(vop(&te, PVCORE_VCPUOP_initialise, 1, CTX_VA), -PVCORE_EINVAL);
    ctx32_default(&te, &c);
    c.ctrlreg[3] = PVCORE_XEN_PFN_TO_CR3_X86_32((uint32_t)te.e.l1);
    gwrite(&te.e, CTX_VA, &c, sizeof(c));
    assert_int_equal(vop(&te, PVCORE_VCPUOP_initialise, 1, CTX_VA), -PVCORE_EINVAL);
    assert_int_equal(finfo(t, te.e.root).type_count, before);
    assert_int_equal(pvcore_vcpu_is_initialised(v1), 0);
    check_invariants(t);

    ctx32_default(&te, &c);
    gwrite(&te.e, CTX_VA, &c, sizeof(c));
    assert_int_equal(vop(&te, PVCORE_VCPUOP_initialise, 1, CTX_VA), 0);
    assert_int_equal(pvcore_vcpu_is_up(v1), 1);
    assert_int_equal(finfo(t, te.e.root).type_count, before + 1u);
    pvcore_vcpu_base(v1, &k, NULL);
    assert_int_equal(k.v, te.e.root);
    assert_int_equal(pvcore_vcpu_initial_regs(v1, &r), 0);
    assert_int_equal(r.rip, 0x00102000u);
    assert_int_equal(r.rax, 0x4321);
    assert_int_equal(r.rflags, 0x202u);
    assert_int_equal(r.cs, PVCORE_FLAT_KERNEL_CS_X86_32);
    assert_int_equal(pvcore_vcpu_fpu_ts(v1), 0);
    assert_int_equal(pvcore_cpu_trap(v1, &r, 14, 2, 0xdead000), PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, HANDLER32);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_initialise, 1, CTX_VA), -PVCORE_EEXIST);
    check_invariants(t);
    destroy(t, 2);
    check_invariants(t);
    pvtest_free(t);
}

/* ---- register_vcpu_info ------------------------------------------------------------------- */

static int64_t reg_vi(const struct tenv *te, uint32_t from, uint32_t id, uint64_t mfn, uint32_t off)
{
    uint8_t a[16];

    memset(a, 0, sizeof(a));
    put64(a, mfn);
    put32(a + 8, off);
    gwrite(&te->e, ARG_VA, a, sizeof(a));
    return vop_from(te, from, PVCORE_VCPUOP_register_vcpu_info, id, ARG_VA);
}

static void test_register_vcpu_info(void **state)
{
    struct pvtest *t = pvtest_new();
    struct tenv te;
    uint64_t page, other;
    uint8_t *slot, *vi;
    pvcore_mfn_t m;
    uint32_t off;
    struct pvcore_vcpu_guest_context_x86_64 *c = calloc(1, sizeof(*c));

    (void)state;
    assert_non_null(c);
    tenv_init(&te, t, 1);
    page = alloc_frame(t, 1);
    other = alloc_frame(t, 0);
    slot = (uint8_t *)frame_ptr(t, te.shared);
    memset(slot, 0x5A, 64);  /* vCPU 0's slot, with something in it */
    slot[0] = 0;

    /* Errors, state unchanged. */
    assert_int_equal(reg_vi(&te, 0, 0, page, 4096u - 63u), -PVCORE_EINVAL); /* does not fit */
    assert_int_equal(reg_vi(&te, 0, 0, other, 0), -PVCORE_EINVAL);         /* not the domain's */
    assert_int_equal(reg_vi(&te, 0, 0, te.e.root, 0), -PVCORE_EINVAL);     /* a page table */
    assert_int_equal(reg_vi(&te, 0, 0, TEST_FRAMES + 5u, 0), -PVCORE_EINVAL);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_register_vcpu_info, 0, UNMAPPED), -PVCORE_EFAULT);
    assert_int_equal(pvcore_vcpu_info_location(vcpu(t, 1, 0), &m, &off), 0);
    assert_int_equal(m.v, te.shared);
    assert_int_equal(off, 0);
    assert_int_equal(finfo(t, page).type_count, 0);
    check_invariants(t);

    /* The move: contents copied, everything marked pending, a writable reference held. */
    assert_int_equal(reg_vi(&te, 0, 0, page, 4096u - 64u), 0);
    vi = (uint8_t *)frame_ptr(t, page) + 4096 - 64;
    assert_int_equal(vi[0], 1);                       /* evtchn_upcall_pending */
    assert_int_equal(vi[1], 0x5A);                    /* the mask, as it was */
    assert_int_equal(get64(vi + 8), UINT64_MAX);      /* evtchn_pending_sel */
    assert_int_equal(get64(vi + 16), 0x5A5A5A5A5A5A5A5Aull); /* arch.cr2 */
    assert_int_equal(pvcore_vcpu_info_location(vcpu(t, 1, 0), &m, &off), 1);
    assert_int_equal(m.v, page);
    assert_int_equal(off, 4096u - 64u);
    assert_int_equal(finfo(t, page).type, PVCORE_PGT_WRITABLE);
    assert_int_equal(finfo(t, page).type_count, 1);
    check_invariants(t);
    /* Once only; a page table cannot be made of it while held. */
    assert_int_equal(reg_vi(&te, 0, 0, page, 0), -PVCORE_EINVAL);
    assert_int_equal(pin(t, 1, 1, page), -PVCORE_EINVAL);

    /* Another vCPU: allowed while it is down; the same page twice at other offsets. */
    assert_int_equal(reg_vi(&te, 0, 1, page, 0), 0);
    assert_int_equal(finfo(t, page).type_count, 2);
    vi = (uint8_t *)frame_ptr(t, page);
    assert_int_equal(vi[1], 0); /* vCPU 1's shared-info slot was zero */
    check_invariants(t);
    /* ... refused for a vCPU that is up. */
    ctx64_default(&te, c);
    gwrite(&te.e, CTX_VA, c, sizeof(*c));
    assert_int_equal(vop(&te, PVCORE_VCPUOP_initialise, 2, CTX_VA), 0);
    assert_int_equal(pvcore_vcpu_is_up(vcpu(t, 1, 2)), 1);
    assert_int_equal(reg_vi(&te, 0, 2, page, 128), -PVCORE_EINVAL);
    /* ... but it may do it itself. */
    assert_int_equal(reg_vi(&te, 2, 2, page, 128), 0);
    assert_int_equal(finfo(t, page).type_count, 3);
    check_invariants(t);

    /* Destruction releases the registrations: the page is freed with the rest. */
    destroy(t, 1);
    assert_int_equal(finfo(t, page).count, 0);
    assert_int_equal(finfo(t, page).type_count, 0);
    check_invariants(t);
    free(c);
    pvtest_free(t);
}

static void test_register_vcpu_info32(void **state)
{
    struct pvtest *t = pvtest_new();
    struct tenv te;
    uint64_t page;
    uint8_t *vi;

    (void)state;
    tenv_init(&te, t, 2);
    page = alloc_frame(t, 2);
    assert_int_equal(reg_vi(&te, 0, 1, page, 64), 0);
    vi = (uint8_t *)frame_ptr(t, page) + 64;
    assert_int_equal(vi[0], 1);
    assert_int_equal(get64(vi + 4) & 0xFFFFFFFFu, 0xFFFFFFFFu); /* a 32-bit selector */
    assert_int_equal(vi[8], 0);
    check_invariants(t);
    destroy(t, 2);
    assert_int_equal(finfo(t, page).count, 0);
    check_invariants(t);
    pvtest_free(t);
}

/* ---- the runstate ------------------------------------------------------------------------- */

static void test_runstate(void **state)
{
    struct pvtest *t = pvtest_new();
    struct tenv te;
    struct pvcore_vcpu *v0 = vcpu(t, 1, 0);
    struct pvcore_vcpu_runstate_info_x86_64 rs;
    uint8_t b[48], a[8];

    (void)state;
    tenv_init(&te, t, 1);
    pvcore_vcpu_runstate(v0, &rs);
    assert_int_equal(rs.state, PVCORE_RUNSTATE_runnable);
    pvcore_vcpu_runstate(vcpu(t, 1, 1), &rs);
    assert_int_equal(rs.state, PVCORE_RUNSTATE_offline);

    assert_int_equal(pvcore_vcpu_runstate_update(v0, PVCORE_RUNSTATE_running, 100), 0);
    assert_int_equal(pvcore_vcpu_runstate_update(v0, PVCORE_RUNSTATE_blocked, 250), 0);
    assert_int_equal(pvcore_vcpu_runstate_update(v0, 4, 300), -PVCORE_EINVAL);
    /* Time going backwards adds nothing and keeps the entry time. */
    assert_int_equal(pvcore_vcpu_runstate_update(v0, PVCORE_RUNSTATE_running, 200), 0);
    pvcore_vcpu_runstate(v0, &rs);
    assert_int_equal(rs.state, PVCORE_RUNSTATE_running);
    assert_int_equal(rs.state_entry_time, 250);
    assert_int_equal(rs.time[PVCORE_RUNSTATE_runnable], 100);
    assert_int_equal(rs.time[PVCORE_RUNSTATE_running], 150);
    assert_int_equal(rs.time[PVCORE_RUNSTATE_blocked], 0);

    /* get_runstate_info, of itself and of another vCPU. */
    assert_int_equal(vop(&te, PVCORE_VCPUOP_get_runstate_info, 0, ARG_VA), 0);
    gread(&te.e, ARG_VA, b, 48);
    assert_int_equal(b[0], PVCORE_RUNSTATE_running);
    assert_int_equal(get64(b + 8), 250);
    assert_int_equal(get64(b + 16), 150);
    assert_int_equal(get64(b + 24), 100);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_get_runstate_info, 1, ARG_VA), 0);
    gread(&te.e, ARG_VA, b, 48);
    assert_int_equal(b[0], PVCORE_RUNSTATE_offline);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_get_runstate_info, 0, UNMAPPED), -PVCORE_EFAULT);

    /* The area: written at once and at each update. */
    assert_int_equal(vop(&te, PVCORE_VCPUOP_register_runstate_memory_area, 0, UNMAPPED),
                     -PVCORE_EFAULT);
    put64(a, 0xFFFFFFFFFFFFFFF0ull); /* wraps */
    gwrite(&te.e, ARG_VA, a, 8);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_register_runstate_memory_area, 0, ARG_VA),
                     -PVCORE_EFAULT);
    assert_int_equal(pvcore_vcpu_runstate_area(v0), 0);
    put64(a, ARG_VA + 64);
    gwrite(&te.e, ARG_VA, a, 8);
    gfill(&te.e, ARG_VA + 64, 0xEE, 48);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_register_runstate_memory_area, 0, ARG_VA), 0);
    assert_int_equal(pvcore_vcpu_runstate_area(v0), ARG_VA + 64);
    gread(&te.e, ARG_VA + 64, b, 48);
    assert_int_equal(get64(b), PVCORE_RUNSTATE_running); /* padding written as zero */
    assert_int_equal(get64(b + 8), 250);
    assert_int_equal(pvcore_vcpu_runstate_update(v0, PVCORE_RUNSTATE_runnable, 1000), 0);
    gread(&te.e, ARG_VA + 64, b, 48);
    assert_int_equal(b[0], PVCORE_RUNSTATE_runnable);
    assert_int_equal(get64(b + 8), 1000);
    assert_int_equal(get64(b + 16), 900);
    /* An area that cannot be written is accepted (and the writes are dropped). */
    put64(a, UNMAPPED);
    gwrite(&te.e, ARG_VA, a, 8);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_register_runstate_memory_area, 0, ARG_VA), 0);
    assert_int_equal(pvcore_vcpu_runstate_update(v0, PVCORE_RUNSTATE_running, 1100), 0);
    check_invariants(t);
    pvtest_free(t);
}

static void test_runstate32(void **state)
{
    struct pvtest *t = pvtest_new();
    struct tenv te;
    uint8_t b[48];

    (void)state;
    tenv_init(&te, t, 2);
    assert_int_equal(pvcore_vcpu_runstate_update(vcpu(t, 2, 0), PVCORE_RUNSTATE_running, 10), 0);
    assert_int_equal(pvcore_vcpu_runstate_update(vcpu(t, 2, 0), PVCORE_RUNSTATE_blocked, 0x100000010ull), 0);
    gfill(&te.e, ARG_VA, 0xEE, 48);
    assert_int_equal(vop(&te, PVCORE_VCPUOP_get_runstate_info, 0, ARG_VA), 0);
    gread(&te.e, ARG_VA, b, 48);
    assert_int_equal(b[0], PVCORE_RUNSTATE_blocked);
    assert_int_equal(get64(b + 4), 0x100000010ull);           /* 4-byte aligned */
    assert_int_equal(get64(b + 12), 0x100000006ull);          /* time[running] */
    assert_int_equal(get64(b + 20), 10);                      /* time[runnable] */
    assert_int_equal(b[44], 0xEE);                            /* 44 bytes only */
    /* The 32-bit area address is the low word of the 8-byte argument. */
    {
        uint8_t a[8];
        put32(a, (uint32_t)(ARG_VA + 128));
        put32(a + 4, 0xFFFFFFFFu);
        gwrite(&te.e, ARG_VA, a, 8);
        assert_int_equal(vop(&te, PVCORE_VCPUOP_register_runstate_memory_area, 0, ARG_VA), 0);
        assert_int_equal(pvcore_vcpu_runstate_area(vcpu(t, 2, 0)), ARG_VA + 128);
    }
    pvtest_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_vcpuid_and_enosys),
        cmocka_unit_test(test_up_down),
        cmocka_unit_test(test_initialise64),
        cmocka_unit_test(test_initialise64_errors),
        cmocka_unit_test(test_initialise_needs_vcpu_info),
        cmocka_unit_test(test_initialise32),
        cmocka_unit_test(test_register_vcpu_info),
        cmocka_unit_test(test_register_vcpu_info32),
        cmocka_unit_test(test_runstate),
        cmocka_unit_test(test_runstate32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
