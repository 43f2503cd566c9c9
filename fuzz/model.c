/*
 * Reference model of the PV memory rules (see model.h). Deliberately naive: every rule is
 * a straight-line check, validation and devalidation recurse to completion, and the error
 * each check returns is written next to it.
 */
#include "model.h"

#include <string.h>

#include <pvcore/abi/errno.h>
#include <pvcore/abi/xen.h>

#define NONE_MFN UINT64_MAX
#define XEN_ID 0x7FF2u
#define IO_ID 0x7FF1u
#define FREE_ID 0x7FF4u
#define SELF_ID 0x7FF0u

#define F_P 0x1ull
#define F_RW 0x2ull
#define F_US 0x4ull
#define F_PWT 0x8ull
#define F_PCD 0x10ull
#define F_A 0x20ull
#define F_D 0x40ull
#define F_PSE 0x80ull
#define F_G 0x100ull
#define F_GK (1ull << 52)
#define ADDR_BITS 0x000FFFFFFFFFF000ull
/* Bits a present entry may change without being checked again. */
#define HARMLESS (F_US | F_A | F_D | F_G | 0xE00ull | 0x7FF0000000000000ull | 0x8000000000000000ull)

struct owner {
    uint16_t id;
    int dom; /* index of a domain, or -1 for IO/XEN */
};

static uint64_t frame_of(uint64_t e)
{
    return (e & ADDR_BITS) >> 12;
}

static bool is_ram(const struct model *m, uint64_t mfn)
{
    return mfn < M_FRAMES && m->f[mfn].ram;
}

static bool owned_by(const struct model *m, uint64_t mfn, uint16_t id)
{
    return is_ram(m, mfn) && m->f[mfn].count > 0 && m->f[mfn].owner == id;
}

static bool io_ok(const struct mdom *d, uint64_t mfn)
{
    return mfn >= d->io_first && mfn <= d->io_last;
}

static bool has_io(const struct mdom *d)
{
    return d->io_first <= d->io_last;
}

/* Guest (not hypervisor) slots of a table. */
static bool guest_slot(const struct model *m, unsigned dom, uint64_t mfn, int level, unsigned s)
{
    if (m->d[dom].is32) {
        if (level == 3) {
            return s < 4;
        }
        if (level == 2 && m->f[mfn].xen_l2) {
            return s < 428;
        }
        return true;
    }
    return !(level == 4 && s >= 256 && s <= 271);
}

static uint64_t upper_forbidden(const struct model *m, unsigned dom, int level)
{
    if (m->d[dom].is32 && level == 3) {
        return 0xFFF0000000000000ull | F_PWT | F_PCD | F_PSE | F_G;
    }
    return F_PWT | F_PCD | F_PSE | F_G;
}

static uint64_t upper_added(const struct model *m, unsigned dom, int level)
{
    if (m->d[dom].is32) {
        return level == 3 ? (F_US | F_RW) : 0;
    }
    return level == 4 ? (F_US | F_A) : F_US;
}

/* Bit 62 marks a grant mapping, which only grant_table_op writes: never a guest's. */
#define F_GNTTAB (1ull << 62)

static uint64_t l1_forbidden(const struct model *m, unsigned dom)
{
    return has_io(&m->d[dom]) ? F_GNTTAB : (F_PWT | F_PCD | F_PSE | F_GNTTAB);
}

static uint64_t l1_adjusted(const struct model *m, unsigned dom, uint64_t e)
{
    if (!m->d[dom].is32 && (e & F_P) && !(e & F_US)) {
        e |= F_US | F_GK;
    }
    return e;
}

static void ref_drop(struct model *m, uint64_t mfn)
{
    struct mframe *f = &m->f[mfn];
    f->count--;
    if (f->count == 0) {
        f->alloc = false;
        f->owner = FREE_ID;
        f->type = MT_NONE;
        f->tcount = 0;
        f->pinned = false;
        f->xen_l2 = false;
        f->linear = 0;
        m->m2p[mfn] = NONE_MFN;
    }
}

/* ---- entries ---------------------------------------------------------------------------- */

static int table_take(struct model *m, unsigned dom, uint64_t mfn, int type, bool xen_l2);
static void table_drop(struct model *m, unsigned dom, uint64_t mfn);

