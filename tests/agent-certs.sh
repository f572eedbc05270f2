#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Certificates for token keys.  A throwaway sshd that trusts a user CA
# (TrustedUserCAKeys, AuthorizedPrincipalsFile) and has no authorized_keys
# at all: the only way in is a certificate the agent serves.  Logins with
# RSA (rsa-sha2-256 and -512), ECDSA P-256/384/521 and Ed25519 certificates
# from the certs directory; expired and not-yet-valid certificates, and
# one whose window opens and closes while the agent runs; a certificate
# for a key on another token; files others may write; ssh -A onward with
# a certificate; message 26 with associated-certs-v00@openssh.com from our
# own client (Debian's ssh-add 9.2 cannot send it), well-formed and
# hostile; ssh-add -d of one certificate, ssh-add -e of its source; a CA
# on the token signing with ssh-keygen -U -s.  Needs root.

. "$(dirname "$0")/lib.sh"

tk_need_root
for tool in softhsm2-util pkcs11-tool ssh ssh-add ssh-keygen /usr/sbin/sshd \
    setpriv jq; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE not installed"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
POKE=${abs_top_builddir:-$TK_TESTDIR/..}/tests/agent-poke
[ -x "$POKE" ] || skip_all "tests/agent-poke not built"

plan 66

tk_tmpdir
tk_softhsm_init "$T"
PIN=1234
S=$(tk_token_new "tk certs" $PIN 12345678) || bail "cannot create a token"
tk_keygen "$S" $PIN rsa:2048 01 rsa2048 &&
tk_keygen "$S" $PIN EC:prime256v1 02 ec256 &&
tk_keygen "$S" $PIN EC:secp384r1 03 ec384 &&
tk_keygen "$S" $PIN EC:secp521r1 04 ec521 &&
tk_keygen "$S" $PIN EC:edwards25519 05 ed25519 &&
tk_keygen "$S" $PIN EC:prime256v1 06 ca256 &&
tk_keygen "$S" $PIN EC:edwards25519 07 caed &&
tk_keygen "$S" $PIN rsa:2048 08 carsa || bail "cannot make keys"
S2=$(tk_token_new "tk other" $PIN 12345678) || bail "cannot create token 2"
tk_keygen "$S2" $PIN EC:prime256v1 02 other256 || bail "cannot make a key"

CERTS_URI="pkcs11:token=tk%20certs"
"$TOKENKEYS" list "$CERTS_URI" >"$T/keys.txt" 2>"$T/err" ||
    bail "tokenkeys list failed: $(cat "$T/err")"
# pubkey LABEL FILE: the key's public line from the listing
pubkey() { grep -E "object=$1([;?]|$)" "$T/keys.txt" | head -1 >"$2"; }
for k in rsa2048 ec256 ec384 ec521 ed25519 ca256 caed carsa; do
	pubkey $k "$T/$k.pub"
	[ -s "$T/$k.pub" ] || bail "no public key for $k"
done
"$TOKENKEYS" list "pkcs11:token=tk%20other" >"$T/other256.pub" ||
    bail "cannot list the other token"

# The user CA: a file key, as most sites keep it.
ssh-keygen -q -t ed25519 -N '' -C tk-user-ca -f "$T/ca" || bail "CA key"

tk_sshd_setup
cat >>"$T/sshd_config" <<EOF
TrustedUserCAKeys $T/ca.pub
AuthorizedPrincipalsFile $T/principals/%u
LogLevel VERBOSE
EOF
sed -i "s|^AuthorizedKeysFile .*|AuthorizedKeysFile none|" "$T/sshd_config"
mkdir -p "$T/principals"
echo "tk-principal" >"$T/principals/$TK_USER"

# sign NAME KEYFILE.pub VALIDITY [ca]: NAME-cert.pub for the key
sign() {
	cp "$2" "$T/$1.pub"
	ssh-keygen -q -s "${4:-$T/ca}" -I "id-$1" -n tk-principal -V "$3" \
	    "$T/$1.pub" || bail "ssh-keygen -s $1 failed"
}
DIR=$T/xdg/tokenkeys/certs
mkdir -p "$DIR"
chmod 700 "$T/xdg" "$T/xdg/tokenkeys" "$DIR"
for k in rsa2048 ec256 ec384 ec521 ed25519; do
	sign c-$k "$T/$k.pub" -5m:+1h
	cp "$T/c-$k-cert.pub" "$DIR/"
