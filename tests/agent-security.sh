#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Security tests of tokenkeys agent (issue 5): socket privacy, clients of
# other uids, dumpability and core files, the PIN in the agent's memory,
# argv, environ and debug log, forwarded connections, the module
# allowlist, unlock storms and hostile frames.  The agents run as a
# throwaway non-root user on a throwaway SoftHSM token; memory is read as
# root with tests/memscan, raw frames come from tests/agent-poke, and
# tests/canarymod.so tells when a module was loaded.  Needs root.

. "$(dirname "$0")/lib.sh"

tk_need_root
for tool in softhsm2-util pkcs11-tool ssh ssh-add ssh-keygen /usr/sbin/sshd \
    setpriv useradd openssl; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE not installed"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
B=${abs_top_builddir:-$TK_TESTDIR/..}/tests
MEMSCAN=$B/memscan
POKE=$B/agent-poke
CANARY=$B/.libs/canarymod.so
for f in "$MEMSCAN" "$POKE" "$CANARY"; do
	[ -f "$f" ] || skip_all "$f not built (make check builds it)"
done

plan 86

tk_tmpdir
tk_softhsm_init "$T"
rnd() { od -An -tx1 -N6 /dev/urandom | tr -d ' \n'; }
PIN=tkSecPin-$(rnd)
WRONG=tkWrongPin-$(rnd)
LOCKPW=tkLockPw-$(rnd)
S=$(tk_token_new "tk sec" "$PIN" 12345678) || bail "cannot create a token"
tk_keygen "$S" "$PIN" EC:prime256v1 02 ec256 || bail "cannot make a key"

# The throwaway user the agents run as; sshd logs in as it too.
tk_sshd_setup
U=$TK_USER
G=$(id -g "$U")
tk_user_reach "$U" TOKENKEYS MEMSCAN POKE
tk_user_reach nobody POKE
UID_U=$(id -u "$U")
as_user() { setpriv --reuid="$U" --regid="$G" --clear-groups "$@"; }
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
W=$T/u				# the user's working directory
mkdir -p "$W" "$W/xdg"
chmod 755 "$W"
chmod 700 "$W/xdg"
chown -R "$U" "$W" "$T/tokens"
chown "$U" "$SOFTHSM2_CONF"

# Askpass for the agents: counts its calls, waits while $W/hold exists
# (a prompt held open), prints $W/agent.pin.
cat >"$T/agent-askpass.sh" <<EOF
#!/bin/sh
echo call >>"$W/agent.count"
i=0
while [ -e "$W/hold" ] && [ \$i -lt 300 ]; do
	touch "$W/holding"
	sleep 0.1
	i=\$((i + 1))
