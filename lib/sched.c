/*
 * sched_op and sched_op_compat (<pvcore/sched.h>): yield, block, poll, and the domain's
 * shutdown. The library decides and records; the embedder's scheduler acts on what it is
 * told through the vcpu_sched and domain_shutdown hooks.
 *
 * A wait (block, poll) is entered in the vCPU's own call, in this order: the wait is
 * published (internal/sched.h), then the events are looked at, then the BLOCK hook runs,
 * then the wait becomes BLOCKED. sched_wait.c explains why no wake-up is lost, and how
 * BLOCK and WAKE reach the embedder in order. No lock is held anywhere here: guest copies
 * happen before the wait is published, port checks take the event-channel lock briefly.
 */
#include <pvcore/sched.h>

#include "internal/domain.h"
#include "internal/frame.h"
#include "internal/hypercall.h"

#define VI_UPCALL_MASK 1u

static struct vcpu *CV(const struct caller *c)
{
    return (struct vcpu *)(void *)c->v;
}

static void sched_hook(struct vcpu *v, int event)
{
    const struct machine *m = v->d->m;

    m->ops->vcpu_sched(m->ctx, (struct pvcore_vcpu *)(void *)v, event);
}

/* ---- shutdown ----------------------------------------------------------------------------- */

/*
 * Xen's domain_shutdown: the reason is 8 bits (the guest's is truncated, not checked);
 * the first reason recorded (SCHEDOP_shutdown_code, or the first shutdown) is the one that
 * counts; a domain already shutting down only records nothing new. The embedder is told
 * once, with the reason that counts, and stops running the domain's vCPUs.
 */
void sched_domain_shutdown(struct domain *d, uint8_t reason)
{
    const struct machine *m = d->m;
    uint32_t none = SHUTDOWN_CODE_NONE, code;

    (void)atomic_compare_exchange_strong_explicit(&d->sched.shutdown_code, &none, reason,
                                                  memory_order_acq_rel, memory_order_acquire);
    code = atomic_load_explicit(&d->sched.shutdown_code, memory_order_acquire);
    if (atomic_exchange_explicit(&d->sched.shutting_down, true, memory_order_acq_rel)) {
        return;
    }
    if (m->ops->domain_shutdown != NULL) {
        m->ops->domain_shutdown(m->ctx, (struct pvcore_domain *)(void *)d, code);
    }
}

int pvcore_domain_shutdown(struct pvcore_domain *pd, uint32_t reason)
{
    if (pd == NULL || reason > 0xFFu) {
        return -PVCORE_EINVAL;
    }
    sched_domain_shutdown((struct domain *)(void *)pd, (uint8_t)reason);
    return 0;
}

int pvcore_domain_shutdown_reason(const struct pvcore_domain *pd)
{
    struct domain *d = (struct domain *)(uintptr_t)(const void *)pd;

    if (!atomic_load_explicit(&d->sched.shutting_down, memory_order_acquire)) {
        return -PVCORE_ENOENT;
    }
    return (int)atomic_load_explicit(&d->sched.shutdown_code, memory_order_acquire);
}

void pvcore_domain_resume(struct pvcore_domain *pd)
{
    struct domain *d = (struct domain *)(void *)pd;

    /* The code first: a shutdown racing with the resume then records its own reason. */
    atomic_store_explicit(&d->sched.shutdown_code, SHUTDOWN_CODE_NONE, memory_order_release);
    atomic_store_explicit(&d->sched.shutting_down, false, memory_order_release);
}

/* ---- waiting ------------------------------------------------------------------------------ */

int pvcore_vcpu_blocked(const struct pvcore_vcpu *pv)
{
    const struct vcpu *v = (const struct vcpu *)(const void *)pv;
    uint32_t s = atomic_load_explicit((_Atomic uint32_t *)(uintptr_t)&v->wait.word,
                                      memory_order_seq_cst) & WAIT_STATE_MASK;

    return s == WAIT_BLOCKING || s == WAIT_BLOCKED ? 1 : 0;
}

/* The vCPU's own call ends the wait it began (BLOCKING, or WOKEN by a waker meanwhile). */
static void wait_undo(struct vcpu *v, uint32_t word)
{
    atomic_store_explicit(&v->wait.word, word & ~WAIT_STATE_MASK, memory_order_seq_cst);
    atomic_fetch_sub_explicit(&v->d->sched.nr_waiting, 1, memory_order_seq_cst);
}

/* What a poll looks at, copied in before the wait begins. */
struct poll_req {
    uint32_t nr;       /* ports asked for */
    uint32_t readable; /* of which the first `readable` could be copied */
    uint32_t ports[SCHED_POLL_MAX];
    uint64_t timeout;  /* absolute system time, ns; 0: none */
};

/*
 * Enters a wait: SCHEDOP_block (p == NULL) or SCHEDOP_poll. Returns the hypercall's
 * result: 0 (waiting, or returned at once as an event is there), or for a poll the error
 * of the first port, in order, that is unreadable (-EFAULT) or out of range (-EINVAL)
 * before any pending one.
 */
