/*
 * Fuzz target: event channels (2-level and FIFO ABIs) against an independent model
 * (evtchn_model.c).
 *
 * A fresh machine per input with three domains: 0 privileged 64-bit (3 vCPUs), 1 64-bit
 * (4 vCPUs), 2 32-bit PAE (2 vCPUs), each with a shared-info page, a port table sized by
 * the input and a mailbox in its address space (a read-write page followed by a read-only
 * one). Operations: every EVTCHNOP issued from a chosen vCPU through
 * pvcore_cpu_hypercall() (the argument in the mailbox, straddling into the read-only page,
 * on the read-only page, or unmapped), bind_pirq and unknown commands; the FIFO ABI's
 * init_control (any vCPU; the control block in one of the domain's data frames, the
 * shared-info one included, in a page table, in another domain's frame or in no frame;
 * good and bad offsets), expand_array (the same frame choices, the same frame more than
 * once) and set_priority; the embedder's pvcore_domain_evtchn_alloc_unbound() and
 * pvcore_evtchn_raise_virq(); the guest's own writes to its pending and mask bits, to its
 * vcpu_info (upcall_pending, upcall_mask, the selector), to its event words (set or clear
 * MASKED, clear or set PENDING, unlink, garbage in LINK, BUSY or the whole word) and to
 * its control blocks (garbage in ready, the heads and the padding); a guest-side drain of
 * one vCPU's queues as a guest kernel consumes them (whole, or stopped after a few events,
 * handled events cleared or masked), run on the library's memory and on the model's and
 * compared event by event; forced preemption around any operation (reset is then
 * restarted, and may be left half done for a later operation to continue); destruction of
 * a domain, whole or one preempted step at a time.
 *
 * Checked after every operation: the result code and every written-back byte against the
 * model; the status of the ports of every domain as EVTCHNOP_status reports it (all 24
 * bytes written back, the untouched ones included; every port after every 16th operation
 * and at the start and end, see check_all()); the whole shared-info page (pending,
 * mask, every vcpu_info, and nothing else written) and every other data frame the FIFO
 * ABI may use (each event word of the array pages, each control block's ready and heads,
 * and nothing else written); the FIFO references on every data frame (count and
 * type_count, against the model's holds); pvcore_evtchn_nr_ports();
 * pvcore_vcpu_upcall_pending(); the number of evtchn_kick calls; which domains the table
 * holds; the invariants (which know the FIFO frames). At the end:
 * every domain destroyed, every frame free. Any disagreement aborts with a message.
 *
 * Input: 3 bytes (the port-table size of each domain, see table_ports()), then records of
 * 8 bytes: kind, selector (bits 0-1 domain, 2-4 vCPU, 5-6 argument placement, 7 forced
 * preemption), 6 argument bytes.
 *
 * Not covered: the BUSY retries of a link racing the guest (the operations run one at a
 * time, so the hypervisor's first compare-and-exchange always succeeds), and FIFO frames in
 * the mailbox pages (the arguments live there). FUZZ_EVTCHN_TRACE in the environment
 * prints each operation and its result, and each drain's events.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/pvcore.h>
#include <pvcore/cpu.h>
#include <pvcore/evtchn.h>
#include <pvcore/host_backend.h>

#include "evtchn_model.h"

#define NDOM EM_NDOM
#define POOL0 16u
#define PER_DOM 16u
#define FRAMES (POOL0 + NDOM * PER_DOM)
#define MBOX_VA 0x400000ull   /* pool 4: read-write; pool 5: read-only, at MBOX_VA + 4096 */
#define UNMAPPED_VA 0x800000ull
#define SHARED_IDX EM_SHARED
#define FIRST_DATA 6u /* frames 0-3: page tables, 4-5: the mailbox, 6-15: data (8: shared info) */
#define DRAIN_MAX 4096u
#define RIP 0x1000u
#define RECORD 8u
#define MAX_RESTARTS 4096u
#define STEP 64u /* ports a preempted reset or destruction closes per call (see below) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t nvcpus[NDOM] = { 3, 4, 2 };

struct fz {
    struct pvcore_host_backend *hb;
    struct pvcore_machine *m;
    struct pvcore_domain *dom[NDOM];
    void *mem[NDOM];
    void *table[NDOM];
    int destroyed[NDOM]; /* pvcore_domain_destroy() returned 0 */
    uint32_t hwm[NDOM];  /* highest port the model ever allocated */
    void *scratch;
    size_t scratch_len;
    uint64_t kicks0;
    uint32_t base_count[NDOM][PER_DOM]; /* each frame's references after setup */
    uint32_t base_type[NDOM][PER_DOM];
    uint32_t lhead[NDOM][EM_MAX_VCPUS][EM_FIFO_QUEUES]; /* the drain's own heads (guest state) */
    struct em em;
    unsigned opno;
    const char *opname;
    int trace; /* FUZZ_EVTCHN_TRACE set: each operation and its result on stderr */
};

