/*
 * Fuzz target: grant tables v1 (map_grant_ref, unmap_grant_ref, unmap_and_replace, copy,
 * transfer) against a model written from the ABI's rules (the first half of this file),
 * which never calls the library.
 *
 * A fresh machine per input with three domains, each with a guest address space, a
 * one-frame grant table (set up with setup_table, as a guest does), grant state with
 * NH maptrack handles, and a pool of PER_DOM frames: 0 privileged 64-bit, 1 64-bit,
 * 2 32-bit PAE. Pool layout: 0-2 the upper tables, 3 the L1 (slots 0-1 the mailbox pages,
 * where op arrays go; slots 2-9 the data frames 8-15, writable; slots 10-15 empty), 6 the
 * grant-table frame, 7 a second L1 pinned on its own ("l1b"), 8-15 data frames,
 * 16-23 spare frames (unmapped, zeroed, which ops pin and unpin as L1s).
 *
 * Operations, from any live domain, through pvcore_hypercall() as a guest makes them
 * (on a machine with a work budget from the input, so batches are preempted and
 * continued): map_grant_ref and unmap_grant_ref singly and in batches, with hostile
 * fields (every flag, references and domains that are not, virtual addresses that are not
 * mapped or not canonical, PTE addresses misaligned, in another domain's L1, in frames
 * that are no L1, handles that are not, wrong bus addresses); unmap_and_replace; copy,
 * in either width's layout, between grants and frames, overlapping, past the page; the
 * granter rewriting its entries at any time (type, read-only, the in-use bits, domid,
 * frame); mmu_update and update_va_mapping of L1 entries, grant PTEs among them;
 * pinning, unpinning and scrubbing the second L1 and the spare frames (so host mappings
 * outlive their L1); destruction of domain 1 or 2, with mappings outstanding on either
 * side; GNTTABOP_transfer, singly and in batches, of frames the caller may give (no
 * mapping, pin or grant map holds them) and of every kind it may not (page tables, the
 * grant table, mapped, pinned, free, someone else's, beyond memory), to the
 * accept_transfer entries the receivers write (with the gfn the frame is to appear at),
 * to entries that are not open for the caller, to receivers with no headroom, dying or
 * absent. Frames change owners: the model keeps each frame's owner, the M2P and each
 * domain's P2M (the fuzzer gives every domain one), and a transferred frame keeps its
 * place in its first owner's layout below (its role, its contents).
 *
 * Checked after every operation: each op's status (and handle, bus address, the
 * hypercall's result) against the model; the invariant checker; every live handle's
 * frame's general and type counts (data, spare frames and the second L1: the model knows
 * every holder); every frame's owner, every domain's tot_pages and P2M;
 * every L1 entry the model tracks, byte for byte (so no handle's PTE is changed by a
 * non-grant op, and each grant PTE is exactly Xen's); no present grant PTE in
 * any live L1 without its handle; every grant-table frame byte for byte (entries and
 * GTF_reading/GTF_writing exactly as the pins say, and nothing written into a dying
 * granter's released table); every data frame's contents (copies); which frames are
 * pinned. Any disagreement aborts with a message.
 *
 * Input: 2 bytes (the work budget, 0 for none; forced preemption every n host checks),
 * then records of 8 bytes: kind, caller, 6 argument bytes (kind 11 is destruction,
 * transfer or an accept_transfer entry, by its first argument: fuzz/gen_grant_seeds.py
 * writes inputs). FUZZ_GRANT_TRACE in the environment prints each operation and its
 * result.
 *
 * The model follows Xen's rules, and libpvcore's where it chose otherwise on purpose: the
 * host address is resolved before the grant is looked at (Xen: the other way round, so
 * an op wrong in both gets another status), every pin checks the shared entry again (Xen
 * skips the check for a pin the entry's existing pins already cover). As Xen's, a pin
 * fails while any of a grant's four counts is at 128, and a map names its granter by id
 * only (DOMID_SELF is bad_domain). Where libpvcore has a known bug, a KNOWN_BUG_* switch below
 * makes the model follow it; set it to 0 with the fix.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/pvcore.h>
#include <pvcore/abi/grant_table.h>
#include <pvcore/grant.h>
#include <pvcore/host_backend.h>
#include <pvcore/hypercall.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NDOM 3u
#define POOL0 16u
#define PER_DOM 24u
#define FRAMES (POOL0 + NDOM * PER_DOM)
#define NREF 12u  /* entries the granters write; the rest of the table stays zero */
#define NH 6u     /* maptrack handles per domain */
#define NSLOT 16u /* L1 slots the model tracks (and ops use) */
#define NSPARE 8u
#define VA_BASE 0x400000ull
#define MBOX VA_BASE             /* slot 0 and 1: the mailbox pages */
#define RECORD 8u
#define MAX_OPS 256u
#define MAX_PAGES (PER_DOM + 2u) /* room for two frames more than a domain starts with */
#define P2M_N 48u                /* each domain's P2M: its 24 gfns and 24 free ones */
#define NO_MFN (~0ull)

enum { I_ROOT = 0, I_UP1 = 1, I_UP2 = 2, I_L1 = 3, I_MB0 = 4, I_MB1 = 5, I_GTAB = 6, I_L1B = 7, I_DATA = 8,
       I_SPARE = 16 };

#define P_P 0x001ull
#define P_RW 0x002ull
#define P_US 0x004ull
#define P_A 0x020ull
#define P_D 0x040ull
#define P_KERNEL (1ull << 52)
#define P_GNT (1ull << 62)
#define P_NX (1ull << 63)

/* (test_v1_copy_sub_page, tests/unit/test_grant.c): Xen ignores GTF_sub_page in version 1
 * but for maps; 1 would model the library's old refusal of such copies. */
#define KNOWN_BUG_V1_COPY_SUB_PAGE 0

#define HR 0 /* pin kinds: host read-only, host writable, device read-only, device writable */
#define HW 1
#define DR 2
#define DW 3

static uint64_t dom_frame(unsigned d, unsigned idx)
{
    return POOL0 + d * PER_DOM + idx;
}

/* ================================================================================================
 * The model: the ABI's rules, on its own state.
 * ============================================================================================== */

enum { S_EMPTY, S_ORD, S_GRANT };

struct mslot {
    uint8_t kind;
    bool rw;       /* S_ORD */
    uint64_t mfn;  /* S_ORD: the frame it maps */
    uint32_t h;    /* S_GRANT: the handle */
    uint64_t val;  /* the entry's exact value */
};

struct mhandle {
    bool used, host, dev, ro, cpte;
    uint32_t flags; /* as given */
    uint32_t ref;
    unsigned granter;
    uint64_t mfn;
    uint64_t l1;   /* host part: the table and slot of its PTE */
    unsigned slot;
};

struct mact {
    uint32_t pin[4];
    uint16_t domid;
    uint64_t mfn;
};

enum { ALIVE, DYING, GONE };

struct mdom {
    int state;
    bool priv, is32;
    uint16_t eflags[NREF], edom[NREF];
    uint32_t eframe[NREF];
    struct mact act[NREF];
    struct mhandle h[NH];
    uint32_t stack[NH]; /* free handles, the next one last (the library's free list is LIFO) */
    unsigned nfree;
    struct mslot l1[NSLOT], l1b[NSLOT], spare[NSPARE][NSLOT];
    bool l1b_pinned, spare_pinned[NSPARE];
    bool released;       /* its table went with its destruction: nobody writes it */
    uint8_t tab[4096];   /* its table's bytes when released */
};

struct model {
    struct mdom d[NDOM];
    uint8_t data[NDOM][8][4096]; /* the data frames' contents, by their place in the layout */
    int8_t own[FRAMES];          /* each frame's owner (a transfer moves it), -1: free */
    uint64_t m2p[FRAMES];
    uint64_t p2m[NDOM][P2M_N];
};

static unsigned pin_kind(bool dev, bool ro)
{
    return dev ? (ro ? DR : DW) : (ro ? HR : HW);
}

static uint32_t act_pins(const struct mact *a)
{
    return a->pin[0] + a->pin[1] + a->pin[2] + a->pin[3];
}

/* The owner of frame mfn, or -1 (free, beyond memory, or a gone domain's). */
static int gm_owner(const struct model *m, uint64_t mfn)
{
    int o;

    if (mfn >= FRAMES) {
        return -1;
    }
    o = m->own[mfn];
    return o < 0 || m->d[o].state == GONE ? -1 : o;
}

/* A pool frame's place in the layout: the domain it started with (gm_ld) and its index
 * there (gm_idx), which say what it is (a table, a data frame, ...) wherever it went. */
static unsigned gm_ld(uint64_t mfn)
{
    return (unsigned)((mfn - POOL0) / PER_DOM);
}

static unsigned gm_idx(uint64_t mfn)
{
    return (unsigned)((mfn - POOL0) % PER_DOM);
}

/* The L1 model of frame mfn, if the model tracks one there: a domain's L1, its second
 * L1 or a spare frame (by its place in the layout). */
static struct mslot *gm_table(struct model *m, uint64_t mfn)
{
    unsigned i, ld;

    if (mfn < POOL0 || mfn >= FRAMES) {
        return NULL;
    }
    i = gm_idx(mfn);
    ld = gm_ld(mfn);
    if (i == I_L1) {
        return m->d[ld].l1;
    }
    if (i == I_L1B) {
        return m->d[ld].l1b;
    }
    if (i >= I_SPARE) {
        return m->d[ld].spare[i - I_SPARE];
    }
    return NULL;
}

/* Is frame mfn pinned (by the domain whose layout it is in: nobody else can pin it)? */
static bool gm_pinned(const struct model *m, uint64_t mfn)
{
    int o = gm_owner(m, mfn);
    unsigned i, ld;

    if (o < 0 || m->d[o].state != ALIVE || mfn < POOL0) {
        return false;
    }
    i = gm_idx(mfn);
    ld = gm_ld(mfn);
    if (o != (int)ld) {
        return false;
    }
    return (i == I_L1B && m->d[ld].l1b_pinned) || (i >= I_SPARE && m->d[ld].spare_pinned[i - I_SPARE]);
}

/* Is frame mfn a live page table (so never writable)? */
static bool gm_is_table(const struct model *m, uint64_t mfn)
{
    int o = gm_owner(m, mfn);

    if (o < 0 || m->d[o].state != ALIVE) {
        return false;
    }
    /* (The tree, root to L1, never leaves its domain: it is typed.) */
    return gm_idx(mfn) <= I_L1 || gm_pinned(m, mfn);
}

/* Is frame mfn a live L1 of domain d? */
static bool gm_live_l1(const struct model *m, unsigned d, uint64_t mfn)
{
    int o = gm_owner(m, mfn);

    if (o != (int)d || m->d[d].state != ALIVE || gm_ld(mfn) != d) {
        return false;
    }
    return gm_idx(mfn) == I_L1 || gm_pinned(m, mfn);
}

/* Frames a domain owns (its tot_pages). */
static unsigned gm_tot(const struct model *m, unsigned d)
{
    unsigned n = 0, i;

    for (i = 0; i < FRAMES; i++) {
        n += m->own[i] == (int)d;
    }
    return n;
}

/* The M2P and P2M as the library keeps them: a frame leaving its owner loses its M2P entry
 * and the owner's P2M entry for it (if the P2M still names it); a frame given to a domain
 * at gfn appears there (a gfn beyond the P2M only in the M2P). */
static void gm_m2p_forget(struct model *m, uint64_t mfn)
{
    int o = m->own[mfn];
    uint64_t g = m->m2p[mfn];

    if (o >= 0 && g < P2M_N && m->p2m[o][g] == mfn) {
        m->p2m[o][g] = NO_MFN;
    }
    m->m2p[mfn] = NO_MFN;
}

static void gm_m2p_set(struct model *m, unsigned d, uint64_t mfn, uint64_t gfn)
{
    if (gfn < P2M_N) {
        m->p2m[d][gfn] = mfn;
    }
    m->m2p[mfn] = gfn;
}

