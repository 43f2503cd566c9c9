#!/bin/sh
# The shape rule (docs/internals.md): calls between the core's files form no cycle, except
# the one inherent recursion between the page-type machinery and the page-table validator
# (pagetype.c <-> paging.c: validating a table takes types on what it names). Read from the
# freestanding archive's symbol tables: an edge a -> b when a.o references a global that
# b.o defines.
set -u
ar=${1:?usage: call-cycles.sh ARCHIVE}
nm -A "$ar" | awk '
    {
        n = split($1, p, ":"); obj = p[n - 1]; sub(/\.c\.o$/, "", obj); sub(/\.o$/, "", obj)
        if (NF == 3 && $2 ~ /^[TDRB]$/) def[$3] = obj
        if (NF == 3 && $2 == "U") { uses[++nu] = obj; sym[nu] = $3 }
        objs[obj] = 1
    }
    END {
        for (i = 1; i <= nu; i++)
            if ((sym[i] in def) && def[sym[i]] != uses[i]) r[uses[i], def[sym[i]]] = 1
        for (k in objs) for (i in objs) if (r[i, k]) for (j in objs) if (r[k, j]) r[i, j] = 1
        bad = 0
        for (a in objs) for (b in objs) if (a < b && r[a, b] && r[b, a]) {
            if (a == "pagetype" && b == "paging") { print "allowed cycle: pagetype <-> paging"; continue }
            print "call cycle between " a " and " b; bad = 1
        }
        if (!(("pagetype", "paging") in r)) print "note: pagetype no longer calls paging"
        exit bad
    }'
