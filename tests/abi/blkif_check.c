/*
 * blkif_check: proves that <pvcore/abi/blkif.h> matches Xen's io/blkif.h and
 * io/protocols.h from libxen-dev, constant by constant and field by field, as
 * abi_check.c does for the other wire headers.
 *
 * blkif's requests and responses hold 64-bit fields, which i386 aligns on 4 bytes, so the
 * layouts of the two guest widths differ and Xen has no "foreign" header for them. The
 * program is therefore built twice (x86-64, and i386 by a custom command) and each build
 * checks
 *   - its own width's structures against Xen's native ones, field by field (offset, size,
 *     signedness);
 *   - both widths' structures against a table of literal offsets and sizes, each entry of
 *     which the build of the matching width also checks against Xen's native structure,
 *     so the literals are themselves proven;
 *   - the ring: Xen's DEFINE_RING_TYPES(blkif) slot size and 4 KiB ring size against ours.
 * Every comparison is a static assertion (a mismatch stops the build), counted when
 * main() runs; the protocol names are compared at run time.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The newest interface the installed headers know (see abi_check.c). */
#define __XEN_INTERFACE_VERSION__ __XEN_LATEST_INTERFACE_VERSION__

#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/ring.h>
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>

#include <pvcore/abi/blkif.h>
#include <pvcore/abi/ring.h>

#if defined(__x86_64__)
#define ABI_WIDTH "64-bit"
#elif defined(__i386__)
#define ABI_WIDTH "32-bit"
#else
#error "blkif_check compares x86 layouts; build it for x86-64 or i386"
#endif

#include "abi_compare.h"
/* A 64-bit field of ours split in two unsigned 32-bit halves: offset, size, halves. */
#define HALVES(...) HALVES_(__VA_ARGS__)
#define HALVES_(A, B, f)                                                                  \
    do {                                                                                  \
        CHECK(offsetof(A, f) == offsetof(B, f));                                          \
        CHECK(MSIZE(A, f) == MSIZE(B, f));                                                \
        CHECK(MSIZE(A, f) == 8 && MSIZE(A, f[0]) == 4);                                   \
        CHECK(SIGNCLASS(MEMBER(A, f[0])) == 3 && SIGNCLASS(MEMBER(B, f)) == 3);           \
    } while (0)

/*
 * Literal layouts: L(width, ours, xen, field, offset, size) checks our structure of that
 * width in both builds, and Xen's native structure in the build of that width.
 */
#if defined(__x86_64__)
#define XEN_AT_64(X, f, off, sz) CHECK(offsetof(X, f) == (off)); CHECK(MSIZE(X, f) == (sz))
#define XEN_AT_32(X, f, off, sz) ((void)0)
#define XEN_SZ_64(X, sz) CHECK(sizeof(X) == (sz))
#define XEN_SZ_32(X, sz) ((void)0)
#else
#define XEN_AT_64(X, f, off, sz) ((void)0)
#define XEN_AT_32(X, f, off, sz) CHECK(offsetof(X, f) == (off)); CHECK(MSIZE(X, f) == (sz))
#define XEN_SZ_64(X, sz) ((void)0)
#define XEN_SZ_32(X, sz) CHECK(sizeof(X) == (sz))
#endif
#define L(...) L_(__VA_ARGS__)
#define L_(w, A, X, f, off, sz)                                                          \
    do {                                                                                  \
        CHECK(offsetof(A, f) == (off));                                                   \
        CHECK(MSIZE(A, f) == (sz));                                                       \
        XEN_AT_##w(X, f, off, sz);                                                        \
    } while (0)
#define S(...) S_(__VA_ARGS__)
#define S_(w, A, X, sz)                                                                  \
    do {                                                                                  \
        CHECK(sizeof(A) == (sz));                                                         \
        XEN_SZ_##w(X, sz);                                                                \
    } while (0)

