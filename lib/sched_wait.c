/*
 * Waking a vCPU that waits in SCHEDOP_block or SCHEDOP_poll (internal/sched.h has the
 * wait word). A leaf: it reads the vCPU's vcpu_info and its recorded poll ports, and calls
 * nothing of the library, only the embedder's vcpu_sched hook, with no lock held.
 *
 * Why no wake-up is lost: the waiting vCPU publishes its wait (the domain's counter, then
 * its wait word) and only then looks at the event bits; a delivery sets the bits and only
 * then reads the counter and the word. All of these are sequentially consistent, so at
 * least one side sees the other: the vCPU finds the event and does not wait, or the
 * delivery finds the wait and ends it.
 */
#include <pvcore/sched.h>

#include "internal/domain.h"
#include "internal/frame.h"

#define VI_UPCALL_PENDING 0u
#define VI_UPCALL_MASK 1u

static void sched_hook(struct vcpu *v, int event)
{
    const struct machine *m = v->d->m;

    if (m->ops->vcpu_sched != NULL) {
        m->ops->vcpu_sched(m->ctx, (struct pvcore_vcpu *)(void *)v, event);
    }
}

bool sched_events_need_delivery(const struct vcpu *v)
{
    uint64_t mfn;
    uint32_t off;
    const uint8_t *vi;

    if (!cpu_vcpu_info_get(&v->cpu, &mfn, &off)) {
        return false;
    }
    vi = (const uint8_t *)frame_entries(v->d->m, mfn) + off;
    /* (Byte atomics, as the event code uses: the guest changes both bytes at any time.) */
    return atomic_load_explicit((_Atomic uint8_t *)(uintptr_t)(vi + VI_UPCALL_PENDING),
                                memory_order_seq_cst) != 0 &&
           atomic_load_explicit((_Atomic uint8_t *)(uintptr_t)(vi + VI_UPCALL_MASK),
                                memory_order_seq_cst) == 0;
}

void sched_wake(struct vcpu *v, uint32_t seen)
{
    const uint32_t wait = seen & ~WAIT_STATE_MASK; /* this wait: its generation and kind */

    /* A failed compare-and-swap reloads `seen`: the waiter may have gone from BLOCKING to
     * BLOCKED meanwhile (that wait still needs ending), or the wait ended (nothing to do). */
    while ((seen & ~WAIT_STATE_MASK) == wait) {
        uint32_t state = seen & WAIT_STATE_MASK;

        if (state == WAIT_BLOCKED) {
            if (atomic_compare_exchange_strong_explicit(&v->wait.word, &seen, wait | WAIT_NONE,
                                                        memory_order_seq_cst,
                                                        memory_order_seq_cst)) {
                atomic_fetch_sub_explicit(&v->d->sched.nr_waiting, 1, memory_order_seq_cst);
                sched_hook(v, PVCORE_SCHED_WAKE);
                return;
            }
        } else if (state == WAIT_BLOCKING) {
            /* The vCPU's own call is still entering the wait: it sees WOKEN and ends it. */
            if (atomic_compare_exchange_strong_explicit(&v->wait.word, &seen, wait | WAIT_WOKEN,
                                                        memory_order_seq_cst,
                                                        memory_order_seq_cst)) {
                return;
            }
        } else {
            return; /* NONE or WOKEN: not waiting, or already being woken */
        }
    }
}

void sched_end_wait(struct vcpu *v, uint32_t id)
{
    uint32_t seen = atomic_load_explicit(&v->wait.word, memory_order_seq_cst);

    if ((seen & ~WAIT_STATE_MASK) == (id & ~WAIT_STATE_MASK)) {
        sched_wake(v, seen);
    }
}

/* Does the poll whose word is `seen` name `port`? The ports were stored before the word
 * was published; a later poll's ports may be read instead, but then the word changed and
 * the compare-and-swap in sched_wake() fails. */
static bool polls_port(const struct vcpu *v, uint32_t port)
{
    uint32_t i, n = atomic_load_explicit(&v->wait.nr_ports, memory_order_relaxed);

    if (n > SCHED_POLL_MAX) {
        n = SCHED_POLL_MAX;
    }
    for (i = 0; i < n; i++) {
        if (atomic_load_explicit(&v->wait.ports[i], memory_order_relaxed) == port) {
            return true;
        }
    }
    return false;
}

void sched_port_pending(struct domain *d, uint32_t port)
{
    uint32_t i;

    if (atomic_load_explicit(&d->sched.nr_waiting, memory_order_seq_cst) == 0) {
        return; /* the common case: nobody waits */
    }
    for (i = 0; i < d->nr_vcpus; i++) {
        struct vcpu *v = &d->vcpus[i];
        uint32_t seen = atomic_load_explicit(&v->wait.word, memory_order_seq_cst);
        uint32_t state = seen & WAIT_STATE_MASK;

        if (state != WAIT_BLOCKING && state != WAIT_BLOCKED) {
            continue;
        }
        /* Xen wakes a poller on one of its ports, and any waiter (a poller too) whose
         * events need delivery. */
        if (((seen & WAIT_POLL) != 0 && polls_port(v, port)) || sched_events_need_delivery(v)) {
            sched_wake(v, seen);
        }
    }
}
