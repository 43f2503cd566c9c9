/*
 * Fuzz target: the guest-side xenstore client (<pvcore/guest/xs.h>) against a hostile
 * server.
 *
 * The input is one stream of bytes read by both sides. The client side issues reads,
 * writes, watches, transactions, raw requests and event takes; whenever the client waits
 * for the server, the server side takes its next action from the same stream: answer the
 * request in flight properly (its own type, or an error), send a well-formed watch event,
 * either of them whole or in pieces (the next pieces on later turns, every message in
 * order behind the queued ones),
 * consume the request ring, send a well-formed reply to a request that is not in flight
 * (an id the client used before: a reply to an id it is yet to use cannot be told from
 * that request's own), write raw bytes to the reply ring, set rsp_prod or req_cons to
 * anything, scribble on the indices the client owns (req_prod, rsp_cons), do nothing, or
 * make the client give up. The ring page is allocated to the exact size of the interface,
 * so AddressSanitizer sees any access outside it.
 *
 * Checked, written from the protocol alone:
 *   - the request stream: the bytes the client publishes (from one req_prod it published
 *     to the next) are exactly the requests it was asked to send, header and payload, with
 *     ids 1, 2, 3, ... (a request cut off by a timeout is a prefix, and nothing follows);
 *     it never publishes more than a ring's worth beyond the server's req_cons;
 *   - after a fault, every call fails with -EIO and nothing more is published;
 *   - results are bounded: a read's length fits its buffer, which is NUL-terminated there;
 *     an event's strings are NUL-terminated within their buffers;
 *   - as long as the server has only sent well-formed messages and moved its indices
 *     correctly (stale replies and scribbling on the client's own indices allowed: the
 *     client must ignore both), there is no fault, each
 *     call's result is exactly what the server answered (value, error), and the events
 *     taken are the events sent, in order, except where a "lost" marker says some were
 *     dropped.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/abi/errno.h>
#include <pvcore/guest/xs.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RING PVCORE_XENSTORE_RING_SIZE
#define STREAM (64u * 1024u)
#define MAX_EVENTS 512u

struct h {
    const uint8_t *in;
    size_t len, pos;
    struct pvcore_xenstore_domain_interface *page;
    struct pvcore_guest_xs *xs; /* in an allocation of its own, so ASan sees its edges */
    /* messages queued for the reply ring, which reach it whole or in pieces, in order */
    unsigned char pend[4u * (16u + 4096u)];
    uint32_t pend_len, pend_pos;
    /* the request stream the client should publish, and how much of it has been seen */
    unsigned char expect[STREAM];
    uint32_t expect_len, seen, published; /* published: the client's req_prod, as last published */
    uint32_t scribbled_prod;             /* the value we last wrote to req_prod, or 0 */
    bool scribbled;
    uint32_t rsp_prod; /* ours */
    bool tainted;      /* the server broke the protocol at some point */
    bool broken;       /* a request was cut off by a timeout (the client breaks itself) */
    /* the request in flight and its proper answer */
    uint32_t cur_id, cur_type, cur_end; /* cur_end: where in the stream it ends */
    bool answered;
    uint32_t ans_type, ans_len;
    unsigned char ans[64];
    /* well-formed events sent, and how many the client has given back */
    uint32_t ev_sent, ev_taken;
    char ev_path[MAX_EVENTS][12];
    uint32_t next_id;
};

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_guest_xs: %s\n", what);
    abort();
}

static uint8_t take(struct h *h)
{
    return h->pos < h->len ? h->in[h->pos++] : 0;
}

static bool more(const struct h *h)
{
    return h->pos < h->len;
}

