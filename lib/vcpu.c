/*
 * vcpu_op: several vCPUs per domain (<pvcore/vcpu.h>). The decoder for hypercall 24, the
 * up/down/initialised state, VCPUOP_initialise (Xen's arch_set_info_guest for PV guests),
 * the registered vcpu_info, and the runstate the embedder reports.
 *
 * Locks: the domain lock (domain.c's order, level 1) guards `initialised`,
 * `initialising` and `up` of every vCPU of the domain, and the references a vCPU's
 * vcpu_info and roots hold. Each vCPU's runstate_lock guards its runstate; it is a leaf,
 * taken with no other library lock held and nothing taken under it. Guest memory is
 * touched with neither held.
 *
 * VCPUOP_initialise is prepare/commit: the context is copied in and checked whole, then
 * the target is claimed (`initialising`, so that two initialisations of one vCPU do not
 * interleave: the second is continued until the first is over), its roots' references
 * and its GDT are taken, and only then does anything of the vCPU change, in a commit
 * that cannot fail. A failure before the commit gives the references back and leaves
 * the vCPU as it was.
 */
#include <pvcore/vcpu.h>

#include "internal/desc.h"
#include "internal/emulate.h"
#include "internal/hypercall.h"
#include "internal/mmu.h"
#include "internal/vcpu.h"

#define CR0_TS 0x8u
#define VCPU_INFO_SIZE 64u

static struct vcpu *V(struct pvcore_vcpu *v)
{
    return (struct vcpu *)(void *)v;
}

static const struct vcpu *CV(const struct pvcore_vcpu *v)
{
    return (const struct vcpu *)(const void *)v;
}

static void updown(struct vcpu *v, int event)
{
    const struct machine *m = v->d->m;

    if (m->ops->vcpu_updown != NULL) {
        m->ops->vcpu_updown(m->ctx, (struct pvcore_vcpu *)(void *)v, event);
    }
}

/* ---- the runstate ------------------------------------------------------------------------ */

struct runstate {
    int32_t state;
    uint64_t entry;
    uint64_t time[4];
};

static void runstate_get(struct vcpu *v, struct runstate *rs)
{
    spin_lock(&v->cpu.runstate_lock);
    rs->state = v->cpu.rs_state;
    rs->entry = v->cpu.rs_entry;
    memcpy(rs->time, v->cpu.rs_time, sizeof(rs->time));
    spin_unlock(&v->cpu.runstate_lock);
}

/* The guest's layout of a runstate: 48 bytes for a 64-bit guest, 44 (8-byte fields
 * 4-byte aligned) for a 32-bit one. Returns the size. */
static size_t runstate_image(bool is32, const struct runstate *rs, uint8_t out[48])
{
    unsigned i, at = is32 ? 4u : 8u;

    memset(out, 0, 48);
    hc_put_le(out, (uint32_t)rs->state, 4);
    hc_put_le(out + at, rs->entry, 8);
    for (i = 0; i < 4; i++) {
        hc_put_le(out + at + 8u + 8u * i, rs->time[i], 8);
    }
    return at + 40u;
}

int pvcore_vcpu_runstate_update(struct pvcore_vcpu *pv, uint32_t new_state, uint64_t now_ns)
{
    struct vcpu *v = V(pv);
    struct runstate rs;
    uint64_t area;

    if (new_state > PVCORE_RUNSTATE_offline) {
        return -PVCORE_EINVAL;
    }
    spin_lock(&v->cpu.runstate_lock);
    if (now_ns > v->cpu.rs_entry) {
        /* (rs_state is always 0-3: only this function and creation set it.) */
        v->cpu.rs_time[(uint32_t)v->cpu.rs_state & 3u] += now_ns - v->cpu.rs_entry;
        v->cpu.rs_entry = now_ns;
    }
    v->cpu.rs_state = (int32_t)new_state;
    rs.state = v->cpu.rs_state;
    rs.entry = v->cpu.rs_entry;
    memcpy(rs.time, v->cpu.rs_time, sizeof(rs.time));
    area = atomic_load_explicit(&v->cpu.runstate_area, memory_order_relaxed);
    spin_unlock(&v->cpu.runstate_lock);
    if (area != 0) {
        struct call call;
        uint8_t img[48];
        size_t len = runstate_image(domain_is_32(v->d), &rs, img);

        call_init(&call, v->d->m);
        if (guest_range_ok(v->d, area, len)) {
            (void)guest_copy_to(&call, v, area, img, len);
        }
    }
    return 0;
}

