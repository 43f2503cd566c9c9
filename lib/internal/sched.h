/*
 * Time and blocking: each vCPU's timers (time.c), its wait in SCHEDOP_block or
 * SCHEDOP_poll (sched_wait.c, the leaf that wakes it), and the domain's shutdown state
 * (sched.c). Never installed.
 *
 * Included by domain.h (struct vcpu and struct domain embed the state below), so it
 * depends on nothing but the basics.
 *
 * Files and calls, without cycles: evtchn.c -> sched_wait.c (a port became pending);
 * time.c -> evtchn.c (VIRQ_TIMER), sched_wait.c (a poll's timeout); sched.c -> evtchn.c
 * (is a polled port pending), time.c (a poll's timeout), sched_wait.c; vcpu.c -> time.c
 * (the VCPUOP timer commands). sched_wait.c calls only the embedder's hook.
 *
 * Locks: vcpu_timer.lock is a leaf (taken with no other library lock held, nothing taken
 * under it, no hook called under it); so is domain_sched.wc_lock. The wait state is lock-free: one atomic word per
 * vCPU, and one counter per domain so that a delivery to a domain with no waiting vCPU
 * costs one load.
 */
#ifndef PVCORE_INTERNAL_SCHED_H
#define PVCORE_INTERNAL_SCHED_H

#include "internal/base.h"

struct domain;
struct vcpu;
struct caller;

/* Xen's limit on SCHEDOP_poll's port count. */
#define SCHED_POLL_MAX 128u

/* ---- a vCPU's wait (sched_wait.c) --------------------------------------------------------- */

/*
 * The wait word: bits 0-1 the state, bit 2 set for a poll (clear: SCHEDOP_block), bits
 * 3-31 a generation that each new wait increments, so that a waker that looked at one
 * wait never ends a later one (its compare-and-swap names the word it saw).
 *   NONE     running (or runnable): no wait.
 *   BLOCKING the vCPU's own call set it and has not finished entering the wait (it is
 *            checking for events, or its BLOCK hook is running). A waker moves it to
 *            WOKEN and calls nothing: the vCPU's call sees that and undoes the wait.
 *   BLOCKED  the BLOCK hook returned: a waker moves it to NONE and calls the WAKE hook.
 *   WOKEN    woken while BLOCKING.
 * Hence the embedder sees BLOCK and WAKE of one vCPU strictly alternate, WAKE only after
 * the BLOCK hook returned.
 */
#define WAIT_NONE 0u
#define WAIT_BLOCKING 1u
#define WAIT_BLOCKED 2u
#define WAIT_WOKEN 3u
#define WAIT_STATE_MASK 3u
#define WAIT_POLL 4u
#define WAIT_GEN_ONE 8u

struct vcpu_wait {
    _Atomic uint32_t word;
    _Atomic uint32_t nr_ports;                 /* a poll's ports (written before the word) */
    _Atomic uint32_t ports[SCHED_POLL_MAX];
};

/* ---- a vCPU's timers (time.c) ------------------------------------------------------------- */

/*
 * The one-shot timer (set_timer_op, VCPUOP_set_singleshot_timer), the periodic one
 * (VCPUOP_set_periodic_timer; PV vCPUs start with Xen's 100 Hz default) and a poll's
 * timeout share the embedder's one timer per vCPU: the library arms it at the earliest.
 * Deadlines are system time in ns, 0 for none. Under `lock`.
 */
struct vcpu_timer {
    struct spinlock lock;
    uint64_t oneshot;
    uint64_t period;        /* 0: the periodic timer is stopped */
    uint64_t periodic_last; /* when the last periodic event was sent */
    uint64_t periodic_next; /* 0: not running yet (the default starts at the first time update) */
    uint64_t poll_deadline;
    uint32_t poll_id;       /* the wait (word without its state) whose timeout it is */
    bool started;           /* the periodic timer has run (time update or an explicit set) */
    bool arming;            /* a call is giving the embedder the deadline (timer_rearm) */
    bool dirty;             /* ... and the deadline changed meanwhile: it gives it again */
    uint64_t armed;         /* the deadline last given to the embedder */
};

