/*
 * Descriptor tables: the descriptor check's rules for 64-bit and 32-bit guests, the
 * descriptor-page type (validation with fix-ups, exclusion of writable mappings in both
 * directions), set_gdt, update_descriptor, the lazily mapped LDT and its release, domain
 * destruction, the two hypercalls' decoding, and the invariant checker's view of
 * descriptor pages. Each failing call is checked for its exact error and for leaving
 * every frame as it was; the invariant checker runs after every step that changes state.
 */
#include "pvtest.h"

#include <pvcore/desc.h>
#include <pvcore/hypercall.h>

#include "internal/domain.h"

#define VA 0x400000ull /* the data pages of build_as64/build_as32 */
#define NDATA 8u

/* ---- descriptors ------------------------------------------------------------------------- */

/* A flat 4 GiB code segment (execute/read, 32-bit, G) of the given DPL. */
static uint64_t code_desc(unsigned dpl)
{
    return 0x00CF9A000000FFFFull | (uint64_t)dpl << 45;
}

/* A data segment with base, 20-bit limit and G as given, DPL 3. */
static uint64_t data_desc(uint32_t base, uint32_t limit, int g)
{
    uint64_t a = (uint64_t)(base & 0xFFFFu) << 16 | (limit & 0xFFFFu);
    uint64_t b = (base >> 16 & 0xFFu) | 0x00409200u | (uint64_t)(limit & 0xF0000u) |
                 (base & 0xFF000000u) | (g ? 0x00800000u : 0u) | 3u << 13;
    return b << 32 | a;
}

/* A system descriptor of `type`, present, with the given DPL and low word. */
static uint64_t sys_desc(unsigned type, unsigned dpl, uint32_t a)
{
    return (uint64_t)(0x12340000u | 0x8000u | dpl << 13 | type << 8) << 32 | a;
}

/* A call gate to `sel`, DPL `dpl`, with `low` in the parameter-count byte. */
static uint64_t gate_desc(uint16_t sel, unsigned dpl, unsigned low)
{
    return sys_desc(0xC, dpl, (uint32_t)sel << 16 | 0x5678u) | (uint64_t)low << 32;
}

static uint64_t checked(int is32, uint64_t d)
{
    assert_int_equal(pvcore_desc_check(is32, &d), 0);
    return d;
}

static void refused(int is32, uint64_t d)
{
    uint64_t before = d;
    assert_int_equal(pvcore_desc_check(is32, &d), -PVCORE_EINVAL);
    assert_int_equal(d, before);
}

static void test_check_present_and_dpl(void **state)
{
    int is32;
    (void)state;

    for (is32 = 0; is32 <= 1; is32++) {
        unsigned rpl = is32 ? 1u : 3u;
        unsigned dpl;
        /* Not present: anything at all, unchanged (a load faults). */
        assert_int_equal(checked(is32, 0), 0);
        assert_int_equal(checked(is32, 0xFFFF7FFFFFFFFFFFull), 0xFFFF7FFFFFFFFFFFull);
        assert_int_equal(checked(is32, sys_desc(0xE, 0, 0) & ~(1ull << 47)),
                         sys_desc(0xE, 0, 0) & ~(1ull << 47));
        /* A DPL below the kernel's ring is raised to it; others stay. */
        for (dpl = 0; dpl < 4; dpl++) {
            unsigned want = dpl < rpl ? rpl : dpl;
            assert_int_equal(checked(is32, code_desc(dpl)), code_desc(want));
        }
        /* Type 0 (a 64-bit gate's top half): accepted as it is, DPL 0 included. */
        assert_int_equal(checked(is32, sys_desc(0, 0, 0xFFFF)), sys_desc(0, 0, 0xFFFF));
        /* No other system descriptor but a call gate. */
        {
            static const unsigned bad[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xA, 0xB, 0xD, 0xE, 0xF };
            unsigned i;
            for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                refused(is32, sys_desc(bad[i], 3, 0x00080000u));
            }
        }
    }
    /* 64-bit code: refused for a 32-bit guest only. */
    refused(1, code_desc(1) | 1ull << 53);
    assert_int_equal(checked(0, code_desc(3) | 1ull << 53), code_desc(3) | 1ull << 53);
}

static void test_check_compat_limit(void **state)
{
    (void)state;
    /* base 0, limit (0xF5800 + 1) pages > 0xF5800000: widened to 4 GiB (32-bit only). */
    assert_int_equal(checked(1, data_desc(0, 0xF5800, 1)), data_desc(0, 0xFFFFF, 1));
    assert_int_equal(checked(0, data_desc(0, 0xF5800, 1)), data_desc(0, 0xF5800, 1));
    /* Exactly up to the hypervisor's start: unchanged. */
    assert_int_equal(checked(1, data_desc(0, 0xF57FF, 1)), data_desc(0, 0xF57FF, 1));
    /* Not flat: unchanged whatever the limit. */
    assert_int_equal(checked(1, data_desc(0x1000, 0xFFFFE, 1)), data_desc(0x1000, 0xFFFFE, 1));
    /* Byte granular: at most 1 MiB, never beyond. */
    assert_int_equal(checked(1, data_desc(0, 0xFFFFF, 0)), data_desc(0, 0xFFFFF, 0));
    /* Already flat 4 GiB: unchanged. */
    assert_int_equal(checked(1, data_desc(0, 0xFFFFF, 1)), data_desc(0, 0xFFFFF, 1));
}

