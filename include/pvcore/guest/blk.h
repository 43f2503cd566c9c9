/**
 * @file
 * @brief Guest side of the block split driver: a front-end that issues blkif requests
 *        over a granted ring page, and a back-end that serves them from a RAM disk through
 *        grant mappings.
 *
 * Both ends run inside guests (or in a process that stands in for one), not in the
 * hypervisor. Like the event-channel dispatcher they are built into `pvcore_guest`, need
 * nothing from libc beyond memcpy/memset/memcmp, and depend only on the wire ABI
 * (<pvcore/abi/blkif.h>, <pvcore/abi/grant_table.h>, <pvcore/abi/event_channel.h>) and the
 * header-only ring template; one build serves both ring layouts (a back-end may serve a
 * front-end of the other width).
 *
 * @par The two ends
 * - The front-end owns one ring page and a set of data pages in its own memory. At
 *   pvcore_guest_blkfront_init() it initialises the ring and grants the page (writable)
 *   to the back-end's domain by writing an entry of its own grant table. Each request
 *   names up to #PVCORE_BLKIF_MAX_SEGMENTS_PER_REQUEST of its data pages; queuing it grants
 *   each one (read-only for a write, writable for a read: the back-end reads a write's
 *   data and writes a read's) and fills a ring slot; pvcore_guest_blkfront_kick()
 *   publishes every request queued since the last kick at once (batched publication) and
 *   notifies the back-end only if it asked (event index). pvcore_guest_blkfront_poll()
 *   consumes responses, revokes the grants of each answered request and reports it.
 * - The back-end maps the front-end's ring page through #PVCORE_GNTTABOP_map_grant_ref at
 *   pvcore_guest_blkback_connect(). pvcore_guest_blkback_poll() copies requests out of the
 *   ring (never reading a field twice in shared memory), validates every field, maps each
 *   segment's page through its grant (read-only for a write request, writable for a read
 *   request; one map and one unmap hypercall per request), copies between it and the RAM
 *   disk, unmaps, responds, publishes the responses of a batch at once and notifies the
 *   front-end only if it asked.
 * Neither end blocks or waits: the embedder waits for the event channel in its own way
 * (an upcall and SCHEDOP_block in a guest kernel, a polling thread in a test) and calls
 * the poll function when notified. Data are granted, never copied between the domains by
 * the hypervisor.
 *
 * @par Transfer mode (`transfer_reads` on both ends)
 * Reads may instead be served by page flipping, the seed's second way of moving data:
 * - queuing a read, the front-end unmaps each segment's page (`remap` with
 *   #PVCORE_GUEST_BLK_NO_FRAME), gives its frame back (#PVCORE_XENMEM_decrease_reservation,
 *   one call per request) and sets the page's grant entry to accept a transfer
 *   (#PVCORE_GTF_accept_transfer, naming the back-end, the page's pseudo-physical frame in
 *   `frame`);
 * - the back-end populates as many of its spare pseudo-physical frames
 *   (#PVCORE_XENMEM_populate_physmap, one call), maps each at its segment address
 *   (`remap`), fills it from the disk (the sectors outside the segment become zero),
 *   unmaps it and gives it to the front-end with #PVCORE_GNTTABOP_transfer (one call per
 *   request), so its own size stays the same; a frame the hypervisor left it is given
 *   back;
 * - answered, the front-end ends each entry's transfer (Xen's protocol: refused while not
 *   committed, else waited for until completed), maps the frame it received at the page
 *   (`remap`) and uses it from then on; a page that received nothing (a back-end that
 *   failed, or lied) gets a new frame (#PVCORE_XENMEM_populate_physmap) and the request
 *   is reported #PVCORE_BLKIF_RSP_ERROR.
 * Writes are granted as in the default mode: a write's data stays the front-end's. A
 * read then replaces whole pages, so a segment's other sectors are zero afterwards. Ends
 * that disagree on the mode see their reads fail (a map of an accept_transfer entry, or a
 * transfer to a permit_access one, is refused), never wrong data.
 *
 * @par What the embedder supplies (struct pvcore_guest_blk_ops)
 * - `grant_table_op(cmd, uop, count)` and `event_channel_op(cmd, arg)`: the hypercalls,
 *   issued from the calling vCPU (a guest's hypercall page stubs; on the host backend,
 *   pvcore_hypercall() with the arguments copied into the guest's memory);
 * - for the back-end, free page-table slots: guest virtual addresses where the ring and
 *   the segments of a request are mapped, and `mapped()`, which says where the back-end's
 *   code reads and writes what is mapped at such an address (in a guest kernel, the
 *   address itself: leave it NULL);
 * - the event channel, already bound between the two domains, and the exchange of the
 *   ring's grant reference and the port (xenstore, or a convention between two example
 *   guests).
 *
 * @par The other side is hostile
 * - The back-end validates a copy of each request: the operation (read and write; any
 *   other is answered #PVCORE_BLKIF_RSP_EOPNOTSUPP), the handle, 1 to 11 segments, each
 *   with `first_sect <= last_sect <= 7`, the sector range inside the disk (without
 *   overflow), no write to a read-only disk, no segment naming the ring's own grant.
 *   Grant references are checked by the hypervisor: a reference not granted, granted to
 *   another domain, or granted read-only for a read request fails to map, and the request
 *   is answered #PVCORE_BLKIF_RSP_ERROR with every mapping made for it undone. A
 *   `req_prod` claiming more requests than the ring can hold makes the back-end stop
 *   serving (-#PVCORE_EOVERFLOW from then on); it still disconnects cleanly.
 * - The front-end checks every response: its id must name a request in flight (ids carry
 *   a sequence number, so a stale or repeated id is unknown), its operation must be that
 *   request's, `rsp_prod` must not claim more responses than requests, and each grant
 *   must be revocable once the request is answered (the back-end holds no mapping).
 *   Any violation makes the front-end stop (-#PVCORE_EIO from then on, the reason in
 *   pvcore_guest_blkfront_fault()); the grants of requests then in flight stay until
 *   pvcore_guest_blkfront_disconnect() can revoke them.
 *
 * @par Concurrency
 * Each end is used by one thread (vCPU) at a time; the two ends run concurrently in
 * their domains. Shared memory (the ring, the grant entries) is accessed atomically or
 * ordered by the ring's indices.
 *
 * Functions return 0 or a negative `PVCORE_E*` (<pvcore/abi/errno.h>); hypercall errors
 * are passed back unchanged.
 */
