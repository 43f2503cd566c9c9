/*
 * evtchn_model: a model of Xen's event channels, 2-level and FIFO ABIs, written from the
 * ABI (the rules in <pvcore/evtchn.h> and Xen's behaviour), for fuzz_evtchn.c. It never
 * calls the library: it keeps its own ports, VIRQ bindings, and an image of every frame of
 * a domain that the hypervisor writes (the shared-info page with its bitmaps and
 * vcpu_infos; the FIFO control blocks and event-array pages, which may be any of the
 * domain's data frames, the shared-info one included, and may overlap), and predicts every
 * result code (Xen's errno values, defined here on their own), every byte of those frames,
 * the FIFO holds on each frame and the number of upcall kicks.
 *
 * Domains are numbered by their domid: 0 .. EM_NDOM-1; each owns EM_FRAMES consecutive
 * machine frames from its `mfn0`, frame EM_SHARED its shared-info page.
 */
#ifndef PVCORE_FUZZ_EVTCHN_MODEL_H
#define PVCORE_FUZZ_EVTCHN_MODEL_H

#include <stdint.h>

#define EM_NDOM 3u
#define EM_MAX_VCPUS 8u
#define EM_MAX_PORTS 4096u
#define EM_NR_VIRQS 24u
#define EM_DOMID_SELF 0x7FF0u
#define EM_FRAMES 16u
#define EM_SHARED 8u
#define EM_PAGE 4096u
/* FIFO ABI */
#define EM_FIFO_PAGES 128u     /* event-array pages at most */
#define EM_FIFO_PORTS 131072u  /* ports it can address (LINK is 17 bits) */
#define EM_FIFO_QUEUES 16u
#define EM_FIFO_PRIO_DEFAULT 7u
#define EM_CB_SIZE 72u         /* control block: ready (4), pad (4), head[16] */
#define EM_EW_PENDING 0x80000000u
#define EM_EW_MASKED 0x40000000u
#define EM_EW_LINKED 0x20000000u
#define EM_EW_BUSY 0x10000000u
#define EM_EW_LINK 0x0001FFFFu

/* Xen's errno values (positive; results are their negation). */
#define EM_EPERM 1
#define EM_ENOENT 2
#define EM_ESRCH 3
#define EM_EAGAIN 11
#define EM_EFAULT 14
#define EM_EEXIST 17
#define EM_EINVAL 22
#define EM_ENOSPC 28
#define EM_ENOSYS 38
#define EM_EOPNOTSUPP 95

/* EVTCHNSTAT_* values, as the status operation reports a port. */
enum { EM_CLOSED = 0, EM_UNBOUND, EM_INTERDOMAIN, EM_PIRQ, EM_VIRQ, EM_IPI };

struct em_port {
    uint8_t used;    /* allocated (port 0 never is: reserved) */
    uint8_t stat;    /* EM_* */
    uint16_t rdom;   /* unbound: who may bind; interdomain: the peer */
    uint32_t rport;  /* interdomain: the peer's port */
    uint32_t virq;   /* virq: its number */
    uint32_t vcpu;   /* the vCPU it notifies */
    /* FIFO; these outlive the port's binding (Xen keeps them in its struct evtchn) */
    uint8_t priority;      /* the queue of its next link; the default again on each bind */
    uint8_t last_prio;     /* the queue it was last linked on ... */
    uint32_t last_vcpu;    /* ... of this vCPU (0, 0 at first, as Xen's lastq) */
    uint8_t held;          /* became pending with no event word yet */
};

struct em_fifo_vcpu {
    int has;               /* a control block registered */
    uint32_t frame;        /* its frame (index in the domain) and offset */
    uint32_t off;
    uint32_t tail[EM_FIFO_QUEUES]; /* the hypervisor's tail of each queue (0: none) */
};

struct em_dom {
    int exists;  /* in the domain table (created, destruction not finished) */
    int dying;   /* destruction started */
    int priv;
    int is32;
    uint32_t nvcpus;
    uint32_t nports; /* usable ports (0: no table) */
    uint32_t table_ports; /* the table's size */
    uint64_t mfn0;   /* machine frame of frame index 0 */
    uint32_t typed;  /* bit i: frame i is a page table (cannot be made writable) */
    struct em_port port[EM_MAX_PORTS];
    uint32_t virq_port[EM_MAX_VCPUS][EM_NR_VIRQS]; /* 0: none */
    /* FIFO */
    int fifo;
    uint32_t npages;
    uint8_t page[EM_FIFO_PAGES]; /* frame index of each event-array page */
    struct em_fifo_vcpu fv[EM_MAX_VCPUS];
    uint32_t hold[EM_FRAMES];    /* FIFO references (control blocks, pages) on each frame */
    /* Frame images. Frame EM_SHARED: shared_info, with evtchn_pending at 2048 and
     * evtchn_mask after it (bit n = byte n/8, bit n%8), and each vCPU's vcpu_info at
     * 64 * v: upcall_pending (0), upcall_mask (1), evtchn_pending_sel (4, 32-bit guests; 8,
     * 64-bit guests). */
    uint8_t mem[EM_FRAMES][EM_PAGE];
};

