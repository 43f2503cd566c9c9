/**
 * @file
 * @brief Domains and their vCPUs: creation, frame assignment, I/O permissions, destruction.
 *
 * A domain owns machine frames. It may map its own frames, I/O memory it was permitted,
 * and, if privileged (the control domain), other domains' frames ("foreign mappings").
 * Its vCPUs each carry the base pointers (root page tables) they run on.
 *
 * Memory for a domain and its vCPUs comes from the embedder (pvcore_domain_size()).
 */
#ifndef PVCORE_DOMAIN_H
#define PVCORE_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/machine.h>

PVCORE_BEGIN_DECLS

/** A domain (opaque). */
struct pvcore_domain;
/** A virtual CPU of a domain (opaque). */
struct pvcore_vcpu;

/** @name Domain flags (#pvcore_domain_config.flags) */
/** @{ */
/** The control domain: may name other domains as foreign or page-table owner. */
#define PVCORE_DOMAIN_PRIVILEGED 0x1u
/**
 * A 32-bit PAE guest on the 64-bit hypervisor (3-level tables rooted at an L3, with the
 * hypervisor's area above 0xF5800000). Without this flag the guest is 64-bit (4 levels).
 */
#define PVCORE_DOMAIN_GUEST_32 0x2u
/** @} */

/** Maximum number of I/O memory ranges one domain can be permitted. */
#define PVCORE_MAX_IOMEM_RANGES 8u
/** Maximum number of vCPUs of one domain. */
#define PVCORE_MAX_VCPUS 64u

/** What pvcore_domain_create() needs. */
struct pvcore_domain_config {
    uint16_t domid;       /**< Domain id, below the machine's max_domains; unique while alive. */
    uint16_t nr_vcpus;    /**< Number of vCPUs, 1 .. #PVCORE_MAX_VCPUS. */
    uint32_t flags;       /**< PVCORE_DOMAIN_* flags. */
    uint64_t max_pages;   /**< Most frames the domain may own at once (pvcore_domain_assign()). */
};

/**
 * @brief Bytes of memory a domain with `nr_vcpus` vCPUs needs.
 * @param nr_vcpus Number of vCPUs, 1 .. #PVCORE_MAX_VCPUS.
 * @return The size, or 0 if nr_vcpus is out of range.
 */
PVCORE_API size_t pvcore_domain_size(uint32_t nr_vcpus);

