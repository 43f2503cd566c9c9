/*
 * build.c: making a PV domain out of a guest kernel, with libpvcore's builder
 * (<pvcore/builder.h>) doing the part Xen's toolstack does: the image is parsed, its
 * start-of-day layout planned from its virt_base for the guest's size and ramdisk, then
 * written into the domain and its bootstrap tables pinned through the validator.
 *
 * What is minihv's own: the machine frames (from its allocator, zeroed), the domain's
 * structure, the shared-info and grant-table frames, the event-channel table and the
 * console's and xenstore's ports (unbound, for the control domain minihv plays: backend.c).
 */
#include <pvcore/abi/xen.h>

#include "minihv.h"

int build_guest(struct guest *g, uint16_t domid, const void *kernel, uint64_t size,
                const void *ramdisk, uint64_t ramdisk_len, const char *cmdline,
                uint64_t mem_pages)
{
    struct pvcore_domain_config cfg;
    struct pvcore_elf_info elf;
    struct pvcore_boot_layout layout;
    struct pvcore_builder_config bc;
    struct pvcore_builder_result res;
    pvcore_mfn_t gnt[MINIHV_GRANT_FRAMES];
    uint64_t pfn, shared_mfn, i;
    size_t dsize = pvcore_domain_size(1), bytes;
    void *table;
    int rc;

    rc = pvcore_elf_parse(kernel, size, &elf);
    if (rc) {
        con_printf("minihv: d%u: not a loadable PV kernel: %s (error %d)\n", domid,
                   pvcore_strerror(rc), rc);
        return -1;
    }
    rc = pvcore_builder_layout(&elf, mem_pages, ramdisk_len, 0, &layout);
    if (rc) {
        con_printf("minihv: d%u: the boot layout does not fit in %lu pages of guest space: "
                   "%s\n", domid, mem_pages, pvcore_strerror(rc));
        return -1;
    }
    g->is32 = !elf.is64;
    g->domid = domid;
    g->nr_pages = mem_pages;
    g->line_len = 0;

    /* The domain, its memory (zeroed: nothing leaks between domains) and its P2M. */
    memset(&cfg, 0, sizeof(cfg));
    cfg.domid = domid;
    cfg.nr_vcpus = 1;
    cfg.flags = g->is32 ? PVCORE_DOMAIN_GUEST_32 : 0;
    /* + shared info, grant table and status, and room for memory_op: a back-end that flips
     * pages populates a request's worth before it gives them away. */
    cfg.max_pages = mem_pages + 2 + MINIHV_GRANT_FRAMES + MINIHV_SPARE_PAGES;
    rc = pvcore_domain_create(mm_machine(), phys_to_virt(mm_alloc_frames((dsize + 4095) / 4096) << 12),
                              dsize, &cfg, &g->d);
    if (rc) {
        panic("pvcore_domain_create: %s", pvcore_strerror(rc));
    }
    g->v = pvcore_domain_vcpu(g->d, 0);
    g->p2m = phys_to_virt(mm_alloc_frames((mem_pages * 8 + 4095) / 4096) << 12);
    if (pvcore_domain_set_p2m(g->d, g->p2m, mem_pages)) { /* assign fills it in */
        panic("pvcore_domain_set_p2m");
    }
    for (pfn = 0; pfn < mem_pages; pfn++) {
        uint64_t mfn = mm_alloc_guest_frame();
        memset(phys_to_virt(mfn << 12), 0, PAGE_SIZE);
        rc = pvcore_domain_assign(g->d, pvcore_mfn(mfn), pvcore_gfn(pfn));
        if (rc) {
            panic("pvcore_domain_assign: %s", pvcore_strerror(rc));
        }
    }

    /* The shared-info page and the grant table's frames: the domain's, but outside its
     * pseudo-physical space. */
    shared_mfn = mm_alloc_guest_frame();
    if (pvcore_domain_assign(g->d, pvcore_mfn(shared_mfn), pvcore_gfn(UINT64_MAX)) != 0 ||
        pvcore_domain_set_shared_info(g->d, pvcore_mfn(shared_mfn)) != 0) {
        panic("the shared-info page of d%u", domid);
    }
    for (i = 0; i < MINIHV_GRANT_FRAMES; i++) {
        gnt[i] = pvcore_mfn(mm_alloc_guest_frame());
        memset(phys_to_virt(gnt[i].v << 12), 0, PAGE_SIZE);
        if (pvcore_domain_assign(g->d, gnt[i], pvcore_gfn(UINT64_MAX)) != 0) {
            panic("pvcore_domain_assign (grant table)");
        }
    }
    if (pvcore_domain_set_grant_frames(g->d, gnt, MINIHV_GRANT_FRAMES) != 0) {
        panic("pvcore_domain_set_grant_frames");
    }
    /* The grant state: active entries for its table, maptrack for the grants it maps. */
    bytes = pvcore_grant_state_size(MINIHV_GRANT_FRAMES, MINIHV_GRANT_HANDLES);
    if (pvcore_domain_set_grant_state(g->d,
                                      phys_to_virt(mm_alloc_frames((bytes + PAGE_SIZE - 1) / PAGE_SIZE) << 12),
                                      bytes, MINIHV_GRANT_HANDLES) != 0) {
        panic("pvcore_domain_set_grant_state");
    }
    /* Version-2 status frames (one covers 8 table frames). */
    {
        pvcore_mfn_t st = pvcore_mfn(mm_alloc_guest_frame());
        memset(phys_to_virt(st.v << 12), 0, PAGE_SIZE);
        if (pvcore_domain_assign(g->d, st, pvcore_gfn(UINT64_MAX)) != 0 ||
            pvcore_domain_set_grant_status_frames(g->d, &st, 1) != 0) {
            panic("grant status frames for d%u", domid);
        }
    }
    /* Event channels: the port table, and the console's port, unbound for the control
     * domain as a toolstack leaves it (minihv has none: the guest's sends on it are
     * dropped, as Xen drops them on an unbound port, and minihv drains the ring when the
     * guest yields). */
    bytes = pvcore_evtchn_table_size(MINIHV_EVTCHN_PORTS);
    table = phys_to_virt(mm_alloc_frames((bytes + PAGE_SIZE - 1) / PAGE_SIZE) << 12);
    if (pvcore_domain_set_evtchn_table(g->d, table, bytes) != 0 ||
        pvcore_domain_evtchn_alloc_unbound(g->d, 0, &g->console_port) != 0 ||
        pvcore_domain_evtchn_alloc_unbound(g->d, 0, &g->store_port) != 0) {
        panic("event channels for d%u", domid);
    }

    /* The start-of-day state, by the library's builder. */
    memset(&bc, 0, sizeof(bc));
    bc.elf = &elf;
    bc.layout = &layout;
    bc.ramdisk = ramdisk;
    bc.cmdline = cmdline;
    bc.console_evtchn = g->console_port;
    bc.store_evtchn = g->store_port;
    rc = pvcore_builder_build(g->d, &bc, &res);
    if (rc) {
        panic("builder: d%u: %s", domid, pvcore_strerror(rc));
    }
    /* minihv's console and xenstore back-ends write these pages: held, so that the guest
     * cannot give them away (decrease_reservation, a transfer) while they are served. */
    if (pvcore_domain_hold_frame(g->d, res.console_mfn) != 0 || pvcore_domain_hold_frame(g->d, res.store_mfn) != 0) {
        panic("holding d%u's ring pages", domid);
    }
    g->console_mfn = res.console_mfn.v;
    g->store_mfn = res.store_mfn.v;
    g->store_conn = NULL;
    g->user_base = PVCORE_INVALID_MFN_VALUE;

    memset(&g->regs, 0, sizeof(g->regs));
    g->regs.rip = res.regs.rip;
    g->regs.rsp = res.regs.rsp;
    g->regs.rsi = res.regs.rsi;
    g->regs.rflags = res.regs.rflags;
    g->regs.cs = res.regs.cs;
    g->regs.ss = res.regs.ss;

    con_printf("minihv: d%u: %s %s kernel \"%s\"%s, %lu pages, entry 0x%lx, virt_base 0x%lx, "
               "%lu page tables at 0x%lx, hypercall page %s, ramdisk %lu bytes at 0x%lx\n",
               domid, g->is32 ? "32-bit PAE" : "64-bit", elf.is64 ? "ELF64" : "ELF32",
               elf.guest_os[0] ? elf.guest_os : "?",
               elf.source == PVCORE_ELF_FROM_XEN_GUEST ? " (__xen_guest)" : "", mem_pages,
               elf.entry, elf.virt_base, layout.nr_pt_frames, layout.pt_base,
               elf.hypercall_page != PVCORE_ELF_UNSET ? "filled" : "none", ramdisk_len,
               layout.ramdisk);
    return 0;
}
