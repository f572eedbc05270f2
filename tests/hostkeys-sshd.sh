#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# sshd's host keys on a token (contrib/systemd/tokenkeys-hostkeys.*): the
# agent runs as the service runs it, "agent -D --config FILE" started on
# the first connection to its socket (systemd-socket-activate stands in
# for systemd), serving the URIs of a config file with the PIN from a
# root-only pin-source file.  A throwaway sshd (ProxyCommand, sshd -i)
# with HostKeyAgent on that socket and HostKey naming only the public
# halves: a client whose known_hosts holds the token keys logs in and sees
# the token key as the host key (ECDSA and RSA); a client expecting
# another key is refused; a user other than root cannot use the socket;
# with the agent stopped, sshd refuses the connection cleanly and its log
# says why; a card pulled while the agent runs fails the connection and
# the agent's log says why.

. "$(dirname "$0")/lib.sh"

tk_need_root
for tool in softhsm2-util pkcs11-tool ssh ssh-keygen ssh-add \
    systemd-socket-activate setpriv timeout; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -x /usr/sbin/sshd ] || skip_all "sshd not installed"
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE missing"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
[ -f "${FAULTMOD:-}" ] || skip_all "fault module not built (FAULTMOD)"
UNIT=${abs_top_builddir:-$TK_TESTDIR/..}/contrib/systemd/tokenkeys-hostkeys
[ -r "$UNIT.service" ] || bail "$UNIT.service not built"

plan 16
tk_tmpdir
tk_softhsm_init "$T"
SERIAL=$(tk_token_new "tk host" 1234 12345678) || bail "cannot create a token"
tk_keygen "$SERIAL" 1234 EC:prime256v1 01 host-ec ||
    bail "cannot make the ECDSA host key"
tk_keygen "$SERIAL" 1234 rsa:2048 02 host-rsa ||
    bail "cannot make the RSA host key"
tk_sshd_setup

# --- the units as installed
SVC=$(cat "$UNIT.service")
SRCDIR=${abs_top_srcdir:-$TK_TESTDIR/..}
SOCK_UNIT=$(cat "$SRCDIR/contrib/systemd/tokenkeys-hostkeys.socket")
EXEC_RE="^ExecStart=/.*/tokenkeys agent -D --config /.*/tokenkeys/hostkeys.conf$"
check "the service runs 'tokenkeys agent -D --config .../hostkeys.conf'" \
    eval 'printf "%s\n" "$SVC" | grep -q "$EXEC_RE"'
check "the socket is root's alone (0600 in a 0700 directory)" \
    eval 'printf "%s\n" "$SOCK_UNIT" | grep -qx "SocketMode=0600" &&
	printf "%s\n" "$SOCK_UNIT" | grep -qx "DirectoryMode=0700" &&
	printf "%s\n" "$SOCK_UNIT" | grep -qx "ListenStream=/run/tokenkeys/hostkeys.sock"'

# --- the configuration: URIs, PIN in a root-only file
# The fault module stands in front of SoftHSM for the ECDSA key, so the
# card can be pulled later.
FAULTMOD_RP=$(realpath "$FAULTMOD")
TK_FAULT_CONTROL=$T/ctl
export TK_FAULT_CONTROL
unset TK_FAULT_STATE TK_FAULT_MODULE
: >"$TK_FAULT_CONTROL"
install -m 600 /dev/null "$T/hostkeys.pin"
echo 1234 >"$T/hostkeys.pin"
EC_URI="pkcs11:token=tk%20host;id=%01?module-path=$FAULTMOD_RP&pin-source=$T/hostkeys.pin"
RSA_URI="pkcs11:token=tk%20host;id=%02?pin-source=$T/hostkeys.pin"
cat >"$T/hostkeys.conf" <<EOF
# host keys on "tk host"
$EC_URI

$RSA_URI
EOF
"$TOKENKEYS" list --comment none "pkcs11:token=tk%20host;id=%01" \
    >"$T/host_ec.pub" && [ -s "$T/host_ec.pub" ] || bail "no ECDSA public key"
"$TOKENKEYS" list --comment none "pkcs11:token=tk%20host;id=%02" \
    >"$T/host_rsa.pub" && [ -s "$T/host_rsa.pub" ] || bail "no RSA public key"

# the agent as the unit starts it, on the first connection to the socket
HKSOCK=$T/hostkeys.sock
agent_start() {
	systemd-socket-activate -l "$HKSOCK" -E SOFTHSM2_CONF \
	    -E TK_FAULT_CONTROL "$TOKENKEYS" agent -D \
	    -P "$(dirname "$FAULTMOD_RP")/*,/usr/lib*/*" \
	    --config "$T/hostkeys.conf" >"$T/agent.log" 2>&1 &
	HKPID=$!
	tk_at_exit "kill $HKPID 2>/dev/null"
	tk_agent_ready agent "$HKSOCK" 100 "$HKPID"
}
agent_start || bail "the host key agent did not start"
check "the agent serves the two host keys" \
    eval '[ "$(SSH_AUTH_SOCK=$HKSOCK ssh-add -L | tk_blobs)" = \
	"$(cat "$T/host_ec.pub" "$T/host_rsa.pub" | tk_blobs)" ]'

