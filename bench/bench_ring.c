/*
 * bench_ring: the shared ring of <pvcore/ring.h>, one producer thread and one consumer
 * thread (pinned to CPUs 0 and 1 when there are two), 64-byte messages, 256-slot rings,
 * against the peers of ring-peer-baseline.md measured in the same run:
 *
 *   batched  - the producer publishes once per 16 messages. libpvcore (produce 16 slots
 *              in place, one push; the consumer reads req_prod once, copies out and checks
 *              up to 16 requests one by one and answers them with one push of responses
 *              that carry no payload), Xen's io/ring.h macros from libxen-dev used the
 *              same way (the same loop, blkback's), DPDK's rte_ring
 *              (rte_ring_sp_enqueue_bulk_elem / rte_ring_sc_dequeue_burst_elem, 16, on heap
 *              memory without EAL) and Concurrency Kit's ck_ring (CK_RING_PROTOTYPE for
 *              the 64-byte type, one message per call: it has no bulk operation).
 *              Target: libpvcore >= 1.2x the best peer.
 *   per-message - the producer publishes every message: libpvcore against Xen's macros.
 *              Target: >= 1.0x. The same with event indices (push and check notify on
 *              every message; the consumer's final check whenever it finds the ring empty,
 *              the would-be notifications counted, no event sent), for information.
 *
 * Every message is sequence-checked and every word of it checked by the consumer (so that
 * each implementation reads the whole message: GCC drops the unused words of Xen's
 * volatile RING_COPY_REQUEST otherwise). Rounds are interleaved: each round runs every
 * implementation once, forwards in even rounds and backwards in odd ones (A B C .. C B A),
 * so that the implementations compared with each other run next to each other; the
 * throughputs are medians of the rounds (with min and max), and each ratio is the median of
 * the ratios measured within a round, so that a burst of load on the shared machine
 * (which moves absolute numbers by tens of percent) hits both sides of a ratio alike.
 * Nothing here asserts on time.
 *
 * usage: bench_ring [--quick]   (--quick: a short run that only checks that every
 *                                implementation delivers every message in order)
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pvcore/ring.h>

/* ThreadSanitizer: only libpvcore's ring runs (the peers' plain or assembly index
 * accesses are not visible to it, and Xen's xen_mb() fence does not build with it). */
#if defined(__SANITIZE_THREAD__)
#define BENCH_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BENCH_TSAN 1
#endif
#endif
#ifndef BENCH_TSAN
#define BENCH_TSAN 0
#endif

#if !BENCH_TSAN
/* Xen's io/ring.h: the newest interface (ring-peer-baseline.md's gotcha: with the default
 * version it maps xen_mb() to an mb() that does not exist). Barriers as on Linux x86:
 * rmb and wmb order only the compiler (x86 keeps loads and stores in order), mb is a
 * full fence. */
#define __XEN_INTERFACE_VERSION__ __XEN_LATEST_INTERFACE_VERSION__
#define xen_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define xen_wmb() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#include <xen/io/ring.h>
#ifdef BENCH_HAVE_CK
#include <ck_ring.h>
#endif
#ifdef BENCH_HAVE_RTE
#include <rte_ring.h>
#include <rte_ring_elem.h>
#endif
#endif

#define RING_SLOTS 256u
#define BATCH 16u
#define MSG_WORDS 8u
/* Bytes between the two threads' private ring states: two cache lines, as x86 prefetchers
 * fetch lines in aligned pairs, so that state 64 bytes apart still shares a pair between
 * the threads (false sharing: on the development VM, 64 bytes made every implementation
 * two to three times slower per message than 128). */
#define PRIV_GAP 128u

struct msg {
    uint64_t w[MSG_WORDS]; /* w[0]: sequence number; w[7]: its complement */
};

PVCORE_RING_DEFINE(bm, struct msg, struct msg);

#if !BENCH_TSAN
DEFINE_RING_TYPES(xm, struct msg, struct msg);
#ifdef BENCH_HAVE_CK
CK_RING_PROTOTYPE(msg, msg)
#endif
#endif

