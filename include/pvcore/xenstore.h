/**
 * @file
 * @brief A small xenstore server: Xen's xs_wire protocol over guests' store rings, with
 *        its tree in embedder memory under per-domain quotas.
 *
 * One server (struct pvcore_xenstore) holds one tree and serves several connections, one
 * per domain: each is the domain's store page (start_info.store_mfn, mapped by the
 * embedder, laid out as struct pvcore_xenstore_domain_interface), its domain id, and
 * whether it is privileged (a control domain: it may do anything, as dom0 may with
 * xenstored). The embedder sizes the server with pvcore_xenstore_size(), gives it memory
 * with pvcore_xenstore_init(), adds connections with pvcore_xenstore_connect(), and calls
 * pvcore_xenstore_process() for a connection when its guest signals the store event
 * channel (start_info.store_evtchn) or yields. It can also read and write the tree itself,
 * as the toolstack, with pvcore_xenstore_call().
 *
 * @par The protocol (docs/misc/xenstore.txt, and xenstored's behaviour)
 * Requests are struct pvcore_xsd_sockmsg headers and payloads (<pvcore/abi/xs_wire.h>).
 * Paths are absolute (`/local/domain/3/device`) or relative to the connection's
 * `/local/domain/<domid>`; they consist of ASCII letters, digits and `-/_@`, with no empty
 * component (no `//`), no trailing `/` (but for `/` itself), at most
 * #PVCORE_XENSTORE_ABS_PATH_MAX bytes, and for an unprivileged client at most the path
 * quota beyond a `/local/domain/<id>/` prefix; anything else (`..`, `.`, spaces, bytes
 * above 0x7f, an empty path) is EINVAL. A path starting with `@` names a special watch
 * and is accepted by WATCH, UNWATCH, GET_PERMS and SET_PERMS only (this server has no
 * special nodes and raises no special events). Each node has a value (bytes, possibly
 * empty, NULs allowed) and permissions: a list whose first entry names the owner and the
 * access of every domain not listed, and whose further entries give listed domains `r`
 * (read), `w` (write), `b` (both) or `n` (none). The owner and a privileged connection
 * may do anything; a node created by an unprivileged client is owned by it; other new
 * nodes inherit their parent's permissions. A request about a node that does not exist
 * fails with ENOENT if the nearest existing ancestor grants the access asked for, and
 * with EACCES if it does not (so an error reveals nothing about unreadable places).
 *
 * | Request | Payload | Reply | Errors (besides EINVAL for a malformed payload) |
 * |---|---|---|---|
 * | READ | path | value | ENOENT, EACCES |
 * | WRITE | path, value | OK | EACCES; ENOSPC over the node-count or value-size quota |
 * | MKDIR | path | OK (existing node: OK, no change) | EACCES, ENOSPC |
 * | RM | path | OK (also when the node is missing but its parent exists) | ENOENT (no parent), EACCES; EINVAL for `/` |
 * | DIRECTORY | path | children's names | ENOENT, EACCES, E2BIG (list over 4096 bytes) |
 * | DIRECTORY_PART | path, byte offset | generation, names from the offset | as DIRECTORY |
 * | GET_PERMS | path | permissions | ENOENT, EACCES, E2BIG |
 * | SET_PERMS | path, permissions | OK | EACCES (not the owner), EPERM (an unprivileged client changing the owner), ENOSPC (over the permissions quota) |
 * | WATCH | path, token | OK, then at once an event for the path | EEXIST (same path and token), E2BIG (over the watch quota) |
 * | UNWATCH | path, token | OK | ENOENT |
 * | TRANSACTION_START | (ignored) | decimal id | EBUSY (inside a transaction), ENOSPC (over the quota) |
 * | TRANSACTION_END | `T` or `F` | OK | ENOENT (no such transaction), EAGAIN (conflict: the transaction is gone), ENOSPC |
 * | GET_DOMAIN_PATH | decimal domid | `/local/domain/<domid>` | |
 * | RESET_WATCHES | (ignored) | OK: drops the client's watches and transactions | |
 * | IS_DOMAIN_INTRODUCED | decimal domid | `T` if connected, else `F` | EACCES unprivileged |
 * | CONTROL, INTRODUCE, RELEASE, RESUME, SET_TARGET | | | EACCES unprivileged, ENOSYS privileged (the embedder does these through this API) |
 * | anything else | | | ENOSYS |
 *
 * Every request but WATCH and UNWATCH runs in the transaction its tx_id names (ENOENT when
 * it names none of the connection's). Any request may also fail with ENOMEM when the
 * server's own memory (node table, arena, watch or transaction slots) is exhausted; the
 * store is then unchanged. Errors are sent as #PVCORE_XS_ERROR with the error's name.
 *
 * @par Watches
 * A change to a node (a write, its creation or removal, a permission change) fires every
 * watch on that node or on one of its ancestors; the event names the changed node (as a
 * relative path for a watch set with a relative path) and the watch's token. Removing a
 * subtree fires each removed node's own watches, and the watches on the subtree's root and
 * above once, for the root. A watcher is told only about nodes it can read, or whose
 * parent it can read (or that it could read before a permission change). Changes made in
 * a transaction fire when it commits. Events wait in a bounded per-connection queue
 * until the guest's ring has room; an event that does not fit is dropped (and counted in
 * struct pvcore_xenstore_conn_info::events_dropped), and one identical to an event still
 * queued is not queued twice, as xenstored does.
 *
 * @par Transactions
 * A transaction keeps its writes, creations and removals to itself until it commits.
 * Each node it reads or changes is remembered with the node's generation at first
 * access (every change to a node, including a child's creation or removal, gives it a
 * new generation); TRANSACTION_END `T` fails with EAGAIN, and changes nothing, if any of
 * them has changed since, or has appeared or disappeared. Reads of nodes the transaction
 * has not changed see the live store, so a transaction that commits saw a consistent
 * state. A transaction that has not ended when its connection is disconnected, reset or
 * broken is dropped.
 *
 * @par Quotas (for unprivileged connections)
 * Per domain: the nodes it owns (ENOSPC when a create would exceed it, as xenstored),
 * the bytes of a value (ENOSPC), its watches (E2BIG), its open transactions (ENOSPC),
 * the permission entries of a node (ENOSPC), the nodes one transaction touches (ENOSPC)
 * and the length of a relative path (EINVAL). A quota of 0 means no limit. Xenstored
 * counts a node's size as its value plus permissions plus children's names; this server
 * counts the value only. (oxenstored's "EQUOTA" is not a name of Xen's error table and is
 * never sent.) The pools the configuration sizes are shared by every domain, and a quarter
 * of each (node records, arena bytes, watch and transaction slots) is kept for privileged
 * connections and the toolstack: guests that fill the store together get ENOMEM while
 * those still work. (Xenstored has no fixed pools; it charges each domain's memory to a
 * per-domain quota instead.)
 *
 * @par A hostile guest
 * The ring page is guest memory: every index is read once per use and checked. A request
 * is copied out of the ring into the connection's own buffer before it is looked at, and
 * may arrive in pieces over several calls (a request larger than the ring must); a header
 * announcing more than #PVCORE_XENSTORE_PAYLOAD_MAX bytes, or indices further apart than
 * the ring's size, break the connection: its watches and transactions are dropped, the
 * reason is written to the page's `error` field (#PVCORE_XENSTORE_SERVER_FEATURE_ERROR is
 * advertised) and pvcore_xenstore_process() returns -PVCORE_EIO from then on, until the
 * guest asks for a reset through the `connection` field
 * (#PVCORE_XENSTORE_SERVER_FEATURE_RECONNECTION is advertised). No reply is larger than
 * the protocol allows; a guest that does not consume its replies stops being served
 * (its requests wait in its ring), which slows no one else.
 *
 * @par Concurrency
 * A server is not thread-safe: the embedder makes every call on one server from one
 * thread at a time (one back-end thread, or one lock around the calls). The guests may
 * touch their ring pages concurrently; the accesses are ordered with acquire and release
 * barriers. Calls on different servers are independent.
 */
