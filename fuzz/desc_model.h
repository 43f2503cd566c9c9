/*
 * An independent model of the descriptor check, written from the ABI's rules (reference
 * §4.3) without looking at lib/desc_check.c: the descriptor is decoded into its fields,
 * the rules are applied to the fields, and the result encoded again.
 */
#ifndef PVCORE_FUZZ_DESC_MODEL_H
#define PVCORE_FUZZ_DESC_MODEL_H

#include <stdint.h>

/* 1: accepted, *out the descriptor as it must be stored; 0: refused. */
int desc_model_check(int is32, uint64_t in, uint64_t *out);

#endif