/* ---- the domain's side -------------------------------------------------------------------- */

#define SHUTDOWN_CODE_NONE 0xFFFFFFFFu

struct domain_sched {
    _Atomic uint32_t nr_waiting;    /* vCPUs whose wait word is not NONE */
    _Atomic uint32_t shutdown_code; /* SHUTDOWN_CODE_NONE, or the reason (0-255) that counts */
    _Atomic bool shutting_down;
    /* The time scale the embedder's TSC frequency gives (pvcore_domain_set_tsc_frequency()). */
    _Atomic uint64_t tsc_scale;     /* mul << 8 | (uint8_t)shift; 0: not set */
    struct spinlock wc_lock;        /* the wall clock's writers (time.c); a leaf */
};

#define PERIOD_DEFAULT_NS 10000000u /* Xen: PV vCPUs have a 100 Hz ticker by default */

static inline void sched_vcpu_init(struct vcpu_wait *w, struct vcpu_timer *t)
{
    uint32_t i;

    atomic_init(&w->word, WAIT_NONE);
    atomic_init(&w->nr_ports, 0);
    for (i = 0; i < SCHED_POLL_MAX; i++) {
        atomic_init(&w->ports[i], 0);
    }
    spin_init(&t->lock);
    t->oneshot = 0;
    t->period = PERIOD_DEFAULT_NS;
    t->periodic_last = 0;
    t->periodic_next = 0;
    t->poll_deadline = 0;
    t->poll_id = 0;
    t->started = false;
    t->arming = false;
    t->dirty = false;
    t->armed = 0;
}

static inline void sched_domain_init(struct domain_sched *s)
{
    atomic_init(&s->nr_waiting, 0);
    atomic_init(&s->shutdown_code, SHUTDOWN_CODE_NONE);
    atomic_init(&s->shutting_down, false);
    atomic_init(&s->tsc_scale, 0);
    spin_init(&s->wc_lock);
}

/* ---- sched_wait.c ------------------------------------------------------------------------- */

/*
 * Port `port` of d just became pending (evtchn.c, after letting go of its locks): wakes
 * each vCPU of d that polls it, and each waiting vCPU that now has events to deliver
 * (upcall pending, not masked). One atomic load when no vCPU of d waits. No lock held.
 */
void sched_port_pending(struct domain *d, uint32_t port);

/* Domain d shuts down with `reason` (Xen's domain_shutdown: the first reason recorded
 * counts; the domain_shutdown hook is told once). No lock held (sched.c). */
void sched_domain_shutdown(struct domain *d, uint8_t reason);

/* Ends the wait whose word was `seen`: the WAKE hook if it is BLOCKED, WOKEN if it is
 * still BLOCKING (and if it went from BLOCKING to BLOCKED meanwhile, the WAKE hook after
 * all); nothing once that wait is over or another began. No lock held. */
void sched_wake(struct vcpu *v, uint32_t seen);

/* Ends wait `id` (a wait word without its state bits: a poll's timeout), if it is still
 * the vCPU's wait. No lock held. */
void sched_end_wait(struct vcpu *v, uint32_t id);

/* Does v have events to deliver now: upcall pending and not masked (Xen's
 * local_events_need_delivery)? False without a vcpu_info. */
bool sched_events_need_delivery(const struct vcpu *v);

/* ---- time.c ------------------------------------------------------------------------------- */

/* Does the embedder have timers (the system_time and timer_set hooks)? */
bool time_have_timers(const struct vcpu *v);

/* The current system time (system_time hook); 0 without one. */
uint64_t time_now(const struct vcpu *v);

/* Arms a poll's timeout (system time, ns) for wait `id`, and gives the embedder the new
 * earliest deadline. No lock held. */
void time_poll_timeout(struct vcpu *v, uint64_t deadline, uint32_t id);

/* The VCPUOP timer commands on vCPU `target` of the caller's domain (vcpu.c's decoder
 * calls it for set/stop_periodic_timer and set/stop_singleshot_timer): the result. */
int64_t time_vcpu_op(struct caller *c, uint32_t cmd, struct vcpu *target, uint64_t arg);

#endif /* PVCORE_INTERNAL_SCHED_H */