static void test_check_gates(void **state)
{
    int is32;
    (void)state;

    for (is32 = 0; is32 <= 1; is32++) {
        unsigned rpl = is32 ? 1u : 3u;
        uint16_t flat = is32 ? PVCORE_FLAT_KERNEL_CS_X86_32 : PVCORE_FLAT_KERNEL_CS_X86_64;
        uint16_t other_flat = is32 ? PVCORE_FLAT_KERNEL_CS_X86_64 : PVCORE_FLAT_KERNEL_CS_X86_32;
        unsigned dpl;

        /* DPL forced to 0, the (raised) DPL stashed in the selector's RPL. */
        for (dpl = 0; dpl < 4; dpl++) {
            unsigned want = dpl < rpl ? rpl : dpl;
            assert_int_equal(checked(is32, gate_desc(0x0010, dpl, 0)),
                             gate_desc((uint16_t)(0x0010 | want), 0, 0));
        }
        /* Allowed targets: the guest's GDT below the reserved entries, the LDT, the
         * hypervisor's flat kernel code selector (exactly). */
        assert_int_equal(checked(is32, gate_desc((7167u << 3) | 3u, 3, 0)),
                         gate_desc((7167u << 3) | 3u, 0, 0));
        assert_int_equal(checked(is32, gate_desc(0xFFFF, 3, 0)), gate_desc(0xFFFF, 0, 0));
        assert_int_equal(checked(is32, gate_desc(flat, 3, 0)), gate_desc(flat | 3u, 0, 0));
        refused(is32, gate_desc(7168u << 3, 3, 0));
        refused(is32, gate_desc((uint16_t)(flat ^ 1u), 3, 0));
        refused(is32, gate_desc(other_flat, 3, 0));
        refused(is32, gate_desc(0xE008, 3, 0)); /* the hypervisor's own code */
        /* Reserved bits. */
        refused(is32, gate_desc(0x10, 3, 0x20));
        refused(is32, gate_desc(0x10, 3, 0x80));
        if (is32) {
            /* A 32-bit gate's parameter count (bits 0-4) is the guest's business. */
            assert_int_equal(checked(1, gate_desc(0x10, 1, 0x1F)), gate_desc(0x11, 0, 0x1F));
        } else {
            refused(0, gate_desc(0x10, 3, 0x01));
        }
    }
    /* Checking the result again is accepted; for a 32-bit gate with DPL 3 the stored DPL
     * 0 is what is raised then (Xen loses the original DPL the same way). */
    assert_int_equal(checked(0, checked(0, gate_desc(0x10, 1, 0))), gate_desc(0x13, 0, 0));
    assert_int_equal(checked(1, checked(1, gate_desc(0x10, 3, 0))), gate_desc(0x11, 0, 0));
}

/* ---- machine state ------------------------------------------------------------------------- */

/* A guest running on its own tables: NDATA data frames mapped read-write at VA. */
struct guest {
    struct pvtest *t;
    int d;
    int is32;
    uint64_t root, l1;
    uint64_t data[NDATA];
};

static void guest_init(struct guest *g, struct pvtest *t, int d)
{
    unsigned i;

    memset(g, 0, sizeof(*g));
    g->t = t;
    g->d = d;
    g->is32 = d == 2;
    if (g->is32) {
        struct as32 as;
        build_as32(t, d, &as, NDATA);
        g->root = as.l3;
        g->l1 = as.l1;
        for (i = 0; i < NDATA; i++) {
            g->data[i] = as.data[i];
        }
    } else {
        struct as64 as;
        build_as64(t, d, &as, NDATA);
        g->root = as.l4;
        g->l1 = as.l1;
        for (i = 0; i < NDATA; i++) {
            g->data[i] = as.data[i];
        }
    }
    assert_int_equal(ext(t, d, PVCORE_MMUEXT_NEW_BASEPTR, g->root, 0, PVCORE_DOMID_SELF), 0);
    check_invariants(t);
}

/* Remaps data page i read-only (as a guest does before using it as a GDT or LDT). */
static void guest_make_ro(struct guest *g, unsigned i)
{
    assert_int_equal(set_entry(g->t, g->d, g->l1, i, pte(g->data[i], PT_P | PT_US)), 0);
}

/* A fresh frame of the guest's, not mapped, holding `n` descriptors from `descs`. */
static uint64_t desc_frame(struct guest *g, const uint64_t *descs, unsigned n)
{
    uint64_t mfn = alloc_frame(g->t, g->d);
    memcpy(frame_ptr(g->t, mfn), descs, n * sizeof(uint64_t));
    return mfn;
}

static void assert_desc_page(struct pvtest *t, uint64_t mfn, uint32_t holders)
{
    struct pvcore_frame_info fi = finfo(t, mfn);

    if (holders == 0) {
        assert_int_equal(fi.type, PVCORE_PGT_NONE);
        assert_int_equal(fi.type_count, 0);
        assert_int_equal(fi.flags & PVCORE_FRAME_VALIDATED, 0);
    } else {
        assert_int_equal(fi.type, PVCORE_PGT_SEG_DESC);
        assert_int_equal(fi.type_count, holders);
        assert_int_equal(fi.flags & ~(uint32_t)(PVCORE_FRAME_RAM | PVCORE_FRAME_ALLOCATED),
                         PVCORE_FRAME_VALIDATED);
    }
}

static int set_gdt(struct guest *g, uint32_t vcpu_id, const uint64_t *mfns, uint32_t entries)
{
    pvcore_mfn_t f[PVCORE_DESC_GDT_FRAMES];
    uint32_t i;

    for (i = 0; i < (entries + 511u) / 512u && i < PVCORE_DESC_GDT_FRAMES; i++) {
        f[i] = pvcore_mfn(mfns[i]);
    }
    return pvcore_desc_set_gdt(vcpu(g->t, g->d, vcpu_id), f, entries);
}

