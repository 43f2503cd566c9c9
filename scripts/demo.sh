#!/bin/sh
# README's first command: install what is missing, build (Release), and run the demo.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
cmake --preset release > /dev/null
cmake --build --preset release -j "$(nproc)"
./build/release/examples/pv_hello
echo
./build/release/examples/pv_mmu_demo
