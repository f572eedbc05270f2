#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# How long a PIN stays, and who is asking (issue 13): the real agent in
# front of the fault module and a throwaway SoftHSM token, with stock
# clients.  --pin-timeout and --pin-max-age log the token out (C_Logout
# counted by the fault module, PIN prompts by the askpass script);
# ssh-add -x logs out; logind's PrepareForSleep, Lock and LockedHint on
# a private system bus (dbus-daemon started here, a fake logind) log out;
# the PIN given with ssh-add -s is not reused after a logout, a
# pin-source file is.  Prompts and -d log lines name the requester (a
# local process chain; for a forwarded agent, the host key).  A slow
# C_Sign raises one desktop notice on a private session bus (a fake
# notification server), closed afterwards.

. "$(dirname "$0")/lib.sh"

tk_fault_setup
for tool in dbus-daemon gdbus; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
PY=/usr/bin/python3
$PY -c 'from gi.repository import Gio' 2>/dev/null ||
    skip_all "python3-gi not installed (the fake logind and notifier)"
plan 62

# Keep every agent off the machine's own buses: these point nowhere
# unless a section starts a private bus.
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/no-system-bus"
export DBUS_SESSION_BUS_ADDRESS="unix:path=$T/no-session-bus"
FIX=$TK_TESTDIR/fixtures

# start NAME ARGS...: an agent on $T/NAME.sock, SSH_AUTH_SOCK set to it.
start() {
	local name=$1
	shift
	tk_agent_start "$name" -P "$FAULT_ALLOW" "$@" ||
	    bail "agent $name does not start"
	export SSH_AUTH_SOCK=$T/$name.sock
	AGENT_LOG=$T/$name.log
}
stop() { tk_agent_stop "$TK_AGENT_PID"; }

# sign: ssh-add -T through the agent ($rc).
sign() { tk_timed ssh-add -T "$T/one.pub"; }

# waitfor MS CMD...: until CMD succeeds, up to MS milliseconds ($rc).
waitfor() {
	local end=$(( $(tk_now_ms) + $1 ))
	shift
	while :; do
		"$@" && { rc=0; return 0; }
		[ "$(tk_now_ms)" -ge "$end" ] && { rc=1; return 1; }
		sleep 0.1
	done
}
logouts() { tk_fault_count C_Logout; }
logins() { tk_fault_count C_Login; }
logouts_are() { [ "$(logouts)" = "$1" ]; }
nlines() { grep -c -- "$1" "$AGENT_LOG"; }
nlines_are() { [ "$(nlines "$1")" = "$2" ]; }

# dbus NAME: a private dbus-daemon listening on $T/NAME.bus; $BUS is its
# address.  Killed by pid at exit.
dbus() {
	cat >"$T/$1.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$T/$1.bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
	dbus-daemon --config-file="$T/$1.conf" --fork --print-pid \
	    >"$T/$1.pid" || bail "dbus-daemon does not start"
	tk_at_exit "kill $(cat "$T/$1.pid") 2>/dev/null"
	BUS="unix:path=$T/$1.bus"
}

# fake NAME SCRIPT ARGS...: a fixture D-Bus server in the background,
# waited for until it owns its name; killed by pid at exit.
fake() {
	local name=$1 script=$2
	shift 2
	rm -f "$T/$name.ready"
	$PY "$FIX/$script" "$@" "$T/$name.ready" 2>"$T/$name.err" &
	tk_at_exit "kill $! 2>/dev/null"
	waitfor 10000 test -s "$T/$name.ready" ||
	    bail "$script does not start: $(cat "$T/$name.err")"
}

tk_agent_start probe -P "$FAULT_ALLOW" "$ONE_URI" ||
    bail "the agent does not start"
SSH_AUTH_SOCK=$T/probe.sock ssh-add -L >"$T/one.pub" 2>/dev/null
tk_agent_stop "$TK_AGENT_PID"
grep -q "object=ec256" "$T/one.pub" || bail "the agent serves no key"

# ------------------------------------------------------- bad options
tk_run "$TOKENKEYS" agent -D --pin-timeout 1x "$ONE_URI"
check "--pin-timeout 1x: refused with exit 2, saying what a duration is" \
    test "$rc" = 2 -a "$(grep -c 'not a duration (seconds, or e.g. 10m' "$T/err")" = 1
tk_run "$TOKENKEYS" agent -D --keep-pin-on sleep "$ONE_URI"
check "--keep-pin-on sleep: refused with exit 2, naming what it takes" \
    test "$rc" = 2 -a "$(grep -c 'give suspend, lock or suspend,lock' "$T/err")" = 1

