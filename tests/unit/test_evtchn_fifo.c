/*
 * Event channels, FIFO ABI (<pvcore/evtchn.h>): EVTCHNOP_init_control, expand_array and
 * set_priority with every error; the event words, queue heads, READY bits and
 * upcall_pending read back after each step, and the queues drained by a consumer written
 * here from the ABI alone (as a guest kernel would); priorities, masking, moved ports,
 * ports past the event array, a vCPU with no control block, the 2-level state carried over
 * at the switch, a hostile guest scribbling on its own words and heads, more ports than
 * the 2-level ABI has, and the frames the FIFO ABI holds let go by reset and destruction.
 */
#include "regress/evtenv.h"

#include <pvcore/host_backend.h>

#include <stdatomic.h>

#define EW_P (1u << PVCORE_EVTCHN_FIFO_PENDING)
#define EW_M (1u << PVCORE_EVTCHN_FIFO_MASKED)
#define EW_L (1u << PVCORE_EVTCHN_FIFO_LINKED)
#define EW_B (1u << PVCORE_EVTCHN_FIFO_BUSY)
#define EW_LINK ((uint32_t)PVCORE_EVTCHN_FIFO_LINK_MASK)

/* A FIFO guest: its control blocks (one frame, a block per vCPU at 128-byte steps, the
 * last one at the highest offset allowed) and its event-array pages. */
struct fifo {
    struct edom x;
    uint64_t cb_frame;
    uint64_t page[8];
    uint32_t npages;
    uint32_t local_head[4][PVCORE_EVTCHN_FIFO_MAX_QUEUES]; /* the consumer's own heads */
};

static uint32_t cb_off(uint32_t v)
{
    return v == 3 ? 4096u - 72u : 128u * v;
}

static _Atomic uint32_t *cb_field(struct fifo *f, uint32_t v, uint32_t field)
{
    return (_Atomic uint32_t *)(void *)((uint8_t *)frame_ptr(f->x.e.t, f->cb_frame) + cb_off(v) + field);
}

static _Atomic uint32_t *ready(struct fifo *f, uint32_t v)
{
    return cb_field(f, v, 0);
}

static _Atomic uint32_t *head(struct fifo *f, uint32_t v, uint32_t q)
{
    return cb_field(f, v, 8u + 4u * q);
}

static _Atomic uint32_t *word(struct fifo *f, uint32_t port)
{
    assert_true(port / 1024u < f->npages);
    return (_Atomic uint32_t *)(void *)((uint8_t *)frame_ptr(f->x.e.t, f->page[port / 1024u]) +
                                        4u * (port % 1024u));
}

static uint8_t *vinfo(struct fifo *f, uint32_t v)
{
    return e_si(&f->x) + 64u * v;
}

static int64_t init_control(struct edom *x, uint32_t v, uint64_t gfn, uint32_t off, uint32_t vcpu,
                            struct pvcore_evtchn_init_control *io)
{
    struct pvcore_evtchn_init_control ic;

    memset(&ic, 0xA5, sizeof(ic)); /* Out and padding: see what comes back */
    ic.control_gfn = gfn;
    ic.offset = off;
    ic.vcpu = vcpu;
    {
        int64_t rc = evop_v(x, v, PVCORE_EVTCHNOP_init_control, &ic, sizeof(ic), 0);

        if (io != NULL) {
            *io = ic;
        }
        return rc;
    }
}

static int64_t expand(struct edom *x, uint64_t gfn)
{
    return evop0(x, PVCORE_EVTCHNOP_expand_array, &gfn, sizeof(gfn));
}

static int64_t set_prio(struct edom *x, uint32_t port, uint32_t prio)
{
    struct pvcore_evtchn_set_priority sp = { port, prio };

    return evop0(x, PVCORE_EVTCHNOP_set_priority, &sp, sizeof(sp));
}

