/*
 * The frame source's side for other units (memory.c): frames from the embedder's
 * allocator, taken into transit. Never installed.
 */
#ifndef PVCORE_INTERNAL_MEMORY_H
#define PVCORE_INTERNAL_MEMORY_H

#include "internal/domain.h"

/* 2^order contiguous frames for domain d from the frame source, in transit (frame.h),
 * below 2^bits bytes (0: anywhere; a 32-bit domain's are below 2^44 whatever `bits`).
 * 0, or -PVCORE_ENOMEM (no source, nothing suitable, or the source broke its contract). */
int memory_alloc_transit(struct machine *m, const struct domain *d, unsigned order, unsigned bits,
                         uint64_t *first);

#endif /* PVCORE_INTERNAL_MEMORY_H */
