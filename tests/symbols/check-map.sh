#!/bin/sh
# The explicit symbol map (lib/pvcore.map.in) names exactly the functions the headers
# declare PVCORE_API, and the shared object exports exactly those (plus its version node).
# usage: check-map.sh <pvcore.map.in> <cc> <include dir> <generated include dir> <libpvcore.so>
set -eu
map=$1 cc=$2 inc=$3 geninc=$4 lib=$5
here=$(dirname "$0")
tmp=${TMPDIR:-/tmp}/pvcore-check-map.$$
mkdir -p "$tmp"; trap 'rm -rf "$tmp"' EXIT
sh "$here/api-symbols.sh" "$cc" "$inc" "$geninc" > "$tmp/api"
sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);[[:space:]]*$/\1/p' "$map" | sort -u > "$tmp/map"
nm -D --defined-only "$lib" | awk 'NF == 3 && $2 != "A" {print $3}' | sed 's/@.*//' | sort -u > "$tmp/so"
rc=0
missing=$(comm -23 "$tmp/api" "$tmp/map")
extra=$(comm -13 "$tmp/api" "$tmp/map")
unexported=$(comm -23 "$tmp/map" "$tmp/so")
stray=$(comm -13 "$tmp/map" "$tmp/so")
[ -z "$missing" ] || { echo "FAIL: declared PVCORE_API but not in $map (add them: every export is a decision):"; echo "$missing"; rc=1; }
[ -z "$extra" ] || { echo "FAIL: in $map but no header declares them PVCORE_API:"; echo "$extra"; rc=1; }
[ -z "$unexported" ] || { echo "FAIL: in $map but not exported by $lib:"; echo "$unexported"; rc=1; }
[ -z "$stray" ] || { echo "FAIL: exported by $lib but not in $map:"; echo "$stray"; rc=1; }
[ "$rc" -ne 0 ] || echo "symbol map: $(wc -l < "$tmp/map") functions, as declared and as exported"
exit $rc
