/*
 * The machine and domain APIs driven directly (no host backend): configuration errors,
 * RAM and hypervisor frames, domain creation errors, and the hypervisor slot templates
 * written into validated roots.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <pvcore/pvcore.h>

#define NF 64u

static unsigned flushes;

static void flush_tlb(void *ctx, const struct pvcore_flush *f)
{
    (void)ctx;
    (void)f;
    flushes++;
}

static const struct pvcore_host_ops ops = { .flush_tlb = flush_tlb };

struct mach {
    void *mem, *ft, *ram;
    uint64_t m2p[NF];
    uint64_t l4t[16];
    uint64_t l2t[84];
    struct pvcore_machine_config cfg;
    struct pvcore_machine *m;
};

static void mach_cfg(struct mach *x)
{
    unsigned i;
    memset(x, 0, sizeof(*x));
    x->mem = aligned_alloc(64, 4096);
    x->ft = aligned_alloc(64, pvcore_frame_table_size(NF) + 64);
    x->ram = aligned_alloc(4096, NF * 4096);
    memset(x->ram, 0, NF * 4096);
    for (i = 0; i < 16; i++) {
        x->l4t[i] = 0x8000000000000063ull | ((uint64_t)(100 + i) << 12);
    }
    for (i = 0; i < 84; i++) {
        x->l2t[i] = 0x63ull | ((uint64_t)(200 + i) << 12);
    }
    x->cfg.frame_table = x->ft;
    x->cfg.frame_table_bytes = pvcore_frame_table_size(NF);
    x->cfg.nr_frames = NF;
    x->cfg.directmap = x->ram;
    x->cfg.m2p = x->m2p;
    x->cfg.max_domains = 4;
    x->cfg.ops = &ops;
    x->cfg.hyp_l4_slots = x->l4t;
    x->cfg.hyp_pae_l2_slots = x->l2t;
}

static void mach_free(struct mach *x)
{
    free(x->mem);
    free(x->ft);
    free(x->ram);
}

static void test_init_errors(void **state)
{
    struct mach x;
    struct pvcore_machine_config c;
    size_t len = pvcore_machine_size(4);
    (void)state;

    mach_cfg(&x);
    assert_int_equal(pvcore_machine_size(0), 0);
    assert_int_equal(pvcore_machine_size(0x7FF1), 0);
    assert_true(pvcore_machine_size(0x7FF0) > 0);
    assert_int_equal(pvcore_frame_table_size(0), 0);
    assert_int_equal(pvcore_frame_table_size(1ull << 32), 0);
    assert_int_equal(pvcore_machine_init(NULL, len, &x.cfg, &x.m), -PVCORE_EINVAL);
    assert_int_equal(pvcore_machine_init((char *)x.mem + 4, len, &x.cfg, &x.m), -PVCORE_EINVAL);
    assert_int_equal(pvcore_machine_init(x.mem, len - 1, &x.cfg, &x.m), -PVCORE_EINVAL);
    c = x.cfg;
    c.frame_table_bytes--;
    assert_int_equal(pvcore_machine_init(x.mem, len, &c, &x.m), -PVCORE_EINVAL);
    c = x.cfg;
    c.directmap = (char *)x.ram + 8;
    assert_int_equal(pvcore_machine_init(x.mem, len, &c, &x.m), -PVCORE_EINVAL);
    c = x.cfg;
    c.m2p = NULL;
    assert_int_equal(pvcore_machine_init(x.mem, len, &c, &x.m), -PVCORE_EINVAL);
    c = x.cfg;
    c.ops = NULL;
    assert_int_equal(pvcore_machine_init(x.mem, len, &c, &x.m), -PVCORE_EINVAL);
    c = x.cfg;
    c.max_domains = 0;
    assert_int_equal(pvcore_machine_init(x.mem, len, &c, &x.m), -PVCORE_EINVAL);
    {
        static const struct pvcore_host_ops noflush = { .flush_tlb = NULL };
        c = x.cfg;
        c.ops = &noflush;
        assert_int_equal(pvcore_machine_init(x.mem, len, &c, &x.m), -PVCORE_EINVAL);
    }
    assert_int_equal(pvcore_machine_init(x.mem, len, &x.cfg, &x.m), 0);
    assert_int_equal(pvcore_machine_nr_frames(x.m), NF);
    mach_free(&x);
}

static void test_ram_and_xen_frames(void **state)
{
    struct mach x;
    struct pvcore_frame_info fi;
    (void)state;

    mach_cfg(&x);
    assert_int_equal(pvcore_machine_init(x.mem, pvcore_machine_size(4), &x.cfg, &x.m), 0);
    assert_int_equal(pvcore_frame_query(x.m, pvcore_mfn(5), &fi), 0);
    assert_int_equal(fi.flags & PVCORE_FRAME_RAM, 0);
    assert_int_equal(pvcore_frame_add_ram(x.m, pvcore_mfn(0), 0), -PVCORE_EINVAL);
    assert_int_equal(pvcore_frame_add_ram(x.m, pvcore_mfn(NF - 1), 2), -PVCORE_EINVAL);
    assert_int_equal(pvcore_frame_add_ram(x.m, pvcore_mfn(UINT64_MAX), 2), -PVCORE_EINVAL);
    assert_int_equal(pvcore_frame_add_ram(x.m, pvcore_mfn(1), NF - 2), 0);
    assert_int_equal(pvcore_frame_add_ram(x.m, pvcore_mfn(0), 2), -PVCORE_EBUSY);
    assert_int_equal(pvcore_frame_reserve_xen(x.m, pvcore_mfn(0), 1), -PVCORE_EBUSY); /* not RAM */
    assert_int_equal(pvcore_frame_reserve_xen(x.m, pvcore_mfn(1), 2), 0);
    assert_int_equal(pvcore_frame_reserve_xen(x.m, pvcore_mfn(2), 2), -PVCORE_EBUSY);
    assert_int_equal(pvcore_frame_query(x.m, pvcore_mfn(1), &fi), 0);
    assert_int_equal(fi.owner, PVCORE_DOMID_XEN);
    assert_int_equal(fi.count, 1);
    assert_int_equal(pvcore_frame_query(x.m, pvcore_mfn(NF), &fi), -PVCORE_EINVAL);
    mach_free(&x);
}

