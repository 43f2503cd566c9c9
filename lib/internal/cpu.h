/*
 * The CPU half's per-vCPU state: the virtual IDT (trap table), the callbacks, the kernel
 * stack, the guest's mode, and the virtual control, debug and segment-base registers.
 * Kept in struct vcpu (domain.h) and touched only by that vCPU's own calls (one at a time),
 * except by VCPUOP calls on a vCPU that is down. Never installed.
 *
 * Units: bounce.c (frames, the leaf), traps.c (dispatch, trap table, callbacks, stack_switch,
 * iret),
 * desc.c (descriptor checks, GDT, LDT), emulate.c (privileged instructions).
 */
#ifndef PVCORE_INTERNAL_CPU_H
#define PVCORE_INTERNAL_CPU_H

#include <pvcore/cpu.h>

#include "internal/base.h"
#include "internal/mem.h"

struct vcpu;

/* RFLAGS bits the CPU half reads or changes. */
#define EFLAGS_TF 0x100u
#define EFLAGS_IF 0x200u
#define EFLAGS_DF 0x400u
#define EFLAGS_IOPL 0x3000u
#define EFLAGS_IOPL_SHIFT 12
#define EFLAGS_NT 0x4000u
#define EFLAGS_RF 0x10000u
#define EFLAGS_VM 0x20000u
#define EFLAGS_AC 0x40000u

/* Exception vectors the core tells apart. */
#define X86_VEC_DB 1u
#define X86_VEC_NMI 2u
#define X86_VEC_BP 3u
#define X86_VEC_UD 6u
#define X86_VEC_NM 7u
#define X86_VEC_GP 13u
#define X86_VEC_PF 14u

/* One virtual IDT entry, as set_trap_table gave it (cs with its RPL fixed up). */
struct cpu_trap {
    uint64_t address; /* 0: no handler */
    uint16_t cs;
    uint8_t flags; /* TI_*: bits 0-1 the DPL for software interrupts, bit 2 mask events */
};

/* The callbacks of callback_op / set_callbacks, by their slot here. */
enum cpu_callback_slot {
    CB_EVENT,
    CB_FAILSAFE,
    CB_SYSCALL,   /* 64-bit guests: syscall from user mode */
    CB_SYSCALL32, /* syscall from 32-bit user code */
    CB_SYSENTER,  /* sysenter from 32-bit user code */
    CB_NMI,
    CB_NR
};

struct cpu_callback {
    uint64_t eip; /* 0: none */
    uint16_t cs;  /* 32-bit guests (64-bit guests use FLAT_KERNEL_CS) */
    bool mask_events;
};

#define CPU_GDT_MAX_FRAMES 14u
#define CPU_LDT_MAX_FRAMES 16u

struct vcpu_cpu {
    struct cpu_trap traps[256];
    struct cpu_callback cb[CB_NR];
    uint64_t kernel_sp; /* stack_switch */
    uint16_t kernel_ss;
    bool user_mode;     /* 64-bit guests: running in guest user mode (Xen: !TF_kernel_mode) */
    bool user_access;   /* while the library fetches what guest user code executes: guest
                         * walks need the user bit at every level, as the processor does */
    bool fpu_ts;        /* virtual CR0.TS (fpu_taskswitch, clts, mov to %cr0) */
    bool cpuid_faulting; /* the guest's MSR_MISC_FEATURES_ENABLES bit 0 */
    uint32_t iopl;      /* virtual IOPL, in EFLAGS position (bits 12-13) */
    uint64_t cr2;       /* virtual CR2: the last page fault's address */
    uint64_t cr4;       /* virtual CR4 as the guest reads it */
    uint64_t fs_base;
    uint64_t gs_base_kernel; /* the GS base in guest kernel mode */
    uint64_t gs_base_user;   /* the GS base in guest user mode (swapgs exchanges them) */
    uint16_t gs_sel_user;    /* set_segment_base(GS_USER_SEL): the user GS selector */
    uint64_t dr[8];          /* debug registers as validated; 4 and 5 are not used */
    uint32_t dr7_emul;       /* emulate.c: DR7 enable bits of I/O breakpoints, kept out of dr[7] */

    /* Descriptor tables (desc.c): GDT frames hold a seg_desc type and general reference
     * each while installed. */
    uint64_t gdt_frames[CPU_GDT_MAX_FRAMES];
    uint32_t gdt_ents;
    /* LDT frames mapped on first use (mmuext set_ldt stores only the base and count, in
     * struct vcpu); INVALID_MFN when not mapped; each holds a seg_desc type reference. */
    uint64_t ldt_frames[CPU_LDT_MAX_FRAMES];

    /* Where this vCPU's vcpu_info lives: machine frame << 12 | byte offset, VI_NONE for
     * none (the shared-info page's slot by default; VCPUOP_register_vcpu_info moves it).
     * One word, published with release: another domain's event send reads it. */
    _Atomic uint64_t vcpu_info_loc;
    bool vcpu_info_registered; /* moved by register_vcpu_info: holds a writable reference */

