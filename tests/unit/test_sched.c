/*
 * Time and blocking (<pvcore/time.h>, <pvcore/sched.h>): set_timer_op and the VCPUOP
 * timer commands on a fake embedder clock and timer, VIRQ_TIMER on expiry, the periodic
 * default, vcpu_time_info and the wall clock read back as a guest reads them (version
 * protocol), the TSC scale; sched_op and sched_op_compat: yield, block (at once with an
 * event pending, woken by another domain's send), poll (every check of Xen's in its
 * order, hostile pointers and ports, woken by a send and by its timeout), shutdown,
 * shutdown_code, remote_shutdown, watchdog, pin_override; 64-bit and 32-bit guests,
 * stale upper halves in a 32-bit guest's registers. Nothing asserts on real time: the
 * clock is the test's.
 */
#include "regress/evtenv.h"

#include <stddef.h>

#include <pvcore/sched.h>
#include <pvcore/time.h>
#include <pvcore/vcpu.h>

#include "internal/domain.h"
#include "internal/machine.h"
#include "internal/sched.h"

#define ARGP(v) (VA + 4096u * (5u + (v))) /* sched_op arguments of vCPU v (0-1) */
#define JUNK 0xDEADBEEF00000000ull        /* stale upper halves of 32-bit registers */

/* ---- the fake embedder: a clock, a timer per vCPU, the scheduler's log ------------------- */

#define LOG_MAX 64

static struct {
    uint64_t now;
    struct pvcore_vcpu *tv[16];
    uint64_t deadline[16];
    unsigned timer_calls;
    struct pvcore_vcpu *ev_v[LOG_MAX];
    int ev[LOG_MAX];
    unsigned nev;
    struct pvcore_domain *sd_dom;
    uint32_t sd_reason;
    unsigned sd_calls;
} g;

static struct pvcore_host_ops test_ops;

static uint64_t h_time(void *ctx)
{
    (void)ctx;
    return g.now;
}

static void h_timer(void *ctx, struct pvcore_vcpu *v, uint64_t dl)
{
    unsigned i;

    (void)ctx;
    g.timer_calls++;
    for (i = 0; i < 16; i++) {
        if (g.tv[i] == v || g.tv[i] == NULL) {
            g.tv[i] = v;
            g.deadline[i] = dl;
            return;
        }
    }
    fail();
}

static uint64_t armed(struct pvcore_vcpu *v)
{
    unsigned i;

    for (i = 0; i < 16; i++) {
        if (g.tv[i] == v) {
            return g.deadline[i];
        }
    }
    return 0;
}

static void h_sched(void *ctx, struct pvcore_vcpu *v, int ev)
{
    (void)ctx;
    assert_true(g.nev < LOG_MAX);
    g.ev_v[g.nev] = v;
    g.ev[g.nev++] = ev;
}

static void h_shutdown(void *ctx, struct pvcore_domain *d, uint32_t reason)
{
    (void)ctx;
    g.sd_dom = d;
    g.sd_reason = reason;
    g.sd_calls++;
}

/* Installs the hooks on the fixture's machine (white box: the host backend's table,
 * copied, plus ours). `timers`, `sched`: which to add. */
static void hooks(struct pvtest *t, int timers, int sched)
{
    struct machine *m = (struct machine *)(void *)t->m;

    test_ops = *m->ops;
    test_ops.system_time = timers ? h_time : NULL;
    test_ops.timer_set = timers ? h_timer : NULL;
    test_ops.vcpu_sched = sched ? h_sched : NULL;
    test_ops.domain_shutdown = sched ? h_shutdown : NULL;
    m->ops = &test_ops;
    memset(&g, 0, sizeof(g));
    g.now = 1000000000ull; /* 1 s of system time */
}

/* ---- hypercalls as the guest makes them ---------------------------------------------------- */

static int64_t hc_v(struct edom *x, uint32_t v, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
    struct pvcore_hypercall_regs r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.nr = nr;
    r.arg[0] = a0;
    r.arg[1] = a1;
    r.arg[2] = a2;
    rc = pvcore_hypercall(pvcore_domain_vcpu(x->e.t->dom[x->e.d], v), &r);
    if (rc == PVCORE_HYPERCALL_UNHANDLED) {
        return 1000; /* never a result: marks "handed back" */
    }
    assert_int_equal(rc, PVCORE_HYPERCALL_DONE);
    return x->e.is32 ? (int64_t)(int32_t)(uint32_t)r.ret : (int64_t)r.ret;
}

static int64_t sched_v(struct edom *x, uint32_t v, uint32_t cmd, const void *arg, size_t len)
{
    if (arg != NULL) {
        gwrite(&x->e, ARGP(v), arg, len);
    }
    return hc_v(x, v, PVCORE_HYPERVISOR_sched_op, cmd | (x->e.is32 ? JUNK : 0),
                arg != NULL ? ARGP(v) | (x->e.is32 ? JUNK : 0) : UNMAPPED, 0);
}

static int64_t sched0(struct edom *x, uint32_t cmd, const void *arg, size_t len)
{
    return sched_v(x, 0, cmd, arg, len);
}

/* A poll's argument in the guest's layout, the ports at `ports_va` (written there first
 * unless NULL). */
static int64_t poll_v(struct edom *x, uint32_t v, uint64_t ports_va, const uint32_t *ports, uint32_t nr,
                      uint64_t timeout)
{
    uint8_t b[24];

    memset(b, 0, sizeof(b));
    if (ports != NULL) {
        gwrite(&x->e, ports_va, ports, (size_t)nr * 4u);
    }
    if (x->e.is32) {
        struct pvcore_sched_poll_x86_32 p = { (uint32_t)ports_va, nr, timeout };
        memcpy(b, &p, sizeof(p));
        return sched_v(x, v, PVCORE_SCHEDOP_poll, b, 16);
    } else {
        struct pvcore_sched_poll_x86_64 p = { ports_va, nr, 0, timeout };
        memcpy(b, &p, sizeof(p));
        return sched_v(x, v, PVCORE_SCHEDOP_poll, b, 24);
    }
}

static int64_t vcpu_op_v(struct edom *x, uint32_t v, uint32_t cmd, uint32_t id, const void *arg,
                         size_t len)
{
    if (arg != NULL) {
        gwrite(&x->e, ARGP(v), arg, len);
    }
    return hc_v(x, v, PVCORE_HYPERVISOR_vcpu_op, cmd, id, arg != NULL ? ARGP(v) : UNMAPPED);
}

static int64_t set_timer(struct edom *x, uint32_t v, uint64_t deadline)
{
    if (x->e.is32) {
        return hc_v(x, v, PVCORE_HYPERVISOR_set_timer_op, (uint32_t)deadline | JUNK,
                    (deadline >> 32) | JUNK, 0);
    }
    return hc_v(x, v, PVCORE_HYPERVISOR_set_timer_op, deadline, 0, 0);
}

static uint8_t *vinfo(struct edom *x, uint32_t v)
{
    return e_si(x) + 64u * v;
}

static uint32_t bind_virq_timer(struct edom *x, uint32_t v)
{
    struct pvcore_evtchn_bind_virq b = { PVCORE_VIRQ_TIMER, v, 0 };

    assert_int_equal(evop0(x, PVCORE_EVTCHNOP_bind_virq, &b, sizeof(b)), 0);
    return b.port;
}

