/*
 * build.c: the domain builder. Creates a PV domain from a guest kernel image the way
 * Xen's builder lays it out (see the "start of day" layout in the ABI):
 *
 *   virt_base + ...  kernel image | p2m list | start_info | xenstore page | console page
 *                    | bootstrap page tables (root first) | boot stack | padding
 *
 * all mapped 1:1 onto the first pseudo-physical frames, read-write except the page-table
 * frames, which are read-only. The region ends on a 4 MiB boundary with at least 512 KiB
 * to spare. The root table is then validated and pinned through libpvcore, exactly as a
 * guest's own MMUEXT_PIN_* would, and made the vCPU's base pointer.
 */
#include <pvcore/abi/xen.h>

#include "minihv.h"

#define MB4 0x400000ull
#define PADDING 0x80000ull

#define FLAGS_RW (PVCORE_X86_PTE_P | PVCORE_X86_PTE_RW | PVCORE_X86_PTE_A | PVCORE_X86_PTE_D)
#define FLAGS_RO (PVCORE_X86_PTE_P | PVCORE_X86_PTE_A)
#define FLAGS_UP (FLAGS_RW | PVCORE_X86_PTE_US)

struct layout {
    struct guest *g;
    const struct elf_image *img;
    uint64_t va_p2m, va_si, va_store, va_console, va_pt, nr_pt, va_stack, v_end;
    uint64_t next_pt; /* next free page-table frame (pfn) */
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static uint64_t va_to_pfn(const struct layout *l, uint64_t va)
{
    return (va - l->img->virt_base) >> 12;
}

static uint64_t va_to_maddr(void *ctx, uint64_t va)
{
    const struct layout *l = ctx;
    uint64_t pfn = va_to_pfn(l, va);

    if (va < l->img->virt_base || pfn >= l->g->nr_pages) {
        panic("builder: va 0x%lx outside the domain", va);
    }
    return (l->g->p2m[pfn] << 12) | (va & 0xfff);
}

static void *va_ptr(const struct layout *l, uint64_t va)
{
    return phys_to_virt(va_to_maddr((void *)l, va));
}

/* Page tables needed to map [start, end): one root plus one table per distinct region. */
static uint64_t tables_needed(int is32, uint64_t start, uint64_t end)
{
    uint64_t n = 1, shift;
    unsigned levels = is32 ? 2 : 3, lv;

    for (lv = 0; lv < levels; lv++) {
        shift = 21 + 9 * lv; /* an L1 spans 2 MiB, an L2 1 GiB, an L3 512 GiB */
        n += ((end - 1) >> shift) - (start >> shift) + 1;
    }
    /* A PAE guest always has the L2 of slot 3 (the hypervisor's entries live there). */
    if (is32 && ((end - 1) >> 30) != 3) {
        n++;
    }
    return n;
}

static uint64_t new_table(struct layout *l)
{
    uint64_t pfn = l->next_pt++;

    if (pfn >= va_to_pfn(l, l->va_pt) + l->nr_pt) {
        panic("builder: page-table area overflow");
    }
    return l->g->p2m[pfn];
}

/* The entry of `table` at `index`, created as a new table one level down if empty. */
static uint64_t child(struct layout *l, uint64_t table, unsigned index, uint64_t flags)
{
    uint64_t *t = phys_to_virt(table << 12);

    if (!(t[index] & PVCORE_X86_PTE_P)) {
        t[index] = pvcore_x86_pte(new_table(l) << 12, flags);
    }
    return pvcore_x86_pte_addr(t[index]) >> 12;
}

static void map_page(struct layout *l, uint64_t root, uint64_t va, uint64_t flags)
{
    uint64_t l1, *t;

    if (l->g->is32) {
        uint64_t l2 = child(l, root, pvcore_x86_pae_l3_index((uint32_t)va), PVCORE_X86_PTE_P);
        l1 = child(l, l2, pvcore_x86_pae_l2_index((uint32_t)va), FLAGS_UP);
        t = phys_to_virt(l1 << 12);
        t[pvcore_x86_pae_l1_index((uint32_t)va)] = pvcore_x86_pte(va_to_maddr(l, va) & ~0xfffull, flags);
    } else {
        uint64_t l3 = child(l, root, pvcore_x86_l4_index(va), FLAGS_UP);
        uint64_t l2 = child(l, l3, pvcore_x86_l3_index(va), FLAGS_UP);
        l1 = child(l, l2, pvcore_x86_l2_index(va), FLAGS_UP);
        t = phys_to_virt(l1 << 12);
        t[pvcore_x86_l1_index(va)] = pvcore_x86_pte(va_to_maddr(l, va) & ~0xfffull, flags);
    }
}

static void fill_hypercall_page(struct layout *l)
{
    uint8_t *p = va_ptr(l, l->img->hypercall_page);
    unsigned i;

    memset(p, 0xcc, PAGE_SIZE); /* int3 between and after the stubs */
    for (i = 0; i < PAGE_SIZE / 32; i++) {
        uint8_t *s = p + i * 32;
        unsigned k = 0;
        if (l->g->is32) {
            /* mov $i, %eax; int $0x82; ret   (iret: push %eax first, and no ret) */
            if (i == PVCORE_HYPERVISOR_iret) {
                s[k++] = 0x50;
            }
            s[k++] = 0xb8;
            memcpy(s + k, &i, 4);
            k += 4;
            s[k++] = 0xcd;
            s[k++] = 0x82;
            if (i != PVCORE_HYPERVISOR_iret) {
                s[k++] = 0xc3;
            }
        } else {
            /* push %rcx; push %r11; mov $i, %eax; syscall; pop %r11; pop %rcx; ret
               (iret: push %rax after the pushes, and nothing after the syscall) */
            s[k++] = 0x51;
            s[k++] = 0x41;
            s[k++] = 0x53;
            if (i == PVCORE_HYPERVISOR_iret) {
                s[k++] = 0x50;
            }
            s[k++] = 0xb8;
            memcpy(s + k, &i, 4);
            k += 4;
            s[k++] = 0x0f;
            s[k++] = 0x05;
            if (i != PVCORE_HYPERVISOR_iret) {
                s[k++] = 0x41;
                s[k++] = 0x5b;
                s[k++] = 0x59;
                s[k++] = 0xc3;
            }
        }
    }
}

static void fill_start_info(struct layout *l, uint64_t shared_mfn, const char *cmdline)
{
    struct guest *g = l->g;
    size_t n = strlen(cmdline);

    if (n >= PVCORE_MAX_GUEST_CMDLINE) {
        n = PVCORE_MAX_GUEST_CMDLINE - 1;
    }
    if (g->is32) {
        struct pvcore_start_info_x86_32 *si = va_ptr(l, l->va_si);
        memcpy(si->magic, "xen-3.0-x86_32p", 16);
        si->nr_pages = (uint32_t)g->nr_pages;
        si->shared_info = (uint32_t)(shared_mfn << 12);
        si->store_mfn = (uint32_t)g->p2m[va_to_pfn(l, l->va_store)];
        si->console.domU.mfn = (uint32_t)g->p2m[va_to_pfn(l, l->va_console)];
        si->console.domU.evtchn = g->console_port;
        si->pt_base = (uint32_t)l->va_pt;
        si->nr_pt_frames = (uint32_t)l->nr_pt;
        si->mfn_list = (uint32_t)l->va_p2m;
        memcpy(si->cmd_line, cmdline, n);
    } else {
        struct pvcore_start_info_x86_64 *si = va_ptr(l, l->va_si);
        memcpy(si->magic, "xen-3.0-x86_64", 15);
        si->nr_pages = g->nr_pages;
        si->shared_info = shared_mfn << 12;
        si->store_mfn = g->p2m[va_to_pfn(l, l->va_store)];
        si->console.domU.mfn = g->p2m[va_to_pfn(l, l->va_console)];
        si->console.domU.evtchn = g->console_port;
        si->pt_base = l->va_pt;
        si->nr_pt_frames = l->nr_pt;
        si->mfn_list = l->va_p2m;
        memcpy(si->cmd_line, cmdline, n);
    }
}

static int ext_op(struct guest *g, uint32_t cmd, uint64_t mfn)
{
    struct pvcore_mmuext_req op = { .cmd = cmd, .arg1 = mfn };
    int rc;

    do {
        rc = pvcore_mmuext_op(g->v, &op, 1, NULL, PVCORE_DOMID_SELF);
    } while (rc == -PVCORE_ERESTART);
    return rc;
}

int build_guest(struct guest *g, uint16_t domid, const void *kernel, uint64_t size,
                const char *cmdline, uint64_t mem_pages)
{
    struct pvcore_domain_config cfg;
    struct elf_image img;
    struct layout l;
    uint64_t pfn, va, root, shared_mfn, p2m_bytes, i;
    size_t dsize = pvcore_domain_size(1);
    int rc;

    rc = elf_parse(&img, kernel, size);
    if (rc) {
        con_printf("minihv: d%u: not a loadable PV kernel (error %d)\n", domid, rc);
        return -1;
    }
    g->is32 = !img.is64;
    g->domid = domid;
    g->nr_pages = mem_pages;
    g->line_len = 0;

    /* The layout. */
    memset(&l, 0, sizeof(l));
    l.g = g;
    l.img = &img;
    p2m_bytes = mem_pages * (g->is32 ? 4 : 8);
    l.va_p2m = img.v_end;
    l.va_si = align_up(l.va_p2m + p2m_bytes, PAGE_SIZE);
    l.va_store = l.va_si + PAGE_SIZE;
    l.va_console = l.va_store + PAGE_SIZE;
    l.va_pt = l.va_console + PAGE_SIZE;
    for (l.nr_pt = 1;;) {
        uint64_t need;
        l.va_stack = l.va_pt + l.nr_pt * PAGE_SIZE;
        l.v_end = align_up(l.va_stack + PAGE_SIZE + PADDING, MB4);
        need = tables_needed(g->is32, img.v_start, l.v_end);
        if (need <= l.nr_pt) {
            break;
        }
        l.nr_pt = need;
    }
    if (l.v_end < img.v_end || va_to_pfn(&l, l.v_end) > mem_pages ||
        (g->is32 && l.v_end > 0xF5800000ull) ||
        (!g->is32 && !(l.v_end <= 0x0000800000000000ull || img.v_start >= 0xFFFF880000000000ull))) {
        con_printf("minihv: d%u: the boot layout does not fit in %lu pages of guest space\n", domid,
                   mem_pages);
        return -1;
    }

    /* Only now, with nothing left that can fail, the domain. */
    memset(&cfg, 0, sizeof(cfg));
    cfg.domid = domid;
    cfg.nr_vcpus = 1;
    cfg.flags = g->is32 ? PVCORE_DOMAIN_GUEST_32 : 0;
    cfg.max_pages = mem_pages + 1 + MINIHV_GRANT_FRAMES; /* + shared info and grant table */
    rc = pvcore_domain_create(mm_machine(), phys_to_virt(mm_alloc_frames((dsize + 4095) / 4096) << 12),
                              dsize, &cfg, &g->d);
    if (rc) {
        panic("pvcore_domain_create: %s", pvcore_strerror(rc));
    }
    g->v = pvcore_domain_vcpu(g->d, 0);
    g->p2m = phys_to_virt(mm_alloc_frames((mem_pages * 8 + 4095) / 4096) << 12);
    if (pvcore_domain_set_p2m(g->d, g->p2m, mem_pages)) {
        panic("pvcore_domain_set_p2m");
    }
    for (pfn = 0; pfn < mem_pages; pfn++) {
        uint64_t mfn = mm_alloc_guest_frame();
        memset(phys_to_virt(mfn << 12), 0, PAGE_SIZE); /* nothing leaks between domains */
        rc = pvcore_domain_assign(g->d, pvcore_mfn(mfn), pvcore_gfn(pfn));
        if (rc) {
            panic("pvcore_domain_assign: %s", pvcore_strerror(rc));
        }
    }

    elf_load(&img, va_to_maddr, &l);
    if (img.has_hypercall_page) {
        fill_hypercall_page(&l);
    }

    /* The initial p2m, in the guest's word size. */
    for (i = 0; i < mem_pages; i++) {
        if (g->is32) {
            ((uint32_t *)va_ptr(&l, l.va_p2m + i * 4))[0] = (uint32_t)g->p2m[i];
        } else {
            ((uint64_t *)va_ptr(&l, l.va_p2m + i * 8))[0] = g->p2m[i];
        }
    }

    /* The shared-info page: the domain's, but outside its pseudo-physical space. */
    shared_mfn = mm_alloc_guest_frame();
    memset(phys_to_virt(shared_mfn << 12), 0, PAGE_SIZE);
    rc = pvcore_domain_assign(g->d, pvcore_mfn(shared_mfn), pvcore_gfn(UINT64_MAX));
    if (rc) {
        panic("pvcore_domain_assign (shared info): %s", pvcore_strerror(rc));
    }
    ((uint8_t *)phys_to_virt(shared_mfn << 12))[1] = 1; /* vcpu_info[0].evtchn_upcall_mask */
    if (pvcore_domain_set_shared_info(g->d, pvcore_mfn(shared_mfn)) != 0) {
        panic("pvcore_domain_set_shared_info");
    }
    /* The grant table's frames, the domain's, outside its pseudo-physical space too. */
    {
        pvcore_mfn_t gnt[MINIHV_GRANT_FRAMES];
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
    }
    /* Event channels: the port table, and the console's port, unbound for the control
     * domain as a toolstack leaves it (minihv has none: the guest's sends on it are
     * dropped, as Xen drops them on an unbound port, and minihv drains the ring when the
     * guest yields). */
    {
        size_t bytes = pvcore_evtchn_table_size(MINIHV_EVTCHN_PORTS);
        void *table = phys_to_virt(mm_alloc_frames((bytes + PAGE_SIZE - 1) / PAGE_SIZE) << 12);
        if (pvcore_domain_set_evtchn_table(g->d, table, bytes) != 0 ||
            pvcore_domain_evtchn_alloc_unbound(g->d, 0, &g->console_port) != 0) {
            panic("event channels for d%u", domid);
        }
    }
    g->console_mfn = g->p2m[va_to_pfn(&l, l.va_console)];
    g->user_base = PVCORE_INVALID_MFN_VALUE;

    fill_start_info(&l, shared_mfn, cmdline);

    /* The bootstrap page tables. */
    l.next_pt = va_to_pfn(&l, l.va_pt);
    root = new_table(&l);
    if (g->is32) {
        child(&l, root, 3, PVCORE_X86_PTE_P);
    }
    for (va = img.v_start; va < l.v_end; va += PAGE_SIZE) {
        int is_pt = va >= l.va_pt && va < l.va_pt + l.nr_pt * PAGE_SIZE;
        map_page(&l, root, va, is_pt ? FLAGS_RO : FLAGS_RW);
    }
    rc = ext_op(g, g->is32 ? PVCORE_MMUEXT_PIN_L3_TABLE : PVCORE_MMUEXT_PIN_L4_TABLE, root);
    if (rc == 0) {
        rc = ext_op(g, PVCORE_MMUEXT_NEW_BASEPTR, root);
    }
    if (rc) {
        panic("builder: the bootstrap tables were refused: %s", pvcore_strerror(rc));
    }

    /* The registers at entry. */
    memset(&g->regs, 0, sizeof(g->regs));
    g->regs.rip = img.entry;
    g->regs.rsp = l.va_stack + PAGE_SIZE;
    g->regs.rsi = l.va_si;
    g->regs.rflags = PVCORE_X86_RFLAGS_IF | 0x2;
    g->regs.cs = g->is32 ? PVCORE_FLAT_RING1_CS_X86_32 : PVCORE_FLAT_RING3_CS64_X86_64;
    g->regs.ss = g->is32 ? PVCORE_FLAT_RING1_SS_X86_32 : PVCORE_FLAT_RING3_SS64_X86_64;

    con_printf("minihv: d%u: %s %s kernel \"%s\"%s, %lu pages, entry 0x%lx, virt_base 0x%lx, "
               "%lu page tables at 0x%lx, hypercall page %s\n",
               domid, g->is32 ? "32-bit PAE" : "64-bit", img.is64 ? "ELF64" : "ELF32",
               img.guest_os[0] ? img.guest_os : "?", img.legacy ? " (__xen_guest)" : "",
               mem_pages, img.entry, img.virt_base, l.nr_pt, l.va_pt,
               img.has_hypercall_page ? "filled" : "none");
    return 0;
}