static void assert_gdt(struct guest *g, uint32_t vcpu_id, const uint64_t *mfns, uint32_t entries)
{
    pvcore_mfn_t got[PVCORE_DESC_GDT_FRAMES];
    uint32_t ents = 0xDEAD, i;

    pvcore_vcpu_gdt(vcpu(g->t, g->d, vcpu_id), got, &ents);
    assert_int_equal(ents, entries);
    for (i = 0; i < PVCORE_DESC_GDT_FRAMES; i++) {
        assert_int_equal(got[i].v, i < (entries + 511u) / 512u ? mfns[i] : PVCORE_INVALID_MFN_VALUE);
    }
}

/* The gdt_changed hook, installed over the host backend's hooks. */
static unsigned gdt_changed_calls;
static struct pvcore_vcpu *gdt_changed_vcpu;
static int gdt_changed_locked;
static struct pvcore_host_ops hooked_ops;

static void on_gdt_changed(void *ctx, struct pvcore_vcpu *v)
{
    struct domain *d = vcpu_domain(v);
    (void)ctx;
    gdt_changed_calls++;
    gdt_changed_vcpu = v;
    gdt_changed_locked |= spin_is_locked(&d->mmu_lock);
}

static void hook_gdt_changed(struct pvtest *t)
{
    struct machine *m = (struct machine *)(void *)t->m;

    hooked_ops = *m->ops;
    hooked_ops.gdt_changed = on_gdt_changed;
    m->ops = &hooked_ops;
    gdt_changed_calls = 0;
    gdt_changed_vcpu = NULL;
    gdt_changed_locked = 0;
}

static void test_set_gdt(void **state)
{
    int d;
    (void)state;

    for (d = 1; d <= 2; d++) {
        struct pvtest *t = pvtest_new();
        struct guest g;
        uint64_t descs[4], a, b, c;
        unsigned rpl = d == 2 ? 1u : 3u;

        guest_init(&g, t, d);
        hook_gdt_changed(t);
        descs[0] = 0;
        descs[1] = code_desc(0);
        descs[2] = gate_desc(0x08, 0, 0);
        descs[3] = sys_desc(0, 0, 0);
        a = desc_frame(&g, descs, 4);
        b = desc_frame(&g, descs, 2);
        c = desc_frame(&g, descs, 2);
        assert_gdt(&g, 0, NULL, 0);

        /* Two frames: both validated and fixed up, held once each. */
        {
            uint64_t f[2] = { a, b };
            assert_int_equal(set_gdt(&g, 0, f, 513), 0);
            assert_gdt(&g, 0, f, 513);
        }
        assert_int_equal(gdt_changed_calls, 1);
        assert_ptr_equal(gdt_changed_vcpu, vcpu(t, d, 0));
        assert_int_equal(gdt_changed_locked, 0);
        assert_desc_page(t, a, 1);
        assert_desc_page(t, b, 1);
        assert_int_equal(finfo(t, a).count, 2);
        assert_int_equal(frame_ptr(t, a)[0], 0);
        assert_int_equal(frame_ptr(t, a)[1], code_desc(rpl));
        assert_int_equal(frame_ptr(t, a)[2], gate_desc((uint16_t)(0x08 | rpl), 0, 0));
        assert_int_equal(frame_ptr(t, a)[3], sys_desc(0, 0, 0));
        check_invariants(t);

        /* Replaced by a list that keeps b, repeats it and adds c: b is held twice, a
         * released (no type: the free-of-type state is canonical, nothing to tear down). */
        {
            uint64_t f[3] = { b, c, b };
            assert_int_equal(set_gdt(&g, 0, f, 3 * 512), 0);
            assert_gdt(&g, 0, f, 3 * 512);
        }
        assert_desc_page(t, a, 0);
        assert_desc_page(t, b, 2);
        assert_desc_page(t, c, 1);
        assert_int_equal(finfo(t, a).count, 1);
        assert_int_equal(finfo(t, b).count, 3);
        check_invariants(t);

        /* Another vCPU shares a frame. */
        {
            uint64_t f[1] = { c };
            assert_int_equal(set_gdt(&g, 1, f, 1), 0);
            assert_gdt(&g, 1, f, 1);
        }
        assert_desc_page(t, c, 2);
        check_invariants(t);

        /* Empty: everything of vCPU 0 released. */
        assert_int_equal(pvcore_desc_set_gdt(vcpu(t, d, 0), NULL, 0), 0);
        assert_gdt(&g, 0, NULL, 0);
        assert_desc_page(t, b, 0);
        assert_desc_page(t, c, 1);
        assert_int_equal(gdt_changed_calls, 4);
        check_invariants(t);
        pvtest_free(t);
    }
}

