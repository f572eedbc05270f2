/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * wipe.h: checking that a secret buffer was wiped, for the unit tests.
 */
#ifndef TK_TESTS_WIPE_H
#define TK_TESTS_WIPE_H

#include <stddef.h>

/* Whether n bytes at p are all zero: what a wiped secret looks like. */
static inline int
all_zero(const void *p, size_t n)
{
	const unsigned char *u = p;
	size_t i;

	for (i = 0; i < n && u[i] == 0; i++)
		;
	return i == n;
}

#endif /* TK_TESTS_WIPE_H */
