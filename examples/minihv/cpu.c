/*
 * cpu.c: the descriptor tables and MSRs that make the CPU a hypervisor's.
 *
 * Two GDTs share one layout below 0xe000 (room for the 14 pages a guest may hand to
 * set_gdt, which the descriptor area maps in their place while the guest runs: see
 * cpu_load_gdt()) and differ in the reserved area at 0xe000, which holds the flat selectors of
 * Xen's ABI: 64-bit guests get FLAT_RING3_CS32 0xe023, FLAT_RING3_SS 0xe02b and
 * FLAT_RING3_CS64 0xe033; 32-bit guests FLAT_RING1_CS 0xe019, FLAT_RING1_DS 0xe021,
 * FLAT_RING3_CS 0xe02b and FLAT_RING3_DS 0xe033. The hypervisor's own code and data
 * selectors (0xe008, 0xe010) and the TSS (0xe040) are the same in both.
 */
#include "minihv.h"

#define GDT_ENTRIES ((0xe000 / 8) + 12)
#define LDT_SEL 0xe050u
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1
#define PIT_CMD 0x43
#define PIT_CH0 0x40
#define STACK_SIZE 16384

static uint64_t gdt64[GDT_ENTRIES] __attribute__((aligned(4096)));
static uint64_t gdt32[GDT_ENTRIES] __attribute__((aligned(4096)));
static struct pvcore_x86_gate64 idt[256] __attribute__((aligned(16)));
static struct pvcore_x86_tss64 tss __attribute__((aligned(128)));
static uint8_t hyp_stack[STACK_SIZE] __attribute__((aligned(16)));
/* Exceptions that can arrive anywhere, including the instructions between a guest's
 * syscall and the switch to the hypervisor stack (when %rsp is still the guest's), run on
 * stacks of their own (IST): #DF, NMI, #DB and #MC. */
static uint8_t df_stack[4096] __attribute__((aligned(16)));
static uint8_t nmi_stack[4096] __attribute__((aligned(16)));
static uint8_t db_stack[4096] __attribute__((aligned(16)));
static uint8_t mc_stack[4096] __attribute__((aligned(16)));
uint64_t minihv_hyp_stack_top;
int cpu_has_fsgsbase;
int cpu_has_nx;

static void fill_reserved(uint64_t *gdt, int is32)
{
    uint64_t *r = &gdt[0xe000 / 8];
    uint64_t tss_desc[2];

    r[1] = pvcore_x86_code64_desc(0); /* 0xe008 */
    r[2] = pvcore_x86_data_desc(0);   /* 0xe010 */
    if (is32) {
        r[3] = pvcore_x86_code32_desc(1); /* 0xe019 FLAT_RING1_CS */
        r[4] = pvcore_x86_data_desc(1);   /* 0xe021 FLAT_RING1_DS */
        r[5] = pvcore_x86_code32_desc(3); /* 0xe02b FLAT_RING3_CS */
        r[6] = pvcore_x86_data_desc(3);   /* 0xe033 FLAT_RING3_DS */
    } else {
        r[4] = pvcore_x86_code32_desc(3); /* 0xe023 FLAT_RING3_CS32 */
        r[5] = pvcore_x86_data_desc(3);   /* 0xe02b FLAT_RING3_SS */
        r[6] = pvcore_x86_code64_desc(3); /* 0xe033 FLAT_RING3_CS64 */
    }
    pvcore_x86_tss64_desc(tss_desc, (uint64_t)(uintptr_t)&tss, sizeof(tss) - 1);
    r[8] = tss_desc[0];                   /* 0xe040 */
    r[9] = tss_desc[1];
}

/*
 * The GDT the processor uses while vCPU g runs: the descriptor area maps g's GDT frames
 * (validated descriptor pages the guest cannot write) as pages 0-13 and the reserved page
 * of minihv's GDT for g's kind as page 14, as Xen maps a vCPU's GDT. Without a guest, the
 * hypervisor's own GDT.
 */
void cpu_load_gdt(struct guest *g)
{
    pvcore_mfn_t frames[PVCORE_DESC_GDT_FRAMES];
    uint64_t rw = PVCORE_X86_PTE_P | PVCORE_X86_PTE_RW | PVCORE_X86_PTE_A | PVCORE_X86_PTE_D;
    uint32_t ents, nframes, i;

    if (g == NULL) {
        pvcore_x86_lgdt(gdt64, sizeof(gdt64) - 1);
        pvcore_x86_lldt(0);
        for (i = 0; i < 32; i++) {
            mm_desc_area_l1[i] = 0;
        }
        pvcore_x86_flush_tlb_global();
        return;
    }
    pvcore_vcpu_gdt(g->v, frames, &ents);
    nframes = (ents + 511) / 512;
    for (i = 0; i < PVCORE_DESC_GDT_FRAMES; i++) {
        uint64_t mfn = i < nframes ? frames[i].v : mm_zero_frame;
        mm_desc_area_l1[i] = pvcore_x86_pte(mfn << 12, rw);
    }
    mm_desc_area_l1[14] = pvcore_x86_pte(virt_to_phys(&(g->is32 ? gdt32 : gdt64)[0xe000 / 8]), rw);
    mm_desc_area_l1[15] = pvcore_x86_pte(mm_zero_frame << 12, PVCORE_X86_PTE_P | PVCORE_X86_PTE_A);
    for (i = 0; i < 16; i++) {
        pvcore_x86_invlpg((uintptr_t)(DESC_AREA_VA + i * PAGE_SIZE));
    }
    pvcore_x86_lgdt((const void *)(uintptr_t)DESC_AREA_VA, sizeof(gdt64) - 1);
    g->ldt_ents_loaded = UINT32_MAX;
    cpu_sync_ldt(g);
}

