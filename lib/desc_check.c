/*
 * The descriptor check (Xen's check_descriptor()) and the descriptor-page type's
 * validator. A leaf beside the frame table: the type machinery dispatches here, and
 * nothing here calls back into it.
 *
 * A descriptor is two 32-bit words as the processor reads them: `a` the low one (limit
 * 15:0 and base 15:0, or a gate's offset 15:0 and target selector), `b` the high one
 * (base 23:16, type, S, DPL, P, limit 19:16, L, G, base 31:24, or a gate's parameter
 * count and offset 31:16).
 */
#include "internal/desc.h"

#define SEG_TYPE (15u << 8)
#define SEG_S (1u << 12)
#define SEG_DPL (3u << 13)
#define SEG_P (1u << 15)
#define SEG_L (1u << 21)
#define SEG_G (1u << 23)
#define SEG_TYPE_CALL_GATE (0xCu << 8)

/* The ring a guest kernel runs in, which nothing it installs may be more privileged than. */
static unsigned guest_kernel_rpl(bool is32)
{
    return is32 ? 1u : 3u;
}

/* A gate may lead only to the guest's own segments (LDT, or GDT below the hypervisor's
 * entries) or to the hypervisor's flat kernel code segment: the gate's selector RPL is
 * ignored by the processor, so it cannot be fixed up the way a segment's DPL is. */
static bool gate_selector_ok(bool is32, uint32_t sel)
{
    return (sel & 4u) != 0 || (sel >> 3) < PVCORE_FIRST_RESERVED_GDT_ENTRY ||
           sel == (is32 ? PVCORE_FLAT_KERNEL_CS_X86_32 : PVCORE_FLAT_KERNEL_CS_X86_64);
}

bool desc_check(bool is32, uint64_t *desc)
{
    uint32_t a = (uint32_t)*desc;
    uint32_t b = (uint32_t)(*desc >> 32);
    unsigned dpl;

    /* Loading a not-present descriptor faults, whatever the rest says. */
    if ((b & SEG_P) == 0) {
        return true;
    }
    dpl = (b >> 13) & 3u;
    if (dpl < guest_kernel_rpl(is32)) {
        dpl = guest_kernel_rpl(is32);
    }
    b = (b & ~SEG_DPL) | (uint32_t)dpl << 13;
    if (b & SEG_S) {
        if (is32) {
            uint32_t base = (b & 0xFF000000u) | (b & 0xFFu) << 16 | a >> 16;
            /* In bytes, one past the end: up to 2^32, so 64 bits wide. */
            uint64_t limit = (uint64_t)((b & 0x000F0000u) | (a & 0xFFFFu)) + 1u;

            /* A 32-bit guest runs in compatibility mode only: its entries, registers and
             * addresses are handled as 32-bit ones, which 64-bit code would not keep to. */
            if (b & SEG_L) {
                return false;
            }
            if (b & SEG_G) {
                limit <<= 12;
            }
            /* Old PAE kernels limit their flat segments to where a 32-bit hypervisor
             * began; widened, they reach the larger read-only M2P above. The hypervisor's
             * own memory is out of reach of a 32-bit guest through paging anyway. */
            if (base == 0 && limit > PVCORE_HYPERVISOR_VIRT_START_X86_32) {
                a |= 0x0000FFFFu;
                b |= 0x000F0000u;
            }
        }
    } else {
        uint32_t sel = a >> 16;

        if ((b & SEG_TYPE) == 0) {
            /* Type 0 is invalid to the processor: harmless, and the top half of a
             * 64-bit call gate looks like it. */
            return true;
        }
        if ((b & SEG_TYPE) != SEG_TYPE_CALL_GATE || !gate_selector_ok(is32, sel)) {
            return false;
        }
        /* DPL 0 makes every use of the gate fault, so that it is emulated: a 64-bit
         * guest's kernel runs in ring 3, where the processor could not tell a gate into
         * the kernel from one within user space, and a 32-bit guest's gates would be
         * 64-bit ones. The DPL the guest asked for is kept in the selector's RPL. */
        b &= ~SEG_DPL;
        a = (a & 0xFFFFu) | ((sel & ~3u) | dpl) << 16;
        if (b & (is32 ? 0xE0u : 0xFFu)) {
            return false;
        }
    }
    *desc = (uint64_t)b << 32 | a;
    return true;
}

int pvcore_desc_check(int is32, uint64_t *desc)
{
    return desc_check(is32 != 0, desc) ? 0 : -PVCORE_EINVAL;
}

/* ---- the descriptor-page type ---------------------------------------------------------------- */

static int desc_validate(const struct domain_locked *dl, uint64_t mfn, uint32_t type)
{
    struct domain *d = dl->d;
    uint64_t *descs = frame_entries(d->m, mfn);
    bool is32 = domain_is_32(d);
    unsigned i;

    (void)type;
    /* Everything is checked before anything is fixed up, so that a refused frame stays
     * exactly as the guest wrote it. Work as for page tables: one unit per present
     * descriptor, one per 32 scanned; a frame is bounded work, never preempted. */
    for (i = 0; i < DESC_PER_FRAME; i++) {
        uint64_t e = desc_read(&descs[i]);

        if ((i & 31u) == 0 || (e & ((uint64_t)SEG_P << 32))) {
            call_charge(dl->call, 1);
        }
        if (!desc_check(is32, &e)) {
            return -PVCORE_EINVAL;
        }
    }
    /* Nobody can write the frame meanwhile: the type we hold excludes writable mappings,
     * and update_descriptor needs the lock we hold. So the second pass sees what the
     * first accepted. */
    for (i = 0; i < DESC_PER_FRAME; i++) {
        uint64_t e = desc_read(&descs[i]);
        uint64_t ne = e;

        if (desc_check(is32, &ne) && ne != e) {
            desc_write(&descs[i], ne);
        }
    }
    /* release: the fixed-up descriptors are in place before the frame counts as valid. */
    frame_type_fetch_or(mfn_frame(d->m, mfn), PGT_VALIDATED, memory_order_release);
    return 0;
}

const struct pagetype_ops desc_type_ops = {
    .entries = DESC_PER_FRAME,
    .validate = desc_validate,
    .devalidate = NULL,
};