void pvcore_vcpu_runstate(struct pvcore_vcpu *pv, struct pvcore_vcpu_runstate_info_x86_64 *out)
{
    struct runstate rs;
    unsigned i;

    runstate_get(V(pv), &rs);
    memset(out, 0, sizeof(*out));
    out->state = rs.state;
    out->state_entry_time = rs.entry;
    for (i = 0; i < 4; i++) {
        out->time[i] = rs.time[i];
    }
}

uint64_t pvcore_vcpu_runstate_area(const struct pvcore_vcpu *pv)
{
    return atomic_load_explicit(&CV(pv)->cpu.runstate_area, memory_order_relaxed);
}

/* ---- queries ----------------------------------------------------------------------------- */

int pvcore_vcpu_is_up(const struct pvcore_vcpu *pv)
{
    return atomic_load_explicit(&CV(pv)->cpu.up, memory_order_acquire) ? 1 : 0;
}

int pvcore_vcpu_is_initialised(const struct pvcore_vcpu *pv)
{
    const struct vcpu *v = CV(pv);
    struct domain *d = v->d;
    int r;

    /* (Under the lock: VCPUOP_initialise of another vCPU sets it. Hence not from a host
     * hook called with the lock held.) */
    spin_lock(&d->mmu_lock);
    r = v->cpu.initialised ? 1 : 0;
    spin_unlock(&d->mmu_lock);
    return r;
}

int pvcore_vcpu_initial_regs(const struct pvcore_vcpu *pv, struct pvcore_cpu_regs *regs)
{
    const struct vcpu *v = CV(pv);

    if (!v->cpu.init_regs_valid) {
        return -PVCORE_ENOENT;
    }
    *regs = v->cpu.init_regs;
    return 0;
}

int pvcore_vcpu_info_location(const struct pvcore_vcpu *pv, pvcore_mfn_t *mfn, uint32_t *offset)
{
    const struct vcpu *v = CV(pv);

    uint64_t m = INVALID_MFN;
    uint32_t o = 0;

    (void)cpu_vcpu_info_get(&v->cpu, &m, &o);
    if (mfn != NULL) {
        *mfn = pvcore_mfn(m);
    }
    if (offset != NULL) {
        *offset = o;
    }
    return v->cpu.vcpu_info_registered ? 1 : 0;
}

/* ---- up, down ---------------------------------------------------------------------------- */

static int vcpu_up(struct caller *c, struct vcpu *v, int64_t *ret)
{
    struct domain_locked dl = domain_lock(&c->call, c->d);
    bool wake = false, busy = v->cpu.initialising;

    if (busy) {
        /* An initialisation is between its prepare and commit: wait for its outcome,
         * as Xen's domain lock would. */
    } else if (!v->cpu.initialised) {
        *ret = -PVCORE_EINVAL;
    } else {
        wake = !atomic_load_explicit(&v->cpu.up, memory_order_relaxed);
        atomic_store_explicit(&v->cpu.up, true, memory_order_release);
        *ret = 0;
    }
    domain_unlock(&dl);
    if (busy) {
        return PVCORE_HYPERCALL_RESTART;
    }
    if (wake) {
        updown(v, PVCORE_VCPU_EVENT_UP);
    }
    return PVCORE_HYPERCALL_DONE;
}