/* The LDT register for g's LDT size: a descriptor of the LDT area (whose pages fault in,
 * cpu_ldt_fault()), or none. */
void cpu_sync_ldt(struct guest *g)
{
    uint64_t *r = &(g->is32 ? gdt32 : gdt64)[LDT_SEL / 8];
    uint64_t base;
    uint32_t ents;

    pvcore_vcpu_ldt(g->v, &base, &ents);
    if (ents == g->ldt_ents_loaded) {
        return;
    }
    if (ents != 0) {
        pvcore_x86_ldt64_desc(r, LDT_AREA_VA, ents * 8 - 1);
        pvcore_x86_lldt(LDT_SEL);
    } else {
        pvcore_x86_lldt(0);
    }
    g->ldt_ents_loaded = ents;
}

/* The library released (or may have released) the LDT frames: forget their mappings. */
void cpu_drop_ldt_mappings(void)
{
    unsigned i;

    for (i = 16; i < 32; i++) {
        mm_desc_area_l1[i] = 0;
    }
}

/*
 * A page fault in the LDT area: the library checks the guest's LDT page and gives the
 * frame, which is mapped and the access retried (1). Otherwise the fault goes to the guest
 * (0), as Xen passes it back.
 */
int cpu_ldt_fault(struct guest *g, uint64_t cr2)
{
    pvcore_mfn_t mfn;
    uint64_t off = cr2 - LDT_AREA_VA;

    if (cr2 < LDT_AREA_VA || off >= LDT_AREA_SIZE ||
        pvcore_desc_ldt_fault(g->v, off, &mfn) != 0) {
        return 0;
    }
    mm_desc_area_l1[16 + off / PAGE_SIZE] = pvcore_x86_pte(
        mfn.v << 12, PVCORE_X86_PTE_P | PVCORE_X86_PTE_RW | PVCORE_X86_PTE_A | PVCORE_X86_PTE_D);
    pvcore_x86_invlpg((uintptr_t)(LDT_AREA_VA + (off & ~(PAGE_SIZE - 1))));
    return 1;
}

static unsigned ist_of(unsigned vec)
{
    switch (vec) {
    case PVCORE_X86_VEC_DF:
        return 1;
    case PVCORE_X86_VEC_NMI:
        return 2;
    case PVCORE_X86_VEC_DB:
        return 3;
    case PVCORE_X86_VEC_MC:
        return 4;
    default:
        return 0;
    }
}