    /* VCPUOP (vcpu.c, internal/vcpu.h). `initialised` and `initialising` change under
     * the domain lock; `up` too, and is also read without it. */
    _Atomic bool up;
    bool initialised;  /* has a context: vCPU 0 from creation, others from VCPUOP_initialise */
    bool initialising; /* a VCPUOP_initialise of it is between its prepare and its commit */
    bool init_regs_valid;
    struct pvcore_cpu_regs init_regs; /* the registers VCPUOP_initialise gave */
    _Atomic uint64_t runstate_area;   /* guest address of the runstate copy; 0: none */
    struct spinlock runstate_lock;    /* the runstate below; a leaf: nothing taken under it */
    int32_t rs_state;                 /* PVCORE_RUNSTATE_* */
    uint64_t rs_entry;                /* when rs_state was entered (ns) */
    uint64_t rs_time[4];              /* ns spent in each state */
};

#define VI_NONE UINT64_MAX

/* Where the vCPU's vcpu_info is: false if it has none. */
static inline bool cpu_vcpu_info_get(const struct vcpu_cpu *c, uint64_t *mfn, uint32_t *off)
{
    uint64_t loc = atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)&c->vcpu_info_loc,
                                        memory_order_acquire);

    if (loc == VI_NONE) {
        return false;
    }
    *mfn = loc >> 12;
    *off = (uint32_t)(loc & 0xFFFu);
    return true;
}

/* Moves it (release: its new contents are in place before anyone reads them there). */
static inline void cpu_vcpu_info_set(struct vcpu_cpu *c, uint64_t mfn, uint32_t off)
{
    atomic_store_explicit(&c->vcpu_info_loc, mfn == INVALID_MFN ? VI_NONE : mfn << 12 | off,
                          memory_order_release);
}

/* A fresh vCPU's CPU state (domain creation): nothing registered, no descriptor pages. */
static inline void cpu_state_init(struct vcpu_cpu *c)
{
    unsigned i;

    memset(c, 0, sizeof(*c));
    for (i = 0; i < CPU_GDT_MAX_FRAMES; i++) {
        c->gdt_frames[i] = INVALID_MFN;
    }
    for (i = 0; i < CPU_LDT_MAX_FRAMES; i++) {
        c->ldt_frames[i] = INVALID_MFN;
    }
    atomic_store_explicit(&c->vcpu_info_loc, VI_NONE, memory_order_relaxed);
}

static inline bool cpu_canonical(uint64_t va)
{
    return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* What a bounce delivers, as Xen's trap_bounce: where, and how. */
struct bounce {
    uint64_t eip;
    uint16_t cs;
    bool error_code;   /* push `error` */
    bool mask_events;  /* set the event mask on entry (the handler runs with events off) */
    bool failsafe;     /* push the data selectors too (the failsafe callback's frame) */
    uint32_t error;
};

/* Enters the guest at b with the frame Xen builds (bounce.c): PVCORE_CPU_RESUME with *r
 * rewritten, or PVCORE_CPU_CRASH (no handler, or the frame cannot be written). */
int cpu_bounce(struct vcpu *v, struct pvcore_cpu_regs *r, const struct bounce *b);

/* The guest's event mask in its vcpu_info (1 when it has none), and setting it. */
uint8_t cpu_upcall_mask(const struct vcpu *v);
void cpu_set_upcall_mask(const struct vcpu *v, uint8_t val);

/* The virtual CR2, and its copy in the vcpu_info the guest reads it from. */
void cpu_set_cr2(struct vcpu *v, uint64_t cr2);

/* A 64-bit guest's switch between its kernel and user halves (Xen's toggle_guest_mode):
 * tells the embedder, which loads the other root and GS base. */
void cpu_toggle_mode(struct vcpu *v);

/*
 * Bounces exception `vector` to the guest handler registered for it (traps.c): builds the
 * frame, writes it to the guest kernel stack, updates the vcpu_info (cr2, event mask) and
 * rewrites *regs. `error` is used for the vectors that push one (or when `soft` is false and
 * the vector is one of them); `soft`: a software interrupt (int $n), never with an error
 * code. Returns PVCORE_CPU_RESUME or PVCORE_CPU_CRASH. No lock held.
 */
int cpu_inject(struct vcpu *v, struct pvcore_cpu_regs *regs, unsigned vector, uint32_t error,
               uint64_t cr2, bool soft);

/* Is the vCPU in guest kernel mode (64-bit: kernel mode flag; 32-bit: CS RPL 1)? */
bool cpu_guest_kernel_mode(const struct vcpu *v, const struct pvcore_cpu_regs *regs);

#endif /* PVCORE_INTERNAL_CPU_H */
