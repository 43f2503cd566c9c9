/* XSA-358: with the FIFO ABI, EVTCHNOP_init_control published a vCPU's control-block
 * pointer before the queue heads it guards were set up (and set_pending read them without
 * the matching ordering), so an event sent while a guest registered its control block
 * could follow uninitialised queue state. XSA-107, the older cousin: set_pending on a port
 * bound or moved to a vCPU whose FIFO control block was never registered dereferenced it.
 *
 * In libpvcore a vCPU's control block, its queue tails and the event array change only
 * under the domain's event-channel lock, which every delivery holds, so a delivery sees a
 * vCPU either without a block (the port is left pending, unlinked: XSA-107's case) or
 * with all of it. Here:
 * - single-threaded, every interleaving that matters: events sent to each vCPU before its
 *   block exists, while refused registrations (hostile arguments, on every vCPU) leave no
 *   trace, and after; the heads written only once a block is there;
 * - threaded (run under ThreadSanitizer in CI): a peer sends without pause while the guest
 *   registers blocks, grows its event array, moves the channel between vCPUs and resets
 *   back to 2-level, round after round; every send succeeds, and every frame the FIFO ABI
 *   held is let go at the end. */
#include "evtenv.h"

#include <pthread.h>
#include <stdatomic.h>

#define EW_P (1u << PVCORE_EVTCHN_FIFO_PENDING)
#define EW_L (1u << PVCORE_EVTCHN_FIFO_LINKED)

static int64_t init_control(struct edom *x, uint32_t v, uint64_t gfn, uint32_t off, uint32_t vcpu)
{
    struct pvcore_evtchn_init_control ic;

    memset(&ic, 0, sizeof(ic));
    ic.control_gfn = gfn;
    ic.offset = off;
    ic.vcpu = vcpu;
    ic.link_bits = 0xAB;
    {
        int64_t rc = evop_v(x, v, PVCORE_EVTCHNOP_init_control, &ic, sizeof(ic), 0);

        /* written back on success only */
        assert_int_equal(ic.link_bits, rc == 0 ? PVCORE_EVTCHN_FIFO_LINK_BITS : 0xAB);
        return rc;
    }
}

static int64_t expand(struct edom *x, uint32_t v, uint64_t gfn)
{
    return evop_v(x, v, PVCORE_EVTCHNOP_expand_array, &gfn, sizeof(gfn), 0);
}

static uint32_t word_of(struct pvtest *t, uint64_t page, uint32_t port)
{
    return atomic_load((_Atomic uint32_t *)(void *)((uint8_t *)frame_ptr(t, page) + 4u * port));
}

static uint32_t head_of(struct pvtest *t, uint64_t cb, uint32_t off, uint32_t q)
{
    return *(uint32_t *)(void *)((uint8_t *)frame_ptr(t, cb) + off + 8u + 4u * q);
}

static void xsa_358_block_ordering(void **state)
{
    struct pvtest *t = *state;
    struct edom d1, d2;
    uint64_t cb, page, foreign;
    uint32_t p, q, v, i;
    struct pvcore_frame_info *frames;

    edom_init(&d1, t, 1, 4096);
    edom_init(&d2, t, 2, 1024);
    cb = alloc_frame(t, 1);
    page = alloc_frame(t, 1);
    foreign = alloc_frame(t, 2);
    assert_int_equal(e_alloc_unbound(&d1, 2, &p), 0);
    assert_int_equal(e_bind_inter(&d2, 1, p, &q), 0);

    /* vCPU 2 registers first; the channel notifies vCPU 0, which has no block (XSA-107) */
    assert_int_equal(init_control(&d1, 2, cb, 256, 2), 0);
    assert_int_equal(expand(&d1, 2, page), 0);
    assert_int_equal(word_of(t, page, p), 0);
    assert_int_equal(e_port_op(&d2, 0, PVCORE_EVTCHNOP_send, q), 0);
    /* pending, never linked: vCPU 0 has nowhere to queue it */
    assert_int_equal(word_of(t, page, p), EW_P);
    for (i = 0; i < 16; i++) {
        assert_int_equal(head_of(t, cb, 0, i), 0);
        assert_int_equal(head_of(t, cb, 256, i), 0);
    }
    /* refused registrations for vCPUs 0, 1 and 3, from every vCPU: no trace left */
    frames = snapshot(t);
    for (v = 0; v < 4; v++) {
        const struct {
            uint64_t gfn;
            uint32_t offset, vcpu;
            int64_t rc;
        } bad[] = {
            { foreign, 0, 0, -PVCORE_EINVAL },        /* another domain's frame */
            { cb, 4, 0, -PVCORE_EINVAL },             /* misaligned */
            { cb, 4096 - 64, 1, -PVCORE_EINVAL },     /* crossing the end of the page */
            { cb, 0, 4, -PVCORE_ENOENT },             /* no such vCPU */
            { cb, 0, 0xFFFFFFFFu, -PVCORE_ENOENT },
            { d1.e.root, 0, 3, -PVCORE_EINVAL },      /* a page table */
            { ~0ull, 0xFFFFFFF8u, 0, -PVCORE_EINVAL },
            { cb, 256, 2, -PVCORE_EINVAL },           /* vCPU 2 again */
        };
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            assert_int_equal(init_control(&d1, v, bad[i].gfn, bad[i].offset, bad[i].vcpu), bad[i].rc);
        }
        assert_int_equal(e_port_op(&d2, 0, PVCORE_EVTCHNOP_send, q), 0);
    }
    assert_same_state(t, frames);
    free(frames);
    assert_int_equal(word_of(t, page, p), EW_P);
    assert_int_equal(head_of(t, cb, 0, 7), 0);
    /* vCPU 0 registers: the pending port is linked on the next unmask, not before */
    assert_int_equal(init_control(&d1, 0, cb, 0, 0), 0);
    assert_int_equal(head_of(t, cb, 0, 7), 0);
    assert_int_equal(e_port_op(&d1, 0, PVCORE_EVTCHNOP_unmask, p), 0);
    assert_int_equal(word_of(t, page, p), EW_P | EW_L);
    assert_int_equal(head_of(t, cb, 0, 7), p);
    /* moved to vCPU 3 (no block) while linked, consumed, sent again: pending only */
    {
        struct pvcore_evtchn_bind_vcpu bv = { p, 3 };
        assert_int_equal(evop0(&d1, PVCORE_EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), 0);
    }
    atomic_store((_Atomic uint32_t *)(void *)((uint8_t *)frame_ptr(t, page) + 4u * p), 0);
    assert_int_equal(e_port_op(&d2, 0, PVCORE_EVTCHNOP_send, q), 0);
    assert_int_equal(word_of(t, page, p), EW_P);
    check_invariants(t);
    edom_free(&d1);
    edom_free(&d2);
}