/* Frame mfn is freed (its owner let go of it, or a transfer lost it). */
static void gm_free_frame(struct model *m, uint64_t mfn)
{
    gm_m2p_forget(m, mfn);
    m->own[mfn] = -1;
}

/* The exact grant PTE: Xen's P|A|D|NX|GNTTAB, RW unless read-only, U for an
 * application mapping, the guest's bits 16-18 in 9-11; a 64-bit guest's kernel mappings
 * also U and kernel-only, as any of its L1 entries. */
static uint64_t gm_grant_pte(bool is32, uint64_t mfn, uint32_t flags)
{
    uint64_t e = (mfn << 12) | P_P | P_A | P_D | P_GNT | P_NX | ((uint64_t)((flags >> 16) & 7u) << 9);

    if (!(flags & PVCORE_GNTMAP_readonly)) {
        e |= P_RW;
    }
    if (flags & PVCORE_GNTMAP_application_map) {
        e |= P_US;
    }
    if (!is32 && !(e & P_US)) {
        e |= P_US | P_KERNEL;
    }
    return e;
}

/* The domain an op names: itself by DOMID_SELF or its id; another one alive. */
static int gm_target(const struct model *m, unsigned c, uint16_t dom)
{
    if (dom == PVCORE_DOMID_SELF || dom == c) {
        return (int)c;
    }
    if (dom < NDOM && m->d[dom].state == ALIVE) {
        return dom;
    }
    return -1;
}

/* The GTF in-use bits of entry ref of rd follow its pins: writing goes with the last
 * writable pin, reading with the last pin. Nothing is written once rd's table went. */
static void gm_clear_unused(struct model *m, unsigned rd, uint32_t ref)
{
    struct mdom *g = &m->d[rd];
    struct mact *a = &g->act[ref];

    if (g->released || ref >= NREF) {
        return;
    }
    if (a->pin[HW] + a->pin[DW] == 0) {
        g->eflags[ref] &= (uint16_t)~PVCORE_GTF_writing;
    }
    if (act_pins(a) == 0) {
        g->eflags[ref] &= (uint16_t)~PVCORE_GTF_reading;
    }
}

/* Pins one part of grant ref of rd for domain c: a GNTST value, *mfn the frame. */
static int16_t gm_pin(struct model *m, unsigned rd, uint32_t ref, unsigned c, bool ro, unsigned kind,
                      bool for_map, uint64_t *mfn)
{
    struct mdom *g = &m->d[rd];
    struct mact *a;
    uint64_t fr;
    uint16_t fl;

    if (g->released || g->state != ALIVE) {
        return PVCORE_GNTST_bad_domain;
    }
    if (ref >= 512u) {
        return PVCORE_GNTST_bad_gntref; /* one table frame of 512 entries */
    }
    if (ref >= NREF) {
        return PVCORE_GNTST_general_error; /* an entry never written: invalid */
    }
    a = &g->act[ref];
    if ((act_pins(a) != 0 && a->domid != c) || a->pin[HR] >= 128u || a->pin[HW] >= 128u || a->pin[DR] >= 128u ||
        a->pin[DW] >= 128u) {
        return PVCORE_GNTST_general_error;
    }
    fl = g->eflags[ref];
    if ((fl & PVCORE_GTF_type_mask) != PVCORE_GTF_permit_access || g->edom[ref] != c ||
        (!ro && (fl & PVCORE_GTF_readonly))) {
        return PVCORE_GNTST_general_error;
    }
    /* GTF_sub_page is version 2's: a version-1 map refuses it, a copy ignores it (Xen). */
    if ((fl & PVCORE_GTF_sub_page) && (for_map || KNOWN_BUG_V1_COPY_SUB_PAGE)) {
        return PVCORE_GNTST_general_error;
    }
    g->eflags[ref] = (uint16_t)(fl | PVCORE_GTF_reading | (ro ? 0u : PVCORE_GTF_writing));
    fr = act_pins(a) != 0 ? a->mfn : g->eframe[ref];
    /* The granter's own frame (bad_page), and no page table when writable. */
    if (gm_owner(m, fr) != (int)rd) {
        gm_clear_unused(m, rd, ref);
        return PVCORE_GNTST_bad_page;
    }
    if (!ro && gm_is_table(m, fr)) {
        gm_clear_unused(m, rd, ref);
        return PVCORE_GNTST_general_error;
    }
    a->domid = (uint16_t)c;
    a->mfn = fr;
    a->pin[kind]++;
    *mfn = fr;
    return PVCORE_GNTST_okay;
}

static void gm_unpin(struct model *m, unsigned rd, uint32_t ref, unsigned kind)
{
    struct mact *a = &m->d[rd].act[ref];

    if (a->pin[kind] == 0) {
        abort(); /* a model bug */
    }
    a->pin[kind]--;
    gm_clear_unused(m, rd, ref);
}

/* Where host_addr names a PTE for domain c: with contains_pte a machine address in one of
 * c's live L1s, 8-byte aligned; otherwise a virtual address of the L1's range. */
static bool gm_find_pte(const struct model *m, unsigned c, bool cpte, uint64_t addr, uint64_t *l1, unsigned *slot)
{
    if (cpte) {
        if ((addr & 7u) != 0 || !gm_live_l1(m, c, addr >> 12)) {
            return false;
        }
        *l1 = addr >> 12;
        *slot = (unsigned)((addr & 0xFFFu) / 8u);
        return true;
    }
    if (m->d[c].is32 && addr > 0xFFFFFFFFull) {
        return false;
    }
    if (addr < VA_BASE || addr >= VA_BASE + 512u * 4096u) {
        return false; /* nothing else is mapped (the ops' hostile addresses are not) */
    }
    *l1 = dom_frame(c, I_L1);
    *slot = (unsigned)((addr - VA_BASE) >> 12);
    return true;
}

static void gm_drop_slot(struct mslot *s)
{
    s->kind = S_EMPTY;
    s->val = 0;
    s->rw = false;
    s->mfn = 0;
}

/* GNTTABOP_map_grant_ref for domain c. */
static int16_t gm_map(struct model *m, unsigned c, uint64_t addr, uint32_t flags, uint32_t ref, uint16_t dom,
                      uint32_t *handle, uint64_t *dev_bus)
{
    struct mdom *md = &m->d[c];
    bool host = flags & PVCORE_GNTMAP_host_map, dev = flags & PVCORE_GNTMAP_device_map;
    bool ro = flags & PVCORE_GNTMAP_readonly, cpte = flags & PVCORE_GNTMAP_contains_pte;
    uint64_t l1 = 0, mfn = 0, mfn2 = 0;
    unsigned slot = 0;
    struct mslot *s = NULL;
    struct mhandle *h;
    int rd;
    int16_t st;
    uint32_t hn;

    if (!host && !dev) {
        return PVCORE_GNTST_bad_gntref;
    }
    rd = dom == PVCORE_DOMID_SELF ? -1 : gm_target(m, c, dom); /* a map names the granter by id */
    if (rd < 0) {
        return PVCORE_GNTST_bad_domain;
    }
    if (md->nfree == 0) {
        return PVCORE_GNTST_no_device_space;
    }
    if (host) {
        if (!gm_find_pte(m, c, cpte, addr, &l1, &slot) || slot >= NSLOT) {
            return PVCORE_GNTST_general_error; /* (slots past NSLOT: never generated) */
        }
        s = &gm_table(m, l1)[slot];
        if (s->kind == S_GRANT) {
            return PVCORE_GNTST_general_error; /* one grant mapping never replaces another */
        }
        st = gm_pin(m, (unsigned)rd, ref, c, ro, pin_kind(false, ro), true, &mfn);
        if (st != PVCORE_GNTST_okay) {
            return st;
        }
    }
    if (dev) {
        st = gm_pin(m, (unsigned)rd, ref, c, ro, pin_kind(true, ro), true, &mfn2);
        if (st != PVCORE_GNTST_okay) {
            if (host) {
                gm_unpin(m, (unsigned)rd, ref, pin_kind(false, ro));
            }
            return st;
        }
        mfn = mfn2;
    }
    *dev_bus = mfn << 12; /* host-only too: Linux's PV p2m code reads it */
    hn = md->stack[--md->nfree];
    h = &md->h[hn];
    memset(h, 0, sizeof(*h));
    h->used = true;
    h->host = host;
    h->dev = dev;
    h->ro = ro;
    h->cpte = cpte;
    h->flags = flags;
    h->ref = ref;
    h->granter = (unsigned)rd;
    h->mfn = mfn;
    h->l1 = l1;
    h->slot = slot;
    if (host) {
        /* What was there loses its references (S_ORD: the model's counts). */
        gm_drop_slot(s);
        s->kind = S_GRANT;
        s->h = hn;
        s->val = gm_grant_pte(md->is32, mfn, flags);
    }
    *handle = hn;
    return PVCORE_GNTST_okay;
}

static void gm_free_handle(struct mdom *md, uint32_t hn)
{
    memset(&md->h[hn], 0, sizeof(md->h[hn]));
    md->stack[md->nfree++] = hn;
}

/* The parts of handle hn named (host: at host_addr; device: dev_bus_addr). */
static int16_t gm_unmap_parts(struct model *m, unsigned c, uint32_t hn, uint64_t host_addr, uint64_t dev_bus)
{
    struct mdom *md = &m->d[c];
    struct mhandle *h;
    bool host, dev;

    if (hn >= NH || !md->h[hn].used) {
        return PVCORE_GNTST_bad_handle;
    }
    h = &md->h[hn];
    host = host_addr != 0 && h->host;
    dev = dev_bus != 0 && h->dev;
    if (dev_bus != 0 && dev_bus != h->mfn << 12) {
        return PVCORE_GNTST_general_error; /* (device part or not) */
    }
    if (host && gm_live_l1(m, c, h->l1)) {
        uint64_t l1;
        unsigned slot;
        struct mslot *s;
        /* The address names the PTE the map wrote, which must still be a grant PTE of
         * the frame, as writable as mapped (XSA-234). */
        if (!gm_find_pte(m, c, h->cpte, host_addr, &l1, &slot) || l1 != h->l1 || slot != h->slot) {
            return PVCORE_GNTST_general_error;
        }
        s = &gm_table(m, l1)[slot];
        if (s->kind != S_GRANT || md->h[s->h].mfn != h->mfn || md->h[s->h].ro != h->ro) {
            return PVCORE_GNTST_general_error;
        }
        /* (It may be another handle's PTE where this one's was, its L1 having died and
         * come back: it goes all the same, that handle keeping its references.) */
        gm_drop_slot(s);
    }
    if (host) {
        gm_unpin(m, h->granter, h->ref, pin_kind(false, h->ro));
        h->host = false;
    }
    if (dev) {
        gm_unpin(m, h->granter, h->ref, pin_kind(true, h->ro));
        h->dev = false;
    }
    if (!h->host && !h->dev) {
        gm_free_handle(md, hn);
    }
    return PVCORE_GNTST_okay;
}

