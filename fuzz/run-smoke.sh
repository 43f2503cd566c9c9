#!/bin/sh
# Fuzzes one target for a bounded time on a scratch copy of its seed corpus.
# usage: run-smoke.sh <fuzzer binary> <seed corpus dir> <work dir> <seconds> [-dict=...]
set -u
bin=$1 seeds=$2 work=$3 secs=$4
shift 4
rm -rf "$work"; mkdir -p "$work/corpus" "$work/artifacts"
cp -r "$seeds"/. "$work/corpus/"
"$bin" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$@" "$work/corpus" > "$work/log.txt" 2>&1
rc=$?
tail -n 25 "$work/log.txt"
exit $rc
