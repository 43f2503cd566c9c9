/*
 * The ring template (<pvcore/ring.h>): every operation and error, exact indices and bytes
 * afterwards, wrap-around at 2^32, batched publication, notify decisions, and the other
 * side as an attacker (absurd producer indices, slots changed after the copy, hostile event
 * indices).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <pvcore/ring.h>

struct req {
    uint64_t id;
    uint32_t op;
    uint32_t len;
};
struct rsp {
    uint64_t id;
    int32_t status;
    uint32_t pad;
};
PVCORE_RING_DEFINE(tr, struct req, struct rsp);

/* An odd-sized slot (12 bytes: copied in 4-byte words) and a byte-sized one (copied in bytes). */
struct r12 {
    uint32_t a, b, c;
};
PVCORE_RING_DEFINE(t12, struct r12, struct r12);
struct r3 {
    uint8_t x[3];
};
PVCORE_RING_DEFINE(t3, struct r3, struct r3);

#define PAGE 4096u


/* A page-aligned area with a guard page around it that must stay untouched. */
struct area {
    unsigned char *mem; /* guard, page, guard */
    unsigned char *page;
};

static struct area area_new(void)
{
    struct area a;
    a.mem = aligned_alloc(PAGE, 3u * PAGE);
    assert_non_null(a.mem);
    memset(a.mem, 0xEE, 3u * PAGE);
    a.page = a.mem + PAGE;
    return a;
}

static void area_check_guards(const struct area *a)
{
    for (unsigned i = 0; i < PAGE; i++) {
        assert_int_equal(a->mem[i], 0xEE);
        assert_int_equal(a->mem[2u * PAGE + i], 0xEE);
    }
}

static struct pvcore_sring_header *hdr(struct area *a)
{
    return (struct pvcore_sring_header *)(void *)a->page;
}

static void *slot_at(struct area *a, uint32_t nr, size_t slot, uint32_t idx)
{
    return a->page + PVCORE_SRING_HEADER_SIZE + (size_t)(idx & (nr - 1u)) * slot;
}

/* ---- sizes and set-up ----------------------------------------------------------------------- */

static void test_nr_slots(void **state)
{
    (void)state;
    assert_int_equal(pvcore_ring_nr_slots(4096, 64), 32);
    assert_int_equal(pvcore_ring_nr_slots(4096, 8), 256);
    assert_int_equal(pvcore_ring_nr_slots(4096, 112), 32);
    assert_int_equal(pvcore_ring_nr_slots(4096, 16), 128);
    assert_int_equal(pvcore_ring_nr_slots(4096, 12), 256);
    assert_int_equal(pvcore_ring_nr_slots(8192, 64), 64);
    assert_int_equal(pvcore_ring_nr_slots(64 + 64, 64), 1);
    assert_int_equal(pvcore_ring_nr_slots(64 + 63, 64), 0);
    assert_int_equal(pvcore_ring_nr_slots(63, 1), 0);
    assert_int_equal(pvcore_ring_nr_slots(4096, 0), 0);
    assert_int_equal(pvcore_ring_nr_slots(64 + 3 * 8, 8), 2);
    /* A huge area is capped at 2^31 slots, never 0 from a truncated quotient. */
    assert_int_equal(pvcore_ring_nr_slots(SIZE_MAX, 1), 0x80000000u);
    assert_int_equal(pvcore_ring_nr_slots(4096, sizeof(union tr_slot)), PVCORE_RING_NR_SLOTS(4096, 16));
}

static void test_init_writes_header_only(void **state)
{
    struct area a = area_new();
    struct tr_front f = { { 0, 0, 0, NULL } };
    struct pvcore_sring_header *s = hdr(&a);
    (void)state;

    memset(a.page, 0x5A, PAGE);
    assert_int_equal(tr_front_init(&f, a.page, PAGE), 0);
    assert_int_equal(s->req_prod, 0);
    assert_int_equal(s->rsp_prod, 0);
    assert_int_equal(s->req_event, 1);
    assert_int_equal(s->rsp_event, 1);
    for (unsigned i = 0; i < sizeof(s->pvt.pvt_pad); i++) {
        assert_int_equal(s->pvt.pvt_pad[i], 0);
    }
    for (unsigned i = 0; i < sizeof(s->pad); i++) {
        assert_int_equal(s->pad[i], 0);
    }
    for (unsigned i = PVCORE_SRING_HEADER_SIZE; i < PAGE; i++) {
        assert_int_equal(a.page[i], 0x5A); /* slots untouched */
    }
    assert_int_equal(f.ring.req_prod_pvt, 0);
    assert_int_equal(f.ring.rsp_cons, 0);
    assert_int_equal(f.ring.nr_ents, 128);
    assert_ptr_equal(f.ring.sring, s);
    area_check_guards(&a);
    free(a.mem);
}

