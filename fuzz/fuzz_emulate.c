/*
 * Fuzz target: the privileged-instruction emulator (lib/emulate.c) on arbitrary
 * instruction bytes, registers and vCPU state, for a 64-bit and a 32-bit PAE guest.
 *
 * The guest's memory is faked: the copy-from hook serves the input's instruction bytes
 * at rip (and fails past them, as an unmapped page would), the copy-to hook accepts only
 * the kernel stack (where exception frames go). Oracle, beyond ASan/UBSan:
 *   - every read goes through the copy hook in order, contiguous from rip, 15 bytes at
 *     most: nothing outside the instruction's bytes is read;
 *   - an instruction it leaves alone ("not handled") leaves the registers as they were;
 *   - a completed one moves rip forward by 1 to 15 bytes, and never by more than it read;
 *     a delivered exception lands on the handler registered for it.
 *
 * Input: byte 0 flags (bit 0: 32-bit guest; 1: #UD instead of #GP; 2: guest user mode;
 * 3: TF; 4-5: virtual IOPL; 6: architectural-IOPL assist; 7: CR4.DE), bytes 1-2 the page
 * offset of rip, bytes 3-26 rax, rcx, rdx, then the instruction bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/pvcore.h>
#include <pvcore/emulate.h>
#include <pvcore/host_backend.h>

#include "internal/domain.h"
#include "internal/emulate.h"

#define CODE_PAGE 0x400000ull
#define STACK_TOP 0x500000ull
#define STACK_LO (STACK_TOP - 4096u)
#define HANDLER64 0xFFFF900000000000ull
#define HANDLER32 0x00100000u

static struct {
    const uint8_t *bytes;
    size_t n;
    uint64_t rip;
    uint64_t next;  /* where the next read must start */
    unsigned read;  /* bytes read so far */
} g;

static void fail(const char *what, unsigned long long v)
{
    fprintf(stderr, "fuzz_emulate: %s (0x%llx)\n", what, v);
    abort();
}

static int fake_copy_from(void *ctx, struct pvcore_vcpu *v, void *dst, uint64_t gva, size_t len)
{
    (void)ctx;
    (void)v;
    if (gva != g.next || len == 0 || len > 15u || g.read + len > 15u) {
        fail("read outside the instruction's bytes", gva);
    }
    g.next += len;
    g.read += (unsigned)len;
    if (gva - g.rip + len > g.n) {
        return -PVCORE_EFAULT; /* past the input: unmapped */
    }
    memcpy(dst, g.bytes + (gva - g.rip), len);
    return 0;
}

static int fake_copy_to(void *ctx, struct pvcore_vcpu *v, uint64_t gva, const void *src, size_t len)
{
    (void)ctx;
    (void)v;
    (void)src;
    return gva >= STACK_LO && len <= STACK_TOP - gva ? 0 : -PVCORE_EFAULT;
}

static void fake_cpuid(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    (void)ctx;
    out[0] = leaf == 0 ? 0x16u : leaf * 0x9E3779B9u ^ subleaf;
    out[1] = leaf == 0 ? 0x756E6547u : ~leaf;
    out[2] = 0xFFFFFFFFu;
    out[3] = 0xFFFFFFFFu;
}