static int l1_take(struct model *m, unsigned dom, uint64_t *ep, struct owner pg)
{
    uint64_t e = *ep, mfn = frame_of(e);
    struct mframe *f;

    if (e & l1_forbidden(m, dom)) {
        return -PVCORE_EINVAL;
    }
    if (!is_ram(m, mfn)) {
        const struct mdom *perm = pg.dom >= 0 ? &m->d[pg.dom] : &m->d[dom];
        unsigned pat;
        if (mfn == 0xFFFFFFFFFFull) {
            return -PVCORE_EINVAL;
        }
        if (!io_ok(perm, mfn) || (perm != &m->d[dom] && !io_ok(&m->d[dom], mfn))) {
            return -PVCORE_EPERM;
        }
        pat = ((e & F_PSE) ? 4u : 0u) + ((e & F_PCD) ? 2u : 0u) + ((e & F_PWT) ? 1u : 0u);
        if (pat == 0 || pat == 1 || pat == 5) {
            e = (e & ~F_PSE) | F_PCD | F_PWT; /* cacheable MMIO becomes UC */
        }
        *ep = e;
        return 0;
    }
    f = &m->f[mfn];
    if (f->count == 0) {
        return -PVCORE_EBUSY; /* a free frame */
    }
    if (f->owner != pg.id) {
        bool passed_on = pg.id != dom && pg.dom >= 0 && m->d[pg.dom].priv && f->owner < SELF_ID;
        if (!passed_on) {
            return -PVCORE_EBUSY;
        }
    }
    if (f->owner == XEN_ID && (e & (F_RW | F_PCD | F_PWT | F_PSE))) {
        return (e & F_RW) ? -PVCORE_EBUSY : -PVCORE_EACCES;
    }
    if (e & F_RW) {
        if (f->tcount == 0) {
            f->type = MT_WRITABLE;
        } else if (f->type != MT_WRITABLE) {
            return -PVCORE_EBUSY; /* a page table or descriptor page is never writable */
        }
        f->tcount++;
    }
    f->count++;
    return 0;
}

static void l1_drop(struct model *m, uint64_t e)
{
    uint64_t mfn = frame_of(e);
    if (!(e & F_P) || !is_ram(m, mfn)) {
        return;
    }
    if (e & F_RW) {
        struct mframe *f = &m->f[mfn];
        if (--f->tcount == 0) {
            f->type = MT_NONE;
        }
    }
    ref_drop(m, mfn);
}

static int upper_take(struct model *m, unsigned dom, uint64_t table, int level, uint64_t e,
                      unsigned slot)
{
    uint64_t child = frame_of(e);
    bool pae_root_slot3 = m->d[dom].is32 && level == 3 && slot == 3;
    struct mframe *c;
    int rc;

    if (e & upper_forbidden(m, dom, level)) {
        return -PVCORE_EINVAL;
    }
    rc = table_take(m, dom, child, level - 1, pae_root_slot3);
    if (rc == 0 && pae_root_slot3 && m->f[child].tcount != 1) {
        table_drop(m, dom, child);
        return -PVCORE_EINVAL; /* the hypervisor's L2 is never shared */
    }
    if (rc != -PVCORE_EINVAL || pae_root_slot3) {
        return rc;
    }
    /* A linear entry: read-only, same level, same domain, validated, single level. */
    if ((m->d[dom].is32 && level == 3) || (e & F_RW)) {
        return -PVCORE_EINVAL;
    }
    if (child == table) {
        return 0;
    }
    if (!owned_by(m, child, (uint16_t)dom)) {
        return -PVCORE_EINVAL;
    }
    c = &m->f[child];
    if (c->type != level || c->tcount == 0 || c->xen_l2 || m->f[table].linear < 0 ||
        c->linear > 0) {
        return -PVCORE_EINVAL;
    }
    c->tcount++;
    c->count++;
    m->f[table].linear++;
    c->linear--;
    return 0;
}

static void upper_drop(struct model *m, unsigned dom, uint64_t table, int level, uint64_t e)
{
    uint64_t child = frame_of(e);
    if (!(e & F_P) || child == table) {
        return;
    }
    if (m->f[child].type == level) {
        m->f[table].linear--;
        m->f[child].linear++;
    }
    table_drop(m, dom, child);
}

