/*
 * A small xenstore server (<pvcore/xenstore.h>): the xs_wire protocol over guests' store
 * rings, with the tree in embedder memory.
 *
 * Layout of the server's memory (one block, carved at init):
 *   struct pvcore_xenstore | records[max_nodes] | hash buckets | watches | transactions |
 *   connections | each connection's input buffer and output queue | arena
 *
 * The tree is flat. Each record holds one node under its full path, found through a
 * chained hash index of the path; children and descendants are found by scanning the
 * record table for paths under a prefix (the store is small and DIRECTORY and RM are
 * rare next to READ and WRITE). A record's path, permissions and value live in one block
 * of the arena, which is allocated at its top and compacted when a request needs more
 * room than is left there: compaction moves blocks, so no pointer into the arena is kept
 * across a reservation (arena_reserve()), and every request reserves everything it will
 * allocate before it changes anything (validate, then commit).
 *
 * Transactions keep their own records next to the tree's, tagged with the transaction's
 * slot: a copy of a node the transaction changed (R_NODE), a tombstone for a node it
 * removed (R_DELETED), or a mark for a node it only read (R_READ). Each remembers the
 * generation the tree's node had when the transaction first touched its path (NO_GEN
 * when it had none), which is all the commit needs to detect a conflict: every change to
 * a tree node, including the creation or removal of a child, gives it a new generation
 * from one 64-bit counter. A transaction's view of a path is its own record when there is
 * one (a tombstone hides the node) and the tree's node otherwise.
 *
 * Not thread-safe by contract (the header says why): the only concurrency is with the
 * guests writing their ring pages, handled by the ring functions' barriers.
 */
#include <pvcore/xenstore.h>

#include "internal/base.h"

#define NONE 0xFFFFFFFFu
#define NO_GEN UINT64_MAX
#define HDR 16u
#define MSG_MAX (HDR + PVCORE_XENSTORE_PAYLOAD_MAX)
#define RING PVCORE_XENSTORE_RING_SIZE
#define ABS_MAX PVCORE_XENSTORE_ABS_PATH_MAX
#define BATCH 64u /* requests one process call answers before it asks to be called again */
#define MAGIC 0x78737376u

/* Record kinds. Tree records are R_NODE; a transaction's may be any of the three. */
enum { R_FREE = 0, R_NODE = 1, R_READ = 2, R_DELETED = 3 };
/* Transaction record flags: fire the node's watches at commit, and only the exact ones. */
#define F_FIRE 1u
#define F_EXACT 2u

/* Permission bits. P_OWNER is never stored: it is what the owner (or a privileged
 * connection) has besides read and write. */
#define P_READ 1u
#define P_WRITE 2u
#define P_OWNER 8u

/* Arena blocks: a header of two 32-bit words (the block's size including the header, a
 * multiple of 4; the owner's tag), then the payload. */
#define BLK_HDR 8u
#define TAG_FREE 0xFFFFFFFFu
#define TAG_WATCH 0x80000000u

struct rec {
    uint64_t gen;       /* tree node: generation of its last change; transaction record:
                           the tree node's generation at first touch (NO_GEN: absent) */
    uint32_t blob;      /* arena offset of its block */
    uint32_t next;      /* hash chain, or the free list */
    uint32_t hash;      /* of the path */
    uint32_t value_len;
    uint16_t path_len;
    uint16_t nperms;    /* 4 bytes each at the start of the block: bits, 0, domid (LE) */
    uint16_t tx;        /* 0: the tree; else the transaction's slot + 1 */
    uint16_t owner;     /* perms[0]'s domid */
    uint8_t kind;
    uint8_t flags;
};

struct watch {
    uint32_t blob;      /* path NUL token NUL */
    uint32_t conn;
    uint16_t path_len;  /* canonical (absolute) path */
    uint16_t token_len;
    uint16_t prefix;    /* bytes of "/local/domain/<id>/" to strip from event paths of a
                           watch set with a relative path; 0 otherwise */
    uint8_t used;
};

struct txn {
    uint32_t id;
    uint32_t conn;
    uint32_t nrecs;     /* its records in the table */
    int32_t delta;      /* nodes its domain owns in the transaction's view, minus in the tree */
    uint8_t used;
};

struct pvcore_xenstore_conn {
    struct pvcore_xenstore *xs;
    struct pvcore_xenstore_domain_interface *ring;
    uint8_t *in;        /* the request arriving: header then payload */
    uint8_t *out;       /* queued messages, whole, from out_start to out_end */
    uint64_t requests;
    uint64_t dropped;
    uint32_t in_have;   /* bytes of `in` received */
    uint32_t out_start, out_end;
    uint32_t out_sent;  /* bytes of the message at out_start already in the ring */
    uint32_t nodes, watches, txs, next_txid;
    uint16_t domid;
    uint8_t used, privileged, error;
    uint8_t prefix_len;
    char prefix[24];    /* "/local/domain/<domid>" */
};

struct pvcore_xenstore {
    uint32_t magic;
    struct pvcore_xenstore_config cfg;
    uint64_t gen;
    struct rec *recs;
    uint32_t *buckets;
    uint32_t nbuckets;  /* a power of two */
    uint32_t free_head, nfree;
    uint8_t *arena;
    uint32_t top, live; /* end of the last block; bytes of live blocks */
    struct watch *watches;
    struct txn *txns;
    struct pvcore_xenstore_conn *conns;
    struct pvcore_xenstore_conn *cur; /* the connection whose request runs (NULL: a call) */
    uint32_t others;    /* an event was queued on another connection than `cur` */
    uint32_t rlen;      /* bytes of `reply` */
    char path[ABS_MAX + 1];                 /* the request's canonical path */
    uint8_t reply[PVCORE_XENSTORE_PAYLOAD_MAX]; /* the reply's payload under construction */
};

/* One request as it runs. */
struct req {
    struct pvcore_xenstore *xs;
    struct pvcore_xenstore_conn *c; /* NULL for pvcore_xenstore_call() */
    struct txn *t;                  /* NULL outside a transaction */
    uint16_t tx;                    /* t's slot + 1, or 0 */
    uint16_t domid;
    bool priv;
    const uint8_t *pl;              /* payload (the connection's private copy) */
    uint32_t len;
    uint32_t plen;                  /* canonical path in xs->path */
    uint32_t phash;
    uint32_t post_watch;            /* watch whose first event follows the reply, or NONE */
};

/* ---- small helpers ------------------------------------------------------------------------ */

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static uint32_t fnv(const char *p, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) {
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    }
    return h;
}

static uint32_t min32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* The core has memcpy, memset and memcmp only. */
static const void *mem_chr(const void *p, int ch, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] == (uint8_t)ch) {
            return b + i;
        }
    }
    return NULL;
}

/* Moves n bytes from src down to dst < src, by memcpy()s of pieces no longer than the
 * distance between them, so that no piece overlaps itself. */
static void move_down(uint8_t *dst, const uint8_t *src, size_t n)
{
    size_t gap = (size_t)(src - dst);
    for (size_t done = 0; done < n;) {
        size_t k = n - done < gap ? n - done : gap;
        memcpy(dst + done, src + done, k);
        done += k;
    }
}

/* Decimal digits of v into buf (no NUL); returns their number. 32-bit division only. */
static uint32_t dec32(char *buf, uint32_t v)
{
    char tmp[10];
    uint32_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    for (uint32_t i = 0; i < n; i++) {
        buf[i] = tmp[n - 1u - i];
    }
    return n;
}

/* The same for 64 bits by subtracting powers of ten: the i386 core has no 64-bit division. */
static uint32_t dec64(char *buf, uint64_t v)
{
    uint32_t n = 0;
    static const uint64_t pow10[20] = {
        10000000000000000000ull, 1000000000000000000ull, 100000000000000000ull,
        10000000000000000ull, 1000000000000000ull, 100000000000000ull, 10000000000000ull,
        1000000000000ull, 100000000000ull, 10000000000ull, 1000000000ull, 100000000ull,
        10000000ull, 1000000ull, 100000ull, 10000ull, 1000ull, 100ull, 10ull, 1ull,
    };
    for (int i = 0; i < 20; i++) {
        char d = '0';
        while (v >= pow10[i]) {
            v -= pow10[i];
            d++;
        }
        if (d != '0' || n > 0 || i == 19) {
            buf[n++] = d;
        }
    }
    return n;
}

/* A strict decimal domain id, 0 to 65535 (xenstored's parse_domid refuses the rest). */
static bool parse_domid(const uint8_t *s, uint32_t n, uint16_t *out)
{
    uint32_t v = 0;
    if (n == 0 || n > 5) {
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10u + (uint32_t)(s[i] - '0');
    }
    if (v > 0xFFFFu) {
        return false;
    }
    *out = (uint16_t)v;
    return true;
}

static bool parse_u32(const uint8_t *s, uint32_t n, uint32_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 10) {
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10u + (uint32_t)(s[i] - '0');
    }
    if (v > 0xFFFFFFFFull) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

static uint32_t dom_prefix(char *buf, uint16_t domid)
{
    static const char base[] = "/local/domain/";
    memcpy(buf, base, sizeof(base) - 1u);
    return (uint32_t)(sizeof(base) - 1u) + dec32(buf + sizeof(base) - 1u, domid);
}

/* ---- the arena ------------------------------------------------------------------------------ */

static uint32_t blk_size(uint32_t payload)
{
    return (payload + BLK_HDR + 3u) & ~3u;
}

static uint8_t *blk(const struct pvcore_xenstore *xs, uint32_t off)
{
    return xs->arena + off + BLK_HDR;
}

static void compact(struct pvcore_xenstore *xs)
{
    uint32_t src = 0, dst = 0;
    while (src < xs->top) {
        uint32_t size = rd32(xs->arena + src);
        uint32_t tag = rd32(xs->arena + src + 4u);
        if (tag != TAG_FREE) {
            if (dst != src) {
                move_down(xs->arena + dst, xs->arena + src, size);
            }
            if ((tag & TAG_WATCH) != 0) {
                xs->watches[tag & ~TAG_WATCH].blob = dst;
            } else {
                xs->recs[tag].blob = dst;
            }
            dst += size;
        }
        src += size;
    }
    xs->top = dst;
}

/* Makes `bytes` (a sum of blk_size()s) allocatable without moving anything afterwards:
 * compacts if the top has too little room. False when the arena is too full. */
static bool arena_reserve(struct pvcore_xenstore *xs, uint64_t bytes)
{
    if (bytes > (uint64_t)(xs->cfg.arena_bytes - xs->live)) {
        return false;
    }
    if (bytes > (uint64_t)(xs->cfg.arena_bytes - xs->top)) {
        compact(xs);
    }
    return true;
}

/* After arena_reserve(): never fails, never moves a block. */
static uint32_t arena_alloc(struct pvcore_xenstore *xs, uint32_t payload, uint32_t tag)
{
    uint32_t size = blk_size(payload);
    uint32_t off = xs->top;
    PVCORE_ASSERT(size <= xs->cfg.arena_bytes - xs->top);
    wr32(xs->arena + off, size);
    wr32(xs->arena + off + 4u, tag);
    xs->top += size;
    xs->live += size;
    return off;
}

static void arena_free(struct pvcore_xenstore *xs, uint32_t off)
{
    uint32_t size = rd32(xs->arena + off);
    wr32(xs->arena + off + 4u, TAG_FREE);
    xs->live -= size;
    if (off + size == xs->top) {
        xs->top = off;
    }
}

/* ---- records ---------------------------------------------------------------------------------- */

