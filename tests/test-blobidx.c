/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The blob index: every blob put in is found again, across growth, and
 * a blob that is only equal in hash or length is not taken for another.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "common/blobidx.h"
#include "common/util.h"
#include "tap.h"

#define N	1000

struct ent {
	uint8_t		 blob[16];
	size_t		 len;
	uint64_t	 hash;
};

static struct ent	ents[N + 2];

static const uint8_t *
entry(const void *arg, size_t i, size_t *len, uint64_t *hash)
{
	const struct ent	*e = arg;

	*len = e[i].len;
	*hash = e[i].hash;
	return e[i].blob;
}

static void
make(struct ent *e, unsigned int v, uint64_t hash_override)
{
	e->len = (size_t)snprintf((char *)e->blob, sizeof(e->blob),
	    "blob-%u", v);
	e->hash = hash_override != 0 ? hash_override :
	    tk_hash64(e->blob, e->len);
}

int
main(void)
{
	struct tk_blobidx	 x;
	struct ent		 probe;
	size_t			*slot, i, n = 0;
	int			 lost = 0, dup = 0;

	memset(&x, 0, sizeof(x));
	ok(tk_blobidx_slot(&x, (const uint8_t *)"a", 1, 1, entry, ents) ==
	    NULL, "an empty index has no slot");
	for (i = 0; i < N; i++) {
		make(&ents[n], (unsigned int)i, 0);
		if (tk_blobidx_reserve(&x, n, entry, ents) != 0)
			break;
		slot = tk_blobidx_slot(&x, ents[n].blob, ents[n].len,
		    ents[n].hash, entry, ents);
		if (*slot != 0)
			dup++;
		else
			*slot = ++n;
	}
	is_int(n, N, "%d distinct blobs indexed", N);
	is_int(dup, 0, "none taken for another");
	ok(x.nslots >= 2 * N, "the table grew to stay at most half full "
	    "(%zu slots)", x.nslots);
	for (i = 0; i < N; i++) {
		make(&probe, (unsigned int)i, 0);
		slot = tk_blobidx_slot(&x, probe.blob, probe.len, probe.hash,
		    entry, ents);
		if (slot == NULL || *slot != i + 1)
			lost++;
	}
	is_int(lost, 0, "each is found at its own index after growth");
	make(&probe, N + 7, 0);
	slot = tk_blobidx_slot(&x, probe.blob, probe.len, probe.hash, entry,
	    ents);
	ok(slot != NULL && *slot == 0, "a blob never put in is not found");
	/* same hash as blob-3, other bytes: a collision, not a match */
	make(&ents[n], 99999, ents[3].hash);
	slot = tk_blobidx_slot(&x, ents[n].blob, ents[n].len, ents[n].hash,
	    entry, ents);
	ok(slot != NULL && *slot == 0, "an equal hash with other bytes is "
	    "another blob");
	tk_blobidx_free(&x);
	ok(x.slots == NULL && x.nslots == 0, "freed");
	return tap_done();
}
