#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# run.sh -- the tokenkeys benchmarks (make bench).  Prints figures and
# judges nothing (it exits non-zero only when it cannot run at all):
# absolute numbers drift on shared machines, so every row is
# compared, in this one run and on the same throwaway tokens, against
# anchors -- the raw PKCS#11 floor, OpenSSH's ssh-agent and ssh-keygen -D --
# and the summary reports ratios.
# With the software TPM stack installed (.ci/deps-tpm), one more row: P-256
# on a swtpm token through Debian's TPM module, raw against the agent.
#
# Environment:
#   TOKENKEYS     the tokenkeys binary (default: ../../tokenkeys from here);
#                 its rows are skipped, with a message, until it exists and,
#                 for the agent rows, until "tokenkeys agent --help" works
#   BENCH_DIR     where floor-list, floor-sign, agent-client and genkeys
#                 were built; unset, they are compiled into the temp dir
#   BENCH_MODULE  PKCS#11 module (default SoftHSM2)
#   BENCH_NKEYS   bulk keys on the listing token (default 1000)
#   BENCH_ROUNDS  interleaved listing rounds (default 10)
#   BENCH_SECS    seconds per signing cell (default 3)
#   BENCH_CACHE   where mktoken.sh keeps the built NKEYS token between runs
#                 (default: $BENCH_DIR/token-cache; empty: build it anew)
#   BENCH_SOAK    signatures tokenkeys agent has made before its "after"
#                 memory figure: the cells, then P-256 on 4 connections up
#                 to this count (default 100000)
#   BENCH_IDLE    seconds an idle agent is watched (default 60): CPU % of
#                 a core (utime + stime of the agent and its helpers) and
#                 wake-ups per second (context switches of all their
#                 threads), tests/bench/idle.sh
#   BENCH_FAULTMOD the fault module (tests/.libs/faultmod.so), for the
#                 card pulled / put back rows; unset or missing: skipped
#   BENCH_FOLLOW  pull / put-back rounds for those rows (default 10)
#   BENCH_LOGIN   timed logins per login cell (default 10); the login rows
#                 need root (a throwaway user, removed at the end)
#   BENCH_ONLY    run only these sections, comma-separated: list, sign,
#                 idle, follow, login, tpm (default: all)
set -u

here=$(cd "$(dirname "$0")" && pwd)
M=${BENCH_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
TOKENKEYS=${TOKENKEYS:-$here/../../tokenkeys}
NKEYS=${BENCH_NKEYS:-1000}
ROUNDS=${BENCH_ROUNDS:-10}
SECS=${BENCH_SECS:-3}
SOAK=${BENCH_SOAK:-100000}
IDLE=${BENCH_IDLE:-60}
FOLLOW=${BENCH_FOLLOW:-10}
FAULTMOD=${BENCH_FAULTMOD:-}
LOGINS=${BENCH_LOGIN:-10}
PIN=1234			# the throwaway tokens' user PIN

case $NKEYS$ROUNDS$SOAK$IDLE$FOLLOW$LOGINS in
*[!0-9]*) echo "run.sh: BENCH_NKEYS, BENCH_ROUNDS, BENCH_SOAK, BENCH_IDLE," \
	    "BENCH_FOLLOW and BENCH_LOGIN must be whole numbers" >&2
	exit 2 ;;
esac
if ! [[ $SECS =~ ^[0-9]+(\.[0-9]+)?$ ]] || [ "$ROUNDS" -lt 1 ]; then
	echo "run.sh: BENCH_SECS must be a number of seconds, BENCH_ROUNDS >= 1" >&2
	exit 2
fi
TMO=$(awk -v s="$SECS" 'BEGIN { printf "%d", s + 61 }')	# no cell may hang the run

T=
PIDS=
LOGIN_USER=

# want SECTION: BENCH_ONLY names it, or is unset.
want() { [ -z "${BENCH_ONLY:-}" ] || [[ ,$BENCH_ONLY, == *,$1,* ]]; }

msg() { printf '%s\n' "$*" >&2; }

# Every process of the tree rooted at $1, children first.
descendants() {
	local p
	# cat, not awk FILE...: a process may vanish between glob and read.
	for p in $(cat /proc/[0-9]*/stat 2>/dev/null | awk -v pp="$1" \
	    '{ p = $1; sub(/.*\) /, ""); if ($2 == pp) print p }'); do
		descendants "$p"
		echo "$p"
	done
}

