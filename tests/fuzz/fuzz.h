/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared by the fuzz targets and the replay driver (replay.c).
 *
 * A target's input is consumed from the front.  Targets that need several
 * fields take each as a big-endian uint16 length and that many bytes (fewer
 * when the input ends early); the last field is simply everything left, so
 * the mutator can grow or shrink it without fixing up a length.  Running
 * out of input yields empty fields and zero bytes, never an error: every
 * input is a valid test case.
 */
#ifndef TK_FUZZ_H
#define TK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fz {
	const uint8_t	*p;
	size_t		 n;
};

static inline uint8_t
fz_u8(struct fz *f)
{
	uint8_t	v;

	if (f->n == 0)
		return 0;
	v = f->p[0];
	f->p++;
	f->n--;
	return v;
}

static inline uint16_t
fz_u16(struct fz *f)
{
	uint16_t	v = fz_u8(f);

	return (uint16_t)(v << 8 | fz_u8(f));
}

static inline uint32_t
fz_u32(struct fz *f)
{
	uint32_t	v = fz_u16(f);

	return v << 16 | fz_u16(f);
}

/* Up to want bytes from the front; *n says how many there were. */
static inline const uint8_t *
fz_take(struct fz *f, size_t want, size_t *n)
{
	const uint8_t	*p = f->p;

	*n = want < f->n ? want : f->n;
	f->p += *n;
	f->n -= *n;
	return p;
}

/* A length-prefixed field. */
static inline const uint8_t *
fz_field(struct fz *f, size_t *n)
{
	return fz_take(f, fz_u16(f), n);
}

static inline const uint8_t *
fz_rest(struct fz *f, size_t *n)
{
	return fz_take(f, f->n, n);
}

/*
 * Heap copies of exactly the right size, so that ASan catches a parser
 * reading even one byte past what it was given.
 */
static inline uint8_t *
fz_dup(const uint8_t *p, size_t n)
{
	uint8_t	*d;

	if ((d = malloc(n == 0 ? 1 : n)) == NULL)
		abort();
	if (n > 0)
		memcpy(d, p, n);
	return d;
}

static inline char *
fz_strdup(const uint8_t *p, size_t n)
{
	char	*s;

	if ((s = malloc(n + 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/*
 * Is p[0..n) well-formed UTF-8 (RFC 3629, table 3) without C0, DEL or C1
 * controls?  Written from the RFC's byte ranges rather than by decoding
 * code points, so it checks the project's decoder instead of copying it.
 */
static inline int
fz_utf8_printable(const uint8_t *p, size_t n)
{
	size_t	i = 0, k, len;
	uint8_t	lo, hi;

	while (i < n) {
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (p[i] == 0xc2) {
			len = 2;
			lo = 0xa0;		/* C1 controls are U+0080..9F */
		} else if (p[i] >= 0xc3 && p[i] <= 0xdf)
			len = 2;
		else if (p[i] == 0xe0) {
			len = 3;
			lo = 0xa0;
		} else if (p[i] == 0xed) {
			len = 3;
			hi = 0x9f;		/* no surrogates */
		} else if (p[i] >= 0xe1 && p[i] <= 0xef)
			len = 3;
		else if (p[i] == 0xf0) {
			len = 4;
			lo = 0x90;
		} else if (p[i] >= 0xf1 && p[i] <= 0xf3)
			len = 4;
		else if (p[i] == 0xf4) {
			len = 4;
			hi = 0x8f;
		} else
			return 0;
		if (n - i < len || p[i + 1] < lo || p[i + 1] > hi)
			return 0;
		for (k = 2; k < len; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return 0;
		i += len;
	}
	return 1;
}

/*
 * For parsers that read a file: write p[0..n) to this process's scratch
 * file (mode 0600, created on first use, removed at exit) and return its
 * path.  Aborts if it cannot.
 */
static inline char *
fz_scratch(void)
{
	static char	path[64];

	return path;
}

static inline void
fz_scratch_rm(void)
{
	if (fz_scratch()[0] != '\0')
		(void)unlink(fz_scratch());
}

static inline const char *
fz_file(const uint8_t *p, size_t n)
{
	const char	*dir = getenv("TMPDIR");
	char		*path = fz_scratch();
	FILE		*f;
	int		 fd;

	if (path[0] == '\0') {
		if (dir == NULL || strlen(dir) > 32)
			dir = "/tmp";
		snprintf(path, 64, "%s/tk-fz.XXXXXX", dir);
		if ((fd = mkstemp(path)) < 0)
			abort();
		close(fd);
		atexit(fz_scratch_rm);
	}
	if ((f = fopen(path, "w")) == NULL)
		abort();
	if (n > 0 && fwrite(p, 1, n, f) != n)
		abort();
	if (fclose(f) != 0)
		abort();
	return path;
}

#endif /* TK_FUZZ_H */
