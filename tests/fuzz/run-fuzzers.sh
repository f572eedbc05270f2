#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Build the libFuzzer targets in a build directory of their own and run
# each for SECONDS over a temporary copy of its seed corpus, so the inputs
# libFuzzer adds never dirty the repository.  A crash, leak, timeout or
# out-of-memory fails the run: the report, the input in hex and the
# command that replays it are printed, and the input is kept under
# $TK_FUZZ_BUILD/artifacts.
#
#	tests/fuzz/run-fuzzers.sh SECONDS [NAME ...]
#
# TK_FUZZ_BUILD	build directory (default: build-fuzz in the source tree)
# CC		compiler for that build (default: clang)
set -eu

secs=${1:?usage: run-fuzzers.sh SECONDS [NAME ...]}
shift
names=${*:-$(cd "$srcdir/tests/fuzz/corpus" && echo *)}
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
build=${TK_FUZZ_BUILD:-$srcdir/build-fuzz}
jobs=$(nproc 2>/dev/null || echo 2)

mkdir -p "$build"
build=$(cd "$build" && pwd)
if [ -f "$srcdir/config.status" ]; then
	# automake refuses a VPATH build from a source tree configured in
	# place: build from a copy of the sources (tracked and new files;
	# tar keeps their times, so rebuilds stay incremental).
	src=$build/src
	obj=$build/obj
	mkdir -p "$src"
	(cd "$srcdir" && git ls-files -co --exclude-standard |
	    while read -r f; do [ ! -e "$f" ] || echo "$f"; done |
	    tar -T - -cf -) | tar -xf - -C "$src"
else
	src=$srcdir
	obj=$build
fi
if [ ! -x "$src/configure" ]; then
	(cd "$src" && autoreconf -fi) >"$build/autoreconf.log" 2>&1 ||
	    { cat "$build/autoreconf.log"; exit 1; }
fi
mkdir -p "$obj"
if [ ! -f "$obj/Makefile" ]; then
	echo "run-fuzzers: configuring in $obj"
	(cd "$obj" && "$src/configure" CC="${CC:-clang}" --enable-fuzzing) \
	    >"$build/configure.log" 2>&1 ||
	    { tail -n 30 "$build/configure.log"; exit 1; }
fi
make -C "$obj" -s -j"$jobs" fuzz

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tk-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
failed=""
for name in $names; do
	prog=$obj/tests/fuzz/fuzz-$name
	work=$tmp/$name
	mkdir -p "$work/corpus" "$work/art"
	cp -R "$srcdir/tests/fuzz/corpus/$name/." "$work/corpus/"
	rm -f "$work/corpus/README"
	nseeds=$(ls "$work/corpus" | wc -l)
	dict=""
	if [ -f "$srcdir/tests/fuzz/dict/$name.dict" ]; then
		dict=-dict=$srcdir/tests/fuzz/dict/$name.dict
	fi
	case $name in
	decode|agent)	maxlen=16384 ;;
	*)	maxlen=4096 ;;
	esac
	echo "run-fuzzers: fuzz-$name for $secs s from $nseeds seeds"
	if "$prog" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=$maxlen -print_final_stats=1 \
	    -artifact_prefix="$work/art/" $dict "$work/corpus" \
	    >"$work/log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		    "$work/log")
		cov=$(grep -E '^#[0-9]+.*cov: ' "$work/log" | tail -n 1 |
		    sed -E 's/.*(cov: [0-9]+ ft: [0-9]+ corp: [^ ]+).*/\1/')
		echo "run-fuzzers: fuzz-$name ok: $execs execs, $cov," \
		    "$(ls "$work/corpus" | wc -l) inputs"
		continue
	fi
	failed="$failed $name"
	echo "run-fuzzers: fuzz-$name FAILED" >&2
	grep -v '^#[0-9]' "$work/log" | tail -n 80 >&2
	mkdir -p "$build/artifacts"
	for a in "$work"/art/*; do
		[ -f "$a" ] || continue
		keep=$build/artifacts/$name-$(basename "$a")
		cp "$a" "$keep"
		echo "run-fuzzers: input ($(wc -c <"$a") bytes), kept as" \
		    "$keep:" >&2
		od -An -tx1 -v "$a" >&2
		echo "run-fuzzers: replay with:" \
		    "$obj/tests/fuzz/fuzz-$name $keep" >&2
	done
done
if [ -n "$failed" ]; then
	echo "run-fuzzers: FAILED:$failed" >&2
	exit 1
fi
echo "run-fuzzers: all passed"
