#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The helper process and the agent's client of it (src/helper/hclient.h) against a
# throwaway SoftHSM2 token: listing, token state, logins (wrong PIN, right
# PIN, no retry), signatures with every key type verified by ssh-keygen -Y
# independently of our own verification, parallel signing, and a helper
# killed with SIGKILL being restarted.

. "$(dirname "$0")/lib.sh"

for tool in softhsm2-util pkcs11-tool ssh-keygen; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE not installed"
DRIVE=${abs_top_builddir:-$TK_TESTDIR/..}/tests/hclient-drive
[ -x "$DRIVE" ] || skip_all "$DRIVE not built"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"

plan 48

tk_tmpdir
tk_softhsm_init "$T"
PIN=1234
S=$(tk_token_new "tk helper" $PIN 12345678) || bail "cannot create a token"
tk_keygen "$S" $PIN EC:prime256v1 02 ec256 &&
tk_keygen "$S" $PIN rsa:2048 01 rsa2048 &&
tk_keygen "$S" $PIN EC:edwards25519 05 ed25519 || bail "cannot make keys"
mkdir "$T/sigs"

# The driver prints PASS:/FAIL: lines; each is a test point here.
"$DRIVE" "$TK_MODULE" $PIN "$T/sigs" >"$T/drive.out" 2>"$T/drive.err"
drc=$?
while IFS= read -r line; do
	case $line in
	PASS:*)	ok "${line#PASS: }" ;;
	FAIL:*)	not_ok "${line#FAIL: }" ;;
	'#'*)	echo "$line" ;;
	esac
done <"$T/drive.out"
is "$drc" 0 "the driver exits 0"
if [ -s "$T/drive.err" ]; then
	diag "driver stderr:" "$(cat "$T/drive.err")"
fi
check "no PIN in the driver's or helpers' output" \
    sh -c "! grep -q -e 9999 -e $PIN '$T/drive.err'"

# The listed keys are the ones `tokenkeys list` prints.
awk '/^KEY /{ print $2, $3 }' "$T/drive.out" | tk_sorted >"$T/listed"
"$TOKENKEYS" list "pkcs11:serial=$S" 2>/dev/null | awk '{ print $1, $2 }' |
    tk_sorted >"$T/expected"
is "$(cat "$T/listed")" "$(cat "$T/expected")" \
    "the helper lists the same keys as tokenkeys list"

# Signatures made through the helper, verified by OpenSSH.
for kind in ecdsa rsa ed25519; do
	awk -v k=$kind '$1 == "KEY" && $4 == k { print "signer", $2, $3 }' \
	    "$T/drive.out" >"$T/allowed.$kind"
	if ssh-keygen -Y check-novalidate -n tokenkeys-test \
	    -s "$T/sigs/$kind.sig" <"$T/sigs/$kind.msg" >"$T/ck.out" 2>&1; then
		ok "ssh-keygen -Y check-novalidate accepts the $kind signature"
	else
		not_ok "ssh-keygen -Y check-novalidate accepts the $kind signature"
		diag "$(cat "$T/ck.out")"
	fi
	if ssh-keygen -Y verify -f "$T/allowed.$kind" -I signer \
	    -n tokenkeys-test -s "$T/sigs/$kind.sig" \
	    <"$T/sigs/$kind.msg" >"$T/ck.out" 2>&1; then
		ok "ssh-keygen -Y verify: the $kind signature is by the listed key"
	else
		not_ok "ssh-keygen -Y verify: the $kind signature is by the listed key"
		diag "$(cat "$T/ck.out")"
	fi
done

# No helper outlives its client.
is "$(pgrep -f "hclient-drive __helper" | wc -l)" 0 "no helper process left"

# The helper command itself.
tk_run "$TOKENKEYS" __helper "$TK_MODULE"
is "$rc" 2 "tokenkeys __helper without a socket on fd 3 refuses to run"
tk_run "$TOKENKEYS" __helper --registry
check "tokenkeys __helper --registry prints the registry's module paths" \
    grep -q softhsm "$T/out"

done_testing
