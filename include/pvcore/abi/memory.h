/**
 * @file
 * @brief The memory_op commands of the Xen x86 PV wire ABI: reservations and exchanges.
 *
 * `memory_op(cmd, arg)` (hypercall #PVCORE_HYPERVISOR_memory_op) grows and shrinks a
 * domain's memory and reports its size. The low #PVCORE_MEMOP_EXTENT_SHIFT bits of `cmd`
 * are the command; the bits above are, for the extent commands, the extent to start from
 * (a continuation writes it there; a guest calls with 0). The library serves the commands
 * below; every other one goes back to the embedder (#PVCORE_HYPERCALL_UNHANDLED).
 *
 * For a PV guest "GMFN" means machine frame number: the frames it frees or exchanges are
 * named by MFN, and the frames it receives are reported by MFN.
 *
 * Values and layouts equal Xen's public `memory.h`; the names carry the `PVCORE_` /
 * `pvcore_` prefix (<pvcore/abi/xen.h> explains the naming rules).
 */
#ifndef PVCORE_ABI_MEMORY_H
#define PVCORE_ABI_MEMORY_H

#include <stdint.h>

#include <pvcore/abi/xen.h>

/** Bits of `cmd` below the start extent of a continued extent command. */
#define PVCORE_MEMOP_EXTENT_SHIFT 6
/** The command in `cmd`. */
#define PVCORE_MEMOP_CMD_MASK ((1U << PVCORE_MEMOP_EXTENT_SHIFT) - 1U)

/**
 * Allocates `nr_extents` extents of 2^extent_order contiguous frames to `domid` and, if
 * `extent_start` is not 0, writes each extent's first MFN there. Returns the number of
 * extents allocated (fewer than asked when memory or the domain's reservation ran out).
 */
#define PVCORE_XENMEM_increase_reservation 0
/**
 * Frees the extents whose first MFNs are at `extent_start`. Returns the number of extents
 * freed; the first frame that is not the domain's stops the call (the frames of a partly
 * freed extent stay freed).
 */
#define PVCORE_XENMEM_decrease_reservation 1
/** Returns the highest machine frame number of the machine, plus one; `arg` unused. */
#define PVCORE_XENMEM_maximum_ram_page 2
/** Returns the number of frames of the domain whose domid_t is at `arg`. */
#define PVCORE_XENMEM_current_reservation 3
/** Returns the most frames the domain whose domid_t is at `arg` may own. */
#define PVCORE_XENMEM_maximum_reservation 4
/**
 * Allocates extents as #PVCORE_XENMEM_increase_reservation, reading from `extent_start`
 * the guest frame number each extent is to appear at (written into the M2P) and writing
 * back its first MFN.
 */
#define PVCORE_XENMEM_populate_physmap 6
/**
 * Exchanges the caller's frames for new ones (struct pvcore_xen_memory_exchange_x86_64
 * and _x86_32), for instance for a machine-contiguous or low buffer. Returns 0 when all
 * were exchanged; otherwise a negative PVCORE_E* value, with `nr_exchanged` input extents
 * done.
 */
#define PVCORE_XENMEM_exchange 11
/** Returns the highest guest frame number the domain whose domid_t is at `arg` uses. */
#define PVCORE_XENMEM_maximum_gpfn 14

/** mem_flags: allocate below 2^bits bytes of machine address (0: anywhere). */
#define PVCORE_XENMEMF_address_bits(bits) (bits)
/** The address-bits limit of `mem_flags`. */
#define PVCORE_XENMEMF_get_address_bits(flags) ((flags) & 0xFFU)
/** mem_flags: prefer NUMA node `node`. */
#define PVCORE_XENMEMF_node(node) (((node) + 1) << 8)
/** The NUMA node of `mem_flags` (0xFF: none). */
#define PVCORE_XENMEMF_get_node(flags) ((((flags) >> 8) - 1U) & 0xFFU)
/** mem_flags: populate-on-demand (populate_physmap of another domain only). */
#define PVCORE_XENMEMF_populate_on_demand (1 << 16)
/** mem_flags: the node is a requirement, not a preference. */
#define PVCORE_XENMEMF_exact_node_request (1 << 17)
/** mem_flags: exactly node `node`. */
#define PVCORE_XENMEMF_exact_node(node) (PVCORE_XENMEMF_node(node) | PVCORE_XENMEMF_exact_node_request)
/** mem_flags: the node is a virtual NUMA node of the domain. */
#define PVCORE_XENMEMF_vnode (1 << 18)