done
cat "$W/agent.pin"
EOF
printf '#!/bin/sh\necho %s\n' "$PIN" >"$T/pin.sh"
printf '#!/bin/sh\necho %s\n' "$WRONG" >"$T/wrong.sh"
printf '#!/bin/sh\necho %s\n' "$LOCKPW" >"$T/lockpw.sh"
printf '#!/bin/sh\necho not-%s\n' "$LOCKPW" >"$T/badlock.sh"
chmod 755 "$T"/*.sh
printf '%s\n' "$PIN" >"$W/agent.pin"
: >"$W/agent.count"
chown "$U" "$W/agent.pin" "$W/agent.count"
chmod 600 "$W/agent.pin"
: >"$T/canary"
chmod 666 "$T/canary"

# start_agent NAME ARGS...: tokenkeys agent -D -d as the user, in $W, on
# $W/NAME.sock; log in $T/NAME.log.  Sets PID_NAME.
start_agent() {
	local name=$1 i
	shift
	(cd "$W" && exec setpriv --reuid="$U" --regid="$G" --clear-groups \
	    env -u XDG_RUNTIME_DIR HOME="$T/home" \
	    SSH_ASKPASS="$T/agent-askpass.sh" SSH_ASKPASS_REQUIRE=force \
	    TK_CANARY="$T/canary" \
	    "$TOKENKEYS" agent -D -d -a "$W/$name.sock" "$@" \
	    </dev/null >"$T/$name.out" 2>"$T/$name.log") &
	eval "PID_$name=$!"
	tk_at_exit "kill $! 2>/dev/null"
	for i in $(seq 150); do
		if [ -S "$W/$name.sock" ]; then
			ua "$name" ssh-add -l >/dev/null 2>&1
			[ $? -le 1 ] && return 0
		fi
		sleep 0.1
	done
	diag "agent $name did not start:" "$(cat "$T/$name.log")"
	return 1
}

# The (setpriv) process is the agent itself: setpriv and env exec.
agent_pid() { eval "echo \$PID_$1"; }

stop_agent() {
	local pid
	pid=$(agent_pid "$1")
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# ua NAME CMD...: run CMD as the user against agent NAME.
ua() {
	local name=$1
	shift
	(cd "$W" && as_user env HOME="$T/home" SSH_AUTH_SOCK="$W/$name.sock" \
	    "$@" </dev/null)
}

# descendants PID: every process below PID.
descendants() {
	local p c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

ms() { echo $(( $(date +%s%N) / 1000000 )); }

# scan_clean DESC PID STRING: STRING is nowhere in PID's memory.
scan_clean() {
	"$MEMSCAN" "$2" "$3" >"$T/scan.out" 2>&1
	case $? in
	0)	ok "$1" ;;
	1)	not_ok "$1"; diag "$(cat "$T/scan.out")" ;;
	*)	not_ok "$1 (memory not readable)"; diag "$(cat "$T/scan.out")" ;;
	esac
}

# ------------------------------------------------------------ the socket
start_agent main || bail "the agent does not start as a non-root user"
A=$(agent_pid main)
is "$(stat -c '%a %U' "$W/main.sock")" "600 $U" \
    "-a in an existing directory: socket 0600, owned by the user"
ua main ssh-add -L >"$T/key.pub"
is "$(grep -c "serial=$S" "$T/key.pub")" 1 "the agent serves the token key"
chmod 644 "$T/key.pub"

# The default: a private directory under $XDG_RUNTIME_DIR, whatever the
# umask.
(cd "$W" && umask 000 && exec setpriv --reuid="$U" --regid="$G" \
    --clear-groups env HOME="$T/home" XDG_RUNTIME_DIR="$W/xdg" \
    SSH_ASKPASS=/bin/false "$TOKENKEYS" agent -D 'pkcs11:token=none' \
    </dev/null >"$T/def.out" 2>"$T/def.log") &
dpid=$!
tk_at_exit "kill $dpid 2>/dev/null"
for i in $(seq 100); do
	[ -s "$T/def.out" ] && break
	sleep 0.1
done
dsock=$(sed -n 's/^SSH_AUTH_SOCK=\([^;]*\);.*/\1/p' "$T/def.out")
ddir=$(dirname "${dsock:-/nonexistent/x}")
case $ddir in
"$W/xdg/"*)	ok "default socket under \$XDG_RUNTIME_DIR ($ddir)" ;;
*)		not_ok "default socket under \$XDG_RUNTIME_DIR ($dsock)" ;;
esac
is "$(stat -c '%a %U' "$ddir" 2>&1)" "700 $U" \
    "...in a directory of mode 0700 owned by the user (umask 000)"
is "$(stat -c '%a %U' "$dsock" 2>&1)" "600 $U" "...socket mode 0600"
kill $dpid
wait $dpid 2>/dev/null
check "...and the directory is removed when the agent ends" \
    test ! -e "$ddir"

# -a PATH where something already is.  A live agent's socket: refused,
# and that agent goes on serving.
ino=$(stat -c %i "$W/main.sock")
(cd "$W" && as_user "$TOKENKEYS" agent -D -a "$W/main.sock" 'pkcs11:token=x' \
    </dev/null >/dev/null 2>"$T/dup.log")