static void test_back_init_writes_nothing(void **state)
{
    struct area a = area_new();
    struct tr_back b = { { 0, 0, 0, NULL } };
    unsigned char copy[PAGE];
    (void)state;

    memset(a.page, 0x77, PAGE);
    memcpy(copy, a.page, PAGE);
    assert_int_equal(tr_back_init(&b, a.page, PAGE), 0);
    assert_memory_equal(copy, a.page, PAGE);
    assert_int_equal(b.ring.rsp_prod_pvt, 0);
    assert_int_equal(b.ring.req_cons, 0);
    assert_int_equal(b.ring.nr_ents, 128);
    assert_int_equal(tr_back_attach(&b, a.page, PAGE, 0xFFFFFFF0u), 0);
    assert_int_equal(b.ring.rsp_prod_pvt, 0xFFFFFFF0u);
    assert_int_equal(b.ring.req_cons, 0xFFFFFFF0u);
    assert_memory_equal(copy, a.page, PAGE);
    free(a.mem);
}

static void test_init_errors(void **state)
{
    struct area a = area_new();
    struct pvcore_ring_front f = { 11, 22, 33, NULL };
    struct pvcore_ring_back b = { 44, 55, 66, NULL };
    (void)state;

    memset(a.page, 0x33, PAGE);
    assert_int_equal(pvcore_ring_front_init(&f, NULL, PAGE, 16), -PVCORE_EINVAL);
    assert_int_equal(pvcore_ring_front_init(&f, a.page + 4, PAGE - 4, 16), -PVCORE_EINVAL); /* misaligned */
    assert_int_equal(pvcore_ring_front_init(&f, a.page, 64 + 15, 16), -PVCORE_EINVAL);      /* no slot fits */
    assert_int_equal(pvcore_ring_front_init(&f, a.page, PAGE, 0), -PVCORE_EINVAL);
    assert_int_equal(pvcore_ring_front_attach(&f, a.page, 10, 16, 0), -PVCORE_EINVAL);
    assert_int_equal(pvcore_ring_back_init(&b, NULL, PAGE, 16), -PVCORE_EINVAL);
    assert_int_equal(pvcore_ring_back_attach(&b, a.page + 1, PAGE, 16, 0), -PVCORE_EINVAL);
    assert_int_equal(pvcore_ring_back_init(&b, a.page, PAGE, 0), -PVCORE_EINVAL);
    /* Nothing changed: neither the states nor the area. */
    assert_int_equal(f.req_prod_pvt, 11);
    assert_int_equal(f.rsp_cons, 22);
    assert_int_equal(f.nr_ents, 33);
    assert_null(f.sring);
    assert_int_equal(b.rsp_prod_pvt, 44);
    assert_int_equal(b.req_cons, 55);
    assert_int_equal(b.nr_ents, 66);
    for (unsigned i = 0; i < PAGE; i++) {
        assert_int_equal(a.page[i], 0x33);
    }
    /* A one-slot ring works. */
    assert_int_equal(pvcore_ring_front_init(&f, a.page, 64 + 16, 16), 0);
    assert_int_equal(f.nr_ents, 1);
    free(a.mem);
}

/* ---- one full exchange: every operation, exact indices afterwards ------------------------------ */

static void ring_pair(struct area *a, struct tr_front *f, struct tr_back *b, uint32_t start)
{
    assert_int_equal(tr_front_init(f, a->page, PAGE), 0);
    if (start != 0) {
        hdr(a)->req_prod = hdr(a)->rsp_prod = start;
        hdr(a)->req_event = hdr(a)->rsp_event = start + 1u;
        assert_int_equal(tr_front_attach(f, a->page, PAGE, start), 0);
    }
    assert_int_equal(tr_back_attach(b, a->page, PAGE, start), 0);
}

