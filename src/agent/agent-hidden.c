/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Hidden blobs: keys removed with ssh-add -d / -e or by an expired
 * lifetime are not served even while a source still lists them, until an
 * ssh-add -s lists them again.  Every function here wants a->lock held.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "agent/agent.h"

int
agent_hidden_has(struct agent *a, const uint8_t *blob, size_t len)
{
	size_t	i;

	for (i = 0; i < a->nhidden; i++)
		if (agent_blob_eq(a->hidden[i].blob, a->hidden[i].len, blob,
		    len))
			return 1;
	return 0;
}

void
agent_hidden_remove(struct agent *a, const uint8_t *blob, size_t len)
{
	size_t	i;

	for (i = 0; i < a->nhidden; i++) {
		if (!agent_blob_eq(a->hidden[i].blob, a->hidden[i].len, blob,
		    len))
			continue;
		free(a->hidden[i].blob);
		a->hidden[i] = a->hidden[--a->nhidden];
		return;
	}
}

int
agent_hidden_add(struct agent *a, const uint8_t *blob, size_t len)
{
	struct agent_blob	*nh;
	int			 r = 0;

	if (agent_hidden_has(a, blob, len))
		goto out;
	if (a->nhidden >= AGENT_MAX_KEYS) {
		r = TK_ERR_RANGE;
		goto out;
	}
	if ((nh = reallocarray(a->hidden, a->nhidden + 1,
	    sizeof(*nh))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	a->hidden = nh;
	if ((nh[a->nhidden].blob = malloc(len)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	memcpy(nh[a->nhidden].blob, blob, len);
	nh[a->nhidden].len = len;
	a->nhidden++;
 out:
	return r;
}

void
agent_hidden_clear(struct agent *a)
{
	size_t	i;

	for (i = 0; i < a->nhidden; i++)
		free(a->hidden[i].blob);
	free(a->hidden);
	a->hidden = NULL;
	a->nhidden = 0;
}