static void drop_entries(struct model *m, unsigned dom, uint64_t mfn, int level, unsigned upto)
{
    unsigned i;
    for (i = 0; i < upto; i++) {
        uint64_t e = m->f[mfn].pte[i];
        if (!guest_slot(m, dom, mfn, level, i)) {
            continue;
        }
        if (level == 1) {
            l1_drop(m, e);
        } else {
            upper_drop(m, dom, mfn, level, e);
        }
    }
}

/* Checks every entry of a table that just took type `level`. */
static int validate(struct model *m, unsigned dom, uint64_t mfn, int level)
{
    struct mframe *f = &m->f[mfn];
    struct owner self = { (uint16_t)dom, (int)dom };
    unsigned i;

    for (i = 0; i < 512; i++) {
        uint64_t e = f->pte[i], ne = e;
        int rc;
        if (!guest_slot(m, dom, mfn, level, i)) {
            continue;
        }
        if (!(e & F_P)) {
            if (m->d[dom].is32 && level == 3 && i == 3) {
                drop_entries(m, dom, mfn, level, i);
                return -PVCORE_EINVAL; /* slot 3 must map the hypervisor's L2 */
            }
            continue;
        }
        if (level == 1) {
            rc = l1_take(m, dom, &ne, self);
            ne = l1_adjusted(m, dom, ne);
        } else {
            rc = upper_take(m, dom, mfn, level, e, i);
            ne = e | upper_added(m, dom, level);
        }
        if (rc != 0) {
            drop_entries(m, dom, mfn, level, i);
            return rc;
        }
        f->pte[i] = ne;
    }
    for (i = 0; i < 512; i++) {
        if (!guest_slot(m, dom, mfn, level, i)) {
            f->pte[i] = 0; /* the hypervisor's slots (no template here) */
        }
    }
    return 0;
}

/* Takes a general and a page-table type reference on a frame of `dom`. */
static int table_take(struct model *m, unsigned dom, uint64_t mfn, int type, bool xen_l2)
{
    struct mframe *f;
    int rc;

    if (!owned_by(m, mfn, (uint16_t)dom)) {
        return -PVCORE_EINVAL;
    }
    f = &m->f[mfn];
    if (f->tcount > 0) {
        if (f->type != type || f->xen_l2 != xen_l2) {
            return -PVCORE_EINVAL;
        }
        f->tcount++;
        f->count++;
        return 0;
    }
    f->type = type;
    f->xen_l2 = xen_l2;
    f->tcount = 1;
    f->count++;
    rc = validate(m, dom, mfn, type);
    if (rc != 0) {
        f->type = MT_NONE;
        f->xen_l2 = false;
        f->tcount = 0;
        ref_drop(m, mfn);
    }
    return rc;
}

static void table_drop(struct model *m, unsigned dom, uint64_t mfn)
{
    struct mframe *f = &m->f[mfn];
    if (--f->tcount == 0) {
        int level = f->type;
        drop_entries(m, dom, mfn, level, 512);
        f->type = MT_NONE;
        f->xen_l2 = false;
        f->pinned = false;
    }
    ref_drop(m, mfn);
}

static void put_entry(uint64_t *p, uint64_t val, bool keep_ad)
{
    *p = keep_ad ? (val | (*p & (F_A | F_D))) : val;
}

static int change_entry(struct model *m, unsigned dom, uint64_t table, int level, unsigned slot,
                        uint64_t val, bool keep_ad, struct owner pg)
{
    uint64_t *p = &m->f[table].pte[slot];
    uint64_t old = *p;
    int rc;

    if (level == 1) {
        if (val & F_P) {
            if (val & l1_forbidden(m, dom)) {
                return -PVCORE_EINVAL;
            }
            val = l1_adjusted(m, dom, val);
            if ((old & F_P) && ((old ^ val) & ~HARMLESS) == 0) {
                put_entry(p, val, keep_ad);
                return 0;
            }
            rc = l1_take(m, dom, &val, pg);
            if (rc != 0) {
                return rc;
            }
        }
        put_entry(p, val, keep_ad);
        l1_drop(m, old);
        return 0;
    }
    if (!guest_slot(m, dom, table, level, slot)) {
        return (m->d[dom].is32 && level == 2) ? -PVCORE_EPERM : -PVCORE_EINVAL;
    }
    if (m->d[dom].is32 && level == 3 && slot == 3) {
        return -PVCORE_EINVAL;
    }
    if (val & F_P) {
        if (val & upper_forbidden(m, dom, level)) {
            return -PVCORE_EINVAL;
        }
        val |= upper_added(m, dom, level);
        /* RW is not harmless here: a linear entry must never become writable (XSA-182). */
        if ((old & F_P) && ((old ^ val) & ~HARMLESS) == 0) {
            put_entry(p, val, keep_ad);
            return 0;
        }
        rc = upper_take(m, dom, table, level, val, slot);
        if (rc != 0) {
            return rc;
        }
    }
    put_entry(p, val, keep_ad);
    upper_drop(m, dom, table, level, old);
    return 0;
}

