/*
 * mm.c: physical memory. Reads the multiboot memory map, hands RAM to libpvcore's frame
 * table, keeps a hypervisor heap (frames owned by DOMID_XEN) and maps the machine-to-phys
 * table read-only for 64-bit guests at 0xFFFF800000000000.
 */
#include "minihv.h"

#define MB_FLAG_MODS (1u << 3)
#define MB_FLAG_MMAP (1u << 6)
#define HEAP_EXTRA_FRAMES 1024u /* 4 MiB for domains, per-vCPU tables and the checker */
#define MAX_DOMAINS 64u

struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_mmap {
    uint32_t size;
    uint64_t base, len;
    uint32_t type;
} __attribute__((packed));

struct mb_module {
    uint32_t start, end, string, reserved;
};

extern uint64_t boot_pml4[512];
extern char _image_end[];

uint64_t mm_hyp_l4_slots[16];

static struct pvcore_machine *machine;
static uint64_t heap_next, heap_end;     /* physical, the hypervisor heap */
static uint64_t guest_next, nr_frames;   /* next frame to try for guests */
static uint64_t image_first_frame;

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

uint64_t mm_alloc_frames(uint64_t count)
{
    uint64_t pa = heap_next;

    if (count > (heap_end - heap_next) / PAGE_SIZE) {
        panic("hypervisor heap exhausted (%lu frames wanted)", count);
    }
    heap_next += count * PAGE_SIZE;
    memset(phys_to_virt(pa), 0, count * PAGE_SIZE);
    return pa >> 12;
}

struct pvcore_machine *mm_machine(void)
{
    return machine;
}

/* Is [first, first + n) all RAM with no owner: free for a guest? */
static int frames_free(uint64_t first, uint64_t n)
{
    struct pvcore_frame_info fi;
    uint64_t i;

    for (i = 0; i < n; i++) {
        if (pvcore_frame_query(machine, pvcore_mfn(first + i), &fi) != 0 || !(fi.flags & PVCORE_FRAME_RAM) ||
            fi.owner != PVCORE_DOMID_INVALID) {
            return 0;
        }
    }
    return 1;
}

/*
 * libpvcore's frame source (pvcore_frame_alloc_fn): memory_op's new frames and a
 * transfer's low frame, and the builder's. The next aligned run of 2^order free frames
 * below the address limit, searched round from where the last search ended, so frames
 * the guests gave back (decrease_reservation, a transfer that failed) are used again.
 * minihv runs one vCPU at a time, so no lock: the library takes the frames from here.
 */
static int frame_source(void *ctx, uint16_t domid, uint32_t order, uint32_t address_bits, pvcore_mfn_t *first)
{
    uint64_t n = 1ull << order, limit = nr_frames, lo = heap_end >> 12, start, f, tries;

    (void)ctx;
    (void)domid;
    if (address_bits != 0 && address_bits <= 12) {
        return -PVCORE_ENOMEM; /* not a limit the library passes */
    }
    if (address_bits != 0 && address_bits < 64 && (1ull << (address_bits - 12)) < limit) {
        limit = 1ull << (address_bits - 12);
    }
    lo = align_up(lo, n);
    if (lo >= limit || limit - lo < n) {
        return -PVCORE_ENOMEM;
    }
    start = align_up(guest_next, n);
    if (start < lo || start > limit - n) {
        start = lo;
    }
    for (f = start, tries = (limit - lo) / n; tries > 0; tries--) {
        if (frames_free(f, n)) {
            guest_next = f + n;
            *first = pvcore_mfn(f);
            return 0;
        }
        f += n;
        if (f > limit - n) {
            f = lo;
        }
    }
    return -PVCORE_ENOMEM;
}

uint64_t mm_alloc_guest_frame(void)
{
    pvcore_mfn_t f;

    if (frame_source(NULL, 0, 0, 0, &f) != 0) {
        panic("out of guest memory");
    }
    return f.v;
}

uint64_t mm_xen_frame_example(void)
{
    return image_first_frame + 1; /* a frame of the hypervisor's own code */
}

static void flush_all(void)
{
    pvcore_x86_write_cr3(pvcore_x86_read_cr3());
}

