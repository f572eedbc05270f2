#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys agent -A: key files go to a real OpenSSH ssh-agent behind our
# socket, token keys stay ours.  The stock ssh, ssh-add and ssh-keygen talk
# to our socket only; a SoftHSM token holds the token key; logins go to a
# throwaway sshd.  Needs root (throwaway user and sshd).

. "$(dirname "$0")/lib.sh"

tk_need_root
for tool in softhsm2-util pkcs11-tool ssh ssh-add ssh-agent ssh-keygen \
    /usr/sbin/sshd; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE not installed"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"

plan 75

tk_tmpdir
tk_softhsm_init "$T"
tk_agent_askpass
S=$(tk_token_new "tk deleg" 1234 12345678) || bail "cannot create a token"
tk_keygen "$S" 1234 EC:prime256v1 01 tokkey || bail "cannot make a key"
echo 1234 >"$T/agent.pin"
URI="pkcs11:serial=$S?module-path=$TK_MODULE"
for k in rsa ecdsa ed25519; do
	ssh-keygen -q -t $k -N '' -C "file $k" -f "$T/id_$k" ||
	    bail "cannot make the $k key file"
done
# ssh-keygen -Y sign falls back to the private key next to the .pub:
# sign with public keys alone in $P, so only an agent can sign.
P=$T/pub
mkdir "$P" && cp "$T"/id_*.pub "$P/" || bail "cannot copy the public keys"
printf '#!/bin/sh\necho lockpw\n' >"$T/lockpw.sh"
chmod 755 "$T/lockpw.sh"

# The other agent: OpenSSH's, with the confirm askpass of lib.sh; while
# $T/slow holds a number, that askpass first says so in $T/slow.started
# and takes that many seconds (a person reading the confirmation).
printf '%s\n' '#!/bin/sh' \
    "if [ -s '$T/slow' ]; then echo up >>'$T/slow.started'; sleep \$(cat '$T/slow'); fi" \
    "exec '$T/agent-askpass.sh' \"\$@\"" >"$T/up-askpass.sh"
chmod 755 "$T/up-askpass.sh"
start_upstream() {
	rm -f "$T/up.sock"
	SSH_ASKPASS=$T/up-askpass.sh SSH_ASKPASS_REQUIRE=force DISPLAY= \
	    ssh-agent -D -a "$T/up.sock" </dev/null >"$T/up.out" 2>&1 &
	UP_PID=$!
	tk_at_exit "kill -CONT $UP_PID 2>/dev/null; kill $UP_PID 2>/dev/null"
	tk_agent_ready up "$T/up.sock" 100 "$UP_PID"
}
start_upstream || bail "ssh-agent does not start"

# -A is checked before the agent starts.
tk_run "$TOKENKEYS" agent -D -a "$T/x.sock" -A "$T/nothere"
check "-A on a missing socket: refused at start (rc $rc)" \
    sh -c "test $rc -ne 0 && grep -q 'no such socket' '$T/err'"
: >"$T/plain"
tk_run "$TOKENKEYS" agent -D -a "$T/x.sock" -A "$T/plain"
check "-A on a plain file: refused (rc $rc)" \
    sh -c "test $rc -ne 0 && grep -q 'not a socket' '$T/err'"
tk_run "$TOKENKEYS" agent -D -a "$T/x.sock" -A "$T/x.sock"
check "-A on our own socket: refused (rc $rc)" \
    sh -c "test $rc -ne 0 && grep -q 'own socket' '$T/err'"

tk_agent_start main -A "$T/up.sock" "$URI" || bail "the agent does not start"
SOCK=$T/main.sock
sa() { SSH_AUTH_SOCK=$SOCK "$@" </dev/null; }
up() { SSH_AUTH_SOCK=$T/up.sock "$@" </dev/null; }
fp() { ssh-keygen -lf "$1" | awk '{ print $2 }'; }
tk_token_line "$S" 01 >"$T/tok.pub" || bail "cannot read the token key"
TOKFP=$(fp "$T/tok.pub")

