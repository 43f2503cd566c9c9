/**
 * @file
 * @brief Refusal diagnostics: which validation rule refused an MMU request.
 *
 * The MMU hypercalls answer a refused request with an error value only (-PVCORE_EINVAL,
 * -PVCORE_EBUSY, -PVCORE_EPERM, ...), as Xen does: many rules share one value. A fuzzer,
 * a test or a teaching kernel that wants to know *which* rule refused it installs a
 * refusal hook with pvcore_trace_set_refusal_hook(). For every refused mmu_update,
 * mmuext_op and update_va_mapping call (pvcore_mmu_update(), pvcore_mmuext_op(),
 * pvcore_update_va_mapping(), and the same hypercalls through pvcore_hypercall() and
 * multicalls) the hook is then called once, after the call, with a #pvcore_refusal that
 * names the rule (#pvcore_refusal.code, one of the PVCORE_REFUSAL_* values below), the
 * page-table entry it was checking, and the frame the rule is about.
 *
 * The hook is a per-machine setting rather than a member of #pvcore_host_ops: it is a
 * diagnostic the embedder may switch on and off while the machine runs, not a machine
 * action the core needs, and a new member would change the size of a table the embedder
 * allocates.
 *
 * Cost: with no hook installed the library does nothing more than before on a call that
 * succeeds; on a refused request it records a few words in the call's own context.
 *
 * What is not a refusal, and is never reported: success, -PVCORE_ERESTART (preemption:
 * the call continues later), and a request the ABI accepts and ignores (#PVCORE_MMUEXT_PIN_L4_TABLE
 * of a 32-bit guest, an INVLPG of a hypervisor address).
 */
#ifndef PVCORE_TRACE_H
#define PVCORE_TRACE_H

#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/types.h>

PVCORE_BEGIN_DECLS

struct pvcore_machine;
struct pvcore_vcpu;

/**
 * @name Refusal reasons (#pvcore_refusal.code)
 * One value per rule the MMU validator refuses a request with. The values are stable;
 * new ones are added at the end. The error each rule gives is in parentheses.
 */
/** @{ */
/** No reason recorded (a refusal point the library failed to name: a bug). */
#define PVCORE_REFUSAL_NONE 0u
/** Unknown mmu_update command (ptr & 3) or mmuext_op command (-PVCORE_ENOSYS). */
#define PVCORE_REFUSAL_BAD_COMMAND 1u
/** The request array is NULL or unreadable (-PVCORE_EFAULT), or the vCPU bitmap of a
 * *_MULTI flush or of update_va_mapping is unreadable (-PVCORE_EINVAL, -PVCORE_EFAULT). */
#define PVCORE_REFUSAL_BAD_POINTER 2u
/** The foreign-domain argument names no domain, or names the caller by its own id
 * (-PVCORE_ESRCH). */
#define PVCORE_REFUSAL_NO_DOMAIN 3u
/** The caller may not act on the named foreign domain's frames or tables: it is not
 * privileged, or MMU_MACHPHYS_UPDATE names another page-table owner, or an L2-L4 update
 * names a foreign data owner (-PVCORE_EPERM, -PVCORE_EINVAL). */
#define PVCORE_REFUSAL_NOT_PERMITTED 4u
/** The command acts on the caller's own vCPU or domain only (base pointers, flushes, LDT,
 * cache flushes), and a foreign domain was named (-PVCORE_EPERM). */
#define PVCORE_REFUSAL_SELF_ONLY 5u
/** DOMID_IO or DOMID_XEN was named where only a real domain can do: they own no page
 * tables and have no guest frame numbers (-PVCORE_EINVAL). */
#define PVCORE_REFUSAL_PSEUDO_OWNER 6u
/** The frame (#pvcore_refusal.mfn) is not the expected domain's, is beyond the machine's
 * memory, or its reference count is saturated (-PVCORE_EINVAL). */
#define PVCORE_REFUSAL_NOT_OWNER 7u
/** An L1 entry maps a RAM frame that no domain owns (-PVCORE_EBUSY). */
#define PVCORE_REFUSAL_FREE_FRAME 8u
/** An L1 entry maps another domain's frame without the right to (-PVCORE_EBUSY). */
#define PVCORE_REFUSAL_FOREIGN_FRAME 9u
/** An L1 entry maps a hypervisor frame writable (-PVCORE_EBUSY) or with a cache type other
 * than write-back (-PVCORE_EACCES). */
