/*
 * <pvcore/ring.h> as a guest kernel or a hypervisor core compiles it: freestanding, no
 * libc. Every typed wrapper of five rings is called from an external function, so that
 * all of the template's code is emitted; check-ring-header.sh then requires the object to
 * need nothing at all (no memcpy, no 64-bit division helper on i386).
 */
#include <pvcore/ring.h>

struct kreq64 {
    uint64_t id;
    uint8_t data[56];
};
struct krsp64 {
    uint64_t id;
    int16_t status;
};
PVCORE_RING_DEFINE(k64, struct kreq64, struct krsp64);

struct kreq12 {
    uint32_t a, b, c;
};
PVCORE_RING_DEFINE(k12, struct kreq12, struct kreq12);

struct kreq3 {
    uint8_t x[3];
};
PVCORE_RING_DEFINE(k3, struct kreq3, struct kreq3);

/* The largest entry copied with fixed-size builtins, and one just above it (word loops). */
struct kreq128 {
    uint64_t w[16];
};
PVCORE_RING_DEFINE(k128, struct kreq128, struct kreq128);
struct kreq136 {
    uint64_t w[17];
};
PVCORE_RING_DEFINE(k136, struct kreq136, struct kreq136);

#define USE_ALL(name, req_t, rsp_t)                                                               \
    int use_##name(void *page, size_t bytes, req_t *rq, rsp_t *rs, uint32_t k);                   \
    int use_##name(void *page, size_t bytes, req_t *rq, rsp_t *rs, uint32_t k)                    \
    {                                                                                             \
        struct name##_front f;                                                                    \
        struct name##_back b;                                                                     \
        uint32_t n = 0, got = 0;                                                                  \
        int rc = name##_front_init(&f, page, bytes);                                              \
        if (rc != 0 || name##_back_init(&b, page, bytes) != 0 ||                                  \
            name##_front_attach(&f, page, bytes, k) != 0 || name##_back_attach(&b, page, bytes, k) != 0) { \
            return -1;                                                                            \
        }                                                                                         \
        rc += (int)name##_front_free_requests(&f) + (int)name##_front_full(&f);                   \
        if (name##_front_produce(&f) != NULL) {                                                   \
            *(unsigned char *)name##_front_produce(&f) = 1; /* no struct copy: that is memcpy */  \
        }                                                                                         \
        rc += name##_front_put(&f, rq, k, &got) + (int)got;                                       \
        name##_front_push(&f);                                                                    \
        rc += (int)name##_front_push_check_notify(&f);                                            \
        rc += name##_back_unconsumed(&b, &n) + (int)n;                                            \
        rc += name##_back_copy_request(&b, rq);                                                   \
        rc += name##_back_consume(&b, rq, k, &got) + (int)got;                                    \
        rc += name##_back_final_check(&b, &n) + (int)name##_back_unanswered(&b);                  \
        if (name##_back_produce(&b) != NULL) {                                                    \
            *(unsigned char *)name##_back_produce(&b) = 2;                                        \
        }                                                                                         \
        rc += name##_back_put(&b, rs, k, &got) + (int)got;                                        \
        name##_back_push(&b);                                                                     \
        rc += (int)name##_back_push_check_notify(&b);                                             \
        rc += name##_front_unconsumed(&f, &n) + name##_front_copy_response(&f, rs);               \
        rc += name##_front_consume(&f, rs, k, &got) + name##_front_final_check(&f, &n);           \
        rc += (int)pvcore_ring_nr_slots(bytes, k);                                                \
        rc += pvcore_ring_front_put(&f.ring, bytes / 64u, (size_t)k, rq, k, &got);                 \
        return rc;                                                                                \
    }

USE_ALL(k64, struct kreq64, struct krsp64)
USE_ALL(k12, struct kreq12, struct kreq12)
USE_ALL(k3, struct kreq3, struct kreq3)
USE_ALL(k128, struct kreq128, struct kreq128)
USE_ALL(k136, struct kreq136, struct kreq136)
