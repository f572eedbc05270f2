#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys agent follows cards without polling them: the real agent, the
# fault module (tests/faultmod/) in front of a throwaway SoftHSM token.
# An idle agent asks the token nothing (the helper sleeps in
# C_WaitForSlotEvent, which the fault module answers when its control
# file pulls or puts back the card) and writes nothing to its debug log;
# a module without slot events is looked at every 600 ms, cheaply
# (which tokens are there, no objects), and its keys listed again only
# when that changed; a helper that dies while idle is started again; keys
# made on a token that stayed in are found when a client asks.  Calls
# into the module are counted by the fault module's state file.

. "$(dirname "$0")/lib.sh"

tk_fault_setup
plan 17

NOEV="fail C_WaitForSlotEvent CKR_FUNCTION_NOT_SUPPORTED always"
IDLE=7

# counts: remember the module's call counts and the log's length.
counts() {
	slots=$(tk_fault_count C_GetSlotList)
	finds=$(tk_fault_count C_FindObjectsInit)
	lines=$(wc -l <"$A.log")
}
dslots() { echo $(( $(tk_fault_count C_GetSlotList) - slots )); }
dfinds() { echo $(( $(tk_fault_count C_FindObjectsInit) - finds )); }
newlog() { tail -n +$((lines + 1)) "$A.log"; }

# ------------------------------------------------ slot events: asleep
tk_fault_ctl "card 1"
tk_agent_start one -P "$FAULT_ALLOW" "$ONE_URI" ||
    bail "the agent does not start"
A=$T/one
export SSH_AUTH_SOCK=$A.sock
tk_agent_wait_listed 5000 "object=ec256"
is "$rc" 0 "the agent serves the key behind the fault module"
sleep 1
counts
sleep $IDLE
is "$(dslots)" 0 \
    "idle for $IDLE s: the agent did not ask which tokens are there"
is "$(dfinds)" 0 "...nor listed the token's keys again"
is "$(newlog | wc -l)" 0 "...nor wrote to its debug log"

tk_fault_ctl "card 1" absent
tk_agent_wait_unlisted 3000 "object=ec256"
check "card pulled: its key leaves the list (${ms} ms)" test "$rc" = 0
tk_fault_ctl "card 1"
tk_agent_wait_listed 3000 "object=ec256"
check "card put back: its key is listed again (${ms} ms)" test "$rc" = 0

# ------------------------------------------- keys made while it stayed in
pkcs11-tool --module "$TK_MODULE" --token-label "tk one" -l --pin 1234 \
    --keypairgen --key-type EC:prime256v1 --id 09 --label ec-new \
    >/dev/null 2>&1 || bail "cannot make a key"
tk_agent_wait_listed 25000 "object=ec-new"
check "a key made on the token shows when a client asks again (${ms} ms)" \
    test "$rc" = 0
tk_agent_stop "$TK_AGENT_PID"

# ------------------------------------- no slot events: looked at, slowly
tk_fault_ctl "card 1" "$NOEV"
tk_agent_start two -P "$FAULT_ALLOW" "$ONE_URI" ||
    bail "the agent does not start"
A=$T/two
export SSH_AUTH_SOCK=$A.sock
tk_agent_wait_listed 5000 "object=ec256"
sleep 1
counts
sleep $IDLE
n=$(dslots)
msg="no slot events: idle $IDLE s, the module is asked which tokens"
# a look every 600 ms, two C_GetSlotList each (count, then list): 24
check "$msg it holds a few times ($n C_GetSlotList)" \
    test "$n" -ge 1 -a "$n" -le 30
is "$(dfinds)" 0 "...and the keys are not listed again"
is "$(newlog | wc -l)" 0 "...and the debug log says nothing"

tk_fault_ctl "card 1" absent "$NOEV"
tk_agent_wait_unlisted 10000 "object=ec256"
check "card pulled: its key leaves the list at the next look (${ms} ms)" \
    test "$rc" = 0
tk_fault_ctl "card 1" "$NOEV"
tk_agent_wait_listed 10000 "object=ec256"
check "card put back: its key is listed again at the next look (${ms} ms)" \
    test "$rc" = 0

# A module that cannot tell which tokens it holds: no log line per look.
counts
tk_fault_ctl "card 1" "$NOEV" "fail C_GetSlotList CKR_DEVICE_ERROR always"
sleep $IDLE
n=$(newlog | grep -c "cannot tell which tokens")
check "a module whose slot list fails: said at most once in $IDLE s ($n)" \
    test "$n" -le 1
tk_fault_ctl "card 1" "$NOEV"

# ---------------------------------------------- the helper dies idle
helper=$(tk_agent_helper "__helper $FAULTMOD_RP")
check "the module has its helper ($helper)" test -n "$helper"
kill -KILL "$helper"
new=
for i in $(seq 100); do
	new=$(tk_agent_helper "__helper $FAULTMOD_RP")
	[ -n "$new" ] && [ "$new" != "$helper" ] && break
	sleep 0.1
done
check "a helper killed while idle is started again ($helper -> $new)" \
    test -n "$new" -a "$new" != "$helper"
tk_fault_ctl "card 1" absent "$NOEV"
tk_agent_wait_unlisted 10000 "object=ec256"
check "...and follows the card: pulled, its key leaves the list (${ms} ms)" \
    test "$rc" = 0
tk_fault_ctl "card 1" "$NOEV"
tk_agent_wait_listed 10000 "object=ec256"
check "...put back, it is listed again (${ms} ms)" test "$rc" = 0
tk_agent_stop "$TK_AGENT_PID"
done_testing