static void test_set_gdt_refused(void **state)
{
    int d;
    (void)state;

    for (d = 1; d <= 2; d++) {
        struct pvtest *t = pvtest_new();
        struct guest g;
        struct pvcore_frame_info *before;
        uint64_t good[2] = { code_desc(0), data_desc(0, 0xFFFFF, 1) };
        uint64_t bad[3] = { code_desc(3), 0, sys_desc(0x9, 3, 0) }; /* a TSS */
        uint64_t a, b, x, old, foreign, f[3];
        uint64_t saved[512];
        const uint64_t frames_14[14] = { 0 };

        guest_init(&g, t, d);
        hook_gdt_changed(t);
        old = desc_frame(&g, good, 2);
        assert_int_equal(set_gdt(&g, 0, &old, 10), 0);
        a = desc_frame(&g, good, 2);
        b = desc_frame(&g, good, 2);
        x = desc_frame(&g, bad, 3);
        foreign = alloc_frame(t, d == 1 ? 2 : 1);
        gdt_changed_calls = 0;
        before = snapshot(t);
        memcpy(saved, frame_ptr(t, x), sizeof(saved));

        /* A bad descriptor in the last frame: the first frames' references are released,
         * the old GDT stays, the refused frame is left as the guest wrote it. */
        f[0] = a;
        f[1] = b;
        f[2] = x;
        assert_int_equal(set_gdt(&g, 0, f, 1025), -PVCORE_EINVAL);
        assert_same_state(t, before);
        assert_memory_equal(frame_ptr(t, x), saved, sizeof(saved));
        assert_gdt(&g, 0, &old, 10);
        /* Too many entries, another domain's frame, a free frame, no such frame. */
        assert_int_equal(set_gdt(&g, 0, frames_14, PVCORE_FIRST_RESERVED_GDT_ENTRY + 1),
                         -PVCORE_EINVAL);
        assert_int_equal(set_gdt(&g, 0, &foreign, 1), -PVCORE_EINVAL);
        f[0] = 3; /* below the allocator's first frame: never assigned */
        assert_int_equal(set_gdt(&g, 0, f, 1), -PVCORE_EINVAL);
        f[0] = TEST_FRAMES + 5;
        assert_int_equal(set_gdt(&g, 0, f, 1), -PVCORE_EINVAL);
        f[0] = UINT64_MAX;
        assert_int_equal(set_gdt(&g, 0, f, 1), -PVCORE_EINVAL);
        /* Mapped read-write by the guest (data page 0), or a page table. */
        assert_int_equal(set_gdt(&g, 0, &g.data[0], 1), -PVCORE_EINVAL);
        assert_int_equal(set_gdt(&g, 0, &g.l1, 1), -PVCORE_EINVAL);
        assert_int_equal(set_gdt(&g, 0, &g.root, 1), -PVCORE_EINVAL);
        assert_same_state(t, before);
        assert_gdt(&g, 0, &old, 10);
        assert_int_equal(gdt_changed_calls, 0);
        check_invariants(t);
        free(before);

        /* The full size is allowed: 14 frames, 7168 entries. */
        {
            uint64_t many[14];
            unsigned i;
            for (i = 0; i < 14; i++) {
                many[i] = desc_frame(&g, good, 2);
            }
            assert_int_equal(set_gdt(&g, 0, many, PVCORE_FIRST_RESERVED_GDT_ENTRY), 0);
            assert_gdt(&g, 0, many, PVCORE_FIRST_RESERVED_GDT_ENTRY);
            assert_desc_page(t, old, 0);
            check_invariants(t);
        }
        pvtest_free(t);
    }
}

/* The type system keeps descriptor pages and writable mappings apart, both ways. */
static void test_desc_page_not_writable(void **state)
{
    int d;
    (void)state;

    for (d = 1; d <= 2; d++) {
        struct pvtest *t = pvtest_new();
        struct guest g;
        struct pvcore_frame_info *before;
        uint64_t good[1] = { code_desc(3) };
        uint64_t gdt;

        guest_init(&g, t, d);
        /* Data page 1 made read-only, then used as the GDT. */
        guest_make_ro(&g, 1);
        assert_int_equal(set_gdt(&g, 0, &g.data[1], 512), 0);
        assert_desc_page(t, g.data[1], 1);
        check_invariants(t);
        before = snapshot(t);
        /* A writable mapping of it is refused, by mmu_update and update_va_mapping (with
         * the MMU's error for a frame that cannot take the writable type). */
        assert_int_equal(set_entry(t, d, g.l1, 1, pte(g.data[1], PT_P | PT_RW | PT_US)),
                         -PVCORE_EBUSY);
        assert_int_equal(set_entry(t, d, g.l1, 5, pte(g.data[1], PT_P | PT_RW | PT_US)),
                         -PVCORE_EBUSY);
        assert_int_equal(pvcore_update_va_mapping(vcpu(t, d, 0), VA + 5 * 4096u,
                                                  pte(g.data[1], PT_P | PT_RW | PT_US), 0,
                                                  PVCORE_DOMID_SELF),
                         -PVCORE_EBUSY);
        /* ... and a plain mmu_update write into it, as if it were ordinary memory. */
        assert_int_equal(mmu1(t, d, (g.data[1] << 12) | 8, code_desc(0), PVCORE_DOMID_SELF),
                         -PVCORE_EINVAL);
        /* MMUEXT_CLEAR_PAGE needs the writable type too. */
        assert_int_equal(ext(t, d, PVCORE_MMUEXT_CLEAR_PAGE, g.data[1], 0, PVCORE_DOMID_SELF),
                         -PVCORE_EINVAL);
        /* Nor can it become a page table while it holds descriptors. */
        assert_int_equal(pin(t, d, 1, g.data[1]), -PVCORE_EINVAL);
        assert_same_state(t, before);
        assert_int_equal(frame_ptr(t, g.data[1])[1], 0);
        free(before);
        /* A second read-only mapping is fine. */
        assert_int_equal(set_entry(t, d, g.l1, 5, pte(g.data[1], PT_P | PT_US)), 0);
        check_invariants(t);

        /* The other way: a frame mapped writable (data page 2) cannot take the type. */
        gdt = g.data[2];
        memcpy(frame_ptr(t, gdt), good, sizeof(good));
        before = snapshot(t);
        assert_int_equal(set_gdt(&g, 1, &gdt, 1), -PVCORE_EINVAL);
        assert_same_state(t, before);
        free(before);
        /* Once its last writable mapping is gone it can. */
        guest_make_ro(&g, 2);
        assert_int_equal(set_gdt(&g, 1, &gdt, 1), 0);
        assert_desc_page(t, gdt, 1);
        check_invariants(t);
        /* Released, it can be mapped writable again. */
        assert_int_equal(pvcore_desc_set_gdt(vcpu(t, d, 1), NULL, 0), 0);
        assert_int_equal(set_entry(t, d, g.l1, 2, pte(gdt, PT_P | PT_RW | PT_US)), 0);
        assert_int_equal(finfo(t, gdt).type, PVCORE_PGT_WRITABLE);
        check_invariants(t);
        pvtest_free(t);
    }
}

