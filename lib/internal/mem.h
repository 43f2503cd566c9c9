/*
 * The three libc functions the core may use. Hosted builds take them from <string.h>;
 * freestanding builds declare them (the embedder provides them).
 */
#ifndef PVCORE_INTERNAL_MEM_H
#define PVCORE_INTERNAL_MEM_H

#include <stddef.h>

#if __STDC_HOSTED__
#include <string.h>
#else
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
#endif

#endif /* PVCORE_INTERNAL_MEM_H */
