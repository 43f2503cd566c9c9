#!/bin/sh
# <pvcore/ring.h> compiles freestanding (a guest kernel's or a hypervisor core's flags) at
# -O0, -Os, -O2 and -O3, with the build's compiler and with Clang when it is installed
# (each expands fixed-size copies by its own rules), and the object needs nothing at all:
# no memcpy, no libc, no compiler runtime helper such as __udivdi3 on i386.
# usage: check-ring-header.sh <cc> <source> <include dir> <work dir> <flags...>
set -eu
cc=$1 src=$2 inc=$3 work=$4
shift 4
mkdir -p "$work"
compilers=$cc
if [ "$(basename "$cc")" != clang ] && command -v clang >/dev/null 2>&1; then
    compilers="$cc clang"
fi
for c in $compilers; do
    for o in -O0 -Os -O2 -O3; do
        "$c" -std=c11 $o -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Werror "$@" \
            -I"$inc" -c "$src" -o "$work/ring_kernel.o"
        undef=$(nm -u "$work/ring_kernel.o" | awk '{print $2}' | grep -v '^_GLOBAL_OFFSET_TABLE_$' || true)
        if [ -n "$undef" ]; then
            echo "FAIL ($c $o $*): the ring template needs:"; echo "$undef"; exit 1
        fi
    done
done
echo "ring template: freestanding ($*) with $compilers at -O0, -Os, -O2 and -O3, nothing undefined"