static void test_update_descriptor(void **state)
{
    int d;
    (void)state;

    for (d = 1; d <= 2; d++) {
        struct pvtest *t = pvtest_new();
        struct guest g;
        struct pvcore_frame_info *before;
        struct pvcore_vcpu *v;
        unsigned rpl = d == 2 ? 1u : 3u;
        uint64_t gdt, plain, foreign;

        guest_init(&g, t, d);
        v = vcpu(t, d, 0);
        gdt = alloc_frame(t, d);
        plain = alloc_frame(t, d);
        foreign = alloc_frame(t, d == 1 ? 2 : 1);
        assert_int_equal(set_gdt(&g, 0, &gdt, 512), 0);

        /* Into a GDT frame in use: checked, fixed up, written whole. */
        assert_int_equal(pvcore_desc_update(v, pvcore_maddr(gdt << 12 | 8 * 5), code_desc(0)), 0);
        assert_int_equal(frame_ptr(t, gdt)[5], code_desc(rpl));
        assert_desc_page(t, gdt, 1);
        assert_int_equal(pvcore_desc_update(v, pvcore_maddr(gdt << 12 | 4088),
                                            gate_desc(0x10, 3, 0)),
                         0);
        assert_int_equal(frame_ptr(t, gdt)[511], gate_desc(0x13, 0, 0));
        check_invariants(t);

        /* Into ordinary memory, mapped writable or not: the writable type comes and goes. */
        assert_int_equal(pvcore_desc_update(v, pvcore_maddr(plain << 12), code_desc(2)), 0);
        assert_int_equal(frame_ptr(t, plain)[0], code_desc(rpl > 2 ? rpl : 2));
        assert_int_equal(finfo(t, plain).type, PVCORE_PGT_NONE);
        assert_int_equal(pvcore_desc_update(v, pvcore_maddr(g.data[3] << 12 | 16), code_desc(3)),
                         0);
        assert_int_equal(frame_ptr(t, g.data[3])[2], code_desc(3));
        assert_int_equal(finfo(t, g.data[3]).type_count, 1);
        check_invariants(t);

        before = snapshot(t);
        /* Refused: a bad descriptor, a misaligned address, a page table, another domain's
         * frame, no frame. Nothing is written. */
        assert_int_equal(pvcore_desc_update(v, pvcore_maddr(gdt << 12 | 8), sys_desc(0xE, 3, 0)),
                         -PVCORE_EINVAL);
        assert_int_equal(pvcore_desc_update(v, pvcore_maddr(gdt << 12 | 12), code_desc(3)),
                         -PVCORE_EINVAL);
        assert_int_equal(pvcore_desc_update(v, pvcore_maddr(g.l1 << 12 | 8 * 100), code_desc(3)),
                         -PVCORE_EINVAL);
        assert_int_equal(pvcore_desc_update(v, pvcore_maddr(g.root << 12 | 8 * 100),
                                            code_desc(3)),
                         -PVCORE_EINVAL);
        assert_int_equal(pvcore_desc_update(v, pvcore_maddr(foreign << 12), code_desc(3)),
                         -PVCORE_EINVAL);
        assert_int_equal(pvcore_desc_update(v, pvcore_maddr((uint64_t)TEST_FRAMES << 12),
                                            code_desc(3)),
                         -PVCORE_EINVAL);
        assert_int_equal(pvcore_desc_update(v, pvcore_maddr(UINT64_MAX & ~7ull), code_desc(3)),
                         -PVCORE_EINVAL);
        assert_same_state(t, before);
        assert_int_equal(frame_ptr(t, gdt)[1], 0);
        assert_int_equal(frame_ptr(t, g.l1)[100], 0);
        assert_int_equal(frame_ptr(t, foreign)[0], 0);
        if (d == 2) {
            /* 64-bit code, for a 32-bit guest. */
            assert_int_equal(pvcore_desc_update(v, pvcore_maddr(gdt << 12), code_desc(1) | 1ull << 53),
                             -PVCORE_EINVAL);
        }
        free(before);
        check_invariants(t);
        pvtest_free(t);
    }
}

