#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys agent end to end: a throwaway SoftHSM token with every key
# type, a throwaway sshd as a ProxyCommand, and the stock OpenSSH clients
# (ssh, ssh-add, ssh-keygen) talking to the agent.  PINs come from askpass
# scripts that count their calls.  Needs root (throwaway users, sshd).

. "$(dirname "$0")/lib.sh"

tk_need_root
for tool in softhsm2-util pkcs11-tool ssh ssh-add ssh-keygen /usr/sbin/sshd \
    setpriv openssl; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE not installed"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"

plan 65

tk_tmpdir
tk_softhsm_init "$T"
tk_askpass_scripts 1234
PIN=1234
APIDS=

S=$(tk_token_new "tk agent" $PIN 12345678) || bail "cannot create a token"
tk_keygen "$S" $PIN rsa:2048 01 rsa2048 &&
tk_keygen "$S" $PIN EC:prime256v1 02 ec256 &&
tk_keygen "$S" $PIN EC:secp384r1 03 ec384 &&
tk_keygen "$S" $PIN EC:secp521r1 04 ec521 &&
tk_keygen "$S" $PIN EC:edwards25519 05 ed25519 || bail "cannot make keys"
tk_keyfile ed25519 "$T/ed.pem" &&
tk_import "$S" $PIN "$T/ed.pem" 0a imported || bail "cannot import a key"

# The agent's own askpass: PINs are counted in $T/agent.count, confirm
# prompts in $T/confirm.count and answered from $T/answer.
cat >"$T/agent-askpass.sh" <<EOF
#!/bin/sh
if [ "\$SSH_ASKPASS_PROMPT" = confirm ]; then
	echo call >>"$T/confirm.count"
	echo "\$1" >>"$T/prompts"
	[ "\$(cat "$T/answer" 2>/dev/null)" = yes ]
	exit
fi
echo call >>"$T/agent.count"
echo "\$1" >>"$T/prompts"
cat "$T/agent.pin"
EOF
printf '%s\n' $PIN >"$T/agent.pin"
echo yes >"$T/answer"
: >"$T/agent.count"
: >"$T/confirm.count"
printf '#!/bin/sh\necho lockpw\n' >"$T/lockpw.sh"
printf '#!/bin/sh\necho wrongpw\n' >"$T/wrongpw.sh"
chmod 755 "$T/agent-askpass.sh" "$T/lockpw.sh" "$T/wrongpw.sh"

# start_agent NAME ARGS...: tokenkeys agent -D -d on $T/NAME.sock, log in
# $T/NAME.log; waits until it answers.
start_agent() {
	local name=$1
	shift
	SSH_ASKPASS=$T/agent-askpass.sh SSH_ASKPASS_REQUIRE=force DISPLAY= \
	    "$TOKENKEYS" agent -D -d -a "$T/$name.sock" "$@" \
	    </dev/null >"$T/$name.out" 2>"$T/$name.log" &
	eval "PID_$name=$!"
	APIDS="$APIDS $!"
	tk_at_exit "kill $! 2>/dev/null"
	tk_agent_ready "$name" "$T/$name.sock" 100
}

stop_agent() { eval "tk_agent_stop \"\$PID_$1\""; }

sa() { SSH_AUTH_SOCK=$T/$1.sock "${@:2}" </dev/null; }

start_agent main || bail "the agent does not start"
is "$(head -1 "$T/main.out")" \
    "SSH_AUTH_SOCK=$T/main.sock; export SSH_AUTH_SOCK;" \
    "the agent prints ssh-agent's Bourne shell lines"
is "$(stat -c %a "$T/main.sock")" 600 "the socket is mode 0600"

# ---------------------------------------------------------------- listing
"$TOKENKEYS" list "pkcs11:serial=$S" </dev/null 2>/dev/null | tk_sorted \
    >"$T/list.pub"
sa main ssh-add -L | tk_sorted >"$T/agent.pub"
is "$(wc -l <"$T/agent.pub")" 6 "ssh-add -L lists the six token keys"
is "$(cat "$T/agent.pub")" "$(cat "$T/list.pub")" \
    "ssh-add -L gives the lines tokenkeys list prints (URI comments)"
