#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A key fresh from `tokenkeys keygen` is put on a throwaway sshd with
# ssh-copy-id (of keygen's own output, and of `tokenkeys list` output) and
# logs in through tokenkeys agent.  Needs root (throwaway user).
. "$(dirname "$0")/lib.sh"

tk_need_root
for tool in softhsm2-util pkcs11-tool ssh ssh-keygen ssh-copy-id \
    /usr/sbin/sshd; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE not installed"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
plan 9

tk_tmpdir
tk_softhsm_init "$T"
tk_askpass_scripts 1234
S=$(tk_token_new "kg ssh" 1234 12345678) || bail "cannot create token"
tok="pkcs11:serial=$S"

# keygen ARGS...: tokenkeys keygen with the PIN from askpass
keygen() {
	SSH_ASKPASS=$T/pin.sh SSH_ASKPASS_REQUIRE=force DISPLAY='' \
	    "$TOKENKEYS" keygen "$@" </dev/null 2>"$T/err"
}

keygen -t ed25519 -C "fresh ed" "$tok" >"$T/ed.pub"
is "$?:$(wc -l <"$T/ed.pub")" "0:1" "keygen -t ed25519 prints one line"
keygen -t ecdsa -C "fresh ec" "$tok" >"$T/ec.pub"
is "$?:$(wc -l <"$T/ec.pub")" "0:1" "keygen -t ecdsa prints one line"
keygen -t ecdsa -C "never installed" "$tok" >"$T/other.pub" ||
    bail "keygen: $(cat "$T/err")"

tk_sshd_setup
echo "LogLevel VERBOSE" >>"$T/sshd_config"
ssh-keygen -q -t ed25519 -N '' -C tk-boot -f "$T/boot" || bail "boot key"
cp "$T/boot.pub" "$T/home/.ssh/authorized_keys"
chown "$TK_USER" "$T/home/.ssh/authorized_keys"

# copy PUBFILE: ssh-copy-id with the bootstrap file key
copy() {
	HOME=$T/client ssh-copy-id -f -i "$1" -F "$T/ssh_config" \
	    -o IdentityFile="$T/boot" -o IdentitiesOnly=yes test </dev/null \
	    >"$T/out" 2>&1
}
# As the README says: tokenkeys keygen > key.pub && ssh-copy-id -f -i key.pub
copy "$T/ed.pub"
is "$?" 0 "ssh-copy-id installs keygen's own output"
"$TOKENKEYS" list "$tok;object=fresh%20ec" </dev/null >"$T/listed.pub" \
    2>/dev/null
copy "$T/listed.pub"
is "$?:$(cat "$T/listed.pub")" "0:$(cat "$T/ec.pub")" \
    "ssh-copy-id installs tokenkeys list's line for the other (keygen's line)"

tk_agent_askpass
echo 1234 >"$T/agent.pin"
tk_agent_start ag "$tok" || bail "agent"

# login PUBFILE: stock ssh through tokenkeys agent, offering that key only
login() {
	: >"$T/sshd.log"
	tk_ssh -o IdentityAgent="$T/ag.sock" -o IdentitiesOnly=yes \
	    -o IdentityFile="$1" test true >"$T/out" 2>&1
}
for k in ed ec; do
	fp=$(ssh-keygen -l -f "$T/$k.pub" | awk '{ print $2 }')
	login "$T/$k.pub"
	rc=$?
	if [ "$rc" = 0 ] && grep -q "Accepted publickey for $TK_USER .* $fp" \
	    "$T/sshd.log"; then
		ok "the new $k key logs in through tokenkeys agent ($fp)"
	else
		not_ok "the new $k key logs in through tokenkeys agent: rc $rc"
		diag "$(cat "$T/out")" "$(tail -20 "$T/sshd.log")" \
		    "$(cat "$T/ag.log")"
	fi
done
is "$(tk_pin_prompts)" 1 "  after one PIN prompt for both"

login "$T/other.pub"
rc=$?
check "a new key that was not installed is refused (rc $rc)" \
    test "$rc" != 0 -a -z "$(grep 'Accepted publickey' "$T/sshd.log")"
tk_agent_stop "$TK_AGENT_PID"
ok "the agent stopped"

done_testing
