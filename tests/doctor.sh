#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys doctor, local checks: each driven into its states and its line
# and exit status asserted.  Token states through the fault module; no
# agent, a stale socket, a tokenkeys agent, a plain ssh-agent; wrong modes
# in ~/.ssh; a pkcs11: IdentityFile; --sign; --format json.

. "$(dirname "$0")/lib.sh"

tk_fault_setup
command -v ssh-agent >/dev/null || skip_all "ssh-agent not installed"
command -v python3 >/dev/null || skip_all "python3 not installed"
plan 37

mkdir -p "$T/home"
export HOME=$T/home
FM=$FAULTMOD_RP

# doctor ARGS...: output in $T/out, exit status in $rc.
doctor() {
	"$TOKENKEYS" doctor --module "$FM" "$@" </dev/null >"$T/out" 2>"$T/err"
	rc=$?
}
# line LEVEL CHECK PATTERN: a line of that level and check matching.
line() {
	grep -E "^$1 +$2: .*$3" "$T/out" >/dev/null && return 0
	diag "no line $1 $2: $3 in:" "$(cat "$T/out" "$T/err")"
	return 1
}
# spend N wrong PINs on the token through the fault module
wrong_pins() {
	local i
	for i in $(seq "$1"); do
		pkcs11-tool --module "$FM" --token-label "tk one" -l \
		    --pin 99999 -O >/dev/null 2>&1
	done
}

# no agent at all
doctor
check "no agent: exit 1" test "$rc" = 1
check "no agent: FAIL says SSH_AUTH_SOCK is not set and how to start one" \
    line FAIL agent 'SSH_AUTH_SOCK is not set.*eval "\$\(tokenkeys agent\)"'
[ "$rc" = 1 ] || diag "$(cat "$T/out" "$T/err")"

# a healthy token
check "token ok: its keys are counted" line ok 'token "tk one"' '1 key$'

# the PIN counter, down to locked, and back
tk_fault_ctl "pin_tries 3"
wrong_pins 1
doctor
check "one wrong PIN: warn PIN retry count low" \
    line warn 'token "tk one"' 'PIN retry count low'
wrong_pins 1
doctor
check "two wrong PINs: warn final PIN try, and how to unblock" \
    line warn 'token "tk one"' "final PIN try.*tokenkeys unblock 'pkcs11:"
wrong_pins 1
doctor
check "locked: FAIL with the unblock command, exit 1" sh -c \
    'grep -Eq "^FAIL +token \"tk one\": PIN locked.*tokenkeys unblock" "$1" &&
    [ "$2" = 1 ]' sh "$T/out" "$rc"
tk_fault_ctl "pin_tries 3" "pin_reset"
doctor
check "PIN counter refilled: ok again" line ok 'token "tk one"' '1 key$'

# a PIN pad reader
tk_fault_ctl "pin_tries 3" "pin_reset" "protected_auth"
doctor
check "PIN pad: said on the token's line" \
    line ok 'token "tk one"' 'PIN pad: the PIN is typed on the reader'

# the token removed
tk_fault_ctl "absent"
doctor
check "token gone: warn no token found" line warn tokens 'no token found'
tk_fault_ctl ""

# a hostile token label: escaped on doctor's lines; ssh-config makes a
# plain file name of it, in its directory
tk_fault_ctl "pin_tries 3" "pin_reset" 'token_label "evil\e]0;pwned\x07/../one"'
doctor
check "hostile label: doctor prints no control character" sh -c '
    grep -q "^ok    token \"evil.*one\": 1 key" "$1" &&
    ! LC_ALL=C grep -q "[[:cntrl:]]" "$1"' sh "$T/out" ||
    diag "$(cat -v "$T/out")"
"$TOKENKEYS" ssh-config --module "$FM" --dir "$T/keys" >"$T/block" 2>&1
check "hostile label: ssh-config writes one plain file name in its dir" \
    sh -c '[ "$(ls "$1" | grep -c "^[A-Za-z0-9._-]*\.pub$")" = 1 ] &&
    [ "$(ls -A "$1" | wc -l)" = 1 ] && ! LC_ALL=C grep -q "[[:cntrl:]]" "$2"' \
    sh "$T/keys" "$T/block" || diag "$(ls -A "$T/keys")" "$(cat -v "$T/block")"
tk_fault_ctl ""

