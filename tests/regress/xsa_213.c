/* XSA-213: HYPERVISOR_iret inside a multicall switched the vCPU to user mode and the rest of
 * the batch still ran, against the user page tables (a use-after-free of page-table
 * references). The multicall must stop after an iret: the entries after it are untouched,
 * and the iret's registers stand. Through the register-less pvcore_hypercall() entry an
 * iret cannot be served at all: it must apply nothing (not the mode switch, not the mask). */
#include "trapenv.h"

static void mc_entry(const struct tenv *te, unsigned i, uint64_t op, const uint64_t *args)
{
    unsigned k;

    if (te->e.is32) {
        uint32_t e[8] = { (uint32_t)op, 0xdeadbeefu };
        for (k = 0; k < 6; k++) {
            e[2 + k] = (uint32_t)args[k];
        }
        gwrite(&te->e, TABLE_VA + 32u * i, e, sizeof(e));
    } else {
        uint64_t e[8] = { op, 0xdeadbeefu };
        for (k = 0; k < 6; k++) {
            e[2 + k] = args[k];
        }
        gwrite(&te->e, TABLE_VA + 64u * i, e, sizeof(e));
    }
}

static void mc_read(const struct tenv *te, unsigned i, uint8_t out[64])
{
    gread(&te->e, TABLE_VA + (te->e.is32 ? 32u : 64u) * i, out, te->e.is32 ? 32u : 64u);
}

#define FRAME_VA (TABLE_VA + 0x800u)

/* { iret (to user mode for 64-bit, to ring 3 for 32-bit), xen_version, set_trap_table }. */
static void iret_stops_multicall(struct pvtest *t, int d)
{
    struct tenv te;
    uint64_t none[6] = { 0 }, ver[6] = { PVCORE_XENVER_version, 0 }, stt[6] = { 0 /* NULL: clear */ };
    uint8_t e1[64], e2[64], now[64];
    struct pvcore_cpu_regs r;
    struct pvcore_hypercall_regs h;
    struct pvcore_frame_info *before;

    tenv_init(&te, t, d);
    set_handler(&te, 14, 0);
    if (d == 1) {
        /* user tables, so that iret may enter user mode: { rax r11 rcx flags rip cs rflags rsp ss } */
        uint64_t f[9] = { 0x77, 0x22, 0x11, 0, 0x401000, PVCORE_FLAT_RING3_CS64_X86_64, 0x202,
                          VA + 0x900, PVCORE_FLAT_RING3_SS64_X86_64 };
        assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_USER_BASEPTR, te.e.root, 0, PVCORE_DOMID_SELF), 0);
        gwrite(&te.e, FRAME_VA, f, sizeof(f));
    } else {
        /* { eax eip cs eflags esp ss }: ring 3 */
        uint32_t f[6] = { 0x77, 0x101000, PVCORE_FLAT_RING3_CS_X86_32, 0x202, VA + 0x900,
                          PVCORE_FLAT_RING3_SS_X86_32 };
        gwrite(&te.e, FRAME_VA, f, sizeof(f));
    }
    mc_entry(&te, 0, PVCORE_HYPERVISOR_iret, none);
    mc_entry(&te, 1, PVCORE_HYPERVISOR_xen_version, ver);
    mc_entry(&te, 2, PVCORE_HYPERVISOR_set_trap_table, stt);
    mc_read(&te, 1, e1);
    mc_read(&te, 2, e2);
    vinfo(&te)[1] = 1;
    before = snapshot(t);
    r = kregs(&te);
    r.rsp = FRAME_VA;
    r.rax = PVCORE_HYPERVISOR_multicall;
    if (d == 2) {
        r.rbx = TABLE_VA;
        r.rcx = 3;
    } else {
        r.rdi = TABLE_VA;
        r.rsi = 3;
    }
    assert_int_equal(pvcore_cpu_hypercall(tv(&te), &r, &h), PVCORE_CPU_RESUME);
    /* the iret's registers */
    assert_int_equal(r.rax, 0x77);
    assert_int_equal(r.rip, d == 1 ? 0x401000u : 0x101000u);
    assert_int_equal(r.rsp, VA + 0x900);
    assert_int_equal(r.cs, d == 1 ? PVCORE_FLAT_RING3_CS64_X86_64 : PVCORE_FLAT_RING3_CS_X86_32);
    assert_int_equal(vinfo(&te)[1], 0); /* from the frame's IF */
    if (d == 1) {
        assert_false(pvcore_vcpu_kernel_mode(tv(&te)));
    }
    /* nothing after it ran: its entries are as written, and the trap table was not cleared */
    mc_read(&te, 1, now);
    assert_memory_equal(now, e1, d == 2 ? 32u : 64u);
    mc_read(&te, 2, now);
    assert_memory_equal(now, e2, d == 2 ? 32u : 64u);
    /* the iret's own entry holds its result */
    mc_read(&te, 0, now);
    if (d == 2) {
        assert_int_equal(now[4], 0x77);
    } else {
        assert_int_equal(now[8], 0x77);
    }
    assert_same_state(t, before);
    free(before);
    check_invariants(t);
}

