/*
 * Fuzz target: the xenstore server (<pvcore/xenstore.h>) driven through its rings by
 * three guests, two of them hostile.
 *
 * A fresh server per input, configured by the first byte (small or tiny tables, default,
 * tiny or no quotas), with connections for domain 0 (privileged) and domains 1 and 2,
 * whose /local/domain/<id> and data/ the toolstack creates as libxl does. Then records:
 *   - a well-formed request from a guest (type, transaction, path from a dictionary with
 *     fuzzed components, value or second string), queued on its side and written into its
 *     request ring as space allows (a request larger than the ring goes in pieces);
 *   - raw bytes from domain 1 or 2 into its request ring (anything: lies in headers,
 *     lengths past the maximum, half messages);
 *   - pvcore_xenstore_process() for a connection, and the guest reading some or all of
 *     its reply ring;
 *   - hostile indices: a guest sets any of its four ring indices, or asks for a reset;
 *   - a toolstack call (pvcore_xenstore_call()) with a well-formed request;
 *   - a disconnect and reconnect of domain 1 or 2.
 * Domain 0 and the toolstack only send well-formed requests whose values stay within the
 * value quota and never give nodes away, so the oracle below may hold them to it too.
 *
 * Checked after every step: the server's invariants (pvcore_xenstore_check()); a process
 * call that succeeds never leaves more than the ring's size between rsp_cons and
 * rsp_prod, nor moves req_cons past req_prod; every message a guest reassembles from its
 * ring (while it has not tampered with its reply indices) has a payload of at most 4096
 * bytes and is a reply of a request type, an error whose payload is one NUL-terminated
 * name of Xen's table, or a watch event of exactly two NUL-terminated strings with
 * req_id and tx_id 0; a guest that has sent only well-formed requests since it connected
 * (or reset) gets exactly one reply per request, in order, with the request's id and type
 * or an error: EINVAL for a path with "..", "//", a trailing '/', a non-ASCII byte, an
 * empty path or a misplaced '@', an error for a value over the quota, and it is never
 * disconnected; an unprivileged connection's process call never takes its domain's
 * node count above the node quota (when it raised it), nor its watches or transactions
 * above theirs. Every 32 steps and at the end, a walk of the whole tree through
 * toolstack calls: every listed child reads, its permissions parse (owner first, letters
 * n r w b, decimal domain ids), no value is longer than the value quota, the number of
 * nodes is within the table, and the nodes each connected domain owns are what the
 * server reports. Any disagreement aborts.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/error.h>
#include <pvcore/xenstore.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NDOM 3
#define MSG_MAX (16u + PVCORE_XENSTORE_PAYLOAD_MAX)

struct guest {
    struct pvcore_xenstore_domain_interface *ring;
    struct pvcore_xenstore_conn *c;
    uint8_t pend[4 * MSG_MAX]; /* bytes of well-formed requests not yet in the ring */
    uint32_t npend;
    uint8_t asm_[2 * MSG_MAX]; /* reply bytes read, not yet a whole message */
    uint32_t nasm;
    bool synced;               /* its reply stream is intact (no index tampering) */
    uint32_t tx[4];            /* transaction ids the server gave it */
    uint32_t req_id;
    bool clean;                /* only well-formed requests since the last (re)connect */
    struct expect {
        uint32_t id, type;
        uint8_t must; /* 0: any reply; 1: an error; 2: EINVAL */
    } exp[64];                 /* replies owed to it, oldest first (while clean) */
    unsigned nexp;
};

struct fz {
    struct pvcore_xenstore_config cfg;
    void *mem;
    struct pvcore_xenstore *xs;
    struct guest g[NDOM];
    const uint8_t *in;
    size_t len, pos;
    unsigned step;
};

