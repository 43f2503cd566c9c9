/*
 * The guest-side xenstore client (<pvcore/guest/xs.h>) against libpvcore's own server
 * (<pvcore/xenstore.h>) on an in-memory ring page, the client's `wait` hook serving the
 * ring; and against a hostile server, a `wait` hook that writes what a broken or malicious
 * server might: indices past the ring, oversized messages, stale and invented replies,
 * events without strings, and writes to the fields the client owns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/abi/errno.h>
#include <pvcore/guest/xs.h>
#include <pvcore/xenstore.h>

struct env {
    struct pvcore_xenstore_domain_interface *page;
    struct pvcore_xenstore *store;
    struct pvcore_xenstore_conn *conn;
    void *mem;
    struct pvcore_guest_xs xs;
    unsigned waits, notifies, max_waits;
    bool serve;                                  /* the wait hook runs the real server */
    void (*hostile)(struct env *e, unsigned n);  /* or writes this, on the n-th wait */
};

static void notify(void *ctx)
{
    ((struct env *)ctx)->notifies++;
}

static int wait_hook(void *ctx, unsigned n)
{
    struct env *e = ctx;

    (void)n;
    if (e->waits++ >= e->max_waits) {
        return 1;
    }
    if (e->hostile != NULL) {
        e->hostile(e, e->waits);
    } else if (e->serve) {
        while (pvcore_xenstore_process(e->store, e->conn) & (int)PVCORE_XENSTORE_AGAIN) {
        }
    }
    return 0;
}

static const struct pvcore_guest_xs_ops ops = { notify, wait_hook };

static void toolstack(struct env *e, uint32_t type, const char *p, uint32_t n)
{
    assert_int_equal(pvcore_xenstore_call(e->store, type, p, n, NULL, 0, NULL), 0);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    struct pvcore_xenstore_config cfg;
    size_t sz;

    assert_non_null(e);
    e->page = aligned_alloc(4096, 4096);
    assert_non_null(e->page);
    memset(e->page, 0, 4096);
    pvcore_xenstore_default_config(&cfg);
    sz = pvcore_xenstore_size(&cfg);
    e->mem = aligned_alloc(64, (sz + 63u) & ~(size_t)63u);
    assert_non_null(e->mem);
    assert_int_equal(pvcore_xenstore_init(e->mem, sz, &cfg, &e->store), 0);
    /* Domain 3's home is its own; domain 4's is not readable by it. */
    toolstack(e, PVCORE_XS_MKDIR, "/local/domain/3", 16);
    toolstack(e, PVCORE_XS_SET_PERMS, "/local/domain/3\0n3", 19);
    toolstack(e, PVCORE_XS_WRITE, "/local/domain/4/secret\0x", 24);
    toolstack(e, PVCORE_XS_SET_PERMS, "/local/domain/4/secret\0n4", 26);
    assert_int_equal(pvcore_xenstore_connect(e->store, e->page, 3, false, &e->conn), 0);
    e->serve = true;
    e->max_waits = 1000;
    assert_int_equal(pvcore_guest_xs_init(&e->xs, e->page, &ops, e), 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    const char *what = NULL;

    if (e->conn != NULL) {
        assert_int_equal(pvcore_xenstore_check(e->store, &what), 0);
        pvcore_xenstore_disconnect(e->store, e->conn);
    }
    free(e->mem);
    free(e->page);
    free(e);
    return 0;
}

static void test_init_args(void **state)
{
    struct env *e = *state;
    struct pvcore_guest_xs xs;
    static const struct pvcore_guest_xs_ops half = { notify, NULL };

    assert_int_equal(pvcore_guest_xs_init(NULL, e->page, &ops, e), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_init(&xs, NULL, &ops, e), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_init(&xs, e->page, NULL, e), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_init(&xs, e->page, &half, e), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_fault(NULL), -PVCORE_EINVAL);
}

static void test_read_write(void **state)
{
    struct env *e = *state;
    char buf[64];
    uint64_t v = 0;

    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, "device/vbd/768/state", "1"), 0);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "/local/domain/3/device/vbd/768/state", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "1");
    assert_int_equal(pvcore_guest_xs_write_u64(&e->xs, 0, "ring-ref", 18446744073709551615u), 0);
    assert_int_equal(pvcore_guest_xs_read_u64(&e->xs, 0, "ring-ref", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(pvcore_guest_xs_write_u64(&e->xs, 0, "zero", 0), 0);
    assert_int_equal(pvcore_guest_xs_read_u64(&e->xs, 0, "zero", &v), 0);
    assert_true(v == 0);
    /* An empty value, then values that are not numbers. */
    assert_int_equal(pvcore_guest_xs_write(&e->xs, 0, "empty", NULL, 0), 0);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "empty", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    assert_int_equal(pvcore_guest_xs_read_u64(&e->xs, 0, "empty", &v), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, "n", "12x"), 0);
    assert_int_equal(pvcore_guest_xs_read_u64(&e->xs, 0, "n", &v), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, "n", "18446744073709551616"), 0);
    assert_int_equal(pvcore_guest_xs_read_u64(&e->xs, 0, "n", &v), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, "n", "123456789012345678901234567890"), 0);
    assert_int_equal(pvcore_guest_xs_read_u64(&e->xs, 0, "n", &v), -PVCORE_EINVAL);
    /* A value longer than the buffer: cut, and said so. */
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "n", buf, 5), -PVCORE_E2BIG);
    assert_string_equal(buf, "1234");
    /* The server's errors, by name. */
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "missing", buf, sizeof(buf)), -PVCORE_ENOENT);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "/local/domain/4/secret", buf, sizeof(buf)), -PVCORE_EACCES);
    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, "/local/domain/4/secret", "y"), -PVCORE_EACCES);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "bad//path", buf, sizeof(buf)), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_rm(&e->xs, 0, "device"), 0);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "device/vbd/768/state", buf, sizeof(buf)), -PVCORE_ENOENT);
    assert_int_equal(pvcore_guest_xs_fault(&e->xs), 0);
}