/* Domain d on the FIFO ABI: control blocks for every vCPU, `npages` array pages. */
static void fifo_init(struct fifo *f, struct pvtest *t, int d, uint32_t nr_ports, uint32_t npages)
{
    uint32_t v, i;

    memset(f, 0, sizeof(*f));
    edom_init(&f->x, t, d, nr_ports);
    f->cb_frame = alloc_frame(t, d);
    for (v = 0; v < (d == 2 ? 2u : 4u); v++) { /* the fixture's vCPUs */
        struct pvcore_evtchn_init_control ic;

        assert_int_equal(init_control(&f->x, v, f->cb_frame, cb_off(v), v, &ic), 0);
        assert_int_equal(ic.link_bits, PVCORE_EVTCHN_FIFO_LINK_BITS);
        /* pad bytes come back as the guest passed them */
        for (i = 0; i < 7; i++) {
            assert_int_equal(ic._pad[i], 0xA5);
        }
        vinfo(f, v)[1] = 0; /* events unmasked */
    }
    for (i = 0; i < npages; i++) {
        f->page[i] = alloc_frame(t, d);
        assert_int_equal(expand(&f->x, f->page[i]), 0);
        f->npages++;
    }
}

/* Clears what the upcall told vCPU v, as a guest entering its handler. */
static void ack_upcall(struct fifo *f, uint32_t v)
{
    vinfo(f, v)[0] = 0;
}

/*
 * Drains vCPU v's queues as a guest does, into out[] (at most max ports): the ready word
 * taken, the highest-priority queue first; each event unlinked with a compare-and-swap
 * (the link to the next read in the same step), then handled if pending and not masked
 * (pending cleared first). Returns the count.
 */
static uint32_t drain(struct fifo *f, uint32_t v, uint32_t *out, uint32_t max)
{
    uint32_t n = 0, rdy = atomic_exchange(ready(f, v), 0);
    unsigned guard = 0;

    while (rdy != 0 && guard++ < 100000u) {
        uint32_t q = (uint32_t)__builtin_ctz(rdy), port, w, next;
        _Atomic uint32_t *pw;

        port = f->local_head[v][q];
        if (port == 0) {
            port = atomic_load(head(f, v, q));
        }
        assert_true(port != 0 && port / 1024u < f->npages);
        pw = word(f, port);
        w = atomic_load(pw);
        while (!atomic_compare_exchange_weak(pw, &w, w & ~(EW_L | EW_LINK))) {
        }
        next = w & EW_LINK;
        if (next == 0) {
            rdy &= ~(1u << q);
        }
        f->local_head[v][q] = next;
        if ((atomic_load(pw) & (EW_P | EW_M)) == EW_P) {
            atomic_fetch_and(pw, ~EW_P);
            assert_true(n < max);
            out[n++] = port;
        }
        rdy |= atomic_exchange(ready(f, v), 0);
    }
    return n;
}

/* ---- init_control, expand_array, set_priority: every refusal -------------------------------- */

