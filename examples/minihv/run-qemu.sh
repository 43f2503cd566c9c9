#!/bin/sh
# run-qemu.sh MINIHV_ELF EXPECTED_STATUS EXPECT_FILE -- MODULE [MODULE...]
#
# Boots minihv in QEMU (TCG) with the given multiboot modules (each "path args"), prints
# the serial console, and passes only if QEMU's exit status is exactly EXPECTED_STATUS
# (isa-debug-exit gives (code << 1) | 1; a triple fault gives 0, which never passes) and
# every line of EXPECT_FILE appears in the console output, in order.
set -u
image=$1 want=$2 expect=$3
shift 4
mods=""
for m in "$@"; do
    mods="${mods:+$mods,}$m"
done
qemu=${QEMU:-qemu-system-x86_64}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 120 "$qemu" -accel tcg -cpu max -m 256M -display none -serial stdio -no-reboot \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$image" -initrd "$mods" </dev/null >"$out" 2>&1
status=$?
tr -d '\r' <"$out" >"$out.txt" && mv "$out.txt" "$out"
cat "$out"
fail=0
if [ "$status" -ne "$want" ]; then
    echo "run-qemu: FAIL: QEMU exit status $status, expected $want"
    fail=1
fi
# Each expected line must appear, in order (fixed strings, whole-line substring match).
awk -v expect="$expect" '
    BEGIN { n = 0; while ((getline l < expect) > 0) if (l != "") want[n++] = l; i = 0 }
    i < n && index($0, want[i]) { i++ }
    END {
        if (i < n) { printf "run-qemu: FAIL: missing console line: %s\n", want[i]; exit 1 }
    }' "$out" || fail=1
[ "$fail" -eq 0 ] && echo "run-qemu: PASS (status $status)"
exit "$fail"