static void test_bad_arguments(void **state)
{
    struct env *e = *state;
    static char big[PVCORE_XENSTORE_PAYLOAD_MAX + 8];
    const void *parts[2] = { "a", big };
    uint32_t lens[2] = { 2, PVCORE_XENSTORE_PAYLOAD_MAX - 1u };
    char buf[8];
    uint64_t v;
    uint32_t tx;

    assert_int_equal(pvcore_guest_xs_request(NULL, PVCORE_XS_READ, 0, NULL, NULL, 0, NULL, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_request(&e->xs, PVCORE_XS_READ, 0, NULL, lens, 1, NULL, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_request(&e->xs, PVCORE_XS_READ, 0, NULL, NULL, 0, NULL, 4, NULL), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_request(&e->xs, PVCORE_XS_WATCH_EVENT, 0, NULL, NULL, 0, NULL, 0, NULL),
                     -PVCORE_EINVAL);
    /* 4097 bytes in two parts: refused before anything is written. */
    assert_int_equal(pvcore_guest_xs_request(&e->xs, PVCORE_XS_WRITE, 0, parts, lens, 2, NULL, 0, NULL),
                     -PVCORE_EINVAL);
    memset(big, 'a', sizeof(big) - 1u);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, big, buf, sizeof(buf)), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, NULL, buf, sizeof(buf)), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "x", buf, 0), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_read_u64(&e->xs, 0, "x", NULL), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_write(&e->xs, 0, "x", NULL, 1), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, "x", NULL), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_watch(&e->xs, "x", NULL, true), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_watch(&e->xs, "x", big, true), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_transaction_start(&e->xs, NULL), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_event(&e->xs, NULL, 1, buf, 1), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_event(&e->xs, buf, 0, buf, 1), -PVCORE_EINVAL);
    /* Nothing was sent: the client still works. */
    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, "x", "7"), 0);
    assert_int_equal(pvcore_guest_xs_read_u64(&e->xs, 0, "x", &v), 0);
    assert_true(v == 7);
    assert_int_equal(pvcore_guest_xs_transaction_start(&e->xs, &tx), 0);
    assert_int_equal(pvcore_guest_xs_transaction_end(&e->xs, tx, false), 0);
}

/* Values longer than a ring, so that requests and replies wrap and wait for room. */
static void test_long_values(void **state)
{
    struct env *e = *state;
    static char val[2001], back[2048];
    unsigned i, round;

    for (round = 0; round < 5; round++) {
        for (i = 0; i < 2000; i++) {
            val[i] = (char)('a' + (i * 7u + round) % 26u);
        }
        val[2000] = 0;
        assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, "long", val), 0);
        assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "long", back, sizeof(back)), 2000);
        assert_memory_equal(back, val, 2001);
    }
    assert_true(e->notifies > 0);
}

