/*
 * Fuzz target: the ring template (<pvcore/ring.h>) against a hostile peer.
 *
 * Two rings per input, each in an area allocated to its exact size (so AddressSanitizer
 * sees any access outside it):
 *   A  our back-end; the input plays the front-end: it writes req_prod, any other index of
 *      the header (our own rsp_prod and req_event too) and any slot bytes, in any order,
 *      between our calls (unconsumed, consume with and without a buffer, copy_request,
 *      produce, put, push, push-and-check-notify, final check);
 *   B  our front-end; the input plays the back-end the same way (rsp_prod, any index, any
 *      slot) between our front-end's calls.
 * The harness keeps a shadow of each area (what the peer wrote plus what our side is
 * expected to write) and a model of our side's indices, written from the ABI alone:
 *   - after every call the area equals the shadow byte for byte: we write nothing else;
 *   - a count or a consume yields exactly min(claim, room) entries when claim <= room
 *     (room: nr - (req_cons - rsp_prod_pvt) for the back-end, req_prod_pvt - rsp_cons for the
 *     front-end), and -PVCORE_EOVERFLOW with nothing consumed exactly when the claim is
 *     larger (so never more than the ring's size outstanding, never a request twice);
 *   - each copy holds the bytes of the next slot in order, masked into the ring, as the
 *     shadow held them at the moment of the copy, and it stays so (copies are stable) while
 *     the peer rewrites the slots;
 *   - produce returns the model's slot address or NULL exactly when the model is full;
 *     put writes exactly min(n, room) entries at the model's slots (an entry larger than
 *     the slot refused with nothing written);
 *   - a push stores the private index; a notify decision is (new - event) < (new - old);
 *   - a final check arms event = cons + 1 exactly when it found nothing.
 *
 * Input: byte 0 the slot size, byte 1 the ring size, byte 2 the copy size, bytes 3-6 the
 * starting index; then records of 6 bytes: operation, argument, 32-bit value.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/ring.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RECORD 6u
#define MAX_COPY 32u

static const size_t slot_sizes[] = { 8, 12, 16, 64, 112, 3, 24, 1 };

struct side {
    unsigned char *area;   /* the real shared area */
    unsigned char *shadow; /* what it must hold */
    size_t bytes, slot, elem;
    uint32_t nr;
    /* the model of our end's private indices */
    uint32_t prod_pvt; /* back: rsp_prod_pvt; front: req_prod_pvt */
    uint32_t cons;     /* back: req_cons; front: rsp_cons */
    /* copies taken, and what they must keep holding */
    unsigned char copies[MAX_COPY][112];
    unsigned char expect[MAX_COPY][112];
    unsigned ncopies;
};

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_ring: %s\n", what);
    abort();
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* Header offsets of the four indices. */
enum { REQ_PROD = 0, REQ_EVENT = 4, RSP_PROD = 8, RSP_EVENT = 12 };

static size_t slot_off(const struct side *s, uint32_t idx)
{
    return PVCORE_SRING_HEADER_SIZE + (size_t)(idx & (s->nr - 1u)) * s->slot;
}

static void same(const struct side *s, const char *after)
{
    if (memcmp(s->area, s->shadow, s->bytes) != 0) {
        fprintf(stderr, "fuzz_ring: area differs from its shadow after %s\n", after);
        abort();
    }
    for (unsigned i = 0; i < s->ncopies; i++) {
        if (memcmp(s->copies[i], s->expect[i], s->elem) != 0) {
            fail("a copy changed after it was taken");
        }
    }
}

