#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# Self-test of the fault-injecting PKCS#11 module (tests/faultmod/),
# driven through OpenSC's pkcs11-tool against a throwaway SoftHSM2 token.
# Output is TAP.  FAULTMOD names the built module.

: "${FAULTMOD:=$(dirname "$0")/.libs/faultmod.so}"
[ -f "$FAULTMOD" ] || FAULTMOD=$(dirname "$0")/../.libs/faultmod.so
SOFTHSM=${SOFTHSM:-/usr/lib/softhsm/libsofthsm2.so}

for tool in softhsm2-util pkcs11-tool; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "1..0 # SKIP $tool not installed"
		exit 0
	fi
done
if [ ! -f "$FAULTMOD" ] || [ ! -f "$SOFTHSM" ]; then
	echo "1..0 # SKIP no faultmod.so (set FAULTMOD) or no SoftHSM2"
	exit 0
fi
case $FAULTMOD in
/*) ;;
*) FAULTMOD=$PWD/$FAULTMOD ;;
esac

T=$(mktemp -d "${TMPDIR:-/tmp}/faultmod-selftest.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' HUP INT TERM

unset TK_FAULT_CONTROL TK_FAULT_STATE TK_FAULT_MODULE
export SOFTHSM2_CONF="$T/softhsm2.conf"
cat >"$SOFTHSM2_CONF" <<EOF
directories.tokendir = $T/tokens
objectstore.backend = file
log.level = ERROR
EOF
mkdir "$T/tokens"
if ! softhsm2-util --init-token --free --label t --pin 1234 \
    --so-pin 12345678 >"$T/log" 2>&1 ||
    ! pkcs11-tool --module "$SOFTHSM" -l --pin 1234 --keypairgen \
    --key-type EC:prime256v1 --id 01 --label ec256 >>"$T/log" 2>&1; then
	echo "1..0 # SKIP cannot build a SoftHSM2 token: $(tail -1 "$T/log")"
	exit 0
fi
head -c 32 /dev/urandom >"$T/data"

echo "1..16"
n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	failed=1
	echo "not ok $n - $1"
	sed 's/^/# /' "$T/out" 2>/dev/null
}

# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# Replace the control file atomically, one argument per line.
ctl() {
	printf '%s\n' "$@" >"$T/ctl.new" && mv "$T/ctl.new" "$T/ctl"
}

p11() {
	pkcs11-tool --module "$FAULTMOD" "$@" >"$T/out" 2>&1
}

sign() {
	p11 -l --pin 1234 --sign -m ECDSA --id 01 -i "$T/data" -o "$T/sig"
}

verify() {
	p11 --verify -m ECDSA --id 01 -i "$T/data" --signature-file "$T/sig" &&
	    grep -q 'Signature is valid' "$T/out"
}

count() {
	grep "^$1 " "$T/ctl.state" | cut -d' ' -f2
}

# 1: without TK_FAULT_CONTROL the module only forwards.
mkdir "$T/cwd"
check "pass-through lists the token and its key" sh -c '
	cd "$1" && pkcs11-tool --module "$2" -L -O >"$3/out" 2>&1 &&
	grep -q "token label *: t" "$3/out" &&
	grep -q "label: *ec256" "$3/out" &&
	[ -z "$(ls -A "$1")" ]' sh "$T/cwd" "$FAULTMOD" "$T"

export TK_FAULT_CONTROL="$T/ctl"

# 2: an empty control file changes nothing but counts.
ctl ''
check "empty control file: pass-through, calls counted" sh -c '
	pkcs11-tool --module "$1" -O >"$2/out" 2>&1 &&
	grep -q "label: *ec256" "$2/out" &&
	grep -q "^C_Initialize 1$" "$2/ctl.state"' sh "$FAULTMOD" "$T"

# 3, 4: removal and re-insertion.
ctl absent
p11 -T
check "absent: no slot with a token" grep -q 'No slots' "$T/out"
ctl ''
p11 -T
check "re-inserted: token back, generation 1" sh -c '
	grep -q "token label *: t" "$1/out" &&
	grep -q "^generation 1$" "$1/ctl.state"' sh "$T"

# 5, 6: one injected signing error, then signing works again.  (After a
# failed C_Sign pkcs11-tool tries C_SignUpdate, which must find the
# operation over.)
ctl 'fail C_Sign CKR_DEVICE_ERROR 1' count_reset
sign
check "fail C_Sign: first signature fails" sh -c '[ $1 -ne 0 ] &&
	grep -q "^C_Sign 1$" "$2/ctl.state" &&
	grep -q "C_SignUpdate.*CKR_OPERATION_NOT_INITIALIZED" "$2/out"' \
    sh $? "$T"
sign && verify
check "fail C_Sign: second signature verifies" test $? -eq 0

# 7-10: the emulated PIN retry counter.
ctl 'pin_tries 3'
p11 -l --pin 1111 -O
p11 -T
check "pin_tries: wrong PIN sets PIN count low" \
    grep -q 'user PIN count low' "$T/out"
p11 -l --pin 2222 -O
p11 -T
check "pin_tries: second wrong PIN sets final try" \
    grep -q 'final user PIN try' "$T/out"
p11 -l --pin 1234 -O
p11 -T
check "pin_tries: right PIN refills the counter" \
    sh -c '! grep -q "PIN count low" "$1/out"' sh "$T"
p11 -l --pin 1111 -O
p11 -l --pin 1111 -O
p11 -l --pin 1111 -O
p11 -T
locked_flag=$(grep -c 'user PIN locked' "$T/out")
p11 -l --pin 1234 -O
check "pin_tries: three wrong PINs lock, right PIN refused" \
    sh -c '[ "$1" = 1 ] && grep -q CKR_PIN_LOCKED "$2/out"' sh \
    "$locked_flag" "$T"

# 11: call counts, reset by count_reset.
ctl count_reset
p11 -l --pin 1234 -O
check "state file counts exactly one C_Login" \
    test "$(count C_Login)" = 1

# 12: hostile labels.
ctl 'attr ec256 label "evil\e[31mred\x1b[0m"'
p11 -O
check "label mutation delivers an escape sequence" \
    grep -q "$(printf 'evil\033\[31mred\033\[0m')" "$T/out"

# 13: OpenSC's answer to a wrong PIN.
ctl 'login_error CKR_GENERAL_ERROR'
p11 -l --pin 1111 -O
check "login_error: wrong PIN gives CKR_GENERAL_ERROR" \
    grep -q CKR_GENERAL_ERROR "$T/out"

# 14: always_auth: pkcs11-tool logs in again for the key, and it works.
ctl always_auth count_reset
sign && verify
check "always_auth: signature with a context-specific login" \
    test $? -eq 0 -a "$(count C_Login)" = 2

# 15: corrupt_sig.
ctl corrupt_sig
sign
ctl ''
verify
check "corrupt_sig: signature does not verify" test $? -ne 0

# 16: crash and hang.
ctl 'crash C_Sign'
(cd "$T" && ulimit -c 0 && sign)
crash_rc=$?
ctl 'hang C_FindObjectsInit'
timeout 2 pkcs11-tool --module "$FAULTMOD" -O >"$T/out" 2>&1
hang_rc=$?
ctl ''
check "crash C_Sign aborts, hang C_FindObjectsInit blocks" \
    test "$crash_rc" -gt 128 -a "$hang_rc" -eq 124

exit $failed