/* Maps the M2P read-only (and user-accessible: 64-bit guest kernels run in ring 3). */
static void map_m2p(uint64_t m2p_first, uint64_t m2p_frames)
{
    uint64_t nr_l1 = (m2p_frames + 511) / 512, i;
    uint64_t l3 = mm_alloc_frames(1), l2 = mm_alloc_frames(1), l1 = mm_alloc_frames(nr_l1);
    uint64_t *l3p = phys_to_virt(l3 << 12), *l2p = phys_to_virt(l2 << 12);
    uint64_t up = PVCORE_X86_PTE_P | PVCORE_X86_PTE_RW | PVCORE_X86_PTE_US | PVCORE_X86_PTE_A;

    if (nr_l1 > 512) {
        panic("M2P too large for one L2");
    }
    for (i = 0; i < m2p_frames; i++) {
        uint64_t *l1p = phys_to_virt((l1 + i / 512) << 12);
        l1p[i % 512] = pvcore_x86_pte((m2p_first + i) << 12,
                                      PVCORE_X86_PTE_P | PVCORE_X86_PTE_US | PVCORE_X86_PTE_A);
    }
    for (i = 0; i < nr_l1; i++) {
        l2p[i] = pvcore_x86_pte((l1 + i) << 12, up);
    }
    l3p[0] = pvcore_x86_pte(l2 << 12, up);
    boot_pml4[256] = pvcore_x86_pte(l3 << 12, up);
}

uint64_t mm_hyp_pae_l2_slots[84];
uint64_t *mm_desc_area_l1;
uint64_t mm_zero_frame;

/*
 * The descriptor area (L4 slot 261, hypervisor only): one L1 whose first 16 entries map
 * the GDT the processor uses (the running vCPU's 14 GDT frames, then minihv's reserved
 * page) and whose next 16 map the vCPU's LDT pages as they fault in (cpu.c).
 */
static void map_desc_area(void)
{
    uint64_t l3 = mm_alloc_frames(1), l2 = mm_alloc_frames(1), l1 = mm_alloc_frames(1);
    uint64_t sup = PVCORE_X86_PTE_P | PVCORE_X86_PTE_RW | PVCORE_X86_PTE_A;

    ((uint64_t *)phys_to_virt(l3 << 12))[(DESC_AREA_VA >> 30) & 511] = pvcore_x86_pte(l2 << 12, sup);
    ((uint64_t *)phys_to_virt(l2 << 12))[(DESC_AREA_VA >> 21) & 511] = pvcore_x86_pte(l1 << 12, sup);
    boot_pml4[(DESC_AREA_VA >> 39) & 511] = pvcore_x86_pte(l3 << 12, sup);
    mm_desc_area_l1 = phys_to_virt(l1 << 12);
    mm_zero_frame = mm_alloc_frames(1);
}

/*
 * The 32-bit guests' copy of the M2P, read-only (and user-accessible, as Xen maps it) at
 * 0xF5800000, the first of the hypervisor's slots in a 32-bit guest's top L2: slot 428
 * onwards, 2 MiB each, filled into every such L2 by libpvcore.
 */
static void map_m2p_compat(uint64_t first, uint64_t frames)
{
    uint64_t nr_l1 = (frames + 511) / 512, i;
    uint64_t l1 = mm_alloc_frames(nr_l1);
    uint64_t up = PVCORE_X86_PTE_P | PVCORE_X86_PTE_RW | PVCORE_X86_PTE_US | PVCORE_X86_PTE_A;

    if (nr_l1 > 8) {
        panic("compat M2P larger than its 16 MiB window");
    }
    for (i = 0; i < frames; i++) {
        uint64_t *l1p = phys_to_virt((l1 + i / 512) << 12);
        l1p[i % 512] = pvcore_x86_pte((first + i) << 12,
                                      PVCORE_X86_PTE_P | PVCORE_X86_PTE_US | PVCORE_X86_PTE_A);
    }
    for (i = 0; i < nr_l1; i++) {
        mm_hyp_pae_l2_slots[i] = pvcore_x86_pte((l1 + i) << 12, up);
    }
}

