#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys agent under a misbehaving card: the real agent, the fault
# module (tests/faultmod/) in front of a throwaway SoftHSM token, and the
# stock clients (ssh-add -T, ssh-keygen -Y sign) through SSH_AUTH_SOCK.
# Each section asserts what the user sees when the card is pulled and put
# back, swapped, given wrong PINs, runs out of tries, has a PIN pad,
# demands a PIN per signature, or returns a corrupted signature.  PIN
# prompts and C_Login calls are counted (askpass script, state file).

. "$(dirname "$0")/lib.sh"

tk_fault_setup
plan 69

# (the first card line only names the card; changing it re-inserts)
tk_fault_ctl "card 1"
tk_agent_start one -P "$FAULT_ALLOW" "$ONE_URI" ||
    bail "the agent does not start"
A=$T/one
export SSH_AUTH_SOCK=$A.sock

SSH_AUTH_SOCK=$A.sock ssh-add -L >"$T/one.pub" 2>/dev/null
is "$(grep -c "object=ec256" "$T/one.pub")" 1 \
    "the agent serves the key behind the fault module"

# sign: ssh-add -T through the agent, timed ($rc, $ms).
sign() { tk_timed ssh-add -T "$T/one.pub"; }

# card DIRECTIVE...: the card is pulled and put back (or another card goes
# in), with these faults: every login is gone.
card=1
card() {
	card=$((card + 1))
	tk_fault_ctl "card $card" "$@"
}

# listed [PATTERN]: the agent lists the key (and PATTERN); waits up to
# 12 s for its refresh.  unlisted: it does not.  Both set $ms, how long
# that took.
listed() { tk_agent_wait_listed 12000 "object=ec256" "${1:-.}"; }
unlisted() { tk_agent_wait_unlisted 12000 "object=ec256"; }

# (the agent asks the module which cards it holds every second and lists
# a module again at once when that changed: a card pulled or put back is
# followed within ~1 s; 3 s is the bound on a loaded machine)
FOLLOW_MS=3000

sign
check "a first signature works (rc $rc)" test "$rc" = 0
is "$(tk_pin_prompts)" 1 "...after one PIN prompt"

# ------------------------------------------------------------ removal
tk_fault_ctl "card 1" absent
tk_quickest ssh-add -T "$T/one.pub"
check "card pulled: the signature fails" test "$rc" != 0
check "...fast (${ms} ms < 1000)" test "$ms" -lt 1000
# (the agent may have followed the pull before the request came: then
# the key is no longer served)
check "...and the log says the token is not present, or the key not served" \
    grep -q -E "failed: the token is not present|key is not served by" \
    "$A.log"
tk_quickest ssh-add -l
check "ssh-add -l still answers (rc $rc, ${ms} ms)" \
    test "$rc" -le 1 -a "$ms" -lt 1000
tk_agent_wait_unlisted $FOLLOW_MS "object=ec256"
check "the pulled card's key leaves the list at once (${ms} ms < $FOLLOW_MS)" \
    test "$rc" = 0

# ------------------------------------------------------------ re-insert
: >"$T/pin.count"
logins=$(tk_fault_count C_Login)
tk_fault_ctl "card 1"
# (ssh and ssh-keygen only use keys the agent lists: the listing must
# follow the card before the user's next command)
tk_agent_wait_listed $FOLLOW_MS "object=ec256" .
check "card put back: its key is listed again at once (${ms} ms < $FOLLOW_MS)" \
    test "$rc" = 0
echo "a message" >"$T/msg"
rm -f "$T/msg.sig"
tk_timed ssh-keygen -Y sign -f "$T/one.pub" -n tktest "$T/msg"
check "the next signature (ssh-keygen -Y sign) works without ssh-add (rc $rc)" \
    test "$rc" = 0 -a -s "$T/msg.sig"
(printf 'me '; awk '{ print $1, $2 }' "$T/one.pub") >"$T/allowed"
check "...and ssh-keygen -Y verify accepts it" sh -c \
    "ssh-keygen -Y verify -f '$T/allowed' -I me -n tktest \
    -s '$T/msg.sig' <'$T/msg' >/dev/null 2>&1"
