/**
 * @file
 * @brief Umbrella header: includes every public libpvcore header.
 */
#ifndef PVCORE_PVCORE_H
#define PVCORE_PVCORE_H

#include <pvcore/export.h>
#include <pvcore/version.h>
#include <pvcore/error.h>
#include <pvcore/types.h>
#include <pvcore/host.h>
#include <pvcore/machine.h>
#include <pvcore/domain.h>
#include <pvcore/mmu.h>
#include <pvcore/hypercall.h>
#include <pvcore/check.h>
#include <pvcore/guestmem.h>
#include <pvcore/cpu.h>
#include <pvcore/desc.h>
#include <pvcore/emulate.h>
#include <pvcore/grant.h>
#include <pvcore/memory.h>
#include <pvcore/vcpu.h>
#include <pvcore/evtchn.h>
#include <pvcore/time.h>
#include <pvcore/sched.h>
#include <pvcore/trace.h>
#include <pvcore/builder.h>
#include <pvcore/console.h>
#include <pvcore/xenstore.h>

#endif /* PVCORE_PVCORE_H */