static int vcpu_down(struct caller *c, struct vcpu *v, int64_t *ret)
{
    struct domain *d = c->d;
    struct domain_locked dl = domain_lock(&c->call, d);
    bool other_up = false, sleep = false;
    uint32_t i;

    for (i = 0; i < d->nr_vcpus; i++) {
        if (&d->vcpus[i] != v && atomic_load_explicit(&d->vcpus[i].cpu.up, memory_order_relaxed)) {
            other_up = true;
            break;
        }
    }
    if (other_up) {
        sleep = atomic_load_explicit(&v->cpu.up, memory_order_relaxed);
        atomic_store_explicit(&v->cpu.up, false, memory_order_release);
    }
    domain_unlock(&dl);
    /* The last vCPU going down powers the domain off instead (Xen: domain_shutdown()). */
    if (!other_up) {
        updown(v, PVCORE_VCPU_EVENT_POWEROFF);
        sched_domain_shutdown(d, PVCORE_SHUTDOWN_poweroff); /* recorded, and the hook told */
    } else if (sleep) {
        updown(v, PVCORE_VCPU_EVENT_DOWN);
    }
    *ret = 0;
    return PVCORE_HYPERCALL_DONE;
}

/* ---- register_vcpu_info ------------------------------------------------------------------ */

static int64_t register_vcpu_info(struct caller *c, struct vcpu *v, uint64_t mfn, uint32_t off)
{
    struct domain *d = c->d;
    struct machine *m = c->m;
    struct domain_locked dl;
    uint8_t *dst;
    uint64_t old_mfn;
    uint32_t old_off;
    int64_t rc = 0;

    if (off > PVCORE_PAGE_SIZE - VCPU_INFO_SIZE) {
        return -PVCORE_EINVAL;
    }
    dl = domain_lock(&c->call, d);
    if (v->cpu.vcpu_info_registered) {
        rc = -PVCORE_EINVAL; /* once only */
    } else if ((struct pvcore_vcpu *)(void *)v != c->v &&
               atomic_load_explicit(&v->cpu.up, memory_order_relaxed)) {
        rc = -PVCORE_EINVAL; /* on oneself, or on a vCPU that is down */
    } else if (!frame_get_page(m, mfn, d->domid)) {
        rc = -PVCORE_EINVAL;
    } else if (!frame_get_writable(m, mfn)) {
        frame_put_page(m, mfn);
        rc = -PVCORE_EINVAL;
    }
    if (rc != 0) {
        domain_unlock(&dl);
        return rc;
    }
    /* The page is the domain's and writable (not a page table or descriptor page), held
     * from here on: the move. What the guest had in the old vcpu_info goes along; with
     * none, it starts zeroed with events masked. */
    dst = (uint8_t *)frame_entries(m, mfn) + off;
    if (cpu_vcpu_info_get(&v->cpu, &old_mfn, &old_off)) {
        uint8_t old[VCPU_INFO_SIZE]; /* (the two may overlap: same page, nearby offsets) */

        memcpy(old, (const uint8_t *)frame_entries(m, old_mfn) + old_off, VCPU_INFO_SIZE);
        memcpy(dst, old, VCPU_INFO_SIZE);
    } else {
        memset(dst, 0, VCPU_INFO_SIZE);
        dst[1] = 1; /* evtchn_upcall_mask */
    }
    cpu_vcpu_info_set(&v->cpu, mfn, off);
    v->cpu.vcpu_info_registered = true;
    /* Everything is marked pending so that no event is lost in the move: the guest gets
     * a spurious upcall, which it copes with (Xen does the same). The selector is the
     * guest's word: bytes 4-7 for a 32-bit guest, 8-15 for a 64-bit one. */
    if (domain_is_32(d)) {
        memset(dst + 4, 0xFF, 4);
    } else {
        memset(dst + 8, 0xFF, 8);
    }
    atomic_store_explicit((_Atomic uint8_t *)(void *)dst, 1, memory_order_release);
    domain_unlock(&dl);
    return 0;
}

/* ---- initialise -------------------------------------------------------------------------- */

/* A guest context, copied in and checked; the fields VCPUOP_initialise uses. */
struct init_ctx {
    uint64_t flags;
    struct pvcore_cpu_regs regs;
    struct cpu_trap traps[256];
    uint64_t ldt_base, ldt_ents;
    uint64_t gdt_frames[CPU_GDT_MAX_FRAMES];
    uint32_t gdt_ents;
    uint16_t kernel_ss;
    uint64_t kernel_sp;
    uint64_t cr[8], dr[8];
    uint64_t cb_eip[3]; /* event, failsafe, syscall (64-bit) */
    uint16_t cb_cs[2];  /* event, failsafe (32-bit) */
    uint64_t fs_base, gs_base_kernel, gs_base_user;
    uint64_t kernel_root, user_root; /* frames named by ctrlreg[3] and ctrlreg[1]; INVALID_MFN: none */
};

