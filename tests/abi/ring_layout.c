/*
 * ring_layout: <pvcore/ring.h> against Xen's io/ring.h (libxen-dev), for three ring types
 * defined with both DEFINE_RING_TYPES and PVCORE_RING_DEFINE: 64-byte slots, 8-byte slots
 * and Xen's own blkif ring (112-byte requests, from xen/io/blkif.h).
 *
 * Layout: the slot size, every index field's offset in the shared header, the first
 * slot's offset, the private front and back structures (same fields at the same offsets),
 * the slot count for several area sizes, and the bytes SHARED_RING_INIT writes.
 *
 * Live interop, for each type, started at index 0 and just below 2^32: four rings driven
 * in lockstep by one pseudo-random schedule (produce k, push, push and check notify,
 * count, copy out, answer, final checks, on both sides):
 *   xen/xen    Xen's front-end and back-end (the reference)
 *   pv/pv      libpvcore's front-end and back-end
 *   xen/pv     Xen's front-end, libpvcore's back-end
 *   pv/xen     libpvcore's front-end, Xen's back-end
 * After every step the four shared areas must be byte-identical, every notify decision
 * (RING_PUSH_*_AND_CHECK_NOTIFY), every final check (RING_FINAL_CHECK_FOR_*) and every
 * count (RING_HAS_UNCONSUMED_*) must equal the reference's, and every request and response
 * copied out must be the one produced. Then hostile producer indices: for many req_prod
 * values our clamped count equals RING_HAS_UNCONSUMED_REQUESTS and our overflow report
 * includes every case of RING_REQUEST_PROD_OVERFLOW (and also an index behind req_cons).
 *
 * The schedule is single-threaded (so the decisions are deterministic); the cross-thread
 * behaviour is tests/unit/test_ring_threads.c's. Built for x86-64 (abi.ring_layout) and
 * i386 (abi.ring_layout.32: 4-byte pointers in the private states, 108-byte blkif
 * requests). Exits non-zero on any difference.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The newest interface (tests/abi/abi_check.c; ring-peer-baseline.md): with the default
 * version io/ring.h maps xen_mb() and friends to mb() etc., which do not exist here. This
 * test runs both sides on one thread, so ordering the compiler is all the barriers need
 * to do (a thread fence would not build under ThreadSanitizer). */
#define __XEN_INTERFACE_VERSION__ __XEN_LATEST_INTERFACE_VERSION__
#define xen_mb() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define xen_wmb() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#include <xen/io/ring.h>
#include <xen/io/blkif.h>

#include <pvcore/ring.h>

