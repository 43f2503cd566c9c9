/*
 * The console back-end (<pvcore/console.h>) as a hostile guest sees it: exact bytes and
 * indices after every call, wrap-around of the rings and of the 32-bit indices, partial
 * drains and fills, broken indices refused without a byte moved, and a guest producing
 * on another thread while the back-end drains (run under ThreadSanitizer too).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <pvcore/console.h>
#include <pvcore/error.h>

/* The page as the guest maps it, followed by a guard the back-end must never touch. */
struct page {
    struct pvcore_xencons_interface intf;
    uint8_t rest[4096 - sizeof(struct pvcore_xencons_interface)];
};

static struct page *new_page(void)
{
    struct page *p = aligned_alloc(4096, sizeof(struct page));
    assert_non_null(p);
    memset(p, 0xA5, sizeof(*p));
    p->intf.in_cons = p->intf.in_prod = p->intf.out_cons = p->intf.out_prod = 0;
    return p;
}

static void assert_guard(const struct page *p)
{
    for (size_t i = 0; i < sizeof(p->rest); i++) {
        assert_int_equal(p->rest[i], 0xA5);
    }
}

/* The guest writes `n` bytes of output at its producer index. */
static void guest_out(struct pvcore_xencons_interface *c, const void *data, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        c->out[PVCORE_MASK_XENCONS_IDX(c->out_prod + i, c->out)] = ((const char *)data)[i];
    }
    c->out_prod += n;
}

static void test_drain_empty_and_args(void **state)
{
    (void)state;
    struct page *p = new_page();
    char buf[16];
    assert_int_equal(pvcore_console_drain(&p->intf, buf, sizeof(buf)), 0);
    assert_int_equal(p->intf.out_cons, 0);
    assert_int_equal(pvcore_console_drain(NULL, buf, sizeof(buf)), -PVCORE_EINVAL);
    assert_int_equal(pvcore_console_drain(&p->intf, NULL, 1), -PVCORE_EINVAL);
    assert_int_equal(pvcore_console_drain(&p->intf, NULL, 0), 0);
    assert_int_equal(pvcore_console_fill(NULL, "x", 1), -PVCORE_EINVAL);
    assert_int_equal(pvcore_console_fill(&p->intf, NULL, 1), -PVCORE_EINVAL);
    assert_int_equal(pvcore_console_fill(&p->intf, NULL, 0), 0);
    assert_int_equal(p->intf.in_prod, 0);
    assert_guard(p);
    free(p);
}

static void test_drain_simple(void **state)
{
    (void)state;
    struct page *p = new_page();
    char buf[64];
    guest_out(&p->intf, "Welcome to GRUB!\n", 17);
    memset(buf, 0, sizeof(buf));
    assert_int_equal(pvcore_console_drain(&p->intf, buf, sizeof(buf)), 17);
    assert_memory_equal(buf, "Welcome to GRUB!\n", 17);
    assert_int_equal(buf[17], 0); /* nothing past the count */
    assert_int_equal(p->intf.out_cons, 17);
    assert_int_equal(p->intf.out_prod, 17);
    /* Drained: the next call has nothing and changes nothing. */
    assert_int_equal(pvcore_console_drain(&p->intf, buf, sizeof(buf)), 0);
    assert_int_equal(p->intf.out_cons, 17);
    assert_guard(p);
    free(p);
}

static void test_drain_partial_cap(void **state)
{
    (void)state;
    struct page *p = new_page();
    char buf[8];
    guest_out(&p->intf, "0123456789abcdef", 16);
    assert_int_equal(pvcore_console_drain(&p->intf, buf, 0), 0);
    assert_int_equal(p->intf.out_cons, 0);
    assert_int_equal(pvcore_console_drain(&p->intf, buf, 5), 5);
    assert_memory_equal(buf, "01234", 5);
    assert_int_equal(p->intf.out_cons, 5);
    assert_int_equal(pvcore_console_drain(&p->intf, buf, 8), 8);
    assert_memory_equal(buf, "56789abc", 8);
    assert_int_equal(pvcore_console_drain(&p->intf, buf, 8), 3);
    assert_memory_equal(buf, "def", 3);
    assert_int_equal(p->intf.out_cons, 16);
    free(p);
}

