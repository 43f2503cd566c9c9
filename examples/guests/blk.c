/*
 * The example guests' block split-driver step, run when the command line asks for it
 * (minihv.blk=serve:<domid> or connect:<domid>), on libpvcore's guest-side driver
 * (<pvcore/guest/blk.h>). Written against the Xen PV ABI only.
 *
 * - serve (the back-end): a RAM disk of DISK_SECTORS sectors in the guest's own memory.
 *   Allocates a port for the peer (alloc_unbound: the convention of minihv.evtchn) and
 *   waits for its first event, which says the front-end has granted its ring. Maps the
 *   ring (the peer's grant reference RING_REF) and serves until the peer closes its end
 *   of the channel (the port goes back to unbound); then unmaps the ring, checks that
 *   every mapping was undone and that the disk holds the pattern.
 * - connect (the front-end): sets up its grant table (setup_table, one frame, mapped at a
 *   page of its own), finds the peer's port by trying bind_interdomain on the peer's ports
 *   (only the one unbound for us can succeed), grants its ring page as RING_REF and
 *   notifies. Writes a pattern over the whole disk in requests of 1 to 80 sectors (up to
 *   11 segments), as many queued at once as pages and ring slots allow, published in
 *   batches, then reads it back and compares. Then closes its port and waits until the
 *   back-end has let go of the ring to revoke its grants.
 * What the two guests agree on without xenstore: the ring's grant reference (RING_REF, the
 * first after the reserved entries), the disk's size and the virtual device number; the
 * back-end's ring layout is its own unless minihv.blk_protocol=x86_32-abi or x86_64-abi
 * (the front-end's `protocol` node in Xen's convention) says otherwise; and, with
 * minihv.blk_transfer=1 given to both, the driver's transfer mode: each read's pages are
 * given back by the front-end and flipped to it by the back-end (memory_op and
 * GNTTABOP_transfer), each side mapping the frames with update_va_mapping and keeping its
 * p2m list right; the back-end populates pseudo-physical frames past its nr_pages.
 *
 * Events stay masked throughout: each side waits with SCHEDOP_poll on its one port, with
 * a timeout (so that the back-end also notices the peer leaving), and clears the port's
 * pending bit itself before it looks at the ring, so no notification is lost. Every wait
 * is bounded.
 */
#include <stdbool.h>

#include <pvcore/abi/blkif.h>
#include <pvcore/abi/errno.h>
#include <pvcore/abi/event_channel.h>
#include <pvcore/abi/grant_table.h>
#include <pvcore/abi/xen.h>
#include <pvcore/guest/blk.h>

#include "guest.h"
#include "layout.h"

#define RING_REF PVCORE_GNTTAB_NR_RESERVED_ENTRIES /* the ring's grant; data pages follow */
#define DISK_SECTORS 1024u                         /* a 512 KiB RAM disk */
#define DATA_PAGES 32u                             /* the front-end's buffers */
#define HANDLE 51712u                              /* xvda */
#define NR_PORTS 64u                               /* ports of the peer tried by connect */
#define MAX_SCANS 20000u                           /* bind attempts (each after a yield) */
#define POLL_NS 10000000u                          /* one wait: 10 ms */
#define MAX_IDLE 3000u                             /* waits in a row with nothing done: 30 s */
#define SECTOR PVCORE_BLKIF_SECTOR_SIZE
#define MAXSEG PVCORE_BLKIF_MAX_SEGMENTS_PER_REQUEST

static volatile uint8_t *si; /* shared info */
static unsigned int failures;
static unsigned long next_free, free_end;
static unsigned long *p2m, nr_pfns; /* start_info's mfn_list and nr_pages */
static bool transfer_mode;

static void check(const char *what, long rc)
{
    if (rc < 0) {
        guest_print("blk: %s: error %ld: FAILED", what, rc);
        failures++;
    }
}

/* n pages of the free area, or NULL when it is used up. */
static void *take_pages(unsigned long n)
{
    unsigned long va = next_free;

    if (n > (free_end - next_free) / GUEST_PAGE_SIZE) {
        guest_print("blk: out of free pages (%lu wanted): FAILED", n);
        failures++;
        return NULL;
    }
    next_free += n * GUEST_PAGE_SIZE;
    return (void *)(uintptr_t)va;
}

