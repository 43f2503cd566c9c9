/*
 * Time (<pvcore/time.h>): each vCPU's timers (set_timer_op, the VCPUOP timer commands, a
 * poll's timeout) on the embedder's one timer per vCPU; VIRQ_TIMER when they expire; the
 * vcpu_time_info and wall clock the guest reads, kept with the version protocol; the TSC
 * scale.
 *
 * Locks: a vCPU's timer lock (internal/sched.h) is a leaf, as is the domain's wall-clock
 * lock. Under them only plain state and the guest's time fields (through the directmap)
 * change; the timer_set hook and VIRQ_TIMER run after they are let go.
 *
 * Giving the embedder the deadline without a lock held, yet in order: timer_rearm() lets
 * one caller at a time call the hook for a vCPU (`arming`); a caller that finds another
 * at it leaves a note (`dirty`), and the one at it calls the hook again with the newest
 * deadline before it stops. So the hook's calls for a vCPU never overlap and the last one
 * carries the current deadline, and a hook that calls pvcore_vcpu_timer_expired() at once
 * (a deadline already past) does not recurse.
 *
 * No 64-bit division: the freestanding i386 build has no compiler runtime.
 */
#include <pvcore/evtchn.h>
#include <pvcore/time.h>
#include <pvcore/abi/vcpu.h>

#include "internal/domain.h"
#include "internal/frame.h"
#include "internal/hypercall.h"

#define NS_PER_SEC 1000000000u
#define MS_NS 1000000u
#define STIME_DELTA_MAX (UINT64_MAX >> 2) /* Xen's largest period */
#define HUGE_TIMEOUT_NS (100u * MS_NS)     /* Xen's answer to a deadline far away */

#define VI_TIME 32u /* vcpu_info.time, both widths */
#define TI_VERSION 0u
#define TI_TSC 8u
#define TI_SYSTEM 16u
#define TI_MUL 24u
#define TI_SHIFT 28u
#define TI_FLAGS 29u

#define SI_WC_64 3072u    /* wc_version, then wc_sec, wc_nsec, wc_sec_hi */
#define SI_WC_32 2304u    /* wc_version, wc_sec, wc_nsec */
#define SI_WC_HI_32 2340u /* arch.wc_sec_hi */

static struct vcpu *V(struct pvcore_vcpu *v)
{
    return (struct vcpu *)(void *)v;
}

static struct domain *D(struct pvcore_domain *d)
{
    return (struct domain *)(void *)d;
}

bool time_have_timers(const struct vcpu *v)
{
    const struct pvcore_host_ops *ops = v->d->m->ops;

    return ops->system_time != NULL && ops->timer_set != NULL;
}

uint64_t time_now(const struct vcpu *v)
{
    const struct machine *m = v->d->m;

    return m->ops->system_time != NULL ? m->ops->system_time(m->ctx) : 0;
}

/* ---- the embedder's one timer ------------------------------------------------------------- */

static uint64_t earliest(uint64_t a, uint64_t b)
{
    if (a == 0) {
        return b;
    }
    return b == 0 || a < b ? a : b;
}

static uint64_t timer_deadline(const struct vcpu_timer *t)
{
    return earliest(earliest(t->oneshot, t->period != 0 ? t->periodic_next : 0), t->poll_deadline);
}

static void timer_rearm(struct vcpu *v)
{
    const struct machine *m = v->d->m;
    struct vcpu_timer *t = &v->timer;

    if (!time_have_timers(v)) {
        return;
    }
    spin_lock(&t->lock);
    if (t->arming) {
        t->dirty = true; /* the caller at it gives the new deadline before it stops */
        spin_unlock(&t->lock);
        return;
    }
    t->arming = true;
    for (;;) {
        uint64_t dl = timer_deadline(t);

        t->dirty = false;
        if (dl == t->armed) {
            break; /* the embedder has it already */
        }
        t->armed = dl;
        spin_unlock(&t->lock);
        m->ops->timer_set(m->ctx, (struct pvcore_vcpu *)(void *)v, dl);
        spin_lock(&t->lock);
        if (!t->dirty) {
            break;
        }
    }
    t->arming = false;
    spin_unlock(&t->lock);
}

/* VIRQ_TIMER on v; a vCPU that bound none loses the tick, as on Xen. */
static void timer_event(struct vcpu *v)
{
    (void)pvcore_evtchn_raise_virq((struct pvcore_vcpu *)(void *)v, PVCORE_VIRQ_TIMER);
}