static void mask_port(struct edom *x, uint32_t port)
{
    e_si(x)[(x->e.is32 ? 2048u + 128u : 2048u + 512u) + port / 8] |= (uint8_t)(1u << (port % 8));
}

static void clear_pending_bit(struct edom *x, uint32_t port)
{
    e_si(x)[2048 + port / 8] &= (uint8_t)~(1u << (port % 8));
}

/* Two domains, each with an event-channel table and shared info: dom0 (privileged,
 * 64-bit) and the domain under test (1: 64-bit, 2: 32-bit). */
struct pair {
    struct pvtest *t;
    struct edom a; /* dom0 */
    struct edom x; /* under test */
};

static void pair_init(struct pair *p, int d, int timers, int sched)
{
    p->t = pvtest_new();
    edom_init(&p->a, p->t, 0, 64);
    edom_init(&p->x, p->t, d, 64);
    hooks(p->t, timers, sched);
}

static void pair_free(struct pair *p)
{
    edom_free(&p->a);
    edom_free(&p->x);
    check_invariants(p->t);
    pvtest_free(p->t);
}

/* An interdomain channel: its port in x (bound by x) and in dom0. */
static void channel(struct pair *p, uint32_t *xport, uint32_t *aport)
{
    uint32_t a;

    assert_int_equal(e_alloc_unbound(&p->a, (uint16_t)p->x.e.d, &a), 0);
    assert_int_equal(e_bind_inter(&p->x, 0, a, xport), 0);
    clear_pending_bit(&p->x, *xport); /* (the bind leaves it pending) */
    *aport = a;
}

/* No upcall pending and an empty selector (the binds above left both set). */
static void vinfo_clear_upcall(struct edom *x, uint32_t v)
{
    vinfo(x, v)[0] = 0;
    memset(vinfo(x, v) + (x->e.is32 ? 4 : 8), 0, x->e.is32 ? 4 : 8);
}

/* The embedder's timer for v went off at `now`: it is no longer armed, and the library
 * is told. */
static int expire(struct pvcore_vcpu *v, uint64_t now)
{
    unsigned i;

    for (i = 0; i < 16; i++) {
        if (g.tv[i] == v) {
            g.deadline[i] = 0;
        }
    }
    return pvcore_vcpu_timer_expired(v, now);
}

/* ---- without the hooks: as before ---------------------------------------------------------- */

static void test_no_hooks(void **state)
{
    static const int ds[] = { 1, 2 };
    unsigned i;
    (void)state;

    for (i = 0; i < 2; i++) {
        struct pair p;
        uint64_t period = 10000000;

        pair_init(&p, ds[i], 0, 0);
        /* No vcpu_sched hook: sched_op and sched_op_compat stay the embedder's. */
        assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_yield, NULL, 0), 1000);
        assert_int_equal(hc_v(&p.x, 0, PVCORE_HYPERVISOR_sched_op_compat, 0, 0, 0), 1000);
        /* No timer hooks: -ENOSYS. */
        assert_int_equal(set_timer(&p.x, 0, 5), -PVCORE_ENOSYS);
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_set_periodic_timer, 0, &period, 8),
                         -PVCORE_ENOSYS);
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_stop_periodic_timer, 0, NULL, 0),
                         -PVCORE_ENOSYS);
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_stop_singleshot_timer, 0, NULL, 0),
                         -PVCORE_ENOSYS);
        assert_int_equal(g.timer_calls, 0);
        /* A poll with a timeout needs timers; sched hook present, timers not. */
        hooks(p.t, 0, 1);
        assert_int_equal(poll_v(&p.x, 0, ARGP(1), (uint32_t[]){ 1 }, 1, 5), -PVCORE_ENOSYS);
        assert_int_equal(g.nev, 0);
        pair_free(&p);
    }
}

/* ---- set_timer_op ---------------------------------------------------------------------------- */

static void test_set_timer_op(void **state)
{
    static const int ds[] = { 1, 2 };
    unsigned i;
    (void)state;

    for (i = 0; i < 2; i++) {
        struct pair p;
        struct pvcore_vcpu *v;
        uint32_t port;

        pair_init(&p, ds[i], 1, 1);
        v = vcpu(p.t, ds[i], 0);
        port = bind_virq_timer(&p.x, 0);
        /* A deadline ahead: armed there, exactly. */
        assert_int_equal(set_timer(&p.x, 0, g.now + 5000), 0);
        assert_int_equal(armed(v), g.now + 5000);
        assert_int_equal(pvcore_vcpu_timer_deadline(v), g.now + 5000);
        /* Not due yet: nothing; due: VIRQ_TIMER pending, timer disarmed. */
        assert_int_equal(expire(v, g.now + 4999), 0);
        assert_int_equal(e_pending(&p.x, port), 0);
        assert_int_equal(armed(v), g.now + 5000);
        assert_int_equal(expire(v, g.now + 5000), 1);
        assert_int_equal(e_pending(&p.x, port), 1);
        assert_int_equal(armed(v), 0);
        clear_pending_bit(&p.x, port);
        /* 0 stops it. */
        assert_int_equal(set_timer(&p.x, 0, g.now + 7000), 0);
        assert_int_equal(set_timer(&p.x, 0, 0), 0);
        assert_int_equal(armed(v), 0);
        assert_int_equal(expire(v, g.now + 8000), 0);
        assert_int_equal(e_pending(&p.x, port), 0);
        /* Past: armed in the past (the embedder fires at once). */
        assert_int_equal(set_timer(&p.x, 0, g.now - 1), 0);
        assert_int_equal(armed(v), g.now - 1);
        assert_int_equal(expire(v, g.now), 1);
        assert_int_equal(e_pending(&p.x, port), 1);
        clear_pending_bit(&p.x, port);
        /* Negative, or more than 2^50 ns ahead: Xen's 100 ms. */
        assert_int_equal(set_timer(&p.x, 0, 0x8000000000000000ull), 0);
        assert_int_equal(armed(v), g.now + 100000000ull);
        assert_int_equal(set_timer(&p.x, 0, UINT64_MAX), 0);
        assert_int_equal(armed(v), g.now + 100000000ull);
        assert_int_equal(set_timer(&p.x, 0, g.now + (1ull << 50) + (1ull << 49)), 0);
        assert_int_equal(armed(v), g.now + 100000000ull);
        /* 2^50 - 1 ahead is taken as given; so is anything below 2^50 (offset >> 50 == 0). */
        assert_int_equal(set_timer(&p.x, 0, g.now + (1ull << 50) - 1), 0);
        assert_int_equal(armed(v), g.now + (1ull << 50) - 1);
        /* A timer on another vCPU is its own: vCPU 1's does not move vCPU 0's. */
        assert_int_equal(set_timer(&p.x, 1, g.now + 42), 0);
        assert_int_equal(armed(vcpu(p.t, ds[i], 1)), g.now + 42);
        assert_int_equal(armed(v), g.now + (1ull << 50) - 1);
        pair_free(&p);
    }
}

