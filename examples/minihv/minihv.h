/*
 * minihv: a small bare-metal hypervisor built on libpvcore, booted by QEMU's multiboot
 * loader. This header is shared by its C files; see docs/embedding.md for the tour.
 *
 * Address space of the hypervisor (x86-64, 4-level paging):
 *   L4 slot 256  0xFFFF800000000000  the machine-to-phys table, read-only to 64-bit guests
 *   L4 slot 262  0xFFFF830000000000  a direct map of the first 4 GiB of physical memory
 *                                    (supervisor only); the hypervisor runs from it
 * Every other L4 slot belongs to the guest whose tables are loaded. The hypervisor's
 * slots (256-271) are copied into every guest L4 by libpvcore when it validates one
 * (pvcore_machine_config.hyp_l4_slots); 32-bit guests run under a per-vCPU L4 whose slot 0
 * points at their PAE L3.
 */
#ifndef MINIHV_H
#define MINIHV_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <pvcore/arch/x86.h>
#include <pvcore/pvcore.h>
#include <pvcore/xenstore.h>

/* libc.c: the C library functions minihv and libpvcore use (default visibility: in a
 * hosted build, such as the loader's fuzz target, they are the C library's). */
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
char *strstr(const char *h, const char *n);
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/*
 * Everything below is defined inside the image: hidden visibility lets -fpie code take
 * addresses with lea instead of GOT loads the linker cannot relax at this address.
 */
#pragma GCC visibility push(hidden)

#define DIRECTMAP_BASE 0xFFFF830000000000ull
/* The descriptor area (mm.c, cpu.c): the GDT the processor uses, then the LDT pages. */
#define DESC_AREA_VA 0xFFFF828000000000ull
#define LDT_AREA_VA (DESC_AREA_VA + 16 * 4096ull)
#define LDT_AREA_SIZE (16 * 4096ull)
#define DIRECTMAP_SIZE 0x100000000ull /* 4 GiB */
#define PAGE_SIZE 4096ull

/* Hypervisor GDT selectors (the reserved area from byte 0xe000, as Xen lays it out). */
#define HYP_CS 0xe008u
#define HYP_DS 0xe010u
#define HYP_TSS 0xe040u

/* Pseudo vectors for the entry stubs that are not exceptions. */
#define VEC_HYPERCALL_INT82 0x82u
/* The timer interrupt: IRQ 0 of the remapped 8259. */
#define VEC_TIMER 0x20u
#define VEC_SYSCALL64 0x100u
#define VEC_SYSCALL32 0x101u

/* What the entry stubs save: the layout is fixed by entry.S. */
struct frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss; /* as pushed by the CPU (or built by the syscall stub) */
};

/* Event-channel ports each guest may use (its table is in minihv's heap). */
#define MINIHV_EVTCHN_PORTS 1024u

/* Grant-table frames every guest gets, and the grant mappings it may hold at once. */
#define MINIHV_GRANT_FRAMES 4u
/* Pages a domain may have beyond its start-of-day memory (memory_op, page flipping). */
#define MINIHV_SPARE_PAGES 16u
#define MINIHV_GRANT_HANDLES 64u

/* Why a guest stopped running (minihv_enter_guest's return value). */
#define STOP_SHUTDOWN 0x100 /* + the shutdown reason */
#define STOP_FAULT 0x200    /* an exception that cannot be delivered */
#define STOP_SWITCH 0x300   /* it blocked, yielded or used up its slice: run another */

/* The timer (sched.c): the PIT's channel 0 at about 1 kHz, time slices of 10 ticks. */
#define MINIHV_PIT_HZ 1193182u
#define MINIHV_PIT_DIVISOR 1193u
#define MINIHV_SLICE_TICKS 10u