/* The periodic timer's step, under the lock (Xen's rule: an event if a period has passed
 * since the last one, which restarts the period from now). True: send the event. */
static bool periodic_step(struct vcpu_timer *t, uint64_t now)
{
    bool fire = false;

    if (t->period == 0) {
        t->periodic_next = 0;
        return false;
    }
    if (now >= t->periodic_last + t->period) {
        fire = true;
        t->periodic_last = now;
    }
    t->periodic_next = t->periodic_last + t->period;
    t->started = true;
    return fire;
}

int pvcore_vcpu_timer_expired(struct pvcore_vcpu *pv, uint64_t now_ns)
{
    struct vcpu *v = V(pv);
    struct vcpu_timer *t = &v->timer;
    bool fire = false, poll = false;
    uint32_t poll_id = 0;

    spin_lock(&t->lock);
    t->armed = 0; /* it went off: the embedder's timer is no longer armed */
    if (t->oneshot != 0 && now_ns >= t->oneshot) {
        t->oneshot = 0;
        fire = true;
    }
    if (t->period != 0 && t->periodic_next != 0 && now_ns >= t->periodic_next) {
        fire |= periodic_step(t, now_ns);
    }
    if (t->poll_deadline != 0 && now_ns >= t->poll_deadline) {
        t->poll_deadline = 0;
        poll_id = t->poll_id;
        poll = true;
    }
    spin_unlock(&t->lock);
    if (fire) {
        timer_event(v);
    }
    if (poll) {
        sched_end_wait(v, poll_id);
    }
    timer_rearm(v);
    return fire || poll ? 1 : 0;
}

uint64_t pvcore_vcpu_timer_deadline(struct pvcore_vcpu *pv)
{
    struct vcpu *v = V(pv);
    uint64_t dl;

    spin_lock(&v->timer.lock);
    dl = timer_deadline(&v->timer);
    spin_unlock(&v->timer.lock);
    return dl;
}

void time_poll_timeout(struct vcpu *v, uint64_t deadline, uint32_t id)
{
    spin_lock(&v->timer.lock);
    v->timer.poll_deadline = deadline;
    v->timer.poll_id = id;
    spin_unlock(&v->timer.lock);
    timer_rearm(v);
}

/* ---- set_timer_op and the VCPUOP timer commands ------------------------------------------- */

/* The one-shot timer at `deadline` (0: stopped). */
static void set_oneshot(struct vcpu *v, uint64_t deadline)
{
    spin_lock(&v->timer.lock);
    v->timer.oneshot = deadline;
    spin_unlock(&v->timer.lock);
    timer_rearm(v);
}

/*
 * set_timer_op(deadline): a 64-bit guest passes it in one register, a 32-bit one in two
 * (low half first, the high half's sign making it negative). 0 stops the timer. Xen's
 * rule for a deadline that is negative or more than 2^50 ns (about 13 days) ahead (a
 * guest's wrapped jiffies, or "no timer" from an old guest): a tick in 100 ms. A deadline
 * already past fires at once (the embedder's timer goes off as soon as it is armed).
 */
int hcall_set_timer_op(struct caller *c, uint64_t args[6], int64_t *ret)
{
    struct vcpu *v = (struct vcpu *)(void *)c->v;
    uint64_t timeout = c->is32 ? (hc_arg(c, args, 1) << 32) | hc_arg(c, args, 0) : args[0];
    uint64_t now;
    int64_t offset;

    if (!time_have_timers(v)) {
        *ret = -PVCORE_ENOSYS; /* the embedder has no timers */
        return PVCORE_HYPERCALL_DONE;
    }
    if (timeout == 0) {
        set_oneshot(v, 0);
        *ret = 0;
        return PVCORE_HYPERCALL_DONE;
    }
    now = time_now(v);
    offset = (int64_t)(timeout - now);
    if ((int64_t)timeout < 0 || (offset > 0 && (uint32_t)((uint64_t)offset >> 50) != 0)) {
        set_oneshot(v, now + HUGE_TIMEOUT_NS);
    } else {
        set_oneshot(v, timeout);
    }
    *ret = 0;
    return PVCORE_HYPERCALL_DONE;
}

