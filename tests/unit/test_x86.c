/*
 * The x86 encoders against values worked out by hand from the architectural formats, and
 * (where the backend is linked) the two routines that are legal at CPL 3.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pvcore/arch/x86.h>

static void test_constants(void **state)
{
    (void)state;
    assert_int_equal(PVCORE_X86_CR0_PE, 0x1);
    assert_int_equal(PVCORE_X86_CR0_TS, 0x8);
    assert_int_equal(PVCORE_X86_CR0_NE, 0x20);
    assert_int_equal(PVCORE_X86_CR0_WP, 0x10000);
    assert_int_equal(PVCORE_X86_CR0_PG, 0x80000000);
    assert_int_equal(PVCORE_X86_CR4_PAE, 0x20);
    assert_int_equal(PVCORE_X86_CR4_PGE, 0x80);
    assert_int_equal(PVCORE_X86_CR4_OSFXSR, 0x200);
    assert_int_equal(PVCORE_X86_CR4_FSGSBASE, 0x10000);
    assert_int_equal(PVCORE_X86_CR4_PCIDE, 0x20000);
    assert_int_equal(PVCORE_X86_CR4_OSXSAVE, 0x40000);
    assert_int_equal(PVCORE_X86_CR4_SMEP, 0x100000);
    assert_int_equal(PVCORE_X86_CR4_SMAP, 0x200000);
    assert_int_equal(PVCORE_X86_MSR_EFER, 0xC0000080);
    assert_int_equal(PVCORE_X86_MSR_STAR, 0xC0000081);
    assert_int_equal(PVCORE_X86_MSR_LSTAR, 0xC0000082);
    assert_int_equal(PVCORE_X86_MSR_CSTAR, 0xC0000083);
    assert_int_equal(PVCORE_X86_MSR_FMASK, 0xC0000084);
    assert_int_equal(PVCORE_X86_MSR_FS_BASE, 0xC0000100);
    assert_int_equal(PVCORE_X86_MSR_GS_BASE, 0xC0000101);
    assert_int_equal(PVCORE_X86_MSR_KERNEL_GS_BASE, 0xC0000102);
    assert_int_equal(PVCORE_X86_EFER_SCE | PVCORE_X86_EFER_LME | PVCORE_X86_EFER_LMA
                         | PVCORE_X86_EFER_NXE,
                     0xD01);
    assert_int_equal(PVCORE_X86_RFLAGS_CF, 0x1);
    assert_int_equal(PVCORE_X86_RFLAGS_TF, 0x100);
    assert_int_equal(PVCORE_X86_RFLAGS_IF, 0x200);
    assert_int_equal(PVCORE_X86_RFLAGS_DF, 0x400);
    assert_int_equal(PVCORE_X86_RFLAGS_IOPL, 0x3000);
    assert_int_equal(PVCORE_X86_RFLAGS_NT, 0x4000);
    assert_int_equal(PVCORE_X86_RFLAGS_RF, 0x10000);
    assert_int_equal(PVCORE_X86_RFLAGS_VM, 0x20000);
    assert_int_equal(PVCORE_X86_RFLAGS_AC, 0x40000);
    assert_int_equal(PVCORE_X86_RFLAGS_ID, 0x200000);
    assert_int_equal(PVCORE_X86_VEC_DF, 8);
    assert_int_equal(PVCORE_X86_VEC_TS, 10);
    assert_int_equal(PVCORE_X86_VEC_GP, 13);
    assert_int_equal(PVCORE_X86_VEC_PF, 14);
    assert_int_equal(PVCORE_X86_VEC_MF, 16);
    assert_int_equal(PVCORE_X86_VEC_XM, 19);
    assert_int_equal(PVCORE_X86_PFEC_P | PVCORE_X86_PFEC_W | PVCORE_X86_PFEC_U
                         | PVCORE_X86_PFEC_RSVD | PVCORE_X86_PFEC_I,
                     0x1F);
    assert_int_equal(PVCORE_X86_PTE_PSE, 0x80);
    assert_int_equal(PVCORE_X86_PTE_PAT, 0x80);
    assert_int_equal(PVCORE_X86_PTE_G, 0x100);
    assert_int_equal(PVCORE_X86_PTE_NX, 0x8000000000000000ull);
    assert_int_equal(PVCORE_X86_PTE_ADDR_MASK, 0x000FFFFFFFFFF000ull);
    /* A ~ of a CR bit must not clear the upper half of a 64-bit register value. */
    assert_int_equal(sizeof(PVCORE_X86_CR0_PG), sizeof(uintptr_t));
    assert_int_equal(~PVCORE_X86_CR4_PGE & ~(uintptr_t)0xFF, ~(uintptr_t)0xFF);
}