static void test_init_control_errors(void **state)
{
    struct pvtest *t = *state;
    struct edom x;
    uint64_t cb, foreign;
    struct pvcore_frame_info before;
    struct pvcore_evtchn_init_control ic;
    static const uint32_t bad_off[] = { 4, 1, 7, 4096u - 72u + 8u, 4096u - 64u, 4096u, 0x80000000u,
                                        0xFFFFFFF8u };
    static const uint32_t bad_vcpu[] = { 4, 5, 64, 0x7FFFFFFFu, 0xFFFFFFFFu };
    uint32_t i;

    edom_init(&x, t, 1, 4096);
    cb = alloc_frame(t, 1);
    foreign = alloc_frame(t, 2);
    before = finfo(t, cb);
    for (i = 0; i < sizeof(bad_vcpu) / sizeof(bad_vcpu[0]); i++) {
        assert_int_equal(init_control(&x, 0, cb, 0, bad_vcpu[i], NULL), -PVCORE_ENOENT);
    }
    for (i = 0; i < sizeof(bad_off) / sizeof(bad_off[0]); i++) {
        assert_int_equal(init_control(&x, 0, cb, bad_off[i], 0, NULL), -PVCORE_EINVAL);
    }
    /* not the caller's writable frame: another domain's, a page table of its own, frames
     * out of range or unassigned */
    assert_int_equal(init_control(&x, 0, foreign, 0, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(init_control(&x, 0, x.e.root, 0, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(init_control(&x, 0, TEST_FRAMES, 0, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(init_control(&x, 0, ~0ull, 0, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(init_control(&x, 0, 3, 0, 0, NULL), -PVCORE_EINVAL); /* unassigned */
    /* an unmapped argument */
    assert_int_equal(evop_v(&x, 0, PVCORE_EVTCHNOP_init_control, NULL, 0, 0), -PVCORE_EFAULT);
    /* none of it switched the ABI or kept a reference */
    assert_int_equal(expand(&x, alloc_frame(t, 1)), -PVCORE_EOPNOTSUPP);
    assert_int_equal(pvcore_evtchn_nr_ports(t->dom[1]), 4096);
    {
        struct pvcore_frame_info now = finfo(t, cb);
        /* (field by field: a struct returned by value need not carry its padding) */
        assert_int_equal(now.owner, before.owner);
        assert_int_equal(now.type, before.type);
        assert_int_equal(now.count, before.count);
        assert_int_equal(now.type_count, before.type_count);
    }
    /* the same frame works; a second block for vCPU 0 does not (the reference is given
     * back), one for vCPU 1 on the same frame does */
    assert_int_equal(init_control(&x, 0, cb, 0, 0, &ic), 0);
    assert_int_equal(ic.link_bits, 17);
    assert_int_equal(ic.control_gfn, cb);
    assert_int_equal(finfo(t, cb).count, before.count + 1);
    assert_int_equal(finfo(t, cb).type, PVCORE_PGT_WRITABLE);
    assert_int_equal(init_control(&x, 0, cb, 512, 0, NULL), -PVCORE_EINVAL);
    assert_int_equal(finfo(t, cb).count, before.count + 1);
    assert_int_equal(init_control(&x, 1, cb, 512, 1, NULL), 0);
    assert_int_equal(finfo(t, cb).count, before.count + 2);
    /* a held control block cannot become a page table */
    assert_int_equal(pin(t, 1, 1, cb), -PVCORE_EINVAL);
    check_invariants(t);
    edom_free(&x);
}

static void test_expand_and_priority_errors(void **state)
{
    struct pvtest *t = *state;
    struct fifo f;
    uint32_t p, i;
    uint64_t mfn;

    fifo_init(&f, t, 1, PVCORE_EVTCHN_FIFO_NR_CHANNELS, 0);
    assert_int_equal(expand(&f.x, alloc_frame(t, 2)), -PVCORE_EINVAL);
    assert_int_equal(expand(&f.x, f.x.e.root), -PVCORE_EINVAL);
    assert_int_equal(expand(&f.x, TEST_FRAMES + 5u), -PVCORE_EINVAL);
    assert_int_equal(evop0(&f.x, PVCORE_EVTCHNOP_expand_array, NULL, 0), -PVCORE_EFAULT);
    /* 128 pages, then no more; each held once */
    mfn = t->next_mfn;
    for (i = 0; i < 128; i++) {
        assert_int_equal(expand(&f.x, alloc_frame(t, 1)), 0);
    }
    assert_int_equal(expand(&f.x, alloc_frame(t, 1)), -PVCORE_ENOSPC);
    assert_int_equal(finfo(t, mfn).type, PVCORE_PGT_WRITABLE);
    assert_int_equal(finfo(t, mfn).type_count, 1);
    assert_int_equal(finfo(t, mfn + 128).type_count, 0);
    /* set_priority */
    assert_int_equal(e_bind_ipi(&f.x, 0, &p), 0);
    assert_int_equal(set_prio(&f.x, p, 16), -PVCORE_EINVAL);
    assert_int_equal(set_prio(&f.x, p, 0xFFFFFFFFu), -PVCORE_EINVAL);
    assert_int_equal(set_prio(&f.x, PVCORE_EVTCHN_FIFO_NR_CHANNELS, 0), -PVCORE_EINVAL);
    assert_int_equal(set_prio(&f.x, 0xFFFFFFFFu, 0), -PVCORE_EINVAL);
    assert_int_equal(set_prio(&f.x, p, 15), 0);
    assert_int_equal(set_prio(&f.x, 0, 0), 0); /* any port in range, as Xen */
    check_invariants(t);
    edom_free(&f.x);
}

/* ---- delivery ------------------------------------------------------------------------------ */

static void test_link_order_and_upcall(void **state)
{
    struct pvtest *t = *state;
    struct fifo f;
    uint32_t p[4], got[8], i, n;
    uint64_t k;

    fifo_init(&f, t, 1, 4096, 1);
    for (i = 0; i < 4; i++) {
        assert_int_equal(e_bind_ipi(&f.x, 0, &p[i]), 0);
        assert_int_equal(atomic_load(word(&f, p[i])), 0);
    }
    k = kicks(t);
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, p[0]), 0);
    /* pending and linked, the head of queue 7, ready bit 7, upcall, one kick */
    assert_int_equal(atomic_load(word(&f, p[0])), EW_P | EW_L);
    assert_int_equal(atomic_load(head(&f, 0, 7)), p[0]);
    assert_int_equal(atomic_load(ready(&f, 0)), 1u << 7);
    assert_int_equal(vinfo(&f, 0)[0], 1);
    assert_int_equal(kicks(t), k + 1);
    /* the next ones link after it: LINK of the tail, head unchanged, no new kick */
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, p[1]), 0);
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, p[2]), 0);
    assert_int_equal(atomic_load(word(&f, p[0])), EW_P | EW_L | p[1]);
    assert_int_equal(atomic_load(word(&f, p[1])), EW_P | EW_L | p[2]);
    assert_int_equal(atomic_load(head(&f, 0, 7)), p[0]);
    assert_int_equal(kicks(t), k + 1);
    /* a second send of a pending port changes nothing (coalesced) */
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, p[1]), 0);
    assert_int_equal(atomic_load(word(&f, p[1])), EW_P | EW_L | p[2]);
    /* drained in order */
    ack_upcall(&f, 0);
    n = drain(&f, 0, got, 8);
    assert_int_equal(n, 3);
    assert_int_equal(got[0], p[0]);
    assert_int_equal(got[1], p[1]);
    assert_int_equal(got[2], p[2]);
    for (i = 0; i < 3; i++) {
        assert_int_equal(atomic_load(word(&f, p[i])), 0);
    }
    /* the queue emptied by the guest: the next event is its head again (the library's
     * tail was p[2], now unlinked), ready set again, a new upcall */
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, p[3]), 0);
    assert_int_equal(atomic_load(head(&f, 0, 7)), p[3]);
    assert_int_equal(atomic_load(word(&f, p[2])), 0);
    assert_int_equal(atomic_load(ready(&f, 0)), 1u << 7);
    assert_int_equal(kicks(t), k + 2);
    ack_upcall(&f, 0);
    assert_int_equal(drain(&f, 0, got, 8), 1);
    assert_int_equal(got[0], p[3]);
    /* the tail itself again, after it was consumed */
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, p[3]), 0);
    assert_int_equal(atomic_load(head(&f, 0, 7)), p[3]);
    assert_int_equal(atomic_load(word(&f, p[3])), EW_P | EW_L);
    check_invariants(t);
    edom_free(&f.x);
}

