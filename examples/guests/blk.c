/*
 * The example guests' block split-driver step, run when the command line asks for it
 * (minihv.blk=serve:<domid> or connect:<domid>), on libpvcore's guest-side driver
 * (<pvcore/guest/blk.h>). Written against the Xen PV ABI only.
 *
 * - serve (the back-end): a RAM disk of DISK_SECTORS sectors in the guest's own memory.
 *   Says InitWait in its vbd directory, waits for the front-end's Initialised, reads its
 *   ring-ref, event-channel and protocol, binds the port, maps the ring, publishes the
 *   disk's size and says Connected; serves until the front-end says Closing; then
 *   unmaps the ring, says Closed, and checks that every mapping was undone and that the
 *   disk holds the pattern.
 * - connect (the front-end): waits for the back-end's InitWait, sets up its grant table
 *   (setup_table, one frame, mapped at a page of its own), grants its ring page as
 *   RING_REF, allocates a port for the back-end, publishes the three in one transaction
 *   with Initialised, waits for Connected and reads the disk's size. Writes a pattern
 *   over the whole disk in requests of 1 to 80 sectors (up to 11 segments), as many
 *   queued at once as pages and ring slots allow, published in batches, then reads it
 *   back and compares. Then says Closing, waits for the back-end's Closed to revoke its
 *   grants, and says Closed.
 * The directories are the ones minihv writes as the toolstack (backend.c); the client is
 * libpvcore's (<pvcore/guest/xs.h>) on the start_info store page. With
 * minihv.blk_transfer=1 given to both, the driver's transfer mode: each read's pages are
 * given back by the front-end and flipped to it by the back-end (memory_op and
 * GNTTABOP_transfer), each side mapping the frames with update_va_mapping and keeping its
 * p2m list right; the back-end populates pseudo-physical frames past its nr_pages.
 *
 * Events stay masked throughout: each side waits for the ring with SCHEDOP_poll on its
 * port, with a timeout (so that the back-end also notices xenstore's news), and clears
 * the port's pending bit itself before it looks at the ring, so no notification is lost.
 * Every wait is bounded.
 */
#include <stdbool.h>

#include <pvcore/abi/blkif.h>
#include <pvcore/abi/errno.h>
#include <pvcore/abi/event_channel.h>
#include <pvcore/abi/grant_table.h>
#include <pvcore/abi/xen.h>
#include <pvcore/abi/xs_wire.h>
#include <pvcore/guest/blk.h>
#include <pvcore/guest/xs.h>

#include "guest.h"
#include "layout.h"

#define RING_REF PVCORE_GNTTAB_NR_RESERVED_ENTRIES /* the ring's grant; data pages follow */
#define DISK_SECTORS 1024u                         /* a 512 KiB RAM disk */
#define DATA_PAGES 32u                             /* the front-end's buffers */
#define HANDLE 51712u                              /* xvda */
#define MAX_DISK_SECTORS 65536u                    /* the most a front-end believes: 32 MiB */
#define XS_TIMEOUT_NS 30000000000ull               /* xenstore: 30 s without progress */
#define POLL_NS 10000000u                          /* one wait: 10 ms */
#define MAX_IDLE 3000u                             /* waits in a row with nothing done: 30 s */
#define SECTOR PVCORE_BLKIF_SECTOR_SIZE
#define MAXSEG PVCORE_BLKIF_MAX_SEGMENTS_PER_REQUEST

static volatile uint8_t *si; /* shared info */
static unsigned int failures;
static unsigned long next_free, free_end;
static unsigned long *p2m, nr_pfns; /* start_info's mfn_list and nr_pages */
static bool transfer_mode;
static struct pvcore_guest_xs xs;
static uint32_t store_port;
static uint64_t xs_deadline; /* system time at which the current request gives up */

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

    while (*d >= '0' && *d <= '9' && v < 0x10000u) {
        v = v * 10u + (unsigned long)(*d++ - '0');
    }
    return v != 0 && v < PVCORE_DOMID_FIRST_RESERVED ? v : 0; /* 0: no peer named */
}

