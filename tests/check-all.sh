#!/bin/bash
# The whole test suite, from a clean clone or an existing build:
# configure with warnings as errors if needed, build, run `make check`,
# then `make distcheck` (the tarball builds and passes too).  The last
# line is the total, from automake's test-suite summaries.
set -u
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

die() {
	echo "check-all: $*" >&2
	exit 1
}

if [ ! -x configure ]; then
	autoreconf -fi >"$log/autoreconf" 2>&1 ||
	    { cat "$log/autoreconf" >&2; die "autoreconf failed"; }
fi
if [ ! -f Makefile ]; then
	./configure --enable-strict >"$log/configure" 2>&1 ||
	    { tail -40 "$log/configure" >&2; die "configure failed"; }
fi
make -j2 >"$log/make" 2>&1 || { cat "$log/make" >&2; die "build failed"; }

pass=0
fail=0
status=0
count() {
	# automake prints "# PASS:  N" etc. at the end of each test run
	local p f e x
	p=$(sed -n 's/^# PASS: *\([0-9]*\)$/\1/p' "$1" | tail -1)
	f=$(sed -n 's/^# FAIL: *\([0-9]*\)$/\1/p' "$1" | tail -1)
	e=$(sed -n 's/^# ERROR: *\([0-9]*\)$/\1/p' "$1" | tail -1)
	x=$(sed -n 's/^# XPASS: *\([0-9]*\)$/\1/p' "$1" | tail -1)
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0} + ${e:-0} + ${x:-0}))
}

echo "== make check"
make -j2 check 2>&1 | tee "$log/check" | grep -E '^(FAIL|ERROR|XPASS|SKIP|# )'
if [ "${PIPESTATUS[0]}" -ne 0 ]; then
	status=1
	for f in tests/*.log; do
		grep -q -E '^(not ok|Bail out)' "$f" 2>/dev/null || continue
		echo "---- $f" >&2
		tail -40 "$f" >&2
	done
fi
count "$log/check"

echo "== make distcheck"
make -j2 distcheck >"$log/distcheck" 2>&1
if [ $? -ne 0 ]; then
	status=1
	tail -60 "$log/distcheck" >&2
	echo "check-all: make distcheck failed" >&2
	fail=$((fail + 1))
else
	echo "distcheck: the release tarball builds and passes"
fi

echo "$pass passed, $fail failed"
exit $status