static void test_flat_descriptors(void **state)
{
    (void)state;
    assert_int_equal(pvcore_x86_code64_desc(0), 0x00af9a000000ffffull);
    assert_int_equal(pvcore_x86_code64_desc(3), 0x00affa000000ffffull);
    assert_int_equal(pvcore_x86_code32_desc(0), 0x00cf9a000000ffffull);
    assert_int_equal(pvcore_x86_code32_desc(1), 0x00cfba000000ffffull);
    assert_int_equal(pvcore_x86_code32_desc(3), 0x00cffa000000ffffull);
    assert_int_equal(pvcore_x86_data_desc(0), 0x00cf92000000ffffull);
    assert_int_equal(pvcore_x86_data_desc(1), 0x00cfb2000000ffffull);
    assert_int_equal(pvcore_x86_data_desc(3), 0x00cff2000000ffffull);
    /* Only the two low bits of a DPL count. */
    assert_int_equal(pvcore_x86_code32_desc(5), pvcore_x86_code32_desc(1));
    assert_int_equal(pvcore_x86_data_desc(0xFFFFFFFCu), pvcore_x86_data_desc(0));
}

static void test_seg_desc_fields(void **state)
{
    (void)state;
    /*
     * base 0x12345678, limit 0xABCDE, access 0x92, flags 0x4: limit 15:0 = bcde,
     * base 23:0 = 345678, access = 92, limit 19:16 = a, flags = 4, base 31:24 = 12.
     */
    assert_int_equal(pvcore_x86_seg_desc(0x12345678u, 0xABCDEu, 0x92, 0x4),
                     0x124a92345678bcdeull);
    /* Limit bits above 19 and flag bits above 3 are dropped, not spilled. */
    assert_int_equal(pvcore_x86_seg_desc(0x12345678u, 0xFFFABCDEu, 0x92, 0xF4),
                     0x124a92345678bcdeull);
    /* Every field alone, so that none leaks into a neighbour. */
    assert_int_equal(pvcore_x86_seg_desc(0, 0, 0, 0), 0);
    assert_int_equal(pvcore_x86_seg_desc(0xFF000000u, 0, 0, 0), 0xFF00000000000000ull);
    assert_int_equal(pvcore_x86_seg_desc(0x00FFFFFFu, 0, 0, 0), 0x000000FFFFFF0000ull);
    assert_int_equal(pvcore_x86_seg_desc(0, 0xF0000u, 0, 0), 0x000F000000000000ull);
    assert_int_equal(pvcore_x86_seg_desc(0, 0x0FFFFu, 0, 0), 0x000000000000FFFFull);
    assert_int_equal(pvcore_x86_seg_desc(0, 0, 0xFF, 0), 0x0000FF0000000000ull);
    assert_int_equal(pvcore_x86_seg_desc(0, 0, 0, 0xF), 0x00F0000000000000ull);
    assert_int_equal(PVCORE_X86_DESC_DPL(3), 0x60);
}

