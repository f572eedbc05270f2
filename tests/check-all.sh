#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The whole test suite, from a clean clone or an existing build:
# configure with warnings as errors if needed, build, run `make check`,
# `make distcheck` (the tarball builds and passes too), `make check` again
# built with ASan+UBSan, the unit and fuzz replay tests under valgrind,
# and every libFuzzer target for TK_FUZZ_SECONDS (default 25) in a clang
# build; with TK_CHECK_DEBIAN=1 the Debian packages too.  The last line
# is the total, from automake's test-suite summaries.
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
if make -j2 distcheck >"$log/distcheck" 2>&1; then
	echo "distcheck: the release tarball builds and passes"
else
	status=1
	tail -60 "$log/distcheck" >&2
	echo "check-all: make distcheck failed" >&2
	fail=$((fail + 1))
fi

# The same tests once more, built with AddressSanitizer and UBSan, from
# the release tarball so the source tree's own build is left alone.
echo "== make check with ASan + UBSan"
tarball=$(ls -t tokenkeys-*.tar.gz 2>/dev/null | head -1)
if [ -z "$tarball" ] && ! make dist >"$log/dist" 2>&1; then
	cat "$log/dist" >&2
	die "make dist failed"
fi
tarball=$(ls -t tokenkeys-*.tar.gz | head -1)
mkdir "$log/asan"
tar -xzf "$tarball" -C "$log/asan"
asan=$(echo "$log"/asan/tokenkeys-*)
(
	cd "$asan" &&
	./configure --enable-strict --enable-sanitizers >"$log/asan.configure" 2>&1 &&
	make -j2 >"$log/asan.make" 2>&1
) || { tail -40 "$log"/asan.* >&2; die "sanitizer build failed"; }
# the SoftHSM and p11-kit libraries are not ours: leaks there are not
# reported, but any memory error anywhere still fails the test
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd "$asan" && make -j2 check) >"$log/asan.check" 2>&1
rc=$?
grep -E '^(FAIL|ERROR|XPASS|# )' "$log/asan.check"
if [ $rc -ne 0 ]; then
	status=1
	for f in "$asan"/tests/*.log; do
		grep -q -E '^(not ok|Bail out)|ERROR: AddressSanitizer|runtime error' \
		    "$f" 2>/dev/null || continue
		echo "---- asan: ${f#$asan/}" >&2
		tail -40 "$f" >&2
	done
fi
count "$log/asan.check"
unset ASAN_OPTIONS UBSAN_OPTIONS

# Unit and replay tests under valgrind: uninitialised reads and leaks of
# our own code (the list is $(valgrind_tests) in Makefile.am).
echo "== unit and fuzz replay tests under valgrind"
# $(valgrind_tests) is expanded by make itself, from tests/Makefile.am.
make check 'TESTS=$(valgrind_tests)' LOG_COMPILER="$top/tests/valgrind.sh" \
    >"$log/valgrind" 2>&1
rc=$?
grep -h -E '^(FAIL|ERROR|# )' "$log/valgrind"
if [ $rc -ne 0 ]; then
	status=1
	grep -h -B2 -A30 -E '^not ok|==[0-9]+==' tests/*.log tests/fuzz/*.log \
	    2>/dev/null |
	    head -80 >&2
fi
count "$log/valgrind"

# Every libFuzzer target for a bounded time under ASan + UBSan, in a clang
# build of its own from the release tarball, through make check so the
# results count below (tests/fuzz/timed-fuzzers.sh).  A crash fails the run,
# and the log printed here holds the report and the input in hex.
fsecs=${TK_FUZZ_SECONDS:-25}
echo "== fuzzers, $fsecs s each (ASan + UBSan)"
mkdir "$log/fuzz"
tar -xzf "$tarball" -C "$log/fuzz"
fz=$(echo "$log"/fuzz/tokenkeys-*)
if ! command -v clang >/dev/null; then
	echo "check-all: clang is not installed: the fuzzers did not run" >&2
	status=1
	fail=$((fail + 1))
elif ! (cd "$fz" && ./configure CC=clang --enable-fuzzing \
    >"$log/fuzz.configure" 2>&1 && make -j2 fuzz >"$log/fuzz.make" 2>&1)
then
	tail -40 "$log"/fuzz.* >&2
	echo "check-all: the fuzzing build failed" >&2
	status=1
	fail=$((fail + 1))
else
	# only the fuzzers: the other check programs are not needed here
	(cd "$fz" && TK_FUZZ_SECONDS=$fsecs make check \
	    TESTS=tests/fuzz/timed-fuzzers.sh check_PROGRAMS= \
	    check_LTLIBRARIES=) >"$log/fuzz.check" 2>&1
	rc=$?
	grep -E '^(PASS|FAIL|ERROR|# )' "$log/fuzz.check"
	if [ $rc -ne 0 ]; then
		status=1
		echo "---- fuzz: tests/fuzz/timed-fuzzers.sh.log" >&2
		cat "$fz/tests/fuzz/timed-fuzzers.sh.log" >&2 ||
		    tail -40 "$log/fuzz.check" >&2
	fi
	count "$log/fuzz.check"
fi

# The Debian packages: built, lintian, installed, used and purged
# (tests/debian-packages.sh).  It installs packages on the machine, so
# only when asked: .ci/run sets TK_CHECK_DEBIAN=1.
if [ "${TK_CHECK_DEBIAN:-0}" = 1 ]; then
	echo "== Debian packages"
	bash tests/debian-packages.sh >"$log/debian" 2>&1
	rc=$?
	grep -E '^(not ok|ok .* # SKIP|1\.\.0|Bail out)' "$log/debian"
	p=$(grep -c '^ok ' "$log/debian")
	f=$(grep -c '^not ok ' "$log/debian")
	echo "debian packages: $p passed, $f failed"
	pass=$((pass + p))
	fail=$((fail + f))
	if [ $rc -ne 0 ] || [ "$f" -gt 0 ]; then
		status=1
		[ "$f" -gt 0 ] || fail=$((fail + 1))
		grep -E '^#' "$log/debian" | tail -40 >&2
	fi
fi

echo "$pass passed, $fail failed"
exit $status
