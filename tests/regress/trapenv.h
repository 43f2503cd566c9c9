/*
 * Shared by the trap-side advisory regressions (xsa_007, xsa_183, xsa_213, xsa_259): a
 * guest of the pvtest fixture with a shared-info page, handlers registered through
 * pvcore_cpu_hypercall(), its registers, and a count of the frame writes the library
 * makes through the copy_to_guest hook (wrapped here; the real hook still does the work).
 */
#ifndef PVCORE_TESTS_REGRESS_TRAPENV_H
#define PVCORE_TESTS_REGRESS_TRAPENV_H

#include "regress.h"
#include "guestenv.h"

#include <pvcore/cpu.h>
#include <pvcore/hypercall.h>

#include "internal/machine.h"

#define STACK_TOP (VA + 4u * 4096u)     /* kernel stack: the top of data page 3 */
#define TABLE_VA (VA + 5u * 4096u)      /* hypercall arguments: data page 5 */
#define CODE_VA (VA + 6u * 4096u)       /* the faulting instruction */
#define HANDLER64 0xFFFF900000001000ull /* a canonical guest kernel address */
#define HANDLER32 0x00101000u
#define NONCANON 0x0000800000000000ull  /* the first non-canonical address */

struct tenv {
    struct env e;
    uint64_t shared;
};

/* ---- the copy_to_guest hook, counted ---------------------------------------------------- */

struct hook_state {
    const struct pvcore_host_ops *real;
    struct pvcore_host_ops ops;
    unsigned calls, ok;
    uint64_t last_gva;
    size_t last_len;
    int refuse; /* non-zero: the embedder's copy fails (as a fault in it would) */
};

static struct hook_state hook;

static int counted_copy_to(void *ctx, struct pvcore_vcpu *v, uint64_t gva, const void *src, size_t len)
{
    int rc;

    hook.calls++;
    hook.last_gva = gva;
    hook.last_len = len;
    if (hook.refuse) {
        return -PVCORE_EFAULT;
    }
    rc = hook.real->copy_to_guest(ctx, v, gva, src, len);
    if (rc == 0) {
        hook.ok++;
    }
    return rc;
}

static inline void hook_install(struct pvtest *t)
{
    struct machine *m = (struct machine *)(void *)t->m;

    memset(&hook, 0, sizeof(hook));
    hook.real = m->ops;
    hook.ops = *m->ops;
    hook.ops.copy_to_guest = counted_copy_to;
    m->ops = &hook.ops;
}

static inline void hook_reset(void)
{
    hook.calls = 0;
    hook.ok = 0;
    hook.refuse = 0;
}

/* ---- the guest ---------------------------------------------------------------------------- */

static inline void tenv_init(struct tenv *te, struct pvtest *t, int d)
{
    memset(te, 0, sizeof(*te));
    env_init(&te->e, t, d);
    te->shared = alloc_frame(t, d);
    gwrite(&te->e, CODE_VA, "\x0f\x0b", 2); /* ud2: left to the guest */
    assert_int_equal(pvcore_domain_set_shared_info(t->dom[d], pvcore_mfn(te->shared)), 0);
}

static inline uint8_t *vinfo(const struct tenv *te)
{
    return (uint8_t *)frame_ptr(te->e.t, te->shared);
}

static inline struct pvcore_vcpu *tv(const struct tenv *te)
{
    return vcpu(te->e.t, te->e.d, 0);
}

static inline struct pvcore_cpu_regs kregs(const struct tenv *te)
{
    struct pvcore_cpu_regs r;

    memset(&r, 0, sizeof(r));
    r.cs = te->e.is32 ? PVCORE_FLAT_RING1_CS_X86_32 : PVCORE_FLAT_RING3_CS64_X86_64;
    r.ss = te->e.is32 ? PVCORE_FLAT_RING1_SS_X86_32 : PVCORE_FLAT_RING3_SS64_X86_64;
    r.rsp = STACK_TOP - 0x100u;
    r.rip = CODE_VA;
    r.rflags = 0x202u;
    r.rcx = 0x1111;
    r.r11 = 0x2222;
    r.rax = 0xAAAA;
    return r;
}

