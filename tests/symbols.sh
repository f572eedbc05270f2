#!/bin/bash
# The shared library exports exactly the public API: the symbols listed in
# libtokenkeys.sym, each declared in tokenkeys.h and documented in
# tokenkeys(3); nothing else leaks out.
srcdir=${abs_top_srcdir:-${srcdir:-.}}
lib=${abs_top_builddir:-.}/.libs/libtokenkeys.so
echo "1..4"
if [ ! -f "$lib" ]; then
	echo "not ok 1 - $lib built"; exit 0
fi
echo "ok 1 - $lib built"
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sort)
listed=$(sort "$srcdir/src/libtokenkeys.sym")
if [ "$exported" = "$listed" ]; then
	echo "ok 2 - exported symbols are exactly libtokenkeys.sym"
else
	echo "not ok 2 - exported symbols are exactly libtokenkeys.sym"
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
