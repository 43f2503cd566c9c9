/*
 * guest32: a 32-bit PAE PV guest. Three-level PAE paging; the kernel runs in ring 1,
 * which is a supervisor ring for paging, so no entry needs US. The L3 (PDPT) entries are
 * Present only: real PAE hardware reserves RW, US, A and D there, and the hypervisor adds
 * whatever its own use of the table needs.
 */
#include "guest.h"

const struct guest_format guest_format = {
    .prefix = "guest32: ",
    .magic = "xen-3.0-x86_32p",
    .levels = 3,
    .table_flags = { [2] = GUEST_PTE_P | GUEST_PTE_RW | GUEST_PTE_A | GUEST_PTE_D,
                     [3] = GUEST_PTE_P },
    .page_flags = GUEST_PTE_P | GUEST_PTE_RW | GUEST_PTE_A | GUEST_PTE_D,
    .ro_page_flags = GUEST_PTE_P | GUEST_PTE_A,
    .pin_root = PVCORE_MMUEXT_PIN_L3_TABLE,
};
