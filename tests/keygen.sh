#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys keygen on throwaway SoftHSM tokens: every type and size, the
# line list prints, the private half's attributes, ids and labels in use,
# one PIN prompt and one C_Login, a token that lacks a mechanism (fault
# module), a failure after the key was made, and signing through the agent.
. "$(dirname "$0")/lib.sh"
for tool in softhsm2-util pkcs11-tool ssh-keygen; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE missing"
[ -f "${FAULTMOD:-}" ] || skip_all "fault module not built (FAULTMOD)"
tk_tmpdir
[ -n "${KEEP:-}" ] && trap - EXIT
tk_softhsm_init "$T/hsm"
plan 88

S=$(tk_token_new "kg one" 1234 12345678) || bail "token"
S2=$(tk_token_new "kg two" 1234 12345678) || bail "second token"
tok="pkcs11:serial=$S"
tk_askpass_scripts 1234
export SSH_ASKPASS=$T/countpin.sh SSH_ASKPASS_REQUIRE=force
unset DISPLAY WAYLAND_DISPLAY
slot=$(tk_token_slot "$S") || bail "slot"
objs() {
	tk_p11tool --slot "$slot" --login --pin 1234 --list-objects 2>/dev/null |
	    grep -c 'Object;'
}

lacks() { ! grep "$@"; }

# keygen ARGS...: tokenkeys keygen, stdout in $T/out, stderr in $T/err, $rc
keygen() {
	"$TOKENKEYS" keygen "$@" </dev/null >"$T/out" 2>"$T/err"
	rc=$?
}