/* A 32-bit guest's deadline is ecx:ebx; the upper register halves do not count. */
static void test_set_timer_op_32_halves(void **state)
{
    struct pair p;
    struct pvcore_hypercall_regs r;
    (void)state;

    pair_init(&p, 2, 1, 1);
    memset(&r, 0, sizeof(r));
    r.nr = PVCORE_HYPERVISOR_set_timer_op | JUNK;
    r.arg[0] = 0x89ABCDEFull | 0xFFFFFFFF00000000ull;
    r.arg[1] = 0x00000001ull | 0x7FFFFFFF00000000ull;
    g.now = 0x100000000ull;
    assert_int_equal(pvcore_hypercall(vcpu(p.t, 2, 0), &r), PVCORE_HYPERCALL_DONE);
    assert_int_equal(r.ret, 0);
    assert_int_equal(armed(vcpu(p.t, 2, 0)), 0x189ABCDEFull);
    /* hi with its top bit set: negative: 100 ms. */
    r.nr = PVCORE_HYPERVISOR_set_timer_op;
    r.arg[0] = 5;
    r.arg[1] = 0x80000000u;
    assert_int_equal(pvcore_hypercall(vcpu(p.t, 2, 0), &r), PVCORE_HYPERCALL_DONE);
    assert_int_equal(armed(vcpu(p.t, 2, 0)), g.now + 100000000ull);
    pair_free(&p);
}

/* ---- the VCPUOP timer commands ----------------------------------------------------------- */

static void test_vcpuop_timers(void **state)
{
    static const int ds[] = { 1, 2 };
    unsigned i;
    (void)state;

    for (i = 0; i < 2; i++) {
        struct pair p;
        struct pvcore_vcpu *v0, *v1;
        uint8_t ss[16];
        uint64_t period;
        uint32_t port;

        pair_init(&p, ds[i], 1, 1);
        v0 = vcpu(p.t, ds[i], 0);
        v1 = vcpu(p.t, ds[i], 1);
        port = bind_virq_timer(&p.x, 0);

        /* singleshot: only on oneself. */
        memset(ss, 0, sizeof(ss));
        memcpy(ss, &(uint64_t){ g.now + 10 }, 8);
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_set_singleshot_timer, 1, ss, 16),
                         -PVCORE_EINVAL);
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_stop_singleshot_timer, 1, NULL, 0),
                         -PVCORE_EINVAL);
        assert_int_equal(armed(v1), 0);
        /* Unreadable. */
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_set_singleshot_timer, 0, NULL, 0),
                         -PVCORE_EFAULT);
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_set_periodic_timer, 0, NULL, 0),
                         -PVCORE_EFAULT);
        /* Future flag with a past deadline: -ETIME, nothing armed. */
        memcpy(ss, &(uint64_t){ g.now - 1 }, 8);
        ss[8] = PVCORE_VCPU_SSHOTTMR_future;
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_set_singleshot_timer, 0, ss, 16),
                         -PVCORE_ETIME);
        assert_int_equal(armed(v0), 0);
        /* Exactly now is not in the past. */
        memcpy(ss, &(uint64_t){ g.now }, 8);
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_set_singleshot_timer, 0, ss, 16), 0);
        assert_int_equal(armed(v0), g.now);
        /* Without the flag a past deadline is armed (fires at once). */
        memcpy(ss, &(uint64_t){ g.now - 1 }, 8);
        ss[8] = 0xFE; /* unknown flag bits are ignored, as Xen */
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_set_singleshot_timer, 0, ss, 16), 0);
        assert_int_equal(armed(v0), g.now - 1);
        assert_int_equal(expire(v0, g.now), 1);
        assert_int_equal(e_pending(&p.x, port), 1);
        clear_pending_bit(&p.x, port);
        /* Deadline 0 through VCPUOP: due at once (not "stop"). */
        memset(ss, 0, sizeof(ss));
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_set_singleshot_timer, 0, ss, 16), 0);
        assert_int_equal(armed(v0), 1);
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_stop_singleshot_timer, 0, NULL, 0), 0);
        assert_int_equal(armed(v0), 0);

        /* periodic: Xen's bounds. */
        period = 999999;
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_set_periodic_timer, 0, &period, 8),
                         -PVCORE_EINVAL);
        period = 1ull << 62;
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_set_periodic_timer, 0, &period, 8),
                         -PVCORE_EINVAL);
        period = UINT64_MAX;
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_set_periodic_timer, 0, &period, 8),
                         -PVCORE_EINVAL);
        assert_int_equal(armed(v0), 0);
        assert_int_equal(e_pending(&p.x, port), 0);
        /* 1 ms: a period has passed since "the last event" (none): an event at once, the
         * next one a period later. */
        period = 1000000;
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_set_periodic_timer, 0, &period, 8), 0);
        assert_int_equal(e_pending(&p.x, port), 1);
        clear_pending_bit(&p.x, port);
        assert_int_equal(armed(v0), g.now + 1000000);
        assert_int_equal(expire(v0, g.now + 1000500), 1);
        assert_int_equal(e_pending(&p.x, port), 1);
        clear_pending_bit(&p.x, port);
        assert_int_equal(armed(v0), g.now + 2000500); /* restarted from the expiry */
        /* The largest period Xen takes. */
        period = (1ull << 62) - 1;
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_set_periodic_timer, 0, &period, 8), 0);
        /* On another vCPU: allowed. */
        period = 2000000;
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_set_periodic_timer, 1, &period, 8), 0);
        assert_true(armed(v1) != 0);
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_stop_periodic_timer, 1, NULL, 0), 0);
        assert_int_equal(armed(v1), 0);
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_stop_periodic_timer, 0, NULL, 0), 0);
        assert_int_equal(armed(v0), 0);
        /* vCPU out of range: vcpu_op's -ENOENT first. */
        assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_stop_periodic_timer, 64, NULL, 0),
                         -PVCORE_ENOENT);
        pair_free(&p);
    }
}

/* A 32-bit guest's singleshot argument is 12 bytes: one at the very end of its mapped
 * pages is readable; a 64-bit guest's 16 bytes there are not. */
static void test_singleshot_layout(void **state)
{
    static const int ds[] = { 1, 2 };
    unsigned i;
    (void)state;

    for (i = 0; i < 2; i++) {
        struct pair p;
        uint64_t at = VA + NDATA * 4096u - 12u;
        uint8_t ss[12];

        pair_init(&p, ds[i], 1, 1);
        memset(ss, 0, sizeof(ss));
        memcpy(ss, &(uint64_t){ g.now + 77 }, 8);
        gwrite(&p.x.e, at, ss, 12);
        assert_int_equal(hc_v(&p.x, 0, PVCORE_HYPERVISOR_vcpu_op, PVCORE_VCPUOP_set_singleshot_timer,
                              0, at),
                         ds[i] == 2 ? 0 : -PVCORE_EFAULT);
        assert_int_equal(armed(vcpu(p.t, ds[i], 0)), ds[i] == 2 ? g.now + 77 : 0);
        pair_free(&p);
    }
}

/* PV vCPUs tick at 100 Hz until told otherwise, from their first time update. */
static void test_periodic_default(void **state)
{
    struct pair p;
    struct pvcore_vcpu *v;
    uint32_t port;
    (void)state;

    pair_init(&p, 1, 1, 1);
    v = vcpu(p.t, 1, 0);
    port = bind_virq_timer(&p.x, 0);
    assert_int_equal(pvcore_vcpu_timer_deadline(v), 0);
    assert_int_equal(pvcore_domain_set_tsc_frequency(p.t->dom[1], 1000000000ull), 0);
    assert_int_equal(pvcore_vcpu_time_update(v, 123, g.now), 0);
    assert_int_equal(armed(v), g.now + 10000000ull);
    assert_int_equal(e_pending(&p.x, port), 0);
    assert_int_equal(expire(v, g.now + 10000000ull), 1);
    assert_int_equal(e_pending(&p.x, port), 1);
    assert_int_equal(armed(v), g.now + 20000000ull);
    /* A later update does not restart it. */
    assert_int_equal(pvcore_vcpu_time_update(v, 456, g.now + 15000000ull), 0);
    assert_int_equal(armed(v), g.now + 20000000ull);
    /* Stopped by the guest: a fresh vCPU's first update starts nothing then. */
    assert_int_equal(vcpu_op_v(&p.x, 1, PVCORE_VCPUOP_stop_periodic_timer, 1, NULL, 0), 0);
    assert_int_equal(pvcore_vcpu_time_update(vcpu(p.t, 1, 1), 1, g.now), 0);
    assert_int_equal(armed(vcpu(p.t, 1, 1)), 0);
    pair_free(&p);
}