static unsigned long checks, failures;

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(c)) {                                                                                \
            failures++;                                                                            \
            if (failures < 20) {                                                                   \
                fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);              \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* ---- the three ring types, each defined both ways ---------------------------------------- */

struct req64 {
    uint64_t id;
    uint8_t data[56];
};
struct rsp64 {
    uint64_t id;
    uint32_t status;
    uint32_t pad;
};
DEFINE_RING_TYPES(r64, struct req64, struct rsp64);
PVCORE_RING_DEFINE(r64, struct req64, struct rsp64);

struct req8 {
    uint32_t id;
    uint32_t v;
};
struct rsp8 {
    uint32_t id;
    uint16_t status;
    uint16_t pad;
};
DEFINE_RING_TYPES(r8, struct req8, struct rsp8);
PVCORE_RING_DEFINE(r8, struct req8, struct rsp8);

/* blkif's DEFINE_RING_TYPES(blkif, ...) comes with xen/io/blkif.h. */
PVCORE_RING_DEFINE(pvblk, struct blkif_request, struct blkif_response);

_Static_assert(sizeof(union r64_sring_entry) == 64, "64-byte slots");
_Static_assert(sizeof(union r8_sring_entry) == 8, "8-byte slots");
#if defined(__x86_64__)
_Static_assert(sizeof(union blkif_sring_entry) == 112, "blkif's 112-byte slots (x86-64)");
#elif defined(__i386__)
_Static_assert(sizeof(union blkif_sring_entry) == 108, "blkif's 108-byte slots (i386: 4-byte uint64_t alignment)");
#endif

/* ---- layout ------------------------------------------------------------------------------ */

#define HDR_FIELD(xs, f) CHECK(offsetof(struct pvcore_sring_header, f) == offsetof(struct xs, f))

#define LAYOUT(xname, pname)                                                                            \
    do {                                                                                                \
        CHECK(sizeof(union pname##_slot) == sizeof(union xname##_sring_entry));                         \
        CHECK(_Alignof(union pname##_slot) == _Alignof(union xname##_sring_entry));                     \
        CHECK(offsetof(struct xname##_sring, ring) == PVCORE_SRING_HEADER_SIZE);                        \
        HDR_FIELD(xname##_sring, req_prod);                                                             \
        HDR_FIELD(xname##_sring, req_event);                                                            \
        HDR_FIELD(xname##_sring, rsp_prod);                                                             \
        HDR_FIELD(xname##_sring, rsp_event);                                                            \
        HDR_FIELD(xname##_sring, pvt);                                                                  \
        HDR_FIELD(xname##_sring, pvt.netif.smartpoll_active);                                           \
        HDR_FIELD(xname##_sring, pvt.tapif_user.msg);                                                   \
        CHECK(offsetof(struct pvcore_sring_header, pad) == offsetof(struct xname##_sring, __pad));      \
        CHECK(sizeof(((struct pvcore_sring_header *)0)->req_prod) ==                                    \
              sizeof(((struct xname##_sring *)0)->req_prod));                                           \
        CHECK(sizeof(struct pvcore_ring_front) == sizeof(struct xname##_front_ring));                   \
        CHECK(offsetof(struct pvcore_ring_front, req_prod_pvt) ==                                       \
              offsetof(struct xname##_front_ring, req_prod_pvt));                                       \
        CHECK(offsetof(struct pvcore_ring_front, rsp_cons) == offsetof(struct xname##_front_ring, rsp_cons)); \
        CHECK(offsetof(struct pvcore_ring_front, nr_ents) == offsetof(struct xname##_front_ring, nr_ents));   \
        CHECK(offsetof(struct pvcore_ring_front, sring) == offsetof(struct xname##_front_ring, sring));       \
        CHECK(sizeof(struct pvcore_ring_back) == sizeof(struct xname##_back_ring));                     \
        CHECK(offsetof(struct pvcore_ring_back, rsp_prod_pvt) ==                                        \
              offsetof(struct xname##_back_ring, rsp_prod_pvt));                                        \
        CHECK(offsetof(struct pvcore_ring_back, req_cons) == offsetof(struct xname##_back_ring, req_cons));   \
        CHECK(offsetof(struct pvcore_ring_back, nr_ents) == offsetof(struct xname##_back_ring, nr_ents));     \
        CHECK(offsetof(struct pvcore_ring_back, sring) == offsetof(struct xname##_back_ring, sring));         \
        CHECK(sizeof(struct pname##_front) == sizeof(struct xname##_front_ring));                       \
        CHECK(sizeof(struct pname##_back) == sizeof(struct xname##_back_ring));                         \
        CHECK(pvcore_ring_nr_slots(4096, sizeof(union pname##_slot)) == __CONST_RING_SIZE(xname, 4096)); \
        CHECK(PVCORE_RING_NR_SLOTS(4096, sizeof(union pname##_slot)) == __CONST_RING_SIZE(xname, 4096)); \
    } while (0)

static void check_layout(void)
{
    LAYOUT(r64, r64);
    LAYOUT(r8, r8);
    LAYOUT(blkif, pvblk);
    /* The slot counts for a 4 KiB page that reference/event-channels-rings-grants.md gives. */
    CHECK(pvcore_ring_nr_slots(4096, sizeof(union r64_slot)) == 32);
    CHECK(pvcore_ring_nr_slots(4096, sizeof(union r8_slot)) == 256);
    CHECK(pvcore_ring_nr_slots(4096, sizeof(union pvblk_slot)) == 32);
}

/* ---- helpers shared by the interop runs --------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return n == 0 ? 0 : (uint32_t)(rng_state >> 33) % n;
}

#define AREA_MAX 16384u

static unsigned char *area_new(size_t bytes)
{
    unsigned char *a = aligned_alloc(4096, AREA_MAX);

    if (a == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memset(a, 0xA5, AREA_MAX); /* slots start as garbage: only what is written must match */
    (void)bytes;
    return a;
}

/* SHARED_RING_INIT and pvcore_ring_front_init() write the same header bytes and no slot. */
#define INIT_BYTES(xname, pname, bytes)                                                          \
    do {                                                                                         \
        unsigned char *a = area_new(bytes), *b = area_new(bytes);                                \
        struct xname##_front_ring xf;                                                            \
        struct pname##_front pf = { { 0, 0, 0, NULL } };                                         \
        struct xname##_sring *s = (struct xname##_sring *)(void *)a;                             \
        SHARED_RING_INIT(s);                                                                     \
        FRONT_RING_INIT(&xf, s, bytes);                                                          \
        if (xf.nr_ents == 0) { /* not one slot fits: Xen makes an empty ring, we refuse */       \
            CHECK(pname##_front_init(&pf, b, bytes) == -PVCORE_EINVAL);                          \
            CHECK(b[0] == 0xA5 && b[63] == 0xA5);                                                \
        } else {                                                                                 \
            CHECK(pname##_front_init(&pf, b, bytes) == 0);                                       \
            CHECK(memcmp(a, b, AREA_MAX) == 0);                                                  \
            CHECK(pf.ring.nr_ents == xf.nr_ents);                                                \
            CHECK(pf.ring.req_prod_pvt == xf.req_prod_pvt && pf.ring.rsp_cons == xf.rsp_cons);   \
        }                                                                                        \
        CHECK(s->req_event == 1 && s->rsp_event == 1 && s->req_prod == 0 && s->rsp_prod == 0);   \
        free(a);                                                                                 \
        free(b);                                                                                 \
    } while (0)

static void check_init(void)
{
    static const size_t sizes[] = { 4096, 8192, 4096 + 100, 16384, 64 + 112, 64 + 8 };
    unsigned i;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t bytes = sizes[i];
        INIT_BYTES(r64, r64, bytes);
        INIT_BYTES(r8, r8, bytes);
        INIT_BYTES(blkif, pvblk, bytes);
    }
}

/* Fills request number `seq` (all bytes, padding included, from a zeroed template). */
static void make_req64(struct req64 *q, uint32_t seq)
{
    memset(q, 0, sizeof(*q));
    q->id = 0x1000000000ull + seq;
    for (unsigned i = 0; i < sizeof(q->data); i++) {
        q->data[i] = (uint8_t)(seq * 7u + i);
    }
}
static void make_rsp64(struct rsp64 *p, const struct req64 *q)
{
    memset(p, 0, sizeof(*p));
    p->id = q->id;
    p->status = (uint32_t)q->data[3];
}
static int req64_ok(const struct req64 *q, uint32_t seq)
{
    struct req64 w;
    make_req64(&w, seq);
    return memcmp(q, &w, sizeof(w)) == 0;
}
static uint32_t req64_seq(const struct req64 *q)
{
    return (uint32_t)(q->id - 0x1000000000ull);
}

static void make_req8(struct req8 *q, uint32_t seq)
{
    q->id = seq;
    q->v = ~seq;
}
static void make_rsp8(struct rsp8 *p, const struct req8 *q)
{
    memset(p, 0, sizeof(*p));
    p->id = q->id;
    p->status = (uint16_t)(q->v & 0xFFFFu);
}
static int req8_ok(const struct req8 *q, uint32_t seq)
{
    return q->id == seq && q->v == ~seq;
}
static uint32_t req8_seq(const struct req8 *q)
{
    return q->id;
}

static void make_reqblk(struct blkif_request *q, uint32_t seq)
{
    memset(q, 0, sizeof(*q));
    q->operation = (uint8_t)(seq % 3u);
    q->nr_segments = (uint8_t)(seq % 11u + 1u);
    q->handle = (uint16_t)seq;
    q->id = 0xB10C000000ull + seq;
    q->sector_number = (uint64_t)seq * 8u;
    for (unsigned i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
        q->seg[i].gref = seq + i;
        q->seg[i].first_sect = (uint8_t)i;
        q->seg[i].last_sect = 7;
    }
}
static void make_rspblk(struct blkif_response *p, const struct blkif_request *q)
{
    memset(p, 0, sizeof(*p));
    p->id = q->id;
    p->operation = q->operation;
    p->status = BLKIF_RSP_OKAY;
}
static int reqblk_ok(const struct blkif_request *q, uint32_t seq)
{
    struct blkif_request w;
    make_reqblk(&w, seq);
    return memcmp(q, &w, sizeof(w)) == 0;
}
static uint32_t reqblk_seq(const struct blkif_request *q)
{
    return (uint32_t)(q->id - 0xB10C000000ull);
}

/*
 * One interop run for a ring type. xname: Xen's name; pname: ours; REQ/RSP the types;
 * MK/OK/SEQ the helpers above. Four rings: 0 xen/xen, 1 pv/pv, 2 xen/pv, 3 pv/xen (front/back).
 */
#define XEN_FRONT(i) ((i) == 0 || (i) == 2)
#define XEN_BACK(i) ((i) == 0 || (i) == 3)

#define INTEROP(xname, pname, REQ, RSP, mkreq, mkrsp, reqok, reqseq, bytes, start_, steps)                   \
    do {                                                                                                   \
        unsigned char *area[4];                                                                            \
        struct xname##_front_ring xf[4];                                                                   \
        struct xname##_back_ring xb[4];                                                                    \
        struct pname##_front pf[4];                                                                        \
        struct pname##_back pb[4];                                                                         \
        uint32_t next_seq = 0, next_rsp_seq = 0, cons_seq[4] = { 0, 0, 0, 0 };                             \
        REQ held[4][2048];  /* requests consumed, not yet answered (per ring, in order) */                \
        uint32_t held_n[4] = { 0, 0, 0, 0 }, held_at[4] = { 0, 0, 0, 0 };                                  \
        unsigned step, i;                                                                                  \
        memset(pf, 0, sizeof(pf));                                                                         \
        memset(pb, 0, sizeof(pb));                                                                         \
        for (i = 0; i < 4; i++) {                                                                          \
            struct xname##_sring *s;                                                                       \
            area[i] = area_new(bytes);                                                                     \
            s = (struct xname##_sring *)(void *)area[i];                                                   \
            /* Xen's initialisation on every ring, then both attach at `start`. */                         \
            SHARED_RING_INIT(s);                                                                           \
            s->req_prod = s->rsp_prod = (start_);                                                           \
            s->req_event = s->rsp_event = (RING_IDX)((start_) + 1u);                                        \
            FRONT_RING_ATTACH(&xf[i], s, (start_), (bytes));                                                \
            BACK_RING_ATTACH(&xb[i], s, (start_), (bytes));                                                 \
            CHECK(pname##_front_attach(&pf[i], area[i], (bytes), (start_)) == 0);                           \
            CHECK(pname##_back_attach(&pb[i], area[i], (bytes), (start_)) == 0);                            \
            CHECK(pf[i].ring.nr_ents == xf[i].nr_ents && pb[i].ring.nr_ents == xb[i].nr_ents);             \
        }                                                                                                  \
        for (step = 0; step < (steps); step++) {                                                           \
            uint32_t op = rnd(9), k = rnd(12), ref_u = 0;                                                  \
            int ref_i = 0;                                                                                 \
            switch (op) {                                                                                  \
            case 0: /* front: produce k requests (as many as fit) */                                       \
            {                                                                                              \
                uint32_t free_ = RING_FREE_REQUESTS(&xf[0]), j;                                            \
                if (k > free_) {                                                                           \
                    k = free_;                                                                             \
                }                                                                                          \
                for (i = 0; i < 4; i++) {                                                                  \
                    if (XEN_FRONT(i)) {                                                                    \
                        CHECK(RING_FREE_REQUESTS(&xf[i]) == free_);                                        \
                    } else {                                                                               \
                        CHECK(pname##_front_free_requests(&pf[i]) == free_);                               \
                        CHECK(pname##_front_full(&pf[i]) == (free_ == 0));                                 \
                    }                                                                                      \
                    for (j = 0; j < k; j++) {                                                              \
                        REQ q;                                                                             \
                        mkreq(&q, next_seq + j);                                                           \
                        if (XEN_FRONT(i)) {                                                                \
                            memcpy(RING_GET_REQUEST(&xf[i], xf[i].req_prod_pvt), &q, sizeof(q));           \
                            xf[i].req_prod_pvt++;                                                          \
                        } else {                                                                           \
                            REQ *slot = pname##_front_produce(&pf[i]);                                     \
                            CHECK(slot != NULL);                                                           \
                            CHECK((void *)slot ==                                                          \
                                  (void *)RING_GET_REQUEST(&xf[i], (RING_IDX)(pf[i].ring.req_prod_pvt - 1u))); \
                            if (slot != NULL) {                                                            \
                                memcpy(slot, &q, sizeof(q));                                               \
                            }                                                                              \
                        }                                                                                  \
                    }                                                                                      \
                    if (!XEN_FRONT(i) && pname##_front_full(&pf[i])) {                                     \
                        CHECK(pname##_front_produce(&pf[i]) == NULL);                                      \
                    }                                                                                      \
                }                                                                                          \
                next_seq += k;                                                                             \
                break;                                                                                     \
            }                                                                                              \
            case 1: /* front: push, with or without the notify check */                                    \
                for (i = 0; i < 4; i++) {                                                                  \
                    int n;                                                                                 \
                    if (XEN_FRONT(i)) {                                                                    \
                        if (k & 1u) {                                                                      \
                            RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&xf[i], n);                                \
                        } else {                                                                           \
                            RING_PUSH_REQUESTS(&xf[i]);                                                    \
                            n = -1;                                                                        \
                        }                                                                                  \
                    } else if (k & 1u) {                                                                   \
                        n = pname##_front_push_check_notify(&pf[i]);                                       \
                    } else {                                                                               \
                        pname##_front_push(&pf[i]);                                                        \
                        n = -1;                                                                            \
                    }                                                                                      \
                    if (i == 0) {                                                                          \
                        ref_i = n;                                                                         \
                    }                                                                                      \
                    CHECK(!!n == !!ref_i);                                                                 \
                }                                                                                          \
                break;                                                                                     \
            case 2: /* back: count, copy out up to k, validate the copies */                               \
            case 3:                                                                                        \
                for (i = 0; i < 4; i++) {                                                                  \
                    uint32_t n, j;                                                                         \
                    if (XEN_BACK(i)) {                                                                     \
                        RING_IDX rp = xb[i].sring->req_prod;                                               \
                        n = RING_HAS_UNCONSUMED_REQUESTS(&xb[i]);                                          \
                        CHECK(!RING_REQUEST_PROD_OVERFLOW(&xb[i], rp));                                    \
                        if (n > k) {                                                                       \
                            n = k;                                                                         \
                        }                                                                                  \
                        for (j = 0; j < n; j++) {                                                          \
                            RING_COPY_REQUEST(&xb[i], xb[i].req_cons, &held[i][held_n[i] % 2048u]);        \
                            xb[i].req_cons++;                                                              \
                            held_n[i]++;                                                                   \
                        }                                                                                  \
                    } else {                                                                               \
                        uint32_t all;                                                                      \
                        CHECK(pname##_back_unconsumed(&pb[i], &all) == 0);                                 \
                        n = all < k ? all : k;                                                             \
                        if (op == 2) { /* one at a time */                                                 \
                            for (j = 0; j < n; j++) {                                                      \
                                CHECK(pname##_back_copy_request(&pb[i], &held[i][held_n[i] % 2048u]) == 0); \
                                held_n[i]++;                                                               \
                            }                                                                              \
                        } else { /* batched, into a buffer */                                              \
                            REQ buf[16];                                                                   \
                            uint32_t got;                                                                  \
                            CHECK(pname##_back_consume(&pb[i], buf, n, &got) == 0 && got == n);            \
                            for (j = 0; j < got; j++) {                                                    \
                                held[i][held_n[i] % 2048u] = buf[j];                                       \
                                held_n[i]++;                                                               \
                            }                                                                              \
                            n = got;                                                                       \
                        }                                                                                  \
                        if (all == 0 && k > 0) {                                                           \
                            REQ dummy;                                                                     \
                            uint32_t got = 7;                                                              \
                            CHECK(pname##_back_consume(&pb[i], &dummy, 1, &got) == 0 && got == 0);         \
                        }                                                                                  \
                    }                                                                                      \
                    if (i == 0) {                                                                          \
                        ref_u = n;                                                                         \
                    }                                                                                      \
                    CHECK(n == ref_u);                                                                     \
                    for (j = 0; j < n; j++) {                                                              \
                        const REQ *q = &held[i][(held_n[i] - n + j) % 2048u];                              \
                        CHECK(reqok(q, cons_seq[i] + j));                                                  \
                    }                                                                                      \
                    cons_seq[i] += n;                                                                      \
                }                                                                                          \
                break;                                                                                     \
            case 4: /* back: answer up to k of the consumed requests, in order */                         \
                for (i = 0; i < 4; i++) {                                                                  \
                    uint32_t owed = held_n[i] - held_at[i], n = owed < k ? owed : k, j;                    \
                    if (!XEN_BACK(i)) {                                                                    \
                        CHECK(pname##_back_unanswered(&pb[i]) == owed);                                    \
                    }                                                                                      \
                    for (j = 0; j < n; j++) {                                                              \
                        RSP p;                                                                             \
                        mkrsp(&p, &held[i][held_at[i] % 2048u]);                                           \
                        held_at[i]++;                                                                      \
                        if (XEN_BACK(i)) {                                                                 \
                            memcpy(RING_GET_RESPONSE(&xb[i], xb[i].rsp_prod_pvt), &p, sizeof(p));          \
                            xb[i].rsp_prod_pvt++;                                                          \
                        } else {                                                                           \
                            RSP *slot = pname##_back_produce(&pb[i]);                                      \
                            CHECK(slot != NULL);                                                           \
                            if (slot != NULL) {                                                            \
                                memcpy(slot, &p, sizeof(p));                                               \
                            }                                                                              \
                        }                                                                                  \
                    }                                                                                      \
                    if (!XEN_BACK(i) && owed == n) {                                                       \
                        CHECK(pname##_back_produce(&pb[i]) == NULL);                                       \
                    }                                                                                      \
                }                                                                                          \
                break;                                                                                     \
            case 5: /* back: push responses, with or without the notify check */                          \
                for (i = 0; i < 4; i++) {                                                                  \
                    int n;                                                                                 \
                    if (XEN_BACK(i)) {                                                                     \
                        if (k & 1u) {                                                                      \
                            RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&xb[i], n);                               \
                        } else {                                                                           \
                            RING_PUSH_RESPONSES(&xb[i]);                                                   \
                            n = -1;                                                                        \
                        }                                                                                  \
                    } else if (k & 1u) {                                                                   \
                        n = pname##_back_push_check_notify(&pb[i]);                                        \
                    } else {                                                                               \
                        pname##_back_push(&pb[i]);                                                         \
                        n = -1;                                                                            \
                    }                                                                                      \
                    if (i == 0) {                                                                          \
                        ref_i = n;                                                                         \
                    }                                                                                      \
                    CHECK(!!n == !!ref_i);                                                                 \
                }                                                                                          \
                break;                                                                                     \
            case 6: /* back: final check for requests */                                                  \
                for (i = 0; i < 4; i++) {                                                                  \
                    uint32_t n;                                                                            \
                    if (XEN_BACK(i)) {                                                                     \
                        int more;                                                                          \
                        RING_FINAL_CHECK_FOR_REQUESTS(&xb[i], more);                                       \
                        n = (uint32_t)more;                                                                \
                    } else {                                                                               \
                        CHECK(pname##_back_final_check(&pb[i], &n) == 0);                                  \
                    }                                                                                      \
                    if (i == 0) {                                                                          \
                        ref_u = n;                                                                         \
                    }                                                                                      \
                    CHECK(n == ref_u);                                                                     \
                }                                                                                          \
                break;                                                                                     \
            case 7: /* front: final check for responses */                                                \
                for (i = 0; i < 4; i++) {                                                                  \
                    uint32_t n;                                                                            \
                    if (XEN_FRONT(i)) {                                                                    \
                        int more;                                                                          \
                        RING_FINAL_CHECK_FOR_RESPONSES(&xf[i], more);                                      \
                        n = (uint32_t)more;                                                                \
                    } else {                                                                               \
                        CHECK(pname##_front_final_check(&pf[i], &n) == 0);                                 \
                    }                                                                                      \
                    if (i == 0) {                                                                          \
                        ref_u = n;                                                                         \
                    }                                                                                      \
                    CHECK(n == ref_u);                                                                     \
                }                                                                                          \
                break;                                                                                     \
            default: /* front: consume up to k responses, check each answers the next request */          \
                for (i = 0; i < 4; i++) {                                                                  \
                    uint32_t n, j, seq0 = next_rsp_seq;                                                    \
                    RSP got_rsp[16];                                                                       \
                    if (XEN_FRONT(i)) {                                                                    \
                        n = RING_HAS_UNCONSUMED_RESPONSES(&xf[i]);                                         \
                        if (n > k) {                                                                       \
                            n = k;                                                                         \
                        }                                                                                  \
                        for (j = 0; j < n; j++) {                                                          \
                            RING_COPY_RESPONSE(&xf[i], xf[i].rsp_cons, &got_rsp[j]);                       \
                            xf[i].rsp_cons++;                                                              \
                        }                                                                                  \
                    } else {                                                                               \
                        uint32_t all;                                                                      \
                        CHECK(pname##_front_unconsumed(&pf[i], &all) == 0);                                \
                        if (k & 1u) {                                                                      \
                            CHECK(pname##_front_consume(&pf[i], got_rsp, k, &n) == 0);                     \
                            CHECK(n == (all < k ? all : k));                                               \
                        } else {                                                                           \
                            n = all < k ? all : k;                                                         \
                            for (j = 0; j < n; j++) {                                                      \
                                CHECK(pname##_front_copy_response(&pf[i], &got_rsp[j]) == 0);              \
                            }                                                                              \
                        }                                                                                  \
                    }                                                                                      \
                    if (i == 0) {                                                                          \
                        ref_u = n;                                                                         \
                    }                                                                                      \
                    CHECK(n == ref_u);                                                                     \
                    for (j = 0; j < n; j++) {                                                              \
                        REQ q;                                                                             \
                        RSP w;                                                                             \
                        mkreq(&q, seq0 + j);                                                               \
                        mkrsp(&w, &q);                                                                     \
                        CHECK(memcmp(&got_rsp[j], &w, sizeof(w)) == 0);                                    \
                    }                                                                                      \
                }                                                                                          \
                next_rsp_seq += ref_u;                                                                     \
                break;                                                                                     \
            }                                                                                              \
            /* The four shared areas hold the same bytes, and the private states agree. */                 \
            for (i = 1; i < 4; i++) {                                                                      \
                CHECK(memcmp(area[0], area[i], (bytes)) == 0);                                             \
                CHECK((XEN_FRONT(i) ? xf[i].req_prod_pvt : pf[i].ring.req_prod_pvt) == xf[0].req_prod_pvt); \
                CHECK((XEN_FRONT(i) ? xf[i].rsp_cons : pf[i].ring.rsp_cons) == xf[0].rsp_cons);            \
                CHECK((XEN_BACK(i) ? xb[i].req_cons : pb[i].ring.req_cons) == xb[0].req_cons);             \
                CHECK((XEN_BACK(i) ? xb[i].rsp_prod_pvt : pb[i].ring.rsp_prod_pvt) == xb[0].rsp_prod_pvt); \
            }                                                                                              \
            (void)reqseq;                                                                                  \
        }                                                                                                  \
        /* It went round: past 2^32 when started below it, and many times round the ring. */              \
        CHECK(next_seq > 4u * xf[0].nr_ents);                                                              \
        if ((start_) > 0xFFFF0000u) {                                                                       \
            CHECK(xf[0].req_prod_pvt < (start_));                                                           \
        }                                                                                                  \
        for (i = 0; i < 4; i++) { /* nothing written past the area, by either side */                    \
            size_t j;                                                                                      \
            for (j = (bytes); j < AREA_MAX; j++) {                                                         \
                if (area[i][j] != 0xA5) {                                                                  \
                    break;                                                                                 \
                }                                                                                          \
            }                                                                                              \
            CHECK(j == AREA_MAX);                                                                          \
            free(area[i]);                                                                                 \
        }                                                                                                  \
    } while (0)

/* ---- hostile producer indices: our count and overflow against Xen's macros ------------------ */

#define HOSTILE(xname, pname, bytes)                                                                  \
    do {                                                                                              \
        unsigned char *a = area_new(bytes);                                                           \
        struct xname##_sring *s = (struct xname##_sring *)(void *)a;                                  \
        struct xname##_back_ring xb;                                                                  \
        struct pname##_back pb = { { 0, 0, 0, NULL } };                                               \
        unsigned t;                                                                                   \
        SHARED_RING_INIT(s);                                                                          \
        for (t = 0; t < 20000u; t++) {                                                                \
            RING_IDX base = t < 10000u ? rnd(64) : 0xFFFFFFFFu - rnd(64);                             \
            uint32_t nr, unanswered, n, claim;                                                        \
            int rc;                                                                                   \
            BACK_RING_ATTACH(&xb, s, base, bytes);                                                    \
            nr = xb.nr_ents;                                                                          \
            unanswered = rnd(nr + 1u);                                                                \
            xb.req_cons = base + unanswered; /* consumed, `unanswered` of them not answered */        \
            CHECK(pname##_back_attach(&pb, a, bytes, base) == 0);                                     \
            pb.ring.req_cons = xb.req_cons;                                                           \
            switch (t % 6u) {                                                                         \
            case 0: s->req_prod = xb.req_cons + rnd(2u * nr + 2u); break;                             \
            case 1: s->req_prod = xb.req_cons - 1u - rnd(nr); break;  /* behind req_cons */           \
            case 2: s->req_prod = 0xFFFFFFFFu; break;                                                 \
            case 3: s->req_prod = xb.req_cons + (nr - unanswered); break;  /* exactly full */         \
            case 4: s->req_prod = xb.req_cons + (nr - unanswered) + 1u; break;  /* one too many */    \
            default: s->req_prod = (RING_IDX)rng_state; break;                                        \
            }                                                                                         \
            rc = pname##_back_unconsumed(&pb, &n);                                                    \
            CHECK(n == RING_HAS_UNCONSUMED_REQUESTS(&xb)); /* the same clamp */                       \
            claim = s->req_prod - xb.req_cons;                                                        \
            CHECK((rc == -PVCORE_EOVERFLOW) == (claim > nr - unanswered));                            \
            CHECK(rc == 0 || rc == -PVCORE_EOVERFLOW);                                                \
            if (RING_REQUEST_PROD_OVERFLOW(&xb, s->req_prod)) {                                       \
                CHECK(rc == -PVCORE_EOVERFLOW); /* every case Xen reports, we report */              \
            }                                                                                         \
            {                                                                                         \
                uint32_t got = 99;                                                                    \
                CHECK(pname##_back_consume(&pb, NULL, 0xFFFFFFFFu, &got) == rc);                      \
                CHECK(rc == 0 ? got == n : got == 0);                                                 \
            }                                                                                         \
        }                                                                                             \
        free(a);                                                                                      \
    } while (0)

int main(void)
{
    static const uint32_t starts[] = { 0, 0xFFFFFFFFu - 300u, 0x7FFFFFF0u };
    unsigned si;

    check_layout();
    check_init();
    for (si = 0; si < sizeof(starts) / sizeof(starts[0]); si++) {
        uint32_t start = starts[si];
        rng_state = 12345u + si;
        INTEROP(r64, r64, struct req64, struct rsp64, make_req64, make_rsp64, req64_ok, req64_seq, 4096, start,
                6000u);
        INTEROP(r64, r64, struct req64, struct rsp64, make_req64, make_rsp64, req64_ok, req64_seq, 8192 + 64,
                start, 6000u);
        INTEROP(r8, r8, struct req8, struct rsp8, make_req8, make_rsp8, req8_ok, req8_seq, 4096, start, 20000u);
        INTEROP(blkif, pvblk, struct blkif_request, struct blkif_response, make_reqblk, make_rspblk, reqblk_ok,
                reqblk_seq, 4096, start, 6000u);
    }
    HOSTILE(r64, r64, 4096);
    HOSTILE(r8, r8, 4096);
    HOSTILE(blkif, pvblk, 4096);
    printf("ring_layout: %lu checks, %lu failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
