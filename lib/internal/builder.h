/*
 * The domain builder's two halves (<pvcore/builder.h>): the image reader (elf.c) hands
 * the loader (builder.c) each loadable segment. Never installed.
 */
#ifndef PVCORE_INTERNAL_BUILDER_H
#define PVCORE_INTERNAL_BUILDER_H

#include <stdint.h>

#include <pvcore/builder.h>

/* One loadable segment: copy `filesz` bytes of `src` to guest virtual address `va`, then
 * zeros up to `memsz`. Returns 0 or a negative error, which stops the walk. */
typedef int elf_segment_fn(void *ctx, uint64_t va, const uint8_t *src, uint64_t filesz,
                           uint64_t memsz);

/* Calls fn for each loadable segment of a parsed image, in program-header order, after
 * checking again that it lies in the image and in [kernel_start, kernel_end). */
int elf_for_each_segment(const struct pvcore_elf_info *in, elf_segment_fn *fn, void *ctx);

#endif /* PVCORE_INTERNAL_BUILDER_H */
