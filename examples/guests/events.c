/*
 * The example guests' event-channel step, run when the command line asks for it
 * (minihv.evtchn=serve:<domid>, connect:<domid> or timer; minihv.evtchn_abi=fifo for the
 * FIFO ABI). Written against the Xen PV ABI and libpvcore's guest-side dispatcher
 * (<pvcore/guest/evtchn.h>) only.
 *
 * - The dispatcher is set up on the 2-level ABI (every port masked first) or, asked for
 *   and offered, on the FIFO ABI (a control block and one event-array page of our own).
 * - The event callback is registered (callback_op); upcalls arrive through the entry stub
 *   GUEST_VEC_EVENT and guest_events_upcall(), which dispatches.
 * - VIRQ_TIMER is bound; the guest then waits with SCHEDOP_block (which enables events)
 *   and counts the timer events taken while blocked, one-shot (set_timer_op) and periodic.
 * - serve: allocates a port for the peer (alloc_unbound) and answers each of its events
 *   with one of its own. connect: finds that port by trying bind_interdomain on the peer's
 *   ports (only the one unbound for us can succeed), then sends ROUNDS pings, each after
 *   the answer to the one before. Both print the outcome; every wait is bounded.
 */
#include <stdbool.h>

#include <pvcore/abi/errno.h>
#include <pvcore/abi/event_channel.h>
#include <pvcore/abi/xen.h>
#include <pvcore/guest/evtchn.h>

#include "guest.h"
#include "layout.h"

#define ROUNDS 16u
#define NR_PORTS 64u
#define MAX_WAITS 20000u /* blocks before a wait gives up */
#define TICKS 3u          /* timer events to take while blocked */

static unsigned char dispatcher_mem[8192] __attribute__((aligned(8)));
static unsigned char fifo_control[GUEST_PAGE_SIZE] __attribute__((aligned(GUEST_PAGE_SIZE)));
static unsigned char fifo_array[GUEST_PAGE_SIZE] __attribute__((aligned(GUEST_PAGE_SIZE)));
static struct pvcore_guest_evtchn *disp;
static volatile uint8_t *vcpu0; /* vcpu_info of vCPU 0, in the shared-info page */
static unsigned int failures;

/* What the handlers count (they run in the upcall, the waits read them with events masked). */
static volatile unsigned int ticks, ticks_blocked, events_seen;
static volatile bool blocked;
static uint32_t channel;

static int64_t event_channel_op(void *ctx, uint32_t cmd, void *arg)
{
    (void)ctx;
    return hyp_event_channel_op(cmd, arg);
}

void guest_events_upcall(void)
{
    if (disp != NULL) {
        (void)pvcore_guest_evtchn_dispatch(disp, 0);
    }
}

static void on_timer(void *arg, uint32_t port, uint32_t vcpu)
{
    (void)arg;
    (void)port;
    (void)vcpu;
    ticks++;
    if (blocked) {
        ticks_blocked++;
    }
}

/* serve: every event from the peer is answered with one. */
static void on_ping(void *arg, uint32_t port, uint32_t vcpu)
{
    (void)arg;
    (void)vcpu;
    events_seen++;
    (void)pvcore_guest_evtchn_notify(disp, port);
}

/* connect: an answer. */
static void on_pong(void *arg, uint32_t port, uint32_t vcpu)
{
    (void)arg;
    (void)port;
    (void)vcpu;
    events_seen++;
}

static const struct pvcore_guest_evtchn_handler timer_handler = { on_timer, NULL };
static const struct pvcore_guest_evtchn_handler ping_handler = { on_ping, NULL };
static const struct pvcore_guest_evtchn_handler pong_handler = { on_pong, NULL };

static void check(const char *what, long rc)
{
    if (rc < 0) {
        guest_print("%s: error %ld: FAILED", what, rc);
        failures++;
    }
}

