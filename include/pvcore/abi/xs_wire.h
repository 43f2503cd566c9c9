/**
 * @file
 * @brief Wire protocol of the xenstore: message types, the message header, the error
 *        names, and the shared ring page.
 *
 * A guest talks to the xenstore over one shared page (start_info.store_mfn) and one event
 * channel (start_info.store_evtchn). The page holds two byte rings of
 * #PVCORE_XENSTORE_RING_SIZE bytes: `req` carries requests to the server, `rsp` carries
 * replies and watch events to the guest. Each ring has a consumer and a producer index,
 * free-running 32-bit counters; byte `i` of a stream is at `ring[i % 1024]`
 * (#PVCORE_MASK_XENSTORE_IDX). A ring is empty when its indices are equal and full when
 * they differ by the ring size; a difference larger than that is a broken ring. A writer
 * copies bytes, then (after a write barrier) advances its producer index, then signals the
 * event channel; a reader reads the producer index, then (after a read barrier) the bytes,
 * then advances its consumer index. Neither side may assume the indices start at 0.
 *
 * Each message in either direction is a struct pvcore_xsd_sockmsg header followed by
 * `len` bytes of payload, at most #PVCORE_XENSTORE_PAYLOAD_MAX; a message may be larger
 * than the ring and then crosses it in several pieces. A reply repeats its request's
 * type, req_id and tx_id; a failed request gets #PVCORE_XS_ERROR instead, whose payload is
 * the NUL-terminated *name* of the error ("ENOENT", not a number), one of the names of
 * #PVCORE_XSD_ERRORS. Unsolicited #PVCORE_XS_WATCH_EVENT messages (req_id and tx_id 0)
 * carry `<path>NUL<token>NUL`, in the order of #PVCORE_XS_WATCH_PATH and
 * #PVCORE_XS_WATCH_TOKEN.
 *
 * The numbers and layouts are Xen's `io/xs_wire.h` (checked field by field against
 * libxen-dev in tests/abi/xs_wire_check.c); what each request means is in
 * <pvcore/xenstore.h>, the library's server. The layout is the same for 32-bit and 64-bit
 * guests.
 */
#ifndef PVCORE_ABI_XS_WIRE_H
#define PVCORE_ABI_XS_WIRE_H

#include <stdint.h>

#include <pvcore/abi/errno.h>

/**
 * @defgroup pvcore_abi_xs_wire Xenstore wire protocol
 * @brief Message types, header, error names and the shared ring page.
 * @{
 */

/** @name Message types (struct pvcore_xsd_sockmsg::type)
 * Payload notation: `|` is a NUL byte; `<x>` a string without NUL; `<x|>` bytes that may
 * contain NULs.
 * @{ */
#define PVCORE_XS_CONTROL 0              /**< `<command>|[<args>|]`: server control (privileged). */
#define PVCORE_XS_DEBUG PVCORE_XS_CONTROL /**< Old name of #PVCORE_XS_CONTROL. */
#define PVCORE_XS_DIRECTORY 1            /**< `<path>|` -> `<child>|`*: the children's leaf names. */
#define PVCORE_XS_READ 2                 /**< `<path>|` -> `<value|>`: the value, no NUL added. */
#define PVCORE_XS_GET_PERMS 3            /**< `<path>|` -> `<perm>|`+: owner entry first. */
#define PVCORE_XS_WATCH 4                /**< `<wpath>|<token>|`: adds a watch. */
#define PVCORE_XS_UNWATCH 5              /**< `<wpath>|<token>|`: removes a watch. */
#define PVCORE_XS_TRANSACTION_START 6    /**< `|` -> `<id>|`: decimal transaction id. */
#define PVCORE_XS_TRANSACTION_END 7      /**< `T|` commits, `F|` aborts the tx_id's transaction. */
#define PVCORE_XS_INTRODUCE 8            /**< `<domid>|<mfn>|<port>|`: toolstack only. */
#define PVCORE_XS_RELEASE 9              /**< `<domid>|`: toolstack only. */
#define PVCORE_XS_GET_DOMAIN_PATH 10     /**< `<domid>|` -> `/local/domain/<domid>|`. */
#define PVCORE_XS_WRITE 11               /**< `<path>|<value|>`: creates missing parents. */
#define PVCORE_XS_MKDIR 12               /**< `<path>|`: creates the node (and parents) if missing. */
#define PVCORE_XS_RM 13                  /**< `<path>|`: removes the node and its descendants. */
#define PVCORE_XS_SET_PERMS 14           /**< `<path>|<perm>|`+: replaces the permissions. */
#define PVCORE_XS_WATCH_EVENT 15         /**< Server to guest only: `<epath>|<token>|`. */
#define PVCORE_XS_ERROR 16               /**< Server to guest only: `<errno name>|`. */
#define PVCORE_XS_IS_DOMAIN_INTRODUCED 17 /**< `<domid>|` -> `T|` or `F|`: toolstack only. */
#define PVCORE_XS_RESUME 18              /**< `<domid>|`: toolstack only. */
#define PVCORE_XS_SET_TARGET 19          /**< `<domid>|<target>|`: toolstack only. */
/* 20 was XS_RESTRICT, removed from Xen; it is not a valid type. */
#define PVCORE_XS_RESET_WATCHES 21       /**< `|`: drops the caller's watches and transactions. */
#define PVCORE_XS_DIRECTORY_PART 22      /**< `<path>|<offset>|` -> `<gen>|<child>|`*: a slice of DIRECTORY. */
#define PVCORE_XS_TYPE_COUNT 23          /**< Number of types (valid ones are below it). */
#define PVCORE_XS_INVALID 0xffff         /**< A type guaranteed never to be valid. */
/** @} */