is "$(tk_pin_prompts)" 1 "...after exactly one PIN prompt"
is "$(( $(tk_fault_count C_Login) - logins ))" 1 "...and one C_Login"
sign
is "$rc:$(tk_pin_prompts)" 0:1 "the signature after that asks nothing"

# ------------------------------------------------- one stale session
# A session handle the module calls invalid while the card stays in and
# logged in: that session goes, the login stays (no PIN prompt), and the
# key's handle is looked up again.
for f in "C_Sign CKR_SESSION_HANDLE_INVALID" \
    "C_SignInit CKR_SESSION_HANDLE_INVALID" \
    "C_Sign CKR_SESSION_CLOSED"; do
	logins=$(tk_fault_count C_Login)
	finds=$(tk_fault_count C_FindObjectsInit)
	tk_fault_ctl "card 1" "fail $f 1"
	sign
	is "$rc:$(tk_pin_prompts)" 0:1 \
	    "${f#* } from ${f%% *}: the signature works without a PIN prompt"
	is "$(( $(tk_fault_count C_Login) - logins ))" 0 "...and without a C_Login"
	check "...on a key handle looked up again" \
	    test "$(tk_fault_count C_FindObjectsInit)" -gt "$finds"
done
tk_fault_ctl "card 1"

# ------------------------------------------ a listing that loses its session
# The first listing after a card comes back can lose its session under it
# (a module that drops every session when it sees the card back): that
# token is walked again, not listed without its key until the next walk.
tk_fault_ctl "card 1" absent
tk_agent_wait_unlisted 12000 "object=ec256"
finds=$(tk_fault_count C_FindObjectsInit)
lines=$(wc -l <"$A.log")
tk_fault_ctl "card 1" "fail C_FindObjectsInit CKR_SESSION_HANDLE_INVALID 1"
tk_agent_wait_listed $FOLLOW_MS "object=ec256" .
check "session lost under the listing: the key is listed at once (${ms} ms)" \
    test "$rc" = 0
check "...after a second walk of the token" \
    test "$(( $(tk_fault_count C_FindObjectsInit) - finds ))" -ge 2
check "...with nothing in the log about objects it could not list" \
    sh -c "! tail -n +$((lines + 1)) '$A.log' | grep -q 'cannot list'"
tk_fault_ctl "card 1"
: >"$T/pin.count"
sign
is "$rc:$(tk_pin_prompts)" 0:1 "...and it signs after one PIN prompt"

# A remove and re-insert between two signatures (no client looking).
card
sign
is "$rc:$(tk_pin_prompts)" 0:2 \
    "re-inserted while idle: the next signature asks once and works"

# ------------------------------------------------------------ another card
: >"$T/prompts"
logins=$(tk_fault_count C_Login)
card "serial OTHERCARD0000001"
sign
check "another card in the slot (same key): the signature works (rc $rc)" \
    test "$rc" = 0
is "$(tk_pin_prompts)" 3 "...only after a PIN prompt: no old login carried over"
is "$(( $(tk_fault_count C_Login) - logins ))" 1 "...one C_Login"
check "...and the prompt names the new card's serial" \
    grep -q "serial OTHERCARD0000001" "$T/prompts"

# ------------------------------------------------------------ wrong PIN
echo 9999 >"$T/agent.pin"
: >"$T/pin.count"; : >"$T/prompts"
card "pin_tries 3"
# (the old card again: prompts remember wrong PINs per card)
check "the first card is back in the list" listed "serial=$ONE_SERIAL"
logins=$(tk_fault_count C_Login)
sign
check "wrong PIN: the signature fails" test "$rc" != 0
is "$(tk_pin_prompts)" 1 "...after one prompt"
is "$(( $(tk_fault_count C_Login) - logins ))" 1 "...and exactly one C_Login"
sleep 1
is "$(( $(tk_fault_count C_Login) - logins ))" 1 "...and no retry after it"
is "$(tk_fault_pins_left)" 2 "...which cost one try on the card"
check "...the log says so" grep -q "login failed: incorrect PIN" "$A.log"

sign
is "$rc:$(tk_pin_prompts)" 1:2 \
    "the next signature asks again (and fails again with a wrong PIN)"
check "...its prompt says the last PIN was wrong" \
    grep -q "last PIN entered was wrong" "$T/prompts"
check "...and warns that few tries are left (COUNT_LOW)" \
    grep -q "few PIN tries are left" "$T/prompts"
