#!/bin/sh
# The whole test suite, as README's second command and .ci/run run it:
#   1. the normal (Debug) build: unit and advisory tests, the ABI checks against
#      libxen-dev (64- and 32-bit), header self-containment, exported symbols, install +
#      consumer, freestanding x86-64/i386 checks, and minihv booted in QEMU (TCG) with
#      the example PV guests (label qemu);
#   2. the same tests under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the multi-threaded tests under ThreadSanitizer;
#   4. the API docs (Doxygen, warnings are errors);
#   5. the fuzz targets built with clang, corpora replayed, each fuzzed briefly.
# Warnings are errors in every build. Exits non-zero on the first failure.
set -eu
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
# The unmodified XTF test kernels (ctest label xtf): from XTF_DIR, or the workplace's
# copy beside the checkout when there is one; without them those tests report skipped.
if [ -z "${XTF_DIR:-}" ] && [ -d ../shared/guests/xtf ]; then
    XTF_DIR=$(cd ../shared/guests/xtf && pwd)
fi
if [ -n "${XTF_DIR:-}" ]; then
    XTF_DIR=$(cd "$XTF_DIR" && pwd)
    export XTF_DIR
fi

sh scripts/install-deps.sh

# Numbered steps, each timed; a summary table at the end (and on a failure, up to it).
STEP=0
STEP_NAME=""
STEP_START=0
SUMMARY=""
step_end() {
    if [ "$STEP" -gt 0 ]; then
        SUMMARY="${SUMMARY}$(printf '%2d  %5ds  %s' "$STEP" "$(($(date +%s) - STEP_START))" "$STEP_NAME")
"
    fi
}
step() {
    step_end
    STEP=$((STEP + 1))
    STEP_NAME=$*
    STEP_START=$(date +%s)
    printf '\n==== %d. %s ====\n' "$STEP" "$*"
}
summary() {
    printf '\n==== summary ====\n step  time  what\n%s' "$SUMMARY"
}
trap 'rc=$?; if [ "$rc" -ne 0 ]; then step_end; summary; printf "FAILED in step %d: %s\n" "$STEP" "$STEP_NAME"; fi' EXIT

step "normal build (Debug, -Werror)"
cmake --preset dev > /dev/null
cmake --build --preset dev -j "$JOBS"
ctest --preset dev -j "$JOBS"

step "address + undefined sanitizers"
cmake --preset asan > /dev/null
cmake --build --preset asan -j "$JOBS"
ctest --preset asan -j "$JOBS"

step "thread sanitizer"
cmake --preset tsan > /dev/null
cmake --build --preset tsan -j "$JOBS"
ctest --preset tsan -j "$JOBS"

step "API docs (Doxygen, warnings are errors)"
cmake --build --preset docs

step "fuzzing build (clang + libFuzzer): corpus replay and a short run of each target"
cmake --preset fuzz > /dev/null
cmake --build --preset fuzz -j "$JOBS"
ctest --preset fuzz -j "$JOBS"

step_end
summary
printf '==== all suites passed ====\n'
