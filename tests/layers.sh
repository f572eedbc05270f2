#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The shape of the tree (doc/architecture.md):
#  - a file includes nothing from a folder above its own (common, pkcs11,
#    ssh, prompt, helper, agent, cli, from the bottom up);
#  - no object of src/ and pkcs11/ uses a symbol of an object that uses
#    one of its own, directly or round a longer loop (the link map, from
#    nm, has no cycle);
#  - no C file is over 800 lines.
srcdir=${abs_top_srcdir:-${srcdir:-.}}
build=${abs_top_builddir:-.}
echo "1..3"

rank() {
	case $1 in
	src/common/*) echo 0 ;;
	pkcs11/*) echo 1 ;;
	src/ssh/*) echo 2 ;;
	src/prompt/*) echo 3 ;;
	src/helper/*) echo 4 ;;
	src/agent/*) echo 5 ;;
	src/cli/*) echo 6 ;;
	*) echo -1 ;;
	esac
}

bad=
cd "$srcdir" || exit 1
for f in src/*/*.[ch] pkcs11/*.[ch]; do
	r=$(rank "$f")
	for inc in $(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		case $inc in
		*/*) ;;
		tokenkeys.h) continue ;;
		*) bad="$bad $f:$inc(unqualified)"; continue ;;
		esac
		ir=$(rank "$inc")
		[ "$inc" = "${inc#pkcs11/}" ] && ir=$(rank "src/$inc")
		if [ "$ir" -lt 0 ] || [ "$ir" -gt "$r" ]; then
			bad="$bad $f:$inc"
		fi
	done
done
if [ -z "$bad" ]; then
	echo "ok 1 - no file includes a header from a higher layer"
else
	echo "not ok 1 - no file includes a header from a higher layer"
	printf '# %s\n' $bad
fi
cd - >/dev/null || exit 1

# Edges "user definer" between the objects of both convenience libraries
# and main.o; tsort names the files of any loop.
edges=$(
	for a in "$build/.libs/libtkcore.a" "$build/.libs/libtkprog.a" \
	    "$build/src/cli/main.o"; do
		nm -A -P --defined-only "$a" 2>/dev/null |
		    awk '$3 ~ /^[TDBR]$/ { print "D", $1, $2 }'
		nm -A -P --undefined-only "$a" 2>/dev/null |
		    awk '{ print "U", $1, $2 }'
	done | sed 's/^\([DU]\) [^ ]*\[\([^]]*\)\]:/\1 \2/; s/^\([DU]\) .*\/\([^/]*\):/\1 \2/' |
	awk '$1 == "D" { def[$3] = $2 } $1 == "U" { use[NR] = $2 " " $3 }
	    END { for (i in use) { split(use[i], u, " ");
		if ((u[2] in def) && def[u[2]] != u[1]) print u[1], def[u[2]] } }' |
	sort -u)
nobj=$(echo "$edges" | wc -l)
loops=$(echo "$edges" | tsort 2>&1 >/dev/null | grep -v 'input contains a loop')
if [ "$nobj" -gt 20 ] && [ -z "$loops" ]; then
	echo "ok 2 - the objects' link map has no cycle ($nobj edges)"
else
	echo "not ok 2 - the objects' link map has no cycle ($nobj edges)"
	echo "$loops" | sed 's/^/# /'
fi

big=$(cd "$srcdir" && wc -l src/*/*.c pkcs11/*.c | awk '$2 != "total" && $1 > 800 { print $2 "(" $1 ")" }')
if [ -z "$big" ]; then
	echo "ok 3 - no C file in src/ or pkcs11/ is over 800 lines"
else
	echo "not ok 3 - no C file in src/ or pkcs11/ is over 800 lines"
	printf '# %s\n' $big
fi