static void test_watch_events(void **state)
{
    struct env *e = *state;
    char path[64], token[16];
    unsigned n = 0;

    assert_int_equal(pvcore_guest_xs_event(&e->xs, path, sizeof(path), token, sizeof(token)), 0);
    assert_int_equal(pvcore_guest_xs_watch(&e->xs, "backend", "tok", true), 0);
    /* The first event, at once. */
    assert_int_equal(pvcore_guest_xs_event(&e->xs, path, sizeof(path), token, sizeof(token)), 1);
    assert_string_equal(path, "backend");
    assert_string_equal(token, "tok");
    assert_int_equal(pvcore_guest_xs_event(&e->xs, path, sizeof(path), token, sizeof(token)), 0);
    /* Events arriving while a request waits for its reply are queued. */
    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, "backend/vbd/state", "2"), 0);
    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, "other", "2"), 0);
    while (pvcore_guest_xs_event(&e->xs, path, sizeof(path), token, sizeof(token)) == 1) {
        assert_string_equal(token, "tok");
        assert_memory_equal(path, "backend", 7);
        n++;
    }
    assert_true(n >= 1);
    /* Cut to the caller's buffers. */
    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, "backend/vbd/state", "3"), 0);
    assert_int_equal(pvcore_guest_xs_event(&e->xs, path, 4, token, 2), 1);
    assert_string_equal(path, "bac");
    assert_string_equal(token, "t");
    assert_int_equal(pvcore_guest_xs_watch(&e->xs, "backend", "tok", false), 0);
    assert_int_equal(pvcore_guest_xs_watch(&e->xs, "backend", "tok", false), -PVCORE_ENOENT);
    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, "backend/vbd/state", "4"), 0);
    assert_int_equal(pvcore_guest_xs_event(&e->xs, path, sizeof(path), token, sizeof(token)), 0);
}

/* More events than the queue holds: one "lost" marker, then what was kept. */
static void test_event_overflow(void **state)
{
    struct env *e = *state;
    char path[64], token[16], node[32];
    unsigned i, kept = 0;

    assert_int_equal(pvcore_guest_xs_watch(&e->xs, "w", "t", true), 0);
    for (i = 0; i < 200; i++) {
        memcpy(node, "w/node", 6);
        node[6] = (char)('a' + i % 26u);
        node[7] = (char)('a' + i / 26u);
        node[8] = 0;
        assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, node, "v"), 0);
    }
    assert_int_equal(pvcore_guest_xs_event(&e->xs, path, sizeof(path), token, sizeof(token)), 1);
    assert_string_equal(path, "");
    assert_string_equal(token, "");
    while (pvcore_guest_xs_event(&e->xs, path, sizeof(path), token, sizeof(token)) == 1) {
        assert_string_equal(token, "t");
        kept++;
    }
    assert_true(kept > 10 && kept < 200);
    /* Room again: new events are queued. */
    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, "w/last", "v"), 0);
    assert_int_equal(pvcore_guest_xs_event(&e->xs, path, sizeof(path), token, sizeof(token)), 1);
    assert_string_equal(path, "w/last");
}

static void test_transactions(void **state)
{
    struct env *e = *state;
    char buf[16];
    uint32_t t1, t2;

    assert_int_equal(pvcore_guest_xs_transaction_start(&e->xs, &t1), 0);
    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, t1, "tx", "1"), 0);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "tx", buf, sizeof(buf)), -PVCORE_ENOENT);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, t1, "tx", buf, sizeof(buf)), 1);
    assert_int_equal(pvcore_guest_xs_transaction_end(&e->xs, t1, true), 0);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "tx", buf, sizeof(buf)), 1);
    /* A conflicting commit: EAGAIN. */
    assert_int_equal(pvcore_guest_xs_transaction_start(&e->xs, &t1), 0);
    assert_int_equal(pvcore_guest_xs_transaction_start(&e->xs, &t2), 0);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, t1, "tx", buf, sizeof(buf)), 1);
    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, t1, "tx", "2"), 0);
    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, t2, "tx", "3"), 0);
    assert_int_equal(pvcore_guest_xs_transaction_end(&e->xs, t2, true), 0);
    assert_int_equal(pvcore_guest_xs_transaction_end(&e->xs, t1, true), -PVCORE_EAGAIN);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "tx", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "3");
    assert_int_equal(pvcore_guest_xs_transaction_end(&e->xs, 12345, true), -PVCORE_ENOENT);
}

