/**
 * @file
 * @brief Guest side of event channels: the dispatcher a PV guest kernel runs on an
 *        upcall, for the 2-level and the FIFO ABI.
 *
 * This part of libpvcore runs inside a guest, not in the hypervisor. It is built as its
 * own library (`pvcore_guest`), needs nothing from libc beyond memcpy/memset/memcmp, and
 * depends only on the wire ABI (<pvcore/abi/event_channel.h>, <pvcore/abi/xen.h>). It
 * serves both guest widths from one build: a 64-bit guest's shared-info layout (64-bit
 * `xen_ulong_t`, 4096 2-level ports) and a 32-bit guest's (32-bit, 1024 ports).
 *
 * @par What the kernel supplies
 * - memory for the dispatcher: pvcore_guest_evtchn_size() bytes, 8-byte aligned, holding
 *   the per-vCPU state and the port table (one entry per port the kernel may bind);
 * - its mapped shared-info page, and a vcpu_info for each vCPU (by default the ones
 *   inside the shared-info page for vCPUs 0 to 31; pvcore_guest_evtchn_set_vcpu_info()
 *   for others, or after #PVCORE_VCPUOP_register_vcpu_info);
 * - a function that issues `event_channel_op(cmd, arg)` from the calling vCPU
 *   (#pvcore_guest_evtchn_op_fn);
 * - for FIFO: a control block per vCPU and event-array pages (virtual address and guest
 *   frame of each), pvcore_guest_evtchn_fifo_init_control() and
 *   pvcore_guest_evtchn_fifo_expand().
 *
 * @par Binding
 * A port is bound to a handler (struct pvcore_guest_evtchn_handler, kernel memory, left
 * unchanged while bound) and to the vCPU it notifies. pvcore_guest_evtchn_bind() binds a
 * port the kernel obtained itself; the helpers (pvcore_guest_evtchn_bind_virq(), ...)
 * issue the EVTCHNOP and bind the result in one call. Binding does not unmask: unmask the
 * port (pvcore_guest_evtchn_unmask()) once the handler may run.
 *
 * @par Dispatch
 * The kernel's upcall handler calls pvcore_guest_evtchn_dispatch() for the vCPU it runs
 * on, with that vCPU's events masked (as the upcall is entered). It clears
 * `evtchn_upcall_pending`, then consumes the pending events and calls each bound,
 * unmasked port's handler once per consumption:
 * - 2-level: the selector is exchanged with 0; each selected word's pending and unmasked
 *   ports are taken in order, resuming after the last port handled (round-robin across
 *   calls); a port's pending bit is cleared before its handler runs; ports bound to
 *   another vCPU are left pending for it.
 * - FIFO: the highest-priority ready queue is served first, one event at a time, and the
 *   ready word is read again after each event, so a higher-priority event overtakes the
 *   rest of a lower queue. Each event is unlinked (LINKED and LINK cleared together) and
 *   its PENDING bit cleared before its handler runs; a masked event keeps PENDING, so
 *   that unmasking delivers it.
 * Both repeat while `evtchn_upcall_pending` was set again during the scan. Pending ports
 * that are not bound (or beyond the port table) are cleared and ignored.
 *
 * @par Cost and bounds
 * The work of one call is proportional to the events it consumes, never to the number of
 * bound ports. It is also bounded: one call does at most 2 x (bound ports) + 64 steps (a
 * step is one port or queue entry examined, or one more round). A hypervisor that keeps
 * setting events, or links a queue into a cycle or to a port out of range, cannot keep
 * the guest in the dispatcher: a LINK outside the event array or the port table ends the
 * queue, a cycle ends when it reaches an entry already unlinked, and when the steps run
 * out the call leaves the unconsumed selector or ready bits and `evtchn_upcall_pending`
 * set again and returns, so the upcall is re-entered when events are next enabled.
 *
 * @par Concurrency
 * Different vCPUs dispatch at the same time (each its own vcpu_info, control block and
 * state; the port table is shared). All access to shared memory is atomic, since the
 * hypervisor changes the same words concurrently. Bind, unbind, mask and unmask may be
 * called from any vCPU, also from a handler during dispatch (a handler may unbind or bind
 * any port, its own included). A dispatch is not re-entered on the same vCPU: a nested
 * call returns -PVCORE_EBUSY and the outer call picks up the new events. After
 * pvcore_guest_evtchn_unbind() another vCPU may still be running the old handler;
 * before freeing it, wait for every other vCPU whose pvcore_guest_evtchn_dispatch_seq()
 * is odd until that value changes.
 *
 * Functions return 0 (or a count) or a negative `PVCORE_E*` (<pvcore/abi/errno.h>);
 * hypercall errors are passed back unchanged.
 */
