#!/bin/sh
# ABI stability (issue 13, point 3): compares the built libpvcore.so with the committed
# baseline of its version, abi/libpvcore-MAJOR.MINOR.abi (abidw XML), using Debian's
# abigail-tools. Fails on any change abidiff reports about the existing interface (a
# function removed or changed, a public structure's layout changed) and when no baseline
# exists for this version. New functions are allowed: adding one is compatible (and goes
# through lib/pvcore.map.in, ctest symbols.map). How to bump: docs/sdk.md.
# usage: check-abi.sh <libpvcore.so> <abi dir> <MAJOR.MINOR>
set -eu
so=$1 abidir=$2 ver=$3
base=$abidir/libpvcore-$ver.abi
if ! command -v abidiff > /dev/null; then
    echo "FAIL: abidiff not found (Debian package abigail-tools: run scripts/install-deps.sh)"; exit 1
fi
if [ ! -f "$base" ]; then
    echo "FAIL: no ABI baseline for version $ver: $base"
    echo "  after bumping the version, commit the new baseline (docs/sdk.md, 'Bumping the ABI'):"
    echo "  abidw --no-corpus-path --no-show-locs --out-file $base $so"
    exit 1
fi
# The baseline is the one of this soname: a baseline is never regenerated for the same
# version, it comes with a new one.
grep -q "soname='libpvcore.so.$ver'" "$base" || {
    echo "FAIL: $base is not the ABI of libpvcore.so.$ver (its soname differs)"; exit 1; }
out=$so.abidiff.txt
# The shared object must carry debug info for a meaningful comparison.
if ! readelf -S -W "$so" | grep -q '\.debug_info'; then
    echo "FAIL: $so has no debug info (build with Debug or RelWithDebInfo)"; exit 1
fi
set +e
# No --headers-dir: the baseline has no source locations (so it does not depend on where
# the tree was checked out), and abidiff filtering by header would then drop every change.
# Only what is reachable from an exported function counts; the library's own structures sit
# behind opaque public types, so internal changes do not.
abidiff --no-show-locs --no-added-syms "$base" "$so" > "$out" 2>&1
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
    cat "$out"
    if [ $((rc & 3)) -ne 0 ]; then echo "FAIL: abidiff could not compare (status $rc)"; exit 1; fi
    if [ $((rc & 8)) -ne 0 ]; then what="an incompatible ABI change"; else what="an ABI change"; fi
    echo "FAIL: $what against $base (abidiff status $rc)."
    echo "  Either undo it, or bump the version in CMakeLists.txt and commit the new baseline"
    echo "  abi/libpvcore-<new MAJOR.MINOR>.abi with it (docs/sdk.md, 'Bumping the ABI')."
    exit 1
fi
fns=$(grep -c '<elf-symbol ' "$base" || true)
echo "ABI: $so matches $base ($fns ELF symbols in the baseline)"
