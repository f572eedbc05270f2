#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys list against a token that lies (the fault-injecting module):
# empty, huge, unavailable and garbage attributes, escape sequences in
# labels, a module that does not load.  Never a crash, never a
# half-written line: the bad key is named and skipped, the good ones are
# listed, the exit status says something went wrong.
. "$(dirname "$0")/lib.sh"
tk_tmpdir
[ -f "${FAULTMOD:-}" ] || skip_all "fault module not built (FAULTMOD)"
tk_softhsm_init "$T/hsm"
plan 16

serial=$(tk_token_new "hostile" 1234 12345678) || bail "token"
tk_keygen "$serial" 1234 EC:prime256v1 01 good || bail "good key"
tk_keygen "$serial" 1234 EC:prime256v1 02 victim || bail "victim key"
tk_keygen "$serial" 1234 rsa:2048 03 rsavictim || bail "rsa key"
export TK_FAULT_MODULE=$TK_MODULE TK_FAULT_CONTROL=$T/control
: >"$T/control"
good=$("$TOKENKEYS" list --module "$FAULTMOD" 'pkcs11:object=good')
[ -n "$good" ] || bail "the fault module passes nothing through"

control() {
	printf '%s\n' "$@" >"$T/control.new" && mv "$T/control.new" "$T/control"
}

# run MUTATION...: list everything, keep status, stdout, stderr
run() {
	control "$@"
	"$TOKENKEYS" list --module "$FAULTMOD" >"$T/out" 2>"$T/err"
	rc=$?
}

for m in "victim empty CKA_EC_POINT" "victim huge CKA_EC_POINT" \
    "victim unavailable CKA_EC_POINT" "victim baddata CKA_EC_POINT" \
    "victim baddata CKA_EC_PARAMS" "rsavictim baddata CKA_MODULUS" \
    "rsavictim empty CKA_PUBLIC_EXPONENT" "rsavictim huge CKA_MODULUS"; do
	run "attr $m"
	victim=${m%% *}
	if [ $rc -ge 0 ] && [ $rc -le 1 ] && grep -qF "$good" "$T/out" &&
	    ! grep -q "object=$victim[;?]" "$T/out" &&
	    [ "$(grep -c . "$T/out")" -eq 2 ] &&
	    awk 'NF != 3 { exit 1 }' "$T/out"; then
		ok "$m: no crash, the other keys listed whole, not the bad one"
	else
		not_ok "$m: no crash, the other keys listed whole, not the bad one (rc $rc)"
		diag "$(cat "$T/out" "$T/err")"
	fi
done

run 'attr victim baddata CKA_EC_POINT'
is "$rc" 1 "a key with bad attributes makes the exit status 1"
check "and is named on stderr" grep -q 'skipping public key "victim"' "$T/err"

run 'attr victim label "evil\e]0;owned\x07\e[2J"'
if grep -q "$(printf '\033')" "$T/out" "$T/err"; then
	not_ok "escape sequences in a label never reach the terminal"
else
	ok "escape sequences in a label never reach the terminal"
fi
"$TOKENKEYS" list --module "$FAULTMOD" --comment label >"$T/out" 2>&1
check "--comment label shows the escaped label" \
    grep -qF 'evil\x1b]0;owned\x07\x1b[2J' "$T/out"

control ""
"$TOKENKEYS" list --module "$T/nonexistent.so" >"$T/out" 2>"$T/err"
rc=$?
is "$rc:$(cat "$T/out")" "1:" "a module that does not load: exit 1, no output"
check "and its name and the cause are on stderr" \
    grep -q "cannot load module $T/nonexistent.so" "$T/err"

control "fail C_GetSlotList CKR_DEVICE_ERROR always"
"$TOKENKEYS" list --module "$FAULTMOD" >"$T/out" 2>"$T/err"
rc=$?
is "$rc:$(cat "$T/out")" "1:" "a module whose slot list fails: exit 1"
check "and the failure is named" grep -q "cannot list slots" "$T/err"
done_testing