/* GNTTABOP_unmap_and_replace: new_addr's entry moves to the grant's place. */
static int16_t gm_replace(struct model *m, unsigned c, uint64_t host_addr, uint64_t new_addr, uint32_t hn)
{
    struct mdom *md = &m->d[c];
    struct mhandle *h;
    uint64_t nl1;
    unsigned nslot;
    struct mslot moved, *ns, *gs;
    bool live;
    int16_t st;
    uint64_t gl1;
    unsigned gslot;

    if (hn >= NH || !md->h[hn].used) {
        return PVCORE_GNTST_bad_handle;
    }
    h = &md->h[hn];
    if (host_addr == 0 || !h->host) {
        return PVCORE_GNTST_okay; /* no host part named, or none to replace: nothing to do */
    }
    if (new_addr == 0) {
        return gm_unmap_parts(m, c, hn, host_addr, 0); /* replaced with nothing: unmapped */
    }
    if (h->cpte) {
        return PVCORE_GNTST_general_error; /* a PTE moves into virtual-address mappings only */
    }
    gl1 = h->l1;
    gslot = h->slot;
    live = gm_live_l1(m, c, gl1);
    if (!gm_find_pte(m, c, false, new_addr, &nl1, &nslot) || nslot >= NSLOT || (nl1 == gl1 && nslot == gslot)) {
        return PVCORE_GNTST_general_error;
    }
    ns = &gm_table(m, nl1)[nslot];
    if (ns->kind == S_GRANT) {
        return PVCORE_GNTST_general_error; /* stealing another grant's PTE (XSA-234) */
    }
    moved = *ns;
    st = gm_unmap_parts(m, c, hn, host_addr, 0);
    if (st != PVCORE_GNTST_okay) {
        return st;
    }
    gm_drop_slot(ns);
    if (live) {
        gs = &gm_table(m, gl1)[gslot];
        *gs = moved;
    }
    return PVCORE_GNTST_okay;
}

/* One end of a copy: a grant pinned for the copy, or a frame. */
struct mend {
    int rd; /* the granter, or -1 for a frame */
    uint32_t ref;
    uint64_t mfn;
    bool ro;
};

static int16_t gm_copy_acquire(struct model *m, unsigned c, bool gref, uint64_t id, uint16_t dom, bool ro,
                               struct mend *e)
{
    int rd = gm_target(m, c, dom);

    e->rd = -1;
    e->ro = ro;
    if (gref) {
        int16_t st;
        if (rd < 0) {
            return PVCORE_GNTST_bad_domain;
        }
        /* The reference is the {ref, gmfn} union's low 32 bits. */
        st = gm_pin(m, (unsigned)rd, (uint32_t)id, c, ro, pin_kind(false, ro), false, &e->mfn);
        if (st == PVCORE_GNTST_okay) {
            e->rd = rd;
            e->ref = (uint32_t)id;
        }
        return st;
    }
    if (dom != PVCORE_DOMID_SELF) {
        return PVCORE_GNTST_permission_denied; /* only DOMID_SELF names a frame, whoever asks */
    }
    if (gm_owner(m, id) != rd) {
        return PVCORE_GNTST_bad_page;
    }
    if (!ro && gm_is_table(m, id)) {
        return PVCORE_GNTST_general_error;
    }
    e->mfn = id;
    return PVCORE_GNTST_okay;
}

static void gm_copy_release(struct model *m, const struct mend *e)
{
    if (e->rd >= 0) {
        gm_unpin(m, (unsigned)e->rd, e->ref, pin_kind(false, e->ro));
    }
}

/* The data-frame image of mfn in the model, or NULL for a frame whose bytes the model
 * does not keep. */
static uint8_t *gm_data(struct model *m, uint64_t mfn)
{
    int o = gm_owner(m, mfn);
    unsigned i;

    if (o < 0 || mfn < POOL0) {
        return NULL;
    }
    i = gm_idx(mfn);
    return i >= I_DATA && i < I_DATA + 8u ? m->data[gm_ld(mfn)][i - I_DATA] : NULL;
}

/* GNTTABOP_copy. `src_bytes` is the source frame's contents when the model keeps none. */
static int16_t gm_copy(struct model *m, unsigned c, uint64_t sid, uint16_t sdom, uint16_t soff, uint64_t did,
                       uint16_t ddom, uint16_t doff, uint16_t len, uint16_t flags, const uint8_t *src_bytes,
                       uint64_t *src_mfn)
{
    struct mend s, d;
    int16_t st;

    if ((uint32_t)soff + len > 4096u || (uint32_t)doff + len > 4096u) {
        return PVCORE_GNTST_bad_copy_arg;
    }
    st = gm_copy_acquire(m, c, flags & PVCORE_GNTCOPY_source_gref, sid, sdom, true, &s);
    if (st != PVCORE_GNTST_okay) {
        return st;
    }
    st = gm_copy_acquire(m, c, flags & PVCORE_GNTCOPY_dest_gref, did, ddom, false, &d);
    if (st != PVCORE_GNTST_okay) {
        gm_copy_release(m, &s);
        return st;
    }
    *src_mfn = s.mfn;
    if (len != 0) {
        uint8_t *to = gm_data(m, d.mfn);
        const uint8_t *from = gm_data(m, s.mfn);
        if (to == NULL) {
            abort(); /* the generator only writes data frames */
        }
        memmove(to + doff, (from != NULL ? from : src_bytes) + soff, len);
    }
    gm_copy_release(m, &d);
    gm_copy_release(m, &s);
    return PVCORE_GNTST_okay;
}

/* The frame a copy end names, as the model sees it now (for the generator). */
static uint64_t gm_end_frame(const struct model *m, unsigned c, bool gref, uint64_t id, uint16_t dom)
{
    int rd = gm_target(m, c, dom);

    if (!gref) {
        return dom == PVCORE_DOMID_SELF ? id : ~0ull;
    }
    id &= 0xFFFFFFFFull;
    if (rd < 0 || id >= NREF) {
        return ~0ull;
    }
    return act_pins(&m->d[rd].act[id]) != 0 ? m->d[rd].act[id].mfn : m->d[rd].eframe[id];
}

/* The bytes of d's table as the model has them. */
static void gm_table_image(const struct mdom *md, uint8_t tab[4096])
{
    unsigned i;

    memset(tab, 0, 4096);
    for (i = 0; i < NREF; i++) {
        memcpy(tab + i * 8u, &md->eflags[i], 2);
        memcpy(tab + i * 8u + 2, &md->edom[i], 2);
        memcpy(tab + i * 8u + 4, &md->eframe[i], 4);
    }
}

/* A domain's destruction begins: every mapping it holds goes (its own grants' in-use bits
 * included), then its table is released: nobody writes it from then on. */
static void gm_destroy_begin(struct model *m, unsigned d)
{
    struct mdom *md = &m->d[d];
    uint32_t hn;

    for (hn = 0; hn < NH; hn++) {
        struct mhandle *h = &md->h[hn];
        if (!h->used) {
            continue;
        }
        if (h->host) {
            gm_unpin(m, h->granter, h->ref, pin_kind(false, h->ro));
        }
        if (h->dev) {
            gm_unpin(m, h->granter, h->ref, pin_kind(true, h->ro));
        }
        gm_free_handle(md, hn);
    }
    gm_table_image(md, md->tab);
    md->released = true;
    md->state = DYING;
}

/* Does anything of another domain still hold one of d's frames? */
static bool gm_frames_held(const struct model *m, unsigned d)
{
    unsigned o, hn;

    for (o = 0; o < NDOM; o++) {
        for (hn = 0; hn < NH && o != d; hn++) {
            const struct mhandle *h = &m->d[o].h[hn];
            if (h->used && gm_owner(m, h->mfn) == (int)d) {
                return true;
            }
        }
    }
    return false;
}

/* The references on a frame the model knows of: its allocation (while its owner lives),
 * the ordinary entries of live L1s mapping it, a pin, and every handle part. For a data
 * frame, a spare frame and the second L1 these are all there are (check_all() compares);
 * the upper tables, the L1, the grant table and the mailbox pages have more. */
static void gm_refs(const struct model *m, uint64_t mfn, uint32_t *count, uint32_t *tcount)
{
    int own = gm_owner(m, mfn);
    unsigned o, hn, s;
    uint32_t c = 0, w = 0;
    bool pinned = gm_pinned(m, mfn);

    if (own >= 0 && m->d[own].state == ALIVE) {
        c++; /* allocation */
    }
    for (o = 0; o < NDOM; o++) {
        const struct mdom *md = &m->d[o];
        for (s = 0; s < NSLOT && md->state == ALIVE; s++) {
            if (md->l1[s].kind == S_ORD && md->l1[s].mfn == mfn) {
                c++;
                w += md->l1[s].rw;
            }
        }
    }
    for (o = 0; o < NDOM; o++) {
        for (hn = 0; hn < NH; hn++) {
            const struct mhandle *h = &m->d[o].h[hn];
            if (h->used && h->mfn == mfn) {
                c += (uint32_t)h->host + (uint32_t)h->dev;
                w += h->ro ? 0u : (uint32_t)h->host + (uint32_t)h->dev;
            }
        }
    }
    if (pinned) {
        c++;
        w = 1; /* the L1 type reference (no writable one can exist) */
    }
    *count = c;
    *tcount = w;
}

/* Would pinning frame mfn of d as an L1 succeed: not pinned, nothing writable maps it,
 * and no present entry in it (the ops leave only grant PTEs and garbage that is not
 * present in these frames). */
static bool gm_can_pin(const struct model *m, uint64_t mfn, const uint64_t *content)
{
    uint32_t c, w;
    unsigned i;

    gm_refs(m, mfn, &c, &w);
    if (gm_is_table(m, mfn) || w != 0) {
        return false;
    }
    for (i = 0; i < 512; i++) {
        if (content[i] & P_P) {
            return false;
        }
    }
    return true;
}

/* Could domain c give frame mfn away (Xen's steal_page()): its own, held by its allocation
 * alone (no mapping, pin, grant map), no type (the tree and the grant table never). */
static bool gm_can_steal(const struct model *m, unsigned c, uint64_t mfn)
{
    uint32_t cnt, w;
    unsigned i;

    if (gm_owner(m, mfn) != (int)c || mfn < POOL0) {
        return false;
    }
    i = gm_idx(mfn);
    if (i <= I_L1 || i == I_GTAB) {
        return false;
    }
    gm_refs(m, mfn, &cnt, &w);
    return cnt == 1 && w == 0;
}

/* GNTTABOP_transfer of frame mfn by domain c to domain `dom`, into its grant `ref`: a frame
 * that cannot be stolen stays (bad_page); a stolen one is lost to c whatever follows, and
 * freed if the receiver cannot take it: none such alive (DOMID_SELF is no receiver), no
 * headroom below max_pages, or its entry not exactly an open accept_transfer for c. Then
 * the frame is the receiver's at the gfn its entry held, and the entry says committed,
 * completed, and the frame. (No frame here lies above 2^44 bytes: no address_too_big.) */
static int16_t gm_transfer(struct model *m, unsigned c, uint64_t mfn, uint16_t dom, uint32_t ref)
{
    struct mdom *e;
    uint64_t gfn;

    if (!gm_can_steal(m, c, mfn)) {
        return PVCORE_GNTST_bad_page;
    }
    gm_free_frame(m, mfn); /* in transit: no owner, no M2P entry, no P2M entry of c's */
    if (dom >= NDOM || m->d[dom].state != ALIVE) {
        return PVCORE_GNTST_bad_domain;
    }
    e = &m->d[dom];
    if (gm_tot(m, dom) >= MAX_PAGES || ref >= NREF || e->eflags[ref] != PVCORE_GTF_accept_transfer ||
        e->edom[ref] != c) {
        return PVCORE_GNTST_general_error;
    }
    gfn = e->eframe[ref];
    e->eflags[ref] |= PVCORE_GTF_transfer_committed | PVCORE_GTF_transfer_completed;
    e->eframe[ref] = (uint32_t)mfn;
    m->own[mfn] = (int8_t)dom;
    gm_m2p_set(m, dom, mfn, gfn);
    return PVCORE_GNTST_okay;
}

/* The frames of a domain that is not alive go once nothing holds them. */
static void gm_sweep(struct model *m)
{
    uint64_t mfn;

    for (mfn = 0; mfn < FRAMES; mfn++) {
        int o = m->own[mfn];
        uint32_t c, w;
        if (o < 0 || m->d[o].state == ALIVE) {
            continue;
        }
        gm_refs(m, mfn, &c, &w);
        if (c == 0) {
            gm_free_frame(m, mfn);
        }
    }
}

/* ================================================================================================
 * The machine, and the checks against the model.
 * ============================================================================================== */