static uint64_t nmsgs = 2000000;
static unsigned rounds = 15;
static bool pin = true;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* aligned_alloc with the size rounded up to the alignment, as C11 requires; exits on failure. */
static void *xalloc(size_t align, size_t bytes)
{
    void *p = aligned_alloc(align, (bytes + align - 1u) & ~(align - 1u));

    if (p == NULL) {
        fprintf(stderr, "bench_ring: out of memory\n");
        exit(1);
    }
    return p;
}

static void fill(struct msg *m, uint64_t seq)
{
    unsigned i;

    m->w[0] = seq;
    for (i = 1; i < MSG_WORDS - 1u; i++) {
        m->w[i] = seq + i;
    }
    m->w[MSG_WORDS - 1u] = ~seq;
}

/* ---- the run harness: a ring, a producer and a consumer thread ----------------------------- */

struct run {
    void *area;               /* Xen-layout shared area (libpvcore and Xen) */
    size_t area_bytes;
    void *peer;               /* the peer's ring object */
    void *peer_buf;
    atomic_int ready;
    atomic_bool go;
    uint64_t errors;          /* written by the consumer only */
    uint64_t notifies;        /* would-be notifications, producer side */
    uint64_t wakeups;         /* would-be notifications, consumer side (final checks that armed) */
};

struct impl {
    const char *name;
    void (*setup)(struct run *);
    void (*produce)(struct run *);
    void (*consume)(struct run *);
};

/* The consumer uses the whole message: every word is checked. */
static void check(struct run *r, const struct msg *m, uint64_t want)
{
    uint64_t bad = (m->w[0] ^ want) | (m->w[MSG_WORDS - 1u] ^ ~want);
    unsigned i;

    for (i = 1; i < MSG_WORDS - 1u; i++) {
        bad |= m->w[i] ^ (want + i);
    }
    if (bad != 0) {
        r->errors++;
    }
}

static void wait_go(struct run *r)
{
    atomic_fetch_add(&r->ready, 1);
    while (!atomic_load_explicit(&r->go, memory_order_acquire)) {
        cpu_relax();
    }
}

struct thr {
    struct run *r;
    const struct impl *im;
    int cpu;
    bool producer;
};

