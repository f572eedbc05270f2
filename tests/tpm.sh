#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A TPM 2.0 as a token, end to end: a software TPM (swtpm) behind the
# tpm2-abrmd resource manager on a private D-Bus session bus, a token
# made with tpm2_ptool (a P-256 and an RSA-2048 key), and Debian's TPM
# PKCS#11 module (libtpm2-pkcs11-1) registered with p11-kit the way a user
# would -- a .module file in p11-kit's registry -- but only inside this
# test's private mount namespace.  tokenkeys list, tokens and agent, logins
# into a throwaway sshd, a wrong PIN, a restart of the broker under a
# running agent, and tokenkeys keygen on the TPM.  Needs root; the packages come from .ci/deps-tpm, which
# keeps the module out of the machine-wide registry (a dpkg diversion).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tpm-stack.sh"

MODDIR=/usr/share/p11-kit/modules

[ "$(id -u)" -eq 0 ] ||
    skip_all "needs root (private namespaces, throwaway user and sshd)"
for tool in unshare ssh ssh-add ssh-keygen /usr/sbin/sshd setpriv openssl \
    p11tool; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
tk_tpm_find || skip_all "$TK_TPM_WHY"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"

# Everything below runs in private mount and pid namespaces: a registry
# with the TPM module that no other process sees, and this shell as pid 1,
# so the kernel ends whatever is left when it ends (each process is still
# stopped by its pid).
if [ -z "${TK_TPM_NS:-}" ]; then
	unshare -m -p -f --mount-proc true 2>/dev/null ||
	    skip_all "cannot create mount and pid namespaces (unshare)"
	TK_TPM_NS=1 exec unshare -m -p -f --kill-child --mount-proc \
	    --propagation private bash "$0" "$@"
fi

plan 31

tk_tmpdir
# SoftHSM stays registered, with an empty private store.
tk_softhsm_init "$T"
UPIN=864213
SOPIN=12345678

# ------------------------------------------------------------ registry
# Seen from here before the private registry is mounted: the machine's.
if [ -e "$TK_TPM_REGISTERED" ]; then
	not_ok "the TPM module is not in the machine-wide p11-kit registry"
	diag "$TK_TPM_REGISTERED registers the TPM module for every" \
	    "process: run .ci/deps-tpm (it diverts the file out of the" \
	    "registry)"
else
	ok "the TPM module is not in the machine-wide p11-kit registry"