/* ---- xenstore: Xen's handshake of a split device --------------------------------------- */

/* The store's port is bound to domain 0, which minihv plays: it serves the ring when we
 * send on it or yield. */
static void xs_notify(void *ctx)
{
    struct pvcore_evtchn_send send;

    (void)ctx;
    send.port = store_port;
    (void)hyp_event_channel_op(PVCORE_EVTCHNOP_send, &send);
}

/* Each request may wait XS_TIMEOUT_NS in all, from its first wait. */
static int xs_wait(void *ctx, unsigned n)
{
    uint64_t now = guest_system_time(si);

    (void)ctx;
    if (n == 0) {
        xs_deadline = now + XS_TIMEOUT_NS;
    } else if (now > xs_deadline) {
        return 1;
    }
    (void)hyp_sched_op(PVCORE_SCHEDOP_yield, NULL);
    return 0;
}

static const struct pvcore_guest_xs_ops xs_ops = { xs_notify, xs_wait };

/* The client on the store page (start_info's store_mfn: found in the p2m list, mapped at
 * its pseudo-physical address like every page of the guest). */
static bool xs_start(uint64_t store_mfn, uint32_t port)
{
    unsigned long pfn;

    for (pfn = 0; pfn < nr_pfns && p2m[pfn] != store_mfn; pfn++) {
    }
    if (pfn == nr_pfns) {
        guest_print("blk: the store page (mfn 0x%llx) is not ours: FAILED", (unsigned long long)store_mfn);
        failures++;
        return false;
    }
    store_port = port;
    return pvcore_guest_xs_init(&xs, (void *)(uintptr_t)(GUEST_VIRT_BASE + pfn * GUEST_PAGE_SIZE), &xs_ops,
                                NULL) == 0;
}

/* "<dir>/<name>", in a buffer of its own per call site; an empty path (which the store
 * refuses) if it does not fit, never a cut one that could name another node. */
static const char *node(char *buf, uint32_t cap, const char *dir, const char *name)
{
    uint32_t n = 0;

    while (*dir != 0 && n + 2u < cap) {
        buf[n++] = *dir++;
    }
    buf[n++] = '/';
    while (*name != 0 && n + 1u < cap) {
        buf[n++] = *name++;
    }
    buf[n] = 0;
    if (*dir != 0 || *name != 0) {
        buf[0] = 0;
    }
    return buf;
}

static bool xs_ok(const char *what, const char *path, int rc)
{
    if (rc < 0) {
        guest_print("blk: xenstore %s %s: error %d: FAILED", what, path, rc);
        failures++;
        return false;
    }
    return true;
}

static bool xs_write_num(const char *dir, const char *name, uint64_t v)
{
    char p[160];

    (void)node(p, sizeof(p), dir, name);
    return xs_ok("write", p, pvcore_guest_xs_write_u64(&xs, 0, p, v));
}

/* A number the peer wrote, at most `max`. */
static bool xs_read_num(const char *dir, const char *name, uint64_t max, uint64_t *v)
{
    char p[160];

    (void)node(p, sizeof(p), dir, name);
    if (!xs_ok("read", p, pvcore_guest_xs_read_u64(&xs, 0, p, v))) {
        return false;
    }
    if (*v > max) {
        guest_print("blk: xenstore %s is %llu, above %llu: FAILED", p, (unsigned long long)*v,
                    (unsigned long long)max);
        failures++;
        return false;
    }
    return true;
}

/* The peer's state (its `state` node; missing or not a number reads as Unknown). */
static uint64_t peer_state(const char *dir)
{
    char p[160];
    uint64_t v = PVCORE_XENBUS_STATE_UNKNOWN;

    if (pvcore_guest_xs_read_u64(&xs, 0, node(p, sizeof(p), dir, "state"), &v) != 0 ||
        v > PVCORE_XENBUS_STATE_RECONFIGURED) {
        v = PVCORE_XENBUS_STATE_UNKNOWN;
    }
    return v;
}