void mm_init(uint32_t mbi_phys)
{
    const struct mb_info *mbi = phys_to_virt(mbi_phys);
    uint64_t ram_end = 0, top = virt_to_phys(_image_end), off, i, ft_bytes, m_bytes, m2p_frames;
    uint64_t region_end = 0, heap_first, m2p_compat_frames;
    struct pvcore_machine_config cfg;
    int rc;

    if (!(mbi->flags & MB_FLAG_MMAP)) {
        panic("no multiboot memory map");
    }
    image_first_frame = 0x100000 >> 12;
    if (mbi->flags & MB_FLAG_MODS) {
        const struct mb_module *mod = phys_to_virt(mbi->mods_addr);
        for (i = 0; i < mbi->mods_count; i++) {
            if (mod[i].end > top) {
                top = mod[i].end;
            }
        }
    }
    heap_first = align_up(top, PAGE_SIZE);
    for (off = 0; off < mbi->mmap_length;) {
        const struct mb_mmap *e = phys_to_virt(mbi->mmap_addr + off);
        uint64_t end = e->base + e->len;
        if (e->type == 1) {
            if (end > DIRECTMAP_SIZE) {
                end = DIRECTMAP_SIZE;
            }
            if (end > ram_end) {
                ram_end = end;
            }
            if (e->base <= heap_first && end > heap_first) {
                region_end = end;
            }
        }
        off += e->size + 4;
    }
    nr_frames = ram_end >> 12;
    ft_bytes = pvcore_frame_table_size(nr_frames);
    m_bytes = pvcore_machine_size(MAX_DOMAINS);
    m2p_frames = (nr_frames * 8 + PAGE_SIZE - 1) / PAGE_SIZE;
    m2p_compat_frames = (nr_frames * 4 + PAGE_SIZE - 1) / PAGE_SIZE;
    heap_next = heap_first;
    heap_end = heap_first + (HEAP_EXTRA_FRAMES + m2p_frames + 2 * m2p_compat_frames +
                             (ft_bytes + m_bytes) / PAGE_SIZE + 8) *
                                PAGE_SIZE;
    if (heap_end > region_end) {
        panic("not enough RAM after the image and modules");
    }

    memset(&cfg, 0, sizeof(cfg));
    cfg.nr_frames = nr_frames;
    cfg.frame_table_bytes = ft_bytes;
    cfg.frame_table = phys_to_virt(mm_alloc_frames((ft_bytes + PAGE_SIZE - 1) / PAGE_SIZE) << 12);
    cfg.directmap = phys_to_virt(0);
    cfg.m2p = phys_to_virt(mm_alloc_frames(m2p_frames) << 12);
    cfg.max_domains = MAX_DOMAINS;
    cfg.flags = cpu_has_nx ? 0 : PVCORE_MACHINE_NO_NX;
    cfg.ops = &minihv_host_ops;
    cfg.hyp_l4_slots = mm_hyp_l4_slots;
    cfg.m2p_compat = phys_to_virt(mm_alloc_frames(m2p_compat_frames) << 12);
    cfg.hyp_pae_l2_slots = mm_hyp_pae_l2_slots;
    map_m2p(virt_to_phys(cfg.m2p) >> 12, m2p_frames);
    map_m2p_compat(virt_to_phys(cfg.m2p_compat) >> 12, m2p_compat_frames);
    map_desc_area();
    for (i = 0; i < 16; i++) {
        mm_hyp_l4_slots[i] = boot_pml4[256 + i];
    }
    rc = pvcore_machine_init(phys_to_virt(mm_alloc_frames((m_bytes + PAGE_SIZE - 1) / PAGE_SIZE) << 12),
                             m_bytes, &cfg, &machine);
    if (rc) {
        panic("pvcore_machine_init: %s", pvcore_strerror(rc));
    }

    /* All RAM from 1 MiB up goes into the frame table; low memory stays the firmware's. */
    for (off = 0; off < mbi->mmap_length;) {
        const struct mb_mmap *e = phys_to_virt(mbi->mmap_addr + off);
        uint64_t first = align_up(e->base, PAGE_SIZE) >> 12, end = (e->base + e->len) >> 12;
        if (first < 0x100) {
            first = 0x100;
        }
        if (end > nr_frames) {
            end = nr_frames;
        }
        if (e->type == 1 && end > first) {
            rc = pvcore_frame_add_ram(machine, pvcore_mfn(first), end - first);
            if (rc) {
                panic("pvcore_frame_add_ram: %s", pvcore_strerror(rc));
            }
        }
        off += e->size + 4;
    }
    /* The image, the modules and the heap belong to the hypervisor. */
    rc = pvcore_frame_reserve_xen(machine, pvcore_mfn(image_first_frame), (heap_end >> 12) - image_first_frame);
    if (rc) {
        panic("pvcore_frame_reserve_xen: %s", pvcore_strerror(rc));
    }
    guest_next = heap_end >> 12;
    pvcore_machine_set_frame_source(machine, frame_source, NULL);
    boot_pml4[0] = 0; /* the identity map was only for the jump to 64-bit code */
    flush_all();
    con_printf("minihv: RAM %lu MiB, %lu frames; hypervisor 0x%lx-0x%lx; M2P %lu frames\n",
               ram_end >> 20, nr_frames, (uint64_t)0x100000, heap_end, m2p_frames);
}
