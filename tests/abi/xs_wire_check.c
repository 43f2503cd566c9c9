/*
 * xs_wire_check: proves that <pvcore/abi/xs_wire.h> matches Xen's io/xs_wire.h from
 * libxen-dev, constant by constant and field by field, as abi_check.c does for the other
 * wire headers.
 *
 * Constants, sizes and fields are static assertions (a mismatch stops the build), each
 * counted when main() runs; the error-name table is compared at run time (Xen's is an
 * array of strings): same length, same order, same numbers, same names. Built for x86-64
 * and, by a custom command, for i386 (the layout is the same for both; the test proves it).
 */
#include <errno.h> /* before xs_wire.h: it defines xsd_errors[] only when EINVAL exists */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <xen/io/xenbus.h>
#include <xen/io/xs_wire.h>

#include <pvcore/abi/xs_wire.h>

#include "abi_compare.h"
/* A string constant: same bytes. */
#define STR(ours, theirs)                                                                 \
    do {                                                                                  \
        CHECK(sizeof(ours) == sizeof(theirs));                                            \
        RCHECK(memcmp(ours, theirs, sizeof(ours)) == 0, #ours " == " #theirs);            \
    } while (0)

static void check_types(void)
{
    CONST(PVCORE_XS_CONTROL, XS_CONTROL);
    CONST(PVCORE_XS_DEBUG, XS_DEBUG);
    CONST(PVCORE_XS_DIRECTORY, XS_DIRECTORY);
    CONST(PVCORE_XS_READ, XS_READ);
    CONST(PVCORE_XS_GET_PERMS, XS_GET_PERMS);
    CONST(PVCORE_XS_WATCH, XS_WATCH);
    CONST(PVCORE_XS_UNWATCH, XS_UNWATCH);
    CONST(PVCORE_XS_TRANSACTION_START, XS_TRANSACTION_START);
    CONST(PVCORE_XS_TRANSACTION_END, XS_TRANSACTION_END);
    CONST(PVCORE_XS_INTRODUCE, XS_INTRODUCE);
    CONST(PVCORE_XS_RELEASE, XS_RELEASE);
    CONST(PVCORE_XS_GET_DOMAIN_PATH, XS_GET_DOMAIN_PATH);
    CONST(PVCORE_XS_WRITE, XS_WRITE);
    CONST(PVCORE_XS_MKDIR, XS_MKDIR);
    CONST(PVCORE_XS_RM, XS_RM);
    CONST(PVCORE_XS_SET_PERMS, XS_SET_PERMS);
    CONST(PVCORE_XS_WATCH_EVENT, XS_WATCH_EVENT);
    CONST(PVCORE_XS_ERROR, XS_ERROR);
    CONST(PVCORE_XS_IS_DOMAIN_INTRODUCED, XS_IS_DOMAIN_INTRODUCED);
    CONST(PVCORE_XS_RESUME, XS_RESUME);
    CONST(PVCORE_XS_SET_TARGET, XS_SET_TARGET);
    CONST(PVCORE_XS_RESET_WATCHES, XS_RESET_WATCHES);
    CONST(PVCORE_XS_DIRECTORY_PART, XS_DIRECTORY_PART);
    CONST(PVCORE_XS_TYPE_COUNT, XS_TYPE_COUNT);
    CONST(PVCORE_XS_INVALID, XS_INVALID);
    /* The removed XS_RESTRICT left a hole at 20. */
    CHECK(XS_SET_TARGET + 1 == 20 && XS_RESET_WATCHES == 21);

    /* io/xenbus.h's device states. */
    CONST(PVCORE_XENBUS_STATE_UNKNOWN, XenbusStateUnknown);
    CONST(PVCORE_XENBUS_STATE_INITIALISING, XenbusStateInitialising);
    CONST(PVCORE_XENBUS_STATE_INIT_WAIT, XenbusStateInitWait);
    CONST(PVCORE_XENBUS_STATE_INITIALISED, XenbusStateInitialised);
    CONST(PVCORE_XENBUS_STATE_CONNECTED, XenbusStateConnected);
    CONST(PVCORE_XENBUS_STATE_CLOSING, XenbusStateClosing);
    CONST(PVCORE_XENBUS_STATE_CLOSED, XenbusStateClosed);
    CONST(PVCORE_XENBUS_STATE_RECONFIGURING, XenbusStateReconfiguring);
    CONST(PVCORE_XENBUS_STATE_RECONFIGURED, XenbusStateReconfigured);

    STR(PVCORE_XS_WRITE_NONE, XS_WRITE_NONE);
    STR(PVCORE_XS_WRITE_CREATE, XS_WRITE_CREATE);
    STR(PVCORE_XS_WRITE_CREATE_EXCL, XS_WRITE_CREATE_EXCL);

    CONST(PVCORE_XS_WATCH_PATH, XS_WATCH_PATH);
    CONST(PVCORE_XS_WATCH_TOKEN, XS_WATCH_TOKEN);
}

#define P_MSG struct pvcore_xsd_sockmsg, struct xsd_sockmsg
#define P_XSIF struct pvcore_xenstore_domain_interface, struct xenstore_domain_interface

static void check_layouts(void)
{
    SZ(P_MSG);
    FLD(P_MSG, type);
    FLD(P_MSG, req_id);
    FLD(P_MSG, tx_id);
    FLD(P_MSG, len);
    CHECK(sizeof(struct pvcore_xsd_sockmsg) == 16);
    CHECK(_Generic((pvcore_xsd_sockmsg_t *)0, struct pvcore_xsd_sockmsg *: 1, default: 0));

    CONST(PVCORE_XENSTORE_RING_SIZE, XENSTORE_RING_SIZE);
    TYPE(pvcore_xenstore_ring_idx_t, XENSTORE_RING_IDX);
    SZ(P_XSIF);
    ARR(P_XSIF, req);
    ARR(P_XSIF, rsp);
    FLD(P_XSIF, req_cons);
    FLD(P_XSIF, req_prod);
    FLD(P_XSIF, rsp_cons);
    FLD(P_XSIF, rsp_prod);
    FLD(P_XSIF, server_features);
    FLD(P_XSIF, connection);
    FLD(P_XSIF, error);
    /* The offsets docs/misc/xenstore-ring.txt gives. */
    CHECK(offsetof(struct pvcore_xenstore_domain_interface, req_cons) == 2048);
    CHECK(offsetof(struct pvcore_xenstore_domain_interface, error) == 2072);
    CHECK(sizeof(struct pvcore_xenstore_domain_interface) == 2076);
    CHECK(_Generic((pvcore_xenstore_domain_interface_t *)0,
                   struct pvcore_xenstore_domain_interface *: 1, default: 0));

    /* The index mask, at the edges and past a wrap. */
#define MASKED(i) CHECK(PVCORE_MASK_XENSTORE_IDX((uint32_t)(i)) == MASK_XENSTORE_IDX((uint32_t)(i)))
    MASKED(0);
    MASKED(1023);
    MASKED(1024);
    MASKED(1025);
    MASKED(0xFFFFFFFFu);
    MASKED(0x80000400u);
#undef MASKED

    CONST(PVCORE_XENSTORE_PAYLOAD_MAX, XENSTORE_PAYLOAD_MAX);
    CONST(PVCORE_XENSTORE_ABS_PATH_MAX, XENSTORE_ABS_PATH_MAX);
    CONST(PVCORE_XENSTORE_REL_PATH_MAX, XENSTORE_REL_PATH_MAX);
    CONST(PVCORE_XENSTORE_SERVER_FEATURE_RECONNECTION, XENSTORE_SERVER_FEATURE_RECONNECTION);
    CONST(PVCORE_XENSTORE_SERVER_FEATURE_ERROR, XENSTORE_SERVER_FEATURE_ERROR);
    CONST(PVCORE_XENSTORE_CONNECTED, XENSTORE_CONNECTED);
    CONST(PVCORE_XENSTORE_RECONNECT, XENSTORE_RECONNECT);
    CONST(PVCORE_XENSTORE_ERROR_NONE, XENSTORE_ERROR_NONE);
    CONST(PVCORE_XENSTORE_ERROR_COMM, XENSTORE_ERROR_COMM);
    CONST(PVCORE_XENSTORE_ERROR_RINGIDX, XENSTORE_ERROR_RINGIDX);
    CONST(PVCORE_XENSTORE_ERROR_PROTO, XENSTORE_ERROR_PROTO);
}

/* The error table: Xen's xsd_errors[] holds {errnum, "NAME"} in a fixed order. */
struct ours {
    int num;
    const char *name;
};
#define OURS(e) { PVCORE_##e, #e },
static const struct ours our_errors[] = { PVCORE_XSD_ERRORS(OURS) };
#undef OURS

static void check_errors(void)
{
    size_t n = sizeof(xsd_errors) / sizeof(xsd_errors[0]);
    size_t i;

    CHECK(sizeof(our_errors) / sizeof(our_errors[0]) == PVCORE_XSD_NR_ERRORS);
    CHECK(sizeof(xsd_errors) / sizeof(xsd_errors[0]) == PVCORE_XSD_NR_ERRORS);
    RCHECK(n == PVCORE_XSD_NR_ERRORS, "xsd_errors[] has PVCORE_XSD_NR_ERRORS entries");
    for (i = 0; i < n && i < PVCORE_XSD_NR_ERRORS; i++) {
        char what[96];

        snprintf(what, sizeof(what), "xsd_errors[%zu] = %s (%d)", i, xsd_errors[i].errstring,
                 xsd_errors[i].errnum);
        RCHECK(strcmp(our_errors[i].name, xsd_errors[i].errstring) == 0, what);
        RCHECK(our_errors[i].num == xsd_errors[i].errnum, what);
    }
    /* The fallback for an untranslatable error is the first entry. */
    RCHECK(strcmp(xsd_errors[0].errstring, "EINVAL") == 0, "xsd_errors[0] is EINVAL");
}

int main(void)
{
    check_types();
    check_layouts();
    check_errors();
    if (g_failures != 0) {
        fprintf(stderr, "xs_wire_check (%zu-bit): %lu of %lu comparisons FAILED\n",
                sizeof(void *) * 8, g_failures, g_checks);
        return 1;
    }
    printf("xs_wire_check (%zu-bit): %lu comparisons against libxen-dev's io/xs_wire.h and io/xenbus.h, all equal\n",
           sizeof(void *) * 8, g_checks);
    return 0;
}