static void die(struct fz *f, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void die(struct fz *f, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "fuzz_evtchn: op #%u (%s): ", f->opno, f->opname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static uint64_t dom_frame(unsigned d, unsigned idx)
{
    return POOL0 + d * PER_DOM + idx;
}

static uint8_t *fp(struct fz *f, uint64_t mfn)
{
    return (uint8_t *)pvcore_host_backend_frame(f->hb, pvcore_mfn(mfn));
}

static uint64_t pte(uint64_t mfn, uint64_t flags)
{
    return mfn << 12 | flags;
}

static void put_pte(struct fz *f, uint64_t table, unsigned slot, uint64_t e)
{
    memcpy(fp(f, table) + slot * 8u, &e, 8);
}

/* ---- the machine ------------------------------------------------------------------------ */

/* The port count a table-size byte asks for (0: no table). */
static uint32_t table_ports(uint8_t b)
{
    if (b == 0xFF) {
        return 0;
    }
    if (b == 0xFE) {
        return 4096; /* the 2-level limit of a 64-bit guest; a 32-bit one uses 1024 */
    }
    return 2u + b % 80u;
}

static void build_tree(struct fz *f, unsigned d)
{
    uint64_t root = dom_frame(d, 0), l1 = dom_frame(d, 3);
    uint32_t v;

    if (d == 2) { /* PAE: L3 slot 0 -> L2 (slot 2 -> l1); slot 3: the hypervisor's L2 */
        put_pte(f, root, 0, pte(dom_frame(d, 1), 0x1));
        put_pte(f, root, 3, pte(dom_frame(d, 2), 0x1));
        put_pte(f, dom_frame(d, 1), 2, pte(l1, 0x7));
    } else {
        put_pte(f, root, 0, pte(dom_frame(d, 1), 0x7));
        put_pte(f, dom_frame(d, 1), 0, pte(dom_frame(d, 2), 0x7));
        put_pte(f, dom_frame(d, 2), 2, pte(l1, 0x7));
    }
    put_pte(f, l1, 0, pte(dom_frame(d, 4), 0x7));
    put_pte(f, l1, 1, pte(dom_frame(d, 5), 0x5)); /* read-only */
    for (v = 0; v < nvcpus[d]; v++) {
        struct pvcore_mmuext_req op;
        int rc;

        memset(&op, 0, sizeof(op));
        op.cmd = PVCORE_MMUEXT_NEW_BASEPTR;
        op.arg1 = root;
        do {
            rc = pvcore_mmuext_op(pvcore_domain_vcpu(f->dom[d], v), &op, 1, NULL, PVCORE_DOMID_SELF);
        } while (rc == -PVCORE_ERESTART);
        if (rc != 0) {
            die(f, "building the address space of dom %u: %d", d, rc);
        }
    }
}

static void setup(struct fz *f, const uint8_t hdr[3])
{
    unsigned d, i;
    struct pvcore_host_stats st;

    memset(f, 0, sizeof(*f));
    f->opname = "setup";
    if (pvcore_host_backend_create(FRAMES, 4, 0, 0, &f->hb) != 0) {
        abort();
    }
    f->m = pvcore_host_backend_machine(f->hb);
    f->scratch_len = pvcore_check_scratch_size(f->m);
    f->scratch = malloc(f->scratch_len);
    if (f->scratch == NULL) {
        abort();
    }
    em_init(&f->em);
    for (d = 0; d < NDOM; d++) {
        struct pvcore_domain_config cfg;
        size_t sz = pvcore_domain_size(nvcpus[d]);
        uint32_t n = table_ports(hdr[d]);

        memset(&cfg, 0, sizeof(cfg));
        cfg.domid = (uint16_t)d;
        cfg.nr_vcpus = nvcpus[d];
        cfg.flags = d == 0 ? PVCORE_DOMAIN_PRIVILEGED : (d == 2 ? PVCORE_DOMAIN_GUEST_32 : 0u);
        cfg.max_pages = PER_DOM;
        f->mem[d] = aligned_alloc(64, (sz + 63u) & ~(size_t)63u);
        if (f->mem[d] == NULL || pvcore_domain_create(f->m, f->mem[d], sz, &cfg, &f->dom[d]) != 0) {
            abort();
        }
        for (i = 0; i < PER_DOM; i++) {
            if (pvcore_domain_assign(f->dom[d], pvcore_mfn(dom_frame(d, i)), pvcore_gfn(i)) != 0) {
                abort();
            }
        }
        build_tree(f, d);
        if (pvcore_domain_set_shared_info(f->dom[d], pvcore_mfn(dom_frame(d, SHARED_IDX))) != 0) {
            abort();
        }
        if (n != 0) {
            size_t tsz = pvcore_evtchn_table_size(n);
            f->table[d] = aligned_alloc(8, (tsz + 7u) & ~(size_t)7u);
            if (tsz == 0 || f->table[d] == NULL ||
                pvcore_domain_set_evtchn_table(f->dom[d], f->table[d], tsz) != 0) {
                abort();
            }
        }
        em_domain(&f->em, d, d == 0, d == 2, nvcpus[d], n, dom_frame(d, 0), 0xFu);
        if (pvcore_evtchn_nr_ports(f->dom[d]) != f->em.d[d].nports) {
            die(f, "dom %u: %u ports, model %u", d, pvcore_evtchn_nr_ports(f->dom[d]),
                f->em.d[d].nports);
        }
    }
    for (d = 0; d < NDOM; d++) {
        for (i = 0; i < PER_DOM; i++) {
            struct pvcore_frame_info fi;

            if (pvcore_frame_query(f->m, pvcore_mfn(dom_frame(d, i)), &fi) != 0) {
                abort();
            }
            f->base_count[d][i] = fi.count;
            f->base_type[d][i] = fi.type_count;
        }
    }
    pvcore_host_backend_stats(f->hb, &st);
    f->kicks0 = st.evtchn_kicks;
}

/* ---- guest memory: the mailbox ------------------------------------------------------------ */

/* Byte `off` of the mailbox (0 .. 8191) of domain d. */
static uint8_t *mbox(struct fz *f, unsigned d, uint32_t off)
{
    return fp(f, dom_frame(d, 4u + off / 4096u)) + off % 4096u;
}

static void mbox_write(struct fz *f, unsigned d, uint32_t off, const uint8_t *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        *mbox(f, d, off + (uint32_t)i) = b[i];
    }
}

static void mbox_read(struct fz *f, unsigned d, uint32_t off, uint8_t *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        b[i] = *mbox(f, d, off + (uint32_t)i);
    }
}

/* Where an argument goes: 0 the read-write page, 1 straddling into the read-only one,
 * 2 unmapped, 3 the read-only page. */
enum { AT_RW, AT_STRADDLE, AT_UNMAPPED, AT_RO };

static uint32_t place_off(int place)
{
    switch (place) {
    case AT_RW:
        return 0x100;
    case AT_STRADDLE:
        return 4096u - 4u;
    default:
        return 4096u + 0x200;
    }
}

/* One event_channel_op(cmd, arg) by vCPU v of domain d, as the guest executes it.
 * *restarted: the call was rewound for a continuation. */
static int64_t hcall(struct fz *f, unsigned d, uint32_t v, uint64_t cmd_reg, uint64_t va, int *restarted)
{
    struct pvcore_cpu_regs r;
    struct pvcore_hypercall_regs h;
    int rc;

    memset(&r, 0, sizeof(r));
    r.rip = RIP;
    r.rax = PVCORE_HYPERVISOR_event_channel_op;
    if (d == 2) {
        r.cs = PVCORE_FLAT_RING1_CS_X86_32;
        r.rbx = cmd_reg;
        r.rcx = va;
    } else {
        r.cs = PVCORE_FLAT_RING3_CS64_X86_64;
        r.rdi = cmd_reg;
        r.rsi = va;
    }
    rc = pvcore_cpu_hypercall(pvcore_domain_vcpu(f->dom[d], v), &r, &h);
    if (rc != PVCORE_CPU_RESUME) {
        die(f, "pvcore_cpu_hypercall returned %d", rc);
    }
    *restarted = r.rip == RIP - 2u;
    if (!*restarted && r.rip != RIP) {
        die(f, "rip moved to %#llx", (unsigned long long)r.rip);
    }
    return d == 2 ? (int64_t)(int32_t)(uint32_t)r.rax : (int64_t)r.rax;
}

/* ---- the state check ----------------------------------------------------------------------- */

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void status_pattern(uint8_t b[24], uint16_t dom, uint32_t port, uint8_t fill)
{
    unsigned i;

    for (i = 0; i < 24; i++) {
        b[i] = (uint8_t)(fill + i * 37u);
    }
    b[0] = (uint8_t)dom;
    b[1] = (uint8_t)(dom >> 8);
    b[4] = (uint8_t)port;
    b[5] = (uint8_t)(port >> 8);
    b[6] = (uint8_t)(port >> 16);
    b[7] = (uint8_t)(port >> 24);
}

static void dump_status(char *s, size_t n, const uint8_t b[24])
{
    snprintf(s, n, "status %u vcpu %u u.dom %u u.port/virq %u (u[0..3] %u)", le32(b + 8), le32(b + 12),
             (unsigned)(b[16] | b[17] << 8), le32(b + 20), le32(b + 16));
}

