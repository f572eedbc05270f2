/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Token strings on the terminal: escapes never pass raw, UTF-8 does.
 */
#include <string.h>

#include "tokenkeys.h"
#include "tap.h"

int
main(void)
{
	char	buf[64];

	tk_str_sanitize("plain label", buf, sizeof(buf));
	is_str(buf, "plain label", "ASCII kept");
	tk_str_sanitize("cl\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91", buf,
	    sizeof(buf));
	is_str(buf, "cl\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91",
	    "UTF-8 kept");
	tk_str_sanitize("\x1b]0;pwned\x07x", buf, sizeof(buf));
	is_str(buf, "\\x1b]0;pwned\\x07x", "ESC and BEL escaped");
	tk_str_sanitize("a\nb\rc\x7f", buf, sizeof(buf));
	is_str(buf, "a\\x0ab\\x0dc\\x7f", "newline, CR, DEL escaped");
	tk_str_sanitize("\xc2\x9b" "31m", buf, sizeof(buf));
	is_str(buf, "\\xc2\\x9b31m", "C1 CSI escaped");
	tk_str_sanitize("\xc0\xaf\xed\xa0\x80\xff", buf, sizeof(buf));
	is_str(buf, "\\xc0\\xaf\\xed\\xa0\\x80\\xff",
	    "overlong, surrogate and invalid bytes escaped");
	tk_str_sanitize("\xe2\x82", buf, sizeof(buf));
	is_str(buf, "\\xe2\\x82", "truncated sequence escaped");
	is_int(tk_str_sanitize("0123456789", buf, 8), TK_ERR_RANGE,
	    "too long reported");
	is_str(buf, "0123456", "and cut, NUL-terminated");
	is_int(tk_str_sanitize("\x1b\x1b", buf, 6), TK_ERR_RANGE,
	    "no half escape");
	is_str(buf, "\\x1b", "only whole escapes written");
	return tap_done();
}