/* A server that does not answer in time; its late reply is dropped afterwards. */
static void test_timeout_then_late_reply(void **state)
{
    struct env *e = *state;
    char buf[16];

    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, "a", "old"), 0);
    e->serve = false;
    e->waits = 0;
    e->max_waits = 3;
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "a", buf, sizeof(buf)), -PVCORE_ETIMEDOUT);
    assert_int_equal(pvcore_guest_xs_fault(&e->xs), 0);
    e->serve = true;
    e->max_waits = 1000;
    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, "a", "new"), 0);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "a", buf, sizeof(buf)), 3);
    assert_string_equal(buf, "new");
}

/* A request cut off part-way breaks the stream: the client says so and stops. */
static void test_timeout_mid_request(void **state)
{
    struct env *e = *state;
    static char val[1500];
    char buf[8];

    memset(val, 'v', sizeof(val) - 1u);
    e->serve = false;
    e->max_waits = 2;
    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, "a", val), -PVCORE_ETIMEDOUT);
    assert_int_equal(pvcore_guest_xs_fault(&e->xs), -PVCORE_EIO);
    e->serve = true;
    e->max_waits = 1000;
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "a", buf, sizeof(buf)), -PVCORE_EIO);
}

/* --- A hostile server: no real server, the wait hook writes the reply ring. --- */

static uint32_t sent_id(struct env *e)
{
    struct pvcore_xsd_sockmsg m;
    unsigned i;

    /* The header of the latest request, which starts at the ring's req_cons. */
    for (i = 0; i < sizeof(m); i++) {
        ((unsigned char *)&m)[i] = (unsigned char)e->page->req[PVCORE_MASK_XENSTORE_IDX(e->page->req_cons + i)];
    }
    return m.req_id;
}

static void consume_request(struct env *e)
{
    e->page->req_cons = e->page->req_prod;
}

static void send_bytes(struct env *e, const void *p, uint32_t n)
{
    uint32_t i;

    for (i = 0; i < n; i++) {
        e->page->rsp[PVCORE_MASK_XENSTORE_IDX(e->page->rsp_prod + i)] = ((const char *)p)[i];
    }
    e->page->rsp_prod += n;
}

static void send_msg(struct env *e, uint32_t type, uint32_t id, const void *p, uint32_t n)
{
    struct pvcore_xsd_sockmsg m = { type, id, 0, n };

    send_bytes(e, &m, sizeof(m));
    send_bytes(e, p, n);
}

static void hostile_setup(struct env *e, void (*h)(struct env *, unsigned))
{
    pvcore_xenstore_disconnect(e->store, e->conn);
    e->conn = NULL;
    e->hostile = h;
    e->max_waits = 50;
}

static void h_prod_past_ring(struct env *e, unsigned n)
{
    (void)n;
    e->page->rsp_prod = e->page->rsp_cons + PVCORE_XENSTORE_RING_SIZE + 1u;
}

static void h_oversized(struct env *e, unsigned n)
{
    struct pvcore_xsd_sockmsg m = { PVCORE_XS_READ, sent_id(e), 0, PVCORE_XENSTORE_PAYLOAD_MAX + 1u };
    (void)n;
    consume_request(e);
    send_bytes(e, &m, sizeof(m));
}

static void h_cons_past_prod(struct env *e, unsigned n)
{
    (void)n;
    e->page->req_cons = e->page->req_prod + 1u;
}

