/*
 * Guest memory (<pvcore/guestmem.h>): the walk behind every guest copy, on a machine that,
 * like a real hypervisor, fills the hypervisor slots of guest tables with its own entries.
 *
 * The attack this guards against: a 64-bit guest installs a legal read-only self-map (an
 * L4 entry naming its own L4) and forms an address that walks own L4, own L4 again, a
 * hypervisor slot, then the hypervisor's tables (whose 2 MiB direct-map entries a careless
 * last level takes as 4 KiB mappings). Any hypercall that copies from that address would
 * read hypervisor memory. The 32-bit PAE variant goes through a self-map in the L2 that
 * holds the hypervisor's slots. Each test also shows the legitimate use of the same
 * self-map working, so that the refusals are not a walk that refuses everything.
 */
#include "pvtest.h"

#include <pvcore/guestmem.h>
#include <pvcore/hypercall.h>

#include "internal/domain.h" /* white box: are the domain locks free during a copy? */

#define NF 256u
#define H3 2u      /* hypervisor frames: an L3, an L2, an L1 and a secret page */
#define H2 3u
#define H1 4u
#define SECRET 5u
#define SELF 300u  /* the 64-bit guest's self-map slot */

struct gm {
    struct pvcore_machine *m;
    void *mmem, *ft;
    uint8_t *ram;
    uint64_t m2p[NF];
    uint64_t l4_slots[16];
    uint64_t pae_slots[84];
    struct pvcore_domain *d64, *d32, *d0;
    void *dmem64, *dmem32, *dmem0;
    unsigned copies, copies_under_lock;
    uint64_t next;
    void *scratch;
    size_t scratch_len;
};

static void flush_none(void *ctx, const struct pvcore_flush *f)
{
    (void)ctx;
    (void)f;
}

/* Copies run with no domain's lock held: counted here, for every domain of the machine. */
static void note_copy(struct gm *g)
{
    struct pvcore_domain *doms[3];
    unsigned i;

    doms[0] = g->d64;
    doms[1] = g->d32;
    doms[2] = g->d0;
    g->copies++;
    for (i = 0; i < 3; i++) {
        if (doms[i] != NULL && spin_is_locked(&((struct domain *)(void *)doms[i])->mmu_lock)) {
            g->copies_under_lock++;
        }
    }
}

static int copy_from(void *ctx, struct pvcore_vcpu *v, void *dst, uint64_t gva, size_t len)
{
    note_copy(ctx);
    return pvcore_guestmem_copy_from(v, dst, gva, len);
}

static int copy_to(void *ctx, struct pvcore_vcpu *v, uint64_t gva, const void *src, size_t len)
{
    note_copy(ctx);
    return pvcore_guestmem_copy_to(v, gva, src, len);
}

static const struct pvcore_host_ops gm_ops = {
    .flush_tlb = flush_none,
    .copy_from_guest = copy_from,
    .copy_to_guest = copy_to,
};

static uint64_t *fr(struct gm *g, uint64_t mfn)
{
    return (uint64_t *)(void *)(g->ram + mfn * 4096u);
}

static struct pvcore_domain *mkdom(struct gm *g, uint16_t domid, uint32_t flags, void **mem)
{
    struct pvcore_domain_config cfg;
    struct pvcore_domain *d;
    size_t sz = pvcore_domain_size(2);

    memset(&cfg, 0, sizeof(cfg));
    cfg.domid = domid;
    cfg.nr_vcpus = 2;
    cfg.flags = flags;
    cfg.max_pages = NF;
    *mem = aligned_alloc(64, (sz + 63u) & ~(size_t)63u);
    assert_non_null(*mem);
    assert_int_equal(pvcore_domain_create(g->m, *mem, sz, &cfg, &d), 0);
    return d;
}