/* Status of port `port` of domain t, asked by domain `by` (vCPU v), against the model. */
static void check_status(struct fz *f, unsigned by, uint32_t v, unsigned t, uint32_t port)
{
    uint8_t in[24], lib[24], model[24];
    uint16_t dom = by == t ? (uint16_t)EM_DOMID_SELF : (uint16_t)t;
    int restarted;
    int64_t rc;
    int mrc;

    status_pattern(in, dom, port, (uint8_t)(port * 7u + t));
    memcpy(model, in, 24);
    mrc = em_status(&f->em, by, model);
    if (mrc != 0) {
        memcpy(model, in, 24);
    }
    mbox_write(f, by, place_off(AT_RW), in, 24);
    rc = hcall(f, by, v, PVCORE_EVTCHNOP_status, MBOX_VA + place_off(AT_RW), &restarted);
    mbox_read(f, by, place_off(AT_RW), lib, 24);
    if (restarted || rc != mrc) {
        die(f, "status of dom %u port %u by dom %u: rc %lld, model %d", t, port, by, (long long)rc, mrc);
    }
    if (memcmp(lib, model, 24) != 0) {
        char a[128], b[128];
        unsigned i;
        for (i = 0; i < 24 && lib[i] == model[i]; i++) {
        }
        dump_status(a, sizeof(a), lib);
        dump_status(b, sizeof(b), model);
        die(f, "status of dom %u port %u (byte %u differs): lib %s; model %s", t, port, i, a, b);
    }
}

/* Names what byte `off` of frame `idx` of domain d is to the model's FIFO state. */
static void fifo_where(const struct em_dom *md, uint32_t idx, uint32_t off, char *s, size_t n)
{
    uint32_t i, v;

    s[0] = 0;
    for (v = 0; v < md->nvcpus; v++) {
        const struct em_fifo_vcpu *fv = &md->fv[v];
        if (fv->has && fv->frame == idx && off >= fv->off && off < fv->off + EM_CB_SIZE) {
            uint32_t fo = off - fv->off;
            if (fo < 4) {
                snprintf(s, n, "vcpu %u control block ready", v);
            } else if (fo < 8) {
                snprintf(s, n, "vcpu %u control block padding", v);
            } else {
                snprintf(s, n, "vcpu %u control block head[%u]", v, (fo - 8u) / 4u);
            }
            return;
        }
    }
    for (i = 0; i < md->npages; i++) {
        if (md->page[i] == idx) {
            snprintf(s, n, "event word of port %u", i * 1024u + off / 4u);
            return;
        }
    }
    snprintf(s, n, "no FIFO structure");
}

/* Every data frame (the shared-info one included) against the model's image. */
static void check_frames(struct fz *f, unsigned d)
{
    struct em_dom *md = &f->em.d[d];
    uint32_t idx;

    for (idx = FIRST_DATA; idx < PER_DOM; idx++) {
        const uint8_t *got = fp(f, dom_frame(d, idx));
        const uint8_t *want = em_frame(&f->em, d, idx);
        uint32_t i;
        char where[96];

        if (idx == SHARED_IDX || memcmp(got, want, 4096) == 0) {
            continue;
        }
        for (i = 0; i < 4096 && got[i] == want[i]; i++) {
        }
        i &= ~3u;
        fifo_where(md, idx, i, where, sizeof(where));
        die(f, "dom %u frame %u bytes %u-%u (%s): lib %08x, model %08x", d, idx, i, i + 3, where,
            le32(got + i), le32(want + i));
    }
    if (md->exists && !md->dying) {
        for (idx = FIRST_DATA; idx < PER_DOM; idx++) {
            struct pvcore_frame_info fi;

            if (pvcore_frame_query(f->m, pvcore_mfn(dom_frame(d, idx)), &fi) != 0) {
                die(f, "frame query dom %u frame %u", d, idx);
            }
            if (fi.count != f->base_count[d][idx] + md->hold[idx] ||
                fi.type_count != f->base_type[d][idx] + md->hold[idx]) {
                die(f, "dom %u frame %u: count %u type_count %u, model %u + %u FIFO holds, %u + %u",
                    d, idx, fi.count, fi.type_count, f->base_count[d][idx], md->hold[idx],
                    f->base_type[d][idx], md->hold[idx]);
            }
        }
    }
    if (pvcore_evtchn_nr_ports(f->dom[d]) != md->nports) {
        die(f, "dom %u: pvcore_evtchn_nr_ports() %u, model %u (%s)", d, pvcore_evtchn_nr_ports(f->dom[d]),
            md->nports, md->fifo ? "FIFO" : "2-level");
    }
}

static void check_shared(struct fz *f, unsigned d)
{
    const uint8_t *got = fp(f, dom_frame(d, SHARED_IDX));
    struct em_dom *md = &f->em.d[d];
    const uint8_t *want = em_frame(&f->em, d, SHARED_IDX);
    uint32_t i, v, bb = em_bitmap_bytes(md);

    if (memcmp(got, want, 4096) != 0) {
        char where[96];

        for (i = 0; i < 4096 && got[i] == want[i]; i++) {
        }
        fifo_where(md, SHARED_IDX, i, where, sizeof(where));
        if (md->fifo && strcmp(where, "no FIFO structure") != 0) {
            i &= ~3u;
            die(f, "dom %u shared-info frame bytes %u-%u (%s): lib %08x, model %08x", d, i, i + 3, where,
                le32(got + i), le32(want + i));
        }
        if (i >= 2048 && i < 2048 + bb) {
            die(f, "dom %u evtchn_pending byte %u (ports %u-%u): lib %#x, model %#x", d, i - 2048,
                (i - 2048) * 8, (i - 2048) * 8 + 7, got[i], want[i]);
        }
        if (i >= 2048 + bb && i < 2048 + 2 * bb) {
            die(f, "dom %u evtchn_mask byte %u (ports %u-%u): lib %#x, model %#x", d, i - 2048 - bb,
                (i - 2048 - bb) * 8, (i - 2048 - bb) * 8 + 7, got[i], want[i]);
        }
        if (i < 2048 && i % 64u < 16u) {
            static const char *const names[16] = {
                "upcall_pending", "upcall_mask", "byte 2", "byte 3", "byte 4", "byte 5", "byte 6",
                "byte 7", "byte 8", "byte 9", "byte 10", "byte 11", "byte 12", "byte 13", "byte 14",
                "byte 15" };
            die(f, "dom %u vcpu_info[%u] %s%s: lib %#x, model %#x", d, i / 64u, names[i % 64u],
                (i % 64u) >= em_sel_offset(md) && (i % 64u) < em_sel_offset(md) + em_word_bits(md) / 8u
                    ? " (evtchn_pending_sel)" : "",
                got[i], want[i]);
        }
        die(f, "dom %u shared_info byte %u written: lib %#x, model %#x", d, i, got[i], want[i]);
    }
    for (v = 0; v < md->nvcpus; v++) {
        int lib = pvcore_vcpu_upcall_pending(pvcore_domain_vcpu(f->dom[d], v));
        if (lib != em_upcall_pending(&f->em, d, v)) {
            die(f, "dom %u vcpu %u upcall_pending(): lib %d, model %d", d, v, lib,
                em_upcall_pending(&f->em, d, v));
        }
    }
}