is "$(tk_fault_pins_left)" 1 "one try is left now"

# ------------------------------------------------------------ final try
echo no >"$T/answer"
: >"$T/prompts"
logins=$(tk_fault_count C_Login)
sign
check "final try, not confirmed: the signature fails" test "$rc" != 0
is "$(tk_confirm_prompts):$(tk_pin_prompts)" 1:2 \
    "...after a confirmation prompt and no PIN prompt"
check "...which says that a wrong PIN locks the card" \
    grep -q "ONE PIN try left" "$T/prompts"
is "$(( $(tk_fault_count C_Login) - logins ))" 0 "...and no C_Login"
is "$(tk_fault_pins_left)" 1 "...so the last try is kept"

echo yes >"$T/answer"
echo 1234 >"$T/agent.pin"
: >"$T/prompts"
sign
check "final try, confirmed, right PIN: the signature works (rc $rc)" \
    test "$rc" = 0
is "$(tk_confirm_prompts):$(tk_pin_prompts)" 2:3 \
    "...after a confirmation and one PIN prompt"
check "...the PIN prompt says it is the last try" \
    grep -q "LAST try before the PIN locks" "$T/prompts"
is "$(tk_fault_pins_left)" 3 "...and the good PIN refilled the counter"

# ------------------------------------------------------------ locked
echo 9999 >"$T/agent.pin"
card "pin_tries 1"
sign
check "one try left, confirmed, wrong PIN: the signature fails" \
    test "$rc" != 0
is "$(tk_fault_pins_left)" 0 "...and the card is locked"
: >"$T/pin.count"; : >"$T/confirm.count"
logins=$(tk_fault_count C_Login)
sign
check "locked: the signature fails" test "$rc" != 0
is "$(tk_pin_prompts):$(tk_confirm_prompts)" 0:0 "...without any prompt"
is "$(( $(tk_fault_count C_Login) - logins ))" 0 "...and without a C_Login"
check "...and the log says how to unlock it" \
    grep -q "locked.*Unlock it with the SO PIN or PUK" "$A.log"

# ------------------------------------------------------------ PIN pad
echo 9999 >"$T/agent.pin"
: >"$T/pin.count"
card protected_auth "pin 1234"
logins=$(tk_fault_count C_Login)
sign
check "PIN pad: the signature works (rc $rc)" test "$rc" = 0
is "$(tk_pin_prompts)" 0 "...without a PIN prompt"
is "$(( $(tk_fault_count C_Login) - logins ))" 1 \
    "...after one C_Login (a NULL PIN: the prompt's wrong PIN was not sent)"
check "...and the log says to use the keypad" \
    grep -q "use the reader's keypad" "$A.log"

# ------------------------------------------------- always authenticate
echo 1234 >"$T/agent.pin"
: >"$T/pin.count"; : >"$T/prompts"
card always_auth
okc=0
for i in 1 2 3; do
	sign
	[ "$rc" = 0 ] && okc=$((okc + 1))
done
is "$okc" 3 "CKA_ALWAYS_AUTHENTICATE: three signatures work"
is "$(tk_pin_prompts)" 3 "...with one PIN prompt each"
check "...the later prompts say the PIN is asked for every use" \
    grep -q "asked for every use of this key" "$T/prompts"

# ------------------------------------------------------- corrupted signature
# (a new card: a key does not lose CKA_ALWAYS_AUTHENTICATE in place)
card corrupt_sig
rm -f "$T/msg.sig"
tk_timed ssh-keygen -Y sign -f "$T/one.pub" -n tktest "$T/msg"
check "corrupted signature: ssh-keygen -Y sign fails (rc $rc)" \
    test "$rc" != 0 -a ! -e "$T/msg.sig"
sign
check "...so does ssh-add -T: the bad signature never reaches the client" \
    test "$rc" != 0
check "...and the log says it did not verify" \
    grep -q "signature verification failed" "$A.log"
tk_fault_ctl "card $card"
sign
check "without the fault, signing works again (rc $rc)" test "$rc" = 0

[ "$tk_failed" = 0 ] || diag "the agent's log ends:" "$(tail -${TK_LOGLINES:-20} "$A.log")"
kill "$TK_AGENT_PID" 2>/dev/null
wait "$TK_AGENT_PID" 2>/dev/null
done_testing