static int gm_setup(void **state)
{
    struct gm *g = calloc(1, sizeof(*g));
    struct pvcore_machine_config cfg;
    size_t ms = pvcore_machine_size(8), fs = pvcore_frame_table_size(NF);
    unsigned i;

    assert_non_null(g);
    g->mmem = aligned_alloc(64, (ms + 63u) & ~(size_t)63u);
    g->ft = aligned_alloc(64, (fs + 63u) & ~(size_t)63u);
    g->ram = aligned_alloc(4096, NF * 4096u);
    assert_non_null(g->mmem);
    assert_non_null(g->ft);
    assert_non_null(g->ram);
    memset(g->ram, 0, NF * 4096u);
    /* The hypervisor's tables: slot 256 -> H3 -> H2, whose entry 0 is a 2 MiB direct-map
     * page starting at the secret frame and entry 1 an L1 that maps it. */
    for (i = 0; i < 16; i++) {
        g->l4_slots[i] = i == 0 ? pte(H3, PT_P | PT_RW) : 0;
    }
    for (i = 0; i < 84; i++) {
        g->pae_slots[i] = pte(H1, PT_P | PT_RW);
    }
    fr(g, H3)[0] = pte(H2, PT_P | PT_RW);
    fr(g, H2)[0] = pte(SECRET, PT_P | PT_RW | PT_PSE);
    fr(g, H2)[1] = pte(H1, PT_P | PT_RW);
    fr(g, H1)[0] = pte(SECRET, PT_P | PT_RW);
    memset(&cfg, 0, sizeof(cfg));
    cfg.frame_table = g->ft;
    cfg.frame_table_bytes = fs;
    cfg.nr_frames = NF;
    cfg.directmap = g->ram;
    cfg.m2p = g->m2p;
    cfg.max_domains = 8;
    cfg.ops = &gm_ops;
    cfg.ctx = g;
    cfg.hyp_l4_slots = g->l4_slots;
    cfg.hyp_pae_l2_slots = g->pae_slots;
    assert_int_equal(pvcore_machine_init(g->mmem, ms, &cfg, &g->m), 0);
    assert_int_equal(pvcore_frame_add_ram(g->m, pvcore_mfn(0), NF), 0);
    assert_int_equal(pvcore_frame_reserve_xen(g->m, pvcore_mfn(H3), 4), 0);
    g->d64 = mkdom(g, 1, 0, &g->dmem64);
    g->d32 = mkdom(g, 2, PVCORE_DOMAIN_GUEST_32, &g->dmem32);
    g->d0 = mkdom(g, 0, PVCORE_DOMAIN_PRIVILEGED, &g->dmem0);
    g->next = 16;
    g->scratch_len = pvcore_check_scratch_size(g->m);
    g->scratch = malloc(g->scratch_len);
    assert_non_null(g->scratch);
    *state = g;
    return 0;
}

static int gm_teardown(void **state)
{
    struct gm *g = *state;

    free(g->mmem);
    free(g->ft);
    free(g->ram);
    free(g->dmem64);
    free(g->dmem32);
    free(g->dmem0);
    free(g->scratch);
    free(g);
    return 0;
}

static uint64_t gm_alloc(struct gm *g, struct pvcore_domain *d)
{
    uint64_t mfn = g->next++;

    memset(fr(g, mfn), 0, 4096);
    assert_int_equal(pvcore_domain_assign(d, pvcore_mfn(mfn), pvcore_gfn(mfn)), 0);
    return mfn;
}

static void gm_check(struct gm *g)
{
    struct pvcore_check_report r;

    assert_int_equal(pvcore_check_invariants(g->m, g->scratch, g->scratch_len, &r), 0);
}

static struct pvcore_vcpu *v0(struct pvcore_domain *d)
{
    return pvcore_domain_vcpu(d, 0);
}

static int ext1(struct pvcore_domain *d, uint32_t cmd, uint64_t arg1)
{
    struct pvcore_mmuext_req op;
    uint32_t done = 0;

    memset(&op, 0, sizeof(op));
    op.cmd = cmd;
    op.arg1 = arg1;
    return pvcore_mmuext_op(v0(d), &op, 1, &done, PVCORE_DOMID_SELF);
}

static int upd(struct pvcore_domain *d, uint64_t table, unsigned slot, uint64_t val)
{
    pvcore_mmu_update_t u;
    uint32_t done = 0;

    u.ptr = (table << 12) | ((uint64_t)slot << 3);
    u.val = val;
    return pvcore_mmu_update(v0(d), &u, 1, &done, PVCORE_DOMID_SELF);
}

