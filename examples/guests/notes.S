/*
 * The "Xen" ELF notes of guest64.elf and guest32.elf (guest64-legacy.elf links
 * xen_guest.S instead). Section .note.Xen, placed in a PT_NOTE segment by the linker
 * script. Each note: namesz 4 ("Xen" and its NUL), descsz, type, the name, then the
 * descriptor, each padded to 4 bytes. Addresses are 8-byte descriptors in the ELF64 image
 * and 4-byte ones in the ELF32 image.
 */
#include <pvcore/abi/elfnote.h>

#include "layout.h"

#if defined(__x86_64__)
#define NOTE_ADDR .quad
#else
#define NOTE_ADDR .long
#endif

/* XEN_NOTE type, descriptor directive...: one note whose descriptor the directive emits. */
.macro XEN_NOTE type:req, desc:vararg
    .balign 4
    .long   4
    .long   .Ldesc_end\@ - .Ldesc\@
    .long   \type
    .asciz  "Xen"
.Ldesc\@:
    \desc
.Ldesc_end\@:
    .balign 4
.endm

    .section .note.Xen, "a", @note
    .balign 4
    XEN_NOTE PVCORE_XEN_ELFNOTE_GUEST_OS, .asciz "libpvcore-example"
    XEN_NOTE PVCORE_XEN_ELFNOTE_GUEST_VERSION, .asciz "0.1"
    XEN_NOTE PVCORE_XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0"
    XEN_NOTE PVCORE_XEN_ELFNOTE_LOADER, .asciz "generic"
    XEN_NOTE PVCORE_XEN_ELFNOTE_VIRT_BASE, NOTE_ADDR GUEST_VIRT_BASE
    XEN_NOTE PVCORE_XEN_ELFNOTE_PADDR_OFFSET, NOTE_ADDR GUEST_VIRT_BASE
    XEN_NOTE PVCORE_XEN_ELFNOTE_ENTRY, NOTE_ADDR _start
    XEN_NOTE PVCORE_XEN_ELFNOTE_HYPERCALL_PAGE, NOTE_ADDR hypercall_page
    XEN_NOTE PVCORE_XEN_ELFNOTE_FEATURES, .asciz ""
#if defined(__i386__)
    XEN_NOTE PVCORE_XEN_ELFNOTE_PAE_MODE, .asciz "yes"
#endif

    .section .note.GNU-stack, "", @progbits