# VmRSS in KiB of $1 and all its descendants (the agent and its helpers).
rss_tree() {
	local p v total=0
	for p in "$1" $(descendants "$1"); do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

# Pss in KiB of $1 and all its descendants: shared library pages
# divided among the processes mapping them (RSS counts them whole in
# each process of the tree).
pss_tree() {
	local p v total=0
	for p in "$1" $(descendants "$1"); do
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

# Running (not yet a zombie)?
alive() {
	local st
	st=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}

# Stop one of our agents and its helpers: TERM, then KILL after 5 s, so
# an agent that ignores TERM cannot hang the run.
stop_pid() {
	local p kids i
	[ -n "${1:-}" ] && [ -d "/proc/$1" ] || return 0
	kids=$(descendants "$1")
	kill "$1" 2>/dev/null
	for p in $kids; do kill "$p" 2>/dev/null; done
	for ((i = 0; i < 50; i++)); do
		alive "$1" || break
		sleep 0.1
	done
	if alive "$1"; then
		msg "run.sh: pid $1 ignored SIGTERM; killing it"
		kill -KILL "$1" 2>/dev/null
	fi
	for p in $kids; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
	wait "$1" 2>/dev/null
}

cleanup() {
	local p
	for p in $PIDS; do stop_pid "$p"; done
	# the software TPM of the TPM row, if it was started
	declare -F tk_tpm_stop >/dev/null && tk_tpm_stop
	# the login rows' throwaway user, and whatever still runs as it
	if [ -n "$LOGIN_USER" ]; then
		for p in $(ps -o pid= -u "$LOGIN_USER" 2>/dev/null); do
			kill "$p" 2>/dev/null
		done
		userdel "$LOGIN_USER" 2>/dev/null ||
		    { sleep 1; userdel "$LOGIN_USER" 2>/dev/null; }
	fi
	[ -n "$T" ] && rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T=$(mktemp -d "${TMPDIR:-/tmp}/tk-bench.XXXXXX") || exit 1

# ---- the programs -------------------------------------------------------
B=${BENCH_DIR:-}
if [ -z "$B" ]; then
	B=$T/bin
	mkdir -p "$B"
	msg "run.sh: BENCH_DIR unset: compiling the bench programs into $B"
	cflags="-O2 $(pkg-config --cflags p11-kit-1 2>/dev/null || echo -I/usr/include/p11-kit-1)"
	for p in floor-list floor-sign genkeys; do
		${CC:-cc} $cflags -o "$B/$p" "$here/$p.c" "$here/bench-p11.c" \
		    "$here/bench-util.c" -ldl -lpthread || exit 1
	done
	${CC:-cc} $cflags -o "$B/agent-client" "$here/agent-client.c" \
	    "$here/bench-util.c" -lpthread || exit 1
	${CC:-cc} $cflags -o "$B/hop-floor" "$here/hop-floor.c" \
	    "$here/bench-util.c" || exit 1
fi
for p in floor-list floor-sign agent-client genkeys; do
	if [ ! -x "$B/$p" ]; then
		msg "run.sh: $B/$p is missing: build the bench programs first"
		exit 1
	fi
done

have_tk=0
have_tk_agent=0
if [ -x "$TOKENKEYS" ]; then
	have_tk=1
	if "$TOKENKEYS" agent --help >/dev/null 2>&1; then
		have_tk_agent=1
	else
		msg "run.sh: \"$TOKENKEYS agent --help\" fails: skipping tokenkeys agent rows"
	fi
else
	msg "run.sh: $TOKENKEYS does not exist yet: skipping tokenkeys rows"
fi

printf '#!/bin/sh\necho %s\n' "$PIN" > "$T/pin.sh"
chmod 700 "$T/pin.sh"

# ---- tokens --------------------------------------------------------------
SMALL=$T/small
BIG=$T/big
echo "== tokens"
t0=$EPOCHREALTIME
GENKEYS=$B/genkeys TK_BENCH_PIN=$PIN "$here/mktoken.sh" "$SMALL" 0 || exit 1
GENKEYS=$B/genkeys TK_BENCH_PIN=$PIN BENCH_CACHE=${BENCH_CACHE-$B/token-cache} \
    "$here/mktoken.sh" "$BIG" "$NKEYS" || exit 1
t1=$EPOCHREALTIME
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "tokens built in %.1f s\n", b - a }'

# Run "$@" once; print its wall time in microseconds.  Output is discarded.
walltime() {
	local a b
	a=${EPOCHREALTIME/./}
	"$@" >/dev/null 2>&1 || return 1
	b=${EPOCHREALTIME/./}
	echo $((b - a))
}

median() {
	tr ' ' '\n' | grep . | sort -n |
	    awk '{ v[NR] = $1 } END { if (NR == 0) print "";
	        else if (NR % 2) print v[(NR + 1) / 2];
	        else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# msec US: microseconds as milliseconds, or "-".
msec() {
	awk -v v="${1:-}" 'BEGIN { if (v == "") print "-";
	    else printf "%.1f\n", v / 1000 }'
}

# ratio A B: A/B to three significant digits, or "-" when either is missing.
ratio() {
	awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {
	    if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0)
	        print "-"; else printf "%.3g\n", a / b }'
}

# field NAME LINE: the value of NAME=value in a result line.
field() {
	local re="(^|[[:space:]])$1=([^[:space:]]+)"
	[[ $2 =~ $re ]] && echo "${BASH_REMATCH[2]}"
}

# ---- a. listing ----------------------------------------------------------
declare -A LIST MED
if want list; then
	echo
	echo "== listing: $((NKEYS + 3)) key pairs, $ROUNDS interleaved rounds"
	export SOFTHSM2_CONF=$BIG/softhsm2.conf
	names=(floor ssh-keygen)
	cmds=("$B/floor-list $M" "ssh-keygen -D $M")
	if [ "$have_tk" = 1 ]; then
		names+=(tokenkeys)
		cmds+=("$TOKENKEYS list --module $M")
	fi
	# What each one finds, once, so a fast row cannot be a broken one.
	"$B/floor-list" "$M" 2>&1 | sed 's/^/  /'
	echo "  ssh-keygen -D: $(ssh-keygen -D "$M" 2>/dev/null | grep -c .) keys (no Ed25519 in OpenSSH 9.2)"
	if [ "$have_tk" = 1 ]; then
		if out=$("$TOKENKEYS" list --module "$M" 2>"$T/tk-list.err"); then
			echo "  tokenkeys list: $(printf '%s\n' "$out" | grep -c .) keys"
		else
			echo "  tokenkeys list failed: $(head -3 "$T/tk-list.err")"
			names=("${names[@]:0:2}")
			cmds=("${cmds[@]:0:2}")
		fi
	fi
	k=${#names[@]}
	for ((r = 0; r < ROUNDS; r++)); do
		for ((j = 0; j < k; j++)); do
			i=$(((j + r) % k))	# rotate the order: no fixed first place
			# shellcheck disable=SC2086  # the command lines are word lists
			if us=$(walltime timeout 120 ${cmds[$i]}); then
				LIST[${names[$i]}]+="$us "
			else
				LIST[${names[$i]}_fail]=1
			fi
		done
	done
	for n in "${names[@]}"; do
		if [ -n "${LIST[${n}_fail]:-}" ]; then
			echo "  $n: failed in some rounds, row dropped"
			continue
		fi
		MED[$n]=$(printf '%s' "${LIST[$n]:-}" | median)
		awk -v n="$n" -v v="${MED[$n]}" \
		    'BEGIN { printf "  %-12s median %8.1f ms\n", n, v / 1000 }'
	done
	unset SOFTHSM2_CONF
fi

# ---- b. signing -----------------------------------------------------------
declare -A RATE P50 P99 RSS PSS NSIG VERIFY
RTT=

# cell KEY LINE: remember a result line under KEY and show it.
cell() {
	local key=$1 line=$2
	echo "  $key: $line"
	if [ "$(field failures "$line")" != 0 ]; then
		echo "  $key: had failures; not used in the summary"
		return
	fi
	RATE[$key]=$(field rate "$line")
	P50[$key]=$(field p50_us "$line")
	P99[$key]=$(field p99_us "$line")
}

# wait_sock SOCK PID: up to 10 s for PID to bind SOCK; fails at once if
# PID exits first.
wait_sock() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$1" ] && return 0
		alive "$2" || return 1
		sleep 0.1
	done
	return 1
}

if want sign; then
	echo
	echo "== signing: raw PKCS#11 floor, ${SECS} s per cell"
	export SOFTHSM2_CONF=$SMALL/softhsm2.conf
	for kt in ec256:bench-ec256 rsa2048:bench-rsa2048 ed25519:bench-ed25519; do
		for th in 1 2; do
			line=$(TK_BENCH_PIN=$PIN timeout $TMO "$B/floor-sign" -d "$SECS" \
			    -t $th -l "${kt#*:}" "$M" 2>&1 | tail -1)
			cell "raw/${kt%%:*}/$th" "$line"
		done
	done
	line=$(SOFTHSM2_CONF=$BIG/softhsm2.conf TK_BENCH_PIN=$PIN timeout $TMO \
	    "$B/floor-sign" -d "$SECS" -t 1 -l bench-ec256 "$M" 2>&1 | tail -1)
	cell "raw/ec256-big/1" "$line"
	# The hop's floor: a request passed along three processes and the
	# answer back (ssh, the agent, the module's helper), doing nothing
	# else, and the agent's verification of the token's signature
	# (verify-cost needs the library: BENCH_DIR).
	echo
	echo "== the hop's floor: three processes in a line, verification"
	line=$(timeout $TMO "$B/hop-floor" "$SECS" 2>&1 | tail -1)
	echo "  ssh -> agent -> helper and back: $line"
	RTT=$(field rtt_us "$line")
	for kt in ec256 rsa2048 ed25519; do
		[ -x "$B/verify-cost" ] || break
		line=$(timeout $TMO "$B/verify-cost" $kt 3000 2>&1 | tail -1)
		echo "  verify $kt: $line"
		VERIFY[$kt]=$(field us_each "$line")
	done
fi

# start_agent NAME CONF CMD...: start an agent in the foreground on
# $T/NAME.sock with the token of CONF; sets APID.
start_agent() {
	local name=$1 conf=$2
	shift 2
	SOFTHSM2_CONF=$conf SSH_ASKPASS=$T/pin.sh SSH_ASKPASS_REQUIRE=force \
	    DISPLAY='' "$@" >"$T/$name.log" 2>&1 </dev/null &
	APID=$!
	PIDS="$PIDS $APID"
	if ! wait_sock "$T/$name.sock" "$APID"; then
		msg "run.sh: $name did not create its socket; its log:"
		sed 's/^/  /' "$T/$name.log" >&2
		return 1
	fi
}

# ssh-agent needs ssh-add -s; tokenkeys asks for the PIN itself.
load_ssh_agent() {
	SSH_AUTH_SOCK=$1 SSH_ASKPASS=$T/pin.sh SSH_ASKPASS_REQUIRE=force \
	    DISPLAY='' timeout 120 ssh-add -s "$M" </dev/null >/dev/null 2>&1
}

# agent_rows WHO SOCK PID SOAK KEYS...: sign cells at 1 and 4
# connections; then, with SOAK > 0, P-256 signatures on 4 connections
# until the agent has made SOAK in all.
agent_rows() {
	local who=$1 sock=$2 pid=$3 soak=$4 kt match typ line c n t0
	shift 4
	RSS[$who/start]=$(rss_tree "$pid")
	PSS[$who/start]=$(pss_tree "$pid")
	# One untimed signature per key first: a PIN prompt, a helper start.
	for kt in "$@"; do
		IFS=: read -r kt match typ <<<"$kt"
		timeout $TMO "$B/agent-client" -a "$sock" -n 1 sign "$match" \
		    "$typ" >/dev/null 2>&1
	done
	# code and tables touched once: what grows after this is growth
	RSS[$who/warm]=$(rss_tree "$pid")
	PSS[$who/warm]=$(pss_tree "$pid")
	NSIG[$who]=$#
	for kt in "$@"; do
		IFS=: read -r kt match typ <<<"$kt"
		for c in 1 4; do
			line=$(timeout $TMO "$B/agent-client" -a "$sock" \
			    -d "$SECS" -c $c sign "$match" "$typ" 2>&1 | tail -1)
			cell "$who/$kt/$c" "$line"
			# plus agent-client's one warm-up per connection
			n=$(field n "$line")
			[ -n "$n" ] && NSIG[$who]=$((NSIG[$who] + n + c))
		done
	done
	if [ "$soak" -gt "${NSIG[$who]}" ]; then
		n=$((soak - NSIG[$who]))
		t0=$EPOCHREALTIME
		line=$(timeout $((TMO + n / 500)) "$B/agent-client" -a "$sock" \
		    -n "$n" -c 4 sign bench-ec256 ecdsa-sha2-nistp256 2>&1 |
		    tail -1)
		if [ "$(field failures "$line")" = 0 ]; then
			NSIG[$who]=$((NSIG[$who] + $(field n "$line") + 4))
		else
			echo "  $who soak: $line"
		fi
		awk -v a="$t0" -v b="$EPOCHREALTIME" -v n="$n" \
		    'BEGIN { printf "  soak: %d more P-256 signatures in %.1f s\n",
		    n, b - a }'
	fi
	RSS[$who/after]=$(rss_tree "$pid")
	PSS[$who/after]=$(pss_tree "$pid")
	line=$(timeout $TMO "$B/agent-client" -a "$sock" -d 1 list 2>&1 | tail -1)
	cell "$who/list" "$line"
}