sa main ssh-add -l >"$T/l.out"
check "ssh-add -l shows each key with its URI" \
    test "$(grep -c " pkcs11:.*serial=$S.* (\(RSA\|ECDSA\|ED25519\))$" \
    "$T/l.out")" = 6
is "$(grep -c 'ec256\|imported' "$T/l.out")" 2 \
    "...including the generated P-256 and the imported Ed25519 key"

for label in rsa2048 ec256 ec384 ec521 ed25519 imported; do
	grep "object=$label\$" "$T/agent.pub" >"$T/$label.pub"
done
check "the imported Ed25519 key is the one OpenSSL derives" \
    test "$(tk_pem_line "$T/ed.pem")" = "$(awk '{ print $1, $2 }' \
    "$T/imported.pub")"

# ---------------------------------------------------------------- logins
tk_sshd_setup
echo "LogLevel VERBOSE" >>"$T/sshd_config"
# sshd leaves the forwarded agents' /tmp/ssh-* directories behind.
tk_at_exit "find /tmp -maxdepth 1 -name 'ssh-*' -user $TK_USER \
    -exec rm -rf {} + 2>/dev/null"
cp "$T/agent.pub" "$T/home/.ssh/authorized_keys"
chown "$TK_USER" "$T/home/.ssh/authorized_keys"

# login SOCKNAME PUB [ssh options...]
login() {
	local sock=$1 pub=$2
	shift 2
	: >"$T/sshd.log"
	tk_ssh -o IdentityAgent="$T/$sock.sock" -o IdentitiesOnly=yes \
	    -o IdentityFile="$pub" "$@" test echo logged-in >"$T/ssh.out" 2>&1
}

# accepted PUB: sshd accepted exactly that key.
accepted() {
	local fp
	fp=$(ssh-keygen -l -f "$1" | awk '{ print $2 }')
	grep -q "Accepted publickey for $TK_USER .* $fp" "$T/sshd.log"
}

try_login() {
	local desc=$1 pub=$2
	shift 2
	login main "$pub" "$@"
	rc=$?
	if [ "$rc" = 0 ] && grep -q logged-in "$T/ssh.out" && accepted "$pub"
	then
		ok "$desc"
	else
		not_ok "$desc (rc $rc)"
		diag "$(cat "$T/ssh.out")" "$(tail -5 "$T/sshd.log")" \
		    "$(tail -5 "$T/main.log")"
	fi
}

try_login "ssh login with RSA-2048, rsa-sha2-256" "$T/rsa2048.pub" \
    -o PubkeyAcceptedAlgorithms=rsa-sha2-256
try_login "ssh login with RSA-2048, rsa-sha2-512" "$T/rsa2048.pub" \
    -o PubkeyAcceptedAlgorithms=rsa-sha2-512
try_login "ssh login with P-256" "$T/ec256.pub"
try_login "ssh login with P-384" "$T/ec384.pub"
try_login "ssh login with P-521" "$T/ec521.pub"
try_login "ssh login with Ed25519 (pkcs11-tool: printable string, DER point)" \
    "$T/ed25519.pub"
try_login "ssh login with Ed25519 (imported: OID, raw point)" \
    "$T/imported.pub"
for i in 1 2 3; do
	login main "$T/ec256.pub"
done
is "$(wc -l <"$T/agent.count" | tr -d ' ')" 1 \
    "the PIN was asked exactly once across ten logins"
check "the askpass prompt names the token" grep -q 'tk agent' \
    "$T/prompts"
check "the PIN appears nowhere in the agent's log" \
    sh -c "! grep -q $PIN '$T/main.log'"

check "ssh-add -T tests the P-256 key" sa main ssh-add -T "$T/ec256.pub"
check "ssh-add -T tests the RSA key" sa main ssh-add -T "$T/rsa2048.pub"

echo "the message" >"$T/msg"
sa main ssh-keygen -Y sign -f "$T/ed25519.pub" -n tktest "$T/msg" \
    >"$T/sign.out" 2>&1
