#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# End to end: keys printed by `tokenkeys list` are installed with
# ssh-copy-id into a throwaway sshd, and stock ssh logs in with each of them
# through PKCS11Provider.  Needs root (throwaway user).

. "$(dirname "$0")/lib.sh"

tk_need_root
for tool in softhsm2-util pkcs11-tool ssh ssh-keygen ssh-copy-id /usr/sbin/sshd; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE not installed"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"

# OpenSSH 9.2 uses RSA and ECDSA keys over PKCS#11, not Ed25519.
LABELS="rsa 2048|rsa 3072|ec p256|ec p384|ec p521"
plan 10

tk_tmpdir
tk_softhsm_init "$T"
tk_askpass_scripts 1234
PIN=1234

SE=$(tk_token_new "tk e2e" $PIN 12345678) || bail "cannot create token"
tk_keygen "$SE" $PIN rsa:2048 01 "rsa 2048" &&
tk_keygen "$SE" $PIN rsa:3072 02 "rsa 3072" &&
tk_keygen "$SE" $PIN EC:prime256v1 03 "ec p256" &&
tk_keygen "$SE" $PIN EC:secp384r1 04 "ec p384" &&
tk_keygen "$SE" $PIN EC:secp521r1 05 "ec p521" || bail "cannot fill token"
# A key on another token of the same module that is never installed.
SO=$(tk_token_new "tk outsider" $PIN 12345678) || bail "cannot create token"
tk_keygen "$SO" $PIN EC:prime256v1 09 outsider || bail "cannot fill token"

# References by label, independent of tokenkeys (ssh-keygen -D comments are
# the object labels).
ssh-keygen -D "$TK_MODULE" 2>/dev/null >"$T/keygen-D"
grep ' outsider$' "$T/keygen-D" >"$T/outsider.pub" ||
    bail "ssh-keygen -D does not see the outsider key"

"$TOKENKEYS" list 'pkcs11:token=tk%20e2e' </dev/null >"$T/keys.pub" 2>"$T/err"
rc=$?
grep -v ' outsider$' "$T/keygen-D" | tk_blobs >"$T/expected"
is "$rc/$(tk_blobs <"$T/keys.pub")" "0/$(cat "$T/expected")" \
    "tokenkeys list prints the token's five RSA/ECDSA keys"
[ -s "$T/err" ] && diag "stderr: $(cat "$T/err")"

tk_sshd_setup
echo "LogLevel VERBOSE" >>"$T/sshd_config"
ssh-keygen -q -t ed25519 -N '' -C tk-boot -f "$T/boot" || bail "boot key"
cp "$T/boot.pub" "$T/home/.ssh/authorized_keys"
chown "$TK_USER" "$T/home/.ssh/authorized_keys"

tk_ssh -o IdentitiesOnly=yes -o IdentityFile="$T/boot" test true \
    >"$T/out" 2>&1
rc=$?
is "$rc" 0 "throwaway sshd accepts the bootstrap file key"
[ "$rc" = 0 ] || diag "$(cat "$T/out")" "$(tail -20 "$T/sshd.log")"

HOME=$T/client ssh-copy-id -f -i "$T/keys.pub" -F "$T/ssh_config" \
    -o IdentityFile="$T/boot" -o IdentitiesOnly=yes test </dev/null \
    >"$T/out" 2>&1
rc=$?
is "$rc" 0 "ssh-copy-id installs the listed keys"
[ "$rc" = 0 ] || diag "$(cat "$T/out")"

is "$(cat "$T/home/.ssh/authorized_keys")" \
    "$(cat "$T/boot.pub" "$T/keys.pub")" \
    "authorized_keys holds exactly the bootstrap key and the listed lines"

# login PUBFILE: stock ssh with the token through PKCS11Provider, limited to
# the one key in PUBFILE; the PIN comes from askpass.
login() {
	: >"$T/sshd.log"
	SSH_ASKPASS=$T/pin.sh SSH_ASKPASS_REQUIRE=force DISPLAY='' \
	    tk_ssh -o PKCS11Provider="$TK_MODULE" -o IdentitiesOnly=yes \
	    -o IdentityFile="$1" test true >"$T/out" 2>&1
}

IFS='|'
for label in $LABELS; do
	unset IFS
	blob=$(awk -v l="$label" '{ c = $0; sub(/^[^ ]* [^ ]* /, "", c) }
	    c == l { print $2 }' "$T/keygen-D")
	pub=$T/key-${label// /-}.pub
	grep -F " $blob " "$T/keys.pub" >"$pub"
	if [ ! -s "$pub" ] || [ -z "$blob" ]; then
		not_ok "login with '$label': key not in tokenkeys list output"
		continue
	fi
	fp=$(ssh-keygen -l -f "$pub" | awk '{ print $2 }')
	login "$pub"
	rc=$?
	if [ "$rc" = 0 ] && grep -q "Accepted publickey for $TK_USER .* $fp" \
	    "$T/sshd.log"; then
		ok "stock ssh logs in with token key '$label' ($fp)"
	else
		not_ok "stock ssh logs in with token key '$label' ($fp): rc $rc"
		diag "$(cat "$T/out")" "$(tail -20 "$T/sshd.log")"
	fi
done
unset IFS

login "$T/outsider.pub"
rc=$?
if [ "$rc" != 0 ] && ! grep -q 'Accepted publickey' "$T/sshd.log"; then
	ok "a token key that was not installed is refused"
else
	not_ok "a token key that was not installed is refused (rc $rc)"
	diag "$(cat "$T/out")" "$(tail -20 "$T/sshd.log")"
fi

done_testing
