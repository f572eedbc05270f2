/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Assuan line codec, as far as a pinentry client needs it: parsing
 * reply lines and escaping command arguments.  Pure (no I/O), so it is
 * fuzzed on its own (tests/fuzz/fuzz-assuan.c).
 */
#ifndef TK_ASSUAN_H
#define TK_ASSUAN_H

#include <stddef.h>

#define TK_ASSUAN_LINE_MAX	1000		/* Assuan limit, with LF */

/*
 * Parse one Assuan reply line (len bytes, without the LF) from pinentry.
 * A "D" line is percent-decoded and appended at pin + *pinlen, keeping
 * pin NUL-terminated; pass pin = NULL where no data is expected.
 * Returns:
 *   0			"OK": the reply is complete
 *   TK_ASSUAN_MORE	a D, S or comment line: read the next line
 *   TK_ERR_CANCELLED	"ERR": refused or cancelled
 *   TK_ERR_FORMAT	anything else: unknown verb, bad escape, NUL or CR,
 *			decoded NUL, data where none was expected, too long
 *   TK_ERR_RANGE	the data does not fit pinsz
 * On error pin is wiped and *pinlen is 0.
 */
#define TK_ASSUAN_MORE	1
int	tk_assuan_parse_pin(const char *line, size_t len, char *pin,
	    size_t pinsz, size_t *pinlen);

/*
 * Percent-escape s for an Assuan command line into buf: '%', CR, LF and
 * every other control byte.  Stops before buf would overflow, never in the
 * middle of an escape or a UTF-8 sequence.  Returns the length written
 * (buf is NUL-terminated; bufsz >= 1).
 */
size_t	tk_assuan_escape(const char *s, char *buf, size_t bufsz);

#endif /* TK_ASSUAN_H */