# list_rows WHO SOCK PID: the 1000-key agent: list latency, one sign cell.
list_rows() {
	local who=$1 sock=$2 pid=$3 line
	timeout $TMO "$B/agent-client" -a "$sock" -n 1 sign bench-ec256 \
	    ecdsa-sha2-nistp256 >/dev/null 2>&1
	line=$(timeout $TMO "$B/agent-client" -a "$sock" -d "$SECS" list 2>&1 |
	    tail -1)
	cell "$who/list-big" "$line"
	line=$(timeout $TMO "$B/agent-client" -a "$sock" -d "$SECS" sign \
	    bench-ec256 ecdsa-sha2-nistp256 2>&1 | tail -1)
	cell "$who/ec256-big/1" "$line"
	RSS[$who/big]=$(rss_tree "$pid")
	PSS[$who/big]=$(pss_tree "$pid")
}

if want sign; then
	echo
	echo "== signing: OpenSSH ssh-agent -P '/usr/lib/*' after ssh-add -s"
	if start_agent oa "$SMALL/softhsm2.conf" \
	    ssh-agent -D -a "$T/oa.sock" -P '/usr/lib/*' &&
	    load_ssh_agent "$T/oa.sock"; then
		# Debian's OpenSSH 9.2 has no Ed25519 over PKCS#11.
		agent_rows ssh-agent "$T/oa.sock" "$APID" 0 \
		    ec256:bench-ec256:ecdsa-sha2-nistp256 \
		    rsa2048:bench-rsa2048:ssh-rsa
	else
		echo "  ssh-agent rows skipped: the agent or ssh-add -s failed"
	fi
	stop_pid "$APID"
	echo "  with $((NKEYS + 3)) key pairs on the token:"
	t0=$EPOCHREALTIME
	if start_agent oabig "$BIG/softhsm2.conf" \
	    ssh-agent -D -a "$T/oabig.sock" -P '/usr/lib/*' &&
	    load_ssh_agent "$T/oabig.sock"; then
		awk -v a="$t0" -v b="$EPOCHREALTIME" \
		    'BEGIN { printf "  start + ssh-add -s: %.2f s\n", b - a }'
		list_rows ssh-agent "$T/oabig.sock" "$APID"
	else
		echo "  ssh-agent rows skipped: the agent or ssh-add -s failed"
	fi
	stop_pid "$APID"

	echo
	echo "== signing: tokenkeys agent"
	if [ "$have_tk_agent" = 1 ]; then
		if start_agent tk "$SMALL/softhsm2.conf" \
		    "$TOKENKEYS" agent -D -a "$T/tk.sock"; then
			agent_rows tokenkeys "$T/tk.sock" "$APID" "$SOAK" \
			    ec256:bench-ec256:ecdsa-sha2-nistp256 \
			    rsa2048:bench-rsa2048:ssh-rsa \
			    ed25519:bench-ed25519:ssh-ed25519
		fi
		stop_pid "$APID"
		echo "  with $((NKEYS + 3)) key pairs on the token:"
		if start_agent tkbig "$BIG/softhsm2.conf" \
		    "$TOKENKEYS" agent -D -a "$T/tkbig.sock"; then
			list_rows tokenkeys "$T/tkbig.sock" "$APID"
		fi
		stop_pid "$APID"
	else
		echo "  skipped: no tokenkeys agent yet"
	fi
