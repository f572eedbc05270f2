#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys keygen and delete tell a running tokenkeys agent
# (relist@tokenkeys), so the very next ssh-add -l shows a key just made
# and no longer shows one just deleted, on a throwaway SoftHSM token that
# stays in.  With OpenSSH's ssh-agent, or no agent at the socket, the
# verbs succeed as before and say nothing about it.  Clients asking at
# once are each answered; a forwarded connection is refused.
. "$(dirname "$0")/lib.sh"
for tool in softhsm2-util pkcs11-tool ssh-add ssh-agent ssh-keygen openssl; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE missing"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
POKE=${abs_top_builddir:-$TK_TESTDIR/..}/tests/agent-poke
[ -x "$POKE" ] || skip_all "tests/agent-poke not built"
tk_tmpdir
tk_softhsm_init "$T"
plan 18

S=$(tk_token_new "tk write" 1234 12345678) || bail "cannot create a token"
tk_keygen "$S" 1234 EC:prime256v1 01 first || bail "cannot make a key"
tok="pkcs11:serial=$S"
tk_agent_askpass
echo 1234 >"$T/agent.pin"
tk_askpass_scripts 1234
# keygen and delete ask for the token's PIN through askpass
export SSH_ASKPASS=$T/pin.sh SSH_ASKPASS_REQUIRE=force
unset DISPLAY WAYLAND_DISPLAY

# listed PATTERN: how many keys ssh-add -l lists whose line matches.
listed() { ssh-add -l </dev/null 2>/dev/null | grep -c "$1"; }
# mentions FILE: lines of FILE that speak of an agent or a socket.
mentions() { grep -ci 'agent\|socket\|relist' "$1"; }

tk_agent_start main "$tok?module-path=$TK_MODULE" ||
    bail "the agent does not start"
export SSH_AUTH_SOCK=$T/main.sock
tk_agent_wait_listed 5000 "object=first"
is "$rc" 0 "the agent serves the token's key"

# ---------------------------------------------------- our agent is told
tk_run "$TOKENKEYS" keygen -C made1 --id 11 "$tok"
is "$rc" 0 "keygen with our agent at SSH_AUTH_SOCK succeeds"
is "$(listed object=made1)" 1 \
    "...and the very next ssh-add -l lists the new key"
is "$(mentions "$T/err")" 0 "...saying nothing about the agent"
# (without relist@tokenkeys the agent finds the key itself, in time)
tk_agent_wait_listed 25000 "object=made1" || bail "the new key is not served"
tk_run "$TOKENKEYS" delete --yes "$tok;object=made1"
is "$rc" 0 "delete with our agent at SSH_AUTH_SOCK succeeds"
is "$(listed object=made1)" 0 \
    "...and the very next ssh-add -l no longer lists the key"
is "$(listed object=first)" 1 "...but still the other one"
is "$(grep -c 'relist@tokenkeys.*refused' "$T/main.log")" 0 \
    "the agent refused none of the requests"

# ------------------------------------------ OpenSSH's agent: not ours
ssh-agent -D -a "$T/ossh.sock" </dev/null >"$T/ossh.out" 2>&1 &
OSSH_PID=$!
tk_at_exit "kill $OSSH_PID 2>/dev/null"
tk_agent_ready ossh "$T/ossh.sock" 100 "$OSSH_PID" ||
    bail "ssh-agent does not start"
SSH_AUTH_SOCK=$T/ossh.sock tk_run "$TOKENKEYS" keygen -C made2 --id 12 \
    "$tok"
is "$rc:$(cut -d' ' -f1 "$T/out")" "0:ecdsa-sha2-nistp256" \
    "keygen with OpenSSH's ssh-agent at SSH_AUTH_SOCK succeeds"
is "$(mentions "$T/err")" 0 "...saying nothing about the agent"
SSH_AUTH_SOCK=$T/ossh.sock tk_run "$TOKENKEYS" delete --yes \
    "$tok;object=made2"
is "$rc:$(mentions "$T/err")" "0:0" \
    "delete with OpenSSH's ssh-agent: succeeds, says nothing about it"
check "ssh-agent is still there" kill -0 "$OSSH_PID"

# ------------------------------------------------------- no agent at all
SSH_AUTH_SOCK=$T/nowhere.sock tk_run "$TOKENKEYS" keygen -C made3 --id 13 \
    "$tok"
is "$rc:$(cut -d' ' -f1 "$T/out")" "0:ecdsa-sha2-nistp256" \
    "keygen with SSH_AUTH_SOCK pointing nowhere succeeds"
is "$(mentions "$T/err")" 0 "...saying nothing about it"
SSH_AUTH_SOCK=$T/nowhere.sock tk_run "$TOKENKEYS" delete --yes \
    "$tok;object=made3"
is "$rc:$(mentions "$T/err")" "0:0" \
    "delete with SSH_AUTH_SOCK pointing nowhere: succeeds, says nothing"

# --------------------------------------- clients asking at once, forwarded
pids=
for i in 1 2 3 4; do
	"$POKE" "$T/main.sock" ext relist@tokenkeys >"$T/poke$i" 2>&1 &
	pids="$pids $!"
done
for j in $pids; do
	wait "$j"
done
is "$(cat "$T"/poke[1-4] | tr '\n' ' ')" \
    "success success success success " \
    "four clients asking at once are each answered with success"
openssl genpkey -algorithm ed25519 -out "$T/host.pem" 2>/dev/null ||
    bail "openssl genpkey"
is "$("$POKE" "$T/main.sock" bind "$T/host.pem" 1 ext relist@tokenkeys |
    tr '\n' ' ')" "success failure " \
    "on a forwarded connection (session-bind) it is refused"
check "...and the log says why" \
    grep -q 'relist@tokenkeys from .* refused: the request came through' \
    "$T/main.log"
tk_agent_stop "$TK_AGENT_PID"
kill "$OSSH_PID" 2>/dev/null
wait "$OSSH_PID" 2>/dev/null
done_testing
