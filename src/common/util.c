/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Small helpers shared by both layers.
 */
#include <ctype.h>
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

int
tk_glob_match(const char *s, const char *p, size_t plen, int fold)
{
	const char	*star_s = NULL;
	size_t		 i = 0, star_i = 0;
	int		 c;

	while (*s != '\0') {
		c = i < plen ? (unsigned char)p[i] : -1;
		if (fold && c != -1)
			c = tolower(c);
		if (c == '*') {
			star_i = ++i;
			star_s = s;
		} else if (c == '?' || (c != -1 && c == (unsigned char)*s)) {
			i++;
			s++;
		} else if (star_s != NULL) {
			i = star_i;
			s = ++star_s;
		} else
			return 0;
	}
	while (i < plen && p[i] == '*')
		i++;
	return i == plen;
}
