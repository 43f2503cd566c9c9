/*
 * backend.c: minihv as its guests' control domain, with libpvcore's back-ends: the
 * console (each guest's output to the serial port, the serial port's input to the first
 * guest) and one xenstore serving every guest on its store ring, with the nodes of the
 * block devices the command lines ask for.
 *
 * Both rings' event channels are unbound ports for domain 0, which minihv does not run:
 * the guests' notifications are dropped, so minihv serves the rings whenever a guest
 * sends, yields or blocks, and on every timer tick. Guests that wait for the back-end
 * (GRUB, XTF) spin on sched_op(yield) until it has answered, which suits that.
 */
#include <pvcore/console.h>
#include <pvcore/xenstore.h>

#include "minihv.h"

static struct pvcore_xenstore *store;
static struct guest *console_owner; /* the guest the serial port's input goes to */
static char rx[256];                /* serial input not yet taken by the guest */
static size_t rx_len;

void backend_init(void)
{
    struct pvcore_xenstore_config cfg;
    size_t bytes;

    pvcore_xenstore_default_config(&cfg);
    bytes = pvcore_xenstore_size(&cfg);
    if (pvcore_xenstore_init(phys_to_virt(mm_alloc_frames((bytes + PAGE_SIZE - 1) / PAGE_SIZE) << 12),
                             bytes, &cfg, &store) != 0) {
        panic("xenstore");
    }
}

