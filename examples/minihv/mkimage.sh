#!/bin/sh
# mkimage.sh IN64 OUT32 CC OBJCOPY NM LD SRCDIR
# Turns minihv's 64-bit ELF into the ELF32 multiboot image QEMU loads.
set -eu
in=$1 out=$2 cc=$3 objcopy=$4 nm=$5 ld=$6 src=$7
tmp=$out.tmp
"$objcopy" -O binary "$in" "$tmp.bin"
sym() { "$nm" "$in" | awk -v s="$1" '$3 == s { print $1 }'; }
entry=$(sym start32)
end=$(sym _image_end)
[ -n "$entry" ] && [ -n "$end" ] || { echo "mkimage: symbols missing" >&2; exit 1; }
# _image_end is a direct-map address; its physical address is the low 32 bits (taken
# as text: shell arithmetic is signed 64-bit).
end_phys=$(( 0x$(printf %s "$end" | tail -c 8) ))
size=$(wc -c < "$tmp.bin")
bss=$(( end_phys - 0x100000 - size ))
[ "$bss" -ge 0 ] || { echo "mkimage: bad layout" >&2; exit 1; }
"$cc" -m32 -c -o "$tmp.o" -DMINIHV_BIN="\"$tmp.bin\"" -DMINIHV_BSS="$bss" "$src/wrap.S"
"$ld" -m elf_i386 -T "$src/wrap.ld" --defsym=MINIHV_ENTRY=0x$entry -z max-page-size=0x1000 \
    -z noexecstack --no-warn-rwx-segments -o "$out" "$tmp.o"
rm -f "$tmp.bin" "$tmp.o"