struct em {
    struct em_dom d[EM_NDOM];
    uint64_t kicks; /* upcall_pending bit 0 went from clear to set */
};

/* Domain setup. */
void em_init(struct em *m);
void em_domain(struct em *m, unsigned id, int priv, int is32, uint32_t nvcpus, uint32_t nports,
               uint64_t mfn0, uint32_t typed);

/* Geometry of the 2-level ABI for a domain. */
uint32_t em_word_bits(const struct em_dom *d);
uint32_t em_bitmap_bytes(const struct em_dom *d); /* bytes of each of pending and mask */
uint32_t em_sel_offset(const struct em_dom *d);   /* of evtchn_pending_sel in vcpu_info */
int em_virq_global(uint32_t virq);

/* EVTCHNOP_* from vCPU `v` of domain `caller`; results are 0 or -errno. */
int em_alloc_unbound(struct em *m, unsigned caller, uint16_t dom, uint16_t remote, uint32_t *port);
int em_bind_interdomain(struct em *m, unsigned caller, uint16_t rdom, uint32_t rport, uint32_t *port);
int em_bind_virq(struct em *m, unsigned caller, uint32_t virq, uint32_t vcpu, uint32_t *port);
int em_bind_ipi(struct em *m, unsigned caller, uint32_t vcpu, uint32_t *port);
int em_bind_pirq(struct em *m, unsigned caller, uint32_t pirq);
int em_close(struct em *m, unsigned caller, uint32_t port);
int em_send(struct em *m, unsigned caller, uint32_t port);
/* status: out[24] is the structure as written back (in: as the guest passed it). */
int em_status(struct em *m, unsigned caller, uint8_t out[24]);
int em_bind_vcpu(struct em *m, unsigned caller, uint32_t port, uint32_t vcpu);
int em_unmask(struct em *m, unsigned caller, uint32_t port);
/* reset: `step_limit` closes at most that many ports (0: no limit); *more is set when
 * the call must be restarted with ports left open. */
int em_reset(struct em *m, unsigned caller, uint16_t dom, uint32_t step_limit, int *more);
int em_other_cmd(uint32_t cmd); /* any command not served */
/* FIFO: EVTCHNOP_init_control, expand_array, set_priority (mfn: as the guest passes it). */
int em_init_control(struct em *m, unsigned caller, uint64_t mfn, uint32_t off, uint32_t vcpu);
int em_expand_array(struct em *m, unsigned caller, uint64_t mfn);
int em_set_priority(struct em *m, unsigned caller, uint32_t port, uint32_t prio);
/* Frame image of frame index `idx` of domain `dom`; port `port`'s event word (NULL: the
 * array has no page for it); a control block field (byte offset in the block). */
uint8_t *em_frame(struct em *m, unsigned dom, uint32_t idx);
uint8_t *em_word(struct em *m, unsigned dom, uint32_t port);
uint8_t *em_cb(struct em *m, unsigned dom, uint32_t vcpu, uint32_t field);
uint32_t em_ld32(const uint8_t *p);
void em_st32(uint8_t *p, uint32_t v);

/* The embedder's side. */
int em_embed_alloc_unbound(struct em *m, unsigned dom, uint16_t remote, uint32_t *port);
int em_raise_virq(struct em *m, unsigned dom, uint32_t vcpu, uint32_t virq);
int em_upcall_pending(const struct em *m, unsigned dom, uint32_t vcpu);

/* Destruction: marks the domain dying and closes up to `limit` open ports (0: all) in
 * port order; returns the number still open. em_gone() when it has left the table. */
uint32_t em_destroy_step(struct em *m, unsigned dom, uint32_t limit);
void em_gone(struct em *m, unsigned dom);
uint32_t em_open_ports(const struct em *m, unsigned dom);

/* Guest writes to its own shared bits. */
void em_guest_bit(struct em *m, unsigned dom, int which_mask, uint32_t bit, int set);
void em_guest_vi(struct em *m, unsigned dom, uint32_t vcpu, uint32_t off, uint8_t val);

#endif