# ------------------------------------------------------- ssh-add files
sa ssh-add "$T/id_rsa" >/dev/null 2>&1
is "$?" 0 "ssh-add of an RSA key file through our socket"
sa ssh-add -t 600 "$T/id_ecdsa" >/dev/null 2>&1
is "$?" 0 "ssh-add -t of an ECDSA key file"
sa ssh-add -c "$T/id_ed25519" >/dev/null 2>&1
is "$?" 0 "ssh-add -c of an Ed25519 key file"
up ssh-add -l >"$T/upl" 2>&1
is "$(grep -c 'file ' "$T/upl")" 3 "...the three are in ssh-agent"
sa ssh-add -l >"$T/l" 2>&1
is "$?" 0 "ssh-add -l through our socket"
is "$(wc -l <"$T/l" | tr -d ' ')" 4 "...lists four keys"
is "$(awk '{ print $2 }' "$T/l" | sort -u | wc -l | tr -d ' ')" 4 \
    "...each once"
is "$(head -1 "$T/l" | awk '{ print $2 }')" "$TOKFP" \
    "...the token key first"
is "$(grep -c 'file ' "$T/l")" 3 "...then the key files, with their comments"
# The same key in both: listed once.
sa ssh-add -L | grep -q "$(cut -d' ' -f2 "$T/tok.pub")"
is "$?" 0 "ssh-add -L shows the token key"

# -------------------------------------------------------------- signing
# ysign PUB: ssh-keygen -Y sign through our socket, then verify.
ysign() {
	echo "message $RANDOM" >"$T/msg"
	rm -f "$T/msg.sig"
	sa ssh-keygen -Y sign -n file -f "$1" "$T/msg" >/dev/null 2>&1 &&
	printf 'tk %s\n' "$(cat "$1")" >"$T/allowed" &&
	ssh-keygen -Y verify -f "$T/allowed" -I tk -n file -s "$T/msg.sig" \
	    <"$T/msg" >/dev/null 2>&1
}
nysign() { ! ysign "$1"; }
check "a token-key signature (ssh-keygen -Y sign) verifies" ysign "$T/tok.pub"
check "an RSA key file's signature (rsa-sha2-512 flag passed on) verifies" \
    ysign "$P/id_rsa.pub"
check "an ECDSA key file's signature verifies" ysign "$P/id_ecdsa.pub"
c0=$(tk_confirm_prompts)
check "an Ed25519 key file (-c) signs when confirmed" ysign "$P/id_ed25519.pub"
is "$(tk_confirm_prompts)" $((c0 + 1)) "...after one confirm prompt"
echo no >"$T/answer"
check "...and not when refused" nysign "$P/id_ed25519.pub"
echo yes >"$T/answer"
check "the log names the refused sign request" \
    grep -q 'sign request failed' "$T/main.log"
# ssh-agent answers nothing while it asks for a confirmation: a listing
# meanwhile does not wait for it, and the confirmed signature goes on.
echo 3 >"$T/slow"
: >"$T/slow.started"
rm -f "$T/slowsign"
(ysign "$P/id_ed25519.pub" && echo signed >"$T/slowsign") &
bg=$!
for i in $(seq 50); do
	[ -s "$T/slow.started" ] && break
	sleep 0.1
done
sleep 0.3
tk_timed env SSH_AUTH_SOCK="$SOCK" ssh-add -l
check "ssh-agent busy with a confirmation: ssh-add -l answers the token \
key without waiting for it (${ms} ms)" sh -c "test $rc = 0 && \
grep -q '$TOKFP' '$T/out' && test $ms -lt 500"
wait "$bg"
check "...and the confirmed signature still succeeds" test -s "$T/slowsign"
: >"$T/slow"

