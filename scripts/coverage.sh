#!/bin/sh
# Line coverage of lib/ reached by the fuzz corpora alone (gcc --coverage build, each
# corpus replayed with the standalone driver), per file and in total.
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
gcov -n -o . ./*.gcno 2>/dev/null | grep -E "^File|^Lines" | paste - - |
    sed "s|File '[^']*/lib/|lib/|; s|'\tLines executed:| |" | sort
