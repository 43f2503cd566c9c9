/*
 * abi_check: proves that libpvcore's wire-ABI headers (include/pvcore/abi) match the Xen
 * public headers installed by Debian's libxen-dev, constant by constant and field by
 * field.
 *
 * Every comparison is a static assertion, so any mismatch stops the build. Each one also
 * bumps a counter when main() runs, so ctest shows how many comparisons the build made.
 * The program is built twice: for x86-64 (our _x86_64 layouts against Xen's native ones)
 * and for i386 (our _x86_32 layouts against Xen's native ones). Both builds also compare
 * both widths with Xen's generated "foreign" headers (xen/foreign/x86_32.h and
 * x86_64.h), and compare the width-specific structures that have no foreign version with
 * a table of expected offsets; each table entry is itself checked against Xen's native
 * header in the build of the matching width.
 *
 * Per field the test compares offset and size and, for integer fields, signedness
 * (plain char, signed, unsigned); per array field also the element size and signedness;
 * per constant the value and signedness.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Ask for the newest interface the installed headers know (the macro is expanded only
 * where xen-compat.h tests it, after defining the latest version). Without this Xen's
 * headers select the legacy 0x00000000 interface, which among other things turns
 * CALLBACKTYPE_sysenter into 3 and drops vcpu_time_info.flags and the grant-table v2
 * operations.
 */
#define __XEN_INTERFACE_VERSION__ __XEN_LATEST_INTERFACE_VERSION__

#include <xen/xen.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/memory.h>
#include <xen/io/ring.h>
#include <xen/io/console.h>
#include <xen/callback.h>
#include <xen/sched.h>
#include <xen/version.h>
#include <xen/features.h>
#include <xen/elfnote.h>
#include <xen/vcpu.h>
/* Included the default way this defines `enum xen_errno` with XEN_EPERM etc.; see also
 * check_errno(), which includes it a second time the X-macro way. */
#include <xen/errno.h>

/*
 * The generated foreign headers describe both guest widths whatever the compiler's.
 * Each defines xen_wc_sec_hi differently from xen.h, so drop it between includes. In
 * strict ISO mode (__STRICT_ANSI__) x86_64.h spells its alignment attribute as the
 * placeholder FIXME; give the placeholder the meaning the GNU branch of that header uses.
 */
#undef xen_wc_sec_hi
#include <xen/foreign/x86_32.h>
#undef xen_wc_sec_hi
#define FIXME __attribute__((aligned(8)))
#include <xen/foreign/x86_64.h>
#undef FIXME
#undef xen_wc_sec_hi

#include <pvcore/abi/errno.h>
#include <pvcore/abi/xen.h>
#include <pvcore/abi/event_channel.h>
#include <pvcore/abi/grant_table.h>
#include <pvcore/abi/memory.h>
#include <pvcore/abi/ring.h>
#include <pvcore/abi/console.h>
#include <pvcore/abi/elfnote.h>
#include <pvcore/abi/vcpu.h>

#if defined(__x86_64__)
#define ABI_WIDTH "64-bit"
#elif defined(__i386__)
#define ABI_WIDTH "32-bit"
#else
#error "abi_check compares x86 layouts; build it for x86-64 or i386"
#endif

/* Written against Xen 4.17's headers (interface 0x00040e00); older ones lack things. */
_Static_assert(__XEN_INTERFACE_VERSION__ >= 0x00040e00, "libxen-dev 4.17 or newer is needed");

/* ======================================================================================
 * Check machinery
 * =================================================================================== */

#include "abi_compare.h"

/* Array typedef: size, element size and signedness. */
#define ATYPE(ours, theirs)                                                               \
    do {                                                                                  \
        CHECK(sizeof(ours) == sizeof(theirs));                                            \
        CHECK(sizeof((*(ours *)0)[0]) == sizeof((*(theirs *)0)[0]));                      \
        CHECK(SIGNCLASS((*(ours *)0)[0]) == SIGNCLASS((*(theirs *)0)[0]));                \
    } while (0)
/* `alias` is the typedef of `target`. */
#define ALIAS(alias, target) CHECK(_Generic((alias *)0, target *: 1, default: 0))

/*
 * Expected layouts of width-specific structures that have no foreign-header version.
 * L32 / L64 check our _x86_32 / _x86_64 structure against the literal offset and size in
 * both builds, and Xen's native structure against the same numbers in the build of that
 * width, so the literals are themselves proven by the other build.
 */
#if defined(__x86_64__)
#define XEN_AT64(X, f, off, sz) CHECK(offsetof(X, f) == (off)); CHECK(MSIZE(X, f) == (sz))
#define XEN_AT32(X, f, off, sz) ((void)0)
#define XEN_SZ64(X, sz) CHECK(sizeof(X) == (sz))
#define XEN_SZ32(X, sz) ((void)0)
#else
#define XEN_AT64(X, f, off, sz) ((void)0)
#define XEN_AT32(X, f, off, sz) CHECK(offsetof(X, f) == (off)); CHECK(MSIZE(X, f) == (sz))
#define XEN_SZ64(X, sz) ((void)0)
#define XEN_SZ32(X, sz) CHECK(sizeof(X) == (sz))
#endif
#define L32(...) L32_(__VA_ARGS__)
#define L32_(A, X, f, off, sz)                                                            \
    do {                                                                                  \
        CHECK(offsetof(A, f) == (off));                                                   \
        CHECK(MSIZE(A, f) == (sz));                                                       \
        XEN_AT32(X, f, off, sz);                                                          \
    } while (0)
#define L64(...) L64_(__VA_ARGS__)
#define L64_(A, X, f, off, sz)                                                            \
    do {                                                                                  \
        CHECK(offsetof(A, f) == (off));                                                   \
        CHECK(MSIZE(A, f) == (sz));                                                       \
        XEN_AT64(X, f, off, sz);                                                          \
    } while (0)
#define S32(...) S32_(__VA_ARGS__)
#define S32_(A, X, sz)                                                                    \
    do {                                                                                  \
        CHECK(sizeof(A) == (sz));                                                         \
        XEN_SZ32(X, sz);                                                                  \
    } while (0)
#define S64(...) S64_(__VA_ARGS__)
#define S64_(A, X, sz)                                                                    \
    do {                                                                                  \
        CHECK(sizeof(A) == (sz));                                                         \
        XEN_SZ64(X, sz);                                                                  \
    } while (0)

/* Our structure of the compiler's own width, for comparisons with Xen's native ones. */
#if defined(__x86_64__)
#define NATIVE(name) struct pvcore_##name##_x86_64
#else
#define NATIVE(name) struct pvcore_##name##_x86_32
#endif

/* ======================================================================================
 * errno.h
 * =================================================================================== */

static void check_errno(void)
{
    TYPE(pvcore_errno_t, int);

    /* Against the enumeration of the default include. */
    CONST(PVCORE_EPERM, XEN_EPERM);
    CONST(PVCORE_ENOENT, XEN_ENOENT);
    CONST(PVCORE_ESRCH, XEN_ESRCH);
    CONST(PVCORE_EIO, XEN_EIO);
    CONST(PVCORE_ENXIO, XEN_ENXIO);
    CONST(PVCORE_E2BIG, XEN_E2BIG);
    CONST(PVCORE_ENOEXEC, XEN_ENOEXEC);
    CONST(PVCORE_EBADF, XEN_EBADF);
    CONST(PVCORE_ECHILD, XEN_ECHILD);
    CONST(PVCORE_EAGAIN, XEN_EAGAIN);
    CONST(PVCORE_EWOULDBLOCK, XEN_EWOULDBLOCK);
    CONST(PVCORE_ENOMEM, XEN_ENOMEM);
    CONST(PVCORE_EACCES, XEN_EACCES);
    CONST(PVCORE_EFAULT, XEN_EFAULT);
    CONST(PVCORE_EBUSY, XEN_EBUSY);
    CONST(PVCORE_EEXIST, XEN_EEXIST);
    CONST(PVCORE_EXDEV, XEN_EXDEV);
    CONST(PVCORE_ENODEV, XEN_ENODEV);
    CONST(PVCORE_ENOTDIR, XEN_ENOTDIR);
    CONST(PVCORE_EISDIR, XEN_EISDIR);
    CONST(PVCORE_EINVAL, XEN_EINVAL);
    CONST(PVCORE_ENFILE, XEN_ENFILE);
    CONST(PVCORE_EMFILE, XEN_EMFILE);
    CONST(PVCORE_ENOSPC, XEN_ENOSPC);
    CONST(PVCORE_EROFS, XEN_EROFS);
    CONST(PVCORE_EMLINK, XEN_EMLINK);
    CONST(PVCORE_EDOM, XEN_EDOM);
    CONST(PVCORE_ERANGE, XEN_ERANGE);
    CONST(PVCORE_EDEADLK, XEN_EDEADLK);
    CONST(PVCORE_EDEADLOCK, XEN_EDEADLOCK);
    CONST(PVCORE_ENAMETOOLONG, XEN_ENAMETOOLONG);
    CONST(PVCORE_ENOLCK, XEN_ENOLCK);
    CONST(PVCORE_ENOSYS, XEN_ENOSYS);
    CONST(PVCORE_ENOTEMPTY, XEN_ENOTEMPTY);
    CONST(PVCORE_ENODATA, XEN_ENODATA);
    CONST(PVCORE_ETIME, XEN_ETIME);
    CONST(PVCORE_EBADMSG, XEN_EBADMSG);
    CONST(PVCORE_EOVERFLOW, XEN_EOVERFLOW);
    CONST(PVCORE_EILSEQ, XEN_EILSEQ);
    CONST(PVCORE_ENOTSOCK, XEN_ENOTSOCK);
    CONST(PVCORE_EMSGSIZE, XEN_EMSGSIZE);
    CONST(PVCORE_EOPNOTSUPP, XEN_EOPNOTSUPP);
    CONST(PVCORE_EADDRINUSE, XEN_EADDRINUSE);
    CONST(PVCORE_EADDRNOTAVAIL, XEN_EADDRNOTAVAIL);
    CONST(PVCORE_ENOBUFS, XEN_ENOBUFS);
    CONST(PVCORE_EISCONN, XEN_EISCONN);
    CONST(PVCORE_ENOTCONN, XEN_ENOTCONN);
    CONST(PVCORE_ETIMEDOUT, XEN_ETIMEDOUT);
    CONST(PVCORE_ECONNREFUSED, XEN_ECONNREFUSED);

    /*
     * Completeness: include the list again the X-macro way, with the hypervisor-internal
     * entries (EINTR, ERESTART) enabled, so that every name Xen lists must exist here with
     * the same value. The header has no guard in this mode and undefines XEN_ERRNO.
     */
#define XEN_ERRNO(name, value) CONST(PVCORE_##name, value);
#define __XEN__ 1
#include <xen/errno.h>
#undef __XEN__
#ifdef XEN_ERRNO
#error "xen/errno.h should have undefined XEN_ERRNO"
#endif
}

/* ======================================================================================
 * xen.h: constants
 * =================================================================================== */