# ------------------------------------------------------- --pin-timeout
start idle --pin-timeout 2s "$ONE_URI"
p0=$(tk_pin_prompts)
o0=$(logouts)
sign
check "--pin-timeout 2s: a first signature (rc $rc)" test "$rc" = 0
sign
check "...a second one at once" test "$rc" = 0
is "$(tk_pin_prompts)" $((p0 + 1)) "...after one PIN prompt"
sleep 3
waitfor 2000 logouts_are $((o0 + 1))
is "$(logouts)" $((o0 + 1)) "3 s idle: the token saw exactly one C_Logout"
waitfor 2000 nlines_are 'logged out (idle' 1
is "$(nlines 'logged out (idle')" 1 "...and the log says so once, with why"
sign
check "the next signature works (rc $rc)" test "$rc" = 0
is "$(tk_pin_prompts)" $((p0 + 2)) "...and asked for the PIN again"
stop

# ------------------------------------------------------- --pin-max-age
start age --pin-max-age 3s "$ONE_URI"
p0=$(tk_pin_prompts)
o0=$(logouts)
t0=$(tk_now_ms)
fails=0
# busy: a signature every 0.3 s for 4.5 s
while [ $(( $(tk_now_ms) - t0 )) -lt 4500 ]; do
	sign
	[ "$rc" = 0 ] || fails=$((fails + 1))
	sleep 0.3
done
is "$fails" 0 "--pin-max-age 3s: every signature of a busy 4.5 s works"
is "$(tk_pin_prompts)" $((p0 + 2)) "...the PIN was asked twice: at 0 s and after 3 s"
waitfor 2000 nlines_are 'logged out (max age' 1
is "$(logouts)" $((o0 + 1)) "...one C_Logout"
is "$(nlines 'logged out (max age')" 1 "...logged as 'max age'"
stop

# ------------------------------------------------------- ssh-add -x / -X
printf '#!/bin/sh\necho lockpw\n' >"$T/lockpw.sh"
chmod 755 "$T/lockpw.sh"
lockx() {
	env SSH_ASKPASS="$T/lockpw.sh" SSH_ASKPASS_REQUIRE=force \
	    ssh-add "$1" </dev/null >/dev/null 2>&1
}
start lock "$ONE_URI"
p0=$(tk_pin_prompts)
sign
o0=$(logouts)
check "ssh-add -x locks" lockx -x
is "$(logouts)" $((o0 + 1)) "...and logs the token out (one C_Logout)"
check "...with a log line saying why" grep -q 'logged out (lock' "$AGENT_LOG"
sign
check "while locked, a refused signature's log line names ssh-add -T" \
    grep -q 'request 13 from ssh-add -T .* refused: the agent is locked' \
    "$AGENT_LOG"
check "ssh-add -X unlocks" lockx -X
sign
check "the next signature works (rc $rc)" test "$rc" = 0
is "$(tk_pin_prompts)" $((p0 + 2)) "...asking for the PIN again"

# A PIN given with ssh-add -s is not kept: after a logout, the user is asked.
ssh-add -e "$ONE_URI" >/dev/null 2>&1
tk_askpass_scripts 1234
env SSH_ASKPASS="$T/pin.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -s "$ONE_URI" </dev/null >/dev/null 2>&1
p0=$(tk_pin_prompts)
sign
check "ssh-add -s with the PIN: signs (rc $rc)" test "$rc" = 0
is "$(tk_pin_prompts)" "$p0" "...without a prompt"
lockx -x
lockx -X
sign
is "$(tk_pin_prompts)" $((p0 + 1)) \
    "after ssh-add -x / -X the ssh-add -s PIN is not reused: one prompt"
stop

# ----------------------------------------------- pin-source after a logout
printf '1234\n' >"$T/pin.good"
chmod 600 "$T/pin.good"
start src --pin-timeout 1 "$ONE_URI&pin-source=file:$T/pin.good"
p0=$(tk_pin_prompts)
l0=$(logins)
o0=$(logouts)
sign
check "pin-source, --pin-timeout 1: a signature (rc $rc)" test "$rc" = 0
waitfor 4000 logouts_are $((o0 + 1))
check "...the token is logged out when idle" test "$rc" = 0
sign
check "...the next signature logs in from the file again (rc $rc)" \
    test "$rc" = 0
