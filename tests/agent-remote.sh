#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A remote token through p11-kit remoting: a throwaway SoftHSM token served
# by `p11-kit server` on a unix socket, reached through p11-kit's client
# module (p11-kit-client.so) by `tokenkeys list --module` and by the agent,
# which never sees SoftHSM's token store itself.  Then the server dies,
# comes back on the same socket, and is stopped (SIGSTOP): what the user
# sees through ssh-add, ssh-keygen -Y and ssh.  As root, the socket is
# also forwarded over ssh -R into a throwaway sshd (ProxyCommand, no
# port) and the keys are listed on the "remote" side.
#
# One wait is long: a stopped server makes C_Sign hang, and the client
# gets its failure at the first deadline the helper misses: the 15 s of
# the presence check running meanwhile (src/helper/hclient.c) or the signature's
# own 30 s (AGENT_SIGN_TIMEOUT_MS in src/agent/agent.h).

. "$(dirname "$0")/lib.sh"

for tool in softhsm2-util pkcs11-tool p11-kit setsid pgrep ssh-add \
    ssh-keygen; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE missing"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
CLIENT=$(tk_p11_client_module) ||
    skip_all "p11-kit-client.so not installed (Debian: p11-kit-modules)"
CLIENT=$(realpath "$CLIENT")
p11-kit server --help >/dev/null 2>&1 ||
    skip_all "this p11-kit has no 'server' command"

plan 35

tk_tmpdir
[ -n "${TK_REMOTE_DEBUG:-}" ] && tk_at_exit "cp -r \"\$T\" $TK_REMOTE_DEBUG"
tk_softhsm_init "$T"
S=$(tk_token_new "tk remote" 1234 12345678) || bail "cannot create a token"
tk_keygen "$S" 1234 EC:prime256v1 02 ec256 &&
tk_keygen "$S" 1234 EC:edwards25519 05 ed25519 &&
tk_keygen "$S" 1234 rsa:2048 01 rsa2048 || bail "cannot make keys"
TOKEN_URI="pkcs11:token=tk%20remote"

# ----------------------------------------------------------- the server
P11SOCK=$T/p11.sock
tk_p11_server_start "$P11SOCK" "$TOKEN_URI" ||
    bail "p11-kit server does not start"
is "$TK_P11_SERVER_ADDRESS" "unix:path=$P11SOCK" \
    "p11-kit server prints P11_KIT_SERVER_ADDRESS for its socket"

# What the token holds, read directly through SoftHSM.
"$TOKENKEYS" list --module "$TK_MODULE" "$TOKEN_URI" </dev/null \
    2>"$T/direct.err" | tk_blobs >"$T/direct.blobs"
is "$(wc -l <"$T/direct.blobs")" 3 "SoftHSM directly: three keys"

# The client side sees only the socket: no SoftHSM store of its own (an
# empty one, so that no process here reads the machine's tokens).
mkdir -p "$T/client-hsm/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$T/client-hsm/tokens" >"$T/client-hsm/softhsm2.conf"
remote() {
	SOFTHSM2_CONF=$T/client-hsm/softhsm2.conf \
	P11_KIT_SERVER_ADDRESS=$TK_P11_SERVER_ADDRESS "$@" </dev/null
}

tk_run remote "$TOKENKEYS" list --module "$CLIENT"
printf '%s\n' "$out" | tk_blobs >"$T/client.blobs"
check "tokenkeys list --module $CLIENT: exit 0 (rc $rc)" test "$rc" = 0
is "$(cat "$T/client.blobs")" "$(cat "$T/direct.blobs")" \
    "...the same key blobs as SoftHSM directly"
check "...each named by a URI with the client module's path" test \
    "$(printf '%s\n' "$out" | grep -c "token=tk%20remote.*?module-path=")" = 3
tk_run remote "$TOKENKEYS" list --module p11-kit-client.so
is "$(printf '%s\n' "$out" | tk_blobs)" "$(cat "$T/direct.blobs")" \
    "tokenkeys list --module p11-kit-client.so (p11-kit's module dir) too"
tk_run env -u P11_KIT_SERVER_ADDRESS \
    SOFTHSM2_CONF="$T/client-hsm/softhsm2.conf" XDG_RUNTIME_DIR="$T/none" \
    "$TOKENKEYS" list --module "$CLIENT"
check "without P11_KIT_SERVER_ADDRESS the client module shows no key" \
    test -z "$out"

