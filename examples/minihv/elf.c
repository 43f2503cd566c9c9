/*
 * elf.c: the guest kernel loader. Reads ELF32 and ELF64 kernels, Xen's ELF notes (in
 * PT_NOTE segments or SHT_NOTE sections, owner "Xen") and, when there are none, the
 * legacy `__xen_guest` section ("KEY=VALUE,KEY=VALUE,..."). The image comes from a
 * multiboot module: every offset and size in it is checked before use.
 */
#include <pvcore/abi/elfnote.h>

#include "minihv.h"

#define PT_LOAD 1
#define PT_NOTE 4
#define SHT_NOTE 7

struct seg {
    uint32_t type;
    uint64_t offset, vaddr, paddr, filesz, memsz;
};

static uint64_t rd(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    while (n--) {
        v = (v << 8) | p[n];
    }
    return v;
}

/* [off, off + len) lies inside the image. */
static int in_image(const struct elf_image *img, uint64_t off, uint64_t len)
{
    return off <= img->size && len <= img->size - off;
}

static int get_seg(const struct elf_image *img, unsigned i, struct seg *s)
{
    const uint8_t *h = img->data;
    uint64_t phoff = img->is64 ? rd(h + 32, 8) : rd(h + 28, 4);
    unsigned phentsize = (unsigned)rd(h + (img->is64 ? 54 : 42), 2);
    const uint8_t *p;

    if (phentsize < (img->is64 ? 56u : 32u) || !in_image(img, phoff + (uint64_t)i * phentsize, phentsize)) {
        return -1;
    }
    p = h + phoff + (uint64_t)i * phentsize;
    s->type = (uint32_t)rd(p, 4);
    if (img->is64) {
        s->offset = rd(p + 8, 8);
        s->vaddr = rd(p + 16, 8);
        s->paddr = rd(p + 24, 8);
        s->filesz = rd(p + 32, 8);
        s->memsz = rd(p + 40, 8);
    } else {
        s->offset = rd(p + 4, 4);
        s->vaddr = rd(p + 8, 4);
        s->paddr = rd(p + 12, 4);
        s->filesz = rd(p + 16, 4);
        s->memsz = rd(p + 20, 4);
    }
    return 0;
}

static unsigned nr_segs(const struct elf_image *img)
{
    return (unsigned)rd(img->data + (img->is64 ? 56 : 44), 2);
}

static void copy_str(char *dst, size_t cap, const uint8_t *src, uint64_t len)
{
    size_t i;

    for (i = 0; i + 1 < cap && i < len && src[i]; i++) {
        dst[i] = (char)src[i];
    }
    dst[i] = 0;
}

static int notes_seen;

/* One note area [off, off + len). */
static void parse_notes(struct elf_image *img, uint64_t off, uint64_t len)
{
    uint64_t end;

    if (!in_image(img, off, len)) {
        return;
    }
    end = off + len;
    while (end - off >= 12) {
        const uint8_t *n = img->data + off;
        uint64_t namesz = rd(n, 4), descsz = rd(n + 4, 4), type = rd(n + 8, 4);
        uint64_t name_al = (namesz + 3) & ~3ull, desc_al = (descsz + 3) & ~3ull;
        const uint8_t *desc;
        uint64_t val;

        if (name_al > end - off - 12 || desc_al > end - off - 12 - name_al) {
            return;
        }
        desc = n + 12 + name_al;
        off += 12 + name_al + desc_al;
        if (namesz != 4 || memcmp(n + 12, "Xen", 4) != 0) {
            continue;
        }
        notes_seen = 1;
        val = descsz == 8 ? rd(desc, 8) : descsz == 4 ? rd(desc, 4) : 0;
        switch (type) {
        case PVCORE_XEN_ELFNOTE_VIRT_BASE:
            img->virt_base = val;
            break;
        case PVCORE_XEN_ELFNOTE_PADDR_OFFSET:
            img->paddr_offset = val; /* absent: 0 with notes, VIRT_BASE with __xen_guest */
            break;
        case PVCORE_XEN_ELFNOTE_ENTRY:
            img->entry = val;
            break;
        case PVCORE_XEN_ELFNOTE_HYPERCALL_PAGE:
            img->hypercall_page = val;
            img->has_hypercall_page = 1;
            break;
        case PVCORE_XEN_ELFNOTE_PAE_MODE:
            img->pae_yes = descsz >= 3 && memcmp(desc, "yes", 3) == 0;
            break;
        case PVCORE_XEN_ELFNOTE_GUEST_OS:
            copy_str(img->guest_os, sizeof(img->guest_os), desc, descsz);
            break;
        default:
            break;
        }
    }
}