void cpu_init(void)
{
    uint32_t id[4];
    uint64_t efer;
    unsigned v;

    fill_reserved(gdt64, 0);
    fill_reserved(gdt32, 1);
    minihv_hyp_stack_top = (uint64_t)(uintptr_t)(hyp_stack + sizeof(hyp_stack));
    tss.rsp[0] = minihv_hyp_stack_top;
    tss.ist[0] = (uint64_t)(uintptr_t)(df_stack + sizeof(df_stack));   /* IST1: #DF */
    tss.ist[1] = (uint64_t)(uintptr_t)(nmi_stack + sizeof(nmi_stack)); /* IST2: NMI */
    tss.ist[2] = (uint64_t)(uintptr_t)(db_stack + sizeof(db_stack));   /* IST3: #DB */
    tss.ist[3] = (uint64_t)(uintptr_t)(mc_stack + sizeof(mc_stack));   /* IST4: #MC */
    tss.iomap_base = sizeof(tss);                                      /* no I/O bitmap */

    pvcore_x86_lgdt(gdt64, sizeof(gdt64) - 1);
    pvcore_x86_load_segments(HYP_CS, HYP_DS);
    pvcore_x86_ltr(HYP_TSS);

    for (v = 0; v < 32; v++) {
        idt[v] = pvcore_x86_gate64(minihv_trap_stubs[v], HYP_CS, ist_of(v),
                                   v == PVCORE_X86_VEC_BP || v == PVCORE_X86_VEC_OF ? 3 : 0, 0);
    }
    idt[VEC_HYPERCALL_INT82] =
        pvcore_x86_gate64((uint64_t)(uintptr_t)minihv_int82_entry, HYP_CS, 0, 1, 0);
    /* The timer: an interrupt gate, so the hypervisor runs with interrupts masked. */
    idt[VEC_TIMER] = pvcore_x86_gate64((uint64_t)(uintptr_t)minihv_irq0_entry, HYP_CS, 0, 0, 0);
    pvcore_x86_lidt(idt, sizeof(idt) - 1);

    /* syscall: kernel CS 0xe008 (SS 0xe010); sysret base 0xe023 (CS32, SS 0xe02b, CS64 0xe033). */
    pvcore_x86_wrmsr(PVCORE_X86_MSR_STAR, ((uint64_t)0xe023 << 48) | ((uint64_t)HYP_CS << 32));
    pvcore_x86_wrmsr(PVCORE_X86_MSR_LSTAR, (uint64_t)(uintptr_t)minihv_syscall64_entry);
    pvcore_x86_wrmsr(PVCORE_X86_MSR_CSTAR, (uint64_t)(uintptr_t)minihv_syscall32_entry);
    pvcore_x86_wrmsr(PVCORE_X86_MSR_SFMASK, PVCORE_X86_RFLAGS_IF | PVCORE_X86_RFLAGS_TF |
                                                PVCORE_X86_RFLAGS_DF | PVCORE_X86_RFLAGS_AC |
                                                PVCORE_X86_RFLAGS_NT | PVCORE_X86_RFLAGS_IOPL);
    efer = pvcore_x86_rdmsr(PVCORE_X86_MSR_EFER) | PVCORE_X86_EFER_SCE;
    pvcore_x86_cpuid(0x80000001u, 0, id);
    if (id[3] & (1u << 20)) {
        efer |= PVCORE_X86_EFER_NXE;
        cpu_has_nx = 1;
    }
    pvcore_x86_wrmsr(PVCORE_X86_MSR_EFER, efer);
    /* Guests may not write what they mapped read-only, even from ring 1. */
    pvcore_x86_write_cr0(pvcore_x86_read_cr0() | PVCORE_X86_CR0_WP);
    /* Guest kernels run outside ring 0: with UMIP they cannot read where the hypervisor's
     * GDT, IDT and TSS are (SGDT, SIDT, STR fault instead), on CPUs that have it. */
    pvcore_x86_cpuid(0, 0, id);
    if (id[0] >= 7) {
        pvcore_x86_cpuid(7, 0, id);
        if (id[2] & (1u << 2)) {
            pvcore_x86_write_cr4(pvcore_x86_read_cr4() | PVCORE_X86_CR4_UMIP);
        }
        cpu_has_fsgsbase = (id[1] & 1u) != 0; /* offered to 64-bit guests, off until asked */
    }
    con_printf("minihv: IST stacks for #DF, NMI, #DB, #MC; UMIP %s\n",
               (pvcore_x86_read_cr4() & PVCORE_X86_CR4_UMIP) ? "on" : "not available");

    /* fxsave/fxrstor switch the guests' x87 and SSE state (SSE enabled for them, #XM
     * for unmasked SIMD exceptions, #MF rather than IRQ 13 for x87 ones). */
    pvcore_x86_write_cr4(pvcore_x86_read_cr4() | PVCORE_X86_CR4_OSFXSR | PVCORE_X86_CR4_OSXMMEXCPT);
    pvcore_x86_write_cr0((pvcore_x86_read_cr0() & ~(uintptr_t)PVCORE_X86_CR0_EM) |
                         PVCORE_X86_CR0_MP | PVCORE_X86_CR0_NE);

    /*
     * The 8259s, remapped off the exception vectors (IRQ 0-7 -> 0x20-0x27, 8-15 ->
     * 0x28-0x2f) with every IRQ masked but the PIT's, and the PIT's channel 0 as a rate
     * generator at MINIHV_TICK_HZ. Guests run with IF set, as on Xen; the hypervisor with it
     * clear, but for its idle loop.
     */
    pvcore_x86_outb(PIC1_CMD, 0x11); /* ICW1: edge, cascade, ICW4 follows */
    pvcore_x86_outb(PIC2_CMD, 0x11);
    pvcore_x86_outb(PIC1_DATA, VEC_TIMER);     /* ICW2: vector base */
    pvcore_x86_outb(PIC2_DATA, VEC_TIMER + 8);
    pvcore_x86_outb(PIC1_DATA, 4);             /* ICW3: the slave on IRQ 2 */
    pvcore_x86_outb(PIC2_DATA, 2);
    pvcore_x86_outb(PIC1_DATA, 1);             /* ICW4: 8086 mode, normal EOI */
    pvcore_x86_outb(PIC2_DATA, 1);
    pvcore_x86_outb(PIC1_DATA, 0xfe);          /* only IRQ 0 */
    pvcore_x86_outb(PIC2_DATA, 0xff);
    pvcore_x86_outb(PIT_CMD, 0x34);            /* channel 0, lo/hi byte, mode 2 */
    pvcore_x86_outb(PIT_CH0, (uint8_t)(MINIHV_PIT_DIVISOR & 0xff));
    pvcore_x86_outb(PIT_CH0, (uint8_t)(MINIHV_PIT_DIVISOR >> 8));
}

/* The end of a timer interrupt. */
void cpu_timer_eoi(void)
{
    pvcore_x86_outb(PIC1_CMD, 0x20);
}
