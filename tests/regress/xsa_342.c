/* XSA-342: out of bounds event channels available to 32-bit x86 domains. Xen sized a
 * 32-bit guest's 2-level ports by the hypervisor's word (4096) instead of the guest's
 * (32 x 32 = 1024), so such a guest could allocate ports whose pending and mask bits lie
 * past the bitmaps of its shared-info page: the hypervisor set bits in whatever followed
 * them (the wallclock, the arch area) and the guest could never see or mask those events.
 *
 * Here a 32-bit domain gets a port table of 4096 entries: on the 2-level ABI it may use
 * exactly 1024 ports; allocation stops with -ENOSPC at port 1023, and ports 1024 and up
 * are out of range for every operation, which leaves the shared-info page (wallclock
 * and arch fields included) byte for byte as it was. After switching to FIFO, whose event
 * words it supplies itself, the same table gives it all 4096. A 64-bit domain gets 4096
 * on 2-level. */
#include "evtenv.h"

static void xsa_342_32bit_limit(void **state)
{
    struct pvtest *t = *state;
    struct edom x, y;
    struct esnap *before;
    uint32_t p = 0, i;
    uint8_t tail[4096 - 2304];

    edom_init(&x, t, 2, 4096);
    edom_init(&y, t, 1, 4096);
    assert_int_equal(x.nr_ports, 1024);
    assert_int_equal(y.nr_ports, 4096);
    for (i = 1; i < 1024; i++) {
        assert_int_equal(e_bind_ipi(&x, 0, &p), 0);
    }
    assert_int_equal(p, 1023);
    assert_int_equal(e_bind_ipi(&x, 0, &p), -PVCORE_ENOSPC);
    assert_int_equal(e_alloc_unbound(&x, 1, &p), -PVCORE_ENOSPC);
    /* every port sent once: the 1024 pending bits are the bitmap's, nothing beyond */
    for (i = 1; i < 1024; i++) {
        assert_int_equal(e_port_op(&x, 0, PVCORE_EVTCHNOP_send, i), 0);
    }
    memcpy(tail, e_si(&x) + 2304, sizeof(tail)); /* after both bitmaps (2048 + 2 x 128) */
    for (i = 0; i < sizeof(tail); i++) {
        assert_int_equal(tail[i], 0);
    }
    before = esnapshot(&x);
    {
        static const uint32_t past[] = { 1024, 1025, 2047, 4095, 4096, 0xFFFFFFFFu };
        for (i = 0; i < sizeof(past) / sizeof(past[0]); i++) {
            struct pvcore_evtchn_status st;
            struct pvcore_evtchn_bind_vcpu bv = { past[i], 0 };

            assert_int_equal(e_port_op(&x, 0, PVCORE_EVTCHNOP_send, past[i]), -PVCORE_EINVAL);
            assert_int_equal(e_port_op(&x, 0, PVCORE_EVTCHNOP_close, past[i]), -PVCORE_EINVAL);
            assert_int_equal(e_port_op(&x, 0, PVCORE_EVTCHNOP_unmask, past[i]), -PVCORE_EINVAL);
            assert_int_equal(e_status(&x, SELF, past[i], &st), -PVCORE_EINVAL);
            assert_int_equal(evop0(&x, PVCORE_EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), -PVCORE_EINVAL);
            /* the peer cannot reach them either */
            assert_int_equal(e_bind_inter(&y, 2, past[i], NULL), -PVCORE_EINVAL);
        }
    }
    assert_same_ports(&x, before);
    free(before);
    /* With FIFO the guest supplies the words: the whole table is usable. */
    {
        struct pvcore_evtchn_init_control ic;
        uint64_t gfn;
        memset(&ic, 0, sizeof(ic));
        ic.control_gfn = alloc_frame(t, 2);
        assert_int_equal(evop0(&x, PVCORE_EVTCHNOP_init_control, &ic, sizeof(ic)), 0);
        for (i = 0; i < 4; i++) {
            gfn = alloc_frame(t, 2);
            assert_int_equal(evop0(&x, PVCORE_EVTCHNOP_expand_array, &gfn, sizeof(gfn)), 0);
        }
    }
    assert_int_equal(pvcore_evtchn_nr_ports(t->dom[2]), 4096);
    assert_int_equal(e_bind_ipi(&x, 1, &p), 0);
    assert_int_equal(p, 1024);
    assert_int_equal(e_port_op(&x, 0, PVCORE_EVTCHNOP_send, 1024), 0);
    check_invariants(t);
    edom_free(&x);
    edom_free(&y);
}

REGRESS_MAIN("xsa_342", RTEST(xsa_342_32bit_limit))
