#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys agent under load: tests/agent-load (8 signing clients, every
# signature verified with OpenSSL, hostile clients sending malformed
# frames and hanging up mid-request alongside) against the real agent on
# a throwaway SoftHSM token with P-256, RSA-2048 and Ed25519 keys.
#
# After a warm-up round (PIN prompt, helper start, allocator arenas) the
# agent's and its helpers' descriptors and RSS are taken; after the load
# round they must be back: descriptors exactly, RSS within a tolerance.
# A storm of sign requests abandoned before their replies must not shut
# real clients out.  Then the agent must still list and sign for the
# stock OpenSSH tools, and exit cleanly.
#
# TK_LOAD_SOAK=1 (make soak) runs the long version: 20000 signatures per
# client instead of 300, and prints the same figures.

. "$(dirname "$0")/lib.sh"

for tool in softhsm2-util pkcs11-tool ssh-add ssh-keygen openssl; do
	command -v $tool >/dev/null || skip_all "$tool not installed"
done
[ -r "$TK_MODULE" ] || skip_all "SoftHSM2 module $TK_MODULE not installed"
[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
LOAD=${abs_top_builddir:-$TK_TESTDIR/..}/tests/agent-load
[ -x "$LOAD" ] || skip_all "load client $LOAD not built"

CLIENTS=8
WARM=300
SIGS=300
if [ -n "${TK_LOAD_SOAK:-}" ]; then
	SIGS=${TK_LOAD_SIGS:-20000}
fi
PIN=1234
# RSS may settle by this much (KiB) between rounds: allocator arenas and
# cached thread stacks, not leaks.
RSS_SLACK=1024
# SoftHSM 2.6.1 leaks in every Ed25519 C_SignInit (valgrind on a raw
# PKCS#11 loop, no tokenkeys code: ~37 bytes in ASN1_item_d2i, about 64
# of RSS with malloc's overhead).  Its helper may grow by that much per
# Ed25519 signature; the agent gets no such allowance.
SOFTHSM_ED25519_LEAK=64

plan 21

tk_tmpdir
tk_softhsm_init "$T"
S=$(tk_token_new "tk load" $PIN 12345678) || bail "cannot create a token"
tk_keygen "$S" $PIN rsa:2048 01 rsa2048 &&
tk_keygen "$S" $PIN EC:prime256v1 02 ec256 &&
tk_keygen "$S" $PIN EC:edwards25519 05 ed25519 || bail "cannot make keys"
printf '#!/bin/sh\necho call >>"%s/askpass.count"\necho %s\n' "$T" $PIN \
    >"$T/pin.sh"
chmod 755 "$T/pin.sh"
: >"$T/askpass.count"

SOCK=$T/agent.sock
SSH_ASKPASS=$T/pin.sh SSH_ASKPASS_REQUIRE=force DISPLAY= \
    "$TOKENKEYS" agent -D -a "$SOCK" "pkcs11:serial=$S" \
    </dev/null >"$T/agent.out" 2>"$T/agent.log" &
APID=$!
tk_at_exit "kill $APID 2>/dev/null"
for i in $(seq 100); do
	if [ -S "$SOCK" ]; then
		SSH_AUTH_SOCK=$SOCK ssh-add -l >/dev/null 2>&1
		[ $? -le 1 ] && break
	fi
	sleep 0.1
done
SSH_AUTH_SOCK=$SOCK ssh-add -L >"$T/keys.pub" 2>/dev/null
is "$(wc -l <"$T/keys.pub" | tr -d ' ')" 3 \
    "the agent serves the token's P-256, RSA-2048 and Ed25519 keys" ||
    bail "the agent did not start: $(cat "$T/agent.log")"

# The agent's helpers: its children running "tokenkeys __helper".
helpers() {
	local p
	for p in $(pgrep -P "$APID"); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null |
		    grep -q '^tokenkeys __helper ' && echo "$p"
	done
}
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# snapshot NAME: "pid fds rss" per process into $T/NAME, agent first,
# once the counts are steady (connections close asynchronously, and the
# background refresh may hold a token file open for a moment).
snapshot() {
	local i p prev= cur
	for i in $(seq 50); do
		cur=$(for p in $APID $(helpers); do
			echo "$p $(nfds "$p")"
		done)
		[ "$cur" = "$prev" ] && break
		prev=$cur
		sleep 0.3
	done
	for p in $APID $(helpers); do
		echo "$p $(nfds "$p") $(rss "$p")"
	done >"$T/$1"
}

# settle_to NAME: wait (up to 15 s) for the descriptor counts of snapshot
# NAME to come back, then take snapshot NAME.after.
settle_to() {
	local i
	for i in $(seq 50); do
		snapshot "$1.after"
		[ "$(cut -d' ' -f1,2 "$T/$1")" = \
		    "$(cut -d' ' -f1,2 "$T/$1.after")" ] && return 0
		sleep 0.3
	done
	return 1
}

# load N OUT: one round of CLIENTS clients x N signatures with hostile
# clients alongside; the result lines in OUT.
load() {
	timeout 3600 "$LOAD" -a "$SOCK" -c $CLIENTS -n "$1" >"$T/$2" \
	    2>"$T/$2.err"
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$T/$2" | head -1; }

# ---------------------------------------------------------------- warm-up
load $WARM warm
rc=$?
is "$rc/$(field failed warm)" 0/0 \
    "warm-up: $CLIENTS clients x $WARM signatures, none failed" ||
    diag "$(cat "$T/warm" "$T/warm.err")"
is "$(wc -l <"$T/askpass.count" | tr -d ' ')" 1 \
    "the PIN was asked for once, though $CLIENTS clients signed at once"
nhelpers=$(helpers | wc -l)
check "the agent runs its module helper(s) ($nhelpers)" test "$nhelpers" -ge 1
snapshot before

# ---------------------------------------------------------------- load
t0=$EPOCHREALTIME
load "$SIGS" round
rc=$?
t1=$EPOCHREALTIME
is "$rc" 0 "load: agent-load reports success" ||
    diag "$(cat "$T/round.err")"
cat "$T/round" | sed 's/^/# /'
is "$(field ok round)/$(field failed round)" "$((CLIENTS * SIGS))/0" \
    "load: all $((CLIENTS * SIGS)) signatures verified, 0 failed"
is "$(field lists round)" "$((CLIENTS * (SIGS / 64)))" \
    "load: every listing in between answered"
hostile=$(field hostile round)
check "load: hostile connections ran alongside ($hostile)" \
    test "${hostile:-0}" -ge 100
kinds=$(sed -n 's/^agent-load: hostile //p' "$T/round")
check "load: every kind of hostile connection was tried ($kinds)" \
    test -n "$kinds" -a -z "$(printf '%s\n' $kinds | grep '=0$')"
is "$(field hostile_unexpected round)" 0 \
    "load: garbage was refused or closed, never served"

# ---------------------------------------------------------------- after
settle_to before
paste -d' ' "$T/before" "$T/before.after" | while read -r p f0 r0 p1 f1 r1; do
	printf '# pid %s: fds %s -> %s, RSS %s -> %s KiB (%+d)\n' "$p" "$f0" \
	    "$f1" "$r0" "$r1" $((r1 - r0))
done
is "$(cut -d' ' -f1 "$T/before.after" | tr '\n' ' ')" \
    "$(cut -d' ' -f1 "$T/before" | tr '\n' ' ')" \
    "the agent and its helpers are the same processes (none restarted)"
is "$(head -1 "$T/before.after" | cut -d' ' -f2)" \
    "$(head -1 "$T/before" | cut -d' ' -f2)" \
    "the agent's descriptor count is back where it was"
is "$(tail -n +2 "$T/before.after" | cut -d' ' -f2 | tr '\n' ' ')" \
    "$(tail -n +2 "$T/before" | cut -d' ' -f2 | tr '\n' ' ')" \
    "the helpers' descriptor counts are back where they were"
r0=$(head -1 "$T/before" | cut -d' ' -f3)
r1=$(head -1 "$T/before.after" | cut -d' ' -f3)
# Ed25519 signatures: a quarter of the clients' and of the hostile ones.
ed=$(((CLIENTS * SIGS + $(field sign_close round)) / 4))
slack=$((RSS_SLACK + ed * SOFTHSM_ED25519_LEAK / 1024))
worst=$(paste -d' ' "$T/before" "$T/before.after" | tail -n +2 |
    awk '{ d = $6 - $3; if (NR == 1 || d > w) w = d } END { print w + 0 }')
if grep -q __asan_init "$TOKENKEYS"; then
	# ASan's quarantine holds freed memory back: RSS grows by design.
	why="ASan build: freed memory sits in ASan's quarantine"
	skip "the agent's RSS is flat ($r0 -> $r1 KiB)" "$why"
	skip "the helpers' RSS is flat (grew at most $worst KiB)" "$why"
else
	check "the agent's RSS is flat ($r0 -> $r1 KiB, slack $RSS_SLACK)" \
	    test "$((r1 - r0))" -le "$RSS_SLACK"
	d="the helpers' RSS is flat (grew at most $worst KiB, slack $slack)"
	check "$d" \
	    test "$worst" -le "$slack"
fi
if [ -n "${TK_LOAD_SOAK:-}" ]; then
	echo "soak: $(field sigs round) signatures by $CLIENTS clients in" \
	    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s," \
	    "$(field sigs_per_s round) signatures/s, $(field failed round)" \
	    "failed; $hostile hostile connections ($kinds)"
	paste -d' ' "$T/before" "$T/before.after" |
	    while read -r p f0 r0 p1 f1 r1; do
		echo "soak: pid $p ($(tr '\0' ' ' <"/proc/$p/cmdline" |
		    cut -c1-60)): fds $f0 -> $f1, RSS $r0 -> $r1 KiB"
	    done