done
sign expired "$T/ec256.pub" 20200101:20210101
sign future "$T/ec384.pub" +1d:+2d
sign other "$T/other256.pub" -5m:+1h
cp "$T/expired-cert.pub" "$T/future-cert.pub" "$T/other-cert.pub" "$DIR/"
# a key type the agent does not serve, and a plain key in the directory
if ssh-keygen -q -t dsa -N '' -f "$T/dsa" 2>/dev/null; then
	sign dsa "$T/dsa.pub" -5m:+1h
	cp "$T/dsa-cert.pub" "$DIR/"
fi
cp "$T/ec256.pub" "$DIR/plain.pub"

tk_agent_askpass
echo $PIN >"$T/agent.pin"
XDG_CONFIG_HOME=$T/xdg tk_agent_start main "$CERTS_URI" ||
    bail "the agent does not start"
export SSH_AUTH_SOCK=$T/main.sock
ssh-add -L >"$T/L" 2>&1

# --------------------------------------------------- the certs directory
n=0
for k in rsa2048 ec256 ec384 ec521 ed25519; do
	grep -qF "$(cut -d' ' -f2 "$T/c-$k-cert.pub")" "$T/L" && n=$((n + 1))
done
is "$n" 5 "ssh-add -L lists the five certificates of the certs directory"
uri=$(cut -d' ' -f3 "$T/ec256.pub")
check "...each with its key's URI as comment" \
    grep -qF "ecdsa-sha2-nistp256-cert-v01@openssh.com $(cut -d' ' -f2 \
    "$T/c-ec256-cert.pub") $uri" "$T/L"
is "$(grep -c -- '-cert-v01@openssh.com' "$T/L")" 5 \
    "...and no other certificate (expired, not yet valid, other token)"
is "$(grep -vc -- '-cert-v01@openssh.com' "$T/L")" 8 \
    "...next to the eight plain keys"
check "the expired certificate is logged as expired" \
    grep -q 'certificate "id-expired".*expired at 2021-01-01' "$T/main.log"
check "the not-yet-valid one is logged with its start" \
    grep -q 'certificate "id-future".*not valid before' "$T/main.log"
if [ -f "$T/dsa-cert.pub" ]; then
	check "a DSA certificate is refused with a log line" \
	    grep -q 'dsa-cert.pub line 1: refused: a certificate type or' \
	    "$T/main.log"
else
	skip "a DSA certificate is refused with a log line" \
	    "no ssh-keygen -t dsa"
fi
check "a plain public key in the directory is named in the log" \
    grep -q 'plain.pub line 1: not a certificate' "$T/main.log"

# ------------------------------------------------------- list --certs
XDG_CONFIG_HOME=$T/xdg "$TOKENKEYS" list --certs "$CERTS_URI" >"$T/list" \
    2>"$T/err"
diff <(grep -- '-cert-v01@openssh.com' "$T/L" | tk_sorted) \
    <(grep -- '-cert-v01@openssh.com' "$T/list" | tk_sorted) >"$T/diff"
check "list --certs prints the certificate lines the agent serves" \
    test $? = 0 -a "$(grep -c -- '-cert-v01@openssh.com' "$T/list")" = 5
XDG_CONFIG_HOME=$T/xdg "$TOKENKEYS" list -l --certs "$CERTS_URI" >"$T/list"
fp=$(ssh-keygen -lf "$T/c-ec256-cert.pub" | cut -d' ' -f2)
want="^256 $fp .*(ECDSA-CERT) key ID \"id-c-ec256\" serial 0 valid from 20"
check "list -l --certs: fingerprint, key ID and validity" \
    grep -q "$want.* to 20" "$T/list"
XDG_CONFIG_HOME=$T/xdg "$TOKENKEYS" list --certs --format json \
    "$CERTS_URI" >"$T/list.json" 2>"$T/err"
is "$?/$(jq '[.[].certificates | length] | add' "$T/list.json" 2>&1)" 0/5 \
    "list --certs --format json: the five certificates, in their keys"
diff <(grep -- '-cert-v01@openssh.com' "$T/L" | tk_sorted) \
    <(jq -r '.[].certificates[].line' "$T/list.json" | tk_sorted) \
    >"$T/diff" 2>&1
check "...each with the line the agent serves" test ! -s "$T/diff"
jq -r '.[].certificates[] | select(.key_id == "id-c-ec256") |
    "\(.fingerprint) \(.serial) \(.principals | join(",")) \(.uri)"' \
    "$T/list.json" >"$T/j" 2>&1
is "$(cat "$T/j")" "$fp 0 tk-principal $uri" \
    "...fingerprint (as ssh-keygen -l), serial, principals and key URI"
