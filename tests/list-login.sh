#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys list --login: a token that shows its certificate only after a
# login.  Without --login the key is not there; with it (PIN from a
# pin-source file, or from askpass) it is, and a wrong PIN is tried once.
. "$(dirname "$0")/lib.sh"
tk_tmpdir
[ -n "${KEEP:-}" ] && trap - EXIT
tk_softhsm_init "$T/hsm"
plan 12

serial=$(tk_token_new "hidden" 1234 12345678) || bail "token"
tk_keyfile p256 "$T/k.pem" || bail "key"
tk_cert "$T/k.pem" "$T/k.der" leaf || bail "cert"
# pkcs11-tool cannot mark a certificate private; GnuTLS' p11tool can
openssl x509 -inform DER -in "$T/k.der" -out "$T/k.crt"
GNUTLS_PIN=1234 p11tool --provider "$TK_MODULE" --login --mark-private \
    --write --load-certificate "$T/k.crt" --label secret --id 42 \
    "pkcs11:serial=$serial" >/dev/null 2>&1 || bail "private certificate"
want=$(ssh-keygen -y -f "$T/k.pem" | cut -d' ' -f1,2)
uri="pkcs11:serial=$serial"

out=$("$TOKENKEYS" list "$uri" 2>"$T/err")
rc=$?
is "$rc:$out" "1:" "without --login the private certificate is not listed"

printf '1234\n' >"$T/pin"
chmod 600 "$T/pin"
out=$("$TOKENKEYS" list --login "$uri?pin-source=file:$T/pin" 2>"$T/err")
is "$(printf '%s\n' "$out" | cut -d' ' -f1,2)" "$want" \
    "--login with a pin-source file lists it"

chmod 644 "$T/pin"
out=$("$TOKENKEYS" list --login "$uri?pin-source=file:$T/pin" 2>"$T/err")
rc=$?
is "$rc:$out" "1:" "a pin-source file others can read is not used"
check "and the error says why" grep -q "group or others have access" "$T/err"
chmod 600 "$T/pin"
ln -s "$T/pin" "$T/pinlink"
out=$("$TOKENKEYS" list --login "$uri?pin-source=file:$T/pinlink" 2>"$T/err")
is "$?:$out" "1:" "a pin-source symbolic link is not followed"
out=$("$TOKENKEYS" list --login "$uri?pin-value=1234" 2>"$T/err")
is "$?:$out" "1:" "pin-value (a PIN in argv) is refused"
check "and the error says to use pin-source" grep -q "use pin-source" \
    "$T/err"

tk_askpass_scripts 1234
out=$(SSH_ASKPASS=$T/countpin.sh SSH_ASKPASS_REQUIRE=force \
    "$TOKENKEYS" list --login "$uri" </dev/null 2>"$T/err")
is "$(printf '%s\n' "$out" | cut -d' ' -f1,2)" "$want" \
    "--login asks askpass for the PIN"
is "$(tk_askpass_calls)" 1 "askpass asked exactly once"

: >"$T/askpass.count"
printf '#!/bin/sh\necho call >>%s/askpass.count\necho 9999\n' "$T" \
    >"$T/wrong.sh"
chmod 755 "$T/wrong.sh"
out=$(SSH_ASKPASS=$T/wrong.sh SSH_ASKPASS_REQUIRE=force \
    "$TOKENKEYS" list --login "$uri" </dev/null 2>"$T/err")
rc=$?
is "$rc" 1 "a wrong PIN fails"
is "$(tk_askpass_calls)" 1 "and is not retried"
check "the failure says the PIN was wrong" grep -qi "wrong PIN" "$T/err"
done_testing