/* "/local/domain/<id>", and its permissions "n<id>": owned by the guest, no one else. */
static size_t domain_path(char *buf, size_t cap, uint16_t domid, int perms)
{
    static const char prefix[] = "/local/domain/";
    char num[8];
    size_t n = 0, k = 0;
    unsigned v = domid;

    do {
        num[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && k < sizeof(num));
    memcpy(buf, prefix, sizeof(prefix) - 1);
    n = sizeof(prefix) - 1;
    while (k && n + 4 < cap) {
        buf[n++] = num[--k];
    }
    buf[n++] = 0;
    if (perms) {
        size_t m = n - 1 - (sizeof(prefix) - 1);
        buf[n++] = 'n';
        memcpy(buf + n, buf + sizeof(prefix) - 1, m);
        n += m;
        buf[n++] = 0;
    }
    return n;
}

/* Appends a string, then a NUL; returns the new length (the buffer is large enough). */
static size_t put(char *buf, size_t n, const char *s)
{
    size_t k = strlen(s);

    memcpy(buf + n, s, k + 1);
    return n + k + 1;
}

/* Appends the decimal `v` without a NUL. */
static size_t put_num(char *buf, size_t n, unsigned v)
{
    char num[12];
    size_t k = 0;

    do {
        num[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k) {
        buf[n++] = num[--k];
    }
    return n;
}

static void store_call(uint32_t type, const char *req, size_t n)
{
    if (pvcore_xenstore_call(store, type, req, n, NULL, 0, NULL) != 0) {
        panic("xenstore: request %u for \"%s\"", type, req);
    }
}

/* Creates `dir` owned by `owner` and readable by `reader`, then its nodes (which inherit
 * that): `kv` is name, value, name, value, ..., NULL. */
static void store_dir(const char *dir, unsigned owner, unsigned reader, const char *const *kv)
{
    char req[160];
    size_t n;

    store_call(PVCORE_XS_MKDIR, dir, strlen(dir) + 1);
    n = put(req, 0, dir);
    req[n++] = 'n';
    n = put_num(req, n, owner);
    req[n++] = 0;
    req[n++] = 'r';
    n = put_num(req, n, reader);
    req[n++] = 0;
    store_call(PVCORE_XS_SET_PERMS, req, n);
    for (; kv[0] != NULL; kv += 2) {
        if (strlen(dir) + strlen(kv[0]) + strlen(kv[1]) + 3 > sizeof(req)) {
            panic("xenstore: node %s/%s too long", dir, kv[0]);
        }
        n = put(req, 0, dir);
        req[n - 1] = '/';
        n = put(req, n, kv[0]); /* the name's NUL separates the value */
        memcpy(req + n, kv[1], strlen(kv[1])); /* the value, without a NUL */
        store_call(PVCORE_XS_WRITE, req, n + strlen(kv[1]));
    }
}

/*
 * The toolstack's part of the block split driver: for a guest started with
 * minihv.blk=connect:<be>, the device xvda (51712) as libxl describes a vbd, the
 * front-end's directory (owned by it, readable by the back-end) and the back-end's
 * (the other way round), both in state 1 (Initialising). The two ends do the rest of
 * Xen's handshake themselves (examples/guests/blk.c).
 */
static void blk_device(const struct guest *g)
{
    const char *opt = strstr(g->cmdline, "minihv.blk=connect:");
    char fe_dir[64], be_dir[64], fe_id[8], be_id[8];
    unsigned be = 0;
    size_t n;

    /* The option as a word of its own, not the tail of another one. */
    while (opt != NULL && opt != g->cmdline && opt[-1] != ' ') {
        opt = strstr(opt + 1, "minihv.blk=connect:");
    }
    if (opt == NULL) {
        return;
    }
    for (opt += 19; *opt >= '0' && *opt <= '9' && be < 0x10000; opt++) {
        be = be * 10 + (unsigned)(*opt - '0');
    }
    if (be == 0 || be >= 0x7ff0 || be == g->domid) {
        panic("minihv.blk=connect: bad back-end domain for d%u", g->domid);
    }
    fe_id[put_num(fe_id, 0, g->domid)] = 0;
    be_id[put_num(be_id, 0, be)] = 0;
    n = put(fe_dir, 0, "/local/domain/") - 1;
    n = put(fe_dir, n, fe_id) - 1;
    (void)put(fe_dir, n, "/device/vbd/51712");
    n = put(be_dir, 0, "/local/domain/") - 1;
    n = put(be_dir, n, be_id) - 1;
    n = put(be_dir, n, "/backend/vbd/") - 1;
    n = put(be_dir, n, fe_id) - 1;
    (void)put(be_dir, n, "/51712");
    {
        const char *const fe_nodes[] = { "backend", be_dir, "backend-id", be_id, "state", "1",
                                         "virtual-device", "51712", "device-type", "disk", NULL };
        const char *const be_nodes[] = { "frontend", fe_dir, "frontend-id", fe_id, "state", "1",
                                         "online", "1", "mode", "w", "dev", "xvda", "type", "phy", NULL };
        store_dir(fe_dir, g->domid, be, fe_nodes);
        store_dir(be_dir, be, g->domid, be_nodes);
    }
}

void backend_guest_init(struct guest *g)
{
    char req[64];
    size_t n;

    if (console_owner == NULL) {
        console_owner = g;
    }
    n = domain_path(req, sizeof(req), g->domid, 0);
    if (pvcore_xenstore_call(store, PVCORE_XS_MKDIR, req, n, NULL, 0, NULL) != 0) {
        panic("xenstore: mkdir for d%u", g->domid);
    }
    n = domain_path(req, sizeof(req), g->domid, 1);
    if (pvcore_xenstore_call(store, PVCORE_XS_SET_PERMS, req, n, NULL, 0, NULL) != 0) {
        panic("xenstore: set_perms for d%u", g->domid);
    }
    if (g->store_mfn != 0 &&
        pvcore_xenstore_connect(store, phys_to_virt(g->store_mfn << 12), g->domid, false,
                                &g->store_conn) != 0) {
        panic("xenstore: connect d%u", g->domid);
    }
    blk_device(g);
}

void backend_guest_fini(struct guest *g)
{
    if (g->store_conn != NULL) {
        pvcore_xenstore_disconnect(store, g->store_conn);
        g->store_conn = NULL;
    }
    if (console_owner == g) {
        console_owner = NULL;
    }
}

/* The serial port's input, for the first guest's console ring. */
static void feed_console(void)
{
    int c, n;

    while (rx_len < sizeof(rx) && (c = con_getc()) >= 0) {
        rx[rx_len++] = (char)c;
    }
    if (console_owner == NULL || console_owner->console_mfn == 0 || rx_len == 0) {
        return;
    }
    n = pvcore_console_fill(phys_to_virt(console_owner->console_mfn << 12), rx, rx_len);
    if (n > 0) {
        memcpy(rx, rx + n, rx_len - (size_t)n);
        rx_len -= (size_t)n;
    }
}

void serve_backends(struct guest *g)
{
    int rc, i;

    drain_console_ring(g);
    feed_console();
    if (g->store_conn == NULL) {
        return;
    }
    do {
        rc = pvcore_xenstore_process(store, g->store_conn);
    } while (rc > 0 && ((unsigned)rc & PVCORE_XENSTORE_AGAIN));
    if (rc > 0 && ((unsigned)rc & PVCORE_XENSTORE_OTHERS)) {
        /* Watch events for other guests: their rings, now. */
        for (i = 0; i < 64; i++) {
            struct guest *o = guests_by_domid[i];
            if (o != NULL && o != g && o->store_conn != NULL &&
                pvcore_xenstore_conn_pending(o->store_conn)) {
                (void)pvcore_xenstore_process(store, o->store_conn);
            }
        }
    }
}