static const uint8_t *rec_perms(const struct pvcore_xenstore *xs, const struct rec *r)
{
    return blk(xs, r->blob);
}

static const char *rec_path(const struct pvcore_xenstore *xs, const struct rec *r)
{
    return (const char *)blk(xs, r->blob) + 4u * r->nperms;
}

static const uint8_t *rec_value(const struct pvcore_xenstore *xs, const struct rec *r)
{
    return blk(xs, r->blob) + 4u * r->nperms + r->path_len + 1u;
}

static uint32_t node_payload(uint32_t nperms, uint32_t path_len, uint32_t value_len)
{
    return 4u * nperms + path_len + 1u + value_len;
}

static uint16_t perm_domid(const uint8_t *p)
{
    return (uint16_t)(p[2] | (p[3] << 8));
}

static uint32_t find(const struct pvcore_xenstore *xs, const char *path, uint32_t len, uint32_t h,
                     uint16_t tx)
{
    for (uint32_t i = xs->buckets[h & (xs->nbuckets - 1u)]; i != NONE; i = xs->recs[i].next) {
        const struct rec *r = &xs->recs[i];
        if (r->tx == tx && r->hash == h && r->path_len == len &&
            memcmp(rec_path(xs, r), path, len) == 0) {
            return i;
        }
    }
    return NONE;
}

/* Takes a free record (the caller checked nfree) and links it under `h`. */
static uint32_t rec_take(struct pvcore_xenstore *xs, uint32_t h)
{
    uint32_t i = xs->free_head;
    PVCORE_ASSERT(i != NONE);
    struct rec *r = &xs->recs[i];
    xs->free_head = r->next;
    xs->nfree--;
    uint32_t *b = &xs->buckets[h & (xs->nbuckets - 1u)];
    r->next = *b;
    *b = i;
    r->hash = h;
    r->blob = NONE;
    return i;
}

static void rec_release(struct pvcore_xenstore *xs, uint32_t i)
{
    struct rec *r = &xs->recs[i];
    uint32_t *p = &xs->buckets[r->hash & (xs->nbuckets - 1u)];
    while (*p != i) {
        p = &xs->recs[*p].next;
    }
    *p = r->next;
    if (r->blob != NONE) {
        arena_free(xs, r->blob);
    }
    memset(r, 0, sizeof(*r));
    r->kind = R_FREE;
    r->next = xs->free_head;
    xs->free_head = i;
    xs->nfree++;
}

/*
 * Gives record i a new block: its path, `nperms` entries copied from `perms` (with the
 * owner replaced by `owner` when it is not NONE) and a value. The old block, if any, is
 * freed after the copy (perms may point into it). Arena space reserved by the caller.
 */
static void rec_set(struct pvcore_xenstore *xs, uint32_t i, const char *path, uint32_t plen,
                    const uint8_t *perms, uint32_t nperms, uint32_t owner, const void *val,
                    uint32_t vlen)
{
    struct rec *r = &xs->recs[i];
    uint32_t off = arena_alloc(xs, node_payload(nperms, plen, vlen), i);
    uint8_t *b = blk(xs, off);
    if (nperms > 0) {
        memcpy(b, perms, 4u * nperms);
    }
    if (owner != NONE && nperms > 0) {
        b[2] = (uint8_t)owner;
        b[3] = (uint8_t)(owner >> 8);
    }
    memcpy(b + 4u * nperms, path, plen);
    b[4u * nperms + plen] = 0;
    if (vlen > 0) {
        memcpy(b + 4u * nperms + plen + 1u, val, vlen);
    }
    if (r->blob != NONE) {
        arena_free(xs, r->blob);
    }
    r->blob = off;
    r->path_len = (uint16_t)plen;
    r->nperms = (uint16_t)nperms;
    r->value_len = vlen;
    r->owner = nperms > 0 ? perm_domid(b) : 0;
}

/* ---- the privileged reserve ---------------------------------------------------------------- */

/* A quarter of each shared pool (node records, arena bytes, watch and transaction slots)
 * is kept back from unprivileged connections, so that guests filling the store together
 * cannot stop the toolstack or a privileged back-end (the per-domain quotas bound each
 * guest; this bounds all of them). */
static uint64_t kept_back(const struct req *r, uint64_t pool)
{
    return r->priv ? 0u : pool / 4u;
}

/* Room for `recs` node records and `bytes` of arena (a sum of blk_size()s) for request r,
 * reserved as arena_reserve() does; false when the pools, less the privileged reserve for
 * an unprivileged request, are too full. */
static bool room_for(const struct req *r, uint32_t recs, uint64_t bytes)
{
    struct pvcore_xenstore *xs = r->xs;

    if ((uint64_t)xs->nfree < (uint64_t)recs + kept_back(r, xs->cfg.max_nodes) ||
        bytes + kept_back(r, xs->cfg.arena_bytes) > (uint64_t)(xs->cfg.arena_bytes - xs->live)) {
        return false;
    }
    return arena_reserve(xs, bytes);
}

/* Whether one more of `used` slots of a pool of `pool` may go to request r. */
static bool slot_for(const struct req *r, uint32_t used, uint32_t pool)
{
    return (uint64_t)used + 1u + kept_back(r, pool) <= pool;
}

/* ---- connections' accounting ------------------------------------------------------------------ */

static struct pvcore_xenstore_conn *conn_of(const struct pvcore_xenstore *xs, uint16_t domid)
{
    for (uint32_t i = 0; i < xs->cfg.max_conns; i++) {
        if (xs->conns[i].used && xs->conns[i].domid == domid) {
            return &xs->conns[i];
        }
    }
    return NULL;
}

static void acct(struct pvcore_xenstore *xs, uint16_t owner, int delta)
{
    struct pvcore_xenstore_conn *c = conn_of(xs, owner);
    if (c != NULL) {
        c->nodes = (uint32_t)((int64_t)c->nodes + delta);
    }
}

static uint32_t conn_index(const struct pvcore_xenstore *xs, const struct pvcore_xenstore_conn *c)
{
    return (uint32_t)(c - xs->conns);
}

/* ---- permissions ------------------------------------------------------------------------------ */

static unsigned perm_of(uint16_t domid, bool priv, const uint8_t *perms, uint32_t n)
{
    if (priv || n == 0 || perm_domid(perms) == domid) {
        return P_READ | P_WRITE | P_OWNER;
    }
    for (uint32_t i = 1; i < n; i++) {
        if (perm_domid(perms + 4u * i) == domid) {
            return perms[4u * i] & (P_READ | P_WRITE);
        }
    }
    return perms[0] & (P_READ | P_WRITE);
}

static unsigned perm_rec(const struct req *r, uint32_t i)
{
    const struct rec *n = &r->xs->recs[i];
    return perm_of(r->domid, r->priv, rec_perms(r->xs, n), n->nperms);
}

/*
 * Permission strings: one letter (n, r, w, b) and a decimal domain id. Validates
 * `count` strings starting at s (within n bytes); writes them to dst when it is not NULL.
 */
static bool perms_parse(const uint8_t *s, uint32_t n, uint32_t count, uint8_t *dst)
{
    uint32_t off = 0;
    for (uint32_t k = 0; k < count; k++) {
        const uint8_t *e = mem_chr(s + off, 0, n - off);
        if (e == NULL) {
            return false;
        }
        uint32_t len = (uint32_t)(e - (s + off));
        unsigned bits;
        uint16_t domid;
        if (len < 2) {
            return false;
        }
        switch (s[off]) {
        case 'n': bits = 0; break;
        case 'r': bits = P_READ; break;
        case 'w': bits = P_WRITE; break;
        case 'b': bits = P_READ | P_WRITE; break;
        default: return false;
        }
        if (!parse_domid(s + off + 1u, len - 1u, &domid)) {
            return false;
        }
        if (dst != NULL) {
            dst[4u * k] = (uint8_t)bits;
            dst[4u * k + 1u] = 0;
            dst[4u * k + 2u] = (uint8_t)domid;
            dst[4u * k + 3u] = (uint8_t)(domid >> 8);
        }
        off += len + 1u;
    }
    return true;
}

/* ---- paths ------------------------------------------------------------------------------------ */

static bool path_char(uint8_t ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '/' || ch == '_' || ch == '@';
}

/*
 * The canonical form of the path s[0..n) (no NUL inside) into xs->path: relative paths
 * get the connection's /local/domain/<id>/ in front. xenstored's rules: valid characters,
 * '@' only where special paths are allowed, no trailing '/' (but "/"), no "//", and the
 * length limits.
 */
static int canon(struct req *r, const uint8_t *s, uint32_t n, bool special)
{
    char *p = r->xs->path;
    uint32_t len = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!path_char(s[i])) {
            return PVCORE_EINVAL;
        }
    }
    if (n > 0 && s[0] == '@' && !special) {
        return PVCORE_EINVAL;
    }
    if (n == 0 || (s[0] != '/' && s[0] != '@')) {
        char pre[24];
        uint32_t pl = dom_prefix(pre, r->domid);
        if ((uint64_t)pl + 1u + n > ABS_MAX) {
            return PVCORE_EINVAL;
        }
        memcpy(p, pre, pl);
        p[pl] = '/';
        len = pl + 1u;
    } else if (n > ABS_MAX) {
        return PVCORE_EINVAL;
    }
    memcpy(p + len, s, n);
    len += n;
    p[len] = 0;
    if (len > 1 && p[len - 1u] == '/') {
        return PVCORE_EINVAL;
    }
    for (uint32_t i = 1; i < len; i++) {
        if (p[i] == '/' && p[i - 1u] == '/') {
            return PVCORE_EINVAL;
        }
    }
    uint32_t quota = r->xs->cfg.quota.path_bytes;
    if (!r->priv && quota != 0) {
        /* As xenstored: the length beyond a "/local/domain/<digits>/" prefix counts. */
        static const char ld[] = "/local/domain/";
        uint32_t off = 0;
        if (len > sizeof(ld) - 1u && memcmp(p, ld, sizeof(ld) - 1u) == 0) {
            uint32_t d = sizeof(ld) - 1u;
            while (d < len && d < sizeof(ld) - 1u + 5u && p[d] >= '0' && p[d] <= '9') {
                d++;
            }
            if (d > sizeof(ld) - 1u && d < len && p[d] == '/') {
                off = d + 1u;
            }
        }
        if (len - off > quota) {
            return PVCORE_EINVAL;
        }
    }
    r->plen = len;
    r->phash = fnv(p, len);
    return 0;
}

/* Length of the parent's path of path[0..len), len > 1; "/" for a top-level node. */
static uint32_t parent_len(const char *path, uint32_t len)
{
    uint32_t i = len - 1u;
    while (i > 0 && path[i] != '/') {
        i--;
    }
    return i == 0 ? 1u : i;
}

/* path[0..len) is a strict descendant of pre[0..plen) (direct child only if `direct`). */
static bool under(const char *path, uint32_t len, const char *pre, uint32_t plen, bool direct)
{
    uint32_t start;
    if (plen == 1) {
        if (len < 2) {
            return false;
        }
        start = 1;
    } else {
        if (len < plen + 2u || path[plen] != '/' || memcmp(path, pre, plen) != 0) {
            return false;
        }
        start = plen + 1u;
    }
    return !direct || mem_chr(path + start, '/', len - start) == NULL;
}

/* ---- the request's view: the tree, or the tree under the transaction's records --------------- */

