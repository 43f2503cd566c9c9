/*
 * SCHEDOP_poll and SCHEDOP_block against EVTCHNOP_send on two threads (run under
 * ThreadSanitizer too): thread "poller" is domain 1's vCPU 0, thread "sender" domain 0's.
 * Each round the poller arms its port (pending bit clear), tells the sender the round
 * began, and waits (poll with the port masked on even rounds, block with it unmasked on
 * odd ones); the sender sends once per round. A lost wake-up leaves the poller waiting
 * for ever: the bounded waits fail the test instead. The vcpu_sched hook checks that
 * BLOCK and WAKE alternate for the vCPU.
 */
#define _GNU_SOURCE /* pthread_setname_np: the threads are named in TSan reports */
#include "regress/evtenv.h"

#include <pthread.h>
#include <sched.h>

#include <pvcore/sched.h>

#include "internal/machine.h"

#define ROUNDS 3000u
#define SPIN_MAX 200000000ull

static struct pvcore_host_ops ops;
static _Atomic int in_wait;     /* 1 between the poller's BLOCK and its WAKE */
static _Atomic unsigned bad;    /* BLOCK/WAKE out of order, or a hang */
static _Atomic unsigned blocks, wakes;
static _Atomic unsigned round_no; /* the round the poller is ready for */
static _Atomic unsigned sent_no;  /* the round whose send has returned */
static _Atomic int stop;

static void h_sched(void *ctx, struct pvcore_vcpu *v, int ev)
{
    (void)ctx;
    (void)v;
    if (ev == PVCORE_SCHED_BLOCK) {
        if (atomic_exchange(&in_wait, 1) != 0) {
            atomic_fetch_add(&bad, 1);
        }
        atomic_fetch_add(&blocks, 1);
    } else if (ev == PVCORE_SCHED_WAKE) {
        if (atomic_exchange(&in_wait, 0) != 1) {
            atomic_fetch_add(&bad, 1);
        }
        atomic_fetch_add(&wakes, 1);
    }
}

struct ctx {
    struct edom a, x;
    uint32_t aport, xport;
};

/* The guest's own bit operations on its shared page (atomic, as the guest's are). */
static void bit_set(uint8_t *base, uint32_t bit, int on)
{
    if (on) {
        __atomic_fetch_or(base + bit / 8, (uint8_t)(1u << (bit % 8)), __ATOMIC_SEQ_CST);
    } else {
        __atomic_fetch_and(base + bit / 8, (uint8_t) ~(1u << (bit % 8)), __ATOMIC_SEQ_CST);
    }
}