static void fake_io(void *ctx, struct pvcore_vcpu *v, uint16_t port, unsigned bytes, int write,
                    uint32_t *val)
{
    (void)ctx;
    (void)v;
    if (bytes != 1 && bytes != 2 && bytes != 4) {
        fail("bad I/O width", bytes);
    }
    if (!write) {
        *val = 0xA5A5A5A5u ^ port;
    }
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pvcore_host_ops ops;
    struct pvcore_host_backend *hb;
    struct pvcore_domain_config cfg;
    struct pvcore_domain *d;
    struct pvcore_cpu_regs r, before;
    struct machine *m;
    struct vcpu *v;
    void *dmem;
    size_t dsz;
    uint8_t flags;
    bool is32, handled;
    unsigned vec;
    int rc = -1;

    if (size < 27) {
        return 0;
    }
    flags = data[0];
    is32 = (flags & 1u) != 0;
    if (pvcore_host_backend_create(64, 2, 0, 0, &hb) != 0) {
        return 0;
    }
    m = (struct machine *)(void *)pvcore_host_backend_machine(hb);
    ops = *m->ops;
    ops.copy_from_guest = fake_copy_from;
    ops.copy_to_guest = fake_copy_to;
    ops.cpuid = fake_cpuid;
    ops.io_port = fake_io;
    m->ops = &ops;
    memset(&cfg, 0, sizeof(cfg));
    cfg.domid = 1;
    cfg.nr_vcpus = 1;
    cfg.flags = is32 ? PVCORE_DOMAIN_GUEST_32 : 0;
    cfg.max_pages = 64;
    dsz = pvcore_domain_size(1);
    dmem = aligned_alloc(64, (dsz + 63u) & ~(size_t)63u);
    if (dmem == NULL || pvcore_domain_create(pvcore_host_backend_machine(hb), dmem, dsz, &cfg, &d) != 0) {
        free(dmem);
        pvcore_host_backend_destroy(hb);
        return 0;
    }
    if (pvcore_domain_ioport_permit(d, 0x60, 0x7F, 1) != 0) {
        fail("ioport_permit", 0);
    }
    if (flags & 0x40u) {
        if (pvcore_domain_vm_assist(d, PVCORE_VMASST_CMD_enable,
                                    PVCORE_VMASST_TYPE_architectural_iopl) != 0) {
            fail("vm_assist", 0);
        }
    }
    v = (struct vcpu *)(void *)pvcore_domain_vcpu(d, 0);
    for (vec = 0; vec < 256; vec++) {
        v->cpu.traps[vec].address = is32 ? HANDLER32 + vec : HANDLER64 + vec;
        v->cpu.traps[vec].cs = is32 ? 0xE019u : 0xE033u;
        v->cpu.traps[vec].flags = (uint8_t)(vec & 3u);
    }
    v->cpu.iopl = (uint32_t)((flags >> 4) & 3u) << 12;
    if (flags & 0x80u) {
        v->cpu.cr4 |= 0x8u;
    }
    v->cpu.kernel_sp = STACK_TOP;
    v->cpu.kernel_ss = 0xE021u;
    memset(&r, 0, sizeof(r));
    r.rip = CODE_PAGE + ((uint64_t)(data[1] | data[2] << 8) & 0xFFFu);
    r.rax = get64(data + 3);
    r.rcx = get64(data + 11);
    r.rdx = get64(data + 19);
    r.rsp = STACK_TOP - 64u;
    r.rflags = 0x202u | ((flags & 8u) ? 0x100u : 0u);
    if (is32) {
        r.cs = (flags & 4u) ? 0xE02Bu : 0xE019u;
        r.ss = 0xE021u;
        r.rax = (uint32_t)r.rax;
        r.rcx = (uint32_t)r.rcx;
        r.rdx = (uint32_t)r.rdx;
    } else {
        r.cs = 0xE033u;
        r.ss = 0xE02Bu;
        v->cpu.user_mode = (flags & 4u) != 0;
    }
    before = r;
    g.bytes = data + 27;
    g.n = size - 27;
    g.rip = r.rip;
    g.next = r.rip;
    g.read = 0;

    handled = emulate_trap(v, &r, (flags & 2u) ? 6u : 13u, 0, &rc);
    if (!handled) {
        if (memcmp(&r, &before, sizeof(r)) != 0) {
            fail("registers changed by an instruction left alone", r.rip);
        }
    } else if (rc != PVCORE_CPU_RESUME && rc != PVCORE_CPU_CRASH) {
        fail("bad result", (unsigned long long)rc);
    } else if (rc == PVCORE_CPU_RESUME) {
        uint64_t base = is32 ? HANDLER32 : HANDLER64;
        bool at_handler = r.rip >= base && r.rip < base + 256u;

        if (!at_handler) {
            uint64_t adv = r.rip - before.rip;

            if (adv > 15u || adv > g.read) {
                fail("rip moved by more than the instruction", adv);
            }
        }
    }
    {
        unsigned tries = 0;
        while ((rc = pvcore_domain_destroy(d)) == -PVCORE_ERESTART && ++tries < 1000u) {
        }
        if (rc != 0) {
            fail("destroy", (unsigned long long)rc);
        }
    }
    free(dmem);
    pvcore_host_backend_destroy(hb);
    return 0;
}