static uint64_t parse_hex_or_dec(const char *s, const char *end)
{
    uint64_t v = 0;
    unsigned base = 10;

    if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    for (; s < end; s++) {
        unsigned d = (*s >= '0' && *s <= '9') ? (unsigned)(*s - '0')
                   : (*s >= 'a' && *s <= 'f') ? (unsigned)(*s - 'a' + 10)
                   : (*s >= 'A' && *s <= 'F') ? (unsigned)(*s - 'A' + 10) : 99;
        if (d >= base) {
            break;
        }
        v = v * base + d;
    }
    return v;
}

/* The legacy "__xen_guest" string: KEY=VALUE pairs separated by commas. */
static void parse_legacy(struct elf_image *img, const char *s, uint64_t len)
{
    const char *p = s, *end = s + len;
    int have_paddr = 0;
    uint64_t hpage = 0;

    while (p < end && *p) {
        const char *k = p, *eq = NULL, *v;
        while (p < end && *p && *p != ',') {
            if (*p == '=' && !eq) {
                eq = p;
            }
            p++;
        }
        v = eq ? eq + 1 : p;
        if (eq) {
            size_t kl = (size_t)(eq - k);
            if (kl == 9 && strncmp(k, "VIRT_BASE", 9) == 0) {
                img->virt_base = parse_hex_or_dec(v, p);
            } else if (kl == 16 && strncmp(k, "ELF_PADDR_OFFSET", 16) == 0) {
                img->paddr_offset = parse_hex_or_dec(v, p);
                have_paddr = 1;
            } else if (kl == 14 && strncmp(k, "HYPERCALL_PAGE", 14) == 0) {
                hpage = parse_hex_or_dec(v, p);
                img->has_hypercall_page = 1;
            } else if (kl == 3 && strncmp(k, "PAE", 3) == 0) {
                img->pae_yes = (p - v) >= 3 && strncmp(v, "yes", 3) == 0;
            } else if (kl == 8 && strncmp(k, "GUEST_OS", 8) == 0) {
                copy_str(img->guest_os, sizeof(img->guest_os), (const uint8_t *)v, (uint64_t)(p - v));
            }
        }
        if (p < end && *p == ',') {
            p++;
        }
    }
    if (!have_paddr) {
        img->paddr_offset = img->virt_base;
    }
    /* HYPERCALL_PAGE is a page number relative to VIRT_BASE here. */
    img->hypercall_page = img->virt_base + (hpage << 12);
    img->legacy = 1;
}

static const uint8_t *find_section(const struct elf_image *img, const char *want, unsigned type,
                                   uint64_t *len, unsigned *index)
{
    const uint8_t *h = img->data;
    uint64_t shoff = img->is64 ? rd(h + 40, 8) : rd(h + 32, 4);
    unsigned shentsize = (unsigned)rd(h + (img->is64 ? 58 : 46), 2);
    unsigned shnum = (unsigned)rd(h + (img->is64 ? 60 : 48), 2);
    unsigned shstrndx = (unsigned)rd(h + (img->is64 ? 62 : 50), 2);
    uint64_t stroff, strsz;
    unsigned i;

    if (shoff == 0 || shentsize < (img->is64 ? 64u : 40u) || shstrndx >= shnum ||
        !in_image(img, shoff, (uint64_t)shnum * shentsize)) {
        return NULL;
    }
#define SH(i) (h + shoff + (uint64_t)(i) * shentsize)
#define SH_OFF(s) (img->is64 ? rd((s) + 24, 8) : rd((s) + 16, 4))
#define SH_SIZE(s) (img->is64 ? rd((s) + 32, 8) : rd((s) + 20, 4))
    stroff = SH_OFF(SH(shstrndx));
    strsz = SH_SIZE(SH(shstrndx));
    if (!in_image(img, stroff, strsz)) {
        return NULL;
    }
    for (i = index ? *index : 0; i < shnum; i++) {
        const uint8_t *s = SH(i);
        uint64_t name = rd(s, 4), off = SH_OFF(s), sz = SH_SIZE(s);
        if (type && rd(s + 4, 4) != type) {
            continue;
        }
        if (want && (name >= strsz || strsz - name < strlen(want) + 1 ||
                     memcmp(h + stroff + name, want, strlen(want) + 1) != 0)) {
            continue;
        }
        if (!in_image(img, off, sz)) {
            continue;
        }
        *len = sz;
        if (index) {
            *index = i + 1;
        }
        return h + off;
    }
#undef SH
#undef SH_OFF
#undef SH_SIZE
    return NULL;
}

