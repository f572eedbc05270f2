#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Run every libFuzzer target (ASan + UBSan) for a bounded time, as TAP:
# the test that make check runs in a build configured with
# `./configure CC=clang --enable-fuzzing` (tests/check-all.sh does this
# after `make fuzz`).  There is one fuzzer per seed corpus
# (tests/fuzz/corpus/NAME -> tests/fuzz/fuzz-NAME); each starts from a
# temporary copy of its corpus, so the sources stay clean.
#
# A crash, leak, timeout or out-of-memory is a failed test: the log gets
# the sanitizer's report, the input in hex and the command that replays
# it, and the input is kept under tests/fuzz/artifacts in the build dir.
#
# TK_FUZZ_SECONDS	time per fuzzer (default 20)
set -u

: "${abs_top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${abs_top_builddir:=$abs_top_srcdir}"
secs=${TK_FUZZ_SECONDS:-20}
corpora=$abs_top_srcdir/tests/fuzz/corpus
names=$(cd "$corpora" && ls)
arts=$abs_top_builddir/tests/fuzz/artifacts

set -- $names
built=0
for name in $names; do
	[ -x "$abs_top_builddir/tests/fuzz/fuzz-$name" ] && built=1
done
if [ $built = 0 ]; then
	echo "1..0 # SKIP no fuzz-* programs: configure CC=clang" \
	    "--enable-fuzzing, then make fuzz"
	exit 0
fi
echo "1..$#"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tk-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0
for name in $names; do
	n=$((n + 1))
	prog=$abs_top_builddir/tests/fuzz/fuzz-$name
	if [ ! -x "$prog" ]; then
		echo "not ok $n - fuzz-$name: not built (make fuzz)"
		continue
	fi
	work=$tmp/$name
	mkdir -p "$work/corpus" "$work/art"
	cp -R "$corpora/$name/." "$work/corpus/"
	rm -f "$work/corpus/README"
	dict=
	if [ -f "$abs_top_srcdir/tests/fuzz/dict/$name.dict" ]; then
		dict=-dict=$abs_top_srcdir/tests/fuzz/dict/$name.dict
	fi
	case $name in
	decode|agent)	maxlen=16384 ;;
	*)		maxlen=4096 ;;
	esac
	if "$prog" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=$maxlen -print_final_stats=1 \
	    -artifact_prefix="$work/art/" $dict "$work/corpus" \
	    >"$work/log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		    "$work/log")
		cov=$(grep -E '^#[0-9]+.*cov: ' "$work/log" | tail -n 1 |
		    sed -E 's/.*(cov: [0-9]+ ft: [0-9]+).*/\1/')
		echo "ok $n - fuzz-$name: ${secs} s, ${execs:-?} inputs," \
		    "${cov:-no coverage line}, corpus $(ls "$work/corpus" |
		    wc -l) inputs"
		continue
	fi
	echo "not ok $n - fuzz-$name FAILED (crash, leak, timeout or OOM)"
	grep -v '^#[0-9]' "$work/log" | tail -n 100 | sed 's/^/# /'
	mkdir -p "$arts"
	for a in "$work"/art/*; do
		[ -f "$a" ] || continue
		keep=$arts/$name-$(basename "$a")
		cp "$a" "$keep"
		echo "# the input ($(wc -c <"$a") bytes), kept as $keep:"
		od -An -tx1 -v "$a" | sed 's/^/# /'
		echo "# replay it with: $prog $keep"
		echo "# (or without libFuzzer: tests/fuzz/fuzz-$name $keep in a plain build)"
	done
done
