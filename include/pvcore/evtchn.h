/**
 * @file
 * @brief Event channels, 2-level and FIFO ABIs: the port table, the embedder's VIRQs, and
 *        the upcall decision.
 *
 * `event_channel_op(cmd, arg)` (hypercall #PVCORE_HYPERVISOR_event_channel_op) is served
 * by pvcore_hypercall() and pvcore_cpu_hypercall(); the commands and layouts are in
 * <pvcore/abi/event_channel.h>, the same for 32-bit and 64-bit guests. The functions here
 * are the embedder's side.
 *
 * @par Setup
 * Each domain gets a port table in embedder memory (pvcore_domain_set_evtchn_table()),
 * sized with pvcore_evtchn_table_size(), and a shared-info page
 * (pvcore_domain_set_shared_info()), whose evtchn_pending and evtchn_mask bitmaps are the
 * 2-level ABI's. Without a table every allocation fails with -PVCORE_ENOSPC and every
 * port is invalid (-PVCORE_EINVAL); without a shared-info page ports bind but no event can
 * be delivered. Port 0 is reserved, as in Xen: it is never allocated and reports
 * #PVCORE_EVTCHNSTAT_closed.
 *
 * @par Delivery (2-level)
 * Setting port `p` pending sets bit `p` of shared_info.evtchn_pending; if it was clear
 * and bit `p` of evtchn_mask is clear, the library sets selector bit `p / w` (w = 64 for
 * 64-bit guests, 32 for 32-bit ones) of the notified vCPU's vcpu_info.evtchn_pending_sel,
 * and if that was clear, sets vcpu_info.evtchn_upcall_pending; if that was 0, it calls the
 * #pvcore_host_ops::evtchn_kick hook for the vCPU (with no lock held). The embedder then
 * enters the guest's event callback with pvcore_cpu_event_callback() when
 * pvcore_vcpu_upcall_pending() says so (events not masked). A masked port stays pending
 * with no selector bit or upcall: #PVCORE_EVTCHNOP_unmask delivers it when that call is what
 * clears the mask bit (as Xen's: a guest that cleared the bit itself first gets nothing
 * from the call, and scans its pending bits itself). A vCPU with no vcpu_info (above the shared page's 32, not registered)
 * gets the pending bit only, as Xen's dummy vcpu_info gives it; registering a vcpu_info
 * later marks everything pending.
 *
 * @par Delivery (FIFO)
 * A guest switches with #PVCORE_EVTCHNOP_init_control, which registers a vCPU's control block
 * (struct pvcore_evtchn_fifo_control_block) and, the first time, moves the whole domain
 * to the FIFO ABI: its ports then go up to the table's size (at most 131072), and the
 * event array grows a page at a time with #PVCORE_EVTCHNOP_expand_array (port p's word is word
 * p % 1024 of page p / 1024). The control block frames and array pages are the domain's
 * writable frames, held (a general and a writable type reference: none of them can become
 * a page table or descriptor page) until #PVCORE_EVTCHNOP_reset, which returns the domain to the
 * 2-level ABI once every port is closed, or destruction. Setting port `p` pending sets
 * its word's PENDING bit; if the word is neither MASKED nor LINKED, the library sets
 * LINKED and appends the port to the queue of its priority (#PVCORE_EVTCHNOP_set_priority,
 * default 7) on the vCPU it notifies: through the LINK field of the queue's tail word
 * (with Xen's BUSY protocol), or, when the queue was empty (the guest unlinked the tail),
 * by writing the queue's head in the control block and setting its bit in `ready`; a
 * newly ready queue raises the upcall as on the 2-level ABI (evtchn_upcall_pending, the
 * evtchn_kick hook). The library never reads a LINK field or a head: what the guest
 * writes there can only disorder its own queues. A port with no event word yet is
 * remembered as pending and raised when its page is added; so are the ports pending on
 * the 2-level ABI at the switch. A vCPU with no control block gets the PENDING bit only
 * (XSA-107), and the port is linked when it is unmasked after the block exists.
 *
 * @par Operations and their errors (Xen's)
 * - alloc_unbound: -ESRCH no such domain `dom`; -ENOSPC no free port; -EINVAL `dom` is
 *   dying; -EPERM `dom` is another domain and the caller is not privileged. `remote_dom`
 *   DOMID_SELF means the caller.
 * - bind_interdomain: -ESRCH no such remote domain; -ENOSPC no free local port; -EINVAL
 *   the remote port is out of range or not unbound for the caller. The new local port is
 *   left pending. DOMID_SELF (or the caller's id) binds a loopback channel.
 * - bind_virq: -EINVAL virq at or above #PVCORE_NR_VIRQS, or a global VIRQ on a vCPU
 *   other than 0; -ENOENT no such vCPU; -EEXIST already bound on that vCPU; -ENOSPC.
 *   Per-vCPU VIRQs: TIMER, DEBUG, XENOPROF, XENPMU; all others (ARCH_* included, as on
 *   x86) are global.
 * - bind_ipi: -ENOENT no such vCPU; -ENOSPC.
 * - bind_pirq: -EINVAL pirq at or above #PVCORE_NR_PIRQS; -EPERM an unprivileged caller
 *   (only a privileged domain has physical IRQs); -ENOSYS the embedder has no
 *   #pvcore_host_ops::pirq_bind hook; -EEXIST the IRQ is bound already (or being bound);
 *   -ENOSPC; otherwise what the hook returns. The port notifies vCPU 0; the embedder
 *   raises it with pvcore_evtchn_raise_pirq(). Closing it (close, reset, destruction)
 *   calls the #pvcore_host_ops::pirq_unbind hook.
 * - close: -EINVAL out of range, free or reserved. An interdomain peer's end becomes
 *   unbound, accepting the closing domain again. The closed port's pending bit is cleared.
 * - send: interdomain sets the peer's port pending, IPI the port itself; unbound is
 *   silently dropped (0); -EINVAL out of range, free, reserved, VIRQ or PIRQ.
 * - status: -ESRCH no such domain; -EINVAL port out of range; -EPERM another domain's
 *   port and the caller is not privileged. Free and reserved ports are #PVCORE_EVTCHNSTAT_closed.
 *   The whole structure is written back; union bytes a state does not fill keep what the
 *   guest passed.
 * - bind_vcpu: -ENOENT no such vCPU; -EINVAL out of range, or a port whose vCPU is fixed
 *   (IPI, per-vCPU VIRQ) or that is free or reserved. Unbound, interdomain, global VIRQ
 *   and PIRQ ports move.
 * - unmask: -EINVAL out of range; otherwise 0, on any port (a free one too).
 * - reset (and Xen's internal reset_cont, 14): -ESRCH; -EPERM another domain and not
 *   privileged; -EINVAL another domain that is not paused (pvcore_domain_pause()); closes every port; preemptible (the call is restarted); -EAGAIN if
 *   another vCPU opened a port behind the scan, which is left open (Xen's rule since
 *   XSA-343).
 * - init_control: -ENOENT no such vCPU; -EINVAL an offset past 4096 - 72 or not a multiple
 *   of 8, a frame that is not the caller's or cannot be writable, a vCPU that already has
 *   a block; link_bits (17) is written back on success only.
 * - expand_array: -EOPNOTSUPP on the 2-level ABI; -ENOSPC past 128 pages; -EINVAL a frame
 *   that is not the caller's or cannot be writable.
 * - set_priority: -EINVAL port out of range or priority above 15; -ENOSYS on the 2-level
 *   ABI. The priority applies to the port's next link; an event already queued stays.
 * - Any other command: -ENOSYS. An unreadable or unwritable argument: -EFAULT (a port
 *   allocated before the write-back failed stays allocated, as in Xen).
 *
 * @par Concurrency
 * Thread-safe: each domain's ports are guarded by its event-channel lock, and an
 * interdomain operation takes both domains' locks, the lower domid's first. The pending,
 * mask and selector bits are changed by atomic operations, as the guest changes them
 * concurrently.
 */