static void exchange(uint32_t start)
{
    struct area a = area_new();
    struct tr_front f = { { 0, 0, 0, NULL } };
    struct tr_back b = { { 0, 0, 0, NULL } };
    struct pvcore_sring_header *s = hdr(&a);
    struct req q[8];
    struct rsp p;
    uint32_t n, got;

    ring_pair(&a, &f, &b, start);
    assert_int_equal(tr_front_free_requests(&f), 128);
    assert_false(tr_front_full(&f));
    /* Three requests written in place; nothing visible before the push. */
    for (uint32_t i = 0; i < 3; i++) {
        struct req *r = tr_front_produce(&f);
        assert_ptr_equal(r, slot_at(&a, 128, 16, start + i));
        r->id = 100 + i;
        r->op = i;
        r->len = 512;
    }
    assert_int_equal(f.ring.req_prod_pvt, start + 3u);
    assert_int_equal(tr_front_free_requests(&f), 125);
    assert_int_equal(s->req_prod, start);
    assert_int_equal(tr_back_unconsumed(&b, &n), 0);
    assert_int_equal(n, 0);
    /* One push publishes all three; the back-end asked (req_event = start + 1). */
    assert_true(tr_front_push_check_notify(&f));
    assert_int_equal(s->req_prod, start + 3u);
    assert_int_equal(tr_back_unconsumed(&b, &n), 0);
    assert_int_equal(n, 3);
    /* Copy out one, then the other two in a batch. */
    assert_int_equal(tr_back_copy_request(&b, &q[0]), 0);
    assert_int_equal(q[0].id, 100);
    assert_int_equal(b.ring.req_cons, start + 1u);
    assert_int_equal(tr_back_consume(&b, &q[1], 7, &got), 0); /* room for 7 */
    assert_int_equal(got, 2);
    assert_int_equal(q[1].id, 101);
    assert_int_equal(q[2].id, 102);
    assert_int_equal(q[2].op, 2);
    assert_int_equal(b.ring.req_cons, start + 3u);
    assert_int_equal(tr_back_consume(&b, q, 8, &got), 0);
    assert_int_equal(got, 0);
    /* Nothing more: the final check arms req_event = req_cons + 1. */
    assert_int_equal(tr_back_final_check(&b, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(s->req_event, start + 4u);
    /* Answer two; the third stays owed. */
    assert_int_equal(tr_back_unanswered(&b), 3);
    for (uint32_t i = 0; i < 2; i++) {
        struct rsp *r = tr_back_produce(&b);
        assert_ptr_equal(r, slot_at(&a, 128, 16, start + i));
        r->id = q[i].id;
        r->status = (int32_t)i;
    }
    assert_int_equal(tr_back_unanswered(&b), 1);
    /* The front-end has not asked (rsp_event is still start + 1, passed): no notify ... */
    hdr(&a)->rsp_event = start; /* ... make it "already passed" */
    assert_false(tr_back_push_check_notify(&b));
    assert_int_equal(s->rsp_prod, start + 2u);
    /* The front-end copies them out. */
    assert_int_equal(tr_front_unconsumed(&f, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(tr_front_copy_response(&f, &p), 0);
    assert_int_equal(p.id, 100);
    assert_int_equal(tr_front_consume(&f, &p, 1, &got), 0);
    assert_int_equal(got, 1);
    assert_int_equal(p.id, 101);
    assert_int_equal(p.status, 1);
    assert_int_equal(f.ring.rsp_cons, start + 2u);
    assert_int_equal(tr_front_free_requests(&f), 127);
    /* It waits for the third: the final check arms rsp_event, the push then notifies. */
    assert_int_equal(tr_front_final_check(&f, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(s->rsp_event, start + 3u);
    tr_back_produce(&b)->id = q[2].id;
    assert_null(tr_back_produce(&b)); /* nothing more is owed */
    assert_true(tr_back_push_check_notify(&b));
    assert_int_equal(tr_front_final_check(&f, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s->rsp_event, start + 3u); /* not re-armed when work is found */
    assert_int_equal(tr_front_copy_response(&f, &p), 0);
    assert_int_equal(p.id, 102);
    assert_int_equal(tr_front_copy_response(&f, &p), -PVCORE_ENOSPC); /* none can be waiting */
    assert_int_equal(tr_front_free_requests(&f), 128);
    area_check_guards(&a);
    free(a.mem);
}

static void test_exchange(void **state)
{
    (void)state;
    exchange(0);
}

static void test_exchange_across_2_32(void **state)
{
    (void)state;
    exchange(0xFFFFFFFEu);
    exchange(0xFFFFFFFFu);
}

/* Many laps round a small ring, the indices crossing 2^32, with batches of every size. */
static void test_wrap_laps(void **state)
{
    struct area a = area_new();
    struct tr_front f = { { 0, 0, 0, NULL } };
    struct tr_back b = { { 0, 0, 0, NULL } };
    uint64_t next = 0, want = 0, rwant = 0;
    uint32_t start = 0xFFFFFF00u;
    (void)state;

    ring_pair(&a, &f, &b, start);
    for (unsigned lap = 0; lap < 4000; lap++) {
        uint32_t k = lap % 131u, n, got;
        struct req q[128];
        struct rsp p[128];

        for (uint32_t i = 0; i < k; i++) {
            struct req *r = tr_front_produce(&f);
            if (r == NULL) {
                assert_true(tr_front_full(&f));
                break;
            }
            r->id = next++;
        }
        tr_front_push(&f);
        assert_int_equal(tr_back_consume(&b, q, 128, &got), 0);
        for (uint32_t i = 0; i < got; i++) {
            assert_int_equal(q[i].id, want++);
            tr_back_produce(&b)->id = q[i].id;
        }
        tr_back_push(&b);
        assert_int_equal(tr_front_unconsumed(&f, &n), 0);
        assert_int_equal(n, got);
        assert_int_equal(tr_front_consume(&f, p, 128, &got), 0);
        for (uint32_t i = 0; i < got; i++) {
            assert_int_equal(p[i].id, rwant++);
        }
        assert_int_equal(tr_front_free_requests(&f), 128);
    }
    assert_true(next > 100000u);
    assert_int_equal(want, next);
    assert_true(f.ring.req_prod_pvt < start); /* wrapped */
    area_check_guards(&a);
    free(a.mem);
}

/* The ring fills exactly: nr_ents requests outstanding, then produce says NULL. */
static void test_full_and_batched_publish(void **state)
{
    struct area a = area_new();
    struct tr_front f = { { 0, 0, 0, NULL } };
    struct tr_back b = { { 0, 0, 0, NULL } };
    uint32_t n, got;
    struct req q = { 0, 0, 0 };
    (void)state;

    ring_pair(&a, &f, &b, 0);
    for (uint32_t i = 0; i < 128; i++) {
        assert_non_null(tr_front_produce(&f));
    }
    assert_true(tr_front_full(&f));
    assert_int_equal(tr_front_free_requests(&f), 0);
    assert_null(tr_front_produce(&f));
    assert_int_equal(f.ring.req_prod_pvt, 128);
    /* Produced but not pushed: the back-end sees nothing. */
    assert_int_equal(tr_back_unconsumed(&b, &n), 0);
    assert_int_equal(n, 0);
    tr_front_push(&f); /* all 128 at once */
    assert_int_equal(hdr(&a)->req_prod, 128);
    assert_int_equal(tr_back_unconsumed(&b, &n), 0);
    assert_int_equal(n, 128);
    assert_int_equal(tr_back_consume(&b, NULL, 1000, &got), 0);
    assert_int_equal(got, 128);
    /* Every slot holds an unanswered request: no copy can be waiting. */
    assert_int_equal(tr_back_copy_request(&b, &q), -PVCORE_ENOSPC);
    assert_int_equal(b.ring.req_cons, 128);
    /* A push with nothing new never notifies, whatever the event. */
    hdr(&a)->req_event = 128;
    assert_false(tr_front_push_check_notify(&f));
    area_check_guards(&a);
    free(a.mem);
}

/* Batched put: requests and responses copied in from private memory, as many as there is
 * room for, at the right slots across the wrap of the slot index and of 2^32, published
 * only by the push; the rest of a larger slot untouched; a copy larger than the slot
 * refused with nothing changed. */
static void test_put(void **state)
{
    struct area a = area_new();
    struct tr_front f = { { 0, 0, 0, NULL } };
    struct tr_back b = { { 0, 0, 0, NULL } };
    struct pvcore_sring_header *s = hdr(&a);
    uint32_t start = 0xFFFFFFC0u; /* slot index 64 of 128; 2^32 crossed after 64 */
    struct req q[200], back[200];
    struct rsp p[200], pr[200];
    uint32_t put, got, n, i;
    (void)state;

    ring_pair(&a, &f, &b, start);
    for (i = 0; i < 200; i++) {
        q[i].id = 1000u + i;
        q[i].op = i;
        q[i].len = ~i;
        p[i].id = q[i].id;
        p[i].status = -(int32_t)i;
        p[i].pad = 0x5A5A5A5Au;
    }
    /* 100 fit: slots 64..127, then 0..35. */
    assert_int_equal(tr_front_put(&f, q, 100, &put), 0);
    assert_int_equal(put, 100);
    assert_int_equal(f.ring.req_prod_pvt, start + 100u);
    for (i = 0; i < 100; i++) {
        assert_memory_equal(slot_at(&a, 128, 16, start + i), &q[i], sizeof(q[i]));
    }
    assert_int_equal(s->req_prod, start); /* not visible before the push */
    assert_int_equal(tr_back_unconsumed(&b, &n), 0);
    assert_int_equal(n, 0);
    /* Of the next 100 only 28 fit; then none: the ring is full, nothing changes. */
    assert_int_equal(tr_front_put(&f, &q[100], 100, &put), 0);
    assert_int_equal(put, 28);
    assert_true(tr_front_full(&f));
    assert_int_equal(tr_front_put(&f, &q[128], 1, &put), 0);
    assert_int_equal(put, 0);
    assert_int_equal(f.ring.req_prod_pvt, start + 128u);
    assert_int_equal(tr_front_put(&f, q, 0, &put), 0);
    assert_int_equal(put, 0);
    tr_front_push(&f);
    assert_int_equal(s->req_prod, start + 128u);
    assert_int_equal(tr_back_consume(&b, back, 200, &got), 0);
    assert_int_equal(got, 128);
    assert_memory_equal(back, q, 128u * sizeof(q[0]));

    /* Responses: at most one per unanswered request, at its slot, visible at the push. */
    assert_int_equal(tr_back_put(&b, p, 50, &put), 0);
    assert_int_equal(put, 50);
    assert_int_equal(tr_back_unanswered(&b), 78);
    for (i = 0; i < 50; i++) {
        assert_memory_equal(slot_at(&a, 128, 16, start + i), &p[i], sizeof(p[i]));
    }
    assert_int_equal(s->rsp_prod, start);
    assert_int_equal(tr_back_put(&b, &p[50], 200, &put), 0);
    assert_int_equal(put, 78);
    assert_int_equal(tr_back_put(&b, p, 1, &put), 0);
    assert_int_equal(put, 0); /* nothing is owed */
    assert_int_equal(b.ring.rsp_prod_pvt, start + 128u);
    tr_back_push(&b);
    assert_int_equal(tr_front_consume(&f, pr, 200, &got), 0);
    assert_int_equal(got, 128);
    assert_memory_equal(pr, p, 128u * sizeof(p[0]));
    assert_int_equal(tr_front_free_requests(&f), 128);
    area_check_guards(&a);

    /* Untyped: an element smaller than the slot writes its own bytes only; one larger is
     * refused, nothing produced. */
    {
        struct pvcore_ring_front uf = { 0, 0, 0, NULL };
        struct pvcore_ring_back ub = { 0, 0, 0, NULL };
        unsigned char src[2][24];
        unsigned char *s0;

        memset(src, 0xAB, sizeof(src));
        assert_int_equal(pvcore_ring_front_init(&uf, a.page, PAGE, 16), 0);
        assert_int_equal(pvcore_ring_back_init(&ub, a.page, PAGE, 16), 0);
        s0 = slot_at(&a, 128, 16, 0);
        memset(s0, 0x11, 32);
        assert_int_equal(pvcore_ring_front_put(&uf, 16, 17, src, 1, &put), -PVCORE_EINVAL);
        assert_int_equal(put, 0);
        assert_int_equal(uf.req_prod_pvt, 0);
        assert_int_equal(s0[0], 0x11);
        assert_int_equal(pvcore_ring_front_put(&uf, 16, 5, src, 2, &put), 0);
        assert_int_equal(put, 2);
        assert_int_equal(s0[4], 0xAB);
        assert_int_equal(s0[5], 0x11);
        assert_int_equal(s0[16 + 4], 0xAB);
        assert_int_equal(s0[16 + 5], 0x11);
        pvcore_ring_front_push(&uf);
        assert_int_equal(pvcore_ring_back_consume(&ub, 16, 16, NULL, 2, &got), 0);
        assert_int_equal(got, 2);
        assert_int_equal(pvcore_ring_back_put(&ub, 16, 24, src, 1, &put), -PVCORE_EINVAL);
        assert_int_equal(put, 0);
        assert_int_equal(ub.rsp_prod_pvt, 0);
        assert_int_equal(pvcore_ring_back_put(&ub, 16, 16, src, 2, &put), 0);
        assert_int_equal(put, 2);
        assert_int_equal(ub.rsp_prod_pvt, 2);
    }
    area_check_guards(&a);
    free(a.mem);
}

/* ---- notify decisions: exactly when event lies in (old, new] ---------------------------------- */

static void test_notify_decisions(void **state)
{
    static const uint32_t bases[] = { 0, 1000, 0xFFFFFFF0u, 0xFFFFFFFFu, 0x7FFFFFFFu };
    struct area a = area_new();
    struct tr_front f = { { 0, 0, 0, NULL } };
    struct tr_back b = { { 0, 0, 0, NULL } };
    (void)state;

    for (unsigned bi = 0; bi < sizeof(bases) / sizeof(bases[0]); bi++) {
        for (uint32_t k = 0; k <= 20; k++) {
            for (int32_t d = -40; d <= 40; d++) {
                uint32_t old = bases[bi], nw = old + k, ev = old + (uint32_t)d;
                bool want = (uint32_t)(ev - old) >= 1u && (uint32_t)(ev - old) <= k; /* ev in (old, new] */

                assert_int_equal(tr_front_init(&f, a.page, PAGE), 0);
                hdr(&a)->req_prod = old;
                hdr(&a)->req_event = ev;
                f.ring.req_prod_pvt = nw;
                f.ring.rsp_cons = nw;
                assert_int_equal(tr_front_push_check_notify(&f), want);
                assert_int_equal(hdr(&a)->req_prod, nw);
                assert_int_equal(hdr(&a)->req_event, ev); /* never written by the producer */

                assert_int_equal(tr_back_init(&b, a.page, PAGE), 0);
                hdr(&a)->rsp_prod = old;
                hdr(&a)->rsp_event = ev;
                b.ring.rsp_prod_pvt = nw;
                b.ring.req_cons = nw;
                assert_int_equal(tr_back_push_check_notify(&b), want);
                assert_int_equal(hdr(&a)->rsp_prod, nw);
            }
        }
    }
    free(a.mem);
}

/* Hostile event indices only change the decision; every index stays exact. */
static void test_hostile_event_indices(void **state)
{
    static const uint32_t evs[] = { 0, 1, 0xFFFFFFFFu, 0x80000000u, 5, 6, 7 };
    struct area a = area_new();
    struct tr_front f = { { 0, 0, 0, NULL } };
    struct tr_back b = { { 0, 0, 0, NULL } };
    uint32_t n;
    (void)state;

    for (unsigned i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
        ring_pair(&a, &f, &b, 0);
        for (int j = 0; j < 5; j++) {
            tr_front_produce(&f)->id = (uint64_t)j;
        }
        tr_front_push(&f); /* req_prod = 5 */
        for (int j = 0; j < 2; j++) {
            tr_front_produce(&f)->id = 5u + (uint64_t)j;
        }
        hdr(&a)->req_event = evs[i];
        /* Pushing 5 -> 7 notifies only for 6 and 7. */
        assert_int_equal(tr_front_push_check_notify(&f), evs[i] == 6 || evs[i] == 7);
        assert_int_equal(hdr(&a)->req_prod, 7);
        assert_int_equal(f.ring.req_prod_pvt, 7);
        assert_int_equal(tr_back_unconsumed(&b, &n), 0);
        assert_int_equal(n, 7);
        /* A final check with work waiting leaves req_event alone. */
        assert_int_equal(tr_back_final_check(&b, &n), 0);
        assert_int_equal(n, 7);
        assert_int_equal(hdr(&a)->req_event, evs[i]);
    }
    free(a.mem);
}

/* ---- the attacker: a hostile producer index ---------------------------------------------------- */

static void hostile_req_prod(uint32_t start, uint32_t unanswered)
{
    struct area a = area_new();
    struct tr_front f = { { 0, 0, 0, NULL } };
    struct tr_back b = { { 0, 0, 0, NULL } };
    struct req q[4];
    uint32_t n, got, cons, room;

    ring_pair(&a, &f, &b, start);
    /* The back-end has consumed `unanswered` requests without answering them. */
    for (uint32_t i = 0; i < unanswered; i++) {
        tr_front_produce(&f)->id = i;
    }
    tr_front_push(&f);
    assert_int_equal(tr_back_consume(&b, NULL, unanswered, &got), 0);
    assert_int_equal(got, unanswered);
    cons = b.ring.req_cons;
    room = 128u - unanswered;
    {
        const uint32_t absurd[] = { cons + 128u + 1u, cons + room + 1u, cons - 1u, 0xFFFFFFFFu,
                                    cons + 0x80000000u, cons + 1000u };
        for (unsigned i = 0; i < sizeof(absurd) / sizeof(absurd[0]); i++) {
            uint32_t claim = absurd[i] - cons;
            if (claim <= room) {
                continue; /* 0xFFFFFFFF may be legitimate for some starts */
            }
            hdr(&a)->req_prod = absurd[i];
            assert_int_equal(tr_back_unconsumed(&b, &n), -PVCORE_EOVERFLOW);
            assert_int_equal(n, room); /* Xen's clamp */
            got = 77;
            assert_int_equal(tr_back_consume(&b, q, 4, &got), -PVCORE_EOVERFLOW);
            assert_int_equal(got, 0);
            assert_int_equal(tr_back_final_check(&b, &n), -PVCORE_EOVERFLOW);
            assert_int_equal(n, room);
            /* Nothing consumed, nothing armed, nothing answered. */
            assert_int_equal(b.ring.req_cons, cons);
            assert_int_equal(b.ring.rsp_prod_pvt, start);
            assert_int_equal(hdr(&a)->req_event, start + 1u);
        }
    }
    /* Exactly the room is accepted. */
    hdr(&a)->req_prod = cons + room;
    assert_int_equal(tr_back_unconsumed(&b, &n), 0);
    assert_int_equal(n, room);
    area_check_guards(&a);
    free(a.mem);
}

static void test_attack_req_prod(void **state)
{
    (void)state;
    hostile_req_prod(0, 0);
    hostile_req_prod(0, 5);
    hostile_req_prod(0, 128);
    hostile_req_prod(0xFFFFFFF0u, 20);
    hostile_req_prod(0x7FFFFFF0u, 1);
}

/* A hostile back-end: more responses than requests, or rsp_prod behind rsp_cons. */
static void test_attack_rsp_prod(void **state)
{
    struct area a = area_new();
    struct tr_front f = { { 0, 0, 0, NULL } };
    struct tr_back b = { { 0, 0, 0, NULL } };
    struct rsp p[4];
    uint32_t n, got;
    (void)state;

    ring_pair(&a, &f, &b, 0);
    for (int i = 0; i < 3; i++) {
        tr_front_produce(&f)->id = (uint64_t)i;
    }
    tr_front_push(&f);
    const uint32_t absurd[] = { 4, 128, 129, 0xFFFFFFFFu, 0x80000000u };
    for (unsigned i = 0; i < sizeof(absurd) / sizeof(absurd[0]); i++) {
        hdr(&a)->rsp_prod = absurd[i];
        assert_int_equal(tr_front_unconsumed(&f, &n), -PVCORE_EOVERFLOW);
        assert_int_equal(n, 3);
        assert_int_equal(tr_front_consume(&f, p, 4, &got), -PVCORE_EOVERFLOW);
        assert_int_equal(got, 0);
        assert_int_equal(tr_front_final_check(&f, &n), -PVCORE_EOVERFLOW);
        assert_int_equal(f.ring.rsp_cons, 0);
        assert_int_equal(tr_front_free_requests(&f), 125); /* never more than the ring */
    }
    hdr(&a)->rsp_prod = 3;
    assert_int_equal(tr_front_consume(&f, NULL, 100, &got), 0); /* discard without copying */
    assert_int_equal(got, 3);
    assert_int_equal(tr_front_free_requests(&f), 128);
    free(a.mem);
}

/* XSA-155: the copy is taken once; the peer changing the slot afterwards changes nothing. */
static void test_attack_slot_changed_after_copy(void **state)
{
    struct area a = area_new();
    struct tr_front f = { { 0, 0, 0, NULL } };
    struct tr_back b = { { 0, 0, 0, NULL } };
    struct req q = { 0, 0, 0 }, batch[2];
    uint32_t n, got;
    (void)state;

    ring_pair(&a, &f, &b, 0);
    for (int i = 0; i < 3; i++) {
        struct req *r = tr_front_produce(&f);
        r->id = 7u + (uint64_t)i;
        r->op = 1;
        r->len = 4096;
    }
    tr_front_push(&f);
    assert_int_equal(tr_back_unconsumed(&b, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(tr_back_copy_request(&b, &q), 0);
    assert_int_equal(tr_back_consume(&b, batch, 2, &got), 0);
    /* The front-end rewrites every slot after the copies. */
    for (uint32_t i = 0; i < 3; i++) {
        struct req *r = slot_at(&a, 128, 16, i);
        r->len = 0xFFFFFFFFu;
        r->id = 0xBAD;
    }
    assert_int_equal(q.id, 7);
    assert_int_equal(q.len, 4096);
    assert_int_equal(batch[0].id, 8);
    assert_int_equal(batch[1].id, 9);
    assert_int_equal(batch[1].len, 4096);
    /* The back-end's response overwrites its request's slot; its copy is unaffected. */
    struct rsp *r = tr_back_produce(&b);
    assert_ptr_equal(r, slot_at(&a, 128, 16, 0));
    r->id = q.id;
    assert_int_equal(q.len, 4096);
    free(a.mem);
}

/* Slot sizes that are not multiples of 8 (word and byte copies) and a copy too large. */
static void test_odd_slot_sizes(void **state)
{
    struct area a = area_new();
    struct t12_front f12 = { { 0, 0, 0, NULL } };
    struct t12_back b12 = { { 0, 0, 0, NULL } };
    struct t3_front f3 = { { 0, 0, 0, NULL } };
    struct t3_back b3 = { { 0, 0, 0, NULL } };
    struct r12 x[300];
    struct r3 y[300];
    uint32_t got;
    (void)state;

    assert_int_equal(t12_front_init(&f12, a.page, PAGE), 0);
    assert_int_equal(t12_back_init(&b12, a.page, PAGE), 0);
    assert_int_equal(f12.ring.nr_ents, 256);
    for (uint32_t i = 0; i < 256; i++) {
        struct r12 *r = t12_front_produce(&f12);
        assert_ptr_equal(r, slot_at(&a, 256, 12, i));
        r->a = i;
        r->b = ~i;
        r->c = i * 3u;
    }
    assert_null(t12_front_produce(&f12));
    t12_front_push(&f12);
    assert_int_equal(t12_back_consume(&b12, x, 300, &got), 0);
    assert_int_equal(got, 256);
    for (uint32_t i = 0; i < 256; i++) {
        assert_int_equal(x[i].a, i);
        assert_int_equal(x[i].b, ~i);
        assert_int_equal(x[i].c, i * 3u);
    }
    area_check_guards(&a);

    assert_int_equal(t3_front_init(&f3, a.page, PAGE), 0);
    assert_int_equal(t3_back_init(&b3, a.page, PAGE), 0);
    assert_int_equal(f3.ring.nr_ents, 1024);
    for (uint32_t i = 0; i < 300; i++) {
        struct r3 *r = t3_front_produce(&f3);
        r->x[0] = (uint8_t)i;
        r->x[1] = (uint8_t)(i >> 8);
        r->x[2] = 0x5C;
    }
    t3_front_push(&f3);
    assert_int_equal(t3_back_consume(&b3, y, 300, &got), 0);
    assert_int_equal(got, 300);
    for (uint32_t i = 0; i < 300; i++) {
        assert_int_equal(y[i].x[0], (uint8_t)i);
        assert_int_equal(y[i].x[1], (uint8_t)(i >> 8));
        assert_int_equal(y[i].x[2], 0x5C);
    }
    area_check_guards(&a);

    /* Untyped: a copy larger than the slot is refused, nothing consumed. */
    struct pvcore_ring_back ub = { 0, 0, 0, NULL };
    unsigned char big[64];
    assert_int_equal(pvcore_ring_back_init(&ub, a.page, PAGE, 16), 0);
    hdr(&a)->req_prod = 1;
    assert_int_equal(pvcore_ring_back_copy_request(&ub, 16, 17, big), -PVCORE_EINVAL);
    assert_int_equal(pvcore_ring_back_consume(&ub, 16, 17, big, 1, &got), -PVCORE_EINVAL);
    assert_int_equal(got, 0);
    assert_int_equal(ub.req_cons, 0);
    /* A request smaller than its slot copies only its own bytes. */
    memset(big, 0xCC, sizeof(big));
    assert_int_equal(pvcore_ring_back_copy_request(&ub, 16, 3, big), 0);
    assert_int_equal(big[3], 0xCC);
    assert_int_equal(ub.req_cons, 1);
    free(a.mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nr_slots),
        cmocka_unit_test(test_init_writes_header_only),
        cmocka_unit_test(test_back_init_writes_nothing),
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_exchange),
        cmocka_unit_test(test_exchange_across_2_32),
        cmocka_unit_test(test_wrap_laps),
        cmocka_unit_test(test_full_and_batched_publish),
        cmocka_unit_test(test_put),
        cmocka_unit_test(test_notify_decisions),
        cmocka_unit_test(test_hostile_event_indices),
        cmocka_unit_test(test_attack_req_prod),
        cmocka_unit_test(test_attack_rsp_prod),
        cmocka_unit_test(test_attack_slot_changed_after_copy),
        cmocka_unit_test(test_odd_slot_sizes),
    };
    return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
