#!/bin/sh
# The guest side (guest/, include/pvcore/guest/) builds only against the wire ABI: it may
# include <pvcore/abi/...>, <pvcore/guest/...>, the ring template <pvcore/ring.h> (header
# only, over the wire ABI, written to compile inside a guest kernel) and freestanding C
# headers, nothing from lib/ and no other public header.
# usage: guest-deps.sh <source dir>
set -eu
src=$1
bad=$(grep -n '^[[:space:]]*#[[:space:]]*include' "$src"/guest/*.c "$src"/guest/*.h \
        "$src"/include/pvcore/guest/*.h 2>/dev/null \
      | grep -v -E '#[[:space:]]*include[[:space:]]*<(pvcore/(abi|guest)/[a-z0-9_]+\.h|pvcore/ring\.h|stdatomic\.h|stdbool\.h|stddef\.h|stdint\.h|string\.h)>' \
      || true)
if [ -n "$bad" ]; then
    echo "FAIL: the guest side includes more than the wire ABI:"; echo "$bad"; exit 1
fi
echo "guest-deps: only <pvcore/abi/>, <pvcore/guest/>, <pvcore/ring.h> and freestanding headers"