static void test_priorities(void **state)
{
    struct pvtest *t = *state;
    struct fifo f;
    uint32_t p[6], got[8], i;
    static const uint32_t prio[6] = { 15, 7, 0, 3, 0, 15 };

    fifo_init(&f, t, 1, 4096, 1);
    for (i = 0; i < 6; i++) {
        assert_int_equal(e_bind_ipi(&f.x, 1, &p[i]), 0);
        assert_int_equal(set_prio(&f.x, p[i], prio[i]), 0);
    }
    for (i = 0; i < 6; i++) {
        assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, p[i]), 0);
    }
    assert_int_equal(atomic_load(ready(&f, 1)), (1u << 15) | (1u << 7) | (1u << 3) | 1u);
    assert_int_equal(atomic_load(head(&f, 1, 0)), p[2]);
    assert_int_equal(atomic_load(head(&f, 1, 15)), p[0]);
    assert_int_equal(atomic_load(ready(&f, 0)), 0); /* vCPU 0 untouched */
    assert_int_equal(drain(&f, 1, got, 8), 6);
    /* priority 0 first (in send order), then 3, 7, 15 */
    assert_int_equal(got[0], p[2]);
    assert_int_equal(got[1], p[4]);
    assert_int_equal(got[2], p[3]);
    assert_int_equal(got[3], p[1]);
    assert_int_equal(got[4], p[0]);
    assert_int_equal(got[5], p[5]);
    /* a priority change while linked: the event stays where it is, the next one moves */
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, p[1]), 0);
    assert_int_equal(set_prio(&f.x, p[1], 1), 0);
    assert_int_equal(atomic_load(head(&f, 1, 7)), p[1]);
    assert_int_equal(drain(&f, 1, got, 8), 1);
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, p[1]), 0);
    assert_int_equal(atomic_load(head(&f, 1, 1)), p[1]);
    assert_int_equal(atomic_load(ready(&f, 1)), 1u << 1);
    edom_free(&f.x);
}

