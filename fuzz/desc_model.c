/*
 * The descriptor-check model (desc_model.h). Field by field, in the words of the rules:
 * a not-present descriptor is harmless; nothing may be more privileged than the guest
 * kernel's ring; a 32-bit guest gets no 64-bit code and has its near-4-GiB flat segments
 * widened; of the system descriptors only a call gate to the guest's own segments (or the
 * flat kernel code segment) survives, made to fault on every use, plus the "type 0"
 * placeholder of a 64-bit gate's second half.
 */
#include "desc_model.h"

#include <pvcore/abi/xen.h>

struct fields {
    /* common */
    unsigned type, system, dpl, present;
    /* code and data segments */
    uint32_t base, limit;
    unsigned avl, longmode, big, granular;
    /* gates */
    uint16_t selector;
    uint32_t offset;
    unsigned count_byte;
};

static struct fields decode(uint64_t d)
{
    struct fields f;

    f.limit = (uint32_t)(d & 0xFFFF) | (uint32_t)((d >> 48) & 0xF) << 16;
    f.base = (uint32_t)((d >> 16) & 0xFFFFFF) | (uint32_t)((d >> 56) & 0xFF) << 24;
    f.type = (unsigned)(d >> 40) & 0xF;
    f.system = !((d >> 44) & 1);
    f.dpl = (unsigned)(d >> 45) & 3;
    f.present = (unsigned)(d >> 47) & 1;
    f.avl = (unsigned)(d >> 52) & 1;
    f.longmode = (unsigned)(d >> 53) & 1;
    f.big = (unsigned)(d >> 54) & 1;
    f.granular = (unsigned)(d >> 55) & 1;
    f.selector = (uint16_t)(d >> 16);
    f.offset = (uint32_t)(d & 0xFFFF) | (uint32_t)(d >> 48) << 16;
    f.count_byte = (unsigned)(d >> 32) & 0xFF;
    return f;
}

static uint64_t encode_common(const struct fields *f)
{
    return (uint64_t)f->type << 40 | (uint64_t)!f->system << 44 | (uint64_t)f->dpl << 45 |
           (uint64_t)f->present << 47;
}

static uint64_t encode_segment(const struct fields *f)
{
    return encode_common(f) | (f->limit & 0xFFFF) | (uint64_t)(f->base & 0xFFFFFF) << 16 |
           (uint64_t)(f->limit >> 16 & 0xF) << 48 | (uint64_t)f->avl << 52 |
           (uint64_t)f->longmode << 53 | (uint64_t)f->big << 54 | (uint64_t)f->granular << 55 |
           (uint64_t)(f->base >> 24) << 56;
}

static uint64_t encode_gate(const struct fields *f)
{
    return encode_common(f) | (f->offset & 0xFFFF) | (uint64_t)f->selector << 16 |
           (uint64_t)f->count_byte << 32 | (uint64_t)(f->offset >> 16) << 48;
}

int desc_model_check(int is32, uint64_t in, uint64_t *out)
{
    struct fields f = decode(in);
    unsigned ring = is32 ? 1 : 3;
    unsigned wanted;

    if (!f.present) {
        *out = in;
        return 1;
    }
    wanted = f.dpl > ring ? f.dpl : ring;
    if (!f.system) {
        f.dpl = wanted;
        if (is32) {
            uint64_t bytes = ((uint64_t)f.limit + 1) * (f.granular ? 4096u : 1u);
            if (f.longmode) {
                return 0;
            }
            if (f.base == 0 && bytes > PVCORE_HYPERVISOR_VIRT_START_X86_32) {
                f.limit = 0xFFFFF;
            }
        }
        *out = encode_segment(&f);
        return 1;
    }
    if (f.type == 0) {
        *out = in;
        return 1;
    }
    if (f.type != 12) {
        return 0;
    }
    {
        unsigned index = f.selector >> 3;
        int in_ldt = (f.selector >> 2) & 1;
        uint16_t flat = is32 ? PVCORE_FLAT_KERNEL_CS_X86_32 : PVCORE_FLAT_KERNEL_CS_X86_64;
        unsigned reserved = is32 ? f.count_byte >> 5 : f.count_byte;

        if (!in_ldt && index >= PVCORE_FIRST_RESERVED_GDT_ENTRY && f.selector != flat) {
            return 0;
        }
        if (reserved != 0) {
            return 0;
        }
        f.selector = (uint16_t)((f.selector & 0xFFFC) | wanted);
        f.dpl = 0;
    }
    *out = encode_gate(&f);
    return 1;
}