# --------------------------------------------------------------- logins
tk_sshd_setup
echo "LogLevel VERBOSE" >>"$T/sshd_config"
# sshd leaves the forwarded agents' /tmp/ssh-* directories behind.
tk_at_exit "find /tmp -maxdepth 1 -name 'ssh-*' -user $TK_USER \
    -exec rm -rf {} + 2>/dev/null"
cat "$T/tok.pub" "$P"/id_*.pub >"$T/home/.ssh/authorized_keys"
chown "$TK_USER" "$T/home/.ssh/authorized_keys"
# login PUB [ssh options...]: log in to the throwaway sshd with that key
# through our socket; 0 if sshd accepted exactly that key.
login() {
	local pub=$1
	shift
	: >"$T/sshd.log"
	tk_ssh -o IdentityAgent="$SOCK" -o IdentitiesOnly=yes \
	    -o IdentityFile="$pub" "$@" test echo logged-in \
	    >"$T/ssh.out" 2>&1 &&
	    grep -q logged-in "$T/ssh.out" &&
	    grep -q "Accepted publickey for $TK_USER .* $(fp "$pub")" \
	    "$T/sshd.log"
}
check "login with the token key" login "$T/tok.pub"
check "login with the RSA key file" login "$P/id_rsa.pub"
check "login with the ECDSA key file" login "$P/id_ecdsa.pub"
c0=$(tk_confirm_prompts)
check "login with the Ed25519 key file (-c)" login "$P/id_ed25519.pub"
is "$(tk_confirm_prompts)" $((c0 + 1)) "...after ssh-agent's confirm prompt"

# ssh-add -h: ssh-agent keeps the key for logins to "test" only, which it
# can tell only from the session-bind we pass on.
ssh-keygen -q -t ecdsa -N '' -C 'file dest' -f "$T/id_dest" ||
    bail "cannot make a key file"
cp "$T/id_dest.pub" "$P/"
cat "$P/id_dest.pub" >>"$T/home/.ssh/authorized_keys"
printf 'test %s\n' "$(cut -d' ' -f1,2 "$T/hostkey.pub")" >"$T/test_hosts"
sa ssh-add -H "$T/test_hosts" -h test "$T/id_dest" >"$T/out" 2>&1
is "$?" 0 "ssh-add -h test of a key file (destination constrained)"
check "...it logs in to test (the binding reached ssh-agent)" \
    login "$P/id_dest.pub"
check "...it does not sign outside a session" nysign "$P/id_dest.pub"
tk_ssh -A -o IdentityAgent="$SOCK" -o IdentitiesOnly=yes \
    -o IdentityFile="$T/tok.pub" test 'ssh-add -l' >"$T/fwd.out" 2>&1
check "ssh -A: the far side lists the token key and the unconstrained files" \
    sh -c "grep -q '$TOKFP' '$T/fwd.out' && grep -q 'file rsa' '$T/fwd.out'"
check "...but not the key constrained to logins to test" \
    sh -c "! grep -q 'file dest' '$T/fwd.out'"
sa ssh-add -d "$P/id_dest.pub" >/dev/null 2>&1

# ssh-add -h 'test>test2' through ssh -A: on test, the user's ssh to a
# second host, test2 (a second sshd with its own host key, run as that
# user), signs with the forwarded agent; a key constrained to test alone
# does not.  ssh-agent can tell only from both bindings of the forwarded
# connection, the local ssh's (forwarding, test) and the remote one's
# (test2), which we pass on in order on one connection.
ssh-keygen -q -t ed25519 -N '' -C tk-hostkey2 -f "$T/hostkey2" ||
    bail "second host key"
: >"$T/sshd2.log"
chown "$TK_USER" "$T/hostkey2" "$T/sshd2.log"
printf '%s\n' "HostKey $T/hostkey2" \
    "AuthorizedKeysFile $T/home/.ssh/authorized_keys" "StrictModes no" \
    "UsePAM no" "PidFile none" "LogLevel VERBOSE" >"$T/sshd_config2"
