#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# mktoken.sh DIR NKEYS -- build a throwaway SoftHSM2 token for the benchmarks.
#
# DIR/softhsm2.conf points at DIR/tokens; export SOFTHSM2_CONF=DIR/softhsm2.conf
# to use it.  The token "tk bench" (user PIN $TK_BENCH_PIN, default 1234) holds
# bench-ec256 (id 02), bench-rsa2048 (id 01) and bench-ed25519 (id 05), made
# with pkcs11-tool as the test fixtures make theirs, plus NKEYS bulk key pairs
# made by genkeys (found in $GENKEYS, $BENCH_DIR or next to this script):
# mostly P-256, every 50th RSA-2048, every 10th Ed25519.
#
# SoftHSM's file store re-reads its whole token directory on every
# operation, so making n keys in one token costs O(n^2): 1000 keys took
# minutes on a loaded machine.  The bulk keys are therefore made in
# chunks of BENCH_CHUNK (default 100), each in its own copy of the freshly
# initialised, still empty token (same token key, PIN and serial), two
# at a time, and the chunks' object files are then moved into the token:
# the result is the token one long genkeys run would have made.  The
# chunks are made in /dev/shm when it is there (SoftHSM writes each
# object many times over while making it), or in BENCH_GENTMP.
#
# With BENCH_CACHE set to a directory, a finished token is kept there
# under a name made from everything that decides its contents (this
# script, the genkeys binary, NKEYS, the module and SoftHSM's version)
# and copied from there on the next run with the same inputs.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: mktoken.sh DIR NKEYS" >&2
	exit 2
fi
dir=$1
nkeys=$2
case $nkeys in
''|*[!0-9]*) echo "mktoken.sh: NKEYS must be a number, not \"$nkeys\"" >&2; exit 2 ;;
esac
M=${BENCH_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
TK_BENCH_PIN=${TK_BENCH_PIN:-1234}
export TK_BENCH_PIN
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${GENKEYS:-}" ]; then
	GENKEYS=${BENCH_DIR:-$here}/genkeys
fi
if [ "$nkeys" -gt 0 ] && [ ! -x "$GENKEYS" ]; then
	echo "mktoken.sh: $GENKEYS not built (set GENKEYS or BENCH_DIR)" >&2
	exit 1
fi

now() { date +%s.%N; }
t0=$(now)
CHUNK=${BENCH_CHUNK:-100}
case $CHUNK in
''|*[!0-9]*|0) echo "mktoken.sh: BENCH_CHUNK must be a positive number" >&2; exit 2 ;;
esac

conf() {	# conf DIR: a SoftHSM configuration for the tokens in DIR/tokens
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
	    "$1/tokens" > "$1/softhsm2.conf"
}

key=
if [ -n "${BENCH_CACHE:-}" ]; then
	key=$({ cat "$here/mktoken.sh"
		[ "$nkeys" -gt 0 ] && cat "$GENKEYS"
		echo "$nkeys $CHUNK $M $TK_BENCH_PIN"
		softhsm2-util --version 2>&1 || :; } | sha256sum | cut -c1-16)
	if [ -f "$BENCH_CACHE/$key/done" ]; then
		mkdir -p "$dir"
		rm -rf "$dir/tokens"
		cp -a "$BENCH_CACHE/$key/tokens" "$dir/tokens"
		conf "$dir"
		awk -v a="$t0" -v b="$(now)" -v n=$((nkeys + 3)) -v d="$dir" \
		    'BEGIN { printf "mktoken: %d key pairs in %s in %.1f s " \
		    "(copied from the cache)\n", n, d, b - a }' >&2
		exit 0
	fi
fi

mkdir -p "$dir/tokens"
conf "$dir"
SOFTHSM2_CONF=$dir/softhsm2.conf
export SOFTHSM2_CONF

# A throwaway token with a fixed test PIN: softhsm2-util and pkcs11-tool
# take it only on the command line.
softhsm2-util --init-token --free --label "tk bench" \
    --pin "$TK_BENCH_PIN" --so-pin 12345678 >/dev/null
tokdir=$(cd "$dir/tokens" && ls -d */ | head -1)
tokdir=${tokdir%/}

