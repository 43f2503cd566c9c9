/**
 * @file
 * @brief Guest side of xenstore: a client of Xen's xs_wire protocol over the store ring
 *        page that start_info names, for a guest kernel's xenbus.
 *
 * Like the rest of the guest side it is built into `pvcore_guest`, needs nothing from libc
 * beyond memcpy/memset/memcmp and depends only on the wire ABI (<pvcore/abi/xs_wire.h>).
 * The client sends one request at a time and waits for its reply; watch events that
 * arrive meanwhile (or at any other time) are queued in the client and taken with
 * pvcore_guest_xs_event().
 *
 * @par The server is not trusted
 * Every byte of the reply ring is read once, into the client's own memory, and the
 * indices are checked before anything is read: a server whose `rsp_prod` claims more than
 * the ring holds, whose `req_cons` passes the client's `req_prod`, or which sends a
 * message longer than #PVCORE_XENSTORE_PAYLOAD_MAX stops the client for good
 * (pvcore_guest_xs_fault() is then -#PVCORE_EIO, and every call fails with it). A reply
 * whose `req_id` is not the request's (a stale one, or an invention) is read and dropped;
 * a reply longer than the caller's buffer is cut, its full length reported. The client
 * never waits unboundedly on its own: it calls the embedder's `wait` hook, which decides
 * how long a wait may be and when to give up.
 *
 * @par Watch events
 * Events are kept in a queue of #PVCORE_GUEST_XS_EVENT_BYTES bytes inside the client. An
 * event that does not fit is dropped and the next pvcore_guest_xs_event() reports one
 * event with an empty path and token, which means "events were lost: re-read what you
 * watch" (xenstore's events are hints anyway: a watcher always reads the node again).
 */
#ifndef PVCORE_GUEST_XS_H
#define PVCORE_GUEST_XS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pvcore/abi/xs_wire.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Bytes of the client's queue of watch events (each takes its payload plus 4 bytes). */
#define PVCORE_GUEST_XS_EVENT_BYTES 2048u

/** How the client reaches the server; filled in by the embedder. */
struct pvcore_guest_xs_ops {
    /** Tells the server there is something to read or room to write: EVTCHNOP_send on
     *  the store port (start_info's `store_evtchn`). */
    void (*notify)(void *ctx);
    /** Waits a little for the server (for example SCHEDOP_poll on the store port with a
     *  timeout, or a yield): 0 to go on looking, anything else to give up, which fails the
     *  call with -#PVCORE_ETIMEDOUT. `n` counts the waits the current call has made before
     *  this one (0 on its first), so that the embedder can bound each call: note the time
     *  at 0, give up past a deadline. The client waits whenever it has not finished, even
     *  after some progress, so a server that trickles bytes cannot hold it for ever. */
    int (*wait)(void *ctx, unsigned n);
};

/** A client. Its fields are private; it lives wherever the embedder puts it. */
struct pvcore_guest_xs {
    /** @cond PRIVATE */
    struct pvcore_xenstore_domain_interface *intf;
    const struct pvcore_guest_xs_ops *ops;
    void *ctx;
    uint32_t req_prod;    /* our request index (the ring's copy is only published) */
    uint32_t rsp_cons;    /* our reply index (likewise) */
    uint32_t next_id;     /* req_id of the next request */
    unsigned waits;       /* waits of the current call */
    int fault;            /* 0, or -PVCORE_EIO once the server broke the protocol */
    /* The message being read: its header, then its payload. */
    unsigned char hdr[sizeof(struct pvcore_xsd_sockmsg)];
    uint32_t hdr_got, body_got, body_len, msg_id;
    int msg_dest;         /* where its payload goes (private to xs.c) */
    /* The reply the current request waits for. */
    uint32_t want_id, reply_type, reply_len, reply_cap;
    unsigned char *reply;
    bool reply_done;
    char err[16];         /* the start of an XS_ERROR reply: the error's name */
    /* Queued events: records of { uint32_t len; payload }, front first. */
    uint32_t ev_used, ev_start;
    bool ev_lost;
    unsigned char ev[PVCORE_GUEST_XS_EVENT_BYTES];
    /** @endcond */
};

