/*
 * The ring across two threads: a front-end and a back-end, each on its own thread, one
 * producer and one consumer per direction, as the ring's concurrency contract says.
 *
 *   spin   - both ends poll; the front-end publishes in batches of 1 to 16 (chosen from the
 *            sequence number), the back-end consumes up to 8 at a time, answers each
 *            request and pushes its responses once per batch.
 *   sleep  - both ends sleep when they have nothing to do, as a real driver waits for its
 *            event channel: the final check (event = cons + 1, full barrier, count again)
 *            before sleeping, push-and-check-notify on the other side, a semaphore as the
 *            event channel. A lost wake-up would hang an end: each wait gives up after 10 s
 *            and fails the test.
 *
 * Every request carries its sequence number and a checksum of its payload; the back-end
 * checks both on its private copy, answers with the sequence number doubled, and the
 * front-end checks every response in order. Run under ThreadSanitizer in CI (the tsan
 * preset): the indices are atomic, and the slots are reached only through them.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pvcore/ring.h>

struct req {
    uint64_t seq;
    uint32_t payload[5];
    uint32_t sum;
};
struct rsp {
    uint64_t seq2;
    uint32_t ok;
    uint32_t pad;
};
PVCORE_RING_DEFINE(tt, struct req, struct rsp);

#ifndef RING_THREADS_MSGS
#define RING_THREADS_MSGS 200000u
#endif

struct shared {
    void *page;
    bool sleep_mode;
    sem_t to_back;  /* the back-end's event channel */
    sem_t to_front; /* the front-end's */
    /* Results, each written by one thread and read after the join. */
    uint64_t front_errors, back_errors, lost_wakeups;
    uint64_t notifies_to_back, notifies_to_front, back_sleeps, front_sleeps;
};

static uint32_t checksum(const struct req *q)
{
    uint32_t s = (uint32_t)q->seq * 2654435761u;
    for (unsigned i = 0; i < 5; i++) {
        s = s * 31u + q->payload[i];
    }
    return s;
}

static void make_req(struct req *q, uint64_t seq)
{
    q->seq = seq;
    for (unsigned j = 0; j < 5; j++) {
        q->payload[j] = (uint32_t)(seq * 7u + j);
    }
    q->sum = checksum(q);
}

/* Waits for a notification; 0, or -1 after 10 s (a lost wake-up). */
static int wait_event(sem_t *sem)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    while (sem_timedwait(sem, &ts) != 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return 0;
}

static void *back_main(void *arg)
{
    struct shared *sh = arg;
    struct tt_back b = { { 0, 0, 0, NULL } };
    uint64_t want = 0;

    if (tt_back_init(&b, sh->page, 4096) != 0) {
        sh->back_errors++;
        return NULL;
    }
    while (want < RING_THREADS_MSGS) {
        struct req q[8];
        uint32_t got, n;

        if (tt_back_consume(&b, q, 8, &got) != 0) {
            sh->back_errors++;
            return NULL;
        }
        if (got == 0) {
            if (!sh->sleep_mode) {
                sched_yield(); /* polling, but let the other end run on a busy machine */
                continue;
            }
            if (tt_back_final_check(&b, &n) != 0) {
                sh->back_errors++;
                return NULL;
            }
            if (n == 0) {
                sh->back_sleeps++;
                if (wait_event(&sh->to_back) != 0) {
                    sh->lost_wakeups++;
                    return NULL;
                }
            }
            continue;
        }
        {
            struct rsp rs[8];
            uint32_t put;
            bool by_put = (want / 8u) % 2u == 1u; /* every other time: the answers put with one call */

            for (uint32_t i = 0; i < got; i++) {
                bool ok = q[i].seq == want && q[i].sum == checksum(&q[i]);

                sh->back_errors += !ok;
                rs[i].seq2 = q[i].seq * 2u;
                rs[i].ok = ok;
                rs[i].pad = 0;
                want++;
            }
            if (by_put) {
                if (tt_back_put(&b, rs, got, &put) != 0 || put != got) {
                    sh->back_errors++;
                    return NULL;
                }
            } else {
                for (uint32_t i = 0; i < got; i++) { /* written in place */
                    struct rsp *r = tt_back_produce(&b);

                    if (r == NULL) {
                        sh->back_errors++;
                        return NULL;
                    }
                    *r = rs[i];
                }
            }
        }
        if (sh->sleep_mode) {
            if (tt_back_push_check_notify(&b)) {
                sh->notifies_to_front++;
                sem_post(&sh->to_front);
            }
        } else {
            tt_back_push(&b);
        }
    }
    return NULL;
}