rc=$?
check "-a on a live agent's socket: refused (exit $rc)" test "$rc" != 0
check "...saying why" grep -q "main.sock.*in use" "$T/dup.log"
is "$(stat -c %i "$W/main.sock")" "$ino" "...the live agent keeps its socket"
is "$(ua main ssh-add -l 2>/dev/null | grep -c "serial=$S")" 1 \
    "...and goes on serving"

# A stale socket (an agent that was SIGKILLed): refused as in use, left
# alone; a regular file and a symlink are never replaced or followed.
(cd "$W" && exec setpriv --reuid="$U" --regid="$G" --clear-groups \
    "$TOKENKEYS" agent -D -a "$W/stale.sock" 'pkcs11:token=x' \
    </dev/null >/dev/null 2>&1) &
spid=$!
for i in $(seq 100); do [ -S "$W/stale.sock" ] && break; sleep 0.1; done
kill -KILL $spid
{ wait $spid; } 2>/dev/null
(cd "$W" && as_user "$TOKENKEYS" agent -D -a "$W/stale.sock" 'pkcs11:token=x' \
    </dev/null >/dev/null 2>"$T/stale.log")
rc=$?
check "-a on a stale socket: a clear error (exit $rc), not a crash" sh -c \
    "test $rc = 1 && grep -q 'stale.sock' '$T/stale.log'"
echo "precious" >"$W/file"
(cd "$W" && as_user "$TOKENKEYS" agent -D -a "$W/file" 'pkcs11:token=x' \
    </dev/null >/dev/null 2>&1)
rc=$?
check "-a on a regular file: refused, the file untouched" sh -c \
    "test $rc != 0 && test \"\$(cat '$W/file')\" = precious"
ln -s "$W/elsewhere.sock" "$W/link.sock"
(cd "$W" && as_user "$TOKENKEYS" agent -D -a "$W/link.sock" 'pkcs11:token=x' \
    </dev/null >/dev/null 2>&1)
rc=$?
check "-a on a symlink: refused, nothing created where it points" sh -c \
    "test $rc != 0 && test ! -e '$W/elsewhere.sock' && test -L '$W/link.sock'"
(cd "$W" && as_user "$TOKENKEYS" agent -D -a "$W/no/such/dir/a.sock" \
    </dev/null >/dev/null 2>"$T/nodir.log")
rc=$?
check "-a in a directory that does not exist: a clear error" sh -c \
    "test $rc = 1 && grep -q 'no/such/dir' '$T/nodir.log'"

# ---------------------------------------------------------- other uids
# Through the 0600 socket: connect() itself is refused.
is "$(as_nobody "$POKE" "$W/main.sock" list 2>&1)" refused \
    "another uid cannot even connect to the 0600 socket"
# With the mode opened up, the SO_PEERCRED check is what stands.
chmod 666 "$W/main.sock"
is "$(as_nobody "$POKE" "$W/main.sock" list 2>&1)" closed \
    "socket mode 0666: another uid's list request gets the connection closed"
is "$(as_nobody "$POKE" "$W/main.sock" sign "$T/key.pub" 2>&1)" closed \
    "...a sign request likewise"
mkdir -p "$W/mods" "$W/out"
cp "$CANARY" "$W/mods/canary.so"
cp "$CANARY" "$W/out/evil.so"
is "$(as_nobody "$POKE" "$W/main.sock" add "$TK_MODULE" "$PIN" 2>&1)" \
    closed "...an add (ssh-add -s) likewise"
is "$("$POKE" "$W/main.sock" list sign "$T/key.pub" add "pkcs11:serial=$S" \
    "$PIN" 2>&1 | sort -u)" closed "root (another uid) gets nothing either"
chmod 600 "$W/main.sock"
check "...and the log names the refused uids" sh -c \
    "grep -q 'connection from uid $(id -u nobody) .*refused' '$T/main.log' &&
    grep -q 'connection from uid 0 .*refused' '$T/main.log'"