/* Raises a selector's RPL to the guest kernel's ring, as the trap module does. */
static uint16_t fixup_selector(const struct domain *d, uint64_t sel)
{
    unsigned rpl = domain_is_32(d) ? 1u : 3u;
    uint16_t s = (uint16_t)sel;

    return (s & 3u) >= rpl ? s : (uint16_t)((s & ~3u) | rpl);
}

/* Layout offsets of the two guest forms (<pvcore/abi/vcpu.h>). */
struct ctx_layout {
    uint32_t size, word, flags, regs, traps, trap_size, tail;
};

static const struct ctx_layout ctx64 = { 5168, 8, 512, 520, 720, 16, 4816 };
static const struct ctx_layout ctx32 = { 2800, 4, 512, 516, 584, 8, 2632 };

#define TRAP_CHUNK 256u /* bytes of trap table per copy */

static uint64_t get_word(const struct ctx_layout *l, const uint8_t *p)
{
    return l->word == 4 ? hc_get_le32(p) : hc_get_le64(p);
}

static void parse_regs(bool is32, const uint8_t *r, struct pvcore_cpu_regs *o)
{
    memset(o, 0, sizeof(*o));
    if (is32) {
        o->rbx = hc_get_le32(r + 0);
        o->rcx = hc_get_le32(r + 4);
        o->rdx = hc_get_le32(r + 8);
        o->rsi = hc_get_le32(r + 12);
        o->rdi = hc_get_le32(r + 16);
        o->rbp = hc_get_le32(r + 20);
        o->rax = hc_get_le32(r + 24);
        o->rip = hc_get_le32(r + 32);
        o->cs = (uint16_t)hc_get_le32(r + 36);
        o->rflags = hc_get_le32(r + 40);
        o->rsp = hc_get_le32(r + 44);
        o->ss = (uint16_t)hc_get_le32(r + 48);
        o->es = (uint16_t)hc_get_le32(r + 52);
        o->ds = (uint16_t)hc_get_le32(r + 56);
        o->fs = (uint16_t)hc_get_le32(r + 60);
        o->gs = (uint16_t)hc_get_le32(r + 64);
    } else {
        o->r15 = hc_get_le64(r + 0);
        o->r14 = hc_get_le64(r + 8);
        o->r13 = hc_get_le64(r + 16);
        o->r12 = hc_get_le64(r + 24);
        o->rbp = hc_get_le64(r + 32);
        o->rbx = hc_get_le64(r + 40);
        o->r11 = hc_get_le64(r + 48);
        o->r10 = hc_get_le64(r + 56);
        o->r9 = hc_get_le64(r + 64);
        o->r8 = hc_get_le64(r + 72);
        o->rax = hc_get_le64(r + 80);
        o->rcx = hc_get_le64(r + 88);
        o->rdx = hc_get_le64(r + 96);
        o->rsi = hc_get_le64(r + 104);
        o->rdi = hc_get_le64(r + 112);
        o->rip = hc_get_le64(r + 128);
        o->cs = (uint16_t)hc_get_le32(r + 136);
        o->rflags = hc_get_le64(r + 144);
        o->rsp = hc_get_le64(r + 152);
        o->ss = (uint16_t)hc_get_le32(r + 160);
        o->es = (uint16_t)hc_get_le32(r + 168);
        o->ds = (uint16_t)hc_get_le32(r + 176);
        o->fs = (uint16_t)hc_get_le32(r + 184);
        o->gs = (uint16_t)hc_get_le32(r + 192);
    }
}

/*
 * Copies the context at `arg` in (the FPU image is not read: see the header) and checks
 * it as Xen's arch_set_info_guest does before it changes anything: 0, -EFAULT or -EINVAL.
 * No lock held; nothing of the vCPU is touched.
 */
