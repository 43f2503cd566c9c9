/* Uses the installed headers and library; exits non-zero on any mismatch. */
#include <stdio.h>
#include <string.h>

#include <pvcore/pvcore.h>
#include <pvcore/abi/xen.h>

int main(void)
{
    if (pvcore_version() != PVCORE_VERSION_NUMBER) {
        fprintf(stderr, "header/library version mismatch\n");
        return 1;
    }
    if (strcmp(pvcore_strerror(-PVCORE_EINVAL), "EINVAL") != 0) {
        fprintf(stderr, "pvcore_strerror broken\n");
        return 1;
    }
    printf("consumer: libpvcore %s, mmu_update is hypercall %d\n", pvcore_version_string(),
           PVCORE_HYPERVISOR_mmu_update);
    return 0;
}