/* The peer writes: one index, or bytes of a slot (in the area and the shadow alike). */
static void peer_write(struct side *s, uint8_t arg, uint32_t val, uint32_t own_cons)
{
    if ((arg & 0x80u) == 0) {
        size_t off = (size_t)(arg & 3u) * 4u;
        /* Producer-index claims relative to our consumer reach the edges more often. */
        if ((arg & 0x40u) != 0) {
            val = own_cons + (uint32_t)(int32_t)(int8_t)(val & 0xFFu) + (uint32_t)((arg >> 2) & 0x0Fu) * s->nr / 4u;
        }
        put32(s->area + off, val);
        put32(s->shadow + off, val);
    } else {
        uint32_t idx = val;
        size_t off = (arg & 0x40u) ? PVCORE_SRING_HEADER_SIZE + (size_t)(val % (uint32_t)(s->bytes - PVCORE_SRING_HEADER_SIZE))
                                   : slot_off(s, idx);
        size_t len = (arg & 0x40u) ? 1u : s->slot;
        for (size_t i = 0; i < len && off + i < s->bytes; i++) {
            unsigned char b = (unsigned char)(val >> (8u * (i % 4u)) ^ (unsigned char)(i * 29u) ^ arg);
            s->area[off + i] = b;
            s->shadow[off + i] = b;
        }
    }
}

static void record_copy(struct side *s, const unsigned char *copy, uint32_t idx)
{
    /* The copy is the slot's first elem bytes as the shadow holds them now. */
    if (memcmp(copy, s->shadow + slot_off(s, idx), s->elem) != 0) {
        fail("a copy differs from its slot (wrong slot, wrong order, or outside the ring)");
    }
    memcpy(s->copies[s->ncopies % MAX_COPY], copy, s->elem);
    memcpy(s->expect[s->ncopies % MAX_COPY], copy, s->elem);
    if (s->ncopies < MAX_COPY) {
        s->ncopies++;
    }
}

/* Our producer writes into the slot it was given; the shadow follows. */
static void fill_slot(struct side *s, unsigned char *slot, uint32_t idx, uint32_t tag)
{
    size_t off = slot_off(s, idx);

    if (slot != s->area + off) {
        fail("produce returned the wrong slot");
    }
    for (size_t i = 0; i < s->slot; i++) {
        unsigned char b = (unsigned char)(tag + i * 7u);
        slot[i] = b;
        s->shadow[off + i] = b;
    }
}

/* Our producer's batched put of up to `want` entries of s->elem bytes (each tagged), or, with
 * `oversize`, of entries one byte larger than a slot (refused, nothing written); `room` is
 * what the model says may be produced. The shadow follows; the model's index advances. */
static void put_entries(struct side *s, int rc, uint32_t put, uint32_t want, uint32_t room, bool oversize,
                        const unsigned char *src)
{
    uint32_t n = want < room ? want : room;

    if (oversize) {
        if (rc != -PVCORE_EINVAL || put != 0) {
            fail("put: an entry larger than the slot was not refused");
        }
        return;
    }
    if (rc != 0 || put != n) {
        fail("put: count");
    }
    for (uint32_t i = 0; i < n; i++) {
        memcpy(s->shadow + slot_off(s, s->prod_pvt + i), src + (size_t)i * s->elem, s->elem);
    }
    s->prod_pvt += n;
}

static void put_source(unsigned char *src, size_t bytes, uint32_t tag)
{
    for (size_t i = 0; i < bytes; i++) {
        src[i] = (unsigned char)(tag + i * 13u);
    }
}

static bool notify_model(uint32_t old, uint32_t nw, uint32_t ev)
{
    return (uint32_t)(nw - ev) < (uint32_t)(nw - old);
}

/* Our consumer's expected count: claim against room. */
static int count_model(uint32_t prod, uint32_t cons, uint32_t room, uint32_t *n)
{
    uint32_t claim = prod - cons;
    *n = claim < room ? claim : room;
    return claim > room ? -PVCORE_EOVERFLOW : 0;
}

/* ---- A: our back-end -------------------------------------------------------------------- */