static void test_hostile_indices(void **state)
{
    struct env *e = *state;
    static char val[1500];
    char buf[8];

    hostile_setup(e, h_prod_past_ring);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "a", buf, sizeof(buf)), -PVCORE_EIO);
    assert_int_equal(pvcore_guest_xs_fault(&e->xs), -PVCORE_EIO);
    /* Sticky: nothing more is written to the ring. */
    uint32_t prod = e->page->req_prod;
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "a", buf, sizeof(buf)), -PVCORE_EIO);
    assert_int_equal(pvcore_guest_xs_event(&e->xs, buf, sizeof(buf), buf, sizeof(buf)), -PVCORE_EIO);
    assert_int_equal(e->page->req_prod, prod);

    memset(e->page, 0, 4096);
    assert_int_equal(pvcore_guest_xs_init(&e->xs, e->page, &ops, e), 0);
    e->hostile = h_oversized;
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "a", buf, sizeof(buf)), -PVCORE_EIO);
    assert_int_equal(pvcore_guest_xs_fault(&e->xs), -PVCORE_EIO);

    /* req_cons beyond what was produced, seen while waiting for room. */
    memset(e->page, 0, 4096);
    assert_int_equal(pvcore_guest_xs_init(&e->xs, e->page, &ops, e), 0);
    e->hostile = h_cons_past_prod;
    memset(val, 'v', sizeof(val) - 1u);
    assert_int_equal(pvcore_guest_xs_write_str(&e->xs, 0, "a", val), -PVCORE_EIO);
}

static unsigned step;

/* A stale reply, an invented one and an event without strings before the real reply;
 * the server also scribbles on the indices the client owns. */
static void h_noise_then_reply(struct env *e, unsigned n)
{
    uint32_t id = sent_id(e);
    (void)n;
    consume_request(e);
    send_msg(e, PVCORE_XS_READ, id - 1u, "stale", 5);
    send_msg(e, PVCORE_XS_READ, id + 7u, "invented", 8);
    send_msg(e, PVCORE_XS_WATCH_EVENT, 0, "nonul", 5);
    send_msg(e, PVCORE_XS_WATCH_EVENT, 0, "", 0);
    e->page->rsp_cons = 12345u; /* ignored: the client's copy is the index */
    e->page->req_prod = 999u;
    switch (step++) {
    case 0:
        send_msg(e, PVCORE_XS_READ, id, "right", 5);
        break;
    case 1:
        send_msg(e, PVCORE_XS_WRITE, id, "OK", 3); /* the wrong type */
        break;
    case 2:
        send_msg(e, PVCORE_XS_ERROR, id, "EBOGUS", 7);
        break;
    case 3:
        send_msg(e, PVCORE_XS_ERROR, id, "ENOENTENOENTENOENT", 18); /* no NUL, too long */
        break;
    default:
        send_msg(e, PVCORE_XS_ERROR, id, "EROFS", 6);
        break;
    }
}

static void test_hostile_replies(void **state)
{
    struct env *e = *state;
    char buf[16], path[16], token[16];

    hostile_setup(e, h_noise_then_reply);
    step = 0;
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "a", buf, sizeof(buf)), 5);
    assert_string_equal(buf, "right");
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "a", buf, sizeof(buf)), -PVCORE_EIO);
    assert_int_equal(pvcore_guest_xs_fault(&e->xs), 0); /* a bad answer, not a broken ring */
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "a", buf, sizeof(buf)), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "a", buf, sizeof(buf)), -PVCORE_EINVAL);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "a", buf, sizeof(buf)), -PVCORE_EROFS);
    /* The events: a payload without NULs is a path and an empty token. */
    assert_int_equal(pvcore_guest_xs_event(&e->xs, path, sizeof(path), token, sizeof(token)), 1);
    assert_string_equal(path, "nonul");
    assert_string_equal(token, "");
    assert_int_equal(pvcore_guest_xs_event(&e->xs, path, sizeof(path), token, sizeof(token)), 1);
    assert_string_equal(path, "");
    assert_int_equal(pvcore_guest_xs_fault(&e->xs), 0);
}

/* A reply that arrives one byte per wait, header and payload alike. */
static uint32_t trickle_id;
static void h_trickle(struct env *e, unsigned n)
{
    static unsigned char msg[16 + 5];
    struct pvcore_xsd_sockmsg m = { PVCORE_XS_READ, 0, 0, 5 };

    if (n == 1) {
        trickle_id = sent_id(e);
        consume_request(e);
    }
    m.req_id = trickle_id;
    memcpy(msg, &m, 16);
    memcpy(msg + 16, "slow!", 5);
    if (n <= sizeof(msg)) {
        send_bytes(e, msg + n - 1u, 1);
    }
}