printf 'test2 %s\n' "$(cut -d' ' -f1,2 "$T/hostkey2.pub")" >"$T/known2"
printf '%s\n' "Host test2" \
    "  ProxyCommand /usr/sbin/sshd -i -f $T/sshd_config2 -E $T/sshd2.log" \
    "  UserKnownHostsFile $T/known2" "  GlobalKnownHostsFile /dev/null" \
    "  StrictHostKeyChecking yes" "  BatchMode yes" "  User $TK_USER" \
    "  IdentitiesOnly yes" "  PreferredAuthentications publickey" \
    >"$T/ssh_config2"
cat "$T/test_hosts" "$T/known2" >"$T/both_hosts"
for k in hop nohop; do
	ssh-keygen -q -t ecdsa -N '' -C "file $k" -f "$T/id_$k" ||
	    bail "cannot make a key file"
	cp "$T/id_$k.pub" "$P/"
	cat "$P/id_$k.pub" >>"$T/home/.ssh/authorized_keys"
done
sa ssh-add -H "$T/both_hosts" -h test -h 'test>test2' "$T/id_hop" \
    >"$T/out" 2>&1
is "$?" 0 "ssh-add -h test -h 'test>test2' of a key file"
sa ssh-add -H "$T/both_hosts" -h test "$T/id_nohop" >"$T/out" 2>&1
# hop PUB: on test (reached with ssh -A and PUB), ssh to test2 with PUB;
# 0 if test2's sshd accepted exactly that key.
hop() {
	: >"$T/sshd2.log"
	tk_ssh -A -o IdentityAgent="$SOCK" -o IdentitiesOnly=yes \
	    -o IdentityFile="$1" test \
	    "ssh -F $T/ssh_config2 -o IdentityFile=$1 test2 echo hop-ok" \
	    >"$T/hop.out" 2>&1
	grep -q hop-ok "$T/hop.out" &&
	    grep -q "Accepted publickey for $TK_USER .* $(fp "$1")" \
	    "$T/sshd2.log"
}
if hop "$P/id_hop.pub"; then
	ok "...through ssh -A, test's own ssh logs in to test2 with it"
else
	not_ok "...through ssh -A, test's own ssh logs in to test2 with it"
	diag "$(cat "$T/hop.out")" "$(tail -5 "$T/sshd2.log")"
fi
nohop() { ! hop "$1"; }
check "a key file constrained to test alone: test's ssh cannot use it" \
    nohop "$P/id_nohop.pub"
check "...though it logs in to test itself" login "$P/id_nohop.pub"
sa ssh-add -d "$P/id_hop.pub" >/dev/null 2>&1
sa ssh-add -d "$P/id_nohop.pub" >/dev/null 2>&1

# ------------------------------------------------------- remove, lock
sa ssh-add -d "$T/id_rsa.pub" >/dev/null 2>&1
is "$?" 0 "ssh-add -d of a key file's public key"
is "$(up ssh-add -l | grep -c 'file rsa')" 0 "...ssh-agent no longer has it"
is "$(sa ssh-add -l | wc -l | tr -d ' ')" 3 "...we list three keys"

sa env SSH_ASKPASS="$T/lockpw.sh" SSH_ASKPASS_REQUIRE=force ssh-add -x \
    >/dev/null 2>&1
is "$?" 0 "ssh-add -x locks"
up ssh-add -l >"$T/upl" 2>&1
check "...ssh-agent is locked too (no identities)" \
    grep -q 'no identities' "$T/upl"
check "...we list nothing" sh -c "SSH_AUTH_SOCK='$SOCK' ssh-add -l \
    </dev/null 2>&1 | grep -q 'no identities'"
check "...and a key file does not sign" nysign "$P/id_ecdsa.pub"
sa env SSH_ASKPASS="$T/lockpw.sh" SSH_ASKPASS_REQUIRE=force ssh-add -X \
    >/dev/null 2>&1
is "$?" 0 "ssh-add -X unlocks"
is "$(sa ssh-add -l | wc -l | tr -d ' ')" 3 "...both sets are back"
is "$(up ssh-add -l | grep -c 'file ')" 2 "...ssh-agent is unlocked"