/*
 * Blocks until *counter reaches target: events masked while the counter is read (so an
 * event cannot slip in between the check and the block), then SCHEDOP_block, which
 * enables events and returns at once if one is pending; the upcall runs on the way back.
 */
static bool wait_for(volatile unsigned int *counter, unsigned int target, const char *what)
{
    unsigned int n;

    for (n = 0; n < MAX_WAITS; n++) {
        vcpu0[1] = 1; /* evtchn_upcall_mask */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (*counter >= target) {
            return true;
        }
        blocked = true;
        check("sched_op(block)", hyp_sched_op(PVCORE_SCHEDOP_block, NULL));
        blocked = false;
    }
    guest_print("%s: still waiting after %u blocks: FAILED", what, MAX_WAITS);
    failures++;
    return false;
}

/* System time (ns) as the hypervisor last published it in vcpu_info (version protocol);
 * blk.c uses it too. */
uint64_t guest_system_time(const volatile void *shared_info)
{
    const volatile uint8_t *t = (const volatile uint8_t *)shared_info + 32; /* vcpu_info[0].time */
    uint32_t v1, v2;
    uint64_t ns;

    do {
        v1 = *(const volatile uint32_t *)(const volatile void *)t;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        ns = *(const volatile uint64_t *)(const volatile void *)(t + 16);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        v2 = *(const volatile uint32_t *)(const volatile void *)t;
    } while ((v1 & 1u) != 0 || v1 != v2);
    return ns;
}

static bool setup(uint64_t (*mfn_of)(const void *va))
{
    struct pvcore_guest_evtchn_config cfg = { 0 };
    size_t need = pvcore_guest_evtchn_size(1, NR_PORTS);
    long rc;

    cfg.shared_info = (void *)(uintptr_t)(vcpu0);
    cfg.width = (uint32_t)(sizeof(unsigned long) * 8u);
    cfg.nr_vcpus = 1;
    cfg.nr_ports = NR_PORTS;
    cfg.event_channel_op = event_channel_op;
    if (need == 0 || need > sizeof(dispatcher_mem) ||
        pvcore_guest_evtchn_init(dispatcher_mem, sizeof(dispatcher_mem), &cfg, &disp) != 0) {
        guest_print("evtchn: dispatcher setup (%lu bytes): FAILED", (unsigned long)need);
        return false;
    }
    if (guest_option_is("minihv.evtchn_abi", "fifo")) {
        rc = pvcore_guest_evtchn_fifo_init_control(disp, 0, fifo_control, mfn_of(fifo_control), 0);
        if (rc == -PVCORE_ENOSYS) {
            guest_print("evtchn: FIFO ABI not offered, staying on 2-level");
        } else if (rc != 0 ||
                   (rc = pvcore_guest_evtchn_fifo_expand(disp, fifo_array, mfn_of(fifo_array))) != 0) {
            check("evtchn: FIFO setup", rc);
            return false;
        }
    }
    if (pvcore_guest_evtchn_mode(disp) == PVCORE_GUEST_EVTCHN_2L) {
        check("evtchn: mask every port", pvcore_guest_evtchn_mask_all(disp));
    }
    {
#if defined(__x86_64__)
        struct pvcore_callback_register_x86_64 cb = { PVCORE_CALLBACKTYPE_event, 0, 0,
                                                      guest_event_entry[0] };
#else
        struct pvcore_callback_register_x86_32 cb = { PVCORE_CALLBACKTYPE_event, 0,
                                                      { PVCORE_FLAT_KERNEL_CS_X86_32, guest_event_entry[0] } };
#endif
        rc = hyp_callback_op(PVCORE_CALLBACKOP_register, &cb);
        check("callback_op(register event callback)", rc);
        if (rc != 0) {
            return false;
        }
    }
    guest_print("evtchn: dispatcher on the %s ABI, %u ports, event callback registered",
                pvcore_guest_evtchn_mode(disp) == PVCORE_GUEST_EVTCHN_FIFO ? "FIFO" : "2-level",
                pvcore_guest_evtchn_nr_ports(disp));
    return true;
}

