/*
 * The xenstore server (<pvcore/xenstore.h>) through its guests' rings, written as an
 * attacker would: every request and every error it can give, permissions across two
 * domains, watches and their events, transactions and their conflicts, each quota,
 * malformed messages and paths, hostile ring indices, backpressure, resets. After each
 * test the server's invariant checker runs.
 *
 * Three connections: domain 0 (privileged) and domains 1 and 2 (guests), whose
 * /local/domain/<id> the toolstack (pvcore_xenstore_call()) creates as libxl does (owner 0,
 * readable by the guest) with a data/ directory the guest owns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/error.h>
#include <pvcore/xenstore.h>

#define NDOM 3
#define MAXEV 256

/* A guest's side of its ring: reassembly of what the server wrote. */
struct guest {
    struct pvcore_xenstore_domain_interface *ring;
    uint8_t buf[2 * (16 + PVCORE_XENSTORE_PAYLOAD_MAX)];
    uint32_t have;
    char ev[MAXEV][2][PVCORE_XENSTORE_PAYLOAD_MAX + 1]; /* events received: path, token */
    unsigned nev, evpos;
};

struct xt {
    struct pvcore_xenstore_config cfg;
    void *mem;
    struct pvcore_xenstore *xs;
    struct pvcore_xenstore_conn *c[NDOM];
    struct guest g[NDOM];
    uint32_t req_id;
};

struct reply {
    uint32_t type, req_id, tx_id, len;
    uint8_t data[PVCORE_XENSTORE_PAYLOAD_MAX + 1];
};

/* Payloads: S() with the literal's final NUL, V() without it (a WRITE's value). */
#define S(lit) (lit), (uint32_t)sizeof(lit)
#define V(lit) (lit), (uint32_t)(sizeof(lit) - 1u)

static void check_invariants(const struct xt *t)
{
    const char *what = NULL;
    int rc = pvcore_xenstore_check(t->xs, &what);
    if (rc != 0) {
        fail_msg("invariant broken: %s", what != NULL ? what : "?");
    }
}

static void tcall(struct xt *t, uint32_t type, const char *p, uint32_t n)
{
    int rc = pvcore_xenstore_call(t->xs, type, p, n, NULL, 0, NULL);
    if (rc != 0) {
        fail_msg("toolstack call %u '%s' failed: %s", type, p, pvcore_strerror(rc));
    }
}

static void make_domain(struct xt *t, unsigned id)
{
    char buf[128];
    int n;
    n = snprintf(buf, sizeof(buf), "/local/domain/%u", id);
    tcall(t, PVCORE_XS_MKDIR, buf, (uint32_t)n + 1u);
    n = snprintf(buf, sizeof(buf), "/local/domain/%u%cn0%cr%u", id, 0, 0, id);
    tcall(t, PVCORE_XS_SET_PERMS, buf, (uint32_t)n + 1u);
    n = snprintf(buf, sizeof(buf), "/local/domain/%u/data", id);
    tcall(t, PVCORE_XS_MKDIR, buf, (uint32_t)n + 1u);
    n = snprintf(buf, sizeof(buf), "/local/domain/%u/data%cn%u", id, 0, id);
    tcall(t, PVCORE_XS_SET_PERMS, buf, (uint32_t)n + 1u);
}

static struct xt *xt_new(const struct pvcore_xenstore_config *cfg, bool domains)
{
    struct xt *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    if (cfg != NULL) {
        t->cfg = *cfg;
    } else {
        pvcore_xenstore_default_config(&t->cfg);
        t->cfg.max_nodes = 512;
        t->cfg.arena_bytes = 128u * 1024u;
        t->cfg.max_conns = 4;
        t->cfg.max_watches = 64;
        t->cfg.max_transactions = 16;
    }
    size_t sz = pvcore_xenstore_size(&t->cfg);
    assert_true(sz > 0);
    t->mem = aligned_alloc(64, (sz + 63u) & ~(size_t)63u);
    assert_non_null(t->mem);
    assert_int_equal(pvcore_xenstore_init(t->mem, sz, &t->cfg, &t->xs), 0);
    for (unsigned d = 0; d < NDOM; d++) {
        t->g[d].ring = aligned_alloc(4096, 4096);
        assert_non_null(t->g[d].ring);
        memset(t->g[d].ring, 0, 4096);
        assert_int_equal(pvcore_xenstore_connect(t->xs, t->g[d].ring, (uint16_t)d, d == 0, &t->c[d]), 0);
    }
    if (domains) {
        make_domain(t, 1);
        make_domain(t, 2);
    }
    check_invariants(t);
    return t;
}

static void xt_free(struct xt *t)
{
    check_invariants(t);
    for (unsigned d = 0; d < NDOM; d++) {
        free(t->g[d].ring);
    }
    free(t->mem);
    free(t);
}

/* ---- the guest side of the ring -------------------------------------------------------------- */

/* Writes as much of p[0..n) into the request ring as fits; returns the bytes written. */
static uint32_t g_put(struct guest *g, const void *p, uint32_t n)
{
    struct pvcore_xenstore_domain_interface *r = g->ring;
    uint32_t space = PVCORE_XENSTORE_RING_SIZE - (r->req_prod - r->req_cons);
    uint32_t k = n < space ? n : space;
    for (uint32_t i = 0; i < k; i++) {
        r->req[PVCORE_MASK_XENSTORE_IDX(r->req_prod + i)] = ((const char *)p)[i];
    }
    r->req_prod += k;
    return k;
}

/* Moves what the server wrote into the reassembly buffer. */
static void g_pull(struct guest *g)
{
    struct pvcore_xenstore_domain_interface *r = g->ring;
    uint32_t avail = r->rsp_prod - r->rsp_cons;
    assert_true(avail <= PVCORE_XENSTORE_RING_SIZE); /* the server never overfills */
    uint32_t room = (uint32_t)sizeof(g->buf) - g->have;
    uint32_t k = avail < room ? avail : room;
    for (uint32_t i = 0; i < k; i++) {
        g->buf[g->have + i] = (uint8_t)r->rsp[PVCORE_MASK_XENSTORE_IDX(r->rsp_cons + i)];
    }
    r->rsp_cons += k;
    g->have += k;
}

/* Takes one whole message out of the reassembly buffer. */
static bool g_msg(struct guest *g, struct reply *m)
{
    if (g->have < 16) {
        return false;
    }
    memcpy(&m->type, g->buf, 4);
    memcpy(&m->req_id, g->buf + 4, 4);
    memcpy(&m->tx_id, g->buf + 8, 4);
    memcpy(&m->len, g->buf + 12, 4);
    assert_true(m->len <= PVCORE_XENSTORE_PAYLOAD_MAX);
    if (g->have < 16 + m->len) {
        return false;
    }
    memcpy(m->data, g->buf + 16, m->len);
    m->data[m->len] = 0;
    memmove(g->buf, g->buf + 16 + m->len, g->have - 16 - m->len);
    g->have -= 16 + m->len;
    return true;
}

static void record_event(struct guest *g, const struct reply *m)
{
    assert_int_equal(m->req_id, 0);
    assert_int_equal(m->tx_id, 0);
    assert_true(m->len >= 2 && m->data[m->len - 1] == 0);
    size_t pl = strlen((const char *)m->data);
    assert_true(pl + 1 < m->len);
    assert_int_equal(pl + 1 + strlen((const char *)m->data + pl + 1) + 1, m->len);
    assert_true(g->nev < MAXEV);
    strcpy(g->ev[g->nev][0], (const char *)m->data);
    strcpy(g->ev[g->nev][1], (const char *)m->data + pl + 1);
    g->nev++;
}

/* Runs the server for domain d and collects its events; returns process()'s result. */
static int pump(struct xt *t, unsigned d)
{
    struct reply m;
    int rc = 0;
    for (int i = 0; i < 64; i++) {
        rc = pvcore_xenstore_process(t->xs, t->c[d]);
        if (rc < 0) {
            return rc;
        }
        g_pull(&t->g[d]);
        while (g_msg(&t->g[d], &m)) {
            assert_int_equal(m.type, PVCORE_XS_WATCH_EVENT);
            record_event(&t->g[d], &m);
        }
        if (!pvcore_xenstore_conn_pending(t->c[d]) && (rc & PVCORE_XENSTORE_AGAIN) == 0) {
            break;
        }
    }
    return rc;
}

/* Sends a raw message (any header) and returns the reply to it; events go to the list. */
static void rpc_raw(struct xt *t, unsigned d, uint32_t type, uint32_t req_id, uint32_t tx,
                    const void *p, uint32_t n, struct reply *out)
{
    struct guest *g = &t->g[d];
    uint8_t msg[16 + PVCORE_XENSTORE_PAYLOAD_MAX];
    assert_true(n <= PVCORE_XENSTORE_PAYLOAD_MAX);
    memcpy(msg, &type, 4);
    memcpy(msg + 4, &req_id, 4);
    memcpy(msg + 8, &tx, 4);
    memcpy(msg + 12, &n, 4);
    memcpy(msg + 16, p, n);
    uint32_t sent = 0;
    for (int i = 0; i < 1000; i++) {
        sent += g_put(g, msg + sent, 16 + n - sent);
        int rc = pvcore_xenstore_process(t->xs, t->c[d]);
        assert_true(rc >= 0);
        g_pull(g);
        while (g_msg(g, out)) {
            if (out->type == PVCORE_XS_WATCH_EVENT) {
                record_event(g, out);
                continue;
            }
            assert_int_equal(out->req_id, req_id);
            assert_int_equal(out->tx_id, tx);
            return;
        }
    }
    fail_msg("no reply");
}

static void rpc(struct xt *t, unsigned d, uint32_t type, uint32_t tx, const void *p, uint32_t n,
                struct reply *out)
{
    rpc_raw(t, d, type, ++t->req_id, tx, p, n, out);
}

static void expect_reply_(struct xt *t, unsigned d, uint32_t type, uint32_t tx, const void *p,
                          uint32_t n, const void *want, uint32_t wlen, const char *file, int line)
{
    struct reply m;
    rpc(t, d, type, tx, p, n, &m);
    if (m.type != type || m.len != wlen || memcmp(m.data, want, wlen) != 0) {
        fail_msg("%s:%d: request %u '%s' from domain %u: got type %u len %u '%s', want type %u "
                 "len %u '%s'", file, line, type, (const char *)p, d, m.type, m.len,
                 (const char *)m.data, type, wlen, (const char *)want);
    }
}

static void expect_err_(struct xt *t, unsigned d, uint32_t type, uint32_t tx, const void *p,
                        uint32_t n, const char *err, const char *file, int line)
{
    struct reply m;
    rpc(t, d, type, tx, p, n, &m);
    if (m.type != PVCORE_XS_ERROR || m.len != strlen(err) + 1 || strcmp((const char *)m.data, err) != 0) {
        fail_msg("%s:%d: request %u '%s' from domain %u: got type %u '%s', want error %s", file,
                 line, type, (const char *)p, d, m.type, (const char *)m.data, err);
    }
}

/* REPLY(d, type, tx, payload, len, want, wlen); OK(d, type, tx, payload, len);
 * ERR(d, type, tx, payload, len, "ENAME"); payload and len may come from S() or V(). */
#define REPLY(d, type, tx, ...) expect_reply_(t, d, type, tx, __VA_ARGS__, __FILE__, __LINE__)
#define OK(d, type, tx, ...) expect_reply_(t, d, type, tx, __VA_ARGS__, "OK", 3, __FILE__, __LINE__)
#define ERR(d, type, tx, ...) expect_err_(t, d, type, tx, __VA_ARGS__, __FILE__, __LINE__)
#define READS(d, tx, path, value) REPLY(d, PVCORE_XS_READ, tx, S(path), V(value))