/** A reservation request for a 32-bit guest (20 bytes). */
struct pvcore_xen_memory_reservation_x86_32 {
    uint32_t extent_start; /**< Guest address of the array of 4-byte frame numbers (0: none, increase_reservation only). */
    uint32_t nr_extents;   /**< Number of extents, at offset 4. */
    uint32_t extent_order; /**< log2 of the frames per extent, at offset 8. */
    uint32_t mem_flags;    /**< PVCORE_XENMEMF_* flags, at offset 12. */
    pvcore_domid_t domid;  /**< DOMID_SELF, or another domain for a privileged caller, at offset 16. */
    uint16_t _pad0;        /**< Padding (implicit in Xen). */
};
/** Typedef for struct pvcore_xen_memory_reservation_x86_32. */
typedef struct pvcore_xen_memory_reservation_x86_32 pvcore_xen_memory_reservation_x86_32_t;

/** A reservation request for a 64-bit guest (32 bytes); see struct pvcore_xen_memory_reservation_x86_32. */
struct pvcore_xen_memory_reservation_x86_64 {
    uint64_t extent_start; /**< Guest address of the array of 8-byte frame numbers (0: none, increase_reservation only). */
    uint64_t nr_extents;   /**< Number of extents, at offset 8. */
    uint32_t extent_order; /**< log2 of the frames per extent, at offset 16. */
    uint32_t mem_flags;    /**< PVCORE_XENMEMF_* flags, at offset 20. */
    pvcore_domid_t domid;  /**< DOMID_SELF, or another domain for a privileged caller, at offset 24. */
    uint16_t _pad0[3];     /**< Padding (implicit in Xen). */
};
/** Typedef for struct pvcore_xen_memory_reservation_x86_64. */
typedef struct pvcore_xen_memory_reservation_x86_64 pvcore_xen_memory_reservation_x86_64_t;

/**
 * #PVCORE_XENMEM_exchange for a 32-bit guest (44 bytes): the `in` extents (MFNs) are
 * freed and as many frames allocated as the `out` extents, each placed at the guest frame
 * number read from `out.extent_start` and its MFN written back there. `in` and `out` name
 * the same domain, and `in.nr_extents << in.extent_order` equals
 * `out.nr_extents << out.extent_order`. A chunk (the larger of one in and one out
 * extent) is exchanged whole or not at all.
 */
struct pvcore_xen_memory_exchange_x86_32 {
    struct pvcore_xen_memory_reservation_x86_32 in;  /**< The frames given up. */
    struct pvcore_xen_memory_reservation_x86_32 out; /**< The frames wanted, at offset 20. */
    uint32_t nr_exchanged; /**< In: 0 (extents already done). Out: input extents exchanged, at offset 40. */
};
/** Typedef for struct pvcore_xen_memory_exchange_x86_32. */
typedef struct pvcore_xen_memory_exchange_x86_32 pvcore_xen_memory_exchange_x86_32_t;

/** #PVCORE_XENMEM_exchange for a 64-bit guest (72 bytes); see struct pvcore_xen_memory_exchange_x86_32. */
struct pvcore_xen_memory_exchange_x86_64 {
    struct pvcore_xen_memory_reservation_x86_64 in;  /**< The frames given up. */
    struct pvcore_xen_memory_reservation_x86_64 out; /**< The frames wanted, at offset 32. */
    uint64_t nr_exchanged; /**< In: 0 (extents already done). Out: input extents exchanged, at offset 64. */
};
/** Typedef for struct pvcore_xen_memory_exchange_x86_64. */
typedef struct pvcore_xen_memory_exchange_x86_64 pvcore_xen_memory_exchange_x86_64_t;

#if defined(__x86_64__)
/** Native xen_memory_reservation. */
typedef pvcore_xen_memory_reservation_x86_64_t pvcore_xen_memory_reservation_t;
/** Native xen_memory_exchange. */
typedef pvcore_xen_memory_exchange_x86_64_t pvcore_xen_memory_exchange_t;
#elif defined(__i386__)
/** Native xen_memory_reservation. */
typedef pvcore_xen_memory_reservation_x86_32_t pvcore_xen_memory_reservation_t;
/** Native xen_memory_exchange. */
typedef pvcore_xen_memory_exchange_x86_32_t pvcore_xen_memory_exchange_t;
#endif

#endif /* PVCORE_ABI_MEMORY_H */
