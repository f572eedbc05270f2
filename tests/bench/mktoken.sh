#!/bin/sh
# mktoken.sh DIR NKEYS -- build a throwaway SoftHSM2 token for the benchmarks.
#
# DIR/softhsm2.conf points at DIR/tokens; export SOFTHSM2_CONF=DIR/softhsm2.conf
# to use it.  The token "tk bench" (user PIN $TK_BENCH_PIN, default 1234) holds
# bench-ec256 (id 02), bench-rsa2048 (id 01) and bench-ed25519 (id 05), made
# with pkcs11-tool as the test fixtures make theirs, plus NKEYS bulk key pairs
# made in one process by genkeys (found in $GENKEYS, $BENCH_DIR or next to
# this script): mostly P-256, every 50th RSA-2048, every 10th Ed25519.
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
mkdir -p "$dir/tokens"
SOFTHSM2_CONF=$dir/softhsm2.conf
export SOFTHSM2_CONF
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$dir/tokens" > "$SOFTHSM2_CONF"

# A throwaway token with a fixed test PIN: softhsm2-util and pkcs11-tool
# take it only on the command line.
softhsm2-util --init-token --free --label "tk bench" \
    --pin "$TK_BENCH_PIN" --so-pin 12345678 >/dev/null
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
if [ "$nkeys" -gt 0 ]; then
	"$GENKEYS" -t "tk bench" "$M" "$nkeys" >&2
fi
t1=$(now)
awk -v a="$t0" -v b="$t1" -v n=$((nkeys + 3)) -v d="$dir" \
    'BEGIN { printf "mktoken: %d key pairs in %s in %.1f s\n", n, d, b - a }' >&2
