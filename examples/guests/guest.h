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
long hyp_set_trap_table(const pvcore_trap_info_t *table);
long hyp_stack_switch(unsigned long ss, unsigned long sp);
/* frames: ceil(entries / 512) MFNs (xen_pfn_t, the guest's word size). */
long hyp_set_gdt(const unsigned long *frames, unsigned long entries);
/* On a 32-bit guest each uint64_t takes two registers: (maddr lo, hi, desc lo, hi). */
long hyp_update_descriptor(uint64_t maddr, uint64_t desc);
/* On a 32-bit guest the deadline takes two registers (low, high). */
long hyp_set_timer_op(uint64_t deadline);
long hyp_callback_op(unsigned long cmd, void *arg);
long hyp_event_channel_op(unsigned long cmd, void *arg);
long hyp_grant_table_op(unsigned long cmd, void *ops, unsigned long count);
long hyp_memory_op(unsigned long cmd, void *arg);

/* ---- other assembly helpers ------------------------------------------------------------- */
/* Reads one byte at a virtual address (used to take a page fault on purpose). */
unsigned long guest_read_byte(unsigned long va);
/*
 * Helpers whose one instruction that may fault has an entry in the fixup table: if it
 * faults, guest_trap() resumes at its fixup (guest_fixup()), which returns the value shown.
 */
/* The byte at va, or -1 if reading it faulted. */
long guest_probe_byte(unsigned long va);
/* Loads %fs with a selector: 0, or -1 if the load faulted (a bad selector: #GP or #NP). */
long guest_load_fs(unsigned long selector);
/* The 32-bit word at %fs:offset (the segment's base plus offset). */
uint32_t guest_read_fs(unsigned long offset);
/*
 * Reads the byte at va with every general register but the stack pointer holding a known
 * value (GUEST_REG_PATTERN + its index; %rdi / %edi holds va) and stores them as they were
 * after the read in after[], indexed rax, rbx, rcx, rdx, rsi, rdi, rbp, (rsp: not stored),
 * r8 ... r15 (64-bit: 16 slots; 32-bit: eax ... ebp, 7 slots).
 */
void guest_fault_registers(unsigned long va, unsigned long *after);
/* The fixup address for an instruction at ip, or 0 if it has none. */
unsigned long guest_fixup(unsigned long ip);
/* Moves the stack pointer to stack_top and reads the byte at va: used by the #PF handler
 * to fault where the fault cannot be delivered (an unmapped stack). Never returns. */
_Noreturn void guest_fault_on_stack(unsigned long stack_top, unsigned long va);
/* Executes ud2: used only when no hypercall can work (the hypercall page is unfilled). */
_Noreturn void guest_die(void);
/* The hypercall page (filled by the hypervisor) and the end of the image (linker script). */
extern const unsigned char hypercall_page[];
extern char _image_end[];
/* The top of the guest's own stack (the kernel stack for stack_switch). */
extern char guest_stack_top[];

/* ---- exceptions (the entry stubs in entry64.S / entry32.S, guest_trap() in guest.c) ------ */
/* The entry stub of each vector the guest handles, 0 for the others. */
extern const unsigned long guest_trap_entry[32];
/* The event callback's entry stub; guest_trap() sees it as vector GUEST_VEC_EVENT. */
extern const unsigned long guest_event_entry[1];
#define GUEST_VEC_EVENT 32u

/*
 * What an entry stub hands guest_trap(): the general registers it saved (lowest address
 * first), the vector and error code (0 for exceptions without one), then the frame the
 * hypervisor wrote: rip, cs, rflags, rsp, ss (64-bit; rcx and r11, which Xen puts below,
 * are already back in their registers), or eip, cs, eflags (32-bit, ring 1 to ring 1).
 * The stub returns through HYPERVISOR_iret with this frame, so a handler changes where the
 * guest resumes by changing `ip`.
 */
struct guest_trap_frame {
#if defined(__x86_64__)
    unsigned long r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
#else
    unsigned long edi, esi, ebp, esp, ebx, edx, ecx, eax; /* pushal's order */
#endif
    unsigned long vector, error;
    unsigned long ip, cs, flags;
};

/* Called by the entry stubs (guest.c), with the event mask as it was at the exception. */
void guest_trap(struct guest_trap_frame *f);

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

/* ---- guest.c's helpers for events.c, and events.c ----------------------------------------- */
#include <stdbool.h>
bool guest_option_is(const char *key, const char *value);
bool guest_starts_with(const char *s, const char *prefix);
/* The event-channel step for minihv.evtchn=<mode>: returns the number of failed checks. */
unsigned int guest_events(const char *mode, volatile void *shared_info,
                          uint64_t (*mfn_of)(const void *va));
/* The event callback's C part (from guest_trap()). */
void guest_events_upcall(void);
/* System time (ns) as the hypervisor last published it in vcpu_info[0] of shared info. */
uint64_t guest_system_time(const volatile void *shared_info);

/* ---- blk.c: the block split driver step ------------------------------------------------- */
/*
 * For minihv.blk=<mode>: returns the number of failed checks. [free_va, free_end) are
 * pages of the initial mapping nothing else uses (the RAM disk, the ring and data pages,
 * the mapping windows come from there). p2m_list and nr_pages are start_info's: transfer
 * mode changes the frames of some pages and keeps the list right. store_mfn and
 * store_evtchn are start_info's too: the two ends meet through xenstore.
 */
unsigned int guest_blk(const char *mode, volatile void *shared_info, uint64_t (*mfn_of)(const void *va),
                       unsigned long *p2m_list, unsigned long nr_pages, unsigned long free_va,
                       unsigned long free_end, uint64_t store_mfn, uint32_t store_evtchn);

/* ---- entry (guest.c), called by _start on the guest's own stack ------------------------ */
_Noreturn void guest_main(const pvcore_start_info_t *si, unsigned long entry_sp);

#endif /* GUEST_H */
