/*
 * The legacy self-description of guest64-legacy.elf, which has no "Xen" ELF notes: a
 * non-allocated section named __xen_guest holding one NUL-terminated string of
 * comma-separated KEY=VALUE pairs. HYPERCALL_PAGE is a page number relative to VIRT_BASE
 * (and follows VIRT_BASE, which loaders may need first to turn it into an address).
 */
#include "layout.h"

#define STR_(x) #x
#define STR(x) STR_(x)

    .section __xen_guest, "", @progbits
    .ascii  "GUEST_OS=libpvcore-example"
    .ascii  ",GUEST_VER=0.1"
    .ascii  ",XEN_VER=xen-3.0"
    .ascii  ",VIRT_BASE=", STR(GUEST_VIRT_BASE)
    .ascii  ",ELF_PADDR_OFFSET=", STR(GUEST_VIRT_BASE)
    .ascii  ",HYPERCALL_PAGE=", STR(GUEST_HYPERCALL_PAGE_INDEX)
    .asciz  ",LOADER=generic"

    .section .note.GNU-stack, "", @progbits
