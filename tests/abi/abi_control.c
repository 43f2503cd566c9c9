/*
 * The control interfaces' framing (sysctl, domctl) against libxen-dev: their headers are
 * the toolstack's (__XEN_TOOLS__) and need GNU C, so they are checked here rather than in
 * abi_check.c, which is strict ISO C. Compile-time checks; the program only reports.
 */
#define __XEN_TOOLS__ 1
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <xen/xen.h>
#include <xen/sysctl.h>
#include <xen/domctl.h>

#include <pvcore/abi/xen.h>

_Static_assert(PVCORE_XEN_SYSCTL_INTERFACE_VERSION == XEN_SYSCTL_INTERFACE_VERSION, "sysctl version");
_Static_assert(PVCORE_XEN_DOMCTL_INTERFACE_VERSION == XEN_DOMCTL_INTERFACE_VERSION, "domctl version");
_Static_assert(PVCORE_XEN_SYSCTL_SIZE == sizeof(struct xen_sysctl), "sysctl size");
_Static_assert(PVCORE_XEN_DOMCTL_SIZE == sizeof(struct xen_domctl), "domctl size");
_Static_assert(offsetof(struct xen_sysctl, cmd) == 0, "sysctl cmd");
_Static_assert(offsetof(struct xen_sysctl, interface_version) == 4, "sysctl version offset");
_Static_assert(offsetof(struct xen_domctl, cmd) == 0, "domctl cmd");
_Static_assert(offsetof(struct xen_domctl, interface_version) == 4, "domctl version offset");

int main(void)
{
    printf("abi_control: 8 checks of the sysctl and domctl framing passed\n");
    return 0;
}