/**
 * @brief Creates a domain in embedder memory and enters it in the machine's domain table.
 *
 * @param m   The machine.
 * @param mem At least pvcore_domain_size(cfg->nr_vcpus) bytes, 8-byte aligned, kept until
 *            pvcore_domain_destroy() has returned 0.
 * @param len Size of `mem`.
 * @param cfg The configuration.
 * @param out Receives the domain.
 * @return 0; -PVCORE_EINVAL for a NULL or misaligned pointer, too little memory, a domid
 *         at or above max_domains, or a bad vCPU count; -PVCORE_EEXIST if the domid is in
 *         use (including by a domain still being destroyed).
 * @note Thread-safe against other domain creations and destructions.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_create(struct pvcore_machine *m, void *mem,
                                                     size_t len,
                                                     const struct pvcore_domain_config *cfg,
                                                     struct pvcore_domain **out);

/**
 * @brief Gives a free RAM frame to a domain (like a populate_physmap of one frame).
 *
 * The frame gets owner `d` and one general reference, the allocation reference, which
 * pvcore_domain_release() drops. Its M2P entry is set to `gfn`.
 *
 * @param d   The domain.
 * @param mfn A free RAM frame.
 * @param gfn The guest frame number the domain will know it by (written to the M2P).
 * @return 0; -PVCORE_EINVAL if mfn is not RAM or out of range; -PVCORE_EBUSY if it is not
 *         free; -PVCORE_ENOMEM if the domain already owns max_pages frames;
 *         -PVCORE_ESRCH if the domain is being destroyed.
 * @note Thread-safe.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_assign(struct pvcore_domain *d, pvcore_mfn_t mfn,
                                                     pvcore_gfn_t gfn);

/**
 * @brief Drops a domain's allocation reference on one of its frames (decrease_reservation).
 *
 * The frame becomes free once nothing else references it. A pinned page table is not
 * implicitly unpinned (XSA-252): the release is refused.
 *
 * @param d   The domain.
 * @param mfn A frame the domain owns.
 * @return 0; -PVCORE_EINVAL if the frame is not owned by `d` or was already released;
 *         -PVCORE_EBUSY if it is pinned.
 * @note Thread-safe; takes the domain's MMU lock.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_release(struct pvcore_domain *d, pvcore_mfn_t mfn);

/**
 * @brief Permits (or stops permitting) the domain to map I/O frames [first, last].
 *
 * A domain with any I/O range may also use the cache-attribute bits in L1 entries and
 * flush caches (#PVCORE_MMUEXT_FLUSH_CACHE).
 *
 * @param d     The domain.
 * @param first First MFN of the range.
 * @param last  Last MFN (inclusive).
 * @param allow Non-zero to permit, zero to revoke a range added before (exact match).
 * @return 0; -PVCORE_EINVAL if first > last; -PVCORE_ENOSPC if #PVCORE_MAX_IOMEM_RANGES
 *         ranges are in use; -PVCORE_ENOENT when revoking a range that was not added.
 * @note Existing mappings are not revoked.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_iomem_permit(struct pvcore_domain *d,
                                                           pvcore_mfn_t first, pvcore_mfn_t last,
                                                           int allow);

/**
 * @brief Pauses domain `d` on behalf of the toolstack (Xen's controller pause count,
 *        XEN_DOMCTL_pausedomain): counted, and undone by pvcore_domain_unpause().
 *
 * The embedder stops running the domain's vCPUs while the count is not 0; the library
 * only records it, for the operations Xen allows on a paused domain alone (a privileged
 * domain's #PVCORE_EVTCHNOP_reset of another, <pvcore/evtchn.h>).
 * @param d The domain.
 * @return 0; -PVCORE_EINVAL for a NULL domain or a count that would overflow.
 * @note Thread-safe.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_pause(struct pvcore_domain *d);

/**
 * @brief Undoes one pvcore_domain_pause().
 * @param d The domain.
 * @return 0; -PVCORE_EINVAL for a NULL domain or one that is not paused.
 * @note Thread-safe.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_unpause(struct pvcore_domain *d);

/**
 * @brief Destroys a domain, releasing every reference it holds. Preemptible.
 *
 * Drops each vCPU's base pointers, every pin, every page-table entry's references, any
 * partial or queued validation state, and the allocation reference of every frame it
 * owns. Call again while it returns -PVCORE_ERESTART (bounded work per call). Frames that
 * other domains still reference stay owned (and unusable) until those references go;
 * while any exist the call returns -PVCORE_EBUSY and can be repeated later.
 *
 * @param d The domain; unusable by any other call once this has been called (calling
 *          pvcore_domain_destroy() again after it returned 0 returns 0 and does nothing,
 *          until the embedder reuses the memory).
 * @return 0 when the domain is gone and its id free; -PVCORE_ERESTART to be called again;
 *         -PVCORE_EBUSY while other domains still reference its frames.
 * @note Thread-safe against other domains' operations; no other call may use `d` meanwhile.
 *       Once it returned 0, lookups no longer find the domain, but a call that looked it up
 *       before (another domain's mmu_update naming it) may still be running: free or reuse
 *       its memory only after every call that started before has returned (as after an
 *       RCU grace period).
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_destroy(struct pvcore_domain *d);

/**
 * @brief Gives the domain a phys-to-machine table that the library keeps consistent.
 *
 * From then on pvcore_domain_assign() and MMU_MACHPHYS_UPDATE keep, for every guest
 * frame g with `p2m[g]` not all ones, `M2P[p2m[g]] == g` and `p2m[g]` owned by `d`; a freed
 * frame's entry is reset to all ones. Entries are initialised to all ones here.
 *
 * @param d   The domain.
 * @param p2m `nr` entries of embedder memory, kept until the domain is destroyed.
 * @param nr  Number of guest frames the table covers.
 * @return 0, or -PVCORE_EINVAL if p2m is NULL while nr is not 0.
 * @note Call before the domain runs.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_set_p2m(struct pvcore_domain *d, uint64_t *p2m,
                                                      uint64_t nr);

/**
 * @brief Looks up a live domain by id.
 * @param m     The machine.
 * @param domid The id.
 * @return The domain, or NULL if there is none (or it is being destroyed).
 */