static void test_mask_unmask(void **state)
{
    struct pvtest *t = *state;
    struct fifo f;
    uint32_t p, q, got[4];
    uint64_t k;

    fifo_init(&f, t, 1, 4096, 1);
    assert_int_equal(e_bind_ipi(&f.x, 0, &p), 0);
    assert_int_equal(e_bind_ipi(&f.x, 0, &q), 0);
    atomic_fetch_or(word(&f, p), EW_M);
    k = kicks(t);
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, p), 0);
    /* masked: pending, not linked, nothing else */
    assert_int_equal(atomic_load(word(&f, p)), EW_P | EW_M);
    assert_int_equal(atomic_load(ready(&f, 0)), 0);
    assert_int_equal(vinfo(&f, 0)[0], 0);
    assert_int_equal(kicks(t), k);
    /* EVTCHNOP_unmask clears the mask and links it */
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_unmask, p), 0);
    assert_int_equal(atomic_load(word(&f, p)), EW_P | EW_L);
    assert_int_equal(atomic_load(head(&f, 0, 7)), p);
    assert_int_equal(kicks(t), k + 1);
    /* unmask of a port not pending, of a free port, of one past the array: nothing */
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_unmask, q), 0);
    assert_int_equal(atomic_load(word(&f, q)), 0);
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_unmask, 1000), 0);
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_unmask, 2000), 0);
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_unmask, 4096), -PVCORE_EINVAL);
    /* a port masked while linked stays linked; the guest skips it */
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, q), 0);
    atomic_fetch_or(word(&f, q), EW_M);
    ack_upcall(&f, 0);
    assert_int_equal(drain(&f, 0, got, 4), 1);
    assert_int_equal(got[0], p);
    assert_int_equal(atomic_load(word(&f, q)), EW_P | EW_M);
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_unmask, q), 0);
    assert_int_equal(drain(&f, 0, got, 4), 1);
    assert_int_equal(got[0], q);
    edom_free(&f.x);
}

/* A port moved to another vCPU while linked stays on the old queue; the next link goes
 * to the new vCPU's queue, and the old queue's tail is forgotten. */
static void test_moved_port(void **state)
{
    struct pvtest *t = *state;
    struct fifo f;
    struct edom peer;
    uint32_t lp, rp, other, got[4];
    struct pvcore_evtchn_bind_vcpu bv;

    fifo_init(&f, t, 1, 4096, 1);
    edom_init(&peer, t, 0, 64);
    assert_int_equal(e_alloc_unbound(&f.x, 0, &lp), 0);
    assert_int_equal(e_bind_inter(&peer, 1, lp, &rp), 0);
    assert_int_equal(e_bind_ipi(&f.x, 0, &other), 0);
    assert_int_equal(e_port_op(&peer, 0, PVCORE_EVTCHNOP_send, rp), 0);
    assert_int_equal(atomic_load(head(&f, 0, 7)), lp);
    bv.port = lp;
    bv.vcpu = 2;
    assert_int_equal(evop0(&f.x, PVCORE_EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), 0);
    /* still linked on vCPU 0; another event there links after it */
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, other), 0);
    assert_int_equal(atomic_load(word(&f, lp)), EW_P | EW_L | other);
    assert_int_equal(drain(&f, 0, got, 4), 2);
    assert_int_equal(got[0], lp);
    assert_int_equal(got[1], other);
    /* now it goes to vCPU 2 */
    assert_int_equal(e_port_op(&peer, 0, PVCORE_EVTCHNOP_send, rp), 0);
    assert_int_equal(atomic_load(head(&f, 2, 7)), lp);
    assert_int_equal(atomic_load(ready(&f, 2)), 1u << 7);
    assert_int_equal(atomic_load(ready(&f, 0)), 0);
    assert_int_equal(drain(&f, 2, got, 4), 1);
    edom_free(&peer);
    edom_free(&f.x);
}