int64_t time_vcpu_op(struct caller *c, uint32_t cmd, struct vcpu *target, uint64_t arg)
{
    bool self = (struct pvcore_vcpu *)(void *)target == c->v;
    uint8_t b[16];

    if (!time_have_timers(target)) {
        return -PVCORE_ENOSYS; /* the embedder has no timers */
    }
    switch (cmd) {
    case PVCORE_VCPUOP_set_periodic_timer: {
        uint64_t period;
        bool fire;

        if (hc_copy_in(c, b, arg, 8) != 0) {
            return -PVCORE_EFAULT;
        }
        period = hc_get_le64(b);
        /* Xen's bounds: at least 1 ms, and small enough that now + period cannot wrap. */
        if (period < MS_NS || period > STIME_DELTA_MAX) {
            return -PVCORE_EINVAL;
        }
        spin_lock(&target->timer.lock);
        target->timer.period = period;
        fire = periodic_step(&target->timer, time_now(target));
        spin_unlock(&target->timer.lock);
        if (fire) {
            timer_event(target);
        }
        timer_rearm(target);
        return 0;
    }
    case PVCORE_VCPUOP_stop_periodic_timer:
        spin_lock(&target->timer.lock);
        target->timer.period = 0;
        target->timer.periodic_next = 0;
        target->timer.started = true; /* a later time update does not start the default */
        spin_unlock(&target->timer.lock);
        timer_rearm(target);
        return 0;
    case PVCORE_VCPUOP_set_singleshot_timer: {
        uint64_t deadline;
        uint32_t flags;

        if (!self) {
            return -PVCORE_EINVAL; /* only on oneself (Xen) */
        }
        /* 16 bytes for a 64-bit guest; a 32-bit guest's struct is 12 (4-byte aligned). */
        if (hc_copy_in(c, b, arg, c->is32 ? 12u : 16u) != 0) {
            return -PVCORE_EFAULT;
        }
        deadline = hc_get_le64(b);
        flags = hc_get_le32(b + 8);
        if ((flags & PVCORE_VCPU_SSHOTTMR_future) != 0 && deadline < time_now(target)) {
            return -PVCORE_ETIME;
        }
        /* (0 is "none" here; as a deadline it has passed: fire at once.) */
        set_oneshot(target, deadline != 0 ? deadline : 1);
        return 0;
    }
    case PVCORE_VCPUOP_stop_singleshot_timer:
        if (!self) {
            return -PVCORE_EINVAL;
        }
        set_oneshot(target, 0);
        return 0;
    default:
        return -PVCORE_ENOSYS;
    }
}

/* ---- the TSC scale ------------------------------------------------------------------------ */

/* (num << 32) / den for num < den, by shift and subtract (no 64-bit division helper). */
static uint32_t frac32(uint32_t num, uint32_t den)
{
    uint64_t rem = num;
    uint32_t q = 0;
    unsigned i;

    for (i = 0; i < 32; i++) {
        rem <<= 1;
        q <<= 1;
        if (rem >= den) {
            rem -= den;
            q |= 1u;
        }
    }
    return q;
}

int pvcore_time_scale(uint64_t tsc_hz, uint32_t *mul, int8_t *shift)
{
    uint64_t f = tsc_hz;
    uint32_t f32;
    int s = 0;

    if (tsc_hz == 0 || mul == NULL || shift == NULL) {
        return -PVCORE_EINVAL;
    }
    /* Bring the frequency into (1e9, 2e9] by powers of two, as Xen does, so that the
     * fraction 1e9 / f lies in [0.5, 1) and keeps 31 or 32 significant bits. */
    while (f > 2ull * NS_PER_SEC) {
        f >>= 1;
        s--;
    }
    f32 = (uint32_t)f;
    while (f32 <= NS_PER_SEC) {
        f32 <<= 1;
        s++;
    }
    *mul = frac32(NS_PER_SEC, f32);
    *shift = (int8_t)s;
    return 0;
}

int pvcore_domain_set_tsc_frequency(struct pvcore_domain *pd, uint64_t tsc_hz)
{
    struct domain *d = D(pd);
    uint32_t mul;
    int8_t shift;
    int rc;

    if (d == NULL) {
        return -PVCORE_EINVAL;
    }
    rc = pvcore_time_scale(tsc_hz, &mul, &shift);
    if (rc == 0) {
        atomic_store_explicit(&d->sched.tsc_scale, (uint64_t)mul << 8 | (uint8_t)shift,
                              memory_order_relaxed);
    }
    return rc;
}

/* ---- the guest's time fields -------------------------------------------------------------- */

/* Little-endian stores a byte at a time (atomics: the guest reads concurrently, and the
 * version protocol, not the store, makes the value whole). Release stores: each is ordered
 * after everything written before it, the odd version included, which is the protocol's
 * first half (no fence needed, and GCC's ThreadSanitizer supports none). A registered
 * vcpu_info need not be aligned. */
