/* XSA-7 (CVE-2012-0217) and its follow-up 73db9f65da: SYSRET to a non-canonical RIP faults
 * in ring 0 on Intel processors, with the guest's stack pointer. The follow-up made every
 * entry point a 64-bit PV guest registers canonical: set_trap_table, callback_op and
 * set_callbacks refuse a non-canonical address (-EINVAL; set_callbacks, as in Xen, returns
 * 0 and leaves that callback unchanged).
 *
 * What the library can check and what it cannot: it never returns to the guest itself; the
 * embedder chooses SYSRET or IRET. The library guarantees that every address it makes the
 * guest resume at after a delivery (a handler, the syscall callback) was canonical when
 * registered (tested here), and it keeps an iret's frame rip as given: an iret with a
 * non-canonical rip is returned as such (tested), and the embedder must not SYSRET to it
 * (it must check canonicality or always use IRET, which faults safely in guest context),
 * which is not testable here. */
#include "trapenv.h"

static uint64_t handler_of(const struct tenv *te, unsigned vec)
{
    struct pvcore_cpu_regs r = kregs(te);

    if (pvcore_cpu_trap(tv(te), &r, vec, 0, 0) != PVCORE_CPU_RESUME) {
        return 0;
    }
    return r.rip;
}

static void xsa_007_trap_table(void **state)
{
    struct pvtest *t = *state;
    struct tenv te;
    static const uint64_t bad[] = { NONCANON, 0xFFFF7FFFFFFFFFFFull, 0x8000000000000000ull,
                                    0x00FF000000000000ull };
    unsigned i;

    tenv_init(&te, t, 1);
    set_handler(&te, 3, 3);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(set_trap(&te, 3, 3, PVCORE_FLAT_RING3_CS64_X86_64, bad[i]), -PVCORE_EINVAL);
        assert_int_equal(handler_of(&te, 3), HANDLER64 + 3); /* unchanged */
        assert_int_equal(set_trap(&te, 4, 3, PVCORE_FLAT_RING3_CS64_X86_64, bad[i]), -PVCORE_EINVAL);
        assert_int_equal(handler_of(&te, 4), 0); /* not registered */
    }
    /* the edges of the canonical halves are fine */
    assert_int_equal(set_trap(&te, 4, 3, PVCORE_FLAT_RING3_CS64_X86_64, 0x00007FFFFFFFF000ull), 0);
    assert_int_equal(set_trap(&te, 5, 3, PVCORE_FLAT_RING3_CS64_X86_64, 0xFFFF800000000000ull), 0);
    /* a 32-bit guest's addresses are 32 bits: nothing to refuse */
    {
        struct tenv t32;
        tenv_init(&t32, t, 2);
        assert_int_equal(set_trap(&t32, 3, 3, PVCORE_FLAT_RING1_CS_X86_32, 0xFFFFF000u), 0);
    }
    check_invariants(t);
}

static void xsa_007_callbacks(void **state)
{
    struct pvtest *t = *state;
    struct tenv te;
    static const uint16_t types[] = { PVCORE_CALLBACKTYPE_event, PVCORE_CALLBACKTYPE_failsafe,
                                      PVCORE_CALLBACKTYPE_syscall, PVCORE_CALLBACKTYPE_syscall32,
                                      PVCORE_CALLBACKTYPE_sysenter, PVCORE_CALLBACKTYPE_nmi };
    struct pvcore_cpu_regs r;
    unsigned i;

    tenv_init(&te, t, 1);
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        assert_int_equal(cb_register(&te, types[i], 0, 0, NONCANON + 0x1000u * i), -PVCORE_EINVAL);
    }
    /* none of them took effect */
    r = kregs(&te);
    assert_int_equal(pvcore_cpu_event_callback(tv(&te), &r), PVCORE_CPU_CRASH);
    r = kregs(&te);
    assert_int_equal(pvcore_cpu_failsafe(tv(&te), &r), PVCORE_CPU_CRASH);
    assert_int_equal(handler_of(&te, 2), 0); /* nmi */
    /* set_callbacks(event, failsafe, syscall): 0, and the bad ones left unchanged */
    assert_int_equal(cb_register(&te, PVCORE_CALLBACKTYPE_event, 0, 0, HANDLER64 + 0x100), 0);
    assert_int_equal(hcall4(&te, PVCORE_HYPERVISOR_set_callbacks, NONCANON, HANDLER64 + 0x200, NONCANON, 0), 0);
    r = kregs(&te);
    assert_int_equal(pvcore_cpu_event_callback(tv(&te), &r), PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, HANDLER64 + 0x100);
    r = kregs(&te);
    assert_int_equal(pvcore_cpu_failsafe(tv(&te), &r), PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, HANDLER64 + 0x200);
    check_invariants(t);
}

/* The syscall path: the guest's syscall callback (canonical by registration) is where a
 * syscall from user mode resumes; with a non-canonical one refused, the syscall is a #UD
 * at the guest's handler, never a return to the bad address. */
static void xsa_007_syscall(void **state)
{
    struct pvtest *t = *state;
    struct tenv te;
    struct pvcore_cpu_regs r;
    struct pvcore_hypercall_regs h;
    uint64_t f[9] = { 0, 0, 0, 0, CODE_VA, PVCORE_FLAT_RING3_CS64_X86_64, 0x202, VA + 0x900,
                      PVCORE_FLAT_RING3_SS64_X86_64 };

    tenv_init(&te, t, 1);
    set_handler(&te, 6, 0);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_stack_switch, 0xe02b, STACK_TOP), 0);
    assert_int_equal(cb_register(&te, PVCORE_CALLBACKTYPE_syscall, 0, 0, NONCANON), -PVCORE_EINVAL);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_USER_BASEPTR, te.e.root, 0, PVCORE_DOMID_SELF), 0);
    gwrite(&te.e, TABLE_VA + 0x400, f, sizeof(f));
    r = kregs(&te);
    r.rsp = TABLE_VA + 0x400;
    r.rax = PVCORE_HYPERVISOR_iret;
    assert_int_equal(pvcore_cpu_hypercall(tv(&te), &r, &h), PVCORE_CPU_RESUME);
    r = kregs(&te);
    r.rsp = VA + 0x900;
    r.rip = NONCANON; /* (where the embedder says the syscall came from: not returned to) */
    assert_int_equal(pvcore_cpu_syscall(tv(&te), &r), PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, HANDLER64 + 6);
    assert_int_equal(r.cs, PVCORE_FLAT_KERNEL_CS_X86_64);
    /* iret keeps a non-canonical rip as the frame gives it (documented: the embedder's) */
    f[4] = NONCANON;
    f[5] = 0xe030; /* back to kernel mode */
    gwrite(&te.e, TABLE_VA + 0x400, f, sizeof(f));
    r = kregs(&te);
    r.rsp = TABLE_VA + 0x400;
    r.rax = PVCORE_HYPERVISOR_iret;
    assert_int_equal(pvcore_cpu_hypercall(tv(&te), &r, &h), PVCORE_CPU_RESUME);
    assert_int_equal(r.rip, NONCANON);
    assert_int_equal(r.cs & 3u, 3u);
    check_invariants(t);
}

REGRESS_MAIN("xsa_007", RTEST(xsa_007_trap_table), RTEST(xsa_007_callbacks), RTEST(xsa_007_syscall))
