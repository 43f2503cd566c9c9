#!/bin/sh
# The shared library exports pvcore_* and nothing else (besides the version node).
# usage: check-exports.sh <libpvcore.so>
set -eu
lib=$1
all=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | sort -u)
bad=$(printf '%s\n' "$all" | grep -v '^pvcore_' | grep -v '^PVCORE_[0-9.]*$' | grep -v '^$' || true)
count=$(printf '%s\n' "$all" | grep -c '^pvcore_' || true)
versioned=$(nm -D --defined-only --with-symbol-versions "$lib" 2>/dev/null | grep -c '@@PVCORE_' || true)
echo "exported pvcore_* symbols: $count (with a PVCORE_ version node: $versioned)"
if [ -n "$bad" ]; then
    echo "FAIL: symbols exported that are not pvcore_*:"; printf '%s\n' "$bad"; exit 1
fi
[ "$count" -gt 0 ] || { echo "FAIL: no pvcore_* symbols exported"; exit 1; }
[ "$versioned" -ge "$count" ] || { echo "FAIL: some symbols lack the PVCORE_ version node"; exit 1; }
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
echo "soname: $soname"
case $soname in libpvcore.so.*) ;; *) echo "FAIL: unexpected soname"; exit 1 ;; esac