/* The client published (or is about to wait): check what it published. */
static void check_stream(struct h *h)
{
    uint32_t prod = h->page->req_prod, i;

    if (h->scribbled && prod == h->scribbled_prod) {
        return; /* still our scribble: nothing new published */
    }
    h->scribbled = false;
    if (prod - h->page->req_cons > RING && !h->tainted) {
        fail("more than a ring published beyond req_cons");
    }
    if (prod - h->published > RING) {
        fail("more than a ring published at once");
    }
    for (i = h->published; i != prod; i++) {
        if (h->seen >= h->expect_len) {
            fail("published bytes nobody asked for");
        }
        if ((unsigned char)h->page->req[i % RING] != h->expect[h->seen]) {
            fail("published bytes differ from the requests");
        }
        h->seen++;
    }
    h->published = prod;
}

static void send_bytes(struct h *h, const void *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        h->page->rsp[(h->rsp_prod + i) % RING] = ((const char *)p)[i];
    }
    h->rsp_prod += n;
    h->page->rsp_prod = h->rsp_prod;
}

/* Writes up to `max` queued bytes, as far as the ring has room. */
static void flush(struct h *h, uint32_t max)
{
    uint32_t room = RING - (h->rsp_prod - h->xs->rsp_cons), n = h->pend_len - h->pend_pos;

    if (h->rsp_prod - h->xs->rsp_cons > RING) {
        return; /* our own rsp_prod moved out of the protocol (tainted already) */
    }
    n = n < room ? n : room;
    n = n < max ? n : max;
    send_bytes(h, h->pend + h->pend_pos, n);
    h->pend_pos += n;
    if (h->pend_pos == h->pend_len) {
        h->pend_pos = h->pend_len = 0;
    }
}

/* Queues a well-formed message behind what is queued (false if the queue is full). */
static bool send_msg(struct h *h, uint32_t type, uint32_t id, const void *p, uint32_t n)
{
    struct pvcore_xsd_sockmsg m = { type, id, 0, n };

    if (h->pend_len + sizeof(m) + n > sizeof(h->pend)) {
        return false;
    }
    memcpy(h->pend + h->pend_len, &m, sizeof(m));
    memcpy(h->pend + h->pend_len + sizeof(m), p, n);
    h->pend_len += (uint32_t)sizeof(m) + n;
    return true;
}

static void notify(void *ctx)
{
    check_stream(ctx);
}