/* Output that wraps the end of out[], with indices that wrap 2^32 as well. */
static void test_drain_wraps(void **state)
{
    (void)state;
    static const uint32_t starts[] = { 2040u, 0xFFFFFFF0u, 0xFFFFF800u, 0x7FFFFFFFu };
    for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
        struct page *p = new_page();
        char in[2048], out[2048];
        for (size_t i = 0; i < sizeof(in); i++) {
            in[i] = (char)(i * 7 + s);
        }
        p->intf.out_cons = p->intf.out_prod = starts[s];
        guest_out(&p->intf, in, 100);
        assert_int_equal(pvcore_console_drain(&p->intf, out, sizeof(out)), 100);
        assert_memory_equal(out, in, 100);
        assert_int_equal(p->intf.out_cons, starts[s] + 100u);
        /* A completely full ring (2048 bytes outstanding) drains whole. */
        guest_out(&p->intf, in, 2048);
        assert_int_equal(p->intf.out_prod - p->intf.out_cons, 2048);
        assert_int_equal(pvcore_console_drain(&p->intf, out, sizeof(out)), 2048);
        assert_memory_equal(out, in, 2048);
        assert_int_equal(p->intf.out_cons, p->intf.out_prod);
        assert_guard(p);
        free(p);
    }
}

/* A guest claiming more output than the ring holds: refused, nothing read or consumed. */
static void test_drain_hostile_indices(void **state)
{
    (void)state;
    static const uint32_t gaps[] = { 2049u, 4096u, 0x80000000u, 0xFFFFFFFFu };
    for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
        struct page *p = new_page();
        char buf[4096];
        memset(buf, 0x5A, sizeof(buf));
        p->intf.out_cons = 1000;
        p->intf.out_prod = 1000u + gaps[g];
        assert_int_equal(pvcore_console_drain(&p->intf, buf, sizeof(buf)), -PVCORE_EIO);
        assert_int_equal(p->intf.out_cons, 1000);
        assert_int_equal(p->intf.out_prod, 1000u + gaps[g]);
        for (size_t i = 0; i < sizeof(buf); i++) {
            assert_int_equal((uint8_t)buf[i], 0x5A);
        }
        /* The guest repairs its index: served again. */
        p->intf.out_prod = 1003;
        assert_int_equal(pvcore_console_drain(&p->intf, buf, sizeof(buf)), 3);
        assert_guard(p);
        free(p);
    }
}

static void test_fill(void **state)
{
    (void)state;
    struct page *p = new_page();
    memset(p->intf.out, 0x11, sizeof(p->intf.out));
    assert_int_equal(pvcore_console_fill(&p->intf, "halt\r", 5), 5);
    assert_memory_equal(p->intf.in, "halt\r", 5);
    assert_int_equal(p->intf.in_prod, 5);
    assert_int_equal(p->intf.in_cons, 0);
    assert_int_equal((uint8_t)p->intf.in[5], 0xA5); /* nothing past the count */
    /* The guest consumed 3; the ring has 1024 - 2 bytes free: a 2000-byte offer takes 1022. */
    p->intf.in_cons = 3;
    char big[2000];
    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (char)i;
    }
    assert_int_equal(pvcore_console_fill(&p->intf, big, sizeof(big)), 1022);
    assert_int_equal(p->intf.in_prod, 1027);
    for (uint32_t i = 0; i < 1022; i++) {
        assert_int_equal(p->intf.in[(5u + i) & 1023u], big[i]);
    }
    /* Full: nothing more is taken. */
    assert_int_equal(pvcore_console_fill(&p->intf, big, 1), 0);
    assert_int_equal(p->intf.in_prod, 1027);
    /* Fill never writes the output ring. */
    for (size_t i = 0; i < sizeof(p->intf.out); i++) {
        assert_int_equal((uint8_t)p->intf.out[i], 0x11);
    }
    assert_guard(p);
    free(p);
}

