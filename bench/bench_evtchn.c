/*
 * bench_evtchn: event channels, from EVTCHNOP_send in the hypervisor to the guest-side
 * dispatcher's handler, on the host backend.
 *
 *   scan  - the dispatcher's cost against the number of bound ports, with the number of
 *           pending events fixed (K per dispatch): 1 to 4,096 bound ports on the 2-level
 *           ABI, 1 to 131,071 (every port but the reserved 0) on the FIFO ABI. The events
 *           are sent through the library (EVTCHNOP_send on IPI ports spread over the
 *           bound range), then one dispatch consumes them; only the dispatch is timed.
 *           The curve must stay flat: the last line prints cost(max ports) / cost(K ports).
 *   2l/fifo - the same dispatch, 2-level against FIFO, at each size both have.
 *   xdom  - two threads as two domains, an interdomain channel between them: the sender
 *           issues EVTCHNOP_send, the receiver spins on its vcpu_info's upcall_pending and
 *           dispatches. Per event (one send, then wait for its handler) against batched
 *           (64 sends on 64 channels, one dispatch for all).
 * Every figure is the median of REPEATS runs; all ratios come from this one run.
 *
 * usage: bench_evtchn [--quick]
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pvcore/pvcore.h>
#include <pvcore/host_backend.h>
#include <pvcore/guest/evtchn.h>

#define P 0x1ull
#define RW 0x2ull
#define US 0x4ull
#define MBOX_VA 0x1000ull
#define NFRAMES 1024u
#define MAX_PORTS PVCORE_EVTCHN_FIFO_NR_CHANNELS
#define K 8u /* pending events per dispatch in the scan */

static unsigned repeats = 7;
static unsigned rounds = 2000;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what, long long rc)
{
    fprintf(stderr, "bench_evtchn: %s failed (%lld)\n", what, rc);
    exit(1);
}

/* ---- one guest domain on the host backend ------------------------------------------------- */

struct guest {
    struct pvcore_host_backend *hb;
    struct pvcore_domain *d;
    struct pvcore_vcpu *v;
    void *dmem, *table, *gmem;
    uint64_t next, mbox, shared, cb, page[128];
    struct pvcore_guest_evtchn *g;
};

static uint64_t give(struct guest *x)
{
    uint64_t mfn = x->next++;

    if (mfn >= NFRAMES || pvcore_domain_assign(x->d, pvcore_mfn(mfn), pvcore_gfn(mfn)) != 0) {
        die("assign", (long long)mfn);
    }
    memset(pvcore_host_backend_frame(x->hb, pvcore_mfn(mfn)), 0, 4096);
    return mfn;
}

static uint64_t *frame(struct guest *x, uint64_t mfn)
{
    return pvcore_host_backend_frame(x->hb, pvcore_mfn(mfn));
}

/* The guest's event_channel_op: the op in its mailbox page, the hypercall from its vCPU. */
static int64_t guest_evtchn_op(void *ctx, uint32_t cmd, void *arg)
{
    static const uint8_t size[14] = { 12, 12, 12, 4, 4, 24, 8, 8, 8, 4, 2, 24, 8, 8 };
    struct guest *x = ctx;
    struct pvcore_hypercall_regs r;
    size_t n = cmd < 14 ? size[cmd] : 0;

    memcpy(frame(x, x->mbox), arg, n);
    memset(&r, 0, sizeof(r));
    r.nr = PVCORE_HYPERVISOR_event_channel_op;
    r.arg[0] = cmd;
    r.arg[1] = MBOX_VA;
    if (pvcore_hypercall(x->v, &r) != PVCORE_HYPERCALL_DONE) {
        die("hypercall", (long long)cmd);
    }
    memcpy(arg, frame(x, x->mbox), n);
    return (int64_t)r.ret;
}

/* Domain `domid` of machine hb: a 64-bit guest with one vCPU, its mailbox mapped at
 * MBOX_VA, a shared-info page, a port table of nr_ports and a dispatcher; FIFO when
 * `fifo` (a control block and as many array pages as the ports need). */