static void test_tss64(void **state)
{
    (void)state;
    uint64_t d[2] = {0, 0};

    assert_int_equal(sizeof(struct pvcore_x86_tss64), 104);
    assert_int_equal(offsetof(struct pvcore_x86_tss64, rsp), 4);
    assert_int_equal(offsetof(struct pvcore_x86_tss64, ist), 36);
    assert_int_equal(offsetof(struct pvcore_x86_tss64, iomap_base), 102);

    /*
     * base 0xffff830012345678, limit 0x67: low quadword holds limit 0067, base 23:0
     * 345678, access 89 (present, DPL 0, available 64-bit TSS), limit 19:16 and flags 0,
     * base 31:24 12; the high quadword holds base 63:32.
     */
    pvcore_x86_tss64_desc(d, 0xFFFF830012345678ull, 0x67);
    assert_int_equal(d[0], 0x1200893456780067ull);
    assert_int_equal(d[1], 0x00000000FFFF8300ull);

    /* A limit above 16 bits splits across both limit fields; bits above 19 are dropped. */
    pvcore_x86_tss64_desc(d, 0xDEADBEEFull, 0xFFF12345u);
    assert_int_equal(d[0], 0xDE0189ADBEEF2345ull);
    assert_int_equal(d[1], 0);

    /* An LDT: system type 2, present, DPL 0. */
    pvcore_x86_ldt64_desc(d, 0xFFFF828000010000ull, 0xFFF);
    assert_int_equal(d[0], 0x0000820100000fffull);
    assert_int_equal(d[1], 0x00000000FFFF8280ull);
}

static void test_gate64(void **state)
{
    (void)state;
    struct pvcore_x86_gate64 g;

    assert_int_equal(sizeof g, 16);
    /*
     * handler 0xffff82d08012abcd, selector 0xe008, IST 2, interrupt gate, DPL 0: offset
     * 15:0 abcd, selector e008, IST 02, access 8e, offset 31:16 8012; offset 63:32 above.
     */
    g = pvcore_x86_gate64(0xFFFF82D08012ABCDull, 0xE008, 2, 0, 0);
    assert_int_equal(g.lo, 0x80128E02E008ABCDull);
    assert_int_equal(g.hi, 0x00000000FFFF82D0ull);
    /* Trap gate reachable from ring 3 (int3, into): access ef, no IST. */
    g = pvcore_x86_gate64(0xFFFF82D08012ABCDull, 0xE008, 0, 3, 1);
    assert_int_equal(g.lo, 0x8012EF00E008ABCDull);
    assert_int_equal(g.hi, 0x00000000FFFF82D0ull);
    /* IST and DPL are masked to their widths; any non-zero trap means a trap gate. */
    g = pvcore_x86_gate64(0xFFFF82D08012ABCDull, 0xE008, 9, 7, -1);
    assert_int_equal(g.lo, 0x8012EF01E008ABCDull);
    /* Each offset field alone. */
    g = pvcore_x86_gate64(0xFFFFull, 0, 0, 0, 0);
    assert_int_equal(g.lo, 0x00008E000000FFFFull);
    assert_int_equal(g.hi, 0);
    g = pvcore_x86_gate64(0xFFFF0000ull, 0, 0, 0, 0);
    assert_int_equal(g.lo, 0xFFFF8E0000000000ull);
    assert_int_equal(g.hi, 0);
    g = pvcore_x86_gate64(0xFFFFFFFF00000000ull, 0, 0, 0, 0);
    assert_int_equal(g.lo, 0x00008E0000000000ull);
    assert_int_equal(g.hi, 0x00000000FFFFFFFFull);
}

static void test_gate32(void **state)
{
    (void)state;
    /* handler 0xc0101234, selector 8, interrupt gate DPL 0: 1234, 0008, 00, 8e, c010. */
    assert_int_equal(pvcore_x86_gate32(0xC0101234u, 0x0008, 0, 0), 0xC0108E0000081234ull);
    assert_int_equal(pvcore_x86_gate32(0xC0101234u, 0x0061, 3, 1), 0xC010EF0000611234ull);
    assert_int_equal(pvcore_x86_gate32(0, 0, 4, 0), 0x00008E0000000000ull);
}