static uint32_t view_get(const struct req *r, const char *path, uint32_t len, uint32_t h)
{
    if (r->tx != 0) {
        uint32_t t = find(r->xs, path, len, h, r->tx);
        if (t != NONE && r->xs->recs[t].kind == R_NODE) {
            return t;
        }
        if (t != NONE && r->xs->recs[t].kind == R_DELETED) {
            return NONE;
        }
    }
    return find(r->xs, path, len, h, 0);
}

/* Record i (a tree node or one of the transaction's) is part of the view, and lies under
 * pre (directly when `direct`). */
static bool in_view_under(const struct req *r, uint32_t i, const char *pre, uint32_t plen,
                          bool direct)
{
    const struct pvcore_xenstore *xs = r->xs;
    const struct rec *n = &xs->recs[i];
    if (n->kind != R_NODE || (n->tx != 0 && n->tx != r->tx)) {
        return false;
    }
    if (!under(rec_path(xs, n), n->path_len, pre, plen, direct)) {
        return false;
    }
    if (n->tx == 0 && r->tx != 0) {
        uint32_t t = find(xs, rec_path(xs, n), n->path_len, n->hash, r->tx);
        if (t != NONE && xs->recs[t].kind != R_READ) {
            return false; /* the transaction's own record stands for it */
        }
    }
    return true;
}

/* The nearest ancestor of xs->path[0..len) that exists in the view ("/" always does). */
static uint32_t nearest(const struct req *r, uint32_t len, uint32_t *alen)
{
    const char *p = r->xs->path;
    uint32_t l = len;
    if (p[0] == '/') {
        while (l > 1) {
            l = parent_len(p, l);
            uint32_t i = view_get(r, p, l, fnv(p, l));
            if (i != NONE) {
                *alen = l;
                return i;
            }
        }
    }
    *alen = 1;
    return view_get(r, "/", 1, fnv("/", 1));
}

/* The request's node with `perm`, or ENOENT (missing, and the nearest ancestor grants some
 * of `perm`: xenstored's errno_from_parents) or EACCES. */
static int get_node(const struct req *r, unsigned perm, uint32_t *out)
{
    uint32_t alen;
    uint32_t i = r->xs->path[0] == '@' ? NONE : view_get(r, r->xs->path, r->plen, r->phash);
    if (i != NONE) {
        if ((perm_rec(r, i) & perm) != perm) {
            return PVCORE_EACCES;
        }
        *out = i;
        return 0;
    }
    i = nearest(r, r->plen, &alen);
    return (perm_rec(r, i) & perm) != 0 ? PVCORE_ENOENT : PVCORE_EACCES;
}

static bool over(uint32_t quota, uint64_t value)
{
    return quota != 0 && value > quota;
}

/* The transaction-nodes quota allows `n` more records in the request's transaction. */
static int tx_room(const struct req *r, uint32_t n)
{
    if (r->t != NULL && !r->priv && over(r->xs->cfg.quota.tx_nodes, (uint64_t)r->t->nrecs + n)) {
        return PVCORE_ENOSPC;
    }
    return 0;
}

/*
 * In a transaction, remembers path[0..len) (a prefix of xs->path) with the tree's
 * generation for it, unless the transaction has a record for it already.
 */
static int tx_touch(const struct req *r, uint32_t len)
{
    struct pvcore_xenstore *xs = r->xs;
    const char *p = xs->path;
    if (r->t == NULL || p[0] == '@') {
        return 0;
    }
    uint32_t h = fnv(p, len);
    if (find(xs, p, len, h, r->tx) != NONE) {
        return 0;
    }
    int e = tx_room(r, 1);
    if (e != 0) {
        return e;
    }
    if (!room_for(r, 1, blk_size(node_payload(0, len, 0)))) {
        return PVCORE_ENOMEM;
    }
    uint32_t g = find(xs, p, len, h, 0);
    uint32_t i = rec_take(xs, h);
    struct rec *n = &xs->recs[i];
    n->tx = r->tx;
    n->kind = R_READ;
    n->flags = 0;
    n->gen = g == NONE ? NO_GEN : xs->recs[g].gen;
    rec_set(xs, i, p, len, NULL, 0, NONE, NULL, 0);
    r->t->nrecs++;
    return 0;
}

/* ---- output: each connection's queue, and its ring -------------------------------------------- */

static uint32_t out_used(const struct pvcore_xenstore_conn *c)
{
    return c->out_end - c->out_start;
}

/* Makes n contiguous bytes free at the queue's tail; false when the queue lacks room. */
static bool out_room(const struct pvcore_xenstore *xs, struct pvcore_xenstore_conn *c, uint32_t n)
{
    uint32_t cap = xs->cfg.out_bytes;
    if (cap - out_used(c) < n) {
        return false;
    }
    if (cap - c->out_end < n) {
        move_down(c->out, c->out + c->out_start, out_used(c));
        c->out_end -= c->out_start;
        c->out_start = 0;
    }
    return true;
}

/* Appends a message (after out_room()) whose payload is a, then b. */
static void out_msg(struct pvcore_xenstore_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
                    const void *a, uint32_t alen, const void *b, uint32_t blen)
{
    uint8_t *m = c->out + c->out_end;
    wr32(m, type);
    wr32(m + 4u, req_id);
    wr32(m + 8u, tx_id);
    wr32(m + 12u, alen + blen);
    if (alen > 0) {
        memcpy(m + HDR, a, alen);
    }
    if (blen > 0) {
        memcpy(m + HDR + alen, b, blen);
    }
    c->out_end += HDR + alen + blen;
}

/* A watch event `path NUL token NUL` for connection c, unless an identical one is queued
 * and not yet being sent (xenstored drops those too), or it does not fit. */
static void queue_event(struct pvcore_xenstore *xs, struct pvcore_xenstore_conn *c, const char *path,
                        uint32_t plen, const char *tok, uint32_t tlen)
{
    uint32_t len = plen + 1u + tlen + 1u;
    if (len > PVCORE_XENSTORE_PAYLOAD_MAX) {
        return;
    }
    for (uint32_t off = c->out_start; off < c->out_end; off += HDR + rd32(c->out + off + 12u)) {
        const uint8_t *q = c->out + off + HDR;
        if ((off == c->out_start && c->out_sent > 0) || rd32(c->out + off) != PVCORE_XS_WATCH_EVENT ||
            rd32(c->out + off + 12u) != len) {
            continue;
        }
        if (memcmp(q, path, plen) == 0 && q[plen] == 0 && memcmp(q + plen + 1u, tok, tlen) == 0) {
            return;
        }
    }
    /* The requester keeps room for the reply that follows its own events. */
    uint32_t need = HDR + len + (c == xs->cur ? MSG_MAX : 0u);
    if (!out_room(xs, c, need)) {
        c->dropped++;
        return;
    }
    uint8_t *m = c->out + c->out_end;
    wr32(m, PVCORE_XS_WATCH_EVENT);
    wr32(m + 4u, 0);
    wr32(m + 8u, 0);
    wr32(m + 12u, len);
    memcpy(m + HDR, path, plen);
    m[HDR + plen] = 0;
    memcpy(m + HDR + plen + 1u, tok, tlen);
    m[HDR + len - 1u] = 0;
    c->out_end += HDR + len;
    if (c != xs->cur) {
        xs->others = 1;
    }
}

static _Atomic uint32_t *ring_idx(uint32_t *p)
{
    return (_Atomic uint32_t *)(void *)p;
}

/* Writes queued output into the reply ring: the bytes written, or -1 for a broken ring. */
static int flush(const struct pvcore_xenstore *xs, struct pvcore_xenstore_conn *c)
{
    struct pvcore_xenstore_domain_interface *ring = c->ring;
    (void)xs;
    /* acquire: the guest has finished reading the bytes below rsp_cons before we
     * overwrite them. */
    uint32_t cons = atomic_load_explicit(ring_idx(&ring->rsp_cons), memory_order_acquire);
    uint32_t prod = atomic_load_explicit(ring_idx(&ring->rsp_prod), memory_order_relaxed);
    if (prod - cons > RING) {
        return -1;
    }
    uint32_t space = RING - (prod - cons);
    uint32_t written = 0;
    while (space > 0 && c->out_start < c->out_end) {
        const uint8_t *m = c->out + c->out_start;
        uint32_t total = HDR + rd32(m + 12u);
        uint32_t n = min32(total - c->out_sent, space);
        const uint8_t *src = m + c->out_sent;
        uint32_t off = PVCORE_MASK_XENSTORE_IDX(prod);
        uint32_t first = min32(n, RING - off);
        memcpy(&ring->rsp[off], src, first);
        memcpy(&ring->rsp[0], src + first, n - first);
        prod += n;
        space -= n;
        written += n;
        c->out_sent += n;
        if (c->out_sent == total) {
            c->out_start += total;
            c->out_sent = 0;
        }
    }
    if (c->out_start == c->out_end) {
        c->out_start = c->out_end = 0;
    }
    if (written > 0) {
        /* release: the reply bytes are in the ring before the index that publishes them. */
        atomic_store_explicit(ring_idx(&ring->rsp_prod), prod, memory_order_release);
    }
    return (int)written;
}

/* Copies up to `want` request bytes out of the ring into dst: the bytes read, or -1. */
static int ring_read(struct pvcore_xenstore_conn *c, uint8_t *dst, uint32_t want)
{
    struct pvcore_xenstore_domain_interface *ring = c->ring;
    /* acquire: the request bytes are read only after the index that published them. */
    uint32_t prod = atomic_load_explicit(ring_idx(&ring->req_prod), memory_order_acquire);
    uint32_t cons = atomic_load_explicit(ring_idx(&ring->req_cons), memory_order_relaxed);
    if (prod - cons > RING) {
        return -1;
    }
    uint32_t n = min32(prod - cons, want);
    if (n == 0) {
        return 0;
    }
    uint32_t off = PVCORE_MASK_XENSTORE_IDX(cons);
    uint32_t first = min32(n, RING - off);
    memcpy(dst, &ring->req[off], first);
    memcpy(dst + first, &ring->req[0], n - first);
    /* release: our copy is complete before the guest may reuse the space. */
    atomic_store_explicit(ring_idx(&ring->req_cons), cons + n, memory_order_release);
    return (int)n;
}

/* ---- watches ---------------------------------------------------------------------------------- */

static const char *watch_path(const struct pvcore_xenstore *xs, const struct watch *w)
{
    return (const char *)blk(xs, w->blob);
}

static const char *watch_token(const struct pvcore_xenstore *xs, const struct watch *w)
{
    return (const char *)blk(xs, w->blob) + w->path_len + 1u;
}

static void watch_drop(struct pvcore_xenstore *xs, uint32_t wi)
{
    struct watch *w = &xs->watches[wi];
    xs->conns[w->conn].watches--;
    arena_free(xs, w->blob);
    memset(w, 0, sizeof(*w));
}

/* path[0..len) is the watched path or lies under it. */
static bool watched(const char *path, uint32_t len, const char *w, uint32_t wlen)
{
    if (wlen == 1 && w[0] == '/') {
        return path[0] == '/';
    }
    return len >= wlen && memcmp(path, w, wlen) == 0 && (len == wlen || path[wlen] == '/');
}

/*
 * Fires the watches that a change of the tree node at path[0..len) concerns: the exact
 * ones only, or those on it and its ancestors. `perms` are the node's permissions (new
 * ones after a change), `old` those before a permission change (or NULL); a watcher must
 * be able to read one of them, or the node's parent.
 */