static void guest_init(struct guest *x, struct pvcore_host_backend *hb, uint16_t domid,
                       uint64_t first_mfn, uint32_t nr_ports, int fifo)
{
    struct pvcore_domain_config cfg = { domid, 1, 0u, NFRAMES };
    struct pvcore_guest_evtchn_config gc;
    struct pvcore_mmuext_req op;
    size_t sz = pvcore_domain_size(1), tsz = pvcore_evtchn_table_size(nr_ports);
    uint64_t l4, l3, l2, l1;
    uint32_t i;
    int rc;

    memset(x, 0, sizeof(*x));
    x->hb = hb;
    x->next = first_mfn;
    x->dmem = aligned_alloc(64, (sz + 63) & ~(size_t)63);
    x->table = aligned_alloc(8, (tsz + 7) & ~(size_t)7);
    if (x->dmem == NULL || x->table == NULL ||
        pvcore_domain_create(pvcore_host_backend_machine(hb), x->dmem, sz, &cfg, &x->d) != 0) {
        die("domain", domid);
    }
    x->v = pvcore_domain_vcpu(x->d, 0);
    l4 = give(x);
    l3 = give(x);
    l2 = give(x);
    l1 = give(x);
    x->mbox = give(x);
    frame(x, l4)[0] = (l3 << 12) | P | RW | US;
    frame(x, l3)[0] = (l2 << 12) | P | RW | US;
    frame(x, l2)[0] = (l1 << 12) | P | RW | US;
    frame(x, l1)[MBOX_VA >> 12] = (x->mbox << 12) | P | RW | US;
    op = (struct pvcore_mmuext_req){ PVCORE_MMUEXT_NEW_BASEPTR, 0, l4, 0 };
    while ((rc = pvcore_mmuext_op(x->v, &op, 1, NULL, PVCORE_DOMID_SELF)) == -PVCORE_ERESTART) {
    }
    if (rc != 0) {
        die("baseptr", rc);
    }
    x->shared = give(x);
    if (pvcore_domain_set_shared_info(x->d, pvcore_mfn(x->shared)) != 0 ||
        pvcore_domain_set_evtchn_table(x->d, x->table, tsz) != 0) {
        die("evtchn setup", domid);
    }
    memset(&gc, 0, sizeof(gc));
    gc.shared_info = frame(x, x->shared);
    gc.width = 64;
    gc.nr_vcpus = 1;
    gc.nr_ports = nr_ports;
    gc.event_channel_op = guest_evtchn_op;
    gc.op_ctx = x;
    sz = pvcore_guest_evtchn_size(1, nr_ports);
    x->gmem = aligned_alloc(8, (sz + 7) & ~(size_t)7);
    if (x->gmem == NULL || (rc = pvcore_guest_evtchn_init(x->gmem, sz, &gc, &x->g)) != 0) {
        die("dispatcher", rc);
    }
    if (fifo) {
        x->cb = give(x);
        if ((rc = pvcore_guest_evtchn_fifo_init_control(x->g, 0, frame(x, x->cb), x->cb, 0)) != 0) {
            die("init_control", rc);
        }
        for (i = 0; i * 1024u < nr_ports; i++) {
            x->page[i] = give(x);
            if ((rc = pvcore_guest_evtchn_fifo_expand(x->g, frame(x, x->page[i]), x->page[i])) != 0) {
                die("expand", rc);
            }
        }
    }
    ((uint8_t *)frame(x, x->shared))[1] = 0; /* vCPU 0's events unmasked */
}

static void guest_free(struct guest *x)
{
    int rc;

    while ((rc = pvcore_domain_destroy(x->d)) == -PVCORE_ERESTART) {
    }
    free(x->gmem);
    free(x->table);
    free(x->dmem);
}

static atomic_ulong handled;

static void count(void *arg, uint32_t port, uint32_t vcpu)
{
    (void)arg;
    (void)port;
    (void)vcpu;
    atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed);
}

static const struct pvcore_guest_evtchn_handler counter = { count, NULL };

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof(*v), cmpd);
    return v[n / 2];
}

/* ---- the scan ------------------------------------------------------------------------------ */

