/*
 * fuzz_entry.h: how fuzz_mmu and fuzz_hypercall turn input bytes into page-table entries.
 *
 * Include it after defining FRAMES (the machine's frame count) and
 * `static uint64_t dom_frame(unsigned d, unsigned idx)` (frame idx of domain d's pool).
 */
#ifndef PVCORE_FUZZ_ENTRY_H
#define PVCORE_FUZZ_ENTRY_H

#include <stdint.h>

/* A frame selector byte: mostly the domain's own pool (so deep states are reachable),
 * sometimes another domain's, sometimes anything (free frames, out of range, I/O). */
static uint64_t frame_sel(uint8_t b, uint8_t extra, unsigned d)
{
    switch (b >> 6) {
    case 0:
    case 1:
        return dom_frame(d, b);
    case 2:
        return dom_frame((unsigned)(b % 3), b >> 2);
    default:
        return ((uint64_t)extra << 6 | (b & 0x3Fu)) % (FRAMES + 16u);
    }
}

static const uint64_t flag_sets[] = {
    0x001, 0x003, 0x007, 0x005, 0x061, 0x067, 0x000, 0x8000000000000003ull,
    0x101, 0x019, 0x081, 0x013, 0x027, 0x063, 0x023, 0x067 | 0x8000000000000000ull,
};

/*
 * An entry: 3 bytes. e[0] selects the frame, e[1] the flags (mostly meaningful sets,
 * sometimes raw low and high flag bits), e[2] extends both.
 */
static uint64_t entry(const uint8_t *e, unsigned d)
{
    uint64_t flags;

    if (e[1] < 0xE0) {
        flags = flag_sets[e[1] % (sizeof(flag_sets) / sizeof(flag_sets[0]))];
    } else {
        flags = (uint64_t)e[1] | ((uint64_t)(e[2] & 0x0F) << 8) | ((uint64_t)(e[2] & 0xF0) << 56);
    }
    return (frame_sel(e[0], e[2], d) << 12) | flags;
}

#endif