/* ---- the TSC scale and the guest's clock --------------------------------------------------- */

/* What a guest computes: system_time + ((delta << shift) * mul >> 32), 96-bit product. */
static uint64_t guest_ns(uint64_t system_time, uint64_t delta, uint32_t mul, int8_t shift)
{
    unsigned __int128 prod;

    delta = shift >= 0 ? delta << shift : delta >> -shift;
    prod = (unsigned __int128)delta * mul;
    return system_time + (uint64_t)(prod >> 32);
}

static void test_time_scale(void **state)
{
    static const uint64_t hz[] = { 1, 32768, 1000000, 999999999, 1000000000, 1000000001,
                                   2000000000, 2000000001, 2400000000ull, 3000000000ull,
                                   3999999999ull, 100000000000ull, UINT64_MAX };
    unsigned i;
    uint32_t mul;
    int8_t shift;
    (void)state;

    assert_int_equal(pvcore_time_scale(0, &mul, &shift), -PVCORE_EINVAL);
    assert_int_equal(pvcore_time_scale(1, NULL, &shift), -PVCORE_EINVAL);
    assert_int_equal(pvcore_time_scale(1, &mul, NULL), -PVCORE_EINVAL);
    for (i = 0; i < sizeof(hz) / sizeof(hz[0]); i++) {
        long double want, got;
        uint64_t ticks;

        assert_int_equal(pvcore_time_scale(hz[i], &mul, &shift), 0);
        /* The fraction is in [0.5, 1): its top bit is set. */
        assert_true(mul >= 0x80000000u);
        /* One second's ticks (or 2^40 of them for absurd rates) convert to the right
         * time, within the fraction's precision (a few parts in 2^31, and the shifted-out
         * low bits of the delta). */
        ticks = hz[i] < (1ull << 40) ? hz[i] : (1ull << 40);
        want = (long double)ticks * 1e9L / (long double)hz[i];
        got = (long double)guest_ns(0, ticks, mul, shift);
        assert_true(got <= want * (1.0L + 1e-9L) + 1.0L);
        assert_true(got >= want * (1.0L - 2e-9L) - 2.0L - (shift < 0 ? (long double)(1ull << -shift) : 0));
    }
    /* 1 GHz: shift 1 and mul 2^31 (1e9 ticks double to 2e9, times one half). */
    assert_int_equal(pvcore_time_scale(1000000000ull, &mul, &shift), 0);
    assert_int_equal(shift, 1);
    assert_int_equal(mul, 0x80000000u);
    /* 2 GHz is in range as is: shift 0, mul 2^31. */
    assert_int_equal(pvcore_time_scale(2000000000ull, &mul, &shift), 0);
    assert_int_equal(shift, 0);
    assert_int_equal(mul, 0x80000000u);
    /* 4 GHz halves once. */
    assert_int_equal(pvcore_time_scale(4000000000ull, &mul, &shift), 0);
    assert_int_equal(shift, -1);
    assert_int_equal(mul, 0x80000000u);
}

/* Reads vcpu_time_info at `ti` as a guest does: version even and unchanged around the
 * copy. */
static void read_time(const uint8_t *ti, struct pvcore_vcpu_time_info *out)
{
    const _Atomic uint32_t *ver = (const _Atomic uint32_t *)(const void *)ti;
    uint32_t v1, v2;
    unsigned tries = 0;

    do {
        assert_true(++tries < 1000000);
        v1 = atomic_load_explicit(ver, memory_order_acquire);
        memcpy(out, ti, sizeof(*out));
        atomic_thread_fence(memory_order_acquire);
        v2 = atomic_load_explicit(ver, memory_order_relaxed);
    } while ((v1 & 1u) != 0 || v1 != v2);
}

static void test_time_info(void **state)
{
    static const int ds[] = { 1, 2 };
    unsigned i;
    (void)state;

    for (i = 0; i < 2; i++) {
        struct pair p;
        struct pvcore_vcpu_time_info ti;
        struct pvcore_vcpu *v;
        uint32_t mul;
        int8_t shift;

        pair_init(&p, ds[i], 1, 1);
        v = vcpu(p.t, ds[i], 1);
        /* No frequency yet: refused, nothing written. */
        assert_int_equal(pvcore_vcpu_time_update(v, 1, 2), -PVCORE_EINVAL);
        assert_int_equal(pvcore_domain_set_tsc_frequency(p.t->dom[ds[i]], 0), -PVCORE_EINVAL);
        assert_int_equal(pvcore_domain_set_tsc_frequency(NULL, 1), -PVCORE_EINVAL);
        assert_int_equal(pvcore_domain_set_tsc_frequency(p.t->dom[ds[i]], 2400000000ull), 0);
        assert_int_equal(pvcore_time_scale(2400000000ull, &mul, &shift), 0);
        /* The guest's vcpu_info of vCPU 1 (offset 64 in shared_info), both widths at 32. */
        memset(vinfo(&p.x, 1) + 32, 0xAA, 32);
        assert_int_equal(pvcore_vcpu_time_update(v, 0x123456789ull, 5000000000ull), 0);
        read_time(vinfo(&p.x, 1) + 32, &ti);
        assert_int_equal(ti.tsc_timestamp, 0x123456789ull);
        assert_int_equal(ti.system_time, 5000000000ull);
        assert_int_equal(ti.tsc_to_system_mul, mul);
        assert_int_equal(ti.tsc_shift, shift);
        assert_int_equal(ti.flags, 0);
        assert_int_equal(ti.version & 1u, 0);
        /* The guest's reading 2.4e9 ticks later: one second more (to the ns). */
        {
            uint64_t ns = guest_ns(ti.system_time, 2400000000ull, ti.tsc_to_system_mul, ti.tsc_shift);
            assert_true(ns >= 5999999990ull && ns <= 6000000001ull);
        }
        /* vCPU 0 untouched (its bytes are still zero), and the fields around. */
        assert_int_equal(((uint32_t *)(void *)(vinfo(&p.x, 0) + 32))[0], 0);
        assert_int_equal(vinfo(&p.x, 1)[0], 0);
        /* Each update moves the version on by two. */
        {
            uint32_t ver = ti.version;
            assert_int_equal(pvcore_vcpu_time_update(v, 1, 2), 0);
            read_time(vinfo(&p.x, 1) + 32, &ti);
            assert_int_equal(ti.version, ver + 2);
            assert_int_equal(ti.tsc_timestamp, 1);
            assert_int_equal(ti.system_time, 2);
        }
        /* A guest that left an odd version behind still gets an even one. */
        *(uint32_t *)(void *)(vinfo(&p.x, 1) + 32) = 7;
        assert_int_equal(pvcore_vcpu_time_update(v, 3, 4), 0);
        read_time(vinfo(&p.x, 1) + 32, &ti);
        assert_int_equal(ti.version, 10);
        pair_free(&p);
    }
}