static int init_parse(struct caller *c, uint64_t arg, struct init_ctx *x)
{
    const struct ctx_layout *l = c->is32 ? &ctx32 : &ctx64;
    const struct domain *d = c->d;
    uint8_t buf[352]; /* the largest piece: a 64-bit context's tail */
    uint32_t i, at;
    bool bad = false;
    int rc;

    if (!hc_range_ok(c, arg, l->size)) {
        return -PVCORE_EFAULT;
    }
    /* flags and user_regs */
    rc = hc_copy_in(c, buf, arg + l->flags, l->traps - l->flags);
    if (rc != 0) {
        return rc;
    }
    x->flags = get_word(l, buf);
    parse_regs(c->is32, buf + (l->regs - l->flags), &x->regs);
    /* the trap table, in chunks */
    for (at = 0; at < 256u * l->trap_size; at += TRAP_CHUNK) {
        rc = hc_copy_in(c, buf, arg + l->traps + at, TRAP_CHUNK);
        if (rc != 0) {
            return rc;
        }
        for (i = 0; i < TRAP_CHUNK / l->trap_size; i++) {
            const uint8_t *e = buf + i * l->trap_size;
            struct cpu_trap *t = &x->traps[at / l->trap_size + i];
            t->flags = e[1];
            t->cs = fixup_selector(d, (uint64_t)e[2] | (uint64_t)e[3] << 8);
            t->address = c->is32 ? hc_get_le32(e + 4) : hc_get_le64(e + 8);
            bad |= !c->is32 && !cpu_canonical(t->address);
        }
    }
    /* the rest: ldt, gdt, kernel stack, control and debug registers, callbacks, bases */
    rc = hc_copy_in(c, buf, arg + l->tail, l->size - l->tail);
    if (rc != 0) {
        return rc;
    }
    {
        const uint8_t *p = buf;
        uint64_t w = l->word;
        uint64_t gdt_ents;

        x->ldt_base = get_word(l, p);
        x->ldt_ents = get_word(l, p + w);
        p += 2 * w;
        for (i = 0; i < CPU_GDT_MAX_FRAMES; i++) {
            x->gdt_frames[i] = get_word(l, p + i * w);
        }
        p += 16 * w;
        gdt_ents = get_word(l, p);
        p += w;
        x->kernel_ss = fixup_selector(d, get_word(l, p));
        x->kernel_sp = get_word(l, p + w);
        p += 2 * w;
        for (i = 0; i < 8; i++) {
            x->cr[i] = get_word(l, p + i * w);
            x->dr[i] = get_word(l, p + (8 + i) * w);
        }
        p += 16 * w;
        if (c->is32) {
            x->cb_cs[0] = fixup_selector(d, get_word(l, p));
            x->cb_eip[0] = get_word(l, p + 4);
            x->cb_cs[1] = fixup_selector(d, get_word(l, p + 8));
            x->cb_eip[1] = get_word(l, p + 12);
            x->cb_eip[2] = 0;
            x->fs_base = x->gs_base_kernel = x->gs_base_user = 0;
        } else {
            x->cb_eip[0] = get_word(l, p);
            x->cb_eip[1] = get_word(l, p + 8);
            x->cb_eip[2] = get_word(l, p + 16);
            x->cb_cs[0] = x->cb_cs[1] = 0;
            /* (p + 24 is vm_assist, which Xen reads for vCPU 0 only: it never gets here) */
            x->fs_base = get_word(l, p + 32);
            x->gs_base_kernel = get_word(l, p + 40);
            x->gs_base_user = get_word(l, p + 48);
        }
        x->gdt_ents = gdt_ents > PVCORE_FIRST_RESERVED_GDT_ENTRY ? UINT32_MAX : (uint32_t)gdt_ents;
    }
    x->regs.cs = fixup_selector(d, x->regs.cs);
    x->regs.ss = fixup_selector(d, x->regs.ss);

    /* Xen's checks, in its order. 64-bit: canonical addresses. */
    if (!c->is32) {
        bad |= !cpu_canonical(x->regs.rip) || !cpu_canonical(x->regs.rsp) ||
               !cpu_canonical(x->kernel_sp) || (x->ldt_ents != 0 && !cpu_canonical(x->ldt_base)) ||
               !cpu_canonical(x->fs_base) || !cpu_canonical(x->gs_base_kernel) ||
               !cpu_canonical(x->gs_base_user) || !cpu_canonical(x->cb_eip[0]) ||
               !cpu_canonical(x->cb_eip[1]) || !cpu_canonical(x->cb_eip[2]) ||
               !paging_va_is_guest(d, x->ldt_base);
    }
    /* The LDT: page aligned, at most 8192 entries, and (stricter than Xen for 32-bit
     * guests, as MMUEXT_SET_LDT) inside guest space. */
    bad |= (x->ldt_base & (PVCORE_PAGE_SIZE - 1u)) != 0 || x->ldt_ents > 8192u;
    if (!bad && x->ldt_ents != 0) {
        bad |= !paging_va_is_guest(d, x->ldt_base) ||
               !paging_va_is_guest(d, x->ldt_base + x->ldt_ents * 8u - 1u);
    }
    /* A 64-bit vCPU starting in user mode needs user page tables. */
    bad |= !c->is32 && !(x->flags & PVCORE_VGCF_in_kernel) && x->cr[1] == 0;
    /* The GDT's size (its frames are checked when they take their type). */
    bad |= x->gdt_ents == UINT32_MAX;
    if (bad) {
        return -PVCORE_EINVAL;
    }
    if (c->is32) {
        x->kernel_root = PVCORE_XEN_CR3_TO_PFN_X86_32(x->cr[3]);
        x->user_root = INVALID_MFN;
    } else {
        x->kernel_root = PVCORE_XEN_CR3_TO_PFN_X86_64(x->cr[3]);
        x->user_root = x->cr[1] != 0 ? PVCORE_XEN_CR3_TO_PFN_X86_64(x->cr[1]) : INVALID_MFN;
    }
    return 0;
}

