#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys passwd and unblock on a throwaway SoftHSM token behind the
# fault module (which counts C_Login and C_SetPIN and emulates the PIN
# retry counter): old PIN once, new PIN twice, never retried; a mismatch
# or a short PIN costs no try; a locked PIN is refused and unblocked with
# the SO PIN; a running agent asks again after the change; PIN pads.
. "$(dirname "$0")/lib.sh"
for tool in softhsm2-util pkcs11-tool; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE missing"
[ -f "${FAULTMOD:-}" ] || skip_all "fault module not built (FAULTMOD)"
tk_tmpdir
[ -n "${KEEP:-}" ] && trap - EXIT
tk_softhsm_init "$T/hsm"
plan 45

S=$(tk_token_new "pw one" 1234 12345678) || bail "token"
FAULTMOD_RP=$(realpath "$FAULTMOD")
TK_FAULT_CONTROL=$T/ctl
export TK_FAULT_CONTROL
unset TK_FAULT_STATE TK_FAULT_MODULE
tk_fault_ctl "pin_tries 3"
uri="pkcs11:serial=$S?module-path=$FAULTMOD_RP"

# askpass answering the lines of $T/answers in order, one per prompt
cat >"$T/seq.sh" <<EOS
#!/bin/sh
n=\$((\$(cat "$T/n") + 1))
echo \$n >"$T/n"
printf '%s\n' "\$1" >>"$T/prompts"
sed -n "\${n}p" "$T/answers"
EOS
chmod 755 "$T/seq.sh"
export SSH_ASKPASS=$T/seq.sh SSH_ASKPASS_REQUIRE=force
unset DISPLAY WAYLAND_DISPLAY

# pw VERB ANSWER...: run tokenkeys VERB on the token with these answers;
# $rc, $T/err, prompts asked in $asked, C_Login/C_SetPIN/C_InitPIN calls
# in $calls ("L S I").
pw() {
	local verb=$1 l s i
	shift
	[ "$1" = --so ] && { verb="$verb --so"; shift; }
	printf '%s\n' "$@" >"$T/answers"
	echo 0 >"$T/n"
	: >"$T/prompts"
	l=$(tk_fault_count C_Login)
	s=$(tk_fault_count C_SetPIN)
	i=$(tk_fault_count C_InitPIN)
	# shellcheck disable=SC2086
	"$TOKENKEYS" $verb "$uri" </dev/null >"$T/out" 2>"$T/err"
	rc=$?
	asked=$(cat "$T/n")
	calls="$(($(tk_fault_count C_Login) - l)) $(($(tk_fault_count C_SetPIN) - s)) $(($(tk_fault_count C_InitPIN) - i))"
}
# works PIN / fails PIN: a user login with PIN succeeds / fails with PIN succeeds (straight on SoftHSM)
works() {
	tk_p11tool --token-label "pw one" --login --pin "$1" --list-objects \
	    >/dev/null 2>&1
}
fails() { ! works "$1"; }

# ------------------------------------------------------------- passwd
pw passwd 1234 5678 5678
is "$rc:$asked:$calls" "0:3:0 1 0" \
    "passwd: old PIN once, new PIN twice, one C_SetPIN, no C_Login"
check "  the new PIN works" works 5678
check "  the old one no longer does" fails 1234
check "  the prompts say which PIN and which token" \
    grep -q 'Current PIN for token "pw one"' "$T/prompts"
check "  and ask the new one again" \
    grep -q 'New PIN again for token "pw one"' "$T/prompts"

pw passwd 5678 1111 2222
is "$rc:$asked:$calls" "1:3:0 0 0" "two different new PINs: no token call"
check "  saying so" grep -q 'the two new PINs differ' "$T/err"
pw passwd 5678 12 12
is "$rc:$calls" "1:0 0 0" "a new PIN shorter than the token allows: no token call"
check "  saying how long it must be" grep -q 'must be 4 to' "$T/err"
check "  the PIN is still the old one" works 5678

pw passwd 9999 1111 1111
is "$rc:$asked:$calls" "1:3:0 1 0" "a wrong old PIN: one C_SetPIN, never retried"
check "  saying so" grep -q 'the PIN was not changed: wrong PIN' "$T/err"
is "$(tk_fault_pins_left)" 2 "  it cost exactly one try"

# ----------------------------------------------------- the final try
pw passwd 9999 1111 1111
pw passwd "" 
is "$rc:$calls:$(tk_fault_pins_left)" "1:0 0 0:1" \
    "on the final try, cancelling the prompt tries nothing"
check "  the prompt said it is the last try" grep -q 'last try' "$T/prompts"
pw passwd 5678 4321 4321
is "$rc:$calls:$(tk_fault_pins_left)" "0:0 1 0:3" \
    "the right PIN on the final try changes it and refills the counter"

# ------------------------------------------------- locked, and unblock
pw passwd 1 2222 2222
pw passwd 1 2222 2222
pw passwd 1 2222 2222
is "$(tk_fault_pins_left)" 0 "three wrong old PINs lock the PIN"
pw passwd 4321 2222 2222
is "$rc:$asked:$calls" "1:0:0 0 0" "passwd on a locked PIN asks and tries nothing"
check "  and says to use unblock" \
    grep -q 'is locked: PIN retries exhausted; unlock it with tokenkeys unblock' "$T/err"

