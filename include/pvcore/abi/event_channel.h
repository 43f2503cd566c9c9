/**
 * @file
 * @brief Event channels: the `event_channel_op` operations, virtual IRQ numbers, and
 *        the 2-level and FIFO delivery formats.
 *
 * An event channel is a one-bit doorbell between two endpoints. Each domain names its
 * endpoints by port number; a port is bound to exactly one source: an interdomain peer
 * port, a virtual IRQ, a physical IRQ, or an IPI from another vCPU of the same domain.
 * Setting a port pending raises an upcall on the vCPU it is bound to, unless the port
 * or the vCPU has events masked.
 *
 * `event_channel_op(cmd, arg)` (hypercall #PVCORE_HYPERVISOR_event_channel_op) takes an
 * EVTCHNOP_* command and a pointer to the command's structure, which is read and, for
 * commands with outputs, written back. Every structure here has the same layout for
 * 32-bit and 64-bit guests. Fields are marked In (read by the hypervisor) or Out
 * (written by it).
 *
 * Names follow <pvcore/abi/xen.h>: Xen's names behind `PVCORE_` / `pvcore_`.
 */
#ifndef PVCORE_ABI_EVENT_CHANNEL_H
#define PVCORE_ABI_EVENT_CHANNEL_H

#include <stdint.h>

#include <pvcore/abi/xen.h>

/**
 * @defgroup pvcore_abi_evtchn Event channels
 * @brief Operations, structures and constants of the event-channel interface.
 * @{
 */

/** An event-channel port number, local to one domain. Port 0 is never allocated. */
typedef uint32_t pvcore_evtchn_port_t;

/**
 * @name Commands of event_channel_op
 * @{
 */
/** Connect a new local port to a peer's unbound port (struct pvcore_evtchn_bind_interdomain). */
#define PVCORE_EVTCHNOP_bind_interdomain 0
/** Bind a new port to a virtual IRQ on a vCPU (struct pvcore_evtchn_bind_virq). */
#define PVCORE_EVTCHNOP_bind_virq 1
/** Bind a new port to a physical IRQ (privileged; struct pvcore_evtchn_bind_pirq). */
#define PVCORE_EVTCHNOP_bind_pirq 2
/** Close a port (struct pvcore_evtchn_close). An interdomain peer returns to unbound. */
#define PVCORE_EVTCHNOP_close 3
/** Notify the other end of a port (struct pvcore_evtchn_send). */
#define PVCORE_EVTCHNOP_send 4
/** Query a port's state (struct pvcore_evtchn_status). */
#define PVCORE_EVTCHNOP_status 5
/** Allocate an unbound port that a named domain may connect to (struct pvcore_evtchn_alloc_unbound). */
#define PVCORE_EVTCHNOP_alloc_unbound 6
/** Bind a new port for inter-vCPU notification (struct pvcore_evtchn_bind_ipi). */
#define PVCORE_EVTCHNOP_bind_ipi 7
/** Change the vCPU a port notifies (struct pvcore_evtchn_bind_vcpu). */
#define PVCORE_EVTCHNOP_bind_vcpu 8
/** Unmask a port and deliver it if it is pending (struct pvcore_evtchn_unmask). */
#define PVCORE_EVTCHNOP_unmask 9
/** Close all ports of a domain (struct pvcore_evtchn_reset). */
#define PVCORE_EVTCHNOP_reset 10
/** Switch the caller to the FIFO ABI and register a vCPU's control block (struct pvcore_evtchn_init_control). */
#define PVCORE_EVTCHNOP_init_control 11
/** Add one page to the FIFO event array (struct pvcore_evtchn_expand_array). */
#define PVCORE_EVTCHNOP_expand_array 12
/** Set a port's FIFO priority (struct pvcore_evtchn_set_priority). */
#define PVCORE_EVTCHNOP_set_priority 13
/** @} */

/**
 * #PVCORE_EVTCHNOP_alloc_unbound: allocate a fresh port in `dom` that accepts one connection
 * from `remote_dom`. An unprivileged caller must pass DOMID_SELF as `dom`. `remote_dom`
 * may be DOMID_SELF (a loopback channel).
 */