PVCORE_API struct pvcore_domain *pvcore_domain_lookup(struct pvcore_machine *m, uint16_t domid);

/**
 * @brief A domain's id.
 * @param d The domain.
 * @return Its id.
 */
PVCORE_API uint16_t pvcore_domain_id(const struct pvcore_domain *d);

/**
 * @brief The number of frames a domain owns (including ones being freed).
 * @param d The domain.
 * @return The count.
 */
PVCORE_API uint64_t pvcore_domain_tot_pages(const struct pvcore_domain *d);

/**
 * @brief Whether a domain is a 32-bit PAE guest (created with #PVCORE_DOMAIN_GUEST_32).
 *
 * The guest's word size decides its hypercall register convention, the wire layouts of
 * its structures, and its page-table format.
 *
 * @param d The domain.
 * @return 1 for a 32-bit PAE guest, 0 for a 64-bit guest.
 * @note Thread-safe; the answer never changes during the domain's life.
 */
PVCORE_API int pvcore_domain_is_32bit(const struct pvcore_domain *d);

/**
 * @brief Enables or disables a VM assist (HYPERVISOR_vm_assist).
 * @param d    The domain.
 * @param cmd  #PVCORE_VMASST_CMD_enable (0) or #PVCORE_VMASST_CMD_disable (1).
 * @param type A VMASST_TYPE_* value.
 * @return 0; -PVCORE_EINVAL for an unknown cmd or a type this guest kind does not support
 *         (supported: pae_extended_cr3 for 32-bit guests, m2p_strict for 64-bit guests,
 *         and writable_pagetables / 4gb_segments as accepted no-ops).
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_domain_vm_assist(struct pvcore_domain *d, uint32_t cmd,
                                                        uint32_t type);

/**
 * @brief One of a domain's vCPUs.
 * @param d  The domain.
 * @param id The vCPU id, below the domain's vCPU count.
 * @return The vCPU, or NULL if id is out of range.
 */
PVCORE_API struct pvcore_vcpu *pvcore_domain_vcpu(struct pvcore_domain *d, uint32_t id);

/**
 * @brief The domain a vCPU belongs to.
 * @param v The vCPU.
 * @return Its domain.
 */
PVCORE_API struct pvcore_domain *pvcore_vcpu_domain(struct pvcore_vcpu *v);

/**
 * @brief A vCPU's current base pointers.
 * @param v      The vCPU.
 * @param kernel Receives the kernel root MFN, or PVCORE_INVALID_MFN_VALUE if none. May be NULL.
 * @param user   Receives the user root MFN (64-bit guests), or PVCORE_INVALID_MFN_VALUE. May be NULL.
 */
PVCORE_API void pvcore_vcpu_base(const struct pvcore_vcpu *v, pvcore_mfn_t *kernel,
                                 pvcore_mfn_t *user);

/**
 * @brief A vCPU's LDT as set by #PVCORE_MMUEXT_SET_LDT.
 * @param v    The vCPU.
 * @param base Receives the LDT's linear address. May be NULL.
 * @param ents Receives the number of 8-byte entries (0: no LDT). May be NULL.
 */
PVCORE_API void pvcore_vcpu_ldt(const struct pvcore_vcpu *v, uint64_t *base, uint32_t *ents);

PVCORE_END_DECLS

#endif /* PVCORE_DOMAIN_H */