/* Ports past the event array, and a vCPU with no control block. */
static void test_missing_words_and_blocks(void **state)
{
    struct pvtest *t = *state;
    struct edom x;
    struct fifo f;
    uint32_t p, i, got[4];
    uint64_t cb, pg;

    fifo_init(&f, t, 1, 8192, 1);
    assert_int_equal(pvcore_evtchn_nr_ports(t->dom[1]), 8192);
    for (i = 0; i < 1500; i++) { /* up to 1500: past the first page */
        assert_int_equal(e_bind_ipi(&f.x, 3, &p), 0);
    }
    assert_int_equal(p, 1500);
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, 1500), 0);
    assert_int_equal(atomic_load(ready(&f, 3)), 0);
    pg = alloc_frame(t, 1);
    assert_int_equal(expand(&f.x, pg), 0);
    f.page[f.npages++] = pg;
    /* raised when its page came */
    assert_int_equal(atomic_load(word(&f, 1500)), EW_P | EW_L);
    assert_int_equal(atomic_load(head(&f, 3, 7)), 1500);
    assert_int_equal(drain(&f, 3, got, 4), 1);
    edom_free(&f.x);

    /* A domain with a control block for vCPU 0 only: a port notifying vCPU 1 is pending
     * but not linked (nothing to link it on) until vCPU 1 has one and it is unmasked. */
    edom_init(&x, t, 0, 4096);
    cb = alloc_frame(t, 0);
    pg = alloc_frame(t, 0);
    assert_int_equal(init_control(&x, 0, cb, 0, 0, NULL), 0);
    assert_int_equal(expand(&x, pg), 0);
    assert_int_equal(e_bind_ipi(&x, 1, &p), 0);
    assert_int_equal(e_port_op(&x, 0, PVCORE_EVTCHNOP_send, p), 0);
    {
        _Atomic uint32_t *w = (_Atomic uint32_t *)(void *)((uint8_t *)frame_ptr(t, pg) + 4u * p);
        assert_int_equal(atomic_load(w), EW_P);
        assert_int_equal(init_control(&x, 1, cb, 128, 1, NULL), 0);
        assert_int_equal(e_port_op(&x, 0, PVCORE_EVTCHNOP_unmask, p), 0);
        assert_int_equal(atomic_load(w), EW_P | EW_L);
        assert_int_equal(*(uint32_t *)(void *)((uint8_t *)frame_ptr(t, cb) + 128 + 8 + 28), p);
    }
    check_invariants(t);
    edom_free(&x);
}

/* What was pending on the 2-level ABI at the switch is raised on the FIFO one (when its
 * page arrives); free ports are not. */
