/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pinentry's replies.  pinentry is a program found in $PATH and may be
 * anything; what it writes decides what we send to the token as a PIN.
 * Input: byte cfg (bits 0-6: PIN buffer size, 127 meaning TK_PIN_MAX; bit
 * 7: no data expected), byte escsz (tk_assuan_escape buffer size), then
 * reply lines separated by LF, fed in order as prompt.c does until one
 * ends the reply.
 * Checked: the PIN is exactly the percent-decoded D lines (decoded here
 * independently), always NUL-terminated inside its buffer, and wiped on
 * error; and what tk_assuan_escape writes decodes back to its input.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "fuzz.h"
#include "prompt/assuan.h"
#include "prompt/prompt.h"

static int
hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Append the data of an accepted D line to the model PIN. */
static void
model_data(const char *line, size_t len, char *model, size_t *mlen)
{
	size_t	i;

	for (i = 2; i < len; i++) {
		if (line[i] == '%') {
			if (len - i < 3 || hex(line[i + 1]) < 0 ||
			    hex(line[i + 2]) < 0)
				abort();	/* accepted a bad escape */
			model[(*mlen)++] = (char)(hex(line[i + 1]) << 4 |
			    hex(line[i + 2]));
			i += 2;
		} else
			model[(*mlen)++] = line[i];
	}
}

static int
all_zero(const char *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static void
replies(const uint8_t *p, size_t n, char *pin, size_t pinsz)
{
	char		*line, *model;
	const uint8_t	*nl;
	size_t		 len, pinlen = 0, mlen = 0;
	int		 r;

	if ((model = calloc(1, n + 1)) == NULL)
		abort();
	if (pin != NULL && pinsz > 0) {
		/* garbage after the NUL shows a missing terminator */
		memset(pin, 'x', pinsz);
		pin[0] = '\0';
	}
	do {
		nl = memchr(p, '\n', n);
		len = nl == NULL ? n : (size_t)(nl - p);
		line = (char *)fz_dup(p, len);
		r = tk_assuan_parse_pin(line, len, pin, pinsz, &pinlen);
		switch (r) {
		case TK_ASSUAN_MORE:
			if (len >= 2 && line[0] == 'D' && line[1] == ' ')
				model_data(line, len, model, &mlen);
			/* FALLTHROUGH */
		case 0:
			if (pin == NULL || pinsz == 0)
				break;
			if (pinlen != mlen || pinlen >= pinsz ||
			    memcmp(pin, model, mlen) != 0 ||
			    pin[pinlen] != '\0' || strlen(pin) != pinlen)
				abort();
			break;
		case TK_ERR_CANCELLED:
		case TK_ERR_FORMAT:
		case TK_ERR_RANGE:
			if (pinlen != 0 ||
			    (pin != NULL && !all_zero(pin, pinsz)))
				abort();
			break;
		default:
			abort();
		}
		free(line);
		if (nl == NULL)
			break;
		n -= len + 1;
		p += len + 1;
	} while (r == TK_ASSUAN_MORE);
	free(model);
}

/* What we escape for pinentry decodes back to what we meant to say. */
static void
escape(const uint8_t *p, size_t n, size_t escsz)
{
	char	*s, *buf, *line, pin[TK_ASSUAN_LINE_MAX];
	size_t	 slen, out, i, pinlen = 0;
	int	 r;

	s = fz_strdup(p, n);
	slen = strlen(s);
	if (escsz == 0)
		escsz = 3 * slen + 1;
	if ((buf = malloc(escsz)) == NULL)
		abort();
	out = tk_assuan_escape(s, buf, escsz);
	if (out >= escsz || strlen(buf) != out)
		abort();
	for (i = 0; i < out; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			abort();
	if (out + 2 < TK_ASSUAN_LINE_MAX) {
		line = fz_strdup((const uint8_t *)"D ", 2);
		if ((line = realloc(line, out + 3)) == NULL)
			abort();
		memcpy(line + 2, buf, out + 1);
		r = tk_assuan_parse_pin(line, out + 2, pin, sizeof(pin),
		    &pinlen);
		if (r != TK_ASSUAN_MORE || pinlen > slen ||
		    memcmp(pin, s, pinlen) != 0)
			abort();
		if (escsz >= 3 * slen + 1 && pinlen != slen)
			abort();
		/* a cut falls between characters of well-formed text */
		if (pinlen < slen && fz_utf8_printable((uint8_t *)s, slen) &&
		    ((unsigned char)s[pinlen] & 0xc0) == 0x80)
			abort();
		free(line);
	}
	free(buf);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz	 f = { data, size };
	const uint8_t	*p;
	char		*pin;
	size_t		 n, pinsz;
	int		 cfg, escsz;

	cfg = fz_u8(&f);
	escsz = fz_u8(&f);
	p = fz_rest(&f, &n);
	pinsz = (cfg & 0x7f) == 0x7f ? TK_PIN_MAX : (size_t)(cfg & 0x7f);
	pin = (cfg & 0x80) ? NULL : malloc(pinsz == 0 ? 1 : pinsz);
	replies(p, n, pin, pinsz);
	free(pin);
	escape(p, n, escsz);
	return 0;
}
