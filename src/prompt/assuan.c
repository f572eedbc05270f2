/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Assuan line codec: see assuan.h.
 */
#ifndef _GNU_SOURCE	/* config.h (AC_USE_SYSTEM_EXTENSIONS) sets it */
#define _GNU_SOURCE	/* explicit_bzero */
#endif

#include <string.h>

#include "tokenkeys.h"
#include "prompt/assuan.h"

/* The value of hex digit c, -1 if it is none. */
static int
hexval(int c)
{
	int v = -1;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	return v;
}

/* line starts with verb, followed by the end or a space. */
static int
is_verb(const char *line, size_t len, const char *verb)
{
	size_t vl = strlen(verb);

	return len >= vl && memcmp(line, verb, vl) == 0 &&
	    (len == vl || line[vl] == ' ');
}

int
tk_assuan_parse_pin(const char *line, size_t len, char *pin, size_t pinsz,
    size_t *pinlen)
{
	size_t i, o;
	int c, hi, lo, r;

	o = 0;
	if (line == NULL || pinlen == NULL) {
		r = TK_ERR_INVAL;
		goto out;
	}
	if (len >= TK_ASSUAN_LINE_MAX || memchr(line, '\0', len) != NULL) {
		r = TK_ERR_FORMAT;
		goto out;
	}
	if (len > 0 && line[0] == '#') {
		r = TK_ASSUAN_MORE;
		goto out;
	}
	if (is_verb(line, len, "OK")) {
		r = 0;
		goto out;
	}
	if (is_verb(line, len, "ERR")) {
		r = TK_ERR_CANCELLED;
		goto out;
	}
	if (is_verb(line, len, "S")) {
		r = TK_ASSUAN_MORE;
		goto out;
	}
	if (len < 2 || line[0] != 'D' || line[1] != ' ' || pin == NULL ||
	    pinsz == 0 || *pinlen >= pinsz) {
		r = TK_ERR_FORMAT;
		goto out;
	}
	o = *pinlen;
	for (i = 2; i < len; i++) {
		c = (unsigned char)line[i];
		if (c == '\r') {
			/* Must have been escaped: a sender we do not trust. */
			r = TK_ERR_FORMAT;
			goto out;
		}
		if (c == '%') {
			if (len - i < 3 ||
			    (hi = hexval((unsigned char)line[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)line[i + 2])) < 0 ||
			    (c = hi << 4 | lo) == 0) {
				/* A NUL would silently shorten the PIN. */
				r = TK_ERR_FORMAT;
				goto out;
			}
			i += 2;
		}
		if (o >= pinsz - 1) {
			r = TK_ERR_RANGE;
			goto out;
		}
		pin[o++] = (char)c;
	}
	pin[o] = '\0';
	*pinlen = o;
	r = TK_ASSUAN_MORE;
 out:
	if (r < 0) {
		if (pin != NULL && pinsz > 0)
			explicit_bzero(pin, pinsz);
		if (pinlen != NULL)
			*pinlen = 0;
	}
	return r;
}

size_t
tk_assuan_escape(const char *s, char *buf, size_t bufsz)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)s;
	size_t i, o, need;

	o = 0;
	if (bufsz == 0)
		goto out;
	for (i = 0; u[i] != '\0'; i++) {
		need = (u[i] < 0x20 || u[i] == 0x7f || u[i] == '%') ? 3 : 1;
		if (o + need > bufsz - 1)
			break;
		if (need == 3) {
			buf[o++] = '%';
			buf[o++] = hex[u[i] >> 4];
			buf[o++] = hex[u[i] & 0x0f];
		} else
			buf[o++] = (char)u[i];
	}
	/* Cut short inside a UTF-8 sequence: drop its start too. */
	if (u[i] != '\0' && (u[i] & 0xc0) == 0x80) {
		while (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
			o--;
		if (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0xc0)
			o--;
	}
	buf[o] = '\0';
 out:
	return o;
}

