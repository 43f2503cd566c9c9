/*
 * The machine-to-phys table and the domains' phys-to-machine tables, kept consistent
 * under machine->m2p_lock. A leaf. Never installed.
 */
#ifndef PVCORE_INTERNAL_M2P_H
#define PVCORE_INTERNAL_M2P_H

#include "internal/domain.h"

/* M2P[mfn] = gfn for a frame of d, keeping d's P2M (if any) consistent. */
void m2p_set(struct domain *d, uint64_t mfn, uint64_t gfn);
/* A frame of domain `owner` is being freed: forget it in the M2P and the owner's P2M. */
void m2p_forget(struct machine *m, uint16_t owner, uint64_t mfn);

/* M2P[mfn], for a frame whose entry nobody else can change meanwhile (one in transit). */
uint64_t m2p_get(struct machine *m, uint64_t mfn);

#endif /* PVCORE_INTERNAL_M2P_H */