/**
 * @brief Starts a client on a store ring page.
 *
 * The page is the one start_info's `store_mfn` names, mapped by the guest. Nothing is
 * written to it: the client continues from the indices it finds (a kernel that takes
 * the ring over from a boot loader finds them where the loader left them).
 *
 * @param xs   The client (any contents).
 * @param intf The ring page, mapped writable.
 * @param ops  The hooks; both must be set.
 * @param ctx  Passed to the hooks.
 * @return 0; -#PVCORE_EINVAL for a NULL argument or hook.
 */
int pvcore_guest_xs_init(struct pvcore_guest_xs *xs, void *intf, const struct pvcore_guest_xs_ops *ops,
                         void *ctx);

/**
 * @brief Sends one request and waits for its reply.
 *
 * The payload is the concatenation of `nparts` parts, as the protocol lays it out (each
 * string with its NUL where the protocol wants one; a value has none).
 *
 * @param xs        The client.
 * @param type      A PVCORE_XS_* request type.
 * @param tx_id     The transaction, or 0.
 * @param parts     The payload's parts; may be NULL when `nparts` is 0.
 * @param lens      Their lengths.
 * @param nparts    How many.
 * @param reply     Receives the reply's payload (at most `cap` bytes; nothing of an
 *                  error reply); may be NULL if `cap` is 0.
 * @param cap       Size of `reply`.
 * @param reply_len Receives the reply's full length, which may exceed `cap`; may be NULL.
 * @return 0; the error the server answered with, negated (-#PVCORE_ENOENT for "ENOENT"; a
 *         name the ABI does not have counts as -#PVCORE_EINVAL); -#PVCORE_EINVAL for bad
 *         arguments or a payload over #PVCORE_XENSTORE_PAYLOAD_MAX; -#PVCORE_ETIMEDOUT
 *         when `wait` gave up (a request not completely written then breaks the client:
 *         later calls fail with -#PVCORE_EIO); -#PVCORE_EIO after a protocol fault, or for
 *         a reply of another type than the request's.
 */
int pvcore_guest_xs_request(struct pvcore_guest_xs *xs, uint32_t type, uint32_t tx_id,
                            const void *const *parts, const uint32_t *lens, unsigned nparts, void *reply,
                            uint32_t cap, uint32_t *reply_len);

/**
 * @brief Reads a node's value as a string.
 * @param xs    The client.
 * @param tx_id The transaction, or 0.
 * @param path  The node (absolute, or relative to the domain's home).
 * @param buf   Receives the value and a NUL; a value longer than `cap - 1` bytes is
 *              -#PVCORE_E2BIG, with its first `cap - 1` bytes and a NUL; after any
 *              other error it holds an empty string.
 * @param cap   Size of `buf` (at least 1).
 * @return The value's length; a negated error as pvcore_guest_xs_request().
 */
int pvcore_guest_xs_read(struct pvcore_guest_xs *xs, uint32_t tx_id, const char *path, char *buf,
                         uint32_t cap);

/**
 * @brief Reads a node holding an unsigned decimal number.
 * @param xs    The client.
 * @param tx_id The transaction, or 0.
 * @param path  The node.
 * @param val   Receives the number.
 * @return 0; -#PVCORE_EINVAL if the value is not digits only (or is empty, or above
 *         2^64 - 1); a negated error as pvcore_guest_xs_read().
 */
int pvcore_guest_xs_read_u64(struct pvcore_guest_xs *xs, uint32_t tx_id, const char *path, uint64_t *val);

