/*
 * elf.c: the kernel image reader of the domain builder (<pvcore/builder.h>): ELF32/ELF64
 * headers, Xen's ELF notes and the legacy __xen_guest string, read with the rules of
 * Xen's libelf.
 *
 * The image is hostile: every read goes through rd(), which checks the bytes lie inside
 * the image, and every sum of offsets is checked before it is formed. libelf reads a
 * byte outside the image as zero and carries on; where that only affects whether a note
 * is seen, we do the same (a note whose descriptor runs past its segment, or past the
 * file, is still read as far as the image goes), and where it would load garbage (a
 * segment's file bytes outside the image) we refuse.
 */
#include <pvcore/builder.h>
#include <pvcore/abi/elfnote.h>
#include <pvcore/abi/errno.h>
#include <pvcore/abi/xen.h>

#include "internal/base.h"
#include "internal/builder.h"

#define PT_LOAD 1u
#define PT_NOTE 4u
#define SHT_NOTE 7u
#define PF_RWX 7u
#define EM_386 3u
#define EM_X86_64 62u

/* libelf stops reading notes after this many, so that a crafted image (many program
 * headers naming one large note area) cannot make parsing quadratic. */
#define MAX_TOTAL_NOTES 65536u

/* The lengths libelf reads a __xen_guest key, a value and a feature name into. */
#define LEGACY_KEY_MAX 32u
#define LEGACY_VALUE_MAX 128u
#define FEATURE_NAME_MAX 64u

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct reader {
    const uint8_t *p;
    uint64_t size;
    bool is64;
};

/* [off, off + len) lies inside the image. */
static bool in_image(const struct reader *r, uint64_t off, uint64_t len)
{
    return off <= r->size && len <= r->size - off;
}

/* An n-byte little-endian field at off; 0 outside the image, as libelf reads it. */
static uint64_t rd(const struct reader *r, uint64_t off, unsigned n)
{
    uint64_t v = 0;

    if (!in_image(r, off, n)) {
        return 0;
    }
    while (n--) {
        v = (v << 8) | r->p[off + n];
    }
    return v;
}

/* The word-sized field at (off32, off64), 4 or 8 bytes wide by the image's class. */
static uint64_t rdw(const struct reader *r, uint64_t base, unsigned off32, unsigned off64)
{
    return r->is64 ? rd(r, base + off64, 8) : rd(r, base + off32, 4);
}

/* Length of the NUL-terminated string at off, or -1 if the image ends first. */
static int64_t str_len(const struct reader *r, uint64_t off)
{
    uint64_t i;

    for (i = off; i < r->size; i++) {
        if (r->p[i] == 0) {
            return (int64_t)(i - off);
        }
    }
    return -1;
}

static void copy_cut(char *dst, size_t cap, const uint8_t *src, uint64_t len)
{
    size_t i;

    for (i = 0; i + 1 < cap && i < len; i++) {
        dst[i] = (char)src[i];
    }
    dst[i] = 0;
}

static bool str_eq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static bool str_prefix(const char *s, const char *prefix)
{
    while (*prefix && *s == *prefix) {
        s++;
        prefix++;
    }
    return *prefix == 0;
}

static bool str_contains(const char *s, const char *needle)
{
    for (; *s; s++) {
        if (str_prefix(s, needle)) {
            return true;
        }
    }
    return false;
}

/* ---- the header tables --------------------------------------------------------------- */

struct phdr {
    uint32_t type, flags;
    uint64_t offset, paddr, filesz, memsz;
};

static uint64_t phoff(const struct reader *r)
{
    return rdw(r, 0, 28, 32);
}

static unsigned phnum(const struct reader *r)
{
    return (unsigned)rd(r, r->is64 ? 56 : 44, 2);
}

static unsigned phentsize(const struct reader *r)
{
    return (unsigned)rd(r, r->is64 ? 54 : 42, 2);
}

static void get_phdr(const struct reader *r, unsigned i, struct phdr *h)
{
    uint64_t p = phoff(r) + (uint64_t)i * phentsize(r);

    h->type = (uint32_t)rd(r, p, 4);
    if (r->is64) {
        h->flags = (uint32_t)rd(r, p + 4, 4);
        h->offset = rd(r, p + 8, 8);
        h->paddr = rd(r, p + 24, 8);
        h->filesz = rd(r, p + 32, 8);
        h->memsz = rd(r, p + 40, 8);
    } else {
        h->offset = rd(r, p + 4, 4);
        h->paddr = rd(r, p + 12, 4);
        h->filesz = rd(r, p + 16, 4);
        h->memsz = rd(r, p + 20, 4);
        h->flags = (uint32_t)rd(r, p + 24, 4);
    }
}