#ifndef PVCORE_XENSTORE_H
#define PVCORE_XENSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pvcore/export.h>
#include <pvcore/abi/xs_wire.h>

PVCORE_BEGIN_DECLS

/** A xenstore server (opaque; lives in the memory given to pvcore_xenstore_init()). */
struct pvcore_xenstore;
/** One domain's connection to a server (opaque; part of the server's memory). */
struct pvcore_xenstore_conn;

/** Per-domain limits for unprivileged connections; 0 means no limit. */
struct pvcore_xenstore_quota {
    uint32_t nodes;        /**< Nodes a domain may own (xenstored: 1000). */
    uint32_t value_bytes;  /**< Bytes of one value (xenstored's node size: 2048). */
    uint32_t watches;      /**< Watches of one connection (xenstored: 128). */
    uint32_t transactions; /**< Open transactions of one connection (xenstored: 10). */
    uint32_t perms;        /**< Permission entries of one node (xenstored: 5). */
    uint32_t path_bytes;   /**< Bytes of a path beyond `/local/domain/<id>/` (2048). */
    uint32_t tx_nodes;     /**< Nodes one transaction may read or change (xenstored: 1024). */
};

/** The size of everything a server holds. */
struct pvcore_xenstore_config {
    uint32_t max_nodes;        /**< Node table entries, from 2 to 2^24: the tree's nodes plus
                                    the entries open transactions use (one per node each
                                    reads or changes). */
    uint32_t arena_bytes;      /**< Bytes for paths, values, permissions, watch paths and
                                    tokens, at least 64, at most 2^30. A node costs its path,
                                    value and 4 bytes per permission entry, plus 9 to 12
                                    bytes. */
    uint32_t max_conns;        /**< Connections, 1 to 4096. */
    uint32_t max_watches;      /**< Watches of all connections together, up to 2^24. */
    uint32_t max_transactions; /**< Open transactions of all connections together, up to
                                    65535. */
    uint32_t out_bytes;        /**< Each connection's queue of replies and events waiting for
                                    ring space: at least #PVCORE_XENSTORE_OUT_MIN, at most
                                    2^24. */
    struct pvcore_xenstore_quota quota; /**< Limits for unprivileged connections. */
};