struct fz {
    struct pvcore_host_backend *hb;
    struct pvcore_machine *m;
    struct pvcore_domain *dom[NDOM];
    void *mem[NDOM];
    void *state[NDOM];
    uint64_t p2m[NDOM][P2M_N]; /* each domain's P2M, which the library keeps */
    void *scratch;
    size_t scratch_len;
    struct model md;
    unsigned opno;
    const char *opname;
    int trace;
};

static void die(struct fz *f, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void die(struct fz *f, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "fuzz_grant: op #%u (%s): ", f->opno, f->opname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static uint8_t *fp(struct fz *f, uint64_t mfn)
{
    return (uint8_t *)pvcore_host_backend_frame(f->hb, pvcore_mfn(mfn));
}

static uint64_t *fe(struct fz *f, uint64_t mfn)
{
    return (uint64_t *)pvcore_host_backend_frame(f->hb, pvcore_mfn(mfn));
}

static struct pvcore_frame_info finfo(struct fz *f, uint64_t mfn)
{
    struct pvcore_frame_info fi;

    memset(&fi, 0, sizeof(fi));
    if (pvcore_frame_query(f->m, pvcore_mfn(mfn), &fi) != 0) {
        die(f, "frame_query %llu", (unsigned long long)mfn);
    }
    return fi;
}

/* Byte `off` of domain d's mailbox (two pages at MBOX). */
static void mbox_write(struct fz *f, unsigned d, uint32_t off, const void *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        uint32_t o = off + (uint32_t)i;
        fp(f, dom_frame(d, I_MB0 + o / 4096u))[o % 4096u] = ((const uint8_t *)b)[i];
    }
}

static void mbox_read(struct fz *f, unsigned d, uint32_t off, void *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        uint32_t o = off + (uint32_t)i;
        ((uint8_t *)b)[i] = fp(f, dom_frame(d, I_MB0 + o / 4096u))[o % 4096u];
    }
}

static int64_t hcall(struct fz *f, unsigned d, uint32_t cmd, uint32_t count)
{
    struct pvcore_hypercall_regs r;
    unsigned n = 0;
    int rc;

    memset(&r, 0, sizeof(r));
    r.nr = PVCORE_HYPERVISOR_grant_table_op;
    r.arg[0] = cmd;
    r.arg[1] = MBOX;
    r.arg[2] = count;
    while ((rc = pvcore_hypercall(pvcore_domain_vcpu(f->dom[d], 0), &r)) == PVCORE_HYPERCALL_RESTART) {
        if (++n > 100000u) {
            die(f, "no progress");
        }
    }
    if (rc != PVCORE_HYPERCALL_DONE) {
        die(f, "pvcore_hypercall returned %d", rc);
    }
    return f->md.d[d].is32 ? (int64_t)(int32_t)(uint32_t)r.ret : (int64_t)r.ret;
}

static int ext1(struct fz *f, unsigned d, uint32_t cmd, uint64_t arg1)
{
    struct pvcore_mmuext_req op;
    int rc;

    memset(&op, 0, sizeof(op));
    op.cmd = cmd;
    op.arg1 = arg1;
    do {
        rc = pvcore_mmuext_op(pvcore_domain_vcpu(f->dom[d], 0), &op, 1, NULL, PVCORE_DOMID_SELF);
    } while (rc == -PVCORE_ERESTART);
    return rc;
}

static void put_pte(struct fz *f, uint64_t table, unsigned slot, uint64_t e)
{
    fe(f, table)[slot] = e;
}

static void setup(struct fz *f, const uint8_t hdr[2])
{
    unsigned d, i;

    memset(f, 0, sizeof(*f));
    f->opname = "setup";
    for (i = 0; i < FRAMES; i++) {
        f->md.own[i] = -1;
        f->md.m2p[i] = NO_MFN;
    }
    if (pvcore_host_backend_create(FRAMES, 4, hdr[0] == 0 ? 0u : 1u + hdr[0] % 16u, 0, &f->hb) != 0) {
        abort();
    }
    f->m = pvcore_host_backend_machine(f->hb);
    if (hdr[1] != 0 && hdr[1] < 8) {
        pvcore_host_backend_set_preempt(f->hb, hdr[1]);
    }
    f->scratch_len = pvcore_check_scratch_size(f->m);
    f->scratch = malloc(f->scratch_len);
    if (f->scratch == NULL) {
        abort();
    }
    for (d = 0; d < NDOM; d++) {
        struct pvcore_domain_config cfg;
        struct mdom *md = &f->md.d[d];
        size_t sz = pvcore_domain_size(1), gsz = pvcore_grant_state_size(1, NH);
        pvcore_mfn_t gt = pvcore_mfn(dom_frame(d, I_GTAB));
        uint64_t root = dom_frame(d, I_ROOT), l1 = dom_frame(d, I_L1);

        memset(&cfg, 0, sizeof(cfg));
        cfg.domid = (uint16_t)d;
        cfg.nr_vcpus = 1;
        cfg.flags = d == 0 ? PVCORE_DOMAIN_PRIVILEGED : (d == 2 ? PVCORE_DOMAIN_GUEST_32 : 0u);
        cfg.max_pages = MAX_PAGES;
        f->mem[d] = aligned_alloc(64, (sz + 63u) & ~(size_t)63u);
        f->state[d] = aligned_alloc(64, (gsz + 63u) & ~(size_t)63u);
        if (f->mem[d] == NULL || f->state[d] == NULL ||
            pvcore_domain_create(f->m, f->mem[d], sz, &cfg, &f->dom[d]) != 0 ||
            pvcore_domain_set_p2m(f->dom[d], f->p2m[d], P2M_N) != 0) {
            abort();
        }
        for (i = 0; i < PER_DOM; i++) {
            if (pvcore_domain_assign(f->dom[d], pvcore_mfn(dom_frame(d, i)), pvcore_gfn(i)) != 0) {
                abort();
            }
        }
        if (d == 2) { /* PAE: L3 slot 0 -> L2 (slot 2 -> L1); slot 3: the hypervisor's L2 */
            put_pte(f, root, 0, (dom_frame(d, I_UP1) << 12) | P_P);
            put_pte(f, root, 3, (dom_frame(d, I_UP2) << 12) | P_P);
            put_pte(f, dom_frame(d, I_UP1), 2, (l1 << 12) | 7u);
        } else {
            put_pte(f, root, 0, (dom_frame(d, I_UP1) << 12) | 7u);
            put_pte(f, dom_frame(d, I_UP1), 0, (dom_frame(d, I_UP2) << 12) | 7u);
            put_pte(f, dom_frame(d, I_UP2), 2, (l1 << 12) | 7u);
        }
        put_pte(f, l1, 0, (dom_frame(d, I_MB0) << 12) | 7u);
        put_pte(f, l1, 1, (dom_frame(d, I_MB1) << 12) | 7u);
        for (i = 0; i < 8; i++) {
            put_pte(f, l1, 2 + i, (dom_frame(d, I_DATA + i) << 12) | 7u);
            memset(fp(f, dom_frame(d, I_DATA + i)), (int)(d * 8u + i + 1u), 4096);
        }
        if (ext1(f, d, PVCORE_MMUEXT_NEW_BASEPTR, root) != 0 ||
            ext1(f, d, PVCORE_MMUEXT_PIN_L1_TABLE, dom_frame(d, I_L1B)) != 0) {
            die(f, "building dom %u", d);
        }
        if (pvcore_domain_set_grant_frames(f->dom[d], &gt, 1) != 0 ||
            pvcore_domain_set_grant_state(f->dom[d], f->state[d], gsz, NH) != 0) {
            die(f, "grant state of dom %u", d);
        }
        /* The model. */
        for (i = 0; i < P2M_N; i++) {
            f->md.p2m[d][i] = i < PER_DOM ? dom_frame(d, i) : NO_MFN;
        }
        for (i = 0; i < PER_DOM; i++) {
            f->md.own[dom_frame(d, i)] = (int8_t)d;
            f->md.m2p[dom_frame(d, i)] = i;
        }
        md->state = ALIVE;
        md->priv = d == 0;
        md->is32 = d == 2;
        for (i = 0; i < NH; i++) {
            md->stack[i] = NH - 1u - i;
        }
        md->nfree = NH;
        md->l1b_pinned = true;
        for (i = 0; i < NSLOT; i++) {
            md->l1[i].val = fe(f, l1)[i];
        }
        for (i = 0; i < 10; i++) {
            md->l1[i].kind = S_ORD;
            md->l1[i].rw = true;
            md->l1[i].mfn = i < 2 ? dom_frame(d, I_MB0 + i) : dom_frame(d, I_DATA + i - 2u);
        }
        for (i = 0; i < 8; i++) {
            memcpy(f->md.data[d][i], fp(f, dom_frame(d, I_DATA + i)), 4096);
        }
    }
    /* setup_table, as a guest does it. */
    for (d = 0; d < NDOM; d++) {
        uint8_t op[24];
        int16_t st;
        memset(op, 0, sizeof(op));
        op[0] = (uint8_t)PVCORE_DOMID_SELF;
        op[1] = (uint8_t)(PVCORE_DOMID_SELF >> 8);
        op[4] = 1;
        if (d == 2) {
            uint32_t list = (uint32_t)MBOX + 0x800u;
            memcpy(op + 12, &list, 4);
        } else {
            uint64_t list = MBOX + 0x800u;
            memcpy(op + 16, &list, 8);
        }
        mbox_write(f, d, 0, op, 24);
        if (hcall(f, d, PVCORE_GNTTABOP_setup_table, 1) != 0) {
            die(f, "setup_table of dom %u", d);
        }
        mbox_read(f, d, 8, &st, 2);
        if (st != PVCORE_GNTST_okay) {
            die(f, "setup_table of dom %u: status %d", d, st);
        }
    }
}

