#!/bin/sh
# A static archive defines no global symbol outside pvcore_* and PVCORE_* (issue 13: an
# embedder's hypervisor links it next to its own frame_free). cmake/localize-archive.sh is
# what makes this so; this checks the archive as built.
# usage: check-archive.sh <archive>...
set -eu
rc=0
for a in "$@"; do
    defs=$(nm -g --defined-only "$a" | awk 'NF == 3 {print $3}' | sort -u)
    bad=$(printf '%s\n' "$defs" | grep -v -e '^pvcore_' -e '^PVCORE_' -e '^$' || true)
    n=$(printf '%s\n' "$defs" | grep -c . || true)
    if [ -n "$bad" ]; then
        echo "FAIL: $(basename "$a") defines globals outside pvcore_/PVCORE_: $(echo $bad)"; rc=1
    else
        echo "$(basename "$a"): $n global symbols, all pvcore_/PVCORE_"
    fi
done
exit $rc