/* A vcpu_info registered at an unaligned offset gets its time there. */
static void test_time_info_registered(void **state)
{
    struct pair p;
    struct pvcore_vcpu_time_info ti;
    uint64_t page;
    uint8_t a[16];
    (void)state;

    pair_init(&p, 1, 1, 1);
    page = alloc_frame(p.t, 1);
    memset(a, 0, sizeof(a));
    memcpy(a, &page, 8);
    memcpy(a + 8, &(uint32_t){ 4096u - 64u - 3u }, 4);
    assert_int_equal(vcpu_op_v(&p.x, 0, PVCORE_VCPUOP_register_vcpu_info, 0, a, 16), 0);
    assert_int_equal(pvcore_domain_set_tsc_frequency(p.t->dom[1], 3000000000ull), 0);
    assert_int_equal(pvcore_vcpu_time_update(vcpu(p.t, 1, 0), 99, 77), 0);
    memcpy(&ti, (uint8_t *)frame_ptr(p.t, page) + 4096u - 64u - 3u + 32u, sizeof(ti));
    assert_int_equal(ti.version & 1u, 0);
    assert_int_equal(ti.tsc_timestamp, 99);
    assert_int_equal(ti.system_time, 77);
    pair_free(&p);
}

static void test_wallclock(void **state)
{
    static const int ds[] = { 1, 2 };
    unsigned i;
    (void)state;

    for (i = 0; i < 2; i++) {
        struct pair p;
        uint8_t *si;
        uint32_t ver, sec, nsec, hi;

        pair_init(&p, ds[i], 1, 1);
        si = e_si(&p.x);
        assert_int_equal(pvcore_domain_set_wallclock(p.t->dom[ds[i]], 1, 1000000000u), -PVCORE_EINVAL);
        assert_int_equal(pvcore_domain_set_wallclock(NULL, 1, 0), -PVCORE_EINVAL);
        assert_int_equal(pvcore_domain_set_wallclock(p.t->dom[ds[i]], 0x0000001265432100ull, 999999999u),
                         0);
        if (ds[i] == 2) {
            memcpy(&ver, si + offsetof(struct pvcore_shared_info_x86_32, wc_version), 4);
            memcpy(&sec, si + offsetof(struct pvcore_shared_info_x86_32, wc_sec), 4);
            memcpy(&nsec, si + offsetof(struct pvcore_shared_info_x86_32, wc_nsec), 4);
            memcpy(&hi, si + offsetof(struct pvcore_shared_info_x86_32, arch.wc_sec_hi), 4);
        } else {
            memcpy(&ver, si + offsetof(struct pvcore_shared_info_x86_64, wc_version), 4);
            memcpy(&sec, si + offsetof(struct pvcore_shared_info_x86_64, wc_sec), 4);
            memcpy(&nsec, si + offsetof(struct pvcore_shared_info_x86_64, wc_nsec), 4);
            memcpy(&hi, si + offsetof(struct pvcore_shared_info_x86_64, wc_sec_hi), 4);
        }
        assert_int_equal(ver, 2);
        assert_int_equal(sec, 0x65432100u);
        assert_int_equal(nsec, 999999999u);
        assert_int_equal(hi, 0x12);
        pair_free(&p);
    }
}

/* ---- yield, block ---------------------------------------------------------------------------- */

static void test_yield(void **state)
{
    static const int ds[] = { 1, 2 };
    unsigned i;
    (void)state;

    for (i = 0; i < 2; i++) {
        struct pair p;

        pair_init(&p, ds[i], 0, 1);
        assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_yield, NULL, 0), 0);
        assert_int_equal(g.nev, 1);
        assert_int_equal(g.ev[0], PVCORE_SCHED_YIELD);
        assert_ptr_equal(g.ev_v[0], vcpu(p.t, ds[i], 0));
        assert_int_equal(hc_v(&p.x, 1, PVCORE_HYPERVISOR_sched_op_compat,
                              PVCORE_SCHEDOP_yield | (ds[i] == 2 ? JUNK : 0), 0, 0),
                         0);
        assert_int_equal(g.nev, 2);
        assert_ptr_equal(g.ev_v[1], vcpu(p.t, ds[i], 1));
        assert_int_equal(pvcore_vcpu_blocked(vcpu(p.t, ds[i], 0)), 0);
        pair_free(&p);
    }
}

static void test_block_returns_at_once(void **state)
{
    static const int ds[] = { 1, 2 };
    unsigned i;
    (void)state;

    for (i = 0; i < 2; i++) {
        struct pair p;

        pair_init(&p, ds[i], 0, 1);
        /* An event pending, masked by the guest: block unmasks and returns at once. */
        vinfo(&p.x, 0)[0] = 1;
        vinfo(&p.x, 0)[1] = 1;
        assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_block, NULL, 0), 0);
        assert_int_equal(vinfo(&p.x, 0)[1], 0);
        assert_int_equal(g.nev, 0);
        assert_int_equal(pvcore_vcpu_blocked(vcpu(p.t, ds[i], 0)), 0);
        /* The same through sched_op_compat. */
        vinfo(&p.x, 0)[1] = 1;
        assert_int_equal(hc_v(&p.x, 0, PVCORE_HYPERVISOR_sched_op_compat, PVCORE_SCHEDOP_block, 0, 0), 0);
        assert_int_equal(vinfo(&p.x, 0)[1], 0);
        assert_int_equal(g.nev, 0);
        pair_free(&p);
    }
}

static void test_block_woken_by_send(void **state)
{
    static const int ds[] = { 1, 2 };
    unsigned i;
    (void)state;

    for (i = 0; i < 2; i++) {
        struct pair p;
        struct pvcore_vcpu *v;
        uint32_t xport, aport;

        pair_init(&p, ds[i], 0, 1);
        v = vcpu(p.t, ds[i], 0);
        channel(&p, &xport, &aport);
        vinfo_clear_upcall(&p.x, 0);
        vinfo(&p.x, 0)[1] = 1; /* masked: block enables events */
        assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_block, NULL, 0), 0);
        assert_int_equal(g.nev, 1);
        assert_int_equal(g.ev[0], PVCORE_SCHED_BLOCK);
        assert_int_equal(pvcore_vcpu_blocked(v), 1);
        assert_int_equal(vinfo(&p.x, 0)[1], 0);
        /* A send on another domain's unrelated port wakes nothing. */
        assert_int_equal(e_port_op(&p.a, 0, PVCORE_EVTCHNOP_send, 0), -PVCORE_EINVAL);
        assert_int_equal(g.nev, 1);
        /* dom0 sends: the port becomes pending, the upcall is raised, the vCPU wakes. */
        assert_int_equal(e_port_op(&p.a, 0, PVCORE_EVTCHNOP_send, aport), 0);
        assert_int_equal(g.nev, 2);
        assert_int_equal(g.ev[1], PVCORE_SCHED_WAKE);
        assert_ptr_equal(g.ev_v[1], v);
        assert_int_equal(pvcore_vcpu_blocked(v), 0);
        /* Sent again: no second wake. */
        assert_int_equal(e_port_op(&p.a, 0, PVCORE_EVTCHNOP_send, aport), 0);
        assert_int_equal(g.nev, 2);
        pair_free(&p);
    }
}

