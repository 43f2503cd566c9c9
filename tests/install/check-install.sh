#!/bin/sh
# Installs the build into a temporary prefix, then builds and runs a consumer against the
# installed package twice: through find_package(pvcore CONFIG) (shared and static targets)
# and through pkg-config; and the main page's first program (which uses the host backend,
# pvcore::pvcore_host / pvcore-host.pc) both ways too. Given the kernel source dir, it then
# builds the tiny freestanding kernel (tests/install/kernel) for x86-64 and i386 against the
# installed freestanding archives both ways, and checks that the hosted library is refused
# in a freestanding build both ways (the #error of <pvcore/export.h>, PVCORE_ENVIRONMENT).
# usage: check-install.sh <build dir> <consumer source dir> <work dir> <cc> <cmake> <first.c>
#                         [<kernel source dir>]
set -eu
build=$1 consumer=$2 work=$3 cc=$4 cmake=$5 first=$6 kernel=${7:-}
rm -rf "$work"; mkdir -p "$work"
prefix=$work/prefix
"$cmake" --install "$build" --prefix "$prefix" > "$work/install.log"
echo "installed into $prefix:"; (cd "$prefix" && find . -type f -o -type l | sort | sed 's/^/  /')

# 1. CMake package.
"$cmake" -S "$consumer" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" -DPVCORE_FIRST_SOURCE="$first" > "$work/cmake-config.log"
"$cmake" --build "$work/cmake-build" > "$work/cmake-build.log"
LD_LIBRARY_PATH=$prefix/lib:$prefix/lib64 "$work/cmake-build/consumer"
"$work/cmake-build/consumer_static"
LD_LIBRARY_PATH=$prefix/lib:$prefix/lib64 "$work/cmake-build/first" > "$work/first.out"
# The shared consumer really uses the installed library.
LD_LIBRARY_PATH=$prefix/lib:$prefix/lib64 ldd "$work/cmake-build/consumer" | grep -q "$prefix" || {
    echo "FAIL: consumer is not linked against the installed libpvcore"; exit 1; }

# 2. pkg-config.
pcdir=$(dirname "$(find "$prefix" -name pvcore.pc | head -n 1)")
export PKG_CONFIG_PATH=$pcdir
ver=$(pkg-config --modversion pvcore)
echo "pkg-config: pvcore $ver: $(pkg-config --cflags --libs pvcore)"
# Normalised paths: the prefix as installed, no ${pcfiledir}/../.. left.
for pc in "$pcdir"/*.pc; do
    p=$(pkg-config --variable=prefix "$pc")
    case $p in *..*|*/) echo "FAIL: $(basename "$pc"): prefix $p is not normalised"; exit 1 ;; esac
    [ "$p" -ef "$prefix" ] || { echo "FAIL: $(basename "$pc"): prefix $p is not $prefix"; exit 1; }
done
"$cc" -std=c11 -Wall -Werror "$consumer/main.c" $(pkg-config --cflags --libs pvcore) -o "$work/pc-consumer"
LD_LIBRARY_PATH=$(pkg-config --variable=libdir pvcore) "$work/pc-consumer"
"$cc" -std=c11 -Wall -Werror "$first" $(pkg-config --cflags --libs pvcore-host) -o "$work/pc-first"
LD_LIBRARY_PATH=$(pkg-config --variable=libdir pvcore) "$work/pc-first" > "$work/pc-first.out"
echo "first program (host backend): ran both ways"
echo "install: both ways passed"
[ -n "$kernel" ] || exit 0