jq -r '.[].certificates[] | select(.key_id == "id-c-ec256") |
    "\(.valid_after) \(.valid_before) \(.type)"' "$T/list.json" >"$T/j"
want=$(TZ=UTC ssh-keygen -Lf "$T/c-ec256-cert.pub" | sed -n 's/.*Valid: from //p' |
    sed 's/ to /Z /; s/$/Z/')
is "$(cat "$T/j")" "$want ecdsa-sha2-nistp256-cert-v01@openssh.com" \
    "...validity (UTC, as ssh-keygen -L shows it in TZ=UTC) and type"

# login NAME [SSH OPTIONS]: a login with the agent's identity NAME-cert.pub
login() {
	local name=$1
	shift
	tk_ssh -o IdentityAgent="$SSH_AUTH_SOCK" -o IdentitiesOnly=yes \
	    -o IdentityFile="$T/$name-cert.pub" "$@" test echo in \
	    >"$T/login.out" 2>&1 && grep -q '^in$' "$T/login.out"
}
try_login() {
	local what=$1
	shift
	if login "$@"; then
		ok "$what"
	else
		not_ok "$what"
		diag "$(cat "$T/login.out")" "$(tail -5 "$T/sshd.log")"
	fi
}

# ---------------------------------------------------------------- logins
try_login "login with the RSA certificate (rsa-sha2-512)" c-rsa2048 \
    -o PubkeyAcceptedAlgorithms=rsa-sha2-512-cert-v01@openssh.com
try_login "login with the RSA certificate (rsa-sha2-256)" c-rsa2048 \
    -o PubkeyAcceptedAlgorithms=rsa-sha2-256-cert-v01@openssh.com
check "...sshd took the certificate, not a key" \
    grep -q 'Accepted publickey.*RSA-CERT.*ID id-c-rsa2048' "$T/sshd.log"
try_login "login with the ECDSA P-256 certificate" c-ec256
try_login "login with the ECDSA P-384 certificate" c-ec384
try_login "login with the ECDSA P-521 certificate" c-ec521
try_login "login with the Ed25519 certificate" c-ed25519
check "...sshd says ED25519-CERT with our key id" \
    grep -q 'Accepted publickey.*ED25519-CERT.*ID id-c-ed25519' \
    "$T/sshd.log"
tk_ssh -o IdentityAgent="$T/main.sock" -o IdentitiesOnly=yes \
    -o IdentityFile="$T/ec256.pub" test echo in >"$T/login.out" 2>&1
check "the plain key alone does not get in (no authorized_keys)" \
    test "$(cat "$T/login.out")" != in
tk_ssh -o IdentityAgent="$T/main.sock" -o IdentitiesOnly=yes \
    -o IdentityFile="$T/expired-cert.pub" test echo in >"$T/login.out" 2>&1
check "the expired certificate is not served: no login with it" \
    test "$(grep -c '^in$' "$T/login.out")" = 0
tk_ssh -o IdentityAgent="$T/main.sock" -o IdentitiesOnly=yes \
    -o IdentityFile="$T/other-cert.pub" test echo in >"$T/login.out" 2>&1
check "the certificate of a key on another token: no login with it" \
    test "$(grep -c '^in$' "$T/login.out")" = 0

# ------------------------------------------------------- ssh -A onward
O=$T/home/onward
mkdir -p "$O"
ssh-keygen -q -t ed25519 -N '' -f "$O/hostkey" || bail "onward host key"
sed "s|^HostKey .*|HostKey $O/hostkey|; /^LogLevel/d" "$T/sshd_config" \
    >"$O/sshd_config"
cat >"$O/ssh_config" <<EOF
Host onward
  ProxyCommand /usr/sbin/sshd -i -f $O/sshd_config -E $O/sshd.log
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  LogLevel ERROR
  IdentitiesOnly yes
  IdentityFile $O/c-ec521-cert.pub
  PreferredAuthentications publickey
EOF
cp "$T/c-ec521-cert.pub" "$O/"
chown -R "$TK_USER" "$O"
tk_ssh -A -o IdentityAgent="$T/main.sock" -o IdentitiesOnly=yes \
    -o IdentityFile="$T/c-ec256-cert.pub" test \
    "ssh -F $O/ssh_config onward echo onward-ok" >"$T/fwd.out" 2>&1
if grep -q onward-ok "$T/fwd.out"; then
	ok "ssh -A: onward login with a certificate, forwarded"
else
	not_ok "ssh -A: onward login with a certificate, forwarded"
	diag "$(cat "$T/fwd.out")" "$(cat "$O/sshd.log" 2>/dev/null)"
fi

