/*
 * The guest side of xenstore (<pvcore/guest/xs.h>): one request at a time over the store
 * ring page, replies and watch events read once into the client's memory.
 *
 * The client keeps its own copies of the two indices it owns (req_prod, rsp_cons) and
 * only ever publishes them: what the server writes to those fields of the page is never
 * read back. Of the server's indices, rsp_prod may not claim more than a ring's worth of
 * unread bytes and req_cons may not pass req_prod; either breaks the client for good, as
 * does a message longer than the protocol allows.
 */
#include <pvcore/abi/errno.h>
#include <pvcore/guest/xs.h>

#include <string.h>

#define RING PVCORE_XENSTORE_RING_SIZE
#define HDR ((uint32_t)sizeof(struct pvcore_xsd_sockmsg))

enum { DEST_DROP, DEST_REPLY, DEST_EVENT };

/* acquire: the server's bytes (or its reads of ours) that the index covers are done. */
static uint32_t load_index(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* release: our bytes are written (or our reads of its bytes done) before the index says so. */
static void publish_index(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static int fault(struct pvcore_guest_xs *xs)
{
    xs->fault = -PVCORE_EIO;
    return xs->fault;
}

static uint32_t bounded_strlen(const char *s, uint32_t max)
{
    uint32_t n = 0;

    while (n <= max && s[n] != 0) {
        n++;
    }
    return n;
}

int pvcore_guest_xs_init(struct pvcore_guest_xs *xs, void *intf, const struct pvcore_guest_xs_ops *ops, void *ctx)
{
    struct pvcore_xenstore_domain_interface *in = intf;

    if (xs == NULL || in == NULL || ops == NULL || ops->notify == NULL || ops->wait == NULL) {
        return -PVCORE_EINVAL;
    }
    memset(xs, 0, sizeof(*xs));
    xs->intf = in;
    xs->ops = ops;
    xs->ctx = ctx;
    xs->next_id = 1;
    /* Read once: from here on the client's copies are the indices. */
    xs->req_prod = __atomic_load_n(&in->req_prod, __ATOMIC_RELAXED);
    xs->rsp_cons = __atomic_load_n(&in->rsp_cons, __ATOMIC_RELAXED);
    return 0;
}

/* A header is complete: where does its payload go? */
static int start_message(struct pvcore_guest_xs *xs)
{
    struct pvcore_xsd_sockmsg m;
    uint32_t need;

    memcpy(&m, xs->hdr, sizeof(m));
    if (m.len > PVCORE_XENSTORE_PAYLOAD_MAX) {
        return fault(xs);
    }
    xs->msg_id = m.req_id;
    xs->body_len = m.len;
    xs->body_got = 0;
    xs->msg_dest = DEST_DROP;
    if (m.type == PVCORE_XS_WATCH_EVENT) {
        need = 4u + m.len;
        if (xs->ev_used + need > sizeof(xs->ev) && xs->ev_start > 0) {
            /* Compact: move the queued records to the front. */
            uint32_t i, n = xs->ev_used - xs->ev_start;
            for (i = 0; i < n; i++) {
                xs->ev[i] = xs->ev[xs->ev_start + i];
            }
            xs->ev_used = n;
            xs->ev_start = 0;
        }
        if (xs->ev_used + need <= sizeof(xs->ev)) {
            memcpy(xs->ev + xs->ev_used, &m.len, 4);
            xs->msg_dest = DEST_EVENT;
        } else {
            xs->ev_lost = true;
        }
    } else if (xs->want_id != 0 && m.req_id == xs->want_id && !xs->reply_done) {
        xs->msg_dest = DEST_REPLY;
        xs->reply_type = m.type;
        xs->reply_len = m.len;
        memset(xs->err, 0, sizeof(xs->err));
    }
    return 0;
}

static void payload_byte(struct pvcore_guest_xs *xs, unsigned char c)
{
    uint32_t at = xs->body_got++;

    if (xs->msg_dest == DEST_REPLY) {
        /* An error's name is the client's business; only a real reply reaches the caller. */
        if (at < xs->reply_cap && xs->reply_type != PVCORE_XS_ERROR) {
            xs->reply[at] = c;
        }
        if (at < sizeof(xs->err) - 1u) {
            xs->err[at] = (char)c;
        }
    } else if (xs->msg_dest == DEST_EVENT) {
        xs->ev[xs->ev_used + 4u + at] = c;
    }
}

static void end_message(struct pvcore_guest_xs *xs)
{
    if (xs->msg_dest == DEST_REPLY && xs->msg_id == xs->want_id) {
        xs->reply_done = true;
    } else if (xs->msg_dest == DEST_EVENT) {
        xs->ev_used += 4u + xs->body_len;
    }
    xs->hdr_got = 0;
}

/* Reads what the reply ring holds, without waiting: 1 if it consumed anything, 0 if
 * there was nothing, or the fault. */
static int pump(struct pvcore_guest_xs *xs)
{
    const volatile unsigned char *rsp = (const volatile unsigned char *)xs->intf->rsp;
    uint32_t prod, avail, cons = xs->rsp_cons;

    if (xs->fault != 0) {
        return xs->fault;
    }
    prod = load_index(&xs->intf->rsp_prod);
    avail = prod - cons;
    if (avail > RING) {
        return fault(xs);
    }
    if (avail == 0) {
        return 0;
    }
    while (avail > 0) {
        unsigned char c = rsp[PVCORE_MASK_XENSTORE_IDX(cons)]; /* each byte read once */
        cons++;
        avail--;
        if (xs->hdr_got < HDR) {
            xs->hdr[xs->hdr_got++] = c;
            if (xs->hdr_got < HDR) {
                continue;
            }
            if (start_message(xs) != 0) {
                return xs->fault;
            }
            /* falls through to the check below: an empty payload ends the message now */
        } else {
            payload_byte(xs, c);
        }
        if (xs->body_got == xs->body_len) {
            end_message(xs);
        }
    }
    xs->rsp_cons = cons;
    publish_index(&xs->intf->rsp_cons, cons);
    xs->ops->notify(xs->ctx); /* room in the reply ring */
    return 1;
}

/* One wait of the current call: 0, or -ETIMEDOUT when the embedder gives up. */
static int wait_once(struct pvcore_guest_xs *xs)
{
    return xs->ops->wait(xs->ctx, xs->waits++) != 0 ? -PVCORE_ETIMEDOUT : 0;
}

/* Writes n bytes of the request stream, waiting for room; 0, a fault or -ETIMEDOUT. */
static int put_bytes(struct pvcore_guest_xs *xs, const unsigned char *p, uint32_t n)
{
    volatile unsigned char *req = (volatile unsigned char *)xs->intf->req;

    while (n > 0) {
        uint32_t used = xs->req_prod - load_index(&xs->intf->req_cons), room, k;
        if (used > RING) {
            return fault(xs);
        }
        room = RING - used;
        if (room == 0) {
            int r;
            publish_index(&xs->intf->req_prod, xs->req_prod);
            xs->ops->notify(xs->ctx);
            r = pump(xs); /* the server may be waiting for room for its replies */
            if (r < 0) {
                return r;
            }
            r = wait_once(xs);
            if (r != 0) {
                return r;
            }
            continue;
        }
        for (k = 0; k < room && k < n; k++) {
            req[PVCORE_MASK_XENSTORE_IDX(xs->req_prod + k)] = p[k];
        }
        xs->req_prod += k;
        p += k;
        n -= k;
    }
    return 0;
}

/* The errno an XS_ERROR reply names. */
static int error_number(const char *name)
{
#define PVCORE_XS_ERR_(e) { #e, PVCORE_##e },
    static const struct {
        const char *name;
        int no;
    } table[] = { PVCORE_XSD_ERRORS(PVCORE_XS_ERR_) };
#undef PVCORE_XS_ERR_
    size_t i;

    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        uint32_t k = 0;
        while (name[k] != 0 && name[k] == table[i].name[k]) {
            k++;
        }
        if (name[k] == table[i].name[k]) {
            return -table[i].no;
        }
    }
    return -PVCORE_EINVAL;
}

int pvcore_guest_xs_request(struct pvcore_guest_xs *xs, uint32_t type, uint32_t tx_id, const void *const *parts,
                            const uint32_t *lens, unsigned nparts, void *reply, uint32_t cap, uint32_t *reply_len)
{
    struct pvcore_xsd_sockmsg m;
    uint32_t total = 0;
    unsigned i;
    int rc;

    if (xs == NULL || (nparts > 0 && (parts == NULL || lens == NULL)) || (reply == NULL && cap > 0) ||
        type == PVCORE_XS_WATCH_EVENT || type == PVCORE_XS_ERROR) {
        return -PVCORE_EINVAL;
    }
    if (xs->fault != 0) {
        return xs->fault;
    }
    for (i = 0; i < nparts; i++) {
        if ((parts[i] == NULL && lens[i] > 0) || lens[i] > PVCORE_XENSTORE_PAYLOAD_MAX - total) {
            return -PVCORE_EINVAL;
        }
        total += lens[i];
    }
    m.type = type;
    m.req_id = xs->next_id++;
    if (xs->next_id == 0) {
        xs->next_id = 1; /* 0 is the id of events */
    }
    m.tx_id = tx_id;
    m.len = total;
    xs->want_id = m.req_id;
    xs->reply = reply;
    xs->reply_cap = cap;
    xs->reply_done = false;
    xs->waits = 0;

    rc = put_bytes(xs, (const unsigned char *)&m, HDR);
    for (i = 0; rc == 0 && i < nparts; i++) {
        rc = put_bytes(xs, parts[i], lens[i]);
    }
    if (rc == -PVCORE_ETIMEDOUT) {
        /* Part of a request is in the ring and the rest never will be: every later
         * message would be misread, so the connection is unusable. */
        xs->want_id = 0;
        xs->fault = -PVCORE_EIO;
        return rc;
    }
    if (rc == 0) {
        publish_index(&xs->intf->req_prod, xs->req_prod);
        xs->ops->notify(xs->ctx);
    }
    while (rc == 0 && !xs->reply_done) {
        rc = pump(xs);
        if (rc >= 0) {
            rc = xs->reply_done ? 0 : wait_once(xs);
        }
    }
    if (rc != 0 && xs->hdr_got == HDR && xs->msg_dest == DEST_REPLY) {
        xs->msg_dest = DEST_DROP; /* the rest of a reply given up on is read and dropped */
    }
    xs->want_id = 0;
    xs->reply = NULL;
    xs->reply_cap = 0;
    if (rc != 0) {
        return rc;
    }
    if (reply_len != NULL) {
        *reply_len = xs->reply_len;
    }
    if (xs->reply_type == PVCORE_XS_ERROR) {
        return error_number(xs->err);
    }
    return xs->reply_type == type ? 0 : -PVCORE_EIO;
}

/* A request whose payload is one NUL-terminated string and, optionally, more bytes. */
static int request_str(struct pvcore_guest_xs *xs, uint32_t type, uint32_t tx_id, const char *s, const void *more,
                       uint32_t more_len, void *reply, uint32_t cap, uint32_t *reply_len)
{
    const void *parts[2] = { s, more };
    uint32_t lens[2];

    if (s == NULL) {
        return -PVCORE_EINVAL;
    }
    lens[0] = bounded_strlen(s, PVCORE_XENSTORE_PAYLOAD_MAX) + 1u;
    lens[1] = more_len;
    if (lens[0] > PVCORE_XENSTORE_PAYLOAD_MAX) {
        return -PVCORE_EINVAL;
    }
    return pvcore_guest_xs_request(xs, type, tx_id, parts, lens, more != NULL ? 2u : 1u, reply, cap, reply_len);
}

int pvcore_guest_xs_read(struct pvcore_guest_xs *xs, uint32_t tx_id, const char *path, char *buf, uint32_t cap)
{
    uint32_t len = 0;
    int rc;

    if (buf == NULL || cap == 0) {
        return -PVCORE_EINVAL;
    }
    rc = request_str(xs, PVCORE_XS_READ, tx_id, path, NULL, 0, buf, cap - 1u, &len);
    if (rc != 0) {
        buf[0] = 0; /* whatever arrived of a reply of the wrong type is not a value */
        return rc;
    }
    if (len > cap - 1u) {
        buf[cap - 1u] = 0;
        return -PVCORE_E2BIG;
    }
    buf[len] = 0;
    return (int)len;
}

int pvcore_guest_xs_read_u64(struct pvcore_guest_xs *xs, uint32_t tx_id, const char *path, uint64_t *val)
{
    char buf[24];
    uint64_t v = 0;
    int i, n;

    if (val == NULL) {
        return -PVCORE_EINVAL;
    }
    n = pvcore_guest_xs_read(xs, tx_id, path, buf, sizeof(buf));
    if (n == -PVCORE_E2BIG) {
        return -PVCORE_EINVAL; /* longer than any number that fits */
    }
    if (n < 0) {
        return n;
    }
    if (n == 0) {
        return -PVCORE_EINVAL;
    }
    for (i = 0; i < n; i++) {
        unsigned d = (unsigned char)buf[i] - (unsigned)'0';
        /* 2^64 - 1 = 1844674407370955161 * 10 + 5 (no 64-bit division: i386 has none) */
        if (d > 9u || v > 1844674407370955161u || (v == 1844674407370955161u && d > 5u)) {
            return -PVCORE_EINVAL;
        }
        v = v * 10u + d;
    }
    *val = v;
    return 0;
}

int pvcore_guest_xs_write(struct pvcore_guest_xs *xs, uint32_t tx_id, const char *path, const void *value,
                          uint32_t len)
{
    static const unsigned char none = 0;

    if (value == NULL && len > 0) {
        return -PVCORE_EINVAL;
    }
    /* An empty value is an empty second part, still present. */
    return request_str(xs, PVCORE_XS_WRITE, tx_id, path, value != NULL ? value : &none, len, NULL, 0, NULL);
}

int pvcore_guest_xs_write_str(struct pvcore_guest_xs *xs, uint32_t tx_id, const char *path, const char *value)
{
    if (value == NULL) {
        return -PVCORE_EINVAL;
    }
    return pvcore_guest_xs_write(xs, tx_id, path, value, bounded_strlen(value, PVCORE_XENSTORE_PAYLOAD_MAX));
}

int pvcore_guest_xs_write_u64(struct pvcore_guest_xs *xs, uint32_t tx_id, const char *path, uint64_t val)
{
    char buf[20];
    uint32_t n = 0;
    uint64_t p = 1;
    int i;

    /* Digits by subtracting powers of ten: no 64-bit division, which i386 lacks. */
    for (i = 19; i >= 0; i--) {
        char d = '0';
        int k;
        for (p = 1, k = 0; k < i; k++) {
            p *= 10u;
        }
        while (val >= p) {
            val -= p;
            d++;
        }
        if (d != '0' || n > 0 || i == 0) {
            buf[n++] = d;
        }
    }
    return pvcore_guest_xs_write(xs, tx_id, path, buf, n);
}

int pvcore_guest_xs_rm(struct pvcore_guest_xs *xs, uint32_t tx_id, const char *path)
{
    return request_str(xs, PVCORE_XS_RM, tx_id, path, NULL, 0, NULL, 0, NULL);
}

int pvcore_guest_xs_watch(struct pvcore_guest_xs *xs, const char *path, const char *token, bool add)
{
    uint32_t tlen;

    if (token == NULL) {
        return -PVCORE_EINVAL;
    }
    tlen = bounded_strlen(token, PVCORE_XENSTORE_PAYLOAD_MAX) + 1u;
    if (tlen > PVCORE_XENSTORE_PAYLOAD_MAX) {
        return -PVCORE_EINVAL;
    }
    return request_str(xs, add ? PVCORE_XS_WATCH : PVCORE_XS_UNWATCH, 0, path, token, tlen, NULL, 0, NULL);
}

int pvcore_guest_xs_transaction_start(struct pvcore_guest_xs *xs, uint32_t *tx_id)
{
    char buf[16];
    uint32_t len = 0, i, v = 0;
    int rc;

    if (tx_id == NULL) {
        return -PVCORE_EINVAL;
    }
    rc = request_str(xs, PVCORE_XS_TRANSACTION_START, 0, "", NULL, 0, buf, sizeof(buf), &len);
    if (rc != 0) {
        return rc;
    }
    /* "<id>" and a NUL: digits only, not 0, fitting 32 bits. */
    if (len < 2 || len > sizeof(buf) || buf[len - 1u] != 0) {
        return -PVCORE_EIO;
    }
    for (i = 0; i + 1u < len; i++) {
        unsigned d = (unsigned char)buf[i] - (unsigned)'0';
        if (d > 9u || v > (UINT32_MAX - d) / 10u) {
            return -PVCORE_EIO;
        }
        v = v * 10u + d;
    }
    if (v == 0) {
        return -PVCORE_EIO;
    }
    *tx_id = v;
    return 0;
}

int pvcore_guest_xs_transaction_end(struct pvcore_guest_xs *xs, uint32_t tx_id, bool commit)
{
    return request_str(xs, PVCORE_XS_TRANSACTION_END, tx_id, commit ? "T" : "F", NULL, 0, NULL, 0, NULL);
}

/* Copies the NUL-terminated string at s[0..n) (or all n bytes) into dst, cut to cap - 1
 * bytes; returns how many bytes of s it took, NUL included. */
static uint32_t take_string(const unsigned char *s, uint32_t n, char *dst, uint32_t cap)
{
    uint32_t i = 0, k = 0;

    while (i < n && s[i] != 0) {
        if (k + 1u < cap) {
            dst[k++] = (char)s[i];
        }
        i++;
    }
    dst[k] = 0;
    return i < n ? i + 1u : i;
}

int pvcore_guest_xs_event(struct pvcore_guest_xs *xs, char *path, uint32_t pcap, char *token, uint32_t tcap)
{
    uint32_t len, used, i;
    int rc = 0;

    if (xs == NULL || path == NULL || token == NULL || pcap == 0 || tcap == 0) {
        return -PVCORE_EINVAL;
    }
    for (i = 0; i < 4u && (rc = pump(xs)) > 0; i++) {
    }
    if (rc < 0) {
        return rc;
    }
    path[0] = 0;
    token[0] = 0;
    if (xs->ev_lost) {
        xs->ev_lost = false;
        return 1;
    }
    if (xs->ev_start == xs->ev_used) {
        return 0;
    }
    /* The queue is the client's own; its records are whole (one still arriving lies
     * beyond ev_used), but a broken one stops the client rather than be read. */
    if (xs->ev_used - xs->ev_start < 4u || xs->ev_used > sizeof(xs->ev)) {
        return fault(xs);
    }
    memcpy(&len, xs->ev + xs->ev_start, 4);
    if (len > xs->ev_used - xs->ev_start - 4u) {
        return fault(xs);
    }
    used = take_string(xs->ev + xs->ev_start + 4u, len, path, pcap);
    (void)take_string(xs->ev + xs->ev_start + 4u + used, len - used, token, tcap);
    xs->ev_start += 4u + len;
    /* Empty: start again at the front, unless an event is arriving behind it. */
    if (xs->ev_start == xs->ev_used && !(xs->hdr_got == HDR && xs->msg_dest == DEST_EVENT)) {
        xs->ev_start = 0;
        xs->ev_used = 0;
    }
    return 1;
}

int pvcore_guest_xs_fault(const struct pvcore_guest_xs *xs)
{
    return xs != NULL ? xs->fault : -PVCORE_EINVAL;
}