static void fire(struct pvcore_xenstore *xs, const char *path, uint32_t len, bool exact,
                 const uint8_t *perms, uint32_t np, const uint8_t *old, uint32_t nold)
{
    const uint8_t *pp = NULL;
    uint32_t npp = 0;
    if (len > 1 && path[0] == '/') {
        uint32_t pl = parent_len(path, len);
        uint32_t pi = find(xs, path, pl, fnv(path, pl), 0);
        if (pi != NONE) {
            pp = rec_perms(xs, &xs->recs[pi]);
            npp = xs->recs[pi].nperms;
        }
    }
    for (uint32_t wi = 0; wi < xs->cfg.max_watches; wi++) {
        const struct watch *w = &xs->watches[wi];
        if (!w->used) {
            continue;
        }
        struct pvcore_xenstore_conn *c = &xs->conns[w->conn];
        const char *wp = watch_path(xs, w);
        bool match = exact ? (w->path_len == len && memcmp(wp, path, len) == 0)
                           : watched(path, len, wp, w->path_len);
        if (!match || c->error != 0) {
            continue;
        }
        bool priv = c->privileged != 0;
        if ((perm_of(c->domid, priv, perms, np) & P_READ) == 0 &&
            (old == NULL || (perm_of(c->domid, priv, old, nold) & P_READ) == 0) &&
            (pp == NULL || (perm_of(c->domid, priv, pp, npp) & P_READ) == 0)) {
            continue;
        }
        queue_event(xs, c, path + w->prefix, len - w->prefix, watch_token(xs, w), w->token_len);
    }
}

static void fire_rec(struct pvcore_xenstore *xs, uint32_t i, bool exact, const uint8_t *old,
                     uint32_t nold)
{
    const struct rec *n = &xs->recs[i];
    fire(xs, rec_path(xs, n), n->path_len, exact, rec_perms(xs, n), n->nperms, old, nold);
}

/* A domain came or went: the watches on `@introduceDomain` or `@releaseDomain` fire, as
 * xenstored's special nodes, whose permissions are dom0's with no access for others (so
 * only privileged connections and dom0 hear them). */
#define fire_special(xs, name) fire_special_((xs), (name), (uint32_t)sizeof(name) - 1u)
static void fire_special_(struct pvcore_xenstore *xs, const char *name, uint32_t len)
{
    static const uint8_t dom0_only[4] = { 0, 0, 0, 0 }; /* "n0" */

    fire(xs, name, len, true, dom0_only, 1, NULL, 0);
}

/* ---- transactions ------------------------------------------------------------------------------ */

static void tx_free(struct pvcore_xenstore *xs, struct txn *t)
{
    uint16_t tag = (uint16_t)((t - xs->txns) + 1);
    for (uint32_t i = 0; i < xs->cfg.max_nodes; i++) {
        if (xs->recs[i].kind != R_FREE && xs->recs[i].tx == tag) {
            rec_release(xs, i);
        }
    }
    xs->conns[t->conn].txs--;
    memset(t, 0, sizeof(*t));
}

static void conn_drop_state(struct pvcore_xenstore *xs, struct pvcore_xenstore_conn *c)
{
    uint32_t ci = conn_index(xs, c);
    for (uint32_t wi = 0; wi < xs->cfg.max_watches; wi++) {
        if (xs->watches[wi].used && xs->watches[wi].conn == ci) {
            watch_drop(xs, wi);
        }
    }
    for (uint32_t ti = 0; ti < xs->cfg.max_transactions; ti++) {
        if (xs->txns[ti].used && xs->txns[ti].conn == ci) {
            tx_free(xs, &xs->txns[ti]);
        }
    }
}

static void bump_parent(struct pvcore_xenstore *xs, const char *path, uint32_t len)
{
    if (len > 1) {
        uint32_t pl = parent_len(path, len);
        uint32_t pi = find(xs, path, pl, fnv(path, pl), 0);
        if (pi != NONE) {
            xs->recs[pi].gen = ++xs->gen;
        }
    }
}

/* Removes tree node i, with its watches fired first (while its permissions exist). */
static void tree_remove(struct pvcore_xenstore *xs, uint32_t i, bool exact)
{
    struct rec *n = &xs->recs[i];
    fire_rec(xs, i, exact, NULL, 0);
    acct(xs, n->owner, -1);
    bump_parent(xs, rec_path(xs, n), n->path_len);
    rec_release(xs, i);
}

/*
 * Commits transaction t of request r: EAGAIN when a node it touched changed since, ENOSPC
 * when the domain's node quota no longer allows its creations; then nothing changes. The
 * transaction is freed in every case.
 */
static int tx_commit(const struct req *r, struct txn *t)
{
    struct pvcore_xenstore *xs = r->xs;
    uint16_t tag = r->tx;
    int err = 0;
    for (uint32_t i = 0; i < xs->cfg.max_nodes && err == 0; i++) {
        const struct rec *n = &xs->recs[i];
        if (n->kind == R_FREE || n->tx != tag) {
            continue;
        }
        uint32_t g = find(xs, rec_path(xs, n), n->path_len, n->hash, 0);
        if ((g == NONE ? NO_GEN : xs->recs[g].gen) != n->gen) {
            err = PVCORE_EAGAIN;
        }
    }
    if (err == 0 && !r->priv && t->delta > 0 &&
        over(xs->cfg.quota.nodes, (uint64_t)r->c->nodes + (uint64_t)t->delta)) {
        err = PVCORE_ENOSPC;
    }
    if (err != 0) {
        tx_free(xs, t);
        return err;
    }
    /* Apply. No step allocates: a copy's block moves to the tree node it replaces. */
    for (uint32_t i = 0; i < xs->cfg.max_nodes; i++) {
        struct rec *n = &xs->recs[i];
        if (n->kind == R_FREE || n->tx != tag) {
            continue;
        }
        uint32_t g = find(xs, rec_path(xs, n), n->path_len, n->hash, 0);
        bool fires = (n->flags & F_FIRE) != 0, exact = (n->flags & F_EXACT) != 0;
        if (n->kind == R_NODE && g != NONE) {
            struct rec *o = &xs->recs[g];
            uint32_t old_blob = o->blob;
            uint16_t old_owner = o->owner;
            uint32_t old_np = o->nperms;
            o->blob = n->blob;
            wr32(xs->arena + o->blob + 4u, g);
            o->nperms = n->nperms;
            o->value_len = n->value_len;
            o->owner = n->owner;
            o->gen = ++xs->gen;
            n->blob = NONE;
            rec_release(xs, i);
            if (old_owner != o->owner) {
                acct(xs, old_owner, -1);
                acct(xs, o->owner, +1);
            }
            if (fires) {
                /* The old block is freed but intact until the next reservation. */
                fire_rec(xs, g, exact, blk(xs, old_blob), old_np);
            }
            arena_free(xs, old_blob);
        } else if (n->kind == R_NODE) {
            n->tx = 0;
            n->flags = 0;
            n->gen = ++xs->gen;
            acct(xs, n->owner, +1);
            bump_parent(xs, rec_path(xs, n), n->path_len);
            if (fires) {
                fire_rec(xs, i, exact, NULL, 0);
            }
        } else if (n->kind == R_DELETED && g != NONE) {
            rec_release(xs, i); /* (a tombstone always fires: tombstone() sets F_FIRE) */
            tree_remove(xs, g, exact);
        } else {
            rec_release(xs, i);
        }
    }
    t->nrecs = 0;
    tx_free(xs, t);
    return 0;
}

/* ---- request handlers: each returns 0 (the reply is in xs->reply) or an error ---------------- */

static int reply_put(struct pvcore_xenstore *xs, const void *p, uint32_t n)
{
    if (n > PVCORE_XENSTORE_PAYLOAD_MAX - xs->rlen) {
        return PVCORE_E2BIG;
    }
    memcpy(xs->reply + xs->rlen, p, n);
    xs->rlen += n;
    return 0;
}

static int reply_ok(struct pvcore_xenstore *xs)
{
    return reply_put(xs, "OK", 3);
}

/* One NUL-terminated string filling the payload exactly (xenstored's onearg()). */
static int onearg(const struct req *r, uint32_t *n)
{
    const uint8_t *z = r->len > 0 ? mem_chr(r->pl, 0, r->len) : NULL;
    if (z == NULL || (uint32_t)(z - r->pl) != r->len - 1u) {
        return PVCORE_EINVAL;
    }
    *n = r->len - 1u;
    return 0;
}

static uint32_t nuls(const uint8_t *p, uint32_t n)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        k += p[i] == 0;
    }
    return k;
}

static uint32_t strn(const uint8_t *p, uint32_t n)
{
    const uint8_t *z = mem_chr(p, 0, n);
    return z == NULL ? n : (uint32_t)(z - p);
}

/* Parses the single path argument and remembers it in the transaction. */
static int path_arg(struct req *r, bool special)
{
    uint32_t n;
    int e = onearg(r, &n);
    if (e == 0) {
        e = canon(r, r->pl, n, special);
    }
    if (e == 0) {
        e = tx_touch(r, r->plen);
    }
    return e;
}

static uint32_t leaf_off(const char *path, uint32_t len)
{
    uint32_t pl = parent_len(path, len);
    return pl == 1 ? 1u : pl + 1u;
}

static int do_read(struct req *r)
{
    uint32_t i;
    int e = path_arg(r, false);
    if (e == 0) {
        e = get_node(r, P_READ, &i);
    }
    if (e != 0) {
        return e;
    }
    const struct rec *n = &r->xs->recs[i];
    return reply_put(r->xs, rec_value(r->xs, n), n->value_len);
}

static int do_directory(struct req *r)
{
    struct pvcore_xenstore *xs = r->xs;
    uint32_t i;
    int e = path_arg(r, false);
    if (e == 0) {
        e = get_node(r, P_READ, &i);
    }
    for (uint32_t k = 0; e == 0 && k < xs->cfg.max_nodes; k++) {
        if (in_view_under(r, k, xs->path, r->plen, true)) {
            const struct rec *n = &xs->recs[k];
            uint32_t lo = leaf_off(rec_path(xs, n), n->path_len);
            e = reply_put(xs, rec_path(xs, n) + lo, n->path_len - lo + 1u);
        }
    }
    return e;
}

static int do_directory_part(struct req *r)
{
    struct pvcore_xenstore *xs = r->xs;
    uint32_t i, off, total = 0;
    if (nuls(r->pl, r->len) != 2) {
        return PVCORE_EINVAL;
    }
    uint32_t n = strn(r->pl, r->len);
    uint32_t on = strn(r->pl + n + 1u, r->len - n - 1u);
    if (!parse_u32(r->pl + n + 1u, on, &off)) {
        return PVCORE_EINVAL;
    }
    int e = canon(r, r->pl, n, false);
    if (e == 0) {
        e = tx_touch(r, r->plen);
    }
    if (e == 0) {
        e = get_node(r, P_READ, &i);
    }
    if (e != 0) {
        return e;
    }
    char gen[21];
    uint32_t glen = dec64(gen, xs->recs[i].gen);
    gen[glen++] = 0;
    for (uint32_t k = 0; k < xs->cfg.max_nodes; k++) {
        if (in_view_under(r, k, xs->path, r->plen, true)) {
            const struct rec *c = &xs->recs[k];
            total += c->path_len - leaf_off(rec_path(xs, c), c->path_len) + 1u;
        }
    }
    e = reply_put(xs, gen, glen);
    if (off >= total) {
        return e == 0 ? reply_put(xs, "", 1) : e;
    }
    /* As xenstored: from byte `off` of the list (possibly inside a name), whole strings
     * while they fit, and an empty string after the last one. */
    uint32_t maxlen = PVCORE_XENSTORE_PAYLOAD_MAX - glen - 1u, len = 0, pos = 0;
    for (uint32_t k = 0; e == 0 && k < xs->cfg.max_nodes; k++) {
        if (!in_view_under(r, k, xs->path, r->plen, true)) {
            continue;
        }
        const struct rec *c = &xs->recs[k];
        const char *p = rec_path(xs, c);
        uint32_t lo = leaf_off(p, c->path_len), nl = c->path_len - lo;
        uint32_t start = pos;
        pos += nl + 1u;
        if (pos <= off) {
            continue;
        }
        uint32_t skip = start < off ? off - start : 0;
        if (len + (nl - skip) >= maxlen) {
            break;
        }
        e = reply_put(xs, p + lo + skip, nl - skip + 1u);
        len += nl - skip + 1u;
        if (off + len == total) {
            e = e == 0 ? reply_put(xs, "", 1) : e;
            break;
        }
    }
    return e;
}