fi

# ---------------------------------------------------------------- storm
# Clients that queue sign requests and hang up, as fast as they can: the
# agent must not spend the token on them until real clients are shut out.
timeout 600 "$LOAD" -a "$SOCK" -c $CLIENTS -n $WARM -H 2 -i 0 -k sign_close \
    >"$T/storm" 2>"$T/storm.err"
rc=$?
sed 's/^/# storm: /' "$T/storm"
d="real clients' $((CLIENTS * WARM)) signatures all verified"
is "$rc/$(field failed storm)" 0/0 "abandoned sign requests at full rate: $d" ||
    diag "$(head -5 "$T/storm.err")"

# ---------------------------------------------------------------- still up
SSH_AUTH_SOCK=$SOCK ssh-add -l >"$T/l.out" 2>&1
is "$?/$(wc -l <"$T/l.out" | tr -d ' ')" 0/3 \
    "afterwards ssh-add -l still lists the three keys"
grep '^ssh-ed25519 ' "$T/keys.pub" >"$T/ed.pub"
echo "load test message" >"$T/msg"
SSH_AUTH_SOCK=$SOCK ssh-keygen -Y sign -n file -f "$T/ed.pub" "$T/msg" \
    </dev/null >"$T/sign.out" 2>&1
printf 'load@test %s\n' "$(cut -d' ' -f1,2 "$T/ed.pub")" >"$T/allowed"
check "afterwards ssh-keygen -Y sign signs through the agent, and it verifies" \
    sh -c 'ssh-keygen -Y verify -f "$1/allowed" -I load@test -n file \
    -s "$1/msg.sig" <"$1/msg" >/dev/null 2>&1' sh "$T"
check "the agent logged no failed signature, connection or sanitizer trouble" \
    sh -c '! grep -e "accept:" -e "cannot start" -e refusing \
    -e "signature with key" -e "failed:" -e Sanitizer -e "runtime error" \
    "$1" >&2' sh "$T/agent.log"

# ---------------------------------------------------------------- exit
hp=$(helpers)
kill "$APID"
wait "$APID"
rc=$?
is "$rc" 0 "the agent exits cleanly on SIGTERM (no leak report)" ||
    diag "$(tail -20 "$T/agent.log")"
sleep 0.5
left=
for p in $hp; do [ -d "/proc/$p" ] && left="$left $p"; done
is "$left" "" "its helpers are gone with it"

done_testing