/*
 * White box: a waker that read the wait word while the vCPU was still entering its wait
 * (BLOCKING) and tries to end it only after the vCPU got to BLOCKED must still end it
 * (a failed compare-and-swap used to drop the wake: test_smp_sched saw it as a vCPU
 * blocked for ever). A waker that saw an older wait ends nothing.
 */
static void test_wake_seen_entering(void **state)
{
    struct pair p;
    struct pvcore_vcpu *pv;
    struct vcpu *v;
    uint32_t xport, aport, word;
    (void)state;

    pair_init(&p, 1, 0, 1);
    pv = vcpu(p.t, 1, 0);
    v = (struct vcpu *)(void *)pv;
    channel(&p, &xport, &aport);
    vinfo_clear_upcall(&p.x, 0);
    assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_block, NULL, 0), 0);
    assert_int_equal(pvcore_vcpu_blocked(pv), 1);
    word = atomic_load(&v->wait.word);
    assert_int_equal(word & WAIT_STATE_MASK, WAIT_BLOCKED);
    /* An older wait's word: nothing happens. */
    sched_wake(v, ((word & ~WAIT_STATE_MASK) - WAIT_GEN_ONE) | WAIT_BLOCKING);
    sched_wake(v, ((word & ~WAIT_STATE_MASK) - WAIT_GEN_ONE) | WAIT_BLOCKED);
    assert_int_equal(g.nev, 1);
    assert_int_equal(pvcore_vcpu_blocked(pv), 1);
    /* This wait, as seen while it was being entered: woken, once. */
    sched_wake(v, (word & ~WAIT_STATE_MASK) | WAIT_BLOCKING);
    assert_int_equal(g.nev, 2);
    assert_int_equal(g.ev[1], PVCORE_SCHED_WAKE);
    assert_int_equal(pvcore_vcpu_blocked(pv), 0);
    sched_wake(v, (word & ~WAIT_STATE_MASK) | WAIT_BLOCKING);
    assert_int_equal(g.nev, 2);
    pair_free(&p);
}

/* VIRQ_TIMER wakes a blocked vCPU: the way Linux idles. */
static void test_block_woken_by_timer(void **state)
{
    struct pair p;
    struct pvcore_vcpu *v;
    (void)state;

    pair_init(&p, 1, 1, 1);
    v = vcpu(p.t, 1, 0);
    (void)bind_virq_timer(&p.x, 0);
    assert_int_equal(set_timer(&p.x, 0, g.now + 1000), 0);
    assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_block, NULL, 0), 0);
    assert_int_equal(g.nev, 1);
    assert_int_equal(expire(v, g.now + 1000), 1);
    assert_int_equal(g.nev, 2);
    assert_int_equal(g.ev[1], PVCORE_SCHED_WAKE);
    pair_free(&p);
}

/* ---- poll ------------------------------------------------------------------------------------ */

static void test_poll_errors(void **state)
{
    static const int ds[] = { 1, 2 };
    unsigned i, k;
    (void)state;

    for (i = 0; i < 2; i++) {
        struct pair p;
        uint32_t xport, aport, ports[4];
        uint64_t pva = ARGP(1);

        pair_init(&p, ds[i], 1, 1);
        channel(&p, &xport, &aport);
        vinfo_clear_upcall(&p.x, 0);
        vinfo(&p.x, 0)[1] = 1; /* events masked, as a guest polls */
        /* The structure unreadable. */
        assert_int_equal(hc_v(&p.x, 0, PVCORE_HYPERVISOR_sched_op, PVCORE_SCHEDOP_poll, UNMAPPED, 0),
                         -PVCORE_EFAULT);
        /* More than 128 ports, huge counts. */
        assert_int_equal(poll_v(&p.x, 0, pva, NULL, 129, 0), -PVCORE_EINVAL);
        assert_int_equal(poll_v(&p.x, 0, pva, NULL, 0xFFFFFFFFu, 0), -PVCORE_EINVAL);
        assert_int_equal(poll_v(&p.x, 0, pva, NULL, 0x80000000u, 0), -PVCORE_EINVAL);
        /* The array outside guest space. */
        assert_int_equal(poll_v(&p.x, 0, ds[i] == 2 ? 0xFFFFFFFEu : 0xFFFF800000000000ull, NULL, 2, 0),
                         -PVCORE_EFAULT);
        assert_int_equal(poll_v(&p.x, 0, ds[i] == 2 ? 0xFFFFFFFFu : UINT64_MAX - 2, NULL, 1, 0),
                         -PVCORE_EFAULT);
        /* Mapped nowhere. */
        assert_int_equal(poll_v(&p.x, 0, UNMAPPED, NULL, 1, 0), -PVCORE_EFAULT);
        /* Every hostile port number: -EINVAL. */
        for (k = 0; k < sizeof(hostile_ports) / sizeof(hostile_ports[0]); k++) {
            uint32_t hp = hostile_ports[k];
            if (hp == 0) {
                continue; /* port 0 is in range (reserved, never pending) */
            }
            assert_int_equal(poll_v(&p.x, 0, pva, &hp, 1, 0), -PVCORE_EINVAL);
        }
        /* In order: a pending port before a bad one gives 0, after it -EINVAL. */
        e_si(&p.x)[2048 + xport / 8] |= (uint8_t)(1u << (xport % 8));
        ports[0] = xport;
        ports[1] = 0xFFFFFFFFu;
        assert_int_equal(poll_v(&p.x, 0, pva, ports, 2, 0), 0);
        ports[0] = 5000;
        ports[1] = xport;
        assert_int_equal(poll_v(&p.x, 0, pva, ports, 2, 0), -PVCORE_EINVAL);
        /* ... and an unreadable one: the array runs off the mapped pages. */
        gwrite32(&p.x.e, VA + NDATA * 4096u - 4u, xport);
        assert_int_equal(poll_v(&p.x, 0, VA + NDATA * 4096u - 4u, NULL, 2, 0), 0);
        clear_pending_bit(&p.x, xport); /* the first port readable, not pending */
        assert_int_equal(poll_v(&p.x, 0, VA + NDATA * 4096u - 4u, NULL, 2, 0), -PVCORE_EFAULT);
        /* Events to deliver: 0 at once, whatever the ports. */
        vinfo(&p.x, 0)[0] = 1;
        vinfo(&p.x, 0)[1] = 0;
        ports[0] = 0xFFFFFFFFu;
        assert_int_equal(poll_v(&p.x, 0, pva, ports, 1, 0), 0);
        assert_int_equal(poll_v(&p.x, 0, UNMAPPED, NULL, 1, 0), 0);
        assert_int_equal(g.nev, 0); /* never blocked */
        assert_int_equal(pvcore_vcpu_blocked(vcpu(p.t, ds[i], 0)), 0);
        pair_free(&p);
    }
}