static int do_get_perms(struct req *r)
{
    struct pvcore_xenstore *xs = r->xs;
    uint32_t i;
    int e = path_arg(r, true);
    if (e == 0) {
        e = get_node(r, P_READ, &i);
    }
    for (uint32_t k = 0; e == 0 && k < xs->recs[i].nperms; k++) {
        static const char letter[4] = { 'n', 'r', 'w', 'b' };
        const uint8_t *p = rec_perms(xs, &xs->recs[i]) + 4u * k;
        char s[8];
        s[0] = letter[p[0] & 3u];
        uint32_t l = 1u + dec32(s + 1, perm_domid(p));
        s[l++] = 0;
        e = reply_put(xs, s, l);
    }
    return e;
}

static void set_fire(struct rec *n, bool exact)
{
    if ((n->flags & F_FIRE) == 0) {
        n->flags = (uint8_t)(F_FIRE | (exact ? F_EXACT : 0u));
    } else if (!exact) {
        n->flags = (uint8_t)(n->flags & ~F_EXACT);
    }
}

/* Replaces the value of node i of the view (the path is the request's). */
static int set_value(struct req *r, uint32_t i, const uint8_t *val, uint32_t vlen)
{
    struct pvcore_xenstore *xs = r->xs;
    uint32_t np = xs->recs[i].nperms;
    if (!room_for(r, 0, blk_size(node_payload(np, r->plen, vlen)))) {
        return PVCORE_ENOMEM;
    }
    if (r->t == NULL) {
        rec_set(xs, i, xs->path, r->plen, rec_perms(xs, &xs->recs[i]), np, NONE, val, vlen);
        xs->recs[i].gen = ++xs->gen;
        fire_rec(xs, i, false, NULL, 0);
    } else {
        uint32_t j = find(xs, xs->path, r->plen, r->phash, r->tx); /* touched: exists */
        rec_set(xs, j, xs->path, r->plen, rec_perms(xs, &xs->recs[i]), np, NONE, val, vlen);
        xs->recs[j].kind = R_NODE;
        set_fire(&xs->recs[j], false);
    }
    return reply_ok(xs);
}

/* End of the path component after position l of xs->path[0..plen). */
static uint32_t next_comp(const char *p, uint32_t l, uint32_t plen)
{
    uint32_t next = l + 1u;
    while (next < plen && p[next] != '/') {
        next++;
    }
    return next;
}

/* Creates the missing nodes between view node a (path length alen) and the request's
 * path, which gets the value. Their permissions are a's, owned by an unprivileged
 * creator. */
static int create(struct req *r, uint32_t a, uint32_t alen, const uint8_t *val, uint32_t vlen)
{
    struct pvcore_xenstore *xs = r->xs;
    const char *p = xs->path;
    uint32_t np = xs->recs[a].nperms, k = 0, newrecs = 0;
    uint64_t bytes = 0;
    for (uint32_t l = alen; l < r->plen; l = next_comp(p, l, r->plen)) {
        uint32_t nx = next_comp(p, l, r->plen);
        k++;
        bytes += blk_size(node_payload(np, nx, nx == r->plen ? vlen : 0));
        if (r->t == NULL || find(xs, p, nx, fnv(p, nx), r->tx) == NONE) {
            newrecs++;
        }
    }
    int e = tx_room(r, newrecs);
    if (e != 0) {
        return e;
    }
    if (!r->priv && r->c != NULL &&
        over(xs->cfg.quota.nodes,
             (uint64_t)((int64_t)r->c->nodes + (r->t != NULL ? r->t->delta : 0) + (int64_t)k))) {
        return PVCORE_ENOSPC;
    }
    if (!room_for(r, newrecs, bytes)) {
        return PVCORE_ENOMEM;
    }
    const uint8_t *perms = rec_perms(xs, &xs->recs[a]); /* stable: reserved */
    uint32_t owner = r->priv ? NONE : r->domid;
    uint32_t last = NONE;
    for (uint32_t l = alen; l < r->plen; l = next_comp(p, l, r->plen)) {
        uint32_t nx = next_comp(p, l, r->plen);
        uint32_t h = fnv(p, nx);
        uint32_t j = r->t == NULL ? NONE : find(xs, p, nx, h, r->tx);
        if (j == NONE) {
            j = rec_take(xs, h);
            xs->recs[j].tx = r->tx;
            xs->recs[j].flags = 0;
            xs->recs[j].gen = NO_GEN;
            if (r->t != NULL) {
                r->t->nrecs++;
            }
        }
        xs->recs[j].kind = R_NODE;
        rec_set(xs, j, p, nx, perms, np, owner, nx == r->plen ? val : NULL,
                nx == r->plen ? vlen : 0);
        if (r->t == NULL) {
            xs->recs[j].gen = ++xs->gen;
            acct(xs, xs->recs[j].owner, +1);
        } else if (xs->recs[j].owner == r->domid) {
            r->t->delta++;
        }
        last = j;
    }
    if (r->t == NULL) {
        xs->recs[a].gen = ++xs->gen; /* a child was added */
        fire_rec(xs, last, false, NULL, 0);
    } else {
        set_fire(&xs->recs[last], false);
    }
    return reply_ok(xs);
}

static int do_write(struct req *r)
{
    struct pvcore_xenstore *xs = r->xs;
    const uint8_t *z = r->len > 0 ? mem_chr(r->pl, 0, r->len) : NULL;
    if (z == NULL) {
        return PVCORE_EINVAL;
    }
    uint32_t n = (uint32_t)(z - r->pl), vlen = r->len - n - 1u, alen;
    int e = canon(r, r->pl, n, false);
    if (e != 0) {
        return e;
    }
    if (!r->priv && over(xs->cfg.quota.value_bytes, vlen)) {
        return PVCORE_ENOSPC;
    }
    e = tx_touch(r, r->plen);
    if (e != 0) {
        return e;
    }
    uint32_t i = view_get(r, xs->path, r->plen, r->phash);
    if (i != NONE) {
        return (perm_rec(r, i) & P_WRITE) == 0 ? PVCORE_EACCES : set_value(r, i, z + 1, vlen);
    }
    uint32_t a = nearest(r, r->plen, &alen);
    if ((perm_rec(r, a) & P_WRITE) == 0) {
        return PVCORE_EACCES;
    }
    e = tx_touch(r, alen);
    return e != 0 ? e : create(r, a, alen, z + 1, vlen);
}

static int do_mkdir(struct req *r)
{
    struct pvcore_xenstore *xs = r->xs;
    uint32_t alen;
    int e = path_arg(r, false);
    if (e != 0) {
        return e;
    }
    uint32_t i = view_get(r, xs->path, r->plen, r->phash);
    if (i != NONE) {
        return (perm_rec(r, i) & P_WRITE) == 0 ? PVCORE_EACCES : reply_ok(xs);
    }
    uint32_t a = nearest(r, r->plen, &alen);
    if ((perm_rec(r, a) & P_WRITE) == 0) {
        return PVCORE_EACCES;
    }
    e = tx_touch(r, alen);
    return e != 0 ? e : create(r, a, alen, NULL, 0);
}

/* In a transaction: view node k (under the removed path) becomes a tombstone. */
static void tombstone(struct req *r, uint32_t k, bool exact)
{
    struct pvcore_xenstore *xs = r->xs;
    struct rec *n = &xs->recs[k];
    uint32_t j = k;
    if (n->owner == r->domid) {
        r->t->delta--;
    }
    if (n->tx != r->tx) {
        j = find(xs, rec_path(xs, n), n->path_len, n->hash, r->tx);
        if (j == NONE) {
            j = rec_take(xs, n->hash);
            xs->recs[j].tx = r->tx;
            xs->recs[j].flags = 0;
            xs->recs[j].gen = xs->recs[k].gen;
            rec_set(xs, j, rec_path(xs, &xs->recs[k]), xs->recs[k].path_len, NULL, 0, NONE, NULL, 0);
            r->t->nrecs++;
        }
    }
    xs->recs[j].kind = R_DELETED;
    set_fire(&xs->recs[j], exact);
}

static int do_rm(struct req *r)
{
    struct pvcore_xenstore *xs = r->xs;
    uint32_t alen;
    int e = path_arg(r, false);
    if (e != 0) {
        return e;
    }
    uint32_t i = view_get(r, xs->path, r->plen, r->phash);
    if (i == NONE) {
        /* Missing: fine if the parent exists (and the nearest ancestor lets us write). */
        uint32_t a = nearest(r, r->plen, &alen);
        if ((perm_rec(r, a) & P_WRITE) == 0) {
            return PVCORE_EACCES;
        }
        uint32_t pl = parent_len(xs->path, r->plen);
        return view_get(r, xs->path, pl, fnv(xs->path, pl)) != NONE ? reply_ok(xs) : PVCORE_ENOENT;
    }
    if ((perm_rec(r, i) & P_WRITE) == 0) {
        return PVCORE_EACCES;
    }
    if (r->plen == 1) {
        return PVCORE_EINVAL;
    }
    if (r->t == NULL) {
        for (uint32_t k = 0; k < xs->cfg.max_nodes; k++) {
            if (k != i && in_view_under(r, k, xs->path, r->plen, false)) {
                tree_remove(xs, k, true);
            }
        }
        tree_remove(xs, i, false);
        return reply_ok(xs);
    }
    e = tx_touch(r, parent_len(xs->path, r->plen));
    if (e != 0) {
        return e;
    }
    uint32_t newrecs = 0;
    uint64_t bytes = 0;
    for (uint32_t k = 0; k < xs->cfg.max_nodes; k++) {
        const struct rec *n = &xs->recs[k];
        if ((k == i || in_view_under(r, k, xs->path, r->plen, false)) && n->tx != r->tx &&
            find(xs, rec_path(xs, n), n->path_len, n->hash, r->tx) == NONE) {
            newrecs++;
            bytes += blk_size(node_payload(0, n->path_len, 0));
        }
    }
    e = tx_room(r, newrecs);
    if (e != 0) {
        return e;
    }
    if (!room_for(r, newrecs, bytes)) {
        return PVCORE_ENOMEM;
    }
    for (uint32_t k = 0; k < xs->cfg.max_nodes; k++) {
        if (k != i && in_view_under(r, k, xs->path, r->plen, false)) {
            tombstone(r, k, true);
        }
    }
    tombstone(r, i, false);
    return reply_ok(xs);
}

