/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The verification keys of a helper client: every signature a helper
 * returns is verified here against the key's public blob before it is
 * handed on, and parsing a blob costs more than the lookup, so the parsed
 * keys are kept, indexed by blob (common/blobidx.h), under their own lock
 * (c->vmu), up to HC_VKEYS_MAX.
 */
#include <stdlib.h>

#include "tokenkeys.h"
#include "common/blobidx.h"
#include "common/util.h"
#include "helper/hclient-int.h"
#include "ssh/sshsig.h"

/* For the blob index: cached verification key i. */
static const uint8_t *
vkey_entry(const void *arg, size_t i, size_t *len, uint64_t *hash)
{
	const struct tk_hclient	*c = arg;

	*hash = c->vkeys[i].hash;
	return tk_sshsig_key_blob(c->vkeys[i].key, len);
}

/* The parsed key to verify signatures with, cached by blob. */
int
hc_vkey_get(struct tk_hclient *c, const uint8_t *blob, size_t len,
    struct tk_sshsig_key **out, int *owned)
{
	struct hc_vkey		*nv;
	struct tk_sshsig_key	*k = NULL;
	uint64_t		 h = tk_hash64(blob, len);
	size_t			*slot;
	int			 r = 0;

	*owned = 0;
	pthread_mutex_lock(&c->vmu);
	slot = tk_blobidx_slot(&c->vidx, blob, len, h, vkey_entry, c);
	if (slot != NULL && *slot != 0) {
		*out = c->vkeys[*slot - 1].key;
		goto out;
	}
	if ((r = tk_sshsig_key_new(blob, len, &k)) != 0)
		goto out;
	*out = k;
	*owned = 1;	/* until it is cached: then the cache frees it */
	if (c->nvkeys >= HC_VKEYS_MAX ||
	    tk_blobidx_reserve(&c->vidx, c->nvkeys, vkey_entry, c) != 0)
		goto out;
	if (c->nvkeys == c->vcap) {
		nv = reallocarray(c->vkeys, c->vcap ? c->vcap * 2 : 16,
		    sizeof(*nv));
		if (nv == NULL)
			goto out;
		c->vkeys = nv;
		c->vcap = c->vcap ? c->vcap * 2 : 16;
	}
	c->vkeys[c->nvkeys].hash = h;
	c->vkeys[c->nvkeys].key = k;
	*tk_blobidx_slot(&c->vidx, blob, len, h, vkey_entry, c) =
	    ++c->nvkeys;
	*owned = 0;
 out:
	pthread_mutex_unlock(&c->vmu);
	return r;
}

void
hc_vkeys_free(struct tk_hclient *c)
{
	size_t	i;

	for (i = 0; i < c->nvkeys; i++)
		tk_sshsig_key_free(c->vkeys[i].key);
	free(c->vkeys);
	c->vkeys = NULL;
	c->nvkeys = c->vcap = 0;
	tk_blobidx_free(&c->vidx);
}
