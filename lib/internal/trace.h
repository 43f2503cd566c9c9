/*
 * Recording why a request was refused (<pvcore/trace.h>), into the call's context, at the
 * point where a rule refuses it. Only refusal paths call these; they are out of line and
 * cold, so the hot inline code of an update carries no more than the call. Never
 * installed.
 */
#ifndef PVCORE_INTERNAL_TRACE_H
#define PVCORE_INTERNAL_TRACE_H

#include <pvcore/trace.h>

#include "internal/domain.h"

/* Records rule `code` about frame `mfn` (INVALID_MFN: none) unless an inner rule was
 * recorded already; returns err, so that a refusal reads `return call_refuse(...)`. */
PVCORE_COLD int call_refuse(struct call *c, int err, unsigned code, uint64_t mfn);

/* Records the entry being checked when a rule refused err: `slot` (PVCORE_REFUSAL_NO_SLOT:
 * a whole table) of `table`, of `level`, unless an inner entry was recorded already.
 * -PVCORE_ERESTART is no refusal: nothing is recorded. Returns err. */
PVCORE_COLD int call_refuse_at(struct call *c, int err, unsigned level, unsigned slot,
                               uint64_t table);

/* Forgets what was recorded: a refusal the caller recovered from (it tries another rule). */
static inline void call_refuse_clear(struct call *c)
{
    c->refusal.code = 0;
    c->refusal.at_set = false;
}

#endif /* PVCORE_INTERNAL_TRACE_H */
