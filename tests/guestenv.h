/*
 * A guest address space for tests that go through guest memory: a 64-bit or 32-bit PAE
 * domain of the pvtest fixture whose vCPU 0 runs on tables with NDATA data pages at VA,
 * and host-side access to those pages. Static functions: each test file uses some.
 */
#ifndef PVCORE_TESTS_GUESTENV_H
#define PVCORE_TESTS_GUESTENV_H

#include "pvtest.h"

#define VA 0x400000ull /* the data pages of build_as64/build_as32 */
#define NDATA 8u
#define UNMAPPED 0x800000ull
#define TOP_PAGE 0xFFFFFFFFFFFFF000ull

/* One guest's address space: its root is the vCPU 0 base, NDATA data pages at VA. */
struct env {
    struct pvtest *t;
    int d;
    int is32;
    uint64_t root, l2, l1;
    uint64_t data[NDATA];
    uint64_t top; /* 64-bit with map_top: the frame mapped at TOP_PAGE */
};

static inline void env_init_opt(struct env *e, struct pvtest *t, int d, int map_top)
{
    unsigned i;
    int rc;

    memset(e, 0, sizeof(*e));
    e->t = t;
    e->d = d;
    e->is32 = d == 2;
    if (e->is32) {
        struct as32 as;
        build_as32(t, d, &as, NDATA);
        e->root = as.l3;
        e->l2 = as.l2;
        e->l1 = as.l1;
        for (i = 0; i < NDATA; i++) {
            e->data[i] = as.data[i];
        }
    } else {
        struct as64 as;
        build_as64(t, d, &as, NDATA);
        e->root = as.l4;
        e->l2 = as.l2;
        e->l1 = as.l1;
        for (i = 0; i < NDATA; i++) {
            e->data[i] = as.data[i];
        }
        if (map_top) {
            /* The last page of the 64-bit address space, a guest (kernel) address. */
            uint64_t l3 = alloc_frame(t, d), l2 = alloc_frame(t, d), l1 = alloc_frame(t, d);
            e->top = alloc_frame(t, d);
            frame_ptr(t, e->root)[511] = pte(l3, PT_P | PT_RW | PT_US);
            frame_ptr(t, l3)[511] = pte(l2, PT_P | PT_RW | PT_US);
            frame_ptr(t, l2)[511] = pte(l1, PT_P | PT_RW | PT_US);
            frame_ptr(t, l1)[511] = pte(e->top, PT_P | PT_RW | PT_US);
            /* ... and address 0, through the data pages' own L1. */
            frame_ptr(t, e->l2)[0] = pte(e->l1, PT_P | PT_RW | PT_US);
        }
    }
    /* A machine with a small budget validates the tree over several calls. */
    while ((rc = ext(t, d, PVCORE_MMUEXT_NEW_BASEPTR, e->root, 0, PVCORE_DOMID_SELF)) ==
           -PVCORE_ERESTART) {
    }
    assert_int_equal(rc, 0);
    check_invariants(t);
}

static inline void env_init(struct env *e, struct pvtest *t, int d)
{
    env_init_opt(e, t, d, 0);
}

/* Host pointer to the byte at guest address va (in the data pages or the top page). */
static inline uint8_t *gptr(const struct env *e, uint64_t va)
{
    if (e->top != 0 && va >= TOP_PAGE) {
        return (uint8_t *)frame_ptr(e->t, e->top) + (va - TOP_PAGE);
    }
    uint64_t page = (va - VA) >> 12;

    assert_true(va >= VA && page < NDATA);
    /* (cmocka's assert is not noreturn: keep the index visibly in range for the compiler) */
    return (uint8_t *)frame_ptr(e->t, e->data[page < NDATA ? page : 0]) + ((va - VA) & 4095u);
}

static inline void gwrite(const struct env *e, uint64_t va, const void *src, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        *gptr(e, va + i) = ((const uint8_t *)src)[i];
    }
}

static inline void gread(const struct env *e, uint64_t va, void *dst, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        ((uint8_t *)dst)[i] = *gptr(e, va + i);
    }
}

static inline uint32_t gread32(const struct env *e, uint64_t va)
{
    uint32_t v;
    gread(e, va, &v, 4);
    return v;
}

static inline void gwrite32(const struct env *e, uint64_t va, uint32_t v)
{
    gwrite(e, va, &v, 4);
}

static inline void gfill(const struct env *e, uint64_t va, uint8_t b, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        *gptr(e, va + i) = b;
    }
}

#endif /* PVCORE_TESTS_GUESTENV_H */