/* ns per dispatch of K events with `bound` ports bound (IPIs, unmasked): the same K ports
 * whatever is bound (1 to K), or `spread` over the bound range (on the 2-level ABI that
 * puts them in K selector words instead of one). */
static double scan_cost(int fifo, uint32_t bound, int spread)
{
    struct pvcore_host_backend *hb;
    struct guest x;
    uint32_t i, port, sendp[K];
    double t[16];
    unsigned r, k;
    int rc;

    if (pvcore_host_backend_create(NFRAMES, 2, 0, 0, &hb) != 0) {
        die("backend", 0);
    }
    guest_init(&x, hb, 1, 1, bound + 1u, fifo);
    for (i = 0; i < bound; i++) {
        if ((rc = pvcore_guest_evtchn_bind_ipi(x.g, 0, &counter, &port)) != 0 ||
            (rc = pvcore_guest_evtchn_unmask(x.g, port)) != 0) {
            die("bind", rc);
        }
    }
    for (k = 0; k < K; k++) {
        sendp[k] = spread ? 1u + (uint32_t)(((uint64_t)bound * k) / K) : 1u + k % bound;
    }
    for (r = 0; r < repeats; r++) {
        double sum = 0;
        unsigned n;

        for (n = 0; n < rounds; n++) {
            double t0;
            unsigned long before = atomic_load(&handled);

            for (k = 0; k < K; k++) {
                struct pvcore_evtchn_send s = { sendp[k] };
                (void)guest_evtchn_op(&x, PVCORE_EVTCHNOP_send, &s);
            }
            t0 = now_ns();
            rc = pvcore_guest_evtchn_dispatch(x.g, 0);
            sum += now_ns() - t0;
            if (rc < 0 || atomic_load(&handled) - before != (bound < K ? 1u : K)) {
                die("dispatch count", rc);
            }
        }
        t[r] = sum / rounds;
    }
    guest_free(&x);
    pvcore_host_backend_destroy(hb);
    return median(t, repeats);
}

/* ---- across two threads ---------------------------------------------------------------------- */

#define XCHAN 64u

struct xdom {
    struct guest a, b;  /* a sends, b receives */
    uint32_t a_port[XCHAN];
    atomic_bool stop;
};

static void *receiver(void *arg)
{
    struct xdom *x = arg;
    _Atomic uint8_t *upcall = (_Atomic uint8_t *)(void *)frame(&x->b, x->b.shared);

    while (!atomic_load_explicit(&x->stop, memory_order_relaxed)) {
        if (atomic_load_explicit(upcall, memory_order_acquire) != 0) {
            (void)pvcore_guest_evtchn_dispatch(x->b.g, 0);
        }
    }
    return NULL;
}

/* ns per event: `batch` sends on distinct channels, then wait for their handlers. */
static double xdom_cost(struct xdom *x, unsigned batch)
{
    double t[16];
    unsigned r, n, k, iters = rounds * 4u / batch;

    for (r = 0; r < repeats; r++) {
        double t0 = now_ns();

        for (n = 0; n < iters; n++) {
            unsigned long want = atomic_load(&handled) + batch;

            for (k = 0; k < batch; k++) {
                struct pvcore_evtchn_send s = { x->a_port[k] };
                (void)guest_evtchn_op(&x->a, PVCORE_EVTCHNOP_send, &s);
            }
            {
                double t1 = now_ns();
                while (atomic_load_explicit(&handled, memory_order_relaxed) < want) {
                    if (now_ns() - t1 > 30e9) {
                        die("an event was lost (no handler within 30 s)", (long long)want);
                    }
                }
            }
        }
        t[r] = (now_ns() - t0) / ((double)iters * batch);
    }
    return median(t, repeats);
}

