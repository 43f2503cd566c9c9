/**
 * @file
 * @brief The block-device split-driver protocol (blkif): the requests and responses a
 *        block front-end and back-end exchange over a shared ring.
 *
 * A front-end (the guest that uses a virtual disk) and a back-end (the domain that serves
 * it) share one ring page (<pvcore/abi/ring.h>): a 64-byte header followed by slots that
 * each hold a request or, once the back-end has served it, its response. The front-end
 * grants the ring page and the pages of data to the back-end; a request names its data
 * pages by grant reference, one page per segment. The back-end maps (or copies) each
 * segment's page, moves the data between it and the disk, and answers with a response
 * carrying the request's `id`, so the front-end may issue requests in any order and have
 * them answered in any order.
 *
 * @par Units
 * Disk positions (`sector_number`, `nr_sectors`) and the in-page positions of a segment
 * (`first_sect`, `last_sect`) count sectors of #PVCORE_BLKIF_SECTOR_SIZE bytes (the
 * `sector-size` of the protocol, 512 unless both ends negotiate a larger one; this header
 * describes the 512-byte case). A segment moves sectors `first_sect` to `last_sect`
 * inclusive of its page, so both are at most #PVCORE_BLKIF_SECTORS_PER_PAGE - 1 and
 * `first_sect <= last_sect`; the segments of a request are contiguous on the disk, the
 * first starting at `sector_number`.
 *
 * @par Widths
 * The request and response carry 64-bit fields, which a 32-bit x86 guest aligns on 4
 * bytes and a 64-bit one on 8, so the layouts differ: each structure comes as `_x86_32`
 * and `_x86_64`, and the two ends must agree on which one the ring carries (the
 * `protocol` node a front-end writes in xenstore, #PVCORE_XEN_IO_PROTO_ABI_X86_32 or
 * #PVCORE_XEN_IO_PROTO_ABI_X86_64; the front-end's native layout when absent). In the
 * `_x86_32` structures each 64-bit field is two 32-bit halves, low half first, so that
 * the structure has the 4-byte alignment of the 32-bit layout on every compiler. A
 * segment (struct pvcore_blkif_request_segment) has the same layout for both. The
 * padding Xen leaves implicit is explicit here, so each structure has the same layout
 * whichever width compiles it (a 32-bit back-end can serve a 64-bit front-end).
 *
 * @par Sizes
 * A slot is the larger of a request and a response: 112 bytes (x86-64) or 108 (x86-32),
 * so one 4 KiB ring page holds 32 slots either way.
 *
 * Names follow <pvcore/abi/xen.h>; the numbers and layouts are Xen's `io/blkif.h` and
 * `io/protocols.h`, checked against libxen-dev by tests/abi/blkif_check.c.
 */
#ifndef PVCORE_ABI_BLKIF_H
#define PVCORE_ABI_BLKIF_H

#include <stdint.h>

#include <pvcore/abi/grant_table.h>

/**
 * @defgroup pvcore_abi_blkif Block-device protocol
 * @brief blkif requests, responses, operations and status codes, both widths.
 * @{
 */

/** A virtual device number (Xen's `blkif_vdev_t`): the `handle` of a request. */
typedef uint16_t pvcore_blkif_vdev_t;

/** A sector index on the disk (Xen's `blkif_sector_t`), in #PVCORE_BLKIF_SECTOR_SIZE units. */
typedef uint64_t pvcore_blkif_sector_t;

/**
 * @name Operations (the `operation` field of a request, echoed in its response)
 * @{
 */
/** Read sectors from the disk into the segments' pages. */
#define PVCORE_BLKIF_OP_READ 0
/** Write the segments' pages to the disk. */
#define PVCORE_BLKIF_OP_WRITE 1
/** A write ordered after every earlier request has completed (`feature-barrier`; optional). */
#define PVCORE_BLKIF_OP_WRITE_BARRIER 2
/** Flush the disk's write cache, with or without data (`feature-flush-cache`; optional). */
#define PVCORE_BLKIF_OP_FLUSH_DISKCACHE 3
/** Reserved (an old, never-used request type); not to be issued. */
#define PVCORE_BLKIF_OP_RESERVED_1 4
/** Discard a range of sectors (struct pvcore_blkif_request_discard_x86_64; `feature-discard`; optional). */
#define PVCORE_BLKIF_OP_DISCARD 5
/** A read or write whose segments live in granted pages (struct pvcore_blkif_request_indirect_x86_64; `feature-max-indirect-segments`; optional). */
#define PVCORE_BLKIF_OP_INDIRECT 6
/** @} */