check "ssh-keygen -Y sign through the agent" test -s "$T/msg.sig"
(printf 'me '; awk '{ print $1, $2 }' "$T/ed25519.pub") >"$T/allowed"
check "ssh-keygen -Y verify accepts that signature" \
    sh -c "ssh-keygen -Y verify -f '$T/allowed' -I me -n tktest \
    -s '$T/msg.sig' <'$T/msg' >/dev/null 2>&1"

# ---------------------------------------------------------- other users
tk_run setpriv --reuid=nobody --regid=nogroup --clear-groups \
    env SSH_AUTH_SOCK="$T/main.sock" ssh-add -l
check "a client of another uid gets nothing (socket mode)" test "$rc" != 0
chmod 666 "$T/main.sock"
tk_run setpriv --reuid=nobody --regid=nogroup --clear-groups \
    env SSH_AUTH_SOCK="$T/main.sock" ssh-add -l
chmod 600 "$T/main.sock"
check "a client of another uid is refused by the uid check" \
    test "$rc" != 0
check "...and the log says why" grep -q 'connection from uid [0-9]* .*refused' \
    "$T/main.log"
sa main ssh-add -l >/dev/null
is "$?" 0 "the agent still serves its own user"

# ------------------------------------------------------------ lock/unlock
sa main env SSH_ASKPASS="$T/lockpw.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -x >/dev/null 2>&1
is "$?" 0 "ssh-add -x locks the agent"
sa main ssh-add -l >"$T/out" 2>&1
check "locked: no identities listed" grep -q 'no identities' "$T/out"
login main "$T/ec256.pub"
check "locked: a login through the agent fails" test $? != 0
start=$(date +%s%N)
sa main env SSH_ASKPASS="$T/wrongpw.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -X >/dev/null 2>&1
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "unlock with a wrong password fails" test "$rc" != 0
check "...after a delay (${ms} ms)" test "$ms" -ge 900
sa main env SSH_ASKPASS="$T/lockpw.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -X >/dev/null 2>&1
is "$?" 0 "unlock with the right password"
try_login "unlocked: login works again" "$T/ec256.pub"

# ------------------------------------------------------------ forwarding
tk_ssh -A -o IdentityAgent="$T/main.sock" -o IdentitiesOnly=yes \
    -o IdentityFile="$T/ec256.pub" test 'ssh-add -l' >"$T/fwd.out" 2>&1
is "$(grep -c ' pkcs11:' "$T/fwd.out")" 6 \
    "ssh -A: ssh-add -l on the far side lists the six keys"

# A second sshd run by the throwaway user itself, for the hop onward.
O=$T/home/onward
mkdir -p "$O"
ssh-keygen -q -t ed25519 -N '' -f "$O/hostkey" || bail "onward host key"
cat >"$O/sshd_config" <<EOF
HostKey $O/hostkey
AuthorizedKeysFile $T/home/.ssh/authorized_keys
StrictModes no
UsePAM no
PidFile none
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
cat >"$O/ssh_config" <<EOF
Host onward
  ProxyCommand /usr/sbin/sshd -i -f $O/sshd_config -E $O/sshd.log
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  LogLevel ERROR
  IdentitiesOnly yes
  IdentityFile $T/ec384.pub
  PreferredAuthentications publickey
EOF
cp "$T/ec384.pub" "$O/"
chown -R "$TK_USER" "$O"
tk_ssh -A -o IdentityAgent="$T/main.sock" -o IdentitiesOnly=yes \
    -o IdentityFile="$T/ec256.pub" test \
    "ssh -F $O/ssh_config onward echo onward-ok" >"$T/fwd.out" 2>&1
if grep -q onward-ok "$T/fwd.out"; then
	ok "ssh -A: a login onward through the forwarded agent"
else
	not_ok "ssh -A: a login onward through the forwarded agent"
	diag "$(cat "$T/fwd.out")" "$(cat "$O/sshd.log" 2>/dev/null)"
fi