# ------------------------------------------- dumpable, ptrace, core files
ua main ssh-add -T "$T/key.pub" >"$T/t.out" 2>&1
is "$?" 0 "a signature (PIN typed through askpass) works"
is "$(wc -l <"$W/agent.count")" 1 "...asked once"
procs="$A $(descendants "$A")"
nh=0
for p in $procs; do
	case $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) in
	*__helper*) nh=$((nh + 1)) ;;
	esac
done
check "the agent runs helper processes ($nh)" test "$nh" -ge 1
bad=
for p in $procs; do
	o=$(stat -c %u "/proc/$p/status" 2>/dev/null) || continue
	[ "$o" = 0 ] || bad="$bad $p"
done
is "${bad:-none}" none \
    "agent and helpers are not dumpable (/proc/PID owned by root)"
setpriv --reuid="$U" --regid="$G" --clear-groups sleep 60 &
ctl=$!
sleep 0.2
as_user "$MEMSCAN" $ctl no-such-string >/dev/null 2>&1
crc=$?
kill $ctl 2>/dev/null
wait $ctl 2>/dev/null
bad=
for p in $procs; do
	as_user "$MEMSCAN" "$p" no-such-string >/dev/null 2>&1
	[ $? = 2 ] || bad="$bad $p"
done
if [ "$crc" = 0 ]; then
	is "${bad:-none}" none "the user cannot read their memory (ptrace \
access refused), though it can read its own plain processes"
else
	not_ok "control: the user reads its own plain process (rc $crc)"
fi
bad=
for p in $procs; do
	grep -q '^Max core file size *0 *0 ' "/proc/$p/limits" ||
	    bad="$bad $p"
done
is "${bad:-none}" none "core size limit 0 in agent and helpers"