fi

# ---- idle and following cards -------------------------------------------------
# An agent nobody talks to: CPU % of a core and wake-ups per second of the
# agent and its helpers over BENCH_IDLE seconds (after one listing and 2 s
# to settle), on the demo token and the big one.  Then, through the fault
# module in front of the demo token, the card pulled and put back: how
# long until ssh-add -l stops / starts listing its key (median of
# BENCH_FOLLOW rounds), with the module's slot events (the fault module's
# C_WaitForSlotEvent, which itself looks at its control file every 100
# ms) and without (the helper looks which tokens are there every 600 ms).
declare -A IDLE_CPU IDLE_WAKE FOLLOW_IN FOLLOW_OUT

# idle_row NAME CONF: one idle cell for tokenkeys agent on CONF's token.
idle_row() {
	local name=$1 conf=$2 line
	if ! start_agent "idle$name" "$conf" "$TOKENKEYS" agent -D \
	    -a "$T/idle$name.sock"; then
		stop_pid "$APID"
		return
	fi
	SSH_AUTH_SOCK=$T/idle$name.sock ssh-add -l </dev/null >/dev/null 2>&1
	sleep 2
	line=$("$here/idle.sh" "$APID" "$IDLE")
	echo "  $name: $line"
	IDLE_CPU[$name]=$(field cpu_pct "$line")
	IDLE_WAKE[$name]=$(field wakeups_s "$line")
	stop_pid "$APID"
}

# listed_ms SOCK WANT: poll ssh-add -l every 10 ms until the key
# bench-ec256 is listed (WANT 1) or not (WANT 0); prints the ms it took,
# nothing after 20 s.
listed_ms() {
	local sock=$1 want=$2 a b has
	a=${EPOCHREALTIME/./}
	while :; do
		has=0
		SSH_AUTH_SOCK=$sock ssh-add -l </dev/null 2>/dev/null |
		    grep -q 'object=bench-ec256' && has=1
		b=${EPOCHREALTIME/./}
		if [ "$has" = "$want" ]; then
			echo $(((b - a) / 1000))
			return 0
		fi
		[ $((b - a)) -gt 20000000 ] && return 1
		sleep 0.01
	done
}