pw unblock 87654321 7777 7777
is "$rc:$asked:$calls" "1:3:1 0 0" "unblock with a wrong SO PIN: one SO login, no C_InitPIN"
check "  saying so" grep -q 'SO login failed: wrong PIN' "$T/err"
pw unblock 12345678 7777 7777
is "$rc:$asked:$calls:$(tk_fault_pins_left)" "0:3:1 0 1:3" \
    "unblock: SO login, C_InitPIN, the PIN is unlocked"
check "  the new PIN works" works 7777
check "  the prompt asked for the SO PIN" grep -q 'SO PIN for token "pw one"' "$T/prompts"

tk_fault_ctl "pin_tries 3" "read_only"
pw passwd 7777 1111 1111
is "$rc:$asked:$calls" "1:0:0 0 0" "passwd on a read-only token: nothing asked or tried"
check "  saying so" grep -q 'token "pw one" is read-only' "$T/err"
pw unblock 12345678 1111 1111
is "$rc:$asked:$calls" "1:0:0 0 0" "unblock on a read-only token: nothing asked or tried"
tk_fault_ctl "pin_tries 3"

pw passwd --so 12345678 11112222 11112222
is "$rc:$calls" "0:1 1 0" "passwd --so: SO login and C_SetPIN"
pw unblock 11112222 8888 8888
is "$rc" 0 "  the new SO PIN unblocks"

# ------------------------------------- a running agent notices passwd
# A card forgets every login when its PIN changes; the agent must not
# keep failing on the login it held, nor trust the middleware's word that
# it is still logged in.
command -v ssh-keygen >/dev/null || bail "ssh-keygen missing"
tk_keygen "$S" 8888 EC:prime256v1 09 agentkey || bail "key"
tk_fault_ctl "pin_tries 3" "setpin_logout"
tk_agent_askpass
echo 8888 >"$T/agent.pin"
tk_agent_start ag -P "$(dirname "$FAULTMOD_RP")/*,/usr/lib*/*" "$uri" ||
    bail "agent"
"$TOKENKEYS" list "$uri" 2>/dev/null | grep agentkey >"$T/ag.pub"
echo "message $RANDOM" >"$T/msg"
asign() {
	rm -f "$T/msg.sig"
	SSH_AUTH_SOCK=$T/ag.sock ssh-keygen -Y sign -n file \
	    -f "$T/ag.pub" "$T/msg" </dev/null >/dev/null 2>&1 &&
	    test -s "$T/msg.sig"
}
asign
is "$?:$(tk_pin_prompts)" "0:1" "the agent signs after one PIN prompt"
asign
is "$?:$(tk_pin_prompts)" "0:1" "  and again without one"
pw passwd 8888 2468 2468
is "$rc" 0 "tokenkeys passwd while the agent holds a login"
echo 2468 >"$T/agent.pin"
logins=$(tk_fault_count C_Login)
asign
is "$?:$(tk_pin_prompts):$(($(tk_fault_count C_Login) - logins))" "0:2:1" \
    "the agent's next signature asks for the PIN again and signs (one C_Login)"
asign
is "$?:$(tk_pin_prompts)" "0:2" "  and the one after needs no prompt"
[ -n "${KEEP:-}" ] && diag "$(cat "$T/ag.log")"
tk_agent_stop "$TK_AGENT_PID"

# ----------------------------------------------------------- PIN pad
# The reader's keypad takes the PINs: C_SetPIN and C_InitPIN with none,
# the SO login with none; nothing is asked here.
tk_fault_ctl "pin_tries 3" "protected_auth" "pin 2468" "pad_new 1357"
pw passwd
is "$rc:$asked:$calls" "0:0:0 1 0" \
    "passwd on a PIN pad: nothing asked here, one C_SetPIN"
check "  telling the user to use the keypad" grep -q \
    'token "pw one": enter the old and the new PIN on the reader.s keypad' \
    "$T/err"
check "  the PIN typed on the keypad is the new PIN" works 1357
tk_fault_ctl "pin_tries 3" "protected_auth" "pin 0000" "pad_new 1111"
pw passwd
is "$rc:$calls:$(tk_fault_pins_left)" "1:0 1 0:2" \
    "a wrong old PIN on the keypad: one C_SetPIN, one try spent"
check "  saying so" grep -q 'the PIN was not changed: wrong PIN' "$T/err"
pw passwd
pw passwd
is "$(tk_fault_pins_left)" 0 "  three lock the PIN"
tk_fault_ctl "pin_tries 3" "protected_auth" "so_pin 11112222" "pad_new 9753"
pw unblock
is "$rc:$asked:$calls:$(tk_fault_pins_left)" "0:0:1 0 1:3" \
    "unblock on a PIN pad: SO login and C_InitPIN with no PIN, unlocked"
check "  telling the user to use the keypad" grep -q \
    'enter the SO PIN and the new PIN on the reader.s keypad' "$T/err"
check "  the PIN typed on the keypad is the new PIN" works 9753
tk_fault_ctl "pin_tries 3" "protected_auth" "so_pin 87654321" "pad_new 1"
pw unblock
is "$rc:$calls" "1:1 0 0" "a wrong SO PIN on the keypad: one SO login, no C_InitPIN"
check "  the PIN is still the one set before" works 9753

done_testing
