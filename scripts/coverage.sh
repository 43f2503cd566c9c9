#!/bin/sh
# Line and branch coverage of lib/ reached by the fuzz corpora alone (gcc --coverage
# build, each corpus replayed with the standalone driver), per file and in total.
# Branches: the share of branch outcomes taken at least once.
set -eu
cd "$(dirname "$0")/.."
b=build/coverage
cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="--coverage -O0" \
    -DPVCORE_BUILD_DOCS=OFF -DPVCORE_BUILD_BENCH=OFF -DPVCORE_BUILD_EXAMPLES=OFF > /dev/null
cmake --build "$b" -j "$(nproc)" > /dev/null
find "$b" -name '*.gcda' -delete
for t in fuzz/fuzz_*.c; do
    n=$(basename "$t" .c | sed 's/^fuzz_//')
    "$b/fuzz/replay_$n" "fuzz/corpus/$n"
done
cd "$b/lib/CMakeFiles/pvcore_static.dir"
gcov -b -n -o . ./*.gcno 2>/dev/null | awk '
    # Per file: File, Lines executed, [Branches executed, Taken at least once | No
    # branches], Calls executed | No calls. A last "Lines executed" without a File line
    # is the gcov total, which is skipped (headers are counted once each here).
    /^File / { f = $2; gsub(/\x27/, "", f); sub(/.*\/lib\//, "lib/", f); next }
    f == "" { next }
    /^Lines executed:/ { split(substr($0, index($0, ":") + 1), x, "% of "); lp[f] = x[1]; ln[f] = x[2]; next }
    /^Taken at least once:/ { split(substr($0, index($0, ":") + 1), x, "% of "); bp[f] = x[1]; bn[f] = x[2]; next }
    /^No calls|^Calls executed:/ { f = ""; next }
    END {
        for (f in lp) if (f ~ /^lib\//) {
            printf "%-28s %7.2f%% of %5d   %7.2f%% of %5d\n", f, lp[f], ln[f], bp[f], bn[f]
            tl += ln[f]; cl += lp[f] * ln[f] / 100; tb += bn[f]; cb += bp[f] * bn[f] / 100
        }
        printf "%-28s %7.2f%% of %5d   %7.2f%% of %5d\n", "~ lib/ total", 100 * cl / tl, tl, 100 * cb / tb, tb
    }' | sort | sed '1i file                           lines (of)        branches taken (of)'
