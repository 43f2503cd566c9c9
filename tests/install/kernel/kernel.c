/* A tiny freestanding "kernel" built out of tree against the installed libpvcore: the core,
 * the x86 backend and the guest side, linked with -nostdlib at a hypervisor's address
 * (tests/install/check-install.sh). It is linked, not run. */
#include <stddef.h>
#include <stdint.h>

#include <pvcore/pvcore.h>
#include <pvcore/arch/x86.h>
#include <pvcore/guest/evtchn.h>

void kernel_main(void);

static volatile size_t sink;

void kernel_main(void)
{
    uint32_t regs[4];

    sink = pvcore_machine_size(4) + pvcore_frame_table_size(1024) + pvcore_version();
    sink += pvcore_guest_evtchn_size(1, 64);
    pvcore_x86_cpuid(0, 0, regs);
    sink += regs[0];
    for (;;)
        pvcore_x86_hlt();
}