static void check_xen_constants(void)
{
    TYPE(pvcore_domid_t, domid_t);
    TYPE(pvcore_xen_ulong_x86_32_t, uint32_t);
    TYPE(pvcore_xen_ulong_x86_64_t, uint64_t);
    TYPE(pvcore_xen_pfn_x86_32_t, uint32_t);
    TYPE(pvcore_xen_pfn_x86_64_t, uint64_t);
    ATYPE(pvcore_xen_domain_handle_t, xen_domain_handle_t);
#if defined(__x86_64__)
    TYPE(pvcore_xen_ulong_x86_64_t, xen_ulong_t);
    TYPE(pvcore_xen_pfn_x86_64_t, xen_pfn_t);
    TYPE(pvcore_xen_callback_x86_64_t, xen_callback_t);
#else
    TYPE(pvcore_xen_ulong_x86_32_t, xen_ulong_t);
    TYPE(pvcore_xen_pfn_x86_32_t, xen_pfn_t);
#endif
    TYPE(pvcore_xen_ulong_t, xen_ulong_t);
    TYPE(pvcore_xen_pfn_t, xen_pfn_t);

    CONST(PVCORE_DOMID_FIRST_RESERVED, DOMID_FIRST_RESERVED);
    CONST(PVCORE_DOMID_SELF, DOMID_SELF);
    CONST(PVCORE_DOMID_IO, DOMID_IO);
    CONST(PVCORE_DOMID_XEN, DOMID_XEN);
    CONST(PVCORE_DOMID_COW, DOMID_COW);
    CONST(PVCORE_DOMID_INVALID, DOMID_INVALID);
    CONST(PVCORE_DOMID_IDLE, DOMID_IDLE);
    CONST(PVCORE_DOMID_MASK, DOMID_MASK);
#ifdef DOMID_ANY
    CONST(PVCORE_DOMID_ANY, DOMID_ANY);
#else
    /* Xen 4.17's headers predate DOMID_ANY; later ones define it as 0x7FF5U. */
    CONST(PVCORE_DOMID_ANY, 0x7FF5U);
#endif

    CONST(PVCORE_HYPERVISOR_set_trap_table, __HYPERVISOR_set_trap_table);
    CONST(PVCORE_HYPERVISOR_mmu_update, __HYPERVISOR_mmu_update);
    CONST(PVCORE_HYPERVISOR_set_gdt, __HYPERVISOR_set_gdt);
    CONST(PVCORE_HYPERVISOR_stack_switch, __HYPERVISOR_stack_switch);
    CONST(PVCORE_HYPERVISOR_set_callbacks, __HYPERVISOR_set_callbacks);
    CONST(PVCORE_HYPERVISOR_fpu_taskswitch, __HYPERVISOR_fpu_taskswitch);
    CONST(PVCORE_HYPERVISOR_sched_op_compat, __HYPERVISOR_sched_op_compat);
    CONST(PVCORE_HYPERVISOR_platform_op, __HYPERVISOR_platform_op);
    CONST(PVCORE_HYPERVISOR_set_debugreg, __HYPERVISOR_set_debugreg);
    CONST(PVCORE_HYPERVISOR_get_debugreg, __HYPERVISOR_get_debugreg);
    CONST(PVCORE_HYPERVISOR_update_descriptor, __HYPERVISOR_update_descriptor);
    CONST(PVCORE_HYPERVISOR_memory_op, __HYPERVISOR_memory_op);
    CONST(PVCORE_HYPERVISOR_multicall, __HYPERVISOR_multicall);
    CONST(PVCORE_HYPERVISOR_update_va_mapping, __HYPERVISOR_update_va_mapping);
    CONST(PVCORE_HYPERVISOR_set_timer_op, __HYPERVISOR_set_timer_op);
    CONST(PVCORE_HYPERVISOR_event_channel_op_compat, __HYPERVISOR_event_channel_op_compat);
    CONST(PVCORE_HYPERVISOR_xen_version, __HYPERVISOR_xen_version);
    CONST(PVCORE_HYPERVISOR_console_io, __HYPERVISOR_console_io);
    CONST(PVCORE_HYPERVISOR_physdev_op_compat, __HYPERVISOR_physdev_op_compat);
    CONST(PVCORE_HYPERVISOR_grant_table_op, __HYPERVISOR_grant_table_op);
    CONST(PVCORE_HYPERVISOR_vm_assist, __HYPERVISOR_vm_assist);
    CONST(PVCORE_HYPERVISOR_update_va_mapping_otherdomain,
          __HYPERVISOR_update_va_mapping_otherdomain);
    CONST(PVCORE_HYPERVISOR_iret, __HYPERVISOR_iret);
    CONST(PVCORE_HYPERVISOR_vcpu_op, __HYPERVISOR_vcpu_op);
    CONST(PVCORE_HYPERVISOR_set_segment_base, __HYPERVISOR_set_segment_base);
    CONST(PVCORE_HYPERVISOR_mmuext_op, __HYPERVISOR_mmuext_op);
    CONST(PVCORE_HYPERVISOR_xsm_op, __HYPERVISOR_xsm_op);
    CONST(PVCORE_HYPERVISOR_nmi_op, __HYPERVISOR_nmi_op);
    CONST(PVCORE_HYPERVISOR_sched_op, __HYPERVISOR_sched_op);
    CONST(PVCORE_HYPERVISOR_callback_op, __HYPERVISOR_callback_op);
    CONST(PVCORE_HYPERVISOR_xenoprof_op, __HYPERVISOR_xenoprof_op);
    CONST(PVCORE_HYPERVISOR_event_channel_op, __HYPERVISOR_event_channel_op);
    CONST(PVCORE_HYPERVISOR_physdev_op, __HYPERVISOR_physdev_op);
    CONST(PVCORE_HYPERVISOR_hvm_op, __HYPERVISOR_hvm_op);
    CONST(PVCORE_HYPERVISOR_sysctl, __HYPERVISOR_sysctl);
    CONST(PVCORE_HYPERVISOR_domctl, __HYPERVISOR_domctl);
    CONST(PVCORE_HYPERVISOR_kexec_op, __HYPERVISOR_kexec_op);
    CONST(PVCORE_HYPERVISOR_tmem_op, __HYPERVISOR_tmem_op);
    CONST(PVCORE_HYPERVISOR_argo_op, __HYPERVISOR_argo_op);
    CONST(PVCORE_HYPERVISOR_xenpmu_op, __HYPERVISOR_xenpmu_op);
    CONST(PVCORE_HYPERVISOR_dm_op, __HYPERVISOR_dm_op);
    CONST(PVCORE_HYPERVISOR_hypfs_op, __HYPERVISOR_hypfs_op);
    CONST(PVCORE_HYPERVISOR_arch_0, __HYPERVISOR_arch_0);
    CONST(PVCORE_HYPERVISOR_arch_1, __HYPERVISOR_arch_1);
    CONST(PVCORE_HYPERVISOR_arch_2, __HYPERVISOR_arch_2);
    CONST(PVCORE_HYPERVISOR_arch_3, __HYPERVISOR_arch_3);
    CONST(PVCORE_HYPERVISOR_arch_4, __HYPERVISOR_arch_4);
    CONST(PVCORE_HYPERVISOR_arch_5, __HYPERVISOR_arch_5);
    CONST(PVCORE_HYPERVISOR_arch_6, __HYPERVISOR_arch_6);
    CONST(PVCORE_HYPERVISOR_arch_7, __HYPERVISOR_arch_7);

    CONST(PVCORE_VMASST_CMD_enable, VMASST_CMD_enable);
    CONST(PVCORE_VMASST_CMD_disable, VMASST_CMD_disable);
    CONST(PVCORE_VMASST_TYPE_4gb_segments, VMASST_TYPE_4gb_segments);
    CONST(PVCORE_VMASST_TYPE_4gb_segments_notify, VMASST_TYPE_4gb_segments_notify);
    CONST(PVCORE_VMASST_TYPE_writable_pagetables, VMASST_TYPE_writable_pagetables);
    CONST(PVCORE_VMASST_TYPE_pae_extended_cr3, VMASST_TYPE_pae_extended_cr3);
    CONST(PVCORE_VMASST_TYPE_architectural_iopl, VMASST_TYPE_architectural_iopl);
    CONST(PVCORE_VMASST_TYPE_runstate_update_flag, VMASST_TYPE_runstate_update_flag);
    CONST(PVCORE_VMASST_TYPE_m2p_strict, VMASST_TYPE_m2p_strict);

    CONST(PVCORE_MMU_NORMAL_PT_UPDATE, MMU_NORMAL_PT_UPDATE);
    CONST(PVCORE_MMU_MACHPHYS_UPDATE, MMU_MACHPHYS_UPDATE);
    CONST(PVCORE_MMU_PT_UPDATE_PRESERVE_AD, MMU_PT_UPDATE_PRESERVE_AD);
    CONST(PVCORE_MMU_PT_UPDATE_NO_TRANSLATE, MMU_PT_UPDATE_NO_TRANSLATE);
    /* Not in the public headers: Xen defines it as the top bit of an unsigned int, and
     * decodes the sub-command from the bits below the 8-byte entry alignment. */
    CONST(PVCORE_MMU_UPDATE_PREEMPTED, ~(~0U >> 1));
    CONST(PVCORE_MMU_UPDATE_CMD_MASK, (unsigned)sizeof(uint64_t) - 1U);

    CONST(PVCORE_MMUEXT_PIN_L1_TABLE, MMUEXT_PIN_L1_TABLE);
    CONST(PVCORE_MMUEXT_PIN_L2_TABLE, MMUEXT_PIN_L2_TABLE);
    CONST(PVCORE_MMUEXT_PIN_L3_TABLE, MMUEXT_PIN_L3_TABLE);
    CONST(PVCORE_MMUEXT_PIN_L4_TABLE, MMUEXT_PIN_L4_TABLE);
    CONST(PVCORE_MMUEXT_UNPIN_TABLE, MMUEXT_UNPIN_TABLE);
    CONST(PVCORE_MMUEXT_NEW_BASEPTR, MMUEXT_NEW_BASEPTR);
    CONST(PVCORE_MMUEXT_TLB_FLUSH_LOCAL, MMUEXT_TLB_FLUSH_LOCAL);
    CONST(PVCORE_MMUEXT_INVLPG_LOCAL, MMUEXT_INVLPG_LOCAL);
    CONST(PVCORE_MMUEXT_TLB_FLUSH_MULTI, MMUEXT_TLB_FLUSH_MULTI);
    CONST(PVCORE_MMUEXT_INVLPG_MULTI, MMUEXT_INVLPG_MULTI);
    CONST(PVCORE_MMUEXT_TLB_FLUSH_ALL, MMUEXT_TLB_FLUSH_ALL);
    CONST(PVCORE_MMUEXT_INVLPG_ALL, MMUEXT_INVLPG_ALL);
    CONST(PVCORE_MMUEXT_FLUSH_CACHE, MMUEXT_FLUSH_CACHE);
    CONST(PVCORE_MMUEXT_SET_LDT, MMUEXT_SET_LDT);
    CONST(PVCORE_MMUEXT_NEW_USER_BASEPTR, MMUEXT_NEW_USER_BASEPTR);
    CONST(PVCORE_MMUEXT_CLEAR_PAGE, MMUEXT_CLEAR_PAGE);
    CONST(PVCORE_MMUEXT_COPY_PAGE, MMUEXT_COPY_PAGE);
    CONST(PVCORE_MMUEXT_FLUSH_CACHE_GLOBAL, MMUEXT_FLUSH_CACHE_GLOBAL);
    CONST(PVCORE_MMUEXT_MARK_SUPER, MMUEXT_MARK_SUPER);
    CONST(PVCORE_MMUEXT_UNMARK_SUPER, MMUEXT_UNMARK_SUPER);

    CONST(PVCORE_UVMF_NONE, UVMF_NONE);
    CONST(PVCORE_UVMF_TLB_FLUSH, UVMF_TLB_FLUSH);
    CONST(PVCORE_UVMF_INVLPG, UVMF_INVLPG);
    CONST(PVCORE_UVMF_FLUSHTYPE_MASK, UVMF_FLUSHTYPE_MASK);
    CONST(PVCORE_UVMF_MULTI, UVMF_MULTI);
    CONST(PVCORE_UVMF_LOCAL, UVMF_LOCAL);
    CONST(PVCORE_UVMF_ALL, UVMF_ALL);

    CONST(PVCORE_CONSOLEIO_write, CONSOLEIO_write);
    CONST(PVCORE_CONSOLEIO_read, CONSOLEIO_read);

    CONST(PVCORE_SCHEDOP_yield, SCHEDOP_yield);
    CONST(PVCORE_SCHEDOP_block, SCHEDOP_block);
    CONST(PVCORE_SCHEDOP_shutdown, SCHEDOP_shutdown);
    CONST(PVCORE_SCHEDOP_poll, SCHEDOP_poll);
    CONST(PVCORE_SCHEDOP_remote_shutdown, SCHEDOP_remote_shutdown);
    CONST(PVCORE_SCHEDOP_shutdown_code, SCHEDOP_shutdown_code);
    CONST(PVCORE_SCHEDOP_watchdog, SCHEDOP_watchdog);
    CONST(PVCORE_SCHEDOP_pin_override, SCHEDOP_pin_override);
    CONST(PVCORE_SHUTDOWN_poweroff, SHUTDOWN_poweroff);
    CONST(PVCORE_SHUTDOWN_reboot, SHUTDOWN_reboot);
    CONST(PVCORE_SHUTDOWN_suspend, SHUTDOWN_suspend);
    CONST(PVCORE_SHUTDOWN_crash, SHUTDOWN_crash);
    CONST(PVCORE_SHUTDOWN_watchdog, SHUTDOWN_watchdog);
    CONST(PVCORE_SHUTDOWN_soft_reset, SHUTDOWN_soft_reset);
    CONST(PVCORE_SHUTDOWN_MAX, SHUTDOWN_MAX);

    CONST(PVCORE_XENVER_version, XENVER_version);
    CONST(PVCORE_XENVER_extraversion, XENVER_extraversion);
    CONST(PVCORE_XENVER_compile_info, XENVER_compile_info);
    CONST(PVCORE_XENVER_capabilities, XENVER_capabilities);
    CONST(PVCORE_XENVER_changeset, XENVER_changeset);
    CONST(PVCORE_XENVER_platform_parameters, XENVER_platform_parameters);
    CONST(PVCORE_XENVER_get_features, XENVER_get_features);
    CONST(PVCORE_XENVER_pagesize, XENVER_pagesize);
    CONST(PVCORE_XENVER_guest_handle, XENVER_guest_handle);
    CONST(PVCORE_XENVER_commandline, XENVER_commandline);
    CONST(PVCORE_XENVER_build_id, XENVER_build_id);
    CONST(PVCORE_XEN_EXTRAVERSION_LEN, XEN_EXTRAVERSION_LEN);
    CONST(PVCORE_XEN_CAPABILITIES_INFO_LEN, XEN_CAPABILITIES_INFO_LEN);
    CONST(PVCORE_XEN_CHANGESET_INFO_LEN, XEN_CHANGESET_INFO_LEN);
    CONST(PVCORE_XEN_COMMANDLINE_LEN, sizeof(xen_commandline_t));
    ATYPE(pvcore_xen_extraversion_t, xen_extraversion_t);
    ATYPE(pvcore_xen_capabilities_info_t, xen_capabilities_info_t);
    ATYPE(pvcore_xen_changeset_info_t, xen_changeset_info_t);
    ATYPE(pvcore_xen_commandline_t, xen_commandline_t);

    CONST(PVCORE_XENFEAT_writable_page_tables, XENFEAT_writable_page_tables);
    CONST(PVCORE_XENFEAT_writable_descriptor_tables, XENFEAT_writable_descriptor_tables);
    CONST(PVCORE_XENFEAT_auto_translated_physmap, XENFEAT_auto_translated_physmap);
    CONST(PVCORE_XENFEAT_supervisor_mode_kernel, XENFEAT_supervisor_mode_kernel);
    CONST(PVCORE_XENFEAT_pae_pgdir_above_4gb, XENFEAT_pae_pgdir_above_4gb);
    CONST(PVCORE_XENFEAT_mmu_pt_update_preserve_ad, XENFEAT_mmu_pt_update_preserve_ad);
    CONST(PVCORE_XENFEAT_highmem_assist, XENFEAT_highmem_assist);
    CONST(PVCORE_XENFEAT_gnttab_map_avail_bits, XENFEAT_gnttab_map_avail_bits);
    CONST(PVCORE_XENFEAT_hvm_callback_vector, XENFEAT_hvm_callback_vector);
    CONST(PVCORE_XENFEAT_hvm_safe_pvclock, XENFEAT_hvm_safe_pvclock);
    CONST(PVCORE_XENFEAT_hvm_pirqs, XENFEAT_hvm_pirqs);
    CONST(PVCORE_XENFEAT_dom0, XENFEAT_dom0);
    CONST(PVCORE_XENFEAT_memory_op_vnode_supported, XENFEAT_memory_op_vnode_supported);
    CONST(PVCORE_XENFEAT_ARM_SMCCC_supported, XENFEAT_ARM_SMCCC_supported);
    CONST(PVCORE_XENFEAT_linux_rsdp_unrestricted, XENFEAT_linux_rsdp_unrestricted);
    CONST(PVCORE_XENFEAT_not_direct_mapped, XENFEAT_not_direct_mapped);
    CONST(PVCORE_XENFEAT_direct_mapped, XENFEAT_direct_mapped);
    CONST(PVCORE_XENFEAT_NR_SUBMAPS, XENFEAT_NR_SUBMAPS);

    CONST(PVCORE_FIRST_RESERVED_GDT_PAGE, FIRST_RESERVED_GDT_PAGE);
    CONST(PVCORE_FIRST_RESERVED_GDT_BYTE, FIRST_RESERVED_GDT_BYTE);
    CONST(PVCORE_FIRST_RESERVED_GDT_ENTRY, FIRST_RESERVED_GDT_ENTRY);
    CONST(PVCORE_XEN_LEGACY_MAX_VCPUS, XEN_LEGACY_MAX_VCPUS);
    CONST(PVCORE_XEN_LEGACY_MAX_VCPUS, XEN_LEGACY_MAX_VCPUS_X86_32);
    CONST(PVCORE_XEN_LEGACY_MAX_VCPUS, XEN_LEGACY_MAX_VCPUS_X86_64);

    CONST(PVCORE_CALLBACKTYPE_event, CALLBACKTYPE_event);
    CONST(PVCORE_CALLBACKTYPE_failsafe, CALLBACKTYPE_failsafe);
    CONST(PVCORE_CALLBACKTYPE_syscall, CALLBACKTYPE_syscall);
    CONST(PVCORE_CALLBACKTYPE_sysenter_deprecated, CALLBACKTYPE_sysenter_deprecated);
    CONST(PVCORE_CALLBACKTYPE_nmi, CALLBACKTYPE_nmi);
    CONST(PVCORE_CALLBACKTYPE_sysenter, CALLBACKTYPE_sysenter);
    CONST(PVCORE_CALLBACKTYPE_syscall32, CALLBACKTYPE_syscall32);
    CONST(PVCORE_CALLBACKF_mask_events_BIT, _CALLBACKF_mask_events);
    CONST(PVCORE_CALLBACKF_mask_events, CALLBACKF_mask_events);
    CONST(PVCORE_CALLBACKOP_register, CALLBACKOP_register);
    CONST(PVCORE_CALLBACKOP_unregister, CALLBACKOP_unregister);

    CONST(PVCORE_XEN_PVCLOCK_TSC_STABLE_BIT, XEN_PVCLOCK_TSC_STABLE_BIT);
    CONST(PVCORE_XEN_PVCLOCK_GUEST_STOPPED, XEN_PVCLOCK_GUEST_STOPPED);

    CONST(PVCORE_MAX_GUEST_CMDLINE, MAX_GUEST_CMDLINE);
    CONST(PVCORE_MAX_GUEST_CMDLINE, MAX_GUEST_CMDLINE_X86_32);
    CONST(PVCORE_MAX_GUEST_CMDLINE, MAX_GUEST_CMDLINE_X86_64);
    CONST(PVCORE_SIF_PRIVILEGED, SIF_PRIVILEGED);
    CONST(PVCORE_SIF_INITDOMAIN, SIF_INITDOMAIN);
    CONST(PVCORE_SIF_MULTIBOOT_MOD, SIF_MULTIBOOT_MOD);
    CONST(PVCORE_SIF_MOD_START_PFN, SIF_MOD_START_PFN);
    CONST(PVCORE_SIF_VIRT_P2M_4TOOLS, SIF_VIRT_P2M_4TOOLS);
    CONST(PVCORE_SIF_PM_MASK, SIF_PM_MASK);

    /* Flat selectors from the foreign headers (both builds); these list a subset. */
    CONST(PVCORE_FLAT_RING1_CS_X86_32, FLAT_RING1_CS_X86_32);
    CONST(PVCORE_FLAT_RING1_DS_X86_32, FLAT_RING1_DS_X86_32);
    CONST(PVCORE_FLAT_RING1_SS_X86_32, FLAT_RING1_SS_X86_32);
    CONST(PVCORE_FLAT_KERNEL_CS_X86_32, FLAT_KERNEL_CS_X86_32);
    CONST(PVCORE_FLAT_KERNEL_DS_X86_32, FLAT_KERNEL_DS_X86_32);
    CONST(PVCORE_FLAT_KERNEL_SS_X86_32, FLAT_KERNEL_SS_X86_32);
    CONST(PVCORE_FLAT_RING3_CS64_X86_64, FLAT_RING3_CS64_X86_64);
    CONST(PVCORE_FLAT_RING3_DS64_X86_64, FLAT_RING3_DS64_X86_64);
    CONST(PVCORE_FLAT_RING3_SS64_X86_64, FLAT_RING3_SS64_X86_64);
    CONST(PVCORE_FLAT_KERNEL_DS64_X86_64, FLAT_KERNEL_DS64_X86_64);
    CONST(PVCORE_FLAT_KERNEL_DS_X86_64, FLAT_KERNEL_DS_X86_64);
    CONST(PVCORE_FLAT_KERNEL_CS64_X86_64, FLAT_KERNEL_CS64_X86_64);
    CONST(PVCORE_FLAT_KERNEL_CS_X86_64, FLAT_KERNEL_CS_X86_64);
    CONST(PVCORE_FLAT_KERNEL_SS64_X86_64, FLAT_KERNEL_SS64_X86_64);
    CONST(PVCORE_FLAT_KERNEL_SS_X86_64, FLAT_KERNEL_SS_X86_64);

    /* The rest of the width-specific constants, against the native header. */
#if defined(__x86_64__)
    CONST(PVCORE_FLAT_RING3_CS32_X86_64, FLAT_RING3_CS32);
    CONST(PVCORE_FLAT_RING3_CS64_X86_64, FLAT_RING3_CS64);
    CONST(PVCORE_FLAT_RING3_DS32_X86_64, FLAT_RING3_DS32);
    CONST(PVCORE_FLAT_RING3_DS64_X86_64, FLAT_RING3_DS64);
    CONST(PVCORE_FLAT_RING3_SS32_X86_64, FLAT_RING3_SS32);
    CONST(PVCORE_FLAT_RING3_SS64_X86_64, FLAT_RING3_SS64);
    CONST(PVCORE_FLAT_KERNEL_DS64_X86_64, FLAT_KERNEL_DS64);
    CONST(PVCORE_FLAT_KERNEL_DS32_X86_64, FLAT_KERNEL_DS32);
    CONST(PVCORE_FLAT_KERNEL_DS_X86_64, FLAT_KERNEL_DS);
    CONST(PVCORE_FLAT_KERNEL_CS64_X86_64, FLAT_KERNEL_CS64);
    CONST(PVCORE_FLAT_KERNEL_CS32_X86_64, FLAT_KERNEL_CS32);
    CONST(PVCORE_FLAT_KERNEL_CS_X86_64, FLAT_KERNEL_CS);
    CONST(PVCORE_FLAT_KERNEL_SS64_X86_64, FLAT_KERNEL_SS64);
    CONST(PVCORE_FLAT_KERNEL_SS32_X86_64, FLAT_KERNEL_SS32);
    CONST(PVCORE_FLAT_KERNEL_SS_X86_64, FLAT_KERNEL_SS);
    CONST(PVCORE_FLAT_USER_DS64_X86_64, FLAT_USER_DS64);
    CONST(PVCORE_FLAT_USER_DS32_X86_64, FLAT_USER_DS32);
    CONST(PVCORE_FLAT_USER_DS_X86_64, FLAT_USER_DS);
    CONST(PVCORE_FLAT_USER_CS64_X86_64, FLAT_USER_CS64);
    CONST(PVCORE_FLAT_USER_CS32_X86_64, FLAT_USER_CS32);
    CONST(PVCORE_FLAT_USER_CS_X86_64, FLAT_USER_CS);
    CONST(PVCORE_FLAT_USER_SS64_X86_64, FLAT_USER_SS64);
    CONST(PVCORE_FLAT_USER_SS32_X86_64, FLAT_USER_SS32);
    CONST(PVCORE_FLAT_USER_SS_X86_64, FLAT_USER_SS);
    CONST(PVCORE_HYPERVISOR_VIRT_START_X86_64, HYPERVISOR_VIRT_START);
    CONST(PVCORE_HYPERVISOR_VIRT_START_X86_64, __HYPERVISOR_VIRT_START);
    CONST(PVCORE_HYPERVISOR_VIRT_END_X86_64, HYPERVISOR_VIRT_END);
    CONST(PVCORE_HYPERVISOR_VIRT_END_X86_64, __HYPERVISOR_VIRT_END);
    CONST(PVCORE_MACH2PHYS_VIRT_START_X86_64, MACH2PHYS_VIRT_START);
    CONST(PVCORE_MACH2PHYS_VIRT_END_X86_64, MACH2PHYS_VIRT_END);
    CONST(PVCORE_MACH2PHYS_NR_ENTRIES_X86_64, MACH2PHYS_NR_ENTRIES);
    CONST(PVCORE_SEGBASE_FS, SEGBASE_FS);
    CONST(PVCORE_SEGBASE_GS_USER, SEGBASE_GS_USER);
    CONST(PVCORE_SEGBASE_GS_KERNEL, SEGBASE_GS_KERNEL);
    CONST(PVCORE_SEGBASE_GS_USER_SEL, SEGBASE_GS_USER_SEL);
    CONST(PVCORE_VGCF_i387_valid, VGCF_i387_valid);
    CONST(PVCORE_VGCF_in_kernel, VGCF_in_kernel);
    CONST(PVCORE_VGCF_failsafe_disables_events_BIT, _VGCF_failsafe_disables_events);
    CONST(PVCORE_VGCF_failsafe_disables_events, VGCF_failsafe_disables_events);
    CONST(PVCORE_VGCF_syscall_disables_events_BIT, _VGCF_syscall_disables_events);
    CONST(PVCORE_VGCF_syscall_disables_events, VGCF_syscall_disables_events);
    CONST(PVCORE_VGCF_online, VGCF_online);
#if defined(__x86_64__)
    CONST(PVCORE_VGCF_in_syscall_BIT, _VGCF_in_syscall);
    CONST(PVCORE_VGCF_in_syscall, VGCF_in_syscall);
#endif
    CONST(PVCORE_HYPERVISOR_VIRT_END, HYPERVISOR_VIRT_END);
#else
    CONST(PVCORE_FLAT_RING1_CS_X86_32, FLAT_RING1_CS);
    CONST(PVCORE_FLAT_RING1_DS_X86_32, FLAT_RING1_DS);
    CONST(PVCORE_FLAT_RING1_SS_X86_32, FLAT_RING1_SS);
    CONST(PVCORE_FLAT_RING3_CS_X86_32, FLAT_RING3_CS);
    CONST(PVCORE_FLAT_RING3_DS_X86_32, FLAT_RING3_DS);
    CONST(PVCORE_FLAT_RING3_SS_X86_32, FLAT_RING3_SS);
    CONST(PVCORE_FLAT_KERNEL_CS_X86_32, FLAT_KERNEL_CS);
    CONST(PVCORE_FLAT_KERNEL_DS_X86_32, FLAT_KERNEL_DS);
    CONST(PVCORE_FLAT_KERNEL_SS_X86_32, FLAT_KERNEL_SS);
    CONST(PVCORE_FLAT_USER_CS_X86_32, FLAT_USER_CS);
    CONST(PVCORE_FLAT_USER_DS_X86_32, FLAT_USER_DS);
    CONST(PVCORE_FLAT_USER_SS_X86_32, FLAT_USER_SS);
    CONST(PVCORE_HYPERVISOR_VIRT_START_X86_32, HYPERVISOR_VIRT_START);
    CONST(PVCORE_HYPERVISOR_VIRT_START_X86_32, __HYPERVISOR_VIRT_START_PAE);
    CONST(PVCORE_MACH2PHYS_VIRT_START_X86_32, MACH2PHYS_VIRT_START);
    CONST(PVCORE_MACH2PHYS_VIRT_START_X86_32, __MACH2PHYS_VIRT_START_PAE);
    CONST(PVCORE_MACH2PHYS_VIRT_END_X86_32, MACH2PHYS_VIRT_END);
    CONST(PVCORE_MACH2PHYS_VIRT_END_X86_32, __MACH2PHYS_VIRT_END_PAE);
    CONST(PVCORE_MACH2PHYS_NR_ENTRIES_X86_32, MACH2PHYS_NR_ENTRIES);
#endif
    /* Native aliases. */
    CONST(PVCORE_FLAT_KERNEL_CS, FLAT_KERNEL_CS);
    CONST(PVCORE_FLAT_KERNEL_DS, FLAT_KERNEL_DS);
    CONST(PVCORE_FLAT_KERNEL_SS, FLAT_KERNEL_SS);
    CONST(PVCORE_FLAT_USER_CS, FLAT_USER_CS);
    CONST(PVCORE_FLAT_USER_DS, FLAT_USER_DS);
    CONST(PVCORE_FLAT_USER_SS, FLAT_USER_SS);
    CONST(PVCORE_HYPERVISOR_VIRT_START, HYPERVISOR_VIRT_START);
    CONST(PVCORE_MACH2PHYS_VIRT_START, MACH2PHYS_VIRT_START);
    CONST(PVCORE_MACH2PHYS_VIRT_END, MACH2PHYS_VIRT_END);
    CONST(PVCORE_MACH2PHYS_NR_ENTRIES, MACH2PHYS_NR_ENTRIES);
}