/* The domain that asks for a dying domain's status: a live, privileged one, if any. */
static int asker(struct fz *f)
{
    return f->em.d[0].exists && !f->em.d[0].dying ? 0 : -1;
}

static void check_all(struct fz *f, int full)
{
    struct pvcore_check_report r;
    struct pvcore_host_stats st;
    unsigned d;

    if (pvcore_check_invariants(f->m, f->scratch, f->scratch_len, &r) != 0) {
        die(f, "invariant violated: %s at mfn %llu (expected %llu, actual %llu)",
            pvcore_check_code_name(r.code), (unsigned long long)r.mfn, (unsigned long long)r.expected,
            (unsigned long long)r.actual);
    }
    pvcore_host_backend_stats(f->hb, &st);
    if (st.evtchn_kicks - f->kicks0 != f->em.kicks) {
        die(f, "evtchn_kick calls: lib %llu, model %llu", (unsigned long long)(st.evtchn_kicks - f->kicks0),
            (unsigned long long)f->em.kicks);
    }
    for (d = 0; d < NDOM; d++) {
        const struct em_dom *md = &f->em.d[d];
        int by;
        uint32_t p, lim;

        /* pvcore_domain_lookup() finds live domains only (not dying ones). */
        if ((pvcore_domain_lookup(f->m, (uint16_t)d) != NULL) != (md->exists && !md->dying)) {
            die(f, "dom %u: found by pvcore_domain_lookup %d, model: exists %d dying %d", d,
                pvcore_domain_lookup(f->m, (uint16_t)d) != NULL, md->exists, md->dying);
        }
        if (!md->exists) {
            continue;
        }
        check_shared(f, d);
        check_frames(f, d);
        by = md->dying ? asker(f) : (int)d;
        if (by < 0) {
            continue;
        }
        /* Every port, at the start, at the end and after every 16th operation; after
         * the others, the ports up to a few past the highest one the model ever
         * allocated (a port the library returns is compared, so it cannot have allocated
         * beyond unseen), and the last ones and first invalid ones of the table. */
        lim = md->nports + 1u;
        if (!full && f->opno % 16u != 15u && f->hwm[d] + 4u < lim) {
            lim = f->hwm[d] + 4u;
        }
        for (p = 0; p <= lim; p++) {
            check_status(f, (unsigned)by, p % nvcpus[by], d, p);
        }
        for (p = md->nports > 2u ? md->nports - 2u : 0u; p < md->nports + 2u; p++) {
            if (p > lim) {
                check_status(f, (unsigned)by, 0, d, p);
            }
        }
        check_status(f, (unsigned)by, 0, d, 0xFFFFFFFFu);
    }
}

/* ---- argument selection -------------------------------------------------------------------- */

static const uint16_t domids[16] = {
    EM_DOMID_SELF, 0, 1, 2, EM_DOMID_SELF, 0, 1, 2, 3, 0x7FF1, 0x7FF2, 0xFFFF, 0x7FEF, 4, EM_DOMID_SELF, 0x100,
};

static uint16_t domsel(uint8_t b)
{
    return domids[b % 16u];
}

static uint32_t nports_of(struct fz *f, uint16_t id, unsigned caller)
{
    if (id == EM_DOMID_SELF) {
        id = (uint16_t)caller;
    }
    return id < NDOM ? f->em.d[id].nports : 64u;
}

static uint32_t portsel(uint8_t b, uint8_t b2, uint32_t nports)
{
    static const uint32_t hostile[8] = { 0, 0, 1, 4095, 4096, 1024, 0x80000000u, 0xFFFFFFFFu };

    if (b < 0xC0) {
        uint32_t n = nports + 2u;
        return ((uint32_t)b2 << 8 | b) % (n < 4 ? 4 : n);
    }
    switch (b & 7u) {
    case 0:
        return nports;
    case 1:
        return nports - 1u;
    default:
        return hostile[b & 7u];
    }
}

static uint32_t vcpusel(uint8_t b, unsigned d)
{
    static const uint32_t odd[4] = { 0xFFFFFFFFu, 8, 64, 0x80000000u };

    return b < 0xF0 ? b % (nvcpus[d] + 1u) : odd[b & 3u];
}

/* A frame for init_control or expand_array, as domain d names it: mostly one of its data
 * frames (shared info included), else one of its page tables, another domain's data
 * frame, or a number that is no domain's frame. (Not the mailbox: the arguments live
 * there.) */
static uint64_t framesel(unsigned d, uint8_t b)
{
    static const uint8_t data[10] = { 6, 7, 9, 10, 11, 12, 13, 14, 15, SHARED_IDX };
    static const uint64_t nowhere[8] = { FRAMES, FRAMES + 1u, POOL0 - 1u, 0, 1ull << 40,
                                         0xFFFFFFFFFFFFFFFFull, 0x8000000000000000ull, 0xFFFFFFFFull };

    switch (b & 7u) {
    case 4:
        return dom_frame(d, (b >> 3) & 3u); /* a page table */
    case 5:
        return dom_frame((d + 1u + ((b >> 3) & 1u)) % NDOM, data[(b >> 4) % 10u]);
    case 6:
        return nowhere[(b >> 3) & 7u];
    default:
        return dom_frame(d, data[(b >> 3) % 10u]);
    }
}

static uint32_t offsel(uint8_t b, uint8_t b2)
{
    static const uint32_t bad[8] = { 4032, 4028, 4, 12, 0xFFFFFFF8u, 0x80000000u, 4096, 4025 };

    if (b < 0x40) {
        return (b % 8u) * 72u;          /* blocks side by side */
    }
    if (b < 0xC0) {
        return (((uint32_t)b2 << 8 | b) % 504u) * 8u; /* anywhere allowed, up to 4024 */
    }
    return bad[b & 7u];
}

static uint32_t virqsel(uint8_t b)
{
    static const uint32_t odd[8] = { 24, 25, 255, 0xFFFFFFFFu, 0x80000000u, 5, 14, 15 };

    return b < 0xE0 ? b % 25u : odd[b & 7u];
}

/* ---- operations ---------------------------------------------------------------------------- */

enum {
    K_ALLOC, K_BIND_INTER, K_BIND_VIRQ, K_BIND_IPI, K_CLOSE, K_SEND, K_STATUS, K_BIND_VCPU, K_UNMASK,
    K_RESET, K_PIRQ, K_OTHER, K_EMBED_ALLOC, K_RAISE, K_GUEST_BIT, K_GUEST_VI, K_DESTROY, K_DESTROY_STEP,
    K_SEND2, K_CLOSE2, K_INIT_CONTROL, K_EXPAND, K_SET_PRIO, K_GUEST_WORD, K_GUEST_CB, K_DRAIN,
    NKINDS
};