static void test_pte(void **state)
{
    (void)state;
    const uint64_t prw = PVCORE_X86_PTE_P | PVCORE_X86_PTE_RW;

    assert_int_equal(pvcore_x86_pte(0x0000123456789000ull, prw), 0x0000123456789003ull);
    /* Address bits 63:52 and 11:0 are dropped... */
    assert_int_equal(pvcore_x86_pte(0xFFF0123456789ABCull, prw), 0x0000123456789003ull);
    /* ...and so are flag bits inside 51:12; NX (63) and software bits 62:52 are kept. */
    assert_int_equal(pvcore_x86_pte(0x1000, PVCORE_X86_PTE_NX | PVCORE_X86_PTE_P | 0x100000),
                     0x8000000000001001ull);
    assert_int_equal(pvcore_x86_pte(0, 0x7FF0000000000E00ull), 0x7FF0000000000E00ull);
    assert_int_equal(pvcore_x86_pte(UINT64_MAX, 0), PVCORE_X86_PTE_ADDR_MASK);
    assert_int_equal(pvcore_x86_pte(0, UINT64_MAX), ~PVCORE_X86_PTE_ADDR_MASK);

    assert_int_equal(pvcore_x86_pte_addr(0x8000012345678FE7ull), 0x0000012345678000ull);
    assert_int_equal(pvcore_x86_pte_flags(0x8000012345678FE7ull), 0x8000000000000FE7ull);
    assert_int_equal(pvcore_x86_pte_addr(0xFFF0000000000FFFull), 0);
    assert_int_equal(pvcore_x86_pte_flags(0xFFF0000000000FFFull), 0xFFF0000000000FFFull);
    assert_int_equal(pvcore_x86_pte_addr(UINT64_MAX), 0x000FFFFFFFFFF000ull);
    assert_int_equal(pvcore_x86_pte_flags(UINT64_MAX), 0xFFF0000000000FFFull);
    /* Round trip. */
    {
        const uint64_t e = pvcore_x86_pte(0xABCDE000ull, PVCORE_X86_PTE_NX | PVCORE_X86_PTE_G
                                                           | PVCORE_X86_PTE_US | prw);
        assert_int_equal(e, 0x80000000ABCDE107ull);
        assert_int_equal(pvcore_x86_pte(pvcore_x86_pte_addr(e), pvcore_x86_pte_flags(e)), e);
    }
}

static void test_indices_4level(void **state)
{
    (void)state;
    /* The first kernel-half address: L4 slot 256, everything below it zero. */
    assert_int_equal(pvcore_x86_l4_index(0xFFFF800000000000ull), 256);
    assert_int_equal(pvcore_x86_l3_index(0xFFFF800000000000ull), 0);
    assert_int_equal(pvcore_x86_l2_index(0xFFFF800000000000ull), 0);
    assert_int_equal(pvcore_x86_l1_index(0xFFFF800000000000ull), 0);
    /* The last user page: 255 / 511 / 511 / 511. */
    assert_int_equal(pvcore_x86_l4_index(0x00007FFFFFFFF000ull), 255);
    assert_int_equal(pvcore_x86_l3_index(0x00007FFFFFFFF000ull), 511);
    assert_int_equal(pvcore_x86_l2_index(0x00007FFFFFFFF000ull), 511);
    assert_int_equal(pvcore_x86_l1_index(0x00007FFFFFFFF000ull), 511);
    /* All ones, page offset included: sign-extension bits are ignored. */
    assert_int_equal(pvcore_x86_l4_index(UINT64_MAX), 511);
    assert_int_equal(pvcore_x86_l3_index(UINT64_MAX), 511);
    assert_int_equal(pvcore_x86_l2_index(UINT64_MAX), 511);
    assert_int_equal(pvcore_x86_l1_index(UINT64_MAX), 511);
    /* One bit at the bottom of each field. */
    assert_int_equal(pvcore_x86_l4_index(0x0000008000000000ull), 1);
    assert_int_equal(pvcore_x86_l3_index(0x0000000040000000ull), 1);
    assert_int_equal(pvcore_x86_l2_index(0x0000000000200000ull), 1);
    assert_int_equal(pvcore_x86_l1_index(0x0000000000001000ull), 1);
    assert_int_equal(pvcore_x86_l1_index(0x0000000000000FFFull), 0);
    /* 0xffff830000100000: bits 47:39 = 0x106 = 262, bits 20:12 = 0x100 = 256. */
    assert_int_equal(pvcore_x86_l4_index(0xFFFF830000100000ull), 262);
    assert_int_equal(pvcore_x86_l3_index(0xFFFF830000100000ull), 0);
    assert_int_equal(pvcore_x86_l2_index(0xFFFF830000100000ull), 0);
    assert_int_equal(pvcore_x86_l1_index(0xFFFF830000100000ull), 256);
}

