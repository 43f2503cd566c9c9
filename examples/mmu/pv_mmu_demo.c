/*
 * pv_mmu_demo: the page-table validator at work, in an ordinary process.
 *
 * Builds a 64-bit and a 32-bit PAE guest address space in host-backend "machine memory",
 * pins them, switches base pointers, applies a batch of validated updates, tries a few
 * things a malicious guest would, and prints what happened at each step.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/pvcore.h>
#include <pvcore/host_backend.h>

#define P 0x1ull
#define RW 0x2ull
#define US 0x4ull

static struct pvcore_host_backend *hb;
static struct pvcore_machine *m;
static uint64_t next_free = 1;
static void *scratch;
static size_t scratch_len;

static uint64_t pte(uint64_t mfn, uint64_t flags)
{
    return (mfn << 12) | flags;
}

static uint64_t give(struct pvcore_domain *d)
{
    uint64_t mfn = next_free++;
    if (pvcore_domain_assign(d, pvcore_mfn(mfn), pvcore_gfn(mfn)) != 0) {
        fprintf(stderr, "assign failed\n");
        exit(1);
    }
    return mfn;
}

static const char *type_name(uint8_t t)
{
    static const char *const n[] = { "none", "L1", "L2", "L3", "L4", "seg_desc", "shared", "writable" };
    return t < 8 ? n[t] : "?";
}

static void show(const char *what, uint64_t mfn)
{
    struct pvcore_frame_info fi;
    if (pvcore_frame_query(m, pvcore_mfn(mfn), &fi) != 0) {
        return;
    }
    printf("    %-22s mfn %4" PRIu64 ": type %-8s type_count %u count %u%s%s\n", what, mfn,
           type_name(fi.type), fi.type_count, fi.count,
           (fi.flags & PVCORE_FRAME_PINNED) ? " pinned" : "",
           (fi.flags & PVCORE_FRAME_VALIDATED) ? " validated" : "");
}

static void result(const char *what, int rc)
{
    printf("  %-58s -> %s\n", what, rc == 0 ? "ok" : pvcore_strerror(rc));
}

static int ext(struct pvcore_vcpu *v, uint32_t cmd, uint64_t arg1)
{
    struct pvcore_mmuext_req op = { cmd, 0, arg1, 0 };
    uint32_t done = 0;
    int rc;
    /* A real hypervisor turns -ERESTART into a hypercall continuation; here, just loop. */
    while ((rc = pvcore_mmuext_op(v, &op, 1, &done, PVCORE_DOMID_SELF)) == -PVCORE_ERESTART) {
    }
    return rc;
}

static int check(void)
{
    struct pvcore_check_report r;
    int rc = pvcore_check_invariants(m, scratch, scratch_len, &r);
    printf("  invariant check: %" PRIu64 " frames, %" PRIu64 " entries: %s\n", r.frames_checked,
           r.entries_checked, rc == 0 ? "all hold" : pvcore_check_code_name(r.code));
    return rc;
}

static struct pvcore_domain *make_domain(uint16_t id, uint32_t flags, void **mem)
{
    struct pvcore_domain_config cfg = { id, 1, flags, 1024 };
    size_t sz = pvcore_domain_size(1);
    struct pvcore_domain *d;
    *mem = malloc(sz);
    if (*mem == NULL || pvcore_domain_create(m, *mem, sz, &cfg, &d) != 0) {
        fprintf(stderr, "domain create failed\n");
        exit(1);
    }
    return d;
}

