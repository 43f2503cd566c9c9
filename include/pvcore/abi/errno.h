/**
 * @file
 * @brief Error numbers of the Xen hypercall ABI.
 *
 * A hypercall reports failure by returning the negative of one of these numbers in the
 * guest's return register (`%eax` / `%rax`), and libpvcore functions use the same
 * convention: 0 (or a non-negative count) for success, `-PVCORE_Exxx` for failure. The
 * numbers are those of Xen's public `errno.h`, which in turn took them from x86 Linux, so
 * a hypervisor built on libpvcore passes a library error straight through to the guest
 * and a Linux guest prints it with the right name.
 *
 * The set is closed: Xen only adds POSIX names, and only with Linux's x86 number. Two
 * numbers (#PVCORE_EINTR and #PVCORE_ERESTART) exist for the hypervisor's own use and
 * must never reach a guest; they are marked as such below.
 *
 * Aliases share a number: #PVCORE_EWOULDBLOCK is #PVCORE_EAGAIN and #PVCORE_EDEADLOCK is
 * #PVCORE_EDEADLK. A `switch` on error values must therefore list only one of each pair.
 *
 * This header has no dependencies and can be used from assembly-free C99, C11 and C++.
 */
#ifndef PVCORE_ABI_ERRNO_H
#define PVCORE_ABI_ERRNO_H

/**
 * @defgroup pvcore_abi_errno Hypercall error numbers
 * @brief Positive error numbers; hypercalls and library functions return their negation.
 * @{
 */

/**
 * The type of an error number: one of the positive `PVCORE_E*` values below. Functions
 * and hypercalls return it negated, in an `int` (or a register-wide `long`).
 */
typedef int pvcore_errno_t;

/** The caller lacks the privilege for the request (for example, it is not the owner). */
#define PVCORE_EPERM 1
/** A named object (page, grant, port, version string) does not exist. */
#define PVCORE_ENOENT 2
/** The named domain does not exist or may not be named in this context. */
#define PVCORE_ESRCH 3
/**
 * Hypervisor-internal: an operation was interrupted. Never returned to a guest; Xen
 * lists it only for its own build.
 */
#define PVCORE_EINTR 4
/** An I/O error in a device or a backing service. */
#define PVCORE_EIO 5
/** The device or address named does not exist. */
#define PVCORE_ENXIO 6
/** An argument list or a count is larger than the operation accepts. */
#define PVCORE_E2BIG 7
/** An image (kernel, module) is not in an executable format the loader understands. */
#define PVCORE_ENOEXEC 8
/** A handle or descriptor-like number does not name an open object. */
#define PVCORE_EBADF 9
/** There is no child to wait for. */
#define PVCORE_ECHILD 10
/** The resource is temporarily unavailable; the same request may succeed later. */
#define PVCORE_EAGAIN 11
/** Alias of #PVCORE_EAGAIN (same number): the operation would have to block. */
#define PVCORE_EWOULDBLOCK 11
/** Out of memory: the hypervisor could not allocate what the request needs. */
#define PVCORE_ENOMEM 12
/** Access denied by policy (for example, a cache flush without I/O privilege). */
#define PVCORE_EACCES 13
/** A guest address passed by the caller could not be read or written. */
#define PVCORE_EFAULT 14
/** The object is in use and cannot be changed or released now. */
#define PVCORE_EBUSY 16
/** The object already exists (for example, a binding that may only be made once). */
#define PVCORE_EEXIST 17
/** The operation would cross between two different owners or devices. */
#define PVCORE_EXDEV 18
/** No such device, or the device does not support the operation. */
#define PVCORE_ENODEV 19
/** A path component is not a directory (hypervisor file system). */
#define PVCORE_ENOTDIR 20
/** The path names a directory where a leaf was expected (hypervisor file system). */
#define PVCORE_EISDIR 21
/** An argument is invalid: a bad command, a malformed entry, a failed validation. */
#define PVCORE_EINVAL 22
/** A system-wide table is full. */
#define PVCORE_ENFILE 23
/** A per-domain table is full. */
#define PVCORE_EMFILE 24
/** No space is left in the target (table, buffer, array). */
#define PVCORE_ENOSPC 28
/** The target is read-only. */
#define PVCORE_EROFS 30
/** Too many links or references to one object. */
#define PVCORE_EMLINK 31
/** An argument is outside the domain the operation is defined on. */
#define PVCORE_EDOM 33
/** A result or an argument does not fit the range of its field. */
#define PVCORE_ERANGE 34
/** Granting the request would deadlock. */
#define PVCORE_EDEADLK 35
/** Alias of #PVCORE_EDEADLK (same number). */
#define PVCORE_EDEADLOCK 35
/** A name is longer than the operation accepts. */
#define PVCORE_ENAMETOOLONG 36
/** No lock is available. */
#define PVCORE_ENOLCK 37
/**
 * The hypercall, sub-command or operation is not implemented. Returned for unknown
 * hypercall numbers and unknown commands within a known hypercall.
 */
#define PVCORE_ENOSYS 38
/** A directory or container is not empty. */
#define PVCORE_ENOTEMPTY 39
/** No data is available. */
#define PVCORE_ENODATA 61
/** A timer expired. */
#define PVCORE_ETIME 62
/** A message is not in the expected format. */
#define PVCORE_EBADMSG 74
/** A value is too large for the data type that must hold it. */
#define PVCORE_EOVERFLOW 75
/** An illegal byte sequence. */
#define PVCORE_EILSEQ 84
/**
 * Hypervisor-internal: the operation was preempted and must be continued. The
 * hypervisor turns it into a continuation (the guest re-executes the hypercall with
 * updated arguments); it must never be returned to a guest as a result.
 */
#define PVCORE_ERESTART 85
/** The object is not a socket-like endpoint. */
#define PVCORE_ENOTSOCK 88
/** A message is too large for the channel. */
#define PVCORE_EMSGSIZE 90
/**
 * The operation is recognised but not supported here (for example, by this kind of
 * domain, or because the feature was removed).
 */
#define PVCORE_EOPNOTSUPP 95
/** The address or slot is already in use. */
#define PVCORE_EADDRINUSE 98
/** The requested address cannot be assigned. */
#define PVCORE_EADDRNOTAVAIL 99
/** No buffer space is available. */
#define PVCORE_ENOBUFS 105
/** The endpoint is already connected. */
#define PVCORE_EISCONN 106
/** The endpoint is not connected. */
#define PVCORE_ENOTCONN 107
/** The operation timed out. */
#define PVCORE_ETIMEDOUT 110
/** The peer refused the connection. */
#define PVCORE_ECONNREFUSED 111

/** @} */

#endif /* PVCORE_ABI_ERRNO_H */