static void test_switch_keeps_pending(void **state)
{
    struct pvtest *t = *state;
    struct edom x;
    uint32_t a, b, got[4];
    struct fifo *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    edom_init(&x, t, 1, 4096);
    assert_int_equal(e_bind_ipi(&x, 0, &a), 0);
    assert_int_equal(e_bind_ipi(&x, 0, &b), 0);
    assert_int_equal(e_port_op(&x, 0, PVCORE_EVTCHNOP_send, b), 0);
    assert_true(e_pending(&x, b));
    e_si(&x)[2048 + 100 / 8] |= 1u << (100 % 8); /* a free port's stale bit */
    f->x = x;
    f->cb_frame = alloc_frame(t, 1);
    assert_int_equal(init_control(&x, 0, f->cb_frame, 0, 0, NULL), 0);
    f->page[0] = alloc_frame(t, 1);
    assert_int_equal(expand(&x, f->page[0]), 0);
    f->npages = 1;
    assert_int_equal(atomic_load(word(f, b)), EW_P | EW_L);
    assert_int_equal(atomic_load(word(f, a)), 0);
    assert_int_equal(atomic_load(word(f, 100)), 0);
    assert_int_equal(drain(f, 0, got, 4), 1);
    assert_int_equal(got[0], b);
    free(f);
    edom_free(&x);
}

/* The guest owns its words and heads and may write anything there: the library never
 * follows a LINK or reads a head, so scribbles hurt only the guest's own queues. */
static void test_hostile_guest_words(void **state)
{
    struct pvtest *t = *state;
    struct fifo f;
    uint32_t p[3], i;

    fifo_init(&f, t, 1, 4096, 1);
    for (i = 0; i < 3; i++) {
        assert_int_equal(e_bind_ipi(&f.x, 0, &p[i]), 0);
    }
    /* every word of the page, and every head, set to garbage */
    for (i = 0; i < 1024; i++) {
        atomic_store(word(&f, i), 0x0001FFFFu | EW_B);
    }
    for (i = 0; i < 16; i++) {
        atomic_store(head(&f, 0, i), 0xFFFFFFFFu);
    }
    atomic_store(ready(&f, 0), 0xFFFFFFFFu);
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, p[0]), 0);
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, p[1]), 0);
    /* p[0] was not linked (LINKED clear): linked now, made the head of queue 7 */
    assert_int_equal(atomic_load(head(&f, 0, 7)), p[0]);
    /* p[1] linked after p[0]: LINK rewritten, BUSY dropped by the link */
    assert_int_equal(atomic_load(word(&f, p[0])), EW_P | EW_L | p[1]);
    /* the guest claims p[2] is already linked: the library believes it and links nothing */
    atomic_store(word(&f, p[2]), EW_L | 5u);
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, p[2]), 0);
    assert_int_equal(atomic_load(word(&f, p[2])), EW_P | EW_L | 5u);
    assert_int_equal(atomic_load(word(&f, p[1])) & EW_LINK, 0x1FFFFu); /* untouched */
    /* the guest unlinks the tail behind the library's back: the next event is a head */
    atomic_store(word(&f, p[1]), 0);
    atomic_store(word(&f, p[0]), 0);
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, p[0]), 0);
    assert_int_equal(atomic_load(head(&f, 0, 7)), p[0]);
    check_invariants(t);
    edom_free(&f.x);
}

/* More ports than 2-level has, up to the table. */
static void test_many_ports(void **state)
{
    struct pvtest *t = *state;
    struct fifo f;
    uint32_t p = 0, i, got[2];

    fifo_init(&f, t, 1, 6000, 6);
    assert_int_equal(pvcore_evtchn_nr_ports(t->dom[1]), 6000);
    for (i = 1; i < 6000; i++) {
        assert_int_equal(e_bind_ipi(&f.x, 0, &p), 0);
    }
    assert_int_equal(p, 5999);
    assert_int_equal(e_bind_ipi(&f.x, 0, &p), -PVCORE_ENOSPC);
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, 5999), 0);
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, 6000), -PVCORE_EINVAL);
    assert_int_equal(drain(&f, 0, got, 2), 1);
    assert_int_equal(got[0], 5999);
    /* close one in the middle: the next allocation takes it */
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_close, 4242), 0);
    assert_int_equal(e_bind_ipi(&f.x, 0, &p), 0);
    assert_int_equal(p, 4242);
    edom_free(&f.x);
}

