/*
 * A frame source for tests (pvcore_machine_set_frame_source()): hands out runs of free
 * frames from the upper part of the pvtest machine, which alloc_frame() (from frame 16 up)
 * does not reach in any test, and can be told to fail. Static inline: each file uses some.
 */
#ifndef PVCORE_TESTS_FRAMESRC_H
#define PVCORE_TESTS_FRAMESRC_H

#include "pvtest.h"

#define FRAMESRC_FIRST (TEST_FRAMES / 2u)

struct framesrc {
    struct pvtest *t;
    uint64_t first, end; /* the frames it may hand out: [first, end) */
    int fail;            /* non-zero: every request fails */
    uint64_t calls, given;
    uint64_t lie;        /* non-zero: answer this frame whatever its state (a broken source) */
};

static inline int framesrc_alloc(void *ctx, uint16_t domid, uint32_t order, uint32_t bits,
                                 pvcore_mfn_t *first)
{
    struct framesrc *s = (struct framesrc *)ctx;
    uint64_t n = 1ull << order, base, i;
    (void)domid;

    s->calls++;
    if (s->fail) {
        return -PVCORE_ENOMEM;
    }
    if (s->lie != 0) {
        *first = pvcore_mfn(s->lie);
        return 0;
    }
    for (base = (s->first + n - 1u) & ~(n - 1u); base + n <= s->end; base += n) {
        if (bits != 0 && bits < 64 && ((base + n - 1u) >> (bits - 12u)) != 0) {
            break;
        }
        for (i = 0; i < n; i++) {
            struct pvcore_frame_info fi = finfo(s->t, base + i);
            if (!(fi.flags & PVCORE_FRAME_RAM) || fi.owner != PVCORE_DOMID_INVALID) {
                break;
            }
        }
        if (i == n) {
            s->given += n;
            *first = pvcore_mfn(base);
            return 0;
        }
    }
    return -PVCORE_ENOMEM;
}

static inline void framesrc_init(struct framesrc *s, struct pvtest *t)
{
    memset(s, 0, sizeof(*s));
    s->t = t;
    s->first = FRAMESRC_FIRST;
    s->end = TEST_FRAMES;
    pvcore_machine_set_frame_source(t->m, framesrc_alloc, s);
}

#endif /* PVCORE_TESTS_FRAMESRC_H */