static int64_t wait_enter(struct caller *c, const struct poll_req *p)
{
    struct vcpu *v = CV(c);
    uint32_t cur = atomic_load_explicit(&v->wait.word, memory_order_relaxed);
    uint32_t word, expect, i;
    int64_t rc = 0;
    bool stay = true;

    if ((cur & WAIT_STATE_MASK) != WAIT_NONE) {
        return 0; /* an earlier entry of this multicall already waits: it still does */
    }
    if (p != NULL) {
        for (i = 0; i < p->readable; i++) {
            atomic_store_explicit(&v->wait.ports[i], p->ports[i], memory_order_relaxed);
        }
        atomic_store_explicit(&v->wait.nr_ports, p->readable, memory_order_relaxed);
    }
    word = ((cur & ~(WAIT_STATE_MASK | WAIT_POLL)) + WAIT_GEN_ONE) | (p != NULL ? WAIT_POLL : 0u) |
           WAIT_BLOCKING;
    /* Published before the events are looked at (sched_wait.c). */
    atomic_fetch_add_explicit(&v->d->sched.nr_waiting, 1, memory_order_seq_cst);
    atomic_store_explicit(&v->wait.word, word, memory_order_seq_cst);

    if (sched_events_need_delivery(v)) {
        stay = false;
    } else if (p != NULL) {
        for (i = 0; i < p->nr && stay; i++) {
            int pending;

            if (i >= p->readable) {
                rc = -PVCORE_EFAULT;
                stay = false;
                break;
            }
            pending = evtchn_port_pending(v->d, p->ports[i]);
            if (pending != 0) {
                rc = pending < 0 ? -PVCORE_EINVAL : 0;
                stay = false;
            }
        }
    }
    if (!stay) {
        wait_undo(v, word);
        return rc;
    }
    if (p != NULL && p->timeout != 0) {
        time_poll_timeout(v, p->timeout, word & ~WAIT_STATE_MASK);
    }
    sched_hook(v, PVCORE_SCHED_BLOCK);
    expect = word;
    if (!atomic_compare_exchange_strong_explicit(&v->wait.word, &expect,
                                                 (word & ~WAIT_STATE_MASK) | WAIT_BLOCKED,
                                                 memory_order_seq_cst, memory_order_seq_cst)) {
        /* Woken while the BLOCK hook ran: the wake is ours to give, after it. */
        wait_undo(v, word);
        sched_hook(v, PVCORE_SCHED_WAKE);
    }
    return 0;
}

/* SCHEDOP_block: events enabled (the upcall mask cleared, as Xen does), then a wait
 * unless they need delivery already. */
static int64_t do_block(struct caller *c)
{
    struct vcpu *v = CV(c);
    uint64_t mfn;
    uint32_t off;

    if (cpu_vcpu_info_get(&v->cpu, &mfn, &off)) {
        uint8_t *vi = (uint8_t *)frame_entries(c->m, mfn) + off;

        atomic_store_explicit((_Atomic uint8_t *)(void *)(vi + VI_UPCALL_MASK), 0,
                              memory_order_seq_cst);
    }
    return wait_enter(c, NULL);
}

/* The ports, a page at a time (the copy hook is all or nothing), up to the first that
 * cannot be read. */
static void poll_copy_ports(struct caller *c, uint64_t gva, struct poll_req *p)
{
    uint8_t buf[SCHED_POLL_MAX * 4u];
    uint32_t size = p->nr * 4u, done = 0, i;

    while (done < size) {
        uint64_t at = gva + done;
        uint32_t chunk = PVCORE_PAGE_SIZE - (uint32_t)(at & (PVCORE_PAGE_SIZE - 1u));

        if (chunk > size - done) {
            chunk = size - done;
        }
        if (hc_copy_in(c, buf + done, at, chunk) != 0) {
            break;
        }
        done += chunk;
    }
    p->readable = done / 4u;
    for (i = 0; i < p->readable; i++) {
        p->ports[i] = hc_get_le32(buf + 4u * i);
    }
}

/* SCHEDOP_poll, with Xen's checks in its order. */
static int64_t do_poll(struct caller *c, uint64_t arg)
{
    struct poll_req p;
    uint8_t b[24];
    uint64_t ports;

    if (hc_copy_in(c, b, arg, c->is32 ? 16u : 24u) != 0) {
        return -PVCORE_EFAULT;
    }
    if (c->is32) {
        ports = hc_get_le32(b);
        p.nr = hc_get_le32(b + 4);
        p.timeout = hc_get_le64(b + 8);
    } else {
        ports = hc_get_le64(b);
        p.nr = hc_get_le32(b + 8);
        p.timeout = hc_get_le64(b + 16);
    }
    if (p.nr > SCHED_POLL_MAX) {
        return -PVCORE_EINVAL; /* Xen's limit */
    }
    if (!hc_range_ok(c, ports, (uint64_t)p.nr * 4u)) {
        return -PVCORE_EFAULT; /* the array is not in guest space at all */
    }
    if (p.timeout != 0 && !time_have_timers(CV(c))) {
        return -PVCORE_ENOSYS; /* a timeout needs the embedder's timers */
    }
    poll_copy_ports(c, ports, &p);
    return wait_enter(c, &p);
}

