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
# multiboot modules, all running at once: a 64-bit kernel (ring 3, syscall), a 32-bit PAE
# kernel (ring 1, int $0x82), the 64-bit kernel described by the legacy __xen_guest
# section, and one that takes a page fault its handler does not expect (it reports the
# failure and shuts down with SHUTDOWN_crash).
b=build/release/examples
run_minihv() { # the expected QEMU status, then the modules
    want=$1
    status=0
    out=$(mktemp)
    qemu-system-x86_64 -accel tcg -cpu max -m 256M -display none -serial stdio -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel $b/minihv/minihv.elf \
        -initrd "$2" </dev/null >"$out" 2>&1 || status=$?
    tr -d '\r' <"$out"
    rm -f "$out"
    if [ "$status" -ne "$want" ]; then
        echo "demo: minihv exited with status $status, expected $want" >&2
        exit 1
    fi
}
echo
echo "==== minihv in QEMU: four PV guests at once ===="
# isa-debug-exit: status (code << 1) | 1; 0x23 (a guest shut down with SHUTDOWN_crash) -> 71.
run_minihv 71 "$b/guests/guest64.elf,$b/guests/guest32.elf,$b/guests/guest64-legacy.elf,$b/guests/guest64.elf minihv.fault=1"
echo "demo: minihv exited with status 71 (three guests powered off, one crashed on purpose), as expected"

# Two guests exchange events: the 64-bit one (FIFO ABI) allocates a port for the 32-bit one
# (2-level), which binds it; both take timer interrupts while blocked, then play 16 rounds
# of ping-pong, each through libpvcore's guest-side dispatcher.
echo
echo "==== minihv in QEMU: two guests exchange events ===="
run_minihv 65 "$b/guests/guest64.elf minihv.evtchn=serve:2 minihv.evtchn_abi=fifo,$b/guests/guest32.elf minihv.evtchn=connect:1"
echo "demo: minihv exited with status 65 (both guests powered off), as expected"

# A split block driver: the 64-bit guest serves a RAM disk, the 32-bit one writes a pattern
# through granted pages and a shared ring, and reads it back; the two meet through
# xenstore (ring-ref, event-channel, protocol, sectors, each end's state), as Xen's do.
echo
echo "==== minihv in QEMU: a block device between two guests, over grants and a ring ===="
run_minihv 65 "$b/guests/guest64.elf minihv.blk=serve:2,$b/guests/guest32.elf minihv.blk=connect:1"
echo "demo: minihv exited with status 65 (both guests powered off), as expected"

# Debian's GRUB for Xen, unmodified, to its prompt: a command typed on the serial port,
# then halt.
echo
echo "==== minihv in QEMU: GRUB (grub-xen-bin) to its prompt, echo, halt ===="
g=$(mktemp -d)
printf 'echo hello from grub\n' > "$g/embed.cfg"
grub-mkimage -O x86_64-xen -o "$g/grub.elf" -c "$g/embed.cfg" -p '(memdisk)/boot/grub' \
    echo normal configfile halt
printf 'wait Minimal BASH-like line editing is supported\nsend echo typed on the serial port\n' > "$g/script"
printf 'wait (d1) typed on the serial port\nsend halt\n' >> "$g/script"
printf 'Welcome to GRUB!\n(d1) typed on the serial port\nminihv: exit code 0x20\n' > "$g/expect"
status=0
RUN_QEMU_SCRIPT="$g/script" sh examples/minihv/run-qemu.sh $b/minihv/minihv.elf 65 "$g/expect" -- \
    "$g/grub.elf minihv.mem=32" > "$g/out" || status=$?
tr -d '\033' < "$g/out" # (GRUB's terminal escapes, without the escape character)
rm -rf "$g"
if [ "$status" -ne 0 ]; then
    echo "demo: GRUB did not reach its prompt, answer and power off" >&2
    exit 1
fi
echo "demo: GRUB answered on the serial port and powered off, as expected"

cat <<'EOF'

Where to go next:
  - the API docs: cmake --workflow --preset docs, then open build/dev/docs/html/index.html
    (the main page: install, link both ways, a first program, every module);
  - docs/embedding.md: the tour of minihv, a hypervisor built on the library;
  - docs/mmu.md, docs/cpu.md, docs/guest-evtchn.md, docs/builder.md, docs/grant.md,
    docs/ring.md, docs/xenstore.md, docs/blk.md: the design notes of each part;
  - sh scripts/test-all.sh: the whole test suite (the README's second command).
EOF