/* The LDT: frames mapped on fault, within the limit only, released when it changes. */
static void test_ldt(void **state)
{
    int d;
    (void)state;

    for (d = 1; d <= 2; d++) {
        struct pvtest *t = pvtest_new();
        struct guest g;
        struct pvcore_vcpu *v;
        struct pvcore_host_stats st;
        struct pvcore_frame_info *before;
        pvcore_mfn_t mfn;
        uint64_t base = VA + 4096u;
        unsigned rpl = d == 2 ? 1u : 3u;

        guest_init(&g, t, d);
        v = vcpu(t, d, 0);
        /* Pages 1 and 2 of the LDT: data pages 1 (read-only) and 2 (still writable). */
        frame_ptr(t, g.data[1])[0] = code_desc(0);
        frame_ptr(t, g.data[1])[7] = gate_desc(0x4, 3, 0);
        guest_make_ro(&g, 1);
        assert_int_equal(ext(t, d, PVCORE_MMUEXT_SET_LDT, base, 1024, PVCORE_DOMID_SELF), 0);
        /* Nothing is mapped until the guest touches it. */
        assert_desc_page(t, g.data[1], 0);

        assert_int_equal(pvcore_desc_ldt_fault(v, 7 * 8, &mfn), 0);
        assert_int_equal(mfn.v, g.data[1]);
        assert_desc_page(t, g.data[1], 1);
        assert_int_equal(frame_ptr(t, g.data[1])[0], code_desc(rpl));
        assert_int_equal(frame_ptr(t, g.data[1])[7], gate_desc((uint16_t)(0x4 | 3u), 0, 0));
        check_invariants(t);
        /* Again: the same frame, no second reference. */
        mfn.v = 0;
        assert_int_equal(pvcore_desc_ldt_fault(v, 4095, &mfn), 0);
        assert_int_equal(mfn.v, g.data[1]);
        assert_desc_page(t, g.data[1], 1);

        before = snapshot(t);
        /* Page 2 is mapped writable: refused. Beyond the limit: refused without a walk. */
        assert_int_equal(pvcore_desc_ldt_fault(v, 4096, &mfn), -PVCORE_EINVAL);
        assert_int_equal(pvcore_desc_ldt_fault(v, 1024 * 8, &mfn), -PVCORE_EINVAL);
        assert_int_equal(pvcore_desc_ldt_fault(v, UINT64_MAX, &mfn), -PVCORE_EINVAL);
        /* Another vCPU has no LDT. */
        assert_int_equal(pvcore_desc_ldt_fault(vcpu(t, d, 1), 0, &mfn), -PVCORE_EINVAL);
        assert_same_state(t, before);
        free(before);

        /* The same LDT again changes nothing. */
        assert_int_equal(ext(t, d, PVCORE_MMUEXT_SET_LDT, base, 1024, PVCORE_DOMID_SELF), 0);
        assert_desc_page(t, g.data[1], 1);
        /* Another size: released, with a local flush. */
        pvcore_host_backend_reset_stats(t->hb);
        assert_int_equal(ext(t, d, PVCORE_MMUEXT_SET_LDT, base, 512, PVCORE_DOMID_SELF), 0);
        pvcore_host_backend_stats(t->hb, &st);
        assert_int_equal(st.flush_local, 1);
        assert_desc_page(t, g.data[1], 0);
        check_invariants(t);

        /* pvcore_desc_ldt_destroy(): released and flushed; nothing to do the second time. */
        assert_int_equal(pvcore_desc_ldt_fault(v, 0, &mfn), 0);
        assert_desc_page(t, g.data[1], 1);
        pvcore_host_backend_reset_stats(t->hb);
        pvcore_desc_ldt_destroy(v);
        pvcore_desc_ldt_destroy(v);
        pvcore_host_backend_stats(t->hb, &st);
        assert_int_equal(st.flush_local, 1);
        assert_desc_page(t, g.data[1], 0);
        check_invariants(t);

        /* A new kernel root: released. The same root again: kept (a reload). */
        assert_int_equal(pvcore_desc_ldt_fault(v, 0, &mfn), 0);
        assert_int_equal(ext(t, d, PVCORE_MMUEXT_NEW_BASEPTR, g.root, 0, PVCORE_DOMID_SELF), 0);
        assert_desc_page(t, g.data[1], 1);
        {
            struct guest g2;
            pvcore_host_backend_reset_stats(t->hb);
            guest_init(&g2, t, d);
            pvcore_host_backend_stats(t->hb, &st);
            assert_int_equal(st.flush_local, 1);
            assert_desc_page(t, g.data[1], 0);
            /* The new tables map data page 1 of g2 (writable) there: refused. */
            assert_int_equal(pvcore_desc_ldt_fault(v, 0, &mfn), -PVCORE_EINVAL);
            assert_int_equal(finfo(t, g2.data[1]).type, PVCORE_PGT_WRITABLE);
            assert_int_equal(finfo(t, g2.data[1]).type_count, 1);
            check_invariants(t);
            /* Nothing mapped at all there: -EFAULT. */
            assert_int_equal(set_entry(t, d, g2.l1, 1, 0), 0);
            assert_int_equal(pvcore_desc_ldt_fault(v, 0, &mfn), -PVCORE_EFAULT);
        }
        check_invariants(t);
        pvtest_free(t);
    }
}

/* Destruction releases every GDT and LDT frame of every vCPU. */
static void test_destroy(void **state)
{
    struct pvtest *t = pvtest_new();
    struct guest g;
    pvcore_mfn_t mfn;
    uint64_t gdt[2];
    int rc;
    (void)state;

    guest_init(&g, t, 1);
    gdt[0] = alloc_frame(t, 1);
    gdt[1] = alloc_frame(t, 1);
    assert_int_equal(set_gdt(&g, 0, gdt, 600), 0);
    assert_int_equal(set_gdt(&g, 3, &gdt[1], 1), 0);
    guest_make_ro(&g, 1);
    assert_int_equal(ext(t, 1, PVCORE_MMUEXT_SET_LDT, VA + 4096u, 16, PVCORE_DOMID_SELF), 0);
    assert_int_equal(pvcore_desc_ldt_fault(vcpu(t, 1, 0), 0, &mfn), 0);
    assert_desc_page(t, gdt[1], 2);
    check_invariants(t);
    while ((rc = pvcore_domain_destroy(t->dom[1])) == -PVCORE_ERESTART) {
    }
    assert_int_equal(rc, 0);
    assert_int_equal(pvcore_domain_tot_pages(t->dom[1]), 0);
    assert_int_equal(finfo(t, gdt[0]).owner, PVCORE_DOMID_INVALID);
    assert_int_equal(finfo(t, gdt[1]).owner, PVCORE_DOMID_INVALID);
    assert_int_equal(finfo(t, g.data[1]).owner, PVCORE_DOMID_INVALID);
    assert_int_equal(finfo(t, g.data[1]).type, PVCORE_PGT_NONE);
    check_invariants(t);
    pvtest_free(t);
}