static const char *const kind_names[NKINDS] = {
    "alloc_unbound", "bind_interdomain", "bind_virq", "bind_ipi", "close", "send", "status",
    "bind_vcpu", "unmask", "reset", "bind_pirq", "other command", "embedder alloc_unbound",
    "raise_virq", "guest bit write", "guest vcpu_info write", "destroy", "destroy step", "send",
    "close", "init_control", "expand_array", "set_priority", "guest event word write",
    "guest control block write", "guest drain",
};

static void note_port(struct fz *f, unsigned d, uint32_t port)
{
    if (port > f->hwm[d]) {
        f->hwm[d] = port;
    }
}

/* A live caller: domain sel, or the next live one; -1 when none is. */
static int pick_caller(struct fz *f, unsigned sel)
{
    unsigned i;

    for (i = 0; i < NDOM; i++) {
        unsigned d = (sel + i) % NDOM;
        if (f->em.d[d].exists && !f->em.d[d].dying) {
            return (int)d;
        }
    }
    return -1;
}

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

static void put16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

/* Destroys domain d to the end (with forced preemption when `preempt`). */
static void destroy_full(struct fz *f, unsigned d)
{
    unsigned n = 0;
    int rc;

    do {
        rc = pvcore_domain_destroy(f->dom[d]);
        if (++n > (1u << 20)) {
            die(f, "destroying dom %u makes no progress", d);
        }
    } while (rc == -PVCORE_ERESTART);
    if (rc != 0) {
        die(f, "destroying dom %u: %d", d, rc);
    }
    f->destroyed[d] = 1;
    (void)em_destroy_step(&f->em, d, 0);
    em_gone(&f->em, d);
}