static void back_op(struct side *s, struct pvcore_ring_back *b, uint8_t op, uint8_t arg, uint32_t val)
{
    unsigned char buf[20 * 112]; /* dst: copies packed at a stride of elem bytes */
    uint32_t n, want_n, got, room = s->nr - (s->cons - s->prod_pvt);
    int rc, want_rc;

    switch (op % 8u) {
    case 0:
        peer_write(s, arg, val, s->cons);
        break;
    case 1: /* count */
        want_rc = count_model(get32(s->shadow + REQ_PROD), s->cons, room, &want_n);
        rc = pvcore_ring_back_unconsumed(b, &n);
        if (rc != want_rc || n != want_n || n > s->nr) {
            fail("back: unconsumed");
        }
        break;
    case 2: { /* consume up to arg % 21, into a buffer or discarding */
        uint32_t max = arg % 21u;
        bool discard = (val & 1u) != 0;
        want_rc = count_model(get32(s->shadow + REQ_PROD), s->cons, room, &want_n);
        if (want_n > max) {
            want_n = max;
        }
        rc = pvcore_ring_back_consume(b, s->slot, s->elem, discard ? NULL : buf, max, &got);
        if (rc != want_rc || got != (rc == 0 ? want_n : 0)) {
            fail("back: consume count or overflow");
        }
        for (uint32_t i = 0; i < got && !discard; i++) {
            record_copy(s, buf + (size_t)i * s->elem, s->cons + i);
        }
        s->cons += got;
        break;
    }
    case 3: /* copy one, whether or not the caller counted it */
        rc = pvcore_ring_back_copy_request(b, s->slot, s->elem, buf);
        if ((rc == -PVCORE_ENOSPC) != (s->cons - s->prod_pvt >= s->nr) || (rc != 0 && rc != -PVCORE_ENOSPC)) {
            fail("back: copy_request");
        }
        if (rc == 0) {
            record_copy(s, buf, s->cons);
            s->cons++;
        }
        break;
    case 4: /* answer up to arg % 5: in place, or with one put (val & 2) */
        if (val & 2u) {
            bool over = (val & 4u) != 0;
            put_source(buf, sizeof(buf), val);
            rc = pvcore_ring_back_put(b, s->slot, over ? s->slot + 1u : s->elem, buf, arg % 5u, &got);
            put_entries(s, rc, got, arg % 5u, s->cons - s->prod_pvt, over, buf);
        } else {
            for (uint32_t i = 0; i < arg % 5u; i++) {
                unsigned char *slot = pvcore_ring_back_produce(b, s->slot);
                if ((slot == NULL) != (s->prod_pvt == s->cons)) {
                    fail("back: produce");
                }
                if (slot == NULL) {
                    break;
                }
                fill_slot(s, slot, s->prod_pvt, val + i);
                s->prod_pvt++;
            }
        }
        if (pvcore_ring_back_unanswered(b) != s->cons - s->prod_pvt) {
            fail("back: unanswered");
        }
        break;
    case 5: /* push, with or without the notify check */
        if (arg & 1u) {
            bool want = notify_model(get32(s->shadow + RSP_PROD), s->prod_pvt, get32(s->shadow + RSP_EVENT));
            if (pvcore_ring_back_push_check_notify(b) != want) {
                fail("back: notify decision");
            }
        } else {
            pvcore_ring_back_push(b);
        }
        put32(s->shadow + RSP_PROD, s->prod_pvt);
        break;
    default: /* final check */
        want_rc = count_model(get32(s->shadow + REQ_PROD), s->cons, room, &want_n);
        rc = pvcore_ring_back_final_check(b, &n);
        if (want_rc == 0 && want_n == 0) {
            put32(s->shadow + REQ_EVENT, s->cons + 1u); /* armed; the peer did not move meanwhile */
        }
        if (rc != want_rc || n != want_n) {
            fail("back: final check");
        }
        break;
    }
    if (b->req_cons != s->cons || b->rsp_prod_pvt != s->prod_pvt || b->nr_ents != s->nr) {
        fail("back: private indices differ from the model");
    }
    same(s, "a back-end operation");
}