/* Everything against the model. */
static void check_all(struct fz *f)
{
    struct pvcore_check_report rep;
    struct model *m = &f->md;
    unsigned d, i, s;

    if (pvcore_check_invariants(f->m, f->scratch, f->scratch_len, &rep) != 0) {
        die(f, "invariant violated: %s at mfn %llu (expected %llu, actual %llu)", pvcore_check_code_name(rep.code),
            (unsigned long long)rep.mfn, (unsigned long long)rep.expected, (unsigned long long)rep.actual);
    }
    /* Every frame's owner: the model's, once a dying domain's frames that nothing holds
     * have gone; each domain's frame count and P2M. */
    gm_sweep(m);
    for (i = 0; i < FRAMES; i++) {
        int o = gm_owner(m, i);
        uint16_t want = o < 0 ? (uint16_t)PVCORE_DOMID_INVALID : (uint16_t)o;
        if (finfo(f, i).owner != want) {
            die(f, "frame %u: owner %#x, model %#x", i, finfo(f, i).owner, want);
        }
    }
    for (d = 0; d < NDOM; d++) {
        if (m->d[d].state == GONE) {
            continue;
        }
        if (pvcore_domain_tot_pages(f->dom[d]) != gm_tot(m, d)) {
            die(f, "dom %u: tot_pages %llu, model %u", d, (unsigned long long)pvcore_domain_tot_pages(f->dom[d]),
                gm_tot(m, d));
        }
        for (i = 0; i < P2M_N; i++) {
            if (f->p2m[d][i] != m->p2m[d][i]) {
                die(f, "dom %u: P2M[%u] %#llx, model %#llx", d, i, (unsigned long long)f->p2m[d][i],
                    (unsigned long long)m->p2m[d][i]);
            }
        }
    }
    for (d = 0; d < NDOM; d++) {
        struct mdom *md = &m->d[d];
        uint8_t tab[4096];
        /* The table: the model's entries, the rest zero; once released, what it was. */
        if (md->released) {
            memcpy(tab, md->tab, 4096);
        } else {
            gm_table_image(md, tab);
        }
        if (md->state != GONE && memcmp(tab, fp(f, dom_frame(d, I_GTAB)), 4096) != 0) {
            for (i = 0; i < 4096 && tab[i] == fp(f, dom_frame(d, I_GTAB))[i]; i++) {
            }
            die(f, "dom %u's grant table differs at byte %u (entry %u): %#x, model %#x", d, i, i / 8u,
                fp(f, dom_frame(d, I_GTAB))[i], tab[i]);
        }
        /* The second L1's, the data and the spare frames' references, wherever they are. */
        for (i = I_L1B; i < PER_DOM; i++) {
            uint64_t mfn = dom_frame(d, i);
            struct pvcore_frame_info fi = finfo(f, mfn);
            uint32_t c, w;
            gm_refs(m, mfn, &c, &w);
            if (fi.count != c || fi.type_count != w) {
                die(f, "dom %u frame %u (mfn %llu): count %u type %u type_count %u; model %u %u", d, i,
                    (unsigned long long)mfn, fi.count, fi.type, fi.type_count, c, w);
            }
        }
        /* Data frames' contents, while a live domain owns them. */
        for (i = 0; i < 8; i++) {
            int o = gm_owner(m, dom_frame(d, I_DATA + i));
            if (o >= 0 && m->d[o].state == ALIVE && memcmp(m->data[d][i], fp(f, dom_frame(d, I_DATA + i)), 4096) != 0) {
                die(f, "dom %u data frame %u (dom %d's): contents differ from the model", d, i, o);
            }
        }
        if (md->state != ALIVE) {
            continue;
        }
        /* Pins. */
        if (((finfo(f, dom_frame(d, I_L1B)).flags & PVCORE_FRAME_PINNED) != 0) != md->l1b_pinned) {
            die(f, "dom %u l1b pinned %d, model %d", d, !md->l1b_pinned, md->l1b_pinned);
        }
        for (i = 0; i < NSPARE; i++) {
            if (((finfo(f, dom_frame(d, I_SPARE + i)).flags & PVCORE_FRAME_PINNED) != 0) != md->spare_pinned[i]) {
                die(f, "dom %u spare %u pinned %d, model %d", d, i, !md->spare_pinned[i], md->spare_pinned[i]);
            }
        }
        /* Every tracked entry of its L1 and, while they are live, of its other L1s,
         * exactly (grant PTEs: NX aside). */
        for (i = 0; i < 2u + NSPARE; i++) {
            uint64_t t = i == 0 ? dom_frame(d, I_L1) : i == 1 ? dom_frame(d, I_L1B) : dom_frame(d, I_SPARE + i - 2u);
            const struct mslot *ms = gm_table(m, t);
            if (!gm_live_l1(m, d, t)) {
                continue;
            }
            for (s = 0; s < NSLOT; s++) {
                uint64_t got = fe(f, t)[s];
                if (got != ms[s].val) {
                    die(f, "dom %u table %u slot %u: %#llx, model %#llx (kind %u)", d, i, s,
                        (unsigned long long)fe(f, t)[s], (unsigned long long)ms[s].val, ms[s].kind);
                }
            }
        }
        /* No present grant PTE in any live L1 of the domain without its handle. */
        for (i = 0; i < PER_DOM; i++) {
            uint64_t t = dom_frame(d, i);
            struct pvcore_frame_info fi = finfo(f, t);
            if (fi.type != PVCORE_PGT_L1 || fi.type_count == 0 || !(fi.flags & PVCORE_FRAME_VALIDATED)) {
                continue;
            }
            for (s = 0; s < 512; s++) {
                uint64_t e = fe(f, t)[s];
                const struct mslot *ms = gm_table(m, t);
                if ((e & (P_P | P_GNT)) != (P_P | P_GNT)) {
                    continue;
                }
                if (ms == NULL || s >= NSLOT || ms[s].kind != S_GRANT || !md->h[ms[s].h].used) {
                    die(f, "dom %u frame %u slot %u: grant PTE %#llx without a handle", d, i, s,
                        (unsigned long long)e);
                }
            }
        }
    }
}

/* ---- operations --------------------------------------------------------------------------- */

static const uint16_t doms[8] = { PVCORE_DOMID_SELF, 0, 1, 2, 2, 1, 7, PVCORE_DOMID_IO };

/* A live domain chosen by byte b, or -1. */
static int caller(struct fz *f, uint8_t b)
{
    unsigned d = b % NDOM;

    return f->md.d[d].state == ALIVE ? (int)d : -1;
}

static uint32_t ref_sel(uint8_t b)
{
    if (b < 0xF0) {
        return b % NREF;
    }
    switch (b & 3u) {
    case 0:
        return 511;
    case 1:
        return 512;
    case 2:
        return 0x80000000u;
    default:
        return 0xFFFFFFFFu;
    }
}

/* A host address for domain c: a virtual address of its L1's slots 2-15 (b < 0xC0), a
 * PTE address in one of its L1s (with contains_pte), or a hostile one. */
static uint64_t addr_sel(struct fz *f, unsigned c, uint8_t b, uint8_t b2, bool cpte)
{
    unsigned slot = 2u + b2 % 14u;

    (void)f;
    if (b < 0xC0) {
        if (!cpte) {
            return VA_BASE + (uint64_t)slot * 4096u + (b2 & 0xF0u);
        }
        switch (b % 4u) {
        case 0:
        case 1:
            return (dom_frame(c, I_L1) << 12) + slot * 8u;
        case 2:
            return (dom_frame(c, I_L1B) << 12) + (b2 % NSLOT) * 8u;
        default:
            return (dom_frame(c, I_SPARE + (b2 >> 4) % NSPARE) << 12) + (b2 % NSLOT) * 8u;
        }
    }
    switch (b % 12u) {
    case 0:
        return (dom_frame(c, I_L1) << 12) + slot * 8u + 1u + b2 % 7u; /* misaligned (XSA-227) */
    case 1:
        return (dom_frame((c + 1u) % NDOM, I_L1) << 12) + slot * 8u; /* someone else's L1 */
    case 2:
        return dom_frame(c, I_DATA + b2 % 8u) << 12; /* no L1 */
    case 3:
        return (dom_frame(c, I_ROOT) << 12) + 8u;
    case 4:
        return dom_frame(c, I_GTAB) << 12;
    case 5:
        return 0x800000ull; /* no L2 entry */
    case 6:
        return 0x8000000000000000ull;
    case 7:
        return 0xFFFF800000000000ull;
    case 8:
        return VA_BASE + (1ull << 32) + 4096u * slot; /* 32-bit: too high */
    case 9:
        return 0xFF000000ull;
    case 10:
        return (uint64_t)(FRAMES + 3u) << 12;
    default:
        return 0;
    }
}

static const uint32_t flag_sets[16] = {
    PVCORE_GNTMAP_host_map,
    PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_readonly,
    PVCORE_GNTMAP_device_map,
    PVCORE_GNTMAP_device_map | PVCORE_GNTMAP_readonly,
    PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_device_map,
    PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_device_map | PVCORE_GNTMAP_readonly,
    PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_contains_pte,
    PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_contains_pte | PVCORE_GNTMAP_readonly,
    PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_contains_pte | PVCORE_GNTMAP_device_map,
    PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_application_map,
    PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_readonly | PVCORE_GNTMAP_application_map | (5u << 16),
    PVCORE_GNTMAP_host_map | (7u << 16) | 0xFFF80000u,
    0,
    PVCORE_GNTMAP_readonly | PVCORE_GNTMAP_contains_pte,
    PVCORE_GNTMAP_host_map | PVCORE_GNTMAP_contains_pte | PVCORE_GNTMAP_application_map,
    PVCORE_GNTMAP_device_map | PVCORE_GNTMAP_contains_pte,
};

struct mapop {
    uint64_t addr;
    uint32_t flags, ref;
    uint16_t dom;
};

/* The (k mod n)-th of the n entries of live domains for c: open accept_transfer entries
 * if `accept`, else permit_access grants; false if none. */
static bool entry_for(const struct model *m, unsigned c, unsigned k, bool accept, uint16_t *dom, uint32_t *ref)
{
    uint16_t cd[NDOM * NREF];
    uint32_t cr[NDOM * NREF];
    unsigned n = 0, d, r;

    for (d = 0; d < NDOM; d++) {
        for (r = 0; r < NREF && m->d[d].state == ALIVE; r++) {
            uint16_t fl = m->d[d].eflags[r];
            bool match = accept ? fl == PVCORE_GTF_accept_transfer
                                : (fl & PVCORE_GTF_type_mask) == PVCORE_GTF_permit_access;
            if (match && m->d[d].edom[r] == c) {
                cd[n] = (uint16_t)d;
                cr[n++] = r;
            }
        }
    }
    if (n == 0) {
        return false;
    }
    *dom = cd[k % n];
    *ref = cr[k % n];
    return true;
}

/* A grant some live domain gives c (a permit_access entry for it), the (k mod n)-th of
 * the n there are; false if none. A grant of c's own is named by DOMID_SELF or its id. */
static bool granted_to(const struct model *m, unsigned c, unsigned k, uint16_t *dom, uint32_t *ref)
{
    if (!entry_for(m, c, k, false, dom, ref)) {
        return false;
    }
    if (*dom == c && (k & 1u)) {
        *dom = (uint16_t)PVCORE_DOMID_SELF;
    }
    return true;
}

static struct mapop gen_map(struct fz *f, unsigned c, const uint8_t *a)
{
    struct mapop o;

    o.flags = flag_sets[a[0] % 16u];
    o.addr = addr_sel(f, c, a[1], a[2], (o.flags & PVCORE_GNTMAP_contains_pte) != 0);
    o.ref = ref_sel(a[3]);
    o.dom = doms[a[4] % 8u];
    /* Mostly a grant that is the caller's to map. */
    if (a[4] < 0xC0) {
        (void)granted_to(&f->md, c, a[3], &o.dom, &o.ref);
    }
    return o;
}

/* n maps in one call. */
static void do_maps(struct fz *f, unsigned c, const struct mapop *o, unsigned n)
{
    unsigned i;
    int64_t rc;

    for (i = 0; i < n; i++) {
        uint8_t b[32];
        uint32_t h0 = 0xdeadbeefu;
        uint64_t d0 = 0xabababababababa0ull;
        int16_t s0 = 0x5555;
        memset(b, 0, sizeof(b));
        memcpy(b, &o[i].addr, 8);
        memcpy(b + 8, &o[i].flags, 4);
        memcpy(b + 12, &o[i].ref, 4);
        memcpy(b + 16, &o[i].dom, 2);
        memcpy(b + 18, &s0, 2);
        memcpy(b + 20, &h0, 4);
        memcpy(b + 24, &d0, 8);
        mbox_write(f, c, i * 32u, b, 32);
    }
    rc = hcall(f, c, PVCORE_GNTTABOP_map_grant_ref, n);
    if (rc != 0) {
        die(f, "map_grant_ref returned %lld", (long long)rc);
    }
    for (i = 0; i < n; i++) {
        uint8_t b[32];
        int16_t st;
        uint32_t h = 0xdeadbeefu, mh = 0xdeadbeefu;
        uint64_t dev, mdev = 0xabababababababa0ull;
        int16_t ms = gm_map(&f->md, c, o[i].addr, o[i].flags, o[i].ref, o[i].dom, &mh, &mdev);
        mbox_read(f, c, i * 32u, b, 32);
        memcpy(&st, b + 18, 2);
        memcpy(&h, b + 20, 4);
        memcpy(&dev, b + 24, 8);
        if (f->trace) {
            fprintf(stderr, "  map d%u addr %#llx flags %#x ref %u dom %u: %d h %u\n", c,
                    (unsigned long long)o[i].addr, o[i].flags, o[i].ref, o[i].dom, st, h);
        }
        if (st != ms || h != mh) {
            die(f, "map %u of %u by dom %u (addr %#llx flags %#x ref %u dom %#x): status %d handle %#x; model %d %#x",
                i, n, c, (unsigned long long)o[i].addr, o[i].flags, o[i].ref, o[i].dom, st, h, ms, mh);
        }
        if (dev != mdev) {
            die(f, "map %u by dom %u: dev_bus_addr %#llx, model %#llx", i, c, (unsigned long long)dev,
                (unsigned long long)mdev);
        }
    }
}

