/**
 * @file
 * @brief The invariant checker: recomputes every reference from scratch and compares.
 *
 * For tests, fuzzers and embedders' debug builds. It walks the whole frame table and
 * every live page table, rebuilds what each frame's general and type counts must be from
 * their holders (allocation, pins, base pointers, page-table entries, partial and queued
 * validation state), and checks the safety rules:
 *
 * - no frame typed as a page table or descriptor page has a writable mapping;
 * - every type count and general count equals the references that hold it;
 * - every mapped RAM frame belongs to a guest (another domain's only as a privileged
 *   domain arranged it) or, read-only, to the hypervisor;
 * - no hypervisor slot is guest-controlled (64-bit L4 slots 256-271; the PAE L3 beyond
 *   slot 3 and the hypervisor part of the L2 it maps at slot 3);
 * - present L2-L4 entries of live tables carry no disallowed flags (L1 cache bits depend
 *   on I/O permissions that may be revoked after the mapping was made, so they are not
 *   checked);
 * - linear page-table accounting is exact and single-level (XSA-240);
 * - free frames have no owner and no type; domains' frame counts are exact;
 * - each domain's P2M agrees with the M2P.
 */
#ifndef PVCORE_CHECK_H
#define PVCORE_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/machine.h>

PVCORE_BEGIN_DECLS

/** @name Violation codes (#pvcore_check_report.code) */
/** @{ */
#define PVCORE_CHECK_OK 0u                /**< No violation. */
#define PVCORE_CHECK_GENERAL_COUNT 1u     /**< General count differs from its holders. */
#define PVCORE_CHECK_TYPE_COUNT 2u        /**< Type count differs from its holders. */
#define PVCORE_CHECK_WRITABLE_PT 3u       /**< A page table or descriptor page is mapped writable. */
#define PVCORE_CHECK_FOREIGN_MAPPING 4u   /**< A table maps a frame its domain may not map. */
#define PVCORE_CHECK_XEN_SLOT 5u          /**< A hypervisor slot holds a guest value. */
#define PVCORE_CHECK_FLAGS 6u             /**< A live entry has a disallowed flag. */
#define PVCORE_CHECK_LINEAR 7u            /**< Linear page-table accounting is wrong. */
#define PVCORE_CHECK_FREE_FRAME 8u        /**< A free frame has an owner or a type. */
#define PVCORE_CHECK_STATE 9u             /**< Inconsistent flags (pinned, partial, teardown). */
#define PVCORE_CHECK_TOT_PAGES 10u        /**< A domain's frame count is wrong. */
#define PVCORE_CHECK_P2M 11u              /**< P2M and M2P (or the M2P and its 32-bit copy) disagree. */
/** @} */

/** The result of a check. */
struct pvcore_check_report {
    uint64_t frames_checked; /**< Frames examined. */
    uint64_t entries_checked; /**< Page-table entries examined. */
    uint32_t violations;     /**< Number of violations found (0: all invariants hold). */
    uint32_t code;           /**< PVCORE_CHECK_* code of the first violation. */
    uint64_t mfn;            /**< Frame of the first violation. */
    uint64_t expected;       /**< For count violations: the recomputed value. */
    uint64_t actual;         /**< For count violations: the stored value. */
};

/**
 * @brief Scratch memory pvcore_check_invariants() needs for a machine.
 * @param m The machine.
 * @return Bytes.
 */
PVCORE_API size_t pvcore_check_scratch_size(const struct pvcore_machine *m);

/**
 * @brief Checks every invariant of the machine.
 *
 * @param m       The machine; must be quiescent (no call in progress on any domain).
 * @param scratch pvcore_check_scratch_size(m) bytes, 4-byte aligned; overwritten.
 * @param len     Size of scratch.
 * @param report  Receives the result.
 * @return 0 if every invariant holds; -PVCORE_EINVAL if one does not (see report) or the
 *         scratch memory is too small (report->code then PVCORE_CHECK_OK).
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_check_invariants(struct pvcore_machine *m, void *scratch,
                                                        size_t len,
                                                        struct pvcore_check_report *report);

/**
 * @brief A short name for a violation code.
 * @param code A PVCORE_CHECK_* value.
 * @return A static string such as "type-count"; never NULL.
 */
PVCORE_API const char *pvcore_check_code_name(uint32_t code);

PVCORE_END_DECLS

#endif /* PVCORE_CHECK_H */