/* The counts of the hypervisor's frames, which nothing here may change. */
static void assert_xen_frames_untouched(struct gm *g)
{
    uint64_t mfn;

    for (mfn = H3; mfn <= SECRET; mfn++) {
        struct pvcore_frame_info fi;
        assert_int_equal(pvcore_frame_query(g->m, pvcore_mfn(mfn), &fi), 0);
        assert_int_equal(fi.owner, PVCORE_DOMID_XEN);
        assert_int_equal(fi.count, 1);
        assert_int_equal(fi.type_count, 0);
    }
}

static uint64_t va64(unsigned i4, unsigned i3, unsigned i2, unsigned i1)
{
    uint64_t va = (uint64_t)i4 << 39 | (uint64_t)i3 << 30 | (uint64_t)i2 << 21 | (uint64_t)i1 << 12;

    return (va & (1ull << 47)) ? va | 0xFFFF000000000000ull : va;
}

struct as {
    uint64_t root, l3, l2, l2x, l1, data;
};

/* A 64-bit address space of d: L4 -> L3 -> L2 -> L1 -> one data page at 0x400000. */
static void build64_of(struct gm *g, struct pvcore_domain *d, struct as *a)
{
    a->root = gm_alloc(g, d);
    a->l3 = gm_alloc(g, d);
    a->l2 = gm_alloc(g, d);
    a->l1 = gm_alloc(g, d);
    a->data = gm_alloc(g, d);
    fr(g, a->root)[0] = pte(a->l3, PT_P | PT_RW | PT_US);
    fr(g, a->l3)[0] = pte(a->l2, PT_P | PT_RW | PT_US);
    fr(g, a->l2)[2] = pte(a->l1, PT_P | PT_RW | PT_US);
    fr(g, a->l1)[0] = pte(a->data, PT_P | PT_RW | PT_US);
    assert_int_equal(ext1(d, PVCORE_MMUEXT_NEW_BASEPTR, a->root), 0);
    /* The hypervisor's slot now holds its entry: the attack has something to follow. */
    assert_int_equal(fr(g, a->root)[256], g->l4_slots[0]);
}

/* The 64-bit guest's, plus a read-only self-map: legal (XSA-182 only forbids it
 * writable). */
static void build64(struct gm *g, struct as *a)
{
    build64_of(g, g->d64, a);
    assert_int_equal(upd(g->d64, a->root, SELF, pte(a->root, PT_P | PT_US | PT_A)), 0);
}

/* Plants in the secret page what a hostile guest would like the hypervisor to obey: an
 * mmu_update request that records a marker in the M2P of the guest's data frame. */
static void plant_secret(struct gm *g, uint64_t data)
{
    uint64_t *s = fr(g, SECRET);
    unsigned i;

    for (i = 0; i < 512; i++) {
        s[i] = 0x5EC2E75EC2E75EC2ull;
    }
    s[0] = (data << 12) | PVCORE_MMU_MACHPHYS_UPDATE;
    s[1] = 0xBAD;
}

