#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Who is asking, when the asking processes choose hostile command lines
# (src/agent/agent-peer.c reads them from /proc; any local program sets
# its own argv): escape sequences and a lone CR in a program's name, a
# 100 kB argument, empty arguments and control bytes between the NULs.
# The real agent, the fault module and a throwaway SoftHSM token; the
# requests come from stock ssh-add under a perl parent with that argv.
# The confirmation prompt (what the askpass program gets) and the -d
# log line must name the requester sanitised (no control byte reaches
# either: each shows as \xNN) and bounded (a line, not 100 kB).

. "$(dirname "$0")/lib.sh"

tk_fault_setup
command -v perl >/dev/null || skip_all "perl not installed"
plan 12

tk_askpass_scripts 1234
tk_agent_start req -P "$FAULT_ALLOW" "$ONE_URI" ||
    bail "the agent does not start"
export SSH_AUTH_SOCK=$T/req.sock
AGENT_LOG=$T/req.log
ssh-add -L >"$T/one.pub" 2>/dev/null
grep -q "object=ec256" "$T/one.pub" || bail "the agent serves no key"
ssh-add -e "$ONE_URI" >/dev/null 2>&1
env SSH_ASKPASS="$T/pin.sh" SSH_ASKPASS_REQUIRE=force \
    ssh-add -c -s "$ONE_URI" </dev/null >/dev/null 2>&1
check "ssh-add -c -s: the key is confirm-constrained" \
    test "$(ssh-add -l 2>/dev/null | grep -c ec256)" = 1

# The hostile parents: bash under a chosen argv[0] (exec -a; not named
# like a shell, so the chain goes on past it), an empty argument, then
# the command it runs and waits for.  ssh-add's parent is named ODD
# followed by 100 kB; its parent EVIL0.
EVIL0=$(printf 'evil\033]0;pwned\007\033[2J\033[31mred\r')
ODD=$(printf 'a\nb\tc\001d\177e\302\233f')
BIG=$(head -c 100000 /dev/zero | tr '\0' A)
cat >"$T/as.sh" <<'EOF2'
#!/bin/bash
# as.sh ARGV0 CMD...: CMD as the child of a bash named ARGV0
n=$1
shift
exec -a "$n" bash -c '"$@"; exit $?' "" "$@"
EOF2
chmod 755 "$T/as.sh"
hostile() { "$T/as.sh" "$EVIL0" "$T/as.sh" "$ODD$BIG" "$@"; }

: >"$T/prompts"
hostile ssh-add -T "$T/one.pub" </dev/null >"$T/out" 2>&1
rc=$?
check "ssh-add -T under a parent with a hostile argv signs (rc $rc)" \
    test "$rc" = 0
check "...after one confirmation prompt" test -s "$T/prompts"
check "...that names ssh-add -T first" \
    grep -q "Requested by: ssh-add -T $T/one.pub" "$T/prompts"
check "...and the parent, its name's escapes shown as \\xNN" \
    grep -qF '\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x0d' "$T/prompts"
check "...its odd argument's controls too" \
    grep -qF 'a\x0ab\x09c\x01d\x7fe\xc2\x9bf' "$T/prompts"
# no C0 (but the prompt's own line ends), DEL or C1 byte reached askpass
check "...no control byte reached the askpass program" \
    test "$(LC_ALL=C tr -d '\n\040-\176\200-\377' <"$T/prompts" |
    wc -c)" = 0 -a "$(LC_ALL=C grep -c $'\xc2[\x80-\x9f]' "$T/prompts")" = 0
check "...the prompt stays short: no line over 300 bytes" \
    test "$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' \
    "$T/prompts")" -le 300
check "...and no run of the 100 kB argument over 80 bytes" \
    test "$(grep -c 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' \
    "$T/prompts")" = 0

LINE=$(grep "signed with .* for ssh-add -T" "$AGENT_LOG" | tail -n 1)
check "the -d log line of the signature names the requester" \
    test -n "$LINE"
check "...sanitised: no control byte in it" \
    test "$(printf '%s' "$LINE" | LC_ALL=C tr -d '\040-\176\200-\377' |
    wc -c)" = 0 -a -n "$(printf '%s' "$LINE" | grep -F '\x1b]0;pwned')"
check "...and bounded: under 600 bytes" test "${#LINE}" -lt 600

tk_agent_stop "$TK_AGENT_PID"
done_testing