static void test_indices_pae(void **state)
{
    (void)state;
    /* 0xf5800000 = 3 << 30 | 428 << 21 (Xen's 32-bit hypervisor hole starts here). */
    assert_int_equal(pvcore_x86_pae_l3_index(0xF5800000u), 3);
    assert_int_equal(pvcore_x86_pae_l2_index(0xF5800000u), 428);
    assert_int_equal(pvcore_x86_pae_l1_index(0xF5800000u), 0);
    /* The page just below it. */
    assert_int_equal(pvcore_x86_pae_l3_index(0xF57FF000u), 3);
    assert_int_equal(pvcore_x86_pae_l2_index(0xF57FF000u), 427);
    assert_int_equal(pvcore_x86_pae_l1_index(0xF57FF000u), 511);
    assert_int_equal(pvcore_x86_pae_l3_index(0xBFFFFFFFu), 2);
    assert_int_equal(pvcore_x86_pae_l3_index(0xC0000000u), 3);
    assert_int_equal(pvcore_x86_pae_l3_index(0xFFFFFFFFu), 3);
    assert_int_equal(pvcore_x86_pae_l2_index(0xFFFFFFFFu), 511);
    assert_int_equal(pvcore_x86_pae_l1_index(0xFFFFFFFFu), 511);
    assert_int_equal(pvcore_x86_pae_l3_index(0), 0);
    assert_int_equal(pvcore_x86_pae_l2_index(0x3FFFFFFFu), 511);
    assert_int_equal(pvcore_x86_pae_l1_index(0x00001000u), 1);
}

#ifdef PVCORE_TEST_X86_ROUTINES
static void test_cpuid(void **state)
{
    (void)state;
    uint32_t r[4] = {0, 0, 0, 0};
    unsigned i;

    /* Leaf 0: the highest basic leaf in EAX, the vendor in EBX, EDX, ECX. */
    pvcore_x86_cpuid(0, 0, r);
    assert_true(r[0] >= 1);
    for (i = 0; i < 12; i++) {
        const uint32_t reg = r[i < 4 ? 1 : i < 8 ? 3 : 2];
        const unsigned c = (reg >> (8 * (i % 4))) & 0xFF;
        assert_true(c >= 0x20 && c < 0x7F);
    }
    /* Every x86-64 CPU has PAE and SSE2 (leaf 1 EDX bits 6, 26) and long mode (leaf
     * 0x80000001 EDX bit 29): they land in out[3] only if the order is right. */
    pvcore_x86_cpuid(1, 0, r);
    assert_int_equal(r[3] & ((1u << 6) | (1u << 26)), (1u << 6) | (1u << 26));
    pvcore_x86_cpuid(0x80000000u, 0, r);
    assert_true(r[0] >= 0x80000001u);
    pvcore_x86_cpuid(0x80000001u, 0, r);
    assert_int_equal(r[3] & (1u << 29), 1u << 29);
}

static void test_read_flags(void **state)
{
    (void)state;
    const uintptr_t f = pvcore_x86_read_flags();
    /* Bit 1 always reads as 1; a user process runs with interrupts on and no VM86. */
    assert_int_equal(f & PVCORE_X86_RFLAGS_FIXED, PVCORE_X86_RFLAGS_FIXED);
    assert_int_equal(f & PVCORE_X86_RFLAGS_IF, PVCORE_X86_RFLAGS_IF);
    assert_int_equal(f & PVCORE_X86_RFLAGS_VM, 0);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constants),
        cmocka_unit_test(test_flat_descriptors),
        cmocka_unit_test(test_seg_desc_fields),
        cmocka_unit_test(test_tss64),
        cmocka_unit_test(test_gate64),
        cmocka_unit_test(test_gate32),
        cmocka_unit_test(test_pte),
        cmocka_unit_test(test_indices_4level),
        cmocka_unit_test(test_indices_pae),
#ifdef PVCORE_TEST_X86_ROUTINES
        cmocka_unit_test(test_cpuid),
        cmocka_unit_test(test_read_flags),
#endif
    };
    return cmocka_run_group_tests_name("x86", tests, NULL, NULL);
}