static int do_set_perms(struct req *r)
{
    struct pvcore_xenstore *xs = r->xs;
    uint32_t cnt = nuls(r->pl, r->len), i;
    if (cnt < 2) {
        return PVCORE_EINVAL;
    }
    uint32_t np = cnt - 1u;
    if (!r->priv && over(xs->cfg.quota.perms, np)) {
        return PVCORE_ENOSPC;
    }
    uint32_t n = strn(r->pl, r->len);
    const uint8_t *ps = r->pl + n + 1u;
    uint32_t pslen = r->len - n - 1u;
    if (!perms_parse(ps, pslen, np, NULL)) {
        return PVCORE_EINVAL;
    }
    int e = canon(r, r->pl, n, true);
    if (e == 0) {
        e = tx_touch(r, r->plen);
    }
    if (e == 0) {
        e = get_node(r, P_WRITE | P_OWNER, &i);
    }
    if (e != 0) {
        return e;
    }
    uint8_t first[4] = { 0, 0, 0, 0 };
    (void)perms_parse(ps, pslen, 1, first);
    uint16_t new_owner = perm_domid(first);
    if (!r->priv && new_owner != xs->recs[i].owner) {
        return PVCORE_EPERM;
    }
    uint32_t vlen = xs->recs[i].value_len;
    if (!room_for(r, 0, blk_size(node_payload(np, r->plen, vlen)))) {
        return PVCORE_ENOMEM;
    }
    uint32_t j = r->t == NULL ? i : find(xs, xs->path, r->plen, r->phash, r->tx);
    struct rec *dst = &xs->recs[j];
    const struct rec *src = &xs->recs[i];
    uint32_t old_blob = dst->blob, old_np = dst->nperms;
    uint16_t old_owner = src->owner;
    uint32_t off = arena_alloc(xs, node_payload(np, r->plen, vlen), j);
    uint8_t *b = blk(xs, off);
    (void)perms_parse(ps, pslen, np, b);
    memcpy(b + 4u * np, xs->path, r->plen);
    b[4u * np + r->plen] = 0;
    if (vlen > 0) {
        memcpy(b + 4u * np + r->plen + 1u, rec_value(xs, src), vlen);
    }
    dst->blob = off;
    dst->nperms = (uint16_t)np;
    dst->value_len = vlen;
    dst->owner = new_owner;
    if (r->t == NULL) {
        dst->gen = ++xs->gen;
        if (old_owner != new_owner) {
            acct(xs, old_owner, -1);
            acct(xs, new_owner, +1);
        }
        fire_rec(xs, j, false, blk(xs, old_blob), old_np);
    } else {
        dst->kind = R_NODE;
        set_fire(dst, false);
        r->t->delta += (new_owner == r->domid) - (old_owner == r->domid);
    }
    arena_free(xs, old_blob);
    return reply_ok(xs);
}

/* The watch of connection ci on xs->path[0..plen) with token tok, or NONE. */
static uint32_t watch_find(const struct pvcore_xenstore *xs, uint32_t ci, uint32_t plen,
                           const uint8_t *tok, uint32_t tlen)
{
    for (uint32_t wi = 0; wi < xs->cfg.max_watches; wi++) {
        const struct watch *w = &xs->watches[wi];
        if (w->used && w->conn == ci && w->path_len == plen && w->token_len == tlen &&
            memcmp(watch_path(xs, w), xs->path, plen) == 0 &&
            memcmp(watch_token(xs, w), tok, tlen) == 0) {
            return wi;
        }
    }
    return NONE;
}

static int do_watch(struct req *r)
{
    struct pvcore_xenstore *xs = r->xs;
    struct pvcore_xenstore_conn *c = r->c;
    if (nuls(r->pl, r->len) != 2) {
        return PVCORE_EINVAL;
    }
    uint32_t n = strn(r->pl, r->len);
    const uint8_t *tok = r->pl + n + 1u;
    uint32_t tlen = strn(tok, r->len - n - 1u);
    int e = canon(r, r->pl, n, true);
    if (e != 0) {
        return e;
    }
    uint32_t ci = conn_index(xs, c);
    if (watch_find(xs, ci, r->plen, tok, tlen) != NONE) {
        return PVCORE_EEXIST;
    }
    if (!r->priv && over(xs->cfg.quota.watches, (uint64_t)c->watches + 1u)) {
        return PVCORE_E2BIG;
    }
    uint32_t wi = xs->cfg.max_watches, used = 0;
    for (uint32_t k = 0; k < xs->cfg.max_watches; k++) {
        if (xs->watches[k].used) {
            used++;
        } else if (wi == xs->cfg.max_watches) {
            wi = k;
        }
    }
    if (wi == xs->cfg.max_watches || !slot_for(r, used, xs->cfg.max_watches) ||
        !room_for(r, 0, blk_size(r->plen + tlen + 2u))) {
        return PVCORE_ENOMEM;
    }
    struct watch *w = &xs->watches[wi];
    w->blob = arena_alloc(xs, r->plen + tlen + 2u, TAG_WATCH | wi);
    uint8_t *b = blk(xs, w->blob);
    memcpy(b, xs->path, r->plen);
    b[r->plen] = 0;
    memcpy(b + r->plen + 1u, tok, tlen);
    b[r->plen + 1u + tlen] = 0;
    w->conn = ci;
    w->path_len = (uint16_t)r->plen;
    w->token_len = (uint16_t)tlen;
    w->prefix = (uint16_t)(r->pl[0] != '/' && r->pl[0] != '@' ? c->prefix_len + 1u : 0u);
    w->used = 1;
    c->watches++;
    r->post_watch = wi;
    return reply_ok(xs);
}

static int do_unwatch(struct req *r)
{
    struct pvcore_xenstore *xs = r->xs;
    if (nuls(r->pl, r->len) != 2) {
        return PVCORE_EINVAL;
    }
    uint32_t n = strn(r->pl, r->len);
    const uint8_t *tok = r->pl + n + 1u;
    uint32_t tlen = strn(tok, r->len - n - 1u);
    int e = canon(r, r->pl, n, true);
    if (e != 0) {
        return e;
    }
    uint32_t wi = watch_find(xs, conn_index(xs, r->c), r->plen, tok, tlen);
    if (wi == NONE) {
        return PVCORE_ENOENT;
    }
    watch_drop(xs, wi);
    return reply_ok(xs);
}

static struct txn *tx_lookup(const struct pvcore_xenstore *xs, uint32_t ci, uint32_t id)
{
    for (uint32_t ti = 0; ti < xs->cfg.max_transactions; ti++) {
        if (xs->txns[ti].used && xs->txns[ti].conn == ci && xs->txns[ti].id == id) {
            return &xs->txns[ti];
        }
    }
    return NULL;
}

static int do_tx_start(struct req *r)
{
    struct pvcore_xenstore *xs = r->xs;
    struct pvcore_xenstore_conn *c = r->c;
    if (r->t != NULL) {
        return PVCORE_EBUSY; /* no nested transactions */
    }
    if (!r->priv && over(xs->cfg.quota.transactions, (uint64_t)c->txs + 1u)) {
        return PVCORE_ENOSPC;
    }
    uint32_t ti = xs->cfg.max_transactions, used = 0;
    for (uint32_t k = 0; k < xs->cfg.max_transactions; k++) {
        if (xs->txns[k].used) {
            used++;
        } else if (ti == xs->cfg.max_transactions) {
            ti = k;
        }
    }
    if (ti == xs->cfg.max_transactions || !slot_for(r, used, xs->cfg.max_transactions)) {
        return PVCORE_ENOMEM;
    }
    uint32_t ci = conn_index(xs, c), id;
    do {
        id = c->next_txid++;
    } while (id == 0 || tx_lookup(xs, ci, id) != NULL);
    struct txn *t = &xs->txns[ti];
    t->used = 1;
    t->conn = ci;
    t->id = id;
    t->nrecs = 0;
    t->delta = 0;
    c->txs++;
    char s[11];
    uint32_t l = dec32(s, id);
    s[l++] = 0;
    return reply_put(xs, s, l);
}

static int do_tx_end(struct req *r)
{
    uint32_t n;
    int e = onearg(r, &n);
    if (e != 0 || n != 1 || (r->pl[0] != 'T' && r->pl[0] != 'F')) {
        return PVCORE_EINVAL;
    }
    if (r->t == NULL) {
        return PVCORE_ENOENT;
    }
    if (r->pl[0] == 'F') {
        tx_free(r->xs, r->t);
    } else {
        e = tx_commit(r, r->t);
    }
    r->t = NULL;
    r->tx = 0;
    return e != 0 ? e : reply_ok(r->xs);
}

static int do_get_domain_path(struct req *r)
{
    uint32_t n;
    uint16_t domid;
    if (onearg(r, &n) != 0 || !parse_domid(r->pl, n, &domid)) {
        return PVCORE_EINVAL;
    }
    char s[24];
    uint32_t l = dom_prefix(s, domid);
    s[l++] = 0;
    return reply_put(r->xs, s, l);
}

static int do_is_introduced(struct req *r)
{
    uint32_t n;
    uint16_t domid;
    if (onearg(r, &n) != 0 || !parse_domid(r->pl, n, &domid)) {
        return PVCORE_EINVAL;
    }
    bool yes = domid == 0x7FF0u /* DOMID_SELF */ || conn_of(r->xs, domid) != NULL;
    return reply_put(r->xs, yes ? "T" : "F", 2);
}

static int do_reset_watches(struct req *r)
{
    conn_drop_state(r->xs, r->c);
    return reply_ok(r->xs);
}

static int dispatch(struct req *r, uint32_t type, uint32_t tx_id)
{
    int (*fn)(struct req *) = NULL;
    bool priv_only = false, notid = false;
    switch (type) {
    case PVCORE_XS_DIRECTORY: fn = do_directory; break;
    case PVCORE_XS_READ: fn = do_read; break;
    case PVCORE_XS_GET_PERMS: fn = do_get_perms; break;
    case PVCORE_XS_WATCH: fn = do_watch; notid = true; break;
    case PVCORE_XS_UNWATCH: fn = do_unwatch; notid = true; break;
    case PVCORE_XS_TRANSACTION_START: fn = do_tx_start; break;
    case PVCORE_XS_TRANSACTION_END: fn = do_tx_end; break;
    case PVCORE_XS_GET_DOMAIN_PATH: fn = do_get_domain_path; break;
    case PVCORE_XS_WRITE: fn = do_write; break;
    case PVCORE_XS_MKDIR: fn = do_mkdir; break;
    case PVCORE_XS_RM: fn = do_rm; break;
    case PVCORE_XS_SET_PERMS: fn = do_set_perms; break;
    case PVCORE_XS_RESET_WATCHES: fn = do_reset_watches; break;
    case PVCORE_XS_DIRECTORY_PART: fn = do_directory_part; break;
    case PVCORE_XS_IS_DOMAIN_INTRODUCED: fn = do_is_introduced; priv_only = true; break;
    case PVCORE_XS_CONTROL:
    case PVCORE_XS_INTRODUCE:
    case PVCORE_XS_RELEASE:
    case PVCORE_XS_RESUME:
    case PVCORE_XS_SET_TARGET: priv_only = true; break;
    default: return PVCORE_ENOSYS;
    }
    if (priv_only && !r->priv) {
        return PVCORE_EACCES;
    }
    if (fn == NULL) {
        return PVCORE_ENOSYS;
    }
    if (!notid && tx_id != 0) {
        struct txn *t = r->c == NULL ? NULL : tx_lookup(r->xs, conn_index(r->xs, r->c), tx_id);
        if (t == NULL) {
            return PVCORE_ENOENT;
        }
        r->t = t;
        r->tx = (uint16_t)((t - r->xs->txns) + 1);
    }
    return fn(r);
}

#define ERRNAME(e) { PVCORE_##e, #e },
static const struct {
    int num;
    const char *name;
} err_names[] = { PVCORE_XSD_ERRORS(ERRNAME) };
#undef ERRNAME

