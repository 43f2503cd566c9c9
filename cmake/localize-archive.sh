#!/bin/sh
# Symbol hygiene for the static archives (issue 13, point 2): links every member of an
# archive into one relocatable object (ld -r through the compiler driver, so -m32 picks the
# right emulation), makes every symbol local but pvcore_* and PVCORE_*, and replaces the archive by that single object. Calls
# between the library's own files are resolved inside the object, so internal helpers such
# as frame_free no longer clash with an embedder's. Undefined references (memcpy, memset,
# memcmp; sanitizer runtimes in those builds) are left as they are. Visibility is not used:
# the guest archives are built hidden without PVCORE_API, and a hidden symbol still links
# statically; the prefix is the rule.
# usage: localize-archive.sh <cc> <ar> <objcopy> <archive> [<driver flag>...]
set -eu
cc=$1 ar=$2 objcopy=$3 archive=$4
shift 4
work=$archive.localize.d
rm -rf "$work"; mkdir -p "$work"
name=$(basename "$archive" .a)
"$cc" "$@" -nostdlib -r -Wl,--whole-archive "$archive" -Wl,--no-whole-archive -o "$work/$name.o"
"$objcopy" --wildcard --keep-global-symbol='pvcore_*' \
    --keep-global-symbol='PVCORE_*' "$work/$name.o"
rm -f "$work/$name.a"
"$ar" rcs "$work/$name.a" "$work/$name.o"
mv -f "$work/$name.a" "$archive"
rm -rf "$work"