# --------------------------------------------- the other agent stopped
# median LIST...: the middle one of the numbers
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
# stop_list: ssh-agent answering again, stopped, then the first ssh-add -l
# at once ($ms, $rc); 0 if it listed the token key.
stop_list() {
	kill -CONT "$UP_PID"
	SSH_AUTH_SOCK=$SOCK tk_agent_wait_listed 3000 'file ecdsa' || return 1
	kill -STOP "$UP_PID"
	tk_timed env SSH_AUTH_SOCK="$SOCK" ssh-add -l
	[ "$rc" = 0 ] && grep -q "$TOKFP" "$T/out"
}
times=
bad=0
for i in 1 2 3 4 5; do
	stop_list || bad=$((bad + 1))
	times="$times $ms"
done
# shellcheck disable=SC2086
med=$(median $times)
check "ssh-agent stopped: the first ssh-add -l answers the token key \
within 100 ms (median of 5:$times ms)" test "$bad" = 0 -a "$med" -lt 100
tk_quickest env SSH_AUTH_SOCK="$SOCK" ssh-add -l
check "...and answers quickly after that (quickest of 3: ${ms} ms)" \
    sh -c "test $rc = 0 && test $ms -lt 300"
t0=$(tk_now_ms)
check "...a token-key signature still succeeds" ysign "$T/tok.pub"
d=$(( $(tk_now_ms) - t0 ))
tk_timed env SSH_AUTH_SOCK="$SOCK" ssh-keygen -Y sign -n file \
    -f "$P/id_ecdsa.pub" "$T/msg"
check "...a key-file signature fails fast (${ms} ms; token one ${d} ms)" \
    sh -c "test $rc != 0 && test $ms -lt 3000"
check "...with a log line" grep -q 'did not answer' "$T/main.log"
kill -CONT "$UP_PID"
SSH_AUTH_SOCK=$SOCK tk_agent_wait_listed 3000 'file ecdsa'
is "$rc" 0 "ssh-agent continued: its keys are listed again (${ms} ms)"

# ---------------------------------------- the other agent gone, again
kill "$UP_PID"
wait "$UP_PID" 2>/dev/null
times=
bad=0
for i in 1 2 3 4 5; do
	tk_timed env SSH_AUTH_SOCK="$SOCK" ssh-add -l
	[ "$rc" = 0 ] && grep -q "$TOKFP" "$T/out" || bad=$((bad + 1))
	times="$times $ms"
done
# shellcheck disable=SC2086
med=$(median $times)
check "ssh-agent killed: ssh-add -l answers the token key within 100 ms \
(median of 5:$times ms)" test "$bad" = 0 -a "$med" -lt 100
sa ssh-add "$T/id_rsa" >/dev/null 2>&1
check "ssh-agent gone: ssh-add of a key file fails" test $? != 0
check "...a token key still signs" ysign "$T/tok.pub"
is "$(sa ssh-add -l | wc -l | tr -d ' ')" 1 "...and is listed alone"
start_upstream || bail "ssh-agent does not start again"
sa ssh-add "$T/id_rsa" >/dev/null 2>&1
is "$?" 0 "a new ssh-agent on that socket: ssh-add works again"
is "$(sa ssh-add -l | wc -l | tr -d ' ')" 2 "...both keys listed"

# ----------------------------------------------------------------- load
# tests/agent-load signs with the first P-256, RSA and Ed25519 keys we
# list: the token's P-256 key and ssh-agent's RSA and Ed25519 key files,
# every signature verified, hostile clients alongside.
ssh-keygen -q -t ed25519 -N '' -C 'file load' -f "$T/id_load" ||
    bail "cannot make a key file"