static bool phdr_loadable(const struct phdr *h)
{
    return h->type == PT_LOAD && (h->flags & PF_RWX) != 0;
}

struct shdr {
    uint32_t name, type;
    uint64_t offset, size;
};

static unsigned shnum(const struct reader *r)
{
    return (unsigned)rd(r, r->is64 ? 60 : 48, 2);
}

/* Section i, or false if its header is not (entirely) inside the image. */
static bool get_shdr(const struct reader *r, unsigned i, struct shdr *s)
{
    uint64_t shoff = rdw(r, 0, 32, 40);
    unsigned entsize = (unsigned)rd(r, r->is64 ? 58 : 46, 2);
    uint64_t p;

    if (shoff == 0 || entsize < (r->is64 ? 64u : 40u)) {
        return false;
    }
    p = shoff + (uint64_t)i * entsize;
    if (p < shoff || !in_image(r, p, entsize)) {
        return false;
    }
    s->name = (uint32_t)rd(r, p, 4);
    s->type = (uint32_t)rd(r, p + 4, 4);
    s->offset = rdw(r, p, 16, 24);
    s->size = rdw(r, p, 20, 32);
    return true;
}

/* ---- notes ---------------------------------------------------------------------------- */

struct parse {
    struct reader r;
    struct pvcore_elf_info *info;
    uint32_t total_notes;
    bool have_paddr_offset;
    bool bad_feature; /* an unknown required feature */
};

static const char *const feature_names[] = {
    [PVCORE_XENFEAT_writable_page_tables] = "writable_page_tables",
    [PVCORE_XENFEAT_writable_descriptor_tables] = "writable_descriptor_tables",
    [PVCORE_XENFEAT_auto_translated_physmap] = "auto_translated_physmap",
    [PVCORE_XENFEAT_supervisor_mode_kernel] = "supervisor_mode_kernel",
    [PVCORE_XENFEAT_pae_pgdir_above_4gb] = "pae_pgdir_above_4gb",
    [PVCORE_XENFEAT_hvm_callback_vector] = "hvm_callback_vector",
    [PVCORE_XENFEAT_dom0] = "dom0",
};

/* A `|`-separated list of names, each optionally prefixed by `!` (required). libelf
 * reads names in pieces of at most 63 characters, and refuses only an unknown required
 * one. */
static void parse_features(struct parse *ps, const char *s)
{
    while (*s) {
        char name[FEATURE_NAME_MAX];
        unsigned len = 0, i;
        bool required;

        while (len < FEATURE_NAME_MAX - 1 && s[len] && s[len] != '|') {
            name[len] = s[len];
            len++;
        }
        name[len] = 0;
        s += len;
        if (*s == '|' && len < FEATURE_NAME_MAX - 1) {
            s++;
        }
        required = name[0] == '!';
        for (i = 0; i < ARRAY_SIZE(feature_names); i++) {
            if (feature_names[i] != NULL && str_eq(name + (required ? 1 : 0), feature_names[i])) {
                ps->info->features_supported |= 1u << i;
                if (required) {
                    ps->info->features_required |= 1u << i;
                }
                break;
            }
        }
        if (i == ARRAY_SIZE(feature_names) && required) {
            ps->bad_feature = true;
        }
    }
}

/* A string note's value: NUL-terminated inside the image (libelf ignores it otherwise). */
static bool note_string(const struct parse *ps, uint64_t desc, char *buf, size_t cap)
{
    int64_t len = str_len(&ps->r, desc);

    if (len < 0) {
        return false;
    }
    copy_cut(buf, cap, ps->r.p + desc, (uint64_t)len);
    return true;
}

/* A numeric note's value: 1, 2, 4 or 8 bytes; any other size reads as 0. */
static uint64_t note_number(const struct parse *ps, uint64_t desc, uint64_t descsz)
{
    return (descsz == 1 || descsz == 2 || descsz == 4 || descsz == 8)
               ? rd(&ps->r, desc, (unsigned)descsz)
               : 0;
}