struct unmapop {
    uint64_t host, dev;
    uint32_t h;
};

static struct unmapop gen_unmap(struct fz *f, unsigned c, const uint8_t *a)
{
    struct unmapop o;
    const struct mhandle *h;

    o.h = a[0] < 0xF0 ? a[0] % NH : (a[0] & 1u ? NH : 0xFFFFFFFFu);
    if (a[0] < 0xC0) {
        /* Mostly a handle in use. */
        unsigned k, n = 0, seen = 0;
        for (k = 0; k < NH; k++) {
            n += f->md.d[c].h[k].used;
        }
        for (k = 0; k < NH && n != 0; k++) {
            if (f->md.d[c].h[k].used && seen++ == a[0] % n) {
                o.h = k;
                break;
            }
        }
    }
    h = o.h < NH ? &f->md.d[c].h[o.h] : NULL;
    /* Mostly the right addresses for the handle, part by part; sometimes wrong ones. */
    switch (a[1] % 8u) {
    case 0:
    case 1:
    case 2:
        o.host = h && h->used && h->host ? (h->cpte ? (h->l1 << 12) + h->slot * 8u : VA_BASE + h->slot * 4096ull)
                                         : addr_sel(f, c, a[2], a[3], false);
        break;
    case 3:
        o.host = 0;
        break;
    default:
        o.host = addr_sel(f, c, a[2], a[3], a[2] & 1u);
        break;
    }
    switch (a[4] % 6u) {
    case 0:
    case 1:
    case 2:
        o.dev = h && h->used ? h->mfn << 12 : 0x1000;
        break;
    case 3:
        o.dev = 0;
        break;
    case 4:
        o.dev = h && h->used ? (h->mfn << 12) + 4096u * (1u + a[5] % 3u) : 0;
        break;
    default:
        o.dev = (uint64_t)a[5] << 12;
        break;
    }
    return o;
}

static void do_unmaps(struct fz *f, unsigned c, const struct unmapop *o, unsigned n)
{
    unsigned i;
    int64_t rc;

    for (i = 0; i < n; i++) {
        uint8_t b[24];
        int16_t s0 = 0x5555;
        memset(b, 0, sizeof(b));
        memcpy(b, &o[i].host, 8);
        memcpy(b + 8, &o[i].dev, 8);
        memcpy(b + 16, &o[i].h, 4);
        memcpy(b + 20, &s0, 2);
        mbox_write(f, c, i * 24u, b, 24);
    }
    rc = hcall(f, c, PVCORE_GNTTABOP_unmap_grant_ref, n);
    if (rc != 0) {
        die(f, "unmap_grant_ref returned %lld", (long long)rc);
    }
    for (i = 0; i < n; i++) {
        int16_t st, ms = gm_unmap_parts(&f->md, c, o[i].h, o[i].host, o[i].dev);
        mbox_read(f, c, i * 24u + 20u, &st, 2);
        if (f->trace) {
            fprintf(stderr, "  unmap d%u h %u host %#llx dev %#llx: %d\n", c, o[i].h,
                    (unsigned long long)o[i].host, (unsigned long long)o[i].dev, st);
        }
        if (st != ms) {
            die(f, "unmap %u by dom %u (handle %#x host %#llx dev %#llx): status %d, model %d", i, c, o[i].h,
                (unsigned long long)o[i].host, (unsigned long long)o[i].dev, st, ms);
        }
    }
}

static void do_replace(struct fz *f, unsigned c, const uint8_t *a)
{
    struct unmapop u = gen_unmap(f, c, a);
    uint64_t na = (a[5] & 0xC0u) != 0xC0u ? VA_BASE + (2u + a[5] % 14u) * 4096ull : addr_sel(f, c, 0xC0u | a[5], a[3], false);
    uint8_t b[24];
    int16_t st, ms, s0 = 0x5555;

    memset(b, 0, sizeof(b));
    memcpy(b, &u.host, 8);
    memcpy(b + 8, &na, 8);
    memcpy(b + 16, &u.h, 4);
    memcpy(b + 20, &s0, 2);
    mbox_write(f, c, 0, b, 24);
    if (hcall(f, c, PVCORE_GNTTABOP_unmap_and_replace, 1) != 0) {
        die(f, "unmap_and_replace failed");
    }
    mbox_read(f, c, 20, &st, 2);
    ms = gm_replace(&f->md, c, u.host, na, u.h);
    if (f->trace) {
        fprintf(stderr, "  replace d%u h %u host %#llx new %#llx: %d\n", c, u.h, (unsigned long long)u.host,
                (unsigned long long)na, st);
    }
    if (st != ms) {
        die(f, "unmap_and_replace by dom %u (handle %#x host %#llx new %#llx): status %d, model %d", c, u.h,
            (unsigned long long)u.host, (unsigned long long)na, st, ms);
    }
}

/* A frame for a copy end or a grant entry: mostly a data frame of domain d. */
static uint64_t frame_sel(struct fz *f, unsigned d, uint8_t b)
{
    (void)f;
    if (b < 0xA0) {
        return dom_frame(d, I_DATA + b % 8u);
    }
    switch (b % 10u) {
    case 0:
        return dom_frame(d, I_SPARE + b % NSPARE);
    case 1:
        return dom_frame(d, I_L1B);
    case 2:
        return dom_frame(d, I_L1);
    case 3:
        return dom_frame(d, I_ROOT);
    case 4:
        return dom_frame(d, I_GTAB);
    case 5:
        return dom_frame(d, I_MB0);
    case 6:
        return dom_frame((d + 1u) % NDOM, I_DATA + b % 8u); /* someone else's */
    case 7:
        return 3; /* free */
    case 8:
        return FRAMES + 5u;
    default:
        return dom_frame(d, I_SPARE + (b >> 4) % NSPARE);
    }
}

static void do_copy(struct fz *f, unsigned c, const uint8_t *a, unsigned n)
{
    struct model *m = &f->md;
    bool is32 = m->d[c].is32;
    unsigned sz = is32 ? 24u : 40u, i;
    struct {
        uint64_t sid, did;
        uint16_t sdom, ddom, soff, doff, len, flags;
    } o[2];
    int64_t rc;

    for (i = 0; i < n; i++) {
        const uint8_t *x = a + i * 3u;
        uint8_t b[40];
        int16_t s0 = 0x5555;
        unsigned w = is32 ? 4u : 8u, p = is32 ? 8u : 16u;
        o[i].flags = (uint16_t)(x[0] & 3u);
        o[i].sdom = doms[(x[0] >> 2) % 8u];
        o[i].ddom = doms[(x[0] >> 5) % 8u];
        /* A frame end is mostly DOMID_SELF's (anything else is refused); a grant end
         * mostly one given to the caller. */
        if (!(o[i].flags & PVCORE_GNTCOPY_source_gref) && (x[2] & 0x60u) != 0x60u) {
            o[i].sdom = PVCORE_DOMID_SELF;
        }
        if (!(o[i].flags & PVCORE_GNTCOPY_dest_gref) && (x[2] & 0x18u) != 0x18u) {
            o[i].ddom = PVCORE_DOMID_SELF;
        }
        o[i].sid = (o[i].flags & PVCORE_GNTCOPY_source_gref) ? ref_sel(x[1])
                                                             : frame_sel(f, o[i].sdom < NDOM ? o[i].sdom : c, x[1]);
        o[i].did = (o[i].flags & PVCORE_GNTCOPY_dest_gref) ? ref_sel(x[2])
                                                           : frame_sel(f, o[i].ddom < NDOM ? o[i].ddom : c, x[2]);
        if ((o[i].flags & PVCORE_GNTCOPY_source_gref) && x[1] < 0xC0) {
            uint32_t r = (uint32_t)o[i].sid;
            (void)granted_to(m, c, x[1], &o[i].sdom, &r);
            o[i].sid = r;
        }
        if ((o[i].flags & PVCORE_GNTCOPY_dest_gref) && x[2] < 0xC0) {
            uint32_t r = (uint32_t)o[i].did;
            (void)granted_to(m, c, x[2] + 1u, &o[i].ddom, &r);
            o[i].did = r;
        }
        if ((o[i].flags & PVCORE_GNTCOPY_source_gref) && !is32 && (x[2] & 0x80u)) {
            o[i].sid |= 0xABCD00000000ull; /* garbage in the union's upper half */
        }
        switch ((x[1] >> 5) & 7u) {
        case 0:
            o[i].soff = (uint16_t)((x[1] * 37u) % 4096u);
            o[i].doff = (uint16_t)((x[2] * 53u) % 4096u);
            o[i].len = (uint16_t)((x[0] ^ x[2]) % 64u);
            break;
        case 1:
            o[i].soff = o[i].doff = 0;
            o[i].len = 4096;
            break;
        case 2: /* overlapping, within one frame, both ways */
        case 3:
            o[i].did = o[i].sid;
            o[i].ddom = o[i].sdom;
            o[i].flags = (o[i].flags & PVCORE_GNTCOPY_source_gref) ? 3u : 0u;
            o[i].soff = (uint16_t)(((x[1] >> 5) & 7u) == 2 ? 100u : 100u + (x[0] & 63u));
            o[i].doff = (uint16_t)(((x[1] >> 5) & 7u) == 2 ? 100u + (x[0] & 63u) : 100u);
            o[i].len = 1000;
            break;
        case 4: /* past the page */
            o[i].soff = (uint16_t)(4096u - (x[0] & 15u));
            o[i].doff = 0;
            o[i].len = 32;
            break;
        case 5:
            o[i].soff = o[i].doff = 4096;
            o[i].len = 0;
            break;
        case 6:
            o[i].soff = 0;
            o[i].doff = (uint16_t)(4088u + (x[0] & 15u));
            o[i].len = 8;
            break;
        default:
            o[i].soff = (uint16_t)((x[0] * 17u) % 4200u);
            o[i].doff = (uint16_t)((x[2] * 29u) % 4200u);
            o[i].len = (uint16_t)(x[0] * 11u + x[2]);
            break;
        }
        /* Only data frames are written: a destination the model keeps no bytes of gets
         * len 0 (a table's bytes, the mailbox, spare frames would change the state the
         * model predicts from), and so does a source the call itself changes meanwhile
         * (a grant table, the caller's mailbox). */
        {
            uint64_t sf = gm_end_frame(m, c, o[i].flags & PVCORE_GNTCOPY_source_gref, o[i].sid, o[i].sdom);
            uint64_t df = gm_end_frame(m, c, o[i].flags & PVCORE_GNTCOPY_dest_gref, o[i].did, o[i].ddom);
            if (gm_data(m, df) == NULL ||
                (sf >= POOL0 && sf < FRAMES && (gm_idx(sf) == I_GTAB || gm_idx(sf) == I_MB0 || gm_idx(sf) == I_MB1))) {
                o[i].len = 0;
            }
        }
        memset(b, 0, sizeof(b));
        memcpy(b, &o[i].sid, w);
        memcpy(b + w, &o[i].sdom, 2);
        memcpy(b + w + 2, &o[i].soff, 2);
        memcpy(b + p, &o[i].did, w);
        memcpy(b + p + w, &o[i].ddom, 2);
        memcpy(b + p + w + 2, &o[i].doff, 2);
        memcpy(b + 2 * p, &o[i].len, 2);
        memcpy(b + 2 * p + 2, &o[i].flags, 2);
        memcpy(b + 2 * p + 4, &s0, 2);
        mbox_write(f, c, i * sz, b, sz);
    }
    /* The sources' bytes the model does not keep, as they are now. */
    {
        static uint8_t src[2][4096];
        for (i = 0; i < n; i++) {
            uint64_t sf = gm_end_frame(m, c, o[i].flags & PVCORE_GNTCOPY_source_gref, o[i].sid, o[i].sdom);
            if (sf >= POOL0 && sf < FRAMES) {
                memcpy(src[i], fp(f, sf), 4096);
            } else {
                memset(src[i], 0, 4096);
            }
        }
        rc = hcall(f, c, PVCORE_GNTTABOP_copy, n);
        if (rc != 0) {
            die(f, "copy returned %lld", (long long)rc);
        }
        for (i = 0; i < n; i++) {
            int16_t st, ms;
            uint64_t smfn = 0;
            ms = gm_copy(m, c, o[i].sid, o[i].sdom, o[i].soff, o[i].did, o[i].ddom, o[i].doff, o[i].len, o[i].flags,
                         src[i], &smfn);
            mbox_read(f, c, i * sz + (is32 ? 20u : 36u), &st, 2);
            if (f->trace) {
                fprintf(stderr, "  copy d%u %s %#llx/%u+%u -> %s %#llx/%u+%u len %u: %d\n", c,
                        (o[i].flags & 1u) ? "gref" : "gmfn", (unsigned long long)o[i].sid, o[i].sdom, o[i].soff,
                        (o[i].flags & 2u) ? "gref" : "gmfn", (unsigned long long)o[i].did, o[i].ddom, o[i].doff,
                        o[i].len, st);
            }
            if (st != ms) {
                die(f, "copy %u by dom %u (%#llx dom %#x off %u -> %#llx dom %#x off %u, len %u flags %u): status %d, "
                    "model %d", i, c, (unsigned long long)o[i].sid, o[i].sdom, o[i].soff, (unsigned long long)o[i].did,
                    o[i].ddom, o[i].doff, o[i].len, o[i].flags, st, ms);
            }
        }
    }
}

