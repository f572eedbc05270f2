#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A registered module whose device is absent (a TPM module with no TPM,
# OpenSC without pcscd) fails C_Initialize and writes its library's log
# to stderr.  p11-kit's convention: it is skipped with one warning, the
# keys of every other token are listed and list exits 0; its chatter is
# shown with -v only; "critical: yes" in its config, --module or a URI
# naming it make the failure an error; tokens shows it with the cause;
# the agent logs a helper's stderr line by line and serves the rest.
#
# The module is registered only inside a private mount namespace (a bind
# mount over p11-kit's module directory), so no other test sees it.

. "$(dirname "$0")/lib.sh"

for tool in softhsm2-util pkcs11-tool ssh-add ssh-keygen unshare mount; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE missing"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
[ -f "${FAULTMOD:-}" ] || skip_all "fault module not built (FAULTMOD)"
MODDIR=/usr/share/p11-kit/modules
[ -d "$MODDIR" ] || skip_all "no p11-kit module directory $MODDIR"
if [ -z "${TK_ABSENT_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || skip_all "needs root for a private mount namespace"
	unshare -m true 2>/dev/null ||
	    skip_all "cannot create a mount namespace (unshare)"
	TK_ABSENT_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi

plan 27
tk_tmpdir
tk_softhsm_init "$T"
SERIAL=$(tk_token_new "tk one" 1234 12345678) || bail "cannot create a token"
tk_keygen "$SERIAL" 1234 EC:prime256v1 02 ec256 || bail "cannot make a key"
FAULTMOD_RP=$(realpath "$FAULTMOD")
TK_FAULT_CONTROL=$T/ctl
export TK_FAULT_CONTROL
unset TK_FAULT_STATE TK_FAULT_MODULE
tk_fault_ctl "fail C_Initialize CKR_DEVICE_ERROR always" "chatter 3"

# The registry of this namespace: SoftHSM and the failing module only.
mkdir "$T/modules" "$T/empty"
printf 'module: %s\n' "$TK_MODULE" >"$T/modules/softhsm2.module"
printf 'module: %s\n' "$FAULTMOD_RP" >"$T/modules/tkfault.module"
mount --bind "$T/modules" "$MODDIR" || bail "cannot bind-mount $MODDIR"
if [ -d /etc/pkcs11/modules ]; then
	mount --bind "$T/empty" /etc/pkcs11/modules ||
	    bail "cannot bind-mount /etc/pkcs11/modules"
fi

WANT=$(ssh-keygen -D "$TK_MODULE" 2>/dev/null | tk_blobs)
[ -n "$WANT" ] || bail "ssh-keygen -D sees no key"
WARN_RE="^tokenkeys: module tkfault \\($FAULTMOD_RP\\) is skipped: it failed to start: An error occurred on the device\$"

# --- list: skipped with one line, exit 0
tk_run "$TOKENKEYS" list
is "$rc" 0 "list exits 0 when only a registered module failed to start"
is "$(tk_blobs <"$T/out")" "$WANT" "...stdout has SoftHSM's keys"
is "$(wc -l <"$T/out")" 1 "...and nothing else"
is "$(wc -l <"$T/err")" 1 "...stderr is one line" || diag "$err"
check "...the warning names the module, its path and the cause" \
    grep -Eq "$WARN_RE" "$T/err"
check "...none of the module's own chatter reaches the terminal" \
    test "$(grep -c chatter "$T/err")" = 0

tk_run "$TOKENKEYS" list -v
is "$rc" 0 "list -v exits 0"
is "$(grep -c '^tokenkeys: module tkfault: WARNING:faultmod:chatter line [123] of 3 ' "$T/err")" 3 \
    "...and shows the three chatter lines, prefixed with the module name"
check "...sanitised: no escape byte reaches the terminal" \
    test "$(grep -c "$(printf '\033')" "$T/err")" = 0

# --- a critical module, or one the command names, stays an error
printf 'module: %s\ncritical: yes\n' "$FAULTMOD_RP" >"$T/modules/tkfault.module"
tk_run "$TOKENKEYS" list
is "$rc" 1 "critical: yes makes the failure an error (exit 1)"
check "...saying it failed to start and that it is critical" \
    grep -q "module tkfault ($FAULTMOD_RP) failed to start: .*critical: yes" "$T/err"
is "$(tk_blobs <"$T/out")" "$WANT" "...the other keys are still listed"
printf 'module: %s\n' "$FAULTMOD_RP" >"$T/modules/tkfault.module"

tk_run "$TOKENKEYS" list --module "$FAULTMOD_RP"
is "$rc" 1 "--module on the failing module exits 1"
check "...with a clear message and no chatter" eval \
    '[ "$err" = "tokenkeys: module $FAULTMOD_RP failed to start: An error occurred on the device" ]'

tk_run "$TOKENKEYS" list "pkcs11:?module-name=tkfault"
is "$rc" 1 "a URI naming it by module-name exits 1"
check "...saying it failed to start" \
    grep -q "^tokenkeys: module tkfault ($FAULTMOD_RP) failed to start: " "$T/err"

# --- tokens
tk_run "$TOKENKEYS" tokens
is "$rc" 0 "tokens exits 0"
check "...lists the failed module with the cause" grep -qx \
    "module tkfault ($FAULTMOD_RP): failed to start: An error occurred on the device" \
    "$T/out"
check "...and the SoftHSM token" grep -q "^  label  *tk one\$" "$T/out"
check "...one warning on stderr, no chatter" eval \
    '[ "$(wc -l <"$T/err")" = 1 ] && ! grep -q chatter "$T/err"'
tk_run "$TOKENKEYS" tokens --format json
check "tokens --format json gives the failed module a \"failed\" field" \
    grep -q "{\"module\": \"$FAULTMOD_RP\", \"module_name\": \"tkfault\", \"failed\": \"An error occurred on the device\", \"slot\": null}" \
    "$T/out"

# --- the agent: the helper's stderr goes to the log, line by line
tk_agent_askpass
tk_agent_start absent -P "$(dirname "$FAULTMOD_RP")/*,/usr/lib*/*" ||
    bail "the agent did not start"
listed=$(SSH_AUTH_SOCK=$T/absent.sock ssh-add -L </dev/null | tk_blobs)
is "$listed" "$WANT" "the agent serves the SoftHSM keys"
for i in $(seq 50); do
	grep -q 'chatter line 3 of 3' "$T/absent.log" && break
	sleep 0.1
done
# (the helper may be started again after its module failed: 3 lines each)
logged=$(grep -c "^tokenkeys agent: helper for $FAULTMOD_RP: WARNING:faultmod:chatter line [123] of 3 " "$T/absent.log")
check "the agent logs the module's chatter as its own log lines" \
    test "$logged" -ge 3 -a $((logged % 3)) = 0
check "...every chatter line is one of its log lines, none raw" \
    test "$(grep -c 'chatter line' "$T/absent.log")" = "$logged"
tk_agent_stop "$TK_AGENT_PID"

# --- the real thing: Debian's TPM module with no TPM reachable
TPMMOD=
for m in /usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so \
    /usr/lib/*/pkcs11/libtpm2_pkcs11.so; do
	[ -f "$m" ] && { TPMMOD=$m; break; }
done
if [ -z "$TPMMOD" ]; then
	skip "the TPM module with no TPM: list exits 0" \
	    "libtpm2-pkcs11-1 not installed"
	skip "...key lines and one warning only" "libtpm2-pkcs11-1 not installed"
	skip "...saying no TPM is reachable" "libtpm2-pkcs11-1 not installed"
else
	rm "$T/modules/tkfault.module"
	printf 'module: %s\n' "$TPMMOD" >"$T/modules/tpm2_pkcs11.module"
	"$TK_TESTDIR/demo-token.sh" "$T/demo" >"$T/demo.env" ||
	    bail "cannot make the demo token"
	mkdir "$T/tpmstore"
	tk_run env SOFTHSM2_CONF="$T/demo/softhsm2.conf" \
	    TPM2_PKCS11_TCTI=swtpm:port=1 TPM2_PKCS11_STORE="$T/tpmstore" \
	    "$TOKENKEYS" list
	is "$rc" 0 "the TPM module with no TPM: list exits 0"
	check "...key lines and one warning only" eval \
	    '[ -s "$T/out" ] && ! grep -Evq "^(ssh-|ecdsa-)" "$T/out" &&
	    [ "$(wc -l <"$T/err")" = 1 ]' || diag "$err"
	check "...saying no TPM is reachable" grep -q \
	    "^tokenkeys: module tpm2_pkcs11 ($TPMMOD) is skipped: it failed to start: .*no TPM reachable" \
	    "$T/err"
fi

done_testing