fi
# Registered as a user would: the package's .module file in the registry.
mkdir "$T/modules" && cp -p "$MODDIR"/*.module "$T/modules/" &&
    cp "$TK_TPM_MODFILE" "$T/modules/tpm2_pkcs11.module" &&
    mount --bind "$T/modules" "$MODDIR" ||
    bail "cannot mount a private p11-kit registry"
TPM_MODULE=$TK_TPM_MODULE

# ------------------------------------------------------------ the TPM
tk_at_exit tk_tpm_stop
tk_tpm_start "$T/tpm" || bail "cannot start the software TPM"
tk_tpm_token tpmtok $UPIN $SOPIN ecc256:ec1 rsa2048:rsa1 ||
    bail "tpm2_ptool cannot make the token and its keys"

# ref_line LABEL: "TYPE BASE64" of the public key object LABEL, read by
# GnuTLS's p11tool and converted by OpenSSL and ssh-keygen (not tokenkeys).
# (OpenSC 0.23's pkcs11-tool --read-object fails on about a third of its
# reads of this module's P-256 key, "cannot create EVP_PKEY"; p11tool
# reads it only after a login.)
ref_line() {
	GNUTLS_PIN=$UPIN p11tool --provider "$TPM_MODULE" --login \
	    --export-pubkey "pkcs11:token=tpmtok;object=$1;type=public" \
	    </dev/null >"$T/.pub.pem" 2>"$T/ref.out" || return 1
	tk_spki_line "$T/.pub.pem"
}
EC_REF=$(ref_line ec1) && RSA_REF=$(ref_line rsa1) || {
	diag "$(cat "$T/ref.out")"
	bail "p11tool cannot read the TPM public keys"
}

# ------------------------------------------------------------ list
tk_run "$TOKENKEYS" list pkcs11:token=tpmtok
is "$rc" 0 "tokenkeys list on the TPM token exits 0"
printf '%s\n' "$out" >"$T/tpm.pub"
is "$(tk_blobs <"$T/tpm.pub")" "$(printf '%s\n%s\n' "$EC_REF" "$RSA_REF" |
    tk_sorted)" \
    "...both keys, as p11tool and OpenSSL read the public key objects"
check "...each commented with its URI (token=tpmtok, object=label)" \
    test "$(grep -c ' pkcs11:.*token=tpmtok.*object=\(ec1\|rsa1\)' \
    "$T/tpm.pub")" = 2
tk_run "$TOKENKEYS" list
is "$(printf '%s\n' "$out" | tk_blobs)" "$(tk_blobs <"$T/tpm.pub")" \
    "tokenkeys list with no URI finds the registered TPM module's keys"
ssh-keygen -D "$TPM_MODULE" 2>/dev/null | tk_blobs >"$T/sshkeygen.pub"
is "$(cat "$T/sshkeygen.pub")" "$(tk_blobs <"$T/tpm.pub")" \
    "...the keys ssh-keygen -D reads from the module"
grep 'object=ec1' "$T/tpm.pub" >"$T/ec.pub"
grep 'object=rsa1' "$T/tpm.pub" >"$T/rsa.pub"

# ------------------------------------------------------------ tokens
tk_run "$TOKENKEYS" tokens
is "$rc" 0 "tokenkeys tokens exits 0"
printf '%s\n' "$out" >"$T/tokens.out"
check "...shows the TPM module" \
    grep -q "^module $TPM_MODULE " "$T/tokens.out"
# the block of the TPM token: from its module line to the next module
awk -v m="module $TPM_MODULE " 'index($0, m) == 1 { on = 1; print; next }
    /^module / { on = 0 } on' "$T/tokens.out" >"$T/tpm.tokens"
check "...and its token tpmtok with two keys" sh -c \
    "grep -q '^  label  *tpmtok\$' '$T/tpm.tokens' &&
    grep -q '^  keys  *2\$' '$T/tpm.tokens'"
diag "the TPM token:" "$(sed -n '/tpmtok/,/keys/p' "$T/tpm.tokens")"

# ------------------------------------------------------------ agent
tk_agent_askpass
echo $UPIN >"$T/agent.pin"
tk_agent_start main pkcs11:token=tpmtok || bail "the agent does not start"
export SSH_AUTH_SOCK=$T/main.sock
ssh-add -L </dev/null 2>/dev/null | tk_sorted >"$T/agent.pub"
is "$(tk_blobs <"$T/agent.pub")" "$(tk_blobs <"$T/tpm.pub")" \
    "the agent offers both TPM keys"

echo "a message to sign" >"$T/msg"
# sign PUB: ssh-keygen -Y sign through the agent, then -Y verify.
sign() {
	rm -f "$T/msg.sig"
	ssh-keygen -Y sign -n tktest -f "$1" "$T/msg" </dev/null \
	    >"$T/sign.out" 2>&1 || return 1
	printf 'me %s\n' "$(awk '{ print $1, $2 }' "$1")" >"$T/allowed"
	ssh-keygen -Y verify -f "$T/allowed" -I me -n tktest \
	    -s "$T/msg.sig" <"$T/msg" >>"$T/sign.out" 2>&1
}
check "ECDSA P-256 signature made in the TPM verifies (ssh-keygen -Y)" \
    sign "$T/ec.pub"
is "$(tk_pin_prompts)" 1 "...after one PIN prompt"
check "RSA signature (rsa-sha2-512) made in the TPM verifies" \
    sign "$T/rsa.pub"
is "$(tk_pin_prompts)" 1 "...without another PIN prompt"

# ------------------------------------------------------------ logins
tk_sshd_setup
echo "LogLevel VERBOSE" >>"$T/sshd_config"
cp "$T/tpm.pub" "$T/home/.ssh/authorized_keys"
chown "$TK_USER" "$T/home/.ssh/authorized_keys"
# sshd configs that accept one RSA signature algorithm only
for alg in rsa-sha2-256 rsa-sha2-512; do
	{ cat "$T/sshd_config"; echo "PubkeyAcceptedAlgorithms $alg"; } \
	    >"$T/sshd_config.$alg"
done

# login PUB [SSHD_CONFIG [ALG]]: ssh as the throwaway user with that key of
# the agent (offered with signature algorithm ALG only, when given); passes
# when sshd accepted exactly that key.
login() {
	local fp cfg=${2:-$T/sshd_config}
	: >"$T/sshd.log"
	tk_ssh -o IdentityAgent="$T/main.sock" -o IdentitiesOnly=yes \
	    -o IdentityFile="$1" ${3:+-o PubkeyAcceptedAlgorithms=$3} \
	    -o ProxyCommand="/usr/sbin/sshd -i -f $cfg -E $T/sshd.log" \
	    test echo logged-in >"$T/ssh.out" 2>&1 &&
	    grep -q logged-in "$T/ssh.out" || return 1
	fp=$(ssh-keygen -l -f "$1" | awk '{ print $2 }')
	grep -q "Accepted publickey for $TK_USER .* $fp" "$T/sshd.log"
}
try_login() {
	if login "${@:2}"; then
		ok "$1"
	else
		not_ok "$1"
		diag "$(cat "$T/ssh.out")" "$(tail -5 "$T/sshd.log")" \
		    "$(tail -5 "$T/main.log")"
	fi
}
try_login "ssh login into a throwaway sshd with the TPM P-256 key" \
    "$T/ec.pub"
try_login "ssh login with the TPM RSA key, sshd accepting rsa-sha2-256 only" \
    "$T/rsa.pub" "$T/sshd_config.rsa-sha2-256" rsa-sha2-256
try_login "ssh login with the TPM RSA key, sshd accepting rsa-sha2-512 only" \
    "$T/rsa.pub" "$T/sshd_config.rsa-sha2-512" rsa-sha2-512
is "$(tk_pin_prompts)" 1 "...all on the first PIN"
tk_agent_stop "$TK_AGENT_PID"

# ------------------------------------------------------------ wrong PIN
# lockouts: the TPM's own count of failed authorisations (dictionary
# attack protection), read past the module.
lockouts() {
	local v
	v=$(tpm2_getcap properties-variable 2>/dev/null |
	    awk '$1 == "TPM2_PT_LOCKOUT_COUNTER:" { print $2 }')
	echo $(( ${v:-0} ))
}
lock0=$(lockouts)
: >"$T/pin.count"
echo "0${UPIN}x" >"$T/agent.pin"
tk_agent_start wrong pkcs11:token=tpmtok || bail "the agent does not start"
export SSH_AUTH_SOCK=$T/wrong.sock
if sign "$T/ec.pub"; then
	not_ok "a wrong PIN: the signature fails"
else
	ok "a wrong PIN: the signature fails"
fi
is "$(tk_pin_prompts)" 1 "...after exactly one PIN prompt"
is "$(( $(lockouts) - lock0 ))" 1 \
    "...and one try: the TPM's failed-authorisation counter rose by one"
tk_run "$TOKENKEYS" tokens pkcs11:token=tpmtok
flags=$(printf '%s\n' "$out" | awk '$1 == "flags" { $1 = ""; print }')
diag "the TPM token's flags after a wrong PIN:$flags"
case " $flags " in
*" pin-count-low "*|*" pin-final-try "*|*" pin-locked "*)
	not_ok "tokenkeys tokens: the TPM module reports no PIN counter" ;;
*)	ok "tokenkeys tokens: the TPM module reports no PIN counter" ;;
esac
echo $UPIN >"$T/agent.pin"
check "then the right PIN: the signature verifies" sign "$T/ec.pub"
is "$(tk_pin_prompts)" 2 "...after one more PIN prompt"

# ------------------------------------------------------------ broker
# tpm2-abrmd restarted under the running agent: the module's connection
# to it is gone, and the module fails every signature (CKR_GENERAL_ERROR)
# until it is initialised again.  The agent starts its helper afresh; the
# new one is not logged in, so the PIN is asked once more.
tk_tpm_abrmd_stop
tk_tpm_abrmd_start || bail "the broker does not start again"
n0=$(tk_pin_prompts)
if sign "$T/ec.pub"; then
	ok "after a restart of tpm2-abrmd the next signature verifies"
else
	not_ok "after a restart of tpm2-abrmd the next signature verifies"
	diag "$(cat "$T/sign.out")" "$(tail -20 "$T/wrong.log")"
fi
is "$(tk_pin_prompts)" "$(( n0 + 1 ))" \
    "...after one PIN prompt (the module started afresh)"
check "...and so does the RSA key's" sign "$T/rsa.pub"
is "$(tk_pin_prompts)" "$(( n0 + 1 ))" "...without another PIN prompt"
tk_agent_stop "$TK_AGENT_PID"

# ------------------------------------------------------------ keygen
# The TPM module generates keys: tokenkeys keygen makes one, checks its
# test signature, and prints the line list prints.
: >"$T/pin.count"
SSH_ASKPASS=$T/agent-askpass.sh SSH_ASKPASS_REQUIRE=force DISPLAY= \
    "$TOKENKEYS" keygen -C tpmnew pkcs11:token=tpmtok </dev/null \
    >"$T/new.pub" 2>"$T/new.err"
rc=$?
is "$rc:$(tk_pin_prompts):$(wc -l <"$T/new.pub")" "0:1:1" \
    "keygen on the TPM token: a new key after one PIN prompt"
[ "$rc" = 0 ] || diag "$(cat "$T/new.err")"
tk_run "$TOKENKEYS" list "pkcs11:token=tpmtok;object=tpmnew"
is "$out" "$(cat "$T/new.pub")" "...listed as keygen printed it"
check "...an ECDSA P-256 key" grep -q '^ecdsa-sha2-nistp256 ' "$T/new.pub"

# ------------------------------------------------------------ stop
tk_tpm_stop
done_testing