# follow_row NAME EXTRA: the pulled / put back cell; EXTRA, a fault
# directive kept in every control file.
follow_row() {
	local name=$1 extra=$2 ctl=$T/follow-$1.ctl i ms ins='' out=''
	printf '%s\n' "$extra" >"$ctl"
	if ! TK_FAULT_CONTROL=$ctl TK_FAULT_MODULE=$M start_agent "fol$name" \
	    "$SMALL/softhsm2.conf" "$TOKENKEYS" agent -D \
	    -a "$T/fol$name.sock" -P "$(dirname "$FAULTMOD")/*,/usr/lib*/*" \
	    "pkcs11:token=tk%20bench?module-path=$FAULTMOD"; then
		stop_pid "$APID"
		return
	fi
	if ! listed_ms "$T/fol$name.sock" 1 >/dev/null; then
		echo "  $name: the agent does not list the key; row skipped"
		stop_pid "$APID"
		return
	fi
	for ((i = 0; i < FOLLOW; i++)); do
		# 0-999 ms, to the millisecond: steps of 100 ms would be in
		# step with a look every 600 ms (only 6 phases of it)
		sleep "0.$(printf %03d $((RANDOM % 1000)))"
		printf 'absent\n%s\n' "$extra" >"$ctl.new" && mv "$ctl.new" "$ctl"
		ms=$(listed_ms "$T/fol$name.sock" 0) && out+="$ms "
		sleep "0.$(printf %03d $((RANDOM % 1000)))"
		printf '%s\n' "$extra" >"$ctl.new" && mv "$ctl.new" "$ctl"
		ms=$(listed_ms "$T/fol$name.sock" 1) && ins+="$ms "
	done
	FOLLOW_OUT[$name]=$(printf '%s' "$out" | median)
	FOLLOW_IN[$name]=$(printf '%s' "$ins" | median)
	echo "  $name: put back -> listed: $ins ms; pulled -> gone: $out ms"
	stop_pid "$APID"
}

if want idle; then
	echo
	echo "== idle: agent and helpers, ${IDLE} s with no client"
	if [ "$have_tk_agent" = 1 ]; then
		idle_row demo "$SMALL/softhsm2.conf"
		idle_row big "$BIG/softhsm2.conf"
	else
		echo "  skipped: no tokenkeys agent yet"
	fi
fi
if want follow; then
	echo
	echo "== following a card: pulled / put back through the fault module, $FOLLOW rounds"
	if [ "$have_tk_agent" != 1 ]; then
		echo "  skipped: no tokenkeys agent yet"
	elif [ -z "$FAULTMOD" ] || [ ! -f "$FAULTMOD" ]; then
		echo "  skipped: no fault module (BENCH_FAULTMOD; make bench builds it)"
	else
		follow_row events ""
		follow_row polled "fail C_WaitForSlotEvent CKR_FUNCTION_NOT_SUPPORTED always"
	fi
fi

# ---- the login a user waits for ---------------------------------------------
# Wall time of "ssh -o BatchMode=yes host true" into a throwaway sshd
# (ProxyCommand sshd -i, as tests/lib.sh does; a throwaway user made
# here and removed at the end) with the token's bench-ec256 key served
# by tokenkeys agent, by ssh-agent after ssh-add -s, and by ssh itself
# with PKCS11Provider (which loads the module, lists every key and logs
# in on each run), on the demo token and the big one; a file key as the
# floor (what ssh and sshd -i cost without any token).  Agents are
# logged in by one untimed login first.  Median of BENCH_LOGIN runs.
# PKCS11Provider runs without BatchMode: with it, ssh will not ask for
# the PIN (askpass answers it, as it does for the agents).
declare -A LOGIN

login_setup() {
	if [ "$(id -u)" != 0 ]; then
		LOGIN_WHY="needs root (a throwaway user for sshd)"
		return 1
	fi
	if [ ! -x /usr/sbin/sshd ]; then
		LOGIN_WHY="no /usr/sbin/sshd"
		return 1
	fi
	mkdir -p /run/sshd
	chmod 755 "$T"	# the user must reach its home inside
	LOGIN_USER=tkbench$$
	while getent passwd "$LOGIN_USER" >/dev/null; do
		LOGIN_USER=tkbench$$r$RANDOM
	done
	if ! useradd -M -d "$T/lhome" -s /bin/sh "$LOGIN_USER" ||
	    ! usermod -p '*' "$LOGIN_USER"; then
		LOGIN_WHY="useradd failed"
		LOGIN_USER=
		return 1
	fi
	mkdir -p "$T/lhome/.ssh" "$T/lclient/.ssh"
	chmod 700 "$T/lhome/.ssh" "$T/lclient" "$T/lclient/.ssh"
	ssh-keygen -q -t ed25519 -N '' -f "$T/lhost" &&
	    ssh-keygen -q -t ed25519 -N '' -f "$T/lfile" || {
		LOGIN_WHY="ssh-keygen failed"
		return 1
	}
	cp "$T/lfile.pub" "$T/lhome/.ssh/authorized_keys"
	local tok
	for tok in small big; do
		# every key of the token: PKCS11Provider offers them all
		SOFTHSM2_CONF=$T/$tok/softhsm2.conf ssh-keygen -D "$M" \
		    2>/dev/null >>"$T/lhome/.ssh/authorized_keys"
		if [ "$have_tk" = 1 ]; then
			SOFTHSM2_CONF=$T/$tok/softhsm2.conf "$TOKENKEYS" list \
			    --module "$M" 2>/dev/null | grep 'object=bench-ec256' |
			    head -1 >"$T/login-$tok.pub"
		fi
		if [ ! -s "$T/login-$tok.pub" ]; then
			LOGIN_WHY="cannot read the $tok token's bench-ec256 key"
			return 1
		fi
		chmod 600 "$T/login-$tok.pub"	# ssh reads it as a key file
	done
	chown -R "$LOGIN_USER" "$T/lhome"
	cat >"$T/lsshd_config" <<EOF
HostKey $T/lhost
AuthorizedKeysFile .ssh/authorized_keys
StrictModes no
UsePAM no
PidFile none
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
	cat >"$T/lssh_config" <<EOF
Host test
  ProxyCommand /usr/sbin/sshd -i -f $T/lsshd_config -E $T/lsshd.log
  UserKnownHostsFile $T/lknown_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking accept-new
  User $LOGIN_USER
  PasswordAuthentication no
  KbdInteractiveAuthentication no
  PreferredAuthentications publickey
  IdentitiesOnly yes
  ControlMaster no
  ControlPath none
EOF
}

