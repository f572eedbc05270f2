/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Small helpers shared by both layers.
 */
#ifndef TK_UTIL_H
#define TK_UTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Does s match the glob p (plen bytes; '*' any run, '?' one character)?
 * fold: p's letters are compared in lower case (s is lower case then).
 * On a mismatch only the last '*' takes one character more, so time is
 * bounded by the product of the lengths however many stars p holds.
 */
int		tk_glob_match(const char *s, const char *p, size_t plen,
		    int fold);
/* FNV-1a: a fast, non-cryptographic hash for in-memory tables. */
uint64_t	tk_hash64(const uint8_t *, size_t);
/*
 * A PKCS#11 fixed-width, blank-padded field as a C string in dst (cut to
 * dstsz - 1 bytes).  The bytes stay raw: sanitise before printing.
 */
void		tk_fixed_string(char *dst, size_t dstsz,
		    const unsigned char *src, size_t n);

#endif /* TK_UTIL_H */