# ------------------------------------------- following the directory
sign window "$T/ed25519.pub" +4s:+8s
wblob=$(cut -d' ' -f2 "$T/window-cert.pub")
cp "$T/window-cert.pub" "$DIR/"
for i in $(seq 25); do
	grep -q 'certificate "id-window"' "$T/main.log" && break
	sleep 0.1
done
ssh-add -L >"$T/L" 2>&1
check "a certificate added to the directory is read within 2 s" \
    grep -q 'certificate "id-window".*not valid before' "$T/main.log"
check "...but not served before its valid_after" \
    sh -c "! grep -qF '$wblob' '$T/L'"
for i in $(seq 80); do
	ssh-add -L 2>/dev/null | grep -qF "$wblob" && break
	sleep 0.1
done
check "...served once its window opens" \
    sh -c "ssh-add -L | grep -qF '$wblob'"
check "...with a log line" \
    grep -q 'certificate "id-window".*valid from now' "$T/main.log"
for i in $(seq 100); do
	ssh-add -L 2>/dev/null | grep -qF "$wblob" || break
	sleep 0.1
done
check "...and no longer once it closes (valid_before)" \
    sh -c "! ssh-add -L | grep -qF '$wblob'"
check "...with a log line" \
    grep -q 'certificate "id-window".*expired now' "$T/main.log"

b=$(cut -d' ' -f2 "$T/c-ec384-cert.pub")
rm "$DIR/c-ec384-cert.pub"
for i in $(seq 25); do
	ssh-add -L 2>/dev/null | grep -qF "$b" || break
	sleep 0.1
done
check "a certificate removed from the directory goes within 2 s" \
    sh -c "! ssh-add -L | grep -qF '$b'"
cp "$T/c-ec384-cert.pub" "$DIR/"
chmod 666 "$DIR/c-ec384-cert.pub"
sleep 2.5
check "a certificate file others may write is refused" \
    sh -c "! ssh-add -L | grep -qF '$b'"
check "...with a log line" \
    grep -q 'c-ec384-cert.pub: refused: writable by its group or by others' \
    "$T/main.log"
chmod 644 "$DIR/c-ec384-cert.pub"
chown "$TK_USER" "$DIR/c-ec384-cert.pub"
sleep 2.5
check "a certificate file another user owns is refused" \
    grep -q 'c-ec384-cert.pub: refused: owned by another user' "$T/main.log"
chown root "$DIR/c-ec384-cert.pub"
for i in $(seq 25); do
	ssh-add -L 2>/dev/null | grep -qF "$b" && break
	sleep 0.1
done
check "...and served once it is ours again" \
    sh -c "ssh-add -L | grep -qF '$b'"

# ------------------------------------------------ ssh-add -d of a certificate
ssh-add -d "$T/c-ec256-cert.pub" >/dev/null 2>&1
check "ssh-add -d cert.pub: succeeds" test $? = 0
ssh-add -L >"$T/L" 2>&1
check "...that certificate is gone" \
    sh -c "! grep -qF '$(cut -d' ' -f2 "$T/c-ec256-cert.pub")' '$T/L'"
check "...its key stays" grep -qF "$(cut -d' ' -f2 "$T/ec256.pub")" "$T/L"
"$POKE" "$SSH_AUTH_SOCK" add "$CERTS_URI" "" >"$T/poke.out"
check "...and ssh-add -s of its token serves it again" \
    sh -c "ssh-add -L | grep -qF '$(cut -d' ' -f2 "$T/c-ec256-cert.pub")'"
tk_agent_stop "$TK_AGENT_PID"

# ----------------------------------------------------- --cert, message 26
# An agent that serves only what ssh-add -s gives it (the one ec256 key).
mkdir -p "$T/empty/tokenkeys/certs"
chmod -R 700 "$T/empty"
cat "$T/c-rsa2048-cert.pub" "$T/c-ed25519-cert.pub" >"$T/two-certs.pub"
XDG_CONFIG_HOME=$T/empty tk_agent_start s "pkcs11:token=nothere" \
    --cert "$T/two-certs.pub" || bail "the second agent does not start"
export SSH_AUTH_SOCK=$T/s.sock
R1="pkcs11:token=tk%20certs;object=ec256"
R2="pkcs11:token=tk%20certs;object=ec521"
"$POKE" "$SSH_AUTH_SOCK" certs "$R1" 0 \
    "$T/c-ec256-cert.pub,$T/c-ec521-cert.pub" confirm >"$T/poke.out"
is "$(cat "$T/poke.out")" success \
    "message 26 with associated-certs (and confirm): success"
