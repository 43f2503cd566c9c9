/*
 * builder.c: the domain builder (<pvcore/builder.h>): the start-of-day layout, planned
 * from the kernel's virt_base in the ABI's order, and written into a domain's frames.
 *
 * The plan follows Xen's builder exactly, so that a guest sees the same pt_base,
 * nr_pt_frames and stack as under Xen: the bootstrap page tables are numbered level by
 * level from the top (the root, then every L3, every L2, every L1), each level's tables
 * covering consecutive stretches of the region; the padding loop grows the region until
 * the tables, the stack and 512 KiB fit before its 4 MiB-aligned end.
 *
 * The build writes guest frames through the machine's directmap, and only frames it
 * has checked are the domain's fresh RAM; then it hands the root table to the validator
 * (pvcore_mmuext_op()), so that nothing the builder wrote is trusted unchecked.
 */
#include <pvcore/builder.h>
#include <pvcore/machine.h>
#include <pvcore/mmu.h>
#include <pvcore/abi/errno.h>
#include <pvcore/abi/xen.h>

#include "internal/builder.h"
#include "internal/domain.h"
#include "internal/paging.h"

#define PAGE PVCORE_PAGE_SIZE
#define PAGE_MASK ((uint64_t)PVCORE_PAGE_SIZE - 1)
#define REGION_ALIGN_MASK ((4ull << 20) - 1) /* the region ends on a 4 MiB boundary */
#define PADDING_PAGES (512u * 1024u / PVCORE_PAGE_SIZE)
#define LEGACY_MAX_VCPUS 32u                 /* vcpu_info slots in shared info */
#define VCPU_INFO_SIZE 64u
#define SI_UPCALL_MASK 1u                    /* vcpu_info.evtchn_upcall_mask */

#define PAE_HYP_START 0xF5800000ull          /* a 32-bit guest's hypervisor hole */
#define X86_64_LOW_END 0x0000800000000000ull /* end of the lower canonical half */
#define X86_64_HYP_END 0xFFFF880000000000ull /* end of the hypervisor's L4 slots */

/* Page-table entry flags of Xen's builder. */
#define NONLEAF_FLAGS (PTE_P | PTE_RW | PTE_A | PTE_D | PTE_US)
#define LEAF_FLAGS (PTE_P | PTE_RW | PTE_A)

/* ---- the plan -------------------------------------------------------------------------- */

/* Appends `bytes` rounded up to pages at *at; false on overflow. */
static bool take(uint64_t *at, uint64_t bytes, uint64_t *where)
{
    uint64_t pages = bytes / PAGE + ((bytes & PAGE_MASK) != 0);

    if (pages > (UINT64_MAX - *at) / PAGE) {
        return false;
    }
    *where = *at;
    *at += pages * PAGE;
    return true;
}

/* Shift of the virtual-address bits one table of `level` covers (an L1: 21). */
static unsigned table_shift(unsigned level)
{
    return PVCORE_PAGE_SHIFT + 9u * level;
}

/* The global number of the first and last table of `level` (< levels) needed to map
 * [from, last] (last inclusive). A PAE guest has L2 tables from the region's slot up to
 * slot 3, which holds the hypervisor's L2 (Xen allocates them all the same way). */
static void table_span(unsigned levels, unsigned level, uint64_t from, uint64_t last,
                       uint64_t *first_no, uint64_t *last_no)
{
    *first_no = from >> table_shift(level);
    *last_no = last >> table_shift(level);
    if (levels == 3 && level == 2 && last < 0xC0000000ull) {
        *last_no = 3;
    }
}

static uint64_t count_tables(unsigned levels, uint64_t from, uint64_t last)
{
    uint64_t n = 1, lo, hi;
    unsigned level;

    for (level = 1; level < levels; level++) {
        table_span(levels, level, from, last, &lo, &hi);
        n += hi - lo + 1;
    }
    return n;
}