# A SIGSEGV'd helper: restarted, no core file (core_pattern permitting).
pat=$(cat /proc/sys/kernel/core_pattern)
helper=$(for p in $procs; do
	tr '\0' ' ' <"/proc/$p/cmdline" | grep -q 'softhsm' && echo "$p"
done | head -1)
# Cores land in the working directory only with a plain core_pattern.
case $pat in
/*|'|'*) cores=0 ;;
*)	cores=1 ;;
esac
if [ $cores = 1 ]; then
	(cd "$W" && exec setpriv --reuid="$U" --regid="$G" --clear-groups \
	    sh -c 'ulimit -c unlimited; exec sleep 60') &
	ctl=$!
	sleep 0.3
	kill -SEGV $ctl
	wait $ctl 2>/dev/null
	sleep 0.5
	check "control: a plain process of the user dumps core in $W" \
	    sh -c "ls '$W' | grep -q '^core'"
	rm -f "$W"/core*
else
	skip "control: a plain process dumps core" "core_pattern is '$pat'"
fi
kill -SEGV "${helper:-0}"
for i in $(seq 50); do
	grep -q '^State:.*Z' "/proc/$helper/status" 2>/dev/null && break
	sleep 0.1
done
sleep 1
if [ $cores = 1 ]; then
	check "a helper killed by SIGSEGV leaves no core file" \
	    sh -c "! ls '$W' | grep -q '^core'"
else
	skip "no core file from a crashing helper" "core_pattern is '$pat'"
fi
: >"$W/agent.count"
ua main ssh-add -T "$T/key.pub" >/dev/null 2>&1
is "$?" 0 "...the helper is restarted, and signing works again"
check "...after the PIN is asked again (the login died with it)" \
    test "$(wc -l <"$W/agent.count")" = 1

# ------------------------------------------------------ the PIN in memory
procs="$A $(descendants "$A")"
scan_clean "after a login through askpass the PIN is nowhere in the \
agent's memory" "$A" "$PIN"
for p in $(descendants "$A"); do
	scan_clean "...nor in helper $p ($(tr '\0' ' ' <"/proc/$p/cmdline" |
	    cut -c1-60))" "$p" "$PIN"
done
"$MEMSCAN" "$A" "$T/agent-askpass.sh" >/dev/null
is "$?" 1 "control: memscan finds the askpass path in the agent's memory"
h=$(for p in $(descendants "$A"); do
	tr '\0' ' ' <"/proc/$p/cmdline" | grep -q softhsm && echo "$p"
done | head -1)
"$MEMSCAN" "${h:-0}" "$SOFTHSM2_CONF" >/dev/null 2>&1
is "$?" 1 "control: ...and SOFTHSM2_CONF in the SoftHSM helper's"
check "the debug log (-d) never shows the PIN" \
    sh -c "! grep -qF '$PIN' '$T/main.log'"

# ------------------------------------------ a PIN given with ssh-add -s
# A second agent that serves nothing until ssh-add -s: first a wrong PIN
# (refused by the token), then the right one.
: >"$W/agent.count"
start_agent pin 'pkcs11:token=no%20such%20token' ||
    bail "the ssh-add -s agent does not start"
P=$(agent_pid pin)
ua pin env SSH_ASKPASS="$T/wrong.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -s "pkcs11:serial=$S" >/dev/null 2>&1
check "ssh-add -s with a wrong PIN fails" test $? != 0
ua pin env SSH_ASKPASS="$T/pin.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -s "pkcs11:serial=$S" >/dev/null 2>&1
is "$?" 0 "ssh-add -s with the right PIN"
ua pin ssh-add -T "$T/key.pub" >/dev/null 2>&1
check "...signs without the agent asking (the given PIN logged in)" sh -c \
    "test $? = 0 && test \"\$(wc -l <'$W/agent.count')\" = 0"
for pin in "$PIN" "$WRONG"; do
	what=PIN
	[ "$pin" = "$WRONG" ] && what="wrong PIN"
	scan_clean "after ssh-add -s the $what is nowhere in the agent's \
memory" "$P" "$pin"
	for p in $(descendants "$P"); do
		scan_clean "...nor in helper $p ($(tr '\0' ' ' \
		    <"/proc/$p/cmdline" | cut -c20-70))" "$p" "$pin"
	done
done

# A prompt held open after a helper lost its login: nothing the agent
# started (askpass, the new helper) has the PIN in argv or environ.
touch "$W/hold"
chown "$U" "$W/hold"
for p in $(descendants "$P"); do
	tr '\0' ' ' <"/proc/$p/cmdline" | grep -q softhsm || continue
	kill -KILL "$p"
	# dead (a zombie until the agent reaps it), its socket closed
	for i in $(seq 50); do
		grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.5
done
ua pin ssh-add -T "$T/key.pub" >"$T/held.out" 2>&1 &
held=$!
for i in $(seq 150); do [ -e "$W/holding" ] && break; sleep 0.1; done
check "a PIN prompt is open" test -e "$W/holding"
leak=
n=0
for p in $(descendants "$P"); do
	n=$((n + 1))
	for f in cmdline environ; do
		grep -qaF -e "$PIN" -e "$WRONG" "/proc/$p/$f" 2>/dev/null &&
		    leak="$leak $p/$f"
	done
done
is "${leak:-none}" none "the PIN is in no argv or environ of the $n \
processes the agent runs (askpass, helpers)"
grep -qaF "$PIN" "/proc/$P/environ" "/proc/$P/cmdline"
check "...nor in the agent's own" test $? = 1
rm -f "$W/hold"
wait $held
is "$?" 0 "the prompt answered, the signature is made"
stop_agent pin
check "the debug log (-d) never shows a PIN given with ssh-add -s" \
    sh -c "! grep -qF -e '$PIN' -e '$WRONG' '$T/pin.log'"

# ---------------------------------------------- forwarded connections
# A connection that sent session-bind (signed by a host key, as ssh -A
# does) may not add a module, send a PIN, or remove one.
openssl genpkey -algorithm ed25519 -out "$T/host.pem" 2>/dev/null ||
    bail "openssl genpkey"
chmod 644 "$T/host.pem"
: >"$W/agent.count"
start_agent fwd 'pkcs11:token=no%20such%20token' ||
    bail "the forwarding agent does not start"
is "$(ua fwd "$POKE" "$W/fwd.sock" bind "$T/host.pem" 1 \
    add "pkcs11:serial=$S" "$PIN" | tr '\n' ' ')" "success failure " \
    "forwarded (session-bind, is_forwarding): add with a PIN is refused"
is "$(ua fwd "$POKE" "$W/fwd.sock" bind "$T/host.pem" 0 \
    add "$TK_MODULE" "$PIN" | tr '\n' ' ')" "success failure " \
    "bound for authentication: adding a module is refused"
is "$(ua fwd ssh-add -l 2>&1)" "The agent has no identities." \
    "...nothing was added"
ua fwd ssh-add -s "pkcs11:serial=$S" >/dev/null 2>&1
ua fwd ssh-add -T "$T/key.pub" >/dev/null 2>&1
is "$(wc -l <"$W/agent.count")" 1 \
    "...and no PIN was used: the first signature asks for one"
is "$(ua fwd "$POKE" "$W/fwd.sock" bind "$T/host.pem" 1 \
    remove "pkcs11:serial=$S" list | tr '\n' ' ')" "success failure keys 1 " \
    "forwarded: ssh-add -e is refused, the key still served"
is "$(ua fwd "$POKE" "$W/fwd.sock" badbind "$T/host.pem" list |
    tr '\n' ' ')" "closed closed " \
    "a session-bind whose signature does not verify closes the connection"
check "the log says why" grep -q 'request came through a forwarded' \
    "$T/fwd.log"
stop_agent fwd

# The real thing: ssh -A to a throwaway sshd, ssh-add -s / -e there.
ssh-keygen -q -t ed25519 -N '' -f "$T/client/id" || bail "client key"
cp "$T/client/id.pub" "$T/home/.ssh/authorized_keys"
chown "$U" "$T/home/.ssh/authorized_keys"
tk_at_exit "find /tmp -maxdepth 1 -name 'ssh-*' -user $U \
    -exec rm -rf {} + 2>/dev/null"
SSH_ASKPASS=/bin/false "$TOKENKEYS" agent -D -a "$T/r.sock" \
    'pkcs11:token=no%20such%20token' </dev/null >/dev/null 2>"$T/r.log" &
rpid=$!
tk_at_exit "kill $rpid 2>/dev/null"
for i in $(seq 100); do [ -S "$T/r.sock" ] && break; sleep 0.1; done
tk_ssh -A -o IdentityAgent="$T/r.sock" -o IdentityFile="$T/client/id" \
    -o IdentitiesOnly=yes test "ssh-add -l; echo lrc=\$?; \
    SSH_ASKPASS=$T/pin.sh SSH_ASKPASS_REQUIRE=force \
    ssh-add -s 'pkcs11:serial=$S' </dev/null; echo rc=\$?" \
    >"$T/fwd.out" 2>&1
if grep -q 'lrc=1' "$T/fwd.out" && grep -q 'rc=[1-9]' "$T/fwd.out"; then
	ok "ssh -A: the far side reaches the agent, but ssh-add -s fails"
else
	not_ok "ssh -A: the far side reaches the agent, but ssh-add -s fails"
	diag "$(cat "$T/fwd.out")" "$(tail -5 "$T/r.log")"
fi
is "$(SSH_AUTH_SOCK=$T/r.sock ssh-add -l 2>&1)" \
    "The agent has no identities." "...and added nothing"
SSH_AUTH_SOCK=$T/r.sock SSH_ASKPASS=$T/pin.sh SSH_ASKPASS_REQUIRE=force \
    ssh-add -s "pkcs11:serial=$S" </dev/null >/dev/null 2>&1
tk_ssh -A -o IdentityAgent="$T/r.sock" -o IdentityFile="$T/client/id" \
    -o IdentitiesOnly=yes test "ssh-add -e 'pkcs11:serial=$S'; \
    echo rc=\$?; ssh-add -l" >"$T/fwd.out" 2>&1
if grep -q 'rc=[1-9]' "$T/fwd.out" && grep -q "serial=$S" "$T/fwd.out"; then
	ok "ssh -A: ssh-add -e on the far side fails, the key stays listed"
else
	not_ok "ssh -A: ssh-add -e on the far side fails, the key stays listed"
	diag "$(cat "$T/fwd.out")" "$(tail -5 "$T/r.log")"
fi
kill $rpid
wait $rpid 2>/dev/null

# -------------------------------------------------- module allowlist
# -P allows $W/mods/* and /usr/lib/*; canary.so in $W/mods is allowed,
# evil.so in $W/out is not.  Refused paths must not be loaded at all:
# the canary's constructor would write to $T/canary.
ln -s ../out/evil.so "$W/mods/link.so"
start_agent mod -P "$W/mods/*,/usr/lib/*" 'pkcs11:token=no%20such%20token' ||
    bail "the allowlist agent does not start"
M=$(agent_pid mod)
nproc0=$(descendants "$M" | wc -l)
# refused DESC READER: failure, nothing loaded, no helper started.
refused() {
	local got
	got=$(ua mod "$POKE" "$W/mod.sock" add "$2" "")
	if [ "$got" = failure ] && [ ! -s "$T/canary" ] &&
	    [ "$(descendants "$M" | wc -l)" = "$nproc0" ]; then
		ok "$1"
	else
		not_ok "$1"
		diag "answer: $got" "canary: $(cat "$T/canary")" \
		    "processes: $(descendants "$M" | wc -l), were $nproc0"
	fi
}
refused "a symlink in an allowed directory pointing outside: refused, \
not loaded, no helper" \
    "$W/mods/link.so"
refused "a path with .. leading outside: refused" "$W/mods/../out/evil.so"
refused "a relative path (resolving into the allowlist): refused" \
    "mods/canary.so"
refused "a relative path with ..: refused" "../u/mods/canary.so"
refused "a path that does not exist: refused" "$W/mods/nothere.so"
refused "module-path= in a URI, through the symlink: refused" \
    "pkcs11:?module-path=$W/mods/link.so"
refused "module-path= relative: refused" "pkcs11:?module-path=mods/canary.so"
check "...the log says the real path is not allowed" grep -q \
    "module's real path is not in the -P allowlist" "$T/mod.log"
ua mod "$POKE" "$W/mod.sock" add "$W/mods/canary.so" "" >/dev/null
check "control: the allowed canary module is loaded (by a helper)" \
    grep -q '^loaded [0-9]' "$T/canary"
ua mod env SSH_ASKPASS="$T/pin.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -s "$TK_MODULE" >/dev/null 2>&1
is "$?" 0 "the allowed SoftHSM module still works (ssh-add -s)"
ua mod ssh-add -T "$T/key.pub" >/dev/null 2>&1
is "$?" 0 "...and signs"
stop_agent mod

# --------------------------------------------------- hostile frames
fds() { ls "/proc/$A/fd" | wc -l; }
ua main ssh-add -l >/dev/null
fd0=$(fds)
# A well-behaved client lists and signs throughout.
(
	n=0
	for i in $(seq 15); do
		ua main ssh-add -l 2>/dev/null | grep -q "serial=$S" ||
		    n=$((n + 1))
		ua main ssh-add -T "$T/key.pub" >/dev/null 2>&1 ||
		    n=$((n + 1))
	done
	echo $n >"$T/good.fails"
) &
good=$!
res=
res2=
for i in 1 2 3; do
	for step in oversize truncated zero garbage noise; do
		res="$res $(ua main "$POKE" "$W/main.sock" $step)"
	done
	res2="$res2 $(ua main "$POKE" "$W/main.sock" list garbage list |
	    tr '\n' ,)"
done
wait $good
is "$(echo $res)" "$(echo closed closed closed closed closed \
    closed closed closed closed closed closed closed closed closed closed)" \
    "oversized, truncated, zero-length, garbage frames: connection closed"
is "$(echo $res2)" "keys 1,closed,closed, keys 1,closed,closed, \
keys 1,closed,closed," "...after a good request on the same connection too"
is "$(cat "$T/good.fails")" 0 \
    "...while a concurrent client kept listing and signing (0 failures)"
sleep 1
is "$(fds)" "$fd0" "...and the agent's fd count did not grow"
check "...the log says why it closed" grep -q 'frame of 262145 bytes' \
    "$T/main.log"

# ---------------------------------------------------- unlock storm
ua main env SSH_ASKPASS="$T/lockpw.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -x >/dev/null 2>&1
is "$?" 0 "ssh-add -x locks the agent"
t=
mono=1
for i in 1 2 3; do
	s=$(ms)
	ua main env SSH_ASKPASS="$T/badlock.sh" SSH_ASKPASS_REQUIRE=force \
	    ssh-add -X >/dev/null 2>&1 &
	bg=$!
	if [ $i = 3 ]; then
		sleep 0.5
		s2=$(ms)
		ua main ssh-add -l >"$T/l.out" 2>&1
		lms=$(( $(ms) - s2 ))
		kill -0 $bg 2>/dev/null && lwait=1 || lwait=0
	fi
	wait $bg
	rc=$?
	d=$(( $(ms) - s ))
	t="$t ${d}ms(rc $rc)"
	[ $rc != 0 ] || mono=0
	# the delay is a floor that grows; a noisy machine only adds to it
	[ $d -ge $((i * 900)) ] || mono=0
done
check "wrong unlocks are refused, the nth after >= n s ($t)" \
    test $mono = 1
check "...another client's ssh-add -l answers meanwhile (${lms} ms, \
unlock still pending: $lwait)" sh -c "test $lms -lt 1000 && test $lwait = 1 \
    && grep -q 'no identities' '$T/l.out'"
ua main env SSH_ASKPASS="$T/lockpw.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -X >/dev/null 2>&1
is "$?" 0 "the right password unlocks"
is "$(ua main ssh-add -l 2>/dev/null | grep -c "serial=$S")" 1 \
    "...and the key is listed again"
# Parallel guessing gains nothing: attempts are taken one at a time, so
# three at once (delays 1, 2, 3 s) take as long as three in a row.
ua main env SSH_ASKPASS="$T/lockpw.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -x >/dev/null 2>&1
s=$(ms)
for i in 1 2 3; do
	ua main "$POKE" "$W/main.sock" unlock "wrong$i" >"$T/par$i" &
	eval "par$i=$!"
done
wait $par1 $par2 $par3
d=$(( $(ms) - s ))
check "three parallel wrong unlocks take as long as in a row (${d} ms)" \
    test "$d" -ge 5400
is "$(cat "$T/par1" "$T/par2" "$T/par3" | sort -u)" failure \
    "...and all fail"
is "$(ua main "$POKE" "$W/main.sock" unlock "$LOCKPW")" success \
    "...then the right password unlocks"
scan_clean "the lock password is nowhere in the agent's memory" "$A" \
    "$LOCKPW"

# ---------------------------------------- no core from the agent itself
if [ $cores = 1 ]; then
	rm -f "$W"/core*
	kill -ABRT "$A"
	wait "$A" 2>/dev/null
	sleep 0.5
	check "an agent killed by SIGABRT leaves no core file" \
	    sh -c "! ls '$W' | grep -q '^core'"
else
	skip "no core from an aborting agent" "core_pattern is '$pat'"
fi
stop_agent main

done_testing
