#!/bin/sh
# <pvcore/ring.h> compiles freestanding (a guest kernel's or a hypervisor core's flags) at
# -O0 and -O2, and the object needs nothing at all: no memcpy, no libc, no compiler
# runtime helper such as __udivdi3 on i386.
# usage: check-ring-header.sh <cc> <source> <include dir> <work dir> <flags...>
set -eu
cc=$1 src=$2 inc=$3 work=$4
shift 4
mkdir -p "$work"
for o in -O0 -O2; do
    "$cc" -std=c11 $o -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Werror "$@" \
        -I"$inc" -c "$src" -o "$work/ring_kernel.o"
    undef=$(nm -u "$work/ring_kernel.o" | awk '{print $2}')
    if [ -n "$undef" ]; then
        echo "FAIL ($o $*): the ring template needs:"; echo "$undef"; exit 1
    fi
done
echo "ring template: freestanding ($*) at -O0 and -O2, nothing undefined"
