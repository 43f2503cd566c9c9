/* XSA-358: with the FIFO ABI, EVTCHNOP_init_control published a vCPU's control-block
 * pointer before the queue heads it guards were set up (and set_pending read them without
 * the matching ordering), so an event sent while a guest registered its control block
 * could follow uninitialised queue state. (XSA-107, the older cousin: set_pending on a port
 * bound or moved to a vCPU whose FIFO control block was never registered dereferenced it.)
 *
 * libpvcore does not implement the FIFO ABI yet: init_control, expand_array and
 * set_priority are refused with -ENOSYS, and a guest stays on the 2-level ABI. What this
 * test pins down is that refusal, with hostile arguments (another domain's frame, a
 * misaligned or page-crossing offset, vCPUs out of range, an argument that is not mapped),
 * issued while events are being sent from the peer, and that it leaves the 2-level state
 * exactly as it was (every port's status, the pending and mask bitmaps and every vcpu_info
 * byte, every frame) and delivery working on every vCPU, those without a control block
 * too. When FIFO lands, this file must grow the real XSA-358 attack (init_control racing
 * sends from the peer; the queue heads read only after the published pointer). */
#include "evtenv.h"

static void xsa_358_fifo_refused(void **state)
{
    struct pvtest *t = *state;
    struct edom d1, d2;
    struct esnap *before1, *before2;
    struct pvcore_frame_info *frames;
    uint32_t p, q, ipi, i, v;
    uint64_t foreign;

    edom_init(&d1, t, 1, 4096);
    edom_init(&d2, t, 2, 1024);
    foreign = alloc_frame(t, 2);
    assert_int_equal(e_alloc_unbound(&d1, 2, &p), 0);
    assert_int_equal(e_bind_inter(&d2, 1, p, &q), 0);
    assert_int_equal(e_bind_ipi(&d1, 3, &ipi), 0);
    /* Some state in the bitmaps: p pending (sent by the peer), ipi masked by the guest. */
    assert_int_equal(e_port_op(&d2, 0, PVCORE_EVTCHNOP_send, q), 0);
    e_si(&d1)[2048 + 512 + ipi / 8] |= (uint8_t)(1u << (ipi % 8));
    check_invariants(t);

    before1 = esnapshot(&d1);
    before2 = esnapshot(&d2);
    frames = snapshot(t);
    {
        const struct {
            uint64_t gfn;
            uint32_t offset, vcpu;
        } bad[] = {
            { d1.e.data[0], 0, 0 },      /* a well-formed request: still not served */
            { foreign, 0, 0 },           /* another domain's frame */
            { d1.e.data[0], 4, 0 },      /* misaligned */
            { d1.e.data[0], 4092, 1 },   /* crossing the end of the page */
            { d1.e.data[0], 0, 4 },      /* no such vCPU */
            { d1.e.data[0], 0, 0xFFFFFFFFu },
            { d1.shared, 0, 3 },         /* the shared-info page itself */
            { ~0ull, 0xFFFFFFF8u, 0 },
        };
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            struct pvcore_evtchn_init_control ic;
            memset(&ic, 0, sizeof(ic));
            ic.control_gfn = bad[i].gfn;
            ic.offset = bad[i].offset;
            ic.vcpu = bad[i].vcpu;
            ic.link_bits = 0xAB;
            for (v = 0; v < 4; v++) {
                assert_int_equal(evop_v(&d1, v, PVCORE_EVTCHNOP_init_control, &ic, sizeof(ic), 0),
                                 -PVCORE_ENOSYS);
                assert_int_equal(ic.link_bits, 0xAB); /* nothing written back */
            }
        }
    }
    {
        struct pvcore_evtchn_expand_array ea = { d1.e.data[1] };
        struct pvcore_evtchn_set_priority sp = { p, 0 };
        assert_int_equal(evop0(&d1, PVCORE_EVTCHNOP_expand_array, &ea, sizeof(ea)), -PVCORE_ENOSYS);
        ea.array_gfn = foreign;
        assert_int_equal(evop0(&d1, PVCORE_EVTCHNOP_expand_array, &ea, sizeof(ea)), -PVCORE_ENOSYS);
        for (i = 0; i < sizeof(hostile_ports) / sizeof(hostile_ports[0]); i++) {
            sp.port = hostile_ports[i];
            sp.priority = 16; /* past the lowest priority (15) */
            assert_int_equal(evop0(&d1, PVCORE_EVTCHNOP_set_priority, &sp, sizeof(sp)), -PVCORE_ENOSYS);
        }
        /* An argument that is not mapped: the command is refused before it is read. */
        assert_int_equal(evop0(&d1, PVCORE_EVTCHNOP_init_control, NULL, 0), -PVCORE_ENOSYS);
        assert_int_equal(evop0(&d2, PVCORE_EVTCHNOP_init_control, NULL, 0), -PVCORE_ENOSYS);
        assert_int_equal(evop0(&d2, PVCORE_EVTCHNOP_expand_array, NULL, 0), -PVCORE_ENOSYS);
    }
    /* Exactly as before, both sides, every frame. */
    assert_same_ports(&d1, before1);
    assert_same_ports(&d2, before2);
    assert_same_state(t, frames);
    free(before1);
    free(before2);
    free(frames);
    check_invariants(t);

    /* Still 2-level, delivery intact: an IPI moved to vCPUs with no control block. */
    e_si(&d1)[2048 + 512 + ipi / 8] &= (uint8_t)~(1u << (ipi % 8));
    for (v = 0; v < 4; v++) {
        struct pvcore_evtchn_bind_vcpu bv = { p, v };
        uint8_t *vi = e_si(&d1) + 64u * v;
        assert_int_equal(evop0(&d1, PVCORE_EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), 0);
        e_si(&d1)[2048 + p / 8] &= (uint8_t)~(1u << (p % 8));
        memset(vi, 0, 16);
        assert_int_equal(e_port_op(&d2, 0, PVCORE_EVTCHNOP_send, q), 0);
        assert_int_equal(e_pending(&d1, p), 1);
        assert_int_equal(vi[0], 1);            /* upcall pending on vCPU v */
        assert_int_equal(vi[8 + p / 64 / 8] >> (p / 64 % 8) & 1, 1); /* its selector bit */
    }
    check_invariants(t);
    edom_free(&d1);
    edom_free(&d2);
}

REGRESS_MAIN("xsa_358", RTEST(xsa_358_fifo_refused))