tk_ssh -A -o IdentityAgent="$T/main.sock" -o IdentitiesOnly=yes \
    -o IdentityFile="$T/ec256.pub" test \
    "ssh-add -s 'pkcs11:serial=$S' </dev/null" >"$T/fwd.out" 2>&1
check "ssh -A: the far side cannot add a module (ssh-add -s refused)" \
    sh -c "! grep -q 'Card added' '$T/fwd.out'"
check "...and the agent's log says it came through a forwarded connection" \
    grep -q 'refused: the request came through a forwarded' "$T/main.log"

stop_agent main

# ------------------------------------------------- wrong PIN, no retry
echo 9999 >"$T/agent.pin"
: >"$T/agent.count"; : >"$T/prompts"
start_agent wrong || bail "second agent does not start"
login wrong "$T/ec256.pub"
check "wrong PIN: the login fails" test $? != 0
is "$(wc -l <"$T/agent.count" | tr -d ' ')" 1 \
    "wrong PIN: askpass was called exactly once (no retry)"
check "wrong PIN: the log says the login failed" \
    grep -q 'login failed: incorrect PIN' "$T/wrong.log"
echo $PIN >"$T/agent.pin"
login wrong "$T/ec256.pub"
check "the next signature asks again and succeeds" test $? = 0
is "$(wc -l <"$T/agent.count" | tr -d ' ')" 2 "...with one more prompt"
check "...which says the last PIN was wrong" \
    grep -q 'last PIN entered was wrong' "$T/prompts"
stop_agent wrong

# ---------------------------------------------- ssh-add -s / -e, -c, -t
: >"$T/agent.count"
start_agent cards 'pkcs11:token=no%20such%20token' ||
    bail "third agent does not start"
sa cards ssh-add -l >"$T/out" 2>&1
check "an agent started with a URI that matches nothing serves nothing" \
    grep -q 'no identities' "$T/out"
sa cards env SSH_ASKPASS="$T/pin.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -s "pkcs11:serial=$S" >"$T/out" 2>&1
is "$?" 0 "ssh-add -s pkcs11:serial=... (PIN typed into ssh-add)"
is "$(sa cards ssh-add -L | tk_sorted)" "$(cat "$T/agent.pub")" \
    "...serves the token's keys"
login cards "$T/ec256.pub"
check "...a login works" test $? = 0
is "$(wc -l <"$T/agent.count" | tr -d ' ')" 0 \
    "...without the agent asking: the PIN from ssh-add -s was used"
sa cards ssh-add -e "pkcs11:serial=$S" >/dev/null 2>&1
is "$?" 0 "ssh-add -e pkcs11:serial=..."
sa cards ssh-add -l >"$T/out" 2>&1
check "...stops serving the keys" grep -q 'no identities' "$T/out"

sa cards env SSH_ASKPASS="$T/pin.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -s "$TK_MODULE" >/dev/null 2>&1
is "$?" 0 "ssh-add -s with an allowlisted module path"
is "$(sa cards ssh-add -L | grep -c "serial=$S")" 6 "...serves its keys"
sa cards ssh-add -e "$TK_MODULE" >/dev/null 2>&1
cp "$TK_MODULE" "$T/libcopy.so"
sa cards env SSH_ASKPASS="$T/pin.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -s "$T/libcopy.so" >/dev/null 2>&1
check "a module outside the -P allowlist is refused" test $? != 0

sa cards env SSH_ASKPASS="$T/pin.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -c -s "pkcs11:serial=$S" >/dev/null 2>&1
is "$?" 0 "ssh-add -c -s (confirm each use)"
echo yes >"$T/answer"
login cards "$T/ec256.pub"
check "confirm 'yes': the login works" test $? = 0
echo no >"$T/answer"
login cards "$T/ec256.pub"
check "confirm 'no': the login fails" test $? != 0
is "$(wc -l <"$T/confirm.count" | tr -d ' ')" 2 \
    "confirm was asked before each signature"

