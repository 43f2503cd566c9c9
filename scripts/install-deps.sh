#!/bin/sh
# Installs the Debian packages libpvcore needs, skipping those already present.
# Idempotent; needs root (or sudo) only when something is missing. Debian 12 (bookworm).
set -eu
PKGS="cmake make gcc g++ gcc-multilib clang libclang-rt-14-dev
      libcmocka-dev doxygen pkg-config libxen-dev binutils
      qemu-system-x86 gnuplot-nox abigail-tools grub-common grub-xen-bin
      libck-dev dpdk-dev"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi
echo "install-deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
