/* XSA-183 (CVE-2016-6259): a 32-bit PV kernel (ring 1) may point its stack at a user
 * (_PAGE_USER) mapping; Xen's compat_create_bounce_frame wrote the exception frame there
 * without whitelisting user accesses, so with SMAP the write faulted inside Xen and crashed
 * the host. For a library that writes frames only through the embedder's copy_to_guest
 * hook, what applies: (1) a frame on a user-accessible, writable stack is written (once,
 * through the hook: the hook is where an embedder does its SMAP whitelisting) and the guest
 * resumes; (2) when the hook cannot write (a fault in the embedder's copy, SMAP or other),
 * the result is PVCORE_CPU_CRASH for the guest, nothing written and no state changed (no
 * event mask, registers as they were), never a failure of the library itself.
 *
 * The seed rule "a fault while delivering a fault kills the guest" is tested here too, for
 * both widths: stack unmapped, read-only, in the hypervisor's range, straddling its edge.
 *
 * xsa_183_rpl0_32 FAILS at the time of writing: see its comment. */
#include "trapenv.h"

static void user_stack(struct pvtest *t, int d)
{
    struct tenv te;
    struct pvcore_cpu_regs r, r0;
    struct gsnap *s = malloc(sizeof(*s));
    unsigned slot = (unsigned)((STACK_TOP - 4096u - VA) >> 12);
    assert_non_null(s);
    tenv_init(&te, t, d);
    set_handler(&te, 14, 0);
    /* the stack page mapped U|RW (build_as* map every data page with U already: make sure) */
    assert_int_equal(frame_ptr(t, te.e.l1)[slot] & (PT_US | PT_RW), PT_US | PT_RW);
    hook_install(t);
    vinfo(&te)[1] = 0;
    r = kregs(&te);
    r0 = r;
    assert_int_equal(pvcore_cpu_trap(tv(&te), &r, 14, 2, 0x1000), PVCORE_CPU_RESUME);
    assert_int_equal(hook.calls, 1);
    assert_int_equal(hook.ok, 1);
    assert_int_equal(hook.last_gva, r.rsp);
    assert_int_equal(hook.last_len, d == 2 ? 16u : 64u);
    /* the hook refuses (the embedder's copy faulted): CRASH, nothing changed */
    hook_reset();
    hook.refuse = 1;
    gsnap_take(&te, s);
    r = r0;
    assert_int_equal(pvcore_cpu_trap(tv(&te), &r, 14, 2, 0x1000), PVCORE_CPU_CRASH);
    assert_int_equal(hook.calls, 1);
    assert_int_equal(hook.ok, 0);
    assert_memory_equal(&r, &r0, offsetof(struct pvcore_cpu_regs, rip)); /* general registers */
    gsnap_same(&te, s); /* (cr2 was 0x1000 already) */
    r = r0;
    assert_int_equal(pvcore_cpu_event_callback(tv(&te), &r), PVCORE_CPU_CRASH); /* (none registered) */
    assert_int_equal(cb_register(&te, PVCORE_CALLBACKTYPE_event, 0, PVCORE_FLAT_RING1_CS_X86_32,
                                 d == 2 ? HANDLER32 : HANDLER64), 0);
    hook.refuse = 1;
    gsnap_take(&te, s);
    r = r0;
    assert_int_equal(pvcore_cpu_event_callback(tv(&te), &r), PVCORE_CPU_CRASH);
    gsnap_same(&te, s); /* in particular the event mask was not set */
    check_invariants(t);
    free(s);
}

static void xsa_183_user_stack_32(void **state)
{
    user_stack(*state, 2);
}

static void xsa_183_user_stack_64(void **state)
{
    user_stack(*state, 1);
}