/* Exit codes written to isa-debug-exit (QEMU exits with (code << 1) | 1). */
#define EXIT_ALL_POWEROFF 0x20u /* + 0: every guest shut down with SHUTDOWN_poweroff */
/* 0x20 + reason: the first guest that did not power off gave this shutdown reason */
#define EXIT_GUEST_FAULT 0x2eu  /* a guest was destroyed after an undeliverable fault */
#define EXIT_PANIC 0x2fu        /* the hypervisor itself failed */

/* One guest. */
struct guest {
    struct pvcore_domain *d;
    struct pvcore_vcpu *v;
    uint16_t domid;
    int is32;
    uint64_t nr_pages;
    uint64_t *p2m;            /* pfn -> mfn, hypervisor copy */
    uint64_t cr3;             /* what CR3 is loaded with while it runs */
    uint64_t compat_l4;       /* 32-bit guests: the MFN of their per-vCPU L4 */
    uint64_t kernel_base;     /* current kernel base pointer (MFN) */
    uint64_t user_base;       /* 64-bit guests: the user base pointer (MFN), or all ones */
    uint64_t console_mfn;     /* the console ring page */
    uint32_t console_port;    /* its event channel (start_info.console.domU.evtchn) */
    uint64_t store_mfn;       /* the xenstore ring page */
    uint32_t store_port;      /* its event channel (start_info.store_evtchn) */
    struct pvcore_xenstore_conn *store_conn; /* its connection to minihv's xenstore */
    int used_console_io;      /* wrote through console_io: the ring is only consumed */
    int poweroff_pending;     /* its last vCPU went down (VCPUOP_down) */
    /* The scheduler's view (sched.c) */
    int alive;                /* built and not yet destroyed */
    int started;              /* has run */
    int blocked;              /* between vcpu_sched BLOCK and WAKE */
    int yielded;              /* vcpu_sched YIELD during the current hypercall */
    int shutdown_pending;     /* the domain_shutdown hook came, with... */
    uint32_t shutdown_reason; /* ... this reason */
    uint64_t deadline;        /* the vCPU's timer (timer_set hook), system time; 0: none */
    /* What a switch saves of the processor's state while another guest runs */
    uint16_t sel[4];          /* ds, es, fs, gs */
    uint64_t msr_fs, msr_gs, msr_kgs; /* 64-bit guests: FS_BASE, GS_BASE, KERNEL_GS_BASE */
    uint8_t fpu[512] __attribute__((aligned(16))); /* fxsave area */
    /* What the processor was last given of the vCPU's state (hypercall.c, sync_cpu_state). */
    uint64_t fs_base, gs_kernel, gs_user;
    int kernel_mode;
    uint32_t ldt_ents_loaded; /* the LDT size the LDT register describes */
    uint64_t dr[6];           /* debug registers 0-3, 6, 7 as last loaded */
    struct frame regs;        /* initial registers */
    const char *name;
    char cmdline[1024];
    char line[200];           /* console: the line being written, printed whole */
    size_t line_len;
};

/* entry.S */
extern const uint64_t minihv_trap_stubs[32];
void minihv_int82_entry(void);
void minihv_syscall64_entry(void);
void minihv_syscall32_entry(void);
void minihv_irq0_entry(void);
int minihv_enter_guest(const struct frame *f);
void minihv_load_data_segments(uint16_t sel[4]);
extern const uint64_t minihv_seg_load_insns[4];
__attribute__((noreturn)) void minihv_exit_to_host(int code);
extern uint64_t minihv_hyp_stack_top;

/* console.c */
void con_init(void);
void con_putc(char c);
int con_getc(void);                      /* a byte of serial input, or -1 */
void con_write(const char *s, size_t n);
void con_printf(const char *fmt, ...);
void con_vprintf(const char *fmt, va_list ap);
__attribute__((noreturn)) void hv_exit(uint32_t code);
__attribute__((noreturn)) void panic(const char *fmt, ...);

