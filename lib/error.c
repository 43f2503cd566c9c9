#include <pvcore/error.h>

#include <stddef.h>

struct errname {
    int value;
    const char *name;
};

/*
 * Aliases (EWOULDBLOCK = EAGAIN, EDEADLOCK = EDEADLK) are listed after the name they
 * alias, so a lookup returns the primary name.
 */
#define E(x) { PVCORE_##x, #x }
static const struct errname errnames[] = {
    E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG), E(ENOEXEC),
    E(EBADF), E(ECHILD), E(EAGAIN), E(EWOULDBLOCK), E(ENOMEM), E(EACCES), E(EFAULT),
    E(EBUSY), E(EEXIST), E(EXDEV), E(ENODEV), E(ENOTDIR), E(EISDIR), E(EINVAL),
    E(ENFILE), E(EMFILE), E(ENOSPC), E(EROFS), E(EMLINK), E(EDOM), E(ERANGE),
    E(EDEADLK), E(EDEADLOCK), E(ENAMETOOLONG), E(ENOLCK), E(ENOSYS), E(ENOTEMPTY),
    E(ENODATA), E(ETIME), E(EBADMSG), E(EOVERFLOW), E(EILSEQ), E(ERESTART),
    E(ENOTSOCK), E(EMSGSIZE), E(EOPNOTSUPP), E(EADDRINUSE), E(EADDRNOTAVAIL),
    E(ENOBUFS), E(EISCONN), E(ENOTCONN), E(ETIMEDOUT), E(ECONNREFUSED),
};
#undef E

const char *pvcore_strerror(int err)
{
    size_t i;

    if (err == 0) {
        return "OK";
    }
    /* Negate in unsigned arithmetic: -INT_MIN would overflow. */
    unsigned int mag = err < 0 ? 0u - (unsigned int)err : (unsigned int)err;
    for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++) {
        if ((unsigned int)errnames[i].value == mag) {
            return errnames[i].name;
        }
    }
    return "E?";
}
