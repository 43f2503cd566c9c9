#!/bin/sh
# Links every object of a freestanding build of the core with -nostdlib into one
# relocatable object and fails if anything remains undefined beyond memcpy, memset and
# memcmp: no other libc function and no compiler runtime helper (e.g. __udivdi3 on i386).
# usage: check-freestanding.sh <x86_64|i386> <libpvcore_freestanding.a> <cc> <work dir>
set -eu
arch=$1 lib=$2 cc=$3 work=$4
rm -rf "$work"; mkdir -p "$work"
case $arch in
    x86_64) m=-m64; fmt=elf64-x86-64 ;;
    i386) m=-m32; fmt=elf32-i386 ;;
    *) echo "unknown arch $arch"; exit 2 ;;
esac
"$cc" $m -nostdlib -ffreestanding -r -Wl,--whole-archive "$lib" -Wl,--no-whole-archive -o "$work/core.o"
got=$(objdump -f "$work/core.o" | sed -n 's/.*file format //p')
[ "$got" = "$fmt" ] || { echo "FAIL: $work/core.o is $got, expected $fmt"; exit 1; }
undef=$(nm -u "$work/core.o" | awk '{print $2}' | sort -u)
bad=$(printf '%s\n' "$undef" | grep -v -x -e memcpy -e memset -e memcmp -e '' || true)
defined=$(nm --defined-only "$work/core.o" | grep -c ' [TtDdRrBb] ' || true)
echo "freestanding $arch: $defined symbols defined; undefined: $(echo $undef)"
if [ -n "$bad" ]; then
    echo "FAIL: the freestanding core needs: $(echo $bad)"; exit 1
fi