static void xsa_213_multicall_iret_64(void **state)
{
    iret_stops_multicall(*state, 1);
}

static void xsa_213_multicall_iret_32(void **state)
{
    iret_stops_multicall(*state, 2);
}

/* Through pvcore_hypercall() (no registers), an iret in a multicall is refused as
 * -ENOSYS and applies nothing: no mode switch, no event-mask change; and the multicall
 * still stops there (its result is the iret's), so the entries after it are untouched. */
static void multicall_iret_registerless(struct pvtest *t, int d)
{
    struct tenv te;
    uint64_t none[6] = { 0 }, ver[6] = { PVCORE_XENVER_version, 0 };
    struct pvcore_hypercall_regs hr;
    struct pvcore_frame_info *before;
    uint8_t now[64];
    uint64_t f[9] = { 0x77, 0, 0, 0, 0x401000, PVCORE_FLAT_RING3_CS64_X86_64, 0x002, VA + 0x900,
                      PVCORE_FLAT_RING3_SS64_X86_64 };

    tenv_init(&te, t, d);
    if (d == 1) {
        assert_int_equal(ext(t, 1, PVCORE_MMUEXT_NEW_USER_BASEPTR, te.e.root, 0, PVCORE_DOMID_SELF), 0);
    }
    gwrite(&te.e, FRAME_VA, f, sizeof(f));
    mc_entry(&te, 0, PVCORE_HYPERVISOR_iret, none);
    mc_entry(&te, 1, PVCORE_HYPERVISOR_xen_version, ver);
    vinfo(&te)[1] = 0;
    before = snapshot(t);
    memset(&hr, 0, sizeof(hr));
    hr.nr = PVCORE_HYPERVISOR_multicall;
    hr.arg[0] = TABLE_VA;
    hr.arg[1] = 2;
    assert_int_equal(pvcore_hypercall(tv(&te), &hr), PVCORE_HYPERCALL_DONE);
    assert_int_equal((int64_t)(d == 2 ? (uint64_t)(int64_t)(int32_t)hr.ret : hr.ret), -PVCORE_ENOSYS);
    mc_read(&te, 0, now);
    if (d == 2) {
        assert_int_equal((int32_t)((uint32_t)now[4] | (uint32_t)now[5] << 8 | (uint32_t)now[6] << 16 |
                                   (uint32_t)now[7] << 24),
                         -PVCORE_ENOSYS);
    } else {
        int64_t res;
        memcpy(&res, now + 8, 8);
        assert_int_equal(res, -PVCORE_ENOSYS);
    }
    assert_true(pvcore_vcpu_kernel_mode(tv(&te)));
    assert_int_equal(vinfo(&te)[1], 0); /* the frame's IF was clear: the mask was not applied */
    mc_read(&te, 1, now);
    {
        uint8_t e1[64];
        uint64_t ver2[6] = { PVCORE_XENVER_version, 0 };
        mc_entry(&te, 1, PVCORE_HYPERVISOR_xen_version, ver2); /* what it held before */
        mc_read(&te, 1, e1);
        assert_memory_equal(now, e1, d == 2 ? 32u : 64u);
    }
    assert_same_state(t, before);
    free(before);
    /* and a lone iret through that entry */
    memset(&hr, 0, sizeof(hr));
    hr.nr = PVCORE_HYPERVISOR_iret;
    assert_int_equal(pvcore_hypercall(tv(&te), &hr), PVCORE_HYPERCALL_DONE);
    assert_int_equal((int64_t)(d == 2 ? (uint64_t)(int64_t)(int32_t)hr.ret : hr.ret), -PVCORE_ENOSYS);
    assert_true(pvcore_vcpu_kernel_mode(tv(&te)));
    assert_int_equal(vinfo(&te)[1], 0);
    check_invariants(t);
}

static void xsa_213_registerless_64(void **state)
{
    multicall_iret_registerless(*state, 1);
}

static void xsa_213_registerless_32(void **state)
{
    multicall_iret_registerless(*state, 2);
}

REGRESS_MAIN("xsa_213", RTEST(xsa_213_multicall_iret_64), RTEST(xsa_213_multicall_iret_32),
             RTEST(xsa_213_registerless_64), RTEST(xsa_213_registerless_32))