/* ---- threaded ------------------------------------------------------------------------------ */

struct race {
    struct edom *peer;
    uint32_t port; /* the peer's end */
    atomic_bool stop;
    atomic_uint sends;
    atomic_uint bad;
};

static void *sender(void *arg)
{
    struct race *r = arg;

    while (!atomic_load(&r->stop)) {
        /* interdomain or, between a reset and the rebind, unbound (dropped): 0 either way */
        if (e_port_op(r->peer, 0, PVCORE_EVTCHNOP_send, r->port) != 0) {
            atomic_fetch_add(&r->bad, 1);
        }
        atomic_fetch_add(&r->sends, 1);
    }
    return NULL;
}

static void xsa_358_race_registration(void **state)
{
    struct pvtest *t = *state;
    struct edom d1, d2;
    struct race r;
    pthread_t th;
    uint64_t cb[4], page[3];
    uint32_t lp, round, v, i;
    struct pvcore_evtchn_reset rs = { SELF };

    edom_init(&d1, t, 1, 4096);
    edom_init(&d2, t, 0, 64);
    for (v = 0; v < 4; v++) {
        cb[v] = alloc_frame(t, 1);
    }
    for (i = 0; i < 3; i++) {
        page[i] = alloc_frame(t, 1);
    }
    assert_int_equal(e_alloc_unbound(&d2, 1, &r.port), 0);
    r.peer = &d2;
    atomic_init(&r.stop, false);
    atomic_init(&r.sends, 0);
    atomic_init(&r.bad, 0);
    assert_int_equal(pthread_create(&th, NULL, sender, &r), 0);
    for (round = 0; round < 60; round++) {
        assert_int_equal(e_bind_inter(&d1, 0, r.port, &lp), 0);
        /* the channel on a vCPU that may or may not have its block yet */
        {
            struct pvcore_evtchn_bind_vcpu bv = { lp, round % 4 };
            assert_int_equal(evop0(&d1, PVCORE_EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), 0);
        }
        for (v = 0; v < 4; v++) {
            uint32_t who = (v + round) % 4;
            assert_int_equal(init_control(&d1, who, cb[who], 8u * round, who), 0);
            if (v == 1) {
                for (i = 0; i < 3; i++) {
                    assert_int_equal(expand(&d1, who, page[i]), 0);
                }
            }
            assert_int_equal(e_port_op(&d1, who, PVCORE_EVTCHNOP_unmask, lp), 0);
        }
        if (round % 3 == 0) {
            /* a closed channel mid-round: the peer's sends drop */
            assert_int_equal(e_port_op(&d1, 0, PVCORE_EVTCHNOP_close, lp), 0);
        }
        {
            int64_t rc;
            while ((rc = evop0(&d1, PVCORE_EVTCHNOP_reset, &rs, sizeof(rs))) == -PVCORE_EAGAIN) {
            }
            assert_int_equal(rc, 0);
        }
        {
            /* (from vCPU 1: the sender's mailbox is vCPU 0's) */
            struct pvcore_evtchn_status st = { SELF, r.port, 0xFF, 0xFF, { { 0 } } };
            assert_int_equal(evop_v(&d2, 1, PVCORE_EVTCHNOP_status, &st, sizeof(st), 0), 0);
            assert_int_equal(st.status, PVCORE_EVTCHNSTAT_unbound);
        }
    }
    atomic_store(&r.stop, true);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(atomic_load(&r.bad), 0);
    assert_true(atomic_load(&r.sends) > 0);
    /* every FIFO frame let go by the last reset */
    for (v = 0; v < 4; v++) {
        assert_int_equal(finfo(t, cb[v]).type_count, 0);
    }
    for (i = 0; i < 3; i++) {
        assert_int_equal(finfo(t, page[i]).type_count, 0);
    }
    check_invariants(t);
    edom_free(&d1);
    edom_free(&d2);
}

REGRESS_MAIN("xsa_358", RTEST(xsa_358_block_ordering), RTEST(xsa_358_race_registration))
