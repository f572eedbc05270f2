#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys delete on a throwaway SoftHSM token: it shows the keys, asks,
# needs --all for more than one and refuses pkcs11: alone, and destroys
# the private key, public key and certificate objects of each pair; a
# read-only token (fault module) is refused before asking.
. "$(dirname "$0")/lib.sh"
for tool in softhsm2-util pkcs11-tool ssh-keygen openssl; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE missing"
tk_tmpdir
[ -n "${KEEP:-}" ] && trap - EXIT
tk_softhsm_init "$T/hsm"
plan 22

S=$(tk_token_new "del one" 1234 12345678) || bail "token"
tok="pkcs11:serial=$S"
slot=$(tk_token_slot "$S") || bail "slot"
# a key pair with a certificate (id 0a), and two more made by keygen
tk_keyfile p256 "$T/a.pem" && tk_import "$S" 1234 "$T/a.pem" 0a withcert &&
    tk_cert "$T/a.pem" "$T/a.der" leaf &&
    tk_cert_write "$S" 1234 "$T/a.der" 0a withcert || bail "key a"
cat >"$T/ask.sh" <<EOS
#!/bin/sh
if [ "\$SSH_ASKPASS_PROMPT" = confirm ]; then
	printf '%s\n' "\$1" >>"$T/questions"
	[ "\$(cat "$T/answer")" = yes ]
	exit
fi
echo pin >>"$T/pins"
echo 1234
EOS
chmod 755 "$T/ask.sh"
export SSH_ASKPASS=$T/ask.sh SSH_ASKPASS_REQUIRE=force
unset DISPLAY WAYLAND_DISPLAY
: >"$T/questions"
: >"$T/pins"
"$TOKENKEYS" keygen -C two --id 0b "$tok" </dev/null >/dev/null 2>&1 &&
    "$TOKENKEYS" keygen -t ed25519 -C three --id 0c "$tok" </dev/null \
    >/dev/null 2>&1 || bail "keygen"

# objs ID: how many objects (any class, after a login) have this id
objs() {
	tk_p11tool --slot "$slot" --login --pin 1234 --list-objects 2>/dev/null |
	    grep -c "ID: *$1\$"
}
del() {
	"$TOKENKEYS" delete "$@" </dev/null >"$T/out" 2>"$T/err"
	rc=$?
}
questions() { grep -c '^Delete' "$T/questions"; }

is "$(objs 0a):$(objs 0b):$(objs 0c)" "3:2:2" \
    "set-up: key a has three objects, b and c two each"

del --yes pkcs11:
is "$rc:$(objs 0a)$(objs 0b)$(objs 0c)" "2:322" "pkcs11: alone is refused (usage), nothing deleted"
del --yes "pkcs11:?module-path=$TK_MODULE"
is "$rc:$(objs 0a)$(objs 0b)$(objs 0c)" "2:322" "  so is pkcs11: with only a module-path"

del --yes "$tok"
is "$rc:$(objs 0a)$(objs 0b)$(objs 0c)" "1:322" "a URI selecting three keys needs --all"
check "  saying so" grep -q 'selects 3 keys; nothing deleted (--all' "$T/err"
is "$(grep -c 'pkcs11:' "$T/err")" 4 "  after showing the three keys"

auri="pkcs11:serial=$S;id=%0a"
aline=$("$TOKENKEYS" list "$auri" 2>/dev/null)
afp=$(printf '%s\n' "$aline" | ssh-keygen -l -f - | cut -d' ' -f2)
echo no >"$T/answer"
del "$auri"
is "$rc:$(objs 0a)" "1:3" "answering no deletes nothing"
is "$(questions)" 1 "  after asking once"
check "  the question shows the key's type, fingerprint and URI" \
    grep -qF "ECDSA 256 $afp $(tk_comment "$aline")" "$T/questions"
check "  and so does standard error" \
    grep -qF "ECDSA 256 $afp $(tk_comment "$aline")" "$T/err"
check "  saying nothing was deleted" grep -q 'nothing deleted' "$T/err"

# --------------------------------------- a read-only token (fault module)
if [ -f "${FAULTMOD:-}" ]; then
	TK_FAULT_CONTROL=$T/ctl
	export TK_FAULT_CONTROL
	unset TK_FAULT_STATE TK_FAULT_MODULE
	tk_fault_ctl "read_only"
	: >"$T/pins"
	n=$(questions)
	echo yes >"$T/answer"
	del "pkcs11:serial=$S;id=%0a?module-path=$(realpath "$FAULTMOD")"
	is "$rc:$(objs 0a):$(($(questions) - n)):$(wc -l <"$T/pins")" \
	    "1:3:0:0" \
	    "a read-only token: nothing deleted, nothing asked, no PIN"
	check "  saying so in one line" grep -q \
	    '^tokenkeys: token "del one" is read-only: its keys cannot be deleted; nothing deleted$' \
	    "$T/err"
	unset TK_FAULT_CONTROL
else
	skip "a read-only token" "fault module not built"
	skip "  saying so" "fault module not built"
fi

echo yes >"$T/answer"
: >"$T/pins"
del "$auri"
is "$rc:$(objs 0a)" "0:0" "answering yes destroys private key, public key and certificate"
is "$(objs 0b)$(objs 0c)" 22 "  and nothing else"
is "$(wc -l <"$T/pins")" 1 "  after one PIN prompt"
check "  saying how many objects went" grep -q 'deleted pkcs11:.*(3 objects)' "$T/err"
is "$("$TOKENKEYS" list "$auri" 2>/dev/null)" "" "  tokenkeys list no longer shows it"

n=$(questions)
del --yes "pkcs11:serial=$S;object=two"
is "$rc:$(objs 0b):$(questions)" "0:0:$n" "--yes deletes without asking"

del --all --yes "$tok"
is "$rc:$(objs 0c)" "0:0" "--all --yes deletes the rest"
"$TOKENKEYS" list "$tok" >"$T/out" 2>&1
is "$?:$(cat "$T/out")" "1:tokenkeys: no key matches URI $tok" "  the token is empty"

del --yes "$tok"
is "$rc" 1 "a URI matching no key fails"

done_testing