static bool note_is_string(uint32_t type)
{
    switch (type) {
    case PVCORE_XEN_ELFNOTE_XEN_VERSION:
    case PVCORE_XEN_ELFNOTE_GUEST_OS:
    case PVCORE_XEN_ELFNOTE_GUEST_VERSION:
    case PVCORE_XEN_ELFNOTE_LOADER:
    case PVCORE_XEN_ELFNOTE_PAE_MODE:
    case PVCORE_XEN_ELFNOTE_FEATURES:
    case PVCORE_XEN_ELFNOTE_BSD_SYMTAB:
        return true;
    default:
        return false;
    }
}

static void parse_note(struct parse *ps, uint32_t type, uint64_t desc, uint64_t descsz)
{
    struct pvcore_elf_info *in = ps->info;
    char str[LEGACY_VALUE_MAX];
    uint64_t val = 0;

    if (note_is_string(type)) {
        if (!note_string(ps, desc, str, sizeof(str))) {
            return;
        }
    } else {
        val = note_number(ps, desc, descsz);
    }
    switch (type) {
    case PVCORE_XEN_ELFNOTE_LOADER:
        copy_cut(in->loader, sizeof(in->loader), (const uint8_t *)str, sizeof(str));
        break;
    case PVCORE_XEN_ELFNOTE_GUEST_OS:
        copy_cut(in->guest_os, sizeof(in->guest_os), (const uint8_t *)str, sizeof(str));
        break;
    case PVCORE_XEN_ELFNOTE_GUEST_VERSION:
        copy_cut(in->guest_version, sizeof(in->guest_version), (const uint8_t *)str, sizeof(str));
        break;
    case PVCORE_XEN_ELFNOTE_XEN_VERSION:
        copy_cut(in->xen_version, sizeof(in->xen_version), (const uint8_t *)str, sizeof(str));
        break;
    case PVCORE_XEN_ELFNOTE_PAE_MODE:
        /* As libelf: "yes" means an L3 anywhere; "bimodal" anywhere in it wins. */
        if (str_eq(str, "yes")) {
            in->pae = PVCORE_ELF_PAE_EXTCR3;
        }
        if (str_contains(str, "bimodal")) {
            in->pae = PVCORE_ELF_PAE_BIMODAL;
        }
        break;
    case PVCORE_XEN_ELFNOTE_FEATURES:
        parse_features(ps, str);
        break;
    case PVCORE_XEN_ELFNOTE_SUPPORTED_FEATURES:
        /* An array of 32-bit maps; there is one map (XENFEAT_NR_SUBMAPS). */
        if (descsz >= 4 && descsz % 4 == 0) {
            in->features_supported |= (uint32_t)rd(&ps->r, desc, 4);
        }
        break;
    case PVCORE_XEN_ELFNOTE_VIRT_BASE:
        in->virt_base = val;
        break;
    case PVCORE_XEN_ELFNOTE_ENTRY:
        in->entry = val;
        break;
    case PVCORE_XEN_ELFNOTE_INIT_P2M:
        in->p2m_base = val;
        break;
    case PVCORE_XEN_ELFNOTE_MOD_START_PFN:
        in->mod_start_pfn = val != 0;
        break;
    case PVCORE_XEN_ELFNOTE_PADDR_OFFSET:
        in->paddr_offset = val;
        ps->have_paddr_offset = true;
        break;
    case PVCORE_XEN_ELFNOTE_HYPERCALL_PAGE:
        in->hypercall_page = val;
        break;
    case PVCORE_XEN_ELFNOTE_HV_START_LOW:
        in->hv_start_low = val;
        break;
    default:
        break;
    }
}

/* The notes in [off, end) of the image's address space (end may lie past the image: the
 * walk stops where a note header would not fit). Returns the number of Xen notes. */
static uint32_t parse_notes(struct parse *ps, uint64_t off, uint64_t end)
{
    const struct reader *r = &ps->r;
    uint32_t xen = 0;

    while (off < end && in_image(r, off, 12)) {
        uint64_t namesz = rd(r, off, 4), descsz = rd(r, off + 4, 4);
        uint32_t type = (uint32_t)rd(r, off + 8, 4);
        uint64_t name = off + 12, desc = name + ((namesz + 3) & ~3ull);

        if (ps->total_notes >= MAX_TOTAL_NOTES) {
            break;
        }
        ps->total_notes++;
        /* The owner is the NUL-terminated string at name, whatever namesz says (libelf). */
        if (in_image(r, name, 4) && memcmp(r->p + name, "Xen", 4) == 0) {
            parse_note(ps, type, desc, descsz);
            xen++;
        }
        off = desc + ((descsz + 3) & ~3ull); /* < 2^35 past off: no overflow */
    }
    return xen;
}

