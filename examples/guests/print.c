/*
 * Console output for the example guests: a minimal vsnprintf and a line writer over
 * console_io(CONSOLEIO_write). No libc, and no compiler helper routines: 64-bit decimal
 * conversion divides by ten with shifts and adds, so i386 needs no __udivdi3.
 */
#include "guest.h"

size_t guest_strlen(const char *s)
{
    size_t n = 0;

    while (s[n] != '\0') {
        n++;
    }
    return n;
}

struct out {
    char *buf;
    size_t size;
    size_t len; /* characters produced so far, stored or not */
};

static void put_char(struct out *o, char c)
{
    if (o->len + 1 < o->size) {
        o->buf[o->len] = c;
    }
    o->len++;
}

static void put_str(struct out *o, const char *s)
{
    while (*s != '\0') {
        put_char(o, *s++);
    }
}

/* n / 10 with its remainder, without a division instruction or a libgcc call. */
static uint64_t div10(uint64_t n, unsigned int *rem)
{
    uint64_t q = (n >> 1) + (n >> 2);
    uint64_t r;

    q += q >> 4;
    q += q >> 8;
    q += q >> 16;
    q += q >> 32;
    q >>= 3;
    r = n - ((q << 3) + (q << 1)); /* n - q * 10, at most 19 */
    if (r > 9) {
        q++;
        r -= 10;
    }
    *rem = (unsigned int)r;
    return q;
}

static void put_u64(struct out *o, uint64_t v, unsigned int base)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[24];
    size_t n = 0;
    unsigned int d;

    do {
        if (base == 16) {
            d = (unsigned int)(v & 15u);
            v >>= 4;
        } else {
            v = div10(v, &d);
        }
        tmp[n++] = digits[d];
    } while (v != 0);
    while (n > 0) {
        put_char(o, tmp[--n]);
    }
}

int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };

    while (*fmt != '\0') {
        unsigned int lng = 0; /* 1: l, 2: ll, 3: z */
        char c = *fmt++;

        if (c != '%') {
            put_char(&o, c);
            continue;
        }
        while (*fmt == 'l') {
            lng++;
            fmt++;
        }
        if (*fmt == 'z') {
            lng = 3;
            fmt++;
        }
        c = *fmt;
        if (c == '\0') {
            break;
        }
        fmt++;
        switch (c) {
        case 'd':
        case 'i': {
            long long v;

            if (lng == 0) {
                v = va_arg(ap, int);
            } else if (lng == 1 || lng == 3) {
                v = va_arg(ap, long);
            } else {
                v = va_arg(ap, long long);
            }
            if (v < 0) {
                put_char(&o, '-');
                /* -(v + 1) + 1 cannot overflow, even for the most negative value. */
                put_u64(&o, (uint64_t)(-(v + 1)) + 1u, 10);
            } else {
                put_u64(&o, (uint64_t)v, 10);
            }
            break;
        }
        case 'u':
        case 'x': {
            uint64_t v;

            if (lng == 0) {
                v = va_arg(ap, unsigned int);
            } else if (lng == 1) {
                v = va_arg(ap, unsigned long);
            } else if (lng == 2) {
                v = va_arg(ap, unsigned long long);
            } else {
                v = va_arg(ap, size_t);
            }
            put_u64(&o, v, c == 'x' ? 16u : 10u);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);

            put_str(&o, s != NULL ? s : "(null)");
            break;
        }
        case 'c':
            put_char(&o, (char)va_arg(ap, int));
            break;
        case '%':
            put_char(&o, '%');
            break;
        default:
            /* Unsupported conversion: show it rather than guess an argument type. */
            put_char(&o, '%');
            put_char(&o, c);
            break;
        }
    }
    if (o.size != 0) {
        o.buf[o.len < o.size ? o.len : o.size - 1] = '\0';
    }
    return o.len > 0x7fffffffu ? 0x7fffffff : (int)o.len;
}

int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = guest_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

/* Room for the prefix, a whole 1023-byte command line and the text around it. */
static char line[1536];

void guest_print(const char *fmt, ...)
{
    size_t n = guest_strlen(guest_format.prefix);
    va_list ap;

    for (size_t i = 0; i < n; i++) {
        line[i] = guest_format.prefix[i];
    }
    va_start(ap, fmt);
    guest_vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap); /* keeps a byte for '\n' */
    va_end(ap);
    n = guest_strlen(line);
    line[n++] = '\n';
    hyp_console_io(PVCORE_CONSOLEIO_write, n, line);
}
