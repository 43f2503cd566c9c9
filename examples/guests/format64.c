/*
 * guest64: a 64-bit PV guest. Four-level paging; the kernel runs in ring 3, so every
 * entry carries US (the hypervisor would add it to kernel mappings anyway).
 */
#include "guest.h"

#define UPPER (GUEST_PTE_P | GUEST_PTE_RW | GUEST_PTE_A | GUEST_PTE_D | GUEST_PTE_US)

const struct guest_format guest_format = {
    .prefix = "guest64: ",
    .magic = "xen-3.0-x86_64",
    .levels = 4,
    .table_flags = { [2] = UPPER, [3] = UPPER, [4] = UPPER },
    .page_flags = GUEST_PTE_P | GUEST_PTE_RW | GUEST_PTE_A | GUEST_PTE_D | GUEST_PTE_US,
    .ro_page_flags = GUEST_PTE_P | GUEST_PTE_A | GUEST_PTE_US,
    .pin_root = PVCORE_MMUEXT_PIN_L4_TABLE,
};