static void test_domain_errors(void **state)
{
    struct mach x;
    struct pvcore_domain *d, *d2;
    struct pvcore_domain_config cfg = { 1, 1, 0, 4 };
    size_t sz = pvcore_domain_size(1);
    void *m1 = aligned_alloc(64, (sz + 63u) & ~(size_t)63u), *m2 = aligned_alloc(64, (sz + 63u) & ~(size_t)63u);
    (void)state;

    mach_cfg(&x);
    assert_int_equal(pvcore_machine_init(x.mem, pvcore_machine_size(4), &x.cfg, &x.m), 0);
    assert_int_equal(pvcore_frame_add_ram(x.m, pvcore_mfn(0), NF), 0);
    assert_int_equal(pvcore_domain_size(0), 0);
    assert_int_equal(pvcore_domain_size(PVCORE_MAX_VCPUS + 1), 0);
    assert_int_equal(pvcore_domain_create(x.m, m1, sz - 1, &cfg, &d), -PVCORE_EINVAL);
    cfg.domid = 4;
    assert_int_equal(pvcore_domain_create(x.m, m1, sz, &cfg, &d), -PVCORE_EINVAL);
    cfg.domid = 1;
    cfg.flags = 0x80;
    assert_int_equal(pvcore_domain_create(x.m, m1, sz, &cfg, &d), -PVCORE_EINVAL);
    cfg.flags = 0;
    assert_int_equal(pvcore_domain_create(x.m, m1, sz, &cfg, &d), 0);
    assert_int_equal(pvcore_domain_create(x.m, m2, sz, &cfg, &d2), -PVCORE_EEXIST);
    assert_ptr_equal(pvcore_domain_lookup(x.m, 1), d);
    assert_null(pvcore_domain_lookup(x.m, 2));
    assert_null(pvcore_domain_lookup(x.m, 0x7FF0));
    assert_int_equal(pvcore_domain_id(d), 1);
    assert_null(pvcore_domain_vcpu(d, 1));
    assert_ptr_equal(pvcore_vcpu_domain(pvcore_domain_vcpu(d, 0)), d);
    /* The page limit. */
    assert_int_equal(pvcore_domain_assign(d, pvcore_mfn(10), pvcore_gfn(0)), 0);
    assert_int_equal(pvcore_domain_assign(d, pvcore_mfn(11), pvcore_gfn(1)), 0);
    assert_int_equal(pvcore_domain_assign(d, pvcore_mfn(12), pvcore_gfn(2)), 0);
    assert_int_equal(pvcore_domain_assign(d, pvcore_mfn(13), pvcore_gfn(3)), 0);
    assert_int_equal(pvcore_domain_assign(d, pvcore_mfn(14), pvcore_gfn(4)), -PVCORE_ENOMEM);
    assert_int_equal(pvcore_domain_tot_pages(d), 4);
    assert_int_equal(x.m2p[12], 2);
    /* I/O ranges. */
    assert_int_equal(pvcore_domain_iomem_permit(d, pvcore_mfn(5), pvcore_mfn(4), 1), -PVCORE_EINVAL);
    assert_int_equal(pvcore_domain_iomem_permit(d, pvcore_mfn(100), pvcore_mfn(200), 0), -PVCORE_ENOENT);
    {
        unsigned i;
        for (i = 0; i < PVCORE_MAX_IOMEM_RANGES; i++) {
            assert_int_equal(pvcore_domain_iomem_permit(d, pvcore_mfn(100 + i), pvcore_mfn(100 + i), 1), 0);
        }
        assert_int_equal(pvcore_domain_iomem_permit(d, pvcore_mfn(300), pvcore_mfn(300), 1), -PVCORE_ENOSPC);
        assert_int_equal(pvcore_domain_iomem_permit(d, pvcore_mfn(103), pvcore_mfn(103), 0), 0);
        assert_int_equal(pvcore_domain_iomem_permit(d, pvcore_mfn(300), pvcore_mfn(300), 1), 0);
    }
    assert_int_equal(pvcore_domain_vm_assist(d, 7, PVCORE_VMASST_TYPE_m2p_strict), -PVCORE_EINVAL);
    assert_int_equal(pvcore_domain_vm_assist(d, PVCORE_VMASST_CMD_enable, PVCORE_VMASST_TYPE_m2p_strict), 0);
    assert_int_equal(pvcore_domain_vm_assist(d, PVCORE_VMASST_CMD_disable, PVCORE_VMASST_TYPE_m2p_strict), 0);
    assert_int_equal(pvcore_domain_destroy(d), 0);
    assert_int_equal(pvcore_domain_destroy(d), 0); /* idempotent */
    assert_null(pvcore_domain_lookup(x.m, 1));
    assert_int_equal(pvcore_domain_assign(d, pvcore_mfn(15), pvcore_gfn(0)), -PVCORE_ESRCH);
    free(m1);
    free(m2);
    mach_free(&x);
}