static void test_poll_woken_by_send(void **state)
{
    static const int ds[] = { 1, 2 };
    unsigned i;
    (void)state;

    for (i = 0; i < 2; i++) {
        struct pair p;
        struct pvcore_vcpu *v;
        uint32_t x1, a1, x2, a2;

        pair_init(&p, ds[i], 1, 1);
        v = vcpu(p.t, ds[i], 0);
        channel(&p, &x1, &a1);
        channel(&p, &x2, &a2);
        mask_port(&p.x, x1);
        mask_port(&p.x, x2);
        vinfo_clear_upcall(&p.x, 0);
        vinfo(&p.x, 0)[1] = 1;
        /* Polls x1 only: BLOCK, not blocked on x2. */
        assert_int_equal(poll_v(&p.x, 0, ARGP(1), &x1, 1, 0), 0);
        assert_int_equal(g.nev, 1);
        assert_int_equal(g.ev[0], PVCORE_SCHED_BLOCK);
        assert_int_equal(vinfo(&p.x, 0)[1], 1); /* poll leaves the mask alone */
        assert_int_equal(e_port_op(&p.a, 0, PVCORE_EVTCHNOP_send, a2), 0);
        assert_int_equal(g.nev, 1);
        assert_int_equal(pvcore_vcpu_blocked(v), 1);
        assert_int_equal(e_port_op(&p.a, 0, PVCORE_EVTCHNOP_send, a1), 0);
        assert_int_equal(g.nev, 2);
        assert_int_equal(g.ev[1], PVCORE_SCHED_WAKE);
        assert_int_equal(pvcore_vcpu_blocked(v), 0);
        /* Already pending: returns at once. */
        assert_int_equal(poll_v(&p.x, 0, ARGP(1), &x2, 1, 0), 0);
        assert_int_equal(g.nev, 2);
        pair_free(&p);
    }
}

static void test_poll_timeout(void **state)
{
    static const int ds[] = { 1, 2 };
    unsigned i;
    (void)state;

    for (i = 0; i < 2; i++) {
        struct pair p;
        struct pvcore_vcpu *v;
        uint32_t x1, a1;

        pair_init(&p, ds[i], 1, 1);
        v = vcpu(p.t, ds[i], 0);
        channel(&p, &x1, &a1);
        mask_port(&p.x, x1);
        vinfo_clear_upcall(&p.x, 0);
        vinfo(&p.x, 0)[1] = 1;
        assert_int_equal(poll_v(&p.x, 0, ARGP(1), &x1, 1, g.now + 3000), 0);
        assert_int_equal(g.nev, 1);
        assert_int_equal(armed(v), g.now + 3000);
        assert_int_equal(expire(v, g.now + 2999), 0);
        assert_int_equal(g.nev, 1);
        assert_int_equal(expire(v, g.now + 3000), 1);
        assert_int_equal(g.nev, 2);
        assert_int_equal(g.ev[1], PVCORE_SCHED_WAKE);
        assert_int_equal(armed(v), 0);
        /* A timeout already past: the wait ends as soon as the timer is served. */
        assert_int_equal(poll_v(&p.x, 0, ARGP(1), &x1, 1, 1), 0);
        assert_int_equal(g.nev, 3);
        assert_int_equal(armed(v), 1);
        assert_int_equal(expire(v, g.now), 1);
        assert_int_equal(g.ev[3], PVCORE_SCHED_WAKE);
        /* Woken by the port first: the stale timeout ends nothing later. */
        assert_int_equal(poll_v(&p.x, 0, ARGP(1), &x1, 1, g.now + 500), 0);
        assert_int_equal(e_port_op(&p.a, 0, PVCORE_EVTCHNOP_send, a1), 0);
        assert_int_equal(g.nev, 6);
        clear_pending_bit(&p.x, x1);
        assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_yield, NULL, 0), 0);
        assert_int_equal(poll_v(&p.x, 0, ARGP(1), &x1, 1, 0), 0); /* a new wait, no timeout */
        assert_int_equal(g.nev, 8);
        (void)expire(v, g.now + 500);
        assert_int_equal(g.nev, 8);
        assert_int_equal(pvcore_vcpu_blocked(v), 1);
        /* Its port ends it. */
        assert_int_equal(e_port_op(&p.a, 0, PVCORE_EVTCHNOP_send, a1), 0);
        assert_int_equal(g.nev, 9);
        pair_free(&p);
    }
}

/* Inside a multicall: the BLOCK hook comes during it, the entries after still run. */
static void test_block_in_multicall(void **state)
{
    struct pair p;
    uint64_t mc[3][8];
    (void)state;

    pair_init(&p, 1, 0, 1);
    vinfo_clear_upcall(&p.x, 0);
    memset(mc, 0, sizeof(mc));
    mc[0][0] = PVCORE_HYPERVISOR_sched_op;
    mc[0][2] = PVCORE_SCHEDOP_block;
    mc[1][0] = PVCORE_HYPERVISOR_sched_op;
    mc[1][2] = PVCORE_SCHEDOP_block; /* a second: changes nothing */
    mc[2][0] = PVCORE_HYPERVISOR_xen_version;
    mc[2][1] = 0xAAAA;
    mc[2][2] = PVCORE_XENVER_pagesize;
    gwrite(&p.x.e, ARGP(0), mc, sizeof(mc));
    assert_int_equal(hc_v(&p.x, 0, PVCORE_HYPERVISOR_multicall, ARGP(0), 3, 0), 0);
    gread(&p.x.e, ARGP(0), mc, sizeof(mc));
    assert_int_equal(mc[0][1], 0);
    assert_int_equal(mc[1][1], 0);
    assert_int_equal(mc[2][1], 4096);
    assert_int_equal(g.nev, 1);
    assert_int_equal(g.ev[0], PVCORE_SCHED_BLOCK);
    assert_int_equal(pvcore_vcpu_blocked(vcpu(p.t, 1, 0)), 1);
    pair_free(&p);
}

/* ---- shutdown ------------------------------------------------------------------------------- */

static void test_shutdown(void **state)
{
    static const int ds[] = { 1, 2 };
    unsigned i;
    (void)state;

    for (i = 0; i < 2; i++) {
        struct pair p;
        struct pvcore_domain *d;
        uint32_t r;

        pair_init(&p, ds[i], 0, 1);
        d = p.t->dom[ds[i]];
        assert_int_equal(pvcore_domain_shutdown_reason(d), -PVCORE_ENOENT);
        assert_int_equal(hc_v(&p.x, 0, PVCORE_HYPERVISOR_sched_op, PVCORE_SCHEDOP_shutdown, UNMAPPED, 0),
                         -PVCORE_EFAULT);
        assert_int_equal(hc_v(&p.x, 0, PVCORE_HYPERVISOR_sched_op, PVCORE_SCHEDOP_shutdown_code,
                              UNMAPPED, 0),
                         -PVCORE_EFAULT);
        assert_int_equal(g.sd_calls, 0);
        /* shutdown_code first: its reason counts, not the shutdown's (8 bits of each). */
        r = 0x100u | PVCORE_SHUTDOWN_crash;
        assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_shutdown_code, &r, 4), 0);
        r = PVCORE_SHUTDOWN_reboot;
        assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_shutdown_code, &r, 4), 0); /* first wins */
        assert_int_equal(pvcore_domain_shutdown_reason(d), -PVCORE_ENOENT);
        assert_int_equal(g.sd_calls, 0);
        r = PVCORE_SHUTDOWN_poweroff;
        assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_shutdown, &r, 4), 0);
        assert_int_equal(g.sd_calls, 1);
        assert_ptr_equal(g.sd_dom, d);
        assert_int_equal(g.sd_reason, PVCORE_SHUTDOWN_crash);
        assert_int_equal(pvcore_domain_shutdown_reason(d), PVCORE_SHUTDOWN_crash);
        /* Again: nothing new. */
        assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_shutdown, &r, 4), 0);
        assert_int_equal(hc_v(&p.x, 1, PVCORE_HYPERVISOR_sched_op_compat, PVCORE_SCHEDOP_shutdown, 1, 0), 0);
        assert_int_equal(g.sd_calls, 1);
        /* Resumed: a new shutdown through the compat call, its argument by value (a
         * 32-bit guest's upper half ignored; 8 bits of the rest). */
        pvcore_domain_resume(d);
        assert_int_equal(pvcore_domain_shutdown_reason(d), -PVCORE_ENOENT);
        assert_int_equal(hc_v(&p.x, 0, PVCORE_HYPERVISOR_sched_op_compat, PVCORE_SCHEDOP_shutdown,
                              (ds[i] == 2 ? JUNK : 0) | 0x200u | PVCORE_SHUTDOWN_suspend, 0),
                         0);
        assert_int_equal(g.sd_calls, 2);
        assert_int_equal(g.sd_reason, PVCORE_SHUTDOWN_suspend);
        /* The embedder's own. */
        pvcore_domain_resume(d);
        assert_int_equal(pvcore_domain_shutdown(d, 256), -PVCORE_EINVAL);
        assert_int_equal(pvcore_domain_shutdown(NULL, 0), -PVCORE_EINVAL);
        assert_int_equal(pvcore_domain_shutdown(d, PVCORE_SHUTDOWN_watchdog), 0);
        assert_int_equal(g.sd_reason, PVCORE_SHUTDOWN_watchdog);
        assert_int_equal(g.sd_calls, 3);
        pair_free(&p);
    }
}