/* The granter (domain d) writes entry ref, as a guest does: frame and domid, then flags. */
static void do_grant(struct fz *f, unsigned d, const uint8_t *a)
{
    static const uint16_t fsets[8] = {
        PVCORE_GTF_permit_access, PVCORE_GTF_permit_access, PVCORE_GTF_permit_access | PVCORE_GTF_readonly,
        0, PVCORE_GTF_permit_access | PVCORE_GTF_reading | PVCORE_GTF_writing, PVCORE_GTF_accept_transfer,
        PVCORE_GTF_transitive, PVCORE_GTF_permit_access | PVCORE_GTF_PWT | PVCORE_GTF_sub_page,
    };
    struct mdom *md = &f->md.d[d];
    uint32_t ref = a[0] % NREF;
    uint8_t *e = fp(f, dom_frame(d, I_GTAB)) + ref * 8u;
    uint16_t fl = (a[1] & 0xF0u) == 0xF0u ? (uint16_t)(a[1] | a[2] << 8) : fsets[a[1] % 8u];
    uint16_t dom = a[3] < 0xF0 ? (uint16_t)(a[3] % NDOM) : (uint16_t)(a[3] == 0xFF ? PVCORE_DOMID_SELF : 7u);
    uint32_t frame = (uint32_t)frame_sel(f, d, a[4]);
    unsigned what = a[5] % 4u; /* 0: all of it; 1: flags only; 2: frame only; 3: domid only */

    if (what == 0 || what == 3) {
        memcpy(e + 2, &dom, 2);
        md->edom[ref] = dom;
    }
    if (what == 0 || what == 2) {
        memcpy(e + 4, &frame, 4);
        md->eframe[ref] = frame;
    }
    if (what == 0 || what == 1) {
        memcpy(e, &fl, 2);
        md->eflags[ref] = fl;
    }
    if (f->trace) {
        fprintf(stderr, "  dom %u entry %u: flags %#x dom %u frame %#x\n", d, ref, md->eflags[ref], md->edom[ref],
                md->eframe[ref]);
    }
}

/* An mmu_update (or update_va_mapping) of an L1 entry: the grant PTEs are the guest's
 * only through the grant interface. */
static void do_mmu(struct fz *f, unsigned d, const uint8_t *a, bool uvm)
{
    struct model *m = &f->md;
    bool l1b = !uvm && (a[0] & 1u);
    uint64_t t = dom_frame(d, l1b ? I_L1B : I_L1);
    unsigned slot = l1b ? a[1] % NSLOT : 2u + a[1] % 14u;
    struct mslot *s = &gm_table(m, t)[slot];
    uint64_t cur = fe(f, t)[slot], val, mfn = 0;
    bool live = gm_live_l1(m, d, t), expect_ok, rw = false, ord = false;
    int rc;

    switch (a[2] % (l1b ? 5u : 9u)) {
    case 0:
        val = 0;
        break;
    case 1:
        val = cur ^ P_RW;
        break;
    case 2:
        val = cur & ~P_GNT;
        break;
    case 3:
        val = (dom_frame(d, I_DATA + a[3] % 8u) << 12) | P_P | P_RW | P_US | P_GNT; /* forged */
        break;
    case 4:
        val = cur | P_NX;
        break;
    case 5:
        mfn = dom_frame(d, I_DATA + a[3] % 8u);
        val = (mfn << 12) | P_P | P_RW | P_US;
        ord = rw = true;
        break;
    case 6:
        mfn = dom_frame(d, I_DATA + a[3] % 8u);
        val = (mfn << 12) | P_P | P_US;
        ord = true;
        break;
    case 7:
        mfn = dom_frame(d, I_SPARE + a[3] % NSPARE);
        val = (mfn << 12) | P_P | P_US | ((a[3] & 0x80u) ? P_RW : 0u);
        ord = true;
        rw = (val & P_RW) != 0;
        break;
    default:
        mfn = dom_frame((d + 1u) % NDOM, I_DATA + a[3] % 8u);
        val = (mfn << 12) | P_P | P_RW | P_US; /* another domain's frame */
        ord = rw = true;
        break;
    }
    if (!live) {
        /* No page table (the second L1 unpinned): mmu_update is a plain write, as on Xen;
         * only zeros here, so that the frame's contents stay what the model predicts a
         * pin from. */
        val = 0;
    }
    /* Refused: a grant PTE (changed or cleared), a mark written by the guest, another
     * domain's frame, a writable entry to a page table; and any write to a frame that is
     * not the caller's (its second L1 given away). */
    if (!live) {
        expect_ok = gm_owner(m, t) == (int)d;
    } else if (s->kind == S_GRANT || (val & (P_P | P_GNT)) == (P_P | P_GNT)) {
        expect_ok = false;
    } else if (!(val & P_P)) {
        expect_ok = true;
    } else if (!ord) {
        /* A toggle of an ordinary entry: RW or NX flipped, or the same. */
        if (s->kind != S_ORD) {
            expect_ok = true; /* (a present value only comes from an ordinary entry) */
        } else {
            expect_ok = !(val & P_RW) || !gm_is_table(m, s->mfn);
        }
        mfn = s->mfn;
        rw = (val & P_RW) != 0;
        ord = true;
    } else {
        expect_ok = gm_owner(m, mfn) == (int)d && !(rw && gm_is_table(m, mfn));
    }
    if (uvm) {
        rc = pvcore_update_va_mapping(pvcore_domain_vcpu(f->dom[d], 0), VA_BASE + slot * 4096ull, val,
                                      PVCORE_UVMF_INVLPG, PVCORE_DOMID_SELF);
    } else {
        pvcore_mmu_update_t u;
        uint32_t done = 0;
        u.ptr = (t << 12) | slot * 8u;
        u.val = val;
        do {
            rc = pvcore_mmu_update(pvcore_domain_vcpu(f->dom[d], 0), &u, 1, &done, PVCORE_DOMID_SELF);
        } while (rc == -PVCORE_ERESTART);
    }
    if (f->trace) {
        fprintf(stderr, "  %s d%u %s slot %u %#llx -> %#llx: %d\n", uvm ? "uvm" : "mmu", d, l1b ? "l1b" : "l1",
                slot, (unsigned long long)cur, (unsigned long long)val, rc);
    }
    if ((rc == 0) != expect_ok) {
        die(f, "%s of dom %u %s slot %u (%#llx -> %#llx, kind %u): %d, model %s", uvm ? "update_va_mapping"
            : "mmu_update", d, l1b ? "l1b" : "l1", slot, (unsigned long long)cur, (unsigned long long)val, s->kind,
            rc, expect_ok ? "ok" : "refused");
    }
    if (live && s->kind == S_GRANT && rc != -PVCORE_EINVAL) {
        die(f, "a grant PTE's update by %s: %d, not -EINVAL", uvm ? "update_va_mapping" : "mmu_update", rc);
    }
    if (rc != 0 && fe(f, t)[slot] != cur) {
        die(f, "a refused %s changed the entry", uvm ? "update_va_mapping" : "mmu_update");
    }
    if (rc == 0) {
        gm_drop_slot(s);
        if (val & P_P) {
            s->kind = S_ORD;
            s->mfn = mfn;
            s->rw = rw;
        }
        s->val = fe(f, t)[slot]; /* (as the library adjusted it: checked by the invariants) */
        if ((s->val & P_P) && (s->val >> 12 & 0xFFFFFFFFFFull) != mfn) {
            die(f, "mmu_update wrote another frame");
        }
    }
}

/* Pin, unpin or scrub (when it is no table) the second L1 or a spare frame of d. */
static void do_pin(struct fz *f, unsigned d, const uint8_t *a)
{
    struct model *m = &f->md;
    struct mdom *md = &m->d[d];
    bool spare = a[0] & 1u;
    unsigned k = a[1] % NSPARE;
    uint64_t mfn = spare ? dom_frame(d, I_SPARE + k) : dom_frame(d, I_L1B);
    bool *pinned = spare ? &md->spare_pinned[k] : &md->l1b_pinned;
    struct mslot *ms = gm_table(m, mfn);
    unsigned what = a[2] % 3u, s;
    int rc;

    if (what == 2) {
        /* The guest clears the frame through some writable mapping of it: only when it is
         * no page table, and its own. */
        if (!*pinned && gm_owner(m, mfn) == (int)d) {
            memset(fp(f, mfn), 0, 4096);
            for (s = 0; s < NSLOT; s++) {
                gm_drop_slot(&ms[s]); /* (a handle whose PTE this was keeps its references) */
            }
        }
        return;
    }
    if (what == 0) {
        bool want = gm_owner(m, mfn) == (int)d && gm_can_pin(m, mfn, fe(f, mfn));
        rc = ext1(f, d, PVCORE_MMUEXT_PIN_L1_TABLE, mfn);
        if ((rc == 0) != want) {
            die(f, "pin of dom %u %s %u: %d, model %s", d, spare ? "spare" : "l1b", k, rc, want ? "ok" : "refused");
        }
        if (rc == 0) {
            *pinned = true;
            for (s = 0; s < NSLOT; s++) {
                ms[s].val = fe(f, mfn)[s];
            }
        }
    } else {
        rc = ext1(f, d, PVCORE_MMUEXT_UNPIN_TABLE, mfn);
        if ((rc == 0) != *pinned) {
            die(f, "unpin of dom %u %s %u: %d, model %s", d, spare ? "spare" : "l1b", k, rc,
                *pinned ? "ok" : "refused");
        }
        *pinned = false;
    }
    if (f->trace) {
        fprintf(stderr, "  %s d%u %s %u: %d\n", what == 0 ? "pin" : "unpin", d, spare ? "spare" : "l1b", k, rc);
    }
}

/* The receiver (domain d) writes an accept_transfer entry: the gfn (frame field) and the
 * giver's domid, then the flags; or one of them alone. Mostly exactly an open one. */
