#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The shipped systemd user units: systemd-analyze verify has nothing to
# say about them, and the service's command line, with
# TOKENKEYS_AGENT_ARGS from ~/.config/tokenkeys/agent.env as
# tokenkeys-agent(1) tells, runs the agent with -A on the socket the
# socket unit names: a key file added there goes to a real ssh-agent.
# Tests have no user manager, so the service is run as systemd runs it:
# its ExecStart with $TOKENKEYS_AGENT_ARGS split into words, the socket
# passed by systemd-socket-activate (LISTEN_FDS).
. "$(dirname "$0")/lib.sh"

for tool in systemd-analyze systemd-socket-activate ssh-agent ssh-add \
    ssh-keygen; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
SRC=$(cd "$(dirname "$0")/../contrib/systemd" && pwd)
BUILT=$(dirname "$TOKENKEYS")/contrib/systemd/tokenkeys-agent.service
[ -f "$BUILT" ] || skip_all "$BUILT not built"
plan 7

tk_tmpdir
tk_softhsm_init "$T/hsm"
mkdir -m 700 "$T/run" "$T/units"
# the units as installed, the service starting this build's tokenkeys
sed "s|^ExecStart=[^ ]*/tokenkeys |ExecStart=$TOKENKEYS |" "$BUILT" \
    >"$T/units/tokenkeys-agent.service"
cp "$SRC/tokenkeys-agent.socket" "$T/units/"
XDG_RUNTIME_DIR=$T/run systemd-analyze verify --man=no --user \
    "$T/units/tokenkeys-agent.socket" "$T/units/tokenkeys-agent.service" \
    >"$T/verify.out" 2>&1
is "$?:$(cat "$T/verify.out")" "0:" \
    "systemd-analyze verify --user: the units have no fault"

unit=$T/units/tokenkeys-agent.service
exec_line=$(sed -n 's/^ExecStart=//p' "$unit")
envfile=$(sed -n 's/^EnvironmentFile=-//p' "$unit")
check "the service's command line takes \$TOKENKEYS_AGENT_ARGS" \
    grep -q '^ExecStart=.* agent -D \$TOKENKEYS_AGENT_ARGS$' "$unit"
is "$envfile" "%E/tokenkeys/agent.env" \
    "...from ~/.config/tokenkeys/agent.env (%E), if it exists"
listen=$(sed -n 's/^ListenStream=//p' "$T/units/tokenkeys-agent.socket")
is "$listen" "%t/tokenkeys/agent.sock" \
    "the socket is \$XDG_RUNTIME_DIR/tokenkeys/agent.sock (%t)"

# What a user writes to have key files too (here: an ssh-agent we run).
SSH_ASKPASS=/bin/false ssh-agent -D -a "$T/up.sock" </dev/null \
    >"$T/up.out" 2>&1 &
UP=$!
tk_at_exit "kill $UP 2>/dev/null"
tk_agent_ready up "$T/up.sock" 100 "$UP" || bail "ssh-agent"
mkdir -p "$T/config/tokenkeys"
printf 'TOKENKEYS_AGENT_ARGS=-A %s\n' "$T/up.sock" \
    >"$T/config/tokenkeys/agent.env"

# Run it as systemd would: %E and %t, then $TOKENKEYS_AGENT_ARGS (unquoted:
# split at blanks into words) from the environment file.
envpath=${envfile//%E/$T/config}
val=$(sed -n 's/^TOKENKEYS_AGENT_ARGS=//p' "$envpath")
sock=${listen//%t/$T/run}
mkdir -m 700 "$(dirname "$sock")"
set -f
# shellcheck disable=SC2206	# word splitting is what systemd does here
argv=(${exec_line//\$TOKENKEYS_AGENT_ARGS/$val})
set +f
systemd-socket-activate -E SOFTHSM2_CONF -l "$sock" "${argv[@]}" \
    </dev/null >"$T/act.out" 2>"$T/act.log" &
ACT=$!
tk_at_exit "kill $ACT 2>/dev/null"
for i in $(seq 50); do
	[ -S "$sock" ] && break
	sleep 0.1
done
ssh-keygen -q -t ed25519 -N '' -C 'file unit' -f "$T/id_unit" ||
    bail "key file"
SSH_AUTH_SOCK=$sock ssh-add "$T/id_unit" </dev/null >"$T/add.out" 2>&1
rc=$?
is "$rc" 0 "ssh-add of a key file through the unit's socket (${argv[*]})"
[ "$rc" = 0 ] || diag "$(cat "$T/add.out" "$T/act.log")"
check "...kept by the ssh-agent behind it (-A)" sh -c \
    "SSH_AUTH_SOCK='$T/up.sock' ssh-add -l </dev/null | grep -q 'file unit'"
check "...and listed through the unit's socket" sh -c \
    "SSH_AUTH_SOCK='$sock' ssh-add -l </dev/null | grep -q 'file unit'"
kill "$ACT" 2>/dev/null
wait "$ACT" 2>/dev/null

done_testing