static void put_bytes(uint8_t *p, uint64_t val, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        atomic_store_explicit((_Atomic uint8_t *)(void *)(p + i), (uint8_t)(val >> (8u * i)),
                              memory_order_release);
    }
}

static uint32_t get_version(const uint8_t *p)
{
    if (((uintptr_t)p & 3u) == 0) {
        return atomic_load_explicit((_Atomic uint32_t *)(uintptr_t)p, memory_order_relaxed);
    }
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The version word in one store where it is aligned (always, but for a vcpu_info a guest
 * registered at an odd offset: then a reader could see a torn count on a carry). */
static void put_version(uint8_t *p, uint32_t ver)
{
    if (((uintptr_t)p & 3u) == 0) {
        atomic_store_explicit((_Atomic uint32_t *)(void *)p, ver, memory_order_release);
    } else {
        put_bytes(p, ver, 4);
    }
}

/* The writer's half of the protocol: version odd, then the fields, then version even;
 * each step ordered after the one before for a reader on another CPU. */
static uint32_t version_begin(uint8_t *ver)
{
    uint32_t odd = (get_version(ver) + 1u) | 1u;

    put_version(ver, odd); /* before any field changes: the fields' stores are release stores */
    return odd;
}

static void version_end(uint8_t *ver, uint32_t odd)
{
    put_version(ver, odd + 1u); /* a release store: after every field */
}

int pvcore_vcpu_time_update(struct pvcore_vcpu *pv, uint64_t tsc, uint64_t system_ns)
{
    struct vcpu *v = V(pv);
    uint64_t scale = atomic_load_explicit(&v->d->sched.tsc_scale, memory_order_relaxed);
    uint64_t mfn;
    uint32_t off, odd;
    uint8_t *ti;
    bool fire = false;

    if (scale == 0) {
        return -PVCORE_EINVAL; /* no TSC frequency: a guest would divide by a zero scale */
    }
    spin_lock(&v->timer.lock); /* (one writer of v's time at a time) */
    if (cpu_vcpu_info_get(&v->cpu, &mfn, &off)) {
        ti = (uint8_t *)frame_entries(v->d->m, mfn) + off + VI_TIME;
        odd = version_begin(ti + TI_VERSION);
        put_bytes(ti + TI_TSC, tsc, 8);
        put_bytes(ti + TI_SYSTEM, system_ns, 8);
        put_bytes(ti + TI_MUL, scale >> 8, 4);
        put_bytes(ti + TI_SHIFT, scale & 0xFFu, 1);
        put_bytes(ti + TI_FLAGS, 0, 1);
        version_end(ti + TI_VERSION, odd);
    } else {
        ti = NULL;
    }
    /* The default periodic timer starts with the vCPU's clock (Xen starts it when the
     * vCPU is first scheduled). */
    if (!v->timer.started && v->timer.period != 0 && time_have_timers(v)) {
        v->timer.periodic_last = system_ns;
        fire = periodic_step(&v->timer, system_ns);
    }
    spin_unlock(&v->timer.lock);
    if (fire) {
        timer_event(v);
    }
    timer_rearm(v);
    return ti != NULL ? 0 : -PVCORE_ENOENT;
}

int pvcore_domain_set_wallclock(struct pvcore_domain *pd, uint64_t sec, uint32_t nsec)
{
    struct domain *d = D(pd);
    uint8_t *si, *wc;
    uint32_t odd;

    if (d == NULL || nsec >= NS_PER_SEC) {
        return -PVCORE_EINVAL;
    }
    if (d->shared_info_mfn == INVALID_MFN) {
        return -PVCORE_ENOENT;
    }
    si = (uint8_t *)frame_entries(d->m, d->shared_info_mfn);
    wc = si + (domain_is_32(d) ? SI_WC_32 : SI_WC_64);
    spin_lock(&d->sched.wc_lock);
    odd = version_begin(wc);
    put_bytes(wc + 4, (uint32_t)sec, 4);
    put_bytes(wc + 8, nsec, 4);
    /* The high half of the seconds: next to wc_nsec for a 64-bit guest, in the arch part
     * for a 32-bit one (Xen writes both layouts' field). */
    put_bytes(domain_is_32(d) ? si + SI_WC_HI_32 : wc + 12, sec >> 32, 4);
    version_end(wc, odd);
    spin_unlock(&d->sched.wc_lock);
    return 0;
}