/** @name Modes of a write (Xen's library strings; not used on the wire by xenstored)
 * @{ */
#define PVCORE_XS_WRITE_NONE "NONE"                /**< Write whether or not the node exists. */
#define PVCORE_XS_WRITE_CREATE "CREATE"            /**< Create the node if it is missing. */
#define PVCORE_XS_WRITE_CREATE_EXCL "CREATE|EXCL"  /**< Create; fail if it exists. */
/** @} */

/**
 * The error names a #PVCORE_XS_ERROR reply may carry, as an X-macro: `X(name)` for each,
 * in the order of Xen's `xsd_errors[]` table (new names are only ever appended). The
 * payload is the name itself, NUL-terminated ("ENOENT"); its number is `PVCORE_##name`
 * (equal to Linux's and Xen's). A server whose error is not in the table sends the first
 * entry, "EINVAL". Usage:
 * @code
 * #define NAME(e) #e,
 * static const char *const names[] = { PVCORE_XSD_ERRORS(NAME) };
 * @endcode
 */
#define PVCORE_XSD_ERRORS(X) \
    X(EINVAL) X(EACCES) X(EEXIST) X(EISDIR) X(ENOENT) X(ENOMEM) X(ENOSPC) X(EIO) \
    X(ENOTEMPTY) X(ENOSYS) X(EROFS) X(EBUSY) X(EAGAIN) X(EISCONN) X(E2BIG) X(EPERM)

/** Number of entries of #PVCORE_XSD_ERRORS. */
#define PVCORE_XSD_NR_ERRORS 16

/** The header of every message, in both directions. */
struct pvcore_xsd_sockmsg {
    uint32_t type;   /**< A PVCORE_XS_* type. */
    uint32_t req_id; /**< Chosen by the client, echoed in the reply; 0 in watch events. */
    uint32_t tx_id;  /**< Transaction id, 0 outside a transaction; echoed; 0 in events. */
    uint32_t len;    /**< Payload bytes that follow, at most #PVCORE_XENSTORE_PAYLOAD_MAX. */
};
/** Typedef for struct pvcore_xsd_sockmsg. */
typedef struct pvcore_xsd_sockmsg pvcore_xsd_sockmsg_t;

/** @name The strings of a watch event, in payload order
 * @{ */
#define PVCORE_XS_WATCH_PATH 0  /**< First string: the path that changed. */
#define PVCORE_XS_WATCH_TOKEN 1 /**< Second string: the token given to #PVCORE_XS_WATCH. */
/** @} */

/** Bytes of each of the two rings of the page. */
#define PVCORE_XENSTORE_RING_SIZE 1024

/** A xenstore ring index: a free-running, wrapping 32-bit counter. */
typedef uint32_t pvcore_xenstore_ring_idx_t;

/**
 * Reduces a free-running xenstore index to a byte offset within a ring.
 * @param idx The index (req_cons, req_prod, rsp_cons or rsp_prod).
 * @return `idx` modulo #PVCORE_XENSTORE_RING_SIZE.
 */