static const char *err_name(int e)
{
    for (size_t i = 0; i < sizeof(err_names) / sizeof(err_names[0]); i++) {
        if (err_names[i].num == e) {
            return err_names[i].name;
        }
    }
    return err_names[0].name; /* "EINVAL", as xenstored for an untranslatable error */
}

/* Answers the complete request in c->in; the queue has room for OUT_MIN bytes. */
static void handle(struct pvcore_xenstore *xs, struct pvcore_xenstore_conn *c)
{
    uint32_t type = rd32(c->in), req_id = rd32(c->in + 4u), tx_id = rd32(c->in + 8u);
    struct req r = { .xs = xs, .c = c, .domid = c->domid, .priv = c->privileged != 0,
                     .pl = c->in + HDR, .len = rd32(c->in + 12u), .post_watch = NONE };
    xs->cur = c;
    xs->rlen = 0;
    int e = dispatch(&r, type, tx_id);
    if (e != 0) {
        const char *name = err_name(e);
        uint32_t nl = strn((const uint8_t *)name, 16) + 1u;
        bool ok = out_room(xs, c, HDR + nl);
        PVCORE_ASSERT(ok);
        (void)ok;
        out_msg(c, PVCORE_XS_ERROR, req_id, tx_id, name, nl, NULL, 0);
    } else {
        bool ok = out_room(xs, c, HDR + xs->rlen);
        PVCORE_ASSERT(ok);
        (void)ok;
        out_msg(c, type, req_id, tx_id, xs->reply, xs->rlen, NULL, 0);
    }
    xs->cur = NULL;
    if (e == 0 && r.post_watch != NONE) {
        /* xenstored fires a new watch once, right after its reply. */
        const struct watch *w = &xs->watches[r.post_watch];
        queue_event(xs, c, watch_path(xs, w) + w->prefix, w->path_len - w->prefix,
                    watch_token(xs, w), w->token_len);
    }
    c->requests++;
}

/* ---- the API ------------------------------------------------------------------------------------ */

struct layout {
    uint64_t recs, buckets, watches, txns, conns, bufs, arena, total;
    uint32_t nbuckets, out;
};

static uint64_t up8(uint64_t v)
{
    return (v + 7u) & ~(uint64_t)7u;
}

static bool layout(const struct pvcore_xenstore_config *cfg, struct layout *l)
{
    if (cfg == NULL || cfg->max_nodes < 2 || cfg->max_nodes > (1u << 24) ||
        cfg->arena_bytes < 64 || cfg->arena_bytes > (1u << 30) || cfg->max_conns < 1 ||
        cfg->max_conns > 4096 || cfg->max_watches > (1u << 24) ||
        cfg->max_transactions > 65535u || cfg->out_bytes < PVCORE_XENSTORE_OUT_MIN ||
        cfg->out_bytes > (1u << 24)) {
        return false;
    }
    l->nbuckets = 16;
    while (l->nbuckets < cfg->max_nodes) {
        l->nbuckets <<= 1;
    }
    l->out = (uint32_t)up8(cfg->out_bytes);
    uint64_t off = up8(sizeof(struct pvcore_xenstore));
    l->recs = off;
    off = up8(off + (uint64_t)cfg->max_nodes * sizeof(struct rec));
    l->buckets = off;
    off = up8(off + (uint64_t)l->nbuckets * 4u);
    l->watches = off;
    off = up8(off + (uint64_t)cfg->max_watches * sizeof(struct watch));
    l->txns = off;
    off = up8(off + (uint64_t)cfg->max_transactions * sizeof(struct txn));
    l->conns = off;
    off = up8(off + (uint64_t)cfg->max_conns * sizeof(struct pvcore_xenstore_conn));
    l->bufs = off;
    off += (uint64_t)cfg->max_conns * (up8(MSG_MAX) + l->out);
    l->arena = off;
    off = up8(off + cfg->arena_bytes);
    l->total = off;
    return off <= (uint64_t)SIZE_MAX;
}

void pvcore_xenstore_default_config(struct pvcore_xenstore_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_nodes = 4096;
    cfg->arena_bytes = 512u * 1024u;
    cfg->max_conns = 16;
    cfg->max_watches = 1024;
    cfg->max_transactions = 64;
    cfg->out_bytes = 16384;
    cfg->quota.nodes = 1000;
    cfg->quota.value_bytes = 2048;
    cfg->quota.watches = 128;
    cfg->quota.transactions = 10;
    cfg->quota.perms = 5;
    cfg->quota.path_bytes = PVCORE_XENSTORE_REL_PATH_MAX;
    cfg->quota.tx_nodes = 1024;
}

size_t pvcore_xenstore_size(const struct pvcore_xenstore_config *cfg)
{
    struct layout l;
    return layout(cfg, &l) ? (size_t)l.total : 0;
}

int pvcore_xenstore_init(void *mem, size_t bytes, const struct pvcore_xenstore_config *cfg,
                         struct pvcore_xenstore **out)
{
    struct layout l;
    if (mem == NULL || out == NULL || ((uintptr_t)mem & 7u) != 0 || !layout(cfg, &l) ||
        bytes < l.total) {
        return -PVCORE_EINVAL;
    }
    uint8_t *base = mem;
    memset(base, 0, (size_t)l.arena);
    struct pvcore_xenstore *xs = mem;
    xs->magic = MAGIC;
    xs->cfg = *cfg;
    xs->recs = (struct rec *)(void *)(base + l.recs);
    xs->buckets = (uint32_t *)(void *)(base + l.buckets);
    xs->nbuckets = l.nbuckets;
    xs->watches = (struct watch *)(void *)(base + l.watches);
    xs->txns = (struct txn *)(void *)(base + l.txns);
    xs->conns = (struct pvcore_xenstore_conn *)(void *)(base + l.conns);
    xs->arena = base + l.arena;
    for (uint32_t i = 0; i < l.nbuckets; i++) {
        xs->buckets[i] = NONE;
    }
    for (uint32_t i = 0; i < cfg->max_nodes; i++) {
        xs->recs[i].next = i + 1u < cfg->max_nodes ? i + 1u : NONE;
    }
    xs->free_head = 0;
    xs->nfree = cfg->max_nodes;
    for (uint32_t i = 0; i < cfg->max_conns; i++) {
        xs->conns[i].in = base + l.bufs + (uint64_t)i * (up8(MSG_MAX) + l.out);
        xs->conns[i].out = xs->conns[i].in + up8(MSG_MAX);
    }
    /* The root: owned by domain 0, no access for anyone else ("n0"). */
    static const uint8_t root_perms[4] = { 0, 0, 0, 0 };
    uint32_t h = fnv("/", 1);
    if (!arena_reserve(xs, blk_size(node_payload(1, 1, 0)))) {
        return -PVCORE_EINVAL;
    }
    uint32_t root = rec_take(xs, h);
    xs->recs[root].kind = R_NODE;
    rec_set(xs, root, "/", 1, root_perms, 1, NONE, NULL, 0);
    xs->recs[root].gen = ++xs->gen;
    *out = xs;
    return 0;
}

static bool valid(const struct pvcore_xenstore *xs)
{
    return xs != NULL && xs->magic == MAGIC;
}

static bool valid_conn(const struct pvcore_xenstore *xs, const struct pvcore_xenstore_conn *c)
{
    return valid(xs) && c != NULL && c->xs == xs && c->used;
}

int pvcore_xenstore_connect(struct pvcore_xenstore *xs, struct pvcore_xenstore_domain_interface *ring,
                            uint16_t domid, bool privileged, struct pvcore_xenstore_conn **out)
{
    if (!valid(xs) || ring == NULL || out == NULL) {
        return -PVCORE_EINVAL;
    }
    if (conn_of(xs, domid) != NULL) {
        return -PVCORE_EEXIST;
    }
    struct pvcore_xenstore_conn *c = NULL;
    for (uint32_t i = 0; i < xs->cfg.max_conns && c == NULL; i++) {
        if (!xs->conns[i].used) {
            c = &xs->conns[i];
        }
    }
    if (c == NULL) {
        return -PVCORE_ENOSPC;
    }
    uint8_t *in = c->in, *outq = c->out;
    memset(c, 0, sizeof(*c));
    c->in = in;
    c->out = outq;
    c->xs = xs;
    c->ring = ring;
    c->domid = domid;
    c->privileged = privileged ? 1u : 0u;
    c->next_txid = 1;
    c->prefix_len = (uint8_t)dom_prefix(c->prefix, domid);
    for (uint32_t i = 0; i < xs->cfg.max_nodes; i++) {
        const struct rec *n = &xs->recs[i];
        if (n->kind == R_NODE && n->tx == 0 && n->owner == domid) {
            c->nodes++;
        }
    }
    c->used = 1;
    /* release: a guest that sees the features sees them before any data moves. */
    atomic_fetch_or_explicit(ring_idx(&ring->server_features),
                             PVCORE_XENSTORE_SERVER_FEATURE_RECONNECTION |
                                 PVCORE_XENSTORE_SERVER_FEATURE_ERROR,
                             memory_order_release);
    *out = c;
    fire_special(xs, "@introduceDomain");
    return 0;
}

void pvcore_xenstore_disconnect(struct pvcore_xenstore *xs, struct pvcore_xenstore_conn *c)
{
    if (!valid_conn(xs, c)) {
        return;
    }
    conn_drop_state(xs, c);
    c->used = 0;
    c->xs = NULL;
    c->ring = NULL;
    fire_special(xs, "@releaseDomain");
}

static void conn_reset(struct pvcore_xenstore *xs, struct pvcore_xenstore_conn *c)
{
    conn_drop_state(xs, c);
    c->in_have = 0;
    c->out_start = c->out_end = c->out_sent = 0;
}

static int conn_break(struct pvcore_xenstore *xs, struct pvcore_xenstore_conn *c, uint32_t err)
{
    conn_reset(xs, c);
    c->error = (uint8_t)err;
    /* release: whatever we wrote before is visible before the guest reads the reason. */
    atomic_store_explicit(ring_idx(&c->ring->error), err, memory_order_release);
    return -PVCORE_EIO;
}

