#!/bin/sh
# grub-images.sh PV_ELFINFO WORKDIR
#
# Debian's GRUB for Xen (grub-xen-bin), as a user builds it with grub-mkimage, read by
# the library's builder: both the x86_64-xen and the i386-xen image must parse and get a
# layout. The i386 image's last ELF note (PAE_MODE "yes") has a descriptor size that runs
# past its PT_NOTE segment and past the end of the file; Xen's libelf reads it anyway,
# and so must we: without it the image would be a 32-bit non-PAE kernel, refused.
set -u
elfinfo=$1 work=$2
if ! command -v grub-mkimage >/dev/null || [ ! -d /usr/lib/grub/x86_64-xen ] || [ ! -d /usr/lib/grub/i386-xen ]; then
    echo "FAIL: grub-mkimage or /usr/lib/grub/{x86_64,i386}-xen missing (Debian packages grub-common, grub-xen-bin: run scripts/install-deps.sh)"
    exit 1
fi
mkdir -p "$work"
printf 'echo hello from grub\n' > "$work/embed.cfg"
fail=0
for target in x86_64-xen i386-xen; do
    img=$work/grub-$target.elf
    if ! grub-mkimage -O "$target" -o "$img" -c "$work/embed.cfg" -p '(memdisk)/boot/grub' \
            echo normal configfile halt; then
        echo "FAIL: grub-mkimage -O $target"; fail=1; continue
    fi
    out=$("$elfinfo" "$img" 32)
    status=$?
    echo "$out"
    if [ "$status" -ne 0 ]; then
        echo "FAIL: $target image refused (status $status)"; fail=1; continue
    fi
    case $target in
    x86_64-xen) want='ELF64 x86-64 (64-bit guest), Xen information from PT_NOTE segments' ;;
    i386-xen) want='ELF32 i386 (32-bit guest), Xen information from PT_NOTE segments' ;;
    esac
    for line in "$want" 'guest_os         "GRUB"' 'loader           "generic"' \
                'xen_version      "xen-3.0"' 'entry            0x0' 'virt_base        0x0' \
                'hypercall_page   (none)' 'layout for 32 MiB (8192 pages)'; do
        if ! printf '%s\n' "$out" | grep -qF -- "$line"; then
            echo "FAIL: $target: missing \"$line\""; fail=1
        fi
    done
    if [ "$target" = i386-xen ] && ! printf '%s\n' "$out" | grep -qF 'pae              extended-cr3'; then
        echo "FAIL: i386-xen: the PAE_MODE note past the segment's end was not read"; fail=1
    fi
done
[ "$fail" -eq 0 ] && echo "PASS: both GRUB images parsed and laid out"
exit "$fail"