/* ---- operations --------------------------------------------------------------------------- */

void model_init(struct model *m)
{
    unsigned i, v;
    memset(m, 0, sizeof(*m));
    for (i = 0; i < M_FRAMES; i++) {
        m->f[i].ram = true;
        m->f[i].owner = FREE_ID;
        m->m2p[i] = NONE_MFN;
    }
    for (i = 0; i < M_DOMS; i++) {
        for (v = 0; v < 2; v++) {
            m->d[i].base[v] = NONE_MFN;
            m->d[i].ubase[v] = NONE_MFN;
        }
        m->d[i].io_first = 1;
        m->d[i].io_last = 0;
    }
}

int model_assign(struct model *m, unsigned dom, uint64_t mfn)
{
    struct mframe *f = &m->f[mfn];
    if (f->count != 0) {
        return -PVCORE_EBUSY;
    }
    f->owner = (uint16_t)dom;
    f->alloc = true;
    f->count = 1;
    m->m2p[mfn] = mfn;
    return 0;
}

static int foreign(const struct model *m, unsigned cur, uint16_t id, struct owner *o)
{
    if (id == SELF_ID) {
        o->id = (uint16_t)cur;
        o->dom = (int)cur;
        return 0;
    }
    if (id == cur) {
        return -PVCORE_ESRCH;
    }
    if (id == IO_ID || id == XEN_ID) {
        o->id = id;
        o->dom = -1;
        return 0;
    }
    if (id >= M_DOMS || !m->d[id].exists) {
        return -PVCORE_ESRCH;
    }
    o->id = id;
    o->dom = id;
    return 0;
}

static bool may_use(const struct model *m, unsigned cur, struct owner o)
{
    return o.dom == (int)cur || o.id == IO_ID || m->d[cur].priv;
}

static bool va_ok(const struct model *m, unsigned dom, uint64_t va)
{
    if (m->d[dom].is32) {
        return va < 0xF5800000ull;
    }
    return va < 0x0000800000000000ull || va >= 0xFFFF880000000000ull;
}

/* The L1 frame and slot mapping va in the vCPU's kernel tables, or an error. */
static int walk(const struct model *m, unsigned dom, unsigned vcpu, uint64_t va, uint64_t *l1,
                unsigned *slot)
{
    uint64_t t = m->d[dom].base[vcpu];
    int level = m->d[dom].is32 ? 3 : 4;

    if (!va_ok(m, dom, va) || t == NONE_MFN) {
        return -PVCORE_EINVAL;
    }
    for (; level > 1; level--) {
        uint64_t e;
        if (!is_ram(m, t)) {
            return -PVCORE_EINVAL;
        }
        e = m->f[t].pte[(va >> (12 + 9 * (level - 1))) & 511];
        if (!(e & F_P) || (e & F_PSE)) {
            return -PVCORE_EINVAL;
        }
        t = frame_of(e);
    }
    if (!is_ram(m, t)) {
        return -PVCORE_EINVAL;
    }
    *l1 = t;
    *slot = (unsigned)(va >> 12) & 511;
    return 0;
}