static void xdom_run(int fifo, double *per_event, double *batched)
{
    struct pvcore_host_backend *hb;
    struct xdom *x = calloc(1, sizeof(*x));
    pthread_t th;
    uint32_t k, bp;
    int rc;

    if (x == NULL || pvcore_host_backend_create(NFRAMES, 3, 0, 0, &hb) != 0) {
        die("backend", 0);
    }
    guest_init(&x->a, hb, 1, 1, 128, 0);
    guest_init(&x->b, hb, 2, 200, 128, fifo);
    for (k = 0; k < XCHAN; k++) {
        struct pvcore_evtchn_alloc_unbound au = { PVCORE_DOMID_SELF, 2, 0 };

        if ((rc = (int)guest_evtchn_op(&x->a, PVCORE_EVTCHNOP_alloc_unbound, &au)) != 0 ||
            (rc = pvcore_guest_evtchn_bind_interdomain(x->b.g, 1, au.port, &counter, &bp)) != 0 ||
            (rc = pvcore_guest_evtchn_unmask(x->b.g, bp)) != 0) {
            die("channel", rc);
        }
        x->a_port[k] = au.port;
    }
    (void)pvcore_guest_evtchn_dispatch(x->b.g, 0); /* the new ends start pending */
    atomic_init(&x->stop, false);
    if (pthread_create(&th, NULL, receiver, x) != 0) {
        die("thread", 0);
    }
    *per_event = xdom_cost(x, 1);
    *batched = xdom_cost(x, XCHAN);
    atomic_store(&x->stop, true);
    pthread_join(th, NULL);
    guest_free(&x->b);
    guest_free(&x->a);
    pvcore_host_backend_destroy(hb);
    free(x);
}

int main(int argc, char **argv)
{
    static const uint32_t sizes[] = { 8, 64, 512, 4095, 32768, 131071 };
    double c2[8] = { 0 }, cf[8] = { 0 }, s2[8] = { 0 }, sf[8] = { 0 };
    double pe2, b2, pef, bf;
    unsigned i, n = sizeof(sizes) / sizeof(sizes[0]), last2 = 3;

    if (argc > 1 && strcmp(argv[1], "--quick") == 0) {
        repeats = 3;
        rounds = 200;
    }
    printf("bench_evtchn: one dispatch of %u pending events (IPIs sent through the library), ns, median of %u x %u\n",
           K, repeats, rounds);
    printf("  same: the same %u ports pending whatever is bound; spread: pending ports spread over the bound range\n", K);
    printf("%12s %12s %12s %12s %12s %10s\n", "bound ports", "2-level", "FIFO", "2-l spread", "FIFO spread",
           "2l/fifo");
    for (i = 0; i < n; i++) {
        cf[i] = scan_cost(1, sizes[i], 0);
        sf[i] = scan_cost(1, sizes[i], 1);
        if (i <= last2) {
            c2[i] = scan_cost(0, sizes[i], 0);
            s2[i] = scan_cost(0, sizes[i], 1);
            printf("%12u %12.1f %12.1f %12.1f %12.1f %10.2f\n", sizes[i], c2[i], cf[i], s2[i], sf[i],
                   c2[i] / cf[i]);
        } else {
            printf("%12u %12s %12.1f %12s %12.1f %10s\n", sizes[i], "-", cf[i], "-", sf[i], "-");
        }
    }
    printf("flatness, cost at the most bound ports / cost at %u bound, the same %u pending (1.00 = flat):\n",
           sizes[0], K);
    printf("  2-level %u ports: %.2f   FIFO %u ports: %.2f\n", sizes[last2], c2[last2] / c2[0], sizes[n - 1],
           cf[n - 1] / cf[0]);
    printf("  spread pending, 2-level %u ports: %.2f (K selector words instead of one)   FIFO %u ports: %.2f\n",
           sizes[last2], s2[last2] / c2[0], sizes[n - 1], sf[n - 1] / cf[0]);

    xdom_run(0, &pe2, &b2);
    xdom_run(1, &pef, &bf);
    printf("send -> dispatch across two threads (two domains, interdomain channels), ns per event:\n");
    printf("%10s %12s %12s %16s\n", "ABI", "per event", "batched 64", "batched speedup");
    printf("%10s %12.1f %12.1f %16.2f\n", "2-level", pe2, b2, pe2 / b2);
    printf("%10s %12.1f %12.1f %16.2f\n", "FIFO", pef, bf, pef / bf);
    printf("2-level / FIFO: per event %.2f, batched %.2f\n", pe2 / pef, b2 / bf);
    return 0;
}
