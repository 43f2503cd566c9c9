#include <pvcore/version.h>

unsigned int pvcore_version(void)
{
    return PVCORE_VERSION_NUMBER;
}

const char *pvcore_version_string(void)
{
    return PVCORE_VERSION_STRING;
}
