#!/bin/sh
# run-xtf.sh MINIHV_ELF EXPECTED TEST [ARGS...]
#
# Boots one unmodified XTF test kernel, $XTF_DIR/TEST (given ARGS as its command line, as
# XTF's variant tests take them), on minihv in QEMU (TCG), and passes only if the kernel
# prints "Test result: EXPECTED" and powers off (QEMU exit status 65). EXPECTED is SUCCESS,
# or SKIP for a test that Xen itself skips on this machine. Without an XTF directory the
# test is reported as skipped (exit 77), never as passed.
set -u
image=$1 want=$2 test=$3
shift 3
if [ -z "${XTF_DIR:-}" ] || [ ! -f "$XTF_DIR/$test" ]; then
    echo "run-xtf: XTF_DIR does not name a directory holding $test: skipped"
    exit 77
fi
module="$XTF_DIR/$test"
[ $# -gt 0 ] && module="$module $*"
qemu=${QEMU:-qemu-system-x86_64}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 120 "$qemu" -accel tcg -cpu max -m 256M -display none -serial stdio -no-reboot \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$image" -initrd "$module" </dev/null >"$out" 2>&1
status=$?
tr -d '\r' <"$out"
result=$(tr -d '\r' <"$out" | sed -n 's/.*Test result: \([A-Z]*\).*/\1/p' | tail -n 1)
if [ "$result" = "$want" ] && [ "$status" -eq 65 ]; then
    echo "run-xtf: PASS ($test: $result)"
    exit 0
fi
echo "run-xtf: FAIL ($test: result '${result:-none}', QEMU exit status $status)"
exit 1
