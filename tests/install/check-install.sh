#!/bin/sh
# Installs the build into a temporary prefix, then builds and runs a consumer against the
# installed package twice: through find_package(pvcore CONFIG) (shared and static targets)
# and through pkg-config; and the main page's first program (which uses the host backend,
# pvcore::pvcore_host / pvcore-host.pc) both ways too.
# usage: check-install.sh <build dir> <consumer source dir> <work dir> <cc> <cmake> <first.c>
set -eu
build=$1 consumer=$2 work=$3 cc=$4 cmake=$5 first=$6
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
"$cc" -std=c11 -Wall -Werror "$consumer/main.c" $(pkg-config --cflags --libs pvcore) -o "$work/pc-consumer"
LD_LIBRARY_PATH=$(pkg-config --variable=libdir pvcore) "$work/pc-consumer"
"$cc" -std=c11 -Wall -Werror "$first" $(pkg-config --cflags --libs pvcore-host) -o "$work/pc-first"
LD_LIBRARY_PATH=$(pkg-config --variable=libdir pvcore) "$work/pc-first" > "$work/pc-first.out"
echo "first program (host backend): ran both ways"
echo "install: both ways passed"