static void expect_event_(struct xt *t, unsigned d, const char *path, const char *token,
                          const char *file, int line)
{
    struct guest *g = &t->g[d];
    pump(t, d);
    if (g->evpos >= g->nev) {
        fail_msg("%s:%d: domain %u: no event, want %s %s", file, line, d, path, token);
    }
    if (strcmp(g->ev[g->evpos][0], path) != 0 || strcmp(g->ev[g->evpos][1], token) != 0) {
        fail_msg("%s:%d: domain %u: event %s %s, want %s %s", file, line, d, g->ev[g->evpos][0],
                 g->ev[g->evpos][1], path, token);
    }
    g->evpos++;
}

static void expect_no_event_(struct xt *t, unsigned d, const char *file, int line)
{
    struct guest *g = &t->g[d];
    pump(t, d);
    if (g->evpos < g->nev) {
        fail_msg("%s:%d: domain %u: unexpected event %s %s", file, line, d, g->ev[g->evpos][0],
                 g->ev[g->evpos][1]);
    }
}

#define EVENT(d, path, token) expect_event_(t, d, path, token, __FILE__, __LINE__)
#define NO_EVENT(d) expect_no_event_(t, d, __FILE__, __LINE__)

static uint32_t start_tx(struct xt *t, unsigned d)
{
    struct reply m;
    rpc(t, d, PVCORE_XS_TRANSACTION_START, 0, S(""), &m);
    assert_int_equal(m.type, PVCORE_XS_TRANSACTION_START);
    assert_true(m.len >= 2 && m.data[m.len - 1] == 0);
    uint32_t id = (uint32_t)strtoul((const char *)m.data, NULL, 10);
    assert_true(id != 0);
    return id;
}

static struct pvcore_xenstore_conn_info info(struct xt *t, unsigned d)
{
    struct pvcore_xenstore_conn_info i;
    assert_int_equal(pvcore_xenstore_query(t->c[d], &i), 0);
    return i;
}

/* ---- set-up and the toolstack API ----------------------------------------------------------- */