/* The server's turn. */
static int wait_hook(void *ctx, unsigned nwait)
{
    struct h *h = ctx;
    uint8_t op;
    uint32_t v;

    (void)nwait;
    check_stream(h);
    if (!more(h)) {
        return 1;
    }
    op = take(h);
    switch ((op & 0x7fu) % 10u) { /* bit 7: a variant of the action */
    case 0: /* answer the request in flight, if it is all here */
    case 1:
        if (h->cur_id != 0 && !h->answered && h->seen >= h->cur_end) {
            uint8_t n = take(h) % 40u;
            uint32_t type = h->cur_type;
            for (uint8_t i = 0; i < n; i++) {
                uint8_t b = take(h);
                h->ans[i] = (unsigned char)((b & 0x80u) ? '0' + b % 10u : 'a' + b % 26u);
            }
            if (type == PVCORE_XS_TRANSACTION_START) {
                h->ans[n++] = 0; /* "<id>" and its NUL */
            }
            if (op & 0x80u) { /* an error */
                static const char *const names[] = { "ENOENT", "EACCES", "EAGAIN", "EINVAL", "E2BIG", "EBOGUS" };
                const char *nm = names[take(h) % 6u];
                n = (uint8_t)(strlen(nm) + 1u);
                memcpy(h->ans, nm, n);
                type = PVCORE_XS_ERROR;
            }
            if (send_msg(h, type, h->cur_id, h->ans, n)) {
                h->answered = true;
                h->ans_type = type;
                h->ans_len = n;
            }
        }
        flush(h, (op & 0x7fu) % 10u == 1u ? 1u + take(h) % 24u : RING); /* 1: in pieces */
        break;
    case 2: /* a well-formed event */
        if (h->ev_sent < MAX_EVENTS) {
            char ev[16];
            int n = snprintf(ev, sizeof(ev), "e%u", (unsigned)h->ev_sent);
            memcpy(ev + n + 1, "tk", 3);
            if (send_msg(h, PVCORE_XS_WATCH_EVENT, 0, ev, (uint32_t)n + 4u)) {
                memcpy(h->ev_path[h->ev_sent++], ev, (size_t)n + 1u);
            }
        }
        flush(h, (op & 0x80u) ? 1u + take(h) % 24u : RING);
        break;
    case 3: /* consume everything published */
        h->page->req_cons = h->published;
        break;
    case 4: /* raw bytes (in the middle of whatever is queued: tainted) */
        v = take(h) % 48u;
        for (uint32_t i = 0; i < v; i++) {
            unsigned char b = take(h);
            send_bytes(h, &b, 1);
        }
        h->tainted = true;
        break;
    case 5: /* rsp_prod anywhere */
        v = (uint32_t)take(h) | (uint32_t)take(h) << 8;
        h->rsp_prod = (op & 0x80u) ? h->xs->rsp_cons + v : (v << 16 | v);
        h->page->rsp_prod = h->rsp_prod;
        h->tainted = true;
        break;
    case 6: /* req_cons anywhere */
        v = (uint32_t)take(h) | (uint32_t)take(h) << 8;
        h->page->req_cons = (op & 0x80u) ? h->published + v : h->published - v;
        h->tainted = true;
        break;
    case 7: /* the client's own indices: ignored by it */
        v = (uint32_t)take(h) << 8 | take(h);
        if (op & 0x80u) {
            h->page->req_prod = v;
            h->scribbled = true;
            h->scribbled_prod = v;
        } else {
            h->page->rsp_cons = v;
        }
        break;
    case 8: /* give up */
        return 1;
    default:
        if (op & 0x80u) { /* a well-formed reply to a request no longer in flight: dropped */
            /* Only ids the client has used: a reply to an id it has yet to use is, when it
             * is read after that request is made, that request's reply as far as any
             * client can tell (the protocol matches by id alone). */
            uint32_t id = h->cur_id - 1u - take(h) % 4u;
            (void)take(h);
            (void)send_msg(h, take(h) % 14u, id, "zz", 3);
            flush(h, RING);
        } else { /* the next piece of what is queued */
            flush(h, 1u + take(h) % 24u);
        }
        break;
    }
    return 0;
}

static const struct pvcore_guest_xs_ops ops = { notify, wait_hook };

/* Records the request the client is about to send (when it will send one). */
static void expect_request(struct h *h, uint32_t type, uint32_t tx, const void *const *parts, const uint32_t *lens,
                           unsigned n)
{
    struct pvcore_xsd_sockmsg m = { type, 0, tx, 0 };
    uint32_t total = 0;

    for (unsigned i = 0; i < n; i++) {
        total += lens[i];
    }
    if (pvcore_guest_xs_fault(h->xs) != 0) {
        h->cur_id = 0;
        return;
    }
    m.req_id = h->next_id++;
    m.len = total;
    if (h->expect_len + sizeof(m) + total > STREAM) {
        fail("stream model full"); /* cannot happen: inputs are short */
    }
    memcpy(h->expect + h->expect_len, &m, sizeof(m));
    h->expect_len += sizeof(m);
    for (unsigned i = 0; i < n; i++) {
        memcpy(h->expect + h->expect_len, parts[i], lens[i]);
        h->expect_len += lens[i];
    }
    h->cur_id = m.req_id;
    h->cur_type = type;
    h->cur_end = h->expect_len;
    h->answered = false;
}