# 3. The freestanding kernel, x86-64 and i386, through pkg-config and find_package.
check_elf() { # <elf> <arch> <how>
    case $2 in x86_64) fmt=elf64-x86-64 ;; i386) fmt=elf32-i386 ;; esac
    got=$(objdump -f "$1" | sed -n 's/.*file format //p')
    [ "$got" = "$fmt" ] || { echo "FAIL: $1 is $got, expected $fmt"; exit 1; }
    type=$(readelf -h -W "$1" | awk '/Type:/ {print $2}')
    [ "$type" = EXEC ] || { echo "FAIL: $1 is $type, expected EXEC"; exit 1; }
    relocs=$(readelf -r -W "$1" | grep -c '^ *[0-9a-f]\{8,\} ' || true)
    [ "$relocs" -eq 0 ] || { echo "FAIL: $relocs runtime relocations in $1"; exit 1; }
    n=$(nm "$1" | grep -c ' [Tt] pvcore_' || true)
    echo "kernel $2 ($3): $fmt EXEC, entry $(readelf -h -W "$1" | awk '/Entry/ {print $4}'), $n pvcore_ functions linked"
}
for arch in x86_64 i386; do
    case $arch in
        x86_64) flags="-mno-red-zone -fpie"; at=0xffff830000100000 ;;
        i386) flags="-fno-pic"; at=0xc0100000 ;;
    esac
    mods="pvcore-freestanding-$arch pvcore-arch-$arch pvcore-guest-freestanding-$arch"
    kw=$work/kernel-pc-$arch; mkdir -p "$kw"
    # shellcheck disable=SC2086
    for src in kernel libc; do
        "$cc" $(pkg-config --cflags $mods) $flags -std=c11 -Wall -Wextra -Werror \
            -fno-stack-protector -fno-asynchronous-unwind-tables -mno-mmx -mno-sse -mno-sse2 -O1 \
            -c "$kernel/$src.c" -o "$kw/$src.o"
    done
    m=$(pkg-config --cflags-only-other pvcore-freestanding-$arch | grep -o -e '-m32' -e '-m64')
    # shellcheck disable=SC2086
    "$cc" $m -static -nostdlib -no-pie -Wl,-Ttext-segment=$at -Wl,-e,kernel_main \
        -Wl,--build-id=none "$kw/kernel.o" "$kw/libc.o" $(pkg-config --libs $mods) -o "$kw/kernel.elf"
    check_elf "$kw/kernel.elf" $arch pkg-config

    "$cmake" -S "$kernel" -B "$work/kernel-cmake-$arch" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_C_COMPILER="$cc" -DKERNEL_ARCH=$arch > "$work/kernel-cmake-$arch.log"
    "$cmake" --build "$work/kernel-cmake-$arch" >> "$work/kernel-cmake-$arch.log"
    check_elf "$work/kernel-cmake-$arch/kernel.elf" $arch find_package
done

# 4. The hosted library in a freestanding build is refused: by the compiler through
#    pvcore.pc's -DPVCORE_HOSTED_LIBRARY (<pvcore/export.h> under -ffreestanding), and by
#    CMake when a freestanding target links pvcore::pvcore_static.
if "$cc" $(pkg-config --cflags pvcore) -ffreestanding -c "$kernel/kernel.c" \
        -o "$work/mistake.o" > "$work/mistake-pc.log" 2>&1; then
    echo "FAIL: the hosted pvcore.pc compiled into a -ffreestanding kernel"; exit 1
fi
grep -q 'hosted libpvcore in a freestanding build' "$work/mistake-pc.log" || {
    echo "FAIL: unexpected error:"; cat "$work/mistake-pc.log"; exit 1; }
if "$cmake" -S "$kernel" -B "$work/kernel-mistake" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_C_COMPILER="$cc" -DKERNEL_MISTAKE=ON > "$work/mistake-cmake.log" 2>&1; then
    echo "FAIL: CMake let a freestanding kernel link pvcore::pvcore_static"; exit 1
fi
grep -q PVCORE_ENVIRONMENT "$work/mistake-cmake.log" || {
    echo "FAIL: unexpected CMake error:"; cat "$work/mistake-cmake.log"; exit 1; }
echo "hosted library in a freestanding kernel: refused by pkg-config's flags and by CMake"
echo "install: freestanding kernel built both ways for x86_64 and i386"
