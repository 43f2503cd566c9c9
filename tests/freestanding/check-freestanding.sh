#!/bin/sh
# Links every object of a freestanding build of the core with -nostdlib into one
# relocatable object and fails if anything remains undefined beyond memcpy, memset and
# memcmp: no other libc function and no compiler runtime helper (e.g. __udivdi3 on i386).
#
# Given the x86 backend library (lib/arch/x86) and the include directory as well, it checks
# that backend instead, and then:
#  - it needs nothing at all (memcpy and memset at most);
#  - it defines exactly the functions <pvcore/arch/x86.h> declares for this architecture
#    (so on i386 no swapgs), and every object in it has a .note.GNU-stack section;
#  - core + backend link statically, not as a PIE, at a hypervisor's address
#    (0xFFFF830000100000 on x86-64, 0xC0100000 on i386), with no relocation left over.
#    On x86-64 this is what -fpie is for: -fno-pic code cannot be linked that high.
# usage: check-freestanding.sh <x86_64|i386> <libpvcore_freestanding.a> <cc> <work dir>
#                              [<libpvcore_arch.a> <include dir>]
set -eu
arch=$1 lib=$2 cc=$3 work=$4 archlib=${5:-} inc=${6:-}
rm -rf "$work"; mkdir -p "$work"
case $arch in
    x86_64) m=-m64; fmt=elf64-x86-64; pic=-fpie; at=0xffff830000100000 ;;
    i386) m=-m32; fmt=elf32-i386; pic=-fno-pic; at=0xc0100000 ;;
    *) echo "unknown arch $arch"; exit 2 ;;
esac
"$cc" $m -nostdlib -ffreestanding -r -Wl,--whole-archive "$lib" -Wl,--no-whole-archive -o "$work/core.o"
got=$(objdump -f "$work/core.o" | sed -n 's/.*file format //p')
[ "$got" = "$fmt" ] || { echo "FAIL: $work/core.o is $got, expected $fmt"; exit 1; }
if [ -z "$archlib" ]; then
    undef=$(nm -u "$work/core.o" | awk '{print $2}' | sort -u)
    bad=$(printf '%s\n' "$undef" | grep -v -x -e memcpy -e memset -e memcmp -e '' || true)
    defined=$(nm --defined-only "$work/core.o" | grep -c ' [TtDdRrBb] ' || true)
    echo "freestanding $arch: $defined symbols defined; undefined: $(echo $undef)"
    if [ -n "$bad" ]; then
        echo "FAIL: the freestanding core needs: $(echo $bad)"; exit 1
    fi
    exit 0
fi

# ---- the x86 backend ----
"$cc" $m -nostdlib -ffreestanding -r -Wl,--whole-archive "$archlib" -Wl,--no-whole-archive \
    -o "$work/arch.o"
got=$(objdump -f "$work/arch.o" | sed -n 's/.*file format //p')
[ "$got" = "$fmt" ] || { echo "FAIL: $work/arch.o is $got, expected $fmt"; exit 1; }
undef=$(nm -u "$work/arch.o" | awk '{print $2}' | sort -u)
bad=$(printf '%s\n' "$undef" | grep -v -x -e memcpy -e memset -e '' || true)
[ -z "$bad" ] || { echo "FAIL: the $arch backend needs: $(echo $bad)"; exit 1; }

# The exported prototypes, as the compiler sees them for this architecture.
printf '#include <pvcore/arch/x86.h>\n' > "$work/decl.c"
"$cc" $m -ffreestanding -E -P -I"$inc" "$work/decl.c" > "$work/decl.i"
grep 'visibility("default")' "$work/decl.i" | grep -o 'pvcore_x86_[a-z0-9_]*(' | tr -d '(' \
    | sort -u > "$work/declared.txt"
nm --defined-only -g "$work/arch.o" | awk '$2 == "T" {print $3}' | sort -u > "$work/defined.txt"
[ -s "$work/declared.txt" ] || { echo "FAIL: no prototypes found in <pvcore/arch/x86.h>"; exit 1; }
if ! cmp -s "$work/declared.txt" "$work/defined.txt"; then
    echo "FAIL: declared for $arch (<) versus defined in the backend (>):"
    diff "$work/declared.txt" "$work/defined.txt" || true
    exit 1
fi
members=$(ar t "$archlib" | wc -l)
notes=$(readelf -S -W "$archlib" | grep -c '\.note\.GNU-stack' || true)
[ "$notes" -eq "$members" ] || { echo "FAIL: $((members - notes)) object(s) without .note.GNU-stack"; exit 1; }

# Core + backend at the hypervisor's address, with byte loops for the three libc functions.
cat > "$work/libc.c" <<'EOF'
#include <stddef.h>
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--) *p++ = *q++;
    return d;
}
void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--) *p++ = (unsigned char)c;
    return d;
}
int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q) return *p - *q;
    return 0;
}
EOF
"$cc" $m $pic -ffreestanding -fno-stack-protector -O1 -c "$work/libc.c" -o "$work/libc.o"
"$cc" $m -static -nostdlib -no-pie -Wl,-Ttext-segment=$at -Wl,-e,pvcore_x86_hlt \
    -Wl,--build-id=none "$work/core.o" "$work/arch.o" "$work/libc.o" -o "$work/linked.elf" \
    2> "$work/link.txt" || { echo "FAIL: cannot link core + backend at $at:"; head -20 "$work/link.txt"; exit 1; }
type=$(readelf -h -W "$work/linked.elf" | awk '/Type:/ {print $2}')
[ "$type" = EXEC ] || { echo "FAIL: linked image is $type, expected EXEC"; exit 1; }
relocs=$(readelf -r -W "$work/linked.elf" | grep -c '^ *[0-9a-f]\{8,\} ' || true)
[ "$relocs" -eq 0 ] || { echo "FAIL: $relocs runtime relocations in the linked image"; exit 1; }
hlt=$(nm "$work/linked.elf" | awk '$3 == "pvcore_x86_hlt" {print $1}')
echo "backend $arch: $(wc -l < "$work/defined.txt") functions, as declared; undefined: $(echo $undef);" \
    "core + backend linked at $at (pvcore_x86_hlt at 0x$hlt)"
