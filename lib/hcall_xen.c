/*
 * The decoders of the domain's own calls that belong to no other module: xen_version
 * (answered from constants and the domain's assists) and vm_assist.
 */
#include <pvcore/version.h>

#include "internal/hypercall.h"

/* ---- xen_version ---------------------------------------------------------------------------- */

static const char extraversion[PVCORE_XEN_EXTRAVERSION_LEN] = PVCORE_XEN_EXTRAVERSION;
static const char capabilities[PVCORE_XEN_CAPABILITIES_INFO_LEN] = PVCORE_XEN_CAPABILITIES;
static const char changeset[PVCORE_XEN_CHANGESET_INFO_LEN] = "libpvcore " PVCORE_VERSION_STRING;
/* No build host, user or date is recorded, so that builds are reproducible. */
static const struct pvcore_xen_compile_info compile_info = { "libpvcore " PVCORE_VERSION_STRING,
                                                             "", "", "" };
static const uint8_t zeros[PVCORE_XEN_COMMANDLINE_LEN];

/* XENVER_get_features word 0: exactly the optional interfaces the library implements. */
static uint32_t features(const struct domain *d)
{
    /* MMU_PT_UPDATE_PRESERVE_AD, and MMUEXT_CLEAR_PAGE / MMUEXT_COPY_PAGE ("highmem
     * assist"). */
    uint32_t f = (1u << PVCORE_XENFEAT_mmu_pt_update_preserve_ad) |
                 (1u << PVCORE_XENFEAT_highmem_assist) |
                 (1u << PVCORE_XENFEAT_gnttab_map_avail_bits); /* grant.c: GNTMAP_guest_avail */

    /* A PAE L3 may lie above 4 GiB once the guest said it copes, as Xen reports it. */
    if (d->vmassist & (1u << PVCORE_VMASST_TYPE_pae_extended_cr3)) {
        f |= 1u << PVCORE_XENFEAT_pae_pgdir_above_4gb;
    }
    return f;
}

static int64_t xen_version(const struct caller *c, uint32_t cmd, uint64_t argp)
{
    switch (cmd) {
    case PVCORE_XENVER_version:
        return (int64_t)((uint32_t)PVCORE_XEN_VERSION_MAJOR << 16 | PVCORE_XEN_VERSION_MINOR);
    case PVCORE_XENVER_extraversion:
        return hc_copy_out(c, argp, extraversion, sizeof(extraversion));
    case PVCORE_XENVER_compile_info:
        return hc_copy_out(c, argp, &compile_info, sizeof(compile_info));
    case PVCORE_XENVER_capabilities:
        return hc_copy_out(c, argp, capabilities, sizeof(capabilities));
    case PVCORE_XENVER_changeset:
        return hc_copy_out(c, argp, changeset, sizeof(changeset));
    case PVCORE_XENVER_platform_parameters: {
        /* virt_start is the guest's xen_ulong_t: 4 or 8 bytes. */
        uint8_t b[8];
        if (c->is32) {
            hc_put_le(b, PVCORE_HYPERVISOR_VIRT_START_X86_32, 4);
            return hc_copy_out(c, argp, b, 4);
        }
        hc_put_le(b, PVCORE_HYPERVISOR_VIRT_START_X86_64, 8);
        return hc_copy_out(c, argp, b, 8);
    }
    case PVCORE_XENVER_get_features: {
        /* { submap_idx, submap }: read the index, write back both. */
        uint8_t b[sizeof(struct pvcore_xen_feature_info)];
        int rc = hc_copy_in(c, b, argp, sizeof(b));
        if (rc != 0) {
            return rc;
        }
        if (hc_get_le32(b) >= PVCORE_XENFEAT_NR_SUBMAPS) {
            return -PVCORE_EINVAL;
        }
        hc_put_le(b + 4, features(c->d), 4);
        return hc_copy_out(c, argp, b, sizeof(b));
    }
    case PVCORE_XENVER_pagesize:
        return PVCORE_PAGE_SIZE;
    case PVCORE_XENVER_guest_handle:
        /* The library keeps no domain handle: all zeros, as for a domain given none. */
        return hc_copy_out(c, argp, zeros, sizeof(pvcore_xen_domain_handle_t));
    case PVCORE_XENVER_commandline:
        if (!domain_privileged(c->d)) {
            return -PVCORE_EPERM;
        }
        /* The library has no command line of its own: an empty string. */
        return hc_copy_out(c, argp, zeros, PVCORE_XEN_COMMANDLINE_LEN);
    case PVCORE_XENVER_build_id: {
        uint32_t len;
        int rc;
        if (!domain_privileged(c->d)) {
            return -PVCORE_EPERM;
        }
        /* A null buffer asks for the size; otherwise its length must not be 0. Either
         * way there is no build id to give. */
        if (argp != 0) {
            rc = hc_read_u32(c, argp, &len);
            if (rc != 0) {
                return rc;
            }
            if (len == 0) {
                return -PVCORE_EINVAL;
            }
        }
        return -PVCORE_ENODATA;
    }
    default:
        return -PVCORE_ENOSYS;
    }
}

int hcall_xen_version(struct caller *c, uint64_t args[6], int64_t *ret)
{
    *ret = xen_version(c, (uint32_t)args[0], hc_arg(c, args, 1));
    return PVCORE_HYPERCALL_DONE;
}

int hcall_vm_assist(struct caller *c, uint64_t args[6], int64_t *ret)
{
    *ret = pvcore_domain_vm_assist((struct pvcore_domain *)(void *)c->d, (uint32_t)args[0],
                                   (uint32_t)args[1]);
    return PVCORE_HYPERCALL_DONE;
}

/* ---- sysctl and domctl ---------------------------------------------------------------------- */

/*
 * The control interfaces, as far as a guest can tell them apart: the call is read whole
 * (-EFAULT otherwise), a version other than the ABI's is -EACCES, an unprivileged caller
 * is refused with -EPERM, as Xen's permission check does before any operation, and the
 * operations themselves belong to the embedder's toolstack (-ENOSYS here).
 */
static int control_op(struct caller *c, uint64_t arg, size_t size, uint32_t version, int64_t *ret)
{
    uint8_t b[PVCORE_XEN_DOMCTL_SIZE];
    int rc = hc_copy_in(c, b, arg, size);

    if (rc != 0) {
        *ret = rc;
    } else if (hc_get_le32(b + 4) != version) {
        *ret = -PVCORE_EACCES;
    } else if (!domain_privileged(c->d)) {
        *ret = -PVCORE_EPERM;
    } else {
        *ret = -PVCORE_ENOSYS;
    }
    return PVCORE_HYPERCALL_DONE;
}

int hcall_sysctl(struct caller *c, uint64_t args[6], int64_t *ret)
{
    return control_op(c, hc_arg(c, args, 0), PVCORE_XEN_SYSCTL_SIZE,
                      PVCORE_XEN_SYSCTL_INTERFACE_VERSION, ret);
}

int hcall_domctl(struct caller *c, uint64_t args[6], int64_t *ret)
{
    return control_op(c, hc_arg(c, args, 0), PVCORE_XEN_DOMCTL_SIZE,
                      PVCORE_XEN_DOMCTL_INTERFACE_VERSION, ret);
}
