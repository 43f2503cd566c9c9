#!/bin/sh
# Checks one example guest image with readelf (and od): its ELF class and machine, its load
# segments, and how it describes itself to a Xen PV loader.
#   64         guest64.elf: ELF64 x86-64, "Xen" notes in .note.Xen and a PT_NOTE segment
#   64-legacy  guest64-legacy.elf: no notes and no PT_NOTE, a __xen_guest string instead
#   32         guest32.elf: ELF32 i386, "Xen" notes with 4-byte addresses, PAE_MODE "yes"
# Every image: entry = _start, hypercall page = VIRT_BASE + 0x1000 filled with 0xc3,
# p_paddr = p_vaddr, the first PT_LOAD at VIRT_BASE, no undefined symbols.
# usage: check-notes.sh <readelf> <image> <64|64-legacy|32>
set -eu
readelf=$1 img=$2 kind=$3
LC_ALL=C
export LC_ALL

fail=0 n=0
ok() { n=$((n + 1)); echo "ok: $*"; }
bad() { n=$((n + 1)); fail=$((fail + 1)); echo "FAIL: $*"; }
check() { # check <description> <got> <expected>
    if [ "$2" = "$3" ]; then ok "$1: $2"; else bad "$1: got '$2', expected '$3'"; fi
}
# Hexadecimal without 0x and leading zeros, lower case.
norm() { echo "$1" | sed -e 's/^0[xX]//' -e 'y/ABCDEF/abcdef/' -e 's/^0*//' -e 's/^$/0/'; }
# The value of symbol $1 from the symbol table.
sym() { "$readelf" -sW "$img" | awk -v s="$1" '$8 == s { print $2; exit }'; }
# Field $2 (1 name, 2 type, 3 address, 4 offset, 5 size, 6 entsize, 7 flags) of section $1.
sect() {
    "$readelf" -SW "$img" | sed -n 's/^ *\[ *[0-9]*\] //p' |
        awk -v s="$1" -v f="$2" '$1 == s { if (f == 7 && $7 ~ /^[0-9]/) print ""; else print $f; exit }'
}
# The bytes of section $1 as lower-case hex, one per line.
sect_bytes() {
    off=$(sect "$1" 4) size=$(sect "$1" 5)
    [ -n "$off" ] || return 0
    od -An -v -tx1 -j $((0x$off)) -N $((0x$size)) "$img" | tr -s ' \n' '\n\n' | sed '/^$/d'
}

case $kind in
64 | 64-legacy) class=ELF64 machine="Advanced Micro Devices X86-64" vbase=ffffffff80000000 asize=8 ;;
32) class=ELF32 machine="Intel 80386" vbase=c0000000 asize=4 ;;
*) echo "unknown kind $kind"; exit 2 ;;
esac

# ---- ELF header and segments ------------------------------------------------------------
hdr=$("$readelf" -hW "$img")
check "class" "$(echo "$hdr" | awk -F: '/^ *Class:/ { sub(/^ */, "", $2); print $2 }')" "$class"
check "machine" "$(echo "$hdr" | awk -F: '/^ *Machine:/ { sub(/^ */, "", $2); print $2 }')" "$machine"
check "type" "$(echo "$hdr" | awk -F: '/^ *Type:/ { sub(/^ */, "", $2); print $2 }')" "EXEC (Executable file)"
entry=$(norm "$(echo "$hdr" | awk -F: '/^ *Entry point address:/ { gsub(/ /, "", $2); print $2 }')")
start=$(norm "$(sym _start)")
hcall=$(norm "$(sym hypercall_page)")
check "e_entry is _start" "$entry" "$start"
check "_start is VIRT_BASE" "$start" "$vbase"

phdrs=$("$readelf" -lW "$img")
loads=$(echo "$phdrs" | awk '$1 == "LOAD"')
check "first PT_LOAD vaddr is VIRT_BASE" "$(norm "$(echo "$loads" | awk 'NR == 1 { print $3 }')")" "$vbase"
check "PT_LOADs with p_paddr != p_vaddr" "$(echo "$loads" | awk '$3 != $4' | wc -l | tr -d ' ')" 0
check "PT_INTERP/PT_DYNAMIC segments" "$(echo "$phdrs" | awk '$1 == "INTERP" || $1 == "DYNAMIC"' | wc -l | tr -d ' ')" 0
check "undefined symbols" "$("$readelf" -sW "$img" | awk '$7 == "UND" && $8 != ""' | wc -l | tr -d ' ')" 0

# ---- the hypercall page -----------------------------------------------------------------
text_addr=$(sect .text 3) text_off=$(sect .text 4)
# The image is far smaller than 4 GiB and starts 4 MiB aligned, so the low 32 bits suffice.
lo() { echo "$1" | sed 's/.*\(........\)$/\1/'; }
check "hypercall_page is VIRT_BASE + 0x1000" \
    "$(printf '%x' $((0x$(lo "$hcall") - 0x$(lo "$vbase"))))" 1000
hp_off=$((0x$text_off + 0x$(lo "$hcall") - 0x$(lo "$text_addr")))
check "hypercall page bytes that are not 0xc3" \
    "$(od -An -v -tx1 -j "$hp_off" -N 4096 "$img" | tr -s ' \n' '\n\n' | sed '/^$/d' | grep -vc '^c3$' || true)" 0
check "hypercall page size" "$(od -An -v -tx1 -j "$hp_off" -N 4096 "$img" | wc -w | tr -d ' ')" 4096