ssh-add -L >"$T/L"
check "...the certificate is served" \
    grep -qF "$(cut -d' ' -f2 "$T/c-ec256-cert.pub")" "$T/L"
check "...and the plain key" grep -qF "$(cut -d' ' -f2 "$T/ec256.pub")" "$T/L"
check "...the certificate of another key is ignored, with a log line" \
    grep -q 'certificate "id-c-ec521".*certifies no key of this ssh-add -s' \
    "$T/s.log"
: >"$T/confirm.count"
try_login "login with the ssh-add -s certificate" c-ec256
is "$(tk_confirm_prompts)" 1 "...which kept the source's confirm constraint"

"$POKE" "$SSH_AUTH_SOCK" certs "$R2" 1 "$T/c-ec521-cert.pub" ok \
    >"$T/poke.out"
ssh-add -L >"$T/L"
is "$(cat "$T/poke.out")" success "ssh-add -C -s (certs only): success"
check "...the certificate is served" \
    grep -qF "$(cut -d' ' -f2 "$T/c-ec521-cert.pub")" "$T/L"
check "...the plain key is not" \
    sh -c "! grep -qF '$(cut -d' ' -f2 "$T/ec521.pub")' '$T/L'"
ssh-add -e "$R2" >/dev/null 2>&1
ssh-add -L >"$T/L"
check "ssh-add -e URI removes the source's certificates" \
    sh -c "! grep -qF '$(cut -d' ' -f2 "$T/c-ec521-cert.pub")' '$T/L'"

# hostile encodings: refused cleanly, the agent lives on
for mode in flat many trailing inner twice other; do
	"$POKE" "$SSH_AUTH_SOCK" certs "$R2" 0 "$T/c-ec521-cert.pub" $mode \
	    list >"$T/poke.out"
	is "$(head -1 "$T/poke.out")" failure \
	    "message 26, associated-certs $mode: refused"
done
check "...the other extension is named in the log" \
    grep -q 'extension "other@example.com" is not implemented' "$T/s.log"
check "...1025 certificates are refused as such" \
    grep -q 'more than 1024 certificates' "$T/s.log"
ssh-add -L >"$T/L"
check "...nothing of the hostile requests is served" \
    sh -c "! grep -qF '$(cut -d' ' -f2 "$T/c-ec521-cert.pub")' '$T/L'"
kill -0 "$TK_AGENT_PID"
check "...and the agent is still running" test $? = 0

# ------------------------------------------------------ a CA on the token
"$POKE" "$SSH_AUTH_SOCK" add "$CERTS_URI" "" >"$T/poke.out"
is "$(cat "$T/poke.out")" success "ssh-add -s of the token with the CAs"
for ca in ca256:ecdsa-sha2-nistp256 caed:ssh-ed25519 carsa:rsa-sha2-512; do
	name=${ca%%:*}
	t=${ca#*:}
	cp "$T/$name.pub" "$T/ca-$name.pub"
	cp "$T/ec384.pub" "$T/u-$name.pub"
	args="-U -s $T/ca-$name.pub -I tokenca-$name -n tk-principal"
	[ "$t" = rsa-sha2-512 ] && args="$args -t rsa-sha2-512"
	# shellcheck disable=SC2086
	if ssh-keygen -q $args "$T/u-$name.pub" 2>"$T/err" &&
	    ssh-keygen -L -f "$T/u-$name-cert.pub" >"$T/cert.txt" &&
	    grep -q "Key ID.*tokenca" "$T/cert.txt" &&
	    grep -q "Signing CA:.*(using $t)" "$T/cert.txt"
	then
		ok "ssh-keygen -U -s: the $t CA on the token signs"
	else
		not_ok "ssh-keygen -U -s: the $t CA on the token signs"
		diag "$(cat "$T/err")" "$(tail -3 "$T/s.log")"
	fi
done
# that certificate logs in where sshd trusts the token CA
cp "$T/ca256.pub" "$T/token-ca.pub"
sed -i "s|^TrustedUserCAKeys .*|TrustedUserCAKeys $T/token-ca.pub|" \
    "$T/sshd_config"
cp "$T/u-ca256-cert.pub" "$T/empty/tokenkeys/certs/"
b=$(cut -d' ' -f2 "$T/u-ca256-cert.pub")
for i in $(seq 25); do
	ssh-add -L 2>/dev/null | grep -qF "$b" && break
	sleep 0.1
done
try_login "the token CA's certificate logs in through the CA-trusting sshd" \
    u-ca256

tk_agent_stop "$TK_AGENT_PID"
done_testing