/** The most segments one (direct) request carries, so that 32 slots fit in one page. */
#define PVCORE_BLKIF_MAX_SEGMENTS_PER_REQUEST 11
/** The most pages of segments one #PVCORE_BLKIF_OP_INDIRECT request names. */
#define PVCORE_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST 8
/** Discard flag: the discarded sectors must become unrecoverable (`discard-secure`). */
#define PVCORE_BLKIF_DISCARD_SECURE (1 << 0)

/** Bytes in a sector (the protocol's default `sector-size`; not a Xen macro). */
#define PVCORE_BLKIF_SECTOR_SIZE 512u
/** Sectors in a 4 KiB page: `first_sect` and `last_sect` lie below this (not a Xen macro). */
#define PVCORE_BLKIF_SECTORS_PER_PAGE 8u

/**
 * @name Response status (the `status` field of a response)
 * @{
 */
/** The request completed. */
#define PVCORE_BLKIF_RSP_OKAY 0
/** The request failed (a bad request, a bad grant, an I/O error). */
#define PVCORE_BLKIF_RSP_ERROR (-1)
/** The operation is not supported by this back-end. */
#define PVCORE_BLKIF_RSP_EOPNOTSUPP (-2)
/** @} */

/**
 * @name Disk information flags (the `info` node of a back-end)
 * @{
 */
/** The disk is a CD-ROM. */
#define PVCORE_VDISK_CDROM 0x1
/** The disk is removable. */
#define PVCORE_VDISK_REMOVABLE 0x2
/** The disk is read-only: writes fail. */
#define PVCORE_VDISK_READONLY 0x4
/** @} */

/**
 * @name Protocol names (the front-end's `protocol` node, Xen's `io/protocols.h`)
 * @{
 */
/** The ring carries the `_x86_32` layouts. */
#define PVCORE_XEN_IO_PROTO_ABI_X86_32 "x86_32-abi"
/** The ring carries the `_x86_64` layouts. */
#define PVCORE_XEN_IO_PROTO_ABI_X86_64 "x86_64-abi"
/** The ring carries Arm's layouts (the same as `_x86_64` for blkif). */
#define PVCORE_XEN_IO_PROTO_ABI_ARM "arm-abi"
/** @} */

/**
 * One segment of a request (8 bytes, both widths): sectors `first_sect` to `last_sect`
 * (inclusive) of the page granted as `gref`. Also the element of an indirect segment
 * page (512 per 4 KiB page).
 */
struct pvcore_blkif_request_segment {
    pvcore_grant_ref_t gref; /**< The front-end's grant of the page. */
    uint8_t first_sect;      /**< First sector of the page moved, 0 to 7. */
    uint8_t last_sect;       /**< Last sector of the page moved, first_sect to 7. */
};
/** Typedef for struct pvcore_blkif_request_segment. */
typedef struct pvcore_blkif_request_segment pvcore_blkif_request_segment_t;

/**
 * A read or write request of a 64-bit front-end (112 bytes): `nr_segments` segments,
 * contiguous on the disk from `sector_number`. Also the start of every other request
 * type: `operation` says which structure the slot holds.
 */
struct pvcore_blkif_request_x86_64 {
    uint8_t operation;                  /**< PVCORE_BLKIF_OP_*. */
    uint8_t nr_segments;                /**< Segments used: 1 to #PVCORE_BLKIF_MAX_SEGMENTS_PER_REQUEST for a read or write. */
    pvcore_blkif_vdev_t handle;         /**< The virtual device (read and write requests). */
    uint32_t _pad0;                     /**< Padding (implicit in Xen). */
    uint64_t id;                        /**< The front-end's value, echoed in the response; at offset 8. */
    pvcore_blkif_sector_t sector_number; /**< First disk sector (read and write requests). */
    struct pvcore_blkif_request_segment seg[PVCORE_BLKIF_MAX_SEGMENTS_PER_REQUEST]; /**< The segments, at offset 24. */
};
/** Typedef for struct pvcore_blkif_request_x86_64. */
typedef struct pvcore_blkif_request_x86_64 pvcore_blkif_request_x86_64_t;

/**
 * A read or write request of a 32-bit front-end (108 bytes, 4-byte aligned); see struct
 * pvcore_blkif_request_x86_64. The 64-bit fields are low and high halves.
 */