# login_cell KEY ARGS...: LOGINS timed logins with these ssh options
# (after one untimed); the median in LOGIN[KEY], in microseconds.
# BatchMode=yes unless LOGIN_BATCH says no.
login_cell() {
	local key=$1 batch=${LOGIN_BATCH:-yes} i us all=''
	shift
	if ! HOME=$T/lclient ssh -F "$T/lssh_config" -o BatchMode="$batch" "$@" \
	    test true </dev/null >/dev/null 2>"$T/login.err"; then
		echo "  $key: the login fails; row skipped: $(tail -1 "$T/login.err")"
		return
	fi
	for ((i = 0; i < LOGINS; i++)); do
		us=$(HOME=$T/lclient walltime ssh -F "$T/lssh_config" \
		    -o BatchMode="$batch" "$@" test true) || {
			echo "  $key: a login failed; row skipped"
			return
		}
		all+="$us "
	done
	LOGIN[$key]=$(printf '%s' "$all" | median)
	awk -v k="$key" -v v="${LOGIN[$key]}" \
	    'BEGIN { printf "  %-28s median %8.1f ms\n", k, v / 1000 }'
}

# login_rows TOK: the cells on the small or big token.
login_rows() {
	local tok=$1 id=$T/login-$1.pub
	start_agent "ltk$tok" "$T/$tok/softhsm2.conf" "$TOKENKEYS" agent -D \
	    -a "$T/ltk$tok.sock" &&
	    login_cell "tokenkeys/$tok" -o IdentityAgent="$T/ltk$tok.sock" \
	    -o IdentityFile="$id"
	stop_pid "$APID"
	if start_agent "loa$tok" "$T/$tok/softhsm2.conf" ssh-agent -D \
	    -a "$T/loa$tok.sock" -P '/usr/lib/*' &&
	    SOFTHSM2_CONF=$T/$tok/softhsm2.conf load_ssh_agent "$T/loa$tok.sock"
	then
		login_cell "ssh-agent/$tok" -o IdentityAgent="$T/loa$tok.sock" \
		    -o IdentityFile="$id"
	else
		echo "  ssh-agent/$tok: ssh-add -s failed; row skipped"
	fi
	stop_pid "$APID"
	# BatchMode=yes: ssh would not ask for the PIN ("pin required")
	SOFTHSM2_CONF=$T/$tok/softhsm2.conf SSH_ASKPASS=$T/pin.sh \
	    SSH_ASKPASS_REQUIRE=force DISPLAY='' LOGIN_BATCH=no \
	    login_cell "provider/$tok" \
	    -o IdentityAgent=none -o PKCS11Provider="$M" -o IdentityFile="$id"
}

if want login; then
	echo
	echo "== login: ssh -o BatchMode=yes host true into sshd -i, $LOGINS runs"
	LOGIN_WHY=
	if login_setup; then
		login_cell file -o IdentityAgent=none -o IdentityFile="$T/lfile"
		login_rows small
		login_rows big
	else
		echo "  skipped: $LOGIN_WHY"
	fi
fi

# ---- -A: another agent behind ours -------------------------------------
# Token-key signatures with and without -A, in one run on the same token:
# two tokenkeys agents side by side, one delegating key files to an
# OpenSSH ssh-agent (with one Ed25519 key file in it), their cells
# alternated so that drift hits both alike.  The key file's own rate
# through -A is shown for scale.
echo
echo "== signing: tokenkeys agent with and without -A (ssh-agent behind)"
if [ "$have_tk_agent" = 1 ] && "$TOKENKEYS" agent --help 2>&1 |
    grep -q -- '-A'; then
	AP=
	ssh-keygen -q -t ed25519 -N '' -C bench-file -f "$T/id_bench" &&
	    start_agent up "$SMALL/softhsm2.conf" \
	    ssh-agent -D -a "$T/up.sock" && UP=$APID &&
	    start_agent tka "$SMALL/softhsm2.conf" \
	    "$TOKENKEYS" agent -D -a "$T/tka.sock" -A "$T/up.sock" &&
	    AP=$APID &&
	    SSH_AUTH_SOCK=$T/tka.sock ssh-add "$T/id_bench" \
	    </dev/null >/dev/null 2>&1 &&
	    start_agent tkp "$SMALL/softhsm2.conf" \
	    "$TOKENKEYS" agent -D -a "$T/tkp.sock" || AP=
	if [ -n "$AP" ]; then
		for s in tkp tka; do
			timeout $TMO "$B/agent-client" -a "$T/$s.sock" -n 1 \
			    sign bench-ec256 ecdsa-sha2-nistp256 \
			    >/dev/null 2>&1
		done
		for c in 1 4; do
			for s in tkp:plain tka:A; do
				line=$(timeout $TMO "$B/agent-client" \
				    -a "$T/${s%%:*}.sock" -d "$SECS" -c $c \
				    sign bench-ec256 ecdsa-sha2-nistp256 2>&1 |
				    tail -1)
				cell "tk-${s#*:}/ec256/$c" "$line"
			done
		done
		line=$(timeout $TMO "$B/agent-client" -a "$T/tka.sock" \
		    -d "$SECS" -c 1 sign bench-file ssh-ed25519 2>&1 | tail -1)
		cell "tk-A/file-ed25519/1" "$line"
	else
		echo "  skipped: an agent or ssh-add of the key file failed"
	fi
	stop_pid "$APID"
	stop_pid "${AP:-}"
	stop_pid "${UP:-}"
else
	echo "  skipped: no tokenkeys agent -A yet"
fi