# a module that does not start
tk_fault_ctl "fail C_Initialize CKR_DEVICE_ERROR always"
doctor
check "module fails to start: FAIL names it, exit 1" sh -c \
    'grep -Eq "^FAIL +module: .*faultmod.so does not load" "$1" &&
    [ "$2" = 1 ]' sh "$T/out" "$rc" || diag "$(cat "$T/out" "$T/err")"
tk_fault_ctl ""

# pcscd, when OpenSC is in p11-kit's registry: nothing on its socket,
# then something that answers (accepts and hangs up)
if p11-kit list-modules 2>/dev/null | grep -q '^opensc-pkcs11:'; then
	PCSCLITE_CSOCK_NAME=$T/pcscd.comm "$TOKENKEYS" doctor </dev/null \
	    >"$T/out" 2>"$T/err"
	check "pcscd not running: warn, with how to start it" \
	    line warn pcscd "nothing answers on $T/pcscd.comm; OpenSC sees "\
"no card reader without it: sudo systemctl start pcscd.socket"
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
while True:
	s.accept()[0].close()' "$T/pcscd.comm" &
	PCSC_PID=$!
	tk_at_exit "kill $PCSC_PID 2>/dev/null"
	for i in $(seq 50); do [ -S "$T/pcscd.comm" ] && break; sleep 0.1; done
	PCSCLITE_CSOCK_NAME=$T/pcscd.comm timeout 60 "$TOKENKEYS" doctor \
	    </dev/null >"$T/out" 2>"$T/err"
	check "pcscd answering: ok" line ok pcscd "answers on $T/pcscd.comm"
	kill "$PCSC_PID"
	wait "$PCSC_PID" 2>/dev/null
else
	skip "pcscd not running: warn" "OpenSC is not registered"
	skip "pcscd answering: ok" "OpenSC is not registered"
fi

# SSH_AUTH_SOCK owned by someone else (needs root to make one)
if [ "$(id -u)" = 0 ]; then
	python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/theirs.sock"
	chown nobody "$T/theirs.sock"
	SSH_AUTH_SOCK=$T/theirs.sock doctor
	check "another user's socket: FAIL belongs to uid" \
	    line FAIL agent "theirs.sock belongs to uid $(id -u nobody), "\
"not to you"
else
	skip "another user's socket: FAIL belongs to uid" "needs root"
fi

# SSH_AUTH_SOCK pointing nowhere, or at a dead socket
SSH_AUTH_SOCK=$T/nothing.sock doctor
check "SSH_AUTH_SOCK names no file: FAIL the agent has gone" \
    line FAIL agent 'does not exist: the agent has gone'
python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/dead.sock"
SSH_AUTH_SOCK=$T/dead.sock doctor
check "a socket nobody listens on: FAIL stale socket" \
    line FAIL agent 'nothing answers on SSH_AUTH_SOCK=.*stale socket'

# a tokenkeys agent serving the token
tk_agent_start one "$ONE_URI" -P "$FAULT_ALLOW" || bail "agent did not start"
AGENT_PID=$TK_AGENT_PID
logins=$(tk_fault_count C_Login)
SSH_AUTH_SOCK=$T/one.sock doctor
check "tokenkeys agent: recognised" \
    line ok agent 'a tokenkeys agent \(extensions: query'
check "tokenkeys agent: serves the token key" \
    line ok 'agent keys' '1 key served: 1 on tokens, 0 other'
check "tokenkeys agent: exit 0 when nothing failed" test "$rc" = 0
[ "$rc" = 0 ] || diag "$(cat "$T/out" "$T/err")"
check "without --sign no PIN is asked and no login is made" sh -c \
    '[ "$1" = "$2" ] && [ "$(cat "$3")" = "" ]' sh "$logins" \
    "$(tk_fault_count C_Login)" "$T/pin.count"
SSH_AUTH_SOCK=$T/one.sock doctor --sign
check "--sign: the key signs through the agent and it verifies" \
    line ok sign \
    'ECDSA key "ec256" on "tk one" signs, and the signature verifies'

# a token that returns broken signatures
tk_fault_ctl "corrupt_sig"
SSH_AUTH_SOCK=$T/one.sock doctor --sign
check "--sign on a bad signature: FAIL the agent refused" \
    line FAIL sign 'ECDSA key "ec256" on "tk one": the agent refused'
check "--sign on a bad signature: exit 1" test "$rc" = 1
tk_fault_ctl ""


