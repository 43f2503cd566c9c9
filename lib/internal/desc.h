/*
 * Descriptor tables: the descriptor check and the descriptor-page type's validator
 * (desc_check.c, which calls nothing above the frame table, so that the type machinery
 * can dispatch to it without a call cycle), and the GDT, LDT and update_descriptor
 * (desc.c). Never installed.
 *
 * Holders of descriptor-page references outside the frame table, each one general and one
 * type reference: vcpu_cpu.gdt_frames[0, ceil(gdt_ents / 512)) and every vcpu_cpu.ldt_frames
 * slot that is not INVALID_MFN (cpu.h). The invariant checker counts them (check.c).
 */
#ifndef PVCORE_INTERNAL_DESC_H
#define PVCORE_INTERNAL_DESC_H

#include <pvcore/desc.h>

#include "internal/pagetype.h"

#define DESC_PER_FRAME PVCORE_DESC_PER_FRAME

/* Descriptors are read and written whole: the processor may load one while we write it. */
static inline uint64_t desc_read(const uint64_t *p)
{
    return atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)p, memory_order_relaxed);
}

static inline void desc_write(uint64_t *p, uint64_t v)
{
    atomic_store_explicit((_Atomic uint64_t *)(void *)p, v, memory_order_release);
}

/* Frames of a GDT of `ents` entries. */
static inline uint32_t desc_gdt_frames(uint32_t ents)
{
    return (ents + DESC_PER_FRAME - 1u) / DESC_PER_FRAME;
}

/* The descriptor-page type's validator (desc_check.c): checks and fixes up every
 * descriptor, all or nothing; nothing to release on devalidation (no devalidate). */
extern const struct pagetype_ops desc_type_ops;

/* The check of pvcore_desc_check(), for a domain's word size. */
bool desc_check(bool is32, uint64_t *desc);

/* A fresh vCPU's descriptor-table state: no GDT, no LDT frames (called by
 * cpu_state_init()). */
void desc_state_init(struct vcpu *v);

/* Drops the references of v's mapped LDT frames, with its domain's lock held. true: some
 * were mapped, and the caller must have the vCPU's TLB flushed before it next runs (the
 * embedder's LDT mappings go with it, <pvcore/desc.h>). */
bool desc_ldt_release(const struct domain_locked *dl, struct vcpu *v);

/* Drops every GDT and LDT reference of v (domain destruction), with the lock held. */
void desc_vcpu_release(const struct domain_locked *dl, struct vcpu *v);

/* set_gdt and update_descriptor on the caller's context, for the decoder (hcall_desc.c);
 * the call holds no lock. */
int desc_set_gdt(struct call *call, struct vcpu *v, const uint64_t *frames, uint32_t entries);
int desc_update(struct call *call, struct vcpu *v, uint64_t maddr, uint64_t desc);

#endif /* PVCORE_INTERNAL_DESC_H */