static void check_constants(void)
{
    TYPE(pvcore_blkif_vdev_t, blkif_vdev_t);
    TYPE(pvcore_blkif_sector_t, blkif_sector_t);
    CONST(PVCORE_BLKIF_OP_READ, BLKIF_OP_READ);
    CONST(PVCORE_BLKIF_OP_WRITE, BLKIF_OP_WRITE);
    CONST(PVCORE_BLKIF_OP_WRITE_BARRIER, BLKIF_OP_WRITE_BARRIER);
    CONST(PVCORE_BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_FLUSH_DISKCACHE);
    CONST(PVCORE_BLKIF_OP_RESERVED_1, BLKIF_OP_RESERVED_1);
    CONST(PVCORE_BLKIF_OP_DISCARD, BLKIF_OP_DISCARD);
    CONST(PVCORE_BLKIF_OP_INDIRECT, BLKIF_OP_INDIRECT);
    CONST(PVCORE_BLKIF_MAX_SEGMENTS_PER_REQUEST, BLKIF_MAX_SEGMENTS_PER_REQUEST);
    CONST(PVCORE_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
    CONST(PVCORE_BLKIF_DISCARD_SECURE, BLKIF_DISCARD_SECURE);
    CONST(PVCORE_BLKIF_RSP_OKAY, BLKIF_RSP_OKAY);
    CONST(PVCORE_BLKIF_RSP_ERROR, BLKIF_RSP_ERROR);
    CONST(PVCORE_BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_EOPNOTSUPP);
    CONST(PVCORE_VDISK_CDROM, VDISK_CDROM);
    CONST(PVCORE_VDISK_REMOVABLE, VDISK_REMOVABLE);
    CONST(PVCORE_VDISK_READONLY, VDISK_READONLY);
    /* Ours, not Xen's macros: a segment's sectors fill one page exactly. */
    CHECK(PVCORE_BLKIF_SECTOR_SIZE * PVCORE_BLKIF_SECTORS_PER_PAGE == 4096u);

    RCHECK(strcmp(PVCORE_XEN_IO_PROTO_ABI_X86_32, XEN_IO_PROTO_ABI_X86_32) == 0, "x86_32-abi");
    RCHECK(strcmp(PVCORE_XEN_IO_PROTO_ABI_X86_64, XEN_IO_PROTO_ABI_X86_64) == 0, "x86_64-abi");
    RCHECK(strcmp(PVCORE_XEN_IO_PROTO_ABI_ARM, XEN_IO_PROTO_ABI_ARM) == 0, "arm-abi");
    RCHECK(strcmp(PVCORE_XEN_IO_PROTO_ABI_NATIVE, XEN_IO_PROTO_ABI_NATIVE) == 0, "native protocol");
}

/* The segment: one layout for both widths, checked in both builds. */
static void check_segment(void)
{
    SZ(struct pvcore_blkif_request_segment, struct blkif_request_segment);
    FLD(struct pvcore_blkif_request_segment, struct blkif_request_segment, gref);
    FLD(struct pvcore_blkif_request_segment, struct blkif_request_segment, first_sect);
    FLD(struct pvcore_blkif_request_segment, struct blkif_request_segment, last_sect);
    CHECK(sizeof(struct pvcore_blkif_request_segment) == 8);
    CHECK(_Generic((pvcore_blkif_request_segment_t *)0, struct pvcore_blkif_request_segment *: 1, default: 0));
}

/* Our structures of the compiler's width against Xen's native ones, field by field. */
static void check_native(void)
{
#if defined(__x86_64__)
#define RQ struct pvcore_blkif_request_x86_64, struct blkif_request
#define RD struct pvcore_blkif_request_discard_x86_64, struct blkif_request_discard
#define RI struct pvcore_blkif_request_indirect_x86_64, struct blkif_request_indirect
#define RS struct pvcore_blkif_response_x86_64, struct blkif_response
#define SE union pvcore_blkif_sring_entry_x86_64, union blkif_sring_entry
#define WIDE FLD
    CHECK(_Generic((pvcore_blkif_request_t *)0, struct pvcore_blkif_request_x86_64 *: 1, default: 0));
    CHECK(_Generic((pvcore_blkif_response_t *)0, struct pvcore_blkif_response_x86_64 *: 1, default: 0));
    CHECK(_Generic((pvcore_blkif_sring_entry_t *)0, union pvcore_blkif_sring_entry_x86_64 *: 1, default: 0));
#else
#define RQ struct pvcore_blkif_request_x86_32, struct blkif_request
#define RD struct pvcore_blkif_request_discard_x86_32, struct blkif_request_discard
#define RI struct pvcore_blkif_request_indirect_x86_32, struct blkif_request_indirect
#define RS struct pvcore_blkif_response_x86_32, struct blkif_response
#define SE union pvcore_blkif_sring_entry_x86_32, union blkif_sring_entry
#define WIDE HALVES
    CHECK(_Generic((pvcore_blkif_request_t *)0, struct pvcore_blkif_request_x86_32 *: 1, default: 0));
    CHECK(_Generic((pvcore_blkif_response_t *)0, struct pvcore_blkif_response_x86_32 *: 1, default: 0));
    CHECK(_Generic((pvcore_blkif_sring_entry_t *)0, union pvcore_blkif_sring_entry_x86_32 *: 1, default: 0));
#endif
    SZ(RQ);
    FLD(RQ, operation);
    FLD(RQ, nr_segments);
    FLD(RQ, handle);
    WIDE(RQ, id);
    WIDE(RQ, sector_number);
    AGG(RQ, seg);
    CHECK(MSIZE(struct blkif_request, seg[0]) == sizeof(struct pvcore_blkif_request_segment));

    SZ(RD);
    FLD(RD, operation);
    FLD(RD, flag);
    FLD(RD, handle);
    WIDE(RD, id);
    WIDE(RD, sector_number);
    WIDE(RD, nr_sectors);

    SZ(RI);
    FLD(RI, operation);
    FLD(RI, indirect_op);
    FLD(RI, nr_segments);
    WIDE(RI, id);
    WIDE(RI, sector_number);
    FLD(RI, handle);
    ARR(RI, indirect_grefs);

    SZ(RS);
    WIDE(RS, id);
    FLD(RS, operation);
    FLD(RS, status);

    /* The ring of DEFINE_RING_TYPES(blkif, ...): same slot, header, and 4 KiB slot count. */
    SZ(SE);
    AGG(SE, req);
    AGG(SE, rsp);
    CHECK(offsetof(struct blkif_sring, ring) == PVCORE_SRING_HEADER_SIZE);
    CHECK(__CONST_RING_SIZE(blkif, 4096) == PVCORE_BLKIF_RING_SIZE_4K);
#undef RQ
#undef RD
#undef RI
#undef RS
#undef SE
#undef WIDE
}

/* Both widths against literal layouts (each proven against Xen by the matching build). */
static void check_literal(void)
{
#define Q64 struct pvcore_blkif_request_x86_64, struct blkif_request
#define Q32 struct pvcore_blkif_request_x86_32, struct blkif_request
    S(64, Q64, 112);
    L(64, Q64, operation, 0, 1);
    L(64, Q64, nr_segments, 1, 1);
    L(64, Q64, handle, 2, 2);
    CHECK(offsetof(struct pvcore_blkif_request_x86_64, _pad0) == 4);
    L(64, Q64, id, 8, 8);
    L(64, Q64, sector_number, 16, 8);
    L(64, Q64, seg, 24, 88);
    S(32, Q32, 108);
    L(32, Q32, operation, 0, 1);
    L(32, Q32, nr_segments, 1, 1);
    L(32, Q32, handle, 2, 2);
    L(32, Q32, id, 4, 8);
    L(32, Q32, sector_number, 12, 8);
    L(32, Q32, seg, 20, 88);

#define D64 struct pvcore_blkif_request_discard_x86_64, struct blkif_request_discard
#define D32 struct pvcore_blkif_request_discard_x86_32, struct blkif_request_discard
    S(64, D64, 32);
    L(64, D64, operation, 0, 1);
    L(64, D64, flag, 1, 1);
    L(64, D64, handle, 2, 2);
    L(64, D64, id, 8, 8);
    L(64, D64, sector_number, 16, 8);
    L(64, D64, nr_sectors, 24, 8);
    S(32, D32, 28);
    L(32, D32, operation, 0, 1);
    L(32, D32, flag, 1, 1);
    L(32, D32, handle, 2, 2);
    L(32, D32, id, 4, 8);
    L(32, D32, sector_number, 12, 8);
    L(32, D32, nr_sectors, 20, 8);

#define I64 struct pvcore_blkif_request_indirect_x86_64, struct blkif_request_indirect
#define I32 struct pvcore_blkif_request_indirect_x86_32, struct blkif_request_indirect
    S(64, I64, 64);
    L(64, I64, operation, 0, 1);
    L(64, I64, indirect_op, 1, 1);
    L(64, I64, nr_segments, 2, 2);
    L(64, I64, id, 8, 8);
    L(64, I64, sector_number, 16, 8);
    L(64, I64, handle, 24, 2);
    L(64, I64, indirect_grefs, 28, 32);
    S(32, I32, 64);
    L(32, I32, operation, 0, 1);
    L(32, I32, indirect_op, 1, 1);
    L(32, I32, nr_segments, 2, 2);
    L(32, I32, id, 4, 8);
    L(32, I32, sector_number, 12, 8);
    L(32, I32, handle, 20, 2);
    L(32, I32, indirect_grefs, 24, 32);
    L(32, I32, pad, 56, 8);

#define R64 struct pvcore_blkif_response_x86_64, struct blkif_response
#define R32 struct pvcore_blkif_response_x86_32, struct blkif_response
    S(64, R64, 16);
    L(64, R64, id, 0, 8);
    L(64, R64, operation, 8, 1);
    L(64, R64, status, 10, 2);
    S(32, R32, 12);
    L(32, R32, id, 0, 8);
    L(32, R32, operation, 8, 1);
    L(32, R32, status, 10, 2);

#define E64 union pvcore_blkif_sring_entry_x86_64, union blkif_sring_entry
#define E32 union pvcore_blkif_sring_entry_x86_32, union blkif_sring_entry
    S(64, E64, 112);
    S(32, E32, 108);
    /* Both widths give a one-page ring of 32 slots, as Xen's macro gives the native one. */
    CHECK(PVCORE_RING_NR_SLOTS(4096u, sizeof(union pvcore_blkif_sring_entry_x86_64)) == PVCORE_BLKIF_RING_SIZE_4K);
    CHECK(PVCORE_RING_NR_SLOTS(4096u, sizeof(union pvcore_blkif_sring_entry_x86_32)) == PVCORE_BLKIF_RING_SIZE_4K);
    /* Each structure's alignment is that of its width (4 for the 32-bit layouts). */
    CHECK(_Alignof(struct pvcore_blkif_request_x86_32) == 4);
    CHECK(_Alignof(struct pvcore_blkif_response_x86_32) == 4);
#if defined(__x86_64__)
    CHECK(_Alignof(struct pvcore_blkif_request_x86_64) == 8);
    CHECK(_Alignof(struct pvcore_blkif_response_x86_64) == 8);
#endif
}

int main(void)
{
    check_constants();
    check_segment();
    check_native();
    check_literal();
    if (g_failures != 0) {
        printf("blkif_check (%s): %lu of %lu checks FAILED\n", ABI_WIDTH, g_failures, g_checks);
        return 1;
    }
    printf("blkif_check (%s): %lu checks passed\n", ABI_WIDTH, g_checks);
    return 0;
}
