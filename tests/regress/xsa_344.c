/* XSA-344: closing every event channel of a domain (EVTCHNOP_reset by the guest itself, or
 * the cleanup when it is destroyed) ran to completion with no preemption check: a guest
 * with thousands of ports made one CPU spin for a long time, and the reset (which a guest
 * can re-issue, or drive through Xen's internal reset_cont number) raced the sends and
 * binds of its peers while it held no lock.
 *
 * Here: a 64-bit domain fills its whole 2-level table (4095 ports, interdomain to a peer,
 * IPIs and VIRQs); with the host asking for preemption at every check, one reset call
 * closes only a bounded share and asks to be re-executed; between the continuations the
 * peer sends on every channel (to ends closed and not yet closed) and the guest calls
 * reset_cont (14) itself; each step leaves the invariants intact; in the end every port is
 * closed, every peer end unbound, and a reset of another domain is refused. Destruction
 * with a full table is preemptible the same way. */
#include "evtenv.h"

#define EVTCHNOP_reset_cont 14u

/* d1 full: channels to d2 on the first `nchan` ports, then IPIs; returns d2's ends. */
static void fill(struct edom *d1, struct edom *d2, uint32_t nchan, uint32_t *peer_end)
{
    uint32_t i, p, q;

    for (i = 0; i < nchan; i++) {
        assert_int_equal(e_alloc_unbound(d1, 2, &p), 0);
        assert_int_equal(p, i + 1);
        assert_int_equal(e_bind_inter(d2, 1, p, &q), 0);
        peer_end[i] = q;
    }
    {
        struct pvcore_evtchn_bind_virq b = { PVCORE_VIRQ_TIMER, 3, 0 };
        assert_int_equal(evop0(d1, PVCORE_EVTCHNOP_bind_virq, &b, sizeof(b)), 0);
    }
    while (e_bind_ipi(d1, 1, &p) == 0) {
    }
    assert_int_equal(e_bind_ipi(d1, 1, NULL), -PVCORE_ENOSPC);
}

static void xsa_344_reset_preemptible(void **state)
{
    struct pvtest *t = *state;
    struct edom d1, d2;
    uint32_t peer_end[500], i, p, restarts = 0, open;
    struct pvcore_evtchn_reset rs = { SELF };
    int64_t rc;

    edom_init(&d1, t, 1, 4096);
    edom_init(&d2, t, 2, 1024);
    assert_int_equal(d1.nr_ports, 4096);
    fill(&d1, &d2, 500, peer_end);
    check_invariants(t);

    /* Another domain's ports: refused before any work, nothing closed. */
    {
        struct pvcore_evtchn_reset other = { 1 };
        struct esnap *before = esnapshot(&d1);
        assert_int_equal(evop0(&d2, PVCORE_EVTCHNOP_reset, &other, sizeof(other)), -PVCORE_EPERM);
        assert_int_equal(evop0(&d2, EVTCHNOP_reset_cont, &other, sizeof(other)), -PVCORE_EPERM);
        other.dom = 7; /* no such domain */
        assert_int_equal(evop0(&d2, PVCORE_EVTCHNOP_reset, &other, sizeof(other)), -PVCORE_ESRCH);
        assert_same_ports(&d1, before);
        free(before);
    }

    pvcore_host_backend_set_preempt(t->hb, 1);
    assert_int_equal(evop_v(&d1, 0, PVCORE_EVTCHNOP_reset, &rs, sizeof(rs), 1), -PVCORE_ERESTART);
    /* Bounded work per call: most of the table is still open. */
    for (p = 1, open = 0; p < d1.nr_ports; p++) {
        open += e_state(&d1, p) != PVCORE_EVTCHNSTAT_closed;
    }
    assert_true(open > 4000 && open < 4095);
    do {
        /* Between continuations: the peer sends on every channel. A closed end's peer is
         * unbound (dropped, 0); an open one is delivered. */
        for (i = 0; i < 500; i++) {
            assert_int_equal(e_port_op(&d2, 1, PVCORE_EVTCHNOP_send, peer_end[i]), 0);
            assert_int_equal(e_pending(&d1, i + 1),
                             e_state(&d1, i + 1) == PVCORE_EVTCHNSTAT_interdomain);
        }
        check_invariants(t);
        assert_true(++restarts < 1000);
        /* ... and the guest itself drives Xen's internal continuation number. */
        rc = evop_v(&d1, restarts % 4u, restarts % 2u ? EVTCHNOP_reset_cont : PVCORE_EVTCHNOP_reset,
                    &rs, sizeof(rs), 1);
    } while (rc == -PVCORE_ERESTART);
    pvcore_host_backend_set_preempt(t->hb, 0);
    assert_int_equal(rc, 0);
    assert_true(restarts > 10);
    for (p = 0; p < d1.nr_ports; p++) {
        assert_int_equal(e_state(&d1, p), PVCORE_EVTCHNSTAT_closed);
        assert_int_equal(e_pending(&d1, p), 0);
    }
    for (i = 0; i < 500; i++) {
        struct pvcore_evtchn_status st;
        assert_int_equal(e_status(&d2, SELF, peer_end[i], &st), 0);
        assert_int_equal(st.status, PVCORE_EVTCHNSTAT_unbound);
        assert_int_equal(st.u.unbound.dom, 1);
    }
    assert_int_equal(pvcore_evtchn_raise_virq(pvcore_domain_vcpu(t->dom[1], 3), PVCORE_VIRQ_TIMER),
                     -PVCORE_ENOENT);
    /* The whole table can be used again. */
    for (p = 1; p < d1.nr_ports; p++) {
        uint32_t got;
        assert_int_equal(e_bind_ipi(&d1, 0, &got), 0);
        assert_int_equal(got, p);
    }
    check_invariants(t);
    edom_free(&d1);
    edom_free(&d2);
}

static void xsa_344_destroy_preemptible(void **state)
{
    struct pvtest *t = *state;
    struct edom d1, d2;
    uint32_t peer_end[200], i, restarts = 0;
    int rc;

    edom_init(&d1, t, 1, 4096);
    edom_init(&d2, t, 2, 1024);
    fill(&d1, &d2, 200, peer_end);
    pvcore_host_backend_set_preempt(t->hb, 1);
    while ((rc = pvcore_domain_destroy(t->dom[1])) == -PVCORE_ERESTART) {
        /* the peer goes on sending to the dying domain between the steps */
        for (i = 0; i < 200; i++) {
            assert_int_equal(e_port_op(&d2, 0, PVCORE_EVTCHNOP_send, peer_end[i]), 0);
        }
        check_invariants(t);
        assert_true(++restarts < 100000);
    }
    pvcore_host_backend_set_preempt(t->hb, 0);
    assert_int_equal(rc, 0);
    assert_true(restarts > 10);
    for (i = 0; i < 200; i++) {
        struct pvcore_evtchn_status st;
        assert_int_equal(e_status(&d2, SELF, peer_end[i], &st), 0);
        assert_int_equal(st.status, PVCORE_EVTCHNSTAT_unbound);
        assert_int_equal(e_port_op(&d2, 0, PVCORE_EVTCHNOP_send, peer_end[i]), 0);
    }
    assert_int_equal(e_bind_inter(&d2, 1, 1, NULL), -PVCORE_ESRCH);
    check_invariants(t);
    edom_free(&d1);
    edom_free(&d2);
}

REGRESS_MAIN("xsa_344", RTEST(xsa_344_reset_preemptible), RTEST(xsa_344_destroy_preemptible))