is "$(( $(logins) - l0 ))" 2 "...two C_Login in all"
is "$(tk_pin_prompts)" "$p0" "...and no prompt"
# on the final try the file is not used, logout or not
waitfor 4000 logouts_are $((o0 + 2))
l0=$(logins)
tk_fault_ctl "pin_tries 1"
sign
check "one PIN try left: the pin-source PIN is not tried (rc $rc)" \
    test "$rc" != 0 -a "$(logins)" = "$l0"
tk_fault_ctl ""
stop

# ------------------------------------------------------------- logind
dbus system
SYSBUS=$BUS
fake logind fake-logind.py "$SYSBUS"
emit() {
	gdbus call --address "$SYSBUS" --dest org.freedesktop.login1 \
	    --object-path /org/freedesktop/login1 \
	    --method org.tokenkeys.Test.Emit "$1" >/dev/null
}
export DBUS_SYSTEM_BUS_ADDRESS=$SYSBUS
start ld "$ONE_URI"
waitfor 5000 grep -q 'logind: tokens are logged out on suspend and screen lock' \
    "$AGENT_LOG"
check "the agent follows logind on the system bus (log)" test "$rc" = 0
for ev in "sleep:suspend:PrepareForSleep(true)" "lock:screen lock:Lock()" \
    "hint:screen lock:LockedHint true"; do
	what=${ev%%:*}
	rest=${ev#*:}
	why=${rest%%:*}
	name=${rest#*:}
	sign
	p0=$(tk_pin_prompts)
	o0=$(logouts)
	n0=$(nlines "logged out ($why")
	emit "$what"
	waitfor 5000 logouts_are $((o0 + 1))
	check "$name: the token is logged out (one C_Logout)" test "$rc" = 0
	# (the helper counts the C_Logout before the agent logs it)
	waitfor 2000 nlines_are "logged out ($why" $((n0 + 1))
	is "$(nlines "logged out ($why")" $((n0 + 1)) "...one log line: $why"
	sign
	is "$(tk_pin_prompts)" $((p0 + 1)) "...the next signature asks again"
done
o0=$(logouts)
emit wake
emit unhint
sleep 1
is "$(logouts)" "$o0" "waking up and unlocking log nothing out"
stop

start keep --keep-pin-on suspend,lock "$ONE_URI"
sign
o0=$(logouts)
emit sleep
emit lock
sleep 1.5
is "$(logouts)" "$o0" "--keep-pin-on suspend,lock: no logout on either"
stop

export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/no-system-bus"
start nold "$ONE_URI"
sign
check "no logind: the agent signs all the same (rc $rc)" test "$rc" = 0
is "$(nlines 'no logind')" 1 "...and said so in one log line"
stop

# ------------------------------------------------------- who is asking
# (the agent's own HOME: its known_hosts names the sshd's host key below)
mkdir -p "$T/agenthome/.ssh"
OLDHOME=$HOME
export HOME=$T/agenthome
start who "$ONE_URI"
export HOME=$OLDHOME
ssh-add -e "$ONE_URI" >/dev/null 2>&1
env SSH_ASKPASS="$T/pin.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -c -s "$ONE_URI" </dev/null >/dev/null 2>&1
check "ssh-add -c -s: the key is confirm-constrained" \
    test "$(ssh-add -l 2>/dev/null | grep -c ec256)" = 1
echo "a message" >"$T/msg"
: >"$T/prompts"
rm -f "$T/msg.sig"
ssh-keygen -Y sign -f "$T/one.pub" -n tktest "$T/msg" >/dev/null 2>&1
check "ssh-keygen -Y sign through a confirm key works" test -s "$T/msg.sig"
check "...its confirm prompt (askpass argv) names ssh-keygen" \
    grep -q 'Requested by: ssh-keygen -Y sign' "$T/prompts"
check "...and the -d log line of the signature does too" \
    grep -q 'signed with .* for ssh-keygen -Y sign' "$AGENT_LOG"
echo no >"$T/answer"
rm -f "$T/msg.sig"
ssh-keygen -Y sign -f "$T/one.pub" -n tktest "$T/msg" >/dev/null 2>&1
check "a refused signature's log line names ssh-keygen" \
    grep -q 'for ssh-keygen -Y sign.* refused' "$AGENT_LOG"
echo yes >"$T/answer"

if [ "$(id -u)" -eq 0 ] && [ -x /usr/sbin/sshd ]; then
	tk_sshd_setup
	tk_at_exit "find /tmp -maxdepth 1 -name 'ssh-*' -user $TK_USER \
	    -exec rm -rf {} + 2>/dev/null"
	cp "$T/one.pub" "$T/home/.ssh/authorized_keys"
	cp "$T/one.pub" "$T/msg" "$T/home/"
	chown -R "$TK_USER" "$T/home"
	HOSTFP=$(ssh-keygen -lf "$T/hostkey.pub" | awk '{ print $2 }')
	fwdsign() {
		rm -f "$T/home/msg.sig"
		: >"$T/prompts"
		tk_ssh -A -o IdentityAgent="$SSH_AUTH_SOCK" \
		    -o IdentitiesOnly=yes -o IdentityFile="$T/one.pub" test \
		    'ssh-keygen -Y sign -f one.pub -n tktest msg' \
		    >"$T/fwd.out" 2>&1
	}
	fwdsign
	check "a signature through a forwarded agent works" \
	    test -s "$T/home/msg.sig"
	check "...its prompt names the forwarding host by its key ($HOSTFP)" \
	    grep -q "Requested by: a process on the host with key $HOSTFP (forwarded agent)" \
	    "$T/prompts"
	check "...and so does the log line" \
	    grep -q "signed with .* for a process on the host with key $HOSTFP" \
	    "$AGENT_LOG"
	# an unhashed known_hosts line of the agent's user names it
	printf 'fwdhost.example %s\n' "$(cut -d' ' -f1,2 "$T/hostkey.pub")" \
	    >"$T/agenthome/.ssh/known_hosts"
	fwdsign
	check "...by its name too, where the agent's known_hosts has it" \
	    grep -q "Requested by: a process on fwdhost.example (forwarded agent, host key $HOSTFP)" \
	    "$T/prompts"
	# hashed (ssh-keygen -H): named only by a Host of ~/.ssh/config
	printf 'hashed.example %s\n' "$(cut -d' ' -f1,2 "$T/hostkey.pub")" \
	    >"$T/agenthome/.ssh/known_hosts"
	ssh-keygen -q -H -f "$T/agenthome/.ssh/known_hosts" >/dev/null 2>&1
	rm -f "$T/agenthome/.ssh/known_hosts.old"
	fwdsign
	check "a hashed known_hosts line alone names no host" \
	    grep -q "Requested by: a process on the host with key $HOSTFP" \
	    "$T/prompts"
	printf 'Host other *.example\n\tUser x\nHost = hashed.example\n' \
	    >"$T/agenthome/.ssh/config"
	fwdsign
	check "...with a Host of ~/.ssh/config for it, it names that host" \
	    grep -q "Requested by: a process on hashed.example (forwarded agent, host key $HOSTFP)" \
	    "$T/prompts"
else
	skip "a forwarded request names the host key" "needs root and sshd"
	skip "...its prompt" "needs root and sshd"
	skip "...the log line" "needs root and sshd"
	skip "...the host name" "needs root and sshd"
	skip "...not from a hashed line" "needs root and sshd"
	skip "...but with ~/.ssh/config's Host" "needs root and sshd"
fi
stop

# ------------------------------------------- a notice while the token waits
dbus session
SESSBUS=$BUS
fake notify fake-notify.py "$SESSBUS" "$T/notices"
: >"$T/notices"
export DBUS_SESSION_BUS_ADDRESS=$SESSBUS
start nt "$ONE_URI"
sign
check "a fast token signs (rc $rc)" test "$rc" = 0
sleep 1.5
is "$(grep -c . "$T/notices")" 0 "...and raises no notice"
tk_fault_ctl "delay C_Sign 2500"
sign
check "a token taking 2.5 s to sign still signs (rc $rc)" test "$rc" = 0
waitfor 3000 grep -q '^close' "$T/notices"
is "$(grep -c '^notify' "$T/notices")" 1 "...it raised exactly one notice"
check "...naming the token and the requester" \
    grep -q '^notify 1 Token "tk one" is waiting | Touch your token "tk one" to sign for ssh-add -T' \
    "$T/notices"
is "$(grep -c '^close 1$' "$T/notices")" 1 "...closed when the signature came back"
tk_fault_ctl ""
stop

export DBUS_SESSION_BUS_ADDRESS="unix:path=$T/no-session-bus"
start nobus "$ONE_URI"
sign
tk_fault_ctl "delay C_Sign 2000"
sign
check "no session bus: the slow signature works (rc $rc)" test "$rc" = 0
is "$(nlines 'is waiting: Touch your token')" 1 \
    "...and the notice is one log line instead"
tk_fault_ctl ""
stop

done_testing