# ---- self-description ---------------------------------------------------------------------
if [ "$kind" = 64-legacy ]; then
    check ".note.Xen sections" "$(sect .note.Xen 1)" ""
    check "PT_NOTE segments" "$(echo "$phdrs" | awk '$1 == "NOTE"' | wc -l | tr -d ' ')" 0
    check "__xen_guest type" "$(sect __xen_guest 2)" PROGBITS
    check "__xen_guest flags (not allocated)" "$(sect __xen_guest 7)" ""
    # The string up to its NUL, and whether the NUL is the section's last byte.
    str=$(sect_bytes __xen_guest | awk '
        BEGIN { for (i = 32; i < 127; i++) chr[sprintf("%02x", i)] = sprintf("%c", i) }
        { b[n++] = $1 }
        END {
            s = ""; for (i = 0; i < n && b[i] != "00"; i++) s = s (b[i] in chr ? chr[b[i]] : "?")
            print s (i == n - 1 ? "" : " (not NUL-terminated at the end of the section)")
        }')
    check "__xen_guest string" "$str" \
        "GUEST_OS=libpvcore-example,GUEST_VER=0.1,XEN_VER=xen-3.0,VIRT_BASE=0x$vbase,ELF_PADDR_OFFSET=0x$vbase,HYPERCALL_PAGE=0x1,LOADER=generic"
else
    check ".note.Xen type" "$(sect .note.Xen 2)" NOTE
    note_addr=$(norm "$(echo "$phdrs" | awk '$1 == "NOTE" { print $3; exit }')")
    check "PT_NOTE covers .note.Xen" "$note_addr" "$(norm "$(sect .note.Xen 3)")"
    # Walk the notes: one line per note, "<type> <owner> <descsz> <string> <integer>".
    notes=$(sect_bytes .note.Xen | awk '
        BEGIN { for (i = 0; i < 256; i++) { h = sprintf("%02x", i); val[h] = i; if (i >= 32 && i < 127) chr[h] = sprintf("%c", i) } }
        function le32(p) { return val[b[p]] + 256 * (val[b[p + 1]] + 256 * (val[b[p + 2]] + 256 * val[b[p + 3]])) }
        function str(p, len,   s, i) { s = ""; for (i = 0; i < len && b[p + i] != "00"; i++) s = s (b[p + i] in chr ? chr[b[p + i]] : "?"); return s }
        function hexle(p, len,   s, i) { s = ""; for (i = len - 1; i >= 0; i--) s = s b[p + i]; return s }
        { b[n++] = $1 }
        END {
            p = 0
            while (p + 12 <= n) {
                namesz = le32(p); descsz = le32(p + 4); type = le32(p + 8); p += 12
                owner = str(p, namesz); p += int((namesz + 3) / 4) * 4
                s = str(p, descsz); if (s == "") s = "-"
                if (s != "-" && b[p + descsz - 1] != "00") s = s "(unterminated)"
                print type, owner, descsz, s, (descsz == 4 || descsz == 8) ? hexle(p, descsz) : "-"
                p += int((descsz + 3) / 4) * 4
            }
            if (p != n) print "trailing", "bytes", n - p, "-", "-"
        }')
    echo "$notes" | sed 's/^/  note: /'
    # note <type>: that note's line, or "<type> <count>-notes - - -" unless there is exactly one.
    note() {
        c=$(echo "$notes" | awk -v t="$1" '$1 == t' | wc -l | tr -d ' ')
        if [ "$c" = 1 ]; then echo "$notes" | awk -v t="$1" '$1 == t'; else echo "$1 $c-notes - - -"; fi
    }
    note_str() { note "$1" | awk '{ print $2 "/" $4 }'; }
    note_int() { note "$1" | awk '{ print $2 "/" $3 }'; }
    note_val() { norm "$(note "$1" | awk '{ print $5 }')"; }
    check "trailing bytes after the last note" "$(echo "$notes" | awk '$1 == "trailing"' | wc -l | tr -d ' ')" 0
    check "notes not owned by Xen" "$(echo "$notes" | awk 'NF && $2 != "Xen"' | wc -l | tr -d ' ')" 0
    check "readelf -n agrees on the number of notes" \
        "$("$readelf" -nW "$img" | awk '$1 == "Xen"' | wc -l | tr -d ' ')" "$(echo "$notes" | awk 'NF' | wc -l | tr -d ' ')"
    check "GUEST_OS (6)" "$(note_str 6)" "Xen/libpvcore-example"
    check "GUEST_VERSION (7)" "$(note_str 7)" "Xen/0.1"
    check "XEN_VERSION (5)" "$(note_str 5)" "Xen/xen-3.0"
    check "LOADER (8)" "$(note_str 8)" "Xen/generic"
    check "FEATURES (10)" "$(note_str 10)" "Xen/-"
    for t in 1 2 3 4; do
        check "descriptor size of note $t" "$(note_int $t)" "Xen/$asize"
    done
    check "VIRT_BASE (3)" "$(note_val 3)" "$vbase"
    check "PADDR_OFFSET (4)" "$(note_val 4)" "$vbase"
    check "ENTRY (1) is e_entry" "$(note_val 1)" "$entry"
    check "HYPERCALL_PAGE (2) is hypercall_page" "$(note_val 2)" "$hcall"
    if [ "$kind" = 32 ]; then
        check "PAE_MODE (9)" "$(note_str 9)" "Xen/yes"
    else
        check "PAE_MODE notes" "$(echo "$notes" | awk '$1 == 9' | wc -l | tr -d ' ')" 0
    fi
    check "__xen_guest sections" "$(sect __xen_guest 1)" ""
fi

echo "$img: $((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
