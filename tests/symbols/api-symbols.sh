#!/bin/sh
# Prints, sorted, every function the public headers of the shared library declare with
# PVCORE_API: the declarations with visibility("default") in every include/pvcore/*.h
# (whether <pvcore/pvcore.h> includes it or not), preprocessed. <pvcore/host_backend.h>
# (the pvcore_host archive), <pvcore/arch/x86.h> and the guest headers are not in the .so.
# usage: api-symbols.sh <cc> <include dir> <generated include dir>
set -eu
cc=$1 inc=$2 geninc=$3
# One declaration a line; the marked ones lose their attributes, and the first identifier
# followed by '(' is the function's name.
for h in "$inc"/pvcore/*.h; do
    case $(basename "$h") in host_backend.h) continue ;; esac
    printf '#include <pvcore/%s>\n' "$(basename "$h")"
done | "$cc" -std=c11 -E -P -I"$inc" -I"$geninc" -x c - |
    tr '\n' ' ' | tr ';{}' '\n\n\n' |
    sed -n 's/__attribute__((visibility("default")))/@API@/p' | grep '@API@' |
    sed 's/__attribute__ *(([^()]*\(([^()]*)\)*[^()]*))//g' |
    sed -n 's/^[^(]*[^A-Za-z0-9_]\([A-Za-z_][A-Za-z0-9_]*\)[[:space:]]*(.*/\1/p' |
    sort -u