# ---- TPM 2.0 ---------------------------------------------------------------
# A software TPM (swtpm) behind tpm2-abrmd and Debian's TPM PKCS#11 module
# (tests/tpm-stack.sh; packages from .ci/deps-tpm): P-256 signatures of
# the raw module against the agent on the same TPM token.  The agent
# reaches the module through module-path=, so nothing is registered.
# Debian's module (1.9.0) is not safe with two threads signing on two
# sessions at once (CKR_OPERATION_ACTIVE, CKR_SESSION_HANDLE_INVALID):
# the 2-thread raw cell may show failures and is then left out.
if want tpm; then
	echo
	echo "== signing: TPM 2.0 (swtpm through tpm2-abrmd), P-256, ${SECS} s per cell"
	# shellcheck source=../tpm-stack.sh
	. "$here/../tpm-stack.sh"
	TPM_WHY=
	if ! tk_tpm_find; then
		TPM_WHY=$TK_TPM_WHY
	elif [ "$have_tk_agent" != 1 ]; then
		TPM_WHY="no tokenkeys agent yet"
	elif ! tk_tpm_start "$T/tpm" >"$T/tpm.err" 2>&1 ||
	    ! tk_tpm_token benchtpm "$PIN" 12345678 ecc256:bench-tpm-ec256 \
	    >>"$T/tpm.err" 2>&1; then
		TPM_WHY="the software TPM did not start: $(head -3 "$T/tpm.err")"
	fi
	if [ -n "$TPM_WHY" ]; then
		echo "  skipped: $TPM_WHY"
	else
		for th in 1 2; do
			line=$(TK_BENCH_PIN=$PIN timeout $TMO "$B/floor-sign" \
			    -d "$SECS" -t $th -T benchtpm -l bench-tpm-ec256 \
			    "$TK_TPM_MODULE" 2>&1 | tail -1)
			cell "raw/tpm-ec256/$th" "$line"
		done
		if start_agent tktpm "$SMALL/softhsm2.conf" "$TOKENKEYS" agent -D \
		    -a "$T/tktpm.sock" \
		    "pkcs11:token=benchtpm?module-path=$TK_TPM_MODULE"; then
			timeout $TMO "$B/agent-client" -a "$T/tktpm.sock" -n 1 sign \
			    bench-tpm-ec256 ecdsa-sha2-nistp256 >/dev/null 2>&1
			for c in 1 4; do
				line=$(timeout $TMO "$B/agent-client" \
				    -a "$T/tktpm.sock" -d "$SECS" -c $c sign \
				    bench-tpm-ec256 ecdsa-sha2-nistp256 2>&1 | tail -1)
				cell "tokenkeys/tpm-ec256/$c" "$line"
			done
		fi
		stop_pid "$APID"
	fi
	tk_tpm_stop
fi

# ---- c. summary -------------------------------------------------------------
echo
echo "== summary (ratios within this run; >1 means the left one is larger)"
echo
echo "listing $((NKEYS + 3)) key pairs, median wall time of whole processes:"
printf '  %-28s %10s\n' "" "ms"
for n in floor ssh-keygen tokenkeys; do
	[ -n "${MED[$n]:-}" ] || continue
	awk -v n="$n" -v v="${MED[$n]}" \
	    'BEGIN { printf "  %-28s %10.1f\n", n, v / 1000 }'
done
printf '  %-28s %10s\n' "ssh-keygen/floor" "$(ratio "${MED[ssh-keygen]:-}" "${MED[floor]:-}")"
printf '  %-28s %10s\n' "tokenkeys/floor" "$(ratio "${MED[tokenkeys]:-}" "${MED[floor]:-}")"
printf '  %-28s %10s\n' "tokenkeys/ssh-keygen" "$(ratio "${MED[tokenkeys]:-}" "${MED[ssh-keygen]:-}")"

echo
echo "signatures/s (raw: floor-sign threads; agents: agent-client connections)"
printf '  %-22s %9s %9s %9s %8s %8s %8s\n' "" raw ssh-agent tokenkeys \
    tk/raw tk/ssh sshag/raw
row() {
	local label=$1 raw=$2 ag=$3 tk=$4
	printf '  %-22s %9s %9s %9s %8s %8s %8s\n' "$label" \
	    "${RATE[$raw]:--}" "${RATE[$ag]:--}" "${RATE[$tk]:--}" \
	    "$(ratio "${RATE[$tk]:-}" "${RATE[$raw]:-}")" \
	    "$(ratio "${RATE[$tk]:-}" "${RATE[$ag]:-}")" \
	    "$(ratio "${RATE[$ag]:-}" "${RATE[$raw]:-}")"
}
for kt in ec256 rsa2048 ed25519; do
	row "$kt 1 thr / 1 conn" "raw/$kt/1" "ssh-agent/$kt/1" "tokenkeys/$kt/1"
	row "$kt 2 thr / 4 conns" "raw/$kt/2" "ssh-agent/$kt/4" "tokenkeys/$kt/4"
done
row "ec256, $((NKEYS + 3)) keys, 1" "raw/ec256-big/1" "ssh-agent/ec256-big/1" \
    "tokenkeys/ec256-big/1"
row "TPM p256 1 thr/1 conn" "raw/tpm-ec256/1" - "tokenkeys/tpm-ec256/1"
row "TPM p256 2 thr/4 conns" "raw/tpm-ec256/2" - "tokenkeys/tpm-ec256/4"

echo
echo "latency p50 / p99 in us, one connection (raw: one thread)"
printf '  %-22s %17s %17s %17s\n' "" raw ssh-agent tokenkeys
lat() {
	[ -n "${P50[$1]:-}" ] && printf '%s / %s' "${P50[$1]}" "${P99[$1]}" ||
	    printf -- '-'
}
for kt in ec256 rsa2048 ed25519; do
	printf '  %-22s %17s %17s %17s\n' "sign $kt" "$(lat "raw/$kt/1")" \
	    "$(lat "ssh-agent/$kt/1")" "$(lat "tokenkeys/$kt/1")"
done
printf '  %-22s %17s %17s %17s\n' "sign TPM ec256" "$(lat raw/tpm-ec256/1)" \
    - "$(lat tokenkeys/tpm-ec256/1)"
printf '  %-22s %17s %17s %17s\n' "list, 3 keys" - "$(lat ssh-agent/list)" \
    "$(lat tokenkeys/list)"