/* reset goes back to 2-level and lets go of every FIFO frame; so does destruction. */
static void test_reset_and_destroy_release(void **state)
{
    struct pvtest *t = *state;
    struct fifo f;
    struct pvcore_frame_info cb0;
    struct pvcore_evtchn_reset r = { SELF };
    uint32_t p, i;
    uint64_t cb, pg;

    fifo_init(&f, t, 1, 8192, 5);
    cb0 = finfo(t, f.cb_frame);
    assert_int_equal(cb0.type_count, 4);
    for (i = 0; i < 5000; i++) {
        assert_int_equal(e_bind_ipi(&f.x, i % 4, &p), 0);
    }
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, 4999), 0);
    assert_int_equal(evop0(&f.x, PVCORE_EVTCHNOP_reset, &r, sizeof(r)), 0);
    assert_int_equal(finfo(t, f.cb_frame).type_count, 0);
    for (i = 0; i < 5; i++) {
        assert_int_equal(finfo(t, f.page[i]).type_count, 0);
    }
    assert_int_equal(pvcore_evtchn_nr_ports(t->dom[1]), 4096);
    assert_int_equal(expand(&f.x, f.page[0]), -PVCORE_EOPNOTSUPP);
    assert_int_equal(set_prio(&f.x, 1, 1), -PVCORE_ENOSYS);
    /* and the 2-level ABI works again, FIFO can be taken up again */
    assert_int_equal(e_bind_ipi(&f.x, 0, &p), 0);
    assert_int_equal(p, 1);
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, p), 0);
    assert_true(e_pending(&f.x, p));
    assert_int_equal(init_control(&f.x, 0, f.cb_frame, 0, 0, NULL), 0);
    check_invariants(t);

    /* destruction of a FIFO domain with ports in every state */
    cb = alloc_frame(t, 2);
    pg = alloc_frame(t, 2);
    {
        struct edom y;
        uint32_t q;

        edom_init(&y, t, 2, 1024);
        assert_int_equal(init_control(&y, 0, cb, 0, 0, NULL), 0);
        assert_int_equal(init_control(&y, 1, cb, 4096 - 72, 1, NULL), 0);
        assert_int_equal(expand(&y, pg), 0);
        assert_int_equal(e_alloc_unbound(&y, 1, &q), 0);
        assert_int_equal(e_bind_inter(&f.x, 2, q, &p), 0);
        assert_int_equal(e_alloc_unbound(&y, 0, &q), 0);
        assert_int_equal(e_bind_ipi(&y, 1, &q), 0);
        assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, p), 0);
        assert_int_equal(finfo(t, cb).type_count, 2);
        int rc;

        UNTIL_DONE(t, rc, pvcore_domain_destroy(t->dom[2]));
        assert_int_equal(rc, 0);
        assert_int_equal(finfo(t, cb).type_count, 0);
        assert_int_equal(finfo(t, pg).type_count, 0);
        assert_int_equal(e_state(&f.x, p), PVCORE_EVTCHNSTAT_unbound);
        edom_free(&y);
    }
    check_invariants(t);
    edom_free(&f.x);
}

/* A 32-bit guest uses the same words (4 bytes for both widths). */
static void test_32bit_guest(void **state)
{
    struct pvtest *t = *state;
    struct fifo f;
    uint32_t p, got[2];

    fifo_init(&f, t, 2, 1024, 1);
    assert_int_equal(e_bind_ipi(&f.x, 1, &p), 0);
    assert_int_equal(set_prio(&f.x, p, 2), 0);
    assert_int_equal(e_port_op(&f.x, 0, PVCORE_EVTCHNOP_send, p), 0);
    assert_int_equal(atomic_load(head(&f, 1, 2)), p);
    assert_int_equal(vinfo(&f, 1)[0], 1);
    assert_int_equal(drain(&f, 1, got, 2), 1);
    edom_free(&f.x);
}

REGRESS_MAIN("evtchn_fifo", RTEST(test_init_control_errors), RTEST(test_expand_and_priority_errors),
             RTEST(test_link_order_and_upcall), RTEST(test_priorities), RTEST(test_mask_unmask),
             RTEST(test_moved_port), RTEST(test_missing_words_and_blocks),
             RTEST(test_switch_keeps_pending), RTEST(test_hostile_guest_words), RTEST(test_many_ports),
             RTEST(test_reset_and_destroy_release), RTEST(test_32bit_guest))
