/*
 * Shared declarations of the example PV guests (guest64.elf, guest64-legacy.elf,
 * guest32.elf): the hypercall wrappers and helpers written in assembly (entry64.S,
 * entry32.S), the paging format of each width (format64.c, format32.c), and the console
 * formatter (print.c). Everything is freestanding: no libc.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <pvcore/abi/xen.h>

/* x86 page-table entry bits (architectural, not part of the Xen ABI headers). */
#define GUEST_PTE_P 0x001u  /* present */
#define GUEST_PTE_RW 0x002u /* writable */
#define GUEST_PTE_US 0x004u /* user-accessible */
#define GUEST_PTE_A 0x020u  /* accessed */
#define GUEST_PTE_D 0x040u  /* dirty */

/* ---- hypercall wrappers (assembly; they call hypercall_page + nr * 32) ------------------ */
/*
 * Every argument is register-wide (or a pointer) so that no upper register half is left
 * undefined. Each returns the hypercall's result: 0 (or a count), or a negated PVCORE_E*.
 * On a 32-bit guest update_va_mapping passes the 64-bit entry as two registers
 * (%ecx low half, %edx high half) and the flags in %esi.
 */
long hyp_mmu_update(const pvcore_mmu_update_t *req, unsigned long count, unsigned int *done,
                    unsigned long foreigndom);
long hyp_mmuext_op(const pvcore_mmuext_op_t *op, unsigned long count, unsigned int *done,
                   unsigned long foreigndom);
long hyp_update_va_mapping(unsigned long va, uint64_t val, unsigned long flags);
long hyp_console_io(unsigned long cmd, unsigned long count, const char *buf);
long hyp_sched_op(unsigned long cmd, void *arg);
long hyp_xen_version(unsigned long cmd, void *arg);

/* ---- other assembly helpers ------------------------------------------------------------- */
/* Reads one byte at a virtual address (used to take a page fault on purpose). */
unsigned long guest_read_byte(unsigned long va);
/* Executes ud2: used only when no hypercall can work (the hypercall page is unfilled). */
_Noreturn void guest_die(void);
/* The hypercall page (filled by the hypervisor) and the end of the image (linker script). */
extern const unsigned char hypercall_page[];
extern char _image_end[];

/* ---- the paging format of this width (format64.c / format32.c) ------------------------- */
#define GUEST_MAX_LEVELS 4

struct guest_format {
    const char *prefix;     /* console line prefix, "guest64: " */
    const char *magic;      /* expected start_info.magic */
    unsigned int levels;    /* paging levels: 4 (x86-64) or 3 (PAE) */
    /* table_flags[L]: flags of an entry in a level-L table that points to a level L-1 table. */
    uint64_t table_flags[GUEST_MAX_LEVELS + 1];
    uint64_t page_flags;    /* L1 entry of an ordinary (writable) page */
    uint64_t ro_page_flags; /* L1 entry of a read-only page (the old page tables) */
    unsigned long pin_root; /* MMUEXT_PIN_L4_TABLE or MMUEXT_PIN_L3_TABLE */
};

extern const struct guest_format guest_format;

/* ---- console output (print.c) ----------------------------------------------------------- */
size_t guest_strlen(const char *s);
/* A small vsnprintf: %d %i %u %x %s %c %% with the length modifiers l, ll and z. */
int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes one console line: guest_format.prefix, the formatted text and a newline. */
void guest_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- entry (guest.c), called by _start on the guest's own stack ------------------------ */
_Noreturn void guest_main(const pvcore_start_info_t *si, unsigned long entry_sp);

#endif /* GUEST_H */