static void test_remote_shutdown(void **state)
{
    struct pair p;
    struct pvcore_sched_remote_shutdown rs;
    (void)state;

    pair_init(&p, 1, 0, 1);
    /* Unreadable. */
    assert_int_equal(hc_v(&p.x, 0, PVCORE_HYPERVISOR_sched_op, PVCORE_SCHEDOP_remote_shutdown,
                          UNMAPPED, 0),
                     -PVCORE_EFAULT);
    /* No such domain: before the permission (Xen's order). */
    memset(&rs, 0, sizeof(rs));
    rs.domain_id = 7;
    rs.reason = PVCORE_SHUTDOWN_poweroff;
    assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_remote_shutdown, &rs, sizeof(rs)), -PVCORE_ESRCH);
    rs.domain_id = PVCORE_DOMID_SELF;
    assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_remote_shutdown, &rs, sizeof(rs)), -PVCORE_ESRCH);
    rs.domain_id = 0xFFFF;
    assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_remote_shutdown, &rs, sizeof(rs)), -PVCORE_ESRCH);
    /* Unprivileged: -EPERM, even on itself. */
    rs.domain_id = 0;
    assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_remote_shutdown, &rs, sizeof(rs)), -PVCORE_EPERM);
    rs.domain_id = 1;
    assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_remote_shutdown, &rs, sizeof(rs)), -PVCORE_EPERM);
    assert_int_equal(g.sd_calls, 0);
    /* dom0 shuts dom1 down with a reason (8 bits of it). */
    rs.reason = 0x300u | PVCORE_SHUTDOWN_reboot;
    assert_int_equal(sched0(&p.a, PVCORE_SCHEDOP_remote_shutdown, &rs, sizeof(rs)), 0);
    assert_int_equal(g.sd_calls, 1);
    assert_ptr_equal(g.sd_dom, p.t->dom[1]);
    assert_int_equal(g.sd_reason, PVCORE_SHUTDOWN_reboot);
    assert_int_equal(pvcore_domain_shutdown_reason(p.t->dom[0]), -PVCORE_ENOENT);
    pair_free(&p);
}

static void test_watchdog_pin_unknown(void **state)
{
    static const int ds[] = { 1, 2 };
    unsigned i;
    (void)state;

    for (i = 0; i < 2; i++) {
        struct pair p;
        struct pvcore_sched_watchdog w = { 0, 30 };
        int32_t pcpu = 0;

        pair_init(&p, ds[i], 0, 1);
        assert_int_equal(hc_v(&p.x, 0, PVCORE_HYPERVISOR_sched_op, PVCORE_SCHEDOP_watchdog, UNMAPPED, 0),
                         -PVCORE_EFAULT);
        assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_watchdog, &w, sizeof(w)), -PVCORE_ENOSPC);
        w.id = 1;
        assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_watchdog, &w, sizeof(w)), -PVCORE_EINVAL);
        w.id = 0xFFFFFFFFu;
        w.timeout = 0;
        assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_watchdog, &w, sizeof(w)), -PVCORE_EINVAL);
        /* pin_override: the hardware domain's only, checked before the copy. */
        assert_int_equal(hc_v(&p.x, 0, PVCORE_HYPERVISOR_sched_op, PVCORE_SCHEDOP_pin_override, UNMAPPED, 0),
                         -PVCORE_EPERM);
        assert_int_equal(sched0(&p.x, PVCORE_SCHEDOP_pin_override, &pcpu, 4), -PVCORE_EPERM);
        assert_int_equal(hc_v(&p.a, 0, PVCORE_HYPERVISOR_sched_op, PVCORE_SCHEDOP_pin_override, UNMAPPED, 0),
                         -PVCORE_EFAULT);
        assert_int_equal(sched0(&p.a, PVCORE_SCHEDOP_pin_override, &pcpu, 4), -PVCORE_EINVAL);
        pcpu = -1;
        assert_int_equal(sched0(&p.a, PVCORE_SCHEDOP_pin_override, &pcpu, 4), -PVCORE_EINVAL);
        /* Unknown commands. */
        assert_int_equal(sched0(&p.x, 8, NULL, 0), -PVCORE_ENOSYS);
        assert_int_equal(sched0(&p.x, 0xFFFFFFFFu, NULL, 0), -PVCORE_ENOSYS);
        assert_int_equal(hc_v(&p.x, 0, PVCORE_HYPERVISOR_sched_op_compat, PVCORE_SCHEDOP_poll, 0, 0),
                         -PVCORE_ENOSYS);
        assert_int_equal(hc_v(&p.x, 0, PVCORE_HYPERVISOR_sched_op_compat, PVCORE_SCHEDOP_shutdown_code,
                              0, 0),
                         -PVCORE_ENOSYS);
        assert_int_equal(g.nev, 0);
        assert_int_equal(g.sd_calls, 0);
        pair_free(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_hooks),
        cmocka_unit_test(test_set_timer_op),
        cmocka_unit_test(test_set_timer_op_32_halves),
        cmocka_unit_test(test_vcpuop_timers),
        cmocka_unit_test(test_singleshot_layout),
        cmocka_unit_test(test_periodic_default),
        cmocka_unit_test(test_time_scale),
        cmocka_unit_test(test_time_info),
        cmocka_unit_test(test_time_info_registered),
        cmocka_unit_test(test_wallclock),
        cmocka_unit_test(test_yield),
        cmocka_unit_test(test_block_returns_at_once),
        cmocka_unit_test(test_block_woken_by_send),
        cmocka_unit_test(test_wake_seen_entering),
        cmocka_unit_test(test_block_woken_by_timer),
        cmocka_unit_test(test_poll_errors),
        cmocka_unit_test(test_poll_woken_by_send),
        cmocka_unit_test(test_poll_timeout),
        cmocka_unit_test(test_block_in_multicall),
        cmocka_unit_test(test_shutdown),
        cmocka_unit_test(test_remote_shutdown),
        cmocka_unit_test(test_watchdog_pin_unknown),
    };
    return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