/* SCHEDOP_remote_shutdown: Xen's order: -EFAULT, -ESRCH, then the permission. */
static int64_t remote_shutdown(struct caller *c, uint64_t arg)
{
    struct domain *d;
    uint8_t b[8];

    if (hc_copy_in(c, b, arg, 8) != 0) {
        return -PVCORE_EFAULT;
    }
    d = machine_domain(c->m, (uint16_t)(b[0] | b[1] << 8));
    if (d == NULL) {
        return -PVCORE_ESRCH;
    }
    if (!domain_privileged(c->d)) {
        return -PVCORE_EPERM; /* (Xen's device-model privilege: the library has none) */
    }
    sched_domain_shutdown(d, (uint8_t)hc_get_le32(b + 4));
    return 0;
}

/* SCHEDOP_watchdog, answered as Xen answers a domain with no watchdog slot free: a new
 * one cannot be had (-ENOSPC), and no id names one (-EINVAL). */
static int64_t watchdog(struct caller *c, uint64_t arg)
{
    uint8_t b[8];

    if (hc_copy_in(c, b, arg, 8) != 0) {
        return -PVCORE_EFAULT;
    }
    return hc_get_le32(b) == 0 ? -PVCORE_ENOSPC : -PVCORE_EINVAL;
}

/* SCHEDOP_pin_override: for the hardware domain only; the library has no physical CPU a
 * vCPU could be pinned to, which Xen answers with -EINVAL (and so an undo with no
 * override in place). */
static int64_t pin_override(struct caller *c, uint64_t arg)
{
    uint8_t b[4];

    if (!domain_privileged(c->d)) {
        return -PVCORE_EPERM;
    }
    if (hc_copy_in(c, b, arg, 4) != 0) {
        return -PVCORE_EFAULT;
    }
    return -PVCORE_EINVAL;
}

static int64_t sched_op(struct caller *c, uint32_t cmd, uint64_t arg)
{
    uint8_t b[4];

    switch (cmd) {
    case PVCORE_SCHEDOP_yield:
        sched_hook(CV(c), PVCORE_SCHED_YIELD);
        return 0;
    case PVCORE_SCHEDOP_block:
        return do_block(c);
    case PVCORE_SCHEDOP_shutdown:
        if (hc_copy_in(c, b, arg, 4) != 0) {
            return -PVCORE_EFAULT;
        }
        sched_domain_shutdown(c->d, (uint8_t)hc_get_le32(b));
        return 0;
    case PVCORE_SCHEDOP_shutdown_code: {
        uint32_t none = SHUTDOWN_CODE_NONE;

        if (hc_copy_in(c, b, arg, 4) != 0) {
            return -PVCORE_EFAULT;
        }
        (void)atomic_compare_exchange_strong_explicit(&c->d->sched.shutdown_code, &none,
                                                      (uint8_t)hc_get_le32(b),
                                                      memory_order_acq_rel, memory_order_acquire);
        return 0;
    }
    case PVCORE_SCHEDOP_poll:
        return do_poll(c, arg);
    case PVCORE_SCHEDOP_remote_shutdown:
        return remote_shutdown(c, arg);
    case PVCORE_SCHEDOP_watchdog:
        return watchdog(c, arg);
    case PVCORE_SCHEDOP_pin_override:
        return pin_override(c, arg);
    default:
        return -PVCORE_ENOSYS;
    }
}

int hcall_sched_op(struct caller *c, uint64_t args[6], int64_t *ret)
{
    if (c->m->ops->vcpu_sched == NULL) {
        return PVCORE_HYPERCALL_UNHANDLED; /* the embedder schedules without the library */
    }
    *ret = sched_op(c, (uint32_t)args[0], hc_arg(c, args, 1));
    return PVCORE_HYPERCALL_DONE;
}

/* sched_op_compat(cmd, arg): the argument by value; yield, block and shutdown only. */
int hcall_sched_op_compat(struct caller *c, uint64_t args[6], int64_t *ret)
{
    uint32_t cmd = (uint32_t)args[0];

    if (c->m->ops->vcpu_sched == NULL) {
        return PVCORE_HYPERCALL_UNHANDLED;
    }
    switch (cmd) {
    case PVCORE_SCHEDOP_yield:
    case PVCORE_SCHEDOP_block:
        *ret = sched_op(c, cmd, 0);
        break;
    case PVCORE_SCHEDOP_shutdown:
        sched_domain_shutdown(c->d, (uint8_t)hc_arg(c, args, 1));
        *ret = 0;
        break;
    default:
        *ret = -PVCORE_ENOSYS;
        break;
    }
    return PVCORE_HYPERCALL_DONE;
}