/* An EVTCHNOP from a guest. */
static void guest_op(struct fz *f, const uint8_t *r, unsigned kind, int caller)
{
    uint32_t v = ((r[1] >> 2) & 7u) % nvcpus[caller];
    int place = (r[1] >> 5) & 3;
    int preempt = (r[1] >> 7) & 1;
    int high = (r[0] >> 5) & 1; /* garbage in the command register's upper half */
    int once = (r[0] >> 6) & 1; /* reset: leave a continuation for later */
    const uint8_t *a = r + 2;
    uint8_t in[24], want[24], got[24];
    uint32_t cmd = 0, out_off = 0, size = 0, mport = 0;
    uint64_t cmd_reg, va;
    int mrc = 0, known = 1, more = 0, restarted;
    int64_t rc;
    unsigned step = 0;

    memset(in, 0, sizeof(in));
    switch (kind) {
    case K_ALLOC:
        cmd = PVCORE_EVTCHNOP_alloc_unbound, size = 8, out_off = 4;
        put16(in, domsel(a[0]));
        put16(in + 2, domsel(a[1]));
        put32(in + 4, 0xDEAD0000u | a[2]);
        break;
    case K_BIND_INTER: {
        uint16_t rd = domsel(a[0]);
        cmd = PVCORE_EVTCHNOP_bind_interdomain, size = 12, out_off = 8;
        put16(in, rd);
        put16(in + 2, (uint16_t)(a[3] << 8 | a[3]));
        put32(in + 4, portsel(a[1], a[2], nports_of(f, rd, (unsigned)caller)));
        put32(in + 8, 0xBEEF0000u | a[4]);
        break;
    }
    case K_BIND_VIRQ:
        cmd = PVCORE_EVTCHNOP_bind_virq, size = 12, out_off = 8;
        put32(in, virqsel(a[0]));
        put32(in + 4, vcpusel(a[1], (unsigned)caller));
        put32(in + 8, 0xCAFE0000u | a[2]);
        break;
    case K_BIND_IPI:
        cmd = PVCORE_EVTCHNOP_bind_ipi, size = 8, out_off = 4;
        put32(in, vcpusel(a[0], (unsigned)caller));
        put32(in + 4, 0xF00D0000u | a[1]);
        break;
    case K_CLOSE:
    case K_CLOSE2:
        cmd = PVCORE_EVTCHNOP_close, size = 4;
        put32(in, portsel(a[0], a[1], f->em.d[caller].nports));
        break;
    case K_SEND:
    case K_SEND2:
        cmd = PVCORE_EVTCHNOP_send, size = 4;
        put32(in, portsel(a[0], a[1], f->em.d[caller].nports));
        break;
    case K_STATUS: {
        uint16_t td = domsel(a[0]);
        cmd = PVCORE_EVTCHNOP_status, size = 24;
        status_pattern(in, td, portsel(a[1], a[2], nports_of(f, td, (unsigned)caller)), a[3]);
        break;
    }
    case K_BIND_VCPU:
        cmd = PVCORE_EVTCHNOP_bind_vcpu, size = 8;
        put32(in, portsel(a[0], a[1], f->em.d[caller].nports));
        put32(in + 4, vcpusel(a[2], (unsigned)caller));
        break;
    case K_UNMASK:
        cmd = PVCORE_EVTCHNOP_unmask, size = 4;
        put32(in, portsel(a[0], a[1], f->em.d[caller].nports));
        break;
    case K_RESET:
        cmd = (a[1] & 1) ? 14u /* Xen's reset_cont */ : PVCORE_EVTCHNOP_reset, size = 2;
        put16(in, domsel(a[0]));
        break;
    case K_PIRQ:
        cmd = PVCORE_EVTCHNOP_bind_pirq, size = 12;
        put32(in, a[0]);
        put32(in + 4, a[1]);
        break;
    case K_INIT_CONTROL: {
        unsigned i;
        cmd = PVCORE_EVTCHNOP_init_control, size = 24;
        for (i = 0; i < 24; i++) {
            in[i] = (uint8_t)(a[5] + i * 29u);
        }
        put32(in, (uint32_t)framesel((unsigned)caller, a[1]));
        put32(in + 4, (uint32_t)(framesel((unsigned)caller, a[1]) >> 32));
        put32(in + 8, offsel(a[2], a[3]));
        put32(in + 12, vcpusel(a[0], (unsigned)caller));
        break;
    }
    case K_EXPAND:
        cmd = PVCORE_EVTCHNOP_expand_array, size = 8;
        put32(in, (uint32_t)framesel((unsigned)caller, a[0]));
        put32(in + 4, (uint32_t)(framesel((unsigned)caller, a[0]) >> 32));
        break;
    case K_SET_PRIO:
        cmd = PVCORE_EVTCHNOP_set_priority, size = 8;
        put32(in, portsel(a[0], a[1], f->em.d[caller].nports));
        put32(in + 4, a[2] < 0xF0 ? a[2] % 17u : (a[2] & 1u ? 0xFFFFFFFFu : 16u + a[2]));
        break;
    default: { /* K_OTHER */
        /* Unknown commands (the FIFO ones, 11-13, have kinds of their own). */
        static const uint32_t cmds[8] = { 15, 16, 17, 0x100u, 0x7FFFFFFFu, 0x80000000u,
                                          0xFFFFFFFEu, 0xFFFFFFFFu };
        cmd = cmds[a[0] & 7u];
        size = 16;
        known = 0;
        break;
    }
    }
    cmd_reg = high ? ((uint64_t)(0xA5A50000u | a[5]) << 32 | cmd) : cmd;
    va = place == AT_UNMAPPED ? UNMAPPED_VA : MBOX_VA + place_off(place);
    if (place != AT_UNMAPPED) {
        mbox_write(f, (unsigned)caller, place_off(place), in, size);
    }
    pvcore_host_backend_set_preempt(f->hb, preempt ? 1u : 0u);

    for (;;) {
        /* the model's answer */
        memcpy(want, in, sizeof(want));
        more = 0;
        if (!known) {
            mrc = em_other_cmd(cmd);
        } else if (place == AT_UNMAPPED) {
            mrc = -EM_EFAULT;
        } else {
            switch (kind) {
            case K_ALLOC:
                mrc = em_alloc_unbound(&f->em, (unsigned)caller, (uint16_t)(in[0] | in[1] << 8),
                                       (uint16_t)(in[2] | in[3] << 8), &mport);
                break;
            case K_BIND_INTER:
                mrc = em_bind_interdomain(&f->em, (unsigned)caller, (uint16_t)(in[0] | in[1] << 8),
                                          le32(in + 4), &mport);
                break;
            case K_BIND_VIRQ:
                mrc = em_bind_virq(&f->em, (unsigned)caller, le32(in), le32(in + 4), &mport);
                break;
            case K_BIND_IPI:
                mrc = em_bind_ipi(&f->em, (unsigned)caller, le32(in), &mport);
                break;
            case K_CLOSE:
            case K_CLOSE2:
                mrc = em_close(&f->em, (unsigned)caller, le32(in));
                break;
            case K_SEND:
            case K_SEND2:
                mrc = em_send(&f->em, (unsigned)caller, le32(in));
                break;
            case K_STATUS:
                mrc = em_status(&f->em, (unsigned)caller, want);
                break;
            case K_BIND_VCPU:
                mrc = em_bind_vcpu(&f->em, (unsigned)caller, le32(in), le32(in + 4));
                break;
            case K_UNMASK:
                mrc = em_unmask(&f->em, (unsigned)caller, le32(in));
                break;
            case K_INIT_CONTROL:
                mrc = em_init_control(&f->em, (unsigned)caller, (uint64_t)le32(in) | (uint64_t)le32(in + 4) << 32,
                                      le32(in + 8), le32(in + 12));
                if (mrc == 0) {
                    want[16] = 17; /* link_bits */
                    memset(f->lhead[caller][le32(in + 12)], 0, sizeof(f->lhead[caller][0]));
                }
                break;
            case K_EXPAND:
                mrc = em_expand_array(&f->em, (unsigned)caller, (uint64_t)le32(in) | (uint64_t)le32(in + 4) << 32);
                break;
            case K_SET_PRIO:
                mrc = em_set_priority(&f->em, (unsigned)caller, le32(in), le32(in + 4));
                break;
            case K_RESET:
                /* A forced preemption stops a reset after every STEP ports closed: the
                 * library's granularity (the ABI says only that it is restarted). */
                mrc = em_reset(&f->em, (unsigned)caller, (uint16_t)(in[0] | in[1] << 8),
                               preempt ? STEP : 0u, &more);
                break;
            default:
                mrc = em_bind_pirq(&f->em, (unsigned)caller, le32(in));
                break;
            }
            if (mrc == 0 && out_off != 0) {
                put32(want + out_off, mport);
                note_port(f, (unsigned)caller, mport);
                if (kind == K_ALLOC) {
                    uint16_t dd = (uint16_t)(in[0] | in[1] << 8);
                    note_port(f, dd == EM_DOMID_SELF ? (unsigned)caller : dd, mport);
                }
            }
            if (kind == K_STATUS && mrc != 0) {
                memcpy(want, in, sizeof(want));
            }
            if (mrc == 0 && (out_off != 0 || kind == K_STATUS || kind == K_INIT_CONTROL) && place != AT_RW) {
                mrc = -EM_EFAULT; /* done, but the write-back faults (nothing written) */
                memcpy(want, in, sizeof(want));
            }
        }
        /* the library's */
        rc = hcall(f, (unsigned)caller, v, cmd_reg, va, &restarted);
        if (restarted != more) {
            die(f, "%s by dom %u: restarted %d, model %d", kind_names[kind], caller, restarted, more);
        }
        if (!restarted && rc != mrc) {
            die(f, "%s by dom %u vcpu %u (args %08x %08x %08x, at %d): rc %lld, model %d", kind_names[kind],
                caller, v, le32(in), le32(in + 4), le32(in + 8), place, (long long)rc, mrc);
        }
        if (place != AT_UNMAPPED) {
            mbox_read(f, (unsigned)caller, place_off(place), got, size);
            if (memcmp(got, known ? want : in, size) != 0) {
                die(f, "%s by dom %u: written back %08x %08x %08x, model %08x %08x %08x", kind_names[kind],
                    caller, le32(got), le32(got + 4), le32(got + 8), le32(want), le32(want + 4),
                    le32(want + 8));
            }
        }
        if (f->trace) {
            fprintf(stderr, "#%u %s dom %d vcpu %u args %08x %08x %08x %08x at %d: %lld%s\n", f->opno,
                    kind_names[kind], caller, v, le32(in), le32(in + 4), le32(in + 8), le32(in + 12), place,
                    (long long)rc, restarted ? " (restarted)" : "");
        }
        check_all(f, 0);
        if (!restarted || once) {
            break;
        }
        if (++step > MAX_RESTARTS) {
            die(f, "reset restarted %u times", step);
        }
    }
    pvcore_host_backend_set_preempt(f->hb, 0);
}

/* ---- the guest's side of the FIFO ABI ----------------------------------------------------- */

/* Byte `off` of frame `idx` of domain d: the library's memory, or the model's image. */
static uint8_t *gmem(struct fz *f, unsigned d, int model, uint32_t idx, uint32_t off)
{
    return (model ? em_frame(&f->em, d, idx) : fp(f, dom_frame(d, idx))) + off;
}

/* A 32-bit guest write, to both. */
static void gput(struct fz *f, unsigned d, uint32_t idx, uint32_t off, uint32_t v)
{
    em_st32(gmem(f, d, 0, idx, off), v);
    em_st32(gmem(f, d, 1, idx, off), v);
}

/* Where port p's event word is, as the guest set up its array (the model's list of pages
 * is the guest's own record of what it passed to expand_array); -1: no word. */
static int64_t word_loc(const struct em_dom *md, uint32_t p, uint32_t *idx)
{
    if (p / 1024u >= md->npages) {
        return -1;
    }
    *idx = md->page[p / 1024u];
    return (int64_t)(p % 1024u) * 4;
}

/*
 * A guest's event upcall for vCPU v, written from the ABI as a guest kernel consumes its
 * queues: clear upcall_pending; take the READY word (exchanged with 0); for the highest
 * ready priority, take the port at the consumer's own head (the control block's head when
 * it has none), unlink the word (LINKED and LINK cleared, LINK kept as the next head), the
 * queue is done when LINK was 0; a pending and unmasked event is handled: PENDING cleared
 * (or, `mask_mode`, MASKED set and PENDING left, as a handler deferring it). At most
 * `limit` words are taken; the READY bits of queues left unfinished are put back. Runs on
 * the library's memory (model 0) or the model's (1); returns the number of events handled,
 * listed in `out`.
 */