/** Smallest struct pvcore_xenstore_config::out_bytes: room for two largest messages. */
#define PVCORE_XENSTORE_OUT_MIN (2u * (16u + PVCORE_XENSTORE_PAYLOAD_MAX))

/** @name Result bits of pvcore_xenstore_process()
 * @{ */
/** Notify this connection's guest on its store event channel: replies or events were
 *  written to its ring, request space was freed, or its reset completed. */
#define PVCORE_XENSTORE_NOTIFY 1u
/** Events were queued on other connections: call pvcore_xenstore_process() for each
 *  connection for which pvcore_xenstore_conn_pending() is true. */
#define PVCORE_XENSTORE_OTHERS 2u
/** The call stopped after a batch of requests with more waiting: call it again. */
#define PVCORE_XENSTORE_AGAIN 4u
/** @} */

/** What pvcore_xenstore_query() reports about a connection. */
struct pvcore_xenstore_conn_info {
    uint16_t domid;          /**< The domain it serves. */
    uint8_t privileged;      /**< 1 for a privileged connection. */
    uint8_t error;           /**< PVCORE_XENSTORE_ERROR_* that broke it; 0 while it works. */
    uint32_t nodes;          /**< Nodes the domain owns. */
    uint32_t watches;        /**< Its watches. */
    uint32_t transactions;   /**< Its open transactions. */
    uint32_t out_queued;     /**< Bytes of replies and events waiting for ring space. */
    uint64_t requests;       /**< Requests answered. */
    uint64_t events_dropped; /**< Watch events dropped because its queue was full. */
};

/**
 * @brief Fills `cfg` with xenstored's quotas and a modest size: 4096 nodes, a 512 KiB
 *        arena, 16 connections, 1024 watches, 64 transactions, 16 KiB queues.
 * @param cfg Receives the configuration; the caller may then change any field.
 */
PVCORE_API void pvcore_xenstore_default_config(struct pvcore_xenstore_config *cfg);