/* The result of a request, when the server kept to the protocol. */
static void check_result(struct h *h, int rc, int ok_value)
{
    if (pvcore_guest_xs_fault(h->xs) != 0) {
        if (rc != -PVCORE_EIO && rc != -PVCORE_ETIMEDOUT) {
            fail("a broken client returned something else than EIO or ETIMEDOUT");
        }
        if (rc == -PVCORE_ETIMEDOUT) {
            h->broken = true;
        } else if (!h->tainted && !h->broken) {
            fail("a fault without a protocol violation");
        }
        return;
    }
    if (h->tainted || rc == -PVCORE_ETIMEDOUT) {
        return;
    }
    if (!h->answered) {
        fail("a result without an answer");
    }
    if (h->ans_type == PVCORE_XS_ERROR) {
        static const struct {
            const char *n;
            int e;
        } map[] = { { "ENOENT", PVCORE_ENOENT }, { "EACCES", PVCORE_EACCES }, { "EAGAIN", PVCORE_EAGAIN },
                    { "EINVAL", PVCORE_EINVAL }, { "E2BIG", PVCORE_E2BIG },   { "EBOGUS", PVCORE_EINVAL } };
        for (unsigned i = 0; i < 6; i++) {
            if (strcmp((const char *)h->ans, map[i].n) == 0 && rc != -map[i].e) {
                fail("an error answer gave another result");
            }
        }
    } else if (rc != ok_value) {
        fail("a proper answer gave another result");
    }
}

