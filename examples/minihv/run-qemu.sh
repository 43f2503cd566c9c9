#!/bin/sh
# run-qemu.sh MINIHV_ELF EXPECTED_STATUS EXPECT_FILE -- MODULE [MODULE...]
#
# Boots minihv in QEMU (TCG) with the given multiboot modules (each "path args"), prints
# the serial console, and passes only if QEMU's exit status is exactly EXPECTED_STATUS
# (isa-debug-exit gives (code << 1) | 1; a triple fault gives 0, which never passes) and
# every line of EXPECT_FILE appears in the console output, each domain's in order (below).
# QEMU is stopped after RUN_QEMU_TIMEOUT seconds (120 by default): status 124. With
# RUN_QEMU_SCRIPT naming a file, that script types on the serial port (below).
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
run_qemu() {
    timeout "${RUN_QEMU_TIMEOUT:-120}" "$qemu" -accel tcg -cpu max -m 256M -display none -serial stdio \
        -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$image" -initrd "$mods"
}
if [ -z "${RUN_QEMU_SCRIPT:-}" ]; then
    run_qemu </dev/null >"$out" 2>&1
    status=$?
else
    # Typing on the serial port: each line of the script is "wait TEXT" (until the console
    # output holds TEXT, at most 60 s) or "send TEXT" (typed, then Enter as a carriage
    # return). minihv takes serial input into the first guest's console ring.
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    run_qemu <"$fifo" >"$out" 2>&1 &
    qpid=$!
    exec 3>"$fifo"
    while read -r cmd arg; do
        case $cmd in
        wait)
            n=0
            until tr -d '\r' <"$out" | grep -qF -- "$arg"; do
                n=$((n + 1))
                if [ "$n" -gt 300 ] || ! kill -0 "$qpid" 2>/dev/null; then
                    echo "run-qemu: gave up waiting for \"$arg\"" >>"$out"
                    break
                fi
                sleep 0.2
            done ;;
        send) printf '%s\r' "$arg" >&3 ;;
        esac
    done <"$RUN_QEMU_SCRIPT"
    wait "$qpid"
    status=$?
    exec 3>&-
    rm -f "$fifo"
fi
tr -d '\r' <"$out" >"$out.txt" && mv "$out.txt" "$out"
cat "$out"
fail=0
if [ "$status" -ne "$want" ]; then
    echo "run-qemu: FAIL: QEMU exit status $status, expected $want"
    fail=1
fi
# Each expected line must appear (fixed strings, whole-line substring match), in order
# within its domain: the guests run at once, so only each domain's own lines keep their
# order. A line's domain is its "(dN) " or "minihv: dN: " prefix, in the expect file as in
# the output. An expected line with neither (the tail of a domain's line, or a message of
# the hypervisor's) belongs to the domain of the expected line before it (none at the
# top), keeping its place in that domain's order, and may match any output line.
awk -v expect="$expect" '
    function key(l) {
        if (match(l, /^\(d[0-9]+\) /)) return substr(l, 2, RLENGTH - 3)
        if (match(l, /^minihv: d[0-9]+: /)) return substr(l, 9, RLENGTH - 10)
        return ""
    }
    BEGIN {
        cur = ""
        while ((getline l < expect) > 0) {
            if (l == "") continue
            k = key(l)
            if (k != "") cur = k
            if (!(cur in n)) { n[cur] = 0; pos[cur] = 0 }
            any[cur, n[cur]] = (k == "")
            want[cur, n[cur]++] = l
        }
    }
    {
        k = key($0)
        for (q in n) {
            p = pos[q]
            if (p < n[q] && (any[q, p] || k == q) && index($0, want[q, p])) pos[q]++
        }
    }
    END {
        bad = 0
        for (q in n) if (pos[q] < n[q]) {
            printf "run-qemu: FAIL: missing console line: %s\n", want[q, pos[q]]
            bad = 1
        }
        exit bad
    }' "$out" || fail=1
[ "$fail" -eq 0 ] && echo "run-qemu: PASS (status $status)"
exit "$fail"
