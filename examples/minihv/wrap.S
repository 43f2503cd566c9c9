/*
 * wrap.S: the ELF32 container for minihv (QEMU's multiboot loader refuses ELF64). It
 * holds the 64-bit image as flat bytes from physical 1 MiB (MINIHV_BIN) and reserves its
 * .bss (MINIHV_BSS bytes) so the loader clears it and places modules after it.
 */
    .section .image, "awx", @progbits
    .incbin MINIHV_BIN
    .section .bss, "aw", @nobits
    .skip MINIHV_BSS
    .section .note.GNU-stack, "", @progbits