/* A direct hypercall through the full-register entry, from guest kernel mode. */
static inline int64_t hcall4(const struct tenv *te, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                             uint64_t a3)
{
    struct pvcore_cpu_regs r = kregs(te);
    struct pvcore_hypercall_regs h;

    r.rax = nr;
    if (te->e.is32) {
        r.rbx = a0;
        r.rcx = a1;
        r.rdx = a2;
        r.rsi = a3;
    } else {
        r.rdi = a0;
        r.rsi = a1;
        r.rdx = a2;
        r.r10 = a3;
    }
    assert_int_equal(pvcore_cpu_hypercall(tv(te), &r, &h), PVCORE_CPU_RESUME);
    check_invariants(te->e.t);
    return te->e.is32 ? (int64_t)(int32_t)(uint32_t)r.rax : (int64_t)r.rax;
}

static inline int64_t hcall(const struct tenv *te, uint64_t nr, uint64_t a0, uint64_t a1)
{
    return hcall4(te, nr, a0, a1, 0, 0);
}

/* One trap-table entry at TABLE_VA, then the terminator; registers it. */
static inline int64_t set_trap(const struct tenv *te, uint8_t vec, uint8_t flags, uint16_t cs,
                               uint64_t addr)
{
    uint8_t b[32] = { 0 };
    size_t sz = te->e.is32 ? 8u : 16u;

    b[0] = vec;
    b[1] = flags;
    b[2] = (uint8_t)cs;
    b[3] = (uint8_t)(cs >> 8);
    if (te->e.is32) {
        uint32_t a = (uint32_t)addr;
        memcpy(b + 4, &a, 4);
    } else {
        memcpy(b + 8, &addr, 8);
    }
    gwrite(&te->e, TABLE_VA, b, 2u * sz);
    return hcall(te, PVCORE_HYPERVISOR_set_trap_table, TABLE_VA, 0);
}

static inline void set_handler(const struct tenv *te, uint8_t vec, uint8_t flags)
{
    if (te->e.is32) {
        assert_int_equal(set_trap(te, vec, flags, PVCORE_FLAT_RING1_CS_X86_32, HANDLER32 + vec), 0);
    } else {
        assert_int_equal(set_trap(te, vec, flags, PVCORE_FLAT_RING3_CS64_X86_64, HANDLER64 + vec), 0);
    }
}

/* callback_op(register) of one callback. */
static inline int64_t cb_register(const struct tenv *te, uint16_t type, uint16_t flags, uint16_t cs,
                                  uint64_t addr)
{
    uint8_t b[16] = { 0 };

    memcpy(b, &type, 2);
    memcpy(b + 2, &flags, 2);
    if (te->e.is32) {
        uint32_t c = cs, eip = (uint32_t)addr;
        memcpy(b + 4, &c, 4);
        memcpy(b + 8, &eip, 4);
    } else {
        memcpy(b + 8, &addr, 8);
    }
    gwrite(&te->e, TABLE_VA, b, 16);
    return hcall(te, PVCORE_HYPERVISOR_callback_op, PVCORE_CALLBACKOP_register, TABLE_VA);
}

/* A copy of the guest's data pages and its vcpu_info, to show nothing changed. */
struct gsnap {
    uint8_t data[NDATA][4096];
    uint8_t vi[64];
};

static inline void gsnap_take(const struct tenv *te, struct gsnap *s)
{
    unsigned i;

    for (i = 0; i < NDATA; i++) {
        memcpy(s->data[i], frame_ptr(te->e.t, te->e.data[i]), 4096);
    }
    memcpy(s->vi, vinfo(te), 64);
}

static inline void gsnap_same(const struct tenv *te, const struct gsnap *s)
{
    unsigned i;

    for (i = 0; i < NDATA; i++) {
        assert_memory_equal(s->data[i], frame_ptr(te->e.t, te->e.data[i]), 4096);
    }
    assert_memory_equal(s->vi, vinfo(te), 64);
}

#endif /* PVCORE_TESTS_REGRESS_TRAPENV_H */