printf '  %-22s %17s %17s %17s\n' "list, $((NKEYS + 3)) keys" - \
    "$(lat ssh-agent/list-big)" "$(lat tokenkeys/list-big)"
printf '  %-22s %17s %17s %8s\n' "list p50 tk/ssh-agent" "" "" \
    "$(ratio "${P50[tokenkeys/list-big]:-}" "${P50[ssh-agent/list-big]:-}")"
for kt in ec256 rsa2048 ed25519; do
	printf '  %-22s %17s %17s %17s\n' "sign $kt p99/p50" \
	    "$(ratio "${P99[raw/$kt/1]:-}" "${P50[raw/$kt/1]:-}")" \
	    "$(ratio "${P99[ssh-agent/$kt/1]:-}" "${P50[ssh-agent/$kt/1]:-}")" \
	    "$(ratio "${P99[tokenkeys/$kt/1]:-}" "${P50[tokenkeys/$kt/1]:-}")"
done

echo
echo "the hop's floor, one connection: raw C_Sign + verification + the path"
printf '  %-10s %8s %8s %8s %8s %10s %10s\n' "" "raw us" "verify" \
    "path" "floor" "floor/raw" "tk/raw"
for kt in ec256 rsa2048 ed25519; do
	awk -v k="$kt" -v raw="${RATE[raw/$kt/1]:-}" \
	    -v tk="${RATE[tokenkeys/$kt/1]:-}" -v v="${VERIFY[$kt]:-}" \
	    -v rtt="$RTT" 'BEGIN {
		if (raw == "" || v == "" || rtt == "") {
			printf "  %-10s %8s\n", k, "-"; exit
		}
		r = 1e6 / raw; f = r + v + rtt
		printf "  %-10s %8.1f %8.1f %8.1f %8.1f %10.3f %10s\n", k, r,
		    v, rtt, f, r / f,
		    tk == "" ? "-" : sprintf("%.3f", tk / raw)
	    }'
done

echo
echo "tokenkeys agent -A: P-256 token key, same token, cells alternated"
printf '  %-22s %9s %9s %8s %17s %17s\n' "" plain -A A/plain \
    "plain p50 / p99" "-A p50 / p99"
for c in 1 4; do
	printf '  %-22s %9s %9s %8s %17s %17s\n' "signatures/s, $c conn" \
	    "${RATE[tk-plain/ec256/$c]:--}" "${RATE[tk-A/ec256/$c]:--}" \
	    "$(ratio "${RATE[tk-A/ec256/$c]:-}" \
	    "${RATE[tk-plain/ec256/$c]:-}")" \
	    "$(lat "tk-plain/ec256/$c")" "$(lat "tk-A/ec256/$c")"
done
printf '  %-22s %9s %9s %8s %17s %17s\n' "key file ed25519, 1" - \
    "${RATE[tk-A/file-ed25519/1]:--}" - - "$(lat tk-A/file-ed25519/1)"

echo
echo "agent RSS (and PSS) in KiB, agent and its helpers summed"
printf '  %-26s %12s %12s %8s %12s %12s\n' "" ssh-agent tokenkeys tk/ssh \
    "ssh-ag PSS" "tk PSS"
for w in start warm after big; do
	case $w in
	start) l="3 keys, at start" ;;
	warm) l="3 keys, 1 signature each" ;;
	after) l="3 keys, after signing" ;;
	big) l="$((NKEYS + 3)) keys, after rows" ;;
	esac
	printf '  %-26s %12s %12s %8s %12s %12s\n' "$l" \
	    "${RSS[ssh-agent/$w]:--}" "${RSS[tokenkeys/$w]:--}" \
	    "$(ratio "${RSS[tokenkeys/$w]:-}" "${RSS[ssh-agent/$w]:-}")" \
	    "${PSS[ssh-agent/$w]:--}" "${PSS[tokenkeys/$w]:--}"
done
printf '  %-26s %12s %12s\n' "signatures in between" "${NSIG[ssh-agent]:--}" \
    "${NSIG[tokenkeys]:--}"

echo
echo "idle agent and helpers, ${IDLE} s (the machine may be busy meanwhile)"
printf '  %-26s %12s %12s\n' "" "CPU % core" "wake-ups/s"
printf '  %-26s %12s %12s\n' "demo token (3 keys)" "${IDLE_CPU[demo]:--}" \
    "${IDLE_WAKE[demo]:--}"
printf '  %-26s %12s %12s\n' "$((NKEYS + 3)) keys" "${IDLE_CPU[big]:--}" \
    "${IDLE_WAKE[big]:--}"

echo
echo "login: ssh -o BatchMode=yes host true, median ms (file key: the floor)"
printf '  %-16s %10s %10s %10s %10s %8s %8s\n' "" tokenkeys ssh-agent \
    provider "file key" tk/sshag tk/prov
for tok in small big; do
	case $tok in
	small) l="demo token" ;;
	big) l="$((NKEYS + 3)) keys" ;;
	esac
	printf '  %-16s %10s %10s %10s %10s %8s %8s\n' "$l" \
	    "$(msec "${LOGIN[tokenkeys/$tok]:-}")" \
	    "$(msec "${LOGIN[ssh-agent/$tok]:-}")" \
	    "$(msec "${LOGIN[provider/$tok]:-}")" "$(msec "${LOGIN[file]:-}")" \
	    "$(ratio "${LOGIN[tokenkeys/$tok]:-}" "${LOGIN[ssh-agent/$tok]:-}")" \
	    "$(ratio "${LOGIN[tokenkeys/$tok]:-}" "${LOGIN[provider/$tok]:-}")"
done

echo
echo "card followed, median ms until ssh-add -l shows it"
printf '  %-26s %12s %12s\n' "" "put back" "pulled"
printf '  %-26s %12s %12s\n' "slot events (fault shim)" \
    "${FOLLOW_IN[events]:--}" "${FOLLOW_OUT[events]:--}"
printf '  %-26s %12s %12s\n' "no slot events (0.6 s look)" \
    "${FOLLOW_IN[polled]:--}" "${FOLLOW_OUT[polled]:--}"
exit 0