static void test_fill_wraps(void **state)
{
    (void)state;
    struct page *p = new_page();
    p->intf.in_cons = p->intf.in_prod = 0xFFFFFFFCu; /* offset 1020, and 2^32 in 4 bytes */
    assert_int_equal(pvcore_console_fill(&p->intf, "abcdefgh", 8), 8);
    assert_memory_equal(&p->intf.in[1020], "abcd", 4);
    assert_memory_equal(&p->intf.in[0], "efgh", 4);
    assert_int_equal(p->intf.in_prod, 4);
    free(p);
}

/* A guest that says it consumed more than was produced, or leaves the producer more than
 * 1024 ahead: refused, nothing written. */
static void test_fill_hostile_indices(void **state)
{
    (void)state;
    struct page *p = new_page();
    uint8_t before[1024];
    p->intf.in_cons = 50;
    p->intf.in_prod = 40; /* in_cons ahead of in_prod */
    memcpy(before, p->intf.in, sizeof(before));
    assert_int_equal(pvcore_console_fill(&p->intf, "x", 1), -PVCORE_EIO);
    assert_int_equal(p->intf.in_prod, 40);
    assert_memory_equal(p->intf.in, before, sizeof(before));
    p->intf.in_cons = 0;
    p->intf.in_prod = 1025;
    assert_int_equal(pvcore_console_fill(&p->intf, "x", 1), -PVCORE_EIO);
    assert_int_equal(p->intf.in_prod, 1025);
    assert_memory_equal(p->intf.in, before, sizeof(before));
    /* Exactly full is consistent, with no room. */
    p->intf.in_prod = 1024;
    assert_int_equal(pvcore_console_fill(&p->intf, "x", 1), 0);
    assert_guard(p);
    free(p);
}

/* A guest CPU writes a numbered stream while the back-end drains it on another: every
 * byte arrives once, in order, and the guest never overruns the ring. */
#define STREAM (1u << 20)

struct race {
    struct pvcore_xencons_interface *c;
};

static void *guest_thread(void *arg)
{
    struct race *r = arg;
    _Atomic uint32_t *prod = (_Atomic uint32_t *)(void *)&r->c->out_prod;
    _Atomic uint32_t *cons = (_Atomic uint32_t *)(void *)&r->c->out_cons;
    uint32_t sent = 0;
    while (sent < STREAM) {
        uint32_t p = atomic_load_explicit(prod, memory_order_relaxed);
        uint32_t free_bytes = 2048u - (p - atomic_load_explicit(cons, memory_order_acquire));
        uint32_t n = free_bytes < STREAM - sent ? free_bytes : STREAM - sent;
        for (uint32_t i = 0; i < n; i++) {
            _Atomic char *slot = (_Atomic char *)&r->c->out[(p + i) & 2047u];
            atomic_store_explicit(slot, (char)(sent + i), memory_order_relaxed);
        }
        atomic_store_explicit(prod, p + n, memory_order_release);
        sent += n;
    }
    return NULL;
}

static void test_concurrent_guest(void **state)
{
    (void)state;
    struct page *p = new_page();
    struct race r = { &p->intf };
    pthread_t th;
    uint32_t got = 0;
    char buf[700];
    assert_int_equal(pthread_create(&th, NULL, guest_thread, &r), 0);
    while (got < STREAM) {
        int n = pvcore_console_drain(&p->intf, buf, sizeof(buf));
        assert_true(n >= 0);
        for (int i = 0; i < n; i++) {
            assert_int_equal((uint8_t)buf[i], (uint8_t)(got + (uint32_t)i));
        }
        got += (uint32_t)n;
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(got, STREAM);
    assert_int_equal(p->intf.out_cons, STREAM);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drain_empty_and_args),
        cmocka_unit_test(test_drain_simple),
        cmocka_unit_test(test_drain_partial_cap),
        cmocka_unit_test(test_drain_wraps),
        cmocka_unit_test(test_drain_hostile_indices),
        cmocka_unit_test(test_fill),
        cmocka_unit_test(test_fill_wraps),
        cmocka_unit_test(test_fill_hostile_indices),
        cmocka_unit_test(test_concurrent_guest),
    };
    return cmocka_run_group_tests_name("console", tests, NULL, NULL);
}