#define PVCORE_REFUSAL_XEN_FRAME 10u
/** An L1 entry maps memory that is not RAM and not I/O memory the domain was given
 * (-PVCORE_EPERM, -PVCORE_EINVAL for the all-ones frame number). */
#define PVCORE_REFUSAL_IOMEM 11u
/** The frame already has another type, or its type count is saturated: a pin or base
 * pointer of the wrong level, an entry naming a table of the wrong level, a page table
 * given as a descriptor page (-PVCORE_EINVAL). */
#define PVCORE_REFUSAL_TYPE_CONFLICT 12u
/** The frame would become writable (a read-write L1 entry, an mmu_update of a word of
 * ordinary memory, #PVCORE_MMUEXT_CLEAR_PAGE or #PVCORE_MMUEXT_COPY_PAGE) but it is a page table or a
 * descriptor page (-PVCORE_EBUSY, -PVCORE_EINVAL). */
#define PVCORE_REFUSAL_WRITABLE_PAGE_TABLE 13u
/** A present entry sets a flag its level forbids: PWT, PCD or G above L1, PWT, PCD or PAT
 * in an L1 of a domain without I/O memory (-PVCORE_EINVAL). */
#define PVCORE_REFUSAL_FLAGS 14u
/** A present L2-L4 entry sets PSE: PV guests have no superpages (-PVCORE_EINVAL). */
#define PVCORE_REFUSAL_PSE 15u
/** A present PAE L3 entry sets reserved bits (52-63, NX included) (-PVCORE_EINVAL). */
#define PVCORE_REFUSAL_RESERVED_BITS 16u
/** An update of a slot the hypervisor owns (-PVCORE_EINVAL; -PVCORE_EPERM in the L2 that
 * a PAE L3's slot 3 maps). */
#define PVCORE_REFUSAL_HYP_SLOT 17u
/** A same-level ("linear") entry breaks the linear rules: writable, its target not
 * validated at the same level, more than one level deep, or the machine forbids them
 * (#PVCORE_MACHINE_NO_LINEAR_PT) (-PVCORE_EINVAL). */
#define PVCORE_REFUSAL_LINEAR 18u
/** A PAE L3's slot 3: not present, updated, or mapping an L2 that is also used elsewhere
 * (-PVCORE_EINVAL). */
#define PVCORE_REFUSAL_PAE_SLOT3 19u
/** A PAE L3 above 4 GiB without #PVCORE_VMASST_TYPE_pae_extended_cr3 (-PVCORE_ERANGE). */
#define PVCORE_REFUSAL_BELOW_4G 20u
/** MMUEXT_PIN_L*_TABLE of a frame already pinned (-PVCORE_EINVAL). */
#define PVCORE_REFUSAL_ALREADY_PINNED 21u
/** #PVCORE_MMUEXT_UNPIN_TABLE of a frame that is not pinned (-PVCORE_EINVAL). */
#define PVCORE_REFUSAL_NOT_PINNED 22u
/** update_va_mapping: the address is not the guest's, or no validated L1 maps it in the
 * vCPU's kernel tables; level and slot say where the walk stopped (-PVCORE_EINVAL). */
#define PVCORE_REFUSAL_NOT_MAPPED 23u
/** #PVCORE_MMUEXT_SET_LDT: more than 8192 entries, an unaligned base, or a range outside guest
 * space (-PVCORE_EINVAL). */
#define PVCORE_REFUSAL_BAD_LDT 24u
/** #PVCORE_MMUEXT_FLUSH_CACHE(_GLOBAL) by a domain without I/O memory (-PVCORE_EACCES). */
#define PVCORE_REFUSAL_CACHE_FLUSH 25u
/** #PVCORE_MMUEXT_MARK_SUPER, #PVCORE_MMUEXT_UNMARK_SUPER: PV superpages are gone (-PVCORE_EOPNOTSUPP). */
#define PVCORE_REFUSAL_SUPERPAGE 26u
/** #PVCORE_MMUEXT_NEW_USER_BASEPTR from a 32-bit guest, which has no user base (-PVCORE_EINVAL). */
#define PVCORE_REFUSAL_USER_BASE_32 27u
/** An update of an L1 entry that is a grant mapping (made by #PVCORE_GNTTABOP_map_grant_ref):
 * only the grant interface changes or removes it (-PVCORE_EINVAL). */