static void *poller(void *arg)
{
    struct ctx *c = arg;
    uint8_t *si = e_si(&c->x), *vi = si; /* vCPU 0's vcpu_info */
    uint64_t pva = VA + 4096u * 6u;
    unsigned r;

    pthread_setname_np(pthread_self(), "poller");
    gwrite32(&c->x.e, pva, c->xport);
    for (r = 1; r <= ROUNDS && !atomic_load(&stop); r++) {
        int poll = (r & 1u) == 0;
        int64_t rc;
        uint64_t spins = 0;

        /* Arm: no upcall, empty selector, the port not pending; masked for a poll. */
        __atomic_store_n(vi + 0, 0, __ATOMIC_SEQ_CST);
        __atomic_store_n((uint64_t *)(void *)(vi + 8), 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(vi + 1, 1, __ATOMIC_SEQ_CST);
        bit_set(si + 2048u, c->xport, 0);
        bit_set(si + 2048u + 512u, c->xport, poll);
        atomic_store_explicit(&round_no, r, memory_order_release);
        if (poll) {
            struct pvcore_sched_poll_x86_64 p = { pva, 1, 0, 0 };
            gwrite(&c->x.e, VA + 4096u * 5u, &p, sizeof(p));
        }
        {
            struct pvcore_hypercall_regs h;

            memset(&h, 0, sizeof(h));
            h.nr = PVCORE_HYPERVISOR_sched_op;
            h.arg[0] = poll ? PVCORE_SCHEDOP_poll : PVCORE_SCHEDOP_block;
            h.arg[1] = VA + 4096u * 5u;
            if (pvcore_hypercall(pvcore_domain_vcpu(c->x.e.t->dom[1], 0), &h) != PVCORE_HYPERCALL_DONE) {
                atomic_fetch_add(&bad, 1);
                break;
            }
            rc = (int64_t)h.ret;
        }
        if (rc != 0) {
            atomic_fetch_add(&bad, 1);
            break;
        }
        /* Descheduled until WAKE, as an embedder would be. */
        while (atomic_load(&in_wait) != 0) {
            if (++spins > SPIN_MAX) {
                atomic_fetch_add(&bad, 1); /* a lost wake-up */
                atomic_store(&stop, 1);
                break;
            }
            if ((spins & 1023u) == 0) {
                sched_yield();
            }
        }
        /* Either way the event is there now. */
        if (!atomic_load(&stop) &&
            (__atomic_load_n(si + 2048u + c->xport / 8, __ATOMIC_SEQ_CST) & (1u << (c->xport % 8))) == 0) {
            atomic_fetch_add(&bad, 1);
        }
        /* The next round starts once this round's send is over: a delivery still on its
         * way out may wake a wait that began meanwhile (spuriously, as Xen may). */
        spins = 0;
        while (!atomic_load(&stop) && atomic_load_explicit(&sent_no, memory_order_acquire) < r) {
            if (++spins > SPIN_MAX) {
                atomic_fetch_add(&bad, 1);
                atomic_store(&stop, 1);
            }
            if ((spins & 1023u) == 0) {
                sched_yield();
            }
        }
    }
    atomic_store(&stop, 1);
    return NULL;
}

static void *sender(void *arg)
{
    struct ctx *c = arg;
    unsigned r;

    pthread_setname_np(pthread_self(), "sender");
    for (r = 1; r <= ROUNDS; r++) {
        uint64_t spins = 0;

        while (atomic_load_explicit(&round_no, memory_order_acquire) < r) {
            if (atomic_load(&stop) || ++spins > SPIN_MAX) {
                return NULL;
            }
            if ((spins & 1023u) == 0) {
                sched_yield();
            }
        }
        if (e_port_op(&c->a, 0, PVCORE_EVTCHNOP_send, c->aport) != 0) {
            atomic_fetch_add(&bad, 1);
            return NULL;
        }
        atomic_store_explicit(&sent_no, r, memory_order_release);
    }
    return NULL;
}

static void test_poll_block_vs_send(void **state)
{
    struct pvtest *t = pvtest_new();
    struct machine *m = (struct machine *)(void *)t->m;
    struct ctx c;
    pthread_t th[2];
    (void)state;

    edom_init(&c.a, t, 0, 64);
    edom_init(&c.x, t, 1, 64);
    ops = *m->ops;
    ops.vcpu_sched = h_sched;
    m->ops = &ops;
    assert_int_equal(e_alloc_unbound(&c.a, 1, &c.aport), 0);
    assert_int_equal(e_bind_inter(&c.x, 0, c.aport, &c.xport), 0);
    assert_int_equal(pthread_create(&th[0], NULL, poller, &c), 0);
    assert_int_equal(pthread_create(&th[1], NULL, sender, &c), 0);
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    print_message("%u rounds: %u waits, %u wakes\n", ROUNDS, atomic_load(&blocks), atomic_load(&wakes));
    assert_int_equal(atomic_load(&bad), 0);
    assert_int_equal(atomic_load(&blocks), atomic_load(&wakes));
    assert_int_equal(pvcore_vcpu_blocked(pvcore_domain_vcpu(t->dom[1], 0)), 0);
    edom_free(&c.a);
    edom_free(&c.x);
    check_invariants(t);
    pvtest_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poll_block_vs_send),
    };
    return cmocka_run_group_tests_name("smp_sched", tests, NULL, NULL);
}