/**
 * @brief Writes a node's value (creating it and missing parents).
 * @param xs    The client.
 * @param tx_id The transaction, or 0.
 * @param path  The node.
 * @param value The bytes (no NUL is added or needed); may be NULL if `len` is 0.
 * @param len   Their count.
 * @return 0; a negated error as pvcore_guest_xs_request().
 */
int pvcore_guest_xs_write(struct pvcore_guest_xs *xs, uint32_t tx_id, const char *path, const void *value,
                          uint32_t len);

/**
 * @brief Writes a string value (without its NUL).
 * @param xs    The client.
 * @param tx_id The transaction, or 0.
 * @param path  The node.
 * @param value The string.
 * @return As pvcore_guest_xs_write().
 */
int pvcore_guest_xs_write_str(struct pvcore_guest_xs *xs, uint32_t tx_id, const char *path, const char *value);

/**
 * @brief Writes an unsigned number in decimal.
 * @param xs    The client.
 * @param tx_id The transaction, or 0.
 * @param path  The node.
 * @param val   The number.
 * @return As pvcore_guest_xs_write().
 */
int pvcore_guest_xs_write_u64(struct pvcore_guest_xs *xs, uint32_t tx_id, const char *path, uint64_t val);

/**
 * @brief Removes a node and its descendants.
 * @param xs    The client.
 * @param tx_id The transaction, or 0.
 * @param path  The node.
 * @return As pvcore_guest_xs_request().
 */
int pvcore_guest_xs_rm(struct pvcore_guest_xs *xs, uint32_t tx_id, const char *path);

/**
 * @brief Adds or removes a watch on a path and its descendants.
 *
 * Adding one makes the server send a first event at once, as xenstored does.
 * @param xs    The client.
 * @param path  The watched path.
 * @param token The token its events carry.
 * @param add   true to add the watch, false to remove it.
 * @return As pvcore_guest_xs_request().
 */
int pvcore_guest_xs_watch(struct pvcore_guest_xs *xs, const char *path, const char *token, bool add);

/**
 * @brief Starts a transaction.
 * @param xs    The client.
 * @param tx_id Receives its id.
 * @return 0; a negated error as pvcore_guest_xs_request(); -#PVCORE_EIO for a reply that
 *         is not a number.
 */
int pvcore_guest_xs_transaction_start(struct pvcore_guest_xs *xs, uint32_t *tx_id);

/**
 * @brief Commits or aborts a transaction.
 * @param xs     The client.
 * @param tx_id  The transaction.
 * @param commit true to commit, false to abort.
 * @return 0; -#PVCORE_EAGAIN when a commit lost a race (start again); as
 *         pvcore_guest_xs_request().
 */
int pvcore_guest_xs_transaction_end(struct pvcore_guest_xs *xs, uint32_t tx_id, bool commit);

/**
 * @brief Takes the oldest queued watch event, first reading whatever the server has sent
 *        (without waiting).
 *
 * @param xs    The client.
 * @param path  Receives the path that changed, NUL-terminated (cut to fit).
 * @param pcap  Size of `path` (at least 1).
 * @param token Receives the watch's token, NUL-terminated (cut to fit).
 * @param tcap  Size of `token` (at least 1).
 * @return 1 with an event (both strings empty: events were lost, re-read what is
 *         watched); 0 if none is queued; -#PVCORE_EIO after a protocol fault;
 *         -#PVCORE_EINVAL for bad arguments.
 * @note It reads at most four ring-fuls before it looks at the queue, so a server that
 *       never stops sending cannot keep it from returning.
 */
int pvcore_guest_xs_event(struct pvcore_guest_xs *xs, char *path, uint32_t pcap, char *token, uint32_t tcap);

/**
 * @brief Whether the client still works.
 * @param xs The client.
 * @return 0 while it works; -#PVCORE_EIO once the server broke the protocol (or a request
 *         was cut off part-way); -#PVCORE_EINVAL for NULL.
 */
int pvcore_guest_xs_fault(const struct pvcore_guest_xs *xs);

#ifdef __cplusplus
}
#endif

#endif
