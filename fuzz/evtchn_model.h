/*
 * evtchn_model: a model of Xen's 2-level event channels, written from the ABI (the rules
 * in <pvcore/evtchn.h> and Xen's behaviour), for fuzz_evtchn.c. It never calls the
 * library: it keeps its own ports, VIRQ bindings, shared-info bitmaps and vcpu_info bytes,
 * and predicts every result code (Xen's errno values, defined here on their own) and the
 * number of upcall kicks.
 *
 * Domains are numbered by their domid: 0 .. EM_NDOM-1.
 */
#ifndef PVCORE_FUZZ_EVTCHN_MODEL_H
#define PVCORE_FUZZ_EVTCHN_MODEL_H

#include <stdint.h>

#define EM_NDOM 3u
#define EM_MAX_VCPUS 8u
#define EM_MAX_PORTS 4096u
#define EM_NR_VIRQS 24u
#define EM_DOMID_SELF 0x7FF0u

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

/* EVTCHNSTAT_* values, as the status operation reports a port. */
enum { EM_CLOSED = 0, EM_UNBOUND, EM_INTERDOMAIN, EM_PIRQ, EM_VIRQ, EM_IPI };

struct em_port {
    uint8_t used;    /* allocated (port 0 never is: reserved) */
    uint8_t stat;    /* EM_* */
    uint16_t rdom;   /* unbound: who may bind; interdomain: the peer */
    uint32_t rport;  /* interdomain: the peer's port */
    uint32_t virq;   /* virq: its number */
    uint32_t vcpu;   /* the vCPU it notifies */
};

struct em_dom {
    int exists;  /* in the domain table (created, destruction not finished) */
    int dying;   /* destruction started */
    int priv;
    int is32;
    uint32_t nvcpus;
    uint32_t nports; /* usable ports (0: no table) */
    struct em_port port[EM_MAX_PORTS];
    uint32_t virq_port[EM_MAX_VCPUS][EM_NR_VIRQS]; /* 0: none */
    /* shared_info.evtchn_pending and evtchn_mask, as bytes (bit n = byte n/8, bit n%8) */
    uint8_t pending[512];
    uint8_t mask[512];
    /* the first 16 bytes of each vCPU's vcpu_info: upcall_pending (0), upcall_mask (1),
     * evtchn_pending_sel (4, 32-bit guests; 8, 64-bit guests) */
    uint8_t vi[EM_MAX_VCPUS][16];
};

struct em {
    struct em_dom d[EM_NDOM];
    uint64_t kicks; /* upcall_pending bit 0 went from clear to set */
};

/* Domain setup. */
void em_init(struct em *m);
void em_domain(struct em *m, unsigned id, int priv, int is32, uint32_t nvcpus, uint32_t nports);

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
int em_bind_pirq(struct em *m, unsigned caller);
int em_close(struct em *m, unsigned caller, uint32_t port);
int em_send(struct em *m, unsigned caller, uint32_t port);
/* status: out[24] is the structure as written back (in: as the guest passed it). */
int em_status(struct em *m, unsigned caller, uint8_t out[24]);
int em_bind_vcpu(struct em *m, unsigned caller, uint32_t port, uint32_t vcpu);
int em_unmask(struct em *m, unsigned caller, uint32_t port);
/* reset: `step_limit` closes at most that many ports (0: no limit); *more is set when
 * the call must be restarted with ports left open. */
int em_reset(struct em *m, unsigned caller, uint16_t dom, uint32_t step_limit, int *more);
int em_other_cmd(uint32_t cmd); /* any command not served: FIFO, unknown */

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
