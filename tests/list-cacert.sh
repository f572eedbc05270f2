#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# CA certificates on a token: `openssl req -x509` marks a self-signed
# certificate CA:TRUE, so a user's certificate for their own card key often
# says CA.  Such a certificate is a key when the token holds a private key
# with its CKA_ID; an authority's (never listed) when the token says so
# (CKA_CERTIFICATE_CATEGORY = authority) or holds no such private key.
# SoftHSM hides private keys until a login: without --login the certificate
# stays out and list says so once; with --login, and in the agent after its
# first login to the token, the key is there and signs.
. "$(dirname "$0")/lib.sh"

for tool in softhsm2-util pkcs11-tool p11tool openssl ssh-add ssh-keygen; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE not installed"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"

plan 18

tk_tmpdir
tk_softhsm_init "$T"
PIN=1234
S=$(tk_token_new "tk cacert" $PIN 12345678) || bail "cannot create a token"
SLOT=$(tk_token_slot "$S") || bail "no slot for the token"
URI="pkcs11:serial=$S"

# key_only ID KEYFILE LABEL: the private key on the token, no public key
# object, so only a certificate can carry the public half.
key_only() {
	tk_import "$S" $PIN "$2" "$1" "$3" &&
	tk_p11tool --slot "$SLOT" --login --pin $PIN --delete-object \
	    --type pubkey --id "$1" >/dev/null 2>&1
}

# cert_line DER: "TYPE BASE64" ssh-keygen derives from the certificate.
cert_line() {
	openssl x509 -inform DER -in "$1" -pubkey -noout >"$T/.certpub.pem" &&
	ssh-keygen -i -m PKCS8 -f "$T/.certpub.pem" | awk '{ print $1, $2 }'
}

# ------------------------------------------------------------- fixtures
# 31: a self-signed certificate with openssl's default extensions
# (basicConstraints CA:TRUE) for a key whose private half is on the token.
tk_keyfile p256 "$T/self.pem" &&
openssl req -x509 -new -key "$T/self.pem" -subj "/CN=my own card key" \
    -days 30 -outform DER -out "$T/self.der" 2>/dev/null &&
key_only 31 "$T/self.pem" "self signed" &&
tk_cert_write "$S" $PIN "$T/self.der" 31 "self signed" ||
    bail "cannot make the self-signed CA:TRUE key"
openssl x509 -inform DER -in "$T/self.der" -noout -text |
    grep -q 'CA:TRUE' || bail "openssl req -x509 did not set CA:TRUE"
SELF=$(cert_line "$T/self.der") || bail "cannot derive the key of 31"

# 32: an authority's certificate (explicit CA:TRUE), no private key here.
tk_keyfile p256 "$T/ca.pem" &&
tk_cert "$T/ca.pem" "$T/ca.der" ca &&
tk_cert_write "$S" $PIN "$T/ca.der" 32 "some ca" ||
    bail "cannot make the CA certificate"
CA=$(cert_line "$T/ca.der") || bail "cannot derive the key of 32"

# 33: the token calls the certificate an authority's
# (CKA_CERTIFICATE_CATEGORY = 2, p11tool --mark-ca), although a private key
# with its CKA_ID is there.
tk_keyfile rsa2048 "$T/cat.pem" &&
openssl req -x509 -new -key "$T/cat.pem" -subj "/CN=category authority" \
    -days 30 -out "$T/cat.crt" 2>/dev/null &&
key_only 33 "$T/cat.pem" "category ca" &&
GNUTLS_PIN=$PIN p11tool --provider "$TK_MODULE" --login --mark-ca \
    --write --load-certificate "$T/cat.crt" --label "category ca" --id 33 \
    "$URI" >/dev/null 2>&1 || bail "cannot write the category=authority certificate"
openssl x509 -in "$T/cat.crt" -outform DER -out "$T/cat.der" &&
CAT=$(cert_line "$T/cat.der") || bail "cannot derive the key of 33"

# 35: an imported key pair (public key object kept) with a CA:TRUE
# self-signed certificate: listed through its public key object, once.
tk_keyfile ed25519 "$T/pair.pem" &&
tk_import "$S" $PIN "$T/pair.pem" 35 "pair" &&
openssl req -x509 -new -key "$T/pair.pem" -subj "/CN=pair" -days 30 \
    -outform DER -out "$T/pair.der" 2>/dev/null &&
tk_cert_write "$S" $PIN "$T/pair.der" 35 "pair" ||
    bail "cannot make the key pair with a CA:TRUE certificate"
PAIR=$(tk_pem_line "$T/pair.pem") || bail "cannot derive the key of 35"

tk_p11tool --slot "$SLOT" --login --pin $PIN --list-objects \
    >"$T/objects" 2>/dev/null
is "$(grep -c '^Public Key Object' "$T/objects")/$(grep -c \
    '^Certificate Object' "$T/objects")/$(grep -c '^Private Key Object' \
    "$T/objects")" 1/4/3 \
    "fixture: 4 certificates, 3 private keys, one public key object (35)"