static void path_from_input(struct h *h, char *p, size_t cap)
{
    size_t n = 1u + take(h) % (cap - 2u);

    for (size_t i = 0; i < n; i++) {
        p[i] = (char)('a' + take(h) % 26u);
    }
    p[n] = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct h h;
    char path[24], buf[80], tok[16];
    static char value[2100];

    memset(&h, 0, sizeof(h));
    h.in = data;
    h.len = size;
    h.next_id = 1;
    h.page = calloc(1, sizeof(*h.page));
    h.xs = malloc(sizeof(*h.xs));
    if (h.page == NULL || h.xs == NULL) {
        free(h.page);
        free(h.xs);
        return 0;
    }
    if (pvcore_guest_xs_init(h.xs, h.page, &ops, &h) != 0) {
        fail("init");
    }
    while (more(&h)) {
        uint8_t op = take(&h);
        int rc;

        switch ((op & 0x7fu) % 6u) { /* bit 7: a variant of the operation */
        case 0: { /* read */
            uint32_t cap = 1u + take(&h) % (uint32_t)sizeof(buf);
            const void *parts[1] = { path };
            uint32_t lens[1];
            path_from_input(&h, path, sizeof(path));
            lens[0] = (uint32_t)strlen(path) + 1u;
            expect_request(&h, PVCORE_XS_READ, 0, parts, lens, 1);
            rc = pvcore_guest_xs_read(h.xs, 0, path, buf, cap);
            if (rc >= 0 && ((uint32_t)rc >= cap || buf[rc] != 0)) {
                fail("read: length or NUL out of place");
            }
            if (rc < 0 && memchr(buf, 0, cap) == NULL) {
                fail("read: the buffer is not a string after an error");
            }
            /* Answered properly: the value, or E2BIG when it does not fit with its NUL. */
            check_result(&h, rc, h.ans_len < cap ? (int)h.ans_len : -PVCORE_E2BIG);
            if (rc >= 0 && !h.tainted && memcmp(buf, h.ans, (size_t)rc) != 0) {
                fail("read: not the value answered");
            }
            break;
        }
        case 1: { /* write, up to two rings long */
            uint32_t n = ((uint32_t)take(&h) << 4 | take(&h)) % 2100u;
            const void *parts[2] = { path, value };
            uint32_t lens[2];
            path_from_input(&h, path, sizeof(path));
            memset(value, 'a' + take(&h) % 26, n);
            lens[0] = (uint32_t)strlen(path) + 1u;
            lens[1] = n;
            expect_request(&h, PVCORE_XS_WRITE, 0, parts, lens, 2);
            check_result(&h, pvcore_guest_xs_write(h.xs, 0, path, value, n), 0);
            break;
        }
        case 2: { /* watch or unwatch */
            const void *parts[2] = { path, "tk" };
            uint32_t lens[2] = { 0, 3 };
            path_from_input(&h, path, sizeof(path));
            lens[0] = (uint32_t)strlen(path) + 1u;
            expect_request(&h, (op & 0x80u) ? PVCORE_XS_UNWATCH : PVCORE_XS_WATCH, 0, parts, lens, 2);
            check_result(&h, pvcore_guest_xs_watch(h.xs, path, "tk", (op & 0x80u) == 0), 0);
            break;
        }
        case 3: { /* a raw request of any type but the server's own */
            uint32_t type = take(&h) % 24u, tx = take(&h);
            const void *parts[1] = { "x" };
            uint32_t lens[1] = { 2 };
            if (type == PVCORE_XS_WATCH_EVENT || type == PVCORE_XS_ERROR) {
                if (pvcore_guest_xs_request(h.xs, type, tx, parts, lens, 1, NULL, 0, NULL) != -PVCORE_EINVAL) {
                    fail("a request of the server's own type was not refused");
                }
                break;
            }
            expect_request(&h, type, tx, parts, lens, 1);
            rc = pvcore_guest_xs_request(h.xs, type, tx, parts, lens, 1, buf, sizeof(buf), NULL);
            check_result(&h, rc, 0);
            break;
        }
        case 4: { /* take an event */
            uint32_t pcap = 1u + take(&h) % 12u, tcap = 1u + take(&h) % 4u;
            rc = pvcore_guest_xs_event(h.xs, buf, pcap, tok, tcap);
            if (rc == 1) {
                if (strlen(buf) >= pcap || strlen(tok) >= tcap) {
                    fail("event strings overrun");
                }
                if (!h.tainted && pcap == 12u && buf[0] != 0) {
                    /* The next event taken is a later one than the last, in order. */
                    uint32_t k = h.ev_taken;
                    while (k < h.ev_sent && strcmp(h.ev_path[k], buf) != 0) {
                        k++;
                    }
                    if (k == h.ev_sent) {
                        fail("an event that was not sent, or out of order");
                    }
                    h.ev_taken = k + 1u;
                }
            } else if (rc != 0 && !(rc == -PVCORE_EIO && pvcore_guest_xs_fault(h.xs) != 0)) {
                fail("event: unexpected result");
            }
            break;
        }
        default: { /* a transaction */
            uint32_t tx = 0;
            const void *parts[1] = { "" };
            uint32_t lens[1] = { 1 };
            expect_request(&h, PVCORE_XS_TRANSACTION_START, 0, parts, lens, 1);
            rc = pvcore_guest_xs_transaction_start(h.xs, &tx);
            if (rc == 0 && tx == 0) {
                fail("transaction id 0");
            }
            if (rc == -PVCORE_ETIMEDOUT && pvcore_guest_xs_fault(h.xs) != 0) {
                h.broken = true;
            }
            if (!h.tainted && h.answered && h.ans_type == PVCORE_XS_TRANSACTION_START && rc != -PVCORE_ETIMEDOUT &&
                pvcore_guest_xs_fault(h.xs) == 0) {
                /* Digits (not all zero, fitting 32 bits) and a NUL: that id; else EIO. */
                uint64_t id = 0;
                bool num = h.ans_len >= 2u && h.ans_len <= 16u;
                for (uint32_t i = 0; num && i + 1u < h.ans_len; i++) {
                    num = h.ans[i] >= '0' && h.ans[i] <= '9';
                    id = id * 10u + (uint64_t)(h.ans[i] - '0');
                    num = num && id <= UINT32_MAX;
                }
                num = num && id != 0;
                if (num ? (rc != 0 || tx != id) : rc != -PVCORE_EIO) {
                    fail("transaction_start: not the id answered");
                }
            }
            break;
        }
        }
        check_stream(&h); /* after a fault nothing is expected: anything published fails */
    }
    free(h.xs);
    free(h.page);
    return 0;
}