#ifndef PVCORE_EVTCHN_H
#define PVCORE_EVTCHN_H

#include <stddef.h>
#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/domain.h>

#include <pvcore/abi/event_channel.h>

PVCORE_BEGIN_DECLS

struct pvcore_vcpu;

/** Physical IRQs a domain can bind to event channels: 0 to #PVCORE_NR_PIRQS - 1. */
#define PVCORE_NR_PIRQS 256u

/**
 * @brief Bytes of port table for `nr_ports` ports (port 0, reserved, included).
 * @param nr_ports From 2 to #PVCORE_EVTCHN_FIFO_NR_CHANNELS (131072). On the 2-level ABI
 *                 a 64-bit guest uses at most #PVCORE_EVTCHN_2L_NR_CHANNELS_X86_64 (4096)
 *                 of them and a 32-bit one #PVCORE_EVTCHN_2L_NR_CHANNELS_X86_32 (1024);
 *                 on the FIFO ABI, all.
 * @return The size, or 0 for a count out of range.
 */
PVCORE_API size_t pvcore_evtchn_table_size(uint32_t nr_ports);

/**
 * @brief Gives domain `d` its event-channel port table.
 *
 * A table of pvcore_evtchn_table_size(n) bytes gives the domain n ports: on the 2-level
 * ABI up to its limit for the guest's width (4096 for 64-bit guests, 1024 for 32-bit
 * ones), on the FIFO ABI all of them (at most 131072). The memory is initialised here.
 *
 * @param d     The domain.
 * @param mem   Embedder memory, 4-byte aligned, kept until pvcore_domain_destroy() has
 *              returned 0 (and, as the domain's own memory, until calls that started
 *              before have returned).
 * @param bytes Its size: at least pvcore_evtchn_table_size(2).
 * @return 0; -PVCORE_EINVAL for a NULL or misaligned pointer or too small a table;
 *         -PVCORE_EBUSY if the domain already has one.
 * @note Call before the domain runs. Thread-safe.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_set_evtchn_table(struct pvcore_domain *d, void *mem,
                                                              size_t bytes);

/**
 * @brief The number of ports domain `d` can use now (0 before it has a table); it changes
 *        when the guest switches ABI (#PVCORE_EVTCHNOP_init_control, #PVCORE_EVTCHNOP_reset).
 * @param d The domain.
 * @return Ports 0 to the result minus one are valid port numbers (0 reserved).
 */