static uint32_t drain(struct fz *f, unsigned d, uint32_t v, int model, uint32_t limit, int mask_mode,
                      uint32_t heads[EM_FIFO_QUEUES], uint32_t *out)
{
    const struct em_dom *md = &f->em.d[d];
    const struct em_fifo_vcpu *fv = &md->fv[v];
    uint32_t ready, taken = 0, n = 0;

    *gmem(f, d, model, SHARED_IDX, v * 64u) = 0; /* evtchn_upcall_pending */
    if (!fv->has) {
        return 0;
    }
    /* The guest itself may have written garbage above the queues' bits; a kernel looks
     * only at the bits of its queues. */
    ready = em_ld32(gmem(f, d, model, fv->frame, fv->off)) & ((1u << EM_FIFO_QUEUES) - 1u);
    em_st32(gmem(f, d, model, fv->frame, fv->off), 0);
    while (ready != 0 && taken < limit) {
        uint32_t q = 0, port, w, widx;
        int64_t woff;
        uint8_t *wp;

        while (!(ready & (1u << q))) {
            q++;
        }
        port = heads[q];
        if (port == 0) {
            port = em_ld32(gmem(f, d, model, fv->frame, fv->off + 8u + 4u * q));
        }
        woff = port == 0 || port > EM_EW_LINK ? -1 : word_loc(md, port, &widx);
        if (woff < 0) { /* an empty queue, or a head with no word: done with it */
            ready &= ~(1u << q);
            heads[q] = 0;
            continue;
        }
        taken++;
        wp = gmem(f, d, model, widx, (uint32_t)woff);
        w = em_ld32(wp);
        em_st32(wp, w & ~(EM_EW_LINKED | EM_EW_LINK));
        heads[q] = w & EM_EW_LINK;
        if (heads[q] == 0) {
            ready &= ~(1u << q);
        }
        if ((w & EM_EW_PENDING) && !(w & EM_EW_MASKED)) {
            out[n++] = port;
            w = em_ld32(wp);
            em_st32(wp, mask_mode ? (w | EM_EW_MASKED) : (w & ~EM_EW_PENDING));
        }
    }
    if (ready != 0) {
        uint8_t *rp = gmem(f, d, model, fv->frame, fv->off);
        em_st32(rp, em_ld32(rp) | ready);
    }
    return n;
}

static void guest_drain(struct fz *f, unsigned d, uint32_t v, const uint8_t *a)
{
    static uint32_t lib_out[DRAIN_MAX], model_out[DRAIN_MAX];
    uint32_t lh[EM_FIFO_QUEUES], mh[EM_FIFO_QUEUES], nl, nm, i;
    uint32_t limit = a[0] < 0x80 ? DRAIN_MAX : 1u + a[0] % 8u;
    int mask_mode = a[1] & 1;

    if (!f->em.d[d].fv[v].has) {
        memset(f->lhead[d][v], 0, sizeof(f->lhead[d][v]));
    }
    if (a[1] & 2) {
        memset(f->lhead[d][v], 0, sizeof(f->lhead[d][v])); /* a consumer starting afresh */
    }
    memcpy(lh, f->lhead[d][v], sizeof(lh));
    memcpy(mh, f->lhead[d][v], sizeof(mh));
    nl = drain(f, d, v, 0, limit, mask_mode, lh, lib_out);
    nm = drain(f, d, v, 1, limit, mask_mode, mh, model_out);
    for (i = 0; i < nl && i < nm && lib_out[i] == model_out[i]; i++) {
    }
    if (nl != nm || i != nl || memcmp(lh, mh, sizeof(lh)) != 0) {
        die(f, "drain of dom %u vcpu %u: %u events (event %u: port %u), model %u (port %u)", d, v, nl, i,
            i < nl ? lib_out[i] : 0u, nm, i < nm ? model_out[i] : 0u);
    }
    memcpy(f->lhead[d][v], lh, sizeof(lh));
    if (f->trace) {
        fprintf(stderr, "#%u drain dom %u vcpu %u: %u events:", f->opno, d, v, nl);
        for (i = 0; i < nl && i < 16; i++) {
            fprintf(stderr, " %u", lib_out[i]);
        }
        fputc('\n', stderr);
    }
}

/* The guest writes one of its event words. */
static void guest_word(struct fz *f, unsigned d, const uint8_t *a)
{
    const struct em_dom *md = &f->em.d[d];
    uint32_t n = md->npages * 1024u, val = (uint32_t)a[1] << 8 | a[0], port, idx = 0, w;
    int64_t off;

    if (n == 0) {
        return;
    }
    if (a[0] < 0xC0) {
        uint32_t lim = md->nports + 2u < 4u ? 4u : md->nports + 2u;
        port = val % (lim < n ? lim : n);
    } else {
        port = val % n;
    }
    off = word_loc(md, port, &idx);
    w = em_ld32(gmem(f, d, 1, idx, (uint32_t)off));
    switch (a[2] & 7u) {
    case 0:
        w |= EM_EW_MASKED;
        break;
    case 1:
        w &= ~EM_EW_MASKED;
        break;
    case 2:
        w &= ~EM_EW_PENDING;
        break;
    case 3:
        w &= ~(EM_EW_LINKED | EM_EW_LINK); /* unlinked */
        break;
    case 4:
        w = (w & ~EM_EW_LINK) | (((uint32_t)a[4] << 8 | a[3] | (uint32_t)(a[5] & 1u) << 16) & EM_EW_LINK);
        break;
    case 5:
        w = (uint32_t)a[3] | (uint32_t)a[4] << 8 | (uint32_t)a[5] << 16 | (uint32_t)(a[3] ^ a[5]) << 24;
        break;
    case 6:
        w |= EM_EW_PENDING;
        break;
    default:
        w = a[3] & 1u ? (w | EM_EW_BUSY) : (w & ~EM_EW_BUSY);
        break;
    }
    gput(f, d, idx, (uint32_t)off, w);
}

/* The guest writes a field of one of its control blocks. */
static void guest_cb(struct fz *f, unsigned d, uint32_t v, const uint8_t *a)
{
    const struct em_fifo_vcpu *fv = &f->em.d[d].fv[v];
    uint32_t field = a[0] % 18u, off, w;

    if (!fv->has) {
        return;
    }
    off = field == 0 ? 0u : field == 17u ? 4u : 8u + 4u * (field - 1u);
    w = em_ld32(gmem(f, d, 1, fv->frame, fv->off + off));
    switch (a[1] & 3u) {
    case 0:
        w = 0;
        break;
    case 1:
        w = field == 0 ? w & ~(1u << (a[2] % 16u)) : a[2] % (f->em.d[d].nports + 1u);
        break;
    case 2:
        w = (uint32_t)a[2] | (uint32_t)a[3] << 8 | (uint32_t)a[4] << 16 | (uint32_t)a[5] << 24;
        break;
    default:
        w |= (uint32_t)a[2] | (uint32_t)a[3] << 8;
        break;
    }
    gput(f, d, fv->frame, fv->off + off, w);
}

