/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Token strings are chosen by whoever made the token.  Before one reaches
 * a terminal, a log or a JSON document, control characters (C0, DEL, C1)
 * and malformed UTF-8 are replaced by \xNN escapes, so no escape sequence
 * passes through raw.  Well-formed printable UTF-8 is kept.
 */
#include <string.h>

#include "tokenkeys.h"

/* Length of the well-formed, printable UTF-8 sequence at s, or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned int	cp;
	size_t		n, i;

	if (s[0] >= 0x20 && s[0] < 0x7f)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, C1 controls, beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
	    (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
}

int
tk_str_sanitize(const char *str, char *buf, size_t bufsz)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 o = 0, n;
	int			 r = 0;

	if (bufsz == 0)
		return TK_ERR_RANGE;
	while (*s != '\0') {
		n = utf8_len(s);
		if (n > 0) {
			if (o + n >= bufsz) {
				r = TK_ERR_RANGE;
				break;
			}
			memcpy(buf + o, s, n);
			o += n;
			s += n;
			continue;
		}
		if (o + 4 >= bufsz) {
			r = TK_ERR_RANGE;
			break;
		}
		buf[o++] = '\\';
		buf[o++] = 'x';
		buf[o++] = "0123456789abcdef"[*s >> 4];
		buf[o++] = "0123456789abcdef"[*s & 15];
		s++;
	}
	buf[o] = '\0';
	return r;
}