# ------------------------------------------------------------ the agent
tk_agent_askpass
echo 1234 >"$T/agent.pin"
AGENT_URI="$TOKEN_URI?module-path=$CLIENT"
# (the server, restarted below, keeps the real SOFTHSM2_CONF)
P11_KIT_SERVER_ADDRESS=$TK_P11_SERVER_ADDRESS \
SOFTHSM2_CONF=$T/client-hsm/softhsm2.conf \
    tk_agent_start remote -P "$(dirname "$CLIENT")/*" "$AGENT_URI" ||
    bail "the agent does not start"
AGENT=$TK_AGENT_PID
export SSH_AUTH_SOCK=$T/remote.sock

ssh-add -L </dev/null >"$T/agent.pub" 2>/dev/null
is "$(tk_blobs <"$T/agent.pub")" "$(cat "$T/direct.blobs")" \
    "the agent serves the remote token's keys (ssh-add -L)"
for l in ec256 ed25519 rsa2048; do
	grep "object=$l?" "$T/agent.pub" >"$T/$l.pub"
done

echo "a message from afar" >"$T/msg"
(printf 'me '; awk '{ print $1, $2 }' "$T/ec256.pub") >"$T/allowed"
# sign_verify: ssh-keygen -Y sign through the agent, then -Y verify.
sign_verify() {
	rm -f "$T/msg.sig"
	tk_timed ssh-keygen -Y sign -f "$T/ec256.pub" -n tktest "$T/msg"
	[ "$rc" = 0 ] && ssh-keygen -Y verify -f "$T/allowed" -I me \
	    -n tktest -s "$T/msg.sig" <"$T/msg" >/dev/null 2>&1
}
check "ssh-keygen -Y sign through the agent, -Y verify accepts it" \
    sign_verify
is "$(tk_pin_prompts)" 1 "...after one PIN prompt"
rcs=
for l in rsa2048 ec256; do
	ssh-add -T "$T/$l.pub" </dev/null >/dev/null 2>&1
	rcs="$rcs$?"
done
is "$rcs:$(tk_pin_prompts)" 00:1 \
    "ssh-add -T with the RSA and the P-256 key works, no further prompt"
# p11-kit's RPC protocol before 0.25 cannot carry CKM_EDDSA (Debian 12
# has 0.24.1): the module answers CKR_MECHANISM_INVALID.  Either the
# signature works, or it fails with that said in the log.
ssh-add -T "$T/ed25519.pub" </dev/null >/dev/null 2>&1
rc=$?
if [ "$rc" = 0 ]; then
	ok "ssh-add -T with the Ed25519 key works through p11-kit remoting"
else
	check "Ed25519 through this p11-kit's remoting fails clearly: 'not supported' in the log" \
	    grep -q "object=ed25519?.*failed: not supported" "$T/remote.log"
fi

# ---------------------------------------- ssh, and a forwarded socket
if [ "$(id -u)" -eq 0 ] && [ -x /usr/sbin/sshd ] &&
    command -v ssh >/dev/null && command -v setpriv >/dev/null; then
	tk_sshd_setup
	cp "$T/agent.pub" "$T/home/.ssh/authorized_keys"
	chown "$TK_USER" "$T/home/.ssh/authorized_keys"
	tk_ssh -o IdentityAgent="$SSH_AUTH_SOCK" test echo logged-in \
	    >"$T/ssh.out" 2>&1
	check "ssh login into a throwaway sshd with the remote token's key" \
	    grep -q logged-in "$T/ssh.out"
	# The token's socket forwarded into the "remote" host (ssh -R to a
	# unix socket there, as the throwaway user): p11-kit's client
	# module on that side lists the keys through the ssh channel.
	if setpriv --reuid="$TK_USER" --regid="$(id -g "$TK_USER")" \
	    --clear-groups test -x "$TOKENKEYS" 2>/dev/null; then
		FWD=$T/home/p11-fwd.sock
		tk_ssh -o IdentityAgent="$SSH_AUTH_SOCK" \
		    -o ExitOnForwardFailure=yes -R "$FWD:$P11SOCK" test \
		    "i=0; while [ ! -S $FWD ] && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i + 1)); done
		    P11_KIT_SERVER_ADDRESS=unix:path=$FWD $TOKENKEYS list --module $CLIENT" \
		    >"$T/fwd.out" 2>"$T/fwd.err"
		is "$(tk_blobs <"$T/fwd.out")" "$(cat "$T/direct.blobs")" \
		    "socket forwarded with ssh -R: tokenkeys list on the other side sees the keys"
	else
		skip "socket forwarded with ssh -R" \
		    "the throwaway user cannot run $TOKENKEYS"
	fi