int pvcore_builder_layout(const struct pvcore_elf_info *elf, uint64_t nr_pages,
                          uint64_t ramdisk_len, uint32_t flags, struct pvcore_boot_layout *out)
{
    struct pvcore_boot_layout l;
    uint64_t at, word, pages, last = 0, nr_pt = 0, unused;

    memset(out, 0, sizeof(*out));
    if (elf == NULL || elf->image == NULL || (flags & ~PVCORE_BUILDER_INITDOMAIN) != 0 ||
        elf->kernel_start < elf->virt_base) {
        return -PVCORE_EINVAL;
    }
    if (!elf->is64 && elf->pae == PVCORE_ELF_PAE_NO) {
        return -PVCORE_ENOEXEC; /* only PAE guests run on a 64-bit hypervisor */
    }
    memset(&l, 0, sizeof(l));
    l.virt_base = elf->virt_base;
    l.nr_pages = nr_pages;
    l.is64 = elf->is64;
    l.levels = elf->is64 ? 4 : 3;
    l.flags = flags;
    word = elf->is64 ? 8 : 4;

    /* The kernel's pages, then each piece in the ABI's order. */
    l.kernel_start = elf->kernel_start & ~PAGE_MASK;
    at = l.kernel_start;
    if (elf->kernel_end < elf->kernel_start || !take(&at, elf->kernel_end - l.kernel_start, &unused)) {
        return -PVCORE_ENOMEM;
    }
    l.kernel_end = at;
    l.ramdisk_len = ramdisk_len;
    if (ramdisk_len != 0 && !elf->mod_start_pfn && !take(&at, ramdisk_len, &l.ramdisk)) {
        return -PVCORE_ENOMEM;
    }
    if (nr_pages > (elf->is64 ? UINT64_MAX / 8 : UINT64_MAX / 4) ||
        !take(&at, nr_pages * word, &l.p2m) ||
        !take(&at, PAGE, &l.start_info)) {
        return -PVCORE_ENOMEM;
    }
    if (!(flags & PVCORE_BUILDER_INITDOMAIN) &&
        (!take(&at, PAGE, &l.xenstore) || !take(&at, PAGE, &l.console))) {
        return -PVCORE_ENOMEM;
    }
    /* The tables, the stack and the padding, until they fit before the 4 MiB boundary. */
    for (pages = 1 + PADDING_PAGES;;) {
        if (pages > (UINT64_MAX - at) / PAGE || (at + pages * PAGE) == UINT64_MAX ||
            ((at + pages * PAGE) | REGION_ALIGN_MASK) == UINT64_MAX) {
            return -PVCORE_ENOMEM; /* the region would end at or past 2^64 */
        }
        last = (at + pages * PAGE) | REGION_ALIGN_MASK;
        nr_pt = count_tables(l.levels, l.virt_base, last);
        pages = nr_pt + 1 + PADDING_PAGES;
        if (pages <= (last + 1 - at) / PAGE) {
            break;
        }
    }
    l.pt_base = at;
    l.nr_pt_frames = nr_pt;
    l.stack = at + nr_pt * PAGE;
    l.end = last + 1;
    l.nr_used = (l.end - l.virt_base) / PAGE;
    /* The whole region is the guest's part of the address space. */
    if (elf->is64 ? !(l.end <= X86_64_LOW_END || l.virt_base >= X86_64_HYP_END)
                  : l.end > PAE_HYP_START) {
        return -PVCORE_ENOMEM;
    }
    if (ramdisk_len != 0) {
        if (elf->mod_start_pfn) {
            /* Unmapped, in the frames after the region (start_info.mod_start is a pfn). */
            l.ramdisk_pfn = l.nr_used;
            pages = ramdisk_len / PAGE + ((ramdisk_len & PAGE_MASK) != 0);
            if (pages > UINT64_MAX - l.nr_used) {
                return -PVCORE_ENOMEM;
            }
            l.nr_used += pages;
        } else {
            l.ramdisk_pfn = (l.ramdisk - l.virt_base) / PAGE;
        }
    }
    if (l.nr_used > nr_pages) {
        return -PVCORE_ENOMEM;
    }
    *out = l;
    return 0;
}