/**
 * @brief Bytes of memory a server with configuration `cfg` needs.
 * @param cfg The configuration.
 * @return The size, or 0 for a NULL or invalid configuration (a field out of the range
 *         its documentation gives).
 */
PVCORE_API size_t pvcore_xenstore_size(const struct pvcore_xenstore_config *cfg);

/**
 * @brief Creates a server in `mem`, with a tree holding only `/` (owned by domain 0, no
 *        access for others: GET_PERMS gives `n0`).
 *
 * The embedder then creates what its guests expect, through pvcore_xenstore_call(): at
 * least `/local/domain/<domid>` readable by each guest (as libxl makes it: owner 0,
 * `n0 r<domid>`), so that a guest's requests about its own missing nodes get ENOENT
 * rather than EACCES.
 *
 * @param mem   Memory of pvcore_xenstore_size(cfg) bytes, 8-byte aligned, which the server
 *              owns until the embedder stops using it (there is no destroy: nothing else
 *              is held).
 * @param bytes Its size.
 * @param cfg   The configuration (copied).
 * @param out   Receives the server, which starts at `mem`.
 * @return 0; -PVCORE_EINVAL for a NULL argument, misaligned or too small memory, or an
 *         invalid configuration.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_xenstore_init(void *mem, size_t bytes,
                                                      const struct pvcore_xenstore_config *cfg,
                                                      struct pvcore_xenstore **out);

/**
 * @brief Connects domain `domid`'s store ring to the server.
 *
 * Advertises #PVCORE_XENSTORE_SERVER_FEATURE_RECONNECTION and
 * #PVCORE_XENSTORE_SERVER_FEATURE_ERROR in the page's server_features and touches nothing
 * else: the indices are taken as the guest left them (a page whose `connection` field
 * already says #PVCORE_XENSTORE_RECONNECT is reset on the first process call, as a
 * dom0less guest expects). The nodes the domain already owns count towards its quota.
 *
 * @param xs         The server.
 * @param ring       The domain's store page, mapped by the embedder until
 *                   pvcore_xenstore_disconnect().
 * @param domid      The domain; relative paths are relative to `/local/domain/<domid>`.
 * @param privileged True for a control domain: no permission checks and no quotas.
 * @param out        Receives the connection.
 * @return 0; -PVCORE_EINVAL for a NULL argument; -PVCORE_EEXIST when `domid` is connected
 *         already; -PVCORE_ENOSPC when all connection slots are in use.
 */
PVCORE_API PVCORE_MUST_CHECK int pvcore_xenstore_connect(struct pvcore_xenstore *xs,
                                                         struct pvcore_xenstore_domain_interface *ring,
                                                         uint16_t domid, bool privileged,
                                                         struct pvcore_xenstore_conn **out);

/**
 * @brief Disconnects a connection: drops its watches, open transactions, partial request
 *        and queued output, and frees its slot. Its nodes stay in the tree (remove them
 *        with pvcore_xenstore_call(#PVCORE_XS_RM) if the domain is gone). The ring page is
 *        not touched.
 * @param xs The server.
 * @param c  The connection; invalid afterwards. NULL or a connection of another server is
 *           ignored.
 */
PVCORE_API void pvcore_xenstore_disconnect(struct pvcore_xenstore *xs, struct pvcore_xenstore_conn *c);

/**
 * @brief Serves a connection: writes queued output to its ring, consumes the complete
 *        requests in its request ring and answers them, and writes their replies, without
 *        ever blocking.
 *
 * Reads at most what the request ring holds; a request still arriving is kept (copied
 * out, its ring space freed) and finished on a later call. A complete request is answered
 * only when the connection's queue has room for the largest reply; otherwise it waits
 * until the guest consumes replies. Watch events for other connections are queued on
 * them. If the guest has asked for a reset (`connection` = #PVCORE_XENSTORE_RECONNECT),
 * the connection's watches, transactions and queued data are dropped, all four indices
 * are set to 0, `error` to 0 and `connection` to #PVCORE_XENSTORE_CONNECTED, and the
 * result is #PVCORE_XENSTORE_NOTIFY.
 *
 * @param xs The server.
 * @param c  The connection.
 * @return The PVCORE_XENSTORE_NOTIFY / _OTHERS / _AGAIN bits (0: nothing to do);
 *         -PVCORE_EINVAL for a NULL or foreign connection; -PVCORE_EIO when the connection
 *         is broken (now or before: see the file comment; the guest's
 *         #PVCORE_XENSTORE_RECONNECT repairs it), in which case the embedder should
 *         notify the guest once so it sees the error field.
 */