/* ======================================================================================
 * xen.h: structures
 * =================================================================================== */

/* Pairs of (ours, Xen's) used below. */
#define P_MMU_UPDATE pvcore_mmu_update_t, struct mmu_update
#define P_MMUEXT NATIVE(mmuext_op), struct mmuext_op
#define P_MULTICALL NATIVE(multicall_entry), struct multicall_entry
#define P_SCHED_SHUTDOWN struct pvcore_sched_shutdown, struct sched_shutdown
#define P_SCHED_POLL NATIVE(sched_poll), struct sched_poll
#define P_SCHED_REMOTE struct pvcore_sched_remote_shutdown, struct sched_remote_shutdown
#define P_SCHED_WATCHDOG struct pvcore_sched_watchdog, struct sched_watchdog
#define P_SCHED_PIN struct pvcore_sched_pin_override, struct sched_pin_override
#define P_COMPILE_INFO struct pvcore_xen_compile_info, struct xen_compile_info
#define P_PLATFORM NATIVE(xen_platform_parameters), struct xen_platform_parameters
#define P_FEATURE struct pvcore_xen_feature_info, struct xen_feature_info
#define P_BUILD_ID struct pvcore_xen_build_id, struct xen_build_id
#define P_TRAP NATIVE(trap_info), struct trap_info
#define P_CB_REG NATIVE(callback_register), struct callback_register
#define P_CB_UNREG struct pvcore_callback_unregister, struct callback_unregister
#define P_TIME struct pvcore_vcpu_time_info, struct vcpu_time_info
#define P_ARCH_VCPU NATIVE(arch_vcpu_info), struct arch_vcpu_info
#define P_VCPU NATIVE(vcpu_info), struct vcpu_info
#define P_ARCH_SHARED NATIVE(arch_shared_info), struct arch_shared_info
#define P_SHARED NATIVE(shared_info), struct shared_info
#define P_START NATIVE(start_info), struct start_info

static void check_xen_structs_common(void)
{
    SZ(P_MMU_UPDATE);
    FLD(P_MMU_UPDATE, ptr);
    FLD(P_MMU_UPDATE, val);

    SZ(P_SCHED_SHUTDOWN);
    FLD(P_SCHED_SHUTDOWN, reason);
    SZ(P_SCHED_REMOTE);
    FLD(P_SCHED_REMOTE, domain_id);
    FLD(P_SCHED_REMOTE, reason);
    SZ(P_SCHED_WATCHDOG);
    FLD(P_SCHED_WATCHDOG, id);
    FLD(P_SCHED_WATCHDOG, timeout);
    SZ(P_SCHED_PIN);
    FLD(P_SCHED_PIN, pcpu);

    SZ(P_COMPILE_INFO);
    ARR(P_COMPILE_INFO, compiler);
    ARR(P_COMPILE_INFO, compile_by);
    ARR(P_COMPILE_INFO, compile_domain);
    ARR(P_COMPILE_INFO, compile_date);
    SZ(P_FEATURE);
    FLD(P_FEATURE, submap_idx);
    FLD(P_FEATURE, submap);
    SZ(P_BUILD_ID);
    FLD(P_BUILD_ID, len);
    CHECK(sizeof(struct pvcore_xen_build_id) == offsetof(struct xen_build_id, buf));

    SZ(P_CB_UNREG);
    FLD(P_CB_UNREG, type);
    FLD(P_CB_UNREG, _unused);

    SZ(P_TIME);
    FLD(P_TIME, version);
    FLD(P_TIME, pad0);
    FLD(P_TIME, tsc_timestamp);
    FLD(P_TIME, system_time);
    FLD(P_TIME, tsc_to_system_mul);
    FLD(P_TIME, tsc_shift);
    FLD(P_TIME, flags);
    ARR(P_TIME, pad1);
}