/* ---- hypercalls -------------------------------------------------------------------------- */

static struct pvcore_hypercall_regs hregs(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                                          uint64_t a3)
{
    struct pvcore_hypercall_regs r;

    memset(&r, 0, sizeof(r));
    r.nr = nr;
    r.arg[0] = a0;
    r.arg[1] = a1;
    r.arg[2] = a2;
    r.arg[3] = a3;
    r.ret = 0x5A5A5A5A5A5A5A5Aull;
    return r;
}

/* Stores the guest's `bytes`-wide little-endian `val` at va, in the data pages. */
static void gput(struct guest *g, uint64_t va, uint64_t val, unsigned bytes)
{
    unsigned k;

    for (k = 0; k < bytes; k++) {
        uint64_t off = va - VA + k;
        ((uint8_t *)frame_ptr(g->t, g->data[(off >> 12) % NDATA]))[off & 4095u] =
            (uint8_t)(val >> (8 * k));
    }
}

static uint64_t hret(int is32, int rc)
{
    return is32 ? (uint64_t)(uint32_t)rc : (uint64_t)(int64_t)rc;
}

static void test_hypercalls(void **state)
{
    int d;
    (void)state;

    for (d = 1; d <= 2; d++) {
        struct pvtest *t = pvtest_new();
        struct guest g;
        struct pvcore_hypercall_regs r;
        struct pvcore_frame_info *before;
        struct pvcore_vcpu *v;
        int is32 = d == 2;
        unsigned word = is32 ? 4u : 8u;
        uint64_t gdt[2], list = VA + 4090; /* the list crosses into data page 1 */
        unsigned i;

        guest_init(&g, t, d);
        v = vcpu(t, d, 0);
        gdt[0] = alloc_frame(t, d);
        gdt[1] = alloc_frame(t, d);
        frame_ptr(t, gdt[1])[3] = code_desc(0);
        for (i = 0; i < 2; i++) {
            gput(&g, list + i * word, gdt[i], word);
        }
        /* A 32-bit guest's registers are 32 bits: garbage above is ignored. */
        r = hregs(PVCORE_HYPERVISOR_set_gdt, list | (is32 ? 0xABCD00000000ull : 0), 1000, 0, 0);
        assert_int_equal(pvcore_hypercall(v, &r), PVCORE_HYPERCALL_DONE);
        assert_int_equal(r.ret, 0);
        assert_gdt(&g, 0, gdt, 1000);
        assert_int_equal(frame_ptr(t, gdt[1])[3], code_desc(is32 ? 1 : 3));
        check_invariants(t);

        before = snapshot(t);
        /* An unreadable list: -EFAULT. Too many entries: -EINVAL, before any copy. */
        r = hregs(PVCORE_HYPERVISOR_set_gdt, 0x800000, 1, 0, 0);
        assert_int_equal(pvcore_hypercall(v, &r), PVCORE_HYPERCALL_DONE);
        assert_int_equal(r.ret, hret(is32, -PVCORE_EFAULT));
        r = hregs(PVCORE_HYPERVISOR_set_gdt, list, PVCORE_FIRST_RESERVED_GDT_ENTRY + 1, 0, 0);
        assert_int_equal(pvcore_hypercall(v, &r), PVCORE_HYPERCALL_DONE);
        assert_int_equal(r.ret, hret(is32, -PVCORE_EINVAL));
        /* A list of a page table. */
        r = hregs(PVCORE_HYPERVISOR_set_gdt, list, 1, 0, 0);
        gput(&g, list, g.l1, word);
        assert_int_equal(pvcore_hypercall(v, &r), PVCORE_HYPERCALL_DONE);
        assert_int_equal(r.ret, hret(is32, -PVCORE_EINVAL));
        assert_same_state(t, before);
        assert_gdt(&g, 0, gdt, 1000);
        free(before);

        /* update_descriptor: a 32-bit guest passes (ma_lo, ma_hi, desc_lo, desc_hi). */
        {
            uint64_t ma = gdt[0] << 12 | 8 * 9;
            uint64_t desc = code_desc(0);
            if (is32) {
                r = hregs(PVCORE_HYPERVISOR_update_descriptor, (uint32_t)ma, ma >> 32,
                          (uint32_t)desc, desc >> 32);
            } else {
                r = hregs(PVCORE_HYPERVISOR_update_descriptor, ma, desc, 0, 0);
            }
            assert_int_equal(pvcore_hypercall(v, &r), PVCORE_HYPERCALL_DONE);
            assert_int_equal(r.ret, 0);
            assert_int_equal(frame_ptr(t, gdt[0])[9], code_desc(is32 ? 1 : 3));
            /* A refused one. */
            desc = sys_desc(0xF, 3, 0);
            if (is32) {
                r = hregs(PVCORE_HYPERVISOR_update_descriptor, (uint32_t)ma, ma >> 32,
                          (uint32_t)desc, desc >> 32);
            } else {
                r = hregs(PVCORE_HYPERVISOR_update_descriptor, ma, desc, 0, 0);
            }
            assert_int_equal(pvcore_hypercall(v, &r), PVCORE_HYPERCALL_DONE);
            assert_int_equal(r.ret, hret(is32, -PVCORE_EINVAL));
            assert_int_equal(frame_ptr(t, gdt[0])[9], code_desc(is32 ? 1 : 3));
            if (is32) {
                /* The high half of the address counts: beyond the machine, refused. */
                r = hregs(PVCORE_HYPERVISOR_update_descriptor, (uint32_t)ma, 1,
                          (uint32_t)code_desc(1), code_desc(1) >> 32);
                assert_int_equal(pvcore_hypercall(v, &r), PVCORE_HYPERCALL_DONE);
                assert_int_equal(r.ret, hret(is32, -PVCORE_EINVAL));
            }
        }
        check_invariants(t);
        pvtest_free(t);
    }
}

