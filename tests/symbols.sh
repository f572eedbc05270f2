#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The shared library exports exactly the public API: the symbols in its
# version script (src/libtokenkeys.map), each declared in tokenkeys.h and
# documented in tokenkeys(3); nothing else leaks out, and none of the
# programs' code (prompts, helper, agent, CLI: libtkprog.la) is inside.
srcdir=${abs_top_srcdir:-${srcdir:-.}}
lib=${abs_top_builddir:-.}/.libs/libtokenkeys.so
echo "1..5"
if [ ! -f "$lib" ]; then
	echo "not ok 1 - $lib built"; exit 0
fi
echo "ok 1 - $lib built"
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sort)
listed=$(sed -n 's/^[[:space:]]*\(tk_[a-z0-9_]*\);$/\1/p' \
    "$srcdir/src/libtokenkeys.map" | sort)
if [ "$exported" = "$listed" ]; then
	echo "ok 2 - exported symbols are exactly those of libtokenkeys.map"
else
	echo "not ok 2 - exported symbols are exactly those of libtokenkeys.map"
	diff <(echo "$listed") <(echo "$exported") 2>/dev/null | sed 's/^/# /' ||
	    printf '%s\n' "# exported: $exported"
fi
missing=
for s in $listed; do
	grep -q "[ *]$s(" "$srcdir/src/tokenkeys.h" || missing="$missing $s"
done
if [ -z "$missing" ]; then
	echo "ok 3 - every exported symbol is declared in tokenkeys.h"
else
	echo "not ok 3 - every exported symbol is declared in tokenkeys.h"
	echo "# missing:$missing"
fi
undoc=
for s in $listed; do
	grep -q "^\.Fn $s\b" "$srcdir/man/tokenkeys.3" || undoc="$undoc $s"
done
if [ -z "$undoc" ]; then
	echo "ok 4 - every exported symbol is documented in tokenkeys(3)"
else
	echo "not ok 4 - every exported symbol is documented in tokenkeys(3)"
	echo "# undocumented:$undoc"
fi

# Every function and object the program-only library defines, looked for
# in the shared library's own symbol table (local symbols included).
prog=${abs_top_builddir:-.}/.libs/libtkprog.a
if [ ! -f "$prog" ]; then
	echo "not ok 5 - libtokenkeys.so holds no program code # no $prog"
	exit 0
fi
progsyms=$(nm --defined-only "$prog" 2>/dev/null |
    awk 'NF == 3 && $2 ~ /^[TDBR]$/ && $3 !~ /^\./ {print $3}' | sort -u)
libsyms=$(nm --defined-only "$lib" | awk 'NF == 3 {print $3}' | sort -u)
both=$(comm -12 <(echo "$progsyms") <(echo "$libsyms") |
    grep -v -E '^(_init|_fini|main)$' | grep -v -E '^(__|\.)' || true)
if [ -n "$progsyms" ] && [ -z "$both" ]; then
	echo "ok 5 - libtokenkeys.so holds no program code"
else
	echo "not ok 5 - libtokenkeys.so holds no program code"
	echo "# also in the library:" $both
fi