/* A fault while delivering a fault: every way the frame cannot be written. */
static void cannot_deliver(struct pvtest *t, int d)
{
    struct tenv te;
    struct gsnap *s = malloc(sizeof(*s));
    struct pvcore_frame_info *before;
    uint64_t sps64[] = { UNMAPPED + 0x100, 0xFFFF800000001000ull, 0xFFFF880000000010ull,
                         0xFFFF800000000000ull + 0x20, NONCANON + 0x40, 0x30, VA + 8, VA + 0x40 };
    uint64_t sps32[] = { UNMAPPED + 0x100, 0xF5800010u, 0xF5800000u + 8, 0xFFFFFFF0u, 0x10,
                         VA + 8, VA + 0x40 };
    const uint64_t *sps = d == 2 ? sps32 : sps64;
    unsigned n = d == 2 ? 7u : 8u, i;

    assert_non_null(s);
    tenv_init(&te, t, d);
    set_handler(&te, 13, 0);
    /* the first data page read-only: VA + 0x40 is mapped but not writable */
    assert_int_equal(set_entry(t, d, te.e.l1, 0, frame_ptr(t, te.e.l1)[0] & ~PT_RW), 0);
    vinfo(&te)[1] = 0;
    gsnap_take(&te, s);
    before = snapshot(t);
    hook_install(t);
    for (i = 0; i < n; i++) {
        struct pvcore_cpu_regs r = kregs(&te);
        r.rsp = sps[i];
        hook_reset();
        assert_int_equal(pvcore_cpu_trap(tv(&te), &r, 13, 0, 0), PVCORE_CPU_CRASH);
        assert_int_equal(hook.ok, 0);
        gsnap_same(&te, s);
    }
    /* from user mode / ring 3, through the stack_switch stack */
    if (d == 2) {
        struct pvcore_cpu_regs r = kregs(&te);
        assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_stack_switch, 0xe021, 0xF5800000u + 4), 0);
        r.cs = PVCORE_FLAT_RING3_CS_X86_32;
        r.ss = PVCORE_FLAT_RING3_SS_X86_32;
        assert_int_equal(pvcore_cpu_trap(tv(&te), &r, 13, 0, 0), PVCORE_CPU_CRASH);
        gsnap_same(&te, s);
    }
    assert_same_state(t, before);
    free(before);
    free(s);
    check_invariants(t);
}

static void xsa_183_cannot_deliver_64(void **state)
{
    cannot_deliver(*state, 1);
}

static void xsa_183_cannot_deliver_32(void **state)
{
    cannot_deliver(*state, 2);
}

/*
 * Only rings 2 and 3 switch to the stack_switch stack and push esp/ss (<pvcore/cpu.h>; Xen's
 * compat bounce tests CS bit 1): an interrupted CS with RPL 0, which no 32-bit PV guest
 * has but an embedder may pass, stays on its stack. Found by fuzz/fuzz_bounce.c
 * (corpus/bounce/rpl0_32) when the library decided by "RPL is not 1".
 */
static void xsa_183_rpl0_32(void **state)
{
    struct pvtest *t = *state;
    struct tenv te;
    struct pvcore_cpu_regs r, r0;

    tenv_init(&te, t, 2);
    set_handler(&te, 13, 0);
    assert_int_equal(hcall(&te, PVCORE_HYPERVISOR_stack_switch, 0xe021, STACK_TOP), 0);
    r = kregs(&te);
    r.cs = 0xe018;
    r.ss = 0xe020;
    r.rsp = VA + 0x2800;
    r0 = r;
    assert_int_equal(pvcore_cpu_trap(tv(&te), &r, 13, 0, 0), PVCORE_CPU_RESUME);
    assert_int_equal(r.rsp, r0.rsp - 16u); /* err, eip, cs, eflags on the current stack */
    check_invariants(t);
}

REGRESS_MAIN("xsa_183", RTEST(xsa_183_user_stack_32), RTEST(xsa_183_user_stack_64),
             RTEST(xsa_183_cannot_deliver_64), RTEST(xsa_183_cannot_deliver_32), RTEST(xsa_183_rpl0_32))