static void die(struct fz *f, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void die(struct fz *f, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz_xenstore: step %u: ", f->step);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static uint8_t byte(struct fz *f)
{
    return f->pos < f->len ? f->in[f->pos++] : 0;
}

static void check(struct fz *f)
{
    const char *what = NULL;
    if (pvcore_xenstore_check(f->xs, &what) != 0) {
        die(f, "invariant: %s", what != NULL ? what : "?");
    }
}

static void tcall(struct fz *f, uint32_t type, const char *p, uint32_t n)
{
    int rc = pvcore_xenstore_call(f->xs, type, p, n, NULL, 0, NULL);
    if (rc != 0) {
        die(f, "set-up call %u %s: %s", type, p, pvcore_strerror(rc));
    }
}

/* ---- the guests' side ----------------------------------------------------------------------- */

static void push_out(struct guest *g)
{
    struct pvcore_xenstore_domain_interface *r = g->ring;
    uint32_t used = r->req_prod - r->req_cons;
    if (used > PVCORE_XENSTORE_RING_SIZE) {
        return; /* the guest broke its own ring */
    }
    uint32_t k = PVCORE_XENSTORE_RING_SIZE - used;
    if (k > g->npend) {
        k = g->npend;
    }
    for (uint32_t i = 0; i < k; i++) {
        r->req[PVCORE_MASK_XENSTORE_IDX(r->req_prod + i)] = (char)g->pend[i];
    }
    r->req_prod += k;
    memmove(g->pend, g->pend + k, g->npend - k);
    g->npend -= k;
}

static bool known_error(const uint8_t *p, uint32_t n)
{
#define NAME(e) #e,
    static const char *const names[] = { PVCORE_XSD_ERRORS(NAME) };
#undef NAME
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (n == strlen(names[i]) + 1 && memcmp(p, names[i], n) == 0) {
            return true;
        }
    }
    return false;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void check_message(struct fz *f, struct guest *g, const uint8_t *m)
{
    uint32_t type = rd32(m), len = rd32(m + 12);
    const uint8_t *p = m + 16;
    if (type != PVCORE_XS_WATCH_EVENT && g->clean) {
        /* A well-behaved guest gets one reply per request, in order. */
        if (g->nexp == 0) {
            die(f, "reply %u to no request", rd32(m + 4));
        }
        struct expect e = g->exp[0];
        memmove(g->exp, g->exp + 1, (g->nexp - 1) * sizeof(g->exp[0]));
        g->nexp--;
        if (rd32(m + 4) != e.id || (type != e.type && type != PVCORE_XS_ERROR)) {
            die(f, "reply %u type %u to request %u type %u", rd32(m + 4), type, e.id, e.type);
        }
        if (e.must >= 1 && type != PVCORE_XS_ERROR) {
            die(f, "request %u type %u succeeded, should have failed", e.id, e.type);
        }
        if (e.must == 2 && (len != 7 || memcmp(p, "EINVAL", 7) != 0)) {
            die(f, "request %u type %u: %.*s, not EINVAL", e.id, e.type, (int)len, (const char *)p);
        }
    }
    if (type == PVCORE_XS_ERROR) {
        if (!known_error(p, len)) {
            die(f, "error reply with payload of %u bytes not a known name", len);
        }
    } else if (type == PVCORE_XS_WATCH_EVENT) {
        uint32_t nul = 0;
        for (uint32_t i = 0; i < len; i++) {
            nul += p[i] == 0;
        }
        if (len < 2 || p[len - 1] != 0 || nul != 2 || p[0] == 0 || rd32(m + 4) != 0 || rd32(m + 8) != 0) {
            die(f, "malformed watch event (%u bytes)", len);
        }
    } else if (type >= PVCORE_XS_TYPE_COUNT || type == 20) {
        die(f, "reply of type %u", type);
    } else if (type == PVCORE_XS_TRANSACTION_START && len >= 2 && p[len - 1] == 0) {
        uint32_t id = (uint32_t)strtoul((const char *)p, NULL, 10);
        g->tx[id & 3u] = id;
    }
}

/* The guest reads up to `max` bytes of its reply ring and checks whole messages. */
static void pull(struct fz *f, struct guest *g, uint32_t max)
{
    struct pvcore_xenstore_domain_interface *r = g->ring;
    uint32_t avail = r->rsp_prod - r->rsp_cons;
    if (avail > PVCORE_XENSTORE_RING_SIZE) {
        return; /* its own tampering */
    }
    if (avail > max) {
        avail = max;
    }
    if (avail > sizeof(g->asm_) - g->nasm) {
        avail = (uint32_t)sizeof(g->asm_) - g->nasm;
    }
    for (uint32_t i = 0; i < avail; i++) {
        g->asm_[g->nasm + i] = (uint8_t)r->rsp[PVCORE_MASK_XENSTORE_IDX(r->rsp_cons + i)];
    }
    r->rsp_cons += avail;
    g->nasm += avail;
    if (!g->synced) {
        g->nasm = 0;
        return;
    }
    while (g->nasm >= 16) {
        uint32_t len = rd32(g->asm_ + 12);
        if (len > PVCORE_XENSTORE_PAYLOAD_MAX) {
            die(f, "reply payload of %u bytes", len);
        }
        if (g->nasm < 16 + len) {
            break;
        }
        check_message(f, g, g->asm_);
        memmove(g->asm_, g->asm_ + 16 + len, g->nasm - 16 - len);
        g->nasm -= 16 + len;
    }
}

/* ---- well-formed requests ------------------------------------------------------------------ */

static const char *const paths[] = {
    "data", "data/a", "data/a/b", "data/b", "/local/domain/1/data", "/local/domain/1",
    "/local/domain/2/data/x", "/local/domain/2/data", "/", "/local", "device/vbd",
    "@releaseDomain", "data/../x", "data//x", "", "/local/domain/1/data/a/b/c",
    "/tool", "data/a-b_c@d", "data/\xc3\xa9", "/local/domain/0",
};

static const uint32_t types[] = {
    PVCORE_XS_READ, PVCORE_XS_WRITE, PVCORE_XS_MKDIR, PVCORE_XS_RM, PVCORE_XS_DIRECTORY,
    PVCORE_XS_DIRECTORY_PART, PVCORE_XS_GET_PERMS, PVCORE_XS_SET_PERMS, PVCORE_XS_WATCH,
    PVCORE_XS_UNWATCH, PVCORE_XS_TRANSACTION_START, PVCORE_XS_TRANSACTION_END,
    PVCORE_XS_GET_DOMAIN_PATH, PVCORE_XS_RESET_WATCHES, PVCORE_XS_IS_DOMAIN_INTRODUCED,
    PVCORE_XS_WRITE, PVCORE_XS_WRITE, PVCORE_XS_MKDIR,
};

/* Builds a payload for `type`: returns its length. `priv` keeps values within the quota
 * and ownership with the node's owner (see the file comment). */
static uint32_t build(struct fz *f, uint32_t type, bool priv, uint8_t *p)
{
    uint32_t n = 0;
    uint8_t sel = byte(f), extra = byte(f);
    const char *base = paths[(sel & 31u) % (sizeof(paths) / sizeof(paths[0]))];
    if (priv && base[0] != '/' && base[0] != '@') {
        base = "/local/domain/1/data"; /* domain 0's relative paths lead nowhere useful */
    }
    n = (uint32_t)strlen(base);
    memcpy(p, base, n);
    for (unsigned k = 0; k < (sel >> 5); k++) {
        static const char comp[] = "abcxyz0123456789";
        if (n == 1 && p[0] == '/') {
            n = 0;
        }
        p[n++] = '/';
        p[n++] = (uint8_t)comp[(extra >> (k * 2)) & 15u];
    }
    if ((extra & 0xC0) == 0xC0) { /* sometimes a long path */
        uint32_t want = 2000u + (uint32_t)byte(f) * 8u;
        p[n++] = '/';
        while (n < want) {
            p[n++] = 'L';
        }
    }
    p[n++] = 0;
    switch (type) {
    case PVCORE_XS_WRITE: {
        uint32_t vl = byte(f);
        if (vl == 0xFF) {
            vl = 3000;
        }
        if (priv && f->cfg.quota.value_bytes != 0 && vl > f->cfg.quota.value_bytes) {
            vl = f->cfg.quota.value_bytes;
        }
        for (uint32_t i = 0; i < vl && n < PVCORE_XENSTORE_PAYLOAD_MAX; i++) {
            p[n++] = (uint8_t)('a' + (i % 26u));
        }
        break;
    }
    case PVCORE_XS_SET_PERMS: {
        uint8_t k = byte(f);
        unsigned cnt = 1u + (k & 7u);
        for (unsigned i = 0; i < cnt; i++) {
            static const char letters[] = "nrwbx";
            uint8_t e = byte(f);
            unsigned dom = i == 0 && priv ? 0xFFFFu : (e >> 3) % 4u;
            if (dom == 0xFFFFu) {
                /* keep the owner: read it back from the server */
                char rep[64];
                size_t rl = 0;
                p[n - 1] = 0;
                if (pvcore_xenstore_call(f->xs, PVCORE_XS_GET_PERMS, p, strlen((char *)p) + 1,
                                         rep, sizeof(rep) - 1, &rl) == 0 && rl >= 2) {
                    rep[rl < sizeof(rep) - 1 ? rl : sizeof(rep) - 1] = 0;
                    dom = (unsigned)strtoul(rep + 1, NULL, 10);
                } else {
                    dom = 0;
                }
            }
            n += (uint32_t)snprintf((char *)p + n, 16, "%c%u", letters[e % (priv ? 4u : 5u)], dom);
            p[n++] = 0;
        }
        break;
    }
    case PVCORE_XS_WATCH:
    case PVCORE_XS_UNWATCH:
        p[n++] = (uint8_t)('A' + (extra & 3u));
        p[n++] = 0;
        break;
    case PVCORE_XS_DIRECTORY_PART:
        n += (uint32_t)snprintf((char *)p + n, 16, "%u", (unsigned)byte(f) * 16u);
        p[n++] = 0;
        break;
    case PVCORE_XS_TRANSACTION_END:
        n = 0;
        p[n++] = (uint8_t)("TFX"[extra % 3u]);
        p[n++] = 0;
        break;
    case PVCORE_XS_GET_DOMAIN_PATH:
    case PVCORE_XS_IS_DOMAIN_INTRODUCED:
        n = (uint32_t)snprintf((char *)p, 16, "%u", (unsigned)(extra % 4u));
        p[n++] = 0;
        break;
    case PVCORE_XS_TRANSACTION_START:
    case PVCORE_XS_RESET_WATCHES:
        n = 0;
        p[n++] = 0;
        break;
    default:
        break;
    }
    return n;
}

static void request(struct fz *f, unsigned d)
{
    struct guest *g = &f->g[d];
    uint8_t t = byte(f), txs = byte(f);
    uint32_t type = types[t % (sizeof(types) / sizeof(types[0]))];
    static uint8_t msg[MSG_MAX];
    uint32_t len = build(f, type, d == 0, msg + 16);
    uint32_t tx = (txs & 3u) == 0 ? 0u : (txs & 3u) == 3u ? txs : g->tx[txs & 3u];
    uint32_t id = ++g->req_id;
    if (len > PVCORE_XENSTORE_PAYLOAD_MAX) {
        len = PVCORE_XENSTORE_PAYLOAD_MAX; /* a well-formed request stays within the limit */
    }
    uint8_t must = 0;
    const uint8_t *z = memchr(msg + 16, 0, len);
    size_t pl = z == NULL ? len : (size_t)(z - (msg + 16));
    bool path_type = type == PVCORE_XS_READ || type == PVCORE_XS_WRITE || type == PVCORE_XS_MKDIR ||
                     type == PVCORE_XS_RM || type == PVCORE_XS_DIRECTORY ||
                     type == PVCORE_XS_GET_PERMS || type == PVCORE_XS_WATCH ||
                     type == PVCORE_XS_UNWATCH;
    if (path_type && (tx == 0 || type == PVCORE_XS_WATCH || type == PVCORE_XS_UNWATCH) && pl < len) {
        const char *q = (const char *)msg + 16;
        bool bad = pl == 0 || strstr(q, "..") != NULL || strstr(q, "//") != NULL ||
                   strchr(q, '\xc3') != NULL || (q[pl - 1] == '/' && pl > 1) ||
                   (q[0] == '@' && type != PVCORE_XS_WATCH && type != PVCORE_XS_UNWATCH &&
                    type != PVCORE_XS_GET_PERMS);
        if (bad) {
            must = 2;
        }
    }
    if (type == PVCORE_XS_WRITE && d != 0 && f->cfg.quota.value_bytes != 0 && pl < len &&
        len - pl - 1 > f->cfg.quota.value_bytes && must == 0) {
        must = 1;
    }
    memcpy(msg, &type, 4);
    memcpy(msg + 4, &id, 4);
    memcpy(msg + 8, &tx, 4);
    memcpy(msg + 12, &len, 4);
    if (g->npend + 16 + len <= sizeof(g->pend) && g->nexp < 64) {
        memcpy(g->pend + g->npend, msg, 16 + len);
        g->npend += 16 + len;
        g->exp[g->nexp].id = id;
        g->exp[g->nexp].type = type;
        g->exp[g->nexp].must = must;
        g->nexp++;
    }
    push_out(g);
}

/* ---- the oracle's walk of the tree ---------------------------------------------------------- */

struct walk {
    unsigned nodes;
    unsigned owned[NDOM];
};

static void walk(struct fz *f, char *path, size_t plen, struct walk *w, unsigned depth)
{
    static uint8_t rep[PVCORE_XENSTORE_PAYLOAD_MAX];
    size_t rl = 0;
    int rc = pvcore_xenstore_call(f->xs, PVCORE_XS_READ, path, plen + 1, rep, sizeof(rep), &rl);
    if (rc != 0) {
        die(f, "listed node %s does not read: %s", path, pvcore_strerror(rc));
    }
    if (f->cfg.quota.value_bytes != 0 && rl > f->cfg.quota.value_bytes) {
        die(f, "%s has a value of %zu bytes, over the quota", path, rl);
    }
    rc = pvcore_xenstore_call(f->xs, PVCORE_XS_GET_PERMS, path, plen + 1, rep, sizeof(rep), &rl);
    if (rc != 0 || rl < 3 || rep[rl - 1] != 0) {
        die(f, "permissions of %s: %s", path, pvcore_strerror(rc));
    }
    for (size_t off = 0; off < rl;) {
        size_t e = strlen((char *)rep + off);
        if (e < 2 || strchr("nrwb", rep[off]) == NULL || strspn((char *)rep + off + 1, "0123456789") != e - 1) {
            die(f, "permission string of %s", path);
        }
        if (off == 0) {
            unsigned long owner = strtoul((char *)rep + 1, NULL, 10);
            if (owner < NDOM) {
                w->owned[owner]++;
            }
        }
        off += e + 1;
    }
    if (++w->nodes > f->cfg.max_nodes) {
        die(f, "more nodes than the table holds");
    }
    static uint8_t dir[8][PVCORE_XENSTORE_PAYLOAD_MAX];
    if (depth >= 8) {
        return;
    }
    rc = pvcore_xenstore_call(f->xs, PVCORE_XS_DIRECTORY, path, plen + 1, dir[depth], sizeof(dir[depth]), &rl);
    if (rc == -PVCORE_E2BIG) {
        return;
    }
    if (rc != 0) {
        die(f, "directory of %s: %s", path, pvcore_strerror(rc));
    }
    for (size_t off = 0; off < rl;) {
        const char *name = (const char *)dir[depth] + off;
        size_t nl = strlen(name);
        size_t np = plen == 1 ? 1 + nl : plen + 1 + nl;
        if (nl == 0 || np > PVCORE_XENSTORE_ABS_PATH_MAX) {
            die(f, "child name of %s", path);
        }
        if (plen == 1) {
            memcpy(path + 1, name, nl + 1);
        } else {
            path[plen] = '/';
            memcpy(path + plen + 1, name, nl + 1);
        }
        walk(f, path, np, w, depth + 1);
        path[plen == 1 ? 1 : plen] = 0;
        off += nl + 1;
    }
}

static void walk_all(struct fz *f)
{
    static char path[PVCORE_XENSTORE_ABS_PATH_MAX + 2];
    struct walk w = { 0, { 0 } };
    strcpy(path, "/");
    walk(f, path, 1, &w, 0);
    for (unsigned d = 0; d < NDOM; d++) {
        struct pvcore_xenstore_conn_info in;
        if (f->g[d].c == NULL || pvcore_xenstore_query(f->g[d].c, &in) != 0) {
            continue;
        }
        /* The walk stops at depth 8 and at E2BIG lists, so it may see fewer. */
        if (w.owned[d] > in.nodes) {
            die(f, "domain %u owns %u nodes in the walk, %u by the server", d, w.owned[d], in.nodes);
        }
    }
}

/* ---- set-up ---------------------------------------------------------------------------------- */

static void setup(struct fz *f, uint8_t c)
{
    pvcore_xenstore_default_config(&f->cfg);
    if (c & 1u) {
        f->cfg.max_nodes = 24;
        f->cfg.arena_bytes = 2048;
        f->cfg.max_watches = 4;
        f->cfg.max_transactions = 2;
    } else {
        f->cfg.max_nodes = 256;
        f->cfg.arena_bytes = 48u * 1024u;
        f->cfg.max_watches = 32;
        f->cfg.max_transactions = 8;
    }
    f->cfg.max_conns = 4;
    f->cfg.out_bytes = PVCORE_XENSTORE_OUT_MIN + (c & 2u ? 0u : 8192u);
    switch ((c >> 2) & 3u) {
    case 1: /* tiny quotas */
        f->cfg.quota.nodes = 8;
        f->cfg.quota.value_bytes = 64;
        f->cfg.quota.watches = 2;
        f->cfg.quota.transactions = 1;
        f->cfg.quota.perms = 2;
        f->cfg.quota.path_bytes = 64;
        f->cfg.quota.tx_nodes = 4;
        break;
    case 2: /* none */
        memset(&f->cfg.quota, 0, sizeof(f->cfg.quota));
        break;
    default:
        break;
    }
    size_t sz = pvcore_xenstore_size(&f->cfg);
    f->mem = aligned_alloc(64, (sz + 63u) & ~(size_t)63u);
    if (f->mem == NULL || pvcore_xenstore_init(f->mem, sz, &f->cfg, &f->xs) != 0) {
        die(f, "init");
    }
    for (unsigned d = 0; d < NDOM; d++) {
        struct guest *g = &f->g[d];
        g->ring = aligned_alloc(4096, 4096);
        memset(g->ring, 0, 4096);
        g->synced = true;
        g->clean = true;
        if (pvcore_xenstore_connect(f->xs, g->ring, (uint16_t)d, d == 0, &g->c) != 0) {
            die(f, "connect");
        }
    }
    for (unsigned d = 1; d < NDOM; d++) {
        char b[64];
        int n = snprintf(b, sizeof(b), "/local/domain/%u", d);
        tcall(f, PVCORE_XS_MKDIR, b, (uint32_t)n + 1u);
        n = snprintf(b, sizeof(b), "/local/domain/%u%cn0%cr%u", d, 0, 0, d);
        tcall(f, PVCORE_XS_SET_PERMS, b, (uint32_t)n + 1u);
        if (f->cfg.max_nodes > 24) {
            n = snprintf(b, sizeof(b), "/local/domain/%u/data", d);
            tcall(f, PVCORE_XS_MKDIR, b, (uint32_t)n + 1u);
            n = snprintf(b, sizeof(b), "/local/domain/%u/data%cn%u", d, 0, d);
            tcall(f, PVCORE_XS_SET_PERMS, b, (uint32_t)n + 1u);
        }
    }
    check(f);
}

static void teardown(struct fz *f)
{
    for (unsigned d = 0; d < NDOM; d++) {
        free(f->g[d].ring);
    }
    free(f->mem);
}

/* One process() call for domain d, with its oracles. */
static void serve(struct fz *f, unsigned d)
{
    struct guest *g = &f->g[d];
    struct pvcore_xenstore_conn_info before, after;
    if (g->c == NULL) {
        return;
    }
    (void)pvcore_xenstore_query(g->c, &before);
    uint32_t req_prod = g->ring->req_prod;
    int rc = pvcore_xenstore_process(f->xs, g->c);
    (void)pvcore_xenstore_query(g->c, &after);
    if (rc >= 0) {
        if (g->ring->rsp_prod - g->ring->rsp_cons > PVCORE_XENSTORE_RING_SIZE) {
            die(f, "domain %u: reply ring overfilled", d);
        }
        if (req_prod - g->ring->req_cons > PVCORE_XENSTORE_RING_SIZE &&
            !(g->ring->req_prod == 0 && g->ring->req_cons == 0)) {
            die(f, "domain %u: request consumer %u past the producer %u", d, g->ring->req_cons,
                req_prod);
        }
    } else if (rc != -PVCORE_EIO) {
        die(f, "process: %d", rc);
    } else if (g->clean) {
        die(f, "domain %u: a well-behaved guest was disconnected (error %u)", d, after.error);
    }
    const struct pvcore_xenstore_quota *q = &f->cfg.quota;
    if (d != 0) {
        if (after.nodes > before.nodes && q->nodes != 0 && after.nodes > q->nodes) {
            die(f, "domain %u raised its nodes to %u, over the quota", d, after.nodes);
        }
        if (q->watches != 0 && after.watches > q->watches) {
            die(f, "domain %u has %u watches", d, after.watches);
        }
        if (q->transactions != 0 && after.transactions > q->transactions) {
            die(f, "domain %u has %u transactions", d, after.transactions);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz fz;
    struct fz *f = &fz;
    memset(f, 0, sizeof(*f));
    f->in = data;
    f->len = size;
    if (size < 1) {
        return 0;
    }
    setup(f, byte(f));
    while (f->pos < f->len && f->step < 2000) {
        uint8_t op = byte(f);
        unsigned d = (op >> 4) % NDOM;
        struct guest *g = &f->g[d];
        f->step++;
        switch (op & 15u) {
        case 0:
        case 1:
        case 2:
            request(f, d);
            serve(f, d);
            break;
        case 3:
        case 4:
            serve(f, d);
            pull(f, g, (op & 1u) ? 0xFFFFFFFFu : byte(f));
            push_out(g);
            break;
        case 5:
            if (d != 0) { /* raw bytes */
                uint32_t n = byte(f);
                struct pvcore_xenstore_domain_interface *r = g->ring;
                for (uint32_t i = 0; i < n && f->pos < f->len; i++) {
                    r->req[PVCORE_MASK_XENSTORE_IDX(r->req_prod)] = (char)byte(f);
                    r->req_prod++;
                }
                g->npend = 0;
                g->clean = false;
                g->nexp = 0;
            }
            break;
        case 6:
            if (d != 0) { /* hostile index */
                uint32_t v = (uint32_t)byte(f) | (uint32_t)byte(f) << 8 | (uint32_t)byte(f) << 24;
                uint8_t which = byte(f);
                uint32_t *idx[4] = { &g->ring->req_cons, &g->ring->req_prod, &g->ring->rsp_cons,
                                     &g->ring->rsp_prod };
                *idx[which & 3u] += (which & 4u) ? v : (uint32_t)(int8_t)v;
                g->synced = false;
                g->npend = 0;
                g->clean = false;
                g->nexp = 0;
            }
            break;
        case 7:
            if (d != 0) { /* reset request */
                g->ring->connection = PVCORE_XENSTORE_RECONNECT;
                serve(f, d);
                if (g->ring->connection == PVCORE_XENSTORE_CONNECTED && g->ring->rsp_prod == 0) {
                    g->synced = true;
                    g->clean = true;
                    g->nasm = 0;
                    g->npend = 0;
                    g->nexp = 0;
                }
            }
            break;
        case 8: { /* the toolstack */
            static uint8_t p[MSG_MAX];
            uint8_t t = byte(f);
            uint32_t type = types[t % (sizeof(types) / sizeof(types[0]))];
            uint32_t n = build(f, type, true, p);
            int rc = pvcore_xenstore_call(f->xs, type, p, n, NULL, 0, NULL);
            if (rc > 0) {
                die(f, "call returned %d", rc);
            }
            break;
        }
        case 9:
            if (d != 0 && (byte(f) & 7u) == 0) { /* reconnect */
                pvcore_xenstore_disconnect(f->xs, g->c);
                g->c = NULL;
                check(f);
                memset(g->ring, 0, 4096);
                if (pvcore_xenstore_connect(f->xs, g->ring, (uint16_t)d, false, &g->c) != 0) {
                    die(f, "reconnect");
                }
                g->synced = true;
                g->clean = true;
                g->nasm = g->npend = 0;
                g->nexp = 0;
                memset(g->tx, 0, sizeof(g->tx));
            }
            break;
        default:
            for (unsigned k = 0; k < NDOM; k++) {
                serve(f, k);
                pull(f, &f->g[k], 0xFFFFFFFFu);
                push_out(&f->g[k]);
            }
            break;
        }
        check(f);
        if ((f->step & 31u) == 0) {
            walk_all(f);
        }
    }
    for (unsigned k = 0; k < NDOM; k++) {
        serve(f, k);
        pull(f, &f->g[k], 0xFFFFFFFFu);
    }
    check(f);
    walk_all(f);
    teardown(f);
    return 0;
}