/* ---- the legacy string ------------------------------------------------------------------ */

/* strtoull(s, NULL, 0): optional blanks and sign, then a 0x/0 prefix picks the base;
 * saturates on overflow. */
static uint64_t parse_number(const char *s)
{
    uint64_t v = 0;
    unsigned base = 10;
    bool neg = false, overflow = false;

    while (*s == ' ' || (*s >= '\t' && *s <= '\r')) {
        s++;
    }
    if (*s == '+' || *s == '-') {
        neg = *s == '-';
        s++;
    }
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
        ((s[2] >= '0' && s[2] <= '9') || ((s[2] | 0x20) >= 'a' && (s[2] | 0x20) <= 'f'))) {
        base = 16;
        s += 2;
    } else if (s[0] == '0') {
        base = 8;
    }
    for (;; s++) {
        unsigned c = (unsigned char)*s, d;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
            d = (c | 0x20) - 'a' + 10;
        } else {
            break;
        }
        if (d >= base) {
            break;
        }
        /* v * base + d > UINT64_MAX, with constant divisors (no 64-bit division helper on
         * i386). */
        if (base == 16 ? (v > UINT64_MAX / 16 || (v == UINT64_MAX / 16 && d > UINT64_MAX % 16))
            : base == 10 ? (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
                         : (v > UINT64_MAX / 8 || (v == UINT64_MAX / 8 && d > UINT64_MAX % 8))) {
            overflow = true;
        }
        v = v * base + d;
    }
    if (overflow) {
        return UINT64_MAX;
    }
    return neg ? (uint64_t)0 - v : v;
}

/* The image's byte at off, 0 outside it (libelf's accessor for the guest string). */
static char byte_at(const struct reader *r, uint64_t off)
{
    return (char)(off < r->size ? r->p[off] : 0);
}

/* "KEY=VALUE,KEY=VALUE,..." up to a NUL (or the image's end), read as libelf does: a key
 * of more than 31 characters is cut there and the rest read as the next key, a value of
 * more than 127 likewise. */
static void parse_legacy(struct parse *ps, uint64_t h)
{
    struct pvcore_elf_info *in = ps->info;
    bool have_base = false, have_hpage = false;
    uint64_t hpage = 0;

    while (byte_at(&ps->r, h) != 0) {
        char key[LEGACY_KEY_MAX] = { 0 }, value[LEGACY_VALUE_MAX] = { 0 };
        unsigned len;

        for (len = 0; len < LEGACY_KEY_MAX - 1; len++, h++) {
            char c = byte_at(&ps->r, h);
            if (c == 0) {
                break;
            }
            if (c == ',') {
                h++;
                break;
            }
            if (c == '=') {
                h++;
                for (len = 0; len < LEGACY_VALUE_MAX - 1; len++, h++) {
                    c = byte_at(&ps->r, h);
                    if (c == 0) {
                        break;
                    }
                    if (c == ',') {
                        h++;
                        break;
                    }
                    value[len] = c;
                }
                break;
            }
            key[len] = c;
        }

        if (str_eq(key, "LOADER")) {
            copy_cut(in->loader, sizeof(in->loader), (const uint8_t *)value, sizeof(value));
        } else if (str_eq(key, "GUEST_OS")) {
            copy_cut(in->guest_os, sizeof(in->guest_os), (const uint8_t *)value, sizeof(value));
        } else if (str_eq(key, "GUEST_VER")) {
            copy_cut(in->guest_version, sizeof(in->guest_version), (const uint8_t *)value,
                     sizeof(value));
        } else if (str_eq(key, "XEN_VER")) {
            copy_cut(in->xen_version, sizeof(in->xen_version), (const uint8_t *)value,
                     sizeof(value));
        } else if (str_eq(key, "PAE")) {
            if (str_eq(value, "yes[extended-cr3]")) {
                in->pae = PVCORE_ELF_PAE_EXTCR3;
            } else if (str_prefix(value, "yes")) {
                in->pae = PVCORE_ELF_PAE_YES;
            }
        } else if (str_eq(key, "VIRT_BASE")) {
            in->virt_base = parse_number(value);
            have_base = true;
        } else if (str_eq(key, "VIRT_ENTRY")) {
            in->entry = parse_number(value);
        } else if (str_eq(key, "ELF_PADDR_OFFSET")) {
            in->paddr_offset = parse_number(value);
            ps->have_paddr_offset = true;
        } else if (str_eq(key, "HYPERCALL_PAGE")) {
            hpage = parse_number(value) << 12; /* a page number relative to VIRT_BASE */
            have_hpage = true;
        } else if (str_eq(key, "FEATURES")) {
            parse_features(ps, value);
        }
    }
    if (have_hpage) {
        in->hypercall_page = have_base ? hpage + in->virt_base : hpage;
    }
}