/* ---- the build ------------------------------------------------------------------------- */

struct build {
    struct domain *d;
    struct machine *m;
    const struct pvcore_boot_layout *l;
    const struct pvcore_elf_info *elf;
};

static uint8_t *pfn_page(const struct build *b, uint64_t pfn)
{
    return (uint8_t *)frame_entries(b->m, b->d->p2m[pfn]);
}

static uint8_t *va_page(const struct build *b, uint64_t va)
{
    return pfn_page(b, (va - b->l->virt_base) / PAGE);
}

/* A frame the builder may write: the domain's RAM, held by its allocation only. */
static bool fresh_frame(const struct build *b, uint64_t mfn)
{
    struct pvcore_frame_info fi;

    return pvcore_frame_query((const struct pvcore_machine *)(const void *)b->m, pvcore_mfn(mfn),
                              &fi) == 0 &&
           fi.owner == b->d->domid && (fi.flags & PVCORE_FRAME_RAM) &&
           (fi.flags & PVCORE_FRAME_ALLOCATED) && fi.type == PVCORE_PGT_NONE &&
           fi.type_count == 0 && fi.count == 1;
}

/* Copies filesz bytes from src to the guest at va, then zeros up to memsz. The segment
 * lies in the kernel's pages (elf_for_each_segment() checked it). */
static int load_segment(void *ctx, uint64_t va, const uint8_t *src, uint64_t filesz,
                        uint64_t memsz)
{
    const struct build *b = ctx;
    uint64_t done = 0;

    while (done < memsz) {
        uint64_t off = (va + done) & PAGE_MASK, n = PAGE - off, copy = 0;
        uint8_t *dst = va_page(b, va + done) + off;

        if (n > memsz - done) {
            n = memsz - done;
        }
        if (done < filesz) {
            copy = filesz - done < n ? filesz - done : n;
            memcpy(dst, src + done, (size_t)copy);
        }
        memset(dst + copy, 0, (size_t)(n - copy));
        done += n;
    }
    return 0;
}

void pvcore_builder_hypercall_page(void *page, int is64)
{
    uint8_t *p = page;
    uint32_t i;

    memset(p, 0xcc, PAGE); /* int3 between and after the stubs */
    for (i = 0; i < PAGE / 32; i++) {
        uint8_t *s = p + i * 32;
        unsigned k = 0;
        bool iret = i == PVCORE_HYPERVISOR_iret;

        if (is64) {
            s[k++] = 0x51; /* push %rcx */
            s[k++] = 0x41; /* push %r11 */
            s[k++] = 0x53;
            if (iret) {
                s[k++] = 0x50; /* push %rax */
            }
        } else if (iret) {
            s[k++] = 0x50; /* push %eax */
        }
        s[k++] = 0xb8; /* mov $i, %eax */
        s[k++] = (uint8_t)i;
        s[k++] = (uint8_t)(i >> 8);
        s[k++] = (uint8_t)(i >> 16);
        s[k++] = (uint8_t)(i >> 24);
        if (is64) {
            s[k++] = 0x0f; /* syscall */
            s[k++] = 0x05;
            if (!iret) {
                s[k++] = 0x41; /* pop %r11 */
                s[k++] = 0x5b;
                s[k++] = 0x59; /* pop %rcx */
                s[k++] = 0xc3; /* ret */
            }
        } else {
            s[k++] = 0xcd; /* int $0x82 */
            s[k++] = 0x82;
            if (!iret) {
                s[k++] = 0xc3; /* ret */
            }
        }
    }
}

