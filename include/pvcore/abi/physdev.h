/**
 * @file
 * @brief The physdev_op commands of the Xen x86 PV wire ABI that the library serves.
 *
 * `physdev_op(cmd, arg)` (hypercall #PVCORE_HYPERVISOR_physdev_op) manages a guest's
 * access to physical devices. The library serves the I/O privilege command; every other
 * command goes back to the embedder. Values and layouts equal Xen's public
 * `physdev.h`; the names carry the `PVCORE_` / `pvcore_` prefix (<pvcore/abi/xen.h>
 * explains the naming rules).
 */
#ifndef PVCORE_ABI_PHYSDEV_H
#define PVCORE_ABI_PHYSDEV_H

#include <stdint.h>

/**
 * @brief `PVCORE_PHYSDEVOP_set_iopl`: sets the calling vCPU's virtual I/O privilege level.
 *
 * `arg` points to a #pvcore_physdev_set_iopl. An `iopl` above 3 fails with -EINVAL.
 * The virtual IOPL decides whether the guest's `in`/`out`, `cli` and `sti` are emulated
 * (see <pvcore/emulate.h>).
 */
#define PVCORE_PHYSDEVOP_set_iopl 6
/**
 * @brief `PVCORE_PHYSDEVOP_set_iobitmap`: registers a guest I/O permission bitmap (not served by
 *        the library: it goes to the embedder).
 */
#define PVCORE_PHYSDEVOP_set_iobitmap 7

/** The argument of #PVCORE_PHYSDEVOP_set_iopl; the same for 32- and 64-bit guests. */
struct pvcore_physdev_set_iopl {
    uint32_t iopl; /**< The new virtual IOPL, 0 to 3. */
};
/** Typedef of struct pvcore_physdev_set_iopl. */
typedef struct pvcore_physdev_set_iopl pvcore_physdev_set_iopl_t;

#endif /* PVCORE_ABI_PHYSDEV_H */