PVCORE_API uint32_t pvcore_evtchn_nr_ports(const struct pvcore_domain *d);

/**
 * @brief Allocates an unbound port in domain `d` for domain `remote_domid` to bind, as a
 *        toolstack does for a guest's console and xenstore channels before it starts.
 * @param d The domain (its table set, pvcore_domain_set_evtchn_table()).
 * @param remote_domid The domain that may bind it (#PVCORE_EVTCHNOP_bind_interdomain); not
 *        DOMID_SELF.
 * @param port Receives the port (the lowest free one).
 * @return 0; -PVCORE_ENOSPC when no port is free; -PVCORE_EINVAL for a NULL argument,
 *         DOMID_SELF, or a dying domain.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_evtchn_alloc_unbound(struct pvcore_domain *d,
                                                            uint16_t remote_domid, uint32_t *port);

/**
 * @brief Raises virtual IRQ `virq`: sets pending the port bound to it.
 *
 * A per-vCPU VIRQ (#PVCORE_VIRQ_TIMER, #PVCORE_VIRQ_DEBUG, #PVCORE_VIRQ_XENOPROF,
 * #PVCORE_VIRQ_XENPMU) goes to the port `v` bound for it. A global one goes to the port
 * its domain bound (on vCPU 0), on the vCPU that port notifies (#PVCORE_EVTCHNOP_bind_vcpu may
 * have moved it); `v` only names the domain. The embedder chooses which domain receives a
 * global VIRQ (Xen's default: the control domain). Delivery as described in the file
 * comment, including the evtchn_kick hook, called before this returns.
 *
 * @param v    The vCPU (per-vCPU VIRQ), or any vCPU of the domain (global VIRQ).
 * @param virq A VIRQ_* number.
 * @return 0 when a port is bound (it is now pending, or was already); -PVCORE_ENOENT if
 *         none is; -PVCORE_EINVAL for virq at or above #PVCORE_NR_VIRQS.
 * @note Thread-safe; takes the domain's event-channel lock. Call with no library lock
 *       held (not from a host hook that the library calls under a lock).
 */
PVCORE_API int pvcore_evtchn_raise_virq(struct pvcore_vcpu *v, uint32_t virq);

/**
 * @brief Raises physical IRQ `pirq` of domain `d`: sets pending the port bound to it
 *        (#PVCORE_EVTCHNOP_bind_pirq), on the vCPU it notifies, as pvcore_evtchn_raise_virq() does.
 * @param d    The domain.
 * @param pirq The IRQ, below #PVCORE_NR_PIRQS.
 * @return 0; -PVCORE_ENOENT if no port is bound to it; -PVCORE_EINVAL for a NULL domain or
 *         an IRQ out of range.
 * @note Thread-safe; call with no library lock held.
 */
PVCORE_API int pvcore_evtchn_raise_pirq(struct pvcore_domain *d, uint32_t pirq);

/**
 * @brief Whether vCPU `v` should enter its event callback now.
 *
 * Reads the vCPU's vcpu_info, which the guest changes at any time: the answer is a
 * snapshot. The embedder asks before resuming the guest (after an evtchn_kick, or on
 * every return to guest context) and, when it is non-zero, calls
 * pvcore_cpu_event_callback(), which masks events as the callback is entered.
 *
 * @param v The vCPU.
 * @return 1 when evtchn_upcall_pending is non-zero and evtchn_upcall_mask is zero;
 *         0 otherwise, and when the vCPU has no vcpu_info.
 */
PVCORE_API int pvcore_vcpu_upcall_pending(const struct pvcore_vcpu *v);

PVCORE_END_DECLS

#endif /* PVCORE_EVTCHN_H */
