#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# idle.sh PID SECS -- what a process tree costs while nobody talks to it.
#
# Prints one line: cpu_pct=X wakeups_s=Y procs=N, where X is the CPU
# time (utime + stime from /proc/PID/stat) of PID and all its
# descendants over SECS seconds, in percent of one core, and Y the
# context switches (voluntary + involuntary, summed over every thread in
# /proc/PID/task/*/status) per second: each is one time a thread went to
# sleep or was put off the CPU, so it counts the wake-ups.  Only
# processes alive at both ends of the window are counted.
set -u

if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]] || [ ! -d "/proc/$1" ]; then
	echo "usage: idle.sh PID SECS" >&2
	exit 2
fi
root=$1
secs=$2

tree() {
	local p
	echo "$1"
	for p in $(cat /proc/[0-9]*/stat 2>/dev/null | awk -v pp="$1" \
	    '{ p = $1; sub(/.*\) /, ""); if ($2 == pp) print p }'); do
		tree "$p"
	done
}

# "pid ticks switches" per process of the tree
sample() {
	local p t s
	for p in $(tree "$root"); do
		t=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' \
		    "/proc/$p/stat" 2>/dev/null) || continue
		s=$(cat /proc/"$p"/task/*/status 2>/dev/null | awk '
		    /^(non)?voluntary_ctxt_switches:/ { n += $2 }
		    END { print n + 0 }')
		[ -n "$t" ] && echo "$p $t $s"
	done
}

hz=$(getconf CLK_TCK)
a=$(sample)
sleep "$secs"
b=$(sample)
awk -v hz="$hz" -v secs="$secs" '
	NR == FNR { t0[$1] = $2; s0[$1] = $3; next }
	($1 in t0) { n++; dt += $2 - t0[$1]; ds += $3 - s0[$1] }
	END { printf "cpu_pct=%.3f wakeups_s=%.2f procs=%d\n",
	    100 * dt / hz / secs, ds / secs, n }' \
    <(printf '%s\n' "$a") <(printf '%s\n' "$b")
