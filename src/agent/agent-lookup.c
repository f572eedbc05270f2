/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Requests answered from the served set: the identities answer, a key's
 * details for a signature, ssh-add -d.  While the agent is locked
 * (agent-lock.c) nothing is listed and no key is found.  A connection
 * that came through ssh (session-bind) is not shown the keys whose
 * destination constraints do not permit it (agent-dest.c).
 */
#include <stdio.h>
#include <string.h>

#include "tokenkeys.h"
#include "agent/agent.h"

int
agent_identities(struct agent *a, struct tk_buf *reply)
{
	return agent_identities_conn(a, NULL, reply);
}

/* The identities answer without the keys c may not use; a->lock held. */
static int
identities_permitted(struct agent *a, const struct agent_conn *c,
    struct tk_buf *reply)
{
	char		why[160];
	size_t		i, mark, cnt, n = 0;
	int		r;

	if ((r = tk_buf_put_u8(reply, SSH_AGENT_IDENTITIES_ANSWER)) != 0)
		goto out;
	cnt = reply->len;
	if ((r = tk_buf_put_u32(reply, 0)) != 0)
		goto out;
	for (i = 0; i < a->nkeys; i++) {
		if (agent_dests_permit(a->keys[i].dests, c, NULL, NULL, why,
		    sizeof(why)) != 0)
			continue;
		mark = reply->len;
		if ((r = tk_buf_put_string(reply, a->keys[i].blob,
		    a->keys[i].bloblen)) != 0 ||
		    (r = tk_buf_put_cstring(reply, a->keys[i].comment)) != 0) {
			/* what fits, as agent_rebuild does */
			reply->len = mark;
			r = r == TK_ERR_RANGE ? 0 : r;
			break;
		}
		n++;
	}
	tk_be32_put(reply->d + cnt, (uint32_t)n);
 out:
	return r;
}

int
agent_identities_conn(struct agent *a, const struct agent_conn *c,
    struct tk_buf *reply)
{
	int	r, ask = 0;

	pthread_mutex_lock(&a->lock);
	(void)agent_expire_locked(a);
	/*
	 * Listed long ago: keys may have been made or deleted on a token
	 * that stayed in.  This answer is the cache's, at once; the
	 * background thread lists again for the next one (agent-follow.c).
	 */
	if (agent_now(a) - a->listed_at >= AGENT_ASK_RELIST_SECS) {
		a->listed_at = agent_now(a);
		ask = 1;
	}
	if (a->locked) {
		if ((r = tk_buf_put_u8(reply,
		    SSH_AGENT_IDENTITIES_ANSWER)) == 0)
			r = tk_buf_put_u32(reply, 0);
	} else if (a->ndestkeys == 0 || c == NULL || (c->nbinds == 0 &&
	    !c->bind_refused))
		/* the ready answer: every key may be listed here */
		r = tk_buf_put(reply, tk_buf_ptr(&a->idanswer),
		    tk_buf_avail(&a->idanswer));
	else
		r = identities_permitted(a, c, reply);
	pthread_mutex_unlock(&a->lock);
	if (ask)
		agent_wake_relist(a, NULL);
	return r;
}

int
agent_key_lookup(struct agent *a, const uint8_t *blob, size_t len,
    struct agent_key *out, char *comment, size_t commentsz)
{
	size_t	i;
	int	r = TK_ERR_NOT_FOUND;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&a->lock);
	if (a->locked) {
		r = TK_ERR_DENIED;
		goto out;
	}
	(void)agent_expire_locked(a);
	for (i = 0; i < a->nkeys; i++) {
		if (!agent_blob_eq(a->keys[i].blob, a->keys[i].bloblen, blob,
		    len))
			continue;
		*out = a->keys[i];
		out->blob = NULL;
		out->comment = NULL;
		out->src = NULL;
		out->dests = agent_dests_ref(a->keys[i].dests);
		out->mod->refs++;
		snprintf(comment, commentsz, "%s", a->keys[i].comment);
		r = 0;
		break;
	}
 out:
	pthread_mutex_unlock(&a->lock);
	return r;
}

int
agent_hide(struct agent *a, const uint8_t *blob, size_t len)
{
	size_t	i;
	int	r = TK_ERR_NOT_FOUND;

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->nkeys; i++)
		if (agent_blob_eq(a->keys[i].blob, a->keys[i].bloblen, blob,
		    len))
			break;
	if (i < a->nkeys && (r = agent_hidden_add(a, blob, len)) == 0)
		r = agent_rebuild(a);
	pthread_mutex_unlock(&a->lock);
	return r;
}