struct pvcore_evtchn_alloc_unbound {
    pvcore_domid_t dom;        /**< In: domain to allocate in (DOMID_SELF unless privileged). */
    pvcore_domid_t remote_dom; /**< In: the only domain allowed to connect. */
    pvcore_evtchn_port_t port; /**< Out: the new port. */
};
/** Typedef for struct pvcore_evtchn_alloc_unbound. */
typedef struct pvcore_evtchn_alloc_unbound pvcore_evtchn_alloc_unbound_t;

/**
 * #PVCORE_EVTCHNOP_bind_interdomain: connect a fresh local port to `remote_port` of
 * `remote_dom`, which must be unbound and accept the caller. The new local port is
 * always left pending, because the peer may have signalled before the connection
 * existed.
 */
struct pvcore_evtchn_bind_interdomain {
    pvcore_domid_t remote_dom;        /**< In: the peer domain (DOMID_SELF for loopback). */
    pvcore_evtchn_port_t remote_port; /**< In: the peer's unbound port, at offset 4. */
    pvcore_evtchn_port_t local_port;  /**< Out: the new local port. */
};
/** Typedef for struct pvcore_evtchn_bind_interdomain. */
typedef struct pvcore_evtchn_bind_interdomain pvcore_evtchn_bind_interdomain_t;

/**
 * #PVCORE_EVTCHNOP_bind_virq: bind a fresh port to a virtual IRQ. A per-vCPU VIRQ can be bound
 * once per vCPU and stays on that vCPU; a global VIRQ must be bound on vCPU 0 and can be
 * moved with #PVCORE_EVTCHNOP_bind_vcpu.
 */
struct pvcore_evtchn_bind_virq {
    uint32_t virq;             /**< In: VIRQ_* number. */
    uint32_t vcpu;             /**< In: vCPU to notify. */
    pvcore_evtchn_port_t port; /**< Out: the new port. */
};
/** Typedef for struct pvcore_evtchn_bind_virq. */
typedef struct pvcore_evtchn_bind_virq pvcore_evtchn_bind_virq_t;

/** Flag of evtchn_bind_pirq.flags: the physical IRQ may be shared with other domains. */
#define PVCORE_BIND_PIRQ__WILL_SHARE 1

/**
 * #PVCORE_EVTCHNOP_bind_pirq: bind a fresh port to a physical IRQ. Only a privileged domain
 * may do so, and each physical IRQ may be bound to one port per domain.
 */
struct pvcore_evtchn_bind_pirq {
    uint32_t pirq;             /**< In: physical IRQ number. */
    uint32_t flags;            /**< In: BIND_PIRQ__* flags. */
    pvcore_evtchn_port_t port; /**< Out: the new port. */
};
/** Typedef for struct pvcore_evtchn_bind_pirq. */
typedef struct pvcore_evtchn_bind_pirq pvcore_evtchn_bind_pirq_t;

/** #PVCORE_EVTCHNOP_bind_ipi: bind a fresh port that notifies `vcpu`; the binding cannot change. */
struct pvcore_evtchn_bind_ipi {
    uint32_t vcpu;             /**< In: vCPU to notify. */
    pvcore_evtchn_port_t port; /**< Out: the new port. */
};
/** Typedef for struct pvcore_evtchn_bind_ipi. */
typedef struct pvcore_evtchn_bind_ipi pvcore_evtchn_bind_ipi_t;

/** #PVCORE_EVTCHNOP_close: close a local port. An interdomain peer's port becomes unbound again. */
struct pvcore_evtchn_close {
    pvcore_evtchn_port_t port; /**< In: the port to close. */
};
/** Typedef for struct pvcore_evtchn_close. */
typedef struct pvcore_evtchn_close pvcore_evtchn_close_t;

