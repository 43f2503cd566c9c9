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

# minihv: the bare-metal example hypervisor, booted in QEMU (TCG) with our PV guests as
# multiboot modules: a 64-bit kernel (ring 3, syscall), a 32-bit PAE kernel (ring 1,
# int $0x82), the 64-bit kernel described by the legacy __xen_guest section, and one that
# takes a page fault on purpose (minihv cannot deliver faults yet, so it is destroyed).
echo
echo "==== minihv in QEMU: four PV guests ===="
b=build/release/examples
status=0
out=$(mktemp)
qemu-system-x86_64 -accel tcg -cpu max -m 256M -display none -serial stdio -no-reboot \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel $b/minihv/minihv.elf \
    -initrd "$b/guests/guest64.elf,$b/guests/guest32.elf,$b/guests/guest64-legacy.elf,$b/guests/guest64.elf minihv.fault=1" \
    </dev/null >"$out" 2>&1 || status=$?
tr -d '\r' <"$out"
rm -f "$out"
# isa-debug-exit: status (code << 1) | 1; 0x2e (a guest was destroyed after a fault) -> 93.
if [ "$status" -eq 93 ]; then
    echo "demo: minihv exited with status 93 (three guests powered off, one destroyed), as expected"
else
    echo "demo: minihv exited with status $status, expected 93" >&2
    exit 1
fi