printf '%s\n' "$PIN" >"$T/pin"
chmod 600 "$T/pin"

# --------------------------------------------------------- without --login
tk_run "$TOKENKEYS" list "$URI;id=%31"
is "$rc:$out" "1:" "without --login the self-signed CA:TRUE key is not listed"
is "$(grep -c 'CA certificate' "$T/err")/$(grep -c '^tokenkeys: 1 CA certificate on token "tk cacert" left out: .*self-signed.*--login' "$T/err")" 1/1 \
    "and stderr says in one line that 1 CA certificate was left out and --login decides"
diag "$err"

tk_run "$TOKENKEYS" list "$URI"
is "$rc:$(printf '%s\n' "$out" | tk_blobs)" "0:$PAIR" \
    "without --login the token lists only the key pair, once"
is "$(grep -c . "$T/err")/$(grep -c '^tokenkeys: 2 CA certificates on token "tk cacert" left out: .*--login' "$T/err")" 1/1 \
    "one line counts the 2 undecided CA certificates (not the category=authority one, not the pair's)"

# ------------------------------------------------------------ with --login
tk_run "$TOKENKEYS" list --login "$URI;id=%31?pin-source=file:$T/pin"
is "$rc:$(printf '%s\n' "$out" | tk_blobs)" "0:$SELF" \
    "--login lists the self-signed CA:TRUE key (the blob ssh-keygen derives from its certificate)"
is "$err" "" "and says nothing on stderr"

tk_run "$TOKENKEYS" list --login "$URI?pin-source=file:$T/pin"
is "$rc:$(printf '%s\n' "$out" | tk_blobs)" \
    "0:$(printf '%s\n' "$SELF" "$PAIR" | tk_sorted)" \
    "--login lists the self-signed key and the pair (once), nothing else"
is "$err" "" "with --login no certificate is left undecided"

tk_run "$TOKENKEYS" list --login "$URI;id=%32?pin-source=file:$T/pin"
is "$rc:$out" "1:" "a CA certificate with no private key is not listed with --login"
tk_run "$TOKENKEYS" list "$URI;id=%32"
is "$rc:$(printf '%s\n' "$out" | grep -cF "${CA#* }")" "1:0" \
    "nor without"

tk_run "$TOKENKEYS" list --login "$URI;id=%33?pin-source=file:$T/pin"
is "$rc:$(printf '%s\n' "$out" | grep -cF "${CAT#* }")" "1:0" \
    "a certificate the token calls an authority's is not listed, even with its private key there"
tk_run "$TOKENKEYS" list "$URI;id=%33"
is "$rc:$out:$err" "1::tokenkeys: no key matches URI $URI;id=%33" \
    "nor without --login, and it is not counted as undecided"

# A token label is the token maker's: escaped in the line on stderr.
S2=$(tk_token_new "$(printf 'evil\033[2Jca')" $PIN 12345678) ||
    bail "cannot create the token with an escape in its label"
tk_cert_write "$S2" $PIN "$T/ca.der" 41 "some ca" ||
    bail "cannot write a CA certificate on the second token"
tk_run "$TOKENKEYS" list "pkcs11:serial=$S2"
if grep -q "$(printf '\033')" "$T/err"; then
	not_ok "the token label in the line on stderr is escaped"
else
	check "the token label in the line on stderr is escaped" grep -qF \
	    'tokenkeys: 1 CA certificate on token "evil\x1b[2Jca" left out' \
	    "$T/err"
fi

# ------------------------------------------------------------------ agent
tk_agent_askpass
echo $PIN >"$T/agent.pin"
tk_agent_start cacert "$URI" || bail "the agent does not start"
export SSH_AUTH_SOCK=$T/cacert.sock
is "$(ssh-add -L </dev/null | tk_blobs)" "$PAIR" \
    "before its first login the agent serves only the key pair"

# ysign PUBLINE: ssh-keygen -Y sign through the agent, then verify.
ysign() {
	printf '%s\n' "$1" >"$T/sign.pub"
	echo "message $RANDOM" >"$T/msg"
	rm -f "$T/msg.sig"
	ssh-keygen -Y sign -n file -f "$T/sign.pub" "$T/msg" \
	    </dev/null >/dev/null 2>&1 &&
	printf 'tk %s\n' "$1" >"$T/allowed" &&
	ssh-keygen -Y verify -f "$T/allowed" -I tk -n file -s "$T/msg.sig" \
	    <"$T/msg" >/dev/null 2>&1
}

check "a signature with the key pair (the first login) verifies" \
    ysign "$PAIR"
# the agent lists its sources again at least every 5 seconds
printf '%s\n' "$SELF" >"$T/self.pub"
tk_agent_wait_listed 8000 "$(ssh-keygen -l -f "$T/self.pub" | awk '{ print $2 }')"
is "$rc" 0 "after its first login the agent serves the self-signed CA:TRUE key (${ms} ms)"
check "a signature through it verifies" ysign "$SELF"
tk_agent_stop "$TK_AGENT_PID"
done_testing