static int64_t grant_table_op(void *ctx, uint32_t cmd, void *uop, uint32_t count)
{
    (void)ctx;
    return hyp_grant_table_op(cmd, uop, count);
}

static int64_t event_channel_op(void *ctx, uint32_t cmd, void *arg)
{
    (void)ctx;
    return hyp_event_channel_op(cmd, arg);
}

static int64_t memory_op(void *ctx, uint32_t cmd, void *arg)
{
    (void)ctx;
    return hyp_memory_op(cmd, arg);
}

/* Transfer mode: frame `frame` (or nothing) at the page at `addr`, and in the p2m list. */
static void *remap(void *ctx, uint64_t addr, uint64_t gfn, uint64_t frame)
{
    uint64_t val = frame == PVCORE_GUEST_BLK_NO_FRAME ? 0 : (frame << GUEST_PAGE_SHIFT) | guest_format.page_flags;

    (void)ctx;
    if (hyp_update_va_mapping((unsigned long)addr, val, PVCORE_UVMF_INVLPG | PVCORE_UVMF_LOCAL) != 0) {
        return NULL;
    }
    if (gfn < nr_pfns) {
        p2m[gfn] = frame == PVCORE_GUEST_BLK_NO_FRAME ? ~0ul : (unsigned long)frame;
    }
    return (void *)(uintptr_t)addr;
}

static const struct pvcore_guest_blk_ops ops = { grant_table_op, event_channel_op, NULL, NULL, memory_op, remap };

/* Takes the port's event: clears its pending bit; true if it was set. */
static bool take_event(uint32_t port)
{
    uint8_t bit = (uint8_t)(1u << (port % 8u));
    volatile uint8_t *pending = si + 2048u + port / 8u; /* evtchn_pending, both widths */

    return (__atomic_fetch_and(pending, (uint8_t)~bit, __ATOMIC_SEQ_CST) & bit) != 0;
}

/* SCHEDOP_poll on the port for up to POLL_NS (returns at once if it is pending). */
static void wait_port(uint32_t port)
{
    pvcore_sched_poll_t p = { 0 };
    uint32_t ports[1] = { port };

    p.ports = (uintptr_t)ports;
    p.nr_ports = 1;
    p.timeout = guest_system_time(si) + POLL_NS;
    check("sched_op(poll)", hyp_sched_op(PVCORE_SCHEDOP_poll, &p));
}

/* The pattern: depends on the sector and the byte, so a sector in the wrong place shows. */
static uint8_t pattern(uint32_t sector, uint32_t byte)
{
    return (uint8_t)(sector * 131u + byte * 7u + (sector >> 8) + 0x5Au);
}

static unsigned long parse_domid(const char *mode)
{
    const char *d = mode + (mode[0] == 's' ? 6 : 8);
    unsigned long v = 0;

    while (*d >= '0' && *d <= '9') {
        v = v * 10u + (unsigned long)(*d++ - '0');
    }
    return v;
}

/* ---- the back-end ---------------------------------------------------------------------- */

static bool peer_left(uint32_t port)
{
    struct pvcore_evtchn_status st = { 0 };

    st.dom = PVCORE_DOMID_SELF;
    st.port = port;
    check("evtchn status", hyp_event_channel_op(PVCORE_EVTCHNOP_status, &st));
    return st.status != PVCORE_EVTCHNSTAT_interdomain;
}