struct pvcore_blkif_request_x86_32 {
    uint8_t operation;          /**< PVCORE_BLKIF_OP_*. */
    uint8_t nr_segments;        /**< Segments used. */
    pvcore_blkif_vdev_t handle; /**< The virtual device. */
    uint32_t id[2];             /**< The front-end's value (low, high), echoed in the response; at offset 4. */
    uint32_t sector_number[2];  /**< First disk sector (low, high), at offset 12. */
    struct pvcore_blkif_request_segment seg[PVCORE_BLKIF_MAX_SEGMENTS_PER_REQUEST]; /**< The segments, at offset 20. */
};
/** Typedef for struct pvcore_blkif_request_x86_32. */
typedef struct pvcore_blkif_request_x86_32 pvcore_blkif_request_x86_32_t;

/** A #PVCORE_BLKIF_OP_DISCARD request of a 64-bit front-end (32 bytes). */
struct pvcore_blkif_request_discard_x86_64 {
    uint8_t operation;                   /**< #PVCORE_BLKIF_OP_DISCARD. */
    uint8_t flag;                        /**< #PVCORE_BLKIF_DISCARD_SECURE or 0. */
    pvcore_blkif_vdev_t handle;          /**< The virtual device. */
    uint32_t _pad0;                      /**< Padding (implicit in Xen). */
    uint64_t id;                         /**< Echoed in the response, at offset 8. */
    pvcore_blkif_sector_t sector_number; /**< First sector discarded. */
    uint64_t nr_sectors;                 /**< Sectors discarded. */
};
/** Typedef for struct pvcore_blkif_request_discard_x86_64. */
typedef struct pvcore_blkif_request_discard_x86_64 pvcore_blkif_request_discard_x86_64_t;

/** A #PVCORE_BLKIF_OP_DISCARD request of a 32-bit front-end (28 bytes). */
struct pvcore_blkif_request_discard_x86_32 {
    uint8_t operation;          /**< #PVCORE_BLKIF_OP_DISCARD. */
    uint8_t flag;               /**< #PVCORE_BLKIF_DISCARD_SECURE or 0. */
    pvcore_blkif_vdev_t handle; /**< The virtual device. */
    uint32_t id[2];             /**< Echoed in the response (low, high). */
    uint32_t sector_number[2];  /**< First sector discarded (low, high). */
    uint32_t nr_sectors[2];     /**< Sectors discarded (low, high). */
};
/** Typedef for struct pvcore_blkif_request_discard_x86_32. */
typedef struct pvcore_blkif_request_discard_x86_32 pvcore_blkif_request_discard_x86_32_t;

/**
 * A #PVCORE_BLKIF_OP_INDIRECT request of a 64-bit front-end (64 bytes): `nr_segments`
 * segments, stored as struct pvcore_blkif_request_segment arrays in the granted pages
 * `indirect_grefs` (512 per page).
 */
struct pvcore_blkif_request_indirect_x86_64 {
    uint8_t operation;                   /**< #PVCORE_BLKIF_OP_INDIRECT. */
    uint8_t indirect_op;                 /**< #PVCORE_BLKIF_OP_READ or #PVCORE_BLKIF_OP_WRITE. */
    uint16_t nr_segments;                /**< Segments, at most what the back-end advertised. */
    uint32_t _pad0;                      /**< Padding (implicit in Xen). */
    uint64_t id;                         /**< Echoed in the response, at offset 8. */
    pvcore_blkif_sector_t sector_number; /**< First disk sector. */
    pvcore_blkif_vdev_t handle;          /**< The virtual device, at offset 24. */
    pvcore_grant_ref_t indirect_grefs[PVCORE_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST]; /**< Pages of segments, at offset 28. */
    uint32_t _pad1;                      /**< Padding (implicit in Xen). */
};
/** Typedef for struct pvcore_blkif_request_indirect_x86_64. */
typedef struct pvcore_blkif_request_indirect_x86_64 pvcore_blkif_request_indirect_x86_64_t;

