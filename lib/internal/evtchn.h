/*
 * Event channels, 2-level and FIFO ABIs (evtchn.c): the per-domain port table in embedder
 * memory, each vCPU's VIRQ bindings and FIFO queues, and the event-channel lock. Never installed.
 *
 * Included by domain.h (struct domain and struct vcpu embed the state below), so it
 * depends on nothing but the basics and the wire ABI.
 *
 * Lock: domain_evtchn.lock is place 3 of the lock order (domain.c): under a domain's
 * mmu_lock if both are ever held; two domains' event-channel locks only through
 * evt_lock2() in evtchn.c, which takes the lower domid's first. Nothing but atomic bit
 * operations on the shared-info page and vcpu_info (guest frames, through the directmap)
 * runs under it: no guest copy, no host hook.
 */
#ifndef PVCORE_INTERNAL_EVTCHN_H
#define PVCORE_INTERNAL_EVTCHN_H

#include <pvcore/abi/event_channel.h>
#include <pvcore/evtchn.h>

#include "internal/base.h"

struct call;
struct domain;

/* A port's state (Xen's ECS_*; EVTCHNSTAT_* is what status reports of it). */
enum {
    ECS_FREE = 0,
    ECS_RESERVED,    /* port 0: never allocated */
    ECS_UNBOUND,
    ECS_INTERDOMAIN,
    ECS_PIRQ,
    ECS_VIRQ,
    ECS_IPI
};

/* One port, in the embedder's table (16 bytes); every field under the domain's
 * event-channel lock. */
struct evtchn_port {
    uint8_t state;        /* ECS_* */
    uint8_t virq;         /* ECS_VIRQ: the VIRQ_* number */
    uint16_t remote_dom;  /* ECS_UNBOUND: the domain allowed to connect; ECS_INTERDOMAIN: the peer */
    uint32_t remote_port; /* ECS_INTERDOMAIN: the peer's port; ECS_PIRQ: the physical IRQ */
    uint16_t notify_vcpu; /* the vCPU it notifies: always below the domain's nr_vcpus */
    /* FIFO ABI: */
    uint16_t last_vcpu;   /* the vCPU whose queue it was last linked onto */
    uint8_t priority;     /* the queue of its next link (EVTCHNOP_set_priority) */
    uint8_t last_priority; /* ... and the queue it was last linked onto */
    uint8_t held_pending; /* became pending while the event array had no word for it */
    uint8_t _pad;
};

/* The FIFO ABI's pages: the event array, held with writable references (held.h). */
#define EVTCHN_FIFO_MAX_PAGES (PVCORE_EVTCHN_FIFO_NR_CHANNELS / 1024u)

struct domain_evtchn {
    struct spinlock lock;
    struct evtchn_port *ports; /* embedder memory (pvcore_domain_set_evtchn_table()); NULL: none */
    uint32_t nr_ports;         /* usable ports: the table's entries, at most the ABI's limit */
    uint32_t table_ports;      /* the table's entries */
    uint32_t free_hint;        /* no port below it is free (port allocation starts there) */
    bool fifo;                 /* the FIFO ABI (EVTCHNOP_init_control), else 2-level */
    uint32_t fifo_pages;       /* event-array pages: ports below 1024 times this have a word */
    uint64_t fifo_page[EVTCHN_FIFO_MAX_PAGES]; /* their MFNs */
    /* The port bound to each physical IRQ (EVTCHNOP_bind_pirq), 0 for none, PIRQ_BINDING
     * while the embedder's pirq_bind hook runs (no lock is held across it). */
    uint32_t pirq_port[PVCORE_NR_PIRQS];
};

#define PIRQ_BINDING 0xFFFFFFFFu

struct vcpu_evtchn {
    /* The port bound to each VIRQ on this vCPU, 0 for none (global VIRQs: on vCPU 0
     * only, whatever vCPU they notify). Under the domain's event-channel lock. */
    uint32_t virq_port[PVCORE_NR_VIRQS];
    /* FIFO ABI, under the same lock: the control block (a held frame and the block's
     * offset in it) and each queue's tail port, which only the hypervisor knows (0: the
     * queue is empty as far as it linked). */
    bool fifo_cb;
    uint32_t fifo_cb_off;
    uint64_t fifo_cb_mfn;
    uint32_t fifo_tail[PVCORE_EVTCHN_FIFO_MAX_QUEUES];
};

static inline void evtchn_domain_init(struct domain_evtchn *e)
{
    spin_init(&e->lock);
    e->ports = NULL;
    e->nr_ports = 0;
    e->table_ports = 0;
    e->free_hint = 1;
    e->fifo = false;
    e->fifo_pages = 0;
}

/*
 * Closes every port of dying domain d (an interdomain peer's end goes back to unbound)
 * and lets go of its FIFO pages, charging the work to c. Returns 0 when none is left,
 * -PVCORE_ERESTART when preempted (call again: progress is made on every call). Called
 * with no lock held.
 */
int evtchn_domain_destroy(struct call *c, struct domain *d);

/*
 * Whether port `port` of d is pending now (the ABI's pending bit, as the guest sees it):
 * 1 or 0, or -PVCORE_EINVAL for a port out of the domain's range. A snapshot: the guest
 * clears pending bits at any time. Called with no lock held (SCHEDOP_poll).
 */
int evtchn_port_pending(struct domain *d, uint32_t port);

#endif /* PVCORE_INTERNAL_EVTCHN_H */