static void serve(unsigned int peer, uint64_t (*mfn_of)(const void *va))
{
    struct pvcore_evtchn_alloc_unbound a = { PVCORE_DOMID_SELF, (pvcore_domid_t)peer, 0 };
    struct pvcore_guest_blkback_config cfg = { 0 };
    struct pvcore_guest_blkback_stats st;
    struct pvcore_guest_blkback *b;
    uint8_t *disk, *state, *win;
    unsigned int idle = 0, i;
    uint32_t served, bad = 0;
    long rc;

    (void)mfn_of;
    disk = take_pages(DISK_SECTORS / PVCORE_BLKIF_SECTORS_PER_PAGE);
    state = take_pages(1);
    win = take_pages(1 + MAXSEG); /* replaced by the grant mappings */
    if (disk == NULL || state == NULL || win == NULL || pvcore_guest_blkback_size() > GUEST_PAGE_SIZE) {
        return;
    }
    rc = hyp_event_channel_op(PVCORE_EVTCHNOP_alloc_unbound, &a);
    check("alloc_unbound", rc);
    if (rc != 0) {
        return;
    }
    guest_print("blk: RAM disk of %u sectors, port %u unbound for d%u", DISK_SECTORS, a.port, peer);
    /* The front-end's first event: its ring is granted. */
    for (i = 0; !take_event(a.port); i++) {
        if (i == MAX_IDLE) {
            guest_print("blk: no event from d%u: FAILED", peer);
            failures++;
            return;
        }
        wait_port(a.port);
    }

    cfg.ops = &ops;
    cfg.protocol = guest_option_is("minihv.blk_protocol", PVCORE_XEN_IO_PROTO_ABI_X86_32) ? PVCORE_GUEST_BLK_X86_32
                   : guest_option_is("minihv.blk_protocol", PVCORE_XEN_IO_PROTO_ABI_X86_64) ? PVCORE_GUEST_BLK_X86_64
                                                                                            : PVCORE_GUEST_BLK_NATIVE;
    cfg.frontend = (pvcore_domid_t)peer;
    cfg.handle = HANDLE;
    cfg.port = a.port;
    cfg.ring_ref = RING_REF;
    cfg.ring_addr = (uintptr_t)win;
    for (i = 0; i < MAXSEG; i++) {
        cfg.seg_addr[i] = (uintptr_t)(win + (1u + i) * GUEST_PAGE_SIZE);
    }
    cfg.disk = disk;
    cfg.nr_sectors = DISK_SECTORS;
    cfg.transfer_reads = transfer_mode;
    for (i = 0; i < MAXSEG; i++) {
        cfg.spare_gfn[i] = nr_pfns + i; /* holes: past the pages the domain started with */
    }
    rc = pvcore_guest_blkback_connect(state, GUEST_PAGE_SIZE, &cfg, &b);
    check("connect (map the ring)", rc);
    if (rc != 0) {
        return;
    }
    guest_print("blk: ring of d%u mapped (grant %u, %s layout), serving%s", peer, RING_REF,
                cfg.protocol == PVCORE_GUEST_BLK_X86_32 ? PVCORE_XEN_IO_PROTO_ABI_X86_32
                                                        : PVCORE_XEN_IO_PROTO_ABI_X86_64,
                transfer_mode ? ", reads by page transfer" : "");
    /* Clear the event, then look at the ring: a request published after the look sets it
     * again, and the poll returns at once. */
    for (;;) {
        (void)take_event(a.port);
        rc = pvcore_guest_blkback_poll(b, 0, &served);
        if (rc != 0) {
            guest_print("blk: back-end stopped (fault %u, error %ld): FAILED", pvcore_guest_blkback_fault(b), rc);
            failures++;
            break;
        }
        if (served != 0) {
            idle = 0;
        } else if (peer_left(a.port)) {
            break;
        } else if (++idle == MAX_IDLE) {
            guest_print("blk: nothing from d%u for %u waits: FAILED", peer, MAX_IDLE);
            failures++;
            break;
        } else {
            wait_port(a.port);
        }
    }
    check("disconnect (unmap the ring)", pvcore_guest_blkback_disconnect(b));
    check("close", hyp_event_channel_op(PVCORE_EVTCHNOP_close, &a.port));
    pvcore_guest_blkback_get_stats(b, &st);
    guest_print("blk: served %lu requests: %lu ok, %lu failed; %lu sectors written, %lu read",
                (unsigned long)st.requests, (unsigned long)st.okay,
                (unsigned long)(st.errors + st.unsupported), (unsigned long)st.sectors_written,
                (unsigned long)st.sectors_read);
    if (transfer_mode) {
        if (st.transferred == 0 || st.transfer_failures != 0) {
            guest_print("blk: %lu frames transferred, %lu segments failed: FAILED", (unsigned long)st.transferred,
                        (unsigned long)st.transfer_failures);
            failures++;
        } else {
            guest_print("blk: %lu frames transferred to d%u, none failed: ok", (unsigned long)st.transferred, peer);
        }
    }
    if (st.errors + st.unsupported != 0) {
        guest_print("blk: %lu requests failed: FAILED", (unsigned long)(st.errors + st.unsupported));
        failures++;
    }
    if (st.mapped != st.unmapped) {
        guest_print("blk: %lu grant mappings made, %lu undone: FAILED", (unsigned long)st.mapped,
                    (unsigned long)st.unmapped);
        failures++;
    } else {
        guest_print("blk: every grant mapping undone (%lu): ok", (unsigned long)st.mapped);
    }
    for (i = 0; i < DISK_SECTORS * SECTOR; i++) {
        bad += disk[i] != pattern(i / SECTOR, i % SECTOR) ? 1u : 0u;
    }
    if (bad != 0 || st.sectors_written < DISK_SECTORS) {
        guest_print("blk: the disk does not hold the pattern (%u bytes differ): FAILED", bad);
        failures++;
    } else {
        guest_print("blk: the disk holds the pattern: ok");
    }
}