/* Whether a watch event arrived (any: each is only a reason to read the node again). */
static bool xs_any_event(void)
{
    char path[8], token[8];
    bool any = false;

    unsigned int i;

    /* At most 16 at a time: a peer rewriting its node without end cannot hold us here. */
    for (i = 0; i < 16u && pvcore_guest_xs_event(&xs, path, sizeof(path), token, sizeof(token)) == 1; i++) {
        any = true;
    }
    return any;
}

/* Waits (watching the peer's state node) until the peer's state is at least `want`;
 * returns the state then, or Unknown after XS_TIMEOUT_NS. */
static uint64_t wait_peer_state(const char *dir, uint64_t want)
{
    uint64_t st = peer_state(dir), since = guest_system_time(si);

    while (st < want) {
        if (guest_system_time(si) - since > XS_TIMEOUT_NS || pvcore_guest_xs_fault(&xs) != 0) {
            guest_print("blk: %s/state stayed %llu (waiting for %llu): FAILED", dir, (unsigned long long)st,
                        (unsigned long long)want);
            failures++;
            return PVCORE_XENBUS_STATE_UNKNOWN;
        }
        if (xs_any_event()) {
            st = peer_state(dir);
        } else {
            (void)hyp_sched_op(PVCORE_SCHEDOP_yield, NULL);
        }
    }
    return st;
}

/* The peer's directory, from our device directory's `name`, checked to be the peer's. */
static bool find_peer(const char *dir, const char *name, const char *id_name, unsigned int peer, char *out,
                      uint32_t cap)
{
    char p[160];
    uint64_t id = 0;

    (void)node(p, sizeof(p), dir, name);
    if (!xs_ok("read", p, pvcore_guest_xs_read(&xs, 0, p, out, cap)) || !xs_read_num(dir, id_name, 0xffffu, &id)) {
        return false;
    }
    if (id != peer) {
        guest_print("blk: %s/%s is %llu, not d%u: FAILED", dir, id_name, (unsigned long long)id, peer);
        failures++;
        return false;
    }
    (void)node(p, sizeof(p), out, "state");
    return xs_ok("watch", p, pvcore_guest_xs_watch(&xs, p, "peer", true));
}

/* "backend/vbd/<fe>/51712" or "device/vbd/51712", relative to our home. */
static void device_dir(char *buf, uint32_t cap, unsigned int frontend)
{
    static const char be[] = "backend/vbd/", fe[] = "device/vbd/51712";
    char num[8];
    uint32_t n = 0, k = 0;

    if (frontend == 0) {
        for (n = 0; n < sizeof(fe) && n < cap; n++) {
            buf[n] = fe[n];
        }
        return;
    }
    for (n = 0; n + 1u < sizeof(be); n++) {
        buf[n] = be[n];
    }
    do {
        num[k++] = (char)('0' + frontend % 10u);
        frontend /= 10u;
    } while (frontend != 0 && k < sizeof(num));
    while (k > 0 && n + 8u < cap) {
        buf[n++] = num[--k];
    }
    for (k = 0; k < 7u; k++) {
        buf[n + k] = "/51712"[k];
    }
}