int elf_parse(struct elf_image *img, const void *data, uint64_t size)
{
    const uint8_t *h = data;
    uint64_t lo = UINT64_MAX, hi = 0, len;
    unsigned i, n, sec = 0;
    struct seg s;
    const uint8_t *p;

    memset(img, 0, sizeof(*img));
    img->data = data;
    img->size = size;
    if (size < 64 || memcmp(h, "\177ELF", 4) != 0 || h[5] != 1 /* little endian */) {
        return -1;
    }
    if (h[4] == 2 && rd(h + 18, 2) == 62) {
        img->is64 = 1;
    } else if (!(h[4] == 1 && rd(h + 18, 2) == 3)) {
        return -1;
    }
    img->entry = img->is64 ? rd(h + 24, 8) : rd(h + 24, 4);

    notes_seen = 0;
    n = nr_segs(img);
    for (i = 0; i < n; i++) {
        if (get_seg(img, i, &s) == 0 && s.type == PT_NOTE) {
            parse_notes(img, s.offset, s.filesz);
        }
    }
    while (!notes_seen && (p = find_section(img, NULL, SHT_NOTE, &len, &sec)) != NULL) {
        parse_notes(img, (uint64_t)(p - h), len);
    }
    if (!notes_seen) {
        p = find_section(img, "__xen_guest", 0, &len, NULL);
        if (p == NULL) {
            return -2; /* not a Xen PV kernel */
        }
        parse_legacy(img, (const char *)p, len);
    }

    for (i = 0; i < n; i++) {
        uint64_t va;
        if (get_seg(img, i, &s) != 0) {
            return -1;
        }
        if (s.type != PT_LOAD || s.memsz == 0) {
            continue;
        }
        if (s.filesz > s.memsz || !in_image(img, s.offset, s.filesz) ||
            s.paddr < img->paddr_offset) {
            return -3;
        }
        va = s.paddr - img->paddr_offset + img->virt_base;
        if (va < img->virt_base || va + s.memsz < va) {
            return -3;
        }
        if (va < lo) {
            lo = va;
        }
        if (va + s.memsz > hi) {
            hi = va + s.memsz;
        }
    }
    if (lo >= hi) {
        return -3;
    }
    img->v_start = lo & ~(PAGE_SIZE - 1);
    img->v_end = (hi + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    if (!img->is64 && (img->v_end > 0xF5800000ull || !img->pae_yes)) {
        return -4; /* 32-bit guests must be PAE and stay below the hypervisor hole */
    }
    if (img->entry < img->v_start || img->entry >= img->v_end ||
        (img->has_hypercall_page &&
         (img->hypercall_page < img->v_start || img->hypercall_page >= img->v_end ||
          (img->hypercall_page & (PAGE_SIZE - 1))))) {
        return -5;
    }
    return 0;
}

int elf_load(const struct elf_image *img, uint64_t (*va_to_maddr)(void *ctx, uint64_t va), void *ctx)
{
    unsigned i, n = nr_segs(img);
    struct seg s;

    for (i = 0; i < n; i++) {
        uint64_t va, k;
        if (get_seg(img, i, &s) != 0 || s.type != PT_LOAD) {
            continue;
        }
        va = s.paddr - img->paddr_offset + img->virt_base;
        /* Byte by byte through the page translation keeps it obviously in bounds. */
        for (k = 0; k < s.memsz; k++) {
            uint64_t ma = va_to_maddr(ctx, va + k);
            *(uint8_t *)phys_to_virt(ma) = k < s.filesz ? img->data[s.offset + k] : 0;
        }
    }
    return 0;
}
