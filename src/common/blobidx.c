/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An index over byte strings kept in the caller's array (blobidx.h): the
 * key list, the helper's key table and the verification key cache share
 * it.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "common/blobidx.h"

int
tk_blobidx_reserve(struct tk_blobidx *x, size_t n, tk_blobidx_entry_fn *fn,
    const void *arg)
{
	size_t		*s, i, j, nslots, len;
	uint64_t	 h;
	int		 r = 0;

	if ((n + 1) * 2 <= x->nslots)
		goto out;
	nslots = x->nslots == 0 ? 64 : x->nslots * 2;
	if ((s = calloc(nslots, sizeof(*s))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		(void)fn(arg, i, &len, &h);
		j = h & (nslots - 1);
		while (s[j] != 0)
			j = (j + 1) & (nslots - 1);
		s[j] = i + 1;
	}
	free(x->slots);
	x->slots = s;
	x->nslots = nslots;
 out:
	return r;
}

size_t *
tk_blobidx_slot(const struct tk_blobidx *x, const uint8_t *blob, size_t len,
    uint64_t h, tk_blobidx_entry_fn *fn, const void *arg)
{
	const uint8_t	*eb;
	size_t		 j, el;
	uint64_t	 eh;

	if (x->nslots == 0)
		return NULL;
	j = h & (x->nslots - 1);
	while (x->slots[j] != 0) {
		eb = fn(arg, x->slots[j] - 1, &el, &eh);
		if (eh == h && el == len && memcmp(eb, blob, len) == 0)
			break;
		j = (j + 1) & (x->nslots - 1);
	}
	return &x->slots[j];
}

void
tk_blobidx_free(struct tk_blobidx *x)
{
	free(x->slots);
	x->slots = NULL;
	x->nslots = 0;
}