/** #PVCORE_EVTCHNOP_send: set the remote end of a local port pending (for IPI ports, the port itself). */
struct pvcore_evtchn_send {
    pvcore_evtchn_port_t port; /**< In: the local port. */
};
/** Typedef for struct pvcore_evtchn_send. */
typedef struct pvcore_evtchn_send pvcore_evtchn_send_t;

/**
 * @name Port states reported by #PVCORE_EVTCHNOP_status
 * @{
 */
/** The port is not in use. */
#define PVCORE_EVTCHNSTAT_closed 0
/** The port is allocated and waits for a peer to connect. */
#define PVCORE_EVTCHNSTAT_unbound 1
/** The port is connected to a port of another (or the same) domain. */
#define PVCORE_EVTCHNSTAT_interdomain 2
/** The port is bound to a physical IRQ. */
#define PVCORE_EVTCHNSTAT_pirq 3
/** The port is bound to a virtual IRQ. */
#define PVCORE_EVTCHNSTAT_virq 4
/** The port is bound for inter-vCPU notification. */
#define PVCORE_EVTCHNSTAT_ipi 5
/** @} */

/** evtchn_status.u for an unbound port. */
struct pvcore_evtchn_status_unbound {
    pvcore_domid_t dom; /**< The domain allowed to connect. */
};
/** Typedef for struct pvcore_evtchn_status_unbound. */
typedef struct pvcore_evtchn_status_unbound pvcore_evtchn_status_unbound_t;

/** evtchn_status.u for an interdomain port. */
struct pvcore_evtchn_status_interdomain {
    pvcore_domid_t dom;        /**< The peer domain. */
    pvcore_evtchn_port_t port; /**< The peer's port, at offset 4. */
};
/** Typedef for struct pvcore_evtchn_status_interdomain. */
typedef struct pvcore_evtchn_status_interdomain pvcore_evtchn_status_interdomain_t;

/** The state-specific part of evtchn_status; the member that applies depends on `status`. */
union pvcore_evtchn_status_u {
    struct pvcore_evtchn_status_unbound unbound;         /**< #PVCORE_EVTCHNSTAT_unbound. */
    struct pvcore_evtchn_status_interdomain interdomain; /**< #PVCORE_EVTCHNSTAT_interdomain. */
    uint32_t pirq;                                       /**< #PVCORE_EVTCHNSTAT_pirq: the physical IRQ. */
    uint32_t virq;                                       /**< #PVCORE_EVTCHNSTAT_virq: the VIRQ_* number. */
};
/** Typedef for union pvcore_evtchn_status_u. */
typedef union pvcore_evtchn_status_u pvcore_evtchn_status_u_t;

/**
 * #PVCORE_EVTCHNOP_status: report the state of port `port` of domain `dom` (DOMID_SELF, or any
 * domain for a privileged caller).
 */
struct pvcore_evtchn_status {
    pvcore_domid_t dom;             /**< In: the domain owning the port. */
    pvcore_evtchn_port_t port;      /**< In: the port, at offset 4. */
    uint32_t status;                /**< Out: EVTCHNSTAT_* state. */
    uint32_t vcpu;                  /**< Out: the vCPU the port notifies. */
    union pvcore_evtchn_status_u u; /**< Out: state-specific details, at offset 16. */
};
/** Typedef for struct pvcore_evtchn_status. */
typedef struct pvcore_evtchn_status pvcore_evtchn_status_t;

/**
 * #PVCORE_EVTCHNOP_bind_vcpu: make `port` notify `vcpu`. Not allowed for IPI ports and
 * per-vCPU VIRQ ports, whose vCPU is fixed. Other ports notify vCPU 0 until moved (and
 * again after being freed and reallocated).
 */
struct pvcore_evtchn_bind_vcpu {
    pvcore_evtchn_port_t port; /**< In: the port. */
    uint32_t vcpu;             /**< In: the vCPU to notify from now on. */
};
/** Typedef for struct pvcore_evtchn_bind_vcpu. */
typedef struct pvcore_evtchn_bind_vcpu pvcore_evtchn_bind_vcpu_t;