/* Reads a guest vCPU bitmap the way the host backend does: 0 or an error. */
static int read_bitmap(const struct model *m, unsigned dom, unsigned vcpu, uint64_t va)
{
    unsigned bytes = m->d[dom].is32 ? 4 : 8;
    uint64_t l1, e;
    unsigned slot;

    /* The bitmap never crosses a page for these sizes unless va is near the end. */
    while (bytes > 0) {
        unsigned chunk = 4096 - (unsigned)(va & 4095);
        if (chunk > bytes) {
            chunk = bytes;
        }
        if (walk(m, dom, vcpu, va, &l1, &slot) != 0) {
            return -1;
        }
        e = m->f[l1].pte[slot];
        if (!(e & F_P) || !is_ram(m, frame_of(e))) {
            return -1;
        }
        va += chunk;
        bytes -= chunk;
    }
    return 0;
}

int model_mmu_update(struct model *m, unsigned dom, unsigned vcpu, uint64_t ptr, uint64_t val,
                     uint32_t foreigndom)
{
    unsigned pt = dom;
    struct owner pg;
    uint32_t pfd = foreigndom >> 16;
    int rc;
    (void)vcpu;

    if (pfd != 0 && pfd - 1 != dom) {
        if (pfd - 1 >= M_DOMS || !m->d[pfd - 1].exists) {
            return -PVCORE_ESRCH;
        }
        pt = pfd - 1;
    }
    rc = foreign(m, dom, (uint16_t)(foreigndom & 0xFFFF), &pg);
    if (rc != 0) {
        return rc;
    }
    switch (ptr & 7) {
    case 0:
    case 2:
    case 3: {
        uint64_t mfn = (ptr & ~7ull) >> 12;
        unsigned slot = (unsigned)((ptr & 0xFFF) >> 3);
        struct mframe *f;
        if (!may_use(m, dom, pg) || (pt != dom && !m->d[dom].priv)) {
            return -PVCORE_EPERM;
        }
        if (!owned_by(m, mfn, (uint16_t)pt)) {
            return -PVCORE_EINVAL;
        }
        f = &m->f[mfn];
        if (f->type >= MT_L1 && f->type <= MT_L4 && f->tcount > 0) {
            if (f->type > MT_L1 && pg.id != pt) {
                return -PVCORE_EINVAL;
            }
            return change_entry(m, pt, mfn, f->type, slot, val, (ptr & 7) == 2, pg);
        }
        if (f->tcount == 0 || f->type == MT_WRITABLE) {
            f->pte[slot] = val; /* ordinary memory */
            return 0;
        }
        return -PVCORE_EINVAL;
    }
    case 1: {
        uint64_t mfn = ptr >> 12;
        if (pt != dom || !may_use(m, dom, pg)) {
            return -PVCORE_EPERM;
        }
        if (pg.dom < 0 || !owned_by(m, mfn, pg.id)) {
            return -PVCORE_EINVAL;
        }
        m->m2p[mfn] = val;
        return 0;
    }
    default:
        return -PVCORE_ENOSYS;
    }
}

static int base_switch(struct model *m, unsigned dom, unsigned vcpu, uint64_t mfn, bool user)
{
    uint64_t *slot = user ? &m->d[dom].ubase[vcpu] : &m->d[dom].base[vcpu];
    uint64_t old = *slot;
    int rc;

    if (user && m->d[dom].is32) {
        return -PVCORE_EINVAL;
    }
    if (user && mfn == 0) {
        *slot = NONE_MFN;
    } else {
        if (!user && mfn == old && old != NONE_MFN) {
            return 0;
        }
        rc = table_take(m, dom, mfn, m->d[dom].is32 ? 3 : 4, false);
        if (rc != 0) {
            return rc;
        }
        *slot = mfn;
    }
    if (old != NONE_MFN) {
        table_drop(m, dom, old);
    }
    return 0;
}

static bool writable_ok(const struct mframe *f)
{
    return f->tcount == 0 || f->type == MT_WRITABLE;
}