#define PVCORE_MASK_XENSTORE_IDX(idx) ((idx) & (PVCORE_XENSTORE_RING_SIZE - 1))

/** The shared xenstore page (2076 bytes used). */
struct pvcore_xenstore_domain_interface {
    char req[PVCORE_XENSTORE_RING_SIZE];  /**< Requests to the server (written by the guest). */
    char rsp[PVCORE_XENSTORE_RING_SIZE];  /**< Replies and watch events (written by the server). */
    pvcore_xenstore_ring_idx_t req_cons;  /**< Request bytes consumed by the server; at offset 2048. */
    pvcore_xenstore_ring_idx_t req_prod;  /**< Request bytes produced by the guest. */
    pvcore_xenstore_ring_idx_t rsp_cons;  /**< Reply bytes consumed by the guest. */
    pvcore_xenstore_ring_idx_t rsp_prod;  /**< Reply bytes produced by the server. */
    uint32_t server_features;             /**< PVCORE_XENSTORE_SERVER_FEATURE_* bits the server offers. */
    uint32_t connection;                  /**< #PVCORE_XENSTORE_CONNECTED or #PVCORE_XENSTORE_RECONNECT. */
    uint32_t error;                       /**< PVCORE_XENSTORE_ERROR_*: why the server stopped. */
};
/** Typedef for struct pvcore_xenstore_domain_interface. */
typedef struct pvcore_xenstore_domain_interface pvcore_xenstore_domain_interface_t;

/** Largest payload of one message, both directions; a longer one is a protocol violation. */
#define PVCORE_XENSTORE_PAYLOAD_MAX 4096
/** Longest absolute path, in bytes without the NUL. */
#define PVCORE_XENSTORE_ABS_PATH_MAX 3072
/** Longest relative path a client should send, in bytes without the NUL. */
#define PVCORE_XENSTORE_REL_PATH_MAX 2048

/** @name Server features (struct pvcore_xenstore_domain_interface::server_features)
 * @{ */
#define PVCORE_XENSTORE_SERVER_FEATURE_RECONNECTION 1 /**< The guest may reset the ring (connection field). */
#define PVCORE_XENSTORE_SERVER_FEATURE_ERROR 2        /**< The server reports why it stopped (error field). */
/** @} */

/** @name Connection states (struct pvcore_xenstore_domain_interface::connection)
 * @{ */
#define PVCORE_XENSTORE_CONNECTED 0 /**< The steady state; only the server sets it. */
#define PVCORE_XENSTORE_RECONNECT 1 /**< A reset requested (by the guest) and not yet done. */
/** @} */

/** @name Connection errors (struct pvcore_xenstore_domain_interface::error)
 * @{ */
#define PVCORE_XENSTORE_ERROR_NONE 0    /**< No error. */
#define PVCORE_XENSTORE_ERROR_COMM 1    /**< Communication problem (event channel). */
#define PVCORE_XENSTORE_ERROR_RINGIDX 2 /**< Inconsistent producer or consumer index. */
#define PVCORE_XENSTORE_ERROR_PROTO 3   /**< Protocol violation (payload too long). */
/** @} */

/** @name Device states (io/xenbus.h): the value of a split device's `state` nodes
 * Each end writes its own `state` node in decimal and watches the other's.
 * @{ */
#define PVCORE_XENBUS_STATE_UNKNOWN 0        /**< No state (a missing node reads as this). */
#define PVCORE_XENBUS_STATE_INITIALISING 1   /**< Set up by the toolstack; the end is starting. */
#define PVCORE_XENBUS_STATE_INIT_WAIT 2      /**< Early set-up done; waiting for the peer's details. */
#define PVCORE_XENBUS_STATE_INITIALISED 3    /**< Details (ring, event channel) published; waiting to connect. */
#define PVCORE_XENBUS_STATE_CONNECTED 4      /**< Working. */
#define PVCORE_XENBUS_STATE_CLOSING 5        /**< Being closed, after an error or an unplug. */
#define PVCORE_XENBUS_STATE_CLOSED 6         /**< Closed: nothing of the peer is in use. */
#define PVCORE_XENBUS_STATE_RECONFIGURING 7  /**< Being reconfigured. */
#define PVCORE_XENBUS_STATE_RECONFIGURED 8   /**< Reconfigured. */
/** @} */

/** @} */

#endif /* PVCORE_ABI_XS_WIRE_H */