static void put_word(uint8_t *p, uint64_t v, unsigned bytes)
{
    unsigned i;

    for (i = 0; i < bytes; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* The guest's copy of the p2m: one guest word per frame, all ones for a missing frame. */
static void write_p2m_list(const struct build *b)
{
    unsigned word = b->l->is64 ? 8 : 4;
    uint64_t i;

    for (i = 0; i < b->l->nr_pages; i++) {
        uint64_t va = b->l->p2m + i * word;
        put_word(va_page(b, va) + (va & PAGE_MASK), b->d->p2m[i], word);
    }
}

/* start_info in either width's layout: the fields are the same, their sizes differ (the
 * values all fit a 32-bit guest's: its addresses are below 4 GiB, and check_build() saw
 * its shared-info page below 4 GiB too). */
#define FILL_START_INFO(si_type, word_t, magic_str)                                      \
    do {                                                                                 \
        si_type si;                                                                      \
        memset(&si, 0, sizeof(si));                                                      \
        memcpy(si.magic, magic_str, sizeof(magic_str));                                  \
        si.nr_pages = (word_t)l->nr_pages;                                               \
        si.shared_info = (word_t)(b->d->shared_info_mfn << PVCORE_PAGE_SHIFT);           \
        si.flags = flags;                                                                \
        if (l->xenstore) {                                                               \
            si.store_mfn = (word_t)res->store_mfn.v;                                     \
            si.store_evtchn = cfg->store_evtchn;                                         \
            si.console.domU.mfn = (word_t)res->console_mfn.v;                            \
            si.console.domU.evtchn = cfg->console_evtchn;                                \
        }                                                                                \
        si.pt_base = (word_t)l->pt_base;                                                 \
        si.nr_pt_frames = (word_t)l->nr_pt_frames;                                       \
        si.mfn_list = (word_t)l->p2m;                                                    \
        si.mod_start = (word_t)mod_start;                                                \
        si.mod_len = (word_t)l->ramdisk_len;                                             \
        memcpy(si.cmd_line, cfg->cmdline != NULL ? cfg->cmdline : "", n);                \
        memcpy(page, &si, sizeof(si));                                                   \
    } while (0)

static void write_start_info(const struct build *b, const struct pvcore_builder_config *cfg,
                             struct pvcore_builder_result *res)
{
    const struct pvcore_boot_layout *l = b->l;
    uint8_t *page = va_page(b, l->start_info);
    uint32_t flags = cfg->si_flags;
    uint64_t mod_start = 0;
    size_t n = 0;

    if (l->ramdisk_len != 0) {
        mod_start = b->elf->mod_start_pfn ? l->ramdisk_pfn : l->ramdisk;
        flags |= b->elf->mod_start_pfn ? PVCORE_SIF_MOD_START_PFN : 0;
    }
    while (cfg->cmdline != NULL && n < PVCORE_MAX_GUEST_CMDLINE - 1 && cfg->cmdline[n] != 0) {
        n++;
    }
    res->store_mfn = pvcore_mfn(l->xenstore ? b->d->p2m[(l->xenstore - l->virt_base) / PAGE]
                                            : PVCORE_INVALID_MFN_VALUE);
    res->console_mfn = pvcore_mfn(l->console ? b->d->p2m[(l->console - l->virt_base) / PAGE]
                                             : PVCORE_INVALID_MFN_VALUE);
    if (l->is64) {
        FILL_START_INFO(struct pvcore_start_info_x86_64, uint64_t, "xen-3.0-x86_64");
    } else {
        FILL_START_INFO(struct pvcore_start_info_x86_32, uint32_t, "xen-3.0-x86_32p");
    }
}

/* The bootstrap tables: level by level from the top, as the plan numbered them. */
static uint64_t write_page_tables(const struct build *b)
{
    const struct pvcore_boot_layout *l = b->l;
    uint64_t last = l->end - 1, first_pt = (l->pt_base - l->virt_base) / PAGE;
    uint64_t level_pfn[5], lo[5], hi[5], pfn, g;
    unsigned level;

    /* Where each level's tables start: the root, then the levels below in turn. */
    level_pfn[l->levels] = first_pt;
    lo[l->levels] = hi[l->levels] = 0;
    pfn = first_pt + 1;
    for (level = l->levels - 1u; level >= 1; level--) {
        table_span(l->levels, level, l->virt_base, last, &lo[level], &hi[level]);
        level_pfn[level] = pfn;
        pfn += hi[level] - lo[level] + 1;
    }
    /* Each table is linked into its parent's slot: table number g of a level hangs at
     * slot g % 512 of the parent table number g / 512 (the root, numbered 0). */
    for (level = l->levels - 1u; level >= 1; level--) {
        for (g = lo[level]; g <= hi[level]; g++) {
            uint64_t parent = level + 1 == l->levels ? 0 : (g >> 9) - lo[level + 1];
            uint64_t *pt = (uint64_t *)(void *)pfn_page(b, level_pfn[level + 1] + parent);
            uint64_t child = b->d->p2m[level_pfn[level] + (g - lo[level])];
            pt[g & 511u] = (child << PVCORE_PAGE_SHIFT) | NONLEAF_FLAGS;
        }
    }
    /* Every page of the region, read-only where it is one of the tables. */
    for (pfn = 0; pfn < (l->end - l->virt_base) / PAGE; pfn++) {
        uint64_t va = l->virt_base + pfn * PAGE;
        uint64_t *pt = (uint64_t *)(void *)pfn_page(b, level_pfn[1] + ((va >> 21) - lo[1]));
        bool is_pt = pfn >= first_pt && pfn < first_pt + l->nr_pt_frames;
        pt[(va >> PVCORE_PAGE_SHIFT) & 511u] =
            (b->d->p2m[pfn] << PVCORE_PAGE_SHIFT) | (is_pt ? LEAF_FLAGS & ~PTE_RW : LEAF_FLAGS);
    }
    return b->d->p2m[first_pt];
}

static int ext_op(struct pvcore_vcpu *v, uint32_t cmd, uint64_t mfn)
{
    struct pvcore_mmuext_req op = { .cmd = cmd, .arg1 = mfn };
    int rc;

    do {
        rc = pvcore_mmuext_op(v, &op, 1, NULL, PVCORE_DOMID_SELF);
    } while (rc == -PVCORE_ERESTART);
    return rc;
}

/* Is the plan one pvcore_builder_layout() would make for this image? */
static bool plan_matches(const struct pvcore_elf_info *elf, const struct pvcore_boot_layout *l)
{
    struct pvcore_boot_layout again;

    return pvcore_builder_layout(elf, l->nr_pages, l->ramdisk_len, l->flags, &again) == 0 &&
           memcmp(&again, l, sizeof(again)) == 0;
}

/* Everything the build relies on, checked before anything is written. */
static int check_build(const struct build *b, const struct pvcore_builder_config *cfg)
{
    const struct pvcore_boot_layout *l = b->l;
    uint64_t pfn;

    if (cfg->_reserved != 0 || !plan_matches(b->elf, l) ||
        (l->ramdisk_len != 0 && cfg->ramdisk == NULL) ||
        (b->elf->is64 != 0) == domain_is_32(b->d) ||
        b->d->shared_info_mfn == INVALID_MFN || b->d->p2m == NULL || b->d->p2m_size < l->nr_pages ||
        (!l->is64 && b->d->shared_info_mfn >= (1ull << (32 - PVCORE_PAGE_SHIFT)))) {
        return -PVCORE_EINVAL;
    }
    if (b->elf->hypercall_page != PVCORE_ELF_UNSET &&
        (b->elf->hypercall_page < l->kernel_start || b->elf->hypercall_page >= l->kernel_end)) {
        return -PVCORE_EINVAL;
    }
    /* The region, and an unmapped ramdisk after it: every frame the build writes. */
    for (pfn = 0; pfn < l->nr_used; pfn++) {
        if (!fresh_frame(b, b->d->p2m[pfn])) {
            return -PVCORE_EINVAL;
        }
    }
    return 0;
}

int pvcore_builder_build(struct pvcore_domain *pd, const struct pvcore_builder_config *cfg,
                         struct pvcore_builder_result *out)
{
    struct build b;
    struct pvcore_vcpu *v;
    uint64_t pfn, region, root;
    int rc;

    memset(out, 0, sizeof(*out));
    if (pd == NULL || cfg == NULL || cfg->elf == NULL || cfg->layout == NULL) {
        return -PVCORE_EINVAL;
    }
    b.d = (struct domain *)(void *)pd;
    b.m = b.d->m;
    b.l = cfg->layout;
    b.elf = cfg->elf;
    rc = check_build(&b, cfg);
    if (rc != 0) {
        return rc;
    }
    region = (b.l->end - b.l->virt_base) / PAGE;
    for (pfn = 0; pfn < region; pfn++) {
        memset(pfn_page(&b, pfn), 0, PAGE);
    }

    rc = elf_for_each_segment(b.elf, load_segment, &b);
    if (rc != 0) {
        return rc;
    }
    if (b.elf->hypercall_page != PVCORE_ELF_UNSET) {
        pvcore_builder_hypercall_page(va_page(&b, b.elf->hypercall_page), b.l->is64);
    }
    for (pfn = 0; pfn * PAGE < b.l->ramdisk_len; pfn++) {
        uint64_t n = b.l->ramdisk_len - pfn * PAGE;
        uint8_t *dst = pfn_page(&b, b.l->ramdisk_pfn + pfn);
        n = n < PAGE ? n : PAGE;
        memcpy(dst, (const uint8_t *)cfg->ramdisk + pfn * PAGE, (size_t)n);
        memset(dst + n, 0, (size_t)(PAGE - n));
    }
    write_p2m_list(&b);

    /* Shared info: zeroed, with events masked on every vCPU until the guest is ready. */
    {
        uint8_t *si = (uint8_t *)frame_entries(b.m, b.d->shared_info_mfn);
        unsigned i;
        memset(si, 0, PAGE);
        for (i = 0; i < LEGACY_MAX_VCPUS; i++) {
            si[i * VCPU_INFO_SIZE + SI_UPCALL_MASK] = 1;
        }
    }
    write_start_info(&b, cfg, out);
    root = write_page_tables(&b);

    if (!b.l->is64 && b.elf->pae != PVCORE_ELF_PAE_YES) {
        rc = pvcore_domain_vm_assist(pd, PVCORE_VMASST_CMD_enable,
                                     PVCORE_VMASST_TYPE_pae_extended_cr3);
        if (rc != 0) {
            return rc;
        }
    }
    v = pvcore_domain_vcpu(pd, 0);
    rc = ext_op(v, b.l->is64 ? PVCORE_MMUEXT_PIN_L4_TABLE : PVCORE_MMUEXT_PIN_L3_TABLE, root);
    if (rc != 0) {
        return rc;
    }
    rc = ext_op(v, PVCORE_MMUEXT_NEW_BASEPTR, root);
    if (rc != 0) {
        (void)ext_op(v, PVCORE_MMUEXT_UNPIN_TABLE, root);
        return rc;
    }

    out->root = pvcore_mfn(root);
    out->regs.rip = b.elf->entry;
    out->regs.rsp = b.l->stack + PAGE;
    out->regs.rsi = b.l->start_info;
    out->regs.rflags = 0x202; /* IF, and the always-one bit 1 */
    if (b.l->is64) {
        out->regs.cs = PVCORE_FLAT_KERNEL_CS64_X86_64;
        out->regs.ss = PVCORE_FLAT_KERNEL_SS64_X86_64;
    } else {
        out->regs.cs = PVCORE_FLAT_KERNEL_CS_X86_32;
        out->regs.ss = out->regs.ds = out->regs.es = out->regs.fs = out->regs.gs =
            PVCORE_FLAT_KERNEL_DS_X86_32;
    }
    /* The kernel stack a trap from user mode switches to, until the guest's stack_switch. */
    ((struct vcpu *)(void *)v)->cpu.kernel_ss = out->regs.ss;
    ((struct vcpu *)(void *)v)->cpu.kernel_sp = out->regs.rsp;
    return 0;
}