/* ---- the front-end --------------------------------------------------------------------- */

/* A request in flight. */
struct req {
    uint64_t id;
    uint32_t start, off, len, nseg;
    uint32_t page[MAXSEG];
    bool used;
};

static struct pvcore_guest_blk_page pages[DATA_PAGES];
static struct req act[PVCORE_BLKIF_RING_SIZE_4K];
static unsigned int nr_requests, nr_kicks, max_batch;

static uint8_t *sector_at(const struct req *r, uint32_t j)
{
    uint32_t at = r->off + j;

    return (uint8_t *)pages[r->page[at / 8u]].va + (at % 8u) * SECTOR;
}

/* One pass over the disk: writes the pattern, or reads it back and compares. */
static bool pass(struct pvcore_guest_blkfront *f, uint32_t port, uint8_t op)
{
    bool used[DATA_PAGES] = { false };
    uint32_t start = 0, k = 0, i, j, b, idle = 0;
    unsigned int wrong = 0;

    for (;;) {
        struct pvcore_guest_blk_done done[8];
        uint32_t queued = 0, n = 0, active = 0;
        long rc;

        while (start < DISK_SECTORS && pvcore_guest_blkfront_free_slots(f) > 0) {
            struct pvcore_guest_blk_seg segs[MAXSEG];
            struct req r = { 0 };
            uint32_t got = 0;

            r.start = start;
            r.off = k % 8u;
            r.len = 1u + (k * 37u) % 80u;
            if (r.len > DISK_SECTORS - start) {
                r.len = DISK_SECTORS - start;
            }
            r.nseg = (r.off + r.len + 7u) / 8u;
            for (i = 0; i < DATA_PAGES && got < r.nseg; i++) {
                if (!used[i]) {
                    r.page[got++] = i;
                }
            }
            if (got < r.nseg) {
                break; /* wait for pages */
            }
            for (i = 0; i < r.nseg; i++) {
                uint32_t last = r.off + r.len - 1u - 8u * i;

                segs[i].page = r.page[i];
                segs[i].first_sect = (uint8_t)(i == 0 ? r.off : 0u);
                segs[i].last_sect = (uint8_t)(last < 8u ? last : 7u);
            }
            for (j = 0; j < r.len; j++) {
                uint8_t *s = sector_at(&r, j);
                for (b = 0; b < SECTOR; b++) {
                    s[b] = op == PVCORE_BLKIF_OP_WRITE ? pattern(start + j, b) : 0xEE;
                }
            }
            rc = pvcore_guest_blkfront_queue(f, op, start, segs, r.nseg, &r.id);
            if (rc != 0) {
                check("queue", rc);
                return false;
            }
            for (i = 0; i < r.nseg; i++) {
                used[r.page[i]] = true;
            }
            for (i = 0; act[i].used; i++) {
            }
            r.used = true;
            act[i] = r;
            start += r.len;
            k++;
            queued++;
        }
        if (queued != 0) {
            rc = pvcore_guest_blkfront_kick(f);
            if (rc != 0) {
                check("kick", rc);
                return false;
            }
            nr_kicks++;
            nr_requests += queued;
            max_batch = queued > max_batch ? queued : max_batch;
        }
        /* Clear the event, then look at the ring (see the back-end). */
        (void)take_event(port);
        rc = pvcore_guest_blkfront_poll(f, done, 8, &n);
        if (rc != 0) {
            guest_print("blk: front-end stopped (fault %u): FAILED", pvcore_guest_blkfront_fault(f));
            failures++;
            return false;
        }
        for (i = 0; i < n; i++) {
            struct req *r = NULL;

            for (j = 0; j < PVCORE_BLKIF_RING_SIZE_4K; j++) {
                if (act[j].used && act[j].id == done[i].id) {
                    r = &act[j];
                }
            }
            if (r == NULL || done[i].status != PVCORE_BLKIF_RSP_OKAY) {
                guest_print("blk: request 0x%llx answered with status %d: FAILED",
                            (unsigned long long)done[i].id, done[i].status);
                failures++;
                return false;
            }
            for (j = 0; op == PVCORE_BLKIF_OP_READ && j < r->len; j++) {
                const uint8_t *s = sector_at(r, j);
                for (b = 0; b < SECTOR; b++) {
                    wrong += s[b] != pattern(r->start + j, b) ? 1u : 0u;
                }
            }
            for (j = 0; j < r->nseg; j++) {
                used[r->page[j]] = false;
            }
            r->used = false;
        }
        for (i = 0; i < PVCORE_BLKIF_RING_SIZE_4K; i++) {
            active += act[i].used ? 1u : 0u;
        }
        if (start >= DISK_SECTORS && active == 0) {
            if (wrong != 0) {
                guest_print("blk: %u bytes read back differ from the pattern: FAILED", wrong);
                failures++;
                return false;
            }
            return true;
        }
        if (n != 0 || queued != 0) {
            idle = 0;
        } else if (++idle == MAX_IDLE) {
            guest_print("blk: no answer for %u waits (%u in flight): FAILED", MAX_IDLE, active);
            failures++;
            return false;
        } else {
            wait_port(port);
        }
    }
}