/* Drops the root references init_prepare() took, and the claim; with the lock held. */
static void init_abandon(const struct domain_locked *dl, struct vcpu *v, const struct init_ctx *x)
{
    if (x->kernel_root != INVALID_MFN) {
        frame_put_page_and_type(dl, x->kernel_root);
    }
    if (x->user_root != INVALID_MFN) {
        frame_put_page_and_type(dl, x->user_root);
    }
    v->cpu.initialising = false;
}

/* The part of the commit that is plain vCPU state (under the lock, cannot fail). */
static void init_commit_state(struct vcpu *v, const struct init_ctx *x)
{
    struct vcpu_cpu *cpu = &v->cpu;
    bool is32 = domain_is_32(v->d);
    unsigned i;

    memcpy(cpu->traps, x->traps, sizeof(cpu->traps));
    cpu->cb[CB_EVENT].eip = x->cb_eip[0];
    cpu->cb[CB_EVENT].cs = is32 ? x->cb_cs[0] : PVCORE_FLAT_KERNEL_CS_X86_64;
    cpu->cb[CB_EVENT].mask_events = true;
    cpu->cb[CB_FAILSAFE].eip = x->cb_eip[1];
    cpu->cb[CB_FAILSAFE].cs = is32 ? x->cb_cs[1] : PVCORE_FLAT_KERNEL_CS_X86_64;
    cpu->cb[CB_FAILSAFE].mask_events = (x->flags & PVCORE_VGCF_failsafe_disables_events) != 0;
    if (!is32) {
        cpu->cb[CB_SYSCALL].eip = x->cb_eip[2];
        cpu->cb[CB_SYSCALL].cs = PVCORE_FLAT_KERNEL_CS_X86_64;
        cpu->cb[CB_SYSCALL].mask_events = (x->flags & PVCORE_VGCF_syscall_disables_events) != 0;
        /* A non-null selector replaces the base it would load. */
        cpu->fs_base = (x->regs.fs & ~3u) == 0 ? x->fs_base : 0;
        cpu->gs_base_kernel = x->gs_base_kernel;
        cpu->gs_base_user = (x->regs.gs & ~3u) == 0 ? x->gs_base_user : 0;
        cpu->user_mode = !(x->flags & PVCORE_VGCF_in_kernel);
    }
    cpu->kernel_ss = x->kernel_ss;
    cpu->kernel_sp = x->kernel_sp;
    cpu->fpu_ts = (x->cr[0] & CR0_TS) != 0; /* only CR0.TS is the guest's */
    v->ldt_base = x->ldt_base;
    v->ldt_ents = (uint32_t)x->ldt_ents;
    /* IOPL is virtual; hardware interrupts stay enabled. */
    cpu->iopl = (uint32_t)x->regs.rflags & EFLAGS_IOPL;
    cpu->init_regs = x->regs;
    cpu->init_regs.rflags = (x->regs.rflags & ~(uint64_t)EFLAGS_IOPL) | EFLAGS_IF;
    cpu->init_regs_valid = true;
    /* Debug registers from their reset values through set_debugreg's rules; a value it
     * refuses is left at reset, as Xen ignores set_debugreg's errors here. */
    memset(cpu->dr, 0, sizeof(cpu->dr));
    cpu->dr[6] = 0xFFFF0FF0u;
    cpu->dr[7] = 0x400u;
    cpu->dr7_emul = 0;
    for (i = 0; i < 8; i++) {
        if (i != 4 && i != 5) {
            (void)emulate_set_debugreg(v, i, is32 ? (uint32_t)x->dr[i] : x->dr[i]);
        }
    }
}