static void *thread_main(void *arg)
{
    struct thr *t = arg;

    if (pin && t->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET((size_t)t->cpu, &set);
        (void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    }
    wait_go(t->r);
    if (t->producer) {
        t->im->produce(t->r);
    } else {
        t->im->consume(t->r);
    }
    return NULL;
}

/*
 * Memory. Where a ring lands moves its throughput by up to two times on a shared VM (the
 * cache slice each line maps to, and so the path between the two cores, follows from its
 * physical address), from one allocation to the next: so every implementation of a round
 * runs in the same memory, one arena the round allocates afresh, shared ring memory at its
 * start and the two ends' private state PRIV_GAP apart after it. The comparison within a
 * round is then of the implementations alone, and the rounds sample placements.
 */
#define ARENA_SHARED (32u * 1024u)      /* the shared ring (any implementation's) */
#define ARENA_BYTES (ARENA_SHARED + 4096u) /* then the private state */

static unsigned char *arena;

static void *arena_shared(size_t bytes)
{
    if (bytes > ARENA_SHARED) {
        fprintf(stderr, "bench_ring: a ring of %zu bytes does not fit the arena\n", bytes);
        exit(1);
    }
    memset(arena, 0, ARENA_BYTES);
    return arena;
}

static void *arena_private(size_t bytes)
{
    if (bytes > ARENA_BYTES - ARENA_SHARED) {
        fprintf(stderr, "bench_ring: private state of %zu bytes does not fit the arena\n", bytes);
        exit(1);
    }
    return arena + ARENA_SHARED;
}

static void area_alloc(struct run *r)
{
    size_t bytes = PVCORE_SRING_HEADER_SIZE + RING_SLOTS * sizeof(struct msg);

    r->area_bytes = (bytes + 4095u) & ~(size_t)4095u;
    r->area = arena_shared(r->area_bytes);
}

/* Mmsg/s of one run of `im`. */
static double run_once(const struct impl *im, struct run *r)
{
    pthread_t tp, tc;
    struct thr p = { r, im, 0, true }, c = { r, im, 1, false };
    double t0, t1;

    memset(r, 0, sizeof(*r));
    atomic_init(&r->ready, 0);
    atomic_init(&r->go, false);
    im->setup(r);
    if (pthread_create(&tc, NULL, thread_main, &c) != 0 || pthread_create(&tp, NULL, thread_main, &p) != 0) {
        fprintf(stderr, "bench_ring: pthread_create failed\n");
        exit(1);
    }
    while (atomic_load(&r->ready) != 2) {
        cpu_relax();
    }
    t0 = now_ns();
    atomic_store_explicit(&r->go, true, memory_order_release);
    pthread_join(tp, NULL);
    pthread_join(tc, NULL);
    t1 = now_ns();
    if (r->errors != 0) {
        fprintf(stderr, "bench_ring: %s: %" PRIu64 " messages out of sequence or corrupted\n", im->name, r->errors);
        exit(1);
    }
    return (double)nmsgs / ((t1 - t0) / 1e3);
}

/* ---- libpvcore ---------------------------------------------------------------------------- */

/* The producer's and the consumer's private state 128 bytes apart (PRIV_GAP), here and
 * in struct xen alike. */
struct ours {
    struct bm_front f;
    char pad1[PRIV_GAP - sizeof(struct bm_front)];
    struct bm_back b;
};

static void ours_setup(struct run *r)
{
    struct ours *o;

    area_alloc(r);
    o = arena_private(sizeof(*o));
    if (bm_front_init(&o->f, r->area, r->area_bytes) != 0 ||
        bm_back_init(&o->b, r->area, r->area_bytes) != 0 || o->f.ring.nr_ents != RING_SLOTS) {
        fprintf(stderr, "bench_ring: ring set-up failed\n");
        exit(1);
    }
    r->peer = o;
}

/* The front-end waits for `n` free slots: it takes back the slots of answered requests.
 * Out of line, as the Xen variant's wait (the fast paths are inlined alike). */
static __attribute__((noinline)) void ours_wait_free(struct bm_front *f, uint32_t n)
{
    uint32_t got;

    while (bm_front_free_requests(f) < n) {
        if (bm_front_consume(f, NULL, UINT32_MAX, &got) != 0) {
            fprintf(stderr, "bench_ring: response overflow\n");
            exit(1);
        }
        if (got == 0) {
            cpu_relax();
        }
    }
}

static inline struct msg *ours_slot(struct bm_front *f)
{
    struct msg *m = bm_front_produce(f);

    while (m == NULL) {
        ours_wait_free(f, 1);
        m = bm_front_produce(f);
    }
    return m;
}

/* Batched: 16 messages written in private memory, then put into the ring with one call
 * (pvcore_ring_front_put(): the ring's indices touched once) and published with one push,
 * once 16 slots are free (rte_ring's bulk enqueue waits for room the same way). */
static void ours_produce_batch(struct run *r)
{
    struct bm_front *f = &((struct ours *)r->peer)->f;
    struct msg buf[BATCH];
    uint64_t seq = 0;
    uint32_t n, i, put;

    while (seq < nmsgs) {
        n = nmsgs - seq < BATCH ? (uint32_t)(nmsgs - seq) : BATCH;
        for (i = 0; i < n; i++) {
            fill(&buf[i], seq + i);
        }
        if (bm_front_free_requests(f) < n) {
            ours_wait_free(f, n);
        }
        if (bm_front_put(f, buf, n, &put) != 0 || put != n) {
            fprintf(stderr, "bench_ring: put %u of %u\n", put, n);
            exit(1);
        }
        bm_front_push(f);
        seq += n;
    }
}

static void ours_produce_each(struct run *r)
{
    struct bm_front *f = &((struct ours *)r->peer)->f;
    uint64_t seq;

    for (seq = 0; seq < nmsgs; seq++) {
        fill(ours_slot(f), seq);
        bm_front_push(f);
    }
}

static void ours_produce_evidx(struct run *r)
{
    struct bm_front *f = &((struct ours *)r->peer)->f;
    uint64_t seq, notifies = 0;

    for (seq = 0; seq < nmsgs; seq++) {
        fill(ours_slot(f), seq);
        notifies += bm_front_push_check_notify(f);
    }
    r->notifies = notifies;
}

/* The back-end, as ring-peer-baseline.md's Xen consumer (and blkback): read req_prod once,
 * copy out and check every request up to it, then answer them all with one push (the
 * responses carry no payload). The Xen variant below runs the same loop. */
static void ours_consume_common(struct run *r, bool evidx)
{
    struct bm_back *b = &((struct ours *)r->peer)->b;
    struct msg m;
    uint64_t want = 0, wakeups = 0;
    uint32_t n, i;

    while (want < nmsgs) {
        if (bm_back_unconsumed(b, &n) != 0) {
            fprintf(stderr, "bench_ring: request overflow\n");
            exit(1);
        }
        if (n == 0) {
            if (evidx && bm_back_final_check(b, &n) == 0 && n == 0) {
                wakeups++;
            }
            cpu_relax();
            continue;
        }
        for (i = 0; i < n; i++) {
            if (bm_back_copy_request(b, &m) != 0) {
                fprintf(stderr, "bench_ring: copy_request failed\n");
                exit(1);
            }
            check(r, &m, want++);
            (void)bm_back_produce(b);
        }
        bm_back_push(b);
    }
    r->wakeups = wakeups;
}

static void ours_consume(struct run *r)
{
    ours_consume_common(r, false);
}

static void ours_consume_evidx(struct run *r)
{
    ours_consume_common(r, true);
}

#if !BENCH_TSAN
/* ---- Xen's io/ring.h macros, used the same way ---------------------------------------------- */

struct xen {
    struct xm_front_ring f;
    char pad1[PRIV_GAP - sizeof(struct xm_front_ring)];
    struct xm_back_ring b;
};

static void xen_setup(struct run *r)
{
    struct xen *x;
    struct xm_sring *s;

    area_alloc(r);
    x = arena_private(sizeof(*x));
    s = r->area;
    SHARED_RING_INIT(s);
    /* Xen's __RING_SIZE computes in long: -Wconversion inside its expansion. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wconversion"
    FRONT_RING_INIT(&x->f, s, r->area_bytes);
    BACK_RING_INIT(&x->b, s, r->area_bytes);
#pragma GCC diagnostic pop
    if (RING_SIZE(&x->f) != RING_SLOTS) {
        fprintf(stderr, "bench_ring: Xen ring of %u slots\n", RING_SIZE(&x->f));
        exit(1);
    }
    r->peer = x;
}

/* Xen's front-ends refresh rsp_cons from the shared ring only when full. */
static __attribute__((noinline)) void xen_wait_free(struct xm_front_ring *f)
{
    while (RING_FULL(f)) {
        RING_IDX rp = __atomic_load_n(&f->sring->rsp_prod, __ATOMIC_RELAXED);
        xen_rmb();
        if (rp == f->rsp_cons) {
            cpu_relax();
        }
        f->rsp_cons = rp;
    }
}

static inline struct msg *xen_slot(struct xm_front_ring *f)
{
    if (RING_FULL(f)) {
        xen_wait_free(f);
    }
    return RING_GET_REQUEST(f, f->req_prod_pvt++);
}

static void xen_produce_batch(struct run *r)
{
    struct xm_front_ring *f = &((struct xen *)r->peer)->f;
    uint64_t seq;

    for (seq = 0; seq < nmsgs; seq++) {
        fill(xen_slot(f), seq);
        if ((seq & (BATCH - 1u)) == BATCH - 1u) {
            RING_PUSH_REQUESTS(f);
        }
    }
    RING_PUSH_REQUESTS(f);
}

static void xen_produce_each(struct run *r)
{
    struct xm_front_ring *f = &((struct xen *)r->peer)->f;
    uint64_t seq;

    for (seq = 0; seq < nmsgs; seq++) {
        fill(xen_slot(f), seq);
        RING_PUSH_REQUESTS(f);
    }
}

static void xen_produce_evidx(struct run *r)
{
    struct xm_front_ring *f = &((struct xen *)r->peer)->f;
    uint64_t seq, notifies = 0;
    int notify;

    for (seq = 0; seq < nmsgs; seq++) {
        fill(xen_slot(f), seq);
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(f, notify);
        notifies += notify != 0;
    }
    r->notifies = notifies;
}

/* The back-end as blkback's loop: rp = req_prod (read once), rmb, copy out and check each
 * request up to rp, then answer them all with one push. (Xen's final check is a GNU
 * statement expression under GCC and Clang: -Wpedantic is quietened for this function.) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
static void xen_consume_common(struct run *r, bool evidx)
{
    struct xm_back_ring *b = &((struct xen *)r->peer)->b;
    struct msg m;
    uint64_t want = 0, wakeups = 0;

    while (want < nmsgs) {
        RING_IDX rc = b->req_cons;
        RING_IDX rp = __atomic_load_n(&b->sring->req_prod, __ATOMIC_RELAXED);

        xen_rmb();
        if (rc == rp) {
            if (evidx) {
                unsigned int more;
                RING_FINAL_CHECK_FOR_REQUESTS(b, more);
                if (!more) {
                    wakeups++;
                }
            }
            cpu_relax();
            continue;
        }
        if (RING_REQUEST_PROD_OVERFLOW(b, rp)) {
            fprintf(stderr, "bench_ring: Xen request overflow\n");
            exit(1);
        }
        while (rc != rp) {
            RING_COPY_REQUEST(b, rc, &m);
            check(r, &m, want++);
            rc++;
        }
        b->req_cons = rc;
        b->rsp_prod_pvt = rc;
        RING_PUSH_RESPONSES(b);
    }
    r->wakeups = wakeups;
}

#pragma GCC diagnostic pop

static void xen_consume(struct run *r)
{
    xen_consume_common(r, false);
}

static void xen_consume_evidx(struct run *r)
{
    xen_consume_common(r, true);
}

#ifdef BENCH_HAVE_RTE
/* ---- DPDK rte_ring, 64-byte elements, bulk enqueue and burst dequeue of 16 ------------------ */

static void rte_setup(struct run *r)
{
    ssize_t bytes = rte_ring_get_memsize_elem(sizeof(struct msg), RING_SLOTS);
    struct rte_ring *ring;

    if (bytes <= 0 || (ring = arena_shared((size_t)bytes)) == NULL ||
        rte_ring_init(ring, "bench", RING_SLOTS, (unsigned)(RING_F_SP_ENQ | RING_F_SC_DEQ)) != 0) {
        fprintf(stderr, "bench_ring: rte_ring set-up failed\n");
        exit(1);
    }
    r->peer = ring;
}

static void rte_produce(struct run *r)
{
    struct rte_ring *ring = r->peer;
    struct msg buf[BATCH];
    uint64_t seq = 0;
    unsigned i;

    while (seq < nmsgs) {
        unsigned n = nmsgs - seq < BATCH ? (unsigned)(nmsgs - seq) : BATCH;

        for (i = 0; i < n; i++) {
            fill(&buf[i], seq + i);
        }
        while (rte_ring_sp_enqueue_bulk_elem(ring, buf, sizeof(struct msg), n, NULL) == 0) {
            cpu_relax();
        }
        seq += n;
    }
}

static void rte_consume(struct run *r)
{
    struct rte_ring *ring = r->peer;
    struct msg buf[BATCH];
    uint64_t want = 0;
    unsigned i, n;

    while (want < nmsgs) {
        n = rte_ring_sc_dequeue_burst_elem(ring, buf, sizeof(struct msg), BATCH, NULL);
        if (n == 0) {
            cpu_relax();
            continue;
        }
        for (i = 0; i < n; i++) {
            check(r, &buf[i], want++);
        }
    }
}
#endif

#ifdef BENCH_HAVE_CK
/* ---- Concurrency Kit ck_ring, the typed (CK_RING_PROTOTYPE) SPSC ring, one per call -------- */

static void ck_setup(struct run *r)
{
    struct msg *buf = arena_shared(RING_SLOTS * sizeof(struct msg));
    struct ck_ring *ring = arena_private(sizeof(struct ck_ring));

    ck_ring_init(ring, RING_SLOTS);
    r->peer = ring;
    r->peer_buf = buf;
}

static void ck_produce(struct run *r)
{
    struct msg m;
    uint64_t seq;

    for (seq = 0; seq < nmsgs; seq++) {
        fill(&m, seq);
        while (!ck_ring_enqueue_spsc_msg(r->peer, r->peer_buf, &m)) {
            cpu_relax();
        }
    }
}

static void ck_consume(struct run *r)
{
    struct msg m;
    uint64_t want = 0;

    while (want < nmsgs) {
        if (!ck_ring_dequeue_spsc_msg(r->peer, r->peer_buf, &m)) {
            cpu_relax();
            continue;
        }
        check(r, &m, want++);
    }
}
#endif
#endif /* !BENCH_TSAN */

/* ---- main ------------------------------------------------------------------------------------ */

enum {
    I_OURS_B16,
#if !BENCH_TSAN
    I_XEN_B16,
#ifdef BENCH_HAVE_RTE
    I_RTE_B16,
#endif
#ifdef BENCH_HAVE_CK
    I_CK,
#endif
#endif
    I_OURS_1,
#if !BENCH_TSAN
    I_XEN_1,
#endif
    I_OURS_EV,
#if !BENCH_TSAN
    I_XEN_EV,
#endif
    I_COUNT
};

static const struct impl impls[I_COUNT] = {
    [I_OURS_B16] = { "libpvcore (batch 16)", ours_setup, ours_produce_batch, ours_consume },
#if !BENCH_TSAN
    [I_XEN_B16] = { "xen io/ring.h (batch 16)", xen_setup, xen_produce_batch, xen_consume },
#ifdef BENCH_HAVE_RTE
    [I_RTE_B16] = { "rte_ring bulk/burst 16", rte_setup, rte_produce, rte_consume },
#endif
#ifdef BENCH_HAVE_CK
    [I_CK] = { "ck_ring SPSC (1/op)", ck_setup, ck_produce, ck_consume },
#endif
#endif
    [I_OURS_1] = { "libpvcore (push every msg)", ours_setup, ours_produce_each, ours_consume },
#if !BENCH_TSAN
    [I_XEN_1] = { "xen io/ring.h (push every msg)", xen_setup, xen_produce_each, xen_consume },
#endif
    [I_OURS_EV] = { "libpvcore (push+notify check every msg)", ours_setup, ours_produce_evidx,
                    ours_consume_evidx },
#if !BENCH_TSAN
    [I_XEN_EV] = { "xen io/ring.h (push+notify check every msg)", xen_setup, xen_produce_evidx,
                   xen_consume_evidx },
#endif
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
    double s[64];
    unsigned i;

    for (i = 0; i < n; i++) {
        s[i] = v[i];
    }
    qsort(s, n, sizeof(double), cmp_double);
    return n % 2u ? s[n / 2u] : (s[n / 2u - 1u] + s[n / 2u]) / 2.0;
}

static double vmin(const double *v, unsigned n)
{
    double m = v[0];
    for (unsigned i = 1; i < n; i++) {
        m = v[i] < m ? v[i] : m;
    }
    return m;
}

static double vmax(const double *v, unsigned n)
{
    double m = v[0];
    for (unsigned i = 1; i < n; i++) {
        m = v[i] > m ? v[i] : m;
    }
    return m;
}

#if !BENCH_TSAN
/* Prints the median of the per-round ratios a/b (and the ratio of the medians); with a
 * target, whether it is met. */
static void verdict(const char *what, unsigned a, unsigned b, double mps[][64], const double *med, double target)
{
    double r[64];
    unsigned i;

    for (i = 0; i < rounds; i++) {
        r[i] = mps[a][i] / mps[b][i];
    }
    printf("  %-58s %5.2fx [%5.2fx]", what, median(r, rounds), med[a] / med[b]);
    if (target > 0) {
        printf("  (target >= %.1fx: %s)", target, median(r, rounds) >= target ? "met" : "NOT met");
    }
    printf("\n");
}
#endif

int main(int argc, char **argv)
{
    static double mps[I_COUNT][64];
    static double notif[I_COUNT][64], wake[I_COUNT][64];
    static unsigned char *arenas[64];
    double med[I_COUNT];
    struct run run;
    unsigned round, k, i;
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    if (quick) {
        nmsgs = 100000;
        rounds = 1;
    }
    if (ncpu < 2) {
        pin = false;
    }
    printf("bench_ring: SPSC across two threads (%s), 64-byte messages, %u-slot rings, %" PRIu64
           " messages per run, %u interleaved rounds, Mmsg/s\n",
           pin ? "pinned to CPUs 0 and 1" : "not pinned: fewer than 2 CPUs", RING_SLOTS, nmsgs, rounds);
#if BENCH_TSAN
    printf("  (ThreadSanitizer build: libpvcore's ring only)\n");
#endif
    for (round = 0; round < rounds; round++) {
        arena = arenas[round] = xalloc(4096, ARENA_BYTES); /* kept: a new placement each round */
        for (k = 0; k < I_COUNT; k++) {
            i = round % 2u == 0 ? k : I_COUNT - 1u - k;
            mps[i][round] = run_once(&impls[i], &run);
            notif[i][round] = (double)run.notifies / (double)nmsgs;
            wake[i][round] = (double)run.wakeups / (double)nmsgs;
        }
    }
    for (round = 0; round < rounds; round++) {
        free(arenas[round]);
    }
    printf("%-46s %10s %10s %10s %9s %12s %12s\n", "implementation", "median", "min", "max", "ns/msg", "notify/msg",
           "armed/msg");
    for (i = 0; i < I_COUNT; i++) {
        med[i] = median(mps[i], rounds);
        printf("%-46s %10.2f %10.2f %10.2f %9.2f", impls[i].name, med[i], vmin(mps[i], rounds), vmax(mps[i], rounds),
               1e3 / med[i]);
        if (i == I_OURS_EV
#if !BENCH_TSAN
            || i == I_XEN_EV
#endif
        ) {
            printf(" %12.3f %12.3f", median(notif[i], rounds), median(wake[i], rounds));
        }
        printf("\n");
    }
    printf("every message sequence-checked: 0 errors\n");
    if (quick) {
        printf("quick run: ratios not judged\n");
        return 0;
    }
#if !BENCH_TSAN
    {
        /* The peers of ring-peer-baseline.md built from their Debian packages; Xen's macros
         * are the ABI's reference implementation, compared on their own below. */
        int best = -1;
#ifdef BENCH_HAVE_RTE
        best = I_RTE_B16;
#endif
#ifdef BENCH_HAVE_CK
        if (best < 0 || med[I_CK] > med[best]) {
            best = I_CK;
        }
#endif
        printf("ratios (median of the %u per-round ratios; in brackets the ratio of the medians above):\n", rounds);
        if (best >= 0) {
            printf("  best peer, batched 64-byte transfer: %s\n", impls[best].name);
            verdict("libpvcore batch 16 / best peer", I_OURS_B16, (unsigned)best, mps, med, 1.2);
        } else {
            printf("  no peer library (libck-dev, dpdk-dev) in this build\n");
        }
#ifdef BENCH_HAVE_RTE
        verdict("libpvcore batch 16 / rte_ring bulk 16", I_OURS_B16, I_RTE_B16, mps, med, 0);
#endif
#ifdef BENCH_HAVE_CK
        verdict("libpvcore batch 16 / ck_ring", I_OURS_B16, I_CK, mps, med, 0);
#endif
        verdict("libpvcore batch 16 / xen batch 16 (same protocol and ABI)", I_OURS_B16, I_XEN_B16, mps, med, 0);
        verdict("libpvcore push every msg / xen push every msg", I_OURS_1, I_XEN_1, mps, med, 1.0);
        verdict("libpvcore notify check / xen notify check", I_OURS_EV, I_XEN_EV, mps, med, 0);
        printf("  would-be notifications per message: libpvcore %.3f, xen %.3f (consumer spins, never sleeps)\n",
               median(notif[I_OURS_EV], rounds), median(notif[I_XEN_EV], rounds));
    }
#endif
    return 0;
}