/* Leaves the handshake from any state, as Linux's drivers do: Closing, then Closed. */
static void say_closed(const char *dir)
{
    (void)xs_write_num(dir, "state", PVCORE_XENBUS_STATE_CLOSING);
    (void)xs_write_num(dir, "state", PVCORE_XENBUS_STATE_CLOSED);
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

/* The front-end's ring layout, from its `protocol` node (absent: our own). */
static bool read_protocol(const char *fe, uint32_t *proto)
{
    char p[160], v[16];
    int n = pvcore_guest_xs_read(&xs, 0, node(p, sizeof(p), fe, "protocol"), v, sizeof(v));

    if (n == -PVCORE_ENOENT) {
        *proto = PVCORE_GUEST_BLK_NATIVE;
    } else if (n >= 0 && guest_starts_with(v, PVCORE_XEN_IO_PROTO_ABI_X86_32) &&
               n == (int)sizeof(PVCORE_XEN_IO_PROTO_ABI_X86_32) - 1) {
        *proto = PVCORE_GUEST_BLK_X86_32;
    } else if (n >= 0 && guest_starts_with(v, PVCORE_XEN_IO_PROTO_ABI_X86_64) &&
               n == (int)sizeof(PVCORE_XEN_IO_PROTO_ABI_X86_64) - 1) {
        *proto = PVCORE_GUEST_BLK_X86_64;
    } else {
        guest_print("blk: %s is not a protocol we speak (%d): FAILED", p, n);
        failures++;
        return false;
    }
    return true;
}

static void serve(unsigned int peer)
{
    struct pvcore_evtchn_bind_interdomain bind = { 0 };
    struct pvcore_guest_blkback_config cfg = { 0 };
    struct pvcore_guest_blkback_stats st;
    struct pvcore_guest_blkback *b;
    uint8_t *disk, *state, *win;
    char dir[48], fe[128];
    uint64_t ring_ref = 0, fe_port = 0, fe_state;
    unsigned int idle = 0, i;
    uint32_t served, bad = 0;
    long rc;

    disk = take_pages(DISK_SECTORS / PVCORE_BLKIF_SECTORS_PER_PAGE);
    state = take_pages(1);
    win = take_pages(1 + MAXSEG); /* replaced by the grant mappings */
    if (disk == NULL || state == NULL || win == NULL || pvcore_guest_blkback_size() > GUEST_PAGE_SIZE) {
        return;
    }
    /* Xen's handshake, back-end side: find the front-end, say InitWait, wait for its
     * ring and event channel (Initialised), connect, publish the disk, say Connected. */
    device_dir(dir, sizeof(dir), peer);
    if (!find_peer(dir, "frontend", "frontend-id", peer, fe, sizeof(fe))) {
        say_closed(dir);
        return;
    }
    if (!xs_write_num(dir, "state", PVCORE_XENBUS_STATE_INIT_WAIT)) {
        say_closed(dir);
        return;
    }
    guest_print("blk: RAM disk of %u sectors for d%u, %s: InitWait", DISK_SECTORS, peer, dir);
    /* From here on every way out says Closed, so that the front-end is not left waiting. */
    fe_state = wait_peer_state(fe, PVCORE_XENBUS_STATE_INITIALISED);
    if (fe_state != PVCORE_XENBUS_STATE_INITIALISED && fe_state != PVCORE_XENBUS_STATE_CONNECTED) {
        if (fe_state != PVCORE_XENBUS_STATE_UNKNOWN) {
            guest_print("blk: front-end state %llu before it connected: FAILED", (unsigned long long)fe_state);
            failures++;
        }
        say_closed(dir);
        return;
    }
    if (!xs_read_num(fe, "ring-ref", 0xffffffffu, &ring_ref) ||
        !xs_read_num(fe, "event-channel", 0xffffffffu, &fe_port) || !read_protocol(fe, &cfg.protocol)) {
        say_closed(dir);
        return;
    }
    bind.remote_dom = (pvcore_domid_t)peer;
    bind.remote_port = (uint32_t)fe_port;
    rc = hyp_event_channel_op(PVCORE_EVTCHNOP_bind_interdomain, &bind);
    check("bind_interdomain (the front-end's event-channel)", rc);
    if (rc != 0) {
        say_closed(dir);
        return;
    }

    cfg.ops = &ops;
    cfg.frontend = (pvcore_domid_t)peer;
    cfg.handle = HANDLE;
    cfg.port = bind.local_port;
    cfg.ring_ref = (uint32_t)ring_ref;
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
        check("close", hyp_event_channel_op(PVCORE_EVTCHNOP_close, &bind.local_port));
        say_closed(dir);
        return;
    }
    if (!xs_write_num(dir, "sectors", DISK_SECTORS) || !xs_write_num(dir, "sector-size", SECTOR) ||
        !xs_write_num(dir, "info", 0) || !xs_write_num(dir, "state", PVCORE_XENBUS_STATE_CONNECTED)) {
        fe_state = PVCORE_XENBUS_STATE_CLOSED; /* do not serve */
    }
    guest_print("blk: ring-ref %llu of d%u mapped (%s layout%s): Connected, its port %llu bound",
                (unsigned long long)ring_ref, peer,
                cfg.protocol == PVCORE_GUEST_BLK_X86_32   ? PVCORE_XEN_IO_PROTO_ABI_X86_32
                : cfg.protocol == PVCORE_GUEST_BLK_X86_64 ? PVCORE_XEN_IO_PROTO_ABI_X86_64
                                                          : PVCORE_XEN_IO_PROTO_ABI_NATIVE,
                transfer_mode ? ", reads by page transfer" : "", (unsigned long long)fe_port);
    /* Clear the event, then look at the ring: a request published after the look sets it
     * again, and the poll returns at once. Stop when the front-end leaves Initialised or
     * Connected (Closing, as it should; Closed, Unknown: its node gone, as Linux takes it). */
    while (fe_state == PVCORE_XENBUS_STATE_INITIALISED || fe_state == PVCORE_XENBUS_STATE_CONNECTED) {
        (void)take_event(bind.local_port);
        rc = pvcore_guest_blkback_poll(b, 0, &served);
        if (rc != 0) {
            guest_print("blk: back-end stopped (fault %u, error %ld): FAILED", pvcore_guest_blkback_fault(b), rc);
            failures++;
            break;
        }
        if (served != 0) {
            idle = 0;
        } else if (xs_any_event()) {
            fe_state = peer_state(fe);
        } else if (peer_left(bind.local_port)) {
            break;
        } else if (++idle == MAX_IDLE) {
            guest_print("blk: nothing from d%u for %u waits: FAILED", peer, MAX_IDLE);
            failures++;
            break;
        } else {
            wait_port(bind.local_port);
        }
    }
    check("disconnect (unmap the ring)", pvcore_guest_blkback_disconnect(b));
    check("close", hyp_event_channel_op(PVCORE_EVTCHNOP_close, &bind.local_port));
    if (xs_write_num(dir, "state", PVCORE_XENBUS_STATE_CLOSING) && xs_write_num(dir, "state", PVCORE_XENBUS_STATE_CLOSED)) {
        guest_print("blk: front-end Closing, ring unmapped: Closed");
    }
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
static uint32_t disk_sectors; /* the back-end's `sectors` */

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

        while (start < disk_sectors && pvcore_guest_blkfront_free_slots(f) > 0) {
            struct pvcore_guest_blk_seg segs[MAXSEG];
            struct req r = { 0 };
            uint32_t got = 0;

            r.start = start;
            r.off = k % 8u;
            r.len = 1u + (k * 37u) % 80u;
            if (r.len > disk_sectors - start) {
                r.len = disk_sectors - start;
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
        if (start >= disk_sectors && active == 0) {
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

/* Publishes the ring and the event channel, and says Initialised, in one transaction. */
static bool publish_ring(const char *dir, uint32_t port)
{
    char p[4][64];
    unsigned int tries;
    uint32_t tx = 0;
    int rc = 0;

    for (tries = 0; tries < 10; tries++) {
        if (!xs_ok("transaction_start", dir, pvcore_guest_xs_transaction_start(&xs, &tx))) {
            return false;
        }
        rc = pvcore_guest_xs_write_u64(&xs, tx, node(p[0], sizeof(p[0]), dir, "ring-ref"), RING_REF);
        if (rc == 0) {
            rc = pvcore_guest_xs_write_u64(&xs, tx, node(p[1], sizeof(p[1]), dir, "event-channel"), port);
        }
        if (rc == 0) {
            rc = pvcore_guest_xs_write_str(&xs, tx, node(p[2], sizeof(p[2]), dir, "protocol"),
                                           PVCORE_XEN_IO_PROTO_ABI_NATIVE);
        }
        if (rc == 0) {
            rc = pvcore_guest_xs_write_u64(&xs, tx, node(p[3], sizeof(p[3]), dir, "state"),
                                           PVCORE_XENBUS_STATE_INITIALISED);
        }
        if (rc != 0) {
            (void)pvcore_guest_xs_transaction_end(&xs, tx, false);
            return xs_ok("write", dir, rc);
        }
        rc = pvcore_guest_xs_transaction_end(&xs, tx, true);
        if (rc != -PVCORE_EAGAIN) {
            return xs_ok("transaction_end", dir, rc);
        }
    }
    return xs_ok("transaction_end (10 tries)", dir, rc);
}

static void connect(unsigned int peer, uint64_t (*mfn_of)(const void *va))
{
    pvcore_gnttab_setup_table_t st = { 0 };
    struct pvcore_guest_blkfront_config cfg = { 0 };
    struct pvcore_guest_blkfront *f;
    struct pvcore_evtchn_alloc_unbound a = { PVCORE_DOMID_SELF, 0, 0 };
    unsigned long frame = 0; /* xen_pfn_t: the guest's word */
    uint8_t *gnt, *state, *ring, *data;
    char dir[48], be[128];
    uint64_t be_state, sectors = 0, sector_size = 0;
    uint32_t i;
    long rc = -PVCORE_EINVAL;

    gnt = take_pages(1);
    state = take_pages(1);
    ring = take_pages(1);
    data = take_pages(DATA_PAGES);
    if (gnt == NULL || state == NULL || ring == NULL || data == NULL ||
        pvcore_guest_blkfront_size() > GUEST_PAGE_SIZE) {
        return;
    }
    /* Xen's handshake, front-end side: find the back-end and wait for its InitWait. */
    device_dir(dir, sizeof(dir), 0);
    if (!find_peer(dir, "backend", "backend-id", peer, be, sizeof(be))) {
        say_closed(dir);
        return;
    }
    be_state = wait_peer_state(be, PVCORE_XENBUS_STATE_INIT_WAIT);
    if (be_state != PVCORE_XENBUS_STATE_INIT_WAIT) {
        if (be_state != PVCORE_XENBUS_STATE_UNKNOWN) {
            guest_print("blk: back-end state %llu: FAILED", (unsigned long long)be_state);
            failures++;
        }
        say_closed(dir);
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
        say_closed(dir);
        return;
    }
    rc = hyp_update_va_mapping((unsigned long)(uintptr_t)gnt,
                               ((uint64_t)frame << GUEST_PAGE_SHIFT) | guest_format.page_flags,
                               PVCORE_UVMF_INVLPG | PVCORE_UVMF_LOCAL);
    check("map the grant table", rc);
    if (rc != 0) {
        say_closed(dir);
        return;
    }
    /* A port for the back-end to bind, as Linux's blkfront makes one. */
    a.remote_dom = (pvcore_domid_t)peer;
    rc = hyp_event_channel_op(PVCORE_EVTCHNOP_alloc_unbound, &a);
    check("alloc_unbound", rc);
    if (rc != 0) {
        say_closed(dir);
        return;
    }

    cfg.ops = &ops;
    cfg.backend = (pvcore_domid_t)peer;
    cfg.handle = HANDLE;
    cfg.port = a.port;
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
        check("close", hyp_event_channel_op(PVCORE_EVTCHNOP_close, &a.port));
        say_closed(dir);
        return;
    }
    if (!publish_ring(dir, a.port)) {
        be_state = PVCORE_XENBUS_STATE_UNKNOWN; /* straight to the teardown below */
    } else {
        guest_print("blk: ring granted as %u (%s layout%s): Initialised, port %u for d%u", RING_REF,
                    PVCORE_XEN_IO_PROTO_ABI_NATIVE, transfer_mode ? ", reads by page transfer" : "", a.port, peer);
        /* The back-end connects and publishes the disk; only then is it believed. */
        be_state = wait_peer_state(be, PVCORE_XENBUS_STATE_CONNECTED);
        if (be_state == PVCORE_XENBUS_STATE_CONNECTED && xs_read_num(be, "sectors", MAX_DISK_SECTORS, &sectors) &&
            xs_read_num(be, "sector-size", 1u << 16, &sector_size)) {
            if (sectors == 0 || sector_size != SECTOR) {
                guest_print("blk: a disk of %llu sectors of %llu bytes: FAILED", (unsigned long long)sectors,
                            (unsigned long long)sector_size);
                failures++;
            } else if (xs_write_num(dir, "state", PVCORE_XENBUS_STATE_CONNECTED)) {
                disk_sectors = (uint32_t)sectors;
                guest_print("blk: back-end connected, %u sectors of %u bytes: Connected", disk_sectors, SECTOR);
                if (pass(f, a.port, PVCORE_BLKIF_OP_WRITE)) {
                    guest_print("blk: wrote the pattern over %u sectors", disk_sectors);
                    if (pass(f, a.port, PVCORE_BLKIF_OP_READ)) {
                        guest_print("blk: read %u sectors back, all as written: ok", disk_sectors);
                        guest_print("blk: %u requests in %u batches (up to %u at once)", nr_requests, nr_kicks,
                                    max_batch);
                    }
                }
            }
        } else if (be_state != PVCORE_XENBUS_STATE_UNKNOWN && be_state != PVCORE_XENBUS_STATE_CONNECTED) {
            guest_print("blk: back-end state %llu: FAILED", (unsigned long long)be_state);
            failures++;
        }
    }

    /* Leave: say Closing, wait for the back-end's Closed (it has unmapped the ring), so
     * that every grant can be revoked, then close the port and say Closed. */
    if (xs_write_num(dir, "state", PVCORE_XENBUS_STATE_CLOSING)) {
        (void)wait_peer_state(be, PVCORE_XENBUS_STATE_CLOSED);
    }
    for (i = 0; (rc = pvcore_guest_blkfront_disconnect(f)) == -PVCORE_EBUSY && i < MAX_IDLE; i++) {
        (void)hyp_sched_op(PVCORE_SCHEDOP_yield, NULL);
    }
    check("disconnect (revoke the grants)", rc);
    if (rc == 0) {
        guest_print("blk: every grant revoked: ok");
    }
    check("close", hyp_event_channel_op(PVCORE_EVTCHNOP_close, &a.port));
    if (xs_write_num(dir, "state", PVCORE_XENBUS_STATE_CLOSED)) {
        guest_print("blk: Closed");
    }
}

unsigned int guest_blk(const char *mode, volatile void *shared_info, uint64_t (*mfn_of)(const void *va),
                       unsigned long *p2m_list, unsigned long nr_pages, unsigned long free_va,
                       unsigned long free_end_va, uint64_t store_mfn, uint32_t store_evtchn)
{
    si = shared_info;
    p2m = p2m_list;
    nr_pfns = nr_pages;
    transfer_mode = guest_option_is("minihv.blk_transfer", "1");
    next_free = free_va;
    free_end = free_end_va;
    si[1] = 1; /* events masked: we wait with SCHEDOP_poll */
    if (!xs_start(store_mfn, store_evtchn)) {
        return failures;
    }
    if ((guest_starts_with(mode, "serve:") || guest_starts_with(mode, "connect:")) && parse_domid(mode) == 0) {
        guest_print("blk: \"%s\" names no peer domain (1 to 32751): FAILED", mode);
        failures++;
    } else if (guest_starts_with(mode, "serve:")) {
        serve((unsigned int)parse_domid(mode));
    } else if (guest_starts_with(mode, "connect:")) {
        connect((unsigned int)parse_domid(mode), mfn_of);
    } else {
        guest_print("blk: unknown mode \"%s\": FAILED", mode);
        failures++;
    }
    return failures;
}