static void connect(unsigned int peer, uint64_t (*mfn_of)(const void *va))
{
    pvcore_gnttab_setup_table_t st = { 0 };
    struct pvcore_guest_blkfront_config cfg = { 0 };
    struct pvcore_guest_blkfront *f;
    struct pvcore_evtchn_bind_interdomain bind = { 0 };
    struct pvcore_evtchn_send send;
    unsigned long frame = 0; /* xen_pfn_t: the guest's word */
    uint8_t *gnt, *state, *ring, *data;
    uint32_t remote = 0, i;
    unsigned int scan;
    long rc = -PVCORE_EINVAL;

    gnt = take_pages(1);
    state = take_pages(1);
    ring = take_pages(1);
    data = take_pages(DATA_PAGES);
    if (gnt == NULL || state == NULL || ring == NULL || data == NULL ||
        pvcore_guest_blkfront_size() > GUEST_PAGE_SIZE) {
        return;
    }
    /* The grant table: one frame, mapped writable at a page of our own. */
    st.dom = PVCORE_DOMID_SELF;
    st.nr_frames = 1;
    st.frame_list = (uintptr_t)&frame;
    rc = hyp_grant_table_op(PVCORE_GNTTABOP_setup_table, &st, 1);
    if (rc != 0 || st.status != PVCORE_GNTST_okay) {
        guest_print("blk: setup_table: error %ld, status %d: FAILED", rc, st.status);
        failures++;
        return;
    }
    rc = hyp_update_va_mapping((unsigned long)(uintptr_t)gnt,
                               ((uint64_t)frame << GUEST_PAGE_SHIFT) | guest_format.page_flags,
                               PVCORE_UVMF_INVLPG | PVCORE_UVMF_LOCAL);
    check("map the grant table", rc);
    if (rc != 0) {
        return;
    }

    /* The peer's port for us is the only one of its ports bind_interdomain accepts. */
    rc = -PVCORE_EINVAL;
    for (scan = 0; scan < MAX_SCANS && rc != 0; scan++) {
        for (remote = 1; remote < NR_PORTS; remote++) {
            bind.remote_dom = (pvcore_domid_t)peer;
            bind.remote_port = remote;
            rc = hyp_event_channel_op(PVCORE_EVTCHNOP_bind_interdomain, &bind);
            if (rc == 0) {
                break;
            }
        }
        if (rc != 0) {
            (void)hyp_sched_op(PVCORE_SCHEDOP_yield, NULL);
        }
    }
    if (rc != 0) {
        check("bind_interdomain (no port of the peer's accepted)", rc);
        return;
    }
    (void)take_event(bind.local_port); /* a new interdomain port starts pending */

    cfg.ops = &ops;
    cfg.backend = (pvcore_domid_t)peer;
    cfg.handle = HANDLE;
    cfg.port = bind.local_port;
    cfg.gnttab = gnt;
    cfg.gnttab_entries = GUEST_PAGE_SIZE / sizeof(struct pvcore_grant_entry_v1);
    cfg.first_ref = RING_REF;
    cfg.ring.va = ring;
    cfg.ring.frame = mfn_of(ring);
    for (i = 0; i < DATA_PAGES; i++) {
        pages[i].va = data + i * GUEST_PAGE_SIZE;
        pages[i].frame = mfn_of(pages[i].va);
        pages[i].gfn = ((uintptr_t)pages[i].va - GUEST_VIRT_BASE) >> GUEST_PAGE_SHIFT;
    }
    cfg.pages = pages;
    cfg.nr_pages = DATA_PAGES;
    cfg.transfer_reads = transfer_mode;
    rc = pvcore_guest_blkfront_init(state, GUEST_PAGE_SIZE, &cfg, &f);
    check("front-end init", rc);
    if (rc != 0) {
        return;
    }
    send.port = bind.local_port;
    check("send (ring granted)", hyp_event_channel_op(PVCORE_EVTCHNOP_send, &send));
    guest_print("blk: ring granted as %u (%s layout), port %u bound to d%u port %u%s", RING_REF,
                PVCORE_XEN_IO_PROTO_ABI_NATIVE, bind.local_port, peer, remote,
                transfer_mode ? ", reads by page transfer" : "");

    if (pass(f, bind.local_port, PVCORE_BLKIF_OP_WRITE)) {
        guest_print("blk: wrote the pattern over %u sectors", DISK_SECTORS);
        if (pass(f, bind.local_port, PVCORE_BLKIF_OP_READ)) {
            guest_print("blk: read %u sectors back, all as written: ok", DISK_SECTORS);
            guest_print("blk: %u requests in %u batches (up to %u at once)", nr_requests, nr_kicks, max_batch);
        }
    }

    /* Leave: close our end (the back-end sees its port unbound), then wait until it has
     * unmapped the ring, so that every grant can be revoked. */
    check("close", hyp_event_channel_op(PVCORE_EVTCHNOP_close, &send.port));
    for (i = 0; (rc = pvcore_guest_blkfront_disconnect(f)) == -PVCORE_EBUSY && i < MAX_IDLE; i++) {
        (void)hyp_sched_op(PVCORE_SCHEDOP_yield, NULL);
    }
    check("disconnect (revoke the grants)", rc);
    if (rc == 0) {
        guest_print("blk: every grant revoked: ok");
    }
}

unsigned int guest_blk(const char *mode, volatile void *shared_info, uint64_t (*mfn_of)(const void *va),
                       unsigned long *p2m_list, unsigned long nr_pages, unsigned long free_va,
                       unsigned long free_end_va)
{
    si = shared_info;
    p2m = p2m_list;
    nr_pfns = nr_pages;
    transfer_mode = guest_option_is("minihv.blk_transfer", "1");
    next_free = free_va;
    free_end = free_end_va;
    si[1] = 1; /* events masked: we wait with SCHEDOP_poll */
    if (guest_starts_with(mode, "serve:")) {
        serve((unsigned int)parse_domid(mode), mfn_of);
    } else if (guest_starts_with(mode, "connect:")) {
        connect((unsigned int)parse_domid(mode), mfn_of);
    } else {
        guest_print("blk: unknown mode \"%s\": FAILED", mode);
        failures++;
    }
    return failures;
}
