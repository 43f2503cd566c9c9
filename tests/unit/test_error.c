/* Error values and names: the values are Xen's, names round-trip, any int is safe. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include <pvcore/error.h>
#include <pvcore/version.h>

static void test_values_are_xens(void **state)
{
    (void)state;
    /* Spot values from Xen's public errno.h that hypercall paths return most. */
    assert_int_equal(PVCORE_EPERM, 1);
    assert_int_equal(PVCORE_ESRCH, 3);
    assert_int_equal(PVCORE_EINTR, 4);
    assert_int_equal(PVCORE_ENOMEM, 12);
    assert_int_equal(PVCORE_EACCES, 13);
    assert_int_equal(PVCORE_EFAULT, 14);
    assert_int_equal(PVCORE_EBUSY, 16);
    assert_int_equal(PVCORE_EINVAL, 22);
    assert_int_equal(PVCORE_ERANGE, 34);
    assert_int_equal(PVCORE_ENOSYS, 38);
    assert_int_equal(PVCORE_ERESTART, 85);
    assert_int_equal(PVCORE_EOPNOTSUPP, 95);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(pvcore_strerror(0), "OK");
    assert_string_equal(pvcore_strerror(-PVCORE_EINVAL), "EINVAL");
    assert_string_equal(pvcore_strerror(PVCORE_EINVAL), "EINVAL");
    assert_string_equal(pvcore_strerror(-PVCORE_ERESTART), "ERESTART");
    /* Aliases resolve to the primary name. */
    assert_string_equal(pvcore_strerror(-PVCORE_EWOULDBLOCK), "EAGAIN");
    assert_string_equal(pvcore_strerror(-PVCORE_EDEADLOCK), "EDEADLK");
}

static void test_unknown_and_extremes(void **state)
{
    (void)state;
    assert_string_equal(pvcore_strerror(-9999), "E?");
    assert_string_equal(pvcore_strerror(INT_MIN), "E?");
    assert_string_equal(pvcore_strerror(INT_MAX), "E?");
}

static void test_version(void **state)
{
    (void)state;
    assert_int_equal(pvcore_version(), PVCORE_VERSION_NUMBER);
    assert_string_equal(pvcore_version_string(), PVCORE_VERSION_STRING);
    assert_true(strlen(pvcore_version_string()) >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_are_xens),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_unknown_and_extremes),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