# ---------------------------------------------------- every type and size
for spec in "ecdsa-sha2-nistp256 256:" "ecdsa-sha2-nistp256 256:-t ecdsa" \
    "ecdsa-sha2-nistp384 384:-t ecdsa -b 384" \
    "ecdsa-sha2-nistp521 521:-t ecdsa -b 521" \
    "ssh-ed25519 256:-t ed25519" "ssh-rsa 2048:-t rsa -b 2048" \
    "ssh-rsa 3072:-t rsa" "ssh-rsa 4096:-t rsa -b 4096"; do
	want=${spec%%:*}
	args=${spec#*:}
	: >"$T/askpass.count"
	# shellcheck disable=SC2086
	keygen $args "$tok"
	line=$(cat "$T/out")
	uri=$(tk_comment "$line")
	bits=$(printf '%s\n' "$line" | ssh-keygen -l -f - 2>/dev/null |
	    cut -d' ' -f1)
	listed=$("$TOKENKEYS" list "$uri" 2>/dev/null)
	is "$rc ${line%% *} $bits $(tk_askpass_calls)" "0 $want 1" \
	    "keygen ${args:-(defaults)}: a $want key, one PIN prompt"
	is "$listed" "$line" "  tokenkeys list prints the same line"
done
is "$("$TOKENKEYS" list "$tok" 2>/dev/null | wc -l)" 8 \
    "the token holds the eight new keys"

# --------------------------------------------- the private half, read back
keygen -C attrs --id 0a0b "$tok"
tk_p11tool --slot "$slot" --login --pin 1234 --list-objects --type privkey \
    2>/dev/null | awk '/^Private Key Object/ { p = $0 } p { print }' |
    awk -v RS= '/label: *attrs\n/' >"$T/priv"
check "the private key has the public key's id" grep -q 'ID: *0a0b$' "$T/priv"
check "it can only sign" grep -q 'Usage: *sign$' "$T/priv"
check "it is sensitive and never extractable" \
    grep -q 'Access: *sensitive, always sensitive, never extractable' "$T/priv"
check "  and needs no PIN per signature without --always-auth" \
    lacks -q 'always authenticate' "$T/priv"
keygen --always-auth -C aakey --id 0aaa "$tok"
tk_p11tool --slot "$slot" --login --pin 1234 --list-objects --type privkey \
    2>/dev/null | awk -v RS= '/label: *aakey\n/' >"$T/aapriv"
is "$rc:$(grep -c 'Access: *always authenticate, sensitive' "$T/aapriv")" \
    "0:1" "--always-auth: the private key wants the PIN for every signature"
tk_p11tool --slot "$slot" --list-objects --type privkey >"$T/nologin" 2>&1
check "it is private: not visible without a login" \
    lacks -q 'label: *attrs' "$T/nologin"
tk_p11tool --slot "$slot" --list-objects --type pubkey >"$T/pub" 2>&1
check "the public key (no login) carries the label and id" \
    grep -qA3 'label: *attrs' "$T/pub"
is "$(grep -A3 'label: *attrs' "$T/pub" | grep -c 'ID: *0a0b')" 1 \
    "  with the same id"

# ------------------------------------------------ ids and labels in use
n=$(objs)
keygen --id 0a0b "$tok"
is "$rc:$(cat "$T/out")" "1:" "an id in use is refused, nothing printed"
check "  saying so" grep -q 'already has an object with id 0a0b' "$T/err"
keygen -C attrs "$tok"
is "$rc:$(cat "$T/out")" "1:" "a label in use is refused"
check "  saying so" grep -q 'already has an object labelled "attrs"' "$T/err"
is "$(objs)" "$n" "  and no object was made"

# ------------------------------------------------- selecting one token
keygen "pkcs11:manufacturer=SoftHSM%20project"
is "$rc:$(cat "$T/out")" "1:" "a URI matching two tokens is refused"
check "  naming both" grep -q "serial=$S2" "$T/err"
check "  (and the first)" grep -q "serial=$S;" "$T/err"
keygen "pkcs11:token=nosuch"
is "$rc" 1 "a URI matching no token fails"
check "  saying so" grep -q 'no token matches URI pkcs11:token=nosuch' "$T/err"
keygen -t dsa "$tok"
is "$rc" 2 "an unknown type is a usage error"
keygen -t ecdsa -b 300 "$tok"
is "$rc" 2 "an ECDSA size ssh-keygen does not make is a usage error"

# --------------------------------------------------- PINs: the one gate
printf '1234\n' >"$T/pinfile"
chmod 600 "$T/pinfile"
: >"$T/askpass.count"
keygen -C fromfile "$tok?pin-source=file:$T/pinfile"
is "$rc:$(tk_askpass_calls)" "0:0" "a pin-source file is used, nothing asked"

FAULTMOD_RP=$(realpath "$FAULTMOD")
TK_FAULT_CONTROL=$T/ctl
export TK_FAULT_CONTROL
unset TK_FAULT_STATE TK_FAULT_MODULE
: >"$TK_FAULT_CONTROL"
ftok="pkcs11:serial=$S?module-path=$FAULTMOD_RP"
n=$(objs)
logins=$(tk_fault_count C_Login)
SSH_ASKPASS=$T/badpin.sh keygen -C wrongpin "$ftok"
is "$rc:$(cat "$T/out")" "1:" "a wrong PIN fails"
is "$(($(tk_fault_count C_Login) - logins))" 1 "  after exactly one C_Login"
check "  saying so" grep -q 'login failed: wrong PIN' "$T/err"
is "$(objs)" "$n" "  and no object was made"

# ----------------------------------- a token without Ed25519 (fault module)
tk_fault_ctl "no_mech 0x1055"
: >"$T/askpass.count"
logins=$(tk_fault_count C_Login)
keygen -t ed25519 "$ftok"
is "$rc:$(cat "$T/out")" "1:" "a token that cannot make Ed25519 keys: refused"
check "  saying what it can make" grep -q \
    'token "kg one" cannot make ed25519 keys; it can make: rsa [0-9]*-[0-9]*, ecdsa 256 384 521$' \
    "$T/err"
is "$(tk_askpass_calls):$(($(tk_fault_count C_Login) - logins))" "0:0" \
    "  before any PIN is asked or tried"

# ---------------------------------------------- a failure after the key
tk_fault_ctl "fail C_Sign CKR_DEVICE_ERROR 1"
keygen -C signfails "$ftok"
is "$rc:$(cat "$T/out")" "1:" "a key that fails its test signature: exit 1, nothing printed"
left=$(sed -n 's/.*it is still on the token: //p' "$T/err")
check "  naming what was left on the token" \
    test "$(tk_comment "$("$TOKENKEYS" list "$left" 2>/dev/null)")" = "$left"
: >"$TK_FAULT_CONTROL"

# ------------------------------------- generation refused, locked, PIN pad
n=$(objs)
# CKR_FUNCTION_NOT_SUPPORTED, CKR_TEMPLATE_INCONSISTENT,
# CKR_ATTRIBUTE_VALUE_INVALID, CKR_DEVICE_REMOVED (a card pulled)
for rv in 0x54 0xd1 0x13 0x32; do
	tk_fault_ctl "fail C_GenerateKeyPair $rv always"
	keygen -C refused "$ftok"
	is "$rc:$(cat "$T/out"):$(wc -l <"$T/err")" "1::1" \
	    "a token refusing generation (CKR $rv): exit 1, one line"
done
check "  naming the token and the cause" \
    grep -q 'token "kg one" did not make the key pair: .*' "$T/err"
is "$(objs)" "$n" "  and no object was made"

tk_fault_ctl "read_only"
: >"$T/askpass.count"
logins=$(tk_fault_count C_Login)
keygen -C readonly "$ftok"
is "$rc:$(cat "$T/out")" "1:" "a read-only token: exit 1, nothing printed"
check "  saying so" grep -q 'token "kg one" is read-only: it cannot store a new key' "$T/err"
is "$(tk_askpass_calls):$(($(tk_fault_count C_Login) - logins))" "0:0" \
    "  before any PIN is asked or tried"

tk_fault_ctl "attr badpub baddata CKA_EC_POINT"
keygen -C badpub "$ftok"
is "$rc:$(cat "$T/out")" "1:" \
    "a public key the token hands back undecodable: exit 1, nothing printed"
check "  saying so and naming what is left on the token" grep -q \
    'cannot be read back .*; the key pair is still on the token: pkcs11:.*object=badpub' \
    "$T/err"

tk_fault_ctl "pin_tries 1" "pin_reset"
: >"$T/askpass.count"
keygen -C finaltry "$ftok"
is "$rc:$(tk_askpass_calls)" "0:1" "on the final PIN try: one prompt, the key is made"
check "  the prompt said it is the last try" \
    grep -q 'last try' "$T/askpass.prompts"
SSH_ASKPASS=$T/badpin.sh keygen -C locking "$ftok"
: >"$T/askpass.count"
logins=$(tk_fault_count C_Login)
keygen -C locked "$ftok"
is "$rc:$(tk_askpass_calls):$(($(tk_fault_count C_Login) - logins))" "1:0:0" \
    "a locked PIN: no prompt, no C_Login"
check "  saying so" grep -q 'is locked: PIN retries exhausted' "$T/err"

tk_fault_ctl "protected_auth" "pin 1234"
: >"$T/askpass.count"
keygen -C pinpad "$ftok"
is "$rc:$(tk_askpass_calls)" "0:0" "a PIN pad: nothing asked, the key is made"
: >"$TK_FAULT_CONTROL"

# ------------------------------------- --so: tokens that generate as SO
# askpass answering the lines of $T/answers in order; $T/seq.n counts
cat >"$T/seq.sh" <<EOS
#!/bin/sh
n=\$((\$(cat "$T/seq.n") + 1))
echo \$n >"$T/seq.n"
printf '%s\n' "\$1" >>"$T/seq.prompts"
sed -n "\${n}p" "$T/answers"
EOS
chmod 755 "$T/seq.sh"
# sokeygen PIN... ARGS...: keygen with these askpass answers (up to
# "--"); $asked prompts, $logins C_Login calls
sokeygen() {
	: >"$T/answers"
	while [ "$1" != -- ]; do
		echo "$1" >>"$T/answers"
		shift
	done
	shift
	echo 0 >"$T/seq.n"
	: >"$T/seq.prompts"
	logins=$(tk_fault_count C_Login)
	SSH_ASKPASS=$T/seq.sh keygen "$@"
	asked=$(cat "$T/seq.n")
	logins=$(($(tk_fault_count C_Login) - logins))
}
tk_fault_ctl "so_keygen" "pin 1234"
n=$(objs)
sokeygen 1234 -- -C asuser "$ftok"
is "$rc:$(cat "$T/out")" "1:" \
    "a token that makes keys only after an SO login: keygen fails"
check "  saying to use --so" grep -q \
    'did not make the key pair: it wants a security-officer login first; try tokenkeys keygen --so' \
    "$T/err"
sokeygen 12345678 1234 -- --so -C sokey "$ftok"
[ -n "${KEEP:-}" ] && diag "$(cat "$T/err")"
is "$rc:$asked:$logins" "0:2:2" \
    "keygen --so: the SO PIN, then the PIN for the test signature"
check "  the first prompt asked for the SO PIN" \
    grep -q 'SO PIN for token "kg one"' "$T/seq.prompts"
is "$("$TOKENKEYS" list "$(tk_comment "$(cat "$T/out")")" 2>/dev/null)" \
    "$(cat "$T/out")" "  and the line printed is the new key's, as list prints it"
sokeygen 87654321 -- --so -C sowrong "$ftok"
is "$rc:$asked:$logins:$(cat "$T/out")" "1:1:1:" \
    "keygen --so with a wrong SO PIN: one SO login, never retried"
check "  saying so" grep -q 'token "kg one": SO login failed: wrong PIN' \
    "$T/err"
is "$(objs)" "$((n + 2))" "  only the --so key pair was made"
: >"$TK_FAULT_CONTROL"

# ------------------------------------------------------------- --cert
for spec in "c1:-t ecdsa" "c2:-t ed25519" "c3:-t rsa -b 2048"; do
	id=${spec%%:*}
	args=${spec#*:}
	# shellcheck disable=SC2086
	keygen --cert $args -C "cert $id" --id "$id" "$tok"
	tk_p11tool --slot "$slot" --read-object --type cert --id "$id" \
	    -o "$T/$id.der" >/dev/null 2>&1
	openssl x509 -inform DER -in "$T/$id.der" -out "$T/$id.pem" 2>/dev/null
	openssl x509 -in "$T/$id.pem" -pubkey -noout >"$T/$id.spki" 2>/dev/null
	is "$rc:$(tk_spki_line "$T/$id.spki" 2>/dev/null)" \
	    "0:$(cut -d' ' -f1,2 "$T/out")" \
	    "keygen --cert $args: a certificate with the id parses and carries the key"
	openssl x509 -in "$T/$id.pem" -noout -subject \
	    -ext basicConstraints,keyUsage >"$T/$id.txt" 2>&1
	check "  subject CN = the label, CA:FALSE, digitalSignature only" \
	    test "$(tr -s ' \n' ' ' <"$T/$id.txt")" = \
	    "subject=CN = cert $id X509v3 Basic Constraints: critical CA:FALSE X509v3 Key Usage: critical Digital Signature "
	check "  its self-signature (made on the token) verifies" \
	    openssl verify -check_ss_sig -partial_chain -trusted "$T/$id.pem" \
	    "$T/$id.pem"
	is "$("$TOKENKEYS" list "$tok;id=%$id" 2>/dev/null)" "$(cat "$T/out")" \
	    "  list prints the key once, the same line"
done

tk_fault_ctl "corrupt_sig"
keygen --cert -C badcert "$ftok"
is "$rc:$(cat "$T/out")" "1:" "--cert with a signature that does not verify: exit 1, nothing printed"
check "  saying so" grep -q 'cannot make the certificate: signature verification failed' "$T/err"
left=$(sed -n 's/.*without a certificate is on the token: //p' "$T/err")
check "  naming the key pair left on the token" \
    test "$(tk_comment "$("$TOKENKEYS" list "$left" 2>/dev/null)")" = "$left"
: >"$TK_FAULT_CONTROL"

# ------------------------------------------------------- --format json
keygen --format json -C jsonkey "$tok"
jline=$(sed -n 's/.*"line": "\([^"]*\)".*/\1/p' "$T/out")
juri=$(tk_comment "$jline")
is "$("$TOKENKEYS" list --format json "$juri" 2>/dev/null)" "$(cat "$T/out")" \
    "--format json prints what list --format json prints"

# ------------------------------------------- the new key signs via the agent
command -v pgrep >/dev/null || bail "pgrep missing"
keygen -t ed25519 -C agentkey "$tok"
cp "$T/out" "$T/agentkey.pub"
SSH_ASKPASS=$T/pin.sh SSH_ASKPASS_REQUIRE=force DISPLAY= \
    "$TOKENKEYS" agent -D -d -a "$T/agent.sock" "$tok" \
    </dev/null >"$T/agent.out" 2>"$T/agent.log" &
apid=$!
tk_at_exit "kill $apid 2>/dev/null"
tk_agent_ready agent "$T/agent.sock" 150 "$apid" || bail "agent"
echo "message $RANDOM" >"$T/msg"
SSH_AUTH_SOCK=$T/agent.sock ssh-keygen -Y sign -n file -f "$T/agentkey.pub" \
    "$T/msg" </dev/null >/dev/null 2>&1
printf 'tk %s\n' "$(cat "$T/agentkey.pub")" >"$T/allowed"
verify() {
	ssh-keygen -Y verify -f "$T/allowed" -I tk -n file -s "$T/msg.sig" \
	    <"$T/msg" >/dev/null 2>&1
}
check "the new key signs through tokenkeys agent (ssh-keygen -Y sign)" verify
tk_agent_stop "$apid"

done_testing