#define PVCORE_REFUSAL_GRANT_PTE 28u
/** One past the last reason; pvcore_trace_reason_name() names everything below. */
#define PVCORE_REFUSAL_COUNT 29u
/** @} */

/** #pvcore_refusal.slot when the rule is not about one entry. */
#define PVCORE_REFUSAL_NO_SLOT UINT32_MAX

/**
 * @brief One refused request, as the refusal hook sees it.
 *
 * Where a refusal comes from deep inside a validation (pinning an L4 validates the L3s it
 * names, and so on), #level, #slot and #table describe the innermost entry being checked,
 * the one that broke the rule, not the request's own table.
 */
struct pvcore_refusal {
    uint32_t code;      /**< The rule: one of the PVCORE_REFUSAL_* values; NONE only if
                             the library failed to record one (a bug worth reporting). */
    int32_t err;        /**< The negative PVCORE_E* value the call returned. */
    uint32_t hypercall; /**< #PVCORE_HYPERVISOR_mmu_update, #PVCORE_HYPERVISOR_mmuext_op or
                             #PVCORE_HYPERVISOR_update_va_mapping. */
    uint32_t cmd;       /**< The request's command: mmu_update's ptr &
                             #PVCORE_MMU_UPDATE_CMD_MASK, mmuext_op's cmd;
                             0 for update_va_mapping and for refusals of the whole call. */
    uint32_t index;     /**< The refused request's index in the batch (the number the call
                             reports done, counting from this call's first request); 0
                             for update_va_mapping. */
    uint32_t level;     /**< Page-table level (1-4) of #table; 0 when the rule is not
                             about a page table. */
    uint32_t slot;      /**< Entry index (0-511) in #table; #PVCORE_REFUSAL_NO_SLOT when
                             the rule is about a whole frame (a pin, a base pointer). */
    pvcore_mfn_t table; /**< The table whose entry was checked, or the table a pin, unpin
                             or base pointer named; PVCORE_INVALID_MFN_VALUE for none. */
    pvcore_mfn_t mfn;   /**< The frame the rule is about: the frame an entry maps, the
                             frame a request names; PVCORE_INVALID_MFN_VALUE for none. */
};

/**
 * @brief The refusal hook: called once for each refused call, with `ctx` as given to
 * pvcore_trace_set_refusal_hook().
 *
 * `v` is the vCPU that made the call; `r` is valid only during the call. Called with no
 * library lock held, on the thread that made the call, after the call's state changes
 * (earlier requests of the batch stay applied) and before the call returns; the hook may
 * call the library, but should be quick.
 */
typedef void (*pvcore_refusal_fn)(void *ctx, struct pvcore_vcpu *v,
                                  const struct pvcore_refusal *r);

/**
 * @brief Installs (or, with `fn` NULL, removes) machine `m`'s refusal hook.
 *
 * @param m   The machine.
 * @param fn  The hook, or NULL for none (the default).
 * @param ctx Passed to the hook unchanged.
 *
 * Concurrency: the hook and its ctx are read without synchronization by every MMU call;
 * change them only while no vCPU of the machine is in a hypercall (before the vCPUs run,
 * or with every domain paused), or calls meanwhile may see a mix of old and new.
 */
PVCORE_API void pvcore_trace_set_refusal_hook(struct pvcore_machine *m, pvcore_refusal_fn fn,
                                              void *ctx);

/**
 * @brief A short stable name for a refusal reason.
 *
 * @param code A PVCORE_REFUSAL_* value (#pvcore_refusal.code).
 * @return Its name, the PVCORE_REFUSAL_ name's suffix in lower case ("type_conflict",
 *         "linear", ...); "unknown" for a value that is not a reason. Never NULL; the
 *         string is static. Safe from any thread.
 */
PVCORE_API const char *pvcore_trace_reason_name(uint32_t code);

PVCORE_END_DECLS

#endif /* PVCORE_TRACE_H */
