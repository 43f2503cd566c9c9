/*
 * A reference model of the PV page-type and reference-count rules, written separately
 * from lib/ and for clarity rather than speed: no preemption, no atomics, no teardown
 * queue, plain recursion, one array of page contents of its own. fuzz_model.c runs every
 * operation on the library and on this model and requires the same result code and the
 * same state of every frame afterwards.
 */
#ifndef PVCORE_FUZZ_MODEL_H
#define PVCORE_FUZZ_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#define M_FRAMES 96u
#define M_DOMS 3u
#define M_IO_FIRST 96u /* frames M_FRAMES.. are not RAM */

enum { MT_NONE = 0, MT_L1, MT_L2, MT_L3, MT_L4, MT_SEG, MT_SHARED, MT_WRITABLE };

struct mframe {
    bool ram;
    uint16_t owner;    /* domain id, 0x7FF2 (xen) or 0x7FF4 (free) */
    bool alloc;        /* allocation reference held */
    uint32_t count;    /* general references */
    int type;          /* MT_* */
    bool xen_l2;       /* PAE L2 holding the hypervisor's slots */
    uint32_t tcount;
    bool pinned;
    int linear;        /* >0 holds linear entries, <0 is a target */
    uint64_t pte[512];
};

struct mdom {
    bool exists;
    bool priv;
    bool is32;
    uint64_t base[2];     /* per vCPU kernel root, UINT64_MAX: none */
    uint64_t ubase[2];    /* per vCPU user root */
    uint64_t ldt_base[2];
    uint32_t ldt_ents[2];
    uint64_t io_first, io_last; /* one permitted I/O range, or first > last */
};

struct model {
    struct mframe f[M_FRAMES];
    struct mdom d[M_DOMS];
    uint64_t m2p[M_FRAMES];
};

void model_init(struct model *m);
/* Each returns 0 or a negative PVCORE_E* value, as the hypercall would. */
int model_mmu_update(struct model *m, unsigned dom, unsigned vcpu, uint64_t ptr, uint64_t val,
                     uint32_t foreigndom);
int model_mmuext(struct model *m, unsigned dom, unsigned vcpu, uint32_t cmd, uint64_t arg1,
                 uint64_t arg2, uint32_t foreigndom);
int model_uvm(struct model *m, unsigned dom, unsigned vcpu, uint64_t va, uint64_t val,
              uint64_t flags, uint32_t foreigndom);
int model_assign(struct model *m, unsigned dom, uint64_t mfn);

#endif
