/**
 * @file
 * @brief The PV console back-end: drains a guest's console output ring and fills its
 *        input ring.
 *
 * A PV guest's console is one shared page (start_info.console.domU.mfn, laid out as
 * struct pvcore_xencons_interface) and one event channel (start_info.console.domU.evtchn).
 * The guest writes its output into `out` and advances `out_prod`; the back-end copies it
 * out and advances `out_cons`. The back-end writes keyboard input into `in` and advances
 * `in_prod`; the guest consumes it and advances `in_cons`. The embedder maps the page and
 * passes a pointer to it; these functions keep no state of their own, so any number of
 * consoles can be served, and a console can be served from any thread that maps the page.
 *
 * @par When to call
 * Drain when the guest signals its console event channel, and when it yields or blocks:
 * guests such as GRUB spin on `sched_op(yield)` until `out_cons == out_prod`. Fill when
 * input arrives (a serial port, a socket).
 *
 * @par Notification
 * Both functions return how many bytes they moved. A positive count means the shared
 * page changed in a way the guest may be waiting for (space freed in `out`, bytes added
 * to `in`): the caller should then notify the guest's console event channel (a back-end
 * domain does #PVCORE_EVTCHNOP_send on its end of the interdomain channel; a hypervisor that
 * is itself the back-end sets the guest's port pending by its own means). A count of 0
 * changed nothing and needs no notification.
 *
 * @par A hostile guest
 * All four indices live in memory the guest can write at any time, so each is read once
 * per call and checked before use: the bytes a call reads or writes are always inside
 * `out[2048]` or `in[1024]`, whatever the indices say. A ring whose producer is more than
 * the ring's size ahead of its consumer (`out_prod - out_cons > 2048`, or
 * `in_prod - in_cons > 1024`) is broken: the call returns -PVCORE_EIO and changes
 * nothing. The guest can repair its indices and the next call works again; an embedder
 * that gives up on the console instead simply stops calling. Bytes the guest changes
 * while they are being copied reach the caller as whatever the copy saw: only the guest's
 * own output is affected.
 *
 * @par Concurrency
 * No locks. Each call orders its accesses to the page with acquire and release barriers
 * (see console.c), so it can run concurrently with the guest on another CPU. Two
 * concurrent drains (or two concurrent fills) of the same page are the caller's to
 * serialise; a drain and a fill of the same page may run concurrently.
 */
#ifndef PVCORE_CONSOLE_H
#define PVCORE_CONSOLE_H

#include <stddef.h>

#include <pvcore/export.h>
#include <pvcore/abi/console.h>

PVCORE_BEGIN_DECLS

/**
 * @brief Copies the guest's pending console output into `buf` and frees that space in
 *        the ring (advances `out_cons`).
 *
 * @param intf The guest's console page, mapped by the embedder.
 * @param buf  Receives the bytes, oldest first; nothing is written past `cap`. May be
 *             NULL when `cap` is 0.
 * @param cap  Size of `buf` in bytes. Output beyond it stays in the ring for the next
 *             call.
 * @return The number of bytes copied and consumed, from 0 to min(cap, 2048); the caller
 *         should notify the guest's console event channel when it is positive (space was
 *         freed). -PVCORE_EINVAL for a NULL `intf`, or a NULL `buf` with `cap` > 0;
 *         -PVCORE_EIO when the indices are inconsistent (`out_prod - out_cons` exceeds
 *         the ring's 2048 bytes): nothing is read or consumed.
 * @note Lock-free; see the file comment for what may run concurrently.
 */
PVCORE_API int pvcore_console_drain(struct pvcore_xencons_interface *intf, void *buf, size_t cap);

/**
 * @brief Copies input bytes for the guest into the ring's free space (advances
 *        `in_prod`).
 *
 * @param intf The guest's console page, mapped by the embedder.
 * @param data The bytes to deliver, in order. May be NULL when `len` is 0.
 * @param len  Number of bytes offered. Only as many as the ring has room for (1024 minus
 *             the bytes the guest has not consumed yet) are taken; the caller keeps the
 *             rest and offers it again after the guest has read some (it signals the
 *             event channel when it does).
 * @return The number of bytes taken, from 0 to min(len, 1024), the first ones of `data`;
 *         the caller should notify the guest's console event channel when it is positive.
 *         -PVCORE_EINVAL for a NULL `intf`, or a NULL `data` with `len` > 0;
 *         -PVCORE_EIO when the indices are inconsistent (`in_prod - in_cons` exceeds the
 *         ring's 1024 bytes): nothing is written.
 * @note Lock-free; see the file comment for what may run concurrently.
 */
PVCORE_API int pvcore_console_fill(struct pvcore_xencons_interface *intf, const void *data,
                                   size_t len);

PVCORE_END_DECLS

#endif /* PVCORE_CONSOLE_H */