/** #PVCORE_EVTCHNOP_unmask: clear the port's mask and, if it is pending, deliver it now. */
struct pvcore_evtchn_unmask {
    pvcore_evtchn_port_t port; /**< In: the port. */
};
/** Typedef for struct pvcore_evtchn_unmask. */
typedef struct pvcore_evtchn_unmask pvcore_evtchn_unmask_t;

/**
 * #PVCORE_EVTCHNOP_reset: close every port of `dom` (DOMID_SELF unless privileged). Called on
 * oneself after using the FIFO ABI, it also frees the control blocks and event array and
 * returns the domain to the 2-level ABI. Ports bound during the call may be lost.
 */
struct pvcore_evtchn_reset {
    pvcore_domid_t dom; /**< In: the domain. */
};
/** Typedef for struct pvcore_evtchn_reset. */
typedef struct pvcore_evtchn_reset pvcore_evtchn_reset_t;

/**
 * #PVCORE_EVTCHNOP_init_control: register the FIFO control block of `vcpu` (and, on the first
 * call, switch the domain to the FIFO ABI). The block lives at byte `offset` of guest
 * frame `control_gfn`; it must be 8-byte aligned and must not cross the end of the
 * page. Ports pending on the 2-level ABI at the switch stay pending (raised once the
 * event array covers them); a guest normally switches before binding any port.
 */
struct pvcore_evtchn_init_control {
    uint64_t control_gfn; /**< In: guest frame holding the control block. */
    uint32_t offset;      /**< In: byte offset of the control block within that frame (a multiple of 8). */
    uint32_t vcpu;        /**< In: the vCPU the block belongs to. */
    uint8_t link_bits;    /**< Out: #PVCORE_EVTCHN_FIFO_LINK_BITS, the width of the LINK field. */
    uint8_t _pad[7];      /**< Unused. */
};
/** Typedef for struct pvcore_evtchn_init_control. */
typedef struct pvcore_evtchn_init_control pvcore_evtchn_init_control_t;

/** #PVCORE_EVTCHNOP_expand_array: add the guest frame `array_gfn` as the next page of the FIFO event array. */
struct pvcore_evtchn_expand_array {
    uint64_t array_gfn; /**< In: guest frame to add (1024 event words). */
};
/** Typedef for struct pvcore_evtchn_expand_array. */
typedef struct pvcore_evtchn_expand_array pvcore_evtchn_expand_array_t;

/** #PVCORE_EVTCHNOP_set_priority: set the FIFO queue a port is linked onto. */
struct pvcore_evtchn_set_priority {
    pvcore_evtchn_port_t port; /**< In: the port. */
    uint32_t priority;         /**< In: #PVCORE_EVTCHN_FIFO_PRIORITY_MAX (0, highest) to #PVCORE_EVTCHN_FIFO_PRIORITY_MIN (15). */
};
/** Typedef for struct pvcore_evtchn_set_priority. */
typedef struct pvcore_evtchn_set_priority pvcore_evtchn_set_priority_t;

/** The per-command argument of the compat interface; only commands 0 to 9 have a member. */
union pvcore_evtchn_op_u {
    struct pvcore_evtchn_alloc_unbound alloc_unbound;       /**< #PVCORE_EVTCHNOP_alloc_unbound. */
    struct pvcore_evtchn_bind_interdomain bind_interdomain; /**< #PVCORE_EVTCHNOP_bind_interdomain. */
    struct pvcore_evtchn_bind_virq bind_virq;               /**< #PVCORE_EVTCHNOP_bind_virq. */
    struct pvcore_evtchn_bind_pirq bind_pirq;               /**< #PVCORE_EVTCHNOP_bind_pirq. */
    struct pvcore_evtchn_bind_ipi bind_ipi;                 /**< #PVCORE_EVTCHNOP_bind_ipi. */
    struct pvcore_evtchn_close close;                       /**< #PVCORE_EVTCHNOP_close. */
    struct pvcore_evtchn_send send;                         /**< #PVCORE_EVTCHNOP_send. */
    struct pvcore_evtchn_status status;                     /**< #PVCORE_EVTCHNOP_status. */
    struct pvcore_evtchn_bind_vcpu bind_vcpu;               /**< #PVCORE_EVTCHNOP_bind_vcpu. */
    struct pvcore_evtchn_unmask unmask;                     /**< #PVCORE_EVTCHNOP_unmask. */
};
/** Typedef for union pvcore_evtchn_op_u. */
typedef union pvcore_evtchn_op_u pvcore_evtchn_op_u_t;