int model_mmuext(struct model *m, unsigned dom, unsigned vcpu, uint32_t cmd, uint64_t arg1,
                 uint64_t arg2, uint32_t foreigndom)
{
    struct owner pg;
    bool self;
    int rc = foreign(m, dom, (uint16_t)(foreigndom & 0xFFFF), &pg);

    if (rc != 0) {
        return rc;
    }
    if (pg.dom < 0) {
        return -PVCORE_EINVAL;
    }
    if (!may_use(m, dom, pg)) {
        return -PVCORE_EPERM;
    }
    self = pg.dom == (int)dom;
    switch (cmd) {
    case 0:
    case 1:
    case 2:
    case 3: {
        int level = (int)cmd + 1;
        if (m->d[pg.dom].is32 && level == 4) {
            return 0;
        }
        rc = table_take(m, (unsigned)pg.dom, arg1, level, false);
        if (rc != 0) {
            return rc;
        }
        if (m->f[arg1].pinned) {
            table_drop(m, (unsigned)pg.dom, arg1);
            return -PVCORE_EINVAL;
        }
        m->f[arg1].pinned = true;
        return 0;
    }
    case 4:
        if (!owned_by(m, arg1, pg.id) || !m->f[arg1].pinned) {
            return -PVCORE_EINVAL;
        }
        m->f[arg1].pinned = false;
        table_drop(m, (unsigned)pg.dom, arg1);
        return 0;
    case 5:
    case 15:
        return self ? base_switch(m, dom, vcpu, arg1, cmd == 15) : -PVCORE_EPERM;
    case 6:
    case 7:
    case 10:
    case 11:
        return self ? 0 : -PVCORE_EPERM;
    case 8:
        if (!self) {
            return -PVCORE_EPERM;
        }
        return read_bitmap(m, dom, vcpu, arg2) != 0 ? -PVCORE_EINVAL : 0;
    case 9:
        if (!self) {
            return -PVCORE_EPERM;
        }
        if (!va_ok(m, dom, arg1)) {
            return 0;
        }
        return read_bitmap(m, dom, vcpu, arg2) != 0 ? -PVCORE_EINVAL : 0;
    case 12:
    case 18:
        if (!self) {
            return -PVCORE_EPERM;
        }
        return has_io(&m->d[dom]) ? 0 : -PVCORE_EACCES;
    case 13: {
        uint64_t ents = arg2 & 0xFFFFFFFFu;
        if (!self) {
            return -PVCORE_EPERM;
        }
        if (ents > 8192 || (ents != 0 && ((arg1 & 4095) != 0 || !va_ok(m, dom, arg1) ||
                                          !va_ok(m, dom, arg1 + ents * 8 - 1)))) {
            return -PVCORE_EINVAL;
        }
        m->d[dom].ldt_base[vcpu] = arg1;
        m->d[dom].ldt_ents[vcpu] = (uint32_t)ents;
        return 0;
    }
    case 16:
        if (!owned_by(m, arg1, pg.id) || !writable_ok(&m->f[arg1])) {
            return -PVCORE_EINVAL;
        }
        memset(m->f[arg1].pte, 0, sizeof(m->f[arg1].pte));
        return 0;
    case 17:
        if (!owned_by(m, arg2, pg.id) || !owned_by(m, arg1, pg.id) ||
            !writable_ok(&m->f[arg1])) {
            return -PVCORE_EINVAL;
        }
        memcpy(m->f[arg1].pte, m->f[arg2].pte, sizeof(m->f[arg1].pte));
        return 0;
    case 19:
    case 20:
        return -PVCORE_EOPNOTSUPP;
    default:
        return -PVCORE_ENOSYS;
    }
}

int model_uvm(struct model *m, unsigned dom, unsigned vcpu, uint64_t va, uint64_t val,
              uint64_t flags, uint32_t foreigndom)
{
    struct owner pg;
    uint64_t l1;
    unsigned slot;
    uint64_t kind = flags & 3, scope = flags & ~3ull;
    int rc = foreign(m, dom, (uint16_t)foreigndom, &pg);

    if (rc != 0) {
        return rc;
    }
    if (!may_use(m, dom, pg)) {
        return -PVCORE_EPERM;
    }
    rc = walk(m, dom, vcpu, va, &l1, &slot);
    if (rc != 0) {
        return rc;
    }
    if (!owned_by(m, l1, (uint16_t)dom) || m->f[l1].type != MT_L1 || m->f[l1].tcount == 0) {
        return -PVCORE_EINVAL;
    }
    rc = change_entry(m, dom, l1, 1, slot, val, false, pg);
    if (rc == 0 && (kind == 1 || kind == 2) && scope != 0 && scope != 4) {
        rc = read_bitmap(m, dom, vcpu, scope) != 0 ? -PVCORE_EFAULT : 0;
    }
    return rc;
}