int pvcore_xenstore_process(struct pvcore_xenstore *xs, struct pvcore_xenstore_conn *c)
{
    if (!valid_conn(xs, c)) {
        return -PVCORE_EINVAL;
    }
    struct pvcore_xenstore_domain_interface *ring = c->ring;
    unsigned flags = 0;
    /* acquire: a guest's request for a reset is seen before we touch its ring. */
    if (atomic_load_explicit(ring_idx(&ring->connection), memory_order_acquire) ==
        PVCORE_XENSTORE_RECONNECT) {
        conn_reset(xs, c);
        c->error = 0;
        atomic_store_explicit(ring_idx(&ring->req_cons), 0, memory_order_relaxed);
        atomic_store_explicit(ring_idx(&ring->req_prod), 0, memory_order_relaxed);
        atomic_store_explicit(ring_idx(&ring->rsp_cons), 0, memory_order_relaxed);
        atomic_store_explicit(ring_idx(&ring->rsp_prod), 0, memory_order_relaxed);
        atomic_store_explicit(ring_idx(&ring->error), 0, memory_order_relaxed);
        /* release: the emptied ring is visible before the guest sees it connected. */
        atomic_store_explicit(ring_idx(&ring->connection), PVCORE_XENSTORE_CONNECTED,
                              memory_order_release);
        return PVCORE_XENSTORE_NOTIFY;
    }
    if (c->error != 0) {
        return -PVCORE_EIO;
    }
    int w = flush(xs, c);
    if (w < 0) {
        return conn_break(xs, c, PVCORE_XENSTORE_ERROR_RINGIDX);
    }
    flags |= w > 0 ? PVCORE_XENSTORE_NOTIFY : 0u;
    for (uint32_t done = 0;;) {
        uint32_t have = c->in_have;
        uint32_t want = have < HDR ? HDR - have : HDR + rd32(c->in + 12u) - have;
        if (want > 0) {
            int n = ring_read(c, c->in + have, want);
            if (n < 0) {
                return conn_break(xs, c, PVCORE_XENSTORE_ERROR_RINGIDX);
            }
            flags |= n > 0 ? PVCORE_XENSTORE_NOTIFY : 0u;
            c->in_have += (uint32_t)n;
            if (have < HDR && c->in_have == HDR &&
                rd32(c->in + 12u) > PVCORE_XENSTORE_PAYLOAD_MAX) {
                return conn_break(xs, c, PVCORE_XENSTORE_ERROR_PROTO);
            }
            if ((uint32_t)n < want) {
                break; /* the rest has not arrived yet */
            }
            if (c->in_have == HDR && rd32(c->in + 12u) > 0) {
                continue; /* the header is in: now the payload */
            }
        }
        /* A whole request. Answer it once the queue has room for any reply. */
        if (xs->cfg.out_bytes - out_used(c) < PVCORE_XENSTORE_OUT_MIN) {
            break;
        }
        if (done == BATCH) {
            flags |= PVCORE_XENSTORE_AGAIN;
            break;
        }
        handle(xs, c);
        c->in_have = 0;
        done++;
        w = flush(xs, c);
        if (w < 0) {
            return conn_break(xs, c, PVCORE_XENSTORE_ERROR_RINGIDX);
        }
        flags |= w > 0 ? PVCORE_XENSTORE_NOTIFY : 0u;
    }
    if (xs->others) {
        xs->others = 0;
        flags |= PVCORE_XENSTORE_OTHERS;
    }
    return (int)flags;
}

bool pvcore_xenstore_conn_pending(const struct pvcore_xenstore_conn *c)
{
    return c != NULL && c->used && c->out_end > c->out_start;
}

int pvcore_xenstore_query(const struct pvcore_xenstore_conn *c,
                              struct pvcore_xenstore_conn_info *info)
{
    if (c == NULL || !c->used || info == NULL) {
        return -PVCORE_EINVAL;
    }
    memset(info, 0, sizeof(*info));
    info->domid = c->domid;
    info->privileged = c->privileged;
    info->error = c->error;
    info->nodes = c->nodes;
    info->watches = c->watches;
    info->transactions = c->txs;
    info->out_queued = out_used(c) - c->out_sent;
    info->requests = c->requests;
    info->events_dropped = c->dropped;
    return 0;
}

int pvcore_xenstore_call(struct pvcore_xenstore *xs, uint32_t type, const void *payload, size_t len,
                         void *reply, size_t cap, size_t *reply_len)
{
    if (!valid(xs) || len > PVCORE_XENSTORE_PAYLOAD_MAX || (payload == NULL && len > 0) ||
        (reply == NULL && cap > 0)) {
        return -PVCORE_EINVAL;
    }
    switch (type) {
    case PVCORE_XS_WATCH:
    case PVCORE_XS_UNWATCH:
    case PVCORE_XS_TRANSACTION_START:
    case PVCORE_XS_TRANSACTION_END:
    case PVCORE_XS_RESET_WATCHES:
        return -PVCORE_EINVAL;
    default:
        break;
    }
    struct req r = { .xs = xs, .c = NULL, .domid = 0, .priv = true,
                     .pl = len > 0 ? payload : (const uint8_t *)"", .len = (uint32_t)len,
                     .post_watch = NONE };
    xs->cur = NULL;
    xs->rlen = 0;
    int e = dispatch(&r, type, 0);
    if (e != 0) {
        return -e;
    }
    if (cap > 0) {
        memcpy(reply, xs->reply, xs->rlen < cap ? xs->rlen : cap);
    }
    if (reply_len != NULL) {
        *reply_len = xs->rlen;
    }
    return 0;
}

/* ---- invariants ----------------------------------------------------------------------------------- */

static bool path_ok(const char *p, uint32_t len)
{
    if (len == 0 || len > ABS_MAX || p[0] != '/' || (len > 1 && p[len - 1u] == '/')) {
        return false;
    }
    for (uint32_t i = 0; i < len; i++) {
        if (!path_char((uint8_t)p[i]) || (i > 0 && p[i] == '/' && p[i - 1u] == '/')) {
            return false;
        }
    }
    return p[len] == 0;
}

static const char *check(const struct pvcore_xenstore *xs)
{
    const struct pvcore_xenstore_config *cfg = &xs->cfg;
    uint64_t live = 0;
    uint32_t nfree = 0, linked = 0;

    /* The arena: blocks tile [0, top), each live one owned by what points at it. */
    for (uint32_t off = 0; off < xs->top;) {
        uint32_t size = rd32(xs->arena + off), tag = rd32(xs->arena + off + 4u);
        if (size < BLK_HDR || (size & 3u) != 0 || size > xs->top - off) {
            return "arena block size";
        }
        if (tag != TAG_FREE) {
            if ((tag & TAG_WATCH) != 0) {
                uint32_t wi = tag & ~TAG_WATCH;
                if (wi >= cfg->max_watches || !xs->watches[wi].used || xs->watches[wi].blob != off) {
                    return "arena block of no watch";
                }
            } else if (tag >= cfg->max_nodes || xs->recs[tag].kind == R_FREE ||
                       xs->recs[tag].blob != off) {
                return "arena block of no record";
            }
            live += size;
        }
        off += size;
    }
    if (live != xs->live || xs->top > cfg->arena_bytes) {
        return "arena live bytes";
    }
    for (uint32_t i = xs->free_head; i != NONE; i = xs->recs[i].next) {
        if (i >= cfg->max_nodes || xs->recs[i].kind != R_FREE || ++nfree > cfg->max_nodes) {
            return "free list";
        }
    }
    if (nfree != xs->nfree) {
        return "free count";
    }
    for (uint32_t b = 0; b < xs->nbuckets; b++) {
        for (uint32_t i = xs->buckets[b]; i != NONE; i = xs->recs[i].next) {
            if (i >= cfg->max_nodes || xs->recs[i].kind == R_FREE ||
                (xs->recs[i].hash & (xs->nbuckets - 1u)) != b || ++linked > cfg->max_nodes) {
                return "hash chain";
            }
        }
    }
    if (linked + nfree != cfg->max_nodes) {
        return "records neither free nor indexed";
    }
    bool root = false;
    for (uint32_t i = 0; i < cfg->max_nodes; i++) {
        const struct rec *n = &xs->recs[i];
        if (n->kind == R_FREE) {
            continue;
        }
        if (n->blob == NONE || rd32(xs->arena + n->blob + 4u) != i ||
            rd32(xs->arena + n->blob) < blk_size(node_payload(n->nperms, n->path_len, n->value_len))) {
            return "record block";
        }
        const char *p = rec_path(xs, n);
        if (!path_ok(p, n->path_len) || fnv(p, n->path_len) != n->hash) {
            return "record path";
        }
        if (find(xs, p, n->path_len, n->hash, n->tx) != i) {
            return "duplicate path";
        }
        if (n->value_len > PVCORE_XENSTORE_PAYLOAD_MAX) {
            return "value too long";
        }
        if (n->tx == 0) {
            if (n->kind != R_NODE || n->nperms == 0 || n->owner != perm_domid(rec_perms(xs, n)) ||
                n->gen == 0 || n->gen > xs->gen) {
                return "tree node";
            }
            if (n->path_len == 1) {
                root = true;
            } else {
                uint32_t pl = parent_len(p, n->path_len);
                if (find(xs, p, pl, fnv(p, pl), 0) == NONE) {
                    return "tree node without parent";
                }
            }
        } else {
            if (n->tx > cfg->max_transactions || !xs->txns[n->tx - 1u].used) {
                return "record of no transaction";
            }
            if (n->kind == R_NODE && (n->nperms == 0 || n->owner != perm_domid(rec_perms(xs, n)))) {
                return "transaction copy";
            }
        }
    }
    if (!root) {
        return "no root";
    }
    for (uint32_t ti = 0; ti < cfg->max_transactions; ti++) {
        const struct txn *t = &xs->txns[ti];
        uint32_t k = 0;
        if (!t->used) {
            continue;
        }
        if (t->conn >= cfg->max_conns || !xs->conns[t->conn].used || t->id == 0) {
            return "transaction of no connection";
        }
        for (uint32_t i = 0; i < cfg->max_nodes; i++) {
            k += xs->recs[i].kind != R_FREE && xs->recs[i].tx == ti + 1u;
        }
        if (k != t->nrecs) {
            return "transaction record count";
        }
    }
    for (uint32_t wi = 0; wi < cfg->max_watches; wi++) {
        const struct watch *w = &xs->watches[wi];
        if (!w->used) {
            continue;
        }
        if (w->conn >= cfg->max_conns || !xs->conns[w->conn].used ||
            rd32(xs->arena + w->blob + 4u) != (TAG_WATCH | wi) ||
            watch_path(xs, w)[w->path_len] != 0 || watch_token(xs, w)[w->token_len] != 0 ||
            w->prefix > w->path_len) {
            return "watch";
        }
    }
    for (uint32_t ci = 0; ci < cfg->max_conns; ci++) {
        const struct pvcore_xenstore_conn *c = &xs->conns[ci];
        uint32_t nodes = 0, watches = 0, txs = 0;
        if (!c->used) {
            continue;
        }
        if (c->xs != xs || conn_of(xs, c->domid) != c) {
            return "connection";
        }
        for (uint32_t i = 0; i < cfg->max_nodes; i++) {
            const struct rec *n = &xs->recs[i];
            nodes += n->kind == R_NODE && n->tx == 0 && n->owner == c->domid;
        }
        for (uint32_t wi = 0; wi < cfg->max_watches; wi++) {
            watches += xs->watches[wi].used && xs->watches[wi].conn == ci;
        }
        for (uint32_t ti = 0; ti < cfg->max_transactions; ti++) {
            txs += xs->txns[ti].used && xs->txns[ti].conn == ci;
        }
        if (nodes != c->nodes) {
            return "connection node count";
        }
        if (watches != c->watches || txs != c->txs) {
            return "connection watch or transaction count";
        }
        if (c->in_have > MSG_MAX || (c->in_have >= HDR && rd32(c->in + 12u) > PVCORE_XENSTORE_PAYLOAD_MAX)) {
            return "connection input";
        }
        if (c->out_start > c->out_end || c->out_end > cfg->out_bytes) {
            return "connection queue bounds";
        }
        for (uint32_t off = c->out_start; off < c->out_end;) {
            uint32_t len = rd32(c->out + off + 12u);
            if (c->out_end - off < HDR || len > PVCORE_XENSTORE_PAYLOAD_MAX ||
                len > c->out_end - off - HDR) {
                return "connection queue framing";
            }
            off += HDR + len;
        }
        if (c->out_start < c->out_end && c->out_sent >= HDR + rd32(c->out + c->out_start + 12u)) {
            return "connection queue progress";
        }
    }
    return NULL;
}

int pvcore_xenstore_check(const struct pvcore_xenstore *xs, const char **what)
{
    if (!valid(xs)) {
        return -PVCORE_EINVAL;
    }
    const char *w = check(xs);
    if (what != NULL) {
        *what = w;
    }
    return w == NULL ? 0 : -PVCORE_EIO;
}