static void test_config_and_init(void **state)
{
    (void)state;
    struct pvcore_xenstore_config cfg;
    pvcore_xenstore_default_config(&cfg);
    assert_int_equal(cfg.quota.nodes, 1000);
    assert_int_equal(cfg.quota.watches, 128);
    assert_int_equal(cfg.quota.transactions, 10);
    assert_int_equal(cfg.quota.perms, 5);
    assert_int_equal(cfg.quota.value_bytes, 2048);
    assert_int_equal(cfg.quota.path_bytes, 2048);
    size_t sz = pvcore_xenstore_size(&cfg);
    assert_true(sz > cfg.arena_bytes);
    assert_int_equal(pvcore_xenstore_size(NULL), 0);
    struct pvcore_xenstore_config bad = cfg;
    bad.max_nodes = 1;
    assert_int_equal(pvcore_xenstore_size(&bad), 0);
    bad = cfg;
    bad.out_bytes = PVCORE_XENSTORE_OUT_MIN - 1;
    assert_int_equal(pvcore_xenstore_size(&bad), 0);
    bad = cfg;
    bad.max_conns = 0;
    assert_int_equal(pvcore_xenstore_size(&bad), 0);
    bad = cfg;
    bad.max_transactions = 65536;
    assert_int_equal(pvcore_xenstore_size(&bad), 0);

    uint8_t *mem = aligned_alloc(64, (sz + 63u) & ~(size_t)63u);
    struct pvcore_xenstore *xs = NULL;
    assert_int_equal(pvcore_xenstore_init(mem, sz - 1, &cfg, &xs), -PVCORE_EINVAL);
    assert_int_equal(pvcore_xenstore_init(mem + 4, sz, &cfg, &xs), -PVCORE_EINVAL);
    assert_int_equal(pvcore_xenstore_init(NULL, sz, &cfg, &xs), -PVCORE_EINVAL);
    assert_int_equal(pvcore_xenstore_init(mem, sz, &bad, &xs), -PVCORE_EINVAL);
    assert_int_equal(pvcore_xenstore_init(mem, sz, &cfg, NULL), -PVCORE_EINVAL);
    assert_null(xs);
    assert_int_equal(pvcore_xenstore_init(mem, sz, &cfg, &xs), 0);
    assert_int_equal(pvcore_xenstore_check(xs, NULL), 0);

    /* The root alone: n0, no children, empty value. */
    char rep[64];
    size_t rl = 99;
    assert_int_equal(pvcore_xenstore_call(xs, PVCORE_XS_GET_PERMS, S("/"), rep, sizeof(rep), &rl), 0);
    assert_int_equal(rl, 3);
    assert_memory_equal(rep, "n0", 3);
    assert_int_equal(pvcore_xenstore_call(xs, PVCORE_XS_DIRECTORY, S("/"), rep, sizeof(rep), &rl), 0);
    assert_int_equal(rl, 0);
    assert_int_equal(pvcore_xenstore_call(xs, PVCORE_XS_READ, S("/"), rep, sizeof(rep), &rl), 0);
    assert_int_equal(rl, 0);
    /* Toolstack calls: errors come back negated; a cut reply reports its full length. */
    assert_int_equal(pvcore_xenstore_call(xs, PVCORE_XS_READ, S("/nope"), rep, sizeof(rep), &rl),
                     -PVCORE_ENOENT);
    assert_int_equal(pvcore_xenstore_call(xs, PVCORE_XS_WRITE, V("/a\0hello world"), NULL, 0, NULL), 0);
    memset(rep, 0, sizeof(rep));
    assert_int_equal(pvcore_xenstore_call(xs, PVCORE_XS_READ, S("/a"), rep, 5, &rl), 0);
    assert_int_equal(rl, 11);
    assert_memory_equal(rep, "hello", 5);
    assert_int_equal(rep[5], 0);
    assert_int_equal(pvcore_xenstore_call(xs, PVCORE_XS_WATCH, S("/a\0t"), NULL, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(pvcore_xenstore_call(xs, PVCORE_XS_TRANSACTION_START, S(""), NULL, 0, NULL),
                     -PVCORE_EINVAL);
    assert_int_equal(pvcore_xenstore_call(xs, PVCORE_XS_RESET_WATCHES, S(""), NULL, 0, NULL),
                     -PVCORE_EINVAL);
    assert_int_equal(pvcore_xenstore_call(NULL, PVCORE_XS_READ, S("/a"), NULL, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(pvcore_xenstore_call(xs, PVCORE_XS_READ, NULL, 4, NULL, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(pvcore_xenstore_call(xs, PVCORE_XS_READ, S("/a"), NULL, 4, NULL), -PVCORE_EINVAL);
    assert_int_equal(pvcore_xenstore_call(xs, PVCORE_XS_READ, rep, PVCORE_XENSTORE_PAYLOAD_MAX + 1,
                                          NULL, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(pvcore_xenstore_check(xs, NULL), 0);
    free(mem);
}

static void test_connect(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, false);
    struct pvcore_xenstore_domain_interface *r = aligned_alloc(4096, 4096);
    struct pvcore_xenstore_conn *c = NULL, *c2 = NULL;
    memset(r, 0, 4096);
    /* Features advertised; nothing else touched. */
    assert_int_equal(t->g[1].ring->server_features,
                     PVCORE_XENSTORE_SERVER_FEATURE_RECONNECTION | PVCORE_XENSTORE_SERVER_FEATURE_ERROR);
    assert_int_equal(pvcore_xenstore_connect(t->xs, r, 1, false, &c), -PVCORE_EEXIST);
    assert_int_equal(pvcore_xenstore_connect(t->xs, NULL, 5, false, &c), -PVCORE_EINVAL);
    assert_int_equal(pvcore_xenstore_connect(NULL, r, 5, false, &c), -PVCORE_EINVAL);
    assert_int_equal(pvcore_xenstore_connect(t->xs, r, 5, false, &c), 0);
    assert_int_equal(pvcore_xenstore_connect(t->xs, r, 6, false, &c2), -PVCORE_ENOSPC);
    pvcore_xenstore_disconnect(t->xs, c);
    assert_int_equal(pvcore_xenstore_process(t->xs, c), -PVCORE_EINVAL);
    assert_int_equal(pvcore_xenstore_connect(t->xs, r, 6, false, &c2), 0);
    assert_int_equal(pvcore_xenstore_process(t->xs, c2), 0);
    assert_int_equal(pvcore_xenstore_process(t->xs, NULL), -PVCORE_EINVAL);
    struct pvcore_xenstore_conn_info i;
    assert_int_equal(pvcore_xenstore_query(c2, &i), 0);
    assert_int_equal(i.domid, 6);
    assert_int_equal(i.privileged, 0);
    assert_int_equal(pvcore_xenstore_query(c2, NULL), -PVCORE_EINVAL);
    pvcore_xenstore_disconnect(t->xs, c2);
    pvcore_xenstore_disconnect(t->xs, NULL);
    free(r);
    xt_free(t);
}

/* ---- GRUB ------------------------------------------------------------------------------------ */

/* GRUB's first request, byte for byte: DIRECTORY "device/vbd", relative to its domain. */
static void test_grub_directory(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    struct reply m;
    static const uint8_t grub_msg[16 + 11] = {
        1, 0, 0, 0,    /* XS_DIRECTORY */
        0x2a, 0, 0, 0, /* req_id */
        0, 0, 0, 0,    /* tx_id */
        11, 0, 0, 0,   /* len */
        'd', 'e', 'v', 'i', 'c', 'e', '/', 'v', 'b', 'd', 0,
    };
    struct guest *g = &t->g[1];
    assert_int_equal(g_put(g, grub_msg, sizeof(grub_msg)), sizeof(grub_msg));
    int rc = pvcore_xenstore_process(t->xs, t->c[1]);
    assert_int_equal(rc, PVCORE_XENSTORE_NOTIFY);
    assert_int_equal(g->ring->req_cons, g->ring->req_prod);
    g_pull(g);
    assert_true(g_msg(g, &m));
    assert_int_equal(m.type, PVCORE_XS_ERROR);
    assert_int_equal(m.req_id, 0x2a);
    assert_int_equal(m.tx_id, 0);
    assert_int_equal(m.len, 7);
    assert_string_equal((const char *)m.data, "ENOENT");
    /* With the directory there (a toolstack that set up no disks), an empty list. */
    tcall(t, PVCORE_XS_MKDIR, S("/local/domain/1/device/vbd"));
    rpc(t, 1, PVCORE_XS_DIRECTORY, 0, S("device/vbd"), &m);
    assert_int_equal(m.type, PVCORE_XS_DIRECTORY);
    assert_int_equal(m.len, 0);
    /* With a disk, its name. */
    tcall(t, PVCORE_XS_MKDIR, S("/local/domain/1/device/vbd/51712"));
    REPLY(1, PVCORE_XS_DIRECTORY, 0, S("device/vbd"), S("51712"));
    /* Without a /local/domain/1 readable by it, the guest learns nothing: EACCES. */
    tcall(t, PVCORE_XS_RM, S("/local/domain/1"));
    ERR(1, PVCORE_XS_DIRECTORY, 0, S("device/vbd"), "EACCES");
    xt_free(t);
}

/* ---- the database operations ------------------------------------------------------------------ */

static void test_read_write(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    OK(1, PVCORE_XS_WRITE, 0, V("data/x\0value-1"));
    READS(1, 0, "data/x", "value-1");
    READS(1, 0, "/local/domain/1/data/x", "value-1");
    READS(0, 0, "/local/domain/1/data/x", "value-1");
    /* Binary values with NULs, and empty ones. */
    OK(1, PVCORE_XS_WRITE, 0, "data/bin\0a\0b\0", 13);
    REPLY(1, PVCORE_XS_READ, 0, S("data/bin"), "a\0b\0", 4);
    OK(1, PVCORE_XS_WRITE, 0, V("data/empty\0"));
    REPLY(1, PVCORE_XS_READ, 0, S("data/empty"), "", 0);
    /* Overwrite. */
    OK(1, PVCORE_XS_WRITE, 0, V("data/x\0v2"));
    READS(1, 0, "data/x", "v2");
    /* WRITE creates missing parents, with empty values. */
    OK(1, PVCORE_XS_WRITE, 0, V("data/a/b/c\0deep"));
    READS(1, 0, "data/a/b/c", "deep");
    READS(1, 0, "data/a/b", "");
    READS(1, 0, "data/a", "");
    REPLY(1, PVCORE_XS_DIRECTORY, 0, S("data/a"), S("b"));
    ERR(1, PVCORE_XS_READ, 0, S("data/nope"), "ENOENT");
    ERR(1, PVCORE_XS_READ, 0, S("data/a/b/c/d"), "ENOENT");
    /* A value of the largest payload, through the ring in pieces (bigger than the ring). */
    static char big[PVCORE_XENSTORE_PAYLOAD_MAX];
    memset(big, 'q', sizeof(big));
    memcpy(big, "/big", 5);
    OK(0, PVCORE_XS_WRITE, 0, big, sizeof(big));
    struct reply m;
    rpc(t, 0, PVCORE_XS_READ, 0, S("/big"), &m);
    assert_int_equal(m.type, PVCORE_XS_READ);
    assert_int_equal(m.len, sizeof(big) - 5);
    assert_memory_equal(m.data, big + 5, sizeof(big) - 5);
    xt_free(t);
}

static void test_mkdir_rm(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    OK(1, PVCORE_XS_MKDIR, 0, S("data/d1/d2"));
    READS(1, 0, "data/d1/d2", "");
    OK(1, PVCORE_XS_WRITE, 0, V("data/d1\0keep"));
    OK(1, PVCORE_XS_MKDIR, 0, S("data/d1")); /* exists: fine, value kept */
    READS(1, 0, "data/d1", "keep");
    /* MKDIR of an existing node the caller cannot write: EACCES (xenstored). */
    ERR(1, PVCORE_XS_MKDIR, 0, S("/local/domain/1"), "EACCES");
    OK(1, PVCORE_XS_WRITE, 0, V("data/d1/d2/f\0x"));
    OK(1, PVCORE_XS_RM, 0, S("data/d1"));
    ERR(1, PVCORE_XS_READ, 0, S("data/d1"), "ENOENT");
    ERR(1, PVCORE_XS_READ, 0, S("data/d1/d2/f"), "ENOENT");
    REPLY(1, PVCORE_XS_DIRECTORY, 0, S("data"), "", 0);
    /* Missing node with an existing parent: OK; without a parent: ENOENT. */
    OK(1, PVCORE_XS_RM, 0, S("data/gone"));
    ERR(1, PVCORE_XS_RM, 0, S("data/gone/deeper"), "ENOENT");
    /* The root: EACCES for a guest (it may not write it), EINVAL for the toolstack. */
    ERR(1, PVCORE_XS_RM, 0, S("/"), "EACCES");
    ERR(0, PVCORE_XS_RM, 0, S("/"), "EINVAL");
    /* A guest may not remove what it cannot write. */
    ERR(1, PVCORE_XS_RM, 0, S("/local/domain/1"), "EACCES");
    ERR(2, PVCORE_XS_RM, 0, S("/local/domain/1/data"), "EACCES");
    READS(1, 0, "data", "");
    xt_free(t);
}

static void test_directory(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    OK(1, PVCORE_XS_WRITE, 0, V("data/one\0"));
    OK(1, PVCORE_XS_WRITE, 0, V("data/two/three\0"));
    struct reply m;
    rpc(t, 1, PVCORE_XS_DIRECTORY, 0, S("data"), &m);
    assert_int_equal(m.type, PVCORE_XS_DIRECTORY);
    assert_int_equal(m.len, 8);
    /* Two names, each NUL-terminated, in some order. */
    assert_true((memcmp(m.data, "one\0two\0", 8) == 0) || (memcmp(m.data, "two\0one\0", 8) == 0));
    REPLY(0, PVCORE_XS_DIRECTORY, 0, S("/local/domain"), "1\0" "2\0", 4);
    ERR(1, PVCORE_XS_DIRECTORY, 0, S("data/one/x"), "ENOENT");
    ERR(2, PVCORE_XS_DIRECTORY, 0, S("/local/domain/1/data"), "EACCES");
    /* A list longer than a payload: E2BIG; DIRECTORY_PART serves it in slices. */
    char path[200];
    for (int i = 0; i < 40; i++) {
        int n = snprintf(path, sizeof(path), "/long/%03d-%0120d", i, 0);
        tcall(t, PVCORE_XS_MKDIR, path, (uint32_t)n + 1u);
    }
    ERR(0, PVCORE_XS_DIRECTORY, 0, S("/long"), "E2BIG");
    char all[40 * 125 + 1];
    size_t got = 0;
    char gen0[32] = "";
    for (int round = 0; round < 10; round++) {
        char req[64];
        int n = snprintf(req, sizeof(req), "/long%c%zu", 0, got);
        rpc(t, 0, PVCORE_XS_DIRECTORY_PART, 0, req, (uint32_t)n + 1u, &m);
        assert_int_equal(m.type, PVCORE_XS_DIRECTORY_PART);
        size_t gl = strlen((const char *)m.data);
        if (round == 0) {
            strcpy(gen0, (const char *)m.data);
        }
        assert_string_equal((const char *)m.data, gen0); /* unchanged node: same generation */
        size_t dl = m.len - gl - 1;
        assert_true(dl >= 1);
        bool last = m.data[m.len - 1] == 0 && m.data[m.len - 2] == 0;
        memcpy(all + got, m.data + gl + 1, last ? dl - 1 : dl);
        got += last ? dl - 1 : dl;
        if (last) {
            break;
        }
    }
    assert_int_equal(got, 40 * 125);
    for (size_t off = 0; off < got; off += 125) {
        assert_int_equal(all[off + 124], 0);
        assert_int_equal(strlen(all + off), 124);
    }
    /* Offset past the end: the generation and an empty string. */
    rpc(t, 0, PVCORE_XS_DIRECTORY_PART, 0, S("/long\0" "99999"), &m);
    assert_int_equal(m.len, strlen(gen0) + 2);
    ERR(0, PVCORE_XS_DIRECTORY_PART, 0, S("/long"), "EINVAL");
    ERR(0, PVCORE_XS_DIRECTORY_PART, 0, S("/long\0x"), "EINVAL");
    /* A change gives a new generation. */
    tcall(t, PVCORE_XS_MKDIR, S("/long/new"));
    rpc(t, 0, PVCORE_XS_DIRECTORY_PART, 0, S("/long\0" "0"), &m);
    assert_string_not_equal((const char *)m.data, gen0);
    xt_free(t);
}

static void test_get_domain_path_and_misc(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    REPLY(1, PVCORE_XS_GET_DOMAIN_PATH, 0, S("1"), S("/local/domain/1"));
    REPLY(1, PVCORE_XS_GET_DOMAIN_PATH, 0, S("65535"), S("/local/domain/65535"));
    REPLY(2, PVCORE_XS_GET_DOMAIN_PATH, 0, S("0"), S("/local/domain/0"));
    ERR(1, PVCORE_XS_GET_DOMAIN_PATH, 0, S("65536"), "EINVAL");
    ERR(1, PVCORE_XS_GET_DOMAIN_PATH, 0, S("abc"), "EINVAL");
    ERR(1, PVCORE_XS_GET_DOMAIN_PATH, 0, S(""), "EINVAL");
    ERR(1, PVCORE_XS_GET_DOMAIN_PATH, 0, "1", 1, "EINVAL"); /* no NUL */
    /* Types that do not exist or are not requests. */
    ERR(1, 20, 0, S("/"), "ENOSYS");
    ERR(1, PVCORE_XS_TYPE_COUNT, 0, S("/"), "ENOSYS");
    ERR(1, PVCORE_XS_INVALID, 0, S("/"), "ENOSYS");
    ERR(1, 0xFFFFFFFFu, 0, S("/"), "ENOSYS");
    ERR(1, PVCORE_XS_WATCH_EVENT, 0, S("/\0t"), "ENOSYS");
    ERR(1, PVCORE_XS_ERROR, 0, S("EINVAL"), "ENOSYS");
    /* The toolstack's requests: EACCES for a guest, ENOSYS for a privileged connection
     * (the embedder does these through the API). */
    static const uint32_t priv[] = { PVCORE_XS_CONTROL, PVCORE_XS_INTRODUCE, PVCORE_XS_RELEASE,
                                     PVCORE_XS_RESUME, PVCORE_XS_SET_TARGET,
                                     PVCORE_XS_IS_DOMAIN_INTRODUCED };
    for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
        ERR(1, priv[i], 0, S("1"), "EACCES");
    }
    for (size_t i = 0; i + 1 < sizeof(priv) / sizeof(priv[0]); i++) {
        ERR(0, priv[i], 0, S("1"), "ENOSYS");
    }
    REPLY(0, PVCORE_XS_IS_DOMAIN_INTRODUCED, 0, S("2"), S("T"));
    REPLY(0, PVCORE_XS_IS_DOMAIN_INTRODUCED, 0, S("9"), S("F"));
    REPLY(0, PVCORE_XS_IS_DOMAIN_INTRODUCED, 0, S("32752"), S("T")); /* DOMID_SELF */
    ERR(0, PVCORE_XS_IS_DOMAIN_INTRODUCED, 0, S("x"), "EINVAL");
    /* Requests that name an unknown transaction. */
    ERR(1, PVCORE_XS_READ, 77, S("data"), "ENOENT");
    ERR(1, PVCORE_XS_GET_DOMAIN_PATH, 77, S("1"), "ENOENT");
    assert_int_equal(info(t, 1).requests, 20);
    xt_free(t);
}

/* ---- malformed payloads and paths ------------------------------------------------------------ */

static void test_bad_paths(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    static const struct {
        const char *p;
        uint32_t n;
    } bad[] = {
        { S("..") }, { S(".") }, { S("data/../x") }, { S("/local/domain/1/data/./x") },
        { S("//") }, { S("data//x") }, { S("/local//domain") }, { S("data/") }, { S("/x/") },
        { S("") }, { S("da ta") }, { S("data/\xc3\xa9") }, { S("data/\x7f") }, { S("data/\t") },
        { S("data/a:b") }, { S("data/a.b") }, { S("data/a*") }, { S("data\\x") },
        { S("@special") }, { S("\x80") },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ERR(1, PVCORE_XS_READ, 0, bad[i].p, bad[i].n, "EINVAL");
        ERR(1, PVCORE_XS_MKDIR, 0, bad[i].p, bad[i].n, "EINVAL");
        ERR(0, PVCORE_XS_RM, 0, bad[i].p, bad[i].n, "EINVAL");
        ERR(1, PVCORE_XS_DIRECTORY, 0, bad[i].p, bad[i].n, "EINVAL");
    }
    /* Missing NUL, two strings where one is wanted, empty payload. */
    ERR(1, PVCORE_XS_READ, 0, "data", 4, "EINVAL");
    ERR(1, PVCORE_XS_READ, 0, S("data\0x"), "EINVAL");
    ERR(1, PVCORE_XS_READ, 0, "", 0, "EINVAL");
    ERR(1, PVCORE_XS_WRITE, 0, "data/x", 6, "EINVAL"); /* a WRITE needs the path's NUL */
    ERR(1, PVCORE_XS_WRITE, 0, "", 0, "EINVAL");
    /* '@' is valid inside a path (xenstored's character set). */
    OK(1, PVCORE_XS_WRITE, 0, V("data/a@b\0at"));
    READS(1, 0, "data/a@b", "at");
    /* Length: 3072 bytes absolute is the limit. */
    static char p[PVCORE_XENSTORE_ABS_PATH_MAX + 8];
    memset(p, 'a', sizeof(p));
    p[0] = '/';
    p[PVCORE_XENSTORE_ABS_PATH_MAX] = 0;
    OK(0, PVCORE_XS_WRITE, 0, p, PVCORE_XENSTORE_ABS_PATH_MAX + 1u);
    p[PVCORE_XENSTORE_ABS_PATH_MAX] = 'a';
    p[PVCORE_XENSTORE_ABS_PATH_MAX + 1] = 0;
    ERR(0, PVCORE_XS_WRITE, 0, p, PVCORE_XENSTORE_ABS_PATH_MAX + 2u, "EINVAL");
    /* A guest's relative part: 2048 bytes beyond /local/domain/<id>/ (the path quota). */
    static char q[2100];
    memset(q, 'b', sizeof(q));
    memcpy(q, "data/", 5);
    q[2048] = 0;
    OK(1, PVCORE_XS_WRITE, 0, q, 2049);
    q[2048] = 'b';
    q[2049] = 0;
    ERR(1, PVCORE_XS_WRITE, 0, q, 2050, "EINVAL");
    /* The same relative part written absolutely counts the same. */
    static char a[2200];
    int n = snprintf(a, sizeof(a), "/local/domain/1/%s", q);
    ERR(1, PVCORE_XS_WRITE, 0, a, (uint32_t)n + 1u, "EINVAL");
    /* Privileged connections have no path quota. */
    n = snprintf(a, sizeof(a), "/local/domain/2/%s", q);
    OK(0, PVCORE_XS_WRITE, 0, a, (uint32_t)n + 1u);
    xt_free(t);
}

/* ---- permissions across two domains ----------------------------------------------------------- */

static void test_permissions(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    /* The guest's new node is owned by it and inherits the parent's other entries. */
    OK(1, PVCORE_XS_WRITE, 0, V("data/secret\0s3cr3t"));
    REPLY(1, PVCORE_XS_GET_PERMS, 0, S("data/secret"), S("n1"));
    REPLY(1, PVCORE_XS_GET_PERMS, 0, S("/local/domain/1"), "n0\0r1\0", 6);
    /* The other guest can neither read nor write it, nor learn whether it exists. */
    ERR(2, PVCORE_XS_READ, 0, S("/local/domain/1/data/secret"), "EACCES");
    ERR(2, PVCORE_XS_READ, 0, S("/local/domain/1/data/missing"), "EACCES");
    ERR(2, PVCORE_XS_WRITE, 0, V("/local/domain/1/data/secret\0pwn"), "EACCES");
    ERR(2, PVCORE_XS_WRITE, 0, V("/local/domain/1/data/new\0pwn"), "EACCES");
    ERR(2, PVCORE_XS_GET_PERMS, 0, S("/local/domain/1/data/secret"), "EACCES");
    ERR(2, PVCORE_XS_SET_PERMS, 0, S("/local/domain/1/data/secret\0b2"), "EACCES");
    /* Its own subtree is readable to it but not writable (owner 0, r2). */
    ERR(2, PVCORE_XS_WRITE, 0, V("/local/domain/2/x\0y"), "EACCES");
    ERR(2, PVCORE_XS_READ, 0, S("/local/domain/2/missing"), "ENOENT");
    /* Domain 1 lets domain 2 read it. */
    OK(1, PVCORE_XS_SET_PERMS, 0, S("data/secret\0n1\0r2"));
    READS(2, 0, "/local/domain/1/data/secret", "s3cr3t");
    ERR(2, PVCORE_XS_WRITE, 0, V("/local/domain/1/data/secret\0pwn"), "EACCES");
    REPLY(2, PVCORE_XS_GET_PERMS, 0, S("/local/domain/1/data/secret"), "n1\0r2\0", 6);
    /* Write only: 2 may write, not read; then both. */
    OK(1, PVCORE_XS_SET_PERMS, 0, S("data/secret\0n1\0w2"));
    ERR(2, PVCORE_XS_READ, 0, S("/local/domain/1/data/secret"), "EACCES");
    OK(2, PVCORE_XS_WRITE, 0, V("/local/domain/1/data/secret\0from2"));
    READS(1, 0, "data/secret", "from2");
    /* A node 2 creates under a node it may write is 2's, with 1's entries inherited. */
    OK(1, PVCORE_XS_SET_PERMS, 0, S("data\0n1\0b2"));
    OK(2, PVCORE_XS_WRITE, 0, V("/local/domain/1/data/by2\0x"));
    REPLY(0, PVCORE_XS_GET_PERMS, 0, S("/local/domain/1/data/by2"), "n2\0b2\0", 6);
    assert_int_equal(info(t, 2).nodes, 2); /* with its own data/ */
    /* Only the owner may set permissions; a guest may not give a node away. */
    ERR(2, PVCORE_XS_SET_PERMS, 0, S("/local/domain/1/data/secret\0n1\0b2"), "EACCES");
    ERR(1, PVCORE_XS_SET_PERMS, 0, S("data/secret\0n2"), "EPERM");
    /* The everyone-else entry. */
    OK(1, PVCORE_XS_SET_PERMS, 0, S("data/secret\0r1"));
    READS(2, 0, "/local/domain/1/data/secret", "from2");
    /* The toolstack may do anything, including changing the owner; counts follow. */
    uint32_t n1 = info(t, 1).nodes, n2 = info(t, 2).nodes;
    OK(0, PVCORE_XS_SET_PERMS, 0, S("/local/domain/1/data/secret\0n2"));
    assert_int_equal(info(t, 1).nodes, n1 - 1);
    assert_int_equal(info(t, 2).nodes, n2 + 1);
    REPLY(2, PVCORE_XS_GET_PERMS, 0, S("/local/domain/1/data/secret"), S("n2"));
    /* Malformed permission lists. */
    static const struct {
        const char *p;
        uint32_t n;
    } bad[] = {
        { S("data/x") }, { S("data/x\0x1") }, { S("data/x\0r") }, { S("data/x\0r-1") },
        { S("data/x\0r65536") }, { S("data/x\0r1a") }, { S("data/x\0 r1") }, { S("data/x\0R1") },
        { S("data/x\0r1\0") }, { S("data/x\0\0") },
    };
    OK(1, PVCORE_XS_WRITE, 0, V("data/x\0"));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ERR(1, PVCORE_XS_SET_PERMS, 0, bad[i].p, bad[i].n, "EINVAL");
    }
    REPLY(1, PVCORE_XS_GET_PERMS, 0, S("data/x"), "n1\0b2\0", 6);
    /* Special paths: there are no special nodes here. */
    ERR(1, PVCORE_XS_GET_PERMS, 0, S("@releaseDomain"), "EACCES");
    ERR(0, PVCORE_XS_GET_PERMS, 0, S("@releaseDomain"), "ENOENT");
    ERR(0, PVCORE_XS_SET_PERMS, 0, S("@releaseDomain\0n0"), "ENOENT");
    xt_free(t);
}

/* ---- watches ----------------------------------------------------------------------------------- */

static void test_watches(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    OK(1, PVCORE_XS_WATCH, 0, S("data\0tokA"));
    EVENT(1, "data", "tokA"); /* fired once at once, with the path as given */
    NO_EVENT(1);
    OK(1, PVCORE_XS_WRITE, 0, V("data/x\0v"));
    EVENT(1, "data/x", "tokA"); /* a descendant, relative like the watch */
    NO_EVENT(1);
    /* A second watch, absolute; the same path with another token is a different watch. */
    OK(1, PVCORE_XS_WATCH, 0, S("/local/domain/1/data/x\0tokB"));
    EVENT(1, "/local/domain/1/data/x", "tokB");
    ERR(1, PVCORE_XS_WATCH, 0, S("/local/domain/1/data/x\0tokB"), "EEXIST");
    ERR(1, PVCORE_XS_WATCH, 0, S("data/x\0tokB"), "EEXIST"); /* same canonical path */
    OK(1, PVCORE_XS_WRITE, 0, V("data/x\0w"));
    EVENT(1, "data/x", "tokA");
    EVENT(1, "/local/domain/1/data/x", "tokB");
    /* A sibling fires only the parent's watch. */
    OK(1, PVCORE_XS_WRITE, 0, V("data/xy\0v"));
    EVENT(1, "data/xy", "tokA");
    NO_EVENT(1);
    /* The toolstack's change fires the guest's watch; the guest is told by OTHERS. */
    assert_int_equal(pvcore_xenstore_call(t->xs, PVCORE_XS_WRITE, V("/local/domain/1/data/x\0t"),
                                          NULL, 0, NULL), 0);
    assert_true(pvcore_xenstore_conn_pending(t->c[1]));
    EVENT(1, "data/x", "tokA");
    EVENT(1, "/local/domain/1/data/x", "tokB");
    /* And a change through another connection: process() says OTHERS. */
    struct reply m;
    rpc(t, 0, PVCORE_XS_WRITE, 0, V("/local/domain/1/data/x\0u"), &m);
    EVENT(1, "data/x", "tokA");
    EVENT(1, "/local/domain/1/data/x", "tokB");
    /* Removing a subtree: each removed node's exact watches, and the root's ancestors once. */
    OK(1, PVCORE_XS_WRITE, 0, V("data/x/y/z\0"));
    EVENT(1, "data/x/y/z", "tokA");
    EVENT(1, "/local/domain/1/data/x/y/z", "tokB");
    OK(1, PVCORE_XS_WATCH, 0, S("data/x/y/z\0tokC"));
    EVENT(1, "data/x/y/z", "tokC");
    OK(1, PVCORE_XS_WATCH, 0, S("data/x/nothere\0tokD"));
    EVENT(1, "data/x/nothere", "tokD");
    OK(1, PVCORE_XS_RM, 0, S("data/x"));
    EVENT(1, "data/x/y/z", "tokC");
    EVENT(1, "data/x", "tokA");
    EVENT(1, "/local/domain/1/data/x", "tokB");
    NO_EVENT(1);
    /* Permission changes fire. */
    OK(1, PVCORE_XS_SET_PERMS, 0, S("data/xy\0n1\0r2"));
    EVENT(1, "data/xy", "tokA");
    /* MKDIR of an existing node changes nothing and fires nothing. */
    OK(1, PVCORE_XS_MKDIR, 0, S("data/xy"));
    NO_EVENT(1);
    /* UNWATCH. */
    OK(1, PVCORE_XS_UNWATCH, 0, S("data\0tokA"));
    ERR(1, PVCORE_XS_UNWATCH, 0, S("data\0tokA"), "ENOENT");
    ERR(1, PVCORE_XS_UNWATCH, 0, S("data\0nosuch"), "ENOENT");
    OK(1, PVCORE_XS_WRITE, 0, V("data/xy\0q"));
    NO_EVENT(1);
    /* Malformed WATCH and UNWATCH. */
    ERR(1, PVCORE_XS_WATCH, 0, S("data"), "EINVAL");
    ERR(1, PVCORE_XS_WATCH, 0, "data\0tok", 8, "EINVAL");
    ERR(1, PVCORE_XS_WATCH, 0, S("data\0tok\0extra"), "EINVAL");
    ERR(1, PVCORE_XS_WATCH, 0, S("da..ta\0tok"), "EINVAL");
    ERR(1, PVCORE_XS_UNWATCH, 0, S("data"), "EINVAL");
    /* Special watches are accepted and fire once at once; an unprivileged domain hears
     * nothing more of them (test_special_watches). */
    OK(1, PVCORE_XS_WATCH, 0, S("@releaseDomain\0rel"));
    EVENT(1, "@releaseDomain", "rel");
    OK(1, PVCORE_XS_WRITE, 0, V("data/r\0"));
    NO_EVENT(1);
    /* tx_id is ignored by WATCH. */
    OK(1, PVCORE_XS_WATCH, 12345, S("data/r\0tokE"));
    EVENT(1, "data/r", "tokE");
    assert_int_equal(info(t, 1).watches, 5);
    /* RESET_WATCHES drops them all. */
    OK(1, PVCORE_XS_RESET_WATCHES, 0, S(""));
    assert_int_equal(info(t, 1).watches, 0);
    OK(1, PVCORE_XS_WRITE, 0, V("data/r\0again"));
    NO_EVENT(1);
    xt_free(t);
}

/* @introduceDomain and @releaseDomain fire when a domain connects and disconnects, for
 * privileged watchers only (xenstored's special nodes are dom0's, "n0"); a watch on "/"
 * does not see them. */
static void test_special_watches(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    struct pvcore_xenstore_domain_interface *r = aligned_alloc(4096, 4096);
    struct pvcore_xenstore_conn *c = NULL;

    memset(r, 0, 4096);
    OK(0, PVCORE_XS_WATCH, 0, S("@introduceDomain\0in"));
    EVENT(0, "@introduceDomain", "in");
    OK(0, PVCORE_XS_WATCH, 0, S("@releaseDomain\0out"));
    EVENT(0, "@releaseDomain", "out");
    OK(0, PVCORE_XS_WATCH, 0, S("/\0all"));
    EVENT(0, "/", "all");
    OK(1, PVCORE_XS_WATCH, 0, S("@introduceDomain\0in1"));
    EVENT(1, "@introduceDomain", "in1");
    OK(1, PVCORE_XS_WATCH, 0, S("@releaseDomain\0out1"));
    EVENT(1, "@releaseDomain", "out1");
    assert_int_equal(pvcore_xenstore_connect(t->xs, r, 5, false, &c), 0);
    EVENT(0, "@introduceDomain", "in");
    NO_EVENT(0);
    NO_EVENT(1);
    pvcore_xenstore_disconnect(t->xs, c);
    EVENT(0, "@releaseDomain", "out");
    NO_EVENT(0);
    NO_EVENT(1);
    /* Unwatched: silent. */
    OK(0, PVCORE_XS_UNWATCH, 0, S("@introduceDomain\0in"));
    assert_int_equal(pvcore_xenstore_connect(t->xs, r, 5, false, &c), 0);
    NO_EVENT(0);
    pvcore_xenstore_disconnect(t->xs, c);
    EVENT(0, "@releaseDomain", "out");
    free(r);
    xt_free(t);
}

/* A watcher is told only about nodes it (or the parent) can read. */
static void test_watch_permissions(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    OK(2, PVCORE_XS_WATCH, 0, S("/local/domain/1/data\0spy"));
    EVENT(2, "/local/domain/1/data", "spy"); /* the first event is not checked (xenstored) */
    OK(2, PVCORE_XS_WATCH, 0, S("/\0root"));
    EVENT(2, "/", "root");
    OK(1, PVCORE_XS_WRITE, 0, V("data/private\0x"));
    NO_EVENT(2);
    /* Readable node: told. */
    OK(1, PVCORE_XS_SET_PERMS, 0, S("data/private\0n1\0r2"));
    EVENT(2, "/local/domain/1/data/private", "spy");
    EVENT(2, "/local/domain/1/data/private", "root");
    /* Made unreadable: told once more (it could read it before). */
    OK(1, PVCORE_XS_SET_PERMS, 0, S("data/private\0n1"));
    EVENT(2, "/local/domain/1/data/private", "spy");
    EVENT(2, "/local/domain/1/data/private", "root");
    OK(1, PVCORE_XS_WRITE, 0, V("data/private\0y"));
    NO_EVENT(2);
    /* Readable parent: told about the child. */
    OK(1, PVCORE_XS_SET_PERMS, 0, S("data\0n1\0r2"));
    EVENT(2, "/local/domain/1/data", "spy");
    EVENT(2, "/local/domain/1/data", "root");
    OK(1, PVCORE_XS_WRITE, 0, V("data/private\0z"));
    EVENT(2, "/local/domain/1/data/private", "spy");
    EVENT(2, "/local/domain/1/data/private", "root");
    /* The privileged watcher sees everything. */
    OK(0, PVCORE_XS_WATCH, 0, S("/\0all"));
    EVENT(0, "/", "all");
    OK(1, PVCORE_XS_WRITE, 0, V("data/private\0w"));
    EVENT(0, "/local/domain/1/data/private", "all");
    xt_free(t);
}

/* Events wait in a bounded queue while the guest does not read its ring; identical ones
 * are merged; the rest are dropped and counted, never overrun. */
static void test_event_backpressure(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    OK(1, PVCORE_XS_WATCH, 0, S("data\0t"));
    EVENT(1, "data", "t");
    /* Domain 1 stops reading; the toolstack writes the same node many times. */
    for (int i = 0; i < 100; i++) {
        tcall(t, PVCORE_XS_WRITE, V("/local/domain/1/data/same\0v"));
    }
    /* One identical event queued (merged), not 100. */
    struct pvcore_xenstore_conn_info in = info(t, 1);
    assert_int_equal(in.out_queued, 16 + sizeof("data/same\0t"));
    assert_int_equal(in.events_dropped, 0);
    /* Distinct events until the queue is full, then drops. */
    char p[300];
    for (int i = 0; i < 300; i++) {
        int n = snprintf(p, sizeof(p), "/local/domain/1/data/n%03d%0180d", i, 0);
        tcall(t, PVCORE_XS_WRITE, p, (uint32_t)n + 1u);
    }
    in = info(t, 1);
    assert_true(in.events_dropped > 0);
    assert_true(in.out_queued <= t->cfg.out_bytes);
    /* process() fills the ring, never more. */
    int rc = pvcore_xenstore_process(t->xs, t->c[1]);
    assert_true(rc >= 0);
    assert_int_equal(t->g[1].ring->rsp_prod - t->g[1].ring->rsp_cons, PVCORE_XENSTORE_RING_SIZE);
    /* A request now waits (its reply would not fit), without being lost. */
    uint8_t msg[16 + 5] = { 2, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 'd', 'a', 't', 'a', 0 };
    g_put(&t->g[1], msg, sizeof(msg));
    rc = pvcore_xenstore_process(t->xs, t->c[1]);
    assert_true(rc >= 0);
    assert_int_equal(t->g[1].ring->rsp_prod - t->g[1].ring->rsp_cons, PVCORE_XENSTORE_RING_SIZE);
    /* The guest reads again: everything arrives, events then the reply. */
    struct reply m;
    bool replied = false;
    for (int i = 0; i < 200 && !replied; i++) {
        pvcore_xenstore_process(t->xs, t->c[1]);
        g_pull(&t->g[1]);
        while (g_msg(&t->g[1], &m)) {
            if (m.type == PVCORE_XS_WATCH_EVENT) {
                record_event(&t->g[1], &m);
            } else {
                assert_int_equal(m.type, PVCORE_XS_READ);
                assert_int_equal(m.req_id, 9);
                replied = true;
            }
        }
    }
    assert_true(replied);
    assert_true(t->g[1].nev > 2);
    xt_free(t);
}

/* ---- transactions ------------------------------------------------------------------------------ */

static void test_transactions(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    OK(1, PVCORE_XS_WRITE, 0, V("data/a\0old"));
    OK(2, PVCORE_XS_WATCH, 0, S("/\0w"));
    EVENT(2, "/", "w");
    OK(0, PVCORE_XS_WATCH, 0, S("/local/domain/1\0w0"));
    EVENT(0, "/local/domain/1", "w0");
    OK(1, PVCORE_XS_WRITE, 0, V("data/gone/kid\0k"));
    EVENT(0, "/local/domain/1/data/gone/kid", "w0");
    NO_EVENT(2); /* it cannot read domain 1's data/ */
    uint32_t tx = start_tx(t, 1);
    assert_int_equal(info(t, 1).transactions, 1);
    /* Writes are visible inside, not outside. */
    OK(1, PVCORE_XS_WRITE, tx, V("data/a\0new"));
    OK(1, PVCORE_XS_WRITE, tx, V("data/b/c\0made"));
    READS(1, tx, "data/a", "new");
    READS(1, tx, "data/b/c", "made");
    READS(1, 0, "data/a", "old");
    ERR(1, PVCORE_XS_READ, 0, S("data/b"), "ENOENT");
    READS(0, 0, "/local/domain/1/data/a", "old");
    NO_EVENT(0);
    /* DIRECTORY inside sees the transaction's view. */
    struct reply m;
    rpc(t, 1, PVCORE_XS_DIRECTORY, tx, S("data"), &m);
    assert_int_equal(m.len, 9); /* a, b (the transaction's), gone */
    rpc(t, 1, PVCORE_XS_DIRECTORY, 0, S("data"), &m);
    assert_int_equal(m.len, 7); /* a, gone */
    /* RM inside: gone inside, there outside. */
    OK(1, PVCORE_XS_RM, tx, S("data/gone"));
    ERR(1, PVCORE_XS_READ, tx, S("data/gone/kid"), "ENOENT");
    READS(1, 0, "data/gone/kid", "k");
    /* No nesting; a bad END argument leaves the transaction open. */
    ERR(1, PVCORE_XS_TRANSACTION_START, tx, S(""), "EBUSY");
    ERR(1, PVCORE_XS_TRANSACTION_END, tx, S("X"), "EINVAL");
    ERR(1, PVCORE_XS_TRANSACTION_END, tx, S("TT"), "EINVAL");
    ERR(1, PVCORE_XS_TRANSACTION_END, tx, "T", 1, "EINVAL");
    ERR(1, PVCORE_XS_TRANSACTION_END, 0, S("T"), "ENOENT");
    /* Another connection cannot use it. */
    ERR(2, PVCORE_XS_READ, tx, S("/local/domain/1/data/a"), "ENOENT");
    NO_EVENT(0);
    NO_EVENT(2);
    /* Commit: everything at once, and the watches fire then. */
    OK(1, PVCORE_XS_TRANSACTION_END, tx, S("T"));
    assert_int_equal(info(t, 1).transactions, 0);
    READS(0, 0, "/local/domain/1/data/a", "new");
    READS(0, 0, "/local/domain/1/data/b/c", "made");
    ERR(0, PVCORE_XS_READ, 0, S("/local/domain/1/data/gone"), "ENOENT");
    ERR(0, PVCORE_XS_READ, 0, S("/local/domain/1/data/gone/kid"), "ENOENT");
    pump(t, 0);
    assert_true(t->g[0].nev - t->g[0].evpos >= 3);
    t->g[0].evpos = t->g[0].nev;
    /* The transaction is gone. */
    ERR(1, PVCORE_XS_TRANSACTION_END, tx, S("T"), "ENOENT");
    /* Abort: nothing happens. */
    tx = start_tx(t, 1);
    OK(1, PVCORE_XS_WRITE, tx, V("data/a\0aborted"));
    OK(1, PVCORE_XS_RM, tx, S("data/b"));
    OK(1, PVCORE_XS_TRANSACTION_END, tx, S("F"));
    READS(1, 0, "data/a", "new");
    READS(1, 0, "data/b/c", "made");
    NO_EVENT(0);
    /* Transaction ids: fresh per start, never 0. */
    uint32_t t1 = start_tx(t, 1), t2 = start_tx(t, 1);
    assert_true(t1 != t2);
    OK(1, PVCORE_XS_TRANSACTION_END, t1, S("F"));
    OK(1, PVCORE_XS_TRANSACTION_END, t2, S("F"));
    xt_free(t);
}

static void test_transaction_conflicts(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    OK(1, PVCORE_XS_WRITE, 0, V("data/a\0a0"));
    OK(1, PVCORE_XS_WRITE, 0, V("data/b\0b0"));
    /* Read A, someone writes A: EAGAIN, and the transaction's own write is not applied. */
    uint32_t tx = start_tx(t, 1);
    READS(1, tx, "data/a", "a0");
    OK(1, PVCORE_XS_WRITE, tx, V("data/b\0from-tx"));
    OK(0, PVCORE_XS_WRITE, 0, V("/local/domain/1/data/a\0a1"));
    ERR(1, PVCORE_XS_TRANSACTION_END, tx, S("T"), "EAGAIN");
    READS(1, 0, "data/b", "b0");
    ERR(1, PVCORE_XS_TRANSACTION_END, tx, S("F"), "ENOENT"); /* gone after EAGAIN */
    /* A write elsewhere does not conflict. */
    tx = start_tx(t, 1);
    READS(1, tx, "data/a", "a1");
    OK(1, PVCORE_XS_WRITE, tx, V("data/b\0b1"));
    OK(0, PVCORE_XS_WRITE, 0, V("/local/domain/1/data/unrelated\0u"));
    OK(1, PVCORE_XS_TRANSACTION_END, tx, S("T"));
    READS(1, 0, "data/b", "b1");
    /* Written node changed by someone else: conflict too (read or written). */
    tx = start_tx(t, 1);
    OK(1, PVCORE_XS_WRITE, tx, V("data/b\0b2"));
    OK(0, PVCORE_XS_WRITE, 0, V("/local/domain/1/data/b\0other"));
    ERR(1, PVCORE_XS_TRANSACTION_END, tx, S("T"), "EAGAIN");
    READS(1, 0, "data/b", "other");
    /* A node read as missing that appears meanwhile. */
    tx = start_tx(t, 1);
    ERR(1, PVCORE_XS_READ, tx, S("data/late"), "ENOENT");
    OK(0, PVCORE_XS_WRITE, 0, V("/local/domain/1/data/late\0here"));
    ERR(1, PVCORE_XS_TRANSACTION_END, tx, S("T"), "EAGAIN");
    /* A directory listed, then a child added by someone else. */
    tx = start_tx(t, 1);
    rpc(t, 1, PVCORE_XS_DIRECTORY, tx, S("data"), &(struct reply){ 0 });
    OK(0, PVCORE_XS_MKDIR, 0, S("/local/domain/1/data/kid"));
    ERR(1, PVCORE_XS_TRANSACTION_END, tx, S("T"), "EAGAIN");
    /* A node deleted meanwhile. */
    tx = start_tx(t, 1);
    READS(1, tx, "data/late", "here");
    OK(0, PVCORE_XS_RM, 0, S("/local/domain/1/data/late"));
    ERR(1, PVCORE_XS_TRANSACTION_END, tx, S("T"), "EAGAIN");
    /* Creating under a parent someone removed meanwhile: EAGAIN, never an orphan. */
    OK(1, PVCORE_XS_MKDIR, 0, S("data/p"));
    tx = start_tx(t, 1);
    OK(1, PVCORE_XS_WRITE, tx, V("data/p/q/r\0x"));
    OK(0, PVCORE_XS_RM, 0, S("/local/domain/1/data/p"));
    ERR(1, PVCORE_XS_TRANSACTION_END, tx, S("T"), "EAGAIN");
    ERR(1, PVCORE_XS_READ, 0, S("data/p"), "ENOENT");
    /* Removing a subtree while someone adds to it: EAGAIN. */
    OK(1, PVCORE_XS_MKDIR, 0, S("data/s/t"));
    tx = start_tx(t, 1);
    OK(1, PVCORE_XS_RM, tx, S("data/s"));
    OK(0, PVCORE_XS_WRITE, 0, V("/local/domain/1/data/s/t/new\0n"));
    ERR(1, PVCORE_XS_TRANSACTION_END, tx, S("T"), "EAGAIN");
    READS(1, 0, "data/s/t/new", "n");
    /* Two transactions on the same node: the first to commit wins. */
    uint32_t ta = start_tx(t, 1), tb = start_tx(t, 2);
    OK(1, PVCORE_XS_SET_PERMS, 0, S("data/a\0n1\0b2"));
    READS(1, ta, "data/a", "a1");
    READS(2, tb, "/local/domain/1/data/a", "a1");
    OK(1, PVCORE_XS_WRITE, ta, V("data/a\0by-1"));
    OK(2, PVCORE_XS_WRITE, tb, V("/local/domain/1/data/a\0by-2"));
    OK(2, PVCORE_XS_TRANSACTION_END, tb, S("T"));
    ERR(1, PVCORE_XS_TRANSACTION_END, ta, S("T"), "EAGAIN");
    READS(1, 0, "data/a", "by-2");
    /* RM then re-create inside one transaction, committed. */
    OK(1, PVCORE_XS_WRITE, 0, V("data/re/old\0o"));
    tx = start_tx(t, 1);
    OK(1, PVCORE_XS_RM, tx, S("data/re"));
    OK(1, PVCORE_XS_WRITE, tx, V("data/re/new\0n"));
    REPLY(1, PVCORE_XS_DIRECTORY, tx, S("data/re"), S("new"));
    OK(1, PVCORE_XS_TRANSACTION_END, tx, S("T"));
    REPLY(1, PVCORE_XS_DIRECTORY, 0, S("data/re"), S("new"));
    READS(1, 0, "data/re/new", "n");
    /* Create then remove inside one transaction: nothing left. */
    tx = start_tx(t, 1);
    OK(1, PVCORE_XS_WRITE, tx, V("data/tmp/x\0x"));
    OK(1, PVCORE_XS_RM, tx, S("data/tmp"));
    OK(1, PVCORE_XS_TRANSACTION_END, tx, S("T"));
    ERR(1, PVCORE_XS_READ, 0, S("data/tmp"), "ENOENT");
    /* The toolstack's domain gives a node away inside a transaction: counts move at commit. */
    uint32_t own1 = info(t, 1).nodes, own2 = info(t, 2).nodes;
    tx = start_tx(t, 0);
    OK(0, PVCORE_XS_SET_PERMS, tx, S("/local/domain/1/data/b\0n2"));
    assert_int_equal(info(t, 1).nodes, own1);
    OK(0, PVCORE_XS_TRANSACTION_END, tx, S("T"));
    assert_int_equal(info(t, 1).nodes, own1 - 1);
    assert_int_equal(info(t, 2).nodes, own2 + 1);
    OK(0, PVCORE_XS_SET_PERMS, 0, S("/local/domain/1/data/b\0n1"));
    /* Permission changes inside a transaction. */
    tx = start_tx(t, 1);
    OK(1, PVCORE_XS_SET_PERMS, tx, S("data/b\0n1\0r2"));
    ERR(2, PVCORE_XS_READ, 0, S("/local/domain/1/data/b"), "EACCES");
    OK(1, PVCORE_XS_TRANSACTION_END, tx, S("T"));
    READS(2, 0, "/local/domain/1/data/b", "other");
    xt_free(t);
}

/* A transaction's connection disconnects or resets: the transaction is dropped. */
static void test_transaction_dropped(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    uint32_t tx = start_tx(t, 1);
    OK(1, PVCORE_XS_WRITE, tx, V("data/x\0tx"));
    OK(1, PVCORE_XS_RESET_WATCHES, 0, S(""));
    assert_int_equal(info(t, 1).transactions, 0);
    ERR(1, PVCORE_XS_TRANSACTION_END, tx, S("T"), "ENOENT");
    ERR(1, PVCORE_XS_READ, 0, S("data/x"), "ENOENT");
    tx = start_tx(t, 1);
    OK(1, PVCORE_XS_WRITE, tx, V("data/y\0tx"));
    check_invariants(t);
    pvcore_xenstore_disconnect(t->xs, t->c[1]);
    check_invariants(t);
    assert_int_equal(pvcore_xenstore_connect(t->xs, t->g[1].ring, 1, false, &t->c[1]), 0);
    ERR(1, PVCORE_XS_TRANSACTION_END, tx, S("T"), "ENOENT");
    ERR(0, PVCORE_XS_READ, 0, S("/local/domain/1/data/y"), "ENOENT");
    xt_free(t);
}

/* ---- quotas ---------------------------------------------------------------------------------------- */

static void test_quotas(void **state)
{
    (void)state;
    struct pvcore_xenstore_config cfg;
    pvcore_xenstore_default_config(&cfg);
    cfg.max_nodes = 512;
    cfg.arena_bytes = 256u * 1024u;
    cfg.max_conns = 4;
    cfg.max_watches = 64;
    cfg.max_transactions = 16;
    cfg.quota.nodes = 10;
    cfg.quota.value_bytes = 100;
    cfg.quota.watches = 3;
    cfg.quota.transactions = 2;
    cfg.quota.perms = 3;
    cfg.quota.tx_nodes = 6;
    struct xt *t = xt_new(&cfg, true);
    char p[64];
    /* Nodes: exactly 10 owned by domain 1 (its data/ is one), then ENOSPC, unchanged. */
    assert_int_equal(info(t, 1).nodes, 1);
    for (int i = 0; i < 9; i++) {
        int n = snprintf(p, sizeof(p), "data/n%d", i);
        OK(1, PVCORE_XS_MKDIR, 0, p, (uint32_t)n + 1u);
    }
    assert_int_equal(info(t, 1).nodes, 10);
    ERR(1, PVCORE_XS_MKDIR, 0, S("data/n9"), "ENOSPC");
    ERR(1, PVCORE_XS_WRITE, 0, V("data/n0/sub\0x"), "ENOSPC");
    ERR(1, PVCORE_XS_READ, 0, S("data/n9"), "ENOENT");
    assert_int_equal(info(t, 1).nodes, 10);
    /* Writing existing nodes is fine; one multi-level create counts all its nodes. */
    OK(1, PVCORE_XS_WRITE, 0, V("data/n0\0v"));
    for (int i = 0; i < 3; i++) {
        int n = snprintf(p, sizeof(p), "data/n%d", i);
        OK(1, PVCORE_XS_RM, 0, p, (uint32_t)n + 1u);
    }
    assert_int_equal(info(t, 1).nodes, 7);
    ERR(1, PVCORE_XS_MKDIR, 0, S("data/a/b/c/d"), "ENOSPC");
    OK(1, PVCORE_XS_MKDIR, 0, S("data/a/b/c"));
    assert_int_equal(info(t, 1).nodes, 10);
    /* The toolstack has no quota and may create nodes owned by the domain beyond it. */
    OK(0, PVCORE_XS_MKDIR, 0, S("/local/domain/1/data/byzero"));
    REPLY(0, PVCORE_XS_GET_PERMS, 0, S("/local/domain/1/data/byzero"), S("n1"));
    assert_int_equal(info(t, 1).nodes, 11);
    ERR(1, PVCORE_XS_MKDIR, 0, S("data/more"), "ENOSPC");
    /* Values: 100 bytes, not 101. */
    char v[128];
    memcpy(v, "data/n5", 8);
    memset(v + 8, 'v', 101);
    OK(1, PVCORE_XS_WRITE, 0, v, 8 + 100);
    ERR(1, PVCORE_XS_WRITE, 0, v, 8 + 101, "ENOSPC");
    REPLY(1, PVCORE_XS_READ, 0, S("data/n5"), v + 8, 100);
    OK(0, PVCORE_XS_WRITE, 0, v, 8 + 101); /* privileged: no quota */
    /* Permission entries: 3, not 4. */
    OK(1, PVCORE_XS_SET_PERMS, 0, S("data/n5\0n1\0r2\0r3"));
    ERR(1, PVCORE_XS_SET_PERMS, 0, S("data/n5\0n1\0r2\0r3\0r4"), "ENOSPC");
    REPLY(1, PVCORE_XS_GET_PERMS, 0, S("data/n5"), "n1\0r2\0r3\0", 9);
    /* Watches: 3, then E2BIG. */
    OK(1, PVCORE_XS_WATCH, 0, S("data\0a"));
    OK(1, PVCORE_XS_WATCH, 0, S("data\0b"));
    OK(1, PVCORE_XS_WATCH, 0, S("data\0c"));
    ERR(1, PVCORE_XS_WATCH, 0, S("data\0d"), "E2BIG");
    assert_int_equal(info(t, 1).watches, 3);
    for (int i = 0; i < 4; i++) {
        OK(0, PVCORE_XS_WATCH, 0, "data\0a" "0", 8);
        OK(0, PVCORE_XS_UNWATCH, 0, "data\0a" "0", 8);
    }
    OK(1, PVCORE_XS_RESET_WATCHES, 0, S(""));
    pump(t, 1);
    /* Transactions: 2 open, then ENOSPC. */
    uint32_t t1 = start_tx(t, 1), t2 = start_tx(t, 1);
    ERR(1, PVCORE_XS_TRANSACTION_START, 0, S(""), "ENOSPC");
    OK(1, PVCORE_XS_TRANSACTION_END, t2, S("F"));
    /* Nodes a transaction touches: 6, then ENOSPC. */
    for (int i = 3; i < 9; i++) {
        int n = snprintf(p, sizeof(p), "data/n%d", i);
        struct reply m;
        rpc(t, 1, PVCORE_XS_READ, t1, p, (uint32_t)n + 1u, &m);
        assert_int_equal(m.type, PVCORE_XS_READ);
    }
    ERR(1, PVCORE_XS_READ, t1, S("data/n0"), "ENOSPC");
    READS(1, t1, "data/n4", "");  /* already touched: fine */
    OK(1, PVCORE_XS_TRANSACTION_END, t1, S("T"));
    /* Node quota inside a transaction, and again at commit. */
    OK(0, PVCORE_XS_RM, 0, S("/local/domain/1/data/byzero"));
    OK(1, PVCORE_XS_RM, 0, S("data/a"));
    assert_int_equal(info(t, 1).nodes, 7);
    t1 = start_tx(t, 1);
    OK(1, PVCORE_XS_MKDIR, t1, S("data/t1"));
    OK(1, PVCORE_XS_MKDIR, t1, S("data/t2"));
    OK(1, PVCORE_XS_MKDIR, t1, S("data/t3"));
    ERR(1, PVCORE_XS_MKDIR, t1, S("data/t4"), "ENOSPC");
    assert_int_equal(info(t, 1).nodes, 7);
    /* Meanwhile the toolstack gives domain 1 a node the transaction never touched. */
    OK(0, PVCORE_XS_MKDIR, 0, S("/q1"));
    OK(0, PVCORE_XS_SET_PERMS, 0, S("/q1\0n1"));
    assert_int_equal(info(t, 1).nodes, 8);
    ERR(1, PVCORE_XS_TRANSACTION_END, t1, S("T"), "ENOSPC");
    assert_int_equal(info(t, 1).nodes, 8);
    ERR(1, PVCORE_XS_READ, 0, S("data/t1"), "ENOENT");
    /* Within the quota, the same transaction commits. */
    t1 = start_tx(t, 1);
    OK(1, PVCORE_XS_MKDIR, t1, S("data/t1"));
    OK(1, PVCORE_XS_MKDIR, t1, S("data/t2"));
    OK(1, PVCORE_XS_TRANSACTION_END, t1, S("T"));
    assert_int_equal(info(t, 1).nodes, 10);
    xt_free(t);
}

/* Quota 0 means no limit; the server's own memory still runs out cleanly. */
static void test_out_of_memory(void **state)
{
    (void)state;
    struct pvcore_xenstore_config cfg;
    pvcore_xenstore_default_config(&cfg);
    cfg.max_nodes = 40;
    cfg.arena_bytes = 4096;
    cfg.max_conns = 3;
    cfg.max_watches = 2;
    cfg.max_transactions = 1;
    memset(&cfg.quota, 0, sizeof(cfg.quota));
    struct xt *t = xt_new(&cfg, true);
    char p[64];
    int made = 0;
    for (int i = 0; i < 100; i++) {
        int n = snprintf(p, sizeof(p), "data/node%d", i);
        struct reply m;
        rpc(t, 1, PVCORE_XS_MKDIR, 0, p, (uint32_t)n + 1u, &m);
        if (m.type == PVCORE_XS_ERROR) {
            assert_string_equal((const char *)m.data, "ENOMEM");
            break;
        }
        made++;
    }
    assert_true(made > 10 && made < 40);
    check_invariants(t);
    /* Values too big for what is left: ENOMEM, the old value intact. */
    static char big[3000];
    memset(big, 'x', sizeof(big));
    memcpy(big, "data/node0", 11);
    ERR(1, PVCORE_XS_WRITE, 0, big, sizeof(big), "ENOMEM");
    READS(1, 0, "data/node0", "");
    /* Churn: free space is reused (compaction). */
    for (int round = 0; round < 50; round++) {
        int n = snprintf(p, sizeof(p), "data/node%d", round % made);
        OK(1, PVCORE_XS_RM, 0, p, (uint32_t)n + 1u);
        char w[80];
        int k = snprintf(w, sizeof(w), "data/node%d%cvalue-%d", round % made, 0, round);
        OK(1, PVCORE_XS_WRITE, 0, w, (uint32_t)k);
        check_invariants(t);
    }
    /* Watch and transaction slots. */
    OK(1, PVCORE_XS_WATCH, 0, S("data\0a"));
    OK(2, PVCORE_XS_WATCH, 0, S("/\0b"));
    ERR(1, PVCORE_XS_WATCH, 0, S("data\0c"), "ENOMEM");
    uint32_t tx = start_tx(t, 1);
    ERR(2, PVCORE_XS_TRANSACTION_START, 0, S(""), "ENOMEM");
    /* A transaction that cannot remember what it reads fails the read. */
    for (int i = 0; i < 100; i++) {
        int n = snprintf(p, sizeof(p), "data/node%d", i);
        struct reply m;
        rpc(t, 1, PVCORE_XS_READ, tx, p, (uint32_t)n + 1u, &m);
        if (m.type == PVCORE_XS_ERROR && strcmp((const char *)m.data, "ENOMEM") == 0) {
            break;
        }
        assert_true(i < 99);
    }
    OK(1, PVCORE_XS_TRANSACTION_END, tx, S("F"));
    xt_free(t);
}

/* Guests that fill the store together leave a quarter of every pool to the privileged:
 * the toolstack and a privileged connection still create nodes, watches and transactions. */
static void test_privileged_reserve(void **state)
{
    (void)state;
    struct pvcore_xenstore_config cfg;
    pvcore_xenstore_default_config(&cfg);
    cfg.max_nodes = 200;
    cfg.arena_bytes = 16384;
    cfg.max_conns = 3;
    cfg.max_watches = 8;
    cfg.max_transactions = 4;
    memset(&cfg.quota, 0, sizeof(cfg.quota));
    struct xt *t = xt_new(&cfg, true);
    char p[96];
    int made[3] = { 0, 0, 0 };
    /* Watches: 6 of 8 for the guests, the last 2 for the privileged. */
    for (int i = 0; i < 6; i++) {
        int n = snprintf(p, sizeof(p), "w%d%ctok", i, 0);
        OK(1 + (unsigned)(i & 1), PVCORE_XS_WATCH, 0, p, (uint32_t)n + 1u);
    }
    ERR(1, PVCORE_XS_WATCH, 0, S("w9\0tok"), "ENOMEM");
    OK(0, PVCORE_XS_WATCH, 0, S("/w0\0tok"));
    OK(0, PVCORE_XS_WATCH, 0, S("/w1\0tok"));
    /* Transactions: 3 of 4 for the guests, the last for the privileged. */
    uint32_t a = start_tx(t, 1), b = start_tx(t, 2), c = start_tx(t, 1);
    ERR(2, PVCORE_XS_TRANSACTION_START, 0, S(""), "ENOMEM");
    uint32_t z = start_tx(t, 0);
    OK(1, PVCORE_XS_TRANSACTION_END, a, S("F"));
    OK(2, PVCORE_XS_TRANSACTION_END, b, S("F"));
    OK(1, PVCORE_XS_TRANSACTION_END, c, S("F"));
    OK(0, PVCORE_XS_TRANSACTION_END, z, S("F"));
    for (unsigned d = 1; d <= 2; d++) {
        for (int i = 0; i < 400; i++) {
            int n = snprintf(p, sizeof(p), "/local/domain/%u/data/node%d-with-a-longer-name", d, i);
            struct reply m;
            rpc(t, d, PVCORE_XS_MKDIR, 0, p, (uint32_t)n + 1u, &m);
            if (m.type == PVCORE_XS_ERROR) {
                assert_string_equal((const char *)m.data, "ENOMEM");
                break;
            }
            made[d]++;
        }
    }
    assert_true(made[1] > 10 && made[2] >= 0);
    /* The guests are out; the privileged connection and the toolstack are not. */
    ERR(1, PVCORE_XS_MKDIR, 0, S("/local/domain/1/data/more"), "ENOMEM");
    for (int i = 0; i < 10; i++) {
        int n = snprintf(p, sizeof(p), "/tool/node%d", i);
        OK(0, PVCORE_XS_MKDIR, 0, p, (uint32_t)n + 1u);
    }
    tcall(t, PVCORE_XS_WRITE, "/tool/value\0some bytes", 22);
    check_invariants(t);
    xt_free(t);
}

/* ---- the ring as an attacker drives it ------------------------------------------------------- */

static void send_hdr(struct guest *g, uint32_t type, uint32_t id, uint32_t tx, uint32_t len)
{
    uint32_t h[4] = { type, id, tx, len };
    assert_int_equal(g_put(g, h, 16), 16);
}

static void test_partial_messages(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    struct guest *g = &t->g[1];
    struct reply m;
    /* A header in three pieces, then the payload in two: no reply until it is whole. */
    uint32_t h[4] = { PVCORE_XS_READ, 5, 0, 5 };
    g_put(g, h, 7);
    assert_int_equal(pvcore_xenstore_process(t->xs, t->c[1]), PVCORE_XENSTORE_NOTIFY);
    assert_int_equal(g->ring->rsp_prod, 0);
    g_put(g, (uint8_t *)h + 7, 9);
    assert_int_equal(pvcore_xenstore_process(t->xs, t->c[1]), PVCORE_XENSTORE_NOTIFY);
    g_put(g, "da", 2);
    assert_int_equal(pvcore_xenstore_process(t->xs, t->c[1]), PVCORE_XENSTORE_NOTIFY);
    assert_int_equal(g->ring->rsp_prod, 0);
    assert_int_equal(pvcore_xenstore_process(t->xs, t->c[1]), 0); /* nothing new */
    g_put(g, "ta\0", 3);
    assert_int_equal(pvcore_xenstore_process(t->xs, t->c[1]), PVCORE_XENSTORE_NOTIFY);
    g_pull(g);
    assert_true(g_msg(g, &m));
    assert_int_equal(m.type, PVCORE_XS_READ);
    assert_int_equal(m.req_id, 5);
    assert_int_equal(m.len, 0);
    /* A zero-length payload is a whole message. */
    send_hdr(g, PVCORE_XS_READ, 6, 0, 0);
    pvcore_xenstore_process(t->xs, t->c[1]);
    g_pull(g);
    assert_true(g_msg(g, &m));
    assert_int_equal(m.type, PVCORE_XS_ERROR);
    assert_string_equal((const char *)m.data, "EINVAL");
    /* Several requests at once, answered in order. */
    uint8_t two[2 * (16 + 5)];
    uint32_t h1[4] = { PVCORE_XS_READ, 7, 0, 5 }, h2[4] = { PVCORE_XS_GET_PERMS, 8, 0, 5 };
    memcpy(two, h1, 16);
    memcpy(two + 16, "data", 5);
    memcpy(two + 21, h2, 16);
    memcpy(two + 37, "data", 5);
    g_put(g, two, sizeof(two));
    pvcore_xenstore_process(t->xs, t->c[1]);
    g_pull(g);
    assert_true(g_msg(g, &m));
    assert_int_equal(m.req_id, 7);
    assert_true(g_msg(g, &m));
    assert_int_equal(m.req_id, 8);
    assert_string_equal((const char *)m.data, "n1");
    /* A request copied out is the one answered, whatever the guest writes afterwards. */
    uint8_t wr[16 + 12];
    uint32_t hw[4] = { PVCORE_XS_WRITE, 9, 0, 12 };
    memcpy(wr, hw, 16);
    memcpy(wr + 16, "data/cp\0good", 12);
    uint32_t at = g->ring->req_prod;
    g_put(g, wr, 20); /* header and a bit: the server copies and frees that much */
    pvcore_xenstore_process(t->xs, t->c[1]);
    for (uint32_t i = 0; i < 20; i++) {
        g->ring->req[PVCORE_MASK_XENSTORE_IDX(at + i)] = 'X'; /* too late */
    }
    g_put(g, wr + 20, sizeof(wr) - 20);
    pvcore_xenstore_process(t->xs, t->c[1]);
    g_pull(g);
    assert_true(g_msg(g, &m));
    assert_int_equal(m.req_id, 9);
    READS(1, 0, "data/cp", "good");
    xt_free(t);
}

static void test_oversized_message(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    struct guest *g = &t->g[1];
    OK(1, PVCORE_XS_WATCH, 0, S("data\0w"));
    EVENT(1, "data", "w");
    uint32_t tx = start_tx(t, 1);
    (void)tx;
    /* len = 4097: the connection breaks, no byte of payload is read. */
    send_hdr(g, PVCORE_XS_WRITE, 1, 0, PVCORE_XENSTORE_PAYLOAD_MAX + 1);
    g_put(g, "data/x\0y", 8);
    assert_int_equal(pvcore_xenstore_process(t->xs, t->c[1]), -PVCORE_EIO);
    assert_int_equal(g->ring->error, PVCORE_XENSTORE_ERROR_PROTO);
    struct pvcore_xenstore_conn_info in = info(t, 1);
    assert_int_equal(in.error, PVCORE_XENSTORE_ERROR_PROTO);
    assert_int_equal(in.watches, 0);
    assert_int_equal(in.transactions, 0);
    assert_int_equal(pvcore_xenstore_process(t->xs, t->c[1]), -PVCORE_EIO); /* stays broken */
    ERR(0, PVCORE_XS_READ, 0, S("/local/domain/1/data/x"), "ENOENT");
    check_invariants(t);
    /* Events no longer go to it. */
    OK(0, PVCORE_XS_WRITE, 0, V("/local/domain/1/data/z\0z"));
    assert_false(pvcore_xenstore_conn_pending(t->c[1]));
    /* The guest asks for a reset: served again from a clean ring. */
    g->ring->connection = PVCORE_XENSTORE_RECONNECT;
    g->ring->req_prod = 1234;
    g->ring->rsp_cons = 99;
    assert_int_equal(pvcore_xenstore_process(t->xs, t->c[1]), PVCORE_XENSTORE_NOTIFY);
    assert_int_equal(g->ring->connection, PVCORE_XENSTORE_CONNECTED);
    assert_int_equal(g->ring->error, 0);
    assert_int_equal(g->ring->req_cons, 0);
    assert_int_equal(g->ring->req_prod, 0);
    assert_int_equal(g->ring->rsp_cons, 0);
    assert_int_equal(g->ring->rsp_prod, 0);
    assert_int_equal(info(t, 1).error, 0);
    g->have = 0;
    READS(1, 0, "data/z", "z");
    /* Exactly the maximum is fine. */
    static char max[PVCORE_XENSTORE_PAYLOAD_MAX];
    memset(max, 'm', sizeof(max));
    memcpy(max, "data/max", 9);
    ERR(1, PVCORE_XS_WRITE, 0, max, sizeof(max), "ENOSPC"); /* value quota, not a break */
    assert_int_equal(info(t, 1).error, 0);
    xt_free(t);
}

static void test_hostile_indices(void **state)
{
    (void)state;
    static const uint32_t gaps[] = { 1025u, 0x80000000u, 0xFFFFFFFFu };
    for (size_t i = 0; i < sizeof(gaps) / sizeof(gaps[0]); i++) {
        struct xt *t = xt_new(NULL, true);
        struct guest *g = &t->g[1];
        /* Request producer too far ahead. */
        g->ring->req_cons = 100;
        g->ring->req_prod = 100u + gaps[i];
        assert_int_equal(pvcore_xenstore_process(t->xs, t->c[1]), -PVCORE_EIO);
        assert_int_equal(g->ring->error, PVCORE_XENSTORE_ERROR_RINGIDX);
        assert_int_equal(g->ring->req_cons, 100); /* nothing consumed */
        assert_int_equal(g->ring->rsp_prod, 0);   /* nothing written */
        check_invariants(t);
        /* Reply ring: consumer behind the producer by more than the ring. */
        g = &t->g[2];
        OK(2, PVCORE_XS_WATCH, 0, S("/local/domain/2\0w"));
        EVENT(2, "/local/domain/2", "w");
        g->ring->rsp_cons = g->ring->rsp_prod - gaps[i];
        tcall(t, PVCORE_XS_WRITE, V("/local/domain/2/x\0y"));
        uint32_t prod = g->ring->rsp_prod;
        assert_int_equal(pvcore_xenstore_process(t->xs, t->c[2]), -PVCORE_EIO);
        assert_int_equal(g->ring->error, PVCORE_XENSTORE_ERROR_RINGIDX);
        assert_int_equal(g->ring->rsp_prod, prod);
        xt_free(t);
    }
    /* Indices that wrap 2^32 legitimately work. */
    struct xt *t = xt_new(NULL, true);
    struct guest *g = &t->g[1];
    g->ring->req_cons = g->ring->req_prod = 0xFFFFFFF8u;
    g->ring->rsp_cons = g->ring->rsp_prod = 0xFFFFFFFAu;
    OK(1, PVCORE_XS_WRITE, 0, V("data/wrap\0w"));
    READS(1, 0, "data/wrap", "w");
    assert_true(g->ring->req_prod < 0x100);
    xt_free(t);
}

/* A dom0less-style page that says RECONNECT before the first call is reset first. */
static void test_reconnect_at_start(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    struct guest *g = &t->g[2];
    OK(2, PVCORE_XS_WATCH, 0, S("/local/domain/2\0w"));
    EVENT(2, "/local/domain/2", "w");
    g->ring->connection = PVCORE_XENSTORE_RECONNECT;
    assert_int_equal(pvcore_xenstore_process(t->xs, t->c[2]), PVCORE_XENSTORE_NOTIFY);
    assert_int_equal(info(t, 2).watches, 0);
    g->have = 0;
    REPLY(2, PVCORE_XS_GET_DOMAIN_PATH, 0, S("2"), S("/local/domain/2"));
    xt_free(t);
}

/* A guest flooding requests is served in batches. */
static void test_batches(void **state)
{
    (void)state;
    struct xt *t = xt_new(NULL, true);
    struct guest *g = &t->g[1];
    unsigned answered = 0;
    struct reply m;
    for (int round = 0; round < 20; round++) {
        /* Keep the ring full of tiny requests. */
        uint8_t req[16 + 2];
        uint32_t h[4] = { PVCORE_XS_GET_DOMAIN_PATH, 1, 0, 2 };
        memcpy(req, h, 16);
        memcpy(req + 16, "1", 2);
        while (g->ring->req_prod - g->ring->req_cons + sizeof(req) <= PVCORE_XENSTORE_RING_SIZE) {
            g_put(g, req, sizeof(req));
        }
        int rc = pvcore_xenstore_process(t->xs, t->c[1]);
        assert_true(rc >= 0);
        g_pull(g);
        while (g_msg(g, &m)) {
            assert_int_equal(m.type, PVCORE_XS_GET_DOMAIN_PATH);
            answered++;
        }
    }
    assert_true(answered > 100);
    xt_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_and_init),
        cmocka_unit_test(test_connect),
        cmocka_unit_test(test_grub_directory),
        cmocka_unit_test(test_read_write),
        cmocka_unit_test(test_mkdir_rm),
        cmocka_unit_test(test_directory),
        cmocka_unit_test(test_get_domain_path_and_misc),
        cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_permissions),
        cmocka_unit_test(test_watches),
        cmocka_unit_test(test_special_watches),
        cmocka_unit_test(test_watch_permissions),
        cmocka_unit_test(test_event_backpressure),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_transaction_conflicts),
        cmocka_unit_test(test_transaction_dropped),
        cmocka_unit_test(test_quotas),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_privileged_reserve),
        cmocka_unit_test(test_partial_messages),
        cmocka_unit_test(test_oversized_message),
        cmocka_unit_test(test_hostile_indices),
        cmocka_unit_test(test_reconnect_at_start),
        cmocka_unit_test(test_batches),
    };
    return cmocka_run_group_tests_name("xenstore", tests, NULL, NULL);
}
