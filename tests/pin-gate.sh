#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# What a user notices of the PIN gate and of token strings in prompts:
#  - tokenkeys list --login with a pin-source never spends a token's last
#    PIN try (no C_Login at all), says what to do and fails for that
#    token;
#  - a token whose serial, label and key label carry escape sequences
#    (colour, an OSC window title) cannot put a control byte into the
#    agent's askpass argv or its -d log: they arrive as \xNN text.
# Through the fault module (tests/faultmod/) in front of SoftHSM.

. "$(dirname "$0")/lib.sh"

tk_fault_setup
plan 13

# ------------------------------------------------- list --login, final try
printf '1234\n' >"$T/pin"
chmod 600 "$T/pin"

tk_fault_ctl "pin_tries 1"
logins=$(tk_fault_count C_Login)
"$TOKENKEYS" list --login "$ONE_URI&pin-source=file:$T/pin" \
    </dev/null >"$T/list.out" 2>"$T/list.err"
rc=$?
is "$(( $(tk_fault_count C_Login) - logins ))" 0 \
    "list --login, pin-source, final try: no C_Login"
is "$(tk_fault_pins_left)" 1 "...so the last try is kept"
check "...and list fails (rc $rc)" test "$rc" != 0
is "$(grep -c "try left" "$T/list.err")" 1 \
    "...saying so in one line on stderr" || diag "$(cat "$T/list.err")"
check "...which says how to log in instead" \
    grep -q "one PIN try left.*log in once by typing the PIN.*tokenkeys list --login without pin-source" \
    "$T/list.err"
check "...and names no PIN" sh -c '! grep -q 1234 "$1"' sh "$T/list.err"

# (with tries to spare, the same pin-source logs in: the gate only holds
# back the last try)
tk_fault_ctl "pin_tries 3"
logins=$(tk_fault_count C_Login)
"$TOKENKEYS" list --login "$ONE_URI&pin-source=file:$T/pin" \
    </dev/null >"$T/list.out" 2>"$T/list.err"
rc=$?
is "$rc:$(( $(tk_fault_count C_Login) - logins ))" 0:1 \
    "with tries to spare the pin-source PIN logs in once" ||
    diag "$(cat "$T/list.err")"

# ------------------------------------------------- hostile token strings
# ESC [31m (colour), an OSC title (ESC ] 0;X BEL) and a bare BEL
tk_fault_ctl "card 1" 'serial "\e[31mRD42\e]0;X\x07"' \
    'token_label "evil\e]0;pwned\x07one\e[2J"' \
    'attr ec256 label "key\e[31mred\x07"'
printf '1234\n' >"$T/pin"
: >"$T/argv"
TK_TEST_DIR=$T SSH_ASKPASS=$TK_TESTDIR/fixtures/askpass-argv.sh \
    SSH_ASKPASS_REQUIRE=force DISPLAY= \
    "$TOKENKEYS" agent -D -d -a "$T/h.sock" -P "$FAULT_ALLOW" \
    "pkcs11:?module-path=$FAULTMOD_RP" </dev/null >"$T/h.out" 2>"$T/h.log" &
TK_AGENT_PID=$!
tk_at_exit "kill $TK_AGENT_PID 2>/dev/null"
tk_agent_ready h "$T/h.sock" 100 "$TK_AGENT_PID" || bail "no agent"
export SSH_AUTH_SOCK=$T/h.sock
ssh-add -L 2>/dev/null | grep "RD42" >"$T/h.pub"
is "$(grep -c . "$T/h.pub")" 1 "the agent serves the hostile token's key"
tk_timed ssh-add -T "$T/h.pub"
check "a signature with it works after a PIN prompt (rc $rc)" \
    test "$rc" = 0 -a -s "$T/argv"
# (NUL separates the arguments; newlines belong to the prompt's layout)
check "no control byte reaches askpass's argv" \
    sh -c '! LC_ALL=C tr -d "\\000\\n" <"$1" | LC_ALL=C grep -q "[[:cntrl:]]"' \
    sh "$T/argv" || diag "$(od -c "$T/argv" | head -20)"
check "...while the readable serial and label do, escaped" \
    grep -qa 'evil\\x1b]0;pwned\\x07one\\x1b\[2J.*(serial \\x1b\[31mRD42\\x1b]0;X\\x07)' \
    "$T/argv"
check "no control byte reaches the agent's log" \
    sh -c '! LC_ALL=C tr -d "\\n" <"$1" | LC_ALL=C grep -q "[[:cntrl:]]"' \
    sh "$T/h.log" || diag "$(grep -a "$(printf '\033')" "$T/h.log" | od -c | head -20)"
check "...which names the token by its escaped label" \
    grep -qa 'evil\\x1b]0;pwned' "$T/h.log"
tk_agent_stop "$TK_AGENT_PID"

done_testing