static void do_accept(struct fz *f, unsigned d, const uint8_t *a)
{
    static const uint16_t fsets[8] = {
        PVCORE_GTF_accept_transfer, PVCORE_GTF_accept_transfer, PVCORE_GTF_accept_transfer,
        PVCORE_GTF_accept_transfer, PVCORE_GTF_accept_transfer | PVCORE_GTF_PWT, /* (readonly is committed) */
        PVCORE_GTF_accept_transfer | PVCORE_GTF_transfer_committed,
        PVCORE_GTF_accept_transfer | PVCORE_GTF_transfer_committed | PVCORE_GTF_transfer_completed,
        PVCORE_GTF_permit_access,
    };
    struct mdom *md = &f->md.d[d];
    uint32_t ref = a[1] % NREF;
    uint8_t *e = fp(f, dom_frame(d, I_GTAB)) + ref * 8u;
    uint16_t fl = fsets[a[2] % 8u];
    /* The giver: another domain, or itself (a[3] % 3 == 2); or none that is one. */
    uint16_t dom = a[3] < 0xC0 ? (uint16_t)((d + 1u + a[3] % NDOM) % NDOM)
                               : (uint16_t)(a[3] & 1u ? 7u : PVCORE_DOMID_SELF);
    /* The gfn: a free one of the P2M, one in use, or one beyond it. */
    uint32_t gfn = a[4] < 0x80 ? PER_DOM + a[4] % (P2M_N - PER_DOM) : a[4] < 0xC0 ? a[4] % PER_DOM : 0xFFFFFF00u | a[4];
    unsigned what = a[5] % 4u; /* 0, 1: all of it; 2: flags only; 3: the gfn only */

    if (what <= 1) {
        memcpy(e + 2, &dom, 2);
        md->edom[ref] = dom;
    }
    if (what != 2) {
        memcpy(e + 4, &gfn, 4);
        md->eframe[ref] = gfn;
    }
    if (what <= 2) {
        memcpy(e, &fl, 2);
        md->eflags[ref] = fl;
    }
    if (f->trace) {
        fprintf(stderr, "  dom %u entry %u: flags %#x dom %u frame %#x\n", d, ref, md->eflags[ref], md->edom[ref],
                md->eframe[ref]);
    }
}

/* The (k mod n)-th of the n frames domain c could give away now; false if none. */
static bool stealable(const struct model *m, unsigned c, unsigned k, uint64_t *mfn)
{
    uint64_t x, cand[FRAMES];
    unsigned n = 0;

    for (x = POOL0; x < FRAMES; x++) {
        if (gm_can_steal(m, c, x)) {
            cand[n++] = x;
        }
    }
    if (n == 0) {
        return false;
    }
    *mfn = cand[k % n];
    return true;
}

/* The frame op i of a transfer gives: mostly one the caller can give (fb < 0xC0), or a
 * table, the grant table, a free frame, one mapped, pinned or someone else's, beyond
 * memory, with high bits set (a 32-bit caller's field drops them). (fb % 8: 0, 1 as
 * frame_sel(); 2 a data frame of the caller's layout, (fb >> 3) % 8; 3 its second L1;
 * 4 a spare frame with bit 32 set; 5 all ones; 6 one another domain could give; 7 the
 * first frame beyond memory.) */
static uint64_t xfer_frame(struct fz *f, unsigned c, uint8_t fb)
{
    const struct model *m = &f->md;
    uint64_t x;

    if (fb < 0xC0) {
        return stealable(m, c, fb, &x) ? x : frame_sel(f, c, fb);
    }
    switch (fb % 8u) {
    case 0:
    case 1:
        return frame_sel(f, c, fb);
    case 2:
        return dom_frame(c, I_DATA + (fb >> 3) % 8u);
    case 3:
        return dom_frame(c, I_L1B);
    case 4:
        return (1ull << 32) | dom_frame(c, I_SPARE + fb % NSPARE);
    case 5:
        return ~0ull;
    case 6:
        return stealable(m, (c + 1u + fb % 2u) % NDOM, fb, &x) ? x : dom_frame(c, I_DATA); /* not the caller's */
    default:
        return FRAMES;
    }
}

/* GNTTABOP_transfer by domain c: 1-3 ops in one call, in the caller's layout; the model
 * runs them in order after the call (each op's frame and receiver were chosen from the
 * model before it, so that a batch gives one frame twice, or two frames to one entry). */
static void do_transfer(struct fz *f, unsigned c, const uint8_t *a)
{
    struct model *m = &f->md;
    bool is32 = m->d[c].is32;
    unsigned n = 1u + (unsigned)(a[0] >> 2) % 3u, sz = is32 ? 16u : 24u, i;
    const uint8_t fbs[3] = { a[1], a[4], a[5] };
    struct {
        uint64_t mfn;
        uint16_t dom;
        uint32_t ref;
    } o[3];
    int64_t rc;

    for (i = 0; i < n; i++) {
        uint8_t tb = (uint8_t)(a[2] + i), rb = (uint8_t)(a[3] + i);
        uint8_t b[24];
        int16_t s0 = 0x5555;
        o[i].mfn = xfer_frame(f, c, fbs[i]);
        if (is32) {
            o[i].mfn &= 0xFFFFFFFFu;
        }
        if (tb >= 0xC0 || !entry_for(m, c, tb, true, &o[i].dom, &o[i].ref)) {
            o[i].dom = doms[tb % 8u];
            o[i].ref = ref_sel(rb);
        }
        memset(b, 0, sizeof(b));
        if (is32) {
            uint32_t x = (uint32_t)o[i].mfn;
            memcpy(b, &x, 4);
            memcpy(b + 4, &o[i].dom, 2);
            memcpy(b + 8, &o[i].ref, 4);
            memcpy(b + 12, &s0, 2);
        } else {
            memcpy(b, &o[i].mfn, 8);
            memcpy(b + 8, &o[i].dom, 2);
            memcpy(b + 12, &o[i].ref, 4);
            memcpy(b + 16, &s0, 2);
        }
        mbox_write(f, c, i * sz, b, sz);
    }
    rc = hcall(f, c, PVCORE_GNTTABOP_transfer, n);
    if (rc != 0) {
        die(f, "transfer returned %lld", (long long)rc);
    }
    for (i = 0; i < n; i++) {
        uint8_t b[24];
        int16_t st, ms = gm_transfer(m, c, o[i].mfn, o[i].dom, o[i].ref);
        uint64_t mfn = 0;
        uint16_t dom;
        uint32_t ref;
        mbox_read(f, c, i * sz, b, sz);
        memcpy(&mfn, b, is32 ? 4u : 8u);
        memcpy(&dom, b + (is32 ? 4u : 8u), 2);
        memcpy(&ref, b + (is32 ? 8u : 12u), 4);
        memcpy(&st, b + (is32 ? 12u : 16u), 2);
        if (f->trace) {
            fprintf(stderr, "  transfer d%u mfn %#llx to dom %#x ref %#x: %d\n", c, (unsigned long long)o[i].mfn,
                    o[i].dom, o[i].ref, st);
        }
        if (mfn != o[i].mfn || dom != o[i].dom || ref != o[i].ref) {
            die(f, "transfer %u of %u by dom %u: its inputs were rewritten", i, n, c);
        }
        if (st != ms) {
            die(f, "transfer %u of %u by dom %u (mfn %#llx to dom %#x ref %#x): status %d, model %d", i, n, c,
                (unsigned long long)o[i].mfn, o[i].dom, o[i].ref, st, ms);
        }
    }
}

static void do_destroy(struct fz *f, unsigned d)
{
    struct model *m = &f->md;
    struct mdom *md = &m->d[d];
    int rc, want;
    unsigned n = 0;

    if (md->state == GONE) {
        return;
    }
    if (md->state == ALIVE) {
        gm_destroy_begin(m, d);
    }
    want = gm_frames_held(m, d) ? -PVCORE_EBUSY : 0;
    while ((rc = pvcore_domain_destroy(f->dom[d])) == -PVCORE_ERESTART) {
        if (++n > 100000u) {
            die(f, "destroy makes no progress");
        }
    }
    if (f->trace) {
        fprintf(stderr, "  destroy d%u: %d\n", d, rc);
    }
    if (rc != want) {
        die(f, "destroy of dom %u: %d, model %d", d, rc, want);
    }
    if (rc == 0) {
        md->state = GONE;
    }
}

static void op(struct fz *f, const uint8_t *r)
{
    int c = caller(f, r[1]);
    const uint8_t *a = r + 2;
    unsigned n, i;

    if (c < 0) {
        return;
    }
    switch (r[0] % 12u) {
    case 0:
    case 1: {
        struct mapop o[4];
        f->opname = "map";
        n = r[0] % 12u == 0 ? 1u : 1u + (a[5] % 4u);
        for (i = 0; i < n; i++) {
            uint8_t x[5] = { (uint8_t)(a[0] + i * 5u), (uint8_t)(a[1] + i * 3u), (uint8_t)(a[2] + i), a[3],
                             (uint8_t)(a[4] + i) };
            o[i] = gen_map(f, (unsigned)c, i == 0 ? a : x);
        }
        do_maps(f, (unsigned)c, o, n);
        break;
    }
    case 2:
    case 3: {
        struct unmapop o[3];
        f->opname = "unmap";
        n = r[0] % 12u == 2 ? 1u : 1u + (a[5] % 3u);
        for (i = 0; i < n; i++) {
            uint8_t x[6] = { (uint8_t)(a[0] + i), a[1], a[2], a[3], a[4], a[5] };
            o[i] = gen_unmap(f, (unsigned)c, x);
            /* (later ops of a batch see the model as it was before the batch: the model
             * runs them in order after the call) */
        }
        do_unmaps(f, (unsigned)c, o, n);
        break;
    }
    case 4:
        f->opname = "unmap_and_replace";
        do_replace(f, (unsigned)c, a);
        break;
    case 5:
    case 6:
        f->opname = "copy";
        do_copy(f, (unsigned)c, a, r[0] % 12u == 6 ? 2u : 1u);
        break;
    case 7:
        f->opname = "grant";
        do_grant(f, (unsigned)c, a);
        break;
    case 8:
        f->opname = "mmu_update";
        do_mmu(f, (unsigned)c, a, false);
        break;
    case 9:
        f->opname = "update_va_mapping";
        do_mmu(f, (unsigned)c, a, true);
        break;
    case 10:
        f->opname = "pin";
        do_pin(f, (unsigned)c, a);
        break;
    default:
        f->opname = "destroy";
        if (a[0] % 4u == 0 && c != 0) {
            do_destroy(f, (unsigned)c);
        } else if (a[0] % 4u == 1) {
            /* Repeat a destruction that is waiting. */
            unsigned d;
            for (d = 1; d < NDOM; d++) {
                if (f->md.d[d].state == DYING) {
                    do_destroy(f, d);
                }
            }
        } else if (a[0] % 4u == 2) {
            f->opname = "transfer";
            do_transfer(f, (unsigned)c, a);
        } else {
            f->opname = "accept";
            do_accept(f, (unsigned)c, a);
        }
        break;
    }
    check_all(f);
}

static void teardown(struct fz *f)
{
    unsigned d;

    pvcore_host_backend_destroy(f->hb);
    for (d = 0; d < NDOM; d++) {
        free(f->mem[d]);
        free(f->state[d]);
    }
    free(f->scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz f;
    size_t i;

    if (size < 2) {
        return 0;
    }
    setup(&f, data);
    f.trace = getenv("FUZZ_GRANT_TRACE") != NULL;
    check_all(&f);
    for (i = 2; i + RECORD <= size && i < 2 + MAX_OPS * RECORD; i += RECORD) {
        f.opno = (unsigned)((i - 2) / RECORD);
        op(&f, data + i);
    }
    f.opname = "end";
    /* Every domain goes, the mapper side first: then every frame of theirs is free. */
    {
        unsigned d;
        for (d = 1; d < NDOM; d++) {
            do_destroy(&f, d);
        }
        for (d = 1; d < NDOM; d++) {
            do_destroy(&f, d);
        }
        check_all(&f);
    }
    teardown(&f);
    return 0;
}