/**
 * The single argument of the superseded hypercall #PVCORE_HYPERVISOR_event_channel_op_compat:
 * a command and its structure in one block (28 bytes). The result is written back into
 * the block as for the current interface.
 */
struct pvcore_evtchn_op {
    uint32_t cmd;               /**< EVTCHNOP_* command (0 to 9). */
    union pvcore_evtchn_op_u u; /**< The command's structure, at offset 4. */
};
/** Typedef for struct pvcore_evtchn_op. */
typedef struct pvcore_evtchn_op pvcore_evtchn_op_t;

/**
 * @name Virtual IRQs
 * Per-vCPU VIRQs ("per-vCPU" below) are bound once on each vCPU that wants them; global
 * ones once per domain. The dom0 ones are delivered to the control domain.
 * @{
 */
/** Per-vCPU: the vCPU's timer fired (set_timer_op deadline or periodic tick). */
#define PVCORE_VIRQ_TIMER 0
/** Per-vCPU: the guest is asked to dump debugging state. */
#define PVCORE_VIRQ_DEBUG 1
/** Global (dom0): input arrived on the hypervisor's emergency console. */
#define PVCORE_VIRQ_CONSOLE 2
/** Global (dom0): some domain has an exceptional event (such as a crash or shutdown). */
#define PVCORE_VIRQ_DOM_EXC 3
/** Global (dom0): trace buffers have records to read. */
#define PVCORE_VIRQ_TBUF 4
/** Global (dom0): a domain has paused for a debugger. */
#define PVCORE_VIRQ_DEBUGGER 6
/** Per-vCPU: a profiling sample is available. */
#define PVCORE_VIRQ_XENOPROF 7
/** Global (dom0): the hypervisor console ring has new output. */
#define PVCORE_VIRQ_CON_RING 8
/** Global (dom0): a physical CPU changed state. */
#define PVCORE_VIRQ_PCPU_STATE 9
/** Global (dom0): a memory event occurred. */
#define PVCORE_VIRQ_MEM_EVENT 10
/** Global: an Argo message arrived. */
#define PVCORE_VIRQ_ARGO 11
/** Global (dom0): the hypervisor is low on heap memory. */
#define PVCORE_VIRQ_ENOMEM 12
/** Per-vCPU: performance-counter interrupt. */
#define PVCORE_VIRQ_XENPMU 13
/** First architecture-specific VIRQ. */
#define PVCORE_VIRQ_ARCH_0 16
/** Architecture-specific VIRQ 1. */
#define PVCORE_VIRQ_ARCH_1 17
/** Architecture-specific VIRQ 2. */
#define PVCORE_VIRQ_ARCH_2 18
/** Architecture-specific VIRQ 3. */
#define PVCORE_VIRQ_ARCH_3 19
/** Architecture-specific VIRQ 4. */
#define PVCORE_VIRQ_ARCH_4 20
/** Architecture-specific VIRQ 5. */
#define PVCORE_VIRQ_ARCH_5 21
/** Architecture-specific VIRQ 6. */
#define PVCORE_VIRQ_ARCH_6 22
/** Architecture-specific VIRQ 7. */
#define PVCORE_VIRQ_ARCH_7 23
/** Number of VIRQ numbers (valid VIRQs are below it). */
#define PVCORE_NR_VIRQS 24
/** @} */

/**
 * @name 2-level ABI capacity
 * The default ABI keeps one pending and one mask bit per port in shared_info, one
 * `xen_ulong_t` word per selector bit, so the port count is the square of the word
 * width in bits.
 * @{
 */