static void test_selfmap_works_64(void **state)
{
    struct gm *g = *state;
    struct as a;
    struct pvcore_guestmem_page pg;
    uint64_t maddr, buf[2];
    int w = 1;

    build64(g, &a);
    /* Positive control: (self, self, self, self) reads the L4 as data, read-only, and
     * (self, self, self, 0) the L3 its slot 0 names. */
    assert_int_equal(pvcore_vcpu_translate(v0(g->d64), va64(SELF, SELF, SELF, SELF), &maddr, &w), 0);
    assert_int_equal(maddr >> 12, a.root);
    assert_int_equal(w, 0);
    assert_int_equal(pvcore_vcpu_translate(v0(g->d64), va64(SELF, SELF, SELF, 0), &maddr, &w), 0);
    assert_int_equal(maddr >> 12, a.l3);
    /* (self, 0, 0, 2) reads the L1 the L2 maps at slot 2. */
    assert_int_equal(pvcore_guestmem_get(v0(g->d64), va64(SELF, 0, 0, 2) + 8, 0, &pg), 0);
    assert_int_equal(pg.maddr, (a.l1 << 12) | 8);
    assert_int_equal(pg.flags, 0);
    pvcore_guestmem_put(v0(g->d64), &pg);
    assert_int_equal(pvcore_guestmem_copy_from(v0(g->d64), buf, va64(SELF, SELF, SELF, SELF), 16), 0);
    assert_int_equal(buf[0], fr(g, a.root)[0]);
    assert_int_equal(pte_mfn_test(buf[0]), a.l3);
    /* ... but never writable, and nothing to write through it. */
    assert_int_equal(pvcore_guestmem_get(v0(g->d64), va64(SELF, SELF, SELF, 0), 1, &pg),
                     -PVCORE_EFAULT);
    assert_int_equal(pvcore_guestmem_copy_to(v0(g->d64), va64(SELF, SELF, SELF, 0), buf, 8),
                     -PVCORE_EFAULT);
    /* The ordinary data page: writable, held for writing. */
    assert_int_equal(pvcore_guestmem_get(v0(g->d64), 0x400010, 1, &pg), 0);
    assert_int_equal(pg.maddr, (a.data << 12) | 0x10);
    assert_int_equal(pg.flags, PVCORE_GUESTMEM_WRITABLE | PVCORE_GUESTMEM_HELD_WRITE);
    /* Held for writing: the page cannot become a page table meanwhile. */
    assert_int_equal(upd(g->d64, a.l1, 0, pte(a.data, PT_P | PT_US)), 0);
    assert_int_equal(ext1(g->d64, PVCORE_MMUEXT_PIN_L1_TABLE, a.data), -PVCORE_EINVAL);
    pvcore_guestmem_put(v0(g->d64), &pg);
    assert_int_equal(ext1(g->d64, PVCORE_MMUEXT_PIN_L1_TABLE, a.data), 0);
    assert_int_equal(ext1(g->d64, PVCORE_MMUEXT_UNPIN_TABLE, a.data), 0);
    assert_xen_frames_untouched(g);
    gm_check(g);
}

static void test_selfmap_hyp_slot_64(void **state)
{
    struct gm *g = *state;
    struct pvcore_hypercall_regs r;
    struct pvcore_guestmem_page pg;
    struct as a;
    uint64_t maddr, buf[4];
    /* Own L4, own L4 again, the hypervisor's slot 256, its L3 (H3) read as an L2, whose
     * entry 0 names its L2 (H2) read as an L1, whose entry 0 is a 2 MiB page (or, at i1
     * = 1, ... entry 1 an L1): every address here ends in hypervisor memory. */
    const uint64_t attacks[] = {
        va64(SELF, 256, 0, 0), va64(SELF, 256, 0, 1), va64(SELF, SELF, 256, 0),
        va64(SELF, SELF, SELF, 256), va64(256, 0, 0, 0), va64(SELF, 256, 1, 0),
    };
    unsigned i;

    build64(g, &a);
    plant_secret(g, a.data);
    g->m2p[a.data] = 77;
    for (i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
        memset(buf, 0, sizeof(buf));
        assert_int_equal(pvcore_vcpu_translate(v0(g->d64), attacks[i], &maddr, NULL), -PVCORE_EFAULT);
        assert_int_equal(pvcore_guestmem_get(v0(g->d64), attacks[i], 0, &pg), -PVCORE_EFAULT);
        assert_int_equal(pvcore_guestmem_copy_from(v0(g->d64), buf, attacks[i], sizeof(buf)),
                         -PVCORE_EFAULT);
        assert_int_not_equal(buf[2], 0x5EC2E75EC2E75EC2ull);

        /* xen_version(get_features) reads its argument from the address. */
        memset(&r, 0, sizeof(r));
        r.nr = PVCORE_HYPERVISOR_xen_version;
        r.arg[0] = PVCORE_XENVER_get_features;
        r.arg[1] = attacks[i];
        assert_int_equal(pvcore_hypercall(v0(g->d64), &r), PVCORE_HYPERCALL_DONE);
        assert_int_equal((int64_t)r.ret, -PVCORE_EFAULT);

        /* mmu_update reads its request array from it: the planted request must not run. */
        memset(&r, 0, sizeof(r));
        r.nr = PVCORE_HYPERVISOR_mmu_update;
        r.arg[0] = attacks[i];
        r.arg[1] = 1;
        r.arg[2] = 0;
        r.arg[3] = PVCORE_DOMID_SELF;
        assert_int_equal(pvcore_hypercall(v0(g->d64), &r), PVCORE_HYPERCALL_DONE);
        assert_int_equal((int64_t)r.ret, -PVCORE_EFAULT);
        assert_int_equal(g->m2p[a.data], 77);
    }
    /* The same request from the guest's own page does run: the test can see it. */
    memcpy(fr(g, a.data), fr(g, SECRET), 16);
    memset(&r, 0, sizeof(r));
    r.nr = PVCORE_HYPERVISOR_mmu_update;
    r.arg[0] = 0x400000;
    r.arg[1] = 1;
    r.arg[3] = PVCORE_DOMID_SELF;
    assert_int_equal(pvcore_hypercall(v0(g->d64), &r), PVCORE_HYPERCALL_DONE);
    assert_int_equal(r.ret, 0);
    assert_int_equal(g->m2p[a.data], 0xBAD);
    assert_xen_frames_untouched(g);
    gm_check(g);
}