/** A #PVCORE_BLKIF_OP_INDIRECT request of a 32-bit front-end (64 bytes, padded to match). */
struct pvcore_blkif_request_indirect_x86_32 {
    uint8_t operation;          /**< #PVCORE_BLKIF_OP_INDIRECT. */
    uint8_t indirect_op;        /**< #PVCORE_BLKIF_OP_READ or #PVCORE_BLKIF_OP_WRITE. */
    uint16_t nr_segments;       /**< Segments. */
    uint32_t id[2];             /**< Echoed in the response (low, high). */
    uint32_t sector_number[2];  /**< First disk sector (low, high). */
    pvcore_blkif_vdev_t handle; /**< The virtual device, at offset 20. */
    pvcore_grant_ref_t indirect_grefs[PVCORE_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST]; /**< Pages of segments, at offset 24. */
    uint32_t pad[2];            /**< Pads the structure to 64 bytes (Xen's explicit `pad`). */
};
/** Typedef for struct pvcore_blkif_request_indirect_x86_32. */
typedef struct pvcore_blkif_request_indirect_x86_32 pvcore_blkif_request_indirect_x86_32_t;

/** A response to a 64-bit front-end (16 bytes). */
struct pvcore_blkif_response_x86_64 {
    uint64_t id;       /**< The request's `id`. */
    uint8_t operation; /**< The request's `operation`. */
    uint8_t _pad0;     /**< Padding (implicit in Xen). */
    int16_t status;    /**< PVCORE_BLKIF_RSP_*, at offset 10. */
    uint32_t _pad1;    /**< Padding (implicit in Xen). */
};
/** Typedef for struct pvcore_blkif_response_x86_64. */
typedef struct pvcore_blkif_response_x86_64 pvcore_blkif_response_x86_64_t;

/** A response to a 32-bit front-end (12 bytes). */
struct pvcore_blkif_response_x86_32 {
    uint32_t id[2];    /**< The request's `id` (low, high). */
    uint8_t operation; /**< The request's `operation`, at offset 8. */
    uint8_t _pad0;     /**< Padding (implicit in Xen). */
    int16_t status;    /**< PVCORE_BLKIF_RSP_*, at offset 10. */
};
/** Typedef for struct pvcore_blkif_response_x86_32. */
typedef struct pvcore_blkif_response_x86_32 pvcore_blkif_response_x86_32_t;

/** A slot of a 64-bit front-end's ring (Xen's `union blkif_sring_entry`, 112 bytes). */
union pvcore_blkif_sring_entry_x86_64 {
    struct pvcore_blkif_request_x86_64 req;  /**< A request, as the front-end wrote it. */
    struct pvcore_blkif_response_x86_64 rsp; /**< Its response, as the back-end wrote it. */
};
/** Typedef for union pvcore_blkif_sring_entry_x86_64. */
typedef union pvcore_blkif_sring_entry_x86_64 pvcore_blkif_sring_entry_x86_64_t;

/** A slot of a 32-bit front-end's ring (108 bytes). */
union pvcore_blkif_sring_entry_x86_32 {
    struct pvcore_blkif_request_x86_32 req;  /**< A request. */
    struct pvcore_blkif_response_x86_32 rsp; /**< Its response. */
};
/** Typedef for union pvcore_blkif_sring_entry_x86_32. */
typedef union pvcore_blkif_sring_entry_x86_32 pvcore_blkif_sring_entry_x86_32_t;

/** Slots in a one-page blkif ring, for both widths (Xen's `__CONST_RING_SIZE(blkif, 4096)`). */
#define PVCORE_BLKIF_RING_SIZE_4K 32u

/**
 * @name Native-width aliases
 * For guest-side code compiled for x86; a back-end names the `_x86_32` / `_x86_64`
 * versions explicitly, as its front-end's protocol says.
 * @{
 */
#if defined(__x86_64__)
/** Native blkif request. */
typedef pvcore_blkif_request_x86_64_t pvcore_blkif_request_t;
/** Native blkif response. */
typedef pvcore_blkif_response_x86_64_t pvcore_blkif_response_t;
/** Native ring slot. */
typedef pvcore_blkif_sring_entry_x86_64_t pvcore_blkif_sring_entry_t;
/** Native protocol name. */
#define PVCORE_XEN_IO_PROTO_ABI_NATIVE PVCORE_XEN_IO_PROTO_ABI_X86_64
#elif defined(__i386__)
/** Native blkif request. */
typedef pvcore_blkif_request_x86_32_t pvcore_blkif_request_t;
/** Native blkif response. */
typedef pvcore_blkif_response_x86_32_t pvcore_blkif_response_t;
/** Native ring slot. */
typedef pvcore_blkif_sring_entry_x86_32_t pvcore_blkif_sring_entry_t;
/** Native protocol name. */
#define PVCORE_XEN_IO_PROTO_ABI_NATIVE PVCORE_XEN_IO_PROTO_ABI_X86_32
#endif
/** @} */

/** @} */

#endif /* PVCORE_ABI_BLKIF_H */
