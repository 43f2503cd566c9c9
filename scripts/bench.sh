#!/bin/sh
# Runs the benchmarks (Release build) and writes bench/results/: the printed table, a CSV
# and PNG plots (gnuplot). Not part of the test suite: timings depend on the machine.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
cmake --preset release > /dev/null
cmake --build --preset release -j "$(nproc)" --target bench_mmu bench_evtchn bench_ring bench_grant
mkdir -p bench/results
./build/release/bench/bench_mmu --csv bench/results/bench_mmu.csv | tee bench/results/bench_mmu.txt
gnuplot -e "csv='bench/results/bench_mmu.csv'; outdir='bench/results'" bench/plot_mmu.gp
./build/release/bench/bench_evtchn | tee bench/results/bench_evtchn.txt
./build/release/bench/bench_ring | tee bench/results/bench_ring.txt
./build/release/bench/bench_grant | tee bench/results/bench_grant.txt
echo "bench: wrote bench/results/bench_mmu.{txt,csv}, bench/results/bench_mmu_*.png, bench/results/bench_evtchn.txt, bench/results/bench_ring.txt and bench/results/bench_grant.txt"