/* A 32-bit guest's L2 that holds the hypervisor's slots, mapped into itself at a guest
 * slot: its hypervisor slots (428-511) would then read as the last level. */
static void test_selfmap_hyp_slot_pae(void **state)
{
    struct gm *g = *state;
    struct pvcore_guestmem_page pg;
    struct pvcore_hypercall_regs r;
    struct as a;
    uint64_t maddr;
    uint8_t buf[8];
    const unsigned k = 10; /* the self-map's slot in the hypervisor L2 */
    const uint64_t base = (3ull << 30) | ((uint64_t)k << 21);

    a.root = gm_alloc(g, g->d32);
    a.l2 = gm_alloc(g, g->d32);
    a.l2x = gm_alloc(g, g->d32);
    a.l1 = gm_alloc(g, g->d32);
    a.data = gm_alloc(g, g->d32);
    fr(g, a.root)[0] = pte(a.l2, PT_P);
    fr(g, a.root)[3] = pte(a.l2x, PT_P);
    fr(g, a.l2)[2] = pte(a.l1, PT_P | PT_RW | PT_US);
    fr(g, a.l1)[0] = pte(a.data, PT_P | PT_RW | PT_US);
    assert_int_equal(ext1(g->d32, PVCORE_MMUEXT_NEW_BASEPTR, a.root), 0);
    assert_int_equal(fr(g, a.l2x)[428], g->pae_slots[0]);
    assert_int_equal(upd(g->d32, a.l2x, k, pte(a.l2x, PT_P | PT_US)), 0);
    /* The guest's own slots of that L2 read as the last level: itself at slot k. */
    assert_int_equal(pvcore_vcpu_translate(v0(g->d32), base | ((uint64_t)k << 12), &maddr, NULL), 0);
    assert_int_equal(maddr >> 12, a.l2x);
    /* Its hypervisor slots do not, however the address is formed. */
    assert_int_equal(pvcore_vcpu_translate(v0(g->d32), base | (428ull << 12), &maddr, NULL),
                     -PVCORE_EFAULT);
    assert_int_equal(pvcore_guestmem_get(v0(g->d32), base | (511ull << 12), 0, &pg), -PVCORE_EFAULT);
    assert_int_equal(pvcore_guestmem_copy_from(v0(g->d32), buf, base | (428ull << 12), 8),
                     -PVCORE_EFAULT);
    memset(&r, 0, sizeof(r));
    r.nr = PVCORE_HYPERVISOR_xen_version;
    r.arg[0] = PVCORE_XENVER_get_features;
    r.arg[1] = base | (430ull << 12);
    assert_int_equal(pvcore_hypercall(v0(g->d32), &r), PVCORE_HYPERCALL_DONE);
    assert_int_equal((uint32_t)r.ret, (uint32_t)-PVCORE_EFAULT);
    assert_xen_frames_untouched(g);
    gm_check(g);
}