/* ---- the whole image ------------------------------------------------------------------- */

/* Is section s named `want` (n bytes with its NUL)? */
static bool section_named(const struct parse *ps, const struct shdr *s, const char *want, size_t n)
{
    const struct reader *r = &ps->r;
    struct shdr strtab;
    uint64_t at;

    if (!get_shdr(r, (unsigned)rd(r, r->is64 ? 62 : 50, 2), &strtab) ||
        s->name >= strtab.size) {
        return false;
    }
    at = strtab.offset + s->name;
    return at >= strtab.offset && in_image(r, at, n) && memcmp(r->p + at, want, n) == 0;
}

static int find_xen_info(struct parse *ps)
{
    const struct reader *r = &ps->r;
    uint32_t notes = 0;
    unsigned i, n;
    struct shdr s;

    n = phnum(r);
    for (i = 0; i < n; i++) {
        struct phdr h;
        get_phdr(r, i, &h);
        /* Some binutils leave p_offset 0 in note segments: libelf skips those. */
        if (h.type != PT_NOTE || h.offset == 0) {
            continue;
        }
        notes += parse_notes(ps, h.offset, h.offset + h.filesz < h.offset ? UINT64_MAX
                                                                           : h.offset + h.filesz);
    }
    if (notes != 0) {
        ps->info->source = PVCORE_ELF_FROM_PHDR_NOTES;
    } else {
        n = shnum(r);
        for (i = 1; i < n && get_shdr(r, i, &s); i++) {
            if (s.type == SHT_NOTE) {
                notes += parse_notes(ps, s.offset, s.offset + s.size < s.offset ? UINT64_MAX
                                                                               : s.offset + s.size);
            }
        }
        if (notes != 0) {
            ps->info->source = PVCORE_ELF_FROM_SHDR_NOTES;
        }
    }
    ps->info->nr_notes = notes;
    if (notes == 0) {
        n = shnum(r);
        for (i = 0; i < n && get_shdr(r, i, &s); i++) {
            if (section_named(ps, &s, "__xen_guest", sizeof("__xen_guest"))) {
                ps->info->source = PVCORE_ELF_FROM_XEN_GUEST;
                parse_legacy(ps, s.offset);
                break;
            }
        }
    }
    if (ps->info->source == 0) {
        return -PVCORE_ENOEXEC; /* not a Xen PV kernel */
    }
    if (ps->bad_feature) {
        return -PVCORE_EINVAL;
    }
    if (!str_prefix(ps->info->loader, "generic") && !str_prefix(ps->info->guest_os, "linux")) {
        return -PVCORE_ENOEXEC; /* libelf loads only the generic loader's images, and Linux */
    }
    if (!str_prefix(ps->info->xen_version, "xen-3.0")) {
        return -PVCORE_ENOEXEC;
    }
    return 0;
}

/* The addresses, as libelf computes and checks them, plus the bounds checks a loader
 * that copies from the image needs. */