sa cards ssh-add -e "pkcs11:serial=$S" >/dev/null 2>&1
sa cards env SSH_ASKPASS="$T/pin.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -t 2 -s "pkcs11:serial=$S" >/dev/null 2>&1
is "$(sa cards ssh-add -l 2>/dev/null | grep -c pkcs11:)" 6 \
    "ssh-add -t 2 -s: keys served"
sleep 3
sa cards ssh-add -l >"$T/out" 2>&1
check "...and gone after their lifetime" grep -q 'no identities' "$T/out"
stop_agent cards

# ------------------------------------------------ daemon mode and -k
out=$(cd / && XDG_RUNTIME_DIR= SSH_ASKPASS=/bin/false "$TOKENKEYS" agent -s \
    2>/dev/null)
eval "$out" >/dev/null
if [ -n "${SSH_AGENT_PID:-}" ]; then
	tk_at_exit "kill $SSH_AGENT_PID 2>/dev/null"
fi
check "agent -s daemonises and prints where it listens" test -S "${SSH_AUTH_SOCK:-/nonexistent}"
is "$(stat -c %a "$(dirname "${SSH_AUTH_SOCK:-/x/y}")" 2>/dev/null)" 700 \
    "the default socket directory is private (0700)"
sockdir=$(dirname "${SSH_AUTH_SOCK:-/x/y}")
"$TOKENKEYS" agent -k >"$T/out" 2>&1
rc=$?
sleep 0.5
# (a zombie waiting for a reaper counts as gone)
check "agent -k kills it" sh -c "test $rc = 0 && ! grep -qs \
    '^State:.*[RSD]' /proc/${SSH_AGENT_PID:-0}/status"
check "...and its socket directory is gone" test ! -e "$sockdir"
unset SSH_AUTH_SOCK SSH_AGENT_PID

# ------------------------------------------------ systemd socket activation
if command -v systemd-socket-activate >/dev/null; then
	systemd-socket-activate -E SOFTHSM2_CONF -l "$T/act.sock" \
	    "$TOKENKEYS" agent -D -d </dev/null >"$T/act.out" 2>"$T/act.log" &
	act=$!
	tk_at_exit "kill $act 2>/dev/null"
	for i in $(seq 50); do
		[ -S "$T/act.sock" ] && break
		sleep 0.1
	done
	is "$(SSH_AUTH_SOCK=$T/act.sock ssh-add -l </dev/null 2>/dev/null |
	    grep -c "serial=$S")" 6 \
	    "socket activation (LISTEN_FDS): the agent serves the socket it got"

	# A key that appears, then disappears, while the agent runs (SoftHSM
	# only finds new tokens at C_Initialize; new objects it does find).
	tk_keygen "$S" $PIN EC:prime256v1 07 late || bail "late key"
	for i in $(seq 100); do
		SSH_AUTH_SOCK=$T/act.sock ssh-add -l </dev/null 2>/dev/null |
		    grep -q "object=late" && break
		sleep 0.1
	done
	check "a key that appears on the token is served within seconds" \
	    sh -c "SSH_AUTH_SOCK=$T/act.sock ssh-add -l </dev/null |
	    grep -q 'object=late'"
	tk_p11tool --slot "$(tk_token_slot "$S")" --login --pin $PIN \
	    --delete-object --type privkey --id 07 >/dev/null 2>&1
	tk_p11tool --slot "$(tk_token_slot "$S")" --login --pin $PIN \
	    --delete-object --type pubkey --id 07 >/dev/null 2>&1
	for i in $(seq 100); do
		SSH_AUTH_SOCK=$T/act.sock ssh-add -l </dev/null 2>/dev/null |
		    grep -q "object=late" || break
		sleep 0.1
	done
	check "...and no longer listed once deleted" \
	    sh -c "! SSH_AUTH_SOCK=$T/act.sock ssh-add -l </dev/null |
	    grep -q 'object=late'"
	kill $act 2>/dev/null
	wait $act 2>/dev/null
else
	for i in 1 2 3; do
		skip "socket activation, tokens appearing" \
		    "systemd-socket-activate not installed"
	done
fi

done_testing