/* ---- B: our front-end ------------------------------------------------------------------- */

static void front_op(struct side *s, struct pvcore_ring_front *f, uint8_t op, uint8_t arg, uint32_t val)
{
    unsigned char buf[20 * 112]; /* dst: copies packed at a stride of elem bytes */
    uint32_t n, want_n, got, room = s->prod_pvt - s->cons;
    int rc, want_rc;

    switch (op % 8u) {
    case 0:
        peer_write(s, arg, val, s->cons);
        break;
    case 1: /* produce up to arg % 9: in place, or with one put (val & 2) */
        if (val & 2u) {
            bool over = (val & 4u) != 0;
            put_source(buf, sizeof(buf), val);
            rc = pvcore_ring_front_put(f, s->slot, over ? s->slot + 1u : s->elem, buf, arg % 9u, &got);
            put_entries(s, rc, got, arg % 9u, s->nr - (s->prod_pvt - s->cons), over, buf);
        } else {
            for (uint32_t i = 0; i < arg % 9u; i++) {
                unsigned char *slot = pvcore_ring_front_produce(f, s->slot);
                if ((slot == NULL) != (s->prod_pvt - s->cons == s->nr)) {
                    fail("front: produce");
                }
                if (slot == NULL) {
                    break;
                }
                fill_slot(s, slot, s->prod_pvt, val + i);
                s->prod_pvt++;
            }
        }
        if (pvcore_ring_front_free_requests(f) != s->nr - (s->prod_pvt - s->cons) ||
            pvcore_ring_front_full(f) != (s->prod_pvt - s->cons == s->nr)) {
            fail("front: free requests");
        }
        break;
    case 2: /* push, with or without the notify check */
        if (arg & 1u) {
            bool want = notify_model(get32(s->shadow + REQ_PROD), s->prod_pvt, get32(s->shadow + REQ_EVENT));
            if (pvcore_ring_front_push_check_notify(f) != want) {
                fail("front: notify decision");
            }
        } else {
            pvcore_ring_front_push(f);
        }
        put32(s->shadow + REQ_PROD, s->prod_pvt);
        break;
    case 3:
        want_rc = count_model(get32(s->shadow + RSP_PROD), s->cons, room, &want_n);
        rc = pvcore_ring_front_unconsumed(f, &n);
        if (rc != want_rc || n != want_n) {
            fail("front: unconsumed");
        }
        break;
    case 4: {
        uint32_t max = arg % 21u;
        bool discard = (val & 1u) != 0;
        want_rc = count_model(get32(s->shadow + RSP_PROD), s->cons, room, &want_n);
        if (want_n > max) {
            want_n = max;
        }
        rc = pvcore_ring_front_consume(f, s->slot, s->elem, discard ? NULL : buf, max, &got);
        if (rc != want_rc || got != (rc == 0 ? want_n : 0)) {
            fail("front: consume count or overflow");
        }
        for (uint32_t i = 0; i < got && !discard; i++) {
            record_copy(s, buf + (size_t)i * s->elem, s->cons + i);
        }
        s->cons += got;
        break;
    }
    case 5:
        rc = pvcore_ring_front_copy_response(f, s->slot, s->elem, buf);
        if ((rc == -PVCORE_ENOSPC) != (s->cons == s->prod_pvt) || (rc != 0 && rc != -PVCORE_ENOSPC)) {
            fail("front: copy_response");
        }
        if (rc == 0) {
            record_copy(s, buf, s->cons);
            s->cons++;
        }
        break;
    default:
        want_rc = count_model(get32(s->shadow + RSP_PROD), s->cons, room, &want_n);
        rc = pvcore_ring_front_final_check(f, &n);
        if (want_rc == 0 && want_n == 0) {
            put32(s->shadow + RSP_EVENT, s->cons + 1u);
        }
        if (rc != want_rc || n != want_n) {
            fail("front: final check");
        }
        break;
    }
    if (f->req_prod_pvt != s->prod_pvt || f->rsp_cons != s->cons || f->nr_ents != s->nr) {
        fail("front: private indices differ from the model");
    }
    same(s, "a front-end operation");
}

