#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys agent under a misbehaving module: slow, hung and crashing
# C_Sign, corrupted module state (device errors, lost initialisation) and
# stale sessions and handles.  The real agent serves two tokens: "tk one"
# through the fault module and "tk two" through SoftHSM itself (its own
# helper), and the stock ssh-add signs through SSH_AUTH_SOCK.  The agent
# must stay responsive, keep the other token working, restart helpers and
# re-initialise modules (with backoff), and sign again afterwards.

. "$(dirname "$0")/lib.sh"

tk_fault_setup
plan 36

TWO_SERIAL=$(tk_token_new "tk two" 1234 12345678) ||
    bail "cannot create a second token"
tk_keygen "$TWO_SERIAL" 1234 EC:prime256v1 03 two256 ||
    bail "cannot make a key"
TWO_URI="pkcs11:token=tk%20two?module-path=$TK_MODULE"

tk_agent_start one -P "$FAULT_ALLOW" "$ONE_URI" "$TWO_URI" ||
    bail "the agent does not start"
A=$T/one
export SSH_AUTH_SOCK=$A.sock
ssh-add -L </dev/null >"$T/all.pub" 2>/dev/null
grep "object=ec256" "$T/all.pub" >"$T/one.pub"
grep "object=two256" "$T/all.pub" >"$T/two.pub"
check "the agent serves a key on each token" \
    test -s "$T/one.pub" -a -s "$T/two.pub"

sign() { tk_timed ssh-add -T "$T/$1.pub"; }

# bg_sign NAME: ssh-add -T one.pub in the background; bg_wait gives
# $rc and $ms.
bg_sign() {
	(
		t0=$(tk_now_ms)
		ssh-add -T "$T/one.pub" </dev/null >/dev/null 2>&1
		echo "$? $(( $(tk_now_ms) - t0 ))" >"$T/bg.res"
	) &
	bg=$!
}
bg_wait() {
	wait "$bg"
	read -r rc ms <"$T/bg.res"
}

sign one
check "signing on token one works (rc $rc)" test "$rc" = 0
sign two
check "signing on token two works (rc $rc)" test "$rc" = 0
is "$(tk_pin_prompts)" 2 "...one PIN prompt for each token"
helper=$(tk_agent_helper "__helper $FAULTMOD_RP")
check "token one has its helper process ($helper)" test -n "$helper"

# ------------------------------------------------------------ slow token
tk_fault_ctl "delay C_Sign 4000"
bg_sign
sleep 0.5
tk_quickest ssh-add -l
check "slow token: ssh-add -l answers meanwhile (${ms} ms < 200)" \
    test "$rc" = 0 -a "$ms" -lt 200
sign two
check "...a signature on the other token is not delayed (${ms} ms < 1000)" \
    test "$rc" = 0 -a "$ms" -lt 1000
bg_wait
check "...and the slow signature arrives (rc $rc, ${ms} ms >= 3500)" \
    test "$rc" = 0 -a "$ms" -ge 3500

# ------------------------------------------------------------ hang
tk_fault_ctl "hang C_Sign"
bg_sign
sleep 0.5
tk_quickest ssh-add -l
check "hung token: ssh-add -l answers meanwhile (${ms} ms < 200)" \
    test "$rc" = 0 -a "$ms" -lt 200
sign two
check "...the other token signs (rc $rc, ${ms} ms)" \
    test "$rc" = 0 -a "$ms" -lt 1000
bg_wait
check "...the hung signature fails (rc $rc)" test "$rc" != 0
check "...at the agent's deadline of 30 s (${ms} ms)" \
    test "$ms" -ge 29000 -a "$ms" -lt 45000
check "...with a log line saying why" \
    grep -q "the token did not answer in time" "$A.log"
kill -0 "$TK_AGENT_PID"
check "the agent lives on" test $? = 0
tk_fault_ctl ""
: >"$T/pin.count"
sign one
check "signing works again (rc $rc)" test "$rc" = 0
is "$(tk_pin_prompts)" 1 "...after a new PIN prompt (a new module, no login)"
new=$(tk_agent_helper "__helper $FAULTMOD_RP")
check "...in a new helper process ($helper -> $new)" \
    test -n "$new" -a "$new" != "$helper"
helper=$new

# ------------------------------------------------------------ crash
tk_fault_ctl "crash C_Sign"
sign one
check "crash in C_Sign: the signature fails (rc $rc)" test "$rc" != 0
check "...quickly (${ms} ms < 5000)" test "$ms" -lt 5000
kill -0 "$TK_AGENT_PID"
check "...the agent lives" test $? = 0
tk_timed ssh-add -l
check "...and answers (rc $rc)" test "$rc" = 0
tk_fault_ctl ""
: >"$T/pin.count"
sign one
check "the next signature works (rc $rc)" test "$rc" = 0
is "$(tk_pin_prompts)" 1 "...after a new PIN prompt"
new=$(tk_agent_helper "__helper $FAULTMOD_RP")
check "...in a restarted helper ($helper -> $new)" \
    test -n "$new" -a "$new" != "$helper"

# ------------------------------------------------------------ device errors
# until_init: the module fails until it is initialised again.
for ckr in CKR_DEVICE_ERROR CKR_CRYPTOKI_NOT_INITIALIZED; do
	inits=$(tk_fault_count C_Initialize)
	: >"$T/pin.count"
	tk_fault_ctl "fail C_Sign $ckr until_init"
	sign one
	check "$ckr until re-initialised: the signature works (rc $rc)" \
	    test "$rc" = 0
	check "...because the module was initialised again" \
	    test "$(tk_fault_count C_Initialize)" -gt "$inits"
	is "$(tk_pin_prompts)" 1 "...after one PIN prompt (the login was lost)"
done

# A module that keeps failing is restarted with backoff, not per request.
inits=$(tk_fault_count C_Initialize)
tk_fault_ctl "fail C_Sign CKR_DEVICE_ERROR always"
fails=0
for i in 1 2 3 4 5 6; do
	sign one
	[ "$rc" != 0 ] && fails=$((fails + 1))
done
is "$fails" 6 "a module that keeps failing: six signatures fail"
n=$(( $(tk_fault_count C_Initialize) - inits ))
check "...with one re-initialisation, not six (backoff; $n C_Initialize)" \
    test "$n" -ge 1 -a "$n" -le 2
tk_fault_ctl ""
sleep 2.5
: >"$T/pin.count"
sign one
check "once the device recovers, signing resumes (rc $rc)" test "$rc" = 0

# ------------------------------------------------- stale sessions, handles
for f in "C_Sign CKR_SESSION_HANDLE_INVALID" \
    "C_SignInit CKR_KEY_HANDLE_INVALID" \
    "C_SignInit CKR_OBJECT_HANDLE_INVALID"; do
	finds=$(tk_fault_count C_FindObjectsInit)
	tk_fault_ctl "fail $f 1"
	sign one
	check "${f#* } from ${f%% *}: the signature works (rc $rc)" \
	    test "$rc" = 0 -a \
	    "$(tk_fault_count C_FindObjectsInit)" -gt "$finds"
done

[ "$tk_failed" = 0 ] || diag "the agent's log ends:" "$(tail -20 "$A.log")"
kill "$TK_AGENT_PID" 2>/dev/null
wait "$TK_AGENT_PID" 2>/dev/null
done_testing
