#!/bin/sh
# The project rule: only lib/arch/x86 talks to the CPU directly, and it does so in .S
# files. No C source or header anywhere in the tree may contain inline assembly.
set -u
root=${1:?usage: no-inline-asm.sh SOURCE_DIR}
hits=$(grep -rnE '(^|[^A-Za-z0-9_])(__asm__|__asm|asm)[[:space:]]*(volatile|__volatile__|goto)?[[:space:]]*\(' \
    --include='*.c' --include='*.h' \
    "$root/include" "$root/lib" "$root/examples" "$root/tests" "$root/fuzz" "$root/bench" 2>/dev/null)
if [ -n "$hits" ]; then
    echo "inline assembly outside lib/arch/x86/*.S:"
    echo "$hits"
    exit 1
fi
echo "no inline assembly in C sources"