sa ssh-add "$T/id_load" >/dev/null 2>&1
LOAD=${abs_top_builddir:-$TK_TESTDIR/..}/tests/agent-load
if [ -x "$LOAD" ]; then
	"$LOAD" -a "$SOCK" -c 6 -n 150 -H 2 >"$T/load.out" 2>&1
	rc=$?
	check "load: 6 clients, token key and key files mixed, hostile \
clients alongside: 0 failures ($(grep 'agent-load:' "$T/load.out" |
	    head -1))" test "$rc" = 0
else
	not_ok "load: tests/agent-load is not built ($LOAD)"
fi

# ----------------------------------------------------------- remove all
sa ssh-add -D >/dev/null 2>&1
is "$?" 0 "ssh-add -D"
is "$(up ssh-add -l | grep -c 'file ')" 0 "...empties ssh-agent"
check "...and us" sh -c "SSH_AUTH_SOCK='$SOCK' ssh-add -l </dev/null 2>&1 | \
    grep -q 'no identities'"
tk_agent_stop "$TK_AGENT_PID"
kill "$UP_PID"
wait "$UP_PID" 2>/dev/null

# ------------------------------------------------------------ -A auto
# upchild: the pid of the agent's ssh-agent child (empty if none).
upchild() { pgrep -P "$TK_AGENT_PID" -x ssh-agent | head -1; }
tk_agent_start auto -A auto -t 600 "$URI" || bail "-A auto does not start"
SOCK=$T/auto.sock
C1=$(upchild)
check "-A auto: an ssh-agent child runs (pid $C1)" test -n "$C1"
tr '\0' ' ' <"/proc/$C1/cmdline" >"$T/cmdline"
CSOCK=$(awk '{ for (i = 1; i < NF; i++) if ($i == "-a") print $(i + 1) }' \
    "$T/cmdline")
check "...with our -t ($(cat "$T/cmdline"))" grep -q -- '-t 600' "$T/cmdline"
is "$(stat -c '%a %U' "$(dirname "$CSOCK")")" "700 $(id -un)" \
    "...its socket in a private directory"
sa ssh-add "$T/id_ed25519" >/dev/null 2>&1
is "$?" 0 "...ssh-add of a key file through our socket"
is "$(sa ssh-add -l | wc -l | tr -d ' ')" 2 "...token key and key file listed"
check "...the key file signs" ysign "$P/id_ed25519.pub"
kill "$C1"
t0=$(tk_now_ms)
C2=
while [ $(( $(tk_now_ms) - t0 )) -lt 5000 ]; do
	C2=$(upchild)
	[ -n "$C2" ] && [ "$C2" != "$C1" ] && [ -S "$CSOCK" ] && break
	C2=
	sleep 0.1
done
check "ssh-agent killed: started again ($C2, $(( $(tk_now_ms) - t0 )) ms)" \
    test -n "$C2"
check "...the log says so" grep -q 'starting it again in 1 s' \
    "$T/auto.log"
sa ssh-add "$T/id_ed25519" >/dev/null 2>&1
is "$?" 0 "...ssh-add works with the new one"
kill "$C2"
tk_agent_wait_log() {
	local i
	for i in $(seq 50); do
		grep -q "$1" "$T/auto.log" && return 0
		sleep 0.1
	done
	return 1
}
check "killed again within a minute: the wait doubles" \
    tk_agent_wait_log 'starting it again in 2 s'
for i in $(seq 50); do
	C3=$(upchild)
	[ -n "$C3" ] && [ "$C3" != "$C2" ] && break
	C3=
	sleep 0.1
done
check "...and then it is started again ($C3)" test -n "$C3"
tk_agent_stop "$TK_AGENT_PID"
sleep 0.2
# no_child_on SOCK: no ssh-agent runs with SOCK on its command line.
no_child_on() {
	local p
	for p in $(pgrep -x ssh-agent); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null |
		    grep -qF -- "$1" && return 1
	done
	return 0
}
check "the agent stopped: its ssh-agent is gone (${C3:-none})" \
    no_child_on "$CSOCK"
check "...its directory too" test ! -e "$(dirname "$CSOCK")"

done_testing
