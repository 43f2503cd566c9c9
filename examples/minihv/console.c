/* console.c: the serial port (COM1), a small printf, and leaving QEMU. */
#include <pvcore/arch/x86.h>

#include "minihv.h"

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4

void con_init(void)
{
    pvcore_x86_outb(COM1 + 1, 0x00); /* no interrupts */
    pvcore_x86_outb(COM1 + 3, 0x80); /* divisor latch */
    pvcore_x86_outb(COM1 + 0, 0x01); /* 115200 baud */
    pvcore_x86_outb(COM1 + 1, 0x00);
    pvcore_x86_outb(COM1 + 3, 0x03); /* 8N1 */
    pvcore_x86_outb(COM1 + 2, 0xC7); /* FIFO on */
}

void con_putc(char c)
{
    unsigned spin = 100000;

    if (c == '\n') {
        con_putc('\r');
    }
    while (!(pvcore_x86_inb(COM1 + 5) & 0x20) && --spin) {
    }
    pvcore_x86_outb(COM1, (uint8_t)c);
}

/* A byte of serial input, or -1 when none is waiting. */
int con_getc(void)
{
    if (!(pvcore_x86_inb(COM1 + 5) & 0x01)) { /* LSR: data ready */
        return -1;
    }
    return pvcore_x86_inb(COM1);
}

void con_write(const char *s, size_t n)
{
    while (n--) {
        con_putc(*s++);
    }
}

static void put_num(uint64_t v, unsigned base, int width, char pad)
{
    char buf[24];
    int i = 0;

    do {
        buf[i++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (i < width) {
        buf[i++] = pad;
    }
    while (i) {
        con_putc(buf[--i]);
    }
}

/* %s %c %d %u %x %lx %llx %ld %lu %p, with an optional zero-pad width. */
void con_vprintf(const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        int width = 0, longs = 0;
        char pad = ' ';

        if (*fmt != '%') {
            con_putc(*fmt);
            continue;
        }
        fmt++;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9') {
            width = width * 10 + (*fmt++ - '0');
        }
        while (*fmt == 'l') {
            longs++;
            fmt++;
        }
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            con_write(s ? s : "(null)", strlen(s ? s : "(null)"));
            break;
        }
        case 'c':
            con_putc((char)va_arg(ap, int));
            break;
        case 'd': {
            int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
            if (v < 0) {
                con_putc('-');
                v = -v;
            }
            put_num((uint64_t)v, 10, width, pad);
            break;
        }
        case 'u':
            put_num(longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad);
            break;
        case 'x':
            put_num(longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad);
            break;
        case 'p':
            con_write("0x", 2);
            put_num((uint64_t)(uintptr_t)va_arg(ap, void *), 16, 16, '0');
            break;
        case '%':
            con_putc('%');
            break;
        default:
            con_putc('?');
            break;
        }
    }
}

void con_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    con_vprintf(fmt, ap);
    va_end(ap);
}

void hv_exit(uint32_t code)
{
    con_printf("minihv: exit code 0x%x\n", code);
    /* isa-debug-exit: QEMU exits with status (code << 1) | 1. */
    pvcore_x86_outl(DEBUG_EXIT_PORT, code);
    for (;;) {
        pvcore_x86_cli();
        pvcore_x86_hlt();
    }
}

void panic(const char *fmt, ...)
{
    va_list ap;

    con_printf("minihv: PANIC: ");
    va_start(ap, fmt);
    con_vprintf(fmt, ap);
    va_end(ap);
    con_printf("\n");
    hv_exit(EXIT_PANIC);
}