static int check_addresses(struct parse *ps)
{
    const struct reader *r = &ps->r;
    struct pvcore_elf_info *in = ps->info;
    uint64_t lo = UINT64_MAX, hi = 0, off;
    unsigned i, n = phnum(r);

    if (ps->have_paddr_offset && in->virt_base == PVCORE_ELF_UNSET) {
        return -PVCORE_EINVAL;
    }
    if (in->virt_base == PVCORE_ELF_UNSET) {
        in->virt_base = 0;
    }
    if (!ps->have_paddr_offset) {
        in->paddr_offset = in->source == PVCORE_ELF_FROM_XEN_GUEST ? in->virt_base : 0;
    }
    for (i = 0; i < n; i++) {
        struct phdr h;
        get_phdr(r, i, &h);
        if (!phdr_loadable(&h) || h.memsz == 0) {
            continue;
        }
        if (h.filesz > h.memsz || !in_image(r, h.offset, h.filesz) ||
            h.paddr + h.memsz < h.paddr) {
            return -PVCORE_EINVAL;
        }
        lo = h.paddr < lo ? h.paddr : lo;
        hi = h.paddr + h.memsz > hi ? h.paddr + h.memsz : hi;
    }
    if (lo >= hi) {
        return -PVCORE_EINVAL; /* nothing to load */
    }
    off = in->virt_base - in->paddr_offset;
    in->kernel_start = lo + off;
    in->kernel_end = hi + off;
    if (in->entry == PVCORE_ELF_UNSET) {
        in->entry = rdw(r, 0, 24, 24);
    }
    /* libelf's checks, and: the kernel does not wrap around the address space (or, for a
     * 32-bit image, 4 GiB), and the hypercall page is one of its pages. */
    if (in->kernel_start > in->kernel_end || in->kernel_end - in->kernel_start != hi - lo ||
        in->entry < in->kernel_start || in->entry > in->kernel_end ||
        in->virt_base > in->kernel_start ||
        (!in->is64 && in->kernel_end > 0x100000000ull)) {
        return -PVCORE_EINVAL;
    }
    if (in->p2m_base != PVCORE_ELF_UNSET && in->p2m_base >= in->kernel_start &&
        in->p2m_base < in->kernel_end) {
        return -PVCORE_EINVAL;
    }
    if (in->hypercall_page != PVCORE_ELF_UNSET &&
        (in->hypercall_page < (in->kernel_start & ~(uint64_t)(PVCORE_PAGE_SIZE - 1)) ||
         in->hypercall_page >= in->kernel_end)) {
        return -PVCORE_EINVAL;
    }
    return 0;
}

int pvcore_elf_parse(const void *image, size_t size, struct pvcore_elf_info *out)
{
    struct parse ps;
    const uint8_t *h = image;
    uint64_t ph_end;
    int rc;

    memset(out, 0, sizeof(*out));
    if (image == NULL || size < 52 || memcmp(h, "\177ELF", 4) != 0 || h[5] != 1 /* LE */) {
        return -PVCORE_ENOEXEC;
    }
    memset(&ps, 0, sizeof(ps));
    ps.r.p = h;
    ps.r.size = size;
    if (h[4] == 2 && size >= 64 && rd(&ps.r, 18, 2) == EM_X86_64) {
        ps.r.is64 = true;
    } else if (!(h[4] == 1 && rd(&ps.r, 18, 2) == EM_386)) {
        return -PVCORE_ENOEXEC;
    }
    /* The program header table lies inside the image (libelf's elf_init() check). */
    if (phnum(&ps.r) != 0) {
        if (phentsize(&ps.r) < (ps.r.is64 ? 56u : 32u)) {
            return -PVCORE_EINVAL;
        }
        ph_end = phoff(&ps.r) + (uint64_t)phnum(&ps.r) * phentsize(&ps.r);
        if (ph_end < phoff(&ps.r) || ph_end > size) {
            return -PVCORE_EINVAL;
        }
    }
    ps.info = out;
    out->image = h;
    out->size = size;
    out->is64 = ps.r.is64;
    out->virt_base = PVCORE_ELF_UNSET;
    out->entry = PVCORE_ELF_UNSET;
    out->hypercall_page = PVCORE_ELF_UNSET;
    out->p2m_base = PVCORE_ELF_UNSET;
    out->hv_start_low = PVCORE_ELF_UNSET;

    rc = find_xen_info(&ps);
    if (rc == 0) {
        rc = check_addresses(&ps);
    }
    if (rc != 0) {
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

/* ---- loading (builder.c) ------------------------------------------------------------ */

int elf_for_each_segment(const struct pvcore_elf_info *in, elf_segment_fn *fn, void *ctx)
{
    struct reader r = { .p = in->image, .size = in->size, .is64 = in->is64 != 0 };
    uint64_t off = in->virt_base - in->paddr_offset;
    unsigned i, n = phnum(&r);
    int rc;

    for (i = 0; i < n; i++) {
        struct phdr h;
        get_phdr(&r, i, &h);
        if (!phdr_loadable(&h) || h.memsz == 0) {
            continue;
        }
        /* Checked by pvcore_elf_parse(); checked again, cheaply, in case the caller's
         * image or info changed since. */
        if (h.filesz > h.memsz || !in_image(&r, h.offset, h.filesz) ||
            h.paddr + off < in->kernel_start || h.paddr + off > in->kernel_end ||
            h.memsz > in->kernel_end - (h.paddr + off)) {
            return -PVCORE_EINVAL;
        }
        rc = fn(ctx, h.paddr + off, r.p + h.offset, h.filesz, h.memsz);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}