# a user other than root: refused, even with the socket itself open to all
chmod 666 "$HKSOCK"
tk_run setpriv --reuid="$TK_USER" --regid="$(id -g "$TK_USER")" \
    --clear-groups env SSH_AUTH_SOCK="$HKSOCK" ssh-add -L
check "another user reaches no key through the socket" \
    test "$rc" -ne 0 -a -z "$out"
chmod 600 "$HKSOCK"

# --- sshd: host keys from the agent, only the public halves on disk
# (0600: sshd first tries them as private keys and warns otherwise)
chmod 600 "$T/host_ec.pub" "$T/host_rsa.pub"
sed -i '/^HostKey /d' "$T/sshd_config"
cat >>"$T/sshd_config" <<EOF
HostKeyAgent $HKSOCK
HostKey $T/host_ec.pub
HostKey $T/host_rsa.pub
EOF
ssh-keygen -q -t ed25519 -N '' -C tk-user -f "$T/userkey" ||
    bail "cannot make the user key"
cp "$T/userkey.pub" "$T/home/.ssh/authorized_keys"
chown -R "$TK_USER" "$T/home/.ssh"
{ printf 'test '; cat "$T/host_ec.pub"; printf 'test '; cat "$T/host_rsa.pub"
} >"$T/known_hosts"
cp "$T/known_hosts" "$T/known_hosts.token"
fp() { ssh-keygen -lf "$1" | awk '{ print $2 }'; }
login() {
	tk_run timeout 60 env HOME="$T/client" ssh -F "$T/ssh_config" -v \
	    -o StrictHostKeyChecking=yes -o IdentityFile="$T/userkey" \
	    -o IdentitiesOnly=yes "$@" test echo logged-in
}

login -o HostKeyAlgorithms=ecdsa-sha2-nistp256
is "$out" "logged-in" "known_hosts holds the token keys: the login succeeds"
check "...and the host key the client saw is the token's ECDSA key" \
    grep -q "Server host key: ecdsa-sha2-nistp256 $(fp "$T/host_ec.pub")" \
    "$T/err"
login -o HostKeyAlgorithms=rsa-sha2-512
is "$out" "logged-in" "with RSA (rsa-sha2-512) the login succeeds"
check "...and the host key is the token's RSA key" \
    grep -q "Server host key: ssh-rsa $(fp "$T/host_rsa.pub")" "$T/err"

# a client that expects another host key is refused, as with any sshd
ssh-keygen -q -t ecdsa -N '' -f "$T/otherkey" || bail "ssh-keygen failed"
{ printf 'test '; cat "$T/otherkey.pub"; } >"$T/known_hosts"
login -o HostKeyAlgorithms=ecdsa-sha2-nistp256
check "known_hosts holding another key: the client refuses (status $rc)" \
    eval '[ "$rc" -ne 0 ] && [ -z "$out" ] &&
	grep -q "Host key verification failed" "$T/err"'
cp "$T/known_hosts.token" "$T/known_hosts"

# --- the card pulled while the agent runs
tk_fault_ctl absent
login -o HostKeyAlgorithms=ecdsa-sha2-nistp256
check "card pulled: the connection fails (status $rc)" \
    eval '[ "$rc" -ne 0 ] && [ -z "$out" ]'
# (the log line may follow the failed reply by a moment)
logged() {
	local i
	for i in $(seq 50); do
		grep -qi -e "$1" "$T/agent.log" && return 0
		sleep 0.1
	done
	diag "agent log:" "$(cat "$T/agent.log")"
	return 1
}
check "...and the agent's log says the token is gone" \
    logged "not present"
tk_fault_ctl
# the agent looks for cards twice a second: wait until it serves the key
EC_BLOB=$(cut -d' ' -f2 "$T/host_ec.pub")
for i in $(seq 100); do
	SSH_AUTH_SOCK=$HKSOCK ssh-add -L 2>/dev/null | grep -qF "$EC_BLOB" &&
	    break
	sleep 0.1
done
login -o HostKeyAlgorithms=ecdsa-sha2-nistp256
is "$out" "logged-in" "card back: the next login succeeds"

# --- the agent stopped: sshd refuses cleanly
kill "$HKPID" 2>/dev/null
wait "$HKPID" 2>/dev/null
: >"$T/sshd.log"
login -o HostKeyAlgorithms=ecdsa-sha2-nistp256
check "agent stopped: the connection fails (status $rc)" \
    eval '[ "$rc" -eq 255 ] && [ -z "$out" ]'
check "...sshd's log says it cannot reach the agent" \
    grep -q "Could not connect to agent" "$T/sshd.log"
check "...and that it has no host key, and exits" \
    grep -q "no hostkeys available" "$T/sshd.log"
check "...no sshd is left behind" \
    eval '! pgrep -f "sshd -i -f $T/sshd_config" >/dev/null'
done_testing