static void test_hostile_trickle(void **state)
{
    struct env *e = *state;
    char buf[8];

    hostile_setup(e, h_trickle);
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "a", buf, sizeof(buf)), 5);
    assert_string_equal(buf, "slow!");
}

/* An event taken while the next one is still arriving: the queue must not start again
 * at the front under it. */
static void h_split_event(struct env *e, unsigned n)
{
    static const char ev2[] = "second/path\0tok";
    struct pvcore_xsd_sockmsg m = { PVCORE_XS_WATCH_EVENT, 0, 0, sizeof(ev2) };

    if (n == 1) {
        send_msg(e, PVCORE_XS_WATCH_EVENT, 0, "first\0tok", 10);
        send_bytes(e, &m, sizeof(m));
        send_bytes(e, ev2, 5); /* the rest later */
    } else if (n == 2) {
        send_bytes(e, ev2 + 5, sizeof(ev2) - 5);
    }
}

static void test_hostile_event_in_pieces(void **state)
{
    struct env *e = *state;
    char path[32], token[8];

    hostile_setup(e, h_split_event);
    e->hostile(e, ++e->waits);
    assert_int_equal(pvcore_guest_xs_event(&e->xs, path, sizeof(path), token, sizeof(token)), 1);
    assert_string_equal(path, "first");
    assert_int_equal(pvcore_guest_xs_event(&e->xs, path, sizeof(path), token, sizeof(token)), 0);
    e->hostile(e, ++e->waits);
    assert_int_equal(pvcore_guest_xs_event(&e->xs, path, sizeof(path), token, sizeof(token)), 1);
    assert_string_equal(path, "second/path");
    assert_string_equal(token, "tok");
    assert_int_equal(pvcore_guest_xs_event(&e->xs, path, sizeof(path), token, sizeof(token)), 0);
    assert_int_equal(pvcore_guest_xs_fault(&e->xs), 0);
}

/* A reply whose rest arrives after its request gave up: dropped, never taken as the
 * next request's. */
static uint32_t first_id;
static void h_reply_after_timeout(struct env *e, unsigned n)
{
    static const char old[] = "stale-value";
    struct pvcore_xsd_sockmsg m = { PVCORE_XS_READ, 0, 0, sizeof(old) - 1u };

    if (n == 1) {
        first_id = sent_id(e);
        consume_request(e);
        m.req_id = first_id;
        send_bytes(e, &m, sizeof(m));
        send_bytes(e, old, 3);
    } else if (n >= 3 && e->page->req_cons != e->page->req_prod) { /* the second read */
        uint32_t id = sent_id(e);
        consume_request(e);
        send_bytes(e, old + 3, sizeof(old) - 4u); /* the old reply ends */
        send_msg(e, PVCORE_XS_READ, id, "fresh", 5);
    }
}

static void test_hostile_reply_after_timeout(void **state)
{
    struct env *e = *state;
    char buf[16];

    hostile_setup(e, h_reply_after_timeout);
    e->max_waits = 2; /* the first read gives up after its second wait */
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "a", buf, sizeof(buf)), -PVCORE_ETIMEDOUT);
    assert_string_equal(buf, "");
    e->max_waits = 50;
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "b", buf, sizeof(buf)), 5);
    assert_string_equal(buf, "fresh");
    assert_int_equal(pvcore_guest_xs_fault(&e->xs), 0);
}

/* A server that sends forever (one well-formed stale reply per wait) cannot hold a call:
 * the client waits after every step, so the embedder's bound ends it. */
static void h_babble(struct env *e, unsigned n)
{
    (void)n;
    send_msg(e, PVCORE_XS_READ, 0x7fffffffu, "zz", 2);
}

static void test_hostile_babble(void **state)
{
    struct env *e = *state;
    char buf[8], tok[8];

    hostile_setup(e, h_babble);
    e->max_waits = 20;
    assert_int_equal(pvcore_guest_xs_read(&e->xs, 0, "a", buf, sizeof(buf)), -PVCORE_ETIMEDOUT);
    assert_int_equal(e->waits, 21);
    assert_int_equal(pvcore_guest_xs_event(&e->xs, buf, sizeof(buf), tok, sizeof(tok)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_then_late_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_mid_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_indices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_trickle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_event_in_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_reply_after_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_babble, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