/** Ports available to a 32-bit guest under the 2-level ABI (32 x 32). */
#define PVCORE_EVTCHN_2L_NR_CHANNELS_X86_32 1024U
/** Ports available to a 64-bit guest under the 2-level ABI (64 x 64). */
#define PVCORE_EVTCHN_2L_NR_CHANNELS_X86_64 4096U
#if defined(__x86_64__)
/** Ports of the 2-level ABI for the width this header is compiled for (x86 only). */
#define PVCORE_EVTCHN_2L_NR_CHANNELS PVCORE_EVTCHN_2L_NR_CHANNELS_X86_64
#elif defined(__i386__)
/** Ports of the 2-level ABI for the width this header is compiled for (x86 only). */
#define PVCORE_EVTCHN_2L_NR_CHANNELS PVCORE_EVTCHN_2L_NR_CHANNELS_X86_32
#endif
/** @} */

/**
 * @name FIFO ABI
 * Each port has a 32-bit event word in the event array (pages added with
 * #PVCORE_EVTCHNOP_expand_array). A pending, unmasked port is linked onto the tail of one of
 * #PVCORE_EVTCHN_FIFO_MAX_QUEUES per-vCPU queues by its priority; the LINK field of each
 * word holds the next port of its queue. The guest consumes from each queue's head in
 * the control block, highest priority first.
 * @{
 */
/** The highest priority (queue 0). */
#define PVCORE_EVTCHN_FIFO_PRIORITY_MAX 0
/** The priority a port gets when bound. */
#define PVCORE_EVTCHN_FIFO_PRIORITY_DEFAULT 7
/** The lowest priority. */
#define PVCORE_EVTCHN_FIFO_PRIORITY_MIN 15
/** Number of queues (priorities) per vCPU. */
#define PVCORE_EVTCHN_FIFO_MAX_QUEUES (PVCORE_EVTCHN_FIFO_PRIORITY_MIN + 1)

/** One word of the FIFO event array (one per port). */
typedef uint32_t pvcore_event_word_t;

/** Event-word bit number: the port is pending. */
#define PVCORE_EVTCHN_FIFO_PENDING 31
/** Event-word bit number: the port is masked. */
#define PVCORE_EVTCHN_FIFO_MASKED 30
/** Event-word bit number: the port is on a queue. */
#define PVCORE_EVTCHN_FIFO_LINKED 29
/**
 * Event-word bit number: set by the hypervisor on a queue's tail word while it writes
 * that word's LINK field, to keep the guest from unmasking it meanwhile: a guest unmasks
 * with a compare-and-swap that expects this bit clear, and so retries until it is.
 */
#define PVCORE_EVTCHN_FIFO_BUSY 28
/** Width of the LINK field (bits 16:0 of an event word): the next port on the queue. */
#define PVCORE_EVTCHN_FIFO_LINK_BITS 17
/** Mask of the LINK field. */
#define PVCORE_EVTCHN_FIFO_LINK_MASK ((1 << PVCORE_EVTCHN_FIFO_LINK_BITS) - 1)
/** Number of ports the FIFO ABI can address (131072). */
#define PVCORE_EVTCHN_FIFO_NR_CHANNELS (1 << PVCORE_EVTCHN_FIFO_LINK_BITS)

/** A vCPU's FIFO control block (72 bytes), in guest memory registered by #PVCORE_EVTCHNOP_init_control. */
struct pvcore_evtchn_fifo_control_block {
    uint32_t ready;                                   /**< Bit q set: queue q is not empty (set by the hypervisor, cleared by the guest). */
    uint32_t _rsvd;                                   /**< Reserved. */
    uint32_t head[PVCORE_EVTCHN_FIFO_MAX_QUEUES];     /**< Port at the head of each queue; 0 for an empty queue. */
};
/** Typedef for struct pvcore_evtchn_fifo_control_block. */
typedef struct pvcore_evtchn_fifo_control_block pvcore_evtchn_fifo_control_block_t;
/** @} */

/** @} */

#endif /* PVCORE_ABI_EVENT_CHANNEL_H */
