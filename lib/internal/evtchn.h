/*
 * Event channels, 2-level ABI (evtchn.c): the per-domain port table in embedder memory,
 * each vCPU's VIRQ bindings, and the event-channel lock. Never installed.
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

/* One port, in the embedder's table; every field under the domain's event-channel lock. */
struct evtchn_port {
    uint8_t state;        /* ECS_* */
    uint8_t virq;         /* ECS_VIRQ: the VIRQ_* number */
    uint16_t remote_dom;  /* ECS_UNBOUND: the domain allowed to connect; ECS_INTERDOMAIN: the peer */
    uint32_t remote_port; /* ECS_INTERDOMAIN: the peer's port; ECS_PIRQ: the physical IRQ */
    uint32_t notify_vcpu; /* the vCPU it notifies: always below the domain's nr_vcpus */
};

struct domain_evtchn {
    struct spinlock lock;
    struct evtchn_port *ports; /* embedder memory (pvcore_domain_set_evtchn_table()); NULL: none */
    uint32_t nr_ports;         /* usable ports: the table's entries, at most the 2-level limit */
};

struct vcpu_evtchn {
    /* The port bound to each VIRQ on this vCPU, 0 for none (global VIRQs: on vCPU 0
     * only, whatever vCPU they notify). Under the domain's event-channel lock. */
    uint32_t virq_port[PVCORE_NR_VIRQS];
};

static inline void evtchn_domain_init(struct domain_evtchn *e)
{
    spin_init(&e->lock);
    e->ports = NULL;
    e->nr_ports = 0;
}

/*
 * Closes every port of dying domain d (an interdomain peer's end goes back to unbound),
 * charging the work to c. Returns 0 when none is left, -PVCORE_ERESTART when preempted
 * (call again: progress is made on every call). Called with no lock held.
 */
int evtchn_domain_destroy(struct call *c, struct domain *d);

/*
 * Whether port `port` of d is pending now (the ABI's pending bit, as the guest sees it):
 * 1 or 0, or -PVCORE_EINVAL for a port out of the domain's range. A snapshot: the guest
 * clears pending bits at any time. Called with no lock held (SCHEDOP_poll).
 */
int evtchn_port_pending(struct domain *d, uint32_t port);

#endif /* PVCORE_INTERNAL_EVTCHN_H */