/* mm.c: physical memory */
static inline void *phys_to_virt(uint64_t pa)
{
    return (void *)(uintptr_t)(DIRECTMAP_BASE + pa);
}
static inline uint64_t virt_to_phys(const void *va)
{
    return (uint64_t)(uintptr_t)va - DIRECTMAP_BASE;
}
uint64_t mm_alloc_frames(uint64_t count);   /* hypervisor frames, zeroed; panics when out */
void mm_init(uint32_t mbi_phys);
struct pvcore_machine *mm_machine(void);
uint64_t mm_alloc_guest_frame(void);        /* a free RAM frame for a guest (not zeroed) */
uint64_t mm_xen_frame_example(void);        /* some frame the hypervisor owns */
extern uint64_t mm_hyp_l4_slots[16];
extern uint64_t mm_hyp_pae_l2_slots[84];
extern uint64_t *mm_desc_area_l1; /* the descriptor area's 32 entries */
extern uint64_t mm_zero_frame;    /* a zeroed hypervisor frame */

/* cpu.c */
extern int cpu_has_fsgsbase; /* the processor has FSGSBASE (guests may turn it on) */
extern int cpu_has_nx;       /* NX is on (EFER.NXE): grant mappings get it */
void cpu_init(void);
void cpu_timer_eoi(void);
void cpu_load_gdt(struct guest *g);  /* g's GDT frames and kind; NULL: the hypervisor's alone */
void cpu_sync_ldt(struct guest *g);  /* the LDT register, after g's LDT size changed */
void cpu_drop_ldt_mappings(void);
int cpu_ldt_fault(struct guest *g, uint64_t cr2); /* 1: an LDT page was mapped, retry */

/* build.c: the domain builder */
int build_guest(struct guest *g, uint16_t domid, const void *kernel, uint64_t size,
                const void *ramdisk, uint64_t ramdisk_len, const char *cmdline,
                uint64_t mem_pages);

/* hypercall.c: traps, hypercalls and the library's hooks */
extern const struct pvcore_host_ops minihv_host_ops;
extern struct guest *current;
void minihv_trap(struct frame *f);
void guest_load_cr3(struct guest *g);
void guest_flush_line(struct guest *g);   /* the console line begun, ended with a newline */
void drain_console_ring(struct guest *g);

/* backend.c: the console and xenstore back-ends */
void backend_init(void);
void backend_guest_init(struct guest *g);
void backend_guest_fini(struct guest *g);
void serve_backends(struct guest *g);     /* its console ring both ways, its xenstore ring */
int guest_deliver_upcall(struct guest *g, struct frame *f); /* 0; -1: it cannot take it */
void sync_cpu_state(struct guest *g);

/* sched.c: the timer, the scheduler's hooks and its decisions */
extern int need_resched;          /* the current guest's slice is over */
extern uint64_t sched_switches[3]; /* switches away from a guest that blocked, yielded,
                                    * used up its slice */
void timer_init(void);            /* calibrates the TSC against the PIT (interrupts on) */
void timer_tick(void);            /* the timer interrupt */
uint64_t timer_now_ns(void);      /* system time: ns since timer_init() */
void timer_guest_init(struct guest *g);   /* its TSC frequency and wall clock */
void timer_guest_update(struct guest *g); /* its vcpu_time_info, now */
int sched_other_runnable(const struct guest *g);
void sched_new_slice(void);       /* for the guest being switched in */
void hook_vcpu_sched(void *ctx, struct pvcore_vcpu *v, int event);
void hook_domain_shutdown(void *ctx, struct pvcore_domain *d, uint32_t reason);
uint64_t hook_system_time(void *ctx);
void hook_timer_set(void *ctx, struct pvcore_vcpu *v, uint64_t deadline_ns);
void hook_evtchn_kick(void *ctx, struct pvcore_vcpu *v);
struct guest *guest_of(struct pvcore_vcpu *v);
extern struct guest *guests_by_domid[64];


#pragma GCC visibility pop

#endif