static int vcpu_initialise(struct caller *c, struct vcpu *v, uint64_t arg, int64_t *ret)
{
    struct domain *d = c->d;
    struct domain_locked dl;
    struct init_ctx x; /* about 4.5 KiB: the trap table is most of it */
    unsigned root = domain_format(d)->levels;
    bool online;
    int rc;

    bool no_info;

    /* No vcpu_info (a vCPU beyond the shared page's 32, not registered, or no shared
     * page yet): Xen's dummy_vcpu_info check, first. (Read under the lock: another vCPU
     * may be registering one for it. Once there, a vcpu_info never goes away.) */
    dl = domain_lock(&c->call, d);
    no_info = !cpu_vcpu_info_get(&v->cpu, &(uint64_t){ 0 }, &(uint32_t){ 0 });
    domain_unlock(&dl);
    if (no_info) {
        *ret = -PVCORE_EINVAL;
        return PVCORE_HYPERCALL_DONE;
    }
    rc = init_parse(c, arg, &x);
    if (rc != 0) {
        *ret = rc;
        return PVCORE_HYPERCALL_DONE;
    }
    /* Prepare: claim the vCPU and take its roots' references. */
    dl = domain_lock(&c->call, d);
    if (v->cpu.initialising) {
        domain_unlock(&dl);
        return PVCORE_HYPERCALL_RESTART; /* another initialisation of it is in progress */
    }
    if (v->cpu.initialised) {
        domain_unlock(&dl);
        *ret = -PVCORE_EEXIST;
        return PVCORE_HYPERCALL_DONE;
    }
    rc = frame_get_page_and_type(&dl, x.kernel_root, pgt_level_type(root));
    if (rc == 0 && x.user_root != INVALID_MFN) {
        rc = frame_get_page_and_type(&dl, x.user_root, pgt_level_type(root));
        if (rc != 0) {
            frame_put_page_and_type(&dl, x.kernel_root);
        }
    }
    if (rc != 0) {
        domain_unlock(&dl);
        if (rc == -PVCORE_ERESTART) {
            return PVCORE_HYPERCALL_RESTART; /* the validation goes on where it stopped */
        }
        *ret = rc;
        return PVCORE_HYPERCALL_DONE;
    }
    v->cpu.initialising = true;
    domain_unlock(&dl);

    /* The GDT, through the descriptor module: all of it or nothing. If it fails nothing
     * has changed, and once it succeeded nothing below can fail. */
    rc = desc_set_gdt(&c->call, v, x.gdt_frames, x.gdt_ents);
    dl = domain_lock(&c->call, d);
    if (rc != 0) {
        init_abandon(&dl, v, &x);
        domain_unlock(&dl);
        if (rc == -PVCORE_ERESTART) {
            return PVCORE_HYPERCALL_RESTART;
        }
        *ret = rc;
        return PVCORE_HYPERCALL_DONE;
    }
    /* Commit: the references pass to the vCPU; nothing below fails. */
    mmu_install_base(&dl, v, x.kernel_root, false);
    if (x.user_root != INVALID_MFN) {
        mmu_install_base(&dl, v, x.user_root, true);
    }
    init_commit_state(v, &x);
    v->cpu.initialised = true;
    v->cpu.initialising = false;
    online = (x.flags & PVCORE_VGCF_online) != 0;
    atomic_store_explicit(&v->cpu.up, online, memory_order_release);
    domain_unlock(&dl);
    if (online) {
        updown(v, PVCORE_VCPU_EVENT_UP);
    }
    *ret = 0;
    return PVCORE_HYPERCALL_DONE;
}

