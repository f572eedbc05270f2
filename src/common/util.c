/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Small helpers shared by both layers.
 */
#include <string.h>

#include <p11-kit/p11-kit.h>

#include "common/util.h"

uint64_t
tk_hash64(const uint8_t *p, size_t n)
{
	uint64_t	h = 0xcbf29ce484222325ULL;

	while (n-- > 0)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

void
tk_fixed_string(char *dst, size_t dstsz, const unsigned char *src, size_t n)
{
	if (dstsz == 0)
		return;
	n = p11_kit_space_strlen(src, n);
	if (n > dstsz - 1)
		n = dstsz - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}