#ifndef PVCORE_GUEST_EVTCHN_H
#define PVCORE_GUEST_EVTCHN_H

#include <stddef.h>
#include <stdint.h>

#include <pvcore/abi/errno.h>
#include <pvcore/abi/event_channel.h>
#include <pvcore/abi/xen.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @defgroup pvcore_guest_evtchn Guest event-channel dispatcher
 * @brief Port-to-handler binding, masking and upcall dispatch inside a PV guest.
 * @{
 */

/** Dispatcher mode: the 2-level ABI in shared_info (the state after init). */
#define PVCORE_GUEST_EVTCHN_2L 0
/** Dispatcher mode: the FIFO ABI (after the first successful pvcore_guest_evtchn_fifo_init_control()). */
#define PVCORE_GUEST_EVTCHN_FIFO 1

/** The most vCPUs one dispatcher serves. */
#define PVCORE_GUEST_EVTCHN_MAX_VCPUS 8192U
/** The most ports one dispatcher's table holds (the FIFO ABI's limit, 131072). */
#define PVCORE_GUEST_EVTCHN_MAX_PORTS 131072U
/** Event words per FIFO event-array page (one 4 KiB page of 32-bit words). */
#define PVCORE_GUEST_EVTCHN_WORDS_PER_PAGE 1024U

/**
 * The kernel's way to issue `event_channel_op(cmd, arg)` from the vCPU that calls it.
 * @param ctx The kernel's context (struct pvcore_guest_evtchn_config::op_ctx).
 * @param cmd An EVTCHNOP_* command.
 * @param arg The command's structure, in the dispatcher's caller's stack (the kernel
 *            passes its address, or a copy, to the hypervisor; results are read back
 *            from it).
 * @return The hypercall's result: 0, or a negative `PVCORE_E*`.
 */
typedef int64_t (*pvcore_guest_evtchn_op_fn)(void *ctx, uint32_t cmd, void *arg);

/**
 * A port's handler, called by pvcore_guest_evtchn_dispatch() with the vCPU's events
 * masked. It may bind, unbind, mask, unmask and notify ports (not dispatch).
 * @param arg  struct pvcore_guest_evtchn_handler::arg.
 * @param port The port that was pending.
 * @param vcpu The vCPU dispatching it.
 */
typedef void (*pvcore_guest_evtchn_fn)(void *arg, uint32_t port, uint32_t vcpu);

/**
 * What to call for a port. Kernel memory: it must stay unchanged and valid while the
 * port is bound, and after unbinding until no other vCPU can still be dispatching it (see
 * pvcore_guest_evtchn_dispatch_seq()). One handler may serve several ports.
 */
struct pvcore_guest_evtchn_handler {
    pvcore_guest_evtchn_fn fn; /**< The function; not NULL. */
    void *arg;                 /**< Its first argument. */
};

/** The kernel's description of its event-channel setup, read by pvcore_guest_evtchn_init(). */
struct pvcore_guest_evtchn_config {
    void *shared_info;                        /**< The mapped shared-info page (struct pvcore_shared_info_x86_64 or _x86_32). */
    uint32_t width;                           /**< The guest's `xen_ulong_t` width in bits: 64 (64-bit guest) or 32 (32-bit guest). */
    uint32_t nr_vcpus;                        /**< vCPUs served, 1 to #PVCORE_GUEST_EVTCHN_MAX_VCPUS. */
    uint32_t nr_ports;                        /**< Port-table entries, 2 to #PVCORE_GUEST_EVTCHN_MAX_PORTS (ports 1 to nr_ports - 1 can be bound). */
    pvcore_guest_evtchn_op_fn event_channel_op; /**< How to issue event_channel_op; not NULL. */
    void *op_ctx;                             /**< First argument of event_channel_op. */
};

/** A dispatcher, in memory the kernel supplies (opaque). */
struct pvcore_guest_evtchn;

/**
 * @brief Bytes of memory a dispatcher needs.
 * @param nr_vcpus vCPUs, 1 to #PVCORE_GUEST_EVTCHN_MAX_VCPUS.
 * @param nr_ports Port-table entries, 2 to #PVCORE_GUEST_EVTCHN_MAX_PORTS (a 2-level
 *                 guest uses at most 4096, or 1024 for a 32-bit guest; the table is
 *                 about 16 bytes per entry on x86-64, 8 on i386).
 * @return The size, or 0 for an argument out of range.
 */
size_t pvcore_guest_evtchn_size(uint32_t nr_vcpus, uint32_t nr_ports);

/**
 * @brief Creates a dispatcher in 2-level mode, with no port bound.
 *
 * vCPUs 0 to 31 get the vcpu_info inside the shared-info page; others have none until
 * pvcore_guest_evtchn_set_vcpu_info(). Shared memory is not written.
 *
 * @param mem   pvcore_guest_evtchn_size() bytes, 8-byte aligned, kept for the
 *              dispatcher's lifetime (cleared here).
 * @param bytes Size of `mem`.
 * @param cfg   The setup (read once).
 * @param out   Receives the dispatcher (a pointer into `mem`).
 * @return 0; -PVCORE_EINVAL for a NULL or misaligned argument, a width other than 32 or
 *         64, counts out of range, a missing event_channel_op, or `bytes` too small.
 * @note Not thread-safe with respect to other calls on the same memory.
 */
int pvcore_guest_evtchn_init(void *mem, size_t bytes, const struct pvcore_guest_evtchn_config *cfg,
                             struct pvcore_guest_evtchn **out);

/**
 * @brief Sets the vcpu_info a vCPU's dispatch uses (after #PVCORE_VCPUOP_register_vcpu_info, or
 *        for vCPUs from 32 up).
 * @param g         The dispatcher.
 * @param vcpu      The vCPU.
 * @param vcpu_info Its mapped vcpu_info (struct pvcore_vcpu_info_x86_64 or _x86_32), or
 *                  NULL for none (its dispatch then fails with -PVCORE_ENOENT).
 * @return 0; -PVCORE_EINVAL for a NULL dispatcher or a vCPU out of range.
 * @note Call while the vCPU is not dispatching (its events masked).
 */
int pvcore_guest_evtchn_set_vcpu_info(struct pvcore_guest_evtchn *g, uint32_t vcpu, void *vcpu_info);

/**
 * @brief The dispatcher's mode.
 * @param g The dispatcher.
 * @return #PVCORE_GUEST_EVTCHN_2L or #PVCORE_GUEST_EVTCHN_FIFO.
 */
uint32_t pvcore_guest_evtchn_mode(const struct pvcore_guest_evtchn *g);

/**
 * @brief The ports that can be bound now: 1 to the result minus one.
 *
 * 2-level: the port table's size, at most width x width (4096 or 1024). FIFO: the port
 * table's size, at most 2^link_bits (as init_control reported).
 * @param g The dispatcher.
 * @return The bound on port numbers.
 */
uint32_t pvcore_guest_evtchn_nr_ports(const struct pvcore_guest_evtchn *g);

/**
 * @brief The number of ports bound to a handler.
 * @param g The dispatcher.
 * @return The count.
 */
uint32_t pvcore_guest_evtchn_nr_bound(const struct pvcore_guest_evtchn *g);

/**
 * @brief Binds a port the kernel already obtained (EVTCHNOP_bind_*, alloc_unbound) to a
 *        handler; does not change its mask.
 * @param g    The dispatcher.
 * @param port The port, 1 to pvcore_guest_evtchn_nr_ports() - 1.
 * @param vcpu The vCPU the port notifies (the one it was bound on; vCPU 0 for
 *             interdomain and unbound ports). Under the 2-level ABI only that vCPU's
 *             dispatch takes the port.
 * @param h    The handler (see struct pvcore_guest_evtchn_handler for its lifetime).
 * @return 0; -PVCORE_EINVAL for a port or vCPU out of range, or a NULL handler or
 *         function; -PVCORE_EEXIST if the port is bound already.
 * @note Thread-safe; may be called from a handler.
 */
int pvcore_guest_evtchn_bind(struct pvcore_guest_evtchn *g, uint32_t port, uint32_t vcpu,
                             const struct pvcore_guest_evtchn_handler *h);

/**
 * @brief Unbinds a port: from now on no dispatch calls its handler (one already running
 *        on another vCPU may finish). The port stays open and its mask is unchanged;
 *        pending events of an unbound port are cleared and ignored.
 * @param g    The dispatcher.
 * @param port The port.
 * @return 0; -PVCORE_EINVAL for a port out of range; -PVCORE_ENOENT if it is not bound.
 * @note Thread-safe; may be called from a handler (its own port too).
 */
int pvcore_guest_evtchn_unbind(struct pvcore_guest_evtchn *g, uint32_t port);

/**
 * @brief #PVCORE_EVTCHNOP_bind_virq, then binds the new port to `h` on `vcpu`.
 * @param g    The dispatcher.
 * @param virq A VIRQ_* number.
 * @param vcpu The vCPU (vCPU 0 for a global VIRQ).
 * @param h    The handler.
 * @param port Receives the new port (may be NULL).
 * @return 0; the hypercall's error; the errors of pvcore_guest_evtchn_bind(), after
 *         which the new port is closed again (-PVCORE_EINVAL before the hypercall for a
 *         vCPU out of range or a NULL handler).
 */
int pvcore_guest_evtchn_bind_virq(struct pvcore_guest_evtchn *g, uint32_t virq, uint32_t vcpu,
                                  const struct pvcore_guest_evtchn_handler *h, uint32_t *port);

/**
 * @brief #PVCORE_EVTCHNOP_bind_ipi, then binds the new port to `h` on `vcpu`.
 * @param g    The dispatcher.
 * @param vcpu The vCPU the IPI notifies.
 * @param h    The handler.
 * @param port Receives the new port (may be NULL).
 * @return As pvcore_guest_evtchn_bind_virq().
 */
int pvcore_guest_evtchn_bind_ipi(struct pvcore_guest_evtchn *g, uint32_t vcpu,
                                 const struct pvcore_guest_evtchn_handler *h, uint32_t *port);

/**
 * @brief #PVCORE_EVTCHNOP_bind_interdomain, then binds the new local port (which the hypervisor
 *        leaves pending) to `h` on vCPU 0.
 * @param g           The dispatcher.
 * @param remote_dom  The peer domain.
 * @param remote_port The peer's unbound port.
 * @param h           The handler.
 * @param port        Receives the new local port (may be NULL).
 * @return As pvcore_guest_evtchn_bind_virq().
 */
int pvcore_guest_evtchn_bind_interdomain(struct pvcore_guest_evtchn *g, pvcore_domid_t remote_dom,
                                         uint32_t remote_port,
                                         const struct pvcore_guest_evtchn_handler *h, uint32_t *port);

/**
 * @brief #PVCORE_EVTCHNOP_alloc_unbound (in DOMID_SELF), then binds the new port to `h` on vCPU 0.
 * @param g          The dispatcher.
 * @param remote_dom The domain allowed to connect.
 * @param h          The handler.
 * @param port       Receives the new port (may be NULL).
 * @return As pvcore_guest_evtchn_bind_virq().
 */
int pvcore_guest_evtchn_alloc_unbound(struct pvcore_guest_evtchn *g, pvcore_domid_t remote_dom,
                                      const struct pvcore_guest_evtchn_handler *h, uint32_t *port);

/**
 * @brief Masks the port, unbinds it if bound, and closes it (#PVCORE_EVTCHNOP_close).
 * @param g    The dispatcher.
 * @param port The port.
 * @return 0; -PVCORE_EINVAL for a port out of range; the hypercall's error.
 */
int pvcore_guest_evtchn_close(struct pvcore_guest_evtchn *g, uint32_t port);

/**
 * @brief Moves a port to another vCPU (#PVCORE_EVTCHNOP_bind_vcpu) and records it, masked
 *        meanwhile; unmasked again afterwards if it was unmasked, so an event that arrived
 *        during the move is delivered to the new vCPU.
 * @param g    The dispatcher.
 * @param port The port.
 * @param vcpu The vCPU to notify from now on.
 * @return 0; -PVCORE_EINVAL for a port or vCPU out of range; the hypercall's error (the
 *         record and the mask then as before).
 */
int pvcore_guest_evtchn_move(struct pvcore_guest_evtchn *g, uint32_t port, uint32_t vcpu);

/**
 * @brief Notifies the other end of a port (#PVCORE_EVTCHNOP_send).
 * @param g    The dispatcher.
 * @param port The local port.
 * @return 0, or the hypercall's error.
 */
int pvcore_guest_evtchn_notify(struct pvcore_guest_evtchn *g, uint32_t port);

/**
 * @brief Masks a port: its events stay pending and are not delivered until unmasked.
 * @param g    The dispatcher.
 * @param port The port.
 * @return 0; -PVCORE_EINVAL for a port out of range; -PVCORE_ENOSPC (FIFO) if the port
 *         has no event word yet (pvcore_guest_evtchn_fifo_expand()).
 * @note Thread-safe; one atomic operation on shared memory.
 */
int pvcore_guest_evtchn_mask(struct pvcore_guest_evtchn *g, uint32_t port);

/**
 * @brief Unmasks a port, and has a pending event of it delivered.
 *
 * 2-level: if the port is pending, #PVCORE_EVTCHNOP_unmask (the hypervisor clears the mask and
 * delivers to the port's vCPU); otherwise the mask bit is cleared here, and if the port
 * became pending meanwhile it is masked again and unmasked by the hypercall. FIFO: MASKED
 * is cleared with a compare-and-swap that waits while the hypervisor holds BUSY; if the
 * word was PENDING, #PVCORE_EVTCHNOP_unmask relinks it.
 *
 * @param g    The dispatcher.
 * @param port The port.
 * @return 0; -PVCORE_EINVAL for a port out of range; -PVCORE_ENOSPC (FIFO) no event word
 *         yet; -PVCORE_EAGAIN (FIFO) if BUSY stayed set for too long (a hostile
 *         hypervisor); the hypercall's error.
 * @note Thread-safe.
 */
int pvcore_guest_evtchn_unmask(struct pvcore_guest_evtchn *g, uint32_t port);

/**
 * @brief Masks every port of the 2-level ABI (all bits of shared_info.evtchn_mask), as a
 *        kernel does at boot before binding anything.
 * @param g The dispatcher.
 * @return 0; -PVCORE_EINVAL in FIFO mode (new event-array pages start masked instead).
 */
int pvcore_guest_evtchn_mask_all(struct pvcore_guest_evtchn *g);

/**
 * @brief Consumes the pending events of vCPU `vcpu` and calls their handlers.
 *
 * Call from the upcall (event callback) on that vCPU, with its events masked. See the
 * file comment for the order and the bounds.
 *
 * @param g    The dispatcher.
 * @param vcpu The calling vCPU.
 * @return The number of handlers called; -PVCORE_EINVAL for a NULL dispatcher or vCPU
 *         out of range; -PVCORE_ENOENT if the vCPU has no vcpu_info; -PVCORE_EBUSY if
 *         called while a dispatch of the same vCPU is running (nested).
 */
int pvcore_guest_evtchn_dispatch(struct pvcore_guest_evtchn *g, uint32_t vcpu);

/**
 * @brief A vCPU's dispatch counter: odd while it dispatches, incremented at the start and
 *        at the end of every dispatch.
 *
 * To know that no handler of a port unbound at time T still runs: for each other vCPU,
 * read the counter after T; if it is odd, wait until it changes.
 *
 * @param g    The dispatcher.
 * @param vcpu The vCPU.
 * @return The counter (0 for a vCPU out of range).
 */
uint32_t pvcore_guest_evtchn_dispatch_seq(const struct pvcore_guest_evtchn *g, uint32_t vcpu);

/**
 * @brief Resets the domain's event channels (#PVCORE_EVTCHNOP_reset of DOMID_SELF) and the
 *        dispatcher with them: every port closed and unbound, and the 2-level ABI again
 *        (the hypervisor drops the FIFO control blocks and event array; their memory is
 *        the kernel's again).
 * Call with every vCPU's events masked and no dispatch running (as at kexec or resume).
 * @param g The dispatcher.
 * @return 0; -PVCORE_EINVAL for a NULL dispatcher; the hypercall's error (-PVCORE_EAGAIN:
 *         a port was opened during the reset; nothing changed here).
 */
int pvcore_guest_evtchn_reset(struct pvcore_guest_evtchn *g);

/**
 * @brief Registers a vCPU's FIFO control block (#PVCORE_EVTCHNOP_init_control); the first success
 *        switches the dispatcher to FIFO mode.
 *
 * The block is cleared first. The hypervisor switches the whole domain at the first call,
 * and 2-level events pending then are its to keep or drop: do this before binding ports.
 * Then add event-array pages with pvcore_guest_evtchn_fifo_expand() before using ports,
 * and register a block for every other vCPU before it takes events.
 *
 * @param g      The dispatcher.
 * @param vcpu   The vCPU.
 * @param cb     The block's virtual address (72 bytes, 8-byte aligned, within one page).
 * @param gfn    The guest frame holding it.
 * @param offset Its byte offset in that frame (a multiple of 8, at most 4096 - 72).
 * @return 0; -PVCORE_EINVAL for a vCPU out of range, a NULL or misaligned block or
 *         offset, a vCPU that has a block already, or a hypervisor reporting zero or more
 *         than #PVCORE_EVTCHN_FIFO_LINK_BITS link bits; the hypercall's error (-ENOSYS:
 *         no FIFO ABI, stay with 2-level).
 * @note Call while the vCPU is not dispatching.
 */
int pvcore_guest_evtchn_fifo_init_control(struct pvcore_guest_evtchn *g, uint32_t vcpu, void *cb,
                                          uint64_t gfn, uint32_t offset);

/**
 * @brief Adds the next FIFO event-array page (#PVCORE_EVTCHNOP_expand_array). Page n holds the
 *        event words of ports n x 1024 to n x 1024 + 1023.
 *
 * Every word of the page is set to MASKED first, so a port starts masked.
 *
 * @param g    The dispatcher (in FIFO mode).
 * @param page The page's virtual address (4096 bytes, 4-byte aligned at least).
 * @param gfn  Its guest frame.
 * @return 0; -PVCORE_EINVAL not in FIFO mode, or a NULL or misaligned page;
 *         -PVCORE_ENOSPC if the array covers the port table already; -PVCORE_EBUSY if
 *         another expansion is in progress; the hypercall's error.
 */
int pvcore_guest_evtchn_fifo_expand(struct pvcore_guest_evtchn *g, void *page, uint64_t gfn);

/**
 * @brief Sets a port's FIFO priority (#PVCORE_EVTCHNOP_set_priority): the queue its next events
 *        are linked onto.
 * @param g        The dispatcher.
 * @param port     The port.
 * @param priority #PVCORE_EVTCHN_FIFO_PRIORITY_MAX (0, highest) to
 *                 #PVCORE_EVTCHN_FIFO_PRIORITY_MIN (15).
 * @return 0; -PVCORE_EINVAL for a port or priority out of range, or not in FIFO mode;
 *         the hypercall's error.
 */
int pvcore_guest_evtchn_fifo_set_priority(struct pvcore_guest_evtchn *g, uint32_t port,
                                          uint32_t priority);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* PVCORE_GUEST_EVTCHN_H */