/* set_gdt and update_descriptor first finish the devalidation the domain queued; when
 * the budget runs out before, they stop with -ERESTART having changed nothing. */
static void test_restart_after_teardown(void **state)
{
    struct pvtest *t = pvtest_new_budget(64, 0);
    struct pvcore_frame_info *before;
    uint64_t l2 = alloc_frame(t, 1), gdt = alloc_frame(t, 1);
    unsigned i, k, restarts = 0;
    pvcore_mfn_t f = pvcore_mfn(gdt);
    int rc;
    (void)state;

    for (i = 0; i < 16; i++) {
        uint64_t l1 = alloc_frame(t, 1);
        frame_ptr(t, l2)[i] = pte(l1, PT_P | PT_RW);
        for (k = 0; k < 512; k++) {
            frame_ptr(t, l1)[k] = pte(l1, PT_P); /* read-only self references */
        }
    }
    while ((rc = pin(t, 1, 2, l2)) == -PVCORE_ERESTART) {
    }
    assert_int_equal(rc, 0);
    /* The unpin queues 16 tables of 512 references: more than its call can finish. */
    assert_int_equal(unpin(t, 1, l2), 0);
    for (;;) {
        before = snapshot(t);
        rc = pvcore_desc_set_gdt(vcpu(t, 1, 0), &f, 1);
        if (rc != -PVCORE_ERESTART) {
            free(before);
            break;
        }
        /* Only queued teardown progressed: the GDT frame is untouched. */
        assert_int_equal(finfo(t, gdt).type, PVCORE_PGT_NONE);
        assert_int_equal(finfo(t, gdt).count, before[gdt].count);
        free(before);
        check_invariants(t);
        assert_true(++restarts < 1000);
    }
    assert_int_equal(rc, 0);
    assert_true(restarts > 0);
    assert_desc_page(t, gdt, 1);
    assert_int_equal(finfo(t, l2).type, PVCORE_PGT_NONE);
    check_invariants(t);
    pvtest_free(t);
}

/* The invariant checker holds descriptor pages to the rules on its own. */
static void test_checker_sees_descriptors(void **state)
{
    struct pvtest *t = pvtest_new();
    struct guest g;
    struct pvcore_check_report rep;
    struct vcpu *v;
    uint64_t gdt;
    (void)state;

    guest_init(&g, t, 2);
    gdt = alloc_frame(t, 2);
    assert_int_equal(set_gdt(&g, 0, &gdt, 1), 0);
    check_invariants(t);
    /* A DPL 0 segment smuggled in behind the type's back. */
    frame_ptr(t, gdt)[4] = code_desc(0);
    assert_int_equal(pvcore_check_invariants(t->m, t->scratch, t->scratch_len, &rep), -PVCORE_EINVAL);
    assert_int_equal(rep.code, PVCORE_CHECK_FLAGS);
    assert_int_equal(rep.mfn, gdt);
    frame_ptr(t, gdt)[4] = gate_desc(0x10, 1, 0); /* a gate the CPU could use directly */
    assert_int_equal(pvcore_check_invariants(t->m, t->scratch, t->scratch_len, &rep), -PVCORE_EINVAL);
    assert_int_equal(rep.code, PVCORE_CHECK_FLAGS);
    frame_ptr(t, gdt)[4] = checked(1, gate_desc(PVCORE_FLAT_KERNEL_CS_X86_32, 3, 0));
    check_invariants(t);
    /* A holder the counts do not know of. */
    v = (struct vcpu *)(void *)vcpu(t, 2, 1);
    v->cpu.ldt_frames[3] = gdt;
    assert_int_equal(pvcore_check_invariants(t->m, t->scratch, t->scratch_len, &rep), -PVCORE_EINVAL);
    assert_int_equal(rep.code, PVCORE_CHECK_GENERAL_COUNT);
    assert_int_equal(rep.mfn, gdt);
    v->cpu.ldt_frames[3] = INVALID_MFN;
    check_invariants(t);
    pvtest_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_present_and_dpl),
        cmocka_unit_test(test_check_compat_limit),
        cmocka_unit_test(test_check_gates),
        cmocka_unit_test(test_set_gdt),
        cmocka_unit_test(test_set_gdt_refused),
        cmocka_unit_test(test_desc_page_not_writable),
        cmocka_unit_test(test_update_descriptor),
        cmocka_unit_test(test_ldt),
        cmocka_unit_test(test_destroy),
        cmocka_unit_test(test_hypercalls),
        cmocka_unit_test(test_restart_after_teardown),
        cmocka_unit_test(test_checker_sees_descriptors),
    };
    return cmocka_run_group_tests_name("desc", tests, NULL, NULL);
}