static void timer_step(void)
{
    uint32_t port;
    long rc;
    unsigned int before;

    rc = pvcore_guest_evtchn_bind_virq(disp, PVCORE_VIRQ_TIMER, 0, &timer_handler, &port);
    check("bind_virq(VIRQ_TIMER)", rc);
    if (rc != 0 || (rc = pvcore_guest_evtchn_unmask(disp, port)) != 0) {
        check("unmask(VIRQ_TIMER)", rc);
        return;
    }
    before = ticks_blocked;
    check("set_timer_op", hyp_set_timer_op(guest_system_time(vcpu0) + 2000000u));
    if (wait_for(&ticks_blocked, before + TICKS, "timer")) {
        guest_print("timer: VIRQ_TIMER on port %u, %u timer events taken while blocked: ok", port,
                    ticks_blocked - before);
    }
}

static void serve(unsigned int peer)
{
    long rc = pvcore_guest_evtchn_alloc_unbound(disp, (pvcore_domid_t)peer, &ping_handler, &channel);

    check("alloc_unbound", rc);
    if (rc != 0 || (rc = pvcore_guest_evtchn_unmask(disp, channel)) != 0) {
        check("unmask", rc);
        return;
    }
    guest_print("ping-pong: port %u unbound for d%u, answering %u pings", channel, peer, ROUNDS);
    if (wait_for(&events_seen, ROUNDS, "ping-pong")) {
        guest_print("ping-pong: %u pings from d%u answered: ok", events_seen, peer);
    }
}

static void connect(unsigned int peer)
{
    uint32_t remote = 0, i;
    unsigned int scan;
    long rc = -PVCORE_EINVAL;

    /* The peer's port for us is the only one of its ports bind_interdomain accepts. */
    for (scan = 0; scan < MAX_WAITS && rc != 0; scan++) {
        for (remote = 1; remote < NR_PORTS; remote++) {
            rc = pvcore_guest_evtchn_bind_interdomain(disp, (pvcore_domid_t)peer, remote,
                                                      &pong_handler, &channel);
            if (rc == 0) {
                break;
            }
        }
        if (rc != 0) {
            (void)hyp_sched_op(PVCORE_SCHEDOP_yield, NULL);
        }
    }
    if (rc != 0) {
        check("bind_interdomain (no port of the peer's accepted)", rc);
        return;
    }
    guest_print("ping-pong: port %u bound to d%u port %u", channel, peer, remote);
    /* A new interdomain port starts pending: take that event first. */
    check("unmask", pvcore_guest_evtchn_unmask(disp, channel));
    if (!wait_for(&events_seen, 1, "ping-pong (the bind's event)")) {
        return;
    }
    events_seen = 0;
    for (i = 1; i <= ROUNDS; i++) {
        check("send", pvcore_guest_evtchn_notify(disp, channel));
        if (!wait_for(&events_seen, i, "ping-pong")) {
            return;
        }
    }
    guest_print("ping-pong: %u rounds with d%u: ok", ROUNDS, peer);
}

unsigned int guest_events(const char *mode, volatile void *shared_info,
                          uint64_t (*mfn_of)(const void *va))
{
    unsigned long peer = 0;

    vcpu0 = shared_info;
    if (!setup(mfn_of)) {
        return failures + 1u;
    }
    if (guest_starts_with(mode, "serve:") || guest_starts_with(mode, "connect:")) {
        const char *d = mode + (mode[0] == 's' ? 6 : 8);

        while (*d >= '0' && *d <= '9') {
            peer = peer * 10u + (unsigned long)(*d++ - '0');
        }
    }
    timer_step();
    if (guest_starts_with(mode, "serve:")) {
        serve((unsigned int)peer);
    } else if (guest_starts_with(mode, "connect:")) {
        connect((unsigned int)peer);
    }
    vcpu0[1] = 1; /* events masked again for the rest of the program */
    return failures;
}