PVCORE_API int pvcore_xenstore_process(struct pvcore_xenstore *xs, struct pvcore_xenstore_conn *c);

/**
 * @brief Whether a connection has replies or events queued that are not in its ring yet.
 * @param c The connection (NULL: false).
 * @return True when pvcore_xenstore_process() has something to write.
 */
PVCORE_API bool pvcore_xenstore_conn_pending(const struct pvcore_xenstore_conn *c);

/**
 * @brief Reports a connection's state, accounting and counters.
 * @param c    The connection.
 * @param info Receives them.
 * @return 0; -PVCORE_EINVAL for a NULL argument.
 */
PVCORE_API int pvcore_xenstore_query(const struct pvcore_xenstore_conn *c,
                                         struct pvcore_xenstore_conn_info *info);

/**
 * @brief Runs one request as the toolstack: privileged, domain 0 (relative paths are
 *        relative to `/local/domain/0`), outside any transaction, without a connection.
 *
 * READ, WRITE, MKDIR, RM, DIRECTORY, DIRECTORY_PART, GET_PERMS, SET_PERMS,
 * GET_DOMAIN_PATH and IS_DOMAIN_INTRODUCED behave as for a privileged connection. Watch
 * events the change causes are queued on the watching connections (see
 * pvcore_xenstore_conn_pending()). For example, `/local/domain/3` readable by domain 3:
 * @code
 * static const char dir[] = "/local/domain/3";
 * static const char perms[] = "/local/domain/3\0n0\0r3";
 * pvcore_xenstore_call(xs, PVCORE_XS_MKDIR, dir, sizeof(dir), NULL, 0, NULL);
 * pvcore_xenstore_call(xs, PVCORE_XS_SET_PERMS, perms, sizeof(perms), NULL, 0, NULL);
 * @endcode
 *
 * @param xs        The server.
 * @param type      A PVCORE_XS_* request type.
 * @param payload   The request's payload, as on the wire (NUL-terminated strings).
 * @param len       Its length, at most #PVCORE_XENSTORE_PAYLOAD_MAX.
 * @param reply     Receives the reply's payload (for WRITE and the like, "OK" and a NUL);
 *                  at most `cap` bytes are written. May be NULL when `cap` is 0.
 * @param cap       Size of `reply`.
 * @param reply_len Receives the reply's full length (which may exceed `cap`: the rest is
 *                  cut); may be NULL.
 * @return 0; the error the request would be answered with, negated (-PVCORE_ENOENT for
 *         ENOENT); -PVCORE_EINVAL as well for a NULL server, a payload too long, or NULL
 *         with `len` > 0, and for WATCH, UNWATCH, TRANSACTION_START, TRANSACTION_END and
 *         RESET_WATCHES, which need a connection.
 */
PVCORE_API int pvcore_xenstore_call(struct pvcore_xenstore *xs, uint32_t type, const void *payload,
                                    size_t len, void *reply, size_t cap, size_t *reply_len);

/**
 * @brief Checks the server's invariants: every node's parent exists, paths are valid and
 *        unique, the hash index and the arena account for every entry and nothing else,
 *        per-domain node, watch and transaction counts match the tree, queued output is
 *        whole messages of at most #PVCORE_XENSTORE_PAYLOAD_MAX bytes.
 * @param xs   The server.
 * @param what Receives a description of the first broken invariant (a static string), or
 *             NULL when all hold; may be NULL.
 * @return 0 when all hold; -PVCORE_EIO otherwise; -PVCORE_EINVAL for a NULL server.
 * @note Takes time linear in the server's size; meant for tests and fuzzing.
 */
PVCORE_API int pvcore_xenstore_check(const struct pvcore_xenstore *xs, const char **what);

PVCORE_END_DECLS

#endif /* PVCORE_XENSTORE_H */
