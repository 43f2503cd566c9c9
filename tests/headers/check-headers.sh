#!/bin/sh
# Compiles every public header on its own, as the first and only include of a translation
# unit, as C99, C11 and C++11 (and C11 with -m32), with strict warnings (-Wshadow too) as
# errors.
# usage: check-headers.sh <src include dir> <build include dir> <cc> <c++> <work dir>
set -eu
src=$1 bin=$2 cc=$3 cxx=$4 work=$5
mkdir -p "$work"
flags="-Wall -Wextra -Wpedantic -Wshadow -Werror -I$src -I$bin -fsyntax-only"
n=0 fail=0
for h in $(cd "$src" && find pvcore -name '*.h' | sort) $(cd "$bin" && find pvcore -name '*.h' | sort); do
    # Included twice (include guards), then one declaration so the unit is never empty.
    printf '#include <%s>\n#include <%s>\ntypedef int pvcore_header_check_t;\n' "$h" "$h" > "$work/one.c"
    cp "$work/one.c" "$work/one.cpp"
    for mode in "$cc -x c -std=c99" "$cc -x c -std=c11" "$cc -x c -std=c11 -m32" "$cxx -x c++ -std=c++11"; do
        n=$((n + 1))
        case $mode in *c++*) f=$work/one.cpp ;; *) f=$work/one.c ;; esac
        if ! $mode $flags "$f" 2> "$work/err.txt"; then
            fail=$((fail + 1))
            echo "FAIL: $h with $mode"
            cat "$work/err.txt"
        fi
    done
done
echo "headers: $((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$n" -gt 0 ]
