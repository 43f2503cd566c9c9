/*
 * The PV console back-end (<pvcore/console.h>): two byte rings in a page the guest
 * shares, with no state of our own.
 *
 * Every index lives in guest-writable memory, so each is loaded exactly once per call
 * (through an atomic load: the guest writes it concurrently) and the arithmetic works on
 * that snapshot. Offsets into the rings are always reduced with the ring mask, so no
 * index value, however hostile, can move a copy outside `in` or `out`; the only check
 * that matters for safety is the one that refuses more outstanding bytes than the ring
 * holds, because such a count would make us copy stale bytes twice (out) or overwrite
 * bytes the guest has not read (in).
 */
#include <pvcore/console.h>

#include "internal/base.h"

#define OUT_SIZE ((uint32_t)sizeof(((struct pvcore_xencons_interface *)0)->out))
#define IN_SIZE ((uint32_t)sizeof(((struct pvcore_xencons_interface *)0)->in))

_Static_assert((OUT_SIZE & (OUT_SIZE - 1u)) == 0 && (IN_SIZE & (IN_SIZE - 1u)) == 0,
               "console rings are powers of two");

static _Atomic uint32_t *idx(pvcore_xencons_ring_idx_t *p)
{
    return (_Atomic uint32_t *)(void *)p;
}

int pvcore_console_drain(struct pvcore_xencons_interface *intf, void *buf, size_t cap)
{
    if (intf == NULL || (buf == NULL && cap > 0)) {
        return -PVCORE_EINVAL;
    }
    /* acquire: the output bytes below are read only after the producer index that
     * published them, so we never copy a byte the guest has not finished writing. */
    uint32_t prod = atomic_load_explicit(idx(&intf->out_prod), memory_order_acquire);
    uint32_t cons = atomic_load_explicit(idx(&intf->out_cons), memory_order_relaxed);
    uint32_t pending = prod - cons;
    if (pending > OUT_SIZE) {
        return -PVCORE_EIO;
    }
    uint32_t n = pending;
    if (cap < n) {
        n = (uint32_t)cap;
    }
    if (n == 0) {
        return 0;
    }
    uint32_t off = cons & (OUT_SIZE - 1u);
    uint32_t first = OUT_SIZE - off;
    if (first > n) {
        first = n;
    }
    memcpy(buf, &intf->out[off], first);
    memcpy((uint8_t *)buf + first, &intf->out[0], n - first);
    /* release: our reads of the bytes complete before the guest sees the space freed and
     * may overwrite them. */
    atomic_store_explicit(idx(&intf->out_cons), cons + n, memory_order_release);
    return (int)n;
}

int pvcore_console_fill(struct pvcore_xencons_interface *intf, const void *data, size_t len)
{
    if (intf == NULL || (data == NULL && len > 0)) {
        return -PVCORE_EINVAL;
    }
    /* acquire: the guest's reads of the bytes it consumed happen before our writes into
     * the space its consumer index frees. */
    uint32_t cons = atomic_load_explicit(idx(&intf->in_cons), memory_order_acquire);
    uint32_t prod = atomic_load_explicit(idx(&intf->in_prod), memory_order_relaxed);
    uint32_t used = prod - cons;
    if (used > IN_SIZE) {
        return -PVCORE_EIO;
    }
    uint32_t n = IN_SIZE - used;
    if (len < n) {
        n = (uint32_t)len;
    }
    if (n == 0) {
        return 0;
    }
    uint32_t off = prod & (IN_SIZE - 1u);
    uint32_t first = IN_SIZE - off;
    if (first > n) {
        first = n;
    }
    memcpy(&intf->in[off], data, first);
    memcpy(&intf->in[0], (const uint8_t *)data + first, n - first);
    /* release: the input bytes are written before the producer index that publishes
     * them, so the guest never reads a byte before it is there. */
    atomic_store_explicit(idx(&intf->in_prod), prod + n, memory_order_release);
    return (int)n;
}
