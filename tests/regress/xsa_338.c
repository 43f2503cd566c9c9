/* XSA-338: Xen's event-channel code assumes a port, once valid, stays valid for the life
 * of the domain, yet EVTCHNOP_reset (switching back from FIFO to 2-level) lowered the bound
 * that validity is checked against; a peer still holding a channel to a port above the new
 * bound then tripped a BUG_ON when it closed or sent, crashing the host.
 *
 * libpvcore's bound is the port table's size, fixed when the embedder gives the table
 * (a second table, smaller or not, is refused) and capped by the 2-level limit of the
 * guest's width. The attack: fill a 64-bit domain's table up to port 4095 with a channel
 * from a 32-bit peer on the very last port, reset, and have the peer close, send and rebind
 * across it; the same with the 32-bit domain's last port (1023), and its first invalid one
 * (1024) stays invalid with the same error before and after. */
#include "evtenv.h"

static void xsa_338_valid_stays_valid(void **state)
{
    struct pvtest *t = *state;
    struct edom d1, d2;
    struct pvcore_evtchn_reset rs = { SELF };
    struct pvcore_evtchn_status st;
    uint32_t p, top1 = 0, top2 = 0, q1 = 0, q2 = 0, got;
    void *again = aligned_alloc(8, pvcore_evtchn_table_size(64));

    edom_init(&d1, t, 1, 4096);
    edom_init(&d2, t, 2, 4096); /* capped: a 32-bit guest has 1024 ports */
    assert_int_equal(d1.nr_ports, 4096);
    assert_int_equal(d2.nr_ports, 1024);
    /* The embedder cannot shrink (or swap) a table under a live domain. */
    assert_int_equal(pvcore_domain_set_evtchn_table(t->dom[1], again, pvcore_evtchn_table_size(64)),
                     -PVCORE_EBUSY);
    assert_int_equal(pvcore_evtchn_nr_ports(t->dom[1]), 4096);
    free(again);

    /* Fill both tables; the last port of each is a channel from the other side. */
    while (e_bind_ipi(&d1, 0, &p) == 0 && p < 4094) {
    }
    while (e_bind_ipi(&d2, 0, &p) == 0 && p < 1022) {
    }
    assert_int_equal(e_alloc_unbound(&d1, 2, &top1), 0);
    assert_int_equal(top1, 4095);
    assert_int_equal(e_alloc_unbound(&d2, 1, &top2), 0);
    assert_int_equal(top2, 1023);
    assert_int_equal(e_port_op(&d2, 0, PVCORE_EVTCHNOP_close, 1), 0); /* a free port for binding */
    assert_int_equal(e_bind_inter(&d2, 1, top1, &q2), 0);
    assert_int_equal(e_port_op(&d1, 0, PVCORE_EVTCHNOP_close, 1), 0);
    assert_int_equal(e_bind_inter(&d1, 2, top2, &q1), 0);
    check_invariants(t);

    /* Both domains reset; every port that was valid still is, the bound unchanged. */
    assert_int_equal(evop0(&d1, PVCORE_EVTCHNOP_reset, &rs, sizeof(rs)), 0);
    assert_int_equal(evop0(&d2, PVCORE_EVTCHNOP_reset, &rs, sizeof(rs)), 0);
    assert_int_equal(pvcore_evtchn_nr_ports(t->dom[1]), 4096);
    assert_int_equal(pvcore_evtchn_nr_ports(t->dom[2]), 1024);
    assert_int_equal(e_status(&d1, SELF, 4095, &st), 0);
    assert_int_equal(st.status, PVCORE_EVTCHNSTAT_closed);
    assert_int_equal(e_status(&d2, SELF, 1023, &st), 0);
    assert_int_equal(st.status, PVCORE_EVTCHNSTAT_closed);
    /* The first invalid port is invalid with the same error for every op, before as after. */
    assert_int_equal(e_status(&d1, SELF, 4096, &st), -PVCORE_EINVAL);
    assert_int_equal(e_status(&d2, SELF, 1024, &st), -PVCORE_EINVAL);
    assert_int_equal(e_port_op(&d2, 0, PVCORE_EVTCHNOP_send, 1024), -PVCORE_EINVAL);
    assert_int_equal(e_port_op(&d2, 0, PVCORE_EVTCHNOP_close, 1024), -PVCORE_EINVAL);
    assert_int_equal(e_port_op(&d2, 0, PVCORE_EVTCHNOP_unmask, 1024), -PVCORE_EINVAL);
    assert_int_equal(e_bind_inter(&d1, 2, 1024, NULL), -PVCORE_EINVAL);

    /* The peers' ends were closed by their own reset; the top ports can be used again,
     * closed, sent on, with no crash and exact results. */
    while (e_bind_ipi(&d1, 1, &got) == 0 && got < 4094) {
    }
    assert_int_equal(e_alloc_unbound(&d1, 2, &top1), 0);
    assert_int_equal(top1, 4095);
    assert_int_equal(e_bind_inter(&d2, 1, 4095, &q2), 0);
    assert_int_equal(e_port_op(&d2, 1, PVCORE_EVTCHNOP_send, q2), 0);
    assert_int_equal(e_pending(&d1, 4095), 1);
    assert_int_equal(evop0(&d1, PVCORE_EVTCHNOP_reset, &rs, sizeof(rs)), 0);
    assert_int_equal(e_status(&d2, SELF, q2, &st), 0);
    assert_int_equal(st.status, PVCORE_EVTCHNSTAT_unbound);
    assert_int_equal(e_port_op(&d2, 1, PVCORE_EVTCHNOP_send, q2), 0);
    assert_int_equal(e_port_op(&d2, 1, PVCORE_EVTCHNOP_close, q2), 0);
    assert_int_equal(e_port_op(&d2, 1, PVCORE_EVTCHNOP_close, q2), -PVCORE_EINVAL);
    assert_int_equal(e_pending(&d1, 4095), 0);
    check_invariants(t);
    edom_free(&d1);
    edom_free(&d2);
}

REGRESS_MAIN("xsa_338", RTEST(xsa_338_valid_stays_valid))
