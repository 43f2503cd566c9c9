/*
 * sched.c: the timer and the scheduler's side of the library's hooks.
 *
 * The clock: the PIT's channel 0 interrupts at about 1 kHz (cpu.c programs it, IRQ 0 on
 * vector 0x20). At boot the TSC is calibrated against it, and system time is the TSC
 * since then, scaled exactly as the guests scale it from their vcpu_time_info (the same
 * mul and shift), so that what a guest extrapolates and what the hypervisor's timers use
 * agree.
 *
 * The scheduler (its loop is in main.c): a guest is runnable unless it blocked
 * (vcpu_sched BLOCK, until WAKE) or is shutting down. The library calls the hooks from
 * inside a guest's hypercall (its own block, yield or shutdown; another guest's
 * EVTCHNOP_send waking it) or from pvcore_vcpu_timer_expired() in the timer interrupt;
 * they only record. The decision to switch is taken on the way back to the guest
 * (hypercall.c, sched_return()).
 */
#include <pvcore/abi/xen.h>

#include "minihv.h"

int need_resched;
uint64_t sched_switches[3];
static volatile uint64_t ticks;
static uint64_t slice_start;
static int calibrated;
static uint64_t tsc_hz, tsc0;
static uint32_t tsc_mul;
static int8_t tsc_shift;

/* The TSC since boot in ns, as a guest computes it from its vcpu_time_info. */
static uint64_t scale_tsc(uint64_t delta)
{
    if (tsc_shift >= 0) {
        delta <<= tsc_shift;
    } else {
        delta >>= -tsc_shift;
    }
    /* (delta * mul) >> 32 without a 128-bit product */
    return (delta >> 32) * tsc_mul + (((delta & 0xffffffffu) * tsc_mul) >> 32);
}

uint64_t timer_now_ns(void)
{
    return calibrated ? scale_tsc(pvcore_x86_rdtsc() - tsc0) : 0;
}

void timer_init(void)
{
    uint64_t start, t0, t1;

    /* 20 ticks of the PIT (about 20 ms), interrupts on, no guest yet. */
    pvcore_x86_sti();
    start = ticks;
    while (ticks == start) {
        pvcore_x86_hlt();
    }
    t0 = pvcore_x86_rdtsc();
    start = ticks;
    while (ticks - start < 20) {
        pvcore_x86_hlt();
    }
    t1 = pvcore_x86_rdtsc();
    pvcore_x86_cli();
    tsc_hz = (t1 - t0) * MINIHV_PIT_HZ / (20ull * MINIHV_PIT_DIVISOR);
    if (tsc_hz == 0 || pvcore_time_scale(tsc_hz, &tsc_mul, &tsc_shift) != 0) {
        panic("cannot calibrate the TSC (%lu Hz)", tsc_hz);
    }
    tsc0 = pvcore_x86_rdtsc();
    calibrated = 1;
    con_printf("minihv: timer: PIT at %u Hz, TSC %lu kHz, slices of %u ms\n",
               MINIHV_PIT_HZ / MINIHV_PIT_DIVISOR, tsc_hz / 1000, MINIHV_SLICE_TICKS);
}

void timer_guest_init(struct guest *g)
{
    if (pvcore_domain_set_tsc_frequency(g->d, tsc_hz) != 0) {
        panic("d%u: pvcore_domain_set_tsc_frequency", g->domid);
    }
    /* The time of day is not kept: the wall clock says system time 0 is the epoch. */
    if (pvcore_domain_set_wallclock(g->d, 0, 0) != 0) {
        panic("d%u: pvcore_domain_set_wallclock", g->domid);
    }
}

void timer_guest_update(struct guest *g)
{
    uint64_t tsc = pvcore_x86_rdtsc();
    /* -ENOENT (no vcpu_info yet) is fine: the periodic timer starts all the same. */
    int rc = pvcore_vcpu_time_update(g->v, tsc, calibrated ? scale_tsc(tsc - tsc0) : 0);

    (void)rc;
}

/*
 * The timer interrupt, in a guest or in the idle loop: every vCPU whose deadline passed has
 * its timers expire (VIRQ_TIMER, a poll's timeout: the WAKE comes from the library), the
 * console rings are drained, the running guest's time is refreshed, and its slice counted.
 */
void timer_tick(void)
{
    uint64_t now;
    unsigned i;

    cpu_timer_eoi();
    ticks++;
    if (!calibrated) {
        return;
    }
    now = timer_now_ns();
    for (i = 0; i < 64; i++) {
        struct guest *g = guests_by_domid[i];
        if (g == NULL || !g->alive) {
            continue;
        }
        if (g->deadline != 0 && g->deadline <= now) {
            (void)pvcore_vcpu_timer_expired(g->v, now);
        }
        serve_backends(g);
    }
    if (current != NULL) {
        timer_guest_update(current);
        if (ticks - slice_start >= MINIHV_SLICE_TICKS) {
            need_resched = 1;
            slice_start = ticks;
        }
    }
}

/* A new slice for the guest being switched in. */
void sched_new_slice(void)
{
    slice_start = ticks;
    need_resched = 0;
}

static int runnable(const struct guest *g)
{
    return g->alive && !g->blocked && !g->shutdown_pending;
}

/* Is any guest but g runnable (worth switching to)? */
int sched_other_runnable(const struct guest *g)
{
    unsigned i;

    for (i = 0; i < 64; i++) {
        const struct guest *o = guests_by_domid[i];
        if (o != NULL && o != g && runnable(o)) {
            return 1;
        }
    }
    return 0;
}

/* ---- the hooks -------------------------------------------------------------------------- */

void hook_vcpu_sched(void *ctx, struct pvcore_vcpu *v, int event)
{
    struct guest *g = guest_of(v);

    (void)ctx;
    if (g == NULL) {
        return;
    }
    switch (event) {
    case PVCORE_SCHED_BLOCK:
        g->blocked = 1;
        break;
    case PVCORE_SCHED_WAKE:
        g->blocked = 0;
        break;
    case PVCORE_SCHED_YIELD:
        g->yielded = 1;
        break;
    default:
        break;
    }
}

/* The guest stops running: the scheduler destroys it (its own call returns to the host
 * loop from sched_return(); another guest's, when the loop next looks). */
void hook_domain_shutdown(void *ctx, struct pvcore_domain *d, uint32_t reason)
{
    uint16_t id = pvcore_domain_id(d);
    struct guest *g = id < 64 ? guests_by_domid[id] : NULL;

    (void)ctx;
    if (g != NULL && !g->shutdown_pending) {
        g->shutdown_pending = 1;
        g->shutdown_reason = reason;
    }
}

uint64_t hook_system_time(void *ctx)
{
    (void)ctx;
    return timer_now_ns();
}

/* The deadline is checked on every tick (a past one fires at the next). */
void hook_timer_set(void *ctx, struct pvcore_vcpu *v, uint64_t deadline_ns)
{
    struct guest *g = guest_of(v);

    (void)ctx;
    if (g != NULL) {
        g->deadline = deadline_ns;
    }
}

/*
 * An event for a vCPU: nothing to do. A running guest is the current one, whose way back
 * (every return into it) enters its event callback; a runnable one gets it when switched
 * in; a blocked one is woken by the separate WAKE.
 */
void hook_evtchn_kick(void *ctx, struct pvcore_vcpu *v)
{
    (void)ctx;
    (void)v;
}