# The chunks' copies of the empty token, before any key is made.
nchunks=0
gtmp=
cleanup() { [ -z "$gtmp" ] || rm -rf "$gtmp"; }
trap cleanup EXIT
if [ "$nkeys" -gt 0 ]; then
	nchunks=$(((nkeys + CHUNK - 1) / CHUNK))
	g=${BENCH_GENTMP:-}
	if [ -z "$g" ]; then
		g=$dir
		[ -d /dev/shm ] && [ -w /dev/shm ] && g=/dev/shm
	fi
	gtmp=$(mktemp -d "$g/tk-mktoken.XXXXXX")
	for ((c = 0; c < nchunks; c++)); do
		mkdir -p "$gtmp/chunk$c/tokens"
		cp -a "$dir/tokens/$tokdir" "$gtmp/chunk$c/tokens/"
		conf "$gtmp/chunk$c"
	done
fi

gen() {
	pkcs11-tool --module "$M" --token-label "tk bench" -l \
	    --pin "$TK_BENCH_PIN" --keypairgen "$@" >/dev/null 2>"$dir/pkcs11-tool.err" || {
		echo "mktoken.sh: pkcs11-tool --keypairgen $*:" >&2
		cat "$dir/pkcs11-tool.err" >&2
		exit 1
	}
}
gen --key-type EC:prime256v1 --id 02 --label bench-ec256
gen --key-type rsa:2048 --id 01 --label bench-rsa2048
gen --key-type EC:edwards25519 --id 05 --label bench-ed25519
rm -f "$dir/pkcs11-tool.err"

# chunk C: keys C*CHUNK .. up to NKEYS, in the chunk's own token copy
chunk() {
	local c=$1 n=$CHUNK
	[ $(((c + 1) * CHUNK)) -gt "$nkeys" ] && n=$((nkeys - c * CHUNK))
	SOFTHSM2_CONF=$gtmp/chunk$c/softhsm2.conf "$GENKEYS" -s $((c * CHUNK)) \
	    -t "tk bench" "$M" "$n" >"$gtmp/chunk$c/log" 2>&1
}
if [ "$nchunks" -gt 0 ]; then
	fail=0
	for ((c = 0; c < nchunks; c += 2)); do
		chunk $c & p1=$!
		p2=
		if [ $((c + 1)) -lt "$nchunks" ]; then
			chunk $((c + 1)) & p2=$!
		fi
		wait $p1 || fail=1
		[ -z "$p2" ] || wait $p2 || fail=1
		[ $fail = 0 ] || break
	done
	for ((c = 0; c < nchunks; c++)); do
		if [ $fail = 1 ] && [ -f "$gtmp/chunk$c/log" ]; then
			cat "$gtmp/chunk$c/log" >&2
		fi
	done
	if [ $fail = 1 ]; then
		echo "mktoken.sh: genkeys failed" >&2
		exit 1
	fi
	# Each object is a file named by a fresh UUID (with its lock file):
	# move the chunks' objects, not their copies of the token's own.
	for ((c = 0; c < nchunks; c++)); do
		find "$gtmp/chunk$c/tokens/$tokdir" -maxdepth 1 -type f \
		    \( -name '*.object' -o -name '*.lock' \) \
		    ! -name token.object ! -name token.lock \
		    -exec mv -n -t "$dir/tokens/$tokdir" {} +
		rm -rf "$gtmp/chunk$c"
	done
	made=$(find "$dir/tokens/$tokdir" -maxdepth 1 -name '*.object' \
	    ! -name token.object | wc -l)
	if [ "$made" -ne $((2 * (nkeys + 3))) ]; then
		echo "mktoken.sh: the token has $made objects, not $((2 * (nkeys + 3)))" >&2
		exit 1
	fi
fi
if [ -n "$key" ]; then
	rm -rf "$BENCH_CACHE/$key"
	mkdir -p "$BENCH_CACHE/$key"
	cp -a "$dir/tokens" "$BENCH_CACHE/$key/tokens"
	touch "$BENCH_CACHE/$key/done"
fi
t1=$(now)
awk -v a="$t0" -v b="$t1" -v n=$((nkeys + 3)) -v d="$dir" \
    'BEGIN { printf "mktoken: %d key pairs in %s in %.1f s\n", n, d, b - a }' >&2