# an extra key: the agent serves a key that no token shows now.  The
# doctor's own look finds the token pulled (a control file of its own
# says absent) while the agent, on the shared one, has not noticed yet.
printf 'absent\n' >"$T/ctl-gone"
SSH_AUTH_SOCK=$T/one.sock TK_FAULT_CONTROL=$T/ctl-gone doctor
check "extra key: warn that the agent serves a URI no token shows" \
    line warn 'agent keys' "serves pkcs11:[^ ]*token=tk%20one[^ ]*, which no "\
"token shows now; plug the token in, or see tokenkeys tokens"
check "...counted as served, not on a token" \
    line ok 'agent keys' '1 key served: 0 on tokens, 0 other'
check "...only warnings: exit 0" test "$rc" = 0
tk_agent_stop "$AGENT_PID"

# a second, plain ssh-agent
ssh-agent -D -a "$T/plain.sock" </dev/null >/dev/null 2>&1 &
PLAIN_PID=$!
tk_at_exit "kill $PLAIN_PID 2>/dev/null"
tk_agent_ready plain "$T/plain.sock" 50 "$PLAIN_PID" ||
    bail "ssh-agent did not start"
SSH_AUTH_SOCK=$T/plain.sock doctor
check "plain ssh-agent: warn another agent, not a tokenkeys agent" \
    line warn agent 'is another agent \(ssh-agent\), not a tokenkeys agent'
check "plain ssh-agent: warn the token key is not served" \
    line warn 'agent keys' 'ECDSA key "ec256" on "tk one" is not served'
check "plain ssh-agent: only warnings, exit 0" test "$rc" = 0
kill "$PLAIN_PID"
wait "$PLAIN_PID" 2>/dev/null

# modes ssh refuses
mkdir -p "$HOME/.ssh"
chmod 775 "$HOME/.ssh"
echo "Host *" >"$HOME/.ssh/config"
chmod 666 "$HOME/.ssh/config"
ssh-keygen -q -t ed25519 -N '' -f "$HOME/.ssh/id_ed25519" ||
    bail "ssh-keygen failed"
chmod 644 "$HOME/.ssh/id_ed25519"
doctor
check "group-writable ~/.ssh: warn StrictModes, chmod 700" \
    line warn '~/.ssh' \
    'writable by the group: sshd with StrictModes.*chmod 700 ~/.ssh'
check "world-writable ~/.ssh/config: FAIL ssh refuses to start" \
    line FAIL '~/.ssh' '~/.ssh/config: mode 0666: writable by the group: '\
'ssh refuses to start.*chmod 600 ~/.ssh/config'
check "readable private key: FAIL UNPROTECTED, chmod 600" \
    line FAIL '~/.ssh' "$HOME/.ssh/id_ed25519: mode 0644.*UNPROTECTED "\
"PRIVATE KEY FILE.*chmod 600 $HOME/.ssh/id_ed25519"
chmod 700 "$HOME/.ssh"
chmod 600 "$HOME/.ssh/config" "$HOME/.ssh/id_ed25519"

# a pkcs11: URI as IdentityFile
cat >"$T/cfg" <<'EOF'
Host viauri
  IdentityFile "pkcs11:id=%02"
  ProxyCommand /bin/false
EOF
doctor -F "$T/cfg" viauri
check "pkcs11: IdentityFile: FAIL with the portable form" \
    line FAIL 'ssh -G' 'IdentityFile pkcs11:id=%02: upstream and Debian '\
'OpenSSH.*tokenkeys ssh-config --host .viauri. --append ~/.ssh/config'

# a host that cannot be reached
printf 'Host nowhere\n  ProxyCommand /bin/false\n' >"$T/cfg2"
doctor -F "$T/cfg2" nowhere
check "unreachable host: FAIL cannot connect, with ssh -v HOST" \
    line FAIL login 'cannot connect: .*ssh -v nowhere shows each step'

# JSON
tk_fault_ctl "pin_tries 1"
wrong_pins 1
doctor --format json
check "json: exit 1 on a failure" test "$rc" = 1
check "json: one document with the locked token's FAIL and its fix" \
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
tok = [c for c in d["checks"] if c["check"] == "token \"tk one\""]
assert tok and tok[0]["status"] == "FAIL", tok
assert "tokenkeys unblock" in tok[0]["fix"], tok
fails = sum(c["status"] == "FAIL" for c in d["checks"])
assert d["fail"] >= 1 and d["fail"] == fails
' "$T/out"

done_testing
