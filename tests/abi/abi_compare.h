/*
 * abi_compare.h: the comparison macros the ABI checks share (abi_check.c, blkif_check.c,
 * xs_wire_check.c): each is a static assertion, counted when the program runs, comparing
 * one of our wire structures or fields with Xen's. Include after <stddef.h> and <stdio.h>.
 */
#ifndef PVCORE_TESTS_ABI_COMPARE_H
#define PVCORE_TESTS_ABI_COMPARE_H

static unsigned long g_checks;  /* comparisons made (static and runtime) */
static unsigned long g_failures; /* runtime comparisons that failed */

/* A compile-time comparison, counted at run time. */
#define CHECK(cond)                                                                       \
    do {                                                                                  \
        _Static_assert((cond), #cond);                                                    \
        ++g_checks;                                                                       \
    } while (0)

/* A run-time comparison (for function-like macros), counted and reported. */
#define RCHECK(cond, what)                                                                \
    do {                                                                                  \
        ++g_checks;                                                                       \
        if (!(cond)) {                                                                    \
            ++g_failures;                                                                 \
            fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, what);            \
        }                                                                                 \
    } while (0)

/* 1 plain char, 2 signed integer, 3 unsigned integer, 0 anything else. Arrays decay to
 * pointers (class 0), so array elements are classified separately. */
#define SIGNCLASS(e)                                                                      \
    _Generic((e), char: 1, signed char: 2, short: 2, int: 2, long: 2, long long: 2,      \
             _Bool: 3, unsigned char: 3, unsigned short: 3, unsigned int: 3,             \
             unsigned long: 3, unsigned long long: 3, default: 0)

#define MEMBER(T, f) (((T *)0)->f)
#define MSIZE(T, f) sizeof(MEMBER(T, f))

/*
 * Structure pairs are written `ours, theirs`, usually through a macro naming both, so
 * every checker takes its arguments through a variadic indirection.
 */
/* Whole structure: size. */
#define SZ(...) SZ_(__VA_ARGS__)
#define SZ_(A, B) CHECK(sizeof(A) == sizeof(B))
/* Integer field: offset, size, signedness. */
#define FLD(...) FLD_(__VA_ARGS__)
#define FLD_(A, B, f)                                                                     \
    do {                                                                                  \
        CHECK(offsetof(A, f) == offsetof(B, f));                                          \
        CHECK(MSIZE(A, f) == MSIZE(B, f));                                                \
        CHECK(SIGNCLASS(MEMBER(A, f)) == SIGNCLASS(MEMBER(B, f)));                        \
    } while (0)
/* Array field: offset, size, element size, element signedness. */
#define ARR(...) ARR_(__VA_ARGS__)
#define ARR_(A, B, f)                                                                     \
    do {                                                                                  \
        CHECK(offsetof(A, f) == offsetof(B, f));                                          \
        CHECK(MSIZE(A, f) == MSIZE(B, f));                                                \
        CHECK(MSIZE(A, f[0]) == MSIZE(B, f[0]));                                          \
        CHECK(SIGNCLASS(MEMBER(A, f[0])) == SIGNCLASS(MEMBER(B, f[0])));                  \
    } while (0)
/* Aggregate field (struct, union, guest handle): offset and size. */
#define AGG(...) AGG_(__VA_ARGS__)
#define AGG_(A, B, f)                                                                     \
    do {                                                                                  \
        CHECK(offsetof(A, f) == offsetof(B, f));                                          \
        CHECK(MSIZE(A, f) == MSIZE(B, f));                                                \
    } while (0)
/* Constant: value and signedness. */
#define CONST(ours, theirs)                                                               \
    do {                                                                                  \
        CHECK((ours) == (theirs));                                                        \
        CHECK(SIGNCLASS(ours) == SIGNCLASS(theirs));                                      \
    } while (0)
/* Scalar typedef: size and signedness. */
#define TYPE(ours, theirs)                                                                \
    do {                                                                                  \
        CHECK(sizeof(ours) == sizeof(theirs));                                            \
        CHECK(SIGNCLASS(*(ours *)0) == SIGNCLASS(*(theirs *)0));                          \
    } while (0)

#endif /* PVCORE_TESTS_ABI_COMPARE_H */
