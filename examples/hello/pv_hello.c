/*
 * pv_hello: the foundation demo. Prints the library version and the parts of Xen's wire
 * ABI that a hypervisor built on libpvcore speaks, for both guest widths.
 */
#include <stddef.h>
#include <stdio.h>

#include <pvcore/pvcore.h>
#include <pvcore/abi/xen.h>
#include <pvcore/abi/event_channel.h>
#include <pvcore/abi/grant_table.h>
#include <pvcore/abi/console.h>

int main(void)
{
    printf("libpvcore %s (headers %s)\n", pvcore_version_string(), PVCORE_VERSION_STRING);
    if (pvcore_version() != PVCORE_VERSION_NUMBER) {
        fprintf(stderr, "header/library version mismatch\n");
        return 1;
    }
    printf("\nHypercalls: mmu_update=%d mmuext_op=%d update_va_mapping=%d event_channel_op=%d "
           "grant_table_op=%d sched_op=%d\n",
           PVCORE_HYPERVISOR_mmu_update, PVCORE_HYPERVISOR_mmuext_op,
           PVCORE_HYPERVISOR_update_va_mapping, PVCORE_HYPERVISOR_event_channel_op,
           PVCORE_HYPERVISOR_grant_table_op, PVCORE_HYPERVISOR_sched_op);
    printf("Errors are Xen's: -EINVAL=%d (%s), -ERESTART=%d (%s)\n", -PVCORE_EINVAL,
           pvcore_strerror(-PVCORE_EINVAL), -PVCORE_ERESTART, pvcore_strerror(-PVCORE_ERESTART));
    printf("\n%-28s %10s %10s\n", "structure (bytes)", "32-bit", "64-bit");
    printf("%-28s %10zu %10zu\n", "start_info", sizeof(pvcore_start_info_x86_32_t),
           sizeof(pvcore_start_info_x86_64_t));
    printf("%-28s %10zu %10zu\n", "shared_info", sizeof(pvcore_shared_info_x86_32_t),
           sizeof(pvcore_shared_info_x86_64_t));
    printf("%-28s %10zu %10zu\n", "vcpu_info", sizeof(pvcore_vcpu_info_x86_32_t),
           sizeof(pvcore_vcpu_info_x86_64_t));
    printf("%-28s %10zu %10zu\n", "mmuext_op", sizeof(pvcore_mmuext_op_x86_32_t),
           sizeof(pvcore_mmuext_op_x86_64_t));
    printf("%-28s %10zu %10zu\n", "trap_info", sizeof(pvcore_trap_info_x86_32_t),
           sizeof(pvcore_trap_info_x86_64_t));
    printf("%-28s %10zu %10zu\n", "mmu_update", sizeof(pvcore_mmu_update_t),
           sizeof(pvcore_mmu_update_t));
    printf("%-28s %10zu %10zu\n", "grant_entry_v1", sizeof(pvcore_grant_entry_v1_t),
           sizeof(pvcore_grant_entry_v1_t));
    printf("%-28s %10zu %10zu\n", "xencons_interface", sizeof(pvcore_xencons_interface_t),
           sizeof(pvcore_xencons_interface_t));
    printf("\nstart_info.cmd_line is at offset %zu (32-bit) / %zu (64-bit)\n",
           offsetof(pvcore_start_info_x86_32_t, cmd_line),
           offsetof(pvcore_start_info_x86_64_t, cmd_line));
    return 0;
}