/* ---- the decoder ------------------------------------------------------------------------- */

int hcall_vcpu_op(struct caller *c, uint64_t args[6], int64_t *ret)
{
    struct domain *d = c->d;
    uint32_t cmd = (uint32_t)args[0];
    uint32_t id = (uint32_t)args[1];
    uint64_t arg = hc_arg(c, args, 2);
    struct vcpu *v;
    uint8_t b[48];
    int rc;

    if (id >= d->nr_vcpus) {
        *ret = -PVCORE_ENOENT;
        return PVCORE_HYPERCALL_DONE;
    }
    v = &d->vcpus[id];
    switch (cmd) {
    case PVCORE_VCPUOP_initialise:
        return vcpu_initialise(c, v, arg, ret);
    case PVCORE_VCPUOP_up:
        return vcpu_up(c, v, ret);
    case PVCORE_VCPUOP_down:
        return vcpu_down(c, v, ret);
    case PVCORE_VCPUOP_is_up:
        *ret = atomic_load_explicit(&v->cpu.up, memory_order_acquire) ? 1 : 0;
        break;
    case PVCORE_VCPUOP_get_runstate_info: {
        struct runstate rs;
        size_t len;

        runstate_get(v, &rs);
        len = runstate_image(c->is32, &rs, b);
        *ret = hc_copy_out(c, arg, b, len) != 0 ? -PVCORE_EFAULT : 0;
        break;
    }
    case PVCORE_VCPUOP_register_runstate_memory_area: {
        struct runstate rs;
        uint64_t area;
        size_t len = c->is32 ? 44u : 48u;

        if (hc_copy_in(c, b, arg, 8) != 0) {
            *ret = -PVCORE_EFAULT;
            break;
        }
        area = c->is32 ? hc_get_le32(b) : hc_get_le64(b);
        if (!hc_range_ok(c, area, len)) {
            *ret = -PVCORE_EFAULT;
            break;
        }
        /* (Relaxed atomic: the embedder's runstate updates read it from another CPU.) */
        atomic_store_explicit(&v->cpu.runstate_area, area, memory_order_relaxed);
        if (area != 0) {
            /* The current runstate, at once; like Xen, a failed write is not an error. */
            runstate_get(v, &rs);
            (void)runstate_image(c->is32, &rs, b);
            (void)hc_copy_out(c, area, b, len);
        }
        *ret = 0;
        break;
    }
    case PVCORE_VCPUOP_register_vcpu_info:
        rc = hc_copy_in(c, b, arg, sizeof(struct pvcore_vcpu_register_vcpu_info));
        *ret = rc != 0 ? -PVCORE_EFAULT : register_vcpu_info(c, v, hc_get_le64(b), hc_get_le32(b + 8));
        break;
    case PVCORE_VCPUOP_set_periodic_timer:
    case PVCORE_VCPUOP_stop_periodic_timer:
    case PVCORE_VCPUOP_set_singleshot_timer:
    case PVCORE_VCPUOP_stop_singleshot_timer:
        /* The timers are time.c's (on the embedder's timer hooks). */
        *ret = time_vcpu_op(c, cmd, v, arg);
        break;
    default:
        /* send_nmi, get_physid, register_vcpu_time_memory_area, and unknown commands */
        *ret = -PVCORE_ENOSYS;
        break;
    }
    return PVCORE_HYPERCALL_DONE;
}