static void op(struct fz *f, const uint8_t *r)
{
    unsigned kind = (r[0] & 0x1Fu) % NKINDS;
    unsigned sel = (r[1] & 3u) % NDOM;
    const uint8_t *a = r + 2;
    int caller;

    f->opname = kind_names[kind];
    if ((kind == K_DESTROY || kind == K_DESTROY_STEP) && a[0] >= 16) {
        kind = K_SEND2; /* destruction: rarer than the rest */
        f->opname = kind_names[kind];
    }
    switch (kind) {
    case K_EMBED_ALLOC: {
        uint16_t remote = domsel(a[0]);
        uint32_t lport = 0xFFFF, mport = 0;
        int rc, mrc;

        if (!f->em.d[sel].exists) {
            return;
        }
        mrc = em_embed_alloc_unbound(&f->em, sel, remote, &mport);
        rc = pvcore_domain_evtchn_alloc_unbound(f->dom[sel], remote, &lport);
        if (rc != mrc || (rc == 0 && lport != mport)) {
            die(f, "dom %u remote %u: rc %d port %u, model %d port %u", sel, remote, rc, lport, mrc, mport);
        }
        if (rc == 0) {
            note_port(f, sel, mport);
        }
        break;
    }
    case K_RAISE: {
        uint32_t v = ((r[1] >> 2) & 7u) % nvcpus[sel];
        uint32_t virq = virqsel(a[0]);
        int rc, mrc;

        if (!f->em.d[sel].exists) {
            return;
        }
        mrc = em_raise_virq(&f->em, sel, v, virq);
        rc = pvcore_evtchn_raise_virq(pvcore_domain_vcpu(f->dom[sel], v), virq);
        if (rc != mrc) {
            die(f, "dom %u vcpu %u virq %u: rc %d, model %d", sel, v, virq, rc, mrc);
        }
        break;
    }
    case K_GUEST_BIT: {
        /* The guest sets or clears one of its pending or mask bits (a locked bit op). */
        struct em_dom *md = &f->em.d[sel];
        uint32_t bits = em_bitmap_bytes(md) * 8u;
        uint32_t bit = ((uint32_t)a[1] << 8 | a[0]) % (a[2] & 0x80 ? bits : (md->nports + 2u));
        int which = a[2] & 1, set = (a[2] >> 1) & 1;
        uint8_t *b;

        if (!md->exists || md->dying) {
            return;
        }
        bit %= bits;
        b = fp(f, dom_frame(sel, SHARED_IDX)) + 2048 + (which ? em_bitmap_bytes(md) : 0u) + bit / 8u;
        *b = set ? (uint8_t)(*b | (1u << (bit % 8u))) : (uint8_t)(*b & ~(1u << (bit % 8u)));
        em_guest_bit(&f->em, sel, which, bit, set);
        break;
    }
    case K_GUEST_VI: {
        /* The guest writes a byte of its vcpu_info: mostly upcall_pending or upcall_mask. */
        struct em_dom *md = &f->em.d[sel];
        uint32_t v = ((r[1] >> 2) & 7u) % nvcpus[sel];
        uint32_t off = a[0] < 0xC0 ? a[0] & 1u : em_sel_offset(md) + (a[0] & 7u) % (em_word_bits(md) / 8u);

        if (!md->exists || md->dying) {
            return;
        }
        fp(f, dom_frame(sel, SHARED_IDX))[v * 64u + off] = a[1];
        em_guest_vi(&f->em, sel, v, off, a[1]);
        break;
    }
    case K_GUEST_WORD:
    case K_GUEST_CB:
    case K_DRAIN: {
        uint32_t v = ((r[1] >> 2) & 7u) % nvcpus[sel];

        if (!f->em.d[sel].exists || f->em.d[sel].dying) {
            return;
        }
        if (kind == K_GUEST_WORD) {
            guest_word(f, sel, a);
        } else if (kind == K_GUEST_CB) {
            guest_cb(f, sel, v, a);
        } else {
            guest_drain(f, sel, v, a);
        }
        break;
    }
    case K_DESTROY:
        if (!f->em.d[sel].exists) {
            return;
        }
        pvcore_host_backend_set_preempt(f->hb, (r[1] >> 7) ? 1u : 0u);
        destroy_full(f, sel);
        pvcore_host_backend_set_preempt(f->hb, 0);
        break;
    case K_DESTROY_STEP: {
        /* One call of a destruction preempted at every check: STEP ports closed per call
         * (the library's granularity), then the rest of the teardown. */
        uint32_t open;
        int rc;

        if (!f->em.d[sel].exists) {
            return;
        }
        open = em_open_ports(&f->em, sel);
        pvcore_host_backend_set_preempt(f->hb, 1);
        rc = pvcore_domain_destroy(f->dom[sel]);
        pvcore_host_backend_set_preempt(f->hb, 0);
        (void)em_destroy_step(&f->em, sel, STEP);
        if (open > STEP ? rc != -PVCORE_ERESTART : (rc != 0 && rc != -PVCORE_ERESTART)) {
            die(f, "destroy step of dom %u with %u ports open: %d", sel, open, rc);
        }
        if (rc == 0) {
            f->destroyed[sel] = 1;
            em_gone(&f->em, sel);
        }
        break;
    }
    default:
        caller = pick_caller(f, sel);
        if (caller < 0) {
            return;
        }
        guest_op(f, r, kind, caller);
        return; /* checked after every call */
    }
    check_all(f, 0);
}

static void teardown(struct fz *f)
{
    unsigned d, i;

    f->opname = "final destruction";
    for (d = 0; d < NDOM; d++) {
        if (f->em.d[d].exists) {
            destroy_full(f, d);
            check_all(f, 0);
        }
    }
    for (i = 0; i < FRAMES; i++) {
        struct pvcore_frame_info fi;

        if (pvcore_frame_query(f->m, pvcore_mfn(i), &fi) != 0) {
            die(f, "frame query %u", i);
        }
        if (fi.count != 0 || fi.type_count != 0) {
            die(f, "frame %u not free after destroying every domain: count %llu type_count %llu", i,
                (unsigned long long)fi.count, (unsigned long long)fi.type_count);
        }
    }
    pvcore_host_backend_destroy(f->hb);
    for (d = 0; d < NDOM; d++) {
        free(f->mem[d]);
        free(f->table[d]);
    }
    free(f->scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz f;
    size_t i;

    if (size < 3) {
        return 0;
    }
    setup(&f, data);
    f.trace = getenv("FUZZ_EVTCHN_TRACE") != NULL;
    check_all(&f, 1);
    for (i = 3; i + RECORD <= size && i < 3 + 256u * RECORD; i += RECORD) {
        f.opno = (unsigned)((i - 3) / RECORD);
        op(&f, data + i);
    }
    f.opname = "end";
    check_all(&f, 1);
    teardown(&f);
    return 0;
}
