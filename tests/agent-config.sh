#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tokenkeys agent --config FILE with hostile lines (src/cli/cli-urifile.c):
# a URI with an escape sequence, with a NUL inside, or with a byte over
# 0x7e is refused with exit 2 and one line naming the file and line,
# before the agent starts (it would otherwise serve, and log, whatever
# the line became); the escape never reaches stderr raw.

. "$(dirname "$0")/lib.sh"

[ -x "$TOKENKEYS" ] || skip_all "tokenkeys binary $TOKENKEYS not built"
plan 7

tk_tmpdir

# conf NAME PRINTF-FORMAT: a config file only we may write.
conf() {
	printf "$2" >"$T/$1.conf"
	chmod 600 "$T/$1.conf"
}
# agent NAME: the agent in the foreground, stopped after 10 s if it
# starts after all ($rc 124 then).
agent() {
	tk_run timeout 10 "$TOKENKEYS" agent -D -a "$T/$1.sock" \
	    --config "$T/$1.conf"
}

conf esc '# keys\npkcs11:token=a\033[31mred\n'
agent esc
check "an escape sequence in a URI line: exit 2 (rc $rc)" test "$rc" = 2
check "...one line naming the file and line 2" \
    test "$(grep -c "esc.conf:2: not a pkcs11: URI" "$T/err")" = 1
check "...and no escape byte on stderr" \
    test "$(LC_ALL=C tr -cd '\033' <"$T/err" | wc -c)" = 0

conf nul 'pkcs11:token=a\000pkcs11:token=b\n'
agent nul
check "a NUL inside a URI line: exit 2 (rc $rc)" test "$rc" = 2
check "...saying so for line 1" \
    test "$(grep -c "nul.conf:1: not a pkcs11: URI" "$T/err")" = 1

conf high 'pkcs11:token=caf\303\251\n'
agent high
check "a raw UTF-8 byte in a URI line: exit 2 (rc $rc)" test "$rc" = 2
check "...saying what to write instead (percent-encode)" \
    grep -q "printable ASCII without blanks: percent-encode" "$T/err"

done_testing