/* The front-end takes back answered slots; in sleep mode it waits for them when full. */
static int front_collect(struct shared *sh, struct tt_front *f, uint64_t *rwant, bool block)
{
    struct rsp p[16];
    uint32_t got, n;

    for (;;) {
        if (tt_front_consume(f, p, 16, &got) != 0) {
            sh->front_errors++;
            return -1;
        }
        for (uint32_t i = 0; i < got; i++) {
            if (p[i].seq2 != *rwant * 2u || p[i].ok != 1) {
                sh->front_errors++;
            }
            (*rwant)++;
        }
        if (got != 0 || !block) {
            return 0;
        }
        if (!sh->sleep_mode) {
            sched_yield();
            continue;
        }
        if (tt_front_final_check(f, &n) != 0) {
            sh->front_errors++;
            return -1;
        }
        if (n == 0) {
            sh->front_sleeps++;
            if (wait_event(&sh->to_front) != 0) {
                sh->lost_wakeups++;
                return -1;
            }
        }
    }
}

static void front_publish(struct shared *sh, struct tt_front *f)
{
    if (sh->sleep_mode) {
        if (tt_front_push_check_notify(f)) {
            sh->notifies_to_back++;
            sem_post(&sh->to_back);
        }
    } else {
        tt_front_push(f);
    }
}

static void run(bool sleep_mode)
{
    struct shared sh;
    struct tt_front f = { { 0, 0, 0, NULL } };
    pthread_t th;
    uint64_t seq = 0, rwant = 0;

    memset(&sh, 0, sizeof(sh));
    sh.page = aligned_alloc(4096, 4096);
    assert_non_null(sh.page);
    sh.sleep_mode = sleep_mode;
    assert_int_equal(sem_init(&sh.to_back, 0, 0), 0);
    assert_int_equal(sem_init(&sh.to_front, 0, 0), 0);
    assert_int_equal(tt_front_init(&f, sh.page, 4096), 0); /* before the back-end attaches */
    assert_int_equal(f.ring.nr_ents, 64);
    assert_int_equal(pthread_create(&th, NULL, back_main, &sh), 0);

    while (seq < RING_THREADS_MSGS && sh.lost_wakeups == 0) {
        uint32_t batch = (uint32_t)(seq % 16u) + 1u, i;

        if ((seq / 16u) % 2u == 1u) { /* every other batch: built privately, put in */
            struct req qs[16];
            uint32_t k, done = 0, put;
            for (k = 0; k < batch && seq + k < RING_THREADS_MSGS; k++) {
                make_req(&qs[k], seq + k);
            }
            while (done < k) {
                if (tt_front_put(&f, qs + done, k - done, &put) != 0) {
                    sh.front_errors++;
                    goto out;
                }
                done += put;
                if (done < k) { /* full: as below */
                    front_publish(&sh, &f);
                    if (front_collect(&sh, &f, &rwant, true) != 0) {
                        goto out;
                    }
                }
            }
            seq += k;
        } else {
            for (i = 0; i < batch && seq < RING_THREADS_MSGS; i++) {
                struct req *q;
                while ((q = tt_front_produce(&f)) == NULL) {
                    front_publish(&sh, &f); /* what is produced must be seen to be answered */
                    if (front_collect(&sh, &f, &rwant, true) != 0) {
                        goto out;
                    }
                }
                make_req(q, seq);
                seq++;
            }
        }
        front_publish(&sh, &f);
        if (front_collect(&sh, &f, &rwant, false) != 0) {
            break;
        }
    }
    while (rwant < seq && sh.lost_wakeups == 0 && sh.front_errors == 0) {
        if (front_collect(&sh, &f, &rwant, true) != 0) {
            break;
        }
    }
out:
    if (sh.lost_wakeups != 0) {
        sem_post(&sh.to_back); /* let the back-end finish or fail, never hang the join */
    }
    pthread_join(th, NULL);
    print_message("%s: %llu requests, notifications to back-end %llu, to front-end %llu, "
                  "sleeps back %llu front %llu\n",
                  sleep_mode ? "sleep" : "spin", (unsigned long long)seq,
                  (unsigned long long)sh.notifies_to_back, (unsigned long long)sh.notifies_to_front,
                  (unsigned long long)sh.back_sleeps, (unsigned long long)sh.front_sleeps);
    assert_int_equal(sh.lost_wakeups, 0);
    assert_int_equal(sh.back_errors, 0);
    assert_int_equal(sh.front_errors, 0);
    assert_int_equal(seq, RING_THREADS_MSGS);
    assert_int_equal(rwant, RING_THREADS_MSGS);
    assert_int_equal(f.ring.req_prod_pvt, (uint32_t)RING_THREADS_MSGS);
    assert_int_equal(f.ring.rsp_cons, (uint32_t)RING_THREADS_MSGS);
    if (sleep_mode) {
        /* Sleeping ends were woken, and not on every message. */
        assert_true(sh.notifies_to_back > 0);
        assert_true(sh.notifies_to_back <= sh.back_sleeps + 1u);
    }
    sem_destroy(&sh.to_back);
    sem_destroy(&sh.to_front);
    free(sh.page);
}

static void test_spin(void **state)
{
    (void)state;
    run(false);
}

static void test_sleep_event_indices(void **state)
{
    (void)state;
    run(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spin),
        cmocka_unit_test(test_sleep_event_indices),
    };
    return cmocka_run_group_tests_name("ring_threads", tests, NULL, NULL);
}