static void test_hypervisor_slot_templates(void **state)
{
    struct mach x;
    struct pvcore_domain *d64, *d32;
    struct pvcore_domain_config c64 = { 1, 1, 0, 32 }, c32 = { 2, 1, PVCORE_DOMAIN_GUEST_32, 32 };
    size_t sz = pvcore_domain_size(1);
    void *m1 = aligned_alloc(64, (sz + 63u) & ~(size_t)63u), *m2 = aligned_alloc(64, (sz + 63u) & ~(size_t)63u);
    uint64_t *ram;
    struct pvcore_mmuext_req op = { PVCORE_MMUEXT_PIN_L4_TABLE, 0, 10, 0 };
    void *scratch;
    struct pvcore_check_report r;
    unsigned i;
    (void)state;

    mach_cfg(&x);
    ram = x.ram;
    assert_int_equal(pvcore_machine_init(x.mem, pvcore_machine_size(4), &x.cfg, &x.m), 0);
    assert_int_equal(pvcore_frame_add_ram(x.m, pvcore_mfn(0), NF), 0);
    assert_int_equal(pvcore_domain_create(x.m, m1, sz, &c64, &d64), 0);
    assert_int_equal(pvcore_domain_create(x.m, m2, sz, &c32, &d32), 0);
    assert_int_equal(pvcore_domain_assign(d64, pvcore_mfn(10), pvcore_gfn(0)), 0);
    ram[10 * 512 + 260] = 0x1234567ull; /* a guest value in a hypervisor slot */
    assert_int_equal(pvcore_mmuext_op(pvcore_domain_vcpu(d64, 0), &op, 1, NULL, PVCORE_DOMID_SELF), 0);
    for (i = 0; i < 16; i++) {
        assert_int_equal(ram[10 * 512 + 256 + i], x.l4t[i]);
    }
    /* 32-bit: L3 at 20, plain L2 at 21, slot-3 L2 at 22. */
    assert_int_equal(pvcore_domain_assign(d32, pvcore_mfn(20), pvcore_gfn(0)), 0);
    assert_int_equal(pvcore_domain_assign(d32, pvcore_mfn(21), pvcore_gfn(1)), 0);
    assert_int_equal(pvcore_domain_assign(d32, pvcore_mfn(22), pvcore_gfn(2)), 0);
    ram[20 * 512 + 0] = (21ull << 12) | 1;
    ram[20 * 512 + 3] = (22ull << 12) | 1;
    ram[21 * 512 + 500] = 0x776ull; /* not present: plain L2, any value kept */
    op.cmd = PVCORE_MMUEXT_PIN_L3_TABLE;
    op.arg1 = 20;
    assert_int_equal(pvcore_mmuext_op(pvcore_domain_vcpu(d32, 0), &op, 1, NULL, PVCORE_DOMID_SELF), 0);
    for (i = 0; i < 84; i++) {
        assert_int_equal(ram[22 * 512 + 428 + i], x.l2t[i]);
    }
    assert_int_equal(ram[21 * 512 + 500], 0x776ull);
    scratch = malloc(pvcore_check_scratch_size(x.m));
    assert_int_equal(pvcore_check_scratch_size(x.m), NF * 12);
    assert_int_equal(pvcore_check_invariants(x.m, scratch, 3, &r), -PVCORE_EINVAL);
    assert_int_equal(pvcore_check_invariants(x.m, scratch, pvcore_check_scratch_size(x.m), &r), 0);
    /* The checker notices a hypervisor slot that changed behind the library's back. */
    ram[10 * 512 + 257] = 0;
    assert_int_equal(pvcore_check_invariants(x.m, scratch, pvcore_check_scratch_size(x.m), &r), -PVCORE_EINVAL);
    assert_int_equal(r.code, PVCORE_CHECK_XEN_SLOT);
    assert_string_equal(pvcore_check_code_name(r.code), "hypervisor-slot");
    assert_string_equal(pvcore_check_code_name(999), "unknown");
    free(scratch);
    free(m1);
    free(m2);
    mach_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_ram_and_xen_frames),
        cmocka_unit_test(test_domain_errors),
        cmocka_unit_test(test_hypervisor_slot_templates),
    };
    return cmocka_run_group_tests_name("machine", tests, NULL, NULL);
}