/* I/O memory and frames not mapped at all are not guest memory for copies. */
static void test_not_ram(void **state)
{
    struct gm *g = *state;
    struct pvcore_guestmem_page pg;
    struct as a;

    build64(g, &a);
    assert_int_equal(pvcore_guestmem_get(v0(g->d64), 0x401000, 0, &pg), -PVCORE_EFAULT);
    assert_int_equal(pvcore_guestmem_get(v0(g->d64), 0xFFFF800000000000ull, 0, &pg), -PVCORE_EFAULT);
    assert_int_equal(pvcore_guestmem_get(v0(g->d64), 0x0000800000000000ull, 0, &pg), -PVCORE_EFAULT);
    /* A range that wraps, or a 32-bit one past 4 GiB. */
    assert_int_equal(pvcore_guestmem_copy_from(v0(g->d64), &pg, UINT64_MAX - 3, 8), -PVCORE_EFAULT);
    assert_int_equal(pvcore_guestmem_copy_from(v0(g->d32), &pg, 0xFFFFFFFCull, 8), -PVCORE_EFAULT);
    gm_check(g);
}

/*
 * A privileged vCPU names another domain as the page-table owner (foreigndom bits 31:16):
 * its request array and *pdone are in its own memory, copied with no domain's lock held
 * (neither its own nor the table owner's), and the request changes the other domain's
 * L1. A vCPU bitmap (TLB_FLUSH_MULTI) is read the same way.
 */
static void test_copies_hold_no_lock(void **state)
{
    struct gm *g = *state;
    struct as a0, a1;
    struct pvcore_hypercall_regs r;
    uint64_t *req;
    uint32_t pdone;

    build64_of(g, g->d0, &a0);
    build64_of(g, g->d64, &a1);
    req = (uint64_t *)(void *)fr(g, a0.data);
    req[0] = (a1.l1 << 12) | (5u << 3);
    req[1] = pte(a1.data, PT_P | PT_US);
    g->copies = g->copies_under_lock = 0;
    memset(&r, 0, sizeof(r));
    r.nr = PVCORE_HYPERVISOR_mmu_update;
    r.arg[0] = 0x400000;
    r.arg[1] = 1;
    r.arg[2] = 0x400800;
    r.arg[3] = (2u << 16) | 1u; /* tables of domain 1, its own frames */
    assert_int_equal(pvcore_hypercall(v0(g->d0), &r), PVCORE_HYPERCALL_DONE);
    assert_int_equal(r.ret, 0);
    assert_int_equal(pte_mfn_test(fr(g, a1.l1)[5]), a1.data);
    memcpy(&pdone, (uint8_t *)fr(g, a0.data) + 0x800, 4);
    assert_int_equal(pdone, 1);
    /* The same from the unprivileged guest itself: a multi-vCPU flush reads its bitmap. */
    req = (uint64_t *)(void *)fr(g, a1.data);
    req[0] = PVCORE_MMUEXT_TLB_FLUSH_MULTI;
    req[1] = 0;
    req[2] = 0x400100;
    req[32] = 3; /* the bitmap at 0x400100: vCPUs 0 and 1 */
    memset(&r, 0, sizeof(r));
    r.nr = PVCORE_HYPERVISOR_mmuext_op;
    r.arg[0] = 0x400000;
    r.arg[1] = 1;
    r.arg[3] = PVCORE_DOMID_SELF;
    assert_int_equal(pvcore_hypercall(v0(g->d64), &r), PVCORE_HYPERCALL_DONE);
    assert_int_equal(r.ret, 0);
    /* request array + pdone write, then request array + bitmap */
    assert_true(g->copies >= 4);
    assert_int_equal(g->copies_under_lock, 0);
    gm_check(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_selfmap_works_64, gm_setup, gm_teardown),
        cmocka_unit_test_setup_teardown(test_selfmap_hyp_slot_64, gm_setup, gm_teardown),
        cmocka_unit_test_setup_teardown(test_selfmap_hyp_slot_pae, gm_setup, gm_teardown),
        cmocka_unit_test_setup_teardown(test_not_ram, gm_setup, gm_teardown),
        cmocka_unit_test_setup_teardown(test_copies_hold_no_lock, gm_setup, gm_teardown),
    };
    return cmocka_run_group_tests_name("guestmem", tests, NULL, NULL);
}