/* Our structures of the compiler's width against Xen's native ones. */
static void check_xen_structs_native(void)
{
    SZ(P_MMUEXT);
    FLD(P_MMUEXT, cmd);
    AGG(P_MMUEXT, arg1);
    FLD(P_MMUEXT, arg1.mfn);
    FLD(P_MMUEXT, arg1.linear_addr);
    AGG(P_MMUEXT, arg2);
    FLD(P_MMUEXT, arg2.nr_ents);
    AGG(P_MMUEXT, arg2.vcpumask); /* a guest handle in Xen, an address here */
    FLD(P_MMUEXT, arg2.src_mfn);
    ALIAS(pvcore_mmuext_op_t, NATIVE(mmuext_op));

    SZ(P_MULTICALL);
    FLD(P_MULTICALL, op);
    FLD(P_MULTICALL, result);
    ARR(P_MULTICALL, args);
    ALIAS(pvcore_multicall_entry_t, NATIVE(multicall_entry));

    SZ(P_SCHED_POLL);
    AGG(P_SCHED_POLL, ports);
    FLD(P_SCHED_POLL, nr_ports);
    FLD(P_SCHED_POLL, timeout);
    ALIAS(pvcore_sched_poll_t, NATIVE(sched_poll));

    SZ(P_PLATFORM);
    FLD(P_PLATFORM, virt_start);
    ALIAS(pvcore_xen_platform_parameters_t, NATIVE(xen_platform_parameters));

    SZ(P_TRAP);
    FLD(P_TRAP, vector);
    FLD(P_TRAP, flags);
    FLD(P_TRAP, cs);
    FLD(P_TRAP, address);
    ALIAS(pvcore_trap_info_t, NATIVE(trap_info));

    SZ(P_CB_REG);
    FLD(P_CB_REG, type);
    FLD(P_CB_REG, flags);
#if defined(__x86_64__)
    FLD(P_CB_REG, address);
    ALIAS(pvcore_xen_callback_t, pvcore_xen_callback_x86_64_t);
#else
    AGG(P_CB_REG, address);
    FLD(P_CB_REG, address.cs);
    FLD(P_CB_REG, address.eip);
    SZ(struct pvcore_xen_callback_x86_32, struct xen_callback);
    FLD(struct pvcore_xen_callback_x86_32, struct xen_callback, cs);
    FLD(struct pvcore_xen_callback_x86_32, struct xen_callback, eip);
    ALIAS(pvcore_xen_callback_t, pvcore_xen_callback_x86_32_t);
#endif
    ALIAS(pvcore_callback_register_t, NATIVE(callback_register));

    SZ(P_ARCH_VCPU);
    FLD(P_ARCH_VCPU, cr2);
#if defined(__x86_64__)
    FLD(P_ARCH_VCPU, pad);
#else
    ARR(P_ARCH_VCPU, pad);
#endif
    ALIAS(pvcore_arch_vcpu_info_t, NATIVE(arch_vcpu_info));

    SZ(P_VCPU);
    FLD(P_VCPU, evtchn_upcall_pending);
    FLD(P_VCPU, evtchn_upcall_mask);
    FLD(P_VCPU, evtchn_pending_sel);
    AGG(P_VCPU, arch);
    AGG(P_VCPU, time);
    FLD(P_VCPU, time.system_time);
    ALIAS(pvcore_vcpu_info_t, NATIVE(vcpu_info));

    SZ(P_ARCH_SHARED);
    FLD(P_ARCH_SHARED, max_pfn);
    FLD(P_ARCH_SHARED, pfn_to_mfn_frame_list_list);
    FLD(P_ARCH_SHARED, nmi_reason);
    FLD(P_ARCH_SHARED, p2m_cr3);
    FLD(P_ARCH_SHARED, p2m_vaddr);
    FLD(P_ARCH_SHARED, p2m_generation);
#if defined(__i386__)
    FLD(P_ARCH_SHARED, wc_sec_hi);
#endif
    ALIAS(pvcore_arch_shared_info_t, NATIVE(arch_shared_info));

    SZ(P_SHARED);
    ARR(P_SHARED, vcpu_info);
    FLD(P_SHARED, vcpu_info[31].evtchn_upcall_mask);
    FLD(P_SHARED, vcpu_info[31].time.tsc_timestamp);
    ARR(P_SHARED, evtchn_pending);
    ARR(P_SHARED, evtchn_mask);
    FLD(P_SHARED, wc_version);
    FLD(P_SHARED, wc_sec);
    FLD(P_SHARED, wc_nsec);
#if defined(__x86_64__)
    FLD(P_SHARED, wc_sec_hi);
#else
    FLD(P_SHARED, arch.wc_sec_hi);
#endif
    AGG(P_SHARED, arch);
    FLD(P_SHARED, arch.p2m_generation);
    ALIAS(pvcore_shared_info_t, NATIVE(shared_info));

    SZ(P_START);
    ARR(P_START, magic);
    FLD(P_START, nr_pages);
    FLD(P_START, shared_info);
    FLD(P_START, flags);
    FLD(P_START, store_mfn);
    FLD(P_START, store_evtchn);
    AGG(P_START, console);
    AGG(P_START, console.domU);
    FLD(P_START, console.domU.mfn);
    FLD(P_START, console.domU.evtchn);
    AGG(P_START, console.dom0);
    FLD(P_START, console.dom0.info_off);
    FLD(P_START, console.dom0.info_size);
    FLD(P_START, pt_base);
    FLD(P_START, nr_pt_frames);
    FLD(P_START, mfn_list);
    FLD(P_START, mod_start);
    FLD(P_START, mod_len);
    ARR(P_START, cmd_line);
    FLD(P_START, first_p2m_pfn);
    FLD(P_START, nr_p2m_frames);
    ALIAS(pvcore_start_info_t, NATIVE(start_info));
}

/*
 * Both widths against the generated foreign headers, in both builds. The macro bodies
 * are instantiated once per width.
 */