static void side_new(struct side *s, size_t bytes, size_t slot, size_t elem)
{
    memset(s, 0, sizeof(*s));
    s->bytes = bytes;
    s->slot = slot;
    s->elem = elem;
    s->area = malloc(bytes); /* exactly the area (glibc malloc is 16-byte aligned) */
    s->shadow = malloc(bytes);
    if (s->area == NULL || s->shadow == NULL) {
        fail("out of memory");
    }
    memset(s->area, 0xC3, bytes);
    s->nr = pvcore_ring_nr_slots(bytes, slot);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct side a, b;
    struct pvcore_ring_back back;
    struct pvcore_ring_front front;
    size_t slot, bytes, elem, pos;
    uint32_t start;

    if (size < 7) {
        return 0;
    }
    slot = slot_sizes[data[0] % (sizeof(slot_sizes) / sizeof(slot_sizes[0]))];
    /* 1 to 40 slots' worth of area after the header (so rings of 1 to 32 slots), or a page. */
    bytes = data[1] == 0xFF ? 4096u : PVCORE_SRING_HEADER_SIZE + slot * (1u + data[1] % 40u) + data[1] % 3u;
    if (bytes > 4096u) {
        bytes = 4096u;
    }
    elem = 1u + data[2] % slot;
    start = get32(data + 3);

    side_new(&a, bytes, slot, elem);
    side_new(&b, bytes, slot, elem);
    if (a.nr == 0) {
        fail("no slot fits");
    }
    /* A: the front-end (the input) initialised the page; our back-end attaches at start. */
    pvcore_ring_shared_init((struct pvcore_sring_header *)(void *)a.area);
    put32(a.area + REQ_PROD, start);
    put32(a.area + RSP_PROD, start);
    memcpy(a.shadow, a.area, bytes);
    if (pvcore_ring_back_attach(&back, a.area, bytes, slot, start) != 0 || back.nr_ents != a.nr) {
        fail("back: attach");
    }
    a.prod_pvt = a.cons = start;
    same(&a, "attach");
    /* B: our front-end initialises its page, then attaches at start. */
    if (pvcore_ring_front_init(&front, b.area, bytes, slot) != 0 || front.nr_ents != b.nr) {
        fail("front: init");
    }
    memcpy(b.shadow, b.area, bytes);
    if (get32(b.shadow + REQ_EVENT) != 1 || get32(b.shadow + RSP_EVENT) != 1 || get32(b.shadow + REQ_PROD) != 0) {
        fail("front: init header");
    }
    for (size_t i = 16; i < PVCORE_SRING_HEADER_SIZE; i++) {
        if (b.shadow[i] != 0) {
            fail("front: init padding");
        }
    }
    for (size_t i = PVCORE_SRING_HEADER_SIZE; i < bytes; i++) {
        if (b.shadow[i] != 0xC3) {
            fail("front: init wrote a slot");
        }
    }
    put32(b.area + REQ_PROD, start);
    put32(b.area + RSP_PROD, start);
    memcpy(b.shadow, b.area, bytes);
    if (pvcore_ring_front_attach(&front, b.area, bytes, slot, start) != 0) {
        fail("front: attach");
    }
    b.prod_pvt = b.cons = start;

    for (pos = 7; pos + RECORD <= size; pos += RECORD) {
        uint8_t op = data[pos], arg = data[pos + 1];
        uint32_t val = get32(data + pos + 2);

        if (op & 0x80u) {
            front_op(&b, &front, op, arg, val);
        } else {
            back_op(&a, &back, op, arg, val);
        }
    }
    free(a.area);
    free(a.shadow);
    free(b.area);
    free(b.shadow);
    return 0;
}