#ifndef PVCORE_GUEST_BLK_H
#define PVCORE_GUEST_BLK_H

#include <stddef.h>
#include <stdint.h>

#include <pvcore/abi/blkif.h>
#include <pvcore/abi/errno.h>
#include <pvcore/abi/grant_table.h>
#include <pvcore/abi/xen.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @defgroup pvcore_guest_blk Guest block split driver
 * @brief A blkif front-end and a RAM-disk back-end over granted pages and a shared ring.
 * @{
 */

/** Ring layout: the `_x86_32` structures (#PVCORE_XEN_IO_PROTO_ABI_X86_32). */
#define PVCORE_GUEST_BLK_X86_32 32u
/** Ring layout: the `_x86_64` structures (#PVCORE_XEN_IO_PROTO_ABI_X86_64). */
#define PVCORE_GUEST_BLK_X86_64 64u
#if defined(__i386__)
/** The ring layout of the compiler's width, a front-end's default. */
#define PVCORE_GUEST_BLK_NATIVE PVCORE_GUEST_BLK_X86_32
#else
/** The ring layout of the compiler's width, a front-end's default. */
#define PVCORE_GUEST_BLK_NATIVE PVCORE_GUEST_BLK_X86_64
#endif

/** The most data pages one front-end owns. */
#define PVCORE_GUEST_BLKFRONT_MAX_PAGES 64u

/**
 * @name Faults (pvcore_guest_blkfront_fault(), pvcore_guest_blkback_fault())
 * Why an end stopped. Each is a protocol violation by the other side, except
 * #PVCORE_GUEST_BLK_FAULT_UNMAP_FAILED and #PVCORE_GUEST_BLK_FAULT_NO_FRAME, which the
 * hypervisor or the embedder reported.
 * @{
 */
/** `remap`'s `frame` for "map nothing there". */
#define PVCORE_GUEST_BLK_NO_FRAME UINT64_MAX

/** No fault: the end is working. */
#define PVCORE_GUEST_BLK_FAULT_NONE 0u
/** Front-end: a response's id names no request in flight (unknown, stale or answered already). */
#define PVCORE_GUEST_BLK_FAULT_BAD_ID 1u
/** Front-end: a response's operation is not its request's. */
#define PVCORE_GUEST_BLK_FAULT_BAD_OP 2u
/** The producer index of the other side claims more entries than may be outstanding
 * (front-end: more responses than requests; back-end: more requests than the ring holds). */
#define PVCORE_GUEST_BLK_FAULT_OVERFLOW 3u
/** Front-end: a request was answered while the back-end still held one of its grants. */
#define PVCORE_GUEST_BLK_FAULT_GRANT_HELD 4u
/** Back-end: a mapping could not be removed (the unmap hypercall failed). */
#define PVCORE_GUEST_BLK_FAULT_UNMAP_FAILED 5u
/** Transfer mode: a page's frame could not be given up, mapped or replaced (memory_op or
 * `remap` failed): the page has no frame, and the end stops. */
#define PVCORE_GUEST_BLK_FAULT_NO_FRAME 6u
/** Transfer mode, front-end: a committed transfer did not complete in time. */
#define PVCORE_GUEST_BLK_FAULT_TRANSFER_STUCK 7u
/** @} */

/**
 * The embedder's hypercalls and address translation, used by both ends. Kernel memory,
 * kept unchanged while an end uses it.
 */
struct pvcore_guest_blk_ops {
    /**
     * Issues `grant_table_op(cmd, uop, count)` from the calling vCPU: `uop` points to
     * `count` structures of the command's type in the caller's memory (the embedder passes
     * them, or a copy, to the hypervisor and leaves the results there). Returns the
     * hypercall's result: 0 or a negative `PVCORE_E*`. The back-end needs it (map and
     * unmap); the front-end does not.
     */
    int64_t (*grant_table_op)(void *ctx, uint32_t cmd, void *uop, uint32_t count);
    /** Issues `event_channel_op(cmd, arg)` (the ends use #PVCORE_EVTCHNOP_send only). */
    int64_t (*event_channel_op)(void *ctx, uint32_t cmd, void *arg);
    /**
     * Back-end: where its code accesses the page just mapped at guest virtual address
     * `host_addr` (a page start). NULL: at `host_addr` itself, as in a guest kernel. May
     * return NULL (the request then fails as if the map had).
     */
    void *(*mapped)(void *ctx, uint64_t host_addr);
    void *ctx; /**< The first argument of each function. */
    /**
     * Transfer mode only: issues `memory_op(cmd, arg)` (#PVCORE_XENMEM_populate_physmap and
     * #PVCORE_XENMEM_decrease_reservation, `arg` a struct pvcore_xen_memory_reservation of
     * the compiler's width whose `extent_start` is the address of an array of
     * pvcore_xen_pfn_t in the caller's memory; the embedder translates them for a domain of
     * another width and copies the results back). Returns the hypercall's result: the
     * extents done, or a negative `PVCORE_E*`.
     */
    int64_t (*memory_op)(void *ctx, uint32_t cmd, void *arg);
    /**
     * Transfer mode only: maps machine frame `frame` of the caller's own, writable, at the
     * page at guest virtual address `addr` in place of what is there (a front-end's page:
     * the address of its `va`), and records `frame` as pseudo-physical frame `gfn` in the
     * guest's own P2M table; with #PVCORE_GUEST_BLK_NO_FRAME, removes the page's mapping
     * (the P2M entry becomes invalid). In a guest kernel, #PVCORE_HYPERVISOR_update_va_mapping.
     * Returns where the code accesses the page now (a guest kernel: `addr`), NULL on
     * failure; anything non-NULL when unmapping succeeded.
     */
    void *(*remap)(void *ctx, uint64_t addr, uint64_t gfn, uint64_t frame);
};

/** A page of the front-end: where it is, and the frame number its grant entry names. */
struct pvcore_guest_blk_page {
    void *va;       /**< The page in the front-end's memory (4 KiB, page aligned). */
    uint64_t frame; /**< Its frame as a grant names it (a PV guest's machine frame); below 2^32. */
    uint64_t gfn;   /**< Transfer mode: its pseudo-physical frame (below 2^32), where a transferred frame goes. */
};

/** The front-end's setup, read by pvcore_guest_blkfront_init(). */
struct pvcore_guest_blkfront_config {
    const struct pvcore_guest_blk_ops *ops; /**< Hypercalls (event_channel_op needed). */
    uint32_t protocol;        /**< #PVCORE_GUEST_BLK_X86_32 or #PVCORE_GUEST_BLK_X86_64; 0 for #PVCORE_GUEST_BLK_NATIVE. */
    pvcore_domid_t backend;   /**< The back-end's domain: the grants are for it. */
    uint16_t handle;          /**< The virtual device, the `handle` of every request. */
    uint32_t port;            /**< The event channel to the back-end (bound already). */
    void *gnttab;             /**< The front-end's own grant table (version 1 entries), mapped writable. */
    uint32_t gnttab_entries;  /**< Entries in it (512 per frame in use). */
    pvcore_grant_ref_t first_ref; /**< Grant references first_ref (the ring) to first_ref + nr_pages are the front-end's to use; they must be unused (flags 0). */
    struct pvcore_guest_blk_page ring; /**< The ring page. */
    const struct pvcore_guest_blk_page *pages; /**< The data pages (copied); page i is granted as first_ref + 1 + i. */
    uint32_t nr_pages;        /**< How many, 1 to #PVCORE_GUEST_BLKFRONT_MAX_PAGES. */
    uint32_t transfer_reads;  /**< Non-zero: transfer mode (reads flipped; ops need memory_op and remap). */
};

/** A front-end, in memory the kernel supplies (opaque). */
struct pvcore_guest_blkfront;

/** One segment of a request the front-end queues. */
struct pvcore_guest_blk_seg {
    uint32_t page;      /**< The data page, an index into the configuration's pages. */
    uint8_t first_sect; /**< First sector of the page moved, 0 to 7. */
    uint8_t last_sect;  /**< Last sector of the page moved, first_sect to 7. */
};

/** An answered request, as pvcore_guest_blkfront_poll() reports it. */
struct pvcore_guest_blk_done {
    uint64_t id;       /**< The id pvcore_guest_blkfront_queue() gave. */
    uint8_t operation; /**< Its operation. */
    int16_t status;    /**< #PVCORE_BLKIF_RSP_OKAY, #PVCORE_BLKIF_RSP_EOPNOTSUPP or #PVCORE_BLKIF_RSP_ERROR (also for any other value the back-end wrote). */
};

/**
 * @brief Bytes of memory a front-end needs.
 * @return The size (a constant, a few KiB).
 */
size_t pvcore_guest_blkfront_size(void);

/**
 * @brief Creates a front-end: initialises the shared ring (indices 0, event indices 1)
 *        and grants the ring page to the back-end, writable, as `first_ref`.
 * @param mem   pvcore_guest_blkfront_size() bytes, 8-byte aligned, kept for the
 *              front-end's lifetime (cleared here).
 * @param bytes Size of `mem`.
 * @param cfg   The setup (read once; the pages are copied).
 * @param out   Receives the front-end (a pointer into `mem`).
 * @return 0; -#PVCORE_EINVAL for a NULL or misaligned argument, a missing
 *         event_channel_op, a protocol other than 0, 32 or 64, no data page or too many, a
 *         page not page-aligned or with a frame of 2^32 or more, grant references beyond
 *         the table, a reference in use (flags not 0), or `bytes` too small; in transfer
 *         mode also for ops without memory_op or remap, or a gfn of 2^32 or more. Nothing
 *         is written to shared memory on error.
 */
int pvcore_guest_blkfront_init(void *mem, size_t bytes, const struct pvcore_guest_blkfront_config *cfg,
                               struct pvcore_guest_blkfront **out);

/**
 * @brief The grant reference of the ring page, for the back-end (the `ring-ref` node).
 * @param f The front-end.
 * @return `first_ref` of the configuration.
 */
pvcore_grant_ref_t pvcore_guest_blkfront_ring_ref(const struct pvcore_guest_blkfront *f);

/**
 * @brief How many requests can be queued now: the free ring slots (a request answered
 *        and polled frees its slot).
 * @param f The front-end.
 * @return 0 to 32.
 */
uint32_t pvcore_guest_blkfront_free_slots(const struct pvcore_guest_blkfront *f);

/**
 * @brief Whether data page `page` belongs to a request in flight (queued and not yet
 *        answered, or answered while its grant could not be revoked). Its contents must
 *        not be used meanwhile.
 * @param f    The front-end.
 * @param page The page's index.
 * @return 1 if busy, 0 if free, -#PVCORE_EINVAL for an index out of range.
 */
int pvcore_guest_blkfront_page_busy(const struct pvcore_guest_blkfront *f, uint32_t page);

/**
 * @brief Queues a read or write of `nr_segs` segments, contiguous on the disk from
 *        `sector`: grants each segment's page to the back-end (read-only for
 *        #PVCORE_BLKIF_OP_WRITE, writable for #PVCORE_BLKIF_OP_READ) and fills the next
 *        ring slot. The back-end sees it at the next pvcore_guest_blkfront_kick().
 *
 * For a write the pages hold the data already; for a read they receive it. Either way
 * the caller leaves them alone until the request is answered.
 * @param f       The front-end.
 * @param op      #PVCORE_BLKIF_OP_READ or #PVCORE_BLKIF_OP_WRITE.
 * @param sector  The first disk sector (512-byte units).
 * @param segs    The segments: distinct pages, none busy, `first_sect <= last_sect <= 7`.
 * @param nr_segs 1 to #PVCORE_BLKIF_MAX_SEGMENTS_PER_REQUEST.
 * @param id      Receives the request's id (may be NULL).
 * @return 0; -#PVCORE_EINVAL for another operation, a segment count or page index out
 *         of bounds, a segment's sectors out of order or past the page, a last sector
 *         past 2^64 - 1, or a page named twice; -#PVCORE_EBUSY if a page is
 *         busy; -#PVCORE_ENOSPC if no ring slot is free; -#PVCORE_EIO once the front-end
 *         has stopped. Nothing changes on error, except that in transfer mode a read
 *         whose frames could not all be given back (-#PVCORE_ENOMEM, or memory_op's or
 *         remap's error) leaves its pages with frames that may be new ones, or stops the
 *         front-end (-#PVCORE_EIO, #PVCORE_GUEST_BLK_FAULT_NO_FRAME) if one has none.
 */
int pvcore_guest_blkfront_queue(struct pvcore_guest_blkfront *f, uint8_t op, uint64_t sector,
                                const struct pvcore_guest_blk_seg *segs, uint32_t nr_segs, uint64_t *id);

/**
 * @brief Publishes every request queued since the last kick, and notifies the back-end
 *        (#PVCORE_EVTCHNOP_send) if its event index asks for it.
 * @param f The front-end.
 * @return 0 (also when nothing was queued); the send's error; -#PVCORE_EIO once stopped.
 */
int pvcore_guest_blkfront_kick(struct pvcore_guest_blkfront *f);

/**
 * @brief Consumes up to `max` responses: checks each one, revokes the grants of its
 *        request, frees its pages and slot, and reports it in `done`. When fewer than
 *        `max` were waiting it has also asked to be notified of the next response (event
 *        index, with a final check), so the caller may wait for the event channel.
 * @param f    The front-end.
 * @param done Room for `max` reports.
 * @param max  The most to consume (at least 1).
 * @param n    Receives how many were reported (those reported before a fault stand).
 * @return 0; -#PVCORE_EIO if a response broke the protocol (the front-end stops:
 *         pvcore_guest_blkfront_fault() says why) or the front-end had stopped already;
 *         -#PVCORE_EINVAL for a NULL argument or `max` 0.
 */
int pvcore_guest_blkfront_poll(struct pvcore_guest_blkfront *f, struct pvcore_guest_blk_done *done, uint32_t max,
                               uint32_t *n);

/**
 * @brief Requests queued or published and not yet answered.
 * @param f The front-end.
 * @return The count.
 */
uint32_t pvcore_guest_blkfront_in_flight(const struct pvcore_guest_blkfront *f);

/**
 * @brief Why the front-end stopped.
 * @param f The front-end.
 * @return A PVCORE_GUEST_BLK_FAULT_* value; #PVCORE_GUEST_BLK_FAULT_NONE while working.
 */
uint32_t pvcore_guest_blkfront_fault(const struct pvcore_guest_blkfront *f);

/**
 * @brief Revokes every grant the front-end still has out: the ring's and those of
 *        requests in flight. Afterwards the front-end stops (-#PVCORE_EIO, fault
 *        unchanged); its memory may be reused once this returned 0.
 * @param f The front-end.
 * @return 0 when every grant is revoked; -#PVCORE_EBUSY while the back-end still maps
 *         one (those revoked stay revoked: call again later).
 */
int pvcore_guest_blkfront_disconnect(struct pvcore_guest_blkfront *f);

/** The back-end's setup, read by pvcore_guest_blkback_connect(). */
struct pvcore_guest_blkback_config {
    const struct pvcore_guest_blk_ops *ops; /**< Hypercalls (both needed) and `mapped`. */
    uint32_t protocol;          /**< The front-end's ring layout: #PVCORE_GUEST_BLK_X86_32 or #PVCORE_GUEST_BLK_X86_64. */
    pvcore_domid_t frontend;    /**< The front-end's domain. */
    uint16_t handle;            /**< The virtual device: requests must carry it. */
    uint32_t port;              /**< The event channel to the front-end (bound already). */
    pvcore_grant_ref_t ring_ref; /**< The front-end's grant of its ring page. */
    uint64_t ring_addr;         /**< Guest virtual address (page aligned, not a grant mapping) where the ring is mapped. */
    uint64_t seg_addr[PVCORE_BLKIF_MAX_SEGMENTS_PER_REQUEST]; /**< Where segment i of a request is mapped (page aligned, distinct). */
    void *disk;                 /**< The RAM disk, `nr_sectors` x 512 bytes. */
    uint64_t nr_sectors;        /**< Its size in sectors, at least 1. */
    uint32_t read_only;         /**< Non-zero: writes are answered #PVCORE_BLKIF_RSP_ERROR. */
    uint32_t transfer_reads;    /**< Non-zero: transfer mode (ops need memory_op and remap). */
    uint64_t spare_gfn[PVCORE_BLKIF_MAX_SEGMENTS_PER_REQUEST]; /**< Transfer mode: distinct pseudo-physical frames of the back-end with no frame, populated for a read's segments. */
};

/** What a back-end did (pvcore_guest_blkback_get_stats()). */
struct pvcore_guest_blkback_stats {
    uint64_t requests;       /**< Requests consumed. */
    uint64_t okay;           /**< ... answered #PVCORE_BLKIF_RSP_OKAY. */
    uint64_t errors;         /**< ... answered #PVCORE_BLKIF_RSP_ERROR. */
    uint64_t unsupported;    /**< ... answered #PVCORE_BLKIF_RSP_EOPNOTSUPP. */
    uint64_t invalid;        /**< Of the errors: refused by validation, before any hypercall. */
    uint64_t map_failures;   /**< Of the errors: a segment's grant could not be mapped. */
    uint64_t sectors_read;   /**< Sectors copied from the disk into the front-end's pages. */
    uint64_t sectors_written; /**< Sectors copied from the front-end's pages to the disk. */
    uint64_t mapped;         /**< Grant mappings made (ring included). */
    uint64_t unmapped;       /**< Grant mappings removed: equal to `mapped` when none is held. */
    uint64_t notifies;       /**< Event-channel notifications sent. */
    uint64_t transferred;    /**< Transfer mode: frames given to the front-end. */
    uint64_t transfer_failures; /**< Transfer mode: segments whose frame could not be populated, filled or given. */
    int16_t last_gntst;      /**< The GNTST_* status of the last failed map (0 if none). */
};

/** A back-end, in memory the kernel supplies (opaque). */
struct pvcore_guest_blkback;

/**
 * @brief Bytes of memory a back-end needs.
 * @return The size (a constant, well under a page).
 */
size_t pvcore_guest_blkback_size(void);

/**
 * @brief Creates a back-end and maps the front-end's ring page (writable) at `ring_addr`.
 * @param mem   pvcore_guest_blkback_size() bytes, 8-byte aligned, kept for the
 *              back-end's lifetime (cleared here).
 * @param bytes Size of `mem`.
 * @param cfg   The setup (read once).
 * @param out   Receives the back-end (a pointer into `mem`).
 * @return 0; -#PVCORE_EINVAL for a NULL or misaligned argument, a missing hypercall, a
 *         protocol other than 32 or 64, an address not page aligned, a NULL or empty disk,
 *         or `bytes` too small (in transfer mode also for ops without memory_op or remap,
 *         or spare gfns not distinct); -#PVCORE_EACCES if the ring's grant could not be mapped
 *         (its GNTST_* status in the stats' `last_gntst`; `*out` is still set, so the
 *         stats can be read); -#PVCORE_EFAULT if `mapped` found nothing at `ring_addr`
 *         (the mapping is removed again); the hypercall's error.
 */
int pvcore_guest_blkback_connect(void *mem, size_t bytes, const struct pvcore_guest_blkback_config *cfg,
                                 struct pvcore_guest_blkback **out);

/**
 * @brief Serves the requests waiting on the ring, in batches: copies each out, validates
 *        it, maps its segments, copies the data, unmaps them and responds; publishes each
 *        batch's responses and notifies the front-end if it asked. When the ring is
 *        empty it asks to be notified of the next request (event index, with a final
 *        check), so the caller may wait for the event channel.
 * @param b      The back-end.
 * @param budget The most requests to serve in this call; 0 for no limit.
 * @param served Receives how many were served (may be NULL).
 * @return 0 (the ring is empty, or the budget is spent); -#PVCORE_EOVERFLOW when the
 *         front-end's `req_prod` claimed more requests than the ring holds, or
 *         -#PVCORE_EIO when a mapping could not be removed: the back-end stops serving
 *         and returns that error from then on (the responses of requests already served
 *         are published); -#PVCORE_ENOTCONN if not connected. A notification that
 *         fails (the front-end closed its port) is not an error of this call.
 */
int pvcore_guest_blkback_poll(struct pvcore_guest_blkback *b, uint32_t budget, uint32_t *served);

/**
 * @brief Why the back-end stopped.
 * @param b The back-end.
 * @return A PVCORE_GUEST_BLK_FAULT_* value; #PVCORE_GUEST_BLK_FAULT_NONE while serving.
 */
uint32_t pvcore_guest_blkback_fault(const struct pvcore_guest_blkback *b);

/**
 * @brief Reads the back-end's counters.
 * @param b   The back-end.
 * @param out Receives them.
 */
void pvcore_guest_blkback_get_stats(const struct pvcore_guest_blkback *b, struct pvcore_guest_blkback_stats *out);

/**
 * @brief Unmaps the ring (the front-end can then revoke its grant); the back-end is no
 *        longer connected. Also after a fault.
 * @param b The back-end.
 * @return 0; -#PVCORE_ENOTCONN if not connected; -#PVCORE_EIO if the unmap failed (the
 *         back-end stays connected).
 */
int pvcore_guest_blkback_disconnect(struct pvcore_guest_blkback *b);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* PVCORE_GUEST_BLK_H */