#define CHECK_FOREIGN(W)                                                                  \
    do {                                                                                  \
        SZ(struct pvcore_trap_info_##W, struct trap_info_##W);                            \
        FLD(struct pvcore_trap_info_##W, struct trap_info_##W, vector);                   \
        FLD(struct pvcore_trap_info_##W, struct trap_info_##W, flags);                    \
        FLD(struct pvcore_trap_info_##W, struct trap_info_##W, cs);                       \
        FLD(struct pvcore_trap_info_##W, struct trap_info_##W, address);                  \
                                                                                          \
        SZ(struct pvcore_vcpu_time_info, struct vcpu_time_info_##W);                      \
        FLD(struct pvcore_vcpu_time_info, struct vcpu_time_info_##W, version);            \
        FLD(struct pvcore_vcpu_time_info, struct vcpu_time_info_##W, pad0);               \
        FLD(struct pvcore_vcpu_time_info, struct vcpu_time_info_##W, tsc_timestamp);      \
        FLD(struct pvcore_vcpu_time_info, struct vcpu_time_info_##W, system_time);        \
        FLD(struct pvcore_vcpu_time_info, struct vcpu_time_info_##W, tsc_to_system_mul);  \
        FLD(struct pvcore_vcpu_time_info, struct vcpu_time_info_##W, tsc_shift);          \
        FLD(struct pvcore_vcpu_time_info, struct vcpu_time_info_##W, flags);              \
        ARR(struct pvcore_vcpu_time_info, struct vcpu_time_info_##W, pad1);               \
                                                                                          \
        SZ(struct pvcore_arch_vcpu_info_##W, struct arch_vcpu_info_##W);                  \
        FLD(struct pvcore_arch_vcpu_info_##W, struct arch_vcpu_info_##W, cr2);            \
        AGG(struct pvcore_arch_vcpu_info_##W, struct arch_vcpu_info_##W, pad);            \
                                                                                          \
        SZ(struct pvcore_vcpu_info_##W, struct vcpu_info_##W);                            \
        FLD(struct pvcore_vcpu_info_##W, struct vcpu_info_##W, evtchn_upcall_pending);    \
        FLD(struct pvcore_vcpu_info_##W, struct vcpu_info_##W, evtchn_pending_sel);       \
        AGG(struct pvcore_vcpu_info_##W, struct vcpu_info_##W, arch);                     \
        FLD(struct pvcore_vcpu_info_##W, struct vcpu_info_##W, arch.cr2);                 \
        AGG(struct pvcore_vcpu_info_##W, struct vcpu_info_##W, time);                     \
        FLD(struct pvcore_vcpu_info_##W, struct vcpu_info_##W, time.version);             \
        FLD(struct pvcore_vcpu_info_##W, struct vcpu_info_##W, time.tsc_shift);           \
                                                                                          \
        SZ(struct pvcore_arch_shared_info_##W, struct arch_shared_info_##W);              \
        FLD(struct pvcore_arch_shared_info_##W, struct arch_shared_info_##W, max_pfn);    \
        FLD(struct pvcore_arch_shared_info_##W, struct arch_shared_info_##W,              \
            pfn_to_mfn_frame_list_list);                                                  \
        FLD(struct pvcore_arch_shared_info_##W, struct arch_shared_info_##W, nmi_reason); \
        FLD(struct pvcore_arch_shared_info_##W, struct arch_shared_info_##W, p2m_cr3);    \
        FLD(struct pvcore_arch_shared_info_##W, struct arch_shared_info_##W, p2m_vaddr);  \
        FLD(struct pvcore_arch_shared_info_##W, struct arch_shared_info_##W,              \
            p2m_generation);                                                              \
                                                                                          \
        SZ(struct pvcore_shared_info_##W, struct shared_info_##W);                        \
        ARR(struct pvcore_shared_info_##W, struct shared_info_##W, vcpu_info);            \
        FLD(struct pvcore_shared_info_##W, struct shared_info_##W,                        \
            vcpu_info[31].evtchn_pending_sel);                                            \
        ARR(struct pvcore_shared_info_##W, struct shared_info_##W, evtchn_pending);       \
        ARR(struct pvcore_shared_info_##W, struct shared_info_##W, evtchn_mask);          \
        FLD(struct pvcore_shared_info_##W, struct shared_info_##W, wc_version);           \
        FLD(struct pvcore_shared_info_##W, struct shared_info_##W, wc_sec);               \
        FLD(struct pvcore_shared_info_##W, struct shared_info_##W, wc_nsec);              \
        AGG(struct pvcore_shared_info_##W, struct shared_info_##W, arch);                 \
        FLD(struct pvcore_shared_info_##W, struct shared_info_##W, arch.p2m_generation);  \
                                                                                          \
        SZ(struct pvcore_start_info_##W, struct start_info_##W);                          \
        ARR(struct pvcore_start_info_##W, struct start_info_##W, magic);                  \
        FLD(struct pvcore_start_info_##W, struct start_info_##W, nr_pages);               \
        FLD(struct pvcore_start_info_##W, struct start_info_##W, shared_info);            \
        FLD(struct pvcore_start_info_##W, struct start_info_##W, flags);                  \
        FLD(struct pvcore_start_info_##W, struct start_info_##W, store_mfn);              \
        FLD(struct pvcore_start_info_##W, struct start_info_##W, store_evtchn);           \
        AGG(struct pvcore_start_info_##W, struct start_info_##W, console);                \
        AGG(struct pvcore_start_info_##W, struct start_info_##W, console.domU);           \
        FLD(struct pvcore_start_info_##W, struct start_info_##W, console.domU.mfn);       \
        FLD(struct pvcore_start_info_##W, struct start_info_##W, console.domU.evtchn);    \
        AGG(struct pvcore_start_info_##W, struct start_info_##W, console.dom0);           \
        FLD(struct pvcore_start_info_##W, struct start_info_##W, console.dom0.info_off);  \
        FLD(struct pvcore_start_info_##W, struct start_info_##W, console.dom0.info_size); \
        FLD(struct pvcore_start_info_##W, struct start_info_##W, pt_base);                \
        FLD(struct pvcore_start_info_##W, struct start_info_##W, nr_pt_frames);           \
        FLD(struct pvcore_start_info_##W, struct start_info_##W, mfn_list);               \
        FLD(struct pvcore_start_info_##W, struct start_info_##W, mod_start);              \
        FLD(struct pvcore_start_info_##W, struct start_info_##W, mod_len);                \
        ARR(struct pvcore_start_info_##W, struct start_info_##W, cmd_line);               \
        FLD(struct pvcore_start_info_##W, struct start_info_##W, first_p2m_pfn);          \
        FLD(struct pvcore_start_info_##W, struct start_info_##W, nr_p2m_frames);          \
    } while (0)

static void check_xen_structs_foreign(void)
{
    CHECK_FOREIGN(x86_32);
    CHECK_FOREIGN(x86_64);

    /* Members that exist in only one width. */
    ARR(struct pvcore_arch_vcpu_info_x86_32, struct arch_vcpu_info_x86_32, pad);
    FLD(struct pvcore_arch_vcpu_info_x86_64, struct arch_vcpu_info_x86_64, pad);
    FLD(struct pvcore_arch_shared_info_x86_32, struct arch_shared_info_x86_32, wc_sec_hi);
    FLD(struct pvcore_shared_info_x86_64, struct shared_info_x86_64, wc_sec_hi);
    FLD(struct pvcore_vcpu_info_x86_32, struct vcpu_info_x86_32, evtchn_upcall_mask);
    FLD(struct pvcore_vcpu_info_x86_64, struct vcpu_info_x86_64, evtchn_upcall_mask);

    /* The sizes the reference layouts give. */
    CHECK(sizeof(struct pvcore_start_info_x86_32) == 1112);
    CHECK(sizeof(struct pvcore_start_info_x86_64) == 1168);
    CHECK(sizeof(struct pvcore_shared_info_x86_32) == 2344);
    CHECK(sizeof(struct pvcore_shared_info_x86_64) == 3136);
    CHECK(sizeof(struct pvcore_vcpu_info_x86_32) == 64);
    CHECK(sizeof(struct pvcore_vcpu_info_x86_64) == 64);
}

/* Width-specific structures without a foreign version: literal layouts for both widths. */
#define M32 struct pvcore_mmuext_op_x86_32, struct mmuext_op
#define M64 struct pvcore_mmuext_op_x86_64, struct mmuext_op
#define MC32 struct pvcore_multicall_entry_x86_32, struct multicall_entry
#define MC64 struct pvcore_multicall_entry_x86_64, struct multicall_entry
#define CB32 struct pvcore_callback_register_x86_32, struct callback_register
#define CB64 struct pvcore_callback_register_x86_64, struct callback_register
#define SP32 struct pvcore_sched_poll_x86_32, struct sched_poll
#define SP64 struct pvcore_sched_poll_x86_64, struct sched_poll
#define PP32 struct pvcore_xen_platform_parameters_x86_32, struct xen_platform_parameters
#define PP64 struct pvcore_xen_platform_parameters_x86_64, struct xen_platform_parameters

static void check_xen_structs_literal(void)
{
    S32(M32, 12);
    L32(M32, cmd, 0, 4);
    L32(M32, arg1, 4, 4);
    L32(M32, arg1.mfn, 4, 4);
    L32(M32, arg1.linear_addr, 4, 4);
    L32(M32, arg2, 8, 4);
    L32(M32, arg2.nr_ents, 8, 4);
    L32(M32, arg2.vcpumask, 8, 4);
    L32(M32, arg2.src_mfn, 8, 4);
    S64(M64, 24);
    L64(M64, cmd, 0, 4);
    L64(M64, arg1, 8, 8);
    L64(M64, arg1.mfn, 8, 8);
    L64(M64, arg1.linear_addr, 8, 8);
    L64(M64, arg2, 16, 8);
    L64(M64, arg2.nr_ents, 16, 4);
    L64(M64, arg2.vcpumask, 16, 8);
    L64(M64, arg2.src_mfn, 16, 8);

    S32(MC32, 32);
    L32(MC32, op, 0, 4);
    L32(MC32, result, 4, 4);
    L32(MC32, args, 8, 24);
    L32(MC32, args[5], 28, 4);
    S64(MC64, 64);
    L64(MC64, op, 0, 8);
    L64(MC64, result, 8, 8);
    L64(MC64, args, 16, 48);
    L64(MC64, args[5], 56, 8);

    S32(CB32, 12);
    L32(CB32, type, 0, 2);
    L32(CB32, flags, 2, 2);
    L32(CB32, address, 4, 8);
    L32(CB32, address.cs, 4, 4);
    L32(CB32, address.eip, 8, 4);
    S64(CB64, 16);
    L64(CB64, type, 0, 2);
    L64(CB64, flags, 2, 2);
    L64(CB64, address, 8, 8);

    S32(SP32, 16);
    L32(SP32, ports, 0, 4);
    L32(SP32, nr_ports, 4, 4);
    L32(SP32, timeout, 8, 8);
    S64(SP64, 24);
    L64(SP64, ports, 0, 8);
    L64(SP64, nr_ports, 8, 4);
    L64(SP64, timeout, 16, 8);

    S32(PP32, 4);
    L32(PP32, virt_start, 0, 4);
    S64(PP64, 8);
    L64(PP64, virt_start, 0, 8);
}

/* ======================================================================================
 * xen.h: function-like macros
 * =================================================================================== */

static void check_xen_macros(void)
{
    /* Xen's helpers use the bare numbers. */
    CONST(PVCORE_TI_DPL_MASK, 3U);
    CONST(PVCORE_TI_IF, 4U);

    /* Building flags with the setters, for every DPL and event-mask setting. */
    int same = 1;
    for (unsigned dpl = 0; dpl < 4; dpl++) {
        for (int intr = 0; intr < 2; intr++) {
            struct trap_info theirs = {0};
            struct pvcore_trap_info_x86_32 ours32 = {0};
            struct pvcore_trap_info_x86_64 ours64 = {0};
            TI_SET_DPL(&theirs, dpl);
            TI_SET_IF(&theirs, intr);
            PVCORE_TI_SET_DPL(&ours32, dpl);
            PVCORE_TI_SET_IF(&ours32, intr);
            PVCORE_TI_SET_DPL(&ours64, dpl);
            PVCORE_TI_SET_IF(&ours64, intr);
            same &= ours32.flags == theirs.flags;
            same &= ours64.flags == theirs.flags;
        }
    }
    RCHECK(same, "TI_SET_DPL/TI_SET_IF build the same flags as Xen's");

    /* Reading every flags value, including bits the helpers do not define. */
    same = 1;
    for (unsigned v = 0; v < 256; v++) {
        struct trap_info theirs = {0};
        struct pvcore_trap_info_x86_32 ours32 = {0};
        struct pvcore_trap_info_x86_64 ours64 = {0};
        theirs.flags = (uint8_t)v;
        ours32.flags = (uint8_t)v;
        ours64.flags = (uint8_t)v;
        same &= PVCORE_TI_GET_DPL(&ours32) == (unsigned)TI_GET_DPL(&theirs);
        same &= PVCORE_TI_GET_DPL(&ours64) == (unsigned)TI_GET_DPL(&theirs);
        same &= PVCORE_TI_GET_IF(&ours32) == (unsigned)TI_GET_IF(&theirs);
        same &= PVCORE_TI_GET_IF(&ours64) == (unsigned)TI_GET_IF(&theirs);
    }
    RCHECK(same, "TI_GET_DPL/TI_GET_IF read all 256 flags values as Xen's do");
}

/* ======================================================================================
 * event_channel.h
 * =================================================================================== */

#define P_ALLOC struct pvcore_evtchn_alloc_unbound, struct evtchn_alloc_unbound
#define P_BIND_IDOM struct pvcore_evtchn_bind_interdomain, struct evtchn_bind_interdomain
#define P_BIND_VIRQ struct pvcore_evtchn_bind_virq, struct evtchn_bind_virq
#define P_BIND_PIRQ struct pvcore_evtchn_bind_pirq, struct evtchn_bind_pirq
#define P_BIND_IPI struct pvcore_evtchn_bind_ipi, struct evtchn_bind_ipi
#define P_CLOSE struct pvcore_evtchn_close, struct evtchn_close
#define P_SEND struct pvcore_evtchn_send, struct evtchn_send
#define P_STATUS struct pvcore_evtchn_status, struct evtchn_status
#define P_BIND_VCPU struct pvcore_evtchn_bind_vcpu, struct evtchn_bind_vcpu
#define P_UNMASK struct pvcore_evtchn_unmask, struct evtchn_unmask
#define P_RESET struct pvcore_evtchn_reset, struct evtchn_reset
#define P_INIT_CTL struct pvcore_evtchn_init_control, struct evtchn_init_control
#define P_EXPAND struct pvcore_evtchn_expand_array, struct evtchn_expand_array
#define P_SET_PRIO struct pvcore_evtchn_set_priority, struct evtchn_set_priority
#define P_EVTCHN_OP struct pvcore_evtchn_op, struct evtchn_op
#define P_FIFO_CB struct pvcore_evtchn_fifo_control_block, struct evtchn_fifo_control_block

static void check_event_channel(void)
{
    TYPE(pvcore_evtchn_port_t, evtchn_port_t);
    TYPE(pvcore_event_word_t, event_word_t);

    CONST(PVCORE_EVTCHNOP_bind_interdomain, EVTCHNOP_bind_interdomain);
    CONST(PVCORE_EVTCHNOP_bind_virq, EVTCHNOP_bind_virq);
    CONST(PVCORE_EVTCHNOP_bind_pirq, EVTCHNOP_bind_pirq);
    CONST(PVCORE_EVTCHNOP_close, EVTCHNOP_close);
    CONST(PVCORE_EVTCHNOP_send, EVTCHNOP_send);
    CONST(PVCORE_EVTCHNOP_status, EVTCHNOP_status);
    CONST(PVCORE_EVTCHNOP_alloc_unbound, EVTCHNOP_alloc_unbound);
    CONST(PVCORE_EVTCHNOP_bind_ipi, EVTCHNOP_bind_ipi);
    CONST(PVCORE_EVTCHNOP_bind_vcpu, EVTCHNOP_bind_vcpu);
    CONST(PVCORE_EVTCHNOP_unmask, EVTCHNOP_unmask);
    CONST(PVCORE_EVTCHNOP_reset, EVTCHNOP_reset);
    CONST(PVCORE_EVTCHNOP_init_control, EVTCHNOP_init_control);
    CONST(PVCORE_EVTCHNOP_expand_array, EVTCHNOP_expand_array);
    CONST(PVCORE_EVTCHNOP_set_priority, EVTCHNOP_set_priority);

    CONST(PVCORE_EVTCHNSTAT_closed, EVTCHNSTAT_closed);
    CONST(PVCORE_EVTCHNSTAT_unbound, EVTCHNSTAT_unbound);
    CONST(PVCORE_EVTCHNSTAT_interdomain, EVTCHNSTAT_interdomain);
    CONST(PVCORE_EVTCHNSTAT_pirq, EVTCHNSTAT_pirq);
    CONST(PVCORE_EVTCHNSTAT_virq, EVTCHNSTAT_virq);
    CONST(PVCORE_EVTCHNSTAT_ipi, EVTCHNSTAT_ipi);
    CONST(PVCORE_BIND_PIRQ__WILL_SHARE, BIND_PIRQ__WILL_SHARE);

    CONST(PVCORE_VIRQ_TIMER, VIRQ_TIMER);
    CONST(PVCORE_VIRQ_DEBUG, VIRQ_DEBUG);
    CONST(PVCORE_VIRQ_CONSOLE, VIRQ_CONSOLE);
    CONST(PVCORE_VIRQ_DOM_EXC, VIRQ_DOM_EXC);
    CONST(PVCORE_VIRQ_TBUF, VIRQ_TBUF);
    CONST(PVCORE_VIRQ_DEBUGGER, VIRQ_DEBUGGER);
    CONST(PVCORE_VIRQ_XENOPROF, VIRQ_XENOPROF);
    CONST(PVCORE_VIRQ_CON_RING, VIRQ_CON_RING);
    CONST(PVCORE_VIRQ_PCPU_STATE, VIRQ_PCPU_STATE);
    CONST(PVCORE_VIRQ_MEM_EVENT, VIRQ_MEM_EVENT);
    CONST(PVCORE_VIRQ_ARGO, VIRQ_ARGO);
    CONST(PVCORE_VIRQ_ENOMEM, VIRQ_ENOMEM);
    CONST(PVCORE_VIRQ_XENPMU, VIRQ_XENPMU);
    CONST(PVCORE_VIRQ_ARCH_0, VIRQ_ARCH_0);
    CONST(PVCORE_VIRQ_ARCH_1, VIRQ_ARCH_1);
    CONST(PVCORE_VIRQ_ARCH_2, VIRQ_ARCH_2);
    CONST(PVCORE_VIRQ_ARCH_3, VIRQ_ARCH_3);
    CONST(PVCORE_VIRQ_ARCH_4, VIRQ_ARCH_4);
    CONST(PVCORE_VIRQ_ARCH_5, VIRQ_ARCH_5);
    CONST(PVCORE_VIRQ_ARCH_6, VIRQ_ARCH_6);
    CONST(PVCORE_VIRQ_ARCH_7, VIRQ_ARCH_7);
    CONST(PVCORE_NR_VIRQS, NR_VIRQS);

#if defined(__x86_64__)
    CONST(PVCORE_EVTCHN_2L_NR_CHANNELS_X86_64, EVTCHN_2L_NR_CHANNELS);
#else
    CONST(PVCORE_EVTCHN_2L_NR_CHANNELS_X86_32, EVTCHN_2L_NR_CHANNELS);
#endif
    CONST(PVCORE_EVTCHN_2L_NR_CHANNELS, EVTCHN_2L_NR_CHANNELS);
    /* Both widths from the foreign bitmap types: (bits per word) squared. */
    CONST(PVCORE_EVTCHN_2L_NR_CHANNELS_X86_32,
          sizeof(MEMBER(struct shared_info_x86_32, evtchn_pending)) * 8);
    CONST(PVCORE_EVTCHN_2L_NR_CHANNELS_X86_64,
          sizeof(MEMBER(struct shared_info_x86_64, evtchn_pending)) * 8);

    CONST(PVCORE_EVTCHN_FIFO_PRIORITY_MAX, EVTCHN_FIFO_PRIORITY_MAX);
    CONST(PVCORE_EVTCHN_FIFO_PRIORITY_DEFAULT, EVTCHN_FIFO_PRIORITY_DEFAULT);
    CONST(PVCORE_EVTCHN_FIFO_PRIORITY_MIN, EVTCHN_FIFO_PRIORITY_MIN);
    CONST(PVCORE_EVTCHN_FIFO_MAX_QUEUES, EVTCHN_FIFO_MAX_QUEUES);
    CONST(PVCORE_EVTCHN_FIFO_PENDING, EVTCHN_FIFO_PENDING);
    CONST(PVCORE_EVTCHN_FIFO_MASKED, EVTCHN_FIFO_MASKED);
    CONST(PVCORE_EVTCHN_FIFO_LINKED, EVTCHN_FIFO_LINKED);
    CONST(PVCORE_EVTCHN_FIFO_BUSY, EVTCHN_FIFO_BUSY);
    CONST(PVCORE_EVTCHN_FIFO_LINK_BITS, EVTCHN_FIFO_LINK_BITS);
    CONST(PVCORE_EVTCHN_FIFO_LINK_MASK, EVTCHN_FIFO_LINK_MASK);
    CONST(PVCORE_EVTCHN_FIFO_NR_CHANNELS, EVTCHN_FIFO_NR_CHANNELS);

    SZ(P_ALLOC);
    FLD(P_ALLOC, dom);
    FLD(P_ALLOC, remote_dom);
    FLD(P_ALLOC, port);
    SZ(P_BIND_IDOM);
    FLD(P_BIND_IDOM, remote_dom);
    FLD(P_BIND_IDOM, remote_port);
    FLD(P_BIND_IDOM, local_port);
    SZ(P_BIND_VIRQ);
    FLD(P_BIND_VIRQ, virq);
    FLD(P_BIND_VIRQ, vcpu);
    FLD(P_BIND_VIRQ, port);
    SZ(P_BIND_PIRQ);
    FLD(P_BIND_PIRQ, pirq);
    FLD(P_BIND_PIRQ, flags);
    FLD(P_BIND_PIRQ, port);
    SZ(P_BIND_IPI);
    FLD(P_BIND_IPI, vcpu);
    FLD(P_BIND_IPI, port);
    SZ(P_CLOSE);
    FLD(P_CLOSE, port);
    SZ(P_SEND);
    FLD(P_SEND, port);
    SZ(P_STATUS);
    FLD(P_STATUS, dom);
    FLD(P_STATUS, port);
    FLD(P_STATUS, status);
    FLD(P_STATUS, vcpu);
    AGG(P_STATUS, u);
    AGG(P_STATUS, u.unbound);
    FLD(P_STATUS, u.unbound.dom);
    AGG(P_STATUS, u.interdomain);
    FLD(P_STATUS, u.interdomain.dom);
    FLD(P_STATUS, u.interdomain.port);
    FLD(P_STATUS, u.pirq);
    FLD(P_STATUS, u.virq);
    SZ(P_BIND_VCPU);
    FLD(P_BIND_VCPU, port);
    FLD(P_BIND_VCPU, vcpu);
    SZ(P_UNMASK);
    FLD(P_UNMASK, port);
    SZ(P_RESET);
    FLD(P_RESET, dom);
    SZ(P_INIT_CTL);
    FLD(P_INIT_CTL, control_gfn);
    FLD(P_INIT_CTL, offset);
    FLD(P_INIT_CTL, vcpu);
    FLD(P_INIT_CTL, link_bits);
    ARR(P_INIT_CTL, _pad);
    SZ(P_EXPAND);
    FLD(P_EXPAND, array_gfn);
    SZ(P_SET_PRIO);
    FLD(P_SET_PRIO, port);
    FLD(P_SET_PRIO, priority);
    SZ(P_EVTCHN_OP);
    FLD(P_EVTCHN_OP, cmd);
    AGG(P_EVTCHN_OP, u);
    AGG(P_EVTCHN_OP, u.alloc_unbound);
    AGG(P_EVTCHN_OP, u.bind_interdomain);
    AGG(P_EVTCHN_OP, u.bind_virq);
    AGG(P_EVTCHN_OP, u.bind_pirq);
    AGG(P_EVTCHN_OP, u.bind_ipi);
    AGG(P_EVTCHN_OP, u.close);
    AGG(P_EVTCHN_OP, u.send);
    AGG(P_EVTCHN_OP, u.status);
    FLD(P_EVTCHN_OP, u.status.u.interdomain.port);
    AGG(P_EVTCHN_OP, u.bind_vcpu);
    AGG(P_EVTCHN_OP, u.unmask);
    SZ(P_FIFO_CB);
    FLD(P_FIFO_CB, ready);
    FLD(P_FIFO_CB, _rsvd);
    ARR(P_FIFO_CB, head);
}

/* ======================================================================================
 * grant_table.h
 * =================================================================================== */

#define P_ENTRY struct pvcore_grant_entry_v1, struct grant_entry_v1
#define P_ENTRY_HDR struct pvcore_grant_entry_header, struct grant_entry_header
#define P_ENTRY_V2 union pvcore_grant_entry_v2, union grant_entry_v2
#define P_MAP struct pvcore_gnttab_map_grant_ref, struct gnttab_map_grant_ref
#define P_UNMAP struct pvcore_gnttab_unmap_grant_ref, struct gnttab_unmap_grant_ref
#define P_SETUP NATIVE(gnttab_setup_table), struct gnttab_setup_table
#define P_DUMP struct pvcore_gnttab_dump_table, struct gnttab_dump_table
#define P_TRANSFER NATIVE(gnttab_transfer), struct gnttab_transfer
#define P_COPY NATIVE(gnttab_copy), struct gnttab_copy
#define P_QUERY struct pvcore_gnttab_query_size, struct gnttab_query_size
#define P_UNMAP_REPL struct pvcore_gnttab_unmap_and_replace, struct gnttab_unmap_and_replace
#define P_SET_VER struct pvcore_gnttab_set_version, struct gnttab_set_version
#define P_STATUS_FRAMES NATIVE(gnttab_get_status_frames), struct gnttab_get_status_frames
#define P_GET_VER struct pvcore_gnttab_get_version, struct gnttab_get_version
#define P_SWAP struct pvcore_gnttab_swap_grant_ref, struct gnttab_swap_grant_ref
#define P_CACHE struct pvcore_gnttab_cache_flush, struct gnttab_cache_flush

#define ST32 struct pvcore_gnttab_setup_table_x86_32, struct gnttab_setup_table
#define ST64 struct pvcore_gnttab_setup_table_x86_64, struct gnttab_setup_table
#define TR32 struct pvcore_gnttab_transfer_x86_32, struct gnttab_transfer
#define TR64 struct pvcore_gnttab_transfer_x86_64, struct gnttab_transfer
#define CP32 struct pvcore_gnttab_copy_x86_32, struct gnttab_copy
#define CP64 struct pvcore_gnttab_copy_x86_64, struct gnttab_copy
#define CPP32 struct pvcore_gnttab_copy_ptr_x86_32, struct gnttab_copy_ptr
#define CPP64 struct pvcore_gnttab_copy_ptr_x86_64, struct gnttab_copy_ptr
#define GS32 struct pvcore_gnttab_get_status_frames_x86_32, struct gnttab_get_status_frames
#define GS64 struct pvcore_gnttab_get_status_frames_x86_64, struct gnttab_get_status_frames

static void check_grant_table(void)
{
    TYPE(pvcore_grant_ref_t, grant_ref_t);
    TYPE(pvcore_grant_handle_t, grant_handle_t);

    CONST(PVCORE_GNTTAB_NR_RESERVED_ENTRIES, GNTTAB_NR_RESERVED_ENTRIES);
    CONST(PVCORE_GNTTAB_RESERVED_CONSOLE, GNTTAB_RESERVED_CONSOLE);
    CONST(PVCORE_GNTTAB_RESERVED_XENSTORE, GNTTAB_RESERVED_XENSTORE);

    CONST(PVCORE_GTF_invalid, GTF_invalid);
    CONST(PVCORE_GTF_permit_access, GTF_permit_access);
    CONST(PVCORE_GTF_accept_transfer, GTF_accept_transfer);
    CONST(PVCORE_GTF_transitive, GTF_transitive);
    CONST(PVCORE_GTF_type_mask, GTF_type_mask);
    CONST(PVCORE_GTF_readonly_BIT, _GTF_readonly);
    CONST(PVCORE_GTF_readonly, GTF_readonly);
    CONST(PVCORE_GTF_reading_BIT, _GTF_reading);
    CONST(PVCORE_GTF_reading, GTF_reading);
    CONST(PVCORE_GTF_writing_BIT, _GTF_writing);
    CONST(PVCORE_GTF_writing, GTF_writing);
    CONST(PVCORE_GTF_PWT_BIT, _GTF_PWT);
    CONST(PVCORE_GTF_PWT, GTF_PWT);
    CONST(PVCORE_GTF_PCD_BIT, _GTF_PCD);
    CONST(PVCORE_GTF_PCD, GTF_PCD);
    CONST(PVCORE_GTF_PAT_BIT, _GTF_PAT);
    CONST(PVCORE_GTF_PAT, GTF_PAT);
    CONST(PVCORE_GTF_sub_page_BIT, _GTF_sub_page);
    CONST(PVCORE_GTF_sub_page, GTF_sub_page);
    CONST(PVCORE_GTF_transfer_committed_BIT, _GTF_transfer_committed);
    CONST(PVCORE_GTF_transfer_committed, GTF_transfer_committed);
    CONST(PVCORE_GTF_transfer_completed_BIT, _GTF_transfer_completed);
    CONST(PVCORE_GTF_transfer_completed, GTF_transfer_completed);

    CONST(PVCORE_GNTTABOP_map_grant_ref, GNTTABOP_map_grant_ref);
    CONST(PVCORE_GNTTABOP_unmap_grant_ref, GNTTABOP_unmap_grant_ref);
    CONST(PVCORE_GNTTABOP_setup_table, GNTTABOP_setup_table);
    CONST(PVCORE_GNTTABOP_dump_table, GNTTABOP_dump_table);
    CONST(PVCORE_GNTTABOP_transfer, GNTTABOP_transfer);
    CONST(PVCORE_GNTTABOP_copy, GNTTABOP_copy);
    CONST(PVCORE_GNTTABOP_query_size, GNTTABOP_query_size);
    CONST(PVCORE_GNTTABOP_unmap_and_replace, GNTTABOP_unmap_and_replace);
    CONST(PVCORE_GNTTABOP_set_version, GNTTABOP_set_version);
    CONST(PVCORE_GNTTABOP_get_status_frames, GNTTABOP_get_status_frames);
    CONST(PVCORE_GNTTABOP_get_version, GNTTABOP_get_version);
    CONST(PVCORE_GNTTABOP_swap_grant_ref, GNTTABOP_swap_grant_ref);
    CONST(PVCORE_GNTTABOP_cache_flush, GNTTABOP_cache_flush);

    CONST(PVCORE_GNTMAP_device_map_BIT, _GNTMAP_device_map);
    CONST(PVCORE_GNTMAP_device_map, GNTMAP_device_map);
    CONST(PVCORE_GNTMAP_host_map_BIT, _GNTMAP_host_map);
    CONST(PVCORE_GNTMAP_host_map, GNTMAP_host_map);
    CONST(PVCORE_GNTMAP_readonly_BIT, _GNTMAP_readonly);
    CONST(PVCORE_GNTMAP_readonly, GNTMAP_readonly);
    CONST(PVCORE_GNTMAP_application_map_BIT, _GNTMAP_application_map);
    CONST(PVCORE_GNTMAP_application_map, GNTMAP_application_map);
    CONST(PVCORE_GNTMAP_contains_pte_BIT, _GNTMAP_contains_pte);
    CONST(PVCORE_GNTMAP_contains_pte, GNTMAP_contains_pte);
    CONST(PVCORE_GNTMAP_guest_avail0_BIT, _GNTMAP_guest_avail0);
    CONST(PVCORE_GNTMAP_guest_avail_mask, GNTMAP_guest_avail_mask);

    CONST(PVCORE_GNTCOPY_source_gref_BIT, _GNTCOPY_source_gref);
    CONST(PVCORE_GNTCOPY_source_gref, GNTCOPY_source_gref);
    CONST(PVCORE_GNTCOPY_dest_gref_BIT, _GNTCOPY_dest_gref);
    CONST(PVCORE_GNTCOPY_dest_gref, GNTCOPY_dest_gref);
    CONST(PVCORE_GNTTAB_CACHE_CLEAN, GNTTAB_CACHE_CLEAN);
    CONST(PVCORE_GNTTAB_CACHE_INVAL, GNTTAB_CACHE_INVAL);
    CONST(PVCORE_GNTTAB_CACHE_SOURCE_GREF, GNTTAB_CACHE_SOURCE_GREF);

    CONST(PVCORE_GNTST_okay, GNTST_okay);
    CONST(PVCORE_GNTST_general_error, GNTST_general_error);
    CONST(PVCORE_GNTST_bad_domain, GNTST_bad_domain);
    CONST(PVCORE_GNTST_bad_gntref, GNTST_bad_gntref);
    CONST(PVCORE_GNTST_bad_handle, GNTST_bad_handle);
    CONST(PVCORE_GNTST_bad_virt_addr, GNTST_bad_virt_addr);
    CONST(PVCORE_GNTST_bad_dev_addr, GNTST_bad_dev_addr);
    CONST(PVCORE_GNTST_no_device_space, GNTST_no_device_space);
    CONST(PVCORE_GNTST_permission_denied, GNTST_permission_denied);
    CONST(PVCORE_GNTST_bad_page, GNTST_bad_page);
    CONST(PVCORE_GNTST_bad_copy_arg, GNTST_bad_copy_arg);
    CONST(PVCORE_GNTST_address_too_big, GNTST_address_too_big);
    CONST(PVCORE_GNTST_eagain, GNTST_eagain);
    CONST(PVCORE_GNTST_no_space, GNTST_no_space);
    /* Xen's message table has one string per status, so its length ends the list. */
    {
        static const char *const msgs[] = GNTTABOP_error_msgs;
        CHECK(sizeof(msgs) / sizeof(msgs[0]) == 1 - PVCORE_GNTST_no_space);
        (void)msgs;
    }

    SZ(P_ENTRY);
    FLD(P_ENTRY, flags);
    FLD(P_ENTRY, domid);
    FLD(P_ENTRY, frame);

    SZ(P_ENTRY_HDR);
    FLD(P_ENTRY_HDR, flags);
    FLD(P_ENTRY_HDR, domid);
    SZ(P_ENTRY_V2);
    FLD(P_ENTRY_V2, full_page.pad0);
    FLD(P_ENTRY_V2, full_page.frame);
    FLD(P_ENTRY_V2, sub_page.page_off);
    FLD(P_ENTRY_V2, sub_page.length);
    FLD(P_ENTRY_V2, sub_page.frame);
    FLD(P_ENTRY_V2, transitive.trans_domid);
    FLD(P_ENTRY_V2, transitive.pad0);
    FLD(P_ENTRY_V2, transitive.gref);
    _Static_assert(sizeof(pvcore_grant_status_t) == sizeof(grant_status_t), "grant_status_t");

    SZ(P_MAP);
    FLD(P_MAP, host_addr);
    FLD(P_MAP, flags);
    FLD(P_MAP, ref);
    FLD(P_MAP, dom);
    FLD(P_MAP, status);
    FLD(P_MAP, handle);
    FLD(P_MAP, dev_bus_addr);

    SZ(P_UNMAP);
    FLD(P_UNMAP, host_addr);
    FLD(P_UNMAP, dev_bus_addr);
    FLD(P_UNMAP, handle);
    FLD(P_UNMAP, status);

    SZ(P_SETUP);
    FLD(P_SETUP, dom);
    FLD(P_SETUP, nr_frames);
    FLD(P_SETUP, status);
    AGG(P_SETUP, frame_list);
    ALIAS(pvcore_gnttab_setup_table_t, NATIVE(gnttab_setup_table));

    SZ(P_DUMP);
    FLD(P_DUMP, dom);
    FLD(P_DUMP, status);

    SZ(P_TRANSFER);
    FLD(P_TRANSFER, mfn);
    FLD(P_TRANSFER, domid);
    FLD(P_TRANSFER, ref);
    FLD(P_TRANSFER, status);
    ALIAS(pvcore_gnttab_transfer_t, NATIVE(gnttab_transfer));

    SZ(P_COPY);
    AGG(P_COPY, source);
    AGG(P_COPY, source.u);
    FLD(P_COPY, source.u.ref);
    FLD(P_COPY, source.u.gmfn);
    FLD(P_COPY, source.domid);
    FLD(P_COPY, source.offset);
    AGG(P_COPY, dest);
    AGG(P_COPY, dest.u);
    FLD(P_COPY, dest.u.ref);
    FLD(P_COPY, dest.u.gmfn);
    FLD(P_COPY, dest.domid);
    FLD(P_COPY, dest.offset);
    FLD(P_COPY, len);
    FLD(P_COPY, flags);
    FLD(P_COPY, status);
    ALIAS(pvcore_gnttab_copy_t, NATIVE(gnttab_copy));
#if defined(__x86_64__)
    SZ(CPP64);
#else
    SZ(CPP32);
#endif

    SZ(P_QUERY);
    FLD(P_QUERY, dom);
    FLD(P_QUERY, nr_frames);
    FLD(P_QUERY, max_nr_frames);
    FLD(P_QUERY, status);

    SZ(P_UNMAP_REPL);
    FLD(P_UNMAP_REPL, host_addr);
    FLD(P_UNMAP_REPL, new_addr);
    FLD(P_UNMAP_REPL, handle);
    FLD(P_UNMAP_REPL, status);

    SZ(P_SET_VER);
    FLD(P_SET_VER, version);

    SZ(P_STATUS_FRAMES);
    FLD(P_STATUS_FRAMES, nr_frames);
    FLD(P_STATUS_FRAMES, dom);
    FLD(P_STATUS_FRAMES, status);
    AGG(P_STATUS_FRAMES, frame_list);
    ALIAS(pvcore_gnttab_get_status_frames_t, NATIVE(gnttab_get_status_frames));

    SZ(P_GET_VER);
    FLD(P_GET_VER, dom);
    FLD(P_GET_VER, pad);
    FLD(P_GET_VER, version);

    SZ(P_SWAP);
    FLD(P_SWAP, ref_a);
    FLD(P_SWAP, ref_b);
    FLD(P_SWAP, status);

    SZ(P_CACHE);
    AGG(P_CACHE, a);
    FLD(P_CACHE, a.dev_bus_addr);
    FLD(P_CACHE, a.ref);
    FLD(P_CACHE, offset);
    FLD(P_CACHE, length);
    FLD(P_CACHE, op);

    /* Both widths of the width-specific operations, as literal layouts. */
    S32(ST32, 16);
    L32(ST32, dom, 0, 2);
    L32(ST32, nr_frames, 4, 4);
    L32(ST32, status, 8, 2);
    L32(ST32, frame_list, 12, 4);
    S64(ST64, 24);
    L64(ST64, dom, 0, 2);
    L64(ST64, nr_frames, 4, 4);
    L64(ST64, status, 8, 2);
    L64(ST64, frame_list, 16, 8);

    S32(TR32, 16);
    L32(TR32, mfn, 0, 4);
    L32(TR32, domid, 4, 2);
    L32(TR32, ref, 8, 4);
    L32(TR32, status, 12, 2);
    S64(TR64, 24);
    L64(TR64, mfn, 0, 8);
    L64(TR64, domid, 8, 2);
    L64(TR64, ref, 12, 4);
    L64(TR64, status, 16, 2);

    S32(CPP32, 8);
    S64(CPP64, 16);
    S32(CP32, 24);
    L32(CP32, source, 0, 8);
    L32(CP32, source.u, 0, 4);
    L32(CP32, source.u.ref, 0, 4);
    L32(CP32, source.u.gmfn, 0, 4);
    L32(CP32, source.domid, 4, 2);
    L32(CP32, source.offset, 6, 2);
    L32(CP32, dest, 8, 8);
    L32(CP32, dest.u.gmfn, 8, 4);
    L32(CP32, dest.domid, 12, 2);
    L32(CP32, dest.offset, 14, 2);
    L32(CP32, len, 16, 2);
    L32(CP32, flags, 18, 2);
    L32(CP32, status, 20, 2);
    S64(CP64, 40);
    L64(CP64, source, 0, 16);
    L64(CP64, source.u, 0, 8);
    L64(CP64, source.u.ref, 0, 4);
    L64(CP64, source.u.gmfn, 0, 8);
    L64(CP64, source.domid, 8, 2);
    L64(CP64, source.offset, 10, 2);
    L64(CP64, dest, 16, 16);
    L64(CP64, dest.u.gmfn, 16, 8);
    L64(CP64, dest.domid, 24, 2);
    L64(CP64, dest.offset, 26, 2);
    L64(CP64, len, 32, 2);
    L64(CP64, flags, 34, 2);
    L64(CP64, status, 36, 2);

    S32(GS32, 12);
    L32(GS32, nr_frames, 0, 4);
    L32(GS32, dom, 4, 2);
    L32(GS32, status, 6, 2);
    L32(GS32, frame_list, 8, 4);
    S64(GS64, 16);
    L64(GS64, nr_frames, 0, 4);
    L64(GS64, dom, 4, 2);
    L64(GS64, status, 6, 2);
    L64(GS64, frame_list, 8, 8);
}

/* ======================================================================================
 * ring.h
 * =================================================================================== */

/*
 * Xen ring types with slots of many sizes (and one 8-byte aligned slot), to compare the
 * header size and the slot count with __CONST_RING_SIZE.
 */
#define SLOT_TYPE(n)                                                                      \
    struct slot##n {                                                                      \
        uint8_t b[n];                                                                     \
    };                                                                                    \
    DEFINE_RING_TYPES(r##n, struct slot##n, struct slot##n)
SLOT_TYPE(1);
SLOT_TYPE(2);
SLOT_TYPE(3);
SLOT_TYPE(4);
SLOT_TYPE(7);
SLOT_TYPE(8);
SLOT_TYPE(12);
SLOT_TYPE(16);
SLOT_TYPE(24);
SLOT_TYPE(36);
SLOT_TYPE(64);
SLOT_TYPE(100);
SLOT_TYPE(112);
SLOT_TYPE(128);
SLOT_TYPE(200);
SLOT_TYPE(512);
SLOT_TYPE(1000);
SLOT_TYPE(2016);
SLOT_TYPE(2048);
SLOT_TYPE(4032);
SLOT_TYPE(4033);
struct slot_req_a8 {
    uint64_t id;
    uint32_t x;
};
struct slot_rsp_a8 {
    uint16_t st;
};
DEFINE_RING_TYPES(ra8, struct slot_req_a8, struct slot_rsp_a8);

#define P_SRING struct pvcore_sring_header, struct r64_sring

#define RING_AREAS(n)                                                                     \
    do {                                                                                  \
        CHECK(offsetof(struct r##n##_sring, ring) == PVCORE_SRING_HEADER_SIZE);           \
        CHECK(PVCORE_RING_NR_SLOTS(4096, sizeof(union r##n##_sring_entry)) ==             \
              __CONST_RING_SIZE(r##n, 4096));                                             \
        CHECK(PVCORE_RING_NR_SLOTS(8192, sizeof(union r##n##_sring_entry)) ==             \
              __CONST_RING_SIZE(r##n, 8192));                                             \
        CHECK(PVCORE_RING_NR_SLOTS(16384, sizeof(union r##n##_sring_entry)) ==            \
              __CONST_RING_SIZE(r##n, 16384));                                            \
        CHECK(PVCORE_RING_NR_SLOTS(65536, sizeof(union r##n##_sring_entry)) ==            \
              __CONST_RING_SIZE(r##n, 65536));                                            \
        CHECK(PVCORE_RING_NR_SLOTS(1u << 20, sizeof(union r##n##_sring_entry)) ==         \
              __CONST_RING_SIZE(r##n, 1u << 20));                                         \
        CHECK(PVCORE_RING_NR_SLOTS(1u << 28, sizeof(union r##n##_sring_entry)) ==         \
              __CONST_RING_SIZE(r##n, 1u << 28));                                         \
    } while (0)

/* ======================================================================================
 * memory.h (no foreign-header version: the other width by literal layout)
 * =================================================================================== */

#define P_RES NATIVE(xen_memory_reservation), struct xen_memory_reservation
#define P_EXCH NATIVE(xen_memory_exchange), struct xen_memory_exchange
#define RES32 struct pvcore_xen_memory_reservation_x86_32, struct xen_memory_reservation
#define RES64 struct pvcore_xen_memory_reservation_x86_64, struct xen_memory_reservation
#define EX32 struct pvcore_xen_memory_exchange_x86_32, struct xen_memory_exchange
#define EX64 struct pvcore_xen_memory_exchange_x86_64, struct xen_memory_exchange

static void check_memory(void)
{
    CONST(PVCORE_XENMEM_increase_reservation, XENMEM_increase_reservation);
    CONST(PVCORE_XENMEM_decrease_reservation, XENMEM_decrease_reservation);
    CONST(PVCORE_XENMEM_maximum_ram_page, XENMEM_maximum_ram_page);
    CONST(PVCORE_XENMEM_current_reservation, XENMEM_current_reservation);
    CONST(PVCORE_XENMEM_maximum_reservation, XENMEM_maximum_reservation);
    CONST(PVCORE_XENMEM_populate_physmap, XENMEM_populate_physmap);
    CONST(PVCORE_XENMEM_exchange, XENMEM_exchange);
    CONST(PVCORE_XENMEM_maximum_gpfn, XENMEM_maximum_gpfn);
    /* MEMOP_EXTENT_SHIFT is the hypervisor's (xen/hypercall.h), not public: Linux's
     * balloon driver and Xen's continuations agree on 6. */
    CHECK(PVCORE_MEMOP_EXTENT_SHIFT == 6);
    CHECK(PVCORE_MEMOP_CMD_MASK == 0x3F);
    CONST(PVCORE_XENMEMF_address_bits(32), XENMEMF_address_bits(32));
    CONST(PVCORE_XENMEMF_get_address_bits(0x12345u), XENMEMF_get_address_bits(0x12345u));
    CONST(PVCORE_XENMEMF_node(3), XENMEMF_node(3));
    CONST(PVCORE_XENMEMF_get_node(0x400u), XENMEMF_get_node(0x400u));
    CONST(PVCORE_XENMEMF_get_node(0u), XENMEMF_get_node(0u));
    CONST(PVCORE_XENMEMF_populate_on_demand, XENMEMF_populate_on_demand);
    CONST(PVCORE_XENMEMF_exact_node_request, XENMEMF_exact_node_request);
    CONST(PVCORE_XENMEMF_exact_node(2), XENMEMF_exact_node(2));
    CONST(PVCORE_XENMEMF_vnode, XENMEMF_vnode);

    SZ(P_RES);
    AGG(P_RES, extent_start);
    FLD(P_RES, nr_extents);
    FLD(P_RES, extent_order);
    FLD(P_RES, mem_flags);
    FLD(P_RES, domid);
    ALIAS(pvcore_xen_memory_reservation_t, NATIVE(xen_memory_reservation));
    SZ(P_EXCH);
    AGG(P_EXCH, in);
    AGG(P_EXCH, out);
    FLD(P_EXCH, out.domid);
    FLD(P_EXCH, nr_exchanged);
    ALIAS(pvcore_xen_memory_exchange_t, NATIVE(xen_memory_exchange));

    S32(RES32, 20);
    L32(RES32, extent_start, 0, 4);
    L32(RES32, nr_extents, 4, 4);
    L32(RES32, extent_order, 8, 4);
    L32(RES32, mem_flags, 12, 4);
    L32(RES32, domid, 16, 2);
    S64(RES64, 32);
    L64(RES64, extent_start, 0, 8);
    L64(RES64, nr_extents, 8, 8);
    L64(RES64, extent_order, 16, 4);
    L64(RES64, mem_flags, 20, 4);
    L64(RES64, domid, 24, 2);
    S32(EX32, 44);
    L32(EX32, in, 0, 20);
    L32(EX32, out, 20, 20);
    L32(EX32, nr_exchanged, 40, 4);
    S64(EX64, 72);
    L64(EX64, in, 0, 32);
    L64(EX64, out, 32, 32);
    L64(EX64, nr_exchanged, 64, 8);
}

static void check_ring(void)
{
    TYPE(pvcore_ring_idx_t, RING_IDX);

    CHECK(sizeof(struct pvcore_sring_header) == PVCORE_SRING_HEADER_SIZE);
    CHECK(offsetof(struct r64_sring, ring) == sizeof(struct pvcore_sring_header));
    FLD(P_SRING, req_prod);
    FLD(P_SRING, req_event);
    FLD(P_SRING, rsp_prod);
    FLD(P_SRING, rsp_event);
    AGG(P_SRING, pvt);
    FLD(P_SRING, pvt.netif.smartpoll_active);
    FLD(P_SRING, pvt.tapif_user.msg);
    ARR(P_SRING, pvt.pvt_pad);
    /* Xen calls the padding __pad, which C++ reserves; ours is pad. */
    CHECK(offsetof(struct pvcore_sring_header, pad) == offsetof(struct r64_sring, __pad));
    CHECK(MSIZE(struct pvcore_sring_header, pad) == MSIZE(struct r64_sring, __pad));
    CHECK(SIGNCLASS(MEMBER(struct pvcore_sring_header, pad[0])) ==
          SIGNCLASS(MEMBER(struct r64_sring, __pad[0])));
    CHECK(offsetof(struct ra8_sring, ring) == PVCORE_SRING_HEADER_SIZE);

    RING_AREAS(1);
    RING_AREAS(2);
    RING_AREAS(3);
    RING_AREAS(4);
    RING_AREAS(7);
    RING_AREAS(8);
    RING_AREAS(12);
    RING_AREAS(16);
    RING_AREAS(24);
    RING_AREAS(36);
    RING_AREAS(64);
    RING_AREAS(100);
    RING_AREAS(112);
    RING_AREAS(128);
    RING_AREAS(200);
    RING_AREAS(512);
    RING_AREAS(1000);
    RING_AREAS(2016);
    RING_AREAS(2048);
    RING_AREAS(4032);
    RING_AREAS(4033);
    RING_AREAS(a8);

    /* The examples in the header's documentation. */
    CHECK(PVCORE_RING_NR_SLOTS(4096, 64) == 32);
    CHECK(PVCORE_RING_NR_SLOTS(4096, 8) == 256);
    CHECK(PVCORE_RING_NR_SLOTS(4096, 112) == 32);
    CHECK(PVCORE_RING_POW2_FLOOR(0) == 0);
    CHECK(PVCORE_RING_POW2_FLOOR(1) == 1);
    CHECK(PVCORE_RING_POW2_FLOOR(0xFFFFFFFFu) == 0x80000000u);

    /* Exhaustive over small values, and every power of two and its neighbours, against
     * Xen's rounding helper (one run-time check per loop). */
    int same = 1;
    for (uint32_t x = 0; x < 70000; x++) {
        same &= PVCORE_RING_POW2_FLOOR(x) == (uint32_t)__RD32(x);
    }
    RCHECK(same, "RING_POW2_FLOOR equals __RD32 for 0..69999");
    same = 1;
    for (uint32_t s = 0; s < 32; s++) {
        uint32_t p = 1u << s;
        same &= PVCORE_RING_POW2_FLOOR(p) == (uint32_t)__RD32(p);
        same &= PVCORE_RING_POW2_FLOOR(p - 1) == (uint32_t)__RD32(p - 1);
        same &= PVCORE_RING_POW2_FLOOR(p + 1) == (uint32_t)__RD32(p + 1);
    }
    RCHECK(same, "RING_POW2_FLOOR equals __RD32 around every power of two");
}

/* ======================================================================================
 * console.h
 * =================================================================================== */

#define P_CONS struct pvcore_xencons_interface, struct xencons_interface

#define CONS_MASK(idx)                                                                    \
    do {                                                                                  \
        CHECK(PVCORE_MASK_XENCONS_IDX(idx, MEMBER(struct pvcore_xencons_interface, in)) == \
              MASK_XENCONS_IDX(idx, MEMBER(struct xencons_interface, in)));               \
        CHECK(PVCORE_MASK_XENCONS_IDX(idx, MEMBER(struct pvcore_xencons_interface, out)) == \
              MASK_XENCONS_IDX(idx, MEMBER(struct xencons_interface, out)));              \
    } while (0)

static void check_console(void)
{
    TYPE(pvcore_xencons_ring_idx_t, XENCONS_RING_IDX);
    SZ(P_CONS);
    ARR(P_CONS, in);
    ARR(P_CONS, out);
    FLD(P_CONS, in_cons);
    FLD(P_CONS, in_prod);
    FLD(P_CONS, out_cons);
    FLD(P_CONS, out_prod);
    CHECK(sizeof(struct pvcore_xencons_interface) == 3088);

    CONS_MASK(0u);
    CONS_MASK(1u);
    CONS_MASK(1023u);
    CONS_MASK(1024u);
    CONS_MASK(2047u);
    CONS_MASK(2048u);
    CONS_MASK(3000u);
    CONS_MASK(0xFFFFFFFFu);
}

/* ======================================================================================
 * elfnote.h
 * =================================================================================== */

static void check_elfnote(void)
{
    CONST(PVCORE_XEN_ELFNOTE_INFO, XEN_ELFNOTE_INFO);
    CONST(PVCORE_XEN_ELFNOTE_ENTRY, XEN_ELFNOTE_ENTRY);
    CONST(PVCORE_XEN_ELFNOTE_HYPERCALL_PAGE, XEN_ELFNOTE_HYPERCALL_PAGE);
    CONST(PVCORE_XEN_ELFNOTE_VIRT_BASE, XEN_ELFNOTE_VIRT_BASE);
    CONST(PVCORE_XEN_ELFNOTE_PADDR_OFFSET, XEN_ELFNOTE_PADDR_OFFSET);
    CONST(PVCORE_XEN_ELFNOTE_XEN_VERSION, XEN_ELFNOTE_XEN_VERSION);
    CONST(PVCORE_XEN_ELFNOTE_GUEST_OS, XEN_ELFNOTE_GUEST_OS);
    CONST(PVCORE_XEN_ELFNOTE_GUEST_VERSION, XEN_ELFNOTE_GUEST_VERSION);
    CONST(PVCORE_XEN_ELFNOTE_LOADER, XEN_ELFNOTE_LOADER);
    CONST(PVCORE_XEN_ELFNOTE_PAE_MODE, XEN_ELFNOTE_PAE_MODE);
    CONST(PVCORE_XEN_ELFNOTE_FEATURES, XEN_ELFNOTE_FEATURES);
    CONST(PVCORE_XEN_ELFNOTE_BSD_SYMTAB, XEN_ELFNOTE_BSD_SYMTAB);
    CONST(PVCORE_XEN_ELFNOTE_HV_START_LOW, XEN_ELFNOTE_HV_START_LOW);
    CONST(PVCORE_XEN_ELFNOTE_L1_MFN_VALID, XEN_ELFNOTE_L1_MFN_VALID);
    CONST(PVCORE_XEN_ELFNOTE_SUSPEND_CANCEL, XEN_ELFNOTE_SUSPEND_CANCEL);
    CONST(PVCORE_XEN_ELFNOTE_INIT_P2M, XEN_ELFNOTE_INIT_P2M);
    CONST(PVCORE_XEN_ELFNOTE_MOD_START_PFN, XEN_ELFNOTE_MOD_START_PFN);
    CONST(PVCORE_XEN_ELFNOTE_SUPPORTED_FEATURES, XEN_ELFNOTE_SUPPORTED_FEATURES);
    CONST(PVCORE_XEN_ELFNOTE_PHYS32_ENTRY, XEN_ELFNOTE_PHYS32_ENTRY);
    CONST(PVCORE_XEN_ELFNOTE_MAX, XEN_ELFNOTE_MAX);
}

/* ======================================================================================
 * vcpu.h and the vCPU guest context
 * =================================================================================== */

#define CHECK_VCPU_FOREIGN_COMMON(W)                                                            \
    do {                                                                                        \
        SZ(struct pvcore_vcpu_guest_context_##W, struct vcpu_guest_context_##W);                \
        AGG(struct pvcore_vcpu_guest_context_##W, struct vcpu_guest_context_##W, fpu_ctxt);     \
        FLD(struct pvcore_vcpu_guest_context_##W, struct vcpu_guest_context_##W, flags);        \
        AGG(struct pvcore_vcpu_guest_context_##W, struct vcpu_guest_context_##W, user_regs);    \
        AGG(struct pvcore_vcpu_guest_context_##W, struct vcpu_guest_context_##W, trap_ctxt);    \
        FLD(struct pvcore_vcpu_guest_context_##W, struct vcpu_guest_context_##W,                \
            trap_ctxt[255].address);                                                            \
        FLD(struct pvcore_vcpu_guest_context_##W, struct vcpu_guest_context_##W, ldt_base);     \
        FLD(struct pvcore_vcpu_guest_context_##W, struct vcpu_guest_context_##W, ldt_ents);     \
        ARR(struct pvcore_vcpu_guest_context_##W, struct vcpu_guest_context_##W, gdt_frames);   \
        FLD(struct pvcore_vcpu_guest_context_##W, struct vcpu_guest_context_##W, gdt_ents);     \
        FLD(struct pvcore_vcpu_guest_context_##W, struct vcpu_guest_context_##W, kernel_ss);    \
        FLD(struct pvcore_vcpu_guest_context_##W, struct vcpu_guest_context_##W, kernel_sp);    \
        ARR(struct pvcore_vcpu_guest_context_##W, struct vcpu_guest_context_##W, ctrlreg);      \
        ARR(struct pvcore_vcpu_guest_context_##W, struct vcpu_guest_context_##W, debugreg);     \
        FLD(struct pvcore_vcpu_guest_context_##W, struct vcpu_guest_context_##W,                \
            event_callback_eip);                                                                \
        FLD(struct pvcore_vcpu_guest_context_##W, struct vcpu_guest_context_##W,                \
            failsafe_callback_eip);                                                             \
        FLD(struct pvcore_vcpu_guest_context_##W, struct vcpu_guest_context_##W, vm_assist);    \
        SZ(struct pvcore_cpu_user_regs_##W, struct cpu_user_regs_##W);                          \
        FLD(struct pvcore_cpu_user_regs_##W, struct cpu_user_regs_##W, error_code);             \
        FLD(struct pvcore_cpu_user_regs_##W, struct cpu_user_regs_##W, entry_vector);           \
        FLD(struct pvcore_cpu_user_regs_##W, struct cpu_user_regs_##W, cs);                     \
        FLD(struct pvcore_cpu_user_regs_##W, struct cpu_user_regs_##W, saved_upcall_mask);      \
        FLD(struct pvcore_cpu_user_regs_##W, struct cpu_user_regs_##W, ss);                     \
        FLD(struct pvcore_cpu_user_regs_##W, struct cpu_user_regs_##W, es);                     \
        FLD(struct pvcore_cpu_user_regs_##W, struct cpu_user_regs_##W, ds);                     \
        FLD(struct pvcore_cpu_user_regs_##W, struct cpu_user_regs_##W, fs);                     \
        FLD(struct pvcore_cpu_user_regs_##W, struct cpu_user_regs_##W, gs);                     \
    } while (0)

#define RU64 struct pvcore_cpu_user_regs_x86_64, struct cpu_user_regs_x86_64
#define RU32 struct pvcore_cpu_user_regs_x86_32, struct cpu_user_regs_x86_32
#define GC64 struct pvcore_vcpu_guest_context_x86_64, struct vcpu_guest_context
#define GC32 struct pvcore_vcpu_guest_context_x86_32, struct vcpu_guest_context
#define RS64 struct pvcore_vcpu_runstate_info_x86_64, struct vcpu_runstate_info
#define RS32 struct pvcore_vcpu_runstate_info_x86_32, struct vcpu_runstate_info

static void check_vcpu(void)
{
    CONST(PVCORE_VCPUOP_initialise, VCPUOP_initialise);
    CONST(PVCORE_VCPUOP_up, VCPUOP_up);
    CONST(PVCORE_VCPUOP_down, VCPUOP_down);
    CONST(PVCORE_VCPUOP_is_up, VCPUOP_is_up);
    CONST(PVCORE_VCPUOP_get_runstate_info, VCPUOP_get_runstate_info);
    CONST(PVCORE_VCPUOP_register_runstate_memory_area, VCPUOP_register_runstate_memory_area);
    CONST(PVCORE_VCPUOP_set_periodic_timer, VCPUOP_set_periodic_timer);
    CONST(PVCORE_VCPUOP_stop_periodic_timer, VCPUOP_stop_periodic_timer);
    CONST(PVCORE_VCPUOP_set_singleshot_timer, VCPUOP_set_singleshot_timer);
    CONST(PVCORE_VCPUOP_stop_singleshot_timer, VCPUOP_stop_singleshot_timer);
    CONST(PVCORE_VCPUOP_register_vcpu_info, VCPUOP_register_vcpu_info);
    CONST(PVCORE_VCPUOP_send_nmi, VCPUOP_send_nmi);
    CONST(PVCORE_VCPUOP_get_physid, VCPUOP_get_physid);
    CONST(PVCORE_VCPUOP_register_vcpu_time_memory_area, VCPUOP_register_vcpu_time_memory_area);
    CONST(PVCORE_RUNSTATE_running, RUNSTATE_running);
    CONST(PVCORE_RUNSTATE_runnable, RUNSTATE_runnable);
    CONST(PVCORE_RUNSTATE_blocked, RUNSTATE_blocked);
    CONST(PVCORE_RUNSTATE_offline, RUNSTATE_offline);
    CONST(PVCORE_XEN_RUNSTATE_UPDATE, XEN_RUNSTATE_UPDATE);
    CONST(PVCORE_VCPU_SSHOTTMR_future_BIT, _VCPU_SSHOTTMR_future);
    CONST(PVCORE_VCPU_SSHOTTMR_future, VCPU_SSHOTTMR_future);

    /* The same in both widths. */
    SZ(struct pvcore_vcpu_register_vcpu_info, struct vcpu_register_vcpu_info);
    FLD(struct pvcore_vcpu_register_vcpu_info, struct vcpu_register_vcpu_info, mfn);
    FLD(struct pvcore_vcpu_register_vcpu_info, struct vcpu_register_vcpu_info, offset);
    FLD(struct pvcore_vcpu_register_vcpu_info, struct vcpu_register_vcpu_info, rsvd);
    SZ(struct pvcore_vcpu_register_runstate_memory_area, struct vcpu_register_runstate_memory_area);
    AGG(struct pvcore_vcpu_register_runstate_memory_area, struct vcpu_register_runstate_memory_area,
        addr);
    SZ(struct pvcore_vcpu_set_periodic_timer, struct vcpu_set_periodic_timer);
    FLD(struct pvcore_vcpu_set_periodic_timer, struct vcpu_set_periodic_timer, period_ns);
    FLD(struct pvcore_vcpu_set_singleshot_timer, struct vcpu_set_singleshot_timer, timeout_abs_ns);
    FLD(struct pvcore_vcpu_set_singleshot_timer, struct vcpu_set_singleshot_timer, flags);

    /* The guest contexts and registers against the foreign headers, both widths. */
    CHECK_VCPU_FOREIGN_COMMON(x86_32);
    CHECK_VCPU_FOREIGN_COMMON(x86_64);
    FLD(RU64, r15);
    FLD(RU64, rbp);
    FLD(RU64, rbx);
    FLD(RU64, r11);
    FLD(RU64, r8);
    FLD(RU64, rax);
    FLD(RU64, rcx);
    FLD(RU64, rdx);
    FLD(RU64, rsi);
    FLD(RU64, rdi);
    FLD(RU64, rip);
    FLD(RU64, rflags);
    FLD(RU64, rsp);
    FLD(RU32, ebx);
    FLD(RU32, ecx);
    FLD(RU32, edx);
    FLD(RU32, esi);
    FLD(RU32, edi);
    FLD(RU32, ebp);
    FLD(RU32, eax);
    FLD(RU32, eip);
    FLD(RU32, eflags);
    FLD(RU32, esp);
    FLD(struct pvcore_vcpu_guest_context_x86_32, struct vcpu_guest_context_x86_32, event_callback_cs);
    FLD(struct pvcore_vcpu_guest_context_x86_32, struct vcpu_guest_context_x86_32,
        failsafe_callback_cs);
    CHECK(sizeof(struct pvcore_vcpu_guest_context_x86_64) == 5168);
    CHECK(sizeof(struct pvcore_vcpu_guest_context_x86_32) == 2800);

    /* Width-specific members checked against the native header of each build. */
    S64(GC64, 5168);
    L64(GC64, syscall_callback_eip, 5128, 8);
    L64(GC64, vm_assist, 5136, 8);
    L64(GC64, fs_base, 5144, 8);
    L64(GC64, gs_base_kernel, 5152, 8);
    L64(GC64, gs_base_user, 5160, 8);
    S32(GC32, 2800);
    L32(GC32, event_callback_cs, 2780, 4);
    L32(GC32, vm_assist, 2796, 4);
    S64(RS64, 48);
    L64(RS64, state, 0, 4);
    L64(RS64, state_entry_time, 8, 8);
    L64(RS64, time, 16, 32);
    S32(RS32, 44);
    L32(RS32, state, 0, 4);
    L32(RS32, state_entry_time, 4, 8);
    L32(RS32, time, 12, 32);

    /* CR3 formats, against the native macros of each build. */
#if defined(__x86_64__)
    RCHECK(PVCORE_XEN_CR3_TO_PFN_X86_64(0x123456789000ull) == xen_cr3_to_pfn(0x123456789000ull),
           "xen_cr3_to_pfn (64-bit)");
    RCHECK(PVCORE_XEN_PFN_TO_CR3_X86_64(0x123456789ull) == xen_pfn_to_cr3(0x123456789ull),
           "xen_pfn_to_cr3 (64-bit)");
#else
    RCHECK(PVCORE_XEN_CR3_TO_PFN_X86_32(0x12345678u) == xen_cr3_to_pfn(0x12345678u),
           "xen_cr3_to_pfn (32-bit)");
    RCHECK(PVCORE_XEN_PFN_TO_CR3_X86_32(0x123456u) == xen_pfn_to_cr3(0x123456u),
           "xen_pfn_to_cr3 (32-bit)");
#endif
    RCHECK(PVCORE_XEN_CR3_TO_PFN_X86_32(PVCORE_XEN_PFN_TO_CR3_X86_32(0xABCDEu)) == 0xABCDEu,
           "32-bit CR3 round trip");
}

int main(void)
{
    check_errno();
    check_xen_constants();
    check_xen_structs_common();
    check_xen_structs_native();
    check_xen_structs_foreign();
    check_xen_structs_literal();
    check_xen_macros();
    check_event_channel();
    check_grant_table();
    check_memory();
    check_ring();
    check_console();
    check_elfnote();
    check_vcpu();

    if (g_failures != 0) {
        printf("abi_check (%s): %lu of %lu checks FAILED\n", ABI_WIDTH, g_failures, g_checks);
        return 1;
    }
    printf("abi_check (%s): %lu checks passed\n", ABI_WIDTH, g_checks);
    return 0;
}