int main(void)
{
    void *mem64, *mem32;
    struct pvcore_domain *g64, *g32;
    struct pvcore_vcpu *v64, *v32;
    struct pvcore_host_stats st;
    uint64_t l4, l3, l2, l1, data[16], fresh[8];
    uint64_t p3, p2, p2x, p1, pdata[4];
    pvcore_mmu_update_t batch[8];
    uint32_t done = 0;
    unsigned i;
    int rc;

    printf("libpvcore %s: the batched page-table validator on the host backend\n\n",
           pvcore_version_string());
    if (pvcore_host_backend_create(1024, 4, 0, 0, &hb) != 0) {
        return 1;
    }
    m = pvcore_host_backend_machine(hb);
    scratch_len = pvcore_check_scratch_size(m);
    scratch = malloc(scratch_len);
    g64 = make_domain(1, 0, &mem64);
    g32 = make_domain(2, PVCORE_DOMAIN_GUEST_32, &mem32);
    v64 = pvcore_domain_vcpu(g64, 0);
    v32 = pvcore_domain_vcpu(g32, 0);

    printf("1. A 64-bit guest builds L4 -> L3 -> L2 -> L1 -> 16 data pages at 0x400000,\n"
           "   writing its new tables while they are still ordinary memory.\n");
    l4 = give(g64);
    l3 = give(g64);
    l2 = give(g64);
    l1 = give(g64);
    pvcore_host_backend_frame(hb, pvcore_mfn(l4))[0] = pte(l3, P | RW | US);
    pvcore_host_backend_frame(hb, pvcore_mfn(l3))[0] = pte(l2, P | RW | US);
    pvcore_host_backend_frame(hb, pvcore_mfn(l2))[2] = pte(l1, P | RW | US);
    for (i = 0; i < 16; i++) {
        data[i] = give(g64);
        pvcore_host_backend_frame(hb, pvcore_mfn(l1))[i] = pte(data[i], P | RW | US);
    }
    result("MMUEXT_PIN_L4_TABLE (validates the whole tree)", ext(v64, PVCORE_MMUEXT_PIN_L4_TABLE, l4));
    result("MMUEXT_NEW_BASEPTR", ext(v64, PVCORE_MMUEXT_NEW_BASEPTR, l4));
    show("L4 (pinned + base)", l4);
    show("L1", l1);
    show("data page 0", data[0]);
    check();

    printf("\n2. A batch of 8 L1 updates remapping 0x400000.. to fresh frames (one call):\n");
    for (i = 0; i < 8; i++) {
        fresh[i] = give(g64);
        batch[i].ptr = (l1 << 12) | ((uint64_t)i << 3) | PVCORE_MMU_NORMAL_PT_UPDATE;
        batch[i].val = pte(fresh[i], P | RW | US);
    }
    pvcore_host_backend_reset_stats(hb);
    rc = pvcore_mmu_update(v64, batch, 8, &done, PVCORE_DOMID_SELF);
    pvcore_host_backend_stats(hb, &st);
    printf("  mmu_update x8 -> %s, done %u, TLB flushes %" PRIu64 " (L1 changes are the guest's to flush)\n",
           rc == 0 ? "ok" : pvcore_strerror(rc), done, st.flush_calls);
    show("old data page 0", data[0]);
    show("new data page 0", fresh[0]);
    check();

    printf("\n3. What a malicious guest tries:\n");
    done = 0;
    batch[0].ptr = (l1 << 12) | (20u << 3);
    batch[0].val = pte(l2, P | RW | US);
    result("map its own L2 writable", pvcore_mmu_update(v64, batch, 1, &done, PVCORE_DOMID_SELF));
    batch[0].ptr = (l4 << 12) | (256u << 3);
    batch[0].val = pte(l3, P | US);
    result("write a hypervisor L4 slot (256)", pvcore_mmu_update(v64, batch, 1, &done, PVCORE_DOMID_SELF));
    batch[0].ptr = (l4 << 12) | (300u << 3);
    batch[0].val = pte(l4, P | US);
    result("read-only recursive L4 entry (legal)", pvcore_mmu_update(v64, batch, 1, &done, PVCORE_DOMID_SELF));
    batch[0].val = pte(l4, P | RW | US);
    result("... the same entry made writable (XSA-182)", pvcore_mmu_update(v64, batch, 1, &done, PVCORE_DOMID_SELF));
    result("update_va_mapping at a non-canonical address",
           pvcore_update_va_mapping(v64, 0x0000800000000000ull, 0, PVCORE_UVMF_INVLPG, PVCORE_DOMID_SELF));
    result("pin a frame that is mapped writable as an L1",
           ext(v64, PVCORE_MMUEXT_PIN_L1_TABLE, fresh[1]));
    check();

    printf("\n4. A 32-bit PAE guest: L3 (4 slots; slot 3 holds the hypervisor's L2) -> L2 -> L1.\n");
    p3 = give(g32);
    p2 = give(g32);
    p2x = give(g32);
    p1 = give(g32);
    pvcore_host_backend_frame(hb, pvcore_mfn(p3))[0] = pte(p2, P);
    pvcore_host_backend_frame(hb, pvcore_mfn(p3))[3] = pte(p2x, P);
    pvcore_host_backend_frame(hb, pvcore_mfn(p2))[2] = pte(p1, P | RW | US);
    for (i = 0; i < 4; i++) {
        pdata[i] = give(g32);
        pvcore_host_backend_frame(hb, pvcore_mfn(p1))[i] = pte(pdata[i], P | RW | US);
    }
    result("MMUEXT_PIN_L3_TABLE", ext(v32, PVCORE_MMUEXT_PIN_L3_TABLE, p3));
    result("MMUEXT_NEW_BASEPTR", ext(v32, PVCORE_MMUEXT_NEW_BASEPTR, p3));
    show("L3", p3);
    show("slot-3 L2 (hypervisor)", p2x);
    done = 0;
    batch[0].ptr = (p3 << 12) | (2u << 3);
    batch[0].val = pte(p3, P);
    result("L3 slot 2 -> the L3 itself (XSA-185)", pvcore_mmu_update(v32, batch, 1, &done, PVCORE_DOMID_SELF));
    batch[0].ptr = (p2x << 12) | (500u << 3);
    batch[0].val = 0;
    result("write the hypervisor's part of the slot-3 L2", pvcore_mmu_update(v32, batch, 1, &done, PVCORE_DOMID_SELF));
    result("update_va_mapping 0x401000 -> not present",
           pvcore_update_va_mapping(v32, 0x401000, 0, PVCORE_UVMF_INVLPG, PVCORE_DOMID_SELF));
    show("data page 1 (unmapped)", pdata[1]);
    check();

    printf("\n5. The 64-bit guest switches to a new address space and drops the old one.\n");
    {
        uint64_t n4 = give(g64), n3 = give(g64);
        pvcore_host_backend_frame(hb, pvcore_mfn(n4))[0] = pte(n3, P | RW | US);
        pvcore_host_backend_frame(hb, pvcore_mfn(n3))[0] = pte(l2, P | RW | US); /* share the L2 */
        result("NEW_BASEPTR to the new L4", ext(v64, PVCORE_MMUEXT_NEW_BASEPTR, n4));
        result("UNPIN the old L4", ext(v64, PVCORE_MMUEXT_UNPIN_TABLE, l4));
        show("old L4", l4);
        show("old L3", l3);
        show("shared L2", l2);
        show("new L4", n4);
    }
    check();

    printf("\n6. Both domains are destroyed; every frame comes back free.\n");
    while ((rc = pvcore_domain_destroy(g64)) == -PVCORE_ERESTART) {
    }
    result("destroy the 64-bit domain", rc);
    while ((rc = pvcore_domain_destroy(g32)) == -PVCORE_ERESTART) {
    }
    result("destroy the 32-bit domain", rc);
    {
        uint64_t used = 0, mfn;
        for (mfn = 0; mfn < 1024; mfn++) {
            struct pvcore_frame_info fi;
            if (pvcore_frame_query(m, pvcore_mfn(mfn), &fi) == 0 && fi.count != 0) {
                used++;
            }
        }
        printf("  frames still referenced: %" PRIu64 "\n", used);
        rc = used == 0 ? check() : -1;
    }
    free(mem64);
    free(mem32);
    free(scratch);
    pvcore_host_backend_destroy(hb);
    return rc == 0 ? 0 : 1;
}