else
	skip "ssh login into a throwaway sshd" "needs root, sshd and ssh"
	skip "socket forwarded with ssh -R" "needs root, sshd and ssh"
fi

# listed / unlisted: the agent lists the P-256 key (or not) within 30 s
# (its refresh, plus the backoff of re-initialising the client module).
listed() {
	local i
	for i in $(seq 300); do
		ssh-add -l </dev/null 2>/dev/null | grep -q "object=ec256?" &&
		    return 0
		sleep 0.1
	done
	return 1
}
unlisted() {
	local i
	for i in $(seq 300); do
		ssh-add -l </dev/null 2>/dev/null | grep -q "object=ec256?" ||
		    return 0
		sleep 0.1
	done
	return 1
}
client_helper() { tk_agent_helper "__helper.* $CLIENT"; }

# ------------------------------------------------------- server killed
helper=$(client_helper)
tk_p11_server_kill
tk_timed ssh-add -T "$T/ec256.pub"
check "server killed: the next signature fails (rc $rc)" test "$rc" != 0
check "...fast (${ms} ms < 5000, not the 30 s deadline)" test "$ms" -lt 5000
check "...the agent survives (SIGPIPE ignored)" kill -0 "$AGENT"
check "...and the helper did not die of it: no broken-connection failure" \
    sh -c "! grep -q 'connection closed or garbled' '$T/remote.log'"
check "...it re-initialised the client module: a new helper runs" \
    test -n "$(client_helper)" -a "$(client_helper)" != "$helper"
tk_quickest ssh-add -l
check "ssh-add -l still answers (rc $rc, ${ms} ms < 1000)" \
    test "$rc" -le 1 -a "$ms" -lt 1000
check "the dead server's keys leave the list within seconds" unlisted

# ------------------------------------ server restarted on the same socket
tk_p11_server_start "$P11SOCK" "$TOKEN_URI" ||
    bail "p11-kit server does not start again"
check "server restarted on the same socket: the keys are listed again" \
    listed
check "...and signing works again without ssh-add -e/-s" sign_verify
is "$(tk_pin_prompts)" 2 "...after one more PIN prompt (a new login)"
sign_verify
is "$rc:$(tk_pin_prompts)" 0:2 "...and the one after asks nothing"

# Killed and restarted while the agent is idle: the old connection gives
# CKR_DEVICE_ERROR until the client module is initialised again.
helper=$(client_helper)
tk_p11_server_kill
tk_p11_server_start "$P11SOCK" "$TOKEN_URI" ||
    bail "p11-kit server does not start again"
listed
check "killed and restarted while idle: the next signature works" \
    sign_verify
is "$(tk_pin_prompts)" 3 "...after exactly one PIN prompt"
check "...in a re-initialised client module (helper $helper -> $(client_helper))" \
    test -n "$(client_helper)" -a "$(client_helper)" != "$helper"

# ------------------------------------------------------- server stopped
kill -STOP -- "-$TK_P11_SERVER_PGID"
(
	tk_timed ssh-add -T "$T/ec256.pub"
	echo "$rc $ms" >"$T/stopped.res"
) &
bg=$!
sleep 1
tk_quickest ssh-add -l
check "server stopped, a signature hanging: ssh-add -l answers (rc $rc, ${ms} ms)" \
    test "$rc" -le 1 -a "$ms" -lt 1000
wait "$bg"
read -r rc ms <"$T/stopped.res"
check "...the hanging signature fails (rc $rc)" test "$rc" != 0
# The helper is abandoned at the first deadline it misses: the 15 s one of
# the presence check that runs meanwhile, or the signature's own 30 s.
check "...at one of the agent's deadlines, 15 or 30 s (${ms} ms)" \
    test "$ms" -ge 12000 -a "$ms" -lt 60000
check "...and the log says the token did not answer in time" \
    grep -q "did not answer in time" "$T/remote.log"
kill -CONT -- "-$TK_P11_SERVER_PGID"
check "server continued: signing works again" sign_verify
is "$(tk_pin_prompts)" 4 "...after one PIN prompt (the hung helper's login died with it)"
check "the agent is still the same process" kill -0 "$AGENT"

kill "$AGENT"
wait "$AGENT" 2>/dev/null
tk_p11_server_kill
done_testing
